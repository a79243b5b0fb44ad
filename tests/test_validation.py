"""Validators (storage.validation) against real valid and invalid examples and edge cases.

Check characters are recomputed here by hand (independently of the module) so a
wrong weight table in the code cannot agree with itself.
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.schema import RECORD_TYPES
from storage.validation import (Issue, ValidationError, check_credit_code, check_id_number, check_org_code,
                                check_phone, check_record, coerce, coerce_record, mask, org_level, parse_bool,
                                parse_date, parse_number, township_of, county_of)

# --------------------------------------------------------------------------- independent check characters


def hand_id_check(first17: str) -> str:
    """GB 11643-1999: weights 2^(18-i) mod 11, remainder → 1 0 X 9 8 7 6 5 4 3 2."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    assert weights == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    r = sum(int(d) * w for d, w in zip(first17, weights)) % 11
    return "10X98765432"[r]


def hand_credit_check(first17: str) -> str:
    """GB 32100-2015: alphabet without I O Z S V, weights 3^i mod 31, check = 31 - sum mod 31."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert len(alphabet) == 31 and not set("IOZSV") & set(alphabet)
    weights = [pow(3, i, 31) for i in range(17)]
    assert weights == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(c) * w for c, w in zip(first17, weights))
    return alphabet[(31 - total % 31) % 31]


def errors(issues: list[Issue]) -> list[str]:
    return [i.message for i in issues if i.is_error]


# --------------------------------------------------------------------------- 公民身份号码


TODAY = dt.date(2024, 6, 1)

VALID_IDS = [
    "11010519491231002X",  # the example printed in GB 11643-1999
    "11010519491231002x",  # lowercase x as typed
    "220102198503070015",  # 长春市南关区
    "440304200002290018",  # born on a leap day
    "810000199001010011",  # 港澳台居民居住证（香港）
    "820000198812120021",  # 港澳台居民居住证（澳门）
    "830000197506060032",  # 港澳台居民居住证（台湾）
    "911840198506120013",  # 2023 外国人永久居留身份证: 9 + province 11 + nationality 840 + birth + seq
]


def _with_check(number: str) -> str:
    return number[:17] + hand_id_check(number[:17])


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_id_numbers(number):
    fixed = _with_check(number)  # our fixtures carry a hand-computed check char
    if number[-1] in "xX":
        assert fixed[-1] == "X"
        fixed = number
    assert check_id_number(fixed, today=TODAY) == []


def test_gb11643_example_check_char_by_hand():
    assert hand_id_check("11010519491231002") == "X"
    assert check_id_number("11010519491231002X", today=TODAY) == []


def test_id_lowercase_x_is_stored_uppercase():
    value, issue = coerce(RECORD_TYPES["staff"].field("id_number"), " 11010519491231002x ")
    assert issue is None and value == "11010519491231002X"


def test_id_full_width_digits_are_accepted():
    value, issue = coerce(RECORD_TYPES["staff"].field("id_number"), "１１０１０５１９４９１２３１００２Ｘ")
    assert issue is None and value == "11010519491231002X"


def test_id_wrong_check_digit_exact_message():
    assert errors(check_id_number("110105194912310021", today=TODAY)) == [
        "公民身份号码：校验位不正确（最后一位应为X），多半是某一位录错了，请对照证件逐位核对"]


def test_id_swapped_digits_are_caught():
    good = _with_check("22010219850307001")
    swapped = good[:15] + good[16] + good[15] + good[17:]  # ...001 typed as ...010
    assert swapped != good and len(swapped) == 18
    assert "校验位不正确" in errors(check_id_number(swapped, today=TODAY))[0]


def test_id_bad_birth_date_exact_message():
    number = _with_check("11010519990230001")
    assert errors(check_id_number(number, today=TODAY)) == [
        "公民身份号码：第7-14位出生日期“19990230”不是有效日期，请核对证件后重新输入"]


def test_id_future_birth_date_is_refused():
    number = _with_check("11010520300101001")
    assert "出生日期“20300101”不是有效日期" in errors(check_id_number(number, today=TODAY))[0]
    # the day itself is fine
    assert check_id_number(_with_check("11010520240601001"), today=TODAY) == []


def test_id_birth_before_1900_is_refused():
    assert errors(check_id_number(_with_check("11010518991231001"), today=TODAY))


def test_id_15_digit_old_number_exact_message():
    assert errors(check_id_number("110105491231002", today=TODAY)) == [
        "公民身份号码：这是15位的旧号码，请按第二代身份证上的18位号码填写"]


def test_id_wrong_length_and_characters():
    assert errors(check_id_number("1101051949123100", today=TODAY)) == [
        "公民身份号码：应为18位，现在是16位，请核对证件后重新输入"]
    assert errors(check_id_number("11010519491231X02X", today=TODAY)) == [
        "公民身份号码：前17位只能是数字，最后一位是数字或X，请核对后重新输入"]
    assert errors(check_id_number("11010519491231002Y", today=TODAY))


def test_id_unknown_area_code_is_a_warning_not_an_error():
    number = _with_check("10010519491231002")
    issues = check_id_number(number, today=TODAY)
    assert errors(issues) == []
    assert [(i.severity, i.message) for i in issues] == [
        ("warning", "公民身份号码：前两位地区码“10”不在已知省份中，请确认号码无误")]
    # a warning keeps the value when coercing (it can be saved)
    value, issue = coerce(RECORD_TYPES["staff"].field("id_number"), number)
    assert value == number and issue is not None and issue.severity == "warning"


def test_id_as_excel_number_is_rejected_not_fixed():
    field = RECORD_TYPES["staff"].field("id_number")
    value, issue = coerce(field, 1.10105194912310e17)
    assert value is None and issue.message == (
        "公民身份号码：单元格是数字格式，号码可能已丢失末尾数位，无法自动修复。请把该列设置为“文本”格式后重新录入")
    value, issue = coerce(field, "1.10105E+17")
    assert value is None and "已被Excel转成科学计数法" in issue.message


# --------------------------------------------------------------------------- 统一社会信用代码

# Real, published codes (business licences shown on the companies' own sites).
REAL_CREDIT_CODES = [
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
]


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_pass(code):
    assert hand_credit_check(code[:17]) == code[17]
    assert check_credit_code(code) == []
    assert check_credit_code(code.lower()) == []  # typed in lowercase


@pytest.mark.parametrize("body", [
    "N2220102MA0000001",  # N2: 村集体经济组织 (registered by agriculture departments)
    "N3220102MA0000002",  # N3: 农民专业合作社 style prefix
    "51220102MJY000003",  # 51: 社会团体 registered by 民政
    "52220102MJY000004",  # 52: 民办非企业单位
    "53100000MJ0000005",  # 53: 基金会
    "Y1220102MA0000006",  # Y: other registration authorities
])
def test_credit_codes_with_letters_in_first_two_positions(body):
    code = body + hand_credit_check(body)
    assert check_credit_code(code) == [], code


def test_credit_code_wrong_check_char_exact_message():
    code = "91440300708461136T"
    wrong = code[:17] + ("U" if code[17] != "U" else "W")
    assert errors(check_credit_code(wrong)) == [
        "统一社会信用代码：校验位不正确（最后一位应为T），请对照登记证书逐位核对"]


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_credit_code_forbidden_letters(letter):
    code = "9144030070846113" + letter + "T"
    assert errors(check_credit_code(code)) == [
        f"统一社会信用代码：含有不允许的字符“{letter}”（代码中不使用I、O、Z、S、V），请对照登记证书重新输入"]


def test_credit_code_length_and_region():
    assert errors(check_credit_code("9144030070846113")) == [
        "统一社会信用代码：应为18位，现在是16位，请对照登记证书重新输入"]
    body = "91A40300708461136"
    assert "第3-8位应为登记管理机关行政区划码" in errors(check_credit_code(body + hand_credit_check(body)))[0]


def test_credit_code_is_optional_for_social_orgs():
    values, issues = coerce_record(RECORD_TYPES["social_org"], {
        "org_code": "220102001001", "name": "夕阳红协会", "org_type": "文体", "credit_code": ""})
    assert errors(issues) == [] and values["credit_code"] is None


# --------------------------------------------------------------------------- 手机号


@pytest.mark.parametrize("raw,stored", [
    ("13800138000", "13800138000"), ("138 0013 8000", "13800138000"), ("138-0013-8000", "13800138000"),
    ("+86 13912345678", "13912345678"), ("１９９１２３４５６７８", "19912345678"), ("16612345678", "16612345678"),
])
def test_valid_mobile_numbers(raw, stored):
    value, issue = coerce(RECORD_TYPES["staff"].field("phone"), raw)
    assert issue is None and value == stored


@pytest.mark.parametrize("raw", ["1380013800", "138001380001", "23800138000", "12800138000", "0431-88886666",
                                 "1380013800a"])
def test_invalid_mobile_numbers(raw):
    assert errors(check_phone(raw)) == ["手机号：应为以1开头的11位手机号码（如13800138000），请核对后重新输入"]


def test_phone_as_excel_number_is_rejected():
    _, issue = coerce(RECORD_TYPES["staff"].field("phone"), 13800138000)
    assert issue is not None and "单元格是数字格式" in issue.message


# --------------------------------------------------------------------------- 区划代码


def test_division_code_levels():
    assert org_level("220102000000") == "county"
    assert org_level("220102001000") == "township"
    assert org_level("220102001001") == "village"
    assert township_of("220102001001") == "220102001000"
    assert county_of("220102001001") == "220102000000"


def test_division_code_errors():
    assert errors(check_org_code("22010200100")) == [
        "区划代码：应为12位数字的统计用区划代码（如220102001001），请核对后重新输入"]
    assert errors(check_org_code("990102001001")) == ["区划代码：前两位省级代码“99”不存在，请核对后重新输入"]
    assert errors(check_org_code("220000001001"))[0].startswith("区划代码：第3-6位（市、县代码）不能全为0")
    assert errors(check_org_code("220102000001")) == [
        "区划代码：村(社区)代码的第7-9位（乡镇/街道代码）不能是000，请核对代码"]
    assert check_org_code("２２０１０２００１００１") == []


def test_village_must_sit_under_its_township():
    assert check_org_code("220102001001", parent="220102001000") == []
    assert errors(check_org_code("220102001001", parent="220102002000")) == [
        "区划代码：220102001001不属于上级单位220102002000（应属于220102001000），请核对代码"]
    # a village is not directly under the county
    assert errors(check_org_code("220102001001", parent="220102000000"))
    assert check_org_code("220102001000", parent="220102000000") == []


def test_org_unit_record_checks_level_and_parent():
    rt = RECORD_TYPES["org_unit"]
    _, issues = coerce_record(rt, {"org_code": "220102001001", "name": "幸福村", "level": "村/社区",
                                   "parent_code": "220102002000", "urban_rural": "农村社区"})
    assert errors(issues) == ["上级区划代码：220102001001不属于上级单位220102002000（应属于220102001000），请核对代码"]
    _, issues = coerce_record(rt, {"org_code": "220102001000", "name": "幸福镇", "level": "村/社区",
                                   "urban_rural": "农村社区"})
    assert errors(issues) == ["层级：区划代码220102001000是乡镇/街道一级的代码，层级却填了“村/社区”，请核对"]
    _, issues = coerce_record(rt, {"org_code": "220102001001", "name": "幸福村", "level": "村/社区"})
    assert errors(issues) == ["城乡分类：村/社区必须选择城市社区或农村社区"]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("raw", [
    dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 14, 30), 45356, 45356.0, "2024-03-05", "2024-3-5", "2024/3/5",
    "2024/03/05", "2024.3.5", "2024年3月5日", "2024年03月05日", "２０２４年３月５日", "２０２４－０３－０５",
    " 2024 年 3 月 5 日 ", "20240305", "2024-03-05 00:00:00", "2024年3月5号",
])
def test_dates_in_every_spelling(raw):
    assert parse_date(raw) == dt.date(2024, 3, 5)
    value, issue = coerce(RECORD_TYPES["service"].field("date"), raw)
    assert issue is None and value == dt.date(2024, 3, 5)


@pytest.mark.parametrize("raw", ["2024-02-30", "2024-13-01", "2024年3月", "三月五日", "2024-03-05 14:30",
                                 "5/3/2024", "abc"])
def test_invalid_dates(raw):
    value, issue = coerce(RECORD_TYPES["service"].field("date"), raw)
    assert value is None
    assert issue.message.startswith("日期：“") and issue.message.endswith(
        "”不是有效日期，请按 2024-03-05 或 2024年3月5日 的格式填写")


def test_date_out_of_range():
    value, issue = coerce(RECORD_TYPES["service"].field("date"), "1899-12-31")
    assert value is None and issue.message == "日期：1899-12-31不在合理范围内，请核对年份"
    far = dt.date.today() + dt.timedelta(days=800)
    assert coerce(RECORD_TYPES["service"].field("date"), far)[0] is None


def test_period_spellings():
    field = RECORD_TYPES["period"].field("period")
    for raw in ("2024-03", "2024-3", "2024年3月", "2024/03", "2024.3", "２０２４年３月"):
        assert coerce(field, raw) == ("2024-03", None)
    assert coerce(field, "2024-13")[1].message == "填报期：应为“年-月”，如2024-03"


# --------------------------------------------------------------------------- numbers with units


@pytest.mark.parametrize("raw,expected", [
    ("350", 350), ("350平方米", 350), ("350平米", 350), ("350 ㎡", 350), ("350㎡", 350), ("350m²", 350),
    ("350m2", 350), ("３５０", 350), ("３５０．５平方米", 350.5), ("1,200.5", 1200.5), (" 420 ", 420),
    (350, 350), (350.25, 350.25), ("2.5小时", 2.5), ("36人", 36), ("12人次", 12), ("820户", 820), ("3台", 3),
])
def test_numbers_with_units_and_full_width(raw, expected):
    assert parse_number(raw) == expected


@pytest.mark.parametrize("raw", ["", "约350", "三百五十", "350-400", "1.2.3", True, float("nan"), float("inf")])
def test_not_numbers(raw):
    with pytest.raises(ValueError):
        parse_number(raw)


def test_number_field_messages():
    rt = RECORD_TYPES["facility"]
    assert coerce(rt.field("building_area"), "三百平方米")[1].message == (
        "建筑面积：“三百平方米”不是数字，请只填写数字（单位：m²）")
    assert coerce(rt.field("building_area"), "-5")[1].message == "建筑面积：不能为负数，请核对后重新填写"
    assert coerce(rt.field("daily_open_hours"), 25)[1].message == "每日开放时长：不能大于24 小时，请核对后重新填写"
    assert coerce(rt.field("kiosks"), "1.5台")[1].message == "政务通用自助服务一体机台数：应为整数，请去掉小数部分"
    assert coerce(rt.field("kiosks"), "2台") == (2, None)


@pytest.mark.parametrize("type_name,field_name", [
    (rt.name, f.name) for rt in RECORD_TYPES.values() for f in rt.fields
    if f.type == "int" and f.min == 0])
def test_every_count_is_non_negative(type_name, field_name):
    field = RECORD_TYPES[type_name].field(field_name)
    value, issue = coerce(field, -1)
    assert value is None and issue.message == f"{field.label}：不能为负数，请核对后重新填写"
    assert coerce(field, 0) == (0, None)


# --------------------------------------------------------------------------- areas, required fields, cross rules


def facility(**over) -> dict:
    values = {"org_code": "220102001001", "name": "幸福村党群服务中心", "category": "综合服务设施/党群服务中心",
              "status": "在用"}
    values.update(over)
    return values


def test_activity_area_not_above_building_area():
    rt = RECORD_TYPES["facility"]
    _, issues = coerce_record(rt, facility(building_area="420平方米", activity_area="300"))
    assert errors(issues) == []
    _, issues = coerce_record(rt, facility(building_area="420平方米", activity_area="420"))
    assert errors(issues) == []
    _, issues = coerce_record(rt, facility(building_area="300", activity_area="420.5㎡"))
    assert errors(issues) == ["居民活动区域面积（420.5 m²）大于建筑面积（300 m²），请核对两项面积后重新填写"]
    assert issues[0].field == "activity_area"
    # no cross check when one of the two is itself invalid: only that field's message
    _, issues = coerce_record(rt, facility(building_area="很大", activity_area="420"))
    assert [i.field for i in issues] == ["building_area"]


def test_required_fields_exact_messages():
    _, issues = coerce_record(RECORD_TYPES["service"], {"org_code": "220102001001", "date": "2024-03-05",
                                                         "category": "", "mode": None})
    assert errors(issues) == ["服务类别：必填，请填写", "服务方式：必填，请填写", "服务对象：必填，请填写",
                              "人次：必填，请填写"]
    assert [i.field for i in issues] == ["category", "mode", "target", "persons"]


def test_choice_messages():
    value, issue = coerce(RECORD_TYPES["facility"].field("status"), "使用中")
    assert value is None and issue.message == "状态：“使用中”不是可选项，请从下拉列表中选择（在用、在建、规划、停用）"
    # full-width brackets typed by a user match the list's half-width ones
    assert coerce(RECORD_TYPES["staff"].field("roles"), "村（居）委会主任、网格员") == (
        ["村(居)委会主任", "网格员"], None)


def test_bool_spellings():
    for raw in ("是", "有", "Y", "yes", "TRUE", "1", "√", 1, True):
        assert parse_bool(raw) is True
    for raw in ("否", "无", "N", "no", "false", "0", "×", 0, False):
        assert parse_bool(raw) is False
    assert coerce(RECORD_TYPES["facility"].field("barrier_free"), "也许")[1].message == "无障碍：应填“是”或“否”"


def test_staff_rules():
    rt = RECORD_TYPES["staff"]
    base = {"org_code": "220102001001", "name": "张伟", "id_number": "11010519491231002X", "roles": "网格员",
            "status": "在岗"}
    _, issues = coerce_record(rt, base)
    assert errors(issues) == []
    _, issues = coerce_record(rt, {**base, "status": "离岗"})
    assert errors(issues) == ["在岗状态为“离岗”时请填写离岗日期"]
    _, issues = coerce_record(rt, {**base, "joined_on": "2020-05-01", "left_on": "2019-01-01", "status": "离岗"})
    assert errors(issues) == ["离岗日期（2019-01-01）早于到岗日期（2020-05-01），请核对"]
    _, issues = coerce_record(rt, {**base, "birth_date": "1949-12-30"})
    assert errors(issues) == ["出生日期：与身份号码中的出生日期（1949-12-31）不一致，请核对"]


def test_text_length_and_normalisation():
    field = RECORD_TYPES["facility"].field("name")
    assert coerce(field, "  幸福村　党群服务中心 ") == ("幸福村 党群服务中心", None)
    value, issue = coerce(field, "长" * 101)
    assert value is None and issue.message == "名称：最多100个字，现在有101个字，请精简"


def test_validation_error_message_names_record_and_fields():
    _, issues = coerce_record(RECORD_TYPES["staff"], {"org_code": "220102001001", "name": "", "roles": "网格员",
                                                      "status": "在岗", "id_number": "110105194912310021"})
    err = ValidationError(issues, "社区工作者")
    assert str(err) == ("社区工作者：公民身份号码：校验位不正确（最后一位应为X），多半是某一位录错了，请对照证件逐位核对；"
                        "姓名：必填，请填写")


def test_check_record_over_coerced_values():
    rt = RECORD_TYPES["org_year"]
    assert errors(check_record(rt, {"org_code": "220102001001", "year": 2024, "population": 100,
                                    "urban_population": 120})) == ["城镇常住人口大于常住人口，请核对"]


# --------------------------------------------------------------------------- masking


def test_mask_personal_information():
    assert mask("id_number", "11010519491231002X") == "110105********002X"
    assert mask("phone", "13800138000") == "138****8000"
    assert mask("id_number", None) == "" and mask("text", "幸福村") == "幸福村"


# --------------------------------------------------------------------------- fast paths agree with coerce

from hypothesis import given, settings, strategies as st  # noqa: E402

_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.dates(dt.date(1850, 1, 1), dt.date(2200, 1, 1)), st.text(max_size=12),
    st.sampled_from(["在用", "养老", " 在用", "村（居）委会主任", "网格员", "13800138000", "220102001001",
                     "2024-03", "2024-3", "幸福村　党群服务中心", "a\tb", "x  y", "350平方米", "长" * 101]),
    st.lists(st.sampled_from(["网格员", "医疗", "法律", " 医疗", "无此项", 3]), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(type_name=st.sampled_from(sorted(RECORD_TYPES)), data=st.data())
def test_fast_paths_match_coerce(type_name, data):
    """coerce_record's precompiled fast paths return exactly what coerce() returns, field by field."""
    from storage.choices import DEFAULT_CHOICES

    rt = RECORD_TYPES[type_name]
    raw = {f.name: data.draw(_VALUES, label=f.name) for f in rt.fields}
    values, issues = coerce_record(rt, raw, DEFAULT_CHOICES)
    by_field = {i.field: i for i in issues}
    for f in rt.fields:
        given_value = raw[f.name]
        if given_value is None or given_value == "":
            assert values[f.name] is None
            continue
        expected, issue = coerce(f, given_value, DEFAULT_CHOICES)
        if issue is not None and issue.is_error:
            assert f.name not in values and by_field[f.name].message == issue.message
        else:
            assert values[f.name] == expected and type(values[f.name]) is type(expected), f.name


def test_display_text_masks_pii_and_writes_values_the_way_people_read_them():
    import datetime as dt

    from storage.schema import RECORD_TYPES
    from storage.validation import display_text

    staff = RECORD_TYPES["staff"]
    assert display_text(staff.field("id_number"), "110105194912310029") == "110105********0029"
    assert display_text(staff.field("phone"), "13800138000") == "138****8000"
    assert display_text(staff.field("roles"), ["网格员", "社工"]) == "网格员、社工"
    assert display_text(staff.field("joined_on"), dt.date(2024, 3, 5)) == "2024-03-05"
    facility = RECORD_TYPES["facility"]
    assert display_text(facility.field("building_area"), 350.0) == "350"
    assert display_text(facility.field("building_area"), 1234567.25) == "1234567.25"  # not 1.23457e+06
    assert display_text(facility.field("open_on_holidays"), True) == "是"
    assert display_text(facility.field("name"), None) == "" and display_text(None, []) == ""
