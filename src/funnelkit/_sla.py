"""SLA rules: the promises marketing and sales keep to each other, with their clocks."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import attrs

from funnelkit._calendar import BusinessCalendar
from funnelkit._criteria import CriterionLike
from funnelkit._duration import BusinessDuration, parse_duration
from funnelkit._rules import is_kind_set, kind_set, set_repr
from funnelkit._time import add_elapsed, elapsed, in_utc, require_aware, utc_micros
from funnelkit._validators import (
    aware_datetime,
    non_empty_str,
    optional,
    policy_name,
    reject,
    unchecked,
)
from funnelkit.errors import PolicyError, ValidationError

__all__ = ["EXIT", "Escalate", "MoveTo", "OnBreach", "SlaRule", "SlaTimer"]

#: ``met_by`` meaning that the lead leaving the stage meets the promise.
EXIT: Final = "exit"


def _reject(owner: str, field: str, value: object, expected: str) -> PolicyError:
    return PolicyError(owner=owner, field=field, value=value, expected=expected)


@attrs.frozen
class Escalate:
    """On a breach, name who must hear of it: the role rides on the breach event.

    >>> Escalate("sales_manager")
    Escalate(role='sales_manager')
    """

    role: str = attrs.field(validator=policy_name)


@attrs.frozen
class MoveTo:
    """On a breach, move the lead to *stage*, with *reason* on the move.

    The policy must allow a move from the rule's stage to *stage*.

    >>> MoveTo("nurture")
    MoveTo(stage='nurture', reason='sla_breach')
    """

    stage: str = attrs.field(validator=policy_name)
    reason: str = attrs.field(default="sla_breach", validator=policy_name)


#: What happens on a breach besides the event: nothing more (``None``), an
#: escalation, or an automatic move.
OnBreach = Escalate | MoveTo


def _within(value: object) -> object:
    """Read ``"8 business hours"`` or ``"2 days"`` as a duration."""
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValidationError:
            return value  # for the validator to reject, naming the field
    return value


def _check_within(
    instance: SlaRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if isinstance(value, BusinessDuration) and value:
        return
    if isinstance(value, timedelta) and value > timedelta(0):
        return
    raise _reject(
        "SlaRule",
        attribute.name,
        value,
        "a positive duration: a timedelta or text such as '2 days' (wall time), "
        "or a business duration such as '8 business hours'",
    )


def _met_by(value: object) -> object:
    """Keep ``"exit"`` and criteria; read a kind or kinds as a frozen set."""
    if value == EXIT or callable(getattr(value, "check", None)):
        return value
    try:
        return kind_set(value)
    except TypeError:  # items that cannot be in a set
        return value


def _check_met_by(
    instance: SlaRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value == EXIT or (isinstance(value, frozenset) and is_kind_set(value)):
        return
    if callable(getattr(value, "check", None)):
        return  # a criterion
    raise _reject(
        "SlaRule",
        attribute.name,
        value,
        "'exit', an activity kind or a set of kinds, or a criterion",
    )


def _check_warn_at(
    instance: SlaRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is None:
        return
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1:
        return
    raise _reject(
        "SlaRule",
        attribute.name,
        value,
        "a fraction of the time allowed, between 0 and 1 (0.75 warns at 75%)",
    )


def _check_calendar(
    instance: SlaRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None and not isinstance(value, BusinessCalendar):
        raise _reject(
            "SlaRule", attribute.name, value, "a funnelkit.BusinessCalendar or None"
        )


def _on_breach(value: object) -> object:
    return Escalate(value) if isinstance(value, str) else value


def _check_on_breach(
    instance: SlaRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None and not isinstance(value, Escalate | MoveTo):
        raise _reject(
            "SlaRule",
            attribute.name,
            value,
            "None, a role name or Escalate(role), or MoveTo(stage)",
        )


@attrs.frozen
class SlaRule:
    """A service-level promise on one stage: what must happen, and how soon.

    Args:
        name: The rule's name, unique in its policy (``"mql_accepted"``).
        stage: The stage whose entry starts the clock; entering it again
            starts a new one.
        within: How long: a ``timedelta`` or text such as ``"2 days"`` is
            wall time; a business duration such as ``"8 business hours"`` is
            counted on the rule's calendar, or else the policy's.
        met_by: ``"exit"`` (the lead leaving the stage, accepted or
            rejected, keeps the promise), an activity kind or a set of kinds
            (a first touch: ``{"sales_call", "sales_email"}``), or a
            criterion that must come to pass.
        warn_at: A fraction of the time allowed after which to warn once
            (``0.75``), or ``None``.
        calendar: The :class:`BusinessCalendar` of business durations
            (``None``: the policy's).
        on_breach: ``None`` (the breach event only), a role name or
            :class:`Escalate` (carried on the event: who must hear), or
            :class:`MoveTo` (move the lead, e.g. back to marketing).

    >>> rule = SlaRule("first_touch", "sal", "1 business hour", {"sales_call"})
    >>> rule.within, sorted(rule.met_by)
    (BusinessDuration(days=0, time=datetime.timedelta(seconds=3600)), ['sales_call'])
    """

    name: str = attrs.field(validator=policy_name)
    stage: str = attrs.field(validator=policy_name)
    within: timedelta | BusinessDuration = attrs.field(
        converter=_within, validator=_check_within
    )
    met_by: Literal["exit"] | frozenset[str] | CriterionLike = attrs.field(
        converter=_met_by, validator=_check_met_by, repr=set_repr
    )
    warn_at: float | None = attrs.field(
        default=None, kw_only=True, validator=_check_warn_at
    )
    calendar: BusinessCalendar | None = attrs.field(
        default=None, kw_only=True, validator=_check_calendar
    )
    on_breach: OnBreach | None = attrs.field(
        default=None, kw_only=True, converter=_on_breach, validator=_check_on_breach
    )

    @property
    def business(self) -> bool:
        """Whether the time allowed is business time (it needs a calendar)."""
        return isinstance(self.within, BusinessDuration)

    def deadline(
        self, started_at: datetime, calendar: BusinessCalendar | None = None
    ) -> datetime:
        """Return when the promise falls due for a clock started at *started_at*.

        *calendar* stands in when the rule has none of its own (the policy's).

        Raises:
            NaiveDatetimeError: *started_at* has no time zone.
            ValidationError: business time and no calendar at all.
        """
        require_aware(started_at, field="started_at", owner=f"SlaRule {self.name!r}")
        if isinstance(self.within, BusinessDuration):
            return self._business(started_at, self.within, calendar, "started_at")
        return self._wall(started_at, self.within)

    def warning(
        self,
        started_at: datetime,
        deadline: datetime,
        calendar: BusinessCalendar | None = None,
    ) -> datetime | None:
        """Return when to warn: *warn_at* of the time from start to deadline.

        Business time for a business rule (75% of eight business hours is
        after six of them), wall time otherwise; ``None`` without *warn_at*.
        """
        owner = f"SlaRule {self.name!r}"
        require_aware(started_at, field="started_at", owner=owner)
        require_aware(deadline, field="deadline", owner=owner)
        if self.warn_at is None:
            return None
        return self._after(
            started_at,
            self._span(started_at, deadline, calendar) * self.warn_at,
            calendar,
        )

    def moved(
        self,
        due: datetime,
        paused_at: datetime,
        resumed_at: datetime,
        calendar: BusinessCalendar | None = None,
    ) -> datetime:
        """Return where *due* lands after the clock stood from *paused_at* on.

        The time paused (business time for a business rule) moves it on: what
        was left of the time allowed counts again from *resumed_at*. A pause
        in closed hours moves a business deadline not at all, even one that
        falls out of hours ("10 business days" from a Friday evening); an
        instant already passed stays.
        """
        owner = f"SlaRule {self.name!r}"
        require_aware(due, field="due", owner=owner)
        require_aware(paused_at, field="paused_at", owner=owner)
        require_aware(resumed_at, field="resumed_at", owner=owner)
        if in_utc(resumed_at) < in_utc(paused_at):
            raise ValidationError(
                owner=owner,
                field="resumed_at",
                value=resumed_at,
                expected=f"an instant no earlier than paused_at ({paused_at})",
            )
        if in_utc(due) <= in_utc(paused_at):
            return due
        paused = self._span(
            paused_at, resumed_at, calendar, ("paused_at", "resumed_at")
        )
        moved = due if not paused else self._after(due, paused, calendar, "due")
        # Never before the resume: the clock stood until then.
        return max(moved, resumed_at, key=in_utc)

    def _span(
        self,
        start: datetime,
        end: datetime,
        calendar: BusinessCalendar | None,
        fields: tuple[str, str] = ("started_at", "deadline"),
    ) -> timedelta:
        """The rule's kind of time from *start* to *end*: business or wall.

        *fields* name *start* and *end* as the rule's, should the calendar
        refuse either (see _business).
        """
        if not isinstance(self.within, BusinessDuration):
            return elapsed(start, end)
        calendar = self._calendar(calendar)
        try:
            # Both instants are aware (the callers check): the calendar can
            # refuse only one outside its range.
            return calendar.elapsed(start, end)
        except ValidationError as error:
            raise self._ours(error, fields[error.field == "end"], error.value) from None

    def _after(
        self,
        start: datetime,
        span: timedelta,
        calendar: BusinessCalendar | None,
        field: str = "started_at",
    ) -> datetime:
        """*span* of the rule's kind of time after *start* (the rule's *field*)."""
        if isinstance(self.within, BusinessDuration):
            return self._business(start, span, calendar, field)
        return self._wall(start, span, field)

    def _business(
        self,
        start: datetime,
        span: timedelta | BusinessDuration,
        calendar: BusinessCalendar | None,
        field: str,
    ) -> datetime:
        """*span* of business time after *start*, within the calendar's years.

        An instant the calendar cannot count from, or whose deadline would
        fall past its years, is refused as the rule's *field*, not as the
        calendar's argument: the rule is what a host can find in its policy.
        """
        calendar = self._calendar(calendar)
        try:
            # The rule's spans are never negative: the calendar can refuse
            # only the instant, and its range.
            return calendar.add(start, span)
        except ValidationError as error:
            raise self._ours(error, field, start) from None

    def _ours(
        self, error: ValidationError, field: str, value: object
    ) -> ValidationError:
        """The calendar's refusal of *value*, told as the rule's *field*."""
        return ValidationError(
            owner=f"SlaRule {self.name!r}",
            field=field,
            value=value,
            expected=error.expected,
        )

    def _wall(
        self, start: datetime, span: timedelta, field: str = "started_at"
    ) -> datetime:
        """*span* of wall-clock time after *start*, within Python's years."""
        try:
            return add_elapsed(start, span)
        except OverflowError:
            raise ValidationError(
                owner=f"SlaRule {self.name!r}",
                field=field,
                value=start,
                expected=(
                    f"an instant early enough that {span} later falls before "
                    "the year 10000"
                ),
            ) from None

    def _calendar(self, calendar: BusinessCalendar | None) -> BusinessCalendar:
        found = self.calendar or calendar
        if found is None:
            raise ValidationError(
                owner=f"SlaRule {self.name!r}",
                field="calendar",
                value=None,
                expected=(
                    "a BusinessCalendar (the rule's or the policy's) to count "
                    f"{self.within}"
                ),
            )
        return found


class _Keep(enum.Enum):
    """A timer field's current value, kept by a copy (``None`` is a value)."""

    KEEP = enum.auto()


_KEEP: Final = _Keep.KEEP
_optional_aware = optional(aware_datetime)


def _entry(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    """A position in a history: a whole number, 0 or more."""
    if type(value) is not int or value < 0:
        reject(instance, attribute, value, "a position in the history (0 or more)")


@attrs.frozen(kw_only=True)
class SlaTimer:
    """One rule's clock for one visit of a lead to the rule's stage.

    Attributes:
        rule: The rule's name.
        stage: The stage whose entry started it.
        entry: The position in the lead's history of the move that entered
            the stage: with the lead and the rule, it names the timer (a lead
            may enter a stage twice in one instant).
        started_at: When the lead entered the stage.
        deadline: When the promise falls due.
        warn_at: When to warn (``None``: no warning).
        warned_at: When the warning was given, if it was.
        breached_at: When it was breached (at its deadline), if it was.
        met_at: When it was met, if it was (after a breach: met late).
        cancelled_at: When the lead left the stage unmet, if it did.
        paused_at: When the host paused it (waiting on the customer), while it
            is paused: it neither warns nor breaches, and resuming moves the
            deadline by the time paused.

    Made by hand, its instants must come in a timer's order: none before
    ``started_at``, ``warn_at`` no later than the deadline, ``warned_at``
    only with a ``warn_at``, and not both ``met_at`` and ``cancelled_at``.
    """

    rule: str = attrs.field(validator=non_empty_str)
    stage: str = attrs.field(validator=non_empty_str)
    entry: int = attrs.field(validator=_entry)
    started_at: datetime = attrs.field(validator=aware_datetime)
    deadline: datetime = attrs.field(validator=aware_datetime)
    warn_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    warned_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    breached_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    met_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    cancelled_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    paused_at: datetime | None = attrs.field(default=None, validator=_optional_aware)

    def __attrs_post_init__(self) -> None:
        problem = timer_problem(self)
        if problem is not None:
            raise problem

    @property
    def is_open(self) -> bool:
        """Whether it still runs: neither met nor cancelled (a breach runs on)."""
        return self.met_at is None and self.cancelled_at is None

    @property
    def late(self) -> bool:
        """Whether it was met after its breach."""
        return self.met_at is not None and self.breached_at is not None

    @property
    def next_due(self) -> datetime | None:
        """The next instant time alone changes it: its warning, then its deadline.

        ``None`` when it is done, paused, or breached with nothing left to say.
        """
        # Not is_open (met, cancelled), or paused: one test without a call.
        if (
            self.met_at is not None
            or self.cancelled_at is not None
            or self.paused_at is not None
        ):
            return None
        if self.warn_at is not None and self.warned_at is None:
            return self.warn_at
        return self.deadline if self.breached_at is None else None

    def warned(self, at: datetime) -> SlaTimer:
        """Return the timer, warned at *at*."""
        return self._stamped(at, self.breached_at)

    def breached(self, at: datetime) -> SlaTimer:
        """Return the timer, breached at *at*."""
        return self._stamped(self.warned_at, at)

    def _stamped(
        self, warned_at: datetime | None, breached_at: datetime | None
    ) -> SlaTimer:
        """The timer with these warning and breach instants, the rest kept.

        Positional, unlike _copy: a tick warns and breaches thousands of timers.
        """
        return _new_timer(
            self.rule,
            self.stage,
            self.entry,
            self.started_at,
            self.deadline,
            self.warn_at,
            warned_at,
            breached_at,
            self.met_at,
            self.cancelled_at,
            self.paused_at,
        )

    def met(self, at: datetime) -> SlaTimer:
        """Return the timer, met at *at*."""
        return self._copy(met_at=at)

    def cancelled(self, at: datetime) -> SlaTimer:
        """Return the timer, cancelled at *at*."""
        return self._copy(cancelled_at=at)

    def paused(self, at: datetime) -> SlaTimer:
        """Return the timer, paused at *at*."""
        return self._copy(paused_at=at)

    def resumed(self, deadline: datetime, warn_at: datetime | None) -> SlaTimer:
        """Return the timer running again, with its moved deadline and warning."""
        return self._copy(deadline=deadline, warn_at=warn_at, paused_at=None)

    def _copy(  # noqa: PLR0913 -- the fields a change may set
        self,
        *,
        deadline: datetime | _Keep = _KEEP,
        warn_at: datetime | _Keep | None = _KEEP,
        warned_at: datetime | _Keep | None = _KEEP,
        breached_at: datetime | _Keep | None = _KEEP,
        met_at: datetime | _Keep | None = _KEEP,
        cancelled_at: datetime | _Keep | None = _KEEP,
        paused_at: datetime | _Keep | None = _KEEP,
    ) -> SlaTimer:
        # attrs.evolve runs __init__ again; the engine changes timers often.
        return _new_timer(
            self.rule,
            self.stage,
            self.entry,
            self.started_at,
            self.deadline if deadline is _KEEP else deadline,
            self.warn_at if warn_at is _KEEP else warn_at,
            self.warned_at if warned_at is _KEEP else warned_at,
            self.breached_at if breached_at is _KEEP else breached_at,
            self.met_at if met_at is _KEEP else met_at,
            self.cancelled_at if cancelled_at is _KEEP else cancelled_at,
            self.paused_at if paused_at is _KEEP else paused_at,
        )


_new_timer = unchecked(SlaTimer)

# The instants a timer may stamp, each no earlier than its start.
_STAMPS: Final = (
    "warn_at",
    "warned_at",
    "breached_at",
    "met_at",
    "cancelled_at",
    "paused_at",
)


def timer_problem(timer: SlaTimer) -> ValidationError | None:
    """What makes *timer*'s fields, each valid, not a timer's; ``None`` if nothing.

    Its instants come in its order: the deadline and every stamp are no
    earlier than the start, a warning is due no later than the deadline and
    given only if one was due, and a timer met was not also cancelled. A
    breach is not tied to the deadline: resuming a breached timer moves it.
    """
    start = utc_micros(timer.started_at)
    since = f"an instant no earlier than started_at ({timer.started_at.isoformat()})"
    if utc_micros(timer.deadline) < start:
        return _timer_error(timer, "deadline", since)
    for name in _STAMPS:
        at = getattr(timer, name)
        if at is not None and utc_micros(at) < start:
            return _timer_error(timer, name, since)
    if timer.warn_at is not None and utc_micros(timer.warn_at) > utc_micros(
        timer.deadline
    ):
        return _timer_error(
            timer,
            "warn_at",
            f"an instant no later than the deadline ({timer.deadline.isoformat()})",
        )
    if timer.warned_at is not None and timer.warn_at is None:
        return _timer_error(timer, "warned_at", "None: no warning was due (warn_at)")
    if timer.met_at is not None and timer.cancelled_at is not None:
        return _timer_error(
            timer, "cancelled_at", "None: the timer was met (met_at), not cancelled"
        )
    return None


def _timer_error(timer: SlaTimer, field: str, expected: str) -> ValidationError:
    return ValidationError(
        owner="SlaTimer", field=field, value=getattr(timer, field), expected=expected
    )
