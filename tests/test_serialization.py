import json
import math
import re
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from cattrs import Converter
from hypothesis import example, given, settings
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    ActivityRecorded,
    AddLead,
    Bant,
    BusinessDuration,
    Contribution,
    Event,
    FunnelPolicy,
    Input,
    Lead,
    LeadAdded,
    LeadState,
    LeadUpdated,
    Move,
    NaiveDatetimeError,
    PauseTimer,
    PolicyChange,
    ResumeTimer,
    Score,
    ScoreChanged,
    SerializationError,
    SlaBreached,
    SlaCancelled,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaTimer,
    SlaWarning,
    StageChanged,
    Tick,
    TransitionRecord,
    UpdateLead,
    ValidationError,
    Verdict,
    diff_policies,
    serialization,
)
from funnelkit import _demo as demo
from funnelkit._time import is_zone_name
from funnelkit._validators import Scalar
from funnelkit.analytics import (
    BacktestReport,
    Comparison,
    FunnelReport,
    backtest,
    compare,
)
from funnelkit.policies import b2b_saas
from funnelkit.serialization import (
    _SHARED_PROPERTIES,
    _SHARED_PROPERTIES_SIZE,
    _activity_json,
    _finer_than_micros,
    _make_converter,
    converter,
    from_json,
    structure,
    to_json,
    unstructure,
)
from funnelkit.serialization import (
    _problems as _problem_list,
)
from funnelkit.testing.strategies import (
    activities,
    aware_datetimes,
    bants,
    identifiers,
    leads,
    policies,
    time_zones,
)

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@attrs.frozen
class Sample:
    """A value with every field type the converter knows, for round trips."""

    amount: Decimal
    window: timedelta
    business: BusinessDuration
    day: date
    tags: tuple[str, ...]
    ratio: float
    count: int
    flag: bool
    bag: Mapping[str, str | int | float | bool | None]


samples = st.builds(
    Sample,
    amount=st.decimals(allow_nan=False, allow_infinity=False),
    window=st.timedeltas(),
    business=st.builds(
        BusinessDuration,
        days=st.integers(min_value=0, max_value=1000),
        time=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1000)),
    ),
    day=st.dates(),
    tags=st.lists(st.text(), max_size=3).map(tuple),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
    count=st.integers(),
    flag=st.booleans(),
    bag=st.dictionaries(
        st.text(min_size=1).filter(str.strip), st.integers(), max_size=3
    ),
)


def _exactly_same_instant_and_zone(a: datetime, b: datetime) -> bool:
    return (
        a.replace(tzinfo=None) == b.replace(tzinfo=None)
        and a.utcoffset() == b.utcoffset()
        and _written_key(a) == getattr(b.tzinfo, "key", None)
    )


def _written_key(at: datetime) -> str | None:
    """The zone key JSON keeps: a posix/ copy's portable key; none for the rest."""
    key: str | None = getattr(at.tzinfo, "key", None)
    if key is not None:
        key = key.removeprefix("posix/")
    return key if is_zone_name(key) else None


@st.composite
def _iso_texts(draw: st.DrawFn) -> str:
    """Texts fromisoformat reads with an offset: any form, fractions anywhere."""
    extended = draw(st.booleans())
    day = draw(st.dates(date(2000, 1, 1), date(2099, 12, 31)))
    colon = ":" if extended else ""

    def fraction() -> str:
        if not draw(st.booleans()):
            return ""
        digits = draw(st.text("0123456789", min_size=1, max_size=9))
        return draw(st.sampled_from(".,")) + digits

    clock = [f"{draw(st.integers(0, 23)):02}" for _ in range(3)]
    time = colon.join(clock[: draw(st.integers(1, 3))])
    if len(time) > 5:
        time += fraction()
    offset = "Z"
    if draw(st.booleans()):
        # Minutes past zero: Python 3.11 drops the fraction of an offset under
        # a second (which funnelkit keeps), so it could not be the reference;
        # test_an_offset_written_with_its_fraction_reads_back_exactly has those.
        parts = [
            "00",
            f"{draw(st.integers(1, 59)):02}",
            f"{draw(st.integers(0, 59)):02}",
        ]
        offset = draw(st.sampled_from("+-")) + colon.join(
            parts[: draw(st.integers(1, 3))]
        )
        if len(offset) > 6:
            offset += fraction()
    sep = draw(st.sampled_from("T "))
    text = (
        day.isoformat().replace("-", "" if not extended else "-") + sep + time + offset
    )
    datetime.fromisoformat(text)  # the strategy writes only what it reads
    return text


class TestRoundTrip:
    @given(leads())
    def test_leads(self, lead: Lead) -> None:
        """Every lead round-trips exactly, and re-serializes to the same bytes."""
        text = to_json(lead)
        back = from_json(text, Lead)
        assert lead == back
        assert text == to_json(back)
        assert _exactly_same_instant_and_zone(lead.created_at, back.created_at)

    @given(activities())
    def test_activities(self, activity: Activity) -> None:
        """Every activity round-trips exactly, id included."""
        text = to_json(activity)
        back = from_json(text, Activity)
        assert activity == back
        assert text == to_json(back)

    @given(bants())
    def test_bants(self, bant: Bant) -> None:
        """BANT answers round-trip exactly."""
        assert bant == from_json(to_json(bant), Bant)

    @given(samples)
    def test_every_field_type(self, sample: Sample) -> None:
        """Decimals, durations, dates, tuples and mappings round-trip exactly."""
        back = structure(json.loads(to_json(sample)), Sample)
        assert sample == back
        assert isinstance(back.tags, tuple)
        assert str(sample.amount) == str(back.amount)

    @given(
        activities(
            at=st.datetimes(
                min_value=datetime(1900, 1, 1),  # noqa: DTZ001 -- wall-time bound
                timezones=st.timezones(),
            )
        )
    )
    def test_any_zone_any_time(self, activity: Activity) -> None:
        """Times in any IANA zone, gaps and folds included, keep wall time and zone."""
        back = from_json(to_json(activity), Activity)
        assert _exactly_same_instant_and_zone(activity.at, back.at)

    @pytest.mark.parametrize(
        "text", ["2026-03-02T09:00:00.123456000Z", "2026-03-02T09:00:00,1234560+00:00"]
    )
    def test_zeros_past_the_microsecond_are_the_same_instant(self, text: str) -> None:
        """Nanosecond text that is whole microseconds reads as those microseconds."""
        expected = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
        assert from_json(f'"{text}"', datetime) == expected

    def test_the_machine_s_own_zone_is_written_as_an_offset(self) -> None:
        """A time in 'localtime' (the machine's zone) is written as its offset."""
        (found,) = [
            path
            for path in (Path(folder) / "UTC" for folder in zoneinfo.TZPATH)
            if path.is_file()
        ][:1]
        with found.open("rb") as data:
            machine = ZoneInfo.from_file(data, key="localtime")
        at = datetime(2026, 3, 2, 9, tzinfo=machine)
        assert to_json(at) == '"2026-03-02T09:00:00+00:00"'
        assert from_json(to_json(at), datetime) == at
        for key in ("localtime", "posixrules"):
            with pytest.raises(SerializationError, match="not the machine's own"):
                from_json(f'"2026-03-02T09:00:00+00:00[{key}]"', datetime)

    @pytest.mark.parametrize("key", ["posix/Europe/Berlin", "right/UTC", "Factory"])
    def test_zone_keys_of_one_machine_are_refused(self, key: str) -> None:
        """Copies of the database (posix/, right/) and Factory are not IANA keys."""
        with pytest.raises(SerializationError, match="a known IANA time zone name"):
            from_json(f'"2026-03-02T09:00:00+01:00[{key}]"', datetime)

    def test_a_posix_copy_is_written_by_its_portable_key(self) -> None:
        """A time in posix/Europe/Berlin reads back in Europe/Berlin."""
        berlin = ZoneInfo("Europe/Berlin")
        for key, written in (
            ("posix/Europe/Berlin", "[Europe/Berlin]"),
            ("right/UTC", ""),
        ):
            try:
                zone = ZoneInfo(key)
            except zoneinfo.ZoneInfoNotFoundError:  # a machine without the copies
                continue
            text = to_json(datetime(2026, 3, 2, 9, tzinfo=zone))
            assert text.endswith(written + '"')
        back = from_json('"2026-03-02T09:00:00+01:00[Europe/Berlin]"', datetime)
        assert back.tzinfo is berlin

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            (
                '{"lead_id":"L1","lead_id":"L2","kind":"k","at":"2026-03-02T09:00:00Z"}',
                "the key 'lead_id' given twice",
            ),
            ("[" * 100_000, "nested too deep"),
        ],
    )
    def test_json_a_typo_or_a_bomb_makes(self, text: str, problem: str) -> None:
        """A key given twice, or nesting past Python's stack: a SerializationError."""
        for written in (text, text.encode()):
            with pytest.raises(SerializationError, match=problem):
                from_json(written, Activity)

    def test_empty_attributes_and_no_answers_are_the_shared_values(self) -> None:
        """Read back, a lead without attributes or answers holds the shared ones."""
        lead = Lead("L-1", datetime(2026, 3, 2, 9, tzinfo=UTC))
        back = from_json(to_json(lead), Lead)
        assert back.attributes is lead.attributes
        assert back.bant is lead.bant
        answered = Lead("L-2", lead.created_at, bant=Bant(budget=True))
        assert from_json(to_json(answered), Lead).bant == Bant(budget=True)

    def test_a_null_id_is_derived(self) -> None:
        """An id of null is derived, as Activity(..., id=None) derives it."""
        text = '{"lead_id":"L-1","kind":"k","at":"2026-03-02T09:00:00+00:00","id":null}'
        made = Activity("L-1", "k", datetime(2026, 3, 2, 9, tzinfo=UTC))
        assert from_json(text, Activity) == made

    @pytest.mark.parametrize("text", [None, 5, ["{}"]])
    def test_from_json_of_no_text(self, text: object) -> None:
        """from_json of something else than text raises a SerializationError."""
        with pytest.raises(SerializationError, match="expected JSON text"):
            from_json(text, Lead)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "offset",
        [
            timedelta(microseconds=500),
            -timedelta(microseconds=500),
            timedelta(seconds=30, microseconds=500),
            -timedelta(hours=5, minutes=30, microseconds=1),
        ],
    )
    def test_offsets_with_microseconds(self, offset: timedelta) -> None:
        """An offset with microseconds comes back whole, as the same instant."""
        at = datetime(2026, 3, 2, 9, 0, 0, 123, tzinfo=timezone(offset))
        back = from_json(to_json(at), datetime)
        assert (back, back.utcoffset()) == (at, offset)

    @pytest.mark.parametrize(
        ("text", "offset"),
        [
            ("2026-03-02T09:00:00+00:00:00.5", timedelta(microseconds=500_000)),
            ("2026-03-02T09:00:00-00:00:00.5", -timedelta(microseconds=500_000)),
            ("2026-03-02T09:00:00.25+00:00:00,0005", timedelta(microseconds=500)),
            ("2026-03-02T09:00:00-000000.5", -timedelta(microseconds=500_000)),
            ("2026-03-02T09:00:00+00:00:30.5", timedelta(seconds=30.5)),
        ],
    )
    def test_an_offset_s_fraction_is_read_exactly(
        self, text: str, offset: timedelta
    ) -> None:
        """An offset's fraction of any length is kept: one under a second is not UTC."""
        assert from_json(json.dumps(text), datetime).utcoffset() == offset

    @given(
        offset=st.timedeltas(
            -timedelta(hours=24) + timedelta(microseconds=1),
            timedelta(hours=24) - timedelta(microseconds=1),
        ).filter(lambda offset: offset.microseconds != 0),
        extended=st.booleans(),
        mark=st.sampled_from(".,"),
    )
    def test_an_offset_written_with_its_fraction_reads_back_exactly(
        self, offset: timedelta, extended: bool, mark: str
    ) -> None:
        """An offset with a fraction, in any form, zeros trimmed, reads back exactly."""
        size = abs(offset)
        hours, rest = divmod(size.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        colon = ":" if extended else ""
        fraction = f"{size.microseconds:06}".rstrip("0")
        sign = "-" if offset < timedelta(0) else "+"
        text = (
            f"2026-03-02T09:00:00{sign}{hours:02}{colon}{minutes:02}{colon}"
            f"{seconds:02}{mark}{fraction}"
        )
        back = from_json(json.dumps(text), datetime)
        assert (back.replace(tzinfo=None), back.utcoffset()) == (
            datetime(2026, 3, 2, 9),  # noqa: DTZ001 -- the wall time read
            offset,
        )

    def test_an_offset_with_microseconds_in_the_basic_format(self) -> None:
        """ISO's basic format (no colons) keeps an offset's microseconds too."""
        back = from_json('"2026-03-02T09:00:00-000000.000500"', datetime)
        assert back.utcoffset() == -timedelta(microseconds=500)
        back = from_json('"2026-03-02T09:00:00.000500+00:00"', datetime)
        assert (back.microsecond, back.utcoffset()) == (500, timedelta(0))

    @example(
        "2026-03-02T09:00:00.500+05:30:00.1234567"
    )  # the offset's, after a fraction
    @given(_iso_texts())
    def test_digits_past_the_microsecond_are_refused_wherever_they_are(
        self, text: str
    ) -> None:
        """Digits past the sixth are refused where the plain pattern finds them."""
        fine = re.search(r"[.,]\d{6}(\d+)", text)
        if fine is not None and fine[1].strip("0"):
            with pytest.raises(SerializationError, match="whole microseconds"):
                from_json(json.dumps(text), datetime)
        else:
            assert from_json(json.dumps(text), datetime) == datetime.fromisoformat(text)

    @example("0.500+05:30:00.1234567")  # a later mark, past the first's seventh place
    @example(".12345,1234567")
    @given(st.text(".,+-:TZ0123456789", max_size=40))
    def test_the_look_at_the_seventh_place_is_the_plain_pattern(
        self, text: str
    ) -> None:
        """The check before the pattern answers as the pattern, for any text."""
        fine = re.search(r"[.,]\d{6}(\d+)", text)
        plain = fine is not None and bool(fine[1].strip("0"))
        assert _finer_than_micros(text) == plain

    @given(st.lists(activities(), max_size=4))
    def test_lists(self, items: list[Activity]) -> None:
        """A list of activities round-trips."""
        assert items == from_json(to_json(items), list[Activity])

    @settings(max_examples=30, deadline=None)
    @given(policies(), policies())
    def test_policy_changes(self, old: FunnelPolicy, new: FunnelPolicy) -> None:
        """What diff_policies lists round-trips exactly, its file data included."""
        changes = diff_policies(old, new)
        text = to_json(changes, cls=tuple[PolicyChange, ...])
        back = from_json(text, tuple[PolicyChange, ...])
        assert changes == back
        assert text == to_json(back, cls=tuple[PolicyChange, ...])

    @pytest.mark.parametrize(
        ("before", "path", "message"),
        [
            ('{"a": [1, {"b": 1e400}]}', "before['a'][1]['b']", "a finite number"),
            ("1e400", "before", "a finite number"),
        ],
    )
    def test_policy_change_data_that_is_not_json(
        self, before: str, path: str, message: str
    ) -> None:
        """A change's data with a number JSON cannot write is refused at its path."""
        text = f'{{"path":"x","before":{before},"after":null,"description":"d"}}'
        with pytest.raises(SerializationError) as info:
            from_json(text, PolicyChange)
        ((where, problem),) = info.value.problems
        assert (where, message in problem) == (path, True)

    def test_policy_change_data_from_python(self) -> None:
        """structure() reads arrays given as tuples, and refuses what JSON lacks."""
        data = {"path": "x", "before": (1, 2), "after": {"a": (3,)}, "description": "d"}
        assert structure(data, PolicyChange) == PolicyChange(
            "x", [1, 2], {"a": [3]}, "d"
        )
        with pytest.raises(SerializationError) as info:
            structure(data | {"before": {1: 2}, "after": {"a": {3}}}, PolicyChange)
        assert info.value.problems == (
            ("before", "expected an object whose keys are strings, got 1"),
            (
                "after['a']",
                "expected JSON data: an object, an array or a JSON scalar, got {3}",
            ),
        )


@pytest.fixture(scope="module")
def quarter() -> demo.Quarter:
    """A small synthetic quarter through the default policy (the demo's)."""
    return demo.simulate(seed=3, leads=150)


class TestReports:
    def test_a_funnel_report_round_trips(self, quarter: demo.Quarter) -> None:
        """A report with segments, goals, paths and SLA compliance round-trips."""
        report = demo.report(quarter)
        assert report.conversions
        assert report.goals
        assert report.paths
        assert report.sla
        text = to_json(report)
        back = from_json(text, FunnelReport)
        assert back == report
        assert to_json(back) == text

    def test_backtests_round_trip(self, quarter: demo.Quarter) -> None:
        """A backtest and a comparison round-trip; the MQLs' ids are sorted."""
        inputs = quarter.funnel.inputs()
        leads = [item.lead for item in inputs if isinstance(item, AddLead)]
        acts = [item for item in inputs if isinstance(item, Activity)]
        won = {
            lead_id: quarter.funnel.state(lead_id).stage == "customer"
            for lead_id in quarter.lead_ids
        }
        start, end = quarter.start, quarter.end
        report = backtest(b2b_saas(), leads, acts, won, start=start, end=end)
        assert len(report.mql_leads) > 1
        text = to_json(report)
        assert json.loads(text)["mql_leads"] == sorted(report.mql_leads)
        assert from_json(text, BacktestReport) == report
        tokyo = b2b_saas(timezone="Asia/Tokyo")
        both = compare(b2b_saas(), tokyo, leads, acts, won, start=start, end=end)
        assert from_json(to_json(both), Comparison) == both

    @pytest.mark.parametrize("fast", [True, False])
    def test_a_whole_number_in_a_float_field_reads_back_as_written(
        self, fast: bool
    ) -> None:
        """A float field written 5 reads back 5 and writes 5 again, fast path or not."""
        made = _make_converter(fast=fast)
        text = to_json(Contribution(rule="r", dimension="fit", points=5, raw=5.5))
        back = made.structure(json.loads(text), Contribution)
        assert (type(back.points), type(back.raw)) == (int, float)
        assert to_json(back) == text

    @pytest.mark.parametrize("value", ["web", 3, 2.5, True, False, None])
    def test_a_segment_keeps_its_type(self, value: Scalar) -> None:
        """A segment value comes back as the type it was: 3 stays 3, True stays True."""
        back: object = structure(unstructure(value), Scalar)  # type: ignore[arg-type] # a union
        assert (type(back), back) == (type(value), value)

    @pytest.mark.parametrize("value", [[1], {"a": 1}])
    def test_a_segment_that_is_no_scalar(self, value: object) -> None:
        """A segment that is not a JSON scalar is refused, naming what was expected."""
        with pytest.raises(SerializationError, match="a JSON scalar"):
            structure(value, Scalar)  # type: ignore[arg-type] # a union


class TestWireFormat:
    def test_zoneinfo_keeps_its_name(self) -> None:
        """A ZoneInfo datetime carries its zone name in brackets."""
        at = datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
        assert unstructure(Activity("L", "k", at, id="a"))["at"] == (
            "2026-03-29T03:30:00+02:00[Europe/Berlin]"
        )

    @pytest.mark.parametrize(
        "value",
        [
            datetime(2026, 3, 2, 9),  # noqa: DTZ001 -- naive on purpose
            {"due": datetime(2026, 3, 2, 9)},  # noqa: DTZ001 -- as above
        ],
    )
    def test_a_naive_datetime_is_not_written(self, value: object) -> None:
        """to_json refuses a naive datetime, whose text from_json would refuse."""
        with pytest.raises(NaiveDatetimeError):
            to_json(value)
        with pytest.raises(NaiveDatetimeError):
            unstructure(value)

    def test_fold_survives(self) -> None:
        """The second 02:30 of a fall-back night comes back as the second one."""
        second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)
        back = from_json(to_json(Activity("L", "k", second, id="a")), Activity)
        assert back.at.fold == 1
        assert back.at.utcoffset() == timedelta(hours=1)

    def test_fixed_offset_stays_fixed(self) -> None:
        """A fixed offset comes back as the same fixed offset."""
        at = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=5, minutes=30)))
        back = from_json(to_json(Activity("L", "k", at, id="a")), Activity)
        assert back.at.utcoffset() == timedelta(hours=5, minutes=30)

    def test_indent(self) -> None:
        """indent= gives readable, still deterministic JSON."""
        text = to_json(Bant(budget=True), indent=2)
        assert text.splitlines()[1] == '  "budget": true,'

    @pytest.mark.parametrize(
        ("value", "says"),
        [
            (math.nan, "Out of range float values"),
            ({"points": math.inf}, "Out of range float values"),
            (b"bytes", "bytes is not JSON serializable"),
            ([object()], "object is not JSON serializable"),
        ],
    )
    @pytest.mark.parametrize("indent", [None, 2])
    def test_what_json_cannot_hold_is_named(
        self, value: object, says: str, indent: int | None
    ) -> None:
        """NaN, bytes or an unknown object: a ValidationError with JSON's reason."""
        with pytest.raises(ValidationError, match=says) as info:
            to_json(value, indent=indent)
        found = (info.value.owner, info.value.field, info.value.value)
        assert found == ("to_json", "value", value)

    def test_a_list_holding_itself_is_named(self) -> None:
        """A list that holds itself is refused, not a RecursionError."""
        looped: list[object] = []
        looped.append(looped)
        for call in (to_json, unstructure):
            with pytest.raises(ValidationError, match="holding itself") as info:
                call(looped)
            assert (info.value.owner, info.value.field) == (call.__name__, "value")

    @pytest.mark.parametrize("indent", [-1, 1.5, True, "  "])
    def test_a_bad_indent_is_named(self, indent: object) -> None:
        """indent= takes None or a whole number, 0 or more."""
        with pytest.raises(ValidationError) as info:
            to_json(Bant(), indent=indent)  # type: ignore[arg-type]
        assert (info.value.field, info.value.value) == ("indent", indent)

    @pytest.mark.parametrize("cls", [3, "Lead", [Lead], {"a": 1}])
    def test_a_cls_that_is_no_type_is_named(self, cls: object) -> None:
        """cls= of to_json and unstructure must be a type (or None)."""
        lead = Lead("L", AT)
        for call in (to_json, unstructure):
            with pytest.raises(ValidationError) as info:
                call(lead, cls=cls)
            found = (info.value.owner, info.value.field, info.value.value)
            assert found == (call.__name__, "cls", cls)

    def test_cls_may_be_a_class_an_alias_or_any(self) -> None:
        """A class, a generic alias, a union or Any are types to write as."""
        lead = Lead("L", AT)
        written = unstructure(lead)
        assert unstructure(lead, Lead) == written
        assert unstructure([lead], list[Lead]) == [written]
        assert unstructure(lead, Any) == written
        assert to_json(lead, cls=Lead | None) == to_json(lead)

    def test_z_suffix_accepted(self) -> None:
        """A 'Z' suffix is UTC."""
        data = '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00Z"}'
        assert from_json(data, Activity).at == AT

    @pytest.mark.parametrize(
        "text",
        [
            "2026-03-02T09:00:00z",
            "2026-03-02T09:00:00.000z",
            "2026-03-02T09:00:00z[Europe/London]",
        ],
    )
    def test_a_lowercase_z_is_utc(self, text: str) -> None:
        """A lowercase 'z' is UTC, as RFC 3339 allows."""
        assert from_json(json.dumps(text), datetime) == AT

    def test_a_lowercase_z_keeps_the_other_rules(self) -> None:
        """A 'z' time with digits past the microsecond is refused, as a 'Z' one."""
        problems = _problems('"2026-03-02T09:00:00.1234567z"', datetime)
        assert "whole microseconds" in problems[0][1]

    def test_missing_id_is_derived(self) -> None:
        """An activity without an id gets its derived one, as in Python."""
        data = '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00+00:00"}'
        assert from_json(data, Activity).id == Activity("L", "k", AT).id

    @pytest.mark.parametrize(
        "value",
        [
            datetime(2026, 3, 2, 9),  # noqa: DTZ001 -- the naive value under test
            {"at": datetime(2026, 3, 2, 9)},  # noqa: DTZ001 -- as above
        ],
    )
    def test_naive_datetime_is_refused(self, value: object) -> None:
        """A naive datetime is not written as JSON that reading refuses."""
        with pytest.raises(NaiveDatetimeError, match="timezone-aware"):
            to_json(value)
        with pytest.raises(NaiveDatetimeError):
            unstructure(value)

    def test_converter_copy_is_independent(self) -> None:
        """Hooks registered on a copy leave the shared converter alone."""
        mine = converter.copy()
        mine.register_unstructure_hook(Bant, lambda _: "custom")
        assert mine.unstructure(Bant()) == "custom"
        assert unstructure(Bant()) != "custom"


def _problems(text: str, cls: type[object]) -> tuple[tuple[str, str], ...]:
    with pytest.raises(SerializationError) as info:
        from_json(text, cls)
    return info.value.problems


def test_an_offsets_finer_digits_after_a_time_of_trailing_zeros_are_refused() -> None:
    """An offset finer than a microsecond is refused, after a time's zeros too."""
    text = "2026-03-02T09:00:00.1234560+05:30:00.1234567"
    with pytest.raises(SerializationError, match="an offset in whole microseconds"):
        from_json(json.dumps(text), datetime)


def test_an_offsets_finer_digits_are_named_as_the_offsets() -> None:
    """The refusal of an offset finer than a microsecond names the offset."""
    text = "2026-03-02T09:00:00.000000+00:00:00.0000001"
    with pytest.raises(SerializationError, match="an offset in whole microseconds"):
        from_json(json.dumps(text), datetime)


ACTIVITY = '"lead_id":"L","kind":"k"'


class TestBadInput:
    @pytest.mark.parametrize(
        ("text", "path", "message"),
        [
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00"}',
                "at",
                "UTC offset",
            ),
            ('{"lead_id":"L","kind":"k","at":"yesterday"}', "at", "ISO 8601 datetime"),
            # Python would drop the 7: refused, as a Timestamp's nanoseconds are.
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00.1234567Z"}',
                "at",
                "whole microseconds",
            ),
            # A comma starts the fraction; the offset's own fraction comes later.
            (
                (
                    '{"lead_id":"L","kind":"k",'
                    '"at":"2026-03-02T09:00:00,1234567+05:30:00.000000"}'
                ),
                "at",
                "whole microseconds",
            ),
            ('{"lead_id":"L","kind":"k","at":5}', "at", "ISO 8601 datetime"),
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00+00:00]"}',
                "at",
                "ISO 8601 datetime",
            ),
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00[Mars/Base]"}',
                "at",
                "UTC offset",
            ),
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00+01:00[Mars/Base]"}',
                "at",
                "IANA time zone",
            ),
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00+05:00[Europe/Berlin]"}',
                "at",
                "an offset that Europe/Berlin uses",
            ),
            (
                '{"lead_id":"","kind":"k","at":"2026-03-02T09:00:00Z"}',
                "lead_id",
                "non-empty",
            ),
            (
                '{"lead_id":7,"kind":"k","at":"2026-03-02T09:00:00Z"}',
                "lead_id",
                "a string",
            ),
            (
                '{"kind":"k","at":"2026-03-02T09:00:00Z"}',
                "lead_id",
                "required key is missing",
            ),
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00Z","zz":1}',
                "",
                "unknown key(s): zz",
            ),
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00Z","properties":{"n":[1]}}',
                "properties['n']",
                "JSON scalar",
            ),
            (
                '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00Z","properties":[1]}',
                "properties",
                "an object of JSON scalars",
            ),
            ("[1, 2]", "", ""),
        ],
    )
    def test_activity_problems_name_path(
        self, text: str, path: str, message: str
    ) -> None:
        """Each problem names the path of the bad field and what was expected."""
        problems = _problems(text, Activity)
        assert any(p == path and message in m for p, m in problems), problems

    def test_a_time_without_an_offset_shows_how_to_write_one(self) -> None:
        """A naive time's problem gives an instant with its offset to copy."""
        text = '{"lead_id":"L","kind":"k","at":"2026-03-02 09:00:00"}'
        expected = (
            "expected a datetime with a UTC offset, as in 2026-03-02T09:00:00Z "
            "or 2026-03-02T10:00:00+01:00 (funnelkit never assumes a time "
            "zone), got '2026-03-02 09:00:00'"
        )
        assert _problems(text, Activity) == (("at", expected),)

    @pytest.mark.parametrize(
        "text",
        [
            "2026-03-02T09.5Z",
            "2026-03-02T09:30.5Z",
            "20260302T0930.5Z",
            "2026-03-02T09:00:00+05.5",
            "2026-03-02T09:00:00+05:30.5",
            "2026-03-02T09:00:00.123456+05.50",
            "2026-03-02T09:00:00.5+0530,5",
        ],
    )
    def test_a_fraction_of_an_hour_or_a_minute_is_refused(self, text: str) -> None:
        """Python reads 09:30.5 as 09:30:00.5 (ISO's 09:30:30): refused, not misread."""
        problems = _problems(json.dumps(text), datetime)
        assert len(problems) == 1
        assert "a fraction only after the seconds" in problems[0][1]

    @pytest.mark.parametrize(
        ("text", "path", "message"),
        [
            ('{"budget":"yes"}', "budget", "true or false"),
            ('{"budget":1}', "budget", "true or false"),
            ('{"timeline":"2026-06"}', "timeline", "YYYY-MM-DD"),
            ('{"timeline":"2026-13-01"}', "timeline", "YYYY-MM-DD"),
            ('{"timeline":20260601}', "timeline", "YYYY-MM-DD"),
        ],
    )
    def test_bant_problems(self, text: str, path: str, message: str) -> None:
        """Bad BANT answers name the field."""
        problems = _problems(text, Bant)
        assert any(p == path and message in m for p, m in problems), problems

    def test_all_problems_reported_together(self) -> None:
        """Several bad fields give several problems in one error."""
        text = '{"lead_id":1,"kind":2,"at":"x","zz":0}'
        assert [path for path, _ in _problems(text, Activity)] == [
            "lead_id",
            "kind",
            "at",
            "",
        ]

    def test_nested_path(self) -> None:
        """A problem inside a list names the index: [1].at."""
        text = (
            '[{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00Z"},'
            '{"lead_id":"L","kind":"k","at":"2026-03-02T09:00:00"}]'
        )
        with pytest.raises(SerializationError) as info:
            from_json(text, list[Activity])
        assert info.value.problems[0][0] == "[1].at"
        assert info.value.target == "list[funnelkit.Activity]"

    def test_nested_object_path(self) -> None:
        """A problem in a nested object names the dotted path: bant.need."""
        text = '{"id":"L","created_at":"2026-03-02T09:00:00Z","bant":{"need":"maybe"}}'
        assert _problems(text, Lead)[0][0] == "bant.need"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("{", "invalid JSON at line 1, column 2"),
            ('{"budget": NaN}', "NaN is not a number funnelkit accepts"),
            ("", "invalid JSON at line 1, column 1"),
            ('{"budget": true} {}', "invalid JSON at line 1, column 18: Extra data"),
            ('  {"budget": tru}', "invalid JSON at line 1, column 14"),
        ],
    )
    def test_invalid_json(self, text: str, message: str) -> None:
        """Text that is not JSON is one problem for the whole document."""
        problems = _problems(text, Bant)
        assert len(problems) == 1
        assert problems[0][0] == ""
        assert message in problems[0][1]

    @pytest.mark.parametrize(
        "text", ['{"budget": true}', ' {"budget": true}', '{"budget": true} \n']
    )
    def test_whitespace_around_the_value(self, text: str) -> None:
        """Whitespace before or after the document is JSON's: the same value."""
        assert from_json(text, Bant) == Bant(budget=True)

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("amount", "12.5x", "decimal number"),
            ("amount", "NaN", "decimal number"),
            ("amount", 1.5, "decimal number"),
            ("amount", True, "decimal number"),
            ("window", 3600, "ISO 8601 duration"),
            ("window", "P1Y", "years and months"),
            ("business", "8 hours", "business duration"),
            ("business", 8, "business duration"),
            ("business", "eight business hours", "a duration such as"),
            ("ratio", "1.5", "a number"),
            ("ratio", True, "a number"),
            ("count", 1.0, "a whole number"),
            ("count", False, "a whole number"),
            ("tags", "a,b", ""),
        ],
    )
    def test_field_hooks_reject(self, field: str, value: object, message: str) -> None:
        """Each field type rejects values of the wrong shape, naming the field."""
        good = {
            "amount": "1.5",
            "window": "PT1H",
            "business": "8 business hours",
            "day": "2026-03-02",
            "tags": ["a"],
            "ratio": 1,
            "count": 2,
            "flag": False,
            "bag": {},
        }
        with pytest.raises(SerializationError) as info:
            structure(good | {field: value}, Sample)
        assert info.value.target == "Sample"
        (path, text), *_ = info.value.problems
        assert path == field
        assert message in text

    @pytest.mark.parametrize(
        ("data", "path"),
        [
            ({"lead_id": "L", "kind": 10**5000, "at": "2026-03-02T09:00:00Z"}, "kind"),
            (
                {
                    "lead_id": "L",
                    "kind": "k",
                    "at": "2026-03-02T09:00:00Z",
                    "properties": {"n": 10**5000},
                },
                "properties['n']",
            ),
        ],
    )
    def test_a_whole_number_too_long_to_show(
        self, data: dict[str, object], path: str
    ) -> None:
        """A number of 5,001 digits is named by its size, where repr would raise."""
        with pytest.raises(SerializationError) as info:
            structure(data, Activity)
        ((where, problem),) = info.value.problems
        assert where == path
        assert problem.endswith("got a whole number of about 5,001 digits")
        with pytest.raises(SerializationError, match="about 5,001 digits"):
            from_json(10**5000, Activity)  # type: ignore[arg-type]

    def test_decimal_accepts_integers(self) -> None:
        """A JSON integer is an exact Decimal too."""
        good = {
            "amount": 12,
            "window": "PT1H",
            "business": "1 business day",
            "day": "2026-03-02",
            "tags": [],
            "ratio": 0.5,
            "count": 2,
            "flag": True,
            "bag": {"a": 1},
        }
        assert structure(good, Sample).amount == Decimal(12)


# -- The fast paths ------------------------------------------------------------

_STRICT = _make_converter(fast=False)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["", " ", "2026-03-02T09:00:00+00:00", "2026-03-02T09:00:00"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
contributions = st.builds(
    Contribution,
    rule=st.text(min_size=1),
    dimension=st.sampled_from(["fit", "engagement"]),
    points=st.floats(allow_nan=False, allow_infinity=False),
    raw=st.integers(-100, 100).map(float),
    activity_ids=st.lists(st.text(max_size=5), max_size=3).map(tuple),
    skipped_ids=st.lists(st.text(max_size=5), max_size=2).map(tuple),
    note=st.text(),
)


def _outcome(made: Converter, data: object, cls: type[object]) -> object:
    """What *made* makes of *data*: the value, or the problems it names."""
    try:
        return made.structure(data, cls)
    except Exception as error:  # noqa: BLE001 -- any failure is compared
        return _problem_list(error, "")


_ODD_VALUES = [
    None,
    True,
    0,
    1.5,
    math.inf,
    "",
    " ",
    "x",
    [],
    {},
    ["a"],
    [1],
    {"k": [1]},
]
_ODD_VALUES += ["2026-03-02T09:00:00+00:00", "2026-03-02T09:00:00"]


class TestFastPaths:
    @pytest.mark.parametrize(
        ("cls", "field"),
        [(Activity, name) for name in attrs.fields_dict(Activity)]
        + [(Contribution, name) for name in attrs.fields_dict(Contribution)],
    )
    @given(st.data())
    def test_fast_path_accepts_and_rejects_as_cattrs_does(
        self, cls: type[object], field: str, data: st.DataObject
    ) -> None:
        """Any value in any field of a written value: the outcome cattrs gives."""
        value = data.draw(activities() if cls is Activity else contributions)
        written = unstructure(value)
        written[field] = data.draw(
            st.sampled_from(_ODD_VALUES) | _json_values | st.just(written[field])
        )
        assert _outcome(converter, written, cls) == _outcome(_STRICT, written, cls)

    @given(activities())
    def test_a_written_activity_takes_the_fast_path(self, activity: Activity) -> None:
        """An activity as to_json writes it comes back equal, by either path."""
        written = json.loads(to_json(activity))
        assert structure(written, Activity) == _STRICT.structure(written, Activity)

    def test_a_missing_or_extra_key_takes_the_strict_path(self) -> None:
        """Without every key, or with one more, cattrs reads it and names the key."""
        written = unstructure(Activity("L-1", "page_view", AT))
        del written["source"]
        assert structure(written, Activity) == Activity("L-1", "page_view", AT)
        with pytest.raises(SerializationError) as info:
            structure(written | {"source": None, "extra": 1}, Activity)
        assert info.value.problems == (("", "unknown key(s): extra"),)

    def test_a_string_list_names_the_item_that_is_not_a_string(self) -> None:
        """An id list with a number in it fails on that item, by its index."""
        written = unstructure(Contribution(rule="r", dimension="fit", points=1.0))
        written["activity_ids"] = ["a", 7]
        with pytest.raises(SerializationError) as info:
            structure(written, Contribution)
        assert info.value.problems[0][0] == "activity_ids[1]"

    def test_activities_read_back_share_equal_maps_of_strings(self) -> None:
        """Two activities read with the same text properties hold one map."""
        first, second = (
            from_json(
                to_json(Activity("L-1", "page_view", AT, id=ident, properties=props)),
                Activity,
            )
            for ident, props in (("a", {"path": "/docs"}), ("b", {"path": "/docs"}))
        )
        assert first.properties == {"path": "/docs"}
        assert first.properties is second.properties

    def test_a_map_with_other_values_keeps_its_own_types(self) -> None:
        """{"n": 1}, {"n": True} and {"n": 1.0} are equal in Python, not in JSON."""
        values: list[str | int | float | bool] = [1, True, 1.0, "1"]
        for order in (values, values[::-1]):
            for value in order:
                read = from_json(
                    to_json(Activity("L-1", "page_view", AT, properties={"n": value})),
                    Activity,
                )
                assert type(read.properties["n"]) is type(value)

    def test_the_shared_maps_are_bounded(self) -> None:
        """Maps that never repeat do not pile up: the table empties when full."""
        _SHARED_PROPERTIES.clear()
        for number in range(_SHARED_PROPERTIES_SIZE + 1):
            from_json(
                to_json(
                    Activity("L-1", "page_view", AT, properties={"n": str(number)})
                ),
                Activity,
            )
            assert len(_SHARED_PROPERTIES) <= _SHARED_PROPERTIES_SIZE
        assert len(_SHARED_PROPERTIES) == 1

    def test_json_bytes_are_read_as_text_is(self) -> None:
        """UTF-8 bytes, as a file or a socket gives them, read as the same text."""
        activity = Activity("L-1", "page_view", AT, properties={"q": "café"})
        assert from_json(to_json(activity).encode(), Activity) == activity


# -- The fast path of a lead's state -------------------------------------------

_names = st.text(min_size=1, max_size=6).filter(str.strip)
_maybe_names = st.none() | _names
_verdicts = st.recursive(
    st.builds(Verdict, passed=st.booleans(), criterion=_names, reason=st.text()),
    lambda children: st.builds(
        Verdict,
        passed=st.booleans(),
        criterion=_names,
        reason=st.text(max_size=4),
        children=st.lists(children, max_size=2).map(tuple),
    ),
    max_leaves=4,
)
_records = st.builds(
    TransitionRecord,
    source=_maybe_names,
    target=_names,
    at=aware_datetimes(),
    by=_names,
    reason=_maybe_names,
    verdict=st.none() | _verdicts,
    override=st.booleans(),
)
_maybe_instants = st.none() | aware_datetimes()


@st.composite
def _any_timer(
    draw: st.DrawFn,
    stamped: str | None = None,
    *,
    paused: bool | None = None,
    start: datetime | None = None,
) -> SlaTimer:
    """A timer whose instants come in a timer's order, *stamped* set if named.

    *paused*: whether ``paused_at`` is set (either when ``None``); *start*:
    when it started (any instant when ``None``).
    """
    if start is None:
        start = draw(aware_datetimes())

    def after(*, until: datetime | None = None) -> datetime:
        top = timedelta(days=400) if until is None else until - start
        offset = draw(st.timedeltas(timedelta(0), top))
        return (start.astimezone(UTC) + offset).astimezone(draw(time_zones()))

    def maybe(name: str, *, until: datetime | None = None) -> datetime | None:
        wanted = name == stamped or draw(st.booleans())
        return after(until=until) if wanted else None

    deadline = after()
    warn_at = maybe("warned_at", until=deadline)
    met_at = None if stamped == "cancelled_at" else maybe("met_at")
    if paused is None:
        paused = draw(st.booleans())
    return SlaTimer(
        rule=draw(_names),
        stage=draw(_names),
        entry=draw(st.integers(0, 9)),
        started_at=start,
        deadline=deadline,
        warn_at=warn_at,
        warned_at=None if warn_at is None else maybe("warned_at"),
        breached_at=maybe("breached_at"),
        met_at=met_at,
        cancelled_at=None if met_at is not None else maybe("cancelled_at"),
        paused_at=after() if paused else None,
    )


_timers = _any_timer()
_scores = st.builds(
    Score,
    model=_names,
    lead_id=identifiers(),
    at=aware_datetimes(),
    dimensions=st.dictionaries(
        st.sampled_from(["fit", "engagement"]),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    grade=st.text(max_size=2),
    band=st.text(max_size=2),
    contributions=st.lists(contributions, max_size=3).map(tuple),
    notes=st.lists(st.text(max_size=5), max_size=2).map(tuple),
)


def _later(draw: st.DrawFn, start: datetime) -> datetime:
    """An instant no earlier than *start*, in any zone."""
    offset = draw(st.timedeltas(timedelta(0), timedelta(days=90)))
    return (start.astimezone(UTC) + offset).astimezone(draw(time_zones()))


@st.composite
def _lead_state(draw: st.DrawFn) -> LeadState:
    """A state of any parts that fit together, as LeadState asks."""
    lead = draw(leads())
    history: list[TransitionRecord] = []
    at = draw(aware_datetimes(max_value=datetime(2090, 1, 1)))  # noqa: DTZ001 -- a wall-time bound
    for _ in range(draw(st.integers(0, 3))):
        record = draw(_records)
        history.append(
            attrs.evolve(
                record,
                source=history[-1].target if history else None,
                at=at,
            )
        )
        at = _later(draw, at)
    stage = history[-1].target if history else draw(_names)
    entered_at = history[-1].at if history else at
    updated_at = _later(draw, entered_at)
    timers = draw(
        st.lists(
            _any_timer(start=entered_at),
            max_size=2,
            unique_by=lambda timer: timer.rule,
        )
    )
    return LeadState(
        lead=lead,
        stage=stage,
        entered_at=entered_at,
        score=attrs.evolve(draw(_scores), lead_id=lead.id, at=updated_at),
        history=tuple(history),
        updated_at=updated_at,
        activities=draw(st.integers(0, 99)),
        timers=tuple(
            attrs.evolve(timer, stage=stage, entry=max(len(history) - 1, 0))
            for timer in timers
        ),
    )


lead_states = _lead_state()


def _paths(data: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in written data: the keys and positions leading to a value."""
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


def _replaced(data: Any, path: tuple[Any, ...], value: object) -> Any:
    """A copy of *data* with *value* at *path*."""
    if not path:
        return value
    copy = json.loads(json.dumps(data))
    place = copy
    for step in path[:-1]:
        place = place[step]
    place[path[-1]] = value
    return copy


def _state() -> LeadState:
    """A state with every kind of field filled in."""
    verdict = Verdict(
        passed=True,
        criterion="all of",
        reason="both",
        children=(Verdict(passed=True, criterion="fit", reason="ok"),),
    )
    return LeadState(
        lead=Lead(
            "L-1",
            AT,
            email="ana@example.com",
            attributes={"industry": "software", "employees": 900},
            bant=Bant(budget=True, timeline=date(2026, 6, 1)),
            source="web",
            owner="sam",
        ),
        stage="mql",
        entered_at=AT.astimezone(BERLIN),
        score=Score(
            model="m",
            lead_id="L-1",
            at=AT,
            dimensions={"fit": 20.0, "engagement": 5.5},
            grade="A",
            band="1",
            contributions=(
                Contribution(rule="r", dimension="fit", points=20.0, raw=20.0),
                Contribution(
                    rule="v",
                    dimension="engagement",
                    points=5.5,
                    raw=6.0,
                    decay=-0.5,
                    activity_ids=("A-1", "A-2"),
                    skipped_ids=("A-3",),
                    note="2 activities",
                ),
            ),
            notes=("no match",),
        ),
        history=(
            TransitionRecord(source=None, target="lead", at=AT, by="auto"),
            TransitionRecord(
                source="lead",
                target="mql",
                at=AT,
                by="auto",
                reason="hot",
                verdict=verdict,
            ),
        ),
        updated_at=AT,
        activities=2,
        timers=(
            SlaTimer(
                rule="mql_accepted",
                stage="mql",
                entry=1,
                started_at=AT,
                deadline=AT + timedelta(hours=8),
                warn_at=AT + timedelta(hours=6),
                warned_at=AT + timedelta(hours=6),
            ),
        ),
    )


# A place in a written state and a value that the fast path must leave to
# cattrs there (or, for a few, take itself): every check it makes.
_ODD_PLACES: list[tuple[tuple[Any, ...], object]] = [
    ((), []),
    (("stage",), 1),
    (("activities",), True),
    (("history",), "x"),
    (("timers",), {}),
    (("entered_at",), "2026-03-02T09:00:00"),
    (("lead",), []),
    (("lead", "id"), " "),
    (("lead", "email"), "nobody"),
    (("lead", "email"), None),
    (("lead", "source"), ""),
    (("lead", "owner"), 7),
    (("lead", "attributes"), []),
    (("lead", "attributes"), {}),
    (("lead", "attributes"), {" ": 1}),
    (("lead", "attributes"), {"k": [1]}),
    (("lead", "attributes"), {"k": float("inf")}),
    (("lead", "attributes"), {"k": 1.5, "n": None}),
    (("lead", "attributes"), {"n": None, "k": 1.5}),
    (("lead", "bant"), {"budget": None}),
    (("lead", "bant", "budget"), 1),
    (("lead", "bant", "authority"), "yes"),
    (("lead", "bant", "need"), 0),
    (("lead", "bant"), {"budget": None, "authority": None, "need": None}),
    (("lead", "bant"), dict.fromkeys(attrs.fields_dict(Bant))),
    (("lead", "bant", "timeline"), "June"),
    (("score",), {"model": "m"}),
    (("score", "model"), 1),
    (("score", "dimensions"), []),
    (("score", "dimensions"), {"fit": "1"}),
    (("score", "dimensions"), {"fit": True}),
    (("score", "dimensions"), {"fit": 3}),
    (("score", "contributions"), {}),
    (("score", "contributions", 0), {}),
    (("score", "contributions", 0, "points"), "1"),
    (("score", "contributions", 0, "points"), 3),
    (("score", "contributions", 1, "activity_ids"), "A-1"),
    (("score", "contributions", 1, "activity_ids"), ["A-1", 2]),
    (("score", "notes"), [1]),
    (("score", "notes"), "x"),
    (("history", 0), []),
    (("history", 0, "source"), ""),
    (("history", 0, "target"), " "),
    (("history", 0, "by"), 1),
    (("history", 0, "reason"), ""),
    (("history", 0, "override"), 0),
    (("history", 1, "verdict"), None),
    (("history", 1, "verdict"), {"passed": True}),
    (("history", 1, "verdict", "passed"), 1),
    (("history", 1, "verdict", "criterion"), " "),
    (("history", 1, "verdict", "reason"), None),
    (("history", 1, "verdict", "children"), {}),
    (("history", 1, "verdict", "children", 0), "x"),
    (("timers", 0), {"rule": "r"}),
    (("timers", 0, "entry"), True),
    (("timers", 0, "rule"), None),
    (("timers", 0, "rule"), ""),
    (("score", "dimensions"), {"fit": 10**400}),
    (("score", "contributions", 0, "points"), 10**400),
    (("timers", 0, "stage"), " "),
    (("timers", 0, "entry"), -1),
    (("timers", 0, "met_at"), 5),
    (("timers", 0, "met_at"), "2026-03-02T10:00:00+00:00"),
    # Parts that do not fit together, each valid alone.
    (("stage",), " "),
    (("stage",), "sal"),
    (("activities",), -1),
    (("updated_at",), "2026-03-01T09:00:00+00:00"),
    (("score", "lead_id"), "L-2"),
    (("score", "at"), "2026-03-02T10:00:00+00:00"),
    (("entered_at",), "2026-03-02T08:00:00+00:00"),
    (("history", 0, "source"), "lead"),
    (("history", 1, "source"), "sal"),
    (("history", 0, "at"), "2026-03-02T09:30:00+00:00"),
    (("history", 1, "target"), "sal"),
    (("timers", 0, "stage"), "sal"),
    (("timers", 0, "entry"), 0),
    (("timers", 0, "started_at"), "2026-03-02T08:00:00+00:00"),
    (("timers", 0, "deadline"), "2026-03-02T08:59:00+00:00"),
    (("timers", 0, "warn_at"), None),
    (("timers", 0, "warn_at"), "2026-03-02T18:00:00+00:00"),
    (("timers", 0, "breached_at"), "2026-03-02T08:00:00+00:00"),
    (("timers", 0, "warned_at"), "2026-03-02T08:00:00+00:00"),
    (("timers", 0, "cancelled_at"), "2026-03-02T10:00:00+00:00"),
]


_events = st.one_of(
    st.builds(LeadAdded, leads(), aware_datetimes()),
    st.builds(LeadUpdated, leads(), aware_datetimes()),
    st.builds(ActivityRecorded, activities()),
    st.builds(
        lambda lead_id, at, score, previous: ScoreChanged(
            lead_id=lead_id,
            at=at,
            score=attrs.evolve(score, lead_id=lead_id),
            previous=previous and attrs.evolve(previous, lead_id=lead_id),
        ),
        identifiers(),
        aware_datetimes(),
        _scores,
        st.none() | _scores,
    ),
    st.builds(StageChanged, identifiers(), _records),
    *(
        st.builds(kind, identifiers(), _any_timer(stamp))
        for kind, stamp in (
            (SlaStarted, None),
            (SlaWarning, "warned_at"),
            (SlaMet, "met_at"),
            (SlaCancelled, "cancelled_at"),
        )
    ),
    st.builds(SlaPaused, identifiers(), _any_timer(paused=True)),
    st.builds(SlaBreached, identifiers(), _any_timer("breached_at"), _maybe_names),
    st.builds(
        SlaResumed, identifiers(), _any_timer(paused=False), at=aware_datetimes()
    ),
)
_inputs = st.one_of(
    st.builds(AddLead, leads()),
    st.builds(UpdateLead, leads(), aware_datetimes()),
    activities(),
    st.builds(
        Move,
        lead_id=identifiers(),
        to=identifiers(),
        by=identifiers(),
        at=aware_datetimes(),
        reason=st.none() | identifiers(),
        override=st.booleans(),
    ),
    st.builds(Tick, aware_datetimes()),
    st.builds(PauseTimer, identifiers(), identifiers(), aware_datetimes()),
    st.builds(ResumeTimer, identifiers(), identifiers(), aware_datetimes()),
)


class TestEventsAndInputs:
    @given(st.lists(_events, max_size=4))
    def test_events(self, events: list[Event]) -> None:
        """Any events round-trip exactly as a list of Event, each by its type."""
        text = to_json(events, cls=list[Event])
        back = from_json(text, list[Event])
        assert back == events
        assert [type(event) for event in back] == [type(event) for event in events]
        assert to_json(back, cls=list[Event]) == text

    @given(st.lists(_inputs, max_size=4))
    def test_inputs(self, inputs: list[Input]) -> None:
        """Any inputs round-trip exactly as a list of Input, each by its type."""
        text = to_json(inputs, cls=list[Input])
        back = from_json(text, list[Input])
        assert back == inputs
        assert [type(item) for item in back] == [type(item) for item in inputs]
        assert to_json(back, cls=list[Input]) == text


class TestStateFastPath:
    @pytest.mark.parametrize(("path", "value"), _ODD_PLACES)
    def test_each_check_gives_the_outcome_cattrs_gives(
        self, path: tuple[Any, ...], value: object
    ) -> None:
        """A state spoilt (or changed) in one place: read as cattrs reads it."""
        written = _replaced(unstructure(_state()), path, value)
        assert _outcome(converter, written, LeadState) == _outcome(
            _STRICT, written, LeadState
        )

    def test_a_missing_key(self) -> None:
        """A state without one of its keys takes cattrs's path, and its error."""
        written = unstructure(_state())
        del written["timers"][0]["paused_at"]
        written["timers"][0]["extra"] = 1
        assert _outcome(converter, written, LeadState) == _outcome(
            _STRICT, written, LeadState
        )

    @given(lead_states, st.data())
    def test_any_place_any_value(self, state: LeadState, data: st.DataObject) -> None:
        """Any value anywhere in a written state: the outcome cattrs gives."""
        written = unstructure(state)
        path = data.draw(st.sampled_from(_paths(written)))
        odd = data.draw(st.sampled_from(_ODD_VALUES) | _json_values)
        changed = _replaced(written, path, odd)
        assert _outcome(converter, changed, LeadState) == _outcome(
            _STRICT, changed, LeadState
        )

    @given(lead_states)
    def test_written_as_cattrs_writes_it(self, state: LeadState) -> None:
        """A state is written as cattrs writes it, key for key, and read back."""
        written = unstructure(state)
        assert json.dumps(written) == json.dumps(_STRICT.unstructure(state))
        assert from_json(to_json(state), LeadState) == state

    def test_every_field_written_and_read(self) -> None:
        """A state with every kind of field comes back equal, by either path."""
        state = _state()
        assert json.dumps(unstructure(state)) == json.dumps(_STRICT.unstructure(state))
        written = json.loads(to_json(state))
        assert structure(written, LeadState) == _STRICT.structure(written, LeadState)
        assert structure(written, LeadState) == state

    @pytest.mark.parametrize(
        "values",
        [
            activities(),
            leads(),
            _verdicts,
            _records,
            contributions,
            _scores,
            _timers,
        ],
    )
    @given(data=st.data())
    def test_each_value_written_as_cattrs_writes_it(
        self, values: st.SearchStrategy[object], data: st.DataObject
    ) -> None:
        """Each value a state holds is written as cattrs writes it, key for key."""
        value = data.draw(values)
        assert json.dumps(unstructure(value)) == json.dumps(_STRICT.unstructure(value))

    def test_a_subclass_is_written_by_cattrs(self) -> None:
        """A subclass of a value, with a field of its own, keeps that field."""

        @attrs.frozen
        class Tagged(Verdict):
            tag: str = "t"

        tagged = Tagged(passed=True, criterion="c", reason="r")
        assert unstructure(tagged)["tag"] == "t"


class TestActivityText:
    """A stored activity's text, written without a dict: to_json's, exactly."""

    @given(activities())
    def test_the_text_to_json_writes(self, activity: Activity) -> None:
        """Any activity, with properties or none, a source or none: to_json's text."""
        assert _activity_json(activity) == to_json(activity)

    def test_a_subclass_keeps_its_field(self) -> None:
        """A subclass of Activity, with a field of its own, is written with it."""

        @attrs.frozen
        class Tagged(Activity):
            tag: str = "t"

        tagged = Tagged(
            "lead-1", "page_view", datetime(2026, 3, 2, tzinfo=UTC), id="a-1"
        )
        assert json.loads(_activity_json(tagged))["tag"] == "t"
        assert _activity_json(tagged) == to_json(tagged)

    def test_a_hook_of_the_hosts_own(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Under a converter with another hook for activities, that hook's text."""
        changed = converter.copy()
        changed.register_unstructure_hook(
            Activity, lambda activity: {"id": activity.id}
        )
        monkeypatch.setattr(serialization, "converter", changed)
        activity = Activity("lead-1", "page_view", datetime(2026, 3, 2, tzinfo=UTC))
        assert _activity_json(activity) == f'{{"id":"{activity.id}"}}'
