"""What a terminal shows of the log, for both command lines (``taizhang`` and ``taizhang-server``): Chinese only.

The people at these terminals read Chinese; the log *file* keeps every record in full (English
library messages, tracebacks) for an administrator.  :class:`ConsoleHandler` writes one line per
record it shows, ``时:分:秒 级别：说明``:

* a message that already carries Chinese is shown as it is;
* a message a ``translate`` function knows (uvicorn's startup and shutdown lines, say) is shown in
  its Chinese form — or left out, if the translation is :data:`HIDE`;
* any other (English) message is shown, if it is a warning or an error, as a Chinese line that names
  the log file where its text is; English information lines are left out;
* a traceback is never printed: the line says where it was written instead.

A translation may also mark its line as always shown (``Translation(text, always=True)``): a server
says it has stopped even when the terminal shows warnings only.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

LEVEL_NAMES_ZH = {"DEBUG": "调试", "INFO": "信息", "WARNING": "警告", "ERROR": "错误", "CRITICAL": "严重错误"}
_CHINESE = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Translation:
    text: str
    always: bool = False  # shown whatever the terminal's level


HIDE = Translation("")  # a known message the terminal does not need (it is still in the log file)

Translator = Callable[[logging.LogRecord, str], "Translation | None"]


def has_chinese(text: str) -> bool:
    return bool(_CHINESE.search(text))


class ConsoleHandler(logging.Handler):
    """Chinese lines on whatever ``sys.stderr`` is when a record comes (a test runner may swap it).

    ``level``: the lowest level shown (translations marked ``always`` are shown regardless);
    ``log_file``: where the full records go (named on lines whose detail is left out), or None;
    ``translate``: the Chinese form of known English messages."""

    def __init__(self, level: int = logging.WARNING, *, log_file: Callable[[], Path | None] | None = None,
                 translate: Translator | None = None):
        super().__init__(logging.DEBUG)  # the level test is in render(): translations may be shown anyway
        self.shown_level = level
        self.log_file = log_file or (lambda: None)
        self.translate = translate

    def render(self, record: logging.LogRecord) -> str | None:
        """The terminal line for ``record``, or None if the terminal does not show it."""
        message = record.getMessage()
        translated = self.translate(record, message) if self.translate else None
        if translated is not None:
            if translated is HIDE or not translated.text:
                return None
            if record.levelno < self.shown_level and not translated.always:
                return None
            text = translated.text
        elif record.levelno < self.shown_level:
            return None
        elif has_chinese(message):
            text = message.strip()
        elif record.levelno >= logging.WARNING:
            text = "程序组件报告了一个问题" if record.levelno == logging.WARNING else "出现了一个意外错误"
            text += self._where("（英文原文")
        else:
            return None
        if (record.exc_info or record.exc_text) and "日志文件" not in text:
            text += self._where("（错误详情")
        level = "" if record.levelno == logging.INFO else LEVEL_NAMES_ZH.get(record.levelname, "") + "："
        return f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {level}{text}"

    def _where(self, what: str) -> str:
        path = self.log_file()
        return f"{what}已写入日志文件 {path}）" if path else f"{what}未显示）"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.render(record)
            if line is None:
                return
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging must never break the program
            self.handleError(record)


def install_console(level: int = logging.WARNING, *, log_file: Callable[[], Path | None] | None = None,
                    translate: Translator | None = None) -> ConsoleHandler:
    """Put a :class:`ConsoleHandler` on the root logger, replacing one installed before (idempotent)."""
    from storage.logsafe import PiiFilter

    remove_console()
    handler = ConsoleHandler(level, log_file=log_file, translate=translate)
    handler.addFilter(PiiFilter())
    logging.getLogger().addHandler(handler)
    return handler


def remove_console() -> None:
    """Take the :class:`ConsoleHandler` off the root logger (a command run in-process, in tests)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, ConsoleHandler)]:
        root.removeHandler(old)


__all__ = ["ConsoleHandler", "Translation", "HIDE", "install_console", "remove_console", "has_chinese",
           "LEVEL_NAMES_ZH"]
