"""The installers, end to end: build the self-contained bundle and the .deb, install the .deb with
dpkg, start the INSTALLED app offscreen with a fresh data directory, upgrade it, remove it.

Slow (one PyInstaller build, ~1-2 minutes on 2 cores) and needs root for dpkg: CI runs it as root.
Every app run below is the installed program in /opt/apps/org.taizhang.ledger/files, started from
an empty directory with no PYTHONPATH, so nothing can come from the source tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from storage import __version__
from storage.db import head_revision, known_revisions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[1]
APPID = "org.taizhang.ledger"
APP_DIR = Path("/opt/apps") / APPID
INSTALLED = APP_DIR / "files" / "taizhang"
FIXTURE = ROOT / "tests" / "fixtures" / "release-0.1.0.sqlite3"
SELF_TEST = "TAIZHANG_SELF_TEST "


def _dpkg_status(package: str) -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


def _need_dpkg_root():
    if shutil.which("dpkg-deb") is None or shutil.which("dpkg-shlibdeps") is None:
        pytest.skip("dpkg-dev is not installed (scripts/system-deps.sh test installs it)")
    if os.geteuid() != 0:
        pytest.skip("installing a .deb needs root (CI runs the suite as root)")
    if "installed" in _dpkg_status(APPID):
        pytest.skip(f"{APPID} is already installed on this machine; the test will not replace it")


@pytest.fixture(scope="module")
def machine_lock():
    """One installer test run per machine at a time: the tests install into /opt and /usr, and a
    second run (another checkout's suite on a shared build machine) would swap the package under the
    first one's running program."""
    import fcntl

    with open("/tmp/taizhang-installer-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
        fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def debs(tmp_path_factory, machine_lock):
    """Build the bundle once, package it as 0.1.0.0 and 0.1.0.1 (the second for the upgrade test)."""
    _need_dpkg_root()
    out = tmp_path_factory.mktemp("dist")
    script = ROOT / "installers" / "linux" / "build-deb.sh"
    env = dict(os.environ, PYTHON=str(ROOT / ".venv" / "bin" / "python"),
               TAIZHANG_BUILD_WORK=str(tmp_path_factory.mktemp("pyinstaller-work")))
    if not Path(env["PYTHON"]).exists():
        env["PYTHON"] = shutil.which("python3")
    first = subprocess.run(["bash", str(script), "--fast", "--out", str(out), "--version", "0.1.0.0"],
                           capture_output=True, text=True, env=env, timeout=1800)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-5000:]
    figures = dict(re.findall(r"^(\w+): (\S+)$", first.stdout, re.M))
    print(f"bundle_size_mb: {figures['bundle_size_mb']}  deb_size_mb: {figures['deb_size_mb']}  "
          f"build_seconds: {figures['build_seconds']}")
    second = subprocess.run(["bash", str(script), "--fast", "--out", str(out), "--version", "0.1.0.1",
                             "--bundle", str(out / "taizhang")], capture_output=True, text=True, env=env,
                            timeout=900)
    assert second.returncode == 0, second.stderr[-5000:]
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    yield {"old": out / f"{APPID}_0.1.0.0_{arch}.deb", "new": out / f"{APPID}_0.1.0.1_{arch}.deb",
           "bundle": out / "taizhang", "figures": figures, "arch": arch}
    if _dpkg_status(APPID):
        subprocess.run(["dpkg", "--purge", APPID], capture_output=True)


def _dpkg(*args: str) -> str:
    result = subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"dpkg {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result.stdout


def _run_installed(home: Path, *args: str, self_test: bool = False, program: Path = INSTALLED,
                   timeout: int = 120, input: str | None = None) -> subprocess.CompletedProcess:
    cwd = home.parent / "cwd"
    cwd.mkdir(exist_ok=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home.parent), "LANG": "C.UTF-8",
           "TAIZHANG_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    if self_test:
        env["TAIZHANG_SELF_TEST"] = "1"
    return subprocess.run([str(program), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, input=input)


def _self_test_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line[len(SELF_TEST):] for line in result.stdout.splitlines() if line.startswith(SELF_TEST)]


def _records(db: Path) -> dict[str, int]:
    from storage.schema import RECORD_TYPES

    conn = sqlite3.connect(str(db))
    try:  # the record tables this database has (an older release's has fewer)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in RECORD_TYPES
                if name in tables}
    finally:
        conn.close()


def _revision(db: Path) -> str:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()


def test_deb_follows_the_uos_layout_and_bundles_only_what_the_app_needs(debs):
    deb = debs["old"]
    control = _dpkg("-I", str(deb), "control")  # dpkg-deb -I via dpkg
    assert f"Package: {APPID}" in control and "Version: 0.1.0.0" in control
    assert re.search(r"^Depends: .*libxcb-cursor0", control, re.M)
    # no maintainer scripts: installing or removing changes nothing else on the system
    members = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True).stdout
    tmp = deb.parent / "ctrl.tar"
    tmp.write_bytes(members)
    with tarfile.open(tmp) as tar:
        names = {Path(n).name for n in tar.getnames()} - {"", "."}
    assert names == {"control"}, names

    listing = _dpkg("-c", str(deb))
    files = {line.split()[5].lstrip(".") for line in listing.splitlines()}
    base = f"/opt/apps/{APPID}"
    for path in (f"{base}/info", f"{base}/files/taizhang", f"{base}/entries/applications/{APPID}.desktop",
                 f"{base}/entries/icons/hicolor/scalable/apps/{APPID}.svg",
                 f"{base}/entries/icons/hicolor/48x48/apps/{APPID}.png"):
        assert path in files, path
    outside = {f for f in files if f and not f.startswith("/opt/") and not f.endswith("/")}
    assert all(f.startswith(("/usr/share/applications/", "/usr/share/icons/", "/usr/bin/taizhang"))
               for f in outside), outside

    bundle = debs["bundle"]
    internal = bundle / "_internal"
    assert (internal / "fonts" / "wqy-microhei.ttc").is_file()  # Chinese never renders as boxes
    if shutil.which("fc-list"):  # the bundled fontconfig file really adds the bundled font
        listed = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True, check=True,
                                env=dict(os.environ, FONTCONFIG_FILE=str(internal / "fonts" / "fonts.conf")))
        assert str(internal / "fonts" / "wqy-microhei.ttc") in listed.stdout
    # every migration ships, up to the head (an installed app must upgrade older databases)
    bundled = {p.name[:4] for p in (internal / "storage" / "migrations" / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")}
    assert head_revision() in bundled and bundled == known_revisions()
    assert (internal / "desktop" / "resources" / "taizhang-48.png").is_file()  # the window icon
    qt_libs = {p.name.split(".so")[0] for p in (internal / "PySide6" / "Qt" / "lib").glob("libQt6*")}
    assert {"libQt6Core", "libQt6Gui", "libQt6Widgets"} <= qt_libs
    assert not qt_libs & {"libQt6Qml", "libQt6Quick", "libQt6Pdf", "libQt6WebEngineCore", "libQt6Designer"}
    assert not list(internal.rglob("libgtk-3*")), "GTK must come from the system, not the bundle"
    assert not list(internal.rglob("fastapi")), "the county server is not part of the village app"
    size_mb = float(debs["figures"]["bundle_size_mb"])
    assert 30 < size_mb < 250, size_mb


def test_installed_app_opens_and_user_data_survives_removal(debs, tmp_path):
    _dpkg("-i", str(debs["old"]))
    info = json.loads((APP_DIR / "info").read_text(encoding="utf-8"))
    assert info["appid"] == APPID and "社区服务台账" in info["name"]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", info["version"]) and info["arch"] == [debs["arch"]]
    entry = Path(f"/usr/share/applications/{APPID}.desktop").read_text(encoding="utf-8")
    assert "Name=社区服务台账" in entry and f"Exec={INSTALLED}" in entry

    home = tmp_path / "fresh-home"  # a fresh data directory, as on a newly set-up PC
    version = _run_installed(home, "--version", program=Path("/usr/bin/taizhang"))
    assert version.stdout.strip() == f"社区服务台账 {__version__}", version.stderr
    first = _run_installed(home, self_test=True)
    lines = _self_test_lines(first)
    assert len(lines) == 1 and lines[0].startswith(f"dialog: 社区服务台账 {__version__}"), first.stdout + first.stderr
    assert "首次使用" in lines[0]  # a fresh data directory starts with the first-run setup

    made = _run_installed(home, "demo", "--records", "60", program=Path("/usr/bin/taizhang"))
    assert made.returncode == 0, made.stderr
    shown = _run_installed(home, self_test=True)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    lines = _self_test_lines(shown)
    assert len(lines) == 1 and lines[0].startswith(f"window: 社区服务台账 {__version__}"), shown.stdout + shown.stderr
    assert "幸福村（演示数据）（220102001001）" in lines[0]
    backup = _run_installed(home, "backup", input="村委会备份口令2026\n")  # the passphrase, from standard input
    assert backup.returncode == 0 and "备份完成" in backup.stdout, backup.stderr

    db = home / "taizhang.sqlite3"
    before = _records(db)
    assert before["service"] == 60
    _dpkg("-r", APPID)
    assert not INSTALLED.exists()
    _dpkg("--purge", APPID)
    assert not APP_DIR.exists() and not Path("/usr/bin/taizhang").exists()
    assert _records(db) == before  # the ledger is untouched by removing and purging the program
    assert list((home / "backups").glob("台账备份*.tzbak"))  # encrypted with the passphrase


def test_upgrade_over_older_package_migrates_the_previous_release_database(debs, tmp_path):
    assert FIXTURE.is_file(), "tests/fixtures/release-0.1.0.sqlite3 is the 0.1.0 release database"
    _dpkg("-i", str(debs["old"]))
    home = tmp_path / "village-pc"
    home.mkdir()
    db = home / "taizhang.sqlite3"
    shutil.copyfile(FIXTURE, db)
    expected = _records(FIXTURE)
    assert _revision(db) == "0001"

    _dpkg("-i", str(debs["new"]))  # the newer package installed over the older one
    assert "Version: 0.1.0.1" in _dpkg("-s", APPID)
    shown = _run_installed(home, self_test=True)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert _self_test_lines(shown)[0].startswith(f"window: 社区服务台账 {__version__}"), shown.stdout
    assert _revision(db) == head_revision()  # migrated by the installed program
    after = _records(db)
    assert {k: after[k] for k in expected} == expected  # not a record lost
    assert all(after[k] == 0 for k in after.keys() - expected.keys())  # the tables added since, empty
    saved = list((home / "backups").glob("升级前备份-*-0001.sqlite3"))
    assert len(saved) == 1 and _revision(saved[0]) == "0001"  # backed up before migrating
    assert _records(saved[0]) == expected
    info = _run_installed(home, "info")
    assert f"数据库版本: {head_revision()}" in info.stdout, info.stdout + info.stderr


def test_installed_app_explains_a_failed_migration_and_a_too_new_database_in_chinese(debs, tmp_path):
    if "installed" not in _dpkg_status(APPID):
        _dpkg("-i", str(debs["new"]))
    # A 0.1.0 database that 0.1.0.1's migration cannot upgrade: someone already created one of the
    # indexes the migration adds, so CREATE INDEX fails half-way.
    home = tmp_path / "failing"
    home.mkdir()
    db = home / "taizhang.sqlite3"
    shutil.copyfile(FIXTURE, db)
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE INDEX ix_staff_name ON staff(name)")
    conn.commit()
    conn.close()
    expected = _records(db)
    failed = _run_installed(home, self_test=True)
    lines = _self_test_lines(failed)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert len(lines) == 1 and lines[0].startswith("message: 无法打开台账数据库: 数据库升级失败"), lines
    assert "已从备份" in lines[0] and "原有数据没有丢失" in lines[0]
    assert _revision(db) == "0001" and _records(db) == expected  # restored from the backup

    # A database from a newer program: refused, unchanged, and the user is told to upgrade.
    newer = tmp_path / "newer"
    newer.mkdir()
    db = newer / "taizhang.sqlite3"
    shutil.copyfile(FIXTURE, db)
    conn = sqlite3.connect(str(db))
    conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.commit()
    conn.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    refused = _run_installed(newer, self_test=True)
    lines = _self_test_lines(refused)
    assert refused.returncode == 1 and len(lines) == 1, refused.stdout + refused.stderr
    assert "更新版本的台账程序" in lines[0] and "请安装最新版本" in lines[0]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    _dpkg("--purge", APPID)


# --------------------------------------------------------------------------- the 信创 baseline (glibc ≤ 2.31)

GLIBC_BASELINE = (2, 31)  # UOS 20 and Kylin V10 ship glibc 2.28-2.31


@pytest.mark.timeout(4800)
def test_baseline_deb_needs_no_newer_glibc_and_opens_in_a_fresh_debian_11(tmp_path):
    """The release build (installers/linux/build-deb-baseline.sh: bundle and package made inside a
    Debian 11 root, Python 3.11 compiled there) needs at most glibc 2.31 in every file (objdump -T),
    and the package installs with apt into a fresh minimal Debian 11 and opens its first-run window
    there, as an ordinary user with a new data directory, under Xvfb.  The first run on a machine
    makes and keeps the Debian 11 build root (about 20 minutes on 2 cores); later runs 6-10 minutes."""
    if os.geteuid() != 0:
        pytest.skip("debootstrap and chroot need root (CI runs the suite as root)")
    out = tmp_path / "dist"
    built = subprocess.run(["bash", str(ROOT / "installers" / "linux" / "build-deb-baseline.sh"), "--fast",
                            "--out", str(out), "--version", "0.1.0.0"],
                           capture_output=True, text=True, timeout=4200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-5000:]
    figures = dict(re.findall(r"^(\w+): (\S+)$", built.stdout, re.M))
    print({k: v for k, v in figures.items() if k.endswith(("seconds", "_mb", "glibc"))})
    debs = sorted(out.glob(f"{APPID}_0.1.0.0_*.deb"))
    assert len(debs) == 1, sorted(p.name for p in out.iterdir())

    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], check=True)
    listed = subprocess.run(["bash", str(ROOT / "installers" / "linux" / "max-glibc.sh"), str(unpacked), "--list"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    needs = {line.split(" ", 1)[1]: tuple(int(n) for n in line.split(" ", 1)[0].split(".")) for line in listed}
    assert any(path.endswith("files/taizhang") for path in needs), "the program itself was read"
    assert any("libpython3.11" in path for path in needs) and any("libQt6Core" in path for path in needs)
    too_new = {path: version for path, version in needs.items() if version > GLIBC_BASELINE}
    assert not too_new, f"files needing glibc > 2.31: {too_new}"
    assert figures["max_glibc"] == ".".join(map(str, max(needs.values())))
    control = subprocess.run(["dpkg-deb", "-f", str(debs[0]), "Depends"], capture_output=True, text=True,
                             check=True).stdout
    libc = re.search(r"libc6 \(>= ([\d.]+)\)", control)
    assert libc and tuple(int(n) for n in libc.group(1).split(".")[:2]) <= GLIBC_BASELINE, control

    checked = subprocess.run(["bash", str(ROOT / "installers" / "linux" / "check-deb-in-debian.sh"), str(debs[0]),
                              "bullseye"], capture_output=True, text=True, timeout=1800)
    print(checked.stdout)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "glibc: ldd (Debian GLIBC 2.31" in checked.stdout
    assert "first-run window: ok" in checked.stdout
