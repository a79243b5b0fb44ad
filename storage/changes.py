"""The values a write is made of: a change, a local write op, its result, and their payloads.

A ``Change`` is what the change log stores and sync and offline packages carry; a ``WriteOp``
is a write made on this PC (a form save, an Excel row).  Both are decided by
``storage.decision.decide`` and written by ``storage.executor``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from storage.jsontext import encode
from storage.models import ORG_NAMESPACE
from storage.schema import RecordType

OPS = ("insert", "update", "delete", "restore")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch


def to_json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def payload_of(rt: RecordType, values: dict) -> dict:
    """JSON-safe field values of a record (what the change log and sync carry)."""
    return {f.name: to_json_value(values.get(f.name)) for f in rt.fields}


def payload_json(values: dict) -> str:
    """The change log's text of a record's payload, compact JSON with dates as ISO text.

    ``values``: the record as a decision writes it (every field in the schema's order, then
    ``deleted``), which is the payload's shape already.
    """
    return encode(values)




def values_from_payload(rt: RecordType, payload: dict) -> dict:
    """A change's payload as field values: ISO date strings become dates.

    Only the strict ``YYYY-MM-DD`` spelling is read here (``date.fromisoformat`` also takes
    20240506 and 2024-W19-1, which validation refuses).  Any other date text is left as it is:
    validation parses the other spellings (2024/3/5) or says what is wrong, and an unvalidated
    write refuses it (``unreadable_date``).  Raising here would stop a whole sync page on one odd
    value, every time it is retried.
    """
    values = {}
    for f in rt.fields:
        v = payload.get(f.name)
        if f.type == "date" and isinstance(v, str) and _ISO_DATE(v):
            try:
                v = dt.date.fromisoformat(v)
            except ValueError:
                pass
        values[f.name] = v
    return values


def unreadable_date(rt: RecordType, values: dict) -> str | None:
    """The Chinese refusal for a date field still holding text, or None (for writes that skip validation)."""
    for f in rt.fields:
        v = values.get(f.name)
        if f.type == "date" and isinstance(v, str):
            return f"{rt.label}：{f.label}“{v}”不是有效日期（应为 2024-03-05 这样的格式），这条变更没有写入"
    return None


def org_unit_id(code: str) -> str:
    """Org units have a deterministic id so that every PC and the server agree."""
    return str(uuid.uuid5(ORG_NAMESPACE, f"org:{code}"))


def same_content(held: dict, payload: dict) -> bool:
    """The stored payload of a change and a payload sent again with its id say the same.  A field one
    side lacks and the other holds empty is the same: a PC of an earlier release does not know the
    fields added since, and its retry must stay a duplicate."""
    sent = json.loads(json.dumps(payload, ensure_ascii=False, default=to_json_value))
    return all(held.get(k) == sent.get(k) for k in held.keys() | sent.keys())


@dataclass
class Change:
    """A change as stored in the change log and carried by sync and packages."""

    change_id: str
    record_type: str
    record_id: str
    org_code: str
    op: str
    base_version: int
    version: int
    payload: dict
    actor: str
    device_id: str | None
    at: str  # ISO-8601 UTC

    def to_dict(self) -> dict:
        return self.__dict__.copy()

    @classmethod
    def from_dict(cls, d: dict) -> "Change":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass
class WriteOp:
    """One write made here: op is insert/update/delete/restore; ``values`` the fields given.

    ``expected_version``: the version the user opened (a form); a different stored version
    is a conflict.  None: no expectation (a bulk write decides on the stored row as it is).
    """

    record_type: str
    op: str
    values: dict = field(default_factory=dict)
    record_id: str | None = None
    expected_version: int | None = None


@dataclass
class WriteResult:
    record_id: str
    change_id: str
    version: int


def change_from_row(row) -> Change:
    return Change(change_id=row.change_id, record_type=row.record_type, record_id=row.record_id,
                  org_code=row.org_code, op=row.op, base_version=row.base_version, version=row.version,
                  payload=json.loads(row.payload), actor=row.actor, device_id=row.device_id,
                  at=row.at.isoformat() if isinstance(row.at, dt.datetime) else str(row.at))
