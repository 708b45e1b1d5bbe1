"""Policy files: a FunnelPolicy as TOML or JSON, read safely and written back.

The file says what the Python constructors say, with the same names: a key
of a table is an argument name (``max_count``, ``warn_at``); a criterion, a
value test or a decay is a table of one key naming it
(``{ score_at_least = { points = 40, dimension = "engagement" } }``); a
duration is text (``"30 days"``, ``"8 business hours"``).

Reading never executes anything from the file: every key is looked up in
the tables below, custom criteria only in the :class:`CriteriaRegistry` the
caller passes, and a regular expression that could take exponential time is
refused. Every problem in a file is collected and reported together, each
with its key path.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import tomllib
import types
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, TypeVar, Union, get_args, get_origin

import attrs

from funnelkit import _toml
from funnelkit._calendar import WEEKDAYS, BusinessCalendar, BusinessHours, Holiday
from funnelkit._criteria import (
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    AttributeIs,
    BantQualified,
    Criterion,
    CriterionLike,
    DidActivity,
    GradeAtLeast,
    InStageFor,
    Not,
    ScoreAtLeast,
    describe,
)
from funnelkit._decay import Decay, HalfLife, LinearDecay, StepDecay
from funnelkit._duration import BusinessDuration, format_duration, parse_duration
from funnelkit._policy import FunnelPolicy, Stage, Transition
from funnelkit._predicates import (
    ValueTest,
    _Between,
    _Both,
    _Either,
    _Equals,
    _Matches,
    _Not,
    _OneOf,
    _Present,
    absent,
    between,
    equals,
    matches,
    one_of,
    present,
)
from funnelkit._rules import ActivityRule, AttributeRule
from funnelkit._scoring import Grades, ScoringModel
from funnelkit._sla import EXIT, Escalate, MoveTo, SlaRule
from funnelkit._validators import instance_of, is_finite_number, non_empty_str
from funnelkit.errors import PolicyError, PolicyFileError, ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_NUMBER",
    "MAX_POLICY_BYTES",
    "POLICY_PARTS",
    "CriteriaRegistry",
    "PolicyChange",
    "diff_policies",
    "dump_policy",
    "fingerprint",
    "load_policy",
    "policy_data",
    "read_part",
    "write_part",
]

#: The largest policy file read, in bytes (a real one is a few kilobytes).
MAX_POLICY_BYTES: Final = 1_000_000

#: How deeply criteria and value tests may nest in a file.
MAX_DEPTH: Final = 32

#: The largest magnitude of a number in a policy file.
MAX_NUMBER: Final = 10**12

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: The longest regular expression a file may give to ``matches``.
_MAX_PATTERN = 500

Format = Literal["toml", "json"]
T = TypeVar("T")

# A parsed value, or this marker when a problem was recorded instead.
_BAD: Final[Any] = object()


class _Problems(Exception):  # noqa: N818 -- an internal signal, never seen outside
    """Raised by a reader that recorded its problems already."""


@attrs.define
class CriteriaRegistry:
    """The custom criterion classes a policy file may name: those, and no others.

    Register an attrs class under a name; a file then writes
    ``{ name = { field = value, ... } }`` and gets the class built from those
    fields, each read as its annotation says (text, numbers, booleans,
    durations, dates, lists of text, value tests or nested criteria). Nothing
    else in a file can reach Python: there is no global registry and no
    import of dotted paths.

    >>> import attrs
    >>> from funnelkit import Criterion, Verdict
    >>> registry = CriteriaRegistry()
    >>> @registry.register("in_territory")
    ... @attrs.frozen
    ... class InTerritory(Criterion):
    ...     region: str
    ...
    ...     def check(self, ctx):
    ...         region = ctx.lead.attributes.get("region")
    ...         return Verdict(
    ...             passed=region == self.region,
    ...             criterion=f"in territory {self.region}",
    ...             reason=f"region is {region}",
    ...         )
    >>> registry.names
    ('in_territory',)
    """

    _classes: dict[str, type] = attrs.field(factory=dict, alias="classes")

    def __attrs_post_init__(self) -> None:
        found: object = self._classes  # callers may pass anything at run time
        if not isinstance(found, Mapping):
            raise PolicyError(
                owner="CriteriaRegistry",
                field="classes",
                value=found,
                expected="a mapping of names to criterion classes",
            )
        given, self._classes = dict(found), {}
        for name, cls in given.items():
            self.register(name, cls)

    @property
    def names(self) -> tuple[str, ...]:
        """The registered names, sorted."""
        return tuple(sorted(self._classes))

    def register(self, name: str, cls: type[T] | None = None) -> Any:  # noqa: ANN401 -- the class, or a decorator of one
        """Make *cls* loadable under *name*; without *cls*, a class decorator.

        Raises:
            PolicyError: *name* is not a lower-case identifier, is a built-in
                criterion's name or is taken; or *cls* is not an attrs class
                with a ``check`` method, whose fields a file can give.
        """
        if cls is None:
            return lambda given: self.register(name, given)
        owner = "CriteriaRegistry"
        given: object = name  # callers may pass anything at run time
        if not isinstance(given, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", given):
            raise PolicyError(
                owner=owner, field="name", value=name, expected="a lower_case name"
            )
        if name in _CRITERIA or name in self._classes:
            raise PolicyError(
                owner=owner,
                field="name",
                value=name,
                expected="a name that no built-in or registered criterion has",
            )
        made: object = cls  # callers may pass anything at run time
        if not (isinstance(made, type) and attrs.has(made)):
            raise PolicyError(
                owner=owner,
                field=name,
                value=cls,
                expected="an attrs class (decorate it with @attrs.frozen)",
            )
        if not callable(getattr(made, "check", None)):
            raise PolicyError(
                owner=owner,
                field=name,
                value=cls,
                expected="a criterion class: one with a check(ctx) method",
            )
        for field in _init_fields(cls):
            if _reader_for(field.type) is None:
                raise PolicyError(
                    owner=owner,
                    field=f"{name}.{_alias(field)}",
                    value=field.type,
                    expected="a field type a policy file can give: str, int, float, "
                    "bool, timedelta, date, a list of str, a value test, a "
                    "criterion, or one of those or None",
                )
        self._classes[name] = cls
        return cls

    def _name_of(self, cls: type) -> str | None:
        for name, known in self._classes.items():
            if known is cls:
                return name
        return None


def _init_fields(cls: type) -> list[attrs.Attribute[Any]]:
    attrs.resolve_types(cls)
    return [field for field in attrs.fields(cls) if field.init]


def _alias(field: attrs.Attribute[Any]) -> str:
    """The argument name of *field* (attrs sets it; the name is a fallback)."""
    return field.alias or field.name


# --------------------------------------------------------------------- reading


def _show(value: object) -> str:
    """A value as the file writes it: a duration as its text ('0 days')."""
    if isinstance(value, timedelta | BusinessDuration):
        value = format_duration(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."  # noqa: PLR2004 -- a line


def _join(path: str, step: str | int) -> str:
    if isinstance(step, int):
        return f"{path}[{step}]"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", step):
        step = json.dumps(step, ensure_ascii=False)
    return f"{path}.{step}" if path else step


_Read = Callable[["_Reader", str, object], Any]


class _Reader:
    """Reads document data into policy parts, collecting every problem."""

    def __init__(self, registry: CriteriaRegistry | None) -> None:
        self.registry = registry if registry is not None else CriteriaRegistry()
        self.problems: list[tuple[str, str]] = []
        self.depth = 0
        # The built-in criteria read, with their key paths: a policy's check
        # of a guard names the criterion, which the file names by its path.
        self.leaves: list[tuple[object, str, str | None]] = []

    # -- problems

    def fail(self, path: str, expected: str, found: object) -> Any:  # noqa: ANN401 -- always _BAD
        self.problems.append((path, f"expected {expected}, found {_show(found)}"))
        return _BAD

    def build(self, path: str, make: Callable[..., T], *args: Any, **kwargs: Any) -> T:  # noqa: ANN401 -- the part's arguments
        """Call *make*; a validator's complaint becomes a problem at *path*."""
        if any(item is _BAD for item in (*args, *kwargs.values())):
            return _BAD  # type: ignore[no-any-return] # a part failed: no whole
        try:
            return make(*args, **kwargs)
        except ValidationError as error:
            # A validator names its field as code does (limits['fit']): the
            # file's key path writes limits.fit.
            field = re.sub(r"\['([A-Za-z0-9_-]+)'\]", r".\1", error.field)
            where = path + field if field.startswith("[") else f"{path}.{field}"
            found = error.value
            for leaf, at, key in self.leaves:
                if leaf is found:  # a criterion of a guard: its own path
                    where = at if key is None else f"{at}.{key}"
                    found = found if key is None else getattr(leaf, key)
                    break
            return self.fail(where.lstrip("."), error.expected, found)  # type: ignore[no-any-return] # _BAD

    def record(
        self,
        path: str,
        value: object,
        what: str,
        readers: Mapping[str, _Read],
        required: Iterable[str] = (),
    ) -> dict[str, Any] | None:
        """Read a table of *readers*' keys, *required* ones present.

        Each known key given is read by its reader (its own problems leave
        ``_BAD`` in the result, which :meth:`build` passes on). Unknown and
        missing keys are problems too, and then the table is ``None``; the
        keys read still report theirs, so that every problem shows at once.
        """
        if not isinstance(value, Mapping):
            self.fail(path, what, value)
            return None
        good = True
        for key in value:
            if key not in readers:
                self.unknown(_join(path, str(key)), str(key), readers)
                good = False
        for key in required:
            if key not in value:
                self.problems.append(
                    (_join(path, key), f"required key is missing ({what})")
                )
                good = False
        read = {
            key: readers[key](self, _join(path, key), item)
            for key, item in value.items()
            if key in readers
        }
        return read if good else None

    def part(  # noqa: PLR0913, PLR0917 -- a part's reading, in full
        self,
        path: str,
        value: object,
        what: str,
        cls: type,
        readers: Mapping[str, _Read],
        first: str | None = None,
    ) -> Any:  # noqa: ANN401 -- an instance of cls or _BAD
        """A part: a table of its fields, or (given *first*) that field alone.

        The keys without a default in *cls* are required.
        """
        if first is not None and not isinstance(value, Mapping):
            value = {first: value}
        fields = {_alias(field): field for field in _init_fields(cls)}
        required = [key for key in readers if fields[key].default is attrs.NOTHING]
        kwargs = self.record(path, value, what, readers, required)
        return _BAD if kwargs is None else self.build(path, cls, **kwargs)

    def unknown(self, path: str, key: str, known: Iterable[str]) -> None:
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        names = ", ".join(repr(name) for name in known)
        self.problems.append((path, f"unknown key (known: {names}){hint}"))

    # -- scalars

    def text(self, path: str, value: object) -> Any:  # noqa: ANN401 -- str or _BAD
        return value if isinstance(value, str) else self.fail(path, "text", value)

    def whole(self, path: str, value: object) -> Any:  # noqa: ANN401 -- int or _BAD
        if type(value) is not int:
            return self.fail(path, "a whole number", value)
        return self.bounded(path, value)

    def number(self, path: str, value: object) -> Any:  # noqa: ANN401 -- float or _BAD
        # A whole number past a float's range is told the range (bounded).
        if type(value) is not int and not is_finite_number(value):
            return self.fail(path, "a number", value)
        return self.bounded(path, value)

    def bounded(self, path: str, value: float) -> Any:  # noqa: ANN401 -- the number or _BAD
        if abs(value) > MAX_NUMBER:
            return self.fail(
                path, f"a number from -{MAX_NUMBER:,} to {MAX_NUMBER:,}", value
            )
        return value

    def flag(self, path: str, value: object) -> Any:  # noqa: ANN401 -- bool or _BAD
        return value if type(value) is bool else self.fail(path, "true or false", value)

    def texts(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a tuple of str or _BAD
        """A list of text; one text alone stands for a list of one."""
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list | tuple):
            return self.fail(path, "text or a list of text", value)
        items = [self.text(_join(path, i), item) for i, item in enumerate(value)]
        return _BAD if _BAD in items else tuple(items)

    def scalar(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a scalar or _BAD
        """A JSON scalar; ``{ null = true }`` is None, which TOML cannot write."""
        if isinstance(value, Mapping) and list(value) == ["null"]:
            null = value["null"]
            return (
                None if null is True else self.fail(_join(path, "null"), "true", null)
            )
        if isinstance(value, str | bool) or value is None:
            return value
        if not isinstance(value, int | float):
            return self.fail(path, "text, a number, true or false", value)
        return self.number(path, value)

    def duration(self, path: str, value: object, *, business: bool = False) -> Any:  # noqa: ANN401 -- a duration or _BAD
        expected = (
            "a duration such as '30 days' or '8 business hours'"
            if business
            else "a duration such as '30 days' or '90 minutes'"
        )
        if not isinstance(value, str) or len(value) > 100:  # noqa: PLR2004 -- no duration is longer
            return self.fail(path, expected, value)
        try:
            parsed = parse_duration(value)
        except (ValidationError, OverflowError):
            return self.fail(path, expected, value)
        if isinstance(parsed, BusinessDuration) and not business:
            return self.fail(path, "a wall-clock duration, not business time", value)
        return parsed

    # -- nesting

    def nested(self, path: str, value: object, read: Callable[[str, object], T]) -> T:
        if self.depth >= MAX_DEPTH:
            return self.fail(path, f"at most {MAX_DEPTH} levels of nesting", "deeper")  # type: ignore[no-any-return] # _BAD
        self.depth += 1
        try:
            return read(path, value)
        finally:
            self.depth -= 1

    def each(
        self, path: str, value: object, read: Callable[[str, object], T], what: str
    ) -> Any:  # noqa: ANN401 -- a tuple or _BAD
        if not isinstance(value, list | tuple):
            return self.fail(path, what, value)
        items = [read(_join(path, i), item) for i, item in enumerate(value)]
        return _BAD if any(item is _BAD for item in items) else tuple(items)

    # -- value tests

    def value_test(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a ValueTest or _BAD
        return self.nested(path, value, self._value_test)

    def _value_test(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a ValueTest or _BAD
        if isinstance(value, list | tuple):
            items = [self.scalar(_join(path, i), item) for i, item in enumerate(value)]
            return self.build(path, one_of, *items)
        if not isinstance(value, Mapping) or list(value) == ["null"]:
            return self.build(path, equals, self.scalar(path, value))
        tag = self.tag(path, value, _TESTS, "a value test")
        if tag is None:
            return _BAD
        return _TESTS[tag](self, _join(path, tag), value[tag])

    def tag(
        self,
        path: str,
        value: Mapping[str, object],
        known: Mapping[str, object],
        what: str,
    ) -> str | None:
        """The one key of a ``{ name = arguments }`` table, if it is known."""
        if len(value) != 1:
            self.fail(
                path,
                f"{what}: a table of one key, one of {', '.join(known)}",
                dict(value),
            )
            return None
        (tag,) = value
        if tag not in known:
            self.unknown(_join(path, str(tag)), str(tag), known)
            return None
        return str(tag)

    def pattern(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a ValueTest or _BAD
        args = {"pattern": value} if isinstance(value, str) else value
        kwargs = self.record(
            path,
            args,
            "a pattern, or a table with 'pattern'",
            {"pattern": _Reader.text, "ignore_case": _Reader.flag},
            ["pattern"],
        )
        if kwargs is None:
            return _BAD
        pattern = kwargs["pattern"]
        if pattern is not _BAD and (problem := _risky(pattern)):
            return self.fail(_join(path, "pattern"), problem, pattern)
        return self.build(path, matches, **kwargs)

    def bounds(self, path: str, value: object, what: str) -> Any:  # noqa: ANN401 -- (low, high) or _BAD
        """A table with ``low``, ``high`` or both, as a pair."""
        kwargs = self.record(path, value, what, _LOW_HIGH)
        if kwargs is None:
            return _BAD
        return kwargs.get("low"), kwargs.get("high")

    def between(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a ValueTest or _BAD
        kwargs = self.record(
            path,
            value,
            "a table with 'low', 'high' or both (and 'include_high')",
            _BETWEEN,
        )
        if kwargs is None:
            return _BAD
        return self.build(
            path,
            between,
            kwargs.pop("low", None),
            kwargs.pop("high", None),
            **kwargs,
        )

    def yes(self, path: str, value: object, make: Callable[[], ValueTest]) -> Any:  # noqa: ANN401 -- a ValueTest or _BAD
        return make() if value is True else self.fail(path, "true", value)

    def joined(
        self,
        path: str,
        value: object,
        join: Callable[[ValueTest, ValueTest], ValueTest],
    ) -> Any:  # noqa: ANN401 -- a ValueTest or _BAD
        tests = self.each(
            path, value, self.value_test, "a list of two or more value tests"
        )
        if tests is _BAD:
            return _BAD
        if len(tests) < 2:  # noqa: PLR2004 -- a pair at least
            return self.fail(path, "a list of two or more value tests", value)
        made = tests[0]
        for test in tests[1:]:
            made = join(made, test)
        return made

    # -- criteria

    def criterion(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a criterion or _BAD
        return self.nested(path, value, self._criterion)

    def _criterion(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a criterion or _BAD
        known = {**_CRITERIA, **dict.fromkeys(self.registry.names)}
        if not isinstance(value, Mapping):
            return self.fail(
                path, "a criterion: a table such as { score_at_least = 40 }", value
            )
        tag = self.tag(path, value, known, "a criterion")
        if tag is None:
            return _BAD
        args, where = value[tag], _join(path, tag)
        if tag in _CRITERIA:
            return _CRITERIA[tag](self, where, args)
        cls = self.registry._classes[tag]  # noqa: SLF001 -- the registry's own table
        return self.fields_of(where, cls, args)

    def criteria(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a tuple or _BAD
        return self.each(path, value, self.criterion, "a list of criteria")

    def fields_of(self, path: str, cls: type, value: object) -> Any:  # noqa: ANN401 -- an instance or _BAD
        """Build a registered attrs class from its fields, each read by type."""
        readers = {_alias(f): _reader_for(f.type) for f in _init_fields(cls)}
        what = f"a table of the fields of {cls.__name__}"
        return self.part(path, value, what, cls, readers)  # type: ignore[arg-type] # checked at register

    def leaf(
        self,
        path: str,
        value: object,
        cls: type,
        readers: Mapping[str, _Read],
        first: str,
    ) -> Any:  # noqa: ANN401 -- an instance or _BAD
        """A built-in criterion: a table of its fields, or its first field alone."""
        what = f"a table of {', '.join(readers)}"
        made = self.part(path, value, what, cls, readers, first)
        if made is not _BAD:
            # A field the policy checks, at its key when the file wrote one.
            field = _CHECKED_FIELDS.get(cls)
            if field is None or not isinstance(value, Mapping) or field not in value:
                field = None
            self.leaves.append((made, path, field))
        return made

    def combined(self, path: str, value: object, make: Callable[..., T]) -> Any:  # noqa: ANN401 -- a combinator or _BAD
        parts = self.criteria(path, value)
        return _BAD if parts is _BAD else self.build(path, make, *parts)

    def at_least(self, path: str, value: object) -> Any:  # noqa: ANN401 -- AtLeast or _BAD
        readers = {"n": _Reader.whole, "of": _Reader.criteria}
        kwargs = self.record(path, value, "a table with 'n' and 'of'", readers, readers)
        if kwargs is None or kwargs["of"] is _BAD:
            return _BAD
        return self.build(path, AtLeast, kwargs["n"], *kwargs["of"])

    def always(self, path: str, value: object) -> Any:  # noqa: ANN401 -- Always or _BAD
        if value is True or value == {}:
            return Always()
        return self.fail(path, "true or {}", value)

    # -- scoring

    def decay(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a Decay or _BAD
        if not isinstance(value, Mapping):
            return self.fail(
                path,
                "a decay: { half_life = '30 days' }, { linear = ... } "
                "or { step = { every, factor } }",
                value,
            )
        tag = self.tag(path, value, _DECAYS, "a decay")
        if tag is None:
            return _BAD
        return _DECAYS[tag](self, _join(path, tag), value[tag])

    def rule_decay(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a Decay, None or _BAD
        return None if value == "none" else self.decay(path, value)

    def step(self, path: str, value: object) -> Any:  # noqa: ANN401 -- StepDecay or _BAD
        readers = {"every": _Reader.duration, "factor": _Reader.number}
        what = "a table with 'every' and 'factor'"
        return self.part(path, value, what, StepDecay, readers)

    def where(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a mapping or _BAD
        if not isinstance(value, Mapping):
            return self.fail(path, "a table of property name = value test", value)
        tests = {
            str(key): self.value_test(_join(path, str(key)), item)
            for key, item in value.items()
        }
        return _BAD if _BAD in tests.values() else tests

    def grades(self, path: str, value: object) -> Any:  # noqa: ANN401 -- Grades or _BAD
        readers = {"fit": _Reader.bands, "engagement": _Reader.bands}
        what = "a table with 'fit' and 'engagement' bands"
        return self.part(path, value, what, Grades, readers)

    def bands(self, path: str, value: object) -> Any:  # noqa: ANN401 -- the bands or _BAD
        def band(where: str, item: object) -> Any:  # noqa: ANN401 -- a band or _BAD
            if not isinstance(item, list | tuple) or len(item) not in {1, 2}:
                return self.fail(
                    where, "a band: [label, minimum], or [label] for the last", item
                )
            label = self.text(_join(where, 0), item[0])
            low = self.number(_join(where, 1), item[1]) if len(item) == 2 else None  # noqa: PLR2004 -- a pair
            return _BAD if _BAD in (label, low) else (label, low)

        return self.each(path, value, band, "a list of bands, best first")

    def limits(self, path: str, value: object) -> Any:  # noqa: ANN401 -- the limits or _BAD
        def limit(where: str, item: object) -> Any:  # noqa: ANN401 -- a pair or _BAD
            if isinstance(item, list | tuple) and len(item) == 2:  # noqa: PLR2004 -- a pair
                return (
                    self.number(_join(where, 0), item[0]),
                    self.number(_join(where, 1), item[1]),
                )
            what = "[low, high], or a table with 'low', 'high' or both"
            return self.bounds(where, item, what)

        if not isinstance(value, Mapping):
            return self.fail(path, "a table of dimension = [low, high]", value)
        found = {
            str(key): limit(_join(path, str(key)), item) for key, item in value.items()
        }
        bad = any(item is _BAD or _BAD in item for item in found.values())
        return _BAD if bad else found

    def rule(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a rule or _BAD
        if isinstance(value, Mapping) and {"kind", "attribute"} <= set(value):
            return self.fail(
                path, "a rule with 'kind' or 'attribute', not both", dict(value)
            )
        if isinstance(value, Mapping) and "attribute" in value:
            return self.part(
                path, value, "an attribute rule", AttributeRule, _ATTRIBUTE_RULE
            )
        if not isinstance(value, Mapping) or "kind" not in value:
            return self.fail(
                path,
                "a rule: a table with 'kind' (an activity rule) "
                "or 'attribute' (an attribute rule)",
                value,
            )
        return self.part(path, value, "an activity rule", ActivityRule, _ACTIVITY_RULE)

    def scoring(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a ScoringModel or _BAD
        return self.part(path, value, "a scoring model", ScoringModel, _SCORING)

    # -- calendars

    def hours(self, path: str, value: object) -> Any:  # noqa: ANN401 -- BusinessHours or _BAD
        try:
            return BusinessHours.parse(value)  # type: ignore[arg-type] # parse checks
        except PolicyError as error:
            return self.fail(path, error.expected, value)

    def hours_list(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a tuple or _BAD
        return self.each(
            path, value, self.hours, "a list of intervals such as '09:00-17:00'"
        )

    def week(self, path: str, value: object) -> Any:  # noqa: ANN401 -- the week or _BAD
        readers = dict.fromkeys(WEEKDAYS, _Reader.hours_list)
        week = self.record(
            path, value, "a table of weekday = ['09:00-17:00', ...]", readers
        )
        return _BAD if week is None or _BAD in week.values() else week

    def holiday(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a Holiday or _BAD
        if not isinstance(value, Mapping):
            return self.build(path, Holiday, self.day(path, value))
        readers = {"on": _Reader.day, "hours": _Reader.hours_list}
        what = "a holiday: a date, a rule, or a table with 'on' and 'hours'"
        return self.part(path, value, what, Holiday, readers)

    def day(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a date, a rule or _BAD
        """A date (``'2026-12-25'``), or any other text: a recurrence rule."""
        if isinstance(value, str) and not _DATE.fullmatch(value):
            return value
        return self.date(path, value, "a date ('2026-12-25') or a recurrence rule")

    def date(
        self, path: str, value: object, what: str = "a date such as '2026-12-25'"
    ) -> Any:  # noqa: ANN401 -- a date or _BAD
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            return self.fail(path, what, value)
        try:
            return date.fromisoformat(value)
        except ValueError:
            return self.fail(path, "a real date", value)

    def calendar(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a BusinessCalendar or _BAD
        return self.part(path, value, "a calendar", BusinessCalendar, _CALENDAR)

    # -- SLAs and the policy

    def met_by(self, path: str, value: object) -> Any:  # noqa: ANN401 -- what meets an SLA, or _BAD
        if isinstance(value, Mapping):
            return self.criterion(path, value)
        if not isinstance(value, str | list | tuple):
            return self.fail(
                path, "'exit', an activity kind, a list of kinds, or a criterion", value
            )
        kinds = self.texts(path, value)
        if kinds is _BAD:
            return _BAD
        return EXIT if kinds == (EXIT,) else frozenset(kinds)

    def on_breach(self, path: str, value: object) -> Any:  # noqa: ANN401 -- Escalate, MoveTo or _BAD
        if isinstance(value, str):
            return self.build(path, Escalate, value)
        if isinstance(value, Mapping) and "escalate" in value:
            readers = {"escalate": _Reader.text}
            kwargs = self.record(path, value, "{ escalate = 'role' }", readers, readers)
            if kwargs is None:
                return _BAD
            return self.build(path, Escalate, kwargs["escalate"])
        kwargs = self.record(
            path,
            value,
            "{ escalate = 'role' } or { move_to = 'stage', reason = '...' }",
            {"move_to": _Reader.text, "reason": _Reader.text},
            ["move_to"],
        )
        if kwargs is None:
            return _BAD
        return self.build(path, MoveTo, kwargs.pop("move_to"), **kwargs)

    def sla(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a SlaRule or _BAD
        return self.part(path, value, "an SLA rule", SlaRule, _SLA)

    def stage(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a Stage or _BAD
        return self.part(path, value, "a stage", Stage, _STAGE)

    def transition(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a Transition or _BAD
        return self.part(path, value, "a transition", Transition, _TRANSITION)

    def policy(self, path: str, value: object) -> Any:  # noqa: ANN401 -- a FunnelPolicy or _BAD
        return self.part(path, value, "a policy", FunnelPolicy, _POLICY)


def _risky(pattern: str) -> str | None:
    """Say why a regular expression is refused, or ``None`` if it is safe."""
    if len(pattern) > _MAX_PATTERN:
        return f"a regular expression of at most {_MAX_PATTERN} characters"
    try:
        re.compile(pattern)
    except re.error as error:
        return f"a valid regular expression ({error})"
    if _backtracks(pattern):
        return (
            "a regular expression without a repeated group that itself repeats "
            "or alternates, such as (a+)+ or (a|b)* (those can take exponential time)"
        )
    return None


def _backtracks(pattern: str) -> bool:
    """Whether a repeated group holds a repeat of varying length or an alternation.

    Such a group can match one text in exponentially many ways, which a
    backtracking engine may try one by one: ``(a+)+``, ``(a|aa)*``.
    """
    stack = [False]  # per open group: whether it varies inside
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
        elif char == "(":
            stack.append(False)
        elif char == ")" and len(stack) > 1:
            inner = stack.pop()
            counts = _quantifier(pattern, i + 1)
            if inner and counts is not None and (counts[1] is None or counts[1] > 1):
                return True
            stack[-1] = stack[-1] or inner
        elif char == "|":
            stack[-1] = True
        elif (counts := _quantifier(pattern, i)) is not None:
            stack[-1] = stack[-1] or counts[1] is None or counts[1] > counts[0]
        i += 1
    return False


def _class_end(pattern: str, start: int) -> int:
    """The index of the ``]`` that closes the class opened at *start*."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


_QUANTIFIER = re.compile(r"[*+?]|\{(\d*)(,(\d*))?\}")


def _quantifier(pattern: str, at: int) -> tuple[int, int | None] | None:
    """The (least, most) repeats of a quantifier starting at *at*, if one does."""
    match = _QUANTIFIER.match(pattern, at)
    if match is None:
        return None
    simple = {"*": (0, None), "+": (1, None), "?": (0, 1)}
    if match[0] in simple:
        return simple[match[0]]
    low = int(match[1] or 0)
    if not match[2]:
        return low, low
    return low, int(match[3]) if match[3] else None


def _criterion_reader(cls: type, first: str, **readers: _Read) -> _Read:
    return lambda r, path, value: r.leaf(path, value, cls, readers, first)


def _seq(read: _Read, what: str) -> _Read:
    return lambda r, path, value: r.each(path, value, lambda p, v: read(r, p, v), what)


_duration: _Read = _Reader.duration
_business: _Read = lambda r, path, value: r.duration(path, value, business=True)  # noqa: E731 -- a table entry

_LOW_HIGH: dict[str, _Read] = {"low": _Reader.number, "high": _Reader.number}
_BETWEEN: dict[str, _Read] = {**_LOW_HIGH, "include_high": _Reader.flag}

#: The fields of built-in criteria that a policy checks against its scoring
#: model (a dimension, a grade): a problem with one is named at its key.
_CHECKED_FIELDS: dict[type, str] = {ScoreAtLeast: "dimension", GradeAtLeast: "letter"}

_CRITERIA: dict[str, _Read] = {
    "all": lambda r, path, value: r.combined(path, value, AllOf),
    "any": lambda r, path, value: r.combined(path, value, AnyOf),
    "not": lambda r, path, value: r.build(path, Not, r.criterion(path, value)),
    "at_least": _Reader.at_least,
    "always": _Reader.always,
    "score_at_least": _criterion_reader(
        ScoreAtLeast, "points", points=_Reader.number, dimension=_Reader.text
    ),
    "grade_at_least": _criterion_reader(
        GradeAtLeast, "letter", letter=_Reader.text, grades=_Reader.grades
    ),
    "did_activity": _criterion_reader(
        DidActivity,
        "kinds",
        kinds=_Reader.texts,
        within=_duration,
        count=_Reader.whole,
        in_stage=_Reader.flag,
    ),
    "attribute_is": _criterion_reader(
        AttributeIs, "attribute", attribute=_Reader.text, test=_Reader.value_test
    ),
    "bant_qualified": _criterion_reader(
        BantQualified,
        "min_met",
        min_met=_Reader.whole,
        timeline_within=_duration,
        timezone=_Reader.text,
    ),
    "in_stage_for": _criterion_reader(InStageFor, "at_least", at_least=_duration),
}

_TESTS: dict[str, _Read] = {
    "equals": lambda r, path, value: r.build(path, equals, r.scalar(path, value)),
    "one_of": lambda r, path, value: (
        r.value_test(path, value)
        if isinstance(value, list | tuple)
        else r.fail(path, "a list of values", value)
    ),
    "between": _Reader.between,
    "matches": _Reader.pattern,
    "present": lambda r, path, value: r.yes(path, value, present),
    "absent": lambda r, path, value: r.yes(path, value, absent),
    "all": lambda r, path, value: r.joined(path, value, _Both),
    "any": lambda r, path, value: r.joined(path, value, _Either),
    "not": lambda r, path, value: r.build(path, _Not, r.value_test(path, value)),
}

_DECAYS: dict[str, _Read] = {
    "half_life": lambda r, path, value: r.build(
        path, HalfLife, r.duration(path, value)
    ),
    "linear": lambda r, path, value: r.build(
        path, LinearDecay, r.duration(path, value)
    ),
    "step": _Reader.step,
}

_ACTIVITY_RULE: dict[str, _Read] = {
    "kind": _Reader.texts,
    "points": _Reader.number,
    "where": _Reader.where,
    "max_points": _Reader.number,
    "max_count": _Reader.whole,
    "per": _duration,
    "within": _duration,
    "decay": _Reader.rule_decay,
    "dimension": _Reader.text,
    "name": _Reader.text,
}

_ATTRIBUTE_RULE: dict[str, _Read] = {
    "attribute": _Reader.text,
    "test": _Reader.value_test,
    "points": _Reader.number,
    "dimension": _Reader.text,
    "name": _Reader.text,
}

_SCORING: dict[str, _Read] = {
    "name": _Reader.text,
    "rules": _seq(_Reader.rule, "a list of rules"),
    "decay": _Reader.decay,
    "grades": _Reader.grades,
    "limits": _Reader.limits,
}

_CALENDAR: dict[str, _Read] = {
    "timezone": _Reader.text,
    "hours": _Reader.week,
    "holidays": _seq(_Reader.holiday, "a list of holidays"),
    "country": _Reader.text,
    "subdivision": _Reader.text,
}

_SLA: dict[str, _Read] = {
    "name": _Reader.text,
    "stage": _Reader.text,
    "within": _business,
    "met_by": _Reader.met_by,
    "warn_at": _Reader.number,
    "calendar": _Reader.calendar,
    "on_breach": _Reader.on_breach,
}

_STAGE: dict[str, _Read] = {
    "name": _Reader.text,
    "kind": _Reader.text,
    "description": _Reader.text,
}

_TRANSITION: dict[str, _Read] = {
    "source": _Reader.texts,
    "target": _Reader.text,
    "guard": _Reader.criterion,
    "auto": _Reader.flag,
    "requires_reason": _Reader.flag,
    "reasons": _Reader.texts,
    "reopen": _Reader.flag,
    "name": _Reader.text,
}

_POLICY: dict[str, _Read] = {
    "name": _Reader.text,
    "version": _Reader.whole,
    "initial": _Reader.text,
    "stages": _seq(_Reader.stage, "a list of stages"),
    "transitions": _seq(_Reader.transition, "a list of transitions"),
    "scoring": _Reader.scoring,
    "slas": _seq(_Reader.sla, "a list of SLA rules"),
    "calendar": _Reader.calendar,
}


# Field types of registered criteria, and how a file gives them.
_TYPE_READERS: dict[object, _Read] = {
    str: _Reader.text,
    int: _Reader.whole,
    float: _Reader.number,
    bool: _Reader.flag,
    timedelta: _duration,
    date: _Reader.date,
    ValueTest: _Reader.value_test,
    CriterionLike: _Reader.criterion,
}


def _reader_for(annotation: object) -> _Read | None:
    """How a file gives a field of this type, or ``None`` if it cannot."""
    if annotation in _TYPE_READERS:
        return _TYPE_READERS[annotation]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in {tuple, frozenset, list} and args and args[0] is str:
        convert: Callable[[Any], Any] = origin
        return lambda r, path, value: _apply(r.texts(path, value), convert)
    if _nullable(annotation):
        (inner,) = (arg for arg in args if arg is not type(None))
        read = _reader_for(inner)
        return None if read is None else _or_null(read)
    return None


def _nullable(annotation: object) -> bool:
    """Whether *annotation* is ``X | None``."""
    args = get_args(annotation)
    return (
        get_origin(annotation) in {Union, types.UnionType}
        and len(args) == 2  # noqa: PLR2004 -- X and None
        and type(None) in args
    )


def _is_null(value: object) -> bool:
    """Whether *value* is a file's None: ``{ null = true }``, or JSON's null."""
    return value is None or (
        isinstance(value, Mapping) and len(value) == 1 and value.get("null") is True
    )


def _or_null(read: _Read) -> _Read:
    """A reader of ``X | None``: *read*, or None where the file writes it."""
    return lambda r, path, value: None if _is_null(value) else read(r, path, value)


def _apply(value: Any, convert: Callable[[Any], Any]) -> Any:  # noqa: ANN401 -- a parsed value or _BAD
    return value if value is _BAD else convert(value)


# --------------------------------------------------------------------- writing


class _Writer:
    """Writes policy parts as document data: the shortest form that reads back equal."""

    def __init__(
        self,
        registry: CriteriaRegistry | None,
        *,
        strict: bool = True,
        owner: str = "dump_policy",
        by_value: bool = False,
    ) -> None:
        self.registry = registry
        self.strict = strict
        self.owner = owner
        self.by_value = by_value
        # What a strict writer takes, for {} the class refused: funnelkit.serialization
        # takes no registry, so it says where one is given.
        self.registered = (
            "a built-in criterion, or a class registered in the CriteriaRegistry "
            "given to dump_policy ({} is not)"
            if owner == "dump_policy"
            else "a built-in criterion ({} is not): write a policy with criteria "
            "of your own with dump_policy(policy, criteria=registry), and read it "
            "with load_policy(text, criteria=registry)"
        )

    def duration(self, value: timedelta | BusinessDuration) -> str:
        return format_duration(value)

    def scalar(self, value: object) -> object:
        return {"null": True} if value is None else value

    def value_test(self, test: ValueTest) -> object:  # noqa: C901, PLR0911 -- one return per kind of test
        if isinstance(test, _Equals):
            return self.scalar(test.expected)
        if isinstance(test, _OneOf):
            return [self.scalar(choice) for choice in test.choices]
        if isinstance(test, _Between):
            bounds: dict[str, object] = {"low": test.low, "high": test.high}
            table = {key: bound for key, bound in bounds.items() if bound is not None}
            if not test.include_high:
                table["include_high"] = False
            return {"between": table}
        if isinstance(test, _Matches):
            if test.ignore_case:
                return {"matches": {"pattern": test.pattern, "ignore_case": True}}
            return {"matches": test.pattern}
        if isinstance(test, _Present):
            return {"present": True}
        if isinstance(test, _Not):
            if isinstance(test.inner, _Present):
                return {"absent": True}
            return {"not": self.value_test(test.inner)}
        if isinstance(test, _Both | _Either):
            kind = type(test)
            chain = [test.right]
            left = test.left
            while type(left) is kind:
                chain.append(left.right)
                left = left.left
            chain.append(left)
            tag = "all" if kind is _Both else "any"
            return {tag: [self.value_test(item) for item in reversed(chain)]}
        return self.unknown("value test", test)

    def unknown(self, what: str, value: object) -> NoReturn:
        raise PolicyError(
            owner=self.owner,
            field=what,
            value=value,
            expected=f"a {what} funnelkit can write to a policy file",
        )

    def criterion(self, criterion: CriterionLike) -> dict[str, object]:
        kind = type(criterion)
        if kind is AllOf or kind is AnyOf:
            tag = "all" if kind is AllOf else "any"
            return {tag: [self.criterion(c) for c in criterion.criteria]}  # type: ignore[attr-defined] # a combinator
        if isinstance(criterion, Not):
            return {"not": self.criterion(criterion.criterion)}
        if isinstance(criterion, AtLeast):
            return {
                "at_least": {
                    "n": criterion.n,
                    "of": [self.criterion(c) for c in criterion.criteria],
                }
            }
        if isinstance(criterion, Always):
            return {"always": {}}
        for tag, cls in _BUILT_IN.items():
            if kind is cls:
                return {tag: self.leaf(criterion)}
        name = self.registry._name_of(kind) if self.registry else None  # noqa: SLF001 -- the registry's own table
        if name is None:
            if self.strict:
                raise PolicyError(
                    owner=self.owner,
                    field="criteria",
                    value=criterion,
                    expected=self.registered.format(kind.__qualname__),
                )
            if not attrs.has(kind):
                raise PolicyError(
                    owner=self.owner,
                    field="criteria",
                    value=criterion,
                    expected=f"a built-in criterion, or an attrs class whose fields "
                    f"say what it checks ({kind.__qualname__} is neither)",
                )
            name = f"{kind.__module__}.{kind.__qualname__}"
        return {name: self.fields(criterion, shorten=False)}

    def leaf(self, criterion: object) -> object:
        fields = self.fields(criterion, shorten=True)
        first = _alias(_init_fields(type(criterion))[0])
        if list(fields) == [first] and not isinstance(fields[first], Mapping):
            return fields[first]
        return fields

    def fields(self, value: object, *, shorten: bool) -> dict[str, object]:
        """The fields of an attrs instance; with *shorten*, defaults left out."""
        written: dict[str, object] = {}
        for field in _init_fields(type(value)):
            item = getattr(value, field.name)
            if (
                shorten
                and field.default is not attrs.NOTHING
                and _default(field) == item
            ):
                continue
            if item is None:
                # None is the value left out when it is the default; else
                # it is written as TOML can write it, { null = true }.
                if _default(field) is not None:
                    written[_alias(field)] = {"null": True}
                continue
            data = self.value(item)
            if _nullable(field.type) and _is_null(data):
                # equals(None) where None is a value too: say which.
                data = {"equals": data}
            written[_alias(field)] = data
        return written

    def value(self, item: object) -> object:  # noqa: PLR0911 -- one return per type
        if isinstance(item, timedelta | BusinessDuration):
            return self.duration(item)
        if isinstance(item, ValueTest):
            return self.value_test(item)
        if isinstance(item, Grades):
            return self.grades(item)
        if isinstance(item, date):
            return item.isoformat()
        if isinstance(item, frozenset):
            return self.members(item)
        if isinstance(item, tuple | list):
            # Each member written too (a custom criterion's dates, durations).
            return [self.value(member) for member in item]
        if isinstance(item, str | int | float) or item is None:
            # None: a member of a list (a field's own None is written above).
            return item
        if isinstance(item, Mapping) and all(isinstance(key, str) for key in item):
            # Of a criterion of the user's (in a list, say): a JSON object.
            return {key: self.value(member) for key, member in item.items()}
        if not callable(getattr(item, "check", None)):
            raise PolicyError(
                owner=self.owner,
                field="criteria",
                value=item,
                expected="a field value a policy file can hold: text, a number, "
                "true or false, a duration, a date, a value test, a criterion, or "
                "a list or set of these",
            )
        return self.criterion(item)  # type: ignore[arg-type] # the one kind left

    def members(self, item: frozenset[object]) -> list[object]:
        """A set's members, written, in an order of their own (a set has none)."""
        members = [self.value(member) for member in item]
        if self.by_value:
            # Ordered as the fingerprint writes them: {(1.0, "a"), (1, "b")}
            # and {(1, "a"), (1, "b")} are one set, in one order.
            members = [_by_value(member) for member in members]
        try:
            # Text, or numbers, in their own order (as written before).
            return sorted(members)  # type: ignore[type-var] # TypeError if mixed
        except TypeError:
            # Of a criterion of the user's, members of mixed kinds: in the
            # order of their text.
            return sorted(members, key=_ordered)

    def grades(self, grades: Grades) -> dict[str, object]:
        return {
            "fit": [
                [label] if low is None else [label, low] for label, low in grades.fit
            ],
            "engagement": [
                [label] if low is None else [label, low]
                for label, low in grades.engagement
            ],
        }

    def decay(self, decay: Decay) -> dict[str, object]:
        if isinstance(decay, HalfLife):
            return {"half_life": self.duration(decay.period)}
        if isinstance(decay, LinearDecay):
            return {"linear": self.duration(decay.period)}
        if isinstance(decay, StepDecay):
            return {
                "step": {"every": self.duration(decay.every), "factor": decay.factor}
            }
        return self.unknown("decay", decay)

    def kinds(self, kinds: frozenset[str]) -> object:
        return next(iter(kinds)) if len(kinds) == 1 else sorted(kinds)

    def rule(self, rule: ActivityRule | AttributeRule) -> dict[str, object]:
        if isinstance(rule, AttributeRule):
            data: dict[str, object] = {"name": rule.name, "attribute": rule.attribute}
            data |= {"test": self.value_test(rule.test), "points": rule.points}
            if rule.dimension != "fit":
                data["dimension"] = rule.dimension
            return _present(data)
        data = {"name": rule.name, "kind": self.kinds(rule.kind), "points": rule.points}
        if rule.where is not None:
            data["where"] = {
                key: self.value_test(test) for key, test in rule.where.items()
            }
        data |= {"max_points": rule.max_points, "max_count": rule.max_count}
        data |= {
            "per": rule.per and self.duration(rule.per),
            "within": rule.within and self.duration(rule.within),
        }
        if rule.decay is not ...:
            data["decay"] = "none" if rule.decay is None else self.decay(rule.decay)
        if rule.dimension != "engagement":
            data["dimension"] = rule.dimension
        return _present(data)

    def scoring(self, model: ScoringModel) -> dict[str, object]:
        data: dict[str, object] = {"name": model.name}
        if model.decay is not None:
            data["decay"] = self.decay(model.decay)
        if model.grades != Grades():
            data["grades"] = self.grades(model.grades)
        if model.limits:
            data["limits"] = {
                dim: _limit(low, high) for dim, (low, high) in model.limits.items()
            }
        data["rules"] = [self.rule(rule) for rule in model.rules]
        return data

    def holiday(self, holiday: Holiday) -> object:
        on = holiday.on if isinstance(holiday.on, str) else holiday.on.isoformat()
        if not holiday.hours:
            return on
        return {"on": on, "hours": [str(hours) for hours in holiday.hours]}

    def calendar(self, calendar: BusinessCalendar) -> dict[str, object]:
        data: dict[str, object] = {
            "timezone": calendar.timezone,
            "hours": {
                day: [str(hours) for hours in calendar.hours[day]]
                for day in WEEKDAYS
                if day in calendar.hours
            },
        }
        if calendar.holidays:
            data["holidays"] = [self.holiday(holiday) for holiday in calendar.holidays]
        return _present(
            data | {"country": calendar.country, "subdivision": calendar.subdivision}
        )

    def sla(self, rule: SlaRule) -> dict[str, object]:
        met_by: object = rule.met_by
        if isinstance(met_by, frozenset):
            met_by = self.kinds(met_by)
        elif met_by != EXIT:
            met_by = self.criterion(met_by)  # type: ignore[arg-type] # the one kind left
        data: dict[str, object] = {
            "name": rule.name,
            "stage": rule.stage,
            "within": self.duration(rule.within),
            "met_by": met_by,
            "warn_at": rule.warn_at,
            "calendar": rule.calendar and self.calendar(rule.calendar),
        }
        if isinstance(rule.on_breach, Escalate):
            data["on_breach"] = {"escalate": rule.on_breach.role}
        elif isinstance(rule.on_breach, MoveTo):
            move = {"move_to": rule.on_breach.stage, "reason": rule.on_breach.reason}
            data["on_breach"] = move
        return _present(data)

    def stage(self, stage: Stage) -> dict[str, object]:
        data: dict[str, object] = {"name": stage.name}
        if stage.kind != "open":
            data["kind"] = stage.kind
        return _present(data | {"description": stage.description})

    def transition(self, transition: Transition) -> dict[str, object]:
        source = list(transition.source)
        data: dict[str, object] = {
            "name": transition.name,
            "source": source[0] if len(source) == 1 else source,
            "target": transition.target,
        }
        for flag in ("auto", "requires_reason", "reopen"):
            if getattr(transition, flag):
                data[flag] = True
        if transition.reasons:
            data["reasons"] = list(transition.reasons)
        if transition.guard != Always():
            data["guard"] = self.criterion(transition.guard)
        return _present(data)

    def policy(self, policy: FunnelPolicy) -> dict[str, object]:
        data: dict[str, object] = {
            "name": policy.name,
            "version": policy.version,
            "initial": policy.initial,
        }
        if policy.calendar is not None:
            data["calendar"] = self.calendar(policy.calendar)
        data["stages"] = [self.stage(stage) for stage in policy.stages]
        data["transitions"] = [self.transition(t) for t in policy.transitions]
        data["scoring"] = self.scoring(policy.scoring)
        if policy.slas:
            data["slas"] = [self.sla(rule) for rule in policy.slas]
        return data


_BUILT_IN: dict[str, type] = {
    "score_at_least": ScoreAtLeast,
    "grade_at_least": GradeAtLeast,
    "did_activity": DidActivity,
    "attribute_is": AttributeIs,
    "bant_qualified": BantQualified,
    "in_stage_for": InStageFor,
}


def _ordered(data: object) -> str:
    """The order of written set members: their JSON text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _default(field: attrs.Attribute[Any]) -> object:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type] # attrs.Factory is a class
        return default.factory()  # type: ignore[union-attr] # a Factory, just checked
    return default


def _present(data: dict[str, object]) -> dict[str, object]:
    """*data* without its ``None`` values, which mean "not given"."""
    return {key: value for key, value in data.items() if value is not None}


def _limit(low: float | None, high: float | None) -> object:
    if low is not None and high is not None:
        return [low, high]
    return _present({"low": low, "high": high})


# ------------------------------------------------------------------ public API

_READERS: dict[type, Callable[[_Reader, str, object], Any]] = {
    FunnelPolicy: _Reader.policy,
    Stage: _Reader.stage,
    Transition: _Reader.transition,
    ScoringModel: _Reader.scoring,
    SlaRule: _Reader.sla,
    BusinessCalendar: _Reader.calendar,
    BusinessHours: _Reader.hours,
    Holiday: _Reader.holiday,
    Grades: _Reader.grades,
    Decay: _Reader.decay,
    ValueTest: _Reader.value_test,
    ActivityRule: _Reader.rule,
    AttributeRule: _Reader.rule,
    Escalate: _Reader.on_breach,
    MoveTo: _Reader.on_breach,
}


def policy_data(
    policy: FunnelPolicy,
    *,
    criteria: CriteriaRegistry | None = None,
    strict: bool = True,
    owner: str = "dump_policy",
    by_value: bool = False,
) -> dict[str, object]:
    """Return *policy* as document data (what a policy file holds).

    Not *strict*, an attrs class not registered is written by its import
    name; *owner* names the caller in errors. *by_value* writes each number
    by its value (see :func:`_by_value`), as the fingerprint hashes it.
    """
    writer = _Writer(criteria, strict=strict, owner=owner, by_value=by_value)
    data = writer.policy(policy)
    return _by_value(data) if by_value else data  # type: ignore[return-value] # a dict stays a dict


def _by_value(data: object) -> object:
    """*data* with each whole float written as the int of equal value.

    ``40`` and ``40.0`` (or ``0`` and ``-0.0``) are one number to Python's
    ``==`` and to every threshold, number of points and limit of a policy;
    written as ``40``, they are one text too. True and False stay
    themselves: a value test tells ``true`` from ``1``.
    """
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, dict):
        return {key: _by_value(item) for key, item in data.items()}
    if isinstance(data, list):
        return [_by_value(item) for item in data]
    return data


def write_part(value: object, *, criteria: CriteriaRegistry | None = None) -> object:
    """Return a policy part (a rule, a criterion, a calendar...) as document data."""
    writer = _Writer(criteria, owner="funnelkit.serialization")
    for cls, method in _WRITERS.items():
        if isinstance(value, cls):
            return method(writer, value)
    return writer.criterion(value)  # type: ignore[arg-type] # any other value is a criterion


_WRITERS: dict[type, Callable[[_Writer, Any], object]] = {
    FunnelPolicy: _Writer.policy,
    Stage: _Writer.stage,
    Transition: _Writer.transition,
    ScoringModel: _Writer.scoring,
    ActivityRule: _Writer.rule,
    AttributeRule: _Writer.rule,
    SlaRule: _Writer.sla,
    BusinessCalendar: _Writer.calendar,
    BusinessHours: lambda _, hours: str(hours),
    Holiday: _Writer.holiday,
    Grades: _Writer.grades,
    Decay: _Writer.decay,
    ValueTest: _Writer.value_test,
    Escalate: lambda _, value: {"escalate": value.role},
    MoveTo: lambda _, value: {"move_to": value.stage, "reason": value.reason},
}


#: The types whose data is what a policy file holds (criteria: any Criterion).
POLICY_PARTS: tuple[type, ...] = (*_WRITERS, Criterion)


def read_part(
    data: object,
    cls: type[T],
    *,
    criteria: CriteriaRegistry | None = None,
    source: str | None = None,
) -> T:
    """Build a policy part of type *cls* from document data.

    Raises:
        PolicyFileError: listing every problem with its key path.
    """
    reader = _Reader(criteria)
    method = next(
        (read for kind, read in _READERS.items() if issubclass(cls, kind)),
        _Reader.criterion,
    )
    made = method(reader, "", data)
    if made is not _BAD and cls is not CriterionLike and not isinstance(made, cls):
        made = reader.fail("", f"a {cls.__name__}", data)
    if reader.problems or made is _BAD:
        raise PolicyFileError(source=source, problems=reader.problems)
    return made  # type: ignore[no-any-return] # a cls, built by its reader


def _parse(text: str, fmt: Format, source: str | None) -> object:
    try:
        if fmt == "toml":
            return tomllib.loads(text)
        data = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite,
            object_pairs_hook=_object,
        )
    except RecursionError:
        problem = f"{fmt.upper()} nested at most a few hundred levels deep"
        raise PolicyFileError(
            source=source, problems=[("", f"expected {problem}")]
        ) from None
    except ValueError as error:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        message = f"valid {fmt.upper()}: {error}"
        raise PolicyFileError(
            source=source, problems=[("", f"expected {message}")]
        ) from None
    repeated = _repeated_keys(data)
    if repeated:
        raise PolicyFileError(source=source, problems=repeated)
    return data


class _Repeated(dict[str, object]):
    """A JSON object that gave keys more than once (json keeps the last, silently)."""

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__(pairs)
        counts = Counter(key for key, _ in pairs)
        self.repeated = {key: count for key, count in counts.items() if count > 1}


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object; one giving a key twice is marked, to be refused as TOML is."""
    made = dict(pairs)
    return made if len(made) == len(pairs) else _Repeated(pairs)


def _repeated_keys(data: object) -> list[tuple[str, str]]:
    """The keys given more than once in parsed JSON, in the file's order."""
    problems: list[tuple[str, str]] = []
    stack: list[tuple[str, object]] = [("", data)]
    while stack:  # a loop, not recursion: JSON may nest as deep as it parsed
        path, value = stack.pop()
        items: list[tuple[str, object]] = []
        if isinstance(value, dict):
            if isinstance(value, _Repeated):
                problems += [
                    (
                        _join(path, key),
                        f"expected each key once, found it {count} times",
                    )
                    for key, count in value.repeated.items()
                ]
            items = [(_join(path, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            items = [(_join(path, index), item) for index, item in enumerate(value)]
        stack += reversed(items)
    return problems


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number a policy accepts")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


def load_policy(
    source: str | os.PathLike[str],
    *,
    format: Format | None = None,  # noqa: A002 -- the word users know
    criteria: CriteriaRegistry | None = None,
) -> FunnelPolicy:
    r"""Read a policy file (TOML or JSON) into a :class:`FunnelPolicy`.

    Args:
        source: A path (a :class:`pathlib.Path`, or a string naming a file),
            or the text of a policy: a string is text when *format* is given,
            or when it holds a line break or starts with ``{`` or ``[``.
            A file is UTF-8; a byte order mark at its start is skipped.
        format: ``"toml"`` or ``"json"``; by default a file's suffix decides,
            and text starting with ``{`` is JSON.
        criteria: The custom criteria the file may name.

    Raises:
        PolicyFileError: naming the file, and every problem in it with its
            key path (``transitions[2].guard.all[1].score_at_least.points``),
            what was expected and what was found. Unknown keys are problems
            too, with the closest known key as a suggestion.
        PolicyError: *source* is neither a path nor text, a path's suffix
            is not ``.toml`` or ``.json`` (and no *format* says which),
            *format* is not ``"toml"`` or ``"json"``, or *criteria* is not
            a :class:`CriteriaRegistry`.

    >>> from funnelkit import dump_policy, load_policy
    >>> from funnelkit.policies import b2b_saas
    >>> load_policy(dump_policy(b2b_saas())) == b2b_saas()
    True
    """
    _check_registry("load_policy", criteria)
    name, text, fmt = _source(source, format)
    if len(text) > MAX_POLICY_BYTES:
        raise _too_large(name, "more")
    size = len(text.encode("utf-8", "backslashreplace"))  # a lone surrogate: \udc80
    if size > MAX_POLICY_BYTES:
        raise _too_large(name, f"{size:,}")
    data = _parse(text, fmt, name)
    return read_part(data, FunnelPolicy, criteria=criteria, source=name)


def _too_large(source: str | None, found: str) -> PolicyFileError:
    expected = f"expected at most {MAX_POLICY_BYTES:,} bytes, found {found}"
    return PolicyFileError(source=source, problems=[("", expected)])


def _check_policy(owner: str, field: str, value: object) -> None:
    if not isinstance(value, FunnelPolicy):
        raise PolicyError(
            owner=owner, field=field, value=value, expected="a funnelkit.FunnelPolicy"
        )


def _check_registry(owner: str, value: object) -> None:
    if value is not None and not isinstance(value, CriteriaRegistry):
        raise PolicyError(
            owner=owner,
            field="criteria",
            value=value,
            expected="a funnelkit.CriteriaRegistry, or None",
        )


def _check_format(owner: str, fmt: object) -> None:
    if fmt not in ("toml", "json"):  # a tuple: an unhashable value is refused too
        raise PolicyError(
            owner=owner, field="format", value=fmt, expected="'toml' or 'json'"
        )


def _source(source: object, fmt: Format | None) -> tuple[str | None, str, Format]:
    if fmt is not None:
        _check_format("load_policy", fmt)
    if isinstance(source, str) and (
        fmt is not None or "\n" in source or source.lstrip()[:1] in {"{", "["}
    ):
        sniffed: Format = "json" if source.lstrip().startswith("{") else "toml"
        return None, source, fmt or sniffed
    if not isinstance(source, str | os.PathLike):
        raise PolicyError(
            owner="load_policy",
            field="source",
            value=source,
            expected="a path or the text of a policy",
        )
    path = Path(source)
    suffix = path.suffix.lower().lstrip(".")
    if fmt is None and suffix not in {"toml", "json"}:
        raise PolicyError(
            owner="load_policy",
            field="source",
            value=str(source),
            expected="a file ending in .toml or .json, or format='toml' or 'json'",
        )
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            # Before decoding: the cut may fall inside a character.
            raise _too_large(str(path), "more")
        # utf-8-sig: a byte order mark (Windows editors write one) is no key.
        text = raw.decode("utf-8-sig")
    except OSError as error:
        raise PolicyFileError(
            source=str(path),
            problems=[("", f"expected a readable file: {error.strerror}")],
        ) from None
    except UnicodeDecodeError as error:
        # raw is bound: only its decoding raises this.
        line = raw.count(b"\n", 0, error.start) + 1
        byte = raw[error.start : error.start + 1].hex()
        problem = (
            f"expected UTF-8 text, found the byte 0x{byte} on line {line} "
            "(save the file as UTF-8)"
        )
        raise PolicyFileError(source=str(path), problems=[("", problem)]) from None
    return str(path), text, fmt or suffix  # type: ignore[return-value] # toml or json, checked


def dump_policy(
    policy: FunnelPolicy,
    format: Format = "toml",  # noqa: A002 -- the word users know
    *,
    criteria: CriteriaRegistry | None = None,
) -> str:
    """Write *policy* as TOML or JSON text that :func:`load_policy` reads back equal.

    Defaults are left out, so the file says what differs from them. The same
    policy always gives the same text, byte for byte.

    Raises:
        PolicyError: the policy holds a criterion that is neither built in
            nor in *criteria*, or a number beyond ±:data:`MAX_NUMBER`, which
            :func:`load_policy` would refuse; or *policy* is not a
            :class:`FunnelPolicy`, *format* not ``"toml"`` or ``"json"``,
            or *criteria* not a :class:`CriteriaRegistry`.
    """
    _check_policy("dump_policy", "policy", policy)
    _check_format("dump_policy", format)
    _check_registry("dump_policy", criteria)
    data = policy_data(policy, criteria=criteria)
    _check_numbers(data, "")
    if format == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return _toml.dumps(data)


def _check_numbers(data: object, path: str) -> None:
    """Refuse to write a number that reading would refuse."""
    if isinstance(data, Mapping):
        for key, item in data.items():
            _check_numbers(item, _join(path, key))
    elif isinstance(data, list):
        for position, item in enumerate(data):
            _check_numbers(item, _join(path, position))
    elif (
        isinstance(data, int | float)
        and not isinstance(data, bool)
        and not abs(data) <= MAX_NUMBER  # NaN is not either
    ):
        raise PolicyError(
            owner="dump_policy",
            field=path,
            value=data,
            expected=f"a finite number from -{MAX_NUMBER:,} to {MAX_NUMBER:,}, "
            "as a policy file holds",
        )


def fingerprint(policy: FunnelPolicy) -> str:
    """A SHA-256 of the policy's content: equal policies, equal fingerprints.

    The content is the policy file's data with numbers by their value, so a
    threshold of ``40.0`` hashes as ``40`` does.
    """
    data = policy_data(
        policy, strict=False, owner="FunnelPolicy.fingerprint", by_value=True
    )
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------- diffs


@attrs.frozen
class PolicyChange:
    """One difference between two policies, in words and as data.

    Attributes:
        path: The key path of the change in the policy file
            (``"transitions[1].guard"``), in the newer policy's order.
        before: The older value as file data (``None``: added).
        after: The newer value as file data (``None``: removed).
        description: The change in words, for a reviewer:
            ``"transition 'marketing qualified': guard 'engagement score at
            least 40' -> 'engagement score at least 50'"``.
    """

    path: str = attrs.field(validator=instance_of(str, "a key path (a string)"))
    before: object
    after: object
    description: str = attrs.field(validator=non_empty_str)

    def __str__(self) -> str:
        return self.description


def _words(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _criterion_words(data: object) -> str:
    try:
        criterion = read_part(data, CriterionLike)  # type: ignore[type-abstract] # a protocol, read by tag
    except PolicyError:
        return _words(data)  # a custom criterion this diff has no registry for
    return repr(describe(criterion))


class _Differ:
    """Compares the file data of two policies, part by part."""

    def __init__(self, old: FunnelPolicy, new: FunnelPolicy) -> None:
        self.changes: list[PolicyChange] = []
        self.labels = {
            "stages": ([s.name for s in old.stages], [s.name for s in new.stages]),
            "transitions": (
                [t.label for t in old.transitions],
                [t.label for t in new.transitions],
            ),
            "rules": (
                [r.label for r in old.scoring.rules],
                [r.label for r in new.scoring.rules],
            ),
            "slas": ([r.name for r in old.slas], [r.name for r in new.slas]),
        }

    def add(self, path: str, before: object, after: object, text: str) -> None:
        self.changes.append(PolicyChange(path, before, after, text))

    def table(
        self, path: str, context: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> None:
        for key in [*old, *(k for k in new if k not in old)]:
            where = _join(path, key)
            if key not in new:
                self.add(
                    where,
                    old[key],
                    None,
                    f"{context}{key} removed (was {self.show(key, old[key])})",
                )
            elif key not in old:
                self.add(
                    where,
                    None,
                    new[key],
                    f"{context}{key} set to {self.show(key, new[key])}",
                )
            else:
                self.value(where, context, key, old[key], new[key])

    def show(self, key: str, value: object) -> str:
        return (
            _criterion_words(value)
            if key in {"guard", "met_by"} and isinstance(value, Mapping)
            else _words(value)
        )

    def value(
        self, path: str, context: str, key: str, old: object, new: object
    ) -> None:
        if _same_data(old, new):
            return
        if key in self.labels and isinstance(old, list) and isinstance(new, list):
            self.named(path, key, old, new)
        elif key == "scoring" and isinstance(old, Mapping) and isinstance(new, Mapping):
            self.table(path, "scoring model: ", old, new)
        elif (
            key == "calendar"
            and not context
            and isinstance(old, Mapping)
            and isinstance(new, Mapping)
        ):
            self.table(path, "calendar: ", old, new)
        else:
            before, after = self.show(key, old), self.show(key, new)
            text = f"{context}{key} {before} -> {after}"
            if before == after:
                # Alike in words, not in the file (40 and 40.0, true and 1):
                # say how each is written, or the change reads as none.
                text += f" (written {_written(old)} -> {_written(new)})"
            self.add(path, old, new, text)

    def named(self, path: str, key: str, old: list[Any], new: list[Any]) -> None:
        noun = {
            "stages": "stage",
            "transitions": "transition",
            "rules": "scoring rule",
            "slas": "SLA",
        }[key]
        old_labels, new_labels = self.labels[key]
        before = dict(zip(old_labels, old, strict=True))
        after = dict(zip(new_labels, new, strict=True))
        for position, label in enumerate(new_labels):
            where = _join(path, position)
            if label not in before:
                self.add(where, None, after[label], f"{noun} {label!r} added")
            else:  # a stage, transition, rule or SLA: a table on both sides
                self.table(where, f"{noun} {label!r}: ", before[label], after[label])
        for label in old_labels:
            if label not in after:
                self.add(path, before[label], None, f"{noun} {label!r} removed")
        kept_old = [label for label in old_labels if label in after]
        kept_new = [label for label in new_labels if label in before]
        if kept_old != kept_new:
            self.add(
                path, kept_old, kept_new, f"{key} reordered: {', '.join(kept_new)}"
            )


def _written(value: object) -> str:
    """*value* (policy data) as a policy's JSON file writes it."""
    return json.dumps(value, ensure_ascii=False, default=repr)


def _same_data(old: object, new: object) -> bool:
    """Whether two parts of policy data are the same, types included.

    Python finds ``True == 1 == 1.0``; a rule testing ``1`` where it tested
    ``true`` scores otherwise, and a file writes each otherwise.
    """
    if type(old) is not type(new):
        return False
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(
            _same_data(old[key], new[key]) for key in old
        )
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return len(old) == len(new) and all(
            _same_data(one, other) for one, other in zip(old, new, strict=True)
        )
    return old == new


def diff_policies(old: FunnelPolicy, new: FunnelPolicy) -> tuple[PolicyChange, ...]:
    """List what changed from *old* to *new*, in words a reviewer reads.

    Stages, transitions, scoring rules and SLAs are matched by name (or
    label), so a change shows where it happened; a reordering is a change
    too (automatic transitions are tried in order). A guard or an SLA's
    criterion is shown as the criterion says itself.

    Raises:
        PolicyError: *old* or *new* is not a :class:`FunnelPolicy`, or one
            holds a criterion that is not an attrs class.

    >>> from funnelkit import ScoreAtLeast, Transition, diff_policies
    >>> from funnelkit.policies import b2b_saas
    >>> old = b2b_saas()
    >>> lowered = Transition(
    ...     source="lead",
    ...     target="mql",
    ...     guard=ScoreAtLeast(30, "engagement") & ScoreAtLeast(30, "fit"),
    ...     auto=True,
    ...     name="marketing qualified",
    ... )
    >>> new = attrs.evolve(
    ...     old,
    ...     version=2,
    ...     transitions=[lowered if t.name == lowered.name else t for t in old.transitions],
    ... )
    >>> for change in diff_policies(old, new):
    ...     print(change)
    version 1 -> 2
    transition 'marketing qualified': guard 'all of: engagement score at least 40; fit score at least 30' -> 'all of: engagement score at least 30; fit score at least 30'
    """  # noqa: E501 -- a doctest output line cannot be wrapped
    _check_policy("diff_policies", "old", old)
    _check_policy("diff_policies", "new", new)
    differ = _Differ(old, new)
    old_data = policy_data(old, strict=False, owner="diff_policies")
    differ.table(
        "", "", old_data, policy_data(new, strict=False, owner="diff_policies")
    )
    return tuple(differ.changes)
