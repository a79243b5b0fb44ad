"""What a record form needs before it opens, read in one go (the desktop reads it in a read job).

Qt-free: :func:`read_form` returns a :class:`FormData` — the stored record (for an edit), the
choice lists, the options of reference fields, the children shown in the form's child tables, a
draft left for the record, and whose ledger this PC keeps.  The form builds its widgets from it and
reads nothing itself while it opens.  :func:`child_rows` re-reads one child table after a child
was saved; :func:`month_notices` says, before a save, what the months the record lies in require
(``storage.periods.edit_notice``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from storage import periods as P
from storage.drafts import DraftData, DraftStore
from storage.repository import WriteRefused
from storage.schema import RecordType, children_of, record_type


@dataclass
class FormData:
    type_name: str
    record: dict | None  # the stored record, None for a new one
    choices: dict[str, list[str]]
    ref_options: dict[str, list[tuple[str, str]]]  # reference field -> (record id, label), by label
    children: dict[str, list[dict]] = field(default_factory=dict)  # child type -> its rows, newest first
    leftover_draft: DraftData | None = None  # a draft of this record the user has not restored yet
    own_org: str | None = None  # the org unit whose ledger this PC keeps (setting org_code)


class RecordNotFound(WriteRefused):
    """The record to edit does not exist (deleted, or never synced here)."""


def ref_options(repo, rt: RecordType, org_code: str) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for f in rt.form_fields:
        if f.type != "ref" or not f.ref:
            continue
        rows = repo.list(f.ref, org_code=org_code)
        label_field = "name" if rows and "name" in rows[0] else None
        out[f.name] = sorted(((r["id"], str(r.get(label_field) or r["id"])) for r in rows), key=lambda o: o[1])
    return out


def child_rows(repo, child: RecordType, parent_id: str) -> list[dict]:
    """The live children of one parent, newest first when the child type has a date."""
    records = repo.list(child.name, where={child.parent_field: parent_id})
    key = child.date_field
    if key:
        records.sort(key=lambda r: (r.get(key) is None, r.get(key)), reverse=True)
    return records


def read_form(repo, type_name: str, org_code: str, record_id: str | None = None, *,
              with_children: bool = True, with_draft: bool = True) -> FormData:
    """Everything a form of ``type_name`` needs; raises :class:`RecordNotFound` for a missing record."""
    rt = record_type(type_name)
    record = None
    if record_id is not None:
        record = repo.get(type_name, record_id)
        if record is None:
            raise RecordNotFound(f"找不到要修改的{rt.record_noun}，可能已被删除或尚未同步")
    data = FormData(type_name, record, repo.choices(), ref_options(repo, rt, org_code),
                    own_org=repo.get_setting("org_code"))
    if with_children and record_id is not None:
        data.children = {child.name: child_rows(repo, child, record_id) for child in children_of(type_name)}
    if with_draft and record_id is not None:
        data.leftover_draft = DraftStore(repo.engine).for_record(type_name, record_id)
    return data


def month_notices(repo, org_code: str, months: Iterable[str]) -> list[tuple[str, bool]]:
    """For each month (in order) that asks something before a save: (what to tell, whether refused)."""
    out = []
    for period in sorted(months):
        notice = P.edit_notice(P.get_state(repo, org_code, period))
        if notice is not None:
            out.append(notice)
    return out


__all__ = ["FormData", "RecordNotFound", "read_form", "child_rows", "ref_options", "month_notices"]
