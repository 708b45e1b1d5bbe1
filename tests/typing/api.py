"""Every public name used as a user would: mypy --strict checks it, nobody runs it."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, assert_type

import attrs
import cattrs
import pytest
from hypothesis import strategies as st

import funnelkit
from funnelkit import (
    ANY_OPEN,
    MISSING,
    Activity,
    ActivityRecorded,
    ActivityRule,
    AddLead,
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    AttributeIs,
    AttributeRule,
    Bant,
    BantQualified,
    BusinessDuration,
    Clock,
    Commit,
    Context,
    Contribution,
    CriteriaRegistry,
    Criterion,
    CriterionLike,
    Decay,
    DidActivity,
    Event,
    Funnel,
    FunnelkitError,
    FunnelkitWarning,
    FunnelPolicy,
    GradeAtLeast,
    Grades,
    GuardFailed,
    HalfLife,
    IllegalTransition,
    InMemoryStore,
    Input,
    InStageFor,
    Lead,
    LeadAdded,
    LeadState,
    LeadUpdated,
    LinearDecay,
    Move,
    NaiveDatetimeError,
    Not,
    PolicyChange,
    PolicyError,
    Score,
    ScoreAtLeast,
    ScoreChanged,
    ScoreState,
    ScoringModel,
    SerializationError,
    SlaBreached,
    SlaCancelled,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaRule,
    SlaStarted,
    SlaTimer,
    SlaWarning,
    SQLiteStore,
    Stage,
    StageChanged,
    StageKind,
    StepDecay,
    Store,
    SubscriberError,
    SystemClock,
    Tick,
    Transition,
    TransitionRecord,
    UnknownLead,
    UpdateLead,
    ValidationError,
    ValueTest,
    Verdict,
    absent,
    between,
    diff_policies,
    dump_policy,
    email_domain,
    equals,
    format_duration,
    kinds,
    load_policy,
    matches,
    one_of,
    parse_duration,
    policies,
    present,
)
from funnelkit.errors import PolicyFileError
from funnelkit.policies import b2b_scoring_model
from funnelkit.serialization import (
    converter,
    from_json,
    structure,
    to_json,
    unstructure,
)
from funnelkit.testing import Case, ManualClock, Mismatch, Scenario, check_policy
from funnelkit.testing import strategies as fst
from funnelkit.testing.pytest_plugin import FUNNEL_CLOCK_START, ScenarioFactory


def lead_data() -> None:
    """Lead, Bant and Activity."""
    lead = Lead(
        "L-1",
        datetime(2026, 3, 2, tzinfo=UTC),
        email="a@example.com",
        attributes={"employees": 10, "industry": "software", "churned": False},
        bant=Bant(budget=True, timeline=date(2026, 6, 1)),
        source="web",
        owner="ana",
    )
    assert_type(lead.attributes["employees"], str | int | float | bool | None)
    assert_type(lead.bant.confirmed, int)
    activity = Activity(
        lead.id, kinds.DEMO_REQUEST, lead.created_at, properties={"n": 1}
    )
    assert_type(activity.id, str)
    assert_type(attrs.evolve(activity, id=None), Activity)
    assert_type(kinds.HAND_RAISERS, frozenset[str])


def time_rules(clock: Clock) -> None:
    """Clocks and durations."""
    assert_type(clock.now(), datetime)
    assert_type(SystemClock().now(), datetime)
    manual = ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
    assert_type(manual.advance(timedelta(hours=1)), datetime)
    assert_type(manual.set(datetime(2026, 3, 3, tzinfo=UTC)), datetime)
    duration = parse_duration("8 business hours")
    assert_type(duration, timedelta | BusinessDuration)
    assert_type(format_duration(BusinessDuration(days=1) + BusinessDuration()), str)


def scoring(lead: Lead, activities: list[Activity]) -> None:
    """Models, rules, tests, decay, scores."""
    model = ScoringModel(
        "m",
        [
            AttributeRule("industry", one_of("a", "b") | equals("c"), 10),
            AttributeRule("employees", between(1, None) & ~absent(), 5),
            AttributeRule("title", matches("VP", ignore_case=True), 5, dimension="fit"),
            AttributeRule("email.domain", present(), 1, name="has email"),
            ActivityRule(kinds.PAGE_VIEW, 1, max_count=3, per=timedelta(days=1)),
            ActivityRule({"a", "b"}, 2, where={"p": 1}, within=timedelta(days=9)),
            ActivityRule("c", 3, decay=StepDecay(timedelta(days=1), 0.5), max_points=9),
            ActivityRule("d", -1, decay=None),
        ],
        decay=HalfLife(timedelta(days=30)),
        grades=Grades(fit={"A": 10, "B": None}),
        limits={"engagement": (0, 100)},
    )
    score = model.score(lead, activities, at=datetime(2026, 3, 2, tzinfo=UTC))
    assert_type(score, Score)
    assert_type(score.total, float)
    assert_type(score.matrix, str)
    assert_type(score.explain(), str)
    for item in score.contributions:
        assert_type(item, Contribution)
        assert_type(item.activity_ids, tuple[str, ...])
    state: ScoreState = model.scorer(lead)
    state.add(activities[0])
    assert_type(state.score(datetime(2026, 3, 2, tzinfo=UTC)), Score)
    assert_type(LinearDecay(timedelta(days=60)).weight(1.0), float)
    assert_type(email_domain("a@b.c"), str | None)
    assert_type(b2b_scoring_model(), ScoringModel)
    assert MISSING is not None
    try:
        ScoringModel("", [])
    except PolicyError as error:
        assert_type(error.field, str)


def serialization(lead: Lead) -> None:
    """JSON and plain-data round trips."""
    assert_type(from_json(to_json(lead), Lead), Lead)
    assert_type(structure(unstructure(lead), Lead), Lead)
    assert_type(converter.copy(), cattrs.Converter)


def errors() -> None:
    """Errors carry data."""
    try:
        parse_duration("soon")
    except ValidationError as error:
        assert_type(error.field, str)
        assert_type(error.expected, str)
    except NaiveDatetimeError as error:
        assert_type(error.value, object)
    except SerializationError as error:
        assert_type(error.problems, tuple[tuple[str, str], ...])
    except FunnelkitError:
        pass
    assert issubclass(FunnelkitWarning, UserWarning)
    assert_type(funnelkit.__version__, str)


def strategies() -> None:
    """Hypothesis strategies."""
    assert_type(fst.leads(), st.SearchStrategy[Lead])
    assert_type(
        fst.activities(kinds=st.just(kinds.PAGE_VIEW)), st.SearchStrategy[Activity]
    )
    assert_type(fst.bants(), st.SearchStrategy[Bant])


def each_event(events: list[Event]) -> None:
    """Every event type narrows to its own fields."""
    for event in events:
        if isinstance(event, StageChanged):
            assert_type(event.record, TransitionRecord)
        elif isinstance(event, ScoreChanged):
            assert_type(event.score, Score)
        elif isinstance(event, LeadAdded | LeadUpdated):
            assert_type(event.lead_id, str)
        elif isinstance(
            event, SlaStarted | SlaWarning | SlaMet | SlaCancelled | SlaPaused
        ):
            assert_type(event.timer, SlaTimer)
        elif isinstance(event, SlaResumed):
            assert_type(event.at, datetime)
        elif isinstance(event, SlaBreached):
            assert_type(event.escalate_to, str | None)
        else:
            assert_type(event, ActivityRecorded)


def criteria_and_funnel(lead: Lead, activity: Activity) -> None:
    """Criteria, the policy, the engine, its events and its store."""
    guard = (
        ScoreAtLeast(40, "engagement")
        & GradeAtLeast("B")
        & ~DidActivity(kinds.UNSUBSCRIBE, within=timedelta(days=30))
    ) | AtLeast(2, BantQualified(3), InStageFor(timedelta(days=1)), Always())
    assert_type(guard, AnyOf)
    assert isinstance(AllOf(), Criterion)
    assert isinstance(Not(AttributeIs("industry", "software")), CriterionLike)

    class NotACustomer(Criterion):
        def check(self, ctx: Context) -> Verdict:
            return Verdict(passed=True, criterion="new", reason=ctx.lead.id)

    stage_kind: StageKind = "nurture"
    policy = FunnelPolicy(
        name="p",
        version=1,
        stages=[Stage("lead"), Stage("mql"), Stage("later", stage_kind)],
        transitions=[
            Transition(source="lead", target="mql", guard=guard, auto=True),
            Transition(source=ANY_OPEN, target="later", guard=NotACustomer()),
        ],
        initial="lead",
        scoring=b2b_scoring_model(),
    )
    assert_type(policies.b2b_saas(), FunnelPolicy)
    assert_type(policy.exits("lead"), tuple[Transition, ...])
    store: Store = InMemoryStore()
    funnel = Funnel(policy, store=store, clock=ManualClock(lead.created_at))
    events: list[Event] = funnel.add_lead(lead)
    events += funnel.record(activity)
    events += funnel.update_lead(lead, at=lead.created_at)
    events += funnel.move(lead.id, "later", by="rep", reason="why", override=True)
    events += funnel.tick()
    events += funnel.pause_timer(lead.id, "answered")
    events += funnel.resume_timer(lead.id, "answered")
    assert_type(funnel.timers(lead.id), tuple[SlaTimer, ...])
    assert_type(funnel.overdue(), list[tuple[str, SlaTimer]])
    each_event(events)
    assert_type(funnel.state(lead.id), LeadState)
    assert_type(funnel.can_move(lead.id, "mql"), Verdict)
    assert_type(funnel.available_moves(lead.id), Mapping[str, Verdict])
    assert_type(funnel.score(lead.id), Score)
    inputs: tuple[Input, ...] = funnel.inputs()
    assert_type(Funnel(policy).replay(inputs), list[Event])
    log: list[Input] = [AddLead(lead), UpdateLead(lead, lead.created_at), activity]
    log += [Move(lead_id=lead.id, to="mql", by="rep", at=lead.created_at)]
    log += [Tick(lead.created_at)]
    store.commit(Commit(input=log[0]))
    unsubscribe = funnel.subscribe(print)
    unsubscribe()
    try:
        funnel.move(lead.id, "mql", by="rep")
    except GuardFailed as error:
        assert_type(error.verdict, Any)
    except IllegalTransition as error:
        assert_type(error.allowed, tuple[str, ...])
    except UnknownLead as error:
        assert_type(error.lead_id, object)
    except SubscriberError as error:
        assert_type(error.events, tuple[Event, ...])
    assert_type(from_json(to_json(events, cls=list[Event]), list[Event]), list[Event])


def policy_files(path: Path) -> None:
    """Policy files, the registry, fingerprints and diffs."""
    registry = CriteriaRegistry({})
    policy = load_policy(path, criteria=registry)
    again = load_policy(dump_policy(policy, "json", criteria=registry), format="json")
    assert_type(policy, FunnelPolicy)
    assert_type(policy.fingerprint, str)
    changes: tuple[PolicyChange, ...] = diff_policies(policy, again)
    _ = [(c.path, c.before, c.after, c.description) for c in changes]
    assert_type(registry.names, tuple[str, ...])
    try:
        load_policy("name = 1\n")
    except PolicyFileError as error:
        assert_type(error.problems, tuple[tuple[str, str], ...])
        assert_type(error.source, str | None)


def testing_toolkit(scenario: ScenarioFactory) -> None:
    """Story and table tests, and the plugin's factory."""
    policy = policies.b2b_saas()
    clock = ManualClock(FUNNEL_CLOCK_START)
    clock.advance("9 business hours", calendar=policy.calendar)
    clock.advance(BusinessDuration(days=1), calendar=policy.calendar)
    clock.advance(timedelta(hours=1))
    story: Scenario = (
        Scenario(
            policy, start="2026-03-02 09:00", timezone="Europe/Berlin", clock=clock
        )
        .lead(industry="software", employees=200)
        .at("+1h")
        .does("webinar_attended", topic="pricing")
        .advance("2 business hours")
        .move("sal", by="rep:ana", reason=None, override=False)
        .expect_stage("sal")
        .expect_score(total=None, fit=50, engagement=pytest.approx(15, abs=1))
        .expect_grade("B")
        .expect_met("mql_accepted")
        .expect_no_breach()
    )
    story.use(story.lead_id)
    _ = (story.events, story.state, story.funnel, story.clock, story.now, story.policy)
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    lead = Lead("L-1", at)
    case = Case(
        lead,
        [Activity("L-1", "demo_request", at)],
        expect_stage="sql",
        expect_grade="B",
        at=at,
        name="hand-raiser",
    )
    found: list[Mismatch] = check_policy(policy, [case])
    _ = [(m.case, m.field, m.expected, m.found, m.explanation) for m in found]
    scenario(policy, start=at, timezone="UTC").lead()


def durable_store(lead: Lead) -> None:
    """SQLiteStore: options, a batch, the policy check."""
    with SQLiteStore(":memory:", timeout=1, synchronous="NORMAL") as durable:
        funnel = Funnel(policies.b2b_saas(), store=durable, accept_policy_change=True)
        with durable.batch():
            events: list[Event] = funnel.add_lead(lead)
        assert_type(durable.written_under(), str | None)
        assert_type(durable.path, str)
        each_event(events)


def extension_points(lead: Lead) -> None:
    """A host's own criteria, clock, store, decay and value test, with no cast."""

    class Plain:  # no base class: the protocol alone
        def check(self, ctx: Context) -> Verdict:
            return Verdict(passed=True, criterion="plain", reason=ctx.stage)

    @attrs.frozen
    class Waited(Criterion):
        wait: timedelta

        def check(self, ctx: Context) -> Verdict:
            waited = ctx.now - ctx.entered_at >= self.wait
            return Verdict(passed=waited, criterion="waited", reason="r")

        def wake_at(self, ctx: Context) -> datetime | None:
            return ctx.entered_at + self.wait

        def describe(self) -> str:
            return f"waited {self.wait}"

    assert_type(Plain() & Waited(timedelta(days=1)), AllOf)
    assert_type(Waited(timedelta(days=1)) | Plain(), AnyOf)
    assert_type(~Waited(timedelta(days=1)), Criterion)
    guard: CriterionLike = AtLeast(1, Plain(), AllOf(Plain()), AnyOf(), Not(Plain()))
    registry = CriteriaRegistry()
    registry.register("waited", Waited)

    class Fixed:
        def now(self) -> datetime:
            return lead.created_at

    class Cliff(Decay):
        def weight(self, age_seconds: float) -> float:
            return float(age_seconds < 86_400)

        def describe(self) -> str:
            return "gone after a day"

    class Short(ValueTest):
        def evaluate(self, value: object) -> tuple[bool, str]:
            return isinstance(value, str) and len(value) < 5, f"is {value!r}"

        def describe(self) -> str:
            return "is short"

    model = ScoringModel("own", [AttributeRule("industry", Short(), 5)], decay=Cliff())
    policy = FunnelPolicy(
        name="own",
        version=1,
        stages=[Stage("lead"), Stage("mql")],
        transitions=[Transition(source="lead", target="mql", guard=guard, auto=True)],
        initial="lead",
        scoring=model,
        slas=[
            SlaRule(name="s", stage="mql", within=timedelta(hours=1), met_by=Plain())
        ],
    )
    clock: Clock = Fixed()
    funnel = Funnel(policy, store=InMemoryStore(), clock=clock)
    funnel.subscribe(lambda event: funnel.state(event.lead_id))
