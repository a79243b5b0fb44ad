"""Request-body caps for every endpoint, enforced before a handler reads a byte too many.

An ASGI middleware: a declared ``Content-Length`` over the path's cap is answered 413 at once;
a body streamed without one is counted as it arrives and refused (413) at the first chunk over
the cap.  The caps come from ``sync.limits`` (defined once, the client sizes batches by them).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException as StarletteHTTPException

from sync import limits
from sync.protocol import API_PREFIX

E_TOO_LARGE = "too_large"

# path (under /api/v1) → the largest body it accepts; every other path: MAX_JSON_BODY_BYTES
BODY_CAPS = {"/push": limits.MAX_PUSH_BYTES, "/noop": limits.MAX_PUSH_BYTES, "/packages": limits.MAX_PACKAGE_BYTES}


class RequestRefused(StarletteHTTPException):
    """An HTTP error raised below the route (while the body is read): ``code`` + Chinese ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(status, message)
        self.code, self.message = code, message


def body_cap(path: str) -> int:
    return BODY_CAPS.get(path.removeprefix(API_PREFIX), limits.MAX_JSON_BODY_BYTES)


def too_large(cap: int) -> RequestRefused:
    return RequestRefused(413, E_TOO_LARGE, limits.too_large_message(cap))


class BodyLimitMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = body_cap(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            from county_server.errors import error_response

            response = error_response(413 if declared.isdigit() else 400, *(
                (E_TOO_LARGE, limits.too_large_message(cap)) if declared.isdigit()
                else ("bad_request", "请求头 Content-Length 不正确")))
            return await response(scope, receive, send)
        received = 0

        async def capped_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise too_large(cap)
            return message

        await self.app(scope, capped_receive, send)
