"""funnelkit: qualify sales leads in Python.

Score what a lead is and does, move it through a guarded funnel, keep the
SLAs that marketing and sales agree on, and measure the pipeline.
Everything public is importable from here; the modules behind it are private.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from funnelkit._duration import BusinessDuration, format_duration, parse_duration
from funnelkit._lead import Activity, Bant, Lead
from funnelkit._public import publish as _publish
from funnelkit._time import Clock, SystemClock
from funnelkit.errors import (
    FunnelkitError,
    FunnelkitWarning,
    NaiveDatetimeError,
    SerializationError,
    ValidationError,
)

__all__ = [
    # -- lead data
    "Activity",
    "Bant",
    # -- time
    "BusinessDuration",
    "Clock",
    # -- errors
    "FunnelkitError",
    "FunnelkitWarning",
    "Lead",
    "NaiveDatetimeError",
    "SerializationError",
    "SystemClock",
    "ValidationError",
    "__version__",
    "format_duration",
    "parse_duration",
]

#: The installed version of funnelkit, from the package metadata.
__version__: str = _version("funnelkit")

_publish(__name__, Activity, Bant, BusinessDuration, Clock, Lead, SystemClock)
