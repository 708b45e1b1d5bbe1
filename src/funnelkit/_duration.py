"""Durations: wall-clock ``timedelta``, business time, and the text of both."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal, localcontext

import attrs

from funnelkit.errors import ValidationError

__all__ = [
    "BusinessDuration",
    "format_duration",
    "format_iso_duration",
    "parse_duration",
    "parse_iso_duration",
]

_ZERO = timedelta(0)
_MICROS = {
    "weeks": 7 * 86_400 * 1_000_000,
    "days": 86_400 * 1_000_000,
    "hours": 3_600 * 1_000_000,
    "minutes": 60 * 1_000_000,
    "seconds": 1_000_000,
}
_UNITS = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "seconds"),
}
_EXPECTED = (
    "a duration such as '30 days', '2 weeks', '90 minutes', '8 business hours', "
    "'10 business days' or ISO 8601 'PT8H'"
)
_HUMAN_TERM = re.compile(
    r"\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<business>business\s+)?(?P<unit>[a-z]+)"
    r"\s*(?:,\s*(?:and\s+)?|and\s+)?",
    re.IGNORECASE,
)
_ISO = re.compile(
    r"(?P<sign>-)?P(?!$)"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)"
    r"(?:(?P<hours>\d+(?:[.,]\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?",
    re.IGNORECASE,
)


def _check_days(
    instance: BusinessDuration, attribute: attrs.Attribute[int], value: object
) -> None:
    if type(value) is not int or value < 0:
        raise ValidationError(
            owner=type(instance).__name__,
            field=attribute.name,
            value=value,
            expected="a whole number of business days, 0 or more",
        )


def _check_time(
    instance: BusinessDuration, attribute: attrs.Attribute[timedelta], value: object
) -> None:
    if not isinstance(value, timedelta) or value < _ZERO:
        raise ValidationError(
            owner=type(instance).__name__,
            field=attribute.name,
            value=value,
            expected="a timedelta of open business time, 0 or more",
        )


@attrs.frozen(kw_only=True)
class BusinessDuration:
    """An amount of business time, counted on a business calendar.

    ``time`` is open time: ``"8 business hours"`` is eight hours spent inside
    the calendar's opening hours, however many nights and weekends lie between.
    ``days`` counts whole open days: ``"10 business days"`` ends at the same
    local time ten open days later, however long those days are.
    When both are set, a calendar adds the days first, then the time.

    The value holds no calendar: only a calendar can turn it into an instant.

    >>> from datetime import timedelta
    >>> from funnelkit import BusinessDuration, parse_duration
    >>> parse_duration("8 business hours")
    BusinessDuration(days=0, time=datetime.timedelta(seconds=28800))
    >>> str(BusinessDuration(days=1, time=timedelta(minutes=90)))
    '1 business day 1 business hour 30 business minutes'
    """

    days: int = attrs.field(default=0, validator=_check_days)
    time: timedelta = attrs.field(default=_ZERO, validator=_check_time)

    def __add__(self, other: object) -> BusinessDuration:
        if not isinstance(other, BusinessDuration):
            return NotImplemented
        return BusinessDuration(
            days=self.days + other.days, time=self.time + other.time
        )

    def __bool__(self) -> bool:
        return bool(self.days or self.time)

    def __str__(self) -> str:
        return format_duration(self)


def _error(text: object, expected: str = _EXPECTED) -> ValidationError:
    return ValidationError(field="duration", value=text, expected=expected)


#: The most digits a number of a duration may have: 999,999,999 days are 20
#: digits of microseconds, and a fraction finer than one is refused anyway.
_MOST_DIGITS = 40


def _checked_number(number: str, text: str) -> str:
    """*number* if it has at most _MOST_DIGITS characters, else refuse *text*."""
    if len(number) > _MOST_DIGITS:
        raise _error(text, f"numbers of at most {_MOST_DIGITS} digits")
    return number


def _to_micros(number: str, unit: str, text: str) -> int:
    # Exact: the default context's 28 digits would round a finer fraction away.
    with localcontext(prec=2 * _MOST_DIGITS):
        micros = Decimal(_checked_number(number, text).replace(",", "."))
        micros *= _MICROS[unit]
    if micros != micros.to_integral_value():
        raise _error(text, "a duration no finer than one microsecond")
    return int(micros)


def _timedelta(micros: int, text: object) -> timedelta:
    try:
        return timedelta(microseconds=micros)
    except OverflowError:
        raise _error(text, "a duration of at most 999,999,999 days") from None


def parse_iso_duration(text: str, *, allow_negative: bool = False) -> timedelta:
    """Parse an ISO 8601 duration such as ``"PT8H"`` or ``"P1DT30M"``.

    Years and months are rejected: they have no fixed length.

    Raises:
        ValidationError: *text* is not such a duration.
    """
    match = _ISO.fullmatch(text.strip())
    if match is None:
        if re.fullmatch(r"-?P.*\d[YM].*", text.strip().split("T")[0], re.IGNORECASE):
            raise _error(
                text,
                "days, hours, minutes or seconds: years and months "
                "have no fixed length",
            )
        raise _error(text)
    if match["sign"] and not allow_negative:
        raise _error(text, "a duration of zero or more")
    micros = sum(_to_micros(match[unit], unit, text) for unit in _MICROS if match[unit])
    return _timedelta(-micros if match["sign"] else micros, text)


def parse_duration(text: str) -> timedelta | BusinessDuration:
    """Parse a duration as policies write it.

    Wall-clock durations become :class:`~datetime.timedelta`;
    business durations become :class:`BusinessDuration`.

    * ``"30 days"``, ``"2 weeks"``, ``"1 day 4 hours"``, ``"1h30m"``,
      ``"90 minutes"``, ``"1.5 hours"``: wall-clock time.
    * ``"8 business hours"``, ``"10 business days"``,
      ``"1 business day 4 business hours"``: business time.
    * ``"PT8H"``, ``"P1DT30M"``, ``"P2W"``: ISO 8601 (wall-clock time).

    Units are weeks, days, hours, minutes and seconds, long or short
    (``w``, ``d``, ``h``, ``m``, ``s``), in any case.
    A duration is never negative; business weeks and fractional business days
    are rejected, since only a calendar knows how long they are.

    >>> parse_duration("30 days")
    datetime.timedelta(days=30)
    >>> parse_duration("PT1H30M") == parse_duration("90 minutes")
    True

    Raises:
        ValidationError: *text* is not a duration; the message says why.
    """
    if not isinstance(text, str):
        raise _error(text)
    stripped = text.strip()
    if stripped.startswith("-"):
        raise _error(text, "a duration of zero or more")
    if stripped[:1] in {"P", "p"}:
        return parse_iso_duration(stripped)
    terms = list(_human_terms(stripped, text))
    if not terms:
        raise _error(text)
    if len({business for business, _, _ in terms}) > 1:
        raise _error(text, "either wall-clock or business units, not both")
    if not terms[0][0]:
        return _timedelta(sum(_to_micros(n, unit, text) for _, n, unit in terms), text)
    return _business(terms, text)


def _business(terms: list[tuple[bool, str, str]], text: str) -> BusinessDuration:
    days = 0
    time = 0
    for _, number, unit in terms:
        if unit == "weeks":
            raise _error(
                text, "business days: a business week's length depends on the calendar"
            )
        if unit != "days":
            time += _to_micros(number, unit, text)
        elif "." in number:
            raise _error(text, "a whole number of business days")
        else:
            days += int(_checked_number(number, text))
    return BusinessDuration(days=days, time=_timedelta(time, text))


def _human_terms(stripped: str, text: str) -> Iterator[tuple[bool, str, str]]:
    """Yield ``(is_business, number, unit)`` for each term of human-written text."""
    position = 0
    while position < len(stripped):
        match = _HUMAN_TERM.match(stripped, position)
        unit = _UNITS.get(match["unit"].lower()) if match else None
        if match is None or unit is None:
            raise _error(text)
        position = match.end()
        yield match["business"] is not None, match["number"], unit


def _plural(count: int | str, unit: str) -> str:
    return f"{count} {unit}" if count in {1, "1"} else f"{count} {unit}s"


def _time_terms(time: timedelta, prefix: str, *, calendar_days: bool) -> list[str]:
    days, seconds, micros = time.days, time.seconds, time.microseconds
    terms: list[str] = []
    if calendar_days:
        # Weeks only when whole: "30 days" reads better than "4 weeks 2 days".
        if days and days % 7 == 0:
            terms.append(_plural(days // 7, prefix + "week"))
        elif days:
            terms.append(_plural(days, prefix + "day"))
    else:
        # Business time has no days: 30 open hours are not "1 day 6 hours".
        seconds += days * 86_400
    hours, rest = divmod(seconds, 3600)
    minutes, whole = divmod(rest, 60)
    if hours:
        terms.append(_plural(hours, prefix + "hour"))
    if minutes:
        terms.append(_plural(minutes, prefix + "minute"))
    if whole or micros:
        number = f"{whole}.{micros:06d}".rstrip("0").rstrip(".") if micros else whole
        terms.append(_plural(number, prefix + "second"))
    return terms


def format_duration(value: timedelta | BusinessDuration) -> str:
    """Write a duration as text that :func:`parse_duration` reads back exactly.

    >>> format_duration(timedelta(days=15, hours=2))
    '15 days 2 hours'
    >>> format_duration(timedelta(days=14))
    '2 weeks'
    >>> format_duration(parse_duration("8 business hours"))
    '8 business hours'

    Raises:
        ValidationError: *value* is a negative timedelta or not a duration.
    """
    if isinstance(value, BusinessDuration):
        terms = [_plural(value.days, "business day")] if value.days else []
        terms += _time_terms(value.time, "business ", calendar_days=False)
        return " ".join(terms) or "0 business hours"
    candidate: object = value  # callers may pass anything at run time
    if not isinstance(candidate, timedelta) or candidate < _ZERO:
        raise _error(value, "a timedelta of zero or more, or a BusinessDuration")
    return " ".join(_time_terms(value, "", calendar_days=True)) or "0 seconds"


def format_iso_duration(value: timedelta) -> str:
    """Write a timedelta as an ISO 8601 duration (``"P1DT2H"``), sign included."""
    sign = "-" if value < _ZERO else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    date = f"{value.days}D" if value.days else ""
    time = ""
    if hours:
        time += f"{hours}H"
    if minutes:
        time += f"{minutes}M"
    if seconds or value.microseconds:
        number = f"{seconds}.{value.microseconds:06d}".rstrip("0").rstrip(".")
        time += f"{number}S"
    if not date and not time:
        return "PT0S"
    return f"{sign}P{date}" + (f"T{time}" if time else "")
