"""Every public call, given one argument of the wrong kind, raises a FunnelkitError.

Each case is a call that works, made again with one argument at a time replaced
by each value of ``WRONG``: the call must then work or raise a
``FunnelkitError`` (a ``ValidationError`` naming the argument, mostly), never
Python's own ``TypeError`` or ``AttributeError`` from inside funnelkit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import funnelkit as fk
from funnelkit import analytics, learn, policies, testing
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


CONTEXT = _context()
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
    case(
        "backtest",
        analytics.backtest,
        POLICY,
        [LEAD],
        [ACTIVITY],
        {"L1": True},
        start=T0,
        end=T0 + timedelta(days=40),
        timezone="UTC",
    ),
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
]


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
