"""The one decision: what a change does, given the stored row and the context.

``decide`` is a pure function of its arguments.  Every way a change arrives (a form save, a
bulk write, an Excel import at the village or the county, a sync push applied by the server,
a pull applied by a PC, an offline package) is turned into a ``Proposal`` and decided here;
``storage.executor`` fetches what the decision needs, and writes what it says.

Outcomes (``Decision.kind``):
- ``applied``: write it;
- ``duplicate``: the same change id with the same content is held already; success, nothing written;
- ``refused``: the same change id with different content; nothing written;
- ``conflict``: made on a version older than the stored one; nothing written, the caller keeps
  both versions for the user to choose;
- ``rejected``: invalid values, out of the sender's scope, a locked month, an impossible op;
  nothing written, with the Chinese reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from storage.changes import OPS, org_unit_id, same_content, unreadable_date, values_from_payload
from storage.schema import RECORD_TYPES, RecordType
from storage.validation import Issue, Valid, coerce_record

APPLIED, DUPLICATE, REFUSED, CONFLICT, REJECTED = "applied", "duplicate", "refused", "conflict", "rejected"

# A rule a write must pass besides validation (a locked month, the period workflow):
# (record type, op, new values, stored row or None) -> Chinese refusal or None.
Rule = Callable[[RecordType, str, dict, "dict | None"], "str | None"]


@dataclass
class Proposal:
    """A change to decide.

    ``local``: made on this PC: ``values`` holds the fields given (an update names only those it
    changes) and the stored row supplies the rest; as ``storage.validation.Valid`` they were
    validated and derived where they were made and are not validated again.  Otherwise a change
    made elsewhere: ``values`` is its whole payload (with ``deleted``), kept with its own id,
    version, author and time.
    ``base_version``: the version its author saw (None for a local write without one).
    ``adopt``: take it as it is, whatever the stored version (a PC taking the server's version
    after keeping its own as a conflict); the sender already validated it and checked the rules.
    """

    record_type: str
    record_id: str | None
    op: str
    values: dict
    base_version: int | None = None
    local: bool = True
    change_id: str | None = None
    version: int | None = None
    org_code: str | None = None
    actor: str | None = None
    device_id: str | None = None
    at: str | None = None
    adopt: bool = False
    change: Any = None  # the ``Change`` it was made from, for the sender's scope check


@dataclass
class Context:
    """What a decision depends on besides the change and the stored row.

    ``scope``: the sender's scope check (the server's policy), asked before anything else
    is compared.
    """

    choices: dict[str, list[str]] | None = None
    rules: Sequence[Rule] = ()
    scope: Callable[[Proposal, "dict | None"], "str | None"] | None = None


@dataclass
class Decision:
    kind: str
    message: str | None = None
    op: str | None = None  # the op as written: a change of a record new here is its insert
    # the record as written: every field in the schema's order, then ``deleted`` (the change's payload)
    values: dict | None = None
    issues: Sequence[Issue] = ()  # the validation errors of a rejection

    @property
    def outcome(self) -> str:
        """The sync protocol's name of this outcome (a refused change is rejected there)."""
        return REJECTED if self.kind == REFUSED else self.kind


def decide(p: Proposal, stored: dict | None, known: tuple | None, ctx: Context) -> Decision:
    """What ``p`` does.  ``stored``: the record's row here (None: never held); ``known``:
    (record id, version, payload dict) of a change already logged under ``p.change_id``."""
    rt = RECORD_TYPES.get(p.record_type)
    if rt is None:
        return Decision(REJECTED, f"未知的记录类型“{p.record_type}”")
    if p.op not in OPS:
        return Decision(REJECTED, f"未知的操作：{p.op}")
    if known is not None:
        if known[0] == p.record_id and known[1] == p.version and same_content(known[2], p.values):
            return Decision(DUPLICATE)
        return Decision(REFUSED, "同一变更编号已用于不同的内容，该变更被拒绝（请联系管理员检查这台电脑的数据）")
    if p.local:
        decision = _local_values(rt, p, stored)
    else:
        decision = _remote_values(rt, p, stored, ctx)
    if decision.kind != APPLIED or p.adopt:
        return decision
    new, op = decision.values, decision.op
    # ``Valid`` values were validated and derived where they were made (storage.validation.validate_record)
    if not isinstance(p.values, Valid) and not new["deleted"] and (op in ("insert", "update") or not p.local):
        values, issues = coerce_record(rt, new, ctx.choices, derive=p.local, complete=True)
        errors = [i for i in issues if i.is_error]
        if errors:
            return Decision(REJECTED, f"{rt.label}：" + "；".join(i.message for i in errors), issues=errors)
    elif (refusal := unreadable_date(rt, new)) is not None:
        return Decision(REJECTED, refusal)
    else:
        values = _fields(rt, new)
    values["deleted"] = new["deleted"]
    new = decision.values = values
    if p.local and op == "insert" and rt.name == "org_unit" and p.record_id != org_unit_id(new.get("org_code") or ""):
        return Decision(REJECTED, "组织机构记录的编号必须由区划代码生成")
    for rule in ctx.rules:
        refusal = rule(rt, op, new, stored)
        if refusal:
            return Decision(REJECTED, refusal)
    return decision


def _local_values(rt: RecordType, p: Proposal, stored: dict | None) -> Decision:
    """A write made here: the record as it would be, or why it cannot be made."""
    if p.op == "insert":
        if stored is not None:
            return Decision(REJECTED, f"{rt.record_noun}{p.record_id}已存在，不能重复新建")
        return Decision(APPLIED, op="insert", values=dict(p.values, deleted=False))
    if stored is None:
        return Decision(REJECTED, f"找不到要修改的{rt.record_noun}（{p.record_id}），可能已被删除或尚未同步")
    # made on an older version than the stored one (a workbook exported elsewhere may carry a
    # newer number than this database's: that is not stale)
    if p.base_version is not None and stored["version"] > p.base_version:
        return Decision(CONFLICT, f"这条{rt.record_noun}已被他人修改（版本{stored['version']}），请重新打开后再改")
    new = {f.name: stored.get(f.name) for f in rt.fields}
    if p.op == "update":
        if stored["deleted"]:
            return Decision(REJECTED, f"这条{rt.record_noun}已删除，请先在“最近删除”中恢复再修改")
        names = rt.field_names
        new.update((k, v) for k, v in p.values.items() if k in names)
        new["deleted"] = False
    elif p.op == "delete":
        if stored["deleted"]:
            return Decision(REJECTED, f"这条{rt.record_noun}已经删除")
        new["deleted"] = True
    else:
        if not stored["deleted"]:
            return Decision(REJECTED, f"这条{rt.record_noun}没有被删除，无需恢复")
        new["deleted"] = False
    return Decision(APPLIED, op=p.op, values=new)


def _remote_values(rt: RecordType, p: Proposal, stored: dict | None, ctx: Context) -> Decision:
    """A change made elsewhere: its payload as the record's values, unless out of scope or stale."""
    if ctx.scope is not None and not p.adopt:
        refusal = ctx.scope(p, stored)
        if refusal:
            return Decision(REJECTED, refusal)
    # a record never held here is taken as new whatever its base version (e.g. one the server
    # refused earlier and the village restored: a conflict there could never settle)
    if stored is not None and not p.adopt and stored["version"] != p.base_version:
        return Decision(CONFLICT, f"这条{rt.record_noun}在别处已被修改（对方版本{stored['version']}，本机基于版本"
                                  f"{p.base_version}），两个版本都已保留，请选择保留哪一个")
    new = values_from_payload(rt, p.values)
    new["deleted"] = bool(p.values.get("deleted", False))
    if p.adopt and (refusal := unreadable_date(rt, new)) is not None:
        return Decision(REJECTED, refusal)
    return Decision(APPLIED, op=p.op if stored is not None else "insert", values=new)



def _fields(rt: RecordType, values: dict) -> dict:
    return {f.name: values.get(f.name) for f in rt.fields}
