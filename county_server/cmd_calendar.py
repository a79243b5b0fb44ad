"""``taizhang-server calendar``: the county's statutory holidays and 调休 working days.

民政部令第67号 第十一条 counts 10 working days.  The ``chinesecalendar`` package knows the years up to
its release; when the State Council publishes a later year's arrangement the county adds it here.
The dates are kept as the county-maintained lists ``statutory_holidays`` and ``adjusted_workdays``
and reach every PC with the choice lists at its next sync.
"""

from __future__ import annotations

import argparse

from storage.cli import UserError


def _calendar(args) -> int:
    from reports.workdays import WorkdayCalendar, parse_dates
    from storage.db import open_server_database
    from storage.repository import Repository, WriteRefused

    engine = open_server_database(args.db)
    try:
        repo = Repository(engine, actor="县级管理员")
        if args.calendar_command == "add":
            try:
                holidays = parse_dates(_split(args.holidays), "法定节假日")
                workdays = parse_dates(_split(args.workdays), "调休上班日")
            except ValueError as exc:
                raise UserError(str(exc)) from None
            both = sorted(set(holidays) & set(workdays))
            if both:
                raise UserError(f"{'、'.join(both)} 同时写成了节假日和上班日，请核对后重新输入，未保存")
            if not holidays and not workdays:
                raise UserError("请用 --holidays 或 --workdays 给出日期，例如 --holidays 2027-01-01,2027-01-02")
            try:
                for name, new in (("statutory_holidays", holidays), ("adjusted_workdays", workdays)):
                    if new:
                        current = repo.choices()[name]
                        repo.save_choice_list(name, sorted(set(current) | set(new)))
            except WriteRefused as exc:
                raise UserError(str(exc)) from None
            print(f"已保存：法定节假日 {len(holidays)} 天，调休上班日 {len(workdays)} 天；各村(社区)下次同步后生效")
            return 0
        calendar = WorkdayCalendar.from_choices(repo.choices())
        year = args.year
        source = ("县里登记的安排" if year in calendar.county_years() else
                  "程序自带的国家安排（chinesecalendar）" if calendar.knows(year) else "尚无安排，暂按周末计算")
        print(f"{year}年工作日安排：{source}")
        import datetime as dt

        day = dt.date(year, 1, 1)
        off = []
        while day.year == year:
            if (day.weekday() < 5) != calendar.is_workday(day):
                off.append(f"{day.isoformat()}{'（上班）' if calendar.is_workday(day) else '（放假）'}")
            day += dt.timedelta(days=1)
        print("与平常周一至周五不同的日子：" + ("、".join(off) if off else "无"))
        return 0
    finally:
        engine.dispose()


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").replace("，", ",").split(",") if x.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calendar", help="法定节假日和调休上班日（志愿服务记录10个工作日补录标记用）")
    csub = p.add_subparsers(dest="calendar_command", metavar="子命令", required=True)
    a = csub.add_parser("add", help="登记国务院公布的节假日安排",
                        description="示例：taizhang-server calendar add --holidays 2027-01-01,2027-01-02 "
                                    "--workdays 2027-01-04")
    a.add_argument("--holidays", help="放假的日期，逗号分隔")
    a.add_argument("--workdays", help="调休上班的周末日期，逗号分隔")
    a.set_defaults(func=_calendar)
    s = csub.add_parser("show", help="显示某年的工作日安排")
    s.add_argument("year", type=int, help="年份")
    s.set_defaults(func=_calendar)
