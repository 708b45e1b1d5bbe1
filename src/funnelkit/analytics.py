"""Pipeline analytics: what the stage history says about the pipeline.

A report reads **stage entries**: one row per visit of a lead to a stage,
when it entered, when it left (``None`` while it is still there) and where
it went. They come from a funnel's lead states (:func:`stage_entries`) or
straight from a CRM export, so a team can measure a pipeline it never ran
through funnelkit.

:meth:`FunnelReport.build` counts, over a period and by cohort of entry
(week, month or quarter), optionally by a segment (source, owner, grade or
any lead attribute):

* **conversion** from each stage of a path to the next, with the leads still
  on the path counted as *open* (censored), not as lost, and those that left
  it counted by the stage they went to and the reason given;
* **time in stage**: median and 90th percentile, by the Kaplan-Meier
  estimator, so that a lead still in the stage counts as having spent at
  least the time it has so far (never the mean, which a long tail hides in);
* **inventory**: the leads in each stage at any instant (:func:`inventory`);
* **flow**: per period and stage, the leads there as it began, the entries,
  the exits and the leads there as it ended (opening + entered - exited =
  closing, period after period).
* **goals**: volume goals (200 MQLs a month) and conversion goals (25% of
  MQLs to SQL), period by period, with a forecast for the period running;
* **paths**: the most common paths of the leads won and of those lost.
* **SLA compliance**: per rule, the timers started in the period met on
  time, met late, breached, cancelled or still open (from the timers
  :func:`sla_timers` collects from a funnel's events).

A CRM export's rows may overlap or leave gaps; a lead is in one stage at a
time all the same. Its rows go by entry: a visit begun before the one
before it ended ends that one (a row of the same stage continues it), and
between a visit's exit and the next visit's entry the lead is in no stage,
unless the visit was closed towards a stage the entries have no row of
then, where the lead waits for its next visit.

Every instant is compared as an instant (in UTC); periods are calendar weeks
(from Monday), months or quarters in the report's ``timezone``. Percentiles
are nearest-rank: the smallest duration that at least that share of the
leads had reached, never an interpolation between two leads.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby, islice, pairwise
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import attrs

from funnelkit._backtest import (
    BacktestReport,
    Comparison,
    Decile,
    _percent,
    backtest,
    compare,
)
from funnelkit._charts import (
    cohort_chart,
    funnel_chart,
    save_charts,
    time_in_stage_chart,
)
from funnelkit._events import Event, LeadState, _TimerEvent
from funnelkit._frozen import FrozenMap, freeze
from funnelkit._scoring import _num
from funnelkit._sla import SlaTimer
from funnelkit._text import table
from funnelkit._time import require_aware, utc_micros, zone_named
from funnelkit._validators import (
    Scalar,
    as_tuple,
    aware_datetime,
    check_items,
    check_scalar,
    count,
    counts,
    duration,
    ends_after_start,
    flag,
    instance_of,
    is_items,
    is_unordered,
    items_of,
    non_empty_str,
    optional_duration,
    optional_non_empty_str,
    optional_non_negative,
    optional_share,
    reject,
    scalar_mapping,
    share,
    zone_name,
)
from funnelkit.errors import ValidationError

__all__ = [
    "ALL",
    "CURVE_SHARES",
    "EXITED",
    "BacktestReport",
    "Comparison",
    "Conversion",
    "Decile",
    "Flow",
    "FunnelReport",
    "Goal",
    "GoalProgress",
    "PathCount",
    "SlaCompliance",
    "StageEntry",
    "StageTime",
    "backtest",
    "cohort_chart",
    "compare",
    "funnel_chart",
    "inventory",
    "save_charts",
    "sla_timers",
    "stage_entries",
    "time_in_stage_chart",
]

Cohort = Literal["week", "month", "quarter"]
_COHORTS = ("week", "month", "quarter")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_SEGMENTS: FrozenMap[Scalar] = FrozenMap({})
#: The segment value of the rows that count every lead.
ALL = "(all)"
#: Where a lead went when its last entry was closed with no next stage.
EXITED = "(exited)"


def _optional_aware(instance: StageEntry, attribute: Any, value: object) -> None:  # noqa: ANN401 -- attrs' attribute
    if value is None:
        return
    aware_datetime(instance, attribute, value)
    if utc_micros(value) < utc_micros(instance.entered_at):  # type: ignore[arg-type] # checked aware just above
        reject(instance, attribute, value, "an instant no earlier than entered_at")


def _optional_name(instance: StageEntry, attribute: Any, value: object) -> None:  # noqa: ANN401 -- attrs' attribute
    if value is not None:
        non_empty_str(instance, attribute, value)


def _next_stage(instance: StageEntry, attribute: Any, value: object) -> None:  # noqa: ANN401 -- attrs' attribute
    _optional_name(instance, attribute, value)
    if value is not None and instance.exited_at is None:
        reject(instance, attribute, value, "None while the lead is in the stage")


@attrs.frozen
class StageEntry:
    """One visit of a lead to a stage.

    Attributes:
        lead_id: The lead.
        stage: The stage it entered.
        entered_at: When it entered.
        exited_at: When it left, or ``None`` while it is there.
        next_stage: Where it went when it left, if known.
        reason: Why it left (a reason code or words), if given.
        segments: What the lead is, for reports by segment: ``source``,
            ``owner``, ``grade`` or any attribute, as JSON scalars.
    """

    lead_id: str = attrs.field(validator=non_empty_str)
    stage: str = attrs.field(validator=non_empty_str)
    entered_at: datetime = attrs.field(validator=aware_datetime)
    exited_at: datetime | None = attrs.field(
        default=None, kw_only=True, validator=_optional_aware
    )
    next_stage: str | None = attrs.field(
        default=None, kw_only=True, validator=_next_stage
    )
    reason: str | None = attrs.field(
        default=None, kw_only=True, validator=_optional_name
    )
    segments: Mapping[str, Scalar] = attrs.field(
        default=_NO_SEGMENTS, kw_only=True, converter=freeze, validator=scalar_mapping
    )


def stage_entries(
    states: Iterable[LeadState], *, segments: Sequence[str] = ()
) -> list[StageEntry]:
    """Return the stage entries of the leads' histories, lead by lead.

    Each move of a lead's history opens an entry and closes the one before
    (with the move's target and reason). *segments* names what to keep of
    each lead: ``"source"`` and ``"owner"`` are the lead's fields,
    ``"grade"`` its fit grade as of its state, any other name a lead
    attribute (``None`` where the lead has none). One name may be given as
    a string: ``segments="source"`` is ``segments=["source"]``.

    Raises:
        ValidationError: *states* is not an iterable of lead states, or a
            segment is not a name.
    """
    names = _segment_names(segments)
    check_items(states, field="states", expected="an iterable of LeadState values")
    found: list[StageEntry] = []
    for position, state in enumerate(states):
        if not isinstance(state, LeadState):
            raise ValidationError(
                field=f"states[{position}]",
                value=state,
                expected="a LeadState (Funnel.state gives one)",
            )
        values = {name: _segment(state, name) for name in names}
        history = state.history
        for index, record in enumerate(history):
            after = history[index + 1] if index + 1 < len(history) else None
            found.append(
                StageEntry(
                    state.lead.id,
                    record.target,
                    record.at,
                    exited_at=None if after is None else after.at,
                    next_stage=None if after is None else after.target,
                    reason=None if after is None else after.reason,
                    segments=values,
                )
            )
    return found


def _segment_names(segments: object) -> tuple[str, ...]:
    """*segments* as a tuple of names: a string is one name."""
    given = (segments,) if isinstance(segments, str) else segments
    names: list[str] = []
    for index, name in enumerate(
        check_items(given, field="segments", expected="segment names, or one name")
    ):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(
                field=f"segments[{index}]", value=name, expected="a segment name"
            )
        names.append(name)
    return tuple(names)


def _segment(state: LeadState, name: str) -> Scalar:
    if name in {"source", "owner"}:
        value: Scalar = getattr(state.lead, name)
        return value
    if name == "grade":
        return state.score.grade
    return state.lead.attributes.get(name)


def sla_timers(events: Iterable[Event]) -> list[tuple[str, SlaTimer]]:
    """Return each SLA timer the events tell of, as the last of them left it.

    The events are a funnel's, in the order it gave them (``Funnel.replay``
    of its input log gives them again). A timer is named by its lead, rule
    and the move that started it; the result holds ``(lead_id, timer)``
    pairs, in the order the timers started.

    Raises:
        ValidationError: *events* is not an iterable of a funnel's events.
    """
    check_items(events, field="events", expected="an iterable of a funnel's events")
    timers: dict[tuple[str, str, int], tuple[str, SlaTimer]] = {}
    for index, event in enumerate(events):
        if not isinstance(event, Event):
            raise ValidationError(
                field=f"events[{index}]",
                value=event,
                expected="an event, as a funnel's calls return them",
            )
        if isinstance(event, _TimerEvent):
            timer = event.timer
            timers[event.lead_id, timer.rule, timer.entry] = (event.lead_id, timer)
    return list(timers.values())


# What a set gets where order matters: a set's order follows the hash seed.
_IN_ORDER = "a list of {}, in order (a set's order changes from process to process)"


def inventory(
    entries: Iterable[StageEntry], at: datetime, *, stages: Sequence[str] | None = None
) -> dict[str, int]:
    """Return how many leads were in each stage at the instant *at*.

    A lead is in a stage from the instant it entered (included) to the
    instant it left (excluded), and in one stage at a time: a visit begun
    before the lead's visit before it ended ends that one. A visit closed
    towards a stage the entries have no row of puts the lead in that stage
    as it closed, until its next visit begins; between a visit's exit and
    the next visit's entry otherwise, the lead is in no stage. Every entry
    counts, those begun after *at* too (they may end a gap before it). With
    *stages*, those stages in that order (zero where nobody was; not a set,
    whose order changes from process to process); without, every stage
    entered by *at*, by name.

    Raises:
        ValidationError: *at* is not an aware datetime, an entry is not a
            StageEntry, or *stages* is not a list of stage names.
    """
    instant = utc_micros(require_aware(at, field="at"))
    check_items(entries, field="entries", expected="an iterable of StageEntry values")
    names: list[str] | None = None
    if stages is not None:
        check_items(stages, field="stages", expected="stage names, or None")
        names = list(stages)
        if not all(map(_is_name, names)):
            raise ValidationError(
                field="stages", value=stages, expected="stage names, or None"
            )
        if is_unordered(stages):
            raise ValidationError(
                field="stages", value=stages, expected=_IN_ORDER.format("stage names")
            )
    counts: Counter[str] = Counter()
    # Every entry counts: a visit begun after the instant may end a gap before it.
    visits, _ = _rows(entries, _KNOWING_ALL, None)
    for _, entered, exited, stage, _, _ in visits:
        if entered <= instant:
            counts[stage] += instant < exited
    if names is None:
        names = sorted(counts)
    return {name: counts[name] for name in names}


# -- Rows of a report --------------------------------------------------------------
#
# The library builds the rows and reports; a host reads them back from JSON
# (funnelkit.serialization), or builds them in its own tests. Each checks its
# fields, and the sums its fields make, so that one read from damaged data is
# refused there, and not by its to_text later.


def _segment_value(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    problem = check_scalar(value)
    if problem is not None:
        reject(instance, attribute, value, problem)


def _stage_names(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if not isinstance(value, tuple) or not value or not all(map(_is_name, value)):
        reject(instance, attribute, value, "a tuple of stage names, one or more")


def _outcome(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if type(value) is not str or value not in {"won", "lost"}:
        reject(instance, attribute, value, "'won' or 'lost'")


def _curve(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if (
        not isinstance(value, tuple)
        or len(value) not in {0, len(CURVE_SHARES)}
        or not all(
            item is None or (type(item) is timedelta and item >= timedelta(0))
            for item in value
        )
    ):
        reject(
            instance,
            attribute,
            value,
            f"a tuple of {len(CURVE_SHARES)} times (timedelta, 0 or more, or None), "
            "or an empty one",
        )


def _sums_to(instance: object, field: str, total: int, parts: dict[str, int]) -> None:
    """Refuse *total* unless it is the sum of *parts* (named in the error)."""
    if sum(parts.values()) != total:
        named = ", ".join(f"{name} {number}" for name, number in parts.items())
        raise ValidationError(
            owner=type(instance).__name__,
            field=field,
            value=total,
            expected=f"the sum of {named}",
        )


@attrs.frozen(kw_only=True)
class Conversion:
    """How the leads of one cohort that entered ``source`` reached ``target``.

    Attributes:
        segment: The segment's value, or ``"(all)"`` for every lead.
        cohort: The period the leads entered ``source`` in, or ``"(all)"``.
        source: The stage entered.
        target: The stage reached (or any stage after it on the path).
        entered: Leads that entered ``source`` in the cohort (each once).
        converted: Of those, leads that reached ``target`` by the report's
            ``now``.
        open: Leads still on the path before ``target``: censored, they may
            yet convert.
        left: Leads off the path at ``now``, by the stage they are in
            (``nurture``, ``disqualified``...).
        reasons: The reasons given when those leads left the path.
        rate: ``converted / entered`` (``None`` when no lead entered).
        closed_rate: ``converted / (converted + left)``: the rate among
            leads whose outcome is known (``None`` when none is).
        median_to_convert: Median time from ``source`` to ``target`` among
            the converted leads.
        p90_to_convert: Its 90th percentile.
    """

    segment: Scalar = attrs.field(validator=_segment_value)
    cohort: str = attrs.field(validator=non_empty_str)
    source: str = attrs.field(validator=non_empty_str)
    target: str = attrs.field(validator=non_empty_str)
    entered: int = attrs.field(validator=count)
    converted: int = attrs.field(validator=count)
    open: int = attrs.field(validator=count)
    left: Mapping[str, int] = attrs.field(converter=freeze, validator=counts)
    reasons: Mapping[str, int] = attrs.field(converter=freeze, validator=counts)
    rate: float | None = attrs.field(validator=optional_share)
    closed_rate: float | None = attrs.field(validator=optional_share)
    median_to_convert: timedelta | None = attrs.field(validator=optional_duration)
    p90_to_convert: timedelta | None = attrs.field(validator=optional_duration)

    def __attrs_post_init__(self) -> None:
        parts = {"converted": self.converted, "open": self.open}
        parts["left"] = sum(self.left.values())
        _sums_to(self, "entered", self.entered, parts)


@attrs.frozen(kw_only=True)
class StageTime:
    """How long the visits to a stage that began in the period lasted.

    Attributes:
        segment: The segment's value, or ``"(all)"``.
        stage: The stage.
        visits: Visits begun in the period.
        exited: Visits over by ``now``.
        still_in: Visits still going on at ``now`` (censored).
        median: Median time in the stage (Kaplan-Meier), or ``None`` when
            too many leads are still in it to tell.
        p90: 90th percentile, likewise.
        longest: The longest visit seen so far, over or not: where a
            percentile is ``None``, it is more than this.
        curve: The distribution: the times by which 5%, 10%, ... 100% of
            the visits had ended (Kaplan-Meier), ``None`` beyond what the
            leads still in the stage let the estimate reach.
    """

    segment: Scalar = attrs.field(validator=_segment_value)
    stage: str = attrs.field(validator=non_empty_str)
    visits: int = attrs.field(validator=count)
    exited: int = attrs.field(validator=count)
    still_in: int = attrs.field(validator=count)
    median: timedelta | None = attrs.field(validator=optional_duration)
    p90: timedelta | None = attrs.field(validator=optional_duration)
    longest: timedelta = attrs.field(validator=duration)
    curve: tuple[timedelta | None, ...] = attrs.field(
        default=(), converter=as_tuple, validator=_curve
    )

    def __attrs_post_init__(self) -> None:
        parts = {"exited": self.exited, "still_in": self.still_in}
        _sums_to(self, "visits", self.visits, parts)


#: The shares of visits ended that a StageTime's curve gives the times of.
CURVE_SHARES = tuple(step / 20 for step in range(1, 21))


@attrs.frozen(kw_only=True)
class Flow:
    """A stage's balance over one period: opening + entered - exited = closing.

    Attributes:
        segment: The segment's value, or ``"(all)"``.
        period: The period (``"2026-03"``, ``"2026-Q1"``, ``"2026-W10"``).
        stage: The stage.
        opening: Leads in the stage as the period began.
        entered: Entries during the period.
        exited: Exits during the period.
        closing: Leads in the stage as it ended (or at ``now``, if earlier).
    """

    segment: Scalar = attrs.field(validator=_segment_value)
    period: str = attrs.field(validator=non_empty_str)
    stage: str = attrs.field(validator=non_empty_str)
    opening: int = attrs.field(validator=count)
    entered: int = attrs.field(validator=count)
    exited: int = attrs.field(validator=count)
    closing: int = attrs.field(validator=count)

    def __attrs_post_init__(self) -> None:
        balance = self.opening + self.entered - self.exited
        if self.closing != balance:
            raise ValidationError(
                owner="Flow",
                field="closing",
                value=self.closing,
                expected=(
                    f"opening + entered - exited ({self.opening} + {self.entered} "
                    f"- {self.exited} = {balance})"
                ),
            )


def _pair_of_lists(value: Any) -> Any:  # noqa: ANN401 -- a stage, or stages
    """A conversion goal's stages given as a list become a tuple."""
    return tuple(value) if isinstance(value, list) else value


def _goal_stage(instance: Goal, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if _is_name(value):
        return
    if (
        isinstance(value, tuple)
        and len(value) == 2  # noqa: PLR2004 -- a pair
        and all(map(_is_name, value))
        and value[0] != value[1]
    ):
        return
    reject(instance, attribute, value, "a stage, or a (from, to) pair of two stages")


def _goal_per(instance: Goal, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if value not in _COHORTS:
        reject(instance, attribute, value, "'week', 'month' or 'quarter'")


def _goal_target(instance: Goal, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if type(value) not in {int, float} or not 0 < value < math.inf:
        reject(instance, attribute, value, "a positive number")
    if not isinstance(instance.stage, str) and value > 1:
        reject(instance, attribute, value, "a rate no greater than 1 for a conversion")


@attrs.frozen
class Goal:
    """A volume goal (200 MQLs a month) or a conversion goal (25% MQL to SQL).

    Attributes:
        stage: A stage, for a goal on the leads entering it per period; or a
            ``(from, to)`` pair of stages of the report's path, for a goal
            on the share of the leads entering ``from`` that reach ``to``.
        per: ``"week"``, ``"month"`` or ``"quarter"``.
        target: Leads per period, or a rate between 0 and 1.
    """

    stage: str | tuple[str, str] = attrs.field(
        converter=_pair_of_lists, validator=_goal_stage
    )
    per: Cohort = attrs.field(validator=_goal_per)
    target: float = attrs.field(validator=_goal_target)

    def describe(self) -> str:
        """``200 mql a month`` or ``25% mql to sql a month``: the target as given."""
        if isinstance(self.stage, str):
            return f"{_num(self.target)} {self.stage} a {self.per}"
        share = _num(self.target * 100)
        return f"{share}% {self.stage[0]} to {self.stage[1]} a {self.per}"


@attrs.frozen(kw_only=True)
class GoalProgress:
    """Where a goal stands in one of its periods.

    Attributes:
        goal: The goal.
        period: The period (clipped to the report's ``[start, end)``).
        actual: Leads that entered the stage in the period; for a
            conversion, the share of the leads entering ``from`` in the
            period that reached ``to`` by ``now`` (``None`` with no lead).
        attainment: ``actual / target``.
        forecast: For a volume, the run rate: ``actual`` scaled from the
            part of the period gone by ``now`` to the whole (``actual`` once
            the period is over). For a conversion, the rate among the leads
            whose outcome is known, which the open ones would reach if they
            fared alike.
        complete: Whether the period was over by ``now``.
    """

    goal: Goal = attrs.field(validator=instance_of(Goal, "a Goal"))
    period: str = attrs.field(validator=non_empty_str)
    actual: float | None = attrs.field(validator=optional_non_negative)
    attainment: float | None = attrs.field(validator=optional_non_negative)
    forecast: float | None = attrs.field(validator=optional_non_negative)
    complete: bool = attrs.field(validator=flag)


@attrs.frozen(kw_only=True)
class PathCount:
    """How many won (or lost) leads took one path through the stages.

    Attributes:
        outcome: ``"won"`` (reached the path's last stage) or ``"lost"``
            (resting in a lost stage at ``now``).
        path: The stages in the order visited, repeats in a row merged
            (visits entered and left at one instant in the order their next
            stages give).
        leads: Leads of that outcome that took it.
        share: Their share of the leads of that outcome.
    """

    outcome: Literal["won", "lost"] = attrs.field(validator=_outcome)
    path: tuple[str, ...] = attrs.field(converter=as_tuple, validator=_stage_names)
    leads: int = attrs.field(validator=count)
    share: float = attrs.field(validator=share)


@attrs.frozen(kw_only=True)
class SlaCompliance:
    """How one SLA rule's timers started in the period fared, as of ``now``.

    Attributes:
        segment: The segment's value, or ``"(all)"``.
        rule: The rule's name.
        started: Timers started in the period.
        met_on_time: Met before their deadline.
        met_late: Met after it.
        breached: Breached and not met by ``now`` (left unmet after the
            breach included), or past the deadline at ``now`` and not paused
            though no tick gave the breach yet.
        cancelled: The lead left the stage unmet, before the deadline.
        open: Still running on time at ``now``.
        on_time_rate: ``met_on_time`` over the timers whose outcome is known
            (met, late or breached), or ``None`` with none.
    """

    segment: Scalar = attrs.field(validator=_segment_value)
    rule: str = attrs.field(validator=non_empty_str)
    started: int = attrs.field(validator=count)
    met_on_time: int = attrs.field(validator=count)
    met_late: int = attrs.field(validator=count)
    breached: int = attrs.field(validator=count)
    cancelled: int = attrs.field(validator=count)
    open: int = attrs.field(validator=count)
    on_time_rate: float | None = attrs.field(validator=optional_share)

    def __attrs_post_init__(self) -> None:
        parts = {
            "met_on_time": self.met_on_time,
            "met_late": self.met_late,
            "breached": self.breached,
            "cancelled": self.cancelled,
            "open": self.open,
        }
        _sums_to(self, "started", self.started, parts)


# -- The report --------------------------------------------------------------------


def _report_path(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if (
        not isinstance(value, tuple)
        or len(value) < 2  # noqa: PLR2004 -- two stages or more
        or not all(map(_is_name, value))
        or len(set(value)) != len(value)
    ):
        reject(instance, attribute, value, "two stage names or more, each once")


def _cohort(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if type(value) is not str or value not in _COHORTS:
        reject(instance, attribute, value, "'week', 'month' or 'quarter'")


@attrs.frozen(kw_only=True)
class FunnelReport:
    """Conversion, time in stage and flow over a period (see the module).

    Build one with :meth:`build`; read it as rows, as plain data
    (:meth:`to_dict`) or as text (:meth:`to_text`).
    """

    stages: tuple[str, ...] = attrs.field(converter=as_tuple, validator=_report_path)
    start: datetime = attrs.field(validator=aware_datetime)
    end: datetime = attrs.field(validator=aware_datetime)
    now: datetime = attrs.field(validator=aware_datetime)
    cohort: Cohort = attrs.field(validator=_cohort)
    segment: str | None = attrs.field(validator=optional_non_empty_str)
    timezone: str = attrs.field(validator=zone_name)
    conversions: tuple[Conversion, ...] = attrs.field(
        converter=as_tuple, validator=items_of(Conversion, "a tuple of Conversion rows")
    )
    times: tuple[StageTime, ...] = attrs.field(
        converter=as_tuple, validator=items_of(StageTime, "a tuple of StageTime rows")
    )
    flow: tuple[Flow, ...] = attrs.field(
        converter=as_tuple, validator=items_of(Flow, "a tuple of Flow rows")
    )
    inventory: Mapping[str, int] = attrs.field(converter=freeze, validator=counts)
    goals: tuple[GoalProgress, ...] = attrs.field(
        default=(),
        converter=as_tuple,
        validator=items_of(GoalProgress, "a tuple of GoalProgress rows"),
    )
    paths: tuple[PathCount, ...] = attrs.field(
        default=(),
        converter=as_tuple,
        validator=items_of(PathCount, "a tuple of PathCount rows"),
    )
    sla: tuple[SlaCompliance, ...] = attrs.field(
        default=(),
        converter=as_tuple,
        validator=items_of(SlaCompliance, "a tuple of SlaCompliance rows"),
    )

    def __attrs_post_init__(self) -> None:
        if set(self.inventory) != set(self.stages):
            raise ValidationError(
                owner="FunnelReport",
                field="inventory",
                value=self.inventory,
                expected=f"a count for each stage of {list(self.stages)}, and no other",
            )
        ends_after_start(self)
        if utc_micros(self.now) < utc_micros(self.start):
            raise ValidationError(
                owner="FunnelReport",
                field="now",
                value=self.now,
                expected="an instant no earlier than start",
            )

    @classmethod
    def build(  # noqa: PLR0913 -- a report's parameters, all keyword
        cls,
        entries: Iterable[StageEntry],
        *,
        stages: Sequence[str],
        start: datetime,
        end: datetime,
        now: datetime | None = None,
        cohort: Cohort = "month",
        segment: str | None = None,
        timezone: str = "UTC",
        goals: Sequence[Goal] = (),
        lost: Sequence[str] = ("disqualified", "lost"),
        top_paths: int = 5,
        timers: Iterable[tuple[str, SlaTimer]] = (),
    ) -> FunnelReport:
        """Report on the leads that entered a stage of *stages* in ``[start, end)``.

        Args:
            entries: The stage entries (any order; a lead's may overlap or
                leave gaps, read as :func:`inventory` says).
            stages: The path to measure, in order (``"mql", "sql", "customer"``):
                conversion is reported from each stage to the next and from
                the first to the last. Stages off the path (nurture,
                disqualified) are where leads leave it. A set, whose order
                changes from process to process, is refused.
            start: The first instant of the period (on a date of the years 1
                to 9999 in *timezone*, where the periods begin).
            end: The instant after it; a last period that would end after the
                year 9999 ends here.
            now: The instant the history is known up to: later entries and
                exits are ignored, and visits going on then are censored.
                Defaults to *end*.
            cohort: ``"week"``, ``"month"`` or ``"quarter"``: how entries are
                grouped, in *timezone*.
            segment: A name of the entries' ``segments`` to break the rows
                down by, besides the rows of every lead. A lead's value is
                its first visit's (of visits entered at one instant, the one
                that left first; of visits entered and left at one instant,
                the one whose next stage names the other; then by stage
                name). Values of different
                types are different segments: ``1``, ``1.0`` and ``True``.
            timezone: The IANA time zone of the periods' boundaries.
            goals: Volume and conversion goals, to track period by period,
                in the order the report lists them (not a set).
            lost: The stages where a lead resting at ``now`` counts as lost,
                for the paths of won and lost leads.
            top_paths: How many of the most common paths to give for won
                leads, and for lost ones.
            timers: ``(lead_id, timer)`` pairs (see :func:`sla_timers`), for
                the SLA compliance of the timers started in the period, by
                rule (and by segment, the lead's, from its entries).

        Raises:
            ValidationError: a bad argument, named.
        """
        path = _path(stages)
        start_us = utc_micros(require_aware(start, field="start"))
        end_us = utc_micros(require_aware(end, field="end"))
        if end_us <= start_us:
            raise ValidationError(
                field="end", value=end, expected="an instant after start"
            )
        now = end if now is None else now
        now_us = utc_micros(require_aware(now, field="now"))
        if now_us < start_us:
            raise ValidationError(
                field="now", value=now, expected="an instant no earlier than start"
            )
        if is_unordered(goals):
            raise ValidationError(
                field="goals", value=goals, expected=_IN_ORDER.format("Goal values")
            )
        # Read once: a generator given for either would be empty the second time.
        goals = tuple(goals) if is_items(goals) else goals
        lost = tuple(lost) if is_items(lost) else lost
        _check_options(
            cohort=cohort,
            segment=segment,
            path=path,
            goals=goals,
            lost=lost,
            top_paths=top_paths,
        )
        check_items(
            entries, field="entries", expected="an iterable of StageEntry values"
        )
        check_items(
            timers,
            field="timers",
            expected="an iterable of (lead_id, SlaTimer) pairs, as sla_timers gives",
        )
        zone = zone_named(timezone)
        try:
            start.astimezone(zone)
        except OverflowError:  # the periods begin on the zone's dates
            raise ValidationError(
                field="start",
                value=start,
                expected=f"an instant whose date in {timezone} is in the years "
                "1 to 9999",
            ) from None
        window = (start_us, end_us, now_us)
        accounts = _Accounts(path, window, _Periods(zone, cohort))
        everyone = accounts.group(ALL)
        rows, values = _rows(entries, now_us, segment)
        for lead_id, value in values.items():
            if value == ALL:
                raise ValidationError(
                    field="segment",
                    value=value,
                    expected=(
                        f"segment values other than {ALL!r}, which names the rows "
                        f"of every lead (lead {lead_id!r} has it)"
                    ),
                )
        for lead_id, visits in _each_lead(rows):
            if segment is None:
                accounts.add((everyone,), visits)
            else:
                own = accounts.group(values[lead_id])
                accounts.add((everyone, own), visits)
        order = [
            ALL,
            *sorted(
                (value for value in accounts.values.values() if value != ALL),
                key=_order,
            ),
        ]
        conversions, times, flow, inventory = accounts.rows(order)
        return cls(
            stages=path,
            start=start,
            end=end,
            now=now,
            cohort=cohort,
            segment=segment,
            timezone=timezone,
            conversions=tuple(conversions),
            times=tuple(times),
            flow=tuple(flow),
            inventory=FrozenMap(inventory),
            goals=tuple(
                row
                for goal in goals
                for row in accounts.progress(goal, rows, _Periods(zone, goal.per))
            ),
            paths=_paths(rows, path, frozenset(lost), top_paths, window),
            sla=_compliance(timers, values, segment, window),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data: rows a DataFrame can be built from.

        Durations are in days (floats); instants are ISO 8601 text.
        """
        return {
            "stages": list(self.stages),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "now": self.now.isoformat(),
            "cohort": self.cohort,
            "segment": self.segment,
            "timezone": self.timezone,
            "conversions": [_plain(row) for row in self.conversions],
            "time_in_stage": [_plain(row) for row in self.times],
            "flow": [_plain(row) for row in self.flow],
            "inventory": {stage: self.inventory[stage] for stage in self.stages},
            "goals": [
                {
                    "goal": row.goal.describe(),
                    "stage": row.goal.stage
                    if isinstance(row.goal.stage, str)
                    else list(row.goal.stage),
                    "per": row.goal.per,
                    "target": row.goal.target,
                    "period": row.period,
                    "actual": row.actual,
                    "attainment": row.attainment,
                    "forecast": row.forecast,
                    "complete": row.complete,
                }
                for row in self.goals
            ],
            "sla": [_plain(row) for row in self.sla],
            "paths": [
                {
                    "outcome": row.outcome,
                    "path": list(row.path),
                    "leads": row.leads,
                    "share": row.share,
                }
                for row in self.paths
            ],
        }

    def to_text(self) -> str:
        """Return the report as aligned text tables.

        A path of more than 12 stages keeps its first and last four and counts
        the others; :attr:`paths` and :meth:`to_dict` keep every stage.
        """
        title = (
            f"Funnel report {self.start.isoformat()} to {self.end.isoformat()} "
            f"(as of {self.now.isoformat()}), by {self.cohort}"
            + (f" and {self.segment}" if self.segment else "")
        )
        lead = ["segment"] if self.segment else []
        conversion = _table(
            [*lead, *_CONVERSION_COLUMNS],
            [
                [
                    *_lead_cell(self.segment, row.segment),
                    row.cohort,
                    row.source,
                    row.target,
                    str(row.entered),
                    str(row.converted),
                    str(row.open),
                    _counts(row.left),
                    _percent(row.rate),
                    _percent(row.closed_rate),
                    _days(row.median_to_convert),
                    _days(row.p90_to_convert),
                ]
                for row in self.conversions
            ],
            len(lead) + 3,
        )
        times = _table(
            [*lead, "stage", "visits", "exited", "still in", "median", "p90"],
            [
                [
                    *_lead_cell(self.segment, row.segment),
                    row.stage,
                    str(row.visits),
                    str(row.exited),
                    str(row.still_in),
                    _days(row.median, row.longest),
                    _days(row.p90, row.longest),
                ]
                for row in self.times
            ],
            len(lead) + 1,
        )
        flow = _table(
            [*lead, "period", "stage", "opening", "entered", "exited", "closing"],
            [
                [
                    *_lead_cell(self.segment, row.segment),
                    row.period,
                    row.stage,
                    str(row.opening),
                    str(row.entered),
                    str(row.exited),
                    str(row.closing),
                ]
                for row in self.flow
            ],
            len(lead) + 2,
        )
        stock = ", ".join(f"{stage} {self.inventory[stage]}" for stage in self.stages)
        extra: list[str] = []
        if self.goals:
            extra += [
                "",
                "Goals (forecast: the run rate, or the rate of known outcomes)",
            ]
            extra.append(
                _table(
                    ["goal", "period", "actual", "attainment", "forecast", "status"],
                    [
                        [
                            row.goal.describe(),
                            row.period,
                            _figure(row.goal, row.actual),
                            _percent(row.attainment),
                            _figure(row.goal, row.forecast),
                            "ended" if row.complete else "running",
                        ]
                        for row in self.goals
                    ],
                    2,
                )
            )
        if self.sla:
            extra += ["", "SLA compliance (timers started in the period)"]
            extra.append(
                _table(
                    [*lead, *_SLA_COLUMNS],
                    [
                        [
                            *_lead_cell(self.segment, row.segment),
                            row.rule,
                            str(row.started),
                            str(row.met_on_time),
                            str(row.met_late),
                            str(row.breached),
                            str(row.cancelled),
                            str(row.open),
                            _percent(row.on_time_rate),
                        ]
                        for row in self.sla
                    ],
                    len(lead) + 1,
                )
            )
        if self.paths:
            extra += ["", "Most common paths of won and lost leads"]
            extra.append(
                _table(
                    ["outcome", "path", "leads", "share"],
                    [
                        [
                            row.outcome,
                            _path_text(row.path),
                            str(row.leads),
                            _percent(row.share),
                        ]
                        for row in self.paths
                    ],
                    2,
                )
            )
        return "\n".join(
            [
                title,
                "",
                "Conversion (open: still on the path, may yet convert)",
                conversion,
                "",
                "Time in stage (Kaplan-Meier: leads still in a stage count)",
                times,
                "",
                "Flow (opening + entered - exited = closing)",
                flow,
                "",
                f"In each stage at {_instant(self)}: {stock}",
                *extra,
            ]
        )


# -- Computing ---------------------------------------------------------------------

#: A visit as known at ``now``: the lead, entered, exited (:data:`_STILL`
#: while the lead is there), stage, next stage and reason (``""`` for none);
#: instants in UTC microseconds. Plain values only, so that the collector
#: leaves a million of them alone, and they sort as the report reads them:
#: by lead, then by entry, a visit going on after one over at that instant.
_Visit = tuple[str, int, int, str, str, str]
_STILL = 1 << 62  # the exit of a visit going on at now: after every instant
_KNOWING_ALL = _STILL - 1  # a now after every instant: every entry is known
_Window = tuple[int, int, int]  # start, end, now
#: What came of a lead that did not convert: open, or the stage it left for
#: and the reason it was given.
_Fate = tuple[str, str | None]
_OPEN: _Fate = ("open", None)


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _path(stages: Sequence[str]) -> tuple[str, ...]:
    given: object = stages  # checked at run time, whatever the types say
    path = (
        tuple(stages)
        if isinstance(given, Iterable) and not isinstance(given, str)
        else ()
    )
    if len(path) < 2 or not all(map(_is_name, path)):  # noqa: PLR2004 -- two stages or more
        raise ValidationError(
            field="stages", value=stages, expected="two stage names or more, in order"
        )
    if is_unordered(given):
        raise ValidationError(
            field="stages", value=stages, expected=_IN_ORDER.format("stage names")
        )
    if len(set(path)) != len(path):
        raise ValidationError(field="stages", value=stages, expected="each stage once")
    return path


def _check_options(  # noqa: PLR0913 -- the options build checks
    *,
    cohort: object,
    segment: object,
    path: tuple[str, ...],
    goals: Sequence[Goal],
    lost: Sequence[str],
    top_paths: object,
) -> None:
    """Raise a ValidationError naming the first bad option of a report."""
    if cohort not in _COHORTS:
        raise ValidationError(
            field="cohort", value=cohort, expected="'week', 'month' or 'quarter'"
        )
    if segment is not None and not _is_name(segment):
        raise ValidationError(
            field="segment", value=segment, expected="a segment name or None"
        )
    listed = check_items(goals, field="goals", expected="a list of Goal values")
    for index, goal in enumerate(listed):
        if not isinstance(goal, Goal):
            raise ValidationError(
                field=f"goals[{index}]", value=goal, expected="a Goal"
            )
        if not isinstance(goal.stage, str) and not (
            set(goal.stage) <= set(path)
            and path.index(goal.stage[0]) < path.index(goal.stage[1])
        ):
            raise ValidationError(
                field=f"goals[{index}].stage",
                value=goal.stage,
                expected=f"two stages of the path {list(path)}, in its order",
            )
    given: object = lost  # checked at run time, whatever the types say
    if (
        not isinstance(given, Iterable)
        or isinstance(given, str)
        or not all(map(_is_name, given))
    ):
        raise ValidationError(field="lost", value=lost, expected="stage names")
    if type(top_paths) is not int or top_paths < 0:
        raise ValidationError(
            field="top_paths", value=top_paths, expected="a whole number, 0 or more"
        )


_FIELDS = operator.attrgetter(
    "lead_id", "stage", "entered_at", "exited_at", "next_stage", "reason", "segments"
)


def _rows(
    entries: Iterable[StageEntry], now: int, segment: str | None
) -> tuple[list[_Visit], dict[str, Scalar]]:
    """The visits known at *now*, in order; each lead's value of *segment*.

    A lead's visits go by entry; of visits entered at one instant, the one
    that left first (a visit over at that instant came before the one it
    led to); of visits entered and left at one instant (automatic moves),
    each before the one its next stage names (:func:`_chained`); then by
    stage, next stage and reason, so that the order of the entries never
    decides. A lead's segment value is its first visit's (of two alike but
    for the value, the first by :func:`_order`).
    """
    rows: list[_Visit] = []
    earliest: dict[str, tuple[int, list[tuple[_Visit, Scalar]]]] = {}
    instant: set[str] = set()  # leads with a visit entered and left at one instant
    for index, entry in enumerate(entries):
        if type(entry) is not StageEntry and not isinstance(entry, StageEntry):
            raise ValidationError(
                field=f"entries[{index}]", value=entry, expected="a StageEntry"
            )
        lead_id, stage, entered_at, exited_at, after, reason, segments = _FIELDS(entry)
        # utc_micros, inlined: a million entries make the call count.
        entered = (entered_at - _EPOCH) // _MICROSECOND
        if entered > now:
            continue
        exited = _STILL if exited_at is None else (exited_at - _EPOCH) // _MICROSECOND
        row: _Visit
        if exited > now:
            # Still there at now, as far as now knows.
            row = (lead_id, entered, _STILL, stage, "", "")
        else:
            row = (lead_id, entered, exited, stage, after or "", reason or "")
            if exited == entered:
                instant.add(lead_id)
        rows.append(row)
        if segment is not None:
            known = earliest.get(lead_id)
            # Most entries are later than the lead's first: nothing to keep.
            if known is None or entered < known[0]:
                earliest[lead_id] = (entered, [(row, segments.get(segment))])
            elif entered == known[0]:
                known[1].append((row, segments.get(segment)))
    rows = _put_in_order(rows, instant)
    return rows, {
        lead_id: _first_value(candidates)
        for lead_id, (_, candidates) in earliest.items()
    }


def _put_in_order(rows: list[_Visit], instant: set[str]) -> list[_Visit]:
    """Sort *rows*, cut overlaps, add the visits they lead to unlisted, chain.

    Each lead is in one stage at a time (:func:`_one_at_a_time`); the visits
    entered and left at one instant are chained (:func:`_chain_instants`).
    *instant* holds the leads with a visit entered and left at one instant.
    """
    # Sorted already when the entries come lead by lead in time order.
    rows.sort()
    rows = _one_at_a_time(rows, instant)
    added = _unlisted(rows)
    if added:
        rows += added
        rows.sort()
        instant.update(
            lead_id for lead_id, entered, exited, *_ in added if entered == exited
        )
    for lead_id in instant:
        _chain_instants(rows, lead_id)
    return rows


def _one_at_a_time(rows: list[_Visit], instant: set[str]) -> list[_Visit]:
    """*rows*, sorted, with each lead in one stage at a time.

    A visit that began before the lead's visit before it ended (in the
    report's order: of visits begun at one instant, the first) ended that
    one as it began, as if its exit had been recorded then. The visit cut
    short keeps the stage it was closed towards, and the reason, only if a
    visit to that stage began then. A visit to the stage the lead was in
    goes on: one visit, from the earlier entry to the later row's exit.
    Leads with a visit so cut to an instant join *instant*.
    """
    # Most exports have no overlap: look before building anything.
    first = next(
        (
            index
            for index, (here, there) in enumerate(pairwise(rows))
            if there[1] < here[2] and there[0] == here[0]
        ),
        None,
    )
    if first is None:
        return rows
    kept = rows[:first]
    here = rows[first]
    absorbed: set[int] = set()  # visits begun at an instant, gone into the one before
    for index in range(first + 1, len(rows)):
        if index in absorbed:
            continue
        there = rows[index]
        if there[1] < here[2] and there[0] == here[0]:
            lead_id, entered, _, stage, after, reason = here
            begun, stop = _first_begun(rows, index, after, absorbed)
            if rows[begun][3] == stage:
                if begun == index:
                    here = (lead_id, entered, *there[2:])
                    continue
                absorbed.add(begun)
                here = (lead_id, entered, *rows[begun][2:])
            else:
                if all(row[3] != after for row in islice(rows, index, stop)):
                    after = reason = ""
                here = (lead_id, entered, there[1], stage, after, reason)
                if there[1] == entered:
                    instant.add(lead_id)
        kept.append(here)
        here = there
    kept.append(here)
    return kept


def _first_begun(
    rows: list[_Visit], index: int, led: str, absorbed: set[int]
) -> tuple[int, int]:
    """The first of the visits begun as *rows[index]* (in order), and the index after.

    The visits entered and left at that instant come first, each before the
    one it led to (after the one *led* names); then the others, by exit.
    """
    stop = bisect_right(rows, rows[index][:2], lo=index, key=_LEAD_ENTERED)
    instants = [
        other
        for other in range(index, stop)
        if rows[other][1] == rows[other][2] and other not in absorbed
    ]
    if len(instants) > 1:
        return _chained(instants, rows.__getitem__, led)[0], stop
    return (instants[0] if instants else index), stop


def _unlisted(rows: list[_Visit]) -> list[_Visit]:
    """The visits that *rows*, sorted, close visits towards but have no row of.

    A CRM export may close a visit towards a stage it has no row of (an MQL
    marked won on a date): the lead entered that stage as the visit closed,
    and stayed there until its next visit began (still there at ``now``
    when none did; gone at once when another visit, not one that led to it,
    began at that very instant). A visit closed towards the stage of the
    lead's next visit, begun later, leads to that one: the lead was in no
    stage in between.
    """
    added: list[_Visit] = []
    # Most visits are followed by the one they led to: a cheap look ahead.
    for index, (here, there) in enumerate(pairwise(rows)):
        after = here[4]
        if after and not (
            there[3] == after and there[1] == here[2] and there[0] == here[0]
        ):
            _add_unlisted(rows, index, added)
    if rows and rows[-1][4]:
        _add_unlisted(rows, len(rows) - 1, added)
    return added


def _add_unlisted(rows: list[_Visit], index: int, added: list[_Visit]) -> None:
    """Add to *added* the visit *rows[index]* led to, if no row has it."""
    lead_id, entered, exited, stage, after, _ = rows[index]
    begin = bisect_left(rows, (lead_id, exited), key=_LEAD_ENTERED)
    stop = bisect_right(rows, (lead_id, exited), key=_LEAD_ENTERED)
    together = [rows[other] for other in range(begin, stop) if other != index]
    if any(row[3] == after for row in together):
        return
    if entered == exited:
        # Left as it entered: the visits entered and left at that instant
        # that led to it came before it, not after the stage it led to (a
        # visit begun then and lasting is after it, whatever it led to).
        while earlier := [
            row for row in together if row[4] == stage and row[1] == row[2]
        ]:
            together.remove(earlier[0])
            stage = earlier[0][3]
    if together:
        # Visits began as this one closed: through the stage at once.
        added.append((lead_id, exited, exited, after, _head(together), ""))
    elif stop < len(rows) and rows[stop][0] == lead_id:
        following = rows[stop][:2]
        until = bisect_right(rows, following, key=_LEAD_ENTERED)
        if all(row[3] != after for row in rows[stop:until]):
            # In the stage until the lead's next visits began.
            head = _head(rows[stop:until])
            added.append((lead_id, exited, following[1], after, head, ""))
        # Else one move, its exit and its entry recorded apart: in no stage
        # in between.
    else:
        added.append((lead_id, exited, _STILL, after, "", ""))


def _head(together: list[_Visit]) -> str:
    """The stage of the first of visits begun at one instant: none led to it."""
    named = {row[4] for row in together}
    heads = [row[3] for row in together if row[3] not in named]
    return heads[0] if heads else ""


_LEAD_ENTERED = operator.itemgetter(0, 1)


def _chain_instants(rows: list[_Visit], lead_id: str) -> None:
    """Put the lead's visits entered and left at one instant in the order taken."""
    index = bisect_left(rows, lead_id, key=_LEAD)
    while index < len(rows) and rows[index][0] == lead_id:
        _, entered, exited, _, _, _ = rows[index]
        stop = index + 1
        if entered == exited:
            while stop < len(rows) and rows[stop][:3] == rows[index][:3]:
                stop += 1
            if stop - index > 1:
                # The visit that left at this instant, or before it towards
                # a stage (one move across a gap), leads the chain.
                before = rows[index - 1] if index else None
                led = (
                    before[4]
                    if before is not None
                    and before[0] == lead_id
                    and before[2] <= entered
                    else ""
                )
                rows[index:stop] = _chained(rows[index:stop], _same, led)
        index = stop


def _first_value(candidates: list[tuple[_Visit, Scalar]]) -> Scalar:
    """The segment value of the first of a lead's visits entered at one instant."""
    if len(candidates) == 1:
        return candidates[0][1]
    ordered = sorted(candidates, key=lambda item: (item[0][2:], _order(item[1])))
    first, _ = ordered[0]
    if first[1] == first[2]:
        # Entered and left at once: the visit the others' chain begins with.
        together = [item for item in ordered if item[0][2] == first[2]]
        ordered = _chained(together, _ROW)
    return ordered[0][1]


_Item = TypeVar("_Item")
_ROW = operator.itemgetter(0)


def _same(row: _Visit) -> _Visit:
    return row


def _chained(
    items: list[_Item], visit: Callable[[_Item], _Visit], led: str = ""
) -> list[_Item]:
    """Visits entered and left at one instant, each before the one it led to.

    *items* come in the report's order (by stage name). After a visit (and
    first, after the visit before that *led* to a stage) comes one to the
    stage it led to; failing that, one to a stage no other visit leads to;
    failing that (a cycle, ``a`` to ``b`` to ``a`` at one instant), the
    first in the report's order.
    """
    named = Counter(visit(item)[4] for item in items)
    left = list(items)
    chained: list[_Item] = []
    after = led
    while left:
        free = [index for index, item in enumerate(left) if not named[visit(item)[3]]]
        follow = [index for index, item in enumerate(left) if visit(item)[3] == after]
        pick = (follow or free or [0])[0]
        item = left.pop(pick)
        after = visit(item)[4]
        named[after] -= 1
        chained.append(item)
    return chained


def _each_lead(rows: list[_Visit]) -> Iterator[tuple[str, list[_Visit]]]:
    """Each lead's id and visits, in order."""
    for lead_id, visits in groupby(rows, _LEAD):
        yield lead_id, list(visits)


_LEAD = operator.itemgetter(0)


_Outcome = int | tuple[str, str | None]  # time to convert, or the lead's fate


@attrs.define
class _Tally:
    """What came of the leads of one cohort that entered a pair's source stage."""

    entered: int = 0
    took: list[int] = attrs.field(factory=list)
    open: int = 0
    left: Counter[str] = attrs.field(factory=Counter)
    reasons: Counter[str] = attrs.field(factory=Counter)

    def add(self, outcomes: list[_Outcome]) -> None:
        """Count *outcomes*: times to convert, and fates."""
        took = [outcome for outcome in outcomes if type(outcome) is int]
        fates = [outcome for outcome in outcomes if type(outcome) is tuple]
        self.entered += len(outcomes)
        self.took += took
        # By identity: a stage off the path may be called "open" too.
        left = [fate for fate in fates if fate is not _OPEN]
        self.open += len(fates) - len(left)
        self.left.update(where for where, _ in left)
        self.reasons.update(reason for _, reason in left if reason is not None)

    def merge(self, other: _Tally) -> None:
        self.entered += other.entered
        self.took += other.took
        self.open += other.open
        self.left.update(other.left)
        self.reasons.update(other.reasons)

    @property
    def rate(self) -> float | None:
        """Converted over entered (``None`` with no lead)."""
        return len(self.took) / self.entered if self.entered else None

    @property
    def closed_rate(self) -> float | None:
        """Converted over the leads whose outcome is known (``None`` with none)."""
        known = len(self.took) + sum(self.left.values())
        return len(self.took) / known if known else None

    def row(self, segment: Scalar, cohort: str, source: str, target: str) -> Conversion:
        took = sorted(self.took)
        return Conversion(
            segment=segment,
            cohort=cohort,
            source=source,
            target=target,
            entered=self.entered,
            converted=len(took),
            open=self.open,
            left=FrozenMap(self.left),
            reasons=FrozenMap(self.reasons),
            rate=self.rate,
            closed_rate=self.closed_rate,
            median_to_convert=_span(_nearest_rank(took, 0.5)),
            p90_to_convert=_span(_nearest_rank(took, 0.9)),
        )


class _Group:
    """The running counts of one segment value (or of every lead)."""

    def __init__(self, stages: int, periods: int) -> None:
        self.outcomes: dict[tuple[int, int], list[_Outcome]] = {}
        self.done: list[list[int]] = [[] for _ in range(stages)]
        self.going: list[list[int]] = [[] for _ in range(stages)]
        self.opening = [0] * stages
        self.entered = [[0] * periods for _ in range(stages)]
        self.exited = [[0] * periods for _ in range(stages)]


class _Accounts:
    """One pass over the leads' visits, counting every table at once."""

    def __init__(
        self, path: tuple[str, ...], window: _Window, periods: _Periods
    ) -> None:
        start, end, now = window
        self.path = path
        self.window = window
        self.rank = {stage: index for index, stage in enumerate(path)}
        last = len(path) - 1
        self.pairs = list(pairwise(range(len(path))))
        if last > 1:  # the whole path is one more pair
            self.pairs.append((0, last))
        spans = list(periods.between(start, end))
        self.cohort_edges = [begin for begin, _, _ in spans]
        self.cohort_labels = [label for _, _, label in spans]
        shown: list[tuple[int, int, str]] = []
        for begin, stop, label in spans:
            shown.append((begin, min(stop, now), label))
            if stop >= now:
                break
        self.flow_edges = [begin for begin, _, _ in shown] + [shown[-1][1]]
        self.flow_labels = [label for _, _, label in shown]
        # Keyed by type and value: 1, 1.0 and True are three segments.
        self.groups: dict[tuple[int, str], _Group] = {}
        self.values: dict[tuple[int, str], Scalar] = {}
        #: The leads in each stage at end (or now, if earlier): every lead's.
        self.inventory = [0] * len(path)

    def group(self, value: Scalar) -> _Group:
        key = _order(value)
        found = self.groups.get(key)
        if found is None:
            found = self.groups[key] = _Group(len(self.path), len(self.flow_labels))
            self.values[key] = value
        return found

    def add(self, groups: tuple[_Group, ...], visits: list[_Visit]) -> None:
        """Count one lead's visits in each of *groups*."""
        start, end, now = self.window
        rank = self.rank
        closing = min(end, now)
        firsts: list[int | None] = [None] * len(self.path)
        for index, (_, entered, exited, stage, _, _) in enumerate(visits):
            position = rank.get(stage)
            if position is None:
                continue
            if entered <= closing < exited:
                # There at that instant, as inventory() counts: a move at
                # that very instant is made (the flow leaves it to the next
                # period, which it begins).
                self.inventory[position] += 1
            if start <= entered < end:
                if firsts[position] is None:
                    firsts[position] = index
                for group in groups:
                    if exited == _STILL:
                        group.going[position].append(now - entered)
                    else:
                        group.done[position].append(exited - entered)
            self._flow_of(groups, position, entered, exited)
        self._convert(groups, visits, firsts)

    def _flow_of(
        self,
        groups: tuple[_Group, ...],
        position: int,
        entered: int,
        exited: int,
    ) -> None:
        """Count a visit in the flow: the period it entered in, and left in."""
        edges = self.flow_edges
        count = len(edges) - 1
        came = bisect_right(edges, entered) - 1
        # A visit going on leaves after every period: went is count.
        went = bisect_right(edges, exited) - 1
        for group in groups:
            if came < 0:
                # In the stage before the first period began: its opening.
                group.opening[position] += went >= 0
            elif came < count:
                group.entered[position][came] += 1
            if 0 <= went < count:
                group.exited[position][went] += 1

    def _convert(
        self, groups: tuple[_Group, ...], visits: list[_Visit], firsts: list[int | None]
    ) -> None:
        rank = self.rank
        fate: _Fate | None = None
        for pair, (source, target) in enumerate(self.pairs):
            first = firsts[source]
            if first is None:
                continue
            entered = visits[first][1]
            took = _reached(visits, first, target, rank)
            outcome: _Outcome
            if took is not None:
                outcome = took - entered
            else:
                if fate is None:
                    fate = self._fate(visits)
                outcome = fate
            key = (pair, bisect_right(self.cohort_edges, entered) - 1)
            for group in groups:
                found = group.outcomes.get(key)
                if found is None:
                    group.outcomes[key] = [outcome]
                else:
                    found.append(outcome)

    def _fate(self, visits: list[_Visit]) -> _Fate:
        """Where a lead that did not convert is at ``now``: open, or off the path."""
        _, _, exited, stage, after, reason = visits[-1]
        if exited == _STILL:
            where = stage
            # The reason given for the move into the stage the lead is in.
            reason = visits[-2][5] if len(visits) > 1 else ""
        else:
            where = after or EXITED
        return _OPEN if where in self.rank else (where, reason or None)

    def progress(
        self, goal: Goal, known: list[_Visit], periods: _Periods
    ) -> list[GoalProgress]:
        """The goal's progress in each of its periods begun by ``now``."""
        start, end, now = self.window
        spans = [span for span in periods.between(start, end) if span[0] <= now]
        edges = [begin for begin, _, _ in spans]
        outcomes: list[list[_Outcome]] = [[] for _ in spans]
        stage = goal.stage
        if isinstance(stage, str):
            for _, visits in _each_lead(known):
                # Each lead once a period, however often it came back.
                for index in {
                    bisect_right(edges, entered) - 1
                    for _, entered, _, visited, _, _ in visits
                    if visited == stage and start <= entered < end
                }:
                    outcomes[index].append(0)
        else:
            source, target = stage
            for _, visits in _each_lead(known):
                first = _first_entry(visits, source, start, end)
                if first is not None:
                    took = _reached(visits, first, self.rank[target], self.rank)
                    outcome = 0 if took is not None else self._fate(visits)
                    outcomes[bisect_right(edges, visits[first][1]) - 1].append(outcome)
        rows = []
        for (begin, stop, label), listed in zip(spans, outcomes, strict=True):
            tally = _Tally()
            tally.add(listed)
            actual, forecast = _actual_and_forecast(
                isinstance(stage, str), tally, (begin, stop, now)
            )
            rows.append(
                GoalProgress(
                    goal=goal,
                    period=label,
                    actual=actual,
                    attainment=None if actual is None else actual / goal.target,
                    forecast=forecast,
                    complete=stop <= now,
                )
            )
        return rows

    def rows(
        self, order: list[Scalar]
    ) -> tuple[list[Conversion], list[StageTime], list[Flow], dict[str, int]]:
        """The tables' rows, group by group in *order*; the inventory of every lead.

        The inventory is at ``end`` (or ``now``, if earlier), as
        :func:`inventory` counts it.
        """
        conversions: list[Conversion] = []
        times: list[StageTime] = []
        flow: list[Flow] = []
        for value in order:
            group = self.groups[_order(value)]
            conversions += self._conversions(value, group)
            times += self._times(value, group)
            flow += self._flow(value, group)
        return (
            conversions,
            times,
            flow,
            dict(zip(self.path, self.inventory, strict=True)),
        )

    def _conversions(self, value: Scalar, group: _Group) -> list[Conversion]:
        rows = []
        for pair, (source, target) in enumerate(self.pairs):
            cohorts = sorted(cohort for (at, cohort) in group.outcomes if at == pair)
            if not cohorts:
                continue
            total = _Tally()
            names = (self.path[source], self.path[target])
            for cohort in cohorts:
                tally = _Tally()
                tally.add(group.outcomes[pair, cohort])
                total.merge(tally)
                rows.append(tally.row(value, self.cohort_labels[cohort], *names))
            rows.append(total.row(value, ALL, *names))
        return rows

    def _times(self, value: Scalar, group: _Group) -> list[StageTime]:
        rows = []
        for stage, done, going in zip(self.path, group.done, group.going, strict=True):
            if not done and not going:
                continue
            curve = _kaplan_meier(done, going, CURVE_SHARES)
            median, p90 = curve[9], curve[17]
            rows.append(
                StageTime(
                    segment=value,
                    stage=stage,
                    visits=len(done) + len(going),
                    exited=len(done),
                    still_in=len(going),
                    median=_span(median),
                    p90=_span(p90),
                    longest=timedelta(microseconds=max(done + going)),
                    curve=tuple(map(_span, curve)),
                )
            )
        return rows

    def _flow(self, value: Scalar, group: _Group) -> list[Flow]:
        rows = []
        opening = list(group.opening)
        for period, label in enumerate(self.flow_labels):
            for position, stage in enumerate(self.path):
                entered = group.entered[position][period]
                exited = group.exited[position][period]
                closing = opening[position] + entered - exited
                rows.append(
                    Flow(
                        segment=value,
                        period=label,
                        stage=stage,
                        opening=opening[position],
                        entered=entered,
                        exited=exited,
                        closing=closing,
                    )
                )
                opening[position] = closing
        return rows


def _reached(
    visits: list[_Visit], first: int, target: int, rank: Mapping[str, int]
) -> int | None:
    """When the lead first reached *target* or beyond after visit *first*, if it did."""
    for _, entered, _, stage, _, _ in islice(visits, first, None):
        # The first visit is to the source, which is not beyond the target.
        if rank.get(stage, -1) >= target:
            return entered
    return None


def _first_entry(visits: list[_Visit], stage: str, start: int, end: int) -> int | None:
    """The index of the lead's first visit to *stage* entered in ``[start, end)``."""
    for index, (_, entered, _, visited, _, _) in enumerate(visits):
        if visited == stage and start <= entered < end:
            return index
    return None


def _actual_and_forecast(
    volume: bool, tally: _Tally, span: tuple[int, int, int]
) -> tuple[float | None, float | None]:
    """A period's actual figure and its forecast (see GoalProgress).

    *span* is the period's first instant, the instant after it, and ``now``.
    """
    begin, stop, now = span
    length, gone = stop - begin, min(stop, now) - begin
    if volume:
        count = tally.entered
        if gone == length:
            return count, count
        return count, count * length / gone if gone else None
    return tally.rate, tally.closed_rate


def _paths(
    known: list[_Visit],
    path: tuple[str, ...],
    lost: frozenset[str],
    top: int,
    window: _Window,
) -> tuple[PathCount, ...]:
    """The most common paths of the won and the lost leads that began in the window."""
    start, end, _ = window
    counts: dict[Literal["won", "lost"], Counter[tuple[str, ...]]] = {
        "won": Counter(),
        "lost": Counter(),
    }
    for _, visits in _each_lead(known):
        if not start <= visits[0][1] < end:
            continue
        steps = [stage for _, _, _, stage, _, _ in visits]
        _, _, exited, _, after, _ = visits[-1]
        if exited != _STILL and after:
            steps.append(after)
        merged = tuple(stage for stage, _ in groupby(steps))
        if path[-1] in merged:
            counts["won"][merged] += 1
        elif merged[-1] in lost:
            counts["lost"][merged] += 1
    rows = []
    for outcome, found in counts.items():
        total = sum(found.values())
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        rows += [
            PathCount(outcome=outcome, path=steps, leads=count, share=count / total)
            for steps, count in ranked[:top]
        ]
    return tuple(rows)


def _compliance(
    timers: Iterable[tuple[str, SlaTimer]],
    segment_of: Mapping[str, Scalar],
    segment: str | None,
    window: _Window,
) -> tuple[SlaCompliance, ...]:
    """Count the outcomes of the timers started in the window, by rule."""
    start, end, now = window
    # Keyed by type and value, as the report's groups: 1, 1.0 and True differ.
    counts: dict[tuple[int, str], dict[str, Counter[str]]] = {_order(ALL): {}}
    values: dict[tuple[int, str], Scalar] = {_order(ALL): ALL}
    for index, pair in enumerate(timers):
        if not _is_timer_pair(pair):
            raise ValidationError(
                field=f"timers[{index}]",
                value=pair,
                expected="a (lead_id, SlaTimer) pair, as sla_timers gives",
            )
        lead_id, timer = pair
        started = utc_micros(timer.started_at)
        if not start <= started < min(end, now + 1):
            continue
        outcome = _timer_outcome(timer, now)
        keys = [ALL] if segment is None else [ALL, segment_of.get(lead_id)]
        for value in keys:
            key = _order(value)
            values[key] = value
            rules = counts.setdefault(key, {})
            rules.setdefault(timer.rule, Counter())[outcome] += 1
    rows = []
    for key in sorted(counts, key=lambda key: (values[key] != ALL, key)):
        for rule, outcomes in sorted(counts[key].items()):
            known = outcomes["on_time"] + outcomes["late"] + outcomes["breached"]
            rows.append(
                SlaCompliance(
                    segment=values[key],
                    rule=rule,
                    started=sum(outcomes.values()),
                    met_on_time=outcomes["on_time"],
                    met_late=outcomes["late"],
                    breached=outcomes["breached"],
                    cancelled=outcomes["cancelled"],
                    open=outcomes["open"],
                    on_time_rate=outcomes["on_time"] / known if known else None,
                )
            )
    return tuple(rows)


def _is_timer_pair(pair: object) -> bool:
    return (
        isinstance(pair, tuple)
        and len(pair) == 2  # noqa: PLR2004 -- a pair
        and _is_name(pair[0])
        and isinstance(pair[1], SlaTimer)
    )


def _timer_outcome(timer: SlaTimer, now: int) -> str:
    """What became of *timer* by *now*: on_time, late, breached, cancelled or open."""

    def by_now(moment: datetime | None) -> bool:
        return moment is not None and utc_micros(moment) <= now

    if by_now(timer.met_at):
        return "late" if by_now(timer.breached_at) else "on_time"
    if by_now(timer.breached_at):
        return "breached"
    if by_now(timer.cancelled_at):
        return "cancelled"
    # Past its deadline and not paused at now: overdue, though the funnel was
    # not ticked since (Funnel.timers at now would show it breached).
    if utc_micros(timer.deadline) <= now and not by_now(timer.paused_at):
        return "breached"
    return "open"


def _order(value: Scalar) -> tuple[int, str]:
    """Segment values in a fixed order whatever their types: None last."""
    return (1, "") if value is None else (0, f"{type(value).__name__}:{value}")


def _nearest_rank(ordered: Sequence[int], share: float) -> int | None:
    """The smallest value at least *share* of *ordered* are at or below."""
    if not ordered:
        return None
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _span(micros: int | None) -> timedelta | None:
    return None if micros is None else timedelta(microseconds=micros)


def _kaplan_meier(
    done: list[int], going: list[int], shares: tuple[float, ...]
) -> list[int | None]:
    """The smallest durations by which the estimated share ended reaches *shares*.

    *done* are durations that ended; *going* are censored ones (at least that
    long); *shares* ascend. A censored duration equal to an ended one is
    still at risk when the other ends. Without censoring, this is the
    nearest rank.

    Between two censored durations nobody leaves the risk set but by ending,
    so the estimate there telescopes: after k of the block's events it is
    its value at the block's start times ``(r - k) / r``, r the leads then
    at risk. Each share's crossing is found by arithmetic, not by walking the
    events: the cost grows with the censored durations, not the ended ones.
    """
    ended = sorted(done)
    censored = sorted(set(going))
    everyone = len(done) + len(going)
    going_sorted = sorted(going)
    # A hair's tolerance: 1 - 0.5 computed as a product of ratios.
    thresholds = [1 - share + 1e-12 for share in shares]
    found: list[int | None] = [None] * len(shares)
    wanted = 0
    survival = 1.0
    first = 0  # the block's first event, in ended
    gone = 0  # censored durations before the block's events
    previous: int | None = None
    for bound in [*censored, None]:
        if previous is not None:
            gone = bisect_right(going_sorted, previous)
        stop = len(ended) if bound is None else bisect_right(ended, bound)
        if stop > first:
            at_risk = everyone - first - gone
            events = stop - first
            while wanted < len(shares):
                # The least k with survival * (at_risk - k) / at_risk <= threshold.
                need = at_risk * (1 - thresholds[wanted] / survival)
                k = max(1, math.ceil(need - 1e-9))
                if k > events:
                    break
                found[wanted] = ended[first + k - 1]
                wanted += 1
            survival *= (at_risk - events) / at_risk
            first = stop
        if wanted == len(shares):
            break
        previous = bound
    return found


class _Periods:
    """Calendar weeks, months or quarters in a time zone, as UTC microseconds."""

    def __init__(self, zone: ZoneInfo, cohort: Cohort) -> None:
        self._zone = zone
        self._cohort = cohort

    def _first(self, micros: int) -> datetime:
        """The local start of the period holding the instant *micros*."""
        local = (_EPOCH + timedelta(microseconds=micros)).astimezone(self._zone)
        day = local.date()
        if self._cohort == "week":
            day -= timedelta(days=day.weekday())
        elif self._cohort == "month":
            day = day.replace(day=1)
        else:
            day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        return datetime(day.year, day.month, day.day, tzinfo=self._zone)

    def _after(self, first: datetime) -> datetime:
        if self._cohort == "week":
            day = first.date() + timedelta(days=7)
        else:
            months = 1 if self._cohort == "month" else 3
            index = first.year * 12 + first.month - 1 + months
            day = first.date().replace(year=index // 12, month=index % 12 + 1)
        return datetime(day.year, day.month, day.day, tzinfo=self._zone)

    def _name(self, first: datetime) -> str:
        if self._cohort == "week":
            year, week, _ = first.date().isocalendar()
            return f"{year}-W{week:02d}"
        if self._cohort == "month":
            return f"{first.year}-{first.month:02d}"
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"

    def between(self, start: int, end: int) -> Iterator[tuple[int, int, str]]:
        """The periods that meet ``[start, end)``, clipped to it."""
        first = self._first(start)
        while (begin := utc_micros(first)) < end:
            try:
                after = self._after(first)
            except (OverflowError, ValueError):  # the year 10000: none is after
                yield max(begin, start), end, self._name(first)
                return
            yield max(begin, start), min(utc_micros(after), end), self._name(first)
            first = after


# -- Rendering ---------------------------------------------------------------------


def _plain(row: Conversion | StageTime | Flow | SlaCompliance) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, value in attrs.asdict(row, recurse=False).items():
        if isinstance(value, timedelta):
            plain[_in_days(name)] = _days_of(value)
        elif name == "curve":
            plain[_in_days(name)] = [_days_of(point) for point in value]
        elif value is None and name in _DURATIONS:
            plain[_in_days(name)] = None
        elif isinstance(value, Mapping):
            plain[name] = dict(value)
        else:
            plain[name] = value
    return plain


_DURATIONS = frozenset(
    {"median_to_convert", "p90_to_convert", "median", "p90", "longest"}
)


def _days_of(value: timedelta | None) -> float | None:
    return None if value is None else round(value / timedelta(days=1), 6)


def _in_days(name: str) -> str:
    return f"{name}_days"


_SLA_COLUMNS = (
    "rule",
    "started",
    "on time",
    "late",
    "breached",
    "cancelled",
    "open",
    "on-time rate",
)
_CONVERSION_COLUMNS = (
    "cohort",
    "from",
    "to",
    "entered",
    "converted",
    "open",
    "left",
    "rate",
    "closed rate",
    "median",
    "p90",
)


def _table(header: list[str], rows: list[list[str]], words: int) -> str:
    """Align *rows* under *header*: the first *words* columns left, numbers right."""
    return table(header, rows, words=words) if rows else "(no leads)"


def _lead_cell(segment: str | None, value: Scalar) -> list[str]:
    if segment is None:
        return []
    return ["(none)" if value is None else str(value)]


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "-"


def _days(value: timedelta | None, longest: timedelta | None = None) -> str:
    if value is None:
        return "-" if longest is None else f"> {longest / timedelta(days=1):.1f} d"
    return f"{value / timedelta(days=1):.1f} d"


def _figure(goal: Goal, value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(goal.stage, str):
        return f"{value:,.1f}".removesuffix(".0")
    return _percent(value)


_PATH_ENDS = 4  # the stages the text keeps at each end of a long path


def _path_text(path: tuple[str, ...]) -> str:
    """A path as text; a long one keeps its first and last stages, counting the rest.

    One lead recycled a dozen times would otherwise widen the whole table
    past any terminal's width; the data (``to_dict``) keeps every stage.
    """
    if len(path) <= 3 * _PATH_ENDS:
        return " > ".join(path)
    hidden = f"({len(path) - 2 * _PATH_ENDS} more stages)"
    return " > ".join([*path[:_PATH_ENDS], hidden, *path[-_PATH_ENDS:]])


def _instant(report: FunnelReport) -> str:
    return min(report.end, report.now, key=utc_micros).isoformat()
