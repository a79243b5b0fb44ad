"""The catalogue of measures a report template may use, generated from the field schema.

A county clerk never writes a formula: every mapped cell names one entry of this
catalogue (``taizhang fill --catalogue`` prints it) and, optionally, filters on the
record type's fields ("类别=养老服务设施；状态=在用").  Adding a field to
``storage.schema`` adds its measures here without any other edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.indicators import INDICATORS
from storage.schema import RECORD_TYPES, Field, RecordType

COUNT_UNITS = {"facility": "个", "staff": "人", "volunteer": "人", "volunteer_team": "支", "social_org": "个",
               "training": "人次", "volunteer_hours": "条", "service": "条", "org_unit": "个", "org_year": "条"}
# Record types that are not ledger content (the month's own bookkeeping).
NOT_MEASURED = ("period",)
# Field types a filter can name; a value is checked against the field's choices or type.
FILTERABLE = ("choice", "multichoice", "bool", "text", "int", "year", "org_code")

# Text items: the unit, the period, the date and the row labels of per-unit rows.
UNIT_NAME, PERIOD_TEXT, FILL_DATE, FILLER, ROW_NAME, ROW_CODE, ROW_NUMBER = (
    "填报单位", "统计期间", "填报日期", "填报人", "名称", "区划代码", "序号")
TEXT_ITEMS = {
    UNIT_NAME: "填报的村(社区)、乡镇(街道)或县的名称",
    PERIOD_TEXT: "如“2024年第3季度”",
    FILL_DATE: "生成报表的日期，如“2024年10月5日”",
    FILLER: "填报人（生成时用 --filler 给出，缺省留空）",
    ROW_NAME: "每村一行/每乡镇一行时：该行村(社区)或乡镇(街道)的名称",
    ROW_CODE: "每村一行/每乡镇一行时：该行的12位区划代码",
    ROW_NUMBER: "每村一行/每乡镇一行时：1、2、3…",
}


@dataclass(frozen=True)
class Measure:
    name: str  # what the mapping sheet names, e.g. "服务设施·建筑面积合计"
    kind: str  # count / sum / indicator / text
    record_type: str | None = None
    field: str | None = None
    unit: str = ""
    indicator: str | None = None
    help: str = ""

    @property
    def is_number(self) -> bool:
        return self.kind != "text"


def measured_types() -> list[RecordType]:
    return [rt for rt in RECORD_TYPES.values() if rt.name not in NOT_MEASURED]


def summable(f: Field) -> bool:
    """Numbers a department adds up: counts and quantities with a unit (not years or coordinates)."""
    return f.type in ("int", "decimal") and bool(f.unit)


def filter_fields(rt: RecordType) -> list[Field]:
    return [f for f in rt.fields if f.type in FILTERABLE and not f.pii]


def _build() -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    for rt in measured_types():
        when = f"，按{rt.field(rt.date_field).label}落在统计期间内" if rt.date_field else ""
        if "year" in rt.field_names:
            when = "，取统计期间所在年度"
        m = Measure(f"{rt.label}·数量", "count", rt.name, unit=COUNT_UNITS.get(rt.name, "条"),
                    help=f"{rt.label}的记录数{when}")
        out[m.name] = m
        for f in rt.fields:
            if summable(f):
                m = Measure(f"{rt.label}·{f.label}合计", "sum", rt.name, f.name, f.unit or "",
                            help=f"{rt.label}的{f.label}之和{when}")
                out[m.name] = m
    for d in INDICATORS:
        m = Measure(f"指标·{d.name}", "indicator", d.record_type, unit=d.unit, indicator=d.id,
                    help=f"专栏1主要指标{d.id}（统计期间所在年度，国家方案口径）")
        out[m.name] = m
        out[f"指标·{d.id}"] = m
    for name, help_text in TEXT_ITEMS.items():
        out[name] = Measure(name, "text", help=help_text)
    return out


CATALOGUE: dict[str, Measure] = _build()


def find_measure(name: str) -> Measure | None:
    return CATALOGUE.get(normalize_label(name))


def normalize_label(text) -> str:
    """Text as a label is compared: no spaces of any width, half-width brackets and colons."""
    if text is None:
        return ""
    s = "".join(str(text).split()).replace("\u3000", "")
    return s.translate(str.maketrans("（）：，；＞", "():,;>"))


def catalogue_text(choices: dict[str, list[str]]) -> str:
    """The catalogue as a county clerk reads it (``taizhang fill --catalogue``)."""
    lines = ["统计项目录（在模板映射表的“统计项”列填写左侧名称；“筛选”列写 字段=值，多个条件用；分隔，"
             "同一字段的几个值用、分隔）", ""]
    for rt in measured_types():
        lines.append(f"【{rt.label}】")
        for m in CATALOGUE.values():
            if m.record_type == rt.name and m.kind in ("count", "sum"):
                lines.append(f"  {m.name}（{m.unit}）—— {m.help}")
        fields = filter_fields(rt)
        if fields:
            lines.append("  可筛选字段：")
            for f in fields:
                lines.append(f"    {f.label}：{allowed_values_text(f, choices)}")
        lines.append("")
    lines.append("【专栏1主要指标】")
    lines += [f"  指标·{d.name}（{d.unit}），也可写作 指标·{d.id}" for d in INDICATORS]
    lines += ["", "【文字项】"]
    lines += [f"  {name} —— {text}" for name, text in TEXT_ITEMS.items()]
    return "\n".join(lines)


def allowed_values_text(f: Field, choices: dict[str, list[str]]) -> str:
    if f.type in ("choice", "multichoice"):
        return "、".join(choices.get(f.choices, []))
    if f.type == "bool":
        return "是、否"
    if f.type in ("int", "year"):
        return "整数"
    if f.type == "org_code":
        return "12位区划代码"
    return "任意文字（完全相同才算）"
