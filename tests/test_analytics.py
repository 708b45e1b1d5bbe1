import csv
import json
import math
import os
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import groupby, pairwise
from operator import attrgetter
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    EXIT,
    Activity,
    Funnel,
    FunnelPolicy,
    Lead,
    NaiveDatetimeError,
    ScoringModel,
    SerializationError,
    SlaRule,
    SlaTimer,
    Stage,
    Transition,
    ValidationError,
    kinds,
    policies,
)
from funnelkit.analytics import (
    ALL,
    Conversion,
    FunnelReport,
    Goal,
    SlaCompliance,
    StageEntry,
    inventory,
    sla_timers,
    stage_entries,
)
from funnelkit.analytics import _kaplan_meier as kaplan_meier
from funnelkit.serialization import from_json, to_json
from funnelkit.testing import ManualClock

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
PATH = ("mql", "sql", "customer")
DAY = timedelta(days=1)


def _chain(
    lead_id: str, *steps: tuple[str, int], open_last: bool = True, **kw: object
) -> list[StageEntry]:
    """A lead's visits: (stage, day entered) in order, each closed by the next."""
    entries = []
    for (stage, day), after in zip(steps, [*steps[1:], None], strict=True):
        entries.append(
            StageEntry(
                lead_id,
                stage,
                T0 + day * DAY,
                exited_at=None if after is None else T0 + after[1] * DAY,
                next_stage=None if after is None else after[0],
                **kw,  # type: ignore[arg-type]
            )
        )
    if not open_last:
        last = entries[-1]
        entries[-1] = StageEntry(
            last.lead_id, last.stage, last.entered_at, exited_at=last.entered_at + DAY
        )
    return entries


def _report(entries: list[StageEntry], **kw: object) -> FunnelReport:
    options: dict[str, object] = {"stages": PATH, "start": START, "end": END} | kw
    return FunnelReport.build(entries, **options)  # type: ignore[arg-type]


def _row(
    report: FunnelReport,
    source: str,
    target: str,
    cohort: str = "(all)",
    segment: object = "(all)",
) -> Conversion:
    (row,) = [
        row
        for row in report.conversions
        if (row.source, row.target, row.cohort, row.segment)
        == (source, target, cohort, segment)
    ]
    return row


# -- Stage entries ---------------------------------------------------------------


class TestStageEntry:
    def test_a_visit_going_on_has_no_exit(self) -> None:
        """An entry without an exit is a lead still in the stage."""
        entry = StageEntry("L-1", "mql", T0, segments={"source": "ads"})
        assert entry.exited_at is None
        assert entry.segments == {"source": "ads"}

    @pytest.mark.parametrize(
        ("kwargs", "field", "expected"),
        [
            ({"exited_at": T0 - DAY}, "exited_at", "no earlier than entered_at"),
            ({"exited_at": "tomorrow"}, "exited_at", "datetime"),
            (
                {"next_stage": "sql"},
                "next_stage",
                "None while the lead is in the stage",
            ),
            ({"exited_at": T0, "next_stage": ""}, "next_stage", "non-empty"),
            ({"reason": " "}, "reason", "non-empty"),
            ({"segments": {"source": ["a"]}}, "segments['source']", "JSON scalar"),
        ],
    )
    def test_bad_fields_are_named(
        self, kwargs: dict[str, object], field: str, expected: str
    ) -> None:
        """Each bad field raises a ValidationError naming it and what was expected."""
        with pytest.raises(ValidationError) as info:
            StageEntry("L-1", "mql", T0, **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field
        assert expected in info.value.expected

    def test_a_naive_instant_is_refused(self) -> None:
        """An entry time without a time zone is a NaiveDatetimeError."""
        with pytest.raises(NaiveDatetimeError):
            StageEntry("L-1", "mql", datetime(2026, 1, 5, 9))  # noqa: DTZ001 -- the point

    def test_an_empty_stage_is_refused(self) -> None:
        """The stage is a non-empty name."""
        with pytest.raises(ValidationError, match="stage"):
            StageEntry("L-1", "", T0)


class TestStageEntriesOfAFunnel:
    def test_each_move_closes_the_visit_before(self) -> None:
        """A lead's history becomes one entry per stage visited, chained."""
        funnel = Funnel(policies.b2b_saas(), clock=ManualClock(T0))
        lead = Lead(
            "L-1",
            T0,
            attributes={
                "industry": "software",
                "employees": 800,
                "title": "VP Sales",
                "country": "DE",
            },
            source="webinar",
            owner="ana",
        )
        funnel.add_lead(lead)
        for hours, kind in enumerate(
            (kinds.WEBINAR_ATTENDED, kinds.DEMO_REQUEST), start=1
        ):
            funnel.record(Activity("L-1", kind, T0 + timedelta(hours=hours)))
        funnel.move("L-1", "disqualified", by="rep", at=T0 + DAY, reason="no_budget")
        state = funnel.state("L-1")
        entries = stage_entries(
            [state], segments=["source", "owner", "grade", "industry", "missing"]
        )
        assert [entry.stage for entry in entries] == [
            record.target for record in state.history
        ]
        for before, after in pairwise(entries):
            assert before.exited_at == after.entered_at
            assert before.next_stage == after.stage
        assert entries[-1].exited_at is None
        assert entries[-2].reason == "no_budget"
        assert dict(entries[0].segments) == {
            "source": "webinar",
            "owner": "ana",
            "grade": state.score.grade,
            "industry": "software",
            "missing": None,
        }

    def test_one_segment_name_may_be_a_string(self) -> None:
        """segments="source" is segments=["source"], not one segment per letter."""
        funnel = Funnel(policies.b2b_saas(), clock=ManualClock(T0))
        funnel.add_lead(Lead("L-1", T0, source="webinar"))
        states = [funnel.state("L-1")]
        (entry,) = stage_entries(states, segments="source")
        assert dict(entry.segments) == {"source": "webinar"}
        assert stage_entries(states, segments="source") == stage_entries(
            states, segments=["source"]
        )

    @pytest.mark.parametrize(
        ("states", "segments", "field"),
        [
            (None, (), "states"),
            ([Lead("L-1", T0)], (), "states[0]"),
            ([1], (), "states[0]"),
            ([], None, "segments"),
            ([], 5, "segments"),
            ([], [1], "segments[0]"),
            ([], ["source", " "], "segments[1]"),
        ],
    )
    def test_bad_arguments_are_named(
        self, states: object, segments: object, field: str
    ) -> None:
        """Anything but lead states, or segment names, raises a ValidationError."""
        with pytest.raises(ValidationError) as info:
            stage_entries(states, segments=segments)  # type: ignore[arg-type]
        assert info.value.field == field


# -- Conversion ------------------------------------------------------------------


class TestConversion:
    def test_a_visit_entered_at_the_start_is_measured_one_at_the_end_is_not(
        self,
    ) -> None:
        """Entered at start: converts and times; at end or before start: neither."""
        entries = [
            StageEntry("A", "mql", START, exited_at=START + DAY, next_stage="sql"),
            StageEntry("A", "sql", START + DAY),
            StageEntry("B", "mql", END, exited_at=END + DAY, next_stage="sql"),
            StageEntry("B", "sql", END + DAY),
            StageEntry(
                "C", "mql", START - DAY, exited_at=START + DAY, next_stage="sql"
            ),
            StageEntry("C", "sql", START + DAY),
        ]
        report = _report(entries, now=END + 2 * DAY)
        row = _row(report, "mql", "sql")
        assert (row.entered, row.converted) == (1, 1)
        assert {row.stage: row.visits for row in report.times} == {"mql": 1, "sql": 2}

    def test_open_leads_are_censored_not_lost(self) -> None:
        """Still in mql: open; disqualified: left, with its reason."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 2), ("customer", 30)),
            *_chain("L-2", ("mql", 3), ("disqualified", 4)),
            *_chain("L-3", ("mql", 40)),
        ]
        entries[3] = StageEntry(
            "L-2",
            "mql",
            T0 + 3 * DAY,
            exited_at=T0 + 4 * DAY,
            next_stage="disqualified",
            reason="no_budget",
        )
        report = _report(entries)
        row = _row(report, "mql", "sql")
        assert (row.entered, row.converted, row.open) == (3, 1, 1)
        assert row.left == {"disqualified": 1}
        assert row.reasons == {"no_budget": 1}
        assert row.rate == pytest.approx(1 / 3)
        assert row.closed_rate == pytest.approx(1 / 2)
        assert row.median_to_convert == 2 * DAY
        assert _row(report, "mql", "customer").median_to_convert == 30 * DAY

    def test_a_stage_off_the_path_called_open_is_left(self) -> None:
        """A lead gone to an off-path stage named "open" left: it is not open."""
        entries = [
            *_chain("L-1", ("mql", 0), ("open", 1)),
            *_chain("L-2", ("mql", 0)),
        ]
        row = _row(_report(entries), "mql", "sql")
        assert (row.entered, row.open, row.left) == (2, 1, {"open": 1})
        assert row.closed_rate == 0.0

    def test_a_lead_that_skips_a_stage_has_reached_it(self) -> None:
        """Going from mql straight to customer converts mql to sql too."""
        report = _report(_chain("L-1", ("mql", 0), ("customer", 5)))
        assert _row(report, "mql", "sql").converted == 1
        assert _row(report, "mql", "sql").median_to_convert == 5 * DAY

    def test_a_recycled_lead_converts_when_it_comes_back(self) -> None:
        """mql, then nurture, then sql: converted, in the time to its sql entry."""
        entries = _chain("L-1", ("mql", 0), ("nurture", 3), ("sql", 10))
        row = _row(_report(entries), "mql", "sql")
        assert (row.converted, row.median_to_convert) == (1, 10 * DAY)

    def test_an_export_without_next_stages_converts_by_the_later_visit(self) -> None:
        """Visits closed with no next stage: the later sql visit is the conversion."""
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=T0 + DAY),
            StageEntry("L-1", "sql", T0 + 4 * DAY),
        ]
        assert _row(_report(entries), "mql", "sql").median_to_convert == 4 * DAY

    def test_a_closed_visit_towards_a_stage_without_a_row_converts(self) -> None:
        """An export may close a visit towards customer, with no customer row."""
        entry = StageEntry(
            "L-1", "mql", T0, exited_at=T0 + 9 * DAY, next_stage="customer"
        )
        assert _row(_report([entry]), "mql", "customer").median_to_convert == 9 * DAY

    def test_a_closed_last_visit_leaves_towards_its_next_stage(self) -> None:
        """Closed towards lost: left for lost; towards nothing: '(exited)'."""
        lost = StageEntry(
            "L-1", "mql", T0, exited_at=T0 + DAY, next_stage="lost", reason="price"
        )
        gone = StageEntry("L-2", "mql", T0, exited_at=T0 + DAY)
        back = StageEntry("L-3", "sql", T0, exited_at=T0 + DAY, next_stage="mql")
        row = _row(_report([lost, gone]), "mql", "sql")
        assert row.left == {"lost": 1, "(exited)": 1}
        assert row.reasons == {"price": 1}
        # Back on the path, before the target: still open.
        assert _row(_report([back]), "sql", "customer").open == 1

    def test_leads_entering_outside_the_period_are_not_counted(self) -> None:
        """Only entries into the source stage in [start, end) make the cohorts."""
        entries = _chain("L-1", ("mql", -30), ("sql", 1))
        report = _report(entries)
        assert [row for row in report.conversions if row.source == "mql"] == []
        assert _row(report, "sql", "customer").entered == 1

    def test_what_happens_after_now_is_not_known(self) -> None:
        """A move after now does not count; the lead is still open at now."""
        entries = _chain("L-1", ("mql", 0), ("sql", 20))
        report = _report(entries, now=T0 + 10 * DAY)
        assert _row(report, "mql", "sql").open == 1
        assert report.inventory == {"mql": 1, "sql": 0, "customer": 0}

    def test_cohorts_by_week_and_quarter_and_zone(self) -> None:
        """Periods are ISO weeks, months or quarters in the report's time zone."""
        # Sunday 23:30 UTC is Monday 00:30 in Berlin: the next ISO week there.
        entry = StageEntry("L-1", "mql", datetime(2026, 1, 11, 23, 30, tzinfo=UTC))
        by_week = _report([entry], cohort="week")
        assert _row(by_week, "mql", "sql", cohort="2026-W02").entered == 1
        berlin = _report([entry], cohort="week", timezone="Europe/Berlin")
        assert _row(berlin, "mql", "sql", cohort="2026-W03").entered == 1
        by_quarter = _report([entry], cohort="quarter")
        assert _row(by_quarter, "mql", "sql", cohort="2026-Q1").entered == 1

    @pytest.mark.parametrize(
        ("cohort", "zone", "last"),
        [
            ("week", "UTC", "9999-W52"),
            ("month", "America/New_York", "9999-12"),
            ("quarter", "Pacific/Apia", "9999-Q4"),
        ],
    )
    def test_the_last_period_ends_with_the_report(
        self, cohort: str, zone: str, last: str
    ) -> None:
        """A period that would end after the year 9999 ends at the report's end."""
        entry = StageEntry("L-1", "mql", datetime(9999, 12, 30, tzinfo=UTC))
        end = datetime.max.replace(tzinfo=UTC)
        report = _report(
            [entry],
            start=datetime(9999, 12, 1, tzinfo=UTC),
            end=end,
            cohort=cohort,
            timezone=zone,
        )
        assert _row(report, "mql", "sql", cohort=last).entered == 1
        assert report.flow[-1].period == last

    def test_a_start_before_the_year_1_in_the_zone_is_refused(self) -> None:
        """Periods begin on the zone's dates: 0001-01-01 UTC is in the year 0 there."""
        with pytest.raises(ValidationError) as info:
            _report([], start=datetime(1, 1, 1, tzinfo=UTC), timezone="America/Lima")
        assert info.value.field == "start"
        assert "America/Lima" in info.value.expected

    def test_an_instant_move_takes_the_segment_of_the_visit_it_left(self) -> None:
        """Created in lead, moved to mql at once: the lead visit's owner, any order."""
        created = StageEntry(
            "L-1",
            "lead",
            T0,
            exited_at=T0,
            next_stage="mql",
            segments={"owner": "ana"},
        )
        moved = StageEntry("L-1", "mql", T0, segments={"owner": "bo"})
        for entries in ([created, moved], [moved, created]):
            report = _report(entries, stages=["mql", "sql"], segment="owner")
            assert [row.segment for row in report.conversions] == [
                "(all)",
                "(all)",
                "ana",
                "ana",
            ]

    def test_a_chain_of_instant_moves_takes_the_segment_of_its_first_visit(
        self,
    ) -> None:
        """trial to activated at once, in any order: trial's owner, not by name."""
        visits = [
            StageEntry(
                "L-1",
                "trial",
                T0,
                exited_at=T0,
                next_stage="activated",
                segments={"owner": "ana"},
            ),
            StageEntry(
                "L-1",
                "activated",
                T0,
                exited_at=T0,
                next_stage="mql",
                segments={"owner": "bo"},
            ),
            StageEntry("L-1", "mql", T0, segments={"owner": "cy"}),
            StageEntry("L-2", "mql", T0, segments={"owner": "di"}),
        ]
        for entries in (visits, visits[::-1]):
            report = _report(entries, stages=["mql", "sql"], segment="owner")
            assert {row.segment for row in report.conversions} == {
                "(all)",
                "ana",
                "di",
            }

    def test_of_two_visits_entered_and_left_together_the_first_stage_by_name(
        self,
    ) -> None:
        """Entered and left at one instant: the visit to the stage first by name."""
        visits = [
            StageEntry("L-1", stage, T0, exited_at=T0 + DAY, segments={"owner": who})
            for stage, who in (("sql", "bo"), ("mql", "ana"))
        ]
        for entries in (visits, visits[::-1]):
            report = _report(entries, segment="owner")
            assert {row.segment for row in report.conversions} == {"(all)", "ana"}

    def test_segments_break_the_rows_down(self) -> None:
        """With a segment, each value has its rows, after the rows of every lead."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 1), segments={"source": "ads"}),
            *_chain("L-2", ("mql", 0), segments={"source": "web"}),
            *_chain("L-3", ("mql", 0)),
        ]
        report = _report(entries, segment="source")
        assert _row(report, "mql", "sql", segment="ads").rate == 1.0
        assert _row(report, "mql", "sql", segment="web").rate == 0.0
        assert _row(report, "mql", "sql", segment=None).entered == 1
        assert [row.segment for row in report.times if row.stage == "mql"] == [
            "(all)",
            "ads",
            "web",
            None,
        ]
        assert "(none)" in report.to_text()

    def test_segment_values_of_other_types_are_other_segments(self) -> None:
        """1, 1.0 and True are three segments, in any input order, with SLA rows too."""
        policy = FunnelPolicy(
            name="accept",
            version=1,
            stages=[Stage("lead"), Stage("mql")],
            transitions=[Transition(source="lead", target="mql")],
            initial="lead",
            scoring=ScoringModel("empty", []),
            slas=[SlaRule("accept", "mql", "2 hours", EXIT)],
        )
        funnel = Funnel(policy, clock=ManualClock(T0))
        events = []
        entries = []
        for lead_id, tier in (("L-1", True), ("L-2", 1), ("L-3", 1.0), ("L-4", 1)):
            events += funnel.add_lead(Lead(lead_id, T0))
            events += funnel.move(lead_id, "mql", by="ana", at=T0)
            entries += _chain(lead_id, ("mql", 0), segments={"tier": tier})
        timers = sla_timers(events)
        reports = [
            _report(given, segment="tier", timers=timers)
            for given in (entries, entries[::-1])
        ]
        assert reports[0].to_dict() == reports[1].to_dict()
        times = [(row.segment, row.visits) for row in reports[0].times]
        assert [(type(value), value, entered) for value, entered in times] == [
            (str, "(all)", 4),
            (bool, True, 1),
            (float, 1.0, 1),
            (int, 1, 2),
        ]
        sla = [(row.segment, row.started) for row in reports[0].sla]
        assert [(type(value), value, started) for value, started in sla] == [
            (str, "(all)", 4),
            (bool, True, 1),
            (float, 1.0, 1),
            (int, 1, 2),
        ]


# -- Time in stage ---------------------------------------------------------------


class TestTimeInStage:
    def test_leads_still_in_a_stage_count_as_at_least_that_long(self) -> None:
        """Two of three still in mql: no median yet, shown as more than the longest."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 1)),
            *_chain("L-2", ("mql", 0)),
            *_chain("L-3", ("mql", 0)),
        ]
        report = _report(entries, now=T0 + 10 * DAY)
        (mql,) = [row for row in report.times if row.stage == "mql"]
        assert (mql.visits, mql.exited, mql.still_in) == (3, 1, 2)
        assert mql.median is None
        assert mql.longest == 10 * DAY
        assert "> 10.0 d" in report.to_text()

    def test_the_text_lines_names_up_left_and_numbers_right(self) -> None:
        """Each table of the text: names aligned left, counts and days right."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 2), ("customer", 5)),
            *_chain("L-2", ("mql", 1)),
        ]
        text = _report(entries, end=datetime(2026, 2, 1, tzinfo=UTC)).to_text()
        expected = [
            "Conversion (open: still on the path, may yet convert)",
            (
                "cohort   from  to        entered  converted  open  left    rate"
                "  closed rate  median    p90"
            ),
            (
                "-------  ----  --------  -------  ---------  ----  ----  ------"
                "  -----------  ------  -----"
            ),
            (
                "2026-01  mql   sql             2          1     1     -   50.0%"
                "       100.0%   2.0 d  2.0 d"
            ),
            (
                "(all)    mql   sql             2          1     1     -   50.0%"
                "       100.0%   2.0 d  2.0 d"
            ),
            (
                "2026-01  sql   customer        1          1     0     -  100.0%"
                "       100.0%   3.0 d  3.0 d"
            ),
            (
                "(all)    sql   customer        1          1     0     -  100.0%"
                "       100.0%   3.0 d  3.0 d"
            ),
            (
                "2026-01  mql   customer        2          1     1     -   50.0%"
                "       100.0%   5.0 d  5.0 d"
            ),
            (
                "(all)    mql   customer        2          1     1     -   50.0%"
                "       100.0%   5.0 d  5.0 d"
            ),
            "",
            "Time in stage (Kaplan-Meier: leads still in a stage count)",
            "stage     visits  exited  still in    median       p90",
            "--------  ------  ------  --------  --------  --------",
            "mql            2       1         1     2.0 d  > 25.6 d",
            "sql            1       1         0     3.0 d     3.0 d",
            "customer       1       0         1  > 21.6 d  > 21.6 d",
            "",
            "Flow (opening + entered - exited = closing)",
            "period   stage     opening  entered  exited  closing",
            "-------  --------  -------  -------  ------  -------",
            "2026-01  mql             0        2       1        1",
            "2026-01  sql             0        1       1        0",
            "2026-01  customer        0        1       0        1",
        ]
        assert expected == text.splitlines()[2 : 2 + len(expected)]

    @given(
        st.lists(st.integers(0, 10**6), min_size=1, max_size=40),
        st.sampled_from([0.1, 0.5, 0.9, 1.0]),
    )
    def test_without_censoring_it_is_the_nearest_rank(
        self, done: list[int], share: float
    ) -> None:
        """With every visit over, a percentile is the durations' nearest rank."""
        ordered = sorted(done)
        expected = ordered[max(math.ceil(share * len(ordered)) - 1, 0)]
        assert kaplan_meier(done, [], (share,)) == [expected]

    @given(
        st.lists(st.integers(0, 40), max_size=40),
        st.lists(st.integers(0, 40), max_size=40),
        st.lists(
            st.sampled_from([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]), min_size=1
        ).map(sorted),
    )
    def test_it_is_the_kaplan_meier_estimate(
        self, done: list[int], going: list[int], shares: list[float]
    ) -> None:
        """The arithmetic by blocks gives what walking every event gives."""
        assert kaplan_meier(done, going, tuple(shares)) == _walked(done, going, shares)

    @given(
        st.lists(st.integers(0, 1000), max_size=30),
        st.lists(st.integers(0, 1000), max_size=30),
    )
    def test_percentiles_come_in_order(self, done: list[int], going: list[int]) -> None:
        """The median is never after the 90th percentile; both are durations seen."""
        median, p90 = kaplan_meier(done, going, (0.5, 0.9))
        if p90 is not None:
            assert median is not None
            assert median <= p90
        assert median is None or median in done


def _walked(done: list[int], going: list[int], shares: list[float]) -> list[int | None]:
    """Kaplan-Meier the plain way: every distinct ended duration in turn."""
    found: list[int | None] = [None] * len(shares)
    survival = 1.0
    for duration in sorted(set(done)):
        at_risk = sum(d >= duration for d in done) + sum(g >= duration for g in going)
        survival *= 1 - done.count(duration) / at_risk
        for position, share in enumerate(shares):
            if found[position] is None and survival <= 1 - share + 1e-12:
                found[position] = duration
    return found


# -- Flow and inventory ----------------------------------------------------------

STAGES = ["mql", "sql", "customer", "nurture", "disqualified"]


@st.composite
def histories(
    draw: st.DrawFn, *, mixed: bool = False, unlisted: bool = False
) -> list[StageEntry]:
    """Leads' visits: chains of stages with gaps in hours, the last one open or not.

    *mixed*: each visit has its own source, and most moves are instant.
    *unlisted*: some visits after the first have no row (the one before is
    closed towards them), and a closed last visit may name where it went.
    """
    entries: list[StageEntry] = []
    gaps = st.sampled_from([0, 0, 5]) if mixed else st.integers(0, 24 * 40)
    for number in range(draw(st.integers(0, 6))):
        lead_id = f"L-{number}"
        source = draw(st.sampled_from(["ads", "web", None]))
        at = T0 + timedelta(hours=draw(st.integers(-24 * 30, 24 * 120)))
        stages = draw(st.lists(st.sampled_from(STAGES), min_size=1, max_size=5))
        for index, stage in enumerate(stages):
            last = index == len(stages) - 1
            gap = timedelta(hours=draw(gaps))
            if mixed:
                source = draw(st.sampled_from(["ads", "web", None]))
            closed = not last or draw(st.booleans())
            after = stages[index + 1] if not last else None
            if unlisted and last and closed:
                after = draw(st.sampled_from([None, *STAGES]))
            if unlisted and index and draw(st.booleans()):
                at += gap
                continue
            entries.append(
                StageEntry(
                    lead_id,
                    stage,
                    at,
                    exited_at=at + gap if closed else None,
                    next_stage=after,
                    reason=draw(st.sampled_from([None, "no_budget"]))
                    if closed
                    else None,
                    segments={"source": source},
                )
            )
            at += gap
    return entries


class TestInventory:
    def test_leads_in_each_stage_at_an_instant(self) -> None:
        """In a stage from entering (included) to leaving (excluded)."""
        entries = _chain("L-1", ("mql", 0), ("sql", 2)) + _chain("L-2", ("mql", 1))
        assert inventory(entries, T0 + 2 * DAY) == {"mql": 1, "sql": 1}
        assert inventory(entries, T0 + DAY) == {"mql": 2}
        assert inventory(entries, T0 - DAY, stages=["mql", "won"]) == {
            "mql": 0,
            "won": 0,
        }

    def test_a_dicts_keys_are_stages_in_its_order(self) -> None:
        """stages=a dict's keys, which keep the dict's order, is that list."""
        entries = _chain("L-1", ("mql", 0), ("sql", 2))
        order = dict.fromkeys(["sql", "won", "mql"], 0)
        keys = order.keys()  # an iterable, as inventory takes at run time
        found = inventory(entries, T0 + 3 * DAY, stages=keys)  # type: ignore[arg-type]
        assert list(found) == ["sql", "won", "mql"]

    @given(histories(), st.integers(-40, 200))
    def test_it_counts_the_visits_going_on_at_that_instant(
        self, entries: list[StageEntry], hours: int
    ) -> None:
        """At an instant, the leads in a stage are those entered and not yet left."""
        at = T0 + timedelta(hours=hours * 13)
        found = inventory(entries, at)
        for stage, count in found.items():
            assert count == sum(
                entry.stage == stage
                and entry.entered_at <= at
                and (entry.exited_at is None or entry.exited_at > at)
                for entry in entries
            )

    def test_bad_arguments(self) -> None:
        """A naive instant, or a row that is not an entry, is named."""
        with pytest.raises(ValidationError, match="at"):
            inventory([], datetime(2026, 1, 1))  # noqa: DTZ001 -- the point
        with pytest.raises(ValidationError) as info:
            inventory(["mql"], T0)  # type: ignore[list-item]
        assert info.value.field == "entries[0]"

    @pytest.mark.parametrize(
        ("entries", "stages", "field"),
        [
            (None, None, "entries"),
            ([], "mql", "stages"),
            ([], 5, "stages"),
            ([], ["mql", 1], "stages"),
            ([], {"mql", "sql"}, "stages"),
        ],
    )
    def test_wrong_types_are_named(
        self, entries: object, stages: object, field: str
    ) -> None:
        """No entries, or stages not a list of names (nor a set): a ValidationError."""
        with pytest.raises(ValidationError) as info:
            inventory(entries, T0, stages=stages)  # type: ignore[arg-type]
        assert info.value.field == field


class TestUnlistedStages:
    def test_a_lead_won_with_no_row_is_in_the_won_stage(self) -> None:
        """An MQL closed towards customer, no customer row: it entered customer."""
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=T0 + 5 * DAY, next_stage="customer"),
            StageEntry("L-2", "mql", T0 + DAY),
        ]
        report = _report(
            entries, stages=["mql", "customer"], goals=[Goal("customer", "month", 1)]
        )
        assert _row(report, "mql", "customer").converted == 1
        assert [
            (row.period, row.entered, row.closing)
            for row in report.flow
            if row.stage == "customer"
        ] == [("2026-01", 1, 1), ("2026-02", 0, 1), ("2026-03", 0, 1)]
        assert report.inventory == {"mql": 1, "customer": 1}
        assert inventory(entries, T0 + 5 * DAY) == {"customer": 1, "mql": 1}
        assert inventory(entries, T0 + 4 * DAY) == {"mql": 2}
        assert [row.actual for row in report.goals] == [1, 0, 0]
        (customer,) = [row for row in report.times if row.stage == "customer"]
        assert (customer.visits, customer.still_in) == (1, 1)
        assert [row.path for row in report.paths] == [("mql", "customer")]

    def test_a_stage_with_no_row_between_two_rows_lasts_until_the_next(self) -> None:
        """mql, then sql with no row, then customer a week on: in sql that week."""
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=T0 + 2 * DAY, next_stage="sql"),
            StageEntry("L-1", "customer", T0 + 9 * DAY),
        ]
        assert inventory(entries, T0 + 5 * DAY) == {"mql": 0, "sql": 1}
        report = _report(entries)
        sql = _row(report, "sql", "customer")
        assert (sql.entered, sql.converted) == (1, 1)
        assert sql.median_to_convert == 7 * DAY
        sql_flow = [row for row in report.flow if row.stage == "sql"]
        assert (sql_flow[0].entered, sql_flow[0].exited) == (1, 1)
        assert [row.path for row in report.paths] == [("mql", "sql", "customer")]

    def test_a_stage_with_no_row_left_at_once_for_a_visit_begun_then(self) -> None:
        """Closed towards sql as a customer visit began: through sql at once."""
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=T0 + 2 * DAY, next_stage="sql"),
            StageEntry("L-1", "customer", T0 + 2 * DAY),
        ]
        for listed in (entries, entries[::-1]):
            assert inventory(listed, T0 + 2 * DAY, stages=PATH) == {
                "mql": 0,
                "sql": 0,
                "customer": 1,
            }
            report = _report(listed)
            assert [row.path for row in report.paths] == [PATH]
            assert _row(report, "sql", "customer").median_to_convert == timedelta()

    def test_instant_moves_ending_in_a_stage_with_no_row_stay_there(self) -> None:
        """Created in lead, to mql, to customer (no row) at once: in customer."""
        entries = [
            StageEntry("L-1", "lead", T0, exited_at=T0, next_stage="mql"),
            StageEntry("L-1", "mql", T0, exited_at=T0, next_stage="customer"),
        ]
        assert inventory(entries, T0 + DAY) == {"customer": 1, "lead": 0, "mql": 0}
        report = _report(entries, stages=["lead", "mql", "customer"])
        assert [row.path for row in report.paths] == [("lead", "mql", "customer")]
        assert report.inventory == {"lead": 0, "mql": 0, "customer": 1}

    @given(histories(mixed=True) | histories(), st.data())
    def test_a_row_missing_changes_nothing_but_reasons(
        self, entries: list[StageEntry], data: st.DataObject
    ) -> None:
        """A visit, not a lead's first or a closed last, left out: the same report."""
        kept: list[StageEntry] = []
        for _, visits in groupby(entries, key=attrgetter("lead_id")):
            rows = list(visits)
            stages = [row.stage for row in rows]
            # Not when the lead visits a stage twice: which visit is missing?
            if len(set(stages)) == len(stages) and rows[-1].exited_at is None:
                gone = data.draw(st.integers(0, len(rows) - 1))
                rows = [
                    row for index, row in enumerate(rows) if index != gone or not index
                ]
            kept += rows
        now = START + data.draw(st.integers(0, 150)) * DAY
        full, gaps = _report(entries, now=now), _report(kept, now=now)
        assert (full.flow, full.inventory) == (gaps.flow, gaps.inventory)
        assert (full.times, full.paths) == (gaps.times, gaps.paths)
        # The missing visit's reason for leaving is not known.
        unreasoned = [attrs.evolve(row, reasons={}) for row in gaps.conversions]
        assert [attrs.evolve(row, reasons={}) for row in full.conversions] == unreasoned
        assert inventory(entries, now) == inventory(kept, now)

    @given(histories(unlisted=True), st.integers(0, 150))
    def test_it_balances_and_any_order_gives_one_report(
        self, entries: list[StageEntry], now_days: int
    ) -> None:
        """Stages without rows: periods still balance; the order never matters."""
        report = _report(entries, segment="source", now=START + now_days * DAY)
        for row in report.flow:
            assert row.opening + row.entered - row.exited == row.closing
        again = _report(entries[::-1], segment="source", now=START + now_days * DAY)
        assert report.to_dict() == again.to_dict()


@st.composite
def messy_histories(draw: st.DrawFn) -> list[StageEntry]:
    """Rows as a CRM exports them: in any order, overlapping, apart, open or not.

    Instants are on a coarse grid, so that rows often begin or end together.
    """
    entries: list[StageEntry] = []
    half_day = timedelta(hours=12)
    for number in range(draw(st.integers(0, 4))):
        lead_id = f"L-{number}"
        for _ in range(draw(st.integers(1, 5))):
            at = T0 + draw(st.integers(-10, 60)) * half_day
            length = draw(st.none() | st.integers(0, 20))
            exited = None if length is None else at + length * half_day
            entries.append(
                StageEntry(
                    lead_id,
                    draw(st.sampled_from(STAGES)),
                    at,
                    exited_at=exited,
                    next_stage=None
                    if exited is None
                    else draw(st.sampled_from([None, *STAGES])),
                    reason=draw(st.sampled_from([None, "no_budget"])),
                    segments={"lead": lead_id},
                )
            )
    return draw(st.permutations(entries))


def _by_lead(entries: list[StageEntry]) -> dict[str, list[StageEntry]]:
    leads: dict[str, list[StageEntry]] = defaultdict(list)
    for entry in entries:
        leads[entry.lead_id].append(entry)
    return leads


def _edges(entries: list[StageEntry]) -> list[datetime]:
    """Every instant a row begins or ends, and the instant before each."""
    edges = {entry.entered_at for entry in entries} | {
        entry.exited_at for entry in entries if entry.exited_at is not None
    }
    micro = timedelta(microseconds=1)
    return sorted(edges | {edge - micro for edge in edges})


#: Far enough after every history's last row that the report knows them all.
LATER = T0 + 400 * DAY


class TestGapsAndOverlaps:
    def test_a_visit_begun_before_the_last_ended_ends_it(self) -> None:
        """MQL until day 5, SQL from day 2: the lead left MQL for SQL on day 2."""
        entries = [
            StageEntry(
                "L-1",
                "mql",
                T0,
                exited_at=T0 + 5 * DAY,
                next_stage="disqualified",
                reason="no_budget",
            ),
            StageEntry("L-1", "sql", T0 + 2 * DAY),
        ]
        assert inventory(entries, T0 + 3 * DAY) == {"mql": 0, "sql": 1}
        assert inventory(entries, T0 + 6 * DAY) == {"mql": 0, "sql": 1}
        report = _report(entries, now=T0 + 10 * DAY)
        (mql, sql) = report.times
        assert (mql.stage, mql.visits, mql.exited, mql.median) == ("mql", 1, 1, 2 * DAY)
        assert (sql.stage, sql.visits, sql.still_in) == ("sql", 1, 1)
        converted = _row(report, "mql", "sql")
        assert (converted.converted, converted.median_to_convert) == (1, 2 * DAY)
        # The move to disqualified on day 5 gave way: never lost, no reason.
        assert report.paths == ()
        assert dict(_row(report, "sql", "customer").left) == {}
        assert [
            (row.stage, row.entered, row.exited, row.closing)
            for row in report.flow
            if row.period == "2026-01"
        ] == [("mql", 1, 1, 0), ("sql", 1, 0, 1), ("customer", 0, 0, 0)]

    def test_a_visit_begun_before_the_last_ended_keeps_the_reason_for_it(
        self,
    ) -> None:
        """MQL closed late towards disqualified, begun earlier: the reason holds."""
        entries = [
            StageEntry(
                "L-1",
                "mql",
                T0,
                exited_at=T0 + 5 * DAY,
                next_stage="disqualified",
                reason="no_budget",
            ),
            StageEntry("L-1", "disqualified", T0 + 2 * DAY),
        ]
        row = _row(_report(entries), "mql", "sql")
        assert (dict(row.left), dict(row.reasons)) == (
            {"disqualified": 1},
            {"no_budget": 1},
        )
        (mql, _) = _report(entries, stages=["mql", "disqualified"]).times
        assert mql.median == 2 * DAY

    def test_a_row_left_open_is_closed_by_the_next(self) -> None:
        """MQL never closed, SQL from day 2: in SQL alone from day 2."""
        entries = [
            StageEntry("L-1", "mql", T0),
            StageEntry("L-1", "sql", T0 + 2 * DAY),
        ]
        assert inventory(entries, T0 + 3 * DAY) == {"mql": 0, "sql": 1}
        report = _report(entries, now=T0 + 10 * DAY)
        assert report.inventory == {"mql": 0, "sql": 1, "customer": 0}
        (mql, _) = report.times
        assert (mql.visits, mql.exited, mql.median) == (1, 1, 2 * DAY)

    def test_rows_begun_at_one_instant_go_by_their_exits(self) -> None:
        """MQL and SQL both from day 0, MQL closed first: through MQL at once."""
        entries = [
            StageEntry("L-1", "sql", T0, exited_at=T0 + 5 * DAY),
            StageEntry("L-1", "mql", T0, exited_at=T0 + 3 * DAY),
        ]
        assert inventory(entries, T0, stages=PATH) == {
            "mql": 0,
            "sql": 1,
            "customer": 0,
        }
        report = _report(entries)
        assert _row(report, "mql", "sql").median_to_convert == timedelta()
        (mql, sql) = report.times
        assert (mql.median, sql.median) == (timedelta(), 5 * DAY)

    def test_rows_overlapping_in_one_stage_are_one_visit(self) -> None:
        """A row exported twice, or one inside another of its stage: one visit."""
        twice = StageEntry("L-1", "mql", T0, exited_at=T0 + 5 * DAY, next_stage="sql")
        report = _report([twice, twice, StageEntry("L-1", "sql", T0 + 5 * DAY)])
        (mql, _) = report.times
        assert (mql.visits, mql.median) == (1, 5 * DAY)
        assert report.flow[0].entered == 1
        inside = [
            StageEntry(
                "L-2", "mql", T0, exited_at=T0 + 10 * DAY, next_stage="customer"
            ),
            StageEntry("L-2", "mql", T0 + 2 * DAY, exited_at=T0 + 4 * DAY),
            StageEntry("L-2", "sql", T0 + 4 * DAY),
        ]
        report = _report(inside)
        (mql, _) = report.times
        assert (mql.visits, mql.median) == (1, 4 * DAY)
        assert _row(report, "mql", "customer").converted == 0
        assert inventory(inside, T0 + 6 * DAY) == {"mql": 0, "sql": 1}

    def test_the_first_of_moves_at_one_instant_may_continue_the_visit(
        self,
    ) -> None:
        """MQL left open, then MQL, disqualified and SQL at once: one MQL visit."""
        entries = [
            StageEntry("L-1", "mql", T0),
            StageEntry(
                "L-1",
                "disqualified",
                T0 + 2 * DAY,
                exited_at=T0 + 2 * DAY,
                next_stage="sql",
            ),
            StageEntry(
                "L-1",
                "mql",
                T0 + 2 * DAY,
                exited_at=T0 + 2 * DAY,
                next_stage="disqualified",
                reason="no_budget",
            ),
            StageEntry("L-1", "sql", T0 + 2 * DAY),
        ]
        report = _report(entries, stages=["mql", "disqualified", "sql"])
        (mql, disqualified, sql) = report.times
        assert (mql.visits, mql.median) == (1, 2 * DAY)
        assert (disqualified.visits, disqualified.median) == (1, timedelta())
        assert (sql.visits, sql.still_in) == (1, 1)
        assert inventory(entries, T0 + 2 * DAY) == {
            "disqualified": 0,
            "mql": 0,
            "sql": 1,
        }

    def test_a_gap_before_the_stage_named_is_one_move(self) -> None:
        """MQL closed towards SQL on day 2, SQL from a second later: no extra visit."""
        second = timedelta(seconds=1)
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=T0 + 2 * DAY, next_stage="sql"),
            StageEntry("L-1", "sql", T0 + 2 * DAY + second),
        ]
        assert inventory(entries, T0 + 2 * DAY) == {"mql": 0}
        assert inventory(entries, T0 + 2 * DAY + second) == {"mql": 0, "sql": 1}
        report = _report(entries)
        assert [(row.stage, row.visits) for row in report.times] == [
            ("mql", 1),
            ("sql", 1),
        ]
        assert [row.entered for row in report.flow if row.stage == "sql"] == [1, 0, 0]
        row = _row(report, "mql", "sql")
        assert (row.converted, row.median_to_convert) == (1, 2 * DAY + second)
        # Known up to the gap only, the move to SQL is all there is.
        assert inventory(entries[:1], T0 + 2 * DAY) == {"mql": 0, "sql": 1}
        assert _report(entries, now=T0 + 2 * DAY).inventory == {
            "mql": 0,
            "sql": 1,
            "customer": 0,
        }

    def test_a_gap_after_a_row_closed_to_no_stage_is_in_no_stage(self) -> None:
        """MQL closed on day 2 to nowhere, SQL on day 5: in no stage in between."""
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=T0 + 2 * DAY),
            StageEntry("L-1", "sql", T0 + 5 * DAY),
        ]
        assert inventory(entries, T0 + 3 * DAY, stages=PATH) == {
            "mql": 0,
            "sql": 0,
            "customer": 0,
        }
        report = _report(entries)
        assert _row(report, "mql", "sql").median_to_convert == 5 * DAY
        assert [(row.stage, row.visits) for row in report.times] == [
            ("mql", 1),
            ("sql", 1),
        ]

    @given(messy_histories(), st.integers(-20, 200))
    def test_each_lead_is_in_one_stage_at_a_time(
        self, entries: list[StageEntry], hours: int
    ) -> None:
        """Whatever the rows, at any instant a lead counts in one stage at most."""
        leads = _by_lead(entries)
        for at in [*_edges(entries), T0 + timedelta(hours=hours * 7)]:
            total: Counter[str] = Counter()
            for rows in leads.values():
                found = inventory(rows, at)
                assert sum(found.values()) <= 1
                total.update(found)
            assert +total == +Counter(inventory(entries, at))

    @given(messy_histories(), st.integers(0, 150))
    def test_no_lead_is_counted_twice_in_a_report(
        self, entries: list[StageEntry], now_days: int
    ) -> None:
        """By lead: one stage at most at each period's edges; times fit in its span."""
        now = START + now_days * DAY
        report = _report(entries, segment="lead", now=now)
        by_lead = [row for row in report.flow if row.segment != ALL]
        for _, rows in groupby(by_lead, key=attrgetter("segment", "period")):
            flows = list(rows)
            assert sum(row.opening for row in flows) <= 1
            assert sum(row.closing for row in flows) <= 1
        for lead_id, listed in _by_lead(entries).items():
            known = [entry.entered_at for entry in listed if entry.entered_at <= now]
            # Each stage's longest visit of the lead, at most: one visit at a time.
            spent = sum(
                (row.longest for row in report.times if row.segment == lead_id),
                timedelta(),
            )
            assert spent <= (now - min(known) if known else timedelta())
        for row in report.conversions:
            if row.segment != ALL:
                assert row.entered <= 1
        again = _report(entries[::-1], segment="lead", now=now)
        assert report.to_dict() == again.to_dict()

    def test_a_move_to_its_own_stage_at_an_instant_is_no_visit_after(self) -> None:
        """A row left at once towards its own stage leaves the lead where it went."""
        nine, nine_pm = T0.replace(hour=9), T0.replace(hour=21)
        rows = [
            StageEntry("L-1", "mql", nine, exited_at=nine, next_stage="mql"),
            StageEntry("L-1", "sql", nine),
            StageEntry("L-1", "sql", nine_pm, exited_at=nine_pm, next_stage="mql"),
        ]
        assert inventory(rows, nine + timedelta(hours=1)) == {"mql": 0, "sql": 1}
        assert inventory(rows, nine_pm + timedelta(hours=1)) == {"mql": 1, "sql": 0}

    def test_a_gap_before_moves_at_one_instant_keeps_their_order(self) -> None:
        """A row closed early towards moves at one instant: the same report."""
        two = T0.replace(hour=14)

        def rows(left: datetime) -> list[StageEntry]:
            return [
                StageEntry("L-1", "mql", T0, exited_at=left, next_stage="nurture"),
                StageEntry("L-1", "nurture", two, exited_at=two, next_stage="mql"),
                StageEntry("L-1", "mql", two, exited_at=two, next_stage="mql"),
                StageEntry(
                    "L-1",
                    "mql",
                    two,
                    exited_at=two,
                    next_stage="nurture",
                    reason="no_budget",
                ),
                StageEntry("L-1", "nurture", two),
            ]

        full = _report(rows(two), end=LATER)
        apart = _report(rows(two - timedelta(hours=1)), end=LATER)
        assert (full.conversions, full.paths) == (apart.conversions, apart.paths)

    @given(histories() | histories(mixed=True), st.data())
    def test_a_gap_before_the_next_row_adds_no_visit(
        self, entries: list[StageEntry], data: st.DataObject
    ) -> None:
        """Closing rows early towards the next row's stage: the same visits, moves."""
        gapped = list(entries)
        gaps: list[tuple[str, datetime, datetime]] = []
        for index, (here, there) in enumerate(pairwise(entries)):
            assert here.exited_at is not None or here.lead_id != there.lead_id
            if (
                here.lead_id == there.lead_id
                and here.entered_at < there.entered_at
                and data.draw(st.booleans())
            ):
                minutes = (there.entered_at - here.entered_at) // timedelta(minutes=1)
                early = here.entered_at + timedelta(
                    minutes=data.draw(st.integers(1, minutes - 1))
                )
                gapped[index] = attrs.evolve(here, exited_at=early)
                gaps.append((here.lead_id, early, there.entered_at))
        full, apart = _report(entries, end=LATER), _report(gapped, end=LATER)
        assert [(row.stage, row.visits) for row in full.times] == [
            (row.stage, row.visits) for row in apart.times
        ]
        assert (full.conversions, full.paths) == (apart.conversions, apart.paths)
        for stage in full.stages:
            assert sum(row.entered for row in full.flow if row.stage == stage) == sum(
                row.entered for row in apart.flow if row.stage == stage
            )
        leads, before = _by_lead(gapped), _by_lead(entries)
        for lead_id, early, later in gaps:
            assert sum(inventory(leads[lead_id], early).values()) == 0
            assert inventory(leads[lead_id], later) == inventory(before[lead_id], later)

    @given(histories() | histories(mixed=True), st.data())
    def test_a_row_closed_after_the_next_began_changes_nothing(
        self, entries: list[StageEntry], data: st.DataObject
    ) -> None:
        """Rows closed late, or never, past the next row's start: the same report."""
        late = list(entries)
        for index, (here, there) in enumerate(pairwise(entries)):
            if (
                here.lead_id == there.lead_id
                and here.entered_at < there.entered_at
                and here.stage != there.stage
                and data.draw(st.booleans())
            ):
                # Left open, it names no stage: the next row must be the one
                # visit begun then, not the first of moves at one instant.
                lasts = there.exited_at != there.entered_at
                hours = data.draw(
                    (st.none() if lasts else st.nothing()) | st.integers(1, 24 * 60)
                )
                late[index] = (
                    attrs.evolve(here, exited_at=None, next_stage=None)
                    if hours is None
                    else attrs.evolve(
                        here, exited_at=there.entered_at + timedelta(hours=hours)
                    )
                )
        full, overlapping = _report(entries, end=LATER), _report(late, end=LATER)
        # A row left open names no stage, so its reason is not the move's.
        assert [attrs.evolve(row, reasons={}) for row in full.conversions] == [
            attrs.evolve(row, reasons={}) for row in overlapping.conversions
        ]
        assert (full.times, full.flow, full.paths, full.inventory) == (
            overlapping.times,
            overlapping.flow,
            overlapping.paths,
            overlapping.inventory,
        )
        for at in _edges(entries):
            assert inventory(entries, at) == inventory(late, at)


class TestFlow:
    def test_the_inventory_counts_a_move_at_end_as_inventory_does(self) -> None:
        """Moved to sql at end: in sql at end, though the flow's March closes in mql."""
        entries = [
            StageEntry("L-1", "mql", T0, exited_at=END, next_stage="sql"),
            StageEntry("L-1", "sql", END),
        ]
        report = _report(entries, stages=["mql", "sql"])
        assert dict(report.inventory) == {"mql": 0, "sql": 1}
        assert inventory(entries, END, stages=["mql", "sql"]) == {"mql": 0, "sql": 1}
        assert "In each stage at 2026-04-01T00:00:00+00:00: mql 0, sql 1" in (
            report.to_text()
        )
        march = [row for row in report.flow if row.period == "2026-03"]
        assert [(row.stage, row.closing) for row in march] == [("mql", 1), ("sql", 0)]
        # Known up to now, before end: the inventory is at now.
        early = _report(entries, stages=["mql", "sql"], now=T0 + DAY)
        assert dict(early.inventory) == {"mql": 1, "sql": 0}

    def test_entries_after_the_period_are_outside_its_flow(self) -> None:
        """A lead entering after end (but before now) is in no period and no stock."""
        entries = [
            StageEntry("L-1", "mql", T0),
            StageEntry("L-2", "mql", END + DAY),
        ]
        report = _report(entries, now=END + 10 * DAY)
        assert sum(row.entered for row in report.flow) == 1
        assert report.inventory["mql"] == 1

    @given(
        histories(), st.sampled_from(["week", "month", "quarter"]), st.integers(0, 150)
    )
    def test_each_period_balances_and_hands_over_to_the_next(
        self, entries: list[StageEntry], cohort: str, now_days: int
    ) -> None:
        """Opening + entered - exited = closing, and a closing is the next opening."""
        report = _report(
            entries, cohort=cohort, segment="source", now=START + now_days * DAY
        )
        last: dict[tuple[object, str], int] = {}
        for row in report.flow:
            assert row.opening + row.entered - row.exited == row.closing
            key = (row.segment, row.stage)
            if key in last:
                assert last[key] == row.opening
            last[key] = row.closing
        # The inventory is inventory() at end, or now if earlier.
        assert dict(report.inventory) == inventory(
            entries, min(END, START + now_days * DAY), stages=PATH
        )

    @given(histories(), st.randoms(use_true_random=False))
    def test_the_report_is_the_same_whatever_the_order_of_entries(
        self, entries: list[StageEntry], shuffler: random.Random
    ) -> None:
        """Same entries in any order: the same report, to the byte."""
        shuffled = list(entries)
        shuffler.shuffle(shuffled)
        assert (
            _report(entries, segment="source").to_dict()
            == _report(shuffled, segment="source").to_dict()
        )
        assert _report(entries).to_text() == _report(shuffled).to_text()

    @given(
        histories(mixed=True) | histories(unlisted=True),
        st.randoms(use_true_random=False),
        st.sampled_from(["week", "month", "quarter"]),
    )
    def test_the_report_round_trips_through_json_in_any_order(
        self, entries: list[StageEntry], shuffler: random.Random, cohort: str
    ) -> None:
        """A report's JSON reads back equal, and the same for entries in any order."""
        report = _report(entries, segment="source", cohort=cohort)
        text = to_json(report)
        assert from_json(text, FunnelReport) == report
        shuffled = list(entries)
        shuffler.shuffle(shuffled)
        assert to_json(_report(shuffled, segment="source", cohort=cohort)) == text

    @given(histories(mixed=True), st.randoms(use_true_random=False))
    def test_same_instant_visits_of_other_segments_in_any_order(
        self, entries: list[StageEntry], shuffler: random.Random
    ) -> None:
        """Same-instant visits with their own segments: any order, one report."""
        shuffled = list(entries)
        shuffler.shuffle(shuffled)
        first = _report(entries, segment="source")
        again = _report(shuffled, segment="source")
        assert first.to_dict() == again.to_dict()
        assert first.to_text() == again.to_text()

    @given(histories())
    def test_every_lead_entered_is_converted_open_or_left(
        self, entries: list[StageEntry]
    ) -> None:
        """Each conversion row accounts for every lead; cohorts and segments add up."""
        report = _report(entries, segment="source")
        totals: dict[tuple[object, str, str], Counter[str]] = defaultdict(Counter)
        for row in report.conversions:
            assert row.converted + row.open + sum(row.left.values()) == row.entered
            if row.cohort != "(all)":
                totals[row.segment, row.source, row.target]["entered"] += row.entered
        for (segment, source, target), counts in totals.items():
            assert (
                _row(report, source, target, segment=segment).entered
                == counts["entered"]
            )


# -- Goals and paths -------------------------------------------------------------


class TestGoals:
    def test_a_volume_goal_counts_leads_and_forecasts_the_running_period(self) -> None:
        """3 MQLs a month: January over at 2, February running at 1 by the 19th."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 2)),
            *_chain("L-2", ("mql", 3), ("nurture", 4), ("mql", 5)),
            *_chain("L-3", ("mql", 40)),
        ]
        now = datetime(2026, 2, 20, tzinfo=UTC)
        report = _report(entries, now=now, goals=[Goal("mql", "month", 3)])
        january, february = report.goals
        # L-2 came back to mql in January: counted once.
        assert (january.period, january.actual, january.complete) == (
            "2026-01",
            2,
            True,
        )
        assert january.forecast == 2
        assert january.attainment == pytest.approx(2 / 3)
        assert (february.actual, february.complete) == (1, False)
        assert february.forecast == pytest.approx(1 * 28 / 19)
        assert "running" in report.to_text()
        assert report.to_dict()["goals"][1]["goal"] == "3 mql a month"

    def test_the_text_says_a_period_ended_not_that_it_is_over_target(self) -> None:
        """A finished period's status is 'ended': 'over' read as over the target."""
        entries = [*_chain("L-1", ("mql", 0)), *_chain("L-2", ("mql", 40))]
        now = datetime(2026, 2, 20, tzinfo=UTC)
        report = _report(entries, now=now, goals=[Goal("mql", "month", 3)])
        lines = report.to_text().splitlines()
        title = "Goals (forecast: the run rate, or the rate of known outcomes)"
        rows = lines[lines.index(title) + 3 :][:2]
        assert [row.split()[-1] for row in rows] == ["ended", "running"]
        assert "33.3%" in rows[0]

    def test_goals_and_lost_stages_given_once_through(self) -> None:
        """Goals and lost stages from generators count as from lists."""
        entries = [
            *_chain("L-1", ("mql", 0), ("disqualified", 2)),
            *_chain("L-2", ("mql", 3), ("sql", 4)),
        ]
        goals = [Goal("mql", "month", 3)]
        lost = ["disqualified", "lost"]
        listed = _report(entries, goals=goals, lost=lost)
        once = _report(entries, goals=iter(goals), lost=(stage for stage in lost))
        assert once.goals == listed.goals
        assert once.paths == listed.paths
        assert listed.goals
        assert listed.paths

    def test_a_conversion_goal_gives_the_rate_and_the_known_rate(self) -> None:
        """25% mql to sql: half converted, the other half still open."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 2)),
            *_chain("L-2", ("mql", 1)),
            *_chain("L-3", ("mql", 2), ("disqualified", 3)),
            *_chain("L-4", ("sql", 2)),
        ]
        goal = Goal(["mql", "sql"], "quarter", 0.25)
        report = _report(entries, goals=[goal])
        (row,) = report.goals
        assert "33.3%" in report.to_text()
        assert goal.stage == ("mql", "sql")
        assert row.actual == pytest.approx(1 / 3)
        assert row.forecast == pytest.approx(1 / 2)
        assert row.attainment == pytest.approx(4 / 3)
        assert goal.describe() == "25% mql to sql a quarter"

    @pytest.mark.parametrize(
        ("stage", "target", "text"),
        [
            (("mql", "sql"), 0.125, "12.5% mql to sql a month"),
            (("mql", "sql"), 0.005, "0.5% mql to sql a month"),
            (("mql", "sql"), 0.07, "7% mql to sql a month"),
            ("mql", 2_500_000, "2500000 mql a month"),
            ("mql", 12.5, "12.5 mql a month"),
        ],
    )
    def test_a_goal_describes_its_target_as_given(
        self, stage: str | tuple[str, str], target: float, text: str
    ) -> None:
        """The target is written as given: no rounding, no exponent."""
        assert Goal(stage, "month", target).describe() == text

    def test_a_period_with_no_lead_has_no_rate(self) -> None:
        """A conversion goal's period without entries: no actual, no forecast."""
        (row,) = _report([], goals=[Goal(("mql", "sql"), "quarter", 0.5)]).goals
        assert (row.actual, row.attainment, row.forecast) == (None, None, None)
        assert "-" in report_text([], goals=[Goal(("mql", "sql"), "quarter", 0.5)])

    def test_a_conversion_goal_counts_no_lead_that_entered_at_the_end(self) -> None:
        """A lead entering mql at end is not one of March's: its rate stays 100%."""
        entries = [
            StageEntry(
                "A", "mql", END - 20 * DAY, exited_at=END - 19 * DAY, next_stage="sql"
            ),
            StageEntry("A", "sql", END - 19 * DAY),
            StageEntry("B", "mql", END),
        ]
        goals = [Goal(("mql", "sql"), "month", 0.5)]
        *_, march = _report(entries, now=END, goals=goals).goals
        assert (march.period, march.actual, march.forecast) == ("2026-03", 1.0, 1.0)

    def test_a_period_just_begun_has_no_run_rate(self) -> None:
        """At the first instant of a period nothing has gone by: no forecast."""
        (row,) = _report([], now=START, goals=[Goal("mql", "month", 1)]).goals
        assert (row.actual, row.forecast) == (0, None)

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            (("", "month", 1), "stage"),
            ((("mql",), "month", 1), "stage"),
            ((("mql", "mql"), "month", 0.5), "stage"),
            (("mql", "day", 1), "per"),
            (("mql", "month", 0), "target"),
            (("mql", "month", True), "target"),
            (("mql", "month", float("inf")), "target"),
            ((("mql", "sql"), "month", 25), "target"),
        ],
    )
    def test_bad_goals_are_named(self, args: tuple[object, ...], field: str) -> None:
        """A goal's bad stage, period or target raises a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            Goal(*args)  # type: ignore[arg-type]
        assert info.value.field == field


def report_text(entries: list[StageEntry], **kw: object) -> str:
    """The text of a report on *entries*."""
    return _report(entries, **kw).to_text()


class TestPaths:
    def test_won_and_lost_leads_by_their_paths(self) -> None:
        """Paths merge repeats in a row; a closed last visit adds where it went."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 2), ("customer", 9)),
            *_chain("L-2", ("mql", 0), ("sql", 3), ("customer", 8)),
            *_chain("L-3", ("mql", 0), ("nurture", 1), ("mql", 5), ("customer", 9)),
            *_chain("L-4", ("mql", 0), ("disqualified", 1)),
            StageEntry("L-5", "mql", T0, exited_at=T0 + DAY, next_stage="lost"),
            *_chain("L-6", ("mql", 0), ("nurture", 1)),
        ]
        report = _report(entries)
        won = [(row.path, row.leads) for row in report.paths if row.outcome == "won"]
        assert won == [
            (("mql", "sql", "customer"), 2),
            (("mql", "nurture", "mql", "customer"), 1),
        ]
        lost = [(row.path, row.share) for row in report.paths if row.outcome == "lost"]
        assert lost == [(("mql", "disqualified"), 0.5), (("mql", "lost"), 0.5)]
        assert "mql > sql > customer" in report.to_text()
        assert report.to_dict()["paths"][0]["path"] == ["mql", "sql", "customer"]

    def test_only_leads_that_reached_the_last_stage_are_won(self) -> None:
        """A lead that got to sql only is lost if disqualified, else in no row."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 2), ("customer", 9)),
            *_chain("L-2", ("mql", 0), ("sql", 3), ("disqualified", 8)),
            *_chain("L-3", ("mql", 0), ("sql", 4)),
        ]
        report = _report(entries)
        assert [(row.outcome, row.path, row.leads) for row in report.paths] == [
            ("won", ("mql", "sql", "customer"), 1),
            ("lost", ("mql", "sql", "disqualified"), 1),
        ]

    def test_a_long_path_is_shortened_in_the_text_only(self) -> None:
        """13 stages: the text keeps four at each end; the data keeps them all."""
        loops = [
            ("mql", 2 * n) if n % 2 == 0 else ("nurture", 2 * n) for n in range(11)
        ]
        entries = [
            *_chain("L-1", *loops, ("sql", 30), ("customer", 31)),
            *_chain("L-2", *loops[:9], ("sql", 30), ("customer", 31)),
        ]
        report = _report(entries)
        long, short = (row.path for row in report.paths)
        assert (len(long), len(short)) == (13, 11)
        text = report.to_text()
        assert (
            "mql > nurture > mql > nurture > (5 more stages) > "
            "nurture > mql > sql > customer"
        ) in text
        assert " > ".join(short) in text
        assert report.to_dict()["paths"][0]["path"] == list(long)

    def test_top_paths_and_lost_stages_are_options(self) -> None:
        """top_paths=1 keeps the most common; lost=['nurture'] makes nurture lost."""
        entries = [
            *_chain("L-1", ("mql", 0), ("sql", 2), ("customer", 9)),
            *_chain("L-2", ("mql", 0), ("customer", 4)),
            *_chain("L-3", ("mql", 0), ("customer", 5)),
            *_chain("L-4", ("mql", 0), ("nurture", 1)),
        ]
        report = _report(entries, top_paths=1, lost=["nurture"])
        assert [(row.outcome, row.path) for row in report.paths] == [
            ("won", ("mql", "customer")),
            ("lost", ("mql", "nurture")),
        ]

    def test_moves_at_one_instant_are_in_the_order_taken(self) -> None:
        """trial to activated to pql at once, then customer: in that order."""
        policy = FunnelPolicy(
            name="plg",
            version=1,
            initial="trial",
            scoring=ScoringModel("none", []),
            stages=[
                Stage("trial"),
                Stage("activated"),
                Stage("pql"),
                Stage("customer", kind="won"),
            ],
            transitions=[
                Transition(source="trial", target="activated", auto=True),
                Transition(source="activated", target="pql", auto=True),
                Transition(source="pql", target="customer"),
            ],
        )
        funnel = Funnel(policy, clock=ManualClock(T0))
        funnel.add_lead(Lead("L-1", T0))
        funnel.move("L-1", "customer", by="rep", at=T0 + 3 * DAY)
        path = ("trial", "activated", "pql", "customer")
        assert [move.target for move in funnel.state("L-1").history] == list(path)
        entries = stage_entries([funnel.state("L-1")])
        for listed in (entries, entries[::-1]):
            report = _report(listed, stages=path)
            assert [row.path for row in report.paths] == [path]
            # The lead reached activated from trial at once: converted in 0.
            assert _row(report, "trial", "activated").median_to_convert == timedelta()

    def test_a_cycle_at_one_instant_is_broken_by_stage_name(self) -> None:
        """a to b to a at one instant, then b for a day: a, b, a, b merged."""
        entries = [
            StageEntry("L-1", "a", T0, exited_at=T0, next_stage="b"),
            StageEntry("L-1", "b", T0, exited_at=T0, next_stage="a"),
            StageEntry("L-1", "a", T0, exited_at=T0, next_stage="b"),
            StageEntry("L-1", "b", T0),
        ]
        report = _report(entries, stages=["a", "b"], top_paths=1, lost=["b"])
        assert [row.path for row in report.paths] == [("a", "b", "a", "b")]

    def test_leads_that_began_before_the_period_have_no_path(self) -> None:
        """A lead whose first visit is before start is not in the paths."""
        report = _report(_chain("L-1", ("mql", -10), ("customer", 3)))
        assert report.paths == ()


def _accept_policy(*slas: SlaRule) -> FunnelPolicy:
    """Return lead -> mql -> sal, moved by hand, with *slas* and no scoring."""
    return FunnelPolicy(
        name="accept",
        version=1,
        stages=[Stage("lead"), Stage("mql"), Stage("sal")],
        transitions=[
            Transition(source="lead", target="mql"),
            Transition(source="mql", target="sal"),
        ],
        initial="lead",
        scoring=ScoringModel("empty", []),
        slas=slas,
    )


class TestSlaCompliance:
    def test_timers_of_a_funnel_by_outcome(self) -> None:
        """On time, late, breached, cancelled and open, from a funnel's own events."""
        policy = _accept_policy(
            SlaRule("accept", "mql", "2 hours", EXIT),
            SlaRule("touch", "mql", "2 hours", kinds.SALES_TOUCH),
        )
        funnel = Funnel(policy, clock=ManualClock(T0))
        events = []
        hour = timedelta(hours=1)
        for lead_id, owner in (("L-1", "ana"), ("L-2", "bo"), ("L-3", "bo")):
            events += funnel.add_lead(Lead(lead_id, T0, owner=owner))
            events += funnel.move(lead_id, "mql", by="ana", at=T0)
        events += funnel.move("L-1", "sal", by="ana", at=T0 + hour)
        events += funnel.add_lead(Lead("L-4", T0, owner="ana"))
        events += funnel.move("L-4", "mql", by="ana", at=T0 + 2.5 * hour)
        events += funnel.tick(T0 + 3 * hour)
        events += funnel.move("L-2", "sal", by="bo", at=T0 + 4 * hour)
        timers = sla_timers(events)
        assert len(timers) == 8
        entries = stage_entries(
            [funnel.state(lead) for lead in ("L-1", "L-2", "L-3", "L-4")],
            segments=["owner"],
        )
        report = _report(
            entries,
            stages=["mql", "sal"],
            now=T0 + 4 * hour,
            timers=timers,
            segment="owner",
        )
        rows = {(row.segment, row.rule): row for row in report.sla}
        accept = rows["(all)", "accept"]
        assert (accept.started, accept.met_on_time, accept.met_late) == (4, 1, 1)
        assert (accept.breached, accept.cancelled, accept.open) == (1, 0, 1)
        assert accept.on_time_rate == pytest.approx(1 / 3)
        touch = rows["(all)", "touch"]
        assert (touch.cancelled, touch.breached, touch.open) == (1, 2, 1)
        assert touch.on_time_rate == 0.0
        assert rows["bo", "accept"].met_late == 1
        assert "on-time rate" in report.to_text()
        assert report.to_dict()["sla"][0]["rule"] == "accept"
        # Before the deadlines: one met on time, one cancelled, the rest open.
        early = _report(
            entries, stages=["mql", "sal"], now=T0 + 1.5 * hour, timers=timers
        )
        assert {row.rule: row.on_time_rate for row in early.sla} == {
            "accept": 1.0,
            "touch": None,
        }

    def test_the_text_lines_rules_up_left_and_counts_right(self) -> None:
        """The SLA table of the text: rule names left, counts and the rate right."""
        policy = _accept_policy(SlaRule("accept", "mql", "2 hours", EXIT))
        funnel = Funnel(policy, clock=ManualClock(T0))
        events = []
        for lead_id in ("L-1", "L-2"):
            events += funnel.add_lead(Lead(lead_id, T0))
            events += funnel.move(lead_id, "mql", by="ana", at=T0)
        events += funnel.move("L-1", "sal", by="ana", at=T0 + timedelta(hours=1))
        entries = stage_entries([funnel.state(lead) for lead in ("L-1", "L-2")])
        text = _report(
            entries,
            stages=["mql", "sal"],
            now=T0 + timedelta(hours=1),
            timers=sla_timers(events),
        ).to_text()
        lines = text.splitlines()
        title = "SLA compliance (timers started in the period)"
        assert lines[lines.index(title) + 1 :][:3] == [
            "rule    started  on time  late  breached  cancelled  open  on-time rate",
            "------  -------  -------  ----  --------  ---------  ----  ------------",
            "accept        2        1     0         0          0     1        100.0%",
        ]

    def test_a_timer_past_its_deadline_at_now_is_breached_without_a_tick(
        self,
    ) -> None:
        """Unmet past its deadline at now, not paused: breached, as timers() says."""
        policy = _accept_policy(SlaRule("accept", "mql", "2 hours", EXIT))
        funnel = Funnel(policy, clock=ManualClock(T0))
        events = funnel.add_lead(Lead("L-1", T0)) + funnel.add_lead(Lead("L-2", T0))
        events += funnel.move("L-1", "mql", by="ana", at=T0)
        events += funnel.move("L-2", "mql", by="ana", at=T0)
        events += funnel.pause_timer("L-2", "accept", at=T0 + timedelta(hours=1))
        now = T0 + DAY
        assert [
            timer.breached_at is not None for timer in funnel.timers("L-1", at=now)
        ] == [True]
        (row,) = _report(
            [], stages=["mql", "sal"], now=now, timers=sla_timers(events)
        ).sla
        assert (row.breached, row.open, row.on_time_rate) == (1, 1, 0.0)
        # Before the deadline, the same timer is open still.
        (early,) = _report(
            [],
            stages=["mql", "sal"],
            now=T0 + timedelta(hours=1),
            timers=sla_timers(events),
        ).sla
        assert (early.breached, early.open) == (0, 2)

    def test_timers_outside_the_period_are_not_counted(self) -> None:
        """A timer started before start, or after now, is in no row."""
        timer = SlaTimer(
            rule="accept", stage="mql", entry=1, started_at=T0 - 9 * DAY, deadline=T0
        )
        assert _report([], timers=[("L-1", timer)]).sla == ()

    def test_timers_must_be_pairs_of_a_lead_and_a_timer(self) -> None:
        """Anything but (lead_id, SlaTimer) pairs is refused, by its position."""
        with pytest.raises(ValidationError) as info:
            _report([], timers=[("L-1", "accept")])
        assert info.value.field == "timers[0]"
        timer = SlaTimer(
            rule="accept", stage="mql", entry=1, started_at=T0, deadline=T0
        )
        with pytest.raises(ValidationError) as info:
            _report([], timers=[(1, timer)])
        assert info.value.field == "timers[0]"

    @pytest.mark.parametrize(
        ("events", "field"),
        [(None, "events"), ([1], "events[0]"), ([[]], "events[0]")],
    )
    def test_sla_timers_takes_events_only(self, events: object, field: str) -> None:
        """No events, or a value that is not one (a list of lists): refused."""
        with pytest.raises(ValidationError) as info:
            sla_timers(events)  # type: ignore[arg-type]
        assert info.value.field == field


# -- Errors ------------------------------------------------------------------------


class TestBadArguments:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"stages": ["mql"]}, "stages"),
            ({"stages": "mql"}, "stages"),
            ({"stages": ["mql", "mql"]}, "stages"),
            ({"stages": ["mql", ""]}, "stages"),
            ({"start": datetime(2026, 1, 1)}, "start"),  # noqa: DTZ001 -- the point
            ({"end": START}, "end"),
            ({"now": START - DAY}, "now"),
            ({"cohort": "day"}, "cohort"),
            ({"segment": ""}, "segment"),
            ({"timezone": "Mars/Base"}, "timezone"),
            ({"timezone": "localtime"}, "timezone"),
            ({"goals": ["200 mqls"]}, "goals[0]"),
            ({"goals": [Goal(("sql", "mql"), "month", 0.5)]}, "goals[0].stage"),
            ({"goals": [Goal(("mql", "won"), "month", 0.5)]}, "goals[0].stage"),
            ({"lost": "lost"}, "lost"),
            ({"lost": [""]}, "lost"),
            ({"top_paths": -1}, "top_paths"),
            ({"top_paths": True}, "top_paths"),
            ({"stages": None}, "stages"),
            ({"stages": 5}, "stages"),
            ({"goals": None}, "goals"),
            ({"goals": 5}, "goals"),
            ({"lost": None}, "lost"),
            ({"lost": 5}, "lost"),
            ({"timers": None}, "timers"),
            ({"timers": 5}, "timers"),
            ({"stages": {"mql", "sql", "customer"}}, "stages"),
            ({"goals": {Goal("mql", "month", 10), Goal("sql", "month", 5)}}, "goals"),
        ],
    )
    def test_each_bad_argument_is_named(
        self, kwargs: dict[str, object], field: str
    ) -> None:
        """A bad argument raises a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            _report([], **kwargs)
        assert info.value.field == field

    def test_a_dicts_keys_are_a_path_in_its_order(self) -> None:
        """stages=a dict's keys, or goals=one's keys, in the dict's order: as lists."""
        goals = [Goal("sql", "month", 5), Goal("mql", "month", 10)]
        as_keys = _report(
            [], stages=dict.fromkeys(PATH).keys(), goals=dict.fromkeys(goals).keys()
        )
        assert as_keys == _report([], stages=list(PATH), goals=goals)

    def test_a_month_beginning_before_the_year_1_is_refused_as_start(self) -> None:
        """0001-01-01 UTC is in the year 0 in New York: start is named."""
        with pytest.raises(ValidationError, match="years 1 to 9999") as info:
            _report(
                [],
                start=datetime(1, 1, 1, tzinfo=UTC),
                end=datetime(1, 3, 1, tzinfo=UTC),
                timezone="America/New_York",
            )
        assert info.value.field == "start"

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"end": datetime(9999, 12, 31, tzinfo=UTC)},
            {
                "start": datetime(9999, 11, 1, tzinfo=UTC),
                "end": datetime(9999, 12, 1, tzinfo=UTC),
                "goals": [Goal("mql", "quarter", 3)],
            },
        ],
    )
    def test_a_period_past_datetime_s_years_ends_with_the_report(
        self, kwargs: dict[str, object]
    ) -> None:
        """A month (or goal's quarter) that would end in the year 10000 ends at end."""
        report = _report([], **kwargs)
        assert report.flow[-1].period.startswith("9999")

    def test_the_last_whole_month_of_datetime_s_years_is_reported(self) -> None:
        """November 9999 ends within datetime's years: it is a report like any."""
        start = datetime(9999, 11, 1, tzinfo=UTC)
        entries = [StageEntry("L-1", "mql", start + DAY)]
        report = _report(entries, start=start, end=datetime(9999, 12, 1, tzinfo=UTC))
        assert [row.period for row in report.flow][:1] == ["9999-11"]

    @pytest.mark.parametrize("entries", [None, 5, "mql"])
    def test_entries_that_are_not_a_list_are_refused(self, entries: object) -> None:
        """entries=None (or a number, or a string) is a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            FunnelReport.build(entries, stages=PATH, start=START, end=END)  # type: ignore[arg-type]
        assert info.value.field == "entries"

    def test_an_entry_that_is_not_a_stage_entry_is_refused(self) -> None:
        """Rows must be StageEntry values: a dict is refused, by its position."""
        good = StageEntry("L-1", "mql", START)
        with pytest.raises(ValidationError, match="StageEntry") as info:
            _report([good, good, {"lead_id": "L-1"}])  # type: ignore[list-item]
        assert info.value.field == "entries[2]"

    def test_a_segment_value_that_names_every_lead_is_refused(self) -> None:
        """A segment value of '(all)' would merge with every lead's rows: refused."""
        entries = [
            StageEntry("A", "mql", START, segments={"origin": "paid"}),
            StageEntry("B", "mql", START, segments={"origin": ALL}),
        ]
        with pytest.raises(ValidationError, match="lead 'B'") as info:
            _report(entries, segment="origin")
        assert (info.value.field, info.value.value) == ("segment", ALL)

    def test_an_empty_history_gives_empty_tables(self) -> None:
        """No leads: no rows, zero inventory, and text that says so."""
        report = _report([])
        assert (report.conversions, report.times) == ((), ())
        assert "(no leads)" in report.to_text()
        assert report.to_dict()["inventory"] == {"mql": 0, "sql": 0, "customer": 0}


# -- Real data -------------------------------------------------------------------

DATA = Path(
    os.environ.get("FUNNELKIT_DATA", Path(__file__).parents[2] / "shared" / "data")
)


def _data(folder: str) -> Path:
    path = DATA / folder
    if not path.is_dir():
        if os.environ.get("FUNNELKIT_REQUIRE_DATA"):
            pytest.fail(f"FUNNELKIT_REQUIRE_DATA is set and {path} is missing")
        pytest.skip(
            f"the dataset folder {path} is not here (see ../shared/data/README.md)"
        )
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


class TestReportsReadBack:
    """A report's rows and the report check their fields and the sums they make."""

    @staticmethod
    def _report() -> FunnelReport:
        entries = [
            *_chain("a", ("mql", 1), ("sql", 3), ("customer", 9)),
            *_chain("b", ("mql", 2), ("disqualified", 4)),
            *_chain("c", ("mql", 5)),
        ]
        return _report(entries)

    @pytest.mark.parametrize(
        ("pick", "changes", "field"),
        [
            (lambda r: r.conversions[0], {"entered": 99}, "entered"),
            (lambda r: r.conversions[0], {"open": 7}, "entered"),
            (lambda r: r.conversions[0], {"left": {"nurture": 5}}, "entered"),
            (lambda r: r.times[0], {"visits": 99}, "visits"),
            (lambda r: r.flow[0], {"closing": 99}, "closing"),
            (lambda r: r, {"inventory": {"mql": 1}}, "inventory"),
            (lambda r: r, {"inventory": {"mql": 1, "sql": 0, "x": 2}}, "inventory"),
            (lambda r: r, {"stages": ("mql",)}, "stages"),
            (lambda r: r, {"stages": ("mql", "sql", "mql")}, "stages"),
            (lambda r: r, {"end": START}, "end"),
            (lambda r: r, {"now": START - DAY}, "now"),
            (lambda r: r, {"segment": ""}, "segment"),
            (lambda r: r, {"cohort": "year"}, "cohort"),
            (lambda r: r, {"timezone": "Mars/Base"}, "timezone"),
            (lambda r: r.times[0], {"curve": (DAY,)}, "curve"),
            (lambda r: r.times[0], {"median": -DAY}, "median"),
            (lambda r: r.conversions[0], {"rate": 1.5}, "rate"),
            (lambda r: r.conversions[0], {"converted": -1}, "converted"),
            (lambda r: r.conversions[0], {"segment": [1]}, "segment"),
        ],
    )
    def test_a_row_or_report_that_does_not_add_up_is_refused(
        self,
        pick: Callable[[FunnelReport], Any],
        changes: dict[str, object],
        field: str,
    ) -> None:
        """Evolved out of line, a row or the report names the field that breaks it."""
        value = pick(self._report())
        with pytest.raises(ValidationError) as caught:
            attrs.evolve(value, **changes)
        assert (caught.value.owner, caught.value.field) == (type(value).__name__, field)

    def test_sla_rows_add_up(self) -> None:
        """An SLA row's timers started are the sum of their outcomes."""
        row = SlaCompliance(
            segment=ALL,
            rule="r",
            started=3,
            met_on_time=1,
            met_late=1,
            breached=0,
            cancelled=0,
            open=1,
            on_time_rate=0.5,
        )
        with pytest.raises(ValidationError, match="the sum of met_on_time 1") as caught:
            attrs.evolve(row, started=4)
        assert caught.value.field == "started"

    def test_damaged_json_is_refused_when_read(self) -> None:
        """A report's JSON whose stages and counts disagree is refused by from_json."""
        report = self._report()
        data = json.loads(to_json(report))
        data["stages"] = ["mql", "sql", "won"]
        with pytest.raises(SerializationError, match="inventory"):
            from_json(json.dumps(data), FunnelReport)
        data = json.loads(to_json(report))
        data["flow"][0]["entered"] += 1
        with pytest.raises(SerializationError, match=r"flow\[0\]\.closing"):
            from_json(json.dumps(data), FunnelReport)

    def test_a_built_report_reads_back_as_it_was(self) -> None:
        """What the library builds passes its own checks, and round-trips."""
        report = self._report()
        assert from_json(to_json(report), FunnelReport) == report
        assert attrs.evolve(report) == report

    def test_rows_take_lists_for_their_tuples(self) -> None:
        """Built by hand, a row's tuples may be given as lists, like the report's."""
        report = self._report()
        times = report.times[0]
        assert attrs.evolve(times, curve=list(times.curve)) == times
        assert attrs.evolve(report, times=list(report.times)) == report


class TestOlistMarketingFunnel:
    """Olist's real MQLs and closed deals: conversion by origin, days to close."""

    def test_conversion_by_origin_and_days_to_close(self) -> None:
        """funnelkit's figures equal those counted with the standard library."""
        folder = _data("olist-marketing-funnel")
        mqls = _rows(folder / "olist_marketing_qualified_leads_dataset.csv")
        won = {
            row["mql_id"]: row["won_date"]
            for row in _rows(folder / "olist_closed_deals_dataset.csv")
        }
        entries = []
        days: list[float] = []
        by_origin: dict[str | None, Counter[str]] = defaultdict(Counter)
        for row in mqls:
            contact = _utc(row["first_contact_date"])
            closed = _utc(won[row["mql_id"]]) if row["mql_id"] in won else None
            if closed is not None and closed < contact:
                continue  # a deal recorded before its first contact: not a duration
            origin = row["origin"] or None
            by_origin[origin]["mqls"] += 1
            if closed is not None:
                by_origin[origin]["won"] += 1
                days.append((closed - contact) / DAY)
            entries.append(
                StageEntry(
                    row["mql_id"],
                    "mql",
                    contact,
                    exited_at=closed,
                    next_stage=None if closed is None else "customer",
                    segments={"origin": origin},
                )
            )
        last = max(entry.exited_at or entry.entered_at for entry in entries)
        report = FunnelReport.build(
            entries,
            stages=["mql", "customer"],
            start=datetime(2017, 6, 1, tzinfo=UTC),
            end=datetime(2018, 6, 1, tzinfo=UTC),
            now=last + DAY,
            segment="origin",
        )
        for origin, counts in by_origin.items():
            conversion = _row(report, "mql", "customer", segment=origin)
            assert (conversion.entered, conversion.converted) == (
                counts["mqls"],
                counts["won"],
            )
            assert conversion.rate == pytest.approx(counts["won"] / counts["mqls"])
        overall = _row(report, "mql", "customer")
        assert overall.entered == len(entries)
        assert overall.median_to_convert is not None
        assert overall.p90_to_convert is not None
        assert overall.median_to_convert / DAY == pytest.approx(
            _nearest_rank(days, 0.5)
        )
        assert overall.p90_to_convert / DAY == pytest.approx(_nearest_rank(days, 0.9))
        # The nearest rank and the interpolated median differ by less than a day.
        assert abs(overall.median_to_convert / DAY - statistics.median(days)) < 1


class TestMavenCrmPipeline:
    """Maven's CRM opportunities: win rate by sales agent, days to close."""

    def test_win_rate_by_agent_and_days_to_close(self) -> None:
        """Win rates and days to win equal a standard-library count."""
        folder = _data("maven-crm-sales-opportunities")
        rows = _rows(folder / "sales_pipeline.csv")
        entries = []
        outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        days: list[float] = []
        for row in rows:
            if not row["engage_date"]:
                continue  # prospecting: never engaged
            engaged = _utc(row["engage_date"])
            closed = _utc(row["close_date"]) if row["close_date"] else None
            stage = row["deal_stage"].lower()
            outcomes[row["sales_agent"]][stage] += 1
            if stage == "won" and closed is not None:
                days.append((closed - engaged) / DAY)
            entries.append(
                StageEntry(
                    row["opportunity_id"],
                    "engaging",
                    engaged,
                    exited_at=closed,
                    next_stage=None if closed is None else stage,
                    segments={"agent": row["sales_agent"]},
                )
            )
        first = min(entry.entered_at for entry in entries)
        last = max(entry.exited_at or entry.entered_at for entry in entries)
        report = FunnelReport.build(
            entries,
            stages=["engaging", "won"],
            start=datetime(first.year, first.month, 1, tzinfo=UTC),
            end=last + DAY,
            segment="agent",
            cohort="quarter",
        )
        for agent, counts in outcomes.items():
            conversion = _row(report, "engaging", "won", segment=agent)
            assert (
                conversion.converted,
                conversion.left.get("lost", 0),
                conversion.open,
            ) == (counts["won"], counts["lost"], counts["engaging"])
            assert conversion.closed_rate == pytest.approx(
                counts["won"] / (counts["won"] + counts["lost"])
            )
        overall = _row(report, "engaging", "won")
        assert overall.median_to_convert is not None
        assert overall.p90_to_convert is not None
        assert overall.median_to_convert / DAY == pytest.approx(
            _nearest_rank(days, 0.5)
        )
        assert overall.p90_to_convert / DAY == pytest.approx(_nearest_rank(days, 0.9))
        assert date(2016, 10, 1) <= report.start.date()
