"""The sync's HTTP side: one HTTPS session with timeouts, backoff and Chinese errors.

``Transport`` is what ``sync.client.SyncClient`` talks to the county server through (tests
script it); the ``SyncError`` family is what a sync raises to the desktop and the CLI.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from sync.protocol import API_PREFIX, E_BATCH_MISMATCH, E_PROTOCOL, INCARNATION_HEADER, request_headers

log = logging.getLogger(__name__)


class SyncError(RuntimeError):
    """A sync failure with a Chinese message; local data is unchanged and nothing is lost."""


class LoginRequired(SyncError):
    """No valid device token: the user must sign in (again)."""


class PasswordChangeRequired(SyncError):
    """Signed in with a one-time password: sign in again with a new password (``login(new_password=…)``)."""


class SyncCancelled(SyncError):
    pass


class ServerUnreachable(SyncError):
    pass


# --------------------------------------------------------------------------- HTTP


class Transport:
    """One HTTPS session: timeouts on every request, exponential backoff, Chinese errors."""

    def __init__(self, server_url: str, *, ca_file: str | None = None, timeout: float = 60.0,
                 retries: int = 5, backoff: float = 1.0, cancelled: Callable[[], bool] = lambda: False):
        import requests

        self.base = server_url.rstrip("/") + API_PREFIX
        self.session = requests.Session()
        self.session.verify = ca_file if ca_file else True  # TLS verification is never switched off
        self.timeout = (min(10.0, timeout), timeout)
        self.retries = retries
        self.backoff = backoff
        self.cancelled = cancelled
        self.token: str | None = None
        self.incarnation: str | None = None  # the server's, from its latest answer (a restore changes it)

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, *, json_body: dict | None = None, data: bytes | None = None,
                gzip_body: bool = False, params: dict | None = None, retry: bool = True) -> dict:
        import requests

        headers = request_headers(self.token)
        if gzip_body:
            headers["Content-Encoding"] = "gzip"
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            if self.cancelled():
                raise SyncCancelled("同步已取消，本机数据完好，未上传的修改下次同步时继续上传")
            try:
                resp = self.session.request(method, self.base + path, json=json_body, data=data, params=params,
                                            headers=headers, timeout=self.timeout)
            except requests.exceptions.SSLError as exc:
                raise SyncError(f"无法验证服务器的安全证书（{_short(exc)}）。请确认服务器地址正确，"
                                "或在设置中选择县民政局提供的证书文件（CA 文件）") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
                # a server killed mid-answer leaves a truncated body: the same as a dropped connection
                error = exc
                status = None
            else:
                status = resp.status_code
                self.incarnation = resp.headers.get(INCARNATION_HEADER) or self.incarnation
                if status < 400:
                    try:
                        return resp.json()
                    except ValueError:  # e.g. a Wi-Fi login page or a wrong address answering with HTML
                        log.warning("answer to %s %s is not JSON (HTTP %s)", method, path, status)
                        raise SyncError("服务器地址可能填错了：对方的应答不是台账服务器的格式。"
                                        "请在“设置”中核对县级服务器地址，或确认本机已连上外网") from None
                if status < 500:
                    raise _error_from(resp)
                error = None
            attempt += 1
            if not retry or attempt > self.retries:
                if status is not None:
                    raise ServerUnreachable(f"县级服务器出错（HTTP {status}），请稍后再同步；本机数据都已保留")
                log.warning("server unreachable: %s", _short(error))  # the technical text goes to the log only
                raise ServerUnreachable(f"无法连接县级服务器 {self.base[:-len(API_PREFIX)]}（{_network_reason(error)}）。"
                                        "请检查网络后再同步；未上传的修改都保留在本机，不会丢失")
            delay = min(30.0, self.backoff * (2 ** (attempt - 1)))
            log.info("request %s %s failed (%s); retry %d in %.1fs", method, path, status or type(error).__name__,
                     attempt, delay)
            end = time.monotonic() + delay
            while time.monotonic() < end:
                if self.cancelled():
                    raise SyncCancelled("同步已取消，本机数据完好，未上传的修改下次同步时继续上传")
                time.sleep(min(0.1, max(0.0, end - time.monotonic())))


def _short(exc) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:160] + "…"


def _network_reason(exc) -> str:
    """What went wrong with the connection, in words a village clerk can act on."""
    import requests

    text = str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "等待服务器应答超时，网络可能太慢"
    if any(k in text for k in ("NameResolutionError", "Name or service not known", "getaddrinfo",
                               "Temporary failure in name resolution", "nodename nor servname")):
        return "找不到这个服务器地址，请核对地址是否填错"
    if "refused" in text.lower():
        return "服务器没有响应（连接被拒绝），可能服务器未开机或地址端口填错"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return "连接在传输途中断开"
    return "网络连接失败"


def _error_from(resp) -> SyncError:
    try:
        body = resp.json()
        code, message = body.get("error"), body.get("message") or str(body)
    except ValueError:  # not our server's JSON (an HTML error page): no raw text in front of the user
        code, message = None, f"服务器返回错误（HTTP {resp.status_code}），请核对服务器地址或稍后再试"
    if resp.status_code == 401 and code not in ("auth_failed",):
        return LoginRequired(message)
    if resp.status_code == 401:
        return SyncError(message)
    if code == E_PROTOCOL:
        return SyncError(message)
    if code == "password_change_required":
        return PasswordChangeRequired(message)
    if code == E_BATCH_MISMATCH:
        return BatchMismatch(message)
    return SyncError(f"服务器拒绝了请求：{message}")


class BatchMismatch(SyncError):
    pass


