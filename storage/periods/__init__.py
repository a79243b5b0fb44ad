"""Month-end periods (填报期, domain.md §3.6): states, who may move them, completeness, locks.

A period is one calendar month (``YYYY-MM``) of one village (or township).
Its state lives in a ``period`` record (storage.schema PERIOD) written through
the Repository, so every transition is in the change log, audited, and
carried by sync and offline packages like any other change.  The record id is
derived from (org code, month), so the village, the township and the county
all name the same record and never create two.

States and transitions (DHIS2's data approval with reasons added)::

    未提交 ──submit(村)──▶ 已提交 ──approve(乡镇)──▶ 乡镇已审核 ──accept(县)──▶ 县已接收
       ▲                    │  ▲                        │                         │
       │                    │  └──────submit(村)─ 已退回 ◀─return(乡镇/县)─┘        │
       │                    └──return(乡镇/县)──▶ 已退回 ◀──────reopen(县, 须填原因)──┘

Which records belong to a period: a record whose type has a ``date_field``
(服务记录、培训记录、服务时长) belongs to the month of that date, for its own
``org_code``.  Standing registers (设施、工作者、志愿者、队伍、社会组织、年度数据)
have no month: they are checked when a village submits but are never locked,
because a facility or a person outlives any one month.

Locks: a period in 县已接收 is read-only everywhere — every Repository carries
``lock_guard`` (installed in ``Repository.__init__``), so a local edit, an
Excel import, a sync batch on the server and an offline package are all
refused with the same Chinese reason.  Only the county reopens (→ 已退回, with
a reason).  Edits to a submitted or township-approved period are allowed but
send it back to review: ``PeriodState.changed_after`` is set when a record of
the month changed after the last submit/review, the township sees 提交后有修改,
and the county cannot accept until the township has reviewed again.

Modules: ``months`` (calendar months, labels, deadline, record id), ``reasons`` (return reasons with
per-record notes), ``states`` (the five states and reading them), ``rules`` (who may do what, the
transition check, the server policy's rule), ``locks`` (the Repository guard), ``checklist`` (what a
month needs before it is submitted; standing registers confirmed), ``transitions`` (the local writes).
Everything is importable from ``storage.periods`` itself.
"""

from __future__ import annotations

from storage.periods.checklist import (EDITED, UNCHANGED, UNCONFIRMED, CheckItem, Checklist, Confirmation,
                                       completeness, standing_confirmations, standing_types)
from storage.periods.locks import forget_locked_periods, lock_guard, lock_refusal
from storage.periods.months import (BEIJING, DEFAULT_DEADLINE_DAY, dated_types, deadline, month_bounds,
                                    period_id, period_label, period_of, previous_period, recent_periods)
from storage.periods.reasons import NOTE_SEP, RecordNote, display_reason, format_reason, parse_reason
from storage.periods.rules import (ACTION_LABELS, ACTIONS, ROLE_LABELS, ROLES, action_between, check_change,
                                   check_transition, in_scope, may_act)
from storage.periods.states import (ACCEPTED, APPROVED, NOT_SUBMITTED, RETURNED, STATES, SUBMITTED, NextStep,
                                    PeriodState, edit_notice, get_state, last_record_change, list_states,
                                    next_step, records_changed_since, returned_notices, state)
from storage.periods.transitions import (PeriodError, accept, approve, confirm_unchanged, reopen, resubmit,
                                         return_period, submit, submit_or_resubmit, withdraw)
from storage.schema import RECORD_TYPES

__all__ = [
    "NOT_SUBMITTED", "SUBMITTED", "APPROVED", "ACCEPTED", "RETURNED", "STATES", "ROLES", "ROLE_LABELS",
    "ACTIONS", "ACTION_LABELS", "BEIJING", "DEFAULT_DEADLINE_DAY", "NOTE_SEP", "RECORD_TYPES",
    "standing_types", "UNCHANGED", "EDITED", "UNCONFIRMED",
    "PeriodState", "PeriodError", "Checklist", "CheckItem", "Confirmation", "RecordNote", "NextStep",
    "period_of", "month_bounds", "previous_period", "recent_periods", "period_label", "deadline", "period_id",
    "format_reason", "parse_reason", "display_reason", "state", "get_state", "list_states", "returned_notices",
    "in_scope", "action_between", "may_act", "check_transition", "check_change",
    "lock_guard", "lock_refusal", "forget_locked_periods", "completeness", "standing_confirmations",
    "submit", "approve", "return_period", "accept", "reopen", "withdraw", "resubmit", "submit_or_resubmit",
    "confirm_unchanged", "dated_types", "next_step", "edit_notice", "last_record_change",
    "records_changed_since",
]
