"""Logs never carry personal information: one masking filter for every process (desktop, CLI, server).

* :func:`mask_pii` masks 18-digit ID numbers (110105********1234) and 11-digit mobile numbers
  (138****8000) in free text.
* :class:`PiiFilter` rewrites a log record so that its message, traceback and stack carry neither.
* :func:`install_pii_masking` makes every record of the process pass through the filter — through
  the log-record factory, so handlers configured later (uvicorn's, a test's) are covered too — and
  routes uncaught exceptions through logging, so a traceback is never printed unmasked.

Code should still never log PII on purpose; this is the safety net.  Database engines are created
with ``hide_parameters=True`` (storage.db), so SQL errors do not carry a record's values either.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_pii(text: str) -> str:
    """Mask every ID number and mobile number in free text."""
    text = _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(3), text)
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def _mask_record(record: logging.LogRecord) -> None:
    if getattr(record, "_pii_masked", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not lose the log line
        message = str(record.msg)
    record.msg = mask_pii(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = mask_pii(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = mask_pii(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_pii(record.stack_info)
    record._pii_masked = True


class PiiFilter(logging.Filter):
    """Rewrites a record so that its message and traceback carry no ID numbers or phone numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


_install_lock = threading.Lock()
_installed = False


def install_pii_masking(*, excepthook: bool = True) -> None:
    """Mask every log record this process makes, whoever configures the handlers (idempotent).

    ``excepthook``: also log uncaught exceptions (masked) instead of printing them; the desktop app
    passes False because it installs its own hook, which also shows the user a Chinese message."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous_factory = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            record = previous_factory(*args, **kwargs)
            _mask_record(record)
            return record

        logging.setLogRecordFactory(factory)
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, PiiFilter) for f in handler.filters):
                handler.addFilter(PiiFilter())
        _installed = True
    if excepthook:
        install_excepthooks()


def install_excepthooks(after_logging=None) -> None:
    """Uncaught exceptions (any thread) go through logging (masked) instead of Python's unmasked
    traceback print; ``after_logging()`` then runs (the desktop tells the user), never raising."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        logging.getLogger("taizhang").critical("uncaught exception", exc_info=(exc_type, exc, tb))
        if after_logging is not None:
            try:
                after_logging()
            except Exception:  # noqa: BLE001 - the hook itself must never raise
                logging.getLogger("taizhang").exception("could not tell the user about the error")

    sys.excepthook = hook
    threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)


__all__ = ["mask_pii", "PiiFilter", "install_pii_masking", "install_excepthooks"]
