"""Cost of a funnel report over a year of stage history.

Run: python benchmarks/bench_analytics.py [--quick]

1,000,000 seeded ``StageEntry`` values: leads enter ``mql`` at random
instants over 2025 and walk a Markov chain (to ``sql``, ``opportunity``,
``customer``, or off the path to ``nurture``, ``disqualified``, ``lost``),
each visit lasting hours to weeks; the last visit of about half the leads
is still going on at the report's ``now``; six sources as a segment.

1. ``FunnelReport.build`` over the whole year by month, on the path ``mql,
   sql, opportunity, customer``: the median of 3 runs, against the target
   (<= 5 s for 1,000,000 entries); the same with ``segment="source"``, which
   counts every lead twice (in every lead's rows and in its source's).
2. The peer: pandas computing a part of the same report from the same rows
   (conversion from each stage to the next by monthly cohort, and the
   median time in each stage of the visits that ended, without censoring):
   the median of 3 runs, the time to build its DataFrame apart.

3. ``backtest`` of ``policies.b2b_saas()`` over the ``bench_funnel.py`` feed
   (1,000,000 activities of 100,000 leads, a seeded tenth of the leads won),
   in activities per second, against the engine's ``record`` throughput on
   the same feed in the same run (the leads added first, untimed): the
   target is >= 80% of it. Single runs (they are long).

``--quick`` (or ``FUNNELKIT_BENCH_QUICK=1``) runs a tenth of the entries,
leads and activities.
The machines are shared: the ratios matter more than the absolute numbers.
Targets are printed beside the figures; nothing fails.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pandas as pd
from _harness import QUICK, Report, Summary, print_summary
from bench_funnel import RECORD_LEADS, build_feed

from funnelkit import Activity, Funnel, Lead, policies
from funnelkit.analytics import FunnelReport, StageEntry, backtest
from funnelkit.testing import ManualClock

SEED = 20261203
ENTRIES = 100_000 if QUICK else 1_000_000
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
NOW = END + timedelta(days=14)
PATH = ("mql", "sql", "opportunity", "customer")
SOURCES = ("webinar", "paid_search", "organic", "referral", "event", "partner")
#: Where a lead goes from each stage, and how likely.
CHAIN = {
    "mql": (("sql", 0.35), ("nurture", 0.35), ("disqualified", 0.3)),
    "sql": (("opportunity", 0.5), ("nurture", 0.3), ("disqualified", 0.2)),
    "opportunity": (("customer", 0.4), ("lost", 0.6)),
    "nurture": (("mql", 0.6), ("disqualified", 0.4)),
}
RUNS = 3


def build_entries(count: int) -> list[StageEntry]:
    """Return *count* stage entries of leads walking the chain, seeded."""
    rng = random.Random(SEED)
    entries: list[StageEntry] = []
    number = 0
    year = (END - START).total_seconds()
    while len(entries) < count:
        number += 1
        lead_id = f"L-{number:07d}"
        segments = {"source": rng.choice(SOURCES)}
        at = START + timedelta(seconds=rng.uniform(0, year))
        stage = "mql"
        while len(entries) < count:
            stays = timedelta(hours=rng.expovariate(1 / 200))
            moves = CHAIN.get(stage)
            if moves is None or at + stays > NOW or rng.random() < 0.15:
                entries.append(StageEntry(lead_id, stage, at, segments=segments))
                break
            target = rng.choices([name for name, _ in moves], [p for _, p in moves])[0]
            entries.append(
                StageEntry(
                    lead_id,
                    stage,
                    at,
                    exited_at=at + stays,
                    next_stage=target,
                    reason="no_budget" if target == "disqualified" else None,
                    segments=segments,
                )
            )
            at += stays
            stage = target
    return entries


def median_seconds(run: Callable[[], object]) -> float:
    """Return the median wall time of RUNS runs of *run*, after a collection."""
    times = []
    for _ in range(RUNS):
        gc.collect()
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def frame_of(entries: list[StageEntry]) -> pd.DataFrame:
    """The entries as the DataFrame a pandas user would start from."""
    return pd.DataFrame(
        {
            "lead_id": [entry.lead_id for entry in entries],
            "stage": [entry.stage for entry in entries],
            "entered_at": [entry.entered_at for entry in entries],
            "exited_at": [entry.exited_at for entry in entries],
            "source": [entry.segments["source"] for entry in entries],
        }
    )


def pandas_report(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Conversion by monthly cohort along PATH; median time in stage, uncensored."""
    known = frame[frame["entered_at"] <= NOW]
    rank = known["stage"].map({stage: index for index, stage in enumerate(PATH)})
    rows = []
    for index, (source, target) in enumerate(pairwise(PATH)):
        entered = known[(known["stage"] == source)]
        entered = entered[
            (entered["entered_at"] >= START) & (entered["entered_at"] < END)
        ]
        first = entered.groupby("lead_id")["entered_at"].min()
        reached = known[rank >= index + 1].groupby("lead_id")["entered_at"].max()
        joined = first.to_frame("first").join(reached.rename("reached"), how="left")
        joined["converted"] = joined["reached"] >= joined["first"]
        joined["cohort"] = joined["first"].dt.strftime("%Y-%m")
        table = joined.groupby("cohort")["converted"].agg(["size", "sum"])
        table["source"], table["target"] = source, target
        rows.append(table)
    ended = known[known["exited_at"].notna() & (known["exited_at"] <= NOW)]
    durations = (ended["exited_at"] - ended["entered_at"]).dt.total_seconds()
    medians = durations.groupby(ended["stage"]).median()
    return pd.concat(rows), medians


def record_rate(leads: list[Lead], feed: list[Activity]) -> float:
    """The engine's record throughput on the feed, activities/s (leads added first)."""
    funnel = Funnel(policies.b2b_saas(), clock=ManualClock(START))
    for lead in leads:
        funnel.add_lead(lead)
    record = funnel.record
    gc.collect()
    began = time.perf_counter()
    for activity in feed:
        record(activity)
    return len(feed) / (time.perf_counter() - began)


def backtest_rate(
    leads: list[Lead], feed: list[Activity], won: dict[str, bool]
) -> tuple[float, str]:
    """The backtest's throughput on the feed, activities/s, and its headline."""
    first = min(lead.created_at for lead in leads)
    last = max(activity.at for activity in feed)
    gc.collect()
    began = time.perf_counter()
    report = backtest(
        policies.b2b_saas(),
        leads,
        feed,
        won,
        start=first,
        end=last + timedelta(days=1),
    )
    rate = len(feed) / (time.perf_counter() - began)
    headline = (
        f"{report.mqls:,} MQLs, precision {report.precision or 0:.1%}, "
        f"recall {report.recall or 0:.1%}, ROC AUC {report.auc or 0:.3f}"
    )
    return rate, headline


def main() -> None:
    """Measure and print the table."""
    began = time.perf_counter()
    size = "quick (--quick)" if QUICK else "full"
    print(f"Analytics benchmarks, {size} size.")
    summary: Summary = []
    entries = build_entries(ENTRIES)
    leads = len({entry.lead_id for entry in entries})

    def report(segment: str | None) -> FunnelReport:
        return FunnelReport.build(
            entries, stages=PATH, start=START, end=END, now=NOW, segment=segment
        )

    plain = median_seconds(lambda: report(None))
    segmented = median_seconds(lambda: report("source"))
    framing = median_seconds(lambda: frame_of(entries))
    frame = frame_of(entries)
    peer = median_seconds(lambda: pandas_report(frame))

    target = 5.0 * len(entries) / 1_000_000
    section = Report("1", summary)
    section.add(
        f"FunnelReport.build, {len(entries):,} entries of {leads:,} leads",
        f"{plain:.2f} s",
        f"pandas {peer:.2f} s (part of it)",
        f"<= {target:g} s",
        plain <= target,
        short="report over the entries",
    )
    section.add("the same, segment='source' (6 values)", f"{segmented:.2f} s")
    section.add("pandas: building its DataFrame from the entries", f"{framing:.2f} s")
    section.notes.append(
        f"Medians of {RUNS} runs. The pandas peer computes conversion by monthly "
        "cohort along the path and the median time in stage of the visits that "
        "ended (no censoring, no flow, no time to convert, no segments): a lower "
        "bound on what the same report costs in pandas."
    )
    section.print("a year of stage history")

    leads_fed, feed = build_feed(RECORD_LEADS)
    rng = random.Random(SEED)
    won = {lead.id: rng.random() < 0.1 for lead in leads_fed}
    engine = record_rate(leads_fed, feed)
    gc.collect()
    replayed, headline = backtest_rate(leads_fed, feed, won)
    second = Report("2", summary)
    second.add(
        f"backtest: b2b_saas, {len(feed):,} activities of {len(leads_fed):,} leads",
        f"{replayed:,.0f} activities/s",
        f"engine record {engine:,.0f} activities/s",
    )
    ratio = replayed / engine
    second.add(
        "backtest / engine record throughput",
        f"{ratio:.0%}",
        "",
        ">= 80%",
        ratio >= 0.8,
        short="backtest / record throughput",
    )
    second.notes.append(
        f"Single runs. The backtest adds the leads, sorts the feed, replays it, "
        f"ticks once and scores every lead; the engine's figure is record alone. "
        f"The backtest found: {headline} (outcomes are random: AUC near 0.5)."
    )
    second.print("backtest throughput")
    print_summary(summary, began)


if __name__ == "__main__":
    main()
