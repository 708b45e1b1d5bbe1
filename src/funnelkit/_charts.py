"""Pictures of a funnel report, drawn with matplotlib (the ``plot`` extra).

matplotlib is imported when a chart is drawn, never when funnelkit is: a
host without the extra gets a :class:`~funnelkit.errors.MissingExtraError`
naming it. The charts are made on a ``Figure`` of their own (no pyplot, no
global state, no display), so a web server or a test can draw them.
"""

from __future__ import annotations

import math
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelkit.errors import MissingExtraError, ValidationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from funnelkit.analytics import FunnelReport

__all__ = ["cohort_chart", "funnel_chart", "save_charts", "time_in_stage_chart"]

_SIZE = (8.0, 4.5)  # inches: 800 x 450 pixels at the default 100 dpi
_DAY = timedelta(days=1)
_ALL = "(all)"


def _check_report(owner: str, report: object) -> None:
    """Refuse anything but a funnel report, naming the argument."""
    # analytics imports this module: its report is imported when asked for.
    from funnelkit.analytics import FunnelReport  # noqa: PLC0415

    if not isinstance(report, FunnelReport):
        raise ValidationError(
            owner=owner,
            field="report",
            value=report,
            expected="a funnelkit.analytics.FunnelReport, as FunnelReport.build makes",
        )


def _figure() -> Figure:
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415 -- an optional extra, imported when used
    except ImportError:
        raise MissingExtraError(
            extra="plot", package="matplotlib", purpose="funnelkit's charts"
        ) from None
    return Figure(figsize=_SIZE, layout="constrained")


def funnel_chart(report: FunnelReport) -> Figure:
    """Bars of the entries into each stage of the path, with the conversion between.

    The entries are those of the report's period (its flow); the percentage
    beside a bar is the conversion into that stage from the one above it
    (every lead, every cohort).
    """
    _check_report("funnel_chart", report)
    figure = _figure()
    axes = figure.subplots()
    stages = list(report.stages)
    entries = [
        sum(
            row.entered
            for row in report.flow
            if row.segment == _ALL and row.stage == stage
        )
        for stage in stages
    ]
    rates = {
        (row.source, row.target): row.rate
        for row in report.conversions
        if row.segment == _ALL and row.cohort == _ALL
    }
    positions = list(range(len(stages)))[::-1]
    axes.barh(positions, entries, color="#3b6ea5")
    axes.set_yticks(positions, stages)
    widest = max(entries, default=0) or 1
    for index, (position, count) in enumerate(zip(positions, entries, strict=True)):
        label = f"{count:,}"
        if index:
            rate = rates.get((stages[index - 1], stages[index]))
            label += "" if rate is None else f"  ({rate:.0%} of {stages[index - 1]})"
        axes.text(count + widest * 0.01, position, label, va="center")
    axes.set_xlim(0, widest * 1.35)
    axes.set_xlabel("entries in the period")
    axes.set_title(f"Funnel, {_period(report)}")
    return figure


def cohort_chart(report: FunnelReport) -> Figure:
    """A heat map of conversion by cohort (rows) and step of the path (columns)."""
    _check_report("cohort_chart", report)
    figure = _figure()
    axes = figure.subplots()
    steps = list(zip(report.stages, report.stages[1:], strict=False))
    rows = [
        row for row in report.conversions if row.segment == _ALL and row.cohort != _ALL
    ]
    cohorts = sorted({row.cohort for row in rows})
    rates = {(row.cohort, row.source, row.target): row.rate for row in rows}
    grid = [
        [_or_nan(rates.get((cohort, source, target))) for source, target in steps]
        for cohort in cohorts
    ]
    image = axes.imshow(
        grid or [[math.nan] * len(steps)], cmap="viridis", vmin=0, vmax=1, aspect="auto"
    )
    for y, line in enumerate(grid):
        for x, rate in enumerate(line):
            if not math.isnan(rate):
                shade = "white" if rate < 0.6 else "black"  # noqa: PLR2004 -- readable on the map
                axes.text(x, y, f"{rate:.0%}", ha="center", va="center", color=shade)
    axes.set_xticks(range(len(steps)), [f"{a} to {b}" for a, b in steps])
    axes.set_yticks(range(len(cohorts)), cohorts)
    axes.set_title(f"Conversion by {report.cohort} of entry, {_period(report)}")
    figure.colorbar(image, ax=axes, label="converted / entered")
    return figure


def time_in_stage_chart(report: FunnelReport) -> Figure:
    """Each stage's distribution of time in stage: the share of visits ended by day.

    Kaplan-Meier estimates, so visits going on count for the time they have
    lasted; a curve stops where those still in the stage leave it unknown.
    """
    _check_report("time_in_stage_chart", report)
    figure = _figure()
    axes = figure.subplots()
    from funnelkit.analytics import CURVE_SHARES  # noqa: PLC0415 -- a cycle at import

    for row in report.times:
        if row.segment != _ALL:
            continue
        points = [
            (0.0, 0.0),
            *(
                (when / _DAY, share)
                for when, share in zip(row.curve, CURVE_SHARES, strict=True)
                if when is not None
            ),
        ]
        axes.step(
            [x for x, _ in points],
            [y for _, y in points],
            where="post",
            label=f"{row.stage} ({row.visits:,} visit{'' if row.visits == 1 else 's'})",
        )
    axes.set_xlabel("days in stage")
    axes.set_ylabel("share of visits ended")
    axes.set_ylim(0, 1.02)
    if axes.get_lines():
        axes.legend(loc="lower right")
    axes.set_title(f"Time in stage (Kaplan-Meier), {_period(report)}")
    return figure


def save_charts(report: FunnelReport, directory: str | Path) -> list[Path]:
    """Write the three charts as PNG files in *directory* (made if need be).

    Returns the paths written: ``funnel.png``, ``cohorts.png`` and
    ``time_in_stage.png``. Each is written beside and then renamed, so a
    failed write (a full disk) leaves no cut file, and the chart of an
    earlier run whole.

    Raises:
        ValidationError: *report* is not a :class:`FunnelReport`, or
            *directory* is not a path (nothing is made).
        MissingExtraError: matplotlib is not installed (the ``plot`` extra).
    """
    _check_report("save_charts", report)
    if not isinstance(directory, str | os.PathLike):
        raise ValidationError(
            owner="save_charts",
            field="directory",
            value=directory,
            expected="a folder's path (str or os.PathLike)",
        )
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("funnel.png", funnel_chart),
        ("cohorts.png", cohort_chart),
        ("time_in_stage.png", time_in_stage_chart),
    ):
        path = folder / name
        partial = folder / f".{name}.partial"
        try:
            # No software version in the file: the same report, the same bytes.
            draw(report).savefig(partial, format="png", metadata=_NO_METADATA)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        written.append(path)
    return written


_NO_METADATA: dict[str, Any] = {"Software": None}


def _or_nan(rate: float | None) -> float:
    return math.nan if rate is None else rate


def _period(report: FunnelReport) -> str:
    return f"{report.start.date().isoformat()} to {report.end.date().isoformat()}"
