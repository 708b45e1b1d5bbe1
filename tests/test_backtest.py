import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    ActivityRule,
    DidActivity,
    Funnel,
    FunnelPolicy,
    InStageFor,
    Lead,
    NaiveDatetimeError,
    ScoreAtLeast,
    ScoringModel,
    SlaBreached,
    SlaRule,
    Stage,
    StageChanged,
    Transition,
    ValidationError,
    kinds,
    policies,
)
from funnelkit._backtest import _auc as auc
from funnelkit._backtest import _deciles as deciles
from funnelkit.analytics import (
    BacktestReport,
    Comparison,
    Decile,
    backtest,
    compare,
)
from funnelkit.testing import ManualClock, strategies

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _policy(threshold: float, version: int) -> FunnelPolicy:
    """A lead becomes an MQL at *threshold* engagement points; sales must accept."""
    return FunnelPolicy(
        name="trial",
        version=version,
        stages=[Stage("lead"), Stage("mql"), Stage("sal")],
        transitions=[
            Transition(
                source="lead",
                target="mql",
                guard=ScoreAtLeast(threshold, dimension="engagement"),
                auto=True,
            ),
            Transition(source="mql", target="sal"),
        ],
        initial="lead",
        scoring=ScoringModel(
            "trial",
            [
                ActivityRule(kinds.PAGE_VIEW, 5),
                ActivityRule(kinds.WEBINAR_ATTENDED, 15),
            ],
        ),
        slas=[SlaRule("accept", "mql", "1 day", "exit")],
    )


V1 = _policy(20, 1)
V2 = _policy(10, 2)


def _history() -> tuple[list[Lead], list[Activity], dict[str, bool]]:
    """Four leads: two webinar-goers (one won), a browser (won), a quiet one."""
    leads = [Lead(f"L-{n}", T0 + n * DAY) for n in range(1, 5)]
    activities = [
        Activity("L-1", kinds.WEBINAR_ATTENDED, T0 + 2 * DAY),
        Activity("L-1", kinds.PAGE_VIEW, T0 + 3 * DAY),
        Activity("L-2", kinds.WEBINAR_ATTENDED, T0 + 40 * DAY),
        Activity("L-2", kinds.PAGE_VIEW, T0 + 41 * DAY),
        Activity("L-3", kinds.PAGE_VIEW, T0 + 4 * DAY),
        Activity("L-3", kinds.PAGE_VIEW, T0 + 5 * DAY),
        Activity("L-4", kinds.PAGE_VIEW, T0 + 6 * DAY),
    ]
    return leads, activities, {"L-1": True, "L-2": False, "L-3": True, "L-4": False}


#: Activities of L-1 and L-2 at a few instants (one written in two time zones),
#: many of them sharing an id.
_SHARING = st.tuples(
    strategies.activities(
        lead_ids=st.sampled_from(["L-1", "L-2"]),
        kinds=st.sampled_from([kinds.PAGE_VIEW, kinds.WEBINAR_ATTENDED]),
        at=st.sampled_from(
            [
                T0 + DAY,
                (T0 + DAY).astimezone(ZoneInfo("Europe/Berlin")),
                T0 + 2 * DAY,
            ]
        ),
        with_ids=False,
    ),
    st.sampled_from([None, "a", "b"]),
).map(lambda pair: pair[0] if pair[1] is None else attrs.evolve(pair[0], id=pair[1]))


class TestBacktest:
    def test_mqls_precision_recall_and_breaches(self) -> None:
        """v1 qualifies the two webinar-goers: one won of two, one of two won found."""
        leads, activities, outcomes = _history()
        report = backtest(V1, leads, activities, outcomes, start=START, end=END)
        assert (report.leads, report.activities) == (4, 7)
        assert report.mql_leads == {"L-1", "L-2"}
        assert (report.mqls, report.won, report.won_mqls) == (2, 2, 1)
        assert (report.precision, report.recall) == (0.5, 0.5)
        assert dict(report.mqls_by_month) == {"2026-01": 1, "2026-02": 1}
        # Nobody accepted the MQLs: each breached its one-day promise.
        assert dict(report.breaches) == {"accept": 2}
        assert sum(row.leads for row in report.deciles) == 4
        assert report.deciles[0].high >= report.deciles[-1].low
        text = report.to_text()
        assert "precision 50.0%" in text
        assert "accept 2" in text
        assert report.to_dict()["mqls_by_month"] == {"2026-01": 1, "2026-02": 1}

    def test_the_same_history_in_any_order_gives_the_same_report(self) -> None:
        """Activities and leads shuffled: the same report, to the byte."""
        leads, activities, outcomes = _history()
        first = backtest(V1, leads, activities, outcomes, start=START, end=END)
        rng = random.Random(7)  # noqa: S311 -- a shuffle, not a secret
        rng.shuffle(leads)
        rng.shuffle(activities)
        again = backtest(V1, leads, activities, outcomes, start=START, end=END)
        assert again.to_dict() == first.to_dict()
        assert again.to_text() == first.to_text()

    def test_two_activities_with_one_id_at_one_instant_in_either_order(self) -> None:
        """A webinar and a page view sharing an id and an instant: one report."""
        webinar = Activity("L", kinds.WEBINAR_ATTENDED, T0, id="a")
        view = Activity("L", kinds.PAGE_VIEW, T0, id="a")
        reports = [
            backtest(V2, [Lead("L", T0)], feed, {}, start=START, end=END)
            for feed in ([webinar, view], [view, webinar])
        ]
        assert reports[0].to_dict() == reports[1].to_dict()
        assert reports[0].to_text() == reports[1].to_text()
        # The engine keeps one of the two: the lead is an MQL or not, not both.
        assert reports[0].activities == 2

    @given(
        st.lists(_SHARING, max_size=8),
        st.randoms(use_true_random=False),
    )
    def test_any_order_of_the_inputs_gives_the_same_report(
        self, activities: list[Activity], shuffler: random.Random
    ) -> None:
        """Leads and activities (ids and instants shared) shuffled: the same report."""
        leads = [Lead("L-1", T0), Lead("L-2", T0 + DAY)]
        first = compare(V1, V2, leads, activities, {"L-1": True}, start=START, end=END)
        shuffler.shuffle(leads)
        shuffler.shuffle(activities)
        again = compare(V1, V2, leads, activities, {"L-1": True}, start=START, end=END)
        assert again.to_dict() == first.to_dict()
        assert again.to_text() == first.to_text()

    def test_the_window_bounds_what_is_measured_and_replayed(self) -> None:
        """A lead created before start is replayed, not measured; after end, neither."""
        leads, activities, outcomes = _history()
        leads += [
            Lead("L-0", START - 30 * DAY),
            Lead("L-9", END + DAY),
            Lead("L-10", END + DAY),
        ]
        activities += [
            Activity("L-0", kinds.WEBINAR_ATTENDED, START - 20 * DAY),
            Activity("L-9", kinds.WEBINAR_ATTENDED, END - DAY),
            Activity("L-1", kinds.WEBINAR_ATTENDED, END + DAY),
        ]
        report = backtest(V1, leads, activities, outcomes, start=START, end=END)
        assert report.leads == 4
        assert report.activities == 9
        assert "L-0" not in report.mql_leads

    def test_breaches_are_those_of_the_periods_leads_due_in_the_period(self) -> None:
        """A breach of a lead before start, or due at end, is not counted."""
        leads = [
            Lead("OLD", START - 31 * DAY),
            Lead("NEW", T0),
            Lead("EDGE", END - 2 * DAY),
            Lead("LATE", START - 2 * DAY),
        ]
        activities = [
            # An MQL before start breaches before start: the history's, not ours.
            Activity("OLD", kinds.WEBINAR_ATTENDED, START - 30 * DAY),
            Activity("OLD", kinds.PAGE_VIEW, START - 30 * DAY),
            # Qualified a day before end: the deadline is end, the next period's.
            Activity("EDGE", kinds.WEBINAR_ATTENDED, END - DAY),
            Activity("EDGE", kinds.PAGE_VIEW, END - DAY),
            # A lead of before start breaching in the period is not measured.
            Activity("LATE", kinds.WEBINAR_ATTENDED, START),
            Activity("LATE", kinds.PAGE_VIEW, START),
            # A lead of the period breaching in it counts.
            Activity("NEW", kinds.WEBINAR_ATTENDED, T0 + DAY),
            Activity("NEW", kinds.PAGE_VIEW, T0 + DAY),
        ]
        report = backtest(V1, leads, activities, {}, start=START, end=END)
        assert (report.leads, report.mqls) == (2, 2)
        assert dict(report.breaches) == {"accept": 1}

    def test_a_move_at_end_is_not_an_mql_of_the_period(self) -> None:
        """A lead the last tick qualifies at end is an MQL of the next period."""
        policy = FunnelPolicy(
            name="timed",
            version=1,
            stages=[Stage("lead"), Stage("mql")],
            transitions=[
                Transition(
                    source="lead",
                    target="mql",
                    auto=True,
                    guard=InStageFor(timedelta(days=7)),
                )
            ],
            initial="lead",
            scoring=ScoringModel("timed", [ActivityRule(kinds.PAGE_VIEW, 5)]),
        )
        leads = [Lead("EARLY", END - 8 * DAY), Lead("EDGE", END - 7 * DAY)]
        report = backtest(policy, leads, [], {"EDGE": True}, start=START, end=END)
        assert report.mql_leads == {"EARLY"}
        assert dict(report.mqls_by_month) == {"2026-03": 1}
        assert (report.precision, report.recall) == (0.0, 0.0)

    def test_a_lead_active_before_its_creation_arrives_with_its_activity(
        self,
    ) -> None:
        """Created in February, at a webinar in January: a January MQL."""
        leads = [Lead("L", datetime(2026, 2, 3, tzinfo=UTC))]
        activities = [
            Activity("L", kinds.WEBINAR_ATTENDED, datetime(2026, 1, 30, tzinfo=UTC)),
            Activity("L", kinds.PAGE_VIEW, datetime(2026, 1, 30, 1, tzinfo=UTC)),
        ]
        report = backtest(V1, leads, activities, {}, start=START, end=END)
        assert dict(report.mqls_by_month) == {"2026-01": 1}
        # Measured by the created_at given: a lead of the period still.
        assert report.leads == 1

    def test_months_are_the_time_zone_s(self) -> None:
        """An MQL at 23:30 UTC on 31 January: February's in Tokyo, January's in UTC."""
        leads = [Lead("L", datetime(2026, 1, 20, tzinfo=UTC))]
        late = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
        activities = [
            Activity("L", kinds.WEBINAR_ATTENDED, late - DAY),
            Activity("L", kinds.PAGE_VIEW, late),  # 20 points: an MQL
        ]
        utc = backtest(V1, leads, activities, {}, start=START, end=END)
        tokyo = backtest(
            V1, leads, activities, {}, start=START, end=END, timezone="Asia/Tokyo"
        )
        assert dict(utc.mqls_by_month) == {"2026-01": 1}
        assert dict(tokyo.mqls_by_month) == {"2026-02": 1}
        assert (utc.timezone, tokyo.timezone) == ("UTC", "Asia/Tokyo")
        assert "MQLs by month (Asia/Tokyo): 2026-02 1" in tokyo.to_text()
        assert tokyo.to_dict()["timezone"] == "Asia/Tokyo"
        # Only the months change: the same MQLs, scores and measures.
        assert (
            attrs.evolve(tokyo, mqls_by_month=utc.mqls_by_month, timezone="UTC") == utc
        )
        both = compare(
            V1, V2, leads, activities, {}, start=START, end=END, timezone="Asia/Tokyo"
        )
        assert (both.a.timezone, both.b.timezone) == ("Asia/Tokyo", "Asia/Tokyo")

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "", None, "localtime"])
    def test_a_time_zone_that_is_not_one_is_refused(self, zone: object) -> None:
        """backtest and compare name timezone, before any replay."""
        leads, activities, outcomes = _history()
        with pytest.raises(ValidationError) as info:
            backtest(
                V1,
                leads,
                activities,
                outcomes,
                start=START,
                end=END,
                timezone=zone,  # type: ignore[arg-type]
            )
        assert (info.value.field, info.value.value) == ("timezone", zone)
        with pytest.raises(ValidationError) as info:
            compare(
                V1,
                V2,
                iter(()),
                iter(()),
                {},
                start=START,
                end=END,
                timezone=zone,  # type: ignore[arg-type]
            )
        assert info.value.field == "timezone"

    def test_with_no_winner_there_is_no_recall_lift_or_auc(self) -> None:
        """Outcomes all False: recall, AUC and lift are None, not a division by zero."""
        leads, activities, _ = _history()
        report = backtest(V1, leads, activities, {}, start=START, end=END)
        assert (report.recall, report.auc) == (None, None)
        assert {row.lift for row in report.deciles} == {None}
        assert "ROC AUC -" in report.to_text()

    def test_no_mql_no_precision(self) -> None:
        """A policy that qualifies nobody has no precision."""
        leads, activities, outcomes = _history()
        report = backtest(
            _policy(1000, 3), leads, activities, outcomes, start=START, end=END
        )
        assert (report.mqls, report.precision) == (0, None)
        assert "MQLs by month (UTC): none" in report.to_text()

    def test_a_lead_counts_once_from_its_first_mql_entry(self) -> None:
        """Back in mql a month later, a lead is still one MQL, of its first month."""
        policy = FunnelPolicy(
            name="hot",
            version=1,
            stages=[Stage("lead"), Stage("mql"), Stage("sal")],
            transitions=[
                Transition(
                    source="lead",
                    target="mql",
                    guard=ScoreAtLeast(20, dimension="engagement"),
                    auto=True,
                ),
                Transition(
                    source="mql",
                    target="sal",
                    guard=DidActivity(kinds.WEBINAR_ATTENDED, in_stage=True),
                    auto=True,
                ),
                # A page view while accepted sends the lead back to marketing.
                Transition(
                    source="sal",
                    target="mql",
                    guard=DidActivity(kinds.PAGE_VIEW, in_stage=True),
                    auto=True,
                ),
            ],
            initial="lead",
            scoring=V1.scoring,
        )
        leads, activities, outcomes = _history()
        activities += [
            Activity("L-1", kinds.WEBINAR_ATTENDED, T0 + 50 * DAY),
            Activity("L-1", kinds.PAGE_VIEW, T0 + 60 * DAY),
        ]
        funnel_report = backtest(
            policy, leads, activities, outcomes, start=START, end=END
        )
        assert funnel_report.mqls == 2
        # L-1 became an MQL in January, and again in March: January it stays.
        assert dict(funnel_report.mqls_by_month) == {"2026-01": 1, "2026-02": 1}

    def test_an_empty_history(self) -> None:
        """No leads: zero counts, no deciles, no breaches."""
        report = backtest(V1, [], [], {}, start=START, end=END)
        assert (report.leads, report.deciles) == (0, ())
        assert "SLA breaches: none" in report.to_text()


class TestTheBacktestsFunnel:
    @given(st.lists(_SHARING, max_size=12), st.booleans())
    def test_its_own_calls_give_what_the_public_calls_give(
        self, activities: list[Activity], forget: bool
    ) -> None:
        """Fed without the lock and delivery: the same moves, inputs and totals."""
        leads = [Lead("L-1", T0), Lead("L-2", T0 + DAY / 2)]
        items: list[Lead | Activity] = [
            leads[0],
            leads[1],
            *sorted(activities, key=lambda a: (a.at.astimezone(UTC), a.id)),
        ]
        public, alone = (
            Funnel(V1, clock=ManualClock(T0)),
            Funnel(V1, clock=ManualClock(T0)),
        )
        expected = [
            event
            for item in items
            for event in (
                public.add_lead(item) if isinstance(item, Lead) else public.record(item)
            )
            if isinstance(event, StageChanged | SlaBreached)
        ]
        assert alone._feed_alone(items, (StageChanged, SlaBreached)) == expected
        assert alone.inputs() == public.inputs()
        if forget:  # scorers rebuilt from the store: the same totals
            alone._scorers.clear()
        wanted = [("L-1", T0 + 3 * DAY), ("L-2", END)]
        assert alone._totals_alone(wanted) == {
            lead_id: public.score(lead_id, at=at).total for lead_id, at in wanted
        }


class TestWhatIsAnMql:
    def test_a_hand_raiser_fast_tracked_to_sql_was_an_mql(self) -> None:
        """b2b_saas: a demo request takes a fit lead from lead to sql: an MQL."""
        fit: dict[str, str | int] = {
            "industry": "software",
            "employees": 1000,
            "title": "VP Sales",
            "country": "US",
        }
        hour = timedelta(hours=1)
        leads = [Lead("HAND", T0, attributes=fit), Lead("SLOW", T0, attributes=fit)]
        activities = [Activity("HAND", kinds.DEMO_REQUEST, T0 + hour)] + [
            Activity("SLOW", kind, T0 + n * hour)
            for n, kind in enumerate(
                [
                    kinds.WEBINAR_ATTENDED,
                    kinds.WEBINAR_ATTENDED,
                    kinds.CONTENT_DOWNLOAD,
                    kinds.PRICING_PAGE_VIEW,
                ],
                start=1,
            )
        ]
        outcomes = {"HAND": True, "SLOW": True}
        report = backtest(
            policies.b2b_saas(), leads, activities, outcomes, start=START, end=END
        )
        assert report.mql_leads == {"HAND", "SLOW"}
        assert (report.mqls, report.recall) == (2, 1.0)
        assert dict(report.mqls_by_month) == {"2026-01": 2}

    def test_a_recycling_stage_on_the_way_in_is_not_past_the_mql_stage(
        self,
    ) -> None:
        """engaged leads to mql and back: not past it; customer, re-opened, is."""
        policy = FunnelPolicy(
            name="loop",
            version=1,
            stages=[
                Stage("lead"),
                Stage("engaged"),
                Stage("mql"),
                Stage("customer", "won"),
                Stage("churned", "lost"),
            ],
            transitions=[
                Transition(
                    source="lead",
                    target="engaged",
                    guard=DidActivity(kinds.PAGE_VIEW),
                    auto=True,
                ),
                Transition(
                    source="engaged",
                    target="mql",
                    guard=DidActivity(kinds.WEBINAR_ATTENDED),
                    auto=True,
                ),
                Transition(source="mql", target="engaged"),
                Transition(
                    source="lead",
                    target="customer",
                    guard=DidActivity(kinds.DEMO_REQUEST),
                    auto=True,
                ),
                Transition(source="mql", target="customer"),
                Transition(source="customer", target="mql", reopen=True),
                Transition(source="customer", target="churned", reopen=True),
            ],
            initial="lead",
            scoring=ScoringModel("none", []),
        )
        leads = [Lead("VIEW", T0), Lead("DEMO", T0), Lead("WEB", T0)]
        activities = [
            Activity("VIEW", kinds.PAGE_VIEW, T0 + DAY),
            Activity("DEMO", kinds.DEMO_REQUEST, T0 + DAY),
            Activity("WEB", kinds.PAGE_VIEW, T0 + DAY),
            Activity("WEB", kinds.WEBINAR_ATTENDED, T0 + 2 * DAY),
        ]
        report = backtest(policy, leads, activities, {}, start=START, end=END)
        assert report.mql_leads == {"DEMO", "WEB"}


class TestDeciles:
    def test_leads_with_one_score_are_one_decile(self) -> None:
        """Ten leads alike, three won: one decile, lift 1, whatever their ids."""
        leads = [Lead(f"L-{n}", T0) for n in range(10)]
        activities = [Activity(f"L-{n}", kinds.PAGE_VIEW, T0 + DAY) for n in range(10)]
        for won in ({"L-0", "L-1", "L-2"}, {"L-7", "L-8", "L-9"}):
            outcomes = dict.fromkeys(won, True)
            report = backtest(V2, leads, activities, outcomes, start=START, end=END)
            assert report.auc == 0.5
            (decile,) = report.deciles
            assert (decile.decile, decile.leads, decile.won) == (1, 10, 3)
            assert decile.lift == 1.0

    def test_a_tie_goes_whole_to_the_tenth_its_first_lead_falls_in(self) -> None:
        """20 leads: 3 at 20 points, 17 at 5: deciles 1 and 2, no others."""
        leads = [Lead(f"L-{n:02}", T0) for n in range(20)]
        activities = [
            Activity(f"L-{n:02}", kinds.WEBINAR_ATTENDED, T0 + DAY) for n in range(3)
        ] + [Activity(f"L-{n:02}", kinds.PAGE_VIEW, T0 + DAY) for n in range(20)]
        outcomes = {"L-00": True, "L-19": True}
        report = backtest(V1, leads, activities, outcomes, start=START, end=END)
        assert [(row.decile, row.leads, row.won) for row in report.deciles] == [
            (1, 3, 1),
            (2, 17, 1),
        ]
        assert [row.low for row in report.deciles] == [20, 5]

    @given(st.integers(1, 45))
    def test_distinct_scores_make_tenths_as_equal_as_can_be_larger_first(
        self, count: int
    ) -> None:
        """n distinct scores: tenths of n // 10 leads, the first n % 10 one more."""
        ids = [f"L-{n:02}" for n in range(count)]
        rows = deciles(
            ids, {lead_id: float(n) for n, lead_id in enumerate(ids)}, frozenset()
        )
        size, extra = divmod(count, 10)
        expected = [size + (number < extra) for number in range(10)]
        assert [n for n in expected if n] == [row.leads for row in rows]
        assert list(range(1, len(rows) + 1)) == [row.decile for row in rows]


def _report(
    deciles: list[Decile], *, leads: int = 1, activities: int = 1
) -> BacktestReport:
    """A report holding *deciles*, its other measures small."""
    return BacktestReport(
        policy="wide@1",
        start=START,
        end=END,
        leads=leads,
        activities=activities,
        mqls=0,
        won=0,
        won_mqls=0,
        precision=None,
        recall=None,
        auc=None,
        mqls_by_month={},
        deciles=tuple(deciles),
        breaches={},
        mql_leads=frozenset(),
    )


@st.composite
def _decile(draw: st.DrawFn) -> Decile:
    """A decile row as a report may hold one: no more won than leads, low <= high."""
    leads = draw(st.integers(0, 10**9))
    low, high = sorted(draw(st.lists(st.floats(-1e12, 1e12), min_size=2, max_size=2)))
    return Decile(
        decile=draw(st.integers(1, 10)),
        leads=leads,
        won=draw(st.integers(0, leads)),
        win_rate=draw(st.floats(0, 1)),
        lift=draw(st.none() | st.floats(0, 1e6)),
        low=low,
        high=high,
    )


_DECILES = _decile()


class TestText:
    def test_wide_values_line_up(self) -> None:
        """Big counts, lifts and scores: each column as wide as its widest cell."""
        report = _report(
            [
                Decile(
                    decile=1,
                    leads=1_234_567,
                    won=1_000_000,
                    win_rate=0.81,
                    lift=12.5,
                    low=-1234.5,
                    high=123456,
                ),
                Decile(
                    decile=10, leads=3, won=0, win_rate=0.0, lift=0.0, low=0, high=5
                ),
            ]
        )
        assert report.to_text().splitlines()[-4:] == [
            "decile      leads        won  win rate    lift             scores",
            "------  ---------  ---------  --------  ------  -----------------",
            "     1  1,234,567  1,000,000     81.0%  12.500  -1234.5 to 123456",
            "    10          3          0      0.0%   0.000        0 to      5",
        ]

    def test_scores_are_written_as_the_score_explains_them(self) -> None:
        """A decile's scores keep their six decimals: not 112.628 for 112.62771."""
        report = _report(
            [
                Decile(
                    decile=1,
                    leads=1,
                    won=1,
                    win_rate=1.0,
                    lift=2.0,
                    low=112.62771,
                    high=112.62771,
                ),
                Decile(
                    decile=2,
                    leads=1,
                    won=0,
                    win_rate=0.0,
                    lift=0.0,
                    low=0.516678,
                    high=1e12,
                ),
            ]
        )
        assert report.to_text().splitlines()[-2:] == [
            "     1      1    1    100.0%  2.000  112.62771 to     112.62771",
            "     2      1    0      0.0%  0.000   0.516678 to 1000000000000",
        ]

    @given(st.lists(_DECILES, max_size=10), st.lists(_DECILES, max_size=10))
    def test_the_compare_view_lines_the_two_tables_up(
        self, first: list[Decile], second: list[Decile]
    ) -> None:
        """Both tables of a comparison: every line as long, every "to" in one place."""
        a, b = _report(first), _report(second)
        text = Comparison(a=a, b=b, differences=("x",)).to_text()
        tables = [
            line
            for line in text.splitlines()
            if line.startswith(("decile", "------", " "))
        ]
        assert len({len(line) for line in tables}) == 1
        assert len({line.rindex(" to ") for line in tables if " to " in line}) <= 1

    @pytest.mark.parametrize(
        ("leads", "activities", "expected"),
        [
            (1, 1, "1 lead, 1 activity"),
            (0, 0, "0 leads, 0 activities"),
            (2, 1_000, "2 leads, 1,000 activities"),
        ],
    )
    def test_counts_agree_with_their_nouns(
        self, leads: int, activities: int, expected: str
    ) -> None:
        """A count agrees with its noun: "1 lead, 1 activity", not "1 leads"."""
        text = _report([], leads=leads, activities=activities).to_text()
        assert text.startswith(f"Backtest of wide@1: {expected}, 2026-01-01")


def _renamed() -> FunnelPolicy:
    """v1 with its mql stage renamed pql (version 7)."""
    return FunnelPolicy(
        name="trial",
        version=7,
        stages=[Stage("lead"), Stage("pql"), Stage("sal")],
        transitions=[
            attrs.evolve(V1.transitions[0], target="pql"),
            attrs.evolve(V1.transitions[1], source="pql"),
        ],
        initial="lead",
        scoring=V1.scoring,
        slas=[SlaRule("accept", "pql", "1 day", "exit")],
    )


class TestReportsReadBack:
    """A backtest's report and its deciles refuse figures that cannot go together."""

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"mqls": 2, "mql_leads": frozenset({"a", "b"})}, "mqls"),
            ({"won": 2}, "won"),
            ({"won_mqls": 1}, "won_mqls"),
            ({"won": 1, "won_mqls": 1}, "won_mqls"),
            ({"mqls": 1}, "mql_leads"),
            ({"end": START}, "end"),
            ({"timezone": "Mars/Base"}, "timezone"),
            ({"precision": 2.0}, "precision"),
            ({"breaches": {"sla": -1}}, "breaches"),
        ],
    )
    def test_a_report_that_does_not_add_up_is_refused(
        self, changes: dict[str, Any], field: str
    ) -> None:
        """Each bound a report's measures keep, broken, names its field."""
        report = _report([], leads=1)
        with pytest.raises(ValidationError) as caught:
            attrs.evolve(report, **changes)
        assert (caught.value.owner, caught.value.field) == ("BacktestReport", field)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"won": 3}, "won"),
            ({"low": 5.0}, "low"),
            ({"decile": 11}, "decile"),
            ({"win_rate": -0.1}, "win_rate"),
            ({"lift": math.inf}, "lift"),
        ],
    )
    def test_a_decile_that_does_not_add_up_is_refused(
        self, changes: dict[str, Any], field: str
    ) -> None:
        """A decile's won are among its leads, and its lowest score is no higher."""
        row = Decile(decile=1, leads=2, won=1, win_rate=0.5, lift=1.0, low=1, high=2)
        with pytest.raises(ValidationError) as caught:
            attrs.evolve(row, **changes)
        assert (caught.value.owner, caught.value.field) == ("Decile", field)


class TestCompare:
    def test_the_differences_are_said_in_words(self) -> None:
        """v2's lower threshold qualifies the browser (won) and the quiet one."""
        leads, activities, outcomes = _history()
        comparison = compare(V1, V2, leads, activities, outcomes, start=START, end=END)
        assert comparison.b.mql_leads - comparison.a.mql_leads == {"L-3"}
        first, precision, recall, roc, breaches = comparison.differences
        assert first == (
            "trial@2 makes 1 more MQL than trial@1 (3 against 2): it qualifies "
            "1 lead trial@1 does not (1 of them won) and no longer qualifies 0 "
            "leads (0 of them won)."
        )
        assert precision == "precision 50.0% -> 66.7% (+16.7 points)."
        assert recall == "recall 50.0% -> 100.0% (+50.0 points)."
        assert roc.startswith("ROC AUC ")
        assert breaches == "SLA breaches of accept: 2 -> 3."
        assert "Differences" in comparison.to_text()
        assert comparison.to_dict()["differences"][0] == first

    def test_a_policy_against_itself_says_nothing_differs(self) -> None:
        """compare(v1, v1): one line saying so, not five that change nothing."""
        leads, activities, outcomes = _history()
        comparison = compare(V1, V1, leads, activities, outcomes, start=START, end=END)
        same = (
            "No difference: trial@1 and trial@1 make the same 2 MQLs of this "
            "history, with the same precision (50.0%), recall (50.0%), ROC AUC "
            "(0.625) and SLA breaches."
        )
        assert comparison.differences == (same,)
        assert comparison.to_dict()["differences"] == list(comparison.differences)
        assert comparison.to_text().endswith(f"- {comparison.differences[0]}")

    def test_the_same_mqls_with_other_breaches_are_a_difference(self) -> None:
        """Same MQLs, a slower SLA: the differences are listed, breaches among them."""
        leads, activities, outcomes = _history()
        patient = attrs.evolve(
            V1, version=5, slas=[SlaRule("accept", "mql", "365 days", "exit")]
        )
        comparison = compare(
            V1, patient, leads, activities, outcomes, start=START, end=END
        )
        assert comparison.differences[-1] == "SLA breaches of accept: 2 -> 0."
        assert len(comparison.differences) == 5

    def test_as_many_mqls_are_not_zero_more(self) -> None:
        """As many MQLs, other or the same: said so, not "makes 0 more MQLs"."""
        leads, activities, outcomes = _history()
        patient = attrs.evolve(
            V1, version=5, slas=[SlaRule("accept", "mql", "365 days", "exit")]
        )
        same = compare(V1, patient, leads, activities, outcomes, start=START, end=END)
        assert same.differences[0] == "trial@5 makes the same 2 MQLs as trial@1."
        swapped = attrs.evolve(
            V1,
            version=6,
            scoring=ScoringModel(
                "swapped",
                [
                    ActivityRule(kinds.PAGE_VIEW, 15),
                    ActivityRule(kinds.WEBINAR_ATTENDED, 5),
                ],
            ),
        )
        # Two webinars qualify under v1, two page views under v6.
        leads = [Lead("WEBINARS", T0), Lead("PAGES", T0)]
        activities = [
            Activity("WEBINARS", kinds.WEBINAR_ATTENDED, T0 + DAY),
            Activity("WEBINARS", kinds.WEBINAR_ATTENDED, T0 + 2 * DAY),
            Activity("PAGES", kinds.PAGE_VIEW, T0 + DAY),
            Activity("PAGES", kinds.PAGE_VIEW, T0 + 2 * DAY),
        ]
        other = compare(V1, swapped, leads, activities, {}, start=START, end=END)
        assert other.differences[0] == (
            "trial@6 makes as many MQLs as trial@1 (1 each): it qualifies 1 lead "
            "trial@1 does not (0 of them won) and no longer qualifies 1 lead "
            "(0 of them won)."
        )

    def test_each_policy_its_own_mql_stage(self) -> None:
        """mql_b names policy_b's MQL stage: v1 with mql renamed pql is no different."""
        leads, activities, outcomes = _history()
        renamed = _renamed()
        comparison = compare(
            V1, renamed, leads, activities, outcomes, start=START, end=END, mql_b="pql"
        )
        assert comparison.differences[0].startswith(
            "No difference: trial@7 and trial@1 make the same 2 MQLs"
        )
        with pytest.raises(ValidationError) as info:
            compare(V1, renamed, leads, activities, outcomes, start=START, end=END)
        assert (info.value.field, info.value.value) == ("mql", "mql")
        assert info.value.expected == "a stage of the policy 'trial@7'"

    @pytest.mark.parametrize(
        ("policy_b", "mql_b", "field"),
        [(V2, "x", "mql_b"), (_renamed(), None, "mql")],
    )
    def test_a_stage_a_policy_lacks_is_refused_before_any_replay(
        self, policy_b: FunnelPolicy, mql_b: str | None, field: str
    ) -> None:
        """policy_b lacking the stage: refused before the activities are read."""
        leads, activities, outcomes = _history()
        read: list[Activity] = []

        def reading() -> Iterator[Activity]:
            for activity in activities:
                read.append(activity)
                yield activity

        with pytest.raises(ValidationError) as info:
            compare(
                V1,
                policy_b,
                leads,
                reading(),
                outcomes,
                start=START,
                end=END,
                mql_b=mql_b,
            )
        assert read == []
        assert info.value.field == field

    def test_fewer_mqls_and_an_unknown_rate(self) -> None:
        """The other way round, and against a policy with no MQL: no points."""
        leads, activities, outcomes = _history()
        comparison = compare(
            V2, _policy(1000, 3), leads, activities, outcomes, start=START, end=END
        )
        assert "makes 3 fewer MQLs" in comparison.differences[0]
        assert comparison.differences[1] == "precision 66.7% -> -."


class TestAuc:
    @given(
        st.lists(st.tuples(st.integers(0, 5).map(float), st.booleans()), max_size=30)
    )
    def test_it_is_the_share_of_won_and_lost_pairs_ranked_right(
        self, scored: list[tuple[float, bool]]
    ) -> None:
        """AUC = P(won scores above lost), ties half: the pairs counted one by one."""
        won = [score for score, outcome in scored if outcome]
        lost = [score for score, outcome in scored if not outcome]
        found = auc(scored)
        if not won or not lost:
            assert found is None
            return
        pairs = [(w > n) + 0.5 * (w == n) for w in won for n in lost]
        assert found == pytest.approx(sum(pairs) / len(pairs))


class TestBadArguments:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"start": datetime(2026, 1, 1)}, "start"),  # noqa: DTZ001 -- the point
            ({"end": START}, "end"),
            ({"policy": "b2b"}, "policy"),
            ({"mql": "marketing"}, "mql"),
            ({"leads": ["L-1"]}, "leads[0]"),
            ({"leads": [Lead("L-1", T0), Lead("L-1", T0)]}, "leads[1].id"),
            ({"outcomes": [("L-1", True)]}, "outcomes"),
            ({"outcomes": {"L-1": 1}}, "outcomes['L-1']"),
            ({"activities": ["page_view"]}, "activities[0]"),
            (
                {"activities": [Activity("L-7", kinds.PAGE_VIEW, T0)]},
                "activities[0].lead_id",
            ),
            ({"leads": None}, "leads"),
            ({"leads": {"L-1": Lead("L-1", T0)}}, "leads"),
            ({"activities": None}, "activities"),
            ({"mql": ["mql"]}, "mql"),
            ({"outcomes": {1: True}}, "outcomes"),
        ],
    )
    def test_each_bad_argument_is_named(
        self, change: dict[str, object], field: str
    ) -> None:
        """A bad argument raises a ValidationError naming it."""
        leads, activities, outcomes = _history()
        arguments: dict[str, object] = {
            "policy": V1,
            "leads": leads,
            "activities": activities,
            "outcomes": outcomes,
            "start": START,
            "end": END,
        } | change
        with pytest.raises(ValidationError) as info:
            backtest(**arguments)  # type: ignore[arg-type]
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"policy_a": "b2b"}, "policy_a"),
            ({"policy_b": None}, "policy_b"),
            ({"leads": None}, "leads"),
            ({"activities": 5}, "activities"),
            ({"mql": ["mql"]}, "mql"),
            ({"mql_b": "marketing"}, "mql_b"),
            ({"mql_b": 3}, "mql_b"),
        ],
    )
    def test_each_bad_argument_of_compare_is_named(
        self, change: dict[str, object], field: str
    ) -> None:
        """compare names its own arguments: policy_a, policy_b, leads, activities."""
        leads, activities, outcomes = _history()
        arguments: dict[str, object] = {
            "policy_a": V1,
            "policy_b": V2,
            "leads": leads,
            "activities": activities,
            "outcomes": outcomes,
            "start": START,
            "end": END,
        } | change
        with pytest.raises(ValidationError) as info:
            compare(**arguments)  # type: ignore[arg-type]
        assert info.value.field == field

    def test_a_naive_start_is_a_naive_datetime_error(self) -> None:
        """start without a time zone: NaiveDatetimeError."""
        with pytest.raises(NaiveDatetimeError):
            backtest(V1, [], [], {}, start=datetime(2026, 1, 1), end=END)  # noqa: DTZ001 -- the point
