"""The 达标 report for one org unit and year: data quality, indicators, standards checks.

Pure Python + SQL over a SQLAlchemy engine (no Qt): the desktop app, the
``taizhang report`` command and the county server call the same function.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.engine import Engine

from reports import drilldown
from reports.facts import Scope, apply_visit_months, gather, in_scope, visit_months
from reports.indicators import IndicatorResult, compute_all
from reports.profiles import Profile
from reports.quality import Finding, run_checks
from reports.standards import StandardCheck, all_checks, months_due
from reports.training import DueRow, evaluate
from storage.visits import month_visits


@dataclass
class UnitRow:
    """One village/community or township with its own I1–I14 (a row of the 指标 table)."""

    org_code: str
    name: str
    level: str
    township: str
    urban_rural: str | None
    results: dict[str, IndicatorResult]


@dataclass
class Report:
    scope: Scope
    profile: Profile
    indicators: list[IndicatorResult]
    villages: list[UnitRow]
    townships: list[UnitRow]
    standards: list[StandardCheck]
    quality: list[Finding]
    training: list[DueRow] = field(default_factory=list)  # who is due for training, by the profile's rules
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    seconds: float = 0.0

    @property
    def title(self) -> str:
        return f"{self.scope.name}{self.scope.year}年度城乡社区服务体系主要指标达标报告"

    def cover_facts(self) -> list[tuple[str, str]]:
        """The cover's lines (项目, 内容), the same in the Excel and the PDF report."""
        from reports.indicators import CANNOT, MET, NOT_MET

        s, p = self.scope, self.profile
        counts = {status: sum(1 for r in self.indicators if r.status == status) for status in (MET, NOT_MET, CANNOT)}
        return [("单位", f"{s.name}（{s.code}）"), ("层级", s.level_name), ("年度", f"{s.year}年"),
                ("指标方案", p.name), ("方案依据", p.source or "自定义方案"),
                ("村(社区)数", f"{len(s.villages)}（城市社区 {sum(v.is_urban for v in s.villages)}，"
                             f"农村社区 {sum(v.is_rural for v in s.villages)}）"),
                ("乡镇(街道)数", str(len(s.townships))),
                ("指标结果", f"达标 {counts[MET]} 项，未达标 {counts[NOT_MET]} 项，无法计算 {counts[CANNOT]} 项"),
                ("数据质量问题", f"{len(self.quality)} 条（见“数据质量”，请先处理）"),
                ("生成时间", self.created_at.astimezone().strftime("%Y-%m-%d %H:%M"))]

    @property
    def names(self) -> dict[str, str]:
        out = {v.code: v.name for v in self.scope.villages}
        out.update({t.code: t.name for t in self.scope.townships})
        out[self.scope.code] = self.scope.name
        return out


def build_report(engine: Engine, org_code: str, year: int, profile: Profile, *,
                 today: dt.date | None = None) -> Report:
    started = time.perf_counter()
    # The scan of the service records (monthly visits) is the slow part; it runs on its own
    # connection in a worker thread while the other queries and the indicator arithmetic proceed
    # (the database drivers release the GIL while they work).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-visits") as pool:
        visits = pool.submit(_visit_months, engine, org_code, year)
        try:
            with engine.connect() as conn:
                scope = gather(conn, org_code, year, with_visits=False)
                quality = run_checks(conn, scope)
                _named_visits(conn, scope, year, today)
        except BaseException:
            visits.cancel()
            raise
        report = _assemble(engine, scope, quality, profile, year, today, visits)
    report.seconds = time.perf_counter() - started
    return report


def _named_visits(conn, scope, year: int, today) -> None:
    """Each village's monthly visits to the people on its 特殊困难老年人 register (storage.visits)."""
    by_code = {v.code: v for v in scope.villages}
    for month in months_due(year, today):
        for code, visits in month_visits(conn, lambda col: in_scope(col, scope.code),
                                         f"{year}-{month:02d}").items():
            if code in by_code:
                by_code[code].visit_register[month] = visits


def _visit_months(engine: Engine, org_code: str, year: int) -> dict:
    with engine.connect() as conn:
        return visit_months(conn, org_code, year)


def _assemble(engine, scope, quality, profile, year, today, visits) -> Report:
    loader = partial(drilldown.record_ids, engine)
    indicators = compute_all(scope, profile)
    village_rows = []
    if scope.level != "village":
        for v in scope.villages:
            rs = compute_all(scope, profile, [v], [], level="village", code=v.code, name=v.name)
            village_rows.append(UnitRow(v.code, v.name, "village", v.township, v.urban_rural,
                                        {r.indicator_id: r for r in rs}))
    township_rows = []
    if scope.level == "county":
        for t in scope.townships:
            vs = [v for v in scope.villages if v.township == t.code]
            rs = compute_all(scope, profile, vs, [t], level="township", code=t.code, name=t.name)
            township_rows.append(UnitRow(t.code, t.name, "township", t.code, None, {r.indicator_id: r for r in rs}))
    for r in indicators + [r for row in village_rows + township_rows for r in row.results.values()]:
        r._ids_loader = loader
    apply_visit_months(scope, visits.result())
    standards = all_checks(scope.villages, year, today, profile)
    names = {v.code: v.name for v in scope.villages}
    training = evaluate([p for v in scope.villages for p in v.people], profile.training_rules, year, names, today)
    return Report(scope, profile, indicators, village_rows, township_rows, standards, quality, training)
