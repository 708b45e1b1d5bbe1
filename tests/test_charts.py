import errno
import os
import struct
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from funnelkit import MissingExtraError, ValidationError
from funnelkit import _charts as charts
from funnelkit.analytics import (
    FunnelReport,
    StageEntry,
    cohort_chart,
    funnel_chart,
    save_charts,
    time_in_stage_chart,
)

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def _report(entries: list[StageEntry]) -> FunnelReport:
    return FunnelReport.build(
        entries,
        stages=["mql", "sql", "customer"],
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 4, 1, tzinfo=UTC),
    )


def _history() -> list[StageEntry]:
    """Sixty leads over three months, some converting, some still in mql."""
    entries = []
    for number in range(60):
        at = T0 + number * 1.3 * DAY
        lead_id = f"L-{number}"
        if number % 3 == 0:
            entries.append(StageEntry(lead_id, "mql", at))
            continue
        entries += [
            StageEntry(
                lead_id, "mql", at, exited_at=at + (number % 7) * DAY, next_stage="sql"
            ),
            StageEntry(lead_id, "sql", at + (number % 7) * DAY),
        ]
    return entries


def _png_size(path: Path) -> tuple[int, int]:
    """The width and height a PNG file's header gives."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class TestCharts:
    def test_the_three_charts_are_pictures_of_the_report(self, tmp_path: Path) -> None:
        """Each chart renders to an 800 x 450 PNG of some substance."""
        written = save_charts(_report(_history()), tmp_path / "charts")
        assert [path.name for path in written] == [
            "funnel.png",
            "cohorts.png",
            "time_in_stage.png",
        ]
        for path in written:
            assert _png_size(path) == (800, 450)
            assert path.stat().st_size > 10_000

    def test_the_same_report_draws_the_same_bytes(self, tmp_path: Path) -> None:
        """No date or version in the files: a report gives the same PNGs twice."""
        report = _report(_history())
        first = [path.read_bytes() for path in save_charts(report, tmp_path / "a")]
        again = [path.read_bytes() for path in save_charts(report, tmp_path / "b")]
        assert first == again

    def test_a_failed_write_leaves_no_cut_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A disk that fills mid-chart: the earlier chart stays whole, nothing cut."""
        report = _report(_history())
        before = {
            path.name: path.read_bytes() for path in save_charts(report, tmp_path)
        }

        class Cut:
            def savefig(self, path: Path, **_: object) -> None:
                Path(path).write_bytes(b"\x89PNG cut")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(charts, "cohort_chart", lambda _: Cut())
        with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)):
            save_charts(report, tmp_path)
        after = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
        assert after == before

    def test_the_charts_show_what_the_report_says(self) -> None:
        """Bars, cells and curves carry the report's numbers."""
        report = _report(_history())
        texts = [text.get_text() for text in funnel_chart(report).axes[0].texts]
        assert texts[0] == "60"
        assert texts[1].startswith("40  (")
        cells = [text.get_text() for text in cohort_chart(report).axes[0].texts]
        assert cells
        assert all(cell.endswith("%") for cell in cells)
        lines = time_in_stage_chart(report).axes[0].get_lines()
        assert lines[0].get_label() == "mql (60 visits)"

    def test_steps_with_no_cohort_are_left_blank(self) -> None:
        """A month in which nobody entered a step's stage has no number there."""
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=T0 + DAY, next_stage="sql"),
            StageEntry("L-1", "sql", T0 + DAY),
            StageEntry("L-2", "mql", T0 + 40 * DAY),
        ]
        cells = [
            text.get_text() for text in cohort_chart(_report(entries)).axes[0].texts
        ]
        # January: both steps; February: mql to sql only.
        assert cells == ["100%", "0%", "0%"]

    def test_segment_rows_are_not_drawn(self) -> None:
        """A report by segment draws the curves of every lead only."""
        entries = [
            StageEntry(
                "L-1", "mql", T0, exited_at=T0 + DAY, segments={"source": "ads"}
            ),
        ]
        report = FunnelReport.build(
            entries,
            stages=["mql", "sql"],
            start=T0,
            end=T0 + 30 * DAY,
            segment="source",
        )
        lines = time_in_stage_chart(report).axes[0].get_lines()
        assert [line.get_label() for line in lines] == ["mql (1 visit)"]

    def test_an_empty_report_still_draws(self, tmp_path: Path) -> None:
        """No leads: empty charts, not an error."""
        for path in save_charts(_report([]), tmp_path):
            assert _png_size(path) == (800, 450)

    def test_without_matplotlib_the_error_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Missing matplotlib: MissingExtraError naming funnelkit[plot]."""
        monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
        with pytest.raises(MissingExtraError, match=r"funnelkit\[plot\]") as info:
            funnel_chart(_report([]))
        assert info.value.extra == "plot"

    @pytest.mark.parametrize(
        ("draw", "owner"),
        [
            (funnel_chart, "funnel_chart"),
            (cohort_chart, "cohort_chart"),
            (time_in_stage_chart, "time_in_stage_chart"),
        ],
    )
    @pytest.mark.parametrize("report", [None, "report", 3])
    def test_a_report_of_another_type_is_named(
        self, draw: Callable[[FunnelReport], object], owner: str, report: object
    ) -> None:
        """A chart of anything but a FunnelReport is a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            draw(report)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == (owner, "report")

    def test_save_charts_checks_before_it_makes_the_folder(
        self, tmp_path: Path
    ) -> None:
        """Bad arguments to save_charts are named, and no folder is made."""
        folder = tmp_path / "charts"
        with pytest.raises(ValidationError) as info:
            save_charts(None, folder)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("save_charts", "report")
        with pytest.raises(ValidationError) as info:
            save_charts(_report([]), 3)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("save_charts", "directory")
        assert not folder.exists()
