"""Business calendars: opening hours in a time zone, holidays, and time counted in them.

Everything is computed on instants (microseconds since 1970 UTC): a local
opening interval becomes two instants through the calendar's time zone, so an
09:00-17:00 day is eight real hours on a day the clocks change too, and an
overnight shift on the night the clocks go back lasts an hour longer.
Arithmetic walks day by day only over the days that differ from the usual
week (holidays, clock changes); runs of ordinary weeks are jumped over whole.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_left
from calendar import monthrange
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from functools import reduce
from itertools import combinations, pairwise
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import attrs
from dateutil.rrule import YEARLY, rrule, rrulestr

from funnelkit._duration import BusinessDuration
from funnelkit._frozen import FrozenMap
from funnelkit._time import (
    from_utc_micros,
    is_zone_name,
    require_aware,
    span_micros,
    utc_micros,
)
from funnelkit._validators import is_items, is_unordered
from funnelkit.errors import MissingExtraError, PolicyError, ValidationError

__all__ = ["BusinessCalendar", "BusinessHours", "Holiday"]

#: The weekday names of :attr:`BusinessCalendar.hours`, Monday first.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DAY_MICROS = 86_400_000_000
_CLOCK = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})")
# How far ahead arithmetic looks for open time before it gives up (a calendar
# whose holidays close every day would otherwise never end).
_HORIZON_DAYS = 3_660
# Rules without a DTSTART of their own count from here.
_RULE_START = datetime(2000, 1, 1)  # noqa: DTZ001 -- rrule works on local dates
_RULE_YEARS = 8  # the fewest years of holiday rules read at once
_CACHE = 4_096  # days of intervals a calendar keeps, at most
_BEFORE_ALL = -(1 << 62)  # microseconds: earlier than any datetime
# The instants the calendar counts in, the UTC years 2 to 9998: a day either
# side of one, in any time zone, is a date Python holds.
_FIRST = datetime(2, 1, 1, tzinfo=UTC)
_END = datetime(9999, 1, 1, tzinfo=UTC)  # the first instant beyond them
_FIRST_MICROS = utc_micros(_FIRST)
_END_MICROS = utc_micros(_END)
# The last local day whose hours may open before _END (an offset from UTC is
# under a day), and the UTC midnights that _changes may read: each, and the
# days around it that _year works out, has a local form Python holds.
_LAST_DAY = date(9999, 1, 1).toordinal()
_SAMPLED = (date(1, 1, 5).toordinal(), date(9999, 12, 30).toordinal())
_RANGE = f"an instant at or after {_FIRST.isoformat()} and before {_END.isoformat()}"
_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)


def _reject(owner: str, field: str, value: object, expected: str) -> PolicyError:
    return PolicyError(owner=owner, field=field, value=value, expected=expected)


def _clock_time(value: object) -> object:
    """Read ``"HH:MM"`` (``"24:00"`` is midnight at the end of the day) as a time."""
    if isinstance(value, str):
        match = _CLOCK.fullmatch(value.strip())
        if match is not None:
            hour, minute = int(match["hour"]), int(match["minute"])
            if hour == 24 and minute == 0:  # noqa: PLR2004 -- the end of the day
                return time(0)
            if hour < 24 and minute < 60:  # noqa: PLR2004 -- a clock's bounds
                return time(hour, minute)
    return value


def _start_time(value: object) -> object:
    """Read a start as :func:`_clock_time` does, but leave ``"24:00"`` to refuse."""
    if isinstance(value, str) and value.strip() == "24:00":
        return value
    return _clock_time(value)


def _check_start(
    instance: BusinessHours, attribute: attrs.Attribute[time], value: object
) -> None:
    if isinstance(value, str) and value.strip() == "24:00":
        raise _reject(
            "BusinessHours",
            attribute.name,
            value,
            "a start from 00:00 to 23:59 (24:00 ends a day: the whole day is "
            "00:00-24:00)",
        )
    _check_clock(instance, attribute, value)


def _check_clock(
    instance: BusinessHours, attribute: attrs.Attribute[time], value: object
) -> None:
    if (
        not isinstance(value, time)
        or value.tzinfo is not None
        or value.second
        or value.microsecond
    ):
        raise _reject(
            "BusinessHours",
            attribute.name,
            value,
            "a local wall-clock time in whole minutes: 'HH:MM', or a datetime.time "
            "without tzinfo",
        )


@attrs.frozen
class BusinessHours:
    """One opening interval, in local wall-clock time.

    An end at or before the start ends the next day: ``22:00-06:00`` is an
    overnight shift (it belongs to the day it starts), and ``00:00-24:00``
    is the whole day (``24:00`` is an end only). Times are whole minutes,
    and may be written ``"HH:MM"``; ``str()`` writes ``"09:00-17:00"``,
    which :meth:`parse` reads back.

    >>> BusinessHours("22:00", "06:00").length
    datetime.timedelta(seconds=28800)
    """

    start: time = attrs.field(converter=_start_time, validator=_check_start)
    end: time = attrs.field(converter=_clock_time, validator=_check_clock)

    @property
    def overnight(self) -> bool:
        """Whether the interval ends the next day."""
        return self.end <= self.start

    @property
    def length(self) -> timedelta:
        """Its wall-clock length (the real length differs on a clock change)."""
        start, end = self._offsets()
        return timedelta(microseconds=end - start)

    def _offsets(self) -> tuple[int, int]:
        """Its start and end in microseconds from its day's local midnight."""
        return (
            span_micros(_minutes(self.start)),
            span_micros(_minutes(self.end, next_day=self.overnight)),
        )

    def __str__(self) -> str:
        end = "24:00" if self.end == self.start == time(0) else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"

    @classmethod
    def parse(cls, text: str) -> BusinessHours:
        """Read ``"09:00-17:00"`` (as ``str()`` writes it).

        Raises:
            PolicyError: *text* is not two times joined by a dash.
        """
        candidate: object = text  # callers may pass anything at run time
        start, dash, end = (
            candidate.partition("-") if isinstance(candidate, str) else ("", "", "")
        )
        if not dash:
            raise _reject(
                "BusinessHours",
                "text",
                text,
                "two times joined by a dash: '09:00-17:00'",
            )
        return cls(start, end)


def _minutes(value: time, *, next_day: bool = False) -> timedelta:
    return timedelta(
        days=1 if next_day else 0,
        hours=value.hour,
        minutes=value.minute,
        seconds=value.second,
        microseconds=value.microsecond,
    )


def _intervals(value: object) -> object:
    """Normalise ``[("09:00", "17:00"), ...]`` to a tuple of BusinessHours, in order."""
    if isinstance(value, BusinessHours):
        return (value,)
    if not is_items(value):
        return value
    items = [
        BusinessHours(item[0], item[1]) if _is_pair(item) else item for item in value
    ]
    if all(isinstance(item, BusinessHours) for item in items):
        return tuple(sorted(items, key=_order))
    return tuple(items)  # for the validator to reject


def _is_pair(value: object) -> bool:
    return (
        isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2  # noqa: PLR2004 -- (start, end)
    )


def _order(hours: BusinessHours) -> time:
    return hours.start


def _check_intervals(owner: str, field: str, value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(item, BusinessHours) for item in value
    ):
        raise _reject(
            owner,
            field,
            value,
            "opening intervals: BusinessHours or (start, end) pairs such as "
            "('09:00', '17:00')",
        )
    _check_overlaps(owner, field, [(0, item) for item in value], cyclic=False)


def _check_overlaps(
    owner: str,
    field: str,
    items: list[tuple[int, BusinessHours]],
    *,
    cyclic: bool,
) -> None:
    """Reject intervals that overlap, each placed on its day of a week."""
    spans = sorted(
        (day * _DAY_MICROS + start, day * _DAY_MICROS + end, item)
        for day, item in items
        for start, end in (item._offsets(),)  # noqa: SLF001 -- same module
    )
    week = 7 * _DAY_MICROS
    for (_, end, first), (start, _, second) in pairwise(spans):
        if start < end:
            raise _reject(
                owner, field, f"{first} and {second}", "intervals that do not overlap"
            )
    if cyclic and spans and spans[-1][1] > spans[0][0] + week:
        raise _reject(
            owner,
            field,
            f"{spans[-1][2]} and {spans[0][2]}",
            "intervals that do not overlap (an overnight shift runs into the next day)",
        )


def _beyond(
    owner: str, field: str, value: object, answer: str | None = None
) -> ValidationError:
    """The error for an instant, or the *answer* about one, out of range."""
    what = _RANGE if answer is None else f"{_RANGE}, {answer} before {_END.isoformat()}"
    return ValidationError(owner=owner, field=field, value=value, expected=what)


def _within(now: int, field: str, value: object, owner: str) -> None:
    """Raise unless the instant *now* (given as *value*) is in the calendar's range."""
    if not _FIRST_MICROS <= now < _END_MICROS:
        raise _beyond(owner, field, value)


def _micros_of(value: object, field: str, owner: str) -> int:
    """The instant of an aware datetime *value* in microseconds, else raise.

    Raises:
        NaiveDatetimeError: *value* has no time zone.
        ValidationError: *value* is not a datetime.
    """
    if type(value) is datetime:
        try:
            # Subtracting an aware instant checks awareness: Python refuses a
            # naive one. Cheaper than asking the offset first.
            return utc_micros(value)
        except TypeError:
            pass  # naive: require_aware says so
    return utc_micros(require_aware(value, field=field, owner=owner))


def _check_on(
    instance: Holiday, attribute: attrs.Attribute[Any], value: object
) -> None:
    if type(value) is date:
        return
    if isinstance(value, str):
        try:
            _rule(value)
        except (ValueError, TypeError) as error:
            problem = _rule_problem(value, error)
            raise _reject(
                "Holiday",
                attribute.name,
                value,
                f"a dateutil rrule such as "
                f"'FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25' ({problem})",
            ) from None
        return
    raise _reject(
        "Holiday",
        attribute.name,
        value,
        "a date, or a recurrence rule such as 'FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25'",
    )


def _rule_problem(text: str, error: Exception) -> str:
    """What is wrong with *text* as a rule, in words a caller can act on."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        return f"a day is given as a date, {day!r}, not as text"
    line = text.strip()
    if line[:6].upper() == "RRULE:":
        line = line[6:]
    if ":" not in line and any("=" not in part for part in line.split(";") if part):
        # dateutil would say it could not unpack a part: nothing of a rule.
        return "a rule is NAME=value parts joined by ';'"
    return str(error)


def _rule(text: str) -> rrule:
    """Read a holiday rule, and refuse one that cannot give days in good time.

    Raises:
        ValueError: the rule is not one dateutil reads, or it counts hours,
            repeats one day for ever (``INTERVAL=0``), or gives no day at all.
        TypeError: the text is not one rule.
    """
    found = rrulestr(text, dtstart=_RULE_START)
    if not isinstance(found, rrule):  # pragma: no cover -- rrulestr without forceset
        raise TypeError("one rule")
    # The rule gives local dates of the calendar's zone: a DTSTART of its own
    # zone (or UTC) would be compared with those and fail at every call.
    start = getattr(found, "_dtstart", _RULE_START)  # where rrule keeps its start
    if start.tzinfo is not None:
        raise ValueError("a DTSTART without a time zone (the calendar's applies)")
    parts = _parts(text)
    _check_parts(parts)
    _check_some_day(parts, start)
    # dateutil looks for a rule's next day until the year 9999: a rule that
    # never gives one would cost that search at every read.
    if not _gives_a_day(found, parts, start):
        raise ValueError("a rule that gives some day: this one gives none")
    return found


def _gives_a_day(found: rrule, parts: Mapping[str, str], start: datetime) -> bool:
    """Whether the rule *found* gives a day, searching at most one cycle of it.

    dateutil looks for a rule's next day period by period up to the year
    9999, and a rule that gives none pays that whole search (seconds for a
    daily rule). The Gregorian calendar repeats every 400 years (146,097
    days, 20,871 whole weeks), so a rule's days repeat every 400 times its
    ``INTERVAL`` years: the pattern is asked of a copy started a whole
    number of such cycles later, as late as leaves one cycle before the
    year 9999 ends (same month, day and weekday, the same place in its
    interval), without its ``UNTIL`` or ``COUNT``. Only when it gives
    a day is the rule itself asked, and then its first day (or the end of
    its ``UNTIL``) comes within one cycle. Easter moves on no such cycle: a
    rule counting from it is read with ``FREQ=YEARLY`` where that gives the
    same days, and as written otherwise.
    """
    interval = int(parts.get("INTERVAL", "1"))
    if "BYEASTER" not in parts:
        cycle = 400 * interval
        shift = max(0, (MAXYEAR + 1 - cycle - start.year) // cycle) * cycle
        probe = found.replace(
            dtstart=start.replace(year=start.year + shift), until=None, count=None
        )
        if next(iter(probe), None) is None:
            return False
    elif (
        interval == 1
        and "BYSETPOS" not in parts
        and next(iter(_as_yearly(found, parts)), None) is None
    ):
        return False
    return next(iter(found), None) is not None


def _as_yearly(found: rrule, parts: Mapping[str, str]) -> rrule:
    """A yearly rule giving the days of *found*, which keeps every day it names.

    With no ``INTERVAL`` or ``BYSETPOS`` to skip days, a daily, weekly or
    monthly rule gives the days its parts name, as a yearly rule with the
    same parts does (it has ``BYEASTER``, so dateutil adds no part from the
    start): a daily or weekly rule's numbered weekdays (``+1MO``) are plain
    ones, a monthly rule's count in each month as in a yearly rule's months.
    """
    changes: dict[str, Any] = {"freq": YEARLY, "until": None, "count": None}
    weekdays = [_weekday(item) for item in parts.get("BYDAY", "").split(",") if item]
    if parts["FREQ"] in {"DAILY", "WEEKLY"} and weekdays:
        changes["byweekday"] = sorted({weekday for weekday, _ in weekdays})
    elif parts["FREQ"] == "MONTHLY" and "BYMONTH" not in parts:
        changes["bymonth"] = range(1, 13)
    return found.replace(**changes)


def _weekday(item: str) -> tuple[int, int]:
    """A ``BYDAY`` item's weekday (Monday 0) and number (0: none): ``-1FR``."""
    return _WEEKDAY_CODES.index(item[-2:]), int(item[:-2] or "0")


_WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_EVERY_WEEKDAY = 0b1111111  # a bit for each weekday, Monday the lowest
#: Each day of a common year and of a leap year, as a rule's parts see it:
#: the year's length, the day of the year from 0, the month, the day of the
#: month, and the day of the month counted from its end (-1 the last).
_YEAR_DAYS = tuple(
    (
        length,
        number,
        day.month,
        day.day,
        day.day - monthrange(day.year, day.month)[1] - 1,
    )
    for length, year in ((365, 2001), (366, 2000))
    for number, day in enumerate(
        date.fromordinal(date(year, 1, 1).toordinal() + offset)
        for offset in range(length)
    )
)
# Easter falls from 22 March to 25 April: from the year's day 80 (81 in a
# leap year), counted from 0, on 35 days; always a Sunday.
_EASTER_FIRST = {365: 80, 366: 81}
_EASTER_DATES = 35
_SUNDAY = 6


def _check_some_day(parts: Mapping[str, str], start: datetime) -> None:
    """Refuse a rule whose parts no day of any year has at once (30 February).

    Each part (and those dateutil makes from the start when a rule has none)
    keeps, of each day of a common and a leap year, the weekdays that day
    may fall on under it, none when the day is out: a month, a day of the
    month or of the year, the days a week number may cover, a numbered
    weekday's place in its month or year, the days Easter may move a day
    to and their weekday. When no day is kept by every part on one same
    weekday, the rule gives none in any year: that is told at once, without
    a search. A rule that passes may still give none (its ``INTERVAL`` or
    ``BYSETPOS`` may miss every day): :func:`_gives_a_day` searches those.

    Raises:
        ValueError: no day passes; it names the fewest parts no day has.
    """
    masks = _part_masks(parts, start)
    if not masks or _some_day(list(masks.values())):
        return
    names = list(masks)
    fewest = next(
        chosen
        for size in range(1, len(names) + 1)
        for chosen in combinations(names, size)
        if not _some_day([masks[name] for name in chosen])
    )
    raise ValueError(
        f"a rule that gives some day: no day of any year has {' and '.join(fewest)}"
        + (" at once" if len(fewest) > 2 else "")  # noqa: PLR2004 -- a pair
    )


def _some_day(masks: list[list[int]]) -> bool:
    """Whether a day of the sample years passes every part, on some weekday."""
    return any(reduce(operator.and_, day) for day in zip(*masks, strict=True))


def _part_masks(parts: Mapping[str, str], start: datetime) -> dict[str, list[int]]:
    """Each part of a rule that keeps some days, by its text: each day's weekdays."""
    freq = parts["FREQ"]
    masks = {
        label: _number_mask(name, found)
        for name, (label, found) in _numbers(parts, start).items()
    }
    if "BYDAY" in parts:
        weekdays = [_weekday(item) for item in parts["BYDAY"].split(",")]
        in_month = freq == "MONTHLY" or (freq == "YEARLY" and "BYMONTH" in parts)
        masks[f"BYDAY={parts['BYDAY']}"] = [
            _byday_weekdays(weekdays, day, freq, in_month=in_month)
            for day in _YEAR_DAYS
        ]
    interval = int(parts.get("INTERVAL", "1"))
    if freq == "DAILY" and interval % 7 == 0:
        # Every seventh day (or 14th...) from the start: its weekday only.
        masks[f"INTERVAL={interval} (the start's weekday)"] = [
            1 << start.weekday()
        ] * len(_YEAR_DAYS)
    return masks


def _numbers(
    parts: Mapping[str, str], start: datetime
) -> dict[str, tuple[str, set[int]]]:
    """A rule's numbered parts, with dateutil's defaults: each one's text and numbers.

    A yearly or monthly rule with none of the parts that pick days takes its
    start's day of the month (and a yearly one its month, unless given):
    from 30 January, ``FREQ=YEARLY;BYMONTH=2`` is 30 February.
    """
    found = {
        name: (f"{name}={parts[name]}", {int(n) for n in parts[name].split(",")})
        for name in ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYEASTER")
        if name in parts
    }
    if "BYDAY" in parts or found.keys() - {"BYMONTH"}:
        return found
    freq = parts["FREQ"]
    if freq in {"YEARLY", "MONTHLY"}:
        found["BYMONTHDAY"] = (f"BYMONTHDAY={start.day} (the start's day)", {start.day})
    if freq == "YEARLY" and "BYMONTH" not in found:
        month = start.month
        found["BYMONTH"] = (f"BYMONTH={month} (the start's month)", {month})
    return found


def _number_mask(name: str, found: set[int]) -> list[int]:
    """The weekdays of each day that the part *name*, given *found*, keeps."""
    every = _EVERY_WEEKDAY
    if name == "BYMONTH":
        return [every if day[2] in found else 0 for day in _YEAR_DAYS]
    if name == "BYMONTHDAY":
        return [
            every if day[3] in found or day[4] in found else 0 for day in _YEAR_DAYS
        ]
    if name == "BYYEARDAY":
        return [
            every if day[1] + 1 in found or day[1] - day[0] in found else 0
            for day in _YEAR_DAYS
        ]
    if name == "BYWEEKNO":
        covered = {length: _week_days(found, length) for length in (365, 366)}
        return [every if day[1] in covered[day[0]] else 0 for day in _YEAR_DAYS]
    return [_easter_weekdays(found, day) for day in _YEAR_DAYS]  # BYEASTER


def _week_days(weeks: set[int], length: int) -> set[int]:
    """The days of the year (from 0) that the week numbers *weeks* may cover.

    Week 1 is the first with four days or more in the year: it begins from
    29 December to 4 January, and week n seven days later for each week
    before it; -1 is the year's last, week 52 or 53. dateutil also gives,
    for week 1, the year's last days in the next year's week 1, and for
    week -1, 52 or 53, its first days in the last year's last week.
    """
    found: set[int] = set()
    for week in weeks:
        for number in (week,) if week > 0 else (53 + 1 + week, 52 + 1 + week):
            found.update(range(max(0, 7 * number - 10), min(length, 7 * number + 3)))
    if 1 in weeks:
        found.update(range(length - 3, length))
    if weeks & {-1, 52, 53}:
        found.update(range(3))
    return found


def _easter_weekdays(offsets: set[int], day: tuple[int, int, int, int, int]) -> int:
    """The weekdays *day* may have as Easter moved by one of *offsets* days."""
    length, number = day[0], day[1]
    first = _EASTER_FIRST[length]
    mask = 0
    for offset in offsets:
        if first <= number - offset < first + _EASTER_DATES:
            mask |= 1 << (_SUNDAY + offset) % 7
    return mask


def _byday_weekdays(
    weekdays: list[tuple[int, int]],
    day: tuple[int, int, int, int, int],
    freq: str,
    *,
    in_month: bool,
) -> int:
    """The weekdays *day* may have under a rule's ``BYDAY`` (*weekdays*).

    Daily and weekly rules ignore a weekday's number. dateutil keeps a day
    only if it is one of the plain weekdays and one of the numbered ones,
    when the rule names both (``BYDAY=MO,+1TU`` gives no day).
    """
    plain = 0
    numbered = 0
    for weekday, number in weekdays:
        if number == 0 or freq in {"DAILY", "WEEKLY"}:
            plain |= 1 << weekday
            continue
        # Counted in the month or the year: its place from the start (1
        # first) and from the end (-1 last).
        first, last = (day[3], day[4]) if in_month else (day[1] + 1, day[1] - day[0])
        if (number > 0 and 7 * (number - 1) < first <= 7 * number) or (
            number < 0 and 7 * number <= last <= 7 * number + 6
        ):
            numbered |= 1 << weekday
    has_numbered = any(number for _, number in weekdays) and freq not in {
        "DAILY",
        "WEEKLY",
    }
    return (plain or _EVERY_WEEKDAY) & (numbered if has_numbered else _EVERY_WEEKDAY)


def _parts(text: str) -> dict[str, str]:
    """The ``NAME=value`` parts of the one rule in *text*, as rrulestr reads them."""
    lines = [line.partition(":") for line in text.upper().split()]
    rule = next(
        value if colon else name
        for name, colon, value in lines
        if not colon or name.partition(";")[0] == "RRULE"
    )
    return dict(part.partition("=")[::2] for part in rule.split(";") if part)


# How many days a rule's period holds at most, by its FREQ.
_PERIOD_DAYS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}


def _check_parts(parts: Mapping[str, str]) -> None:
    """Refuse the parts of a rule that dateutil reads but would loop on.

    dateutil checks few values: INTERVAL=0 repeats the first day for ever,
    hourly rules and BYHOUR, BYMINUTE or BYSECOND give a day many times
    over, and numbers no day has make it search to the year 9999.
    """
    freq = parts["FREQ"]
    if freq not in _PERIOD_DAYS:
        raise ValueError(
            "FREQ=DAILY, WEEKLY, MONTHLY or YEARLY (a holiday is a whole day)"
        )
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        if name in parts:
            raise ValueError(f"no {name} (a holiday is a whole day)")
    for name in ("INTERVAL", "COUNT"):
        if int(parts.get(name, "1")) < 1:
            raise ValueError(f"{name} of 1 or more")
    numbers = {
        name: [int(number) for number in parts[name].split(",")]
        for name in ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS")
        if name in parts
    }
    most = _PERIOD_DAYS[freq]
    for name, low, high, why in (
        ("BYMONTH", 1, 12, ""),
        ("BYMONTHDAY", -31, 31, ", not 0"),
        ("BYYEARDAY", -366, 366, ", not 0"),
        ("BYWEEKNO", -53, 53, ", not 0"),
        ("BYSETPOS", -most, most, f", not 0 (a {freq} period has {most} days at most)"),
    ):
        if any(
            not low <= number <= high or not number for number in numbers.get(name, ())
        ):
            raise ValueError(f"{name} numbers from {low} to {high}{why}")
    _check_relative_days(parts)


def _check_relative_days(parts: Mapping[str, str]) -> None:
    """Refuse the days counted from Easter, or weekdays numbered, past a year.

    dateutil marks them in a list of the year's days: past its end, it
    raises an IndexError; before its start, it marks a day at the year's end.
    """
    # Easter falls from 22 March to 25 April: these days stay in its year.
    if "BYEASTER" in parts and not all(
        -80 <= int(number) <= 250  # noqa: PLR2004 -- see above
        for number in parts["BYEASTER"].split(",")
    ):
        raise ValueError("BYEASTER days from -80 to 250 (within Easter's year)")
    # The n of BYDAY's nth weekday (+4TH) counts in the month (monthly, or
    # yearly in BYMONTH) or the year: beyond its 5 or 53 weeks, dateutil
    # fails with an IndexError, in some years or all.
    in_month = parts["FREQ"] == "MONTHLY" or (
        parts["FREQ"] == "YEARLY" and "BYMONTH" in parts
    )
    most = 5 if in_month else 53
    if any(
        abs(int(item[:-2])) > most
        for item in parts.get("BYDAY", "").split(",")
        if item[:-2] not in {"", "+", "-"}
    ):
        where = "a month" if in_month else "a year"
        raise ValueError(
            f"BYDAY weekdays numbered from -{most} to {most} in {where} (+4TH), not 0"
        )


def _check_holiday_hours(
    instance: Holiday, attribute: attrs.Attribute[Any], value: object
) -> None:
    _check_intervals("Holiday", attribute.name, value)


@attrs.frozen
class Holiday:
    """A day the calendar is closed, or open only some hours (a partial day).

    Args:
        on: A date, or a recurrence rule in dateutil's ``rrule`` syntax
            (``"FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"``: every Christmas Day;
            ``"FREQ=YEARLY;BYMONTH=11;BYDAY=+4TH"``: US Thanksgiving). Rules
            without a ``DTSTART`` count from 1 January 2000. A rule counts
            days (``FREQ`` daily or longer, no ``BYHOUR``, ``BYMINUTE`` or
            ``BYSECOND``), moves on (``INTERVAL`` and ``COUNT`` 1 or more),
            and gives some day: its ``BY`` numbers are ones a day has (a
            ``BYDAY`` weekday numbered from -5 to 5 in a month, -53 to 53
            in a year; ``BYEASTER`` days from -80 to 250), and some day has
            them all at once (not ``BYMONTH=2;BYMONTHDAY=30``: the error
            names the fewest parts no day has). A rule whose ``INTERVAL``
            or ``BYSETPOS`` misses every such day is found by a search of
            one 400-year cycle of the calendar per ``INTERVAL``.
        hours: The hours open that day instead of the usual ones; none (the
            default) closes the whole day.

    >>> from datetime import date
    >>> Holiday(date(2026, 12, 24), [("09:00", "12:00")]).hours
    (BusinessHours(start=datetime.time(9, 0), end=datetime.time(12, 0)),)
    """

    on: date | str = attrs.field(validator=_check_on)
    hours: tuple[BusinessHours, ...] = attrs.field(
        default=(), converter=_intervals, validator=_check_holiday_hours
    )


def _holidays(value: object) -> object:
    """Normalise dates, rule strings and ``(day, hours)`` pairs to Holidays.

    A set has no order of its own (its iteration order changes from process
    to process), and the first entry for a day is the one that counts: a
    set's holidays are sorted, dates (by day) before rules.
    """
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        items: list[object] = []
        for item in value:
            if isinstance(item, Holiday):
                items.append(item)
            elif type(item) is date or isinstance(item, str):
                items.append(Holiday(item))
            elif isinstance(item, tuple) and len(item) == 2:  # noqa: PLR2004 -- a pair
                items.append(Holiday(item[0], item[1]))
            else:
                items.append(item)
        if is_unordered(value) and all(isinstance(item, Holiday) for item in items):
            items.sort(key=_holiday_order)  # type: ignore[arg-type] # Holidays, checked
        return tuple(items)
    return value


def _holiday_order(holiday: Holiday) -> tuple[bool, str, tuple[str, ...]]:
    """Dates (in ISO form, so by day) before rules, then the hours open."""
    on = holiday.on
    return isinstance(on, str), str(on), tuple(map(str, holiday.hours))


def _week(value: object) -> object:
    """Normalise ``{"mon": [("09:00", "17:00")], ...}`` to a FrozenMap of tuples.

    Keys are lower-cased unless two would become one (``"Mon"`` and
    ``"mon"``), which the validator rejects.
    """
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        week = {key.lower(): _intervals(item) for key, item in value.items()}
        if len(week) == len(value):
            return FrozenMap(week)
    return value


@attrs.frozen
class BusinessCalendar:
    """Opening hours in a time zone, with holidays: where business time is counted.

    Args:
        timezone: An IANA time zone name, such as ``"America/New_York"``.
        hours: The opening intervals of each weekday, ``"mon"`` to ``"sun"``
            (a day not named is closed): ``{"mon": [("09:00", "12:00"),
            ("13:00", "17:00")], ...}``; see :class:`BusinessHours` for
            overnight shifts.
        holidays: Dates, recurrence rules or :class:`Holiday` values (also
            ``(day, hours)`` pairs for partial days). A day given as a date
            takes that entry (the first, if several), whatever the rules say
            of it; a day only rules give takes the first rule's entry. A
            set's entries are sorted (dates by day, then rules; a closed day
            before a partial one), as a set's own order changes from process
            to process.
        country: An ISO 3166 country code whose public holidays close the
            calendar too, year by year, from the ``holidays`` package (the
            ``funnelkit[holidays]`` extra); the days in *holidays* come first.
        subdivision: The country's state or region (``"NY"``, ``"BY"``),
            whose own holidays are added.

    Local times become instants through the time zone. A local time the
    clocks skip (spring forward) is read on the clock from before the change,
    so it lands as far after the change as it was written after the skipped
    start (02:30 becomes 03:30), and an interval the clocks skip wholly is
    closed that day; a local time the clocks repeat (fall back) is its first
    occurrence.

    The calendar counts instants from 0002-01-01T00:00:00+00:00 up to, not
    including, 9999-01-01T00:00:00+00:00: an instant outside, or an answer
    that would fall outside, is a :class:`~funnelkit.errors.ValidationError`.

    >>> from datetime import datetime, timedelta
    >>> from zoneinfo import ZoneInfo
    >>> calendar = BusinessCalendar.weekdays("09:00", "17:00", timezone="Europe/Berlin")
    >>> friday = datetime(2026, 3, 6, 16, tzinfo=ZoneInfo("Europe/Berlin"))
    >>> calendar.add(friday, timedelta(hours=2))
    datetime.datetime(2026, 3, 9, 10, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/Berlin'))
    """

    timezone: str = attrs.field()
    hours: Mapping[str, tuple[BusinessHours, ...]] = attrs.field(converter=_week)
    holidays: tuple[Holiday, ...] = attrs.field(default=(), converter=_holidays)
    country: str | None = attrs.field(default=None, kw_only=True)
    subdivision: str | None = attrs.field(default=None, kw_only=True)
    _zone: ZoneInfo = attrs.field(init=False, eq=False, hash=False, repr=False)
    # Each weekday's intervals as (start, end) offsets in microseconds from
    # the day's local midnight, and the week's open time.
    _days: tuple[tuple[tuple[int, int], ...], ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _week_micros: int = attrs.field(init=False, eq=False, hash=False, repr=False)
    # The weekdays with opening hours.
    _open_days: int = attrs.field(init=False, eq=False, hash=False, repr=False)
    _dates: Mapping[date, tuple[BusinessHours, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _rules: tuple[tuple[rrule, tuple[BusinessHours, ...]], ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # Caches: a day's intervals as instants, by ordinal; the days of a year
    # that differ from the usual week (holidays, clock changes), sorted; a
    # year's holidays from the rules, by ordinal; the next unusual day on or
    # after a day, by ordinal.
    _cache: dict[int, tuple[tuple[int, int], ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _ruled: dict[int, dict[int, tuple[BusinessHours, ...]]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _unusual: dict[int, tuple[dict[int, tuple[BusinessHours, ...]], list[int]]] = (
        attrs.field(init=False, eq=False, hash=False, repr=False)
    )
    _next: dict[int, int] = attrs.field(init=False, eq=False, hash=False, repr=False)

    @timezone.validator
    def _check_timezone(self, attribute: attrs.Attribute[str], value: object) -> None:
        if not is_zone_name(value):
            raise _reject(
                "BusinessCalendar",
                attribute.name,
                value,
                "an IANA time zone name such as 'America/New_York'",
            )

    @hours.validator
    def _check_hours(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, Mapping):
            raise _reject(
                "BusinessCalendar",
                attribute.name,
                value,
                "a mapping of weekday names ('mon' to 'sun') to opening intervals",
            )
        named: dict[str, object] = {}
        for day in value:
            same = str(day).lower()
            if same in named:
                raise _reject(
                    "BusinessCalendar",
                    attribute.name,
                    f"{named[same]} and {day}",
                    "each weekday named once (names are read in any case)",
                )
            named[same] = day
        placed: list[tuple[int, BusinessHours]] = []
        for day, items in value.items():
            if day not in WEEKDAYS:
                raise _reject(
                    "BusinessCalendar",
                    f"hours[{day!r}]",
                    day,
                    "a weekday name: " + ", ".join(WEEKDAYS),
                )
            _check_intervals("BusinessCalendar", f"hours[{day!r}]", items)
            placed += [(WEEKDAYS.index(day), item) for item in items]
        if not placed:
            raise _reject(
                "BusinessCalendar",
                attribute.name,
                value,
                "some opening hours in the week (with none, time never passes)",
            )
        _check_overlaps("BusinessCalendar", attribute.name, placed, cyclic=True)

    @holidays.validator
    def _check_holidays(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple):
            raise _reject(
                "BusinessCalendar",
                attribute.name,
                value,
                "a list of dates, recurrence rules or Holiday values",
            )
        for position, item in enumerate(value):
            if not isinstance(item, Holiday):
                raise _reject(
                    "BusinessCalendar",
                    f"holidays[{position}]",
                    item,
                    "a date, a recurrence rule, a (day, hours) pair or a Holiday",
                )

    @country.validator
    def _check_country(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            if self.subdivision is not None:
                raise _reject(
                    "BusinessCalendar",
                    "subdivision",
                    self.subdivision,
                    "no subdivision without a country",
                )
            return
        if not isinstance(value, str) or not value.strip():
            raise _reject(
                "BusinessCalendar", attribute.name, value, "an ISO 3166 country code"
            )
        subdivision: object = self.subdivision  # anything, at run time
        if subdivision is not None and (
            not isinstance(subdivision, str) or not subdivision.strip()
        ):
            raise _reject(
                "BusinessCalendar",
                "subdivision",
                self.subdivision,
                "a subdivision code of the country, such as 'NY'",
            )
        # Ask for one year now, so a code the package does not know fails here.
        for field, subdivision in (
            (attribute.name, None),
            ("subdivision", self.subdivision),
        ):
            try:
                _country_days(value, subdivision, 2000)
            except NotImplementedError as error:
                raise _reject(
                    "BusinessCalendar",
                    field,
                    value if field == attribute.name else subdivision,
                    f"a code the holidays package knows ({error})",
                ) from None

    def __attrs_post_init__(self) -> None:
        days = tuple(
            tuple(item._offsets() for item in self.hours.get(name, ()))  # noqa: SLF001 -- same module
            for name in WEEKDAYS
        )
        dates: dict[date, tuple[BusinessHours, ...]] = {}
        rules = []
        for holiday in self.holidays:
            if isinstance(holiday.on, date):
                dates.setdefault(holiday.on, holiday.hours)
            else:
                rules.append((_rule(holiday.on), holiday.hours))
        values = {
            "_zone": ZoneInfo(self.timezone),
            "_days": days,
            "_week_micros": sum(end - start for day in days for start, end in day),
            "_open_days": sum(1 for intervals in days if intervals),
            "_dates": dates,
            "_rules": tuple(rules),
            "_cache": {},
            "_ruled": {},
            "_unusual": {},
            "_next": {},
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def weekdays(  # noqa: PLR0913 -- the calendar's parts, keyword-only
        cls,
        start: str | time,
        end: str | time,
        *,
        timezone: str,
        holidays: Iterable[Holiday | date | str | tuple[Any, Any]] = (),
        country: str | None = None,
        subdivision: str | None = None,
    ) -> BusinessCalendar:
        """Return the usual calendar: Monday to Friday, *start* to *end*.

        >>> BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC").hours["fri"]
        (BusinessHours(start=datetime.time(9, 0), end=datetime.time(17, 0)),)
        """
        day = (BusinessHours(start, end),)
        return cls(
            timezone,
            dict.fromkeys(WEEKDAYS[:5], day),
            holidays=holidays,
            country=country,
            subdivision=subdivision,
        )

    # -- Questions ---------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether *at* falls inside opening hours (an interval's end does not).

        Raises:
            ValidationError: *at* is not an aware datetime, or is outside the
                UTC years 2 to 9998.
        """
        now = utc_micros(require_aware(at, field="at", owner="BusinessCalendar"))
        _within(now, "at", at, "BusinessCalendar.is_open")
        day = self._local_ordinal(now)
        return any(
            start <= now < end
            for ordinal in (day - 1, day)
            for start, end in self._instants(ordinal)
        )

    def next_open(self, at: datetime) -> datetime:
        """Return *at* if open, else the next instant the calendar opens.

        Raises:
            PolicyError: the holidays close every day for ten years after *at*.
            ValidationError: *at* is not an aware datetime, or it or the
                answer is outside the UTC years 2 to 9998.
        """
        owner = "BusinessCalendar.next_open"
        now = utc_micros(require_aware(at, field="at", owner="BusinessCalendar"))
        _within(now, "at", at, owner)
        for start, end in self._ahead(now, owner):
            if end > now:
                return at if start <= now else self._instant(start, at)
        raise _beyond(owner, "at", at, "whose next opening comes")

    def next_close(self, at: datetime) -> datetime:
        """Return when the open period holding *at* (or the next one) closes.

        Intervals that meet (17:00-24:00, then 00:00-02:00) close once.

        Raises:
            PolicyError: the calendar stays open for ten years after *at*
                (it is open round the clock), or its holidays close every
                day for ten years.
            ValidationError: *at* is not an aware datetime, or it or the
                answer is outside the UTC years 2 to 9998.
        """
        owner = "BusinessCalendar.next_close"
        now = utc_micros(require_aware(at, field="at", owner="BusinessCalendar"))
        _within(now, "at", at, owner)
        closing: int | None = None
        for start, end in self._ahead(now, owner):
            if end <= now:
                continue
            if closing is not None and start > closing:
                return self._instant(closing, at)
            closing = end
            if closing - now > _HORIZON_DAYS * _DAY_MICROS:
                self._never_closes(now, owner)
        raise _beyond(owner, "at", at, "whose next closing comes")

    # -- Arithmetic --------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta | BusinessDuration) -> datetime:
        """Return the instant *duration* of open time after *start*.

        A ``timedelta`` counts open time; a :class:`BusinessDuration` first
        moves its ``days`` forward by whole open days (the same local time
        that many open days later), then adds its ``time``. Time running out
        at a closing time ends there: Friday 16:00 plus one business hour on a
        09:00-17:00 calendar is Friday 17:00. The result is in *start*'s time
        zone.

        Raises:
            NaiveDatetimeError: *start* has no time zone.
            ValidationError: *duration* is negative or not a duration, or
                *start* or the answer is outside the UTC years 2 to 9998.
            PolicyError: the holidays close every day for ten years.
        """
        owner = "BusinessCalendar.add"
        now = _micros_of(start, "start", owner)
        _within(now, "start", start, owner)
        candidate: object = duration  # callers may pass anything at run time
        if isinstance(candidate, BusinessDuration):
            days, open_time = candidate.days, candidate.time
        elif isinstance(candidate, timedelta) and candidate >= _ZERO:
            days, open_time = 0, candidate
        else:
            raise ValidationError(
                owner=owner,
                field="duration",
                value=duration,
                expected="a timedelta of zero or more, or a BusinessDuration",
            )
        try:
            moved = start
            if days:
                moved = self._add_days(start, days)
                now = utc_micros(moved)
            remaining = span_micros(open_time)
            if remaining:
                first = moved.astimezone(self._zone).toordinal()
                now = self._add(now, first, remaining)
            if now < _END_MICROS:
                return self._instant(now, start) if remaining else moved
        except OverflowError:  # the walk passed the last day counted
            pass
        raise _beyond(owner, "start", start, f"and a duration ({duration}) that ends")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Return the open time from *start* to *end* (negative if *end* is earlier).

        Raises:
            NaiveDatetimeError: *start* or *end* has no time zone.
            ValidationError: *start* or *end* is not a datetime, or is outside
                the UTC years 2 to 9998.
        """
        owner = "BusinessCalendar.elapsed"
        first = _micros_of(start, "start", owner)
        last = _micros_of(end, "end", owner)
        _within(first, "start", start, owner)
        _within(last, "end", end, owner)
        sign = 1
        if last < first:
            start, end, first, last, sign = end, start, last, first, -1
        zone = self._zone
        total = self._elapsed(
            first,
            start.astimezone(zone).toordinal(),
            last,
            end.astimezone(zone).toordinal(),
        )
        # A product, not timedelta(microseconds=...): keywords cost more.
        return _MICROSECOND * (sign * total)

    # -- Day by day --------------------------------------------------------------

    def _add(self, now: int, first: int, remaining: int) -> int:
        """Add *remaining* open microseconds to *now*, whose local day is *first*."""
        day = last_open = first - 1  # an overnight shift of the day before
        week = self._week_micros
        unusual = day  # the next unusual day, once it matters
        cache = self._cache  # _instants' own, read here first: a call less a day
        while True:
            found = cache.get(day)
            if found is None:
                found = self._instants(day)
            for start, end in found:
                if end <= now:
                    continue
                last_open = day
                start = max(start, now)  # noqa: PLW2901 -- clipped to now
                if remaining <= end - start:
                    return start + remaining
                remaining -= end - start
            day += 1
            if day > first and remaining > week:
                # Jump over whole usual weeks while more than one is left.
                if unusual < day:
                    unusual = self._next_unusual(day)
                weeks = min((unusual - day) // 7, (remaining - 1) // week)
                if weeks > 0:
                    remaining -= weeks * week
                    day += 7 * weeks
                    last_open = day
            if day - last_open > _HORIZON_DAYS or day > _LAST_DAY:
                self._stop(now, day, "BusinessCalendar.add")

    def _elapsed(self, first: int, start_day: int, last: int, end_day: int) -> int:
        """Open microseconds from *first* to *last* (their local days given)."""
        day = start_day - 1
        total = 0
        week = self._week_micros
        unusual = day  # the next unusual day, once it matters
        cache = self._cache  # as in _add
        while day <= end_day:
            found = cache.get(day)
            if found is None:
                found = self._instants(day)
            for start, end in found:
                if end > first and start < last:
                    total += min(end, last) - max(start, first)
            day += 1
            if day > start_day and end_day - day > 7:  # noqa: PLR2004 -- a week
                # Whole usual weeks between the two: every interval of a day
                # ends before the local date after next begins.
                if unusual < day:
                    unusual = self._next_unusual(day)
                weeks = (min(unusual, end_day - 1) - day) // 7
                if weeks > 0:
                    total += weeks * week
                    day += 7 * weeks
        return total

    def _add_days(self, start: datetime, days: int) -> datetime:
        """Move *start* forward *days* open days, keeping its local time.

        An open day is one with open time of its own: not one whose hours
        the clocks skip, nor one closed by a holiday.
        """
        local = start.astimezone(self._zone)
        day = last_open = local.toordinal()
        per_week = self._open_days
        unusual = day  # the next unusual day, once it matters
        cache = self._cache  # as in _add
        while days:
            day += 1
            if days > per_week:
                # Jump over whole usual weeks while more than one is left.
                if unusual < day:
                    unusual = self._next_unusual(day)
                weeks = min((unusual - day) // 7, (days - 1) // per_week)
                if weeks > 0:
                    days -= weeks * per_week
                    day += 7 * weeks
                    last_open = day
            if day > _LAST_DAY:
                raise OverflowError  # the answer is past the last instant counted
            found = cache.get(day)
            if found is None:
                found = self._instants(day)
            # Open time of its own: a day with no hours has no instants.
            if found:
                days -= 1
                last_open = day
            elif day - last_open > _HORIZON_DAYS:
                self._beyond_horizon(utc_micros(start), "BusinessCalendar.add")
        moved = datetime.combine(date.fromordinal(day), local.time(), tzinfo=self._zone)
        return moved.astimezone(start.tzinfo)

    def _ahead(self, now: int, owner: str) -> Iterator[tuple[int, int]]:
        """Yield the intervals from the day before *now*'s on, in order.

        The last is the last that opens before the end of the calendar's range.
        """
        day = last_open = self._local_ordinal(now) - 1
        while day <= _LAST_DAY:
            found = self._instants(day)
            if found:
                last_open = day
            for span in found:
                if span[0] >= _END_MICROS:
                    return
                yield span
            day += 1
            if day - last_open > _HORIZON_DAYS:
                self._beyond_horizon(now, owner)

    def _never_closes(self, now: int, owner: str) -> NoReturn:
        """Raise: the calendar stayed open for years on end, so it never closes."""
        raise PolicyError(
            owner=owner,
            field="hours",
            value=self.hours,
            expected=(
                "opening hours that close at some time: open without a break "
                f"for the {_HORIZON_DAYS} days after "
                f"{self._instant(now, None).isoformat()}"
            ),
        )

    def _stop(self, now: int, day: int, owner: str) -> NoReturn:
        """Raise: the walk passed the last day counted, or no day opened for years."""
        if day > _LAST_DAY:
            raise OverflowError  # the caller names the instant and the range
        self._beyond_horizon(now, owner)

    def _beyond_horizon(self, now: int, owner: str) -> NoReturn:
        """Raise: no day was open for years, so the holidays close every day."""
        raise PolicyError(
            owner=owner,
            field="holidays",
            value=self.holidays,
            expected=(
                "holidays that leave some open time: none in the "
                f"{_HORIZON_DAYS} days after {self._instant(now, None).isoformat()}"
            ),
        )

    # -- Days as instants ----------------------------------------------------------

    def _local_ordinal(self, now: int) -> int:
        return from_utc_micros(now, self._zone).toordinal()

    def _instant(self, now: int, like: datetime | None) -> datetime:
        return from_utc_micros(now, self._zone if like is None else like.tzinfo)

    def _local_hours(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        """The day's intervals as offsets from its local midnight."""
        day = date.fromordinal(ordinal)
        special = self._holiday(day)
        if special is None:
            return self._days[day.weekday()]
        return tuple(item._offsets() for item in special)  # noqa: SLF001 -- same module

    def _holiday(self, day: date) -> tuple[BusinessHours, ...] | None:
        found = self._dates.get(day)
        if found is not None:
            return found
        return self._year(day.year)[0].get(day.toordinal())

    def _instants(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        """The day's intervals as instants (cached)."""
        found = self._cache.get(ordinal)
        if found is None:
            if len(self._cache) >= _CACHE:
                self._cache.clear()
            found = self._cache[ordinal] = self._day(
                ordinal, self._local_hours(ordinal), self._local_hours(ordinal - 1)
            )
        return found

    def _day(
        self,
        ordinal: int,
        hours: tuple[tuple[int, int], ...],
        before: tuple[tuple[int, int], ...],
    ) -> tuple[tuple[int, int], ...]:
        """A day's *hours* as instants, none counted twice.

        An interval starts no earlier than the previous one closed, the
        previous day's (*before*) included: a partial holiday under last
        night's shift, or two intervals a clock change pushes together,
        overlap, and the time they share is open once.
        """
        earlier = (end for _, end in self._spans(ordinal - 1, before))
        floor = max(earlier, default=_BEFORE_ALL)
        spans = []
        for start, end in self._spans(ordinal, hours):
            start = max(start, floor)  # noqa: PLW2901 -- clipped in place
            if end > start:  # else wholly open already
                spans.append((start, end))
                floor = end
        return tuple(spans)

    def _spans(
        self, ordinal: int, hours: tuple[tuple[int, int], ...]
    ) -> tuple[tuple[int, int], ...]:
        """Local *hours* of a day (offsets from its midnight) as instants.

        A skipped local time is read on the clock from before the change, so
        an interval the clocks skip wholly would land after the change with
        its length: it is closed instead.
        """
        midnight = date.fromordinal(ordinal)
        zone = self._zone
        spans = []
        for start, end in hours:
            opening = self._local(midnight, start, zone)
            closing = self._local(midnight, end, zone)
            opens, closes = utc_micros(opening), utc_micros(closing)
            if closes <= opens:  # a clock change may leave nothing open
                continue
            if (
                closes - opens == end - start
                and _skipped(opening, opens)
                and _skipped(closing, closes)
            ):
                continue  # both ends in one gap: its real length is its wall one
            spans.append((opens, closes))
        return tuple(spans)

    @staticmethod
    def _local(day: date, offset: int, zone: ZoneInfo) -> datetime:
        """The local time *offset* microseconds after *day*'s midnight, on its clock."""
        extra, micros = divmod(offset, _DAY_MICROS)
        seconds, micro = divmod(micros, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return datetime.combine(
            day + timedelta(days=extra), time(hour, minute, second, micro), tzinfo=zone
        )

    def _next_unusual(self, day: int) -> int:
        """The first day from *day* on that may differ from the usual week (cached)."""
        found = self._next.get(day)
        if found is None:
            if len(self._next) >= _CACHE:
                self._next.clear()
            found = self._next[day] = self._find_unusual(day)
        return found

    def _find_unusual(self, day: int) -> int:
        """The first day on or after *day* that may differ from the usual week."""
        # A year's list may end with the day after its last holiday, which is
        # in the next year: start the search a year early.
        year = max(MINYEAR, date.fromordinal(day).year - 1)
        for candidate in range(year, min(MAXYEAR, year + _HORIZON_DAYS // 365 + 1) + 1):
            days = self._year(candidate)[1]
            position = bisect_left(days, day)
            if position < len(days):
                return days[position]
        return day + _HORIZON_DAYS

    def _year(
        self, year: int
    ) -> tuple[dict[int, tuple[BusinessHours, ...]], list[int]]:
        """A year's holidays from the rules, and its unusual days, sorted (cached).

        Unusual days are holidays, and the days around a clock change (with
        the day before it, whose overnight shift runs into it).
        """
        found = self._unusual.get(year)
        if found is None:
            ruled = dict(self._rule_days(year)) if self._rules else {}
            if self.country is not None:
                for day in _country_days(self.country, self.subdivision, year):
                    ruled.setdefault(day.toordinal(), ())
            days = set(ruled)
            days.update(day.toordinal() for day in self._dates if day.year == year)
            # A partial holiday's hours may run into the next day: that day is
            # worked out on its own too.
            days.update(
                day.toordinal() + 1
                for day, hours in self._dates.items()
                if day.year == year and hours
            )
            days.update(day + 1 for day, hours in ruled.items() if hours)
            for change in self._changes(year):
                # The change falls on this local day or the one before; a day
                # whose usual hours it shortens or stretches (a night shift,
                # a day open round the clock) is worked out on its own.
                for near in (change - 2, change - 1, change):
                    usual = self._days[date.fromordinal(near).weekday()]
                    before = self._days[date.fromordinal(near - 1).weekday()]
                    spans = self._day(near, usual, before)
                    if _open_micros(spans) != _open_micros(usual):
                        days.add(near)
            found = self._unusual[year] = (ruled, sorted(days))
        return found

    def _rule_days(self, year: int) -> dict[int, tuple[BusinessHours, ...]]:
        """The holidays the rules give in *year*, by ordinal (cached).

        A day two rules give takes the first's hours. A rule is read from its
        start whatever the years asked for, so years are read in windows
        reaching as far either side as their distance from 2000 (8 at
        least): reading a span year by year, forward or back, costs in
        proportion to the span, not to its square. Threads
        sharing a calendar may read a window twice; each stores the same.
        """
        found = self._ruled.get(year)
        if found is not None:
            return found
        width = max(_RULE_YEARS, abs(year - _RULE_START.year))
        first, last = max(MINYEAR, year - width), min(MAXYEAR, year + width)
        years: dict[int, dict[int, tuple[BusinessHours, ...]]] = {
            number: {} for number in range(first, last + 1)
        }
        begin = datetime(first, 1, 1)  # noqa: DTZ001 -- rrule's local dates
        end = datetime(last, 12, 31, 23, 59, 59)  # noqa: DTZ001 -- ditto
        for rule, hours in self._rules:
            for moment in rule.between(begin, end, inc=True):
                years[moment.year].setdefault(moment.toordinal(), hours)
        for number, days in years.items():
            self._ruled.setdefault(number, days)
        return self._ruled[year]

    def _changes(self, year: int) -> list[int]:
        """The local days of the year on which the UTC offset may change."""
        zone = self._zone
        # The UTC midnights from the day before the year to the second day of
        # the next, less those too near the ends of the dates Python holds.
        new_year = date(year, 1, 1).toordinal()
        first = max(new_year - 1, _SAMPLED[0])
        last = min(new_year + 366, _SAMPLED[1])
        start = datetime.combine(date.fromordinal(first), time(), tzinfo=UTC)
        previous = start.astimezone(zone).utcoffset()
        changes = []
        for offset in range(1, last - first + 1):
            moment = (start + timedelta(days=offset)).astimezone(zone)
            current = moment.utcoffset()
            if current != previous:
                changes.append(moment.toordinal())
                previous = current
        return changes


def _country_days(country: str, subdivision: str | None, year: int) -> list[date]:
    """The public holidays of a country (and subdivision) in *year*.

    Raises:
        MissingExtraError: the ``holidays`` package is not installed.
        NotImplementedError: the package does not know the code.
    """
    try:
        import holidays  # noqa: PLC0415 -- an optional extra, imported when used
    except ImportError:
        raise MissingExtraError(
            extra="holidays",
            package="holidays",
            purpose="BusinessCalendar(country=...)",
        ) from None
    found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return sorted(found)


def _skipped(local: datetime, instant: int) -> bool:
    """Whether the clocks skip *local* (whose instant, read as fold 0, is *instant*).

    In a gap, fold 0 reads the offset from before the change and fold 1 the
    one after, which is larger: fold 1 is the earlier instant.
    """
    return utc_micros(local.replace(fold=1)) < instant


def _open_micros(spans: Iterable[tuple[int, int]]) -> int:
    return sum(end - start for start, end in spans)
