from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import BusinessDuration, ValidationError, format_duration, parse_duration
from funnelkit._duration import format_iso_duration, parse_iso_duration

H = timedelta(hours=1)
wall_durations = st.timedeltas(min_value=timedelta(0))
business_durations = st.builds(
    BusinessDuration,
    days=st.integers(min_value=0, max_value=10_000),
    time=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3_000)),
)


class TestParseWallClock:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30 days", timedelta(days=30)),
            ("2 weeks", timedelta(weeks=2)),
            ("1 week", timedelta(weeks=1)),
            ("90 minutes", timedelta(minutes=90)),
            ("1.5 hours", timedelta(minutes=90)),
            ("1 day 4 hours", timedelta(days=1, hours=4)),
            ("1 day, 4 hours and 30 minutes", timedelta(days=1, hours=4, minutes=30)),
            ("1h30m", timedelta(hours=1, minutes=30)),
            ("45s", timedelta(seconds=45)),
            ("0.000001 seconds", timedelta(microseconds=1)),
            ("  3 Days  ", timedelta(days=3)),
            ("2 wks 1 d", timedelta(days=15)),
            ("0 days", timedelta(0)),
        ],
    )
    def test_human_forms(self, text: str, expected: timedelta) -> None:
        """Human-written durations become timedeltas."""
        assert expected == parse_duration(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("PT8H", 8 * H),
            ("P1DT30M", timedelta(days=1, minutes=30)),
            ("P2W", timedelta(weeks=2)),
            ("PT0.5S", timedelta(milliseconds=500)),
            ("PT0,5S", timedelta(milliseconds=500)),
            ("pt8h", 8 * H),
            ("P3D", timedelta(days=3)),
        ],
    )
    def test_iso_8601(self, text: str, expected: timedelta) -> None:
        """ISO 8601 durations become timedeltas."""
        assert expected == parse_duration(text)


class TestParseBusiness:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("8 business hours", BusinessDuration(time=8 * H)),
            ("1 business hour", BusinessDuration(time=H)),
            ("10 business days", BusinessDuration(days=10)),
            ("30 business minutes", BusinessDuration(time=timedelta(minutes=30))),
            ("1.5 business hours", BusinessDuration(time=timedelta(minutes=90))),
            (
                "1 business day 4 business hours",
                BusinessDuration(days=1, time=4 * H),
            ),
            ("2 Business  Days", BusinessDuration(days=2)),
        ],
    )
    def test_business_forms(self, text: str, expected: BusinessDuration) -> None:
        """Business durations keep days and open time apart."""
        assert expected == parse_duration(text)


class TestParseErrors:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "a duration such as"),
            ("soon", "a duration such as"),
            ("30", "a duration such as"),
            ("30 fortnights", "a duration such as"),
            ("days 30", "a duration such as"),
            ("-5 days", "zero or more"),
            ("-PT8H", "zero or more"),
            ("P1Y", "years and months have no fixed length"),
            ("P2M", "years and months have no fixed length"),
            ("P", "a duration such as"),
            ("PT", "a duration such as"),
            ("P1DT", "a duration such as"),
            ("8 business hours 1 day", "not both"),
            ("2 business weeks", "a business week's length depends on the calendar"),
            ("1.5 business days", "a whole number of business days"),
            ("0.0000001 seconds", "no finer than one microsecond"),
            ("1000000000 days", "at most 999,999,999 days"),
            ("1.00000000000000000000000000001 hours", "no finer than one microsecond"),
            ("PT1.00000000000000000000000000001H", "no finer than one microsecond"),
            ("9" * 4301 + " business days", "at most 40 digits"),
            ("9" * 41 + " hours", "at most 40 digits"),
            ("P" + "9" * 41 + "D", "at most 40 digits"),
        ],
    )
    def test_bad_text_names_value_and_expectation(
        self, text: str, message: str
    ) -> None:
        """Bad text raises a ValidationError naming the text and what was expected."""
        with pytest.raises(ValidationError, match=message) as info:
            parse_duration(text)
        assert info.value.field == "duration"
        assert info.value.value == text

    @pytest.mark.parametrize("value", [8, None, timedelta(hours=8)])
    def test_non_text_rejected(self, value: object) -> None:
        """Only strings are parsed."""
        with pytest.raises(ValidationError, match="duration"):
            parse_duration(value)  # type: ignore[arg-type]

    def test_iso_negative_allowed_on_request(self) -> None:
        """The wire-format parser reads a negative ISO duration only when allowed."""
        assert parse_iso_duration("-PT8H", allow_negative=True) == -8 * H
        with pytest.raises(ValidationError, match="zero or more"):
            parse_iso_duration("-PT8H")


class TestBusinessDuration:
    def test_defaults_to_zero(self) -> None:
        """An empty business duration is zero and falsy."""
        assert not BusinessDuration()
        assert BusinessDuration(days=1)
        assert BusinessDuration(time=H)

    def test_adds(self) -> None:
        """Business durations add component by component."""
        total = BusinessDuration(days=1, time=H) + BusinessDuration(days=2, time=2 * H)
        assert total == BusinessDuration(days=3, time=3 * H)

    def test_does_not_add_timedelta(self) -> None:
        """Adding wall-clock time to business time is a TypeError."""
        with pytest.raises(TypeError):
            BusinessDuration(days=1) + H

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"days": -1}, "days"),
            ({"days": 1.5}, "days"),
            ({"days": True}, "days"),
            ({"time": -H}, "time"),
            ({"time": 3600}, "time"),
        ],
    )
    def test_bad_fields_rejected(self, kwargs: dict[str, object], field: str) -> None:
        """Negative or mistyped fields raise a ValidationError naming the field."""
        with pytest.raises(ValidationError, match=rf"BusinessDuration\.{field}"):
            BusinessDuration(**kwargs)  # type: ignore[arg-type]


class TestFormat:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (timedelta(days=30), "30 days"),
            (timedelta(hours=1), "1 hour"),
            (timedelta(days=1, minutes=1, seconds=1), "1 day 1 minute 1 second"),
            (timedelta(microseconds=1500), "0.0015 seconds"),
            (timedelta(seconds=2, microseconds=500_000), "2.5 seconds"),
            (timedelta(0), "0 seconds"),
            (BusinessDuration(time=8 * H), "8 business hours"),
            (BusinessDuration(time=30 * H), "30 business hours"),
            (BusinessDuration(days=1), "1 business day"),
            (BusinessDuration(), "0 business hours"),
        ],
    )
    def test_canonical_text(
        self, value: timedelta | BusinessDuration, text: str
    ) -> None:
        """Durations format to one canonical text."""
        assert text == format_duration(value)

    @pytest.mark.parametrize("value", [-H, "8 hours", 5])
    def test_bad_values_rejected(self, value: object) -> None:
        """Negative or non-duration values cannot be formatted."""
        with pytest.raises(ValidationError):
            format_duration(value)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (8 * H, "PT8H"),
            (timedelta(days=1, minutes=30), "P1DT30M"),
            (timedelta(days=2), "P2D"),
            (timedelta(microseconds=1), "PT0.000001S"),
            (timedelta(0), "PT0S"),
            (-8 * H, "-PT8H"),
        ],
    )
    def test_iso_text(self, value: timedelta, text: str) -> None:
        """Timedeltas format to ISO 8601 durations."""
        assert text == format_iso_duration(value)


class TestRoundTrip:
    @given(wall_durations)
    def test_wall_text_round_trips(self, value: timedelta) -> None:
        """parse_duration reads format_duration's text back exactly."""
        assert value == parse_duration(format_duration(value))

    @given(business_durations)
    def test_business_text_round_trips(self, value: BusinessDuration) -> None:
        """Business durations round-trip through their text exactly."""
        assert value == parse_duration(str(value))

    @given(st.timedeltas())
    def test_iso_round_trips(self, value: timedelta) -> None:
        """Every timedelta, negative ones included, round-trips through ISO 8601."""
        assert value == parse_iso_duration(
            format_iso_duration(value), allow_negative=True
        )
