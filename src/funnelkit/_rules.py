"""Scoring rules: points for what a lead is (attributes) and does (activities)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from types import EllipsisType
from typing import Any

import attrs

from funnelkit._decay import Decay
from funnelkit._duration import format_duration
from funnelkit._frozen import FrozenMap
from funnelkit._lead import Lead
from funnelkit._predicates import MISSING, ValueTest, _Missing, as_test
from funnelkit._validators import Scalar, is_finite_number, is_unordered
from funnelkit.errors import PolicyError, ValidationError, _shown

__all__ = ["ActivityRule", "AttributeRule", "email_domain", "lead_value"]

_ZERO = timedelta(0)
_LEAD_FIELDS = frozenset({"id", "email", "source", "owner"})
_BANT_FIELDS = frozenset({"budget", "authority", "need", "timeline"})


def number_text(value: float) -> str:
    """Write a number in full, no exponent and no digit lost: ``1e9`` as ``1000000000``.

    A float is written as the shortest decimal that reads back as it
    (``repr``), spelt out in positional notation.

    >>> number_text(1e9), number_text(12345.67), number_text(5e-7), number_text(-3.0)
    ('1000000000', '12345.67', '0.0000005', '-3')
    """
    if type(value) is int:
        return str(value)
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed_text(value: float) -> str:
    """:func:`number_text` with a sign always (``+5``, ``-25``)."""
    text = number_text(value)
    return text if text.startswith("-") else f"+{text}"


def _owner(instance: Any) -> str:  # noqa: ANN401 -- any rule
    name = getattr(instance, "name", None)
    return (
        f"{type(instance).__name__} {_shown(name)}" if name else type(instance).__name__
    )


def _fail(instance: object, field: str, value: object, expected: str) -> PolicyError:
    return PolicyError(
        owner=_owner(instance), field=field, value=value, expected=expected
    )


#: The largest number of points a rule, cap or limit may name: scores are
#: whole numbers of millionths, each exact in a float up to 2**33 points
#: (some 8.5 billion), and a rule's points times a count up to 2**31 (some
#: 2.1 billion), far beyond any real score.
MAX_POINTS = 1e9


def is_points(value: object) -> bool:
    """Tell whether *value* is a number of points (finite, at most MAX_POINTS)."""
    return is_finite_number(value) and abs(value) <= MAX_POINTS


def _points(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not is_points(value):
        raise _fail(
            instance,
            attribute.name,
            value,
            "a number of points between -1e9 and 1e9",
        )


def _optional_positive_points(
    instance: object, attribute: attrs.Attribute[float | None], value: object
) -> None:
    if value is not None:
        _points(instance, attribute, value)
        if value <= 0:  # type: ignore[operator] # a number, checked just above
            raise _fail(instance, attribute.name, value, "a number of points above 0")


def _optional_period(
    instance: object, attribute: attrs.Attribute[timedelta | None], value: object
) -> None:
    if value is not None and (not isinstance(value, timedelta) or value <= _ZERO):
        raise _fail(
            instance, attribute.name, value, "a timedelta longer than zero, or None"
        )


def _name(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _fail(instance, attribute.name, value, "a non-empty name, or None")


def _dimension(
    instance: object, attribute: attrs.Attribute[str], value: object
) -> None:
    if not isinstance(value, str) or not value.strip() or value == "total":
        raise _fail(
            instance,
            attribute.name,
            value,
            "a dimension name such as 'fit' or 'engagement' ('total' is their sum)",
        )


def kind_set(value: object) -> Any:  # noqa: ANN401 -- anything, for the validator
    """Return one activity kind or several as a frozenset (an attrs converter)."""
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Iterable):
        return frozenset(value)
    return value  # for the validator to reject


def set_repr(value: object) -> str:
    """Repr a frozenset of kinds with its kinds sorted (an attrs field repr).

    A set's own repr follows its iteration order, which changes from process
    to process with the hash seed; anything else keeps its repr.
    """
    if isinstance(value, frozenset):
        return f"frozenset({{{', '.join(map(repr, sorted(value)))}}})"
    return repr(value)


def is_kind_set(value: object) -> bool:
    """Tell whether *value* is a non-empty frozenset of kind names."""
    return (
        isinstance(value, frozenset)
        and bool(value)
        and all(isinstance(kind, str) and kind.strip() for kind in value)
    )


def _check_kinds(
    instance: ActivityRule, attribute: attrs.Attribute[frozenset[str]], value: object
) -> None:
    if not is_kind_set(value):
        raise _fail(instance, "kind", value, "an activity kind, or a set of kinds")


def _where(value: object) -> Any:  # noqa: ANN401 -- anything, for the validator
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return FrozenMap(
            {
                key: as_test(test, f"where[{key!r}]", "ActivityRule")
                for key, test in value.items()
            }
        )
    return value  # None, or for the validator to reject


def _check_where(
    instance: ActivityRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, FrozenMap) or not all(key.strip() for key in value):
        raise _fail(
            instance,
            "where",
            value,
            "a mapping of property names to tests or values, or None",
        )


def _max_count(
    instance: ActivityRule, attribute: attrs.Attribute[int | None], value: object
) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise _fail(
            instance, "max_count", value, "a whole number of 1 or more, or None"
        )


def _per(
    instance: ActivityRule, attribute: attrs.Attribute[timedelta | None], value: object
) -> None:
    _optional_period(instance, attribute, value)
    if value is not None and instance.max_count is None:
        raise _fail(instance, "per", value, "None unless max_count is set")


def _decay(
    instance: ActivityRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None and value is not Ellipsis and not isinstance(value, Decay):
        raise _fail(
            instance,
            "decay",
            value,
            "HalfLife(...), StepDecay(...), LinearDecay(...), None for no decay, "
            "or ... for the model's decay",
        )


@attrs.frozen
class ActivityRule:
    """Points for activities of a kind, with optional filters, caps, window and decay.

    Args:
        kind: The activity kind, or a set of kinds, the rule counts.
        points: Points per counted activity (negative for bad signs).
        where: Tests on the activity's properties, by property name: a value
            test (``one_of("ebook", "whitepaper")``), a plain value (equality)
            or a list of values (``one_of``). All must pass.
        max_points: Caps the size of the rule's total (after decay): at most
            ``max_points`` for a positive rule, at least ``-max_points`` for a
            negative one.
        max_count: A frequency cap: at most this many activities count, in
            time order (per window of ``per`` if given, else ever).
        per: The sliding window of the frequency cap: with ``max_count=3`` and
            ``per=timedelta(days=1)``, no 24 hours hold more than 3 counted
            activities.
        within: Only activities at most this old at the time of scoring count.
        decay: How points fade with age; ``...`` (the default) uses the
            model's decay, ``None`` means no decay for this rule.
        dimension: The score this rule adds to (``"engagement"`` by default).
        name: The rule's name in explanations; derived from the kind and
            filters when omitted.

    >>> from datetime import timedelta
    >>> from funnelkit import ActivityRule, one_of
    >>> ActivityRule("content_download", 10, where={"asset": one_of("ebook", "whitepaper")}).label
    "content_download where asset is one of 'ebook', 'whitepaper'"
    """  # noqa: E501 -- a doctest output line cannot be wrapped

    kind: frozenset[str] = attrs.field(
        converter=kind_set, validator=_check_kinds, repr=set_repr
    )
    points: float = attrs.field(validator=_points)
    where: Mapping[str, ValueTest] | None = attrs.field(
        kw_only=True, default=None, converter=_where, validator=_check_where
    )
    max_points: float | None = attrs.field(
        kw_only=True, default=None, validator=_optional_positive_points
    )
    max_count: int | None = attrs.field(
        kw_only=True, default=None, validator=_max_count
    )
    per: timedelta | None = attrs.field(kw_only=True, default=None, validator=_per)
    within: timedelta | None = attrs.field(
        kw_only=True, default=None, validator=_optional_period
    )
    decay: Decay | EllipsisType | None = attrs.field(
        kw_only=True, default=..., validator=_decay
    )
    dimension: str = attrs.field(
        kw_only=True, default="engagement", validator=_dimension
    )
    name: str | None = attrs.field(kw_only=True, default=None, validator=_name)

    @property
    def label(self) -> str:
        """The rule's name, or one derived from its kinds and filters."""
        if self.name is not None:
            return self.name
        text = " or ".join(sorted(self.kind))
        return f"{text} where {self._where_text()}" if self.where else text

    def _where_text(self) -> str:
        where = self.where or {}
        return ", ".join(f"{key} {test.describe()}" for key, test in where.items())

    def describe(self) -> str:
        """Return the rule in words, options included."""
        parts = [f"{signed_text(self.points)} per {' or '.join(sorted(self.kind))}"]
        if self.where:
            parts.append(f"where {self._where_text()}")
        if self.max_count is not None:
            window = f" per {format_duration(self.per)}" if self.per else ""
            parts.append(f"at most {self.max_count}{window}")
        if self.within is not None:
            parts.append(f"within {format_duration(self.within)}")
        if self.max_points is not None:
            parts.append(f"capped at {number_text(self.max_points)}")
        return ", ".join(parts)

    def accepts(self, properties: Mapping[str, Scalar]) -> bool:
        """Tell whether an activity with *properties* passes the ``where`` tests."""
        if self.where is None:
            return True
        return all(
            test(properties.get(key, MISSING)) for key, test in self.where.items()
        )


def path_expected(value: object) -> str | None:
    """What a path to a lead value should be, when *value* is not one; else None.

    The paths :func:`lead_value` reads: an attribute name, a lead field,
    ``email.domain``, ``bant.<answer>`` or ``attributes.<name>``.
    """
    if not isinstance(value, str) or not value.strip():
        return "an attribute name or a dotted path"
    head, _, rest = value.partition(".")
    if head == "bant" and rest not in _BANT_FIELDS:
        return "bant.budget, bant.authority, bant.need or bant.timeline"
    if head == "email" and rest not in {"", "domain"}:
        return "email or email.domain"
    return None


def _attribute(
    instance: AttributeRule, attribute: attrs.Attribute[str], value: object
) -> None:
    expected = path_expected(value)
    if expected is not None:
        raise _fail(instance, "attribute", value, expected)


def to_value_test(value: object) -> Any:  # noqa: ANN401 -- anything, for the validator
    """Return *value* as a value test when it can be one (an attrs converter).

    Anything else comes back unchanged, for the field's validator to reject
    with the name of its owner.
    """
    if isinstance(value, ValueTest):
        return value
    try:
        return as_test(value, "test", "AttributeRule")
    except PolicyError:
        return value


def _check_test(
    instance: AttributeRule, attribute: attrs.Attribute[Any], value: object
) -> None:
    if not isinstance(value, ValueTest):
        raise _fail(
            instance,
            "test",
            value,
            "a value test (equals, one_of, between, matches, present, absent), "
            "a value, or a list of values",
        )


@attrs.frozen
class AttributeRule:
    """Points for what a lead is: an attribute that passes a test.

    Args:
        attribute: What to test: an attribute name (``"industry"``), a lead
            field (``"source"``, ``"owner"``, ``"email"``), ``"email.domain"``,
            ``"bant.budget"`` and the other BANT answers, or
            ``"attributes.<name>"`` for an attribute whose name is also a
            lead field.
        test: A value test, or a value (equality), or a list of values
            (``one_of``).
        points: Points when the test passes (negative for a bad fit).
        dimension: The score this rule adds to (``"fit"`` by default).
        name: The rule's name in explanations; derived when omitted.

    A lead without the attribute does not match; neither does a value of the
    wrong type for the test (text tested with ``between``), and the score's
    explanation says so.

    >>> from funnelkit import AttributeRule, between
    >>> AttributeRule("employees", between(50, 1000), 15).label
    'employees between 50 and 1000'
    """

    attribute: str = attrs.field(validator=_attribute)
    test: ValueTest = attrs.field(converter=to_value_test, validator=_check_test)
    points: float = attrs.field(validator=_points)
    dimension: str = attrs.field(kw_only=True, default="fit", validator=_dimension)
    name: str | None = attrs.field(kw_only=True, default=None, validator=_name)

    @property
    def label(self) -> str:
        """The rule's name, or one derived from its attribute and test."""
        return (
            self.name
            if self.name is not None
            else f"{self.attribute} {self.test.describe()}"
        )

    def evaluate(self, lead: Lead) -> tuple[bool, str]:
        """Return whether *lead* passes, and a sentence saying why."""
        if not isinstance(lead, Lead):
            raise ValidationError(
                owner=_owner(self),
                field="lead",
                value=lead,
                expected="a funnelkit.Lead",
            )
        passed, why = self.test.evaluate(lead_value(lead, self.attribute))
        return passed, f"{self.attribute} {why}"


def email_domain(email: str | None) -> str | None:
    """Return the domain of *email*, lowercased, or ``None``.

    >>> email_domain("Ana@ACME.example")
    'acme.example'
    """
    if type(email) is not str:
        if email is None:
            return None
        if not isinstance(email, str):
            raise ValidationError(
                field="email", value=email, expected="an email address (a str), or None"
            )
    if not email or "@" not in email:
        return None
    return email.rpartition("@")[2].lower()


def lead_value(lead: Lead, path: str) -> Scalar | _Missing:
    """Return the value at *path* in *lead*, or ``MISSING``.

    Lead fields (``id``, ``email``, ``source``, ``owner``) come first, then
    ``email.domain``, ``bant.<answer>`` (a timeline as an ISO date string) and
    ``attributes.<name>``; any other name is looked up in the attributes.
    """
    return value_getter(path)(lead)


@functools.cache
def value_getter(path: str) -> Callable[[Lead], Scalar | _Missing]:
    """Return a function that reads *path* from a lead, as :func:`lead_value` does.

    Scorers resolve each path once, then read it from every lead.
    """
    name = attribute_name(path)
    if name is not None:
        # A lead's attributes are a FrozenMap: read its dict, without a call.
        return lambda lead: lead.attributes._data.get(name, MISSING)  # type: ignore[attr-defined] # noqa: SLF001
    if path in _LEAD_FIELDS:
        return operator.attrgetter(path)
    if path == "email.domain":
        return lambda lead: email_domain(lead.email)
    if path == "bant.timeline":
        return _timeline
    rest = path.partition(".")[2]  # bant.<an answer>
    return lambda lead: getattr(lead.bant, rest)


def attribute_name(path: str) -> str | None:
    """The name of the attribute *path* reads from a lead (see lead_value).

    None when it reads something else: a lead field, ``email.domain`` or a
    BANT answer.
    """
    if "." not in path:
        return None if path in _LEAD_FIELDS else path
    head, _, rest = path.partition(".")
    if (head == "email" and rest == "domain") or (
        head == "bant" and rest in _BANT_FIELDS
    ):
        return None
    return rest if head == "attributes" and rest else path


def _timeline(lead: Lead) -> str | None:
    timeline = lead.bant.timeline
    return None if timeline is None else timeline.isoformat()


Rule = ActivityRule | AttributeRule


def rule_sequence(value: Iterable[Rule]) -> tuple[Rule, ...]:
    """Return *value* as a tuple of rules (an attrs converter).

    A list keeps its order; a set has none of its own (its iteration order
    changes from process to process): its rules are sorted by label.
    """
    candidate: object = value  # callers may pass anything at run time
    if isinstance(candidate, Iterable) and not isinstance(candidate, str | Mapping):
        rules = tuple(candidate)
        if is_unordered(candidate) and all(
            isinstance(rule, ActivityRule | AttributeRule) for rule in rules
        ):
            return tuple(sorted(rules, key=_label))
        return rules
    return candidate  # type: ignore[return-value] # for the validator to reject


def _label(rule: Rule) -> str:
    return rule.label
