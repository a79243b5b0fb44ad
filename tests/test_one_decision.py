"""One decision, whichever way a change arrives.

The same cases (apply, duplicate, same change id with other content, stale base version,
invalid value, out of scope, locked month, delete, restore) go through every route a change
takes: the pure ``decide`` itself, a form save through the repository, a push to a real
``taizhang-server serve`` on 127.0.0.1, a pulled page applied by a PC, an offline package
applied on a township PC, and an Excel workbook imported with ``taizhang import`` at the
village and ``taizhang-server import`` at the county.  Each route starts from the same stored
history and must give the same outcome per case.  A case a route cannot express is named in
``CANNOT`` with the reason.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from storage.decision import decide
from storage.periods import ACCEPTED
from storage.repository import Change, Repository, WriteRefused
from storage.schema import RECORD_TYPES
from storage.validation import ValidationError
from tests.test_sync_pipeline import _fresh_repo

VILLAGE, OTHER_TOWNSHIP_VILLAGE = "220102001001", "220102002001"
DEVICE, AT = "00000000-0000-4000-8000-00000000beef", "2024-05-06T08:30:00+00:00"
RECORD = "5b0c5a3e-0000-4000-8000-000000000001"

pytestmark = pytest.mark.usefixtures("insecure_keyring")  # see tests/conftest.py


def _service(rid, op, base, version, cid=None, org=VILLAGE, **values) -> Change:
    payload = {f.name: None for f in RECORD_TYPES["service"].fields}
    payload.update(org_code=org, date="2024-05-06", category="养老", mode="上门", target="老年人", persons=3,
                   deleted=False)
    payload.update(values)
    return Change(cid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rid}-{version}-{op}")), "service", rid, org, op,
                  base, version, payload, "李站长", DEVICE, AT)


# The stored history every route starts from: the record at version 2, and March 2024 accepted (locked).
HISTORY = [
    _service(RECORD, "insert", 0, 1),
    _service(RECORD, "update", 1, 2, persons=4),
    Change("5b0c5a3e-0000-4000-8000-0000000000a1", "period", "5b0c5a3e-0000-4000-8000-0000000000a0", VILLAGE,
           "insert", 0, 1, {f.name: None for f in RECORD_TYPES["period"].fields} | {
               "org_code": VILLAGE, "period": "2024-03", "status": ACCEPTED, "deleted": False},
           "县民政局", DEVICE, AT),
]

# case -> (change, the outcome every route gives).  In a workbook, which has no change ids, the
# duplicate is the same content again: the row as the record stands, success, nothing written.
CASES = {
    "duplicate": (HISTORY[1], "duplicate"),
    "same id, other content": (_service(RECORD, "update", 1, 2, cid=HISTORY[1].change_id, persons=9), "rejected"),
    "stale base version": (_service(RECORD, "update", 1, 2, cid=str(uuid.uuid4()), persons=6), "conflict"),
    "invalid value": (_service(str(uuid.uuid4()), "insert", 0, 1, persons=-1), "rejected"),
    "out of scope": (_service(str(uuid.uuid4()), "insert", 0, 1, org=OTHER_TOWNSHIP_VILLAGE), "rejected"),
    "locked month": (_service(str(uuid.uuid4()), "insert", 0, 1, date="2024-03-10"), "rejected"),
    "apply": (_service(RECORD, "update", 2, 3, persons=5), "applied"),
    "delete": (_service(RECORD, "delete", 3, 4, persons=5, deleted=True), "applied"),
    "restore": (_service(RECORD, "restore", 4, 5, persons=5), "applied"),
}
# what each case must say, when it says something
SAYS = {"same id, other content": "同一变更编号已用于不同的内容", "stale base version": "已被",
        "invalid value": "人次", "out of scope": "范围", "locked month": "锁定"}

# (route, case) -> why that route cannot carry that case
_FORM_IDS = "a form makes its own change ids"
_EXCEL_IDS = "a workbook carries no change ids"
_EXCEL_NO_DELETE = "a workbook row cannot delete or restore a record"
CANNOT = {
    ("form", "duplicate"): _FORM_IDS,
    ("form", "same id, other content"): _FORM_IDS,
    ("form", "out of scope"): "a form writes only its own unit",
    ("pull", "out of scope"): "the server never sends a PC what it may not hold",
    ("village import", "same id, other content"): _EXCEL_IDS,
    ("village import", "delete"): _EXCEL_NO_DELETE,
    ("village import", "restore"): _EXCEL_NO_DELETE,
    ("county import", "same id, other content"): _EXCEL_IDS,
    ("county import", "out of scope"): "the county's scope is the whole county, the other township included",
    ("county import", "delete"): _EXCEL_NO_DELETE,
    ("county import", "restore"): _EXCEL_NO_DELETE,
}


def _pc(tmp_path, monkeypatch, name):
    repo = _fresh_repo(tmp_path, monkeypatch, name)
    with repo.engine.begin() as conn:
        assert {o for o, _m in repo.apply_changes(conn, HISTORY, adopt=True)} == {"applied"}
    return repo


def _route_decide(tmp_path, monkeypatch, finalizer):
    """The pure function, fed the stored row and known change as the executor fetches them."""
    from storage.executor import _known_changes, _stored_rows
    from storage.repository import _proposal_of_change

    repo = _pc(tmp_path, monkeypatch, "decide")

    def run(change):
        p = _proposal_of_change(change)
        with repo.engine.begin() as conn:
            stored = _stored_rows(conn, [p]).get((p.record_type, p.record_id))
            known = _known_changes(conn, [p.change_id]).get(p.change_id)
            ctx = repo._context(conn, scope=lambda p, s: "不在本村的管辖范围内" if p.org_code != VILLAGE else None)
            decision = decide(p, stored, known, ctx)
            if decision.kind == "applied":  # the next cases build on it, as on the other routes
                repo.apply_changes(conn, [change])
        return decision.outcome, decision.message
    return run


def _route_push(tmp_path, monkeypatch, finalizer):
    """A village PC pushing the change to a real ``taizhang-server serve`` (its scope policy included)."""
    from storage.db import open_server_database
    from sync.protocol import encode_push
    from tests.serverproc import PASSWORD, ServerProcess, SyncTestClient, setup_county

    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    setup_county(server)
    engine = open_server_database(server.db_url)
    with engine.begin() as conn:
        Repository(engine).apply_changes(conn, HISTORY, sync_state="acked", adopt=True)
    engine.dispose()
    server.start()
    finalizer(server.stop)
    pc = SyncTestClient(tmp_path / "clients", "pc", server.url, "cun")
    finalizer(pc.close)
    client = pc.client()
    finalizer(client.transport.close)
    client.login(PASSWORD)

    def run(change):
        answer = client.transport.request("POST", "/push", data=encode_push(str(uuid.uuid4()), [change]),
                                          gzip_body=True)
        [result] = answer["results"]
        return result["outcome"], result.get("message")
    return run


def _route_pull(tmp_path, monkeypatch, finalizer):
    """A PC applying a pulled page: the decision before the pull settles a conflict or refusal."""
    from sync.client import SyncClient

    repo = _pc(tmp_path, monkeypatch, "pull")
    client = SyncClient(repo, "http://127.0.0.1:9")  # no request is made
    settled = []
    keep = client._settle_pulled
    client._settle_pulled = lambda conn, change, decision, stored: (
        settled.append((decision.outcome, decision.message)), keep(conn, change, decision, stored))[1]

    def run(change):
        settled.clear()
        outcomes = []
        real = repo.apply_changes
        repo.apply_changes = lambda *a, **k: outcomes.extend(real(*a, **k)) or outcomes
        try:
            with repo.engine.begin() as conn:
                client._apply_pulled(conn, [change])
        finally:
            del repo.apply_changes
        return settled[0] if settled else outcomes[0]
    return run


def _route_package(tmp_path, monkeypatch, finalizer):
    """A township PC applying a village's offline package for review."""
    from sync.package import import_locally

    repo = _pc(tmp_path, monkeypatch, "package")

    def run(change):
        done = import_locally(repo, SimpleNamespace(org_code=VILLAGE, changes=[change], manifest={}),
                              role="township", actor_org="220102001000")
        if done.applied:
            return "applied", None
        if done.duplicate:
            return "duplicate", None
        if done.conflict:
            return "conflict", "已被修改"  # the package summary counts conflicts without their text
        return "rejected", done.rejected[0]
    return run


def _route_form(tmp_path, monkeypatch, finalizer):
    """The desktop form's save: ``Repository.update``/``create``/``delete``/``restore``."""
    repo = _pc(tmp_path, monkeypatch, "form")

    def run(change):
        values = {k: v for k, v in change.payload.items() if k != "deleted"}
        try:
            if change.op == "insert":
                repo.create("service", values)
            elif change.op == "update":
                repo.update("service", change.record_id, {"persons": values["persons"]},
                            expected_version=change.base_version)
            elif change.op == "delete":
                repo.delete("service", change.record_id)
            else:
                repo.restore("service", change.record_id)
        except ValidationError as exc:
            return "rejected", str(exc)
        except WriteRefused as exc:
            return ("conflict" if "已被他人修改" in str(exc) else "rejected"), str(exc)
        return "applied", None
    return run


def _workbook(path, change):
    """The change as one row of a service sheet: an update names its record and the version it
    was made on (记录编号, 记录版本, as an export writes them); an insert is a new row."""
    from exchange.layout import columns_for
    from tests.test_exchange_util import make_workbook

    rt = RECORD_TYPES["service"]
    cols = [c for c in columns_for(rt) if c.kind in ("field", "record_id", "record_version")]
    hidden = {"#": change.record_id, "#version": change.base_version} if change.op != "insert" else {}
    row = [hidden.get(c.key) if c.kind != "field" else change.payload.get(c.key) for c in cols]
    return make_workbook(path, {rt.label: [[c.header for c in cols], row]},
                         unit_line=f"填报单位：测试  区划代码：{change.org_code}")


def _import_outcome(code: int, out: str) -> tuple[str, str]:
    """The outcome an import's summary and exit status report for a one-row workbook."""
    if "[已拒绝]" in out:
        outcome = "rejected"
    elif "冲突 1" in out:
        outcome = "conflict"
    elif "新建 1" in out or "更新 1" in out:
        outcome = "applied"
    else:
        assert "未变 1" in out, out
        outcome = "duplicate"  # the same content again: success, nothing written
    assert code == (1 if outcome in ("rejected", "conflict") else 0), (code, out)
    return outcome, out


def _route_village_import(tmp_path, monkeypatch, finalizer):
    """``taizhang import`` on the village's PC."""
    from storage.local import set_identity
    from tests.test_stale_import import _taizhang

    repo = _pc(tmp_path, monkeypatch, "village")
    set_identity(repo, VILLAGE, "测试村")

    def run(change):
        path = _workbook(tmp_path / f"{uuid.uuid4()}.xlsx", change)
        return _import_outcome(*_taizhang("import", path))
    return run


def _route_county_import(tmp_path, monkeypatch, finalizer):
    """``taizhang-server import --county`` on the county's server database."""
    from storage.db import open_server_database
    from tests.test_stale_import import _server_import

    db = tmp_path / "county.sqlite3"
    engine = open_server_database(f"sqlite:///{db}")
    with engine.begin() as conn:
        Repository(engine).apply_changes(conn, HISTORY, sync_state="acked", adopt=True)
    engine.dispose()

    def run(change):
        done = _server_import(db, _workbook(tmp_path / f"{uuid.uuid4()}.xlsx", change))
        return _import_outcome(done.returncode, done.stdout + done.stderr)
    return run


ROUTES = {"decide": _route_decide, "form": _route_form, "push": _route_push, "pull": _route_pull,
          "package": _route_package, "village import": _route_village_import,
          "county import": _route_county_import}


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_route_gives_every_case_the_same_outcome(tmp_path, monkeypatch, request, route):
    assert {r for r, _c in CANNOT} <= set(ROUTES) and {c for _r, c in CANNOT} <= set(CASES)  # no typo hides a case
    run = ROUTES[route](tmp_path, monkeypatch, request.addfinalizer)
    for case, (change, expected) in CASES.items():
        if (route, case) in CANNOT:
            continue
        got = run(change)
        assert got[0] == expected, (route, case, got)
        if case in SAYS:
            assert SAYS[case] in (got[1] or ""), (route, case, got)
