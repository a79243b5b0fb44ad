"""The one declarative field schema (domain.md §2–§3).

Every record type and every field is defined here once.  The database tables
(``storage.models``), validation (``storage.validation``), the desktop forms
(``desktop.forms``), Excel columns and import mapping (``exchange``) and the
sync payloads are all derived from these definitions: adding a field is one
edit here plus a migration.

What the rest of the program needs to know about a *type* lives on its
``RecordType`` too: how a row without an id is matched (``natural_keys``), the
list page's filters and search hint, whether the county maintains it, what a
month's checklist requires of it, its children, and the order in which a batch
writes types (``write_order()``, derived from parent and reference fields).
Adding a record type is one declaration here and a migration (plus its page).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Literal

from storage.orgcode import LEVEL_LABELS

FieldType = Literal[
    "text",  # free text
    "int",  # non-negative whole number unless min says otherwise
    "decimal",  # number, possibly with a unit ("350平方米")
    "date",  # calendar date
    "year",  # four-digit year
    "period",  # month-end period YYYY-MM
    "bool",  # 是/否
    "choice",  # one of a choice list
    "multichoice",  # several of a choice list
    "id_number",  # 公民身份号码 (GB 11643) — PII
    "phone",  # 手机号 — PII
    "credit_code",  # 统一社会信用代码 (GB 32100)
    "org_code",  # 12-digit statistical division code
    "ref",  # uuid of another record (team, parent)
]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: FieldType
    required: bool = False
    unit: str | None = None
    choices: str | None = None  # name of a choice list in storage.choices
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    pii: bool = False  # personal information: masked in lists, kept out of logs
    ref: str | None = None  # record type a "ref" field points to
    in_form: bool = True  # False: set by the system (org code, parent link)
    help: str = ""
    # (source field, derivation in storage.validation.DERIVATIONS): filled from the source when left blank
    derived_from: tuple[str, str] | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "decimal", "year")


@dataclass(frozen=True)
class CrossRule:
    """A rule over several fields; ``check`` returns a Chinese message or None."""

    fields: tuple[str, ...]
    check: Callable[[dict], str | None]


@dataclass(frozen=True)
class RecordType:
    name: str
    label: str
    fields: tuple[Field, ...]
    list_columns: tuple[str, ...]
    search_fields: tuple[str, ...] = ()
    date_field: str | None = None  # the date that places a record in a month-end period
    parent: str | None = None  # child records (trainings, hours) name their parent type
    parent_field: str | None = None
    cross_rules: tuple[CrossRule, ...] = ()
    township_allowed: bool = False  # township-level records (e.g. 社会工作站)
    # How a row without a record id (a hand-made workbook) is matched to a stored record, so
    # importing it twice changes nothing.  Alternatives in order; the first whose fields are all
    # filled in decides.  No key: matched on all its values (service records).
    natural_keys: tuple[tuple[str, ...], ...] = ()
    list_filters: tuple[str, ...] = ()  # choice fields the record list offers as filters
    search_hint: str = ""  # the list's search box placeholder: what the search looks in
    # Maintained by the county (``admin load-orgs``): pulled by everyone, written only by county
    # accounts, not a sheet of the village workbook.
    county_maintained: bool = False
    # The month's submit/review record itself: follows the workflow, not the month lock, and is
    # written after the records of the month it locks.
    month_workflow: bool = False
    required_in_month: bool = False  # a month cannot be submitted without one dated in it
    required_standing: bool = False  # a month cannot be submitted before the register has any
    # A standing register carried from month to month (一表通: not retyped): each month the clerk
    # confirms it unchanged or edits it (storage.periods.standing_confirmations).
    carried_forward: bool = False
    written_by_program: bool = False  # the program writes these itself (disclosures): no form, no sheet

    def __post_init__(self) -> None:
        names = {f.name for f in self.fields}
        named = (set(self.list_columns) | set(self.search_fields) | set(self.list_filters)
                 | {n for key in self.natural_keys for n in key}
                 | {n for n in (self.date_field, self.parent_field) if n})
        unknown = sorted(named - names)
        if unknown:
            raise ValueError(f"record type {self.name}: unknown fields {unknown}")

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}.{name}")

    @property
    def record_noun(self) -> str:
        """The label as a noun for "这条…": 服务设施记录, but 服务记录 (not 服务记录记录)."""
        return self.label if self.label.endswith("记录") else f"{self.label}记录"

    @cached_property  # asked for on every write; the fields never change
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def form_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.in_form)

    @property
    def pii_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.pii)

    @property
    def in_workbook(self) -> bool:
        """Villages fill it in Excel (one sheet): not the county's registry, not the month workflow."""
        return not (self.county_maintained or self.month_workflow or self.written_by_program)

    @property
    def children(self) -> list["RecordType"]:
        return children_of(self.name)

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Types whose records must be written before this type's in one batch.

        The types its reference fields point to (a parent among them), the county's registry for
        its org code, and — for the month workflow record — every type dated into a month.
        """
        deps = [f.ref for f in self.fields if f.type == "ref" and f.ref]
        if self.parent:
            deps.append(self.parent)
        if not self.county_maintained and any(f.type == "org_code" for f in self.fields):
            deps += [rt.name for rt in RECORD_TYPES.values() if rt.county_maintained]
        if self.month_workflow:
            deps += [rt.name for rt in RECORD_TYPES.values() if rt.date_field and not rt.month_workflow]
        return tuple(dict.fromkeys(d for d in deps if d != self.name))


ORG = Field("org_code", "区划代码", "org_code", required=True, in_form=False,
            help="所属村(社区)的12位统计用区划代码")


def _activity_le_building(values: dict) -> str | None:
    building, activity = values.get("building_area"), values.get("activity_area")
    if building is not None and activity is not None and activity > building:
        return (f"居民活动区域面积（{_num(activity)} m²）大于建筑面积（{_num(building)} m²），"
                "请核对两项面积后重新填写")
    return None


def _office_le_building(values: dict) -> str | None:
    building, office = values.get("building_area"), values.get("office_area")
    if building is not None and office is not None and office > building:
        return f"办公面积（{_num(office)} m²）大于建筑面积（{_num(building)} m²），请核对后重新填写"
    return None


def _left_after_joined(values: dict) -> str | None:
    joined, left = values.get("joined_on"), values.get("left_on")
    if joined and left and left < joined:
        return f"离岗日期（{left.isoformat()}）早于到岗日期（{joined.isoformat()}），请核对"
    return None


def _left_has_date(values: dict) -> str | None:
    if values.get("status") == "离岗" and not values.get("left_on"):
        return "在岗状态为“离岗”时请填写离岗日期"
    return None


def _elderly_left_has_date(values: dict) -> str | None:
    if values.get("status") == "已退出" and not values.get("left_on"):
        return "状态为“已退出”时请填写退出日期"
    added, left = values.get("added_on"), values.get("left_on")
    if added and left and left < added:
        return f"退出日期（{left.isoformat()}）早于纳入名册日期（{added.isoformat()}），请核对"
    return None


def _registered_has_number(values: dict) -> str | None:
    if values.get("registered") and not values.get("registration_no"):
        return "已在全国志愿服务信息系统注册时请填写注册编号"
    return None


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


RECORD_TYPES: dict[str, RecordType] = {}


def _register(rt: RecordType) -> RecordType:
    RECORD_TYPES[rt.name] = rt
    return rt


ORG_UNIT = _register(RecordType(
    name="org_unit", label="组织机构",
    fields=(
        Field("org_code", "区划代码", "org_code", required=True),
        Field("name", "名称", "text", required=True, max_length=100),
        Field("level", "层级", "choice", required=True, choices="org_level", in_form=False,
              derived_from=("org_code", "level_of_org_code")),
        Field("parent_code", "上级区划代码", "org_code", in_form=False, derived_from=("org_code", "parent_of_org_code")),
        Field("urban_rural", "城乡分类", "choice", choices="urban_rural",
              help="村/社区必填：城市社区或农村社区"),
        Field("relocation", "易地扶贫搬迁集中安置社区", "bool"),
    ),
    list_columns=("org_code", "name", "level", "urban_rural", "relocation"),
    search_fields=("name", "org_code"),
    cross_rules=(CrossRule(("level", "urban_rural"), lambda v: (
        "城乡分类：村/社区必须选择城市社区或农村社区"
        if v.get("level") == LEVEL_LABELS["village"] and not v.get("urban_rural") else None)),),
    township_allowed=True,
    natural_keys=(("org_code",),),
    county_maintained=True,
))

ORG_YEAR = _register(RecordType(
    name="org_year", label="年度基础数据",
    fields=(
        ORG,
        Field("year", "年度", "year", required=True, min=2000, max=2100),
        Field("households", "户数", "int", unit="户", min=0),
        Field("population", "常住人口", "int", unit="人", min=0),
        Field("urban_population", "城镇常住人口", "int", unit="人", min=0),
        Field("total_building_area", "社区总建筑面积", "decimal", unit="m²", min=0),
    ),
    list_columns=("year", "households", "population", "urban_population", "total_building_area"),
    cross_rules=(CrossRule(("population", "urban_population"), lambda v: (
        "城镇常住人口大于常住人口，请核对" if (v.get("population") is not None
                                  and v.get("urban_population") is not None
                                  and v["urban_population"] > v["population"]) else None)),),
    township_allowed=True,
    natural_keys=(("org_code", "year"),),
    carried_forward=True,
))

FACILITY = _register(RecordType(
    name="facility", label="服务设施",
    fields=(
        ORG,
        Field("name", "名称", "text", required=True, max_length=100),
        Field("category", "类别", "choice", required=True, choices="facility_category"),
        Field("status", "状态", "choice", required=True, choices="facility_status"),
        Field("building_area", "建筑面积", "decimal", unit="m²", min=0, max=1_000_000),
        Field("activity_area", "居民活动区域面积", "decimal", unit="m²", min=0, max=1_000_000),
        Field("office_area", "办公面积", "decimal", unit="m²", min=0, max=1_000_000),
        Field("daily_open_hours", "每日开放时长", "decimal", unit="小时", min=0, max=24),
        Field("open_on_holidays", "节假日开放", "bool"),
        Field("kiosks", "政务通用自助服务一体机台数", "int", unit="台", min=0, max=100),
        Field("ownership", "产权", "choice", choices="ownership"),
        Field("built_year", "建成年份", "year", min=1949, max=2100),
        Field("barrier_free", "无障碍", "bool"),
        Field("age_friendly", "适老化改造", "bool"),
        Field("new_estate", "位于新建居住区", "bool",
              help="新建居住区的养老服务设施按每百户 35 m²（商丘 30 m²）衡量，已建成居住区按 25 m²（商丘 20 m²）"),
        Field("address", "地址", "text", max_length=200),
        Field("longitude", "经度", "decimal", min=73, max=136),
        Field("latitude", "纬度", "decimal", min=3, max=54),
    ),
    list_columns=("name", "category", "status", "building_area", "activity_area", "daily_open_hours"),
    search_fields=("name", "address"),
    cross_rules=(
        CrossRule(("building_area", "activity_area"), _activity_le_building),
        CrossRule(("building_area", "office_area"), _office_le_building),
    ),
    township_allowed=True,
    natural_keys=(("org_code", "name"),),
    list_filters=("category", "status"),
    search_hint="搜索：设施名称或地址",
    required_standing=True,
    carried_forward=True,
))

STAFF = _register(RecordType(
    name="staff", label="社区工作者",
    fields=(
        ORG,
        Field("name", "姓名", "text", required=True, max_length=50),
        Field("gender", "性别", "choice", choices="gender", derived_from=("id_number", "gender_of_id_number")),
        Field("id_number", "公民身份号码", "id_number", required=True, pii=True),
        Field("phone", "手机号", "phone", pii=True),
        Field("birth_date", "出生日期", "date", help="可由身份号码推出",
              derived_from=("id_number", "birth_date_of_id_number")),
        Field("political_status", "政治面貌", "choice", choices="political_status"),
        Field("education", "学历", "choice", choices="education"),
        Field("roles", "职务", "multichoice", required=True, choices="staff_role"),
        Field("social_work_cert", "社会工作职业资格", "choice", choices="social_work_cert"),
        Field("joined_on", "到岗日期", "date"),
        Field("left_on", "离岗日期", "date"),
        Field("status", "在岗状态", "choice", required=True, choices="staff_status"),
    ),
    list_columns=("name", "gender", "id_number", "phone", "roles", "social_work_cert", "status"),
    search_fields=("name", "id_number", "phone"),
    cross_rules=(
        CrossRule(("joined_on", "left_on"), _left_after_joined),
        CrossRule(("status", "left_on"), _left_has_date),
    ),
    natural_keys=(("org_code", "id_number"),),
    list_filters=("status", "roles"),
    search_hint="搜索：姓名，或身份证号/手机号的后几位",
    required_standing=True,
    carried_forward=True,
))

TRAINING = _register(RecordType(
    name="training", label="培训记录",
    fields=(
        ORG,
        Field("staff_id", "社区工作者", "ref", required=True, ref="staff", in_form=False),
        Field("date", "日期", "date", required=True),
        Field("course", "课程", "text", required=True, max_length=100),
        Field("days", "天数", "decimal", unit="天", required=True, min=0, max=365),
        Field("level", "举办层级", "choice", choices="training_level"),
    ),
    list_columns=("date", "course", "days", "level"),
    search_fields=("course",),
    date_field="date", parent="staff", parent_field="staff_id",
    natural_keys=(("staff_id", "date", "course"),),
    list_filters=("level",),
    search_hint="搜索：课程或社区工作者姓名",
))

VOLUNTEER_TEAM = _register(RecordType(
    name="volunteer_team", label="志愿服务队",
    fields=(
        ORG,
        Field("name", "队伍名称", "text", required=True, max_length=100),
        Field("leader", "负责人", "text", max_length=50),
        Field("party_backbone", "以党员为骨干", "bool"),
    ),
    list_columns=("name", "leader", "party_backbone"),
    search_fields=("name", "leader"),
    natural_keys=(("org_code", "name"),),
    search_hint="搜索：队伍名称或负责人",
    carried_forward=True,
))

VOLUNTEER = _register(RecordType(
    name="volunteer", label="志愿者",
    fields=(
        ORG,
        Field("name", "姓名", "text", required=True, max_length=50),
        Field("gender", "性别", "choice", choices="gender", derived_from=("id_number", "gender_of_id_number")),
        Field("id_number", "公民身份号码", "id_number", pii=True),
        Field("phone", "手机号", "phone", pii=True),
        Field("party_member", "党员", "bool"),
        Field("registered", "已在全国志愿服务信息系统注册", "bool"),
        Field("registration_no", "注册编号", "text", max_length=40),
        Field("team_id", "所属志愿服务队", "ref", ref="volunteer_team"),
        Field("skills", "专长", "multichoice", choices="volunteer_skill"),
        # 民政部令第67号 第五条: 出生日期、居住区域、服务类别; consent to record and report
        Field("birth_date", "出生日期", "date"),
        Field("residence", "居住区域", "text", max_length=100),
        Field("service_types", "服务类别", "multichoice", choices="volunteer_service_type"),
        Field("consent_on", "同意记录和报送个人信息的日期", "date",
              help="志愿者同意记录其个人信息并报送全国志愿服务信息系统的日期"),
        Field("consent_method", "同意方式", "choice", choices="consent_method"),
    ),
    list_columns=("name", "gender", "id_number", "phone", "party_member", "registered", "skills"),
    search_fields=("name", "id_number", "phone"),
    cross_rules=(CrossRule(("registered", "registration_no"), _registered_has_number),),
    natural_keys=(("org_code", "id_number"), ("org_code", "name")),
    list_filters=("skills",),
    search_hint="搜索：姓名，或身份证号/手机号的后几位",
    carried_forward=True,
))

VOLUNTEER_HOURS = _register(RecordType(
    name="volunteer_hours", label="服务时长",
    fields=(
        ORG,
        Field("volunteer_id", "志愿者", "ref", required=True, ref="volunteer", in_form=False),
        Field("date", "日期", "date", required=True),
        Field("activity", "活动", "text", required=True, max_length=100),
        Field("hours", "小时", "decimal", unit="小时", required=True, min=0, max=24),
        Field("beneficiary", "服务对象", "text", max_length=100),
        # 民政部令第67号 第七条: 地点、内容、组织单位、负责人; 第十条: 评价
        Field("place", "地点", "text", max_length=100),
        Field("content", "服务内容", "text", max_length=500),
        Field("organizer", "组织单位", "text", max_length=100),
        Field("person_in_charge", "负责人", "text", max_length=50),
        Field("evaluation", "评价", "choice", choices="volunteer_evaluation"),
    ),
    list_columns=("date", "activity", "hours", "beneficiary"),
    search_fields=("activity",),
    date_field="date", parent="volunteer", parent_field="volunteer_id",
    natural_keys=(("volunteer_id", "date", "activity"),),
    search_hint="搜索：活动或志愿者姓名",
))

SERVICE = _register(RecordType(
    name="service", label="服务记录",
    fields=(
        ORG,
        Field("date", "日期", "date", required=True),
        Field("category", "服务类别", "choice", required=True, choices="service_category"),
        Field("mode", "服务方式", "choice", required=True, choices="service_mode"),
        Field("target", "服务对象", "choice", required=True, choices="service_target"),
        Field("persons", "人次", "int", unit="人次", required=True, min=0, max=100_000),
        Field("provider", "提供方", "choice", choices="service_provider"),
        Field("duration_hours", "时长", "decimal", unit="小时", min=0, max=24),
        Field("satisfaction", "满意度", "choice", choices="satisfaction"),
        Field("note", "备注", "text", max_length=500),
        Field("visited_id", "探访对象", "ref", ref="elderly_person",
              help="特殊困难老年人探访：从本村(社区)特殊困难老年人名册中选择被探访的老人"),
    ),
    list_columns=("date", "category", "mode", "target", "persons", "provider", "satisfaction"),
    search_fields=("note", "category"),
    date_field="date",
    list_filters=("category", "target"),
    search_hint="搜索：服务类别或备注",
    required_in_month=True,
))

SOCIAL_ORG = _register(RecordType(
    name="social_org", label="社区社会组织",
    fields=(
        ORG,
        Field("name", "名称", "text", required=True, max_length=100),
        Field("credit_code", "统一社会信用代码", "credit_code"),
        Field("registration", "登记/备案", "choice", choices="social_org_registration"),
        Field("org_type", "类型", "choice", required=True, choices="social_org_type"),
        Field("members", "成员数", "int", unit="人", min=0, max=100_000),
        Field("brand", "品牌组织", "bool"),
    ),
    list_columns=("name", "credit_code", "registration", "org_type", "members", "brand"),
    search_fields=("name", "credit_code"),
    natural_keys=(("org_code", "name"),),
    list_filters=("org_type", "registration"),
    search_hint="搜索：组织名称或统一社会信用代码",
    carried_forward=True,
))

VOLUNTEER_EVENT = _register(RecordType(
    # 民政部令第67号 第八条 培训、第九条 表彰奖励、第十条 评价
    name="volunteer_event", label="志愿者培训表彰",
    fields=(
        ORG,
        Field("volunteer_id", "志愿者", "ref", required=True, ref="volunteer", in_form=False),
        Field("kind", "类别", "choice", required=True, choices="volunteer_event_kind"),
        Field("date", "日期", "date", required=True),
        Field("title", "名称", "text", required=True, max_length=100,
              help="培训课程、表彰奖励名称，或评价的活动/年度"),
        Field("issuer", "组织/授予单位", "text", max_length=100),
        Field("evaluation", "评价", "choice", choices="volunteer_evaluation"),
        Field("note", "备注", "text", max_length=500),
    ),
    list_columns=("date", "kind", "title", "issuer", "evaluation"),
    search_fields=("title", "issuer"),
    date_field="date", parent="volunteer", parent_field="volunteer_id",
    natural_keys=(("volunteer_id", "date", "kind", "title"),),
    list_filters=("kind",),
    search_hint="搜索：培训或表彰名称、单位",
))

ELDERLY_PERSON = _register(RecordType(
    # 吉林 专栏2-2、商丘 专栏2-2：特殊困难老年人月探访率 100%
    name="elderly_person", label="特殊困难老年人",
    fields=(
        ORG,
        Field("name", "姓名", "text", required=True, max_length=50),
        Field("gender", "性别", "choice", choices="gender"),
        Field("id_number", "公民身份号码", "id_number", pii=True),
        Field("birth_date", "出生日期", "date"),
        Field("phone", "联系电话", "phone", pii=True),
        Field("address", "住址", "text", max_length=200),
        Field("difficulties", "困难类型", "multichoice", required=True, choices="elderly_difficulty"),
        Field("guardian", "联系人（监护人）", "text", max_length=50),
        Field("added_on", "纳入名册日期", "date", required=True),
        Field("status", "状态", "choice", required=True, choices="elderly_status"),
        Field("left_on", "退出日期", "date"),
        Field("left_reason", "退出原因", "text", max_length=200),
    ),
    list_columns=("name", "gender", "id_number", "difficulties", "added_on", "status"),
    search_fields=("name", "id_number", "phone"),
    cross_rules=(CrossRule(("status", "left_on"), _elderly_left_has_date),),
    natural_keys=(("org_code", "id_number"), ("org_code", "name")),
    list_filters=("status", "difficulties"),
    search_hint="搜索：姓名，或身份证号/手机号的后几位",
))

PERIOD = _register(RecordType(
    name="period", label="月报填报期",
    fields=(
        ORG,
        Field("period", "填报期", "period", required=True),
        Field("status", "状态", "choice", required=True, choices="period_status"),
        Field("reason", "原因", "text", max_length=1000),
        Field("submitted_at", "提交时间", "text", in_form=False),
        Field("submitted_by", "提交人", "text", in_form=False),
        Field("reviewed_at", "审核时间", "text", in_form=False),
        Field("reviewed_by", "审核人", "text", in_form=False),
        Field("accepted_at", "接收时间", "text", in_form=False),
        Field("accepted_by", "接收人", "text", in_form=False),
        # standing registers the clerk confirmed as unchanged this month (一表通: carried forward, not retyped)
        Field("confirmed", "本月确认无变化", "multichoice", choices="standing_type", in_form=False),
    ),
    list_columns=("period", "status", "reason", "submitted_at"),
    township_allowed=True,
    natural_keys=(("org_code", "period"),),
    month_workflow=True,
))

# A full disclosure of personal information (a full export, an ID shown on screen): written by
# storage.disclosure, synced to the county like any record, never in a workbook.
DISCLOSURE = _register(RecordType(
    name="disclosure", label="个人信息查看导出记录",
    fields=(
        ORG,
        Field("at", "时间", "text", required=True, in_form=False),
        Field("actor", "操作人", "text", required=True, max_length=100, in_form=False),
        Field("action", "方式", "text", required=True, max_length=50),
        Field("record_types", "记录类型", "text", required=True, max_length=500),
        Field("row_count", "条数", "int", min=0),
        Field("purpose", "用途", "text", required=True, max_length=500),
        Field("file_name", "文件", "text", max_length=500),
    ),
    list_columns=("at", "actor", "action", "record_types", "row_count", "purpose", "file_name"),
    township_allowed=True,
    written_by_program=True,
))

def record_type(name: str) -> RecordType:
    try:
        return RECORD_TYPES[name]
    except KeyError:
        raise KeyError(f"未知的记录类型：{name}") from None


def children_of(type_name: str) -> list[RecordType]:
    return [rt for rt in RECORD_TYPES.values() if rt.parent == type_name]


def write_order() -> tuple[str, ...]:
    """Every record type, each after the types it depends on (``RecordType.depends_on``).

    A topological order; among types free to go next, the one declared first goes first, so the
    order is stable and reads like the declarations.  Computed, never kept by hand: a type that is
    declared is in it.
    """
    pending = {name: set(rt.depends_on) & RECORD_TYPES.keys() for name, rt in RECORD_TYPES.items()}
    order: list[str] = []
    while pending:
        ready = next((name for name, deps in pending.items() if not deps), None)
        if ready is None:
            raise ValueError(f"record types depend on each other in a circle: {sorted(pending)}")
        order.append(ready)
        del pending[ready]
        for deps in pending.values():
            deps.discard(ready)
    return tuple(order)


def workbook_types() -> tuple[str, ...]:
    """The types villages fill in Excel, one sheet each, in write order."""
    return tuple(name for name in write_order() if RECORD_TYPES[name].in_workbook)


def county_maintained_types() -> tuple[str, ...]:
    return tuple(name for name, rt in RECORD_TYPES.items() if rt.county_maintained)


def month_workflow_type() -> RecordType:
    """The record type of a month's submission (``period``)."""
    return next(rt for rt in RECORD_TYPES.values() if rt.month_workflow)
