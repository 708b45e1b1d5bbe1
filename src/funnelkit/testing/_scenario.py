"""Scenario and check_policy: story and table tests of a funnel policy."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Literal, NoReturn, Self
from zoneinfo import ZoneInfo

import attrs

from funnelkit._criteria import TransitionRecord
from funnelkit._duration import BusinessDuration
from funnelkit._events import (
    ActivityRecorded,
    Event,
    LeadAdded,
    LeadState,
    LeadUpdated,
    SlaBreached,
    SlaCancelled,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
    StageChanged,
    _TimerEvent,
)
from funnelkit._funnel import Funnel
from funnelkit._lead import Activity, Bant, Lead
from funnelkit._policy import FunnelPolicy
from funnelkit._scoring import _num
from funnelkit._time import in_utc, is_zone_name, require_aware
from funnelkit._validators import Scalar, check_items, instance_of, reject
from funnelkit.errors import SubscriberError, ValidationError
from funnelkit.serialization import _fractions, _fromisoformat, _TimeTextError
from funnelkit.testing._clock import _DELTA, ManualClock

__all__ = ["Case", "Mismatch", "Scenario", "check_policy"]

#: Where a scenario starts unless told: Monday 2 March 2026, 09:00, local time.
_DEFAULT_START = datetime(2026, 3, 2, 9)  # noqa: DTZ001 -- given the scenario's zone
#: How far a number may be from a score and still equal it: scores are whole
#: millionths, so half a millionth is float noise.
_TOLERANCE = 5e-7
_INSTANT = (
    "a timezone-aware datetime, or text such as '2026-03-02 09:00' "
    "(in the scenario's time zone unless it names an offset)"
)
_WHEN = (
    "a timezone-aware datetime, text such as '2026-03-02 09:00' (in the "
    "scenario's time zone unless it names an offset), or '+' and a duration "
    "such as '+1h' or '+2 business hours'"
)
_DURATION = (
    "a duration of zero or more: a timedelta, a BusinessDuration, or text such as "
    "'90 minutes', '2 days' or '9 business hours'"
)


class Scenario:
    """A story-style test of a policy: one funnel, a manual clock, and expectations.

    Args:
        policy: The :class:`~funnelkit.FunnelPolicy` under test.
        start: When the story begins: an aware datetime, or text such as
            ``"2026-03-02 09:00"`` read in the scenario's time zone.
            By default the clock's time when a *clock* is given, else Monday
            2 March 2026, 09:00 in the scenario's time zone (an opening time
            of the usual business calendar, so business-hour arithmetic
            reads plainly).
        timezone: The time zone of text without an offset, and of the times
            in failure messages: an IANA name or a ``tzinfo``. By default the
            policy calendar's time zone, else UTC.
        clock: The :class:`~funnelkit.testing.ManualClock` to drive (the
            ``funnel_clock`` fixture gives one); a new one by default. A
            *start* sets it.

    Every step returns the scenario, so a story reads as one chain. Time
    moves only when :meth:`at` or :meth:`advance` moves it, and then the
    funnel is ticked, so SLA warnings and breaches fall due on the way.
    Steps and expectations act on the latest lead added (:meth:`use` picks
    another). A step given bad input raises a
    :class:`~funnelkit.errors.FunnelkitError` and changes nothing; an expectation
    that is not met raises :class:`AssertionError` with the lead's
    timeline, its score ledger, and the verdict of each move out of its
    stage.

    >>> from funnelkit import policies
    >>> story = (
    ...     Scenario(policies.b2b_saas())
    ...     .lead(industry="software", employees=250, country="US")
    ...     .does("webinar_attended")
    ...     .does("pricing_page_view")
    ...     .does("content_download")
    ...     .expect_stage("lead")
    ...     .expect_score(fit=50, engagement=33)
    ...     .at("+30 minutes")
    ...     .does("content_download")
    ...     .expect_stage("mql")
    ...     .advance("8 business hours")
    ...     .expect_breach("mql_accepted")
    ... )
    >>> story.state.stage, story.now.isoformat()
    ('mql', '2026-03-03T09:30:00+00:00')
    """

    __slots__ = ("_activities", "_clock", "_events", "_funnel", "_lead", "_zone")

    def __init__(
        self,
        policy: FunnelPolicy,
        *,
        start: datetime | str | None = None,
        timezone: str | tzinfo | None = None,
        clock: ManualClock | None = None,
    ) -> None:
        if not isinstance(policy, FunnelPolicy):
            raise ValidationError(
                owner="Scenario",
                field="policy",
                value=policy,
                expected="a funnelkit.FunnelPolicy",
            )
        if clock is not None and not isinstance(clock, ManualClock):
            raise ValidationError(
                owner="Scenario",
                field="clock",
                value=clock,
                expected="a funnelkit.testing.ManualClock, or None for a new one",
            )
        self._zone = _zone(timezone, policy)
        if start is not None:
            begin = _instant(start, self._zone, owner="Scenario", field="start")
        elif clock is None:
            begin = _DEFAULT_START.replace(tzinfo=self._zone)
        else:
            begin = clock.now()
        if clock is None:
            clock = ManualClock(begin)
        else:
            clock.set(begin)
        self._clock = clock
        self._funnel = Funnel(policy, clock=clock)
        self._events: list[Event] = []
        self._funnel.subscribe(self._events.append)
        self._lead: str | None = None
        # How many activities the scenario recorded for each lead.
        self._activities: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"<funnelkit.testing.Scenario policy={self.policy.label!r} "
            f"now={self.now.isoformat()!r} lead={self._lead!r} "
            f"leads={len(self._funnel)}>"
        )

    # -- What the scenario holds -------------------------------------------------

    @property
    def policy(self) -> FunnelPolicy:
        """The policy under test."""
        return self._funnel.policy

    @property
    def funnel(self) -> Funnel:
        """The funnel the story runs on, for calls the steps do not offer."""
        return self._funnel

    @property
    def clock(self) -> ManualClock:
        """The clock; move it with :meth:`at` or :meth:`advance` so timers fire."""
        return self._clock

    @property
    def now(self) -> datetime:
        """The scenario's current time."""
        return self._clock.now()

    @property
    def lead_id(self) -> str:
        """The id of the lead the steps act on.

        Raises:
            ValidationError: no lead was added yet.
        """
        return self._current("Scenario.lead_id")

    @property
    def state(self) -> LeadState:
        """The current lead's :class:`~funnelkit.LeadState`, for custom asserts.

        Raises:
            ValidationError: no lead was added yet.
        """
        return self._funnel.state(self._current("Scenario.state"))

    @property
    def events(self) -> tuple[Event, ...]:
        """The current lead's events so far, in the order the funnel gave them.

        Every event counts, also those of calls made on :attr:`funnel`
        directly.

        Raises:
            ValidationError: no lead was added yet.
        """
        return self._events_of(self._current("Scenario.events"))

    # -- Steps ---------------------------------------------------------------------

    def lead(
        self,
        id: str | None = None,  # noqa: A002 -- the Lead field is called id
        *,
        email: str | None = None,
        bant: Bant | None = None,
        source: str | None = None,
        owner: str | None = None,
        **attributes: Scalar,
    ) -> Self:
        """Add a lead created now, with *attributes*; later steps act on it.

        Args:
            id: The lead's id; ``"lead-1"``, ``"lead-2"``... by default.
            email: Its email address.
            bant: What sales knows of budget, authority, need and timeline.
            source: The channel it came from.
            owner: The rep or team who owns it.
            attributes: What is known of the lead and its company
                (``industry="software", employees=200``).

        Raises:
            ValidationError: a bad field (named as :class:`~funnelkit.Lead`
                names it), or a lead with this id is in the funnel already.
        """
        lead_id = id
        if lead_id is None:
            number = len(self._funnel) + 1
            while f"lead-{number}" in self._funnel:
                number += 1
            lead_id = f"lead-{number}"
        elif lead_id in self._funnel:
            raise ValidationError(
                owner="Scenario.lead",
                field="id",
                value=id,
                expected="an id no lead in the scenario has (use() switches to it)",
            )
        lead = Lead(
            lead_id,
            self.now,
            email=email,
            attributes=attributes,
            bant=Bant() if bant is None else bant,
            source=source,
            owner=owner,
        )
        self._funnel.add_lead(lead)
        self._lead = lead.id
        return self

    def use(self, lead_id: str) -> Self:
        """Act on the lead *lead_id* from now on.

        Raises:
            UnknownLead: the scenario has no such lead.
        """
        self._funnel.state(lead_id)  # raises UnknownLead for a stranger
        self._lead = lead_id
        return self

    def at(self, when: datetime | str) -> Self:
        """Move the time to *when*, firing the timers due on the way.

        Args:
            when: An aware datetime; text such as ``"2026-03-02 09:00"`` or
                ``"2026-03-02T09:00:00+01:00"`` (ISO 8601, in the scenario's
                time zone unless it names an offset; a local time the clocks
                skip or repeat is read as :mod:`zoneinfo` reads it, with
                ``fold=0``); or ``"+"`` and a duration, as :meth:`advance`
                takes it (``"+1h"``, ``"+90 minutes"``,
                ``"+2 business hours"``). The same time again is allowed.

        A tick that raises (a guard's own error) leaves the time where it
        was, as any failed step does.

        Raises:
            ValidationError: *when* is none of these, text with nonzero
                digits past the microsecond (Python would cut them), or
                earlier than now (a scenario moves forward only).
            NaiveDatetimeError: *when* is a datetime without a time zone.
            Exception: what the funnel's tick raised; only a
                :class:`~funnelkit.errors.SubscriberError` (the tick's change
                stands) leaves the time moved.
        """
        before = self.now
        if isinstance(when, str) and when.strip().startswith("+"):
            self._advance(when.strip()[1:], when, owner="Scenario.at", field="when")
        else:
            target = _instant(when, self._zone, owner="Scenario.at", field="when")
            if in_utc(target) < in_utc(self.now):
                raise ValidationError(
                    owner="Scenario.at",
                    field="when",
                    value=when,
                    expected=(
                        f"a time no earlier than the scenario's "
                        f"{_moment(self.now, self._zone)} (a scenario moves "
                        "forward only; give Scenario(start=...) to begin earlier)"
                    ),
                )
            self._clock.set(target)
        return self._ticked(before)

    def advance(self, duration: timedelta | BusinessDuration | str) -> Self:
        """Move the time forward by *duration*, firing the timers due on the way.

        Args:
            duration: A ``timedelta`` (wall-clock time), a
                :class:`~funnelkit.BusinessDuration` (open time on the
                policy's calendar), or text that
                :func:`~funnelkit.parse_duration` reads as either
                (``"90 minutes"``, ``"9 business hours"``).

        A tick that raises leaves the time where it was, as :meth:`at` does.

        Raises:
            ValidationError: *duration* is not a duration of zero or more, or
                is business time and the policy has no calendar.
            Exception: what the funnel's tick raised; only a
                :class:`~funnelkit.errors.SubscriberError` (the tick's change
                stands) leaves the time moved.
        """
        before = self.now
        self._advance(duration, duration, owner="Scenario.advance", field="duration")
        return self._ticked(before)

    def does(self, kind: str, **properties: Scalar) -> Self:
        """Record that the lead did *kind* now, with *properties*.

        Each call is a new activity, even one equal to an earlier one at the
        same instant: it gets its own id (``"lead-1#2"`` for the lead's
        second, or the next one free if an activity recorded on
        :attr:`funnel` took it). To test how the funnel ignores a redelivered
        activity, record an :class:`~funnelkit.Activity` on :attr:`funnel`.

        Raises:
            ValidationError: no lead yet, or a bad kind or property.
        """
        lead_id = self._current("Scenario.does")
        number = self._activities.get(lead_id, 0) + 1
        # An id a direct record on the funnel took already is skipped: the
        # funnel would ignore the step as a redelivery.
        while self._funnel.store.has_activity(lead_id, f"{lead_id}#{number}"):
            number += 1
        activity = Activity(
            lead_id, kind, self.now, id=f"{lead_id}#{number}", properties=properties
        )
        self._funnel.record(activity)
        self._activities[lead_id] = number
        return self

    def move(
        self,
        to: str,
        *,
        by: str = "scenario",
        reason: str | None = None,
        override: bool = False,
    ) -> Self:
        """Move the lead to stage *to* now, as :meth:`Funnel.move` does.

        Raises:
            ValidationError: no lead yet, or a bad argument.
            IllegalTransition: the policy has no such move.
            GuardFailed: the guard did not pass (``error.verdict`` says why).
        """
        lead_id = self._current("Scenario.move")
        self._funnel.move(lead_id, to, by=by, reason=reason, override=override)
        return self

    # -- Expectations ----------------------------------------------------------------

    def expect_stage(self, name: str) -> Self:
        """Expect the lead to be in stage *name*.

        Raises:
            AssertionError: it is in another stage.
            ValidationError: no lead yet, or *name* is not a stage of the
                policy (a typo fails loudly).
        """
        owner = "Scenario.expect_stage"
        lead_id = self._current(owner)
        _check_stage(self.policy, name, owner=owner, field="name")
        found = self._funnel.state(lead_id).stage
        if found != name:
            self._fail(lead_id, f"expected stage {name!r}, found {found!r}")
        return self

    def expect_score(
        self,
        *,
        total: object = None,
        fit: object = None,
        engagement: object = None,
        **dimensions: object,
    ) -> Self:
        """Expect the lead's score, as of now, in the dimensions named.

        Each expected value is a number, equal to the score to the millionth
        (scores are whole millionths: a difference of at most half a
        millionth is float noise), or an object compared with ``==``, such as
        ``pytest.approx(45, abs=0.5)`` for points that decay with time.
        ``None`` checks nothing. ``total`` is fit plus engagement.

        Raises:
            AssertionError: a dimension differs; every one named is shown.
            ValidationError: no lead yet, nothing expected, a dimension the
                scoring model does not have, a text or bool
                value, or a number that is not finite (NaN, infinity).
        """
        owner = "Scenario.expect_score"
        lead_id = self._current(owner)
        model = self.policy.scoring
        known = ("total", *model.dimensions)
        for name in dimensions:
            if name not in known:
                raise ValidationError(
                    owner=owner,
                    field="dimensions",
                    value=name,
                    expected=(
                        f"a dimension of the scoring model {model.name!r}: "
                        f"{', '.join(known)}"
                    ),
                )
        wanted = {
            name: value
            for name, value in {
                "total": total,
                "fit": fit,
                "engagement": engagement,
                **dimensions,
            }.items()
            if value is not None
        }
        if not wanted:
            raise ValidationError(
                owner=owner,
                field="dimensions",
                value={},
                expected=f"at least one expected value: {', '.join(known)}",
            )
        for name, value in wanted.items():
            if isinstance(value, str | bool | bytes) or not _finite(value):
                raise ValidationError(
                    owner=owner,
                    field=name,
                    value=value,
                    expected=(
                        "a finite number, or a matcher such as pytest.approx(45, abs=1)"
                    ),
                )
        score = self._funnel.score(lead_id, at=self._when(lead_id))
        found = {name: score[name] for name in wanted}
        if not all(_equal(value, found[name]) for name, value in wanted.items()):
            self._fail(
                lead_id,
                "expected "
                + " and ".join(f"{name} {value!r}" for name, value in wanted.items())
                + "; found "
                + " and ".join(
                    f"{name} {_num(value)}" for name, value in found.items()
                ),
            )
        return self

    def expect_grade(self, letter: str) -> Self:
        """Expect the lead's fit grade, as of now, to be *letter*.

        Raises:
            AssertionError: the grade differs.
            ValidationError: no lead yet, or *letter* is not one of the
                scoring model's grades.
        """
        owner = "Scenario.expect_grade"
        lead_id = self._current(owner)
        _check_grade(self.policy, letter, owner=owner, field="letter")
        found = self._funnel.score(lead_id, at=self._when(lead_id)).grade
        if found != letter:
            self._fail(lead_id, f"expected grade {letter!r}, found {found!r}")
        return self

    def expect_breach(self, sla: str) -> Self:
        """Expect the lead to have breached the SLA rule *sla*, at any time so far.

        Raises:
            AssertionError: it did not.
            ValidationError: no lead yet, or *sla* is not a rule of the policy.
        """
        return self._expect_sla(sla, SlaBreached, "Scenario.expect_breach")

    def expect_warning(self, sla: str) -> Self:
        """Expect the lead to have been warned by the SLA rule *sla* so far.

        Raises:
            AssertionError: it was not.
            ValidationError: no lead yet, or *sla* is not a rule of the policy.
        """
        return self._expect_sla(sla, SlaWarning, "Scenario.expect_warning")

    def expect_met(self, sla: str) -> Self:
        """Expect the lead to have met the SLA rule *sla* so far, on time or late.

        Pair it with :meth:`expect_no_breach` to expect it met on time.

        Raises:
            AssertionError: it was not met.
            ValidationError: no lead yet, or *sla* is not a rule of the policy.
        """
        return self._expect_sla(sla, SlaMet, "Scenario.expect_met")

    def expect_no_breach(self, sla: str | None = None) -> Self:
        """Expect no breach so far of the SLA rule *sla* (of any rule by default).

        Raises:
            AssertionError: there was one.
            ValidationError: no lead yet, or *sla* is not a rule of the policy.
        """
        owner = "Scenario.expect_no_breach"
        lead_id = self._current(owner)
        if sla is not None:
            _check_sla(self.policy, sla, owner=owner)
        breaches = [
            event
            for event in self._events_of(lead_id)
            if isinstance(event, SlaBreached) and sla in {None, event.timer.rule}
        ]
        if breaches:
            what = "no breach" if sla is None else f"no breach of SLA {sla!r}"
            found = ", ".join(
                f"{event.timer.rule} breached {_moment(event.at, self._zone)}"
                for event in breaches
            )
            self._fail(lead_id, f"expected {what}; found {found}")
        return self

    # -- Helpers -----------------------------------------------------------------------

    def _current(self, owner: str) -> str:
        """The lead a step acts on, once the funnel has caught up with now.

        Scenarios of one test share a clock: another's ``at`` or ``advance``
        moves this one's now, and its timers fall due as if it had ticked.
        """
        if self._lead is None:
            raise ValidationError(
                owner=owner,
                field="lead",
                value=None,
                expected="a lead to act on: call lead() first",
            )
        self._funnel.tick(self.now)
        return self._lead

    def _events_of(self, lead_id: str) -> tuple[Event, ...]:
        return tuple(event for event in self._events if event.lead_id == lead_id)

    def _when(self, lead_id: str) -> datetime:
        """Now, or the lead's last update if a direct call put it later."""
        return max(self.now, self._funnel.state(lead_id).updated_at, key=in_utc)

    def _ticked(self, before: datetime) -> Self:
        """Tick the funnel at the time just set; if the tick fails, go back to *before*.

        The tick is one transaction: when it raises, the funnel is as it was,
        and so must the clock be (a later step would run at a time the funnel
        never reached). A subscriber's error comes after the tick's change
        was committed: that tick happened, and the time stays.
        """
        try:
            self._funnel.tick(self.now)
        except SubscriberError:
            raise
        except BaseException:
            self._clock.set(before)
            raise
        return self

    def _advance(self, value: object, shown: object, *, owner: str, field: str) -> None:
        """Move the clock by *value* on the policy's calendar; errors show *shown*."""
        try:
            self._clock.advance(value, calendar=self.policy.calendar)  # type: ignore[arg-type] # the clock checks it
        except ValidationError as error:
            if error.field == "calendar":
                expected = (
                    "wall-clock time: the policy has no calendar to count business time"
                )
            else:  # the clock's own words, but for its hint to use set()
                expected = _DURATION if error.expected == _DELTA else error.expected
            raise ValidationError(
                owner=owner, field=field, value=shown, expected=expected
            ) from None

    def _expect_sla(self, sla: str, wanted: type[Event], owner: str) -> Self:
        lead_id = self._current(owner)
        _check_sla(self.policy, sla, owner=owner)
        events = [
            event
            for event in self._events_of(lead_id)
            if isinstance(event, _TimerEvent) and event.timer.rule == sla
        ]
        if not any(isinstance(event, wanted) for event in events):
            if events:
                found = "; ".join(
                    f"{_TIMER_WORDS[type(event)]} {_moment(event.at, self._zone)}"
                    for event in events
                )
            else:
                stage = next(
                    rule.stage for rule in self.policy.slas if rule.name == sla
                )
                found = f"no timer (the lead has not entered {stage!r})"
            self._fail(
                lead_id, f"expected SLA {sla!r} {_TIMER_WORDS[wanted]}; found {found}"
            )
        return self

    def _fail(self, lead_id: str, headline: str) -> NoReturn:
        __tracebackhide__ = True  # pytest shows the expectation, not this helper
        raise AssertionError(
            headline
            + "\n\n"
            + _explain(
                self._funnel,
                lead_id,
                self._events_of(lead_id),
                self._when(lead_id),
                self._zone,
            )
        )


_TIMER_WORDS: Mapping[type[Event], str] = {
    SlaStarted: "started",
    SlaWarning: "warned",
    SlaBreached: "breached",
    SlaMet: "met",
    SlaCancelled: "cancelled",
    SlaPaused: "paused",
    SlaResumed: "resumed",
}


# -- Table tests ---------------------------------------------------------------------


def _case_owner(instance: Case) -> str:
    name = instance.name
    return f"Case {name!r}" if isinstance(name, str) and name.strip() else "Case"


def _activities(value: object) -> object:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return tuple(value)
    return value  # for the validator to reject


def _check_case_lead(
    instance: Case, attribute: attrs.Attribute[Lead], value: object
) -> None:
    if not isinstance(value, Lead):
        raise ValidationError(
            owner=_case_owner(instance),
            field=attribute.name,
            value=value,
            expected="a funnelkit.Lead",
        )


def _check_case_activities(
    instance: Case, attribute: attrs.Attribute[tuple[Activity, ...]], value: object
) -> None:
    owner = _case_owner(instance)
    if not isinstance(value, tuple):
        raise ValidationError(
            owner=owner,
            field=attribute.name,
            value=value,
            expected="a sequence of funnelkit.Activity",
        )
    lead = instance.lead
    for position, activity in enumerate(value):
        field = f"{attribute.name}[{position}]"
        if not isinstance(activity, Activity):
            raise ValidationError(
                owner=owner,
                field=field,
                value=activity,
                expected="a funnelkit.Activity",
            )
        if activity.lead_id != lead.id:
            raise ValidationError(
                owner=owner,
                field=field,
                value=activity,
                expected=f"an activity of the case's lead {lead.id!r}",
            )


def _check_case_text(
    instance: Case, attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(
            owner=_case_owner(instance),
            field=attribute.name,
            value=value,
            expected="a non-empty string, or None",
        )


def _check_case_at(
    instance: Case, attribute: attrs.Attribute[datetime | None], value: object
) -> None:
    if value is None:
        return
    owner = _case_owner(instance)
    at = require_aware(value, field=attribute.name, owner=owner)
    latest = max(
        (instance.lead.created_at, *(activity.at for activity in instance.activities)),
        key=in_utc,
    )
    if in_utc(at) < in_utc(latest):
        raise ValidationError(
            owner=owner,
            field=attribute.name,
            value=value,
            expected=(
                "a time no earlier than the lead's creation and its activities, "
                f"{latest.isoformat()}"
            ),
        )


@attrs.frozen
class Case:
    """One row of a table test: a lead, what it did, what the policy should make of it.

    Args:
        lead: The lead (a :class:`~funnelkit.Lead`).
        activities: Its activities (each of this lead), in any order: they
            are recorded in time order, those of one instant in the order
            given.
        expect_stage: The stage the lead should be in, or ``None``.
        expect_grade: Its fit grade, or ``None``. A case expects at least one.
        at: When to judge: the funnel is ticked to this time, so SLA timers
            and time-sensitive guards play. By default the latest of the
            lead's creation and its activities; never earlier than those.
        name: The case's name in mismatches and errors (its position in the
            table by default).

    Raises:
        ValidationError: a bad field, an activity of another lead, an *at*
            before the lead's creation or activities, or a case expecting
            nothing; the error's owner names the case.
    """

    lead: Lead = attrs.field(validator=_check_case_lead)
    activities: tuple[Activity, ...] = attrs.field(
        default=(), converter=_activities, validator=_check_case_activities
    )
    expect_stage: str | None = attrs.field(
        default=None, kw_only=True, validator=_check_case_text
    )
    expect_grade: str | None = attrs.field(
        default=None, kw_only=True, validator=_check_case_text
    )
    at: datetime | None = attrs.field(
        default=None, kw_only=True, validator=_check_case_at
    )
    name: str | None = attrs.field(
        default=None, kw_only=True, validator=_check_case_text
    )

    def __attrs_post_init__(self) -> None:
        if self.expect_stage is None and self.expect_grade is None:
            raise ValidationError(
                owner=_case_owner(self),
                field="expect_stage",
                value=None,
                expected=(
                    "an expect_stage or an expect_grade (a case that expects "
                    "nothing checks nothing)"
                ),
            )


def _case_label(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if not (isinstance(value, str) and value) and not (
        type(value) is int and value >= 0
    ):
        reject(instance, attribute, value, "a case's name, or its position (0 or more)")


def _compared(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if type(value) is not str or value not in {"stage", "grade"}:
        reject(instance, attribute, value, "'stage' or 'grade'")


@attrs.frozen(kw_only=True)
class Mismatch:
    """A case of :func:`check_policy` whose outcome differs from what it expected.

    Attributes:
        case: The case's name, or its position in the table when it has none.
        field: What differs: ``"stage"`` or ``"grade"``.
        expected: What the case expected.
        found: What the policy made of the lead.
        explanation: The lead's timeline, its score ledger, and the verdict of
            each move out of its stage (``str()`` shows it; the repr leaves it
            out).
    """

    case: str | int = attrs.field(validator=_case_label)
    field: Literal["stage", "grade"] = attrs.field(validator=_compared)
    expected: str = attrs.field(validator=instance_of(str, "a string"))
    found: str = attrs.field(validator=instance_of(str, "a string"))
    explanation: str = attrs.field(repr=False, validator=instance_of(str, "a string"))

    def __str__(self) -> str:
        return (
            f"case {self.case!r}: expected {self.field} {self.expected!r}, "
            f"found {self.found!r}\n{_indent(self.explanation, 2)}"
        )


def check_policy(policy: FunnelPolicy, cases: Iterable[Case]) -> list[Mismatch]:
    """Run every case on a fresh funnel of *policy*; return every mismatch.

    Each case gets its own :class:`~funnelkit.Funnel` and
    :class:`~funnelkit.testing.ManualClock`: the lead is added at its
    creation, its activities are recorded in time order (the clock following
    them), and the funnel is ticked to the case's ``at``; then the stage and
    the fit grade (scored at ``at``) are compared with the expected ones.

    Returns:
        One :class:`Mismatch` per field that differs, in case order (stage
        before grade); an empty list when the policy does what every case
        expects.

    Raises:
        ValidationError: *policy* is not a policy, an item is not a
            :class:`Case`, or a case expects a stage or grade the policy does
            not have (the error's owner names the case). Every case is
            checked before any runs.
        Exception: whatever a case raised while it ran (a
            :class:`~funnelkit.errors.PolicyError` for automatic moves that go round
            a cycle, a guard's own error) keeps its type and gains a note
            naming the case.
    """
    if not isinstance(policy, FunnelPolicy):
        raise ValidationError(
            owner="check_policy",
            field="policy",
            value=policy,
            expected="a funnelkit.FunnelPolicy",
        )
    table = list(
        check_items(
            cases,
            owner="check_policy",
            field="cases",
            expected="an iterable of funnelkit.testing.Case",
        )
    )
    for position, case in enumerate(table):
        if not isinstance(case, Case):
            raise ValidationError(
                owner="check_policy",
                field=f"cases[{position}]",
                value=case,
                expected="a funnelkit.testing.Case",
            )
        owner = f"check_policy cases[{position}]" + (
            f" ({case.name!r})" if case.name else ""
        )
        if case.expect_stage is not None:
            _check_stage(policy, case.expect_stage, owner=owner, field="expect_stage")
        if case.expect_grade is not None:
            _check_grade(policy, case.expect_grade, owner=owner, field="expect_grade")
    found: list[Mismatch] = []
    for position, case in enumerate(table):
        label: str | int = position if case.name is None else case.name
        try:
            found += _run_case(policy, case, label)
        except Exception as error:
            error.add_note(f"in check_policy case {label!r}")
            raise
    return found


def _run_case(policy: FunnelPolicy, case: Case, label: str | int) -> list[Mismatch]:
    lead = case.lead
    clock = ManualClock(lead.created_at)
    funnel = Funnel(policy, clock=clock)
    events: list[Event] = []
    funnel.subscribe(events.append)
    funnel.add_lead(lead)
    # By instant; those of one instant in the order given (sorted is stable).
    for activity in sorted(case.activities, key=_by_instant):
        clock.set(max(clock.now(), activity.at, key=in_utc))
        funnel.record(activity)
    at = case.at or clock.now()
    clock.set(at)
    funnel.tick(at)
    state = funnel.state(lead.id)
    # Every activity is at or before *at* (Case checks it), and so is the tick.
    found = {"stage": state.stage, "grade": funnel.score(lead.id, at=at).grade}
    expected = {"stage": case.expect_stage, "grade": case.expect_grade}
    fields: tuple[Literal["stage", "grade"], ...] = ("stage", "grade")
    wrong = [
        field
        for field in fields
        if expected[field] is not None and expected[field] != found[field]
    ]
    if not wrong:
        return []
    explanation = _explain(funnel, lead.id, events, at, _zone(None, policy))
    return [
        Mismatch(
            case=label,
            field=field,
            expected=str(expected[field]),
            found=found[field],
            explanation=explanation,
        )
        for field in wrong
    ]


def _by_instant(activity: Activity) -> datetime:
    return in_utc(activity.at)


# -- Checks shared by the scenario and the table ------------------------------------


def _zone(value: object, policy: FunnelPolicy) -> tzinfo:
    if value is None:
        calendar = policy.calendar
        return UTC if calendar is None else ZoneInfo(calendar.timezone)
    if isinstance(value, tzinfo):
        return value
    if is_zone_name(value):
        return ZoneInfo(value)  # type: ignore[arg-type] # a zone's name
    raise ValidationError(
        owner="Scenario",
        field="timezone",
        value=value,
        expected="an IANA time zone name such as 'Europe/Berlin', a tzinfo, or None",
    )


def _instant(value: object, zone: tzinfo, *, owner: str, field: str) -> datetime:
    """Read an aware datetime, or ISO text local to *zone* unless it has an offset."""
    if isinstance(value, datetime):
        return require_aware(value, field=field, owner=owner)
    if isinstance(value, str):
        text = value.strip()
        try:
            found = _fromisoformat(text)
        except ValueError:
            pass
        else:
            if "." in text or "," in text:
                # Read as funnelkit's JSON reads a fraction: Python alone
                # would move the instant, or drop an offset's fraction.
                try:
                    found = _fractions(found, text)
                except _TimeTextError as error:
                    raise ValidationError(
                        owner=owner, field=field, value=value, expected=error.expected
                    ) from None
            if found.tzinfo is None:
                found = found.replace(tzinfo=zone)
            try:  # checked as a datetime given is: in the years 1 to 9999 in UTC
                return require_aware(found, field=field, owner=owner)
            except ValidationError as error:
                raise ValidationError(
                    owner=owner, field=field, value=value, expected=error.expected
                ) from None
    expected = _WHEN if field == "when" else _INSTANT
    raise ValidationError(owner=owner, field=field, value=value, expected=expected)


def _check_stage(policy: FunnelPolicy, name: object, *, owner: str, field: str) -> None:
    stages = [stage.name for stage in policy.stages]
    if name not in stages:
        raise ValidationError(
            owner=owner,
            field=field,
            value=name,
            expected=f"a stage of the policy {policy.label!r}: {', '.join(stages)}",
        )


def _check_grade(
    policy: FunnelPolicy, letter: object, *, owner: str, field: str
) -> None:
    letters = [known for known, _ in policy.scoring.grades.fit]
    if letter not in letters:
        raise ValidationError(
            owner=owner,
            field=field,
            value=letter,
            expected=(
                f"a fit grade of the scoring model {policy.scoring.name!r}: "
                f"{', '.join(letters)}"
            ),
        )


def _check_sla(policy: FunnelPolicy, sla: object, *, owner: str) -> None:
    names = [rule.name for rule in policy.slas]
    if sla not in names:
        raise ValidationError(
            owner=owner,
            field="sla",
            value=sla,
            expected=(
                f"an SLA rule of the policy {policy.label!r}: "
                f"{', '.join(names) or 'it has none'}"
            ),
        )


def _finite(value: object) -> bool:
    """Whether *value*, if a number, is one a score can equal (not NaN, not huge)."""
    if not isinstance(value, int | float | Decimal):
        return True  # a matcher, compared with ==
    try:
        return math.isfinite(float(value))
    except (OverflowError, ValueError):  # too large for a float; a signalling NaN
        return False


def _equal(expected: object, found: float) -> bool:
    if isinstance(expected, int | float | Decimal):
        return math.isclose(found, float(expected), rel_tol=0, abs_tol=_TOLERANCE)
    return expected == found


# -- The explanation of a failure -----------------------------------------------------


def _explain(
    funnel: Funnel,
    lead_id: str,
    events: Sequence[Event],
    when: datetime,
    zone: tzinfo,
) -> str:
    """The lead's timeline, score ledger, and the moves out of its stage, as text."""
    state = funnel.state(lead_id)
    lines = [
        (
            f"lead {lead_id!r} in stage {state.stage!r} at {_moment(when, zone)}, "
            f"policy {funnel.policy.label!r}"
        ),
        "",
        "timeline:",
    ]
    for event in events:
        line = _timeline_line(event, zone)
        if line is not None:
            lines.append(f"  {_moment(event.at, zone)}  {line}")
            if isinstance(event, StageChanged) and event.record.verdict is not None:
                lines.append(_indent(event.record.verdict.explain(), 6))
    lines += ["", "score:", _indent(funnel.score(lead_id, at=when).explain(), 2), ""]
    moves = funnel.available_moves(lead_id, at=when)
    if moves:
        lines.append(f"moves out of {state.stage!r}:")
        for target, verdict in moves.items():
            lines.append(f"  to {target}:")
            lines.append(_indent(verdict.explain(), 4))
    else:
        lines.append(f"moves out of {state.stage!r}: none")
    return "\n".join(lines)


def _timeline_line(event: Event, zone: tzinfo) -> str | None:
    """One event as a line of the timeline; ``None`` for the ones it leaves out."""
    if isinstance(event, LeadAdded | LeadUpdated):
        verb = "added" if isinstance(event, LeadAdded) else "updated"
        return f"lead {verb}" + _details(event.lead.attributes)
    if isinstance(event, ActivityRecorded):
        activity = event.activity
        return f"did {activity.kind}" + _details(activity.properties)
    if isinstance(event, StageChanged):
        return _move_line(event.record)
    if isinstance(event, _TimerEvent):
        line = f"SLA {event.timer.rule} {_TIMER_WORDS[type(event)]}"
        if isinstance(event, SlaStarted | SlaResumed):
            line += f", due {_moment(event.timer.deadline, zone)}"
        elif isinstance(event, SlaBreached) and event.escalate_to is not None:
            line += f", escalated to {event.escalate_to}"
        elif isinstance(event, SlaMet) and event.timer.late:
            line += " late"
        return line
    return None  # score changes: the ledger shows the score


def _move_line(record: TransitionRecord) -> str:
    if record.source is None:
        line = f"entered {record.target}"
    else:
        line = f"{record.source} -> {record.target}"
    line += f" by {record.by}"
    if record.override:
        line += " (override)"
    if record.reason is not None:
        line += f", reason {record.reason!r}"
    return line


def _details(values: Mapping[str, Any]) -> str:
    if not values:
        return ""
    return " (" + ", ".join(f"{key}={value!r}" for key, value in values.items()) + ")"


def _moment(at: datetime, zone: tzinfo) -> str:
    """An instant as people read it: ``Mon 2026-03-02 09:00 UTC``."""
    local = at.astimezone(zone)
    text = local.strftime("%a %Y-%m-%d %H:%M")
    if local.microsecond:
        text += local.strftime(":%S.%f")
    elif local.second:
        text += local.strftime(":%S")
    return f"{text} {local.tzname()}"


def _indent(text: str, width: int) -> str:
    return textwrap.indent(text, " " * width)
