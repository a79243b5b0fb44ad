"""``taizhang-server serve``: run the county server (uvicorn) on the selected database.

``--workers N`` runs N uvicorn worker processes (the parent settles the incarnation and makes
the receipt key first, so the workers only open what exists).  Each worker has its own
PostgreSQL pool of ``POOL_PER_WORKER`` connections (+ ``OVERFLOW_PER_WORKER``): the database
needs ``max_connections`` ≥ N × (POOL_PER_WORKER + OVERFLOW_PER_WORKER) plus a few for the admin
commands and backups (docs/install.md).  A request that finds its worker's pool busy waits for a
connection (up to ``POOL_WAIT_S``) instead of failing.  On SQLite writers queue behind the one
write lock (``county_server.writer``); one worker is right there.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os

log = logging.getLogger("taizhang-server")

POOL_PER_WORKER = 8
OVERFLOW_PER_WORKER = 4
POOL_WAIT_S = 120
_ENV_DB, _ENV_KEY = "TAIZHANG_SERVE_DB", "TAIZHANG_SERVE_RECEIPT_KEY"


def pool_arguments() -> dict:
    """One worker's PostgreSQL pool (SQLite ignores it)."""
    return {"pool_size": POOL_PER_WORKER, "max_overflow": OVERFLOW_PER_WORKER, "pool_timeout": POOL_WAIT_S}


def connections_needed(workers: int) -> int:
    return workers * (POOL_PER_WORKER + OVERFLOW_PER_WORKER)


def _open(url: str):
    from storage.db import open_server_database

    return open_server_database(url, pool_arguments())


def worker_app():
    """The app of one worker process (``uvicorn --factory``): the database and key the parent prepared."""
    from county_server.app import create_app

    app = create_app(_open(os.environ[_ENV_DB]), os.environ.get(_ENV_KEY) or None)
    gc.freeze()  # see _serve
    return app


def _serve(args) -> int:
    import uvicorn

    from county_server import incarnation
    from county_server.app import create_app
    from county_server.models import create_server_tables
    from county_server.signing import SigningKeyError
    from storage.cli import UserError

    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise UserError("启用 HTTPS 需要同时指定 --ssl-certfile 和 --ssl-keyfile")
    if args.workers < 1:
        raise UserError("--workers 至少为 1")
    engine = _open(args.db)
    create_server_tables(engine)
    incarnation.settle(engine)  # once, before any worker answers (each records its clean stop)
    try:
        app = create_app(engine, getattr(args, "receipt_key", None))  # also makes the receipt key if new
    except SigningKeyError as exc:
        raise UserError(str(exc)) from None
    scheme = "https" if args.ssl_certfile else "http"
    print(f"县级服务器已启动：{scheme}://{args.host}:{args.port}/api/v1/ （数据库 {engine.url.render_as_string()}，"
          f"{args.workers} 个工作进程）", flush=True)
    if engine.dialect.name == "sqlite" and args.workers > 1:
        log.warning("SQLite 只允许一个写入者：%d 个工作进程的写入会排队，建议 SQLite 用 --workers 1", args.workers)
    options = dict(host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                   ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile, timeout_keep_alive=30)
    if args.workers == 1:
        # Everything loaded so far (FastAPI, SQLAlchemy, the schema) lives as long as the process:
        # keep it out of the cyclic collector's full passes, which a sync batch (tens of thousands
        # of short-lived containers) otherwise triggers every few batches (issue 4's push benchmark).
        gc.freeze()
        uvicorn.run(app, **options)
        return 0
    engine.dispose()
    del app
    os.environ[_ENV_DB] = args.db
    os.environ[_ENV_KEY] = getattr(args, "receipt_key", None) or ""
    uvicorn.run("county_server.cmd_serve:worker_app", factory=True, workers=args.workers, **options)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter is not for the admin
    p = sub.add_parser("serve", help="启动县级服务器（HTTP JSON 接口，/api/v1）")
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；对外服务用 0.0.0.0）")
    p.add_argument("--port", type=int, default=8750, help="端口（默认 8750）")
    p.add_argument("--workers", type=int, default=int(os.environ.get("TAIZHANG_WORKERS") or 1),
                   help="工作进程数（默认 1，或环境变量 TAIZHANG_WORKERS）。PostgreSQL：取服务器的 CPU 核数（2–8）；SQLite：用 1。"
                        f"PostgreSQL 的 max_connections 至少为 进程数×{POOL_PER_WORKER + OVERFLOW_PER_WORKER}+20")
    p.add_argument("--ssl-certfile", help="HTTPS 证书文件（PEM）")
    p.add_argument("--ssl-keyfile", help="HTTPS 私钥文件（PEM）")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                   help="日志级别（默认 warning）")
    p.set_defaults(func=_serve)
