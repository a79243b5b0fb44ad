"""打印预览 · 打印 · 导出PDF for lists, the month page and 指标.

The layout is never drawn here: every paper comes from the core's one print layout
(``exchange.pdf`` / ``reports.paper``), generated as a PDF in a job (progress, 取消).  Preview shows
that PDF's pages, one at a time, rendered by PDFium (``pypdfium2``: PySide6-Essentials has no QtPdf,
and the add-ons would add hundreds of MB); printing paints the same rendered pages onto the printer
in a job; 导出PDF writes the PDF where the user chooses.  So preview, paper and file are identical.

A page offers paper by having ``paper_job() -> PaperJob | None`` (None: the user cancelled a choice);
:func:`paper_buttons` makes the three buttons, and the main window's 打印 (Ctrl+P) / 打印预览 /
导出PDF call the same functions for the visible page.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QDate, QRectF, Qt
from PySide6.QtGui import QImage, QKeySequence, QPageLayout, QPageSize, QPainter, QPixmap, QShortcut
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDateEdit, QDialog, QDialogButtonBox, QFileDialog,
                               QGridLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QRadioButton,
                               QScrollArea,
                               QSpinBox, QVBoxLayout, QWidget)

from desktop.ui.jobs import op
from storage.cli import UserError

log = logging.getLogger("taizhang.desktop.printing")

PRINT_DPI = 300  # pages are rendered to images at most this fine for the printer
PREVIEW_DPI = 110
_pdfium_lock = threading.Lock()  # PDFium is not thread-safe: the preview and a print job take turns


class PdfPages:
    """A PDF's pages as QImages (PDFium)."""

    def __init__(self, path: Path):
        import pypdfium2

        with _pdfium_lock:
            self._pdf = pypdfium2.PdfDocument(str(path))
            self.count = len(self._pdf)

    def size(self, index: int) -> tuple[float, float]:
        """Width and height of a page in points."""
        with _pdfium_lock:
            return tuple(self._pdf[index].get_size())

    def image(self, index: int, dpi: float) -> QImage:
        with _pdfium_lock:
            page = self._pdf[index]
            bitmap = page.render(scale=dpi / 72)
            fmt = QImage.Format.Format_BGR888 if bitmap.n_channels == 3 else QImage.Format.Format_ARGB32
            image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, fmt).copy()
            bitmap.close()
            page.close()
        return image

    def close(self) -> None:
        with _pdfium_lock:
            self._pdf.close()


@dataclass
class PaperJob:
    """What to put on paper: a name for dialogs, a file name to suggest, and the core call that writes
    the PDF (``make(path, progress)``; ``progress(done, total)`` raises JobCancelled on 取消)."""

    title: str
    file_name: str
    make: Callable[[Path, Callable[[int, int], None]], object]
    affects: tuple[str, ...] = ()  # record types ``make`` writes (a full printout's disclosure record)


def _generate(parent: QWidget, job: PaperJob, path: Path, then: Callable[[object], None]):
    def work(control):
        control.progress(0, 0, f"正在生成{job.title}")
        return job.make(path, lambda done, total: control.progress(done, total, f"正在排版{job.title}"))

    return (op(work).with_progress(f"正在生成{job.title}").affects(*job.affects).success(then)
            .run_in_background(parent))


def _scratch_pdf(job: PaperJob) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="taizhang-print-"))
    return folder / job.file_name


def preview(parent: QWidget, job: PaperJob | None):
    """Generate the PDF in a job, then show its pages with 打印 and 导出PDF beside them."""
    if job is None:
        return None
    path = _scratch_pdf(job)

    def show(_result) -> None:
        dialog = PreviewDialog(path, job, parent)
        parent._paper_preview = dialog  # kept for tests and so it is not collected while open
        dialog.show()

    return _generate(parent, job, path, show)


def print_paper(parent: QWidget, job: PaperJob | None, printer: QPrinter | None = None):
    """Generate the PDF in a job, ask for the printer, print it in a job."""
    if job is None:
        return None
    path = _scratch_pdf(job)
    return _generate(parent, job, path, lambda _r: print_file(parent, path, job.title, printer))


def export_pdf(parent: QWidget, job: PaperJob | None, path: str | Path | None = None):
    """Ask where to save, then write the PDF there in a job."""
    if job is None:
        return None
    path = _pdf_target(parent, job.file_name, path)
    if path is None:
        return None

    def done(result) -> None:
        pages = getattr(result, "pages", None)
        _tell(parent, "导出PDF", f"已保存：{path}" + (f"（共 {pages} 页）" if pages else ""))

    return _generate(parent, job, path, done)


def _pdf_target(parent: QWidget, suggested: str, given: str | Path | None) -> Path | None:
    """Where to save a PDF: ``given``, or what the user picks (None if cancelled); ends in .pdf."""
    if given is None:
        given, _ = QFileDialog.getSaveFileName(parent, "导出PDF", str(Path.home() / suggested), "PDF 文件 (*.pdf)")
        if not given:
            return None
    path = Path(given)
    return path if path.suffix.lower() == ".pdf" else path.with_name(path.name + ".pdf")


def _tell(parent: QWidget, title: str, text: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.button(QMessageBox.StandardButton.Ok).setText("确定")
    box.setObjectName("paperMessage")
    box.open()  # not exec(): the window stays usable


def print_file(parent: QWidget, path: Path, title: str, printer: QPrinter | None = None):
    """The print dialog (skipped when a printer is given), then the pages printed in a job."""
    pages = PdfPages(path)
    width, height = pages.size(0) if pages.count else (0, 0)
    pages.close()
    landscape = width > height
    if printer is None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(title)
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        printer.setPageOrientation(QPageLayout.Orientation.Landscape if landscape
                                   else QPageLayout.Orientation.Portrait)
        dialog = QPrintDialog(printer, parent)
        dialog.setWindowTitle(f"打印{title}")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
    # QPainter may paint on a QPrinter outside the GUI thread (Qt's threading rules): a 2,000-page
    # ledger prints in a job with progress and 取消.
    return (op(lambda control: paint_pages(path, printer, control.progress))
            .with_progress(f"正在打印{title}").run_in_background(parent))


def paint_pages(path: Path, printer: QPrinter, progress: Callable[..., None] | None = None) -> int:
    """Paint every page of the PDF onto ``printer`` (each page scaled to fit, centred)."""
    pages = PdfPages(path)
    try:
        if pages.count <= 0:
            raise UserError("要打印的 PDF 无法读取，请重新生成后再打印")
        painter = QPainter()
        if not painter.begin(printer):
            raise UserError("无法开始打印：请检查打印机是否已连接、已开机，或在“打印”对话框中选择其他打印机")
        try:
            dpi = min(printer.resolution(), PRINT_DPI)
            for index in range(pages.count):
                if progress:
                    progress(index, pages.count, "正在打印")
                if index:
                    printer.newPage()
                image = pages.image(index, dpi)
                area = QRectF(painter.viewport())
                scale = min(area.width() / image.width(), area.height() / image.height())
                w, h = image.width() * scale, image.height() * scale
                target = QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)
                painter.drawImage(target, image, QRectF(image.rect()))
        finally:
            painter.end()
    finally:
        pages.close()
    return pages.count


class PreviewDialog(QDialog):
    """The generated PDF's pages, with 打印 (Ctrl+P) and 导出PDF."""

    def __init__(self, path: Path, job: PaperJob, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("paperPreview")
        self.setWindowTitle(f"打印预览 — {job.title}")
        self.path, self.job = path, job
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.pages = PdfPages(path)
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.info = QLabel(f"{job.title}：共 {self.pages.count} 页（A4）")
        self.info.setObjectName("pageCount")
        bar.addWidget(self.info, 1)
        self.prev_button = QPushButton("上一页")
        self.page_spin = QSpinBox()
        self.page_spin.setObjectName("pageNumber")
        self.page_spin.setRange(1, max(1, self.pages.count))
        self.page_spin.setPrefix("第 ")
        self.page_spin.setSuffix(f" 页 / 共 {self.pages.count} 页")
        self.next_button = QPushButton("下一页")
        self.print_button = QPushButton("打印(&P)…")
        self.print_button.setObjectName("print")
        self.print_button.setToolTip("打印这份文件（Ctrl+P）")
        self.save_button = QPushButton("导出PDF(&S)…")
        self.save_button.setObjectName("savePdf")
        close = QPushButton("关闭")
        for w in (self.prev_button, self.page_spin, self.next_button, self.print_button, self.save_button, close):
            bar.addWidget(w)
        layout.addLayout(bar)
        self.page_label = QLabel()
        self.page_label.setObjectName("pageImage")
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.page_label)
        layout.addWidget(scroll, 1)
        self.prev_button.clicked.connect(lambda: self.page_spin.setValue(self.page_spin.value() - 1))
        self.next_button.clicked.connect(lambda: self.page_spin.setValue(self.page_spin.value() + 1))
        self.page_spin.valueChanged.connect(lambda n: self.show_page(n - 1))
        self.print_button.clicked.connect(lambda: print_file(self, self.path, self.job.title))
        self.save_button.clicked.connect(self.save_copy)
        close.clicked.connect(self.close)
        QShortcut(QKeySequence("Ctrl+P"), self, activated=self.print_button.click)
        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, activated=self.next_button.click)
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, activated=self.prev_button.click)
        self.resize(900, 760)
        self.show_page(0)

    def show_page(self, index: int) -> None:
        """Only the page on screen is rendered: a 2,000-page ledger previews as fast as one page."""
        if not 0 <= index < self.pages.count:
            return
        self.page_label.setPixmap(QPixmap.fromImage(self.pages.image(index, PREVIEW_DPI)))
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < self.pages.count - 1)

    def save_copy(self, target: str | Path | None = None) -> Path | None:
        target = _pdf_target(self, self.job.file_name, target)
        if target is None:
            return None
        try:
            shutil.copyfile(self.path, target)
        except OSError as exc:
            QMessageBox.warning(self, "导出PDF", f"无法保存到“{target}”：{exc.strerror or exc}。请换一个文件夹或文件名")
            return None
        _tell(self, "导出PDF", f"已保存：{target}")
        return target

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        self.pages.close()
        shutil.rmtree(self.path.parent, ignore_errors=True)  # the scratch folder of this preview
        super().closeEvent(event)


@dataclass
class LedgerChoice:
    scope: str  # "list" (the list as filtered and sorted now) | "month" | "year"
    period: str = ""  # YYYY-MM for "month"
    year: int = 0
    full: bool = False  # full ID numbers and phones (a disclosure: checked and recorded)
    purpose: str = ""  # why, when full


def disclosed(make: Callable[[Path, Callable[[int, int], None]], object], repo, purpose: str, record_type: str,
              org_code: str | None) -> Callable[[Path, Callable[[int, int], None]], object]:
    """``make`` as a full printout: each run is checked (role, purpose) and recorded with its row count
    and file name (``storage.disclosure.allow_full``; the record is written on the writer thread)."""
    from desktop.ui.jobs import run_on_writer
    from storage import disclosure

    def run(path: Path, progress: Callable[[int, int], None]) -> object:
        with disclosure.allow_full(repo, purpose, action=disclosure.PRINT, record_types=[record_type],
                                   file_name=path.name, org_code=org_code, write=run_on_writer) as full:
            result = make(path, progress)
            full.rows = getattr(result, "rows", 0)
        return result

    return run


class LedgerScopeDialog(QDialog):
    """What a printed ledger holds: the list as shown, a month or a year; masked or full (with a purpose,
    only where the county lets this PC's role print full numbers)."""

    def __init__(self, label: str, dated: bool, has_pii: bool, shown: int, parent: QWidget | None = None, *,
                 full_allowed: bool = True):
        super().__init__(parent)
        self.setObjectName("ledgerScope")
        self.setWindowTitle(f"打印{label}台账")
        grid = QGridLayout(self)
        self.group = QButtonGroup(self)
        self.as_listed = QRadioButton(f"当前列表（按现在的搜索、筛选和排序，共 {shown} 条）")
        self.as_listed.setChecked(True)
        self.group.addButton(self.as_listed)
        grid.addWidget(self.as_listed, 0, 0, 1, 2)
        today = QDate.currentDate()
        self.month_radio = self.year_radio = None
        self.month_edit = QDateEdit(QDate(today.year(), today.month(), 1))
        self.month_edit.setDisplayFormat("yyyy年MM月")
        self.year_spin = QSpinBox()
        self.year_spin.setRange(2000, 2100)
        self.year_spin.setValue(today.year())
        if dated:
            self.month_radio = QRadioButton("一个月：")
            self.year_radio = QRadioButton("一年：")
            for row, (radio, editor) in enumerate(((self.month_radio, self.month_edit),
                                                   (self.year_radio, self.year_spin)), 1):
                self.group.addButton(radio)
                grid.addWidget(radio, row, 0)
                grid.addWidget(editor, row, 1)
        self.full = QCheckBox("打印完整的身份证号码和手机号（默认遮盖；完整打印会被记录，纸张请妥善保管）")
        self.full.setObjectName("full")
        self.full.setVisible(has_pii)
        self.full.setEnabled(full_allowed)
        if not full_allowed:
            self.full.setToolTip("县里规定本机账号的角色不能打印完整号码；确需完整信息，请联系县民政局")
        grid.addWidget(self.full, 3, 0, 1, 2)
        self.purpose = QLineEdit()
        self.purpose.setObjectName("purpose")
        self.purpose.setMaxLength(200)
        self.purpose.setPlaceholderText("如：报县民政局年度核查")
        self.purpose.setEnabled(False)
        self.purpose_label = QLabel("用途(&U)：")
        self.purpose_label.setBuddy(self.purpose)
        for w in (self.purpose_label, self.purpose):
            w.setVisible(has_pii)
        self.full.toggled.connect(self.purpose.setEnabled)
        grid.addWidget(self.purpose_label, 4, 0)
        grid.addWidget(self.purpose, 4, 1)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        grid.addWidget(self.error, 5, 0, 1, 2)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        grid.addWidget(buttons, 6, 0, 1, 2)

    def _check(self) -> None:
        if not self.full.isHidden() and self.full.isChecked() and not self.purpose.text().strip():
            self.error.setText("打印完整的身份证号码和手机号时请填写用途，它会和本次打印一起记录。")
            self.purpose.setFocus()
            return
        self.accept()

    def choice(self) -> LedgerChoice:
        full = not self.full.isHidden() and self.full.isEnabled() and self.full.isChecked()  # (hidden: no PII)
        purpose = self.purpose.text().strip() if full else ""
        if self.month_radio is not None and self.month_radio.isChecked():
            d = self.month_edit.date()
            return LedgerChoice("month", period=f"{d.year()}-{d.month():02d}", full=full, purpose=purpose)
        if self.year_radio is not None and self.year_radio.isChecked():
            return LedgerChoice("year", year=self.year_spin.value(), full=full, purpose=purpose)
        return LedgerChoice("list", full=full, purpose=purpose)


def _paper_actions():
    return (("打印预览…", "printPreview", "先看打印出来的样子，再决定打印或导出PDF", preview),
            ("打印…", "printPaper", "打印（Ctrl+P）：A4，标题、序号、每页表头、页码和签字栏", print_paper),
            ("导出PDF…", "exportPdf", "保存为 PDF 文件：在没有本程序的电脑上也能打开、打印", export_pdf))


def paper_buttons(parent: QWidget, get_job: Callable[[], PaperJob | None]) -> list[QPushButton]:
    """打印预览 · 打印 · 导出PDF for a page; ``get_job`` is asked when a button is pressed."""
    made = []
    for text, name, tip, action in _paper_actions():
        b = QPushButton(text)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.clicked.connect(lambda _c=False, action=action: action(parent, get_job()))
        made.append(b)
    return made


def paper_menu_button(parent: QWidget, get_job: Callable[[], PaperJob | None]) -> QPushButton:
    """One 打印 button holding the same three in its menu, for a toolbar with no room for three."""
    from PySide6.QtWidgets import QMenu

    button = QPushButton("打印(&R)")
    button.setObjectName("paperMenu")
    button.setToolTip("打印预览、打印（Ctrl+P）或导出PDF（Alt+R）")
    menu = QMenu(button)
    for text, name, tip, action in _paper_actions():
        item = menu.addAction(text)
        item.setObjectName(name)
        item.setToolTip(tip)
        item.triggered.connect(lambda _c=False, action=action: action(parent, get_job()))
    button.setMenu(menu)
    return button


__all__ = ["PdfPages", "PaperJob", "LedgerChoice", "LedgerScopeDialog", "disclosed", "preview", "print_paper", "export_pdf", "print_file", "paint_pages", "PreviewDialog",
           "paper_buttons", "paper_menu_button"]
