"""Paper for the month and the year: the month's submission slip (月报表) and the 达标 report as PDF.

Both draw through ``exchange.pdf.PdfDoc`` (the one print layout: embedded Chinese font, page numbers,
header repeated on every page).  No Qt: the desktop, ``taizhang print month`` and
``taizhang report -o F.pdf`` / ``taizhang-server report -o F.pdf`` call these functions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from exchange.pdf import BODY_SIZE, FONT, Col, ColSpec, PdfDoc, PrintResult, fit_columns, write_pdf
from reports.indicators import CANNOT, MET, NOT_MET, format_number
from reports.report import Report
from storage.models import table_for
from storage.periods import completeness, get_state, month_bounds, period_label
from storage.schema import RECORD_TYPES

SLIP_TYPES = ("service", "volunteer_hours", "training", "facility", "staff", "volunteer_team", "volunteer",
              "social_org")


def _cols(doc: PdfDoc, spec: list[tuple[str, float, str]]) -> list[Col]:
    """Columns from (header, share of the width, alignment)."""
    total = sum(share for _, share, _ in spec)
    return [Col(h, doc.content_width * share / total, align) for h, share, align in spec]


# --------------------------------------------------------------------------- the month slip


def month_counts(engine, org_code: str, period: str) -> list[tuple[str, int | None, int, int]]:
    """Per record type: (label, records dated in the month or None if undated, entered this month, live)."""
    start, end = month_bounds(period)
    start_utc = dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc)
    end_utc = dt.datetime(end.year, end.month, end.day, tzinfo=dt.timezone.utc)
    out = []
    with engine.connect() as conn:
        for name in SLIP_TYPES:
            rt = RECORD_TYPES[name]
            t = table_for(name)
            live = (t.c.org_code == org_code) & t.c.deleted.is_(False)
            total = conn.execute(select(func.count()).select_from(t).where(live)).scalar_one()
            entered = conn.execute(select(func.count()).select_from(t).where(
                live, t.c.created_at >= start_utc, t.c.created_at < end_utc)).scalar_one()
            dated = None
            if rt.date_field:
                col = t.c[rt.date_field]
                dated = conn.execute(select(func.count()).select_from(t).where(
                    live, col >= start, col < end)).scalar_one()
            out.append((rt.label, dated, entered, total))
        t = table_for("service")
        persons = conn.execute(select(func.coalesce(func.sum(t.c.persons), 0)).where(
            t.c.org_code == org_code, t.c.deleted.is_(False), t.c.date >= start, t.c.date < end)).scalar_one()
    out.append(("服务人次合计", int(persons), 0, 0))
    return out


def write_month_slip(repo, path: str | Path, org_code: str, period: str, *, org_name: str | None = None
                     ) -> PrintResult:
    """The month's 月报表: counts per record type, the checklist, signature and stamp lines."""
    counts = month_counts(repo.engine, org_code, period)
    checklist = completeness(repo, org_code, period)
    state = get_state(repo, org_code, period)
    label = period_label(period)
    title = f"{org_name or ''}{label}社区服务台账月报表"

    def draw(doc: PdfDoc) -> None:
        doc.heading(title)
        doc.line_pair(f"填报单位：{org_name or '—'}（区划代码 {org_code}）",
                      f"填报期：{period}　状态：{state.status}")
        rows = []
        for i, (name, dated, entered, total) in enumerate(counts, 1):
            if name == "服务人次合计":
                rows.append([str(i), name, str(dated), "—", "—"])
            else:
                rows.append([str(i), name, "—" if dated is None else str(dated), str(entered), str(total)])
        doc.table(_cols(doc, [("序号", 1, "right"), ("台账", 4, "left"), (f"{label}的记录（按日期）", 3, "right"),
                              ("本月新录入", 2.2, "right"), ("在册/累计", 2.2, "right")]), rows)
        doc.heading("提交前检查", size=12, center=False, space_after=4)
        result = "✓ 台账齐全，可以提交" if checklist.ok else "× 尚未齐全：请按下表说明补充、改正后再提交"
        doc.text(f"检查结果：{result}")
        doc.space(4)
        doc.table(_cols(doc, [("序号", 1, "right"), ("检查项", 4, "left"), ("结果", 1.6, "center"),
                              ("说明", 8, "left")]),
                  [[str(i), item.label, "✓ 通过" if item.ok else ("× 未通过" if item.blocking else "提示"),
                    item.detail] for i, item in enumerate(checklist.items, 1)])
        doc.space(18)
        _signature_block(doc)

    out, pages = write_pdf(path, draw, title=title, running_head=title, signature=False, subject="月报表")
    return PrintResult(out, sum(1 for c in counts), pages)


def _signature_block(doc: PdfDoc) -> None:
    """Signature, date and stamp lines at the end of a slip, with room for the stamp."""
    lines = [("制表人（签字）：________________", "审核人（村(社区)负责人签字）：________________"),
             ("填报日期：________年____月____日", "单位（盖章）："),
             ("乡镇(街道)审核意见：__________________________________", "审核人：____________")]
    doc.need(len(lines) * 30 + 60)
    c = doc.canvas
    x_right = doc.width / 2 + 10
    for left, right in lines:
        c.setFont(FONT, 11)
        c.drawString(doc.width * 0 + 40, doc.y - 11, left)
        c.drawString(x_right, doc.y - 11, right)
        doc.y -= 30
    # a dashed circle where the unit's stamp goes
    c.saveState()
    c.setDash(3, 3)
    c.setLineWidth(0.6)
    c.circle(x_right + 150, doc.y + 45, 38)
    c.setFont(FONT, BODY_SIZE)
    c.setFillGray(0.5)
    c.drawCentredString(x_right + 150, doc.y + 42, "盖章处")
    c.restoreState()


# --------------------------------------------------------------------------- the 达标 report


def indicator_gap(r) -> str:
    """How far a value is from its target, in the indicator's unit and in what would close it
    ("差 6.7%，还差 1个农村社区"; "已达标" when met)."""
    if r.status == MET:
        return "已达标"
    if r.status != NOT_MET or r.value is None or not r.target.has_target:
        return "—"
    d = r.definition
    short = "差 " + format_number(r.target.value - r.value, d.decimals, d.unit)
    return f"{short}，{r.gap_text.split('（')[0]}" if r.gap_text else short  # …，还差 3个农村社区


def _indicator_chart(report: Report, width: float):
    """Each indicator with a target: its value as a share of the target (100% = met)."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing, Line, String
    from reportlab.lib import colors

    rows = [r for r in report.indicators if r.value is not None and r.target.has_target and r.target.value]
    if not rows:
        return None
    rows = rows[::-1]  # the chart draws bottom-up; read top-down in indicator order
    height = 40 + 18 * len(rows)
    d = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 150, 25, width - 190, height - 40
    shares = [min(200.0, 100.0 * r.value / r.target.value) for r in rows]
    chart.data = [shares]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 200, 25
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.categoryAxis.categoryNames = [f"{r.indicator_id} {r.name[:12]}" for r in rows]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.bars[0].fillColor = colors.HexColor("#4472c4")
    for i, r in enumerate(rows):
        chart.bars[(0, i)].fillColor = colors.HexColor("#70ad47" if r.status == MET else "#c00000")
    d.add(chart)
    x100 = chart.x + chart.width * 100 / 200
    d.add(Line(x100, chart.y, x100, chart.y + chart.height, strokeColor=colors.black, strokeDashArray=[3, 2]))
    d.add(String(x100 + 2, chart.y + chart.height + 4, "目标 100%", fontName=FONT, fontSize=7))
    d.add(String(0, height - 10, "指标完成度（数值 ÷ 目标值；绿色达标，红色未达标）", fontName=FONT,
                 fontSize=9))
    return d


def _standards_chart(report: Report, width: float):
    """Per standards check: how many villages meet it and how many do not."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    names: list[str] = []
    met: dict[str, int] = {}
    not_met: dict[str, int] = {}
    for c in report.standards:
        if c.check not in met:
            names.append(c.check)
            met[c.check] = not_met[c.check] = 0
        if c.status == MET:
            met[c.check] += 1
        elif c.status == NOT_MET:
            not_met[c.check] += 1
    if not names:
        return None
    d = Drawing(width, 200)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 45, width - 150, 130
    chart.data = [[met[n] for n in names], [not_met[n] for n in names]]
    chart.categoryAxis.categoryNames = [n[:8] for n in names]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#70ad47")
    chart.bars[1].fillColor = colors.HexColor("#c00000")
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 95, 150
    legend.fontName = FONT
    legend.colorNamePairs = [(colors.HexColor("#70ad47"), "达标（村数）"), (colors.HexColor("#c00000"), "未达标（村数）")]
    d.add(legend)
    d.add(String(0, 188, "村(社区)达标检查：各检查项达标与未达标的村(社区)数", fontName=FONT, fontSize=9))
    return d


def write_report_pdf(report: Report, path: str | Path) -> PrintResult:
    """The 达标 report: cover, indicators (target, value, gap), charts, per-unit results, standards
    checks, data-quality findings."""
    p = report.profile
    title = report.title

    def draw(doc: PdfDoc) -> None:
        doc.space(doc.height * 0.18)
        doc.heading(title, size=20)
        doc.space(30)
        info = report.cover_facts()
        doc.table(_cols(doc, [("项目", 1, "left"), ("内容", 4, "left")]), info)
        doc.text("说明：指标按各村(社区)数据汇总：分子、分母分别求和后相除；缺少分母数据的村(社区)不计入并在说明中列出。")

        doc.new_page()
        doc.heading(f"一、主要指标（方案：{p.name}）", size=13, center=False)
        doc.table(_cols(doc, [("编号", 0.8, "left"), ("指标", 5, "left"), ("数值", 1.6, "right"),
                              ("目标值", 1.8, "center"), ("差距", 1.8, "right"), ("状态", 1.5, "center"),
                              ("说明", 5, "left")]),
                  [[r.indicator_id, r.name, r.value_text, r.target.describe(), indicator_gap(r), r.mark,
                    r.reason or r.note or f"{r.definition.numerator_label} ÷ {r.definition.denominator_label}"]
                   for r in report.indicators])
        chart = _indicator_chart(report, doc.content_width)
        if chart is not None:
            doc.drawing(chart)

        if report.villages:
            doc.heading("二、各乡镇(街道)、村(社区)达标情况", size=13, center=False)
            ids = [r.indicator_id for r in report.indicators]
            specs = [ColSpec("名称", 90, 60)] + [ColSpec(i, 30, 26, "center", shrinks=False) for i in ids]
            cols = fit_columns(specs, doc.content_width) or [Col(sp.header, sp.natural) for sp in specs]
            doc.text("✓ 达标　× 未达标　○ 无法计算　空白：无目标值或不适用")
            marks = {MET: "✓", NOT_MET: "×", CANNOT: "○"}
            doc.table(cols, ([u.name] + [marks.get(u.results[i].status, "") for i in ids]
                             for u in report.townships + report.villages))

        doc.heading("三、村(社区)达标检查", size=13, center=False)
        chart = _standards_chart(report, doc.content_width)
        if chart is not None:
            doc.drawing(chart)
        doc.table(_cols(doc, [("村(社区)", 2, "left"), ("检查项", 2.2, "left"), ("标准", 3.5, "left"),
                              ("本单位数值", 2, "left"), ("状态", 1.4, "center"), ("差距", 3.5, "left")]),
                  ([c.org_name, c.check, c.rule, c.figure, c.mark, c.gap] for c in report.standards))

        doc.heading("四、数据质量检查", size=13, center=False)
        findings = [[f.severity, f.org_name, f.check, f.message] for f in report.quality]
        doc.table(_cols(doc, [("级别", 1, "center"), ("村(社区)", 2, "left"), ("问题", 2.5, "left"),
                              ("说明", 8, "left")]),
                  findings or [["", "", "未发现问题", "各项基础数据齐全，未发现明显错误"]])

    out, pages = write_pdf(path, draw, title=title, running_head=title, subject="达标报告")
    return PrintResult(out, len(report.indicators), pages)


__all__ = ["write_month_slip", "write_report_pdf", "month_counts", "indicator_gap"]
