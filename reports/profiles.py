"""Plan profiles: a named set of targets for I1–I14 (data, not code).

The five built-in profiles live as JSON files in ``reports/profiles/``; every
entry quotes the plan text it comes from.  A county can create its own
profile in the app (stored in the database's ``setting`` table under
``report_profile:<name>``) and export/import it as a ``.json`` file.

A target is ``{"op": ">=" | ">" | "=", "value": number, "text": shown text,
"quote": plan text, "params": {...}}``; ``op: null`` means the plan sets no
target for that indicator (shown as 无目标值).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

PROFILE_DIR = Path(__file__).with_name("profiles")
SETTING_PREFIX = "report_profile:"
OPS = (">=", ">", "=")
OP_TEXT = {">=": "≥", ">": ">", "=": "="}
INDICATOR_IDS = tuple(f"I{i}" for i in range(1, 15))
# The standards checks of reports/standards.py, by id.  A profile lists the ones its plan sets
# (plus the national plan's, which bind everyone); a profile that lists none gets them all.
STANDARD_IDS = ("area", "activity", "hours", "holiday", "disaster", "team", "elderly", "shelter", "leaders",
                "days", "visits", "radius")
DEFAULT_ELDERLY_AREA = (35.0, 25.0)  # m² per 100 households: new estates, existing estates (沈阳 专栏4-5)


class ProfileError(ValueError):
    """A profile file or name the user gave is not usable (Chinese message)."""


@dataclass(frozen=True)
class Target:
    op: str | None
    value: float | None
    text: str = "—"
    quote: str = ""
    params: dict = field(default_factory=dict)

    @property
    def has_target(self) -> bool:
        return self.op is not None and self.value is not None

    def is_met(self, value: float) -> bool:
        v = round(value, 6)
        if self.op == ">=":
            return v >= self.value
        if self.op == ">":
            return v > self.value
        return v == self.value

    def describe(self) -> str:
        return self.text if self.has_target else "无目标值"


@dataclass
class Profile:
    name: str
    source: str
    targets: dict[str, Target]
    builtin: bool = False
    seed: str | None = None
    standards: tuple[str, ...] = STANDARD_IDS
    elderly_area: tuple[float, float] = DEFAULT_ELDERLY_AREA  # (new estate, existing) per 100 households

    def applies(self, standard_id: str) -> bool:
        return standard_id in self.standards

    @property
    def training_rules(self) -> tuple[str, ...]:
        """The training rules (reports.training) that this profile's checks use."""
        from reports.training import JILIN, SHENYANG

        return tuple(rule for check, rule in (("leaders", JILIN), ("days", SHENYANG)) if self.applies(check))

    def target(self, indicator_id: str) -> Target:
        return self.targets.get(indicator_id) or Target(None, None, "—", "本方案未设此指标")

    def to_dict(self) -> dict:
        out = {"name": self.name, "source": self.source, "targets": {}}
        for iid in INDICATOR_IDS:
            t = self.target(iid)
            d = {"op": t.op, "value": t.value, "text": t.text, "quote": t.quote}
            if t.params:
                d["params"] = dict(t.params)
            out["targets"][iid] = d
        out["standards"] = {"checks": list(self.standards),
                            "elderly_area": {"new_estate": self.elderly_area[0], "existing": self.elderly_area[1]}}
        return out


def profile_from_dict(data: dict, *, builtin: bool = False, where: str = "方案文件") -> Profile:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}不是有效的指标方案（应为 JSON 对象）")
    name = str(data.get("name") or "").strip()
    if not name:
        raise ProfileError(f"{where}缺少方案名称（name）")
    raw_targets = data.get("targets")
    if not isinstance(raw_targets, dict):
        raise ProfileError(f"{where}缺少目标值表（targets）")
    targets = {}
    for iid, t in raw_targets.items():
        if iid not in INDICATOR_IDS:
            raise ProfileError(f"{where}：未知的指标编号“{iid}”（应为 I1–I14）")
        if not isinstance(t, dict):
            raise ProfileError(f"{where}：指标 {iid} 的目标值格式不对")
        op, value = t.get("op"), t.get("value")
        if op is not None and op not in OPS:
            raise ProfileError(f"{where}：指标 {iid} 的比较方式“{op}”无效，应为 >=、> 或 =")
        if op is not None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ProfileError(f"{where}：指标 {iid} 的目标值“{value}”不是数字") from None
        else:
            value = None
        params = t.get("params") or {}
        if not isinstance(params, dict):
            raise ProfileError(f"{where}：指标 {iid} 的参数格式不对")
        text = t.get("text") or (f"{OP_TEXT[op]}{value:g}" if op else "—")
        targets[iid] = Target(op, value, str(text), str(t.get("quote") or ""), params)
    standards, elderly_area = _standards_from_dict(data.get("standards"), where)
    return Profile(name=name, source=str(data.get("source") or ""), targets=targets, builtin=builtin,
                   seed=data.get("seed"), standards=standards, elderly_area=elderly_area)


def _standards_from_dict(data, where: str) -> tuple[tuple[str, ...], tuple[float, float]]:
    if data is None:
        return STANDARD_IDS, DEFAULT_ELDERLY_AREA
    if not isinstance(data, dict):
        raise ProfileError(f"{where}：达标检查（standards）格式不对，应为 JSON 对象")
    checks = data.get("checks", list(STANDARD_IDS))
    unknown = [c for c in checks if c not in STANDARD_IDS] if isinstance(checks, list) else [checks]
    if unknown:
        raise ProfileError(f"{where}：未知的达标检查“{'、'.join(map(str, unknown))}”，可用：{'、'.join(STANDARD_IDS)}")
    area = data.get("elderly_area") or {}
    try:
        elderly = (float(area.get("new_estate", DEFAULT_ELDERLY_AREA[0])),
                   float(area.get("existing", DEFAULT_ELDERLY_AREA[1])))
    except (TypeError, ValueError, AttributeError):
        raise ProfileError(f"{where}：养老服务设施面积标准（elderly_area）应为数字") from None
    return tuple(c for c in STANDARD_IDS if c in checks), elderly


def builtin_profiles() -> list[Profile]:
    loaded = []
    for path in PROFILE_DIR.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        loaded.append((data.get("order", 99), profile_from_dict(data, builtin=True, where=path.name)))
    return [p for _, p in sorted(loaded, key=lambda x: x[0])]


def custom_profiles(repo) -> list[Profile]:
    """Profiles a county created itself (stored in the settings table)."""
    from sqlalchemy import select

    from storage.models import Setting

    out = []
    with repo.engine.connect() as conn:
        rows = conn.execute(select(Setting.key, Setting.value)
                            .where(Setting.key.like(SETTING_PREFIX + "%")).order_by(Setting.key)).all()
    for key, value in rows:
        try:
            out.append(profile_from_dict(json.loads(value), where=f"自定义方案“{key[len(SETTING_PREFIX):]}”"))
        except (ProfileError, json.JSONDecodeError):
            continue
    return out


def all_profiles(repo=None) -> list[Profile]:
    profiles = builtin_profiles()
    if repo is not None:
        profiles += custom_profiles(repo)
    return profiles


def save_custom_profile(repo, profile: Profile) -> None:
    if profile.name in {p.name for p in builtin_profiles()}:
        raise ProfileError(f"“{profile.name}”是内置方案的名称，请为自定义方案另取一个名称")
    repo.set_setting(SETTING_PREFIX + profile.name, json.dumps(profile.to_dict(), ensure_ascii=False))


def delete_custom_profile(repo, name: str) -> None:
    from storage.models import Setting

    table = Setting.__table__
    with repo.engine.begin() as conn:
        conn.execute(table.delete().where(table.c.key == SETTING_PREFIX + name))


def export_profile(profile: Profile, path: str | Path) -> None:
    Path(path).write_text(json.dumps(profile.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def import_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"找不到方案文件：{path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"方案文件 {path.name} 不是有效的 JSON 文件（{exc}），请使用本程序导出的方案文件") from None
    return profile_from_dict(data, where=f"方案文件 {path.name} ")


def find_profile(name_or_path: str, repo=None) -> Profile:
    """A built-in or custom profile by name, or a profile file by path."""
    for p in all_profiles(repo):
        if p.name == name_or_path:
            return p
    if name_or_path.lower().endswith(".json") or Path(name_or_path).is_file():
        return import_profile(name_or_path)
    names = "、".join(p.name for p in all_profiles(repo))
    raise ProfileError(f"没有名为“{name_or_path}”的指标方案。可用的方案：{names}；也可以给出方案文件（.json）的路径")
