"""attrs validators shared by funnelkit's value types.

Each raises :class:`~funnelkit.errors.ValidationError` (or
:class:`~funnelkit.errors.NaiveDatetimeError`) naming the type, the field and
the value, never a bare ``TypeError`` from deep inside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, ItemsView, Iterable, KeysView, Mapping
from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from types import MemberDescriptorType
from typing import TYPE_CHECKING, Any, NoReturn, TypeGuard, TypeVar

import attrs

from funnelkit._time import is_zone_name, require_aware, utc_micros
from funnelkit.errors import PolicyError, ValidationError

__all__ = [
    "SCALAR_TYPES",
    "Scalar",
    "at_most",
    "aware_datetime",
    "check_scalar",
    "count",
    "counts",
    "duration",
    "ends_after_start",
    "filler",
    "finite",
    "is_finite",
    "is_finite_number",
    "is_unordered",
    "non_empty_str",
    "non_negative",
    "optional",
    "optional_bool",
    "optional_date",
    "optional_duration",
    "optional_non_empty_str",
    "optional_non_negative",
    "optional_share",
    "policy_name",
    "reject",
    "scalar_mapping",
    "share",
    "slot_of",
    "unchecked",
    "zone_name",
]

#: The values a lead attribute or an activity property may hold: JSON scalars.
Scalar = str | int | float | bool | None
SCALAR_TYPES = (str, int, float, bool, type(None))

_T = TypeVar("_T", bound=attrs.AttrsInstance)

if TYPE_CHECKING:
    _Attribute = attrs.Attribute[Any]
    _Validator = Callable[[Any, _Attribute, Any], None]


def reject(
    instance: object,
    attribute: _Attribute,
    value: object,
    expected: str,
    *,
    error: type[ValidationError] = ValidationError,
) -> NoReturn:
    """Raise *error* naming *instance*'s type, the field, the value, and *expected*."""
    raise error(
        owner=type(instance).__name__,
        field=attribute.name,
        value=value,
        expected=expected,
    )


def check_count(value: object, *, owner: str, field: str, expected: str) -> int:
    """Return *value* if a whole number (not a bool) of 1 or more; else refuse it."""
    if type(value) is not int or value < 1:
        raise ValidationError(owner=owner, field=field, value=value, expected=expected)
    return value


def non_empty_str(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a string with at least one non-space character."""
    if not isinstance(value, str) or not value.strip():
        reject(instance, attribute, value, "a non-empty string")


def policy_name(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a name of a policy's part: non-empty, no outer spaces (PolicyError)."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        reject(
            instance,
            attribute,
            value,
            "a non-empty name without outer spaces",
            error=PolicyError,
        )


def is_items(value: object) -> TypeGuard[Iterable[Any]]:
    """Whether *value* iterates over items: not text, bytes or a mapping's keys."""
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping)


def as_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    """A tuple of the items (a list, say); anything else as given, for the validator."""
    given: object = value  # checked at run time, whatever the types say
    if not is_items(given):
        return given  # type: ignore[return-value] # for the validator to refuse
    return tuple(given)


def check_items(
    value: object, *, field: str, expected: str, owner: str | None = None
) -> Iterable[Any]:
    """Return *value* if it iterates over items (see is_items); else refuse it."""
    if not is_items(value):
        raise ValidationError(owner=owner, field=field, value=value, expected=expected)
    return value


def instance_of(cls: type, expected: str) -> _Validator:
    """Accept an instance of *cls* (described as *expected*) only."""

    def check(instance: object, attribute: _Attribute, value: object) -> None:
        if not isinstance(value, cls):
            reject(instance, attribute, value, expected)

    return check


def items_of(cls: type, expected: str) -> _Validator:
    """Accept a tuple of instances of *cls* (described as *expected*) only."""

    def check(instance: object, attribute: _Attribute, value: object) -> None:
        if not isinstance(value, tuple) or not all(
            isinstance(item, cls) for item in value
        ):
            reject(instance, attribute, value, expected)

    return check


def flag(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept ``True`` or ``False`` only (not 0, 1 or "yes")."""
    if type(value) is not bool:
        reject(instance, attribute, value, "True or False")


def optional(validator: _Validator) -> _Validator:
    """Accept ``None`` or whatever *validator* accepts."""

    def check(instance: object, attribute: _Attribute, value: object) -> None:
        if value is not None:
            validator(instance, attribute, value)

    return check


optional_non_empty_str = optional(non_empty_str)


def aware_datetime(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a timezone-aware datetime only."""
    require_aware(value, field=attribute.name, owner=type(instance).__name__)


def optional_bool(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept ``True``, ``False`` or ``None`` (not 0, 1 or "yes")."""
    if value is not None and type(value) is not bool:
        reject(instance, attribute, value, "True, False or None")


def optional_date(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a ``date`` (not a ``datetime``) or ``None``."""
    if value is not None and (type(value) is not date):
        reject(instance, attribute, value, "a datetime.date (not a datetime) or None")


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """Tell whether *value* is an int or a float that a float holds, not a bool.

    ``math.isfinite`` raises ``OverflowError`` for a whole number beyond a
    float's range (``10**400``): such a number is not finite here.
    """
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and is_finite(value)
    )


# Python writes and reads whole numbers of up to 4,300 digits by default
# (sys.get_int_max_str_digits): a larger one could not be written to JSON.
_HUGE = 10**4300


def is_finite(value: float) -> bool:
    """Whether the number *value* is finite as a float holds it.

    :func:`math.isfinite` raises ``OverflowError`` for an int beyond a
    float's range (some 1.8e308), which no score, bound or limit can use: such
    an int is not finite here.
    """
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def count(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a whole number (not a bool), 0 or more: a report's count."""
    if type(value) is not int or value < 0:
        reject(instance, attribute, value, "a whole number, 0 or more")


def counts(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a mapping of non-empty names to counts (see count)."""
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and key and type(item) is int and item >= 0
        for key, item in value.items()
    ):
        reject(
            instance,
            attribute,
            value,
            "a mapping of non-empty names to whole numbers, 0 or more",
        )


def finite(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a finite number (not a bool): a score, a weight."""
    if not is_finite_number(value):
        reject(instance, attribute, value, "a finite number")


def non_negative(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a finite number (not a bool), 0 or more: a lift, a run rate."""
    if not is_finite_number(value) or value < 0:
        reject(instance, attribute, value, "a finite number, 0 or more")


def share(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a number from 0 to 1 (not a bool): a rate, a chance, an AUC."""
    if not is_finite_number(value) or not 0 <= value <= 1:
        reject(instance, attribute, value, "a number from 0 to 1")


def duration(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a ``timedelta`` of 0 or more: a time in a stage, a time to convert."""
    if type(value) is not timedelta or value < timedelta(0):
        reject(instance, attribute, value, "a datetime.timedelta, 0 or more")


optional_duration = optional(duration)
optional_non_negative = optional(non_negative)
optional_share = optional(share)


def zone_name(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept the name of a zone in this machine's IANA database (see is_zone_name)."""
    if not is_zone_name(value):
        reject(instance, attribute, value, "an IANA time zone name")


def ends_after_start(instance: Any) -> None:  # noqa: ANN401 -- a report with start and end
    """Refuse a report whose ``end`` is not after its ``start`` (naming ``end``)."""
    if utc_micros(instance.end) <= utc_micros(instance.start):
        raise ValidationError(
            owner=type(instance).__name__,
            field="end",
            value=instance.end,
            expected="an instant after start",
        )


def at_most(
    instance: object, field: str, value: float, bound_field: str, bound: float
) -> None:
    """Refuse *value* (of *field*) if above *bound* (of *bound_field*)."""
    if value > bound:
        raise ValidationError(
            owner=type(instance).__name__,
            field=field,
            value=value,
            expected=f"no more than {bound_field} ({bound!r})",
        )


def is_unordered(value: object) -> TypeGuard[AbstractSet[Any]]:
    """Whether *value* is a set, whose iteration order changes from process to process.

    A dict's keys (or items) are a set too, but they keep the dict's order:
    they are read in that order, as a list is.
    """
    return isinstance(value, AbstractSet) and not isinstance(
        value, KeysView | ItemsView
    )


def check_scalar(value: object) -> str | None:
    """Return why *value* is not a JSON scalar, or ``None`` if it is one."""
    if not isinstance(value, SCALAR_TYPES):
        return "a JSON scalar: a string, an int, a finite float, True, False or None"
    if isinstance(value, float) and not math.isfinite(value):
        return "a finite number (not NaN or infinity)"
    if type(value) is int and not -_HUGE < value < _HUGE:
        return "a whole number of at most 4,300 digits"
    return None


def scalar_mapping(instance: object, attribute: _Attribute, value: object) -> None:
    """Accept a mapping of non-empty string keys to JSON scalars."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        reject(instance, attribute, value, "a mapping with string keys")
    for key, item in value.items():
        if not key.strip():
            reject(instance, attribute, key, "non-empty keys")
        problem = check_scalar(item)
        if problem is not None:
            raise ValidationError(
                owner=type(instance).__name__,
                field=f"{attribute.name}[{key!r}]",
                value=item,
                expected=problem,
            )


def unchecked(cls: type[_T], *slots: str) -> Callable[..., _T]:
    """Return a constructor of the attrs class *cls* that skips its checks.

    It takes the fields in order, then the *slots* named (slots of the class
    that are no field), and sets them as given, with no validator or
    converter: for values funnelkit builds right itself on a hot path. The
    constructor is generated, as attrs generates ``__init__``, so that it
    costs one call, and a plain store per field (see filler).
    """
    names = [field.name for field in attrs.fields(cls)] + list(slots)
    scope: dict[str, object] = {"fill": filler(cls), "cls": cls}
    lines = [f"def make({', '.join(names)}):", "    made = fill()"]
    lines += [f"    made.{name} = {name}" for name in names]
    lines += ["    made.__class__ = cls", "    return made"]
    exec("\n".join(lines), scope)  # noqa: S102 -- generated from attrs' field names
    return scope["make"]  # type: ignore[return-value] # defined just above


def filler(cls: type) -> type:
    """Return a subclass of the frozen slotted class *cls* whose slots take stores.

    A frozen class's ``__setattr__`` refuses every store; setting a slot
    through its descriptor's ``__set__`` costs a call with a tuple of
    arguments per field. An instance of the filler is set by plain stores,
    which Python does in place, then made an instance of *cls* by
    ``__class__`` assignment: the filler adds no slot, so the two share one
    layout, which Python requires. Its stores set the slots themselves,
    past any descriptor that words a field when read (see slot_of). Called
    with no arguments, it makes an empty instance, as ``object.__new__``
    does, for less.
    """
    maker: object = cls.__new__
    if maker is not object.__new__:
        raise TypeError(f"{cls.__qualname__} makes its instances itself")
    namespace: dict[str, object] = {
        "__slots__": (),
        "__init__": object.__init__,
        # Both: Python takes the plain store only when neither is overridden.
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": cls.__module__,
    }
    for field in attrs.fields(cls):
        namespace[field.name] = slot_of(cls, field.name)
    return type(f"_{cls.__name__}Filler", (cls,), namespace)


def slot_of(cls: type, name: str) -> MemberDescriptorType:
    """Return the descriptor of the slot *name* in *cls* or the first base with it."""
    found = next(
        klass.__dict__[name] for klass in cls.__mro__ if name in klass.__dict__
    )
    # A field that words its value when read keeps the slot's descriptor (see
    # funnelkit._scoring._ReadLater): set as given, it is set as the slot.
    slot: MemberDescriptorType = getattr(found, "slot", found)
    return slot
