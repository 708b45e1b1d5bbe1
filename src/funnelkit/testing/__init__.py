"""Tools for testing code that uses funnelkit, and funnelkit policies themselves.

:class:`ManualClock` needs nothing beyond funnelkit.
The Hypothesis strategies live in :mod:`funnelkit.testing.strategies` and
need the ``funnelkit[hypothesis]`` extra.
"""

from __future__ import annotations

from funnelkit._public import publish as _publish
from funnelkit.testing._clock import ManualClock

__all__ = ["ManualClock"]

_publish(__name__, ManualClock)
