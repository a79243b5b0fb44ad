"""Data-quality checks, run before the indicators and shown with them.

They explain why an indicator cannot be computed or looks wrong: missing
denominators, activity area larger than building area, facilities without an
area, implausible staff ages (from the ID number's birth date), and at
township/county level one ID number recorded in two villages.  ID numbers are
shown masked (storage.validation.mask).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, literal, select, union_all
from sqlalchemy.engine import Connection

from reports.facts import Scope, facility_live, in_scope, staff_in_post
from storage.models import table_for
from storage.validation import mask

ERROR, WARNING = "错误", "提醒"


@dataclass
class Finding:
    severity: str
    org_code: str
    org_name: str
    check: str
    message: str
    records: list[tuple[str, str]] = field(default_factory=list)  # (record type, id) behind the finding


def run_checks(conn: Connection, scope: Scope) -> list[Finding]:
    out: list[Finding] = []
    year = scope.year
    names = {v.code: v.name for v in scope.villages}
    names.update({t.code: t.name for t in scope.townships})

    for v in scope.villages:
        if v.org_year_rows == 0:
            out.append(Finding(ERROR, v.code, v.name, "缺少年度基础数据",
                               f"没有{year}年度基础数据（户数、常住人口等），请在“年度基础数据”中填写", [("org_unit", v.record_id)]))
            continue
        ids = [v.org_year_id]
        if v.org_year_rows > 1:
            out.append(Finding(WARNING, v.code, v.name, "年度基础数据重复",
                               f"{year}年度基础数据有 {v.org_year_rows} 条，计算时使用最后修改的一条，请删除多余的记录",
                               [("org_year", i) for i in ids]))
        missing = []
        if v.households is None:
            missing.append("户数")
        if v.population is None:
            missing.append("常住人口")
        if v.is_urban and v.urban_population is None:
            missing.append("城镇常住人口")
        if v.total_building_area is None:
            missing.append("社区总建筑面积")
        if missing:
            out.append(Finding(ERROR, v.code, v.name, "缺少分母数据",
                               f"{year}年度基础数据缺少{'、'.join(missing)}，相关指标不计入本村(社区)，请补填",
                               [("org_year", i) for i in ids]))
        zero = [label for label, val in (("户数", v.households), ("常住人口", v.population)) if val == 0]
        if zero:
            out.append(Finding(WARNING, v.code, v.name, "分母为0",
                               f"{year}年度{'、'.join(zero)}填的是0，相关指标无法计算，请核对", [("org_year", i) for i in ids]))
        if v.urban_rural is None:
            out.append(Finding(ERROR, v.code, v.name, "缺少城乡分类",
                               "组织机构未填写城乡分类（城市社区/农村社区），覆盖率类指标不计入", [("org_unit", v.record_id)]))

    f = table_for("facility")
    base = and_(facility_live(f, year), in_scope(f.c.org_code, scope.code))
    for r in conn.execute(select(f.c.id, f.c.org_code, f.c.name, f.c.building_area, f.c.activity_area)
                          .where(base, f.c.activity_area > f.c.building_area).order_by(f.c.org_code, f.c.name)):
        out.append(Finding(ERROR, r.org_code, names.get(r.org_code, r.org_code), "活动区域面积大于建筑面积",
                           f"设施“{r.name}”的居民活动区域面积 {r.activity_area:g} m² 大于建筑面积 "
                           f"{r.building_area:g} m²，请核对", [("facility", r.id)]))
    for r in conn.execute(select(f.c.id, f.c.org_code, f.c.name, f.c.category)
                          .where(base, f.c.building_area.is_(None)).order_by(f.c.org_code, f.c.name)):
        out.append(Finding(WARNING, r.org_code, names.get(r.org_code, r.org_code), "设施未填面积",
                           f"在用设施“{r.name}”（{r.category}）未填写建筑面积，不计入面积类指标", [("facility", r.id)]))

    s = table_for("staff")
    birth_year = func.substr(s.c.id_number, 7, 4)
    for r in conn.execute(select(s.c.id, s.c.org_code, s.c.name, s.c.id_number, birth_year)
                          .where(staff_in_post(s, year), in_scope(s.c.org_code, scope.code),
                                 s.c.id_number.isnot(None),
                                 (birth_year < str(year - 80)) | (birth_year > str(year - 18)))
                          .order_by(s.c.org_code, s.c.name)):
        try:
            age = year - int(r[4])
        except (TypeError, ValueError):
            continue
        what = "超过80岁" if age > 80 else "不满18岁"
        out.append(Finding(WARNING, r.org_code, names.get(r.org_code, r.org_code), "年龄异常",
                           f"社区工作者{r.name}（{mask('id_number', r.id_number)}）按身份号码到{year}年底{age}岁，"
                           f"{what}，请核对身份号码或在岗状态", [("staff", r.id)]))

    out.extend(_duplicate_people(conn, scope, names))
    return out


def _duplicate_people(conn: Connection, scope: Scope, names: dict) -> list[Finding]:
    s, vol = table_for("staff"), table_for("volunteer")
    people = union_all(
        select(s.c.id_number.label("idn"), s.c.org_code.label("org"), s.c.id.label("rid"), s.c.name.label("name"),
               literal("staff").label("kind"))
        .where(staff_in_post(s, scope.year), s.c.id_number.isnot(None), in_scope(s.c.org_code, scope.code)),
        select(vol.c.id_number, vol.c.org_code, vol.c.id, vol.c.name, literal("volunteer"))
        .where(vol.c.deleted.is_(False), vol.c.id_number.isnot(None), in_scope(vol.c.org_code, scope.code)),
    ).subquery()
    dup = select(people.c.idn).group_by(people.c.idn).having(func.count() > 1).subquery()
    rows = conn.execute(select(people.c.idn, people.c.org, people.c.rid, people.c.name, people.c.kind)
                        .where(people.c.idn.in_(select(dup.c.idn))).order_by(people.c.idn, people.c.org)).all()
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r.idn, []).append(r)
    out = []
    kind_name = {"staff": "社区工作者", "volunteer": "志愿者"}
    for idn, rs in groups.items():
        first = rs[0]
        if len({r.org for r in rs}) > 1:
            where = "、".join(f"{names.get(r.org, r.org)}（{kind_name[r.kind]} {r.name}）" for r in rs)
            out.append(Finding(ERROR, first.org, names.get(first.org, first.org), "同一身份号码登记在多个村(社区)",
                               f"公民身份号码 {mask('id_number', idn)} 同时登记在：{where}。"
                               "同一人只应在一个村(社区)在岗或登记为志愿者，请核对后删除或改正",
                               [(r.kind, r.rid) for r in rs]))
            continue
        # one village: a worker may also be a volunteer there, but never two rows of the same kind
        for kind in ("staff", "volunteer"):
            twice = [r for r in rs if r.kind == kind]
            if len(twice) > 1:
                who = "、".join(r.name for r in twice)
                out.append(Finding(ERROR, first.org, names.get(first.org, first.org), "同一身份号码在本村(社区)登记多次",
                                   f"公民身份号码 {mask('id_number', idn)} 在{names.get(first.org, first.org)}登记了 "
                                   f"{len(twice)} 名{kind_name[kind]}（{who}）。同一人只应登记一次，请合并或删除重复的记录",
                                   [(r.kind, r.rid) for r in twice]))
    return out
