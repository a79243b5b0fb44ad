"""What the county server's terminal shows: Chinese lines only (county_server.serverlog,
storage.console_log), the English detail in its log file, and a port it cannot use refused in Chinese
before anything is opened.  The real ``taizhang-server serve`` process where a process is needed."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess

import pytest
import requests

from county_server.serverlog import Translator
from storage.console_log import HIDE, ConsoleHandler, Translation
from tests.serverproc import SERVER_CMD, ServerProcess, free_port, server_env

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_LOG = re.compile(r"\b(INFO|WARNING|ERROR|DEBUG|CRITICAL)\b|Traceback|Uvicorn|uvicorn|Errno")


def assert_all_chinese(terminal: str) -> list[str]:
    lines = [line for line in terminal.splitlines() if line.strip()]
    assert lines, "the terminal showed nothing"
    assert not ENGLISH_LOG.search(terminal), terminal
    assert all(CHINESE.search(line) for line in lines), terminal
    return lines


def stop_with(server: ServerProcess, sig: int) -> None:
    server.proc.send_signal(sig)
    server.proc.wait(timeout=30)


def test_start_requests_and_stop_are_chinese_on_the_terminal_and_english_in_the_file(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path, extra_args=["--log-level", "info"])
    with server:
        assert requests.get(server.url + "/api/v1/status", timeout=10).status_code == 200
        assert requests.get(server.url + "/no-such-path", timeout=10).status_code == 404
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:  # not HTTP at all
            raw.sendall(b"\x16\x03\x01 not http\r\n\r\n")
            raw.recv(1024)
        stop_with(server, signal.SIGINT)
    lines = assert_all_chinese(server.terminal())
    assert any(line.startswith("县级服务器已启动：" + server.url) for line in lines)
    terminal = server.terminal()
    assert "启动完成" in terminal and f"正在 {server.url} 上接受请求" in terminal
    assert "请求 GET /api/v1/status（来自 127.0.0.1" in terminal and "→ 200" in terminal
    assert "请求 GET /no-such-path" in terminal and "→ 404" in terminal
    assert "无法解析的 HTTP 请求" in terminal
    assert lines[-1].endswith("县级服务器已停止")
    detail = server.log_file()  # the administrator's detail, as the libraries wrote it
    assert "Uvicorn running on" in detail and '"GET /api/v1/status HTTP/1.1" 200' in detail
    assert "Invalid HTTP request received" in detail


def test_by_default_the_terminal_shows_the_start_and_the_stop_only(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path)
    with server:
        requests.get(server.url + "/api/v1/status", timeout=10)
        stop_with(server, signal.SIGTERM)  # what systemctl stop sends
    lines = assert_all_chinese(server.terminal())
    assert lines[-1].endswith("县级服务器已停止")
    # a new database's first start also warns that every PC will download everything again: nothing else
    assert [line for line in lines if "新的服务器实例" not in line and not line.endswith("县级服务器已停止")] == [
        f"县级服务器已启动：{server.url}/api/v1/ （数据库 sqlite:///{tmp_path / 'county.sqlite3'}，1 个工作进程）"]
    assert "Application startup complete" in server.log_file()


def test_several_workers_say_in_chinese_that_the_server_stopped_once(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path, extra_args=["--workers", "2"])
    with server:
        stop_with(server, signal.SIGINT)
    assert_all_chinese(server.terminal())
    assert server.terminal().count("县级服务器已停止") == 1
    assert server.log_file().count("Finished server process") == 2  # both workers, in the file


def serve(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SERVER_CMD, "--db", f"sqlite:///{tmp_path / 'county.sqlite3'}", "serve", *args],
                          capture_output=True, text=True, timeout=120, env=server_env(tmp_path))


def test_a_port_in_use_is_refused_in_chinese_before_anything_is_opened(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(tmp_path, "--port", str(port))
    assert result.returncode == 1
    assert f"端口 {port} 已被占用，服务器没有启动" in result.stderr and "--port" in result.stderr
    assert_all_chinese(result.stdout + result.stderr)
    assert not (tmp_path / "county.sqlite3").exists()  # refused before the database was made


def test_a_foreign_address_is_refused_in_chinese(tmp_path):
    result = serve(tmp_path, "--host", "192.0.2.1", "--port", str(free_port()))  # TEST-NET-1: never this host's
    assert result.returncode == 1
    assert "本机没有地址 192.0.2.1" in result.stderr and "--host" in result.stderr
    assert_all_chinese(result.stdout + result.stderr)


def record(message: str, level: int = logging.WARNING, name: str = "taizhang-server", *, exc: bool = False,
           args: tuple = ()) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord(name, level, __file__, 1, message, args, exc_info)


def test_console_lines_chinese_as_written_english_pointed_to_the_file(tmp_path):
    log_file = tmp_path / "county-server.log"
    console = ConsoleHandler(logging.WARNING, log_file=lambda: log_file)
    shown = console.render(record("数据库 %s 已备份", args=("county",)))
    assert re.fullmatch(r"\d\d:\d\d:\d\d 警告：数据库 county 已备份", shown)
    english = console.render(record("push batch %s failed; retrying", logging.ERROR, args=("b1",), exc=True))
    assert english.endswith(f"错误：出现了一个意外错误（英文原文已写入日志文件 {log_file}）")
    assert "boom" not in english and "Traceback" not in english
    with_traceback = console.render(record("处理请求 GET /x 时出现意外错误", logging.ERROR, exc=True))
    assert with_traceback.endswith(f"处理请求 GET /x 时出现意外错误（错误详情已写入日志文件 {log_file}）")
    assert console.render(record("created a key", logging.INFO)) is None  # below the level
    assert ConsoleHandler(logging.INFO).render(record("created a key", logging.INFO)) is None  # English info: file only
    assert ConsoleHandler(logging.INFO).render(record("已生成密钥", logging.INFO)).endswith(" 已生成密钥")
    no_file = ConsoleHandler(logging.WARNING).render(record("disk almost full"))
    assert no_file.endswith("警告：程序组件报告了一个问题（英文原文未显示）")


def test_translations_are_shown_hidden_or_shown_always():
    def translate(rec, message):
        return {"Shutting down": Translation("正在停止"), "Stopped": Translation("已停止", always=True),
                "Waiting": HIDE}.get(message)

    console = ConsoleHandler(logging.WARNING, translate=translate)
    assert console.render(record("Shutting down", logging.WARNING)).endswith("警告：正在停止")
    assert console.render(record("Shutting down", logging.INFO)) is None  # below the level
    assert console.render(record("Stopped", logging.INFO)).endswith(" 已停止")
    assert console.render(record("Waiting", logging.ERROR)) is None


@pytest.mark.parametrize("message, expected", [
    ("[Errno 98] error while attempting to bind on address ('127.0.0.1', 8750): address already in use",
     "端口 8750 已被占用"),
    ("[Errno 98] Address already in use", "端口已被占用"),  # several workers: the parent's plain bind
    ("[Errno 13] error while attempting to bind on address ('0.0.0.0', 80): permission denied",
     "没有权限使用端口 80"),
    ("[Errno 99] error while attempting to bind on address ('10.9.9.9', 8750): cannot assign requested address",
     "本机没有地址 10.9.9.9"),
    ('127.0.0.1:5000 - "POST /api/v1/push HTTP/1.1" 200', "请求 POST /api/v1/push（来自 127.0.0.1:5000）→ 200"),
])
def test_uvicorn_messages_in_chinese(message, expected):
    name = "uvicorn.access" if message.startswith("127.") else "uvicorn.error"
    translated = Translator()(record(message, logging.ERROR, name), message)
    assert translated is not None and translated.text.startswith(expected)
    assert not ENGLISH_LOG.search(translated.text)


def test_a_worker_s_stop_is_not_the_server_s_stop():
    message = "Finished server process [123]"
    assert Translator()(record(message, logging.INFO, "uvicorn.error"), message) == Translation("县级服务器已停止", True)
    worker = Translator(worker=True)(record(message, logging.INFO, "uvicorn.error"), message)
    assert worker.text == "服务器进程 123 已停止" and not worker.always


def test_a_database_that_cannot_be_reached_is_one_chinese_line(tmp_path):
    """PostgreSQL not running (nothing listens on the port): no English driver text on the terminal."""
    result = subprocess.run([*SERVER_CMD, "--db", f"postgresql://taizhang@127.0.0.1:{free_port()}/taizhang",
                             "admin", "users"], capture_output=True, text=True, timeout=120, env=server_env(tmp_path))
    assert result.returncode == 1
    lines = assert_all_chinese(result.stdout + result.stderr)
    assert len(lines) == 1 and "数据库无法使用" in lines[0] and "--db" in lines[0]
    assert "Connection refused" in (tmp_path / "logs" / "county-server.log").read_text(encoding="utf-8")
