"""A report template: the department's workbook plus a mapping sheet inside it.

The mapping lives in a hidden sheet named ``_taizhang_mapping`` so that the
template is one .xlsx file a county can mail to another county.  Its first rows
describe the report (报表名称, 报送周期, 说明); then a table, one row per mapped
cell or column::

    工作表 | 行        | 列                    | 统计项                    | 筛选                      | 期间
    表1    | 每村一行  | 综合服务设施>个数      | 服务设施·数量              | 类别=综合服务设施/党群服务中心；状态=在用 |
    表1    | 合计      | 综合服务设施>个数      | 服务设施·数量              | …                         |
    表1    | 填报单位： |                       | 填报单位                   |                           |

Cells are found by their labels, never by coordinates, so a template re-saved by
LibreOffice or WPS with rows inserted or columns moved still fills correctly:

- 行: the text of a cell in the target row (“合计”, “养老服务设施”), or “每村一行” / “每乡镇一行”
  for the row that the template marks with a cell reading 每村一行 / 每乡镇一行 (it becomes one
  row per village or township, in the marker row's format);
- 列: the text of the column's header; “上级表头>表头” picks a sub-header under a merged header
  (“综合服务设施>建筑面积”); empty: the value is appended to the 行 cell itself
  (“填报单位：” becomes “填报单位：山前乡”).

Labels are compared without spaces and with full- and half-width brackets alike.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from reports.fill.catalogue import Measure, filter_fields, find_measure, normalize_label
from storage.choices import DEFAULT_CHOICES
from storage.schema import record_type

MAPPING_SHEET = "_taizhang_mapping"
FILLED_SHEET = "_taizhang_cells"
CATALOGUE_SHEET = "_taizhang_catalogue"  # the drop-down list a prepared workbook offers
HEADERS = ("工作表", "行", "列", "统计项", "筛选", "期间")
PER_VILLAGE, PER_TOWNSHIP = "每村一行", "每乡镇一行"
PERIOD_KINDS = {"月报": "month", "季报": "quarter", "年报": "year"}
THIS_PERIOD, YEAR_TO_DATE = "本期", "本年累计"


class TemplateError(ValueError):
    """A template that cannot be used; the message (Chinese) names the file, sheet and cell."""


@dataclass(frozen=True)
class Filter:
    field: str
    label: str
    values: tuple


@dataclass
class Mapping:
    where: str  # "“表.xlsx”映射表第7行" — how messages name this row
    line: int  # its row in the mapping sheet
    sheet: str
    row: str
    column: str
    measure: Measure
    filters: tuple[Filter, ...] = ()
    span: str = THIS_PERIOD

    @property
    def per_unit(self) -> str | None:
        key = normalize_label(self.row)
        return key if key in (PER_VILLAGE, PER_TOWNSHIP) else None

    @property
    def filters_text(self) -> str:
        return "；".join(f"{f.label}={'、'.join(map(_value_text, f.values))}" for f in self.filters)


@dataclass
class Template:
    name: str
    period_kind: str  # month / quarter / year
    description: str
    mappings: list[Mapping]
    data: bytes  # the workbook as shared
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def period_label(self) -> str:
        return {v: k for k, v in PERIOD_KINDS.items()}[self.period_kind]

    def workbook(self) -> Workbook:
        return load_workbook(io.BytesIO(self.data))


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def load_template(path_or_bytes, *, choices: dict[str, list[str]] | None = None, source: str = "") -> Template:
    """Read and check a template; any unknown sheet, label, measure, field or value is refused."""
    if isinstance(path_or_bytes, (str, Path)):
        path = Path(path_or_bytes)
        source = source or path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise TemplateError(f"找不到模板文件“{path}”") from None
    else:
        data = bytes(path_or_bytes)
    try:
        wb = load_workbook(io.BytesIO(data))
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise TemplateError(f"“{source}”不是可读取的 Excel 工作簿（.xlsx），请用 Excel 或 WPS 另存为 .xlsx 后重试") from None
    template = parse_mapping(wb, choices or DEFAULT_CHOICES, source)
    template.data = data
    check_anchors(wb, template)
    return template


def parse_mapping(wb: Workbook, choices: dict[str, list[str]], source: str) -> Template:
    if MAPPING_SHEET not in wb.sheetnames:
        raise TemplateError(f"“{source}”中没有映射表（名为 {MAPPING_SHEET} 的工作表），"
                            "请先用 taizhang fill --prepare 为部门报表加上映射表")
    ws = wb[MAPPING_SHEET]
    meta: dict[str, str] = {}
    mappings: list[Mapping] = []
    header_row = None
    for row in ws.iter_rows():
        cells = [c for c in row[:len(HEADERS)]]
        texts = [("" if c.value is None else str(c.value).strip()) for c in cells]
        texts += [""] * (len(HEADERS) - len(texts))
        if header_row is None:
            if normalize_label(texts[0]) == HEADERS[0]:
                header_row = row[0].row
            elif texts[0]:
                meta[normalize_label(texts[0])] = texts[1]
            continue
        if not any(texts):
            continue
        mappings.append(_parse_row(row[0].row, texts, wb, choices, source))
    if header_row is None:
        raise TemplateError(f"“{source}”的映射表中没有表头行（第一格为“工作表”的一行）")
    name = meta.get("报表名称") or Path(source).stem
    kind_text = normalize_label(meta.get("报送周期", ""))
    if kind_text not in PERIOD_KINDS:
        raise TemplateError(f"“{source}”映射表：“报送周期”应填 月报、季报 或 年报，现为“{kind_text}”")
    if not mappings:
        raise TemplateError(f"“{source}”的映射表中没有任何映射行")
    return Template(name, PERIOD_KINDS[kind_text], meta.get("说明", ""), mappings, b"", source, meta)


def _parse_row(r: int, texts: list[str], wb: Workbook, choices, source: str) -> Mapping:
    sheet, row_label, col_label, measure_name, filters_text, span = texts[:6]
    where = f"“{source}”映射表第{r}行"
    sheet = sheet or _first_data_sheet(wb)
    if sheet not in wb.sheetnames or sheet.startswith("_taizhang"):
        raise TemplateError(f"{where}（单元格 A{r}）：工作簿中没有名为“{sheet}”的工作表")
    if not row_label:
        raise TemplateError(f"{where}（单元格 B{r}）：“行”不能为空，请填写目标行中的文字，或“每村一行”")
    measure = find_measure(measure_name)
    if measure is None:
        raise TemplateError(f"{where}（单元格 D{r}）：统计项“{measure_name}”不在统计项目录中，"
                            "请用 taizhang fill --catalogue 查看可选的统计项")
    if measure.kind == "text" and measure.name in ("名称", "区划代码", "序号") \
            and normalize_label(row_label) not in (PER_VILLAGE, PER_TOWNSHIP):
        raise TemplateError(f"{where}（单元格 D{r}）：统计项“{measure.name}”只能用于“每村一行”或“每乡镇一行”")
    filters = _parse_filters(filters_text, measure, f"{where}（单元格 E{r}）", choices)
    span = normalize_label(span) or THIS_PERIOD
    if span not in (THIS_PERIOD, YEAR_TO_DATE):
        raise TemplateError(f"{where}（单元格 F{r}）：期间应为“本期”或“本年累计”，现为“{span}”")
    return Mapping(where, r, sheet, row_label, col_label, measure, filters, span)


def _first_data_sheet(wb: Workbook) -> str:
    return next(n for n in wb.sheetnames if not n.startswith("_taizhang"))


def _parse_filters(text: str, measure: Measure, where: str, choices) -> tuple[Filter, ...]:
    text = (text or "").strip()
    if not text:
        return ()
    if measure.kind not in ("count", "sum"):
        raise TemplateError(f"{where}：统计项“{measure.name}”不能加筛选条件")
    rt = record_type(measure.record_type)
    by_label = {normalize_label(f.label): f for f in filter_fields(rt)}
    by_label.update({f.name: f for f in filter_fields(rt)})
    out = []
    for part in text.replace(";", "；").split("；"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise TemplateError(f"{where}：筛选条件“{part}”应写成 字段=值，例如 类别=养老服务设施")
        label, _, values = part.partition("=")
        f = by_label.get(normalize_label(label))
        if f is None:
            names = "、".join(x.label for x in filter_fields(rt))
            raise TemplateError(f"{where}：“{rt.label}”没有可筛选的字段“{label.strip()}”；可用字段：{names}")
        parsed = tuple(_parse_value(f, v.strip(), where, choices) for v in values.split("、") if v.strip())
        if not parsed:
            raise TemplateError(f"{where}：筛选字段“{f.label}”后没有给出值")
        out.append(Filter(f.name, f.label, parsed))
    return tuple(out)


def _parse_value(f, text: str, where: str, choices):
    if f.type in ("choice", "multichoice"):
        allowed = choices.get(f.choices, [])
        if text not in allowed:
            raise TemplateError(f"{where}：字段“{f.label}”没有选项“{text}”；可选：{'、'.join(allowed)}")
        return text
    if f.type == "bool":
        if text not in ("是", "否"):
            raise TemplateError(f"{where}：字段“{f.label}”的值应为“是”或“否”，现为“{text}”")
        return text == "是"
    if f.type in ("int", "year"):
        try:
            return int(text)
        except ValueError:
            raise TemplateError(f"{where}：字段“{f.label}”的值应为整数，现为“{text}”") from None
    if f.type == "org_code" and not (len(text) == 12 and text.isdigit()):
        raise TemplateError(f"{where}：字段“{f.label}”的值应为12位区划代码，现为“{text}”")
    return text


def landscape_fit_width(ws: Worksheet) -> None:
    """Print landscape, all columns on one page wide (as department forms are printed)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    from openpyxl.worksheet.properties import PageSetupProperties

    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True


# ---------------------------------------------------------------- anchors

def label_index(ws: Worksheet) -> dict[str, list[tuple[int, int]]]:
    """Normalized cell text → [(row, column)] of every non-empty text cell of the sheet."""
    out: dict[str, list[tuple[int, int]]] = {}
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str) and c.value.strip():
                out.setdefault(normalize_label(c.value), []).append((c.row, c.column))
    return out


def _merged_span(ws: Worksheet, r: int, c: int) -> tuple[int, int]:
    for mr in ws.merged_cells.ranges:
        if mr.min_row <= r <= mr.max_row and mr.min_col <= c <= mr.max_col:
            return mr.min_col, mr.max_col
    return c, c


def find_column(ws: Worksheet, labels: dict, text: str, where: str) -> int:
    parts = [normalize_label(p) for p in text.replace("＞", ">").split(">") if p.strip()]
    candidates = [(1, ws.max_row + 1, 1, ws.max_column)]  # (row from, row to, col from, col to)
    hits: list[tuple[int, int]] = []
    for depth, part in enumerate(parts):
        hits = [(r, c) for r, c in labels.get(part, [])
                if any(r0 <= r < r1 and c0 <= c <= c1 for r0, r1, c0, c1 in candidates)]
        if not hits:
            above = "”下的“".join(parts[:depth + 1])
            raise TemplateError(f"{where}：在工作表“{ws.title}”中找不到列标题“{above}”")
        candidates = []
        for r, c in hits:
            c0, c1 = _merged_span(ws, r, c)
            candidates.append((r + 1, ws.max_row + 1, c0, c1))
    columns = sorted({c for _, c in hits})
    if len(columns) > 1:
        cells = "、".join(f"{_col_letter(c)}{r}" for r, c in hits)
        raise TemplateError(f"{where}：列标题“{text}”在工作表“{ws.title}”中出现多处（{cells}），"
                            "请用“上级表头>表头”写明是哪一列")
    return columns[0]


def find_row(ws: Worksheet, labels: dict, text: str, where: str) -> tuple[int, int]:
    hits = labels.get(normalize_label(text), [])
    if not hits:
        raise TemplateError(f"{where}：在工作表“{ws.title}”中找不到写有“{text}”的单元格")
    rows = sorted({r for r, _ in hits})
    if len(rows) > 1:
        raise TemplateError(f"{where}：“{text}”在工作表“{ws.title}”中出现在多行（第{'、'.join(map(str, rows))}行），"
                            "请改用只出现一次的文字")
    return hits[0]


def _col_letter(c: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(c)


def check_anchors(wb: Workbook, template: Template) -> None:
    """Every mapping's row and column can be found (the same lookups filling uses)."""
    by_sheet: dict[str, dict] = {}
    for m in template.mappings:
        ws = wb[m.sheet]
        labels = by_sheet.setdefault(m.sheet, label_index(ws))
        where = f"{m.where}（单元格 B{m.line}、C{m.line}）"
        find_row(ws, labels, m.row, where)
        if m.column:
            find_column(ws, labels, m.column, where)
        elif m.per_unit:
            raise TemplateError(f"{where}：“{m.row}”的映射必须写明“列”")
