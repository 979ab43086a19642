"""How a data value is written into a template, for the template's locale.

The one place values become text, so that locale-aware formats (Babel) can replace these neutral
ones without touching rendering: for now dates are ISO 8601 and numbers are plain digits with a
"." for decimals, whatever the locale.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal

YES = "Yes"
NO = "No"


def format_value(value: object, locale: str) -> str:
    """`value` (None, str, bool, int, float, Decimal, date, time or datetime) as text.

    Raises TypeError for anything else (objects and lists are not values).
    """
    del locale  # every locale formats the same until locale data is added
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value")


def _float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    # Data from JSON has only floats: a whole number is written without ".0", and no number
    # is written with an exponent. repr() is the shortest form that reads back the same.
    if value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    text = repr(value)
    return text if "e" not in text else _decimal(Decimal(text))


def _decimal(value: Decimal) -> str:
    return format(value, "f") if value.is_finite() else str(value)
