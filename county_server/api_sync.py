"""Sync endpoints: login, push, pull, sanity-check summaries, the benchmark's no-op.

A push batch is applied in ONE transaction through ``Repository.apply_changes``
(the one decision and executor of ``storage/``) and its answers are stored (``server_sync_batch``) in that same transaction:
a batch re-sent after a lost response gets the stored answers and writes
nothing again.  Scope and period rules come from ``county_server.policy``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
from collections import defaultdict

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from county_server import policy, throttle
from county_server.auth import AuthError, Principal, login
from county_server.deps import ApiError, current_principal
from county_server.errors import responses
from county_server.models import Rejection, SyncBatch, utcnow
from reports.fill.library import catalogue_index
from county_server.writer import write_transaction
from storage.jsontext import encode, stored
from storage.models import ChangeLog, ChoiceList, Conflict, new_id, table_for
from storage.repository import Change, change_from_row
from storage.schema import RECORD_TYPES
from sync.protocol import (APPLIED, CONFLICT, E_BAD_REQUEST, E_BATCH_MISMATCH, PULL_PAGE, REJECTED,
                           SUPPORTED_VERSIONS, ChangeResult, batch_digest, decode_body, group_checksum,
                           make_cursor, parse_cursor)
from sync import limits
from sync.limits import LimitError

log = logging.getLogger("taizhang-server.sync")

router = APIRouter(tags=["同步"])
public_router = APIRouter(tags=["状态"])

from storage.db import PG_WRITER_LOCK as _PG_LOCK  # noqa: E402 - every ledger writer takes it (storage.db)


def _serialize_writers(conn: Connection) -> None:
    """On PostgreSQL, pushes take one advisory lock so that a pull never skips a seq still in flight.

    (SQLite has one writer at a time already.)
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})


# --------------------------------------------------------------------------- status & login


@public_router.get("/status", summary="服务器状态（不需登录）")
def status(request: Request) -> dict:
    return {"protocol_versions": sorted(SUPPORTED_VERSIONS), "server_id": request.app.state.server_id,
            "incarnation": request.app.state.incarnation, "time": utcnow().isoformat()}


class LoginRequest(BaseModel):
    user: str = Field(description="用户名", max_length=limits.MAX_NAME_CHARS)
    password: str = Field(description="密码", max_length=limits.MAX_PASSWORD_CHARS)
    device_id: str = Field(description="本机设备编号（客户端生成的UUID）", max_length=limits.MAX_ID_CHARS)
    device_name: str = Field("", description="电脑名称，便于管理员识别", max_length=200)
    package_public_key: str | None = Field(None, description="本机为离线数据包新生成的 Ed25519 签名公钥（base64）",
                                           max_length=64)
    new_password: str | None = Field(None, description="同时修改本账号的密码（一次性密码登录时必须提供）",
                                     max_length=limits.MAX_PASSWORD_CHARS)

    @field_validator("user", "password", "device_id", "device_name", "package_public_key", "new_password")
    @classmethod
    def _encodable(cls, value: str | None) -> str | None:
        if value is not None:
            value.encode("utf-8")  # a lone surrogate can be neither stored nor hashed: a 400, not a 500
        return value


class LoginResponse(BaseModel):
    token: str
    expires_at: str
    user: str
    role: str
    org_code: str
    org_name: str
    server_id: str
    device: str
    receipt_public_key: str = Field(description="县级服务器的回执签名公钥（Ed25519，base64），本机据此验证回执")
    full_export_roles: list[str] | None = Field(None, description="可以导出完整身份号码和手机号的角色（县里设置）")
    package_encryption_key: str | None = Field(None, description="离线数据包加密用的县级服务器公钥（X25519，base64）")


@router.post("/login", response_model=LoginResponse, summary="登录：用户名+密码换取设备令牌", responses=responses(403, 429))
def do_login(body: LoginRequest, request: Request) -> LoginResponse:
    engine = request.app.state.engine
    address = request.client.host if request.client else "unknown"  # nginx's X-Forwarded-For (uvicorn)
    until = throttle.locked_until(engine, body.user, address)
    if until is not None:  # refused before the password is checked: the right one too
        raise ApiError(429, throttle.E_LOCKED, throttle.locked_message(until, utcnow()),
                       headers={"Retry-After": str(max(1, int((until - utcnow()).total_seconds())))})
    try:
        token, expires, p = login(engine, body.user, body.password, body.device_id, body.device_name,
                                  body.package_public_key, body.new_password)
    except AuthError as exc:
        if exc.code == "auth_failed":  # a wrong password (not a malformed request, not a one-time password)
            throttle.record_failure(engine, body.user, address)
        status = {E_BAD_REQUEST: 400, "password_change_required": 403}.get(exc.code, 401)
        raise ApiError(status, exc.code, str(exc)) from None
    throttle.record_success(engine, body.user)
    from county_server.signing import encryption_key, server_key
    from storage import disclosure
    from sync.package import public_key_text, x25519_public_text

    org = request.app.state.repo.get("org_unit", _org_id(p.org_code))
    return LoginResponse(token=token, expires_at=expires.isoformat(), user=p.name, role=p.role, org_code=p.org_code,
                         org_name=(org or {}).get("name") or "", server_id=request.app.state.server_id,
                         device=p.device_id, receipt_public_key=public_key_text(server_key(request.app.state)),
                         full_export_roles=list(disclosure.full_export_roles(request.app.state.repo)),
                         package_encryption_key=x25519_public_text(encryption_key(request.app.state)))


def _org_id(code: str) -> str:
    from storage.repository import org_unit_id

    return org_unit_id(code)


# --------------------------------------------------------------------------- push


@router.post("/push", summary="上传一批变更（gzip JSON），逐条答复 applied/duplicate/conflict/rejected",
             responses=responses(409))
async def push(request: Request, principal: Principal = Depends(current_principal)) -> Response:
    body = await read_push_body(request)  # every limit checked (sync.limits): nothing is written otherwise
    batch_id = str(body["batch_id"])
    changes = [Change.from_dict(d) for d in body.get("changes", [])]
    resolutions = list(body.get("resolutions") or [])
    answer, results_json = await run_in_threadpool(_push, request.app.state, principal, batch_id, changes,
                                                   resolutions)
    # the results were encoded once for the stored answer: the reply carries that text as it is
    body = encode({"batch_id": answer["batch_id"], "replayed": answer["replayed"], "results": stored(results_json)})
    return _json_bytes(body.encode("utf-8"), request)  # 5,000 answers are ~300 KB: gzip'd for slow links


def _json(data: dict, request: Request | None = None) -> Response:
    """Encode big answers directly (FastAPI's generic encoder walks every value: slow for 5,000 results).

    Gzip'd when the client accepts it and the answer is big (``_json_bytes``): a pull page of
    2,000 changes is about 1 MB of JSON, far less compressed, and townships sync over slow mobile links.
    """
    return _json_bytes(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), request)


def _json_bytes(body: bytes, request: Request | None) -> Response:
    if request is not None and len(body) >= GZIP_MIN_BYTES and \
            "gzip" in request.headers.get("accept-encoding", "").lower():
        # level 1: most of the saving (JSON of ids and repeated keys) for a fraction of level 6's time
        return Response(gzip.compress(body, compresslevel=1), media_type="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(body, media_type="application/json")


GZIP_MIN_BYTES = 16_384


def process_push(state, p: Principal, batch_id: str, changes: list[Change], resolutions: list[dict]) -> dict:
    return _push(state, p, batch_id, changes, resolutions)[0]


def _push(state, p: Principal, batch_id: str, changes: list[Change], resolutions: list[dict]) -> tuple[dict, str]:
    """``process_push``'s answer and its results as the JSON text stored with the batch."""
    engine = state.engine
    digest = batch_digest(c.change_id for c in changes)
    stored = _stored_batch(engine, batch_id, digest)
    if stored is not None:
        return {"batch_id": batch_id, "replayed": True, "results": json.loads(stored)}, stored
    try:
        results, results_json = _apply_batch(state, p, batch_id, digest, changes, resolutions)
    except IntegrityError:
        stored = _stored_batch(engine, batch_id, digest)  # the same batch committed concurrently
        if stored is None:
            raise
        return {"batch_id": batch_id, "replayed": True, "results": json.loads(stored)}, stored
    return {"batch_id": batch_id, "replayed": False, "results": results}, results_json


def _stored_batch(engine, batch_id: str, digest: str) -> str | None:
    """The stored answers (JSON text) of a batch received before, or None."""
    t = SyncBatch.__table__
    with engine.connect() as conn:
        row = conn.execute(select(t.c.digest, t.c.results).where(t.c.batch_id == batch_id)).first()
    if row is None:
        return None
    if row.digest != digest:
        raise ApiError(409, E_BATCH_MISMATCH, "同一批次编号对应的变更不一致，服务器未处理。请重新同步（本机数据不会丢失）")
    return row.results


def latest_change(conn: Connection, record_id: str) -> dict | None:
    row = conn.execute(select(ChangeLog).where(ChangeLog.record_id == record_id)
                       .order_by(ChangeLog.seq.desc()).limit(1)).first()
    return change_from_row(row).to_dict() if row is not None else None


def _apply_batch(state, p: Principal, batch_id: str, digest: str, changes: list[Change],
                 resolutions: list[dict]) -> tuple[list[dict], str]:
    """Apply a batch in ONE transaction through the repository's one executor.

    Returns the answers and their JSON text (stored with the batch, spliced into the reply).
    """
    repo = state.repo
    results: list[dict] = []
    now = utcnow()
    with write_transaction(state.engine) as conn:  # SQLite: queue behind the one writer
        _serialize_writers(conn)
        outcomes = repo.apply_changes(conn, changes, sync_state="acked",
                                      precheck=lambda change, old: policy.check_change(conn, p, change, old))
        for change, (outcome, message) in zip(changes, outcomes):
            if outcome == APPLIED:
                results.append({"change_id": change.change_id, "outcome": APPLIED})  # = ChangeResult.to_dict()
                continue
            result = ChangeResult(change.change_id, outcome, message)
            if outcome in (CONFLICT, REJECTED):
                result.server_change = latest_change(conn, change.record_id)
                _keep_other_version(conn, p, batch_id, change, outcome, message, result.server_change, now)
            results.append(result.to_dict())
        _resolve(conn, resolutions, now)
        results_json = json.dumps(results, ensure_ascii=False, separators=(",", ":"))
        conn.execute(SyncBatch.__table__.insert().values(
            batch_id=batch_id, device_id=p.device_id, account_id=p.account_id, digest=digest,
            change_count=len(changes), results=results_json, received_at=now))
        from county_server.models import Device

        conn.execute(Device.__table__.update().where(Device.__table__.c.id == p.device_id).values(last_seen=now))
    return results, results_json


def _keep_other_version(conn: Connection, p: Principal, batch_id: str, change: Change, outcome: str,
                        message: str | None, server_change: dict | None, now: dt.datetime) -> None:
    """Both versions are kept: a conflict row (the PC's version), or a rejection row with the reason."""
    payload = json.dumps(change.payload, ensure_ascii=False)
    if outcome == CONFLICT:
        t = Conflict.__table__
        if conn.execute(select(t.c.id).where(t.c.change_id == change.change_id)).first() is None:
            conn.execute(t.insert().values(
                id=new_id(), record_type=change.record_type, record_id=change.record_id, org_code=change.org_code,
                change_id=change.change_id, local_payload=payload,
                server_payload=json.dumps(server_change["payload"], ensure_ascii=False) if server_change else None,
                server_version=server_change["version"] if server_change else None, created_at=now))
    else:
        conn.execute(Rejection.__table__.insert().values(
            batch_id=batch_id, change_id=change.change_id, account_id=p.account_id, device_id=p.device_id,
            record_type=change.record_type, record_id=change.record_id, org_code=change.org_code or "",
            reason=message or "", payload=payload, at=now))


def _resolve(conn: Connection, resolutions: list[dict], now: dt.datetime) -> None:
    """The PC's choices for conflicts (keep the server's or its own version): close the server's rows."""
    t = Conflict.__table__
    for r in resolutions:
        cid, choice = r.get("change_id"), r.get("resolution")
        if cid and choice in ("server", "local"):
            conn.execute(t.update().where(t.c.change_id == cid, t.c.resolved_at.is_(None))
                         .values(resolved_at=now, resolution=choice))


async def read_push_body(request: Request) -> dict:
    """The decoded push body, or a 413/400 ``ApiError`` when it breaks a limit (``sync.limits``)."""
    raw = await request.body()  # at most limits.MAX_PUSH_BYTES (county_server.body_limits)
    try:
        return await run_in_threadpool(decode_body, raw, request.headers.get("Content-Encoding"))
    except LimitError as exc:
        raise ApiError(exc.status, "too_large" if exc.status == 413 else E_BAD_REQUEST, str(exc)) from None


# --------------------------------------------------------------------------- pull


@router.get("/pull", summary="从游标处下载本账号范围内的变更、选项列表")
def pull(request: Request, cursor: Annotated[str | None, Query(max_length=limits.MAX_CURSOR_CHARS)] = None,
         limit: Annotated[int, Query(ge=1, le=10_000)] = PULL_PAGE,
         principal: Principal = Depends(current_principal)) -> Response:
    state = request.app.state
    limit = max(1, min(limit, 10_000))
    sid, seq = parse_cursor(cursor)
    with state.engine.begin() as conn:
        _serialize_writers(conn)  # everything up to `upper` is committed
        upper = conn.execute(select(func.max(ChangeLog.seq))).scalar() or 0
        reset = bool(cursor) and (sid != state.incarnation or seq > upper)  # restored: see incarnation.py
        if reset or not cursor:
            seq = 0
        rows = conn.execute(select(ChangeLog).where(
            ChangeLog.seq > seq, ChangeLog.seq <= upper,
            policy.read_filter(principal, ChangeLog.org_code, ChangeLog.record_type))
            .order_by(ChangeLog.seq).limit(limit)).all()
        choice_lists = {r.name: {"version": r.version, "items": list(r.items)}
                        for r in conn.execute(select(ChoiceList))}
    more = len(rows) == limit
    next_seq = rows[-1].seq if more else upper
    page = {"cursor": make_cursor(state.incarnation, next_seq), "more": more, "reset": reset,
            "changes": [change_from_row(r).to_dict() for r in rows], "choice_lists": choice_lists}
    if not more:  # the county's report templates (一表通) ride on the last page of a pull
        page["report_templates"] = catalogue_index(state.engine)
    return _json(page, request)


# --------------------------------------------------------------------------- sanity check


@router.get("/summary", summary="核对：本账号范围内每类记录、每个单位的条数和校验和")
def summary(request: Request, principal: Principal = Depends(current_principal)) -> dict:
    groups = []
    with request.app.state.engine.connect() as conn:
        for name in RECORD_TYPES:
            t = table_for(name)
            by_org: dict[str, list[tuple[str, int]]] = defaultdict(list)
            scope = policy.read_filter(principal, t.c.org_code, record_type=name)
            rows = conn.execute(select(t.c.org_code, t.c.id, t.c.version).where(t.c.deleted.is_(False), scope))
            for org, rid, version in rows:
                by_org[org].append((rid, version))
            for org, pairs in by_org.items():
                groups.append({"record_type": name, "org_code": org, "count": len(pairs),
                               "checksum": group_checksum(pairs)})
    scope = policy.write_prefixes(principal)
    return {"scope": scope, "org_unit_scope": policy.org_unit_prefix(principal), "groups": groups}


class RecordsRequest(BaseModel):
    record_type: str = Field(max_length=limits.MAX_NAME_CHARS)
    org_code: str = Field(max_length=limits.MAX_ORG_CODE_CHARS)


@router.post("/records", summary="核对：一组记录的编号、版本和删除标记", responses=responses(403))
def records(body: RecordsRequest, request: Request, principal: Principal = Depends(current_principal)) -> dict:
    if body.record_type not in RECORD_TYPES:
        raise ApiError(400, E_BAD_REQUEST, f"未知的记录类型“{body.record_type}”")
    if not policy.may_read(principal, body.record_type, body.org_code):
        raise ApiError(403, "forbidden", f"{body.org_code}不在本账号的管辖范围内")
    t = table_for(body.record_type)
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.version, t.c.deleted).where(t.c.org_code == body.org_code)).all()
    return {"records": [[r.id, r.version, bool(r.deleted)] for r in rows]}


class LatestRequest(BaseModel):
    record_ids: list[Annotated[str, Field(max_length=limits.MAX_ID_CHARS)]] = Field(
        max_length=limits.MAX_LATEST_IDS)


@router.post("/latest", summary="核对：指定记录在服务器上的最新变更")
def latest(body: LatestRequest, request: Request, principal: Principal = Depends(current_principal)) -> dict:
    out = []
    with request.app.state.engine.connect() as conn:
        for rid in body.record_ids[:5000]:
            ch = latest_change(conn, rid)
            if ch and policy.may_read(principal, ch["record_type"], ch["org_code"]):
                out.append(ch)
    return {"changes": out}


# --------------------------------------------------------------------------- benchmark baseline


@router.post("/noop", summary="基准测试用：接收并解析一批变更后丢弃（不写数据库）")
async def noop(request: Request, principal: Principal = Depends(current_principal)) -> dict:
    body = await read_push_body(request)
    changes = [Change.from_dict(d) for d in body.get("changes", [])]
    return {"batch_id": body.get("batch_id"), "received": len(changes)}
