"""Org codes as a value: a 12-digit statistical division code and the scope it governs.

A code is ``PPCCDD TTT VVV`` — province, city and county in the first six digits, the
township (乡镇/街道) in the next three, the village or community (村/社区) in the last three.
A county's code ends in nine zeros, a township's in three.  Everything that asks "which level
is this unit", "which township does this village belong to" or "is this code inside that
unit's area" asks it here, never by slicing the string itself.

    code = OrgCode("220102001001")
    code.level            # "village"
    code.level_label      # "村/社区" (the org_unit.level choice)
    code.township         # OrgCode("220102001000")
    code.scope.contains("220102001001")       # True
    select(t).where(OrgCode("220102001000").scope.sql(t.c.org_code))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Level = Literal["county", "township", "village"]

LEVELS: tuple[Level, ...] = ("county", "township", "village")
# The words the org_unit.level choice list uses (storage/choices.py "org_level").
LEVEL_LABELS: dict[str, str] = {"county": "县", "township": "乡镇/街道", "village": "村/社区"}
LEVEL_OF_LABEL: dict[str, str] = {label: level for level, label in LEVEL_LABELS.items()}

_COUNTY_DIGITS, _TOWNSHIP_DIGITS = 6, 9
_CODE = re.compile(r"\d{12}")


def is_org_code(text: str | None) -> bool:
    """Twelve digits (the shape only; ``storage.validation.check_org_code`` checks the content)."""
    return bool(text) and bool(_CODE.fullmatch(text))


@dataclass(frozen=True, order=True)
class OrgCode:
    """One unit's 12-digit division code."""

    code: str

    def __post_init__(self) -> None:
        if not is_org_code(self.code):
            raise ValueError(f"区划代码应为12位数字：{self.code!r}")

    def __str__(self) -> str:
        return self.code

    @property
    def level(self) -> Level:
        if self.code[_TOWNSHIP_DIGITS:] != "000":
            return "village"
        if self.code[_COUNTY_DIGITS:_TOWNSHIP_DIGITS] != "000":
            return "township"
        return "county"

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def county(self) -> "OrgCode":
        return OrgCode(self.code[:_COUNTY_DIGITS] + "000000")

    @property
    def township(self) -> "OrgCode":
        """The township a village belongs to (a township's own code; a county's code for a county)."""
        return OrgCode(self.code[:_TOWNSHIP_DIGITS] + "000")

    @property
    def parent(self) -> "OrgCode | None":
        """The unit directly above: a village's township, a township's county, none for a county."""
        level = self.level
        if level == "village":
            return self.township
        if level == "township":
            return self.county
        return None

    @property
    def scope(self) -> "Scope":
        """The area this unit governs: itself and, for a township or county, every unit below it."""
        level = self.level
        prefix = {"county": self.code[:_COUNTY_DIGITS], "township": self.code[:_TOWNSHIP_DIGITS],
                  "village": self.code}[level]
        return Scope(prefix, level)

    def within(self, other: "OrgCode | str") -> bool:
        """This unit lies in ``other``'s area (a unit lies in its own)."""
        return as_org_code(other).scope.contains(self.code)


def as_org_code(value: "OrgCode | str") -> OrgCode:
    return value if isinstance(value, OrgCode) else OrgCode(value)


@dataclass(frozen=True)
class Scope:
    """A set of org codes: one village, a township's units, a county's units, or everything.

    ``prefix`` is the part of a code every member shares ("" for everything: an admin).
    """

    prefix: str
    level: Level | Literal["all"] = "all"

    @classmethod
    def everything(cls) -> "Scope":
        return cls("", "all")

    @classmethod
    def of(cls, code: "OrgCode | str") -> "Scope":
        return as_org_code(code).scope

    def contains(self, code: str | None) -> bool:
        return bool(code) and code.startswith(self.prefix)

    @property
    def like_pattern(self) -> str:
        """A SQL LIKE pattern for the members (digits only: nothing to escape)."""
        return self.prefix + "%"

    def sql(self, column):
        """A SQLAlchemy condition: ``column`` holds a code in this scope."""
        from sqlalchemy import true

        if not self.prefix:
            return true()
        if len(self.prefix) == 12:
            return column == self.prefix
        return column.like(self.like_pattern)


__all__ = ["OrgCode", "Scope", "Level", "LEVELS", "LEVEL_LABELS", "LEVEL_OF_LABEL", "as_org_code", "is_org_code"]
