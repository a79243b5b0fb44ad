"""The change log's payload text: one fast encoder beside the plain reference encoder.

Every write stores its record's whole payload as JSON in the change log, so a bulk write of
100,000 records encodes 100,000 payloads.  The standard library's encoder, with dates handed to
a Python fallback, takes ~5 µs a payload; orjson takes under 1 µs, which keeps the bulk path
within twice raw SQL (``python -m benchmarks core``).  Both give the same JSON value for every
value a payload holds (tests/test_jsontext.py); the reference encoder takes over where orjson
cannot encode a value (an integer beyond 64 bits).  Non-finite floats, which validation never
lets through, become ``null`` with orjson (the reference writes ``NaN``, which is not JSON).

``stored(text)`` puts JSON text that is already encoded (a change-log payload, a batch's stored
answers) into a value as it is: a push of 5,000 changes does not decode and re-encode 5,000
payloads, and no body is spliced together by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson


class stored:  # noqa: N801 - reads as a function at its call sites: stored(text)
    """Already-encoded JSON text, written into ``encode``'s output as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _iso(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, stored):
        return json.loads(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, stored):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


encode_reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_iso).encode


def encode(value: Any) -> str:
    """Compact JSON text of ``value``; dates and timestamps as ISO text."""
    try:
        return orjson.dumps(value, default=_fragment).decode()
    except TypeError:
        return encode_reference(value)
