"""Business calendars: hours, holidays, time zones, clock changes and the arithmetic."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import (
    BusinessCalendar,
    BusinessDuration,
    BusinessHours,
    Holiday,
    MissingExtraError,
    NaiveDatetimeError,
    PolicyError,
    SerializationError,
    ValidationError,
    parse_duration,
)
from funnelkit.serialization import from_json, to_json
from funnelkit.testing import strategies

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
NINE_TO_FIVE = BusinessCalendar.weekdays("09:00", "17:00", timezone="America/New_York")
ALWAYS = BusinessCalendar(
    "America/New_York",
    {
        day: [("00:00", "24:00")]
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    },
)


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _numbers(low: int, high: int) -> st.SearchStrategy[str]:
    """A rule part's numbers from *low* to *high* (not 0), as text: ``"3,-1"``."""
    return st.lists(
        st.integers(low, high).filter(bool), min_size=1, max_size=3, unique=True
    ).map(lambda numbers: ",".join(map(str, numbers)))


@st.composite
def yearly_rules(draw: st.DrawFn) -> str:
    """Yearly holiday rules of a few parts, some of which no day can meet."""
    parts = {"FREQ": "YEARLY", "INTERVAL": str(draw(st.integers(1, 6)))}
    options = {
        "BYMONTH": _numbers(1, 12),
        "BYMONTHDAY": _numbers(-31, 31),
        "BYYEARDAY": _numbers(-366, 366),
        "BYWEEKNO": _numbers(-53, 53),
        "BYDAY": st.sampled_from(["MO", "SU", "+1TU", "-1FR", "MO,+2WE", "+53TH"]),
        "BYSETPOS": _numbers(-3, 3),
    }
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=3)):
        parts[name] = draw(options[name])
    if "BYMONTH" in parts and "BYDAY" in parts and "53" in parts["BYDAY"]:
        del parts["BYDAY"]  # numbered in a month: refused for its number
    start = draw(
        st.sampled_from(["", "DTSTART:00010101T000000\n", "DTSTART:20010301T000000\n"])
    )
    return (
        start + "RRULE:" + ";".join(f"{name}={value}" for name, value in parts.items())
    )


def ny(*parts: int) -> datetime:
    """A New York wall-clock time."""
    return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[arg-type,misc] # year, month, day, ...


class TestHandComputed:
    def test_friday_afternoon_plus_two_hours_is_monday_morning(self) -> None:
        """Friday 16:00 + 2 business hours = Monday 10:00."""
        assert NINE_TO_FIVE.add(ny(2026, 3, 6, 16), 2 * H) == ny(2026, 3, 9, 10)

    def test_a_holiday_monday_is_skipped(self) -> None:
        """With Monday a holiday, the same two hours end on Tuesday."""
        calendar = BusinessCalendar.weekdays(
            "09:00", "17:00", timezone="America/New_York", holidays=[date(2026, 3, 9)]
        )
        assert calendar.add(ny(2026, 3, 6, 16), 2 * H) == ny(2026, 3, 10, 10)

    def test_time_running_out_at_closing_ends_there(self) -> None:
        """Friday 16:00 + 1 business hour is Friday 17:00, not Monday 09:00."""
        assert NINE_TO_FIVE.add(ny(2026, 3, 6, 16), H) == ny(2026, 3, 6, 17)
        assert NINE_TO_FIVE.add(ny(2026, 3, 7, 12), timedelta(0)) == ny(2026, 3, 7, 12)

    def test_a_closed_start_counts_from_the_next_opening(self) -> None:
        """Saturday noon + 1 hour is Monday 10:00."""
        assert NINE_TO_FIVE.add(ny(2026, 3, 7, 12), H) == ny(2026, 3, 9, 10)

    def test_several_intervals_a_day(self) -> None:
        """A lunch break is not business time."""
        calendar = BusinessCalendar(
            "Europe/Berlin", {"mon": [("09:00", "12:00"), ("13:00", "17:00")]}
        )
        start = datetime(2026, 3, 2, 11, tzinfo=BERLIN)
        assert calendar.add(start, 2 * H) == datetime(2026, 3, 2, 14, tzinfo=BERLIN)
        assert calendar.elapsed(start, datetime(2026, 3, 2, 18, tzinfo=BERLIN)) == 5 * H

    def test_an_overnight_shift_belongs_to_the_day_it_starts(self) -> None:
        """A Monday 22:00-06:00 shift runs into Tuesday; a Tuesday holiday keeps it."""
        calendar = BusinessCalendar(
            "Europe/Berlin", {"mon": [("22:00", "06:00")]}, holidays=[date(2026, 3, 3)]
        )
        monday = datetime(2026, 3, 2, 23, tzinfo=BERLIN)
        assert calendar.add(monday, 3 * H) == datetime(2026, 3, 3, 2, tzinfo=BERLIN)
        assert calendar.add(monday, 8 * H) == datetime(2026, 3, 9, 23, tzinfo=BERLIN)
        assert calendar.is_open(datetime(2026, 3, 3, 5, tzinfo=BERLIN))

    def test_the_us_spring_forward_weekend(self) -> None:
        """Always open: the night clocks spring forward, a day has 23 hours."""
        saturday = ny(2026, 3, 7)
        assert ALWAYS.elapsed(saturday, ny(2026, 3, 9)) == 47 * H
        assert ALWAYS.add(ny(2026, 3, 7, 12), 24 * H) == ny(2026, 3, 8, 13)

    def test_nine_to_five_is_eight_hours_on_a_clock_change_day(self) -> None:
        """A Sunday 09:00-17:00 on the US and EU change days is 8 real hours."""
        sundays = BusinessCalendar("America/New_York", {"sun": [("09:00", "17:00")]})
        assert sundays.elapsed(ny(2026, 3, 8), ny(2026, 3, 9)) == 8 * H
        assert sundays.elapsed(ny(2026, 11, 1), ny(2026, 11, 2)) == 8 * H

    def test_the_eu_fall_back_night_shift_lasts_an_hour_longer(self) -> None:
        """Saturday 22:00-06:00 over the night clocks go back is nine hours."""
        shifts = BusinessCalendar("Europe/Berlin", {"sat": [("22:00", "06:00")]})
        start = datetime(2026, 10, 24, 22, tzinfo=BERLIN)
        end = datetime(2026, 10, 25, 6, tzinfo=BERLIN)
        assert shifts.elapsed(start, end) == 9 * H
        assert shifts.add(start, 8 * H) == datetime(2026, 10, 25, 5, tzinfo=BERLIN)
        spring = datetime(2026, 3, 28, 22, tzinfo=BERLIN)
        assert shifts.elapsed(spring, spring + 12 * H) == 7 * H

    def test_a_skipped_local_time_moves_forward_by_the_gap(self) -> None:
        """02:30 does not exist on 8 March 2026 in New York: it is read as 03:30."""
        early = BusinessCalendar("America/New_York", {"sun": [("02:30", "04:00")]})
        assert early.next_open(ny(2026, 3, 8)) == ny(2026, 3, 8, 3, 30)
        assert early.elapsed(ny(2026, 3, 8), ny(2026, 3, 9)) == timedelta(minutes=30)

    def test_an_interval_the_clocks_skip_is_closed(self) -> None:
        """02:30-03:00 on the night clocks skip from 02:00 to 03:00 opens not at all."""
        skipped = BusinessCalendar("America/New_York", {"sun": [("02:30", "03:00")]})
        assert skipped.elapsed(ny(2026, 3, 8), ny(2026, 3, 9)) == timedelta(0)
        assert skipped.elapsed(ny(2026, 3, 15), ny(2026, 3, 16)) == timedelta(
            minutes=30
        )

    def test_the_day_cache_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A calendar forgets the days it worked out when it holds too many."""
        monkeypatch.setattr("funnelkit._calendar._CACHE", 3)
        start = ny(2026, 3, 2, 9)
        assert NINE_TO_FIVE.elapsed(start, ny(2026, 3, 6, 17)) == 40 * H
        assert len(NINE_TO_FIVE._cache) <= 3

    def test_the_unusual_day_cache_is_bounded(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A calendar forgets the next unusual days it found when it holds too many."""
        monkeypatch.setattr("funnelkit._calendar._CACHE", 3)
        calendar = BusinessCalendar.weekdays(
            "09:00", "17:00", timezone="UTC", holidays=[date(2026, 12, 25)]
        )
        for day in range(1, 11):
            start = datetime(2026, 11, day, 12, tzinfo=UTC)
            moved = calendar.add(start, BusinessDuration(days=40))
            assert moved == reference_add_days(calendar, start, 40)
        assert 0 < len(calendar._next) <= 3

    def test_a_repeated_local_time_is_its_first_occurrence(self) -> None:
        """01:30 happens twice on 1 November 2026 in New York: the first counts."""
        early = BusinessCalendar("America/New_York", {"sun": [("01:30", "02:00")]})
        first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
        # An ambiguous time never equals another zone's (PEP 495): compare in UTC.
        assert early.next_open(ny(2026, 11, 1)).astimezone(UTC) == first
        assert early.elapsed(ny(2026, 11, 1), ny(2026, 11, 2)) == timedelta(minutes=90)

    def test_lord_howe_changes_by_half_an_hour(self) -> None:
        """Australia/Lord_Howe springs forward 30 minutes on 4 October 2026."""
        zone = ZoneInfo("Australia/Lord_Howe")
        always = BusinessCalendar("Australia/Lord_Howe", {"sun": [("00:00", "24:00")]})
        start = datetime(2026, 10, 4, tzinfo=zone)
        end = datetime(2026, 10, 5, tzinfo=zone)
        assert always.elapsed(start, end) == timedelta(hours=23, minutes=30)

    def test_kolkata_keeps_its_half_hour_offset(self) -> None:
        """Asia/Kolkata (UTC+05:30, no clock changes): hours in local time."""
        zone = ZoneInfo("Asia/Kolkata")
        calendar = BusinessCalendar.weekdays("09:30", "18:00", timezone="Asia/Kolkata")
        friday = datetime(2026, 3, 6, 17, tzinfo=zone)
        assert calendar.add(friday, 2 * H) == datetime(2026, 3, 9, 10, 30, tzinfo=zone)
        utc = friday.astimezone(UTC)
        assert calendar.add(utc, 2 * H) == datetime(2026, 3, 9, 5, tzinfo=UTC)

    def test_partial_days_and_recurring_holidays(self) -> None:
        """Christmas Eve until noon; Christmas Day every year by rule."""
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="America/New_York",
            holidays=[
                (date(2026, 12, 24), [("09:00", "12:00")]),
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
            ],
        )
        assert calendar.add(ny(2026, 12, 24, 11), 2 * H) == ny(2026, 12, 28, 10)
        assert not calendar.is_open(ny(2030, 12, 25, 10))
        thanksgiving = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="America/New_York",
            holidays=["FREQ=YEARLY;BYMONTH=11;BYDAY=+4TH"],
        )
        assert not thanksgiving.is_open(ny(2026, 11, 26, 10))
        assert thanksgiving.is_open(ny(2026, 11, 27, 10))

    def test_a_date_comes_before_the_rules(self) -> None:
        """A day given as a date takes its entry, whatever rules listed first say."""
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="America/New_York",
            holidays=[
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
                (date(2026, 12, 25), [("09:00", "12:00")]),
                (date(2026, 12, 25), []),
            ],
        )
        assert calendar.is_open(ny(2026, 12, 25, 10))  # the first date entry
        assert not calendar.is_open(ny(2026, 12, 25, 13))
        assert not calendar.is_open(ny(2027, 12, 24, 10) + timedelta(days=1))

    def test_business_days_keep_the_local_time(self) -> None:
        """'10 business days' from a Monday 10:00 is two weeks later, at 10:00."""
        ten = parse_duration("10 business days")
        assert isinstance(ten, BusinessDuration)
        assert NINE_TO_FIVE.add(ny(2026, 3, 2, 10), ten) == ny(2026, 3, 16, 10)
        with_holiday = BusinessCalendar.weekdays(
            "09:00", "17:00", timezone="America/New_York", holidays=[date(2026, 3, 10)]
        )
        assert with_holiday.add(ny(2026, 3, 2, 10), ten) == ny(2026, 3, 17, 10)
        mixed = BusinessDuration(days=1, time=2 * H)
        assert NINE_TO_FIVE.add(ny(2026, 3, 6, 16), mixed) == ny(2026, 3, 10, 10)

    def test_long_spans_jump_whole_weeks(self) -> None:
        """2,000 business hours on a 40-hour week are 50 weeks, give or take."""
        start = ny(2026, 3, 6, 16)
        end = NINE_TO_FIVE.add(start, 2000 * H)
        assert end == ny(2027, 2, 19, 16)
        assert NINE_TO_FIVE.elapsed(start, end) == 2000 * H
        assert NINE_TO_FIVE.elapsed(end, start) == -2000 * H

    def test_many_business_days_jump_whole_weeks(self) -> None:
        """13,060 business days and more land where as many 8-hour days do."""
        monday = datetime(2026, 3, 2, 10, tzinfo=UTC)
        for days in (13_060, 40_000):
            moved = UTC_WEEKDAYS.add(monday, BusinessDuration(days=days))
            assert moved == monday + timedelta(weeks=days // 5)
            assert moved == UTC_WEEKDAYS.add(monday, 8 * H * days)

    def test_business_days_jump_weeks_only_up_to_a_holiday(self) -> None:
        """20 business days over a holiday two weeks on land a day later."""
        calendar = BusinessCalendar.weekdays(
            "09:00", "17:00", timezone="UTC", holidays=[date(2026, 3, 11)]
        )
        monday = datetime(2026, 3, 2, 10, tzinfo=UTC)
        moved = calendar.add(monday, BusinessDuration(days=20))
        assert moved == datetime(2026, 3, 31, 10, tzinfo=UTC)
        assert UTC_WEEKDAYS.add(monday, BusinessDuration(days=20)) == datetime(
            2026, 3, 30, 10, tzinfo=UTC
        )

    def test_a_calendar_open_round_the_clock_never_closes(self) -> None:
        """next_close finds no closing in ten years: a PolicyError naming the hours."""
        with pytest.raises(PolicyError) as info:
            ALWAYS.next_close(ny(2026, 1, 1))
        assert (info.value.owner, info.value.field) == (
            "BusinessCalendar.next_close",
            "hours",
        )
        assert "open without a break for the 3660 days after" in info.value.expected
        closes = BusinessCalendar(
            ALWAYS.timezone, ALWAYS.hours, holidays=[date(2030, 1, 1)]
        )
        assert closes.next_close(ny(2026, 1, 1)) == ny(2030, 1, 1)

    def test_jumps_count_clock_changes_that_touch_open_hours(self) -> None:
        """Over weeks, a night shift gains its hour; a day open round the clock too."""
        shifts = BusinessCalendar("Europe/Berlin", {"sat": [("22:00", "06:00")]})
        start = datetime(2026, 10, 3, tzinfo=BERLIN)
        end = datetime(2026, 11, 7, tzinfo=BERLIN)
        assert shifts.elapsed(start, end) == 4 * 8 * H + 9 * H
        assert shifts.add(start, 41 * H) == datetime(2026, 11, 1, 6, tzinfo=BERLIN)
        assert ALWAYS.elapsed(ny(2026, 1, 1), ny(2027, 1, 1)) == 365 * 24 * H
        assert ALWAYS.elapsed(ny(2026, 1, 1), ny(2026, 7, 1)) == (181 * 24 - 1) * H

    def test_open_and_close(self) -> None:
        """Intervals open at their start, close at their end, and merge if they meet."""
        assert NINE_TO_FIVE.is_open(ny(2026, 3, 6, 9))
        assert not NINE_TO_FIVE.is_open(ny(2026, 3, 6, 17))
        assert NINE_TO_FIVE.next_open(ny(2026, 3, 6, 10)) == ny(2026, 3, 6, 10)
        assert NINE_TO_FIVE.next_close(ny(2026, 3, 6, 18)) == ny(2026, 3, 9, 17)
        late = BusinessCalendar(
            "America/New_York",
            {"mon": [("17:00", "24:00")], "tue": [("00:00", "02:00")]},
        )
        assert late.next_close(ny(2026, 3, 2, 18)) == ny(2026, 3, 3, 2)

    def test_the_result_keeps_the_start_s_time_zone(self) -> None:
        """A UTC start gets a UTC answer."""
        start = ny(2026, 3, 6, 16).astimezone(UTC)
        assert NINE_TO_FIVE.add(start, 2 * H).tzinfo is UTC

    def test_hours_and_holidays_normalise(self) -> None:
        """Pairs become BusinessHours in order; dates and rules become Holidays."""
        calendar = BusinessCalendar(
            "UTC",
            {"MON": [("13:00", "17:00"), (time(9), time(12))]},
            holidays=[date(2026, 1, 1)],
        )
        assert calendar.hours["mon"] == (
            BusinessHours("09:00", "12:00"),
            BusinessHours("13:00", "17:00"),
        )
        assert calendar.holidays == (Holiday(date(2026, 1, 1)),)
        assert str(BusinessHours("22:00", "06:00")) == "22:00-06:00"
        morning = BusinessHours("09:00", "12:00")
        assert Holiday(date(2026, 12, 24), morning).hours == (morning,)
        assert BusinessHours("00:00", "24:00").length == 24 * H
        assert calendar == BusinessCalendar(
            "UTC", calendar.hours, holidays=calendar.holidays
        )

    def test_holidays_given_as_a_set_are_sorted(self) -> None:
        """A set's holidays: dates by day, then rules; a closed day before a partial."""
        rule = "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=1"
        eve = (date(2026, 12, 24), (("09:00", "12:00"),))
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="UTC",
            holidays={rule, date(2026, 12, 25), eve, date(2026, 12, 24)},
        )
        assert calendar.holidays == (
            Holiday(date(2026, 12, 24)),
            Holiday(*eve),
            Holiday(date(2026, 12, 25)),
            Holiday(rule),
        )
        assert not calendar.is_open(datetime(2026, 12, 24, 10, tzinfo=UTC))

    def test_a_set_of_holidays_is_one_calendar_in_every_process(
        self, printed: Callable[..., set[str]]
    ) -> None:
        """The same set, under other hash seeds: the same hours, JSON and policy."""
        code = (
            "from datetime import UTC, date, datetime\n"
            "import attrs\n"
            "from funnelkit import BusinessCalendar\n"
            "from funnelkit.policies import b2b_saas\n"
            "from funnelkit.serialization import to_json\n"
            "days = {date(2026, 12, d) for d in range(20, 28)}\n"
            "eve = (date(2026, 12, 24), (('09:00', '12:00'),))\n"
            "calendar = BusinessCalendar.weekdays(\n"
            "    '09:00', '17:00', timezone='UTC', holidays=days | {eve}\n"
            ")\n"
            "print(to_json(calendar))\n"
            "print(calendar.is_open(datetime(2026, 12, 24, 10, tzinfo=UTC)))\n"
            "print(attrs.evolve(b2b_saas(), calendar=calendar).fingerprint)\n"
        )
        assert len(printed(code, seeds=("0", "1", "2", "3"))) == 1


class TestSkippedHours:
    """Hours wholly inside the gap of a spring-forward are closed that day."""

    @pytest.mark.parametrize(
        ("zone", "sunday", "hours", "inside"),
        [
            ("America/New_York", date(2026, 3, 8), ("02:15", "02:45"), time(3, 20)),
            ("Australia/Lord_Howe", date(2026, 10, 4), ("02:05", "02:25"), time(2, 40)),
        ],
    )
    def test_every_question_sees_the_day_closed(
        self, zone: str, sunday: date, hours: tuple[str, str], inside: time
    ) -> None:
        """elapsed, add, next_open, next_close, is_open and business days agree."""
        tz = ZoneInfo(zone)
        calendar = BusinessCalendar(zone, {"sun": [hours], "mon": [("09:00", "10:00")]})
        start = datetime.combine(sunday, time(0), tzinfo=tz)
        monday = datetime.combine(sunday + timedelta(days=1), time(9), tzinfo=tz)
        half = timedelta(minutes=30)
        assert calendar.elapsed(start, start + 12 * H) == timedelta(0)
        assert not calendar.is_open(datetime.combine(sunday, inside, tzinfo=tz))
        assert calendar.next_open(start) == monday
        assert calendar.next_close(start) == monday + H
        assert calendar.add(start, half) == monday + half
        saturday = datetime.combine(sunday - timedelta(days=1), time(2, 20), tzinfo=tz)
        assert calendar.add(saturday, BusinessDuration(days=1)) == datetime.combine(
            sunday + timedelta(days=1), time(2, 20), tzinfo=tz
        )
        week = start + timedelta(days=7)  # no clock change: open as usual
        assert calendar.elapsed(week, week + 12 * H) > timedelta(0)

    def test_weeks_jumped_over_keep_it_closed(self) -> None:
        """Counted over months, the skipped Sunday is still closed."""
        calendar = BusinessCalendar(
            "America/New_York",
            {"sun": [("02:15", "02:45")], "mon": [("09:00", "10:00")]},
        )
        start, end = ny(2026, 1, 1), ny(2026, 6, 1)
        expected = reference_elapsed(calendar, start, end)
        assert expected == 21 * H + 21 * timedelta(minutes=30)  # 22 Sundays, less one
        assert calendar.elapsed(start, end) == expected
        assert calendar.elapsed(start, calendar.add(start, expected)) == expected


class TestOverlaps:
    @pytest.mark.parametrize(
        ("calendar", "start", "end", "expected"),
        [
            (  # a partial holiday under last night's shift
                BusinessCalendar(
                    "UTC",
                    {"mon": [("22:00", "06:00")], "tue": [("09:00", "10:00")]},
                    holidays=[(date(2026, 3, 3), [("00:00", "08:00")])],
                ),
                datetime(2026, 3, 2, 21, tzinfo=UTC),
                datetime(2026, 3, 3, 12, tzinfo=UTC),
                10 * H,
            ),
            (  # a partial holiday wholly under last night's shift
                BusinessCalendar(
                    "UTC",
                    {"mon": [("22:00", "06:00")]},
                    holidays=[(date(2026, 3, 3), [("01:00", "03:00")])],
                ),
                datetime(2026, 3, 2, 21, tzinfo=UTC),
                datetime(2026, 3, 3, 12, tzinfo=UTC),
                8 * H,
            ),
            (  # a night shift the spring-forward pushes into the next morning
                BusinessCalendar(
                    "America/New_York",
                    {"sat": [("22:00", "02:30")], "sun": [("03:00", "05:00")]},
                ),
                ny(2026, 3, 7, 12),
                ny(2026, 3, 8, 12),
                6 * H,
            ),
            (  # the same, over whole weeks either side
                BusinessCalendar(
                    "America/New_York",
                    {"sat": [("22:00", "02:30")], "sun": [("03:00", "05:00")]},
                ),
                ny(2026, 2, 1),
                ny(2026, 4, 30),
                82 * H,
            ),
            (  # two intervals of one day pushed together
                BusinessCalendar(
                    "America/New_York",
                    {"sun": [("01:00", "02:30"), ("03:00", "04:00")]},
                ),
                ny(2026, 3, 8),
                ny(2026, 3, 8, 12),
                2 * H,
            ),
            (  # an overnight holiday running into an ordinary day
                BusinessCalendar(
                    "UTC",
                    {"tue": [("01:00", "03:00")]},
                    holidays=[(date(2026, 3, 2), [("22:00", "02:00")])],
                ),
                datetime(2026, 2, 1, tzinfo=UTC),
                datetime(2026, 4, 1, tzinfo=UTC),
                21 * H,
            ),
        ],
    )
    def test_time_open_twice_counts_once(
        self,
        calendar: BusinessCalendar,
        start: datetime,
        end: datetime,
        expected: timedelta,
    ) -> None:
        """Intervals that overlap (holidays, clock changes) count their time once."""
        assert calendar.elapsed(start, end) == expected
        assert calendar.add(start, expected) <= end
        assert calendar.elapsed(start, calendar.add(start, expected)) == expected


class TestBadInput:
    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (
                lambda: BusinessCalendar("Mars/Olympus", {"mon": [("09:00", "17:00")]}),
                "timezone",
            ),
            (lambda: BusinessCalendar("", {"mon": [("09:00", "17:00")]}), "timezone"),
            (  # the machine's own zone, where the system links it among the zones
                lambda: BusinessCalendar("localtime", {"mon": [("09:00", "17:00")]}),
                "timezone",
            ),
            (
                lambda: BusinessCalendar("posixrules", {"mon": [("09:00", "17:00")]}),
                "timezone",
            ),
            (
                lambda: BusinessCalendar("Factory", {"mon": [("09:00", "17:00")]}),
                "timezone",
            ),
            (
                lambda: BusinessCalendar("right/UTC", {"mon": [("09:00", "17:00")]}),
                "timezone",
            ),
            (
                lambda: BusinessCalendar(
                    "UTC", {"Mon": [("09:00", "12:00")], "mon": [("13:00", "17:00")]}
                ),
                "hours",
            ),
            (
                lambda: BusinessCalendar("UTC", {"funday": [("09:00", "17:00")]}),
                "hours['funday']",
            ),
            (lambda: BusinessCalendar("UTC", {}), "hours"),
            (lambda: BusinessCalendar("UTC", [("09:00", "17:00")]), "hours"),
            (lambda: BusinessCalendar("UTC", {"mon": "9 to 5"}), "hours['mon']"),
            (lambda: BusinessCalendar("UTC", {"mon": ["09:00"]}), "hours['mon']"),
            (
                lambda: BusinessCalendar(
                    "UTC", {"mon": [("09:00", "13:00"), ("12:00", "17:00")]}
                ),
                "hours['mon']",
            ),
            (
                lambda: BusinessCalendar(
                    "UTC", {"mon": [("22:00", "06:00")], "tue": [("05:00", "09:00")]}
                ),
                "hours",
            ),
            (
                lambda: BusinessCalendar(
                    "UTC", {"sun": [("22:00", "06:00")], "mon": [("05:00", "09:00")]}
                ),
                "hours",
            ),
            (lambda: BusinessHours("9am", "17:00"), "start"),
            (lambda: BusinessHours("09:00", "25:00"), "end"),
            (lambda: Holiday("every christmas"), "on"),
            (lambda: Holiday(datetime(2026, 12, 25, tzinfo=UTC)), "on"),
            (
                lambda: Holiday(
                    "DTSTART:20250101T000000Z\nRRULE:FREQ=YEARLY;BYYEARDAY=1"
                ),
                "on",
            ),
            (
                lambda: Holiday(
                    "DTSTART;TZID=America/New_York:20250101T000000\n"
                    "RRULE:FREQ=YEARLY;BYYEARDAY=1"
                ),
                "on",
            ),
            (lambda: Holiday(date(2026, 12, 24), "morning"), "hours"),
            (
                lambda: BusinessCalendar(
                    "UTC", {"mon": [("09:00", "17:00")]}, holidays=[42]
                ),
                "holidays[0]",
            ),
            (
                lambda: BusinessCalendar(
                    "UTC", {"mon": [("09:00", "17:00")]}, holidays=42
                ),
                "holidays",
            ),
        ],
    )
    def test_bad_parts_name_the_field(self, make: object, field: str) -> None:
        """A bad calendar part raises a PolicyError naming it."""
        with pytest.raises(PolicyError) as info:
            make()  # type: ignore[operator]
        assert info.value.field == field

    def test_a_bad_interval_list_is_reported_as_given(self) -> None:
        """A day's bad hours: the error holds them as given (a string whole)."""
        with pytest.raises(PolicyError) as info:
            BusinessCalendar("UTC", {"mon": [("09:00", "17:00"), "9 to 5"]})
        assert (BusinessHours("09:00", "17:00"), "9 to 5") == info.value.value
        assert "got (BusinessHours(" in str(info.value)
        with pytest.raises(PolicyError) as info:
            BusinessCalendar("UTC", {"mon": "9 to 5"})
        assert info.value.value == "9 to 5"

    @pytest.mark.parametrize("start", ["24:00", " 24:00"])
    def test_a_start_at_the_end_of_the_day_is_refused(self, start: str) -> None:
        """'24:00' ends a day: a start of 24:00 is refused, not read as 00:00."""
        with pytest.raises(PolicyError) as info:
            BusinessHours(start, "06:00")
        assert (info.value.field, info.value.value) == ("start", start)
        assert "00:00-24:00" in info.value.expected
        with pytest.raises(PolicyError):
            BusinessHours.parse("24:00-06:00")

    def test_a_weekday_named_twice_is_refused(self) -> None:
        """'Mon' and 'mon' name one day: refused, naming both, rather than merged."""
        with pytest.raises(PolicyError) as info:
            BusinessCalendar(
                "UTC", {"Mon": [("09:00", "12:00")], "mon": [("13:00", "17:00")]}
            )
        assert (info.value.field, info.value.value) == ("hours", "Mon and mon")
        calendar = BusinessCalendar("UTC", {"MON": [("09:00", "12:00")]})
        assert list(calendar.hours) == ["mon"]

    @pytest.mark.parametrize(
        ("rule", "expected"),
        [
            ("FREQ=DAILY;INTERVAL=0", "INTERVAL of 1 or more"),
            ("FREQ=YEARLY;INTERVAL=-1", "INTERVAL of 1 or more"),
            ("FREQ=DAILY;COUNT=0", "COUNT of 1 or more"),
            ("FREQ=HOURLY", "FREQ=DAILY, WEEKLY, MONTHLY or YEARLY"),
            ("freq=secondly;bymonth=12", "FREQ=DAILY, WEEKLY, MONTHLY or YEARLY"),
            ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25;BYHOUR=9,10", "no BYHOUR"),
            ("RRULE:FREQ=DAILY;BYMINUTE=0", "no BYMINUTE"),
            ("FREQ=DAILY;BYSECOND=0", "no BYSECOND"),
            ("FREQ=DAILY;BYSETPOS=2", "BYSETPOS numbers from -1 to 1, not 0"),
            ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=-8", "BYSETPOS numbers from -7 to 7"),
            ("FREQ=YEARLY;BYMONTH=13", "BYMONTH numbers from 1 to 12"),
            ("FREQ=YEARLY;BYMONTH=0", "BYMONTH numbers from 1 to 12"),
            ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY numbers from -31 to 31"),
            ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY numbers from -31 to 31"),
            ("FREQ=DAILY;BYYEARDAY=367", "BYYEARDAY numbers from -366 to 366"),
            ("FREQ=YEARLY;BYWEEKNO=-54", "BYWEEKNO numbers from -53 to 53"),
            ("FREQ=YEARLY;BYDAY=+60MO", "BYDAY weekdays numbered from -53 to 53"),
            ("FREQ=YEARLY;BYDAY=FR,-99MO", "BYDAY weekdays numbered from -53 to 53"),
            ("FREQ=MONTHLY;BYDAY=+53SU", "BYDAY weekdays numbered from -5 to 5"),
            (
                "FREQ=YEARLY;BYMONTH=12;BYDAY=+9MO",
                "BYDAY weekdays numbered from -5 to 5",
            ),
            ("FREQ=YEARLY;BYEASTER=366", "BYEASTER days from -80 to 250"),
            ("FREQ=YEARLY;BYEASTER=1,-100", "BYEASTER days from -80 to 250"),
            (
                "FREQ=DAILY;BYMONTH=2,4;BYMONTHDAY=31,-31",
                "no day of any year has BYMONTH=2,4 and BYMONTHDAY=31,-31",
            ),
            ("FREQ=YEARLY;BYMONTH=6;BYWEEKNO=1", "a rule that gives some day"),
            (
                "DTSTART:20100101T000000\nRRULE:FREQ=YEARLY;UNTIL=20091231T000000",
                "a rule that gives some day",
            ),
        ],
    )
    def test_rules_that_would_never_end_are_refused(
        self, rule: str, expected: str
    ) -> None:
        """A rule dateutil reads but would loop on, or search long, fails when built."""
        with pytest.raises(PolicyError) as info:
            BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC", holidays=[rule])
        assert (info.value.owner, info.value.field, info.value.value) == (
            "Holiday",
            "on",
            rule,
        )
        assert expected in info.value.expected

    @pytest.mark.parametrize(
        ("rule", "parts"),
        [
            ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTH=2 and BYMONTHDAY=30"),
            ("FREQ=DAILY;BYYEARDAY=366;BYMONTH=1", "BYMONTH=1 and BYYEARDAY=366"),
            ("FREQ=DAILY;BYMONTHDAY=31;BYYEARDAY=1", "BYMONTHDAY=31 and BYYEARDAY=1"),
            ("FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6", "BYMONTH=6 and BYWEEKNO=53"),
            ("FREQ=WEEKLY;BYWEEKNO=1;BYYEARDAY=-100", "BYYEARDAY=-100 and BYWEEKNO=1"),
            ("FREQ=YEARLY;BYEASTER=0;BYMONTH=6", "BYMONTH=6 and BYEASTER=0"),
            ("FREQ=YEARLY;BYEASTER=1;BYDAY=TU", "BYEASTER=1 and BYDAY=TU"),
            # Easter falls from 22 March to 25 April, never on 26 April.
            (
                "FREQ=YEARLY;BYEASTER=0;BYMONTH=4;BYMONTHDAY=26",
                "BYMONTH=4 and BYMONTHDAY=26 and BYEASTER=0 at once",
            ),
            ("FREQ=MONTHLY;BYDAY=+5MO;BYMONTHDAY=1", "BYMONTHDAY=1 and BYDAY=+5MO"),
            # A second Monday is the 8th to the 14th, from either end.
            ("FREQ=MONTHLY;BYDAY=+2MO;BYMONTHDAY=7", "BYMONTHDAY=7 and BYDAY=+2MO"),
            (
                "FREQ=MONTHLY;BYDAY=-2MO;BYMONTHDAY=-7",
                "BYMONTHDAY=-7 and BYDAY=-2MO",
            ),
            ("FREQ=YEARLY;BYDAY=-1SU;BYYEARDAY=1", "BYYEARDAY=1 and BYDAY=-1SU"),
            # dateutil keeps a day only if it is both a Monday and a first Tuesday.
            ("FREQ=MONTHLY;BYDAY=MO,+1TU", "BYDAY=MO,+1TU"),
            # The fewest parts are named, not every part of the rule.
            (
                "FREQ=DAILY;BYSETPOS=1;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYYEARDAY=1",
                "BYMONTH=2 and BYYEARDAY=1",
            ),
            # Each two are met on some day (1 February, 29 February, 1 March).
            (
                "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=1;BYYEARDAY=60",
                "BYMONTH=2 and BYMONTHDAY=1 and BYYEARDAY=60 at once",
            ),
            # What dateutil takes from the start when a rule does not say.
            (
                "DTSTART:20000130T000000\nRRULE:FREQ=YEARLY;BYMONTH=2",
                "BYMONTH=2 and BYMONTHDAY=30 (the start's day)",
            ),
            (
                "DTSTART:20000101T000000\nRRULE:FREQ=DAILY;INTERVAL=14;BYDAY=SU",
                "BYDAY=SU and INTERVAL=14 (the start's weekday)",  # a Saturday
            ),
        ],
    )
    def test_rules_no_day_can_meet_are_refused_naming_the_parts(
        self, rule: str, parts: str
    ) -> None:
        """Parts no day has at once are told without a search, the fewest named."""
        with pytest.raises(PolicyError) as info:
            BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC", holidays=[rule])
        assert (info.value.owner, info.value.field, info.value.value) == (
            "Holiday",
            "on",
            rule,
        )
        assert info.value.expected.endswith(
            f"(a rule that gives some day: no day of any year has {parts})"
        )

    @pytest.mark.parametrize(
        "rule",
        [
            "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",
            "FREQ=MONTHLY;BYMONTHDAY=31;BYSETPOS=2",
            "DTSTART:00010101T000000\nRRULE:FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",
            # Every fourth year from 2001 is a common year.
            "DTSTART:20010101T000000\nRRULE:FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
            # Easter Monday is never in week 12 (read as a yearly rule, at a
            # 366th of the periods), and Easter is one day a year.
            "FREQ=DAILY;BYEASTER=1;BYWEEKNO=12",
            "FREQ=WEEKLY;BYEASTER=1;BYWEEKNO=12;BYDAY=+1MO",
            "FREQ=YEARLY;BYEASTER=0;BYSETPOS=2",
        ],
    )
    def test_rules_that_miss_every_day_are_refused(self, rule: str) -> None:
        """A rule whose days its INTERVAL or BYSETPOS all miss is refused when built."""
        with pytest.raises(PolicyError) as info:
            BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC", holidays=[rule])
        assert info.value.expected.endswith(
            "(a rule that gives some day: this one gives none)"
        )

    @pytest.mark.parametrize(
        ("rule", "closed"),
        [
            # Easter falls on 22 March in 2285, for the first time after 1818.
            ("FREQ=YEARLY;BYEASTER=0;BYMONTH=3;BYMONTHDAY=22", date(2285, 3, 22)),
            ("FREQ=WEEKLY;BYEASTER=0;BYMONTHDAY=22", date(2285, 3, 22)),
            ("FREQ=YEARLY;BYEASTER=0;BYMONTH=4;BYMONTHDAY=25", date(2038, 4, 25)),
            (
                "DTSTART:20010101T000000\nRRULE:FREQ=YEARLY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29",
                date(2004, 2, 29),
            ),
            ("DTSTART:99000101T000000\nRRULE:FREQ=YEARLY", date(9900, 1, 1)),
            ("FREQ=WEEKLY", date(2026, 3, 7)),  # on the start's weekday, Saturday
            # Easter Monday: a daily rule's +2 is no number; in a month it is.
            ("FREQ=DAILY;BYEASTER=1;BYDAY=+2MO", date(2026, 4, 6)),
            ("FREQ=MONTHLY;BYEASTER=1;BYDAY=+1MO", date(2026, 4, 6)),
            ("FREQ=MONTHLY;BYEASTER=1;BYMONTH=4", date(2026, 4, 6)),
            ("FREQ=YEARLY;BYWEEKNO=1;BYMONTH=12;BYDAY=MO", date(2025, 12, 29)),
        ],
    )
    def test_rare_rules_are_kept(self, rule: str, closed: date) -> None:
        """A rule whose first day comes late, or seldom, closes that day."""
        every_day = {name: [("09:00", "17:00")] for name in WEEKDAY_NAMES}
        calendar = BusinessCalendar("UTC", every_day, holidays=[rule])
        noon = datetime.combine(closed, time(12), tzinfo=UTC)
        assert not calendar.is_open(noon)
        assert calendar.is_open(noon - timedelta(days=1))

    @settings(max_examples=40, deadline=None)
    @given(rule=yearly_rules())
    def test_a_rule_is_kept_if_and_only_if_it_gives_a_day(self, rule: str) -> None:
        """A calendar keeps the rules dateutil finds a day of, and refuses the rest."""
        gives = next(iter(rrulestr(rule, dtstart=datetime(2000, 1, 1))), None)  # noqa: DTZ001 -- as the calendar reads rules
        if gives is not None:
            BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC", holidays=[rule])
            return
        with pytest.raises(PolicyError, match="a rule that gives some day"):
            BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC", holidays=[rule])

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-12-25", "datetime.date(2026, 12, 25)"),
            (" 2026-12-25 ", "datetime.date(2026, 12, 25)"),
            ("christmas", "NAME=value parts joined by ';'"),
            ("RRULE:FREQ=YEARLY;christmas", "NAME=value parts joined by ';'"),
        ],
    )
    def test_text_that_is_no_rule_is_told_what_a_rule_is(
        self, text: str, expected: str
    ) -> None:
        """A date given as text, or a word, hears what to write instead."""
        with pytest.raises(PolicyError) as info:
            BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC", holidays=[text])
        assert expected in info.value.expected
        assert "unpack" not in info.value.expected

    def test_rules_at_their_limits_are_kept(self) -> None:
        """A month's last weekday, leap days, every other Wednesday: all counted."""
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="UTC",
            holidays=[
                "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
                "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
                "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=3",
                "FREQ=DAILY;BYMONTH=4,12;BYMONTHDAY=31;BYSETPOS=1",
            ],
        )
        closed = [
            datetime(2026, 3, 31, 10, tzinfo=UTC),  # a Tuesday, March's last weekday
            datetime(2028, 2, 29, 10, tzinfo=UTC),
            datetime(2000, 1, 26, 10, tzinfo=UTC),
            datetime(2026, 12, 31, 10, tzinfo=UTC),
        ]
        assert not any(calendar.is_open(moment) for moment in closed)
        assert calendar.is_open(datetime(2026, 3, 30, 10, tzinfo=UTC))
        assert calendar.is_open(datetime(2000, 2, 23, 10, tzinfo=UTC))  # after 3 times

    def test_naive_times_and_bad_durations(self) -> None:
        """Naive datetimes and negative durations are refused, naming the field."""
        with pytest.raises(NaiveDatetimeError):
            NINE_TO_FIVE.add(datetime(2026, 3, 6, 16), H)  # noqa: DTZ001 -- the point
        with pytest.raises(NaiveDatetimeError):
            NINE_TO_FIVE.elapsed(ny(2026, 3, 6), datetime(2026, 3, 7))  # noqa: DTZ001 -- ditto
        with pytest.raises(ValidationError) as info:
            NINE_TO_FIVE.add(ny(2026, 3, 6), -H)
        assert info.value.field == "duration"
        with pytest.raises(ValidationError):
            NINE_TO_FIVE.add(ny(2026, 3, 6), "8 business hours")  # type: ignore[arg-type]

    def test_instants_that_are_not_datetimes(self) -> None:
        """A date or a string for an instant is refused, naming the field."""
        with pytest.raises(ValidationError) as info:
            NINE_TO_FIVE.add(date(2026, 3, 6), H)  # type: ignore[arg-type]
        assert info.value.field == "start"
        with pytest.raises(ValidationError) as info:
            NINE_TO_FIVE.elapsed(ny(2026, 3, 6), "2026-03-07")  # type: ignore[arg-type]
        assert info.value.field == "end"

    def test_a_datetime_subclass_counts_as_its_instant(self) -> None:
        """An aware instance of a datetime subclass is read as the instant it is."""

        class Moment(datetime):
            pass

        start = Moment(2026, 3, 6, 16, tzinfo=ZoneInfo("America/New_York"))
        assert NINE_TO_FIVE.add(start, 2 * H) == ny(2026, 3, 9, 10)
        assert NINE_TO_FIVE.elapsed(start, ny(2026, 3, 9, 10)) == 2 * H

    def test_holidays_that_close_every_day_end_in_an_error(self) -> None:
        """No open time for ten years is an error, never an endless loop."""
        closed = BusinessCalendar.weekdays(
            "09:00", "17:00", timezone="UTC", holidays=["FREQ=DAILY"]
        )
        start = datetime(2026, 3, 6, tzinfo=UTC)
        attempts: list[Callable[[], object]] = [
            lambda: closed.add(start, H),
            lambda: closed.add(start, BusinessDuration(days=1)),
            lambda: closed.next_open(start),
        ]
        for attempt in attempts:
            with pytest.raises(PolicyError) as info:
                attempt()
            assert info.value.field == "holidays"


ZONES = (
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/St_Johns",
    "Australia/Sydney",
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """A random calendar: random zone, intervals per day, holidays."""
    week: dict[str, list[tuple[time, time]]] = {}
    quarter_hours = st.integers(0, 95)
    for day in DAYS:
        marks = sorted(set(draw(st.lists(quarter_hours, max_size=4))))
        pairs = [(marks[i], marks[i + 1]) for i in range(0, len(marks) - 1, 2)]
        week[day] = [
            (time(a // 4, a % 4 * 15), time(b // 4, b % 4 * 15)) for a, b in pairs
        ]
    if not any(week.values()):
        week["wed"] = [(time(9), time(17))]
    if draw(st.booleans()):  # an overnight shift on Friday, alone that night
        last = max((b for _, b in week["fri"]), default=time(0))
        if last <= time(20) and not week["sat"]:
            week["fri"].append((time(22), time(6)))
    holidays = draw(st.lists(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=6))
    return BusinessCalendar(draw(st.sampled_from(ZONES)), week, holidays=holidays)


STARTS = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)).map(  # noqa: DTZ001 -- made aware
    lambda moment: moment.replace(tzinfo=UTC)
)
DURATIONS = st.integers(0, 400 * 60).map(lambda minutes: timedelta(minutes=minutes))


def skipped(local: datetime) -> bool:
    """Whether the clocks skip this local time (it does not survive a round trip)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) != local.replace(tzinfo=None)


def reference_elapsed(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> timedelta:
    """Open time between two instants, day by day from the calendar's parts.

    Time that two intervals share (a clock change may push them together)
    counts once.
    """
    zone = ZoneInfo(calendar.timezone)
    holidays = {h.on: h.hours for h in calendar.holidays}
    day = start.astimezone(zone).date() - timedelta(days=1)
    spans = []
    while day <= end.astimezone(zone).date():
        hours = holidays.get(day, calendar.hours.get(DAYS[day.weekday()], ()))
        for item in hours:
            opens = datetime.combine(day, item.start, tzinfo=zone)
            closes = datetime.combine(
                day + timedelta(days=1 if item.overnight else 0), item.end, tzinfo=zone
            )
            if not item.overnight and skipped(opens) and skipped(closes):
                continue  # wholly inside the hour the clocks skip: closed
            # In UTC: two times in one zone compare and subtract as wall clocks.
            low = max(opens.astimezone(UTC), start)
            high = min(closes.astimezone(UTC), end)
            if high > low:
                spans.append((low, high))
        day += timedelta(days=1)
    total, counted = timedelta(0), start
    for low, high in sorted(spans):
        if high > counted:
            total += high - max(low, counted)
            counted = high
    return total


def reference_add_days(
    calendar: BusinessCalendar, start: datetime, days: int
) -> datetime:
    """*start* moved *days* open days on, one day at a time, at the same local time.

    An open day has an interval of its own (of its holiday's hours, or its
    weekday's) that the clocks do not skip.
    """
    zone = ZoneInfo(calendar.timezone)
    holidays = {h.on: h.hours for h in calendar.holidays}
    local = start.astimezone(zone)
    day = local.date()
    while days:
        day += timedelta(days=1)
        hours = holidays.get(day, calendar.hours.get(DAYS[day.weekday()], ()))
        for item in hours:
            opens = datetime.combine(day, item.start, tzinfo=zone)
            closes = datetime.combine(
                day + timedelta(days=1 if item.overnight else 0), item.end, tzinfo=zone
            )
            if item.overnight or not (skipped(opens) and skipped(closes)):
                days -= 1
                break
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(start.tzinfo)


RANGE = (
    "an instant at or after 0002-01-01T00:00:00+00:00 "
    "and before 9999-01-01T00:00:00+00:00"
)
UTC_WEEKDAYS = BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC")
LAST_THURSDAY = datetime(9998, 12, 31, 12, tzinfo=UTC)  # 9999 begins on a Friday


class TestRange:
    """The calendar counts in the UTC years 2 to 9998; outside, a named error."""

    @pytest.mark.parametrize(
        ("ask", "field"),
        [
            (lambda c: c.is_open(EARLIEST), "at"),
            (lambda c: c.next_open(LATEST), "at"),
            (lambda c: c.next_close(LATEST), "at"),
            (lambda c: c.elapsed(EARLIEST, EARLIEST + timedelta(days=30)), "start"),
            (lambda c: c.elapsed(ny(2026, 1, 1), LATEST), "end"),
            (
                lambda c: c.add(LATEST - timedelta(days=3), timedelta(hours=100)),
                "start",
            ),
            (lambda c: c.add(datetime(1, 1, 1, tzinfo=UTC), H), "start"),
            (
                lambda c: c.add(
                    datetime(1, 1, 1, tzinfo=UTC), BusinessDuration(days=1)
                ),
                "start",
            ),
            (lambda c: c.is_open(datetime(9999, 1, 1, tzinfo=UTC)), "at"),
            (  # midnight of the year 2 at UTC+05:00 is still the year 1 in UTC
                lambda c: c.add(datetime(2, 1, 1, tzinfo=timezone(5 * H)), H),
                "start",
            ),
        ],
    )
    def test_beyond_the_range(
        self, ask: Callable[[BusinessCalendar], object], field: str
    ) -> None:
        """Outside the range, a ValidationError whose message states the range."""
        with pytest.raises(ValidationError) as info:
            ask(NINE_TO_FIVE)
        assert (info.value.field, info.value.expected) == (field, RANGE)

    def test_the_ends_of_the_range_are_counted(self) -> None:
        """The first and last days of the range answer, in any time zone."""
        new_york = ZoneInfo("America/New_York")
        first = datetime(2, 1, 1, tzinfo=UTC)  # a Tuesday
        assert UTC_WEEKDAYS.add(first, H) == datetime(2, 1, 1, 10, tzinfo=UTC)
        assert UTC_WEEKDAYS.next_open(first) == datetime(2, 1, 1, 9, tzinfo=UTC)
        assert UTC_WEEKDAYS.next_close(first) == datetime(2, 1, 1, 17, tzinfo=UTC)
        assert UTC_WEEKDAYS.add(first, BusinessDuration(days=1)) == datetime(
            2, 1, 2, tzinfo=UTC
        )
        # New York's midnight of 1 January is the year 1 there, in local time.
        local = NINE_TO_FIVE.add(first, H)
        assert local == datetime(2, 1, 1, 10, tzinfo=new_york).astimezone(UTC)
        saturday = datetime(2, 1, 5, 12, tzinfo=new_york)
        one_day = BusinessDuration(days=1)
        assert NINE_TO_FIVE.add(saturday, one_day) == datetime(
            2, 1, 7, 12, tzinfo=new_york
        )
        monday = datetime(9998, 1, 5, 12, tzinfo=new_york)
        assert NINE_TO_FIVE.add(monday, one_day) == datetime(
            9998, 1, 6, 12, tzinfo=new_york
        )
        month = (first, datetime(2, 2, 1, tzinfo=UTC))
        assert NINE_TO_FIVE.elapsed(*month) == reference_elapsed(NINE_TO_FIVE, *month)
        assert UTC_WEEKDAYS.add(LAST_THURSDAY, 4 * H) == LAST_THURSDAY + 4 * H
        assert UTC_WEEKDAYS.is_open(LAST_THURSDAY)
        end = datetime(9999, 1, 1, tzinfo=UTC) - timedelta(microseconds=1)
        assert UTC_WEEKDAYS.elapsed(LAST_THURSDAY, end) == 5 * H

    @pytest.mark.parametrize(
        ("calendar", "ask", "answer"),
        [
            (
                UTC_WEEKDAYS,
                lambda c: c.add(LAST_THURSDAY, 6 * H),
                "and a duration (6:00:00) that ends",
            ),
            (
                UTC_WEEKDAYS,
                lambda c: c.add(LAST_THURSDAY, 20 * H),
                "and a duration (20:00:00) that ends",
            ),
            (
                UTC_WEEKDAYS,
                lambda c: c.add(LAST_THURSDAY, BusinessDuration(days=1)),
                "and a duration (1 business day) that ends",
            ),
            (
                UTC_WEEKDAYS,
                lambda c: c.add(LAST_THURSDAY, BusinessDuration(days=2)),
                "and a duration (2 business days) that ends",
            ),
            (
                UTC_WEEKDAYS,
                lambda c: c.next_open(LAST_THURSDAY + 8 * H),
                "whose next opening comes",
            ),
            (
                UTC_WEEKDAYS,
                lambda c: c.next_close(LAST_THURSDAY + 8 * H),
                "whose next closing comes",
            ),
            (
                BusinessCalendar("UTC", {"mon": [("09:00", "17:00")]}),
                lambda c: c.next_open(LAST_THURSDAY),
                "whose next opening comes",
            ),
            (
                BusinessCalendar("UTC", {day: [("00:00", "24:00")] for day in DAYS}),
                lambda c: c.next_close(datetime(9995, 1, 1, tzinfo=UTC)),
                "whose next closing comes",
            ),
        ],
    )
    def test_answers_beyond_the_range(
        self,
        calendar: BusinessCalendar,
        ask: Callable[[BusinessCalendar], object],
        answer: str,
    ) -> None:
        """An answer past the range is a ValidationError saying so, not an overflow."""
        with pytest.raises(ValidationError) as info:
            ask(calendar)
        expected = f"{RANGE}, {answer} before 9999-01-01T00:00:00+00:00"
        assert info.value.expected == expected

    @settings(max_examples=50)
    @given(
        calendar=calendars(),
        # 400 hours at a quarter of an hour a week take 31 years: end in range.
        start=st.datetimes(datetime(2, 1, 1), datetime(9960, 12, 31)).map(  # noqa: DTZ001 -- made aware
            lambda moment: moment.replace(tzinfo=UTC)
        ),
        duration=DURATIONS,
    )
    def test_every_instant_in_range_answers(
        self, calendar: BusinessCalendar, start: datetime, duration: timedelta
    ) -> None:
        """Across the range, from its first instant, add and elapsed undo each other."""
        end = calendar.add(start, duration)
        assert calendar.elapsed(start, end) == duration

    def test_centuries_of_recurring_holidays(self) -> None:
        """Three centuries of business time across yearly rules: inverse, and done."""
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="America/New_York",
            holidays=[
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
                "FREQ=YEARLY;BYMONTH=11;BYDAY=+4TH",
            ],
        )
        start = ny(2026, 3, 6, 16)
        span = timedelta(hours=40 * 52 * 300)
        end = calendar.add(start, span)
        assert end.year == 2327
        assert calendar.elapsed(start, end) == span

    @pytest.mark.parametrize(("first", "step"), [(2026, 1), (2325, -1), (1700, 1)])
    def test_rules_are_read_in_widening_windows(self, first: int, step: int) -> None:
        """Years read one by one read the rules a few times, not once a year."""
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="America/New_York",
            holidays=["FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"],
        )
        rule, hours = calendar._rules[0]
        reads: list[tuple[int, int]] = []

        class Counting:
            def between(
                self, begin: datetime, end: datetime, *, inc: bool
            ) -> list[datetime]:
                reads.append((begin.year, end.year))
                return rule.between(begin, end, inc=inc)

        object.__setattr__(calendar, "_rules", ((Counting(), hours),))
        for year in range(first, first + 300 * step, step):
            days = [date.fromordinal(day) for day in calendar._rule_days(year)]
            assert days == ([date(year, 12, 25)] if year >= 2000 else [])
        assert len(reads) <= 6

    def test_rules_at_the_ends_of_the_calendar(self) -> None:
        """The first and last years Python holds read their rules' days."""
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="UTC",
            holidays=[
                "DTSTART:00010101T000000\nRRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"
            ],
        )
        for year in (1, 9999):
            days = [date.fromordinal(day) for day in calendar._rule_days(year)]
            assert days == [date(year, 12, 25)]


EARLIEST: datetime = datetime(1, 1, 10, tzinfo=UTC)
LATEST: datetime = datetime(9999, 12, 31, 18, tzinfo=UTC)


class TestProperties:
    @settings(max_examples=300)
    @given(calendar=calendars(), start=STARTS, duration=DURATIONS)
    def test_elapsed_undoes_add(
        self, calendar: BusinessCalendar, start: datetime, duration: timedelta
    ) -> None:
        """elapsed(s, add(s, d)) == d, for open and closed starts alike."""
        end = calendar.add(start, duration)
        assert end >= start
        assert calendar.elapsed(start, end) == duration

    @given(calendar=calendars(), start=STARTS, duration=DURATIONS)
    def test_elapsed_matches_a_day_by_day_count(
        self, calendar: BusinessCalendar, start: datetime, duration: timedelta
    ) -> None:
        """The week-jumping count equals a plain day-by-day one."""
        end = start + duration * 3
        assert calendar.elapsed(start, end) == reference_elapsed(calendar, start, end)

    @given(calendar=calendars(), start=STARTS, days=st.integers(0, 120))
    def test_business_days_match_a_day_by_day_walk(
        self, calendar: BusinessCalendar, start: datetime, days: int
    ) -> None:
        """Business days that jump whole weeks land where a day-by-day walk does."""
        moved = calendar.add(start, BusinessDuration(days=days))
        assert moved == reference_add_days(calendar, start, days)

    @given(calendar=calendars(), start=STARTS, first=DURATIONS, second=DURATIONS)
    def test_add_is_additive(
        self,
        calendar: BusinessCalendar,
        start: datetime,
        first: timedelta,
        second: timedelta,
    ) -> None:
        """Adding in two steps lands where adding the sum does."""
        assert calendar.add(calendar.add(start, first), second) == calendar.add(
            start, first + second
        )

    @given(
        zone=st.sampled_from(("UTC", "America/New_York", "Australia/Lord_Howe")),
        day=st.dates(date(2026, 1, 1), date(2030, 12, 31)).filter(
            lambda day: day.weekday() < 5
        ),
        minutes=st.integers(1, 8 * 60),
        days=st.integers(0, 40_000),
    )
    def test_business_days_are_whole_open_days(
        self, zone: str, day: date, minutes: int, days: int
    ) -> None:
        """From open time on weekdays 09:00-17:00, n business days are 8n open hours."""
        calendar = BusinessCalendar.weekdays("09:00", "17:00", timezone=zone)
        start = datetime.combine(day, time(9), tzinfo=ZoneInfo(zone))
        start += timedelta(minutes=minutes)
        assert calendar.add(start, BusinessDuration(days=days)) == calendar.add(
            start, 8 * H * days
        )

    @given(calendar=calendars(), start=STARTS)
    def test_next_open_and_close_agree_with_is_open(
        self, calendar: BusinessCalendar, start: datetime
    ) -> None:
        """next_open is open (or the start, if open); next_close is not, and reopens."""
        opens = calendar.next_open(start)
        assert calendar.is_open(opens)
        assert (opens == start) is calendar.is_open(start)
        closes = calendar.next_close(start)
        assert closes > opens
        assert not calendar.is_open(closes)
        assert calendar.elapsed(opens, closes) == closes - opens
        reopens = calendar.next_open(closes)
        assert reopens > closes
        assert calendar.is_open(reopens)
        assert calendar.next_close(closes) > reopens


class TestSerialization:
    @given(calendar=strategies.calendars())
    def test_calendars_round_trip(self, calendar: BusinessCalendar) -> None:
        """A calendar (rules and partial holidays too) survives JSON exactly."""
        again = from_json(to_json(calendar), BusinessCalendar)
        assert again == calendar
        start = datetime(2026, 3, 6, tzinfo=UTC)
        assert again.add(start, 10 * H) == calendar.add(start, 10 * H)

    def test_the_wire_format_is_short(self) -> None:
        """Hours are 'HH:MM-HH:MM'; a closed day is its date or rule alone."""
        calendar = BusinessCalendar(
            "UTC",
            {"sun": [("00:00", "24:00")]},
            holidays=[
                date(2026, 1, 1),
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
                (date(2026, 12, 24), [("09:00", "12:00")]),
            ],
        )
        assert json.loads(to_json(calendar)) == {
            "timezone": "UTC",
            "hours": {"sun": ["00:00-24:00"]},
            "holidays": [
                "2026-01-01",
                "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
                {"on": "2026-12-24", "hours": ["09:00-12:00"]},
            ],
        }

    @pytest.mark.parametrize(
        ("data", "path"),
        [
            ({"timezone": "UTC", "hours": {"mon": ["9 to 5"]}}, "hours.mon[0]"),
            ({"timezone": "UTC", "hours": {"mon": [9]}}, "hours.mon[0]"),
            (
                {"timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}, "holidays": [5]},
                "holidays[0]",
            ),
            (
                {
                    "timezone": "UTC",
                    "hours": {"mon": ["09:00-17:00"]},
                    "holidays": ["sometimes"],
                },
                "holidays[0]",
            ),
            (
                {
                    "timezone": "UTC",
                    "hours": {"mon": ["09:00-17:00"]},
                    "holidays": [{"on": 2026, "hours": []}],
                },
                "holidays[0]",
            ),
        ],
    )
    def test_bad_data_names_the_path(self, data: object, path: str) -> None:
        """A bad calendar in JSON names where it went wrong."""
        with pytest.raises(SerializationError) as info:
            from_json(json.dumps(data), BusinessCalendar)
        assert path in str(info.value)

    def test_hours_read_back_their_text(self) -> None:
        """BusinessHours.parse reads what str() writes, and only that."""
        assert BusinessHours.parse("22:00-06:00") == BusinessHours("22:00", "06:00")
        with pytest.raises(PolicyError):
            BusinessHours.parse("22:00")
        with pytest.raises(PolicyError):
            BusinessHours(time(9, 0, 30), time(17))


class FakeHolidays:
    """Stands in for the holidays package: two countries, one subdivision."""

    @staticmethod
    def country_holidays(
        country: str, subdiv: str | None = None, years: int = 2026
    ) -> dict[date, str]:
        """New Year's Day everywhere it knows; 4 July in the US; 1 May in NY."""
        if country not in {"US", "DE"}:
            raise NotImplementedError(f"Country {country} not available")
        if subdiv not in {None, "NY"}:
            raise NotImplementedError(f"no subdivision {subdiv}")
        found = {date(years, 1, 1): "New Year's Day"}
        if country == "US":
            found[date(years, 7, 4)] = "Independence Day"
        if subdiv == "NY":
            found[date(years, 5, 1)] = "A New York day"
        return found


class TestCountryHolidays:
    def test_a_country_closes_its_public_holidays(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """country= adds the package's holidays, year by year, after our own."""
        monkeypatch.setitem(sys.modules, "holidays", FakeHolidays)
        calendar = BusinessCalendar.weekdays(
            "09:00",
            "17:00",
            timezone="America/New_York",
            country="US",
            subdivision="NY",
            holidays=[(date(2031, 7, 4), [("09:00", "12:00")])],
        )
        assert not calendar.is_open(ny(2029, 7, 4, 10))
        assert calendar.is_open(ny(2029, 7, 5, 10))
        assert not calendar.is_open(ny(2029, 5, 1, 10))
        assert calendar.is_open(ny(2031, 7, 4, 10))  # our partial day wins
        assert calendar.add(ny(2030, 12, 31, 16), 2 * H) == ny(2031, 1, 2, 10)
        again = from_json(to_json(calendar), BusinessCalendar)
        assert (again.country, again.subdivision) == ("US", "NY")

    @pytest.mark.parametrize(
        ("country", "subdivision", "field"),
        [
            ("XX", None, "country"),
            ("US", "ZZ", "subdivision"),
            ("", None, "country"),
            ("US", "", "subdivision"),
            (None, "NY", "subdivision"),
        ],
    )
    def test_unknown_codes_are_policy_errors(
        self,
        monkeypatch: pytest.MonkeyPatch,
        country: str | None,
        subdivision: str | None,
        field: str,
    ) -> None:
        """A code the package does not know fails when the calendar is built."""
        monkeypatch.setitem(sys.modules, "holidays", FakeHolidays)
        with pytest.raises(PolicyError) as info:
            BusinessCalendar.weekdays(
                "09:00",
                "17:00",
                timezone="UTC",
                country=country,
                subdivision=subdivision,
            )
        assert info.value.field == field

    def test_without_the_package_the_error_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No holidays package: a MissingExtraError saying what to install."""
        monkeypatch.setitem(sys.modules, "holidays", None)
        with pytest.raises(MissingExtraError) as info:
            BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC", country="US")
        assert info.value.extra == "holidays"
        assert "pip install 'funnelkit[holidays]'" in str(info.value)
        assert isinstance(info.value, ImportError)

    def test_with_the_real_package(self) -> None:
        """The holidays package itself, where it is installed (the extra's CI run)."""
        pytest.importorskip("holidays")
        calendar = BusinessCalendar.weekdays(
            "09:00", "17:00", timezone="America/New_York", country="US"
        )
        assert not calendar.is_open(ny(2026, 11, 26, 10))  # Thanksgiving
        assert not calendar.is_open(ny(2027, 7, 5, 10))  # 4 July, observed
        assert calendar.is_open(ny(2026, 11, 27, 10))
