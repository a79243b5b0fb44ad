"""storage.drafts: the Qt-free draft store (local UI state, outside the change log)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from storage.drafts import DraftStore
from storage.models import ChangeLog


def test_save_load_list_discard(repo):
    store = DraftStore(repo.engine)
    assert store.list() == []
    first = store.save("facility", {"name": "文化广场", "building_area": "350平方米"},
                       context={"org_code": "220102001001"})
    time.sleep(0.01)
    second = store.save("staff", {"name": "张伟", "roles": ["网格员"], "joined_on": dt.date(2020, 1, 2)},
                        record_id="rec-1", context={"base_version": 3})
    drafts = store.list()
    assert [d.id for d in drafts] == [second, first]  # newest first
    staff = store.load(second)
    assert staff.record_type == "staff" and staff.record_id == "rec-1"
    assert staff.values == {"name": "张伟", "roles": ["网格员"], "joined_on": "2020-01-02"}
    assert staff.context == {"base_version": 3}
    assert staff.saved_at.tzinfo is not None
    assert store.for_record("staff", "rec-1").id == second
    assert [d.id for d in store.list("facility")] == [first]

    # saving again under the same id replaces the draft
    store.save("facility", {"name": "幸福村文化广场"}, draft_id=first, context={"org_code": "220102001001"})
    assert store.load(first).values == {"name": "幸福村文化广场"}
    assert store.count() == 2

    assert store.discard(first) is True
    assert store.discard(first) is False
    assert store.load(first) is None
    assert [d.id for d in store.list()] == [second]


def test_drafts_are_not_records(repo):
    store = DraftStore(repo.engine)
    store.save("service", {"note": "送药上门"})
    with repo.engine.connect() as conn:
        assert conn.execute(select(ChangeLog)).all() == []
    assert repo.unsent_count() == 0
    assert repo.count("service") == 0


def test_summary_names_the_form_without_personal_information(repo):
    store = DraftStore(repo.engine)
    draft_id = store.save("staff", {"name": "李娜", "id_number": "220102198001011234", "phone": "13800138000",
                                    "roles": []})
    summary = store.load(draft_id).summary()
    assert summary.startswith("社区工作者（新建）")
    assert "李娜" in summary and "已填3项" in summary
    assert "220102198001011234" not in summary and "13800138000" not in summary


def test_short_busy_timeout_does_not_wait_for_a_long_writer(repo, taizhang_home):
    """While another connection holds the write lock (an import), the autosave gives up quickly."""
    store = DraftStore(repo.engine)
    blocker = sqlite3.connect(str(taizhang_home / "taizhang.sqlite3"))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError):
            store.save("service", {"note": "x"}, busy_timeout_ms=200)
        assert time.monotonic() - started < 3
    finally:
        blocker.rollback()
        blocker.close()
    # the pooled connection got its normal busy timeout back and works
    draft_id = store.save("service", {"note": "x"}, busy_timeout_ms=200)
    assert store.load(draft_id).values == {"note": "x"}
    with repo.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def test_unreadable_draft_json_is_tolerated(repo):
    from storage.models import Draft, utcnow

    with repo.engine.begin() as conn:
        conn.execute(Draft.__table__.insert().values(id="d1", record_type="service", record_id=None,
                                                     values="{not json", saved_at=utcnow()))
    draft = DraftStore(repo.engine).load("d1")
    assert draft.values == {} and draft.context == {}
