"""``taizhang-server serve``: run the county server (uvicorn) on the selected database."""

from __future__ import annotations

import argparse
import gc
import logging

log = logging.getLogger("taizhang-server")


def _serve(args) -> int:
    import uvicorn

    from county_server import incarnation
    from county_server.app import create_app
    from county_server.models import create_server_tables
    from storage.cli import UserError
    from storage.db import open_server_database

    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise UserError("启用 HTTPS 需要同时指定 --ssl-certfile 和 --ssl-keyfile")
    from county_server.signing import SigningKeyError

    engine = open_server_database(args.db)
    create_server_tables(engine)
    incarnation.settle(engine)  # once, before any worker answers (each records its clean stop)
    try:
        app = create_app(engine, getattr(args, "receipt_key", None))
    except SigningKeyError as exc:
        raise UserError(str(exc)) from None
    # Everything loaded so far (FastAPI, SQLAlchemy, the schema) lives as long as the process:
    # keep it out of the cyclic collector's full passes, which a sync batch (tens of thousands
    # of short-lived containers) otherwise triggers every few batches (issue 4's push benchmark).
    gc.freeze()
    scheme = "https" if args.ssl_certfile else "http"
    print(f"县级服务器已启动：{scheme}://{args.host}:{args.port}/api/v1/ （数据库 {engine.url.render_as_string()}）",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile, timeout_keep_alive=30)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter is not for the admin
    p = sub.add_parser("serve", help="启动县级服务器（HTTP JSON 接口，/api/v1）")
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；对外服务用 0.0.0.0）")
    p.add_argument("--port", type=int, default=8750, help="端口（默认 8750）")
    p.add_argument("--ssl-certfile", help="HTTPS 证书文件（PEM）")
    p.add_argument("--ssl-keyfile", help="HTTPS 私钥文件（PEM）")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                   help="日志级别（默认 warning）")
    p.set_defaults(func=_serve)
