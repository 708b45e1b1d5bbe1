"""ScoringModel: explainable fit and engagement scores, computed when read."""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from types import EllipsisType
from typing import Any, overload

import attrs

from funnelkit._decay import Decay, HalfLife, LinearDecay
from funnelkit._frozen import FrozenMap
from funnelkit._lead import Activity, Lead
from funnelkit._predicates import _Missing
from funnelkit._rules import (
    ActivityRule,
    AttributeRule,
    Rule,
    lead_value,
    rule_sequence,
)
from funnelkit._time import require_aware
from funnelkit._validators import Scalar
from funnelkit.errors import PolicyError, ValidationError

__all__ = ["Contribution", "Grades", "Score", "ScoreState", "ScoringModel"]

_INF = math.inf
_VERDICT_CACHE = 65_536


def _r(value: float) -> float:
    """Round to the millionth (the precision of every reported number)."""
    return round(value, 6) + 0.0  # + 0.0 turns -0.0 into 0.0


def _fmt(value: float) -> str:
    text = f"{value:+.6f}".rstrip("0").rstrip(".")
    return "+0" if text in {"+0", "-0"} else text


def _num(value: float) -> str:
    return _fmt(value).removeprefix("+")


def _bands(value: object) -> object:
    if isinstance(value, Mapping):
        return tuple(value.items())
    if isinstance(value, list):
        return tuple(tuple(item) if isinstance(item, list) else item for item in value)
    return value


def _check_bands(
    instance: Grades, attribute: attrs.Attribute[Any], value: object
) -> None:
    expected = (
        "letters with descending minimum points, the last with None, "
        "e.g. {'A': 60, 'B': 40, 'C': 20, 'D': None}"
    )
    if (
        not isinstance(value, tuple)
        or not value
        or not all(isinstance(band, tuple) and len(band) == 2 for band in value)  # noqa: PLR2004 -- (letter, minimum)
    ):
        raise PolicyError(
            owner="Grades", field=attribute.name, value=value, expected=expected
        )
    letters = [letter for letter, _ in value]
    minimums = [minimum for _, minimum in value]
    if (
        not all(isinstance(letter, str) and letter.strip() for letter in letters)
        or len(set(letters)) != len(letters)
        or minimums[-1] is not None
        or not all(
            isinstance(m, int | float) and not isinstance(m, bool) and math.isfinite(m)
            for m in minimums[:-1]
        )
        or any(a <= b for a, b in pairwise(minimums[:-1]))
    ):
        raise PolicyError(
            owner="Grades", field=attribute.name, value=value, expected=expected
        )


@attrs.frozen(kw_only=True)
class Grades:
    """Letter bands on fit, and number bands on engagement.

    Each band is ``(label, minimum points)``, best first; the last band takes
    everything below and has ``None`` as its minimum. The fit letter is the
    lead's *grade*; with the engagement band it makes the *matrix* label
    (``"A1"``: best fit, most engaged) that sales teams read at a glance.

    >>> grades = Grades()
    >>> grades.fit_grade(45), grades.engagement_band(70)
    ('B', '1')
    """

    fit: tuple[tuple[str, float | None], ...] = attrs.field(
        default=(("A", 60), ("B", 40), ("C", 20), ("D", None)),
        converter=_bands,
        validator=_check_bands,
    )
    engagement: tuple[tuple[str, float | None], ...] = attrs.field(
        default=(("1", 60), ("2", 40), ("3", 20), ("4", None)),
        converter=_bands,
        validator=_check_bands,
    )

    @staticmethod
    def _band(bands: tuple[tuple[str, float | None], ...], points: float) -> str:
        for letter, minimum in bands:
            if minimum is None or points >= minimum:
                return letter
        raise AssertionError  # pragma: no cover -- the last band has no minimum

    def fit_grade(self, points: float) -> str:
        """Return the fit letter for *points*."""
        return self._band(self.fit, points)

    def engagement_band(self, points: float) -> str:
        """Return the engagement band for *points*."""
        return self._band(self.engagement, points)

    def rank(self, letter: str) -> int:
        """Return the position of a fit letter, 0 for the best.

        Raises:
            PolicyError: *letter* is not one of the fit letters.
        """
        for position, (known, _) in enumerate(self.fit):
            if known == letter:
                return position
        raise PolicyError(
            owner="Grades",
            field="letter",
            value=letter,
            expected="one of " + ", ".join(repr(known) for known, _ in self.fit),
        )


@attrs.frozen(kw_only=True)
class Contribution:
    """One line of a score's ledger: what a rule added, and why.

    ``raw + decay + cap == points``, to the millionth: ``raw`` is the rule's
    points times the activities counted (an attribute rule's points), ``decay``
    what their age took away, ``cap`` what ``max_points`` took away. A limit on
    a dimension appears as its own line, named ``"limit on <dimension>"``.

    Attributes:
        rule: The rule's name (its label).
        dimension: The score it adds to.
        points: What it adds to that score.
        raw: Points before decay and caps.
        decay: The change decay made (zero or opposite in sign to ``raw``).
        cap: The change ``max_points`` or a dimension limit made.
        activity_ids: The activities counted, oldest first.
        skipped_ids: The activities a frequency cap left out.
        note: Why the rule applied, in words.
    """

    rule: str
    dimension: str
    points: float
    raw: float = 0.0
    decay: float = 0.0
    cap: float = 0.0
    activity_ids: tuple[str, ...] = ()
    skipped_ids: tuple[str, ...] = ()
    note: str = ""


class _Ledger(Sequence[Contribution]):
    """A score's contributions, built on first use.

    Reading a score must not cost time in proportion to a lead's history, so
    the activity ids stay as views into the scorer's append-only lists until
    someone asks for them.
    """

    __slots__ = ("_built", "_specs")

    def __init__(self, specs: list[Any]) -> None:
        self._specs: list[Any] | None = specs
        self._built: tuple[Contribution, ...] = ()

    def _items(self) -> tuple[Contribution, ...]:
        if self._specs is not None:
            self._built = tuple(
                spec
                if isinstance(spec, Contribution)
                else _build_line(*spec)
                if isinstance(spec, tuple)
                else spec.build()
                for spec in self._specs
            )
            self._specs = None
        return self._built

    @overload
    def __getitem__(self, index: int) -> Contribution: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Contribution]: ...
    def __getitem__(self, index: int | slice) -> Contribution | Sequence[Contribution]:
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._specs) if self._specs is not None else len(self._built)

    def __iter__(self) -> Iterator[Contribution]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self._items() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


def _build_line(  # noqa: PLR0913, PLR0917 -- a ledger line's parts, flat for speed
    dimension: str,
    points: float,
    rule: ActivityRule,
    decayed: float,
    ids: list[str],
    lo: int,
    hi: int,
    skipped: list[str],
    skipped_hi: int,
) -> Contribution:
    """Word an activity rule's ledger line from what a read kept of it."""
    count = hi - lo
    raw = _r(rule.points * count)
    noun = "activity" if count == 1 else "activities"
    note = f"{count} {noun} x {rule.points:g} = {_fmt(raw)}"
    if skipped_hi:
        note += f", {skipped_hi} over the frequency cap"
    return Contribution(
        rule=rule.label,
        dimension=dimension,
        points=points,
        raw=raw,
        decay=_r(decayed - raw),
        cap=_r(points - decayed),
        activity_ids=tuple(ids[lo:hi]),
        skipped_ids=tuple(skipped[:skipped_hi]),
        note=note,
    )


def _frozen_floats(value: Mapping[str, float]) -> Mapping[str, float]:
    return FrozenMap(value)


def _contributions(value: Iterable[Contribution]) -> Sequence[Contribution]:
    return value if isinstance(value, _Ledger) else tuple(value)


@attrs.frozen(kw_only=True)
class Score:
    """A lead's scores at one instant, with the ledger that explains them.

    Attributes:
        model: The name of the scoring model.
        lead_id: The lead scored.
        at: The instant scored: activities after it did not count.
        dimensions: Each dimension's points (``fit``, ``engagement``, and any
            other a rule names).
        grade: The fit letter (see :class:`Grades`).
        band: The engagement band.
        contributions: The ledger: what each rule added, and why. They sum
            to the dimensions exactly (to the millionth).
        notes: Attribute rules that did not match, and why.
    """

    model: str
    lead_id: str
    at: datetime
    dimensions: Mapping[str, float] = attrs.field(converter=_frozen_floats)
    grade: str
    band: str
    contributions: Sequence[Contribution] = attrs.field(converter=_contributions)
    notes: tuple[str, ...] = ()

    @property
    def fit(self) -> float:
        """The fit score: how much the lead looks like an ideal customer."""
        return self.dimensions.get("fit", 0.0)

    @property
    def engagement(self) -> float:
        """The engagement score: how interested the lead is, lately."""
        return self.dimensions.get("engagement", 0.0)

    @property
    def total(self) -> float:
        """Fit plus engagement: the lead score. Other dimensions stand apart."""
        return _r(self.fit + self.engagement)

    @property
    def matrix(self) -> str:
        """The fit letter and engagement band together, e.g. ``"A1"``."""
        return self.grade + self.band

    def __getitem__(self, dimension: str) -> float:
        """Return a dimension's points, or the total for ``"total"``."""
        if dimension == "total":
            return self.total
        return self.dimensions.get(dimension, 0.0)

    def explain(self) -> str:
        """Render the ledger as text a sales rep can read."""
        lines = [
            f"Lead {self.lead_id}, scored by {self.model!r} at {self.at.isoformat()}",
            (
                f"fit {_num(self.fit)} (grade {self.grade}), "
                f"engagement {_num(self.engagement)} (band {self.band}), "
                f"total {_num(self.total)}: {self.matrix}"
            ),
        ]
        others = sorted(set(self.dimensions) - {"fit", "engagement"})
        for dimension in ("fit", "engagement", *others):
            lines.append(f"{dimension} {_num(self.dimensions.get(dimension, 0.0))}")
            for item in self.contributions:
                if item.dimension == dimension:
                    line = f"  {_fmt(item.points):>10}  {item.rule}: {item.note}"
                    if item.decay:
                        line += f"; decay {_fmt(item.decay)}"
                    if item.cap:
                        line += f"; cap {_fmt(item.cap)}"
                    lines.append(line)
        if self.notes:
            lines.append("not counted")
            lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


# -- The per-rule scorer -----------------------------------------------------


_NO_IDS: list[str] = []
_NO_TIMES = array("d")


class _RuleState:
    """One activity rule's view of one lead: what it counted and skipped.

    Keeps running sums so that reading the score as of the latest activity, or
    later, costs the same however long the lead's history: counted activities
    leave a trailing window through a moving start index, half-life decay is
    a sum anchored at the latest counted activity, linear decay a sum of times
    relative to the first. Anything else (reading an earlier instant, step
    decay) computes from the lists. Times are kept in compact arrays, and the
    lists only ever grow, so scores already read keep valid views into them;
    an activity that arrives out of order keeps every activity aside until the
    next read decides them all again, on fresh lists.
    """

    __slots__ = (
        "cap_lo",
        "counted_ids",
        "counted_ts",
        "last_id",
        "last_ts",
        "pending",
        "read_max",
        "rule",
        "skipped_ids",
        "skipped_ts",
        "start",
        "total",
        "tsum",
    )

    def __init__(self, rule: _CompiledRule) -> None:
        self.rule = rule
        self.last_ts = -_INF
        self.last_id = ""
        self.pending: list[tuple[float, str]] | None = None
        self._reset()

    def _reset(self) -> None:
        self.counted_ts = array("d")
        self.counted_ids: list[str] = []
        self.skipped_ts = _NO_TIMES
        self.skipped_ids = _NO_IDS
        self.cap_lo = 0
        self.start = 0
        self.total = 0.0
        self.tsum = 0.0
        self.read_max = -_INF

    def add(self, ts: float, activity_id: str) -> None:
        if ts > self.last_ts or (ts == self.last_ts and activity_id >= self.last_id):
            self.last_ts = ts
            self.last_id = activity_id
            if self.pending is None:
                self._decide(ts, activity_id)
            else:
                self.pending.append((ts, activity_id))
            return
        if self.pending is None:
            self.pending = sorted(
                [
                    *zip(self.counted_ts, self.counted_ids, strict=True),
                    *zip(self.skipped_ts, self.skipped_ids, strict=True),
                ]
            )
        insort(self.pending, (ts, activity_id))

    def _decide(self, ts: float, activity_id: str) -> None:
        rule = self.rule
        counted = self.counted_ts
        if rule.max_count is not None:
            if rule.per is not None:
                floor = ts - rule.per
                while self.cap_lo < len(counted) and counted[self.cap_lo] <= floor:
                    self.cap_lo += 1
            if len(counted) - self.cap_lo >= rule.max_count:
                if self.skipped_ts is _NO_TIMES:
                    self.skipped_ts = array("d")
                    self.skipped_ids = []
                self.skipped_ts.append(ts)
                self.skipped_ids.append(activity_id)
                return
        half = rule.half_life
        if half is not None:
            # Decided in time order: the anchor (the latest counted) only moves on.
            if counted:
                self.total *= 0.5 ** ((ts - counted[-1]) / half)
        elif rule.linear is not None and counted:
            self.tsum += ts - counted[0]
        self.total += 1.0
        counted.append(ts)
        self.counted_ids.append(activity_id)

    def line(self, at: float) -> tuple[Any, ...] | None:
        """Return the rule's ledger line as of *at*, or None if nothing counts."""
        if self.pending is not None:
            self._settle()
        rule = self.rule
        if rule.fast and at >= self.last_ts and at >= self.read_max:
            found = self._running(at)
        else:
            found = self._recount(at)
        if found is None:
            return None
        unit, lo, hi, skipped = found
        decayed = round(rule.points * unit, 6) + 0.0
        final = decayed
        if rule.max_points is not None and abs(decayed) > rule.max_points:
            final = rule.cap_points if decayed > 0 else -rule.cap_points
        return (
            rule.dimension,
            final,
            rule.rule,
            decayed,
            self.counted_ids,
            lo,
            hi,
            self.skipped_ids,
            skipped,
        )

    def _settle(self) -> None:
        """Decide again, in time order, after an activity arrived out of order."""
        pending = self.pending or []
        self.pending = None
        self._reset()
        for ts, activity_id in pending:
            self._decide(ts, activity_id)

    def _running(self, at: float) -> tuple[float, int, int, int] | None:
        """Read the running sums (at or after the latest activity and read)."""
        rule = self.rule
        counted = self.counted_ts
        self.read_max = at
        if rule.window is not None:
            floor = at - rule.window
            while self.start < len(counted) and counted[self.start] < floor:
                self._evict(counted[self.start])
                self.start += 1
        lo, hi = self.start, len(counted)
        if hi <= lo:
            return None
        if rule.half_life is not None:
            unit = self.total * 0.5 ** ((at - counted[-1]) / rule.half_life)
        elif rule.linear is not None:
            count = hi - lo
            unit = max(
                0.0, count - (count * (at - counted[0]) - self.tsum) / rule.linear
            )
        else:
            unit = self.total
        return unit, lo, hi, len(self.skipped_ts)

    def _recount(self, at: float) -> tuple[float, int, int, int] | None:
        """Compute from the lists (an earlier instant, or step decay)."""
        rule = self.rule
        counted = self.counted_ts
        lo = 0 if rule.window is None else bisect_left(counted, at - rule.window)
        hi = bisect_right(counted, at)
        if hi <= lo:
            return None
        if rule.decay is None:
            unit = float(hi - lo)
        else:
            weight = rule.decay.weight
            unit = math.fsum(weight(at - ts) for ts in counted[lo:hi])
        return unit, lo, hi, bisect_right(self.skipped_ts, at)

    def _evict(self, ts: float) -> None:
        rule = self.rule
        if rule.half_life is not None:
            self.total -= 0.5 ** ((self.counted_ts[-1] - ts) / rule.half_life)
        else:
            self.total -= 1.0
            if rule.linear is not None:
                self.tsum -= ts - self.counted_ts[0]


@attrs.frozen
class _CompiledRule:
    """An activity rule with the model's decay resolved and times in seconds."""

    index: int
    rule: ActivityRule
    dimension: str
    points: float
    max_points: float | None
    cap_points: float  # max_points to the millionth, as the ledger reports it
    decay: Decay | None
    max_count: int | None
    per: float | None
    window: float | None
    half_life: float | None
    linear: float | None
    fast: bool


def _compile(
    index: int, rule: ActivityRule, model_decay: Decay | None
) -> _CompiledRule:
    decay = model_decay if isinstance(rule.decay, EllipsisType) else rule.decay
    half_life = decay.period.total_seconds() if isinstance(decay, HalfLife) else None
    linear = decay.period.total_seconds() if isinstance(decay, LinearDecay) else None
    windows = [
        seconds
        for seconds in (
            rule.within.total_seconds() if rule.within is not None else None,
            linear,
        )
        if seconds is not None
    ]
    return _CompiledRule(
        index=index,
        rule=rule,
        dimension=rule.dimension,
        points=rule.points,
        max_points=rule.max_points,
        cap_points=_r(rule.max_points) if rule.max_points is not None else 0.0,
        decay=decay,
        max_count=rule.max_count,
        per=rule.per.total_seconds() if rule.per is not None else None,
        window=min(windows) if windows else None,
        half_life=half_life,
        linear=linear,
        fast=decay is None or half_life is not None or linear is not None,
    )


# -- The model ---------------------------------------------------------------


def _check_name(
    instance: ScoringModel, attribute: attrs.Attribute[str], value: object
) -> None:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(
            owner="ScoringModel", field="name", value=value, expected="a non-empty name"
        )


def _check_rules(
    instance: ScoringModel, attribute: attrs.Attribute[Any], value: object
) -> None:
    owner = f"ScoringModel {instance.name!r}"
    if not isinstance(value, tuple):
        raise PolicyError(
            owner=owner, field="rules", value=value, expected="a sequence of rules"
        )
    seen: dict[str, int] = {}
    for position, rule in enumerate(value):
        if not isinstance(rule, ActivityRule | AttributeRule):
            raise PolicyError(
                owner=owner,
                field=f"rules[{position}]",
                value=rule,
                expected="an ActivityRule or an AttributeRule",
            )
        if rule.label in seen:
            raise PolicyError(
                owner=owner,
                field=f"rules[{position}].name",
                value=rule.label,
                expected=(
                    f"a name no other rule has (rules[{seen[rule.label]}] has it): "
                    "pass name= to tell the rules apart"
                ),
            )
        seen[rule.label] = position


def _check_decay(
    instance: ScoringModel, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None and not isinstance(value, Decay):
        raise PolicyError(
            owner=f"ScoringModel {instance.name!r}",
            field="decay",
            value=value,
            expected="HalfLife(...), StepDecay(...), LinearDecay(...) or None",
        )


def _grades(value: Grades | None) -> Grades:
    return Grades() if value is None else value


def _check_grades(
    instance: ScoringModel, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, Grades):
        raise PolicyError(
            owner=f"ScoringModel {instance.name!r}",
            field="grades",
            value=value,
            expected="a funnelkit.Grades, or None for the default bands",
        )


def _limits(value: object) -> object:
    if value is None:
        return FrozenMap({})
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return FrozenMap(
            {key: tuple(v) if isinstance(v, list) else v for key, v in value.items()}
        )
    return value


def _number_or_none(value: object) -> bool:
    return value is None or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_limits(
    instance: ScoringModel, attribute: attrs.Attribute[Any], value: object
) -> None:
    owner = f"ScoringModel {instance.name!r}"
    if not isinstance(value, FrozenMap):
        raise PolicyError(
            owner=owner,
            field="limits",
            value=value,
            expected="a mapping of dimension names to (low, high), or None",
        )
    known = _dimensions_of(instance.rules)
    for dimension, bounds in value.items():
        if dimension not in known:
            raise PolicyError(
                owner=owner,
                field=f"limits[{dimension!r}]",
                value=dimension,
                expected="a dimension of the model: " + ", ".join(map(repr, known)),
            )
        if (
            not isinstance(bounds, tuple)
            or len(bounds) != 2  # noqa: PLR2004 -- (low, high)
            or not all(_number_or_none(bound) for bound in bounds)
            or bounds == (None, None)
            or (None not in bounds and bounds[0] > bounds[1])
        ):
            raise PolicyError(
                owner=owner,
                field=f"limits[{dimension!r}]",
                value=bounds,
                expected="(low, high) with low <= high, either one None for no bound",
            )


def _dimensions_of(rules: Iterable[object]) -> tuple[str, ...]:
    others = sorted(
        {
            rule.dimension
            for rule in rules
            if isinstance(rule, ActivityRule | AttributeRule)
        }
        - {"fit", "engagement"}
    )
    return ("fit", "engagement", *others)


@attrs.frozen
class ScoringModel:
    """Rules that score a lead's fit and engagement, explainably.

    Args:
        name: The model's name, shown in explanations.
        rules: :class:`ActivityRule` and :class:`AttributeRule` objects; each
            name (or derived label) must be unique.
        decay: The decay of every activity rule that does not set its own
            (``None``: points never fade).
        grades: Fit letters and engagement bands (:class:`Grades` by default).
        limits: ``(low, high)`` per dimension, e.g. ``{"engagement": (0, 100)}``:
            a dimension never leaves its limits, and the clamp is a line of
            the ledger.

    Scoring happens in a fixed order, for each activity rule: frequency caps
    choose the counted activities (in time order, over the lead's whole
    history up to the instant scored), ``within`` keeps those recent enough,
    decay scales each by its age, ``max_points`` caps the rule's total; then
    the dimension limits clamp each dimension's sum.
    """

    name: str = attrs.field(validator=_check_name)
    rules: tuple[Rule, ...] = attrs.field(
        converter=rule_sequence, validator=_check_rules
    )
    decay: Decay | None = attrs.field(
        kw_only=True, default=None, validator=_check_decay
    )
    grades: Grades = attrs.field(
        kw_only=True, default=None, converter=_grades, validator=_check_grades
    )
    limits: Mapping[str, tuple[float | None, float | None]] = attrs.field(
        kw_only=True, default=None, converter=_limits, validator=_check_limits
    )
    _activity_rules: tuple[_CompiledRule, ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _by_kind: Mapping[str, tuple[int, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _attribute_rules: tuple[tuple[int, AttributeRule], ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _dimensions: tuple[str, ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # A memo of worded verdicts, shared by the scorers of this model; it holds
    # derived text only, so equality and hashing ignore it.
    _verdicts: dict[tuple[int, type, object], Contribution | str] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        compiled = tuple(
            _compile(index, rule, self.decay)
            for index, rule in enumerate(
                r for r in self.rules if isinstance(r, ActivityRule)
            )
        )
        by_kind: dict[str, list[int]] = {}
        for item in compiled:
            for kind in sorted(item.rule.kind):
                by_kind.setdefault(kind, []).append(item.index)
        object.__setattr__(self, "_activity_rules", compiled)
        object.__setattr__(
            self,
            "_attribute_rules",
            tuple(
                (index, rule)
                for index, rule in enumerate(self.rules)
                if isinstance(rule, AttributeRule)
            ),
        )
        object.__setattr__(self, "_dimensions", _dimensions_of(self.rules))
        object.__setattr__(self, "_verdicts", {})
        object.__setattr__(
            self,
            "_by_kind",
            {kind: tuple(indices) for kind, indices in by_kind.items()},
        )

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The model's dimensions: fit, engagement, then the others by name."""
        return self._dimensions

    def scorer(self, lead: Lead) -> ScoreState:
        """Return an incremental scorer for *lead*: add activities, read scores."""
        return ScoreState(self, lead)

    def score(
        self, lead: Lead, activities: Iterable[Activity], *, at: datetime
    ) -> Score:
        """Score *lead* at *at*, from its *activities* (those after *at* do not count).

        Pure: the same lead, activities and instant always give the same score.

        Raises:
            NaiveDatetimeError: *at* has no time zone.
            ValidationError: an activity is not the lead's.
        """
        require_aware(at, field="at", owner="ScoringModel.score")
        state = ScoreState(self, lead)
        limit = at.timestamp()
        items = activities if isinstance(activities, list | tuple) else list(activities)
        timed = []
        for position, activity in enumerate(items):
            if type(activity) is not Activity or activity.lead_id != lead.id:
                state._check(activity)  # noqa: SLF001 -- same module
            ts = activity.at.timestamp()
            if ts <= limit:
                # The position breaks ties of time and id without comparing activities.
                timed.append((ts, activity.id, position))
        timed.sort()
        for ts, _, position in timed:
            state._add_at(items[position], ts)  # noqa: SLF001 -- same module
        return state.score(at)


def _verdict(rule: AttributeRule, value: Scalar | _Missing) -> Contribution | str:
    """Return the ledger line of a matching rule, or the note of one that fails."""
    passed, why = rule.test.evaluate(value)
    if not passed:
        return f"{rule.label}: {rule.attribute} {why}"
    return Contribution(
        rule=rule.label,
        dimension=rule.dimension,
        points=_r(rule.points),
        raw=_r(rule.points),
        note=f"{rule.attribute} {why}",
    )


class ScoreState:
    """An incremental scorer for one lead: add activities, read the score.

    Its scores always equal :meth:`ScoringModel.score` on the same activities.
    Adding costs the same however many activities the lead has, unless an
    activity arrives out of time order under a frequency cap; reading as of the
    latest activity or later does not rescan the history.
    """

    __slots__ = (
        "_attribute_specs",
        "_count",
        "_lead",
        "_model",
        "_notes",
        "_states",
    )

    def __init__(self, model: ScoringModel, lead: Lead) -> None:
        if not isinstance(lead, Lead):
            raise ValidationError(
                owner="ScoringModel.scorer",
                field="lead",
                value=lead,
                expected="a funnelkit.Lead",
            )
        self._model = model
        self._lead = lead
        self._states: list[_RuleState | None] = [None] * len(
            model._activity_rules  # noqa: SLF001 -- same module
        )
        self._count = 0
        specs: list[Contribution] = []
        notes: list[str] = []
        verdicts = model._verdicts  # noqa: SLF001 -- same module
        for index, rule in model._attribute_rules:  # noqa: SLF001 -- same module
            value = lead_value(lead, rule.attribute)
            # Leads share attribute values ("software", "DE"): each rule words
            # its verdict on a value once, not once per lead.
            key = (index, type(value), value)
            verdict = verdicts.get(key)
            if verdict is None:
                if len(verdicts) >= _VERDICT_CACHE:
                    verdicts.clear()
                verdict = verdicts[key] = _verdict(rule, value)
            if isinstance(verdict, Contribution):
                specs.append(verdict)
            else:
                notes.append(verdict)
        self._attribute_specs = tuple(specs)
        self._notes = tuple(notes)

    @property
    def lead(self) -> Lead:
        """The lead being scored."""
        return self._lead

    @property
    def model(self) -> ScoringModel:
        """The model that scores it."""
        return self._model

    def __len__(self) -> int:
        """The number of activities added."""
        return self._count

    def __repr__(self) -> str:
        return (
            f"<funnelkit.ScoreState model={self._model.name!r} "
            f"lead={self._lead.id!r} activities={self._count}>"
        )

    def add(self, activity: Activity) -> None:
        """Add one of the lead's activities, in any time order.

        Raises:
            ValidationError: *activity* is not an Activity of this lead.
        """
        self._check(activity)
        self._add_at(activity, activity.at.timestamp())

    def _check(self, activity: object) -> None:
        """Raise unless *activity* is an Activity of this lead.

        Raises:
            ValidationError: it is not.
        """
        if not isinstance(activity, Activity) or activity.lead_id != self._lead.id:
            raise ValidationError(
                owner="ScoreState.add",
                field="activity",
                value=activity,
                expected=f"an Activity of lead {self._lead.id!r}",
            )

    def _add_at(self, activity: Activity, ts: float) -> None:
        """Add a checked *activity* whose time is *ts* (seconds since 1970 UTC)."""
        model = self._model
        indices = model._by_kind.get(activity.kind)  # noqa: SLF001 -- same module
        self._count += 1
        if not indices:
            return
        compiled = model._activity_rules  # noqa: SLF001 -- same module
        states = self._states
        for index in indices:
            item = compiled[index]
            if item.rule.where is not None and not item.rule.accepts(
                activity.properties
            ):
                continue
            state = states[index]
            if state is None:
                state = states[index] = _RuleState(item)
            state.add(ts, activity.id)

    def score(self, at: datetime) -> Score:
        """Return the score at *at*; activities added with later times do not count.

        Raises:
            NaiveDatetimeError: *at* has no time zone.
        """
        if type(at) is not datetime or at.utcoffset() is None:
            require_aware(at, field="at", owner="ScoreState.score")
        now = at.timestamp()
        specs: list[Any] = list(self._attribute_specs)
        sums: dict[str, list[float]] = {key: [] for key in self._model.dimensions}
        for item in self._attribute_specs:
            sums[item.dimension].append(item.points)
        for state in self._states:
            if state is not None:
                found = state.line(now)
                if found is not None:
                    specs.append(found)
                    sums[found[0]].append(found[1])
        return _assemble(self._model, self._lead.id, at, specs, sums, notes=self._notes)


class _Clamp:
    """A dimension limit's ledger line, worded only when someone reads it."""

    __slots__ = ("bound", "dimension", "points", "side")

    def __init__(self, dimension: str, points: float, bound: float, side: str) -> None:
        self.dimension = dimension
        self.points = points
        self.bound = bound
        self.side = side

    def build(self) -> Contribution:
        return Contribution(
            rule=f"limit on {self.dimension}",
            dimension=self.dimension,
            points=self.points,
            cap=self.points,
            note=f"{self.dimension} is kept {self.side} {self.bound:g}",
        )


def _assemble(  # noqa: PLR0913 -- the parts of a score, gathered by ScoreState.score
    model: ScoringModel,
    lead_id: str,
    at: datetime,
    specs: list[Any],
    sums: dict[str, list[float]],
    *,
    notes: tuple[str, ...],
) -> Score:
    dimensions: dict[str, float] = {}
    limits = model.limits
    for dimension, points in sums.items():
        value = round(math.fsum(points), 6) + 0.0
        if dimension in limits:
            low, high = limits[dimension]
            if low is not None and value < low:
                specs.append(_Clamp(dimension, _r(low - value), low, "at least"))
                value = _r(low)
            elif high is not None and value > high:
                specs.append(_Clamp(dimension, _r(high - value), high, "at most"))
                value = _r(high)
        dimensions[dimension] = value
    grades = model.grades
    return Score(
        model=model.name,
        lead_id=lead_id,
        at=at,
        dimensions=dimensions,
        grade=grades.fit_grade(dimensions["fit"]),
        band=grades.engagement_band(dimensions["engagement"]),
        contributions=_Ledger(specs),
        notes=notes,
    )
