"""Logging for the desktop app: a rotating file in the data directory, never personal information.

* ``setup_logging()`` installs a ``RotatingFileHandler`` (``<data dir>/logs/taizhang.log``, 1 MB x 5)
  on the root logger.  Every handler it installs carries :class:`PiiFilter`.
* :class:`PiiFilter` and :func:`install_pii_masking` come from the core (``storage.logsafe``, shared
  with the CLI and the server): ID numbers and mobile numbers are masked in every message and
  traceback, whatever code logged it.
* ``setup_console_logging()`` is what the terminal shows: only errors, in Chinese
  (``storage.console_log``: an English message or a traceback becomes a line naming the log file);
  progress and warnings (``alembic`` upgrading the database, an unreachable server) go to the log
  file only, where an administrator reads them.
* ``install_excepthook(show)`` logs any uncaught exception (masked) and calls ``show(message)``
  with a Chinese message that says what to do and where the log file is.  Saved data is never at
  risk from an uncaught exception: every write is its own committed transaction.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path
from typing import Callable

from storage.console_log import install_console
from storage.logsafe import PiiFilter, install_excepthooks, install_pii_masking, mask_pii

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


def log_dir() -> Path:
    from storage.db import data_dir

    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_file_path() -> Path:
    return log_dir() / "taizhang.log"


def setup_console_logging() -> logging.Handler:
    """The terminal's log handler: errors only, in Chinese, PII masked (storage.console_log; idempotent).

    English messages and tracebacks are not printed: the line names the log file that has them."""
    with _lock:
        root = logging.getLogger()
        handler = install_console(logging.ERROR, log_file=_current_log_file)
        if root.level == logging.NOTSET or root.level > logging.WARNING:
            root.setLevel(logging.WARNING)
    return handler


def _current_log_file() -> Path | None:
    return Path(_installed.baseFilename) if _installed is not None else None


_installed: logging.Handler | None = None
_lock = threading.Lock()


def setup_logging(level: int = logging.INFO) -> Path:
    """Install the rotating, PII-masking file log (idempotent; re-targets if the data dir changed)."""
    global _installed
    path = log_file_path()
    with _lock:
        root = logging.getLogger()
        if _installed is not None:
            if Path(getattr(_installed, "baseFilename", "")) == path:
                return path
            root.removeHandler(_installed)
            _installed.close()
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(PiiFilter())
        root.addHandler(handler)
        install_pii_masking(excepthook=False)
        for other in root.handlers:
            if not any(isinstance(f, PiiFilter) for f in other.filters):
                other.addFilter(PiiFilter())
        if root.level > level or root.level == logging.NOTSET:
            root.setLevel(level)
        _installed = handler
    logging.getLogger("taizhang").info("log file: %s", path)
    return path


def teardown_logging() -> None:
    """Remove the file handler installed by ``setup_logging`` (tests; switching data directories)."""
    global _installed
    with _lock:
        if _installed is not None:
            logging.getLogger().removeHandler(_installed)
            _installed.close()
            _installed = None


def crash_message() -> str:
    return ("程序遇到了一个意外错误。已经保存的数据不会丢失（每次保存都已写入数据库）；"
            "正在填写、尚未保存的内容会作为草稿保留。\n\n"
            "建议：先关闭本窗口再继续工作；如果错误反复出现，请重新启动程序，"
            f"并把日志文件发给县民政局信息管理员：\n{log_file_path()}")


def install_excepthook(show: Callable[[str], None] | None = None) -> None:
    """Log uncaught exceptions (masked) and tell the user in Chinese what to do.

    ``show`` may be called from any thread (uncaught exceptions in threads too): the desktop app
    passes a function that emits a queued Qt signal.
    """
    install_excepthooks(None if show is None else lambda: show(crash_message()))


__all__ = ["setup_logging", "setup_console_logging", "teardown_logging", "PiiFilter", "mask_pii", "log_file_path", "log_dir", "install_excepthook",
           "crash_message"]
