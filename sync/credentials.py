"""The device token and the PC's package signing key live in the OS keyring — never in SQLite,
config files or logs.

If the only keyring backend is insecure (keyrings.alt's plaintext/obfuscated
files, or keyring's ``fail``/``null`` backends), nothing is stored: the user
is told so and signs in with the password at each sync.  Such a PC cannot
export offline packages (``PACKAGES_NEED_KEYRING``): a signing key that is not
kept safely would let anyone who copies the file sign packages as this PC.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SERVICE = "taizhang-sync"

INSECURE_NOTICE = ("这台电脑的系统里没有能安全保存密码的地方，所以不会记住登录密码。"
                   "每次同步时都需要重新输入密码。")


PACKAGES_NEED_KEYRING = ("离线数据包要用本机专用的签名密钥签名，而这台电脑的系统里没有能安全保存它的地方，"
                         "所以不能导出离线数据包。请联网同步（每次输入密码），"
                         "或请县民政局信息管理员为本机装好系统的密码保管功能（密钥环）后重新登录（taizhang login）")


def _key(server_url: str, user: str) -> str:
    return f"{server_url.rstrip('/')}|{user}"


def _package_key_name(server_url: str, user: str) -> str:
    return _key(server_url, user) + "|package-signing-key"


def _is_insecure_backend(backend) -> bool:
    module = type(backend).__module__
    name = type(backend).__name__
    if module.startswith("keyrings.alt"):
        return True  # plaintext or merely obfuscated files
    if module.startswith("keyring.backends.fail") or module.startswith("keyring.backends.null"):
        return True
    if name == "ChainerBackend":
        children = getattr(backend, "backends", [])
        return not children or all(_is_insecure_backend(b) for b in children)
    try:
        return float(getattr(backend, "priority", 0)) < 1
    except Exception:  # noqa: BLE001 - a backend whose priority raises is unusable here
        return True


def backend_description() -> str:
    import keyring

    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def keyring_is_secure() -> bool:
    try:
        import keyring

        return not _is_insecure_backend(keyring.get_keyring())
    except Exception:  # noqa: BLE001
        return False


def _store(name: str, secret: str, what: str) -> bool:
    """Keep a secret in the OS keyring if a secure one exists; False (and nothing stored) otherwise."""
    if not keyring_is_secure():
        return False
    import keyring

    try:
        keyring.set_password(SERVICE, name, secret)
        return True
    except Exception as exc:  # noqa: BLE001 - a locked or broken keyring: fall back to the password
        log.warning("keyring refused the %s: %s", what, type(exc).__name__)
        return False


def _load(name: str) -> str | None:
    if not keyring_is_secure():
        return None
    import keyring

    try:
        return keyring.get_password(SERVICE, name)
    except Exception as exc:  # noqa: BLE001
        log.warning("keyring could not be read: %s", type(exc).__name__)
        return None


def _delete(name: str) -> None:
    if not keyring_is_secure():
        return
    import keyring

    try:
        keyring.delete_password(SERVICE, name)
    except Exception:  # noqa: BLE001 - nothing stored
        pass


def store_token(server_url: str, user: str, token: str) -> bool:
    """Store the token if a secure keyring exists; False (and nothing stored) otherwise."""
    return _store(_key(server_url, user), token, "token")


def load_token(server_url: str, user: str) -> str | None:
    return _load(_key(server_url, user))


def delete_token(server_url: str, user: str) -> None:
    _delete(_key(server_url, user))


def store_package_key(server_url: str, user: str, private_key_text: str) -> bool:
    """Keep the PC's package signing key (base64 Ed25519 private key) next to the token; False if not stored."""
    return _store(_package_key_name(server_url, user), private_key_text, "package signing key")


def load_package_key(server_url: str, user: str) -> str | None:
    return _load(_package_key_name(server_url, user))


def delete_package_key(server_url: str, user: str) -> None:
    _delete(_package_key_name(server_url, user))


def _county_key_name(server_url: str) -> str:
    return f"county-package-key|{server_url.rstrip('/')}"


def store_county_package_key(server_url: str, private_key_pem: str) -> bool:
    """A township collector's PC given the county's package key (to review sealed packages); False if not stored."""
    return _store(_county_key_name(server_url), private_key_pem, "county package key")


def load_county_package_key(server_url: str) -> str | None:
    return _load(_county_key_name(server_url))
