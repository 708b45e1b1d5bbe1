import math
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Self

import attrs
import pytest
from hypothesis import given

from funnelkit import (
    ActivityRule,
    AttributeRule,
    Contribution,
    FunnelkitError,
    Grades,
    Lead,
    LeadAdded,
    Score,
    ScoreAtLeast,
    ScoringModel,
    SlaBreached,
    SlaTimer,
    TransitionRecord,
    between,
    equals,
)
from funnelkit._frozen import FrozenMap
from funnelkit._validators import filler, is_finite, unchecked
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

    def test_made_is_an_instance_of_the_class_itself(self) -> None:
        """What it makes is of the class exactly, frozen, and alike in every way."""
        record = TransitionRecord(source=None, target="lead", at=AT, by="auto")
        made = unchecked(TransitionRecord)(None, "lead", AT, "auto", None, None, False)
        assert type(made) is TransitionRecord
        assert (made, hash(made), repr(made)) == (record, hash(record), repr(record))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            made.by = "someone"  # type: ignore[misc] # frozen: what the test checks
        assert pickle.loads(pickle.dumps(made)) == record  # noqa: S301 -- our own bytes

    def test_a_field_worded_when_read_is_set_as_its_slot(self) -> None:
        """A score's dimensions given as a dict are worded when read, as attrs' are."""
        made = unchecked(Score)(
            "model", "L-1", AT, {"fit": 1.0, "total": 1.0}, "D", "cold", (), ()
        )
        assert type(made) is Score
        assert type(made.dimensions) is FrozenMap
        assert made.dimensions == {"fit": 1.0, "total": 1.0}

    @pytest.mark.parametrize("cls", [Score, TransitionRecord, SlaBreached, LeadAdded])
    def test_the_filler_adds_no_slot(self, cls: type) -> None:
        """The filler shares its class's layout: Python allows the change of class."""
        fill = filler(cls)
        assert issubclass(fill, cls)
        assert fill.__basicsize__ == cls.__basicsize__
        assert fill.__slots__ == ()  # type: ignore[attr-defined] # a class made by type()

    def test_a_class_that_makes_its_instances_has_no_filler(self) -> None:
        """A class with its own __new__ is refused: the filler would bypass it."""

        class Interned:
            __slots__ = ("value",)

            def __new__(cls) -> Self:
                return super().__new__(cls)

        with pytest.raises(TypeError, match="Interned makes its instances itself"):
            filler(Interned)


_PAST_FLOATS = 10**400  # a whole number beyond a float's range (1.8e308)


class TestIsFinite:
    @pytest.mark.parametrize(
        ("value", "finite"),
        [
            (1, True),
            (1.5, True),
            (math.inf, False),
            (math.nan, False),
            (_PAST_FLOATS, False),
            (-_PAST_FLOATS, False),
            (10**308, True),
        ],
    )
    def test_finite_as_a_float_holds_it(self, value: float, finite: bool) -> None:
        """An int past a float's range is not finite, where math.isfinite raises."""
        assert is_finite(value) is finite

    @pytest.mark.parametrize(
        "make",
        [
            lambda n: ActivityRule("k", n),
            lambda n: AttributeRule("a", equals(1), n),
            lambda n: between(0, n),
            ScoreAtLeast,
            lambda n: Grades(fit=[("A", n), ("B", None)]),
            lambda n: ScoringModel("m", [ActivityRule("k", 1)], limits={"fit": (0, n)}),
            lambda n: Contribution(rule="r", dimension="fit", points=n),
            lambda n: Score(
                model="m",
                lead_id="L-1",
                at=AT,
                dimensions={"fit": n},
                grade="A",
                band="A1",
                contributions=(),
            ),
        ],
    )
    def test_points_past_a_float_are_refused(
        self, make: Callable[[int], object]
    ) -> None:
        """Points, bounds, limits past a float's range: our error, not OverflowError."""
        with pytest.raises(FunnelkitError):
            make(_PAST_FLOATS)
