"""SQLiteStore: a funnel's state in one SQLite file, one transaction per call."""

from __future__ import annotations

import functools
import json
import operator
import os
import sqlite3
import threading
import time
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from threading import get_ident
from typing import (
    Any,
    Concatenate,
    Final,
    ParamSpec,
    Self,
    TypeVar,
)

import attrs

from funnelkit._criteria import TransitionRecord
from funnelkit._events import Event, Input, LeadState, Tick, moves_problem
from funnelkit._frozen import Deferred
from funnelkit._lead import Activity, Lead, add_in_time_order
from funnelkit._scoring import (
    Contribution,
    Score,
    _held_dimensions,
    _ledger_once,
    ledger_rows,
)
from funnelkit._store import (
    _SCAN,
    Commit,
    check_activity_id,
    check_commit,
    has_id,
)
from funnelkit._time import require_aware, utc_micros
from funnelkit._validators import check_count, unchecked
from funnelkit.errors import (
    SerializationError,
    StoreBusy,
    StoreError,
    StoreFormatError,
    SubscriberError,
    ValidationError,
)
from funnelkit.serialization import (
    _activity_json,
    _decode,
    _from_stored_json,
    converter,
    structure,
    to_json,
    unstructure,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

#: Seconds between tries to turn write-ahead logging on (see SQLiteStore._wal).
_WAL_RETRY = 0.01

#: The schema version this funnelkit writes, and the newest it reads.
SCHEMA_VERSION: Final = 2

_FORMAT = "funnelkit store"
_META = "funnelkit_store"

#: ``_MIGRATIONS[n]`` takes a store from schema version ``n`` to ``n + 1``;
#: a new file runs them all. A later schema appends a step, never edits one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE funnelkit_store (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # One row per lead, in the order they were added; ``wake_us`` (UTC
        # microseconds) is the due-time index.
        (
            "CREATE TABLE leads (number INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " state TEXT NOT NULL, wake TEXT, wake_us INTEGER)"
        ),
        "CREATE INDEX leads_by_wake ON leads (wake_us, id) WHERE wake_us IS NOT NULL",
        # The input log, with the lead each input is about (so that another
        # process's changes can be found); an activity's text lives once, in
        # ``activities``.
        (
            "CREATE TABLE inputs (seq INTEGER PRIMARY KEY, type TEXT NOT NULL,"
            " lead_id TEXT, activity_id TEXT, body TEXT)"
        ),
        # Each lead's activities, in order: one b-tree, written in place.
        (
            "CREATE TABLE activities (lead_id TEXT NOT NULL, at_us INTEGER NOT NULL,"
            " id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (lead_id, at_us, id))"
            " WITHOUT ROWID"
        ),
    ),
    # 2: a state in parts. The lead and its history, which most calls leave
    # as they were, in columns of their own, written only when changed; the
    # score's ledger too, read only when asked for (a tick reads thousands
    # of states and none of their ledgers). A row without them (NULL:
    # written before) has its state whole.
    (
        "ALTER TABLE leads ADD COLUMN lead TEXT",
        "ALTER TABLE leads ADD COLUMN history TEXT",
        "ALTER TABLE leads ADD COLUMN ledger TEXT",
    ),
)

_SYNCHRONOUS = ("FULL", "NORMAL")
# The wake written for a lead the file has no row of.
_ABSENT: Final = object()
# Leads read ahead per query (SQLite allows 999 parameters or more).
_CHUNK = 500

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")


def _translated(
    method: Callable[Concatenate[SQLiteStore, _P], _R],
) -> Callable[Concatenate[SQLiteStore, _P], _R]:
    """Turn the sqlite3 errors *method* meets into funnelkit's store errors."""

    def run(self: SQLiteStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise self._error(error) from error

    run.__name__ = method.__name__
    run.__qualname__ = method.__qualname__
    run.__doc__ = method.__doc__
    return run


class _Entry:
    """One lead as the store last read or wrote it."""

    __slots__ = ("activities", "columns", "ids", "state", "wake", "written")

    def __init__(
        self,
        state: LeadState | None,
        wake: datetime | None,
        activities: list[Activity] | None,
    ) -> None:
        self.state = state
        self.wake = wake
        # ``None`` until first asked for (or known empty, for a new lead).
        self.activities = activities
        # The seen ids, made once the list is too long to scan.
        self.ids: set[str] | None = None
        # The wake as the file has it (_ABSENT: the file has no row).
        self.written: datetime | object | None = _ABSENT if state is None else wake
        # The lead and history the file's row has in their own columns (None:
        # it has none, or they are not known).
        self.columns: tuple[Lead, tuple[TransitionRecord, ...]] | None = None


class SQLiteStore:
    """A funnel's state in one SQLite file: durable, crash-safe, shareable.

    Args:
        path: The file (made if missing; ``":memory:"`` for a store that
            lasts as long as the object, which tests use).
        timeout: How long, in seconds, a call waits for another writer (a
            funnel in another process) before it raises
            :class:`~funnelkit.errors.StoreBusy`.
        synchronous: ``"FULL"`` (the default): a call that returned survives
            a power cut; ``"NORMAL"``: it survives the process being killed,
            but the last calls before a power cut may be lost (never the
            file's consistency). Many times faster per call.
        cache_size: How many leads the store keeps decoded in memory (the
            least recently used are dropped first).

    Each engine call is one SQLite transaction, begun with the write lock
    (``BEGIN IMMEDIATE``) before the call reads and committed with its
    change: a call commits whole or not at all. The file is in WAL mode:
    one writer at a time, while readers go on. Several processes can share
    the file; each call sees every change committed before it, and a writer
    that waits longer than *timeout* gets :class:`~funnelkit.errors.StoreBusy`
    (nothing changed, the call can be retried). Within one process, give
    every thread the same store and funnel: the funnel serialises its calls.

    Loading history is faster in a :meth:`batch`, one transaction for many
    calls. A state read from the file decodes its score's contributions
    (the ledger) and its history of moves when they are first used: a tick
    wakes thousands of leads and reads neither.

    Raises:
        StoreFormatError: the file is not a funnelkit store, or one written
            by a newer funnelkit, or it is damaged (a damaged ledger or
            history, when it is first used).
        StoreBusy: another process held the file for longer than *timeout*
            while it was being made.
        ValidationError: a bad argument.

    >>> from datetime import UTC, datetime
    >>> from funnelkit import Funnel, Lead, policies
    >>> from funnelkit.testing import ManualClock
    >>> t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    >>> store = SQLiteStore(":memory:")
    >>> funnel = Funnel(policies.b2b_saas(), store=store, clock=ManualClock(t0))
    >>> _ = funnel.add_lead(Lead("L-1", t0))
    >>> store.state("L-1").stage
    'lead'
    >>> store
    <funnelkit.SQLiteStore ':memory:' leads=1 schema=2>
    >>> store.close()
    """

    __slots__ = (
        "_after",
        "_batch",
        "_cache",
        "_cache_size",
        "_closed",
        "_connection",
        "_count",
        "_dirty",
        "_holder",
        "_holding",
        "_last_tick",
        "_lock",
        "_name",
        "_pending",
        "_pending_activities",
        "_policy",
        "_seq",
        "_timeout",
        "_version",
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        synchronous: str = "FULL",
        cache_size: int = 100_000,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise ValidationError(
                owner="SQLiteStore",
                field="path",
                value=path,
                expected="a file path (str or os.PathLike), or ':memory:'",
            )
        if type(timeout) not in (int, float) or not 0 <= timeout < float("inf"):
            raise ValidationError(
                owner="SQLiteStore",
                field="timeout",
                value=timeout,
                expected="a number of seconds, 0 or more",
            )
        if synchronous not in _SYNCHRONOUS:
            raise ValidationError(
                owner="SQLiteStore",
                field="synchronous",
                value=synchronous,
                expected="'FULL' or 'NORMAL'",
            )
        check_count(
            cache_size,
            owner="SQLiteStore",
            field="cache_size",
            expected="a whole number of leads, 1 or more",
        )
        self._name = os.fspath(path)
        if "\x00" in self._name:
            raise ValidationError(
                owner="SQLiteStore",
                field="path",
                value=path,
                expected="a file path without NUL characters",
            )
        self._timeout = float(timeout)
        self._cache_size = cache_size
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        # Whether a funnel call (or a batch) holds the write transaction.
        self._holding = False
        # The thread that holds the store (for a call or a batch), if any.
        self._holder: int | None = None
        self._batch = False
        # What to call when the batch ends (written or not): see after_batch.
        self._after: list[Callable[[bool], object]] = []
        # A batch's changes, written when it ends (or before a query needs
        # them): the log's rows, made as each call commits (plain values,
        # which the cyclic garbage collector soon stops tracking), the
        # activities, whose rows are made and sorted when written, and the
        # leads the calls changed.
        self._pending: list[tuple[int, str, str | None, str | None, str | None]] = []
        self._pending_activities: list[Activity] = []
        self._dirty: dict[str, _Entry] = {}
        self._count: int | None = None
        self._seq = 0
        self._version = -1
        self._policy: str | None = None
        # The instant of the last tick in the log, as the file writes it.
        self._last_tick: str | None = None
        self._closed = False
        try:
            self._connection = sqlite3.connect(
                self._name,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise StoreError(
                path=self._name, problem=f"cannot open the file ({error})"
            ) from error
        try:
            self._open(synchronous)
        except BaseException:
            self._connection.close()
            raise

    @_translated
    def _open(self, synchronous: str) -> None:
        run = self._connection.execute
        found = self._schema()
        self._wal()
        run(f"PRAGMA synchronous={synchronous}")
        if found < SCHEMA_VERSION:
            # A failure leaves the transaction open: __init__ closes the
            # connection, which rolls it back.
            run("BEGIN IMMEDIATE")
            _migrate(self._connection, self._schema(), _MIGRATIONS)
            run("COMMIT")
        self._sync()

    def _wal(self) -> None:
        """Turn write-ahead logging on, waiting up to the timeout for the file.

        SQLite does not wait on its busy timeout for this: another process
        opening the same new file at that moment would make it fail at once.
        """
        waited = 0.0
        while True:
            try:
                self._connection.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                if waited >= self._timeout:
                    raise
                time.sleep(_WAL_RETRY)
                waited += _WAL_RETRY
            else:
                return

    def _schema(self) -> int:
        """Return the file's schema version, 0 for an empty file.

        Read in one transaction, so that another process creating the file
        meanwhile is seen whole or not at all.

        Raises:
            StoreFormatError: the file is not a funnelkit store this version
                can read.
        """
        connection = self._connection
        if connection.in_transaction:
            return self._read_schema()
        connection.execute("BEGIN")
        try:
            return self._read_schema()
        finally:
            connection.execute("COMMIT")

    def _read_schema(self) -> int:
        run = self._connection.execute
        tables = sorted(
            name
            for (name,) in run("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        if not tables:
            # Empty of tables: a new file, unless another program has claimed
            # it (its views, its application id or version number).
            others = sorted(
                f"{kind} {name}"
                for kind, name in run("SELECT type, name FROM sqlite_master")
            )
            (application,) = run("PRAGMA application_id").fetchone()
            (user,) = run("PRAGMA user_version").fetchone()
            if others or application or user:
                raise StoreFormatError(
                    path=self._name,
                    problem="not a funnelkit store (it holds "
                    + ", ".join(
                        [
                            *others[:8],
                            *([f"application_id {application}"] if application else []),
                            *([f"user_version {user}"] if user else []),
                        ]
                    )
                    + ")",
                )
            return 0
        if _META not in tables:
            raise StoreFormatError(
                path=self._name,
                problem="not a funnelkit store (its tables: "
                + ", ".join(tables[:8])
                + (", ..." if len(tables) > 8 else "")  # noqa: PLR2004 -- a short list
                + ")",
            )
        meta = dict(self._connection.execute("SELECT key, value FROM funnelkit_store"))
        version = meta.get("schema", "")
        if meta.get("format") != _FORMAT or not version.isdigit():
            raise StoreFormatError(
                path=self._name,
                problem=f"not a funnelkit store (its {_META} table does not say so)",
            )
        if int(version) > SCHEMA_VERSION:
            raise StoreFormatError(
                path=self._name,
                problem=(
                    f"written by a newer funnelkit (schema version {version}; "
                    f"this one reads up to {SCHEMA_VERSION}): upgrade funnelkit"
                ),
            )
        return int(version)

    def __repr__(self) -> str:
        if self._closed:
            return f"<funnelkit.SQLiteStore {self._name!r} closed>"
        return (
            f"<funnelkit.SQLiteStore {self._name!r} leads={len(self)} "
            f"schema={SCHEMA_VERSION}>"
        )

    @property
    def path(self) -> str:
        """The store's file."""
        return self._name

    @property
    def cache_size(self) -> int:
        """How many leads the store keeps decoded in memory.

        A funnel on the store keeps as many leads' scorers (see
        :class:`~funnelkit.Funnel`'s *scorers*), so that its memory, too,
        stays bounded however many leads the file holds.
        """
        return self._cache_size

    @property
    def lock(self) -> threading.RLock:
        """The store's re-entrant lock, which a funnel on it takes as its own.

        A thread in a :meth:`batch` holds it, so a funnel call from another
        thread waits for the batch before it takes anything: the two never
        wait on each other.
        """
        return self._lock

    def after_batch(self, callback: Callable[[bool], object]) -> bool:
        """Call *callback* when the open batch ends; whether one is open.

        Inside a :meth:`batch`, keep *callback* and return ``True``: it is
        called once, with ``True`` after the batch is written, or ``False``
        after it is rolled back (a funnel then gives its subscribers the
        batch's events, or forgets them). Outside a batch, return ``False``:
        each call is written when it ends.

        Raises:
            ValidationError: *callback* is not callable.
        """
        if not callable(callback):
            raise ValidationError(
                owner="SQLiteStore.after_batch",
                field="callback",
                value=callback,
                expected="a function of one bool (whether the batch was written)",
            )
        with self._lock:
            if not self._batch:
                return False
            self._after.append(callback)
            return True

    # -- Life cycle --------------------------------------------------------------

    def close(self) -> None:
        """Close the file; the store cannot be used after (closing twice is fine).

        Raises:
            StoreError: a batch is still open.
        """
        with self._lock:
            if self._batch:
                raise StoreError(
                    path=self._name, problem="close() inside a batch: end it first"
                )
            self._connection.close()
            self._closed = True
            self._forget()

    def __enter__(self) -> Self:
        """Use the store in a ``with`` block, which closes it."""
        return self

    def __exit__(self, *_: object) -> None:
        """Close the store."""
        self.close()

    @contextmanager
    def _hold(self) -> Iterator[None]:
        with self._lock:
            if self._holding:  # inside a batch, or a subscriber's nested call
                yield
                return
            self._check_open()
            try:
                self._begin()
                self._holding = True
                self._holder = get_ident()
                yield
            except Exception:
                raise
            except BaseException:
                # An interrupt may have landed anywhere in the store's own
                # steps, its COMMIT included: what it holds of the file (the
                # log's last number, decoded leads) is read afresh.
                self._forget()
                raise
            finally:
                self._holding = False
                self._holder = None
                if self._connection.in_transaction:  # the call did not commit
                    self._end("ROLLBACK")

    def _check_open(self) -> None:
        """Refuse to begin a transaction on a closed store.

        Raises:
            StoreError: the store is closed (sqlite3 would raise its own
                error, from the clean-up too).
        """
        if self._closed:
            raise StoreError(path=self._name, problem="the store is closed")

    def transaction(self) -> AbstractContextManager[object]:
        """Return a context that holds the write lock for one engine call.

        The funnel enters it around each call; :meth:`commit` commits the
        call's change, and leaving without a commit rolls back. Inside a
        :meth:`batch` it does nothing: the batch holds the lock.
        """
        return self._hold()

    @contextmanager
    def batch(self) -> Iterator[SQLiteStore]:
        """Make every call in the block one transaction, written at its end.

        For loading history: a million activities pay one commit, not a
        million, and a lead's state is written once however many of its
        activities the block records. Each call still changes all or
        nothing (a call that raises is not in the batch); if the block
        raises, the whole batch is rolled back and the error goes on. Other
        processes see the batch when it ends; other threads of this process
        wait for it.

        A funnel on the store gives its subscribers the batch's events once
        it is written, as the block ends: their errors (a
        :class:`~funnelkit.errors.SubscriberError`) are raised then, the
        batch written.

        Raises:
            StoreError: a batch inside a funnel call, or inside a batch.
            StoreBusy: another writer held the file for longer than the
                store's timeout.
            SubscriberError: subscribers of the funnels on the store failed
                on the batch's events (the batch is written).
        """
        with self._lock:
            if self._holding:
                raise StoreError(
                    path=self._name,
                    problem="batch() inside a funnel call or another batch",
                )
            self._check_open()
            began = False
            try:
                self._begin()
                began = True
                self._holding = self._batch = True
                self._holder = get_ident()
                yield self
                self._flush()
                self._end("COMMIT")
            except BaseException as error:
                # Written if an interrupt landed after its COMMIT. An error
                # (a full disk, an I/O error) may end the transaction too,
                # without writing it: then it was not.
                written = (
                    began
                    and not isinstance(error, Exception)
                    and not self._connection.in_transaction
                )
                if self._connection.in_transaction:
                    self._end("ROLLBACK")
                # Decoded leads may hold changes that were rolled back.
                self._forget()
                self._ended(written=written)
                raise
            finally:
                self._holding = self._batch = False
                self._holder = None
            self._ended(written=True)

    def _ended(self, *, written: bool) -> None:
        """Call what :meth:`after_batch` kept, each once, then raise any error.

        Every callback runs, whatever the others raise (an interrupt too).
        An interrupt is raised first; one error as it is; the errors of
        several (funnels whose subscribers failed) as one SubscriberError
        holding all their errors and events.
        """
        callbacks, self._after = self._after, []
        errors: list[Exception] = []
        interrupts: list[BaseException] = []
        for callback in callbacks:
            try:
                callback(written)
            except Exception as error:  # noqa: BLE001 -- raised after the others ran
                errors.append(error)
            except BaseException as error:  # noqa: BLE001 -- as above
                interrupts.append(error)
        if interrupts:
            raise interrupts[0]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            inner: list[Exception] = []
            events: list[Event] = []
            for found in errors:
                if isinstance(found, SubscriberError):
                    inner += found.exceptions
                    events += found.events
                else:
                    inner.append(found)
            raise SubscriberError(
                f"{len(inner)} calls failed after the batch was written", inner, events
            )

    @_translated
    def _begin(self) -> None:
        """Begin a write transaction and catch up with other writers' changes."""
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._sync()
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise

    @_translated
    def _end(self, how: str) -> None:
        self._connection.execute(how)

    def _sync(self) -> None:
        """Forget the decoded leads that another connection changed since."""
        (version,) = self._connection.execute("PRAGMA data_version").fetchone()
        if version == self._version:
            return
        self._version = version
        seq = self._connection.execute(
            "SELECT coalesce(max(seq), 0) FROM inputs"
        ).fetchone()[0]
        if seq != self._seq:
            if self._cache:
                changed = [
                    lead_id
                    for (lead_id,) in self._connection.execute(
                        "SELECT DISTINCT lead_id FROM inputs WHERE seq > ?",
                        (self._seq,),
                    )
                ]
                if None in changed:  # a tick, which may change any lead
                    self._cache.clear()
                for lead_id in changed:
                    self._cache.pop(lead_id, None)
            self._seq = seq
            self._count = None
        meta = dict(
            self._connection.execute(
                "SELECT key, value FROM funnelkit_store"
                " WHERE key IN ('policy', 'last_tick')"
            )
        )
        self._policy = meta.get("policy")
        self._last_tick = meta.get("last_tick")

    def _forget(self) -> None:
        """Drop every decoded lead and pending change: read the file again."""
        self._cache.clear()
        self._dirty.clear()
        self._pending.clear()
        self._pending_activities.clear()
        self._count = None
        self._version = -1
        self._seq = -1

    # -- Queries -------------------------------------------------------------------

    def _entry(self, lead_id: str, owner: str) -> _Entry:
        """Return the lead's entry, decoding it from the file if not at hand.

        *owner* is the public method asking, which a bad *lead_id* names.
        """
        # The thread holding the store for a call needs no lock nor sync.
        if self._holder == get_ident():
            try:
                entry = self._cache.get(lead_id)
            except TypeError:  # unhashable: _find refuses it
                entry = None
            if entry is not None:
                self._cache.move_to_end(lead_id)
                return entry
        return self._find(lead_id, owner)

    @_translated
    def _find(self, lead_id: str, owner: str) -> _Entry:
        if type(lead_id) is not str:
            raise ValidationError(
                owner=owner,
                field="lead_id",
                value=lead_id,
                expected="a lead's id (a string)",
            )
        with self._lock:
            if not self._holding:
                self._sync()
            cache = self._cache
            entry = cache.get(lead_id)
            if entry is not None:
                cache.move_to_end(lead_id)
                return entry
            entry = self._dirty.get(lead_id)
            if entry is None:
                entry = self._load(lead_id)
            cache[lead_id] = entry
            if len(cache) > self._cache_size:
                # A lead a batch changed stays in _dirty until written.
                cache.popitem(last=False)
            return entry

    def _load(self, lead_id: str) -> _Entry:
        if not _has_utf8(lead_id):  # not in the file, which could not hold it
            return _Entry(None, None, None)
        row = self._connection.execute(
            "SELECT state, lead, history, ledger, wake FROM leads WHERE id = ?",
            (lead_id,),
        ).fetchone()
        if row is None:
            return _Entry(None, None, None)
        return self._read(lead_id, row, None)

    def _read(
        self,
        lead_id: str,
        row: Sequence[Any],
        activities: list[Activity] | None,
    ) -> _Entry:
        """Decode a lead's row (and its activities, if read with it).

        The row's columns are the state, lead, history, ledger and wake.
        """
        text, lead, history, ledger, wake = row
        what = f"the state of lead {lead_id!r}"
        if lead is None:  # a row written before schema 2: the state whole
            state = self._decode(text, LeadState, what)
        else:
            try:
                data = _decode(text)
                data["lead"] = _decode(lead)
                # The history is decoded when first used (a tick reads none).
                data["history"] = []
                state = structure(data, LeadState)
            except (ValueError, TypeError) as error:  # SerializationError is one
                raise StoreFormatError(
                    path=self._name, problem=f"{what} cannot be read: {error}"
                ) from error
            state = _with_ledger(
                state,
                _StoredLedger(ledger, self._name, lead_id),
                _StoredHistory(history, self._name, lead_id, state),
            )
        entry = _Entry(
            state,
            None
            if wake is None
            else self._decode_at(wake, f"the wake of lead {lead_id!r}"),
            activities,
        )
        if lead is not None:
            entry.columns = (state.lead, state.history)
        return entry

    def _read_ahead(self, lead_ids: list[str]) -> None:
        """Decode the leads a tick is about to read, a few hundred per query.

        Called only while a funnel call holds the store, so that what is
        read stays true until the call ends; at most a cache's worth.
        """
        cache, dirty = self._cache, self._dirty
        missing = [
            lead_id
            for lead_id in lead_ids
            if lead_id not in cache and lead_id not in dirty
        ][: self._cache_size]
        run = self._connection.execute
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found: dict[str, list[Activity]] = {lead_id: [] for lead_id in chunk}
            for lead_id, body in run(_ACTIVITIES_OF.format(marks), chunk):
                found[lead_id].append(self._decode_activity(body, lead_id))
            for lead_id, *row in run(_LEADS_OF.format(marks), chunk):
                cache[lead_id] = self._read(lead_id, row, found[lead_id])
                if len(cache) > self._cache_size:
                    cache.popitem(last=False)

    def _decode(self, text: str, cls: type[Any], what: str) -> Any:  # noqa: ANN401 -- a cls
        try:
            return _from_stored_json(text, cls)
        except SerializationError as error:
            raise StoreFormatError(
                path=self._name, problem=f"{what} cannot be read: {error}"
            ) from error

    def _decode_activity(self, text: str, lead_id: str) -> Activity:
        """Decode an activity of the lead; the words naming it only for an error."""
        try:
            return _from_stored_json(text, Activity)
        except SerializationError:
            return self._decode(text, Activity, f"an activity of lead {lead_id!r}")  # type: ignore[no-any-return] # it raises

    def _decode_at(self, text: str, what: str) -> datetime:
        """Decode an instant the file writes as text; *what* names it for an error."""
        try:
            return structure(text, datetime)
        except SerializationError as error:
            raise StoreFormatError(
                path=self._name, problem=f"{what} cannot be read: {error}"
            ) from error

    def state(self, lead_id: str, /) -> LeadState | None:
        """Return the lead's state, or ``None`` for an unknown id.

        Raises:
            ValidationError: *lead_id* is not a string.
        """
        return self._entry(lead_id, "SQLiteStore.state").state

    def activities(self, lead_id: str, /) -> Sequence[Activity]:
        """Return the lead's activities, ordered by instant, then id.

        A tuple: later calls leave it as it is, and it cannot change the store.

        Raises:
            ValidationError: *lead_id* is not a string.
        """
        with self._lock:
            entry = self._entry(lead_id, "SQLiteStore.activities")
            return tuple(self._activities(entry, lead_id))

    def _activities(self, entry: _Entry, lead_id: str) -> list[Activity]:
        found = entry.activities
        if found is None:
            found = entry.activities = self._read_activities(lead_id)
        return found

    @_translated
    def _read_activities(self, lead_id: str) -> list[Activity]:
        if not _has_utf8(lead_id):  # not in the file, which could not hold it
            return []
        return [
            self._decode_activity(body, lead_id)
            for (body,) in self._connection.execute(
                "SELECT body FROM activities WHERE lead_id = ? ORDER BY at_us, id",
                (lead_id,),
            )
        ]

    def has_activity(self, lead_id: str, activity_id: str, /) -> bool:
        """Whether the lead has an activity with this id.

        Raises:
            ValidationError: *lead_id* or *activity_id* is not a string.
        """
        owner = "SQLiteStore.has_activity"
        with self._lock:
            entry = self._entry(lead_id, owner)
            found = self._activities(entry, lead_id)
            if len(found) > _SCAN:
                if entry.ids is None:
                    entry.ids = {activity.id for activity in found}
                return has_id(entry.ids, activity_id, owner)
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
        return self._entry(lead_id, "SQLiteStore.wake").wake

    @_translated
    def due(self, now: datetime, /) -> list[tuple[datetime, str]]:
        """Return ``(wake, lead_id)`` for wakes at or before *now*, by instant, then id.

        An index on the wakes' instants answers it: the cost grows with the
        leads due, not with the leads in the file.

        Raises:
            ValidationError: *now* is not an aware datetime.
        """
        require_aware(now, field="now", owner="SQLiteStore.due")
        with self._lock:
            self._ready()
            found = [
                (self._decode_at(wake, f"the wake of lead {lead_id!r}"), lead_id)
                for lead_id, wake in self._connection.execute(
                    "SELECT id, wake FROM leads WHERE wake_us <= ?"
                    " ORDER BY wake_us, id",
                    (utc_micros(now),),
                )
            ]
            if self._holding:  # a funnel's tick, which reads every lead due
                self._read_ahead([lead_id for _, lead_id in found])
            return found

    @_translated
    def inputs(self) -> Iterator[Input]:
        """Iterate over the input log, oldest first (read a thousand at a time)."""
        with self._lock:
            self._ready()
        return self._inputs()

    def _inputs(self) -> Iterator[Input]:
        last = 0
        while True:
            with self._lock:
                rows = self._query_inputs(last)
            if not rows:
                return
            for seq, body, activity in rows:
                if body is not None:
                    yield self._decode(body, Input, f"input {seq}")  # type: ignore[arg-type] # a union, as structure() takes it
                elif activity is None:
                    raise StoreFormatError(
                        path=self._name,
                        problem=f"input {seq} is an activity the file does not hold",
                    )
                else:
                    yield self._decode(activity, Activity, f"input {seq}")
            last = rows[-1][0]

    @_translated
    def _query_inputs(self, after: int) -> list[tuple[int, str | None, str | None]]:
        return self._connection.execute(
            "SELECT inputs.seq, inputs.body, activities.body FROM inputs"
            " LEFT JOIN activities ON inputs.body IS NULL"
            " AND activities.lead_id = inputs.lead_id"
            " AND activities.id = inputs.activity_id"
            " WHERE inputs.seq > ? ORDER BY inputs.seq LIMIT 1000",
            (after,),
        ).fetchall()

    @_translated
    def lead_ids(self) -> Iterator[str]:
        """Iterate over the ids of the leads, in the order they were added."""
        with self._lock:
            self._ready()
            found = [
                lead_id
                for (lead_id,) in self._connection.execute(
                    "SELECT id FROM leads ORDER BY number"
                )
            ]
            if not all(type(lead_id) is str for lead_id in found):
                raise StoreFormatError(
                    path=self._name,
                    problem="the file is damaged: a lead's id is not text",
                )
            return iter(found)

    @_translated
    def verify(self) -> None:
        """Read the whole file through, and raise if any of it is damaged.

        SQLite's ``quick_check``: every page, row and index entry is read, so
        it takes time in proportion to the file (about a second for a few
        hundred megabytes). Opening a store reads only what it needs, so damage
        deep inside the file shows only when that part is read; a host in
        doubt (after a disk fault, or before a backup) calls this first.

        Raises:
            StoreFormatError: the file is damaged (the first problems found).
        """
        with self._lock:
            self._ready()
            problems = [
                text
                for (text,) in self._connection.execute("PRAGMA quick_check(8)")
                if text != "ok"
            ]
            if problems:
                raise StoreFormatError(
                    path=self._name,
                    problem="the file is damaged: " + "; ".join(problems),
                )

    @_translated
    def __len__(self) -> int:
        """The number of leads."""
        with self._lock:
            if not self._holding:
                self._sync()
            if self._count is None:
                self._flush()
                self._count = self._connection.execute(
                    "SELECT count(*) FROM leads"
                ).fetchone()[0]
            return self._count

    @_translated
    def last_tick(self) -> datetime | None:
        """Return the instant of the last tick in the log, if any.

        Raises:
            StoreFormatError: the file's record of it is damaged.
        """
        with self._lock:
            if not self._holding:
                self._sync()
            text = self._last_tick
        if text is None:
            return None
        return self._decode_at(text, "the instant of the last tick")

    @_translated
    def written_under(self) -> str | None:
        """Return the policy fingerprint of the last commit that gave one."""
        with self._lock:
            if not self._holding:
                self._sync()
            return self._policy

    def _ready(self) -> None:
        """Bring the file up to date before a query of it: others', a batch's."""
        if self._holding:
            self._flush()
        else:
            self._sync()

    # -- Changes -------------------------------------------------------------------

    @_translated
    def commit(self, change: Commit, /) -> None:
        """Apply *change* and append its input to the log, all or nothing.

        Outside a batch the change is committed to the file before this
        returns; in a batch, it is written when the batch ends.

        Raises:
            ValidationError: *change* is not a :class:`~funnelkit.Commit`.
        """
        if type(change) is not Commit:
            check_commit(change, "SQLiteStore.commit")
        with self._lock:
            own = not self._holding
            if own:  # a commit outside a funnel call: its own transaction
                self._begin()
            try:
                self._apply(change)
            except BaseException:
                # In a funnel call or a batch, whoever began it rolls back.
                if own and self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    def _apply(self, change: Commit) -> None:
        _check_ids(change)
        seq = self._seq + 1
        entries: dict[str, _Entry] = {}
        for lead_id in (
            *(state.lead.id for state in change.states),
            *(lead_id for lead_id, _ in change.wakes),
            *(activity.lead_id for activity in change.activities),
        ):
            if lead_id not in entries:
                entries[lead_id] = self._entry(lead_id, "SQLiteStore.commit")
        for activity in change.activities:
            self._activities(entries[activity.lead_id], activity.lead_id)
        if self._batch:
            self._pending.append(_input_row(seq, change.input, change.activities))
            self._pending_activities += change.activities
        else:
            self._write(seq, change, entries)
        # Written (or queued in the batch): now the decoded leads follow.
        self._seq = seq
        if change.policy is not None:
            self._policy = change.policy
        if type(change.input) is Tick:
            self._last_tick = unstructure(change.input.now)
        added = _follow(change, entries)
        if self._count is not None:
            self._count += added
        if self._batch:
            self._dirty.update(entries)
        else:
            _written(change, entries)

    def _write(self, seq: int, change: Commit, entries: dict[str, _Entry]) -> None:
        """Write one commit and commit the transaction."""
        states = {state.lead.id: state for state in change.states}
        wakes = dict(change.wakes)
        connection = self._connection
        connection.execute(
            _INSERT_INPUT, _input_row(seq, change.input, change.activities)
        )
        connection.executemany(_INSERT_ACTIVITY, map(_activity_row, change.activities))
        # A tick writes thousands of leads: one statement per kind of write.
        grouped: dict[str, list[tuple[object, ...]]] = {}
        for lead_id, entry in entries.items():
            wake = wakes.get(lead_id, entry.wake)
            state = states.get(lead_id)
            if state is not None:
                statement, row = _lead_write(lead_id, state, wake, entry)
                grouped.setdefault(statement, []).append(row)
            elif entry.written is not _ABSENT and not _same_wake(wake, entry.written):
                grouped.setdefault(_SET_WAKE, []).append(
                    (*_wake_columns(wake), lead_id)
                )
        for statement, rows in grouped.items():
            connection.executemany(statement, rows)
        if change.policy is not None and change.policy != self._policy:
            connection.execute(_UPSERT_META, ("policy", change.policy))
        if type(change.input) is Tick:
            connection.execute(
                _UPSERT_META, ("last_tick", unstructure(change.input.now))
            )
        connection.execute("COMMIT")

    @_translated
    def _flush(self) -> None:
        """Write a batch's pending changes (still inside its transaction)."""
        if not self._pending:
            return
        connection = self._connection
        connection.executemany(_INSERT_INPUT, self._pending)
        # In key order, the rows go into the tables' trees page after page,
        # where arrival order (by time) would land them all over the file.
        connection.executemany(
            _INSERT_ACTIVITY, _in_key_order(self._pending_activities)
        )
        grouped: dict[str, list[tuple[object, ...]]] = {}
        # New leads in the order they were added (their rows' numbers keep
        # it, for lead_ids), then the others in key order.
        dirty = self._dirty.items()
        for lead_id, entry in (
            *((key, entry) for key, entry in dirty if entry.written is _ABSENT),
            *sorted(
                ((key, entry) for key, entry in dirty if entry.written is not _ABSENT),
                key=_first,
            ),
        ):
            if entry.state is None:  # a wake or activity for a lead not held
                continue
            statement, row = _lead_write(lead_id, entry.state, entry.wake, entry)
            grouped.setdefault(statement, []).append(row)
            entry.written = entry.wake
            entry.columns = (entry.state.lead, entry.state.history)
        for statement, rows in grouped.items():
            connection.executemany(statement, rows)
        if self._policy is not None:
            connection.execute(_UPSERT_META, ("policy", self._policy))
        if self._last_tick is not None:
            connection.execute(_UPSERT_META, ("last_tick", self._last_tick))
        self._pending.clear()
        self._pending_activities.clear()
        self._dirty.clear()

    def _error(self, error: sqlite3.Error) -> StoreError:
        """The store error for what sqlite3 raised."""
        name = getattr(error, "sqlite_errorname", None) or ""
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return StoreBusy(path=self._name, waited=self._timeout)
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or str(
            error
        ).startswith("Could not decode to UTF-8"):
            # The text columns funnelkit writes are UTF-8: other bytes are damage.
            return StoreFormatError(
                path=self._name,
                problem=f"the file is damaged or not a database ({error})",
            )
        if isinstance(error, sqlite3.ProgrammingError):
            return StoreError(path=self._name, problem=f"the store is closed ({error})")
        return StoreError(path=self._name, problem=str(error))


_first = operator.itemgetter(0)  # a dirty lead's id
_INSERT_ACTIVITY = (
    "INSERT INTO activities (lead_id, at_us, id, body) VALUES (?, ?, ?, ?)"
)
_INSERT_INPUT = (
    "INSERT INTO inputs (seq, type, lead_id, activity_id, body) VALUES (?, ?, ?, ?, ?)"
)
_INSERT_LEAD = (
    "INSERT INTO leads (id, state, ledger, lead, history, wake, wake_us)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SET_WAKE = "UPDATE leads SET wake = ?, wake_us = ? WHERE id = ?"
# Statements on a list of leads, given as {} their "?" marks.
_ACTIVITIES_OF = (
    "SELECT lead_id, body FROM activities WHERE lead_id IN ({})"
    " ORDER BY lead_id, at_us, id"
)
_LEADS_OF = "SELECT id, state, lead, history, ledger, wake FROM leads WHERE id IN ({})"
_UPSERT_META = (
    "INSERT INTO funnelkit_store (key, value) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def _follow(change: Commit, entries: dict[str, _Entry]) -> int:
    """Bring the decoded leads up to *change*, once written; return how many are new."""
    added = 0
    for state in change.states:
        entry = entries[state.lead.id]
        added += entry.state is None
        entry.state = state
    for lead_id, at in change.wakes:
        entries[lead_id].wake = at
    for activity in change.activities:
        entry = entries[activity.lead_id]
        assert entry.activities is not None  # noqa: S101 -- read before writing
        add_in_time_order(entry.activities, activity)
        if entry.ids is not None:
            entry.ids.add(activity.id)
    return added


def _written(change: Commit, entries: dict[str, _Entry]) -> None:
    """The decoded leads now say what the file has: their wakes, their columns."""
    for entry in entries.values():
        if entry.state is not None:
            entry.written = entry.wake
    for state in change.states:
        entries[state.lead.id].columns = (state.lead, state.history)


_ActivityRow = tuple[str, int, str, str]


def _activity_row(activity: Activity) -> _ActivityRow:
    return (
        activity.lead_id,
        utc_micros(activity.at),
        activity.id,
        _utf8(_activity_json(activity)),
    )


def _in_key_order(activities: Iterable[Activity]) -> Iterator[_ActivityRow]:
    """The rows of *activities*, in the order of the table's key.

    Grouped by lead first, then each lead's few rows sorted (by time and id:
    they come mostly in that order already, which a sort sees in one pass):
    for a million rows, about a third less time than one sort of them all.
    """
    by_lead: dict[str, list[_ActivityRow]] = {}
    for row in map(_activity_row, activities):
        rows = by_lead.get(row[0])
        if rows is None:
            by_lead[row[0]] = [row]
        else:
            rows.append(row)
    for lead_id in sorted(by_lead):
        rows = by_lead[lead_id]
        rows.sort()
        yield from rows


def _same_wake(one: datetime | None, other: datetime | object | None) -> bool:
    """Whether two wakes are the same instant in the same zone (so, the same text)."""
    if one is None or not isinstance(other, datetime):
        return one is other
    return utc_micros(one) == utc_micros(other) and one.tzinfo == other.tzinfo


def _lead_write(
    lead_id: str, state: LeadState, wake: datetime | None, entry: _Entry
) -> tuple[str, tuple[object, ...]]:
    """The statement writing a lead's row: only the columns that changed.

    The lead and its history are written when they are not the ones the
    row has; the wake index is touched only if need be.
    """
    text, ledger = _state_columns(state)
    if entry.written is _ABSENT:
        return _INSERT_LEAD, (
            lead_id,
            text,
            ledger,
            _encode(_write_lead(state.lead)),
            _encode(_write_history(state.history)),
            *_wake_columns(wake),
        )
    names = ["state", "ledger"]
    values: list[object] = [text, ledger]
    columns = entry.columns
    if columns is None or state.lead is not columns[0]:
        names.append("lead")
        values.append(_encode(_write_lead(state.lead)))
    if columns is None or state.history is not columns[1]:
        names.append("history")
        values.append(_encode(_write_history(state.history)))
    if not _same_wake(wake, entry.written):
        names += ("wake", "wake_us")
        values += _wake_columns(wake)
    return _update(tuple(names)), (*values, lead_id)


@functools.cache
def _update(names: tuple[str, ...]) -> str:
    """The statement setting these columns of a lead's row (names of this module's)."""
    marks = ", ".join(f"{name} = ?" for name in names)
    return f"UPDATE leads SET {marks} WHERE id = ?"  # noqa: S608 -- our column names


def _state_columns(state: LeadState) -> tuple[str, str]:
    """The state but for its lead, history and ledger; and the ledger."""
    score = state.score
    lines = _ledger_once(score)  # the state the funnel keeps stays unworded
    if type(lines) is _StoredLedger and lines.text is not None:
        ledger = lines.text  # as read, never decoded: as it was
    else:
        # Each line an array of its fields, in order: no keys repeated.
        ledger = _encode(ledger_rows(lines))
    bare = _with_ledger(state, ())
    rest = {name: write(getattr(bare, name)) for name, write in _REST}
    return _encode(rest), ledger


def _with_ledger(
    state: LeadState,
    ledger: Sequence[Contribution],
    history: Sequence[TransitionRecord] | None = None,
) -> LeadState:
    """The state with *ledger* as its score's contributions, taken as they are.

    And with *history* as its history, if given.
    """
    score = state.score
    return _new_state(
        lead=state.lead,
        stage=state.stage,
        entered_at=state.entered_at,
        score=_new_score(
            model=score.model,
            lead_id=score.lead_id,
            at=score.at,
            dimensions=_held_dimensions(score),  # as held: worded when read
            grade=score.grade,
            band=score.band,
            contributions=ledger,
            notes=score.notes,
        ),
        history=state.history if history is None else history,
        updated_at=state.updated_at,
        activities=state.activities,
        timers=state.timers,
    )


def _encode(value: object) -> str:
    """*value* (plain data) as JSON text, as :func:`_utf8` keeps it."""
    return _utf8(_JSON.encode(value))


def _utf8(text: str) -> str:
    """*text*, or, if it holds lone surrogates (no UTF-8 for them), escaped.

    JSON text is written as it reads (non-ASCII letters as they are), but
    a lone surrogate, which Python strings may hold and a JSON file may
    give, has no UTF-8: written as a JSON escape, it reads back the same.
    """
    if _has_utf8(text):
        return text
    return json.dumps(
        json.loads(text), ensure_ascii=True, allow_nan=False, separators=(",", ":")
    )


def _check_ids(change: Commit) -> None:
    """Check the new ids the file holds as they are, before anything is done.

    Raises:
        ValidationError: one has a lone surrogate.
    """
    for state in change.states:
        _storable(state.lead.id, "lead.id")
    for activity in change.activities:
        _storable(activity.id, "activity.id")


def _storable(text: str, field: str) -> None:
    """Raise unless *text*, an id written as it is, has UTF-8 (no lone surrogate).

    Raises:
        ValidationError: it has none.
    """
    if not _has_utf8(text):
        raise ValidationError(
            owner="SQLiteStore",
            field=field,
            value=text,
            expected="text that UTF-8 can hold (no lone surrogates)",
        )


def _has_utf8(text: str) -> bool:
    """Whether *text* can be written as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


_new_score = unchecked(Score)
_new_state = unchecked(LeadState)
_JSON = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
)
# The fields of a state in the state column (the others have columns of their
# own), each with the function that writes it, as serialization does.
_REST = tuple(
    (field.name, converter.get_unstructure_hook(field.type))
    # Resolved as funnelkit publishes it (which resolves them too).
    for field in attrs.fields(attrs.resolve_types(LeadState))
    if field.name not in {"lead", "history"}
)
_write_lead = converter.get_unstructure_hook(Lead)
_write_history = converter.get_unstructure_hook(tuple[TransitionRecord, ...])
# A ledger line's fields, in the order the file has them.
_LINE = tuple(attrs.fields_dict(Contribution))


class _Stored(Deferred[_T]):
    """Items as the file has them, in JSON text, decoded on first use.

    Raises:
        StoreFormatError: (when first used) the file's text of them is damaged.
    """

    __slots__ = ("_built", "_lead_id", "_path", "text")

    def __init__(self, text: str | None, path: str, lead_id: str) -> None:
        # The text until decoded, then None (None from the file: damaged).
        self.text = text
        self._built: tuple[_T, ...] | None = None
        self._path = path
        self._lead_id = lead_id

    def _items(self) -> tuple[_T, ...]:
        if self._built is None:
            self._built = self._read(self.text)
            self.text = None
        return self._built

    @abstractmethod
    def _read(self, text: str | None) -> tuple[_T, ...]:
        """Decode *text*, the file's column (``None``: damaged), or raise."""


class _StoredLedger(_Stored[Contribution]):
    """A score's ledger as the file has it, decoded on first use."""

    __slots__ = ()

    def _read(self, text: str | None) -> tuple[Contribution, ...]:
        return _read_ledger(text, self._path, self._lead_id)


class _StoredHistory(_Stored[TransitionRecord]):
    """A lead's history of moves as the file has it, decoded on first use.

    A tick wakes thousands of leads and moves few: the others' histories
    are never decoded, and their column is left as it is. Decoded, the
    history must fit the state read with it, as LeadState asks.
    """

    __slots__ = ("_entered_at", "_stage", "_timers")

    def __init__(
        self, text: str | None, path: str, lead_id: str, state: LeadState
    ) -> None:
        super().__init__(text, path, lead_id)
        # What the history must fit of the state (not the state: no cycle).
        self._stage = state.stage
        self._entered_at = state.entered_at
        self._timers = state.timers

    def _read(self, text: str | None) -> tuple[TransitionRecord, ...]:
        problem = "the column is NULL"
        if text is not None:
            try:
                history = _from_stored_json(text, tuple[TransitionRecord, ...])
            except SerializationError as error:
                problem = str(error)
            else:
                misfit = moves_problem(
                    history, self._stage, self._entered_at, self._timers
                )
                if misfit is None:
                    return history
                problem = f"it does not fit the lead's state: {misfit}"
        raise StoreFormatError(
            path=self._path,
            problem=f"the history of lead {self._lead_id!r} cannot be read: {problem}",
        )


def _read_ledger(text: str | None, path: str, lead_id: str) -> tuple[Contribution, ...]:
    """Decode a ledger as _state_columns writes it."""
    try:
        lines = None if text is None else _decode(text)
        if type(lines) is not list or not all(
            type(line) is list and len(line) == len(_LINE) for line in lines
        ):
            raise SerializationError(
                target="a ledger",
                problems=[("", "expected a list of lists of the lines' fields")],
            )
        return structure(
            [dict(zip(_LINE, line, strict=True)) for line in lines],
            tuple[Contribution, ...],
        )
    except ValueError as error:  # SerializationError is one
        raise StoreFormatError(
            path=path, problem=f"the ledger of lead {lead_id!r} cannot be read: {error}"
        ) from error


def _wake_columns(wake: datetime | None) -> tuple[str | None, int | None]:
    if wake is None:
        return None, None
    return unstructure(wake), utc_micros(wake)


def _input_row(
    seq: int, item: Input, activities: tuple[Activity, ...]
) -> tuple[int, str, str | None, str | None, str | None]:
    """The log's row of *item*; an activity among the commit's is not written twice."""
    lead_id: str | None
    if isinstance(item, Activity):
        lead_id = item.lead_id
    else:
        lead_id = getattr(item, "lead_id", None)
        lead = getattr(item, "lead", None)
        if lead is not None:
            lead_id = lead.id
    kept = isinstance(item, Activity) and item in activities
    return (
        seq,
        type(item).__name__,
        lead_id,
        item.id if isinstance(item, Activity) else None,
        None if kept else _utf8(to_json(item, cls=Input)),
    )


def _migrate(
    connection: sqlite3.Connection,
    found: int,
    migrations: Sequence[Sequence[str]],
) -> None:
    """Take the file from schema version *found* to the last of *migrations*."""
    for version in range(found, len(migrations)):
        for statement in migrations[version]:
            connection.execute(statement)
    connection.execute(_UPSERT_META, ("format", _FORMAT))
    connection.execute(_UPSERT_META, ("schema", str(len(migrations))))
