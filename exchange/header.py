"""Where a sheet's header row is, and what each of its columns is (merged and two-row headers included)."""

from __future__ import annotations

import re

from exchange.layout import Column, label_index, normalize_label
from storage.schema import RecordType

HEADER_SEARCH_ROWS = 30
FOOTER_WORDS = ("合计", "小计", "总计", "填表人", "填报人", "审核人", "负责人", "制表人", "注：", "注:", "说明：")


def is_year_sheet(name: str, rt: RecordType) -> bool:
    return bool(rt.date_field and re.fullmatch(re.escape(rt.label) + r"（\d{4}年）", name.strip()))


def find_header(head: list[list], rt: RecordType, merges) -> tuple[int, dict[int, Column], list] | None:
    """The header row (or two-row header) with the most recognised labels."""
    index = label_index(rt)
    best = None  # (score, header_end, mapping, unknown)
    merged_top: dict[tuple[int, int], tuple[int, int]] = {}
    for r0, c0, r1, c1 in merges:
        if r0 < len(head) and (r1 - r0) * (c1 - c0 + 1) < 200:
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    merged_top[(r, c)] = (r0, c0)

    def value(r, c):
        src = merged_top.get((r, c), (r, c))
        row = head[src[0]] if src[0] < len(head) else []
        return row[src[1]] if src[1] < len(row) else None

    for r in range(len(head)):
        width = len(head[r])
        mapping, unknown = {}, []
        for c in range(width):
            text = head[r][c]
            col = index.get(normalize_label(text)) if text not in (None, "") else None
            if col:
                mapping[c] = col
        score = len(mapping)
        if score and (best is None or score > best[0]):
            unknown = [(c, head[r][c]) for c in range(width)
                       if c not in mapping and head[r][c] not in (None, "") and (r, c) not in merged_top]
            best = (score, r, mapping, unknown)
        # two-row header: group cells (merged across) above, field labels below
        if r + 1 < len(head):
            width2 = max(width, len(head[r + 1]))
            mapping2, unknown2 = {}, []
            group = None
            for c in range(width2):
                top = value(r, c)
                bottom = value(r + 1, c)
                if top not in (None, ""):
                    group = top
                elif (r, c) not in merged_top:
                    group = None
                col = None
                for cand in (bottom, top, f"{group or ''}{bottom or ''}"):
                    if cand not in (None, ""):
                        col = index.get(normalize_label(cand))
                        if col:
                            break
                if col:
                    mapping2[c] = col
                elif bottom not in (None, "") or (top not in (None, "") and (r, c) not in merged_top):
                    shown = bottom if bottom not in (None, "") else top
                    if (r + 1, c) not in merged_top or merged_top[(r + 1, c)] == (r + 1, c):
                        unknown2.append((c, shown))
            uses_bottom = any(normalize_label(value(r + 1, c)) in index for c in mapping2
                              if value(r + 1, c) not in (None, ""))
            if uses_bottom and len(mapping2) > (best[0] if best else 0):
                best = (len(mapping2), r + 1, mapping2, unknown2)
    if best is None:
        return None
    required = [c for c in index.values() if c.required]
    if best[0] < 2 and not any(c in required for c in best[2].values()):
        return None
    return best[1], best[2], best[3]

