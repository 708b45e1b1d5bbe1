from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import given

from funnelkit import Lead, LeadAdded, SlaBreached, SlaTimer, TransitionRecord
from funnelkit._validators import unchecked
from funnelkit.testing.strategies import leads

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


class TestUnchecked:
    @given(lead=leads())
    def test_inherited_fields_are_set(self, lead: Lead) -> None:
        """A constructor of a class whose fields its base declares equals attrs' own."""
        assert unchecked(LeadAdded)(lead, AT) == LeadAdded(lead, AT)

    def test_own_and_inherited_fields_in_order(self) -> None:
        """Fields of the base come first, then the class's own, as attrs orders them."""
        timer = SlaTimer(
            rule="answer",
            stage="mql",
            entry=1,
            started_at=AT,
            deadline=AT + timedelta(hours=8),
        ).breached(AT + timedelta(hours=8))
        made = unchecked(SlaBreached)("L-1", timer, "manager")
        assert made == SlaBreached("L-1", timer, "manager")
        assert attrs.asdict(made, recurse=False) == {
            "lead_id": "L-1",
            "timer": timer,
            "escalate_to": "manager",
        }

    def test_no_checks_run(self) -> None:
        """The constructor sets what it is given: the caller vouches for it."""
        made = unchecked(TransitionRecord)(None, "lead", AT, "auto", None, None, False)
        assert made.target == "lead"
        assert made.verdict is None
