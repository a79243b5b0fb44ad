"""Working days for 民政部令第67号 第十一条 (records within 10 working days), worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.workdays import WorkdayCalendar, parse_dates

D = dt.date


def test_national_day_2025_with_its_adjusted_working_days():
    """2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked (国办发明电〔2024〕12号)."""
    cal = WorkdayCalendar()
    assert cal.is_workday(D(2025, 9, 28)) and cal.is_workday(D(2025, 10, 11))  # 调休
    assert not cal.is_workday(D(2025, 10, 1)) and not cal.is_workday(D(2025, 10, 8))
    # activity Friday 26 September: working days 28, 29, 30 Sep, 9, 10, 11, 13, 14, 15, 16 Oct
    assert cal.deadline(D(2025, 9, 26)) == D(2025, 10, 16)
    assert cal.workdays_between(D(2025, 9, 26), D(2025, 10, 16)) == 10  # on time
    assert cal.workdays_between(D(2025, 9, 26), D(2025, 10, 17)) == 11  # late
    # by weekdays alone the deadline would have been 10 October
    assert WorkdayCalendar().workdays_between(D(2025, 9, 26), D(2025, 10, 10)) == 5


def test_a_year_the_package_does_not_know_comes_from_the_county():
    weekend_only = WorkdayCalendar()
    assert not weekend_only.knows(2031)
    assert weekend_only.is_workday(D(2031, 1, 1))  # a Wednesday, not yet known to be a holiday
    county = WorkdayCalendar(holidays={D(2031, 1, 1)}, workdays={D(2031, 1, 4)})  # a Saturday worked
    assert county.knows(2031)
    assert not county.is_workday(D(2031, 1, 1)) and county.is_workday(D(2031, 1, 4))
    assert not county.is_workday(D(2031, 1, 5))  # Sunday
    assert WorkdayCalendar.from_choices({"statutory_holidays": ["2031-01-01"], "adjusted_workdays": []}).holidays \
        == {D(2031, 1, 1)}


def test_dates_a_county_types_are_read_or_refused():
    assert parse_dates(["2031/1/1", "2031年1月2日", "2031-01-01"], "法定节假日") == ["2031-01-01", "2031-01-02"]
    with pytest.raises(ValueError, match="法定节假日第 2 个日期“1月3日”无法识别"):
        parse_dates(["2031-01-01", "1月3日"], "法定节假日")


@pytest.mark.usefixtures("insecure_keyring")
def test_a_year_the_county_adds_reaches_a_village_by_sync(tmp_path):
    """taizhang-server calendar add → the next sync → the village counts 补录 with it."""
    import subprocess

    from tests.serverproc import SERVER_CMD, ServerProcess, SyncTestClient, server_env, setup_county

    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    server.start()
    try:
        setup_county(server)
        done = subprocess.run([*SERVER_CMD, "--db", server.db_url, "calendar", "add", "--holidays", "2031-01-01,2031-01-02",
                               "--workdays", "2031-01-04"], env=server_env(server.home), capture_output=True, text=True,
                              timeout=120, check=True)
        assert "法定节假日 2 天，调休上班日 1 天" in done.stdout
        village = SyncTestClient(tmp_path / "clients", "cun", server.url, "cun")
        try:
            assert not WorkdayCalendar.from_choices(village.repo.choices()).knows(2031)
            village.sync()
            cal = WorkdayCalendar.from_choices(village.repo.choices())
            assert cal.knows(2031) and not cal.is_workday(D(2031, 1, 2)) and cal.is_workday(D(2031, 1, 4))
            # 31 December 2030 (Tue) + 10 working days: 3 (Fri), 4 (Sat, worked), 6, 7, 8, 9, 10, 13, 14, 15
            assert cal.deadline(D(2030, 12, 31)) == D(2031, 1, 15)
        finally:
            village.close()
    finally:
        server.stop()
