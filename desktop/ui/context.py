"""AppContext: what every page and widget of the desktop app gets (``factory(ctx) -> QWidget``).

``ctx.repo``        storage.repository.Repository — reads anywhere; writes only inside
                    ``desktop.ui.jobs.write_op`` (the single DB writer thread; see jobs.py).
``ctx.identity``    storage.local.Identity of this PC (org_code, org_name, demo, device_id) or None
                    before first-run setup; ``ctx.reload_identity()`` after changing it.
``ctx.settings``    UiSettings (large font etc.), persisted in the ``setting`` table under ``ui.*``.
``ctx.stored``      StoredSettings: the sign-in settings the pages show (server, user, CA file, role),
                    read once at start and replaced by whoever writes them (``ctx.remember_stored``),
                    so that the UI thread does not query the database for them.
``ctx.jobs``        the JobRunner (``desktop.ui.jobs``); use ``op``/``write_op`` builders.
``ctx.db_path``     path of the local SQLite file (None for in-memory tests).

Qt signals (always delivered on the UI thread):

``records_changed(str)``        record type name whose rows changed (lists reload, counts refresh).
``unsent_count_changed(int)``   number of local changes not yet acknowledged by the county server.
``sync_state_changed(object)``  a :class:`SyncState` (online/offline, running, last success, message).
``settings_changed(str)``       a UiSettings key changed (e.g. "large_font").
``identity_changed()``          the village/community of this PC changed.
``period_changed(str)``         the current month-end period ("YYYY-MM") or its status changed.
``setup_requested()``           leave the demo village: back to first-run setup (handled by app.py).

Electrum-style adapter: core code (sync/, exchange/, reports/ — no Qt there) reports through plain
callables.  ``ctx.core_callbacks()`` returns a :class:`CoreCallbacks` whose methods may be called
from ANY thread (a worker, a sync loop); they only emit signals of this QObject, which Qt queues to
the UI thread.  E.g. ``sync_client.run(on_state=ctx.core_callbacks().sync_state)``.

Setting keys this module reads (other helpers write them): ``server_url``, ``user``, ``sync.ca_file``,
``role``, ``sync.last_success_at`` (ISO-8601 UTC of the last successful sync), ``ui.large_font``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from storage import local
from storage.repository import Repository

log = logging.getLogger("taizhang.desktop")

LAST_SYNC_KEY = "sync.last_success_at"
SERVER_URL_KEY = "server_url"


@dataclass(frozen=True)
class SyncState:
    """What the status bar shows about sync; the sync helper publishes new ones."""

    online: bool | None = None  # None: not known yet / no server configured
    running: bool = False
    last_success_at: dt.datetime | None = None  # UTC
    message: str = ""  # short Chinese text, e.g. "已连接县服务器" / "无法连接县服务器"


@dataclass
class UiSettings:
    """UI preferences persisted per database (``setting`` table, keys ``ui.<name>``)."""

    large_font: bool = False
    base_point_size: float = 11.0  # normal mode body size (pt) — ≈ 14.7 px at 96 dpi
    large_point_size: float = 14.0  # large mode body size (pt) — ≥ 18.6 px at 96 dpi
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredSettings:
    """The sign-in settings the UI shows, as last read or written (see ``AppContext.stored``)."""

    server_url: str = ""
    user: str = ""
    ca_file: str = ""
    role: str = ""  # of the account this PC signed in with; "" if it never did
    full_export_roles: tuple[str, ...] = ()  # who may see full ID numbers and phones (the county's rule)

    @property
    def full_allowed(self) -> bool:
        """This PC's role may print or export full numbers (``storage.disclosure.full_allowed``)."""
        return (self.role or "village") in self.full_export_roles


def read_stored_settings(repo: Repository) -> StoredSettings:
    """Read :class:`StoredSettings` (at start, or in a job after a sign-in wrote them)."""
    from storage.disclosure import S_ROLE, full_export_roles
    from sync.client import S_CA_FILE

    return StoredSettings(server_url=repo.get_setting(SERVER_URL_KEY) or "", user=repo.get_setting("user") or "",
                          ca_file=repo.get_setting(S_CA_FILE) or "", role=repo.get_setting(S_ROLE) or "",
                          full_export_roles=full_export_roles(repo))


class CoreCallbacks:
    """Thread-safe plain callables for Qt-free core code (see module docstring)."""

    def __init__(self, ctx: "AppContext"):
        self._ctx = ctx

    def records_changed(self, record_type: str) -> None:
        self._ctx.records_changed.emit(record_type)

    def unsent_count(self, count: int) -> None:
        self._ctx.unsent_count_changed.emit(int(count))

    def sync_state(self, state: SyncState | None = None, **changes: Any) -> None:
        """Publish a new SyncState, or change some of its fields: ``sync_state(online=False)``."""
        self._ctx._publish_sync_state(state, changes)

    def period_changed(self, period: str) -> None:
        self._ctx.period_changed.emit(period)


class AppContext(QObject):
    records_changed = Signal(str)
    unsent_count_changed = Signal(int)
    sync_state_changed = Signal(object)
    settings_changed = Signal(str)
    identity_changed = Signal()
    period_changed = Signal(str)
    # The user asked to set this PC up afresh (e.g. leave the demo village): the app controller
    # closes the window, moves the database aside and shows the first-run setup again.
    setup_requested = Signal()
    _sync_state_from_thread = Signal(object, object)

    def __init__(self, repo: Repository, db_path: Path | None = None):
        super().__init__()
        from desktop.ui.jobs import runner

        self.repo = repo
        self.db_path = db_path
        self.jobs = runner()
        self._identity = local.identity(repo)
        self.settings = self._load_settings()
        self.stored = read_stored_settings(repo)
        self._unsent = -1
        self._unsent_job_running = False
        self._unsent_dirty = False
        self._sync_state = SyncState(last_success_at=self._stored_last_sync())
        self._sync_state_from_thread.connect(self._apply_sync_state)
        self._callbacks = CoreCallbacks(self)
        global _CURRENT
        _CURRENT = self

    # ------------------------------------------------------------------ identity
    @property
    def identity(self) -> local.Identity | None:
        return self._identity

    @property
    def org_code(self) -> str | None:
        return self._identity.org_code if self._identity else None

    @property
    def is_demo(self) -> bool:
        return bool(self._identity and self._identity.demo)

    def reload_identity(self, identity: local.Identity | None = None) -> None:
        """Take the PC's identity as a job read it after changing it (``identity``), or read it here
        (first-run setup, before any window)."""
        self._identity = identity if identity is not None else local.identity(self.repo)
        self.identity_changed.emit()

    # ------------------------------------------------------------------ settings
    def _load_settings(self) -> UiSettings:
        s = UiSettings()
        s.large_font = self.repo.get_setting("ui.large_font") == "1"
        return s

    def set_large_font(self, on: bool) -> None:
        """Persist large-font mode (UI-thread setting write: the documented exception)."""
        if self.settings.large_font == bool(on):
            return
        self.settings.large_font = bool(on)
        self.repo.set_setting("ui.large_font", "1" if on else "0")
        self.settings_changed.emit("large_font")

    def server_url(self) -> str:
        return self.stored.server_url

    def remember_stored(self, stored: StoredSettings | None = None, **changes: str) -> None:
        """After a write of the sign-in settings: the new snapshot (read in the job), or the changed keys."""
        self.stored = replace(stored or self.stored, **changes)

    # ------------------------------------------------------------------ counts and state
    def count_unsent_now(self) -> int:
        """Count the outbox on this thread (one indexed count) and emit if it changed."""
        count = self.repo.unsent_count()
        self._set_unsent(count)
        return count

    def refresh_unsent_count(self) -> None:
        """Re-count the outbox in a background read job (coalesced); emits ``unsent_count_changed``.

        Counting 100,000 pending changes takes tens of milliseconds: never on the save path.
        """
        if self._unsent_job_running:
            self._unsent_dirty = True
            return
        from desktop.ui.jobs import op

        self._unsent_job_running = True
        self._unsent_dirty = False
        repo = self.repo

        def done(count: int) -> None:
            self._unsent_job_running = False
            self._set_unsent(count)
            if self._unsent_dirty:
                self.refresh_unsent_count()

        def failed(exc: BaseException) -> None:
            self._unsent_job_running = False
            log.warning("counting unsent changes failed: %s", exc)

        op(lambda job: repo.unsent_count()).success(done).failure(failed).run_in_background()

    def _set_unsent(self, count: int) -> None:
        if count != self._unsent:
            self._unsent = count
            self.unsent_count_changed.emit(count)

    @property
    def unsent_count(self) -> int:
        return self._unsent if self._unsent >= 0 else self.count_unsent_now()

    def _stored_last_sync(self) -> dt.datetime | None:
        raw = self.repo.get_setting(LAST_SYNC_KEY)
        if not raw:
            return None
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)

    @property
    def sync_state(self) -> SyncState:
        return self._sync_state

    def _publish_sync_state(self, state: SyncState | None, changes: dict) -> None:
        self._sync_state_from_thread.emit(state, changes)  # queued if called from a worker

    def _apply_sync_state(self, state: SyncState | None, changes: dict) -> None:
        new = state or self._sync_state
        if changes:
            new = replace(new, **changes)
        self._sync_state = new
        self.sync_state_changed.emit(new)

    def current_period(self) -> str:
        """The month-end period being reported now ("YYYY-MM"): last month (storage.periods)."""
        from storage.periods import previous_period

        return previous_period()

    def current_period_status(self) -> str | None:
        """Status of the current period for this PC's village (未提交/已提交/…), None if unknown."""
        if self.org_code is None:
            return None
        from storage.periods import get_state

        try:
            return get_state(self.repo, self.org_code, self.current_period()).status
        except Exception:  # noqa: BLE001 - the status bar must never break the window
            log.exception("reading the period status failed")
            return None

    def core_callbacks(self) -> CoreCallbacks:
        return self._callbacks


_CURRENT: AppContext | None = None


def current_context() -> AppContext | None:
    """The app's context (the most recently created one); None before the app started."""
    return _CURRENT


__all__ = ["AppContext", "UiSettings", "SyncState", "CoreCallbacks", "current_context", "LAST_SYNC_KEY",
           "SERVER_URL_KEY"]
