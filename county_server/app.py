"""The county server's ASGI application: ``create_app(engine)``.

Routers are listed once in ``ROUTER_MODULES``: each module has a FastAPI
``router`` (APIRouter) whose paths are relative to ``/api/v1``; every route
there requires the client's protocol version header (``sync.protocol``).
Other features (Excel import, reports, periods) add their module's dotted name
to the list.  Services are reached through ``request.app.state`` (``engine``,
``repo``) or the dependencies in ``county_server.deps``.
"""

from __future__ import annotations

import importlib

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from county_server.deps import ApiError, check_protocol
from sync.protocol import API_PREFIX, E_BAD_REQUEST

ROUTER_MODULES: list[str] = [
    "county_server.api_sync",
    "county_server.periods_api",
]


def create_app(engine: Engine, receipt_key_path: str | None = None) -> FastAPI:
    """``receipt_key_path``: the receipt signing key file (``county_server.signing.key_path``)."""
    from county_server import signing
    from county_server.models import create_server_tables, server_id
    from storage import __version__
    from storage.repository import Repository

    create_server_tables(engine)
    app = FastAPI(title="社区服务台账县级服务器 API", version=__version__,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  description="村(社区)、乡镇电脑与县级服务器之间的同步接口。每个请求须带 X-Taizhang-Protocol 头。")
    app.state.engine = engine
    app.state.repo = Repository(engine, actor="县级服务器", device_id=None)
    app.state.server_id = server_id(engine)
    app.state.receipt_key_path = signing.key_path(receipt_key_path)
    signing.server_key(app.state)  # made now if new: a key file problem stops the start, not a sign-in
    signing.encryption_key(app.state)  # the key offline packages are encrypted to, likewise

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)

    from storage.logsafe import mask_pii

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError):
        # pydantic quotes the offending input: never an ID number or phone in the answer (or a log)
        return JSONResponse({"error": E_BAD_REQUEST, "message": mask_pii(f"请求格式不正确：{exc.errors()[:3]}")},
                            status_code=400)

    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router, prefix=API_PREFIX, dependencies=[Depends(check_protocol)])
        public = getattr(module, "public_router", None)
        if public is not None:
            app.include_router(public, prefix=API_PREFIX)
    return app
