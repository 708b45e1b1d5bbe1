"""What the engine reports (events), keeps (lead states) and takes in (inputs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

import attrs

from funnelkit._criteria import TransitionRecord
from funnelkit._lead import Activity, Lead
from funnelkit._scoring import Score, _ReadLater, score_of
from funnelkit._sla import SlaTimer
from funnelkit._time import utc_micros
from funnelkit._validators import (
    as_tuple,
    aware_datetime,
    flag,
    instance_of,
    items_of,
    non_empty_str,
    optional,
    reject,
)
from funnelkit.errors import ValidationError

__all__ = [
    "ActivityRecorded",
    "AddLead",
    "Event",
    "Input",
    "LeadAdded",
    "LeadState",
    "LeadUpdated",
    "Move",
    "PauseTimer",
    "ResumeTimer",
    "ScoreChanged",
    "SlaBreached",
    "SlaCancelled",
    "SlaMet",
    "SlaPaused",
    "SlaResumed",
    "SlaStarted",
    "SlaWarning",
    "StageChanged",
    "Tick",
    "UpdateLead",
]


# -- Events: the engine builds them without checks; built by hand, checked ----

_a_lead = instance_of(Lead, "a Lead")
_a_timer = instance_of(SlaTimer, "an SlaTimer")


@attrs.frozen
class _LeadEvent:
    """An event about the lead value itself."""

    lead: Lead = attrs.field(validator=_a_lead)
    at: datetime = attrs.field(validator=aware_datetime)

    @property
    def lead_id(self) -> str:
        """The lead's id."""
        return self.lead.id


@attrs.frozen
class LeadAdded(_LeadEvent):
    """A lead entered the funnel (its first stage follows as a StageChanged).

    Attributes:
        lead: The lead, as added.
        at: When: the lead's ``created_at``.
    """


@attrs.frozen
class LeadUpdated(_LeadEvent):
    """What is known of a lead changed (attributes, BANT, owner...).

    Attributes:
        lead: The lead, as updated.
        at: When the update was made.
    """


@attrs.frozen
class ActivityRecorded:
    """An activity was recorded (a duplicate is not: it changes nothing).

    Attributes:
        activity: The activity.
    """

    activity: Activity = attrs.field(validator=instance_of(Activity, "an Activity"))

    @property
    def lead_id(self) -> str:
        """The lead's id."""
        return self.activity.lead_id

    @property
    def at(self) -> datetime:
        """When the activity happened."""
        return self.activity.at


@attrs.frozen(kw_only=True)
class ScoreChanged:
    """A lead's score changed in some dimension or grade.

    Attributes:
        lead_id: The lead's id.
        at: The instant the score is read at.
        score: The new score, with its ledger.
        previous: The score before, ``None`` for a new lead.
    """

    lead_id: str = attrs.field(validator=non_empty_str)
    at: datetime = attrs.field(validator=aware_datetime)
    score: Score = attrs.field(validator=instance_of(Score, "a Score"))
    previous: Score | None = attrs.field(
        validator=optional(instance_of(Score, "a Score or None"))
    )

    @score.validator
    @previous.validator
    def _of_the_lead(self, attribute: attrs.Attribute[Score], value: object) -> None:
        if isinstance(value, Score) and value.lead_id != self.lead_id:
            reject(self, attribute, value, f"a score of lead {self.lead_id!r}")


def _score_worded(event: ScoreChanged, held: object) -> Score | None:
    """A score of a quick record, made of score_of's arguments.

    The engine's quick record keeps a lead's score as its scorer's read (see
    funnelkit._store._Recorded), and its event holds the arguments that make
    the previous score, and the new one unless a guard needed it made: each
    is made when read, its ledger when that is read in turn.
    """
    if type(held) is tuple:
        return score_of(*held)
    return None


setattr(  # noqa: B010 -- mypy sees the field
    ScoreChanged, "score", _ReadLater(ScoreChanged.__dict__["score"], _score_worded)
)
setattr(  # noqa: B010 -- as above
    ScoreChanged,
    "previous",
    _ReadLater(ScoreChanged.__dict__["previous"], _score_worded),
)


@attrs.frozen
class StageChanged:
    """A lead moved to another stage (or entered its first).

    Attributes:
        lead_id: The lead's id.
        record: The move as the history keeps it: source, target, when, by
            whom, why, and the verdict that allowed it.
    """

    lead_id: str = attrs.field(validator=non_empty_str)
    record: TransitionRecord = attrs.field(
        validator=instance_of(TransitionRecord, "a TransitionRecord")
    )

    @property
    def at(self) -> datetime:
        """When the lead moved."""
        return self.record.at


@attrs.frozen
class _TimerEvent:
    """A change to one of a lead's SLA timers.

    Attributes:
        lead_id: The lead's id.
        timer: The timer as it stands after the change.
    """

    lead_id: str = attrs.field(validator=non_empty_str)
    timer: SlaTimer = attrs.field(validator=_a_timer)

    # The timer's instant this event reports, set on it (None: none).
    _stamp: ClassVar[str | None] = None

    @timer.validator
    def _stamped(self, attribute: attrs.Attribute[SlaTimer], value: SlaTimer) -> None:
        stamp = self._stamp
        if stamp is not None and getattr(value, stamp) is None:
            reject(self, attribute, value, f"a timer with its {stamp} set")


@attrs.frozen
class SlaStarted(_TimerEvent):
    """A lead entered a stage with an SLA rule: its clock runs."""

    @property
    def at(self) -> datetime:
        """When the clock started."""
        return self.timer.started_at


@attrs.frozen
class SlaWarning(_TimerEvent):
    """A timer reached its warning share of the time allowed, unmet."""

    _stamp = "warned_at"

    @property
    def at(self) -> datetime:
        """When the warning fell due."""
        return _when(self.timer.warned_at)


@attrs.frozen
class SlaBreached(_TimerEvent):
    """A timer reached its deadline unmet.

    Attributes:
        escalate_to: The role to tell, when the rule escalates.
    """

    _stamp = "breached_at"

    escalate_to: str | None = attrs.field(
        default=None, validator=optional(non_empty_str)
    )

    @property
    def at(self) -> datetime:
        """The deadline."""
        return _when(self.timer.breached_at)


@attrs.frozen
class SlaMet(_TimerEvent):
    """A timer's promise was kept (late, when ``timer.late``: after its breach)."""

    _stamp = "met_at"

    @property
    def at(self) -> datetime:
        """When it was met."""
        return _when(self.timer.met_at)


@attrs.frozen
class SlaCancelled(_TimerEvent):
    """The lead left the stage before an activity or criterion rule was met."""

    _stamp = "cancelled_at"

    @property
    def at(self) -> datetime:
        """When the lead left."""
        return _when(self.timer.cancelled_at)


@attrs.frozen
class SlaPaused(_TimerEvent):
    """The host paused a timer (waiting on the customer)."""

    _stamp = "paused_at"

    @property
    def at(self) -> datetime:
        """When it was paused."""
        return _when(self.timer.paused_at)


@attrs.frozen
class SlaResumed(_TimerEvent):
    """The host resumed a paused timer; its deadline moved by the time paused.

    Attributes:
        at: When it was resumed.
    """

    at: datetime = attrs.field(kw_only=True, validator=aware_datetime)

    @at.validator
    def _running(self, attribute: attrs.Attribute[datetime], value: datetime) -> None:
        if self.timer.paused_at is not None:
            reject(
                self,
                attribute,
                value,
                "the resumption of a timer running again (paused_at None)",
            )


def _when(moment: datetime | None) -> datetime:
    assert moment is not None  # noqa: S101 -- each event sets its own instant
    return moment


#: Every event the engine emits.
Event = (
    LeadAdded
    | LeadUpdated
    | ActivityRecorded
    | ScoreChanged
    | StageChanged
    | SlaStarted
    | SlaWarning
    | SlaBreached
    | SlaMet
    | SlaCancelled
    | SlaPaused
    | SlaResumed
)


# -- The state of one lead -----------------------------------------------------


def _count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or value < 0:
        reject(instance, attribute, value, "a whole number, 0 or more")


@attrs.frozen(kw_only=True, repr=False)
class LeadState:
    """One lead in the funnel, as of its last event.

    Attributes:
        lead: The lead.
        stage: The stage it is in.
        entered_at: When it entered that stage.
        score: Its score as of ``updated_at`` (ask
            :meth:`Funnel.score` for the score at another instant: decay moves
            it with time alone).
        history: Its moves, oldest first, from its first stage on.
        updated_at: The instant of its last event.
        activities: How many activities were recorded for it.
        timers: The SLA timers of its visit to its current stage, running or
            done.

    The repr names the lead by id only: no personal data.

    Made by hand, its parts must fit as the engine keeps them: ``updated_at``
    no earlier than ``entered_at``; the score the lead's, read at
    ``updated_at``; the history (when given) in time order from the first
    stage, each move leaving the stage the one before entered, the last
    entering ``stage`` at ``entered_at``; the timers this visit's, one per
    rule. A list is taken for the history and the timers.
    """

    lead: Lead = attrs.field(validator=_a_lead)
    stage: str = attrs.field(validator=non_empty_str)
    entered_at: datetime = attrs.field(validator=aware_datetime)
    score: Score = attrs.field(validator=instance_of(Score, "a Score"))
    history: tuple[TransitionRecord, ...] = attrs.field(
        converter=as_tuple,
        validator=items_of(TransitionRecord, "moves (TransitionRecord values)"),
    )
    updated_at: datetime = attrs.field(validator=aware_datetime)
    activities: int = attrs.field(default=0, validator=_count)
    timers: tuple[SlaTimer, ...] = attrs.field(
        default=(), converter=as_tuple, validator=items_of(SlaTimer, "SlaTimer values")
    )

    def __attrs_post_init__(self) -> None:
        problem = state_problem(self)
        if problem is not None:
            raise problem

    def __repr__(self) -> str:
        return (
            f"LeadState(lead={self.lead.id!r}, stage={self.stage!r}, "
            f"entered_at={self.entered_at.isoformat()!r}, total={self.score.total}, "
            f"grade={self.score.grade!r}, moves={len(self.history)}, "
            f"activities={self.activities})"
        )


def state_problem(state: LeadState) -> ValidationError | None:
    """What makes *state*'s fields, each valid, not a lead's state; ``None`` if nothing.

    The last update is no earlier than the entry to the stage, and the score
    is the lead's, read at that update. The history (if given: a store may
    read it later) runs in time order from the first stage (no source), each
    move leaving the stage the one before entered, the last entering the
    stage at ``entered_at``. The timers are of this visit: the stage's,
    started at the entry, one per rule.
    """
    return (
        _times_problem(state)
        or moves_problem(state.history, state.stage, state.entered_at, state.timers)
        or _timers_problem(state)
    )


def moves_problem(
    history: Sequence[TransitionRecord],
    stage: str,
    entered_at: datetime,
    timers: Sequence[SlaTimer],
) -> ValidationError | None:
    """What makes *history* not the moves of a state with these parts, if anything.

    For a store that reads a history after its state (see state_problem); an
    empty one is a history not given.
    """
    if not history:
        return None
    problem = _chain_problem(history)
    last = len(history) - 1
    if problem is None and history[last].target != stage:
        problem = _error(
            f"history[{last}].target", history[last].target, f"the stage {stage!r}"
        )
    if problem is None and utc_micros(history[last].at) != utc_micros(entered_at):
        problem = _error(
            f"history[{last}].at",
            history[last].at,
            f"entered_at ({entered_at.isoformat()}): the last move entered the stage",
        )
    for position, timer in enumerate(timers):
        if problem is None and timer.entry != last:
            problem = _error(
                f"timers[{position}].entry",
                timer.entry,
                f"{last}: the last move's position",
            )
    return problem


def _chain_problem(history: Sequence[TransitionRecord]) -> ValidationError | None:
    """The first move out of time order, or not from the stage the last one entered."""
    source = since = None
    for position, record in enumerate(history):
        if record.source != source:
            return _error(
                f"history[{position}].source",
                record.source,
                "None: the first move comes from no stage"
                if since is None
                else f"{source!r}: the stage the move before entered",
            )
        if since is not None and utc_micros(record.at) < utc_micros(since):
            return _error(
                f"history[{position}].at",
                record.at,
                f"an instant no earlier than the move before ({since.isoformat()})",
            )
        source, since = record.target, record.at
    return None


def _times_problem(state: LeadState) -> ValidationError | None:
    updated = utc_micros(state.updated_at)
    if updated < utc_micros(state.entered_at):
        return _error(
            "updated_at",
            state.updated_at,
            f"an instant no earlier than entered_at ({state.entered_at.isoformat()})",
        )
    score = state.score
    if score.lead_id != state.lead.id:
        return _error(
            "score.lead_id", score.lead_id, f"the lead's id {state.lead.id!r}"
        )
    if utc_micros(score.at) != updated:
        return _error(
            "score.at", score.at, f"updated_at ({state.updated_at.isoformat()})"
        )
    return None


def _timers_problem(state: LeadState) -> ValidationError | None:
    entered = utc_micros(state.entered_at)
    rules: set[str] = set()
    for position, timer in enumerate(state.timers):
        place = f"timers[{position}]"
        if timer.stage != state.stage:
            return _error(f"{place}.stage", timer.stage, f"the stage {state.stage!r}")
        if utc_micros(timer.started_at) != entered:
            return _error(
                f"{place}.started_at",
                timer.started_at,
                f"entered_at ({state.entered_at.isoformat()}): a timer of this visit",
            )
        if timer.rule in rules:
            return _error(f"{place}.rule", timer.rule, "one timer per rule")
        rules.add(timer.rule)
    return None


def _error(field: str, value: object, expected: str) -> ValidationError:
    return ValidationError(
        owner="LeadState", field=field, value=value, expected=expected
    )


# -- Inputs: what a funnel was fed, in order, for replay -----------------------


@attrs.frozen
class AddLead:
    """``Funnel.add_lead(lead)`` as the input log keeps it."""

    lead: Lead = attrs.field(validator=instance_of(Lead, "a Lead"))


@attrs.frozen
class UpdateLead:
    """``Funnel.update_lead(lead)`` at an instant, as the input log keeps it."""

    lead: Lead = attrs.field(validator=instance_of(Lead, "a Lead"))
    at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen(kw_only=True)
class Move:
    """``Funnel.move(...)`` as the input log keeps it (``at`` resolved)."""

    lead_id: str = attrs.field(validator=non_empty_str)
    to: str = attrs.field(validator=non_empty_str)
    by: str = attrs.field(validator=non_empty_str)
    at: datetime = attrs.field(validator=aware_datetime)
    reason: str | None = attrs.field(default=None, validator=optional(non_empty_str))
    override: bool = attrs.field(default=False, validator=flag)


@attrs.frozen
class Tick:
    """``Funnel.tick(now)`` as the input log keeps it (``now`` resolved)."""

    now: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen
class PauseTimer:
    """``Funnel.pause_timer(lead_id, rule)`` as the input log keeps it."""

    lead_id: str = attrs.field(validator=non_empty_str)
    rule: str = attrs.field(validator=non_empty_str)
    at: datetime = attrs.field(validator=aware_datetime)


@attrs.frozen
class ResumeTimer:
    """``Funnel.resume_timer(lead_id, rule)`` as the input log keeps it."""

    lead_id: str = attrs.field(validator=non_empty_str)
    rule: str = attrs.field(validator=non_empty_str)
    at: datetime = attrs.field(validator=aware_datetime)


#: What the input log holds: activities as they were recorded, and the other
#: calls as records of their arguments.
Input = AddLead | UpdateLead | Activity | Move | Tick | PauseTimer | ResumeTimer
