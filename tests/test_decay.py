import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    Decay,
    HalfLife,
    LinearDecay,
    PolicyError,
    StepDecay,
    ValidationError,
)

DAY = 86_400
ages = st.floats(min_value=0, max_value=3650 * DAY)


class TestHalfLife:
    def test_halves_each_period(self) -> None:
        """After one half-life half remains, after two a quarter."""
        decay = HalfLife(timedelta(days=30))
        assert decay.weight(0) == 1.0
        assert decay.weight(30 * DAY) == 0.5
        assert decay.weight(90 * DAY) == 0.125
        assert decay.describe() == "half-life 30 days"


class TestStepDecay:
    def test_steps(self) -> None:
        """Points keep full value until each full step passes."""
        decay = StepDecay(timedelta(days=30), 0.5)
        assert [decay.weight(d * DAY) for d in (0, 29, 30, 59, 60)] == [
            1,
            1,
            0.5,
            0.5,
            0.25,
        ]
        assert decay.describe() == "x0.5 every 30 days"

    @pytest.mark.parametrize("factor", [1, 1.5, -0.1, True, "0.5"])
    def test_bad_factor(self, factor: object) -> None:
        """The factor must be from 0 up to 1."""
        with pytest.raises(PolicyError, match="StepDecay, factor"):
            StepDecay(timedelta(days=1), factor)  # type: ignore[arg-type]


class TestLinearDecay:
    def test_straight_line_to_zero(self) -> None:
        """Linear decay loses points evenly and stays at zero after the period."""
        decay = LinearDecay(timedelta(days=60))
        assert decay.weight(15 * DAY) == 0.75
        assert decay.weight(60 * DAY) == 0.0
        assert decay.weight(90 * DAY) == 0.0
        assert decay.describe() == "linear to zero over 60 days"


class TestCommon:
    @pytest.mark.parametrize("kind", [HalfLife, LinearDecay])
    @pytest.mark.parametrize("period", [timedelta(0), timedelta(seconds=-1), 30, None])
    def test_bad_periods(self, kind: type[Decay], period: object) -> None:
        """Zero, negative or non-timedelta periods are PolicyErrors naming the field."""
        with pytest.raises(PolicyError, match=f"{kind.__name__}, period"):
            kind(period)  # type: ignore[call-arg]

    def test_step_bad_every(self) -> None:
        """StepDecay's step must be positive."""
        with pytest.raises(PolicyError, match="StepDecay, every"):
            StepDecay(timedelta(0), 0.5)

    @given(
        st.sampled_from(
            [
                HalfLife(timedelta(days=7)),
                StepDecay(timedelta(days=7), 0.5),
                LinearDecay(timedelta(days=30)),
            ]
        ),
        ages,
        ages,
    )
    def test_weight_never_grows_with_age(
        self, decay: Decay, a: float, b: float
    ) -> None:
        """An older activity never weighs more, and weights stay in [0, 1]."""
        young, old = sorted((a, b))
        assert 0 <= decay.weight(old) <= decay.weight(young) <= 1

    @pytest.mark.parametrize(
        "decay",
        [
            HalfLife(timedelta(days=7)),
            StepDecay(timedelta(days=7), 0.5),
            StepDecay(timedelta(days=7), 0),
            LinearDecay(timedelta(days=30)),
        ],
    )
    def test_an_infinite_age_keeps_nothing(self, decay: Decay) -> None:
        """An activity infinitely old weighs 0, whatever the decay."""
        assert decay.weight(math.inf) == 0.0

    @pytest.mark.parametrize(
        "decay",
        [
            HalfLife(timedelta(days=7)),
            StepDecay(timedelta(days=7), 0.5),
            LinearDecay(timedelta(days=30)),
        ],
    )
    @pytest.mark.parametrize(
        "age", [-1, -0.5, math.nan, -math.inf, "60", None, timedelta(days=1), 10**400]
    )
    def test_bad_ages_are_named(self, decay: Decay, age: object) -> None:
        """A negative, NaN, huge or non-number age is a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            decay.weight(age)  # type: ignore[arg-type]
        assert info.value.field == "age_seconds"
        assert info.value.owner == f"{type(decay).__name__}.weight"
