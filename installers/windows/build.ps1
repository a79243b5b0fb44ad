# 社区服务台账 Windows 安装包：一条命令完成构建（县民政局信息管理员在一台 Windows 10/11 64 位电脑上运行）。
#
#   powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1 [-BuildNumber 1]
#
# 按顺序做三步，每一步做完都检查结果，出错就用中文说明原因并停止（退出码 1）：
#   1. Python：找到 64 位 Python 3.10 或更新版本，建 .venv，装入本程序和 PyInstaller
#   2. PyInstaller：installers\build.py 生成 dist\taizhang\（taizhang.exe、taizhang-cli.exe），
#      再用临时数据目录自检：首次使用窗口必须出现
#   3. Inno Setup：ISCC.exe 编译 installers\windows\taizhang.iss，得到 dist\Taizhang-Setup-<版本>.exe
# 版本号四段：前三段是程序版本（pyproject.toml），第四段是 -BuildNumber（本县每做一次新安装包加 1）。
# 步骤说明见 docs/install.md（“Windows 安装包”）和 installers/windows/BUILD.md。
[CmdletBinding()]
param(
    [ValidateRange(0, 65535)][int]$BuildNumber = 0,
    [string]$Python = "",
    [string]$Iscc = ""
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Set-Location $Root
$Dist = Join-Path $Root "dist"
$Bundle = Join-Path $Dist "taizhang"
$Iss = Join-Path $PSScriptRoot "taizhang.iss"
$Started = Get-Date

function Fail([string]$Message) {
    Write-Host "失败：$Message" -ForegroundColor Red
    exit 1
}

function Step([string]$Title) {
    Write-Host ""
    Write-Host "=== $Title ===" -ForegroundColor Cyan
}

function Invoke-Checked([string]$What, [string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { Fail "$What（$Exe 退出码 $LASTEXITCODE）" }
}

# ---------------------------------------------------------------- 1. Python
Step "1/3 Python"
$candidates = @()
if ($Python) { $candidates += ,@($Python) }
if (Get-Command py -ErrorAction SilentlyContinue) { $candidates += ,@("py", "-3.11"); $candidates += ,@("py", "-3") }
if (Get-Command python -ErrorAction SilentlyContinue) { $candidates += ,@("python") }
$py = $null
# Windows PowerShell 5.1 turns a native program's redirected stderr into errors: look without "Stop" here
$ErrorActionPreference = "Continue"
foreach ($c in $candidates) {
    $exe = $c[0]; $pre = @($c | Select-Object -Skip 1)
    $ok = & $exe @pre -c "import struct, sys; sys.exit(0 if sys.version_info >= (3, 10) and struct.calcsize('P') == 8 else 1)" 2>$null
    if ($LASTEXITCODE -eq 0) { $py = $c; break }
}
$ErrorActionPreference = "Stop"
if (-not $py) {
    Fail ("没有找到 64 位的 Python 3.10 或更新版本。请从 https://www.python.org/downloads/windows/ 安装 " +
          "Python 3.11（64 位，勾选 Add python.exe to PATH），或用 -Python 指定 python.exe 的完整路径")
}
$pyExe = $py[0]; $pyPre = @($py | Select-Object -Skip 1)
Write-Host ("使用 Python：" + (& $pyExe @pyPre -c "import sys; print(sys.version.split()[0], sys.executable)"))
$venvPy = Join-Path $Root ".venv\Scripts\python.exe"
if (-not (Test-Path $venvPy)) { Invoke-Checked "建立 .venv" $pyExe ($pyPre + @("-m", "venv", ".venv")) }
Invoke-Checked "升级 pip" $venvPy @("-m", "pip", "install", "--upgrade", "pip")
Invoke-Checked "安装本程序和 PyInstaller（需要能访问 Python 软件包源）" $venvPy @("-m", "pip", "install", "-e", ".[desktop]", "pyinstaller>=6.5")
& $venvPy -c "import PySide6, PyInstaller, desktop.cli"
if ($LASTEXITCODE -ne 0) { Fail "Python 环境不完整：PySide6、PyInstaller 或本程序无法导入" }
$Version = (& $venvPy -c "from storage import __version__; print(__version__)").Trim()
$FullVersion = "$Version.$BuildNumber"
Write-Host "程序版本 $Version，安装包版本 $FullVersion"

# ---------------------------------------------------------------- 2. PyInstaller
Step "2/3 PyInstaller：程序文件夹 dist\taizhang"
Invoke-Checked "PyInstaller 构建" $venvPy @("installers\build.py", "--dist", $Dist)
foreach ($exe in @("taizhang.exe", "taizhang-cli.exe")) {
    if (-not (Test-Path (Join-Path $Bundle $exe))) { Fail "构建结果里没有 dist\taizhang\$exe" }
}
# self-test with a throw-away data directory: the first-run window must appear (then it closes itself)
$selfTestHome = Join-Path ([System.IO.Path]::GetTempPath()) ("taizhang-selftest-" + [guid]::NewGuid())
$env:TAIZHANG_HOME = $selfTestHome
$env:TAIZHANG_SELF_TEST = "1"
$ErrorActionPreference = "Continue"  # Qt may write notes to stderr; the printed line decides
try {
    $said = & (Join-Path $Bundle "taizhang-cli.exe") 2>&1 | Out-String
} finally {
    Remove-Item Env:TAIZHANG_HOME, Env:TAIZHANG_SELF_TEST -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $selfTestHome -ErrorAction SilentlyContinue
    $ErrorActionPreference = "Stop"
}
if ($said -notmatch "TAIZHANG_SELF_TEST dialog: .*首次使用设置") {
    Fail "自检没有看到首次使用窗口。程序输出：`n$said"
}
Write-Host "自检通过：首次使用窗口出现"

# ---------------------------------------------------------------- 3. Inno Setup
Step "3/3 Inno Setup：安装程序"
if (-not $Iscc) {
    $found = Get-Command ISCC.exe -ErrorAction SilentlyContinue
    if ($found) { $Iscc = $found.Source }
    foreach ($dir in @(${env:ProgramFiles(x86)}, $env:ProgramFiles, (Join-Path $env:LOCALAPPDATA "Programs"))) {
        if (-not $Iscc -and $dir -and (Test-Path (Join-Path $dir "Inno Setup 6\ISCC.exe"))) { $Iscc = Join-Path $dir "Inno Setup 6\ISCC.exe" }
    }
}
if (-not $Iscc -or -not (Test-Path $Iscc)) {
    Fail "没有找到 Inno Setup 6 的 ISCC.exe。请从 https://jrsoftware.org/isdl.php 安装 Inno Setup 6，或用 -Iscc 指定 ISCC.exe 的完整路径"
}
if (-not (Test-Path (Join-Path $PSScriptRoot "ChineseSimplified.isl"))) {
    Write-Host "注意：installers\windows\ChineseSimplified.isl 不存在，安装向导的按钮将是英文（见 BUILD.md 第 4 步）" -ForegroundColor Yellow
}
$Setup = Join-Path $Dist "Taizhang-Setup-$FullVersion.exe"
Remove-Item $Setup -ErrorAction SilentlyContinue
Invoke-Checked "Inno Setup 编译" $Iscc @("/Q", "/DAppVersion=$FullVersion", $Iss)
if (-not (Test-Path $Setup)) { Fail "Inno Setup 没有生成 $Setup" }

$size = "{0:N1}" -f ((Get-Item $Setup).Length / 1MB)
$hash = (Get-FileHash -Algorithm SHA256 $Setup).Hash
$minutes = "{0:N1}" -f ((Get-Date) - $Started).TotalMinutes
Write-Host ""
Write-Host "完成：$Setup（$size MB，用时 $minutes 分钟）" -ForegroundColor Green
Write-Host "SHA256：$hash"
Write-Host "请在一台干净的电脑上验收：安装、打开、升级、卸载（BUILD.md 第 6 步）。"
