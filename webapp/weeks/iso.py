"""ISO 8601 weeks: they start on Monday, and week 1 is the week with the year's first
Thursday, so a year has 52 or 53 weeks and its first days may belong to the last week
of the year before (2027-01-02 is in 2026-W53; 2025-12-29 is in 2026-W01)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

MIN_YEAR, MAX_YEAR = 1900, 2200
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")


class NoSuchWeek(ValueError):
    """A year or week number that names no ISO week: the message says why."""


def weeks_in_year(year: int) -> int:
    # 28 December is always in the last ISO week of its year.
    return date(year, 12, 28).isocalendar().week


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def parse(cls, year: str | int, week: str | int) -> IsoWeek:
        """Year and week as they come from a URL: anything that names no week raises
        NoSuchWeek with a message for the visitor."""
        y, w = str(year).strip(), str(week).strip()
        if not (y.isascii() and y.isdigit() and len(y) <= 4) or not MIN_YEAR <= int(y) <= MAX_YEAR:
            raise NoSuchWeek(f"Weeks are kept for the years {MIN_YEAR} to {MAX_YEAR}.")
        if not (w.isascii() and w.isdigit() and len(w) <= 2):
            raise NoSuchWeek("Weeks are numbered 1 to 53.")
        y_num, w_num = int(y), int(w)
        last = weeks_in_year(y_num)
        if not 1 <= w_num <= last:
            raise NoSuchWeek(f"{y_num} has weeks 1 to {last}: there is no week {w_num}.")
        return cls(y_num, w_num)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def month(self) -> int:
        """The month a week counts for: its Thursday's (as the ISO year does)."""
        return (self.monday + timedelta(days=3)).month

    def _shift(self, days: int) -> IsoWeek | None:
        shifted = IsoWeek.of(self.monday + timedelta(days=days))
        return shifted if MIN_YEAR <= shifted.year <= MAX_YEAR else None

    @property
    def previous(self) -> IsoWeek | None:
        return self._shift(-7)

    @property
    def next(self) -> IsoWeek | None:
        return self._shift(7)

    @property
    def label(self) -> str:
        return f"Week {self.week}, {self.year}"

    @property
    def dates(self) -> str:
        """'2 – 8 March 2026', '29 December 2025 – 4 January 2026'."""
        start, end = self.monday, self.sunday
        fmt = lambda d, year=True: f"{d.day} {MONTH_NAMES[d.month - 1]}" + (f" {d.year}" if year else "")  # noqa: E731
        if start.year != end.year:
            return f"{fmt(start)} – {fmt(end)}"
        if start.month != end.month:
            return f"{fmt(start, False)} – {fmt(end)}"
        return f"{start.day} – {fmt(end)}"

    @property
    def code(self) -> str:
        return f"{self.year}-W{self.week:02d}"
