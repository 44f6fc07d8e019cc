"""Whole numbers from URLs and query strings, bounded to what the database can hold.

Ids are 32-bit INTEGER columns on PostgreSQL (1..2147483647) and SQLite refuses
anything past 64 bits, so a larger number would reach the database only to fail with a
500. Every path segment declared `<int:…>` goes through `BoundedIntConverter` (it
replaces Flask's `int` converter app-wide): a number outside 1..2147483647 does not
match the route, which answers 404. Every integer in a query string goes through
`query_int`: missing or not a number gives the default, out of range answers 404. Ids
sent in forms go through `id_from`, which the form then refuses as it would any other
unknown choice."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter, ValidationError

from webapp.errors import NotFound

ID_MAX = 2**31 - 1  # PostgreSQL INTEGER
PAGE_MAX = 100_000  # far past any list's last page, and its OFFSET fits every database


def _same_length_at_most(limit: str) -> str:
    """A regex for the digit strings as long as `limit` and not above it."""
    first, rest = int(limit[0]), limit[1:]
    tail = f"\\d{{{len(rest)}}}" if rest else ""
    alternatives = [f"[0-{first - 1}]{tail}"] if first else []
    alternatives.append(f"{first}(?:{_same_length_at_most(rest)})" if rest else str(first))
    return "|".join(alternatives)


def digits_up_to(limit: int) -> str:
    """A regex for 1..limit written without leading zeros."""
    text = str(limit)
    if len(text) == 1:
        return f"[1-{text}]"
    first, rest = int(text[0]), text[1:]
    alternatives = [f"[1-9]\\d{{0,{len(text) - 2}}}"]
    if first > 1:
        alternatives.append(f"[1-{first - 1}]\\d{{{len(rest)}}}")
    alternatives.append(f"{first}(?:{_same_length_at_most(rest)})")
    return "(?:" + "|".join(alternatives) + ")"


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` limited to 1..2147483647 unless a rule asks for other bounds. The
    bound is in the regex too, so that a URL with a number past it matches no rule at
    all (404), rather than matching another method's rule (405)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = 1, max: int | None = ID_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        if not fixed_digits and not signed and min == 1 and max is not None:
            self.regex = digits_up_to(max)

    def to_python(self, value: str) -> int:
        # Before int(): Python refuses to read numbers of more than 4,300 digits.
        if len(value.lstrip("0")) > len(str(self.max if self.max is not None else ID_MAX)):
            raise ValidationError()
        return super().to_python(value)  # type: ignore[no-any-return]


def parse_int(raw: str | None, *, low: int, high: int) -> int | None:
    """`raw` as a whole number within low..high; None when it is not one; NotFound
    when it is a number out of range."""
    text = (raw or "").strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits.lstrip("0")) > max(len(str(abs(low))), len(str(abs(high)))):
        raise NotFound()
    value = int(text)
    if not low <= value <= high:
        raise NotFound()
    return value


def id_from(text: str | None) -> int | None:
    """An id sent in a form or a reference ("title:<id>", a card, a friend, a group):
    the number, or None when it is not one the database could hold."""
    try:
        return parse_int(text, low=1, high=ID_MAX)
    except NotFound:
        return None


def query_int(name: str, default: int | None = None, *, low: int = 1, high: int = ID_MAX) -> int | None:
    """The query-string integer `name`: `default` when missing or not a number, 404
    when out of low..high."""
    value = parse_int(request.args.get(name), low=low, high=high)
    return default if value is None else value
