"""``python -m benchmarks desktop``: the desktop app with 100,000 demo service records.

Prints:
  desktop.cold_start_s  process start → main window shown, painted, its first list loaded
                        (median of 3 fresh processes)                                 target ≤ 2 s
  desktop.search_ms     search box / filter / date range on the 100,000-row service list, from
                        setting the filter to the repainted table, the filters' read job
                        included (median)                                                target ≤ 100 ms
  desktop.save_ms       one save round trip from the record form: validate, write (change log +
                        audit, fsync'd transaction), close, list refresh started (median)  target ≤ 50 ms
  desktop.form_open_ms  a staff record's form opened from its list: the read job (record, choices,
                        children, leftover draft) and the form built, shown and painted (median)
  desktop.rss_mb        peak RSS of the app process with the 100,000-row list open, scrolled
                        end to end, searched and saved into                               target ≤ 300 MB

The data is generated once (``taizhang demo --records N`` in a throw-away data directory); every
measurement runs in its own fresh process so the generator's memory does not count.
Options: ``--records N`` (default 100000), ``--keep DIR`` to reuse/keep the data directory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_START = r"""
import sys, time, json
from desktop.ui.app import ensure_qapplication, open_context, AppController
from PySide6.QtCore import QTimer
app = ensure_qapplication()
ctx = open_context()
controller = AppController(ctx)
window = controller.start()
def done():
    if not window.current_list().loaded:  # the first list fills in from its read job
        QTimer.singleShot(5, done)
        return
    window.grab()  # really painted
    print(json.dumps({"ready": time.time(), "title": window.windowTitle(),
                      "rows": window.current_list().model.rowCount()}), flush=True)
    app.quit()
QTimer.singleShot(0, done)
app.exec()
"""

CHILD_WORK = r"""
import json, resource, statistics, sys, time
from desktop.ui.app import ensure_qapplication, open_context, AppController
from desktop.ui.jobs import runner
from PySide6.QtCore import QDate, QEvent
from PySide6.QtWidgets import QApplication
app = ensure_qapplication()
ctx = open_context()
window = AppController(ctx).start()
window.resize(1200, 760)
window.show_page("service")
lst = window.current_list()
runner().wait_idle(60)
assert lst.model.rowCount() >= 100_000 or "--small" in sys.argv, lst.model.rowCount()
table = lst.table
# scroll the whole list (every page fetched once; the cache stays bounded)
bar = table.verticalScrollBar()
for v in range(0, bar.maximum() + 1, max(1, bar.maximum() // 200)):
    bar.setValue(v); app.processEvents()
bar.setValue(0); app.processEvents()

def timed(action):
    # filters run their query as a read job: the time runs until the list's rows are in and painted
    # (the list's own job only: other jobs, such as the status bar's count, do not hold the rows back)
    t = time.perf_counter(); action()
    while lst.model.pending and time.perf_counter() - t < 60:
        app.processEvents(); time.sleep(0.0005)
    table.viewport().repaint(); app.processEvents()
    return (time.perf_counter() - t) * 1000

def set_search(text):
    def go():
        lst.search.blockSignals(True); lst.search.setText(text); lst.search.blockSignals(False)
        lst.filter_in_background()  # what the search box does when typing pauses (ids + first rows)
    return go

def set_combo(name, value):
    combo = lst.filter_combos[name]
    return lambda: combo.setCurrentIndex(combo.findData(value))

times, counts = [], []
year = QDate.currentDate().year()
for action in (set_search("送药上门"), set_search("养老"), set_search("调解"), set_search(""),
               set_combo("category", "养老"), set_combo("target", "老年人"), set_combo("category", ""),
               set_combo("target", ""), set_search("协助办理"), set_search("")):
    times.append(timed(action)); counts.append(lst.model.rowCount())
lst.date_check.setChecked(True)
runner().wait_idle(60)  # turning the date range on filters too (not timed)
for month in (1, 2, 3, 4):
    def go(month=month):
        lst.date_from.setDate(QDate(year, month, 1)); lst.date_to.setDate(QDate(year, month, 28))
    times.append(timed(go)); counts.append(lst.model.rowCount())
lst.date_check.setChecked(False)
# staff: last digits of a phone
window.show_page("staff")
staff = window.current_list()
runner().wait_idle(60)
phone = ctx.repo.list("staff")[0]["phone"]
t = time.perf_counter(); staff.search.setText(phone[-4:]); staff.filter_in_background()
while staff.model.pending and time.perf_counter() - t < 60:
    app.processEvents(); time.sleep(0.0005)
staff.table.viewport().repaint(); app.processEvents(); times.append((time.perf_counter() - t) * 1000)

# opening a staff record's form from the list: its read job (record, choices, training children,
# leftover draft) and building the form, until it is shown and painted
opens = []
staff_id = ctx.repo.list("staff")[0]["id"]
for _ in range(7):
    t = time.perf_counter()
    form = staff._open_form(staff_id)
    form.repaint(); app.processEvents()
    opens.append((time.perf_counter() - t) * 1000)
    form.reject(); form.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

# saves from the form (service record: the 100,000-row list refreshes in the background afterwards)
window.show_page("service")
from desktop.forms import RecordForm
saves = []
for i in range(15):
    form = RecordForm(ctx.repo, "service", ctx.org_code, None, lst)
    form.saved.connect(lst._form_saved)
    form.open(); app.processEvents()
    form.field_widget("date").set_raw(f"{year}-03-{i + 1:02d}")
    form.field_widget("category").set_raw("养老")
    form.field_widget("mode").set_raw("上门")
    form.field_widget("target").set_raw("老年人")
    form.field_widget("persons").set_raw("3")
    app.processEvents()
    t = time.perf_counter()
    record = form.save()
    saves.append((time.perf_counter() - t) * 1000)
    assert record is not None, form.issues()
    runner().wait_idle(30)
    form.deleteLater()
    # what the running event loop does after each closed form (processEvents alone never deletes)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
app.processEvents()
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"search_ms": times, "counts": counts, "save_ms": saves, "open_ms": opens, "rss_mb": rss_mb,
                  "rows": lst.model.rowCount()}), flush=True)
"""


def _env(home: Path) -> dict:
    env = dict(os.environ)
    env["TAIZHANG_HOME"] = str(home)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    return env


def _child(code: str, home: Path, *args: str) -> tuple[dict, float]:
    started = time.time()
    out = subprocess.run([sys.executable, "-c", code, *args], env=_env(home), capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"benchmark child failed ({out.returncode})")
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line), started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks desktop")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="data directory to reuse/keep")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])

    home = args.keep or Path(tempfile.mkdtemp(prefix="taizhang-bench-desktop-"))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "taizhang.sqlite3").exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "desktop.cli", "demo", "--records", str(args.records)],
                       env=_env(home), check=True, capture_output=True)
        print(f"# generated {args.records:,} demo service records in {time.perf_counter() - t:.1f} s ({home})")

    starts = []
    for _ in range(3):
        result, started = _child(CHILD_START, home)
        starts.append(result["ready"] - started)
    work, _ = _child(CHILD_WORK, home, *(["--small"] if args.records < 100_000 else []))

    print(f"# service rows in the list: {work['rows']:,}; cold starts: {', '.join(f'{s:.2f}' for s in starts)} s")
    print(f"# search/filter timings (ms): {', '.join(f'{x:.0f}' for x in work['search_ms'])}")
    print(f"# save timings (ms): {', '.join(f'{x:.1f}' for x in work['save_ms'])}")
    print(f"desktop.cold_start_s: {statistics.median(starts):.2f}")
    print(f"desktop.search_ms: {statistics.median(work['search_ms']):.1f}")
    print(f"# form open timings (ms): {', '.join(f'{x:.0f}' for x in work['open_ms'])}")
    print(f"desktop.save_ms: {statistics.median(work['save_ms']):.1f}")
    print(f"desktop.form_open_ms: {statistics.median(work['open_ms']):.1f}")
    print(f"desktop.rss_mb: {work['rss_mb']:.0f}")
    if args.keep is None:
        import shutil

        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
