"""Account management from a county or township PC: the client of ``county_server.accounts_api``.

    admin = AccountAdmin(repo)                 # the PC's server address, user and stored sign-in
    admin.accounts()                           # {"accounts": [...], "creatable_roles": [...]}
    admin.create("cun3", "village", "220102001003")["one_time_password"]
    admin.disable("cun3"); admin.enable("cun3"); admin.reset_password("cun3"); admin.unlock("cun3")
    admin.set_role("cun3", "village", "220102001002"); admin.revoke_device("cun3", device_id)

Every call goes to the server, which checks the caller's role and records the action; errors are
``SyncError`` with the server's Chinese message.  Without a stored sign-in (a PC whose keyring cannot
keep it) ``password`` signs in first, as a sync with a password does.
"""

from __future__ import annotations

from typing import Any, Callable

from sync import credentials
from sync.client import S_CA_FILE, LoginRequired, SyncClient, SyncError, Transport


class AccountAdmin:
    def __init__(self, repo, *, password: str | None = None, token: str | None = None, timeout: float = 30.0,
                 retries: int = 2, writer: Callable[[Callable[[], Any]], Any] | None = None):
        self.server_url = (repo.get_setting("server_url") or "").rstrip("/")
        self.user = repo.get_setting("user") or ""
        if not self.server_url or not self.user:
            raise LoginRequired("本机还没有登录县级服务器，请先在“月报与同步”页登录")
        self.transport = Transport(self.server_url, ca_file=repo.get_setting(S_CA_FILE) or None,
                                   timeout=timeout, retries=retries, backoff=0.5)
        token = token or credentials.load_token(self.server_url, self.user)
        if not token and password:
            client = SyncClient(repo, timeout=timeout, retries=retries, writer=writer)
            try:
                token = client.login(password)["token"]
            finally:
                client.transport.close()
        if not token:
            raise LoginRequired("本机没有保存县级服务器的登录凭据，请输入本账号的密码")
        self.transport.token = token

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "AccountAdmin":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def accounts(self) -> dict:
        """The accounts this sign-in may see, and the roles it may create."""
        return self.transport.request("GET", "/accounts")

    def _action(self, action: str, name: str, **extra) -> dict:
        body = {"action": action, "name": name, **{k: v for k, v in extra.items() if v is not None}}
        # never retried: an action the server did but whose answer was lost must not run twice
        return self.transport.request("POST", "/accounts/action", json_body=body, retry=False)

    def create(self, name: str, role: str, org_code: str) -> dict:
        """A new account; the answer's ``one_time_password`` is shown once, changed at the first sign-in."""
        return self._action("create", name, role=role, org_code=org_code)

    def reset_password(self, name: str) -> dict:
        return self._action("reset-password", name)

    def disable(self, name: str) -> dict:
        return self._action("disable", name)

    def enable(self, name: str) -> dict:
        return self._action("enable", name)

    def unlock(self, name: str) -> dict:
        return self._action("unlock", name)

    def set_role(self, name: str, role: str, org_code: str) -> dict:
        return self._action("set-role", name, role=role, org_code=org_code)

    def revoke_device(self, name: str, device_id: str) -> dict:
        return self._action("revoke-device", name, device_id=device_id)


__all__ = ["AccountAdmin", "SyncError", "LoginRequired"]
