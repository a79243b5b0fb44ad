"""Build the self-contained desktop app folder with PyInstaller (Linux and Windows).

    python installers/build.py            -> dist/taizhang/  (taizhang or taizhang.exe inside)

Prints the bundle's size as `bundle_size_mb: N` and writes dist/taizhang/BUILD-INFO.txt.
Needs the project installed in the Python that runs it (`pip install -e .[desktop]` plus
`pip install pyinstaller`); see installers/windows/BUILD.md for a Windows PC.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "installers" / "pyinstaller" / "taizhang.spec"
KEEP_TRANSLATIONS = ("_zh_CN.qm",)  # the users read Simplified Chinese; Qt's other languages are dead weight


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def prune(bundle: Path) -> int:
    """Remove files the app never loads: Qt translations for other languages."""
    removed = 0
    for qm in bundle.rglob("translations/*.qm"):
        if not qm.name.endswith(KEEP_TRANSLATIONS):
            removed += qm.stat().st_size
            qm.unlink()
    return removed


def app_version() -> str:
    sys.path.insert(0, str(ROOT))
    from storage import __version__

    return __version__


def build(dist: Path, work: Path) -> Path:
    started = time.monotonic()
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    print("+", " ".join(cmd), flush=True)
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    bundle = dist / "taizhang"
    pruned = prune(bundle)
    size = folder_size(bundle)
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    seconds = time.monotonic() - started
    (bundle / "BUILD-INFO.txt").write_text(
        f"社区服务台账 {app_version()}\n"
        f"built: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.platform()}\n"
        f"python: {platform.python_version()}\n"
        f"size: {size / 1e6:.1f} MB in {files} files\n", encoding="utf-8")
    print(f"bundle: {bundle}")
    print(f"bundle_size_mb: {size / 1e6:.1f}")
    print(f"bundle_files: {files}")
    print(f"pruned_translations_mb: {pruned / 1e6:.1f}")
    print(f"build_seconds: {seconds:.0f}")
    return bundle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TAIZHANG_BUILD_WORK") or ROOT / "build" / "pyinstaller"),
                        help="PyInstaller work folder (default build/pyinstaller, or $TAIZHANG_BUILD_WORK)")
    args = parser.parse_args(argv)
    if shutil.which("pyinstaller") is None and not _has_pyinstaller():
        print("PyInstaller is missing: pip install pyinstaller", file=sys.stderr)
        return 2
    build(args.dist.resolve(), args.work.resolve())
    return 0


def _has_pyinstaller() -> bool:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
