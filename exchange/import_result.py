"""What an import found and did: per-cell issues, per-type counts, conflicts, and the summary text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from exchange.layout import column_letter
from storage.schema import RECORD_TYPES


@dataclass
class CellIssue:
    sheet: str
    row: int | None  # Excel row number (1-based); None for the whole sheet/workbook
    col: int | None  # 0-based column index
    column: str  # column label as the clerk sees it
    value: str  # the cell as shown (personal information masked)
    message: str
    severity: str = "error"

    @property
    def where(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row is not None:
            parts.append(f"第{self.row}行")
        if self.col is not None:
            parts.append(f"{column_letter(self.col)}列")
        if self.column and self.col is not None:
            parts[-1] += f"（{self.column}）"
        return "".join(parts)

    @property
    def cell(self) -> str | None:
        return f"{column_letter(self.col)}{self.row}" if self.row is not None and self.col is not None else None


@dataclass
class TypeCounts:
    create: int = 0
    update: int = 0
    unchanged: int = 0
    rejected: int = 0
    conflict: int = 0


@dataclass
class ImportConflict:
    """An exported row older than the record it names: both versions kept, nothing overwritten."""

    sheet: str
    row: int
    record_type: str
    record_id: str
    org_code: str
    row_version: int
    stored_version: int
    differences: list[tuple[str, str, str]]  # (field label, as in the workbook, as stored), PII masked
    workbook: dict  # the row as a full payload (fields the workbook lacks keep the stored value)
    stored: dict  # the record's payload as stored

    def text(self) -> str:
        rt = RECORD_TYPES[self.record_type]
        diffs = "；".join(f"{label}：表格中为“{new}”，当前为“{old}”" for label, new, old in self.differences)
        return (f"工作表“{self.sheet}”第{self.row}行：这条{rt.record_noun}在导出后已被修改（表格中是第{self.row_version}版，"
                f"当前是第{self.stored_version}版），未覆盖。{diffs}")


@dataclass
class ImportResult:
    """The DHIS2-style import summary of one workbook."""

    path: Path
    status: str = "pending"  # imported | would_import | rejected | cancelled | nothing
    org_code: str | None = None
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    issues: list[CellIssue] = field(default_factory=list)
    seconds: float = 0.0
    write_seconds: float = 0.0  # of which in Repository.bulk_write
    report: Path | None = None
    rows_read: int = 0
    conflicts: list[ImportConflict] = field(default_factory=list)

    @property
    def errors(self) -> list[CellIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[CellIssue]:
        return [i for i in self.issues if i.severity != "error"]

    def total(self, what: str) -> int:
        return sum(getattr(c, what) for c in self.counts.values())

    @property
    def ok(self) -> bool:
        """Imported (or would be) with nothing left for a person to decide."""
        return self.status in ("imported", "would_import", "nothing") and not self.conflicts

    def grouped_errors(self) -> dict[str, dict[str, list[int | None]]]:
        """error → column → rows (the shape of DHIS2's conflict list)."""
        groups: dict[str, dict[str, list]] = {}
        messages: dict[str, set[str]] = {}
        for issue in self.errors:
            kind = _QUOTED.sub("“…”", issue.message)  # same error, different values: one group
            column = f"{issue.sheet}·{issue.column}" if issue.column else (issue.sheet or "整个工作簿")
            groups.setdefault(kind, {}).setdefault(column, []).append(issue.row)
            messages.setdefault(kind, set()).add(issue.message)
        # a group whose rows all share one message is shown with that message (values included)
        return {(next(iter(messages[k])) if len(messages[k]) == 1 else k): v for k, v in groups.items()}

    def summary_line(self) -> str:
        name = self.path.name
        created, updated, unchanged = self.total("create"), self.total("update"), self.total("unchanged")
        counts = f"新建 {created}，更新 {updated}，未变 {unchanged}"
        if self.conflicts:
            counts += f"，冲突 {len(self.conflicts)}"
        if self.status == "imported":
            kept = ("；有冲突的行未覆盖，两个版本都已保留，请在冲突列表中选择（taizhang conflicts，"
                    "县里用 taizhang-server import-conflicts）") if self.conflicts else ""
            return f"[已导入] {name}：{counts}（{self.seconds:.1f} 秒）{kept}"
        if self.status == "would_import":
            return f"[可导入] {name}：将{counts}（试运行，未写入；冲突的行不会覆盖）"
        if self.status == "nothing":
            return f"[无内容] {name}：没有可导入的数据行"
        if self.status == "pending":
            return f"[待导入] {name}：将{counts}"
        if self.status == "cancelled":
            return f"[已取消] {name}：未写入任何数据"
        rejected_rows = self.total("rejected")
        rows = f"，{rejected_rows} 行有错" if rejected_rows else ""
        return f"[已拒绝] {name}：{len(self.errors)} 处错误{rows}，整个工作簿未导入"

    def text(self) -> str:
        """Summary for stdout / the app: counts per type, then errors grouped error → column → rows."""
        lines = [self.summary_line()]
        if self.counts:
            for name, c in self.counts.items():
                if c.create or c.update or c.unchanged or c.rejected or c.conflict:
                    lines.append(f"    {RECORD_TYPES[name].label}：新建 {c.create}，更新 {c.update}，"
                                 f"未变 {c.unchanged}，有错 {c.rejected}" + (f"，冲突 {c.conflict}" if c.conflict else ""))
        for conflict in self.conflicts[:50]:
            lines.append(f"  冲突：{conflict.text()}")
        if len(self.conflicts) > 50:
            lines.append(f"  另有 {len(self.conflicts) - 50} 条冲突，见 taizhang conflicts")
        for kind, columns in self.grouped_errors().items():
            lines.append(f"  错误：{kind}")
            for column, rows in columns.items():
                if any(r is not None for r in rows) or column != "整个工作簿":
                    lines.append(f"    {column}：{_rows_text(rows)}")
        warnings = self.warnings
        for w in warnings[:20]:
            lines.append(f"  提示：{w.where + '：' if w.where else ''}{w.message}")
        if len(warnings) > 20:
            lines.append(f"  另有 {len(warnings) - 20} 条提示，见错误报告")
        if self.report:
            lines.append(f"  错误报告：{self.report}")
        return "\n".join(lines)


_QUOTED = re.compile(r"“[^”]*”")


def _rows_text(rows: list[int | None]) -> str:
    rows = sorted({r for r in rows if r is not None})
    if not rows:
        return "整张表"
    parts, start, prev = [], rows[0], rows[0]
    for r in rows[1:] + [None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if r is not None:
            start = prev = r
    shown = "、".join(parts[:15]) + (f" 等共{len(rows)}行" if len(parts) > 15 else "")
    return f"第{shown}行"

