"""The checks every :class:`~funnelkit.Store` must pass, as a pytest class.

A store kept on the host's own database runs the same suite as funnelkit's
own stores: subclass :class:`StoreConformance` in a test module, say how to
make an empty store (and, for a durable one, how to open it again), and
pytest runs every check::

    from funnelkit.testing.store_conformance import StoreConformance

    class TestPostgresStore(StoreConformance):
        def make_store(self):
            return PostgresStore(connect(), schema=fresh_schema())

        def reopen(self, store):
            return PostgresStore(connect(), schema=store.schema)

The checks drive the store through a :class:`~funnelkit.Funnel`, the
store's one real client, beside a funnel on an :class:`~funnelkit.InMemoryStore`
fed the same calls: both must return the same events and hold the same
states, input log and wakes. Others call the protocol's methods directly. It
needs pytest and the ``funnelkit[hypothesis]`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from funnelkit import kinds
from funnelkit._events import LeadState, Tick
from funnelkit._funnel import Funnel
from funnelkit._lead import Activity, Bant, Lead, time_order
from funnelkit._store import Commit, Store
from funnelkit._validators import Scalar
from funnelkit.errors import GuardFailed, PolicyMismatch
from funnelkit.policies import b2b_saas
from funnelkit.testing._clock import ManualClock

try:
    import pytest
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover -- the test suite has both
    msg = (
        "funnelkit.testing.store_conformance needs pytest and Hypothesis: "
        "pip install pytest 'funnelkit[hypothesis]'"
    )
    raise ImportError(msg) from error

from funnelkit.testing.strategies import activity_streams

__all__ = ["StoreConformance"]

#: Monday 2 March 2026, 09:00 UTC: the first instant of every story.
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
_POLICY = b2b_saas()
_FIT: dict[str, Scalar] = {
    "industry": "software",
    "employees": 800,
    "title": "VP Sales",
    "country": "DE",
}
_LEADS = ("L-1", "L-2", "L-3")


class _Pair:
    """A funnel on the store under test, and one in memory fed the same calls."""

    def __init__(self, store: Store, *, policy_change: bool = False) -> None:
        self.store = store
        self.tested = Funnel(
            _POLICY,
            store=store,
            clock=ManualClock(T0),
            accept_policy_change=policy_change,
        )
        self.reference = Funnel(_POLICY, clock=ManualClock(T0))

    def both(self, call: str, *args: object, **kwargs: object) -> list[object]:
        """Make the call on both funnels; they must give the same events.

        The stores are compared first, so that a store that kept a change
        wrongly is named by the method that answers wrongly, not by the
        events of a later call that read it.
        """
        expected = getattr(self.reference, call)(*args, **kwargs)
        got = getattr(self.tested, call)(*args, **kwargs)
        _same_content(self.reference.store, self.tested.store, after=call)
        assert got == expected, (
            f"after {call}(): the funnel on the store gave other events than "
            "one in memory, though the store answers as the memory's does"
        )
        return list(got)

    def check(self, store: Store | None = None) -> None:
        """The store holds what the in-memory funnel holds."""
        _same_content(self.reference.store, self.store if store is None else store)


def _same_content(expected: Store, store: Store, *, after: str | None = None) -> None:
    """*store* answers every query as *expected* does; a failure names the query."""
    when = f"after {after}(): " if after else ""
    ids = list(expected.lead_ids())
    assert list(store.lead_ids()) == ids, (
        f"{when}lead_ids() must give every lead committed, in the order added"
    )
    assert len(store) == len(ids), f"{when}len(store) must count the leads committed"
    for lead_id in ids:
        assert store.state(lead_id) == expected.state(lead_id), (
            f"{when}state({lead_id!r}) must be the lead's last committed state"
        )
        assert list(store.activities(lead_id)) == list(expected.activities(lead_id)), (
            f"{when}activities({lead_id!r}) must give each activity committed, "
            "ordered by instant (in UTC), then id"
        )
        assert store.wake(lead_id) == expected.wake(lead_id), (
            f"{when}wake({lead_id!r}) must be the lead's last committed wake "
            "(a wake of None in Commit.wakes removes it)"
        )
        for activity in expected.activities(lead_id):
            assert store.has_activity(lead_id, activity.id), (
                f"{when}has_activity({lead_id!r}, {activity.id!r}) must be True "
                "for an activity committed"
            )
    assert list(store.inputs()) == list(expected.inputs()), (
        f"{when}inputs() must give each commit's input, oldest first"
    )
    assert store.written_under() == expected.written_under(), (
        f"{when}written_under() must be the policy of the last commit that gave "
        "one (a commit with policy=None keeps it)"
    )
    last_tick = getattr(store, "last_tick", None)
    if callable(last_tick):  # optional: a store that gives it must give it right
        ticks = [item.now for item in expected.inputs() if isinstance(item, Tick)]
        assert last_tick() == (ticks[-1] if ticks else None), (
            f"{when}last_tick() must be the instant of the last Tick in inputs()"
        )
    far = T0 + timedelta(days=3650)
    assert store.due(far) == expected.due(far), (
        f"{when}due(now) must give (wake, lead_id) for each wake up to now, "
        "by instant, then lead id"
    )


def _lead(lead_id: str, **attributes: Scalar) -> Lead:
    return Lead(lead_id, T0, attributes=attributes or _FIT)


def _story(pair: _Pair) -> None:
    """Add leads, record, move, fail a guard, tick past SLA deadlines."""
    for lead_id in _LEADS:
        pair.both("add_lead", _lead(lead_id))
    at = T0 + timedelta(minutes=5)
    # Engaged enough, L-1 becomes an MQL by itself.
    engaged = (kinds.WEBINAR_ATTENDED, kinds.CONTENT_DOWNLOAD, kinds.PRICING_PAGE_VIEW)
    for step, kind in enumerate((*engaged, kinds.WEBINAR_ATTENDED)):
        pair.both("record", Activity("L-1", kind, at + timedelta(minutes=step)))
    # A duplicate changes nothing, and a late arrival still counts.
    pair.both("record", Activity("L-1", kinds.WEBINAR_ATTENDED, at))
    pair.both("record", Activity("L-1", kinds.PAGE_VIEW, T0 + timedelta(minutes=1)))
    pair.both("record", Activity("L-2", kinds.DEMO_REQUEST, at))
    # A guard that fails changes nothing, on either funnel.
    with pytest.raises(GuardFailed):
        pair.tested.move("L-3", "sql", by="rep", at=at)
    pair.both("move", "L-3", "disqualified", by="rep", reason="bad_data", at=at)
    # A day later the MQL's acceptance deadline has passed: a breach.
    pair.both("tick", T0 + timedelta(days=1, hours=2))
    pair.both("move", "L-1", "sal", by="rep", at=T0 + timedelta(days=1, hours=3))
    pair.both("pause_timer", "L-1", "first_touch", at=T0 + timedelta(days=1, hours=3))
    pair.both("resume_timer", "L-1", "first_touch", at=T0 + timedelta(days=2))
    pair.both(
        "update_lead",
        Lead("L-2", T0, attributes=_FIT, bant=Bant(budget=True)),
        at=T0 + timedelta(days=2),
    )
    pair.both("tick", T0 + timedelta(days=30))


class StoreConformance:
    """The checks a Store must pass: subclass it in a pytest module.

    Give :meth:`make_store`; give :meth:`reopen` too for a store that keeps
    its state (a database), so that the checks of a store opened again run.
    Each store they give is closed when its check ends (see
    :meth:`close_store`).
    """

    def make_store(self) -> Store:
        """Return a new, empty store (override this)."""
        msg = f"{type(self).__name__}.make_store: return a new, empty store"
        raise NotImplementedError(msg)

    def reopen(self, store: Store) -> Store | None:  # noqa: ARG002 -- for overrides
        """Return the same data opened anew, as after a restart (``None``: not kept)."""
        return None

    def close_store(self, store: Store) -> None:
        """Release *store*, which a check is done with: its ``close()``, if it has one.

        Every store :meth:`make_store` or :meth:`reopen` gave is closed once,
        when its check ends, pass or fail (Python 3.13 warns of a database
        connection left open). Override it for a store released otherwise.
        """
        close = getattr(store, "close", None)
        if callable(close):
            close()

    @pytest.fixture(autouse=True)
    def _closes_its_stores(self) -> Iterator[None]:
        """Close, after each check, the stores it made and did not close."""
        yield
        self._close_all()

    def _open_stores(self) -> list[Store]:
        """The stores made or opened again and not closed yet."""
        found: list[Store] = self.__dict__.setdefault("_stores_open", [])
        return found

    def _new(self) -> Store:
        """A store from :meth:`make_store`, closed when the check ends."""
        store = self.make_store()
        self._open_stores().append(store)
        return store

    def _opened_again(self, store: Store) -> Store | None:
        """The store from :meth:`reopen`, closed when the check ends."""
        again = self.reopen(store)
        stores = self._open_stores()
        if again is not None and all(again is not open_ for open_ in stores):
            stores.append(again)  # a store given again is still closed once
        return again

    def _close_all(self) -> None:
        """Close the stores still open, the last opened first.

        Each is closed whatever the others' ``close_store`` raised; the last
        error is raised after, the others chained to it.
        """
        stores = self._open_stores()
        with ExitStack() as closing:
            for store in stores:  # an exit stack runs them last first
                closing.callback(self.close_store, store)
            stores.clear()

    # -- The empty store -------------------------------------------------------------

    def test_a_new_store_is_empty(self) -> None:
        """A new store holds no lead, input, activity nor wake."""
        store = self._new()
        assert len(store) == 0
        assert list(store.lead_ids()) == []
        assert list(store.inputs()) == []
        assert store.state("L-1") is None
        assert list(store.activities("L-1")) == []
        assert not store.has_activity("L-1", "A-1")
        assert store.wake("L-1") is None
        assert store.due(T0 + timedelta(days=3650)) == []
        assert store.written_under() is None

    # -- Through a funnel ---------------------------------------------------------

    def test_a_funnel_on_the_store_does_what_it_does_in_memory(self) -> None:
        """Every call gives the events it gives in memory, and the same state."""
        pair = _Pair(self._new())
        _story(pair)
        pair.check()

    def test_a_failed_call_changes_nothing(self) -> None:
        """A move whose guard fails leaves every lead and the log as they were."""
        pair = _Pair(self._new())
        pair.both("add_lead", _lead("L-1", industry="retail"))
        before = (pair.store.state("L-1"), list(pair.store.inputs()))
        with pytest.raises(GuardFailed):
            pair.tested.move("L-1", "sql", by="rep", at=T0 + timedelta(hours=1))
        assert (pair.store.state("L-1"), list(pair.store.inputs())) == before

    def test_replaying_the_log_gives_the_states_again(self) -> None:
        """The store's input log, replayed into a new funnel, rebuilds every state."""
        pair = _Pair(self._new())
        _story(pair)
        again = Funnel(_POLICY, clock=ManualClock(T0))
        again.replay(pair.store.inputs())
        _same_content(again.store, pair.store)

    @given(
        activity_streams(_LEADS, start=T0, max_size=12),
        st.lists(st.integers(min_value=1, max_value=72 * 3600), max_size=3),
    )
    # A tick before an activity and one after the last, whatever the draws (and
    # the coverage) of a run.
    @example(
        stream=[Activity(_LEADS[0], kinds.PAGE_VIEW, T0 + timedelta(hours=1))],
        ticks=[60, 2 * 3600],
    )
    @settings(
        max_examples=20,
        deadline=None,
        # Every subclass runs it on its own store: that is the point.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    def test_any_stream_of_activities_and_ticks(
        self, stream: list[Activity], ticks: list[int]
    ) -> None:
        """Any activities, ticked now and then, end as they end in memory."""
        try:
            pair = _Pair(self._new())
            for lead_id in _LEADS:
                pair.both("add_lead", _lead(lead_id))
            ticks_at = sorted(T0 + timedelta(seconds=s) for s in ticks)
            for activity in stream:
                while ticks_at and ticks_at[0] <= activity.at:
                    pair.both("tick", ticks_at.pop(0))
                pair.both("record", activity)
            for at in ticks_at:
                pair.both("tick", at)
            pair.check()
        finally:
            self._close_all()  # each example's store, not hundreds at the end

    # -- The protocol itself ---------------------------------------------------------

    def test_activities_come_in_time_order_whatever_the_commit_order(self) -> None:
        """A lead's activities are ordered by (instant, id), not by arrival."""
        pair = _Pair(self._new())
        pair.both("add_lead", _lead("L-1"))
        for minutes, activity_id in ((30, "b"), (10, "z"), (30, "a"), (20, "m")):
            at = T0 + timedelta(minutes=minutes)
            pair.both("record", Activity("L-1", kinds.PAGE_VIEW, at, id=activity_id))
        found = [activity.id for activity in pair.store.activities("L-1")]
        assert found == ["z", "m", "a", "b"]
        pair.check()

    def test_activities_keep_time_order_when_the_clocks_go_back(self) -> None:
        """01:50 BST comes before 01:10 GMT the night the clocks go back: by instant."""
        london = ZoneInfo("Europe/London")
        pair = _Pair(self._new())
        pair.both("add_lead", _lead("L-1"))
        early = datetime(2026, 10, 25, 1, 50, tzinfo=london)  # 00:50 UTC
        late = datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=london)  # 01:10 UTC
        for at, activity_id in ((late, "late"), (early, "early")):
            pair.both("record", Activity("L-1", kinds.PAGE_VIEW, at, id=activity_id))
        found = [activity.id for activity in pair.store.activities("L-1")]
        assert found == ["early", "late"]
        pair.check()

    def test_lead_ids_come_in_the_order_added(self) -> None:
        """Not sorted: the order the leads were added in."""
        pair = _Pair(self._new())
        for lead_id in ("zeta", "alpha", "mike"):
            pair.both("add_lead", _lead(lead_id))
        assert list(pair.store.lead_ids()) == ["zeta", "alpha", "mike"]
        pair.check()

    def test_a_long_history_knows_each_of_its_ids(self) -> None:
        """Each of 40 ids is known, before and after more; late ones go in order."""
        pair = _Pair(self._new())
        pair.both("add_lead", _lead("L-1"))
        minute = timedelta(minutes=1)
        for step in range(40):
            activity = Activity(
                "L-1", kinds.PAGE_VIEW, T0 + step * minute, id=f"a{step}"
            )
            pair.both("record", activity)
            # Asked while short and once long, then again after more come.
            if step in {3, 20, 39}:
                for earlier in range(step + 1):
                    assert pair.store.has_activity("L-1", f"a{earlier}")
                assert not pair.store.has_activity("L-1", f"a{step + 1}")
                assert not pair.store.has_activity("L-2", "a0")
        # A duplicate of an early one changes nothing.
        assert pair.both("record", Activity("L-1", kinds.PAGE_VIEW, T0, id="a0")) == []
        # Late arrivals in a long history take their places in time order.
        for step in (5, 30):
            late = Activity(
                "L-1", kinds.PAGE_VIEW, T0 + step * minute + minute / 2, id=f"b{step}"
            )
            pair.both("record", late)
        found = list(pair.store.activities("L-1"))
        assert found == sorted(found, key=time_order)
        assert {"b5", "b30"} <= {activity.id for activity in found}
        pair.check()

    def test_due_lists_the_wakes_up_to_now_in_order(self) -> None:
        """Due gives (wake, lead) up to now, earliest first, ties by lead id."""
        store = self._new()
        states = _states(("L-1", "L-2", "L-3", "L-4"))
        hour = timedelta(hours=1)
        wakes = (
            ("L-1", T0 + 2 * hour),
            ("L-2", T0 + hour),
            ("L-3", T0 + hour),
            ("L-4", T0 + 9 * hour),
        )
        store.commit(Commit(input=Tick(T0), states=states, wakes=wakes))
        assert store.due(T0 + 2 * hour) == [
            (T0 + hour, "L-2"),
            (T0 + hour, "L-3"),
            (T0 + 2 * hour, "L-1"),
        ]
        assert store.due(T0) == []
        assert store.wake("L-4") == T0 + 9 * hour
        store.commit(Commit(input=Tick(T0 + hour), wakes=(("L-2", None),)))
        assert store.wake("L-2") is None
        assert [lead for _, lead in store.due(T0 + 9 * hour)] == ["L-3", "L-1", "L-4"]

    def test_due_orders_leads_due_at_one_instant_by_id(self) -> None:
        """Leads due at one instant come by id, whatever their order or zones."""
        store = self._new()
        states = _states(("L-9", "L-5", "L-7"))
        later = T0 + timedelta(hours=1)
        # One instant in three zones, the ids in the reverse of their order.
        wakes = (
            ("L-9", later.astimezone(ZoneInfo("Asia/Kolkata"))),
            ("L-7", later),
            ("L-5", later.astimezone(ZoneInfo("America/New_York"))),
        )
        store.commit(Commit(input=Tick(T0), states=states, wakes=wakes))
        assert [lead for _, lead in store.due(later)] == ["L-5", "L-7", "L-9"]

    def test_a_transaction_left_without_a_commit_changes_nothing(self) -> None:
        """Leaving a transaction that made no commit leaves the store as it was."""
        store = self._new()
        with store.transaction():
            assert store.state("L-1") is None
        assert len(store) == 0
        assert list(store.inputs()) == []
        with store.transaction():
            store.commit(Commit(input=Tick(T0), states=_states(("L-1",))))
        assert store.state("L-1") is not None
        assert len(store) == 1

    def test_written_under_is_the_last_commits_policy(self) -> None:
        """The store keeps the fingerprint of the policy it was last written under."""
        store = self._new()
        store.commit(Commit(input=Tick(T0), policy="one"))
        store.commit(Commit(input=Tick(T0)))
        assert store.written_under() == "one"
        store.commit(Commit(input=Tick(T0), policy="two"))
        assert store.written_under() == "two"

    def test_a_funnel_refuses_a_store_written_under_another_policy(self) -> None:
        """Opening a store under a changed policy needs the host's say-so."""
        store = self._new()
        store.commit(Commit(input=Tick(T0), policy="another"))
        with pytest.raises(PolicyMismatch):
            Funnel(_POLICY, store=store)
        pair = _Pair(store, policy_change=True)
        pair.tested.add_lead(_lead("L-1"))
        assert store.written_under() == _POLICY.fingerprint

    # -- Opened again --------------------------------------------------------------

    def test_a_store_opened_again_holds_everything(self) -> None:
        """States, activities, seen ids, wakes and the log survive a reopen."""
        store = self._new()
        pair = _Pair(store)
        _story(pair)
        again = self._opened_again(store)
        if again is None:
            pytest.skip("the store does not keep its state")
        pair.check(again)
        # The funnel on the reopened store goes on as the other one does.
        pair.tested = Funnel(_POLICY, store=again, clock=ManualClock(T0))
        pair.both("record", Activity("L-2", kinds.SALES_TOUCH, T0 + timedelta(days=31)))
        pair.both("tick", T0 + timedelta(days=60))
        pair.check(again)


def _states(lead_ids: tuple[str, ...]) -> tuple[LeadState, ...]:
    """States of new leads, as a funnel makes them."""
    funnel = Funnel(_POLICY, clock=ManualClock(T0))
    for lead_id in lead_ids:
        funnel.add_lead(_lead(lead_id))
    return tuple(funnel.state(lead_id) for lead_id in lead_ids)
