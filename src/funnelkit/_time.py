"""Time rules: the clock protocol, the one wall-clock reader, aware-datetime checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, available_timezones

import attrs

from funnelkit.errors import NaiveDatetimeError, ValidationError

__all__ = [
    "Clock",
    "SystemClock",
    "add_elapsed",
    "add_elapsed_or_never",
    "elapsed",
    "from_utc_micros",
    "in_utc",
    "is_aware",
    "require_aware",
    "span_micros",
    "utc_micros",
]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time as a timezone-aware datetime.

    The engine asks its clock whenever a call does not say when it happens.
    Use :class:`SystemClock` in production and
    :class:`funnelkit.testing.ManualClock` in tests.
    """

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


@attrs.frozen
class SystemClock:
    """The real clock: the only place in funnelkit that reads the wall clock.

    Args:
        tz: The time zone of the datetimes it returns (UTC by default); the
            instant is the same whatever the zone.

    >>> SystemClock().now().tzinfo
    datetime.timezone.utc
    """

    tz: tzinfo = attrs.field(default=UTC)

    @tz.validator
    def _check_tz(self, attribute: attrs.Attribute[tzinfo], value: object) -> None:
        if not isinstance(value, tzinfo):
            raise ValidationError(
                owner="SystemClock",
                field=attribute.name,
                value=value,
                expected="a tzinfo such as datetime.UTC or ZoneInfo('Europe/Berlin')",
            )

    def now(self) -> datetime:
        """Return the current time in :attr:`tz`."""
        return datetime.now(self.tz)  # the one wall-clock read in funnelkit


def is_aware(value: datetime) -> bool:
    """Tell whether *value* knows its offset from UTC (Python's definition)."""
    tz = value.tzinfo
    return tz is not None and tz.utcoffset(value) is not None


def require_aware(value: object, *, field: str, owner: str | None = None) -> datetime:
    """Return *value* if it is a timezone-aware datetime, else raise.

    Raises:
        NaiveDatetimeError: *value* is a datetime without a time zone.
        ValidationError: *value* is not a datetime at all (a ``date`` included).
    """
    if not isinstance(value, datetime):
        raise ValidationError(
            owner=owner,
            field=field,
            value=value,
            expected="a timezone-aware datetime",
        )
    if not is_aware(value):
        raise NaiveDatetimeError(owner=owner, field=field, value=value)
    if value.year in _EDGE_YEARS:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                owner=owner,
                field=field,
                value=value,
                expected="an instant within datetime's range in UTC too "
                "(years 1 to 9999)",
            ) from None
    if type(value) is not datetime and getattr(value, "nanosecond", None):
        raise ValidationError(
            owner=owner,
            field=field,
            value=value,
            expected="an instant in whole microseconds (a datetime holds no finer; "
            "round a pandas Timestamp first)",
        )
    return value


# The years where an instant's UTC form may fall outside datetime's range.
_EDGE_YEARS = frozenset({1, 9999})


def utc_micros(value: datetime) -> int:
    """Return the instant of an aware *value* as whole microseconds since 1970 UTC.

    Exact for every aware datetime Python can hold, including ones whose UTC
    equivalent would fall outside ``datetime``'s range.
    """
    # Aware subtraction works on wall times and offsets: it never overflows,
    # even where the UTC form of *value* would fall outside datetime's range.
    # span_micros, inlined (this runs for every instant the store indexes and
    # the calendar counts): a third cheaper than ``// _MICROSECOND``.
    span = value - _EPOCH_UTC
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def span_micros(value: timedelta) -> int:
    """Return *value* as whole microseconds, exactly (no division, no float)."""
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def from_utc_micros(micros: int, tz: tzinfo | None) -> datetime:
    """Return the instant *micros* (since 1970 UTC) in *tz*: utc_micros undone."""
    # A product, not timedelta(microseconds=...): keywords cost more than it.
    return (_EPOCH_UTC + _MICROSECOND * micros).astimezone(tz)


def add_elapsed(at: datetime, delta: timedelta) -> datetime:
    """Return the instant *delta* of elapsed time after *at*, in *at*'s time zone.

    Python adds a ``timedelta`` to an aware datetime on its local clock: 30
    days after 09:00 on 2 March in London is 09:00 on 1 April, only 29 days
    and 23 hours later, because the clocks went forward in between. funnelkit's
    durations are elapsed time (as decay is), so it adds them in UTC.

    >>> from zoneinfo import ZoneInfo
    >>> london = ZoneInfo("Europe/London")
    >>> add_elapsed(datetime(2026, 3, 2, 9, tzinfo=london), timedelta(days=30))
    datetime.datetime(2026, 4, 1, 10, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/London'))
    """
    return (in_utc(at) + delta).astimezone(at.tzinfo)


def add_elapsed_or_never(at: datetime, delta: timedelta) -> datetime | None:
    """Return :func:`add_elapsed`, or ``None`` past the last instant Python holds.

    For a wake: a verdict that changes only after the year 9999 never does.
    """
    try:
        return add_elapsed(at, delta)
    except OverflowError:
        return None


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Return the elapsed time from *start* to *end* (negative if *end* is earlier).

    Python subtracts two datetimes of one time zone on their local clocks,
    which miscounts across a clock change; this counts real time.
    """
    return in_utc(end) - in_utc(start)


def in_utc(value: datetime) -> datetime:
    """Return *value* in UTC: the form in which aware datetimes compare exactly.

    Python compares two datetimes of one time zone on their local clocks and
    ignores ``fold``, so 01:50 BST sorts after 01:10 GMT on the night London's
    clocks go back, though it comes 20 minutes earlier. funnelkit compares
    instants that may share a time zone in UTC.
    """
    return value.astimezone(UTC)


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def is_zone_name(value: object) -> bool:
    """Whether *value* is the key of a zone in this machine's IANA database.

    Other files of the zone folders are not: the machine's own zone
    (``"localtime"``, which some systems link there), ``"posixrules"``, the
    ``posix/`` and ``right/`` copies; nor is ``"Factory"``, the IANA
    placeholder for a zone nobody set.
    """
    # available_timezones() lists only files that begin as zone data do.
    return isinstance(value, str) and value in _zone_names()


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone *name*; a ValidationError naming ``timezone`` if it is none."""
    if not is_zone_name(name):
        raise ValidationError(
            field="timezone", value=name, expected="an IANA time zone name"
        )
    return ZoneInfo(name)


@cache
def _zone_names() -> frozenset[str]:
    """The IANA keys this machine knows (read from disk once)."""
    return frozenset(available_timezones() - _NOT_ZONES)


# Files that available_timezones() may list though they name no IANA zone.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
