import graphlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from funnelkit import (
    ANY_OPEN,
    EXIT,
    Activity,
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    BusinessCalendar,
    BusinessDuration,
    BusinessHours,
    Context,
    Decay,
    Funnel,
    FunnelPolicy,
    GradeAtLeast,
    Grades,
    HalfLife,
    Holiday,
    Lead,
    MoveTo,
    NaiveDatetimeError,
    Not,
    ScoreAtLeast,
    ScoringModel,
    SlaRule,
    Stage,
    Transition,
    equals,
)
from funnelkit._criteria import passes
from funnelkit._lead import time_order
from funnelkit.testing import ManualClock
from funnelkit.testing.strategies import (
    activities,
    activity_streams,
    aware_datetimes,
    business_hours,
    calendars,
    criteria,
    decays,
    leads,
    policies,
    scoring_models,
    sla_rules,
    value_tests,
)

T = TypeVar("T")
T0 = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Berlin"))
COMBINATORS = (AllOf, AnyOf, AtLeast, Not)
#: Instants around the present, where calendar arithmetic is cheap.
NEAR = aware_datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 -- a wall-clock bound
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001 -- same
)


def minimal(strategy: st.SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """The simplest example of *strategy* that meets *condition*.

    The search stops at the first example found, so it may try many; the
    explain phase, which only helps read a failing test, is left out.
    """
    return find(
        strategy,
        condition,
        settings=settings(
            database=None, max_examples=2000, phases=[Phase.generate, Phase.shrink]
        ),
    )


def anything(_: object) -> bool:
    """Accept every example: its simplest is the strategy's simplest."""
    return True


def nodes(criterion: object) -> Iterator[object]:
    """Yield a criterion and every criterion inside it."""
    yield criterion
    if isinstance(criterion, Not):
        yield from nodes(criterion.criterion)
    elif isinstance(criterion, AllOf | AnyOf | AtLeast):
        for child in criterion.criteria:
            yield from nodes(child)


def depth(criterion: object) -> int:
    """How deep combinators nest in *criterion* (0 for a leaf)."""
    if isinstance(criterion, Not):
        return 1 + depth(criterion.criterion)
    if isinstance(criterion, AllOf | AnyOf | AtLeast):
        return 1 + max((depth(child) for child in criterion.criteria), default=0)
    return 0


class TestValues:
    @given(leads())
    def test_leads(self, lead: Lead) -> None:
        """Leads have ids and aware creation times."""
        assert lead.id.strip()
        assert lead.created_at.utcoffset() is not None

    @pytest.mark.parametrize("with_ids", [True, False])
    @settings(max_examples=100)
    @given(data=st.data())
    def test_activities(self, with_ids: bool, data: st.DataObject) -> None:
        """Activities have explicit ids or derived ones, as asked."""
        activity = data.draw(activities(with_ids=with_ids))
        derived = len(Activity("L", "k", T0).id)  # explicit ones are shorter
        assert (len(activity.id) != derived) is with_ids

    def test_either_id_by_default(self) -> None:
        """Without with_ids, both kinds of id are generated."""
        derived = len(Activity("L", "k", T0).id)
        assert len(minimal(activities(), lambda a: len(a.id) != derived).id) != derived
        assert len(minimal(activities(), lambda a: len(a.id) == derived).id) == derived


class TestActivityStreams:
    @settings(max_examples=100)
    @given(activity_streams())
    def test_one_lead_in_time_order_with_unique_ids(
        self, stream: list[Activity]
    ) -> None:
        """A stream is one lead's, sorted as funnelkit orders it, ids unique."""
        assert sorted(stream, key=time_order) == stream
        assert len({activity.id for activity in stream}) == len(stream)
        assert len({activity.lead_id for activity in stream}) <= 1

    @given(
        activity_streams(
            "L-1", kinds=st.just("page_view"), start=T0, min_size=1, max_size=4
        )
    )
    def test_given_lead_kinds_start_and_size(self, stream: list[Activity]) -> None:
        """The lead, kinds, start and sizes given are kept; times keep start's zone."""
        assert 1 <= len(stream) <= 4
        assert {(a.lead_id, a.kind) for a in stream} == {("L-1", "page_view")}
        assert all(a.at >= T0 and a.at.tzinfo is T0.tzinfo for a in stream)

    @settings(max_examples=100)
    @given(activity_streams(["a", "b"], max_size=6))
    def test_several_leads_interleave(self, stream: list[Activity]) -> None:
        """Given several leads, activities belong to them, in one time order."""
        assert {a.lead_id for a in stream} <= {"a", "b"}
        assert sorted(stream, key=time_order) == stream
        assert len({a.id for a in stream}) == len(stream)

    def test_shrinks_to_activities_at_one_instant(self) -> None:
        """The smallest stream of two is two activities at one instant."""
        stream = minimal(activity_streams("L"), lambda found: len(found) >= 2)
        first, second = stream
        assert first.at == second.at
        assert (first.kind, first.properties) == (second.kind, second.properties)
        assert first.id != second.id  # the same content, so one has its own id

    def test_naive_start_rejected(self) -> None:
        """A naive start is refused when the strategy is made."""
        with pytest.raises(NaiveDatetimeError, match="start"):
            activity_streams(start=datetime(2026, 3, 2))  # noqa: DTZ001 -- the bad input under test

    @pytest.mark.parametrize(
        ("sizes", "name"),
        [
            ({"min_size": -1}, "min_size"),
            ({"min_size": 3, "max_size": 2}, "max_size"),
            ({"max_size": "4"}, "max_size"),
        ],
    )
    def test_bad_sizes_rejected(self, sizes: dict[str, Any], name: str) -> None:
        """Sizes must be whole numbers, min_size at most max_size."""
        with pytest.raises(InvalidArgument, match=name):
            activity_streams(**sizes)

    def test_no_leads_rejected(self) -> None:
        """An empty collection of leads is refused when the strategy is made."""
        with pytest.raises(InvalidArgument, match="lead_id"):
            activity_streams([])

    def test_a_start_without_room_rejected(self) -> None:
        """A start too close to the year 9999's end for the stream is refused."""
        late = datetime(9999, 6, 1, tzinfo=ZoneInfo("UTC"))
        with pytest.raises(InvalidArgument, match="start"):
            activity_streams("L", start=late)
        activity_streams("L", start=late, max_size=0)

    def test_a_set_of_leads_is_drawn_in_sorted_order(self) -> None:
        """A set has no order: its ids are sorted, so the simplest is the first."""
        stream = minimal(
            activity_streams({"zed", "alpha", "mike"}, min_size=1), anything
        )
        assert [activity.lead_id for activity in stream] == ["alpha"]

    def test_a_set_of_leads_draws_alike_under_every_hash_seed(
        self, printed: Callable[..., set[str]]
    ) -> None:
        """A set's order follows the hash seed: examples must not."""
        code = (
            "from datetime import UTC, datetime\n"
            "from hypothesis import given, seed, settings\n"
            "from funnelkit.testing.strategies import activity_streams, sla_rules\n"
            "out = []\n"
            "@seed(7)\n"
            "@settings(max_examples=30, database=None)\n"
            "@given(activity_streams({'alice', 'bob', 'carol', 'dan'},"
            " start=datetime(2026, 3, 2, tzinfo=UTC)),"
            " sla_rules({'lead', 'mql', 'sal', 'sql'}))\n"
            "def collect(stream, rule):\n"
            "    out.append((stream, rule))\n"
            "collect()\n"
            "print(repr(out))\n"
        )
        assert len(printed(code, seeds=("0", "1", "2"))) == 1


class TestValueTests:
    def test_shrinks_to_equals(self) -> None:
        """The simplest value test is equals(False)."""
        assert minimal(value_tests(), anything) == equals(False)

    def test_none_can_be_tested_for(self) -> None:
        """equals(None) and the like are rare, but generated."""
        found = minimal(value_tests(), lambda test: "equals(None)" in repr(test))
        assert "equals(None)" in repr(found)


class TestDecays:
    @given(decays(), st.floats(0, 1e10), st.floats(0, 1e10))
    def test_weights_fade_from_one(self, decay: Decay, a: float, b: float) -> None:
        """A new activity keeps all its points; an older one keeps no more."""
        younger, older = sorted((a, b))
        assert decay.weight(0) == 1
        assert 0 <= decay.weight(older) <= decay.weight(younger) <= 1

    def test_shrinks_to_a_one_day_half_life(self) -> None:
        """The simplest decay halves points every day."""
        assert minimal(decays(), anything) == HalfLife(timedelta(days=1))


class TestScoringModels:
    @settings(max_examples=40)
    @given(scoring_models(), leads(), st.data())
    def test_score_any_lead(
        self, model: ScoringModel, lead: Lead, data: st.DataObject
    ) -> None:
        """A model scores any lead within its limits."""
        stream = data.draw(activity_streams(lead.id, start=lead.created_at))
        at = stream[-1].at if stream else lead.created_at
        score = model.score(lead, stream, at=at)
        for dimension, (low, high) in model.limits.items():
            # Scores are whole millionths; a limit may be finer than that.
            assert low is None or score[dimension] >= low - 1e-6
            assert high is None or score[dimension] <= high + 1e-6

    def test_shrinks_to_an_empty_model(self) -> None:
        """The simplest model has no rules and the defaults."""
        model = minimal(scoring_models(), anything)
        assert (model.rules, model.decay, model.grades, model.limits) == (
            (),
            None,
            Grades(),
            {},
        )

    @given(scoring_models(max_rules=1))
    def test_max_rules(self, model: ScoringModel) -> None:
        """max_rules bounds the rules."""
        assert len(model.rules) <= 1

    def test_bad_max_rules_rejected(self) -> None:
        """max_rules must be a whole number of 0 or more."""
        with pytest.raises(InvalidArgument, match="max_rules"):
            scoring_models(max_rules=-1)

    @pytest.mark.parametrize("make", [criteria, policies])
    def test_models_that_are_not_a_strategy_rejected(
        self, make: Callable[..., object]
    ) -> None:
        """models= takes a strategy of models: a model itself is refused at once."""
        with pytest.raises(InvalidArgument, match=r"models=.*expected a Hypothesis"):
            make(models=ScoringModel("m", []))


class TestCriteria:
    @settings(max_examples=50)
    @given(st.data())
    def test_passes_agrees_with_check(self, data: st.DataObject) -> None:
        """Each criterion's quick answer is its verdict's, and Not flips both."""
        model = data.draw(scoring_models(max_rules=3))
        criterion = data.draw(criteria(st.just(model)))
        lead = data.draw(leads())
        stream = data.draw(activity_streams(lead.id, start=lead.created_at))
        now = data.draw(st.sampled_from([lead.created_at, *(a.at for a in stream)]))
        ctx = Context(
            lead=lead,
            stage="lead",
            entered_at=lead.created_at,
            score=model.score(lead, stream, at=now),
            activities=[a for a in stream if a.at <= now],
            now=now,
        )
        verdict = criterion.check(ctx)
        assert passes(criterion, ctx) is verdict.passed
        assert Not(criterion).check(ctx).passed is not verdict.passed

    @settings(max_examples=40)
    @given(st.data())
    def test_fit_the_model(self, data: st.DataObject) -> None:
        """Criteria for a model use its dimensions and its grade letters."""
        model = data.draw(scoring_models(max_rules=3))
        for node in nodes(data.draw(criteria(st.just(model)))):
            if isinstance(node, ScoreAtLeast):
                assert node.dimension in {"total", *model.dimensions}
            if isinstance(node, GradeAtLeast):
                assert node.grades == model.grades

    @given(criteria(max_depth=1))
    def test_depth_is_bounded(self, criterion: object) -> None:
        """Combinators nest no deeper than max_depth."""
        assert depth(criterion) <= 1

    @given(criteria(max_depth=0))
    def test_depth_zero_gives_leaves(self, criterion: object) -> None:
        """With max_depth=0, every criterion is a built-in leaf."""
        assert not isinstance(criterion, COMBINATORS)

    def test_shrinks_to_always(self) -> None:
        """The simplest criterion is Always()."""
        assert minimal(criteria(), anything) == Always()

    def test_bad_max_depth_rejected(self) -> None:
        """max_depth must be a whole number of 0 or more."""
        with pytest.raises(InvalidArgument, match="max_depth"):
            criteria(max_depth=-1)


class TestBusinessHours:
    @given(business_hours())
    def test_text_round_trip(self, hours: BusinessHours) -> None:
        """str() writes what parse() reads back."""
        assert BusinessHours.parse(str(hours)) == hours

    def test_shrinks_to_office_hours(self) -> None:
        """The simplest interval is 09:00-17:00."""
        assert minimal(business_hours(), anything) == BusinessHours("09:00", "17:00")


class TestCalendars:
    @settings(max_examples=30)
    @given(calendars(), NEAR, st.timedeltas(timedelta(0), timedelta(hours=100)))
    def test_answer_questions(
        self, calendar: BusinessCalendar, at: datetime, duration: timedelta
    ) -> None:
        """A calendar tells whether it is open, adds open time and counts it back."""
        assert isinstance(calendar.is_open(at), bool)
        later = calendar.add(at, duration)
        assert later >= at
        assert calendar.elapsed(at, later) == duration
        assert calendar.is_open(calendar.next_open(at))

    def test_shrinks_to_monday_office_hours(self) -> None:
        """The simplest calendar is open Monday 09:00-17:00 in UTC."""
        assert minimal(calendars(), anything) == BusinessCalendar(
            "UTC", {"mon": [("09:00", "17:00")]}
        )

    @pytest.mark.parametrize(
        "wanted",
        [
            lambda day: isinstance(day.on, str) and "BYDAY" in day.on and day.hours,
            lambda day: isinstance(day.on, str) and "INTERVAL" in day.on,
            lambda day: not isinstance(day.on, str) and not day.hours,
        ],
    )
    def test_holidays_of_every_kind(self, wanted: Callable[[Holiday], bool]) -> None:
        """Holidays are dates or yearly rules, closed or open some hours."""
        found = minimal(
            calendars(), lambda calendar: any(map(wanted, calendar.holidays))
        )
        assert any(map(wanted, found.holidays))

    def test_overnight_shifts_and_closed_days(self) -> None:
        """Weeks hold overnight shifts, and closed days named with no hours."""
        found = minimal(
            calendars(),
            lambda calendar: (
                any(item.overnight for day in calendar.hours.values() for item in day)
                and () in calendar.hours.values()
            ),
        )
        assert () in found.hours.values()

    @given(calendars(timezones=st.just("Asia/Tokyo")))
    def test_time_zones_given(self, calendar: BusinessCalendar) -> None:
        """The zones given are used."""
        assert calendar.timezone == "Asia/Tokyo"


class TestSlaRules:
    @settings(max_examples=40)
    @given(sla_rules(["lead", "mql"], moves={"lead": "mql"}))
    def test_on_the_stages_given(self, rule: SlaRule) -> None:
        """Rules watch the stages given, move only as allowed, count on a calendar."""
        assert rule.stage in {"lead", "mql"}
        if isinstance(rule.on_breach, MoveTo):
            assert (rule.stage, rule.on_breach.stage) == ("lead", "mql")
        assert not rule.business or rule.calendar is not None

    @settings(max_examples=20)
    @given(sla_rules("lead", calendars=st.none()))
    def test_calendars_given(self, rule: SlaRule) -> None:
        """Rules take their calendars from the strategy given; one name is a stage."""
        assert (rule.stage, rule.calendar) == ("lead", None)
        assert not isinstance(rule.on_breach, MoveTo)

    def test_shrinks_to_exit_within_a_day(self) -> None:
        """The simplest rule is met by exit within a day, with no breach action."""
        assert minimal(sla_rules(["lead"]), anything) == SlaRule(
            "lead", "lead", timedelta(days=1), EXIT
        )

    def test_business_time_shrinks_to_an_hour(self) -> None:
        """The simplest business time is one business hour."""
        rule = minimal(sla_rules(["lead"]), lambda rule: rule.business)
        assert rule.within == BusinessDuration(time=timedelta(hours=1))

    def test_no_stages_rejected(self) -> None:
        """A rule needs a stage to watch."""
        with pytest.raises(InvalidArgument, match="stages"):
            sla_rules([])


def auto_cycle(policy: FunnelPolicy) -> bool:
    """Whether the automatic transitions of *policy* can go round a cycle."""
    graph = {
        stage.name: {t.target for t in policy.exits(stage.name) if t.auto}
        for stage in policy.stages
    }
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError:
        return True
    return False


class TestPolicies:
    @settings(max_examples=40)
    @given(policies(), leads(), st.data())
    def test_a_funnel_runs_it(
        self, policy: FunnelPolicy, lead: Lead, data: st.DataObject
    ) -> None:
        """A funnel takes the policy, a lead and its activities, and ticks on."""
        clock = ManualClock(lead.created_at)
        funnel = Funnel(policy, clock=clock)
        funnel.add_lead(lead)
        stream = data.draw(activity_streams(lead.id, start=lead.created_at, max_size=4))
        for activity in stream:
            funnel.record(activity)
        funnel.tick(clock.advance(timedelta(days=30)))
        for record in funnel.state(lead.id).history[1:]:
            assert record.source is not None
            assert policy.transitions_between(record.source, record.target)

    @settings(max_examples=50)
    @given(policies())
    def test_automatic_moves_come_to_rest(self, policy: FunnelPolicy) -> None:
        """Automatic transitions never go round a cycle."""
        assert not auto_cycle(policy)

    def test_auto_cycle_detected(self) -> None:
        """The cycle check above finds a cycle of automatic transitions."""
        policy = FunnelPolicy(
            name="p",
            version=1,
            stages=[Stage("a"), Stage("b")],
            transitions=[
                Transition(source="a", target="b", auto=True),
                Transition(source=ANY_OPEN, target="a", auto=True),
            ],
            initial="a",
            scoring=ScoringModel("m", []),
        )
        assert auto_cycle(policy)

    @settings(max_examples=20)
    @given(policies(min_stages=3, max_stages=3))
    def test_stage_counts(self, policy: FunnelPolicy) -> None:
        """min_stages and max_stages bound the stages."""
        assert len(policy.stages) == 3

    @settings(max_examples=20)
    @given(policies(max_stages=1))
    def test_one_stage(self, policy: FunnelPolicy) -> None:
        """A policy of one stage has only transitions from any open stage to it."""
        assert all(t.source == (ANY_OPEN,) for t in policy.transitions)

    def test_shrinks_to_one_stage(self) -> None:
        """The simplest policy has one stage and no transitions."""
        policy = minimal(policies(), anything)
        assert (len(policy.stages), policy.transitions, policy.slas) == (1, (), ())

    def test_shrinks_to_two_stages(self) -> None:
        """The simplest policy with a transition has two stages and one move."""
        policy = minimal(policies(), lambda policy: bool(policy.transitions))
        assert len(policy.stages) == 2
        (transition,) = policy.transitions
        assert transition.source == (policy.initial,)
        assert (transition.guard, transition.auto) == (Always(), False)

    @settings(max_examples=20)
    @given(st.data())
    def test_models_given(self, data: st.DataObject) -> None:
        """Policies take their scoring models from the strategy given."""
        model = ScoringModel("m", [])
        policy = data.draw(policies(models=st.just(model)))
        assert policy.scoring is model

    @pytest.mark.parametrize(
        ("low", "high", "name"), [(0, 6, "min_stages"), (3, 2, "max_stages")]
    )
    def test_bad_sizes_rejected(self, low: int, high: int, name: str) -> None:
        """A policy has at least one stage, and min_stages <= max_stages."""
        with pytest.raises(InvalidArgument, match=name):
            policies(min_stages=low, max_stages=high)
