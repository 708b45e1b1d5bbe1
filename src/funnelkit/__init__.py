"""funnelkit: qualify sales leads in Python.

Score what a lead is and does, move it through a guarded funnel, keep the
SLAs that marketing and sales agree on, and measure the pipeline.
Everything public is importable from here; the modules behind it are private.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from funnelkit._criteria import (
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    AttributeIs,
    BantQualified,
    Context,
    Criterion,
    CriterionLike,
    DidActivity,
    GradeAtLeast,
    InStageFor,
    Not,
    ScoreAtLeast,
    TransitionRecord,
    Verdict,
)
from funnelkit._decay import Decay, HalfLife, LinearDecay, StepDecay
from funnelkit._duration import BusinessDuration, format_duration, parse_duration
from funnelkit._lead import Activity, Bant, Lead
from funnelkit._predicates import (
    MISSING,
    ValueTest,
    absent,
    between,
    equals,
    matches,
    one_of,
    present,
)
from funnelkit._public import publish as _publish
from funnelkit._rules import ActivityRule, AttributeRule, email_domain
from funnelkit._scoring import Contribution, Grades, Score, ScoreState, ScoringModel
from funnelkit._time import Clock, SystemClock
from funnelkit.errors import (
    FunnelkitError,
    FunnelkitWarning,
    NaiveDatetimeError,
    PolicyError,
    SerializationError,
    ValidationError,
)

__all__ = [
    # -- lead data
    "Activity",
    "Bant",
    "Lead",
    # -- time
    "BusinessDuration",
    "Clock",
    "SystemClock",
    "format_duration",
    "parse_duration",
    # -- scoring
    "ActivityRule",
    "AttributeRule",
    "Contribution",
    "Decay",
    "Grades",
    "HalfLife",
    "LinearDecay",
    "MISSING",
    "Score",
    "ScoreState",
    "ScoringModel",
    "StepDecay",
    "ValueTest",
    "absent",
    "between",
    "email_domain",
    "equals",
    "matches",
    "one_of",
    "present",
    # -- criteria
    "AllOf",
    "Always",
    "AnyOf",
    "AtLeast",
    "AttributeIs",
    "BantQualified",
    "Context",
    "Criterion",
    "CriterionLike",
    "DidActivity",
    "GradeAtLeast",
    "InStageFor",
    "Not",
    "ScoreAtLeast",
    "TransitionRecord",
    "Verdict",
    # -- errors
    "FunnelkitError",
    "FunnelkitWarning",
    "NaiveDatetimeError",
    "PolicyError",
    "SerializationError",
    "ValidationError",
    # -- metadata
    "__version__",
]

#: The installed version of funnelkit, from the package metadata.
__version__: str = _version("funnelkit")

# Every class re-exported from a private module is presented as funnelkit.X
# (the public modules, such as funnelkit.errors, keep their own names).
_publish(
    __name__,
    *(
        value
        for value in map(globals().get, __all__)
        if isinstance(value, type) and value.__module__.startswith("funnelkit._")
    ),
)
