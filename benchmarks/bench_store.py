"""Cost of keeping a funnel in SQLite: record throughput, reopening, file size.

Run: python benchmarks/bench_store.py [--quick]

``policies.b2b_saas()`` fed the activities of ``bench_funnel.build_feed``:
1,000,000 activities of 100,000 leads (10 each, a realistic mix of kinds, in
time order over three weeks), every lead added before the first activity.

1. Record. ``funnel.record`` over the feed, activities per second:

   - the default ``InMemoryStore``, the reference, over the whole feed;
   - ``SQLiteStore(path, synchronous="NORMAL")`` in batch mode, over the
     whole feed: one ``with store.batch():`` around adding the leads and
     recording the feed; the time counts the records and the batch's commit
     at its end, not adding the leads (timed apart);
   - the same kind of store, one transaction per call (no batch), on a
     slice: the first 20,000 activities of the feed, all the leads added
     first (in a batch, untimed).

   Each is a single run (they are long). After the feed, the leads' stages
   in the batch's store must be those of the in-memory funnel.
2. Reopen. The batch's store closed, the time to open the file again
   (``SQLiteStore(path)``), make a ``Funnel`` on it and run its first
   ``funnel.tick(now)``, ``now`` two days after the feed's last activity so
   that SLA timers are due. The tick writes what it did to the file, so each
   run opens a copy of the file as the batch left it (in the page cache);
   the median of REOPENS runs is the figure. Twice:

   - in this process, which has run everything before (its imports, its
     caches and the serializer's generated code warm, and a large heap, which
     makes the cyclic garbage collector's full passes rare);
   - in a new process each time (``_reopen_child.py``), as a restarted host
     would: imports first, timed apart, then the same steps, timed alike;
     and again with the cyclic garbage collector paused for those steps (a
     diagnostic: what its full passes cost, which a host may choose to skip).

   Every run's events must be those of the same tick on the in-memory funnel
   (a new process's are compared through a digest of their JSON text).
3. Size. The file's size after the feed (with its write-ahead log, if any
   is left), in MB and per lead.

``--quick`` (or ``FUNNELKIT_BENCH_QUICK=1``) runs a tenth of the sizes:
leads, feed and slice. Files live in a temporary directory. Timed runs start
after a full collection and run with the cyclic garbage collector on. The
machines are shared: the ratios matter more than the absolute numbers.
Targets are printed beside the figures; nothing fails.
"""

from __future__ import annotations

import gc
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from _harness import QUICK, Report, Summary, print_summary
from _reopen_child import digest, reopen
from bench_funnel import PER_LEAD, RECORD_LEADS, T0, build_feed

from funnelkit import Activity, Event, Funnel, FunnelPolicy, Lead, SQLiteStore, policies
from funnelkit.testing import ManualClock

SYNCHRONOUS = "NORMAL"
# One transaction per call runs at some thousands a second: a slice of the feed.
PER_CALL_ACTIVITIES = 2_000 if QUICK else 20_000
# The reopened funnel ticks this long after the feed's last activity.
TICK_AFTER = timedelta(days=2)
# Reopen runs, each on its own copy of the batch's file: the median is quoted.
REOPENS = 3
# Run by a new process for each reopen there, as a restarted host would.
CHILD = Path(__file__).with_name("_reopen_child.py")
MB = 1_000_000


class MemoryRun(NamedTuple):
    """What the in-memory run measured."""

    rate: float
    stages: Counter[str]
    tick_seconds: float
    events: list[Event]


class ChildRun(NamedTuple):
    """What a reopen in a new process measured."""

    seconds: float
    import_seconds: float
    events: int
    digest: str


class BatchRun(NamedTuple):
    """What the batch's run measured."""

    add_seconds: float
    record_seconds: float
    commit_seconds: float
    stages: Counter[str]


def _stages(funnel: Funnel, leads: Sequence[Lead]) -> Counter[str]:
    return Counter(funnel.state(lead.id).stage for lead in leads)


def record_in_memory(
    policy: FunnelPolicy, leads: Sequence[Lead], feed: Sequence[Activity], now: datetime
) -> MemoryRun:
    """Record the feed in memory, then tick at *now*, the reference of a reopen."""
    funnel = Funnel(policy, clock=ManualClock(T0))
    for lead in leads:
        funnel.add_lead(lead)
    record = funnel.record
    gc.collect()
    began = time.perf_counter()
    for activity in feed:
        record(activity)
    seconds = time.perf_counter() - began
    stages = _stages(funnel, leads)
    gc.collect()
    began = time.perf_counter()
    events = funnel.tick(now)
    tick_seconds = time.perf_counter() - began
    return MemoryRun(len(feed) / seconds, stages, tick_seconds, events)


def record_batch(
    policy: FunnelPolicy, leads: Sequence[Lead], feed: Sequence[Activity], path: Path
) -> BatchRun:
    """Add the leads and record the feed in one batch; close the store after."""
    store = SQLiteStore(path, synchronous=SYNCHRONOUS)
    funnel = Funnel(policy, store=store, clock=ManualClock(T0))
    add = funnel.add_lead
    record = funnel.record
    gc.collect()
    began = time.perf_counter()
    with store.batch():
        for lead in leads:
            add(lead)
        added = time.perf_counter()
        for activity in feed:
            record(activity)
        recorded = time.perf_counter()
    ended = time.perf_counter()
    stages = _stages(funnel, leads)
    store.close()
    return BatchRun(added - began, ended - added, ended - recorded, stages)


def record_per_call(
    policy: FunnelPolicy, leads: Sequence[Lead], part: Sequence[Activity], path: Path
) -> float:
    """Return activities/s over *part*, one transaction per record.

    The leads are added first, in a batch, untimed.
    """
    with SQLiteStore(path, synchronous=SYNCHRONOUS) as store:
        funnel = Funnel(policy, store=store, clock=ManualClock(T0))
        with store.batch():
            for lead in leads:
                funnel.add_lead(lead)
        record = funnel.record
        gc.collect()
        began = time.perf_counter()
        for activity in part:
            record(activity)
        seconds = time.perf_counter() - began
    return len(part) / seconds


def reopen_in_new_process(
    path: Path, now: datetime, *, paused: bool = False
) -> ChildRun:
    """Reopen a copy of the store at *path* in a new process and tick at *now*.

    *paused*: the child pauses the garbage collector for it (a diagnostic).
    """
    copy = copies(path, 1, stem="child")[0]
    extra = ["paused"] if paused else []
    try:
        done = subprocess.run(  # noqa: S603 -- this interpreter, our own script
            [sys.executable, str(CHILD), str(copy), now.isoformat(), *extra],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    found = json.loads(done.stdout)
    return ChildRun(
        found["seconds"], found["import_seconds"], found["events"], found["digest"]
    )


def copies(path: Path, count: int, stem: str = "") -> list[Path]:
    """Return *count* copies of the closed store at *path*, with its side files."""
    made = []
    for number in range(count):
        copy = path.with_name(f"{path.stem}-{stem}{number}{path.suffix}")
        for suffix in ("", "-wal", "-shm"):
            beside = Path(f"{path}{suffix}")
            if beside.exists():
                shutil.copyfile(beside, Path(f"{copy}{suffix}"))
        made.append(copy)
    return made


def file_bytes(path: Path) -> int:
    """Return the size of the store's file and of what SQLite keeps beside it."""
    return sum(
        name.stat().st_size
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        if name.exists()
    )


# -- Report --------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f} activities/s"


def measure(reports: dict[str, Report]) -> None:
    """Run the three measures and fill the sections' reports."""
    policy = policies.b2b_saas()
    leads, feed = build_feed(RECORD_LEADS)
    now = feed[-1].at + TICK_AFTER
    part = feed[:PER_CALL_ACTIVITIES]
    memory = record_in_memory(policy, leads, feed, now)
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="funnelkit-bench-") as folder:
        batch_path = Path(folder, "batch.sqlite")
        batch = record_batch(policy, leads, feed, batch_path)
        gc.collect()
        size = file_bytes(batch_path)
        reopened = [reopen(policy, copy, now) for copy in copies(batch_path, REOPENS)]
        gc.collect()
        children = [reopen_in_new_process(batch_path, now) for _ in range(REOPENS)]
        paused = [
            reopen_in_new_process(batch_path, now, paused=True) for _ in range(REOPENS)
        ]
        per_call = record_per_call(policy, leads, part, Path(folder, "per-call.sqlite"))

    records = _records_report(reports["1"], feed, memory.rate, batch, per_call)
    _check_stages(records, memory.stages, batch.stages)
    _reopen_report(reports["2"], reopened, memory)
    _child_report(reports["2"], children, paused, memory)
    report = reports["3"]
    report.add(
        f"file: {len(leads):,} leads, {len(feed):,} activities",
        f"{size / MB:,.1f} MB",
    )
    report.add(
        f"file: bytes per lead ({PER_LEAD} activities each)",
        f"{size / len(leads):,.0f} bytes",
    )


def _records_report(
    report: Report,
    feed: Sequence[Activity],
    in_memory: float,
    batch: BatchRun,
    per_call: float,
) -> Report:
    batch_rate = len(feed) / batch.record_seconds
    report.add(
        f"record: InMemoryStore, {len(feed):,} activities",
        _rate(in_memory),
        "",
        "(the reference)",
    )
    report.add(
        f"record: SQLiteStore, one batch, {len(feed):,} activities",
        _rate(batch_rate),
        f"InMemoryStore {_rate(in_memory)}",
    )
    ratio = batch_rate / in_memory
    report.add(
        "record: SQLiteStore batch / InMemoryStore",
        f"{ratio:.0%}",
        "",
        ">= 50%",
        ratio >= 0.5,
        short="record in a batch / in memory",
    )
    report.add(
        f"record: SQLiteStore, one transaction per call, first {PER_CALL_ACTIVITIES:,}",
        _rate(per_call),
        f"InMemoryStore {_rate(in_memory)}",
        ">= 2,000 activities/s",
        per_call >= 2_000,
        short="record, one transaction per call",
    )
    report.add(
        f"add_lead: SQLiteStore, one batch, {RECORD_LEADS:,} leads",
        f"{RECORD_LEADS / batch.add_seconds:,.0f} leads/s",
    )
    report.notes.append(
        f"SQLiteStore with synchronous={SYNCHRONOUS!r}. Single runs. One "
        f"transaction per call is timed on the feed's first "
        f"{PER_CALL_ACTIVITIES:,} activities only (all {RECORD_LEADS:,} leads "
        f"added first, untimed). The batch's commit at its end took "
        f"{batch.commit_seconds:.1f} s of its {batch.record_seconds:.1f} s."
    )
    return report


def _check_stages(report: Report, memory: Counter[str], stored: Counter[str]) -> None:
    shown = ", ".join(f"{stage} {count:,}" for stage, count in memory.most_common())
    if stored == memory:
        report.notes.append(f"After the feed, both stores' leads' stages: {shown}.")
    else:
        other = ", ".join(f"{stage} {count:,}" for stage, count in stored.most_common())
        report.notes.append(
            f"MISMATCH: after the feed, the in-memory funnel's stages are {shown}; "
            f"the SQLite batch's are {other}."
        )


def _reopen_report(
    report: Report, runs: list[tuple[float, list[Event]]], memory: MemoryRun
) -> None:
    expected = memory.events
    times = [seconds for seconds, _ in runs]
    seconds = statistics.median(times)
    events = runs[0][1]
    report.add(
        f"reopen in this process: SQLiteStore + Funnel + first tick, "
        f"{RECORD_LEADS:,} leads",
        f"{seconds:.2f} s",
        f"InMemoryStore's tick alone {memory.tick_seconds:.2f} s",
        "<= 2 s",
        seconds <= 2,
        short="reopen and first tick, this process",
    )
    report.add(
        "reopen: events of that first tick",
        f"{len(events):,}",
        f"InMemoryStore {len(expected):,}",
    )
    kinds_of = Counter(type(event).__name__ for event in events)
    shown = ", ".join(f"{name} {count:,}" for name, count in kinds_of.most_common())
    touched = len({event.lead_id for event in events})
    if touched:
        report.add(
            "reopen: the same, per lead the tick woke",
            f"{seconds / touched * 1e6:,.0f} us",
            f"InMemoryStore {memory.tick_seconds / touched * 1e6:,.0f} us",
        )
    each = ", ".join(f"{value:.2f}" for value in times)
    report.notes.append(
        f"In this process: the median of {len(runs)} runs ({each} s), each on "
        f"its own copy of the file. The tick is {TICK_AFTER.days} days after "
        f"the feed's last activity; its events: {shown or 'none'}, of "
        f"{touched:,} leads. The in-memory tick is a single run."
    )
    if any(found != expected for _, found in runs):
        report.notes.append(
            "MISMATCH: a reopened funnel's first tick did not give the events "
            "the in-memory funnel's same tick gave."
        )


def _child_report(
    report: Report, runs: list[ChildRun], paused: list[ChildRun], memory: MemoryRun
) -> None:
    seconds = statistics.median(run.seconds for run in runs)
    report.add(
        f"reopen in a new process: the same, {RECORD_LEADS:,} leads",
        f"{seconds:.2f} s",
        f"in this process, above; InMemoryStore's tick alone "
        f"{memory.tick_seconds:.2f} s",
        "<= 2 s",
        seconds <= 2,
        short="reopen and first tick, new process",
    )
    report.add(
        "reopen in a new process, the collector paused for it (a host's choice)",
        f"{statistics.median(run.seconds for run in paused):.2f} s",
        "the same, the collector on, above",
    )
    imports = statistics.median(run.import_seconds for run in runs)
    report.add("reopen in a new process: its imports, before", f"{imports:.2f} s")
    each = ", ".join(f"{run.seconds:.2f}" for run in runs)
    each_paused = ", ".join(f"{run.seconds:.2f}" for run in paused)
    report.notes.append(
        f"In a new process: the median of {len(runs)} runs ({each} s), each on "
        "its own copy of the file, made just before; with the collector "
        f"paused ({each_paused} s): the difference is its full passes over a "
        "heap that grows from little as the tick decodes thousands of leads."
    )
    expected = digest(memory.events)
    if any(
        run.events != len(memory.events) or run.digest != expected
        for run in (*runs, *paused)
    ):
        report.notes.append(
            "MISMATCH: a funnel reopened in a new process gave other events in "
            "its first tick than the in-memory funnel's same tick."
        )


def main() -> None:
    """Measure and print the tables."""
    began = time.perf_counter()
    size = "quick (--quick)" if QUICK else "full"
    print(
        f"Store benchmarks, {size} size. SQLite {sqlite3.sqlite_version} "
        "(Python's sqlite3)."
    )
    summary: Summary = []
    sections = (
        ("1", "record on policies.b2b_saas(), by store"),
        ("2", "reopening a SQLiteStore"),
        ("3", "the SQLite file"),
    )
    reports = {number: Report(number, summary) for number, _ in sections}
    measure(reports)
    for number, title in sections:
        reports[number].print(title)
    print_summary(summary, began)


if __name__ == "__main__":
    main()
