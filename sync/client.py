"""The sync client: push the outbox, pull the server's changes, check both sides agree.

Used by ``taizhang sync`` (headless) and by the desktop's 同步 button through
``SyncClient(repo, progress=cb, cancel=flag).sync()``.

Nothing is lost at any step:
- A batch is remembered (``sync.inflight`` setting: batch id and change ids)
  before it is sent.  After a crash or a lost response the same batch is sent
  again with the same id; the server answers from its stored results.
- The answers are applied in ONE local transaction (states, conflicts,
  rejections, clearing ``sync.inflight``): the unsent count drops only for
  changes the server confirmed (applied or duplicate).
- Pulled changes are applied page by page, each page with its cursor in one
  local transaction, as ``remote`` changes that are never pushed back.
- A conflict keeps both versions (``conflict`` table) and adopts the
  server's version until the user chooses; a rejected change is kept with
  its reason and content (``sync_rejection`` table) and the server's version is adopted.
- The sanity check compares counts and checksums per record type and org
  unit; a mismatch is repaired (missing server versions fetched, local
  changes the server lacks queued again) and reported (``sync.sanity``).

The HTTP session and the errors a sync raises are in ``sync.transport`` (imported here too).
"""

from __future__ import annotations

import json
import logging
import platform
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from sqlalchemy import String, select, type_coerce

from reports.fill.library import save_pulled
from storage import local
from storage import conflicts as storage_conflicts
from storage.models import ChangeLog, Conflict, Setting, SyncRejection, new_id, utcnow
from storage.repository import Change, Repository, payload_of
from storage.schema import RECORD_TYPES
from storage.validation import display_text
from sync import credentials
from sync.protocol import (APPLIED, CONFIRMED, CONFLICT, MAX_BATCH, MIN_BATCH, PULL_PAGE, REJECTED, START_BATCH,
                           TARGET_SECONDS, ChangeResult, OutgoingChange, cursor_incarnation, encode_push_rows)
from sync.sanity import SanityCheck
from sync.transport import (LoginRequired, PasswordChangeRequired, ServerUnreachable, SyncCancelled, SyncError,
                            Transport, BatchMismatch)

log = logging.getLogger(__name__)

S_INFLIGHT = "sync.inflight"
S_CURSOR = "sync.cursor"
S_RESOLUTIONS = "sync.resolutions"
S_BATCH_SIZE = "sync.batch_size"
S_CA_FILE = "sync.ca_file"
S_LAST_SYNC = "sync.last_success_at"  # read by desktop.ui.context


@dataclass
class SyncReport:
    pushed: int = 0
    applied: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    full_repull: bool = False
    mismatches: list[str] = field(default_factory=list)
    repaired: int = 0
    unsent: int = 0
    batch_size: int = 0
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"上传 {self.pushed} 条（新写入 {self.applied}，服务器已有 {self.duplicates}）",
                 f"下载 {self.pulled} 条"]
        if self.conflicts:
            parts.append(f"冲突 {self.conflicts} 条（两个版本都已保留，请在“同步冲突”中选择）")
        if self.rejected:
            parts.append(f"被服务器拒绝 {self.rejected} 条（原因见“被拒绝的修改”）")
        if self.full_repull:
            parts.append("服务器数据已更换，已重新完整下载（本机未上传的修改都已保留）")
        if self.mismatches:
            parts.append(f"核对发现 {len(self.mismatches)} 处不一致，已修复 {self.repaired} 条记录")
        else:
            parts.append("核对一致")
        parts.append(f"未上传 {self.unsent} 条")
        return "；".join(parts)


Progress = Callable[[str, int, int], None]  # (stage label, done, total)


# --------------------------------------------------------------------------- client


class SyncClient(SanityCheck):
    """Sync one local repository with the county server."""

    def __init__(self, repo: Repository, server_url: str | None = None, user: str | None = None, *,
                 ca_file: str | None = None, timeout: float = 60.0, retries: int = 5, backoff: float = 1.0,
                 progress: Progress | None = None, cancel: "threading.Event | Callable[[], bool] | None" = None,
                 writer: "Callable[[Callable[[], Any]], Any] | None" = None):
        self.repo = repo
        # Every local write of a sync goes through ``writer`` (default: run it here).  The desktop
        # passes one that runs it on its single database writer thread, so that the sync itself
        # (its waits on the network) never holds that thread.
        self._write = writer or (lambda fn: fn())
        self.server_url = (server_url or repo.get_setting("server_url") or "").rstrip("/")
        self.user = user or repo.get_setting("user") or ""
        self.ca_file = ca_file or repo.get_setting(S_CA_FILE) or None
        self.progress = progress or (lambda stage, done, total: None)
        if isinstance(cancel, threading.Event):
            self._cancelled = cancel.is_set
        elif callable(cancel):
            self._cancelled = cancel
        else:
            self._cancelled = lambda: False
        if not self.server_url:
            raise SyncError("还没有设置县级服务器地址，请先登录：taizhang login --server 地址 --user 用户名")
        self.transport = Transport(self.server_url, ca_file=self.ca_file, timeout=timeout, retries=retries,
                                   backoff=backoff, cancelled=self._cancelled)
        self.report = SyncReport()
        self.package_key = None  # this sign-in's package signing key (Ed25519), when login() ran

    # ------------------------------------------------------------------ sign-in

    def _refuse_demo(self) -> None:
        if local.is_demo(self.repo):
            raise SyncError("这是演示数据（幸福村），演示数据永远不会同步到县级服务器。"
                            "请在正式的数据目录中录入本村数据后再同步")

    def login(self, password: str, *, device_name: str | None = None, new_password: str | None = None) -> dict:
        """Sign in; the token goes to the OS keyring (or stays in memory if the keyring is insecure).

        Every sign-in also makes a new Ed25519 key pair for offline packages: the public key goes
        to the server (kept with this device), the private key only to the OS keyring next to the
        token (in memory only, ``self.package_key``, if the keyring is insecure).  The server's
        answer carries its receipt public key, kept in the settings (it is not a secret).
        """
        from sync import package as PK

        self._refuse_demo()
        if not self.user:
            raise SyncError("请填写用户名")
        signing_key = PK.new_signing_key()
        body = {"user": self.user, "password": password, "device_id": local.device_id(self.repo),
                "device_name": device_name or platform.node() or "台账电脑",
                "package_public_key": PK.public_key_text(signing_key)}
        if new_password is not None:
            body["new_password"] = new_password
        info = self.transport.request("POST", "/login", json_body=body, retry=True)
        self._write(partial(self._remember_sign_in, info))
        self.transport.token = info["token"]
        self.package_key = signing_key
        info = dict(info)
        # the key first: a stored token without its key would look like an old-style sign-in
        key_stored = credentials.store_package_key(self.server_url, self.user, PK.private_key_text(signing_key))
        info["stored"] = credentials.store_token(self.server_url, self.user, info["token"])
        if info["stored"] and not key_stored:
            log.warning("package signing key not stored; packages need a new sign-in")
        return info

    def _remember_sign_in(self, info: dict) -> None:
        from sync import package as PK

        ident = local.identity(self.repo)
        if ident is None:
            local.set_identity(self.repo, info["org_code"], info["org_name"] or info["org_code"])
        elif info["role"] == "village" and ident.org_code != info["org_code"]:
            raise SyncError(f"账号“{self.user}”属于{info['org_name']}（{info['org_code']}），"
                            f"而本电脑的台账是{ident.org_name}（{ident.org_code}）的，不能用这个账号同步。"
                            "请使用本村(社区)的账号登录")
        self.repo.set_setting("server_url", self.server_url)
        self.repo.set_setting("user", self.user)
        from storage import disclosure

        disclosure.remember_sign_in(self.repo, info["role"], info.get("full_export_roles"))
        if self.ca_file:
            self.repo.set_setting(S_CA_FILE, self.ca_file)
        receipt_key = info.get("receipt_public_key")
        if receipt_key:
            self.repo.set_setting(PK.S_RECEIPT_KEY, receipt_key)
        if info.get("package_encryption_key"):  # offline packages are encrypted to it
            self.repo.set_setting(PK.S_COUNTY_KEY, info["package_encryption_key"])

    def _ensure_token(self, password: str | None) -> None:
        if self.transport.token:
            return
        token = credentials.load_token(self.server_url, self.user)
        if token:
            self.transport.token = token
            if not credentials.load_package_key(self.server_url, self.user):
                # signed in by a release before package format 2: sync works, packages need a new sign-in
                self.report.messages.append(
                    "本机是用旧版本台账程序登录的，还没有数据包签名密钥。如需导出离线数据包，请重新登录一次"
                    f"（taizhang login --server {self.server_url} --user {self.user}）")
            return
        if password is not None:
            self.login(password)
            return
        if credentials.keyring_is_secure():
            raise LoginRequired("本机尚未登录县级服务器，请先登录")
        raise LoginRequired(credentials.INSECURE_NOTICE + "请输入密码")

    # ------------------------------------------------------------------ the whole sync

    def sync(self, password: str | None = None) -> SyncReport:
        self._refuse_demo()
        self._ensure_token(password)
        try:
            self.push()
            self.pull()
            self.sanity_check()
        except LoginRequired:
            credentials.delete_token(self.server_url, self.user)
            credentials.delete_package_key(self.server_url, self.user)
            self.transport.token = None
            raise
        finally:
            self.report.unsent = self.repo.unsent_count()
        self._write(lambda: self.repo.set_setting(S_LAST_SYNC, utcnow().isoformat()))
        return self.report

    def _check_cancel(self) -> None:
        if self._cancelled():
            raise SyncCancelled("同步已取消，本机数据完好，未上传的修改下次同步时继续上传")

    # ------------------------------------------------------------------ push

    def push(self) -> None:
        """Send the outbox in batches, one request at a time, each answered before the next is sent.

        Pipelined: while the server applies a batch, a helper thread already reads and
        encodes the next one (the rows after it in ``change_log.seq`` order).  That
        prepared batch is used only when the batch in flight came back fully confirmed
        (applied/duplicate), no conflict choices wait to be sent and the batch size did
        not change; otherwise it is dropped and the next batch is read afresh after
        settling, exactly as before.

        When the prepared batch is used, the answered batch is settled (its changes marked
        acked) by the helper thread while the next one is on its way: the next batch is
        recorded as in flight first, so a crash in between leaves the answered changes
        pending and they go up again as duplicates, which the server confirms without
        writing anything twice.  Anything read afresh waits for that settling first.
        """
        repo = self.repo
        size = int(repo.get_setting(S_BATCH_SIZE) or START_BATCH)
        total = repo.unsent_count()
        done = 0
        last_first = None
        ahead = None  # Future -> (size, changes, last_seq, batch_id, body): the batch after the one in flight
        ready_next = None  # (changes, last_seq, batch_id, body): prepared, already recorded as in flight
        settling = None  # Future of the answered batch's settle, running while the next one is sent
        self.progress("上传", 0, total)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taizhang-push") as pool:
            try:
                while True:
                    self._check_cancel()
                    body = None
                    last_seq = None
                    if ready_next is not None:
                        changes, last_seq, batch_id, body = ready_next
                        ready_next = None
                        resolutions = []
                    else:
                        if settling is not None:
                            settling.result()  # a fresh read must not see the answered batch as pending
                            settling = None
                        inflight = json.loads(repo.get_setting(S_INFLIGHT) or "null")
                        if inflight:
                            ahead = None
                            batch_id = inflight["batch_id"]
                            changes, _ = self._outgoing_rows(ids=inflight["change_ids"])  # a resend: nothing read ahead
                            resolutions = inflight.get("resolutions", [])
                            if len(changes) != len(inflight["change_ids"]):
                                # some of the batch were settled meanwhile (e.g. conflict chosen): send the rest anew
                                inflight = None
                        if not inflight:
                            resolutions = json.loads(repo.get_setting(S_RESOLUTIONS) or "[]")
                            ready = ahead.result() if ahead is not None else None
                            ahead = None
                            # an empty read-ahead is read again: something may have been saved meanwhile
                            if ready is not None and not resolutions and ready[0] == size and ready[1]:
                                _, changes, last_seq, batch_id, body = ready
                            else:
                                changes, last_seq = self._outgoing_rows(limit=size)
                                batch_id = str(uuid.uuid4())
                            if not changes and not resolutions:
                                break
                            self._record_inflight(batch_id, changes, resolutions)
                    if body is None:
                        body = encode_push_rows(batch_id, changes, resolutions)
                    if changes and not resolutions and last_seq is not None:
                        ahead = pool.submit(self._prepare_batch, size, last_seq)
                    started = time.monotonic()
                    try:
                        answer = self.transport.request("POST", "/push", data=body, gzip_body=True)
                    except BatchMismatch:
                        self._write(lambda: repo.set_setting(S_INFLIGHT, "null"))
                        ahead = None
                        continue
                    except BaseException:
                        ahead = None
                        raise
                    elapsed = time.monotonic() - started
                    answers = answer["results"]
                    if [r["change_id"] for r in answers] != [c.change_id for c in changes]:
                        raise SyncError("服务器的答复与上传的批次不符，已停止同步；本机数据都已保留，请联系县民政局信息管理员")
                    all_confirmed = all(r.get("outcome") in CONFIRMED for r in answers)
                    if not all_confirmed:
                        ahead = None  # conflicts/rejections change what is pending: read the next batch afresh
                    # adaptive batch size: aim at about TARGET_SECONDS per request
                    if changes:
                        if elapsed < TARGET_SECONDS / 2 and len(changes) >= size:
                            size = min(MAX_BATCH, size * 2)
                        elif elapsed > TARGET_SECONDS * 2:
                            size = max(MIN_BATCH, size // 2)
                        self.report.batch_size = max(self.report.batch_size, len(changes))
                    ready = None
                    if all_confirmed and not resolutions and ahead is not None and \
                            not json.loads(repo.get_setting(S_RESOLUTIONS) or "[]"):
                        ready = ahead.result()
                        ahead = None
                        if not (ready[0] == size and ready[1]):
                            ready = None  # the size changed or nothing more was pending: read afresh
                    if ready is not None:
                        # the next batch replaces this one as in flight (this one's answers are in hand),
                        # and this one is settled while the next is on its way
                        _, next_changes, next_last_seq, next_id, next_body = ready
                        if settling is not None:
                            settling.result()
                        self._record_inflight(next_id, next_changes, [])
                        settling = pool.submit(self._write, partial(self._settle_answers, changes, answers, resolutions))
                        ready_next = (next_changes, next_last_seq, next_id, next_body)
                    else:
                        results = [ChangeResult.from_dict(r) for r in answers]
                        if settling is not None:
                            settling.result()
                            settling = None
                        self._write(partial(self._settle, changes, results, resolutions))
                    if changes and changes[0].change_id == last_first:
                        # every answer settles its change; the same batch again would be sent forever
                        raise SyncError("同步出现内部错误：服务器的答复未能在本机记下，已停止同步以免反复上传。"
                                        "本机数据都已保留，请联系县民政局信息管理员")
                    last_first = changes[0].change_id if changes else None
                    done += len(changes)
                    self.report.pushed += len(changes)
                    self.progress("上传", done, max(total, done))
                if settling is not None:
                    settling.result()
                    settling = None
            finally:
                if settling is not None:  # leaving on an error: the answered batch is still settled
                    try:
                        settling.result()
                    except Exception:  # noqa: BLE001 - its changes stay pending and go up again as duplicates
                        log.exception("已上传的一批变更没能在本机记为已上传：它们留在待上传中，下次同步时再上传（服务器按重复处理）")
        self._write(lambda: repo.set_setting(S_BATCH_SIZE, str(size)))

    def _settle_answers(self, changes: list[OutgoingChange], answers: list[dict], resolutions: list[dict]) -> None:
        """(helper thread) Settle a fully confirmed batch while the next one is sent (see ``push``)."""
        self._settle(changes, [ChangeResult.from_dict(r) for r in answers], resolutions, keep_inflight=True)

    def _record_inflight(self, batch_id: str, changes: list[OutgoingChange], resolutions: list[dict]) -> None:
        """Remember the batch before it is sent: after a crash or a lost answer it goes again with the same id."""
        value = json.dumps({"batch_id": batch_id, "change_ids": [c.change_id for c in changes],
                            "resolutions": resolutions})
        self._write(lambda: self.repo.set_setting(S_INFLIGHT, value))

    def _prepare_batch(self, size: int, after_seq: int) -> tuple[int, list[OutgoingChange], int | None, str, bytes]:
        """(helper thread) The next batch after ``after_seq``, read and encoded while the server works."""
        changes, last_seq = self._outgoing_rows(limit=size, after_seq=after_seq)
        batch_id = str(uuid.uuid4())
        return size, changes, last_seq, batch_id, encode_push_rows(batch_id, changes, [])

    def _outgoing(self, *, limit: int | None = None, ids: list[str] | None = None) -> list[OutgoingChange]:
        """Pending change-log rows in order: the first ``limit``, or those of ``ids`` still pending."""
        return self._outgoing_rows(limit=limit, ids=ids)[0]

    def _outgoing_rows(self, *, limit: int | None = None, ids: list[str] | None = None,
                       after_seq: int = 0) -> tuple[list[OutgoingChange], int | None]:
        """``_outgoing`` and the last row's ``seq`` (None when there is none)."""
        t = ChangeLog.__table__
        # ``at`` as stored: a PC's bulk edits share one time, so each distinct value is converted once
        cols = (t.c.seq, t.c.change_id, t.c.record_type, t.c.record_id, t.c.org_code, t.c.op, t.c.base_version,
                t.c.version, t.c.payload, t.c.actor, t.c.device_id, type_coerce(t.c.at, String()))
        rows = []
        with self.repo.engine.connect() as conn:
            to_time = t.c.at.type._cached_result_processor(conn.dialect, None) or (lambda v: v)
            if ids is None:
                rows = conn.execute(select(*cols).where(t.c.sync_state == "pending", t.c.seq > after_seq)
                                    .order_by(t.c.seq).limit(limit)).all()
            else:
                for i in range(0, len(ids), 500):
                    rows.extend(conn.execute(select(*cols).where(t.c.change_id.in_(ids[i:i + 500]),
                                                                 t.c.sync_state == "pending")).all())
                rows.sort(key=lambda r: r[0])
        times: dict = {}
        changes = []
        for r in rows:
            at = times.get(r[11])
            if at is None:
                value = to_time(r[11])
                at = times[r[11]] = value.isoformat() if hasattr(value, "isoformat") else str(value)
            changes.append(OutgoingChange(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], at))
        return changes, (rows[-1][0] if rows else None)

    def _settle(self, changes: list[OutgoingChange], results: list[ChangeResult], resolutions: list[dict],
                *, keep_inflight: bool = False) -> None:
        """Apply the server's answers in ONE local transaction.

        ``keep_inflight``: the next batch is already recorded as in flight (settling in the
        background while it is sent, see ``push``): leave that record alone.
        """
        repo = self.repo
        by_id = {c.change_id: c for c in changes}
        confirmed, problems = [], []
        for r in results:
            if r.outcome in CONFIRMED:
                confirmed.append(r.change_id)
                if r.outcome == "applied":
                    self.report.applied += 1
                else:
                    self.report.duplicates += 1
            else:
                problems.append(r)
        with repo.engine.begin() as conn:
            repo.mark_acked(confirmed, conn=conn)
            handled: set[str] = set()
            for r in problems:
                change = by_id[r.change_id].to_change()
                if change.record_id in handled:
                    # A later change of a record already settled in this batch: the entry kept for the
                    # first one holds the record as it is on this PC now (every local edit included),
                    # so this one is settled with it and not counted again (no second, empty entry).
                    repo.mark_acked([change.change_id], state=CONFLICT if r.outcome == CONFLICT else "rejected",
                                    conn=conn)
                    continue
                handled.add(change.record_id)
                if r.outcome == CONFLICT:
                    self.report.conflicts += 1
                    self._keep_local_as_conflict(conn, change.record_type, change.record_id, change.change_id,
                                                 r.server_change)
                    # settled even when both versions turned out equal (no row for the user then)
                    repo.mark_acked([change.change_id], state=CONFLICT, conn=conn)
                else:
                    self.report.rejected += 1
                    self._keep_rejection(conn, change, r)
                self._adopt_server_version(conn, change.record_type, change.record_id, r.server_change)
            if resolutions:
                sent = {x.get("change_id") for x in resolutions}
                left = [x for x in json.loads(self._setting(conn, S_RESOLUTIONS) or "[]")
                        if x.get("change_id") not in sent]
                self._put_setting(conn, S_RESOLUTIONS, json.dumps(left, ensure_ascii=False))
            if not keep_inflight:
                self._put_setting(conn, S_INFLIGHT, "null")

    # ------------------------------------------------------------------ conflicts and rejections

    @staticmethod
    def _setting(conn, key: str) -> str | None:
        return conn.execute(select(Setting.value).where(Setting.key == key)).scalar()

    @staticmethod
    def _put_setting(conn, key: str, value: str) -> None:
        t = Setting.__table__
        conn.execute(t.delete().where(t.c.key == key))
        conn.execute(t.insert().values(key=key, value=value))

    def _pending_for_record(self, conn, record_id: str) -> list[str]:
        return list(conn.execute(select(ChangeLog.change_id).where(
            ChangeLog.record_id == record_id, ChangeLog.sync_state == "pending")).scalars())

    def _keep_local_as_conflict(self, conn, record_type: str, record_id: str, change_id: str,
                                server_change: dict | None) -> None:
        """Both versions kept: the local record goes into the conflict table before the server's is adopted."""
        rt = RECORD_TYPES[record_type]
        current = self.repo.get(record_type, record_id, include_deleted=True, conn=conn)
        if current is None:
            return
        local_payload = payload_of(rt, current)
        local_payload["deleted"] = bool(current["deleted"])
        # pending edits of this record wait for the user's choice instead of being pushed blindly
        self.repo.mark_acked(self._pending_for_record(conn, record_id), state="conflict", conn=conn)
        if server_change and server_change["payload"] == json.loads(json.dumps(local_payload, ensure_ascii=False)):
            return  # the same content on both sides: nothing to choose
        t = Conflict.__table__
        open_row = conn.execute(select(t.c.id).where(t.c.record_id == record_id, t.c.resolved_at.is_(None))).scalar()
        values = dict(local_payload=json.dumps(local_payload, ensure_ascii=False),
                      server_payload=json.dumps(server_change["payload"], ensure_ascii=False) if server_change else None,
                      server_version=server_change["version"] if server_change else None)
        if open_row:
            conn.execute(t.update().where(t.c.id == open_row).values(**values))
        else:
            conn.execute(t.insert().values(id=str(uuid.uuid4()), record_type=record_type, record_id=record_id,
                                           org_code=current["org_code"], change_id=change_id,
                                           created_at=utcnow(), **values))

    def _keep_rejection(self, conn, change: Change, result: ChangeResult) -> None:
        rt = RECORD_TYPES.get(change.record_type)
        self.repo.mark_acked(self._pending_for_record(conn, change.record_id), state="rejected", conn=conn)
        self.repo.mark_acked([change.change_id], state="rejected", conn=conn)
        # keep the record as it is on this PC now — later local edits of it are in it too — not only
        # the refused change's content, since the server's version is adopted next
        current = self.repo.get(change.record_type, change.record_id, include_deleted=True, conn=conn)
        kept = dict(payload_of(rt, current), deleted=bool(current["deleted"])) if rt and current else change.payload
        conn.execute(SyncRejection.__table__.insert().values(
            id=new_id(), change_id=change.change_id, record_type=change.record_type, record_id=change.record_id,
            org_code=change.org_code, op=change.op, reason=result.message or "",
            payload=json.dumps(kept, ensure_ascii=False, default=str), at=utcnow()))
        self.report.messages.append(f"{rt.label if rt else change.record_type}：{result.message}")

    def _adopt_server_version(self, conn, record_type: str, record_id: str, server_change: dict | None) -> None:
        """Make the local record the server's (the local one is kept in the conflict/rejection lists)."""
        repo = self.repo
        current = repo.get(record_type, record_id, include_deleted=True, conn=conn)
        if server_change is not None:
            change = Change.from_dict(server_change)
            if current is not None and current["version"] == change.version and \
                    conn.execute(select(ChangeLog.seq).where(ChangeLog.change_id == change.change_id)).first():
                return
            if conn.execute(select(ChangeLog.seq).where(ChangeLog.change_id == change.change_id)).first():
                # the server's latest change is known here but the record moved on locally: re-adopt it
                change = Change(**{**change.to_dict(), "change_id": new_id()})
            repo.apply_change(conn, change, sync_state="remote", force=True)
        elif current is not None and not current["deleted"]:
            # the server never had this record: withdraw it locally (it is kept in the rejection list)
            rt = RECORD_TYPES[record_type]
            payload = payload_of(rt, current)
            payload["deleted"] = True
            repo.apply_change(conn, Change(
                change_id=new_id(), record_type=record_type, record_id=record_id,
                org_code=current["org_code"], op="delete", base_version=current["version"],
                version=current["version"] + 1, payload=payload, actor="同步（服务器拒绝后撤回）",
                device_id=repo.device_id, at=utcnow().isoformat()), sync_state="remote", force=True)

    # ------------------------------------------------------------------ pull

    def pull(self) -> None:
        """Fetch pages from the saved cursor and apply each in its own transaction with the new cursor.

        The next page is fetched (a helper thread) while this one is applied: over a slow link
        the server's and the network's time hide behind the local writes.  The cursor moves
        on only when a page and its cursor commit together, so a failure or a cancel anywhere
        fetches again from the last committed page; a page fetched ahead is simply dropped.
        """
        repo = self.repo
        cursor = repo.get_setting(S_CURSOR)
        seen = self.transport.incarnation
        if cursor and seen and cursor_incarnation(cursor) != seen:
            # the server was restored since this cursor: its seq numbers may have been reused, so
            # everything is pulled again (unsent local changes stay unsent: pulled ones never touch them)
            log.warning("server incarnation changed (%s): full re-pull", seen)
            self.report.full_repull = True
            cursor = None
        pulled = 0
        self.progress("下载", 0, 0)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="taizhang-pull")
        ahead = None  # Future of the page after the one being applied
        try:
            while True:
                self._check_cancel()
                page = ahead.result() if ahead is not None else self._pull_page(cursor)
                ahead = None
                if page.get("more"):
                    ahead = pool.submit(self._pull_page, page["cursor"])
                if page.get("reset"):
                    self.report.full_repull = True
                    log.warning("server did not know our cursor: full re-pull")
                changes = [Change.from_dict(d) for d in page["changes"]]
                self._write(partial(self._apply_page, page, changes))
                cursor = page["cursor"]
                pulled += len(changes)
                self.progress("下载", pulled, pulled)
                if not page.get("more"):
                    break
        finally:
            # not waiting: after a cancel or an error a page still on its way is of no use
            pool.shutdown(wait=False, cancel_futures=True)

    def _apply_page(self, page: dict, changes: list[Change]) -> None:
        self._save_choice_lists(page.get("choice_lists") or {})
        if "report_templates" in page:  # the county's published report templates (一表通)
            save_pulled(self.repo, page["report_templates"])
        with self.repo.engine.begin() as conn:
            self._apply_pulled(conn, changes)
            self._put_setting(conn, S_CURSOR, page["cursor"])

    def _pull_page(self, cursor: str | None) -> dict:
        params = {"limit": PULL_PAGE}
        if cursor:
            params["cursor"] = cursor
        return self.transport.request("GET", "/pull", params=params)

    def _save_choice_lists(self, lists: dict) -> None:
        for name, spec in lists.items():
            try:
                self.repo.save_choice_list(name, list(spec["items"]), version=int(spec["version"]))
            except Exception as exc:  # noqa: BLE001 - an unknown list from a newer server is skipped
                log.warning("choice list %s not saved: %s", name, exc)

    def _apply_pulled(self, conn, changes: list[Change]) -> None:
        """A pulled page, through the one executor; a change that does not simply apply is settled
        by ``_settle_pulled`` in its place in the page.  Validated like any change (the page's choice
        lists are saved first), so that the decision is the one every route makes; a change this PC
        would refuse is still adopted by the settling: the server's copy is the one of record."""
        outcomes = self.repo.apply_changes(conn, changes, sync_state="remote",
                                           settle=partial(self._settle_pulled, conn))
        self.report.pulled += sum(1 for outcome, _message in outcomes if outcome == APPLIED)

    def _settle_pulled(self, conn, change: Change, decision, stored: dict | None) -> bool:
        """A pulled change in conflict with this PC, or refused by its rules (a month locked here).

        Unsent local edits of the record are kept as a conflict for the user to choose; the
        server's version is then adopted (True) when the PC has local edits, has not got the
        record, holds an older version, or refused it: the server's copy is the one of record.
        """
        pending = self._pending_for_record(conn, change.record_id)
        if pending:
            self.report.conflicts += 1
            self._keep_local_as_conflict(conn, change.record_type, change.record_id, pending[-1], change.to_dict())
        return bool(pending) or stored is None or change.version > stored["version"] or decision.outcome == REJECTED

# --------------------------------------------------------------------------- conflicts and rejections for the UI/CLI


def open_conflicts(repo: Repository) -> list[dict]:
    return storage_conflicts.open_conflicts(repo)


def resolve_conflict(repo: Repository, conflict_id: str, keep: str) -> None:
    """The user's choice: keep the server's version ('server') or this PC's ('local', pushed at next sync)."""
    row = storage_conflicts.choose(repo, conflict_id, keep)
    if row is None:
        raise SyncError("这条冲突已经处理过了")
    with repo.engine.begin() as conn:  # the server closes its copy of the conflict at the next sync
        pending = json.loads(SyncClient._setting(conn, S_RESOLUTIONS) or "[]")
        pending.append({"change_id": row["change_id"], "resolution": keep})
        SyncClient._put_setting(conn, S_RESOLUTIONS, json.dumps(pending))


def rejections(repo: Repository, *, include_dismissed: bool = False) -> list[dict]:
    """Changes the server refused, oldest first, each with the record's content as kept on this PC."""
    t = SyncRejection.__table__
    stmt = select(t).order_by(t.c.at, t.c.id)
    if not include_dismissed:
        stmt = stmt.where(t.c.dismissed_at.is_(None))
    with repo.engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    out = []
    for r in rows:
        d = dict(r)
        d["payload"] = json.loads(d["payload"])
        d["at"] = d["at"].isoformat()
        d["label"] = RECORD_TYPES[d["record_type"]].label if d["record_type"] in RECORD_TYPES else d["record_type"]
        out.append(d)
    return out


def rejection_summary(rejection: dict, limit: int = 3) -> str:
    """The refused record in a few words (its first list columns), ID numbers and phones masked."""
    rt = RECORD_TYPES.get(rejection["record_type"])
    payload = rejection.get("payload") or {}
    if rt is None:
        return ""
    shown = ((rt.field(name).label, display_text(rt.field(name), payload.get(name))) for name in rt.list_columns[:limit])
    return "，".join(f"{label}：{text}" for label, text in shown if text)


def dismiss_rejection(repo: Repository, rejection_id: str) -> None:
    """The user has dealt with a refused change: it leaves the list (the row stays, marked)."""
    t = SyncRejection.__table__
    with repo.engine.begin() as conn:
        done = conn.execute(t.update().where(t.c.id == rejection_id, t.c.dismissed_at.is_(None))
                            .values(dismissed_at=utcnow())).rowcount
    if not done:
        raise SyncError("这条被拒绝的修改已经处理过了")


__all__ = ["SyncClient", "SyncReport", "SyncError", "LoginRequired", "PasswordChangeRequired", "SyncCancelled",
           "ServerUnreachable", "Transport", "open_conflicts", "resolve_conflict", "rejections", "rejection_summary",
           "dismiss_rejection"]
