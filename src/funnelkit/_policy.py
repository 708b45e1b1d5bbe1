"""The funnel's definition: stages, guarded transitions, and the validated policy."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal

import attrs

from funnelkit._calendar import BusinessCalendar
from funnelkit._criteria import (
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    CriterionLike,
    GradeAtLeast,
    Not,
    ScoreAtLeast,
    _reject,
    _require_criterion,
)
from funnelkit._scoring import ScoringModel
from funnelkit._sla import MoveTo, SlaRule
from funnelkit._validators import is_unordered, optional, policy_name
from funnelkit.errors import PolicyError

__all__ = ["ANY_OPEN", "FunnelPolicy", "Stage", "StageKind", "Transition"]

#: A transition's source meaning every open or nurture stage (never won or lost).
ANY_OPEN: Final = "*"

StageKind = Literal["open", "won", "lost", "nurture"]
_KINDS: Final = ("open", "won", "lost", "nurture")
_FINAL_KINDS: Final = frozenset({"won", "lost"})


_optional_name = optional(policy_name)


@attrs.frozen
class Stage:
    """A stage of the funnel.

    Args:
        name: The stage's name (``"mql"``).
        kind: ``"open"`` (a lead on its way), ``"won"`` (a customer),
            ``"lost"`` (disqualified) or ``"nurture"`` (recycled to
            marketing, not ready yet). A lead in a won or lost stage leaves
            only by a transition marked ``reopen=True``.
        description: What the stage means, for people reading the policy.

    >>> Stage("customer", "won")
    Stage(name='customer', kind='won', description=None)
    """

    name: str = attrs.field(validator=policy_name)
    kind: StageKind = attrs.field(default="open")
    description: str | None = attrs.field(
        default=None, kw_only=True, validator=_optional_name
    )

    @kind.validator
    def _check_kind(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in _KINDS:
            _reject(self, attribute, value, "one of 'open', 'won', 'lost', 'nurture'")

    @property
    def is_final(self) -> bool:
        """Whether the stage is won or lost: no exit but a re-open."""
        return self.kind in _FINAL_KINDS


def _sources(value: object) -> object:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        items = list(value)
        if all(isinstance(item, str) for item in items):
            return tuple(sorted(set(items)))
    return value


def _check_sources(
    instance: Transition, attribute: attrs.Attribute[Any], value: object
) -> None:
    if (
        not isinstance(value, tuple)
        or not value
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        _reject(
            instance, attribute, value, "a stage name, a set of them, or '*' (any open)"
        )
    if ANY_OPEN in value and len(value) > 1:
        _reject(instance, attribute, value, "'*' alone, or stage names without '*'")


def _reasons(value: object) -> object:
    if isinstance(value, Iterable) and not isinstance(value, str | Mapping):
        items = list(value)
        if all(isinstance(item, str) for item in items):
            # A list keeps the order written; a set has none of its own, and
            # its iteration order changes from process to process: sorted.
            return tuple(sorted(items) if is_unordered(value) else dict.fromkeys(items))
    return value


def _check_reasons(
    instance: Transition, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(item, str) and item.strip() for item in value
    ):
        _reject(instance, attribute, value, "a list of reason codes (strings)")


def _check_target(
    instance: Transition, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value == ANY_OPEN:
        _reject(
            instance,
            attribute,
            value,
            "one stage name ('*', any open stage, is a source only)",
        )


def _check_guard(
    instance: Transition, attribute: attrs.Attribute[Any], value: object
) -> None:
    _require_criterion("Transition", attribute.name, value)


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:
        _reject(instance, attribute, value, "True or False")


@attrs.frozen(kw_only=True)
class Transition:
    """A move the policy allows, from one or more stages to a target stage.

    Args:
        source: The stage it leaves: a name, a set of names, or ``"*"`` for
            every open or nurture stage (never a won or lost one).
        target: The stage it enters.
        guard: The criterion that must pass (:class:`Always` by default).
        auto: Whether the funnel makes the move by itself as soon as the
            guard passes; otherwise a person asks for it with
            :meth:`Funnel.move`.
        requires_reason: Whether a :meth:`Funnel.move` must give a reason.
        reasons: The reason codes a move must choose from (``()``: any text),
            in the order given; a set's codes are sorted.
            Giving codes implies ``requires_reason``.
        reopen: Marks a transition out of a won or lost stage, which is
            otherwise an error in the policy.
        name: A name for explanations; ``"source -> target"`` by default.

    >>> from funnelkit import ScoreAtLeast
    >>> t = Transition(source="lead", target="mql", guard=ScoreAtLeast(50), auto=True)
    >>> t.label
    'lead -> mql'
    """

    source: tuple[str, ...] = attrs.field(converter=_sources, validator=_check_sources)
    target: str = attrs.field(validator=[policy_name, _check_target])
    guard: CriterionLike = attrs.field(factory=Always, validator=_check_guard)
    auto: bool = attrs.field(default=False, validator=_flag)
    requires_reason: bool = attrs.field(default=False, validator=_flag)
    reasons: tuple[str, ...] = attrs.field(
        default=(), converter=_reasons, validator=_check_reasons
    )
    reopen: bool = attrs.field(default=False, validator=_flag)
    name: str | None = attrs.field(default=None, validator=_optional_name)

    def __attrs_post_init__(self) -> None:
        if self.auto and (self.requires_reason or self.reasons):
            field = "requires_reason" if self.requires_reason else "reasons"
            raise PolicyError(
                owner=f"Transition {self.label!r}",
                field=field,
                value=getattr(self, field),
                expected="no reason on an automatic transition (nobody gives one)",
            )

    @property
    def label(self) -> str:
        """The name, or ``"source -> target"``."""
        if self.name is not None:
            return self.name
        return f"{' | '.join(self.source)} -> {self.target}"

    @property
    def needs_reason(self) -> bool:
        """Whether a move by this transition must give a reason."""
        return self.requires_reason or bool(self.reasons)


def _as_tuple(value: object) -> object:
    if isinstance(value, Iterable) and not isinstance(value, str | Mapping):
        return tuple(value)
    return value


def _sorted_by_name(value: object) -> object:
    """*value* as a tuple: a list in its order, a set's parts sorted by name.

    A set has no order of its own (its iteration order changes from process
    to process), and stages and SLA rules have unique names to sort by.
    """
    if is_unordered(value) and all(isinstance(part, Stage | SlaRule) for part in value):
        return tuple(sorted(value, key=_name))
    return _as_tuple(value)


def _name(part: Stage | SlaRule) -> str:
    return part.name


def _in_order(value: object) -> object:
    """*value* as a tuple; a set is left for the validator to refuse.

    Automatic transitions are tried in the order given: a set's order would
    change from process to process.
    """
    if is_unordered(value):
        return value
    return _as_tuple(value)


# What a policy's parts are called in messages.
_NOUNS = {"Stage": "a stage", "Transition": "a transition", "SlaRule": "an SLA rule"}


def _check_parts(
    field: str, parts: tuple[object, ...], kind: type, *, reserved: str | None = None
) -> None:
    """Check each part is a *kind*, and that no two share a (given) name."""
    noun = _NOUNS[kind.__name__]
    seen: set[str] = set()
    for position, part in enumerate(parts):
        if not isinstance(part, kind):
            raise PolicyError(
                owner="FunnelPolicy",
                field=f"{field}[{position}]",
                value=part,
                expected=f"a funnelkit.{kind.__name__}",
            )
        name = part.name  # type: ignore[attr-defined] # stages and transitions have one
        if name is None:
            continue
        if name in seen or name == reserved:
            raise PolicyError(
                owner="FunnelPolicy",
                field=f"{field}[{position}].name",
                value=name,
                expected=(
                    f"{noun} name not used before"
                    if name in seen
                    else "a name other than '*', which means any open stage"
                ),
            )
        seen.add(name)


def _parts_of(
    kind: type, *, required: bool = False, reserved: str | None = None
) -> Callable[[FunnelPolicy, attrs.Attribute[Any], object], None]:
    """A validator of a list of *kind* values, their names unique."""
    expected = f"a {'non-empty ' if required else ''}list of {kind.__name__}"

    def check(
        instance: FunnelPolicy, attribute: attrs.Attribute[Any], value: object
    ) -> None:
        if is_unordered(value):
            _reject(
                instance,
                attribute,
                value,
                expected + ", in order (a set's order changes from process to process)",
            )
        if not isinstance(value, tuple) or (required and not value):
            _reject(instance, attribute, value, expected)
        _check_parts(attribute.name, value, kind, reserved=reserved)

    return check


def _check_version(
    instance: FunnelPolicy, attribute: attrs.Attribute[Any], value: object
) -> None:
    if type(value) is not int or value < 1:
        _reject(instance, attribute, value, "a whole number of 1 or more")


def _check_scoring(
    instance: FunnelPolicy, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, ScoringModel):
        _reject(instance, attribute, value, "a funnelkit.ScoringModel")


@attrs.frozen(kw_only=True)
class FunnelPolicy:
    """The funnel, as marketing and sales agreed it: one validated value.

    Args:
        name: The policy's name (``"b2b-saas"``).
        version: Its version, a whole number bumped on every change, so every
            recorded move can say which agreement made it.
        stages: The stages, in the order reports show them (a set's sorted
            by name).
        transitions: The allowed moves, in a list or tuple: automatic ones
            are tried in this order, the first whose guard passes fires (a
            set, whose order changes from process to process, is refused).
        initial: The stage a new lead enters.
        scoring: The scoring model behind the score criteria.
        slas: The service-level rules (:class:`SlaRule`), each on a stage
            (a set's sorted by name).
        calendar: The :class:`BusinessCalendar` of the rules that count
            business time and have no calendar of their own.

    Raises:
        PolicyError: naming the offending part: a duplicate stage or
            transition name, an unknown stage in a transition, a transition
            from a stage to itself, an exit from a won or lost stage not
            marked ``reopen``, an initial stage that is missing, won or lost,
            or a stage no transition reaches from the initial stage; an SLA
            rule with a duplicate name, an unknown stage, business time and
            no calendar, or a breach move the transitions do not allow; a
            guard or ``met_by`` that asks for a score of a dimension, or a
            fit grade, that the scoring model does not have.

    Attributes:
        fingerprint: A SHA-256 (hex) of the policy's content, stable across
            processes: equal policies have equal fingerprints, and any
            change a policy file can show changes it, but for a number's
            spelling (``40`` and ``40.0`` are one number to it). Store it
            beside a decision to know which policy made it.

    Automatic moves chain (``lead -> mql -> sql`` in one call, with a
    :class:`StageChanged` event for each move, when both guards pass). A
    chain longer than the number of stages must go round a cycle of
    automatic transitions whose guards all pass: the engine stops it with a
    :class:`~funnelkit.errors.PolicyError`, and the call changes nothing.
    """

    name: str = attrs.field(validator=policy_name)
    version: int = attrs.field(validator=_check_version)
    stages: tuple[Stage, ...] = attrs.field(
        converter=_sorted_by_name,
        validator=_parts_of(Stage, required=True, reserved=ANY_OPEN),
    )
    transitions: tuple[Transition, ...] = attrs.field(
        converter=_in_order, validator=_parts_of(Transition)
    )
    initial: str = attrs.field()
    scoring: ScoringModel = attrs.field(validator=_check_scoring)
    slas: tuple[SlaRule, ...] = attrs.field(
        default=(), converter=_sorted_by_name, validator=_parts_of(SlaRule)
    )
    calendar: BusinessCalendar | None = attrs.field(default=None)
    _by_name: Mapping[str, Stage] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # Per stage, the transitions out of it in declaration order: all of them,
    # and the automatic ones; per (source, target), the transitions between.
    _exits: Mapping[str, tuple[Transition, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _autos: Mapping[str, tuple[Transition, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _between: Mapping[tuple[str, str], tuple[Transition, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )

    @functools.cached_property
    def fingerprint(self) -> str:
        """A SHA-256 (hex) of the policy's content, stable across processes.

        Equal policies have equal fingerprints; any change a policy file can
        show changes it, but for a number's spelling: a number counts by its
        value, so a threshold of ``40.0`` (or a limit of ``-0.0``) gives the
        fingerprint that ``40`` (or ``0``) gives, while ``True`` is not
        ``1``. Store it beside a decision to know which policy made it.
        Computed once per policy (the policy never changes).

        Raises:
            PolicyError: the policy holds a part a policy file cannot write:
                a criterion that is not an attrs class, or a decay or value
                test of your own (a :class:`~funnelkit.Funnel` on a store
                then skips its check of the store's policy).
        """
        # The content is the policy file's data, which lives above this
        # module: import it here, not at the top, to keep imports one way.
        from funnelkit._config import fingerprint  # noqa: PLC0415

        return fingerprint(self)

    @initial.validator
    def _check_initial(self, attribute: attrs.Attribute[Any], value: object) -> None:
        names = {stage.name: stage for stage in self.stages}
        if not isinstance(value, str) or value not in names:
            _reject(self, attribute, value, f"one of the stages: {_names(names)}")
        if names[value].is_final:
            _reject(self, attribute, value, "an open or nurture stage, not won or lost")

    def __attrs_post_init__(self) -> None:
        by_name = {stage.name: stage for stage in self.stages}
        exits: dict[str, list[Transition]] = {name: [] for name in by_name}
        for position, transition in enumerate(self.transitions):
            for source in _sources_of(transition, position, self.stages, by_name):
                exits[source].append(transition)
        _check_reached(self.initial, self.stages, exits)
        between: dict[tuple[str, str], list[Transition]] = {}
        for source, found in exits.items():
            for transition in found:
                between.setdefault((source, transition.target), []).append(transition)
        values = {
            "_by_name": by_name,
            "_exits": {name: tuple(found) for name, found in exits.items()},
            "_autos": {
                name: tuple(t for t in found if t.auto) for name, found in exits.items()
            },
            "_between": {pair: tuple(found) for pair, found in between.items()},
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self._check_sla_rules()
        self._check_dimensions()

    def _check_dimensions(self) -> None:
        """Check that the scores and grades the guards read are the model's."""
        known = ("total", *self.scoring.dimensions)
        letters = [letter for letter, _ in self.scoring.grades.fit]
        guards = [
            (f"transitions[{position}].guard", transition.guard)
            for position, transition in enumerate(self.transitions)
        ]
        guards += [
            (f"slas[{position}].met_by", rule.met_by)
            for position, rule in enumerate(self.slas)
            if not isinstance(rule.met_by, str | frozenset)
        ]
        for field, guard in guards:
            for leaf in _leaves(guard):
                if isinstance(leaf, ScoreAtLeast) and leaf.dimension not in known:
                    raise PolicyError(
                        owner="FunnelPolicy",
                        field=field,
                        value=leaf,
                        expected=(
                            f"a score of a dimension of the scoring model "
                            f"{self.scoring.name!r}: {', '.join(known)}"
                        ),
                    )
                # A letter without grades of its own is ranked in the model's.
                if (
                    isinstance(leaf, GradeAtLeast)
                    and leaf.grades is None
                    and leaf.letter not in letters
                ):
                    raise PolicyError(
                        owner="FunnelPolicy",
                        field=field,
                        value=leaf,
                        expected=(
                            f"a fit grade of the scoring model "
                            f"{self.scoring.name!r}: {', '.join(letters)}"
                        ),
                    )

    @calendar.validator
    def _check_calendar(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, BusinessCalendar):
            _reject(self, attribute, value, "a funnelkit.BusinessCalendar or None")

    def _check_sla_rules(self) -> None:
        """Check the SLA rules against the stages, transitions and calendar."""
        for position, rule in enumerate(self.slas):
            if rule.stage not in self._by_name:
                raise PolicyError(
                    owner="FunnelPolicy",
                    field=f"slas[{position}].stage",
                    value=rule.stage,
                    expected=f"one of the stages: {_names(self._by_name)}",
                )
            if rule.business and rule.calendar is None and self.calendar is None:
                raise PolicyError(
                    owner="FunnelPolicy",
                    field=f"slas[{position}].within",
                    value=rule.within,
                    expected=(
                        f"a calendar to count {rule.within} on: the rule's, "
                        "or the policy's calendar (a [calendar] table in a "
                        "policy file, with its timezone and hours)"
                    ),
                )
            breach = rule.on_breach
            if not isinstance(breach, MoveTo):
                continue
            moves = self.transitions_between(rule.stage, breach.stage)
            if not moves:
                targets = ", ".join(self.targets(rule.stage)) or "none"
                raise PolicyError(
                    owner="FunnelPolicy",
                    field=f"slas[{position}].on_breach",
                    value=breach,
                    expected=(
                        f"a move the transitions allow from {rule.stage} "
                        f"(to: {targets})"
                    ),
                )
            if not any(
                not move.reasons or breach.reason in move.reasons for move in moves
            ):
                raise PolicyError(
                    owner="FunnelPolicy",
                    field=f"slas[{position}].on_breach",
                    value=breach,
                    expected=(
                        "a reason the move accepts: "
                        + ", ".join(code for move in moves for code in move.reasons)
                    ),
                )

    @property
    def label(self) -> str:
        """``name@version``, as reprs and records show the policy."""
        return f"{self.name}@{self.version}"

    def stage(self, name: str) -> Stage:
        """Return the stage called *name*.

        Raises:
            PolicyError: the policy has no such stage.
        """
        found = self._by_name.get(name) if isinstance(name, str) else None  # type: ignore[redundant-expr] # callers may pass anything
        if found is None:
            raise PolicyError(
                owner=f"FunnelPolicy {self.label!r}",
                field="stage",
                value=name,
                expected=f"one of the stages: {_names(self._by_name)}",
            )
        return found

    def exits(self, stage: str) -> tuple[Transition, ...]:
        """Return the transitions out of *stage*, in declaration order."""
        return self._exits[self.stage(stage).name]

    def targets(self, stage: str) -> tuple[str, ...]:
        """Return the stages a lead in *stage* can move to, in declaration order."""
        return tuple(dict.fromkeys(t.target for t in self.exits(stage)))

    def transitions_between(self, source: str, target: str) -> tuple[Transition, ...]:
        """Return the transitions from *source* to *target*, in declaration order."""
        found = (
            self._between.get((source, target))
            if isinstance(source, str) and isinstance(target, str)  # type: ignore[redundant-expr] # callers may pass anything
            else None
        )
        if found is None:
            self.stage(source)
            self.stage(target)
            return ()
        return found


def _sources_of(
    transition: Transition,
    position: int,
    stages: tuple[Stage, ...],
    by_name: Mapping[str, Stage],
) -> list[str]:
    """Return the stages *transition* leaves, checking it against the stages."""
    owner = "FunnelPolicy"
    at = f"transitions[{position}]"
    named = [(transition.target, f"{at}.target")]
    named += [(source, f"{at}.source") for source in transition.source]
    for name, field in named:
        if name != ANY_OPEN and name not in by_name:
            raise PolicyError(
                owner=owner,
                field=field,
                value=name,
                expected=f"one of the stages: {_names(by_name)}",
            )
    if transition.source == (ANY_OPEN,):
        return [
            stage.name
            for stage in stages
            if not stage.is_final and stage.name != transition.target
        ]
    for source in transition.source:
        if source == transition.target:
            raise PolicyError(
                owner=owner,
                field=f"{at}.target",
                value=transition.target,
                expected="a stage other than the source",
            )
        if by_name[source].is_final and not transition.reopen:
            raise PolicyError(
                owner=owner,
                field=f"{at}.reopen",
                value=False,
                expected=(
                    f"True: it leaves {source!r}, a {by_name[source].kind} "
                    "stage, which only a re-open may leave"
                ),
            )
    return list(transition.source)


def _leaves(criterion: object) -> Iterable[object]:
    """The criteria in *criterion* that are not built-in combinators."""
    if isinstance(criterion, AllOf | AnyOf | AtLeast):
        for part in criterion.criteria:
            yield from _leaves(part)
    elif isinstance(criterion, Not):
        yield from _leaves(criterion.criterion)
    else:
        yield criterion


def _check_reached(
    initial: str, stages: tuple[Stage, ...], exits: Mapping[str, list[Transition]]
) -> None:
    """Raise unless every stage can be reached from *initial*."""
    reached = {initial}
    frontier = [initial]
    while frontier:
        for transition in exits[frontier.pop()]:
            if transition.target not in reached:
                reached.add(transition.target)
                frontier.append(transition.target)
    for position, stage in enumerate(stages):
        if stage.name not in reached:
            raise PolicyError(
                owner="FunnelPolicy",
                field=f"stages[{position}]",
                value=stage.name,
                expected=f"a stage some transition reaches from {initial!r}",
            )


def _names(stages: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in stages)
