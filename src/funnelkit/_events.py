"""What the engine reports (events), keeps (lead states) and takes in (inputs)."""

from __future__ import annotations

from datetime import datetime

import attrs

from funnelkit._criteria import TransitionRecord
from funnelkit._lead import Activity, Lead
from funnelkit._scoring import Score
from funnelkit._sla import SlaTimer
from funnelkit._validators import (
    aware_datetime,
    flag,
    instance_of,
    non_empty_str,
    optional,
)

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


# -- Events: built by the engine, so their fields are trusted ----------------


@attrs.frozen
class _LeadEvent:
    """An event about the lead value itself."""

    lead: Lead
    at: datetime

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

    activity: Activity

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

    lead_id: str
    at: datetime
    score: Score
    previous: Score | None


@attrs.frozen
class StageChanged:
    """A lead moved to another stage (or entered its first).

    Attributes:
        lead_id: The lead's id.
        record: The move as the history keeps it: source, target, when, by
            whom, why, and the verdict that allowed it.
    """

    lead_id: str
    record: TransitionRecord

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

    lead_id: str
    timer: SlaTimer


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

    escalate_to: str | None = None

    @property
    def at(self) -> datetime:
        """The deadline."""
        return _when(self.timer.breached_at)


@attrs.frozen
class SlaMet(_TimerEvent):
    """A timer's promise was kept (late, when ``timer.late``: after its breach)."""

    @property
    def at(self) -> datetime:
        """When it was met."""
        return _when(self.timer.met_at)


@attrs.frozen
class SlaCancelled(_TimerEvent):
    """The lead left the stage before an activity or criterion rule was met."""

    @property
    def at(self) -> datetime:
        """When the lead left."""
        return _when(self.timer.cancelled_at)


@attrs.frozen
class SlaPaused(_TimerEvent):
    """The host paused a timer (waiting on the customer)."""

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

    at: datetime = attrs.field(kw_only=True)


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
    """

    lead: Lead
    stage: str
    entered_at: datetime
    score: Score
    history: tuple[TransitionRecord, ...]
    updated_at: datetime
    activities: int = 0
    timers: tuple[SlaTimer, ...] = ()

    def __repr__(self) -> str:
        return (
            f"LeadState(lead={self.lead.id!r}, stage={self.stage!r}, "
            f"entered_at={self.entered_at.isoformat()!r}, total={self.score.total}, "
            f"grade={self.score.grade!r}, moves={len(self.history)}, "
            f"activities={self.activities})"
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
