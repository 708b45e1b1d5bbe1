"""Criteria: the guards of the funnel's transitions, each explaining its verdict."""

from __future__ import annotations

import abc
import contextlib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import attrs

from funnelkit._duration import format_duration
from funnelkit._lead import Activity, Lead, time_order
from funnelkit._predicates import MISSING, ValueTest
from funnelkit._rules import (
    attribute_name,
    is_kind_set,
    kind_set,
    number_text,
    path_expected,
    set_repr,
    to_value_test,
    value_getter,
)
from funnelkit._scoring import (
    Grades,
    Score,
    ScoreState,
    ScoringModel,
    _micros,
    _num,
    _r,
)
from funnelkit._time import (
    _EDGE_YEARS,
    add_elapsed_or_never,
    elapsed,
    in_utc,
    is_zone_name,
    require_aware,
    span_micros,
)
from funnelkit._validators import (
    as_tuple,
    aware_datetime,
    flag,
    instance_of,
    is_finite_number,
    is_items,
    items_of,
    non_empty_str,
    optional,
    reject,
    unchecked,
)
from funnelkit.errors import NaiveDatetimeError, PolicyError, ValidationError

__all__ = [
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
]

_TICK = timedelta(microseconds=1)  # the smallest step of a datetime
_NO_TIME = timedelta(0)
_DAY = timedelta(days=1)
_VERDICT_CACHE = 1024  # verdicts a criterion keeps by value, at most


def _reject(
    instance: object, attribute: attrs.Attribute[Any], value: object, expected: str
) -> NoReturn:
    reject(instance, attribute, value, expected, error=PolicyError)


# -- Verdicts and the context they are reached in ------------------------------


def _verdicts(value: Iterable[Verdict]) -> tuple[Verdict, ...]:
    """The children as a tuple; anything else as it is, for the validator to reject."""
    candidate: object = value  # callers may pass anything at run time
    if isinstance(candidate, Iterable) and not isinstance(candidate, str):
        return tuple(candidate)
    return candidate  # type: ignore[return-value] # rejected by the validator


def _check_passed(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if type(value) is not bool:
        reject(instance, attribute, value, "True or False")


def _check_reason(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, str):
        reject(instance, attribute, value, "a sentence saying why (a string)")


def _check_children(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if type(value) is not tuple or not all(isinstance(v, Verdict) for v in value):
        reject(
            instance, attribute, value, "the verdicts of the criteria (Verdict objects)"
        )


@attrs.frozen(kw_only=True)
class Verdict:
    """What a criterion decided, and why.

    Attributes:
        passed: Whether the criterion passed.
        criterion: What the criterion asks, in words
            (``"engagement score at least 50"``).
        reason: Why it passed or failed, as a sentence a sales rep understands
            (``"engagement score 42 is below 50"``).
        children: The verdicts of a combinator's criteria, in their order.

    A verdict is true when it passed, so ``if funnel.can_move(...)`` reads well.

    >>> verdict = Verdict(passed=False, criterion="fit", reason="grade C is below B")
    >>> bool(verdict), verdict.reason
    (False, 'grade C is below B')
    """

    passed: bool = attrs.field(validator=_check_passed)
    criterion: str = attrs.field(validator=non_empty_str)
    reason: str = attrs.field(validator=_check_reason)
    children: tuple[Verdict, ...] = attrs.field(
        default=(), converter=_verdicts, validator=_check_children
    )

    def __bool__(self) -> bool:
        return self.passed

    def failures(self) -> tuple[Verdict, ...]:
        """Return the failed verdicts with no failed children: what to fix."""
        if self.passed:
            return ()
        below = tuple(leaf for child in self.children for leaf in child.failures())
        return below or (self,)

    def explain(self) -> str:
        """Render the verdict and its children as an indented tree."""
        lines: list[str] = []
        self._explain(lines, 0)
        return "\n".join(lines)

    def _explain(self, lines: list[str], depth: int) -> None:
        mark = "passed" if self.passed else "failed"
        lines.append(f"{'  ' * depth}{mark}: {self.criterion}: {self.reason}")
        for child in self.children:
            child._explain(lines, depth + 1)  # noqa: SLF001 -- same class


def _verdict(
    *,
    passed: bool,
    criterion: str,
    reason: str,
    children: tuple[Verdict, ...] = (),
) -> Verdict:
    """Build a verdict from parts a built-in criterion made right (no checks)."""
    return _new_verdict(passed, criterion, reason, children)


_new_verdict = unchecked(Verdict)


@attrs.frozen(kw_only=True)
class TransitionRecord:
    """One move of a lead from stage to stage, as the history keeps it.

    Attributes:
        source: The stage left, or ``None`` for the lead's first stage.
        target: The stage entered.
        at: When.
        by: ``"auto"`` for a move the policy made, else the actor's name.
        reason: Why, in the actor's words or as a reason code.
        verdict: The guard's verdict that allowed the move (or, for an
            override, the failing verdict it overrode).
        override: Whether a person forced the move past its guard.
    """

    source: str | None = attrs.field(validator=attrs.validators.optional(non_empty_str))
    target: str = attrs.field(validator=non_empty_str)
    at: datetime = attrs.field(validator=aware_datetime)
    by: str = attrs.field(validator=non_empty_str)
    reason: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(non_empty_str)
    )
    verdict: Verdict | None = attrs.field(
        default=None, validator=optional(instance_of(Verdict, "a Verdict or None"))
    )
    override: bool = attrs.field(default=False, validator=flag)


def _activities(value: Iterable[Activity]) -> tuple[Activity, ...]:
    given: object = value  # checked at run time, whatever the types say
    if not is_items(given):
        return given  # type: ignore[return-value] # for the validator to refuse
    items = tuple(given)
    if not all(isinstance(item, Activity) for item in items):
        return items  # for the validator to refuse
    return tuple(sorted(items, key=time_order))


@attrs.frozen(kw_only=True)
class Context:
    """What a criterion may look at: one lead, as of one instant.

    Attributes:
        lead: The lead.
        stage: Its current stage.
        entered_at: When it entered that stage.
        score: Its score as of ``now``.
        activities: Its activities up to ``now``, oldest first.
        history: Its moves so far, oldest first.
        now: The instant of the decision.
        scorer: The lead's incremental scorer, which can read the score at a
            later instant with no new activity (the engine supplies it, so
            that :class:`ScoreAtLeast` can tell when decay will cross its
            threshold), and whose model's grades :class:`GradeAtLeast`
            ranks in; ``None`` when unknown. It takes no part in equality
            or serialization.
    """

    lead: Lead = attrs.field(validator=instance_of(Lead, "a Lead"))
    stage: str = attrs.field(validator=non_empty_str)
    entered_at: datetime = attrs.field(validator=aware_datetime)
    score: Score = attrs.field(validator=instance_of(Score, "a Score"))
    activities: tuple[Activity, ...] = attrs.field(
        default=(),
        converter=_activities,
        validator=items_of(Activity, "activities (Activity values)"),
    )
    history: tuple[TransitionRecord, ...] = attrs.field(
        default=(),
        converter=as_tuple,
        validator=items_of(TransitionRecord, "moves (TransitionRecord values)"),
    )
    now: datetime = attrs.field(validator=aware_datetime)
    scorer: ScoreState | None = attrs.field(default=None, eq=False, repr=False)


# -- The criterion protocol, its base class and the combinators ---------------


@runtime_checkable
class CriterionLike(Protocol):
    """Anything with ``check(ctx) -> Verdict`` is a criterion.

    It may also have ``wake_at(ctx) -> datetime | None``: the instant its
    verdict can next change without new input (see :meth:`Criterion.wake_at`),
    ``passes(ctx) -> bool``: the verdict's outcome without its words (see
    :meth:`Criterion.passes`), and ``describe() -> str``: what it asks, in
    words, by which combinators name it (else by its class's name).
    """

    def check(self, ctx: Context, /) -> Verdict:
        """Decide, and say why."""
        ...  # pragma: no cover -- a protocol's signature


def _require_context(criterion: object, method: str, ctx: object) -> None:
    """Refuse a *ctx* that is no Context, naming the criterion's method.

    Criteria read the lead, its stage, score, activities and ``now`` from
    their context: anything else would fail inside them, or pass unread.
    """
    if not isinstance(ctx, Context):
        raise ValidationError(
            owner=f"{type(criterion).__name__}.{method}",
            field="ctx",
            value=ctx,
            expected=(
                "a funnelkit.Context (the lead, its stage, entry, score, "
                "activities, history and now)"
            ),
        )


def _require_criterion(owner: str, field: str, value: object) -> CriterionLike:
    if not callable(getattr(value, "check", None)):
        raise PolicyError(
            owner=owner,
            field=field,
            value=value,
            expected="a criterion: an object with a check(ctx) method",
        )
    return value  # type: ignore[return-value] # checked just above


def wake_at(criterion: CriterionLike, ctx: Context) -> datetime | None:
    """Return when *criterion*'s verdict can next change without new input.

    Raises:
        NaiveDatetimeError: its ``wake_at`` returned a naive datetime.
        PolicyError: its ``wake_at`` returned something else than an aware
            datetime or ``None``.
    """
    method = getattr(criterion, "wake_at", None)
    if not callable(method):
        return None
    found = method(ctx)
    if found is None or (
        type(found) is datetime
        and found.utcoffset() is not None
        and found.year not in _EDGE_YEARS
    ):
        return found  # the usual answers, checked without a call each
    return _checked_wake(criterion, found)


def _checked_wake(criterion: CriterionLike, found: object) -> datetime:
    """Return *found*, which *criterion*'s ``wake_at`` gave, if it is an instant.

    Raises:
        NaiveDatetimeError: it is a naive datetime.
        PolicyError: it is not an aware datetime the engine can hold.
    """
    owner = f"criterion {describe(criterion)!r}"
    try:
        return require_aware(found, field="wake_at()", owner=owner)
    except NaiveDatetimeError:
        raise
    except ValidationError as error:
        raise PolicyError(
            owner=owner,
            field="wake_at()",
            value=found,
            expected=f"None or {error.expected}",
        ) from None


def passes(criterion: CriterionLike, ctx: Context) -> bool:
    """Return whether *criterion* passes (its ``passes``, else its verdict's).

    Raises:
        PolicyError: its ``passes`` returned something else than a bool.
    """
    method = getattr(criterion, "passes", None)
    if method is None:
        return verdict_of(criterion, ctx).passed
    found = method(ctx)
    if found is True or found is False:
        return found
    return _checked_pass(criterion, found)


def judge(criterion: CriterionLike) -> Callable[[Lead], Verdict] | None:
    """A function of a lead giving *criterion*'s verdict, if it reads only the lead.

    For a guard the engine's quick move asks: :class:`AttributeIs` and
    :class:`Always` (built-in, not subclassed: a subclass's check may read
    more) read nothing of their context but the lead, so they are asked
    without one, and without the lead's score made for it. None for any
    other criterion: it is asked with a context.
    """
    kind = type(criterion)
    if kind is AttributeIs:
        return _attribute_judge(criterion)  # type: ignore[arg-type] # an AttributeIs
    if kind is Always:
        return _always
    return None


def _attribute_judge(criterion: AttributeIs) -> Callable[[Lead], Verdict]:
    """AttributeIs._judge as a function of the lead, its reader and verdicts at hand.

    The verdict found for the value (keyed as ``_judge`` keys it) is
    returned as it is; a value not met yet is judged by ``_judge``, which
    words and keeps its verdict.
    """
    verdicts = criterion._verdicts  # noqa: SLF001 -- same module
    judged = criterion._judge  # noqa: SLF001 -- as above
    name = attribute_name(criterion.attribute)
    if name is not None:
        # value_getter's read of an attribute, written out: a call less.
        def judge_attribute(lead: Lead) -> Verdict:
            value = lead.attributes._data.get(name, MISSING)  # type: ignore[attr-defined] # noqa: SLF001 -- a FrozenMap's dict
            kind = type(value)
            found = verdicts.get(
                (kind, value if kind is not float or value else repr(value))
            )
            return judged(lead) if found is None else found

        return judge_attribute
    read = value_getter(criterion.attribute)

    def judge(lead: Lead) -> Verdict:
        value = read(lead)
        kind = type(value)
        found = verdicts.get(
            (kind, value if kind is not float or value else repr(value))
        )
        return judged(lead) if found is None else found

    return judge


def _always(lead: Lead) -> Verdict:
    """Always's verdict, on any lead."""
    return _ALWAYS


_ALWAYS = _verdict(passed=True, criterion="always", reason="nothing is required")


def passer(criterion: CriterionLike) -> Callable[[Context], bool]:
    """Return a function of a context that gives ``passes(criterion, ctx)``.

    For a guard the engine asks again and again: the built-in criteria's own
    ``passes`` (which return a bool) is called directly, and ``AllOf`` and
    ``AnyOf`` of them stop at the first child that decides, without the
    checks and calls each level of :func:`passes` makes. Any other criterion
    (a subclass of a built-in included: its ``passes`` may be its own) goes
    through :func:`passes`.

    When every child of an ``AllOf`` or ``AnyOf`` is a built-in criterion,
    those that read the score (its points, its grade) or nothing are asked
    before the others (which read the activities, the answers or the clock):
    the answer is the same in any order, and the first child that decides
    often spares the longer read. A verdict (``check``) keeps the declared
    order.
    """
    if type(criterion) in _TRUSTED_PASSES and isinstance(criterion, Criterion):
        return criterion.passes
    if type(criterion) is AllOf:
        return functools.partial(_all_pass, _children(criterion.criteria))
    if type(criterion) is AnyOf:
        return functools.partial(_any_pass, _children(criterion.criteria))
    return functools.partial(passes, criterion)


def _children(
    criteria: tuple[CriterionLike, ...],
) -> tuple[Callable[[Context], bool], ...]:
    """Compile a combinator's children, quick reads first when all are built-in."""
    if all(type(child) in _TRUSTED_PASSES for child in criteria):
        criteria = tuple(
            sorted(criteria, key=lambda child: type(child) not in _QUICK_PASSES)
        )
    return tuple(map(passer, criteria))


def _all_pass(children: tuple[Callable[[Context], bool], ...], ctx: Context) -> bool:
    for child in children:  # noqa: SIM110 -- cheaper than a generator
        if not child(ctx):
            return False
    return True


def _any_pass(children: tuple[Callable[[Context], bool], ...], ctx: Context) -> bool:
    for child in children:  # noqa: SIM110 -- cheaper than a generator
        if child(ctx):
            return True
    return False


def _checked_pass(criterion: CriterionLike, found: object) -> bool:
    """Return *found*, which *criterion*'s ``passes`` gave, if it is a bool.

    numpy's bool is one too. Anything else (``None`` from a ``passes`` that
    forgot to return) would read as a verdict the criterion never gave.

    Raises:
        PolicyError: it is not.
    """
    kind = type(found)
    if kind.__module__ == "numpy" and kind.__name__ == "bool":
        return bool(found)
    raise PolicyError(
        owner=f"criterion {describe(criterion)!r}",
        field="passes()",
        value=found,
        expected="True or False, as its check() decides",
    )


def verdict_of(criterion: CriterionLike, ctx: Context) -> Verdict:
    """Return *criterion*'s verdict in *ctx*, checked to be one.

    Raises:
        PolicyError: its ``check`` returned something else than a Verdict.
    """
    verdict = criterion.check(ctx)
    if type(verdict) is not Verdict:
        return checked(criterion, verdict)
    return verdict


def checked(criterion: CriterionLike, verdict: object) -> Verdict:
    """Return *verdict*, which *criterion*'s ``check`` gave, if it is a Verdict.

    Raises:
        PolicyError: it is not.
    """
    if not isinstance(verdict, Verdict):
        raise PolicyError(
            owner=f"criterion {describe(criterion)!r}",
            field="check()",
            value=verdict,
            expected="a funnelkit.Verdict (passed, criterion, reason)",
        )
    return verdict


def timed(criterion: CriterionLike, model: ScoringModel, *, passed: bool) -> bool:
    """Whether time alone may change *criterion*'s verdict, when it *passed*.

    Under *model*: a failing score can rise by waiting only if negative
    points fade, a passing one fall only if positive points do. The engine
    asks for the wakes of failing guards that are timed, and only those. A
    criterion that cannot say (no ``_timed``) is timed when it has a
    ``wake_at``.
    """
    known = getattr(criterion, "_timed", None)
    if known is not None:
        return bool(known(model, passed))
    return callable(getattr(criterion, "wake_at", None))


def describe(criterion: CriterionLike) -> str:
    """Return what *criterion* asks, in words (its ``describe()``, or its class)."""
    method = getattr(criterion, "describe", None)
    if callable(method):
        return str(method())
    return type(criterion).__name__


class Criterion(abc.ABC):
    """A base for criteria: adds ``&``, ``|`` and ``~``, and a default ``wake_at``.

    Subclasses write :meth:`check`; a criterion whose verdict can change with
    time alone (a window, a time in stage) also writes :meth:`wake_at`, so the
    engine re-checks it on time instead of scanning every lead.

    >>> from funnelkit import Always
    >>> combined = Always() & ~Always()
    >>> combined.describe()
    'all of: always; not: always'
    """

    __slots__ = ()

    @abc.abstractmethod
    def check(self, ctx: Context) -> Verdict:
        """Decide for the lead in *ctx*, and say why."""
        ...

    def wake_at(self, ctx: Context) -> datetime | None:
        """Return the instant the verdict can next change without new input.

        ``None`` (the default) means only new input can change it. An
        answer may come early (the engine re-checks, and asks again); the
        built-ins are exact, but for the score and grade criteria, which are
        never more than a second late. An answer not later than ``ctx.now``
        is taken as ``None`` (by the engine, and by the combinators, where it
        hides no other criterion's wake). Any other answer than ``None`` or an
        aware datetime makes the engine's call raise
        :class:`~funnelkit.NaiveDatetimeError` (a naive one) or
        :class:`~funnelkit.PolicyError`, and change nothing.
        """
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        return None

    def passes(self, ctx: Context) -> bool:
        """Return whether the criterion passes, without saying why.

        The engine asks this of the guards it tries and words a verdict only
        for a move it makes. The default is ``self.check(ctx).passed``; a
        criterion whose answer is cheaper than its explanation overrides it,
        and must always agree with :meth:`check` and answer ``True`` or
        ``False``: the engine raises a :class:`~funnelkit.PolicyError` for
        anything else.
        """
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        return verdict_of(self, ctx).passed

    def _timed(self, model: ScoringModel, passed: bool) -> bool:  # noqa: ARG002 -- see subclasses
        """Whether time alone may change the verdict: when ``wake_at`` is written."""
        return type(self).wake_at is not Criterion.wake_at

    def describe(self) -> str:
        """Return what the criterion asks, in words."""
        return type(self).__name__

    def __and__(self, other: CriterionLike) -> AllOf:
        return AllOf(*_flat(AllOf, self), *_flat(AllOf, other))

    def __rand__(self, other: CriterionLike) -> AllOf:
        return AllOf(*_flat(AllOf, other), *_flat(AllOf, self))

    def __or__(self, other: CriterionLike) -> AnyOf:
        return AnyOf(*_flat(AnyOf, self), *_flat(AnyOf, other))

    def __ror__(self, other: CriterionLike) -> AnyOf:
        return AnyOf(*_flat(AnyOf, other), *_flat(AnyOf, self))

    def __invert__(self) -> Criterion:
        return Not(self)


def _flat(kind: type[AllOf | AnyOf], criterion: object) -> tuple[CriterionLike, ...]:
    if type(criterion) is kind:
        return criterion.criteria
    return (_require_criterion(kind.__name__, "criteria", criterion),)


def _check_criteria(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    assert isinstance(value, tuple)  # noqa: S101 -- the converter made it one
    for position, item in enumerate(value):
        _require_criterion(type(instance).__name__, f"criteria[{position}]", item)


def _earliest(
    criteria: Iterable[CriterionLike], ctx: Context, *, after: datetime
) -> datetime | None:
    """The earliest wake of *criteria*, ignoring any not later than *after*."""
    times = [found for c in criteria if (found := wake_at(c, ctx)) is not None]
    if not times:  # the usual answer: no wake, and no instant to convert
        return None
    floor = in_utc(after)
    times = [found for found in times if in_utc(found) > floor]
    return min(times, key=in_utc) if times else None


class _Combinator(Criterion):
    __slots__ = ()
    criteria: tuple[CriterionLike, ...]

    def wake_at(self, ctx: Context) -> datetime | None:
        """The earliest instant a criterion that can change the verdict may change.

        Only a criterion that agrees with the verdict can change it: a failing
        one for a failing ``AllOf`` (a passing one that fails keeps it
        failing), a passing one for a passing ``AnyOf``, and so on. A
        criterion's answer not later than ``ctx.now`` is passed over, as the
        engine passes over such an answer of a guard: it hides no other
        criterion's wake.
        """
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        outcomes = [passes(c, ctx) for c in self.criteria]
        passed = self._decide(outcomes)
        relevant = [
            c for c, ok in zip(self.criteria, outcomes, strict=True) if ok is passed
        ]
        return _earliest(relevant, ctx, after=ctx.now)

    def passes(self, ctx: Context) -> bool:
        """Decide from the criteria's outcomes, without their words."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        return self._decide(passes(c, ctx) for c in self.criteria)

    def _timed(self, model: ScoringModel, passed: bool) -> bool:
        # Only criteria that agree with the verdict can change it (wake_at).
        return any(timed(c, model, passed=passed) for c in self.criteria)

    @abc.abstractmethod
    def _decide(self, outcomes: Iterable[bool]) -> bool:
        """Whether the combinator passes, given its criteria's outcomes."""
        ...

    def _parts(self) -> str:
        return "; ".join(describe(c) for c in self.criteria)


def _join(verdicts: Iterable[Verdict]) -> str:
    return "; ".join(v.reason for v in verdicts)


@attrs.frozen(init=False)
class AllOf(_Combinator):
    """Passes when every criterion passes (and when there are none).

    Every criterion is checked, so the verdict names every failure.
    """

    criteria: tuple[CriterionLike, ...] = attrs.field(validator=_check_criteria)

    def __init__(self, *criteria: CriterionLike) -> None:
        self.__attrs_init__(tuple(criteria))

    def check(self, ctx: Context) -> Verdict:
        """Check every criterion; pass if none failed."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        children = tuple(verdict_of(c, ctx) for c in self.criteria)
        failed = [v for v in children if not v.passed]
        if failed:
            reason = _join(failed)
        elif children:
            reason = _join(children)
        else:
            reason = "nothing is required"
        return _verdict(
            passed=not failed,
            criterion=self.describe(),
            reason=reason,
            children=children,
        )

    def passes(self, ctx: Context) -> bool:
        """Pass if every criterion passes, stopping at the first that fails."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        for criterion in self.criteria:  # noqa: SIM110 -- cheaper than a generator
            if not passes(criterion, ctx):
                return False
        return True

    def _decide(self, outcomes: Iterable[bool]) -> bool:
        return all(outcomes)

    def describe(self) -> str:
        """``all of: ...``."""
        return f"all of: {self._parts()}" if self.criteria else "all of nothing"


@attrs.frozen(init=False)
class AnyOf(_Combinator):
    """Passes when at least one criterion passes (never when there are none)."""

    criteria: tuple[CriterionLike, ...] = attrs.field(validator=_check_criteria)

    def __init__(self, *criteria: CriterionLike) -> None:
        self.__attrs_init__(tuple(criteria))

    def check(self, ctx: Context) -> Verdict:
        """Check every criterion; pass if one passed."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        children = tuple(verdict_of(c, ctx) for c in self.criteria)
        passed = [v for v in children if v.passed]
        if passed:
            reason = _join(passed)
        elif children:
            reason = _join(children)
        else:
            reason = "no criterion to pass"
        return _verdict(
            passed=bool(passed),
            criterion=self.describe(),
            reason=reason,
            children=children,
        )

    def passes(self, ctx: Context) -> bool:
        """Pass if a criterion passes, stopping at the first that does."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        for criterion in self.criteria:  # noqa: SIM110 -- cheaper than a generator
            if passes(criterion, ctx):
                return True
        return False

    def _decide(self, outcomes: Iterable[bool]) -> bool:
        return any(outcomes)

    def describe(self) -> str:
        """``any of: ...``."""
        return f"any of: {self._parts()}" if self.criteria else "any of nothing"


def _count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or value < 0:
        _reject(instance, attribute, value, "a whole number of 0 or more")


@attrs.frozen(init=False)
class AtLeast(_Combinator):
    """Passes when at least *n* of the criteria pass (BANT's "3 of 4").

    >>> from funnelkit import AtLeast, Always, Not
    >>> AtLeast(2, Always(), Not(Always()), Always()).describe()
    'at least 2 of: always; not: always; always'
    """

    n: int = attrs.field(validator=_count)
    criteria: tuple[CriterionLike, ...] = attrs.field(validator=_check_criteria)

    def __init__(self, n: int, *criteria: CriterionLike) -> None:
        self.__attrs_init__(n, tuple(criteria))

    @n.validator
    def _check_reachable(self, attribute: attrs.Attribute[int], value: int) -> None:
        # Validators run once every field is set: the criteria are known.
        if value > len(self.criteria):
            _reject(
                self,
                attribute,
                value,
                f"at most the number of criteria ({len(self.criteria)}): "
                "more can never pass",
            )

    def check(self, ctx: Context) -> Verdict:
        """Check every criterion; pass if at least *n* passed."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        children = tuple(verdict_of(c, ctx) for c in self.criteria)
        met = sum(1 for v in children if v.passed)
        reason = f"{met} of {len(children)} passed, {self.n} needed"
        if children:
            reason += ": " + _join(children)
        return _verdict(
            passed=met >= self.n,
            criterion=self.describe(),
            reason=reason,
            children=children,
        )

    def _decide(self, outcomes: Iterable[bool]) -> bool:
        if not self.n:
            return True
        met = 0
        for ok in outcomes:
            met += ok
            if met >= self.n:
                return True
        return False

    def describe(self) -> str:
        """``at least n of: ...``."""
        return f"at least {self.n} of: {self._parts()}"


@attrs.frozen
class Not(Criterion):
    """Passes when its criterion fails."""

    criterion: CriterionLike = attrs.field()

    @criterion.validator
    def _check(self, _attribute: attrs.Attribute[Any], value: object) -> None:
        _require_criterion("Not", "criterion", value)

    def check(self, ctx: Context) -> Verdict:
        """Check the criterion, and pass if it failed."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        child = verdict_of(self.criterion, ctx)
        return _verdict(
            passed=not child.passed,
            criterion=self.describe(),
            reason=f"not so: {child.reason}" if child.passed else child.reason,
            children=(child,),
        )

    def wake_at(self, ctx: Context) -> datetime | None:
        """When its criterion can change."""
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        return wake_at(self.criterion, ctx)

    def passes(self, ctx: Context) -> bool:
        """Whether its criterion fails."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        return not passes(self.criterion, ctx)

    def _timed(self, model: ScoringModel, passed: bool) -> bool:
        return timed(self.criterion, model, passed=not passed)

    def describe(self) -> str:
        """``not: ...``."""
        return f"not: {describe(self.criterion)}"

    def __invert__(self) -> Criterion:
        """``~~c`` is ``c`` itself, when ``c`` is a :class:`Criterion`."""
        inner = self.criterion
        return inner if isinstance(inner, Criterion) else Not(self)


# -- The built-in criteria -----------------------------------------------------


@attrs.frozen
class Always(Criterion):
    """Passes always: the guard of a move that needs nothing."""

    def check(self, ctx: Context) -> Verdict:
        """Pass."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        return _always(ctx.lead)

    def passes(self, ctx: Context) -> bool:
        """Pass."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        return True

    def describe(self) -> str:
        """``always``."""
        return "always"


def _points(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not is_finite_number(value):
        _reject(instance, attribute, value, "a finite number of points")


def _policy_name(
    instance: object, attribute: attrs.Attribute[str], value: object
) -> None:
    if not isinstance(value, str) or not value.strip():
        _reject(instance, attribute, value, "a non-empty name")


@attrs.frozen
class ScoreAtLeast(Criterion):
    """Passes when a score reaches *points*.

    Args:
        points: The threshold (reached when the score is equal or above).
        dimension: ``"total"`` (fit plus engagement), ``"fit"``,
            ``"engagement"`` or another dimension of the scoring model.
    """

    points: float = attrs.field(validator=_points)
    dimension: str = attrs.field(default="total", validator=_policy_name)
    # The threshold in full (50.0000004 is not 50), worded once. Derived, so
    # left out of eq.
    _points_text: str = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_points_text", number_text(self.points))

    def check(self, ctx: Context) -> Verdict:
        """Compare the score of the dimension with the threshold."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        value = ctx.score[self.dimension]
        passed = value >= self.points
        relation = "is at least" if passed else "is below"
        return _verdict(
            passed=passed,
            criterion=self.describe(),
            reason=(
                f"{self.dimension} score {_num(value)} {relation} {self._points_text}"
            ),
        )

    def passes(self, ctx: Context) -> bool:
        """Whether the score of the dimension reaches the threshold."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        return ctx.score[self.dimension] >= self.points

    def _timed(self, model: ScoringModel, passed: bool) -> bool:
        return _score_timed(model, self.dimension, passed=passed)

    def wake_at(self, ctx: Context) -> datetime | None:
        """When decay or a window can first change the verdict, to the second.

        Needs ``ctx.scorer`` (the engine gives it). Without new activities,
        each rule's points only fade towards zero: positive points fall and
        negative points rise. So a passing score cannot fail before its fading
        positive points alone bring it under the threshold, and a failing
        score cannot pass before its fading negative points alone bring it up
        (dimension limits applied). Both bounds move one way with time, so a
        bisection over the next ten years (up to the year 9999's end: a
        change later than Python's datetimes reach is none) finds the
        instant, and the engine re-checks then. The answer is exact when the
        points fade one way, is never late by more than a second, and may be
        early (the verdict then simply holds, and a later wake follows).
        """
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        return _score_wake(ctx, self.points, self.dimension)

    def describe(self) -> str:
        """``total score at least 50``."""
        return f"{self.dimension} score at least {self._points_text}"


_FIT_AND_ENGAGEMENT = ("fit", "engagement")  # the dimensions of a total
_HORIZON = 10 * 366 * 86_400  # seconds: how far ahead a wake is looked for


def _score_timed(model: ScoringModel, dimension: str, *, passed: bool) -> bool:
    """Whether time alone may change whether *dimension*'s score reaches a bar."""
    names = _FIT_AND_ENGAGEMENT if dimension == "total" else (dimension,)
    # Passing, it can fail as positive points fall; failing, it can pass
    # as negative points rise.
    fading = model._fading[0 if passed else 1]  # noqa: SLF001 -- the model's own index
    return not fading.isdisjoint(names)


def _score_wake(ctx: Context, points: float, dimension: str) -> datetime | None:
    """When *dimension*'s score can first cross *points* (see ScoreAtLeast.wake_at)."""
    scorer = ctx.scorer
    if scorer is None:
        return None
    side = 1 if ctx.score[dimension] >= points else 2
    if not _score_timed(scorer.model, dimension, passed=side == 1):
        return None  # no rule's points of that sign fade
    names = _FIT_AND_ENGAGEMENT if dimension == "total" else (dimension,)
    now = ctx.now.timestamp()
    parts = [(name, *scorer._parts(now, name)) for name in names]  # noqa: SLF001 -- the scorer's own split
    limits = [scorer._limits(name) for name in names]  # noqa: SLF001 -- ditto
    threshold = _micros(points)
    if not any(part[1 + side] for part in parts):
        return None  # nothing fades that could change the verdict

    def changed(moment: datetime) -> bool:
        at = moment.timestamp()
        total = 0
        for (name, raw, *fading), (low, high) in zip(parts, limits, strict=True):
            later = scorer._parts(at, name)[side]  # noqa: SLF001 -- ditto
            moved = fading[side - 1] - later
            value = raw - moved if side == 1 else raw + moved
            if low is not None and value < low:
                value = low
            if high is not None and value > high:
                value = high
            total += value
        return total < threshold if side == 1 else total >= threshold

    return _first_change(ctx.now, changed)


def _first_change(
    now: datetime, changed: Callable[[datetime], bool]
) -> datetime | None:
    """Return the first whole second after *now* when *changed* holds, if any.

    *changed* must be false at *now* and, once true, stay true.
    """
    start = in_utc(now)  # seconds of elapsed time, across clock changes
    # The horizon stops at the last whole second Python holds: a verdict
    # that changes only after the year 9999 never does.
    left = _LAST - start
    horizon = min(_HORIZON, left.days * 86_400 + left.seconds)
    if horizon < 1 or not changed(start + timedelta(seconds=horizon)):
        return None
    low, high = 0, horizon
    while high - low > 1:
        middle = (low + high) // 2
        if changed(start + timedelta(seconds=middle)):
            high = middle
        else:
            low = middle
    try:
        return (start + timedelta(seconds=high)).astimezone(now.tzinfo)
    except OverflowError:  # past the year 9999 on now's clock
        return None


_LAST = datetime.max.replace(tzinfo=UTC)  # the last instant Python holds


_DEFAULT_GRADES = Grades()  # the bands of a context that does not name its model


def _letter(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        _reject(instance, attribute, value, "a fit grade letter (a non-empty string)")


@attrs.frozen
class GradeAtLeast(Criterion):
    """Passes when the fit grade is *letter* or better.

    Args:
        letter: A fit letter of the scoring model (of *grades*, when given).
        grades: The bands to rank the letters in; ``None`` (the default)
            ranks them in the scoring model's :class:`Grades`, which the
            engine's context knows through its scorer (a context without a
            scorer: the default :class:`Grades`).
    """

    letter: str = attrs.field(validator=_letter)
    grades: Grades | None = attrs.field(default=None)

    @grades.validator
    def _check(self, attribute: attrs.Attribute[Grades | None], value: object) -> None:
        if value is None:
            return
        if not isinstance(value, Grades):
            _reject(self, attribute, value, "a funnelkit.Grades, or None")
        try:
            value.rank(self.letter)
        except PolicyError as error:
            raise PolicyError(
                owner="GradeAtLeast",
                field="letter",
                value=self.letter,
                expected=error.expected,
            ) from None

    def _bands(self, ctx: Context) -> Grades:
        """The grades to rank in: the given ones, else the model's, else the default."""
        grades = self.grades
        if grades is None:
            scorer = ctx.scorer
            return _DEFAULT_GRADES if scorer is None else scorer.model.grades
        return grades

    def check(self, ctx: Context) -> Verdict:
        """Compare the lead's fit grade with the letter."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        grade = ctx.score.grade
        grades = self._bands(ctx)
        ranks = grades._ranks  # noqa: SLF001 -- the bands' own index
        rank = ranks.get(grade)
        limit = ranks.get(self.letter)
        if rank is None or limit is None:  # a grade of other bands than these
            letters = ", ".join(letter for letter, _ in grades.fit)
            reason = (
                f"fit grade {grade} is not one of {letters}"
                if rank is None
                else f"{self.letter} is not one of the fit grades {letters}"
            )
            return _verdict(passed=False, criterion=self.describe(), reason=reason)
        passed = rank <= limit
        relation = (
            f"is {self.letter} or better" if passed else f"is below {self.letter}"
        )
        return _verdict(
            passed=passed,
            criterion=self.describe(),
            reason=f"fit grade {grade} {relation}",
        )

    def passes(self, ctx: Context) -> bool:
        """Whether the fit grade is the letter or better."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        grades = self.grades
        if grades is None:  # _bands, inline: the engine asks on every record
            scorer = ctx.scorer
            grades = _DEFAULT_GRADES if scorer is None else scorer._model.grades  # noqa: SLF001 -- ScoreState.model, without the property
        ranks = grades._ranks  # noqa: SLF001 -- the bands' own index
        rank = ranks.get(ctx.score.grade)
        limit = ranks.get(self.letter)
        return rank is not None and limit is not None and rank <= limit

    def _threshold(self, model: ScoringModel) -> float | None:
        """The fit points the letter starts at under *model*, if the bar can move.

        None when the letter is the last (every grade passes) or is not one
        of the bands ranked in, and when those bands are not the model's
        (they then do not follow its fit score).
        """
        grades = model.grades
        if self.grades is not None and self.grades.fit != grades.fit:
            return None
        return grades._minimum(self.letter)  # noqa: SLF001 -- the bands' own index

    def _timed(self, model: ScoringModel, passed: bool) -> bool:
        # The grade is the fit score against the letter's minimum: timed
        # when that score is, as ScoreAtLeast(minimum, "fit") would be.
        return self._threshold(model) is not None and _score_timed(
            model, "fit", passed=passed
        )

    def wake_at(self, ctx: Context) -> datetime | None:
        """When decay or a window can first move the fit grade across the letter.

        The grade is the letter or better exactly when the fit score reaches
        the letter's minimum, so this is :meth:`ScoreAtLeast.wake_at` of the
        fit score at that minimum (needs ``ctx.scorer``, as that does).
        """
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        scorer = ctx.scorer
        if scorer is None:
            return None
        minimum = self._threshold(scorer.model)
        if minimum is None:
            return None
        return _score_wake(ctx, minimum, "fit")

    def describe(self) -> str:
        """``fit grade B or better``."""
        return f"fit grade {self.letter} or better"


def _check_kinds(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not is_kind_set(value):
        _reject(instance, attribute, value, "an activity kind, or a set of them")


def _positive_span(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        _reject(instance, attribute, value, "a positive timedelta")


def _at_least_one(
    instance: object, attribute: attrs.Attribute[int], value: object
) -> None:
    if type(value) is not int or value < 1:
        _reject(instance, attribute, value, "a whole number of 1 or more")


@attrs.frozen
class DidActivity(Criterion):
    """Passes when the lead did one of *kinds* at least *count* times.

    Args:
        kinds: An activity kind or a set of kinds (a hand-raiser: a demo or a
            quote request).
        within: Count only the trailing window before the decision, its
            edge included; ``None`` counts the whole history (as does a
            window reaching back past the year 1, ``timedelta.max`` say).
        count: How many are needed.
        in_stage: Count only what the lead did since it entered its current
            stage, the instant of entering included (a recycled lead that
            engages again). In the stage a lead was created in, what it did
            before its creation counts too (the form that made the lead).
    """

    kinds: frozenset[str] = attrs.field(
        converter=kind_set, validator=_check_kinds, repr=set_repr
    )
    within: timedelta | None = attrs.field(
        default=None, validator=attrs.validators.optional(_positive_span)
    )
    count: int = attrs.field(default=1, validator=_at_least_one)
    in_stage: bool = attrs.field(default=False, kw_only=True)

    @in_stage.validator
    def _check_in_stage(self, attribute: attrs.Attribute[bool], value: object) -> None:
        if type(value) is not bool:
            _reject(self, attribute, value, "True or False")

    def _floor(self, ctx: Context, now: datetime) -> datetime | None:
        """The earliest instant an activity counts from, if any; *now* is in UTC."""
        # In UTC: an instant, compared exactly with activities of any time zone.
        floor = None if self.within is None else _since(now, self.within)
        if self.in_stage:
            entered = ctx.entered_at  # in_utc, without a call (none for UTC)
            if entered.tzinfo is not UTC:
                entered = entered.astimezone(UTC)
            # In the stage the lead was created in (its history's first move,
            # from no stage): all it did before its creation counts too. A
            # later stage entered at that same instant (late activities made
            # it an MQL at once) counts from its entry. The history is read
            # only when an activity came before the entry (rarely: a store
            # may keep it undecoded until then).
            if (floor is None or floor < entered) and (
                entered > ctx.lead.created_at
                or (
                    ctx.activities
                    and ctx.activities[0].at < entered
                    and ctx.history
                    and ctx.history[-1].source is not None
                )
            ):
                floor = entered
        return floor

    def _matching(self, ctx: Context) -> list[Activity]:
        now = in_utc(ctx.now)  # compared as an instant, as floor is
        floor = self._floor(ctx, now)
        return [
            activity
            for activity in ctx.activities
            if activity.kind in self.kinds
            and activity.at <= now
            and (floor is None or activity.at >= floor)
        ]

    def check(self, ctx: Context) -> Verdict:
        """Count the matching activities."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        found = len(self._matching(ctx))
        window = self._window()
        times = "time" if found == 1 else "times"
        return _verdict(
            passed=found >= self.count,
            criterion=self.describe(),
            reason=f"{self._kinds_text()} {found} {times}{window}, {self.count} needed",
        )

    def passes(self, ctx: Context) -> bool:  # noqa: C901 -- the hot path, flat for speed
        """Count the matching activities, latest first, until there are enough."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        # Compared as an instant, as floor is (in_utc; none to make for UTC).
        now = ctx.now
        if now.tzinfo is not UTC:
            now = now.astimezone(UTC)
        floor = self._floor(ctx, now)
        kinds = self.kinds
        needed = self.count
        if floor is None:
            # The kind first: most activities are of other kinds, and their
            # times are not read.
            for activity in reversed(ctx.activities):
                if activity.kind in kinds and activity.at <= now:
                    needed -= 1
                    if not needed:
                        return True
            return False
        for activity in reversed(ctx.activities):
            at = activity.at
            if at < floor:
                return False  # oldest first: the rest are earlier still
            if at <= now and activity.kind in kinds:
                needed -= 1
                if not needed:
                    return True
        return False

    def _timed(self, model: ScoringModel, passed: bool) -> bool:  # noqa: ARG002 -- as the base
        # Only a passing count can change, as activities leave the window.
        return passed and self.within is not None

    def wake_at(self, ctx: Context) -> datetime | None:
        """When enough of the activities leave the window to fail the check."""
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        if self.within is None:
            return None
        found = self._matching(ctx)
        if len(found) < self.count:
            return None
        # The verdict fails once the count-th most recent one leaves the window.
        edge = add_elapsed_or_never(found[-self.count].at, self.within)
        return None if edge is None else add_elapsed_or_never(edge, _TICK)

    def _kinds_text(self) -> str:
        return " or ".join(sorted(self.kinds))

    def describe(self) -> str:
        """``demo_request or quote_request at least once in the last 30 days``."""
        times = "once" if self.count == 1 else f"{self.count} times"
        return f"{self._kinds_text()} at least {times}{self._window()}"

    def _window(self) -> str:
        window = "" if self.within is None else f" in the last {_span(self.within)}"
        return window + (" since entering the stage" if self.in_stage else "")


def _since(now: datetime, within: timedelta) -> datetime | None:
    """The instant *within* before *now* (in UTC), or None before the year 1.

    A window reaching back past the first instant Python holds keeps every
    activity, as a rule's ``within`` does.
    """
    try:
        return now - within
    except OverflowError:
        return None


# Spans repeat: a rule's window, a wait, and the time in stage a wake finds
# (the wait itself, as a tick judges a lead at its wake).
@functools.lru_cache(maxsize=1024)
def _span(value: timedelta) -> str:
    """Write a span as a rep says it: whole days in days ("30 days"), else exactly."""
    if value and not value % _DAY:
        days = value.days
        return f"{days} day" if days == 1 else f"{days} days"
    return format_duration(value)


@attrs.frozen
class AttributeIs(Criterion):
    """Passes when a lead attribute passes a value test.

    *attribute* is read as :class:`AttributeRule` reads it (``"industry"``,
    ``"email.domain"``, ``"bant.budget"``); *test* is a value test, a value
    (equality) or a list of values (one of them).
    """

    attribute: str = attrs.field()
    test: ValueTest = attrs.field(converter=to_value_test)
    # The verdicts reached so far, by value: leads share values ("software"),
    # and a verdict is worded once per value. Derived, so left out of eq.
    _verdicts: dict[object, Verdict] = attrs.field(
        init=False, factory=dict, eq=False, hash=False, repr=False
    )

    @attribute.validator
    def _check_path(self, attribute: attrs.Attribute[str], value: object) -> None:
        expected = path_expected(value)  # as AttributeRule checks its attribute
        if expected is not None:
            _reject(self, attribute, value, expected)

    @test.validator
    def _check(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, ValueTest):
            _reject(
                self, attribute, value, "a value test, a value, or a list of values"
            )

    def check(self, ctx: Context) -> Verdict:
        """Read the attribute and test it."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        return self._judge(ctx.lead)

    def _judge(self, lead: Lead) -> Verdict:
        """The verdict on *lead*: all that check reads of its context (see judge)."""
        value = value_getter(self.attribute)(lead)
        kind = type(value)
        # 1 and True are equal, and so are 0.0 and -0.0, but each is written
        # otherwise: a float zero is keyed by its text.
        key = (kind, value if kind is not float or value else repr(value))
        found = self._verdicts.get(key)
        if found is None:
            passed, why = self.test.evaluate(value)
            found = _verdict(
                passed=passed,
                criterion=self.describe(),
                reason=f"{self.attribute} {why}",
            )
            if len(self._verdicts) >= _VERDICT_CACHE:
                self._verdicts.clear()
            self._verdicts[key] = found
        return found

    def passes(self, ctx: Context) -> bool:
        """Read the attribute and test it."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        return self.test(value_getter(self.attribute)(ctx.lead))

    def describe(self) -> str:
        """``industry is one of 'saas', 'software'``."""
        return f"{self.attribute} {self.test.describe()}"


def _min_met(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 1 <= value <= 4:  # noqa: PLR2004 -- B, A, N and T
        _reject(instance, attribute, value, "a whole number from 1 to 4")


@attrs.frozen
class BantQualified(Criterion):
    """Passes when enough of budget, authority, need and timeline are met.

    Budget, authority and need are met when confirmed (``True``). The timeline
    is met when the expected purchase date is known and not past, and, with
    *timeline_within*, no further away than that from the decision.
    Dates are judged in *timezone* (an IANA name, UTC by default): the
    purchase date passes at the midnight that ends it there, whatever zone
    the decision's instant is written in. Every date a ``date`` holds is
    judged so: 9999-12-31, a CRM's "no date", never passes.

    >>> from datetime import timedelta
    >>> BantQualified(3, timeline_within=timedelta(days=90)).describe()
    'BANT: at least 3 of budget, authority, need, timeline within 90 days'
    """

    min_met: int = attrs.field(default=3, validator=_min_met)
    timeline_within: timedelta | None = attrs.field(
        default=None, kw_only=True, validator=attrs.validators.optional(_positive_span)
    )
    timezone: str = attrs.field(default="UTC", kw_only=True)

    @timezone.validator
    def _check_timezone(self, attribute: attrs.Attribute[str], value: object) -> None:
        if not is_zone_name(value):
            _reject(
                self, attribute, value, "an IANA time zone name such as 'Europe/Berlin'"
            )

    def _timeline(self, timeline: date | None, now: datetime) -> tuple[bool, str]:
        if timeline is None:
            return False, "timeline unknown"
        # Days as ordinals, so that no date near the years 1 and 9999 (a
        # CRM's 9999-12-31 for "no date") overflows: today, and the day
        # *timeline_within* later on the local clock.
        today, clock = _local_day(now, ZoneInfo(self.timezone))
        day = timeline.toordinal()
        if day < today:
            return False, f"timeline {timeline.isoformat()} has passed"
        if (
            self.timeline_within is not None
            and day > today + (clock + span_micros(self.timeline_within)) // _DAY_US
        ):
            return False, (
                f"timeline {timeline.isoformat()} is beyond "
                f"{_span(self.timeline_within)}"
            )
        return True, f"timeline {timeline.isoformat()}"

    def check(self, ctx: Context) -> Verdict:
        """Count the answers met."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        bant = ctx.lead.bant
        parts: list[tuple[bool, str]] = [
            (answer is True, f"{name} {_answer(answer)}")
            for name, answer in (
                ("budget", bant.budget),
                ("authority", bant.authority),
                ("need", bant.need),
            )
        ]
        parts.append(self._timeline(bant.timeline, ctx.now))
        met = sum(1 for ok, _ in parts if ok)
        return _verdict(
            passed=met >= self.min_met,
            criterion=self.describe(),
            reason=(
                f"BANT {met} of 4 met, {self.min_met} needed: "
                + ", ".join(text for _, text in parts)
            ),
        )

    def passes(self, ctx: Context) -> bool:
        """Count the answers met."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        bant = ctx.lead.bant
        met = (bant.budget is True) + (bant.authority is True) + (bant.need is True)
        if met < self.min_met - 1:
            return False
        if met >= self.min_met:
            return True
        return self._timeline(bant.timeline, ctx.now)[0]

    def wake_at(self, ctx: Context) -> datetime | None:
        """When the timeline enters the window, or passes."""
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        timeline = ctx.lead.bant.timeline
        if timeline is None:
            return None
        zone = ZoneInfo(self.timezone)
        # The midnight that ends the day, and the instant from which the day
        # is within the window: (local + within).date() reaches it. Past the
        # year 9999 is never; before the year 1 is long past.
        candidates = []
        if timeline < date.max:
            candidates.append(datetime.combine(timeline + _DAY, time(), tzinfo=zone))
        if self.timeline_within is not None:
            local = datetime.combine(timeline, time(), tzinfo=zone)
            with contextlib.suppress(OverflowError):
                candidates.append(local - self.timeline_within)
        later = [moment for moment in candidates if moment > ctx.now]
        try:
            return min(later).astimezone(ctx.now.tzinfo) if later else None
        except OverflowError:  # past the year 9999 on now's clock: never
            return None

    def describe(self) -> str:
        """``BANT: at least 3 of budget, authority, need, timeline``."""
        timeline = "timeline"
        if self.timeline_within is not None:
            timeline += f" within {_span(self.timeline_within)}"
        if self.timezone != "UTC":
            timeline += f" (dates in {self.timezone})"
        return f"BANT: at least {self.min_met} of budget, authority, need, {timeline}"


_DAY_US = 86_400_000_000  # a day in microseconds


def _local_day(now: datetime, zone: ZoneInfo) -> tuple[int, int]:
    """The ordinal of *now*'s date in *zone*, and the microseconds since its midnight.

    An instant within hours of datetime's range whose date in *zone* is
    outside it (the year 0 or 10000) gets the ordinal that date would have.
    """
    try:
        local = now.astimezone(zone)
    except OverflowError:
        utc = in_utc(now).replace(tzinfo=None)
        # No zone changes its clocks in the range's first or last hours.
        offset = span_micros(zone.utcoffset(utc))  # type: ignore[arg-type] # a ZoneInfo always has one
        return divmod(utc.toordinal() * _DAY_US + _clock_micros(utc) + offset, _DAY_US)
    return local.toordinal(), _clock_micros(local)


def _clock_micros(value: datetime) -> int:
    """The microseconds since midnight that *value*'s clock shows."""
    seconds = (value.hour * 60 + value.minute) * 60 + value.second
    return seconds * 1_000_000 + value.microsecond


def _answer(value: bool | None) -> str:
    if value is None:
        return "unknown"
    return "confirmed" if value else "denied"


@attrs.frozen
class InStageFor(Criterion):
    """Passes when the lead has been in its stage for at least *at_least*."""

    at_least: timedelta = attrs.field(validator=_positive_span)
    # The minimum in words, and the description: worded once, since a tick
    # words the verdict of every lead it moves on. Derived, so left out of eq.
    _words: tuple[str, str] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        span = _span(self.at_least)
        object.__setattr__(self, "_words", (span, f"in stage for at least {span}"))

    def check(self, ctx: Context) -> Verdict:
        """Compare the time in stage with the minimum."""
        if type(ctx) is not Context:
            _require_context(self, "check", ctx)
        spent = ctx.now.astimezone(UTC) - ctx.entered_at.astimezone(UTC)  # elapsed()
        passed = spent >= self.at_least
        if spent.days < 0:
            shown = _span(_NO_TIME)
        elif self.at_least.microseconds:
            # A minimum with a fraction of a second: the time to the microsecond,
            # or whole seconds could read "1 second, at least 1.2 seconds".
            shown = _span(spent)
        else:
            # Whole seconds, true either way against whole seconds; positional:
            # keywords cost more.
            shown = _span(timedelta(0, spent.days * 86_400 + spent.seconds))
        relation = "at least" if passed else "less than"
        span, described = self._words
        return _verdict(
            passed=passed,
            criterion=described,
            reason=f"in {ctx.stage} for {shown}, {relation} {span}",
        )

    def passes(self, ctx: Context) -> bool:
        """Whether the time in stage reaches the minimum."""
        if type(ctx) is not Context:
            _require_context(self, "passes", ctx)
        # elapsed(), without its calls: the engine asks on every wake.
        return ctx.now.astimezone(UTC) - ctx.entered_at.astimezone(UTC) >= self.at_least

    def _timed(self, model: ScoringModel, passed: bool) -> bool:  # noqa: ARG002 -- as the base
        # Only a failing wait can change: it passes once long enough.
        return not passed

    def wake_at(self, ctx: Context) -> datetime | None:
        """When the minimum is reached, if it is not yet."""
        if type(ctx) is not Context:
            _require_context(self, "wake_at", ctx)
        if elapsed(ctx.entered_at, ctx.now) >= self.at_least:
            return None
        return add_elapsed_or_never(ctx.entered_at, self.at_least)

    def describe(self) -> str:
        """``in stage for at least 2 days``."""
        return self._words[1]


# The built-ins whose passes returns a bool whatever the host gave them:
# passer calls it directly. Not AttributeIs, whose value test may be the
# host's own, answering with something else than a bool that passes refuses.
_TRUSTED_PASSES = frozenset(
    {Always, ScoreAtLeast, GradeAtLeast, DidActivity, BantQualified, InStageFor}
)
# Built-in criteria whose passes reads the score or nothing, and cannot raise
# on a Context (see passer).
_QUICK_PASSES = frozenset({Always, ScoreAtLeast, GradeAtLeast})


# -- What the engine's quick record can tell from a read alone -----------------

#: A test of a lead as the engine's quick record reads it: its score's
#: dimensions and fit grade, the activity being recorded, and the activities
#: the lead had before it (None: none). True only when its guards surely fail.
Doomed = Callable[[Mapping[str, float], str, Activity, Sequence[Activity] | None], bool]


def sure_to_fail(
    criteria: Sequence[CriterionLike], model: ScoringModel
) -> Doomed | None:
    """A test that tells from a read alone that all of *criteria* fail, if one is known.

    For the engine's quick record (Funnel._record_quick): when every
    automatic move out of a lead's stage is sure to fail, it makes neither
    the score nor the context that asking the guards would take. The test is
    true only when ``passes`` would be false for each criterion on the
    record's context, whose score is the read of a scorer of *model*, and
    whose activities are the lead's, the one recorded included. It tells
    what the guards would answer without asking them, so it is made only of
    built-in criteria, whose ``passes`` reads the context and nothing else,
    and cannot raise on one:

    - :class:`ScoreAtLeast` and :class:`GradeAtLeast` fail exactly when
      their test says so;
    - :class:`DidActivity` fails surely when the lead has fewer activities of
      its kinds than it counts, at any time (its window, and the stage's
      entry, may rule out more: it is then asked);
    - :class:`AllOf` fails surely when one of its criteria does, if every
      one of them is built-in (one of the host's may raise, or count its
      calls: it is not skipped), :class:`AnyOf` when all of them do, and
      :class:`Not` when its criterion surely passes, which the exact tests
      tell.

    None when a criterion is of another kind: the engine asks it. The test is
    one generated function, as attrs generates ``__init__``: one call, with
    no call per criterion (but for an activity count), and the tests that
    read the score before those that read the activities.
    """
    scope: dict[str, object] = {"_r": _r}
    found = [_doomed(criterion, model, scope) for criterion in criteria]
    if not found or None in found:
        return None
    # Each is true when its criterion surely fails: all of them, as AnyOf's.
    test = _joined(found, " and ")  # type: ignore[arg-type] # no None left
    lines = [
        "def doomed(dimensions, grade, activity, held):",
        f"    return {test}",
    ]
    exec("\n".join(lines), scope)  # noqa: S102 -- generated from the criteria's kinds; their values are in the scope
    return scope["doomed"]  # type: ignore[return-value] # defined just above


def _doomed(
    criterion: CriterionLike, model: ScoringModel, scope: dict[str, object]
) -> tuple[str, bool] | None:
    """sure_to_fail's test of *criterion*, as an expression, and whether it is exact.

    An exact test is true exactly when the criterion fails. The values the
    expression reads are put in *scope*, each under a name of its own.
    """
    kind = type(criterion)
    if kind is ScoreAtLeast:
        return _score_doomed(criterion, scope), True  # type: ignore[arg-type] # a ScoreAtLeast
    if kind is GradeAtLeast:
        return _grade_doomed(criterion, model, scope), True  # type: ignore[arg-type] # a GradeAtLeast
    if kind is DidActivity:
        return _activity_doomed(criterion, scope), False  # type: ignore[arg-type] # a DidActivity
    if kind is Not:
        inner = _doomed(criterion.criterion, model, scope)  # type: ignore[attr-defined] # a Not
        # Not fails when its criterion passes: told by an exact test only.
        return None if inner is None or not inner[1] else (f"not {inner[0]}", True)
    if kind is AllOf or kind is AnyOf:
        return _combined_doomed(criterion, model, scope)  # type: ignore[arg-type] # a combinator
    return None


def _combined_doomed(
    criterion: AllOf | AnyOf, model: ScoringModel, scope: dict[str, object]
) -> tuple[str, bool] | None:
    """AllOf fails surely when one of its criteria does, AnyOf when all of them do."""
    children = criterion.criteria
    if not all(map(_pure, children)):
        return None
    found = [_doomed(child, model, scope) for child in children]
    known = [item for item in found if item is not None]
    if not known or (type(criterion) is AnyOf and len(known) < len(found)):
        return None  # a criterion that may pass, or none to tell by
    exact = len(known) == len(found) and all(exact for _, exact in known)
    return _joined(known, " or " if type(criterion) is AllOf else " and "), exact


def _joined(tests: list[tuple[str, bool]], operator: str) -> str:
    """*tests* joined by *operator*, bracketed, the exact ones (the score's) first."""
    ordered = sorted(tests, key=lambda test: not test[1])
    return "(" + operator.join(expression for expression, _ in ordered) + ")"


def _pure(criterion: CriterionLike) -> bool:
    """Whether *criterion* is built-in through and through: it reads its context."""
    kind = type(criterion)
    if kind in _TRUSTED_PASSES:
        return True
    if kind is AllOf or kind is AnyOf or kind is AtLeast:
        return all(map(_pure, criterion.criteria))  # type: ignore[attr-defined] # a combinator
    if kind is Not:
        return _pure(criterion.criterion)  # type: ignore[attr-defined] # a Not
    return False


def _named(scope: dict[str, object], value: object) -> str:
    """Put *value* in *scope* under a new name, and return the name."""
    name = f"_{len(scope)}"
    scope[name] = value
    return name


def _score_doomed(criterion: ScoreAtLeast, scope: dict[str, object]) -> str:
    """ScoreAtLeast fails: the points Score.__getitem__ gives are below its own."""
    points = _named(scope, criterion.points)
    if criterion.dimension == "total":
        # Score.total, from the dimensions: fit plus engagement, rounded.
        value = '_r(dimensions.get("fit", 0.0) + dimensions.get("engagement", 0.0))'
    else:
        value = f"dimensions.get({_named(scope, criterion.dimension)}, 0.0)"
    return f"not {value} >= {points}"


def _grade_doomed(
    criterion: GradeAtLeast, model: ScoringModel, scope: dict[str, object]
) -> str:
    """GradeAtLeast fails: a grade its passes does not pass, in the model's grades."""
    grades = model.grades if criterion.grades is None else criterion.grades
    ranks = grades._ranks  # noqa: SLF001 -- the bands' own index
    limit = ranks.get(criterion.letter)
    passing = frozenset(
        letter for letter, rank in ranks.items() if limit is not None and rank <= limit
    )
    return f"grade not in {_named(scope, passing)}"


def _activity_doomed(criterion: DidActivity, scope: dict[str, object]) -> str:
    """DidActivity fails surely: fewer activities of its kinds than it counts."""
    return (
        f"{_named(scope, _too_few(criterion.kinds, criterion.count))}(activity, held)"
    )


def _too_few(
    kinds: frozenset[str], count: int
) -> Callable[[Activity, Sequence[Activity] | None], bool]:
    """Whether fewer than *count* of an activity and those held are of *kinds*."""

    def too_few(activity: Activity, held: Sequence[Activity] | None) -> bool:
        needed = count - 1 if activity.kind in kinds else count
        if needed and held:
            for other in held:
                if other.kind in kinds:
                    needed -= 1
                    if not needed:
                        break
        return needed > 0

    return too_few
