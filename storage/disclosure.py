"""Full disclosure of personal information: who may, and the record that it happened.

ID numbers and phones are masked everywhere by default (lists, exports, reports, printouts).  A
*full* disclosure — an export with the full numbers, an ID number shown in full on screen with 显示 —
is allowed by role and always writes a ``disclosure`` record (who, when, which record types, how
many rows, purpose, file name) through the repository, so it syncs to the county like any record.

For every caller (CLI, desktop, print/PDF)::

    from storage import disclosure
    with disclosure.allow_full(repo, purpose, action=disclosure.PRINT, record_types=["staff"],
                               file_name=path.name) as full:   # DisclosureRefused (Chinese) before anything
        full.rows = write_the_file_with_the_full_numbers()     # recorded only if this finishes

or the same in two steps, ``check_full_allowed`` before and ``record_disclosure`` after.

Which roles may is a county setting (``taizhang-server admin full-export-roles``), sent to the PC at
each sign-in and kept in its settings.  The default allows every role, because the workbook a village
sends to the county must carry full ID numbers to be imported; a county that wants only itself to
export full numbers narrows it.  Showing one ID on screen is never refused (the user may already
edit the record), only recorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from storage.cli import UserError

ROLES = ("village", "township", "county", "admin")
ROLE_LABELS = {"village": "村(社区)", "township": "乡镇(街道)", "county": "县民政局", "admin": "管理员"}
DEFAULT_FULL_EXPORT_ROLES = ROLES

S_ROLE = "role"  # the role of the account this PC signed in with (village if it never did)
S_FULL_EXPORT_ROLES = "privacy.full_export_roles"  # comma-separated, from the county at sign-in

EXPORT_XLSX = "完整导出Excel"
EXPORT_CSV = "完整导出CSV"
REPORT = "完整报表"
PRINT = "完整打印"
SCREEN = "屏幕显示完整号码"


class DisclosureRefused(UserError):
    """A full disclosure this PC's role may not make, or one without a purpose."""


def parse_roles(text: str | None) -> tuple[str, ...]:
    """``village,county`` → ('village', 'county'); raises ValueError (Chinese) on an unknown role."""
    roles = tuple(r.strip() for r in (text or "").replace("，", ",").split(",") if r.strip())
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"角色“{'、'.join(unknown)}”无效，请使用 village、township、county、admin")
    return roles


def full_export_roles(repo) -> tuple[str, ...]:
    stored = repo.get_setting(S_FULL_EXPORT_ROLES)
    return DEFAULT_FULL_EXPORT_ROLES if stored is None else parse_roles(stored)


def current_role(repo) -> str:
    return repo.get_setting(S_ROLE) or "village"


def remember_sign_in(repo, role: str, allowed_roles: Iterable[str] | None) -> None:
    """Keep what the county said at sign-in: this account's role and who may export full numbers."""
    repo.set_setting(S_ROLE, role)
    if allowed_roles is not None:
        repo.set_setting(S_FULL_EXPORT_ROLES, ",".join(allowed_roles))


def full_allowed(repo) -> bool:
    return current_role(repo) in full_export_roles(repo)


def check_full_allowed(repo, purpose: str | None) -> str:
    """The stated purpose, stripped; raises DisclosureRefused if the role may not or no purpose is given."""
    role = current_role(repo)
    if role not in full_export_roles(repo):
        allowed = "、".join(ROLE_LABELS[r] for r in full_export_roles(repo)) or "（无）"
        raise DisclosureRefused(f"本机账号的角色是{ROLE_LABELS.get(role, role)}，县里规定只有{allowed}可以导出完整的"
                                "身份号码和手机号。请导出默认的遮挡版本；确需完整信息，请联系县民政局。")
    purpose = (purpose or "").strip()
    if not purpose:
        raise DisclosureRefused("导出完整的身份号码和手机号时必须填写用途（例如“报县民政局年度核查”），请填写后再导出。")
    return purpose


def record_disclosure(repo, *, action: str, record_types: Iterable[str], rows: int, purpose: str,
                      file_name: str | None = None, org_code: str | None = None) -> str:
    """Write the disclosure record (it syncs to the county); returns its id."""
    from storage.schema import RECORD_TYPES

    labels = [RECORD_TYPES[t].label if t in RECORD_TYPES else t for t in record_types]
    values = {"org_code": org_code or repo.get_setting("org_code"), "at": utc_text(), "actor": repo.actor,
              "action": action, "record_types": "、".join(labels) or "-", "row_count": int(rows),
              "purpose": purpose, "file_name": file_name}
    return repo.create("disclosure", values)["id"]


@dataclass
class FullDisclosure:
    """What ``allow_full``'s body tells it: how many rows it wrote (and the file's name, if it changed)."""

    purpose: str
    rows: int = 0
    file_name: str | None = None
    record_id: str | None = None  # set once recorded


@contextlib.contextmanager
def allow_full(repo, purpose: str | None, *, action: str, record_types: Iterable[str], file_name: str | None = None,
               org_code: str | None = None,
               write: Callable[[Callable[[], Any]], Any] | None = None) -> Iterator[FullDisclosure]:
    """A full disclosure in one step: the role and purpose are checked before the body runs (raises
    DisclosureRefused), and the record is written after it finished — not when it raised (no file, nothing
    disclosed).  ``write``: how the record is written (the desktop passes its writer thread's ``run_on_writer``)."""
    full = FullDisclosure(purpose=check_full_allowed(repo, purpose), file_name=file_name)
    yield full
    types = list(record_types)
    full.record_id = (write or (lambda fn: fn()))(lambda: record_disclosure(
        repo, action=action, record_types=types, rows=full.rows, purpose=full.purpose, file_name=full.file_name,
        org_code=org_code))


def utc_text() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def list_disclosures(repo, org_prefix: str | None = None, limit: int = 500) -> list[dict]:
    """Newest first, within an org-code prefix (a village, a township, the county)."""
    rows = repo.list("disclosure")
    if org_prefix:
        rows = [r for r in rows if (r.get("org_code") or "").startswith(org_prefix)]
    rows.sort(key=lambda r: r.get("at") or "", reverse=True)
    return rows[:limit]


__all__ = ["DisclosureRefused", "FullDisclosure", "allow_full", "check_full_allowed", "record_disclosure", "full_allowed", "full_export_roles",
           "current_role", "remember_sign_in", "list_disclosures", "parse_roles", "ROLES", "ROLE_LABELS",
           "EXPORT_XLSX", "EXPORT_CSV", "REPORT", "PRINT", "SCREEN"]
