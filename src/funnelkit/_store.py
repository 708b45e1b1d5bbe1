"""Where a funnel keeps its state: the Store protocol and the in-memory store."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from funnelkit._events import (
    AddLead,
    Input,
    LeadState,
    Move,
    PauseTimer,
    ResumeTimer,
    StageChanged,
    Tick,
    UpdateLead,
)
from funnelkit._lead import Activity, add_in_time_order
from funnelkit._scoring import Score, ScoreRead, ScoreState, score_of
from funnelkit._time import require_aware, utc_micros
from funnelkit._validators import (
    instance_of,
    items_of,
    non_empty_str,
    optional,
    reject,
    unchecked,
)
from funnelkit.errors import ValidationError

__all__ = ["Commit", "InMemoryStore", "Store"]

_NO_TRANSACTION = nullcontext()

#: LeadState's constructor, without attrs' checks: for a state whose fields
#: the engine made or checked itself (see _Recorded.state).
new_state = unchecked(LeadState)

# A wake entry's low bits hold the lead's number: room for 2**40 leads.
_SHIFT = 40
_NUMBER = (1 << _SHIFT) - 1
# The wake index's run length: a run that grows past twice this is split in
# two halves of this many (discards may leave a run shorter).
_RUN = 512
# A lead with up to this many activities has its ids compared in its list
# (in memory and in SQLite); past it, a set of its ids answers.
_SCAN = 16


def _as_tuple(value: object) -> object:
    """A list given for a tuple field becomes a tuple (the validator checks)."""
    return tuple(value) if isinstance(value, list) else value


def _check_wakes(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    expected = "a tuple of (lead id, aware datetime or None) pairs"
    if not isinstance(value, tuple):
        reject(instance, attribute, value, expected)
    for position, pair in enumerate(value):
        field = f"{attribute.name}[{position}]"
        if (
            not isinstance(pair, tuple)
            or len(pair) != 2  # noqa: PLR2004 -- a pair
            or not isinstance(pair[0], str)
            or not pair[0].strip()
        ):
            raise ValidationError(
                owner="Commit", field=field, value=pair, expected=expected
            )
        if pair[1] is not None:
            require_aware(pair[1], field=field, owner="Commit")


@attrs.frozen(kw_only=True)
class Commit:
    """One engine call's change, which a store applies all at once or not at all.

    Attributes:
        input: The call, as the input log keeps it.
        states: The new state of each lead the call changed.
        activities: Activities to add, each to its lead.
        wakes: ``(lead_id, instant)`` pairs: when the engine must look at the
            lead again without new input (``None``: only new input can
            change it).
        policy: The fingerprint of the policy the change was made under
            (``None`` when not told), which :meth:`Store.written_under`
            returns after it.
    """

    input: Input = attrs.field(
        validator=instance_of(
            (AddLead, UpdateLead, Activity, Move, Tick, PauseTimer, ResumeTimer),  # type: ignore[arg-type] # a tuple of types, as isinstance takes
            "an input: AddLead, UpdateLead, Activity, Move, Tick, PauseTimer or "
            "ResumeTimer",
        )
    )
    states: tuple[LeadState, ...] = attrs.field(
        default=(),
        converter=_as_tuple,
        validator=items_of(LeadState, "a tuple of LeadState"),
    )
    activities: tuple[Activity, ...] = attrs.field(
        default=(),
        converter=_as_tuple,
        validator=items_of(Activity, "a tuple of Activity"),
    )
    wakes: tuple[tuple[str, datetime | None], ...] = attrs.field(
        default=(), converter=_as_tuple, validator=_check_wakes
    )
    policy: str | None = attrs.field(default=None, validator=optional(non_empty_str))


@runtime_checkable
class Store(Protocol):
    """What a funnel needs of the place it keeps its state.

    The engine reads through the query methods and writes only through
    :meth:`commit`, once per call, after every check passed: a store that
    applies a commit atomically (one database transaction) keeps the promise
    that a failed call changes nothing. Each call that may change state runs
    inside :meth:`transaction`, so that a store shared by several processes
    can hold other writers off between the call's reads and its commit. The
    engine serialises its own calls, so a store needs no locking of its own
    for one funnel.

    A store may also give ``last_tick() -> datetime | None``, the instant of
    the last :class:`Tick` in its log: a funnel on it then refuses a tick
    earlier than that one after a restart too (without it, a funnel
    remembers only its own ticks). Both stores funnelkit ships give it.

    A store whose batches span several calls may give
    ``after_batch(callback) -> bool``: inside a batch, keep *callback*,
    return ``True``, and call it with ``True`` once the batch is written or
    ``False`` once it is rolled back; outside one, return ``False``. The
    funnel then gives its subscribers a batch's events once it is written,
    and none of one rolled back. Such a store may also give ``lock``, a
    ``threading.RLock`` its batches hold, which the funnel takes as its own
    lock, so that a batch in one thread and a call in another never wait
    on each other. The lock must be re-entrant (the funnel takes it again in
    the thread of a batch): ``Funnel`` refuses another kind with a
    :class:`~funnelkit.errors.ValidationError`. :class:`~funnelkit.SQLiteStore`
    gives both.
    """

    def transaction(self) -> AbstractContextManager[object]:
        """Return a context that holds the store for one engine call.

        The engine enters it before a call's first read and leaves it after
        the call's commit (or after the call failed, having committed
        nothing). A store in one process may return a context that does
        nothing; a database store begins a transaction that takes the write
        lock (``BEGIN IMMEDIATE``, ``SELECT ... FOR UPDATE``) and ends it on
        leaving.
        """
        ...  # pragma: no cover -- a protocol's signature

    def written_under(self) -> str | None:
        """Return the policy fingerprint of the last commit that gave one."""
        ...  # pragma: no cover -- a protocol's signature

    def state(self, lead_id: str, /) -> LeadState | None:
        """Return the lead's state, or ``None`` for an unknown id."""
        ...  # pragma: no cover -- a protocol's signature

    def activities(self, lead_id: str, /) -> Sequence[Activity]:
        """Return the lead's activities, ordered by instant, then id.

        By instant: sort on ``activity.at.astimezone(UTC)``, not on ``at``
        itself, which Python compares on the wall clock when two times share
        a zone (01:50 BST comes before 01:10 GMT the night clocks go back).
        """
        ...  # pragma: no cover -- a protocol's signature

    def has_activity(self, lead_id: str, activity_id: str, /) -> bool:
        """Whether the lead has an activity with this id."""
        ...  # pragma: no cover -- a protocol's signature

    def wake(self, lead_id: str, /) -> datetime | None:
        """Return when the engine must next look at the lead, if ever."""
        ...  # pragma: no cover -- a protocol's signature

    def due(self, now: datetime, /) -> list[tuple[datetime, str]]:
        """Return ``(wake, lead_id)`` for wakes at or before *now*.

        Ordered by the wake's instant (in UTC, as :meth:`activities`), then
        by lead id.
        """
        ...  # pragma: no cover -- a protocol's signature

    def commit(self, change: Commit, /) -> None:
        """Apply *change* and append its input to the log, all or nothing."""
        ...  # pragma: no cover -- a protocol's signature

    def inputs(self) -> Iterator[Input]:
        """Iterate over the input log, oldest first."""
        ...  # pragma: no cover -- a protocol's signature

    def lead_ids(self) -> Iterator[str]:
        """Iterate over the ids of the leads, in the order they were added."""
        ...  # pragma: no cover -- a protocol's signature

    def __len__(self) -> int:
        """The number of leads."""
        ...  # pragma: no cover -- a protocol's signature


def _refuse_unless(
    value: object, kind: type, owner: str, field: str, expected: str
) -> None:
    """Refuse *value*, given to a store's method as *field*, unless a *kind*."""
    if not isinstance(value, kind):
        raise ValidationError(owner=owner, field=field, value=value, expected=expected)


def check_commit(change: object, owner: str) -> None:
    """Refuse a *change* that is not a :class:`Commit` (a subclass is one).

    Stores call it when ``type(change) is not Commit``: the engine's own
    commits pay one identity test.
    """
    _refuse_unless(
        change,
        Commit,
        owner,
        "change",
        "a funnelkit.Commit (the change of one engine call)",
    )


def check_lead_id(lead_id: object, owner: str) -> None:
    """Refuse a *lead_id* that is not a string."""
    _refuse_unless(lead_id, str, owner, "lead_id", "a lead's id (a string)")


def check_activity_id(activity_id: object, owner: str) -> None:
    """Refuse an *activity_id* that is not a string."""
    _refuse_unless(
        activity_id, str, owner, "activity_id", "an activity's id (a string)"
    )


def has_id(ids: set[str], activity_id: object, owner: str) -> bool:
    """Whether *activity_id* is in *ids*; refuse one that is not a string."""
    try:
        if activity_id in ids:
            return True
    except TypeError:  # unhashable: no id
        pass
    if type(activity_id) is not str:
        check_activity_id(activity_id, owner)
    return False


#: A held score as score_of's arguments (see _Recorded.held_read).
HeldRead = tuple[str, str, tuple[str, ...], tuple[Any, Any], datetime, ScoreRead]


class _Recorded:
    """A lead's state that quick records change in place (see InMemoryStore).

    Its fields are :class:`LeadState`'s, under the same names, but for the
    score, ``None`` on the class: a quick record leaves it as its scorer's
    read (see funnelkit._scoring.score_of), the scorer's ``model`` (name),
    ``notes`` and ``context``, and the read's ``dimensions``, ``grade``,
    ``band``, ``clamps``, ``rules`` and instant in seconds (``scored``),
    each in a slot of its own: a tuple of them would stay tracked by the
    garbage collector (it holds a dict). The instant is ``updated_at``'s
    (the engine reads a lead's score when it updates it): ``None`` when a
    quick move left it to be computed if needed. The LeadState is built
    when first read, and kept until the next change.
    """

    __slots__ = (
        "activities",
        "band",
        "clamps",
        "context",
        "dimensions",
        "entered_at",
        "grade",
        "history",
        "lead",
        "model",
        "notes",
        "read",
        "rules",
        "scored",
        "stage",
        "timers",
        "updated_at",
    )

    # Held as the read below: the engine's quick record tells a held state
    # by it, and makes the score of the read (held_score) when it needs one.
    score: None = None
    # Set by each quick record (see InMemoryStore._recorded).
    model: str
    notes: tuple[str, ...]
    context: tuple[Any, Any]
    dimensions: dict[str, float]
    grade: str
    band: str
    clamps: tuple[Any, ...]
    rules: Sequence[Any]
    scored: float | None

    def __init__(self, state: LeadState) -> None:
        self.lead = state.lead
        self.stage = state.stage
        self.entered_at = state.entered_at
        self.history = state.history
        self.updated_at = state.updated_at
        self.activities = state.activities
        self.timers = state.timers
        self.read: LeadState | None = None

    def scored_as(self, scorer: ScoreState, read: ScoreRead, at: datetime) -> None:
        """Hold *scorer*'s *read* at *at* as the lead's score, updated then.

        The state built when last read goes: the next read builds another.
        """
        self.model = scorer._model.name  # noqa: SLF001 -- the engine's scorer, read for it
        self.notes = scorer._notes  # noqa: SLF001 -- as above
        self.context = scorer._context  # noqa: SLF001 -- as above
        (
            self.dimensions,
            self.grade,
            self.band,
            self.clamps,
            self.rules,
            self.scored,
        ) = read
        self.updated_at = at
        self.read = None

    def held_read(self) -> HeldRead:
        """The score the last quick record left, as score_of's arguments.

        A snapshot: the next quick record changes this record in place, not
        the tuple (a ScoreChanged event holds it, see funnelkit._events).
        """
        scored = self.scored
        return (
            self.model,
            self.lead.id,
            self.notes,
            self.context,
            self.updated_at,
            (
                self.dimensions,
                self.grade,
                self.band,
                self.clamps,
                self.rules,
                self.updated_at.timestamp() if scored is None else scored,
            ),
        )

    def held_score(self) -> Score:
        """The score the last quick record left as its scorer's read, made."""
        return score_of(*self.held_read())

    def state(self) -> LeadState:
        """The lead's state: the one built when last read, or a new one."""
        read = self.read
        if read is None:
            read = self.read = new_state(
                self.lead,
                self.stage,
                self.entered_at,
                self.held_score(),
                self.history,
                self.updated_at,
                self.activities,
                self.timers,
            )
        return read


class InMemoryStore:
    """The default store: everything in this process's memory.

    Wakes wait in a sorted index, in runs of a few hundred: :meth:`due`
    reads a prefix of it, so its cost grows with the wakes that are due, not
    with the number of leads, and a changed wake replaces the old one at
    once. An entry is one integer, the wake's microseconds since 1970
    shifted left past a number given to the lead: integers compare faster
    than tuples.

    It takes no lock: threads share it through one funnel, which serialises
    their calls. A thread that reads it directly while another records may
    find a lead's state half-changed: read it through the funnel then.
    """

    __slots__ = (
        "_activities",
        "_ids",
        "_index",
        "_last_tick",
        "_log",
        "_numbers",
        "_policy",
        "_states",
        "_wake_at",
        "_wake_entry",
        "_woken",
    )

    def __init__(self) -> None:
        # Each lead's state, as committed, or as quick records changed it in
        # place: a new LeadState for each would be one more object a record
        # for the garbage collector's full passes to walk, as long as it
        # lives (until the lead's next record).
        self._states: dict[str, LeadState | _Recorded] = {}
        # Each lead's activities in time order, in a list that grows in place:
        # a new tuple per activity would be one more object per record for
        # the garbage collector's full passes to walk, as long as it lives.
        self._activities: dict[str, list[Activity]] = {}
        # The ids of each lead with more activities than a scan reads: a
        # lead's few ids are compared in its list (a set would cost ~40 bytes
        # an activity), a long history's are looked up.
        self._ids: dict[str, set[str]] = {}
        # The number of each lead ever woken, and by number: the lead, its
        # entry in the index and its wake (None: none now). Lists by number,
        # where a dict of pairs by id would cost a lookup and a tuple each.
        self._numbers: dict[str, int] = {}
        self._woken: list[str] = []
        self._wake_entry: list[int | None] = []
        self._wake_at: list[datetime | None] = []
        self._index = _SortedInts()
        # The inputs, but for a quick move's: its StageChanged event, whose
        # record says all the move did (see _input), is one object fewer a
        # move, for the garbage collector's passes to walk too.
        self._log: list[Input | StageChanged] = []
        self._policy: str | None = None
        self._last_tick: datetime | None = None

    def __repr__(self) -> str:
        return (
            f"<funnelkit.InMemoryStore leads={len(self._states)} "
            f"inputs={len(self._log)} wakes={len(self._index)}>"
        )

    def transaction(self) -> AbstractContextManager[object]:
        """Return a context that does nothing: one process, one funnel's lock."""
        return _NO_TRANSACTION

    def written_under(self) -> str | None:
        """Return the policy fingerprint of the last commit that gave one."""
        return self._policy

    # The queries check their arguments only when the lookup finds nothing
    # (or fails): a funnel's own calls, which give strings, pay no check.

    def state(self, lead_id: str, /) -> LeadState | None:
        """Return the lead's state, or ``None`` for an unknown id.

        Raises:
            ValidationError: *lead_id* is not a string.
        """
        try:
            found = self._states.get(lead_id)
        except TypeError:  # unhashable: no id
            found = None
        if found is None:
            if type(lead_id) is not str:
                check_lead_id(lead_id, "InMemoryStore.state")
            return None
        return found.state() if type(found) is _Recorded else found  # type: ignore[return-value] # a LeadState otherwise

    def activities(self, lead_id: str, /) -> Sequence[Activity]:
        """Return the lead's activities, ordered by instant, then id.

        A tuple: later calls leave it as it is, and it cannot change the store.

        Raises:
            ValidationError: *lead_id* is not a string.
        """
        try:
            found = self._activities.get(lead_id)
        except TypeError:  # unhashable: no id
            found = None
        if found is None:
            if type(lead_id) is not str:
                check_lead_id(lead_id, "InMemoryStore.activities")
            return ()
        return tuple(found)

    def has_activity(self, lead_id: str, activity_id: str, /) -> bool:
        """Whether the lead has an activity with this id.

        Raises:
            ValidationError: *lead_id* or *activity_id* is not a string.
        """
        owner = "InMemoryStore.has_activity"
        try:
            found = self._activities.get(lead_id)
        except TypeError:  # unhashable: no id
            found = None
        if found is None:
            if type(lead_id) is not str:
                check_lead_id(lead_id, owner)
            found = []
        if len(found) > _SCAN:
            return has_id(self._ids_of(lead_id, found), activity_id, owner)
        for activity in found:
            if activity.id == activity_id:
                return True
        if type(activity_id) is not str:
            check_activity_id(activity_id, owner)
        return False

    def wake(self, lead_id: str, /) -> datetime | None:
        """Return when the engine must next look at the lead, if ever.

        Raises:
            ValidationError: *lead_id* is not a string.
        """
        try:
            number = self._numbers.get(lead_id)
        except TypeError:  # unhashable: no id
            number = None
        if number is None:
            if type(lead_id) is not str:
                check_lead_id(lead_id, "InMemoryStore.wake")
            return None
        return self._wake_at[number]

    def due(self, now: datetime, /) -> list[tuple[datetime, str]]:
        """Return ``(wake, lead_id)`` for wakes at or before *now*, by instant, then id.

        Raises:
            ValidationError: *now* is not an aware datetime.
        """
        require_aware(now, field="now", owner="InMemoryStore.due")
        # Every entry of an instant up to now is below this one.
        entries = self._index.below((utc_micros(now) + 1) << _SHIFT)
        woken, wake_at = self._woken, self._wake_at
        # Entries order as (instant, lead number); leads due at one instant
        # are ordered by id, as the protocol asks, when there are any.
        if len({entry >> _SHIFT for entry in entries}) < len(entries):
            entries.sort(key=lambda entry: (entry >> _SHIFT, woken[entry & _NUMBER]))
        return [
            (wake_at[number], woken[number])  # type: ignore[misc] # in the index: a wake
            for number in [entry & _NUMBER for entry in entries]
        ]

    def commit(self, change: Commit, /) -> None:
        """Apply *change* and append its input to the log.

        Raises:
            ValidationError: *change* is not a :class:`Commit`.
        """
        if type(change) is not Commit:
            check_commit(change, "InMemoryStore.commit")
        states = self._states
        for state in change.states:
            states[state.lead.id] = state
        for activity in change.activities:
            self._hold(activity)
        self._set_wakes(change.wakes)
        self._log.append(change.input)
        if type(change.input) is Tick:
            self._last_tick = change.input.now
        if change.policy is not None:
            self._policy = change.policy

    def _set_wakes(self, wakes: Sequence[tuple[str, datetime | None]]) -> None:
        """Put each lead's new wake in the index, in place of its old one."""
        index, numbers = self._index, self._numbers
        entries, wake_at = self._wake_entry, self._wake_at
        for lead_id, at in wakes:
            number = numbers.get(lead_id)
            if at is None:
                if number is not None and (old := entries[number]) is not None:
                    index.discard(old)
                    entries[number] = wake_at[number] = None
                continue
            if number is None:
                number = self._number(lead_id)
                old = None
            else:
                old = entries[number]
            entry = (utc_micros(at) << _SHIFT) | number
            if old is not None:
                if old == entry:
                    continue
                index.discard(old)
            entries[number] = entry
            wake_at[number] = at
            index.add(entry)

    def last_tick(self) -> datetime | None:
        """Return the instant of the last tick in the log, if any."""
        return self._last_tick

    def _hold(self, activity: Activity) -> None:
        """Put *activity* in its lead's activities, in time order."""
        found = self._activities
        lead_id = activity.lead_id
        held = found.get(lead_id)
        if held is None:
            found[lead_id] = [activity]
            return
        add_in_time_order(held, activity)
        ids = self._ids.get(lead_id)
        if ids is not None:
            ids.add(activity.id)

    def _for_record(
        self, lead_id: str, activity_id: str
    ) -> tuple[LeadState | _Recorded, list[Activity] | None, datetime | None] | bool:
        """What the engine's quick record (Funnel._record_quick) reads of a lead.

        ``True`` if the lead has the activity already; ``False`` if it is
        unknown (the engine's usual way then); else its state (as held: its
        fields are read alike), its activities (``None``: none yet), the
        list itself, and its wake.
        """
        state = self._states.get(lead_id)
        if state is None:
            return False
        held = self._activities.get(lead_id)
        if held is not None:
            if len(held) > _SCAN:
                if activity_id in self._ids_of(lead_id, held):
                    return True
            else:
                for activity in held:
                    if activity.id == activity_id:
                        return True
        number = self._numbers.get(lead_id)
        return state, held, None if number is None else self._wake_at[number]

    def _moved(  # noqa: PLR0913, PLR0917 -- the move's parts, checked
        self,
        state: LeadState | _Recorded,
        scorer: ScoreState,
        read: ScoreRead | None,
        moved: StageChanged,
        was: datetime | None,
        policy: str | None,
    ) -> None:
        """Commit a quick move, after which the lead has no wake.

        As :meth:`commit` of ``Commit(move, (state,), (), ((lead_id, None),),
        policy)`` does, where the move is the one *moved* says (with no
        reason and no override), and the state is the lead's *state* as held
        (see _for_record) moved as its record says, scored as *scorer* *read*
        then (kept as its parts, see _Recorded), or, with no *read*, as the
        held state (a _Recorded) was, at the move's instant. *was* is the
        lead's wake before the move.
        """
        lead_id = moved.lead_id
        record = moved.record
        at = record.at
        if type(state) is not _Recorded:  # never with no read: see above
            state = self._states[lead_id] = _Recorded(state)  # type: ignore[arg-type] # a LeadState otherwise
        if read is None:  # the read held still holds: only its instant moves
            state.scored = None  # at's, computed when needed
            state.updated_at = at
            state.read = None
        else:
            state.scored_as(scorer, read, at)
        state.stage = record.target
        state.entered_at = at
        state.history = (*state.history, record)
        if was is not None:
            self._set_wakes(((lead_id, None),))
        self._log.append(moved)
        if policy is not None:
            self._policy = policy

    def _recorded(  # noqa: PLR0913, PLR0917 -- the record's parts, checked
        self,
        state: LeadState | _Recorded,
        scorer: ScoreState,
        read: ScoreRead,
        at: datetime,
        activity: Activity,
        held: list[Activity] | None,
        latest: bool,
        wake: datetime | None,
        was: datetime | None,
        policy: str | None,
    ) -> None:
        """Commit a quick record of a new activity.

        As :meth:`commit` of ``Commit(activity, (state,), (activity,),
        ((lead_id, wake),), policy)`` does, where the state is the lead's
        *state* as held (see _for_record), updated *at*, with one activity
        more and the score *scorer* *read* at *at* (kept as its parts, see
        _Recorded); *held*: the lead's activities _for_record gave (the
        list itself, or None); *latest*: the activity goes after every
        activity the lead has. *was* is the wake _for_record gave: the index
        is left as it is when *wake* is that very one.
        """
        lead_id = activity.lead_id
        if type(state) is not _Recorded:
            state = self._states[lead_id] = _Recorded(state)  # type: ignore[arg-type] # a LeadState otherwise
        state.scored_as(scorer, read, at)
        state.activities += 1
        if latest and held is not None:  # _hold, without its search
            held.append(activity)
            ids = self._ids.get(lead_id)
            if ids is not None:
                ids.add(activity.id)
        else:
            self._hold(activity)
        if wake is not was:
            self._set_wakes(((lead_id, wake),))
        self._log.append(activity)
        if policy is not None:
            self._policy = policy

    def _ids_of(self, lead_id: str, held: list[Activity]) -> set[str]:
        """The ids of a lead's long list of activities, kept once made."""
        ids = self._ids.get(lead_id)
        if ids is None:
            ids = self._ids[lead_id] = {activity.id for activity in held}
        return ids

    def _number(self, lead_id: str) -> int:
        """Give a lead its number in wake entries (it has none yet), and return it."""
        number = self._numbers[lead_id] = len(self._woken)
        self._woken.append(lead_id)
        self._wake_entry.append(None)
        self._wake_at.append(None)
        return number

    def inputs(self) -> Iterator[Input]:
        """Iterate over the input log, oldest first."""
        return map(_input, self._log)

    def lead_ids(self) -> Iterator[str]:
        """Iterate over the ids of the leads, in the order they were added."""
        return iter(self._states)

    def __len__(self) -> int:
        """The number of leads."""
        return len(self._states)


def _input(item: Input | StageChanged) -> Input:
    """The input an item of InMemoryStore's log stands for.

    A quick move's is held as its StageChanged event: the move it stands
    for had no reason and no override.
    """
    if type(item) is StageChanged:
        record = item.record
        return _new_move(item.lead_id, record.target, record.by, record.at, None, False)
    return item  # type: ignore[return-value] # an input otherwise


_new_move = unchecked(Move)


class _SortedInts:
    """A sorted multiset of integers in runs: the wake index of InMemoryStore.

    The entries are kept in order in short lists (runs) of at most twice
    *run* entries (a longer one is split in two), each run's last entry
    noted: adding or discarding an entry finds its run by bisection and
    moves at most that run's pointers, and :meth:`below` copies a prefix
    run by run. A heap would make each tick pop its due entries one by
    one, and keep the stale ones a moved wake leaves behind.
    """

    __slots__ = ("_lasts", "_run", "_runs")

    def __init__(self, run: int = _RUN) -> None:
        self._run = run
        self._runs: list[list[int]] = []
        self._lasts: list[int] = []  # each run's last (greatest) entry

    def __len__(self) -> int:
        return sum(map(len, self._runs))

    def add(self, value: int) -> None:
        """Add *value*, in order."""
        runs, lasts = self._runs, self._lasts
        where = bisect_left(lasts, value)
        if where == len(lasts):  # past every run: the last one takes it
            if not runs:
                runs.append([value])
                lasts.append(value)
                return
            where -= 1
            run = runs[where]
            run.append(value)
            lasts[where] = value
        else:
            run = runs[where]
            insort(run, value)
        if len(run) > 2 * self._run:
            # Split in two halves, each a run's length.
            rest = run[self._run :]
            del run[self._run :]
            lasts[where] = run[-1]
            runs.insert(where + 1, rest)
            lasts.insert(where + 1, rest[-1])

    def discard(self, value: int) -> None:
        """Remove one *value*, if there is one."""
        lasts = self._lasts
        where = bisect_left(lasts, value)
        if where == len(lasts):
            return
        run = self._runs[where]
        position = bisect_left(run, value)
        if run[position] != value:  # the run's last is >= value: in range
            return
        del run[position]
        if not run:
            del self._runs[where]
            del lasts[where]
        elif position == len(run):
            lasts[where] = run[-1]

    def below(self, limit: int) -> list[int]:
        """Return the entries less than *limit*, in order."""
        found: list[int] = []
        for run in self._runs:
            if run[-1] < limit:
                found += run
            else:
                found += run[: bisect_left(run, limit)]
                break
        return found
