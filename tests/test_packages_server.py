"""Packages on the county server (real database, SYNC's push path, no HTTP): signature, scope, locks, replays."""

from __future__ import annotations

import datetime as dt

import pytest

from county_server import auth
from county_server.cmd_packages import import_package, server_state
from storage import periods as P
from storage.db import open_database, open_server_database
from storage.repository import Repository, WriteOp
from sync import package as PK
from tests.test_periods import COUNTY, MONTH, TOWNSHIP, VILLAGE, fill_month

OTHER_VILLAGE = "220102001002"
FOREIGN_TOWNSHIP = "220102002000"


@pytest.fixture
def server(tmp_path):
    engine = open_server_database(f"sqlite:///{tmp_path / 'county.sqlite3'}")
    state = server_state(engine)
    ops = [WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "测试县", "level": "县"}),
           WriteOp("org_unit", "insert", {"org_code": TOWNSHIP, "name": "测试镇", "level": "乡镇/街道",
                                          "parent_code": COUNTY}),
           WriteOp("org_unit", "insert", {"org_code": FOREIGN_TOWNSHIP, "name": "西镇", "level": "乡镇/街道",
                                          "parent_code": COUNTY})]
    for code, name in ((VILLAGE, "测试村"), (OTHER_VILLAGE, "邻村")):
        ops.append(WriteOp("org_unit", "insert", {"org_code": code, "name": name, "level": "村/社区",
                                                  "parent_code": TOWNSHIP, "urban_rural": "农村社区"}))
    state.repo.bulk_write(ops)
    for name, role, org in (("cun", "village", VILLAGE), ("lincun", "village", OTHER_VILLAGE),
                            ("zhen", "township", TOWNSHIP), ("xizhen", "township", FOREIGN_TOWNSHIP),
                            ("xian", "county", COUNTY)):
        auth.add_account(engine, name, "mima-123456", role, org)
    yield state
    engine.dispose()


def village_pc(tmp_path, name, org, server_state_):
    """A village PC signed in to the server (as ``SyncClient.login`` does): its repository and its signing key."""
    from county_server.signing import server_key
    from storage import local

    repo = Repository(open_database(tmp_path / f"{name}.sqlite3"), actor=f"{name}会计")
    repo.device_id = local.device_id(repo)
    key = PK.new_signing_key()
    auth.login(server_state_.engine, name, "mima-123456", repo.device_id, f"{name}的电脑", PK.public_key_text(key))
    repo.set_setting(PK.S_RECEIPT_KEY, PK.public_key_text(server_key(server_state_)))
    return repo, key


def receipt_key(repo):
    return PK.server_receipt_key(repo)


def test_server_import_applies_once_and_receipt_clears_outbox(server, tmp_path):
    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo, services=4)
    data, pkg = PK.build_package(repo, key, org_code=VILLAGE, org_name="测试村")
    zhen = auth.authenticate(server.engine, auth.login(server.engine, "zhen", "mima-123456", "t-pc", "镇")[0])
    first = import_package(server, data, via=zhen)
    assert not first.replayed and first.applied == len(pkg.changes)
    assert server.repo.count("service", org_code=VILLAGE) == 4
    again = import_package(server, data, via=zhen)
    assert again.replayed and "以前已导入过" in again.summary()
    assert server.repo.count("service", org_code=VILLAGE) == 4
    assert sorted(again.receipt.held) == sorted(c.change_id for c in pkg.changes)
    # the village reads the receipt: nothing unsent any more
    assert repo.unsent_count() == len(pkg.changes)
    PK.apply_receipt(repo, PK.read_receipt(first.receipt.to_bytes()), receipt_key(repo))
    assert repo.unsent_count() == 0
    # a township from elsewhere may not bring this village's package
    xizhen = auth.authenticate(server.engine, auth.login(server.engine, "xizhen", "mima-123456", "x-pc", "西")[0])
    with pytest.raises(PK.PackageError, match="不在账号“xizhen”（220102002000）的管辖范围内"):
        import_package(server, data, via=xizhen)
    repo.engine.dispose()


def test_flipped_byte_and_another_villages_device_are_refused(server, tmp_path):
    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo)
    data, pkg = PK.build_package(repo, key, org_code=VILLAGE)
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0x20
    with pytest.raises(PK.PackageError, match="已损坏|校验"):
        import_package(server, bytes(damaged))
    assert server.repo.count("service", org_code=VILLAGE) == 0

    # the neighbouring village's PC (signed in as 邻村) packs records claiming to be 测试村
    other, other_key = village_pc(tmp_path, "lincun", OTHER_VILLAGE, server)
    fill_month(other, org=VILLAGE, services=2)
    forged, _ = PK.build_package(other, other_key, org_code=VILLAGE, org_name="测试村")
    with pytest.raises(PK.PackageError, match="导出它的电脑登录的是220102001002"):
        import_package(server, forged)
    # ... or names 测试村's device id but cannot sign with its key
    other.device_id = repo.device_id
    forged2, _ = PK.build_package(other, other_key, org_code=VILLAGE)
    with pytest.raises(PK.PackageError, match="签名不对"):
        import_package(server, forged2)
    assert server.repo.count("service", org_code=VILLAGE) == 0
    # and a revoked device's package is refused
    dev = next(d for d in auth.list_devices(server.engine) if d["client_device_id"] == repo.device_id)
    auth.revoke_device(server.engine, dev["id"])
    with pytest.raises(PK.PackageError, match="撤销"):
        import_package(server, data)
    repo.engine.dispose(), other.engine.dispose()


def test_package_into_locked_month_is_refused_with_reason(server, tmp_path):
    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo)
    P.submit(repo, VILLAGE, MONTH)
    data, pkg = PK.build_package(repo, key, org_code=VILLAGE)
    first = import_package(server, data)
    PK.apply_receipt(repo, first.receipt, receipt_key(repo))
    # the township approves and the county accepts on the server
    P.approve(server.repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    P.accept(server.repo, VILLAGE, MONTH, actor_org=COUNTY)
    # the village PC has not heard yet and records one more March service, plus an April one
    repo.create("service", {"org_code": VILLAGE, "date": dt.date(2024, 3, 28), "category": "助残", "mode": "上门",
                            "target": "残疾人", "persons": 1})
    repo.create("service", {"org_code": VILLAGE, "date": dt.date(2024, 4, 2), "category": "养老", "mode": "上门",
                            "target": "老年人", "persons": 2})
    data2, pkg2 = PK.build_package(repo, key, org_code=VILLAGE)
    result = import_package(server, data2)
    assert len(result.receipt.rejected) == 1 and result.applied == 1
    assert "2024年3月的台账已由县民政局接收并锁定" in result.receipt.rejected[0]["message"]
    assert "锁定" in result.receipt.summary()
    assert server.repo.count("service", org_code=VILLAGE) == 4  # 3 March + the April one
    PK.apply_receipt(repo, result.receipt, receipt_key(repo))
    assert repo.unsent_count() == 1  # the refused change stays visible as not accepted by the server
    repo.engine.dispose()


def test_village_cannot_approve_through_a_package(server, tmp_path):
    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo)
    P.submit(repo, VILLAGE, MONTH)
    # a village PC that writes 乡镇已审核 itself (bypassing the app's checks)
    repo.update("period", P.period_id(VILLAGE, MONTH), {"status": P.APPROVED})
    data, _ = PK.build_package(repo, key, org_code=VILLAGE)
    result = import_package(server, data)
    assert any("村(社区)账号不能审核通过填报期" in r["message"] for r in result.receipt.rejected)
    assert P.get_state(server.repo, VILLAGE, MONTH).status == P.SUBMITTED
    repo.engine.dispose()


def _db_dump(engine) -> str:
    """Everything the server database holds, as text: what a backup or a DBA sees."""
    from sqlalchemy import inspect, select, table

    out = []
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            cols = [c["name"] for c in inspect(conn).get_columns(name)]
            from sqlalchemy import column
            for row in conn.execute(select(*[column(c) for c in cols]).select_from(table(name))):
                out.append(f"{name}: {tuple(row)}")
    return "\n".join(out)


def test_package_forged_from_the_server_database_is_refused(server, tmp_path):
    """Someone with a copy of the server database (token hashes, public keys, device ids) cannot forge a package."""
    import base64
    import gzip
    import hashlib
    import hmac

    from county_server.models import Device
    from county_server.signing import key_path, server_key
    from sqlalchemy import select

    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo, services=2)
    with server.engine.connect() as conn:
        dev = conn.execute(select(Device.__table__).where(Device.__table__.c.client_device_id == repo.device_id)
                           ).mappings().one()
    # the database holds the public key and the token's hash, never a private key
    dump = _db_dump(server.engine)
    assert dev["package_public_key"] == PK.public_key_text(key)
    for secret in (PK.private_key_text(key), PK.private_key_text(server_key(server)),
                   key_path(None).read_text()):
        assert secret not in dump
    assert PK.public_key_text(server_key(server)) not in dump  # the receipt key is a file, not a row
    assert key_path(None).stat().st_mode & 0o777 == 0o600

    _, genuine = PK.build_package(repo, key, org_code=VILLAGE, org_name="测试村")
    # 1. format 1, HMAC keyed with the stored token hash (what the previous release accepted)
    manifest = {k: v for k, v in genuine.manifest.items() if k not in ("signature", "key_id")}
    manifest["version"] = 1
    wire = [c.to_dict() for c in genuine.changes]
    body = PK._canonical({"manifest": manifest, "changes": wire})
    old = PK.MAGIC + gzip.compress(PK._canonical({
        "manifest": manifest, "changes": wire, "sha256": hashlib.sha256(body).hexdigest(),
        "hmac": hmac.new(bytes.fromhex(dev["token_hash"]), body, hashlib.sha256).hexdigest()}))
    with pytest.raises(PK.PackageError, match="格式版本1"):
        import_package(server, old)
    # 2. format 2, naming the device and its key id, signed with keys made from what the database holds
    for material in (bytes.fromhex(dev["token_hash"]), base64.b64decode(dev["package_public_key"]),
                     hashlib.sha256(dev["id"].encode()).digest()):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        fake = Ed25519PrivateKey.from_private_bytes(material[:32])
        data, pkg = PK.build_package(repo, fake, org_code=VILLAGE, org_name="测试村")
        doc = json_doc(data)
        doc["manifest"]["key_id"] = PK.key_id(dev["package_public_key"])
        forged_body = PK._canonical({"manifest": doc["manifest"], "changes": doc["changes"]})
        doc["sha256"] = hashlib.sha256(forged_body).hexdigest()
        doc["signature"] = PK._sign(fake, forged_body)
        with pytest.raises(PK.PackageError, match="签名不对"):
            import_package(server, PK.MAGIC + gzip.compress(PK._canonical(doc)))
    # 3. the genuine package's signature moved onto edited content
    data, _ = PK.build_package(repo, key, org_code=VILLAGE)
    doc = json_doc(data)
    svc = next(c for c in doc["changes"] if c["record_type"] == "service")
    svc["payload"]["persons"] = 999
    doc["sha256"] = hashlib.sha256(PK._canonical({"manifest": doc["manifest"], "changes": doc["changes"]})).hexdigest()
    with pytest.raises(PK.PackageError, match="签名不对"):
        import_package(server, PK.MAGIC + gzip.compress(PK._canonical(doc)))
    assert server.repo.count("service", org_code=VILLAGE) == 0
    # the genuine package goes in
    assert import_package(server, data).applied == len(genuine.changes)
    assert server.repo.count("service", org_code=VILLAGE) == 2
    repo.engine.dispose()


def json_doc(data: bytes) -> dict:
    import gzip
    import json

    return json.loads(gzip.decompress(data[len(PK.MAGIC):]))


def test_receipt_from_a_copy_of_the_database_is_refused_by_the_village(server, tmp_path):
    """A server started on a copy of the database but without the key file signs receipts no village accepts."""
    import sqlite3

    from county_server.cmd_packages import server_state as make_state

    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo)
    data, pkg = PK.build_package(repo, key, org_code=VILLAGE)
    copy = tmp_path / "copy.sqlite3"
    with sqlite3.connect(server.engine.url.database) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # a consistent copy, as a backup would be
    thief_engine = open_server_database(f"sqlite:///{copy}")
    thief = make_state(thief_engine, tmp_path / "thief" / "key.pem")
    forged = import_package(thief, data)  # the package itself is genuine; the receipt key is not the county's
    with pytest.raises(PK.PackageError, match="签名不对"):
        PK.apply_receipt(repo, PK.read_receipt(forged.receipt.to_bytes()), receipt_key(repo))
    assert repo.unsent_count() == len(pkg.changes)
    real = import_package(server, data)
    assert PK.apply_receipt(repo, PK.read_receipt(real.receipt.to_bytes()), receipt_key(repo)) == len(pkg.changes)
    thief_engine.dispose(), repo.engine.dispose()


def test_device_signed_in_with_an_old_program_gets_a_precise_refusal(server, tmp_path):
    """A device whose sign-in carried no public key (older program): its packages cannot be checked."""
    from storage import local

    repo = Repository(open_database(tmp_path / "old.sqlite3"), actor="会计")
    repo.device_id = local.device_id(repo)
    auth.login(server.engine, "cun", "mima-123456", repo.device_id, "旧电脑")  # no package_public_key
    fill_month(repo)
    data, _ = PK.build_package(repo, PK.new_signing_key(), org_code=VILLAGE)
    with pytest.raises(PK.PackageError, match="旧版本程序登录的.*重新登录一次（taizhang login）"):
        import_package(server, data)
    with pytest.raises(auth.AuthError, match="签名公钥格式不正确"):
        auth.login(server.engine, "cun", "mima-123456", repo.device_id, "电脑", "not-a-key")
    repo.engine.dispose()


def test_receipt_key_file_made_once_private_and_configurable(tmp_path, monkeypatch):
    import os
    import threading

    from county_server import signing

    path = tmp_path / "keys" / "receipt.pem"
    keys = []
    threads = [threading.Thread(target=lambda: keys.append(PK.public_key_text(signing.load_or_create(path))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and path.stat().st_mode & 0o777 == 0o600  # one key, only the owner reads it
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temporary file left
    assert PK.public_key_text(signing.load_or_create(path)) == keys[0]  # a restart keeps it
    os.chmod(path, 0o644)
    signing.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600  # tightened
    # where it lives: --receipt-key, else TAIZHANG_RECEIPT_KEY, else the data directory
    monkeypatch.setenv(signing.ENV, str(tmp_path / "env.pem"))
    assert signing.key_path(path) == path and signing.key_path() == tmp_path / "env.pem"
    monkeypatch.delenv(signing.ENV)
    from storage.db import data_dir

    assert signing.key_path() == data_dir() / "receipt-signing-key.pem"
    path.write_text("not a key")
    with pytest.raises(signing.SigningKeyError, match="已损坏.*从备份恢复"):
        signing.load_or_create(path)


def test_server_command_signs_with_the_configured_key_file(server, tmp_path, capsys):
    """``taizhang-server --receipt-key FILE import-package``: the receipt verifies with that file's key only."""
    from county_server import signing
    from county_server.cli import main

    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo)
    data, pkg = PK.build_package(repo, key, org_code=VILLAGE)
    (tmp_path / "p.tzpkg").write_bytes(data)
    other = tmp_path / "county-key.pem"
    url = f"sqlite:///{server.engine.url.database}"
    assert main(["--db", url, "--receipt-key", str(other), "import-package", str(tmp_path / "p.tzpkg")]) == 0
    receipt = PK.read_receipt((tmp_path / "p-回执.tzrcpt").read_bytes())
    assert receipt.verify(signing.load_or_create(other).public_key())
    with pytest.raises(PK.PackageError, match="签名不对"):  # the PC signed in when the server had its default key
        PK.apply_receipt(repo, receipt, receipt_key(repo))
    repo.engine.dispose()


def test_old_server_database_gets_the_public_key_column(tmp_path):
    """A server database from the previous release (server_device without package_public_key) is upgraded."""
    from sqlalchemy import create_engine, inspect, text

    from county_server.models import create_server_tables

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE server_device (id VARCHAR(36) PRIMARY KEY, account_id INTEGER NOT NULL, "
                          "client_device_id VARCHAR(36) NOT NULL, device_name VARCHAR(200) NOT NULL, "
                          "token_hash VARCHAR(64) NOT NULL UNIQUE, created_at VARCHAR NOT NULL, "
                          "expires_at VARCHAR NOT NULL, last_seen VARCHAR, revoked_at VARCHAR)"))
        conn.execute(text("INSERT INTO server_device VALUES ('d1', 1, 'pc', '旧电脑', 'h', '2026-01-01', "
                          "'2026-06-01', NULL, NULL)"))
    create_server_tables(engine)
    create_server_tables(engine)  # idempotent
    assert "package_public_key" in {c["name"] for c in inspect(engine).get_columns("server_device")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT device_name, package_public_key FROM server_device")).one() == ("旧电脑", None)
    engine.dispose()
