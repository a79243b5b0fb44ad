"""Who is at the PC: the person every write, submission and return on this PC is recorded as.

Where several staff share one village PC, each chooses their name from the village's staff list
(``staff`` records in service) when the app opens; a PIN is optional (set by typing one the first
time, kept only as a scrypt hash in the local settings).  The chosen name becomes the repository's
``actor``: it is written to ``updated_by``, the change log and the audit log (修改记录), the period
record's ``submitted_by`` / ``reviewed_by`` — and it travels with every change to the county.

A PC with one member of staff and no PIN is not asked anything: that person is chosen silently.
The CLI uses ``TAIZHANG_OPERATOR`` (a name from the same list) when it is set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets

from storage.cli import UserError

S_LAST = "operator.last"
S_PINS = "operator.pins"  # JSON {name: "scrypt$n$r$p$salt$hash"}
ENV = "TAIZHANG_OPERATOR"
_SCRYPT = dict(n=2 ** 14, r=8, p=1)


class OperatorError(UserError):
    """A name not on the staff list, or a wrong PIN (Chinese message)."""


def staff_names(repo, org_code: str | None = None) -> list[str]:
    """Names of the village's staff in service, in order, each once."""
    org_code = org_code or repo.get_setting("org_code")
    rows = repo.list("staff", org_code=org_code) if org_code else []
    names = sorted({(r.get("name") or "").strip() for r in rows if r.get("status") != "离岗"} - {""})
    return names


def _pins(repo) -> dict[str, str]:
    try:
        return json.loads(repo.get_setting(S_PINS) or "{}")
    except ValueError:
        return {}


def has_pin(repo, name: str) -> bool:
    return name in _pins(repo)


def _hash(pin: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def _pin_matches(pin: str, stored: str) -> bool:
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(pin.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def set_pin(repo, name: str, pin: str) -> None:
    if not (4 <= len(pin) <= 12 and pin.isdigit()):
        raise OperatorError("PIN 应为4到12位数字")
    pins = _pins(repo)
    pins[name] = _hash(pin)
    repo.set_setting(S_PINS, json.dumps(pins, ensure_ascii=False))


def needs_choice(repo) -> bool:
    """Ask at start-up? Only where more than one person may be at the PC (or someone set a PIN)."""
    return len(staff_names(repo)) > 1 or bool(_pins(repo))


def last_operator(repo) -> str | None:
    return repo.get_setting(S_LAST)


def choose(repo, name: str, pin: str | None = None) -> str:
    """Make ``name`` the person writes are recorded as; a PIN typed by someone without one becomes theirs."""
    name = (name or "").strip()
    if name not in staff_names(repo):
        raise OperatorError(f"“{name}”不在本村(社区)的社区工作者名单中，请从名单中选择（新来的同事请先在“人员”中登记）")
    stored = _pins(repo).get(name)
    if stored is not None and not _pin_matches(pin or "", stored):
        raise OperatorError(f"{name}的 PIN 不对，请重新输入")
    if stored is None and pin:
        set_pin(repo, name, pin)
    repo.actor = name
    repo.set_setting(S_LAST, name)
    return name


def start_of_day(repo) -> str | None:
    """Without asking: the only member of staff (a single-user PC), or the CLI's ``TAIZHANG_OPERATOR``."""
    wanted = os.environ.get(ENV)
    if wanted:
        return choose(repo, wanted, os.environ.get(ENV + "_PIN"))
    names = staff_names(repo)
    if len(names) == 1 and not _pins(repo):
        repo.actor = names[0]
        return names[0]
    return None


__all__ = ["staff_names", "needs_choice", "choose", "start_of_day", "set_pin", "has_pin", "last_operator",
           "OperatorError"]
