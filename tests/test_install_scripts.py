"""The install scripts (scripts/install-log.sh, used by system-deps.sh and python-env.sh): a tool's
full output goes to a log file, the terminal shows short Chinese lines, and a failed step says which
step failed and where the log is.  Run on a copy of the scripts, with nothing installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def copy_scripts(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("install-log.sh", "python-env.sh", "system-deps.sh"):
        shutil.copy(ROOT / "scripts" / name, checkout / "scripts" / name)
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    return checkout


def run_steps(checkout: Path, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f". scripts/install-log.sh\ninstall_log demo\n{script}"], cwd=checkout,
                          capture_output=True, text=True, timeout=60)


def test_a_step_s_output_goes_to_the_log_not_the_terminal(tmp_path):
    checkout = copy_scripts(tmp_path)
    done = run_steps(checkout, 'install_step "第一步" echo "Reading package lists... 12345"')
    assert done.returncode == 0, done.stderr
    assert "第一步" in done.stderr and "Reading package lists" not in done.stderr + done.stdout
    log = (checkout / ".install-logs" / "demo.log").read_text(encoding="utf-8")
    assert "Reading package lists... 12345" in log and "第一步" in log


def test_a_failed_step_says_which_and_where_the_log_is(tmp_path):
    checkout = copy_scripts(tmp_path)
    failed = run_steps(checkout, 'install_step "第一步" true\n'
                                 'install_step "第二步" sh -c "echo E: Unable to locate package xyz; exit 100"\n'
                                 'install_step "第三步" touch never')
    assert failed.returncode == 1
    log = checkout / ".install-logs" / "demo.log"
    assert f"失败：第二步。完整输出见 {log}" in failed.stderr
    assert "E: Unable to locate package xyz" in failed.stderr  # the log's last lines, to see why at once
    assert "第三步" not in failed.stderr and not (checkout / "never").exists()


def test_python_env_fails_in_chinese_when_no_venv_can_be_made(tmp_path):
    checkout = copy_scripts(tmp_path)
    failed = subprocess.run(["bash", "scripts/python-env.sh", "desktop"], cwd=checkout, capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, PYTHON="/bin/false"))
    assert failed.returncode == 1
    assert "失败：创建虚拟环境 .venv" in failed.stderr and str(checkout / ".install-logs" / "python-env.log") in failed.stderr
    english = [line for line in failed.stderr.splitlines() if line.strip() and not CJK.search(line)
               and not line.startswith("    ")]  # indented: the log's quoted tail
    assert not english, english
