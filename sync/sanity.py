"""The sync's sanity check: compare per-unit counts and checksums with the server, and repair.

After pull and push, each (record type, unit) group's count and checksum of (id, version) are
compared with the server's; a group that differs is repaired record by record: the server's
newer versions are adopted (a local edit kept as a conflict first), local versions the server
lacks are queued to be pushed again.  ``SanityCheck`` is mixed into ``sync.client.SyncClient``,
whose repository, transport, report, writer and conflict keeping it uses.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from functools import partial

from sqlalchemy import select

from storage.models import ChangeLog, new_id, table_for
from storage.repository import Change
from storage.schema import RECORD_TYPES
from sync.protocol import group_checksum, in_prefixes

log = logging.getLogger(__name__)


class SanityCheck:
    """``SyncClient.sanity_check`` and its repair steps."""

    def _local_groups(self, scope: list[str], org_scope: str) -> dict[tuple[str, str], tuple[int, str]]:
        groups = {}
        with self.repo.engine.connect() as conn:
            for name, rt in RECORD_TYPES.items():
                registry = rt.county_maintained  # pulled for the whole county, beyond the account's scope
                t = table_for(name)
                by_org: dict[str, list] = defaultdict(list)
                for org, rid, version in conn.execute(select(t.c.org_code, t.c.id, t.c.version)
                                                      .where(t.c.deleted.is_(False))):
                    if in_prefixes(org or "", scope) or (registry and (org or "").startswith(org_scope)):
                        by_org[org].append((rid, version))
                for org, pairs in by_org.items():
                    groups[(name, org)] = (len(pairs), group_checksum(pairs))
        return groups

    def _compare(self) -> list[tuple[str, str]]:
        answer = self.transport.request("GET", "/summary")
        server = {(g["record_type"], g["org_code"]): (g["count"], g["checksum"]) for g in answer["groups"]}
        local_groups = self._local_groups(answer["scope"], answer.get("org_unit_scope", ""))
        return sorted(k for k in set(server) | set(local_groups) if server.get(k) != local_groups.get(k))

    def sanity_check(self, *, repair: bool = True) -> list[str]:
        self.progress("核对", 0, 1)
        bad = self._compare()
        if bad and repair:
            self.report.mismatches = [self._describe(k) for k in bad]
            log.warning("sanity check: %d groups differ, repairing", len(bad))
            for key in bad:
                self._check_cancel()
                self.report.repaired += self._repair(*key)
            self.push()  # local changes the server lacked, queued again by _repair
            bad = self._compare()
            if bad:
                self.report.messages.append("核对后仍有不一致：" + "；".join(self._describe(k) for k in bad) +
                                            "。请再同步一次，仍不一致时请联系县民政局信息管理员")
        self.progress("核对", 1, 1)
        return [self._describe(k) for k in bad]

    @staticmethod
    def _describe(key: tuple[str, str]) -> str:
        rt = RECORD_TYPES.get(key[0])
        return f"{rt.label if rt else key[0]}（{key[1]}）"

    def _repair(self, record_type: str, org_code: str) -> int:
        repo = self.repo
        server = {rid: (version, deleted) for rid, version, deleted in self.transport.request(
            "POST", "/records", json_body={"record_type": record_type, "org_code": org_code})["records"]}
        t = table_for(record_type)
        with repo.engine.connect() as conn:
            local_rows = {r.id: (r.version, bool(r.deleted)) for r in conn.execute(
                select(t.c.id, t.c.version, t.c.deleted).where(t.c.org_code == org_code))}
        fetch, requeue = [], []
        for rid, (sv, sdel) in server.items():
            lv = local_rows.get(rid)
            if lv is None:
                if not sdel:
                    fetch.append(rid)
            elif sv > lv[0] or (sv == lv[0] and sdel != lv[1]):
                fetch.append(rid)
        for rid, (lv, ldel) in local_rows.items():
            sv = server.get(rid)
            if (sv is None and not ldel) or (sv is not None and lv > sv[0]):
                requeue.append((rid, sv[0] if sv else 0))
        repaired = 0
        if fetch:
            for i in range(0, len(fetch), 1000):
                latest = self.transport.request("POST", "/latest", json_body={"record_ids": fetch[i:i + 1000]})
                repaired += self._write(partial(self._adopt_latest, latest["changes"]))
        if requeue:
            repaired += self._write(partial(self._requeue, requeue))
        return repaired

    def _adopt_latest(self, latest: list[dict]) -> int:
        repo, repaired = self.repo, 0
        with repo.engine.begin() as conn:
            for d in latest:
                change = Change.from_dict(d)
                if self._pending_for_record(conn, change.record_id):
                    self._keep_local_as_conflict(conn, change.record_type, change.record_id,
                                                 change.change_id, d)
                if conn.execute(select(ChangeLog.seq).where(ChangeLog.change_id == change.change_id)).first():
                    change = Change(**{**d, "change_id": new_id()})
                repo.apply_change(conn, change, sync_state="remote", force=True)
                repaired += 1
        return repaired

    def _requeue(self, requeue: list[tuple[str, int]]) -> int:
        repo = self.repo
        with repo.engine.begin() as conn:
            for rid, server_version in requeue:
                ids = list(conn.execute(select(ChangeLog.change_id).where(
                    ChangeLog.record_id == rid, ChangeLog.version > server_version,
                    ChangeLog.sync_state.in_(("acked", "remote"))).order_by(ChangeLog.seq)).scalars())
                repo.mark_acked(ids, state="pending", conn=conn)
        return len(requeue)


