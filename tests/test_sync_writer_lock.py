"""PostgreSQL: a pull never skips a change-log row that a slower server-side writer is still holding.

change_log.seq comes from a sequence: drawn at INSERT, visible at COMMIT.  Writer A draws seq n and
stays open; writer B draws n+1 and commits; a pull in between would see n+1, move its cursor past n,
and never see A's change.  storage.db.install_writer_lock makes every ledger writer (whatever code
path: here the import/load-orgs path ``Repository.bulk_write`` and a caller-owned ``apply_change``)
take one advisory lock before its first write, and the pull takes it before reading.

The same scenario runs twice against a real server process on a real PostgreSQL: first with the
triggers dropped (the skip happens: this is the defect), then with them (nothing is skipped).
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import text

from county_server.auth import login
from storage import db as DB
from storage.repository import Change, Repository, WriteOp, org_unit_id
from sync.protocol import API_PREFIX, request_headers
from tests.serverproc import PASSWORD, TOWNSHIP, ServerProcess, setup_county

pytestmark = pytest.mark.postgres


@pytest.fixture
def county(pg_url, tmp_path):
    server = ServerProcess(pg_url, home=tmp_path / "server")
    server.start()
    try:
        setup_county(server)
        engine = DB.open_server_database(pg_url)
        token = login(engine, "xian", PASSWORD, "test-pc-0001", "县局电脑")[0]
        yield server, engine, token
    finally:
        server.stop()
        if "engine" in locals():
            engine.dispose()


def pull_all(server, token: str, cursor: str | None) -> tuple[str, list[str]]:
    """Every page from ``cursor``; (next cursor, record ids seen)."""
    seen = []
    while True:
        r = requests.get(f"{server.url}{API_PREFIX}/pull", params={"cursor": cursor} if cursor else {},
                         headers=request_headers(token), timeout=60)
        r.raise_for_status()
        body = r.json()
        seen += [c["record_id"] for c in body["changes"]]
        cursor = body["cursor"]
        if not body["more"]:
            return cursor, seen


def village_op(code: str) -> WriteOp:
    return WriteOp("org_unit", "insert", {"org_code": code, "name": f"新村{code[-3:]}", "level": "村/社区",
                                          "parent_code": TOWNSHIP, "urban_rural": "农村社区"})


def hold_bulk_write(repo: Repository, code: str, written: threading.Event, release: threading.Event):
    """The path of ``admin load-orgs`` and the server's Excel import: one bulk_write, held open after its flush."""

    def progress(_n):  # called inside the transaction, after the change-log rows went in
        written.set()
        assert release.wait(60)

    repo.bulk_write([village_op(code)], progress=progress)


def hold_apply_change(repo: Repository, code: str, written: threading.Event, release: threading.Event):
    """A caller-owned transaction through ``apply_change`` (conflict resolution, period actions on the server)."""
    values = village_op(code).values
    from storage.repository import payload_of
    from storage.schema import RECORD_TYPES

    change = Change(change_id=f"00000000-0000-7000-8000-{code}", record_type="org_unit",
                    record_id=org_unit_id(code), org_code=code, op="insert", base_version=0, version=1,
                    payload={**payload_of(RECORD_TYPES["org_unit"], values), "deleted": False},
                    actor="县级管理员", device_id=None, at="2026-11-01T00:00:00+00:00")
    with repo.engine.begin() as conn:
        outcome, message = repo.apply_change(conn, change, sync_state="acked")
        assert outcome == "applied", message
        written.set()
        assert release.wait(60)


def run_race(server, engine, token, hold, slow_code: str, fast_code: str, *, protected: bool) -> set[str]:
    """A holds a lower seq open; B commits a higher one; a pull runs; A commits; the puller pulls again."""
    cursor, _ = pull_all(server, token, None)
    repo = Repository(engine, actor="县级管理员")
    written, release, b_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def guarded(fn, *args):
        def run():
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)
        return threading.Thread(target=run, daemon=True)

    a = guarded(hold, repo, slow_code, written, release)
    a.start()
    assert written.wait(30), errors
    b = guarded(lambda: (repo.bulk_write([village_op(fast_code)]), b_done.set()))
    b.start()
    first: dict = {}
    puller = guarded(lambda: first.update(zip(("cursor", "seen"), pull_all(server, token, cursor))))
    if protected:
        # B cannot even draw its seq while A is open, and the pull waits for A as well
        assert not b_done.wait(1.5), "B committed while A held the writer lock"
        puller.start()
        time.sleep(1.0)
        assert not first, "the pull answered while a writer was still open"
    else:
        assert b_done.wait(30), errors
        puller.start()
        puller.join(60)
        assert org_unit_id(fast_code) in first["seen"]  # the pull saw B (seq n+1) while A (seq n) was open
    release.set()
    for t in (a, b, puller):
        t.join(60)
    assert not errors, errors
    _, later = pull_all(server, token, first["cursor"])
    return set(first["seen"]) | set(later)


@pytest.mark.parametrize("hold", [hold_bulk_write, hold_apply_change], ids=["bulk_write", "apply_change"])
def test_pull_skips_nothing_while_a_server_side_writer_is_open(county, hold):
    server, engine, token = county
    with engine.connect() as conn:  # the server process installed the triggers at start
        triggers = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    assert {"change_log_serialize_writers", "org_unit_serialize_writers", "service_serialize_writers"} <= triggers

    # the defect, reproduced: without the writer lock the puller never sees A's change
    with engine.begin() as conn:
        for name in triggers:
            if name.endswith("_serialize_writers"):
                conn.execute(text(f'DROP TRIGGER "{name}" ON "{name[:-len("_serialize_writers")]}"'))
    seen = run_race(server, engine, token, hold, "220102001901", "220102001902", protected=False)
    assert org_unit_id("220102001902") in seen
    assert org_unit_id("220102001901") not in seen  # skipped for ever: the cursor moved past its seq

    # the fix: the same race with the triggers back (as every server start installs them)
    DB.install_writer_lock(engine)
    seen = run_race(server, engine, token, hold, "220102001903", "220102001904", protected=True)
    assert {org_unit_id("220102001903"), org_unit_id("220102001904")} <= seen
    # and the repository's records agree: every change made is on the server
    repo = Repository(engine)
    assert all(repo.get("org_unit", org_unit_id(c)) for c in ("220102001901", "220102001903", "220102001904"))

