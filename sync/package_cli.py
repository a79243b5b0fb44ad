"""``taizhang export-package`` / ``import-package`` / ``import-receipt``: month-end data on a USB stick.

- Village PC, no network: ``taizhang export-package -o E:\\幸福村-2024-03.tzpkg`` writes every unsent
  change, signed with this PC's package signing key (made at sign-in, kept only in the OS keyring).
- Township collector's PC: ``taizhang import-package E:\\幸福村-2024-03.tzpkg`` checks the file, applies it
  locally for review (only its own villages), and, when signed in and online, uploads it to the county
  server and writes the signed receipt next to the package (``…-回执.tzrcpt``).
- Village PC again: ``taizhang import-receipt E:\\幸福村-2024-03-回执.tzrcpt`` — only now does the PC stop
  counting those changes as unsent (a rejected change stays, with the server's reason).
Also month-end from the command line: ``taizhang period status|check|submit [--period 2024-03]``.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

from storage import local
from storage import periods as P
from storage.cli import UserError, open_repository
from storage.orgcode import OrgCode
from sync import package as PK


def _session_info(repo) -> tuple[str | None, str | None, str | None]:
    return repo.get_setting("server_url"), repo.get_setting("user"), repo.get_setting("role")


def device_key(repo):
    """This PC's package signing key (Ed25519 private key), made at sign-in and kept only in the OS keyring."""
    from sync import credentials

    server, user, _role = _session_info(repo)
    if not server or not user:
        raise UserError("本机还没有登录过县级服务器，无法生成带签名的数据包。请先在有网络时登录一次（taizhang login）")
    again = f"taizhang login --server {server} --user {user}"
    if not credentials.keyring_is_secure():
        raise UserError(credentials.INSECURE_NOTICE + credentials.PACKAGES_NEED_KEYRING)
    token = credentials.load_token(server, user)
    if not token:
        raise UserError(f"本机没有保存登录凭据，请联网重新登录一次（{again}）后再导出数据包")
    text = credentials.load_package_key(server, user)
    if not text:
        raise UserError("本机是用旧版本台账程序登录的，还没有数据包签名密钥，导出的数据包县级服务器不会接受。"
                        f"请联网重新登录一次（{again}），之后再导出数据包；未上传的数据都保留在本机")
    try:
        return PK.private_key_from_text(text)
    except PK.PackageError as exc:
        raise UserError(f"{exc}（{again}）") from None


def receipt_key(repo):
    """The county server's receipt public key, from this PC's sign-in (a setting; not a secret)."""
    try:
        return PK.server_receipt_key(repo)
    except PK.PackageError as exc:
        raise UserError(str(exc)) from None


def _identity(repo):
    ident = local.identity(repo)
    if ident is None:
        raise UserError("本机还没有设置所属单位，请先打开桌面程序完成首次设置")
    if ident.demo:
        raise UserError("当前是演示数据，演示数据不能导出或同步")
    return ident


def _export(args) -> int:
    repo = open_repository()
    ident = _identity(repo)
    key = device_key(repo)
    try:
        county = PK.county_package_key(repo)
    except PK.PackageError as exc:
        raise UserError(str(exc)) from None
    data, pkg = PK.build_package(repo, key, org_code=ident.org_code, org_name=ident.org_name,
                                 user=repo.get_setting("user") or "", server_id=repo.get_setting("server_id"),
                                 recipient=county)
    if not pkg.changes:
        print("本机没有未上传的变更，不需要导出数据包")
        return 0
    out = Path(args.output)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)  # never a half-written package on the stick
    months = "、".join(P.period_label(p) for p in pkg.manifest["periods"]) or "无"
    print(f"已导出数据包 {out}：{len(pkg.changes)} 条变更（涉及月份：{months}；已加密，只有县级服务器能打开）")
    print("请把数据包交给乡镇收集员；拿回回执后运行 taizhang import-receipt 回执文件。在此之前这些变更仍算作未上传")
    return 0


def upload_package(server_url: str, token: str, data: bytes, *, ca_file: str | None = None) -> dict:
    """POST a package to the county server as this (township/county) account; the server's answer."""
    import requests

    from sync.protocol import API_PREFIX, request_headers

    try:
        r = requests.post(f"{server_url.rstrip('/')}{API_PREFIX}/packages", data=data, timeout=(10, 300),
                          headers={**request_headers(token), "Content-Type": "application/octet-stream"},
                          verify=ca_file or True)
    except requests.RequestException as exc:
        raise UserError(f"连不上县级服务器（{type(exc).__name__}）。数据包已在本机导入，联网后请再运行一次本命令上传"
                        "（重复导入不会重复写入）") from None
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code != 200:
        raise UserError(f"县级服务器拒绝了数据包：{body.get('message') or r.status_code}")
    return body


def _upload_as_this_pc(repo, data: bytes, password_source=None) -> dict:
    """Upload with the token in the OS keyring; without one, sign in with a password (as ``taizhang sync`` does)."""
    from sync import credentials

    server, user, _role = _session_info(repo)
    if not server or not user:
        raise UserError("本机还没有登录过县级服务器，数据包已在本机导入，但未上传。"
                        "请先登录（taizhang login），再运行一次本命令（重复导入不会重复写入）")
    token = credentials.load_token(server, user)
    if not token and password_source is not None:
        from sync.client import SyncClient, SyncError

        client = SyncClient(repo, server, user)
        try:
            client.login(password_source())
        except SyncError as exc:
            raise UserError(f"{exc}。数据包已在本机导入，但未上传") from None
        finally:
            client.transport.close()
        token = client.transport.token
    if not token:
        raise UserError("本机没有县级服务器的登录凭据，数据包已在本机导入，但未上传。请登录后再运行一次本命令")
    return upload_package(server, token, data, ca_file=repo.get_setting("sync.ca_file"))


def county_decrypt_key(repo):
    """The county's package key, if the county gave it to this (township) PC; None otherwise."""
    from sync import credentials

    server = repo.get_setting("server_url")
    text = credentials.load_county_package_key(server) if server else None
    return PK.x25519_private_from_text(text) if text else None


def _package_key(args) -> int:
    """Keep the county's package key (a file the county made with ``taizhang-server admin package-key``) in the keyring."""
    from sync import credentials

    repo = open_repository()
    server = repo.get_setting("server_url")
    if not server:
        raise UserError("本机还没有登录过县级服务器，请先登录（taizhang login）再导入解密密钥")
    path = Path(args.file)
    try:
        text = path.read_text(encoding="ascii")
        key = PK.x25519_private_from_text(text)
    except (OSError, UnicodeDecodeError):
        raise UserError(f"无法读取密钥文件“{path}”，请确认是县民政局给的 .pem 文件") from None
    except PK.PackageError as exc:
        raise UserError(str(exc)) from None
    expected = repo.get_setting(PK.S_COUNTY_KEY)
    if expected and PK.x25519_public_text(key) != expected:
        raise UserError("这个解密密钥与本机登录的县级服务器不符（不是本县服务器的密钥），未保存")
    if not credentials.store_county_package_key(server, PK.x25519_private_text(key)):
        raise UserError(credentials.INSECURE_NOTICE + "解密密钥只能保存在安全的系统密钥环中，未保存。")
    print("县里的数据包解密密钥已保存在本机的系统密钥环中：导入村里的数据包时可在本机审核。"
          f"请立即删除密钥文件 {path}（不要留在U盘或桌面上）")
    return 0


def _import(args) -> int:
    repo = open_repository()
    ident = _identity(repo)
    _server, _user, role = _session_info(repo)
    role = role or OrgCode(ident.org_code).level
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"无法读取数据包文件“{path}”：{exc.strerror or exc}") from None
    decrypt = county_decrypt_key(repo)
    if PK.is_sealed(data) and decrypt is None and not args.local_only:
        print("数据包已加密，本机没有县里发的解密密钥，不在本机导入，直接上传县级服务器")
    else:
        try:
            pkg = PK.read_package(data, decrypt)
            result = PK.import_locally(repo, pkg, role=role, actor_org=ident.org_code)
        except PK.PackageError as exc:
            raise UserError(str(exc)) from None
        print(f"本机已导入 {result.summary()}")
    if args.local_only:
        return 0
    from sync.cli import _read_password

    answer = _upload_as_this_pc(repo, data, lambda: _read_password(f"{repo.get_setting('user')} 的密码："))
    out = Path(args.receipt) if args.receipt else path.with_name(path.stem + "-回执.tzrcpt")
    out.write_bytes(base64.b64decode(answer["receipt"]))
    print(f"已上传县级服务器：{answer['summary']}")
    print(f"回执已写入 {out}，请带回该村，在村里的电脑上运行 taizhang import-receipt {out.name}")
    return 0


def _import_receipt(args) -> int:
    repo = open_repository()
    _identity(repo)
    path = Path(args.file)
    try:
        receipt = PK.read_receipt(path.read_bytes())
        marked = PK.apply_receipt(repo, receipt, receipt_key(repo))
    except OSError as exc:
        raise UserError(f"无法读取回执文件“{path}”：{exc.strerror or exc}") from None
    except PK.PackageError as exc:
        raise UserError(str(exc)) from None
    print(f"回执已读入：{receipt.summary()}。本机 {marked} 条变更已确认上传，尚未上传 {repo.unsent_count()} 条")
    for r in receipt.rejected[:20]:
        print(f"  被拒绝：{r['message']}")
    return 0


# --------------------------------------------------------------------------- month end from the command line


def _period_args(repo, args) -> tuple[str, str]:
    ident = _identity(repo)
    period = args.period or P.previous_period()
    try:
        P.month_bounds(period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return ident.org_code, period


def _period(args) -> int:
    repo = open_repository()
    org, period = _period_args(repo, args)
    if args.action == "status":
        st = P.get_state(repo, org, period)
        print(f"{P.period_label(period)}：{st.display_status}")
        if st.status == P.RETURNED:
            print("退回原因：" + P.display_reason(st.reason))
        for notice in P.returned_notices(repo, org):
            if notice.period != period:
                print(f"注意：{P.period_label(notice.period)}被退回，原因：{P.display_reason(notice.reason)}")
        return 0
    checklist = P.completeness(repo, org, period)
    for item in checklist.items:
        print(f"[{'√' if item.ok else '×'}] {item.label}：{item.detail}")
    if args.action == "check":
        return 0 if checklist.ok else 1
    try:
        st = P.submit(repo, org, period, actor_org=org)
    except P.PeriodError as exc:
        raise UserError(str(exc)) from None
    print(f"{P.period_label(period)}已提交（{st.status}），同步或导出数据包后乡镇即可审核")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-package", help="把本机未上传的变更导出为离线数据包（无网络时用U盘带给乡镇）")
    p.add_argument("-o", "--output", required=True, help="数据包文件名，如 幸福村-2024-03.tzpkg")
    p.set_defaults(func=_export)
    p = sub.add_parser("import-package", help="（乡镇/县）导入村里交来的离线数据包，并上传县级服务器、生成回执")
    p.add_argument("file", help="数据包文件（.tzpkg）")
    p.add_argument("-r", "--receipt", help="回执写到哪里（默认：数据包旁边的 “…-回执.tzrcpt”）")
    p.add_argument("--local-only", action="store_true", help="只导入本机审核，不上传服务器（没有网络时）")
    p.set_defaults(func=_import)
    p = sub.add_parser("package-key", help="（乡镇）保存县里发的数据包解密密钥（放在系统密钥环中），以便在本机审核村里的数据包")
    p.add_argument("file", help="县民政局用 taizhang-server admin package-key 导出的密钥文件（.pem）")
    p.set_defaults(func=_package_key)
    p = sub.add_parser("import-receipt", help="（村）读入乡镇带回的回执，确认哪些变更县级服务器已收到")
    p.add_argument("file", help="回执文件（.tzrcpt）")
    p.set_defaults(func=_import_receipt)
    p = sub.add_parser("period", help="月报：查看状态、检查是否齐全、提交")
    p.add_argument("action", choices=["status", "check", "submit"], help="status 查看状态；check 检查；submit 提交")
    p.add_argument("--period", help="月份，如 2024-03（默认上个月）")
    p.set_defaults(func=_period)
