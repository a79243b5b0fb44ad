"""Reading workbooks as people really produce them (Excel, WPS, LibreOffice, hand-made).

Values come from python-calamine (Rust; ~10x faster than openpyxl read-only).
calamine silently turns formula cells into their cached value and error cells
(#REF!, #DIV/0!) into empty strings, so each sheet's XML is also streamed once
through ``zipfile`` looking only for the markers of formulas (``<f``) and error
cells (``t="e"``); the cell-level regex runs only on chunks that contain one.
That look also finds the real extent of a sheet (a stray cell at XFD1048576
would make calamine allocate 17 billion cells) before calamine loads it.
The declared ``<dimension>`` is never trusted (WPS writes A1:A1).
"""

from __future__ import annotations

import re
import threading
import zipfile
import zlib
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from posixpath import join as pjoin, normpath

import python_calamine

from exchange.layout import META_SHEET, column_letter

MAX_UNCOMPRESSED = 1_500_000_000  # bytes; a zip bomb or not a ledger
MAX_CELLS = 20_000_000  # rows x columns calamine may allocate for one sheet (~600 MB); 100k x 20 is 2M
CHUNK = 1 << 22


class WorkbookError(Exception):
    """The workbook as a whole cannot be read; the message is Chinese and says what to do."""


@dataclass
class SheetInfo:
    name: str
    part: str | None  # path of the sheet XML inside the zip
    visible: bool = True
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row0, col0) → formula text
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row0, col0) → "#REF!"
    unlocated: list[str] = field(default_factory=list)  # markers in cells without an r= reference
    max_row: int = 0  # 1-based, from the XML
    max_col: int = 0
    declared: str = ""  # the <dimension ref=…> the writer declared


def cell_ref(row0: int, col0: int) -> str:
    return f"{column_letter(col0)}{row0 + 1}"


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


class RawWorkbook:
    """An opened workbook: sheet list, metadata, per-sheet rows and cell flags."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self.sheets: list[SheetInfo] = []
        self._cal = None
        self._loaded: dict[str, object] = {}
        self._ahead: dict[str, Future] = {}  # sheet name → its scan + calamine load, done on the side
        self._ahead_thread: threading.Thread | None = None
        self._ahead_stop = threading.Event()
        self._open()

    # ------------------------------------------------------------------ opening

    def _open(self) -> None:
        path = self.path
        if not path.exists():
            raise WorkbookError(f"找不到文件：{path}")
        if path.stat().st_size == 0:
            raise WorkbookError("文件是空的（0字节），可能没有保存或拷贝完整，请重新获取该文件")
        with open(path, "rb") as fh:
            magic = fh.read(8)
        if magic.startswith(b"\xd0\xcf\x11\xe0"):
            raise WorkbookError("这是旧版 .xls 格式或设置了打开密码的文件。请在 Excel 或 WPS 中打开，"
                                "取消密码后“另存为”Excel 工作簿（.xlsx）再导入")
        if not magic.startswith(b"PK"):
            raise WorkbookError("这不是 Excel 工作簿（.xlsx）文件，可能是把其他文件改了扩展名。"
                                "请在 Excel 或 WPS 中打开原表格，“另存为”Excel 工作簿（.xlsx）后再导入")
        try:
            zf = zipfile.ZipFile(path)
            names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise WorkbookError("文件已损坏（压缩包不完整），可能没有下载或拷贝完整。"
                                "请让报送单位重新发送该文件") from exc
        self._zip = zf
        if "xl/workbook.xml" not in names:
            raise WorkbookError("这不是 Excel 工作簿（.xlsx）文件（缺少工作簿内容），"
                                "请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）后再导入")
        total = sum(i.file_size for i in zf.infolist())
        if total > MAX_UNCOMPRESSED:
            raise WorkbookError(f"工作簿解压后有 {total // 1_000_000} MB，远超台账的正常大小，已拒绝读取。"
                                "请删除多余的工作表、图片和空白行列后重新保存")
        self.sheets = self._sheet_parts(zf)
        try:
            self._cal = python_calamine.CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine raises its own error types for broken parts
            raise WorkbookError(f"工作簿内容已损坏，无法读取（{type(exc).__name__}）。"
                                "请在 Excel 或 WPS 中打开并重新保存为 .xlsx 后再导入") from exc

    def _sheet_parts(self, zf: zipfile.ZipFile) -> list[SheetInfo]:
        try:
            wb_xml = zf.read("xl/workbook.xml").decode("utf-8", "replace")
            rels_xml = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise WorkbookError("工作簿内容不完整或已损坏，请在 Excel 或 WPS 中重新保存为 .xlsx 后再导入") from exc
        targets = {}
        for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)/?>", rels_xml):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            if "Id" in attrs and "Target" in attrs:
                target = attrs["Target"]
                target = target.lstrip("/") if target.startswith("/") else normpath(pjoin("xl", target))
                targets[attrs["Id"]] = target
        sheets = []
        for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb_xml):
            raw = m.group(1)
            name = _xml_unescape(re.search(r'\bname="([^"]*)"', raw).group(1)) if 'name="' in raw else ""
            rid = re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', raw)
            rid = (rid.group(1) or rid.group(2)) if rid else None
            state = re.search(r'\bstate="([^"]*)"', raw)
            sheets.append(SheetInfo(name, targets.get(rid), visible=not state or state.group(1) == "visible"))
        return sheets

    def close(self) -> None:
        self._ahead_stop.set()
        if self._ahead_thread is not None:
            self._ahead_thread.join()  # calamine must not be closed under a load in progress
        if self._cal is not None:
            try:
                self._cal.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        if self._zip is not None:
            self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ content

    def sheet(self, name: str) -> SheetInfo:
        return next(s for s in self.sheets if s.name == name)

    def metadata(self) -> dict[str, str]:
        """The hidden metadata sheet written by our templates and exports ({} for other workbooks)."""
        if not any(s.name == META_SHEET for s in self.sheets):
            return {}
        out = {}
        try:
            rows = list(self._cal.get_sheet_by_name(META_SHEET).iter_rows())
        except Exception as exc:  # noqa: BLE001 - calamine's own error types
            raise WorkbookError("工作簿的隐藏元数据表已损坏，请用原模板重新填写或重新导出后再导入") from exc
        for row in rows:
            if len(row) >= 2 and row[0]:
                value = row[1]
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                out[str(row[0])] = "" if value is None else str(value)
        return out

    def read_ahead(self, infos: list[SheetInfo]) -> None:
        """Scan and load these sheets in order on a side thread while the caller works on earlier ones.

        calamine parses a sheet in Rust with the GIL released, so the next sheet loads on the
        second core while Python checks the current one.  After this call the workbook belongs
        to that thread (calamine's workbook object is not shared across threads); ``scan`` and
        ``rows`` for these sheets wait for its result, and re-raise its WorkbookError.
        """
        if self._ahead_thread is not None:
            raise RuntimeError("read_ahead may be called once")
        for info in infos:
            self._ahead[info.name] = Future()

        def work():
            for info in infos:
                future = self._ahead[info.name]
                if self._ahead_stop.is_set():
                    future.cancel()
                    continue
                try:
                    self._scan(info)
                    self._rows(info)
                    future.set_result(None)
                except BaseException as exc:  # noqa: BLE001 - handed to the reader of this sheet
                    future.set_exception(exc)

        self._ahead_thread = threading.Thread(target=work, name="读取工作表", daemon=True)
        self._ahead_thread.start()

    def _wait_ahead(self, info: SheetInfo) -> bool:
        future = self._ahead.get(info.name)
        if future is None:
            return False
        future.result()  # re-raises the side thread's WorkbookError for this sheet
        return True

    def scan(self, info: SheetInfo) -> SheetInfo:
        """One streaming pass over the sheet XML: formulas, error cells, real extent."""
        if self._wait_ahead(info):
            return info
        return self._scan(info)

    def _scan(self, info: SheetInfo) -> SheetInfo:
        if info.part is None or self._zip is None:
            return info
        try:
            fh = self._zip.open(info.part)
        except KeyError:
            raise WorkbookError(f"工作表“{info.name}”的内容缺失，文件已损坏。请重新保存为 .xlsx 后再导入")
        buf = b""
        first = True
        try:
            with fh:
                while True:
                    try:
                        chunk = fh.read(CHUNK)
                    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
                        raise WorkbookError(f"工作表“{info.name}”的数据已损坏（压缩数据不完整），"
                                            "请让报送单位重新发送该文件") from exc
                    if first:
                        m = _DIM_RE.search(chunk)
                        info.declared = m.group(1).decode() if m else ""
                        first = False
                    data = buf + chunk
                    if chunk:
                        cut = data.rfind(b"</row>")
                        if cut == -1:
                            buf = data
                            continue
                        cut += 6
                        part, buf = data[:cut], data[cut:]
                    else:
                        part, buf = data, b""
                    self._scan_part(info, part)
                    if not chunk:
                        break
        except WorkbookError:
            raise
        return info

    def _scan_part(self, info: SheetInfo, part: bytes) -> None:
        last_row = part.rfind(b"<row ")
        if last_row == -1:
            last_row = part.rfind(b":row ")
        if last_row != -1:
            m = _ROW_R_RE.match(part, last_row)
            if m:
                info.max_row = max(info.max_row, int(m.group(1)))
        # a cell at column AAA (703) or beyond?  translate+find runs at memory speed; the regex only on a hit
        if b'"AAA' in part.translate(_SHAPE):
            for m in _WIDE_RE.finditer(part):
                info.max_col = max(info.max_col, _col_index(m.group(1)) + 1)
        if not any(marker in part for marker in _MARKERS):
            return
        for m in _CELL_RE.finditer(part):
            attrs, body = m.group(1), m.group(2) or b""
            is_error = b't="e"' in attrs
            fm = _F_RE.search(body)
            if not is_error and not fm:
                continue
            ref = _R_RE.search(attrs)
            if not ref:
                info.unlocated.append("公式" if fm else "错误值")
                continue
            pos = (int(ref.group(2)) - 1, _col_index(ref.group(1)))
            if fm:
                text = _xml_unescape(fm.group(1).decode("utf-8", "replace")) if fm.group(1) else ""
                info.formulas[pos] = text
            if is_error:
                v = _V_RE.search(body)
                info.errors[pos] = v.group(1).decode("utf-8", "replace") if v else "#错误"

    def rows(self, info: SheetInfo):
        """Rows of cell values (lists), from row 1; refuses sheets whose real extent is absurd."""
        if self._wait_ahead(info):
            return self._loaded[info.name]
        return self._rows(info)

    def _rows(self, info: SheetInfo):
        # columns beyond Z are measured exactly by the scan; narrower sheets count as 26 wide
        cells = max(info.max_row, 1) * max(info.max_col, 26)
        if cells > MAX_CELLS:
            raise WorkbookError(
                f"工作表“{info.name}”的内容一直延伸到第{info.max_row}行"
                + (f"、第{column_letter(info.max_col - 1)}列" if info.max_col > 26 else "") + "，"
                "远超台账的正常大小（多半是表格下方或右侧远处有个别多余的单元格）。"
                "请删除多余的行和列（或把数据复制到新工作表）后重新保存再导入")
        if info.max_row > 1_048_576:
            raise WorkbookError(f"工作表“{info.name}”超过 Excel 的最大行数，文件已损坏")
        return self._sheet(info)

    def _sheet(self, info: SheetInfo):
        """calamine parses a sheet on every get_sheet_by_name: do it once."""
        if info.name not in self._loaded:
            try:
                self._loaded[info.name] = self._cal.get_sheet_by_name(info.name)
            except Exception as exc:  # noqa: BLE001
                raise WorkbookError(f"工作表“{info.name}”无法读取（{type(exc).__name__}），"
                                    "请在 Excel 或 WPS 中重新保存为 .xlsx 后再导入") from exc
        return self._loaded[info.name]

    def merged_ranges(self, info: SheetInfo) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (row0, col0, row1, col1), inclusive."""
        sheet = self.rows(info) if info.name in self._ahead else self._sheet(info)
        out = []
        for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ():
            out.append((r0, c0, r1, c1))
        return out


_DIM_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([^"]*)"')
_ROW_R_RE = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_SHAPE = bytes.maketrans(bytes(range(65, 91)), b"A" * 26)
_WIDE_RE = re.compile(rb'\br="([A-Z]{3,})\d+"')
_MARKERS = (b"<f>", b"<f ", b"<f/", b":f>", b":f ", b't="e"')
_CELL_RE = re.compile(rb'<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
_R_RE = re.compile(rb'\br="([A-Z]+)(\d+)"')
_F_RE = re.compile(rb'<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)', re.S)
_V_RE = re.compile(rb'<(?:\w+:)?v>([^<]*)</')


def _xml_unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))
