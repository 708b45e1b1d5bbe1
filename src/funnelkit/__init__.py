"""funnelkit: qualify sales leads in Python.

Score what a lead is and does, move it through a guarded funnel, keep the
SLAs that marketing and sales agree on, and measure the pipeline.
Everything public is importable from here; the modules behind it are private.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from funnelkit._calendar import BusinessCalendar, BusinessHours, Holiday
from funnelkit._config import (
    CriteriaRegistry,
    PolicyChange,
    diff_policies,
    dump_policy,
    load_policy,
)
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
from funnelkit._events import (
    ActivityRecorded,
    AddLead,
    Event,
    Input,
    LeadAdded,
    LeadState,
    LeadUpdated,
    Move,
    PauseTimer,
    ResumeTimer,
    ScoreChanged,
    SlaBreached,
    SlaCancelled,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
    StageChanged,
    Tick,
    UpdateLead,
)
from funnelkit._funnel import Funnel
from funnelkit._lead import Activity, Bant, Lead
from funnelkit._policy import ANY_OPEN, FunnelPolicy, Stage, StageKind, Transition
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
from funnelkit._sla import EXIT, Escalate, MoveTo, OnBreach, SlaRule, SlaTimer
from funnelkit._sqlite import SQLiteStore
from funnelkit._store import Commit, InMemoryStore, Store
from funnelkit._time import Clock, SystemClock
from funnelkit.errors import (
    DataFileError,
    FunnelkitError,
    FunnelkitWarning,
    GuardFailed,
    IllegalTransition,
    MissingExtraError,
    NaiveDatetimeError,
    PolicyError,
    PolicyFileError,
    PolicyMismatch,
    SerializationError,
    StoreBusy,
    StoreError,
    StoreFormatError,
    SubscriberError,
    UnknownLead,
    ValidationError,
)

__all__ = [
    # -- lead data
    "Activity",
    "Bant",
    "Lead",
    # -- time
    "BusinessCalendar",
    "BusinessDuration",
    "BusinessHours",
    "Clock",
    "Holiday",
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
    # -- funnel
    "ANY_OPEN",
    "ActivityRecorded",
    "AddLead",
    "Commit",
    "Event",
    "Funnel",
    "FunnelPolicy",
    "InMemoryStore",
    "Input",
    "LeadAdded",
    "LeadState",
    "LeadUpdated",
    "Move",
    "PauseTimer",
    "ResumeTimer",
    "SQLiteStore",
    "ScoreChanged",
    "Stage",
    "StageChanged",
    "StageKind",
    "Store",
    "Tick",
    "Transition",
    "UpdateLead",
    # -- SLA
    "EXIT",
    "Escalate",
    "MoveTo",
    "OnBreach",
    "SlaBreached",
    "SlaCancelled",
    "SlaMet",
    "SlaPaused",
    "SlaResumed",
    "SlaRule",
    "SlaStarted",
    "SlaTimer",
    "SlaWarning",
    # -- policy files
    "CriteriaRegistry",
    "PolicyChange",
    "diff_policies",
    "dump_policy",
    "load_policy",
    # -- errors
    "DataFileError",
    "FunnelkitError",
    "FunnelkitWarning",
    "GuardFailed",
    "IllegalTransition",
    "MissingExtraError",
    "NaiveDatetimeError",
    "PolicyError",
    "PolicyFileError",
    "PolicyMismatch",
    "SerializationError",
    "StoreBusy",
    "StoreError",
    "StoreFormatError",
    "SubscriberError",
    "UnknownLead",
    "ValidationError",
    # -- metadata
    "__version__",
]

if TYPE_CHECKING:
    #: The installed version of funnelkit, from the package metadata.
    __version__: str
else:

    def __getattr__(name: str) -> str:
        """Read ``__version__`` from the package metadata when first asked.

        Reading it takes ``importlib.metadata``, about a tenth of the time
        ``import funnelkit`` takes otherwise: only the hosts that ask pay it.
        """
        if name != "__version__":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from importlib.metadata import version  # noqa: PLC0415 -- see above

        found = globals()["__version__"] = version("funnelkit")
        return found


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
