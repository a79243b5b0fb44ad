"""Month-end endpoints: a township collector uploads the offline packages villages handed over.

``POST /packages`` (body: the package file's bytes) → ``{receipt, summary, replayed, applied, duplicate}``;
``receipt`` is the signed receipt file, base64, for the collector to hand back to the village.
Period transitions themselves need no endpoint: they are ``period`` records pushed like any change
and checked by ``county_server.policy`` → ``storage.periods.check_change`` (a village's 撤回 is
refused there once the township has reviewed the month; 重新提交 only after later edits).
``GET /periods/{org_code}/{period}`` → the month's state as the server sees it, in the village's own
words (``storage.periods.next_step``): a village PC or a collector can ask whether 撤回 is still possible.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from county_server import policy
from county_server.auth import Principal
from county_server.deps import ApiError, current_principal
from county_server.errors import responses
from storage import periods as P
from sync import package as PK

router = APIRouter(tags=["月报"])


@router.post("/packages", summary="上传村(社区)的离线数据包（乡镇代收），返回签名回执", responses=responses(403, 422))
async def upload_package(request: Request, principal: Principal = Depends(current_principal)) -> dict:
    from county_server.cmd_packages import import_package

    data = await request.body()  # at most sync.limits.MAX_PACKAGE_BYTES (county_server.body_limits: 413 over it)
    if principal.role == "village":
        raise ApiError(403, "forbidden", "村(社区)账号请直接联网同步，数据包由乡镇或县导入")
    try:
        result = await run_in_threadpool(import_package, request.app.state, data, via=principal)
    except PK.PackageError as exc:
        raise ApiError(422, "package_refused", str(exc)) from None
    return {"receipt": base64.b64encode(result.receipt.to_bytes()).decode("ascii"), "summary": result.summary(),
            "replayed": result.replayed, "applied": result.applied, "duplicate": result.duplicate,
            "rejected": len(result.receipt.rejected), "conflicts": len(result.receipt.conflicts)}


@router.get("/periods/{org_code}/{period}", summary="某村(社区)某月填报期的状态（一句话）和下一步",
            responses=responses(403))
def period_state(org_code: str, period: str, request: Request,
                 principal: Principal = Depends(current_principal)) -> dict:
    if not policy.in_scope(principal, org_code):
        raise ApiError(403, "forbidden", f"{org_code}不在本账号的范围内")
    try:
        P.month_bounds(period)
    except ValueError:
        raise ApiError(400, "bad_request", f"填报期“{period[:20]}”不对，应为 2025-03 这样的格式") from None
    with request.app.state.engine.connect() as conn:
        st = P.state(conn, org_code, period)
    step = P.next_step(st)
    return {"org_code": org_code, "period": period, "status": st.status, "display_status": st.display_status,
            "changed_count": st.changed_count, "sentence": step.sentence, "next_action": step.action,
            "may_withdraw": st.status == P.SUBMITTED, "submitted_at": st.submitted_at,
            "reviewed_at": st.reviewed_at, "accepted_at": st.accepted_at}
