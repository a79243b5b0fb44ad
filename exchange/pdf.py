"""Paper: the one print layout (PDF, drawn with reportlab) for ledgers, the month slip and reports.

No Qt.  The desktop's 打印预览 / 打印 / 导出PDF, ``taizhang print`` and ``taizhang report -o F.pdf``
all draw through :class:`PdfDoc`, so what is previewed is exactly what is printed or saved.

* The Chinese font is embedded (a subset of WenQuanYi Micro Hei, or the first usable CJK TrueType
  font found, see :func:`cjk_font_file`), so the PDF prints right on a PC that lacks the font.
* Pages are A4; a ledger is portrait when its columns fit, landscape otherwise.  Every page repeats
  the table header, carries the signature line 制表人 / 审核人 / 填报日期 / 单位（盖章） and
  "第 x 页 共 y 页".  The total is drawn once, at the end, into a PDF form that every page already
  refers to: one pass over the rows, so a 100,000-row ledger is streamed from the database in
  chunks and never held in memory.
* Long work reports ``progress(done, total)``; the callback may raise (the desktop's 取消 does) and
  the half-written file is removed.  The PDF is written to ``F.part`` and renamed when complete.
* ID numbers and phones are masked unless ``full=True``.  A full printout is a disclosure: its callers
  (``taizhang print --full``, the desktop's print dialog) make it inside ``storage.disclosure.allow_full``,
  which checks the role and purpose and records it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFError
from reportlab.pdfgen.canvas import Canvas

from storage.cli import UserError
from storage.schema import Field, RecordType, record_type
from storage.validation import display_text, stored_value

log = logging.getLogger("taizhang.pdf")

FONT = "TaizhangCJK"
MARGIN = 12 * mm
BODY_SIZE = 9
TITLE_SIZE = 16
PAD = 2.2  # points of white space inside a table cell
ROW_CHUNK = 1000  # rows fetched from the database at a time
# characters the bundled font lacks, drawn as a close look-alike instead of an empty box
GLYPH_FALLBACK = str.maketrans({"✗": "×", "✘": "×", "✔": "✓"})
SIGNATURE_LINE = ("制表人：__________", "审核人：__________", "填报日期：______年____月____日", "单位（盖章）：")

Progress = Callable[[int, int], None]

# Where a CJK TrueType font may be, in order.  The installers bundle WenQuanYi Micro Hei under
# ``fonts/`` next to the program (installers/pyinstaller/taizhang.spec); TAIZHANG_CJK_FONT overrides.
_SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    r"C:\Windows\Fonts\msyh.ttc",
    r"C:\Windows\Fonts\simhei.ttf",
    r"C:\Windows\Fonts\simsun.ttc",
)


class PdfError(UserError):
    """A PDF that cannot be made; the message is Chinese and says what to do."""


def cjk_font_file() -> Path:
    candidates = []
    if os.environ.get("TAIZHANG_CJK_FONT"):
        candidates.append(Path(os.environ["TAIZHANG_CJK_FONT"]))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "fonts" / "wqy-microhei.ttc")
    candidates += [Path(p) for p in _SYSTEM_FONTS]
    windir = os.environ.get("WINDIR")
    if windir:
        candidates += [Path(windir) / "Fonts" / n for n in ("msyh.ttc", "simhei.ttf", "simsun.ttc")]
    for path in candidates:
        if path.is_file():
            return path
    raise PdfError("没有找到中文字体，无法生成 PDF。请安装文泉驿微米黑（fonts-wqy-microhei），"
                   "或用环境变量 TAIZHANG_CJK_FONT 指定一个中文 TrueType 字体文件")


def register_font() -> str:
    """Register the CJK font with reportlab once; returns its name."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    path = cjk_font_file()
    try:  # a .ttc holds several faces: the first is the regular one
        pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
    except TTFError as exc:
        raise PdfError(f"中文字体“{path}”无法嵌入 PDF（{exc}）。请安装文泉驿微米黑（fonts-wqy-microhei）") from None
    log.info("PDF font: %s", path)
    return FONT


# --------------------------------------------------------------------------- text measuring


class _Measure:
    """Widths of characters at one size, cached: wrapping 100,000 rows asks for the same few hundred."""

    def __init__(self, size: float):
        self.size = size
        self.leading = size * 1.3
        self._widths: dict[str, float] = {}

    def char(self, ch: str) -> float:
        w = self._widths.get(ch)
        if w is None:
            w = self._widths[ch] = pdfmetrics.stringWidth(ch, FONT, self.size)
        return w

    def width(self, text: str) -> float:
        return sum(self.char(ch) for ch in text)

    def wrap(self, text: str, width: float) -> list[str]:
        """Lines of at most ``width`` points.  Chinese breaks between any two characters; a run of
        Latin letters and digits ("350 m²", "2024-03-05") is kept whole when it fits on a line, and
        closing punctuation never starts a line."""
        lines: list[str] = []
        for part in text.translate(GLYPH_FALLBACK).split("\n"):
            line: list[str] = []
            used = 0.0
            for ch in part:
                w = self.char(ch)
                if line and used + w > width:
                    cut = _break_point(line, ch)
                    lines.append("".join(line[:cut]).rstrip())
                    line = line[cut:]
                    used = sum(self.char(c) for c in line)
                line.append(ch)
                used += w
            lines.append("".join(line))
        return lines


_NO_LINE_START = set("，。、；：？！）》」』】,.;:?!)%")


def _breakable(before: str, after: str) -> bool:
    if after in _NO_LINE_START:
        return False
    return before == " " or ord(before) >= 0x2E80 or ord(after) >= 0x2E80


def _break_point(line: list[str], next_ch: str) -> int:
    """Where to end a full line: before ``next_ch`` if allowed, else at the last allowed point
    (never at 0: a line with no allowed point is broken where it is full)."""
    if _breakable(line[-1], next_ch):
        return len(line)
    for i in range(len(line) - 1, 0, -1):
        if _breakable(line[i - 1], line[i]):
            return i
    return len(line)


# --------------------------------------------------------------------------- the page frame


def _compress_last_page(canvas: Canvas) -> None:
    """Deflate the page just finished now rather than at save time.

    reportlab keeps every page's drawing operators as text until ``save()``; for a 2,000-page
    ledger that is ~60 KB a page.  Compressed at once, a page costs what it will cost in the file
    (~7 KB), so memory grows with the PDF's size only.  The stream gets the Filter entry that
    ``PDFStream.format`` would add, which tells it the content is already encoded."""
    from reportlab.pdfbase.pdfdoc import PDFArray, PDFName, PDFStream

    page = canvas._doc.Pages.pages[-1]
    stream = page.stream
    if not stream or page.Contents:
        return
    data = stream.encode("utf8") if isinstance(stream, str) else stream
    contents = PDFStream(content=zlib.compress(data))
    contents.dictionary["Filter"] = PDFArray([PDFName("FlateDecode")])
    contents.__Comment__ = "page stream"
    page.Contents = contents
    page.stream = None



@dataclass
class Col:
    header: str
    width: float  # points
    align: str = "left"  # left | center | right


@dataclass
class ColSpec:
    """A column before fitting: the width it would like and the least it can do with."""

    header: str
    natural: float
    minimum: float
    align: str = "left"
    shrinks: bool = True  # text that may wrap; numbers and dates do not


def fit_columns(specs: Sequence[ColSpec], available: float) -> list[Col] | None:
    """Widths that fill ``available``: shrink the wrapping columns first, then widen all evenly.
    None if even the minimums do not fit."""
    if sum(s.minimum for s in specs) > available:
        return None
    widths = [s.natural for s in specs]
    excess = sum(widths) - available
    if excess > 0:
        room = [s.natural - s.minimum if s.shrinks else 0.0 for s in specs]
        total_room = sum(room)
        if total_room >= excess:
            widths = [w - r * excess / total_room for w, r in zip(widths, room)]
        else:
            widths = [s.minimum for s in specs]
    spare = available - sum(widths)
    if spare > 0:
        total = sum(widths)
        widths = [w + spare * w / total for w in widths]
    return [Col(s.header, w, s.align) for s, w in zip(specs, widths)]


class PdfDoc:
    """A4 pages with a running head, the signature line, page numbers; tables, text and charts.

    Draw top to bottom with :meth:`heading`, :meth:`text`, :meth:`table`, :meth:`drawing`; each
    starts a new page when the current one is full.  :meth:`close` writes the file.
    """

    def __init__(self, path: str | Path, *, title: str, running_head: str = "", is_landscape: bool = False,
                 signature: bool = True, subject: str = ""):
        register_font()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self.pagesize = landscape(A4) if is_landscape else A4
        self.width, self.height = self.pagesize
        self.canvas = Canvas(str(self.tmp), pagesize=self.pagesize, pageCompression=1,
                             initialFontName=FONT, initialFontSize=BODY_SIZE)
        self.canvas.setTitle(title)
        self.canvas.setSubject(subject or title)
        self.canvas.setCreator("社区服务台账")
        self.running_head = running_head
        self.signature = signature
        self.body = _Measure(BODY_SIZE)
        self.pages = 0
        self.y = 0.0
        self._table_cols: list[Col] | None = None
        self._page_open = False
        self.new_page()

    # -- page furniture
    @property
    def content_width(self) -> float:
        return self.width - 2 * MARGIN

    @property
    def bottom(self) -> float:
        return MARGIN + (2 if self.signature else 1) * self.body.leading + 4

    def new_page(self) -> None:
        if self._page_open:
            self._finish_page()
        self.pages += 1
        self._page_open = True
        self.y = self.height - MARGIN
        if self.pages > 1 and self.running_head:
            c = self.canvas
            c.setFont(FONT, 8)
            c.setFillGray(0.35)
            c.drawString(MARGIN, self.y - 8, self.running_head)
            c.setFillGray(0)
            self.y -= 8 + 6

    def _finish_page(self) -> None:
        c = self.canvas
        c.setFont(FONT, BODY_SIZE)
        y = MARGIN
        if self.signature:
            line_y = MARGIN + self.body.leading
            step = self.content_width / len(SIGNATURE_LINE)
            for i, part in enumerate(SIGNATURE_LINE):
                c.drawString(MARGIN + i * step, line_y, part)
        label = f"第{self.pages}页 "
        x = self.width / 2 - self.body.width(label + "共99页") / 2
        c.drawString(x, y, label)
        c.saveState()
        c.translate(x + self.body.width(label), y)
        c.doForm("page_total")  # drawn once at the end, when the total is known
        c.restoreState()
        c.showPage()
        _compress_last_page(c)
        self._page_open = False

    def close(self) -> int:
        """Finish the last page, write the total page count into every page, rename into place."""
        self._finish_page()
        c = self.canvas
        c.beginForm("page_total")
        c.setFont(FONT, BODY_SIZE)
        c.drawString(0, 0, f"共{self.pages}页")
        c.endForm()
        c.save()
        self.tmp.replace(self.path)
        return self.pages

    def abandon(self) -> None:
        """Cancelled or failed: leave nothing behind."""
        try:
            self.canvas = None  # type: ignore[assignment]
        finally:
            self.tmp.unlink(missing_ok=True)

    def need(self, height: float) -> None:
        if self.y - height < self.bottom:
            self.new_page()
            if self._table_cols:
                self._header_row(self._table_cols)

    # -- content
    def heading(self, text: str, size: float = TITLE_SIZE, center: bool = True, space_after: float = 6) -> None:
        self._table_cols = None
        self.need(size * 1.4 + space_after)
        c = self.canvas
        c.setFont(FONT, size)
        base = self.y - size
        if center:
            c.drawCentredString(self.width / 2, base, text)
        else:
            c.drawString(MARGIN, base, text)
        self.y = base - size * 0.4 - space_after

    def text(self, text: str, size: float = BODY_SIZE, indent: float = 0.0) -> None:
        self._table_cols = None
        m = self.body if size == BODY_SIZE else _Measure(size)
        for line in m.wrap(text, self.content_width - indent):
            self.need(m.leading)
            self.canvas.setFont(FONT, size)
            self.canvas.drawString(MARGIN + indent, self.y - size, line)
            self.y -= m.leading

    def line_pair(self, left: str, right: str) -> None:
        """One line with text at the left and at the right margin (unit … period)."""
        self.need(self.body.leading)
        c = self.canvas
        c.setFont(FONT, BODY_SIZE)
        c.drawString(MARGIN, self.y - BODY_SIZE, left)
        c.drawRightString(self.width - MARGIN, self.y - BODY_SIZE, right)
        self.y -= self.body.leading + 2

    def space(self, points: float) -> None:
        self.y -= points

    def drawing(self, drawing) -> None:
        """A reportlab graphics Drawing, centred."""
        from reportlab.graphics import renderPDF

        self._table_cols = None
        self.need(drawing.height + 4)
        renderPDF.draw(drawing, self.canvas, (self.width - drawing.width) / 2, self.y - drawing.height)
        self.y -= drawing.height + 6

    def _row(self, cols: Sequence[Col], cells: Sequence[str], header: bool = False) -> None:
        m = self.body
        wrapped = [m.wrap(text, col.width - 2 * PAD) for col, text in zip(cols, cells)]
        height = max(len(w) for w in wrapped) * m.leading + 2 * PAD
        if not header:
            self.need(height)
        c = self.canvas
        top = self.y
        if header:
            c.setFillGray(0.88)
            c.rect(MARGIN, top - height, sum(col.width for col in cols), height, stroke=0, fill=1)
            c.setFillGray(0)
        text = c.beginText()
        text.setFont(FONT, BODY_SIZE)
        x = MARGIN
        for col, lines in zip(cols, wrapped):
            align = "center" if header else col.align
            for i, line in enumerate(lines):
                baseline = top - PAD - BODY_SIZE - i * m.leading + 1
                if align == "left":
                    lx = x + PAD
                elif align == "right":
                    lx = x + col.width - PAD - m.width(line)
                else:
                    lx = x + (col.width - m.width(line)) / 2
                text.setTextOrigin(lx, baseline)
                text.textOut(line)
            x += col.width
        c.drawText(text)
        # grid: the cell borders of this row
        c.setLineWidth(0.5)
        right = MARGIN + sum(col.width for col in cols)
        edges, x = [], MARGIN
        for col in cols:
            edges.append((x, top, x, top - height))
            x += col.width
        edges.append((right, top, right, top - height))
        edges.append((MARGIN, top - height, right, top - height))
        if header:
            edges.append((MARGIN, top, right, top))
        c.lines(edges)
        self.y = top - height

    def _header_row(self, cols: Sequence[Col]) -> None:
        self._row(cols, [col.header for col in cols], header=True)

    def table(self, cols: Sequence[Col], rows: Iterable[Sequence[str]], *, total: int = 0,
              progress: Progress | None = None, every: int = 500) -> int:
        """Rows drawn under a header that is repeated on every page; returns the number of rows."""
        self._table_cols = None
        self.need(self.body.leading * 3 + 4 * PAD)
        self._header_row(cols)
        self._table_cols = list(cols)
        n = 0
        for n, cells in enumerate(rows, 1):
            self._row(cols, cells)
            if progress and n % every == 0:
                progress(n, total)
        self._table_cols = None
        self.y -= 6
        return n


def write_pdf(path: str | Path, draw: Callable[[PdfDoc], Any], **doc_args) -> tuple[Path, int]:
    """Open a document, let ``draw`` fill it, close it; remove the partial file on any error."""
    doc = PdfDoc(path, **doc_args)
    try:
        draw(doc)
        pages = doc.close()
    except BaseException:
        doc.abandon()
        raise
    return doc.path, pages


# --------------------------------------------------------------------------- ledgers (台账)


@dataclass
class LedgerColumn:
    key: str  # field name, or "_parent" for the parent's name (child types)
    field: Field | None
    header: str
    sql: str


def ledger_columns(rt: RecordType) -> list[LedgerColumn]:
    """The schema's list columns (child types: their parent's name first), as the record list shows."""
    cols = []
    if rt.parent and rt.parent_field:
        f = rt.field(rt.parent_field)
        cols.append(LedgerColumn("_parent", None, f.label,
                                 f'(SELECT p.name FROM "{rt.parent}" p WHERE p.id = t."{rt.parent_field}")'))
    for name in rt.list_columns:
        f = rt.field(name)
        header = f"{f.label}（{f.unit}）" if f.unit and f.unit != f.label else f.label
        cols.append(LedgerColumn(name, f, header, f't."{name}"'))
    return cols


def _col_spec(col: LedgerColumn, m: _Measure, choices: dict[str, list[str]]) -> ColSpec:
    header_w = m.width(col.header) + 2 * PAD
    # a header may wrap onto two lines, but never inside a character
    header_min = max(m.width(col.header[: (len(col.header) + 1) // 2]), m.char("国") * 2) + 2 * PAD
    f = col.field
    t = f.type if f else "text"
    if t in ("date", "period", "year"):
        w = m.width("2024-03-05") + 2 * PAD
        return ColSpec(col.header, max(w, header_min), max(w, header_min), "center", shrinks=False)
    if t in ("int", "decimal"):
        w = max(m.width("100000.5") + 2 * PAD, header_min)
        return ColSpec(col.header, max(w, header_w), w, "right", shrinks=False)
    if t in ("id_number", "credit_code"):
        w = m.width("110105199001011234") + 2 * PAD
        return ColSpec(col.header, w, w, "left", shrinks=False)
    if t == "phone":
        w = m.width("13800138000") + 2 * PAD
        return ColSpec(col.header, max(w, header_min), w, "left", shrinks=False)
    if t == "bool":
        return ColSpec(col.header, max(header_w, m.width("否") + 2 * PAD), header_min, "center", shrinks=False)
    if t in ("choice", "multichoice") and f and f.choices:
        longest = max((m.width(v) for v in choices.get(f.choices, [])), default=m.width("其他"))
        natural = max(longest + 2 * PAD, header_w)
        if t == "multichoice":
            natural = max(natural, m.width("国") * 16)
        return ColSpec(col.header, natural, max(header_min, m.width("国") * 4 + 2 * PAD))
    # names and short texts get room for ~10 characters, long texts (备注, 地址) for ~24; both wrap
    chars = 10 if (f is None or (f.max_length or 0) <= 50) else 24
    return ColSpec(col.header, max(m.width("国") * chars + 2 * PAD, header_w),
                   max(header_min, m.width("国") * 5 + 2 * PAD))


def ledger_layout(rt: RecordType, choices: dict[str, list[str]], *, row_count_hint: int = 0
                  ) -> tuple[bool, list[LedgerColumn], list[Col]]:
    """(landscape?, the columns printed, their fitted widths with 序号 first).

    Portrait when the columns' natural widths fit A4 portrait, else landscape; columns from the
    end of the list are left out only if even their narrowest widths do not fit landscape."""
    register_font()
    m = _Measure(BODY_SIZE)
    cols = ledger_columns(rt)
    seq = ColSpec("序号", m.width(str(max(row_count_hint, 99999))) + 2 * PAD + 2, m.width("序号") + 2 * PAD,
                  "right", shrinks=False)
    specs = [seq] + [_col_spec(c, m, choices) for c in cols]
    portrait_w = A4[0] - 2 * MARGIN
    landscape_w = A4[1] - 2 * MARGIN
    if sum(s.natural for s in specs) <= portrait_w:
        return False, cols, fit_columns(specs, portrait_w)  # type: ignore[return-value]
    while len(specs) > 2:
        fitted = fit_columns(specs, landscape_w)
        if fitted:
            return True, cols, fitted
        specs.pop()
        cols = cols[:-1]
    return True, cols, fit_columns(specs, landscape_w) or [Col(s.header, s.natural, s.align) for s in specs]


@dataclass
class LedgerSelection:
    """Which records a printed ledger holds: one unit, an optional date range, an optional extra
    SQL condition over table alias ``t`` (the record list's current filter) and order."""

    org_code: str | None
    date_from: dt.date | None = None  # inclusive
    date_to: dt.date | None = None  # inclusive
    where: str = ""
    params: Sequence[Any] = ()
    order_by: str = ""  # "ORDER BY …" over alias t; default: date, then entry time
    period_text: str = ""  # what the title says: 2024年3月, 2024年度, 当前筛选…


def month_selection(org_code: str | None, period: str) -> LedgerSelection:
    year, month = (int(x) for x in period.split("-"))
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return LedgerSelection(org_code, start, end, period_text=f"{year}年{month}月")


def year_selection(org_code: str | None, year: int) -> LedgerSelection:
    return LedgerSelection(org_code, dt.date(year, 1, 1), dt.date(year, 12, 31), period_text=f"{year}年度")


def _selection_sql(rt: RecordType, sel: LedgerSelection) -> tuple[str, list]:
    if sel.where:
        clauses, params = [f"({sel.where})"], list(sel.params)
    else:
        clauses, params = ["t.deleted = ?"], [0]
    if sel.org_code and not sel.where:
        clauses.append("t.org_code = ?")
        params.append(sel.org_code)
    if rt.date_field and sel.date_from:
        clauses.append(f't."{rt.date_field}" >= ?')
        params.append(sel.date_from.isoformat())
    if rt.date_field and sel.date_to:
        clauses.append(f't."{rt.date_field}" <= ?')
        params.append(sel.date_to.isoformat())
    return " AND ".join(clauses), params


def count_ledger_rows(engine, type_name: str, sel: LedgerSelection) -> int:
    rt = record_type(type_name)
    where, params = _selection_sql(rt, sel)
    with engine.connect() as conn:
        return conn.exec_driver_sql(f'SELECT count(*) FROM "{rt.name}" t WHERE {where}', tuple(params)).scalar_one()


def ledger_rows(engine, rt: RecordType, cols: Sequence[LedgerColumn], sel: LedgerSelection, *,
                full: bool = False) -> Iterable[list[str]]:
    """The printed cells of each selected record, fetched ``ROW_CHUNK`` at a time (bounded memory)."""
    where, params = _selection_sql(rt, sel)
    order = sel.order_by or ("ORDER BY " + (f't."{rt.date_field}", ' if rt.date_field else "") + "t.created_at, t.id")
    select = ", ".join(c.sql for c in cols)
    sql = f'SELECT {select} FROM "{rt.name}" t WHERE {where} {order}'
    fields = [c.field for c in cols]
    with engine.connect().execution_options(stream_results=True, yield_per=ROW_CHUNK) as conn:
        result = conn.exec_driver_sql(sql, tuple(params))
        while True:
            chunk = result.fetchmany(ROW_CHUNK)
            if not chunk:
                return
            for raw in chunk:
                yield [cell_text(f, v, full) for f, v in zip(fields, raw)]


def cell_text(f: Field | None, raw: Any, full: bool = False) -> str:
    """A stored value as printed: like the list (PII masked) unless a full printout was chosen."""
    value = stored_value(f, raw)
    if full and f is not None and f.pii and value not in (None, ""):
        return str(value)
    return display_text(f, value)


@dataclass
class PrintResult:
    path: Path
    rows: int
    pages: int


def ledger_title(rt: RecordType, org_name: str | None) -> str:
    return f"{org_name or ''}{rt.label}台账"


def write_ledger_pdf(engine, path: str | Path, type_name: str, sel: LedgerSelection, *,
                     org_name: str | None = None, choices: dict[str, list[str]] | None = None,
                     full: bool = False, progress: Progress | None = None) -> PrintResult:
    """One record type's 台账 as a PDF: title, 序号 and the list columns, header on every page."""
    rt = record_type(type_name)
    total = count_ledger_rows(engine, type_name, sel)
    if choices is None:
        from storage.choices import DEFAULT_CHOICES

        choices = DEFAULT_CHOICES
    is_landscape, cols, fitted = ledger_layout(rt, choices, row_count_hint=total)
    title = ledger_title(rt, org_name)
    period = sel.period_text or ("在册全部" if not rt.date_field else "全部")
    if not rt.date_field and (sel.date_from or sel.date_to):
        period = f"在册全部（截至{dt.date.today().isoformat()}）"
    unit = f"填报单位：{org_name or '—'}" + (f"（区划代码 {sel.org_code}）" if sel.org_code else "")
    notice = "" if full else "　身份证号码、手机号已遮盖"
    if full and any(c.field is not None and c.field.pii for c in cols):
        notice = "　含完整个人信息，请妥善保管，用后销毁"

    def draw(doc: PdfDoc) -> None:
        doc.heading(title)
        doc.line_pair(unit, f"期间：{period}　共 {total} 条{notice}")
        doc.table(fitted, _numbered(ledger_rows(engine, rt, cols, sel, full=full)), total=total,
                  progress=progress)
        if total == 0:
            doc.text("（本期间没有记录）")
        if progress:
            progress(total, total)

    out, pages = write_pdf(path, draw, title=f"{title}（{period}）", running_head=f"{title}　{period}",
                           is_landscape=is_landscape, subject=f"{rt.label}台账")
    return PrintResult(out, total, pages)


def _numbered(rows: Iterable[list[str]]) -> Iterable[list[str]]:
    for i, row in enumerate(rows, 1):
        yield [str(i), *row]


__all__ = ["PdfDoc", "PdfError", "Col", "ColSpec", "fit_columns", "write_pdf", "register_font", "cjk_font_file",
           "LedgerSelection", "month_selection", "year_selection", "write_ledger_pdf", "ledger_layout",
           "ledger_columns", "cell_text", "PrintResult", "count_ledger_rows"]
