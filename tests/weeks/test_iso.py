"""ISO weeks: Monday starts, 52 or 53 weeks, the year boundary."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.weeks.iso import IsoWeek, NoSuchWeek, weeks_in_year


def test_the_last_days_of_2025_are_in_2026_week_1():
    assert IsoWeek.of(date(2025, 12, 29)) == IsoWeek(2026, 1)
    assert IsoWeek(2026, 1).monday == date(2025, 12, 29)


def test_2026_has_53_weeks_and_2025_has_52():
    assert weeks_in_year(2026) == 53
    assert weeks_in_year(2025) == 52
    assert IsoWeek.parse(2026, 53) == IsoWeek(2026, 53)


def test_the_first_days_of_2027_are_in_2026_week_53():
    assert IsoWeek.of(date(2027, 1, 2)) == IsoWeek(2026, 53)
    assert IsoWeek.of(date(2027, 1, 4)) == IsoWeek(2027, 1)


def test_weeks_start_on_monday():
    week = IsoWeek(2026, 10)
    assert week.monday == date(2026, 3, 2) and week.monday.weekday() == 0
    assert week.sunday == date(2026, 3, 8)
    assert week.dates == "2 – 8 March 2026"
    assert IsoWeek(2026, 1).dates == "29 December 2025 – 4 January 2026"
    assert IsoWeek(2026, 5).dates == "26 January – 1 February 2026"


def test_previous_and_next_cross_years():
    assert IsoWeek(2026, 1).previous == IsoWeek(2025, 52)
    assert IsoWeek(2026, 53).next == IsoWeek(2027, 1)
    assert IsoWeek(2027, 1).previous == IsoWeek(2026, 53)
    assert IsoWeek(2200, 52).next is None or IsoWeek(2200, 52).next.year == 2200
    assert IsoWeek(1900, 1).previous is None


def test_a_week_counts_for_the_month_of_its_thursday():
    assert IsoWeek(2026, 1).month == 1  # Thursday 1 January 2026
    assert IsoWeek(2026, 5).month == 1  # Thursday 29 January


@pytest.mark.parametrize(
    "year,week,message",
    [
        ("2025", "53", "2025 has weeks 1 to 52: there is no week 53."),
        ("2026", "54", "2026 has weeks 1 to 53: there is no week 54."),
        ("2026", "0", "2026 has weeks 1 to 53: there is no week 0."),
        ("0", "1", "Weeks are kept for the years 1900 to 2200."),
        ("99999", "1", "Weeks are kept for the years 1900 to 2200."),
        ("2026", "ten", "Weeks are numbered 1 to 53."),
        ("2026", "-1", "Weeks are numbered 1 to 53."),
        ("2026", "１", "Weeks are numbered 1 to 53."),  # a full-width digit
        ("20x6", "1", "Weeks are kept for the years 1900 to 2200."),
    ],
)
def test_impossible_weeks_say_why(year, week, message):
    with pytest.raises(NoSuchWeek) as error:
        IsoWeek.parse(year, week)
    assert str(error.value) == message
