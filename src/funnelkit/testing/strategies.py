"""Hypothesis strategies for funnelkit values (needs ``funnelkit[hypothesis]``).

They follow Hypothesis's conventions: plural names, strategies as arguments,
and examples that shrink towards the simplest lead.

>>> from hypothesis import given
>>> @given(leads())
... def test_every_lead_has_an_id(lead):
...     assert lead.id
>>> test_every_lead_has_an_id()
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, TypeVar

import attrs

from funnelkit import kinds as _kinds
from funnelkit._calendar import WEEKDAYS as _WEEKDAYS
from funnelkit._calendar import BusinessCalendar, BusinessHours, Holiday
from funnelkit._config import MAX_NUMBER as _MAX_NUMBER
from funnelkit._criteria import (
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    AttributeIs,
    BantQualified,
    Criterion,
    DidActivity,
    GradeAtLeast,
    InStageFor,
    Not,
    ScoreAtLeast,
)
from funnelkit._decay import Decay, HalfLife, LinearDecay, StepDecay
from funnelkit._duration import BusinessDuration
from funnelkit._lead import Activity, Bant, Lead, time_order
from funnelkit._policy import ANY_OPEN as _ANY_OPEN
from funnelkit._policy import FunnelPolicy, Stage, StageKind, Transition
from funnelkit._predicates import (
    ValueTest,
    absent,
    between,
    equals,
    matches,
    one_of,
    present,
)
from funnelkit._rules import ActivityRule, AttributeRule
from funnelkit._scoring import Grades, ScoringModel
from funnelkit._sla import EXIT as _EXIT
from funnelkit._sla import Escalate, MoveTo, SlaRule
from funnelkit._time import require_aware, utc_micros

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as error:  # pragma: no cover -- the test suite has the extra
    msg = (
        "funnelkit.testing.strategies needs Hypothesis: "
        "pip install 'funnelkit[hypothesis]'"
    )
    raise ImportError(msg) from error

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from types import EllipsisType

    from funnelkit._validators import Scalar

    #: What an activity of a stream is made of, but its lead and id.
    _Part = tuple[timedelta, str, bool, Mapping[str, Scalar], str | None]

__all__ = [
    "activities",
    "activity_streams",
    "aware_datetimes",
    "bants",
    "business_hours",
    "calendars",
    "criteria",
    "decays",
    "identifiers",
    "leads",
    "policies",
    "scalars",
    "scoring_models",
    "sla_rules",
    "time_zones",
    "value_tests",
]

_T = TypeVar("_T")

# Zones with DST, half-hour and 45-minute offsets, both hemispheres.
_ZONE_NAMES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Chatham",
)


def time_zones() -> st.SearchStrategy[tzinfo]:
    """Generate time zones: UTC, fixed offsets, and IANA zones with odd rules."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415 -- keeps import light

    return st.one_of(
        st.just(UTC),
        st.sampled_from(_ZONE_NAMES).map(ZoneInfo),
        st.integers(min_value=-14 * 60, max_value=14 * 60).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        ),
    )


def aware_datetimes(
    *,
    min_value: datetime = datetime(2000, 1, 1),  # noqa: DTZ001 -- a wall-time bound, like st.datetimes
    max_value: datetime = datetime(2100, 1, 1),  # noqa: DTZ001 -- same
    timezones: st.SearchStrategy[tzinfo] | None = None,
) -> st.SearchStrategy[datetime]:
    """Generate timezone-aware datetimes between two naive wall-clock bounds.

    Args:
        min_value: The earliest wall-clock time (naive, as for
            :func:`hypothesis.strategies.datetimes`).
        max_value: The latest wall-clock time.
        timezones: Where the zones come from; :func:`time_zones` by default.
    """
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=time_zones() if timezones is None else timezones,
    )


def identifiers() -> st.SearchStrategy[str]:
    """Generate ids as hosts may send them: short and never blank.

    Any Unicode but surrogates and control characters: letters of every
    script, unassigned code points, and spaces around the id included.
    """
    return st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=12,
    ).filter(str.strip)


def scalars() -> st.SearchStrategy[Scalar]:
    """Generate JSON scalars: the values of attributes and properties."""
    return st.one_of(st.none(), _present_scalars())


def _present_scalars(
    limit: float | None = None,
) -> st.SearchStrategy[str | int | float | bool]:
    """Scalars other than None; numbers within ±*limit* when given."""
    whole = 2**63 if limit is None else int(limit)
    return st.one_of(
        st.booleans(),
        st.integers(min_value=-whole, max_value=whole),
        st.floats(
            min_value=None if limit is None else -limit,
            max_value=limit,
            allow_nan=False,
            allow_infinity=False,
        ),
        st.text(max_size=20),
    )


@functools.cache
def _scalar_maps(max_size: int) -> st.SearchStrategy[Mapping[str, Scalar]]:
    return st.dictionaries(identifiers(), scalars(), max_size=max_size)


def bants() -> st.SearchStrategy[Bant]:
    """Generate BANT answers, each confirmed, denied or unknown."""
    answers = st.sampled_from([None, True, False])
    return st.builds(
        Bant,
        budget=answers,
        authority=answers,
        need=answers,
        timeline=st.none() | st.dates(min_value=date(2000, 1, 1)),
    )


def leads(
    *,
    ids: st.SearchStrategy[str] | None = None,
    created_at: st.SearchStrategy[datetime] | None = None,
    attributes: st.SearchStrategy[Mapping[str, Scalar]] | None = None,
) -> st.SearchStrategy[Lead]:
    """Generate leads.

    Args:
        ids: Where lead ids come from (:func:`identifiers` by default).
        created_at: Where creation times come from (:func:`aware_datetimes`).
        attributes: Where attribute mappings come from (up to five scalars).
    """
    return st.builds(
        Lead,
        id=identifiers() if ids is None else ids,
        created_at=aware_datetimes() if created_at is None else created_at,
        email=st.none() | st.emails(),
        attributes=_scalar_maps(5) if attributes is None else attributes,
        bant=bants(),
        source=st.none() | identifiers(),
        owner=st.none() | identifiers(),
    )


def activities(
    *,
    lead_ids: st.SearchStrategy[str] | None = None,
    kinds: st.SearchStrategy[str] | None = None,
    at: st.SearchStrategy[datetime] | None = None,
    with_ids: bool | None = None,
) -> st.SearchStrategy[Activity]:
    """Generate activities.

    Args:
        lead_ids: Where lead ids come from (:func:`identifiers` by default).
        kinds: Where kinds come from (the standard ones, and now and then a
            host's own, by default).
        at: Where times come from (:func:`aware_datetimes` by default).
        with_ids: ``True`` for explicit ids, ``False`` for derived ones,
            ``None`` (the default) for both.
    """
    id_choices = {
        True: identifiers(),
        False: st.none(),
        None: st.none() | identifiers(),
    }[with_ids]
    return st.builds(
        Activity,
        identifiers() if lead_ids is None else lead_ids,
        _activity_kinds() if kinds is None else kinds,
        aware_datetimes() if at is None else at,
        id=id_choices,
        properties=_scalar_maps(3),
        source=st.none() | identifiers(),
    )


# Strategies built once and shared: Hypothesis checks a strategy the first
# time it draws from it, so one made afresh for every draw costs that again.


@functools.cache
def _ids() -> st.SearchStrategy[str]:
    return identifiers()


@functools.cache
def _activity_kinds() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(_kinds.STANDARD)) | _ids()


@functools.cache
def _kind_sets() -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(_activity_kinds(), min_size=1, max_size=3)


def _check_size(name: str, value: object, minimum: int = 0) -> None:
    """Reject a size argument as Hypothesis does: when the strategy is made."""
    if type(value) is not int or value < minimum:
        msg = f"{name}={value!r}: expected a whole number of {minimum} or more"
        raise InvalidArgument(msg)


def _check_strategy(name: str, value: object) -> None:
    """Reject an argument that should be a strategy, when the strategy is made."""
    if value is not None and not isinstance(value, st.SearchStrategy):
        msg = f"{name}={value!r}: expected a Hypothesis strategy, or None"
        raise InvalidArgument(msg)


#: One roll in this many draws from the rare strategy, in :func:`_rarely`.
_RARE_ROLL = 16


def _rarely(
    common: st.SearchStrategy[_T], rare: st.SearchStrategy[_T]
) -> st.SearchStrategy[_T]:
    """Draw from *rare* about one time in sixteen; shrink towards *common*."""
    return st.integers(min_value=1, max_value=_RARE_ROLL).flatmap(
        lambda roll: rare if roll == _RARE_ROLL else common
    )


@functools.cache
def _maybe(strategy: st.SearchStrategy[_T]) -> st.SearchStrategy[_T | None]:
    """*strategy*, or None (first, so that examples shrink to None)."""
    return st.none() | strategy


@functools.cache
def _unique(strategy: st.SearchStrategy[_T], size: int) -> st.SearchStrategy[list[_T]]:
    """Lists of *size* different values of *strategy*."""
    return st.lists(strategy, min_size=size, max_size=size, unique=True)


# -- Activity streams ---------------------------------------------------------

#: The longest pause between two activities of a stream.
_MAX_GAP = timedelta(days=30)


def activity_streams(
    lead_id: str | Collection[str] | None = None,
    *,
    kinds: st.SearchStrategy[str] | None = None,
    start: datetime | None = None,
    min_size: int = 0,
    max_size: int = 10,
) -> st.SearchStrategy[list[Activity]]:
    """Generate what leads did: lists of activities in the order funnelkit keeps.

    Each list is sorted by time, ties by id (the order of
    :attr:`funnelkit.Context.activities`), its ids are unique, and nothing
    in it happens before *start*. Explicit and derived ids are mixed; an
    activity whose content repeats an earlier one's gets an explicit id.
    Lists shrink towards few activities at one instant.

    Args:
        lead_id: The lead the activities belong to; a collection of ids to
            interleave the activities of several leads; ``None`` (the
            default) for one lead with an id from :func:`identifiers`.
        kinds: Where kinds come from (as for :func:`activities`).
        start: The earliest instant (timezone-aware); drawn from
            :func:`aware_datetimes` by default. Times keep its time zone.
        min_size: The fewest activities in a list.
        max_size: The most activities in a list.

    Raises:
        NaiveDatetimeError: *start* has no time zone.
        hypothesis.errors.InvalidArgument: a size is not a whole number, or
            *max_size* is below *min_size*; *lead_id* is an empty
            collection; *start* leaves no room for *max_size* activities
            (30 days apart at most) before the year 9999 ends.
    """
    _check_size("min_size", min_size)
    _check_size("max_size", max_size, min_size)
    if start is not None:
        require_aware(start, field="start", owner="activity_streams")
        if utc_micros(start) > utc_micros(_LAST_START) - max_size * _MAX_GAP_MICROS:
            msg = (
                f"start={start!r}: expected room for {max_size} activities, "
                f"{_MAX_GAP.days} days apart at most, before the year 9999 ends"
            )
            raise InvalidArgument(msg)
    parts = st.lists(
        st.tuples(
            st.timedeltas(min_value=timedelta(0), max_value=_MAX_GAP),
            _activity_kinds() if kinds is None else kinds,
            st.booleans(),
            _scalar_maps(3),
            _maybe(_ids()),
        ),
        min_size=min_size,
        max_size=max_size,
    )
    starts = aware_datetimes() if start is None else st.just(start)
    if lead_id is None or isinstance(lead_id, str):
        leads = _ids() if lead_id is None else st.just(lead_id)
        return _streams(starts, parts, leads, shared=True)
    ids = _ordered(lead_id)
    if not ids:
        msg = "lead_id=(): expected a lead id, or a collection of at least one"
        raise InvalidArgument(msg)
    return _streams(starts, parts, st.sampled_from(ids), shared=False)


# The last instant a stream may start at (a day's margin for any offset).
_LAST_START = datetime(9999, 12, 30, tzinfo=UTC)
_MAX_GAP_MICROS = _MAX_GAP // timedelta(microseconds=1)


def _ordered(names: Collection[str]) -> tuple[str, ...]:
    """*names* in their order, or sorted when they have none.

    A set's order follows the hash seed, and a saved example must replay the
    same in the next process.
    """
    if isinstance(names, Sequence):
        return tuple(names)
    return tuple(sorted(names))


@st.composite
def _streams(
    draw: st.DrawFn,
    starts: st.SearchStrategy[datetime],
    parts: st.SearchStrategy[list[_Part]],
    leads: st.SearchStrategy[str],
    *,
    shared: bool,
) -> list[Activity]:
    """Activities of one lead from *leads* if *shared*, else of one lead each."""
    begin = draw(starts)
    origin, zone = begin.astimezone(UTC), begin.tzinfo
    found = draw(parts)
    size = len(found)
    owners = (
        [draw(leads)] * size
        if shared
        else draw(st.lists(leads, min_size=size, max_size=size))
    )
    # Explicit ids have at most 12 characters, derived ones 32: never the same.
    spare = draw(_unique(_ids(), size))
    seen: set[str] = set()
    stream: list[Activity] = []
    elapsed = timedelta(0)
    for position, (gap, kind, explicit, properties, source) in enumerate(found):
        elapsed += gap
        at = (origin + elapsed).astimezone(zone)
        activity = Activity(
            owners[position],
            kind,
            at,
            id=spare[position] if explicit else None,
            properties=properties,
            source=source,
        )
        if activity.id in seen:  # the same content as an earlier activity
            activity = attrs.evolve(activity, id=spare[position])
        seen.add(activity.id)
        stream.append(activity)
    return sorted(stream, key=time_order)


# -- Value tests, decay, scoring ------------------------------------------------


@functools.cache
def _numbers() -> st.SearchStrategy[int | float]:
    """Numbers of everyday size, and now and then as large as a policy holds."""
    return _rarely(
        st.one_of(
            st.integers(min_value=-1000, max_value=1000),
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        ),
        st.one_of(
            st.integers(min_value=-_MAX_NUMBER, max_value=_MAX_NUMBER),
            st.floats(min_value=-_MAX_NUMBER, max_value=_MAX_NUMBER),
        ),
    )


@functools.cache
def _points() -> st.SearchStrategy[int | float]:
    """Numbers of points: at most a billion either way."""
    return st.one_of(
        st.integers(min_value=-100, max_value=100),
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    )


@functools.cache
def _positive_points() -> st.SearchStrategy[int | float]:
    return st.one_of(
        st.integers(min_value=1, max_value=100),
        st.floats(min_value=0, max_value=1e9, exclude_min=True),
    )


@functools.cache
@st.composite
def _ranges(
    draw: st.DrawFn, numbers: st.SearchStrategy[int | float]
) -> tuple[int | float | None, int | float | None]:
    """(low, high) pairs, low <= high, one of them perhaps None."""
    low, high = sorted((draw(numbers), draw(numbers)))
    side = draw(st.sampled_from(("both", "low", "high")))
    return (None if side == "high" else low, None if side == "low" else high)


@functools.cache
def _periods() -> st.SearchStrategy[timedelta]:
    """Positive spans: whole days, or anything from a microsecond to ten years."""
    return st.one_of(
        st.integers(min_value=1, max_value=3650).map(lambda days: timedelta(days=days)),
        st.timedeltas(
            min_value=timedelta(microseconds=1), max_value=timedelta(days=3650)
        ),
    )


# Pieces of regular expressions that cannot backtrack badly.
_PATTERN_PIECES = (r"\d+", r"[a-z]+", r"\w", r"\s+", ".", r"\b", "[0-9]{2,4}", ".*")


@functools.cache
def _pattern_branches() -> st.SearchStrategy[list[str]]:
    """Alternatives of a pattern: escaped text and character classes."""
    atoms = st.one_of(
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
            min_size=1,
            max_size=8,
        ).map(re.escape),
        st.sampled_from(_PATTERN_PIECES),
    )
    branch = st.lists(atoms, min_size=1, max_size=3).map("".join)
    return st.lists(branch, min_size=1, max_size=3)


@st.composite
def _pattern(draw: st.DrawFn) -> str:
    """A simple, safe regular expression, perhaps anchored."""
    branches = draw(_pattern_branches())
    body = "|".join(branches)
    head, tail = draw(st.booleans()), draw(st.booleans())
    if (head or tail) and len(branches) > 1:
        body = f"(?:{body})"
    return ("^" if head else "") + body + ("$" if tail else "")


def _combined_tests(
    tests: st.SearchStrategy[ValueTest],
) -> st.SearchStrategy[ValueTest]:
    pairs = st.tuples(tests, tests)
    return st.one_of(
        pairs.map(lambda pair: pair[0] & pair[1]),
        pairs.map(lambda pair: pair[0] | pair[1]),
        tests.map(lambda test: ~test),
    )


@functools.cache
def _value_tests() -> st.SearchStrategy[ValueTest]:
    # TOML, one policy file format, has no null: None is a rare value.
    values = _rarely(_present_scalars(_MAX_NUMBER), st.none())
    simple = st.one_of(
        st.builds(equals, values),
        st.lists(values, min_size=1, max_size=4).map(lambda found: one_of(*found)),
        st.tuples(_ranges(_numbers()), st.booleans()).map(
            # An empty range (low == high, high left out) is refused: keep it.
            lambda drawn: between(
                *drawn[0], include_high=drawn[1] or drawn[0][0] == drawn[0][1]
            )
        ),
        st.builds(matches, _pattern(), ignore_case=st.booleans()),
        st.builds(present),
        st.builds(absent),
    )
    return st.recursive(simple, _combined_tests, max_leaves=4)


def value_tests() -> st.SearchStrategy[ValueTest]:
    """Generate value tests, alone or combined with ``&``, ``|`` and ``~``.

    The tests are ``equals``, ``one_of``, ``between``, ``matches``,
    ``present`` and ``absent``. Patterns for ``matches`` are simple and safe
    (escaped text, character classes, alternatives, anchors). ``None`` is a
    rare value to test for, since some policy file formats have no null.
    Tests shrink towards a single ``equals``.
    """
    return _value_tests()


@functools.cache
def _decays() -> st.SearchStrategy[Decay]:
    periods = _periods()
    return st.one_of(
        st.builds(HalfLife, periods),
        st.builds(
            StepDecay, periods, st.floats(min_value=0, max_value=1, exclude_max=True)
        ),
        st.builds(LinearDecay, periods),
    )


def decays() -> st.SearchStrategy[Decay]:
    """Generate decays: ``HalfLife``, ``StepDecay`` and ``LinearDecay``.

    Periods run from a microsecond to ten years, and shrink towards one day.
    """
    return _decays()


# Attribute paths that mean something: lead fields, BANT answers, attributes.
_PATHS = (
    "industry",
    "employees",
    "country",
    "title",
    "email",
    "email.domain",
    "source",
    "owner",
    "id",
    "bant.budget",
    "bant.authority",
    "bant.need",
    "bant.timeline",
)


def _plain_attribute(name: str) -> bool:
    # bant.<answer> and email.domain are paths; other names under them are not.
    return name.partition(".")[0] not in {"bant", "email"}


@functools.cache
def _attribute_paths() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(_PATHS),
        _ids().filter(_plain_attribute),
        _ids().map("attributes.{}".format),
    )


@functools.cache
def _dimension_names(usual: str) -> st.SearchStrategy[str]:
    """Dimensions of rules, *usual* first; never "total" (their sum)."""
    return st.one_of(
        st.sampled_from((usual, "fit", "engagement", "intent")),
        _ids().filter(lambda name: name != "total"),
    )


@st.composite
def _activity_rule(draw: st.DrawFn) -> ActivityRule:
    max_count = draw(_maybe(st.integers(min_value=1, max_value=10)))
    return ActivityRule(
        draw(_kind_sets()),
        draw(_points()),
        where=draw(_wheres()),
        max_points=draw(_maybe(_positive_points())),
        max_count=max_count,
        per=None if max_count is None else draw(_maybe(_periods())),
        within=draw(_maybe(_periods())),
        decay=draw(_rule_decays()),
        dimension=draw(_dimension_names("engagement")),
        name=draw(_maybe(_ids())),
    )


@functools.cache
def _wheres() -> st.SearchStrategy[dict[str, ValueTest] | None]:
    return _maybe(st.dictionaries(_ids(), _value_tests(), max_size=2))


@functools.cache
def _rule_decays() -> st.SearchStrategy[Decay | EllipsisType | None]:
    """A rule's decay: the model's (``...``, the default), none, or its own."""
    return st.one_of(st.just(...), st.none(), _decays())


@functools.cache
def _rules() -> st.SearchStrategy[ActivityRule | AttributeRule]:
    attribute_rules = st.builds(
        AttributeRule,
        _attribute_paths(),
        _value_tests(),
        _points(),
        dimension=_dimension_names("fit"),
        name=_maybe(_ids()),
    )
    return st.one_of(attribute_rules, _activity_rule())


@st.composite
def _band(draw: st.DrawFn) -> tuple[tuple[str, int | float | None], ...]:
    """Grade bands: unique labels, minimums descending, the last None."""
    labels = draw(st.lists(_ids(), min_size=1, max_size=5, unique=True))
    size = len(labels) - 1
    minimums = draw(st.lists(_numbers(), min_size=size, max_size=size, unique=True))
    return tuple(zip(labels, [*sorted(minimums, reverse=True), None], strict=True))


@functools.cache
def _grades() -> st.SearchStrategy[Grades]:
    bands = _band()
    return st.one_of(st.builds(Grades), st.builds(Grades, fit=bands, engagement=bands))


def scoring_models(*, max_rules: int = 6) -> st.SearchStrategy[ScoringModel]:
    """Generate valid scoring models.

    Rules are activity and attribute rules with any options (filters, caps,
    windows, decay, dimensions of their own) and unique labels; the model
    may have a decay, custom grades and limits on some of its dimensions.
    Models shrink towards no rules and the defaults.

    Args:
        max_rules: The most rules in a model.

    Raises:
        hypothesis.errors.InvalidArgument: *max_rules* is not a whole number
            of 0 or more.
    """
    _check_size("max_rules", max_rules)
    return _scoring_models(max_rules)


@functools.cache
@st.composite
def _scoring_models(draw: st.DrawFn, max_rules: int) -> ScoringModel:
    rules = draw(_rule_lists(max_rules))
    others = {rule.dimension for rule in rules} - {"fit", "engagement"}
    return ScoringModel(
        draw(_ids()),
        rules,
        decay=draw(_maybe(_decays())),
        grades=draw(_maybe(_grades())),
        limits=draw(_limits(("fit", "engagement", *sorted(others)))),
    )


@functools.cache
def _rule_lists(max_size: int) -> st.SearchStrategy[list[ActivityRule | AttributeRule]]:
    return st.lists(_rules(), max_size=max_size, unique_by=lambda rule: rule.label)


# Caches keyed by drawn values (a model's dimensions and grades) are bounded.
_DRAWN = 256


@functools.lru_cache(maxsize=_DRAWN)
def _limits(
    dimensions: tuple[str, ...],
) -> st.SearchStrategy[dict[str, tuple[float | None, float | None]] | None]:
    return _maybe(st.dictionaries(st.sampled_from(dimensions), _ranges(_points())))


# -- Criteria -------------------------------------------------------------------


@functools.cache
def _any_leaves() -> st.SearchStrategy[Criterion]:
    """The built-in criteria that hold no others, and depend on no model."""
    periods = _periods()
    return st.one_of(
        st.builds(
            DidActivity,
            _kind_sets(),
            within=_maybe(periods),
            count=st.integers(min_value=1, max_value=5),
            in_stage=st.booleans(),
        ),
        st.builds(AttributeIs, _attribute_paths(), _value_tests()),
        st.builds(
            BantQualified,
            st.integers(min_value=1, max_value=4),
            timeline_within=_maybe(periods),
        ),
        st.builds(InStageFor, periods),
    )


def _leaves(
    dimensions: st.SearchStrategy[str], grades: st.SearchStrategy[Grades]
) -> st.SearchStrategy[Criterion]:
    """The built-in criteria that hold no others, for scores of *dimensions*."""
    return st.one_of(
        st.just(Always()),
        st.builds(ScoreAtLeast, _numbers(), dimensions),
        grades.flatmap(
            lambda found: st.builds(
                GradeAtLeast,
                st.sampled_from([letter for letter, _ in found.fit]),
                st.just(found),
            )
        ),
        _any_leaves(),
    )


def _trees(
    leaves: st.SearchStrategy[Criterion], depth: int
) -> st.SearchStrategy[Criterion]:
    """Combinators of *leaves*, nested at most *depth* deep."""
    tree = leaves
    for _ in range(depth):
        children = st.lists(tree, max_size=3)
        tree = st.one_of(
            leaves,
            children.map(lambda found: AllOf(*found)),
            children.map(lambda found: AnyOf(*found)),
            tree.map(Not),
            children.flatmap(
                # At most all of them: more could never pass, and is refused.
                lambda found: st.integers(min_value=0, max_value=len(found)).map(
                    lambda n: AtLeast(n, *found)
                )
            ),
        )
    return tree


def _model_criteria(model: ScoringModel, depth: int) -> st.SearchStrategy[Criterion]:
    """Criteria that fit *model*: its dimensions, its grade letters."""
    return _criteria_for(model.dimensions, model.grades, depth)


@functools.lru_cache(maxsize=_DRAWN)
def _criteria_for(
    dimensions: tuple[str, ...], grades: Grades, depth: int
) -> st.SearchStrategy[Criterion]:
    return _trees(
        _leaves(st.sampled_from(("total", *dimensions)), st.just(grades)), depth
    )


@functools.cache
def _free_criteria(depth: int) -> st.SearchStrategy[Criterion]:
    return _trees(_leaves(_dimension_names("total"), _grades()), depth)


def criteria(
    models: st.SearchStrategy[ScoringModel] | None = None, *, max_depth: int = 3
) -> st.SearchStrategy[Criterion]:
    """Generate built-in criteria, and trees of them.

    Leaves are ``ScoreAtLeast``, ``GradeAtLeast``, ``DidActivity``,
    ``AttributeIs``, ``BantQualified``, ``InStageFor`` and ``Always``; the
    trees combine them with ``AllOf``, ``AnyOf``, ``Not`` and ``AtLeast``.
    They shrink towards ``Always()``.

    Args:
        models: The scoring models the criteria are for: their dimensions and
            grade letters (``st.just(model)`` for one). ``None`` (the default)
            for any dimension and grades.
        max_depth: How deep combinators nest, at most (``0``: leaves only).

    Raises:
        hypothesis.errors.InvalidArgument: *max_depth* is not a whole number
            of 0 or more, or *models* is not a strategy.
    """
    _check_size("max_depth", max_depth)
    _check_strategy("models", models)
    if models is None:
        return _free_criteria(max_depth)
    return models.flatmap(lambda model: _model_criteria(model, max_depth))


# -- Calendars ------------------------------------------------------------------

_DAY = 24 * 60  # minutes
_WEEK = 7 * _DAY
_NINE = 9 * 60  # 09:00, where intervals shrink to start


def _clock(minutes: int) -> time:
    minutes %= _DAY
    return time(minutes // 60, minutes % 60)


@functools.cache
def _business_hours() -> st.SearchStrategy[BusinessHours]:
    minutes = st.integers(min_value=0, max_value=_DAY - 1)
    return st.builds(
        BusinessHours,
        minutes.map(lambda offset: _clock(_NINE + offset)),
        minutes.map(lambda offset: _clock(_NINE + 8 * 60 + offset)),
    )


def business_hours() -> st.SearchStrategy[BusinessHours]:
    """Generate opening intervals, overnight shifts and whole days included.

    They shrink towards ``09:00-17:00``.
    """
    return _business_hours()


@functools.cache
def _span_parts() -> st.SearchStrategy[list[tuple[int, int]]]:
    return st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2 * _DAY),
            st.integers(min_value=0, max_value=_DAY - 1),
        ),
        min_size=1,
        max_size=12,
    )


@st.composite
def _spans(
    draw: st.DrawFn, first: int, last_start: int, last_end: int | None
) -> list[tuple[int, int]]:
    """Intervals that do not overlap, as (start, end) minutes, from *first* on.

    Starts are before *last_start*, ends by *last_end* (if given); each
    lasts from a minute to a whole day. They shrink towards eight hours
    from *first*, then the same hours on the days that follow.
    """
    found: list[tuple[int, int]] = []
    cursor = first
    for gap, size in draw(_span_parts()):
        start = cursor + (16 * 60 + gap) % (2 * _DAY + 1) if found else cursor
        end = start + 1 + (8 * 60 - 1 + size) % _DAY
        if start >= last_start or (last_end is not None and end > last_end):
            break
        found.append((start, end))
        cursor = end
    return found


def _hours(start: int, end: int) -> BusinessHours:
    return BusinessHours(_clock(start), _clock(end))


@st.composite
def _week(draw: st.DrawFn) -> dict[str, list[BusinessHours]]:
    """A week of opening hours, overnight shifts included; a day may be empty."""
    first = (_NINE + draw(st.integers(min_value=0, max_value=_WEEK - 1))) % _WEEK
    week: dict[str, list[BusinessHours]] = {}
    for start, end in draw(_spans(first, first + _WEEK, first + _WEEK)):
        day = _WEEKDAYS[start // _DAY % 7]
        week.setdefault(day, []).append(_hours(start, end))
    # A closed day may also be named, with no intervals.
    for day in sorted(draw(_weekday_sets())):
        week.setdefault(day, [])
    return week


@functools.cache
def _weekday_sets() -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(_WEEKDAYS))


# Days of each month in a leap year.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@st.composite
def _yearly_rule(draw: st.DrawFn) -> str:
    """A recurrence rule of a day a year, such as Christmas or Thanksgiving."""
    month = draw(st.integers(min_value=1, max_value=12))
    if draw(st.booleans()):
        week = draw(st.sampled_from(("+1", "+2", "+3", "+4", "-1")))
        day = draw(st.sampled_from(("MO", "TU", "WE", "TH", "FR", "SA", "SU")))
        rule = f"FREQ=YEARLY;BYMONTH={month};BYDAY={week}{day}"
    else:
        days = _MONTH_DAYS[month - 1]
        rule = f"FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={draw(st.integers(1, days))}"
    if draw(st.booleans()):
        rule += f";INTERVAL={draw(st.integers(min_value=2, max_value=4))}"
    return rule


@st.composite
def _holiday(draw: st.DrawFn) -> Holiday:
    """A date or a yearly rule, closed all day or open some hours."""
    on = draw(_holiday_days())
    if not draw(st.booleans()):
        return Holiday(on)
    first = (_NINE + draw(st.integers(min_value=0, max_value=_DAY - 1))) % _DAY
    return Holiday(on, [_hours(*span) for span in draw(_spans(first, _DAY, None))])


@functools.cache
def _holiday_days() -> st.SearchStrategy[date | str]:
    return st.one_of(
        st.dates(min_value=date(1990, 1, 1), max_value=date(2110, 12, 31)),
        _yearly_rule(),
    )


@functools.cache
def _calendars(
    timezones: st.SearchStrategy[str],
) -> st.SearchStrategy[BusinessCalendar]:
    return st.builds(
        BusinessCalendar,
        timezones,
        _week(),
        holidays=st.lists(_holiday(), max_size=4),
    )


def calendars(
    *, timezones: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[BusinessCalendar]:
    """Generate business calendars.

    Weeks have from one to a dozen opening intervals, overnight shifts and
    whole days included, some days closed (now and then named with no
    hours); holidays are dates or yearly recurrence rules
    (``"FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"``), closed all day or open
    some hours. No calendar has a ``country`` (that needs an extra).
    Calendars shrink towards Monday 09:00-17:00 in UTC, with no holidays.

    Args:
        timezones: Where the IANA zone names come from: by default, zones
            with daylight saving time, half-hour and 45-minute offsets, in
            both hemispheres.
    """
    return _calendars(_zone_names() if timezones is None else timezones)


@functools.cache
def _zone_names() -> st.SearchStrategy[str]:
    return st.sampled_from(_ZONE_NAMES)


# -- SLA rules and policies -----------------------------------------------------


@functools.cache
def _names() -> st.SearchStrategy[str]:
    """Names of a policy's parts: no outer spaces, never ``"*"``."""
    return st.one_of(
        st.sampled_from(
            ("lead", "mql", "sal", "sql", "opportunity", "customer", "nurture", "lost")
        ),
        _ids().map(str.strip),
    ).filter(lambda name: name != _ANY_OPEN)


@st.composite
def _business_duration(draw: st.DrawFn) -> BusinessDuration:
    """Open days and time, never none: an empty one shrinks to an hour."""
    days = draw(st.integers(min_value=0, max_value=20))
    span = draw(_open_times())
    if not days and not span:
        span = timedelta(hours=1)
    return BusinessDuration(days=days, time=span)


@functools.cache
def _open_times() -> st.SearchStrategy[timedelta]:
    return st.one_of(
        st.integers(min_value=0, max_value=100 * 60).map(
            lambda minutes: timedelta(minutes=minutes)
        ),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=100)),
    )


#: Where an SLA breach may move a lead, by stage: each target with the reason
#: codes a move there accepts (``None``: any reason).
_Moves = dict[str, dict[str, tuple[str, ...] | None]]


@st.composite
def _sla_rules(
    draw: st.DrawFn,
    stages: Sequence[str],
    moves: _Moves,
    calendars: st.SearchStrategy[BusinessCalendar | None],
    conditions: st.SearchStrategy[Criterion],
) -> SlaRule:
    stage = draw(st.sampled_from(stages))
    if draw(st.booleans()):
        within: timedelta | BusinessDuration = draw(_business_duration())
        calendar = draw(calendars)
    else:
        within = draw(_periods())
        calendar = draw(_maybe(calendars))
    targets = moves.get(stage, {})
    choices = ("none", "escalate", "move") if targets else ("none", "escalate")
    choice = draw(st.sampled_from(choices))
    on_breach: Escalate | MoveTo | None = None
    if choice == "escalate":
        on_breach = Escalate(draw(_names()))
    elif choice == "move":
        target = draw(st.sampled_from(sorted(targets)))
        codes = targets[target]
        reasons = st.sampled_from(codes) if codes else st.just("sla_breach") | _names()
        on_breach = MoveTo(target, draw(reasons))
    return SlaRule(
        draw(_names()),
        stage,
        within,
        draw(_met_by(conditions)),
        warn_at=draw(_maybe(_fractions())),
        calendar=calendar,
        on_breach=on_breach,
    )


@functools.lru_cache(maxsize=_DRAWN)
def _met_by(
    conditions: st.SearchStrategy[Criterion],
) -> st.SearchStrategy[str | frozenset[str] | Criterion]:
    return st.one_of(st.just(_EXIT), _kind_sets(), conditions)


@functools.cache
def _fractions() -> st.SearchStrategy[float]:
    return st.floats(min_value=0, max_value=1, exclude_min=True, exclude_max=True)


def sla_rules(
    stages: Collection[str],
    *,
    moves: Mapping[str, Collection[str]] | None = None,
    calendars: st.SearchStrategy[BusinessCalendar | None] | None = None,
) -> st.SearchStrategy[SlaRule]:
    """Generate SLA rules on *stages*.

    Time allowed is wall time or business time; ``met_by`` is ``"exit"``,
    activity kinds or a criterion; a breach does nothing more, escalates, or
    moves the lead as *moves* allows. Rules shrink towards ``"exit"`` within
    a day, with no action on breach.

    Args:
        stages: The names of the stages a rule may watch (or one name).
        moves: Where a breach may move a lead, by stage: the targets of the
            policy's transitions from it (or one target). ``None`` (the
            default): no ``MoveTo`` breach actions.
        calendars: The calendars of rules that count business time (wall
            time rules get one of them or none); :func:`calendars` by default.
            Give a strategy that can yield ``None`` only for rules of a policy
            with a calendar of its own.

    Raises:
        hypothesis.errors.InvalidArgument: *stages* is empty.
    """
    names = (stages,) if isinstance(stages, str) else _ordered(stages)
    if not names:
        msg = "stages=(): expected the name of at least one stage"
        raise InvalidArgument(msg)
    allowed: _Moves = {
        stage: dict.fromkeys(
            (targets,) if isinstance(targets, str) else _ordered(targets)
        )
        for stage, targets in (moves or {}).items()
    }
    return _sla_rules(
        names,
        allowed,
        _calendars(_zone_names()) if calendars is None else calendars,
        _free_criteria(1),
    )


_STAGE_KINDS: tuple[StageKind, ...] = ("open", "won", "lost", "nurture")
_START_KINDS: tuple[StageKind, ...] = ("open", "nurture")


def policies(
    *,
    min_stages: int = 1,
    max_stages: int = 6,
    models: st.SearchStrategy[ScoringModel] | None = None,
) -> st.SearchStrategy[FunnelPolicy]:
    """Generate valid funnel policies.

    Every stage is reached from the initial one (which is open or nurture);
    won and lost stages are left only by transitions marked ``reopen``;
    transitions have criteria for the policy's model as guards, several
    sources or ``"*"``, reason codes when not automatic; SLA rules count
    wall or business time (with a calendar, the rule's or the policy's) and
    move a lead on breach only where a transition allows it. Automatic
    transitions never form a cycle (they lead to a later stage of a spanning
    tree, or to a won or lost stage, and never out of one), so a funnel
    always comes to rest. Policies shrink towards one stage, or two and the
    transition between them.

    Args:
        min_stages: The fewest stages.
        max_stages: The most stages.
        models: Where the scoring models come from
            (:func:`scoring_models` by default).

    Raises:
        hypothesis.errors.InvalidArgument: *min_stages* is below 1,
            *max_stages* below *min_stages*, or *models* is not a strategy.
    """
    _check_size("min_stages", min_stages, 1)
    _check_size("max_stages", max_stages, min_stages)
    _check_strategy("models", models)
    return _policies(
        min_stages,
        max_stages,
        _scoring_models(4) if models is None else models,
    )


#: A transition to make: the positions of its sources (``None`` for ``"*"``)
#: and of its target.
_Edge = tuple[tuple[int, ...] | None, int]


@functools.cache
def _extra_edges(count: int) -> st.SearchStrategy[list[_Edge]]:
    return st.lists(_extra_edge(count), max_size=3)


@st.composite
def _extra_edge(draw: st.DrawFn, count: int) -> _Edge:
    target = draw(st.integers(min_value=0, max_value=count - 1))
    others = [position for position in range(count) if position != target]
    if not others or draw(st.booleans()):
        return None, target
    sources = draw(st.sets(st.sampled_from(others), min_size=1, max_size=3))
    return tuple(sorted(sources)), target


@functools.cache
def _descriptions() -> st.SearchStrategy[str | None]:
    return _maybe(st.text(min_size=1, max_size=40).map(str.strip).filter(bool))


@st.composite
def _policies(
    draw: st.DrawFn,
    min_stages: int,
    max_stages: int,
    models: st.SearchStrategy[ScoringModel],
) -> FunnelPolicy:
    count = draw(st.integers(min_value=min_stages, max_value=max_stages))
    names = draw(_unique(_names(), count))
    first = draw(st.integers(min_value=0, max_value=count - 1))
    kinds = [
        draw(st.sampled_from(_START_KINDS if position == first else _STAGE_KINDS))
        for position in range(count)
    ]
    stages = [
        Stage(name, kind, description=draw(_descriptions()))
        for name, kind in zip(names, kinds, strict=True)
    ]
    model = draw(models)
    guards = _model_criteria(model, 2)
    # A spanning tree from the initial stage reaches every stage: each joins
    # from one reached before it. Its order ranks the stages for auto moves.
    order = [first, *draw(st.permutations([p for p in range(count) if p != first]))]
    rank = {position: place for place, position in enumerate(order)}
    edges: list[_Edge] = [
        ((order[draw(st.integers(min_value=0, max_value=place - 1))],), order[place])
        for place in range(1, count)
    ]
    edges += draw(_extra_edges(count))
    labels = draw(_unique(_names(), len(edges)))
    transitions: list[Transition] = []
    for position in draw(st.permutations(range(len(edges)))):
        sources, target = edges[position]
        # "*" never leaves a won or lost stage; a list may, as a re-open.
        reopen = sources is not None and any(stages[p].is_final for p in sources)
        forward = stages[target].is_final or (
            sources is not None and all(rank[p] < rank[target] for p in sources)
        )
        auto = not reopen and forward and draw(st.booleans())
        transitions.append(
            Transition(
                source=_ANY_OPEN if sources is None else [names[p] for p in sources],
                target=names[target],
                guard=draw(guards),
                auto=auto,
                requires_reason=not auto and draw(st.booleans()),
                reasons=() if auto else draw(_reason_codes()),
                reopen=reopen or draw(st.booleans()),
                name=labels[position] if draw(st.booleans()) else None,
            )
        )
    calendars = _calendars(_zone_names())
    calendar = draw(_maybe(calendars))
    policy = FunnelPolicy(
        name=draw(_names()),
        version=draw(_versions()),
        stages=stages,
        transitions=transitions,
        initial=names[first],
        scoring=model,
        calendar=calendar,
    )
    # Breach moves the policy allows, as the policy itself answers.
    moves: _Moves = {
        source: {
            goal: _codes(policy.transitions_between(source, goal))
            for goal in policy.targets(source)
        }
        for source in names
    }
    rule_calendars = _maybe(calendars) if calendar else calendars
    slas = draw(
        st.lists(
            _sla_rules(names, moves, rule_calendars, _model_criteria(model, 1)),
            max_size=3,
            unique_by=lambda rule: rule.name,
        )
    )
    return attrs.evolve(policy, slas=slas)


def _codes(moves: tuple[Transition, ...]) -> tuple[str, ...] | None:
    """The reasons a breach move may give: ``None`` when a move takes any."""
    if not all(move.reasons for move in moves):
        return None
    return tuple(dict.fromkeys(code for move in moves for code in move.reasons))


@functools.cache
def _reason_codes() -> st.SearchStrategy[list[str]]:
    return st.lists(_names(), max_size=3)


@functools.cache
def _versions() -> st.SearchStrategy[int]:
    return _rarely(
        st.integers(min_value=1, max_value=100),
        st.integers(min_value=1, max_value=_MAX_NUMBER),
    )
