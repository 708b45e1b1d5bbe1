"""Criteria: verdicts, reasons, combinators, and when verdicts can change."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    ActivityRule,
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    AttributeIs,
    AttributeRule,
    Bant,
    BantQualified,
    Context,
    Criterion,
    CriterionLike,
    DidActivity,
    Funnel,
    FunnelPolicy,
    GradeAtLeast,
    Grades,
    HalfLife,
    InStageFor,
    Lead,
    NaiveDatetimeError,
    Not,
    PolicyError,
    ScoreAtLeast,
    ScoringModel,
    Stage,
    Transition,
    TransitionRecord,
    ValidationError,
    ValueTest,
    Verdict,
    between,
    dump_policy,
    format_duration,
    load_policy,
)
from funnelkit._criteria import judge, passer, passes, sure_to_fail, timed, wake_at
from funnelkit._rules import attribute_name, lead_value, value_getter
from funnelkit._scoring import _RuleState
from funnelkit.serialization import from_json, to_json
from funnelkit.testing import ManualClock

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
D = timedelta(days=1)
H = timedelta(hours=1)
MODEL = ScoringModel(
    "m",
    [ActivityRule("webinar", 30), ActivityRule("download", 5)],
    limits={"engagement": (0, 100)},
)


def context(  # noqa: PLR0913 -- the parts of a context, each with a default
    *,
    lead: Lead | None = None,
    activities: tuple[Activity, ...] = (),
    now: datetime = T0 + D,
    stage: str = "lead",
    entered_at: datetime = T0,
    model: ScoringModel = MODEL,
) -> Context:
    """A context for a lead of industry 'software', scored by *model* at *now*."""
    lead = lead or Lead("L", T0, attributes={"industry": "software", "employees": 80})
    return Context(
        lead=lead,
        stage=stage,
        entered_at=entered_at,
        score=model.score(lead, activities, at=now),
        activities=activities,
        now=now,
    )


def activity(kind: str, at: datetime, n: int = 1) -> Activity:
    """An activity of lead L with an explicit id."""
    return Activity("L", kind, at, id=f"{kind}-{n}")


class Fixed(Criterion):
    """A criterion that returns a fixed answer, for the algebra."""

    def __init__(self, passed: bool, name: str = "fixed") -> None:
        self.passed = passed
        self.name = name

    def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- fixed
        """Return the fixed answer."""
        return Verdict(passed=self.passed, criterion=self.name, reason=self.name)


class Waker(Criterion):
    """A criterion that fails and names a fixed wake, however stale."""

    def __init__(self, wake: datetime) -> None:
        self.wake = wake

    def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- fixed
        """Fail."""
        return Verdict(passed=False, criterion="waker", reason="not yet")

    def wake_at(self, ctx: Context) -> datetime:  # noqa: ARG002 -- fixed
        """The fixed wake."""
        return self.wake


class NotOnCustomerList:
    """A criterion written from scratch, without the base class."""

    def __init__(self, customers: set[str]) -> None:
        self.customers = customers

    def check(self, ctx: Context) -> Verdict:
        """Fail for a domain already on the customer list."""
        domain = (ctx.lead.email or "@").rpartition("@")[2]
        known = domain in self.customers
        return Verdict(
            passed=not known,
            criterion="company is not a customer yet",
            reason=f"{domain} is {'a' if known else 'not a'} customer",
        )


class TestBuiltIns:
    def test_score_at_least(self) -> None:
        """ScoreAtLeast compares a dimension and words it for a rep."""
        ctx = context(activities=(activity("webinar", T0),))
        verdict = ScoreAtLeast(50, "engagement").check(ctx)
        assert not verdict
        assert verdict.reason == "engagement score 30 is below 50"
        assert verdict.criterion == "engagement score at least 50"
        assert ScoreAtLeast(30, "engagement").check(ctx).reason == (
            "engagement score 30 is at least 30"
        )
        assert ScoreAtLeast(30).check(ctx).passed  # total 30 + fit 0

    def test_grade_at_least(self) -> None:
        """GradeAtLeast reads the fit grade in the order of the bands."""
        fit = ScoringModel("fit", [ActivityRule("x", 1)])
        ctx = context(model=fit)  # fit 0: grade D
        verdict = GradeAtLeast("B").check(ctx)
        assert (verdict.passed, verdict.reason) == (False, "fit grade D is below B")
        assert GradeAtLeast("D").check(ctx).reason == "fit grade D is D or better"
        custom = GradeAtLeast("Gold", grades=Grades(fit={"Gold": 50, "Tin": None}))
        assert custom.check(ctx).reason == "fit grade D is not one of Gold, Tin"
        assert not passes(custom, ctx)
        assert passes(GradeAtLeast("D", grades=Grades()), ctx)

    def test_grade_at_least_ranks_in_the_models_grades(self) -> None:
        """GradeAtLeast ranks letters in the Grades of the scorer's model."""
        grades = Grades(fit={"A+": 80, "A": 60, "B": None})
        model = ScoringModel("m", [AttributeRule("industry", "software", 90)])
        model = attrs.evolve(model, grades=grades)
        lead = Lead("L", T0, attributes={"industry": "software"})
        ctx = Context(
            lead=lead,
            stage="lead",
            entered_at=T0,
            now=T0,
            score=model.score(lead, (), at=T0),
            scorer=model.scorer(lead),
        )
        for letter, passed in [("A+", True), ("A", True), ("B", True)]:
            guard = GradeAtLeast(letter)
            assert (guard.check(ctx).passed, passes(guard, ctx)) == (passed, passed)
        assert GradeAtLeast("A").check(ctx).reason == "fit grade A+ is A or better"
        low = attrs.evolve(ctx, lead=attrs.evolve(lead, attributes={}))
        low = attrs.evolve(low, score=model.score(low.lead, (), at=T0))
        assert GradeAtLeast("A+").check(low).reason == "fit grade B is below A+"
        assert not passes(GradeAtLeast("A+"), low)

    def test_grade_at_least_without_a_model_ranks_in_the_default_grades(self) -> None:
        """A context without a scorer ranks GradeAtLeast in the default Grades."""
        ctx = context()  # fit 0: grade D, no scorer
        assert GradeAtLeast("D").check(ctx).passed
        verdict = GradeAtLeast("A+").check(ctx)
        assert (verdict.passed, passes(GradeAtLeast("A+"), ctx)) == (False, False)
        assert verdict.reason == "A+ is not one of the fit grades A, B, C, D"

    def test_did_activity_counts_in_the_window(self) -> None:
        """DidActivity counts kinds, in a window whose edge is included."""
        acts = (
            activity("demo_request", T0, 1),
            activity("quote_request", T0 + D, 2),
            activity("page_view", T0 + D, 3),
        )
        ctx = context(activities=acts, now=T0 + 30 * D)
        hand = DidActivity({"demo_request", "quote_request"}, within=30 * D, count=2)
        verdict = hand.check(ctx)
        assert verdict.passed
        assert verdict.reason == (
            "demo_request or quote_request 2 times in the last 30 days, 2 needed"
        )
        assert hand.describe() == (
            "demo_request or quote_request at least 2 times in the last 30 days"
        )
        later = context(activities=acts, now=T0 + 30 * D + timedelta(microseconds=1))
        assert not hand.check(later)
        assert DidActivity("demo_request").check(later).reason == (
            "demo_request 1 time, 1 needed"
        )
        assert DidActivity("demo_request").describe() == "demo_request at least once"

    def test_did_activity_wakes_when_the_window_lets_go(self) -> None:
        """wake_at is the first instant the needed activities no longer count."""
        acts = (activity("demo_request", T0, 1), activity("demo_request", T0 + D, 2))
        ctx = context(activities=acts, now=T0 + 2 * D)
        one = DidActivity("demo_request", within=7 * D)
        two = DidActivity("demo_request", within=7 * D, count=2)
        tick = timedelta(microseconds=1)
        assert one.wake_at(ctx) == T0 + 8 * D + tick
        assert two.wake_at(ctx) == T0 + 7 * D + tick
        assert DidActivity("demo_request", within=7 * D, count=3).wake_at(ctx) is None
        assert DidActivity("demo_request").wake_at(ctx) is None
        assert not two.check(context(activities=acts, now=two.wake_at(ctx) or T0))

    def test_did_activity_counts_both_ends_of_its_window(self) -> None:
        """What a lead did at the window's edge and at the decision's instant counts."""
        now = T0 + 30 * D
        tick = timedelta(microseconds=1)
        acts = (activity("demo", T0, 1), activity("demo", now, 2))
        two = DidActivity("demo", within=30 * D, count=2)
        for ctx, passed in (
            (context(activities=acts, now=now), True),
            (context(activities=acts, now=now + tick), False),
        ):
            assert (two.check(ctx).passed, two.passes(ctx)) == (passed, passed)
        ever = DidActivity("demo", count=2)
        ctx = context(activities=acts, now=now)
        assert (ever.check(ctx).passed, ever.passes(ctx)) == (True, True)
        early = context(activities=acts, now=now - tick)
        assert (ever.check(early).passed, ever.passes(early)) == (False, False)

    def test_in_stage_counts_what_came_at_the_instant_of_entry(self) -> None:
        """DidActivity(in_stage=True) counts what came at the entry, not just before."""
        lead = Lead("L", T0 - D)
        tick = timedelta(microseconds=1)
        since = DidActivity("demo", in_stage=True)
        for at, passed in ((T0, True), (T0 - tick, False)):
            ctx = context(lead=lead, activities=(activity("demo", at),), entered_at=T0)
            assert (since.check(ctx).passed, since.passes(ctx)) == (passed, passed)

    @pytest.mark.parametrize(
        ("now", "within"),
        [
            (T0, timedelta.max),  # "ever", as a rule's within may say
            (T0, 1_000_000 * D),  # back past the year 1
            (datetime(1, 1, 10, tzinfo=UTC), 30 * D),
        ],
    )
    def test_a_window_reaching_back_past_the_year_1(
        self, now: datetime, within: timedelta
    ) -> None:
        """A window longer than the time since the year 1 keeps all: no overflow."""
        acts = (activity("demo_request", now - timedelta(hours=1)),)
        lead = Lead("L", now - D)
        ctx = context(lead=lead, activities=acts, now=now, entered_at=now - D)
        window = DidActivity("demo_request", within=within)
        assert window.check(ctx).passed
        assert window.passes(ctx)
        tick = timedelta(microseconds=1)
        lets_go = None if within == timedelta.max else acts[0].at + within + tick
        assert window.wake_at(ctx) == lets_go
        scored = ScoringModel("m", [ActivityRule("demo_request", 5, within=within)])
        assert scored.score(lead, acts, at=now).total == 5

    def test_attribute_is(self) -> None:
        """AttributeIs reads a lead value and tests it, as an AttributeRule does."""
        ctx = context()
        assert AttributeIs("industry", ["software", "saas"]).check(ctx).passed
        verdict = AttributeIs("employees", between(200, 5000)).check(ctx)
        assert verdict.reason == "employees is 80, below 200"
        assert AttributeIs("industry", "saas").describe() == "industry equals 'saas'"

    @given(
        st.lists(st.sampled_from([0, 0.0, -0.0, False, 1, 1.0, True, "0"]), min_size=1)
    )
    def test_attribute_is_says_each_value_as_given(self, values: list[object]) -> None:
        """A reason names the lead's own value, whatever was checked before."""
        seasoned = AttributeIs("x", between(-1, 1))
        for value in values:
            lead = Lead("L", T0, attributes={"x": value})  # type: ignore[dict-item]
            fresh = AttributeIs("x", between(-1, 1))
            assert seasoned.check(context(lead=lead)) == fresh.check(context(lead=lead))
            assert repr(value) in seasoned.check(context(lead=lead)).reason

    def test_bant_qualified(self) -> None:
        """BantQualified counts confirmed answers and a timeline in the window."""
        bant = Bant(budget=True, authority=False, need=True, timeline=date(2026, 4, 1))
        lead = Lead("L", T0, bant=bant)
        three = BantQualified(3, timeline_within=90 * D)
        verdict = three.check(context(lead=lead))
        assert verdict.passed
        assert verdict.reason == (
            "BANT 3 of 4 met, 3 needed: budget confirmed, authority denied, "
            "need confirmed, timeline 2026-04-01"
        )
        near = BantQualified(3, timeline_within=7 * D)
        assert near.check(context(lead=lead)).reason.endswith(
            "timeline 2026-04-01 is beyond 7 days"
        )
        late = context(lead=lead, now=datetime(2026, 4, 2, tzinfo=UTC))
        assert three.check(late).reason.endswith("timeline 2026-04-01 has passed")
        unknown = Lead("L", T0, bant=Bant(budget=True))
        assert BantQualified(1).check(context(lead=unknown)).reason == (
            "BANT 1 of 4 met, 1 needed: budget confirmed, authority unknown, "
            "need unknown, timeline unknown"
        )

    def test_bant_wakes_when_the_timeline_moves(self) -> None:
        """wake_at is when the timeline enters the window, or passes."""
        lead = Lead("L", T0, bant=Bant(timeline=date(2026, 4, 1)))
        ctx = context(lead=lead)
        enters = datetime(2026, 4, 1, tzinfo=UTC) - 7 * D
        assert BantQualified(1, timeline_within=7 * D).wake_at(ctx) == enters
        passes = datetime(2026, 4, 2, tzinfo=UTC)
        assert BantQualified(1).wake_at(ctx) == passes
        after = context(lead=lead, now=passes)
        assert BantQualified(1).wake_at(after) is None
        assert BantQualified(1).wake_at(context()) is None

    def test_bant_judges_dates_in_its_zone(self) -> None:
        """The purchase day ends at midnight in the criterion's zone, not now's."""
        lead = Lead("L", T0, bant=Bant(timeline=date(2026, 4, 1)))
        evening = datetime(2026, 4, 1, 20, tzinfo=UTC)  # 2 April 05:00 in Tokyo
        for now in (evening, evening.astimezone(ZoneInfo("Asia/Tokyo"))):
            ctx = context(lead=lead, now=now)
            assert BantQualified(1).check(ctx).passed
            assert BantQualified(1).wake_at(ctx) == datetime(2026, 4, 2, tzinfo=UTC)
            assert BantQualified(1).wake_at(ctx).tzinfo is now.tzinfo  # type: ignore[union-attr] # a wake here
            tokyo = BantQualified(1, timezone="Asia/Tokyo")
            assert tokyo.check(ctx).reason.endswith("timeline 2026-04-01 has passed")
            assert not tokyo.passes(ctx)
            assert tokyo.wake_at(ctx) is None
        early = context(lead=lead, now=datetime(2026, 3, 31, 12, tzinfo=UTC))
        tokyo = BantQualified(1, timezone="Asia/Tokyo")
        assert tokyo.wake_at(early) == datetime(2026, 4, 1, 15, tzinfo=UTC)
        window = BantQualified(1, timeline_within=D, timezone="America/New_York")
        assert window.wake_at(early) == datetime(2026, 4, 2, 4, tzinfo=UTC)
        earlier = context(lead=lead, now=datetime(2026, 3, 30, 12, tzinfo=UTC))
        assert window.wake_at(earlier) == datetime(2026, 3, 31, 4, tzinfo=UTC)
        assert window.describe() == (
            "BANT: at least 1 of budget, authority, need, "
            "timeline within 1 day (dates in America/New_York)"
        )

    @given(
        now=st.datetimes(
            min_value=datetime(2026, 1, 1),  # noqa: DTZ001 -- a bound; made aware below
            max_value=datetime(2026, 12, 31),  # noqa: DTZ001 -- ditto
        ),
        days=st.integers(1, 6),
        nudge=st.integers(-2_000_000, 2_000_000),
        zone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
    )
    def test_bant_s_window_reaches_the_day_at_its_midnight(
        self, now: datetime, days: int, nudge: int, zone: str
    ) -> None:
        """A timeline is in the window once now plus it reaches its local midnight."""
        local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
        timeline = local.date() + timedelta(days=days)
        midnight = datetime.combine(timeline, datetime.min.time())
        within = midnight - local.replace(tzinfo=None) + timedelta(microseconds=nudge)
        assume(within > timedelta(0))
        lead = Lead("L", T0, bant=Bant(timeline=timeline))
        ctx = context(lead=lead, now=local)
        bant = BantQualified(1, timeline_within=within, timezone=zone)
        assert bant.check(ctx).passed is bant.passes(ctx) is (nudge >= 0)

    def test_bant_dates_at_the_ends_of_the_calendar(self) -> None:
        """A CRM's 9999-12-31 or 0001-01-01 timeline is judged, never an overflow."""
        forever = Lead("L", T0, bant=Bant(timeline=date.max))
        ctx = context(lead=forever)
        assert BantQualified(1).check(ctx).passed
        assert BantQualified(1).wake_at(ctx) is None  # the day never ends
        quarter = BantQualified(1, timeline_within=90 * D)
        assert not quarter.check(ctx).passed
        assert quarter.wake_at(ctx) == datetime(9999, 10, 2, tzinfo=UTC)
        late = context(lead=forever, now=datetime(9999, 6, 1, tzinfo=UTC))
        assert BantQualified(1, timeline_within=366 * D).check(late).passed
        first = Lead("L", T0, bant=Bant(timeline=date.min))
        assert quarter.check(context(lead=first)).reason.endswith("has passed")
        assert quarter.wake_at(context(lead=first)) is None

    @pytest.mark.parametrize(
        ("now", "zone", "within", "passed"),
        [
            # 1 January 10000 in Kiritimati: 31 December 9999 has passed.
            (datetime(9999, 12, 31, 20, tzinfo=UTC), "Pacific/Kiritimati", None, False),
            # 31 December of the year 0, 20:03:58 in New York (its local mean time).
            (datetime(1, 1, 1, 1, tzinfo=UTC), "America/New_York", 4 * H, True),
            (datetime(1, 1, 1, 1, tzinfo=UTC), "America/New_York", H, False),
        ],
    )
    def test_bant_today_beyond_the_calendar_s_ends(
        self, now: datetime, zone: str, within: timedelta | None, passed: bool
    ) -> None:
        """An instant whose local date is the year 0 or 10000 is judged by that date."""
        lead = Lead("L", T0, bant=Bant(timeline=date.max if now.year > 1 else date.min))
        bant = BantQualified(1, timeline_within=within, timezone=zone)
        assert bant.passes(context(lead=lead, now=now)) is passed

    def test_a_bant_wake_past_the_year_9999_on_now_s_clock_is_none(self) -> None:
        """The end of 30 December 9999 in Samoa is 10000 at +14: no wake."""
        lead = Lead("L", T0, bant=Bant(timeline=date(9999, 12, 30)))
        now = datetime(9999, 12, 30, tzinfo=timezone(timedelta(hours=14)))
        samoa = BantQualified(1, timezone="Pacific/Pago_Pago")
        assert samoa.check(context(lead=lead, now=now)).passed
        assert samoa.wake_at(context(lead=lead, now=now)) is None

    def test_in_stage_for(self) -> None:
        """InStageFor passes after the minimum, and wakes when it is reached."""
        wait = InStageFor(2 * D)
        ctx = context(now=T0 + D, stage="mql")
        verdict = wait.check(ctx)
        assert (verdict.passed, verdict.reason) == (
            False,
            "in mql for 1 day, less than 2 days",
        )
        assert wait.wake_at(ctx) == T0 + 2 * D
        done = context(now=T0 + 2 * D, stage="mql")
        assert wait.check(done).passed
        assert wait.wake_at(done) is None
        assert wait.describe() == "in stage for at least 2 days"
        brief = InStageFor(timedelta(hours=6)).check(context(now=T0 - D))
        assert brief.reason == "in lead for 0 seconds, less than 6 hours"

    def test_in_stage_for_words_follow_a_changed_copy(self) -> None:
        """A copy with another minimum describes and judges with its own."""
        wait = attrs.evolve(InStageFor(2 * D), at_least=timedelta(hours=3))
        assert wait == InStageFor(timedelta(hours=3))
        assert wait.describe() == "in stage for at least 3 hours"
        verdict = wait.check(context(now=T0 + D))
        assert (verdict.criterion, verdict.reason) == (
            "in stage for at least 3 hours",
            "in lead for 1 day, at least 3 hours",
        )

    @given(st.integers(min_value=-3 * 86_400_000_000, max_value=3_000 * 86_400_000_000))
    def test_in_stage_for_words_whole_seconds(self, micros: int) -> None:
        """InStageFor words the time in stage in whole seconds, never below 0."""
        whole = timedelta(seconds=max(0, micros // 1_000_000))
        if whole and not whole % D:
            shown = f"{whole.days} day" + ("s" if whole.days > 1 else "")
        else:
            shown = format_duration(whole)
        now = T0 + timedelta(microseconds=micros)
        reason = InStageFor(D).check(context(now=now)).reason
        assert reason.startswith(f"in lead for {shown}, ")

    @given(
        st.integers(min_value=1, max_value=10_000_000),
        st.integers(min_value=-2_000_000, max_value=20_000_000),
    )
    def test_in_stage_for_a_fraction_of_a_second_words_it(
        self, minimum: int, micros: int
    ) -> None:
        """A minimum with a fraction of a second is compared with the exact time."""
        wait = InStageFor(timedelta(microseconds=minimum))
        ctx = context(now=T0 + timedelta(microseconds=micros))
        verdict = wait.check(ctx)
        spent = timedelta(microseconds=max(0, micros))
        shown = format_duration(spent)
        relation = "at least" if verdict.passed else "less than"
        if minimum % 1_000_000:
            expected = (
                f"in lead for {shown}, {relation} {format_duration(wait.at_least)}"
            )
            assert verdict.reason == expected
        assert verdict.passed is (micros >= minimum)
        late = InStageFor(timedelta(seconds=1.2)).check(
            context(now=T0 + timedelta(seconds=1.5))
        )
        assert late.reason == "in lead for 1.5 seconds, at least 1.2 seconds"

    def test_score_at_least_words_its_threshold_in_full(self) -> None:
        """ScoreAtLeast writes its threshold with every digit, and no exponent."""
        ctx = context(activities=(activity("webinar", T0),))  # engagement 30
        near = ScoreAtLeast(30.0000004, "engagement")
        verdict = near.check(ctx)
        assert (verdict.passed, verdict.reason) == (
            False,
            "engagement score 30 is below 30.0000004",
        )
        assert near.describe() == "engagement score at least 30.0000004"
        assert near == ScoreAtLeast(30.0000004, "engagement")
        big = ScoreAtLeast(1e9)
        assert big.describe() == "total score at least 1000000000"
        assert big.check(ctx).reason == "total score 30 is below 1000000000"

    def test_always(self) -> None:
        """Always passes and needs no input."""
        verdict = Always().check(context())
        assert (verdict.passed, verdict.reason) == (True, "nothing is required")
        assert Always().wake_at(context()) is None


class TestCombinators:
    def test_all_of_names_every_failure(self) -> None:
        """AllOf checks everything and its reason lists every failure."""
        ctx = context()
        guard = ScoreAtLeast(50, "engagement") & GradeAtLeast("B") & Always()
        assert isinstance(guard, AllOf)
        assert len(guard.criteria) == 3  # flattened
        verdict = guard.check(ctx)
        assert not verdict
        assert (
            verdict.reason == "engagement score 0 is below 50; fit grade D is below B"
        )
        assert [v.criterion for v in verdict.failures()] == [
            "engagement score at least 50",
            "fit grade B or better",
        ]
        assert verdict.explain().splitlines()[1] == (
            "  failed: engagement score at least 50: engagement score 0 is below 50"
        )

    def test_any_of_and_at_least(self) -> None:
        """AnyOf passes on one; AtLeast counts."""
        ctx = context()
        either = GradeAtLeast("A") | Always()
        assert isinstance(either, AnyOf)
        assert either.check(ctx).reason == "nothing is required"
        assert not AnyOf(Fixed(False, "a"), Fixed(False, "b")).check(ctx)
        two = AtLeast(2, Fixed(True, "a"), Fixed(False, "b"), Fixed(True, "c"))
        verdict = two.check(ctx)
        assert verdict.passed
        assert verdict.reason == "2 of 3 passed, 2 needed: a; b; c"

    def test_empty_combinators(self) -> None:
        """AllOf of nothing passes; AnyOf of nothing fails; AtLeast(0) passes."""
        ctx = context()
        assert AllOf().check(ctx).passed
        assert not AnyOf().check(ctx).passed
        assert AtLeast(0).check(ctx).passed
        assert (AllOf().describe(), AnyOf().describe()) == (
            "all of nothing",
            "any of nothing",
        )

    def test_not(self) -> None:
        """Not inverts, keeps its child, and ~~c is c."""
        ctx = context()
        passed = Not(Always()).check(ctx)
        assert (passed.passed, passed.reason) == (False, "not so: nothing is required")
        failed = (~GradeAtLeast("A")).check(ctx)
        assert (failed.passed, failed.reason) == (True, "fit grade D is below A")
        assert ~~GradeAtLeast("A") == GradeAtLeast("A")
        plain = NotOnCustomerList({"acme.example"})
        assert isinstance(~Not(plain), Not)

    def test_custom_criterion_from_scratch(self) -> None:
        """A plain class with check() combines with the built-ins."""
        plain = NotOnCustomerList({"acme.example"})
        assert isinstance(plain, CriterionLike)
        lead = Lead("L", T0, email="ana@acme.example")
        guard = Always() & plain
        verdict = guard.check(context(lead=lead))
        assert verdict.reason == "acme.example is a customer"
        assert guard.describe() == "all of: always; NotOnCustomerList"
        assert (plain | Always()).check(context(lead=lead)).passed  # __ror__
        assert isinstance(plain & Always(), AllOf)  # __rand__

    def test_wake_at_is_the_earliest_child_that_can_decide(self) -> None:
        """A combinator wakes when a child agreeing with its verdict can change."""
        ctx = context(now=T0 + D)
        # The AnyOf passes and could fail at day 5; the AllOf fails, and only
        # its failing child (day 3) can make it pass.
        guard = InStageFor(3 * D) & (InStageFor(2 * D) | Not(InStageFor(5 * D)))
        assert guard.wake_at(ctx) == T0 + 3 * D
        assert (InStageFor(2 * D) | Not(InStageFor(5 * D))).wake_at(ctx) == T0 + 5 * D
        assert AtLeast(1, InStageFor(2 * D), InStageFor(4 * D)).wake_at(ctx) == (
            T0 + 2 * D
        )
        assert Not(InStageFor(5 * D)).wake_at(ctx) == T0 + 5 * D
        assert AllOf(NotOnCustomerList(set())).wake_at(ctx) is None
        assert AllOf().wake_at(ctx) is None

    def test_a_child_s_wake_not_later_than_now_hides_no_other(self) -> None:
        """A combinator passes over a child's wake at or before now, like the engine."""
        ctx = context(now=T0 + D)
        for stale in (T0 + D, T0):
            child = Waker(stale)
            assert (child & InStageFor(3 * D)).wake_at(ctx) == T0 + 3 * D
            assert (child | InStageFor(3 * D)).wake_at(ctx) == T0 + 3 * D
            assert AtLeast(1, child, InStageFor(3 * D)).wake_at(ctx) == T0 + 3 * D
            assert AllOf(child).wake_at(ctx) is None
        assert (Waker(T0 + 2 * D) & InStageFor(3 * D)).wake_at(ctx) == T0 + 2 * D

    @given(flags=st.lists(st.booleans(), max_size=5), hours=st.integers(0, 100))
    def test_no_verdict_changes_before_the_wake(
        self, flags: list[bool], hours: int
    ) -> None:
        """Between now and a combinator's wake, its verdict holds."""
        parts: list[CriterionLike] = [
            InStageFor((n + 1) * 20 * timedelta(hours=1))
            if flag
            else Not(InStageFor((n + 1) * 30 * timedelta(hours=1)))
            for n, flag in enumerate(flags)
        ]
        now = T0 + timedelta(hours=hours)
        two = AtLeast(min(2, len(parts)), *parts)
        for guard in (AllOf(*parts), AnyOf(*parts), two):
            ctx = context(now=now)
            wake = guard.wake_at(ctx)
            before = guard.check(ctx).passed
            end = wake if wake is not None else now + 400 * timedelta(hours=1)
            moment = now
            while moment < end:
                assert guard.check(context(now=moment)).passed == before
                moment += timedelta(hours=1)

    @given(a=st.booleans(), b=st.booleans())
    def test_de_morgan(self, a: bool, b: bool) -> None:
        """~(a & b) == ~a | ~b and ~(a | b) == ~a & ~b, as verdicts."""
        ctx = CTX
        x, y = Fixed(a), Fixed(b)
        assert (~(x & y)).check(ctx).passed == (~x | ~y).check(ctx).passed
        assert (~(x | y)).check(ctx).passed == (~x & ~y).check(ctx).passed

    @given(flags=st.lists(st.booleans(), max_size=6), n=st.integers(0, 6))
    def test_counting_laws(self, flags: list[bool], n: int) -> None:
        """AllOf is AtLeast(len), AnyOf is AtLeast(1), ~~c is c."""
        ctx = CTX
        items = [Fixed(flag) for flag in flags]
        n = min(n, len(flags))
        assert AllOf(*items).check(ctx).passed == all(flags)
        assert AnyOf(*items).check(ctx).passed == any(flags)
        assert AtLeast(n, *items).check(ctx).passed == (sum(flags) >= n)
        for item in items:
            assert (~~item).check(ctx).passed == item.passed


CTX = context()


class TestValues:
    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (lambda: ScoreAtLeast(float("nan")), "points"),
            (lambda: ScoreAtLeast(10**400), "points"),  # beyond a float
            (lambda: ScoreAtLeast(5, ""), "dimension"),
            (lambda: GradeAtLeast("Z", grades=Grades()), "letter"),
            (lambda: GradeAtLeast(" "), "letter"),
            (lambda: GradeAtLeast(1), "letter"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: GradeAtLeast("A", grades={"A": 1}), "grades"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: DidActivity(""), "kinds"),
            (lambda: DidActivity(5), "kinds"),
            (lambda: DidActivity("x", within=timedelta(0)), "within"),
            (lambda: DidActivity("x", count=0), "count"),
            (lambda: AttributeIs("industry", object()), "test"),
            (lambda: AttributeIs("bant.budgett", True), "attribute"),
            (lambda: AttributeIs("", True), "attribute"),
            (lambda: BantQualified(5), "min_met"),
            (lambda: BantQualified(timeline_within=-D), "timeline_within"),
            (lambda: BantQualified(timezone="Mars/Base"), "timezone"),
            (lambda: BantQualified(timezone=""), "timezone"),
            (lambda: BantQualified(timezone="America"), "timezone"),  # a folder
            (lambda: InStageFor(None), "at_least"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: AtLeast(-1), "n"),
            (lambda: AtLeast(3, Always()), "n"),
            (lambda: AtLeast(1), "n"),
            (lambda: AllOf(Always(), "x"), "criteria[1]"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: Not("x"), "criterion"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: Always() & "x", "criteria"),  # type: ignore[operator] # a wrong type on purpose
        ],
    )
    def test_bad_arguments_name_the_field(self, make: object, field: str) -> None:
        """A bad criterion argument raises a PolicyError naming the field."""
        with pytest.raises(PolicyError) as info:
            make()  # type: ignore[operator]
        assert info.value.field == field

    @pytest.mark.parametrize(
        "criterion",
        [
            Always(),
            ScoreAtLeast(50),
            GradeAtLeast("B"),
            DidActivity("demo_request", within=D),
            AttributeIs("industry", "software"),
            BantQualified(),
            InStageFor(D),
            AllOf(Always()),
            AnyOf(Always()),
            AtLeast(1, Always()),
            Not(Always()),
        ],
        ids=lambda criterion: type(criterion).__name__,
    )
    @pytest.mark.parametrize("method", ["check", "passes", "wake_at"])
    @pytest.mark.parametrize("ctx", [CTX.lead, None, {"now": T0}])
    def test_what_is_no_context_is_named(
        self, criterion: Criterion, method: str, ctx: object
    ) -> None:
        """Each built-in method given no Context (a Lead, say): a ValidationError."""
        with pytest.raises(ValidationError) as info:
            getattr(criterion, method)(ctx)
        found = (info.value.owner, info.value.field, info.value.value)
        assert found == (f"{type(criterion).__name__}.{method}", "ctx", ctx)

    @pytest.mark.parametrize("method", ["passes", "wake_at"])
    def test_the_base_class_methods_name_what_is_no_context(self, method: str) -> None:
        """Criterion's own passes and wake_at refuse no Context for a subclass too."""
        with pytest.raises(ValidationError) as info:
            getattr(Fixed(passed=True), method)(CTX.lead)
        assert (info.value.owner, info.value.field) == (f"Fixed.{method}", "ctx")

    def test_a_subclass_of_context_is_a_context(self) -> None:
        """A host's subclass of Context is taken where a Context is."""

        @attrs.frozen
        class Traced(Context):
            """A context that also carries a trace id."""

            trace: str = "t-1"

        ctx = Traced(**attrs.asdict(CTX, recurse=False))
        assert Always().check(ctx).passed
        assert AllOf(Always(), ScoreAtLeast(0)).passes(ctx)
        assert InStageFor(2 * D).wake_at(ctx) == CTX.entered_at + 2 * D

    @pytest.mark.parametrize("path", ["bant.budgett", "bant", "email.dommain", " ", 3])
    def test_attribute_is_takes_the_paths_attribute_rule_takes(self, path: str) -> None:
        """AttributeIs refuses a path AttributeRule refuses, expecting the same."""
        with pytest.raises(PolicyError) as rule:
            AttributeRule(path, True, 5)
        with pytest.raises(PolicyError) as criterion:
            AttributeIs(path, True)
        found = (criterion.value.field, criterion.value.value)
        assert found == ("attribute", path)
        assert criterion.value.expected == rule.value.expected

    def test_a_policy_file_with_a_misspelt_path_is_refused(self) -> None:
        """load_policy refuses an AttributeIs path no lead value has."""
        policy = FunnelPolicy(
            name="p",
            version=1,
            stages=[Stage("lead"), Stage("mql")],
            transitions=[
                Transition(
                    source="lead", target="mql", guard=AttributeIs("bant.budget", True)
                )
            ],
            initial="lead",
            scoring=MODEL,
        )
        text = dump_policy(policy).replace("bant.budget", "bant.budgett")
        assert "bant.budgett" in text
        with pytest.raises(PolicyError, match=r"bant\.budgett"):
            load_policy(text)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"passed": "yes"}, "passed"),
            ({"criterion": ""}, "criterion"),
            ({"reason": 3}, "reason"),
            ({"children": ["x", 3]}, "children"),
            ({"children": 3}, "children"),
            ({"children": "ab"}, "children"),
        ],
    )
    def test_a_bad_verdict_names_the_field(
        self, fields: dict[str, object], field: str
    ) -> None:
        """A verdict made by hand with a bad part raises a ValidationError naming it."""
        parts: dict[str, object] = {"passed": True, "criterion": "c", "reason": "r"}
        with pytest.raises(ValidationError) as info:
            Verdict(**{**parts, **fields})  # type: ignore[arg-type]
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"lead": "L"}, "lead"),
            ({"score": None}, "score"),
            ({"activities": (5,)}, "activities"),
            ({"activities": 5}, "activities"),
            ({"activities": "ab"}, "activities"),
            ({"history": ("x",)}, "history"),
            ({"history": 5}, "history"),
        ],
    )
    def test_a_bad_context_names_the_field(
        self, fields: dict[str, object], field: str
    ) -> None:
        """A context made by hand with a bad part raises a ValidationError naming it."""
        good = context()
        parts = {name: getattr(good, name) for name in attrs.fields_dict(Context)}
        with pytest.raises(ValidationError) as info:
            Context(**{**parts, **fields})
        assert (info.value.owner, info.value.field) == ("Context", field)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [({"override": 1}, "override"), ({"verdict": "x"}, "verdict")],
    )
    def test_a_bad_record_names_the_field(
        self, fields: dict[str, object], field: str
    ) -> None:
        """A transition record with a bad part raises a ValidationError naming it."""
        parts: dict[str, object] = {"source": None, "target": "t", "at": T0, "by": "x"}
        with pytest.raises(ValidationError) as info:
            TransitionRecord(**{**parts, **fields})  # type: ignore[arg-type]
        assert info.value.field == field

    def test_a_check_that_gives_no_verdict(self) -> None:
        """A custom check returning a bool raises a PolicyError naming the criterion."""

        class Yes(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- as the protocol
                return True  # type: ignore[return-value] # the mistake tested

        for made in (
            Yes() & Always(),
            Yes() | Always(),
            ~Yes(),
            AtLeast(1, Yes()),
        ):
            with pytest.raises(PolicyError) as info:
                made.check(CTX)
            assert info.value.owner == "criterion 'Yes'"
            assert info.value.field == "check()"
            assert info.value.value is True
        with pytest.raises(PolicyError):
            Yes().passes(CTX)

        class Mine(Verdict):
            """A verdict of a host's own class, which combinators take as any."""

        class Own(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- as the protocol
                return Mine(passed=True, criterion="own", reason="as it says")

        assert (Own() & Always()).check(CTX).children[0].reason == "as it says"

    def test_verdict_and_record_round_trip(self) -> None:
        """Verdicts and transition records survive JSON exactly."""
        verdict = (ScoreAtLeast(50) & GradeAtLeast("B")).check(context())
        assert from_json(to_json(verdict), Verdict) == verdict
        record = TransitionRecord(
            source="lead",
            target="mql",
            at=T0,
            by="auto",
            verdict=verdict,
        )
        assert from_json(to_json(record), TransitionRecord) == record
        assert record.override is False

    def test_context_round_trips(self) -> None:
        """A context, score and history included, survives JSON exactly."""
        record = TransitionRecord(source=None, target="lead", at=T0, by="auto")
        ctx = context(activities=(activity("webinar", T0),))
        ctx = Context(
            lead=ctx.lead,
            stage=ctx.stage,
            entered_at=ctx.entered_at,
            score=ctx.score,
            activities=ctx.activities,
            history=(record,),
            now=ctx.now,
        )
        assert from_json(to_json(ctx), Context) == ctx

    def test_context_sorts_activities(self) -> None:
        """A context keeps activities oldest first, whatever order they came in."""
        late, early = activity("x", T0 + D, 2), activity("x", T0, 1)
        ctx = context(activities=(late, early))
        assert ctx.activities == (early, late)


def watched(
    model: ScoringModel, activities: tuple[Activity, ...], now: datetime
) -> Context:
    """A context that can read the score later, as the engine gives it."""
    lead = Lead("L", T0)
    scorer = model.scorer(lead)
    for item in activities:
        scorer.add(item)
    return Context(
        lead=lead,
        stage="mql",
        entered_at=T0,
        score=model.score(lead, activities, at=now),
        activities=activities,
        now=now,
        scorer=scorer,
    )


class TestScoreWakes:
    def test_without_a_reader_there_is_no_wake(self) -> None:
        """Without a scorer, ScoreAtLeast cannot look ahead."""
        assert ScoreAtLeast(10).wake_at(context()) is None

    def test_a_fading_score_wakes_when_it_drops_below(self) -> None:
        """A decaying score that passes wakes the second it falls below."""
        model = ScoringModel("m", [ActivityRule("w", 40)], decay=HalfLife(10 * D))
        ctx = watched(model, (activity("w", T0),), T0)
        wake = ScoreAtLeast(20, "engagement").wake_at(ctx)
        assert wake is not None
        assert T0 + 10 * D < wake <= T0 + 10 * D + timedelta(seconds=1)

    def test_looking_ahead_leaves_a_windowed_rule_as_it_was(self) -> None:
        """wake_at reads ahead without moving a window's running sums on.

        Moved on ten years, they would make every later read recount the
        lead's whole history.
        """
        model = ScoringModel(
            "m",
            [ActivityRule("w", 40, within=30 * D), ActivityRule("u", -5)],
            decay=HalfLife(10 * D),
        )
        ctx = watched(model, tuple(activity("w", T0 + n * D) for n in range(5)), T0)
        ctx = attrs.evolve(ctx, now=T0 + 5 * D, score=ctx.scorer.score(T0 + 5 * D))  # type: ignore[union-attr]
        # The windowed rule's state; "u" has no activity.
        states = [s for s in ctx.scorer._states if isinstance(s, _RuleState)]  # type: ignore[union-attr]
        assert len(states) == 1
        before = [(state.fast_from, state.start, state.total) for state in states]
        wake = ScoreAtLeast(20, "engagement").wake_at(ctx)
        assert wake is not None
        after = [(state.fast_from, state.start, state.total) for state in states]
        assert after == before

    def test_a_failing_score_without_negatives_stays_failing(self) -> None:
        """Positive points only fade: a failing score has no wake."""
        model = ScoringModel("m", [ActivityRule("w", 10)], decay=HalfLife(D))
        ctx = watched(model, (activity("w", T0),), T0)
        assert ScoreAtLeast(20, "engagement").wake_at(ctx) is None

    def test_fading_negatives_wake_a_failing_score(self) -> None:
        """A negative rule that fades lets a failing score pass later."""
        model = ScoringModel(
            "m",
            [ActivityRule("w", 30, decay=None), ActivityRule("u", -20)],
            decay=HalfLife(10 * D),
        )
        activities = (activity("w", T0), activity("u", T0))
        ctx = watched(model, activities, T0)
        wake = ScoreAtLeast(20, "engagement").wake_at(ctx)
        # 30 - 20 is 20 exactly when the -20 has halved, ten days on.
        assert wake == T0 + 10 * D

    @pytest.mark.parametrize(
        ("points", "half_life"),
        [
            (10, 10 * D),  # -20 would need to vanish altogether
            (30, 100 * 365 * D),  # -20 halves in a century: -18.7 ten years on
        ],
    )
    def test_a_score_that_never_crosses(
        self, points: int, half_life: timedelta
    ) -> None:
        """A negative that fades too little within the horizon gives no wake."""
        model = ScoringModel(
            "m",
            [ActivityRule("w", points, decay=None), ActivityRule("u", -20)],
            decay=HalfLife(half_life),
        )
        ctx = watched(model, (activity("w", T0), activity("u", T0)), T0)
        assert ScoreAtLeast(20, "engagement").wake_at(ctx) is None

    def test_limits_are_applied(self) -> None:
        """Under a dimension limit the wake is the limited score's crossing."""
        model = ScoringModel(
            "m",
            [ActivityRule("w", 300), ActivityRule("u", -100, decay=None)],
            decay=HalfLife(10 * D),
            limits={"engagement": (0, 100)},
        )
        ctx = watched(model, (activity("w", T0), activity("u", T0)), T0)
        # 300 - 100 = 200, shown as 100: fails 50 when 300 has faded to 150.
        wake = ScoreAtLeast(50, "engagement").wake_at(ctx)
        assert wake is not None
        assert T0 + 10 * D < wake <= T0 + 10 * D + timedelta(seconds=1)
        # 95 is crossed when 300 has faded to 195; the shown 100 hides it till then.
        early = ScoreAtLeast(95, "engagement").wake_at(ctx)
        assert early is not None
        assert T0 + 6 * D < early < T0 + 7 * D

    def test_other_dimensions_and_windows(self) -> None:
        """A dimension the model lacks never moves; a window's end is a change."""
        model = ScoringModel(
            "m", [ActivityRule("w", 30, within=D), ActivityRule("x", 5, within=D)]
        )
        ctx = watched(model, (activity("w", T0),), T0 + timedelta(hours=1))
        assert ScoreAtLeast(5, "intent").wake_at(ctx) is None
        wake = ScoreAtLeast(20, "engagement").wake_at(ctx)
        assert wake is not None
        assert T0 + D < wake <= T0 + D + timedelta(seconds=1)

    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            # Ten years on would pass the year 9999: the look stops there.
            (
                datetime(9995, 3, 2, 9, tzinfo=UTC),
                datetime(9995, 3, 3, 9, 0, 1, tzinfo=UTC),
            ),
            # The crossing is at 9999-12-31T12:00:01Z: 10000 on a clock at +14.
            (datetime(9999, 12, 31, 2, tzinfo=timezone(timedelta(hours=14))), None),
            # Not a whole second left to look at.
            (datetime.max.replace(microsecond=0, tzinfo=UTC), None),
        ],
    )
    def test_the_look_ahead_stops_at_the_year_9999(
        self, now: datetime, expected: datetime | None
    ) -> None:
        """A wake near the end of datetime's range is found, or None: no overflow."""
        model = ScoringModel("m", [ActivityRule("w", 100)], decay=HalfLife(D))
        lead = Lead("L", now)
        scorer = model.scorer(lead)
        scorer.add(activity("w", now))
        ctx = Context(
            lead=lead,
            stage="mql",
            entered_at=now,
            score=scorer.score(now),
            activities=(activity("w", now),),
            now=now,
            scorer=scorer,
        )
        assert ScoreAtLeast(50, "engagement").wake_at(ctx) == expected

    def test_the_last_whole_second_is_looked_at(self) -> None:
        """The look-ahead searches the last whole second before the year 10000 too."""
        now = datetime.max.replace(microsecond=0, tzinfo=UTC) - timedelta(seconds=1)
        model = ScoringModel("m", [ActivityRule("w", 100)], decay=HalfLife(H / 3600))
        lead = Lead("L", now)
        done = activity("w", now)
        scorer = model.scorer(lead)
        scorer.add(done)
        ctx = Context(
            lead=lead,
            stage="mql",
            entered_at=now,
            score=scorer.score(now),
            activities=(done,),
            now=now,
            scorer=scorer,
        )
        wake = ScoreAtLeast(60, "engagement").wake_at(ctx)
        assert wake == now + timedelta(seconds=1)


class TestGradeWakes:
    FIT = ScoringModel(
        "m",
        [
            AttributeRule("industry", "software", 30, name="industry"),
            ActivityRule("exec_meeting", 20, dimension="fit", name="exec"),
        ],
        decay=HalfLife(7 * D),
    )

    def context(self, now: datetime) -> Context:
        """A lead of fit 30 + 20 (grade B) at T0, its meeting fading after."""
        lead = Lead("L", T0, attributes={"industry": "software"})
        meeting = (activity("exec_meeting", T0),)
        scorer = self.FIT.scorer(lead)
        scorer.add(meeting[0])
        return Context(
            lead=lead,
            stage="mql",
            entered_at=T0,
            score=scorer.score(now),
            activities=meeting,
            now=now,
            scorer=scorer,
        )

    def test_a_fading_fit_wakes_when_the_grade_drops(self) -> None:
        """A grade that decay takes below the letter wakes as its fit score does."""
        ctx = self.context(T0)
        wake = GradeAtLeast("B").wake_at(ctx)
        assert wake is not None
        assert wake == ScoreAtLeast(40, "fit").wake_at(ctx)
        # 30 + 20 falls to 40 when the 20 has halved: seven days on.
        assert T0 + 7 * D < wake <= T0 + 7 * D + timedelta(seconds=1)
        assert (~GradeAtLeast("B")).wake_at(ctx) == wake
        later = self.context(wake)
        assert later.score.grade == "C"
        assert not passes(GradeAtLeast("B"), later)

    def test_no_wake_where_the_grade_cannot_move(self) -> None:
        """The last letter, other bands, and a context without a scorer: no wake."""
        ctx = self.context(T0)
        assert GradeAtLeast("D").wake_at(ctx) is None
        other = GradeAtLeast("B", grades=Grades(fit={"B": 40, "Z": None}))
        assert other.wake_at(ctx) is None
        assert GradeAtLeast("B", grades=Grades()).wake_at(ctx) is not None
        assert GradeAtLeast("B").wake_at(attrs.evolve(ctx, scorer=None)) is None
        assert GradeAtLeast("A").wake_at(ctx) is None  # failing, no fading negatives

    def test_time_alone_moves_a_fit_grade_only_when_fit_fades(self) -> None:
        """GradeAtLeast is timed as ScoreAtLeast on fit at the letter's minimum."""
        still = ScoringModel("m", [AttributeRule("industry", "software", 30)])
        cases: list[tuple[CriterionLike, ScoringModel, bool, bool]] = [
            (GradeAtLeast("B"), self.FIT, True, False),
            (~GradeAtLeast("B"), self.FIT, False, True),
            (GradeAtLeast("D"), self.FIT, False, False),
            (
                GradeAtLeast("B", grades=Grades(fit={"B": 9, "Z": None})),
                self.FIT,
                False,
                False,
            ),
            (GradeAtLeast("B"), still, False, False),
        ]
        for criterion, model, passing, failing in cases:
            found = (
                timed(criterion, model, passed=True),
                timed(criterion, model, passed=False),
            )
            assert found == (passing, failing), criterion


class TestInStage:
    def test_no_wake_past_the_year_9999(self) -> None:
        """A verdict that could change only after the year 9999 has no wake."""
        late = datetime(9999, 12, 31, tzinfo=UTC)
        recent = Activity("L", "x", late, id="x-1")
        ctx = context(activities=(recent,), now=late, entered_at=late)
        assert InStageFor(30 * D).wake_at(ctx) is None
        assert DidActivity("x", within=30 * D).wake_at(ctx) is None

    def test_counts_only_since_entering(self) -> None:
        """DidActivity(in_stage=True) ignores what came before the stage."""
        ctx = context(
            activities=(activity("w", T0 - D, 1), activity("w", T0 + D, 2)),
            now=T0 + 2 * D,
            entered_at=T0 + HOUR,
        )
        assert DidActivity("w", count=2).check(ctx)
        verdict = DidActivity("w", count=2, in_stage=True).check(ctx)
        assert not verdict
        assert verdict.reason == "w 1 time since entering the stage, 2 needed"
        window = DidActivity("w", within=5 * D, in_stage=True).describe()
        assert window == "w at least once in the last 5 days since entering the stage"

    def test_in_the_stage_of_its_creation_what_came_before_counts(self) -> None:
        """A lead still where it was created counts what it did before (the form)."""
        ctx = context(
            activities=(activity("w", T0 - HOUR, 1), activity("w", T0 + D, 2)),
            now=T0 + 2 * D,
        )
        assert DidActivity("w", count=2, in_stage=True).check(ctx)
        assert DidActivity("w", count=2, in_stage=True).passes(ctx)
        moved = attrs.evolve(ctx, entered_at=T0 + HOUR)
        assert not DidActivity("w", count=2, in_stage=True).check(moved)
        assert not DidActivity("w", count=2, in_stage=True).passes(moved)

    def test_the_later_of_window_and_entry_counts(self) -> None:
        """With a window, activities count from its start or the entry, the later."""
        ctx = context(
            activities=(activity("w", T0 + D, 1), activity("w", T0 + 5 * D, 2)),
            now=T0 + 6 * D,
            entered_at=T0 + HOUR,
        )
        short = DidActivity("w", count=2, within=2 * D, in_stage=True)
        assert not short.check(ctx)
        assert not short.passes(ctx)
        long = DidActivity("w", count=2, within=10 * D, in_stage=True)
        assert long.check(ctx)
        assert long.passes(ctx)

    def test_in_stage_is_a_flag(self) -> None:
        """in_stage must be True or False."""
        with pytest.raises(PolicyError) as info:
            DidActivity("w", in_stage=1)  # type: ignore[arg-type]
        assert info.value.field == "in_stage"


class TestClampedWakes:
    def test_a_clamped_score_is_watched_itself(self) -> None:
        """A score held at its lower limit cannot fall below it: no wake."""
        model = ScoringModel(
            "m",
            [ActivityRule("w", 10), ActivityRule("u", -30, decay=None)],
            decay=HalfLife(10 * D),
            limits={"engagement": (0, 100)},
        )
        ctx = watched(model, (activity("w", T0), activity("u", T0)), T0)
        assert ScoreAtLeast(0, "engagement").check(ctx)
        assert ScoreAtLeast(0, "engagement").wake_at(ctx) is None


KINDS = ("webinar", "download", "demo")


@st.composite
def criteria(draw: st.DrawFn, depth: int = 2) -> CriterionLike:
    """A built-in criterion, or a combinator of them."""
    leaves: st.SearchStrategy[CriterionLike] = st.one_of(
        st.builds(ScoreAtLeast, st.integers(-10, 80), st.sampled_from(DIMENSIONS)),
        st.builds(GradeAtLeast, st.sampled_from("ABCD")),
        st.builds(
            DidActivity,
            st.sets(st.sampled_from(KINDS), min_size=1),
            within=st.none() | st.integers(1, 96).map(lambda h: h * HOUR),
            count=st.integers(1, 3),
            in_stage=st.booleans(),
        ),
        st.builds(AttributeIs, st.just("industry"), st.sampled_from(INDUSTRIES)),
        st.builds(
            BantQualified,
            st.integers(1, 4),
            timeline_within=st.none() | st.integers(1, 60).map(lambda d: d * D),
            timezone=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]),
        ),
        st.builds(InStageFor, st.integers(1, 96).map(lambda h: h * HOUR)),
        st.just(Always()),
        st.just(NotOnCustomerList({"acme.example"})),
    )
    if depth == 0:
        return draw(leaves)
    children = st.lists(criteria(depth - 1), max_size=3)
    return draw(
        st.one_of(
            leaves,
            children.map(lambda c: AllOf(*c)),
            children.map(lambda c: AnyOf(*c)),
            st.tuples(st.integers(0, 3), children).map(
                lambda p: AtLeast(min(p[0], len(p[1])), *p[1])
            ),
            criteria(depth - 1).map(Not),
        )
    )


HOUR = timedelta(hours=1)
DIMENSIONS = ("total", "fit", "engagement")
INDUSTRIES = ("software", "retail", None)
ANSWERS = st.sampled_from([True, False, None])


@st.composite
def contexts(draw: st.DrawFn) -> Context:
    """A lead of random fit and BANT, with activities over four days."""
    lead = Lead(
        "L",
        T0,
        email=draw(st.sampled_from(["ana@acme.example", "bo@other.example"])),
        attributes={"industry": draw(st.sampled_from(INDUSTRIES))},
        bant=Bant(
            budget=draw(ANSWERS),
            authority=draw(ANSWERS),
            need=draw(ANSWERS),
            timeline=draw(st.none() | st.dates(date(2026, 2, 1), date(2026, 6, 1))),
        ),
    )
    hours = draw(st.lists(st.integers(0, 96), max_size=8))
    found = tuple(
        activity(draw(st.sampled_from(KINDS)), T0 + h * HOUR, n)
        for n, h in enumerate(hours)
    )
    now = T0 + draw(st.integers(0, 120)) * HOUR
    return context(
        lead=lead,
        activities=found,
        now=now,
        entered_at=T0 + draw(st.integers(0, 96)) * HOUR,
        model=FIT_AND_ENGAGEMENT,
    )


FIT_AND_ENGAGEMENT = ScoringModel(
    "m",
    [
        ActivityRule("webinar", 30),
        ActivityRule("download", 5),
        AttributeRule("industry", "software", 40),
    ],
)


class TestPasses:
    @given(criterion=criteria(), ctx=contexts())
    def test_passes_agrees_with_check(
        self, criterion: CriterionLike, ctx: Context
    ) -> None:
        """A criterion's quick answer is always its verdict's outcome."""
        assert passes(criterion, ctx) is criterion.check(ctx).passed

    @given(criterion=criteria(), ctx=contexts())
    def test_a_passer_answers_as_passes(
        self, criterion: CriterionLike, ctx: Context
    ) -> None:
        """The engine's compiled guard gives the answer passes gives."""
        assert passer(criterion)(ctx) is passes(criterion, ctx)

    def test_a_passer_decides_as_its_combinator(self) -> None:
        """A compiled AllOf passes when all pass (none too), an AnyOf when one does."""
        ctx = context()
        yes, no = Always(), ~Always()
        answers = [
            passer(guard)(ctx)
            for guard in (
                AllOf(),
                AllOf(yes, yes),
                AllOf(yes, no),
                AnyOf(),
                AnyOf(no, no),
                AnyOf(no, yes),
            )
        ]
        assert answers == [True, True, False, False, False, True]

    def test_a_passer_reads_one_value_before_the_activities(self) -> None:
        """Built-ins that read the score go first; a host's criterion keeps its turn."""
        did = DidActivity("demo_request")
        grade = GradeAtLeast("B")
        enough = ScoreAtLeast(40, "engagement")
        for kind in (AllOf, AnyOf):
            compiled = passer(kind(did, grade, enough))
            assert isinstance(compiled, functools.partial)
            assert compiled.args[0] == (grade.passes, enough.passes, did.passes)
        asked: list[str] = []

        class Noted:
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- answers alike
                asked.append("host")
                return Verdict(passed=False, criterion="noted", reason="asked")

        guard = AllOf(Noted(), ScoreAtLeast(1_000_000))  # both fail
        assert passer(guard)(context()) is False
        assert asked == ["host"]  # asked first, as declared

    def test_a_passer_trusts_only_the_built_ins_themselves(self) -> None:
        """A built-in's subclass, or a host's value test, is asked through passes."""

        class Sloppy(ScoreAtLeast):
            def passes(self, ctx: Context) -> bool:  # noqa: ARG002 -- the mistake: it reads nothing
                return None  # type: ignore[return-value] # the mistake under test

        class Loose(ValueTest):
            def evaluate(self, value: object) -> tuple[bool, str]:  # noqa: ARG002 -- the mistake: it reads nothing
                return 1, "is anything"  # type: ignore[return-value] # the mistake under test

            def describe(self) -> str:
                return "is anything"

        ctx = context()
        loose = AttributeIs("industry", Loose())
        for guard in (
            Sloppy(10),
            AllOf(Always(), Sloppy(10)),
            AnyOf(Sloppy(10)),
            loose,
        ):
            with pytest.raises(PolicyError, match=r"passes\(\)"):
                passer(guard)(ctx)
        always = Always()
        assert passer(always) == always.passes  # a built-in's own, bound

    @given(
        ctx=contexts(),
        test=st.sampled_from(["software", ["saas", "retail"], "retail", Always()]),
        # An attribute (read in place), and a lead's field and answers.
        path=st.sampled_from(
            [
                "industry",
                "attributes.industry",
                "email.domain",
                "bant.budget",
                "bant.timeline",
                "source",
            ]
        ),
    )
    def test_a_judge_gives_the_verdict_check_gives(
        self, ctx: Context, test: object, path: str
    ) -> None:
        """AttributeIs and Always are judged on the lead alone, with check's verdict."""
        if isinstance(test, Always):
            criterion: CriterionLike = test
            expected = Verdict(
                passed=True, criterion="always", reason="nothing is required"
            )
        else:
            criterion = AttributeIs(path, test)
            passed, why = criterion.test.evaluate(lead_value(ctx.lead, path))
            expected = Verdict(
                passed=passed, criterion=criterion.describe(), reason=f"{path} {why}"
            )
        judged = judge(criterion)
        assert judged is not None
        assert judged(ctx.lead) == expected  # worded here, not by check
        assert judged(ctx.lead) == criterion.check(ctx)

    @pytest.mark.parametrize(
        ("path", "name"),
        [
            ("industry", "industry"),
            ("attributes.industry", "industry"),
            ("attributes.", "attributes."),
            ("email.domain.x", "email.domain.x"),
            ("bant.score", "bant.score"),
            ("id", None),
            ("email.domain", None),
            ("bant.need", None),
            ("bant.timeline", None),
        ],
    )
    def test_an_attribute_s_name_is_what_its_reader_reads(
        self, path: str, name: str | None
    ) -> None:
        """attribute_name names what value_getter reads, or None for the rest."""
        assert attribute_name(path) == name
        if name is not None:
            lead = Lead("L", T0, email="a@b.example", attributes={name: "here"})
            assert value_getter(path)(lead) == "here"

    def test_only_the_lead_s_own_readers_are_judged(self) -> None:
        """A subclass, a combinator or a criterion of the score needs its context."""

        class Wider(AttributeIs):
            """May read more than the lead."""

        for criterion in (
            Wider("industry", "software"),
            ~Always(),
            AllOf(Always()),
            ScoreAtLeast(10),
            DidActivity("demo_request"),
        ):
            assert judge(criterion) is None

    @given(
        ctx=contexts(),
        dimension=st.sampled_from(("total", "fit", "engagement")),
        offset=st.sampled_from((-1, -0.5, 0, 0.5, 1)),
    )
    def test_score_at_least_passes_at_its_threshold(
        self, ctx: Context, dimension: str, offset: float
    ) -> None:
        """A score equal to the threshold passes, by check and by passes alike."""
        guard = ScoreAtLeast(ctx.score[dimension] + offset, dimension)
        assert guard.check(ctx).passed is passes(guard, ctx) is (offset <= 0)

    def test_a_criterion_without_passes_is_asked_for_its_verdict(self) -> None:
        """A plain class with only check() still answers through passes()."""
        ctx = context(lead=Lead("L", T0, email="ana@acme.example"))
        plain = NotOnCustomerList({"acme.example"})
        assert not hasattr(plain, "passes")
        assert passes(plain, ctx) is False
        assert Fixed(True).passes(ctx) is True  # the base class's default

    def test_attribute_verdicts_are_worded_once_per_value(self) -> None:
        """AttributeIs reuses the verdict of a value, and keeps 1 apart from True."""
        guard = AttributeIs("size", 1)
        one = context(lead=Lead("L", T0, attributes={"size": 1}))
        true = context(lead=Lead("L", T0, attributes={"size": True}))
        assert guard.check(one) is guard.check(one)
        assert guard.check(one).passed
        assert not guard.check(true).passed
        assert guard == AttributeIs("size", 1)  # the memo takes no part

    def test_the_memo_of_verdicts_is_bounded(self) -> None:
        """AttributeIs forgets its verdicts when it holds too many."""
        guard = AttributeIs("n", between(0, 10))
        for n in range(1100):
            ctx = context(lead=Lead("L", T0, attributes={"n": n}))
            assert guard.check(ctx).passed is (n <= 10)
        assert len(guard._verdicts) <= 1024

    def test_a_grade_of_other_bands_does_not_pass(self) -> None:
        """GradeAtLeast fails, quickly too, a grade its bands do not know."""
        grades = Grades(fit=(("X", 50), ("Y", None)))
        ctx = context(model=ScoringModel("m", [], grades=grades))
        guard = GradeAtLeast("B")
        assert (passes(guard, ctx), guard.check(ctx).passed) == (False, False)

    def test_did_activity_counts_back_until_it_has_enough(self) -> None:
        """DidActivity counts matches latest first, skipping the rest, up to count."""
        found = tuple(activity("demo", T0 + n * HOUR, n) for n in range(3))
        found += (activity("webinar", T0 + 4 * HOUR, 9),)
        ctx = context(activities=found, now=T0 + 5 * HOUR)
        assert passes(DidActivity("demo", count=3), ctx)
        assert not passes(DidActivity("demo", count=4), ctx)
        assert not passes(
            DidActivity("demo", count=2, within=90 * timedelta(minutes=1)), ctx
        )

    @pytest.mark.parametrize(
        ("bant", "expected"),
        [
            (Bant(budget=True, authority=True, timeline=date(2026, 3, 20)), True),
            (Bant(budget=True, authority=True), False),
            (Bant(budget=True, authority=True, need=True), True),
            (Bant(budget=True, timeline=date(2026, 3, 20)), False),
        ],
    )
    def test_bant_reads_the_timeline_only_when_it_decides(
        self, bant: Bant, expected: bool
    ) -> None:
        """BantQualified's quick answer looks at the timeline for the last point."""
        ctx = context(lead=Lead("L", T0, bant=bant))
        guard = BantQualified(3)
        assert (passes(guard, ctx), guard.check(ctx).passed) == (expected, expected)

    def test_combinators_answer_quickly(self) -> None:
        """Combinators' quick answers, down to the empty and the all-failing cases."""
        ctx = context()
        yes, no = Fixed(True), Fixed(False)
        assert passes(AtLeast(0, no), ctx)
        assert not passes(AtLeast(2, yes, no), ctx)
        assert passes(AtLeast(2, yes, no, yes), ctx)
        assert not passes(AnyOf(no, no), ctx)
        assert passes(AnyOf(no, yes), ctx)
        assert not passes(AllOf(yes, no), ctx)
        assert passes(AllOf(yes, yes), ctx)
        assert (passes(AllOf(), ctx), passes(AnyOf(), ctx)) == (True, False)


# Instants near clock changes: London's spring and autumn ones, New York's,
# and Lord Howe's, where the clocks move by half an hour.
CLOCK_CHANGES = (
    datetime(2026, 3, 27, 12, tzinfo=UTC),
    datetime(2026, 10, 23, 12, tzinfo=UTC),
    datetime(2026, 3, 6, 12, tzinfo=UTC),
    datetime(2026, 10, 30, 12, tzinfo=UTC),
    datetime(2026, 4, 3, 12, tzinfo=UTC),
)
ZONES = tuple(
    ZoneInfo(name)
    for name in ("Europe/London", "America/New_York", "Australia/Lord_Howe")
)
DECAYING = ScoringModel(
    "m",
    [ActivityRule("webinar", 30), ActivityRule("download", 5)],
    decay=HalfLife(timedelta(days=2)),
)
QUARTER = timedelta(minutes=15)


@st.composite
def instants(draw: st.DrawFn) -> tuple[datetime, list[datetime], datetime]:
    """When a lead entered its stage, when it did things, and now: in UTC."""
    base = draw(st.sampled_from(CLOCK_CHANGES))
    quarters = st.integers(0, 4 * 120).map(lambda n: base + n * QUARTER)
    return draw(quarters), draw(st.lists(quarters, max_size=8)), draw(quarters)


def zoned(parts: tuple[datetime, list[datetime], datetime], zone: tzinfo) -> Context:
    """The context of *parts* with every instant written in *zone*."""
    entered_at, times, now = parts
    found = tuple(
        activity(KINDS[n % len(KINDS)], at.astimezone(zone), n)
        for n, at in enumerate(times)
    )
    # A purchase date near now: the day boundary differs from zone to zone.
    bant = Bant(budget=True, timeline=now.astimezone(UTC).date())
    lead = Lead(
        "L",
        entered_at.astimezone(zone),
        attributes={"industry": "software"},
        bant=bant,
    )
    return context(
        lead=lead,
        activities=found,
        now=now.astimezone(zone),
        entered_at=entered_at.astimezone(zone),
        model=DECAYING,
    )


class TestTimeZones:
    @given(criterion=criteria(), parts=instants(), zone=st.sampled_from(ZONES))
    def test_the_zone_instants_are_written_in_does_not_matter(
        self,
        criterion: CriterionLike,
        parts: tuple[datetime, list[datetime], datetime],
        zone: tzinfo,
    ) -> None:
        """Verdicts and wakes are the same whether instants are in UTC or local."""
        utc, local = zoned(parts, UTC), zoned(parts, zone)
        assert criterion.check(local) == criterion.check(utc)
        # As instants: Python never finds a time of a clock change's second
        # hour (fold=1) equal to one in another zone.
        wakes = [wake_at(criterion, ctx) for ctx in (local, utc)]
        instants = [None if at is None else at.astimezone(UTC) for at in wakes]
        assert instants[0] == instants[1]

    def test_a_window_across_the_spring_change(self) -> None:
        """30 days back from 09:30 BST on 1 April reaches 08:30 GMT on 2 March."""
        london = ZoneInfo("Europe/London")
        unsubscribed = activity("unsubscribe", datetime(2026, 3, 2, 9, tzinfo=london))
        guard = DidActivity("unsubscribe", within=timedelta(days=30))
        ctx = context(
            activities=(unsubscribed,), now=datetime(2026, 4, 1, 9, 30, tzinfo=london)
        )
        assert guard.check(ctx).passed
        assert guard.wake_at(ctx) == datetime(2026, 4, 1, 10, 0, 0, 1, tzinfo=london)

    def test_time_in_stage_across_the_autumn_change(self) -> None:
        """A day in stage from Saturday 12:00 BST ends on Sunday at 11:00 GMT."""
        london = ZoneInfo("Europe/London")
        ctx = context(
            entered_at=datetime(2026, 10, 24, 12, tzinfo=london),
            now=datetime(2026, 10, 25, 11, 30, tzinfo=london),
        )
        assert InStageFor(timedelta(days=1)).check(ctx).passed
        ctx = attrs.evolve(ctx, now=datetime(2026, 10, 25, 10, 30, tzinfo=london))
        assert InStageFor(timedelta(days=1)).wake_at(ctx) == datetime(
            2026, 10, 25, 11, tzinfo=london
        )


@st.composite
def exact_criteria(draw: st.DrawFn, depth: int = 2) -> CriterionLike:
    """A criterion of the score alone: points, a grade, or a combinator of them."""
    leaves: st.SearchStrategy[CriterionLike] = st.one_of(
        st.builds(ScoreAtLeast, st.integers(-10, 80), st.sampled_from(DIMENSIONS)),
        st.builds(GradeAtLeast, st.sampled_from("ABCD")),
    )
    if depth == 0:
        return draw(leaves)
    children = st.lists(exact_criteria(depth - 1), min_size=1, max_size=3)
    return draw(
        st.one_of(
            leaves,
            children.map(lambda c: AllOf(*c)),
            children.map(lambda c: AnyOf(*c)),
            exact_criteria(depth - 1).map(Not),
        )
    )


def read_as_recorded(
    ctx: Context, index: int
) -> tuple[Mapping[str, float], str, Activity, tuple[Activity, ...] | None]:
    """A context as a quick record reads it, the activity at *index* recorded."""
    found = ctx.activities
    recorded = found[index % len(found)]
    held = tuple(each for each in found if each is not recorded)
    return ctx.score.dimensions, ctx.score.grade, recorded, held or None


class TestSureToFail:
    """The quick record's test, from a read alone, that every guard of a stage fails."""

    @given(
        guards=st.lists(criteria(), min_size=1, max_size=3),
        ctx=contexts(),
        index=st.integers(0, 7),
    )
    def test_a_sure_failure_is_a_failure(
        self, guards: list[CriterionLike], ctx: Context, index: int
    ) -> None:
        """When the test says every guard fails, none passes."""
        assume(ctx.activities)
        doomed = sure_to_fail(guards, FIT_AND_ENGAGEMENT)
        if doomed is not None and doomed(*read_as_recorded(ctx, index)):
            assert not any(passes(guard, ctx) for guard in guards)

    @given(guard=exact_criteria(), ctx=contexts(), index=st.integers(0, 7))
    def test_a_test_of_the_score_alone_is_exact(
        self, guard: CriterionLike, ctx: Context, index: int
    ) -> None:
        """Of points and grades only, a guard fails exactly when the test says so."""
        assume(ctx.activities)
        doomed = sure_to_fail([guard], FIT_AND_ENGAGEMENT)
        assert doomed is not None
        assert doomed(*read_as_recorded(ctx, index)) is not passes(guard, ctx)

    def test_what_it_cannot_tell_it_leaves_to_the_guards(self) -> None:
        """A host's criterion, an answer time or the lead gives, and nothing at all."""
        enough = ScoreAtLeast(40, "engagement")
        host = NotOnCustomerList({"acme.example"})
        for guards in (
            [],
            [Always()],
            [AttributeIs("industry", "software")],
            [InStageFor(D)],
            [host],
            [AllOf(host, enough)],  # the host's is asked, in its turn
            [AnyOf(enough, InStageFor(D))],
            [Not(DidActivity("demo"))],  # an activity count is no exact test
            [Not(AllOf(enough, InStageFor(D)))],
            [enough, Always()],
            [AllOf()],
        ):
            assert sure_to_fail(guards, MODEL) is None, guards

    def test_combinators_are_told_through_their_built_in_criteria(self) -> None:
        """Nested: AllOf fails by its AnyOf; an AtLeast and a timed Not are asked."""
        guard = AllOf(
            AnyOf(ScoreAtLeast(40), Not(GradeAtLeast("A"))),
            AtLeast(1, Always()),
            Not(InStageFor(D)),
        )
        doomed = sure_to_fail([guard], MODEL)
        assert doomed is not None
        recorded = activity("demo", T0)
        answers = [
            doomed({"engagement": engagement, "fit": 20.0}, grade, recorded, None)
            for engagement, grade in ((25.0, "A"), (15.0, "A"), (15.0, "B"))
        ]
        assert answers == [False, True, False]  # total 45, 35 of grade A, grade B

    def test_an_activity_count_reads_the_recorded_and_the_held(self) -> None:
        """DidActivity fails surely short of its count of the kinds, at any time."""
        doomed = sure_to_fail([DidActivity({"demo", "webinar"}, count=2)], MODEL)
        assert doomed is not None
        demo, webinar, other = (
            activity(kind, T0, n)
            for n, kind in enumerate(["demo", "webinar", "download"])
        )
        read: dict[str, float] = {"engagement": 0.0, "fit": 0.0}
        assert doomed(read, "D", demo, None)
        assert doomed(read, "D", other, (demo, other))
        assert not doomed(read, "D", demo, (other, webinar))
        assert not doomed(read, "D", other, (webinar, other, demo))
        assert not sure_to_fail([DidActivity("demo")], MODEL)(read, "D", demo, None)  # type: ignore[misc] # a test

    def test_a_grade_is_ranked_in_the_bands_given_else_the_model_s(self) -> None:
        """GradeAtLeast ranks in its own grades when given, as its passes does."""
        bands = Grades(fit=[("P", 50), ("Q", None)])
        read: dict[str, float] = {"engagement": 0.0, "fit": 0.0}
        own = sure_to_fail([GradeAtLeast("P", bands)], MODEL)
        model_s = sure_to_fail([GradeAtLeast("B")], MODEL)
        assert own is not None
        assert model_s is not None
        recorded = activity("demo", T0)
        assert [own(read, grade, recorded, None) for grade in "PQA"] == [
            False,
            True,
            True,  # not one of its bands: it fails
        ]
        assert [model_s(read, grade, recorded, None) for grade in "ABCP"] == [
            False,
            False,
            True,
            True,
        ]


class TestQuickWakes:
    def test_no_wake_when_no_points_of_that_sign_fade(self) -> None:
        """A failing score whose negative points never fade cannot pass by waiting."""
        model = ScoringModel(
            "m",
            [ActivityRule("w", 10), ActivityRule("u", -30, decay=None)],
            decay=HalfLife(10 * D),
        )
        ctx = watched(model, (activity("w", T0), activity("u", T0)), T0)
        assert not ScoreAtLeast(0, "engagement").check(ctx)
        assert ScoreAtLeast(0, "engagement").wake_at(ctx) is None
        assert ScoreAtLeast(5, "other").wake_at(ctx) is None  # not the model's

    def test_no_wake_when_the_lead_has_no_fading_points(self) -> None:
        """A model's fading rules the lead never triggered cannot change a verdict."""
        model = ScoringModel("m", [ActivityRule("w", 10)], decay=HalfLife(10 * D))
        ctx = watched(model, (), T0)
        assert ScoreAtLeast(0, "engagement").check(ctx)
        assert ScoreAtLeast(0, "engagement").wake_at(ctx) is None

    def test_limits_of_other_dimensions_are_skipped(self) -> None:
        """The wake reads the limits of its own dimension among several."""
        model = ScoringModel(
            "m",
            [ActivityRule("w", 40)],
            decay=HalfLife(10 * D),
            limits={"fit": (0, 100), "engagement": (0, 100)},
        )
        ctx = watched(model, (activity("w", T0),), T0)
        wake = ScoreAtLeast(20, "engagement").wake_at(ctx)
        assert wake is not None
        assert T0 + 10 * D <= wake <= T0 + 10 * D + timedelta(seconds=1)


class PlainWaiter:
    """A criterion from scratch that says when it can change."""

    def check(self, ctx: Context) -> Verdict:
        """Pass after two days in stage."""
        waited = ctx.now - ctx.entered_at >= 2 * D
        return Verdict(passed=waited, criterion="waited", reason=str(waited))

    def wake_at(self, ctx: Context) -> datetime:
        """Two days after entering."""
        return ctx.entered_at + 2 * D


def test_which_criteria_time_alone_can_change() -> None:
    """Only criteria whose verdict can change with time are asked for wakes."""
    fading = ScoringModel(
        "m",
        [ActivityRule("w", 10), ActivityRule("u", -5)],
        decay=HalfLife(D),
    )
    rising = ScoringModel("m", [ActivityRule("w", 10)], decay=HalfLife(D))
    window = DidActivity("w", within=D)
    cases: list[tuple[CriterionLike, ScoringModel, bool, bool]] = [
        # criterion, model, when passing, when failing
        (Always(), MODEL, False, False),
        (AttributeIs("industry", "software"), MODEL, False, False),
        (GradeAtLeast("B"), fading, False, False),
        (DidActivity("w"), MODEL, False, False),
        (window, MODEL, True, False),
        (InStageFor(D), MODEL, False, True),
        (BantQualified(), MODEL, True, True),
        (ScoreAtLeast(10, "engagement"), MODEL, False, False),
        (ScoreAtLeast(10, "engagement"), fading, True, True),
        (ScoreAtLeast(10, "engagement"), rising, True, False),
        (ScoreAtLeast(10), rising, True, False),
        (ScoreAtLeast(10, "fit"), fading, False, False),
        (AllOf(Always(), InStageFor(D)), MODEL, False, True),
        (AnyOf(window, Always()), MODEL, True, False),
        (Not(InStageFor(D)), MODEL, True, False),
        (Fixed(True), MODEL, False, False),
        (NotOnCustomerList(set()), MODEL, False, False),
        (PlainWaiter(), MODEL, True, True),
    ]
    for criterion, model, passing, failing in cases:
        found = (
            timed(criterion, model, passed=True),
            timed(criterion, model, passed=False),
        )
        assert found == (passing, failing), criterion


def two_step(model: ScoringModel, up: CriterionLike, down: CriterionLike) -> Funnel:
    """A funnel of *model*: lead -> mql on *up*, mql -> nurture on *down*, both auto."""
    policy = FunnelPolicy(
        name="p",
        version=1,
        stages=[Stage("lead"), Stage("mql"), Stage("nurture", "nurture")],
        transitions=[
            Transition(source="lead", target="mql", guard=up, auto=True),
            Transition(source="mql", target="nurture", guard=down, auto=True),
        ],
        initial="lead",
        scoring=model,
    )
    return Funnel(policy, clock=ManualClock(T0))


class TestInTheEngine:
    def test_a_lead_with_a_9999_12_31_timeline_is_added(self) -> None:
        """A CRM's "no date" under automatic BANT guards: judged, never an overflow."""
        far = two_step(MODEL, BantQualified(1, timeline_within=90 * D), Always())
        far.add_lead(Lead("L", T0, bant=Bant(timeline=date.max)))
        far.tick(T0 + 400 * D)
        assert far.state("L").stage == "lead"
        known = two_step(MODEL, BantQualified(1), ~BantQualified(1))
        known.add_lead(Lead("L", T0, bant=Bant(timeline=date.max)))
        known.tick(T0 + 400 * D)
        assert known.state("L").stage == "mql"

    def test_a_wake_at_the_decision_s_instant_is_none(self) -> None:
        """A guard's wake no later than the instant judged is not kept: it is past."""

        class Stale(Criterion):
            """Never passes, and asks to be woken when it was asked."""

            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- never passes
                """Fail."""
                return Verdict(passed=False, criterion="stale", reason="never")

            def wake_at(self, ctx: Context) -> datetime:
                """The instant judged."""
                return ctx.now

        made = two_step(MODEL, Stale(), Always())
        made.add_lead(Lead("L", T0))
        assert made.store.wake("L") is None
        made.tick(T0 + D)
        assert made.store.wake("L") is None
        waiter = two_step(MODEL, InStageFor(D) & Stale(), Always())
        waiter.add_lead(Lead("L", T0))
        assert waiter.store.wake("L") == T0 + D
        moved = two_step(MODEL, InStageFor(D) | Stale(), Always())
        moved.add_lead(Lead("L", T0))
        moved.tick(T0 + 2 * D)
        assert moved.state("L").stage == "nurture"

    @pytest.mark.parametrize(
        ("wake", "error"),
        [
            (datetime(2026, 3, 4, 9), NaiveDatetimeError),  # noqa: DTZ001 -- the mistake tested
            ("2026-03-04T09:00:00+00:00", ValidationError),
            (date(2026, 3, 4), ValidationError),
            # Beyond datetime's range in UTC.
            (datetime(9999, 12, 31, 23, tzinfo=timezone(-5 * HOUR)), ValidationError),
        ],
    )
    def test_a_custom_wake_that_is_no_instant_changes_nothing(
        self, wake: object, error: type[ValidationError]
    ) -> None:
        """A custom wake_at giving no aware datetime is refused; nothing is kept."""

        class Waits(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- as the protocol
                return Verdict(passed=False, criterion="waits", reason="not yet")

            def wake_at(self, ctx: Context) -> datetime | None:  # noqa: ARG002 -- as the protocol
                return wake  # type: ignore[return-value] # the mistake tested

        funnel = two_step(MODEL, Waits(), Always())
        with pytest.raises(error) as info:
            funnel.add_lead(Lead("L", T0))
        assert (info.value.owner, info.value.field) == (
            "criterion 'Waits'",
            "wake_at()",
        )
        assert (len(funnel.store), list(funnel.inputs())) == (0, [])
        with pytest.raises(error):
            (Waits() & Always()).wake_at(CTX)

    def test_grade_at_least_ranks_in_the_policys_grades(self) -> None:
        """The engine ranks GradeAtLeast letters in the policy's model's Grades."""
        model = ScoringModel(
            "m",
            [AttributeRule("industry", "software", 90)],
            grades=Grades(fit={"A+": 80, "A": 60, "B": None}),
        )
        funnel = two_step(model, GradeAtLeast("A"), ~GradeAtLeast("A+"))
        funnel.add_lead(Lead("L", T0, attributes={"industry": "software"}))
        assert funnel.state("L").stage == "mql"  # A+ is A or better, and not below A+

    def test_a_fit_grade_that_fades_moves_the_lead_on_tick(self) -> None:
        """A guard on a fit grade that decay lowers fires on tick, as on fit score."""
        model = TestGradeWakes.FIT
        for up, down in [
            (GradeAtLeast("B"), ~GradeAtLeast("B")),
            (ScoreAtLeast(40, "fit"), ~ScoreAtLeast(40, "fit")),
        ]:
            funnel = two_step(model, up, down)
            funnel.add_lead(Lead("L", T0, attributes={"industry": "software"}))
            funnel.record(activity("exec_meeting", T0 + HOUR))
            assert funnel.state("L").stage == "mql"
            funnel.tick(T0 + 30 * D)
            assert funnel.state("L").stage == "nurture", down
