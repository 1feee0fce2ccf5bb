"""One line of the doctor's report."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Check", "Level"]


class Level(enum.Enum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """What was checked, how it went, and (for WARN/FAIL) the fix."""

    area: str
    level: Level
    message: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.level.value:<4}  {self.area:<10} {self.message}"
        return f"{text}\n      {'':<10} fix: {self.fix}" if self.fix else text
