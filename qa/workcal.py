"""The working calendar of the standards' deadlines: Monday to Friday, minus public holidays,
plus the weekend days worked instead (调休).

The shipped days are ``qa/config/holidays.yaml``; days an admin stores (``models.Holiday``)
override them. A deadline of *n working days* from a moment is the end of the n-th working
day after that moment's day (a complaint on Monday morning with 3 working days is due at the
end of Thursday; on Friday, at the end of the next Wednesday).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

__all__ = ["Calendar", "default_days", "end_of_day"]

HOLIDAYS_FILE = Path(__file__).resolve().parent / "config" / "holidays.yaml"


@lru_cache(maxsize=1)
def default_days() -> dict[date, tuple[bool, str]]:
    """``day -> (working, name)`` of the shipped calendar."""
    doc = yaml.safe_load(HOLIDAYS_FILE.read_text(encoding="utf-8")) or {}
    out: dict[date, tuple[bool, str]] = {}
    for key, working in (("holidays", False), ("working", True)):
        for d, name in (doc.get(key) or {}).items():
            out[d if isinstance(d, date) else date.fromisoformat(str(d))] = (working, str(name))
    return out


def end_of_day(d: date, tz) -> datetime:  # noqa: ANN001 - a tzinfo
    return datetime.combine(d, time(23, 59, 59), tz)


@dataclass(frozen=True)
class Calendar:
    """Working days: Monday–Friday unless ``days`` says otherwise (``day -> working``)."""

    days: dict[date, bool] = field(default_factory=dict)

    @classmethod
    def with_overrides(cls, rows: Iterable[tuple[date, bool]] = ()) -> "Calendar":
        days = {d: w for d, (w, _) in default_days().items()}
        days.update(dict(rows))
        return cls(days)

    def is_working(self, d: date) -> bool:
        return self.days.get(d, d.weekday() < 5)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The end of the ``n``-th working day after ``start``'s (local) day."""
        d = start.date()
        left = n
        while left > 0:
            d += timedelta(days=1)
            if self.is_working(d):
                left -= 1
        return end_of_day(d, start.tzinfo)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``."""
        n, d = 0, a
        while d < b:
            d += timedelta(days=1)
            n += self.is_working(d)
        return n
