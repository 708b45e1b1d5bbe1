"""The shipped default funnel, b2b_saas(): one test per rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from funnelkit import (
    Activity,
    Bant,
    Funnel,
    GuardFailed,
    IllegalTransition,
    Lead,
    SlaBreached,
    SlaWarning,
    StageChanged,
    ValidationError,
    kinds,
)
from funnelkit.policies import (
    DISQUALIFY_REASONS,
    MQL_ENGAGEMENT,
    MQL_FIT,
    RECYCLE_REASONS,
    b2b_saas,
)
from funnelkit.testing import ManualClock

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
H = timedelta(hours=1)
#: Fit 65, grade A: a target industry, 500 people, a VP, in Germany.
IDEAL = {"industry": "software", "employees": 500, "title": "VP Sales", "country": "DE"}
#: Fit 30, grade C: a target industry, 120 people.
SMALL = {"industry": "software", "employees": 120}


def start(attributes: dict[str, object], bant: Bant | None = None) -> Funnel:
    """A funnel of b2b_saas() with lead L added at T0."""
    funnel = Funnel(b2b_saas(), clock=ManualClock(T0 + 30 * H))
    funnel.add_lead(Lead("L", T0, attributes=attributes, bant=bant or Bant()))  # type: ignore[arg-type]
    return funnel


def do(funnel: Funnel, *kinds_done: str, at: datetime = T0) -> None:
    """Record one activity per kind, an hour apart from *at*."""
    for n, kind in enumerate(kinds_done):
        funnel.record(Activity("L", kind, at + (n + 1) * H))


def engage(funnel: Funnel, at: datetime = T0) -> None:
    """Engagement just over the MQL threshold: a webinar, a download, pricing."""
    do(funnel, kinds.WEBINAR_ATTENDED, kinds.CONTENT_DOWNLOAD, kinds.CONTENT_DOWNLOAD)
    do(funnel, kinds.PRICING_PAGE_VIEW, at=at + 3 * H)


def stage(funnel: Funnel) -> str:
    """The lead's stage."""
    return funnel.state("L").stage


class TestDefaultPolicy:
    def test_shape(self) -> None:
        """Eight stages, customer won and disqualified lost, lead first."""
        policy = b2b_saas()
        assert [(s.name, s.kind) for s in policy.stages] == [
            ("lead", "open"),
            ("mql", "open"),
            ("sal", "open"),
            ("sql", "open"),
            ("opportunity", "open"),
            ("customer", "won"),
            ("nurture", "nurture"),
            ("disqualified", "lost"),
        ]
        assert policy.initial == "lead"
        assert policy.scoring.name == "b2b-default"
        assert b2b_saas() == policy
        assert (MQL_ENGAGEMENT, MQL_FIT) == (40, 30)

    def test_marketing_qualified(self) -> None:
        """Engagement and fit at their thresholds make a lead an MQL by itself."""
        funnel = start(SMALL)
        engage(funnel)
        assert stage(funnel) == "mql"
        assert funnel.state("L").history[-1].by == "auto"

    def test_engagement_without_fit_stays_a_lead(self) -> None:
        """An engaged lead that does not fit stays in lead."""
        funnel = start({"industry": "retail"})
        engage(funnel)
        assert stage(funnel) == "lead"
        assert funnel.state("L").score.engagement >= MQL_ENGAGEMENT

    def test_hand_raiser_fast_track(self) -> None:
        """A demo request from a B-or-better fit goes straight to sql."""
        funnel = start(IDEAL)
        do(funnel, kinds.DEMO_REQUEST)
        state = funnel.state("L")
        assert state.stage == "sql"
        assert state.history[-1].source == "lead"

    def test_fast_track_of_the_form_that_made_the_lead(self) -> None:
        """A demo request made just before the lead was created counts in lead."""
        funnel = Funnel(b2b_saas(), clock=ManualClock(T0 + 30 * H))
        created = T0 + timedelta(seconds=5)
        funnel.add_lead(Lead("L", created, attributes=IDEAL))  # type: ignore[arg-type]
        funnel.record(Activity("L", kinds.DEMO_REQUEST, T0))
        assert stage(funnel) == "sql"

    def test_a_late_demo_request_is_judged_in_the_stage_then(self) -> None:
        """A demo request recorded after the MQL move it predates is not in mql."""
        funnel = start(IDEAL)
        engage(funnel)
        entered = funnel.state("L").entered_at
        funnel.record(Activity("L", kinds.DEMO_REQUEST, entered - H))
        assert stage(funnel) == "mql"

    def test_a_late_demo_request_before_an_mql_made_at_creation(self) -> None:
        """An MQL at its creation (by older history): an earlier demo is not in mql."""
        funnel = Funnel(b2b_saas(), clock=ManualClock(T0))
        funnel.add_lead(Lead("L", T0, attributes=IDEAL))  # type: ignore[arg-type]
        warm = (kinds.WEBINAR_ATTENDED, kinds.CONTENT_DOWNLOAD, kinds.CONTENT_DOWNLOAD)
        do(funnel, *warm, kinds.PRICING_PAGE_VIEW, at=T0 - 5 * H)
        assert funnel.state("L").entered_at == T0
        assert stage(funnel) == "mql"
        funnel.record(Activity("L", kinds.DEMO_REQUEST, T0 - H / 2))
        assert stage(funnel) == "mql"

    def test_fast_track_needs_fit(self) -> None:
        """A demo request from a weak fit does not skip the queue."""
        funnel = start(SMALL)
        do(funnel, kinds.QUOTE_REQUEST)
        assert stage(funnel) == "lead"

    def test_fast_track_from_mql(self) -> None:
        """An MQL that then asks for a demo goes on to sql by itself."""
        funnel = start(IDEAL)
        engage(funnel)
        assert stage(funnel) == "mql"
        do(funnel, kinds.DEMO_REQUEST, at=T0 + 6 * H)
        assert stage(funnel) == "sql"

    def test_sales_accepts_by_hand(self) -> None:
        """mql -> sal is a rep's decision, with no guard."""
        funnel = start(SMALL)
        engage(funnel)
        funnel.move("L", "sal", by="rep")
        assert stage(funnel) == "sal"

    def test_sales_qualified_needs_bant_or_a_hand_raise(self) -> None:
        """sal -> sql needs BANT 3 of 4 or a hand-raising action."""
        funnel = start(SMALL)
        engage(funnel)
        funnel.move("L", "sal", by="rep")
        with pytest.raises(GuardFailed) as info:
            funnel.move("L", "sql", by="rep")
        assert "BANT 0 of 4 met" in info.value.verdict.reason
        do(funnel, kinds.PRICING_INQUIRY, at=T0 + 30 * H)
        funnel.move("L", "sql", by="rep")
        assert stage(funnel) == "sql"

    def test_bant_qualifies(self) -> None:
        """Budget, authority and need confirmed qualify an accepted lead."""
        bant = Bant(budget=True, authority=True, need=True, timeline=date(2026, 6, 1))
        funnel = start(SMALL, bant)
        engage(funnel)
        funnel.move("L", "sal", by="rep")
        funnel.move("L", "sql", by="rep")
        assert stage(funnel) == "sql"

    def test_opportunity_and_won(self) -> None:
        """sql -> opportunity -> customer by hand; a customer has no way out."""
        funnel = start(IDEAL)
        do(funnel, kinds.DEMO_REQUEST)
        funnel.move("L", "opportunity", by="rep")
        funnel.move("L", "customer", by="rep")
        assert stage(funnel) == "customer"
        with pytest.raises(IllegalTransition) as info:
            funnel.move("L", "disqualified", by="rep", reason="competitor")
        assert info.value.allowed == ()

    @pytest.mark.parametrize("source", ["mql", "sal", "sql"])
    def test_recycle_needs_a_reason_code(self, source: str) -> None:
        """mql, sal or sql go back to nurture with a recycle reason code."""
        funnel = start(SMALL)
        engage(funnel)
        if source != "mql":
            funnel.move("L", "sal", by="rep")
        if source == "sql":
            do(funnel, kinds.CONTACT_SALES, at=T0 + 10 * H)
            funnel.move("L", "sql", by="rep")
        assert stage(funnel) == source
        with pytest.raises(ValidationError):
            funnel.move("L", "nurture", by="rep")
        with pytest.raises(ValidationError):
            funnel.move("L", "nurture", by="rep", reason="meh")
        funnel.move("L", "nurture", by="rep", reason=RECYCLE_REASONS[0])
        assert stage(funnel) == "nurture"

    @pytest.mark.parametrize("source", ["lead", "mql", "nurture"])
    def test_disqualify_from_any_open_stage(self, source: str) -> None:
        """Any open or nurture stage can be disqualified, with a reason code."""
        funnel = start(SMALL)
        if source != "lead":
            engage(funnel)
        if source == "nurture":
            funnel.move("L", "nurture", by="rep", reason="bad_timing")
        with pytest.raises(ValidationError):
            funnel.move("L", "disqualified", by="rep")
        funnel.move("L", "disqualified", by="rep", reason=DISQUALIFY_REASONS[0])
        assert stage(funnel) == "disqualified"

    def test_re_engaged_after_recycling(self) -> None:
        """A recycled lead returns to mql when it engages again, not before."""
        funnel = start(SMALL)
        engage(funnel)
        funnel.move("L", "nurture", by="rep", reason="bad_timing")
        # Still engaged from before, but it did nothing since: it stays.
        assert funnel.tick(T0 + 40 * H) == []
        assert stage(funnel) == "nurture"
        events: list[object] = []
        funnel.subscribe(events.append)
        do(funnel, kinds.WEBINAR_ATTENDED, at=T0 + 40 * H)
        assert stage(funnel) == "mql"
        change = [e for e in events if isinstance(e, StageChanged)][-1]
        assert change.record.source == "nurture"

    def test_re_engagement_needs_the_threshold(self) -> None:
        """A little activity long after recycling is not enough."""
        funnel = start(SMALL)
        engage(funnel)
        funnel.move("L", "nurture", by="rep", reason="bad_timing")
        do(funnel, kinds.PAGE_VIEW, at=T0 + 2000 * H)
        assert stage(funnel) == "nurture"

    def test_re_open_a_disqualified_lead(self) -> None:
        """A disqualified lead can be re-opened to nurture, with a reason."""
        funnel = start(SMALL)
        funnel.move("L", "disqualified", by="rep", reason="bad_data")
        with pytest.raises(ValidationError):
            funnel.move("L", "nurture", by="rep")
        funnel.move("L", "nurture", by="manager", reason="data fixed")
        assert stage(funnel) == "nurture"

    def test_each_call_builds_a_new_policy(self) -> None:
        """Changing one returned policy cannot change another."""
        first = b2b_saas()
        changed = attrs.evolve(first, version=2)
        assert b2b_saas().version == 1
        assert changed.version == 2


class TestDefaultSlas:
    def test_the_rules_and_their_calendar(self) -> None:
        """Three SLAs on Monday-to-Friday 09:00-17:00 in the team's time zone."""
        policy = b2b_saas()
        assert [rule.name for rule in policy.slas] == [
            "mql_accepted",
            "first_touch",
            "sql_worked",
        ]
        assert policy.calendar is not None
        assert policy.calendar.timezone == "UTC"
        berlin = b2b_saas(timezone="Europe/Berlin").calendar
        assert berlin is not None
        assert berlin.timezone == "Europe/Berlin"

    def test_an_mql_waiting_for_sales_warns_then_escalates(self) -> None:
        """From Monday 13:00: a warning Tuesday 11:00, and the breach at 13:00."""
        funnel = start(SMALL)
        engage(funnel)  # an MQL at Monday 13:00
        events = funnel.tick(T0 + 30 * H)
        warning = next(e for e in events if isinstance(e, SlaWarning))
        breach = next(e for e in events if isinstance(e, SlaBreached))
        assert warning.at == datetime(2026, 3, 3, 11, tzinfo=UTC)
        assert (breach.at, breach.escalate_to) == (
            datetime(2026, 3, 3, 13, tzinfo=UTC),
            "sales_manager",
        )

    def test_a_touch_within_the_business_hour_meets_first_touch(self) -> None:
        """Accepted Tuesday 15:00, touched at 15:30: met; the sql clock starts later."""
        funnel = start(SMALL)
        engage(funnel)
        funnel.move("L", "sal", by="rep", at=T0 + 30 * H)
        (touch,) = funnel.state("L").timers
        assert touch.deadline == T0 + 31 * H
        funnel.record(Activity("L", kinds.SALES_TOUCH, T0 + 30 * H + H / 2))
        (touch,) = funnel.state("L").timers
        assert (touch.met_at, touch.late) == (T0 + 30 * H + H / 2, False)

    def test_an_sql_has_ten_business_days(self) -> None:
        """An SQL made Tuesday 17:00 must move on by 17:00 two weeks later."""
        funnel = start(SMALL)
        engage(funnel)
        funnel.move("L", "sal", by="rep", at=T0 + 30 * H)
        do(funnel, kinds.PRICING_INQUIRY, at=T0 + 30 * H)
        funnel.move("L", "sql", by="rep", at=T0 + 32 * H)
        (worked,) = funnel.state("L").timers
        assert worked.deadline == datetime(2026, 3, 17, 17, tzinfo=UTC)
