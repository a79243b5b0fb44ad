"""The plans' main indicators I1–I14 (domain.md §4, 专栏1 主要指标).

Every indicator is a ratio of two sums over the villages/communities of the
scope (numerator Σ / denominator Σ), never an average of village ratios, so a
village, a township and the county are computed by the same formula:

- I4 at the county = Σ 综合服务设施建筑面积 / (Σ 户数 / 100) over villages with 户数;
- coverage (I1, I2, I7, I8, I11) = units with the facility / units of that class;
- I5 = Σ staff in post in urban communities / (Σ 城镇常住人口 / 10,000) of urban communities.

A village that lacks a denominator figure (户数, 城镇常住人口, 社区总建筑面积) is
left out of both sums and named in the result's note; if no village has it,
the result is 无法计算 with the reason ("缺少户数").  Indicators for a class
of community the scope has none of (I2 in a township with no urban
community, I1 for an urban community) are 不适用.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

from reports.facts import COMMERCE, COMPREHENSIVE, ELDERLY, Scope, Township, Village
from reports.profiles import Profile, Target

MET, NOT_MET, NO_TARGET, CANNOT, NOT_APPLICABLE = "met", "not_met", "no_target", "cannot", "n/a"
STATUS_MARK = {MET: "✓ 达标", NOT_MET: "✗ 未达标", NO_TARGET: "无目标值", CANNOT: "无法计算", NOT_APPLICABLE: "— 不适用"}


@dataclass(frozen=True)
class IndicatorDef:
    id: str
    name: str
    unit: str
    numerator_label: str
    denominator_label: str
    scale: float  # value = numerator / denominator * scale
    record_type: str  # what the drill-down lists
    gap_unit: str  # what the numerator counts, for the gap to target ("个农村社区", "m²", "人")
    decimals: int = 1

    @property
    def counted(self) -> bool:
        """Whole things (villages, people, organisations): a gap is rounded up to a whole number."""
        return self.gap_unit != "m²"


INDICATORS: tuple[IndicatorDef, ...] = (
    IndicatorDef("I1", "农村社区综合服务设施覆盖率", "%", "有在用综合服务设施的农村社区数", "农村社区数", 100, "facility", "个农村社区"),
    IndicatorDef("I2", "城市社区综合服务设施覆盖率", "%", "有在用综合服务设施的城市社区数", "城市社区数", 100, "facility", "个城市社区"),
    IndicatorDef("I3", "社区商业和综合服务设施面积占社区总建筑面积比例", "%",
                 "综合服务设施与便民商业网点建筑面积(m²)", "社区总建筑面积(m²)", 100, "facility", "m²"),
    IndicatorDef("I4", "每百户居民拥有社区综合服务设施面积", "m²", "综合服务设施建筑面积(m²)", "户数÷100", 1, "facility", "m²"),
    IndicatorDef("I5", "每万城镇常住人口拥有社区工作者", "人", "城市社区在岗社区工作者(人)", "城镇常住人口÷10000", 1, "staff", "人"),
    IndicatorDef("I6", "居民活动区域面积占综合服务设施总建筑面积比例", "%", "居民活动区域面积(m²)",
                 "综合服务设施建筑面积(m²)", 100, "facility", "m²"),
    IndicatorDef("I7", "城市社区政务通用自助服务一体机覆盖率", "%", "有一体机的城市社区数", "城市社区数", 100, "facility", "个城市社区"),
    IndicatorDef("I8", "城市社区养老服务设施覆盖率", "%", "有在用养老服务设施的城市社区数", "城市社区数", 100, "facility", "个城市社区"),
    IndicatorDef("I9", "每个城市社区社区社会组织数", "个", "城市社区的社区社会组织数", "城市社区数", 1, "social_org", "个社区社会组织"),
    IndicatorDef("I10", "农村社区社区社会组织数（每村平均）", "个", "农村社区的社区社会组织数", "农村社区数", 1, "social_org", "个社区社会组织"),
    IndicatorDef("I11", "乡镇(街道)社会工作服务站覆盖率", "%", "有在用社会工作站的乡镇(街道)数", "乡镇(街道)数", 100, "facility", "个乡镇(街道)"),
    IndicatorDef("I12", "城市社区工作者中持社会工作职业资格证书比例", "%", "城市社区持证在岗社区工作者(人)",
                 "城市社区在岗社区工作者(人)", 100, "staff", "人"),
    IndicatorDef("I13", "平均每个城市社区持“社工证书”人数", "人", "城市社区持证在岗社区工作者(人)", "城市社区数", 1, "staff", "人"),
    IndicatorDef("I14", "村(居)委会成员培训率", "%", "本年参加过培训的两委成员(人)", "在岗两委成员(人)", 100, "staff", "人"),
)
BY_ID = {d.id: d for d in INDICATORS}


@dataclass
class Drill:
    """What the drill-down query needs: which villages/townships were counted for which indicator."""

    indicator_id: str
    year: int
    village_codes: tuple[str, ...]
    township_codes: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)


@dataclass
class IndicatorResult:
    indicator_id: str
    name: str
    org_code: str
    org_name: str
    numerator: float | None
    denominator: float | None
    value: float | None
    unit: str
    target: Target
    status: str
    reason: str = ""  # why it cannot be computed / does not apply
    note: str = ""  # e.g. villages left out for a missing figure
    drill: Drill | None = None
    _ids_loader: Callable | None = field(default=None, repr=False)
    _ids: list | None = field(default=None, repr=False)

    @property
    def definition(self) -> IndicatorDef:
        return BY_ID[self.indicator_id]

    @property
    def mark(self) -> str:
        return STATUS_MARK[self.status]

    @property
    def value_text(self) -> str:
        return format_number(self.value, self.definition.decimals, self.unit) if self.value is not None else "—"

    @property
    def record_ids(self) -> list[str]:
        """Ids of the records counted in the numerator (fetched lazily, once)."""
        if self._ids is None:
            self._ids = self._ids_loader(self) if (self._ids_loader and self.drill) else []
        return self._ids

    @property
    def gap(self) -> float | None:
        """How much more numerator would meet the target (whole units for counts); None unless not met."""
        if self.status != NOT_MET or self.denominator is None:
            return None
        d = self.definition
        needed = self.target.value * self.denominator / d.scale
        if d.counted:
            needed = math.floor(needed) + 1 if self.target.op == ">" else math.ceil(round(needed, 6))
        elif self.target.op == ">":
            needed += 0.1
        return max(needed - self.numerator, 0)

    @property
    def gap_text(self) -> str:
        """The gap in words: "还差 3 个农村社区（有在用综合服务设施的农村社区数需达到 10）"."""
        gap = self.gap
        if gap is None:
            return ""
        d = self.definition
        amount = str(int(gap)) if d.counted else fmt(math.ceil(gap * 10) / 10, 1)
        what = re.sub(r"[(（][^)）]*[)）]$", "", d.numerator_label)
        total = fmt(self.numerator + gap, 1)
        unit = d.gap_unit if d.counted else f" {d.gap_unit}"
        return f"还差 {amount}{unit}（{what}需达到 {total}{'' if d.counted else ' ' + d.gap_unit}）"

    def explain(self) -> str:
        if self.status in (CANNOT, NOT_APPLICABLE):
            return self.reason
        parts = [self.gap_text] if self.gap_text else []
        parts.append(f"{fmt(self.numerator)} / {fmt(self.denominator)}")
        if self.note:
            parts.append(self.note)
        return "；".join(parts)


def fmt(x: float | None, decimals: int = 2) -> str:
    if x is None:
        return "—"
    if float(x).is_integer():
        return str(int(x))
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_number(value: float, decimals: int, unit: str) -> str:
    text = f"{value:.{decimals}f}"
    return f"{text}%" if unit == "%" else f"{text} {unit}"


def _names(villages: list[Village], limit: int = 5) -> str:
    names = [v.name for v in villages[:limit]]
    return "、".join(names) + ("等" if len(villages) > limit else "")


def compute(indicator_id: str, level: str, code: str, name: str, year: int, villages: list[Village],
            townships: list[Township], profile: Profile) -> IndicatorResult:
    d = BY_ID[indicator_id]
    target = profile.target(indicator_id)
    result = IndicatorResult(d.id, d.name, code, name, None, None, None, d.unit, target, CANNOT)
    urban = [v for v in villages if v.is_urban]
    rural = [v for v in villages if v.is_rural]
    note = ""
    included: list[Village] = []
    town_codes: tuple[str, ...] = ()

    def not_applicable(reason: str) -> IndicatorResult:
        result.status, result.reason = NOT_APPLICABLE, reason
        return result

    def cannot(reason: str) -> IndicatorResult:
        result.status, result.reason = CANNOT, reason
        return result

    def with_figure(pool: list[Village], attr: str, label: str) -> tuple[list[Village], str]:
        have = [v for v in pool if getattr(v, attr)]  # None or 0 cannot divide
        missing = [v for v in pool if getattr(v, attr) is None]
        zero = [v for v in pool if getattr(v, attr) == 0]
        parts = []
        if missing:
            parts.append(f"{len(missing)}个村(社区)缺少{label}，未计入：{_names(missing)}")
        if zero:
            parts.append(f"{len(zero)}个村(社区){label}为0，未计入：{_names(zero)}")
        return have, "；".join(parts)

    urban_label = "本单位是农村社区，此项只统计城市社区" if level == "village" else "本辖区没有城市社区"
    rural_label = "本单位是城市社区，此项只统计农村社区" if level == "village" else "本辖区没有农村社区"
    iid = indicator_id
    if iid in ("I1", "I2", "I7", "I8"):
        pool, empty = (rural, rural_label) if iid == "I1" else (urban, urban_label)
        if not pool:
            return not_applicable(empty)
        has = {"I1": lambda v: v.count(COMPREHENSIVE) > 0, "I2": lambda v: v.count(COMPREHENSIVE) > 0,
               "I7": lambda v: v.kiosks > 0, "I8": lambda v: v.count(ELDERLY) > 0}[iid]
        included = pool
        num, den = sum(1 for v in pool if has(v)), len(pool)
    elif iid == "I3":
        if not villages:
            return cannot("本辖区没有村(社区)")
        included, note = with_figure(villages, "total_building_area", "社区总建筑面积")
        if not included:
            return cannot(note if len(villages) > 1 else ("社区总建筑面积为0" if "为0" in note else "缺少社区总建筑面积"))
        num = sum(v.area(COMPREHENSIVE) + v.area(COMMERCE) for v in included)
        den = sum(v.total_building_area for v in included)
    elif iid == "I4":
        if not villages:
            return cannot("本辖区没有村(社区)")
        included, note = with_figure(villages, "households", "户数")
        if not included:
            return cannot(note if len(villages) > 1 else ("户数为0" if "为0" in note else "缺少户数"))
        num = sum(v.area(COMPREHENSIVE) for v in included)
        den = sum(v.households for v in included) / 100
    elif iid == "I5":
        if not urban:
            return not_applicable(urban_label)
        included, note = with_figure(urban, "urban_population", "城镇常住人口")
        if not included:
            return cannot(note if len(villages) > 1 else ("城镇常住人口为0" if "为0" in note else "缺少城镇常住人口"))
        num = sum(v.staff for v in included)
        den = sum(v.urban_population for v in included) / 10000
    elif iid == "I6":
        if not villages:
            return cannot("本辖区没有村(社区)")
        included = villages
        num = sum(v.zh_activity for v in villages)
        den = sum(v.zh_building_both for v in villages)
        if not den:
            return cannot("没有同时填写建筑面积和居民活动区域面积的在用综合服务设施")
    elif iid in ("I9", "I13", "I12"):
        if not urban:
            return not_applicable(urban_label)
        included = urban
        if iid == "I9":
            num, den = sum(v.social_orgs for v in urban), len(urban)
        elif iid == "I13":
            num, den = sum(v.certified for v in urban), len(urban)
        else:
            num, den = sum(v.certified for v in urban), sum(v.staff for v in urban)
            if not den:
                return cannot("城市社区没有在岗社区工作者")
    elif iid == "I10":
        if not rural:
            return not_applicable(rural_label)
        min_households = target.params.get("min_households") if target.has_target else None
        pool = rural
        if min_households:
            known = [v for v in rural if v.households is not None]
            unknown = [v for v in rural if v.households is None]
            pool = [v for v in known if v.households >= min_households]
            if unknown:
                note = f"{len(unknown)}个农村社区缺少户数，未计入：{_names(unknown)}"
            if not pool:
                if not known:
                    return cannot(note if len(villages) > 1 else ("户数为0" if "为0" in note else "缺少户数"))
                return not_applicable(f"本辖区没有{min_households:g}户以上的农村社区")
            note = "；".join(x for x in (f"只统计{min_households:g}户以上的农村社区", note) if x)
        included = pool
        num, den = sum(v.social_orgs for v in pool), len(pool)
    elif iid == "I11":
        if level == "village":
            return not_applicable("村(社区)不单独计算此项（社会工作站按乡镇统计）")
        if not townships:
            return cannot("本辖区没有乡镇(街道)")
        num, den = sum(1 for t in townships if t.stations > 0), len(townships)
        town_codes = tuple(t.code for t in townships)
    elif iid == "I14":
        included = villages
        num, den = sum(v.committee_trained for v in villages), sum(v.committee for v in villages)
        if not den:
            return cannot("没有在岗的两委成员（职务含党组织书记、村(居)委会主任或两委委员）")
    else:  # pragma: no cover - INDICATORS and this function list the same ids
        raise KeyError(iid)

    result.numerator, result.denominator = num, den
    result.value = num / den * d.scale
    result.note = note
    if not target.has_target:
        result.status = NO_TARGET
    else:
        result.status = MET if target.is_met(result.value) else NOT_MET
    params = dict(target.params) if target.has_target else {}
    result.drill = Drill(iid, year, tuple(v.code for v in included), town_codes, params)
    return result


def compute_all(scope: Scope, profile: Profile, villages: list[Village] | None = None,
                townships: list[Township] | None = None, *, level: str | None = None, code: str | None = None,
                name: str | None = None) -> list[IndicatorResult]:
    """I1–I14 for the scope (or for a sub-unit given by villages/townships/level/code/name)."""
    villages = scope.villages if villages is None else villages
    townships = scope.townships if townships is None else townships
    return [compute(d.id, level or scope.level, code or scope.code, name or scope.name, scope.year, villages,
                    townships, profile) for d in INDICATORS]
