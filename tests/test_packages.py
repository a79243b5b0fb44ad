"""sync.package at the function level: format, integrity, authentication, receipts, local import on a township PC."""

from __future__ import annotations


import pytest

from storage.db import open_database
from storage.repository import Repository
from sync import package as PK
from tests.test_periods import MONTH, TOWNSHIP, VILLAGE, fill_month

KEY = PK.new_signing_key()  # the village PC's signing key (made at its sign-in)
OTHER_KEY = PK.new_signing_key()  # another PC's
SERVER_KEY = PK.new_signing_key()  # the county server's receipt key


def test_package_round_trip_and_integrity(repo, village):
    fill_month(repo)
    pending = repo.unsent_count()
    data, pkg = PK.build_package(repo, KEY, org_code=VILLAGE, org_name="测试村", user="李会计")
    assert repo.unsent_count() == pending  # exporting marks nothing as sent
    read = PK.read_package(data)
    assert read.verify(KEY.public_key()) and not read.verify(OTHER_KEY.public_key())
    assert read.verify(PK.public_key_text(KEY))  # as the server keeps it
    assert read.key_id == PK.key_id(KEY) and read.manifest["version"] == 2
    assert read.manifest["count"] == pending == len(read.changes)
    assert read.manifest["periods"] == [MONTH]
    assert [c.change_id for c in read.changes] == [c.change_id for _s, c in repo.pending_changes(limit=10_000)]
    assert "测试村（220102001001）" in read.describe()

    # every single flipped byte is caught (gzip CRC, the SHA-256, or the magic line)
    for pos in (2, len(PK.MAGIC) + 20, len(data) // 2, len(data) - 3):
        damaged = bytearray(data)
        damaged[pos] ^= 0x01
        with pytest.raises(PK.PackageError):
            PK.read_package(bytes(damaged))
    with pytest.raises(PK.PackageError, match="已损坏"):
        PK.read_package(data[:-10])
    with pytest.raises(PK.PackageError, match="不是社区服务台账"):
        PK.read_package(b"PK\x03\x04 an xlsx file")


def test_edited_package_with_recomputed_checksum_fails_authentication(repo, village):
    """Someone who edits the JSON and fixes the SHA-256 still cannot make the signature right."""
    import gzip
    import hashlib
    import json

    fill_month(repo)
    data, _ = PK.build_package(repo, KEY, org_code=VILLAGE)
    doc = json.loads(gzip.decompress(data[len(PK.MAGIC):]))
    svc = next(c for c in doc["changes"] if c["record_type"] == "service")
    svc["payload"]["persons"] = 999
    body = PK._canonical({"manifest": doc["manifest"], "changes": doc["changes"]})
    doc["sha256"] = hashlib.sha256(body).hexdigest()
    forged = PK.MAGIC + gzip.compress(PK._canonical(doc))
    pkg = PK.read_package(forged)  # integrity holds: the forger fixed the checksum
    assert not pkg.verify(KEY.public_key())  # but the device's signature does not


def test_receipt_marks_only_held_changes_and_must_be_signed(repo, village):
    fill_month(repo)
    _, pkg = PK.build_package(repo, KEY, org_code=VILLAGE)
    ids = [c.change_id for c in pkg.changes]
    receipt = PK.Receipt(pkg.package_id, VILLAGE, repo.device_id, held=ids[:-1],
                         rejected=[{"change_id": ids[-1], "message": "2024年3月的台账已由县民政局接收并锁定"}],
                         conflicts=[], at="2024-04-02T00:00:00+00:00", by="东镇收集员")
    # signed by anyone but the county server's key: the village's own key, another key
    for wrong in (KEY, OTHER_KEY):
        forged = PK.read_receipt(PK.Receipt(**{**receipt.__dict__}).sign(wrong).to_bytes())
        with pytest.raises(PK.PackageError, match="签名不对"):
            PK.apply_receipt(repo, forged, SERVER_KEY.public_key())
    assert repo.unsent_count() == len(ids)
    good = PK.read_receipt(receipt.sign(SERVER_KEY).to_bytes())
    assert "已收到 %d 条" % (len(ids) - 1) in good.summary() and "锁定" in good.summary()
    # a receipt edited after signing (one more change claimed as held) fails too
    edited = PK.Receipt(**{**good.__dict__, "held": ids})
    with pytest.raises(PK.PackageError, match="签名不对"):
        PK.apply_receipt(repo, edited, SERVER_KEY.public_key())
    assert PK.apply_receipt(repo, good, SERVER_KEY.public_key()) == len(ids) - 1
    assert repo.unsent_count() == 1
    assert PK.apply_receipt(repo, good, PK.public_key_text(SERVER_KEY)) == 0  # read twice: nothing changes
    other_device = PK.Receipt(**{**receipt.__dict__, "device_id": "someone-else"}).sign(SERVER_KEY)
    with pytest.raises(PK.PackageError, match="不是给本机的"):
        PK.apply_receipt(repo, other_device, SERVER_KEY.public_key())
    damaged = bytearray(good.to_bytes())
    damaged[-5] ^= 0xFF
    with pytest.raises(PK.PackageError, match="回执文件已损坏"):
        PK.read_receipt(bytes(damaged))


def test_township_pc_imports_its_villages_packages_once(repo, village, tmp_path):
    fill_month(repo)
    data, _ = PK.build_package(repo, KEY, org_code=VILLAGE)
    path = tmp_path / "村.tzpkg"
    path.write_bytes(data)
    town = Repository(open_database(tmp_path / "town.sqlite3"), actor="东镇收集员",
                      device_id="00000000-0000-4000-8000-0000000000aa")
    pkg = PK.read_package_file(path)
    with pytest.raises(PK.PackageError, match="不在本机单位（220102002000）的管辖范围内"):
        PK.import_locally(town, pkg, role="township", actor_org="220102002000")
    with pytest.raises(PK.PackageError, match="管辖范围"):
        PK.import_locally(town, pkg, role="village", actor_org="220102001002")
    first = PK.import_locally(town, pkg, role="township", actor_org=TOWNSHIP)
    # the org units in the village's outbox are the county's to maintain: not imported, as online
    org_changes = sum(c.record_type == "org_unit" for c in pkg.changes)
    assert org_changes == 3
    assert first.applied == len(pkg.changes) - org_changes and first.duplicate == 0
    assert first.rejected == ["组织机构由县民政局统一维护，村里的修改不导入"] * org_changes
    assert town.count("service", org_code=VILLAGE) == 3
    assert town.unsent_count() == 0  # the township PC does not push the village's changes as its own
    again = PK.import_locally(town, pkg, role="township", actor_org=TOWNSHIP)
    assert again.applied == 0 and again.duplicate == len(pkg.changes) - org_changes
    assert town.count("service", org_code=VILLAGE) == 3
    assert "已有 %d 条" % (len(pkg.changes) - org_changes) in again.summary()
    town.engine.dispose()


def _legacy_hmac_file(magic: bytes, doc: dict, key: bytes, body: bytes, field: str = "hmac") -> bytes:
    """A format-1 file as the previous release wrote it: HMAC-SHA256 keyed with the SHA-256 of the token."""
    import gzip
    import hashlib
    import hmac

    doc[field] = hmac.new(key, body, hashlib.sha256).hexdigest()
    return magic + gzip.compress(PK._canonical(doc))


def test_format_1_packages_and_receipts_are_refused_with_a_precise_message(repo, village):
    """Format 1 was signed with what the server database holds: refused, saying what to do."""
    import gzip
    import hashlib
    import json

    fill_month(repo)
    token_hash = hashlib.sha256(b"village-device-token").digest()
    _, pkg = PK.build_package(repo, KEY, org_code=VILLAGE)
    manifest = {**pkg.manifest, "version": 1}
    manifest.pop("signature"), manifest.pop("key_id")
    wire = [c.to_dict() for c in pkg.changes]
    body = PK._canonical({"manifest": manifest, "changes": wire})
    old = _legacy_hmac_file(PK.MAGIC, {"manifest": manifest, "changes": wire,
                                       "sha256": hashlib.sha256(body).hexdigest()}, token_hash, body)
    with pytest.raises(PK.PackageError, match="旧版本台账程序导出的（格式版本1.*重新登录.*重新导出"):
        PK.read_package(old)
    # a future format: upgrade this program
    newer = {**pkg.manifest, "version": 3}
    body3 = PK._canonical({"manifest": newer, "changes": wire})
    doc3 = {"manifest": newer, "changes": wire, "sha256": hashlib.sha256(body3).hexdigest(), "signature": "x"}
    with pytest.raises(PK.PackageError, match="格式版本3不受支持.*升级到最新版本"):
        PK.read_package(PK.MAGIC + gzip.compress(PK._canonical(doc3)))

    receipt = PK.Receipt(pkg.package_id, VILLAGE, repo.device_id, [c.change_id for c in pkg.changes], [], [],
                         "2024-04-02T00:00:00+00:00", "县级服务器")
    body = receipt.body().replace(b'"version":2', b'"version":1')
    old_receipt = _legacy_hmac_file(PK.RECEIPT_MAGIC, json.loads(body), token_hash, body)
    with pytest.raises(PK.PackageError, match="旧版本县级服务器开具的（格式版本1"):
        PK.read_receipt(old_receipt)
    assert repo.unsent_count() == len(pkg.changes)


def test_receipt_needs_the_server_key_from_sign_in(repo, village):
    """Before a sign-in with this release the PC has no server key: it says to sign in again."""
    repo.set_setting("server_url", "https://tz.example.gov.cn")
    repo.set_setting("user", "cun")
    with pytest.raises(PK.PackageError, match="旧版本程序登录的.*taizhang login --server https://tz.example.gov.cn "
                                              "--user cun"):
        PK.server_receipt_key(repo)
    repo.set_setting(PK.S_RECEIPT_KEY, PK.public_key_text(SERVER_KEY))
    assert PK.public_key_text(PK.server_receipt_key(repo)) == PK.public_key_text(SERVER_KEY)
