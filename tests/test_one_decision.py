"""One decision, whichever way a change arrives.

The same cases (apply, duplicate, same change id with other content, stale base version,
invalid value, out of scope, locked month, delete, restore) go through every route a change
takes: a form save through the repository, a push applied by the county server, a pulled page
applied by a PC, an offline package applied on a township PC, and the pure ``decide`` itself.
Each route starts from the same stored history and must give the same outcome per case.
A case a route cannot meet is left out of that route's column (None), with the reason: a form
makes its own change ids (no duplicate or reused id) and writes only its own unit (no scope);
a pull has no sender scope (the server only sends what the PC may hold).  The Excel routes
(``taizhang import``, ``taizhang-server import``) are in tests/test_stale_import.py.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from storage.decision import Context, Proposal, decide
from storage.periods import ACCEPTED
from storage.repository import Change, WriteRefused
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

# case -> (change, the outcome every route gives)
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


def _pc(tmp_path, monkeypatch, name):
    repo = _fresh_repo(tmp_path, monkeypatch, name)
    with repo.engine.begin() as conn:
        assert {o for o, _m in repo.apply_changes(conn, HISTORY, adopt=True)} == {"applied"}
    return repo


def _route_decide(tmp_path, monkeypatch):
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


def _route_push(tmp_path, monkeypatch):
    """The county server applying a village's pushed batch (its scope policy included)."""
    from county_server import api_sync
    from county_server.auth import Principal
    from county_server.cmd_packages import server_state
    from storage.db import make_engine
    from sync.protocol import batch_digest
    from tests.serverproc import setup_county

    url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    setup_county(SimpleNamespace(home=tmp_path, db_url=url))
    state = server_state(make_engine(url), str(tmp_path / "receipt.key"))
    with state.engine.begin() as conn:
        state.repo.apply_changes(conn, HISTORY, sync_state="acked", adopt=True)
    cun = Principal(1, "cun", "village", VILLAGE, "device-1")

    def run(change):
        batch = str(uuid.uuid4())
        [result], _ = api_sync._apply_batch(state, cun, batch, batch_digest([change.change_id]), [change], [])
        return result["outcome"], result.get("message")
    return run


def _route_pull(tmp_path, monkeypatch):
    """A PC applying a pulled page: the decision before the pull settles a conflict or refusal."""
    from sync.client import SyncClient

    repo = _pc(tmp_path, monkeypatch, "pull")
    client = SyncClient(repo, "http://127.0.0.1:9")  # no request is made
    settled = []
    keep = client._settle_pulled
    client._settle_pulled = lambda conn, change, decision, stored: (
        settled.append((decision.outcome, decision.message)), keep(conn, change, decision, stored))[1]

    def run(change):
        if change.org_code != VILLAGE:
            return None  # the server never sends a PC what it may not hold
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


def _route_package(tmp_path, monkeypatch):
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


def _route_form(tmp_path, monkeypatch):
    """The desktop form's save: ``Repository.update``/``create``/``delete``/``restore``."""
    repo = _pc(tmp_path, monkeypatch, "form")

    def run(change):
        case = next(name for name, (c, _o) in CASES.items() if c is change)
        if case in ("duplicate", "same id, other content", "out of scope"):
            return None  # a form makes its own change ids and writes only its own unit
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


ROUTES = {"decide": _route_decide, "push": _route_push, "pull": _route_pull, "package": _route_package,
          "form": _route_form}


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_route_gives_every_case_the_same_outcome(tmp_path, monkeypatch, route):
    run = ROUTES[route](tmp_path, monkeypatch)
    seen = {}
    for case, (change, expected) in CASES.items():
        got = run(change)
        if got is None:
            continue
        seen[case] = got[0]
        assert got[0] == expected, (route, case, got)
        if case in SAYS:
            assert SAYS[case] in (got[1] or ""), (route, case, got)
    assert {"stale base version", "invalid value", "locked month", "apply", "delete", "restore"} <= set(seen)
