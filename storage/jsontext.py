"""The change log's payload text: one fast encoder beside the plain reference encoder.

Every write stores its record's whole payload as JSON in the change log, so a bulk write of
100,000 records encodes 100,000 payloads.  The standard library's encoder, with dates handed to
a Python fallback, takes ~5 µs a payload; orjson takes under 1 µs, which keeps the bulk path
within twice raw SQL (``python -m benchmarks core``).  Both give the same JSON value for every
value a payload holds (tests/test_jsontext.py); the reference encoder takes over where orjson
cannot encode a value (an integer beyond 64 bits).  Non-finite floats, which validation never
lets through, become ``null`` with orjson (the reference writes ``NaN``, which is not JSON).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson


def _iso(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


encode_reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_iso).encode


def encode(value: Any) -> str:
    """Compact JSON text of ``value``; dates and timestamps as ISO text."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return encode_reference(value)
