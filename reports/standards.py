"""Standards checks per village/community (domain.md §5), each quoting its plan.

A check gives the rule, the village's figure, and the gap in words
("综合服务设施建筑面积 280 m²，农村标准 ≥ 350 m²，差 70 m²").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reports.facts import COMPREHENSIVE, ELDERLY, SHELTER, Village
from reports.indicators import CANNOT, MET, NOT_APPLICABLE, NOT_MET, STATUS_MARK, fmt
from reports.profiles import Profile
from reports.training import JILIN, OVERDUE, rule_status


@dataclass
class StandardCheck:
    org_code: str
    org_name: str
    check: str
    rule: str
    figure: str
    status: str
    gap: str
    source: str
    standard_id: str = ""  # the key in SOURCES and in a profile's list of checks

    @property
    def mark(self) -> str:
        return STATUS_MARK[self.status]


SOURCES = {
    "area": "沈阳（十一）：“按照城市不少于600平方米且每百户不少于40平方米,农村不少于350平方米且每百户不少于30平方米的标准配建社区服务设施”",
    "activity": "吉林（十）：“实现居民活动区域占社区综合服务设施总面积的60%以上”；国家：“增加居民活动区域面积”",
    "hours": "国家（十二）：“社区服务设施开放和服务时间一般不少于每天8小时”；吉林（十）：“开放时间每天不少于8小时”",
    "holiday": "吉林（十）：“保证社区综合服务设施开放时间每天不少于8小时，节假日全天开放”",
    "disaster": "正宁 专栏3-12：“全县所有村（社区）均设置1名灾害信息员”；吉林 专栏2-13：“全省所有村（社区）均设置1名灾害信息员”",
    "team": "吉林 专栏4-3：“每个村（社区）至少组建 1 支以党员为骨干的志愿者服务队”",
    "elderly": "沈阳 专栏4-5：“新建居住区每百户……不低于35平方米、已建成居住区每百户……不低于25平方米”（商丘 专栏：30/20）",
    "shelter": "沈阳（十）：“人均避难面积达到 1.5 平方米以上”",
    "leaders": "吉林 专栏4-1：“每年至少对村（社区）党组织书记、村（居）民委员会主任培训一次，其他成员及社区专职工作人员每 2 年至少培训一次”",
    "days": "沈阳 专栏8-1：“城乡社区工作者每年接受培训教育不少于 3 天”",
    "visits": "吉林 专栏2-2：“实现特殊困难老年人月探访率 100%”；商丘 专栏2-2：“特殊困难老年人月探访率达到100%”",
    "radius": "正宁 四(一)：“以每个社区服务辐射居民不超过 3000 户为原则”",
}


def _everyone(c, total: int, done: int, figure: str, who: str, all_done: str, missing_text: str) -> None:
    """A rule every one of ``total`` people must meet: met only when ``done == total``."""
    c.figure = figure
    missing = total - done
    c.status = MET if not missing else NOT_MET
    c.gap = f"{who}{all_done}" if not missing else f"{who}中有 {missing} {missing_text}"


def _check(v: Village, check: str, rule: str, source: str) -> StandardCheck:
    return StandardCheck(v.code, v.name, check, rule, "—", CANNOT, "", SOURCES[source], source)


def _at_least(c: StandardCheck, label: str, figure: float, minimum: float, unit: str, standard: str = "标准",
              decimals: int = 1) -> StandardCheck:
    shown = fmt(round(figure, decimals), decimals)
    c.figure = f"{shown} {unit}".strip() if unit != "%" else f"{shown}%"
    u = "" if unit == "%" else f" {unit}"
    lim = f"{fmt(minimum)}{'%' if unit == '%' else u}"
    if round(figure, 6) >= minimum:
        c.status = MET
        c.gap = f"{label} {c.figure}，{standard} ≥ {lim}，达标"
    else:
        c.status = NOT_MET
        short = fmt(round(minimum - figure, decimals), decimals)
        short_unit = " 个百分点" if unit == "%" else u
        c.gap = f"{label} {c.figure}，{standard} ≥ {lim}，差 {short}{short_unit}"
    return c


def months_due(year: int, today: dt.date | None = None) -> list[int]:
    today = today or dt.date.today()
    if year < today.year:
        return list(range(1, 13))
    if year > today.year:
        return []
    return list(range(1, today.month + 1))


def village_checks(v: Village, year: int, today: dt.date | None = None,
                   profile: Profile | None = None) -> list[StandardCheck]:
    """The checks the profile's plan sets (every check without a profile), for one village."""
    out: list[StandardCheck] = []
    new_area, old_area = profile.elderly_area if profile else (35.0, 25.0)
    kind = "城市" if v.is_urban else ("农村" if v.is_rural else None)
    zh_n, zh_area = v.count(COMPREHENSIVE), v.area(COMPREHENSIVE)

    c = _check(v, "综合服务设施建筑面积", "城市社区 ≥ 600 m²，农村社区 ≥ 350 m²", "area")
    if kind is None:
        c.gap = "未填写城乡分类，无法判断适用的标准"
    else:
        _at_least(c, "综合服务设施建筑面积", zh_area, 600 if v.is_urban else 350, "m²", f"{kind}标准", 0)
        if zh_n == 0:
            c.gap = f"没有在用的综合服务设施；{kind}标准 ≥ {600 if v.is_urban else 350} m²"
    out.append(c)

    c = _check(v, "每百户综合服务设施面积", "城市社区 ≥ 40 m²/百户，农村社区 ≥ 30 m²/百户", "area")
    if kind is None:
        c.gap = "未填写城乡分类，无法判断适用的标准"
    elif not v.households:
        c.gap = "缺少户数"
    else:
        _at_least(c, "每百户综合服务设施面积", zh_area / (v.households / 100), 40 if v.is_urban else 30, "m²",
                  f"{kind}标准")
    out.append(c)

    c = _check(v, "居民活动区域面积占比", "居民活动区域 ≥ 综合服务设施建筑面积的 60%", "activity")
    if not v.zh_building_both:
        c.gap = "没有在用的综合服务设施，或未同时填写建筑面积和居民活动区域面积"
    else:
        _at_least(c, "居民活动区域面积占比", v.zh_activity / v.zh_building_both * 100, 60, "%")
    out.append(c)

    c = _check(v, "开放时间", "综合服务设施每天开放 ≥ 8 小时", "hours")
    if zh_n == 0:
        c.gap = "没有在用的综合服务设施"
    elif v.zh_hours_n < zh_n:
        c.gap = f"有 {zh_n - v.zh_hours_n} 处在用综合服务设施未填写每日开放时长"
    else:
        _at_least(c, "每日开放时长（最短的一处）", float(v.zh_min_hours), 8, "小时")
    out.append(c)

    c = _check(v, "节假日开放（吉林）", "综合服务设施节假日全天开放", "holiday")
    if zh_n == 0:
        c.gap = "没有在用的综合服务设施"
    else:
        c.figure = f"{v.zh_holiday_n}/{zh_n} 处节假日开放"
        if v.zh_holiday_n >= zh_n:
            c.status, c.gap = MET, f"在用综合服务设施 {zh_n} 处均节假日开放，达标"
        else:
            c.status, c.gap = NOT_MET, f"在用综合服务设施 {zh_n} 处中有 {zh_n - v.zh_holiday_n} 处节假日不开放，标准：节假日全天开放"
    out.append(c)

    c = _check(v, "灾害信息员", "每个村(社区) ≥ 1 名灾害信息员", "disaster")
    c.figure = f"{v.disaster} 人"
    c.status = MET if v.disaster >= 1 else NOT_MET
    c.gap = f"在岗灾害信息员 {v.disaster} 人，标准 ≥ 1 人" + ("，达标" if v.disaster else "，差 1 人")
    out.append(c)

    c = _check(v, "党员志愿服务队", "每个村(社区) ≥ 1 支以党员为骨干的志愿服务队", "team")
    c.figure = f"{v.party_teams} 支"
    c.status = MET if v.party_teams >= 1 else NOT_MET
    c.gap = (f"以党员为骨干的志愿服务队 {v.party_teams} 支（志愿服务队共 {v.teams} 支），标准 ≥ 1 支"
             + ("，达标" if v.party_teams else "，差 1 支"))
    out.append(c)

    c = _check(v, "社区养老服务设施面积",
               f"每百户 ≥ {fmt(old_area)} m²（已建成居住区）；≥ {fmt(new_area)} m²（设施位于新建居住区）", "elderly")
    if not v.households:
        c.gap = "缺少户数"
    else:
        new_estate = v.elderly_new_estate > 0
        _at_least(c, "每百户养老服务设施面积", v.area(ELDERLY) / (v.households / 100),
                  new_area if new_estate else old_area, "m²", "新建居住区标准" if new_estate else "已建成居住区标准")
    out.append(c)

    c = _check(v, "应急避难场所", "人均避难面积 ≥ 1.5 m²", "shelter")
    if not v.population:
        c.gap = "缺少常住人口"
    else:
        _at_least(c, "人均应急避难场所面积", v.area(SHELTER) / v.population, 1.5, "m²", decimals=2)
    out.append(c)

    # the training checks judge each person by reports.training's rule, as the due list does
    leaders = [p for p in v.people if p.is_leader]
    others = [p for p in v.people if not p.is_leader]
    on_time = lambda people: sum(1 for p in people if rule_status(p, JILIN, year, today) != OVERDUE)  # noqa: E731
    c = _check(v, "书记、主任年度培训（吉林）", "党组织书记、村(居)委会主任每年至少培训一次（自上次培训起算）", "leaders")
    if not leaders:
        c.status, c.gap = NOT_APPLICABLE, "没有在岗的党组织书记或村(居)委会主任"
    else:
        done = on_time(leaders)
        _everyone(c, len(leaders), done, f"{done}/{len(leaders)} 人", f"书记、主任 {len(leaders)} 人",
                  "均在一年内参加了培训，达标", "人距上次培训已超过一年（名单见“培训到期”）")
    out.append(c)

    c = _check(v, "其他人员两年内培训（吉林）", "其他成员及专职工作人员每 2 年至少培训一次（自上次培训起算）", "leaders")
    if not others:
        c.status, c.gap = NOT_APPLICABLE, "没有书记、主任以外的在岗人员"
    else:
        done = on_time(others)
        _everyone(c, len(others), done, f"{done}/{len(others)} 人", f"其他在岗人员 {len(others)} 人",
                  "均在两年内参加了培训，达标", "人距上次培训已超过两年（名单见“培训到期”）")
    out.append(c)

    c = _check(v, "年度培训天数（沈阳）", "每名社区工作者每年培训 ≥ 3 天", "days")
    if not v.people:
        c.status, c.gap = NOT_APPLICABLE, "没有在岗社区工作者"
    else:
        done = sum(1 for p in v.people if p.days_in_year >= 3)
        _everyone(c, len(v.people), done, f"{done}/{len(v.people)} 人满3天",
                  f"在岗社区工作者 {len(v.people)} 人", "本年培训均满 3 天，达标", "人本年培训不足 3 天")
    out.append(c)

    c = _check(v, "特殊困难老年人月探访", "名册上的特殊困难老年人每月都有探访（月探访率 100%）", "visits")
    due = months_due(year, today)
    if not due:
        c.status, c.gap = NOT_APPLICABLE, f"{year}年尚未开始"
    elif any(m.denominator for m in v.visit_register.values()):
        _monthly_rate(c, v, due)
    else:
        done = [m for m in due if m in v.visit_months]
        lacking = [m for m in due if m not in v.visit_months]
        c.figure = f"{len(done)}/{len(due)} 个月"
        c.status = MET if not lacking else NOT_MET
        c.gap = (f"{len(due)}个月中每月都有探访记录，达标" if not lacking else
                 f"{len(due)}个月中有{len(done)}个月有探访记录，缺" + "、".join(f"{m}月" for m in lacking)
                 + "（台账未登记特殊困难老年人名单，按每月是否有“特殊困难老年人探访”服务记录判断）")
    out.append(c)

    c = _check(v, "社区服务辐射", "每个社区服务辐射 ≤ 3000 户", "radius")
    if not v.households:
        c.gap = "缺少户数"
    else:
        c.figure = f"{v.households} 户"
        if v.households <= 3000:
            c.status, c.gap = MET, f"户数 {v.households} 户，标准 ≤ 3000 户，达标"
        else:
            c.status, c.gap = NOT_MET, f"户数 {v.households} 户，标准 ≤ 3000 户，超出 {v.households - 3000} 户"
    out.append(c)
    for c in out:
        if c.status == CANNOT and not c.gap:
            c.gap = "无法计算"
    return [c for c in out if profile is None or profile.applies(c.standard_id)]


def _monthly_rate(c: StandardCheck, v: Village, due: list[int]) -> None:
    """The true monthly rate from the register: every due month must reach 100%."""
    months = [(m, v.visit_register.get(m)) for m in due]
    counted = [(m, x) for m, x in months if x is not None and x.denominator]
    short = [(m, x) for m, x in counted if x.numerator < x.denominator]
    c.figure = f"{len(counted) - len(short)}/{len(counted)} 个月达 100%"
    c.status = MET if not short else NOT_MET
    if not short:
        c.gap = f"{len(counted)}个月名册上的老人每月都已探访，达标"
    else:
        c.gap = "；".join(f"{m}月 {x.numerator}/{x.denominator} 人（{x.rate:.0f}%）" for m, x in short[:6]) + \
            ("等" if len(short) > 6 else "") + " 未达 100%（名单见 taizhang visits 或月报页）"


def all_checks(villages: list[Village], year: int, today: dt.date | None = None,
               profile: Profile | None = None) -> list[StandardCheck]:
    out: list[StandardCheck] = []
    for v in villages:
        out.extend(village_checks(v, year, today, profile))
    return out
