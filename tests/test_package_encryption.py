"""Offline packages are encrypted to the county server's key: a lost USB stick discloses nothing, the
county imports the package, a tampered or foreign package is refused."""

from __future__ import annotations

import gzip
import zlib

import pytest

from county_server.cmd_packages import import_package
from county_server.signing import encryption_key
from sync import package as PK
from tests.test_exchange_util import valid_id
from tests.test_packages_server import server, village_pc  # noqa: F401 - the county fixture
from tests.test_periods import VILLAGE, fill_month

ID, PHONE = valid_id(42), "13800134242"


def _secrets_in_any_stream(data: bytes) -> bool:
    """Look for the ID number in the bytes and in whatever gzip/zlib/deflate stream starts anywhere in them."""
    if ID.encode() in data or PHONE.encode() in data:
        return True
    for start in range(len(data)):
        for wbits in (-15, 15, 31):
            try:
                out = zlib.decompressobj(wbits).decompress(data[start:], 10_000_000)
            except zlib.error:
                continue
            if ID.encode() in out or PHONE.encode() in out:
                return True
    return False


def _village_with_people(tmp_path, server):  # noqa: F811
    repo, key = village_pc(tmp_path, "cun", VILLAGE, server)
    fill_month(repo, services=2)
    repo.create("staff", {"org_code": VILLAGE, "name": "李四", "id_number": ID, "phone": PHONE,
                          "roles": ["网格员"], "status": "在岗"})
    return repo, key


def test_a_sealed_package_holds_no_id_number_raw_or_decompressed(server, tmp_path):  # noqa: F811
    repo, key = _village_with_people(tmp_path, server)
    plain, _ = PK.build_package(repo, key, org_code=VILLAGE)
    assert _secrets_in_any_stream(plain)  # the signed container alone: gzip'd JSON, readable by anyone
    assert ID.encode() in gzip.decompress(plain[len(PK.MAGIC):])
    sealed, _ = PK.build_package(repo, key, org_code=VILLAGE, recipient=PK.x25519_public_text(encryption_key(server)))
    assert sealed.startswith(PK.SEALED_MAGIC)
    assert not _secrets_in_any_stream(sealed)
    assert b"220102001001" not in sealed  # not even the village's code is in the clear
    with pytest.raises(PK.PackageError, match="已加密"):
        PK.read_package(sealed)
    repo.engine.dispose()


def test_the_county_server_imports_a_sealed_package(server, tmp_path):  # noqa: F811
    repo, key = _village_with_people(tmp_path, server)
    data, pkg = PK.build_package(repo, key, org_code=VILLAGE, recipient=PK.x25519_public_text(encryption_key(server)))
    result = import_package(server, data)
    assert result.applied == len(pkg.changes)
    assert ID in [s["id_number"] for s in server.repo.list("staff", org_code=VILLAGE)]
    repo.engine.dispose()


def test_tampered_foreign_and_forged_sealed_packages_are_refused(server, tmp_path):  # noqa: F811
    repo, key = _village_with_people(tmp_path, server)
    county = PK.x25519_public_text(encryption_key(server))
    data, _ = PK.build_package(repo, key, org_code=VILLAGE, recipient=county)
    header_end = data.index(b"\n", len(PK.SEALED_MAGIC))
    for where in (len(data) - 5, header_end + 20, header_end - 3):  # ciphertext, its start, the header
        damaged = bytearray(data)
        damaged[where] ^= 0x01
        with pytest.raises(PK.PackageError, match="已损坏|改动|另一个县级服务器"):
            import_package(server, bytes(damaged))
    # sealed to another county's server
    foreign, _ = PK.build_package(repo, key, org_code=VILLAGE,
                                  recipient=PK.x25519_public_text(PK.new_encryption_key()))
    with pytest.raises(PK.PackageError, match="另一个县级服务器"):
        import_package(server, foreign)
    # sealed to this county, but signed by a key the server does not know for this device
    forged, _ = PK.build_package(repo, PK.new_signing_key(), org_code=VILLAGE, recipient=county)
    with pytest.raises(PK.PackageError, match="签名不对"):
        import_package(server, forged)
    assert ID not in [s["id_number"] for s in server.repo.list("staff", org_code=VILLAGE)]
    repo.engine.dispose()
