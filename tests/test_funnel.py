"""The engine: leads, activities, moves, ticks, replay, threads, and its laws."""

from __future__ import annotations

import gc
import pickle
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from funnelkit import (
    ANY_OPEN,
    EXIT,
    Activity,
    ActivityRecorded,
    ActivityRule,
    AddLead,
    AttributeIs,
    Commit,
    Context,
    Criterion,
    DidActivity,
    Event,
    Funnel,
    FunnelkitError,
    FunnelPolicy,
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
    Move,
    MoveTo,
    NaiveDatetimeError,
    Not,
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
    Store,
    SubscriberError,
    Tick,
    Transition,
    UnknownLead,
    UpdateLead,
    ValidationError,
    Verdict,
    policies,
)
from funnelkit._store import _Recorded, _SortedInts
from funnelkit.serialization import from_json, structure, to_json, unstructure
from funnelkit.testing import ManualClock
from funnelkit.testing import strategies as draw

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)

MODEL = ScoringModel(
    "m",
    [ActivityRule("webinar", 30), ActivityRule("download", 10)],
    limits={"engagement": (0, 100)},
)


def policy(*extra: Transition, model: ScoringModel = MODEL) -> FunnelPolicy:
    """lead -> mql (auto, engagement 40) -> sal -> sql -> won; lost; nurture."""
    return FunnelPolicy(
        name="test",
        version=1,
        stages=[
            Stage("lead"),
            Stage("mql"),
            Stage("sal"),
            Stage("sql"),
            Stage("won", "won"),
            Stage("nurture", "nurture"),
            Stage("lost", "lost"),
        ],
        transitions=[
            *extra,
            Transition(
                source="lead",
                target="mql",
                guard=ScoreAtLeast(40, "engagement"),
                auto=True,
            ),
            Transition(source="mql", target="sal"),
            Transition(source="sal", target="sql", guard=AttributeIs("budget", True)),
            Transition(source="sql", target="won"),
            Transition(source={"mql", "sal"}, target="nurture", requires_reason=True),
            Transition(source=ANY_OPEN, target="lost", reasons=["bad_data", "spam"]),
            Transition(source="nurture", target="mql", guard=DidActivity("demo")),
        ],
        initial="lead",
        scoring=model,
    )


AUTO_VIP = Transition(
    source="lead", target="sql", guard=AttributeIs("vip", True), auto=True
)


def lead(lead_id: str = "L-1", **attributes: object) -> Lead:
    """A lead created at T0, with *attributes*."""
    return Lead(lead_id, T0, email="ana@example.com", attributes=attributes)  # type: ignore[arg-type]


def act(kind: str, at: datetime, lead_id: str = "L-1", n: int = 0) -> Activity:
    """An activity of *lead_id* with a readable id."""
    return Activity(lead_id, kind, at, id=f"{lead_id}-{kind}-{n}-{at.isoformat()}")


def funnel(*extra: Transition, clock: ManualClock | None = None) -> Funnel:
    """A funnel of the test policy, with L-1 added."""
    made = Funnel(policy(*extra), clock=clock or ManualClock(T0))
    made.add_lead(lead())
    return made


def kinds(events: list[Event]) -> list[str]:
    """The names of the events' types."""
    return [type(event).__name__ for event in events]


def snapshot(made: Funnel) -> tuple[object, ...]:
    """Everything a store holds, to compare before and after a failed call."""
    store = made.store
    return (
        tuple(store.inputs()),
        tuple(
            (store.state(i), tuple(store.activities(i)), store.wake(i))
            for i in store.lead_ids()
        ),
    )


class TestConstruction:
    @pytest.mark.parametrize(
        ("arguments", "field"),
        [
            ({"policy": None}, "policy"),
            ({"store": object()}, "store"),
            ({"clock": object()}, "clock"),
            ({"create_leads": 1}, "create_leads"),
            ({"scorers": 0}, "scorers"),
            ({"scorers": -3}, "scorers"),
            ({"scorers": 2.0}, "scorers"),
            ({"scorers": True}, "scorers"),
        ],
    )
    def test_bad_arguments(self, arguments: dict[str, object], field: str) -> None:
        """A bad argument to Funnel raises a ValidationError naming it."""
        parts: dict[str, object] = {"policy": policy(), **arguments}
        with pytest.raises(ValidationError) as info:
            Funnel(**parts)  # type: ignore[arg-type]
        assert info.value.field == field

    def test_a_store_lacking_methods_is_told_which(self) -> None:
        """A store missing protocol methods is refused with their names."""

        class Partial(InMemoryStore):
            due = None  # type: ignore[assignment] # the mistake tested
            has_activity = 3  # type: ignore[assignment] # the mistake tested

        with pytest.raises(ValidationError) as info:
            Funnel(policy(), store=Partial())  # type: ignore[arg-type]
        assert info.value.field == "store"
        assert info.value.expected.endswith("it lacks has_activity, due")
        with pytest.raises(ValidationError) as info:
            Funnel(policy(), store=object())  # type: ignore[arg-type]
        assert "it lacks transaction, written_under, state, " in info.value.expected

    def test_defaults(self) -> None:
        """By default a funnel keeps its state in memory and reads the system clock."""
        made = Funnel(policy())
        assert isinstance(made.store, InMemoryStore)
        assert made.policy == policy()
        assert len(made) == 0
        assert "L-1" not in made
        assert made.tick() == []

    def test_repr_shows_no_personal_data(self) -> None:
        """The reprs of a funnel, its store and a lead state name leads by id only."""
        made = funnel()
        assert repr(made) == "<funnelkit.Funnel policy='test@1' leads=1 open_timers=0>"
        assert "ana" not in repr(made.state("L-1"))
        assert "L-1" in repr(made.state("L-1"))
        assert repr(made.store).startswith("<funnelkit.InMemoryStore leads=1")


class TestAddLead:
    def test_enters_the_initial_stage(self) -> None:
        """A new lead enters the initial stage at its created_at, scored."""
        made = Funnel(policy(), clock=ManualClock(T0))
        events = made.add_lead(lead())
        assert kinds(events) == ["LeadAdded", "StageChanged", "ScoreChanged"]
        state = made.state("L-1")
        assert (state.stage, state.entered_at, state.updated_at) == ("lead", T0, T0)
        assert state.history[0].source is None
        assert state.history[0].by == "auto"
        assert "L-1" in made
        assert len(made) == 1

    def test_adding_the_same_lead_again_does_nothing(self) -> None:
        """Adding an equal lead again returns no events and logs nothing."""
        made = funnel()
        assert made.add_lead(lead()) == []
        assert len(made.inputs()) == 1

    def test_another_lead_with_the_id_is_refused(self) -> None:
        """A different lead with a known id raises and changes nothing."""
        made = funnel()
        before = snapshot(made)
        with pytest.raises(ValidationError) as info:
            made.add_lead(lead(industry="x"))
        assert info.value.field == "lead"
        assert snapshot(made) == before

    def test_not_a_lead(self) -> None:
        """Something else than a Lead raises a ValidationError naming 'lead'."""
        with pytest.raises(ValidationError) as info:
            funnel().add_lead("L-2")  # type: ignore[arg-type]
        assert info.value.field == "lead"

    def test_fit_alone_can_move_a_new_lead(self) -> None:
        """An automatic move whose guard passes on the lead alone fires on adding."""
        made = Funnel(
            policy(
                Transition(
                    source="lead",
                    target="mql",
                    guard=AttributeIs("vip", True),
                    auto=True,
                )
            )
        )
        events = made.add_lead(lead(vip=True))
        assert kinds(events)[-1] == "StageChanged"
        assert made.state("L-1").stage == "mql"


class TestRecord:
    def test_scores_and_moves_automatically(self) -> None:
        """Activities raise the score; the auto move fires when its guard passes."""
        made = funnel()
        assert kinds(made.record(act("webinar", T0 + H))) == [
            "ActivityRecorded",
            "ScoreChanged",
        ]
        events = made.record(act("download", T0 + 2 * H))
        assert kinds(events) == ["ActivityRecorded", "ScoreChanged", "StageChanged"]
        change = events[-1]
        assert isinstance(change, StageChanged)
        assert (change.record.source, change.record.target) == ("lead", "mql")
        assert change.record.by == "auto"
        assert change.record.verdict is not None
        assert change.record.verdict.passed
        assert change.at == T0 + 2 * H
        state = made.state("L-1")
        assert state.activities == 2
        assert state.score.engagement == 40

    def test_automatic_moves_chain_in_one_call(self) -> None:
        """lead -> mql -> sal in one record when both guards pass, both dated alike."""
        made = funnel(
            Transition(
                source="mql", target="sal", guard=DidActivity("webinar"), auto=True
            )
        )
        made.record(act("download", T0 + H))
        events = made.record(act("webinar", T0 + 2 * H))
        moves = [e.record for e in events if isinstance(e, StageChanged)]
        assert [(m.source, m.target) for m in moves] == [
            ("lead", "mql"),
            ("mql", "sal"),
        ]
        assert {m.at for m in moves} == {T0 + 2 * H}
        assert made.state("L-1").stage == "sal"

    def test_an_unchanged_score_emits_no_score_event(self) -> None:
        """An activity no rule scores is recorded without a ScoreChanged."""
        made = funnel()
        assert kinds(made.record(act("page_view", T0 + H))) == ["ActivityRecorded"]

    def test_duplicate_is_ignored(self) -> None:
        """A second activity with a seen id returns no events and changes nothing."""
        made = funnel()
        made.record(act("webinar", T0 + H))
        before = snapshot(made)
        assert made.record(act("webinar", T0 + H)) == []
        assert snapshot(made) == before

    def test_same_id_on_another_lead_counts(self) -> None:
        """Ids are a lead's own: another lead's activity with the same id is new."""
        made = funnel()
        made.add_lead(lead("L-2"))
        made.record(Activity("L-1", "webinar", T0 + H, id="A"))
        assert made.record(Activity("L-2", "webinar", T0 + H, id="A")) != []

    def test_unknown_lead(self) -> None:
        """An activity of an unknown lead raises UnknownLead and changes nothing."""
        made = funnel()
        before = snapshot(made)
        with pytest.raises(UnknownLead) as info:
            made.record(act("webinar", T0, lead_id="L-9"))
        assert info.value.lead_id == "L-9"
        assert isinstance(info.value, KeyError)
        assert str(info.value) == "no lead with id 'L-9' in the funnel"
        assert snapshot(made) == before

    def test_create_leads_on_first_activity(self) -> None:
        """With create_leads, an unknown lead is created at its first activity."""
        made = Funnel(policy(), create_leads=True)
        events = made.record(act("webinar", T0, lead_id="L-5"))
        assert kinds(events)[:2] == ["LeadAdded", "StageChanged"]
        assert "ActivityRecorded" in kinds(events)
        assert made.state("L-5").lead == Lead("L-5", T0)

    def test_replay_creates_the_leads_created_on_first_activity(self) -> None:
        """A log with leads made by create_leads replays into any funnel, the same."""
        made = Funnel(policy(), create_leads=True)
        events = made.record(act("webinar", T0, lead_id="L-5"))
        events += made.record(act("download", T0 + H, lead_id="L-5"))
        again = Funnel(policy())
        assert again.replay(made.inputs()) == events
        assert again.state("L-5") == made.state("L-5")
        with pytest.raises(UnknownLead):  # its own calls still refuse unknown leads
            again.record(act("webinar", T0, lead_id="L-6"))

    def test_not_an_activity(self) -> None:
        """Something else than an Activity raises a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            funnel().record({"kind": "webinar"})  # type: ignore[arg-type]
        assert info.value.field == "activity"

    def test_late_arrival_counts_and_is_judged_at_the_later_time(self) -> None:
        """An activity older than the last update counts; the move is dated later."""
        made = funnel()
        made.record(act("webinar", T0 + 5 * H))
        events = made.record(act("download", T0 + H))
        change = events[-1]
        assert isinstance(change, StageChanged)
        assert change.at == T0 + 5 * H
        state = made.state("L-1")
        assert state.score.engagement == 40
        times = [record.at for record in state.history]
        assert times == sorted(times)
        assert [a.at for a in made.store.activities("L-1")] == [T0 + H, T0 + 5 * H]

    def test_a_failing_criterion_changes_nothing(self) -> None:
        """A guard that raises leaves the store exactly as it was."""

        class Broken(Criterion):
            def check(self, ctx: Context) -> Verdict:
                """Fail loudly once the lead has two activities."""
                if len(ctx.activities) > 1:
                    raise RuntimeError("broken")
                return Verdict(passed=False, criterion="broken", reason="not yet")

        made = funnel(
            Transition(source="lead", target="sql", guard=Broken(), auto=True)
        )
        made.record(act("webinar", T0 + H))
        before = snapshot(made)
        with pytest.raises(RuntimeError):
            made.record(act("download", T0 + 2 * H))
        assert snapshot(made) == before
        # The scorer was rebuilt from the store: the score is as before.
        assert made.score("L-1", at=T0 + 3 * H).engagement == 30

    def test_a_check_that_gives_no_verdict_changes_nothing(self) -> None:
        """A guard's check that returns a bool: a PolicyError, nothing changed."""

        class Yes(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- as the protocol
                return True  # type: ignore[return-value] # the mistake tested

            def passes(self, ctx: Context) -> bool:  # noqa: ARG002 -- as the protocol
                return True  # the quick answer right, the verdict not

        made = funnel(Transition(source="mql", target="won", guard=Yes(), auto=True))
        made.record(act("webinar", T0 + H))
        before = snapshot(made)
        with pytest.raises(PolicyError) as info:
            made.record(act("download", T0 + 2 * H))  # to mql, then the guard
        assert info.value.owner == "criterion 'Yes'"
        assert snapshot(made) == before
        made = funnel(Transition(source="lead", target="sal", guard=Yes()))
        before = snapshot(made)
        with pytest.raises(PolicyError):
            made.move("L-1", "sal", by="rep", at=T0 + H)
        assert snapshot(made) == before

    def test_a_cycle_of_automatic_moves_is_stopped(self) -> None:
        """Auto moves that go round a cycle raise a PolicyError and change nothing."""
        made = Funnel(
            policy(
                Transition(source="mql", target="nurture", auto=True),
                Transition(source="nurture", target="lead", auto=True),
                Transition(source="lead", target="mql", auto=True),
            )
        )
        before = snapshot(made)
        with pytest.raises(PolicyError) as info:
            made.add_lead(lead())
        assert info.value.field == "transitions"
        assert "lead -> mql -> nurture -> lead" in str(info.value.value)
        assert snapshot(made) == before

    def test_a_chain_as_long_as_the_stages_may_come_to_rest(self) -> None:
        """As many automatic moves as stages, then rest: a chain, not a cycle."""

        @attrs.frozen
        class NeverIn(Criterion):
            """Passes while the lead has never entered *stage*."""

            stage: str

            def check(self, ctx: Context) -> Verdict:
                entered = any(move.target == self.stage for move in ctx.history)
                return Verdict(passed=not entered, criterion="never in", reason="")

        two = FunnelPolicy(
            name="two",
            version=1,
            stages=[Stage("lead"), Stage("nurture", "nurture")],
            transitions=[
                Transition(
                    source="lead", target="nurture", guard=NeverIn("nurture"), auto=True
                ),
                Transition(source="nurture", target="lead", auto=True),
            ],
            initial="lead",
            scoring=MODEL,
        )
        made = Funnel(two)
        made.add_lead(lead())
        moves = [(move.source, move.target) for move in made.state("L-1").history]
        assert moves == [(None, "lead"), ("lead", "nurture"), ("nurture", "lead")]


class TestMove:
    def test_manual_moves_along_the_policy(self) -> None:
        """A person moves the lead; the record names who and when."""
        made = funnel(clock=ManualClock(T0 + D))
        made.record(act("webinar", T0 + H))
        made.record(act("download", T0 + H, n=1))
        events = made.move("L-1", "sal", by="rep")
        change = events[-1]
        assert isinstance(change, StageChanged)
        assert change.record.by == "rep"
        assert change.at == T0 + D
        assert made.state("L-1").entered_at == T0 + D

    def test_illegal_transition(self) -> None:
        """A move the policy lacks raises IllegalTransition listing what is allowed."""
        made = funnel()
        before = snapshot(made)
        with pytest.raises(IllegalTransition) as info:
            made.move("L-1", "won", by="rep")
        assert (info.value.source, info.value.target) == ("lead", "won")
        assert info.value.allowed == ("mql", "lost")
        assert snapshot(made) == before

    def test_guard_failed_holds_the_verdict(self) -> None:
        """A failing guard raises GuardFailed with the verdict, and changes nothing."""
        made = funnel()
        before = snapshot(made)
        with pytest.raises(GuardFailed) as info:
            made.move("L-1", "mql", by="rep")
        assert info.value.verdict.reason == "engagement score 0 is below 40"
        assert "engagement score 0 is below 40" in str(info.value)
        assert snapshot(made) == before

    def test_override_records_who_why_and_the_verdict(self) -> None:
        """An override forces the move and keeps the verdict it overrode."""
        made = funnel()
        events = made.move(
            "L-1", "mql", by="manager", reason="met at the fair", override=True
        )
        record = events[-1]
        assert isinstance(record, StageChanged)
        assert record.record.override
        assert record.record.reason == "met at the fair"
        assert record.record.verdict is not None
        assert not record.record.verdict.passed

    def test_override_needs_a_reason(self) -> None:
        """Forcing a move without a reason is refused."""
        with pytest.raises(ValidationError) as info:
            funnel().move("L-1", "mql", by="manager", override=True)
        assert info.value.field == "reason"

    def test_override_of_a_passing_guard_is_a_plain_move(self) -> None:
        """An override whose guard passes records no override."""
        made = funnel()
        made.record(act("webinar", T0 + H))
        made.record(act("download", T0 + H, n=1))
        events = made.move("L-1", "sal", by="rep", reason="ok", override=True)
        change = events[-1]
        assert isinstance(change, StageChanged)
        assert not change.record.override

    def test_required_reason_and_codes(self) -> None:
        """Moves that need a reason refuse none, and codes must be one of theirs."""
        made = funnel()
        with pytest.raises(ValidationError) as info:
            made.move("L-1", "lost", by="rep")
        assert "bad_data" in info.value.expected
        with pytest.raises(ValidationError):
            made.move("L-1", "lost", by="rep", reason="dunno")
        made.move("L-1", "lost", by="rep", reason="spam")
        assert made.state("L-1").history[-1].reason == "spam"

    def test_reason_required_without_codes(self) -> None:
        """A transition marked requires_reason takes any text, but not none."""
        made = funnel()
        made.move("L-1", "mql", by="m", reason="fair", override=True)
        with pytest.raises(ValidationError) as info:
            made.move("L-1", "nurture", by="rep")
        assert "'mql | sal -> nurture'" in info.value.expected
        made.move("L-1", "nurture", by="rep", reason="next quarter")

    @pytest.mark.parametrize(
        ("arguments", "field"),
        [
            ({"lead_id": ""}, "lead_id"),
            ({"to": 3}, "to"),
            ({"to": "nowhere"}, "to"),
            ({"by": ""}, "by"),
            ({"by": "auto"}, "by"),
            ({"reason": ""}, "reason"),
            ({"override": "yes"}, "override"),
            ({"at": T0 - D}, "at"),
            ({"at": datetime(2026, 3, 3)}, "at"),  # noqa: DTZ001 -- naive on purpose
        ],
    )
    def test_bad_arguments(self, arguments: dict[str, object], field: str) -> None:
        """A bad argument raises a ValidationError naming it, changing nothing."""
        made = funnel()
        before = snapshot(made)
        parts: dict[str, object] = {"lead_id": "L-1", "to": "mql", "by": "rep"}
        parts.update(arguments)
        lead_id, to = parts.pop("lead_id"), parts.pop("to")
        with pytest.raises(ValidationError) as info:
            made.move(lead_id, to, **parts)  # type: ignore[arg-type]
        assert info.value.field == field
        assert snapshot(made) == before

    def test_naive_at_is_a_naive_datetime_error(self) -> None:
        """A naive 'at' raises NaiveDatetimeError."""
        with pytest.raises(NaiveDatetimeError):
            funnel().move("L-1", "lost", by="r", reason="spam", at=datetime(2026, 3, 3))  # noqa: DTZ001 -- naive on purpose

    def test_unknown_lead(self) -> None:
        """Moving an unknown lead raises UnknownLead."""
        with pytest.raises(UnknownLead):
            funnel().move("L-9", "mql", by="rep")

    def test_first_passing_transition_is_taken(self) -> None:
        """With several transitions to a stage, the first whose guard passes is used."""
        made = funnel(
            Transition(
                source="lead", target="sql", guard=AttributeIs("vip", True), name="vip"
            ),
            Transition(source="lead", target="sql", guard=DidActivity("demo")),
        )
        with pytest.raises(GuardFailed) as info:
            made.move("L-1", "sql", by="rep")
        assert len(info.value.verdict.children) == 2
        made.record(act("demo", T0 + H))
        events = made.move("L-1", "sql", by="rep")
        change = events[-1]
        assert isinstance(change, StageChanged)
        assert change.record.verdict is not None
        assert "demo" in change.record.verdict.criterion

    def test_automatic_moves_follow_a_manual_one(self) -> None:
        """After a manual move, automatic moves out of the new stage are tried."""
        made = funnel(Transition(source="nurture", target="lost", auto=True))
        made.move("L-1", "mql", by="m", reason="r", override=True)
        events = made.move("L-1", "nurture", by="rep", reason="later")
        assert [e.record.target for e in events if isinstance(e, StageChanged)] == [
            "nurture",
            "lost",
        ]


class TestQuestions:
    def test_can_move_never_raises_for_a_refusal(self) -> None:
        """can_move returns failing verdicts for a failing guard and a missing move."""
        made = funnel()
        assert not made.can_move("L-1", "mql")
        missing = made.can_move("L-1", "won")
        assert not missing
        assert "no move from lead to won" in missing.reason
        assert made.can_move("L-1", "lost")
        assert len(made.inputs()) == 1

    def test_moves_that_all_fail_give_one_failing_verdict_of_each(self) -> None:
        """Two moves to a stage, both refused: a failing verdict holding both."""
        made = funnel(
            Transition(source="lead", target="mql", guard=DidActivity("demo"))
        )
        verdict = made.can_move("L-1", "mql")
        assert verdict.passed is False
        assert verdict.criterion == "any move from lead to mql"
        assert [child.passed for child in verdict.children] == [False, False]
        with pytest.raises(GuardFailed) as raised:
            made.move("L-1", "mql", by="rep")
        assert raised.value.verdict == verdict

    def test_can_move_checks_its_arguments(self) -> None:
        """can_move refuses unknown stages and leads."""
        made = funnel()
        with pytest.raises(ValidationError):
            made.can_move("L-1", "nowhere")
        with pytest.raises(UnknownLead):
            made.can_move("L-2", "mql")
        with pytest.raises(UnknownLead):
            made.state(3)  # type: ignore[arg-type]

    def test_available_moves(self) -> None:
        """available_moves lists each target with the verdict of its guard."""
        moves = funnel().available_moves("L-1")
        assert list(moves) == ["mql", "lost"]
        assert not moves["mql"]
        assert moves["lost"]

    def test_score_at_any_time(self) -> None:
        """score() reads the score at an instant, the clock's now by default."""
        clock = ManualClock(T0 + 2 * H)
        made = funnel(clock=clock)
        made.record(act("webinar", T0 + H))
        assert made.score("L-1").engagement == 30
        assert made.score("L-1", at=T0).engagement == 0

    def test_score_names_its_own_bad_at(self) -> None:
        """score() at a naive or non-datetime instant names Funnel.score's 'at'."""
        for at in (datetime(2026, 3, 2), "2026-03-02"):  # noqa: DTZ001 -- naive on purpose
            with pytest.raises(ValidationError) as info:
                funnel().score("L-1", at=at)  # type: ignore[arg-type]
            assert (info.value.owner, info.value.field) == ("Funnel.score", "at")

    def test_update_lead_rescores_and_moves(self) -> None:
        """Updating a lead re-checks its guards with the new attributes."""
        made = funnel(
            Transition(
                source="lead", target="sql", guard=AttributeIs("vip", True), auto=True
            )
        )
        events = made.update_lead(lead(vip=True), at=T0 + H)
        assert kinds(events)[0] == "LeadUpdated"
        assert isinstance(events[0], LeadUpdated)
        assert events[0].lead_id == "L-1"
        assert made.state("L-1").stage == "sql"
        assert made.update_lead(lead(vip=True)) == []

    @pytest.mark.parametrize(
        ("before", "after"),
        [(1, True), (True, 1), (1, 1.0), (0, False)],
    )
    def test_an_update_python_finds_equal_is_a_change(
        self, before: object, after: object
    ) -> None:
        """A value Python finds equal but of another type (1, True, 1.0) is a change."""
        made = Funnel(policy(AUTO_VIP), clock=ManualClock(T0))
        made.add_lead(lead(vip=before))
        events = made.update_lead(lead(vip=after), at=T0 + H)
        assert kinds(events)[0] == "LeadUpdated"
        assert type(made.state("L-1").lead.attributes["vip"]) is type(after)
        moved = before is True or after is True  # AttributeIs("vip", True) passed
        assert made.state("L-1").stage == ("sql" if moved else "lead")
        with pytest.raises(ValidationError):
            made.add_lead(lead(vip=before))  # another lead with the id
        assert made.add_lead(lead(vip=after)) == []

    def test_an_update_to_another_zone_is_a_change(self) -> None:
        """The same creation instant written in another zone is kept as written."""
        made = funnel()
        paris = Lead(
            "L-1",
            T0.astimezone(timezone(timedelta(hours=1))),
            email="ana@example.com",
        )
        assert kinds(made.update_lead(paris, at=T0 + H))[0] == "LeadUpdated"
        assert made.state("L-1").lead.created_at.utcoffset() == timedelta(hours=1)

    def test_update_lead_checks(self) -> None:
        """Updating needs a known lead, a Lead, and a time after the last update."""
        made = funnel()
        with pytest.raises(UnknownLead):
            made.update_lead(lead("L-2"))
        with pytest.raises(ValidationError):
            made.update_lead("L-1")  # type: ignore[arg-type]
        made.record(act("webinar", T0 + D))
        with pytest.raises(ValidationError) as info:
            made.update_lead(lead(x=1), at=T0 + H)
        assert info.value.field == "at"

    def test_update_keeps_activities(self) -> None:
        """After an update the score still counts the lead's activities."""
        made = funnel()
        made.record(act("webinar", T0 + H))
        made.update_lead(lead(x=1))
        assert made.state("L-1").score.engagement == 30

    def test_clock_must_be_aware(self) -> None:
        """A clock that returns naive datetimes is refused when read."""

        @attrs.define
        class Naive:
            def now(self) -> datetime:
                """Return a naive datetime."""
                return datetime(2026, 3, 3)  # noqa: DTZ001 -- naive on purpose

        made = Funnel(policy(), clock=Naive())
        with pytest.raises(NaiveDatetimeError):
            made.tick()


class TestTick:
    def test_time_in_stage_moves_on_tick(self) -> None:
        """A lead waiting on InStageFor moves when a tick passes the instant."""
        made = funnel(
            Transition(source="lead", target="nurture", guard=InStageFor(D), auto=True)
        )
        assert made.store.wake("L-1") == T0 + D
        assert made.tick(T0 + H) == []
        events = made.tick(T0 + 2 * D)
        assert kinds(events) == ["StageChanged"]
        assert events[0].at == T0 + D
        assert made.state("L-1").stage == "nurture"
        assert made.store.wake("L-1") is None
        assert made.inputs()[-1] == Tick(T0 + 2 * D)

    def test_naive_now(self) -> None:
        """tick refuses a naive now."""
        with pytest.raises(NaiveDatetimeError):
            funnel().tick(datetime(2026, 3, 3))  # noqa: DTZ001 -- naive on purpose

    def test_record_catches_up_with_a_due_wake(self) -> None:
        """An input after a due wake first applies the wake, at its own instant."""
        made = funnel(
            Transition(source="lead", target="nurture", guard=InStageFor(D), auto=True)
        )
        events = made.record(act("webinar", T0 + 2 * D))
        change = next(e for e in events if isinstance(e, StageChanged))
        assert change.at == T0 + D
        assert kinds(events)[0] == "StageChanged"

    def test_cadence_does_not_matter(self) -> None:
        """Ticking hourly or once gives the same states and transitions."""
        extra = (
            Transition(source="lead", target="nurture", guard=InStageFor(D), auto=True),
            Transition(source="nurture", target="lost", guard=InStageFor(D), auto=True),
        )
        once, hourly = funnel(*extra), funnel(*extra)
        once.tick(T0 + 3 * D)
        for hour in range(72):
            hourly.tick(T0 + hour * H)
        assert once.state("L-1") == hourly.state("L-1")

    def test_decay_crossing_a_threshold_wakes_the_lead(self) -> None:
        """A score decaying below a threshold moves the lead at that second."""
        model = ScoringModel(
            "decaying",
            [ActivityRule("webinar", 40)],
            decay=HalfLife(timedelta(days=10)),
        )
        made = Funnel(
            policy(
                Transition(
                    source="mql",
                    target="nurture",
                    guard=Not(ScoreAtLeast(20, "engagement")),
                    auto=True,
                ),
                model=model,
            )
        )
        made.add_lead(lead())
        made.record(act("webinar", T0))
        assert made.state("L-1").stage == "mql"
        # 40 points halve to 20 in 10 days: the score is below 20 just after.
        wake = made.store.wake("L-1")
        assert wake is not None
        assert T0 + 10 * D < wake <= T0 + 10 * D + timedelta(seconds=2)
        events = made.tick(T0 + 30 * D)
        change = next(e for e in events if isinstance(e, StageChanged))
        assert change.record.target == "nurture"
        assert change.at == wake

    def test_a_criterion_that_always_wakes_is_bounded(self) -> None:
        """A criterion asking to be woken every microsecond cannot stall a tick."""

        @attrs.frozen
        class Restless(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- never passes
                """Never pass."""
                return Verdict(passed=False, criterion="restless", reason="never")

            def wake_at(self, ctx: Context) -> datetime:
                """Ask to be woken a microsecond later, forever."""
                return ctx.now + timedelta(microseconds=1)

        made = funnel(
            Transition(source="lead", target="sql", guard=Restless(), auto=True)
        )
        made.tick(T0 + D)
        assert made.state("L-1").updated_at == T0 + D
        assert made.store.wake("L-1") == T0 + D + timedelta(microseconds=1)

    def test_a_restless_criterion_over_a_decaying_score_is_bounded(self) -> None:
        """A score changing at every wake is no progress: the bound still applies."""

        @attrs.frozen
        class Pinger(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- never passes
                """Never pass."""
                return Verdict(passed=False, criterion="ping", reason="never")

            def wake_at(self, ctx: Context) -> datetime:
                """Ask to be woken a minute later, forever."""
                return ctx.now + timedelta(minutes=1)

        base = policies.b2b_saas()
        ping = Transition(source="lead", target="nurture", guard=Pinger(), auto=True)
        made = Funnel(
            attrs.evolve(base, transitions=(*base.transitions, ping)),
            clock=ManualClock(T0),
        )
        made.add_lead(Lead("L-1", T0))
        made.record(Activity("L-1", "webinar_attended", T0))
        events = made.tick(T0 + 30 * D)
        assert 0 < len(events) <= 101
        assert all(isinstance(event, ScoreChanged) for event in events)

    def test_the_verdict_decides_an_automatic_move(self) -> None:
        """A guard whose quick answer says yes but whose verdict says no holds."""

        @attrs.frozen
        class Hasty(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- never passes
                """Fail, on reflection."""
                return Verdict(passed=False, criterion="hasty", reason="on reflection")

            def passes(self, ctx: Context) -> bool:  # noqa: ARG002 -- disagrees
                """Say yes at first sight."""
                return True

        made = funnel(Transition(source="lead", target="sql", guard=Hasty(), auto=True))
        made.record(act("download", T0 + H))
        assert made.state("L-1").stage == "lead"

    def test_a_quick_answer_that_is_not_a_bool_is_refused(self) -> None:
        """A passes() that forgot to return: an error naming it, nothing changed."""

        @attrs.frozen
        class Forgetful(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- always passes
                """Pass."""
                return Verdict(passed=True, criterion="forgetful", reason="yes")

            def passes(self, ctx: Context) -> bool:  # noqa: ARG002 -- returns nothing
                """Decide, and forget to say so."""
                return None  # type: ignore[return-value] # a host's mistake

        made = Funnel(
            policy(
                Transition(source="lead", target="sql", guard=Forgetful(), auto=True)
            ),
            clock=ManualClock(T0),
        )
        with pytest.raises(PolicyError) as info:
            made.add_lead(lead())
        assert (info.value.owner, info.value.field) == (
            "criterion 'Forgetful'",
            "passes()",
        )
        assert len(made) == 0

    def test_a_quick_answer_may_be_numpy_s_bool(self) -> None:
        """numpy's bool is a yes or no like Python's."""
        numpy = pytest.importorskip("numpy")

        @attrs.frozen
        class Vectorised(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- always passes
                """Pass."""
                return Verdict(passed=True, criterion="vectorised", reason="yes")

            def passes(self, ctx: Context) -> bool:  # noqa: ARG002 -- always passes
                """Pass, as numpy says it."""
                return numpy.bool_(True)  # type: ignore[no-any-return] # numpy's bool

        made = funnel(
            Transition(source="lead", target="sql", guard=Vectorised(), auto=True)
        )
        made.record(act("download", T0 + H))
        assert made.state("L-1").stage == "sql"

    def test_a_failing_tick_changes_nothing(self) -> None:
        """A tick whose criterion raises leaves the store as it was."""

        @attrs.frozen
        class Bomb(Criterion):
            def check(self, ctx: Context) -> Verdict:
                """Raise once the lead has been waiting."""
                if ctx.now > ctx.entered_at:
                    raise RuntimeError("bomb")
                return Verdict(passed=False, criterion="bomb", reason="not yet")

            def wake_at(self, ctx: Context) -> datetime:
                """Ask to be woken a day after entering."""
                return ctx.entered_at + D

        made = funnel(Transition(source="lead", target="sql", guard=Bomb(), auto=True))
        before = snapshot(made)
        with pytest.raises(RuntimeError):
            made.tick(T0 + 2 * D)
        assert snapshot(made) == before

    @pytest.mark.parametrize(
        ("wake", "error"),
        [
            (datetime(2026, 3, 3, 9), NaiveDatetimeError),  # noqa: DTZ001 -- naive on purpose
            ("tomorrow", PolicyError),
            (datetime(9999, 12, 31, 23, tzinfo=timezone(-5 * H)), PolicyError),
        ],
    )
    @pytest.mark.parametrize("kind", ["memory", "sqlite"])
    def test_a_bad_wake_is_refused_and_changes_nothing(
        self,
        wake: object,
        error: type[Exception],
        kind: str,
        store_of: Callable[[str], Store],
    ) -> None:
        """A criterion's wake_at that is not an aware instant: an error naming it."""

        class Junk(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- never passes
                """Never pass."""
                return Verdict(passed=False, criterion="junk", reason="never")

            def wake_at(self, ctx: Context) -> datetime | None:  # noqa: ARG002 -- a bad answer
                """Answer with a bad wake."""
                return wake  # type: ignore[return-value] # a host's mistake

        made = Funnel(
            policy(Transition(source="lead", target="sql", guard=Junk(), auto=True)),
            clock=ManualClock(T0),
            store=store_of(kind),
        )
        with pytest.raises(ValidationError) as info:
            made.add_lead(lead())
        assert type(info.value) is error
        assert info.value.owner == "criterion 'Junk'"
        assert info.value.field == "wake_at()"
        assert "L-1" not in made
        assert tuple(made.store.inputs()) == ()


LONDON = ZoneInfo("Europe/London")
QUARTER = timedelta(minutes=15)


class TestClockChanges:
    def test_the_repeated_hour(self) -> None:
        """01:10 GMT comes after 01:50 BST, though its local clock shows less."""
        first = datetime(2026, 10, 25, 1, 50, tzinfo=LONDON)  # 00:50 UTC
        second = datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=LONDON)  # 01:10 UTC
        made = Funnel(policy(), clock=ManualClock(first))
        made.add_lead(Lead("L-1", first))
        made.record(act("webinar", first))
        made.record(act("download", second, n=1))
        made.record(act("download", first.replace(minute=40), n=2))  # a late one
        assert [a.at.astimezone(UTC).minute for a in made.store.activities("L-1")] == [
            40,
            50,
            10,
        ]
        assert made.state("L-1").updated_at == second
        assert made.state("L-1").stage == "mql"
        made.move("L-1", "sal", by="ana", at=second.replace(minute=20))
        assert made.state("L-1").stage == "sal"

    @given(
        base=st.sampled_from(
            [
                datetime(2026, 3, 28, 12, tzinfo=UTC),
                datetime(2026, 10, 24, 12, tzinfo=UTC),
                datetime(2026, 3, 7, 12, tzinfo=UTC),
            ]
        ),
        steps=st.lists(
            st.tuples(st.integers(0, 4 * 48), st.sampled_from(["webinar", "download"])),
            max_size=8,
        ),
        zone=st.sampled_from([LONDON, ZoneInfo("America/New_York")]),
    )
    def test_the_zone_instants_are_written_in_does_not_matter(
        self, base: datetime, steps: list[tuple[int, str]], zone: tzinfo
    ) -> None:
        """The same inputs in UTC or in local time give the same events and scores."""
        # Points that fade by the hour: a score read at the wrong instant shows.
        fading = attrs.evolve(MODEL, decay=HalfLife(2 * H))
        extra = (
            Transition(source="lead", target="nurture", guard=InStageFor(D), auto=True),
            Transition(
                source="nurture",
                target="mql",
                guard=DidActivity("download", within=6 * H),
                auto=True,
            ),
        )

        def run(
            written_in: tzinfo,
        ) -> tuple[list[tuple[str, datetime | None, float | None]], str]:
            start = base.astimezone(written_in)
            made = Funnel(policy(*extra, model=fading), clock=ManualClock(start))
            made.add_lead(Lead("L-1", start))
            events: list[Event] = []
            for quarter, kind in sorted(steps):
                at = (base + quarter * QUARTER).astimezone(written_in)
                events += made.tick(at)
                events += made.record(Activity("L-1", kind, at, id=f"{quarter}{kind}"))
            events += made.tick((base + 3 * D).astimezone(written_in))
            story = [
                (
                    type(event).__name__,
                    None if at is None else at.astimezone(UTC),
                    event.score.total if isinstance(event, ScoreChanged) else None,
                )
                for event in events
                for at in [getattr(event, "at", None)]
            ]
            return story, made.state("L-1").stage

        assert run(zone) == run(UTC)


class TestSubscribers:
    def test_subscribers_see_every_event_after_commit(self) -> None:
        """A subscriber is called with each event, once the change is committed."""
        made = Funnel(policy())
        seen: list[tuple[Event, str]] = []
        made.subscribe(lambda event: seen.append((event, made.state("L-1").stage)))
        events = made.add_lead(lead())
        assert [event for event, _ in seen] == events
        assert all(stage == "lead" for _, stage in seen)

    def test_a_failing_subscriber_neither_undoes_nor_stops(self) -> None:
        """Errors of subscribers are raised together after all were called."""
        made = Funnel(policy())
        seen: list[Event] = []

        def broken(event: Event) -> None:
            raise ValueError(type(event).__name__)

        made.subscribe(broken)
        made.subscribe(seen.append)
        with pytest.raises(SubscriberError) as info:
            made.add_lead(lead())
        assert len(info.value.exceptions) == 3
        assert list(info.value.events) == seen
        assert "L-1" in made

    @pytest.mark.parametrize("failures", [1, 2])
    def test_the_error_counts_the_failed_calls(self, failures: int) -> None:
        """The error's message counts the subscriber calls that raised."""
        made = Funnel(policy(), clock=ManualClock(T0))

        def broken(event: Event) -> None:
            if type(event).__name__ == "LeadAdded":
                raise ValueError(event.lead_id)

        for _ in range(failures):
            made.subscribe(broken)
        with pytest.raises(SubscriberError) as info:
            made.add_lead(lead())
        calls = "1 subscriber call" if failures == 1 else "2 subscriber calls"
        assert info.value.message == f"{calls} failed after the change was committed"

    @pytest.mark.parametrize("kind", ["memory", "sqlite"])
    def test_a_subscriber_may_call_the_funnel(
        self, kind: str, store_of: Callable[[str], Store]
    ) -> None:
        """A subscriber's call commits on its own; all see events in commit order."""
        kept = store_of(kind)
        made = Funnel(policy(), store=kept, clock=ManualClock(T0))
        seen: list[Event] = []

        def accept(event: Event) -> None:
            if isinstance(event, StageChanged) and event.record.target == "mql":
                made.move(event.lead_id, "sal", by="rep", at=event.at + H)

        made.subscribe(accept)
        made.subscribe(seen.append)
        made.add_lead(lead())
        made.record(act("webinar", T0 + H))
        recorded = made.record(act("download", T0 + 2 * H))
        assert kinds(recorded)[-1] == "StageChanged"  # to mql: the move came after
        assert made.state("L-1").stage == "sal"
        assert [type(item).__name__ for item in made.inputs()] == [
            "AddLead",
            "Activity",
            "Activity",
            "Move",
        ]
        assert seen == Funnel(policy()).replay(made.inputs())
        made.record(act("webinar", T0 + 3 * H))  # the store takes the next call
        assert kept.state("L-1").activities == 3  # type: ignore[union-attr] # known
        if isinstance(kept, SQLiteStore):
            kept.close()

    def test_errors_of_a_subscriber_s_call_reach_the_first_call(self) -> None:
        """Subscribers failing on a subscriber's call: the first call raises it all."""
        made = Funnel(policy(), clock=ManualClock(T0))
        calls: list[str] = []

        def add_another(event: Event) -> None:
            if isinstance(event, LeadAdded) and event.lead.id == "L-1":
                made.add_lead(lead("L-2"))

        def broken(event: Event) -> None:
            calls.append(event.lead_id)
            if event.lead_id == "L-2":
                raise ValueError(event.lead_id)

        made.subscribe(add_another)
        made.subscribe(broken)
        with pytest.raises(SubscriberError) as info:
            made.add_lead(lead())
        assert "L-2" in made
        first = len(info.value.events)  # the first call's, which it raises with
        assert {event.lead_id for event in info.value.events} == {"L-1"}
        assert calls == ["L-1"] * first + ["L-2"] * (len(calls) - first)
        assert [str(error) for error in info.value.exceptions] == calls[first:]
        made.add_lead(lead("L-3"))  # delivering ended: the next call delivers
        assert calls[-1] == "L-3"

    def test_a_commit_the_store_refuses_at_its_end_reaches_no_one(self) -> None:
        """A store failing as the transaction ends: the funnel forgets the call."""
        kept = _RefusingStore()
        made = Funnel(POLICY, store=kept, clock=ManualClock(T0))
        seen: list[Event] = []
        made.subscribe(seen.append)
        made.add_lead(lead())
        assert "open_timers=1" in repr(made)
        before = len(seen)
        kept.refuse = True
        with pytest.raises(RuntimeError, match="refused"):
            made.move("L-1", "lost", by="rep", reason="spam")
        with pytest.raises(RuntimeError, match="refused"):
            made.record(act("webinar", T0 + H))
        with pytest.raises(RuntimeError, match="refused"):
            made.tick(T0 + 6 * H)
        assert len(seen) == before
        assert made.state("L-1").stage == "lead"
        assert "open_timers=1" in repr(made)
        kept.refuse = False
        events = made.move("L-1", "lost", by="rep", reason="spam")
        assert seen[before:] == events
        assert "open_timers=0" in repr(made)

    def test_a_refused_commit_keeps_the_last_tick(self) -> None:
        """A store without last_tick refusing a call: the funnel's last tick stays."""
        kept = _RefusingStore()
        kept.last_tick = None  # type: ignore[method-assign,assignment] # keeps none
        made = Funnel(POLICY, store=kept, clock=ManualClock(T0))
        made.add_lead(lead())
        assert kinds(made.tick(T0 + 6 * H))
        kept.refuse = True
        with pytest.raises(RuntimeError, match="refused"):
            made.record(act("webinar", T0 + H))
        kept.refuse = False
        made.add_lead(lead("L-2"))
        # Its warning is due at T0 + 1.5 h, before the last tick: never given.
        made.move("L-2", "mql", by="manager", reason="fair", override=True, at=T0)
        assert made.tick(T0 + 2 * H) == []

    def test_a_refused_tick_is_no_tick(self) -> None:
        """A store without last_tick refusing a tick: an earlier tick still runs."""
        kept = _RefusingStore()
        kept.last_tick = None  # type: ignore[method-assign,assignment] # keeps none
        made = Funnel(POLICY, store=kept, clock=ManualClock(T0))
        made.add_lead(lead())  # its timer is breached at T0 + 5 h
        kept.refuse = True
        with pytest.raises(RuntimeError, match="refused"):
            made.tick(T0 + 6 * H)
        kept.refuse = False
        assert kinds(made.tick(T0 + 5 * H)) == ["SlaBreached"]

    def test_unsubscribe(self) -> None:
        """The function subscribe returns stops the calls, and may be called twice."""
        made = Funnel(policy())
        seen: list[Event] = []
        stop = made.subscribe(seen.append)
        stop()
        stop()
        made.add_lead(lead())
        assert seen == []

    def test_unsubscribing_stops_the_rest_of_the_call_s_events(self) -> None:
        """A subscriber that unsubscribes itself gets no event after that one."""
        made = Funnel(policy())
        seen: list[Event] = []

        def first_only(event: Event) -> None:
            seen.append(event)
            stop()

        stop = made.subscribe(first_only)
        events = made.add_lead(lead())
        assert len(events) > 1
        assert [events[0]] == seen

    def test_a_subscriber_unsubscribed_by_another_gets_nothing_more(self) -> None:
        """Ended by an earlier subscriber, a subscription gets none of the rest."""
        made = Funnel(policy())
        late: list[Event] = []
        made.subscribe(lambda _: stop_late())
        stop_late = made.subscribe(late.append)
        made.add_lead(lead())
        assert late == []

    def test_unsubscribing_twice_keeps_the_other_subscription(self) -> None:
        """Subscribed twice, a callback stays subscribed once if one stop runs twice."""
        made = Funnel(policy())
        seen: list[Event] = []
        stop = made.subscribe(seen.append)
        made.subscribe(seen.append)
        stop()
        stop()
        events = made.add_lead(lead())
        assert events == seen

    def test_an_async_subscriber_is_refused(self) -> None:
        """An async function, or object with an async __call__, is refused."""

        async def handle(event: Event) -> None:
            del event

        class Handler:
            async def __call__(self, event: Event) -> None:
                del event

        made = Funnel(policy())
        for callback in (handle, Handler()):
            with pytest.raises(ValidationError) as info:
                made.subscribe(callback)
            assert info.value.field == "callback"
            assert "not async" in info.value.expected
        made.add_lead(lead())  # no coroutine left unawaited

    def test_not_callable(self) -> None:
        """A subscriber must be callable."""
        with pytest.raises(ValidationError) as info:
            Funnel(policy()).subscribe("x")  # type: ignore[arg-type]
        assert info.value.field == "callback"


def busy(made: Funnel) -> list[Event]:
    """Drive a funnel through every kind of input; return the events."""
    events = made.add_lead(lead())
    events += made.add_lead(lead("L-2"))
    events += made.record(act("webinar", T0 + H))
    events += made.record(act("download", T0 + 2 * H))
    events += made.record(act("webinar", T0 + 3 * H, lead_id="L-2"))
    events += made.move("L-1", "sal", by="rep", at=T0 + 4 * H)
    events += made.update_lead(lead("L-2", vip=True), at=T0 + 5 * H)
    events += made.tick(T0 + 3 * D)
    events += made.move("L-2", "lost", by="rep", reason="spam", at=T0 + 3 * D)
    return events


class TestReplay:
    def test_replay_gives_the_same_states_and_events(self) -> None:
        """Feeding the input log into a new funnel reproduces states and events."""
        extra = Transition(
            source="sal", target="nurture", guard=InStageFor(D), auto=True
        )
        live = Funnel(policy(extra))
        seen: list[Event] = []
        live.subscribe(seen.append)
        events = busy(live)
        assert seen == events
        again = Funnel(policy(extra))
        seen_again: list[Event] = []
        again.subscribe(seen_again.append)
        assert again.replay(live.inputs()) == events
        assert seen_again == events
        for lead_id in live.store.lead_ids():
            assert again.state(lead_id) == live.state(lead_id)
        assert to_json(list(again.inputs()), cls=list[Input]) == to_json(
            list(live.inputs()), cls=list[Input]
        )

    def test_replay_refuses_other_things(self) -> None:
        """Something else than an input in the log raises a ValidationError."""
        with pytest.raises(ValidationError) as info:
            Funnel(policy()).replay(["x"])  # type: ignore[list-item]
        assert info.value.field == "inputs[0]"

    @pytest.mark.parametrize("inputs", [5, "log", {"a": 1}])
    def test_replay_needs_an_iterable_of_inputs(self, inputs: object) -> None:
        """A log that is not an iterable of inputs raises, naming 'inputs'."""
        with pytest.raises(ValidationError) as info:
            Funnel(policy()).replay(inputs)  # type: ignore[arg-type]
        assert info.value.field == "inputs"

    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (lambda: AddLead("L-1"), "lead"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: UpdateLead("L-1", T0), "lead"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: Move(lead_id="L", to="mql", by="x", at=T0, reason=5), "reason"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: Move(lead_id="L", to="mql", by="x", at=T0, reason=""), "reason"),
            (
                lambda: Move(lead_id="L", to="mql", by="x", at=T0, override=1),  # type: ignore[arg-type] # a wrong type on purpose
                "override",
            ),
        ],
    )
    def test_an_input_made_by_hand_is_checked(
        self, make: Callable[[], object], field: str
    ) -> None:
        """An input made with a bad part raises a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            make()
        assert info.value.field == field

    def test_a_bad_item_anywhere_applies_nothing(self) -> None:
        """A log with a bad item late in it is refused before any item is applied."""
        made = Funnel(policy())
        with pytest.raises(ValidationError) as info:
            made.replay([AddLead(lead()), "not an input"])  # type: ignore[list-item]
        assert info.value.field == "inputs[1]"
        assert (len(made), made.inputs()) == (0, ())

    def test_an_item_that_fails_names_its_position(self) -> None:
        """An item that fails when applied raises its call's error, naming it."""
        made = Funnel(policy())
        log: list[Input] = [
            AddLead(lead()),
            Move(lead_id="L-1", to="won", by="rep", at=T0),
        ]
        with pytest.raises(IllegalTransition) as info:
            made.replay(log)
        assert info.value.__notes__ == [
            "replaying inputs[1]; the 1 before it were applied"
        ]
        assert made.state("L-1").stage == "lead"

    def test_a_failing_subscriber_stops_no_item(self) -> None:
        """A subscriber raising stops no item of a replay, which raises at the end."""
        live = Funnel(policy())
        events = busy(live)
        again = Funnel(policy())
        seen: list[Event] = []

        def flaky(event: Event) -> None:
            seen.append(event)
            if type(event).__name__ == "ActivityRecorded":
                raise RuntimeError(event.lead_id)

        again.subscribe(flaky)
        with pytest.raises(SubscriberError) as info:
            again.replay(live.inputs())
        assert len(info.value.exceptions) == 3
        assert not hasattr(info.value, "__notes__")
        assert list(info.value.events) == seen == events
        assert again.inputs() == live.inputs()
        assert [again.state(i) for i in ("L-1", "L-2")] == [
            live.state(i) for i in ("L-1", "L-2")
        ]

    def test_an_item_failing_after_subscribers_did_names_their_errors(self) -> None:
        """An item failing after subscribers raised notes their errors as well."""
        made = Funnel(policy())

        def failing(event: Event) -> None:
            raise RuntimeError(type(event).__name__)

        made.subscribe(failing)
        log: list[Input] = [
            AddLead(lead()),
            Move(lead_id="L-1", to="won", by="rep", at=T0),
        ]
        with pytest.raises(IllegalTransition) as info:
            made.replay(log)
        assert info.value.__notes__[0] == (
            "replaying inputs[1]; the 1 before it were applied"
        )
        assert info.value.__notes__[1].startswith("subscribers raised 3 errors")

    def test_one_subscriber_error_is_told_as_one(self) -> None:
        """One subscriber error, before a failing item or at the end: told as one."""
        made = Funnel(policy())

        def failing(event: Event) -> None:
            if type(event).__name__ == "LeadAdded":
                raise RuntimeError(event.lead_id)

        made.subscribe(failing)
        log: list[Input] = [
            AddLead(lead()),
            Move(lead_id="L-1", to="won", by="rep", at=T0),
        ]
        with pytest.raises(IllegalTransition) as info:
            made.replay(log)
        assert info.value.__notes__[1] == (
            "subscribers raised 1 error before it: RuntimeError('L-1')"
        )
        again = Funnel(policy())
        again.subscribe(failing)
        with pytest.raises(SubscriberError) as raised:
            again.replay(log[:1])
        assert raised.value.message == (
            "1 subscriber call failed after the change was committed"
        )

    def test_events_inputs_and_states_round_trip(self) -> None:
        """Events, inputs and lead states survive JSON exactly."""
        extra = Transition(
            source="sal", target="nurture", guard=InStageFor(D), auto=True
        )
        live = Funnel(policy(extra))
        events = busy(live)
        assert {type(e) for e in events} >= {
            LeadAdded,
            StageChanged,
            ScoreChanged,
            ActivityRecorded,
            LeadUpdated,
        }
        text = to_json(events, cls=list[Event])
        assert from_json(text, list[Event]) == events
        inputs = list(live.inputs())
        assert {type(i) for i in inputs} == {AddLead, Activity, Move, Tick, UpdateLead}
        assert structure(unstructure(inputs, list[Input]), list[Input]) == inputs
        state = live.state("L-1")
        assert from_json(to_json(state), LeadState) == state
        assert isinstance(inputs[2], Activity)
        change = Commit(
            input=inputs[2],
            states=(state,),
            activities=(inputs[2],),
            wakes=(("L-1", T0),),
        )
        assert from_json(to_json(change), Commit) == change


class TestThreads:
    def test_concurrent_calls_lose_nothing(self) -> None:
        """Threads recording at once lose nothing; the log replays to the same state."""
        made = Funnel(policy())
        for n in range(4):
            made.add_lead(lead(f"L-{n}"))
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(40):
                    made.record(act("download", T0 + i * H, lead_id=f"L-{n % 4}", n=n))
                    if i == 20 and n < 4:
                        made.move(f"L-{n}", "lost", by="rep", reason="spam")
            except BaseException as error:  # noqa: BLE001 -- reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(made.state(f"L-{n}").activities for n in range(4)) == 8 * 40
        again = Funnel(policy())
        again.replay(made.inputs())
        for n in range(4):
            assert again.state(f"L-{n}") == made.state(f"L-{n}")


class _UsualStore(InMemoryStore):
    """An in-memory store the engine does not know: its records go the usual way."""

    __slots__ = ()


_B2B_STAGES = {
    "lead",
    "mql",
    "sal",
    "sql",
    "won",
    "opportunity",
    "customer",
    "nurture",
    "lost",
    "disqualified",
}
_B2B_KINDS = [
    "page_view",
    "webinar_attended",
    "demo_request",
    "content_download",
    "sales_touch",
]
#: The default policy with a timer that a criterion meets (a score that rises).
_B2B_ENGAGED = attrs.evolve(
    policies.b2b_saas(),
    slas=[
        *policies.b2b_saas().slas,
        SlaRule("engaged", "sal", "2 business days", ScoreAtLeast(60, "engagement")),
    ],
)


def _quick_and_usual(
    chosen: FunnelPolicy, now: datetime, *, kept: int | None, listening: bool
) -> tuple[Funnel, Funnel, dict[str, list[Event]]]:
    """A funnel on the in-memory store, and one whose calls go the usual way.

    Both under *chosen*, their clocks at *now*, keeping *kept* scorers, with
    Q-1 (a good fit, with a budget), Q-2 and Q-3 (a poor fit) added. With
    *listening*, a subscriber of each notes what it heard.
    """
    quick = Funnel(chosen, clock=ManualClock(now), scorers=kept)
    usual = Funnel(chosen, store=_UsualStore(), clock=ManualClock(now), scorers=kept)
    heard: dict[str, list[Event]] = {"quick": [], "usual": []}
    if listening:
        quick.subscribe(heard["quick"].append)
        usual.subscribe(heard["usual"].append)
    fit: dict[str, str | int | bool] = {
        "employees": 500,
        "industry": "saas",
        "title": "VP Marketing",
        "budget": True,
    }
    for made in (quick, usual):
        made.add_lead(Lead("Q-1", T0, attributes=fit))
        made.add_lead(Lead("Q-2", T0))
        made.add_lead(Lead("Q-3", T0, attributes={"employees": 5}))
    return quick, usual, heard


class TestQuickRecord:
    """The in-memory store's quick record gives what the usual way gives."""

    @settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
    @given(
        calls=st.lists(
            st.tuples(
                st.sampled_from(["Q-1", "Q-2", "Q-3"]),
                st.sampled_from([*_B2B_KINDS, "tick", "nurture", "mql", "sal"]),
                st.integers(-72, 96),
                st.booleans(),
            ),
            max_size=40,
        ),
        kept=st.sampled_from([None, 1]),
        listening=st.booleans(),
        engaged=st.booleans(),
    )
    def test_quick_and_usual_records_agree(
        self,
        calls: list[tuple[str, str, int, bool]],
        kept: int | None,
        listening: bool,
        engaged: bool,
    ) -> None:
        """Late, repeated, moving, timed or under SLAs: the same events, states, log."""
        quick, usual, heard = _quick_and_usual(
            _B2B_ENGAGED if engaged else policies.b2b_saas(),
            T0,
            kept=kept,
            listening=listening,
        )
        serial = 0
        for lead_id, kind, hours, again in calls:
            at = T0 + timedelta(days=10) + hours * H
            if kind == "tick":
                answers = [made.tick(at) for made in (quick, usual)]
            elif kind in {"nurture", "mql", "sal"}:
                answers = []
                for made in (quick, usual):
                    try:
                        answers.append(
                            made.move(lead_id, kind, by="rep", reason="later", at=at)
                        )
                    except FunnelkitError as error:
                        answers.append([type(error).__name__])  # type: ignore[list-item] # compared only
            else:
                serial += 0 if again and serial else 1
                activity = Activity(lead_id, kind, at, id=f"A-{serial}")
                answers = [made.record(activity) for made in (quick, usual)]
            assert to_json(answers[0]) == to_json(answers[1])
        assert snapshot(quick) == snapshot(usual)
        assert to_json(heard["quick"]) == to_json(heard["usual"])

    def test_a_long_history_is_looked_up_and_kept_in_order(self) -> None:
        """Past a short scan, repeats are found by id; late ones go in their place."""
        quick = Funnel(policies.b2b_saas(), clock=ManualClock(T0))
        usual = Funnel(policies.b2b_saas(), store=_UsualStore(), clock=ManualClock(T0))
        activities = [
            Activity("Q-1", "page_view", T0 + n * H, id=f"A-{n}") for n in range(40)
        ]
        late = Activity("Q-1", "email_open", T0 + timedelta(minutes=90), id="late")
        for made in (quick, usual):
            made.add_lead(Lead("Q-1", T0))
            for activity in [*activities, activities[3], activities[30], late]:
                made.record(activity)
        assert quick.record(activities[35]) == []
        assert snapshot(quick) == snapshot(usual)
        held = list(quick.store.activities("Q-1"))
        assert held == sorted(held, key=lambda each: (each.at, each.id))
        assert len(held) == 41

    def test_a_failing_guard_forgets_the_fed_scorer(self) -> None:
        """A guard raising in a quick record leaves the store and score as they were."""

        class Raising:
            def check(self, ctx: Context) -> Verdict:
                if ctx.activities:
                    raise ValueError(ctx.lead.id)
                return Verdict(passed=False, criterion="raising", reason="none yet")

        made = Funnel(
            policy(Transition(source="lead", target="sal", guard=Raising(), auto=True)),
            clock=ManualClock(T0),
        )
        made.add_lead(lead())
        before = snapshot(made)
        score = made.score("L-1", at=T0 + H)
        with pytest.raises(ValueError, match="L-1"):
            made.record(act("webinar", T0 + H))
        assert snapshot(made) == before
        assert made.score("L-1", at=T0 + H) == score

    def test_a_failed_record_leaves_no_scorer_to_mistake_for_fresh(self) -> None:
        """A failed record's scorer, fed, is not taken for one of a later count."""

        class Raising:
            def check(self, ctx: Context) -> Verdict:
                if any(each.id == "boom" for each in ctx.activities):
                    raise ValueError(ctx.lead.id)
                return Verdict(passed=False, criterion="raising", reason="no boom")

        shared = InMemoryStore()
        guarded = policy(
            Transition(source="lead", target="sal", guard=Raising(), auto=True)
        )
        first = Funnel(guarded, store=shared, clock=ManualClock(T0))
        second = Funnel(guarded, store=shared, clock=ManualClock(T0))
        first.add_lead(lead())
        with pytest.raises(ValueError, match="L-1"):
            first.record(Activity("L-1", "webinar", T0 + H, id="boom"))
        second.record(Activity("L-1", "download", T0 + H, id="fine"))
        later = T0 + 2 * H
        assert first.score("L-1", at=later) == second.score("L-1", at=later)
        assert second.score("L-1", at=later).engagement == 10

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            # One instant: the ids order them.
            (T0 + H, T0 + H),
            # Two instants one microsecond apart whose timestamps are one float.
            (
                datetime(2300, 1, 1, 0, 0, 0, 2, tzinfo=UTC),
                datetime(2300, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            ),
        ],
    )
    def test_a_tie_with_the_latest_timestamp_is_ordered_exactly(
        self, first: datetime, second: datetime
    ) -> None:
        """An activity whose timestamp ties the latest goes by instant, then id."""
        assert first.timestamp() == second.timestamp()
        quick = Funnel(policies.b2b_saas(), clock=ManualClock(T0))
        usual = Funnel(policies.b2b_saas(), store=_UsualStore(), clock=ManualClock(T0))
        feed = [
            Activity("Q-1", "page_view", first, id="B"),
            Activity("Q-1", "email_open", second, id="A"),
            Activity("Q-1", "email_open", second, id="C"),
        ]
        for made in (quick, usual):
            made.add_lead(Lead("Q-1", T0))
            for activity in feed:
                made.record(activity)
        assert snapshot(quick) == snapshot(usual)
        held = list(quick.store.activities("Q-1"))
        assert held == sorted(feed, key=lambda each: (each.at, each.id))

    def test_an_activity_no_rule_counts_is_the_latest_too(self) -> None:
        """One before a later activity that no rule scores goes in its place."""
        quick = Funnel(policies.b2b_saas(), clock=ManualClock(T0))
        usual = Funnel(policies.b2b_saas(), store=_UsualStore(), clock=ManualClock(T0))
        feed = [
            Activity("Q-1", "page_view", T0 + H, id="A"),
            Activity("Q-1", "sales_touch", T0 + 3 * H, id="B"),
            Activity("Q-1", "page_view", T0 + 2 * H, id="C"),
        ]
        for made in (quick, usual):
            made.add_lead(Lead("Q-1", T0))
            for activity in feed:
                made.record(activity)
        assert snapshot(quick) == snapshot(usual)
        assert [each.id for each in quick.store.activities("Q-1")] == ["A", "C", "B"]

    def test_quick_records_change_the_held_state_in_place(self) -> None:
        """A state read stays as it was; a change makes the next read a new one."""
        made = funnel()
        store = made.store
        assert isinstance(store, InMemoryStore)
        made.record(act("download", T0 + H))
        first = made.state("L-1")
        assert made.state("L-1") is first  # kept until the lead changes
        held = store._states["L-1"]
        made.record(act("download", T0 + 2 * H, n=1))
        assert store._states["L-1"] is held  # no new object for a record
        assert held.score is None  # nor a Score: the scorer's read, made when read
        assert (first.activities, first.updated_at) == (1, T0 + H)
        second = made.state("L-1")
        assert held.read is second
        assert (second.activities, second.updated_at) == (2, T0 + 2 * H)
        assert second.score == made.score("L-1", at=T0 + 2 * H)
        assert second.score.engagement == first.score.engagement + 10
        made.move("L-1", "lost", by="rep", reason="bad_data", at=T0 + 3 * H)
        assert store._states["L-1"] is made.state("L-1")  # a commit's own state
        assert made.state("L-1").stage == "lost"

    @staticmethod
    def _pair(
        chosen: FunnelPolicy, *stages: str
    ) -> tuple[Funnel, Funnel, InMemoryStore]:
        """The quick and the usual funnel under *chosen*, Q-1 moved on to *stages*."""
        store = InMemoryStore()
        quick = Funnel(chosen, store=store, clock=ManualClock(T0))
        usual = Funnel(chosen, store=_UsualStore(), clock=ManualClock(T0))
        for made in (quick, usual):
            made.add_lead(Lead("Q-1", T0))
            for stage in stages:
                made.move("Q-1", stage, by="rep", reason="test", at=T0, override=True)
        return quick, usual, store

    def test_a_lead_under_a_running_timer_records_quickly(self) -> None:
        """A timer the activity leaves as it is keeps its wake; a due one goes usual."""
        quick, usual, store = self._pair(policies.b2b_saas(), "mql")
        wake = store.wake("Q-1")
        assert wake == T0 + 6 * H  # the warning: 6 of 8 business hours
        entry = store._wake_entry[store._numbers["Q-1"]]
        answers = [
            made.record(Activity("Q-1", "page_view", T0 + H, id="A-1"))
            for made in (quick, usual)
        ]
        assert kinds(answers[0]) == ["ActivityRecorded", "ScoreChanged"]
        assert to_json(answers[0]) == to_json(answers[1])
        assert type(store._states.get("Q-1")) is _Recorded  # the quick way
        assert store.wake("Q-1") is wake
        assert store._wake_entry[store._numbers["Q-1"]] == entry
        assert snapshot(quick) == snapshot(usual)
        # Past the warning: the usual way catches the lead up first.
        answers = [
            made.record(Activity("Q-1", "page_view", T0 + 7 * H, id="A-2"))
            for made in (quick, usual)
        ]
        assert kinds(answers[0])[0] == "SlaWarning"
        assert to_json(answers[0]) == to_json(answers[1])
        assert type(store._states["Q-1"]) is LeadState
        assert store.wake("Q-1") == T0 + 8 * H  # the deadline
        assert snapshot(quick) == snapshot(usual)

    def test_a_quick_record_that_moves_a_timed_lead_closes_its_timers(self) -> None:
        """A hand-raiser in MQL moves on to SQL: its timer met, the next one started."""
        quick, usual, _ = self._pair(policies.b2b_saas(), "mql")
        fit: dict[str, str | int] = {
            "employees": 500,
            "industry": "saas",
            "title": "VP Marketing",
        }
        for made in (quick, usual):
            made.update_lead(Lead("Q-1", T0, attributes=fit), at=T0)
        answers = [
            made.record(Activity("Q-1", "demo_request", T0 + H, id="A-1"))
            for made in (quick, usual)
        ]
        assert kinds(answers[0]) == [
            "ActivityRecorded",
            "ScoreChanged",
            "StageChanged",
            "SlaMet",
            "SlaStarted",
        ]
        assert to_json(answers[0]) == to_json(answers[1])
        assert quick.state("Q-1").stage == "sql"
        assert snapshot(quick) == snapshot(usual)

    def test_an_activity_that_meets_a_timer_goes_the_usual_way(self) -> None:
        """A sales touch meets the first-touch timer: the usual way records it."""
        quick, usual, store = self._pair(policies.b2b_saas(), "mql", "sal")
        assert [timer.rule for timer in quick.state("Q-1").timers] == ["first_touch"]
        answers = [
            made.record(Activity("Q-1", "sales_touch", T0 + H / 2, id="A-1"))
            for made in (quick, usual)
        ]
        assert "SlaMet" in kinds(answers[0])
        assert to_json(answers[0]) == to_json(answers[1])
        assert type(store._states["Q-1"]) is LeadState
        assert store.wake("Q-1") is None
        assert snapshot(quick) == snapshot(usual)

    def test_a_timer_a_criterion_meets_goes_the_usual_way(self) -> None:
        """The new score may meet the timer: the usual way asks its criterion."""
        quick, usual, store = self._pair(_B2B_ENGAGED, "mql", "sal")
        for made in (quick, usual):
            made.record(Activity("Q-1", "sales_touch", T0 + H / 4, id="A-1"))
        timers = [(t.rule, t.is_open) for t in quick.state("Q-1").timers]
        assert timers == [("first_touch", False), ("engaged", True)]
        answers = [
            made.record(Activity("Q-1", "page_view", T0 + H, id="A-2"))
            for made in (quick, usual)
        ]
        assert to_json(answers[0]) == to_json(answers[1])
        assert type(store._states["Q-1"]) is LeadState
        assert snapshot(quick) == snapshot(usual)

    def test_a_timer_whose_rule_left_the_policy_goes_the_usual_way(self) -> None:
        """A funnel without the timer's rule cancels it, as the usual way does."""
        bare = attrs.evolve(policies.b2b_saas(), slas=[])
        answers = []
        for store in (InMemoryStore(), _UsualStore()):
            timed = Funnel(policies.b2b_saas(), store=store, clock=ManualClock(T0))
            untimed = Funnel(bare, store=store, clock=ManualClock(T0))
            untimed.add_lead(Lead("Q-1", T0))
            untimed.record(Activity("Q-1", "page_view", T0, id="A-0"))  # kept scorer
            timed.move("Q-1", "mql", by="rep", reason="test", at=T0, override=True)
            answers.append(
                untimed.record(Activity("Q-1", "page_view", T0 + H, id="A-1"))
            )
            assert type(store._states["Q-1"]) is LeadState
            assert not untimed.state("Q-1").timers[0].is_open
        assert "SlaCancelled" in kinds(answers[0])
        assert to_json(answers[0]) == to_json(answers[1])

    def test_a_quick_record_s_previous_score_is_made_when_read(self) -> None:
        """The event holds the held read; reading it makes the usual way's score."""
        quick, usual, _ = self._pair(policies.b2b_saas(), "mql")
        for made in (quick, usual):
            made.record(Activity("Q-1", "page_view", T0 + H, id="A-1"))
        later = [
            made.record(Activity("Q-1", "content_download", T0 + 2 * H, id="A-2"))
            for made in (quick, usual)
        ]
        event, expected = later[0][1], later[1][1]
        assert isinstance(event, ScoreChanged)
        assert isinstance(expected, ScoreChanged)
        slot = ScoreChanged.__dict__["previous"].slot
        assert type(slot.__get__(event)) is tuple  # not made yet
        copied = pickle.loads(pickle.dumps(event))  # noqa: S301 -- our own bytes
        previous = event.previous
        assert type(previous) is Score
        assert slot.__get__(event) is previous  # made once, then kept
        assert event.previous is previous
        assert previous == expected.previous == copied.previous
        assert previous == quick.score("Q-1", at=T0 + H)
        assert event == expected
        assert attrs.evolve(event, lead_id="Q-1") == expected

    def test_a_quick_record_whose_guards_surely_fail_makes_no_score(self) -> None:
        """Its event holds the new score as parts, made when read as the usual way's."""
        quick, usual, _ = self._pair(policies.b2b_saas())
        answers = [
            made.record(Activity("Q-1", "page_view", T0 + H, id="A-1"))
            for made in (quick, usual)
        ]
        event, expected = answers[0][1], answers[1][1]
        assert isinstance(event, ScoreChanged)
        assert isinstance(expected, ScoreChanged)
        slot = ScoreChanged.__dict__["score"].slot
        assert type(slot.__get__(event)) is tuple  # not made: no guard asked
        assert type(slot.__get__(expected)) is Score
        assert repr(event) == repr(expected)
        score = event.score
        assert slot.__get__(event) is score  # made once, then kept
        assert score == expected.score == quick.score("Q-1", at=T0 + H)
        assert event == expected

    def test_a_quick_record_that_may_pass_a_guard_asks_it(self) -> None:
        """A fit hand-raiser is asked about (and fast-tracked); a poor fit is not."""
        chosen = policies.b2b_saas()
        fit: dict[str, str | int] = {
            "employees": 500,
            "title": "VP Sales",
            "industry": "software",
        }
        for attributes, stage in (({}, "lead"), (fit, "sql")):
            quick = Funnel(chosen, clock=ManualClock(T0))
            usual = Funnel(chosen, store=_UsualStore(), clock=ManualClock(T0))
            answers = []
            for made in (quick, usual):
                made.add_lead(Lead("Q-1", T0, attributes=attributes))
                answers.append(
                    made.record(Activity("Q-1", "demo_request", T0 + H, id="A-1"))
                )
                assert made.state("Q-1").stage == stage
            assert to_json(answers[0]) == to_json(answers[1])

    def test_a_quick_record_sets_the_wake_its_stage_asks_for(self) -> None:
        """A record that makes a stage's timed guard wait notes when to look again."""
        fading = ScoringModel(
            "fading", [ActivityRule("webinar", 30)], decay=HalfLife(10 * D)
        )
        cooled = Transition(
            source="lead",
            target="nurture",
            guard=DidActivity("webinar") & Not(ScoreAtLeast(20, "engagement")),
            auto=True,
        )
        made = Funnel(policy(cooled, model=fading), clock=ManualClock(T0))
        made.add_lead(lead())
        assert made.store.wake("L-1") is None
        made.record(act("webinar", T0 + H))
        wake = made.store.wake("L-1")
        # 30 points fall under 20 after log2(1.5) half-lives, 5.85 days.
        assert wake is not None
        assert T0 + H + 5 * D < wake < T0 + H + 6 * D
        assert made.state("L-1").stage == "lead"


#: A policy whose lead stage waits on time (a webinar cools under decay),
#: and whose leads with a budget may go straight to SAL.
_COOLING = policy(
    Transition(source="lead", target="sal", guard=AttributeIs("budget", True)),
    Transition(
        source="lead",
        target="nurture",
        guard=DidActivity("webinar") & Not(ScoreAtLeast(20, "engagement")),
        auto=True,
    ),
    model=ScoringModel(
        "fading",
        [ActivityRule("webinar", 30), ActivityRule("download", 10)],
        decay=HalfLife(10 * D),
    ),
)


class _Employees(AttributeIs):
    """An AttributeIs subclass: its check may read more than the lead."""


#: Moves guarded by lead attributes only, several between the same stages
#: (the quick move asks those without a context), and one by a subclass.
_JUDGED = policy(
    Transition(
        source="lead",
        target="sal",
        guard=AttributeIs("industry", "retail"),
        name="retail fast track",
    ),
    Transition(
        source="lead",
        target="sal",
        guard=AttributeIs("budget", True),
        name="budget fast track",
    ),
    Transition(source="lead", target="sql", guard=_Employees("employees", 500)),
    Transition(source="mql", target="sql", guard=AttributeIs("title", "VP Marketing")),
    model=_COOLING.scoring,
)
#: A policy whose scores hold still (constant points, and a fading rule held
#: at its max_points for 13 days): the quick move finds the read its lead
#: holds standing, then asks a guard of the score (lead -> sql), enters a
#: stage with a timer (sal), or asks a guard of the lead's (nurture).
_STILL = attrs.evolve(
    policy(
        Transition(source="lead", target="sql", guard=ScoreAtLeast(30, "engagement")),
        Transition(source="lead", target="sal"),
        Transition(source="lead", target="nurture"),
        model=ScoringModel(
            "still",
            [
                ActivityRule("webinar", 30),
                ActivityRule("download", 10),
                ActivityRule("demo", 50, max_points=20, decay=HalfLife(10 * D)),
            ],
            limits={"engagement": (0, 100)},
        ),
    ),
    slas=[SlaRule("accepted", "sal", "2 days", EXIT)],
)
_MOVE_POLICIES = {
    "cooling": _COOLING,
    "b2b": policies.b2b_saas(),
    "engaged": _B2B_ENGAGED,
    "judged": _JUDGED,
    "still": _STILL,
}


class TestQuickMove:
    """The in-memory store's quick move gives what the usual way gives."""

    @settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
    @given(
        calls=st.lists(
            st.tuples(
                st.sampled_from(["Q-1", "Q-2", "Q-3"]),
                st.sampled_from(
                    [
                        "webinar",
                        "download",
                        "demo",
                        "demo_request",
                        "sales_touch",
                        "tick",
                        "lead",
                        "mql",
                        "sal",
                        "sql",
                        "won",
                        "opportunity",
                        "nurture",
                        "lost",
                    ]
                ),
                st.one_of(st.none(), st.integers(-72, 240)),
                st.sampled_from([None, None, "bad_data", "later"]),
                st.booleans(),
            ),
            max_size=40,
        ),
        chosen=st.sampled_from(sorted(_MOVE_POLICIES)),
        kept=st.sampled_from([None, 1]),
        listening=st.booleans(),
        zone=st.sampled_from(["UTC", "Europe/Paris"]),
    )
    def test_quick_and_usual_moves_agree(
        self,
        calls: list[tuple[str, str, int | None, str | None, bool]],
        chosen: str,
        kept: int | None,
        listening: bool,
        zone: str,
    ) -> None:
        """Guarded, refused, timed, late, by the clock, in a zone: the same results."""
        here = UTC if zone == "UTC" else ZoneInfo(zone)
        now = (T0 + 12 * D).astimezone(here)
        quick, usual, heard = _quick_and_usual(
            _MOVE_POLICIES[chosen], now, kept=kept, listening=listening
        )
        for serial, (lead_id, kind, hours, reason, override) in enumerate(calls):
            at = None if hours is None else (T0 + 10 * D + hours * H).astimezone(here)
            answers: list[object] = []
            for made in (quick, usual):
                try:
                    if kind == "tick":
                        answers.append(made.tick(at))
                    elif kind in _B2B_STAGES:
                        answers.append(
                            made.move(
                                lead_id,
                                kind,
                                by="rep",
                                reason=reason,
                                at=at,
                                override=override,
                            )
                        )
                    else:
                        answers.append(
                            made.record(
                                Activity(lead_id, kind, at or now, id=f"A-{serial}")
                            )
                        )
                except FunnelkitError as error:
                    answers.append(f"{type(error).__name__}: {error}")
            assert to_json(answers[0]) == to_json(answers[1])
        assert snapshot(quick) == snapshot(usual)
        assert to_json(heard["quick"]) == to_json(heard["usual"])

    def test_a_move_changes_the_held_state_in_place(self) -> None:
        """No draft, no commit: the held state moves, its wake goes, the log grows."""
        quick, usual, store = self._cooled()
        assert store.wake("Q-1") is not None  # the cooling webinar
        assert quick.state("Q-1").stage == "lead"  # read, and kept until a change
        answers = [
            made.move("Q-1", "sal", by="rep", at=T0 + 2 * H) for made in (quick, usual)
        ]
        assert kinds(answers[0]) == ["ScoreChanged", "StageChanged"]  # decayed
        assert to_json(answers[0]) == to_json(answers[1])
        assert type(store._states["Q-1"]) is _Recorded
        assert store.wake("Q-1") is None
        assert store._index.below(1 << 80) == []
        assert snapshot(quick) == snapshot(usual)
        verdict = quick.state("Q-1").history[-1].verdict
        assert verdict is not None
        assert verdict.passed

    @staticmethod
    def _cooled() -> tuple[Funnel, Funnel, InMemoryStore]:
        """The quick and the usual funnel under _COOLING, Q-1 after a webinar."""
        store = InMemoryStore()
        quick = Funnel(_COOLING, store=store, clock=ManualClock(T0))
        usual = Funnel(_COOLING, store=_UsualStore(), clock=ManualClock(T0))
        for made in (quick, usual):
            made.add_lead(Lead("Q-1", T0, attributes={"budget": True}))
            made.record(Activity("Q-1", "webinar", T0 + H, id="W-1"))
        return quick, usual, store

    def test_a_due_lead_goes_the_usual_way(self) -> None:
        """Past its wake, the lead is caught up first: it cooled into nurture."""
        quick, usual, _ = self._cooled()
        at = T0 + 30 * D
        answers = []
        for made in (quick, usual):
            with pytest.raises(IllegalTransition) as caught:
                made.move("Q-1", "sal", by="rep", at=at)
            answers.append(str(caught.value))
        assert answers[0] == answers[1]
        assert "nurture" in answers[0]
        assert snapshot(quick) == snapshot(usual)

    def test_a_move_into_a_timed_stage_takes_the_usual_steps(self) -> None:
        """Timers met and started, automatic moves followed, from the quick verdict."""
        quick, usual, store = TestQuickRecord._pair(policies.b2b_saas(), "mql")
        answers = [
            made.move("Q-1", "sal", by="rep", at=T0 + H) for made in (quick, usual)
        ]
        assert kinds(answers[0]) == ["StageChanged", "SlaMet", "SlaStarted"]
        assert to_json(answers[0]) == to_json(answers[1])
        assert type(store._states["Q-1"]) is LeadState  # a draft's commit
        assert snapshot(quick) == snapshot(usual)

    def test_a_move_out_of_a_timed_stage_closes_its_timers(self) -> None:
        """SQL's timer is met on exit, into a stage with no timer: the usual steps."""
        quick, usual, _ = TestQuickRecord._pair(
            policies.b2b_saas(), "mql", "sal", "sql"
        )
        answers = [
            made.move("Q-1", "opportunity", by="rep", at=T0 + H)
            for made in (quick, usual)
        ]
        assert kinds(answers[0]) == ["StageChanged", "SlaMet"]
        assert to_json(answers[0]) == to_json(answers[1])
        assert snapshot(quick) == snapshot(usual)

    def test_a_move_into_a_timed_stage_starts_its_timer(self) -> None:
        """A lead with no timer enters a stage with one: the usual steps start it."""
        timed = attrs.evolve(
            policy(), slas=[SlaRule("accepted", "sal", "2 days", EXIT)]
        )
        answers = []
        for store in (InMemoryStore(), _UsualStore()):
            made = Funnel(timed, store=store, clock=ManualClock(T0))
            made.add_lead(lead())
            made.move("L-1", "mql", by="rep", reason="test", at=T0, override=True)
            answers.append(made.move("L-1", "sal", by="rep", at=T0 + H))
        assert kinds(answers[0]) == ["StageChanged", "SlaStarted"]
        assert to_json(answers[0]) == to_json(answers[1])

    @pytest.mark.parametrize(
        ("chosen", "path", "expected"),
        [
            # A guard of the score's (DidActivity) is asked with a context.
            (
                policy(model=_COOLING.scoring),
                ["mql", "nurture"],
                ["ScoreChanged", "StageChanged"],
            ),
            # Guards of the lead's only, into a stage with a timer: a draft.
            (
                attrs.evolve(
                    _JUDGED, slas=[SlaRule("accepted", "sal", "2 days", EXIT)]
                ),
                [],
                ["ScoreChanged", "StageChanged", "SlaStarted"],
            ),
        ],
    )
    def test_a_score_changed_by_the_move_s_instant_serves_its_guards(
        self, chosen: FunnelPolicy, path: list[str], expected: list[str]
    ) -> None:
        """A ScoreChanged's score is the one the guards and the draft then read."""
        target = "mql" if path else "sal"
        answers = []
        for store in (InMemoryStore(), _UsualStore()):
            made = Funnel(chosen, store=store, clock=ManualClock(T0))
            made.add_lead(Lead("Q-1", T0, attributes={"budget": True}))
            for step in path:  # by hand, with a reason: the usual way
                made.move("Q-1", step, by="rep", reason="test", at=T0, override=True)
            made.record(Activity("Q-1", "demo", T0 + H, id="D-1"))
            made.record(Activity("Q-1", "webinar", T0 + H, id="W-1"))
            answers.append(made.move("Q-1", target, by="rep", at=T0 + 3 * D))
        assert kinds(answers[0]) == expected  # the webinar's points decayed
        assert to_json(answers[0]) == to_json(answers[1])

    @pytest.mark.parametrize(
        ("target", "expected"),
        [
            ("sql", ["StageChanged"]),  # a guard of the score's, with a context
            ("sal", ["StageChanged", "SlaStarted"]),  # a stage with a timer
            ("nurture", ["StageChanged"]),  # a guard of the lead's
        ],
    )
    def test_a_score_that_holds_still_is_not_read_again(
        self, target: str, expected: list[str]
    ) -> None:
        """The read the lead holds stands: its score is the same, at the move."""
        answers = []
        for store in (InMemoryStore(), _UsualStore()):
            made = Funnel(_STILL, store=store, clock=ManualClock(T0))
            made.add_lead(lead())
            made.record(act("webinar", T0 + H))  # 30: constant points
            answers.append(made.move("L-1", target, by="rep", at=T0 + 3 * H))
            state = made.state("L-1")
            assert state.score.at == state.updated_at == T0 + 3 * H
            assert state.score.engagement == 30
        assert kinds(answers[0]) == expected  # no ScoreChanged: the score held
        assert to_json(answers[0]) == to_json(answers[1])

    def test_a_held_read_is_kept_while_its_score_holds_still(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A quick move reads no score while it holds still, and reads once it fades."""
        reads: list[float] = []
        read = ScoreState._read

        def counted(scorer: ScoreState, now: float) -> Any:
            reads.append(now)
            return read(scorer, now)

        monkeypatch.setattr(ScoreState, "_read", counted)
        store = InMemoryStore()
        made = Funnel(_STILL, store=store, clock=ManualClock(T0))
        made.add_lead(lead())
        made.record(act("demo", T0 + H))  # held at 20 until about T0 + 13 days
        held = store._states["L-1"]
        assert type(held) is _Recorded
        parts = held.dimensions
        del reads[:]
        moved = made.move("L-1", "nurture", by="rep", at=T0 + 2 * H)
        assert kinds(moved) == ["StageChanged"]
        assert reads == []  # held still: not read again
        assert store._states["L-1"] is held
        assert held.dimensions is parts
        events = made.move("L-1", "mql", by="rep", at=T0 + 20 * D)
        assert kinds(events) == ["ScoreChanged", "StageChanged"]  # faded under 20
        assert reads == [(T0 + 20 * D).timestamp()]
        assert held.dimensions is not parts
        assert 0 < made.state("L-1").score.engagement < 20

    def test_a_quick_move_s_scorer_is_the_last_used(self) -> None:
        """Under a bound, a lead just moved keeps its scorer past the next lead's."""
        made = Funnel(
            policy(Transition(source="lead", target="sal")),
            clock=ManualClock(T0),
            scorers=2,
        )
        made.add_lead(lead())
        made.add_lead(lead("L-2"))
        made.move("L-1", "sal", by="rep", at=T0)  # quick: L-1 the last used
        assert type(made.store._states.get("L-1")) is _Recorded  # type: ignore[attr-defined] # an InMemoryStore
        made.add_lead(lead("L-3"))  # L-2's scorer goes
        assert list(made._scorers) == ["L-1", "L-3"]

    def test_a_quick_move_keeps_no_earlier_score(self) -> None:
        """The scorer's score of an earlier instant goes: the held read stays."""
        made = Funnel(
            policy(Transition(source="lead", target="sal")), clock=ManualClock(T0)
        )
        made.add_lead(lead())
        earlier = weakref.ref(made.state("L-1").score)
        made.move("L-1", "sal", by="rep", at=T0 + H)
        gc.collect()
        assert earlier() is None
        assert made.state("L-1").score == made.score("L-1", at=T0 + H)

    def test_automatic_moves_follow_a_quick_move(self) -> None:
        """A stage with automatic moves out: followed, as the usual way does."""
        onward = Transition(
            source="sal", target="sql", guard=AttributeIs("budget", True), auto=True
        )
        answers = []
        for store in (InMemoryStore(), _UsualStore()):
            made = Funnel(policy(onward), store=store, clock=ManualClock(T0))
            made.add_lead(lead(budget=True))
            made.move("L-1", "mql", by="rep", reason="test", at=T0, override=True)
            answers.append(made.move("L-1", "sal", by="rep", at=T0 + H))
            assert made.state("L-1").stage == "sql"
        assert kinds(answers[0]) == ["StageChanged", "StageChanged"]
        assert to_json(answers[0]) == to_json(answers[1])

    def test_a_failing_guard_raises_and_forgets_the_scorer(self) -> None:
        """GuardFailed names the verdict; the store is as it was, the scorer dropped."""
        made = funnel()
        made.record(act("webinar", T0 + H))
        made.record(act("download", T0 + H))  # 40 points: MQL
        made.move("L-1", "sal", by="rep", reason=None, at=T0 + H, override=False)
        before = snapshot(made)
        with pytest.raises(GuardFailed, match="budget") as caught:
            made.move("L-1", "sql", by="rep", at=T0 + 2 * H)
        assert not caught.value.verdict.passed
        assert snapshot(made) == before
        assert "L-1" not in made._scorers

    def test_guards_are_asked_once(self) -> None:
        """Two candidates, both failing: each asked once, their verdicts joined."""
        asked: list[str] = []

        class Counted:
            def __init__(self, name: str) -> None:
                self.name = name

            def check(self, _ctx: Context) -> Verdict:
                asked.append(self.name)
                return Verdict(passed=False, criterion=self.name, reason="not yet")

        made = funnel(
            Transition(source="lead", target="won", guard=Counted("first")),
            Transition(source="lead", target="won", guard=Counted("second")),
        )
        with pytest.raises(GuardFailed) as caught:
            made.move("L-1", "won", by="rep", at=T0 + H)
        assert asked == ["first", "second"]
        assert caught.value.verdict.criterion == "any move from lead to won"
        assert [child.criterion for child in caught.value.verdict.children] == [
            "first",
            "second",
        ]

    def test_a_missing_reason_is_refused(self) -> None:
        """A move that requires a reason, asked without one: refused, nothing kept."""
        made = funnel()
        made.move("L-1", "mql", by="rep", at=T0 + H, reason="ok", override=True)
        before = snapshot(made)
        with pytest.raises(ValidationError, match="reason"):
            made.move("L-1", "nurture", by="rep", at=T0 + 2 * H)
        with pytest.raises(ValidationError, match="reason"):
            made.move("L-1", "lost", by="rep", at=T0 + 2 * H)
        assert snapshot(made) == before

    @pytest.mark.parametrize(
        ("at", "error"),
        [
            (datetime(2026, 3, 3, 9), NaiveDatetimeError),  # noqa: DTZ001 -- naive on purpose
            ("tomorrow", ValidationError),
            (T0 - H, ValidationError),
        ],
    )
    def test_a_bad_instant_is_refused(self, at: object, error: type[Exception]) -> None:
        """A naive, foreign or too early instant: the usual way's error, no change."""
        made = funnel()
        made.record(act("webinar", T0 + H))
        before = snapshot(made)
        with pytest.raises(error):
            made.move("L-1", "mql", by="rep", at=at)  # type: ignore[arg-type] # tested
        assert snapshot(made) == before

    def test_the_clock_is_read_once_and_never_runs_back(self) -> None:
        """No instant: the clock's now, read once, or the last update if later."""
        reads: list[datetime] = []

        class Counted(ManualClock):
            def now(self) -> datetime:
                found = super().now()
                reads.append(found)
                return found

        clock = Counted(T0)
        made = funnel(clock=clock)
        made.record(act("webinar", T0 + 2 * H))
        made.record(act("download", T0 + 2 * H))  # 40 points: MQL
        reads.clear()
        made.move("L-1", "sal", by="rep")
        assert made.state("L-1").entered_at == T0 + 2 * H
        assert type(made.store._states.get("L-1")) is _Recorded  # type: ignore[attr-defined] # an InMemoryStore
        assert reads == [T0]
        clock.advance(5 * H)
        made.move("L-1", "lost", by="rep", reason="spam")
        assert made.state("L-1").entered_at == T0 + 5 * H
        assert reads == [T0, T0 + 5 * H]

    def test_a_stale_or_missing_scorer_goes_the_usual_way(self) -> None:
        """Another funnel's record, or a lead updated there: the scorer is rebuilt."""
        straight = policy(Transition(source="lead", target="sal"))
        store = InMemoryStore()
        mover = Funnel(straight, store=store, clock=ManualClock(T0))
        other = Funnel(straight, store=store, clock=ManualClock(T0))
        mover.add_lead(lead())
        other.record(act("webinar", T0 + H))  # mover's scorer: one activity short
        events = mover.move("L-1", "sal", by="rep", at=T0 + 2 * H)
        assert type(store._states["L-1"]) is LeadState  # a draft's commit
        assert kinds(events) == ["StageChanged"]
        other.update_lead(lead(budget=True), at=T0 + 3 * H)  # another lead object
        mover.move("L-1", "sql", by="rep", at=T0 + 3 * H)
        assert type(store._states["L-1"]) is LeadState
        lone = Funnel(straight, clock=ManualClock(T0), scorers=1)
        held = lone.store
        assert isinstance(held, InMemoryStore)
        lone.add_lead(lead(budget=True))
        lone.add_lead(lead("L-2"))  # L-1's scorer goes
        lone.move("L-1", "sal", by="rep", at=T0)
        assert type(held._states.get("L-1")) is LeadState  # rebuilt and kept
        lone.move("L-1", "sql", by="rep", at=T0)
        assert type(held._states.get("L-1")) is _Recorded

    def test_a_lead_another_policy_left_goes_the_usual_way(self) -> None:
        """A stage this policy lacks, or a timer whose rule it lacks: the usual way."""
        store = InMemoryStore()
        other = Funnel(policies.b2b_saas(), store=store, clock=ManualClock(T0))
        bare = attrs.evolve(policies.b2b_saas(), slas=[])
        mine = Funnel(bare, store=store, clock=ManualClock(T0))
        other.add_lead(Lead("Q-1", T0))
        mine.state("Q-1")
        mine.record(Activity("Q-1", "page_view", T0, id="A-0"))  # a kept scorer
        other.move("Q-1", "mql", by="rep", reason="test", at=T0, override=True)
        events = mine.move("Q-1", "sal", by="rep", at=T0 + H)
        assert kinds(events)[0] == "SlaCancelled"
        assert kinds(events)[-1] == "StageChanged"

        class Plain:  # no fingerprint: the store's policy goes unchecked
            def check(self, _ctx: Context) -> Verdict:
                return Verdict(passed=True, criterion="plain", reason="always")

        unprinted = Funnel(
            policy(Transition(source="lead", target="won", guard=Plain())),
            store=store,
            clock=ManualClock(T0),
        )
        other.add_lead(Lead("Q-2", T0))
        unprinted.record(Activity("Q-2", "page_view", T0, id="A-1"))  # a kept scorer
        other.move("Q-2", "disqualified", by="rep", reason="bad_data", at=T0)
        with pytest.raises(PolicyError, match="'disqualified' of lead 'Q-2'"):
            unprinted.move("Q-2", "won", by="rep", at=T0 + H)
        written = store.written_under()
        unprinted.add_lead(Lead("Q-3", T0))
        unprinted.move("Q-3", "won", by="rep", at=T0 + H)  # quick, and unprinted
        assert type(store._states["Q-3"]) is _Recorded
        assert store.written_under() == written

    def test_an_accepted_policy_change_goes_the_usual_way(self) -> None:
        """The first change under a new policy wakes every lead: the usual way."""
        store = InMemoryStore()
        old = Funnel(policy(), store=store, clock=ManualClock(T0))
        old.add_lead(lead())
        new = Funnel(
            policy(AUTO_VIP, Transition(source="lead", target="sal")),
            store=store,
            clock=ManualClock(T0),
            accept_policy_change=True,
        )
        new.record(act("download", T0))  # a kept scorer, the store changed over
        old.add_lead(lead("L-2", vip=True))  # the store written under the old again
        events = new.move("L-1", "sal", by="rep", at=T0 + H)
        assert kinds(events)[-1] == "StageChanged"
        assert type(store._states["L-1"]) is LeadState
        assert store.wake("L-2") == T0  # woken, to be checked under the new policy
        new.tick(T0 + 2 * H)
        assert new.state("L-2").stage == "sql"

    def test_unknown_leads_and_illegal_moves_raise(self) -> None:
        """An unknown lead, a move the policy lacks: the usual way's errors."""
        made = funnel()
        before = snapshot(made)
        with pytest.raises(UnknownLead):
            made.move("L-9", "mql", by="rep")
        with pytest.raises(IllegalTransition):
            made.move("L-1", "won", by="rep")
        assert snapshot(made) == before


class TestInMemoryStore:
    def test_due_skips_stale_and_repeated_wakes(self) -> None:
        """A moved wake is found once, at its new instant; a cleared one not at all."""
        store = InMemoryStore()
        made = Funnel(policy(), store=store)
        made.add_lead(lead())
        state = made.state("L-1")
        wakes = [T0 + D, T0 + 2 * D, T0 + D, T0 + 3 * D]
        for at in wakes:
            store.commit(Commit(input=Tick(at), states=(state,), wakes=(("L-1", at),)))
        assert store.due(T0 + 5 * D) == [(T0 + 3 * D, "L-1")]
        store.commit(Commit(input=Tick(T0), wakes=(("L-1", None),)))
        assert store.due(T0 + 5 * D) == []
        assert store.wake("L-1") is None

    def test_a_lead_s_activities_grow_in_place(self) -> None:
        """Recording adds to the lead's held list: no new container per activity."""
        store = InMemoryStore()
        made = Funnel(policy(), store=store)
        made.add_lead(lead())
        first, second, third = (act("page_view", T0 + n * H, n=n) for n in (1, 2, 3))
        made.record(first)
        held = store._activities["L-1"]
        made.record(third)
        made.record(second)  # late: put at its place
        assert store._activities["L-1"] is held
        assert held == [first, second, third]

    def test_a_moved_wake_leaves_no_entry_behind(self) -> None:
        """A lead has one entry in the wake index: a moved wake replaces the old."""
        store = InMemoryStore()
        made = Funnel(policy(), store=store)
        made.add_lead(lead())
        for n in range(200):
            at = T0 + (200 - n) * H
            store.commit(Commit(input=Tick(at), wakes=(("L-1", at),)))
        assert store.due(T0 + 300 * H) == [(T0 + H, "L-1")]
        assert len(store._index) == 1

    @given(
        st.lists(
            st.tuples(st.booleans(), st.integers(0, 40)),
            max_size=120,
        ),
        st.integers(1, 4),
        st.integers(-1, 41),
    )
    # Every branch, whatever the random examples: a split in the middle and
    # at the end, then discards of a run's last entry and of a whole run.
    @example(
        [(True, v) for v in (1, 2, 3, 9, 8, 7, 6, 5, 20, 21, 22)]
        + [(False, v) for v in (3, 7, 1, 2, 30, 0)],
        1,
        6,
    )
    def test_sorted_index_equals_a_sorted_list(
        self, changes: list[tuple[bool, int]], run: int, limit: int
    ) -> None:
        """The wake index's runs hold what a sorted list would, in any run length."""
        index = _SortedInts(run)
        expected: list[int] = []
        for adding, value in changes:
            if adding:
                index.add(value)
                expected.append(value)
            else:
                index.discard(value)
                if value in expected:
                    expected.remove(value)
            expected.sort()
            assert index.below(1 << 100) == expected
            assert len(index) == len(expected)
            assert all(0 < len(part) <= 2 * run for part in index._runs)
            assert index._lasts == [part[-1] for part in index._runs]
        assert index.below(limit) == [value for value in expected if value < limit]

    @given(
        st.lists(
            st.tuples(st.sampled_from("abcde"), st.none() | st.integers(0, 50)),
            max_size=60,
        ),
        st.integers(0, 50),
    )
    def test_due_equals_a_scan(
        self, changes: list[tuple[str, int | None]], limit: int
    ) -> None:
        """due() returns exactly the current wakes at or before now, in order."""
        store = InMemoryStore()
        current: dict[str, datetime] = {}
        for lead_id, hours in changes:
            at = None if hours is None else T0 + hours * H
            store.commit(Commit(input=Tick(T0), wakes=((lead_id, at),)))
            if at is None:
                current.pop(lead_id, None)
            else:
                current[lead_id] = at
        now = T0 + limit * H
        expected = sorted((at, lead_id) for lead_id, at in current.items() if at <= now)
        assert store.due(now) == expected


class TestErrors:
    def test_subscriber_error_keeps_events_when_split(self) -> None:
        """except* and pickling keep a SubscriberError's events."""
        added = LeadAdded(lead(), T0)
        error = SubscriberError("failed", [ValueError("a"), KeyError("b")], [added])
        split = error.split(ValueError)[0]
        assert isinstance(split, SubscriberError)
        assert split.events == (added,)
        again = pickle.loads(pickle.dumps(error))  # noqa: S301 -- our own data
        assert again.events == (added,)
        assert len(again.exceptions) == 2

    def test_errors_pickle(self) -> None:
        """The engine's errors survive pickling with their data."""
        verdict = Verdict(passed=False, criterion="c", reason="r")
        for error in (
            UnknownLead(lead_id="L"),
            IllegalTransition(lead_id="L", source="a", target="b", allowed=["c"]),
            GuardFailed(lead_id="L", source="a", target="b", verdict=verdict),
        ):
            again = pickle.loads(pickle.dumps(error))  # noqa: S301 -- our own data
            assert str(again) == str(error)

    def test_event_properties(self) -> None:
        """Events name their lead and instant."""
        activity = act("webinar", T0)
        assert ActivityRecorded(activity).lead_id == "L-1"
        assert ActivityRecorded(activity).at == T0
        assert LeadAdded(lead(), T0).lead_id == "L-1"

    def test_bad_union_data(self) -> None:
        """Data without a known type tag is refused, naming the types."""
        with pytest.raises(SerializationError) as info:
            structure([{"type": "Nope"}], list[Input])
        assert "AddLead" in info.value.problems[0][1]
        with pytest.raises(SerializationError):
            structure("x", Context)


# -- The engine as a state machine -------------------------------------------

LEADS = ["L-0", "L-1", "L-2", "L-3"]
KINDS = ["webinar", "download", "demo", "page_view"]
STAGES = ["lead", "mql", "sal", "sql", "won", "nurture", "lost"]

POLICY = attrs.evolve(
    policy(),
    name="stateful",
    transitions=[
        Transition(
            source={"lead", "nurture"},
            target="sql",
            guard=DidActivity("demo", within=timedelta(hours=6))
            & AttributeIs("vip", True),
            auto=True,
        ),
        Transition(
            source="lead", target="mql", guard=ScoreAtLeast(40, "engagement"), auto=True
        ),
        Transition(
            source="mql",
            target="nurture",
            guard=Not(ScoreAtLeast(25, "engagement")) & InStageFor(2 * H),
            auto=True,
        ),
        Transition(source="mql", target="sal"),
        Transition(source="sal", target="sql", guard=AttributeIs("vip", True)),
        Transition(source="sql", target="won"),
        Transition(
            source={"mql", "sal", "sql"}, target="nurture", requires_reason=True
        ),
        Transition(source=ANY_OPEN, target="lost", reasons=["spam", "bad_data"]),
        Transition(
            source="nurture", target="mql", guard=DidActivity("webinar", in_stage=True)
        ),
        Transition(source="lost", target="nurture", reopen=True, requires_reason=True),
    ],
    slas=[
        SlaRule("engage", "lead", 5 * H, DidActivity("webinar")),
        SlaRule("accept", "mql", 3 * H, EXIT, warn_at=0.5, on_breach="manager"),
        SlaRule("touch", "sal", 2 * H, {"download"}),
        SlaRule("back", "sql", 4 * H, EXIT, on_breach=MoveTo("nurture")),
    ],
    scoring=ScoringModel(
        "stateful",
        [
            ActivityRule("webinar", 30),
            ActivityRule("download", 10, max_points=30),
            ActivityRule("demo", 40),
        ],
        decay=HalfLife(timedelta(hours=12)),
        limits={"engagement": (0, 100)},
    ),
)


def _timed_state() -> LeadState:
    """L-1, in mql since T0 + 1h (two webinars), its SLA timer there running."""
    timed = attrs.evolve(
        policy(), slas=(SlaRule("accept", "mql", 3 * H, EXIT, warn_at=0.5),)
    )
    made = Funnel(timed, clock=ManualClock(T0))
    made.add_lead(lead())
    made.record(act("webinar", T0 + H))
    made.record(act("webinar", T0 + H, n=1))  # engagement 60: mql
    return made.state("L-1")


NAIVE = datetime(2026, 3, 2, 9)  # noqa: DTZ001 -- the point


class TestValueChecks:
    @pytest.mark.parametrize(
        ("spoil", "field"),
        [
            ({"lead": "L-1"}, "lead"),
            ({"stage": " "}, "stage"),
            ({"entered_at": NAIVE}, "entered_at"),
            ({"score": None}, "score"),
            ({"history": "moves"}, "history"),
            ({"history": ["x"]}, "history"),
            ({"updated_at": "now"}, "updated_at"),
            ({"activities": -1}, "activities"),
            ({"activities": True}, "activities"),
            ({"timers": ("x",)}, "timers"),
            (
                lambda s: {"score": attrs.evolve(s.score, lead_id="L-2")},
                "score.lead_id",
            ),
            (lambda s: {"score": attrs.evolve(s.score, at=T0 + 2 * H)}, "score.at"),
            (
                lambda s: {"updated_at": T0, "score": attrs.evolve(s.score, at=T0)},
                "updated_at",
            ),
            (lambda s: {"history": s.history[1:]}, "history[0].source"),
            (
                lambda s: {
                    "history": (s.history[0], attrs.evolve(s.history[1], source="sal"))
                },
                "history[1].source",
            ),
            (
                lambda s: {
                    "history": (attrs.evolve(s.history[0], at=T0 + 2 * H), s.history[1])
                },
                "history[1].at",
            ),
            ({"stage": "sal"}, "history[1].target"),
            ({"entered_at": T0}, "history[1].at"),
            (
                lambda s: {"timers": (attrs.evolve(s.timers[0], stage="sal"),)},
                "timers[0].stage",
            ),
            (
                lambda s: {"timers": (attrs.evolve(s.timers[0], started_at=T0),)},
                "timers[0].started_at",
            ),
            (
                lambda s: {"timers": (attrs.evolve(s.timers[0], entry=0),)},
                "timers[0].entry",
            ),
            (lambda s: {"timers": s.timers * 2}, "timers[1].rule"),
        ],
    )
    def test_a_state_made_by_hand_is_checked(
        self,
        spoil: dict[str, Any] | Callable[[LeadState], dict[str, Any]],
        field: str,
    ) -> None:
        """A state whose field is bad, or whose parts do not fit, is refused by name."""
        state = _timed_state()
        changes = spoil(state) if callable(spoil) else spoil
        with pytest.raises(ValidationError) as info:
            attrs.evolve(state, **changes)
        assert (info.value.owner, info.value.field) == ("LeadState", field)

    def test_a_state_made_by_hand_that_fits_is_taken(self) -> None:
        """Lists are taken, an empty history (read later) passes, and zones mix."""
        state = _timed_state()
        assert attrs.evolve(state, history=list(state.history)) == state
        bare = attrs.evolve(state, history=(), timers=list(state.timers))
        assert (bare.history, bare.timers) == ((), state.timers)
        # Instants fit as instants: the entry and update in Paris, the
        # history, the timer and the score in UTC.
        paris = ZoneInfo("Europe/Paris")
        moved = attrs.evolve(
            state,
            entered_at=state.entered_at.astimezone(paris),
            updated_at=state.updated_at.astimezone(paris),
        )
        assert moved.entered_at.tzinfo is paris
        assert moved.score.at.tzinfo is UTC

    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (lambda s: LeadAdded(s.lead.id, T0), "lead"),
            (lambda s: LeadUpdated(s.lead, NAIVE), "at"),
            (lambda s: ActivityRecorded(s.stage), "activity"),
            (
                lambda s: ScoreChanged(
                    lead_id=" ", at=T0, score=s.score, previous=None
                ),
                "lead_id",
            ),
            (
                lambda s: ScoreChanged(
                    lead_id="L-2", at=T0, score=s.score, previous=None
                ),
                "score",
            ),
            (
                lambda s: ScoreChanged(
                    lead_id="L-1",
                    at=T0,
                    score=s.score,
                    previous=attrs.evolve(s.score, lead_id="L-2"),
                ),
                "previous",
            ),
            (
                lambda s: ScoreChanged(lead_id="L-1", at=T0, score=s.score, previous=1),  # type: ignore[arg-type]
                "previous",
            ),
            (lambda s: StageChanged(s.lead.id, None), "record"),  # type: ignore[arg-type]
            (lambda s: SlaStarted(s.lead.id, "accept"), "timer"),  # type: ignore[arg-type]
            (lambda s: SlaWarning("L-1", s.timers[0]), "timer"),
            (lambda s: SlaBreached("L-1", s.timers[0]), "timer"),
            (lambda s: SlaMet("L-1", s.timers[0]), "timer"),
            (lambda s: SlaCancelled("L-1", s.timers[0]), "timer"),
            (lambda s: SlaPaused("L-1", s.timers[0]), "timer"),
            (
                lambda s: SlaBreached("L-1", s.timers[0].breached(T0 + 4 * H), " "),
                "escalate_to",
            ),
            (
                lambda s: SlaResumed(
                    "L-1", s.timers[0].paused(T0 + 2 * H), at=T0 + 3 * H
                ),
                "at",
            ),
            (lambda s: SlaResumed("L-1", s.timers[0], at=NAIVE), "at"),
        ],
    )
    def test_an_event_made_by_hand_is_checked(
        self, make: Callable[[LeadState], Event], field: str
    ) -> None:
        """An event with a bad field, or a timer without its instant, is refused."""
        with pytest.raises(ValidationError) as info:
            make(_timed_state())
        assert info.value.field == field

    def test_a_timer_event_made_by_hand_reports_its_instant(self) -> None:
        """Each timer event made with its instant set reads it as its own."""
        timer = _timed_state().timers[0]
        at = T0 + 2 * H
        assert [
            SlaStarted("L-1", timer).at,
            SlaWarning("L-1", timer.warned(at)).at,
            SlaBreached("L-1", timer.breached(at), "manager").at,
            SlaMet("L-1", timer.met(at)).at,
            SlaCancelled("L-1", timer.cancelled(at)).at,
            SlaPaused("L-1", timer.paused(at)).at,
            SlaResumed("L-1", timer, at=at).at,
        ] == [T0 + H, at, at, at, at, at, at]


class TestScorerCache:
    """The scorers a funnel keeps between calls: bounded, least recently used out."""

    @staticmethod
    def _leads(made: Funnel, count: int) -> None:
        for number in range(1, count + 1):
            made.add_lead(lead(f"L-{number}"))

    def test_the_least_recently_used_go_first(self) -> None:
        """Room for two: a third lead's scorer pushes out the one used longest ago."""
        made = Funnel(policy(), clock=ManualClock(T0), scorers=2)
        self._leads(made, 3)
        for number in (1, 2, 3):
            made.record(act("webinar", T0 + H, lead_id=f"L-{number}"))
        assert list(made._scorers) == ["L-2", "L-3"]
        made.record(act("download", T0 + 2 * H, lead_id="L-2"))  # used: kept longest
        assert list(made._scorers) == ["L-3", "L-2"]
        made.record(act("download", T0 + 2 * H, lead_id="L-1"))  # rebuilt
        assert list(made._scorers) == ["L-2", "L-1"]
        assert made.score("L-1", at=T0 + 2 * H).dimensions["engagement"] == 40

    def test_a_stale_scorer_replaced_is_the_last_used(self) -> None:
        """A lead updated since its scorer was made gets a new one, kept longest."""
        made = Funnel(policy(), clock=ManualClock(T0), scorers=2)
        self._leads(made, 2)
        made.record(act("webinar", T0 + H, lead_id="L-1"))
        made.record(act("webinar", T0 + H, lead_id="L-2"))
        made.update_lead(lead("L-1", vip=True), at=T0 + 2 * H)
        assert list(made._scorers) == ["L-2", "L-1"]

    def test_the_store_s_cache_size_is_the_default(self) -> None:
        """On a store with a cache_size, the funnel keeps as many scorers; else all."""
        with SQLiteStore(":memory:", cache_size=2) as store:
            made = Funnel(policy(), store=store, clock=ManualClock(T0))
            self._leads(made, 4)
            assert store.cache_size == 2
            assert len(made._scorers) == 2
        unbounded = Funnel(policy(), clock=ManualClock(T0))
        self._leads(unbounded, 4)
        assert len(unbounded._scorers) == 4
        assert Funnel(policy(), store=InMemoryStore(), scorers=3)._scorers_kept == 3

    @pytest.mark.parametrize(
        ("size", "kept"), [(2, 2), (1, 1), (0, 0), ("many", 0), (None, 0)]
    )
    def test_a_host_store_s_cache_size(self, size: object, kept: int) -> None:
        """A host's store may give a cache_size; one not a count bounds nothing."""

        class Sized(InMemoryStore):
            cache_size = size

        assert Funnel(policy(), store=Sized())._scorers_kept == kept

    @staticmethod
    def _in_file(store: SQLiteStore) -> Funnel:
        """A funnel whose three leads wait a day for nurture, one with an activity."""
        timed = policy(
            Transition(source="lead", target="nurture", guard=InStageFor(D), auto=True)
        )
        made = Funnel(timed, store=store, clock=ManualClock(T0))
        TestScorerCache._leads(made, 3)
        made.record(act("download", T0 + H, lead_id="L-1"))
        return made

    def test_a_tick_keeps_no_scorer_it_rebuilt(self) -> None:
        """A tick rebuilds the scorers it lacks for its leads and lets them go."""
        with SQLiteStore(":memory:") as kept, SQLiteStore(":memory:") as restarted:
            warm = self._in_file(kept)
            self._in_file(restarted)
            cold = Funnel(warm.policy, store=restarted, clock=ManualClock(T0))
            assert len(warm._scorers) == 3
            assert len(cold._scorers) == 0
            events = cold.tick(T0 + 2 * D)
            assert kinds(events).count("StageChanged") == 3
            assert events == warm.tick(T0 + 2 * D)
            assert len(cold._scorers) == 0  # none kept
            assert len(warm._scorers) == 3  # those it had, kept
            for lead_id in ("L-1", "L-2", "L-3"):
                assert cold.state(lead_id) == warm.state(lead_id)
            cold.record(act("webinar", T0 + 2 * D + H, lead_id="L-2"))
            assert list(cold._scorers) == ["L-2"]  # an input's lead: kept

    def test_overdue_keeps_no_scorer_it_rebuilt(self) -> None:
        """Overdue scans every lead with timers, as a tick wakes them: none kept."""
        late = attrs.evolve(policy(), slas=(SlaRule("engage", "lead", 5 * H, EXIT),))
        with SQLiteStore(":memory:") as store:
            first = Funnel(late, store=store, clock=ManualClock(T0))
            self._leads(first, 2)
            cold = Funnel(late, store=store, clock=ManualClock(T0))
            found = cold.overdue(T0 + 6 * H)
            assert [lead_id for lead_id, _ in found] == ["L-1", "L-2"]
            assert found == first.overdue(T0 + 6 * H)
            assert len(cold._scorers) == 0
            assert len(first._scorers) == 2

    def test_a_tick_drops_a_stale_scorer(self) -> None:
        """A scorer another funnel has made stale is dropped by a tick, not kept."""
        with SQLiteStore(":memory:") as store:
            first = self._in_file(store)
            other = Funnel(first.policy, store=store, clock=ManualClock(T0))
            other.record(act("download", T0 + 2 * H, lead_id="L-1"))
            assert "L-1" in first._scorers  # made before the other's record
            events = first.tick(T0 + 2 * D)
            assert kinds(events).count("StageChanged") == 3
            assert "L-1" not in first._scorers
            assert first.state("L-1").score.dimensions["engagement"] == 20
            assert first.score("L-1", at=T0 + 2 * D).dimensions["engagement"] == 20

    @given(
        steps=st.lists(
            st.tuples(
                st.sampled_from(["record", "update", "tick"]),
                st.integers(1, 3),
                st.integers(-4 * 60, 4 * 60),
                st.sampled_from(["webinar", "download"]),
            ),
            max_size=25,
        )
    )
    def test_a_bound_never_changes_what_happens(
        self, steps: list[tuple[str, int, int, str]]
    ) -> None:
        """One scorer kept or all: the same events and states, late activities too."""
        made = [
            Funnel(policy(), clock=ManualClock(T0), scorers=kept) for kept in (None, 1)
        ]
        results: list[list[object]] = [[], []]
        for funnel_, found in zip(made, results, strict=True):
            self._leads(funnel_, 3)
            now = T0 + 5 * H
            for serial, (step, number, minutes, kind) in enumerate(steps):
                lead_id = f"L-{number}"
                at = now + timedelta(minutes=minutes)
                done: object
                try:
                    if step == "record":
                        done = funnel_.record(act(kind, at, lead_id=lead_id, n=serial))
                    elif step == "update":
                        update = lead(lead_id, vip=bool(serial % 2))
                        done = funnel_.update_lead(update, at=at)
                    else:
                        now += timedelta(minutes=abs(minutes))
                        done = funnel_.tick(now)
                except FunnelkitError as error:  # an update back in time
                    done = str(error)
                found.append(done)
            found.append([funnel_.state(f"L-{n}") for n in (1, 2, 3)])
        assert results[0] == results[1]

    @given(
        steps=st.lists(
            st.tuples(
                st.sampled_from(["record", "tick", "restart"]),
                st.integers(1, 3),
                st.integers(0, 5 * 60),
                st.sampled_from(["webinar", "download"]),
            ),
            max_size=20,
        )
    )
    def test_restarts_never_change_what_ticks_do(
        self, steps: list[tuple[str, int, int, str]]
    ) -> None:
        """Ticks after restarts (no scorers kept) find what a warm funnel finds."""
        decaying = ScoringModel(
            "decaying",
            [
                ActivityRule("webinar", 30, decay=HalfLife(timedelta(hours=6))),
                ActivityRule("download", 10),
            ],
        )
        timed = attrs.evolve(
            policy(
                Transition(
                    source="lead", target="nurture", guard=InStageFor(9 * H), auto=True
                ),
                model=decaying,
            ),
            slas=(SlaRule("engage", "lead", 4 * H, DidActivity("webinar")),),
        )
        with SQLiteStore(":memory:") as warm_store, SQLiteStore(":memory:") as store:
            warm = Funnel(timed, store=warm_store, clock=ManualClock(T0))
            cold = Funnel(timed, store=store, clock=ManualClock(T0))
            self._leads(warm, 3)
            self._leads(cold, 3)
            now = T0
            for serial, (step, number, minutes, kind) in enumerate(steps):
                now += timedelta(minutes=minutes)
                if step == "record":
                    found = [
                        made.record(act(kind, now, lead_id=f"L-{number}", n=serial))
                        for made in (warm, cold)
                    ]
                elif step == "tick":
                    found = [made.tick(now) for made in (warm, cold)]
                else:  # a restart: a new funnel on the store, no scorer kept
                    cold = Funnel(timed, store=store, clock=ManualClock(T0))
                    continue
                assert found[0] == found[1]
            for number in (1, 2, 3):
                assert warm.state(f"L-{number}") == cold.state(f"L-{number}")
            assert warm.tick(now + 2 * D) == cold.tick(now + 2 * D)


def _written(funnel: Funnel, lead_ids: list[str]) -> list[str]:
    """Each lead's state as JSON, in the order given."""
    return [to_json(funnel.state(lead_id)) for lead_id in lead_ids]


class TestAnyPolicy:
    @settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
    @given(
        draw.policies(),
        st.lists(draw.leads(), min_size=1, max_size=3, unique_by=lambda lead: lead.id),
        st.data(),
    )
    def test_both_stores_agree_refusals_change_nothing_and_replay_repeats(
        self, policy: FunnelPolicy, lead_list: list[Lead], data: st.DataObject
    ) -> None:
        """Any policy, any calls: the stores agree, refusals change nothing, replay."""
        start = max(lead.created_at for lead in lead_list)
        clock = ManualClock(start)
        ids = [lead.id for lead in lead_list]
        stream = data.draw(draw.activity_streams(ids, start=start, max_size=8))
        rules = [rule.name for rule in policy.slas] or ["none"]
        with SQLiteStore(":memory:") as store:
            filed = Funnel(policy, clock=clock, store=store)
            held = Funnel(policy, clock=ManualClock(start))
            for lead in lead_list:
                filed.add_lead(lead)
                held.add_lead(lead)
            for _ in range(data.draw(st.integers(0, 14), label="calls")):
                lead_id = data.draw(st.sampled_from(ids))
                call = self._call(
                    data, policy, held, lead_id, stream=stream, clock=clock, rules=rules
                )
                if call is None:
                    continue
                before = _written(filed, ids)
                try:
                    events = call(filed)
                except FunnelkitError as error:
                    assert _written(filed, ids) == before
                    with pytest.raises(type(error)):
                        call(held)
                    continue
                assert [to_json(e) for e in events] == [to_json(e) for e in call(held)]
            assert _written(filed, ids) == _written(held, ids)
            again = Funnel(policy, clock=ManualClock(start))
            again.replay(list(held.inputs()))
            assert _written(again, ids) == _written(held, ids)

    @staticmethod
    def _call(  # noqa: PLR0913 -- what a call is drawn from
        data: st.DataObject,
        policy: FunnelPolicy,
        funnel: Funnel,
        lead_id: str,
        *,
        stream: list[Activity],
        clock: ManualClock,
        rules: list[str],
    ) -> Callable[[Funnel], list[Event]] | None:
        """Draw a call to make of both funnels, or move the clock on (None)."""
        kind = data.draw(
            st.sampled_from(["record", "move", "tick", "pause", "resume", "wait"])
        )
        now = clock.now()
        if kind == "record" and stream:
            activity = stream.pop(0)
            if now < activity.at:
                clock.set(activity.at)
            return lambda funnel: funnel.record(activity)
        if kind == "move":
            here = funnel.state(lead_id).stage
            stages = [stage.name for stage in policy.stages]
            # Mostly a move the policy allows (so guards and reasons are met).
            to = data.draw(
                st.sampled_from(list(policy.targets(here)) or stages)
                | st.sampled_from(stages)
            )
            codes = [c for t in policy.transitions_between(here, to) for c in t.reasons]
            reason: str | None = data.draw(st.sampled_from([*codes, None, "other"]))
            override = data.draw(st.booleans())
            return lambda funnel: funnel.move(
                lead_id, to, by="rep", reason=reason, override=override, at=now
            )
        if kind == "tick":
            return lambda funnel: funnel.tick(now)
        if kind in {"pause", "resume"}:
            rule = data.draw(st.sampled_from(rules))
            if kind == "pause":
                return lambda funnel: funnel.pause_timer(lead_id, rule, at=now)
            return lambda funnel: funnel.resume_timer(lead_id, rule, at=now)
        clock.advance(timedelta(minutes=data.draw(st.integers(1, 60 * 24 * 20))))
        return None


class FunnelMachine(RuleBasedStateMachine):
    """Drive one funnel with leads, activities, moves, ticks and clock advances."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(T0)
        self.funnel = Funnel(POLICY, store=InMemoryStore(), clock=self.clock)
        self.added: set[str] = set()
        self.serial = 0
        self.events: list[object] = []
        self.funnel.subscribe(self.events.append)

    @rule(lead_id=st.sampled_from(LEADS), vip=st.booleans())
    def add_lead(self, lead_id: str, vip: bool) -> None:
        """Add a lead (again, if it is there: then nothing or a refusal)."""
        lead = Lead(lead_id, self.clock.now(), attributes={"vip": vip})
        before = snapshot(self.funnel)
        try:
            events = self.funnel.add_lead(lead)
        except FunnelkitError:
            assert lead_id in self.added
            assert snapshot(self.funnel) == before
            return
        if lead_id in self.added:
            assert events == []
        self.added.add(lead_id)

    @precondition(lambda self: bool(self.added))
    @rule(
        lead_id=st.sampled_from(LEADS),
        kind=st.sampled_from(KINDS),
        offset=st.integers(-6, 3),
        duplicate=st.booleans(),
    )
    def record(self, lead_id: str, kind: str, offset: int, duplicate: bool) -> None:
        """Record an activity, possibly late, possibly a duplicate."""
        if not duplicate:
            self.serial += 1
        at = self.clock.now() + offset * H
        activity = Activity(lead_id, kind, at, id=f"A-{self.serial}")
        before = snapshot(self.funnel)
        try:
            self.funnel.record(activity)
        except UnknownLead:
            assert lead_id not in self.added
            assert snapshot(self.funnel) == before

    @precondition(lambda self: bool(self.added))
    @rule(
        lead_id=st.sampled_from(LEADS),
        to=st.sampled_from(STAGES),
        reason=st.sampled_from([None, "spam", "later"]),
        override=st.booleans(),
    )
    def move(self, lead_id: str, to: str, reason: str | None, override: bool) -> None:
        """Ask for a move; a refusal changes nothing."""
        before = snapshot(self.funnel)
        try:
            self.funnel.move(lead_id, to, by="rep", reason=reason, override=override)
        except FunnelkitError:
            assert snapshot(self.funnel) == before

    @rule(hours=st.integers(0, 30))
    def tick(self, hours: int) -> None:
        """Advance the clock and tick: its events by instant, then by lead."""
        self.clock.advance(hours * H)
        events = self.funnel.tick()
        in_order = sorted(events, key=lambda e: (e.at.astimezone(UTC), e.lead_id))
        assert events == in_order  # a stable sort: equal only if in order already

    @rule(
        lead_id=st.sampled_from(LEADS),
        name=st.sampled_from(["engage", "accept", "touch", "back"]),
        pause=st.booleans(),
    )
    def pause_or_resume(self, lead_id: str, name: str, pause: bool) -> None:
        """Pause or resume a timer; a call that does not apply changes nothing."""
        if lead_id not in self.added:
            return
        call = self.funnel.pause_timer if pause else self.funnel.resume_timer
        before = self.funnel.inputs()
        try:
            call(lead_id, name)
        except ValidationError:
            assert self.funnel.inputs() == before

    @rule(hours=st.integers(1, 5))
    def advance(self, hours: int) -> None:
        """Let time pass without a tick."""
        self.clock.advance(hours * H)

    @invariant()
    def histories_follow_the_policy(self) -> None:
        """Each move is allowed, passed its guard or was forced, in time order."""
        for lead_id in self.funnel.store.lead_ids():
            state = self.funnel.state(lead_id)
            first, *moves = state.history
            assert (first.source, first.target) == (None, "lead")
            for record in moves:
                assert record.source is not None
                assert POLICY.transitions_between(record.source, record.target)
                assert record.verdict is not None
                assert record.verdict.passed or record.override
                assert record.override == (not record.verdict.passed)
            times = [record.at for record in state.history]
            assert times == sorted(times)
            for earlier, later in zip(state.history, moves, strict=False):
                assert later.source == earlier.target
            assert state.stage == state.history[-1].target
            assert state.entered_at == state.history[-1].at
            assert state.updated_at >= state.entered_at

    @invariant()
    def each_timer_names_the_move_that_started_it(self) -> None:
        """A timer's entry is the position of the move into its stage, at its start."""
        for lead_id in self.funnel.store.lead_ids():
            state = self.funnel.state(lead_id)
            for timer in state.timers:
                entered = state.history[timer.entry]
                assert (entered.target, entered.at) == (timer.stage, timer.started_at)

    @invariant()
    def each_lead_is_in_one_stage(self) -> None:
        """Counting leads per stage counts every lead once."""
        ids = list(self.funnel.store.lead_ids())
        assert sorted(ids) == sorted(self.added)
        per_stage = dict.fromkeys(STAGES, 0)
        for lead_id in ids:
            per_stage[self.funnel.state(lead_id).stage] += 1
        assert sum(per_stage.values()) == len(ids)

    @invariant()
    def each_sla_event_comes_at_most_once(self) -> None:
        """Every timer starts once, warns, breaches and ends at most once, in order."""
        seen: dict[tuple[str, str, int], list[tuple[str, datetime]]] = {}
        for event in self.events:
            if isinstance(
                event, SlaStarted | SlaWarning | SlaBreached | SlaMet | SlaCancelled
            ):  # pauses and resumes may come again and again
                key = (event.lead_id, event.timer.rule, event.timer.entry)
                seen.setdefault(key, []).append((type(event).__name__, event.at))
        for steps in seen.values():
            names = [name for name, _ in steps]
            assert names[0] == "SlaStarted"
            assert len(names) == len(set(names))
            assert not {"SlaMet", "SlaCancelled"} <= set(names)
            times = [at for _, at in steps]
            assert times == sorted(times)

    def teardown(self) -> None:
        """Replaying the input log gives the same states, wakes and events.

        And, after a last tick, every SLA event came exactly once: nothing
        due is left unfired, and each timer's record of a warning, a breach,
        a met or a cancel matches the one event that said so.
        """
        again = Funnel(POLICY, clock=ManualClock(T0))
        assert again.replay(self.funnel.inputs()) == self.events
        assert snapshot(again) == snapshot(self.funnel)
        now = self.clock.now()
        self.funnel.tick(now)
        for lead_id in self.funnel.store.lead_ids():
            for held in self.funnel.state(lead_id).timers:
                due = held.next_due
                assert due is None or due > now
        latest: dict[tuple[str, str, int], SlaTimer] = {}
        said: dict[tuple[str, str, int], set[str]] = {}
        for event in self.events:
            timer = getattr(event, "timer", None)
            if isinstance(timer, SlaTimer):
                key = (event.lead_id, timer.rule, timer.entry)  # type: ignore[attr-defined] # an SLA event
                latest[key] = timer
                said.setdefault(key, set()).add(type(event).__name__)
        for key, timer in latest.items():
            recorded = {
                name
                for name, at in (
                    ("SlaWarning", timer.warned_at),
                    ("SlaBreached", timer.breached_at),
                    ("SlaMet", timer.met_at),
                    ("SlaCancelled", timer.cancelled_at),
                )
                if at is not None
            }
            assert recorded == said[key] - {"SlaStarted", "SlaPaused", "SlaResumed"}


TestFunnelMachine = FunnelMachine.TestCase


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_calls_leave_no_cyclic_garbage(store: str) -> None:
    """Add, record, move and tick leave nothing only the cyclic collector frees."""
    from funnelkit import SQLiteStore, policies  # noqa: PLC0415 -- this test's own

    kept = SQLiteStore(":memory:") if store == "sqlite" else InMemoryStore()
    funnel = Funnel(policies.b2b_saas(), store=kept, clock=ManualClock(T0))
    lead = Lead("G-1", T0, attributes={"employees": 500, "industry": "saas"})
    collecting = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        funnel.add_lead(lead)
        funnel.record(Activity("G-1", "demo_request", T0 + H))
        funnel.move("G-1", "opportunity", by="rep")
        funnel.tick(T0 + timedelta(days=30))
        found = gc.collect()
        stage = funnel.state("G-1").stage
    finally:
        if collecting:
            gc.enable()
        if isinstance(kept, SQLiteStore):
            kept.close()
    assert stage == "opportunity"
    assert found == 0


class _RefusingStore(InMemoryStore):
    """A store that applies a call's commit as its transaction ends, or refuses it."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = False
        self._held: list[Commit] | None = None

    def commit(self, change: Commit, /) -> None:
        """Hold the change until the transaction ends."""
        if self._held is None:
            super().commit(change)
        else:
            self._held.append(change)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Apply the call's change at the end, as a database's COMMIT does."""
        self._held = []
        try:
            yield
            if self.refuse and self._held:
                raise RuntimeError("refused at COMMIT")
            for change in self._held:
                super().commit(change)
        finally:
            self._held = None
