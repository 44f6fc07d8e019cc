"""Form helpers shared by features."""

from __future__ import annotations

from typing import Any

from wtforms.validators import ValidationError


class IntegerRange:
    """Like wtforms' NumberRange for whole numbers, but safe for huge input: NumberRange
    calls math.isnan(), which overflows on integers with hundreds of digits."""

    def __init__(self, min: int, max: int, message: str | None = None) -> None:
        self.min, self.max = min, max
        self.message = message or f"Enter a whole number from {min} to {max}."
        self.field_flags = {"min": min, "max": max}

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is None:
            return
        if not isinstance(field.data, int) or not self.min <= field.data <= self.max:
            raise ValidationError(self.message)
