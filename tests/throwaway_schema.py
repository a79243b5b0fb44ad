"""A record type that exists only in tests: declared here, installed into the schema registry at
run time — no committed module is edited.

In this process ``install()`` adds it to ``storage.schema.RECORD_TYPES`` and its table to
``storage.models`` (a new database made afterwards has the table); ``uninstall()`` takes it out
again.  A server process gets it through ``sitecustomize_dir()``: a directory for PYTHONPATH whose
``sitecustomize.py`` installs the type at interpreter start, before anything imports the schema.
"""

from __future__ import annotations

from pathlib import Path

from storage.schema import ORG, RECORD_TYPES, Field, RecordType

TREE_PLANTING = RecordType(
    name="tree_planting", label="植树活动",
    fields=(
        ORG,
        Field("date", "日期", "date", required=True),
        Field("site", "地点", "text", required=True, max_length=100),
        Field("trees", "株数", "int", unit="株", required=True, min=0, max=100_000),
        Field("team_id", "组织的志愿服务队", "ref", ref="volunteer_team"),
    ),
    list_columns=("date", "site", "trees"),
    search_fields=("site",),
    date_field="date",
    natural_keys=(("org_code", "date", "site"),),
    search_hint="搜索：地点",
)

_MODEL: dict[str, type] = {}  # the mapped class is made once per process (SQLAlchemy keeps its name)


def install() -> RecordType:
    import sys

    RECORD_TYPES[TREE_PLANTING.name] = TREE_PLANTING
    models = sys.modules.get("storage.models")
    if models is not None and TREE_PLANTING.name not in models.RECORD_MODELS:
        model = _MODEL.get("model")
        if model is None:
            model = _MODEL["model"] = models._make_model(TREE_PLANTING)
        elif TREE_PLANTING.name not in models.metadata.tables:
            models.metadata._add_table(TREE_PLANTING.name, None, model.__table__)
        models.RECORD_MODELS[TREE_PLANTING.name] = model
    return TREE_PLANTING


def uninstall() -> None:
    from storage import models

    RECORD_TYPES.pop(TREE_PLANTING.name, None)
    model = models.RECORD_MODELS.pop(TREE_PLANTING.name, None)
    if model is not None:
        models.metadata.remove(model.__table__)


def sitecustomize_dir(where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    (where / "sitecustomize.py").write_text(
        f"import sys\nsys.path.insert(0, {str(root)!r})\n"
        "from tests.throwaway_schema import install\ninstall()\n", encoding="utf-8")
    return where
