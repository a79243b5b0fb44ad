"""``taizhang login``, ``taizhang sync`` and ``taizhang conflicts`` (headless, no Qt)."""

from __future__ import annotations

import argparse
import getpass
import sys

from storage.cli import UserError


def _read_password(prompt: str = "密码：") -> str:
    if sys.stdin is None or not sys.stdin.isatty():
        line = sys.stdin.readline() if sys.stdin else ""
        if not line:
            raise UserError("需要密码：请从标准输入提供密码，或在终端中运行以便输入")
        return line.rstrip("\r\n")
    return getpass.getpass(prompt)


def _can_prompt() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _progress(stage: str, done: int, total: int) -> None:
    if total:
        print(f"\r{stage}：{done}/{total}", end="", file=sys.stderr, flush=True)
    else:
        print(f"\r{stage}：{done}", end="", file=sys.stderr, flush=True)


def _client(args, repo):
    from sync.client import SyncClient, SyncError

    try:
        return SyncClient(repo, getattr(args, "server", None), getattr(args, "user", None),
                          ca_file=getattr(args, "ca_file", None), timeout=args.timeout, retries=args.retries,
                          backoff=args.backoff, progress=_progress)
    except SyncError as exc:
        raise UserError(str(exc)) from None


def _read_new_password() -> str:
    """A new password: asked twice on a terminal, one more line of standard input otherwise."""
    new = _read_password("新密码（至少8个字符）：")
    if _can_prompt() and getpass.getpass("再输入一次新密码：") != new:
        raise UserError("两次输入的新密码不一致，密码没有修改")
    if len(new) < 8:
        raise UserError("新密码至少需要8个字符，密码没有修改")
    return new


def _sign_in(args, *, change: bool):
    """Sign in (``change``: and set a new password); a one-time password asks for the new one."""
    from storage.cli import open_repository
    from sync.client import PasswordChangeRequired, SyncError

    repo = open_repository()
    client = _client(args, repo)
    password = _read_password("当前密码：" if change else "密码：")
    try:
        try:
            return client, client.login(password, new_password=_read_new_password() if change else None)
        except PasswordChangeRequired as exc:
            print(str(exc), file=sys.stderr)
            return client, client.login(password, new_password=_read_new_password())
    except SyncError as exc:
        raise UserError(str(exc)) from None


def _passwd(args) -> int:
    from storage.cli import open_repository

    repo = open_repository()
    args.server = args.server or repo.get_setting("server_url")
    args.user = args.user or repo.get_setting("user")
    if not args.server or not args.user:
        raise UserError("本机还没有登录过县级服务器，请用 --server 和 --user 指定服务器和用户名")
    _sign_in(args, change=True)
    print(f"密码已修改：{args.user}。本机已用新密码重新登录。")
    return 0


def _login(args) -> int:
    from sync import credentials

    client, info = _sign_in(args, change=False)
    role = {"village": "村(社区)", "township": "乡镇/街道", "county": "县民政局", "admin": "管理员"}.get(info["role"])
    print(f"已登录 {client.server_url}：{info['user']}（{role}，{info['org_name']} {info['org_code']}）")
    if info["stored"]:
        print("登录凭据已安全保存在本机（系统的密码保管功能中），以后同步无需再输入密码。")
    else:
        print(credentials.INSECURE_NOTICE + credentials.PACKAGES_NEED_KEYRING)
    return 0


def _sync(args) -> int:
    from storage.cli import open_repository
    from sync import credentials
    from sync.client import LoginRequired, SyncError

    repo = open_repository()
    client = _client(args, repo)
    password = None
    if not credentials.load_token(client.server_url, client.user):
        if not credentials.keyring_is_secure():
            print(credentials.INSECURE_NOTICE, file=sys.stderr)
        password = _read_password(f"{client.user} 的密码：")
    try:
        try:
            report = client.sync(password=password)
        except LoginRequired as exc:
            if password is not None or not _can_prompt():
                raise UserError(f"{exc}。请重新登录：taizhang login --server {client.server_url} --user {client.user}")
            print(f"\n{exc}。请重新登录。", file=sys.stderr)
            client.login(_read_password(f"{client.user} 的密码："))
            report = client.sync()
    except SyncError as exc:
        print(file=sys.stderr)
        raise UserError(f"{exc}（未上传 {repo.unsent_count()} 条，都保留在本机）") from None
    print(file=sys.stderr)
    print("同步完成：" + report.summary())
    for message in report.messages:
        print("  " + message)
    return 0


def _conflicts(args) -> int:
    from storage.cli import open_repository
    from storage.conflicts import version_labels
    from sync.client import (SyncError, dismiss_rejection, open_conflicts, rejection_summary, rejections,
                             resolve_conflict)

    repo = open_repository()
    if args.dismiss:
        matches = [r for r in rejections(repo) if r["id"].startswith(args.dismiss)]
        if len(matches) != 1:
            raise UserError(f"没有唯一以“{args.dismiss}”开头的被拒绝修改，请用 taizhang conflicts 查看编号")
        dismiss_rejection(repo, matches[0]["id"])
        print(f"已标记为处理完毕：{matches[0]['label']}  {rejection_summary(matches[0])}")
        return 0
    if args.keep:
        if not args.id:
            raise UserError("请指定冲突编号：taizhang conflicts --keep server|local 编号")
        matches = [c for c in open_conflicts(repo) if c["id"].startswith(args.id)]
        if len(matches) != 1:
            raise UserError(f"没有唯一以“{args.id}”开头的未处理冲突，请用 taizhang conflicts 查看编号")
        try:
            resolve_conflict(repo, matches[0]["id"], args.keep)
        except SyncError as exc:
            raise UserError(str(exc)) from None
        print("已保留" + ("服务器的版本" if args.keep == "server" else "本机的版本（下次同步时上传）"))
        return 0
    conflicts = open_conflicts(repo)
    print(f"未处理的同步冲突：{len(conflicts)} 条")
    for c in conflicts:
        diff = [k for k in c["local"] if c["server"] is None or c["local"].get(k) != c["server"].get(k)]
        other, stored = version_labels(c.get("origin"))
        print(f"  {c['id'][:8]}  {c['label']}  {c['org_code']}  {other}与{stored}不同的字段：{'、'.join(diff) or '无'}")
    if any(c.get("origin") for c in conflicts):
        print("  （导入表格的冲突：--keep local 采用表格中的版本，--keep server 保留当前保存的版本）")
    rej = rejections(repo)
    if rej:
        print(f"被服务器拒绝的修改：{len(rej)} 条（内容已保留在本机，可在程序的“冲突与被拒绝的修改”中查看）")
        for r in rej[-20:]:
            print(f"  {r['id'][:8]}  {r['at'][:16].replace('T', ' ')}  {r['label']}  {r['org_code']}  "
                  f"{rejection_summary(r)}  {r['reason']}")
        if len(rej) > 20:
            print("  ……以上是最近的 20 条")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    def common(p):
        p.add_argument("--timeout", type=float, default=60.0, help="每个请求的超时秒数（默认 60）")
        p.add_argument("--retries", type=int, default=5, help="网络出错时的重试次数（默认 5，间隔逐次加倍）")
        p.add_argument("--backoff", type=float, default=1.0, help="第一次重试前等待的秒数（默认 1）")

    p = sub.add_parser("login", help="登录县级服务器（密码从标准输入读取或提示输入）")
    p.add_argument("--server", required=True, help="县级服务器地址，如 https://tz.example.gov.cn")
    p.add_argument("--user", required=True, help="用户名")
    p.add_argument("--ca-file", help="县民政局提供的证书文件（CA，PEM 格式），用于验证服务器")
    common(p)
    p.set_defaults(func=_login)
    p = sub.add_parser("passwd", help="修改自己在县级服务器上的密码（当前密码、新密码从标准输入读取或提示输入）")
    p.add_argument("--server", help="县级服务器地址（默认：本机登录过的服务器）")
    p.add_argument("--user", help="用户名（默认：本机登录的用户）")
    p.add_argument("--ca-file", help="县民政局提供的证书文件（CA，PEM 格式）")
    common(p)
    p.set_defaults(func=_passwd)
    p = sub.add_parser("sync", help="与县级服务器同步（上传本机修改、下载上级的修改、核对）")
    common(p)
    p.set_defaults(func=_sync)
    p = sub.add_parser("conflicts", help="查看同步冲突和被拒绝的修改；--keep 选择保留哪个版本")
    p.add_argument("id", nargs="?", help="冲突编号（前几位即可）")
    p.add_argument("--keep", choices=["server", "local"], help="保留服务器的版本（server）或本机的版本（local）")
    p.add_argument("--dismiss", metavar="编号", help="把一条被拒绝的修改标记为已处理（改正并重新录入之后），不再列出")
    p.set_defaults(func=_conflicts)
