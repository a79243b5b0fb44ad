"""Workbook layout derived from the field schema (storage.schema) — no second field list.

One sheet per record type, named by the type's label.  Each schema field is a
column headed by its label (plus unit and a "*" for required fields).  Three
kinds of column are not plain fields:

- ``ref`` fields (a training's staff member, a volunteer's team, an hour
  record's volunteer) are written as the parent's *natural key* in words a
  clerk can type — the parent's 姓名 and 公民身份号码 (or the team's 名称) — plus
  a hidden column with the parent's record UUID.  On import the hidden UUID
  wins when it names a known record; otherwise the visible key is looked up
  among the workbook's own rows and the records already in the database.
- ``记录编号``: a hidden column with the record's UUID, so that re-importing an
  exported workbook updates records instead of duplicating them.
- ``记录版本``: a hidden column with the record's version as exported.  A row whose
  version is older than the stored record's is a conflict on import (the record
  changed after the export), never a silent overwrite.
- ``区划代码``: optional.  Templates and exports are for one village, whose code
  is in the title line and the hidden metadata sheet; a hand-made workbook may
  carry the code per row instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from storage.schema import RECORD_TYPES, Field, RecordType, workbook_types

# The hidden version column's cells are read as a whole number like any int field.
VERSION_FIELD = Field("version", "记录版本", "int", min=1)

TEMPLATE_VERSION = "1"
META_SHEET = "_元数据"
CHOICES_SHEET = "_选项"
INSTRUCTIONS_SHEET = "填写说明"
RECORD_ID_LABEL = "记录编号"
RECORD_VERSION_LABEL = "记录版本"
ORG_LABEL = "区划代码"
TITLE_ROWS = 2  # row 1: merged title; row 2: unit / period line; row 3: header
HEADER_ROW = TITLE_ROWS + 1
SEQ_HEADER = "序号"  # column A of templates and exports: a running number for paper; ignored on import

# Which types have a sheet (``RecordType.in_workbook``) and how a row without a record id is
# matched (``RecordType.natural_keys``) are declared on the record type in storage.schema.

TEXT_TYPES = ("text", "id_number", "phone", "credit_code", "org_code", "ref", "multichoice", "choice", "period")

# Excel's own limit for one cell; anything longer is not from a spreadsheet program.
MAX_CELL_CHARS = 32_767


@dataclass(frozen=True)
class Column:
    key: str  # "name", "staff_id:name", "staff_id:#", "#", "org"
    label: str
    kind: str  # field | ref_key | ref_id | record_id | record_version | org
    field: Field  # the field whose type, format and validators apply to the cell
    required: bool = False
    hidden: bool = False
    ref_field: Field | None = None  # for ref_key / ref_id: the ref field on this record type

    @property
    def header(self) -> str:
        unit = f"({self.field.unit})" if self.field.unit and self.kind == "field" else ""
        return f"{self.label}{unit}{'*' if self.required else ''}"

    @property
    def is_text(self) -> bool:
        return self.field.type in TEXT_TYPES or self.kind in ("ref_key", "ref_id", "record_id", "org")

    @property
    def width(self) -> int:
        if self.hidden:
            return 38
        base = {"id_number": 22, "credit_code": 22, "phone": 15, "date": 13, "org_code": 15,
                "multichoice": 24, "bool": 10}.get(self.field.type, 0)
        if not base:
            base = 30 if (self.field.max_length or 0) >= 200 else 14
        return max(base, int(len(self.header) * 2.1) + 2)


def ref_key_fields(target: RecordType) -> tuple[Field, ...]:
    """The fields by which a clerk names a parent record: its 姓名/名称 and, if it has one, 公民身份号码."""
    keys = [f for f in target.fields if f.name == "name"]
    keys += [f for f in target.fields if f.name == "id_number"]
    return tuple(keys)


def columns_for(rt: RecordType, *, with_org: bool = False) -> list[Column]:
    cols: list[Column] = []
    if with_org:
        org = rt.field("org_code")
        cols.append(Column("org", ORG_LABEL, "org", org, required=True))
    hidden: list[Column] = []
    for f in rt.fields:
        if f.name == "org_code":
            continue
        if f.type == "ref":
            target = RECORD_TYPES[f.ref]
            keys = ref_key_fields(target)
            for k in keys:
                label = f.label if len(keys) == 1 else f"{f.label}{k.label}"
                # the name is enough when it is unique; the ID number only tells namesakes apart
                required = f.required and k.name == "name"
                cols.append(Column(f"{f.name}:{k.name}", label, "ref_key", k, required=required, ref_field=f))
            hidden.append(Column(f"{f.name}:#", f"{f.label}编号", "ref_id", f, hidden=True, ref_field=f))
            continue
        cols.append(Column(f.name, f.label, "field", f, required=f.required))
    cols.extend(hidden)
    cols.append(Column("#", RECORD_ID_LABEL, "record_id", rt.field("org_code"), hidden=True))
    cols.append(Column("#version", RECORD_VERSION_LABEL, "record_version", VERSION_FIELD, hidden=True))
    return cols


def sheet_types() -> list[RecordType]:
    """The record types with a sheet, in write order (parents before children)."""
    return [RECORD_TYPES[t] for t in workbook_types()]


# --------------------------------------------------------------------------- matching what people typed

_PARENS = re.compile(r"\([^()]*\)$")
_NOISE = re.compile(r"[\s*＊:：]")


def normalize_label(value) -> str:
    """Header text → comparable key: NFKC, no spaces, no '*', no trailing '(unit)' or '(必填)'."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = _NOISE.sub("", text)
    for _ in range(2):
        stripped = _PARENS.sub("", text)
        if stripped == text:
            break
        text = stripped
    return text.replace("[", "").replace("]", "")


def label_index(rt: RecordType) -> dict[str, Column]:
    """Normalised header → column, for every column this record type accepts."""
    index: dict[str, Column] = {}
    for col in columns_for(rt, with_org=True):
        index.setdefault(normalize_label(col.label), col)
        index.setdefault(normalize_label(col.header), col)
    # A ref shown by one key may also be typed as "<ref label><key label>" (所属志愿服务队名称).
    for f in rt.fields:
        if f.type == "ref":
            keys = ref_key_fields(RECORD_TYPES[f.ref])
            for k in keys:
                col = next(c for c in columns_for(rt) if c.key == f"{f.name}:{k.name}")
                index.setdefault(normalize_label(f"{f.label}{k.label}"), col)
    return index


def year_sheet_name(rt: RecordType, year: int) -> str:
    """The sheet of one year when an export spans several years: 服务记录（2024年）."""
    return f"{rt.label}（{year}年）"


def match_sheet(name: str) -> RecordType | None:
    """Which record type a sheet holds, by its name (exact label first, then containment)."""
    norm = normalize_label(name)
    types = sheet_types()
    for rt in types:
        if norm == normalize_label(rt.label):
            return rt
    # "服务记录表", "2024年服务设施台账": longest label contained in the name wins
    hits = [rt for rt in types if normalize_label(rt.label) in norm]
    return max(hits, key=lambda rt: len(rt.label)) if hits else None


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
