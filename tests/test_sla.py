"""SLA rules: what must happen in a stage, how soon, and what a breach does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    ANY_OPEN,
    EXIT,
    Activity,
    BusinessCalendar,
    BusinessDuration,
    DidActivity,
    Escalate,
    Event,
    Funnel,
    FunnelPolicy,
    InMemoryStore,
    Input,
    InStageFor,
    Lead,
    LeadState,
    MoveTo,
    NaiveDatetimeError,
    PolicyError,
    ScoringModel,
    SlaBreached,
    SlaMet,
    SlaRule,
    SlaTimer,
    Stage,
    Transition,
    ValidationError,
)
from funnelkit import _funnel as funnel_module
from funnelkit._events import _TimerEvent
from funnelkit._funnel import _next_wake
from funnelkit.serialization import from_json, to_json
from funnelkit.testing import ManualClock

NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
OFFICE = BusinessCalendar.weekdays("09:00", "17:00", timezone="America/New_York")


def ny(*parts: int) -> datetime:
    """A New York wall-clock time."""
    return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[arg-type,misc] # year, month, day, ...


def policy(*slas: SlaRule, calendar: BusinessCalendar | None = OFFICE) -> FunnelPolicy:
    """lead -> mql -> sal, nurture beside, with *slas*."""
    return FunnelPolicy(
        name="p",
        version=1,
        stages=[Stage("lead"), Stage("mql"), Stage("sal"), Stage("nurture", "nurture")],
        transitions=[
            Transition(source="lead", target="mql"),
            Transition(source="mql", target="sal"),
            Transition(source=ANY_OPEN, target="nurture", requires_reason=True),
            Transition(source="nurture", target="mql"),
        ],
        initial="lead",
        scoring=ScoringModel("empty", []),
        slas=slas,
        calendar=calendar,
    )


class TestSlaRule:
    def test_durations_read_as_text(self) -> None:
        """Text durations: wall time, or business time that needs a calendar."""
        wall = SlaRule("r", "mql", "2 days", EXIT)
        assert (wall.within, wall.business) == (timedelta(days=2), False)
        business = SlaRule("r", "mql", "8 business hours", EXIT)
        assert business.within == BusinessDuration(time=8 * H)
        assert business.business

    def test_a_wall_deadline_past_the_year_9999(self) -> None:
        """A deadline Python cannot hold is a ValidationError naming started_at."""
        late = datetime(9999, 12, 31, 23, tzinfo=UTC)
        rule = SlaRule("r", "mql", "2 hours", EXIT)
        with pytest.raises(ValidationError) as info:
            rule.deadline(late)
        assert (info.value.owner, info.value.field) == ("SlaRule 'r'", "started_at")
        with pytest.raises(ValidationError):  # a pause moving it past the end too
            rule.moved(late, late - 2 * H, late)

    def test_a_business_deadline_past_the_calendars_years(self) -> None:
        """Past the calendar's years, a start or a pause names the rule's field."""
        rule = SlaRule("r", "mql", "2 business days", EXIT)
        late = datetime(9998, 12, 31, 12, tzinfo=UTC)
        with pytest.raises(ValidationError, match="before 9999-01-01") as info:
            rule.deadline(late, OFFICE)
        assert (info.value.owner, info.value.field, info.value.value) == (
            "SlaRule 'r'",
            "started_at",
            late,
        )
        due = rule.deadline(late - 3 * D, OFFICE)
        with pytest.raises(ValidationError) as info:  # a pause moving it past the end
            rule.moved(due, late - 2 * D, late + 4 * H, OFFICE)
        assert (info.value.owner, info.value.field) == ("SlaRule 'r'", "due")
        with pytest.raises(ValidationError) as info:  # a pause ending past the end
            rule.moved(due, due - 2 * H, late + 3 * D, OFFICE)
        assert (info.value.owner, info.value.field) == ("SlaRule 'r'", "resumed_at")
        with pytest.raises(ValidationError) as info:  # the calendar's own, as ever
            OFFICE.add(late, timedelta(hours=-1))
        assert (info.value.owner, info.value.field) == (
            "BusinessCalendar.add",
            "duration",
        )

    @pytest.mark.parametrize("within", ["8 business hours", "8 hours"])
    def test_a_resume_before_its_pause_is_refused(self, within: str) -> None:
        """A clock cannot resume before it stood: the deadline would move back."""
        rule = SlaRule("r", "mql", within, EXIT)
        start = datetime(2026, 3, 2, 9, tzinfo=NEW_YORK)
        due = rule.deadline(start, OFFICE)
        with pytest.raises(ValidationError, match="no earlier than paused_at") as info:
            rule.moved(due, start + 4 * H, start + 2 * H, OFFICE)
        assert (info.value.owner, info.value.field) == ("SlaRule 'r'", "resumed_at")
        assert rule.moved(due, start + 4 * H, start + 4 * H, OFFICE) == due

    def test_an_engine_call_past_the_calendars_years_changes_nothing(self) -> None:
        """A move whose deadline falls past the calendar's years names the rule."""
        policy = FunnelPolicy(
            name="late",
            version=1,
            stages=[Stage("lead"), Stage("mql")],
            transitions=[Transition(source="lead", target="mql")],
            initial="lead",
            scoring=ScoringModel("s", []),
            slas=[SlaRule("accept", "mql", "8 business hours", EXIT)],
            calendar=OFFICE,
        )
        late = datetime(9999, 6, 1, tzinfo=UTC)
        funnel = Funnel(policy, clock=ManualClock(late))
        funnel.add_lead(Lead("L1", late))
        before = (funnel.state("L1"), funnel.inputs())
        with pytest.raises(ValidationError) as info:
            funnel.move("L1", "mql", by="rep")
        assert (info.value.owner, info.value.field) == (
            "SlaRule 'accept'",
            "started_at",
        )
        assert (funnel.state("L1"), funnel.inputs()) == before

    def test_met_by_forms(self) -> None:
        """'exit', one kind or several, or a criterion."""
        assert SlaRule("r", "sal", H, "sales_call").met_by == frozenset({"sales_call"})
        assert SlaRule("r", "sal", H, ["a", "b"]).met_by == frozenset({"a", "b"})
        guard = DidActivity("sales_call")
        assert SlaRule("r", "sal", H, guard).met_by is guard
        assert SlaRule("r", "sal", H, EXIT).met_by == "exit"

    def test_on_breach_forms(self) -> None:
        """A role name escalates; MoveTo moves, with sla_breach as its reason."""
        rule = SlaRule("r", "mql", H, EXIT, on_breach="sales_manager")
        assert rule.on_breach == Escalate("sales_manager")
        assert MoveTo("nurture").reason == "sla_breach"

    def test_deadlines_in_wall_and_business_time(self) -> None:
        """Wall time is elapsed time; business time counts on the calendar."""
        friday = ny(2026, 3, 6, 16)
        wall = SlaRule("r", "mql", "2 days", EXIT, warn_at=0.5)
        # 48 hours after Friday 16:00 is Sunday 17:00: New York's clocks went
        # forward early on Sunday.
        assert wall.deadline(friday) == ny(2026, 3, 8, 17)
        assert wall.deadline(friday).tzinfo is friday.tzinfo
        assert wall.warning(friday, wall.deadline(friday)) == ny(2026, 3, 7, 16)
        business = SlaRule("r", "mql", "8 business hours", EXIT, warn_at=0.75)
        deadline = business.deadline(friday, OFFICE)
        assert deadline == ny(2026, 3, 9, 16)
        assert business.warning(friday, deadline, OFFICE) == ny(2026, 3, 9, 14)
        own = attrs.evolve(business, calendar=OFFICE)
        assert own.deadline(friday) == deadline
        assert SlaRule("r", "mql", H, EXIT).warning(friday, friday + H) is None

    @given(
        before=st.integers(0, 3 * 3_600_000_000),
        pause=st.integers(0, 5 * 3_600_000_000),
        business=st.booleans(),
    )
    def test_a_deadline_reached_when_paused_stays(
        self, before: int, pause: int, business: bool
    ) -> None:
        """A deadline at or before the pause's instant is not moved by the pause."""
        within = "8 business hours" if business else "8 hours"
        rule = SlaRule("r", "mql", within, EXIT)
        paused_at = ny(2026, 3, 3, 11)
        due = paused_at - timedelta(microseconds=before)
        resumed_at = paused_at + timedelta(microseconds=pause)
        assert rule.moved(due, paused_at, resumed_at, OFFICE) == due

    def test_business_time_needs_a_calendar(self) -> None:
        """Without the rule's calendar or one given, business time cannot count."""
        rule = SlaRule("r", "mql", "8 business hours", EXIT, warn_at=0.5)
        with pytest.raises(ValidationError) as info:
            rule.deadline(ny(2026, 3, 6, 16))
        assert info.value.field == "calendar"
        with pytest.raises(NaiveDatetimeError):
            rule.deadline(datetime(2026, 3, 6, 16), OFFICE)  # noqa: DTZ001 -- the point

    @pytest.mark.parametrize(
        ("call", "field"),
        [
            ("warning", "started_at"),
            ("warning", "deadline"),
            ("moved", "due"),
            ("moved", "paused_at"),
            ("moved", "resumed_at"),
        ],
    )
    def test_warning_and_moved_refuse_naive_instants(
        self, call: str, field: str
    ) -> None:
        """A naive instant is refused, never read in the machine's time zone."""
        rule = SlaRule("r", "mql", "8 hours", EXIT, warn_at=0.5)
        aware = ny(2026, 3, 6, 9)
        naive = aware.replace(tzinfo=None)
        names = {
            "warning": ("started_at", "deadline"),
            "moved": ("due", "paused_at", "resumed_at"),
        }
        given = {name: naive if name == field else aware + H for name in names[call]}
        with pytest.raises(NaiveDatetimeError) as info:
            getattr(rule, call)(**given)
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"rule": 3}, "rule"),
            ({"stage": None}, "stage"),
            ({"entry": "x"}, "entry"),
            ({"entry": -1}, "entry"),
            ({"entry": True}, "entry"),
            ({"started_at": datetime(2026, 3, 2, 9)}, "started_at"),  # noqa: DTZ001 -- the point
            ({"deadline": "tomorrow"}, "deadline"),
            ({"met_at": "now"}, "met_at"),
            # Each valid alone, out of a timer's order together.
            ({"deadline": T0 - H}, "deadline"),
            ({"warn_at": T0 - H}, "warn_at"),
            ({"warn_at": T0 + 2 * H}, "warn_at"),
            ({"warned_at": T0 + H}, "warned_at"),
            ({"warn_at": T0, "warned_at": T0 - H}, "warned_at"),
            ({"breached_at": T0 - H}, "breached_at"),
            ({"met_at": T0 - H}, "met_at"),
            ({"cancelled_at": T0 - H}, "cancelled_at"),
            ({"paused_at": T0 - H}, "paused_at"),
            ({"met_at": T0 + H, "cancelled_at": T0 + H}, "cancelled_at"),
        ],
    )
    def test_a_timer_checks_its_fields(
        self, fields: dict[str, Any], field: str
    ) -> None:
        """A timer made by hand with a bad field is refused, naming it."""
        good: dict[str, Any] = {
            "rule": "r",
            "stage": "mql",
            "entry": 0,
            "started_at": T0,
            "deadline": T0 + H,
        }
        with pytest.raises(ValidationError) as info:
            SlaTimer(**(good | fields))
        assert (info.value.owner, info.value.field) == ("SlaTimer", field)
        assert SlaTimer(**good).next_due == T0 + H

    def test_a_timer_in_order_at_its_edges_is_accepted(self) -> None:
        """Every instant at its start, or a warning at its deadline, is a timer's."""
        same = dict.fromkeys(
            ["deadline", "warn_at", "warned_at", "breached_at", "met_at"], T0
        )
        timer = SlaTimer(rule="r", stage="mql", entry=0, started_at=T0, **same)
        assert timer.late
        paris = T0.astimezone(ZoneInfo("Europe/Paris"))
        assert (
            SlaTimer(
                rule="r",
                stage="mql",
                entry=0,
                started_at=paris,
                deadline=T0 + H,
                warn_at=T0 + H,
                cancelled_at=T0,
                paused_at=paris,
            ).warn_at
            == T0 + H
        )

    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (lambda: SlaRule("", "mql", H, EXIT), "name"),
            (lambda: SlaRule("r", " mql", H, EXIT), "stage"),
            (lambda: SlaRule("r", "mql", timedelta(0), EXIT), "within"),
            (lambda: SlaRule("r", "mql", -H, EXIT), "within"),
            (lambda: SlaRule("r", "mql", "soon", EXIT), "within"),
            (lambda: SlaRule("r", "mql", "0 business hours", EXIT), "within"),
            (lambda: SlaRule("r", "mql", 5, EXIT), "within"),
            (lambda: SlaRule("r", "mql", H, 42), "met_by"),
            (lambda: SlaRule("r", "mql", H, [["a"]]), "met_by"),
            (lambda: SlaRule("r", "mql", H, []), "met_by"),
            (lambda: SlaRule("r", "mql", H, EXIT, warn_at=1), "warn_at"),
            (lambda: SlaRule("r", "mql", H, EXIT, warn_at=0), "warn_at"),
            (lambda: SlaRule("r", "mql", H, EXIT, warn_at=True), "warn_at"),
            (lambda: SlaRule("r", "mql", H, EXIT, calendar="office"), "calendar"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: SlaRule("r", "mql", H, EXIT, on_breach=3), "on_breach"),
            (lambda: SlaRule("r", "mql", H, EXIT, on_breach=""), "role"),
            (lambda: MoveTo("nurture", reason=""), "reason"),
        ],
    )
    def test_bad_parts_name_the_field(self, make: object, field: str) -> None:
        """A bad rule raises a PolicyError naming the field."""
        with pytest.raises(PolicyError) as info:
            make()  # type: ignore[operator]
        assert info.value.field == field

    @given(
        start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1)),  # noqa: DTZ001 -- made aware
        hours=st.integers(1, 80),
        share=st.floats(0.01, 0.99),
    )
    def test_the_warning_comes_between_start_and_deadline(
        self, start: datetime, hours: int, share: float
    ) -> None:
        """Warnings fall inside the time allowed, at its share of business time."""
        begun = start.replace(tzinfo=UTC)
        rule = SlaRule(
            "r", "mql", BusinessDuration(time=hours * H), EXIT, warn_at=share
        )
        deadline = rule.deadline(begun, OFFICE)
        warning = rule.warning(begun, deadline, OFFICE)
        assert warning is not None
        assert begun <= warning <= deadline
        elapsed = OFFICE.elapsed(begun, warning)
        assert abs(elapsed - hours * H * share) <= timedelta(microseconds=1)


class TestPolicySlas:
    def test_a_policy_keeps_its_rules_and_calendar(self) -> None:
        """Rules on known stages, with the policy's calendar for business time."""
        rules = (
            SlaRule("accept", "mql", "8 business hours", EXIT, on_breach="manager"),
            SlaRule("back", "sal", "2 days", EXIT, on_breach=MoveTo("nurture")),
        )
        made = policy(*rules)
        assert made.slas == rules
        assert made.calendar == OFFICE

    @pytest.mark.parametrize(
        ("rules", "calendar", "field"),
        [
            ((SlaRule("r", "unknown", H, EXIT),), OFFICE, "slas[0].stage"),
            (
                (SlaRule("r", "mql", H, EXIT), SlaRule("r", "sal", H, EXIT)),
                OFFICE,
                "slas[1].name",
            ),
            ((SlaRule("r", "mql", "1 business hour", EXIT),), None, "slas[0].within"),
            (
                (SlaRule("r", "mql", H, EXIT, on_breach=MoveTo("lead")),),
                OFFICE,
                "slas[0].on_breach",
            ),
            (("not a rule",), OFFICE, "slas[0]"),
        ],
    )
    def test_bad_rules_are_policy_errors(
        self, rules: tuple[SlaRule, ...], calendar: BusinessCalendar | None, field: str
    ) -> None:
        """Unknown stages, duplicate names, no calendar, a move not allowed."""
        with pytest.raises(PolicyError) as info:
            policy(*rules, calendar=calendar)
        assert info.value.field == field

    def test_a_name_used_twice_is_called_an_sla_rule_name(self) -> None:
        """The duplicate name's message speaks of an SLA rule, in words."""
        with pytest.raises(PolicyError) as info:
            policy(SlaRule("r", "mql", H, EXIT), SlaRule("r", "sal", H, EXIT))
        assert info.value.expected == "an SLA rule name not used before"

    def test_a_rule_with_its_own_calendar_needs_no_policy_calendar(self) -> None:
        """A business rule may bring its own calendar."""
        rule = SlaRule("r", "mql", "1 business hour", EXIT, calendar=OFFICE)
        assert policy(rule, calendar=None).slas == (rule,)

    def test_bad_containers(self) -> None:
        """The rules are a list; the calendar a BusinessCalendar."""
        with pytest.raises(PolicyError) as info:
            policy(calendar="office")  # type: ignore[arg-type]
        assert info.value.field == "calendar"
        with pytest.raises(PolicyError) as info:
            attrs.evolve(policy(), slas=5)
        assert info.value.field == "slas"


# -- The engine keeps the clocks -------------------------------------------------

RULES = (
    SlaRule("engaged", "lead", "2 days", DidActivity("webinar")),
    SlaRule("accept", "mql", "8 hours", EXIT, warn_at=0.5, on_breach="manager"),
    SlaRule("touch", "sal", "1 hour", {"sales_call"}),
    SlaRule("worked", "sal", "3 hours", EXIT, on_breach=MoveTo("nurture")),
)


def engine(*rules: SlaRule, calendar: BusinessCalendar | None = None) -> Funnel:
    """A funnel of the test policy with *rules* (all of RULES by default), L-1 added."""
    made = Funnel(policy(*(rules or RULES), calendar=calendar), clock=ManualClock(T0))
    made.add_lead(Lead("L-1", T0))
    return made


def sla_events(events: list[Event]) -> list[tuple[str, str, datetime]]:
    """(event type, rule, instant) of each SLA event."""
    return [
        (type(event).__name__, event.timer.rule, event.at)
        for event in events
        if isinstance(event, _TimerEvent)
    ]


class TestEngineTimers:
    def test_a_call_that_changes_no_timer_keeps_the_timers_tuple(self) -> None:
        """A record that changes no timer leaves the state's tuple of them as it was."""
        made = engine()
        made.move("L-1", "mql", by="rep", at=T0)
        before = made.state("L-1").timers
        made.record(Activity("L-1", "page_view", T0 + H))
        assert made.state("L-1").timers is before
        made.record(Activity("L-1", "page_view", T0 + 5 * H))  # past the warning
        (warned,) = made.state("L-1").timers
        assert (warned.rule, warned.warned_at) == ("accept", T0 + 4 * H)
        made.move("L-1", "sal", by="rep", at=T0 + 6 * H)
        assert [timer.rule for timer in made.state("L-1").timers] == [
            "touch",
            "worked",
        ]

    def test_entering_a_stage_starts_its_clocks(self) -> None:
        """A new lead's stage starts its rules; a move starts the next stage's."""
        made = engine()
        (timer,) = made.state("L-1").timers
        assert (timer.rule, timer.deadline, timer.is_open) == (
            "engaged",
            T0 + 2 * D,
            True,
        )
        events = made.move("L-1", "mql", by="rep", at=T0 + H)
        assert sla_events(events) == [
            ("SlaCancelled", "engaged", T0 + H),
            ("SlaStarted", "accept", T0 + H),
        ]
        (accept,) = made.state("L-1").timers
        assert (accept.warn_at, accept.deadline) == (T0 + 5 * H, T0 + 9 * H)

    def test_warning_and_breach_come_once_each_on_time(self) -> None:
        """tick gives the warning and the breach at their instants, once."""
        made = engine()
        made.move("L-1", "mql", by="rep", at=T0 + H)
        assert sla_events(made.tick(T0 + 6 * H)) == [
            ("SlaWarning", "accept", T0 + 5 * H)
        ]
        events = made.tick(T0 + 20 * H)
        assert sla_events(events) == [("SlaBreached", "accept", T0 + 9 * H)]
        breach = next(e for e in events if isinstance(e, SlaBreached))
        assert breach.escalate_to == "manager"
        assert sla_events(made.tick(T0 + 30 * H)) == []
        late = made.move("L-1", "sal", by="rep", at=T0 + 31 * H)
        met = next(e for e in late if isinstance(e, SlaMet))
        assert (met.at, met.timer.late) == (T0 + 31 * H, True)

    def test_an_activity_of_the_rule_s_kinds_meets_it(self) -> None:
        """A first touch meets the touch rule; leaving meets the exit rule."""
        made = engine()
        made.move("L-1", "mql", by="rep", at=T0 + H)
        made.move("L-1", "sal", by="rep", at=T0 + 2 * H)
        met = made.record(
            Activity("L-1", "sales_call", T0 + 2 * H + timedelta(minutes=30))
        )
        assert sla_events(met) == [
            ("SlaMet", "touch", T0 + 2 * H + timedelta(minutes=30))
        ]
        assert not next(t for t in made.state("L-1").timers if t.rule == "touch").late
        left = made.move("L-1", "nurture", by="rep", reason="timing", at=T0 + 3 * H)
        assert sla_events(left) == [("SlaMet", "worked", T0 + 3 * H)]

    def test_a_criterion_meets_its_rule_when_it_passes(self) -> None:
        """The webinar criterion meets the lead-stage rule when the lead attends."""
        made = engine()
        events = made.record(Activity("L-1", "webinar", T0 + H))
        assert sla_events(events) == [("SlaMet", "engaged", T0 + H)]
        assert sla_events(made.record(Activity("L-1", "webinar", T0 + 2 * H))) == []

    def test_a_criterion_that_passes_on_entry_meets_its_rule_at_once(self) -> None:
        """A stage entered by a move whose rule's criterion passes is met then."""
        made = engine(SlaRule("seen", "mql", "2 hours", DidActivity("webinar")))
        made.record(Activity("L-1", "webinar", T0 + H))
        events = made.move("L-1", "mql", by="rep", at=T0 + 2 * H)
        assert sla_events(events) == [
            ("SlaStarted", "seen", T0 + 2 * H),
            ("SlaMet", "seen", T0 + 2 * H),
        ]
        assert sla_events(made.tick(T0 + 10 * H)) == []

    def test_a_criterion_that_time_makes_pass_wakes_the_lead(self) -> None:
        """Time in stage meets its rule on time: before the deadline, or late."""
        made = engine(SlaRule("settle", "mql", "5 hours", InStageFor(2 * H)))
        made.move("L-1", "mql", by="rep", at=T0)
        assert made.store.wake("L-1") == T0 + 2 * H
        assert sla_events(made.tick(T0 + 10 * H)) == [("SlaMet", "settle", T0 + 2 * H)]
        made = engine(SlaRule("settle", "mql", "5 hours", InStageFor(10 * H)))
        made.move("L-1", "mql", by="rep", at=T0)
        assert made.store.wake("L-1") == T0 + 5 * H  # the deadline comes first
        assert sla_events(made.tick(T0 + 12 * H)) == [
            ("SlaBreached", "settle", T0 + 5 * H),
            ("SlaMet", "settle", T0 + 10 * H),
        ]
        assert made.store.wake("L-1") is None
        made = engine(SlaRule("settle", "mql", "5 hours", InStageFor(10 * H)))
        made.move("L-1", "mql", by="rep", at=T0)
        made.pause_timer("L-1", "settle", at=T0 + H)  # no deadline while paused
        assert made.store.wake("L-1") == T0 + 10 * H
        assert sla_events(made.tick(T0 + 12 * H)) == [("SlaMet", "settle", T0 + 10 * H)]

    def test_a_breach_can_move_the_lead(self) -> None:
        """The worked rule sends an unworked lead to nurture, saying why."""
        made = engine()
        made.move("L-1", "mql", by="rep", at=T0 + H)
        made.move("L-1", "sal", by="rep", at=T0 + 2 * H)
        events = made.tick(T0 + 10 * H)
        assert sla_events(events) == [
            ("SlaBreached", "touch", T0 + 3 * H),
            ("SlaBreached", "worked", T0 + 5 * H),
            ("SlaCancelled", "touch", T0 + 5 * H),
            ("SlaMet", "worked", T0 + 5 * H),
        ]
        state = made.state("L-1")
        record = state.history[-1]
        assert (state.stage, record.by, record.reason) == (
            "nurture",
            "auto",
            "sla_breach",
        )
        assert record.verdict is not None
        assert record.verdict.passed

    def test_re_entering_starts_a_new_clock(self) -> None:
        """Back in mql from nurture, the acceptance clock starts again."""
        made = engine()
        made.move("L-1", "mql", by="rep", at=T0 + H)
        made.move("L-1", "nurture", by="rep", reason="timing", at=T0 + 2 * H)
        events = made.move("L-1", "mql", by="rep", at=T0 + 3 * H)
        assert ("SlaStarted", "accept", T0 + 3 * H) in sla_events(events)
        (timer,) = made.state("L-1").timers
        assert timer.deadline == T0 + 11 * H

    def test_business_time_counts_on_the_policy_calendar(self) -> None:
        """An 8-business-hour promise made Friday 16:00 falls due Monday 16:00."""
        rule = SlaRule("accept", "mql", "8 business hours", EXIT)
        made = engine(rule, calendar=OFFICE)
        made.move("L-1", "mql", by="rep", at=ny(2026, 3, 6, 16))
        (timer,) = made.state("L-1").timers
        assert timer.deadline == ny(2026, 3, 9, 16)

    def test_ticks_give_events_in_deadline_order(self) -> None:
        """Breaches of several leads come out in the order they fell due."""
        made = engine(RULES[1])
        for number, hours in ((2, 5), (3, 1), (4, 3)):
            made.add_lead(Lead(f"L-{number}", T0))
            made.move(f"L-{number}", "mql", by="rep", at=T0 + hours * H)
        breaches = [e for e in made.tick(T0 + 20 * H) if isinstance(e, SlaBreached)]
        assert [e.lead_id for e in breaches] == ["L-3", "L-4", "L-2"]
        assert [e.at for e in breaches] == sorted(e.at for e in breaches)

    def test_ticks_order_deadlines_as_instants_when_the_clocks_go_back(
        self,
    ) -> None:
        """01:50 EDT falls due before 01:10 EST, the hour the clocks go back."""
        rule = SlaRule("accept", "mql", "1 hour", EXIT)
        made = engine(rule, calendar=None)
        made.add_lead(Lead("L-2", T0))
        made.move("L-1", "mql", by="rep", at=ny(2026, 11, 1, 0, 50))
        made.move("L-2", "mql", by="rep", at=ny(2026, 11, 1, 1, 10))
        breaches = [
            e for e in made.tick(ny(2026, 11, 1, 12)) if isinstance(e, SlaBreached)
        ]
        assert [e.lead_id for e in breaches] == ["L-1", "L-2"]
        assert [e.at.utcoffset() for e in breaches] == [-4 * H, -5 * H]
        # Each lead's score is read at its last update, 01:10 EST for L-2 (not
        # at 01:10 EDT, an hour before, which a wall clock cannot tell apart).
        for lead_id in ("L-1", "L-2"):
            state = made.state(lead_id)
            assert state.score.at.astimezone(UTC) == state.updated_at.astimezone(UTC)

    def test_events_at_one_instant_come_in_lead_order_however_often_ticked(
        self,
    ) -> None:
        """One tick, or one at each due instant: the same events in the same order."""
        rules = (
            SlaRule("accept", "mql", "4 hours", EXIT, warn_at=0.5),
            SlaRule("touch", "sal", "2 hours", EXIT),
        )

        def events(ticks: list[datetime]) -> list[tuple[str, str, datetime]]:
            made = engine(*rules, calendar=None)
            made.add_lead(Lead("A", T0))
            made.move("L-1", "mql", by="rep", at=T0 + 2 * H)
            made.move("A", "mql", by="rep", at=T0 + H)
            made.move("A", "sal", by="rep", at=T0 + 4 * H)
            return [
                (type(event).__name__, event.lead_id, event.at)
                for at in ticks
                for event in made.tick(at)
            ]

        once = events([T0 + 7 * H])
        assert once == events([T0 + 5 * H, T0 + 7 * H])
        assert [lead_id for _, lead_id, _ in once] == ["L-1", "A", "L-1"]

    @given(
        hours=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=6),
        ticks=st.lists(st.integers(min_value=1, max_value=20), max_size=3),
    )
    def test_a_tick_gives_events_by_instant_then_lead(
        self, hours: list[int], ticks: list[int]
    ) -> None:
        """Leads due at one instant or at several: by instant, then by lead, always."""

        def events(at: list[int]) -> list[tuple[str, str, datetime]]:
            made = engine(*RULES[1:], calendar=None)
            for number, hour in enumerate(hours):
                made.add_lead(Lead(f"L-{9 - number}", T0))
                made.move(f"L-{9 - number}", "mql", by="rep", at=T0 + hour * H)
            return [
                (type(event).__name__, event.lead_id, event.at)
                for tick in at
                for event in made.tick(T0 + tick * H)
            ]

        once = events([20])
        assert once == sorted(once, key=lambda event: (event[2], event[1]))
        assert once == events([*sorted(ticks), 20])

    def test_a_store_that_gives_leads_out_of_order_does_not_change_the_order(
        self,
    ) -> None:
        """The tick puts the events in order whatever order its store's due has."""

        class Backwards(InMemoryStore):
            def due(self, now: datetime, /) -> list[tuple[datetime, str]]:
                return super().due(now)[::-1]

        made = Funnel(policy(RULES[1], calendar=None), store=Backwards())
        for lead_id, hours in (("L-2", 1), ("L-3", 1), ("L-1", 2)):
            made.add_lead(Lead(lead_id, T0))
            made.move(lead_id, "mql", by="rep", at=T0 + hours * H)
        warnings = made.tick(T0 + 6 * H)
        assert [(e.lead_id, e.at) for e in warnings] == [
            ("L-2", T0 + 5 * H),
            ("L-3", T0 + 5 * H),
            ("L-1", T0 + 6 * H),
        ]

    @staticmethod
    def _ping_pong() -> FunnelPolicy:
        """mql breaches to nurture, which moves back to mql by SLA or by guard."""
        return FunnelPolicy(
            name="ping",
            version=1,
            stages=[Stage("lead"), Stage("mql"), Stage("nurture", "nurture")],
            transitions=[
                Transition(source="lead", target="mql"),
                Transition(source="mql", target="nurture"),
                Transition(
                    source="nurture", target="mql", guard=InStageFor(2 * H), auto=True
                ),
                Transition(source="nurture", target="mql"),
            ],
            initial="lead",
            scoring=ScoringModel("empty", []),
            slas=[
                SlaRule("accept", "mql", H, EXIT, on_breach=MoveTo("nurture")),
                SlaRule(
                    "settle", "nurture", 10 * H, InStageFor(H), on_breach=MoveTo("mql")
                ),
            ],
        )

    def test_one_tick_over_hundreds_of_wakes_gives_what_ticks_at_each_would(
        self,
    ) -> None:
        """Two hundred hours of breaches and moves: one tick, or one an hour."""

        def run(ticks: list[datetime]) -> tuple[list[Event], LeadState]:
            made = Funnel(self._ping_pong(), clock=ManualClock(T0))
            made.add_lead(Lead("L-1", T0))
            made.move("L-1", "mql", by="rep", at=T0)
            events = [event for at in ticks for event in made.tick(at)]
            return events, made.state("L-1")

        once = run([T0 + 200 * H])
        hourly = run([T0 + hours * H for hours in range(1, 201)])
        assert len(once[0]) > 300
        assert once == hourly

    def test_the_wakes_one_tick_follows_are_bounded(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Past the bound on steps, the lead is judged once at the tick's instant."""
        monkeypatch.setattr(funnel_module, "_MAX_STEPS", 5)
        made = Funnel(self._ping_pong(), clock=ManualClock(T0))
        made.add_lead(Lead("L-1", T0))
        made.move("L-1", "mql", by="rep", at=T0)
        events = made.tick(T0 + 200 * H)
        assert 0 < len(events) < 20
        wake = made.store.wake("L-1")
        assert wake is not None
        assert wake > T0 + 200 * H

    def test_replay_and_json_keep_the_sla_events(self) -> None:
        """The input log replays to the same SLA events, which survive JSON."""
        made = engine()
        seen: list[Event] = []
        made.subscribe(seen.append)
        made.move("L-1", "mql", by="rep", at=T0 + H)
        made.tick(T0 + 20 * H)
        again = Funnel(made.policy, clock=ManualClock(T0))
        replayed = again.replay(made.inputs())
        assert replayed[-len(seen) :] == seen
        assert from_json(to_json(seen, cls=list[Event]), list[Event]) == seen
        assert again.state("L-1") == made.state("L-1")

    @given(st.permutations(range(4)))
    def test_timers_due_with_a_breach_move_fire_before_it(
        self, order: list[int]
    ) -> None:
        """A breach move waits for the timers due with it, whatever the rule order."""
        rules = [
            SlaRule("a_move", "mql", 2 * H, EXIT, on_breach=MoveTo("nurture")),
            SlaRule("b_exit", "mql", 2 * H, EXIT),
            SlaRule("c_touch", "mql", 2 * H, {"sales_call"}),
            SlaRule("d_warned", "mql", 4 * H, EXIT, warn_at=0.5),
        ]
        made = engine(*(rules[index] for index in order))
        events = made.move("L-1", "mql", by="rep", at=T0)
        events += made.tick(T0 + D)
        deadline = T0 + 2 * H
        timers = {
            timer.rule: timer
            for event in events
            if isinstance(event, _TimerEvent)
            for timer in [event.timer]
        }
        assert {rule: timer.breached_at for rule, timer in timers.items()} == {
            "a_move": deadline,
            "b_exit": deadline,
            "c_touch": deadline,
            "d_warned": None,
        }
        assert timers["b_exit"].late
        assert timers["c_touch"].cancelled_at == deadline
        assert timers["d_warned"].warned_at == deadline
        assert timers["d_warned"].met_at == deadline
        assert made.state("L-1").stage == "nurture"

    def test_a_breach_move_needs_an_accepted_reason(self) -> None:
        """A move with reason codes must accept the rule's reason."""
        rule = SlaRule("r", "mql", H, EXIT, on_breach=MoveTo("lost"))
        with pytest.raises(PolicyError) as info:
            attrs.evolve(
                policy(),
                stages=[*policy().stages, Stage("lost", "lost")],
                transitions=[
                    *policy().transitions,
                    Transition(source="mql", target="lost", reasons=["spam"]),
                ],
                slas=[rule],
            )
        assert info.value.field == "slas[0].on_breach"

    def test_the_next_wake_is_the_sooner_of_guards_and_clocks(self) -> None:
        """A waiting guard and a running clock: the lead wakes for the sooner."""
        waiting = attrs.evolve(
            policy(RULES[0]),
            transitions=[
                Transition(
                    source="lead", target="mql", guard=InStageFor(3 * H), auto=True
                ),
                *policy().transitions[1:],
            ],
        )
        made = Funnel(waiting, clock=ManualClock(T0))
        made.add_lead(Lead("L-1", T0))
        assert made.store.wake("L-1") == T0 + 3 * H
        made.record(Activity("L-1", "webinar", T0 + H))  # meets the rule
        assert made.store.wake("L-1") == T0 + 3 * H
        slow = attrs.evolve(waiting, slas=[attrs.evolve(RULES[0], within=H)])
        made = Funnel(slow, clock=ManualClock(T0))
        made.add_lead(Lead("L-1", T0))
        assert made.store.wake("L-1") == T0 + H

    def test_questions_change_nothing(self) -> None:
        """timers and overdue answer as a tick would, and leave the store alone."""
        made = engine()
        made.move("L-1", "mql", by="rep", at=T0 + H)
        made.add_lead(Lead("L-2", T0))
        made.move("L-2", "mql", by="rep", at=T0)
        made.add_lead(Lead("L-3", T0))  # in lead, its clock two days long
        before = made.inputs()
        (timer,) = made.timers("L-1", at=T0 + 10 * H)
        assert (timer.warned_at, timer.breached_at) == (T0 + 5 * H, T0 + 9 * H)
        assert made.state("L-1").timers[0].breached_at is None
        overdue = made.overdue(T0 + 10 * H)
        assert [(lead_id, t.deadline) for lead_id, t in overdue] == [
            ("L-2", T0 + 8 * H),
            ("L-1", T0 + 9 * H),
        ]
        assert made.inputs() == before
        made.tick(T0 + 10 * H)
        assert [lead_id for lead_id, _ in made.overdue(T0 + 10 * H)] == ["L-2", "L-1"]
        made.move("L-1", "sal", by="rep", at=T0 + 11 * H)
        assert [lead_id for lead_id, _ in made.overdue(T0 + 11 * H)] == ["L-2"]
        clock_now = made.overdue()
        assert clock_now == []  # the clock still reads T0

    def test_a_timer_is_overdue_from_its_deadline_on(self) -> None:
        """At its very deadline a timer is overdue, as a tick there breaches it."""
        made = engine()
        made.move("L-1", "mql", by="rep", at=T0 + H)  # due at T0+9h
        deadline = T0 + 9 * H
        assert made.overdue(deadline - timedelta(microseconds=1)) == []
        assert [lead_id for lead_id, _ in made.overdue(deadline)] == ["L-1"]
        assert "SlaBreached" in [type(event).__name__ for event in made.tick(deadline)]

    def test_overdue_sees_clocks_a_due_wake_would_start(self) -> None:
        """A lead that a waiting guard moves into an SLA stage is overdue there too."""
        waiting = attrs.evolve(
            policy(attrs.evolve(RULES[1], within=2 * H, warn_at=None)),
            transitions=[
                Transition(source="lead", target="mql", guard=InStageFor(H), auto=True),
                *policy().transitions[1:],
            ],
        )
        made = Funnel(waiting, clock=ManualClock(T0))
        made.add_lead(Lead("L-1", T0))  # moves to mql at T0+1h, due at T0+3h
        ((lead_id, timer),) = made.overdue(T0 + 5 * H)
        assert (lead_id, timer.rule, timer.deadline) == ("L-1", "accept", T0 + 3 * H)
        assert made.state("L-1").stage == "lead"  # a question changes nothing

    def test_a_tick_earlier_than_the_last_does_nothing(self) -> None:
        """Ticking back in time gives no events and logs nothing."""
        made = engine(RULES[1])
        made.move("L-1", "mql", by="rep", at=T0)
        made.tick(T0 + 10 * H)
        before = (made.inputs(), made.state("L-1"))
        assert made.tick(T0 + 6 * H) == []
        assert (made.inputs(), made.state("L-1")) == before

    def test_a_tick_back_in_time_does_nothing_to_leads_due_then(self) -> None:
        """A lead due before the last tick waits for a tick at or after it."""
        for first in (T0 + 10 * H, T0 + 30 * H):  # one finds L-1 due, one nothing
            made = engine(RULES[1])
            if first == T0 + 10 * H:
                made.move("L-1", "mql", by="rep", at=T0)
            made.tick(first)
            made.add_lead(Lead("L-2", T0))
            made.move("L-2", "mql", by="rep", at=T0 + H)  # warns at T0+5h
            logged = list(made.inputs())
            assert made.tick(T0 + 6 * H) == []
            assert list(made.inputs()) == logged
            events = made.tick(first)
            assert ("SlaWarning", "accept", T0 + 5 * H) in sla_events(events)

    def test_a_calendar_per_lead(self) -> None:
        """calendar_for picks each lead's calendar; None falls back to the policy's."""
        berlin = BusinessCalendar.weekdays("09:00", "17:00", timezone="Europe/Berlin")
        teams = {"L-DE": berlin}
        rule = SlaRule("accept", "mql", "8 business hours", EXIT)
        made = Funnel(
            policy(rule, calendar=OFFICE),
            clock=ManualClock(T0),
            calendar_for=lambda lead: teams.get(lead.id),
        )
        for lead_id in ("L-DE", "L-US"):
            made.add_lead(Lead(lead_id, T0))
            made.move(lead_id, "mql", by="rep", at=T0)  # Monday 09:00 UTC
        (german,) = made.state("L-DE").timers
        (american,) = made.state("L-US").timers
        assert german.deadline == datetime(2026, 3, 3, 9, tzinfo=UTC)  # 10:00 CET
        assert american.deadline == ny(2026, 3, 2, 17)

    def test_a_bad_calendar_choice_changes_nothing(self) -> None:
        """A calendar_for that returns something else fails the call cleanly."""
        with pytest.raises(ValidationError) as info:
            Funnel(policy(), calendar_for="Europe/Berlin")  # type: ignore[arg-type]
        assert info.value.field == "calendar_for"
        made = Funnel(
            policy(RULES[1]),
            clock=ManualClock(T0),
            calendar_for=lambda _lead: "Berlin",  # type: ignore[arg-type,return-value]
        )
        made.add_lead(Lead("L-1", T0))  # no rule on lead: asked on entering mql
        before = made.inputs()
        with pytest.raises(ValidationError) as info:
            made.move("L-1", "mql", by="rep", at=T0)
        assert info.value.field == "calendar_for"
        assert made.inputs() == before
        assert made.state("L-1").stage == "lead"


class TestPauseAndResume:
    def test_a_paused_timer_neither_warns_nor_breaches(self) -> None:
        """Paused for 18 hours, the deadline and warning move 18 hours on."""
        made = engine(RULES[1])
        made.move("L-1", "mql", by="rep", at=T0 + H)  # warn T0+5h, due T0+9h
        paused = made.pause_timer("L-1", "accept", at=T0 + 2 * H)
        assert sla_events(paused) == [("SlaPaused", "accept", T0 + 2 * H)]
        assert sla_events(made.tick(T0 + 20 * H)) == []
        resumed = made.resume_timer("L-1", "accept", at=T0 + 20 * H)
        assert sla_events(resumed) == [("SlaResumed", "accept", T0 + 20 * H)]
        (timer,) = made.state("L-1").timers
        assert (timer.warn_at, timer.deadline, timer.paused_at) == (
            T0 + 23 * H,
            T0 + 27 * H,
            None,
        )
        assert sla_events(made.tick(T0 + 30 * H)) == [
            ("SlaWarning", "accept", T0 + 23 * H),
            ("SlaBreached", "accept", T0 + 27 * H),
        ]

    def test_business_time_left_counts_again_from_the_resume(self) -> None:
        """Six business hours left on Monday 11:00 run from Wednesday 15:00."""
        rule = SlaRule("accept", "mql", "8 business hours", EXIT)
        made = engine(rule, calendar=OFFICE)
        made.move("L-1", "mql", by="rep", at=ny(2026, 3, 2, 9))
        made.pause_timer("L-1", "accept", at=ny(2026, 3, 2, 11))
        made.resume_timer("L-1", "accept", at=ny(2026, 3, 4, 15))
        (timer,) = made.state("L-1").timers
        assert timer.deadline == ny(2026, 3, 5, 13)

    def test_a_pause_in_closed_hours_moves_no_business_deadline(self) -> None:
        """'10 business days' from Friday 18:00 stays at 18:00 after a weekend pause."""
        rule = SlaRule("worked", "mql", "10 business days", EXIT, warn_at=0.5)
        for pause, resume in (
            (ny(2026, 4, 4, 12), ny(2026, 4, 4, 13)),  # Saturday: closed
            (ny(2026, 4, 6, 10), ny(2026, 4, 6, 10)),  # Monday, for no time
        ):
            made = engine(rule, calendar=OFFICE)
            made.move("L-1", "mql", by="rep", at=ny(2026, 4, 3, 18))
            (before,) = made.state("L-1").timers
            assert before.deadline == ny(2026, 4, 17, 18)
            made.pause_timer("L-1", "worked", at=pause)
            made.resume_timer("L-1", "worked", at=resume)
            (after,) = made.state("L-1").timers
            assert (after.warn_at, after.deadline) == (before.warn_at, before.deadline)
        made.pause_timer("L-1", "worked", at=ny(2026, 4, 6, 10))
        made.resume_timer("L-1", "worked", at=ny(2026, 4, 6, 12))  # two hours
        (moved,) = made.state("L-1").timers
        assert moved.deadline == ny(2026, 4, 20, 11)  # 2 business hours on

    def test_a_deadline_passed_in_a_pause_falls_at_the_resume(self) -> None:
        """Paused before an out-of-hours deadline, resumed after: due at the resume."""
        rule = SlaRule("worked", "mql", "2 business days", EXIT)
        made = engine(rule, calendar=OFFICE)
        made.move("L-1", "mql", by="rep", at=ny(2026, 3, 3, 20))  # due Thu 20:00
        made.pause_timer("L-1", "worked", at=ny(2026, 3, 5, 18))
        made.resume_timer("L-1", "worked", at=ny(2026, 3, 6, 8))
        (timer,) = made.state("L-1").timers
        assert timer.deadline == ny(2026, 3, 6, 8)
        assert sla_events(made.tick(ny(2026, 3, 6, 9))) == [
            ("SlaBreached", "worked", ny(2026, 3, 6, 8))
        ]

    def test_overdue_leaves_paused_timers_out(self) -> None:
        """A paused timer past its deadline is not overdue: no tick breaches it."""
        made = engine(RULES[1])
        made.move("L-1", "mql", by="rep", at=T0 + H)  # due T0+9h
        made.pause_timer("L-1", "accept", at=T0 + 2 * H)
        assert made.tick(T0 + 20 * H) == []
        assert made.overdue(T0 + 20 * H) == []
        made.resume_timer("L-1", "accept", at=T0 + 20 * H)  # due T0+27h
        assert [lead for lead, _ in made.overdue(T0 + 28 * H)] == ["L-1"]

    def test_a_paused_timer_can_be_met_and_a_breach_stays(self) -> None:
        """Leaving meets a paused exit rule; pausing after a breach moves nothing."""
        made = engine(RULES[1])
        made.move("L-1", "mql", by="rep", at=T0)
        made.pause_timer("L-1", "accept", at=T0 + H)
        events = made.move("L-1", "sal", by="rep", at=T0 + 2 * H)
        assert ("SlaMet", "accept", T0 + 2 * H) in sla_events(events)
        again = engine(RULES[1])
        again.move("L-1", "mql", by="rep", at=T0)
        again.pause_timer("L-1", "accept", at=T0 + 10 * H)  # breached at T0+8h
        again.resume_timer("L-1", "accept", at=T0 + 20 * H)
        (timer,) = again.state("L-1").timers
        assert (timer.breached_at, timer.deadline) == (T0 + 8 * H, T0 + 8 * H)

    @pytest.mark.parametrize(
        ("calls", "expected"),
        [
            ((("pause", "nope"),), "running: accept"),
            ((("resume", "accept"),), "it is not paused"),
            ((("pause", "accept"), ("pause", "accept")), "it is paused already"),
        ],
    )
    def test_bad_calls_change_nothing(
        self, calls: tuple[tuple[str, str], ...], expected: str
    ) -> None:
        """An unknown rule, a resume of a running timer, a second pause."""
        made = engine(RULES[1])
        made.move("L-1", "mql", by="rep", at=T0)
        *good, (kind, rule) = calls
        for _, name in good:
            made.pause_timer("L-1", name, at=T0 + H)
        before = (made.inputs(), made.state("L-1"))
        call = made.pause_timer if kind == "pause" else made.resume_timer
        with pytest.raises(ValidationError) as info:
            call("L-1", rule, at=T0 + 2 * H)
        assert info.value.field == "rule"
        assert expected in info.value.expected
        assert (made.inputs(), made.state("L-1")) == before

    def test_replay_and_json_keep_pauses(self) -> None:
        """The input log holds pauses and resumes; replay and JSON keep them."""
        made = engine(RULES[1])
        made.move("L-1", "mql", by="rep", at=T0)
        made.pause_timer("L-1", "accept", at=T0 + H)
        made.resume_timer("L-1", "accept", at=T0 + 3 * H)
        inputs = list(made.inputs())
        assert from_json(to_json(inputs, cls=list[Input]), list[Input]) == inputs
        again = Funnel(made.policy, clock=ManualClock(T0))
        again.replay(inputs)
        assert again.state("L-1") == made.state("L-1")
        with pytest.raises(ValidationError):
            made.pause_timer("L-1", "", at=T0 + 4 * H)


def test_the_funnel_repr_counts_running_timers() -> None:
    """The repr counts running timers, counted once, then kept up to date."""
    made = engine()  # L-1 in lead: its engaged clock runs
    assert repr(made).endswith("leads=1 open_timers=1>")
    made.add_lead(Lead("L-2", T0))
    assert repr(made).endswith("leads=2 open_timers=2>")
    made.record(Activity("L-1", "webinar", T0 + H))  # meets engaged
    made.move("L-2", "mql", by="rep", at=T0 + H)  # cancels one, starts one
    made.move("L-2", "sal", by="rep", at=T0 + 2 * H)  # meets one, starts two
    assert repr(made).endswith("leads=2 open_timers=2>")
    again = Funnel(made.policy, store=made.store, clock=ManualClock(T0))
    assert repr(again).endswith("leads=2 open_timers=2>")


def test_next_wake_keeps_the_first_of_equal_instants() -> None:
    """Of timers and a wake due at one instant, the first timer's is kept."""
    paris = datetime(2026, 3, 2, 10, tzinfo=ZoneInfo("Europe/Paris"))  # 09:00 UTC
    utc = paris.astimezone(UTC)

    def timer(rule: str, deadline: datetime) -> SlaTimer:
        return SlaTimer(
            rule=rule, stage="mql", entry=1, started_at=T0, deadline=deadline
        )

    first, second = timer("a", paris), timer("b", utc)
    assert _next_wake([first, second], utc) is paris
    assert _next_wake([second, first], paris) is utc
    assert _next_wake([first.met(T0)], utc) is utc
    assert _next_wake([timer("c", utc + H), first], None) is paris
    assert _next_wake([timer("c", utc + H)], utc) is utc
    assert _next_wake([], None) is None


def test_a_warned_or_breached_timer_keeps_its_other_fields() -> None:
    """warned and breached set their one field and keep every other one."""
    names = [field.name for field in attrs.fields(SlaTimer)]
    # Every instant but cancelled_at (a timer met was not cancelled), each
    # its own, in the order a timer stamps them.
    order = ["started_at", "warn_at", "warned_at", "deadline", "breached_at"]
    instants = {
        name: T0 + timedelta(minutes=order.index(name) if name in order else 9)
        for name in names
        if name not in {"rule", "stage", "entry", "cancelled_at", "met_at"}
    }
    timer = SlaTimer(
        rule="accept", stage="mql", entry=3, met_at=T0 + 10 * H, **instants
    )
    assert len({*instants.values(), timer.met_at}) == len(names) - 4
    later = T0 + 99 * H
    assert timer.warned(later) == attrs.evolve(timer, warned_at=later)
    assert timer.breached(later) == attrs.evolve(timer, breached_at=later)


def test_timers_due_at_one_instant_fire_in_rule_order() -> None:
    """Two deadlines at one instant fire in the order of their rules."""
    made = engine(
        SlaRule("first", "mql", "1 hour", EXIT),
        SlaRule("second", "mql", timedelta(hours=1), EXIT),
    )
    made.move("L-1", "mql", by="rep", at=T0)
    assert sla_events(made.tick(T0 + 2 * H)) == [
        ("SlaBreached", "first", T0 + H),
        ("SlaBreached", "second", T0 + H),
    ]
