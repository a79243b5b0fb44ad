"""Month-end endpoints: a township collector uploads the offline packages villages handed over.

``POST /packages`` (body: the package file's bytes) → ``{receipt, summary, replayed, applied, duplicate}``;
``receipt`` is the signed receipt file, base64, for the collector to hand back to the village.
Period transitions themselves need no endpoint: they are ``period`` records pushed like any change
and checked by ``county_server.policy`` → ``storage.periods.check_change``.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from county_server.auth import Principal
from county_server.deps import ApiError, current_principal
from county_server.errors import responses
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
