"""Every public call, given one argument of the wrong kind, raises a FunnelkitError.

Each case is a call that works, made again with one argument at a time replaced
by each value of ``WRONG``: the call must then work or raise a
``FunnelkitError`` (a ``ValidationError`` naming the argument, mostly), never
Python's own ``TypeError`` or ``AttributeError`` from inside funnelkit.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from attrs import AttrsInstance

import funnelkit as fk
from funnelkit import analytics, learn, policies, serialization, testing
from funnelkit.errors import FunnelkitError

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
POLICY = policies.b2b_saas()
LEAD = fk.Lead("L1", T0, attributes={"industry": "software", "employees": 250})
ACTIVITY = fk.Activity("L1", "page_view", T0, id="a1")
CALENDAR = fk.BusinessCalendar("Europe/Paris", {"mon": [("09:00", "17:00")]})
TIMER = fk.SlaTimer(
    rule="r",
    stage="mql",
    entry=1,
    started_at=T0,
    deadline=T0 + timedelta(hours=4),
    warn_at=T0 + timedelta(hours=2),
)
SLA = fk.SlaRule("r", "mql", "4h", {"sales_touch"}, warn_at=0.5)
ENTRIES = [
    analytics.StageEntry("L1", "lead", T0),
    analytics.StageEntry("L1", "mql", T0 + timedelta(days=2)),
]
ROWS = [
    {"industry": "ab"[n % 2], "employees": 10 + n * 7, "won": n % 3 == 0}
    for n in range(40)
]

#: Values of every kind the calls below do not take somewhere.
WRONG: tuple[object, ...] = (
    None,
    3,
    -1.5,
    math.nan,
    "",
    "x",
    b"x",
    [],
    {"a": 1},
    object(),
    datetime(2026, 1, 1),  # noqa: DTZ001 -- naive, on purpose
    T0,
    date(2026, 1, 1),
    time(9),
    timedelta(-1),
    ZoneInfo("Europe/Paris"),
    ["x"],
)


def _funnel() -> fk.Funnel:
    funnel = fk.Funnel(POLICY, clock=testing.ManualClock(T0))
    funnel.add_lead(LEAD)
    return funnel


def _on_funnel(method: str) -> Callable[..., object]:
    """Call *method* of a new funnel holding LEAD."""

    def call(*args: Any, **kwargs: Any) -> object:
        return getattr(_funnel(), method)(*args, **kwargs)

    call.__name__ = f"Funnel.{method}"
    return call


def _on_scenario(method: str) -> Callable[..., object]:
    """Call *method* of a new scenario whose lead is L1."""

    def call(*args: Any, **kwargs: Any) -> object:
        scenario = testing.Scenario(POLICY, start=T0).lead("L1", industry="software")
        return getattr(scenario, method)(*args, **kwargs)

    call.__name__ = f"Scenario.{method}"
    return call


Case = tuple[str, Callable[..., object], tuple[object, ...], dict[str, object]]


def case(
    label: str,
    call: Callable[..., object],
    /,
    *args: object,
    **kwargs: object,
) -> Case:
    """A call that works, by its label."""
    return (label, call, args, kwargs)


def _context() -> fk.Context:
    state = _funnel().state("L1")
    return fk.Context(lead=LEAD, stage="lead", entered_at=T0, score=state.score, now=T0)


def _fields(value: AttrsInstance) -> dict[str, object]:
    """The arguments that make *value* again: its attrs fields set at init."""
    return {
        field.alias: getattr(value, field.name)
        for field in attrs.fields(type(value))
        if field.init
    }


CONTEXT = _context()
STATE = _funnel().state("L1")
SCORE = STATE.score
RECORD = fk.TransitionRecord(source=None, target="lead", at=T0, by="auto")
PAUSED = TIMER.paused(T0 + timedelta(hours=1))
REPORT = analytics.FunnelReport.build(
    ENTRIES, stages=["lead", "mql"], start=T0, end=T0 + timedelta(days=30)
)
HISTORY_LEADS = [
    fk.Lead(f"H{n}", T0, attributes={"industry": "ab"[n % 2]}) for n in range(40)
]
HISTORY_ACTIVITIES = [
    fk.Activity(lead.id, "page_view", T0 + timedelta(hours=n), id=f"h{n}")
    for n, lead in enumerate(HISTORY_LEADS)
]
#: A backtest's leads, activities and outcomes, and its window.
REPLAYED = ([LEAD], [ACTIVITY], {"L1": True})
WINDOW = {"start": T0, "end": T0 + timedelta(days=40)}
HISTORY_OUTCOMES = {lead.id: n % 3 == 0 for n, lead in enumerate(HISTORY_LEADS)}
#: A report with a row of every kind: goals, the paths of won leads, SLA timers.
FULL_REPORT = analytics.FunnelReport.build(
    ENTRIES,
    stages=["lead", "mql"],
    start=T0,
    end=T0 + timedelta(days=30),
    goals=[analytics.Goal("mql", "month", 10)],
    timers=[("L1", TIMER)],
)
BACKTEST = analytics.backtest(
    POLICY, *REPLAYED, start=WINDOW["start"], end=WINDOW["end"], timezone="UTC"
)
SCORECARD = learn.fit_scorecard(ROWS, "won", name="learned")
EVALUATION = learn.evaluate(SCORECARD, ROWS, "won")
#: Reports and results, each with the rows it holds: rebuilt from their fields.
RESULTS: tuple[AttrsInstance, ...] = (
    FULL_REPORT,
    FULL_REPORT.conversions[0],
    FULL_REPORT.times[0],
    FULL_REPORT.flow[0],
    FULL_REPORT.goals[0],
    FULL_REPORT.paths[0],
    FULL_REPORT.sla[0],
    BACKTEST,
    BACKTEST.deciles[0],
    analytics.compare(
        POLICY, POLICY, *REPLAYED, start=WINDOW["start"], end=WINDOW["end"]
    ),
    SCORECARD,
    SCORECARD.levels[0],
    EVALUATION,
    EVALUATION.calibration[0],
    testing.Mismatch(
        case=0, field="stage", expected="mql", found="lead", explanation="why"
    ),
    fk.PolicyChange("version", 1, 2, "version 1 -> 2"),
)
CRITERIA = (
    fk.Always(),
    fk.ScoreAtLeast(10),
    fk.GradeAtLeast("B"),
    fk.DidActivity({"demo_request"}, timedelta(days=3)),
    fk.AttributeIs("industry", "software"),
    fk.BantQualified(),
    fk.InStageFor(timedelta(days=1)),
    fk.AllOf(fk.Always()),
    fk.AnyOf(fk.Always()),
    fk.AtLeast(1, fk.Always()),
    fk.Not(fk.Always()),
)

CASES: list[Case] = [
    # Values.
    case("Activity", fk.Activity, "L1", "page_view", T0, id="a1", properties={}),
    case("Lead", fk.Lead, "L1", T0, email="a@b.example", attributes={"x": 1}),
    case("Bant", fk.Bant, budget=True, authority=None, timeline=date(2026, 5, 1)),
    case("Stage", fk.Stage, "x", "open", description="d"),
    case("Transition", fk.Transition, source="lead", target="mql", auto=True),
    case("Move", fk.Move, lead_id="L1", to="mql", by="me", at=T0, reason=None),
    case("Tick", fk.Tick, T0),
    case("AddLead", fk.AddLead, LEAD),
    case("PauseTimer", fk.PauseTimer, "L1", "r", T0),
    case("Verdict", fk.Verdict, passed=True, criterion="c", reason="r"),
    case(
        "Context",
        fk.Context,
        lead=LEAD,
        stage="lead",
        entered_at=T0,
        score=CONTEXT.score,
        now=T0,
    ),
    case("SlaTimer.warned", TIMER.warned, T0 + timedelta(hours=3)),
    case("SlaTimer.met", TIMER.met, T0 + timedelta(hours=3)),
    case("SlaTimer.paused", TIMER.paused, T0 + timedelta(hours=1)),
    case(
        "SlaTimer.resumed",
        TIMER.paused(T0 + timedelta(hours=1)).resumed,
        T0 + timedelta(hours=6),
        T0 + timedelta(hours=5),
    ),
    # Time.
    case("BusinessCalendar", fk.BusinessCalendar, "UTC", {"mon": [("9:00", "17:00")]}),
    case(
        "BusinessCalendar.weekdays",
        fk.BusinessCalendar.weekdays,
        "09:00",
        "17:00",
        timezone="UTC",
    ),
    case("BusinessCalendar.add", CALENDAR.add, T0, timedelta(hours=3)),
    case("BusinessCalendar.elapsed", CALENDAR.elapsed, T0, T0 + timedelta(days=3)),
    case("BusinessCalendar.next_open", CALENDAR.next_open, T0),
    case("BusinessDuration", fk.BusinessDuration, days=1, time=timedelta(hours=2)),
    case("Holiday", fk.Holiday, date(2026, 12, 25)),
    case("SystemClock", fk.SystemClock, UTC),
    case("ManualClock", testing.ManualClock, T0),
    case("format_duration", fk.format_duration, timedelta(hours=3)),
    case("parse_duration", fk.parse_duration, "3h"),
    # Scoring.
    case(
        "ActivityRule",
        fk.ActivityRule,
        "page_view",
        5,
        max_points=20,
        per=timedelta(days=1),
    ),
    case("AttributeRule", fk.AttributeRule, "industry", "software", 10, name="icp"),
    case("AttributeRule.evaluate", fk.AttributeRule("industry", "x", 1).evaluate, LEAD),
    case("HalfLife", fk.HalfLife, timedelta(days=30)),
    case("StepDecay", fk.StepDecay, timedelta(days=30), 0.5),
    case("HalfLife.weight", fk.HalfLife(timedelta(days=3)).weight, 86_400.0),
    case("StepDecay.weight", fk.StepDecay(timedelta(days=3), 0.5).weight, 86_400.0),
    case("LinearDecay.weight", fk.LinearDecay(timedelta(days=3)).weight, 86_400.0),
    case("ScoringModel", fk.ScoringModel, "m", [fk.ActivityRule("page_view", 5)]),
    case("ScoringModel.score", POLICY.scoring.score, LEAD, [ACTIVITY], at=T0),
    case("ScoreState", fk.ScoreState, POLICY.scoring, LEAD),
    case("Grades.fit_grade", fk.Grades().fit_grade, 50),
    case("between", fk.between, 1, 5, include_high=True),
    case("matches", fk.matches, "a.*", ignore_case=False),
    case("email_domain", fk.email_domain, "a@b.example"),
    # Criteria.
    case("AtLeast", fk.AtLeast, 1, fk.Always()),
    case("AttributeIs", fk.AttributeIs, "industry", "software"),
    case("BantQualified", fk.BantQualified, 3, timeline_within=timedelta(days=9)),
    case("DidActivity", fk.DidActivity, {"demo_request"}, timedelta(days=3), 1),
    case("GradeAtLeast", fk.GradeAtLeast, "B", None),
    case("InStageFor", fk.InStageFor, timedelta(days=3)),
    case("ScoreAtLeast", fk.ScoreAtLeast, 40, "total"),
    *(
        case(
            f"{type(criterion).__name__}.{method}", getattr(criterion, method), CONTEXT
        )
        for criterion in CRITERIA
        for method in ("check", "passes", "wake_at")
    ),
    # Policies and their files.
    case("SlaRule", fk.SlaRule, "r", "mql", "4h", {"sales_touch"}, warn_at=0.5),
    case("SlaRule.deadline", SLA.deadline, T0, None),
    case("SlaRule.moved", SLA.moved, T0, T0, T0 + timedelta(hours=1), None),
    case("Escalate", fk.Escalate, "manager"),
    case("MoveTo", fk.MoveTo, "nurture", "sla_breach"),
    case("FunnelPolicy.stage", POLICY.stage, "mql"),
    case("FunnelPolicy.transitions_between", POLICY.transitions_between, "lead", "mql"),
    case("dump_policy", fk.dump_policy, POLICY, "toml", criteria=None),
    case("load_policy", fk.load_policy, fk.dump_policy(POLICY), format="toml"),
    case("diff_policies", fk.diff_policies, POLICY, POLICY),
    # The engine and its stores.
    case("Funnel", fk.Funnel, POLICY, store=None, clock=testing.ManualClock(T0)),
    case("Funnel.add_lead", _on_funnel("add_lead"), fk.Lead("L2", T0)),
    case("Funnel.update_lead", _on_funnel("update_lead"), fk.Lead("L1", T0)),
    case("Funnel.record", _on_funnel("record"), ACTIVITY),
    case(
        "Funnel.move",
        _on_funnel("move"),
        "L1",
        "mql",
        by="me",
        reason="r",
        at=T0,
        override=True,
    ),
    case("Funnel.can_move", _on_funnel("can_move"), "L1", "mql"),
    case("Funnel.available_moves", _on_funnel("available_moves"), "L1"),
    case("Funnel.state", _on_funnel("state"), "L1"),
    case("Funnel.score", _on_funnel("score"), "L1"),
    case("Funnel.timers", _on_funnel("timers"), "L1"),
    case("Funnel.overdue", _on_funnel("overdue"), T0),
    case("Funnel.tick", _on_funnel("tick"), T0 + timedelta(days=1)),
    case("Funnel.subscribe", _on_funnel("subscribe"), print),
    case("Funnel.replay", _on_funnel("replay"), []),
    case("SQLiteStore", fk.SQLiteStore, ":memory:", timeout=5.0, cache_size=10),
    case("InMemoryStore.due", fk.InMemoryStore().due, T0),
    # Analytics, learning and testing.
    case("StageEntry", analytics.StageEntry, "L1", "lead", T0),
    case(
        "FunnelReport.build",
        analytics.FunnelReport.build,
        ENTRIES,
        stages=["lead", "mql"],
        start=T0 - timedelta(days=30),
        end=T0 + timedelta(days=30),
        cohort="month",
        timezone="UTC",
    ),
    case("inventory", analytics.inventory, ENTRIES, T0, stages=None),
    case("stage_entries", analytics.stage_entries, [_funnel().state("L1")]),
    case("sla_timers", analytics.sla_timers, []),
    case("Goal", analytics.Goal, "mql", "month", 10),
    case("backtest", analytics.backtest, POLICY, *REPLAYED, **WINDOW, timezone="UTC"),
    case("fit_scorecard", learn.fit_scorecard, ROWS, "won", name="learned"),
    case("learn.evaluate", learn.evaluate, POLICY.scoring, ROWS, "won"),
    case("as_lead", learn.as_lead, ROWS[0], POLICY.scoring, id="row"),
    case("Scenario", testing.Scenario, POLICY, start=T0),
    case("Scenario.at", _on_scenario("at"), T0 + timedelta(hours=1)),
    case("Scenario.advance", _on_scenario("advance"), "2h"),
    case("Scenario.does", _on_scenario("does"), "page_view"),
    case("Scenario.move", _on_scenario("move"), "disqualified", reason="bad_data"),
    case("Scenario.expect_stage", _on_scenario("expect_stage"), "lead"),
    case("check_policy", testing.check_policy, POLICY, []),
    case("Case", testing.Case, LEAD, (), expect_stage="lead", at=T0, name="c"),
    # The other values and events a host may make by hand.
    case("BusinessHours", fk.BusinessHours, "09:00", "17:00"),
    case("LinearDecay", fk.LinearDecay, timedelta(days=30)),
    case("Grades", fk.Grades, fit=(("A", 50), ("B", None))),
    case("Contribution", fk.Contribution, rule="r", dimension="fit", points=1.0),
    case("Score", fk.Score, **_fields(SCORE)),
    case("absent", fk.absent),
    case("present", fk.present),
    case("equals", fk.equals, 3),
    case("one_of", fk.one_of, 1, 2),
    case("Always", fk.Always),
    case("AllOf", fk.AllOf, fk.Always(), fk.Always()),
    case("AnyOf", fk.AnyOf, fk.Always()),
    case("Not", fk.Not, fk.Always()),
    case(
        "TransitionRecord",
        fk.TransitionRecord,
        source=None,
        target="lead",
        at=T0,
        by="auto",
    ),
    case("LeadState", fk.LeadState, **_fields(STATE)),
    case("SlaTimer", fk.SlaTimer, **_fields(TIMER)),
    case("Commit", fk.Commit, input=fk.Tick(T0), states=(), wakes=(), policy=None),
    case("FunnelPolicy", fk.FunnelPolicy, **_fields(POLICY)),
    case("InMemoryStore", fk.InMemoryStore),
    case("CriteriaRegistry", fk.CriteriaRegistry, {}),
    case("UpdateLead", fk.UpdateLead, LEAD, T0),
    case("ResumeTimer", fk.ResumeTimer, "L1", "r", T0),
    case("ActivityRecorded", fk.ActivityRecorded, ACTIVITY),
    case("LeadAdded", fk.LeadAdded, LEAD, T0),
    case("LeadUpdated", fk.LeadUpdated, LEAD, T0),
    case(
        "ScoreChanged", fk.ScoreChanged, lead_id="L1", at=T0, score=SCORE, previous=None
    ),
    case("StageChanged", fk.StageChanged, "L1", RECORD),
    case("SlaStarted", fk.SlaStarted, "L1", TIMER),
    case("SlaWarning", fk.SlaWarning, "L1", TIMER.warned(T0 + timedelta(hours=2))),
    case(
        "SlaBreached",
        fk.SlaBreached,
        "L1",
        TIMER.breached(T0 + timedelta(hours=4)),
        "boss",
    ),
    case("SlaMet", fk.SlaMet, "L1", TIMER.met(T0 + timedelta(hours=1))),
    case(
        "SlaCancelled", fk.SlaCancelled, "L1", TIMER.cancelled(T0 + timedelta(hours=1))
    ),
    case("SlaPaused", fk.SlaPaused, "L1", PAUSED),
    case(
        "SlaResumed",
        fk.SlaResumed,
        "L1",
        PAUSED.resumed(T0 + timedelta(hours=6), None),
        at=T0 + timedelta(hours=3),
    ),
    # The rest of analytics, learning and serialization.
    case("compare", analytics.compare, POLICY, POLICY, *REPLAYED, **WINDOW, mql_b=None),
    case("funnel_chart", analytics.funnel_chart, REPORT),
    case("cohort_chart", analytics.cohort_chart, REPORT),
    case("time_in_stage_chart", analytics.time_in_stage_chart, REPORT),
    case("save_charts", analytics.save_charts, REPORT, "charts"),
    case("fit_scoring_model", learn.fit_scoring_model, ROWS, "won"),
    case(
        "fit_scorecard_from_history",
        learn.fit_scorecard_from_history,
        HISTORY_LEADS,
        HISTORY_ACTIVITIES,
        HISTORY_OUTCOMES,
        at=T0 + timedelta(days=3),
        window=timedelta(days=30),
    ),
    case(
        "evaluate_history",
        learn.evaluate_history,
        POLICY.scoring,
        HISTORY_LEADS,
        HISTORY_ACTIVITIES,
        HISTORY_OUTCOMES,
        at=T0 + timedelta(days=3),
    ),
    # Reports and results, as a host reads them back or builds them in tests.
    *(case(type(value).__name__, type(value), **_fields(value)) for value in RESULTS),
    case("to_json", serialization.to_json, LEAD, indent=None, cls=None),
    case("from_json", serialization.from_json, serialization.to_json(LEAD), fk.Lead),
    case("unstructure", serialization.unstructure, LEAD, cls=None),
    case(
        "structure", serialization.structure, serialization.unstructure(LEAD), fk.Lead
    ),
]

#: Public callables with no case, and why.
EXEMPT = {
    # Protocols and bases: a host writes their methods.
    "Clock": "a protocol",
    "Store": "a protocol",
    "CriterionLike": "a protocol",
    "Criterion": "an abstract base",
    "Decay": "an abstract base",
    "ValueTest": "an abstract base",
    "StageKind": "a type alias",
}


def _escapes(
    call: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> str | None:
    """Call; return what escaped that is no FunnelkitError, if anything did."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(*args, **kwargs)
    except FunnelkitError:
        return None
    except Exception as error:  # noqa: BLE001 -- what the test looks for
        return f"{type(error).__name__}: {error}"
    return None


@pytest.mark.parametrize(
    ("call", "args", "kwargs"),
    [pytest.param(call, args, kwargs, id=label) for label, call, args, kwargs in CASES],
)
def test_an_argument_of_the_wrong_kind_is_a_funnelkit_error(
    call: Callable[..., object],
    args: tuple[object, ...],
    kwargs: dict[str, object],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The call works; with any one argument wrong, it works or names the fault."""
    monkeypatch.chdir(tmp_path)  # a store given a text path makes its file here
    assert _escapes(call, args, kwargs) is None
    escaped = []
    for place in [*range(len(args)), *kwargs]:
        for value in WRONG:
            if isinstance(place, int):
                found = _escapes(
                    call, (*args[:place], value, *args[place + 1 :]), kwargs
                )
            else:
                found = _escapes(call, args, {**kwargs, place: value})
            if found is not None:
                escaped.append(f"{place}={value!r}: {found}")
    assert escaped == []


@pytest.mark.parametrize(
    "module", [fk, analytics, learn, testing, serialization], ids=lambda m: m.__name__
)
def test_every_public_call_has_a_case(module: types.ModuleType) -> None:
    """Each public function and class is in the table above, or exempt with a reason."""
    short = module.__name__.rpartition(".")[2]
    labels = {label for label, *_ in CASES}
    missing = [
        name
        for name in module.__all__
        if callable(value := getattr(module, name))
        and not (isinstance(value, type) and issubclass(value, BaseException))
        and name not in labels
        and f"{short}.{name}" not in labels
        and name not in EXEMPT
    ]
    assert missing == []
