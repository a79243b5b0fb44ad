"""What a clerk reads when the county server cannot be reached or is not a county server at all:
Chinese that says what to do — never the HTTP library's English or a page of HTML."""

from __future__ import annotations

import http.server
import threading

import pytest

from sync.client import ServerUnreachable, SyncError, Transport
from tests.serverproc import free_port


class _HtmlPage(http.server.BaseHTTPRequestHandler):
    """Like a Wi-Fi login page or a wrong address: answers every request with HTML."""

    def _html(self, status: int) -> None:
        body = "<html><body><h1>欢迎使用本网络</h1>Please log in</body></html>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._html(404 if "missing" in self.path else 200)

    def log_message(self, *args):  # keep the test output quiet
        return


@pytest.fixture
def html_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _HtmlPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_refused_connection_is_explained_in_chinese():
    transport = Transport(f"http://127.0.0.1:{free_port()}", retries=1, backoff=0.01, timeout=5)
    with pytest.raises(ServerUnreachable) as info:
        transport.request("GET", "/summary")
    message = str(info.value)
    assert "连接被拒绝" in message and "未上传的修改都保留在本机" in message
    assert "HTTPConnectionPool" not in message and "Errno" not in message


def test_html_answer_means_wrong_address(html_server):
    transport = Transport(html_server, retries=0, timeout=5)
    with pytest.raises(SyncError) as info:
        transport.request("GET", "/summary")
    assert str(info.value).startswith("服务器地址可能填错了")
    assert "<html>" not in str(info.value) and "Expecting value" not in str(info.value)


def test_html_error_page_is_not_shown_raw(html_server):
    transport = Transport(html_server, retries=0, timeout=5)
    with pytest.raises(SyncError) as info:
        transport.request("GET", "/missing")
    assert "服务器返回错误（HTTP 404）" in str(info.value)
    assert "<html>" not in str(info.value)
