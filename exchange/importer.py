"""County import: read → validate every cell → plan (create / update / unchanged) → commit all or nothing.

``plan_workbook`` does everything except writing and is the dry run.
``import_workbook`` commits a clean plan through ``Repository.bulk_write`` (one transaction
through the one decision and executor, change log included; a row exported before its record
changed is a conflict, decided by ``storage.decision``).  ``import_files`` runs a batch of
workbooks with progress and cancel; one bad workbook does not stop the others.  All of it is
Qt-free: the CLI and the desktop page share it.  Beside it: ``exchange.header`` finds a sheet's
header, ``exchange.matching`` how a row finds its record, ``exchange.import_result`` what an
import reports.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import select

from exchange.layout import (TEMPLATE_VERSION, MAX_CELL_CHARS, META_SHEET, CHOICES_SHEET,
                             INSTRUCTIONS_SHEET, Column, columns_for, match_sheet,
                             normalize_label, column_letter, sheet_types, SEQ_HEADER)
from exchange.header import FOOTER_WORDS, HEADER_SEARCH_ROWS, find_header, is_year_sheet
from exchange.import_result import CellIssue, ImportConflict, ImportResult, TypeCounts
from exchange.matching import comparable, content_key, is_canonical_uuid, within_scope
from exchange.reader import RawWorkbook, SheetInfo, WorkbookError, cell_ref
from storage.models import new_id, table_for
from storage.conflicts import ORIGIN_IMPORT, keep_both
from storage.decision import CONFLICT, Context, Proposal, decide
from storage.gc_pause import collection_paused
from storage.repository import Repository, WriteOp, WriteRefused, payload_of
from storage.schema import RECORD_TYPES, Field, RecordType
from storage.validation import Issue, ValidationError, coerce, county_of, mask, validate_record

NUMBER_AS_TEXT_HELP = ("（在 Excel/WPS 中选中整列 → 右键“设置单元格格式” → 选择“文本”，"
                       "然后逐个重新输入号码；不要从数字格式的单元格复制）")


class Cancelled(Exception):
    """The user cancelled; nothing of the current workbook was written."""


# --------------------------------------------------------------------------- progress / cancel


@dataclass
class Progress:
    file_index: int  # 0-based
    file_count: int
    path: Path
    stage: str  # 读取 / 校验 / 写入 / 完成
    rows: int = 0


ProgressFn = Callable[[Progress], None]


def _cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return cancel.is_set()
    return bool(cancel())


# --------------------------------------------------------------------------- planning


@dataclass
class _Row:
    excel_row: int
    values: dict
    record_id: str | None = None
    op: str | None = None  # insert | update | None (unchanged)
    cols: dict = field(default_factory=dict)  # field name → column index (for issues)


@dataclass
class Plan:
    result: ImportResult
    ops: list[WriteOp] = field(default_factory=list)


class _Planner:
    def __init__(self, repo: Repository, path: Path, scope: str | None, progress: ProgressFn | None,
                 cancel, file_index: int = 0, file_count: int = 1):
        self.repo = repo
        self.path = path
        self.scope = scope
        self.progress = progress
        self.cancel = cancel
        self.file_index, self.file_count = file_index, file_count
        self.result = ImportResult(path)
        self.choices = repo.choices()
        self._memo: dict[tuple, dict] = {}  # per column: cell value → coerce() result
        self.ops: list[WriteOp] = []
        self.conflicts: list[ImportConflict] = []
        # record type → id → {name, id_number, org_code}: parents for child rows, from DB and workbook
        self.parents: dict[str, dict[str, dict]] = {}
        self._by_name: dict[str, dict] = {}
        self._by_idno: dict[str, dict] = {}
        self._loaded: dict[str, set] = {}
        self.known_orgs: set[str] | None = None
        self._unknown_orgs: set[str] = set()
        self.rows_done = 0
        self.period: tuple[str, dt.date, dt.date] | None = None  # the workbook's 填报期, if it names one

    # ------------------------------------------------------------------ helpers

    def issue(self, sheet: str, row: int | None, col: int | None, column: str, value: Any, message: str,
              severity: str = "error", field_type: str = "text") -> None:
        self.result.issues.append(CellIssue(sheet, row, col, column, _shown(value, field_type), message, severity))

    def tick(self, stage: str) -> None:
        if _cancelled(self.cancel):
            raise Cancelled()
        if self.progress:
            self.progress(Progress(self.file_index, self.file_count, self.path, stage, self.rows_done))

    # ------------------------------------------------------------------ workbook

    def run(self) -> Plan:
        started = time.perf_counter()
        try:
            with RawWorkbook(self.path) as wb:
                self._workbook(wb)
        except WorkbookError as exc:
            self.issue("", None, None, "", "", str(exc))
        self.result.seconds = time.perf_counter() - started
        if not self.result.errors and not self.ops and not self.result.total("unchanged") and not self.conflicts:
            self.issue("", None, None, "", "", "工作簿中没有数据行（各表表头下方都是空的），没有可导入的内容。"
                       "请填写后再报送")
        if self.result.errors:
            self.result.status = "rejected"
            self.ops = []
            self.conflicts = []
        self.result.conflicts = self.conflicts
        return Plan(self.result, self.ops)

    def _workbook(self, wb: RawWorkbook) -> None:
        self.tick("读取")
        meta = wb.metadata()
        org = (meta.get("org_code") or "").strip() or None
        version = meta.get("template_version")
        if version and version.isdigit() and int(version) > int(TEMPLATE_VERSION):
            self.issue("", None, None, "", "", f"本工作簿由更新版本的台账程序生成（模板版本{version}），"
                       "本程序无法可靠读取。请升级社区服务台账后再导入")
            return
        sheets: dict[str, SheetInfo] = {}
        year_sheets: dict[str, list[SheetInfo]] = {}  # 服务记录（2024年）, 服务记录（2025年）: one type
        for info in wb.sheets:
            if info.name in (META_SHEET, CHOICES_SHEET, INSTRUCTIONS_SHEET):
                continue
            rt = match_sheet(info.name)
            if rt is None:
                if info.visible:
                    self.issue(info.name, None, None, "", "", "不是台账工作表（名称与任何记录类型都不符），已忽略",
                               "warning")
                continue
            if is_year_sheet(info.name, rt) and (rt.name not in sheets or rt.name in year_sheets):
                year_sheets.setdefault(rt.name, []).append(info)
                sheets.setdefault(rt.name, info)
                continue
            if rt.name in sheets:
                self.issue(info.name, None, None, "", "",
                           f"与工作表“{sheets[rt.name].name}”都是“{rt.label}”，请合并为一张表后再导入")
                continue
            sheets[rt.name] = info
        if not sheets:
            labels = "、".join(rt.label for rt in sheet_types())
            self.issue("", None, None, "", "", f"工作簿中没有可导入的工作表。工作表名称应为：{labels}。"
                       "请使用县里下发的台账模板填写")
            return
        if meta.get("sheets"):
            for name in meta["sheets"].split(","):
                if name in RECORD_TYPES and name not in sheets:
                    self.issue("", None, None, "", "",
                               f"缺少工作表“{RECORD_TYPES[name].label}”：本工作簿由台账模板生成，"
                               "请勿删除或重命名工作表。请用原模板重新填写，或把该表从原模板复制回来")
        ordered = [(rt, info) for rt in sheet_types() if rt.name in sheets
                   for info in year_sheets.get(rt.name, [sheets[rt.name]])]
        wb.read_ahead([info for _, info in ordered])  # sheet N+1 loads on the side while N is checked
        self.result.org_code = org
        self.period = None
        if re.fullmatch(r"\d{4}-\d{2}", meta.get("period") or ""):
            from exchange.export import period_bounds

            self.period = (meta["period"], *period_bounds(meta["period"]))
        if org is not None:
            # our templates and exports name the org in their metadata: check each sheet as it arrives
            self._check_scope(org, meta)
            if self.result.errors:
                return
            header_failed = False
            for rt, info in ordered:
                before = len(self.result.errors)
                wb.scan(info)
                parsed = self._read_sheet(wb, info, rt)
                header_failed = header_failed or parsed is None or len(self.result.errors) > before
                if not header_failed:  # a broken header anywhere: report headers only, as below
                    self._plan_sheet(rt, info, parsed, org)
                    self.tick("校验")
            return
        # hand-made workbooks may carry the org code in a title line of any sheet (填报单位：… 区划代码：…)
        parsed_sheets = []
        for rt, info in ordered:
            wb.scan(info)
            parsed = self._read_sheet(wb, info, rt)
            if parsed is None:
                continue
            parsed_sheets.append((rt, info, parsed))
            if org is None:
                org = parsed["title_org"]
        self.result.org_code = org
        if self.result.errors:
            return
        self._check_scope(org, meta)
        if self.result.errors:
            return
        for rt, info, parsed in parsed_sheets:
            self._plan_sheet(rt, info, parsed, org)
            self.tick("校验")

    # ------------------------------------------------------------------ scope

    def _check_scope(self, org: str | None, meta: dict) -> None:
        if org is None:
            return
        if self.scope and not within_scope(org, self.scope):
            whose = f"{meta['org_name']}（区划代码{org}）" if meta.get("org_name") else f"区划代码{org}的单位"
            self.issue("", None, None, "", "",
                       f"本工作簿属于{whose}，不在本单位（区划代码{self.scope}）的管辖范围内，"
                       "已拒绝导入。请确认文件来源，或交由其所属县(乡镇)导入")

    def _org_registry(self) -> set[str]:
        if self.known_orgs is None:
            rows = self.repo.list("org_unit")
            self.known_orgs = {r["org_code"] for r in rows}
        return self.known_orgs

    # ------------------------------------------------------------------ one sheet: header and rows

    def _read_sheet(self, wb: RawWorkbook, info: SheetInfo, rt: RecordType) -> dict | None:
        sheet = wb.rows(info)
        merges = wb.merged_ranges(info)
        rows_iter = sheet.iter_rows()
        head: list[list] = []
        for row in rows_iter:
            head.append(row)
            if len(head) >= HEADER_SEARCH_ROWS:
                break
        found = find_header(head, rt, merges)
        if found is None:
            required = "、".join(f"“{c.label}”" for c in columns_for(rt) if c.required)
            self.issue(info.name, None, None, "", "",
                       f"找不到表头行：前{HEADER_SEARCH_ROWS}行中没有{required}等列名。"
                       "请保留模板的表头行，不要修改表头文字")
            return None
        header_end, mapping, unknown = found  # header_end: 0-based index of the last header row
        title_org = None
        for row in head[:header_end]:
            for v in row:
                m = re.search(r"区划代码\s*[:：]\s*(\d{12})", str(v or ""))
                if m:
                    title_org = m.group(1)
        for col, text in unknown:
            if normalize_label(text) == SEQ_HEADER:  # our running number column, for paper only
                continue
            self.issue(info.name, header_end + 1, col, str(text), "",
                       f"列“{text}”不是“{rt.label}”的字段，已忽略", "warning")
        seen: dict[str, int] = {}
        for col, column in sorted(mapping.items()):
            if column.key in seen:
                self.issue(info.name, header_end + 1, col, column.label, "",
                           f"表头“{column.label}”出现了两次（{column_letter(seen[column.key])}列和"
                           f"{column_letter(col)}列），请删除其中一列")
            seen[column.key] = col
        present = {c.key for c in mapping.values()}
        for c in columns_for(rt):
            if c.required and c.key not in present:
                self.issue(info.name, header_end + 1, None, c.label, "",
                           f"缺少必填列“{c.label}”。请使用县里下发的模板，或在表头行补上这一列后再导入")
        if info.unlocated:
            self.issue(info.name, None, None, "", "", f"含有{info.unlocated[0]}单元格，"
                       "请把公式结果“选择性粘贴为数值”、改正错误值后重新导入")
        data_merges = [m for m in merges if m[2] > header_end]
        for r0, c0, r1, c1 in data_merges:
            if r0 <= header_end:
                continue
            self.issue(info.name, r0 + 1, c0, "", "",
                       f"数据区有合并单元格（{cell_ref(r0, c0)}:{cell_ref(r1, c1)}），合并后只有第一个单元格有值。"
                       "请取消合并，在每一行都填写完整后重新导入")
        return {"head": head, "rows": rows_iter, "header_end": header_end, "mapping": mapping,
                "title_org": title_org}

    def _plan_sheet(self, rt: RecordType, info: SheetInfo, parsed: dict, org: str | None) -> None:
        counts = self.result.counts.setdefault(rt.name, TypeCounts())
        mapping: dict[int, Column] = parsed["mapping"]
        header_end = parsed["header_end"]
        cols = sorted(mapping.items())
        has_org_col = any(c.kind == "org" for _, c in cols)
        if org is None and not has_org_col:
            self.issue(info.name, None, None, "", "",
                       "无法确定本表属于哪个村(社区)：工作簿中没有区划代码。请使用本村的填报模板"
                       "（标题下一行写有区划代码），或在表中增加“区划代码”列")
            return
        flagged = {pos: ("formula", text) for pos, text in info.formulas.items()}
        flagged.update({pos: ("error", text) for pos, text in info.errors.items()})
        specs = []
        col_of: dict[str, int] = {}
        for c, column in cols:
            key = "org_code" if column.kind == "org" else column.key
            memo = self._memo.setdefault((rt.name, column.key), {})
            specs.append((c, column, key, column.field, memo, column.kind in ("ref_id", "record_id")))
            col_of[key] = c
        sheet_name = info.name
        data_start = header_end + 1
        rows: list[_Row] = []

        def all_rows():
            for i, row in enumerate(parsed["head"][data_start:], start=data_start):
                yield i, row
            for i, row in enumerate(parsed["rows"], start=len(parsed["head"])):
                yield i, row

        error_rows = 0
        for r0, row in all_rows():
            first = row[0] if row and row[0] is not None and row[0] != "" else \
                next((v for v in row if v is not None and v != ""), None)
            if first is None and not (flagged and any((r0, c) in flagged for c, _ in cols)):
                continue
            if first.__class__ is str and first.lstrip().startswith(FOOTER_WORDS):
                self.issue(sheet_name, r0 + 1, None, "", "", f"“{first.strip()[:20]}”行不是数据行，已跳过",
                           "warning")
                continue
            raw_values = self._row_values(sheet_name, r0, row, specs, flagged)
            if raw_values is None:
                error_rows += 1
                continue
            if not has_org_col or not raw_values.get("org_code"):
                raw_values["org_code"] = org
            rows.append(_Row(r0 + 1, raw_values, cols=col_of))
            self.rows_done += 1
            if self.rows_done % 2000 == 0:
                self.tick("读取")
        self.result.rows_read += len(rows)
        self._resolve_and_match(rt, sheet_name, rows, counts, mapping)
        counts.rejected += error_rows

    def _row_values(self, sheet_name, r0, row, specs, flagged):
        """One row's cells → coerced values by column key, or None when a cell is in error."""
        values: dict = {}
        ok = True
        width = len(row)
        for c, column, key, f, memo, is_id in specs:
            v = row[c] if c < width else None
            if flagged and (r0, c) in flagged:
                self._flagged_cell(sheet_name, r0, c, column, flagged[(r0, c)])
                ok = False
                continue
            if v is None or v == "":
                values[key] = None
                continue
            tv = type(v)
            if is_id and tv is str and is_canonical_uuid(v):
                values[key] = v  # the hidden ids our exports write; each is unique, so not memoised
                continue
            mkey = v if tv is str else (tv, v)
            hit = memo.get(mkey)
            if hit is None:
                if tv is str and len(v) >= MAX_CELL_CHARS:
                    # calamine cuts longer strings at Excel's limit, so reaching it means "too long"
                    self.issue(sheet_name, r0 + 1, c, column.label, v[:30],
                               f"{column.label}：单元格内容达到或超过 Excel 单元格上限{MAX_CELL_CHARS}个字符，"
                               "不是正常填写的内容（可能是误粘贴），请删除后重新填写")
                    ok = False
                    continue
                raw = _cell_to_raw(column, v)
                if is_id:
                    try:
                        hit = (str(uuid.UUID(str(raw).strip())), None)
                    except ValueError:
                        hit = (None, Issue(key, f"{column.label}：隐藏的系统编号被改动，已不是有效编号。"
                                                "请勿修改该列；新增的行请保持该列为空"))
                else:
                    hit = coerce(f, raw, self.choices)
                if len(memo) > 50_000:
                    memo.clear()
                memo[mkey] = hit
            value, issue = hit
            if issue is not None:
                message = issue.message
                if column.kind == "ref_key":
                    message = f"{column.label}：" + message.split("：", 1)[-1]
                if "数字格式" in message:
                    message += NUMBER_AS_TEXT_HELP
                self.issue(sheet_name, r0 + 1, c, column.label, v, message,
                           "error" if issue.is_error else "warning", f.type)
                if issue.is_error:
                    ok = False
                    continue
            values[key] = list(value) if value.__class__ is list else value
        return values if ok else None

    def _flagged_cell(self, sheet_name, r0, c, column, flag) -> None:
        kind, text = flag
        if kind == "error":
            self.issue(sheet_name, r0 + 1, c, column.label, text,
                       f"{column.label}：单元格是错误值 {text}（公式出错或引用已失效），"
                       "请改为正确的数值或文字后重新导入")
        else:
            self.issue(sheet_name, r0 + 1, c, column.label, "=" + text,
                       f"{column.label}：单元格含有公式（={text[:40]}），导入只接受填写的值。"
                       "请复制该列后“选择性粘贴为数值”再导入")

    # ------------------------------------------------------------------ refs, matching, ops

    def _resolve_and_match(self, rt: RecordType, sheet_name: str, rows: list[_Row], counts: TypeCounts,
                           mapping: dict[int, Column]) -> None:
        orgs = {r.values.get("org_code") for r in rows if r.values.get("org_code")}
        registry = None
        for o in sorted(orgs):
            if self.scope and not within_scope(o, self.scope):
                bad = [r.excel_row for r in rows if r.values.get("org_code") == o]
                self.issue(sheet_name, bad[0], None, "区划代码", o,
                           f"区划代码{o}不在本单位（{self.scope}）的管辖范围内，已拒绝导入（共{len(bad)}行）")
                return
            registry = self._org_registry() if registry is None else registry
            if registry and o not in registry and any(within_scope(k, county_of(o)) for k in registry):
                if o not in self._unknown_orgs:  # said once per workbook, not once per sheet
                    self._unknown_orgs.add(o)
                    self.issue("", None, None, "区划代码", o,
                               f"区划代码{o}不在本县的组织机构名录中。请先在组织机构中添加该村(社区)"
                               "（taizhang-server admin load-orgs），或核对工作簿的区划代码")
                return
        existing: dict[str, dict] = {}
        deleted: set[str] = set()
        for o in orgs:
            for rec in self.repo.list(rt.name, org_code=o):
                existing[rec["id"]] = rec
            for rec in self.repo.list(rt.name, org_code=o, deleted=True):
                deleted.add(rec["id"])
        # hidden record ids that are not this unit's: taken by another unit's record (live or deleted)?
        # One query per 500 ids — a village's export imported at the county carries 100,000 of them.
        elsewhere = self._ids_stored(rt.name, {r.values["#"] for r in rows if r.values.get("#")}
                                     - existing.keys() - deleted)
        present_fields = [f for f in rt.fields
                          if f.name == "org_code" or f.name in {c.key for c in mapping.values()}
                          or (f.type == "ref" and any(c.ref_field is f for c in mapping.values()))]
        ref_fields = [f for f in rt.fields if f.type == "ref" and any(c.ref_field is f for c in mapping.values())]
        keysets = rt.natural_keys
        key_index: list[dict] = []
        for keys in keysets:
            idx = {}
            for rec in existing.values():
                k = tuple(comparable(rec.get(n)) for n in keys)
                if all(x is not None for x in k):
                    idx.setdefault(k, rec["id"])
            key_index.append(idx)
        content_index: dict[tuple, list[str]] | None = None  # built when a row first needs it
        seen_ids: dict[str, int] = {}
        seen_keys: list[dict] = [{} for _ in keysets]
        is_parent = rt.name in self.parent_types
        if is_parent:
            self._ensure_pool(rt.name, orgs)
        names = [f.name for f in present_fields]
        period_check = bool(self.period and rt.date_field and rt.date_field in names)
        ref_names = [f.name for f in ref_fields]
        for row in rows:
            v = row.values
            bad = False
            # parents (training → staff, hours → volunteer, volunteer → team)
            for f in ref_fields:
                rid, message = self._resolve_ref(rt, f, v)
                if message:
                    col = row.cols.get(f"{f.name}:name", row.cols.get(f"{f.name}:#"))
                    self.issue(sheet_name, row.excel_row, col, _ref_label(f), v.get(f"{f.name}:name"), message)
                    bad = True
                v[f.name] = rid
            # the record: hidden UUID, then natural key, then (for keyless types) identical content
            record_id = v.get("#")
            values = {n: v.get(n) for n in names}
            # the record checked and 性别/出生日期 derived from the ID number, as a form save does
            valid, issues = (None, []) if bad else validate_record(rt, values, self.choices)
            for issue in issues:
                if issue.is_error:
                    col = row.cols.get(issue.field)
                    label = rt.field(issue.field).label if issue.field in rt.field_names else ""
                    if col is None and issue.field in ref_names:
                        col = row.cols.get(f"{issue.field}:name")
                        label = _ref_label(rt.field(issue.field))
                    self.issue(sheet_name, row.excel_row, col, label, values.get(issue.field), issue.message,
                               field_type=rt.field(issue.field).type if issue.field in rt.field_names else "text")
                    bad = True
            if bad:
                counts.rejected += 1
                continue
            values = valid
            if period_check:
                day = values.get(rt.date_field)
                if day is not None and not self.period[1] <= day < self.period[2]:
                    self.issue(sheet_name, row.excel_row, row.cols.get(rt.date_field), rt.field(rt.date_field).label,
                               day, f"日期{day.isoformat()}不在本表的填报期{self.period[0]}内，仍将导入，请核对",
                               "warning")
            match_id = None
            if record_id:
                if record_id in deleted:
                    self.issue(sheet_name, row.excel_row, None, "记录编号", "",
                               f"这条{rt.record_noun}已在本系统中删除。如需恢复，请先在“最近删除”中恢复后再导入；"
                               "如是新记录，请清空该行隐藏的“记录编号”列")
                    counts.rejected += 1
                    continue
                if record_id in existing or record_id not in elsewhere:
                    match_id = record_id
                else:
                    self.issue(sheet_name, row.excel_row, None, "记录编号", "",
                               "隐藏的记录编号属于另一个单位的记录，可能是从别村的表格复制过来的。"
                               "请清空该行隐藏的“记录编号”列后重新导入")
                    counts.rejected += 1
                    continue
            dup_of = None
            for i, keys in enumerate(keysets):
                k = tuple(comparable(values.get(n)) for n in keys)
                if any(x is None for x in k):
                    continue
                if k in seen_keys[i]:
                    dup_of = (seen_keys[i][k], keys)
                    break
                seen_keys[i][k] = row.excel_row
                if match_id is None:
                    match_id = key_index[i].get(k)
                break
            if dup_of:
                what = "、".join(_label_of(rt, n) for n in dup_of[1] if n != "org_code")
                self.issue(sheet_name, row.excel_row, row.cols.get(dup_of[1][-1]), _label_of(rt, dup_of[1][-1]),
                           values.get(dup_of[1][-1]),
                           f"与第{dup_of[0]}行重复（{what}相同），同一条记录只能填一行，请删除或合并重复行"
                           + ("；如果是同名的不同人员，请填写公民身份号码以区分"
                              if "id_number" in rt.field_names and "id_number" not in dup_of[1] else ""),
                           field_type=rt.field(dup_of[1][-1]).type)
                counts.rejected += 1
                continue
            if match_id is None and not keysets and existing:
                if content_index is None:  # keyless records match by identical content
                    content_index = defaultdict(list)
                    for rec in existing.values():
                        content_index[content_key(rt, rec, present_fields)].append(rec["id"])
                ids = content_index.get(content_key(rt, values, present_fields))
                if ids:
                    match_id = ids.pop()
            if match_id is not None and match_id in seen_ids:
                self.issue(sheet_name, row.excel_row, None, "记录编号", "",
                           f"与第{seen_ids[match_id]}行是同一条记录（隐藏的记录编号相同），请删除重复的行")
                counts.rejected += 1
                continue
            old = existing.get(match_id) if match_id else None
            if old is not None:
                if old.get("org_code") != values.get("org_code"):
                    self.issue(sheet_name, row.excel_row, None, "区划代码", values.get("org_code"),
                               f"这条{rt.record_noun}属于区划代码{old.get('org_code')}，不能改到另一个单位")
                    counts.rejected += 1
                    continue
                changed = [n for n, val in values.items()
                           if (was := old.get(n)) != val and comparable(was) != comparable(val)]  # equal → same _cmp
                row_version = v.get("#version")
                if changed and match_id == record_id and row_version is not None and decide(
                        Proposal(rt.name, match_id, "update", values, base_version=row_version), old, None,
                        Context()).kind == CONFLICT:
                    # exported before the record changed: the newer stored value wins until a person chooses
                    self._conflict(rt, sheet_name, row, match_id, values, old, changed, row_version)
                    counts.conflict += 1
                    seen_ids[match_id] = row.excel_row
                    continue
                if changed:
                    # written only onto the version planned against (the executor decides again)
                    self.ops.append(WriteOp(rt.name, "update", values, match_id, expected_version=old["version"]))
                    counts.update += 1
                else:
                    counts.unchanged += 1
                row.record_id = match_id
            else:
                row.record_id = match_id or new_id()
                self.ops.append(WriteOp(rt.name, "insert", values, row.record_id))
                counts.create += 1
            seen_ids[row.record_id] = row.excel_row
            if is_parent:
                self._add_parent(rt.name, row.record_id, values)

    parent_types = {f.ref for rt in RECORD_TYPES.values() for f in rt.fields if f.type == "ref"}

    def _conflict(self, rt: RecordType, sheet_name: str, row: _Row, record_id: str, values: dict, old: dict,
                  changed: list[str], row_version: int) -> None:
        stored = dict(payload_of(rt, old), deleted=bool(old["deleted"]))
        workbook = dict(payload_of(rt, {**old, **values}), deleted=False)
        differences = [(_label_of(rt, n), _shown(values.get(n), rt.field(n).type), _shown(old.get(n), rt.field(n).type))
                       for n in changed]
        self.conflicts.append(ImportConflict(sheet_name, row.excel_row, rt.name, record_id, old["org_code"],
                                             row_version, old["version"], differences, workbook, stored))

    def _ids_stored(self, type_name: str, ids: set[str]) -> set[str]:
        """Which of these record ids exist in the database at all (any unit, deleted or not)."""
        if not ids:
            return set()
        table = table_for(type_name)
        wanted = sorted(ids)
        found: set[str] = set()
        with self.repo.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                found.update(conn.execute(select(table.c.id).where(table.c.id.in_(wanted[i:i + 500]))).scalars())
        return found

    def _ensure_pool(self, type_name: str, orgs: Iterable[str | None]) -> None:
        """Parents known so far: records already stored for these orgs (loaded once per org)."""
        if type_name not in self.parent_types:
            return
        self.parents.setdefault(type_name, {})
        loaded = self._loaded.setdefault(type_name, set())
        for org in orgs:
            if org and org not in loaded:
                loaded.add(org)
                for rec in self.repo.list(type_name, org_code=org):
                    if rec["id"] not in self.parents[type_name]:
                        self._add_parent(type_name, rec["id"], rec)

    def _add_parent(self, type_name: str, record_id: str, values: dict) -> None:
        pool = self.parents.setdefault(type_name, {})
        by_name = self._by_name.setdefault(type_name, defaultdict(set))
        by_idno = self._by_idno.setdefault(type_name, defaultdict(set))
        old = pool.get(record_id)
        if old is not None:
            by_name[(old["org_code"], old["name"])].discard(record_id)
            by_idno[(old["org_code"], old["id_number"])].discard(record_id)
        info = {"name": values.get("name"), "id_number": values.get("id_number"), "org_code": values.get("org_code")}
        pool[record_id] = info
        by_name[(info["org_code"], info["name"])].add(record_id)
        if info["id_number"]:
            by_idno[(info["org_code"], info["id_number"])].add(record_id)

    def _resolve_ref(self, rt: RecordType, f: Field, v: dict) -> tuple[str | None, str | None]:
        target = RECORD_TYPES[f.ref]
        org = v.get("org_code")
        self._ensure_pool(target.name, [org])
        pool = self.parents[target.name]
        hidden = v.get(f"{f.name}:#")
        name = v.get(f"{f.name}:name")
        idno = v.get(f"{f.name}:id_number")
        if hidden and hidden in pool and pool[hidden]["org_code"] == org:
            return hidden, None
        if not name and not idno:
            return None, None  # required check reports it when the ref is required
        if idno:
            hits = sorted(self._by_idno.get(target.name, {}).get((org, idno), ()))
            if not hits:
                return None, (f"{_ref_label(f)}：找不到公民身份号码为{mask('id_number', idno)}的{target.label}。"
                              f"请先在“{target.label}”表中登记该人员，或核对号码")
            if name and pool[hits[0]]["name"] != name:
                return None, (f"{_ref_label(f)}：姓名“{name}”与公民身份号码对应的{target.label}"
                              f"“{pool[hits[0]]['name']}”不一致，请核对")
            return hits[0], None
        hits = sorted(self._by_name.get(target.name, {}).get((org, name), ()))
        if not hits:
            return None, (f"{_ref_label(f)}：找不到名为“{name}”的{target.label}。"
                          f"请先在“{target.label}”表中登记，或核对名称")
        if len(hits) > 1:
            return None, (f"{_ref_label(f)}：有{len(hits)}个{target.label}都叫“{name}”，"
                          f"请同时填写“{f.label}公民身份号码”以区分")
        return hits[0], None


def _ref_label(f: Field) -> str:
    target = RECORD_TYPES[f.ref]
    from exchange.layout import ref_key_fields

    keys = ref_key_fields(target)
    return f.label if len(keys) == 1 else f"{f.label}{keys[0].label}"


def _label_of(rt: RecordType, name: str) -> str:
    f = rt.field(name)
    return _ref_label(f) if f.type == "ref" else f.label


def _shown(value, field_type: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and field_type in ("id_number", "phone", "credit_code", "org_code"):
        return f"{value:.5E}" if abs(value) >= 1e11 else f"{value:.0f}"[:3] + "…"  # as Excel shows it
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
    if field_type in ("id_number", "phone"):
        return mask(field_type, text)
    return text if len(text) <= 60 else text[:57] + "…"


def _cell_to_raw(column: Column, v):
    """What calamine returns → what ``coerce`` expects for this column."""
    t = column.field.type
    if isinstance(v, float):
        if t in ("id_number", "phone", "credit_code", "org_code"):
            return v  # coerce refuses numbers for codes: digits may already be lost
        if column.is_text:
            return str(int(v)) if v.is_integer() else repr(v)
        return v
    if isinstance(v, (dt.datetime, dt.date)):
        if t == "date":
            return v
        if column.is_text:
            return (v.date() if isinstance(v, dt.datetime) else v).isoformat()
        return v
    if isinstance(v, bool):
        return v if t == "bool" else ("是" if v else "否")
    if isinstance(v, (dt.time, dt.timedelta)):
        return str(v)
    return v


# --------------------------------------------------------------------------- public API


def plan_workbook(repo: Repository, path: str | Path, *, scope: str | None = None,
                  progress: ProgressFn | None = None, cancel=None,
                  file_index: int = 0, file_count: int = 1) -> Plan:
    """Read and check a workbook; the plan's result is the dry-run summary. Writes nothing.

    Automatic cycle collection is paused meanwhile, as for a write (``storage/gc_pause.py``): the
    workbook's rows stay alive while they are checked, and each collection would walk them all."""
    with collection_paused():
        return _Planner(repo, Path(path), scope, progress, cancel, file_index, file_count).run()


def import_workbook(repo: Repository, path: str | Path, *, scope: str | None = None, dry_run: bool = False,
                    progress: ProgressFn | None = None, cancel=None, file_index: int = 0,
                    file_count: int = 1) -> ImportResult:
    """Plan, then (unless dry run) commit the whole workbook in one transaction, or nothing."""
    started = time.perf_counter()
    try:
        plan = plan_workbook(repo, path, scope=scope, progress=progress, cancel=cancel,
                             file_index=file_index, file_count=file_count)
    except Cancelled:
        result = ImportResult(Path(path), status="cancelled")
        result.seconds = time.perf_counter() - started
        return result
    result = plan.result
    if result.status in ("rejected", "nothing"):
        return result
    if dry_run:
        result.status = "would_import"
        return result
    total = len(plan.ops)

    def written(n: int) -> None:
        if progress:
            progress(Progress(file_index, file_count, Path(path), "写入", n))
        if _cancelled(cancel):
            raise Cancelled()  # raised inside bulk_write's transaction: everything rolls back

    write_started = time.perf_counter()
    try:
        if total:
            # every row's values are ``Valid``: validated once, while planning
            repo.bulk_write(plan.ops, progress=written)
        if result.conflicts:
            _keep_conflicts(repo, result.conflicts)
        result.status = "imported"
    except Cancelled:
        result.status = "cancelled"
    except (WriteRefused, ValidationError) as exc:
        result.status = "rejected"
        result.issues.append(CellIssue("", None, None, "", "", f"写入被拒绝，整个工作簿未导入：{exc}"))
    result.write_seconds = time.perf_counter() - write_started
    result.seconds = time.perf_counter() - started
    return result


def import_total_line(results: list[ImportResult], dry_run: bool) -> str:
    """The closing line of a batch: how many workbooks were (or would be) imported, had conflicts, were refused."""
    imported = sum(1 for r in results if r.status in ("imported", "would_import", "nothing"))
    rejected = sum(1 for r in results if r.status == "rejected")
    with_conflicts = sum(1 for r in results if r.conflicts)
    line = f"共 {len(results)} 个工作簿：{'可导入' if dry_run else '已导入'} {imported} 个，拒绝 {rejected} 个"
    if with_conflicts:
        line += f"，其中 {with_conflicts} 个有冲突（较旧的行未覆盖较新的记录）"
    return line


def _keep_conflicts(repo: Repository, conflicts: list[ImportConflict]) -> None:
    """Each stale row beside its record in the conflict list, where sync conflicts are resolved too."""
    with repo.engine.begin() as conn:
        for c in conflicts:
            keep_both(conn, record_type=c.record_type, record_id=c.record_id, org_code=c.org_code,
                      change_id=new_id(), other=c.workbook, current=c.stored, current_version=c.stored_version,
                      origin=ORIGIN_IMPORT)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders become their .xlsx files (Office lock files ~$… skipped)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir()
                              if q.suffix.lower() in (".xlsx", ".xlsm") and not q.name.startswith("~$")))
        else:
            out.append(p)
    return out


def import_files(repo: Repository, paths: Iterable[str | Path], *, scope: str | None = None,
                 dry_run: bool = False, report_dir: str | Path | None = None,
                 progress: ProgressFn | None = None, cancel=None,
                 on_result: Callable[[ImportResult], None] | None = None) -> list[ImportResult]:
    """Import many workbooks, each all-or-nothing; errors in one never stop the others."""
    from exchange.report import write_error_report

    files = expand_paths(paths)
    results: list[ImportResult] = []
    for i, path in enumerate(files):
        # a workbook not yet started when 取消 came is reported as cancelled too, so the caller's
        # summary says 已取消 however early the user pressed it
        if _cancelled(cancel):
            result = ImportResult(path, status="cancelled")
        else:
            try:
                result = import_workbook(repo, path, scope=scope, dry_run=dry_run, progress=progress,
                                         cancel=cancel, file_index=i, file_count=len(files))
            except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
                result = ImportResult(path, status="rejected")
                result.issues.append(CellIssue("", None, None, "", "",
                                               f"读取时出现意外错误（{type(exc).__name__}: {exc}），整个工作簿未导入"))
        if report_dir and result.errors:
            try:
                result.report = write_error_report(result, report_dir)
            except Exception as exc:  # noqa: BLE001
                result.issues.append(CellIssue("", None, None, "", "", f"错误报告未能生成：{exc}", "warning"))
        results.append(result)
        if on_result:
            on_result(result)
        if progress:
            progress(Progress(i, len(files), path, "完成", result.rows_read))
    return results
