"""The engine: moves leads through a policy's funnel as their inputs arrive."""

from __future__ import annotations

import inspect
import math
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from funnelkit._calendar import BusinessCalendar
from funnelkit._criteria import (
    Context,
    CriterionLike,
    Doomed,
    TransitionRecord,
    Verdict,
    _earliest,
    _join,
    checked,
    judge,
    passer,
    passes,
    sure_to_fail,
    timed,
)
from funnelkit._events import (
    ActivityRecorded,
    AddLead,
    Event,
    Input,
    LeadAdded,
    LeadState,
    LeadUpdated,
    Move,
    PauseTimer,
    ResumeTimer,
    ScoreChanged,
    SlaBreached,
    SlaCancelled,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
    StageChanged,
    Tick,
    UpdateLead,
)
from funnelkit._lead import Activity, Lead, with_in_time_order
from funnelkit._policy import FunnelPolicy, Transition
from funnelkit._scoring import (
    Score,
    ScoreRead,
    ScoreState,
    _held_dimensions,
    score_of,
)
from funnelkit._sla import EXIT, Escalate, MoveTo, SlaRule, SlaTimer, _new_timer
from funnelkit._store import Commit, HeldRead, InMemoryStore, Store, _Recorded
from funnelkit._store import new_state as _new_state  # one filler class for LeadState
from funnelkit._time import Clock, SystemClock, in_utc, require_aware
from funnelkit._validators import check_count, check_items, unchecked
from funnelkit.errors import (
    FunnelkitError,
    GuardFailed,
    IllegalTransition,
    PolicyError,
    PolicyMismatch,
    SubscriberError,
    UnknownLead,
    ValidationError,
)
from funnelkit.serialization import to_json

#: An event type a caller keeps (see Funnel._feed_alone).
EventT = TypeVar("EventT", bound=Event)

__all__ = ["Funnel"]

#: How many wakes in a row that change nothing one call follows for one lead
#: before it jumps to its instant (a criterion that keeps asking to be woken);
#: and how many in all, however many changed something.
_MAX_WAKES = 100
_MAX_STEPS = 100_000

#: The actor name of the moves the policy makes by itself.
AUTO = "auto"

_INF = math.inf

# Constructors of values whose fields the engine made or checked itself: they
# skip attrs' checks, which cost more than the rest of a move.
_new_commit = unchecked(Commit)
_new_context = unchecked(Context)
_new_move = unchecked(Move)
_new_record = unchecked(TransitionRecord)
_new_score_changed = unchecked(ScoreChanged)
_new_stage_changed = unchecked(StageChanged)
_new_recorded = unchecked(ActivityRecorded)
_new_lead_added = unchecked(LeadAdded)
_new_add_lead = unchecked(AddLead)
_new_started = unchecked(SlaStarted)
_new_cancelled = unchecked(SlaCancelled)
_new_met = unchecked(SlaMet)
_new_warning = unchecked(SlaWarning)
_new_breached = unchecked(SlaBreached)


def _tick_order(event: Event) -> tuple[datetime, str]:
    """Where a tick puts an event: by instant, then by lead."""
    return event.at.astimezone(UTC), event.lead_id


_RLOCK = type(threading.RLock())
_utc = operator.methodcaller("astimezone", UTC)  # in_utc, without a Python call


def _kept(items: list[SlaTimer], read: tuple[SlaTimer, ...]) -> tuple[SlaTimer, ...]:
    """*read* if *items* holds the same objects, in order; else a tuple of *items*.

    A lead's state keeps its timers' tuple through the calls that change no
    timer: a new one each call would be one more object for the garbage
    collector to walk, for as long as the state lives.
    """
    if len(items) != len(read):
        return tuple(items)
    for item, before in zip(items, read, strict=True):
        if item is not before:
            return tuple(items)
    return read


class _Subscription:
    """One subscriber's callback, active until its unsubscribe is called.

    Compared by identity: the same callback subscribed twice is two
    subscriptions, each ended by its own unsubscribe.
    """

    __slots__ = ("active", "callback")

    def __init__(self, callback: Callable[[Event], object]) -> None:
        self.callback = callback
        self.active = True


class _Draft:
    """One lead's state while a call works on it; committed only if all goes well."""

    __slots__ = (
        "activities",
        "entered_at",
        "events",
        "history",
        "lead",
        "read_timers",
        "score",
        "scorer",
        "stage",
        "timers",
        "updated_at",
        "wake",
    )

    def __init__(  # noqa: PLR0913, PLR0917 -- a lead's state, field by field
        self,
        lead: Lead,
        stage: str,
        entered_at: datetime,
        score: Score | None,
        history: tuple[TransitionRecord, ...],
        updated_at: datetime,
        activities: tuple[Activity, ...],
        scorer: ScoreState,
        wake: datetime | None,
        timers: tuple[SlaTimer, ...] = (),
    ) -> None:
        self.lead = lead
        self.stage = stage
        self.entered_at = entered_at
        self.score = score
        self.history = history
        self.updated_at = updated_at
        self.activities = activities
        self.scorer = scorer
        self.wake = wake
        self.timers = list(timers)
        # As read: the state keeps this tuple when the call changes no timer.
        self.read_timers = timers
        self.events: list[Event] = []

    def state(self) -> LeadState:
        assert self.score is not None  # noqa: S101 -- every draft is scored once
        timers = self.read_timers
        if timers or self.timers:  # most leads have none: no call
            timers = _kept(self.timers, timers)
        return _new_state(
            self.lead,
            self.stage,
            self.entered_at,
            self.score,
            self.history,
            self.updated_at,
            len(self.activities),
            timers,
        )

    def context(self, now: datetime) -> Context:
        assert self.score is not None  # noqa: S101 -- every draft is scored once
        # The engine checked every field.
        return _new_context(
            self.lead,
            self.stage,
            self.entered_at,
            self.score,
            self.activities,
            self.history,
            now,
            self.scorer,
        )


def _read_changed(
    state: LeadState | _Recorded, dimensions: Mapping[str, float]
) -> bool:
    """Whether a read's *dimensions* differ from the score of *state*, as held."""
    previous = state.score  # None: held as a read (see _Recorded)
    before = (
        state.dimensions  # type: ignore[union-attr] # a _Recorded's
        if previous is None
        else _held_dimensions(previous)
    )
    return dimensions is not before and dimensions != before


def _held_changed(
    state: LeadState | _Recorded, at: datetime, score: Score | HeldRead
) -> ScoreChanged:
    """The event of a quick call that changed the lead's score, *state* as held.

    A held state's previous score is its read, and the new *score* may be
    held as score_of's arguments: the event makes each when read
    (funnelkit._events._score_worded).
    """
    previous = state.score  # None: held as a read
    return _new_score_changed(
        state.lead.id,
        at,
        score,
        state.held_read() if previous is None else previous,  # type: ignore[union-attr] # a _Recorded's
    )


def _scored(scorer: ScoreState, at: datetime, read: ScoreRead) -> Score:
    """The score of *scorer*'s *read* at *at*, made (see score_of)."""
    return score_of(
        scorer._model.name,  # noqa: SLF001 -- the engine's own scorer
        scorer._lead.id,  # noqa: SLF001 -- as above
        scorer._notes,  # noqa: SLF001 -- as above
        scorer._context,  # noqa: SLF001 -- as above
        at,
        read,
    )


def _quick_draft(  # noqa: PLR0913, PLR0917 -- the quick way's parts
    state: LeadState | _Recorded,
    score: Score,
    at: datetime,
    activities: tuple[Activity, ...],
    scorer: ScoreState,
    was: datetime | None,
    events: list[Event],
) -> _Draft:
    """The lead a quick call read (*state*, as held), as the usual way drafts it.

    Scored *at* (*score*, which its *scorer* keeps as read then), with
    *activities*, its wake *was*, and the call's *events* so far: for the
    usual way's steps to take on from.
    """
    scorer._last = score  # noqa: SLF001 -- the engine's own scorer
    draft = _Draft(
        state.lead,
        state.stage,
        state.entered_at,
        score,
        state.history,
        at,
        activities,
        scorer,
        was,
        state.timers,
    )
    draft.events = events
    return draft


_INPUT_TYPES = (Activity, AddLead, UpdateLead, Move, Tick, PauseTimer, ResumeTimer)


def _same_lead(known: Lead, lead: Lead) -> bool:
    """Whether *lead* is *known* exactly: equal, and alike in JSON.

    Python finds ``True == 1 == 1.0``, and an instant equal to itself in
    another zone; scoring and the lead's JSON tell those apart, so a lead
    that differs only so is a changed lead.
    """
    return known == lead and to_json(known) == to_json(lead)


#: What the quick move reads of a pair of stages (see _quick_moves): the
#: moves between them, their judges (None unless every guard reads only the
#: lead), and whether entering the target starts timers or automatic moves.
_QuickMove = tuple[
    tuple[Transition, ...],
    tuple[tuple[Transition, Callable[[Lead], Verdict]], ...] | None,
    bool,
]


def _quick_moves(
    policy: FunnelPolicy, entering: Callable[[str], bool]
) -> dict[tuple[str, str], _QuickMove]:
    """Index the policy's moves for the quick move, by source and target.

    With each pair's moves, their guards' judges when every one reads only
    the lead (see funnelkit._criteria.judge: the quick move asks them
    without a context, and so without a score made for one), and whether
    *entering* the target has steps to take (timers, automatic moves).
    """
    found: dict[tuple[str, str], _QuickMove] = {}
    for pair, candidates in policy._between.items():  # noqa: SLF001 -- the engine reads the policy's index
        judges = [judge(transition.guard) for transition in candidates]
        found[pair] = (
            candidates,
            None if None in judges else tuple(zip(candidates, judges, strict=True)),  # type: ignore[arg-type] # no None among them
            entering(pair[1]),
        )
    return found


def _auto_guards(
    policy: FunnelPolicy,
) -> tuple[
    dict[str, tuple[tuple[Transition, Callable[[Context], bool]], ...]],
    dict[str, tuple[CriterionLike, ...]],
]:
    """Index the policy's automatic transitions for the engine, by stage.

    Returns each stage's, with its guard's quick answer (see passer); and the
    guards among them that time alone may make pass, the only ones asked for
    a wake (when all fail).
    """
    autos = policy._autos  # noqa: SLF001 -- the engine reads the policy's index
    tries = {
        stage: tuple((transition, passer(transition.guard)) for transition in found)
        for stage, found in autos.items()
    }
    waking = {
        stage: tuple(
            transition.guard
            for transition in found
            if timed(transition.guard, policy.scoring, passed=False)
        )
        for stage, found in autos.items()
    }
    return tries, waking


def _doomed_tries(
    policy: FunnelPolicy,
    tries: dict[str, tuple[tuple[Transition, Callable[[Context], bool]], ...]],
    timed: dict[str, tuple[CriterionLike, ...]],
) -> dict[str, Doomed | None]:
    """Index, by stage, a test true when every automatic move out of it surely fails.

    For the quick record, which then asks no guard (see sure_to_fail): None
    for a stage with a guard it cannot tell about, and for one with a guard
    that time alone may make pass, whose wake is asked only with a context.
    """
    doomed: dict[str, Doomed | None] = {}
    for stage, found in tries.items():
        doomed[stage] = (
            None
            if timed[stage]
            else sure_to_fail(
                [transition.guard for transition, _ in found], policy.scoring
            )
        )
    return doomed


class Funnel:
    """Moves leads through a policy's funnel: the one stateful object.

    Args:
        policy: The funnel's :class:`FunnelPolicy`.
        store: Where the state lives (an :class:`InMemoryStore` by default):
            any object with every method of the :class:`Store` protocol; one
            that lacks some raises :class:`~funnelkit.errors.ValidationError`
            naming them. A store's ``lock``, if it gives one, must be a
            ``threading.RLock``: the funnel locks with it (see :class:`Store`),
            and another kind of lock is refused the same way.
        clock: Where "now" comes from when a call does not say
            (:class:`SystemClock` by default; tests pass a ``ManualClock``).
        create_leads: Whether an activity for an unknown lead creates it
            (created at the activity's time, with no attributes) instead of
            raising :class:`~funnelkit.errors.UnknownLead`.
        calendar_for: The business calendar of a lead's SLA timers, chosen
            per lead (the owner's team and its time zone): a function of the
            lead returning a :class:`BusinessCalendar`, or ``None`` for the
            policy's. A rule's own calendar comes first. A replay needs the
            same function to give the same deadlines.
        accept_policy_change: Whether to go on with a store last written
            under another policy (by fingerprint). By default opening such a
            store raises :class:`~funnelkit.errors.PolicyMismatch`, so that a
            changed policy is a decision, not an accident; once accepted, the
            next change records the new fingerprint and wakes every lead at
            its last update, for the next tick to check under the new guards;
            a lead in a stage the new policy lacks raises
            :class:`~funnelkit.errors.PolicyError`. (A policy with a custom
            criterion that is not an attrs class, or a decay or value test
            of your own, has no fingerprint: the check is skipped.)
        scorers: How many leads' scorers the funnel keeps between calls (a
            scorer holds a lead's running sums, so that its next activity
            costs the same however long its history): the least recently
            used are dropped first, and rebuilt from the store's activities
            when next needed, with the same results. ``None`` (the default):
            as many as the store keeps decoded, its ``cache_size`` when it
            has one (:class:`SQLiteStore`), else every lead
            (:class:`InMemoryStore`, which keeps every lead in memory anyway).
            A :meth:`tick` (and :meth:`overdue`, which scans every lead)
            keeps none of the scorers it has to rebuild for the leads it
            wakes (after a restart, thousands, which may see no input for
            long): the lead's next call rebuilds it, and keeps it.

    Every call that changes state checks everything first and commits once:
    a call that raises changes nothing. Calls from several threads are
    serialised, and the store's input log is the order they took effect in.
    Subscribers are called after the commit, one event at a time (in a
    store's batch, once the batch is written).

    >>> from datetime import UTC, datetime
    >>> from funnelkit import Activity, Lead, policies
    >>> from funnelkit.testing import ManualClock
    >>> t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    >>> funnel = Funnel(policies.b2b_saas(), clock=ManualClock(t0))
    >>> _ = funnel.add_lead(Lead("L-1", t0, attributes={"industry": "software"}))
    >>> funnel.state("L-1").stage
    'lead'
    >>> funnel
    <funnelkit.Funnel policy='b2b-saas@1' leads=1 open_timers=0>
    """

    __slots__ = (
        "_accepting",
        "_after_batch",
        "_batch_events",
        "_batch_ticked",
        "_bounded",
        "_calendar_for",
        "_clock",
        "_commits",
        "_create_leads",
        "_delivering",
        "_doomed",
        "_fingerprint",
        "_in_memory",
        "_lock",
        "_logged_tick",
        "_met_by_criteria",
        "_met_timed",
        "_open_timers",
        "_outbox",
        "_policy",
        "_quick",
        "_rules",
        "_scorers",
        "_scorers_kept",
        "_slas",
        "_stages",
        "_store",
        "_subscribers",
        "_ticked",
        "_timed",
        "_tries",
        "_waiting",
    )

    def __init__(  # noqa: PLR0913, PLR0915 -- the funnel's options, and its indexes of the policy
        self,
        policy: FunnelPolicy,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        create_leads: bool = False,
        calendar_for: Callable[[Lead], BusinessCalendar | None] | None = None,
        accept_policy_change: bool = False,
        scorers: int | None = None,
    ) -> None:
        if not isinstance(policy, FunnelPolicy):
            raise ValidationError(
                owner="Funnel",
                field="policy",
                value=policy,
                expected="a funnelkit.FunnelPolicy",
            )
        # Every method of the Store protocol, callable (isinstance with a
        # runtime protocol checks only that the names exist).
        missing = (
            []
            if store is None
            else [n for n in _STORE_METHODS if not callable(getattr(store, n, None))]
        )
        if missing:
            raise ValidationError(
                owner="Funnel",
                field="store",
                value=store,
                expected="a store (see funnelkit.Store), or None for memory: it "
                f"lacks {', '.join(missing)}",
            )
        store_lock = _store_lock(store)
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise ValidationError(
                owner="Funnel",
                field="clock",
                value=clock,
                expected="a clock with a now() method, or None for the system's",
            )
        _check_flag(create_leads, "create_leads")
        self._policy = policy
        # The in-memory store's transaction does nothing: record skips it.
        self._in_memory = store is None or type(store) is InMemoryStore
        # The policy's stages by name, read for every lead drafted.
        self._stages = policy._by_name  # noqa: SLF001 -- the engine reads the policy's index
        self._store: Store = InMemoryStore() if store is None else store
        self._clock: Clock = SystemClock() if clock is None else clock
        if calendar_for is not None and not callable(calendar_for):
            raise ValidationError(
                owner="Funnel",
                field="calendar_for",
                value=calendar_for,
                expected="a function of a lead returning a BusinessCalendar, or None",
            )
        _check_flag(accept_policy_change, "accept_policy_change")
        scorers = _scorer_bound(scorers, self._store)
        self._fingerprint = _fingerprint(policy)
        stored = self._store.written_under()
        if (
            stored is not None
            and self._fingerprint is not None
            and stored != self._fingerprint
            and not accept_policy_change
        ):
            raise PolicyMismatch(
                policy=policy.label, stored=stored, current=self._fingerprint
            )
        # Under a changed policy the stored wakes are the old guards': the
        # change that first writes the new fingerprint wakes every lead at
        # its last update (see _migration), whichever funnel makes it, and
        # again if a batch holding it is rolled back.
        self._accepting = accept_policy_change and self._fingerprint is not None
        if (
            stored is not None
            and self._fingerprint is not None
            and stored != self._fingerprint
        ):
            with self._store.transaction():
                self._migration(check=True)
        self._create_leads = create_leads
        self._calendar_for = calendar_for
        # Running SLA timers, counted for the repr on first use.
        self._open_timers: int | None = None
        self._lock = threading.RLock() if store_lock is None else store_lock
        self._subscribers: list[_Subscription] = []
        # The last tick the store logged, if it keeps it (so that a batch
        # rolled back forgets it too), and the funnel's last tick that found
        # nothing due (not logged), or any, for a store that keeps none.
        found = getattr(self._store, "last_tick", None)
        self._logged_tick: Callable[[], datetime | None] | None = (
            found if callable(found) else None
        )
        self._ticked: datetime | None = None
        # The events of calls committed and not yet given to the subscribers,
        # who get them once the store's transaction has ended (so that they
        # may call the funnel), in commit order; and whether they are being
        # given (a subscriber's own call leaves its events to that loop).
        self._outbox: list[list[Event]] = []
        self._delivering = False
        # How many changes the store took, so that a call can tell whether
        # its transaction failed after its commit.
        self._commits = 0
        # Whether the store holds the calls' changes in a batch, to be
        # written (or rolled back) at its end, when it calls _batch_ended.
        found_after = getattr(self._store, "after_batch", None)
        self._after_batch: Callable[[Callable[[bool], None]], bool] | None = (
            found_after if callable(found_after) else None
        )
        self._waiting = False
        self._batch_events = 0
        self._batch_ticked: datetime | None = None
        # Incremental scorers, rebuilt from the store when missing or stale.
        # Bounded: at most _scorers_kept (0: no bound), least recently used
        # first, in _bounded, which is then the same mapping as _scorers.
        self._scorers_kept = 0 if scorers is None else scorers
        self._bounded: OrderedDict[str, ScoreState] | None = (
            None if scorers is None else OrderedDict()
        )
        self._scorers: dict[str, ScoreState] = (
            {} if self._bounded is None else self._bounded
        )
        # The SLA rules by name, and by the stage whose entry starts them.
        self._rules = {rule.name: rule for rule in policy.slas}
        self._slas: dict[str, tuple[SlaRule, ...]] = {
            stage: tuple(rule for rule in policy.slas if rule.stage == stage)
            for stage in dict.fromkeys(rule.stage for rule in policy.slas)
        }
        # Whether a rule is met by a criterion, which each evaluation asks.
        self._met_by_criteria = any(
            not isinstance(rule.met_by, str | frozenset) for rule in policy.slas
        )
        # The rules met by a criterion that time alone may make pass: a lead
        # is woken when one could meet a timer of its (see _met_wake).
        self._met_timed = {
            rule.name: rule.met_by
            for rule in policy.slas
            if not isinstance(rule.met_by, str | frozenset)
            and timed(rule.met_by, policy.scoring, passed=False)
        }
        self._tries, self._timed = _auto_guards(policy)
        self._doomed = _doomed_tries(policy, self._tries, self._timed)
        self._quick = _quick_moves(
            policy, lambda stage: stage in self._slas or bool(self._tries[stage])
        )

    def __repr__(self) -> str:
        with self._lock:
            if self._open_timers is None:  # counted once, then kept up to date
                self._open_timers = sum(
                    _open(self._store.state(lead_id))
                    for lead_id in self._store.lead_ids()
                )
            return (
                f"<funnelkit.Funnel policy={self._policy.label!r} "
                f"leads={len(self._store)} open_timers={self._open_timers}>"
            )

    @property
    def policy(self) -> FunnelPolicy:
        """The funnel's policy."""
        return self._policy

    @property
    def store(self) -> Store:
        """Where the funnel keeps its state."""
        return self._store

    def __len__(self) -> int:
        """The number of leads."""
        return len(self._store)

    def __contains__(self, lead_id: object) -> bool:
        """Whether the funnel has a lead with this id."""
        return isinstance(lead_id, str) and self._store.state(lead_id) is not None

    # -- Inputs ------------------------------------------------------------------

    def add_lead(self, lead: Lead) -> list[Event]:
        """Add *lead*: it enters the initial stage at its ``created_at``.

        Automatic moves whose guards pass follow at once (a lead whose fit
        alone qualifies it). Adding a lead equal to one already there does
        nothing and returns no events.

        Raises:
            ValidationError: *lead* is not a Lead, or another lead has its id
                (change a lead with :meth:`update_lead`).
        """
        candidate: object = lead  # callers may pass anything at run time
        if not isinstance(candidate, Lead):
            _check_lead(candidate, "Funnel.add_lead")
        return self._call(lambda: self._add_lead(lead))

    def update_lead(self, lead: Lead, *, at: datetime | None = None) -> list[Event]:
        """Replace what is known of a lead (matched by id) as of *at*.

        The fit score follows the new attributes, and automatic moves are
        checked again. *at* defaults to the clock's now, or the lead's last
        update if that is later. An unchanged lead returns no events.

        Raises:
            UnknownLead: no lead has the id.
            ValidationError: *lead* is not a Lead, or *at* is naive or before
                the lead's last update.
        """
        _check_lead(lead, "Funnel.update_lead")

        def work() -> list[Event]:
            state = self._known(lead.id)
            when = self._resolve(at, state, "Funnel.update_lead")
            return self._update_lead(state, lead, when)

        return self._call(work)

    def record(self, activity: Activity) -> list[Event]:
        """Record one of a lead's activities, and move the lead if it qualifies.

        A second activity with an id the lead has seen returns no events and
        changes nothing. An activity older than the lead's last update
        still counts in the score; the guards are checked at the later of
        the two instants, so the history stays in time order.

        Raises:
            UnknownLead: the lead is unknown (unless ``create_leads``).
            ValidationError: *activity* is not an Activity.
            PolicyError: automatic moves went round a cycle.
        """
        if not isinstance(activity, Activity):
            raise ValidationError(
                owner="Funnel.record",
                field="activity",
                value=activity,
                expected="a funnelkit.Activity",
            )
        # _call, written out as in move: the partial it takes would cost a
        # record 2% more instructions.
        lock = self._lock
        lock.acquire()  # not `with`: see _call
        try:
            # As in _call: the mark made only if the call fails.
            outbox, commits, ticked = len(self._outbox), self._commits, self._ticked
            try:
                if self._in_memory:  # whose transaction does nothing: not even called
                    events = self._record_quick(activity)
                else:
                    with self._store.transaction():
                        events = self._record(activity, create=self._create_leads)
            except BaseException:
                self._lost((outbox, commits, ticked))
                raise
            if self._outbox:
                self._deliver()
            return events
        finally:
            lock.release()

    def move(  # noqa: PLR0913 -- the move's parts, all keyword-only but the lead
        self,
        lead_id: str,
        to: str,
        *,
        by: str,
        reason: str | None = None,
        at: datetime | None = None,
        override: bool = False,
    ) -> list[Event]:
        """Move a lead to stage *to*, as a person asked.

        Args:
            lead_id: The lead.
            to: The stage to move it to.
            by: Who asks (a rep, a manager, a system); ``"auto"`` is the
                policy's own name and cannot be used.
            reason: Why; required by transitions marked ``requires_reason``
                (one of their ``reasons`` codes, when they have them), and by
                an override.
            at: When; the clock's now by default (or the lead's last update,
                if that is later).
            override: Force the move past a failing guard. The history
                records who forced it, why, and the verdict it overrode.

        When several transitions lead from the stage to *to*, the first whose
        guard passes is taken. Automatic moves out of *to* follow.

        Raises:
            UnknownLead: no lead has the id.
            ValidationError: a bad argument, or a missing or unknown reason.
            IllegalTransition: the policy has no move from the lead's stage
                to *to*.
            GuardFailed: the guard did not pass; ``error.verdict`` says why.
        """
        if not (
            # The usual case, checked with few calls: a stage's name is no
            # blank, and the other checks pass.
            type(lead_id) is str
            and type(to) is str
            and type(by) is str
            and to in self._policy._by_name  # noqa: SLF001 -- the engine reads the policy's index
            and lead_id.strip()
            and by.strip()
            and by != AUTO
            and reason is None
            and override is False
        ):
            self._check_move(lead_id, to, by, reason, override)
        # _call, written out: a closure would cost a move 4% more instructions.
        lock = self._lock
        lock.acquire()  # not `with`: see _call
        try:
            # As in _call: the mark made only if the call fails.
            outbox, commits, ticked = len(self._outbox), self._commits, self._ticked
            try:
                if self._in_memory:  # whose transaction does nothing: not even entered
                    events = self._move_quick(lead_id, to, by, reason, at, override)
                else:
                    with self._store.transaction():
                        events = self._move(lead_id, to, by, reason, at, override)
            except BaseException:
                self._lost((outbox, commits, ticked))
                raise
            if self._outbox:
                self._deliver()
            return events
        finally:
            lock.release()

    def _check_move(
        self, lead_id: str, to: str, by: str, reason: str | None, override: bool
    ) -> None:
        """Check move's arguments, in order.

        Raises:
            ValidationError: the first that is bad.
        """
        _check_name(lead_id, "lead_id", "Funnel.move")
        _check_name(to, "to", "Funnel.move")
        _check_name(by, "by", "Funnel.move")
        if by == AUTO:
            raise ValidationError(
                owner="Funnel.move",
                field="by",
                value=by,
                expected="the name of who asks ('auto' names the policy's own moves)",
            )
        if reason is not None:
            _check_name(reason, "reason", "Funnel.move")
        if type(override) is not bool:
            raise ValidationError(
                owner="Funnel.move",
                field="override",
                value=override,
                expected="True or False",
            )
        if to not in self._policy._by_name:  # noqa: SLF001 -- the engine reads the policy's index
            self._policy_stage(to, "Funnel.move")

    def _move(  # noqa: PLR0913, PLR0917 -- move's arguments, checked
        self,
        lead_id: str,
        to: str,
        by: str,
        reason: str | None,
        at: datetime | None,
        override: bool,
    ) -> list[Event]:
        """Move the lead as move does, in the store's transaction (if any)."""
        state = self._store.state(lead_id)
        if state is None:
            raise UnknownLead(lead_id=lead_id)
        when = self._resolve(at, state, "Funnel.move")
        move = _new_move(lead_id, to, by, when, reason, override)
        try:
            draft = self._moved(state, move)
        except BaseException:
            self._scorers.pop(lead_id, None)  # the work may have fed it
            raise
        return self._commit_draft(move, draft)

    def _move_quick(  # noqa: C901, PLR0912, PLR0913, PLR0915, PLR0917 -- the hot path, flat for speed
        self,
        lead_id: str,
        to: str,
        by: str,
        reason: str | None,
        at: datetime | None,
        override: bool,
    ) -> list[Event]:
        """Move as _move does, on the in-memory store, without a draft.

        For the usual move: no reason and no override, of a known lead whose
        scorer is kept and fresh, to a stage the policy's moves lead to from
        its own, not due before the move (no timer falls due, no guard's
        wake comes, on the way). A move that starts, meets or cancels timers,
        or after which automatic moves may follow, takes the usual way's
        steps from the verdict found here (_enter, _settle). Anything else
        goes the usual way. The same events and state for fewer calls.
        """
        store: InMemoryStore = self._store  # type: ignore[assignment] # _in_memory
        # InMemoryStore._for_record's reads, written out: a call less a move.
        state = store._states.get(lead_id)  # noqa: SLF001 -- the engine's own store
        scorer = self._scorers.get(lead_id)
        if (
            state is None
            or reason is not None
            or override
            or self._accepting
            or scorer is None
            or scorer._lead is not state.lead  # noqa: SLF001 -- the engine's own scorers
            or scorer._count != state.activities  # noqa: SLF001 -- as above
            # None also for a stage the policy lacks (left by another's funnel).
            or (quick := self._quick.get((stage := state.stage, to))) is None
            or ((timers := state.timers) and not self._kept_rules(timers))
        ):
            return self._move(lead_id, to, by, reason, at, override)
        updated = state.updated_at
        if not (
            # _resolve's checks, written out for instants in UTC.
            type(at) is datetime
            and at.tzinfo is UTC
            and updated.tzinfo is UTC
            and at >= updated
        ):
            at = self._resolve(at, state, "Funnel.move")
        number = store._numbers.get(lead_id)  # noqa: SLF001 -- as above
        was = None if number is None else store._wake_at[number]  # noqa: SLF001 -- as above
        # Due by the move: the usual way catches the lead up first.
        if was is not None and was.astimezone(UTC) <= at.astimezone(UTC):
            return self._move(lead_id, to, by, reason, at, override)
        if self._bounded is not None:  # the last used: kept longest
            self._bounded.move_to_end(lead_id)
        lead = state.lead
        try:
            # _rescore, written out.
            still = scorer._still  # noqa: SLF001 -- the engine's own scorer
            score = None
            events: list[Event] = []
            if (
                still is not None
                and state.score is None  # held as a read (see _Recorded)
                and state.dimensions is still[0]
                and state.rules is still[4]
                # Held, the parts were read no earlier than they hold from
                # (still[5]): the state's update, no later than the move.
                and (still[6] == _INF or at.timestamp() < still[6])
            ):
                # The state holds the read the scorer keeps while nothing is
                # added and its points hold still: the score has not changed.
                read = None
            else:
                read = scorer._read(at.timestamp())  # noqa: SLF001 -- as above
                if _read_changed(state, read[0]):
                    score = _scored(scorer, at, read)
                    events.append(_held_changed(state, at, score))
            candidates, judges, entering = quick
            if judges is not None:
                # Guards that read only the lead: asked without a context,
                # the first alone when it passes (most moves have one).
                transition: Transition | None
                transition, judged = judges[0]
                verdict = judged(lead)
                if not verdict.passed:
                    transition, verdict = _first_judged(judges, lead, stage, to)
            else:
                if score is None:
                    score = _scored(
                        scorer,
                        at,
                        read or scorer._read(at.timestamp()),  # noqa: SLF001 -- the kept parts, at the move
                    )
                held = store._activities.get(lead_id)  # noqa: SLF001 -- as above
                ctx = _new_context(
                    lead,
                    stage,
                    state.entered_at,
                    score,
                    () if held is None else tuple(held),
                    state.history,
                    at,
                    scorer,
                )
                transition, verdict = _first_passing(candidates, ctx, to)
            if transition is None:
                raise GuardFailed(  # noqa: TRY301 -- the scorer goes below, as in _move
                    lead_id=lead_id, source=stage, target=to, verdict=verdict
                )
            # transition.needs_reason, read without the property's call.
            if transition.requires_reason or transition.reasons:
                _check_reason(transition, None, overridden=False)
            if timers or entering:
                if score is None:
                    score = _scored(
                        scorer,
                        at,
                        read or scorer._read(at.timestamp()),  # noqa: SLF001 -- the kept parts, at the move
                    )
                held = store._activities.get(lead_id)  # noqa: SLF001 -- as above
                activities = () if held is None else tuple(held)
                draft = _quick_draft(state, score, at, activities, scorer, was, events)
                self._enter(draft, to, at, by=by, verdict=verdict)
                self._settle(draft, at)
                return self._commit_draft(
                    _new_move(lead_id, to, by, at, None, False), draft
                )
            moved = _new_stage_changed(
                lead_id, _new_record(stage, to, at, by, None, verdict, False)
            )
            events.append(moved)
            # The scorer's last score, of an earlier instant, would live on
            # beside the held read (a quick record's first rule met drops it).
            scorer._last = None  # noqa: SLF001 -- as above
        except BaseException:
            self._scorers.pop(lead_id, None)  # the work may have fed it
            raise
        store._moved(state, scorer, read, moved, was, self._fingerprint)  # noqa: SLF001 -- the engine's own store
        self._commits += 1
        if self._subscribers:
            self._outbox.append(events)
        return events

    def tick(self, now: datetime | None = None) -> list[Event]:
        """Re-check the leads whose time-sensitive guards may have changed by *now*.

        Costs in proportion to the leads due, not to the number of leads.
        Each due lead is checked at the instants its guards named, in order,
        so the result does not depend on how often the host ticks. A tick
        earlier than one before it does nothing and returns no events: the
        funnel's own last tick, or the last its store logged (after a
        restart).

        Raises:
            NaiveDatetimeError: *now* has no time zone.
        """
        return self._call(lambda: self._tick(self._at_or_now(now, "Funnel.tick")))

    def pause_timer(
        self, lead_id: str, rule: str, *, at: datetime | None = None
    ) -> list[Event]:
        """Pause the lead's running timer of *rule* (waiting on the customer).

        A paused timer neither warns nor breaches; it can still be met.

        Raises:
            UnknownLead: no lead has the id.
            ValidationError: the lead has no running timer of *rule*, it is
                paused already, or *at* is bad.
        """
        return self._pause_or_resume(lead_id, rule, at, pause=True)

    def resume_timer(
        self, lead_id: str, rule: str, *, at: datetime | None = None
    ) -> list[Event]:
        """Resume a paused timer: its deadline moves by the time it was paused.

        Business time for a business rule: what was left of it when paused
        counts again from *at*.

        Raises:
            UnknownLead: no lead has the id.
            ValidationError: the lead has no paused timer of *rule*, or *at*
                is bad.
        """
        return self._pause_or_resume(lead_id, rule, at, pause=False)

    def replay(self, inputs: Iterable[Input]) -> list[Event]:
        """Feed another funnel's input log (:meth:`inputs`) into this one.

        With the same policy, an empty funnel ends in the same states and
        returns the same events as the original calls did. An activity of a
        lead the log has not added was recorded by a funnel that creates
        leads on first activity (``create_leads``): replayed, it creates the
        lead too, whether or not this funnel does.

        Every item is checked to be an input before any is applied; then each
        is applied as its own call, as it was first made. An item that fails
        then (under another policy, a guard the original passed) raises that
        call's error, with a note naming its position: the items before it
        stay applied, and the funnel is as it was after them. Subscribers
        that raise stop no item: each item stands, and once all were applied
        the replay raises one :class:`~funnelkit.errors.SubscriberError`
        holding every error and the events it would have returned.

        Raises:
            ValidationError: *inputs* is not an iterable of inputs (nothing
                was applied).
            SubscriberError: subscribers raised (every item was applied).
        """
        items = list(
            check_items(
                inputs,
                owner="Funnel.replay",
                field="inputs",
                expected="an iterable of inputs (Funnel.inputs())",
            )
        )
        for index, item in enumerate(items):
            if not isinstance(item, _INPUT_TYPES):
                raise ValidationError(
                    owner="Funnel.replay",
                    field=f"inputs[{index}]",
                    value=item,
                    expected=(
                        "an input: AddLead, UpdateLead, Activity, Move, Tick, "
                        "PauseTimer or ResumeTimer"
                    ),
                )
        events: list[Event] = []
        failed: list[Exception] = []
        for index, item in enumerate(items):
            try:
                events += self._replay_one(item)
            except SubscriberError as error:
                # The item stands: its subscribers' errors are raised at the end.
                events += error.events
                failed += error.exceptions
            except FunnelkitError as error:
                error.add_note(
                    f"replaying inputs[{index}]; the {index} before it were applied"
                )
                if failed:
                    count = len(failed)
                    error.add_note(
                        f"subscribers raised {count} error{'s' if count > 1 else ''} "
                        "before it: " + "; ".join(repr(each) for each in failed)
                    )
                raise
        if failed:
            count = len(failed)
            raise SubscriberError(
                f"{count} subscriber call{'s' if count > 1 else ''} failed "
                "after the change was committed",
                failed,
                events,
            )
        return events

    def _feed_alone(
        self,
        items: Iterable[Lead | Activity],
        kinds: tuple[type[EventT], ...],
    ) -> list[EventT]:
        """Add the leads and record the activities as their calls would.

        Returns the events of the calls that are of *kinds*. Only for a
        funnel that no one else holds, with no subscribers and an in-memory
        store (a backtest's own): the calls go without what other callers
        need, the lock taken each time, the store's transaction and the
        delivery. A failing call raises, and the funnel is left as that
        call left it (its owner drops it).
        """
        found: list[EventT] = []
        outbox = self._outbox
        add, record, create = self._add_lead, self._record, self._create_leads
        with self._lock:
            for item in items:
                if isinstance(item, Lead):
                    events = add(item)
                else:
                    events = record(item, create=create)
                outbox.clear()  # no one to give them to
                for event in events:
                    if isinstance(event, kinds):
                        found.append(event)  # noqa: PERF401 -- no comprehension's frame per call
        return found

    def _totals_alone(self, wanted: Iterable[tuple[str, datetime]]) -> dict[str, float]:
        """Each lead's total score at its instant, as :meth:`score` gives it.

        For the funnel :meth:`_feed_alone` fed: a lead's scorer, kept
        fresh, is read without a draft of the lead.
        """
        totals: dict[str, float] = {}
        scorers = self._scorers
        with self._lock:
            for lead_id, at in wanted:
                state = self._known(lead_id)
                scorer = scorers.get(lead_id)
                if (
                    scorer is None
                    or scorer._lead is not state.lead  # noqa: SLF001 -- the engine's own scorers
                    or scorer._count != state.activities  # noqa: SLF001 -- as above
                ):
                    scorer = self._draft(state, None).scorer
                totals[lead_id] = scorer.score(at).total
        return totals

    def _replay_one(self, item: Input) -> list[Event]:  # noqa: PLR0911 -- one per kind
        """Apply one input of a log as the call that made it."""
        if isinstance(item, Activity):
            return self._call(partial(self._record, item, create=True))
        if isinstance(item, AddLead):
            return self.add_lead(item.lead)
        if isinstance(item, UpdateLead):
            return self.update_lead(item.lead, at=item.at)
        if isinstance(item, Move):
            return self.move(
                item.lead_id,
                item.to,
                by=item.by,
                reason=item.reason,
                at=item.at,
                override=item.override,
            )
        if isinstance(item, Tick):
            return self.tick(item.now)
        if isinstance(item, PauseTimer):
            return self.pause_timer(item.lead_id, item.rule, at=item.at)
        return self.resume_timer(item.lead_id, item.rule, at=item.at)  # ResumeTimer

    def subscribe(self, callback: Callable[[Event], object]) -> Callable[[], None]:
        """Call *callback* with every event, after its change is committed.

        Returns a function that ends this subscription: the callback gets no
        event after it returns, not even the rest of the events being given
        (a subscriber may unsubscribe itself, or another, from its call);
        calling it again does nothing, and a callback subscribed twice keeps
        its other subscription. A subscriber that raises does
        not undo the change nor stop the others: after all were called, the
        call raises :class:`~funnelkit.errors.SubscriberError` holding every
        error and the events. Subscribers run once the store's transaction
        has ended, while the funnel is still locked, so they see events in
        commit order. They may call the funnel: such a call commits in a
        transaction of its own, and its events reach every subscriber after
        those of the call that led to it.

        Raises:
            ValidationError: *callback* is not callable, or is an async
                function, whose coroutines no one would await.
        """
        if not callable(callback):
            raise ValidationError(
                owner="Funnel.subscribe",
                field="callback",
                value=callback,
                expected="a callable taking one event",
            )
        if inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(
            getattr(callback, "__call__", None)  # noqa: B004 -- an object's own async __call__
        ):
            # Called, it would make a coroutine that no one awaits: the events
            # would be lost, with at most a warning when it is collected.
            raise ValidationError(
                owner="Funnel.subscribe",
                field="callback",
                value=callback,
                expected="a plain (not async) callable taking one event; to "
                "handle events in an event loop, hand them over from a plain "
                "one (loop.call_soon_threadsafe, a queue)",
            )
        # One entry per subscription: a callback subscribed twice is called
        # twice, and each unsubscribe ends its own subscription only.
        subscription = _Subscription(callback)
        with self._lock:
            self._subscribers.append(subscription)

        def unsubscribe() -> None:
            with self._lock:
                if subscription.active:
                    subscription.active = False
                    self._subscribers.remove(subscription)

        return unsubscribe

    # -- Questions ---------------------------------------------------------------

    def state(self, lead_id: str) -> LeadState:
        """Return the lead's state.

        Raises:
            UnknownLead: no lead has the id.
        """
        with self._lock:
            return self._known(lead_id)

    def timers(
        self, lead_id: str, *, at: datetime | None = None
    ) -> tuple[SlaTimer, ...]:
        """Return the lead's SLA timers as they stand at *at* (the clock's now).

        Warnings and breaches due by then count, as a tick would give them;
        nothing changes.

        Raises:
            UnknownLead: no lead has the id.
            ValidationError: *at* is naive or before the lead's last update.
        """
        with self._lock:
            state = self._known(lead_id)
            when = self._resolve(at, state, "Funnel.timers")
            return tuple(self._judged(state, when).timers)

    def overdue(self, now: datetime | None = None) -> list[tuple[str, SlaTimer]]:
        """Return ``(lead_id, timer)`` for every running timer past its deadline.

        As of *now* (the clock's by default), in deadline order; nothing
        changes. It reads every lead's timers: a question for dashboards and
        reports, where :meth:`tick` is the call that costs only what is due.
        A lead that a funnel under another policy left in a stage this
        policy lacks is left out, as ticks leave it out.

        Raises:
            NaiveDatetimeError: *now* has no time zone.
        """
        with self._lock:
            when = self._at_or_now(now, "Funnel.overdue")
            found: list[tuple[str, SlaTimer]] = []
            for lead_id in self._store.lead_ids():
                state = self._store.state(lead_id)
                assert state is not None  # noqa: S101 -- the store lists its leads
                wake = self._store.wake(lead_id)
                # Only a lead already overdue, or due to change by then, can be.
                if (wake is None or in_utc(wake) > in_utc(when)) and not _overdue(
                    state.timers, when
                ):
                    continue
                if state.stage not in self._stages:
                    # Left there under another policy: its own calls say so,
                    # and a tick leaves it out (see _ticked_leads).
                    continue
                latest = max(when, state.updated_at, key=in_utc)
                # A scan, as a tick is: the scorers it rebuilds are let go.
                timers = self._judged(state, latest, keep=False).timers
                found += [(lead_id, timer) for timer in _overdue(timers, when)]
            return sorted(found, key=lambda item: (in_utc(item[1].deadline), item[0]))

    def score(self, lead_id: str, *, at: datetime | None = None) -> Score:
        """Return the lead's score at *at* (the clock's now by default).

        Raises:
            UnknownLead: no lead has the id.
            NaiveDatetimeError: *at* has no time zone.
        """
        with self._lock:
            state = self._known(lead_id)
            when = (
                self._now()
                if at is None
                else require_aware(at, field="at", owner="Funnel.score")
            )
            return self._draft(state, None).scorer.score(when)  # its scorer only

    def can_move(self, lead_id: str, to: str, *, at: datetime | None = None) -> Verdict:
        """Return whether a move to *to* would pass its guard now, and why.

        Asks without acting: the verdict fails, and says so, when the policy
        has no such move. Reasons are not checked (a move gives one).

        Raises:
            UnknownLead: no lead has the id.
            ValidationError: *to* is not a stage, or *at* is bad.
        """
        _check_name(to, "to", "Funnel.can_move")
        self._policy_stage(to, "Funnel.can_move")
        with self._lock:
            state = self._known(lead_id)
            when = self._resolve(at, state, "Funnel.can_move")
            return self._choose(self._judged(state, when), to, when)[2]

    def available_moves(
        self, lead_id: str, *, at: datetime | None = None
    ) -> Mapping[str, Verdict]:
        """Return each stage the lead can be moved to, with the guard's verdict.

        In the order the policy declares the transitions; a failing verdict
        says why that move would be refused.

        Raises:
            UnknownLead: no lead has the id.
        """
        with self._lock:
            state = self._known(lead_id)
            when = self._resolve(at, state, "Funnel.available_moves")
            draft = self._judged(state, when)
            return {
                target: self._choose(draft, target, when)[2]
                for target in self._policy.targets(draft.stage)
            }

    def inputs(self) -> tuple[Input, ...]:
        """Return the input log: every call that changed something, in order."""
        with self._lock:
            return tuple(self._store.inputs())

    # -- The calls' work -----------------------------------------------------------

    def _add_lead(self, lead: Lead) -> list[Event]:
        known = self._store.state(lead.id)
        if known is not None:
            if _same_lead(known.lead, lead):
                return []
            raise ValidationError(
                owner="Funnel.add_lead",
                field="lead",
                value=lead,
                expected=(
                    f"a lead with a new id (lead {lead.id!r} is in the funnel: "
                    "update_lead changes it)"
                ),
            )
        try:
            draft = self._new_draft(lead)
        except BaseException:
            self._scorers.pop(lead.id, None)  # the work may have made it
            raise
        return self._commit_draft(_new_add_lead(lead), draft)

    def _new_draft(self, lead: Lead) -> _Draft:
        scorer = self._rebuild(lead, ())
        initial = self._policy.initial
        at = lead.created_at
        record = _new_record(None, initial, at, AUTO, None, None, False)
        draft = _Draft(lead, initial, at, None, (record,), at, (), scorer, None)
        draft.events += (_new_lead_added(lead, at), _new_stage_changed(lead.id, record))
        if initial in self._slas:
            self._start_timers(draft, at)
        self._evaluate(draft, at)
        return draft

    def _update_lead(self, state: LeadState, lead: Lead, at: datetime) -> list[Event]:
        if _same_lead(state.lead, lead):
            return []

        def work() -> _Draft:
            draft = self._draft(state, self._store.wake(lead.id))
            self._catch_up(draft, at)
            draft.lead = lead
            draft.scorer = self._rebuild(lead, draft.activities)
            draft.events.append(LeadUpdated(lead, at))
            self._evaluate(draft, at)
            return draft

        return self._commit_draft(UpdateLead(lead, at), self._guarded(lead.id, work))

    def _record(self, activity: Activity, *, create: bool) -> list[Event]:
        lead_id = activity.lead_id
        store = self._store
        state = store.state(lead_id)
        if state is None:
            if not create:
                raise UnknownLead(lead_id=lead_id)
            lead = Lead(lead_id, activity.at)
        elif store.has_activity(lead_id, activity.id):
            return []
        try:
            draft = (
                self._new_draft(lead)
                if state is None
                else self._draft(state, store.wake(lead_id))
            )
            # A late arrival is judged as of the lead's last update.
            at = max(activity.at, draft.updated_at, key=_utc)
            if draft.wake is not None:
                self._catch_up(draft, at)
            draft.events.append(_new_recorded(activity))
            # ScoreState.add, less its check: the activity is the lead's.
            draft.scorer._add_at(activity, activity.at.timestamp())  # noqa: SLF001 -- the engine's own scorer
            draft.activities = with_in_time_order(draft.activities, activity)
            if draft.timers:  # most leads have none: no call
                self._meet_kinds(draft, activity, at)
            # _evaluate, written out: one call less for every record.
            self._rescore(draft, at)
            if draft.timers and self._met_by_criteria:
                self._meet_criteria(draft, at)
            self._settle(draft, at)
        except BaseException:
            self._scorers.pop(lead_id, None)  # the work may have fed it
            raise
        return self._commit_draft(activity, draft, activities=(activity,))

    def _record_quick(self, activity: Activity) -> list[Event]:  # noqa: C901, PLR0912, PLR0915 -- the hot path, flat for speed
        """Record as _record does, on the in-memory store, without a draft.

        For the usual record: a known lead whose scorer is kept and fresh,
        not due before the activity (no timer falls due, no guard's wake
        comes, on the way), whose timers the activity leaves as they are.
        The lead may move: the usual way takes the move on (_settle), from
        the score read here. Anything else goes the usual way. The same
        events and state for fewer calls: no draft, no commit object, and
        the store read and written in one call each.
        """
        store: InMemoryStore = self._store  # type: ignore[assignment] # _in_memory
        lead_id = activity.lead_id
        found = store._for_record(lead_id, activity.id)  # noqa: SLF001 -- the engine's own store
        if found is True:
            return []  # seen: nothing changes
        scorer = self._scorers.get(lead_id)
        if (
            found is False
            or self._accepting
            or scorer is None
            or scorer._lead is not (state := found[0]).lead  # noqa: SLF001 -- the engine's own scorers
            or scorer._count != state.activities  # noqa: SLF001 -- as above
            or (stage := state.stage) not in self._stages
            or ((timers := state.timers) and not self._quiet(timers, activity))
        ):
            return self._record(activity, create=self._create_leads)
        when = activity.at
        # In UTC (see in_utc); an instant in UTC already is its own, with no call.
        mine = when if when.tzinfo is UTC else when.astimezone(UTC)
        updated = state.updated_at
        if updated.tzinfo is not UTC:
            updated = updated.astimezone(UTC)
        was = found[2]
        # Due by the activity: the usual way catches the lead up first.
        if was is not None and (was if was.tzinfo is UTC else was.astimezone(UTC)) <= (
            mine if mine >= updated else updated  # noqa: FURB136 -- cheaper than max()
        ):
            return self._record(activity, create=self._create_leads)
        if self._bounded is not None:  # the last used: kept longest
            self._bounded.move_to_end(lead_id)
        held = found[1]
        # A late arrival is judged as of the lead's last update.
        at = when if mine >= updated else state.updated_at
        try:
            events: list[Event] = [_new_recorded(activity)]
            ts = when.timestamp()
            # Whether it goes after every activity the lead has (_not_before),
            # told by the scorer's latest instant, which has them all: a later
            # timestamp is a later instant. Only a tie (the same instant, or
            # two a float cannot tell apart, past the year 2200) compares the
            # last one exactly.
            newest = scorer._newest_ts  # noqa: SLF001 -- the engine's own scorer
            latest = ts > newest
            if ts == newest and held:  # a tie: the lead has activities
                last = held[-1]
                other = last.at
                if other.tzinfo is not UTC:
                    other = other.astimezone(UTC)
                latest = mine > other or (mine == other and activity.id >= last.id)
            scorer._add_at(activity, ts)  # noqa: SLF001 -- as above
            # _rescore, written out; the score made only if a guard or an
            # event needs it (see score_of).
            # At the activity's instant, read once, unless it is late.
            read = scorer._read(ts if at is when else at.timestamp())  # noqa: SLF001 -- as above
            model = scorer._model.name  # noqa: SLF001 -- as above
            notes = scorer._notes  # noqa: SLF001 -- as above
            context = scorer._context  # noqa: SLF001 -- as above
            if _read_changed(state, read[0]):
                # The new score as the arguments that make it, when read.
                events.append(
                    _held_changed(state, at, (model, lead_id, notes, context, at, read))
                )
            wake = None
            # A guard asked with the score made, unless every one surely fails.
            if (tries := self._tries[stage]) and (
                (doomed := self._doomed[stage]) is None
                or not doomed(read[0], read[1], activity, held)
            ):
                score = score_of(model, lead_id, notes, context, at, read)
                # with_in_time_order, written out; only the guards read it.
                activities: tuple[Activity, ...] = (
                    (activity,)
                    if not held
                    else (*held, activity)
                    if latest
                    else with_in_time_order(tuple(held), activity)
                )
                # The lead's history read only here: most records never touch it.
                ctx = _new_context(
                    state.lead,
                    stage,
                    state.entered_at,
                    score,
                    activities,
                    state.history,
                    at,
                    scorer,
                )
                for _, passing in tries:
                    if passing(ctx):
                        # A move: the usual way, which asks the guards again.
                        draft = _quick_draft(
                            state, score, at, activities, scorer, was, events
                        )
                        self._settle(draft, at)
                        return self._commit_draft(
                            activity, draft, activities=(activity,)
                        )
                if timed := self._timed[stage]:
                    wake = _earliest(timed, ctx, after=at)
        except BaseException:
            self._scorers.pop(lead_id, None)  # the work may have fed it
            raise
        if timers:  # _settle's wake: the activity left them as they were
            wake = _next_wake(timers, wake)
        store._recorded(  # noqa: SLF001 -- the engine's own store
            state,
            scorer,
            read,
            at,
            activity,
            held,
            latest,
            wake,
            was,
            self._fingerprint,
        )
        self._commits += 1
        if self._subscribers:
            self._outbox.append(events)
        return events

    def _moved(self, state: LeadState, move: Move) -> _Draft:
        """Draft the lead moved as *move* asks (see move), or raise why not."""
        at = move.at
        draft = self._judged(state, at)
        candidates, transition, verdict = self._choose(draft, move.to, at)
        if not candidates:
            raise IllegalTransition(
                lead_id=move.lead_id,
                source=draft.stage,
                target=move.to,
                allowed=self._policy.targets(draft.stage),
            )
        if transition is None:
            if not move.override:
                raise GuardFailed(
                    lead_id=move.lead_id,
                    source=draft.stage,
                    target=move.to,
                    verdict=verdict,
                )
            transition = candidates[0]
        overridden = not verdict.passed
        # transition.needs_reason, read without the property's call.
        if (
            move.reason is not None
            or overridden
            or transition.requires_reason
            or transition.reasons
        ):
            _check_reason(transition, move.reason, overridden=overridden)
        self._enter(
            draft,
            move.to,
            at,
            by=move.by,
            reason=move.reason,
            verdict=verdict,
            override=overridden,
        )
        self._settle(draft, at)
        return draft

    def _tick(self, now: datetime) -> list[Event]:
        last = self._ticked
        logged = self._logged_tick
        if logged is not None:
            found = logged()
            if found is not None and (last is None or _utc(found) > _utc(last)):
                last = found
        if last is not None and _utc(now) < _utc(last):
            return []  # time does not run back
        migration = self._migration() if self._accepting else None
        due = self._due_of(migration, now) if migration else self._store.due(now)
        if not due:
            if self._after_batch is not None and not self._waiting:
                # In a batch rolled back, this tick did not happen.
                self._join_batch(self._after_batch)
            self._ticked = now  # not in the log: kept here
            return []
        events, states, wakes, ordered = self._ticked_leads(
            due, now, check_order=not migration
        )
        # In time order (as instants: of two times in one zone, Python
        # compares the wall clocks, and the hour the clocks go back repeats),
        # then by lead, as ticks at every due instant would give them; the
        # sort is stable, so each lead's own events keep their order. Events
        # gathered in that order already (see _ticked_leads) stay as they are.
        if not ordered:
            events.sort(key=_tick_order)
        events = self._commit(
            _new_commit(Tick(now), tuple(states), (), tuple(wakes), self._fingerprint),
            events,
        )
        if logged is None:  # a store that keeps no last tick: kept here
            self._ticked = now
        return events

    def _ticked_leads(
        self, due: list[tuple[datetime, str]], now: datetime, *, check_order: bool
    ) -> tuple[list[Event], list[LeadState], list[tuple[str, datetime | None]], bool]:
        """Catch each due lead up to *now*: their events, new states and wakes.

        The last item: whether the events are in the tick's order already
        (see _tick), as they are when *check_order* holds, *due* runs by
        instant then by lead, and each lead's events come from one wake at
        its due instant (the usual tick). Else the tick sorts them.
        """
        events: list[Event] = []
        states: list[LeadState] = []
        wakes: list[tuple[str, datetime | None]] = []
        ordered = check_order
        previous: tuple[datetime, str] | None = None
        try:
            stages = self._policy._by_name  # noqa: SLF001 -- the engine reads the policy's index
            for wake, lead_id in due:
                state = self._store.state(lead_id)
                assert state is not None  # noqa: S101 -- the store woke a known lead
                if state.stage not in stages:
                    # Left there under another policy: its own calls say so
                    # (see _draft); the other leads' tick goes on.
                    wakes.append((lead_id, None))
                    continue
                # A scorer missing here is rebuilt for the tick and let go: the
                # leads a tick wakes (after a restart, thousands) may see no
                # input for long, and kept they would push out the scorers of
                # the leads being recorded and weigh on the garbage collector.
                draft = self._draft(state, wake, keep=False)
                if ordered:
                    key = (wake.astimezone(UTC), lead_id)  # _tick_order's key
                    ordered = (
                        not draft.events  # none from _draft, at its last update
                        and draft.wake is wake
                        and (previous is None or key > previous)
                    )
                    previous = key
                if self._catch_up(draft, now) != 1:
                    ordered = False
                # Only what the commit needs is kept: the draft and its lists
                # go at once (a thousand drafts held to the end would make the
                # garbage collector's young passes more and longer).
                events += draft.events
                states.append(draft.state())
                wakes.append((lead_id, draft.wake))
        except BaseException:
            for _, lead_id in due:
                self._scorers.pop(lead_id, None)
            raise
        return events, states, wakes, ordered

    # -- Steps -------------------------------------------------------------------

    def _guarded(self, lead_id: str, work: Callable[[], _Draft]) -> _Draft:
        """Run *work*; if it fails, forget the lead's scorer, which it may have fed."""
        try:
            return work()
        except BaseException:
            self._scorers.pop(lead_id, None)
            raise

    def _draft(
        self, state: LeadState, wake: datetime | None, *, keep: bool = True
    ) -> _Draft:
        """Draft the lead, whose next wake the store has as *wake*.

        A scorer rebuilt for the draft is kept for later calls unless *keep*
        is false (a tick's: see _tick); a stale one is then dropped.
        """
        lead = state.lead
        lead_id = lead.id
        if state.stage not in self._stages:
            raise self._lost_stage(lead_id, state.stage)
        if self._accepting and self._migrating():
            # The change it is part of wakes every lead at its last update
            # (see _migration): this lead too, whatever the store says.
            wake = state.updated_at
        # Read once, for the draft and a rebuilt scorer; a lead with none has
        # none to read (a tick's leads often).
        held = tuple(self._store.activities(lead_id)) if state.activities else ()
        # The lead's scorer, rebuilt from the store when missing or stale.
        scorer = self._scorers.get(lead_id)
        if (
            scorer is None
            or scorer._lead is not lead  # noqa: SLF001 -- the engine's own scorers
            or scorer._count != state.activities  # noqa: SLF001 -- as above
        ):
            if keep:
                scorer = self._rebuild(lead, held)
            else:
                if scorer is not None:  # stale: of use to no one
                    del self._scorers[lead_id]
                scorer = self._scorer(lead, held)
        elif self._bounded is not None:  # the last used: kept longest
            self._bounded.move_to_end(lead_id)
        draft = _Draft(
            lead,
            state.stage,
            state.entered_at,
            state.score,
            state.history,
            state.updated_at,
            held,
            scorer,
            wake,
            state.timers,
        )
        if state.timers:
            rules = self._rules
            for position, timer in enumerate(state.timers):
                if timer.is_open and timer.rule not in rules:
                    # Its rule left the policy (an accepted change): the
                    # timer ends where the old policy left the lead.
                    closed = timer.cancelled(state.updated_at)
                    draft.timers[position] = closed
                    draft.events.append(_new_cancelled(lead_id, closed))
        return draft

    def _judged(self, state: LeadState, at: datetime, *, keep: bool = True) -> _Draft:
        """Draft the lead, caught up with its wakes and scored at *at*.

        *keep*: whether to keep a scorer rebuilt for it (see _draft).
        """
        draft = self._draft(state, self._store.wake(state.lead.id), keep=keep)
        if draft.wake is not None:
            self._catch_up(draft, at)
        self._rescore(draft, at)
        return draft

    def _rebuild(self, lead: Lead, activities: Iterable[Activity]) -> ScoreState:
        """Make and keep a scorer of *lead* fed with *activities*."""
        scorer = self._scorer(lead, activities)
        self._scorers[lead.id] = scorer
        bounded = self._bounded
        if bounded is not None:
            bounded.move_to_end(lead.id)  # a stale one replaced: now the last used
            if len(bounded) > self._scorers_kept:
                bounded.popitem(last=False)
        return scorer

    def _scorer(self, lead: Lead, activities: Iterable[Activity]) -> ScoreState:
        """Make a scorer of *lead* fed with *activities*."""
        scorer = self._policy.scoring.scorer(lead)
        for activity in activities:
            scorer.add(activity)
        return scorer

    def _evaluate(self, draft: _Draft, at: datetime) -> None:
        """Score the lead at *at*, then make the automatic moves that pass."""
        self._rescore(draft, at)
        if draft.timers and self._met_by_criteria:
            self._meet_criteria(draft, at)
        self._settle(draft, at)

    def _rescore(self, draft: _Draft, at: datetime) -> None:
        """Score the lead at *at*, the instant of its update."""
        draft.updated_at = at
        score = draft.scorer.score(at)
        previous = draft.score
        # The grade and band follow the dimensions, under one model.
        if previous is None or (
            (dimensions := _held_dimensions(score))
            is not (before := _held_dimensions(previous))
            and dimensions != before
        ):
            draft.events.append(_new_score_changed(draft.lead.id, at, score, previous))
        draft.score = score

    def _settle(self, draft: _Draft, at: datetime) -> None:  # noqa: C901 -- the hot path, flat for speed
        """Follow the automatic moves whose guards pass, in declaration order.

        Then note the lead's next wake: when a guard of the stage it rests in
        can next pass on time alone.
        """
        tries = self._tries
        draft.wake = None
        if not tries[draft.stage] and not draft.timers:
            return  # nothing to follow, nothing to wait for
        limit = len(self._policy.stages)
        path = [draft.stage]
        while found := tries[draft.stage]:
            # draft.context(at), written out: one call less for every record.
            ctx = _new_context(
                draft.lead,
                draft.stage,
                draft.entered_at,
                draft.score,
                draft.activities,
                draft.history,
                at,
                draft.scorer,
            )
            for transition, passing in found:
                # Only the move made needs its verdict in words.
                if passing(ctx):
                    verdict = transition.guard.check(ctx)
                    if type(verdict) is not Verdict:
                        verdict = checked(transition.guard, verdict)
                    if verdict.passed:
                        break
            else:
                # Most stages' guards do not change with time alone: no call.
                if timed := self._timed[draft.stage]:
                    draft.wake = _earliest(timed, ctx, after=at)
                break
            if len(path) > limit:
                raise PolicyError(
                    owner=f"FunnelPolicy {self._policy.label!r}",
                    field="transitions",
                    value=" -> ".join((*path, transition.target)),
                    expected=(
                        "automatic transitions that come to rest: these went round "
                        "a cycle whose guards all pass"
                    ),
                )
            self._enter(draft, transition.target, at, by=AUTO, verdict=verdict)
            path.append(draft.stage)
        if draft.timers:
            draft.wake = _next_wake(draft.timers, draft.wake)
            if self._met_timed:
                draft.wake = self._met_wake(draft, at)

    def _met_wake(self, draft: _Draft, at: datetime) -> datetime | None:
        """The sooner of the lead's wake and when a criterion may meet its timer."""
        waiting = [
            met_by
            for timer in draft.timers
            if timer.is_open and (met_by := self._met_timed.get(timer.rule))
        ]
        found = _earliest(waiting, draft.context(at), after=at) if waiting else None
        if found is None or (
            draft.wake is not None and _utc(draft.wake) <= _utc(found)
        ):
            return draft.wake
        return found

    def _enter(  # noqa: PLR0913 -- a move's parts
        self,
        draft: _Draft,
        target: str,
        at: datetime,
        *,
        by: str,
        verdict: Verdict | None,
        reason: str | None = None,
        override: bool = False,
    ) -> None:
        record = _new_record(draft.stage, target, at, by, reason, verdict, override)
        # The move first, then what it did: the timers it met or cancelled,
        # and those the new stage starts.
        draft.events.append(_new_stage_changed(draft.lead.id, record))
        if draft.timers:
            self._close_timers(draft, at)
        draft.history = (*draft.history, record)
        draft.stage = target
        draft.entered_at = at
        if target in self._slas:
            self._start_timers(draft, at)
        elif draft.timers:
            draft.timers = []

    def _catch_up(self, draft: _Draft, until: datetime) -> int:
        """Check the lead at each of its wakes up to *until*, in order.

        Wakes that give events (timers falling due, moves) are followed
        however many there are, as ticks at each would; a run of wakes that
        change nothing is cut short (see _MAX_WAKES). Returns the number of
        wakes checked: with one, every event it gave is at the draft's wake
        (the lead's earliest due instant: its timers due then, its moves).
        """
        idle = steps = 0
        events = draft.events
        limit = until.astimezone(UTC)  # see in_utc
        while True:
            wake = draft.wake
            if wake is None or wake.astimezone(UTC) > limit:
                return steps
            if idle == _MAX_WAKES or steps == _MAX_STEPS:
                # A criterion keeps asking to be woken: judge once at *until*,
                # after which the next wake is later than *until*.
                wake = until
            before = len(events)
            if draft.timers:
                self._fire_timers(draft, wake)
            self._evaluate(draft, wake)
            # Progress: a timer or a move. A score that decays changes at
            # every wake, and would keep a restless criterion going.
            idle += 1
            for event in events[before:]:
                if type(event) is not ScoreChanged:
                    idle = 0
                    break
            steps += 1

    # -- SLA timers ------------------------------------------------------------

    def _pause_or_resume(
        self, lead_id: str, rule: str, at: datetime | None, *, pause: bool
    ) -> list[Event]:
        owner = "Funnel.pause_timer" if pause else "Funnel.resume_timer"
        _check_name(lead_id, "lead_id", owner)
        _check_name(rule, "rule", owner)

        def call() -> list[Event]:
            state = self._known(lead_id)
            when = self._resolve(at, state, owner)

            def work() -> _Draft:
                draft = self._judged(state, when)
                position = self._timer_of(draft, rule, owner, paused=not pause)
                timer = draft.timers[position]
                if pause:
                    changed = timer.paused(when)
                    draft.events.append(SlaPaused(lead_id, changed))
                else:
                    changed = self._resumed(draft, timer, when)
                    draft.events.append(SlaResumed(lead_id, changed, at=when))
                draft.timers[position] = changed
                self._settle(draft, when)
                return draft

            item = (PauseTimer if pause else ResumeTimer)(lead_id, rule, when)
            return self._commit_draft(item, self._guarded(lead_id, work))

        return self._call(call)

    def _timer_of(self, draft: _Draft, rule: str, owner: str, *, paused: bool) -> int:
        """The position of the lead's running timer of *rule*, paused or not."""
        for position, timer in enumerate(draft.timers):
            if timer.rule == rule and timer.is_open:
                if (timer.paused_at is not None) is paused:
                    return position
                found = "paused already" if timer.paused_at else "not paused"
                raise ValidationError(
                    owner=owner,
                    field="rule",
                    value=rule,
                    expected=f"a timer that is {'paused' if paused else 'running'} "
                    f"(it is {found})",
                )
        running = ", ".join(t.rule for t in draft.timers if t.is_open) or "none"
        raise ValidationError(
            owner=owner,
            field="rule",
            value=rule,
            expected=f"a rule whose timer runs for the lead (running: {running})",
        )

    def _resumed(self, draft: _Draft, timer: SlaTimer, at: datetime) -> SlaTimer:
        """The timer running again from *at*, with what was left of its time."""
        paused_at = timer.paused_at
        assert paused_at is not None  # noqa: S101 -- found paused
        rule = self._rules[timer.rule]
        calendar = self._calendar(draft)
        warn_at = timer.warn_at
        if warn_at is not None and timer.warned_at is None:
            warn_at = rule.moved(warn_at, paused_at, at, calendar)
        return timer.resumed(
            rule.moved(timer.deadline, paused_at, at, calendar), warn_at
        )

    def _calendar(self, draft: _Draft) -> BusinessCalendar | None:
        """The lead's calendar: chosen by calendar_for, else the policy's."""
        calendar = self._policy.calendar
        if self._calendar_for is not None:
            chosen = self._calendar_for(draft.lead)
            if chosen is not None and not isinstance(chosen, BusinessCalendar):
                raise ValidationError(
                    owner="Funnel",
                    field="calendar_for",
                    value=chosen,
                    expected=f"a BusinessCalendar or None for lead {draft.lead.id!r}",
                )
            calendar = chosen or calendar
        return calendar

    def _start_timers(self, draft: _Draft, at: datetime) -> None:
        """Start the clocks of the rules on the stage the lead just entered.

        The stage has rules (the caller looks first).
        """
        draft.timers = []
        rules = self._slas[draft.stage]
        calendar = self._calendar(draft)
        for rule in rules:
            deadline = rule.deadline(at, calendar)
            # Unchecked: the engine's own values (SlaTimer checks a host's).
            timer = _new_timer(
                rule.name,
                draft.stage,
                len(draft.history) - 1,
                at,
                deadline,
                rule.warning(at, deadline, calendar),
                None,  # warned_at
                None,  # breached_at
                None,  # met_at
                None,  # cancelled_at
                None,  # paused_at
            )
            draft.timers.append(timer)
            draft.events.append(_new_started(draft.lead.id, timer))
        # A promise met by a criterion that passes already is met on entry
        # (a new lead's, by the first evaluation, once it has a score).
        if draft.score is not None:
            self._meet_criteria(draft, at)

    def _close_timers(self, draft: _Draft, at: datetime) -> None:
        """The lead leaves its stage: exit rules are met, the others cancelled."""
        for position, timer in enumerate(draft.timers):
            if not timer.is_open:
                continue
            if self._rules[timer.rule].met_by == EXIT:
                self._met(draft, position, at)
            else:
                closed = timer.cancelled(at)
                draft.timers[position] = closed
                draft.events.append(_new_cancelled(draft.lead.id, closed))

    def _kept_rules(self, timers: tuple[SlaTimer, ...]) -> bool:
        """Whether every running timer of *timers* has its rule in the policy.

        A timer whose rule left it (an accepted change) is cancelled by the
        lead's next call (_draft).
        """
        rules = self._rules
        return all(timer.rule in rules for timer in timers if timer.is_open)

    def _quiet(self, timers: tuple[SlaTimer, ...], activity: Activity) -> bool:
        """Whether recording *activity* surely leaves each of *timers* as it is.

        Not when a running timer's rule left the policy (_draft cancels it),
        is met by the activity's kind (_meet_kinds), or by a criterion (the
        new score may meet it, or move its wake: _meet_criteria, _met_wake).
        A timer due by the activity is the caller's to find (the lead's wake
        comes first).
        """
        rules = self._rules
        for timer in timers:
            if timer.met_at is None and timer.cancelled_at is None:  # is_open
                rule = rules.get(timer.rule)
                if rule is None:
                    return False
                met_by = rule.met_by
                if type(met_by) is frozenset:
                    if activity.kind in met_by:
                        return False
                elif type(met_by) is not str:
                    return False
        return True

    def _meet_kinds(self, draft: _Draft, activity: Activity, at: datetime) -> None:
        """An activity of a rule's kinds, since the clock started, meets it."""
        for position, timer in enumerate(draft.timers):
            if not timer.is_open:
                continue
            met_by = self._rules[timer.rule].met_by
            if (
                isinstance(met_by, frozenset)
                and activity.kind in met_by
                and in_utc(activity.at) >= in_utc(timer.started_at)
            ):
                self._met(draft, position, at)

    def _meet_criteria(self, draft: _Draft, at: datetime) -> None:
        """A rule's criterion that passes meets it."""
        ctx: Context | None = None
        for position, timer in enumerate(draft.timers):
            if not timer.is_open:
                continue
            met_by = self._rules[timer.rule].met_by
            if isinstance(met_by, str | frozenset):
                continue
            ctx = ctx or draft.context(at)
            if passes(met_by, ctx):
                self._met(draft, position, at)

    def _met(self, draft: _Draft, position: int, at: datetime) -> None:
        met = draft.timers[position].met(at)
        draft.timers[position] = met
        draft.events.append(_new_met(draft.lead.id, met))

    def _fire_timers(self, draft: _Draft, until: datetime) -> None:
        """Give the warnings and breaches due by *until*, in time order.

        The lead has timers (the caller looks first).
        """
        limit = until.astimezone(UTC)  # see in_utc
        # A breach's move waits for the lead's other timers due at its instant:
        # the deadline instant is late for them too, as for a host's move then.
        move: tuple[MoveTo, datetime, datetime] | None = None
        while True:
            # The earliest due by *limit*; of two due at one instant, the first.
            position = -1
            soonest = limit if move is None else move[2]
            for index, candidate in enumerate(draft.timers):
                found = candidate.next_due
                if found is not None and (
                    (instant := found.astimezone(UTC)) < soonest  # see in_utc
                    or (position < 0 and instant == soonest)
                ):
                    position, soonest, at = index, instant, found
            if position < 0:
                if move is None:
                    return
                self._breach_move(draft, move[0], move[1])
                move = None
                continue
            timer = draft.timers[position]
            rule = self._rules[timer.rule]
            if timer.warn_at is not None and timer.warned_at is None:
                warned = timer.warned(at)
                draft.timers[position] = warned
                draft.events.append(_new_warning(draft.lead.id, warned))
                continue
            breached = timer.breached(at)
            draft.timers[position] = breached
            breach = rule.on_breach
            draft.events.append(
                _new_breached(
                    draft.lead.id,
                    breached,
                    breach.role if isinstance(breach, Escalate) else None,
                )
            )
            if isinstance(breach, MoveTo) and move is None:
                move = (breach, at, soonest)

    def _breach_move(self, draft: _Draft, breach: MoveTo, at: datetime) -> None:
        """The policy moves the lead, past the guard if it must (the record says)."""
        self._rescore(draft, at)
        _, transition, verdict = self._choose(draft, breach.stage, at)
        self._enter(
            draft,
            breach.stage,
            at,
            by=AUTO,
            verdict=verdict,
            reason=breach.reason,
            override=transition is None,
        )
        self._settle(draft, at)

    def _choose(
        self, draft: _Draft, to: str, at: datetime
    ) -> tuple[tuple[Transition, ...], Transition | None, Verdict]:
        """Find the first transition to *to* whose guard passes, and its verdict.

        Returns the transitions to *to*, the one chosen (``None`` when none
        passes, or there is none), and the verdict.
        """
        candidates = self._policy._between.get((draft.stage, to))  # noqa: SLF001 -- the engine reads the policy's index
        if candidates is None:
            candidates = self._policy.transitions_between(draft.stage, to)
        if not candidates:
            allowed = ", ".join(self._policy.targets(draft.stage))
            return (
                candidates,
                None,
                Verdict(
                    passed=False,
                    criterion=f"a move from {draft.stage} to {to}",
                    reason=(
                        f"the policy has no move from {draft.stage} to {to} "
                        f"(it allows: {allowed or 'nothing'})"
                    ),
                ),
            )
        return (candidates, *_first_passing(candidates, draft.context(at), to))

    def _commit_draft(
        self, item: Input, draft: _Draft, *, activities: tuple[Activity, ...] = ()
    ) -> list[Event]:
        """Commit one lead's draft, made by the call that *item* records."""
        return self._commit(
            _new_commit(
                item,
                (draft.state(),),
                activities,
                ((draft.lead.id, draft.wake),),
                self._fingerprint,
            ),
            draft.events,
        )

    def _migrating(self) -> bool:
        """Whether the store was last written under another policy (than ours)."""
        stored = self._store.written_under()
        return stored is not None and stored != self._fingerprint

    def _lost_stage(self, lead_id: str, stage: str) -> PolicyError:
        """The error of a lead in a stage this funnel's policy does not have."""
        return PolicyError(
            owner="Funnel",
            field="policy",
            value=self._policy.label,
            expected=(
                f"a policy with the stage {stage!r} of lead {lead_id!r}, which a "
                "funnel under another policy left it in: keep the stage, or move "
                "the lead out of it under that policy"
            ),
        )

    def _migration(self, *, check: bool = False) -> list[tuple[str, datetime]]:
        """Each stored lead due at its last update, while the store is another policy's.

        Read in the caller's transaction, as the store stands: none when it
        was last written under this policy (another funnel, or this one, made
        the change). The next tick then checks every lead under the new
        guards, at the instants they name from its last update on, as a
        replay under the new policy would. With *check*, a lead in a stage
        the policy lacks refuses it.
        """
        stored = self._store.written_under()
        if stored is None or stored == self._fingerprint:
            return []
        stages = self._policy._by_name  # noqa: SLF001 -- the engine reads the policy's index
        wakes: list[tuple[str, datetime]] = []
        lost: dict[str, list[str]] = {}
        for lead_id in self._store.lead_ids():
            state = self._store.state(lead_id)
            assert state is not None  # noqa: S101 -- the store lists its own leads
            if check and state.stage not in stages:
                lost.setdefault(state.stage, []).append(lead_id)
            wakes.append((lead_id, state.updated_at))
        if lost:
            stage, leads = min(lost.items())
            others = len(leads) - 1
            raise PolicyError(
                owner="Funnel",
                field="policy",
                value=self._policy.label,
                expected=(
                    f"a policy with the stage {stage!r} of the store's leads "
                    f"(lead {leads[0]!r}"
                    + (f" and {others:,} more" if others else "")
                    + "): keep the stage, or move them out of it first"
                ),
            )
        return wakes

    @staticmethod
    def _due_of(
        migration: list[tuple[str, datetime]], now: datetime
    ) -> list[tuple[datetime, str]]:
        """What the store's ``due`` gives once *migration* has woken every lead."""
        limit = _utc(now)
        found = [
            (_utc(at), number, at, lead_id)
            for number, (lead_id, at) in enumerate(migration)
            if _utc(at) <= limit
        ]
        found.sort()
        return [(at, lead_id) for _, _, at, lead_id in found]

    def _commit(self, change: Commit, events: list[Event]) -> list[Event]:
        if self._accepting and (migration := self._migration()):
            # The first change under the accepted policy: every lead woken.
            change = _new_commit(
                change.input,
                change.states,
                change.activities,
                (*migration, *change.wakes),
                change.policy,
            )
        opened = 0
        if self._open_timers is not None:
            opened = sum(
                _open(state) - _open(self._store.state(state.lead.id))
                for state in change.states
            )
        self._store.commit(change)
        self._commits += 1
        if self._open_timers is not None:  # counted only once the commit stands
            self._open_timers += opened
        if self._after_batch is not None and not self._waiting:
            self._join_batch(self._after_batch)
        if self._subscribers and events:
            self._outbox.append(events)
        return events

    def _join_batch(
        self, after_batch: Callable[[Callable[[bool], None]], bool]
    ) -> None:
        """Ask the store (*after_batch*) to say when its open batch ends, if any.

        Notes where the batch's events begin in the outbox and the last tick
        before it: a batch rolled back takes both back.
        """
        self._waiting = after_batch(self._batch_ended)
        self._batch_events = len(self._outbox)
        self._batch_ticked = self._ticked

    def _call(self, work: Callable[[], list[Event]]) -> list[Event]:
        """Run *work* in one store transaction, then give the subscribers its events.

        The lock is taken and let go by its methods, not by ``with``, which
        looks both methods up and makes each a bound method at every call:
        1,100 more instructions of a record's 71,000 (measured with a
        ``threading.RLock``, the only lock a funnel takes).
        """
        lock = self._lock
        lock.acquire()
        try:
            # The mark _lost takes, a tuple made only if the call fails.
            outbox, commits, ticked = len(self._outbox), self._commits, self._ticked
            try:
                with self._store.transaction():
                    events = work()
            except BaseException:
                self._lost((outbox, commits, ticked))
                raise
            if self._outbox:
                self._deliver()
            return events
        finally:
            lock.release()

    def _lost(self, mark: tuple[int, int, datetime | None]) -> None:
        """Forget what a failed call committed, if its transaction then failed.

        *mark* is the outbox's length, the commit count and the last tick
        when the call began. A store may apply a commit and fail when the
        transaction ends (a database refusing it at ``COMMIT``): the store
        keeps nothing of the call, so neither may the funnel.
        """
        outbox, commits, ticked = mark
        if commits != self._commits:
            del self._outbox[outbox:]
            self._ticked = ticked
            self._forget()

    def _forget(self) -> None:
        """Forget what the funnel counted of the store's leads: read them again."""
        self._open_timers = None
        self._scorers.clear()

    def _batch_ended(self, written: bool) -> None:
        """Give the subscribers a batch's events; forget them if it was rolled back."""
        with self._lock:
            self._waiting = False
            if not written:
                # Events before the batch's (a subscriber's batch) stay.
                del self._outbox[self._batch_events :]
                self._ticked = self._batch_ticked
                self._forget()
            elif self._outbox:
                self._deliver()

    def _deliver(self) -> None:
        """Give the subscribers the events committed, in commit order.

        The funnel is locked and the store's transaction has ended. Events of
        a subscriber's own calls are given after those before them.

        Raises:
            SubscriberError: subscribers raised (after all were called).
        """
        if self._delivering or self._waiting:
            # A subscriber's call: the loop below gives its events next. In a
            # batch: given when it is written.
            return
        outbox = self._outbox
        # The change's own events: the call's, or a batch's calls'. What the
        # subscribers' calls add is given after them, in the same loop (by
        # position: a batch of a million calls pops nothing from the front).
        changed = len(outbox)
        errors: list[Exception] = []
        given: list[Event] = []
        self._delivering = True
        try:
            position = 0
            while position < len(outbox):
                events = outbox[position]
                position += 1
                for subscription in [*self._subscribers]:
                    callback = subscription.callback
                    for event in events:
                        # Unsubscribed along the way (by itself or another
                        # subscriber): no event after that.
                        if not subscription.active:
                            break
                        try:
                            callback(event)
                        except Exception as error:  # noqa: BLE001 -- gathered and raised below
                            errors.append(error)
            if errors:
                given = [event for events in outbox[:changed] for event in events]
        finally:
            self._delivering = False
            outbox.clear()  # given, or dropped with the call an interrupt stopped
        if errors:
            count = len(errors)
            raise SubscriberError(
                f"{count} subscriber call{'s' if count > 1 else ''} failed "
                "after the change was committed",
                errors,
                given,
            )

    # -- Checks --------------------------------------------------------------------

    def _known(self, lead_id: object) -> LeadState:
        state = self._store.state(lead_id) if isinstance(lead_id, str) else None
        if state is None:
            raise UnknownLead(lead_id=lead_id)
        return state

    def _now(self) -> datetime:
        return require_aware(self._clock.now(), field="clock.now()", owner="Funnel")

    def _at_or_now(self, now: datetime | None, owner: str) -> datetime:
        """*now* checked, or the clock's now."""
        if now is None:
            return self._now()
        return require_aware(now, field="now", owner=owner)

    def _resolve(
        self, at: datetime | None, state: LeadState | _Recorded, owner: str
    ) -> datetime:
        """*at*, checked to be no earlier than the lead's last update.

        With no *at*: the clock's now, read once, or that update if later.
        """
        if at is None:
            now = self._now()
            return max(now, state.updated_at, key=_utc)
        if type(at) is not datetime or at.utcoffset() is None:
            require_aware(at, field="at", owner=owner)
        # As instants (see in_utc); one in UTC already is its own, with no call.
        updated = state.updated_at
        if (at if at.tzinfo is UTC else at.astimezone(UTC)) < (
            updated if updated.tzinfo is UTC else updated.astimezone(UTC)
        ):
            raise ValidationError(
                owner=owner,
                field="at",
                value=at,
                expected=(
                    "an instant no earlier than the lead's last update, "
                    f"{state.updated_at.isoformat()}"
                ),
            )
        return at

    def _policy_stage(self, name: str, owner: str) -> None:
        try:
            self._policy.stage(name)
        except PolicyError as error:
            raise ValidationError(
                owner=owner, field="to", value=name, expected=error.expected
            ) from None


#: The methods of the Store protocol, named when a store lacks some.
_STORE_METHODS = (
    "transaction",
    "written_under",
    "state",
    "activities",
    "has_activity",
    "wake",
    "due",
    "commit",
    "inputs",
    "lead_ids",
    "__len__",
)


def _fingerprint(policy: FunnelPolicy) -> str | None:
    """The policy's fingerprint; ``None`` if a custom criterion has no stable content.

    Only attrs classes (and registered ones) can be written down; a plain
    class's content is unknown, so its store's policy goes unchecked.
    """
    try:
        return policy.fingerprint
    except PolicyError:
        return None


def _store_lock(store: object) -> threading.RLock | None:
    """The store's ``lock``, if it gives one, which the funnel locks with.

    So a thread holding the store (a batch) and one in a funnel call never
    wait on each other. The funnel takes it again inside a batch and in a
    subscriber's call: a lock that is not re-entrant would hang the first
    such call, and a funnel locking on its own instead would hang a batch
    in one thread and a call in another. Such a lock is refused.
    """
    found = getattr(store, "lock", None)
    if found is not None and not isinstance(found, _RLOCK):
        raise ValidationError(
            owner="Funnel",
            field="store.lock",
            value=found,
            expected="a threading.RLock that the store's batches hold (the "
            "funnel takes it again inside a batch, so it must be re-entrant), "
            "or no lock attribute",
        )
    return found


def _check_flag(value: object, field: str) -> None:
    """Refuse a Funnel option that must be True or False and is not."""
    if type(value) is not bool:
        raise ValidationError(
            owner="Funnel", field=field, value=value, expected="True or False"
        )


def _scorer_bound(scorers: object, store: Store) -> int | None:
    """How many scorers a funnel keeps: *scorers*, else the store's cache_size.

    ``None``: no bound (a store that keeps every lead decoded, as
    :class:`InMemoryStore` does).
    """
    if scorers is None:
        found = getattr(store, "cache_size", None)
        return found if type(found) is int and found >= 1 else None
    return check_count(
        scorers,
        owner="Funnel",
        field="scorers",
        expected="a whole number of leads, 1 or more, or None for the store's",
    )


def _check_lead(lead: object, owner: str) -> None:
    if not isinstance(lead, Lead):
        raise ValidationError(
            owner=owner, field="lead", value=lead, expected="a funnelkit.Lead"
        )


def _check_name(value: object, field: str, owner: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            owner=owner, field=field, value=value, expected="a non-empty string"
        )


def _first_passing(
    candidates: tuple[Transition, ...], ctx: Context, to: str
) -> tuple[Transition | None, Verdict]:
    """The first of *candidates* (to *to*) whose guard passes in *ctx*, and its verdict.

    ``None`` when none passes, with the verdict that says why: the one
    guard's, or all of theirs.
    """
    verdicts = []
    for transition in candidates:
        verdict = transition.guard.check(ctx)
        if type(verdict) is not Verdict:
            verdict = checked(transition.guard, verdict)
        if verdict.passed:
            return transition, verdict
        verdicts.append(verdict)
    return None, _none_passed(verdicts, ctx.stage, to)


def _first_judged(
    judges: tuple[tuple[Transition, Callable[[Lead], Verdict]], ...],
    lead: Lead,
    stage: str,
    to: str,
) -> tuple[Transition | None, Verdict]:
    """As _first_passing, for guards that read only the lead: their *judges*."""
    verdicts = []
    for transition, judged in judges:
        verdict = judged(lead)
        if verdict.passed:
            return transition, verdict
        verdicts.append(verdict)
    return None, _none_passed(verdicts, stage, to)


def _none_passed(verdicts: list[Verdict], stage: str, to: str) -> Verdict:
    """The verdict of a move from *stage* to *to* none of whose guards passed."""
    if len(verdicts) == 1:
        return verdicts[0]
    return Verdict(
        passed=False,
        criterion=f"any move from {stage} to {to}",
        reason=_join(verdicts),
        children=verdicts,
    )


def _check_reason(
    transition: Transition, reason: str | None, *, overridden: bool
) -> None:
    if reason is None and (transition.needs_reason or overridden):
        why = "an override" if overridden else f"the move {transition.label!r}"
        codes = (
            f": one of {', '.join(transition.reasons)}" if transition.reasons else ""
        )
        raise ValidationError(
            owner="Funnel.move",
            field="reason",
            value=reason,
            expected=f"a reason, which {why} requires{codes}",
        )
    if transition.reasons and reason not in transition.reasons:
        raise ValidationError(
            owner="Funnel.move",
            field="reason",
            value=reason,
            expected=f"one of the reason codes {', '.join(transition.reasons)}",
        )


def _next_wake(timers: Sequence[SlaTimer], wake: datetime | None) -> datetime | None:
    """The sooner of *wake* and the next instant time alone changes a timer.

    Of equal instants, the first timer's is kept, then *wake*'s.
    """
    found: datetime | None = None
    soonest: datetime | None = None
    for timer in timers:
        due = timer.next_due
        if due is None:
            continue
        # See in_utc; an instant in UTC already is its own, with no call.
        instant = due if due.tzinfo is UTC else due.astimezone(UTC)
        if soonest is None or instant < soonest:
            found, soonest = due, instant
    if wake is not None and (
        soonest is None
        or (wake if wake.tzinfo is UTC else wake.astimezone(UTC)) < soonest
    ):
        return wake
    return found


def _open(state: LeadState | None) -> int:
    """How many of a lead's SLA timers run (none for a lead not there yet)."""
    if state is None:
        return 0
    return sum(1 for timer in state.timers if timer.is_open)


def _overdue(timers: Iterable[SlaTimer], when: datetime) -> list[SlaTimer]:
    """The running timers past their deadline at *when* (a paused one is not)."""
    limit = in_utc(when)
    return [
        timer
        for timer in timers
        if timer.is_open and timer.paused_at is None and in_utc(timer.deadline) <= limit
    ]
