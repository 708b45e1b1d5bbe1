"""Decay: how a counted activity's points fade with its age, computed when read."""

from __future__ import annotations

import math
from abc import abstractmethod
from datetime import timedelta

import attrs

from funnelkit._duration import format_duration
from funnelkit.errors import PolicyError, ValidationError

__all__ = ["Decay", "HalfLife", "LinearDecay", "StepDecay"]

_ZERO = timedelta(0)


def _positive_period(
    instance: object, attribute: attrs.Attribute[timedelta], value: object
) -> None:
    if not isinstance(value, timedelta) or value <= _ZERO:
        raise PolicyError(
            owner=type(instance).__name__,
            field=attribute.name,
            value=value,
            expected="a timedelta longer than zero",
        )


def _bad_age(instance: Decay, value: object) -> ValidationError:
    return ValidationError(
        owner=f"{type(instance).__name__}.weight",
        field="age_seconds",
        value=value,
        expected="a number of seconds, zero or more (and finite)",
    )


class Decay:
    """The base of the decay kinds: a factor from 1 (new) towards 0 (old)."""

    __slots__ = ()

    @abstractmethod
    def weight(self, age_seconds: float) -> float:
        """Return the share of its points an activity *age_seconds* old keeps.

        The engine passes ages of zero or more seconds; the built-in decays
        refuse any other with a ValidationError naming ``age_seconds``.
        """
        ...

    @abstractmethod
    def describe(self) -> str:
        """Return the decay in words."""
        ...


@attrs.frozen
class HalfLife(Decay):
    """Points halve every *period*: a 30-day half-life leaves 25% after 60 days.

    >>> from datetime import timedelta
    >>> HalfLife(timedelta(days=30)).weight(60 * 86_400)
    0.25
    """

    period: timedelta = attrs.field(validator=_positive_period)

    def weight(self, age_seconds: float) -> float:
        """Return ``0.5 ** (age / period)``."""
        try:
            if age_seconds >= 0:
                return float(0.5 ** (age_seconds / self.period.total_seconds()))
        except (TypeError, OverflowError):
            pass
        raise _bad_age(self, age_seconds)

    def describe(self) -> str:
        """Return the decay in words."""
        return f"half-life {format_duration(self.period)}"


def _share(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not 0 <= value < 1
    ):
        raise PolicyError(
            owner=type(instance).__name__,
            field=attribute.name,
            value=value,
            expected="a number from 0 up to (not including) 1",
        )


@attrs.frozen
class StepDecay(Decay):
    """Points are multiplied by *factor* once every full *every*.

    ``StepDecay(timedelta(days=30), 0.5)`` keeps all points for 30 days, half
    until day 60, a quarter until day 90.

    >>> from datetime import timedelta
    >>> StepDecay(timedelta(days=30), 0.5).weight(45 * 86_400)
    0.5
    """

    every: timedelta = attrs.field(validator=_positive_period)
    factor: float = attrs.field(validator=_share)

    def weight(self, age_seconds: float) -> float:
        """Return ``factor ** floor(age / every)``."""
        try:
            if age_seconds >= 0:
                steps = age_seconds / self.every.total_seconds()
                # An infinite age is past every step: none of the points is left.
                return (
                    0.0
                    if steps == math.inf
                    else float(self.factor ** math.floor(steps))
                )
        except (TypeError, OverflowError):
            pass
        raise _bad_age(self, age_seconds)

    def describe(self) -> str:
        """Return the decay in words."""
        return f"x{self.factor:g} every {format_duration(self.every)}"


@attrs.frozen
class LinearDecay(Decay):
    """Points fade in a straight line to nothing over *period*.

    ``LinearDecay(timedelta(days=60))`` loses half the points in 30 days, the
    way "50% a month" is usually meant, and all of them in 60.

    >>> from datetime import timedelta
    >>> LinearDecay(timedelta(days=60)).weight(15 * 86_400)
    0.75
    """

    period: timedelta = attrs.field(validator=_positive_period)

    def weight(self, age_seconds: float) -> float:
        """Return ``max(0, 1 - age / period)``."""
        try:
            if age_seconds >= 0:
                return max(0.0, 1.0 - age_seconds / self.period.total_seconds())
        except (TypeError, OverflowError):
            pass
        raise _bad_age(self, age_seconds)

    def describe(self) -> str:
        """Return the decay in words."""
        return f"linear to zero over {format_duration(self.period)}"
