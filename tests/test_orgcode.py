"""storage.orgcode: a division code's level, the units above it, and the area it governs."""

from __future__ import annotations

import pytest
from sqlalchemy import column, select, table

from storage.orgcode import LEVEL_LABELS, OrgCode, Scope, as_org_code

COUNTY, TOWNSHIP, VILLAGE = "220102000000", "220102001000", "220102001001"
OTHER_TOWNSHIP_VILLAGE, OTHER_COUNTY_VILLAGE = "220102002001", "220103001001"


@pytest.mark.parametrize("code, level, label, parent", [
    (COUNTY, "county", "县", None),
    (TOWNSHIP, "township", "乡镇/街道", COUNTY),
    (VILLAGE, "village", "村/社区", TOWNSHIP),
])
def test_level_and_parent(code, level, label, parent):
    org = OrgCode(code)
    assert org.level == level and org.level_label == label == LEVEL_LABELS[level]
    assert (str(org.parent) if org.parent else None) == parent
    assert org.county == OrgCode(COUNTY)


def test_village_belongs_to_its_township_and_county():
    village = OrgCode(VILLAGE)
    assert village.township.code == TOWNSHIP
    assert village.within(TOWNSHIP) and village.within(COUNTY) and village.within(VILLAGE)
    assert not village.within("220102002000")
    assert not OrgCode(TOWNSHIP).within(VILLAGE)


@pytest.mark.parametrize("scope_of, inside, outside", [
    (COUNTY, [COUNTY, TOWNSHIP, VILLAGE, OTHER_TOWNSHIP_VILLAGE], [OTHER_COUNTY_VILLAGE]),
    (TOWNSHIP, [TOWNSHIP, VILLAGE], [COUNTY, OTHER_TOWNSHIP_VILLAGE, OTHER_COUNTY_VILLAGE]),
    (VILLAGE, [VILLAGE], [TOWNSHIP, "220102001002", OTHER_TOWNSHIP_VILLAGE]),
])
def test_scope_contains(scope_of, inside, outside):
    scope = Scope.of(scope_of)
    assert all(scope.contains(c) for c in inside)
    assert not any(scope.contains(c) for c in outside)
    assert not scope.contains(None) and not scope.contains("")


def test_scope_as_sql_selects_the_same_codes(engine):
    codes = [COUNTY, TOWNSHIP, VILLAGE, OTHER_TOWNSHIP_VILLAGE, OTHER_COUNTY_VILLAGE]
    t = table("codes", column("org_code"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE codes (org_code TEXT)")
        conn.exec_driver_sql("INSERT INTO codes VALUES " + ",".join(f"('{c}')" for c in codes))
        for scope in (Scope.of(COUNTY), Scope.of(TOWNSHIP), Scope.of(VILLAGE), Scope.everything()):
            got = set(conn.execute(select(t.c.org_code).where(scope.sql(t.c.org_code))).scalars())
            assert got == {c for c in codes if scope.contains(c)}


@pytest.mark.parametrize("bad", ["", "22010200100", "2201020010011", "22010200100X", None])
def test_not_a_code(bad):
    with pytest.raises(ValueError, match="12位数字"):
        OrgCode(bad)


def test_as_org_code_keeps_a_value():
    code = OrgCode(VILLAGE)
    assert as_org_code(code) is code and as_org_code(VILLAGE) == code
