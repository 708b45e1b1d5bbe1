from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    BusinessCalendar,
    BusinessDuration,
    Clock,
    Lead,
    NaiveDatetimeError,
    SerializationError,
    SystemClock,
    ValidationError,
    format_duration,
)
from funnelkit._time import (
    add_elapsed,
    elapsed,
    from_utc_micros,
    is_aware,
    is_zone_name,
    require_aware,
    span_micros,
    utc_micros,
)
from funnelkit.serialization import structure
from funnelkit.testing import ManualClock
from funnelkit.testing.strategies import aware_datetimes

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: datetimes using it are naive."""

    def utcoffset(self, dt: datetime | None) -> None:  # noqa: ARG002 -- tzinfo API
        return None


class TestRequireAware:
    def test_returns_aware_value(self) -> None:
        """An aware datetime passes through unchanged."""
        assert require_aware(START, field="at") is START

    def test_naive_raises(self) -> None:
        """A naive datetime raises NaiveDatetimeError naming field and value."""
        with pytest.raises(
            NaiveDatetimeError, match=r"Activity\.at: expected a timezone-aware"
        ) as info:
            require_aware(datetime(2026, 3, 2), field="at", owner="Activity")  # noqa: DTZ001
        assert info.value.field == "at"
        assert info.value.value == datetime(2026, 3, 2)  # noqa: DTZ001

    def test_tzinfo_without_offset_counts_as_naive(self) -> None:
        """A tzinfo whose utcoffset is None makes a naive datetime (Python's rule)."""
        value = datetime(2026, 3, 2, tzinfo=_NoOffset())  # type: ignore[abstract] # typeshed's tzname, dst
        assert not is_aware(value)
        with pytest.raises(NaiveDatetimeError):
            require_aware(value, field="at")

    @pytest.mark.parametrize("value", [date(2026, 3, 2), "2026-03-02T09:00Z", 0, None])
    def test_non_datetime_raises(self, value: object) -> None:
        """A date, a string or a number is rejected with a ValidationError."""
        with pytest.raises(ValidationError, match="expected a timezone-aware datetime"):
            require_aware(value, field="at")

    @given(st.datetimes())
    def test_every_naive_datetime_is_rejected(self, value: datetime) -> None:
        """No naive datetime ever passes."""
        with pytest.raises(NaiveDatetimeError):
            require_aware(value, field="at")

    @pytest.mark.parametrize(
        "value",
        [
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        ],
    )
    def test_an_instant_past_datetime_s_range_in_utc_is_refused(
        self, value: datetime
    ) -> None:
        """Its UTC form would overflow in the engine: refused where it enters."""
        with pytest.raises(ValidationError, match="range in UTC") as info:
            Lead("L-1", value)
        assert info.value.field == "created_at"
        with pytest.raises(ValidationError, match="range in UTC"):
            Activity("L-1", "page_view", value)
        edge = datetime(9999, 12, 31, 23, tzinfo=UTC)
        assert require_aware(edge, field="at") is edge

    def test_an_instant_finer_than_a_microsecond_is_refused(self) -> None:
        """A datetime subclass holding nanoseconds (a pandas Timestamp) is refused."""

        class Nanos(datetime):
            nanosecond = 1

        value = Nanos(2026, 3, 2, 9, tzinfo=UTC)
        with pytest.raises(ValidationError, match="whole microseconds") as info:
            Activity("L-1", "page_view", value)
        assert info.value.field == "at"

        class Whole(datetime):
            nanosecond = 0

        whole = Whole(2026, 3, 2, 9, tzinfo=UTC)
        assert Activity("L-1", "page_view", whole).at == START


class TestZoneNames:
    @pytest.mark.parametrize(
        "name", ["UTC", "Europe/Berlin", "America/New_York", "US/Eastern", "Etc/GMT+5"]
    )
    def test_iana_keys_are_zone_names(self, name: str) -> None:
        """Keys of the IANA database, links included, name zones."""
        assert is_zone_name(name)

    @pytest.mark.parametrize(
        "name",
        [
            "localtime",  # the machine's own zone, linked among the zones on Debian
            "posixrules",
            "Factory",  # IANA's placeholder for a zone nobody set
            "right/UTC",
            "posix/Europe/Berlin",
            "Europe",
            "utc",
            " UTC",
            "",
            "Mars/Olympus",
            None,
            5,
        ],
    )
    def test_other_names_are_not(self, name: object) -> None:
        """Files of the zone folders that are not IANA keys, and non-names, are not."""
        assert not is_zone_name(name)


class TestUtcMicros:
    def test_epoch_is_zero(self) -> None:
        """1970-01-01 UTC is instant zero."""
        assert utc_micros(datetime(1970, 1, 1, tzinfo=UTC)) == 0

    def test_offsets_are_subtracted(self) -> None:
        """The same instant in two zones gives the same number."""
        berlin = datetime(2026, 3, 2, 10, tzinfo=ZoneInfo("Europe/Berlin"))
        assert utc_micros(berlin) == utc_micros(datetime(2026, 3, 2, 9, tzinfo=UTC))

    def test_edge_of_range_does_not_overflow(self) -> None:
        """A time whose UTC form is past year 9999 still converts exactly."""
        late = datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))
        assert (
            utc_micros(late)
            == utc_micros(datetime.max.replace(tzinfo=UTC)) + 5 * 3_600_000_000
        )

    @given(
        st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1)),  # noqa: DTZ001 -- made aware
        st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    )
    def test_from_utc_micros_undoes_it(self, value: datetime, zone: str) -> None:
        """Back from the number, the instant is the same, in the zone asked for."""
        instant = value.replace(tzinfo=UTC)
        back = from_utc_micros(utc_micros(instant), ZoneInfo(zone))
        # An ambiguous local time never equals another zone's (PEP 495): in UTC.
        assert (back.astimezone(UTC), back.tzinfo) == (instant, ZoneInfo(zone))

    @given(st.timedeltas())
    def test_span_micros_is_the_exact_count(self, value: timedelta) -> None:
        """A span's microseconds, negative ones and the extremes included."""
        assert span_micros(value) == value // timedelta(microseconds=1)

    @given(aware_datetimes())
    def test_matches_timestamp_order(self, value: datetime) -> None:
        """The number agrees with Python's own instant arithmetic."""
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        assert utc_micros(value) == delta // timedelta(microseconds=1)


LONDON = ZoneInfo("Europe/London")
MICRO = timedelta(microseconds=1)


class TestElapsedTime:
    def test_across_the_spring_change(self) -> None:
        """30 days after 09:00 GMT on 2 March is 10:00 BST on 1 April, not 09:00."""
        start = datetime(2026, 3, 2, 9, tzinfo=LONDON)
        later = add_elapsed(start, timedelta(days=30))
        assert (later.hour, later.tzinfo) == (10, LONDON)
        assert elapsed(start, later) == timedelta(days=30)
        # Python's own arithmetic counts local time: an hour short.
        assert elapsed(start, start + timedelta(days=30)) == timedelta(
            days=30, hours=-1
        )

    def test_in_the_repeated_hour(self) -> None:
        """An hour after 01:30 BST is 01:30 GMT, the second 01:30 of the night."""
        first = datetime(2026, 10, 25, 1, 30, tzinfo=LONDON)
        second = add_elapsed(first, timedelta(hours=1))
        assert (second.hour, second.minute, second.fold) == (1, 30, 1)
        assert elapsed(first, second) == timedelta(hours=1)

    def test_fixed_offsets_and_mixed_zones(self) -> None:
        """Fixed offsets add plainly; two zones subtract as instants."""
        plus_two = datetime(2026, 3, 29, 0, tzinfo=timezone(timedelta(hours=2)))
        assert add_elapsed(plus_two, timedelta(days=1)) == plus_two + timedelta(days=1)
        london = datetime(2026, 3, 29, 3, tzinfo=LONDON)  # 02:00 UTC
        assert elapsed(plus_two, london) == timedelta(hours=4)
        assert elapsed(london, plus_two) == -timedelta(hours=4)

    @given(
        aware_datetimes(),
        st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)),
    )
    def test_laws(self, start: datetime, delta: timedelta) -> None:
        """add_elapsed moves the instant by exactly delta, in the same zone."""
        later = add_elapsed(start, delta)
        assert later.tzinfo is start.tzinfo
        assert utc_micros(later) - utc_micros(start) == delta // MICRO
        assert elapsed(start, later) == delta
        assert elapsed(later, start) == -delta


class TestSystemClock:
    def test_now_is_aware_in_its_zone(self) -> None:
        """SystemClock returns an aware datetime in the configured zone."""
        berlin = ZoneInfo("Europe/Berlin")
        now = SystemClock(berlin).now()
        assert now.tzinfo is berlin
        assert isinstance(SystemClock(), Clock)

    def test_rejects_non_tzinfo(self) -> None:
        """A zone name string instead of a tzinfo is rejected."""
        with pytest.raises(ValidationError, match=r"SystemClock\.tz"):
            SystemClock("Europe/Berlin")  # type: ignore[arg-type]


class TestManualClock:
    def test_stands_still_until_moved(self) -> None:
        """now() returns the start until set or advance moves it."""
        clock = ManualClock(START)
        assert clock.now() == START
        assert clock.now() == START
        assert isinstance(clock, Clock)

    def test_advance_moves_forward(self) -> None:
        """advance adds the delta and returns the new time."""
        clock = ManualClock(START)
        assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
        assert clock.now() == START + timedelta(hours=2)

    def test_set_goes_anywhere(self) -> None:
        """set moves to any aware time, earlier ones included."""
        clock = ManualClock(START)
        earlier = START - timedelta(days=3)
        assert clock.set(earlier) == earlier
        assert clock.now() == earlier

    def test_repr_shows_the_time(self) -> None:
        """The repr shows the time the clock stands at, as it can be rebuilt."""
        assert repr(ManualClock(START)) == (
            "ManualClock(datetime.datetime(2026, 3, 2, 9, 0, "
            "tzinfo=datetime.timezone.utc))"
        )

    def test_naive_start_rejected(self) -> None:
        """A naive start raises NaiveDatetimeError."""
        with pytest.raises(NaiveDatetimeError, match=r"ManualClock\.start"):
            ManualClock(datetime(2026, 3, 2))  # noqa: DTZ001

    def test_naive_set_rejected_and_time_kept(self) -> None:
        """A naive set raises and leaves the clock where it was."""
        clock = ManualClock(START)
        with pytest.raises(NaiveDatetimeError):
            clock.set(datetime(2026, 3, 3))  # noqa: DTZ001
        assert clock.now() == START

    @pytest.mark.parametrize("delta", [timedelta(seconds=-1), 5, None])
    def test_bad_advance_rejected_and_time_kept(self, delta: object) -> None:
        """A negative or non-timedelta advance raises and changes nothing."""
        clock = ManualClock(START)
        with pytest.raises(ValidationError, match=r"ManualClock\.advance\.delta"):
            clock.advance(delta)  # type: ignore[arg-type]
        assert clock.now() == START


OFFICE = BusinessCalendar.weekdays("09:00", "17:00", timezone="Europe/Berlin")


class TestManualClockAdvance:
    def test_text_of_wall_time(self) -> None:
        """Text such as "90 minutes" is read with parse_duration."""
        clock = ManualClock(START)
        assert clock.advance("90 minutes") == START + timedelta(minutes=90)

    def test_business_time_on_a_calendar(self) -> None:
        """Nine business hours from Monday 10:00 Berlin end on Tuesday 11:00."""
        clock = ManualClock(START)  # 10:00 in Berlin
        moved = clock.advance("9 business hours", calendar=OFFICE)
        assert moved == datetime(2026, 3, 3, 10, tzinfo=UTC)
        assert moved.tzinfo is UTC
        assert clock.now() == moved

    def test_business_duration_value(self) -> None:
        """A BusinessDuration counts whole open days, then open time."""
        clock = ManualClock(datetime(2026, 3, 6, 16, tzinfo=UTC))  # Friday
        moved = clock.advance(BusinessDuration(days=1), calendar=OFFICE)
        assert moved == datetime(2026, 3, 9, 16, tzinfo=UTC)

    def test_timedelta_ignores_the_calendar(self) -> None:
        """A timedelta is wall-clock time, calendar or not."""
        clock = ManualClock(START)
        assert clock.advance(timedelta(days=2), calendar=OFFICE) == START + 2 * DAY
        assert clock.advance("1 day", calendar=OFFICE) == START + 3 * DAY

    def test_zero_stands_still(self) -> None:
        """A zero duration of either kind leaves the time as it was."""
        clock = ManualClock(START)
        assert clock.advance(timedelta(0)) == START
        assert clock.advance(BusinessDuration(), calendar=OFFICE) == START

    def test_business_time_without_calendar_rejected(self) -> None:
        """Business time without a calendar names the calendar and changes nothing."""
        clock = ManualClock(START)
        with pytest.raises(ValidationError) as info:
            clock.advance("9 business hours")
        assert info.value.owner == "ManualClock.advance"
        assert info.value.field == "calendar"
        assert info.value.value is None
        assert "'9 business hours'" in info.value.expected
        assert clock.now() == START

    @pytest.mark.parametrize(
        ("delta", "expected"),
        [
            ("soon", "a duration such as"),
            ("-1h", "zero or more"),
            ("1 day 8 business hours", "not both"),
            (timedelta.max, "keeps the clock within"),
            ("2 business weeks", "business week"),
        ],
    )
    def test_bad_delta_rejected_and_time_kept(
        self, delta: object, expected: str
    ) -> None:
        """Text that is not a duration, or too far, names delta and changes nothing."""
        clock = ManualClock(START)
        with pytest.raises(ValidationError) as info:
            clock.advance(delta)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("ManualClock.advance", "delta")
        assert info.value.value is delta
        assert expected in info.value.expected
        assert clock.now() == START

    def test_bad_calendar_rejected(self) -> None:
        """A calendar that is not a BusinessCalendar is named, and nothing moves."""
        clock = ManualClock(START)
        with pytest.raises(ValidationError, match=r"ManualClock\.advance\.calendar"):
            clock.advance(timedelta(hours=1), calendar="Europe/Berlin")  # type: ignore[arg-type]
        assert clock.now() == START

    @given(
        start=aware_datetimes(),
        days=st.integers(0, 30),
        minutes=st.integers(0, 60 * 80),
    )
    def test_business_advance_is_calendar_add(
        self, start: datetime, days: int, minutes: int
    ) -> None:
        """advance(d, calendar=c) lands where c.add(now, d) does, text or value."""
        duration = BusinessDuration(days=days, time=timedelta(minutes=minutes))
        expected = OFFICE.add(start, duration)
        assert ManualClock(start).advance(duration, calendar=OFFICE) == expected
        text = format_duration(duration)
        assert ManualClock(start).advance(text, calendar=OFFICE) == expected

    @given(st.lists(st.timedeltas(min_value=timedelta(0), max_value=DAY), max_size=5))
    def test_steps_add_up(self, steps: list[timedelta]) -> None:
        """Advancing step by step ends where one advance by the sum does."""
        clock = ManualClock(START)
        for step in steps:
            clock.advance(step)
        assert clock.now() == ManualClock(START).advance(sum(steps, timedelta(0)))


class TestManualClockAcrossClockChanges:
    def test_a_day_of_wall_time_is_24_hours(self) -> None:
        """advance(1 day) over London's spring change lands at 10:00, 24 hours on."""
        clock = ManualClock(datetime(2026, 3, 28, 9, tzinfo=LONDON))
        assert clock.advance("1 day") == datetime(2026, 3, 29, 10, tzinfo=LONDON)
        assert clock.advance(timedelta(hours=1)).tzinfo is LONDON


class TestNaiveRejectedEverywhere:
    @given(st.datetimes())
    def test_every_entry_point_rejects_naive(self, naive: datetime) -> None:
        """Each place a datetime enters funnelkit rejects a naive one."""
        entry_points: list[Callable[[], object]] = [
            lambda: Lead("L-1", naive),
            lambda: Activity("L-1", "page_view", naive),
            lambda: ManualClock(naive),
            lambda: ManualClock(START).set(naive),
        ]
        for enter in entry_points:
            with pytest.raises(NaiveDatetimeError):
                enter()

    @given(st.datetimes())
    def test_json_rejects_naive(self, naive: datetime) -> None:
        """JSON with a datetime lacking an offset is rejected, naming the field."""
        data = {"lead_id": "L-1", "kind": "page_view", "at": naive.isoformat()}
        with pytest.raises(SerializationError) as info:
            structure(data, Activity)
        assert info.value.problems[0][0] == "at"
