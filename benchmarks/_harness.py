"""Timing helpers shared by the benchmark scripts: medians of repeated runs."""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable


def per_call_us(func: Callable[[], object], *, number: int, repeat: int = 7) -> float:
    """Return the median over *repeat* runs of the time per call, in microseconds."""
    timer = timeit.Timer(func)
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
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
