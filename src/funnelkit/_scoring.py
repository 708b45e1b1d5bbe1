"""ScoringModel: explainable fit and engagement scores, computed when read."""

from __future__ import annotations

import math
import operator
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from types import EllipsisType, MemberDescriptorType
from typing import Any, TypeVar

import attrs

from funnelkit._decay import Decay, HalfLife, LinearDecay
from funnelkit._frozen import Deferred, FrozenMap
from funnelkit._lead import Activity, Lead
from funnelkit._predicates import _Missing
from funnelkit._rules import (
    ActivityRule,
    AttributeRule,
    Rule,
    is_points,
    number_text,
    rule_sequence,
    value_getter,
)
from funnelkit._time import require_aware
from funnelkit._validators import (
    Scalar,
    aware_datetime,
    check_items,
    is_finite,
    is_finite_number,
    is_items,
    reject,
    unchecked,
)
from funnelkit.errors import PolicyError, ValidationError

__all__ = ["Contribution", "Grades", "Score", "ScoreState", "ScoringModel"]

_INF = math.inf
_MICROSECOND = timedelta(microseconds=1)
_NEG_INF = -math.inf  # one float, not a new one per use
# No rule's points reach this many millionths: at most 1e9 points an activity.
_UNCAPPED = 10**30
_VERDICT_CACHE = 65_536
# Score parts shared between leads, at most: enough for the values leads
# repeat, few enough that values which never repeat (a decaying sum) cost
# nothing per lead.
_SHARED_CACHE = 1_024


_H = TypeVar("_H", bound=Hashable)


def _micros(value: float) -> int:
    """Return *value* in millionths, rounded half to even.

    Every reported number is a whole number of millionths, so that sums are
    exact: they are summed as ints, and a float holds every millionth of a
    number up to 2**33 points (some 8.5 billion: a millionth needs 20 of a
    float's 53 bits). Beyond, as ten activities of a billion points reach, a
    reported number is the float nearest its millionths, which may be off in
    the sixth decimal. A float the scorer makes by multiplying, a constant
    rule's points (a whole number of millionths) times its count, comes back
    here to its millionths exactly up to 2**31 points (some 2.1 billion):
    beyond, the product's own rounding adds to the float's, and one with a
    fraction (six activities of 999,999,999.3 points) may be one millionth
    off.

    Rounded by the number's ``__round__``, as ``round()`` is, without the
    look-up ``round()`` makes at each call (a bound method, made and freed):
    a record rounds four or five times, and saves 500 instructions a time.
    The module rounds this way throughout.
    """
    return (value * 1_000_000).__round__()


def _r(value: float) -> float:
    """Round to the millionth (the precision of every reported number)."""
    return (value * 1_000_000).__round__() / 1_000_000


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
        or not all(is_finite_number(m) for m in minimums[:-1])
        or any(a <= b for a, b in pairwise(minimums[:-1]))
    ):
        raise PolicyError(
            owner="Grades", field=attribute.name, value=value, expected=expected
        )


def _band_index(
    bands: tuple[tuple[str, float | None], ...],
) -> tuple[list[float], tuple[str, ...]]:
    minimums = [float(minimum) for _, minimum in reversed(bands) if minimum is not None]
    return minimums, tuple(label for label, _ in reversed(bands))


def _checked_points(points: object, owner: str) -> float:
    """Return *points* if a number (not a bool, not NaN); else refuse them."""
    if type(points) not in (int, float) or math.isnan(points):  # type: ignore[arg-type] # an int or a float here
        raise ValidationError(
            owner=owner, field="points", value=points, expected="a number of points"
        )
    return points  # type: ignore[return-value] # checked just above


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

    # Each side's minimums in ascending order, and its labels worst first: the
    # label of some points is then one bisection away.
    _fit_index: tuple[list[float], tuple[str, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _engagement_index: tuple[list[float], tuple[str, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # Each fit letter's position, 0 for the best: a rank is one look-up (a
    # dict, never changed: its get is the fastest).
    _ranks: dict[str, int] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_fit_index", _band_index(self.fit))
        object.__setattr__(self, "_engagement_index", _band_index(self.engagement))
        ranks = {letter: position for position, (letter, _) in enumerate(self.fit)}
        object.__setattr__(self, "_ranks", ranks)

    def fit_grade(self, points: float) -> str:
        """Return the fit letter for *points*.

        Raises:
            ValidationError: *points* is not a number (NaN included).
        """
        return self._fit_grade(_checked_points(points, "Grades.fit_grade"))

    def engagement_band(self, points: float) -> str:
        """Return the engagement band for *points*.

        Raises:
            ValidationError: *points* is not a number (NaN included).
        """
        return self._band(_checked_points(points, "Grades.engagement_band"))

    def _fit_grade(self, points: float) -> str:
        minimums, labels = self._fit_index
        return labels[bisect_right(minimums, points)]

    def _band(self, points: float) -> str:
        minimums, labels = self._engagement_index
        return labels[bisect_right(minimums, points)]

    def rank(self, letter: str) -> int:
        """Return the position of a fit letter, 0 for the best.

        Raises:
            PolicyError: *letter* is not one of the fit letters.
        """
        given: object = letter  # any value at run time, whatever the types say
        position = self._ranks.get(letter) if isinstance(given, str) else None
        if position is None:
            raise PolicyError(
                owner="Grades",
                field="letter",
                value=letter,
                expected="one of " + ", ".join(repr(known) for known, _ in self.fit),
            )
        return position

    def _minimum(self, letter: str) -> float | None:
        """The fit points *letter* starts at; None for the last, or an unknown one."""
        position = self._ranks.get(letter)
        return None if position is None else self.fit[position][1]


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str:
        reject(instance, attribute, value, "a string")


def _is_number(value: object) -> bool:
    """An int or float (not a bool), finite as a float: points as a score holds them."""
    kind = type(value)
    return (kind is int or kind is float) and is_finite(value)  # type: ignore[arg-type] # a number here


def _number(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not _is_number(value):
        reject(instance, attribute, value, "a finite number of points")


def _tuple_of_items(value: object) -> object:
    """A list (any iterable of items) as a tuple; anything else for the validator."""
    if type(value) is tuple or not is_items(value):
        return value
    return tuple(value)


def _texts(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not tuple or not all(type(item) is str for item in value):
        reject(instance, attribute, value, "a tuple of strings")


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

    rule: str = attrs.field(validator=_text)
    dimension: str = attrs.field(validator=_text)
    points: float = attrs.field(validator=_number)
    raw: float = attrs.field(default=0.0, validator=_number)
    decay: float = attrs.field(default=0.0, validator=_number)
    cap: float = attrs.field(default=0.0, validator=_number)
    activity_ids: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple_of_items, validator=_texts
    )
    skipped_ids: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple_of_items, validator=_texts
    )
    note: str = attrs.field(default="", validator=_text)


class _Ledger(Deferred[Contribution]):
    """A score's contributions, built on first use.

    Reading a score must not cost time in proportion to a lead's history, so
    the activity ids stay as views into the scorer's append-only lists until
    someone asks for them. Specs are finished lines, clamps, snapshots of a
    rule's running sums (worded as of *at*), or the parts of a computed line.
    """

    __slots__ = ("_at", "_built", "_head", "_rules", "_table", "_tail")

    def __init__(
        self,
        head: tuple[Contribution, ...],
        rules: Sequence[tuple[Any, ...]],
        tail: Sequence[_Clamp],
        at: float,
        table: tuple[_CompiledRule, ...],
    ) -> None:
        self._head = head
        self._rules: Sequence[tuple[Any, ...]] | None = rules
        self._tail = tail
        self._at = at
        self._table = table
        self._built: tuple[Contribution, ...] = ()

    def _items(self) -> tuple[Contribution, ...]:
        if self._rules is not None:
            self._built = (
                *self._head,
                *(_new_line(*parts) for parts in self._computed(self._rules)),
                *(clamp.build() for clamp in self._tail),
            )
            self._rules = None
        return self._built

    def _computed(self, rules: Sequence[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """The fields of the activity rules' lines, worded now, in rule order."""
        at = self._at
        table = self._table
        for spec in sorted(rules, key=_first):
            if len(spec) == _COMPUTED:
                yield _line_parts(table[spec[0]], *spec[1:])
            else:
                yield _snap_parts(table[spec[0]], spec, at)

    def rows(self) -> list[tuple[Any, ...]]:
        """Each line's fields in order, as :func:`ledger_rows` gives them.

        A ledger not built yet stays so: its lines' fields are worded
        without making (and keeping) the :class:`Contribution` objects.
        """
        if self._rules is None:
            return list(map(_line_fields, self._built))
        return [
            *map(_line_fields, self._head),
            *self._computed(self._rules),
            *(_line_fields(clamp.build()) for clamp in self._tail),
        ]

    def __len__(self) -> int:
        if self._rules is None:
            return len(self._built)
        return len(self._head) + len(self._rules) + len(self._tail)


_COMPUTED = 8  # the length of a computed line's parts; snapshots are shorter
_SNAP_TUPLE = 4  # a snapshot of ids in a tuple, nothing skipped (see _fill)
_SNAP_LIST = 5  # a snapshot of ids in a list, nothing skipped
_TUPLE_IDS = 16  # the ids a rule keeps in a tuple, replaced, before a list


_first = operator.itemgetter(0)  # a ledger spec's rule


def _line_parts(  # noqa: PLR0913, PLR0917 -- a ledger line's parts, flat for speed
    rule: _CompiledRule,
    ids: Sequence[str],
    lo: int,
    hi: int,
    skipped: Sequence[str],
    skipped_hi: int,
    decayed: int,
    final: int,
) -> tuple[Any, ...]:
    """Word an activity rule's ledger line (*decayed* and *final* in millionths).

    Returns:
        The line's fields, in the order of :class:`Contribution`'s.
    """
    count = hi - lo
    raw = _micros(rule.points * count)
    noun = "activity" if count == 1 else "activities"
    note = f"{count} {noun} x {rule.points_text} = {_fmt(raw / 1_000_000)}"
    if skipped_hi:
        note += f", {skipped_hi} over the frequency cap"
    return (
        rule.rule.label,
        rule.dimension,
        final / 1_000_000,
        raw / 1_000_000,
        (decayed - raw) / 1_000_000,
        (final - decayed) / 1_000_000,
        tuple(ids[lo:hi]),
        tuple(skipped[:skipped_hi]),
        note,
    )


def _capped(rule: _CompiledRule, unit: float) -> tuple[int, int]:
    """Return a rule's points for *unit* activities, before and after its cap."""
    decayed = (rule.points * unit * 1_000_000).__round__()
    if abs(decayed) > rule.cap_micros:
        return decayed, rule.cap_micros if decayed > 0 else -rule.cap_micros
    return decayed, decayed


def _halved(total: float, anchor: float, at: float, half_life: float) -> float:
    """Return *total*, anchored at *anchor*, halved for every half-life to *at*."""
    return total * math.pow(0.5, (at - anchor) / half_life)


def _snap_parts(
    rule: _CompiledRule, snap: tuple[Any, ...], at: float
) -> tuple[Any, ...]:
    """Word the line of a rule's snapshot (see _RuleState._fill) as of *at*."""
    size = len(snap)
    if size == _SNAP_TUPLE:
        _, ids, total, anchor = snap
        hi, skipped, skipped_hi = len(ids), _NO_IDS, 0
    elif size == _SNAP_LIST:
        _, ids, hi, total, anchor = snap
        skipped, skipped_hi = _NO_IDS, 0
    elif type(snap[1]) is float:  # a _Few: its ids after its head
        total, anchor = snap[1], snap[2]
        ids = snap[_FEW_HEAD::2]
        hi, skipped, skipped_hi = len(ids), _NO_IDS, 0
    else:
        _, ids, hi, skipped, skipped_hi, total, anchor = snap
    unit = total
    if rule.half_life is not None:
        unit = _halved(total, anchor, at, rule.half_life)
    return _line_parts(rule, ids, 0, hi, skipped, skipped_hi, *_capped(rule, unit))


def ledger_rows(lines: Sequence[Contribution]) -> list[tuple[Any, ...]]:
    """Each line's fields, in the order of :class:`Contribution`'s (for writers).

    A score's ledger not built yet is not built by this: writing it makes
    no line objects to keep.
    """
    if type(lines) is _Ledger:
        return lines.rows()
    return list(map(_line_fields, lines))


_new_line = unchecked(Contribution)
_line_fields = operator.attrgetter(
    *(field.name for field in attrs.fields(Contribution))
)


def _frozen_floats(value: Mapping[str, float]) -> Mapping[str, float]:
    given: object = value  # any value at run time, whatever the types say
    if isinstance(given, FrozenMap) or not isinstance(given, Mapping):
        return value  # a FrozenMap, or for the validator to refuse
    if not all(type(key) is str for key in given):
        return value  # keys that do not sort, for the validator to refuse
    return FrozenMap(value)


def _contributions(value: Iterable[Contribution]) -> Sequence[Contribution]:
    if isinstance(value, _Ledger):
        return value
    return _tuple_of_items(value)  # type: ignore[return-value] # a tuple, or refused


def _check_dimensions(
    instance: Score, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, FrozenMap) or not all(
        type(name) is str and _is_number(points) for name, points in value.items()
    ):
        reject(
            instance,
            attribute,
            value,
            "a mapping of dimension names to finite numbers of points",
        )


def _check_lines(
    instance: Score, attribute: attrs.Attribute[Any], value: object
) -> None:
    if type(value) is _Ledger:
        return
    if type(value) is not tuple or not all(
        isinstance(line, Contribution) for line in value
    ):
        reject(instance, attribute, value, "the ledger's lines (Contribution values)")


class _ScoreParts:
    """The slot a score read by a scorer keeps the shared half of its ledger in.

    A score the engine reads keeps its dimensions as a plain ``dict`` and its
    ledger as an untracked tuple of parts (see _ReadLater), worded into a
    :class:`FrozenMap` and a ledger when first read: the garbage collector
    stops tracking both, where the two objects they become would otherwise
    be walked in every full collection for as long as the lead's state lives
    (two of every four objects a record left alive). The parts that every
    score of a lead shares (its attribute lines and the model's rules) sit
    in this slot, which no check, comparison or copy reads.
    """

    __slots__ = ("_context",)


@attrs.frozen(kw_only=True)
class Score(_ScoreParts):
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

    model: str = attrs.field(validator=_text)
    lead_id: str = attrs.field(validator=_text)
    at: datetime = attrs.field(validator=aware_datetime)
    dimensions: Mapping[str, float] = attrs.field(
        converter=_frozen_floats, validator=_check_dimensions
    )
    grade: str = attrs.field(validator=_text)
    band: str = attrs.field(validator=_text)
    contributions: Sequence[Contribution] = attrs.field(
        converter=_contributions, validator=_check_lines
    )
    notes: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple_of_items, validator=_texts
    )

    @property
    def fit(self) -> float:
        """The fit score: how much the lead looks like an ideal customer."""
        return _held_dimensions(self).get("fit", 0.0)

    @property
    def engagement(self) -> float:
        """The engagement score: how interested the lead is, lately."""
        return _held_dimensions(self).get("engagement", 0.0)

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
        return _held_dimensions(self).get(dimension, 0.0)

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


# Shared empties of a scorer, never changed: replaced before anything is added.
# An empty tuple for the skipped ids: a snapshot holding only numbers, strings
# and tuples of them is untracked by the cyclic garbage collector, which
# otherwise walks it (and the cache holding it) in every full collection.
_NO_IDS: tuple[str, ...] = ()
_NO_LINES: tuple[Contribution, ...] = ()  # the ledger of a score nothing adds to
_NO_STATES: list[_RuleState | _Few | None] = []  # a model without activity rules
_NO_TIMES: tuple[float, ...] = ()

# How a scorer reads a rule: with no decay and no window its line changes only
# when an activity does; with half-life decay and no window it is one power of
# two (and stays at its max_points until decay brings it under); anything else
# reads the running sums, or recounts.
_GENERAL = 0
_CONSTANT = 1
_HALVING = 2
# A cap read from the cache must hold beyond any doubt: the rounding to the
# millionth and the float error of the power of two.
_CAP_MARGIN_MICROS = 1
_CAP_MARGIN_RATIO = 1 + 1e-9


def _grown(
    ids: list[str] | tuple[str, ...], activity_id: str
) -> list[str] | tuple[str, ...]:
    """*ids* and *activity_id* after them: a tuple up to _TUPLE_IDS, then a list.

    A list grows in place (views into it stay valid); a tuple is replaced,
    so that a snapshot holding the old one keeps it as it was.
    """
    if type(ids) is list:
        ids.append(activity_id)
        return ids
    if len(ids) < _TUPLE_IDS:
        # One tuple made, where (*ids, activity_id) makes a list first.
        return ids + (activity_id,)  # type: ignore[operator] # noqa: RUF005 -- a tuple here, see above
    return [*ids, activity_id]


def _grown_times(
    times: array[float] | tuple[float, ...], ts: float
) -> array[float] | tuple[float, ...]:
    """*times* and *ts* after them: a tuple up to _TUPLE_IDS, then an array.

    As _grown keeps the ids they go with: an array grows in place, a tuple
    is replaced.
    """
    if type(times) is tuple:
        if len(times) < _TUPLE_IDS:
            return times + (ts,)  # noqa: RUF005 -- as in _grown
        return array("d", (*times, ts))
    times.append(ts)  # type: ignore[union-attr] # not a tuple: an array
    return times


class _RuleState:
    """One activity rule's view of one lead: what it counted and skipped.

    Keeps running sums so that reading the score as of the latest activity, or
    later, costs the same however long the lead's history: counted activities
    leave a trailing window through a moving start index, half-life decay is
    a sum anchored at the latest counted activity, linear decay a sum of times
    relative to the first. Anything else (reading an earlier instant, step
    decay) computes from the lists, which only ever grow, so scores already
    read keep valid views into them. The ids (those counted, and those a
    frequency cap skipped) stay in a tuple, replaced, up to _TUPLE_IDS of
    them: a snapshot of the rule (see _fill), and a score's ledger, hold that
    tuple as it is, and the garbage collector stops tracking them, where a
    view into a list would be walked in every full collection for as long as
    the lead's score lives. Beyond, a list that grows by appends: adding
    never costs in proportion to the history. Their times are kept alike, in
    a tuple up to _TUPLE_IDS of them (an array is one more object the
    collector walks in every full collection), then in a compact array.

    A rule read without its lists has none of this for its first
    activities, while they come in time order and all count: the scorer
    holds them in a flat tuple (see _Few) until one comes late, a
    frequency cap would skip one, the tuple holds _TUPLE_IDS of them, or a
    read needs the lists.

    The scorer has the rule decide activities that arrive in time order at
    once; one that arrives out of order sets every activity of the rule aside
    (``unsettle``) until the next read decides them all again (``settle``), on
    fresh lists.

    ``fast_from`` is the earliest instant the running sums can be read at
    (infinity when they cannot: step decay, or activities set aside). A read
    fills ``snap`` with the rule's line (see _fill), ``snap_micros`` with its
    points and ``snap_until`` with the instant until which those points hold
    (three slots weigh less than a tuple of them); an activity empties it.
    """

    __slots__ = (
        "cap_lo",
        "counted_ids",
        "counted_ts",
        "fast_from",
        "rule",
        "skipped_ids",
        "skipped_ts",
        "snap",
        "snap_micros",
        "snap_until",
        "start",
        "total",
        "tsum",
    )

    def __init__(self, rule: _CompiledRule) -> None:
        self.rule = rule
        self._reset()

    def _reset(self) -> None:
        self.counted_ts: array[float] | tuple[float, ...] = ()
        self.counted_ids: list[str] | tuple[str, ...] = ()
        self.skipped_ts: array[float] | tuple[float, ...] = _NO_TIMES
        self.skipped_ids: list[str] | tuple[str, ...] = _NO_IDS
        self.cap_lo = 0
        self.start = 0
        self.total = 0.0
        self.tsum = 0  # linear decay: counted times after the first, in microseconds
        self.fast_from = _NEG_INF if self.rule.fast else _INF
        self.snap: tuple[Any, ...] | None = None
        self.snap_micros = 0
        self.snap_until = _NEG_INF

    def latest(self) -> tuple[float, str]:
        """Return the time and id of the latest activity decided, or (-inf, "")."""
        latest = (_NEG_INF, "")
        if self.counted_ts:
            latest = (self.counted_ts[-1], self.counted_ids[-1])
        if self.skipped_ts:
            latest = max(latest, (self.skipped_ts[-1], self.skipped_ids[-1]))
        return latest

    def unsettle(self) -> list[tuple[float, str]]:
        """Return the activities decided, in time order, to decide again later.

        Until then (see settle), the running sums and the cache do not hold.
        """
        self.fast_from = _INF
        self.snap = None
        return sorted(
            [
                *zip(self.counted_ts, self.counted_ids, strict=True),
                *zip(self.skipped_ts, self.skipped_ids, strict=True),
            ]
        )

    def settle(self, pending: list[tuple[float, str]]) -> None:
        """Decide afresh, in time order, every activity of the rule (*pending*)."""
        self._reset()
        for ts, activity_id in pending:
            self.decide(ts, activity_id)

    def decide(self, ts: float, activity_id: str) -> None:
        """Count or skip an activity no earlier than those decided before it."""
        rule = self.rule
        counted = self.counted_ts
        self.snap = None
        if ts > self.fast_from:  # noqa: PLR1730 -- cheaper than max() on this path
            self.fast_from = ts
        if rule.max_count is not None:
            if rule.per is not None:
                # Exact, as a window's edge is (_floor, inlined on this path).
                floor = ((ts * 1_000_000).__round__() - rule.per) / 1_000_000
                while self.cap_lo < len(counted) and counted[self.cap_lo] <= floor:
                    self.cap_lo += 1
            if len(counted) - self.cap_lo >= rule.max_count:
                self.skipped_ts = _grown_times(self.skipped_ts, ts)
                self.skipped_ids = _grown(self.skipped_ids, activity_id)
                return
        if not counted:
            # The first: one-item tuples, and the constant 1.0 itself as the
            # total (0.0 + 1.0 would be a new float).
            self.total = 1.0
            self.counted_ts = (ts,)
            self.counted_ids = (activity_id,)
            return
        half = rule.half_life
        if half is not None:
            # Decided in time order: the anchor (the latest counted) only moves on.
            self.total = self.total * 0.5 ** ((ts - counted[-1]) / half) + 1.0
        else:
            if rule.linear is not None:
                # In whole microseconds: exact, so every way of reading agrees.
                self.tsum += _whole(ts) - _whole(counted[0])
            self.total += 1.0
        self.counted_ts = _grown_times(counted, ts)
        self.counted_ids = _grown(self.counted_ids, activity_id)

    def read(self, at: float) -> tuple[int, Any, float] | None:
        """Return the rule's points at *at* (in millionths), its ledger spec, and until.

        None when nothing counts. The third item is the instant until which
        the points hold from *at* on when the cache answers, else -inf.
        Activities set aside must be settled first (the scorer does it).
        """
        rule = self.rule
        if at >= self.fast_from and rule.mode != _GENERAL:
            snap = self.snap
            if snap is None:
                snap = self._fill()
            if at < self.snap_until:
                return self.snap_micros, snap, self.snap_until
            # ScoreState._read writes this way out for the engine's reads.
            unit = _halved(self.total, self.counted_ts[-1], at, rule.half_life)  # type: ignore[arg-type] # only half-life rules get here
            return _capped(rule, unit)[1], snap, _NEG_INF
        found = self._running(at) if at >= self.fast_from else self._recount(at)
        if found is None:
            return None
        unit, lo, hi, skipped = found
        decayed, final = _capped(rule, unit)
        spec = (
            rule.index,
            self.counted_ids,
            lo,
            hi,
            self.skipped_ids,
            skipped,
            decayed,
            final,
        )
        return final, spec, _NEG_INF

    def _fill(self) -> tuple[Any, ...]:
        """Cache the rule's line, and its points for as long as they stay the same.

        Returns the line; ``snap_micros`` is then the points (in millionths)
        and ``snap_until`` the instant from which they no longer hold (-inf:
        not even now).

        The line is a snapshot of the running sums as a read found them, to
        word later (see _snap_parts): fewer than eight items, where a
        computed line's parts are eight (see _line_parts); the rule is its
        position in the model's activity rules. Every lead keeps a snapshot
        of each rule it met, so the usual ones are short: with nothing
        skipped, ``(rule, ids, total, anchor)`` when the ids are a tuple
        (never changed: all of them count), ``(rule, ids, count, total,
        anchor)`` when they are a list that may grow; else ``(rule, ids,
        count, skipped, skipped_count, total, anchor)``. A snapshot of
        numbers, strings and tuples of them is one the garbage collector
        stops tracking, and so are the ledger specs that hold it.
        """
        rule = self.rule
        self.snap_micros, self.snap_until = _held_points(
            rule, self.total, self.counted_ts[-1]
        )
        # The line (see above), written here: one call less a read.
        ids = self.counted_ids
        skipped = self.skipped_ids
        snap: tuple[Any, ...]
        if skipped:
            snap = (
                rule.index,
                ids,
                len(ids),
                skipped,
                len(skipped),
                self.total,
                self.counted_ts[-1],
            )
        elif type(ids) is tuple:
            snap = (rule.index, ids, self.total, self.counted_ts[-1])
        else:
            snap = (rule.index, ids, len(ids), self.total, self.counted_ts[-1])
        self.snap = snap
        return snap

    def freeze(self) -> None:
        """Keep the ids as tuples: no more adds (a batch adds in time order)."""
        self.counted_ids = tuple(self.counted_ids)
        self.skipped_ids = tuple(self.skipped_ids)

    def running(self) -> tuple[Any, ...]:
        """The running sums and the cache, for :meth:`restore`."""
        return _read_running(self)

    def restore(self, kept: tuple[Any, ...]) -> None:
        """Put back the running sums and the cache :meth:`running` gave."""
        for name, value in zip(_RUNNING, kept, strict=True):
            setattr(self, name, value)

    def _running(self, at: float) -> tuple[float, int, int, int] | None:
        """Read the running sums of a windowed rule (at or after the latest read)."""
        rule = self.rule
        counted = self.counted_ts
        # Only rules with a window get here (the others are read inline or by
        # read()); evicting moves the start on, so earlier instants recount.
        self.fast_from = at
        floor = _floor(at, rule.window_micros)  # type: ignore[arg-type] # see above
        while self.start < len(counted) and counted[self.start] < floor:
            self._evict(counted[self.start])
            self.start += 1
        lo, hi = self.start, len(counted)
        if hi <= lo:
            return None
        if rule.half_life is not None:
            unit = _halved(self.total, counted[-1], at, rule.half_life)
        elif rule.linear is not None:
            count = hi - lo
            ages = count * (_whole(at) - _whole(counted[0])) - self.tsum
            unit = _linear_unit(count, ages, rule.linear)
        else:
            unit = self.total
        return unit, lo, hi, len(self.skipped_ts)

    def _recount(self, at: float) -> tuple[float, int, int, int] | None:
        """Compute from the lists (an earlier instant, or step decay)."""
        rule = self.rule
        counted = self.counted_ts
        window = rule.window_micros
        lo = 0 if window is None else bisect_left(counted, _floor(at, window))
        hi = bisect_right(counted, at)
        if hi <= lo:
            return None
        if rule.decay is None:
            unit = float(hi - lo)
        elif rule.linear is not None:
            # The window holds only activities younger than the decay period.
            now = _whole(at)
            ages = sum(now - _whole(ts) for ts in counted[lo:hi])
            unit = _linear_unit(hi - lo, ages, rule.linear)
        elif rule.half_life is not None:
            weight = rule.decay.weight
            unit = math.fsum(weight(at - ts) for ts in counted[lo:hi])
        else:
            # Ages in whole microseconds, then one division: a step falls on
            # its instant exactly (a difference of float times may miss it).
            weight = rule.decay.weight
            now = _whole(at)
            unit = math.fsum(
                weight((now - _whole(ts)) / 1_000_000) for ts in counted[lo:hi]
            )
        return unit, lo, hi, bisect_right(self.skipped_ts, at)

    def _evict(self, ts: float) -> None:
        rule = self.rule
        if rule.half_life is not None:
            self.total -= 0.5 ** ((self.counted_ts[-1] - ts) / rule.half_life)
        else:
            self.total -= 1.0
            if rule.linear is not None:
                self.tsum -= _whole(ts) - _whole(self.counted_ts[0])


#: What reading a windowed rule at a later instant moves on: its running sums
#: and its cache (see _RuleState.running).
_RUNNING = (
    "fast_from",
    "start",
    "total",
    "tsum",
    "snap",
    "snap_micros",
    "snap_until",
)
_read_running = operator.attrgetter(*_RUNNING)


def _whole(seconds: float) -> int:
    """An instant in seconds as whole microseconds (datetimes hold no finer)."""
    return (seconds * 1_000_000).__round__()


def _floor(at: float, window: int) -> float:
    """The earliest instant, in seconds, a *window* (microseconds) before *at* keeps.

    Subtracted in whole microseconds, then divided once: the same float as
    the activity times (``datetime.timestamp()``) of that instant, so the
    edge compares exactly, as datetimes do (``at - window`` in floats may
    miss it by a rounding).
    """
    return (_whole(at) - window) / 1_000_000


def _linear_unit(count: int, ages: int, period: float) -> float:
    """The weight of *count* activities whose ages sum to *ages* microseconds.

    Each weighs ``1 - age / period``: the same exact sum, then one division,
    however the ages were summed.
    """
    return max(0.0, count - ages / (period * 1_000_000))


def _held_points(rule: _CompiledRule, total: float, anchor: float) -> tuple[int, float]:
    """A rule's points read from a cache, and the instant until which they hold.

    For a rule read without its lists (constant, or halving with no window)
    whose running total is *total*, anchored at *anchor* (its latest counted
    activity): a constant rule's points hold for ever; a halving rule's hold
    at its max_points until decay brings it under them, and not even now
    (``-inf``, 0 points) when it is under them already.
    """
    if rule.mode == _CONSTANT:
        return _capped(rule, total)[1], _INF
    peak = abs(rule.points * total)
    floor = rule.held_above
    if peak * 1_000_000 > floor:
        half_lives = math.log2(peak * 1_000_000 / floor)
        return (
            rule.cap_micros if rule.points > 0 else -rule.cap_micros,
            anchor + half_lives * rule.half_life,  # type: ignore[operator] # a half-life rule
        )
    return 0, _NEG_INF


#: A rule that counted its first few activities of a lead, all of them, read
#: without its lists: the rule's position, its running total and anchor (the
#: latest activity's instant, in seconds), as a snapshot of _RuleState._fill
#: has them, the points and the instant until which they hold, then each
#: activity's id and instant, in time order. It is its own snapshot.
#:
#: Most rules count few activities of a lead (on the default policy's feed,
#: 56% of them one): a flat tuple of numbers and strings holds them, which
#: the garbage collector stops tracking at the first collection it survives,
#: where a _RuleState is one more object it walks in every full collection,
#: for as long as the lead lives, with a tuple of ids, a tuple of times and a
#: snapshot beside it (a tuple holding a tuple would take a collection more
#: for each, the last of them a full one). Only for a rule read without its
#: lists (constant, or halving with no window), whose first activity always
#: counts (max_count is 1 or more): ScoreState._add_at makes it at the first,
#: _few_grown adds the next ones while they all count, and _few_state turns
#: it into the _RuleState that decided its activities.
_Few = tuple[Any, ...]
_FEW_HEAD = 5  # the items of a _Few before its activities


def _few_grown(
    rule: _CompiledRule, few: _Few, ts: float, activity_id: str
) -> _Few | None:
    """*few* with one more activity, in time order, or None if it would not count.

    As _RuleState.decide counts it (the same operations, in the same order);
    None when the rule's frequency cap would skip it, or the tuple holds
    _TUPLE_IDS activities already: the scorer then holds the rule as its
    _RuleState.
    """
    count = (len(few) - _FEW_HEAD) >> 1
    if count >= _TUPLE_IDS:
        return None
    cap = rule.max_count
    if cap is not None:
        per = rule.per
        if per is not None:
            # Exact, as a window's edge is (_floor, inlined); times ascending.
            floor = ((ts * 1_000_000).__round__() - per) / 1_000_000
            count -= bisect_right(few[_FEW_HEAD + 1 :: 2], floor)
        if count >= cap:
            return None
    half = rule.half_life
    total = (
        few[1] + 1.0 if half is None else few[1] * 0.5 ** ((ts - few[2]) / half) + 1.0
    )
    if (
        rule.mode == _HALVING
        and abs(rule.float_points * total) * 1e6 <= rule.held_above
    ):
        # Under its cap already (_held_points's test): most reads compute them.
        micros, until = 0, _NEG_INF
    else:
        micros, until = _held_points(rule, total, ts)
    return (few[0], total, ts, micros, until, *few[_FEW_HEAD:], activity_id, ts)


def _few_state(rule: _CompiledRule, few: _Few) -> _RuleState:
    """The _RuleState of *rule* that decided the activities of *few*."""
    state = _RuleState(rule)
    for position in range(_FEW_HEAD, len(few), 2):
        state.decide(few[position + 1], few[position])
    return state


@attrs.frozen
class _CompiledRule:
    """An activity rule with the model's decay resolved and times in seconds."""

    index: int
    rule: ActivityRule
    dimension: str
    dim: int  # the dimension's position in the model's dimensions
    points: float
    # The points as a float, for a read's product with a fading unit: the
    # same float the product makes of an int, but a float times a float is
    # the multiplication Python specialises, where an int times a float
    # takes the generic way (some 200 instructions more).
    float_points: float
    points_text: str  # the points in words, in full (see number_text)
    cap_micros: int  # max_points in millionths, or _UNCAPPED
    cap_low: int  # -cap_micros, made once: a large int's negation is a new int
    decay: Decay | None
    max_count: int | None
    per: int | None  # the frequency cap's span, in whole microseconds
    window_micros: int | None  # the window (within, or a linear decay's period)
    half_life: float | None
    linear: float | None
    fast: bool
    mode: int
    accepts: Callable[[Mapping[str, Scalar]], bool] | None
    # A halving rule's points hold at its cap while they exceed this, in
    # millionths: the cap, beyond any doubt (see _held_points).
    held_above: float
    # The points and, added to the activity's instant, the instant until
    # which they hold, of a rule read without its lists that counted one
    # activity (see _Few): _held_points of a total of 1.0, made once.
    first_micros: int
    first_for: float


def _compile(
    index: int, rule: ActivityRule, model_decay: Decay | None, dims: tuple[str, ...]
) -> _CompiledRule:
    decay = model_decay if isinstance(rule.decay, EllipsisType) else rule.decay
    half_life = decay.period.total_seconds() if isinstance(decay, HalfLife) else None
    linear = decay.period.total_seconds() if isinstance(decay, LinearDecay) else None
    # In whole microseconds: a window's edge is compared exactly (see _floor).
    spans = [
        span // _MICROSECOND
        for span in (
            rule.within,
            decay.period if isinstance(decay, LinearDecay) else None,
        )
        if span is not None
    ]
    window_micros = min(spans) if spans else None
    mode = _GENERAL
    if window_micros is None and decay is None:
        mode = _CONSTANT
    elif window_micros is None and half_life is not None:
        mode = _HALVING
    cap_micros = _micros(rule.max_points) if rule.max_points is not None else _UNCAPPED
    compiled = _CompiledRule(
        index=index,
        rule=rule,
        dimension=rule.dimension,
        dim=dims.index(rule.dimension),
        points=rule.points,
        float_points=float(rule.points),
        points_text=number_text(rule.points),
        cap_micros=cap_micros,
        cap_low=-cap_micros,
        decay=decay,
        max_count=rule.max_count,
        per=rule.per // _MICROSECOND if rule.per is not None else None,
        window_micros=window_micros,
        half_life=half_life,
        linear=linear,
        fast=decay is None or half_life is not None or linear is not None,
        mode=mode,
        accepts=rule.accepts if rule.where is not None else None,
        held_above=(cap_micros + _CAP_MARGIN_MICROS) * _CAP_MARGIN_RATIO,
        first_micros=0,
        first_for=_NEG_INF,
    )
    if mode == _GENERAL:
        return compiled  # never held in a _Few
    # Read at an anchor of 0.0, the instant until which the points hold is
    # the span itself (0.0 + span), or an infinity.
    micros, until = _held_points(compiled, 1.0, 0.0)
    return attrs.evolve(compiled, first_micros=micros, first_for=until)


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
    return value is None or is_points(value)


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
                expected=(
                    "(low, high) with low <= high, each between -1e9 and 1e9, "
                    "either one None for no bound"
                ),
            )


def _micro_limits(
    bounds: tuple[float | None, float | None],
) -> tuple[int | None, int | None]:
    low, high = bounds
    return (
        None if low is None else _micros(low),
        None if high is None else _micros(high),
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
            name (or derived label) must be unique. The ledger lists them in
            the order given; a set, whose order changes from process to
            process, is sorted by label.
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
    # Runs of consecutive attribute rules on one path: (run, read, rules).
    _attribute_runs: tuple[
        tuple[int, Callable[[Lead], Scalar | _Missing], tuple[AttributeRule, ...]],
        ...,
    ] = attrs.field(init=False, eq=False, hash=False, repr=False)
    _dimensions: tuple[str, ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # (name, position) of each dimension, in the sorted order scores show them.
    _sorted_dims: tuple[tuple[str, int], ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # (position, dimension, low, high), low and high in millionths, of each
    # dimension with limits.
    _dim_limits: tuple[tuple[int, str, int | None, int | None], ...] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # A memo of worded verdicts, shared by the scorers of this model; it holds
    # derived text only, so equality and hashing ignore it.
    _verdicts: dict[tuple[int, type, object], _Verdicts] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # The dimensions with rules whose points fade with time (decay or a
    # window): of positive points (they fall), then of negative points (they
    # rise).
    _fading: tuple[frozenset[str], frozenset[str]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # Parts of scores that leads share (attribute lines, sums, summaries), by
    # value: one copy of each instead of one per lead. Derived, like _verdicts.
    _interned: dict[Any, Any] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    # Sums to their summary, or to None when seen once (see _summary).
    _summaries: dict[tuple[int, ...], _Summary | None] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        dims = _dimensions_of(self.rules)
        compiled = tuple(
            _compile(index, rule, self.decay, dims)
            for index, rule in enumerate(
                r for r in self.rules if isinstance(r, ActivityRule)
            )
        )
        by_kind: dict[str, list[int]] = {}
        for item in compiled:
            for kind in sorted(item.rule.kind):
                by_kind.setdefault(kind, []).append(item.index)
        runs: list[list[AttributeRule]] = []
        for rule in self.rules:
            if isinstance(rule, AttributeRule):
                if runs and runs[-1][0].attribute == rule.attribute:
                    runs[-1].append(rule)
                else:
                    runs.append([rule])
        values = {
            "_activity_rules": compiled,
            "_by_kind": {kind: tuple(indices) for kind, indices in by_kind.items()},
            "_attribute_runs": tuple(
                (position, value_getter(run[0].attribute), tuple(run))
                for position, run in enumerate(runs)
            ),
            "_dimensions": dims,
            "_sorted_dims": tuple(sorted((name, dims.index(name)) for name in dims)),
            "_dim_limits": tuple(
                (position, name, *_micro_limits(self.limits[name]))
                for position, name in enumerate(dims)
                if name in self.limits
            ),
            "_verdicts": {},
            "_interned": {},
            "_summaries": {},
            "_fading": tuple(
                frozenset(
                    item.dimension
                    for item in compiled
                    if item.mode != _CONSTANT and (item.points > 0) is positive
                )
                for positive in (True, False)
            ),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The model's dimensions: fit, engagement, then the others by name."""
        return self._dimensions

    def _shared(self, value: _H) -> _H:
        """Return the one copy of *value* the model's scorers share."""
        shared = self._interned
        found = shared.get(value)
        if found is None:
            if len(shared) >= _SHARED_CACHE:
                shared.clear()
            found = shared[value] = value
        return found

    def _summary(self, sums: list[int]) -> _Summary:
        """Clamp *sums* (changed in place) to the limits.

        Returns the dimensions, the fit grade, the engagement band, the clamps
        and no ledger lines: a score's parts besides its activity lines, which
        leads with the same sums share.

        Sums are shared from their second sighting on: the first only notes
        them. Most sums under decay are seen once, and a summary kept for
        them would outlive its score only to make the garbage collector's
        full passes come sooner; a key of integers is one it stops tracking.
        A scorer's read of sums that fade with time (ScoreState._read) skips
        the notes altogether and calls _summarize.
        """
        key = tuple(sums)
        summaries = self._summaries
        found = summaries.get(key)
        if found is not None:
            return found
        seen = key in summaries  # noted once already
        summary = self._summarize(sums)
        if len(summaries) >= _SHARED_CACHE:
            summaries.clear()
        summaries[key] = summary if seen else None
        return summary

    def _summarize(self, sums: list[int]) -> _Summary:
        """Clamp *sums* (changed in place) and summarise them, shared with none."""
        clamps: tuple[_Clamp, ...] = ()  # most sums are within the limits: no list
        for position, dimension, low, high in self._dim_limits:
            micros = sums[position]
            if low is not None and micros < low:
                clamps += (_Clamp(dimension, low - micros, low, "at least"),)
                sums[position] = low
            elif high is not None and micros > high:
                clamps += (_Clamp(dimension, high - micros, high, "at most"),)
                sums[position] = high
        fit = sums[0] / 1_000_000
        engagement = sums[1] / 1_000_000
        if len(sums) == 2:  # noqa: PLR2004 -- fit and engagement only, in sorted order
            dimensions = {"engagement": engagement, "fit": fit}
        else:
            dimensions = {
                name: sums[position] / 1_000_000 for name, position in self._sorted_dims
            }
        # Grades._fit_grade and _band, written out: a read of fading sums comes here.
        grades = self.grades
        fit_minimums, fit_labels = grades._fit_index  # noqa: SLF001 -- same module
        band_minimums, band_labels = grades._engagement_index  # noqa: SLF001 -- as above
        return (
            # A plain dict, in sorted key order: a score wraps it when read.
            dimensions,
            fit_labels[bisect_right(fit_minimums, fit)],
            band_labels[bisect_right(band_minimums, engagement)],
            clamps,
            (),
        )

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
            ValidationError: *activities* is not a collection of activities,
                or an activity is not the lead's.
        """
        require_aware(at, field="at", owner="ScoringModel.score")
        if not isinstance(lead, Lead):
            raise ValidationError(
                owner="ScoringModel.score",
                field="lead",
                value=lead,
                expected="a funnelkit.Lead",
            )
        state = ScoreState(self, lead)
        state._keep_few = False  # noqa: SLF001 -- same module
        limit = at.timestamp()
        if isinstance(activities, list | tuple):
            items: Sequence[Activity] = activities
        else:
            items = list(
                check_items(
                    activities,
                    field="activities",
                    expected="the lead's activities (an iterable of Activity values)",
                    owner="ScoringModel.score",
                )
            )
        timed = []
        for position, activity in enumerate(items):
            if type(activity) is not Activity or activity.lead_id != lead.id:
                state._check(  # noqa: SLF001 -- same module
                    activity,
                    owner="ScoringModel.score",
                    field=f"activities[{position}]",
                )
            ts = activity.at.timestamp()
            if ts <= limit:
                # The position breaks ties of time and id without comparing activities.
                timed.append((ts, activity.id, position))
        timed.sort()
        for ts, _, position in timed:
            state._add_at(items[position], ts)  # noqa: SLF001 -- same module
        return state._score_once(at, limit)  # noqa: SLF001 -- same module


# A run's verdicts on one value: its ledger lines, its notes, and each line's
# dimension position and points in millionths.
_Verdicts = tuple[
    tuple[Contribution, ...], tuple[str, ...], tuple[tuple[int, int], ...]
]


def _verdicts(
    rules: tuple[AttributeRule, ...], value: Scalar | _Missing, dims: tuple[str, ...]
) -> _Verdicts:
    """Return the ledger lines of the rules *value* passes, and notes on the rest."""
    lines = []
    notes = []
    sums = []
    for rule in rules:
        passed, why = rule.test.evaluate(value)
        if passed:
            points = _r(rule.points)
            # Built right: no checks (Contribution's fields, in order).
            lines.append(
                _new_line(
                    rule.label,
                    rule.dimension,
                    points,
                    points,
                    0.0,
                    0.0,
                    _NO_IDS,
                    _NO_IDS,
                    f"{rule.attribute} {why}",
                )
            )
            sums.append((dims.index(rule.dimension), _micros(rule.points)))
        else:
            notes.append(f"{rule.label}: {rule.attribute} {why}")
    return tuple(lines), tuple(notes), tuple(sums)


class ScoreState:
    """An incremental scorer for one lead: add activities, read the score.

    Its scores always equal :meth:`ScoringModel.score` on the same activities.
    Adding costs the same however many activities the lead has, unless an
    activity arrives out of time order under a frequency cap; reading as of the
    latest activity or later does not rescan the history.
    """

    __slots__ = (
        "_attribute_micros",
        "_attribute_specs",
        "_context",
        "_count",
        "_keep_few",
        "_last",
        "_late",
        "_lead",
        "_model",
        "_newest_id",
        "_newest_ts",
        "_notes",
        "_states",
        "_still",
    )

    def __init__(self, model: ScoringModel, lead: Lead) -> None:
        if not isinstance(lead, Lead):
            raise ValidationError(
                owner="ScoringModel.scorer",
                field="lead",
                value=lead,
                expected="a funnelkit.Lead",
            )
        if not isinstance(model, ScoringModel):
            raise ValidationError(
                owner="ScoreState",
                field="model",
                value=model,
                expected="a funnelkit.ScoringModel",
            )
        self._model = model
        self._lead = lead
        count = len(model._activity_rules)  # noqa: SLF001 -- same module
        # A rule's state (see _RuleState), or _Few, or None: no activity yet.
        self._states: list[_RuleState | _Few | None] = (
            [None] * count if count else _NO_STATES
        )
        # Whether a rule's first activities are held as a _Few: not in a
        # batch (ScoringModel.score), where most rules with activities count
        # several, and the state read once is not kept.
        self._keep_few = True
        self._count = 0
        # The latest activity added (by time, then id): one no earlier is in
        # time order for every rule.
        self._newest_ts = _NEG_INF
        self._newest_id = ""
        # The rules with activities set aside (see _add_late), and their
        # activities in time order, until the next read settles them.
        self._late: dict[_RuleState, list[tuple[float, str]]] | None = None
        # When every rule's points hold still for a while (no decay, or at
        # their max_points), the parts of the last score and the range of
        # instants they hold for (see _read): until an activity is added.
        self._still: tuple[Any, ...] | None = None
        # The last score read, which a read at the same instant returns again
        # until an activity changes a rule.
        self._last: Score | None = None
        specs: list[Contribution] = []
        notes: list[str] = []
        sums = [0] * len(model._dimensions)  # noqa: SLF001 -- same module
        verdicts = model._verdicts  # noqa: SLF001 -- same module
        for run, read, rules in model._attribute_runs:  # noqa: SLF001 -- same module
            value = read(lead)
            # Leads share attribute values ("software", "DE"): each run of rules
            # words its verdicts on a value once, not once per lead.
            kind = type(value)
            # 1 and True are equal, and so are 0.0 and -0.0, but each is
            # written otherwise: a float zero is keyed by its text.
            key = (run, kind, value if kind is not float or value else repr(value))
            found = verdicts.get(key)
            if found is None:
                if len(verdicts) >= _VERDICT_CACHE:
                    verdicts.clear()
                found = verdicts[key] = _verdicts(rules, value, model.dimensions)
            lines, said, points = found
            specs += lines
            notes += said
            for position, micros in points:
                sums[position] += micros
        self._attribute_specs = tuple(specs)
        # The ledger parts every score of the lead shares (see _ScoreParts).
        self._context = (self._attribute_specs, model._activity_rules)  # noqa: SLF001 -- same module
        # Leads with the same fit share the sums (ints: cheap to compare).
        self._attribute_micros = model._shared(tuple(sums))  # noqa: SLF001 -- same module
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
        if type(activity) is not Activity or activity.lead_id != self._lead.id:
            self._check(activity)
        self._add_at(activity, activity.at.timestamp())

    def _check(
        self,
        activity: object,
        *,
        owner: str = "ScoreState.add",
        field: str = "activity",
    ) -> None:
        """Raise unless *activity* is an Activity of this lead.

        Raises:
            ValidationError: it is not, named as *owner*'s *field*.
        """
        if not isinstance(activity, Activity) or activity.lead_id != self._lead.id:
            raise ValidationError(
                owner=owner,
                field=field,
                value=activity,
                expected=f"an Activity of lead {self._lead.id!r}",
            )

    def _add_at(self, activity: Activity, ts: float) -> None:  # noqa: C901 -- the hot path, flat for speed
        """Add a checked *activity* whose time is *ts* (seconds since 1970 UTC)."""
        self._count += 1
        activity_id = activity.id
        # No earlier than any activity added, and nothing set aside: every
        # rule decides it at once. Kept for every kind, with rules or not:
        # the engine tells by it whether an activity goes last.
        direct = False
        if ts > self._newest_ts or (
            ts == self._newest_ts and activity_id >= self._newest_id
        ):
            self._newest_ts = ts
            self._newest_id = activity_id
            direct = self._late is None
        model = self._model
        indices = model._by_kind.get(activity.kind)  # noqa: SLF001 -- same module
        if indices is None:
            return
        compiled = model._activity_rules  # noqa: SLF001 -- same module
        states = self._states
        for index in indices:
            item = compiled[index]
            if item.accepts is not None and not item.accepts(activity.properties):
                continue
            self._still = self._last = None
            entry = states[index]
            if type(entry) is _RuleState:
                state = entry
            elif entry is None:
                if direct and item.mode != _GENERAL and self._keep_few:
                    # A _Few of one activity: its points as _compile read them.
                    states[index] = (
                        index,
                        1.0,
                        ts,
                        item.first_micros,
                        ts + item.first_for,
                        activity_id,
                        ts,
                    )
                    continue
                state = states[index] = _RuleState(item)
            else:  # a _Few: one more activity
                few: _Few = entry  # type: ignore[assignment] # not a _RuleState
                if direct:
                    grown = _few_grown(item, few, ts, activity_id)
                    if grown is not None:
                        states[index] = grown
                        continue
                state = states[index] = _few_state(item, few)
            if direct:
                state.decide(ts, activity_id)
            else:
                self._add_late(state, ts, activity_id)

    def _add_late(self, state: _RuleState, ts: float, activity_id: str) -> None:
        """Add an activity that may be earlier than one its rule has decided.

        One that is earlier sets every activity of the rule aside, with it,
        until the next read decides them all again in time order.
        """
        late = self._late
        pending = None if late is None else late.get(state)
        if pending is None:
            if (ts, activity_id) >= state.latest():  # in time order for the rule
                state.decide(ts, activity_id)
                return
            pending = state.unsettle()
            if late is None:
                late = self._late = {}
            late[state] = pending
        insort(pending, (ts, activity_id))

    def _hold_state(self, few: _Few) -> _RuleState:
        """Hold *few*'s rule as the _RuleState it stands for, and return it."""
        index = few[0]
        state = self._states[index] = _few_state(
            self._model._activity_rules[index],  # noqa: SLF001 -- same module
            few,
        )
        return state

    def _states_only(self) -> list[_RuleState | None]:
        """Hold every rule held as a _Few as its _RuleState: the states."""
        for entry in self._states:
            if type(entry) is tuple:
                self._hold_state(entry)
        return self._states  # type: ignore[return-value] # no _Few left

    def _settle(self, late: dict[_RuleState, list[tuple[float, str]]]) -> None:
        """Decide again, in time order, the activities of the rules set aside."""
        for state, pending in late.items():
            state.settle(pending)
        self._late = None

    def score(self, at: datetime) -> Score:
        """Return the score at *at*; activities added with later times do not count.

        Raises:
            NaiveDatetimeError: *at* has no time zone.
        """
        if type(at) is not datetime or at.utcoffset() is None:
            require_aware(at, field="at", owner="ScoreState.score")
        last = self._last
        # One instant, written alike: a zone's wall clocks compare without
        # their fold, and the hour the clocks go back is two instants.
        if (
            last is not None
            and last.at == at
            and last.at.tzinfo is at.tzinfo
            and last.at.fold == at.fold
        ):
            return last
        self._last = last = score_of(
            self._model.name,
            self._lead.id,
            self._notes,
            self._context,
            at,
            self._read(at.timestamp()),
        )
        return last

    def _read(self, now: float) -> ScoreRead:  # noqa: C901, PLR0912, PLR0915 -- the hot path, flat for speed
        """Compute the score at *now* (seconds since 1970), keeping what holds still.

        Its parts, not the score: the engine keeps a lead's newest score so
        until it is read (see score_of).
        """
        if self._late is not None:
            self._settle(self._late)
        still = self._still
        if still is not None and still[5] <= now < still[6]:
            # Nothing was added and every rule holds still: only the instant is new.
            return still[0], still[1], still[2], still[3], still[4], now
        sums = [*self._attribute_micros]
        rules: list[Any] = []
        # The instants over which every rule's points hold still, as read.
        begin = _NEG_INF
        end = _INF
        compiled = self._model._activity_rules  # noqa: SLF001 -- same module
        # The rules the lead met (a _RuleState is always true): skipped in C,
        # the others cost less than a test each.
        if now < self._newest_ts:
            # Read before an activity: a _Few's rule by its _RuleState, from
            # its lists (otherwise a _Few's activities are no later than now).
            self._states_only()
        for entry in filter(None, self._states):
            if type(entry) is tuple:
                # A rule that counted its first few activities (see _Few),
                # read as the _RuleState's cache is below: the tuple is its
                # own snapshot. Written out as below: a flag to share one
                # block with it would cost a record 1.4% more instructions.
                rule = compiled[entry[0]]
                ts = entry[2]
                until = entry[4]
                if now >= until:
                    micros = (
                        rule.float_points
                        * (entry[1] * 0.5 ** ((now - ts) / rule.half_life))
                        * 1e6
                    ).__round__()
                    if micros > rule.cap_micros:
                        micros = rule.cap_micros
                    elif micros < rule.cap_low:
                        micros = rule.cap_low
                    end = _NEG_INF  # as below
                else:
                    micros = entry[3]
                    if until < end:  # noqa: PLR1730 -- as below
                        end = until
                sums[rule.dim] += micros
                rules.append(entry)
                if ts > begin:  # noqa: PLR1730 -- as below
                    begin = ts
                continue
            state: _RuleState = entry  # type: ignore[assignment] # not a _Few
            rule = state.rule
            if now >= state.fast_from and rule.mode != _GENERAL:
                # _RuleState.read's quick way, _halved and _capped written out
                # (the same floats: the points made a float, as the product
                # makes them, times 1e6, as a float times 1_000_000 is; 0.5 **
                # and math.pow both ask the C library's pow): most reads take it.
                spec = state.snap
                if spec is None:
                    spec = state._fill()  # noqa: SLF001 -- same module
                until = state.snap_until
                if now < until:
                    # Read from the cache, the points hold from fast_from to until.
                    micros = state.snap_micros
                    if until < end:  # noqa: PLR1730 -- cheaper than min() on this path
                        end = until
                else:
                    half: float = rule.half_life  # type: ignore[assignment] # only half-life rules get here
                    # The snapshot ends with the running total and its anchor
                    # (see _fill): the lists of times are left unread.
                    micros = (
                        rule.float_points
                        * (spec[-2] * 0.5 ** ((now - spec[-1]) / half))
                        * 1e6
                    ).__round__()
                    if micros > rule.cap_micros:
                        micros = rule.cap_micros
                    elif micros < rule.cap_low:
                        micros = rule.cap_low
                    end = _NEG_INF  # computed: the points fade, none hold still
            else:
                found = state.read(now)
                if found is None:
                    end = _NEG_INF  # nothing counts now, which may not last
                    continue
                micros, spec, until = found
                if until < end:  # noqa: PLR1730 -- as above
                    end = until
            sums[rule.dim] += micros
            rules.append(spec)
            if state.fast_from > begin:  # noqa: PLR1730 -- as above
                begin = state.fast_from
        model = self._model
        # Sums that fade come once: sharing their summary would only note them.
        dimensions, grade, band, clamps, _ = (
            model._summary(sums) if now < end else model._summarize(sums)  # noqa: SLF001 -- same module
        )
        # A tuple of snapshots of numbers and strings: untracked by the garbage
        # collector, where a list stays tracked as long as the score.
        specs = tuple(rules)
        if now < end:
            # Every rule holds still: keep the parts for the reads that follow.
            self._still = (dimensions, grade, band, clamps, specs, begin, end)
        return dimensions, grade, band, clamps, specs, now

    def _parts(self, at: float, dimension: str) -> tuple[int, int, int]:
        """Split a dimension's points at *at* (seconds), in millionths, unclamped.

        Returns the raw sum, and the positive and (as a size) the negative
        points of the rules that fade with time (decay or a window): without
        new activities those only shrink, and the rest holds still. The
        dimension is one of the model's (one with fading rules).
        """
        if self._late is not None:
            self._settle(self._late)
        states = self._states_only()
        position = self._model.dimensions.index(dimension)
        raw = self._attribute_micros[position]
        gained = lost = 0
        for state in states:
            if state is None or state.rule.dim != position:
                continue
            window = state.rule.window_micros
            if window is not None and at >= state.fast_from:
                if not state.counted_ts or _floor(at, window) > state.counted_ts[-1]:
                    continue  # every activity is out of the window by then
                # A windowed rule's running sums move on to *at*, evicting
                # what its window lost by then: a look ahead (a wake's
                # search, ten years on) must leave them as they were, or
                # every later read would recount the lead's whole history.
                kept = state.running()
                found = state.read(at)
                state.restore(kept)
            else:
                found = state.read(at)
            if found is None:
                continue
            micros = found[0]
            raw += micros
            if state.rule.mode == _CONSTANT:
                continue
            if micros > 0:
                gained += micros
            else:
                lost -= micros
        return raw, gained, lost

    def _limits(self, dimension: str) -> tuple[int | None, int | None]:
        """The dimension's limits, in millionths."""
        for _, name, low, high in self._model._dim_limits:  # noqa: SLF001 -- same module
            if name == dimension:
                return low, high
        return None, None

    def _score_once(self, at: datetime, now: float) -> Score:
        """Score a state read once (ScoringModel.score): no sums kept for later.

        *now* is *at* in seconds. The ledger keeps tuples of ids rather than
        the state's lists, so that a batch of scores holds few objects the
        garbage collector must visit. A batch adds in time order: nothing was
        set aside.
        """
        sums = [*self._attribute_micros]
        rules = []
        for state in self._states_only():  # none in a batch (see _keep_few)
            if state is None:
                continue
            state.freeze()
            found = state.read(now)
            if found is not None:
                sums[state.rule.dim] += found[0]
                rules.append(found[1])
        return self._finish(at, now, sums, tuple(rules))

    def _finish(
        self, at: datetime, now: float, sums: list[int], rules: Sequence[Any]
    ) -> Score:
        """Clamp the sums to the model's limits, and return the score."""
        dimensions, grade, band, clamps, _ = self._model._summary(sums)  # noqa: SLF001 -- same module
        return self._build(at, now, dimensions, grade, band, clamps, rules)

    def _build(  # noqa: PLR0913, PLR0917 -- a score's parts, flat for speed
        self,
        at: datetime,
        now: float,
        dimensions: dict[str, float],
        grade: str,
        band: str,
        clamps: tuple[_Clamp, ...],
        rules: Sequence[Any],
    ) -> Score:
        """Return the score of these parts at *at* (*now* in seconds).

        Its dimensions and ledger are worded when first read (see _ScoreParts).
        """
        return score_of(
            self._model.name,
            self._lead.id,
            self._notes,
            self._context,
            at,
            (dimensions, grade, band, clamps, rules, now),
        )


#: A score as a scorer reads it (see score_of): its dimensions, grade, band,
#: clamps and rules' snapshots, and its instant in seconds.
ScoreRead = tuple[
    dict[str, float], str, str, tuple["_Clamp", ...], Sequence[Any], float
]


def score_of(  # noqa: PLR0913, PLR0917 -- a score's parts, flat for speed
    model: str,
    lead_id: str,
    notes: tuple[str, ...],
    context: tuple[Any, Any],
    at: datetime,
    read: ScoreRead,
) -> Score:
    """Return the score a scorer *read* at *at*, from its parts (see ScoreRead).

    The *model*'s name, *lead_id*, *notes* and *context* are the scorer's
    (see _ScoreParts for the context). The dimensions and ledger are worded
    when first read (see _ScoreParts). A read's parts are numbers, strings,
    a dict of floats and tuples of them, which the garbage collector stops
    tracking, where it walks a Score in every full collection for as long
    as it lives: the engine keeps a lead's newest score as its parts until
    it is read.
    """
    dimensions, grade, band, clamps, rules, now = read
    if rules or clamps or context[0]:  # context[0]: the attribute lines
        return _new_score(
            model,
            lead_id,
            at,
            dimensions,
            grade,
            band,
            (_READ_LATER, rules, clamps, now),
            notes,
            context,
        )
    # A model with nothing to say.
    return _new_score(
        model, lead_id, at, dimensions, grade, band, _NO_LINES, notes, None
    )


class _Clamp:
    """A dimension limit's ledger line (in millionths), worded only when read."""

    __slots__ = ("bound", "dimension", "points", "side")

    def __init__(self, dimension: str, points: int, bound: int, side: str) -> None:
        self.dimension = dimension
        self.points = points
        self.bound = bound
        self.side = side

    def build(self) -> Contribution:
        points = self.points / 1_000_000
        # Built right: no checks (Contribution's fields, in order).
        return _new_line(
            f"limit on {self.dimension}",
            self.dimension,
            points,
            0.0,
            0.0,
            points,
            _NO_IDS,
            _NO_IDS,
            f"{self.dimension} is kept {self.side} {_num(self.bound / 1_000_000)}",
        )


# A score's parts besides its activity lines (see ScoringModel._summary).
_Summary = tuple[dict[str, float], str, str, tuple[_Clamp, ...], tuple[()]]


#: The first item of a ledger to word when read: (_READ_LATER, rules, clamps, at).
_READ_LATER = object()  # untracked by the collector, like the tuple it heads


class _ReadLater:
    """A field that the engine sets as parts, worded on first read and kept.

    A Score's dimensions and ledger, as a scorer reads them; a ScoreChanged
    event's previous score, as a held state keeps it (see funnelkit._events).
    Stands in the class for the field's slot (*slot*, its descriptor): the
    checked constructor, ``attrs.evolve``, comparisons, copies and reads see
    the worded value.
    """

    __slots__ = ("slot", "word")

    def __init__(
        self, slot: MemberDescriptorType, word: Callable[[Any, Any], Any]
    ) -> None:
        self.slot = slot
        self.word = word  # the worded value of the parts held, or None: as held

    def __get__(self, instance: object, owner: type | None = None) -> Any:  # noqa: ANN401 -- a field's value
        if instance is None:
            return self.slot  # on the class, the slot's descriptor, as attrs left it
        held = self.slot.__get__(instance, owner)
        worded = self.word(instance, held)
        if worded is None:
            return held
        self.slot.__set__(instance, worded)  # frozen, but the same value, in words
        return worded

    def __set__(self, instance: object, value: object) -> None:
        self.slot.__set__(instance, value)


def _dimensions_worded(score: Score, held: Any) -> FrozenMap[float] | None:  # noqa: ANN401 -- a slot's value
    if type(held) is dict:  # a scorer's, in sorted key order, never changed
        return FrozenMap._trusted(held)  # noqa: SLF001 -- built in sorted order
    return None


def _ledger_worded(score: Score, held: Any) -> _Ledger | None:  # noqa: ANN401 -- a slot's value
    if type(held) is tuple and held and held[0] is _READ_LATER:
        head, table = _context_slot.__get__(score)
        return _Ledger(head, held[1], held[2], held[3], table)
    return None


_dimensions_slot: MemberDescriptorType = Score.__dict__["dimensions"]
_lines_slot: MemberDescriptorType = Score.__dict__["contributions"]
_context_slot: MemberDescriptorType = _ScoreParts.__dict__["_context"]
setattr(Score, "dimensions", _ReadLater(_dimensions_slot, _dimensions_worded))  # noqa: B010 -- mypy sees the field
setattr(Score, "contributions", _ReadLater(_lines_slot, _ledger_worded))  # noqa: B010 -- as above
#: A score's dimensions as held: a FrozenMap, or a scorer's dict not yet read.
_held_dimensions: Callable[[Score], Mapping[str, float]] = _dimensions_slot.__get__


def _ledger_once(score: Score) -> Sequence[Contribution]:
    """A score's ledger, worded for one use and not kept (a store writing it).

    A score that keeps its worded ledger keeps it for as long as the lead's
    state lives, for the garbage collector to walk (see _ScoreParts).
    """
    held = _lines_slot.__get__(score)
    worded = _ledger_worded(score, held)
    return held if worded is None else worded


#: Trusted scores, without attrs' checks and converters: score_of builds
#: every part the way the checks would accept it. It takes Score's fields
#: in order (the dimensions as a dict, the ledger as parts, see score_of),
#: then the ledger's shared half (``_context``), worded when read (see
#: _ScoreParts).
_new_score = unchecked(Score, "_context")
