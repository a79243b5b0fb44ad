"""One error form for every answer the server gives: ``{"error": code, "message": 中文}``.

Every 4xx and 5xx — the routes' own (``ApiError``), body-parse and validation errors,
unknown paths, wrong methods, bodies over a limit, and unexpected exceptions — goes
through ``install``'s handlers; the OpenAPI document lists, per operation, every status
it can answer (``STATUS_*``) with this one body schema, and none it cannot (no 422).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from county_server.deps import ApiError
from sync.protocol import E_BAD_REQUEST

log = logging.getLogger("taizhang-server.errors")

E_NOT_FOUND = "not_found"
E_METHOD = "method_not_allowed"
E_SERVER = "server_error"

_BY_STATUS = {
    400: (E_BAD_REQUEST, "请求格式不正确（不是有效的 JSON，无法解析），服务器未处理。请升级台账程序后重试"),
    404: (E_NOT_FOUND, "没有这个接口地址，请检查服务器地址或升级台账程序"),
    405: (E_METHOD, "该接口不支持这种请求方式，请升级台账程序"),
    413: ("too_large", "请求数据过大，服务器未处理"),
}


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="错误代码（英文，供程序判断）")
    message: str = Field(description="给用户看的中文说明")


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


_DESCRIPTIONS = {400: "请求格式不正确或超出限制", 401: "未登录、登录凭据无效或用户名密码错误", 403: "无权限",
                 409: "批次编号冲突", 413: "请求数据过大", 422: "数据包被拒绝", 426: "同步协议版本不受支持",
                 429: "登录失败次数过多，暂时锁定", 500: "服务器内部错误"}


def responses(*statuses: int) -> dict:
    """An operation's error answers for the OpenAPI document."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


# What every operation can answer (handlers, middleware, dependencies), and what each kind adds.
STATUS_ANY = (400, 413, 500)  # body unreadable or over a cap (middleware); unexpected error
STATUS_PROTOCOL = (426,)  # every /api/v1 route but /status checks the protocol header
STATUS_SIGNED_IN = (401,)  # routes that need a device token


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
        kind = err.get("type", "")
        what = {"missing": "缺少", "string_too_long": "过长", "too_long": "项数过多", "json_invalid": "不是有效的 JSON",
                "greater_than_equal": "过小", "less_than_equal": "过大"}.get(kind, "格式不正确")
        parts.append(f"{where or '请求内容'}{what}")
    return "请求格式不正确：" + "；".join(parts) + "。服务器未处理，请升级台账程序后重试"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        return error_response(400, E_BAD_REQUEST, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        code = getattr(exc, "code", None)
        if code is not None:  # our own, raised below the route (body_limits.RequestRefused)
            return error_response(exc.status_code, code, exc.message)
        fallback = (E_SERVER, "服务器出错") if exc.status_code >= 500 else (E_BAD_REQUEST, "请求不正确")
        code, message = _BY_STATUS.get(exc.status_code, fallback)
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("处理请求 %s %s 时出现意外错误，已回答 500", request.method, request.url.path, exc_info=exc)
        return error_response(500, E_SERVER, "服务器出错，详细信息已写入服务器日志，请稍后重试或联系县民政局信息管理员")

    original = app.openapi

    def openapi_without_422():
        """FastAPI adds 422 to every operation with parameters; this server answers 400 instead."""
        if app.openapi_schema is None:
            schema = original()
            for path, ops in schema.get("paths", {}).items():
                for op in ops.values():
                    answers = op.get("responses", {})
                    if "422" in answers and "package" not in path:
                        del answers["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema

    app.openapi = openapi_without_422
