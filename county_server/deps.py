"""Shared FastAPI dependencies: protocol version check, the signed-in principal, API errors."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from county_server.auth import AuthError, Principal, authenticate
from sync.protocol import E_PROTOCOL, PROTOCOL_HEADER, is_supported, unsupported_version_message


class ApiError(Exception):
    """An error answer: ``{"error": code, "message": 中文}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


async def check_protocol(request: Request) -> None:
    version = request.headers.get(PROTOCOL_HEADER)
    if not is_supported(version):
        raise ApiError(426, E_PROTOCOL, unsupported_version_message(version))


def _bearer(request: Request) -> str | None:
    value = request.headers.get("Authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


async def current_principal(request: Request) -> Principal:
    try:
        return await run_in_threadpool(authenticate, request.app.state.engine, _bearer(request))
    except AuthError as exc:
        raise ApiError(401, exc.code, str(exc)) from None


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise ApiError(403, "forbidden", "本账号没有权限执行此操作")
