"""Every error funnelkit raises, under one root: :class:`FunnelkitError`.

Each error also derives from the builtin exception a caller would expect
(a bad value is a :class:`ValueError`), and carries its data as attributes, so
nobody has to parse the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from funnelkit._events import Event

__all__ = [
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
]


class FunnelkitError(Exception):
    """The root of every error funnelkit raises.

    Catch this to handle any funnelkit problem in one place.
    """

    _kwargs: dict[str, object]

    def _hold(self, **fields: object) -> None:
        """Keep the keyword arguments as attributes, and for pickling."""
        self._kwargs = fields
        for name, value in fields.items():
            setattr(self, name, value)

    def __reduce__(self) -> str | tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which the default pickling
        # (``cls(*args)``) cannot pass: rebuild from the keywords instead.
        kwargs = getattr(self, "_kwargs", None)
        if kwargs is None:
            return super().__reduce__()
        return (_rebuild, (type(self), kwargs))


def _rebuild(cls: type[FunnelkitError], kwargs: dict[str, object]) -> FunnelkitError:
    return cls(**kwargs)


class FunnelkitWarning(UserWarning):
    """The root of every warning funnelkit emits."""


class ValidationError(FunnelkitError, ValueError):
    """A value was rejected where it entered funnelkit.

    Attributes:
        field: The name of the rejected field or argument, e.g. ``"at"`` or
            ``"properties['plan']"``.
        value: The rejected value itself.
        expected: What would have been accepted, in words.
        owner: The name of the type the field belongs to (``"Activity"``), or
            ``None`` for a function argument.
    """

    field: str
    value: object
    expected: str
    owner: str | None

    def __init__(
        self,
        *,
        field: str,
        value: object,
        expected: str,
        owner: str | None = None,
    ) -> None:
        self._hold(field=field, value=value, expected=expected, owner=owner)
        where = f"{owner}.{field}" if owner else field
        super().__init__(f"{where}: expected {expected}, got {_shown(value)}")


def _shown(value: object) -> str:
    """The value's repr, or a description when it has none to give.

    Python refuses to write whole numbers of more than 4,300 digits, and a
    host's object may have a repr that fails: neither may hide the error.
    """
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 -- any failure of a repr: describe instead
        if isinstance(value, int):
            digits = int(value.bit_length() * 0.30103) + 1  # log10(2) per bit
            return f"a whole number of about {digits:,} digits"
        return f"a {type(value).__name__} whose repr failed"


class NaiveDatetimeError(ValidationError):
    """A datetime without a time zone was given where an aware one is required.

    funnelkit never guesses a time zone: attach one, e.g.
    ``datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))``.
    """

    def __init__(self, *, field: str, value: object, owner: str | None = None) -> None:
        super().__init__(
            field=field,
            value=value,
            owner=owner,
            expected="a timezone-aware datetime (funnelkit never assumes a time zone)",
        )
        self._kwargs = {"field": field, "value": value, "owner": owner}


class PolicyError(ValidationError):
    """A policy, or a part of one (a scoring rule, a model), is not valid.

    Raised where the part is built, naming the part, the field, the value and
    what was expected.

    Attributes:
        owner: The part, e.g. ``"ActivityRule 'pricing views'"``.
        field: The field of that part, e.g. ``"max_count"``.
        value: The rejected value.
        expected: What would have been accepted, in words.
    """

    def __init__(
        self, *, owner: str | None, field: str, value: object, expected: str
    ) -> None:
        super().__init__(owner=owner, field=field, value=value, expected=expected)
        where = f"{owner}, {field}" if owner else field
        self.args = (f"{where}: expected {expected}, got {_shown(value)}",)


class PolicyFileError(PolicyError):
    """A policy file (or document data) does not describe a valid policy.

    Every problem found is listed, not only the first, each with the key path
    of the bad value in the file.

    Attributes:
        source: The file's path, or ``None`` for text or data given directly.
        problems: ``(key path, message)`` pairs in the order found, such as
            ``("transitions[2].guard.all[1].score_at_least.points",
            "expected a number within ±1,000,000,000,000, found 'forty'")``;
            the path is ``""`` for the document as a whole.

    The first problem fills the ``field``, ``value`` and ``expected`` of a
    :class:`PolicyError`, for code that reads one.
    """

    source: str | None
    problems: tuple[tuple[str, str], ...]

    def __init__(
        self, *, source: str | None, problems: Sequence[tuple[str, str]]
    ) -> None:
        problems = tuple(problems) or (("", "expected a policy, found nothing"),)
        path, message = problems[0]
        super().__init__(
            owner=source, field=path or "(the whole file)", value=None, expected=message
        )
        self._hold(source=source, problems=problems)
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        where = f"policy file {source}" if source else "policy"
        lines = [
            f"  {path or '(the whole file)'}: {message}" for path, message in problems
        ]
        self.args = (f"{where}: {count} {noun}:\n" + "\n".join(lines),)


class MissingExtraError(FunnelkitError, ImportError):
    """An optional feature needs a package that is not installed.

    Attributes:
        extra: The funnelkit extra that installs it, e.g. ``"holidays"``.
        package: The package, e.g. ``"holidays"``.
        purpose: What needed it, e.g. ``"BusinessCalendar(country=...)"``.
    """

    extra: str
    package: str
    purpose: str

    def __init__(self, *, extra: str, package: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package {package!r}: "
            f"pip install 'funnelkit[{extra}]'"
        )
        self._hold(extra=extra, package=package, purpose=purpose)


class SerializationError(FunnelkitError, ValueError):
    """Data could not be turned into a funnelkit value.

    Every problem found is listed, each with the path of the bad field in the
    input, such as ``activities[3].at``.

    Attributes:
        target: The name of the type that was being built.
        problems: ``(path, message)`` pairs, one per problem, in input order.
            The path is ``""`` for the document as a whole.
    """

    target: str
    problems: tuple[tuple[str, str], ...]

    def __init__(self, *, target: str, problems: Sequence[tuple[str, str]]) -> None:
        self._hold(target=target, problems=tuple(problems))
        lines = [
            f"  {path or '(the whole document)'}: {message}"
            for path, message in self.problems
        ]
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"cannot build {target} from the data ({count} {noun}):\n"
            + "\n".join(lines)
        )


class UnknownLead(FunnelkitError, KeyError):  # noqa: N818 -- the name the design gives
    """The funnel has no lead with this id.

    Attributes:
        lead_id: The id asked for.
    """

    lead_id: object

    def __init__(self, *, lead_id: object) -> None:
        self._hold(lead_id=lead_id)
        super().__init__(f"no lead with id {_shown(lead_id)} in the funnel")

    def __str__(self) -> str:
        # KeyError shows the repr of its argument; show the sentence instead.
        return str(self.args[0])


class IllegalTransition(FunnelkitError, ValueError):  # noqa: N818 -- the name the design gives
    """The policy has no transition between the two stages.

    Attributes:
        lead_id: The lead asked to move.
        source: The stage it is in.
        target: The stage asked for.
        allowed: The stages it could move to from *source*.
    """

    lead_id: str
    source: str
    target: str
    allowed: tuple[str, ...]

    def __init__(
        self, *, lead_id: str, source: str, target: str, allowed: Sequence[str]
    ) -> None:
        self._hold(
            lead_id=lead_id, source=source, target=target, allowed=tuple(allowed)
        )
        options = ", ".join(repr(name) for name in self.allowed) or "nowhere"
        super().__init__(
            f"lead {lead_id!r} cannot move from {source!r} to {target!r}: "
            f"the policy allows {options}"
        )


class GuardFailed(FunnelkitError):  # noqa: N818 -- the name the design gives
    """A move's guard did not pass; the verdict says why.

    Attributes:
        lead_id: The lead asked to move.
        source: The stage it is in.
        target: The stage asked for.
        verdict: The failing verdict (``verdict.explain()`` shows the tree).
    """

    lead_id: str
    source: str
    target: str
    verdict: Any

    def __init__(self, *, lead_id: str, source: str, target: str, verdict: Any) -> None:  # noqa: ANN401 -- a Verdict; errors sit below criteria
        self._hold(lead_id=lead_id, source=source, target=target, verdict=verdict)
        super().__init__(
            f"lead {lead_id!r} cannot move from {source!r} to {target!r}: "
            f"{verdict.reason}"
        )


class StoreError(FunnelkitError):
    """A store could not do what the engine asked of it.

    The call that met it changed nothing: a store applies a change whole or
    not at all.

    Attributes:
        path: The store's file (or other name), e.g. ``"funnel.db"``.
        problem: What went wrong, in words.
    """

    path: str
    problem: str

    def __init__(self, *, path: str, problem: str) -> None:
        self._hold(path=path, problem=problem)
        super().__init__(f"store {path}: {problem}")


class StoreBusy(StoreError, TimeoutError):  # noqa: N818 -- says what the caller meets
    """Another writer held the store for longer than the store waits.

    Only one writer at a time can change a store file; the others wait, up
    to the store's ``timeout``, then get this error. Nothing changed: the
    call can be retried.

    Attributes:
        path: The store's file.
        problem: What went wrong, in words.
        waited: How long the call waited, in seconds.
    """

    waited: float

    def __init__(self, *, path: str, waited: float, problem: str = "") -> None:
        problem = problem or (
            f"another writer held it for longer than {waited:g} s: nothing changed, "
            "the call can be retried (or give the store a longer timeout)"
        )
        super().__init__(path=path, problem=problem)
        self._hold(path=path, waited=waited, problem=problem)


class StoreFormatError(StoreError, ValueError):
    """A file is not a funnelkit store this version can read.

    Raised on open for a file that is not a database, a database of another
    program, a store written by a newer funnelkit, or a damaged one (and
    wherever damage shows later).
    """


class PolicyMismatch(FunnelkitError):  # noqa: N818 -- the name says what happened
    """A store was written under another policy than the funnel opening it.

    The host decides: open the funnel with ``accept_policy_change=True`` to
    go on under the new policy (the store then records its fingerprint with
    the next change), or keep the old policy.

    Attributes:
        policy: The opening policy's label, ``name@version``.
        stored: The fingerprint the store was last written under.
        current: The opening policy's fingerprint.
    """

    policy: str
    stored: str
    current: str

    def __init__(self, *, policy: str, stored: str, current: str) -> None:
        self._hold(policy=policy, stored=stored, current=current)
        super().__init__(
            f"the store was written under another policy (fingerprint "
            f"{stored[:12]}...), not {policy} ({current[:12]}...): pass "
            "accept_policy_change=True to go on under this one"
        )


class SubscriberError(FunnelkitError, ExceptionGroup[Exception]):
    """Subscribers failed while being told of a change that was committed.

    The change stands, every subscriber was called, and this error holds the
    errors they raised (``exceptions``) and the events of the change
    (``events``), which the call would have returned.
    """

    events: tuple[Event, ...]

    def __new__(
        cls,
        message: str,
        exceptions: Sequence[Exception],
        events: Sequence[Event] = (),
    ) -> Self:
        """Make the group, holding *events* as well."""
        made = super().__new__(cls, message, exceptions)
        made.events = tuple(events)
        return made

    def __init__(
        self,
        message: str,
        exceptions: Sequence[Exception],
        events: Sequence[Event] = (),  # noqa: ARG002 -- kept by __new__
    ) -> None:
        super().__init__(message, exceptions)

    def derive(self, excs: Sequence[Exception]) -> SubscriberError:  # type: ignore[override] # narrower
        """Keep the events when ``except*`` splits the group."""
        return SubscriberError(self.message, excs, self.events)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SubscriberError, (self.message, list(self.exceptions), self.events))


class DataFileError(FunnelkitError, ValueError):
    """A row of a data file (CSV or JSON Lines) cannot be read.

    Attributes:
        path: The file.
        line: The line the row starts on (1 for a CSV file's header; a
            quoted CSV cell may hold line breaks), or 0 for the
            file as a whole (one that cannot be read), which the message
            leaves out.
        column: The column, or ``None`` for the row as a whole.
        problem: What is wrong, in words.
    """

    path: str
    line: int
    column: str | None
    problem: str

    def __init__(
        self, *, path: str, line: int, column: str | None, problem: str
    ) -> None:
        self._hold(path=path, line=line, column=column, problem=problem)
        where = path + (f", line {line}" if line else "")
        where += f", column {column!r}" if column else ""
        super().__init__(f"{where}: {problem}")
