"""How an import row finds its stored record: natural-key values compared as the database holds
them, keyless records by their whole content, and whether a unit is within the import's scope."""

from __future__ import annotations

import datetime as dt
import re

from storage.schema import Field, RecordType
from storage.validation import county_of, township_of


def within_scope(code: str, scope: str) -> bool:
    if scope.endswith("000000"):
        return county_of(code) == scope
    if scope.endswith("000"):
        return township_of(code) == scope
    return code == scope


is_canonical_uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def comparable(value):
    """Comparable form of a stored or coerced value."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime):
        return value.date()
    if value == "":
        return None
    return value


def content_key(rt: RecordType, values: dict, fields: list[Field]) -> tuple:
    return tuple(comparable(values.get(f.name)) for f in fields)

