"""Where templates come from: the examples shipped in reports/templates/, and templates the county
published (``taizhang-server fill publish``) which reach townships and villages by sync.

A published template is kept in the ``setting`` table (key ``report_template:<名称>``, value JSON
with the workbook in base64 and its SHA-256), on the server and on every PC that pulled it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from reports.fill.template import Template, TemplateError, load_template

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"
SETTING_PREFIX = "report_template:"
BUILTIN, PUBLISHED = "内置示例", "县级发布"


@dataclass
class Entry:
    name: str
    origin: str
    template: Template
    sha256: str


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def builtin_templates() -> list[Entry]:
    out = []
    for path in sorted(BUILTIN_DIR.glob("*.xlsx")):
        t = load_template(path)
        out.append(Entry(t.name, BUILTIN, t, _sha(t.data)))
    return out


def _stored(engine) -> dict[str, dict]:
    from storage.models import Setting

    with engine.connect() as conn:
        rows = conn.execute(select(Setting.key, Setting.value).where(Setting.key.like(SETTING_PREFIX + "%"))).all()
    out = {}
    for key, value in rows:
        try:
            out[key[len(SETTING_PREFIX):]] = json.loads(value)
        except json.JSONDecodeError:
            continue
    return out


def _choices(engine) -> dict[str, list[str]]:
    """The choice lists as this database has them (a county may have extended some)."""
    from storage.choices import DEFAULT_CHOICES
    from storage.models import ChoiceList

    merged = {k: list(v) for k, v in DEFAULT_CHOICES.items()}
    with engine.connect() as conn:
        merged.update({r.name: list(r.items) for r in conn.execute(select(ChoiceList.name, ChoiceList.items))})
    return merged


def published_templates(engine) -> list[Entry]:
    out = []
    choices = _choices(engine)
    for name, spec in sorted(_stored(engine).items()):
        try:
            t = load_template(base64.b64decode(spec["data"]), source=name, choices=choices)
        except (TemplateError, KeyError, ValueError):
            continue  # a template of a newer schema: kept, not offered
        out.append(Entry(name, PUBLISHED, t, spec.get("sha256", "")))
    return out


def all_templates(engine=None) -> list[Entry]:
    entries = builtin_templates()
    if engine is not None:
        published = published_templates(engine)
        names = {e.name for e in published}
        entries = [e for e in entries if e.name not in names] + published
    return entries


def find_template(name_or_path: str, engine=None, choices=None) -> Template:
    path = Path(name_or_path)
    if path.suffix.lower() == ".xlsx" and path.exists():
        return load_template(path, choices=choices)
    wanted = path.stem if path.suffix.lower() == ".xlsx" else name_or_path
    for e in all_templates(engine):
        if e.name == wanted:
            return e.template
    names = "、".join(e.name for e in all_templates(engine))
    raise TemplateError(f"找不到模板“{name_or_path}”：既不是存在的 .xlsx 文件，也不是已有模板的名称。已有模板：{names}")


def publish(repo, path: str | Path) -> Template:
    """Check a template and store it for every township and village to pull (county server)."""
    template = load_template(path, choices=repo.choices())
    store(repo, template.name, template.data, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    return template


def store(repo, name: str, data: bytes, published_at: str) -> None:
    repo.set_setting(SETTING_PREFIX + name, json.dumps(
        {"sha256": _sha(data), "published_at": published_at, "data": base64.b64encode(data).decode("ascii")},
        ensure_ascii=False))


def withdraw(repo, name: str) -> bool:
    from storage.models import Setting

    table = Setting.__table__
    with repo.engine.begin() as conn:
        return conn.execute(table.delete().where(table.c.key == SETTING_PREFIX + name)).rowcount > 0


def catalogue_index(engine) -> dict[str, dict]:
    """What a pull page tells a PC: each published template's name, SHA-256 and the workbook itself."""
    return {name: {"sha256": spec.get("sha256", ""), "published_at": spec.get("published_at", ""),
                   "data": spec.get("data", "")} for name, spec in _stored(engine).items()}


def save_pulled(repo, index: dict[str, dict]) -> int:
    """Keep the county's catalogue as pulled: new or changed templates stored, withdrawn ones removed."""
    mine = _stored(repo.engine)
    changed = 0
    for name, spec in index.items():
        if mine.get(name, {}).get("sha256") == spec.get("sha256"):
            continue
        data = base64.b64decode(spec.get("data", ""))
        if _sha(data) != spec.get("sha256"):
            continue  # damaged on the way: the next sync brings it again
        store(repo, name, data, spec.get("published_at", ""))
        changed += 1
    for name in set(mine) - set(index):
        withdraw(repo, name)
        changed += 1
    return changed
