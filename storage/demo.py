"""A realistic, clearly-marked demo village for training, screenshots and benchmarks.

Demo data is never synced: ``local.is_demo`` is set and the sync client refuses
to run on a demo database.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Callable, Iterator

from storage import local
from storage.choices import DEFAULT_CHOICES as C
from storage.orgcode import OrgCode
from storage.repository import Repository, WriteOp, org_unit_id
from storage.validation import id_check_char

DEMO_COUNTY = "220102000000"
DEMO_TOWNSHIP = "220102001000"
DEMO_VILLAGE = "220102001001"
DEMO_NAME = "幸福村（演示数据）"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉建国建华志强海燕丹玲桂芳淑珍凤英春梅秀珍"
COURSES = ["基层治理能力提升培训", "社会工作实务", "网格化服务管理", "应急管理与灾害信息报送", "老年人关爱服务",
           "儿童关爱保护", "矛盾纠纷化解", "政务服务代办规范", "党建引领社区治理"]
ACTIVITIES = ["关爱空巢老人", "环境卫生整治", "义诊", "政策宣讲", "防溺水宣传", "助老代购", "文艺演出", "法律咨询"]


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(SURNAMES) + given


def id_number(rng: random.Random, area: str = "220102", age_range: tuple[int, int] = (20, 75)) -> str:
    today = dt.date.today()
    born = today - dt.timedelta(days=rng.randint(age_range[0] * 365 + 10, age_range[1] * 365))
    first17 = f"{area}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "186", "133", "177"]) + f"{rng.randint(0, 99_999_999):08d}"


def _ops(rng: random.Random, org: str, records: int, year: int) -> Iterator[WriteOp]:
    """Mixed records: a few facilities, staff, teams; mostly service records, trainings and hours."""
    start = dt.date(year, 1, 1)

    def day() -> dt.date:
        return start + dt.timedelta(days=rng.randint(0, min(364, (dt.date.today() - start).days)))

    yield WriteOp("org_year", "insert", {"org_code": org, "year": year, "households": 820, "population": 2460,
                                         "urban_population": 0, "total_building_area": 5200})
    facilities = [("幸福村党群服务中心", "综合服务设施/党群服务中心", 420, 300),
                  ("幸福村日间照料中心", "养老服务设施", 180, 150), ("幸福村卫生室", "卫生室/社区卫生服务站", 90, 50),
                  ("幸福村文化广场", "体育健身场地", None, None), ("幸福村应急避难场所", "应急避难场所", 600, 600),
                  ("幸福村便民超市", "便民商业网点", 120, 100)]
    for name, category, area, activity in facilities:
        yield WriteOp("facility", "insert", {
            "org_code": org, "name": name, "category": category, "status": "在用", "building_area": area,
            "activity_area": activity, "daily_open_hours": rng.choice([8, 9, 10, 12]),
            "open_on_holidays": rng.random() < 0.6, "kiosks": 1 if category.startswith("综合") else 0,
            "ownership": "自有", "built_year": rng.randint(2005, 2022), "barrier_free": True,
            "age_friendly": rng.random() < 0.5, "address": f"幸福村{rng.randint(1, 12)}组"})
    teams = []
    for i, tname in enumerate(["幸福村党员志愿服务队", "幸福村巾帼志愿服务队", "幸福村青年志愿服务队"]):
        op = WriteOp("volunteer_team", "insert", {"org_code": org, "name": tname, "leader": person_name(rng),
                                                  "party_backbone": i == 0})
        yield op
        teams.append(op)
    n_staff = max(3, records // 200)
    n_volunteers = max(5, records // 40)
    roles = C["staff_role"]
    for i in range(n_staff):
        left = rng.random() < 0.1
        joined = start - dt.timedelta(days=rng.randint(100, 3000))
        op = WriteOp("staff", "insert", {
            "org_code": org, "name": person_name(rng), "gender": rng.choice(C["gender"]),
            "id_number": id_number(rng, age_range=(22, 62)), "phone": phone(rng),
            "political_status": rng.choice(C["political_status"]), "education": rng.choice(C["education"]),
            "roles": ["党组织书记", "村(居)委会主任"] if i == 0 else
            (["灾害信息员"] if i == 1 else rng.sample(roles, rng.choice((1, 2)))),
            "social_work_cert": rng.choice(C["social_work_cert"]), "joined_on": joined,
            "left_on": day() if left else None, "status": "离岗" if left else "在岗"})
        yield op
        for _ in range(rng.randint(0, 3)):
            yield WriteOp("training", "insert", {
                "org_code": org, "staff_id": op.record_id, "date": day(), "course": rng.choice(COURSES),
                "days": rng.choice([0.5, 1, 2, 3]), "level": rng.choice(C["training_level"])})
    volunteers = []
    for n in range(n_volunteers):
        registered = rng.random() < 0.7
        team = rng.choice(teams)
        idn = id_number(rng, age_range=(18, 70))
        op = WriteOp("volunteer", "insert", {
            "org_code": org, "name": person_name(rng), "gender": rng.choice(C["gender"]),
            "id_number": idn, "phone": phone(rng),
            "party_member": rng.random() < 0.3, "registered": registered,
            "registration_no": f"ZY{rng.randint(10**9, 10**10 - 1)}" if registered else None,
            "team_id": team.record_id, "skills": rng.sample(C["volunteer_skill"], rng.choice((1, 2))),
            # 民政部令第67号 第五条 and consent (no draw from rng: the rest of the demo stays as it was)
            "birth_date": dt.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14])),
            "residence": f"幸福村{n % 12 + 1}组", "service_types": ["社区服务"],
            "consent_on": start, "consent_method": "书面签字" if registered else "口头同意并登记"})
        yield op
        volunteers.append(op)
        for _ in range(rng.randint(0, 3)):
            activity = rng.choice(ACTIVITIES)
            yield WriteOp("volunteer_hours", "insert", {
                "org_code": org, "volunteer_id": op.record_id, "date": day(), "activity": activity,
                "hours": rng.choice([1, 2, 2.5, 3, 4]), "beneficiary": rng.choice(C["service_target"]),
                "place": "幸福村党群服务中心", "content": activity, "organizer": team.values["name"],
                "person_in_charge": team.values["leader"]})
    for i in range(rng.randint(3, 6)):
        yield WriteOp("social_org", "insert", {
            "org_code": org, "name": f"幸福村{rng.choice(['夕阳红', '邻里互助', '广场舞', '农技', '读书'])}协会{i + 1}",
            "registration": "备案", "org_type": rng.choice(C["social_org_type"]), "members": rng.randint(8, 60),
            "brand": i == 0})
    elderly = max(3, records // 5000)
    visits = list(_visits(rng, org, elderly, year))  # part of the service records: named 特殊困难老年人探访
    notes = ["", "", "电话回访满意", "协助办理医保", "送药上门", "调解邻里纠纷"]
    for _ in range(max(0, records - len(visits) + elderly)):
        yield WriteOp("service", "insert", {
            "org_code": org, "date": day(), "category": rng.choice(C["service_category"]),
            "mode": rng.choice(C["service_mode"]), "target": rng.choice(C["service_target"]),
            "persons": rng.randint(1, 20), "provider": rng.choice(C["service_provider"]),
            "duration_hours": rng.choice([0.5, 1, 1.5, 2]), "satisfaction": rng.choice(C["satisfaction"]),
            "note": rng.choice(notes) or None})
    yield from visits
    for op in volunteers[:3]:  # 民政部令第67号 第八、九条: a training and an award
        yield WriteOp("volunteer_event", "insert", {"org_code": org, "volunteer_id": op.record_id, "kind": "培训",
                                                    "date": start + dt.timedelta(days=40), "title": "志愿服务基础培训",
                                                    "issuer": "演示镇社工站"})
        yield WriteOp("volunteer_event", "insert", {"org_code": org, "volunteer_id": op.record_id, "kind": "表彰奖励",
                                                    "date": start + dt.timedelta(days=120), "title": "优秀志愿者",
                                                    "issuer": "演示镇人民政府", "evaluation": "优秀"})


def _visits(rng: random.Random, org: str, people: int, year: int) -> Iterator[WriteOp]:
    """特殊困难老年人 on the register, each visited most months up to this one (a few months missed)."""
    import uuid

    start = dt.date(year, 1, 1)
    last_month = 12 if year < dt.date.today().year else dt.date.today().month
    for _ in range(people):
        person = WriteOp("elderly_person", "insert", {
            "org_code": org, "name": person_name(rng), "gender": rng.choice(C["gender"]),
            "id_number": id_number(rng, age_range=(70, 92)), "phone": phone(rng),
            "address": f"幸福村{rng.randint(1, 12)}组", "difficulties": rng.sample(C["elderly_difficulty"][:6], 2),
            "added_on": start - dt.timedelta(days=rng.randint(30, 900)), "status": "在册"},
            str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        yield person
        for month in range(1, last_month + 1):
            if rng.random() < 0.1:
                continue
            yield WriteOp("service", "insert", {
                "org_code": org, "date": min(dt.date(year, month, rng.randint(1, 28)), dt.date.today()),
                "category": "特殊困难老年人探访",
                "mode": "上门", "target": "特殊困难老年人", "persons": 1, "provider": "社区工作者",
                "duration_hours": 0.5, "satisfaction": "满意", "visited_id": person.record_id})


def fill_demo(repo: Repository, records: int = 1000, seed: int = 2024, year: int | None = None,
              progress: Callable[[int], None] | None = None) -> int:
    """Fill the database with the demo village; returns how many records were written."""
    rng = random.Random(seed)
    year = year or dt.date.today().year
    local.set_identity(repo, DEMO_VILLAGE, DEMO_NAME, demo=True)
    ops: list[WriteOp] = []
    existing = {r["org_code"] for r in repo.list("org_unit")}
    for code, name, ur in ((DEMO_COUNTY, "演示县", None), (DEMO_TOWNSHIP, "演示镇", None),
                           (DEMO_VILLAGE, DEMO_NAME, "农村社区")):
        if code not in existing:
            org = OrgCode(code)
            ops.append(WriteOp("org_unit", "insert", {
                "org_code": code, "name": name, "level": org.level_label, "urban_rural": ur, "relocation": False,
                "parent_code": str(org.parent) if org.parent else None}, org_unit_id(code)))
    import uuid

    for op in _ops(rng, DEMO_VILLAGE, records, year):
        if op.op == "insert" and op.record_id is None:
            op.record_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ops.append(op)
    repo.bulk_write(ops, progress=progress)
    return len(ops)
