"""Helpers shared by the benchmark scripts: medians of repeated runs, and reports."""

from __future__ import annotations

import os
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

Row = tuple[str, str, str, str, str]
Summary = list[tuple[str, str, str, str]]  # measurement, target, figure, met?
HEADER = ("measurement", "funnelkit figure", "peer figures", "target", "met?")

#: Whether to run a tenth of the sizes: ``--quick`` or ``FUNNELKIT_BENCH_QUICK=1``.
QUICK = "--quick" in sys.argv[1:] or os.environ.get("FUNNELKIT_BENCH_QUICK") == "1"


def per_call_us(func: Callable[[], object], *, number: int, repeat: int = 7) -> float:
    """Return the median over *repeat* runs of the time per call, in microseconds."""
    timer = timeit.Timer(func)
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """Render rows as an aligned text table."""
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(header, *rows, strict=True)
    ]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, tuple("-" * w for w in widths), *rows]
    ]
    return "\n".join(lines)


def met(ok: bool) -> str:
    """Write a verdict as the tables show it."""
    return "yes" if ok else "NO"


def peer_version(name: str) -> str:
    """Return an installed package's version, or say it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


class Report:
    """One section's rows, and the summary lines of those that have a target."""

    def __init__(self, section: str, summary: Summary) -> None:
        self.section = section
        self.summary = summary
        self.rows: list[Row] = []
        self.notes: list[str] = []

    def add(  # noqa: PLR0913 -- a row's cells
        self,
        measurement: str,
        figure: str,
        peer: str = "",
        target: str = "(diagnostic)",
        ok: bool | None = None,
        *,
        short: str | None = None,
    ) -> None:
        """Add a row; one with a verdict (*ok*) goes to the summary too."""
        verdict = "" if ok is None else met(ok)
        self.rows.append((measurement, figure, peer, target, verdict))
        if ok is not None:
            label = f"{self.section}. {short or measurement}"
            self.summary.append((label, target, figure, verdict))

    def print(self, title: str) -> None:
        """Print the section: its title, its table and its notes."""
        print()
        print(f"{self.section}. {title}")
        print(table(self.rows, HEADER))
        for note in self.notes:
            print(note)


def print_summary(summary: Summary, began: float) -> None:
    """Print the summary table and the run's length since *began*."""
    print()
    print("Summary")
    print(table(summary, ("measurement", "target", "measured", "met?")))
    print(f"Whole run: {time.perf_counter() - began:.0f} s.")
