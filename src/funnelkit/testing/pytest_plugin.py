"""pytest fixtures for tests of funnelkit policies: ``funnel_clock`` and ``scenario``.

Installing funnelkit registers this module as the pytest plugin
``funnelkit`` (entry point ``pytest11``), so a project's tests use the
fixtures without importing anything; ``-p no:funnelkit`` turns it off.

>>> FUNNEL_CLOCK_START.isoformat()
'2026-03-02T09:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Protocol

import pytest

from funnelkit._policy import FunnelPolicy
from funnelkit._time import in_utc
from funnelkit.errors import ValidationError
from funnelkit.testing._clock import ManualClock
from funnelkit.testing._scenario import _DEFAULT_START, Scenario

__all__ = ["FUNNEL_CLOCK_START", "ScenarioFactory", "funnel_clock", "scenario"]

#: The instant the ``funnel_clock`` fixture shows: Monday 2 March 2026, 09:00 UTC.
FUNNEL_CLOCK_START = _DEFAULT_START.replace(tzinfo=UTC)


class ScenarioFactory(Protocol):
    """The ``scenario`` fixture: makes a :class:`~funnelkit.testing.Scenario`."""

    def __call__(
        self,
        policy: FunnelPolicy,
        *,
        start: datetime | str | None = None,
        timezone: str | tzinfo | None = None,
    ) -> Scenario:
        """Return a scenario of *policy* driving the test's ``funnel_clock``."""
        ...


@pytest.fixture
def funnel_clock() -> ManualClock:
    """A :class:`~funnelkit.testing.ManualClock` at :data:`FUNNEL_CLOCK_START`.

    A new clock for each test, standing at Monday 2 March 2026, 09:00 UTC
    until the test moves it.
    """
    return ManualClock(FUNNEL_CLOCK_START)


@pytest.fixture
def scenario(funnel_clock: ManualClock) -> ScenarioFactory:
    """Make scenarios that drive the test's ``funnel_clock``.

    ``scenario(policy, start=None, timezone=None)`` returns a
    :class:`~funnelkit.testing.Scenario` on ``funnel_clock``: it starts at
    the clock's time (09:00 UTC, unless the test moved the clock), or at
    *start*, which sets the clock. Scenarios made in one test share the
    clock, so moving one moves the others' "now" (and the next step of
    another first brings its funnel up to it: its timers fall due on the
    way, as its own ``at`` would have them); time never goes back, so
    a later scenario's *start* may not be earlier than the clock's time
    (a ``ValidationError`` says so).
    """
    made: list[Scenario] = []

    def make(
        policy: FunnelPolicy,
        *,
        start: datetime | str | None = None,
        timezone: str | tzinfo | None = None,
    ) -> Scenario:
        before = funnel_clock.now()
        built = Scenario(policy, start=start, timezone=timezone, clock=funnel_clock)
        if made and in_utc(funnel_clock.now()) < in_utc(before):
            funnel_clock.set(before)
            raise ValidationError(
                owner="scenario",
                field="start",
                value=start,
                expected=(
                    f"an instant no earlier than the shared funnel_clock "
                    f"({before.isoformat()}): the test's other scenarios "
                    "would go back in time"
                ),
            )
        made.append(built)
        return built

    return make
