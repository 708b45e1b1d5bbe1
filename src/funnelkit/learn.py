"""Learn a points model from past outcomes, and measure any model on labelled leads.

:func:`fit_scorecard` turns labelled rows (a CRM export, one mapping per lead)
into a *scorecard*: every categorical value and every bin of a number gets
whole points, and the points are ordinary :class:`~funnelkit.AttributeRule`
objects in an ordinary :class:`~funnelkit.ScoringModel` that
:func:`~funnelkit.dump_policy` writes and a person can read and edit.
:func:`fit_scorecard_from_history` does the same from leads, their activities
and their outcomes, adding :class:`~funnelkit.ActivityRule` objects for what
the leads did. :func:`evaluate` and :func:`evaluate_history` measure any
scoring model, learned or hand-written: ROC AUC, conversion and lift by decile,
and the actual rate of each grade.

The fitting is scikit-learn's regularised logistic regression, from the
``learn`` extra (``pip install 'funnelkit[learn]'``), imported when a model is
fitted; funnelkit's part is the binning, the conversion of coefficients into
points and the explanation. Measuring needs no extra.

How a scorecard is made:

1. **Columns.** Every column but the label and the ``exclude`` list is a
   feature (or the ``features`` given), except ``id``, ``email`` and
   ``created_at``, left out unless named: identifiers tell one lead from
   every other rather than predict. A column a leads file reads into the
   lead's own fields (``source``, ``owner``, the BANT answers ``budget``,
   ``authority``, ``need``, ``timeline``; ``id`` and ``email`` when named) is
   learned as that field, read as the file reads it, so a scorecard scores
   the leads file it learned on as it learned; such a column is categorical.
   Another column whose present values are all numbers (or text the command
   line reads as one from a CSV cell), at least two different ones, is
   numeric; any other is categorical. Empty text and ``None`` are missing.
2. **Categorical values** held by at least ``min_share`` of the rows get a
   level each (``equals``, or ``one_of`` the text seen and the value the
   command line reads from it: ``"true"`` and ``True``); rarer ones are
   pooled into one "other" level.
3. **Numbers** are cut into at most ``bins`` quantile bins, each a half-open
   range ``[low, high)`` whose bounds are values seen in the data. With
   ``monotone="auto"``, neighbouring bins out of order are merged, pooling
   adjacent violators, until the conversion rates rise (or fall) steadily,
   except where a likelihood-ratio test says two neighbours really differ
   (5% level): monotone where the data allows.
4. **Missing values** of a feature get a level of their own (``absent``).
5. **Fit**: a logistic regression on one indicator per level, with L2
   regularisation (``regularization`` is scikit-learn's ``C``; ``"auto"``
   chooses it by 5-fold cross-validation on the rows).
6. **Points**: each coefficient times ``points_to_double_odds / ln 2``, so
   that many points double the odds of the outcome; within a feature the
   lowest level is moved to 0 points, so every point is earned; then rounded
   to whole points. Levels worth 0 points make no rule.
7. **Grades**: the fit letters are set at the 80th, 50th and 20th percentiles
   of the training points, so an A lead is in the top fifth of the history.

>>> from funnelkit.learn import evaluate
>>> from funnelkit import AttributeRule, ScoringModel, between
>>> model = ScoringModel("hand", [AttributeRule("visits", between(3, None), 10)])
>>> rows = [{"visits": "5", "won": "yes"}, {"visits": "1", "won": "no"}]
>>> evaluate(model, rows, "won").auc
1.0
"""

from __future__ import annotations

import bisect
import importlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

import attrs

from funnelkit._backtest import Decile, _auc, _deciles
from funnelkit._files import _scalar as _csv_cell
from funnelkit._lead import _EMAIL, Activity, Bant, Lead
from funnelkit._predicates import (
    MISSING as _MISSING,
)
from funnelkit._predicates import (
    ValueTest,
    _Between,
    _Both,
    _Either,
    _Not,
    absent,
    between,
    equals,
    one_of,
    present,
)
from funnelkit._rules import ActivityRule, AttributeRule, lead_value
from funnelkit._scoring import Grades, Score, ScoringModel
from funnelkit._text import counted, table
from funnelkit._time import elapsed, require_aware
from funnelkit._validators import (
    Scalar,
    as_tuple,
    at_most,
    check_items,
    check_scalar,
    finite,
    instance_of,
    is_unordered,
    items_of,
    non_empty_str,
    optional,
    optional_share,
    reject,
)
from funnelkit._validators import count as whole_count
from funnelkit._validators import share as a_share
from funnelkit.errors import MissingExtraError, SerializationError, ValidationError
from funnelkit.serialization import structure

if TYPE_CHECKING:
    from funnelkit._rules import Rule

__all__ = [
    "Band",
    "Evaluation",
    "Level",
    "Scorecard",
    "as_lead",
    "evaluate",
    "evaluate_history",
    "fit_scorecard",
    "fit_scorecard_from_history",
    "fit_scoring_model",
]

#: When a row-scored lead was made: scoring rows has no clock, any fixed instant does.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_NO_TIME = timedelta(0)
_TRUE = frozenset({"1", "1.0", "true", "yes", "y", "t", "won", "converted"})
_FALSE = frozenset({"0", "0.0", "false", "no", "n", "f", "lost", "not converted"})
_LABEL_WORDS = "True/False, 1/0, yes/no or won/lost"
#: The fit letters of a learned model sit at these shares of the history, best first.
_GRADE_SHARES = (("A", 0.8), ("B", 0.5), ("C", 0.2))
#: The 95th percentile of the chi-square distribution with one degree of
#: freedom: neighbouring bins whose rates differ more than this allows (a
#: likelihood-ratio test at the 5% level) are not merged to make them monotone.
_CHI2_1DF_95 = 3.841458820694124
_ACTIVITY = "activity: "
#: The regularisation strengths (C) cross-validation chooses from, in folds.
_STRENGTHS = (1.0, 0.3, 3.0, 0.1, 10.0)  # on a tie, the one nearer 1 wins
_FOLDS = 5
_MIN_BINS = 2
_OTHER = "other"
#: The columns a leads file reads into the lead's own fields (the command
#: line's reader), and the path a rule reads each from: learned from, a
#: column is read as that field, so a scorecard scores the file it learned on.
_FIELD_COLUMNS = {
    "id": "id",
    "email": "email",
    "source": "source",
    "owner": "owner",
    "budget": "bant.budget",
    "authority": "bant.authority",
    "need": "bant.need",
    "timeline": "bant.timeline",
}
_ANSWERS = frozenset({"budget", "authority", "need"})
_TRUE_ANSWERS = frozenset({"true", "yes", "1"})
_FALSE_ANSWERS = frozenset({"false", "no", "0"})
#: When the lead was created: a leads file's column, and no value a rule tests.
_CREATED = "created_at"
#: Columns learned from only when named in ``features``: identifiers tell one
#: lead from every other rather than predict (an id or an address never comes
#: again), and a lead's creation is no value of the lead a rule can test.
_NOT_FEATURES = frozenset({"id", "email", _CREATED})


# -- Results ----------------------------------------------------------------------
#
# The fit and the evaluation build these; a host reads them back from JSON, or
# builds them in its tests. Each checks its fields, and how they bound each
# other, so that one read from damaged data is refused there, not later.


def _whole(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if type(value) is not int:
        reject(instance, attribute, value, "a whole number")


def _at_least_one(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if type(value) is not int or value < 1:
        reject(instance, attribute, value, "a whole number, 1 or more")


def _positive(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    finite(instance, attribute, value)
    if value <= 0:
        reject(instance, attribute, value, "a positive number")


@attrs.frozen(kw_only=True)
class Level:
    """One line of a scorecard: a value or range of a feature, and its points.

    Attributes:
        feature: The column (or ``"activity: <kind>"``) the level belongs to.
        level: The value, range or ``"missing"``/``"other"``, in words.
        test: The value test that puts a lead in this level (``None`` for an
            activity level, which is an :class:`~funnelkit.ActivityRule`).
        rows: Training rows in the level.
        positives: Of those, rows with the outcome.
        points: Whole points the level is worth (0: no rule).
        weight: The fitted coefficient (log-odds) before points were rounded.
    """

    feature: str = attrs.field(validator=non_empty_str)
    level: str = attrs.field(validator=non_empty_str)
    test: ValueTest | None = attrs.field(
        validator=optional(instance_of(ValueTest, "a ValueTest or None"))
    )
    rows: int = attrs.field(validator=whole_count)
    positives: int = attrs.field(validator=whole_count)
    points: int = attrs.field(validator=_whole)
    weight: float = attrs.field(validator=finite)

    def __attrs_post_init__(self) -> None:
        at_most(self, "positives", self.positives, "rows", self.rows)

    @property
    def rate(self) -> float:
        """The share of the level's training rows with the outcome."""
        return self.positives / self.rows if self.rows else 0.0


@attrs.frozen(kw_only=True)
class Scorecard:
    """A learned scoring model, with the figures it was learned from.

    Attributes:
        model: The :class:`~funnelkit.ScoringModel`: whole points per level.
        levels: Every level of every feature, with its training counts and
            points, features in column order.
        label: What the outcome was (the label column, or ``"outcome"``).
        rows: Training rows.
        positives: Training rows with the outcome.
        points_to_double_odds: Points that double the odds of the outcome.
        base_log_odds: The fitted log-odds of a lead with 0 points.
        excluded: The columns left out on purpose (the ``exclude`` list).
        dimension: The score the points add up to: ``"total"`` (fit plus
            engagement) or the host's own dimension.
        regularization: The L2 strength the fit used (scikit-learn's ``C``).
    """

    model: ScoringModel = attrs.field(
        validator=instance_of(ScoringModel, "a ScoringModel")
    )
    levels: tuple[Level, ...] = attrs.field(
        converter=as_tuple, validator=items_of(Level, "a tuple of Level rows")
    )
    label: str = attrs.field(validator=non_empty_str)
    rows: int = attrs.field(validator=_at_least_one)
    positives: int = attrs.field(validator=whole_count)
    points_to_double_odds: int = attrs.field(validator=_at_least_one)
    base_log_odds: float = attrs.field(validator=finite)
    excluded: tuple[str, ...] = attrs.field(
        converter=as_tuple, validator=items_of(str, "a tuple of column names")
    )
    dimension: str = attrs.field(default="total", validator=non_empty_str)
    regularization: float = attrs.field(default=1.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        at_most(self, "positives", self.positives, "rows", self.rows)

    def probability(self, points: float) -> float:
        """The chance of the outcome the fit gives a lead with *points* points.

        Each ``points_to_double_odds`` points double the odds, from
        ``base_log_odds`` at 0 points: with even odds at 0 and 20 points to
        double them, 20 points give odds of 2 to 1, a chance of 2/3.
        Any number of points gives a chance from 0 to 1, however far from 0.

        Raises:
            ValidationError: *points* is not a number.
        """
        value: object = points  # any value, at run time
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValidationError(field="points", value=value, expected="a number")
        try:
            number = float(value)
        except OverflowError:  # a whole number beyond a float: as far as one goes
            number = math.inf if value > 0 else -math.inf
        if math.isnan(number):
            raise ValidationError(field="points", value=value, expected="a number")
        return _sigmoid(
            self.base_log_odds + number * math.log(2) / self.points_to_double_odds
        )

    def to_text(self) -> str:
        """The scorecard as a table: each level's rows, rate and points."""
        lines = [
            (
                f"{self.model.name}: learned from {self.rows:,} rows, "
                f"{self.positives:,} with {self.label} "
                f"({_percent(self.positives / self.rows)}); "
                f"regularization C={self.regularization:g}; "
                f"{self.points_to_double_odds} points double the odds; "
                f"chance at 0 points: {_chance(self.probability(0))}."
            ),
        ]
        if self.excluded:
            lines.append("Left out: " + ", ".join(self.excluded) + ".")
        lines.append(
            table(
                ("level", "rows", "rate", "points"),
                [
                    [
                        f"{level.feature}: {level.level}",
                        f"{level.rows:,}",
                        _percent(level.rate),
                        f"{level.points:+}",
                    ]
                    for level in self.levels
                ],
                words=1,
            )
        )
        return "\n".join(lines)


@attrs.frozen(kw_only=True)
class Band:
    """The leads a model puts in one grade, and how many of them converted.

    Attributes:
        band: The fit letter.
        leads: Leads in it.
        positives: Of those, leads with the outcome.
        rate: ``positives / leads``.
        predicted: The mean chance of the outcome the scorecard gives them
            (``None`` for a model that is not a :class:`Scorecard`).
    """

    band: str = attrs.field(validator=non_empty_str)
    leads: int = attrs.field(validator=whole_count)
    positives: int = attrs.field(validator=whole_count)
    rate: float = attrs.field(validator=a_share)
    predicted: float | None = attrs.field(validator=optional_share)

    def __attrs_post_init__(self) -> None:
        at_most(self, "positives", self.positives, "leads", self.leads)


@attrs.frozen(kw_only=True)
class Evaluation:
    """How well a scoring model ranks labelled leads.

    Attributes:
        model: The model's name.
        leads: Leads scored.
        positives: Of those, leads with the outcome.
        auc: ROC AUC of the score (ties count half; ``None`` when every lead
            has the same outcome).
        deciles: Conversion and lift by tenth of the leads, highest scores
            first (:class:`~funnelkit.analytics.Decile`, ``won`` meaning the
            outcome); leads of one score are never split, as in a backtest:
            all go to the tenth the first falls in.
        calibration: The actual rate of each fit grade, best first, next to
            the predicted chance when the model is a :class:`Scorecard`.
    """

    model: str = attrs.field(validator=non_empty_str)
    leads: int = attrs.field(validator=whole_count)
    positives: int = attrs.field(validator=whole_count)
    auc: float | None = attrs.field(validator=optional_share)
    deciles: tuple[Decile, ...] = attrs.field(
        converter=as_tuple, validator=items_of(Decile, "a tuple of Decile rows")
    )
    calibration: tuple[Band, ...] = attrs.field(
        converter=as_tuple, validator=items_of(Band, "a tuple of Band rows")
    )

    def __attrs_post_init__(self) -> None:
        at_most(self, "positives", self.positives, "leads", self.leads)

    @property
    def top_decile_lift(self) -> float | None:
        """The lift of the highest-scored tenth (``None`` without deciles)."""
        return self.deciles[0].lift if self.deciles else None

    def to_text(self) -> str:
        """The evaluation as text: AUC, the deciles, the grades."""
        auc = "-" if self.auc is None else f"{self.auc:.3f}"
        low = max((len(_num(row.low)) for row in self.deciles), default=0)
        high = max((len(_num(row.high)) for row in self.deciles), default=0)
        deciles = table(
            ("decile", "leads", "rate", "lift", "points"),
            [
                [
                    str(row.decile),
                    f"{row.leads:,}",
                    _percent(row.win_rate),
                    _lift(row.lift),
                    f"{_num(row.low):>{low}} to {_num(row.high):>{high}}",
                ]
                for row in self.deciles
            ],
            words=0,
        )
        grades = table(
            ("grade", "leads", "rate", "predicted"),
            [
                [
                    row.band,
                    f"{row.leads:,}",
                    _percent(row.rate),
                    "-" if row.predicted is None else _percent(row.predicted),
                ]
                for row in self.calibration
            ],
            words=1,
        )
        return "\n".join(
            [
                (
                    f"{self.model}: {counted(self.leads, 'lead')}, "
                    f"{self.positives:,} with the outcome; ROC AUC {auc}"
                ),
                deciles,
                grades,
            ]
        )


def _sigmoid(log_odds: float) -> float:
    """The chance of log-odds *log_odds*, without overflow at either end."""
    if log_odds >= 0:
        return 1 / (1 + math.exp(-log_odds))
    odds = math.exp(log_odds)  # at most 1: no overflow
    return odds / (1 + odds)


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _chance(value: float) -> str:
    return "below 0.1%" if value < 0.001 else _percent(value)  # noqa: PLR2004 -- 0.1%


def _lift(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _num(value: float) -> str:
    return f"{value:g}"


# -- Reading rows -----------------------------------------------------------------


def _is_missing(value: object) -> bool:
    return value is None or value is _MISSING or value == ""


def _number(value: object) -> float | None:
    """The number *value* is (a finite float's worth), else ``None``; text is none."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # a whole number beyond a float's range
        return None
    return number if math.isfinite(number) else None


def _cell(value: Scalar) -> Scalar:
    """*value* as the command line reads it from a CSV cell.

    Text that is a whole number, a decimal number or ``true``/``false``
    becomes one (the reader of ``python -m funnelkit score`` and ``backtest``);
    other values are kept.
    """
    return _csv_cell(value) if isinstance(value, str) else value


def _cell_value(value: object, where: str) -> Scalar:
    """*value* if it is a JSON scalar; else a ValidationError naming *where*."""
    problem = check_scalar(value)
    if problem is not None:
        raise ValidationError(field=where, value=value, expected=problem)
    return value  # type: ignore[return-value] # checked: a JSON scalar


def _tidy(number: float) -> float:
    """An integral float as an int (``5`` rather than ``5.0`` in a rule)."""
    return int(number) if number.is_integer() else number


def _outcome(row: Mapping[str, object], label: str, index: int) -> bool:
    value = row.get(label, _MISSING)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in {0, 1}:
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValidationError(
        field=f"rows[{index}][{label!r}]",
        value=None if value is _MISSING else value,
        expected=f"a yes/no outcome: {_LABEL_WORDS}",
    )


def _outcomes(
    rows: Sequence[Mapping[str, object]],
    label: str | Callable[[Mapping[str, object]], bool],
) -> list[bool]:
    if isinstance(label, str):
        return [_outcome(row, label, index) for index, row in enumerate(rows)]
    if not callable(label):
        raise ValidationError(
            field="label",
            value=label,
            expected="a column name, or a function of a row returning True or False",
        )
    found = []
    for index, row in enumerate(rows):
        try:
            value = label(row)
        except Exception as error:  # the host's function: name the row it failed on
            raise ValidationError(
                field=f"label(rows[{index}])",
                value=row,
                expected=(
                    "a row the label function reads, but it raised "
                    f"{type(error).__name__}: {error}"
                ),
            ) from error
        if not isinstance(value, bool):
            raise ValidationError(
                field=f"label(rows[{index}])", value=value, expected="True or False"
            )
        found.append(value)
    return found


def _both_outcomes(outcomes: list[bool], field: str, what: str) -> None:
    """Refuse a history without both outcomes: nothing to learn from."""
    if len(set(outcomes)) < 2:  # noqa: PLR2004 -- both outcomes
        raise ValidationError(
            field=field,
            value=outcomes[0],
            expected=f"{what} with both outcomes, some with and some without",
        )


def _row(value: object, what: str) -> Mapping[str, object]:
    """*value* if it is a row: a mapping whose column names are text."""
    if not isinstance(value, Mapping):
        raise ValidationError(
            field=what, value=value, expected="a mapping of column names to values"
        )
    for key in value:
        if not isinstance(key, str):
            raise ValidationError(
                field=what, value=key, expected="column names that are text"
            )
    if any(map(_is_numpy_scalar, value.values())):
        # pandas' to_dict("records") gives numpy scalars: their Python values.
        return {
            key: cell.item() if _is_numpy_scalar(cell) else cell
            for key, cell in value.items()
        }
    return value


def _is_numpy_scalar(value: object) -> bool:
    """A numpy bool, number or text (not an array, nor a date: those are refused)."""
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return (
        type(value).__module__ == "numpy"
        and getattr(value, "ndim", None) == 0
        and kind is not None
        and kind in "biufUS"
    )


def _rows(value: object, what: str) -> list[Mapping[str, object]]:
    rows = check_items(value, field=what, expected="an iterable of mappings (rows)")
    return [_row(row, f"{what}[{index}]") for index, row in enumerate(rows)]


def _names(value: object, field: str, what: str = "column names") -> tuple[str, ...]:
    """Names (of columns, or activity kinds): one text, or an iterable of them.

    A list keeps its order; a set has none of its own (its iteration order
    changes from process to process): its names are sorted.
    """
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable) or isinstance(value, bytes | Mapping):
        raise ValidationError(field=field, value=value, expected=f"a list of {what}")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str):
            raise ValidationError(field=field, value=name, expected=f"{what} (text)")
    return tuple(sorted(names)) if is_unordered(value) else names


def _numeric_attributes(model: ScoringModel) -> frozenset[str]:
    """The attribute names *model* tests with number ranges."""

    def ranged(test: ValueTest) -> bool:
        if isinstance(test, _Between):
            return True
        if isinstance(test, _Both | _Either):
            return ranged(test.left) or ranged(test.right)
        if isinstance(test, _Not):
            return ranged(test.inner)
        return False

    names = set()
    for rule in model.rules:
        if isinstance(rule, AttributeRule) and ranged(rule.test):
            head, _, rest = rule.attribute.partition(".")
            names.add(rest if head == "attributes" and rest else rule.attribute)
    return frozenset(names)


def _answer(value: Scalar) -> bool | None:
    """A BANT answer as a leads file reads it (true/false, yes/no, 1/0), or None."""
    if isinstance(value, bool):
        return value
    if type(value) is int and value in {0, 1}:
        return value == 1
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE_ANSWERS | _FALSE_ANSWERS:
        return word in _TRUE_ANSWERS
    return None


def _day(value: Scalar) -> str | None:
    """A timeline date, ``YYYY-MM-DD`` as a rule reads it, or None."""
    if not isinstance(value, str):
        return None
    try:
        return structure(value, date).isoformat()
    except SerializationError:
        return None


def _text(column: str, value: Scalar) -> str | None:
    """The text a lead's *column* holds (a whole number's CSV text), or None."""
    text = str(value) if type(value) is int else value
    if not isinstance(text, str) or not text.strip():
        return None
    if column == "email" and not _EMAIL.fullmatch(text):
        return None
    return text


def _field(column: str, value: Scalar, where: str) -> Scalar:
    """What the lead's field *column* holds for *value*, as a leads file reads it.

    ``id``, ``email``, ``source`` and ``owner`` hold text (a whole number is
    the text of its CSV cell: ``5`` is ``"5"``); a BANT answer ``True`` or
    ``False`` (``true``/``false``, ``yes``/``no``, ``1``/``0``); ``timeline``
    a date, ``YYYY-MM-DD``, which a rule reads as that text.

    Raises:
        ValidationError: the field holds no such value; it names *where*.
    """
    read: Scalar
    if column in _ANSWERS:
        read, expected = _answer(value), "true or false (yes or no, 1 or 0)"
    elif column == "timeline":
        read, expected = _day(value), "a date, YYYY-MM-DD"
    else:
        read = _text(column, value)
        expected = (
            "an email address such as 'ana@example.com'"
            if column == "email"
            else "non-empty text or a whole number"
        )
    if read is None:
        raise ValidationError(
            field=where,
            value=value,
            expected=f"{expected}: the column is the lead's {_FIELD_COLUMNS[column]}",
        )
    return read


def as_lead(
    row: Mapping[str, object],
    model: ScoringModel,
    *,
    id: str = "row",  # noqa: A002 -- the lead's field is called id
) -> Lead:
    """Return the lead *row* describes, read as a leads file and *model* read it.

    The columns a leads file reads into the lead's own fields are those
    fields: ``id`` (else the lead's id is *id*), ``email``, ``source``,
    ``owner``, and the BANT answers ``budget``, ``authority``, ``need``
    (true or false, yes or no, 1 or 0) and ``timeline`` (a date,
    ``YYYY-MM-DD``); ``created_at`` is left out (the lead is made at a fixed
    instant). Every other column is an attribute.

    Empty text and ``None`` are left out (missing); text in a column the model
    tests with number ranges becomes a number if it is one as the command
    line reads a CSV cell (a whole or a decimal number: ``"5"``, ``"2.5"``,
    not ``"1e3"`` or ``" 5"``), so a row scores as the same line of a CSV
    file does in ``python -m funnelkit score``; other values are kept as they
    are. :func:`evaluate` scores rows this way.

    >>> from funnelkit import AttributeRule, ScoringModel, between
    >>> model = ScoringModel("m", [AttributeRule("visits", between(3, None), 10)])
    >>> lead = as_lead({"visits": "5", "country": "", "source": "ads"}, model)
    >>> lead.attributes, lead.source
    ({'visits': 5}, 'ads')

    Raises:
        ValidationError: a cell is not a JSON scalar, or a field's column
            holds a value the field cannot (``budget`` of ``"maybe"``).
    """
    scoring, _ = _model(model)
    return _row_lead(_row(row, "row"), _numeric_attributes(scoring), id, "row")


def _row_lead(
    row: Mapping[str, object], numeric: frozenset[str], lead_id: str, where: str
) -> Lead:
    attributes: dict[str, Scalar] = {}
    fields: dict[str, Scalar] = {}
    for key, value in row.items():
        cell = _cell_value(value, f"{where}[{key!r}]")
        if _is_missing(cell) or key == _CREATED:
            continue
        if key in _FIELD_COLUMNS:
            fields[key] = _field(key, cell, f"{where}[{key!r}]")
            continue
        read = _cell(cell) if key in numeric else cell
        attributes[key] = read if _number(read) is not None else cell

    def text(key: str) -> str | None:
        value = fields.get(key)
        return value if isinstance(value, str) else None  # read as text, or missing

    def answer(key: str) -> bool | None:
        value = fields.get(key)
        return value if isinstance(value, bool) else None  # read as one, or missing

    timeline = text("timeline")
    return Lead(
        text("id") or lead_id,
        _EPOCH,
        email=text("email"),
        attributes=attributes,
        bant=Bant(
            budget=answer("budget"),
            authority=answer("authority"),
            need=answer("need"),
            timeline=None if timeline is None else date.fromisoformat(timeline),
        ),
        source=text("source"),
        owner=text("owner"),
    )


# -- Binning ----------------------------------------------------------------------


def _quantile_edges(values: list[float], bins: int) -> list[float]:
    """Cut points at the quantiles of *values* (sorted), each a value of the data."""
    distinct = sorted(set(values))
    if len(distinct) <= bins:
        return distinct[1:]
    edges: list[float] = []
    for step in range(1, bins):
        edge = values[min(len(values) - 1, (len(values) * step) // bins)]
        if edge > distinct[0] and (not edges or edge > edges[-1]):
            edges.append(edge)
    return edges


def _count_bins(
    numbers: list[tuple[float, bool]], edges: list[float]
) -> list[list[int]]:
    counts = [[0, 0] for _ in range(len(edges) + 1)]
    for number, won in numbers:
        cell = counts[bisect.bisect_right(edges, number)]
        cell[0] += 1
        cell[1] += won
    return counts


def _log_likelihood(groups: Iterable[tuple[int, int]]) -> float:
    total = 0.0
    for rows, positives in groups:
        for hits in (positives, rows - positives):
            if hits:
                total += hits * math.log(hits / rows)
    return total


def _pooled(
    counts: list[list[int]], rising: bool, *, barrier: float | None = None
) -> list[list[int]]:
    """Pool adjacent violators: merge bins until their rates rise (or fall).

    With a *barrier*, two neighbours out of order whose rates differ by more
    than chance allows (their likelihood-ratio statistic above it) stay apart.
    """
    blocks: list[list[int]] = []  # [rows, positives, bins merged]
    for rows, positives in counts:
        blocks.append([rows, positives, 1])
        while len(blocks) > 1:
            before, after = blocks[-2], blocks[-1]
            # Compare the rates without dividing: before/after out of order?
            left = before[1] * after[0]
            right = after[1] * before[0]
            if (left <= right) if rising else (left >= right):
                break
            together = [before[0] + after[0], before[1] + after[1]]
            if barrier is not None:
                apart = _log_likelihood([(before[0], before[1]), (after[0], after[1])])
                if (
                    2 * (apart - _log_likelihood([(together[0], together[1])]))
                    > barrier
                ):
                    break
            blocks[-2:] = [[*together, before[2] + after[2]]]
    return blocks


def _monotone(
    counts: list[list[int]], edges: list[float], mode: bool | Literal["auto"]
) -> tuple[list[list[int]], list[float]]:
    """Merge bins into monotone ones where *mode* (and the data) allow."""
    if mode is False or len(counts) < 3:  # noqa: PLR2004 -- two bins are monotone
        return counts, edges
    # The direction the bins are nearest to: the one whose full pooling loses
    # the least likelihood.
    rising = max(
        (True, False),
        key=lambda up: _log_likelihood((b[0], b[1]) for b in _pooled(counts, up)),
    )
    barrier = _CHI2_1DF_95 if mode == "auto" else None
    best = _pooled(counts, rising, barrier=barrier)
    kept_edges = []
    position = 0
    for block in best[:-1]:
        position += block[2]
        kept_edges.append(edges[position - 1])
    return [[block[0], block[1]] for block in best], kept_edges


# -- Features ---------------------------------------------------------------------


@attrs.define
class _Feature:
    """One feature's levels: the tests, their names, and each row's level."""

    name: str
    attribute: str
    tests: list[ValueTest]
    names: list[str]
    rows_of: list[int]  # the level of each row
    counts: list[int]
    positives: list[int]


def _path(name: str) -> str:
    """The path a rule reads column *name* from, as a leads file reads the column.

    A column the file reads into a field of the lead (``source``, ``budget``)
    is that field (``source``, ``bant.budget``); a name with a dot is an
    attribute of that name (``attributes.emp.var``); any other an attribute.
    """
    field = _FIELD_COLUMNS.get(name)
    if field is not None:
        return field
    return f"attributes.{name}" if "." in name else name


def _levels(  # noqa: PLR0913 -- one feature's values and the binning options
    name: str,
    attribute: str,
    values: list[Scalar],
    outcomes: list[bool],
    *,
    categorical: bool,
    text: bool,
    field: bool,
    bins: int,
    min_share: float,
    monotone: bool | Literal["auto"],
) -> _Feature | None:
    """The levels of one feature, or ``None`` when it cannot tell rows apart.

    With *text*, text that the command line reads as a number (a CSV cell)
    is one; without, only numbers are (a lead's attributes, as a funnel
    scores them). A *field*'s values are the lead field's, already read:
    categories, each tested as it is.
    """
    read = values if field else [_cell(value) for value in values]
    # Each value read once; the first that is no number settles it (text
    # columns stop early).
    parsed: list[float | None] = []
    is_numeric = not (categorical or field) and not all(map(_is_missing, values))
    for value in (read if text else values) if is_numeric else ():
        number = None if _is_missing(value) else _number(value)
        if number is None and not _is_missing(value):
            is_numeric = False
            break
        parsed.append(number)
    # A single number (a flag: 1 or blank) has no bins to cut: a category.
    is_numeric = is_numeric and len(set(parsed) - {None}) > 1
    tests: list[ValueTest] = []
    names: list[str] = []
    accepted: list[Scalar] = []
    if is_numeric:
        assigned, tests, names = _numeric_levels(parsed, outcomes, bins, monotone)
    else:
        assigned, tests, names, accepted = _categorical_levels(values, read, min_share)
    least = min_share * len(values)
    answered = field and {_key(True), _key(False)} <= set(map(_key, accepted))
    if not is_numeric and tests and names[-1] != _OTHER and not answered:
        # No rare value in the history: a level for the values it never saw,
        # without rows, so the fit leaves its weight at the penalty's prior, 0
        # (a BANT answer seen True and False has no other value to see).
        tests.append(~one_of(*accepted) & present())
        names.append(_OTHER)
    rare = len(tests) - 1 if names and names[-1] == _OTHER else None
    if (
        rare is not None
        and 0 < assigned.count(rare) < least
        and any(map(_is_missing, values))
    ):
        # Too few rare values for a level of their own: with the missing.
        if not accepted:  # no common value either: every row in that one level
            return None
        tests.pop()
        names.pop()
        tests.append(~one_of(*accepted))
        names.append("missing or other")
        assigned = [
            rare if level == rare or _is_missing(value) else level
            for value, level in zip(values, assigned, strict=True)
        ]
    else:
        # Missing values get a level; without any in the history, one without
        # rows (at the prior, like an unseen value).
        tests.append(absent())
        names.append("missing")
        assigned = [
            len(tests) - 1 if _is_missing(value) else level
            for value, level in zip(values, assigned, strict=True)
        ]
    counts = [0] * len(tests)
    positives = [0] * len(tests)
    for level, won in zip(assigned, outcomes, strict=True):
        counts[level] += 1
        positives[level] += won
    # One level (or all but a few rows in one) tells no lead from another.
    if len(values) - max(counts, default=0) < max(least, 1):
        return None
    return _Feature(name, attribute, tests, names, assigned, counts, positives)


def _numeric_levels(
    parsed: list[float | None],
    outcomes: list[bool],
    bins: int,
    monotone: bool | Literal["auto"],
) -> tuple[list[int], list[ValueTest], list[str]]:
    pairs = [
        (number, won)
        for number, won in zip(parsed, outcomes, strict=True)
        if number is not None
    ]
    edges = _quantile_edges(sorted(number for number, _ in pairs), bins)
    counts = _count_bins(pairs, edges)
    _, edges = _monotone(counts, edges, monotone)
    bounds = [None, *(_tidy(edge) for edge in edges), None]
    tests: list[ValueTest] = []
    names: list[str] = []
    for low, high in pairwise(bounds):
        test = between(low, high, include_high=False)
        tests.append(test)
        names.append(test.describe())
    assigned = [
        -1 if number is None else bisect.bisect_right(edges, number)
        for number in parsed
    ]
    return assigned, tests, names


def _key(value: Scalar) -> tuple[bool, Scalar]:
    # True == 1 in a dict: keep booleans apart from numbers.
    return isinstance(value, bool), value


def _form(value: Scalar) -> tuple[str, Scalar]:
    """The forms value tests tell apart: text, True/False, numbers (1 is 1.0)."""
    if isinstance(value, str):
        return "text", value
    return ("bool" if isinstance(value, bool) else "number"), value


def _categorical_levels(
    values: list[Scalar], read: list[Scalar], min_share: float
) -> tuple[list[int], list[ValueTest], list[str], list[Scalar]]:
    """A level per common value, as *read*; and every form the levels accept.

    A level accepts each form of its value seen (``"true"``, ``"10115"``) and
    the value as the command line reads it from a CSV cell (``True``,
    ``10115``): the policy scores a lead alike whichever way its value comes.
    """
    seen: dict[tuple[bool, Scalar], Counter[tuple[str, Scalar]]] = {}
    for value, cell in zip(values, read, strict=True):
        if not _is_missing(value):
            seen.setdefault(_key(cell), Counter())[_form(value)] += 1
    least = min_share * len(values)
    # The most common first; ties in the order of the values' text.
    kept = [
        key
        for key, count in sorted(
            ((key, forms.total()) for key, forms in seen.items()),
            key=lambda item: (-item[1], repr(item[0])),
        )
        if count >= least
    ]
    index = {key: position for position, key in enumerate(kept)}
    tests: list[ValueTest] = []
    names: list[str] = []
    accepted: list[Scalar] = []
    for key in kept:
        forms = [
            form
            for form, _ in sorted(
                seen[key].items(), key=lambda item: (-item[1], repr(item[0]))
            )
        ]
        if _form(key[1]) not in forms:
            forms.append(_form(key[1]))
        own = [form[1] for form in forms]
        tests.append(equals(own[0]) if len(own) == 1 else one_of(*own))
        names.append(repr(own[0]))
        accepted += own
    rare = -1
    if len(kept) < len(seen):
        rare = len(tests)
        tests.append(~one_of(*accepted) & present() if kept else present())
        names.append(_OTHER)
    assigned = [
        -1 if _is_missing(value) else index.get(_key(cell), rare)
        for value, cell in zip(values, read, strict=True)
    ]
    return assigned, tests, names, accepted


# -- Fitting ----------------------------------------------------------------------


def _module(name: str) -> Any:  # noqa: ANN401 -- a module of the optional extra
    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingExtraError(
            extra="learn", package="scikit-learn", purpose="funnelkit.learn's fitting"
        ) from None


@attrs.frozen
class _Options:
    """The options of a fit, checked once."""

    name: str
    bins: int
    min_share: float
    monotone: bool | Literal["auto"]
    points_to_double_odds: int
    regularization: float | Literal["auto"]

    def __attrs_post_init__(self) -> None:
        name: object = self.name  # any value, at run time
        checks: list[tuple[str, object, bool, str]] = [
            (
                "name",
                name,
                isinstance(name, str) and bool(name.strip()),
                "a non-empty name",
            ),
            (
                "bins",
                self.bins,
                type(self.bins) is int and self.bins >= _MIN_BINS,
                "a whole number of at least 2",
            ),
            (
                "min_share",
                self.min_share,
                _number(self.min_share) is not None and 0 <= self.min_share < 1,
                "a share from 0 to below 1",
            ),
            (
                "monotone",
                self.monotone,
                self.monotone == "auto" or type(self.monotone) is bool,
                "True, False or 'auto'",
            ),
            (
                "points_to_double_odds",
                self.points_to_double_odds,
                type(self.points_to_double_odds) is int
                and self.points_to_double_odds > 0,
                "a positive whole number",
            ),
            (
                "regularization",
                self.regularization,
                self.regularization == "auto"
                or (
                    _number(self.regularization) is not None and self.regularization > 0
                ),
                "'auto' or a positive number (scikit-learn's C)",
            ),
        ]
        for field, value, good, expected in checks:
            if not good:
                raise ValidationError(field=field, value=value, expected=expected)


def _features(  # noqa: PLR0913 -- the rows, their reading and the options
    table: Sequence[Mapping[str, object]],
    columns: list[str],
    outcomes: list[bool],
    forced: frozenset[str],
    options: _Options,
    *,
    text: bool,
    path: Callable[[str], str] = _path,
) -> list[_Feature]:
    """The levels of each column that can tell leads apart.

    *path* gives the path a rule reads each column from.
    """
    built = (
        _levels(
            column,
            path(column),
            _values(table, column),
            outcomes,
            categorical=column in forced,
            text=text,
            field=column in _FIELD_COLUMNS,
            bins=options.bins,
            min_share=options.min_share,
            monotone=options.monotone,
        )
        for column in columns
    )
    return [feature for feature in built if feature is not None]


def _columns(
    rows: Sequence[Mapping[str, object]],
    label: str | None,
    features: Iterable[str] | None,
    exclude: tuple[str, ...],
    categorical: frozenset[str],
) -> list[str]:
    known = dict.fromkeys(key for row in rows for key in row)
    # A misspelt name would leave the column in (or read it as numbers)
    # while the scorecard's text says it was left out.
    for field, named in (("exclude", exclude), ("categorical", sorted(categorical))):
        for name in named:
            if name not in known:
                raise ValidationError(
                    field=field, value=name, expected="a column of the rows"
                )
    if features is None:
        # Identifiers and the creation instant only when named (see _NOT_FEATURES).
        names = [
            key
            for key in known
            if key != label and key not in exclude and key not in _NOT_FEATURES
        ]
    else:
        names = list(_names(features, "features"))
    for position, name in enumerate(names):
        expected = _unusable(name, names[:position], known, exclude, label)
        if expected is not None:  # from the rows, only a blank name can be
            raise ValidationError(
                field="rows" if features is None else "features",
                value=name,
                expected=expected,
            )
    return names


def _unusable(
    name: str,
    before: list[str],
    known: Mapping[str, None],
    exclude: tuple[str, ...],
    label: str | None,
) -> str | None:
    """What a feature named *name* should have been, or ``None`` when it is one."""
    if name == _CREATED:
        return (
            "a column a rule can test (created_at is when the lead was created, "
            "which a leads file reads as no attribute)"
        )
    if name not in known:
        return "a column of the rows"
    if name in before:  # twice: two features, rules of one name
        return "each column named once"
    if name in exclude or name == label:
        return "a column that is neither the label nor excluded"
    if not name.strip():  # no attribute of a lead: a rule could not read it
        return "column names that are not blank (exclude a blank one)"
    return None


def _values(rows: Sequence[Mapping[str, object]], column: str) -> list[Scalar]:
    """The column's cells; a lead field's as the field holds them (see _field)."""
    cells = [
        _cell_value(row.get(column), f"rows[{index}][{column!r}]")
        for index, row in enumerate(rows)
    ]
    if column not in _FIELD_COLUMNS:
        return cells
    # Each value read once (an email is text, and a bool is not the int 1).
    read: dict[tuple[type, Scalar], Scalar] = {}
    found: list[Scalar] = []
    for index, cell in enumerate(cells):
        if _is_missing(cell):
            found.append(None)
            continue
        key = (type(cell), cell)
        if key not in read:
            read[key] = _field(column, cell, f"rows[{index}][{column!r}]")
        found.append(read[key])
    return found


@attrs.frozen
class _Counted:
    """An activity kind's counts per row, as the two columns of the fit."""

    kind: str
    cap: int
    counts: list[int]


def _design(features: list[_Feature], counted: list[_Counted], rows: int) -> Any:  # noqa: ANN401 -- a scipy sparse matrix
    """One column per level (1 in the row's level) and two per activity kind.

    Sparse: a row has one 1 per feature among all the levels, and the fit's
    cost then grows with those ones rather than with rows times levels.
    """
    numpy = _module("numpy")
    sparse = _module("scipy.sparse")
    row_ids, column_ids, values = [], [], []
    everyone = numpy.arange(rows)
    column = 0
    for feature in features:
        row_ids.append(everyone)
        column_ids.append(numpy.array(feature.rows_of) + column)
        values.append(numpy.ones(rows))
        column += len(feature.tests)
    for item in counted:
        counts = numpy.array(item.counts, dtype=float)
        done = numpy.flatnonzero(counts)
        row_ids.append(done)
        column_ids.append(numpy.full(len(done), column))
        values.append(numpy.ones(len(done)))
        column += 1
        if item.cap > 1:
            row_ids.append(done)
            column_ids.append(numpy.full(len(done), column))
            values.append(numpy.minimum(counts[done], item.cap))
            column += 1
    if not row_ids:
        return sparse.csr_matrix((rows, 0))
    return sparse.csr_matrix(
        (
            numpy.concatenate(values),
            (numpy.concatenate(row_ids), numpy.concatenate(column_ids)),
        ),
        shape=(rows, column),
    )


def _grades(points: list[int]) -> Grades | None:
    """Letters at the history's percentiles, leads of one score kept together.

    A letter starts at the lowest points that at most its share of the
    history reaches (A: a fifth), so ties never push more leads into it; a
    letter no points fit (a tie across its cut) is left out, and a history
    all of one score keeps the default grades.
    """
    lowest = min(points)
    reached = Counter(points)
    at_or_above = 0
    cuts: list[tuple[int, int]] = []  # (points, leads at or above), highest first
    for value in sorted(reached, reverse=True):
        at_or_above += reached[value]
        cuts.append((value, at_or_above))
    bands: list[tuple[str, float | None]] = []
    for letter, share in _GRADE_SHARES:
        # In tenths, whole numbers: (1 - 0.8) * n is a hair under n / 5.
        tenths = round((1 - share) * 10)
        fitting = [
            value
            for value, count in cuts
            if count * 10 <= tenths * len(points) and value > lowest
        ]
        if fitting and (not bands or min(fitting) < (bands[-1][1] or 0)):
            bands.append((letter, min(fitting)))
    if not bands:
        return None
    return Grades(fit=(*bands, ("D", None)))


def _activity_rules(  # noqa: PLR0913 -- the fit's state, appended to in place
    counted: list[_Counted],
    weights: list[float],
    column: int,
    outcomes: list[bool],
    *,
    scale: float,
    window: timedelta | None,
    levels: list[Level],
    rules: list[Rule],
) -> int:
    """Append each activity kind's levels and rules; return the next column."""
    for item in counted:
        did = [count > 0 for count in item.counts]
        parts = [("the first", 1, weights[column])]
        column += 1
        if item.cap > 1:
            parts.append((f"each, up to {item.cap}", item.cap, weights[column]))
            column += 1
        for name, cap, weight in parts:
            worth = round(weight * scale)
            levels.append(
                Level(
                    feature=f"{_ACTIVITY}{item.kind}",
                    level=name,
                    test=None,
                    rows=sum(did),
                    positives=sum(w for w, d in zip(outcomes, did, strict=True) if d),
                    points=worth,
                    weight=weight,
                )
            )
            if worth:
                rules.append(
                    ActivityRule(
                        item.kind,
                        worth,
                        max_points=abs(worth) * cap,
                        within=window,
                        decay=None,
                        name=f"{item.kind}: {name}",
                    )
                )
    return column


def _logistic(strength: float) -> Any:  # noqa: ANN401 -- a scikit-learn estimator
    # Newton's method converges in a few steps; a tolerance far below what
    # rounding to whole points can see makes that the optimum, so that the
    # points do not depend on where a looser solver stopped (its default,
    # 1e-4, moved a level of the docs' example by a point).
    return _module("sklearn.linear_model").LogisticRegression(
        C=strength, solver="newton-cholesky", max_iter=1_000, tol=1e-10
    )


def _cross_validated(matrix: Any, labels: Any, folds: int) -> float:  # noqa: ANN401 -- numpy arrays
    """The strength of _STRENGTHS with the best mean ROC AUC over *folds* folds."""
    if folds < 2:  # noqa: PLR2004 -- two folds at least
        return 1.0
    selection = _module("sklearn.model_selection")
    metrics = _module("sklearn.metrics")
    # Stratified folds in row order, not shuffled: the same rows choose the same.
    splits = list(selection.StratifiedKFold(n_splits=folds).split(matrix, labels))
    best, best_score = 1.0, -math.inf
    for strength in _STRENGTHS:
        total = 0.0
        for train, held in splits:
            model = _logistic(strength).fit(matrix[train], labels[train])
            scores = model.decision_function(matrix[held])
            total += float(metrics.roc_auc_score(labels[held], scores))
        if total / folds > best_score:
            best, best_score = strength, total / folds
    return best


def _scorecard(  # noqa: PLR0913 -- the parts of a fit
    features: list[_Feature],
    counted: list[_Counted],
    outcomes: list[bool],
    options: _Options,
    *,
    label: str,
    excluded: tuple[str, ...],
    dimension: str,
    window: timedelta | None,
) -> Scorecard:
    _module("sklearn.linear_model")  # the extra, checked before any fitting
    numpy = _module("numpy")
    matrix = _design(features, counted, len(outcomes))
    strength = options.regularization
    if matrix.shape[1]:
        labels = numpy.array(outcomes)
        folds = min(_FOLDS, sum(outcomes), len(outcomes) - sum(outcomes))
        if strength == "auto":
            strength = _cross_validated(matrix, labels, folds)
        fitted = _logistic(strength).fit(matrix, labels)
        weights = [float(weight) for weight in fitted.coef_[0]]
        base = float(fitted.intercept_[0])
    else:  # nothing to learn from: every lead has the base rate's odds
        strength = 1.0 if strength == "auto" else strength
        weights = []
        base = math.log(sum(outcomes) / (len(outcomes) - sum(outcomes)))
    scale = options.points_to_double_odds / math.log(2)
    rules: list[Rule] = []
    levels: list[Level] = []
    fit_points = [0] * len(outcomes)
    column = 0
    for feature in features:
        own = weights[column : column + len(feature.tests)]
        column += len(feature.tests)
        floor = min(own)
        base += floor
        points = [round((weight - floor) * scale) for weight in own]
        for test, name, count, positives, weight, worth in zip(
            feature.tests,
            feature.names,
            feature.counts,
            feature.positives,
            own,
            points,
            strict=True,
        ):
            levels.append(
                Level(
                    feature=feature.name,
                    level=name,
                    test=test,
                    rows=count,
                    positives=positives,
                    points=worth,
                    weight=weight,
                )
            )
            if worth:
                rules.append(
                    AttributeRule(
                        feature.attribute,
                        test,
                        worth,
                        dimension=dimension,
                        name=f"{feature.name}: {name}",
                    )
                )
        for row, level in enumerate(feature.rows_of):
            fit_points[row] += points[level]
    column = _activity_rules(
        counted,
        weights,
        column,
        outcomes,
        scale=scale,
        window=window,
        levels=levels,
        rules=rules,
    )
    grades = _grades(fit_points) if dimension == "fit" else None
    model = ScoringModel(options.name, rules, grades=grades)
    return Scorecard(
        model=model,
        levels=tuple(levels),
        label=label,
        rows=len(outcomes),
        positives=sum(outcomes),
        points_to_double_odds=options.points_to_double_odds,
        base_log_odds=base,
        excluded=excluded,
        dimension="total" if dimension in {"fit", "engagement"} else dimension,
        regularization=float(strength),
    )


def fit_scorecard(  # noqa: PLR0913 -- the rows and the fit's options
    rows: Iterable[Mapping[str, object]],
    label: str | Callable[[Mapping[str, object]], bool],
    *,
    features: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    categorical: Iterable[str] = (),
    name: str = "learned",
    dimension: str = "fit",
    bins: int = 20,
    min_share: float = 0.01,
    monotone: bool | Literal["auto"] = "auto",
    points_to_double_odds: int = 20,
    regularization: float | Literal["auto"] = 1.0,
) -> Scorecard:
    """Learn whole points for each value and range of *rows*' columns.

    Args:
        rows: One mapping per lead (``csv.DictReader`` rows will do).
        label: The column holding the outcome (True/False, 1/0, yes/no,
            won/lost), or a function of a row returning True or False (an
            error it raises becomes a ValidationError naming the row).
        features: The columns to learn from (default: every column but the
            label, *exclude*, and ``id``, ``email`` and ``created_at``), in
            the order given, each once; a set's are sorted. ``id`` and
            ``email`` named here are the lead's fields; ``created_at`` is
            refused (no rule tests it).
        exclude: Columns never to learn from: ids of other names, and
            anything filled in after the moment the score is for (label
            leakage). The text lists them in the order given (a set's
            sorted).
        categorical: Columns to read as categories even if they hold numbers
            (codes, postcodes).
        name: The model's name.
        dimension: The score the rules add to.
        bins: At most this many quantile bins per numeric column.
        min_share: A categorical value held by fewer rows than this share is
            pooled into "other".
        monotone: ``"auto"``: merge bins into monotone ones unless the data
            says otherwise; ``True``: always; ``False``: never.
        points_to_double_odds: Points that double the odds of the outcome.
        regularization: The inverse strength of the L2 penalty (scikit-learn's
            ``C``): smaller is stronger, 1 by default. ``"auto"`` chooses it
            among 0.1, 0.3, 1, 3 and 10 by the ROC AUC of a 5-fold
            cross-validation on the
            rows (folds in row order, so the same rows choose the same; on a
            tie, the one nearest 1).

    Raises:
        MissingExtraError: scikit-learn (the ``learn`` extra) is missing.
        ValidationError: a row, column, label value or option is not usable,
            a lead field's column holds a value the field cannot (a
            ``budget`` of ``"maybe"``), or the rows do not have both
            outcomes; it names which, and what was expected.
    """
    options = _Options(
        name, bins, min_share, monotone, points_to_double_odds, regularization
    )
    where: object = dimension  # any value, at run time
    if not isinstance(where, str) or not where.strip() or where == "total":
        raise ValidationError(
            field="dimension",
            value=where,
            expected="a dimension name such as 'fit' ('total' is the sum)",
        )
    table = _rows(rows, "rows")
    if not table:
        raise ValidationError(field="rows", value=[], expected="at least one row")
    excluded = _names(exclude, "exclude")
    forced = frozenset(_names(categorical, "categorical"))
    outcomes = _outcomes(table, label)
    _both_outcomes(outcomes, "label", "rows")
    columns = _columns(
        table, label if isinstance(label, str) else None, features, excluded, forced
    )
    return _scorecard(
        _features(table, columns, outcomes, forced, options, text=True),
        [],
        outcomes,
        options,
        label=label if isinstance(label, str) else "outcome",
        excluded=excluded,
        dimension=dimension,
        window=None,
    )


def fit_scoring_model(
    rows: Iterable[Mapping[str, object]],
    label: str | Callable[[Mapping[str, object]], bool],
    **options: Any,  # noqa: ANN401 -- fit_scorecard's options, passed on
) -> ScoringModel:
    """Learn a :class:`~funnelkit.ScoringModel` from labelled rows.

    The model of :func:`fit_scorecard` (same arguments); the scorecard keeps
    the training figures behind each rule.
    """
    return fit_scorecard(rows, label, **options).model


def _instants(
    at: datetime | Mapping[str, datetime], people: Sequence[Lead]
) -> dict[str, datetime]:
    if isinstance(at, datetime):
        require_aware(at, field="at", owner="funnelkit.learn")
        return {lead.id: at for lead in people}
    if not isinstance(at, Mapping):
        raise ValidationError(
            field="at",
            value=at,
            expected="an aware datetime, or one per lead id (a mapping)",
        )
    found = {}
    for lead in people:
        instant = at.get(lead.id)
        if instant is not None:
            require_aware(instant, field=f"at[{lead.id!r}]", owner="funnelkit.learn")
            found[lead.id] = instant
    return found


def _won(outcomes: Mapping[str, bool], people: list[Lead]) -> list[bool]:
    if not isinstance(outcomes, Mapping):
        raise ValidationError(
            field="outcomes",
            value=outcomes,
            expected="a mapping of lead id to True/False",
        )
    won = []
    for lead in people:
        value = outcomes.get(lead.id, False)
        if not isinstance(value, bool):
            raise ValidationError(
                field=f"outcomes[{lead.id!r}]", value=value, expected="True or False"
            )
        won.append(value)
    return won


def _history(
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    outcomes: Mapping[str, bool],
    at: datetime | Mapping[str, datetime],
    window: timedelta | None,
) -> tuple[list[Lead], dict[str, datetime], list[bool], dict[str, list[Activity]]]:
    """The leads with an instant, their instants and outcomes, their activities."""
    people = []
    given: set[str] = set()
    check_items(leads, field="leads", expected="an iterable of Lead values")
    for index, lead in enumerate(leads):
        if not isinstance(lead, Lead):
            raise ValidationError(
                field=f"leads[{index}]", value=lead, expected="a Lead"
            )
        if lead.id in given:  # twice: its row would be learned from twice
            raise ValidationError(
                field=f"leads[{index}].id", value=lead.id, expected="each lead once"
            )
        given.add(lead.id)
        people.append(lead)
    instants = _instants(at, people)
    people = [lead for lead in people if lead.id in instants]
    won = _won(outcomes, people)
    span: object = window  # any value, at run time
    if span is not None and (not isinstance(span, timedelta) or span <= timedelta(0)):
        raise ValidationError(
            field="window", value=window, expected="a positive timedelta or None"
        )
    done: dict[str, list[Activity]] = {lead.id: [] for lead in people}
    check_items(
        activities, field="activities", expected="an iterable of Activity values"
    )
    for index, activity in enumerate(activities):
        if not isinstance(activity, Activity):
            raise ValidationError(
                field=f"activities[{index}]", value=activity, expected="an Activity"
            )
        instant = instants.get(activity.lead_id)
        if instant is None:
            continue
        # Elapsed time, as a rule's within counts it: Python's own
        # comparison and subtraction go by the local clock in one zone.
        age = elapsed(activity.at, instant)
        if age < _NO_TIME or (window is not None and age > window):
            continue
        done[activity.lead_id].append(activity)
    return people, instants, won, done


def _lead_table(people: list[Lead]) -> tuple[list[dict[str, object]], frozenset[str]]:
    """One row per lead, its columns as a leads file would give them.

    The fields a leads file reads (``source``, ``owner``, the BANT answers,
    ``id`` and ``email``) are the columns of those names; an attribute named
    like one of them (or ``created_at``) is the column ``attributes.<name>``,
    which is also the path that reads it; those columns are returned too.

    Raises:
        ValidationError: a lead has an attribute named ``attributes.<name>``
            as well: two columns of one name.
    """
    keys = {key for lead in people for key in lead.attributes}
    renamed = {
        key: f"attributes.{key}"
        for key in keys
        if key in _FIELD_COLUMNS or key == _CREATED
    }
    for index, lead in enumerate(people):
        for key, column in sorted(renamed.items()):
            if column in lead.attributes:
                raise ValidationError(
                    field=f"leads[{index}].attributes",
                    value=column,
                    expected=f"no attribute {column!r}: an attribute {key!r} is "
                    f"learned as the column {column!r} (the lead's own {key} "
                    f"is the column {key!r})",
                )
    rows = []
    for lead in people:
        row: dict[str, object] = {
            renamed.get(key, key): value for key, value in lead.attributes.items()
        }
        for column, path in _FIELD_COLUMNS.items():
            row[column] = lead_value(lead, path)  # a field: a value or None
        rows.append(row)
    return rows, frozenset(renamed.values())


def _cap(counts: list[int]) -> int:
    """The count most leads who did something stay within: its 90th percentile."""
    done = sorted(count for count in counts if count)
    return max(1, done[min(len(done) - 1, (len(done) * 9) // 10)])


def fit_scorecard_from_history(  # noqa: PLR0913 -- the history and the fit's options
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    outcomes: Mapping[str, bool],
    *,
    at: datetime | Mapping[str, datetime],
    window: timedelta | None = None,
    kinds: Iterable[str] | None = None,
    features: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    categorical: Iterable[str] = (),
    name: str = "learned",
    bins: int = 20,
    min_share: float = 0.01,
    monotone: bool | Literal["auto"] = "auto",
    points_to_double_odds: int = 20,
    regularization: float | Literal["auto"] = 1.0,
) -> Scorecard:
    """Learn points for what leads are and what they did, from their outcomes.

    Each lead is read at one instant: *at*, or its own instant in a mapping
    of lead id to instant (e.g. when it became an MQL; leads without one are
    left out). Its attributes, ``source``, ``owner`` and BANT answers are the
    features of :func:`fit_scorecard` (rules on ``"fit"``), as columns of a
    leads file are: ``id`` and ``email`` only when named in *features*, and
    an attribute named like a field (``owner``) is the column
    ``attributes.owner``. Its activities up to that
    instant (within *window* of it, if given) are counted by kind. Each kind
    gets two :class:`~funnelkit.ActivityRule` objects on ``"engagement"``:
    points for doing it at all (``"the first"``), and points per activity up
    to a cap, the 90th percentile of the counts of the leads who did it
    (``"each, up to 5"``). The rules have no decay, and ``within=window``.

    Args:
        leads: The leads, each once.
        activities: Their activities (others are ignored).
        outcomes: Lead id to True (won) or False; a lead not in it was not won.
        at: The instant at which each lead is read.
        window: Count only activities this recent at that instant (elapsed
            time, across clock changes, as the rules' ``within`` counts it).
        kinds: The activity kinds to learn from (default: every kind seen).
        features: The columns to learn from (default: every attribute,
            ``source``, ``owner`` and BANT answer but *exclude*).
        exclude: As for :func:`fit_scorecard`.
        categorical: As for :func:`fit_scorecard`.
        name: As for :func:`fit_scorecard`.
        bins: As for :func:`fit_scorecard`.
        min_share: As for :func:`fit_scorecard`.
        monotone: As for :func:`fit_scorecard`.
        points_to_double_odds: As for :func:`fit_scorecard`.
        regularization: As for :func:`fit_scorecard`.

    Raises:
        MissingExtraError: scikit-learn (the ``learn`` extra) is missing.
        ValidationError: a lead, activity, outcome, instant or option is not
            usable, a lead is given twice, or an attribute is named
            ``attributes.<field>`` beside one named ``<field>``.
    """
    options = _Options(
        name, bins, min_share, monotone, points_to_double_odds, regularization
    )
    people, _, won, done = _history(leads, activities, outcomes, at, window)
    if not people:
        raise ValidationError(
            field="leads", value=[], expected="at least one lead with an instant"
        )
    _both_outcomes(won, "outcomes", "leads")
    table, renamed = _lead_table(people)
    excluded = _names(exclude, "exclude")
    forced = frozenset(_names(categorical, "categorical"))
    chosen_kinds = None if kinds is None else _names(kinds, "kinds", "activity kinds")
    columns = _columns(table, None, features, excluded, forced)
    built = _features(
        table,
        columns,
        won,
        forced,
        options,
        text=False,
        path=lambda column: column if column in renamed else _path(column),
    )
    seen = sorted({a.kind for acts in done.values() for a in acts})
    chosen = seen if chosen_kinds is None else sorted(set(chosen_kinds))
    counted = []
    for kind in chosen:
        counts = [sum(a.kind == kind for a in done[lead.id]) for lead in people]
        if any(counts):
            counted.append(_Counted(kind, _cap(counts), counts))
    return _scorecard(
        built,
        counted,
        won,
        options,
        label="outcome",
        excluded=excluded,
        dimension="fit",
        window=window,
    )


# -- Measuring --------------------------------------------------------------------


def _model(model: ScoringModel | Scorecard) -> tuple[ScoringModel, Scorecard | None]:
    if isinstance(model, Scorecard):
        return model.model, model
    if isinstance(model, ScoringModel):
        return model, None
    raise ValidationError(
        field="model", value=model, expected="a ScoringModel or a Scorecard"
    )


def _dimension(scoring: ScoringModel, card: Scorecard | None, dimension: object) -> str:
    """The score to rank by: *dimension*, one of the model's, or its default."""
    if dimension is None:
        return card.dimension if card is not None else "total"
    known = ("total", *scoring.dimensions)
    if not isinstance(dimension, str) or dimension not in known:
        raise ValidationError(
            field="dimension",
            value=dimension,
            expected="None or one of the model's dimensions: "
            + ", ".join(map(repr, known)),
        )
    return dimension


def _measure(
    scoring: ScoringModel,
    card: Scorecard | None,
    scores: list[Score],
    outcomes: list[bool],
    which: str,
) -> Evaluation:
    # Keys of the rows, in row order (the deciles keep tied scores together).
    points = {f"{index:012d}": score[which] for index, score in enumerate(scores)}
    ids = list(points)
    winners = frozenset(key for key, won in zip(ids, outcomes, strict=True) if won)
    bands = []
    for letter, _ in scoring.grades.fit:
        members = [index for index, score in enumerate(scores) if score.grade == letter]
        if not members:
            continue
        positives = sum(outcomes[index] for index in members)
        predicted = (
            None
            if card is None
            # The chance the card gives: of its own points, whatever ranks.
            else sum(
                card.probability(scores[index][card.dimension]) for index in members
            )
            / len(members)
        )
        bands.append(
            Band(
                band=letter,
                leads=len(members),
                positives=positives,
                rate=positives / len(members),
                predicted=predicted,
            )
        )
    return Evaluation(
        model=scoring.name,
        leads=len(scores),
        positives=len(winners),
        auc=_auc([(points[key], key in winners) for key in ids]),
        deciles=_deciles(ids, points, winners),
        calibration=tuple(bands),
    )


def evaluate(
    model: ScoringModel | Scorecard,
    rows: Iterable[Mapping[str, object]],
    label: str | Callable[[Mapping[str, object]], bool],
    *,
    dimension: str | None = None,
) -> Evaluation:
    """Measure how well *model* ranks labelled *rows* (see :func:`as_lead`).

    Args:
        model: Any scoring model, or a :class:`Scorecard` (its predicted
            chances then fill the calibration).
        rows: One mapping per lead.
        label: The outcome column, or a function of a row (as for
            :func:`fit_scorecard`).
        dimension: The score ranked: ``"total"`` by default (a scorecard's
            own dimension for a scorecard), or one of the model's dimensions.

    Raises:
        ValidationError: a row, label value or *dimension* is not usable, or
            *model* is not a model.
    """
    scoring, card = _model(model)
    which = _dimension(scoring, card, dimension)
    table = _rows(rows, "rows")
    outcomes = _outcomes(table, label)
    numeric = _numeric_attributes(scoring)
    scores = [
        scoring.score(
            _row_lead(row, numeric, f"row-{index}", f"rows[{index}]"), (), at=_EPOCH
        )
        for index, row in enumerate(table)
    ]
    return _measure(scoring, card, scores, outcomes, which)


def evaluate_history(  # noqa: PLR0913 -- the history and the model
    model: ScoringModel | Scorecard,
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    outcomes: Mapping[str, bool],
    *,
    at: datetime | Mapping[str, datetime],
    dimension: str | None = None,
) -> Evaluation:
    """Measure how well *model* ranks leads scored at *at* against their outcomes.

    The leads, activities, outcomes and instants are read as by
    :func:`fit_scorecard_from_history`: leads without an instant are left
    out, and each lead is scored on its activities up to its instant.
    *dimension* is as for :func:`evaluate`.

    Raises:
        ValidationError: a lead, activity, outcome, instant or *dimension* is
            not usable, a lead is given twice, or *model* is not a model.
    """
    scoring, card = _model(model)
    which = _dimension(scoring, card, dimension)
    people, instants, won, done = _history(leads, activities, outcomes, at, None)
    scores = [
        scoring.score(lead, done[lead.id], at=instants[lead.id]) for lead in people
    ]
    return _measure(scoring, card, scores, won, which)
