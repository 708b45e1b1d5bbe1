"""Cost of running leads through a funnel: moves, new leads, records and ticks.

Run: python benchmarks/bench_funnel.py [--quick]

1. Moves. A six-stage funnel (lead -> mql -> sal -> sql -> opportunity ->
   customer), one attribute-reading guard per forward transition
   (``AttributeIs("ok_mql", True)`` and so on), no scoring rules. Every lead
   walks to customer with ``funnel.move``; a run times the walk of a fresh
   funnel's leads, and the figure is the median of 7 runs, per move.
   funnelkit, the floor and transitions' two machines take turns, one run
   each a round, so that a round meets one spell of a shared machine: a
   ratio between two of them is the median of the rounds' ratios. The same
   funnel and guards in the peers:

   - transitions: one ``Machine`` with the leads as its models, each
     transition's ``conditions`` naming a guard method of the lead; and the
     same in its ``LockedMachine``, the machine transitions offers for use
     from several threads, as a ``Funnel`` may be used (its moves only);
   - python-statemachine: a ``StateMachine`` per lead, guards as ``cond=``
     naming the same guard methods;
   - the floor: plain Python, a dict of the allowed moves to guard functions,
     each lead a ``[stage, attributes, history]`` list whose history keeps
     ``(source, target, at, by)`` tuples, as funnelkit keeps its records.

   Adding a lead (``add_lead``, ``Machine.add_model``, a new machine) is
   timed one call at a time, with 100 and with 100,000 leads already there
   (transitions: 10,000 models already attached; python-statemachine builds
   one machine per lead, so it has no such size). Each run builds the
   container, collects garbage, makes WARM_ADDS untimed adds (the first
   calls after a full collection, which empties the interpreter's free
   lists, cost up to ten times the rest), then times its adds: the small
   size runs many short runs, the large one a long one, and both time warm
   calls, with exactly 100 (100,000) items there at the first timed add.
   Memory per lead after the walk is measured with tracemalloc; the lead
   values exist before the first snapshot, so only what the library holds
   for them is counted (funnelkit: the state, the score state, the history
   and the input log).
2. Records. ``funnel.record`` on ``policies.b2b_saas()``: 1,000,000
   activities of 100,000 leads (10 each, a realistic mix of kinds, in time
   order over three weeks); leads of varied fit, so some move to mql or sql
   by themselves. Activities per second over the whole feed, and the median
   of its ten slices; then the same feed on a new funnel with the cyclic
   garbage collector paused, and again with its thresholds raised to
   RAISED_THRESHOLDS (diagnostics of the collector's share: with a large
   funnel in memory, each full collection walks all it holds; the docs'
   advice to hosts that load history in bulk). Memory
   per lead with its 10 activities, measured on
   10,000 leads (tracemalloc; the Lead and Activity values are made before
   the first snapshot, and a second figure counts them too).
3. Ticks. A two-stage funnel whose only transition is automatic and guarded
   by ``InStageFor(30 days)``, no scoring rules; 1,000,000 leads created a
   second apart (added in shuffled order), so their wakes are spread. Each
   tick is 1,000 wakes later than the one before: 1,000 leads are due, and
   move. Milliseconds per tick, the median of 7 ticks; again with 100,000
   leads, to show the leads not due cost nothing. The calls (Python
   functions and built-ins) one more tick of each funnel makes are counted
   too: the tick's work, which the machine's load does not change.
4. SLA timers. The same leads, in a two-stage funnel with no automatic
   move and one SLA rule on the first stage ("answered within 30 days",
   escalating on a breach): 1,000,000 open timers, and each tick is 1,000
   deadlines later: 1,000 breaches. Milliseconds per tick, as in 3.

``--quick`` (or ``FUNNELKIT_BENCH_QUICK=1``) runs a tenth of the large
sizes: leads added, leads fed, leads ticked, and the memory samples.
Timed runs start after a full collection and run with the cyclic garbage
collector on. The machines are shared: figures are medians, and the ratios
matter more than the absolute numbers. Targets are printed beside the
figures; nothing fails.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from _harness import QUICK, Report, Summary, peer_version, per_call_us, print_summary

from funnelkit import (
    EXIT,
    Activity,
    AttributeIs,
    Event,
    Funnel,
    FunnelPolicy,
    InStageFor,
    Lead,
    ScoringModel,
    SlaBreached,
    SlaRule,
    Stage,
    StageChanged,
    Transition,
    kinds,
    policies,
)
from funnelkit.testing import ManualClock

# The peers are optional: pip install -r benchmarks/requirements.txt
try:
    from transitions import Machine
    from transitions.extensions import LockedMachine
except ImportError:
    Machine = LockedMachine = None
try:
    from statemachine import State, StateMachine
except ImportError:
    State = StateMachine = None

SEED = 20260302
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
RUNS = 7

# -- Section 1: the six-stage funnel -------------------------------------------
SIX = ("lead", "mql", "sal", "sql", "opportunity", "customer")
FORWARD = tuple(pairwise(SIX))
# Each lead moves an hour after its previous move.
WALK = tuple((target, T0 + timedelta(hours=n)) for n, target in enumerate(SIX[1:], 1))
EVENTS = tuple(f"to_{target}" for target in SIX[1:])
MOVES_PER_LEAD = len(WALK)
# Leads walked per timed run: the slower the library, the fewer.
WALKERS = {"funnelkit": 2_000, "floor": 20_000, "transitions": 2_000, "psm": 200}
ADD_SMALL = 100
# Untimed adds after each run's collection, before the timed ones.
WARM_ADDS = 10
ADD_LARGE = 10_000 if QUICK else 100_000
ADD_LARGE_TRANSITIONS = 1_000 if QUICK else 10_000
MEMORY_LEADS = 1_000 if QUICK else 10_000
MEMORY_LEADS_PSM = 200 if QUICK else 2_000

# -- Section 2: record on the default policy -----------------------------------
RECORD_LEADS = 10_000 if QUICK else 100_000
PER_LEAD = 10
FEED_SPAN = timedelta(days=21)
FEED_SLICES = 10
RECORD_MEMORY_LEADS = 1_000 if QUICK else 10_000
KIND_MIX = {
    kinds.PAGE_VIEW: 40,
    kinds.EMAIL_OPEN: 18,
    kinds.EMAIL_CLICK: 8,
    kinds.SOCIAL_ENGAGEMENT: 4,
    kinds.CONTENT_DOWNLOAD: 8,
    kinds.WEBINAR_REGISTERED: 4,
    kinds.WEBINAR_ATTENDED: 4,
    kinds.FORM_SUBMIT: 4,
    kinds.PRICING_PAGE_VIEW: 6,
    kinds.FREE_TRIAL_SIGNUP: 1,
    kinds.DEMO_REQUEST: 1.5,
    kinds.QUOTE_REQUEST: 0.5,
    kinds.SALES_TOUCH: 1,
}
INDUSTRIES = ("software", "saas", "financial_services", "retail", "education")
TITLES = ("VP Marketing", "CEO", "Director of Sales", "Marketing Manager", "Analyst")
COUNTRIES = ("US", "CA", "GB", "DE", "FR", "IN", "BR", "JP")
PATHS = ("/", "/blog/lead-scoring", "/product", "/docs", "/customers")
ASSETS = ("whitepaper", "ebook", "case-study")

# -- Section 3: tick -------------------------------------------------------------
# The collector's thresholds in the "raised" record run (Python's: 700, 10, 10).
RAISED_THRESHOLDS = (50_000, 20, 100)
TICK_LEADS = (10_000, 100_000) if QUICK else (100_000, 1_000_000)
TICK_DUE = 1_000
TICK_WAIT = timedelta(days=30)


def _median_seconds(prepare: Callable[[], Callable[[], object]], runs: int) -> float:
    """Return the median seconds of *runs* timed calls.

    Each run calls *prepare* untimed (it builds a fresh container and returns
    the work), collects garbage, then times the work.
    """
    times = []
    for _ in range(runs):
        work = prepare()
        gc.collect()
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _turns(
    prepares: Mapping[str, tuple[Callable[[], Callable[[], object]], int]],
    runs: int,
) -> dict[str, list[float]]:
    """Return each name's microseconds per item in *runs* rounds, timed in turn.

    A round times one run of each name in order, as _median_seconds times
    a run: ``prepare()`` untimed, a collection, then the work, whose seconds
    are divided by the name's item count. On a shared machine the load
    changes from one second to the next; runs taken in turn meet the same
    spell, so the ratio of two names is best read round by round.
    """
    times: dict[str, list[float]] = {name: [] for name in prepares}
    for _ in range(runs):
        for name, (prepare, items) in prepares.items():
            work = prepare()
            gc.collect()
            began = time.perf_counter()
            work()
            times[name].append((time.perf_counter() - began) / items * 1e6)
    return times


def _ratio(slow: list[float], fast: list[float]) -> float:
    """The median of the rounds' ratios of *slow* to *fast* (see _turns)."""
    return statistics.median(a / b for a, b in zip(slow, fast, strict=True))


def _median_add_us(
    prepare: Callable[[int, int], Callable[[int], object]], *, runs: int, per_run: int
) -> float:
    """Return the median microseconds of adding one item, timed one by one.

    ``prepare(short, count)`` builds a container holding its size less
    *short* items (untimed) and returns ``add(k)``, which adds the k-th of
    *count* new ones. Each run makes WARM_ADDS untimed adds after its
    collection, then times *per_run*: the container holds its size at the
    first timed add.
    """
    clock = time.perf_counter_ns
    samples = []
    for _ in range(runs):
        add = prepare(WARM_ADDS, WARM_ADDS + per_run)
        gc.collect()
        for k in range(WARM_ADDS):
            add(k)
        for k in range(WARM_ADDS, WARM_ADDS + per_run):
            began = clock()
            add(k)
            samples.append(clock() - began)
    return statistics.median(samples) / 1e3


def _bytes_per_item(build: Callable[[], object], count: int) -> float:
    """Return the bytes *build* leaves allocated, per item (tracemalloc).

    *build* runs once untraced first, to warm the caches it may fill.
    """
    build()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return (after - before) / count


# -- Section 1: funnelkit ------------------------------------------------------


def six_stage_policy() -> FunnelPolicy:
    """Return the six-stage funnel: one attribute guard per forward move."""
    return FunnelPolicy(
        name="six-stage",
        version=1,
        stages=[*(Stage(name) for name in SIX[:-1]), Stage("customer", "won")],
        transitions=[
            Transition(
                source=source, target=target, guard=AttributeIs(f"ok_{target}", True)
            )
            for source, target in FORWARD
        ],
        initial="lead",
        scoring=ScoringModel("empty", []),
    )


def _attributes() -> dict[str, str | bool]:
    """Return a walking lead's attributes: every guard passes."""
    return {"industry": "software", **{f"ok_{target}": True for target in SIX[1:]}}


def _six_leads(count: int, prefix: str = "L") -> list[Lead]:
    return [
        Lead(f"{prefix}-{n:07d}", T0, attributes=_attributes()) for n in range(count)
    ]


def _walk_funnel(funnel: Funnel, leads: list[Lead]) -> None:
    move = funnel.move
    for lead in leads:
        lead_id = lead.id
        for target, at in WALK:
            move(lead_id, target, by="rep", at=at)
    if funnel.state(leads[-1].id).stage != "customer":
        raise RuntimeError("the funnelkit walk did not reach customer")


def funnelkit_walk(
    policy: FunnelPolicy,
) -> tuple[Callable[[], Callable[[], object]], int]:
    """Return the funnelkit walk's prepare (see _turns) and its number of moves."""
    count = WALKERS["funnelkit"]

    def prepare() -> Callable[[], object]:
        leads = _six_leads(count)
        funnel = Funnel(policy, clock=ManualClock(T0))
        for lead in leads:
            funnel.add_lead(lead)
        return lambda: _walk_funnel(funnel, leads)

    return prepare, count * MOVES_PER_LEAD


def funnelkit_add_us(policy: FunnelPolicy, existing: int) -> float:
    """Return the median microseconds of ``add_lead`` with *existing* leads."""
    small = existing <= ADD_SMALL
    runs, per_run = (200, 5) if small else (1, 1_000)

    def prepare(short: int, count: int) -> Callable[[int], object]:
        there = _six_leads(existing - short)
        new = _six_leads(count, prefix="N")
        funnel = Funnel(policy, clock=ManualClock(T0))
        for lead in there:
            funnel.add_lead(lead)
        add = funnel.add_lead
        return lambda k: add(new[k])

    return _median_add_us(prepare, runs=runs, per_run=per_run)


def funnelkit_bytes(policy: FunnelPolicy) -> float:
    """Return the bytes a funnel holds per lead walked to customer."""
    leads = _six_leads(MEMORY_LEADS)

    def build() -> Funnel:
        funnel = Funnel(policy, clock=ManualClock(T0))
        for lead in leads:
            funnel.add_lead(lead)
        _walk_funnel(funnel, leads)
        return funnel

    return _bytes_per_item(build, MEMORY_LEADS)


# -- Section 1: the floor ------------------------------------------------------


def _attribute_is(name: str, value: object) -> Callable[[Mapping[str, object]], bool]:
    def guard(attributes: Mapping[str, object]) -> bool:
        return attributes.get(name) == value

    return guard


FLOOR_MOVES = {
    (source, target): _attribute_is(f"ok_{target}", True) for source, target in FORWARD
}

FloorLead = list[Any]  # [stage, attributes, history]: a list, the floor's record


def floor_add(
    leads: dict[str, FloorLead], lead_id: str, attributes: Mapping[str, object]
) -> None:
    """Add a lead to the floor: its stage, attributes and history."""
    leads[lead_id] = ["lead", attributes, [(None, "lead", T0, "auto")]]


def floor_move(
    leads: dict[str, FloorLead], lead_id: str, to: str, *, by: str, at: datetime
) -> None:
    """Move a lead of the floor if the move is allowed and its guard passes."""
    entry = leads[lead_id]
    guard = FLOOR_MOVES.get((entry[0], to))
    if guard is None or not guard(entry[1]):
        raise ValueError(f"{lead_id}: no move from {entry[0]} to {to}")
    entry[2].append((entry[0], to, at, by))
    entry[0] = to


def _walk_floor(leads: dict[str, FloorLead], ids: list[str]) -> None:
    for lead_id in ids:
        for target, at in WALK:
            floor_move(leads, lead_id, target, by="rep", at=at)
    if leads[ids[-1]][0] != "customer":
        raise RuntimeError("the floor walk did not reach customer")


def _floor_leads(count: int) -> tuple[dict[str, FloorLead], list[str]]:
    ids = [f"L-{n:07d}" for n in range(count)]
    attributes = [_attributes() for _ in ids]
    leads: dict[str, FloorLead] = {}
    for lead_id, found in zip(ids, attributes, strict=True):
        floor_add(leads, lead_id, found)
    return leads, ids


def floor_walk() -> tuple[Callable[[], Callable[[], object]], int]:
    """Return the floor's walk's prepare (see _turns) and its number of moves."""
    count = WALKERS["floor"]

    def prepare() -> Callable[[], object]:
        leads, ids = _floor_leads(count)
        return lambda: _walk_floor(leads, ids)

    return prepare, count * MOVES_PER_LEAD


def floor_bytes() -> float:
    """Return the bytes the floor holds per lead walked to customer."""
    ids = [f"L-{n:07d}" for n in range(MEMORY_LEADS)]
    attributes = [_attributes() for _ in ids]

    def build() -> dict[str, FloorLead]:
        leads: dict[str, FloorLead] = {}
        for lead_id, found in zip(ids, attributes, strict=True):
            floor_add(leads, lead_id, found)
        _walk_floor(leads, ids)
        return leads

    return _bytes_per_item(build, MEMORY_LEADS)


# -- Section 1: the peers ------------------------------------------------------


class PeerLead:
    """A lead as the peers hold it: an id, attributes, and guard methods."""

    # Set on each lead by the peers: transitions' add_model gives it trigger
    # and state, a python-statemachine machine keeps its state on it.
    trigger: Callable[[str], bool]
    state: str

    def __init__(self, lead_id: str, attributes: Mapping[str, object]) -> None:
        self.id = lead_id
        self.attributes = attributes

    def ok_mql(self) -> bool:
        """Guard of lead -> mql."""
        return self.attributes.get("ok_mql") == True  # noqa: E712 -- AttributeIs(True)

    def ok_sal(self) -> bool:
        """Guard of mql -> sal."""
        return self.attributes.get("ok_sal") == True  # noqa: E712

    def ok_sql(self) -> bool:
        """Guard of sal -> sql."""
        return self.attributes.get("ok_sql") == True  # noqa: E712

    def ok_opportunity(self) -> bool:
        """Guard of sql -> opportunity."""
        return self.attributes.get("ok_opportunity") == True  # noqa: E712

    def ok_customer(self) -> bool:
        """Guard of opportunity -> customer."""
        return self.attributes.get("ok_customer") == True  # noqa: E712


def _peer_leads(count: int, prefix: str = "L") -> list[PeerLead]:
    return [PeerLead(f"{prefix}-{n:07d}", _attributes()) for n in range(count)]


def transitions_machine(kind: type[Machine] | None = None) -> Machine:
    """Return a transitions Machine (or *kind*) of the six-stage funnel, no models."""
    return (kind or Machine)(
        model=None,
        states=list(SIX),
        transitions=[
            {
                "trigger": f"to_{target}",
                "source": source,
                "dest": target,
                "conditions": f"ok_{target}",
            }
            for source, target in FORWARD
        ],
        initial="lead",
        auto_transitions=False,
    )


def _walk_transitions(models: list[PeerLead]) -> None:
    for model in models:
        trigger = model.trigger
        for event in EVENTS:
            trigger(event)
    if models[-1].state != "customer":
        raise RuntimeError("the transitions walk did not reach customer")


def transitions_walk(
    kind: type[Machine] | None = None,
) -> tuple[Callable[[], Callable[[], object]], int]:
    """Return the transitions walk's prepare (*kind*'s machine) and its moves."""
    count = WALKERS["transitions"]

    def prepare() -> Callable[[], object]:
        models = _peer_leads(count)
        machine = transitions_machine(kind)
        machine.add_model(models)
        return lambda: _walk_transitions(models)

    return prepare, count * MOVES_PER_LEAD


def transitions_add_us(existing: int) -> float:
    """Return the median microseconds of ``add_model`` with *existing* models."""
    small = existing <= ADD_SMALL
    runs, per_run = (200, 5) if small else (1, 200)

    def prepare(short: int, count: int) -> Callable[[int], object]:
        machine = transitions_machine()
        machine.add_model(_peer_leads(existing - short))
        new = _peer_leads(count, prefix="N")
        add = machine.add_model
        return lambda k: add(new[k])

    return _median_add_us(prepare, runs=runs, per_run=per_run)


def transitions_bytes() -> float:
    """Return the bytes transitions adds per model walked to customer."""
    # transitions sets methods on its models: each pass needs new ones.
    batches = iter([_peer_leads(MEMORY_LEADS), _peer_leads(MEMORY_LEADS)])
    return _bytes_per_item(lambda: _transitions_build(next(batches)), MEMORY_LEADS)


def _transitions_build(models: list[PeerLead]) -> Machine:
    machine = transitions_machine()
    machine.add_model(models)
    _walk_transitions(models)
    return machine


if StateMachine is not None:

    class LeadMachine(StateMachine):  # type: ignore[misc] # statemachine is Any
        """The six-stage funnel in python-statemachine, one machine per lead."""

        lead = State(initial=True)
        mql = State()
        sal = State()
        sql = State()
        opportunity = State()
        customer = State(final=True)

        to_mql = lead.to(mql, cond="ok_mql")
        to_sal = mql.to(sal, cond="ok_sal")
        to_sql = sal.to(sql, cond="ok_sql")
        to_opportunity = sql.to(opportunity, cond="ok_opportunity")
        to_customer = opportunity.to(customer, cond="ok_customer")


def _walk_psm(machines: list[LeadMachine]) -> None:
    for machine in machines:
        send = machine.send
        for event in EVENTS:
            send(event)
    if machines[-1].model.state != "customer":
        raise RuntimeError("the python-statemachine walk did not reach customer")


def psm_move_us() -> float:
    """Return python-statemachine's median microseconds per guarded move."""
    count = WALKERS["psm"]

    def prepare() -> Callable[[], object]:
        machines = [LeadMachine(model) for model in _peer_leads(count)]
        return lambda: _walk_psm(machines)

    return _median_seconds(prepare, RUNS) / (count * MOVES_PER_LEAD) * 1e6


def psm_create_us() -> float:
    """Return the median microseconds of building one lead's machine."""
    number = 100
    models = iter(_peer_leads(number * RUNS))
    return per_call_us(lambda: LeadMachine(next(models)), number=number, repeat=RUNS)


def psm_bytes() -> float:
    """Return the bytes python-statemachine holds per lead walked to customer."""
    # A machine keeps its state on its model: each pass needs new ones.
    batches = iter([_peer_leads(MEMORY_LEADS_PSM), _peer_leads(MEMORY_LEADS_PSM)])
    return _bytes_per_item(lambda: _psm_build(next(batches)), MEMORY_LEADS_PSM)


def _psm_build(models: list[PeerLead]) -> list[LeadMachine]:
    machines = [LeadMachine(model) for model in models]
    _walk_psm(machines)
    return machines


# -- Section 2: records --------------------------------------------------------


def _record_lead(rng: random.Random, number: int) -> Lead:
    roll = rng.random()
    domain = "gmail.com" if roll < 0.15 else f"company{rng.randrange(20_000)}.example"
    return Lead(
        f"R-{number:07d}",
        T0 - timedelta(days=rng.randrange(1, 90)),
        email=f"person{number}@{domain}",
        attributes={
            "industry": rng.choice(INDUSTRIES),
            "employees": max(1, int(rng.lognormvariate(5, 1.5))),
            "title": rng.choice(TITLES),
            "country": rng.choice(COUNTRIES),
        },
    )


def _properties(rng: random.Random, kind: str) -> dict[str, str]:
    if kind == kinds.PAGE_VIEW:
        return {"path": rng.choice(PATHS)}
    if kind == kinds.CONTENT_DOWNLOAD:
        return {"asset": rng.choice(ASSETS)}
    return {}


def build_feed(leads: int, seed: int = SEED) -> tuple[list[Lead], list[Activity]]:
    """Return *leads* leads and their PER_LEAD activities each, in time order."""
    rng = random.Random(seed)
    kind_names = list(KIND_MIX)
    weights = list(KIND_MIX.values())
    span = int(FEED_SPAN.total_seconds())
    lead_list = []
    feed = []
    for number in range(leads):
        lead = _record_lead(rng, number)
        lead_list.append(lead)
        for index, kind in enumerate(rng.choices(kind_names, weights, k=PER_LEAD)):
            at = T0 + timedelta(seconds=rng.randrange(span))
            activity = Activity(
                lead.id,
                kind,
                at,
                id=f"{lead.id}-{index}",
                properties=_properties(rng, kind),
            )
            feed.append(activity)
    feed.sort(key=lambda activity: (activity.at, activity.id))
    return lead_list, feed


def measure_record(
    policy: FunnelPolicy, *, collector: str = "on"
) -> tuple[float, float, Counter[str]]:
    """Return activities/s over the feed, the median slice's, and the stages.

    *collector* is how Python's cyclic garbage collector runs while the feed
    is recorded: ``"on"`` as Python sets it, ``"paused"`` (``gc.disable()``)
    or ``"raised"`` (``gc.set_threshold(*RAISED_THRESHOLDS)``): diagnostics
    of how much of the time it takes. Its settings are restored after.
    """
    leads, feed = build_feed(RECORD_LEADS)
    funnel = Funnel(policy, clock=ManualClock(T0))
    for lead in leads:
        funnel.add_lead(lead)
    record = funnel.record
    size = len(feed) // FEED_SLICES
    slices = [feed[start : start + size] for start in range(0, len(feed), size)]
    seconds = []
    thresholds = gc.get_threshold()
    gc.collect()
    if collector == "paused":
        gc.disable()
    elif collector == "raised":
        gc.set_threshold(*RAISED_THRESHOLDS)
    try:
        for part in slices:
            began = time.perf_counter()
            for activity in part:
                record(activity)
            seconds.append(time.perf_counter() - began)
    finally:
        gc.enable()
        gc.set_threshold(*thresholds)
    stages = Counter(funnel.state(lead.id).stage for lead in leads)
    median_rate = statistics.median(
        len(part) / s for part, s in zip(slices, seconds, strict=True)
    )
    return len(feed) / sum(seconds), median_rate, stages


def record_bytes(policy: FunnelPolicy) -> tuple[float, float]:
    """Return the bytes per lead with 10 activities: the funnel's, and with values.

    The first figure counts what the funnel holds, the Lead and Activity
    values made before the first snapshot; the second counts them too.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        leads, feed = build_feed(RECORD_MEMORY_LEADS, seed=SEED + 1)
        gc.collect()
        values = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    def build() -> Funnel:
        funnel = Funnel(policy, clock=ManualClock(T0))
        for lead in leads:
            funnel.add_lead(lead)
        for activity in feed:
            funnel.record(activity)
        return funnel

    held = _bytes_per_item(build, RECORD_MEMORY_LEADS)
    return held, held + values / RECORD_MEMORY_LEADS


# -- Section 3: ticks ----------------------------------------------------------


def tick_policy() -> FunnelPolicy:
    """Return a two-stage funnel whose one move waits 30 days in the stage."""
    return FunnelPolicy(
        name="wait",
        version=1,
        stages=[Stage("lead"), Stage("mql")],
        transitions=[
            Transition(
                source="lead", target="mql", guard=InStageFor(TICK_WAIT), auto=True
            )
        ],
        initial="lead",
        scoring=ScoringModel("empty", []),
    )


def sla_policy() -> FunnelPolicy:
    """Return a two-stage funnel whose first stage promises an answer in 30 days."""
    return FunnelPolicy(
        name="promise",
        version=1,
        stages=[Stage("lead"), Stage("answered")],
        transitions=[Transition(source="lead", target="answered")],
        initial="lead",
        scoring=ScoringModel("empty", []),
        slas=[SlaRule("answer", "lead", TICK_WAIT, EXIT, on_breach="manager")],
    )


def measure_tick(
    policy: FunnelPolicy, leads: int, counted: type[Event] = StageChanged
) -> tuple[float, int]:
    """Return the median milliseconds of a tick with TICK_DUE leads due, and its calls.

    The calls are those of one more tick, counted apart (``sys.setprofile``):
    Python functions and built-ins called, the tick's work whatever the
    machine's load. Each tick must give TICK_DUE events of the *counted*
    type.
    """
    rng = random.Random(SEED)
    seconds = list(range(leads))
    rng.shuffle(seconds)
    funnel = Funnel(policy, clock=ManualClock(T0))
    add = funnel.add_lead
    gc.disable()  # building: the collector would only rescan what it keeps
    try:
        for number, offset in enumerate(seconds):
            add(Lead(f"T-{number:07d}", T0 + timedelta(seconds=offset)))
    finally:
        gc.enable()
    first_wake = T0 + TICK_WAIT
    times = []
    calls = 0

    def count(_frame: object, event: str, _arg: object) -> None:
        nonlocal calls
        if event in {"call", "c_call"}:
            calls += 1

    for run in range(RUNS + 1):
        now = first_wake + timedelta(seconds=TICK_DUE * (run + 1) - 1)
        gc.collect()
        if run < RUNS:
            began = time.perf_counter()
            events = funnel.tick(now)
            times.append(time.perf_counter() - began)
        else:
            sys.setprofile(count)
            try:
                events = funnel.tick(now)
            finally:
                sys.setprofile(None)
        found = sum(1 for event in events if isinstance(event, counted))
        if found != TICK_DUE:
            raise RuntimeError(
                f"a tick gave {found} {counted.__name__}, not {TICK_DUE}"
            )
    return statistics.median(times) * 1e3, calls


# -- Report --------------------------------------------------------------------


def _peers(**figures: str | None) -> str:
    return "; ".join(f"{name} {text}" for name, text in figures.items() if text)


def move_report(report: Report) -> None:
    """Measure section 1: moves, adding leads and memory, beside the peers."""
    policy = six_stage_policy()
    walks = {"funnelkit": funnelkit_walk(policy), "floor": floor_walk()}
    if Machine is not None:
        walks["transitions"] = transitions_walk()
        walks["locked"] = transitions_walk(LockedMachine)
    turns = _turns(walks, RUNS)
    move = statistics.median(turns["funnelkit"])
    floor = statistics.median(turns["floor"])
    add_small = funnelkit_add_us(policy, ADD_SMALL)
    add_large = funnelkit_add_us(policy, ADD_LARGE)
    held = funnelkit_bytes(policy)
    floor_held = floor_bytes()
    t_move = t_locked = t_add_small = t_add_large = t_bytes = None
    if Machine is not None:
        t_move = statistics.median(turns["transitions"])
        t_locked = statistics.median(turns["locked"])
        t_add_small = transitions_add_us(ADD_SMALL)
        t_add_large = transitions_add_us(ADD_LARGE_TRANSITIONS)
        t_bytes = transitions_bytes()
    p_move = p_create = p_bytes = None
    if StateMachine is not None:
        p_move = psm_move_us()
        p_create = psm_create_us()
        p_bytes = psm_bytes()

    def us(value: float | None, prefix: str = "") -> str | None:
        return None if value is None else f"{prefix}{value:,.2f} us"

    def size(value: float | None) -> str | None:
        return None if value is None else f"{value:,.0f} B"

    report.add(
        "move: one guarded transition",
        f"{move:.2f} us",
        _peers(
            floor=us(floor),
            transitions=us(t_move),
            **{
                "transitions' LockedMachine": us(t_locked),
                "python-statemachine": us(p_move),
            },
        ),
        "<= 10 us",
        move <= 10,
    )
    ratio_floor = _ratio(turns["funnelkit"], turns["floor"])
    report.add(
        "move: funnelkit time / floor time",
        f"{ratio_floor:.1f}x",
        "",
        "aim ~10x",
        ratio_floor <= 10,
    )
    if t_move is not None:
        speedup = _ratio(turns["transitions"], turns["funnelkit"])
        report.add(
            "move: transitions time / funnelkit time",
            f"{speedup:.2f}x",
            "",
            ">= 3x",
            speedup >= 3,
        )
    if t_locked is not None:
        speedup = _ratio(turns["locked"], turns["funnelkit"])
        report.add(
            "move: LockedMachine time / funnelkit time (both for threads)",
            f"{speedup:.2f}x",
            "",
            ">= 3x",
            speedup >= 3,
        )
    report.add(
        f"add a lead: {ADD_SMALL:,} there",
        f"{add_small:.2f} us",
        _peers(
            transitions=us(t_add_small, "add_model "),
            **{"python-statemachine": us(p_create, "new machine ")},
        ),
        "<= 10 us",
        add_small <= 10,
    )
    report.add(
        f"add a lead: {ADD_LARGE:,} there",
        f"{add_large:.2f} us",
        _peers(
            transitions=None
            if t_add_large is None
            else f"add_model {t_add_large:,.2f} us ({ADD_LARGE_TRANSITIONS:,} there)"
        ),
        "<= 10 us",
        add_large <= 10,
    )
    growth = add_large / add_small
    report.add(
        f"add a lead: {ADD_LARGE:,} there / {ADD_SMALL:,} there",
        f"{growth:.2f}x",
        ""
        if t_add_large is None or t_add_small is None
        else f"transitions {t_add_large / t_add_small:.1f}x",
        "constant (<= 1.25x, noise)",
        growth <= 1.25,
    )
    report.add(
        "memory: one lead walked to customer",
        f"{held:,.0f} bytes",
        _peers(
            floor=size(floor_held),
            transitions=size(t_bytes),
            **{"python-statemachine": size(p_bytes)},
        ),
        "<= 2,048 bytes",
        held <= 2048,
    )
    report.notes.append(
        f"Moves: funnelkit, the floor and transitions' two machines timed in turn, "
        f"{RUNS} rounds; a time is the median of the runs, a ratio the median of "
        "the rounds' ratios (each round meets one spell of the machine)."
    )
    report.notes.append(
        f"Memory: funnelkit, the floor and transitions on {MEMORY_LEADS:,} leads, "
        f"python-statemachine on {MEMORY_LEADS_PSM:,}; the lead values themselves "
        "are not counted."
    )
    if Machine is None or StateMachine is None:
        report.notes.append("peers missing: pip install -r benchmarks/requirements.txt")


def record_report(report: Report) -> None:
    """Measure section 2: record throughput and memory on the default policy."""
    policy = policies.b2b_saas()
    rate, median_rate, stages = measure_record(policy)
    gc.collect()
    paused_rate, _, _ = measure_record(policy, collector="paused")
    gc.collect()
    raised_rate, _, _ = measure_record(policy, collector="raised")
    gc.collect()
    held, with_values = record_bytes(policy)
    activities = RECORD_LEADS * PER_LEAD
    report.add(
        f"record: {activities:,} activities of {RECORD_LEADS:,} leads",
        f"{rate:,.0f} activities/s",
        "",
        ">= 50,000 activities/s",
        rate >= 50_000,
        short="record throughput",
    )
    report.add(
        f"record: the median of {FEED_SLICES} slices of the feed",
        f"{median_rate:,.0f} activities/s",
    )
    report.add(
        "record: the same, the cyclic garbage collector paused",
        f"{paused_rate:,.0f} activities/s",
    )
    report.add(
        "record: the same, the collector's thresholds raised to "
        + ", ".join(f"{value:,}" for value in RAISED_THRESHOLDS),
        f"{raised_rate:,.0f} activities/s",
    )
    report.add(
        f"memory: one lead, {PER_LEAD} activities ({RECORD_MEMORY_LEADS:,} leads)",
        f"{held:,.0f} bytes",
        "",
        "<= 4,096 bytes",
        held <= 4096,
        short=f"memory: one lead, {PER_LEAD} activities",
    )
    report.add(
        "memory: the same, with its Lead and Activity values",
        f"{with_values:,.0f} bytes",
    )
    shown = ", ".join(f"{stage} {count:,}" for stage, count in stages.most_common())
    report.notes.append(f"After the feed, the leads' stages: {shown}.")
    report.notes.append(
        "With the collector paused (gc.disable() around the feed) or its"
        " thresholds raised (gc.set_threshold), diagnostics: the difference is"
        " the time Python's collections take walking the objects the funnel"
        " and the feed hold."
    )


def tick_report(report: Report) -> None:
    """Measure section 3: a tick's cost with few leads due among many."""
    _ticks(report, tick_policy(), StageChanged)
    report.notes.append(
        f"Ticks: {RUNS} per size, each moving its {TICK_DUE:,} due leads to mql."
    )


def sla_report(report: Report) -> None:
    """Measure section 4: a tick's cost with few SLA deadlines due among many."""
    _ticks(report, sla_policy(), SlaBreached, noun="open timers")
    report.notes.append(
        f"Ticks: {RUNS} per size, each giving {TICK_DUE:,} SlaBreached events."
    )


def _ticks(
    report: Report, policy: FunnelPolicy, counted: type[Event], noun: str = "leads"
) -> None:
    small, large = TICK_LEADS
    millis = {}
    calls = {}
    for leads in TICK_LEADS:
        millis[leads], calls[leads] = measure_tick(policy, leads, counted)
        gc.collect()
    report.add(f"tick: {small:,} {noun}, {TICK_DUE:,} due", f"{millis[small]:.2f} ms")
    report.add(
        f"tick: {large:,} {noun}, {TICK_DUE:,} due",
        f"{millis[large]:.2f} ms",
        "",
        "<= 20 ms",
        millis[large] <= 20,
    )
    growth = millis[large] / millis[small]
    report.add(
        f"tick: {large:,} {noun} / {small:,} {noun}",
        f"{growth:.2f}x",
        "",
        "none (<= 1.25x, noise)",
        growth <= 1.25,
    )
    report.add(
        f"tick: calls made among {large:,} {noun} / among {small:,}",
        f"{calls[large]:,} / {calls[small]:,}",
    )
    report.notes.append(
        "Calls: those of one more tick of each funnel (Python functions and "
        "built-ins), the same among more leads not due if a tick does no more "
        "for them; the time may still grow with the process's memory."
    )


def main() -> None:
    """Measure and print the tables."""
    began = time.perf_counter()
    size = "quick (--quick)" if QUICK else "full"
    print(
        f"Funnel benchmarks, {size} size. Peers: transitions "
        f"{peer_version('transitions')}, python-statemachine "
        f"{peer_version('python-statemachine')}."
    )
    summary: Summary = []
    sections = (
        ("1", "Six-stage funnel, guarded moves", move_report),
        ("2", "record on policies.b2b_saas()", record_report),
        ("3", "tick with time-sensitive guards", tick_report),
        ("4", "tick with SLA timers", sla_report),
    )
    for number, title, measure in sections:
        report = Report(number, summary)
        measure(report)
        gc.collect()
        report.print(title)
    print_summary(summary, began)


if __name__ == "__main__":
    main()
