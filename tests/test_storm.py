"""The month-end storm benchmark, 20 villages, on both databases: every sync succeeds through a
proxy that cuts connections, and the server and every PC agree — nothing lost, nothing twice."""

from __future__ import annotations

import pytest

from benchmarks.storm import run


def small_storm(db: str, tmp_path) -> dict:
    result = run(db, villages=20, townships=4, concurrency=6, changes=80, work=tmp_path, log=lambda _m: None)
    assert result["storm.villages"] == 20
    assert result["storm.errors"] == 0, result["storm.error_messages"]
    assert result["storm.lost"] == 0 and result["storm.duplicated"] == 0, result
    assert result["storm.conflicts"] >= 4  # each township corrected records its village then edited
    assert result["storm.changes"] > 19 * 60
    return result


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_storm_on_sqlite(tmp_path):
    small_storm("sqlite", tmp_path)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(1200)
def test_storm_on_postgresql(tmp_path):
    from tests.postgres import _pg_bindir

    if _pg_bindir() is None:
        pytest.skip("PostgreSQL 未安装（./test.sh 会通过 scripts/system-deps.sh 安装 postgresql）")
    small_storm("postgresql", tmp_path)
