"""The Windows installer's three files agree with each other and with the program, checked here
because the build itself needs a Windows PC: the Inno Setup script (installers/windows/taizhang.iss),
the PyInstaller spec (the names of the folder and the programs it makes), pyproject.toml (the
version), the one-command build (installers/windows/build.ps1) and the Chinese the user reads."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from storage import __version__

ROOT = Path(__file__).resolve().parents[1]
WIN = ROOT / "installers" / "windows"
ISS = WIN / "taizhang.iss"
PS1 = WIN / "build.ps1"
SPEC = ROOT / "installers" / "pyinstaller" / "taizhang.spec"
# AppId ties every version together for upgrades: it must never change (a new one installs side by side)
APP_ID = "{B9DB213C-39D6-4CA5-BC09-CB936B9975CE}"
APP_NAME = "社区服务台账"


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


@pytest.fixture(scope="module")
def iss() -> dict[str, str]:
    """The script's #define values (AppName, AppExe, AppVersion …), its [Setup] keys with {#…}
    expanded (under "Setup.<key>"), and its text."""
    text = _text(ISS).replace("\r\n", "\n")
    values = dict(re.findall(r'^\s*#define (\w+) "([^"]*)"', text, re.M))
    setup = text.split("[Setup]", 1)[1].split("\n[", 1)[0]
    for key, value in re.findall(r"^(\w+)=(.*)$", setup, re.M):
        values[f"Setup.{key}"] = re.sub(r"\{#(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), value)
    values["_text"] = text
    return values


def _spec_names() -> set[str]:
    return set(re.findall(r'name="([\w-]+)"', SPEC.read_text(encoding="utf-8")))


def test_both_windows_files_are_utf8_with_bom_so_the_chinese_survives():
    # Inno Setup 6 and Windows PowerShell 5.1 read a file without BOM as the ANSI code page
    for path in (ISS, PS1):
        assert path.read_bytes().startswith(codecs.BOM_UTF8), path
        assert "\r\n" in path.read_bytes().decode("utf-8-sig"), f"{path.name}: CRLF line ends for Windows tools"


def test_the_app_id_never_changes(iss):
    assert iss["Setup.AppId"] == "{" + APP_ID  # Inno Setup writes a literal { as {{
    assert iss["Setup.AppName"] == APP_NAME and iss["Setup.UninstallDisplayName"] == APP_NAME
    assert re.fullmatch(r"\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", APP_ID)


def test_version_follows_pyproject(iss):
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert version == __version__
    assert iss["AppVersion"] == f"{version}.0", "the script's default version is the program's plus build number 0"
    assert iss["Setup.OutputBaseFilename"] == f"Taizhang-Setup-{version}.0"
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", iss["AppVersion"]), "VersionInfoVersion needs four numbers"
    assert iss["Setup.AppVersion"] == iss["Setup.VersionInfoVersion"] == iss["AppVersion"]
    # build.ps1 passes the program version plus the build number, and looks for the same file name
    ps1 = _text(PS1)
    assert '"/DAppVersion=$FullVersion"' in ps1 and '$FullVersion = "$Version.$BuildNumber"' in ps1
    assert '"Taizhang-Setup-$FullVersion.exe"' in ps1
    assert "from storage import __version__" in ps1


def test_file_names_agree_with_the_pyinstaller_spec(iss):
    names = _spec_names()
    assert {"taizhang", "taizhang-cli"} <= names
    assert iss["AppExe"] == "taizhang.exe" and iss["AppExe"].removesuffix(".exe") in names
    files = re.search(r'^Source: "([^"]+)"', iss["_text"], re.M).group(1)
    assert files == r"{#Dist}\taizhang\*", "the installer packs the COLLECT folder dist\\taizhang"
    assert re.search(r'COLLECT\(.*name="taizhang"\)', SPEC.read_text(encoding="utf-8"))
    assert '#define Dist Here + "..\\..\\dist"' in iss["_text"]  # the repository's dist\, where build.py writes
    icon = ".." + iss["Setup.SetupIconFile"].split("..", 1)[1].replace("\\", "/")
    assert (WIN / icon).resolve() == (ROOT / "installers" / "icons" / "taizhang.ico").resolve()
    assert 'str(INSTALLERS / "icons" / "taizhang.ico")' in SPEC.read_text(encoding="utf-8")
    ps1 = _text(PS1)
    for exe in ("taizhang.exe", "taizhang-cli.exe"):
        assert exe in ps1
    assert 'Join-Path $PSScriptRoot "taizhang.iss"' in ps1 and r'"installers\build.py"' in ps1


def test_chinese_strings_agree_with_the_linux_package_and_the_app(iss):
    assert iss["AppName"] == APP_NAME
    deb = (ROOT / "installers" / "linux" / "build-deb.sh").read_text(encoding="utf-8")
    assert f"Name={APP_NAME}" in deb and f'"name": "{APP_NAME}"' in deb
    text = iss["_text"]
    assert '卸载{#AppName}' in text and '在桌面上创建“{#AppName}”图标' in text and "现在打开{#AppName}" in text
    # the uninstaller names the data folder the program really uses on Windows
    assert r"{localappdata}\Taizhang" in text
    assert 'user_data_dir("Taizhang"' in (ROOT / "storage" / "db.py").read_text(encoding="utf-8")
    assert iss["Setup.PrivilegesRequired"] == "lowest" and iss["Setup.MinVersion"] == "10.0"
    # the self-test line build.ps1 waits for is the one the app prints on a first start
    from desktop import self_test

    assert "TAIZHANG_SELF_TEST dialog: .*首次使用设置" in _text(PS1) and self_test.PREFIX == "TAIZHANG_SELF_TEST"


def test_build_script_runs_python_pyinstaller_inno_setup_in_order_and_checks_each():
    ps1 = _text(PS1)
    steps = [ps1.index(f"Step \"{n}/3 {what}") for n, what in ((1, "Python"), (2, "PyInstaller"), (3, "Inno Setup"))]
    assert steps == sorted(steps)
    assert '$ErrorActionPreference = "Stop"' in ps1
    assert ps1.count("Invoke-Checked ") >= 5  # venv, pip, packages, PyInstaller, ISCC: each exit code checked
    assert "if ($LASTEXITCODE -ne 0) { Fail" in ps1
    for produced in ("Test-Path (Join-Path $Bundle $exe)", "if (-not (Test-Path $Setup))"):
        assert produced in ps1
    fails = re.findall(r'Fail "([^"]+)"', ps1) + re.findall(r'Fail \("([^"]+)"', ps1)
    assert fails and all(re.search(r"[\u4e00-\u9fff]", message) for message in fails), fails
