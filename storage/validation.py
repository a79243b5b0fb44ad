"""Validators and value coercion, driven by the field schema.

Written in-house (not python-stdnum): stdnum's area table is stale and it
assumes digits-only credit codes, so it rejects valid codes of both kinds.

Every message is Simplified Chinese and says which field, what is wrong and
what to do.  ``coerce`` turns what people type (or what Excel stores) into the
field's Python value; ``validate_record`` checks a whole record.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from storage.choices import DEFAULT_CHOICES
from storage.schema import Field, RecordType

# --------------------------------------------------------------------------- issues


@dataclass(frozen=True)
class Issue:
    field: str  # field name ("" for the whole record)
    message: str  # full Chinese message, starting with the field's label
    severity: str = "error"  # "error" blocks saving; "warning" does not

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class ValidationError(ValueError):
    """Raised by the repository when a write would store invalid data."""

    def __init__(self, issues: list[Issue], record_label: str = ""):
        self.issues = issues
        prefix = f"{record_label}：" if record_label else ""
        super().__init__(prefix + "；".join(i.message for i in issues if i.is_error))


def stored_value(field: Field | None, value: Any) -> Any:
    """A value in the form a table or the audit log stores it, back as the field's value: 1/0 or
    "True"/"False" for 是/否, JSON text for a multiple choice, numbers as text (audit rows) or an int
    in a decimal column.  Anything it cannot read is returned as it is, to be shown as stored."""
    if value is None or value == "" or field is None:
        return value
    if field.type == "bool":
        return value in (1, True, "1", "true", "True")
    if field.type == "multichoice" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if field.type in ("decimal", "int", "year") and not isinstance(value, float):
        try:
            return float(value) if field.type == "decimal" else int(value)
        except (TypeError, ValueError):
            return value
    return value


def display_text(field: Field | None, value: Any) -> str:
    """A coerced value (or one from a JSON payload) as a person reads it: ID numbers and phones
    masked, 是/否, lists joined with 、, 350.0 as 350, dates as 2024-03-05; empty as ""."""
    if value is None or value == "" or value == []:
        return ""
    if field is not None and (field.pii or field.type in ("id_number", "phone")):
        return mask(field.type, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.15g}"  # every digit a ledger value can carry, no trailing .0
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value)


# --------------------------------------------------------------------------- text

_SPACES = re.compile(r"\s+")


def normalize_text(value: Any) -> str:
    """NFKC (full-width → half-width), trimmed, inner runs of spaces folded to one."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub(" ", text).strip()


# --------------------------------------------------------------------------- 公民身份号码 (GB 11643)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB/T 2260 province-level codes; 81/82/83 are the HK/MO/TW residence-permit
# prefixes (810000/820000/830000), 9x the 2023 foreign permanent resident ID.
PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}
PERMIT_PREFIXES = {"810000": "港澳台居民居住证（香港）", "820000": "港澳台居民居住证（澳门）",
                   "830000": "港澳台居民居住证（台湾）"}


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def id_birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


MASKED_HINT = ("这是遮挡后的号码（带*号，来自默认的遮挡导出），不能导入。请按证件填写完整号码，"
               "或改用“导出完整的身份号码和手机号”导出的表格")


def check_id_number(raw: str, label: str = "公民身份号码", today: dt.date | None = None) -> list[Issue]:
    """GB 11643 18-digit number: format, birth date, check character, area code."""
    number = normalize_text(raw).replace(" ", "").upper()
    if not number:
        return []
    if "E+" in number or "E17" in number:
        return [Issue("", f"{label}：“{number}”已被Excel转成科学计数法，末尾数位已丢失，无法自动修复。"
                          "请把该列设置为“文本”格式后按证件重新录入")]
    if "*" in number:
        return [Issue("", f"{label}：{MASKED_HINT}")]
    if len(number) == 15 and number.isdigit():
        return [Issue("", f"{label}：这是15位的旧号码，请按第二代身份证上的18位号码填写")]
    if len(number) != 18:
        return [Issue("", f"{label}：应为18位，现在是{len(number)}位，请核对证件后重新输入")]
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return [Issue("", f"{label}：前17位只能是数字，最后一位是数字或X，请核对后重新输入")]
    birth = id_birth_date(number)
    today = today or dt.date.today()
    if birth is None or birth > today or birth.year < 1900:
        return [Issue("", f"{label}：第7-14位出生日期“{number[6:14]}”不是有效日期，请核对证件后重新输入")]
    expected = id_check_char(number[:17])
    if number[17] != expected:
        return [Issue("", f"{label}：校验位不正确（最后一位应为{expected}），"
                          "多半是某一位录错了，请对照证件逐位核对")]
    prefix = number[:6]
    if prefix in PERMIT_PREFIXES or number[0] == "9":
        return []  # residence permits and foreign permanent resident IDs
    if number[:2] not in PROVINCES:
        return [Issue("", f"{label}：前两位地区码“{number[:2]}”不在已知省份中，请确认号码无误",
                      "warning")]
    return []


# --------------------------------------------------------------------------- 统一社会信用代码 (GB 32100)

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O Z S V
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def check_credit_code(raw: str, label: str = "统一社会信用代码") -> list[Issue]:
    code = normalize_text(raw).replace(" ", "").upper()
    if not code:
        return []
    if len(code) != 18:
        return [Issue("", f"{label}：应为18位，现在是{len(code)}位，请对照登记证书重新输入")]
    bad = [c for c in code if c not in _CREDIT_CHARS]
    if bad:
        return [Issue("", f"{label}：含有不允许的字符“{bad[0]}”（代码中不使用I、O、Z、S、V），"
                          "请对照登记证书重新输入")]
    if not code[2:8].isdigit():
        return [Issue("", f"{label}：第3-8位应为登记管理机关行政区划码（6位数字），请对照登记证书重新输入")]
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        return [Issue("", f"{label}：校验位不正确（最后一位应为{expected}），请对照登记证书逐位核对")]
    return []


# --------------------------------------------------------------------------- phone, division codes

def check_phone(raw: str, label: str = "手机号") -> list[Issue]:
    phone = normalize_text(raw).replace(" ", "").replace("-", "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not phone:
        return []
    if "*" in phone:
        return [Issue("", f"{label}：{MASKED_HINT}")]
    if not re.fullmatch(r"1[3-9]\d{9}", phone):
        return [Issue("", f"{label}：应为以1开头的11位手机号码（如13800138000），请核对后重新输入")]
    return []


def org_level(code: str) -> str:
    """'county', 'township' or 'village' from a 12-digit division code."""
    if code[9:] != "000":
        return "village"
    if code[6:9] != "000":
        return "township"
    return "county"


def township_of(code: str) -> str:
    return code[:9] + "000"


def county_of(code: str) -> str:
    return code[:6] + "000000"


def check_org_code(raw: str, label: str = "区划代码", parent: str | None = None) -> list[Issue]:
    code = normalize_text(raw).replace(" ", "")
    if not code:
        return []
    if not re.fullmatch(r"\d{12}", code):
        return [Issue("", f"{label}：应为12位数字的统计用区划代码（如220102001001），请核对后重新输入")]
    if code[:2] not in PROVINCES:
        return [Issue("", f"{label}：前两位省级代码“{code[:2]}”不存在，请核对后重新输入")]
    if code[2:6] == "0000":
        return [Issue("", f"{label}：第3-6位（市、县代码）不能全为0，请填写到村(社区)一级的代码")]
    if code[9:] != "000" and code[6:9] == "000":
        return [Issue("", f"{label}：村(社区)代码的第7-9位（乡镇/街道代码）不能是000，请核对代码")]
    if parent and parent_code_of(code) and parent != parent_code_of(code):
        return [Issue("", f"{label}：{code}不属于上级单位{parent}（应属于{parent_code_of(code)}），请核对代码")]
    return []


def parent_code_of(code: str) -> str | None:
    """The unit directly above: a village's township, a township's county (None for a county)."""
    level = org_level(code)
    if level == "village":
        return township_of(code)
    if level == "township":
        return county_of(code)
    return None


ORG_LEVEL_LABELS = {"county": "县", "township": "乡镇/街道", "village": "村/社区"}


def is_valid_org_code(code: str) -> bool:
    return not check_org_code(code)


# --------------------------------------------------------------------------- dates and numbers

_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
                      r"(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?$")  # Excel text of a date cell may carry 00:00:00
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: Any) -> dt.date:
    """Accepts date objects, Excel serials, 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日 (any width)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel serial day numbers
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError("不是有效日期")
    text = normalize_text(value)
    m = _DATE_RE.match(text)
    if not m:
        if re.fullmatch(r"\d{8}", text):
            m = re.match(r"(\d{4})(\d{2})(\d{2})", text)
        else:
            raise ValueError("不是有效日期")
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


_UNIT_WORDS = ("平方米", "平米", "㎡", "m²", "m2", "米", "人次", "小时", "户", "人", "台", "天", "个", "h", "元")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_number(value: Any) -> float:
    """A number, possibly typed with a unit or in full width: "350平方米", "３５０", "350 ㎡"."""
    if isinstance(value, bool):
        raise ValueError("不是数字")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("不是数字")
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    text = text.replace("m2", "m²").replace("平方米", "").replace("平米", "")
    for unit in _UNIT_WORDS:
        if text.endswith(unit):
            text = text[: -len(unit)]
            break
    if not _NUMBER_RE.match(text):
        raise ValueError("不是数字")
    return float(text)


_TRUE = {"是", "有", "y", "yes", "true", "1", "√", "✓", "t"}
_FALSE = {"否", "无", "n", "no", "false", "0", "×", "f", "不是"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = normalize_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("应填“是”或“否”")


def split_multi(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [normalize_text(v) for v in value if normalize_text(v)]
    text = normalize_text(value)
    return [p.strip() for p in re.split(r"[、,，;；/\s]+", text) if p.strip()] if text else []


# --------------------------------------------------------------------------- coercion

_MISSING = object()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def coerce(field: Field, raw: Any, choices: dict[str, list[str]] | None = None) -> tuple[Any, Issue | None]:
    """Turn user/Excel input into the field's value.  Returns (value, issue)."""
    label = field.label
    if is_blank(raw):
        return None, None
    t = field.type
    try:
        if t in ("text", "ref"):
            text = normalize_text(raw) if t == "text" else str(raw).strip()
            if field.max_length and len(text) > field.max_length:
                return None, Issue(field.name, f"{label}：最多{field.max_length}个字，现在有{len(text)}个字，请精简")
            return text, None
        if t in ("int", "decimal", "year"):
            number = parse_number(raw)
            if t in ("int", "year") and number != int(number):
                return None, Issue(field.name, f"{label}：应为整数，请去掉小数部分")
            value = int(number) if t in ("int", "year") else number
            unit = f" {field.unit}" if field.unit else ""
            if field.min is not None and value < field.min:
                what = "不能为负数" if field.min == 0 else f"不能小于{field.min:g}{unit}"
                return None, Issue(field.name, f"{label}：{what}，请核对后重新填写")
            if field.max is not None and value > field.max:
                return None, Issue(field.name, f"{label}：不能大于{field.max:g}{unit}，请核对后重新填写")
            return value, None
        if t == "date":
            try:
                value = parse_date(raw)
            except ValueError:
                return None, Issue(field.name, f"{label}：“{normalize_text(raw)}”不是有效日期，"
                                               "请按 2024-03-05 或 2024年3月5日 的格式填写")
            if value.year < 1900 or value > _latest_date():
                return None, Issue(field.name, f"{label}：{value.isoformat()}不在合理范围内，请核对年份")
            return value, None
        if t == "period":
            text = normalize_text(raw).replace("年", "-").replace("月", "").replace("/", "-").replace(".", "-")
            m = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
            if not m or not 1 <= int(m.group(2)) <= 12:
                return None, Issue(field.name, f"{label}：应为“年-月”，如2024-03")
            return f"{m.group(1)}-{int(m.group(2)):02d}", None
        if t == "bool":
            try:
                return parse_bool(raw), None
            except ValueError:
                return None, Issue(field.name, f"{label}：应填“是”或“否”")
        if t in ("choice", "multichoice"):
            allowed = (choices or DEFAULT_CHOICES).get(field.choices or "", [])
            items = split_multi(raw) if t == "multichoice" else [normalize_text(raw)]
            for item in items:
                if item not in allowed:
                    shown = "、".join(allowed[:8]) + ("等" if len(allowed) > 8 else "")
                    return None, Issue(field.name, f"{label}：“{item}”不是可选项，请从下拉列表中选择（{shown}）")
            return (items if t == "multichoice" else items[0]), None
        if t in ("id_number", "phone", "credit_code", "org_code"):
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                return None, Issue(field.name, f"{label}：单元格是数字格式，号码可能已丢失末尾数位，无法自动修复。"
                                               "请把该列设置为“文本”格式后重新录入")
            text = normalize_text(raw).replace(" ", "").upper()
            check = {"id_number": check_id_number, "phone": check_phone,
                     "credit_code": check_credit_code, "org_code": check_org_code}[t]
            issues = check(text, label)
            if t == "phone":
                text = text.replace("-", "").removeprefix("+86")
            for issue in issues:
                if issue.is_error:
                    return None, Issue(field.name, issue.message)
            warning = next((Issue(field.name, i.message, "warning") for i in issues), None)
            return text, warning
    except ValueError:
        unit = f"（单位：{field.unit}）" if field.unit else ""
        return None, Issue(field.name, f"{label}：“{normalize_text(raw)}”不是数字，请只填写数字{unit}")
    raise AssertionError(f"unknown field type {t}")


_latest = (dt.date.min, 0.0)


def _latest_date() -> dt.date:
    """The latest plausible date (a year from today); recomputed at most once a minute."""
    global _latest
    now = time.monotonic()
    if now > _latest[1]:
        _latest = (dt.date.today() + dt.timedelta(days=366), now + 60)
    return _latest[0]


# --------------------------------------------------------------------------- fast checks
#
# Bulk writes (Excel import, sync batches, 100,000 records) validate every field
# of every record.  Most values already arrive in their final form (an int for
# an int field, an exact choice-list item, a clean string), so each field has a
# check that accepts exactly those values, which ``coerce`` would return as they
# are; anything else goes to ``coerce`` and its messages
# (tests/test_sync_pipeline.py compares the two on tricky values).

_TEXT_NEEDS_WORK = re.compile(r"^\s|\s$|\s\s|[^\S ]")
_PHONE_OK = re.compile(r"1[3-9]\d{9}")
_PERIOD_OK = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_is_nfkc = unicodedata.is_normalized
_valid_org_codes: set[str] = set()


def _fast_check(f: Field, choices: dict[str, list[str]] | None) -> Callable[[Any], bool] | None:
    """A test accepting exactly the values ``coerce`` keeps as they are (``int`` and ``decimal``
    values are still converted with ``int``/``float``).  None: this field type has no fast path."""
    t = f.type
    lo, hi = f.min, f.max

    def in_bounds(v) -> bool:
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    if t == "text":
        limit = f.max_length or 10**9
        return lambda v: (type(v) is str and len(v) <= limit and _is_nfkc("NFKC", v)
                          and not _TEXT_NEEDS_WORK.search(v))
    if t == "ref":
        return lambda v: type(v) is str and v != "" and not v[0].isspace() and not v[-1].isspace()
    if t in ("int", "year"):  # Excel hands whole numbers over as floats (3.0)
        return lambda v: (type(v) is int or (type(v) is float and v.is_integer())) and in_bounds(v)
    if t == "decimal":
        return lambda v: (type(v) is float or type(v) is int) and in_bounds(v) and math.isfinite(v)
    if t == "date":
        return lambda v: type(v) is dt.date and v.year >= 1900 and v <= _latest_date()
    if t == "bool":
        return lambda v: type(v) is bool
    if t in ("choice", "multichoice"):
        allowed = {x for x in (choices or DEFAULT_CHOICES).get(f.choices or "", []) if normalize_text(x) == x}
        if t == "choice":
            return lambda v: type(v) is str and v in allowed
        return lambda v: type(v) is list and v != [] and all(type(x) is str and x in allowed for x in v)
    if t == "period":
        return lambda v: type(v) is str and _PERIOD_OK.fullmatch(v) is not None
    if t == "phone":
        return lambda v: type(v) is str and _PHONE_OK.fullmatch(v) is not None
    if t == "org_code":
        return lambda v: type(v) is str and v in _valid_org_codes
    return None


_KEEP = {"int": int, "year": int, "decimal": float, "multichoice": list}
_ABSENT = object()  # a field the raw values do not name (None is a value: a field cleared)


def _field_checks(rt: RecordType, choices: dict[str, list[str]] | None) -> list[tuple[Field, str, Any, Any]]:
    """(field, its name, fast check or None, conversion of an accepted value or None) for each field of ``rt``."""
    return [(f, f.name, _fast_check(f, choices), _KEEP.get(f.type)) for f in rt.fields]


_checks: dict[tuple[str, int], tuple] = {}


def _record_checks(rt: RecordType, choices: dict[str, list[str]] | None) -> list[tuple[Field, str, Any, Any]]:
    """The field checks of ``rt`` for this state of the choice lists (built once, then cached)."""
    key = (rt.name, id(choices))
    entry = _checks.get(key)
    if entry is None or entry[0] is not choices or entry[1] is not rt:
        if len(_checks) > 200:
            _checks.clear()
        entry = _checks[key] = (choices, rt, _field_checks(rt, choices))
    return entry[2]


def coerce_record(rt: RecordType, raw: dict, choices: dict[str, list[str]] | None = None,
                  *, check: bool = True, derive: bool = False, complete: bool = False) -> tuple[dict, list[Issue]]:
    """Coerce every field present in ``raw``; then check required fields and cross rules.

    ``check=False``: the fields only (a caller that checks the whole record itself).
    ``complete=True``: a field absent from ``raw`` is None in the result (a whole record).
    ``derive=True``: blank derived fields are filled from their sources before the checks
    (a record made here; a change made elsewhere arrives already derived).
    """
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    for f, name, fast, keep in _record_checks(rt, choices):
        given = raw.get(name, _ABSENT)
        if given is _ABSENT:
            if complete:
                values[name] = None
            continue
        if given is None or given == "":
            values[name] = None
            continue
        if fast is not None and fast(given):
            values[name] = given if keep is None else keep(given)
            continue
        value, issue = coerce(f, given, choices)
        if f.type == "org_code" and issue is None and value == given and len(_valid_org_codes) < 100_000:
            _valid_org_codes.add(value)
        if issue:
            issues.append(issue)
            if issue.is_error:
                continue
        values[name] = value
    if derive:
        derive_values(rt, values)
    if check:
        issues.extend(check_record(rt, values, skip={i.field for i in issues} if issues else ()))
    return values, issues


class Valid(dict):
    """A record's values that ``validate_record`` coerced, derived and checked without an error.

    ``Repository.bulk_write`` writes these as they are, where it validates a plain dict.  Only
    ``validate_record`` makes one (the key below), and it is read-only, so what was checked is
    what gets written.
    """

    __slots__ = ()

    def __init__(self, values: dict, key: object):
        if key is not _VALIDATED:
            raise TypeError("Valid values are made only by storage.validation.validate_record")
        super().__init__(values)

    def _read_only(self, *args, **kwargs):
        raise TypeError("validated values are read-only: validate the changed values again")

    __setitem__ = __delitem__ = __ior__ = update = pop = popitem = clear = setdefault = _read_only


_VALIDATED = object()


def validate_record(rt: RecordType, raw: dict, choices: dict[str, list[str]] | None = None,
                    ) -> tuple[Valid | None, list[Issue]]:
    """The validation and derivation of a record made here, for a source that validates before
    it writes (an Excel import): ``coerce_record`` with derivations.  Returns the values as
    ``Valid`` when no issue is an error (else None), and every issue (warnings included)."""
    values, issues = coerce_record(rt, raw, choices, derive=True)
    if any(i.is_error for i in issues):
        return None, issues
    return Valid(values, _VALIDATED), issues


_required: dict[str, tuple[RecordType, tuple[tuple[str, str], ...]]] = {}


def check_record(rt: RecordType, values: dict, skip: Iterable[str] = ()) -> list[Issue]:
    """Required fields and cross-field rules over already-coerced values."""
    skip = set(skip) if skip else ()
    entry = _required.get(rt.name)
    if entry is None or entry[0] is not rt:
        entry = _required[rt.name] = (rt, tuple((f.name, f.label) for f in rt.fields if f.required))
    issues = []
    get = values.get
    for name, label in entry[1]:
        v = get(name)
        if v.__class__ is str:  # the common case first: a filled-in text
            if v and not v.isspace():
                continue
        elif v is not None and v != [] and v != "":
            continue
        if name not in skip:
            issues.append(Issue(name, f"{label}：必填，请填写"))
    for rule in rt.cross_rules:
        if skip and skip.intersection(rule.fields):
            continue
        message = rule.check(values)
        if message:
            issues.append(Issue(rule.fields[-1], message))
    if rt.name == "org_unit":
        issues.extend(_check_org_unit(values, skip))
    if rt.name in ("staff",) and values.get("id_number") and values.get("birth_date"):
        born = id_birth_date(values["id_number"])
        if born and born != values["birth_date"]:
            issues.append(Issue("birth_date", f"出生日期：与身份号码中的出生日期（{born.isoformat()}）不一致，请核对"))
    return issues


def _check_org_unit(values: dict, skip: set) -> list[Issue]:
    """The level must match the code, and a unit sits directly under its parent's code."""
    code, level, parent = values.get("org_code"), values.get("level"), values.get("parent_code")
    if not code or "org_code" in skip or not is_valid_org_code(code):
        return []
    issues = []
    expected = ORG_LEVEL_LABELS[org_level(code)]
    if level and "level" not in skip and level != expected:
        issues.append(Issue("level", f"层级：区划代码{code}是{expected}一级的代码，层级却填了“{level}”，请核对"))
    if parent and "parent_code" not in skip and parent_code_of(code) and parent != parent_code_of(code):
        issues.append(Issue("parent_code", f"上级区划代码：{code}不属于上级单位{parent}"
                                           f"（应属于{parent_code_of(code)}），请核对代码"))
    return issues


# --------------------------------------------------------------------------- derivations

def _gender_of_id_number(number: str) -> str | None:
    return "男" if int(number[16]) % 2 else "女"


def _level_of_org_code(code: str) -> str | None:
    return ORG_LEVEL_LABELS[org_level(code)]


# What a field declares in ``Field.derived_from``: a function of its source field's valid value.
DERIVATIONS: dict[str, Callable[[Any], Any]] = {
    "birth_date_of_id_number": id_birth_date,
    "gender_of_id_number": _gender_of_id_number,
    "level_of_org_code": _level_of_org_code,
    "parent_of_org_code": parent_code_of,
}


def derive_values(rt: RecordType, values: dict) -> list[str]:
    """Fill blank derived fields from their valid source value (in place); returns the names filled.

    Runs on coerced values, so a source that failed validation is absent and derives nothing.
    """
    filled = []
    for f in _derived_fields(rt):
        source_name, how = f.derived_from
        source = values.get(source_name)
        if source is None or not is_blank(values.get(f.name)):
            continue
        value = DERIVATIONS[how](source)
        if value is not None:
            values[f.name] = value
            filled.append(f.name)
    return filled


_DERIVED: dict[str, tuple] = {}


def _derived_fields(rt: RecordType) -> tuple:
    held = _DERIVED.get(rt.name)
    if held is None or held[0] is not rt:
        held = _DERIVED[rt.name] = (rt, tuple(f for f in rt.fields if f.derived_from))
    return held[1]


# --------------------------------------------------------------------------- masking

def mask(field_type: str, value: Any) -> str:
    """Masked display of personal information: 110105********1234, 138****8000."""
    if value is None or value == "":
        return ""
    text = str(value)
    if field_type == "id_number" and len(text) >= 10:
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    if field_type == "phone" and len(text) >= 7:
        return text[:3] + "*" * (len(text) - 7) + text[-4:]
    return text
