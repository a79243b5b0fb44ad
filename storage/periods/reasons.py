"""Return reasons with per-record notes: written as one text field, read back as general text plus notes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from storage.schema import RECORD_TYPES

_BODY_RE = re.compile(r"^[^（(：:]*(?:[（(](?P<summary>.*?)[）)])?[：:](?P<note>.*)$")
_NOTE_RE = re.compile(r"\s*\[record:(\w+):([0-9a-f-]{36})\]\s*$")


@dataclass(frozen=True)
class RecordNote:
    record_type: str
    record_id: str
    note: str
    summary: str = ""  # e.g. "2024-03-05 养老" so the line reads well without the app


NOTE_SEP = " ▶ "  # stored text fields fold newlines, so per-record notes are joined with a marker


def format_reason(general: str, notes: Iterable[RecordNote] = ()) -> str:
    """A reason text: the general reason, then one item per record with a machine-readable marker."""
    parts = [" ".join((general or "").split())]
    for n in notes:
        label = RECORD_TYPES[n.record_type].label
        parts.append(f"{label}{'（' + n.summary + '）' if n.summary else ''}：{' '.join(n.note.split())} "
                     f"[record:{n.record_type}:{n.record_id}]")
    return NOTE_SEP.join(p for p in parts if p)


def parse_reason(reason: str | None) -> tuple[str, list[RecordNote]]:
    """Split a reason into its general text and the per-record notes (markers removed)."""
    general, notes = [], []
    for part in (reason or "").split(NOTE_SEP.strip()):
        part = part.strip()
        m = _NOTE_RE.search(part)
        if m:
            body = part[:m.start()]  # stored text is NFKC-normalised: （）： may have become ():
            b = _BODY_RE.match(body)
            summary, note = (b.group("summary") or "", b.group("note")) if b else ("", body)
            notes.append(RecordNote(m.group(1), m.group(2), note.strip(), summary.strip()))
        elif part:
            general.append(part)
    return " ".join(general), notes


def display_reason(reason: str | None) -> str:
    """The reason as a person reads it: general text, then one line per record (markers removed)."""
    parts = [p.strip() for p in (reason or "").split(NOTE_SEP.strip())]
    lines = [_NOTE_RE.sub("", p) for p in parts if p]
    if len(lines) <= 1:
        return "\n".join(lines)
    return "\n".join([lines[0]] + ["· " + line for line in lines[1:]])
