from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    Clock,
    Lead,
    NaiveDatetimeError,
    SerializationError,
    SystemClock,
    ValidationError,
)
from funnelkit._time import from_utc_micros, is_aware, require_aware, utc_micros
from funnelkit.serialization import structure
from funnelkit.testing import ManualClock
from funnelkit.testing.strategies import aware_datetimes

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


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
        value = datetime(2026, 3, 2, tzinfo=_NoOffset())
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

    @given(aware_datetimes())
    def test_matches_timestamp_order(self, value: datetime) -> None:
        """The number agrees with Python's own instant arithmetic."""
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        assert utc_micros(value) == delta // timedelta(microseconds=1)


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


class TestNaiveRejectedEverywhere:
    @given(st.datetimes())
    def test_every_entry_point_rejects_naive(self, naive: datetime) -> None:
        """Each place a datetime enters funnelkit rejects a naive one."""
        entry_points = [
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
