"""This PC's identity and local state, kept in the ``setting`` table (never secrets).

Keys: ``org_code``/``org_name`` (the village or township this PC keeps the ledger
for), ``demo`` ("1" for the demo village, which is never synced), ``device_id``
(a UUID made once per database), ``server_url``, ``user``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from storage.repository import Repository


@dataclass(frozen=True)
class Identity:
    org_code: str
    org_name: str
    demo: bool
    device_id: str


def set_identity(repo: Repository, org_code: str, org_name: str, *, demo: bool = False) -> Identity:
    repo.set_setting("org_code", org_code)
    repo.set_setting("org_name", org_name)
    repo.set_setting("demo", "1" if demo else "0")
    return identity(repo)


def identity(repo: Repository) -> Identity | None:
    code = repo.get_setting("org_code")
    if not code:
        return None
    return Identity(code, repo.get_setting("org_name", "") or "", repo.get_setting("demo") == "1",
                    device_id(repo))


def device_id(repo: Repository) -> str:
    value = repo.get_setting("device_id")
    if not value:
        value = str(uuid.uuid4())
        repo.set_setting("device_id", value)
    return value


def is_demo(repo: Repository) -> bool:
    return repo.get_setting("demo") == "1"
