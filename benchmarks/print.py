"""``python -m benchmarks print [--records N] [--home DIR]``: a year's 服务记录台账 as PDF.

Fills a fresh data directory with the demo village (N service records, default 100,000, all in this
year), then runs ``taizhang print service --year Y -o F.pdf`` in a child process, so that its time
and peak memory are its own.  With ``--home`` an existing data directory is used as it is.

Prints ``print.rows``, ``print.pages``, ``print.seconds`` (wall clock), ``print.cpu_s`` (the child's
CPU time: on a shared machine the steadier figure), ``print.rows_per_s``, ``print.peak_mb``
(the child's maximum resident set) and ``print.pdf_mb``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


# the child reports its own peak resident set on exit (RUSAGE_CHILDREN would mix in the demo fill)
_CHILD = ("import resource, sys\n"
          "from desktop.cli import main\n"
          "rc = main(sys.argv[1:])\n"
          "u = resource.getrusage(resource.RUSAGE_SELF)\n"
          "print('peak_kb', u.ru_maxrss, 'cpu_s', u.ru_utime + u.ru_stime, file=sys.stderr)\n"
          "sys.exit(rc)\n")


def _taizhang(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TAIZHANG_HOME=str(home))
    return subprocess.run([sys.executable, "-c", _CHILD, *args], env=env, check=True, capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks print")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--home", help="use this data directory as it is (no demo data generated)")
    parser.add_argument("--year", type=int, default=dt.date.today().year)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taizhang-print-bench-") as scratch:
        home = Path(args.home) if args.home else Path(scratch) / "home"
        if not args.home:
            home.mkdir()
            print(f"# generating the demo village with {args.records} service records …", file=sys.stderr)
            _taizhang(home, "demo", "--records", str(args.records))
        out = Path(scratch) / "service.pdf"
        started = time.perf_counter()
        done = _taizhang(home, "print", "service", "--year", str(args.year), "-o", str(out))
        seconds = time.perf_counter() - started
        usage = re.search(r"peak_kb (\d+) cpu_s ([\d.]+)", done.stderr)
        peak_kb, cpu_s = int(usage.group(1)), float(usage.group(2))
        m = re.search(r"（(\d+) 条，(\d+) 页）", done.stdout)
        rows, pages = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        print(f"print.rows: {rows}")
        print(f"print.pages: {pages}")
        print(f"print.seconds: {seconds:.1f}")
        print(f"print.cpu_s: {cpu_s:.1f}")
        print(f"print.rows_per_s: {rows / seconds:.0f}")
        print(f"print.peak_mb: {peak_kb / 1024:.0f}")
        print(f"print.pdf_mb: {out.stat().st_size / 1e6:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
