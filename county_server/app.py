"""The county server's ASGI application: ``create_app(engine)``.

Routers are listed once in ``ROUTER_MODULES``: each module has a FastAPI
``router`` (APIRouter) whose paths are relative to ``/api/v1``; every route
there requires the client's protocol version header (``sync.protocol``).
Other features (Excel import, reports, periods) add their module's dotted name
to the list.  Services are reached through ``request.app.state`` (``engine``,
``repo``) or the dependencies in ``county_server.deps``.
"""

from __future__ import annotations

import contextlib
import importlib

from fastapi import Depends, FastAPI
from sqlalchemy.engine import Engine

from county_server import errors, incarnation
from county_server.body_limits import BodyLimitMiddleware
from county_server.deps import check_protocol
from sync.protocol import API_PREFIX

ROUTER_MODULES: list[str] = [
    "county_server.api_sync",
    "county_server.periods_api",
    "county_server.accounts_api",
]


def create_app(engine: Engine, receipt_key_path: str | None = None) -> FastAPI:
    """``receipt_key_path``: the receipt signing key file (``county_server.signing.key_path``)."""
    from county_server import signing
    from county_server.models import create_server_tables, server_id
    from storage import __version__
    from storage.repository import Repository

    create_server_tables(engine)
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        incarnation.record_clean_stop(engine, app.state.incarnation)  # each worker, at a clean stop

    app = FastAPI(lifespan=lifespan, title="社区服务台账县级服务器 API", version=__version__,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  description="村(社区)、乡镇电脑与县级服务器之间的同步接口。每个请求须带 X-Taizhang-Protocol 头。")
    app.state.engine = engine
    app.state.repo = Repository(engine, actor="县级服务器", device_id=None)
    app.state.server_id = server_id(engine)
    # settled once per start by `serve` before the workers start; a bare create_app (tests) settles here
    app.state.incarnation = incarnation.marker(engine) or incarnation.settle(engine)
    app.state.receipt_key_path = signing.key_path(receipt_key_path)
    signing.server_key(app.state)  # made now if new: a key file problem stops the start, not a sign-in
    signing.encryption_key(app.state)  # the key offline packages are encrypted to, likewise

    errors.install(app)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(incarnation.IncarnationHeaderMiddleware, incarnation=app.state.incarnation)

    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router, prefix=API_PREFIX, dependencies=[Depends(check_protocol)],
                           responses=errors.responses(*errors.STATUS_ANY, *errors.STATUS_PROTOCOL,
                                                      *errors.STATUS_SIGNED_IN))
        public = getattr(module, "public_router", None)
        if public is not None:
            app.include_router(public, prefix=API_PREFIX, responses=errors.responses(*errors.STATUS_ANY))
    return app
