"""Tools for testing code that uses funnelkit, and funnelkit policies themselves.

:class:`ManualClock` is a clock that moves only when a test moves it;
:class:`Scenario` tells a lead's story against a policy and checks what the
funnel made of it; :func:`check_policy` runs a table of :class:`Case` rows
and returns every :class:`Mismatch`. They need nothing beyond funnelkit.
The Hypothesis strategies live in :mod:`funnelkit.testing.strategies` and
need the ``funnelkit[hypothesis]`` extra; the pytest fixtures
``funnel_clock`` and ``scenario`` come with pytest itself, from the plugin
:mod:`funnelkit.testing.pytest_plugin` that installing funnelkit registers.
"""

from __future__ import annotations

from funnelkit._public import publish as _publish
from funnelkit.testing._clock import ManualClock
from funnelkit.testing._scenario import Case, Mismatch, Scenario, check_policy

__all__ = ["Case", "ManualClock", "Mismatch", "Scenario", "check_policy"]

_publish(__name__, Case, ManualClock, Mismatch, Scenario)
