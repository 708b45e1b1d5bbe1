"""Scenario and check_policy: story and table tests of a policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    ActivityRecorded,
    ActivityRule,
    Bant,
    BusinessDuration,
    Context,
    Funnel,
    FunnelkitError,
    FunnelPolicy,
    GuardFailed,
    IllegalTransition,
    Lead,
    NaiveDatetimeError,
    ScoreAtLeast,
    ScoringModel,
    SlaRule,
    SlaWarning,
    Stage,
    SubscriberError,
    Transition,
    UnknownLead,
    ValidationError,
    Verdict,
    kinds,
    testing,
)
from funnelkit.policies import b2b_saas
from funnelkit.testing import Case, ManualClock, Mismatch, Scenario, check_policy

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
H = timedelta(hours=1)
#: Fit 50, grade B: a target industry, 250 people, in the US.
FIT: dict[str, Any] = {"industry": "software", "employees": 250, "country": "US"}
#: Engagement 33 at once: not yet an MQL; one more download makes one.
WARM = (kinds.WEBINAR_ATTENDED, kinds.PRICING_PAGE_VIEW, kinds.CONTENT_DOWNLOAD)


def tiny(*slas: SlaRule) -> FunnelPolicy:
    """lead -> hot when intent reaches 10 (a demo request); no calendar."""
    return FunnelPolicy(
        name="tiny",
        version=1,
        stages=[Stage("lead"), Stage("hot")],
        transitions=[
            Transition(
                source="lead",
                target="hot",
                guard=ScoreAtLeast(10, "intent"),
                auto=True,
            )
        ],
        initial="lead",
        scoring=ScoringModel(
            "tiny-model", [ActivityRule(kinds.DEMO_REQUEST, 10, dimension="intent")]
        ),
        slas=slas,
    )


@attrs.frozen
class ExplodesAtTen:
    """A guard that raises once the time is 10:00 on 2 March 2026, woken then."""

    def check(self, ctx: Context) -> Verdict:
        """Fail before 10:00, raise from then on."""
        if ctx.now >= T0 + H:
            raise RuntimeError("exploded at 10:00")
        return Verdict(passed=False, criterion="explodes", reason="not yet 10:00")

    def wake_at(self, ctx: Context) -> datetime:  # noqa: ARG002 -- as the protocol
        """Ask to be checked at 10:00."""
        return T0 + H


def exploding() -> FunnelPolicy:
    """tiny(), but its automatic move's guard raises from 10:00 on 2 March 2026."""
    return attrs.evolve(
        tiny(),
        transitions=[
            Transition(source="lead", target="hot", guard=ExplodesAtTen(), auto=True)
        ],
    )


def warm(scenario: Scenario) -> Scenario:
    """The FIT lead, engagement 33 at the scenario's time."""
    scenario.lead(**FIT)
    for kind in WARM:
        scenario.does(kind)
    return scenario


def mql() -> Scenario:
    """A b2b_saas scenario whose lead became an MQL on Monday at 09:30 UTC."""
    return warm(Scenario(b2b_saas())).at("+30m").does(kinds.CONTENT_DOWNLOAD)


def failure(step: object) -> str:
    """The message of the AssertionError that calling *step* raises."""
    with pytest.raises(AssertionError) as info:
        step()  # type: ignore[operator]
    return str(info.value)


class TestStart:
    def test_default_is_monday_nine_in_the_calendar_zone(self) -> None:
        """Without start or clock, the story begins Monday 09:00 local to the policy."""
        scenario = Scenario(b2b_saas(timezone="Europe/Berlin"))
        assert scenario.now == datetime(2026, 3, 2, 9, tzinfo=BERLIN)
        assert scenario.clock.now() == scenario.now

    def test_utc_without_a_calendar(self) -> None:
        """A policy without a calendar reads local times in UTC."""
        assert Scenario(tiny()).now == T0

    def test_timezone_argument_wins(self) -> None:
        """timezone= names the zone of text, as a name or a tzinfo."""
        by_name = Scenario(b2b_saas(), timezone="Europe/Berlin")
        assert by_name.now == datetime(2026, 3, 2, 9, tzinfo=BERLIN)
        offset = timezone(timedelta(hours=-5))
        by_tzinfo = Scenario(b2b_saas(), timezone=offset, start="2026-03-02 10:00")
        assert by_tzinfo.now == datetime(2026, 3, 2, 15, tzinfo=UTC)

    def test_start_as_text_or_datetime(self) -> None:
        """start= takes local text, text with an offset, or an aware datetime."""
        assert Scenario(b2b_saas(), start="2026-01-05 08:15").now == datetime(
            2026, 1, 5, 8, 15, tzinfo=UTC
        )
        with_offset = Scenario(b2b_saas(), start="2026-01-05T08:15:00+01:00")
        assert with_offset.now == datetime(2026, 1, 5, 7, 15, tzinfo=UTC)
        assert Scenario(b2b_saas(), start=T0 + H).now == T0 + H
        zeros = Scenario(b2b_saas(), start="2026-01-05 08:15:00.1234560")
        assert zeros.now == datetime(2026, 1, 5, 8, 15, 0, 123456, tzinfo=UTC)

    def test_a_given_clock_keeps_its_time(self) -> None:
        """With a clock and no start, the story begins at the clock's time."""
        clock = ManualClock(T0 + 5 * H)
        scenario = Scenario(b2b_saas(), clock=clock)
        assert scenario.clock is clock
        assert scenario.now == T0 + 5 * H
        scenario.advance("1h")
        assert clock.now() == T0 + 6 * H

    def test_a_step_catches_up_with_a_clock_another_scenario_moved(self) -> None:
        """Sharing a clock, one scenario's advance brings the other's timers due."""
        clock = ManualClock(T0)
        first = warm(Scenario(b2b_saas(), clock=clock)).does(kinds.CONTENT_DOWNLOAD)
        second = warm(Scenario(b2b_saas(), clock=clock)).does(kinds.CONTENT_DOWNLOAD)
        second.expect_stage("mql")
        first.advance("10 business hours")
        assert second.now == first.now
        message = failure(lambda: second.expect_no_breach("mql_accepted"))
        assert "expected no breach of SLA 'mql_accepted'" in message
        second.expect_breach("mql_accepted")

    def test_does_skips_an_id_a_direct_record_took(self) -> None:
        """An activity recorded on the funnel as lead-1#1: does() takes lead-1#2."""
        scenario = Scenario(b2b_saas()).lead(**FIT)
        taken = Activity("lead-1", kinds.WEBINAR_ATTENDED, scenario.now, id="lead-1#1")
        scenario.funnel.record(taken)
        scenario.does(kinds.CONTENT_DOWNLOAD)
        found = [(a.id, a.kind) for a in scenario.funnel.store.activities("lead-1")]
        assert sorted(found) == [
            ("lead-1#1", kinds.WEBINAR_ATTENDED),
            ("lead-1#2", kinds.CONTENT_DOWNLOAD),
        ]

    def test_start_sets_a_given_clock(self) -> None:
        """A start moves the given clock there, backwards too."""
        clock = ManualClock(T0 + 5 * H)
        Scenario(b2b_saas(), clock=clock, start=T0)
        assert clock.now() == T0

    def test_properties(self) -> None:
        """policy, funnel and repr describe the scenario."""
        policy = b2b_saas()
        scenario = Scenario(policy)
        assert scenario.policy is policy
        assert scenario.funnel.policy is policy
        assert repr(scenario) == (
            "<funnelkit.testing.Scenario policy='b2b-saas@1' "
            "now='2026-03-02T09:00:00+00:00' lead=None leads=0>"
        )
        scenario.lead()
        assert "lead='lead-1' leads=1>" in repr(scenario)

    @pytest.mark.parametrize(
        ("arguments", "field"),
        [
            ({"policy": "b2b-saas"}, "policy"),
            ({"clock": T0}, "clock"),
            ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
            ({"timezone": "localtime"}, "timezone"),
            ({"timezone": "../etc"}, "timezone"),
            ({"timezone": 5}, "timezone"),
            ({"start": "Monday morning"}, "start"),
            ({"start": 5}, "start"),
        ],
    )
    def test_bad_arguments(self, arguments: dict[str, object], field: str) -> None:
        """A bad argument raises ValidationError naming it, and a given clock stays."""
        clock = ManualClock(T0)
        arguments = {"policy": b2b_saas(), "clock": clock, **arguments}
        with pytest.raises(ValidationError) as info:
            Scenario(**arguments)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("Scenario", field)
        assert info.value.value == arguments[field]
        assert clock.now() == T0

    def test_naive_start(self) -> None:
        """A naive datetime start is a NaiveDatetimeError, not a guess."""
        with pytest.raises(NaiveDatetimeError, match=r"Scenario\.start"):
            Scenario(b2b_saas(), start=datetime(2026, 3, 2, 9))  # noqa: DTZ001


class TestLead:
    def test_ids_count_up_and_skip_taken_ones(self) -> None:
        """Leads without an id are lead-1, lead-2..., past ids already taken."""
        scenario = Scenario(b2b_saas()).lead().lead("lead-3").lead()
        assert scenario.lead_id == "lead-4"
        assert "lead-1" in scenario.funnel
        assert "lead-2" not in scenario.funnel

    def test_the_lead_is_made_now_with_its_parts(self) -> None:
        """lead() makes a Lead created now, with the fields and attributes given."""
        bant = Bant(budget=True)
        scenario = (
            Scenario(b2b_saas())
            .advance("2h")
            .lead(
                "L-9",
                email="ana@acme.example",
                bant=bant,
                source="event",
                owner="rep:jonas",
                industry="software",
                employees=200,
            )
        )
        assert scenario.state.lead == Lead(
            "L-9",
            T0 + 2 * H,
            email="ana@acme.example",
            attributes={"industry": "software", "employees": 200},
            bant=bant,
            source="event",
            owner="rep:jonas",
        )

    def test_duplicate_id_rejected(self) -> None:
        """A second lead with an id in use is refused, and the current lead stays."""
        scenario = Scenario(b2b_saas()).lead("L-1").lead("L-2")
        with pytest.raises(ValidationError) as info:
            scenario.lead("L-1")
        assert (info.value.owner, info.value.field) == ("Scenario.lead", "id")
        assert info.value.value == "L-1"
        assert scenario.lead_id == "L-2"
        assert len(scenario.funnel) == 2

    def test_bad_attribute_adds_nothing(self) -> None:
        """A bad attribute raises the Lead's error and adds no lead."""
        scenario = Scenario(b2b_saas()).lead()
        with pytest.raises(ValidationError, match=r"Lead\.attributes\['size'\]"):
            scenario.lead(size=[1, 2])  # type: ignore[arg-type]
        assert scenario.lead_id == "lead-1"
        assert len(scenario.funnel) == 1

    def test_use_switches_lead(self) -> None:
        """use() makes later steps act on another lead."""
        scenario = Scenario(b2b_saas()).lead().lead().use("lead-1")
        scenario.does(kinds.PAGE_VIEW)
        assert scenario.state.activities == 1
        assert scenario.funnel.state("lead-2").activities == 0

    def test_use_unknown_lead(self) -> None:
        """use() of a lead the scenario lacks raises UnknownLead, changing nothing."""
        scenario = Scenario(b2b_saas()).lead()
        with pytest.raises(UnknownLead):
            scenario.use("lead-7")
        assert scenario.lead_id == "lead-1"

    @pytest.mark.parametrize(
        ("step", "owner"),
        [
            (lambda s: s.does("page_view"), "Scenario.does"),
            (lambda s: s.move("mql"), "Scenario.move"),
            (lambda s: s.expect_stage("lead"), "Scenario.expect_stage"),
            (lambda s: s.expect_score(fit=0), "Scenario.expect_score"),
            (lambda s: s.expect_grade("A"), "Scenario.expect_grade"),
            (lambda s: s.expect_breach("first_touch"), "Scenario.expect_breach"),
            (lambda s: s.expect_warning("first_touch"), "Scenario.expect_warning"),
            (lambda s: s.expect_met("first_touch"), "Scenario.expect_met"),
            (lambda s: s.expect_no_breach(), "Scenario.expect_no_breach"),
            (lambda s: s.state, "Scenario.state"),
            (lambda s: s.events, "Scenario.events"),
            (lambda s: s.lead_id, "Scenario.lead_id"),
        ],
    )
    def test_steps_need_a_lead(self, step: object, owner: str) -> None:
        """A step or question before any lead says to call lead() first."""
        with pytest.raises(ValidationError, match=r"call lead\(\) first") as info:
            step(Scenario(b2b_saas()))  # type: ignore[operator]
        assert (info.value.owner, info.value.field) == (owner, "lead")


class TestTime:
    @pytest.mark.parametrize(
        ("when", "expected"),
        [
            ("2026-03-02 11:30", datetime(2026, 3, 2, 11, 30, tzinfo=BERLIN)),
            ("2026-03-02T11:30:15", datetime(2026, 3, 2, 11, 30, 15, tzinfo=BERLIN)),
            ("2026-03-02 11:30+00:00", datetime(2026, 3, 2, 11, 30, tzinfo=UTC)),
            (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)),
            ("+1h", datetime(2026, 3, 2, 10, tzinfo=BERLIN)),
            (" +90 minutes", datetime(2026, 3, 2, 10, 30, tzinfo=BERLIN)),
            ("+0s", datetime(2026, 3, 2, 9, tzinfo=BERLIN)),
            ("+9 business hours", datetime(2026, 3, 3, 10, tzinfo=BERLIN)),
            ("2026-03-02 09:00", datetime(2026, 3, 2, 9, tzinfo=BERLIN)),
            ("2026-03-02T11:30:00z", datetime(2026, 3, 2, 11, 30, tzinfo=UTC)),
            # An offset under a second is kept, as funnelkit's JSON keeps it.
            (
                "2026-03-02T11:30:00+00:00:00.5",
                datetime(2026, 3, 2, 11, 29, 59, 500_000, tzinfo=UTC),
            ),
        ],
    )
    def test_at(self, when: datetime | str, expected: datetime) -> None:
        """at() takes local text, text with an offset, a datetime, or "+" a duration."""
        scenario = Scenario(b2b_saas(timezone="Europe/Berlin"))
        assert scenario.at(when).now == expected

    def test_advance(self) -> None:
        """advance() takes a timedelta, a BusinessDuration or text, in business time."""
        scenario = Scenario(b2b_saas(), start="2026-03-06 16:00")  # a Friday
        assert scenario.advance(timedelta(minutes=30)).now == T0 + 4 * 24 * H + 7.5 * H
        scenario.advance(BusinessDuration(time=H))
        assert scenario.now == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
        assert scenario.advance("1 business day").now == datetime(
            2026, 3, 10, 9, 30, tzinfo=UTC
        )

    def test_moving_time_fires_timers(self) -> None:
        """at() and advance() tick the funnel: warnings and breaches fall due."""
        scenario = mql().at("2026-03-02 15:30")
        assert [type(e).__name__ for e in scenario.events[-2:]] == [
            "SlaWarning",
            "ScoreChanged",
        ]
        scenario.advance("2 business hours")
        scenario.expect_breach("mql_accepted")

    def test_going_back_is_refused(self) -> None:
        """An earlier time raises, names the scenario's time, and changes nothing."""
        scenario = Scenario(b2b_saas()).at("2026-03-02 12:00")
        with pytest.raises(ValidationError) as info:
            scenario.at("2026-03-02 11:59")
        assert (info.value.owner, info.value.field) == ("Scenario.at", "when")
        assert "Mon 2026-03-02 12:00 UTC" in info.value.expected
        assert "start=" in info.value.expected
        assert scenario.now == datetime(2026, 3, 2, 12, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("method", "field", "value", "expected"),
        [
            ("at", "when", "tomorrow", "'+' and a duration"),
            ("at", "when", timedelta(hours=1), "'+' and a duration"),
            ("at", "when", "+soon", "a duration such as"),
            ("at", "when", "+-1h", "zero or more"),
            ("at", "when", "+3000000 days", "years 1 to 9999"),
            ("at", "when", "9999-12-31T23:00-05:00", "years 1 to 9999"),
            ("at", "when", "0001-01-01T00:00+05:00", "years 1 to 9999"),
            # Python would cut the 7, moving the instant: refused, as from_json does.
            ("at", "when", "2026-03-02T09:00:00.1234567Z", "whole microseconds"),
            ("at", "when", "2026-03-02T09:30.5Z", "a fraction only after the seconds"),
            ("advance", "duration", "soon", "a duration such as"),
            ("advance", "duration", timedelta(hours=-1), "a duration of zero or more"),
            ("advance", "duration", 5, "a duration of zero or more"),
            ("advance", "duration", timedelta(days=3_000_000), "years 1 to 9999"),
        ],
    )
    def test_bad_time_steps(
        self, method: str, field: str, value: object, expected: str
    ) -> None:
        """at() and advance() without a time or duration raise, changing nothing."""
        scenario = Scenario(b2b_saas())
        with pytest.raises(ValidationError) as info:
            getattr(scenario, method)(value)
        assert (info.value.owner, info.value.field) == (f"Scenario.{method}", field)
        assert info.value.value == value
        assert expected in info.value.expected
        assert "set()" not in info.value.expected
        assert scenario.now == T0

    def test_naive_when(self) -> None:
        """A naive datetime is a NaiveDatetimeError, changing nothing."""
        scenario = Scenario(b2b_saas())
        with pytest.raises(NaiveDatetimeError, match=r"Scenario\.at\.when"):
            scenario.at(datetime(2026, 3, 3))  # noqa: DTZ001
        assert scenario.now == T0

    @pytest.mark.parametrize(
        "step",
        [
            lambda s: s.advance("2 business hours"),
            lambda s: s.at("+2 business hours"),
            lambda s: s.advance(BusinessDuration(days=1)),
        ],
    )
    def test_business_time_needs_the_policy_calendar(self, step: object) -> None:
        """Business time on a policy without a calendar is refused, naming why."""
        scenario = Scenario(tiny())
        with pytest.raises(ValidationError, match="the policy has no calendar"):
            step(scenario)  # type: ignore[operator]
        assert scenario.now == T0

    @pytest.mark.parametrize(
        "step",
        [
            lambda s: s.at("2026-03-02 11:00"),
            lambda s: s.at("+2h"),
            lambda s: s.advance("2h"),
            lambda s: s.advance(timedelta(hours=2)),
        ],
    )
    def test_a_failed_tick_leaves_the_time(self, step: object) -> None:
        """A tick that raises leaves the clock (and the funnel) as before the step."""
        scenario = Scenario(exploding(), start=T0).lead()
        with pytest.raises(RuntimeError, match="exploded at 10:00"):
            step(scenario)  # type: ignore[operator]
        assert scenario.now == T0
        assert scenario.clock.now() == T0
        scenario.at("+30m").expect_stage("lead")  # the steps go on before 10:00

    def test_a_failed_tick_leaves_a_shared_clock(self) -> None:
        """A scenario sharing a clock does not see the time of another's failed tick."""
        clock = ManualClock(T0)
        calm = Scenario(tiny(), clock=clock)
        failing = Scenario(exploding(), clock=clock).lead()
        with pytest.raises(RuntimeError):
            failing.advance("2h")
        assert (calm.now, failing.now) == (T0, T0)

    def test_a_subscriber_error_keeps_the_time(self) -> None:
        """A subscriber's error comes after the tick's change stands: the time stays."""
        scenario = mql()

        def refuse(event: object) -> None:
            raise ValueError(event)

        scenario.funnel.subscribe(refuse)
        with pytest.raises(SubscriberError):
            scenario.at("2026-03-02 15:30")  # a warning falls due
        assert scenario.now == datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
        assert isinstance(scenario.events[-2], SlaWarning)


class TestDoes:
    def test_records_an_activity_now(self) -> None:
        """does() records an activity of the lead, now, with its properties."""
        scenario = Scenario(b2b_saas()).lead().at("+1h").does("webinar_attended", n=2)
        recorded = [e for e in scenario.events if isinstance(e, ActivityRecorded)]
        assert [e.activity for e in recorded] == [
            Activity(
                "lead-1",
                "webinar_attended",
                T0 + H,
                id="lead-1#1",
                properties={"n": 2},
            )
        ]

    def test_the_same_activity_twice_counts_twice(self) -> None:
        """Two equal activities in one instant are two activities, not a duplicate."""
        scenario = Scenario(b2b_saas()).lead().does("content_download")
        scenario.does("content_download").lead().does("content_download").use("lead-1")
        assert scenario.state.activities == 2
        scenario.expect_score(engagement=16)
        assert scenario.funnel.state("lead-2").activities == 1

    def test_bad_kind_records_nothing(self) -> None:
        """A bad kind raises the Activity's error and uses no number."""
        scenario = Scenario(b2b_saas()).lead()
        with pytest.raises(ValidationError, match=r"Activity\.kind"):
            scenario.does(" ")
        scenario.does("page_view")
        assert [
            e.activity.id for e in scenario.events if isinstance(e, ActivityRecorded)
        ] == ["lead-1#1"]


class TestMove:
    def test_moves_as_the_scenario(self) -> None:
        """move() moves the lead now, by "scenario" unless told."""
        scenario = mql().at("+1h").move("sal")
        record = scenario.state.history[-1]
        assert (record.source, record.target, record.at, record.by) == (
            "mql",
            "sal",
            T0 + 1.5 * H,
            "scenario",
        )
        scenario.move("disqualified", by="rep:ana", reason="no_budget")
        assert scenario.state.history[-1].reason == "no_budget"

    def test_refusals_propagate(self) -> None:
        """A refused move raises the funnel's own error and changes nothing."""
        scenario = Scenario(b2b_saas()).lead()
        with pytest.raises(IllegalTransition):
            scenario.move("customer")
        with pytest.raises(GuardFailed):
            scenario.move("mql")
        assert scenario.state.stage == "lead"

    def test_override(self) -> None:
        """override=True forces a move past its guard, with a reason."""
        scenario = Scenario(b2b_saas()).lead()
        scenario.move("mql", by="manager", reason="trade show", override=True)
        assert scenario.state.history[-1].override


class TestExpectStage:
    def test_passes_and_chains(self) -> None:
        """A met expectation returns the scenario."""
        scenario = mql()
        assert scenario.expect_stage("mql") is scenario

    def test_fails_with_what_was_found(self) -> None:
        """Another stage fails with expected and found first."""
        message = failure(lambda: mql().expect_stage("sal"))
        assert message.startswith("expected stage 'sal', found 'mql'\n\n")

    def test_unknown_stage_is_an_error(self) -> None:
        """A stage the policy lacks is a ValidationError listing the stages."""
        with pytest.raises(ValidationError) as info:
            mql().expect_stage("sq1")
        assert info.value.field == "name"
        assert info.value.expected == (
            "a stage of the policy 'b2b-saas@1': lead, mql, sal, sql, "
            "opportunity, customer, nurture, disqualified"
        )


class TestExpectScore:
    def test_to_the_millionth(self) -> None:
        """Numbers equal the score to the millionth, in every dimension named."""
        scenario = warm(Scenario(b2b_saas()))
        scenario.expect_score(total=83, fit=Decimal(50), engagement=33.0000004)
        scenario.advance("1h").expect_score(engagement=32.968246)
        message = failure(lambda: scenario.expect_score(engagement=32.968247))
        assert message.startswith(
            "expected engagement 32.968247; found engagement 32.968246\n"
        )

    def test_a_matcher(self) -> None:
        """Any other object is compared with ==, so pytest.approx works."""
        scenario = warm(Scenario(b2b_saas())).advance("1 day")
        scenario.expect_score(engagement=pytest.approx(33, abs=1))
        message = failure(
            lambda: scenario.expect_score(fit=50, engagement=pytest.approx(33))
        )
        assert message.startswith(
            "expected fit 50 and engagement 33 ± 3.3e-05; "
            "found fit 50 and engagement 32.24628\n"
        )

    def test_other_dimensions(self) -> None:
        """A model's own dimensions are expected by name."""
        scenario = Scenario(tiny()).lead().does(kinds.DEMO_REQUEST)
        scenario.expect_score(intent=10, total=0).expect_stage("hot")

    @pytest.mark.parametrize(
        ("expected", "field", "text"),
        [
            ({"engagment": 33}, "dimensions", "total, fit, engagement"),
            ({}, "dimensions", "at least one expected value"),
            ({"fit": "50"}, "fit", "a finite number, or a matcher"),
            ({"fit": True}, "fit", "a finite number, or a matcher"),
            ({"fit": float("nan")}, "fit", "a finite number, or a matcher"),
            ({"total": float("inf")}, "total", "a finite number, or a matcher"),
            ({"fit": 10**400}, "fit", "a finite number, or a matcher"),
            ({"fit": Decimal("NaN")}, "fit", "a finite number, or a matcher"),
            ({"fit": Decimal("sNaN")}, "fit", "a finite number, or a matcher"),
        ],
    )
    def test_bad_expectations(
        self, expected: dict[str, object], field: str, text: str
    ) -> None:
        """A typo, nothing to check, text or NaN is an error, not a silent pass."""
        scenario = warm(Scenario(b2b_saas()))
        with pytest.raises(ValidationError) as info:
            scenario.expect_score(**expected)
        assert (info.value.owner, info.value.field) == ("Scenario.expect_score", field)
        assert text in info.value.expected
        if field == "dimensions" and expected:
            assert info.value.value == "engagment"  # the misspelt name, shown


class TestExpectGrade:
    def test_passes_and_fails(self) -> None:
        """The fit grade is compared; a difference shows both letters."""
        scenario = warm(Scenario(b2b_saas()))
        scenario.expect_grade("B")
        message = failure(lambda: scenario.expect_grade("A"))
        assert message.startswith("expected grade 'A', found 'B'\n")

    def test_unknown_letter(self) -> None:
        """A letter the model does not grade with lists those it does."""
        with pytest.raises(ValidationError) as info:
            warm(Scenario(b2b_saas())).expect_grade("a")
        assert info.value.field == "letter"
        assert info.value.expected.endswith(": A, B, C, D")


class TestExpectSla:
    def test_breach_warning_met(self) -> None:
        """Each SLA expectation looks for its event in the lead's whole story."""
        scenario = mql().advance("6 business hours").expect_warning("mql_accepted")
        scenario.advance("2 business hours").expect_breach("mql_accepted")
        scenario.move("sal").expect_met("mql_accepted")
        scenario.expect_no_breach("first_touch")
        message = failure(lambda: scenario.expect_no_breach("mql_accepted"))
        assert message.startswith(
            "expected no breach of SLA 'mql_accepted'; "
            "found mql_accepted breached Tue 2026-03-03 09:30 UTC\n"
        )

    def test_failures_say_what_the_timer_did(self) -> None:
        """A missing SLA event lists the timer's events, or says it never ran."""
        scenario = mql()
        message = failure(lambda: scenario.expect_breach("mql_accepted"))
        assert message.startswith(
            "expected SLA 'mql_accepted' breached; "
            "found started Mon 2026-03-02 09:30 UTC\n"
        )
        message = failure(lambda: scenario.expect_met("first_touch"))
        assert message.startswith(
            "expected SLA 'first_touch' met; "
            "found no timer (the lead has not entered 'sal')\n"
        )
        message = failure(lambda: scenario.expect_warning("sql_worked"))
        assert message.startswith("expected SLA 'sql_worked' warned; found no timer")

    def test_no_breach_of_any_rule(self) -> None:
        """expect_no_breach() without a rule looks at every rule."""
        scenario = mql().expect_no_breach().advance("3 business days")
        message = failure(scenario.expect_no_breach)
        assert message.startswith("expected no breach; found mql_accepted breached")

    @pytest.mark.parametrize(
        "expect",
        [
            Scenario.expect_breach,
            Scenario.expect_warning,
            Scenario.expect_met,
            Scenario.expect_no_breach,
        ],
    )
    def test_unknown_rule_lists_the_rules(self, expect: object) -> None:
        """An SLA name the policy lacks is an error listing the policy's names."""
        with pytest.raises(ValidationError) as info:
            expect(mql(), "mql_accept")  # type: ignore[operator]
        assert info.value.field == "sla"
        assert info.value.value == "mql_accept"
        assert info.value.expected == (
            "an SLA rule of the policy 'b2b-saas@1': "
            "mql_accepted, first_touch, sql_worked"
        )

    def test_a_policy_without_rules(self) -> None:
        """A policy without SLA rules says it has none."""
        with pytest.raises(ValidationError, match="it has none"):
            Scenario(tiny()).lead().expect_breach("first_touch")


class TestFailureMessage:
    def test_shows_timeline_ledger_and_moves(self) -> None:
        """The message shows the timeline, the score ledger and the moves out."""
        scenario = (
            warm(Scenario(b2b_saas(timezone="Europe/Berlin")))
            .at("+30m")
            .does(kinds.CONTENT_DOWNLOAD, asset="whitepaper")
            .advance("8 business hours")
        )
        message = failure(lambda: scenario.expect_stage("sal"))
        assert message.split("\nscore:\n")[0] == (
            "expected stage 'sal', found 'mql'\n"
            "\n"
            "lead 'lead-1' in stage 'mql' at Tue 2026-03-03 09:30 CET, "
            "policy 'b2b-saas@1'\n"
            "\n"
            "timeline:\n"
            "  Mon 2026-03-02 09:00 CET  lead added "
            "(country='US', employees=250, industry='software')\n"
            "  Mon 2026-03-02 09:00 CET  entered lead by auto\n"
            "  Mon 2026-03-02 09:00 CET  did webinar_attended\n"
            "  Mon 2026-03-02 09:00 CET  did pricing_page_view\n"
            "  Mon 2026-03-02 09:00 CET  did content_download\n"
            "  Mon 2026-03-02 09:30 CET  did content_download (asset='whitepaper')\n"
            "  Mon 2026-03-02 09:30 CET  lead -> mql by auto\n"
            "      passed: all of: engagement score at least 40; fit score at least "
            "30: engagement score 40.984119 is at least 40; fit score 50 is at "
            "least 30\n"
            "        passed: engagement score at least 40: engagement score "
            "40.984119 is at least 40\n"
            "        passed: fit score at least 30: fit score 50 is at least 30\n"
            "  Mon 2026-03-02 09:30 CET  SLA mql_accepted started, "
            "due Tue 2026-03-03 09:30 CET\n"
            "  Mon 2026-03-02 15:30 CET  SLA mql_accepted warned\n"
            "  Tue 2026-03-03 09:30 CET  SLA mql_accepted breached, "
            "escalated to sales_manager\n"
        )
        ledger = scenario.funnel.score("lead-1", at=scenario.now).explain()
        assert (
            "\nscore:\n" + "\n".join(f"  {line}" for line in ledger.splitlines())
            in message
        )
        assert message.endswith(
            "moves out of 'mql':\n"
            "  to sql:\n"
            "    failed: all of: demo_request or quote_request at least once since "
            "entering the stage; fit grade B or better: demo_request or "
            "quote_request 0 times since entering the stage, 1 needed\n"
            "      failed: demo_request or quote_request at least once since "
            "entering the stage: demo_request or quote_request 0 times since "
            "entering the stage, 1 needed\n"
            "      passed: fit grade B or better: fit grade B is B or better\n"
            "  to sal:\n"
            "    passed: always: nothing is required\n"
            "  to nurture:\n"
            "    passed: always: nothing is required\n"
            "  to disqualified:\n"
            "    passed: always: nothing is required"
        )

    def test_every_kind_of_timeline_line(self) -> None:
        """Updates, overrides, reasons, pauses, late and cancelled timers all show."""
        scenario = mql().advance("8 business hours").move("sal", by="rep:ana")
        funnel = scenario.funnel
        funnel.pause_timer("lead-1", "first_touch")
        scenario.at("2026-03-03 10:00:30")
        funnel.resume_timer("lead-1", "first_touch")
        scenario.at("2026-03-03 10:00:30.250000")
        lead = scenario.state.lead
        funnel.update_lead(attrs.evolve(lead, attributes={}))
        scenario.move("disqualified", by="rep:ana", reason="no_budget")
        scenario.move("nurture", by="manager", reason="fits after all")
        message = failure(lambda: scenario.expect_stage("lead"))
        timeline = message.split("timeline:\n")[1].split("\n\nscore:")[0]
        for line in [
            (
                "  Tue 2026-03-03 09:30 UTC  SLA mql_accepted breached, "
                "escalated to sales_manager"
            ),
            "  Tue 2026-03-03 09:30 UTC  mql -> sal by rep:ana",
            "  Tue 2026-03-03 09:30 UTC  SLA mql_accepted met late",
            (
                "  Tue 2026-03-03 09:30 UTC  SLA first_touch started, "
                "due Tue 2026-03-03 10:30 UTC"
            ),
            "  Tue 2026-03-03 09:30 UTC  SLA first_touch paused",
            (
                "  Tue 2026-03-03 10:00:30 UTC  SLA first_touch resumed, "
                "due Tue 2026-03-03 11:00:30 UTC"
            ),
            "  Tue 2026-03-03 10:00:30.250000 UTC  lead updated",
            (
                "  Tue 2026-03-03 10:00:30.250000 UTC  sal -> disqualified by rep:ana, "
                "reason 'no_budget'"
            ),
            "  Tue 2026-03-03 10:00:30.250000 UTC  SLA first_touch cancelled",
            (
                "  Tue 2026-03-03 10:00:30.250000 UTC  disqualified -> nurture "
                "by manager, reason 'fits after all'"
            ),
        ]:
            assert f"{line}\n" in timeline
        assert "ScoreChanged" not in timeline

    def test_a_move_comes_before_the_timers_it_closed(self) -> None:
        """The timeline shows a move, then the timers that leaving the stage closed."""
        scenario = mql().advance("8 business hours").move("sal", by="rep:ana")
        scenario.move("disqualified", by="rep:ana", reason="no_budget")
        scenario.move("nurture", by="manager", reason="fits after all")
        timeline = failure(lambda: scenario.expect_stage("lead"))
        found = [
            timeline.index(text)
            for text in (
                "mql -> sal by rep:ana",
                "SLA mql_accepted met late",
                "SLA first_touch started",
                "sal -> disqualified by rep:ana",
                "SLA first_touch cancelled",
                "disqualified -> nurture by manager",
            )
        ]
        assert found == sorted(found)

    def test_override_and_a_rule_met_in_time(self) -> None:
        """An override shows with the verdict it overrode; a kept SLA says met."""
        scenario = Scenario(b2b_saas()).lead()
        scenario.move("mql", by="manager", reason="trade show", override=True)
        scenario.advance("1h").move("sal").does(kinds.SALES_TOUCH)
        message = failure(lambda: scenario.expect_stage("sql"))
        assert (
            "  Mon 2026-03-02 09:00 UTC  lead -> mql by manager (override), "
            "reason 'trade show'\n"
            "      failed: all of: engagement score at least 40; fit score at least"
        ) in message
        assert "  Mon 2026-03-02 10:00 UTC  SLA first_touch met\n" in message
        assert "SLA sql_worked" not in message

    def test_a_stage_without_moves(self) -> None:
        """A lead in a won stage has no moves out, and says so."""
        scenario = Scenario(b2b_saas()).lead(**FIT).does(kinds.DEMO_REQUEST)
        scenario.expect_stage("sql").move("opportunity").move("customer")
        message = failure(lambda: scenario.expect_stage("sql"))
        assert message.endswith("\n\nmoves out of 'customer': none")

    def test_a_lead_judged_after_the_clock(self) -> None:
        """A lead updated past the scenario's time is judged at its update."""
        scenario = Scenario(b2b_saas()).lead()
        later = T0 + 3 * H
        scenario.funnel.record(Activity("lead-1", kinds.PAGE_VIEW, later))
        message = failure(lambda: scenario.expect_stage("sal"))
        assert "in stage 'lead' at Mon 2026-03-02 12:00 UTC" in message
        assert "  Mon 2026-03-02 12:00 UTC  did page_view\n" in message


class TestQuestions:
    def test_events_and_state_are_the_current_leads(self) -> None:
        """events and state speak of the current lead, direct funnel calls included."""
        scenario = Scenario(b2b_saas()).lead().lead()
        scenario.funnel.record(Activity("lead-2", kinds.PAGE_VIEW, T0))
        assert {event.lead_id for event in scenario.events} == {"lead-2"}
        assert ActivityRecorded in {type(event) for event in scenario.events}
        assert scenario.state.lead.id == "lead-2"
        assert scenario.use("lead-1").state.activities == 0


class TestPublicNames:
    def test_exported_from_funnelkit_testing(self) -> None:
        """The toolkit is importable from funnelkit.testing and says so in reprs."""
        assert testing.__all__ == [
            "Case",
            "ManualClock",
            "Mismatch",
            "Scenario",
            "check_policy",
        ]
        for cls in (Case, Mismatch, Scenario):
            assert cls.__module__ == "funnelkit.testing"
            assert cls.__doc__


# -- Laws ----------------------------------------------------------------------

KINDS = st.sampled_from(
    [
        kinds.PAGE_VIEW,
        kinds.CONTENT_DOWNLOAD,
        kinds.WEBINAR_ATTENDED,
        kinds.PRICING_PAGE_VIEW,
        kinds.DEMO_REQUEST,
        kinds.UNSUBSCRIBE,
    ]
)
ATTRIBUTES = st.fixed_dictionaries(
    {
        "industry": st.sampled_from(["software", "retail"]),
        "employees": st.sampled_from([20, 120, 800]),
    }
)
STEPS = st.lists(st.tuples(st.integers(0, 3 * 24 * 60), KINDS), max_size=8)


def plain(
    attributes: dict[str, str | int], steps: list[tuple[int, str]], end: datetime
) -> Funnel:
    """A plain funnel of b2b_saas() fed the steps, ticked once at *end*."""
    clock = ManualClock(T0)
    funnel = Funnel(b2b_saas(), clock=clock)
    funnel.add_lead(Lead("lead-1", T0, attributes=attributes))
    for number, (minutes, kind) in enumerate(steps, start=1):
        clock.advance(timedelta(minutes=minutes))
        funnel.record(Activity("lead-1", kind, clock.now(), id=f"lead-1#{number}"))
    funnel.tick(end)
    return funnel


class TestLaws:
    @given(attributes=ATTRIBUTES, steps=STEPS, wait=st.integers(0, 5 * 24 * 60))
    def test_a_scenario_is_a_plain_funnel(
        self, attributes: dict[str, Any], steps: list[tuple[int, str]], wait: int
    ) -> None:
        """A scenario ends where a plain funnel fed the same activities does."""
        scenario = Scenario(b2b_saas()).lead(**attributes)
        for minutes, kind in steps:
            scenario.advance(timedelta(minutes=minutes)).does(kind)
        scenario.advance(timedelta(minutes=wait))
        funnel = plain(attributes, steps, scenario.now)
        assert funnel.state("lead-1").stage == scenario.state.stage
        assert funnel.state("lead-1").history == scenario.state.history
        assert funnel.score("lead-1", at=scenario.now) == scenario.funnel.score(
            "lead-1", at=scenario.now
        )
        scenario.expect_stage(funnel.state("lead-1").stage)

    @given(
        attributes=ATTRIBUTES,
        steps=STEPS,
        stage=st.sampled_from(["lead", "mql", "sql"]),
        grade=st.sampled_from(["A", "B", "C", "D"]),
    )
    def test_check_policy_agrees_with_a_plain_funnel(
        self,
        attributes: dict[str, str | int],
        steps: list[tuple[int, str]],
        stage: str,
        grade: str,
    ) -> None:
        """A case mismatches exactly in the fields a plain funnel disagrees on."""
        lead = Lead("lead-1", T0, attributes=attributes)
        activities = []
        at = T0
        for number, (minutes, kind) in enumerate(steps, start=1):
            at += timedelta(minutes=minutes)
            activities.append(Activity("lead-1", kind, at, id=f"lead-1#{number}"))
        funnel = plain(attributes, steps, at)
        found = {
            "stage": funnel.state("lead-1").stage,
            "grade": funnel.score("lead-1", at=at).grade,
        }
        case = Case(lead, activities, expect_stage=stage, expect_grade=grade)
        mismatches = check_policy(b2b_saas(), [case])
        assert [(m.field, m.expected, m.found) for m in mismatches] == [
            (field, wanted, found[field])
            for field, wanted in (("stage", stage), ("grade", grade))
            if wanted != found[field]
        ]


# -- Table tests ------------------------------------------------------------------

LEAD = Lead("L-1", T0, attributes=FIT)


def did(*kinds_done: str, lead_id: str = "L-1") -> list[Activity]:
    """One activity per kind, an hour apart after T0."""
    return [
        Activity(lead_id, kind, T0 + (n + 1) * H) for n, kind in enumerate(kinds_done)
    ]


MQL = did(*WARM, kinds.CONTENT_DOWNLOAD)


class TestCase:
    def test_defaults(self) -> None:
        """A case needs a lead and one expectation; activities become a tuple."""
        case = Case(LEAD, iter(MQL), expect_stage="mql")
        assert case.activities == tuple(MQL)
        assert (case.expect_grade, case.at, case.name) == (None, None, None)
        assert Case(LEAD, expect_grade="B").activities == ()

    @pytest.mark.parametrize(
        ("arguments", "owner", "field"),
        [
            ({"lead": "L-1"}, "Case", "lead"),
            ({"activities": "page_view"}, "Case", "activities"),
            ({"activities": 5}, "Case", "activities"),
            ({"activities": [MQL[0], "x"]}, "Case", "activities[1]"),
            ({"activities": did("page_view", lead_id="L-2")}, "Case", "activities[0]"),
            ({"expect_stage": " "}, "Case", "expect_stage"),
            ({"expect_grade": 1}, "Case", "expect_grade"),
            ({"at": T0 + 2 * H, "activities": MQL}, "Case", "at"),
            ({"at": T0 - H}, "Case", "at"),
            ({"at": "tomorrow"}, "Case", "at"),
            ({"name": 5}, "Case", "name"),
            ({"name": "x", "lead": None}, "Case 'x'", "lead"),
            ({"expect_stage": None}, "Case", "expect_stage"),
        ],
    )
    def test_bad_cases(
        self, arguments: dict[str, object], owner: str, field: str
    ) -> None:
        """A bad case raises ValidationError naming the case and the field."""
        arguments = {"lead": LEAD, "expect_stage": "mql", **arguments}
        with pytest.raises(ValidationError) as info:
            Case(**arguments)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == (owner, field)

    def test_another_leads_activity_names_the_case(self) -> None:
        """An activity of another lead names the case and the lead expected."""
        with pytest.raises(ValidationError) as info:
            Case(LEAD, did("page_view", lead_id="L-2"), expect_stage="lead", name="x")
        assert str(info.value).startswith(
            "Case 'x'.activities[0]: expected an activity of the case's lead 'L-1'"
        )

    def test_naive_at(self) -> None:
        """A naive at is a NaiveDatetimeError."""
        with pytest.raises(NaiveDatetimeError):
            Case(LEAD, expect_stage="lead", at=datetime(2026, 3, 3))  # noqa: DTZ001


class TestCheckPolicy:
    def test_no_mismatch(self) -> None:
        """A table the policy agrees with gives an empty list."""
        cases = [
            Case(LEAD, expect_stage="lead", expect_grade="B"),
            Case(LEAD, MQL, expect_stage="mql", name="warm"),
            Case(LEAD, MQL, expect_stage="mql", at=T0 + 2 * 24 * H),
        ]
        assert check_policy(b2b_saas(), cases) == []

    def test_every_mismatch_in_case_order(self) -> None:
        """Every field of every case that differs is returned, in order."""
        cases = [
            Case(LEAD, MQL, expect_stage="sql", expect_grade="A", name="eager"),
            Case(LEAD, expect_stage="lead"),
            Case(LEAD, did(kinds.DEMO_REQUEST), expect_stage="mql"),
        ]
        mismatches = check_policy(b2b_saas(), cases)
        assert [(m.case, m.field, m.expected, m.found) for m in mismatches] == [
            ("eager", "stage", "sql", "mql"),
            ("eager", "grade", "A", "B"),
            (2, "stage", "mql", "sql"),
        ]

    def test_activities_in_time_order_and_time_moves_to_at(self) -> None:
        """Activities are fed in time order, and at lets the SLA clocks run."""
        case = Case(
            LEAD, reversed(MQL), expect_stage="sal", at=T0 + 3 * 24 * H, name="late"
        )
        (mismatch,) = check_policy(b2b_saas(), [case])
        assert (mismatch.found, mismatch.expected) == ("mql", "sal")
        assert "SLA mql_accepted breached, escalated to sales_manager" in str(mismatch)

    def test_activities_of_one_instant_in_the_order_given(self) -> None:
        """Ties in time are recorded as the case lists them, not by id."""
        at = T0 + H
        webinar = Activity(LEAD.id, "webinar_attended", at, id="a")
        pricing = Activity(LEAD.id, "pricing_page_view", at, id="z")
        for listed in ([pricing, webinar], [webinar, pricing]):
            (mismatch,) = check_policy(
                b2b_saas(), [Case(LEAD, listed, expect_stage="customer")]
            )
            timeline = [
                line.split("did ")[1]
                for line in mismatch.explanation.splitlines()
                if " did " in line
            ]
            assert timeline == [activity.kind for activity in listed]

    def test_the_explanation(self) -> None:
        """A mismatch explains itself like a failed scenario, and prints whole."""
        (mismatch,) = check_policy(
            b2b_saas(timezone="Europe/Berlin"), [Case(LEAD, MQL, expect_grade="A")]
        )
        assert mismatch.explanation.startswith(
            "lead 'L-1' in stage 'mql' at Mon 2026-03-02 14:00 CET, "
            "policy 'b2b-saas@1'\n\ntimeline:\n"
            "  Mon 2026-03-02 10:00 CET  lead added"
        )
        assert "\nscore:\n  Lead L-1, scored by 'b2b-default'" in mismatch.explanation
        assert "\nmoves out of 'mql':\n  to sql:\n" in mismatch.explanation
        text = str(mismatch)
        assert text.startswith("case 0: expected grade 'A', found 'B'\n  lead 'L-1'")
        assert "\n    Mon 2026-03-02 10:00 CET  lead added" in text
        assert "explanation" not in repr(mismatch)
        assert repr(mismatch).startswith("Mismatch(case=0, field='grade'")
        assert isinstance(mismatch, Mismatch)
        assert attrs.evolve(mismatch, case="x").case == "x"

    def test_bad_policy_or_items(self) -> None:
        """A policy that is not one, or a row that is not a Case, is named."""
        with pytest.raises(ValidationError) as info:
            check_policy("b2b", [])  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("check_policy", "policy")
        with pytest.raises(ValidationError) as info:
            check_policy(b2b_saas(), [Case(LEAD, expect_stage="lead"), LEAD])  # type: ignore[list-item]
        assert (info.value.owner, info.value.field) == ("check_policy", "cases[1]")
        for cases in (None, 5, "case"):
            with pytest.raises(ValidationError) as info:
                check_policy(b2b_saas(), cases)  # type: ignore[arg-type]
            assert (info.value.owner, info.value.field) == ("check_policy", "cases")

    @pytest.mark.parametrize(
        ("case", "owner", "field"),
        [
            (
                Case(LEAD, expect_stage="sq1", name="typo"),
                "check_policy cases[1] ('typo')",
                "expect_stage",
            ),
            (Case(LEAD, expect_grade="E"), "check_policy cases[1]", "expect_grade"),
        ],
    )
    def test_names_the_policy_lacks(self, case: Case, owner: str, field: str) -> None:
        """A stage or grade the policy lacks names the case, before any case runs."""
        runs: list[object] = []

        class Counting:
            def check(self, ctx: Context) -> Verdict:
                runs.append(ctx)
                return Verdict(passed=False, criterion="never", reason="no")

        policy = attrs.evolve(
            b2b_saas(),
            transitions=[
                *b2b_saas().transitions,
                Transition(
                    source="lead", target="nurture", guard=Counting(), auto=True
                ),
            ],
        )
        with pytest.raises(ValidationError) as info:
            check_policy(policy, [Case(LEAD, expect_stage="lead"), case])
        assert (info.value.owner, info.value.field) == (owner, field)
        assert not runs

    def test_a_failing_case_gets_a_note(self) -> None:
        """An error while running a case keeps its type and gains a note naming it."""

        class Exploding:
            def check(self, ctx: Context) -> Verdict:
                raise ValidationError(field="ctx", value=ctx.lead.id, expected="calm")

        policy = attrs.evolve(
            tiny(),
            transitions=[
                Transition(source="lead", target="hot", guard=Exploding(), auto=True)
            ],
        )
        with pytest.raises(FunnelkitError) as info:
            check_policy(policy, [Case(LEAD, expect_stage="hot", name="boom")])
        assert info.value.__notes__ == ["in check_policy case 'boom'"]


class TestDatesInCases:
    def test_an_activity_before_the_lead_counts(self) -> None:
        """An activity older than the lead counts, judged at the lead's creation."""
        done = [
            kinds.WEBINAR_ATTENDED,
            kinds.PRICING_PAGE_VIEW,
            *[kinds.CONTENT_DOWNLOAD] * 3,
        ]
        early = [
            Activity("L-1", kind, T0 - 24 * H, id=f"early-{n}")
            for n, kind in enumerate(done)
        ]
        assert check_policy(b2b_saas(), [Case(LEAD, early, expect_stage="mql")]) == []
        (without,) = check_policy(b2b_saas(), [Case(LEAD, [], expect_stage="mql")])
        assert without.found == "lead"
        (judged,) = check_policy(b2b_saas(), [Case(LEAD, early, expect_stage="sql")])
        assert judged.explanation.startswith(
            "lead 'L-1' in stage 'mql' at Mon 2026-03-02 09:00 UTC"
        )
