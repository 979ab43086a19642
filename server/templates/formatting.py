"""How a data value is written into a template, for the template's locale.

A place-holder without a format, `((Total))`, writes its value the same in every locale
(`format_value`): text as it is, numbers in plain digits with "." for decimals, dates ISO 8601.
A place-holder with a format, `((Total:currency:EUR))`, writes it with the CLDR formats (through
Babel) of the template's locale, English when the template has none:

    date[:style]        a date; style short, medium (the default), long or full
    datetime[:style]    a date and time, same styles
    time[:style]        a time of day, same styles
    number[:digits]     a number with the locale's separators; with digits, exactly that many
                        decimals (0-12); without, at most 3
    percent[:digits]    a fraction as a percentage (0.25 is 25 %), 0 decimals unless given
    currency:CODE       an amount in the currency with that ISO 4217 code, with its decimals

Dates and times come from JSON data as ISO 8601 text ("2024-02-29", "2024-02-29T13:05:00Z") or
as a number of seconds since 1970-01-01 UTC; a date-time without an offset is taken as UTC and a
date-time is written in the offset it carries. Numbers come as numbers or as text such as
"1234.50". Pure: Babel's locale data is read from the package, and every formatter is made once
per format and locale.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, DecimalException, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import (
    NumberPattern,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    is_currency,
)

YES = "Yes"
NO = "No"
# Formats apply the CLDR data of this locale when a template names none.
DEFAULT_LOCALE = "en"
STYLES = ("short", "medium", "long", "full")
KINDS = ("date", "datetime", "time", "number", "percent", "currency")
MAX_DIGITS = 12
FORMAT_RULE = (
    "write date, datetime or time (optionally :short, :medium, :long or :full), number or"
    " percent (optionally :digits), or currency:CODE such as currency:EUR"
)

# What a formatter is given: a value from the data (never None, a list or an object).
Formatter = Callable[[object], str]


@dataclass(frozen=True)
class Format:
    """A place-holder's format: `kind` from KINDS, `option` its style, digits or currency."""

    kind: str
    option: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.option}" if self.option else self.kind


class LocaleError(ValueError):
    """A locale tag that Babel has no formats for."""


def format_value(value: object, locale: str) -> str:
    """`value` (None, str, bool, int, float, Decimal, date, time or datetime) as text, the
    same in every locale: the writing of a place-holder without a format.

    Raises TypeError for anything else (objects and lists are not values).
    """
    del locale  # a value without a format is written the same in every locale
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return plain_float(value)
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value")


def plain_float(value: float) -> str:
    # Data from JSON has only floats: a whole number is written without ".0", and no number
    # is written with an exponent. repr() is the shortest form that reads back the same.
    text = repr(value)
    if text[-2:] == ".0":
        return text[:-2] if text != "-0.0" else "0"
    if "e" not in text:  # also nan and inf
        return text
    if value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    return _plain_decimal(Decimal(text))


def _plain_decimal(value: Decimal) -> str:
    return format(value, "f") if value.is_finite() else str(value)


def parse_format(text: str) -> Format:
    """The format written after a place-holder's path ("currency:EUR"); ValueError saying what
    is wrong with it."""
    kind, colon, option = (part.strip(" \t") for part in text.partition(":"))
    if kind not in KINDS:
        shown = kind if len(kind) <= 20 else kind[:20] + "..."
        raise ValueError(f"unknown format {shown!r}: {FORMAT_RULE}")
    if ":" in option:
        raise ValueError(f"the format {kind} takes at most one option after ':'")
    if colon and not option:
        raise ValueError(f"nothing follows '{kind}:'")
    if kind in ("date", "datetime", "time"):
        if option and option not in STYLES:
            raise ValueError(f"{kind} style {option[:20]!r} is not short, medium, long or full")
    elif kind == "currency":
        if not option:
            raise ValueError("currency needs its ISO 4217 code: write currency:EUR")
        if len(option) != 3 or not option.isascii() or not is_currency(option.upper()):
            raise ValueError(f"{option[:20]!r} is not an ISO 4217 currency code such as EUR")
        option = option.upper()
    elif option and not (option.isascii() and option.isdigit() and int(option) <= MAX_DIGITS):
        raise ValueError(f"{kind} digits must be a whole number from 0 to {MAX_DIGITS}")
    return Format(kind, option)


def locale_problem(tag: str) -> str:
    """Why `tag` is not a locale templates can be formatted for ("" when it is)."""
    try:
        _locale(tag)
    except LocaleError as error:
        return str(error)
    return ""


@lru_cache(maxsize=256)
def formatter(fmt: Format, tag: str) -> Formatter:
    """The function that writes values in `fmt` for locale `tag`; LocaleError for a tag Babel
    does not know. Made once per format and locale: Babel's patterns are looked up here."""
    locale = _locale(tag)
    if fmt.kind in ("number", "percent", "currency"):
        return _number_formatter(fmt, locale)
    style = fmt.option or "medium"
    if fmt.kind == "date":
        return lambda value: format_date(_date(value), style, locale)
    if fmt.kind == "datetime":
        return lambda value: format_datetime(_datetime(value), style, locale=locale)
    return lambda value: format_time(_time(value), style, locale=locale)


@lru_cache(maxsize=256)
def _locale(tag: str) -> Locale:
    wanted = (tag or DEFAULT_LOCALE).replace("-", "_")
    try:
        locale = Locale.parse(wanted)
    except (UnknownLocaleError, ValueError, TypeError):
        raise LocaleError(_LOCALE_RULE) from None
    # Babel falls back to a likely locale for an unknown region ("en_ZZ" is en_US): refused, so
    # that a template is formatted for the locale it names.
    parts = wanted.split("_")
    region = next((p for p in parts[1:] if len(p) in (2, 3)), "")
    if locale.language != parts[0].lower() or (region and region.upper() != locale.territory):
        raise LocaleError(_LOCALE_RULE)
    return locale


_LOCALE_RULE = "is not a locale with known formats: write a tag such as 'en', 'nb-NO' or 'de-DE'"


# -- values ------------------------------------------------------------------------------------

_DATE_VALUE = "a date: ISO 8601 text such as 2024-02-29, or seconds since 1970"
_DATETIME_VALUE = (
    "a date and time: ISO 8601 text such as 2024-02-29T13:05:00Z, or seconds since 1970"
)
_TIME_VALUE = "a time: ISO 8601 text such as 13:05 or 2024-02-29T13:05:00Z, or seconds since 1970"
_NUMBER_VALUE = "a number: a number, or text such as 1234.50"


def _datetime(value: object, kind: str = _DATETIME_VALUE) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        if isinstance(value, str):
            return datetime.fromisoformat(value.strip())
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ValueError(f"is not {kind}")


def _date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return _datetime(value, _DATE_VALUE).date()


def _time(value: object) -> time | datetime:
    if isinstance(value, time):
        return value
    try:
        return _datetime(value, _TIME_VALUE)
    except ValueError:
        if not isinstance(value, str):
            raise
    try:
        return time.fromisoformat(value.strip())  # a time of day alone, "13:05"
    except ValueError:
        raise ValueError(f"is not {_TIME_VALUE}") from None


def _decimal(value: object) -> Decimal:
    number: Decimal | None = None
    if isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else None
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and len(value) <= 100:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        raise ValueError(f"is not {_NUMBER_VALUE}")
    return number


# -- numbers -----------------------------------------------------------------------------------


def _number_formatter(fmt: Format, locale: Locale) -> Formatter:
    currency = fmt.option if fmt.kind == "currency" else None
    if fmt.kind == "currency":
        pattern = locale.currency_formats["standard"]
        digits = get_currency_precision(fmt.option)
        frac = (digits, digits)
    else:
        formats = locale.decimal_formats if fmt.kind == "number" else locale.percent_formats
        pattern = formats[None]
        frac = (int(fmt.option),) * 2 if fmt.option else pattern.frac_prec
    if frac != pattern.frac_prec:
        # Babel's patterns are shared: the copy takes the digits asked for.
        pattern = copy.copy(pattern)
        pattern.frac_prec = frac
    fast = _FastNumber.of(pattern, locale, currency)

    def write(value: object) -> str:
        number = _decimal(value)
        try:
            if fast is not None:
                return fast.apply(number)
            return str(pattern.apply(number, locale, currency=currency, currency_digits=True))
        except DecimalException:  # beyond the 28 digits of decimal's context, or its exponents
            raise ValueError("has too many digits to format") from None

    return write


class _FastNumber:
    """NumberPattern.apply for the common patterns ("#,##0.###", "#,##0.00 ¤", "#,##0 %"),
    with everything that depends only on the locale and currency worked out once.

    The same steps as Babel's (scale, round half even, group, trim the fraction), several times
    faster; a test holds the two equal. Patterns with exponents, significant digits or quotes go
    to Babel.
    """

    def __init__(
        self,
        pattern: NumberPattern,
        prefixes: tuple[str, str],
        suffixes: tuple[str, str],
        group: str,
        decimal: str,
    ) -> None:
        self._scale = pattern.scale
        self._min_int = pattern.int_prec[0]
        self._primary, self._secondary = pattern.grouping
        self._min_frac, self._max_frac = pattern.frac_prec
        self._quantum = Decimal(1).scaleb(-self._max_frac)
        self._prefixes = prefixes
        self._suffixes = suffixes
        self._group = group
        self._decimal = decimal

    @classmethod
    def of(cls, pattern: NumberPattern, locale: Locale, currency: str | None) -> _FastNumber | None:
        if pattern.exp_prec or "@" in pattern.pattern or not pattern.number_pattern:
            return None
        texts = [*pattern.prefix, *pattern.suffix]
        if any("'" in t or "¤¤" in t for t in texts):
            return None
        if currency is not None:
            symbol = get_currency_symbol(currency, locale)
            texts = [t.replace("¤", symbol) for t in texts]
        elif any("¤" in t for t in texts):
            return None
        return cls(
            pattern,
            (texts[0], texts[1]),
            (texts[2], texts[3]),
            get_group_symbol(locale),
            get_decimal_symbol(locale),
        )

    def apply(self, value: Decimal) -> str:
        value = value.scaleb(self._scale)
        negative = int(value.is_signed())
        rounded = abs(value).normalize().quantize(self._quantum)
        whole, _, fraction = f"{rounded:f}".partition(".")
        if len(whole) < self._min_int:
            whole = "0" * (self._min_int - len(whole)) + whole
        size = self._primary
        if len(whole) > size:
            groups = []
            while len(whole) > size:
                groups.append(whole[-size:])
                whole = whole[:-size]
                size = self._secondary
            groups.append(whole)
            whole = self._group.join(reversed(groups))
        number = whole + self._fraction(fraction)
        return self._prefixes[negative] + number + self._suffixes[negative]

    def _fraction(self, digits: str) -> str:
        low = self._min_frac
        if len(digits) < low:
            digits += "0" * (low - len(digits))
        if self._max_frac == 0 or (low == 0 and not digits.strip("0")):
            return ""
        digits = digits.rstrip("0")
        if len(digits) < low:
            digits += "0" * (low - len(digits))
        return self._decimal + digits
