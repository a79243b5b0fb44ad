"""The county server's logging: Chinese lines on its terminal (or the systemd journal), full records in a file.

:func:`setup` is called once per process of ``taizhang-server`` (every subcommand, and each worker
of ``serve --workers N``):

* the terminal gets :class:`storage.console_log.ConsoleHandler` lines at the chosen level
  (``serve --log-level``; warnings by default): our own messages are Chinese already, uvicorn's
  startup, shutdown, bind and request lines are translated by :func:`translate`, anything else in
  English becomes a Chinese line naming the log file;
* the log file ``<数据目录>/logs/county-server.log`` gets every record from INFO up, as it was
  written (English library messages, tracebacks), for the administrator.  A single-process
  ``serve`` rotates it (2 MB × 5); every other process (the workers of ``serve --workers N``, the
  admin commands) only reopens it when it was moved, since independent rotations of one file would
  overwrite each other's files.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from storage.console_log import HIDE, Translation, install_console, remove_console

LOG_NAME = "county-server.log"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def log_file_path() -> Path:
    from storage.db import data_dir

    return data_dir() / "logs" / LOG_NAME


def _bind_failed(match: re.Match) -> str:
    """A failed bind (asyncio names the address; a plain socket.bind, with several workers, does not)."""
    port = f" {match['port']} " if match["port"] else ""
    host = match["host"] or "该地址"
    if match["errno"] == "98":
        return (f"端口{port}已被占用，服务器没有启动：可能县级服务器已在运行（systemctl status taizhang-server "
                "查看），或另一个程序在用这个端口。请先停止它，或用 --port 换一个端口")
    if match["errno"] == "13":
        return (f"没有权限使用端口{port.rstrip()}，服务器没有启动：1024 以下的端口需要 root 权限。请用 1024 以上的端口"
                "（默认 8750），对外的 443 端口由 nginx 提供")
    return f"本机没有地址 {host}，服务器没有启动。请检查 --host（本机使用 127.0.0.1，对外服务用 0.0.0.0）"


# uvicorn's messages (0.2x–0.5x wording), in order; the first pattern that matches wins.
# (pattern, Chinese text with the match's groups, shown even when the terminal shows warnings only)
_UVICORN: list[tuple[re.Pattern, object, bool]] = [(re.compile(p), text, always) for p, text, always in [
    (r"^Started server process \[(?P<pid>\d+)\]", "服务器进程 {pid} 已启动", False),
    (r"^Started parent process \[(?P<pid>\d+)\]", "主进程 {pid} 已启动，正在启动各工作进程", False),
    (r"^Uvicorn running on (?P<url>\S+)", "正在 {url} 上接受请求（按 Ctrl+C 停止）", False),
    (r"^Application startup complete", "启动完成", False),
    (r"^Shutting down", "正在停止，等待正在处理的请求完成……", False),
    (r"^Waiting for (connections to close|background tasks to complete)", "仍有请求在处理，等待它们完成（再按一次 Ctrl+C 强制停止）", True),
    (r"^Finished server process \[(?P<pid>\d+)\]", "服务器进程 {pid} 已停止", False),
    (r"^Stopping parent process", "县级服务器已停止", True),
    (r"^Received SIG(INT|TERM)", "收到停止信号，正在停止各工作进程……", True),
    (r"^Waiting for child process \[(?P<pid>\d+)\]", "等待工作进程 {pid} 停止", False),
    (r"^Child process \[(?P<pid>\d+)\] died", "工作进程 {pid} 意外退出，将重新启动一个（原因见日志文件）", False),
    (r"^Child process \[(?P<pid>\d+)\] failed to start", "工作进程 {pid} 没能启动，服务器停止（原因见日志文件）", False),
    (r"^Waiting for application (startup|shutdown)|^Application shutdown complete|^Terminated child process", HIDE, False),
    (r"\[Errno (?P<errno>98|13|99)\](?:.*address \('?(?P<host>[^',]*)'?, (?P<port>\d+))?", _bind_failed, False),
    (r"^Invalid HTTP request received",
     "收到一个无法解析的 HTTP 请求，已回答 400（常见原因：用 https:// 访问了 http 端口，或网络扫描）", False),
    (r"^Exception in ASGI application", "处理一个请求时出现意外错误，已回答 500", False),
    (r"^Cancel (?P<n>\d+) running task", "等待超时，取消了 {n} 个仍在处理的请求", False),
    (r"^Application startup failed", "启动失败，服务器没有启动", False),
]]


_ACCESS = re.compile(r'^(?P<client>\S+) - "(?P<method>\S+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d+)')


class Translator:
    """uvicorn's messages in Chinese (``storage.console_log.Translator``).

    ``worker``: this process is one of several workers, so its own stop is not the server's stop."""

    def __init__(self, *, worker: bool = False):
        self.worker = worker

    def __call__(self, record: logging.LogRecord, message: str) -> Translation | None:
        if not record.name.startswith("uvicorn"):
            return None
        if record.name == "uvicorn.access":
            # (the record's args are gone by now: storage.logsafe masks the formatted message)
            request = _ACCESS.match(message)
            return Translation(f"请求 {request['method']} {request['path']}（来自 {request['client']}）→ {request['status']}"
                               if request else "")
        if not self.worker and message.startswith("Finished server process"):
            return Translation("县级服务器已停止", True)  # one process: its stop is the server's
        for pattern, text, always in _UVICORN:
            match = pattern.search(message)
            if match is None:
                continue
            if text is HIDE:
                return HIDE
            if callable(text):
                return Translation(text(match), always)
            return Translation(text.format(**match.groupdict()), always)
        return None


def translate(record: logging.LogRecord, message: str) -> Translation | None:
    """The translation for a single-process server (see :class:`Translator`)."""
    return Translator()(record, message)


_file_handler: logging.Handler | None = None


def setup(level: str = "warning", *, rotate: bool = False, worker: bool = False) -> Path | None:
    """Configure this process's logging (idempotent); returns the log file, or None if it cannot be written."""
    global _file_handler
    root = logging.getLogger()
    root.setLevel(min(logging.INFO, LEVELS[level]))
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter is not for the admin
    path: Path | None = None
    if _file_handler is None:
        try:
            path = log_file_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            if rotate:
                handler: logging.Handler = logging.handlers.RotatingFileHandler(
                    path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
            else:
                handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
        except OSError:
            path = None  # the terminal lines then say the detail was not kept
        else:
            from storage.logsafe import PiiFilter

            handler.setFormatter(logging.Formatter(FILE_FORMAT))
            handler.addFilter(PiiFilter())
            root.addHandler(handler)
            _file_handler = handler
    else:
        path = Path(_file_handler.baseFilename)
    install_console(LEVELS[level], log_file=lambda: path, translate=Translator(worker=worker))
    return path


def teardown() -> None:
    """Undo :func:`setup` (a command run in-process: the next one may use another data directory)."""
    global _file_handler
    remove_console()
    if _file_handler is not None:
        logging.getLogger().removeHandler(_file_handler)
        _file_handler.close()
        _file_handler = None


__all__ = ["setup", "teardown", "translate", "Translator", "log_file_path", "LOG_NAME"]
