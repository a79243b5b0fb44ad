"""Logs and outputs never carry an ID number or phone: the server, the CLI and the desktop are run
through a sync, an import with errors and a failing write, and every log and output is searched for
the ID numbers and phones this test generated."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverproc import PASSWORD, SERVER_CMD, VILLAGE, ServerProcess, server_env, setup_county
from tests.test_exchange_util import STAFF_HEADER, make_workbook, staff_row, valid_id

pytestmark = pytest.mark.usefixtures("insecure_keyring")

CLI = [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())"]


def _fail_inserts(db: Path, table: str) -> None:
    """A trigger that refuses every insert into ``table``: a write that fails inside the database."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                 "BEGIN SELECT RAISE(ABORT, 'disk refused the write'); END")
    conn.commit()
    conn.close()


def _secrets(rows: list[list]) -> set[str]:
    out = set()
    for row in rows[1:]:
        values = dict(zip(STAFF_HEADER, row))
        out.update({str(values["公民身份号码*"]), str(values["手机号"])})
    return out - {""}


def test_no_log_or_output_holds_an_id_number_or_phone(tmp_path, qapp):
    outputs: list[str] = []
    secrets: set[str] = set()
    home = tmp_path / "client"
    home.mkdir()
    env = dict(os.environ, TAIZHANG_HOME=str(home), PYTHONIOENCODING="utf-8",
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        result = subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=180)
        outputs.extend([result.stdout, result.stderr])
        return result

    def workbook(name: str, first: int, count: int, **bad) -> Path:
        rows = [STAFF_HEADER] + [staff_row(i, **bad) for i in range(first, first + count)]
        secrets.update(_secrets(rows))
        return make_workbook(tmp_path / name, {"社区工作者": rows})

    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    server.start()
    try:
        setup_county(server)
        from storage import local
        from storage.cli import open_repository

        os.environ["TAIZHANG_HOME"] = str(home)  # the in-process (desktop) part uses the same ledger
        repo = open_repository()
        local.set_identity(repo, VILLAGE, "幸福村")
        assert cli("login", "--server", server.url, "--user", "cun", stdin=PASSWORD + "\n").returncode == 0
        assert cli("sync", stdin=PASSWORD + "\n").returncode == 0, outputs[-1]

        # An import with errors (bad check digits, a phone of the wrong length), and one that succeeds.
        bad = [STAFF_HEADER] + [staff_row(i, **{"公民身份号码*": valid_id(i)[:17] + ("0" if valid_id(i)[-1] != "0" else "1"),
                                               "手机号": f"1390013{i:04d}9"}) for i in range(1, 4)]
        secrets.update(_secrets(bad))
        result = cli("import", str(make_workbook(tmp_path / "bad.xlsx", {"社区工作者": bad})),
                     "--report-dir", str(tmp_path / "reports"))
        assert result.returncode == 1 and "拒绝 1" in result.stdout
        assert cli("import", str(workbook("good.xlsx", 10, 5))).returncode == 0, outputs[-1]
        assert cli("sync", stdin=PASSWORD + "\n").returncode == 0, outputs[-1]
        # The county imports a workbook with errors too.
        result = subprocess.run([*SERVER_CMD, "--db", server.db_url, "import", str(tmp_path / "bad.xlsx")],
                                capture_output=True, text=True, env=server_env(server.home), timeout=180)
        outputs.extend([result.stdout, result.stderr])
        assert result.returncode == 1

        # Failing writes: on the village PC (CLI import) and at the county (sync push).
        _fail_inserts(home / "taizhang.sqlite3", "staff")
        result = cli("import", str(workbook("fails.xlsx", 20, 3)))
        assert result.returncode == 1 and "意外错误（IntegrityError" in result.stdout, result.stdout
        server.stop()
        _fail_inserts(tmp_path / "county.sqlite3", "staff")
        server.start()
        import sqlite3

        conn = sqlite3.connect(home / "taizhang.sqlite3")
        conn.execute("DROP TRIGGER refuse_staff")
        conn.commit()
        conn.close()
        assert cli("import", str(workbook("later.xlsx", 30, 3))).returncode == 0, outputs[-1]
        cli("sync", "--retries", "0", stdin=PASSWORD + "\n")  # the county refuses the batch (or the rows)

        # The desktop: its file log, a write job failing the same way, an uncaught-in-a-job error.
        from desktop.logging_setup import log_file_path, setup_logging, teardown_logging
        from desktop.ui.jobs import runner, write_op

        setup_logging()
        try:
            _fail_inserts(home / "taizhang.sqlite3", "staff")
            values = dict(zip(STAFF_HEADER, staff_row(40)))
            secrets.update({values["公民身份号码*"], values["手机号"]})
            record = {"org_code": VILLAGE, "name": "张三", "gender": "男", "id_number": values["公民身份号码*"],
                      "phone": values["手机号"], "roles": ["网格员"], "status": "在岗"}
            _fail_inserts(home / "taizhang.sqlite3", "draft")
            from storage.drafts import DraftStore

            failures = []
            write_op(lambda job: repo.create("staff", record)).failure(  # the form's save path
                failures.append).run_in_background(None)
            write_op(lambda job: DraftStore(repo.engine).save("staff", record)).failure(  # a draft, via SQLAlchemy
                failures.append).run_in_background(None)
            # a bug whose exception text quotes a value (Python's own messages do): logged with its traceback
            write_op(lambda job: int(record["id_number"] + "号")).failure(failures.append).run_in_background(None)
            runner().wait_idle()
            qapp.processEvents()
            assert len(failures) == 3, "all three jobs should have failed"
            assert any(values["公民身份号码*"] in str(f) for f in failures)  # the value really was in the error
            for h in logging.getLogger().handlers:
                h.flush()
            desktop_log = log_file_path().read_text(encoding="utf-8")
        finally:
            teardown_logging()
        assert "job failed" in desktop_log and "Traceback" in desktop_log and "invalid literal" in desktop_log
    finally:
        server.stop()

    logs = [desktop_log, server.log()] + [p.read_text(errors="replace") for p in (home / "logs").glob("*.log*")]
    everything = "\n".join(outputs + logs)
    assert len(secrets) >= 30
    leaked = sorted(s for s in secrets if s in everything)
    assert not leaked, f"personal information in logs/outputs: {leaked[:5]}"
    assert "SQL parameters hidden" in desktop_log  # the engine hid the failing write's values
