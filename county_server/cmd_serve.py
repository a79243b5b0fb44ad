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
_ENV_DB, _ENV_KEY, _ENV_LOG = "TAIZHANG_SERVE_DB", "TAIZHANG_SERVE_RECEIPT_KEY", "TAIZHANG_SERVE_LOG_LEVEL"


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
    from county_server import serverlog
    from county_server.app import create_app

    serverlog.setup(os.environ.get(_ENV_LOG) or "warning", worker=True)
    app = create_app(_open(os.environ[_ENV_DB]), os.environ.get(_ENV_KEY) or None)
    gc.freeze()  # see _serve
    return app


def check_port(host: str, port: int) -> None:
    """Refuse, in Chinese, a port this host cannot listen on (in use, privileged, a foreign address).

    Binds a socket the way uvicorn will (SO_REUSEADDR) and closes it again, before anything is opened."""
    import errno
    import socket

    from storage.cli import UserError

    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror:
        raise UserError(f"无法识别监听地址“{host}”。请检查 --host（本机使用 127.0.0.1，对外服务用 0.0.0.0）") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"端口 {port} 已被占用，服务器没有启动：可能县级服务器已在运行（systemctl status "
                                f"taizhang-server 查看），或另一个程序在用这个端口。请先停止它，或用 --port 换一个端口"
                                f"（如 --port {port + 1 if port < 65535 else 8750}）") from None
            if exc.errno == errno.EACCES:
                raise UserError(f"没有权限使用端口 {port}，服务器没有启动：1024 以下的端口需要 root 权限。"
                                "请用 1024 以上的端口（默认 8750），对外的 443 端口由 nginx 提供") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UserError(f"本机没有地址 {host}，服务器没有启动。请检查 --host（本机使用 127.0.0.1，"
                                "对外服务用 0.0.0.0）") from None
            raise UserError(f"无法在 {host}:{port} 上监听，服务器没有启动：{exc.strerror or exc}") from None


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
    check_port(args.host, args.port)
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
    # uvicorn's records go to the handlers county_server.serverlog set up (log_config=None): the file
    # keeps its INFO lines, the terminal shows them in Chinese at --log-level info; one line per
    # request only then (it costs time under load)
    options = dict(host=args.host, port=args.port, log_config=None,
                   log_level="debug" if args.log_level == "debug" else "info", access_log=args.log_level in ("debug", "info"),
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
    os.environ[_ENV_LOG] = args.log_level
    uvicorn.run("county_server.cmd_serve:worker_app", factory=True, workers=args.workers, **options)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="启动县级服务器（HTTP JSON 接口，/api/v1）")
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；对外服务用 0.0.0.0）")
    p.add_argument("--port", type=int, default=8750, help="端口（默认 8750）")
    p.add_argument("--workers", type=int, default=int(os.environ.get("TAIZHANG_WORKERS") or 1),
                   help="工作进程数（默认 1，或环境变量 TAIZHANG_WORKERS）。PostgreSQL：取服务器的 CPU 核数（2–8）；SQLite：用 1。"
                        f"PostgreSQL 的 max_connections 至少为 进程数×{POOL_PER_WORKER + OVERFLOW_PER_WORKER}+20")
    p.add_argument("--ssl-certfile", help="HTTPS 证书文件（PEM）")
    p.add_argument("--ssl-keyfile", help="HTTPS 私钥文件（PEM）")
    from county_server.serverlog import LEVELS

    p.add_argument("--log-level", default="warning", choices=list(LEVELS),
                   help="终端显示的日志级别（默认 warning；info 还显示每个请求）。完整日志总在数据目录的 logs/county-server.log")
    p.set_defaults(func=_serve)
