"""SLA rules: what must happen in a stage, how soon, and what a breach does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    ANY_OPEN,
    EXIT,
    BusinessCalendar,
    BusinessDuration,
    DidActivity,
    Escalate,
    FunnelPolicy,
    MoveTo,
    NaiveDatetimeError,
    PolicyError,
    ScoringModel,
    SlaRule,
    Stage,
    Transition,
    ValidationError,
)

NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
OFFICE = BusinessCalendar.weekdays("09:00", "17:00", timezone="America/New_York")


def ny(*parts: int) -> datetime:
    """A New York wall-clock time."""
    return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[misc] # year, month, day, ...


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
        """Wall time adds plainly; business time counts on the calendar."""
        friday = ny(2026, 3, 6, 16)
        wall = SlaRule("r", "mql", "2 days", EXIT, warn_at=0.5)
        assert wall.deadline(friday) == ny(2026, 3, 8, 16)
        assert wall.warning(friday, wall.deadline(friday)) == ny(2026, 3, 7, 16)
        business = SlaRule("r", "mql", "8 business hours", EXIT, warn_at=0.75)
        deadline = business.deadline(friday, OFFICE)
        assert deadline == ny(2026, 3, 9, 16)
        assert business.warning(friday, deadline, OFFICE) == ny(2026, 3, 9, 14)
        own = attrs.evolve(business, calendar=OFFICE)
        assert own.deadline(friday) == deadline
        assert SlaRule("r", "mql", H, EXIT).warning(friday, friday + H) is None

    def test_business_time_needs_a_calendar(self) -> None:
        """Without the rule's calendar or one given, business time cannot count."""
        rule = SlaRule("r", "mql", "8 business hours", EXIT, warn_at=0.5)
        with pytest.raises(ValidationError) as info:
            rule.deadline(ny(2026, 3, 6, 16))
        assert info.value.field == "calendar"
        with pytest.raises(NaiveDatetimeError):
            rule.deadline(datetime(2026, 3, 6, 16), OFFICE)  # noqa: DTZ001 -- the point

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
            (lambda: SlaRule("r", "mql", H, EXIT, calendar="office"), "calendar"),
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
            ((SlaRule("r", "unknown", H, EXIT),), OFFICE, "stage"),
            (
                (SlaRule("r", "mql", H, EXIT), SlaRule("r", "sal", H, EXIT)),
                OFFICE,
                "slas[1].name",
            ),
            ((SlaRule("r", "mql", "1 business hour", EXIT),), None, "slas[0]"),
            (
                (SlaRule("r", "mql", H, EXIT, on_breach=MoveTo("lead")),),
                OFFICE,
                "on_breach",
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
