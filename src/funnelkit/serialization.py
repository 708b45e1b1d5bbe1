r"""Turn funnelkit values into JSON and back, exactly.

funnelkit keeps its business types apart from their wire format (they have no
``to_dict`` methods): this module owns one private :mod:`cattrs` converter
that knows them all.

>>> from datetime import UTC, datetime
>>> from funnelkit import Activity
>>> a = Activity("L-1", "demo_request", datetime(2026, 3, 2, 9, tzinfo=UTC), id="A-1")
>>> text = to_json(a)
>>> text
'{"lead_id":"L-1","kind":"demo_request","at":"2026-03-02T09:00:00+00:00","id":"A-1","properties":{},"source":null}'
>>> from_json(text, Activity) == a
True

The wire format:

* datetimes are ISO 8601 with their UTC offset; a datetime whose zone is a
  :class:`zoneinfo.ZoneInfo` also carries the zone's name in brackets
  (RFC 9557: ``"2026-03-29T03:30:00+02:00[Europe/Berlin]"``), so it comes back
  with the same zone; other zones come back as fixed offsets, the same instant;
* dates are ``YYYY-MM-DD``; ``timedelta``\\ s are ISO 8601 durations
  (``"PT8H"``); business durations are text (``"8 business hours"``);
  ``Decimal``\\ s are strings, so no digit is lost to floating point;
* tuples, sets and read-only mappings come back as the types the fields
  declare;
* input is checked as strictly as a constructor checks its arguments: a
  string is not a number, ``1`` is not ``True``, and an unknown key is an
  error (a typo must not pass silently).

Problems are reported all at once, in a
:class:`~funnelkit.errors.SerializationError` that names the path of each bad
field, such as ``activities[3].at``.
"""

from __future__ import annotations

import json
import re
from collections import abc
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import cattrs
import cattrs.cols
import cattrs.gen
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)

from funnelkit._config import POLICY_PARTS as _POLICY_PARTS
from funnelkit._config import read_part, write_part
from funnelkit._criteria import Context, CriterionLike
from funnelkit._duration import (
    BusinessDuration,
    format_iso_duration,
    parse_duration,
    parse_iso_duration,
)
from funnelkit._events import Event, Input
from funnelkit._frozen import FrozenMap
from funnelkit._lead import Activity
from funnelkit._scoring import Contribution
from funnelkit._validators import Scalar, check_scalar
from funnelkit.errors import PolicyFileError, SerializationError, ValidationError

__all__ = ["converter", "from_json", "structure", "to_json", "unstructure"]

T = TypeVar("T")

_ScalarMap = Mapping[str, Scalar]
_ZONED = re.compile(r"(?P<iso>[^\[\]]+)(?:\[(?P<zone>[^\[\]]+)\])?")


class _WrongValueError(ValueError):
    """A hook's complaint: what it expected and what it got."""

    def __init__(self, expected: str, value: object) -> None:
        self.expected = expected
        self.value = value
        super().__init__(f"expected {expected}, got {value!r}")


def _format_datetime(value: datetime) -> str:
    text = value.isoformat()
    key = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
    return f"{text}[{key}]" if key else text


_ISO_DATETIME = "an ISO 8601 datetime string with a UTC offset"


def _parse_datetime(value: object, _: object = None) -> datetime:
    if not isinstance(value, str):
        raise _WrongValueError(_ISO_DATETIME, value)
    if "[" not in value and "]" not in value:
        # The common case, an offset and no zone name: no pattern to match.
        return _with_offset(value, value)
    match = _ZONED.fullmatch(value)
    if match is None:
        raise _WrongValueError(_ISO_DATETIME, value)
    parsed = _with_offset(match["iso"], value)
    offset = parsed.utcoffset()
    zone = _zone(match["zone"], value)
    wall = parsed.replace(tzinfo=zone)
    for candidate in (wall, wall.replace(fold=1)):
        if candidate.utcoffset() == offset:
            return candidate
    raise _WrongValueError(f"an offset that {match['zone']} uses at that time", value)


def _with_offset(text: str, value: str) -> datetime:
    """Parse *text*, the ISO part of *value*, which must carry its UTC offset."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _WrongValueError(_ISO_DATETIME, value) from None
    if parsed.utcoffset() is None:
        raise _WrongValueError(
            "a datetime with a UTC offset (funnelkit never assumes a time zone)", value
        )
    return parsed


def _zone(key: str, value: object) -> tzinfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise _WrongValueError(
            "a known IANA time zone name in brackets", value
        ) from None


def _parse_date(value: object, _: object = None) -> date:
    if isinstance(value, str) and len(value) == len("2026-03-02"):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _WrongValueError("an ISO 8601 date string (YYYY-MM-DD)", value)


def _parse_timedelta(value: object, _: object = None) -> timedelta:
    expected = "an ISO 8601 duration string such as 'PT8H'"
    if not isinstance(value, str):
        raise _WrongValueError(expected, value)
    try:
        return parse_iso_duration(value, allow_negative=True)
    except ValidationError as error:
        raise _WrongValueError(error.expected, value) from None


def _parse_business(value: object, _: object = None) -> BusinessDuration:
    expected = "a business duration such as '8 business hours'"
    try:
        parsed = parse_duration(value) if isinstance(value, str) else None
    except ValidationError as error:
        raise _WrongValueError(error.expected, value) from None
    if not isinstance(parsed, BusinessDuration):
        raise _WrongValueError(expected, value)
    return parsed


def _parse_decimal(value: object, _: object = None) -> Decimal:
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            number = Decimal(value)
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                return number
    raise _WrongValueError("a decimal number as a string, such as '12.50'", value)


def _strict(kind: type[Any], expected: str) -> Callable[[object, object], Any]:
    def structure(value: object, _: object) -> Any:  # noqa: ANN401 -- one of str, int, bool
        if type(value) is not kind:
            raise _WrongValueError(expected, value)
        return value

    return structure


def _parse_float(value: object, _: object) -> float:
    if type(value) not in {int, float}:
        raise _WrongValueError("a number", value)
    return float(value)  # type: ignore[arg-type] # checked just above


def _parse_scalar_map(value: object, _: object) -> Mapping[str, Scalar]:
    if not isinstance(value, Mapping):
        raise _WrongValueError("an object of JSON scalars", value)
    for key, item in value.items():
        problem = check_scalar(item)
        if problem is not None:
            raise ValidationError(field=f"[{key!r}]", value=item, expected=problem)
    return FrozenMap(value)


def _is_scalar_map(type_: object) -> bool:
    return bool(type_ == _ScalarMap)


_COLLECTIONS: dict[object, Callable[[Iterable[Any]], Any]] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    abc.Sequence: tuple,
    abc.MutableSequence: list,
    abc.Set: frozenset,
    abc.MutableSet: set,
}


def _is_collection(type_: object) -> bool:
    args = get_args(type_)
    if get_origin(type_) is tuple:
        return len(args) == 2 and args[1] is Ellipsis  # noqa: PLR2004 -- tuple[X, ...]
    return get_origin(type_) in _COLLECTIONS and len(args) == 1


def _collection_factory(
    type_: Any,  # noqa: ANN401 -- a parametrised collection type
    made: cattrs.Converter,
) -> Callable[[object, object], Any]:
    # cattrs would happily read the string "ab" as the list ["a", "b"]: only
    # JSON arrays (lists, or tuples from Python callers) are collections here.
    items = cattrs.cols.list_structure_factory(type_, made)
    build = _COLLECTIONS[get_origin(type_)]

    def structure(value: object, _: object) -> Any:  # noqa: ANN401 -- the collection
        if not isinstance(value, list | tuple):
            raise _WrongValueError("a list", value)
        return build(items(value, type_))

    if get_args(type_)[0] is not str:
        return structure

    def strings(value: object, _: object) -> Any:  # noqa: ANN401 -- the collection
        # Ids and notes: one pass over plain strings, the item-by-item path
        # (and its error naming the bad item) only when one is not a string.
        if isinstance(value, list | tuple) and all(type(item) is str for item in value):
            return build(value)
        return structure(value, _)

    return strings


def _class_factory(
    cls: Any,  # noqa: ANN401 -- an attrs class
    made: cattrs.Converter,
    fields: Callable[[Any, Any], Any] | None = None,
) -> Callable[[object, object], Any]:
    if fields is None:
        fields = cattrs.gen.make_dict_structure_fn(cls, made)

    def structure(value: object, _: object) -> Any:  # noqa: ANN401 -- an instance of cls
        if not isinstance(value, Mapping):
            raise _WrongValueError(f"an object describing a {cls.__name__}", value)
        return fields(value, cls)

    return structure


def _tagged_union(
    union: Any,  # noqa: ANN401 -- a union of attrs classes
    made: cattrs.Converter,
) -> None:
    """Write each member of *union* with its class name under ``"type"``."""
    members: dict[str, type] = {cls.__name__: cls for cls in get_args(union)}
    expected = "an object whose 'type' is one of " + ", ".join(members)

    def unstructure(value: object) -> dict[str, Any]:
        return {"type": type(value).__name__, **made.unstructure(value, type(value))}

    def structure(value: object, _: object) -> Any:  # noqa: ANN401 -- a member
        if not isinstance(value, Mapping) or value.get("type") not in members:
            raise _WrongValueError(expected, value)
        fields = {key: item for key, item in value.items() if key != "type"}
        cls = members[value["type"]]
        return made.structure(fields, cls)

    made.register_unstructure_hook_func(lambda type_: type_ == union, unstructure)
    made.register_structure_hook_func(lambda type_: type_ == union, structure)


def _make_converter(*, fast: bool = True) -> cattrs.Converter:
    """Make the converter; *fast* adds the fast paths (tests compare without)."""
    made = cattrs.Converter(forbid_extra_keys=True)
    made.register_unstructure_hook(datetime, _format_datetime)
    made.register_structure_hook(datetime, _parse_datetime)
    made.register_unstructure_hook(date, date.isoformat)
    made.register_structure_hook(date, _parse_date)
    made.register_unstructure_hook(timedelta, format_iso_duration)
    made.register_structure_hook(timedelta, _parse_timedelta)
    made.register_unstructure_hook(BusinessDuration, str)
    made.register_structure_hook(BusinessDuration, _parse_business)
    made.register_unstructure_hook(Decimal, str)
    made.register_structure_hook(Decimal, _parse_decimal)
    made.register_structure_hook(str, _strict(str, "a string"))
    made.register_structure_hook(int, _strict(int, "a whole number"))
    made.register_structure_hook(bool, _strict(bool, "true or false"))
    made.register_structure_hook(float, _parse_float)
    made.register_unstructure_hook_func(_is_scalar_map, dict)
    made.register_structure_hook_func(_is_scalar_map, _parse_scalar_map)
    made.register_structure_hook_factory(
        _is_collection, lambda type_: _collection_factory(type_, made)
    )
    made.register_structure_hook_factory(
        attrs.has, lambda cls: _class_factory(cls, made)
    )
    # A context's scorer is working state: it stays out of the wire format.
    omit = cattrs.gen.override(omit=True)
    made.register_unstructure_hook(
        Context, cattrs.gen.make_dict_unstructure_fn(Context, made, scorer=omit)
    )
    made.register_structure_hook(
        Context,
        _class_factory(
            Context, made, cattrs.gen.make_dict_structure_fn(Context, made, scorer=omit)
        ),
    )
    if fast:
        _fast_paths(made)
    _tagged_union(Event, made)
    _tagged_union(Input, made)
    _policy_parts(made)
    return made


# -- Fast paths for the values a store reads by the thousand ---------------------

_ACTIVITY_KEYS = frozenset(attrs.fields_dict(Activity))
_CONTRIBUTION_KEYS = frozenset(attrs.fields_dict(Contribution))
_NUMBER = (int, float)


def _is_str_sequence(type_: object) -> bool:
    """``tuple[str, ...]`` or ``Sequence[str]``: ids and notes, written in order."""
    args = get_args(type_)
    if get_origin(type_) is tuple:
        return args == (str, Ellipsis)
    return get_origin(type_) is abc.Sequence and args == (str,)


def _activity(value: Any) -> Activity | None:  # noqa: ANN401 -- data of any shape
    """Build an activity written with every key, or return ``None``.

    The types cattrs would check are checked here; the constructor's
    validators do the rest, as they do after cattrs.
    """
    at, ident, source = value["at"], value["id"], value["source"]
    if not (
        type(value["lead_id"]) is str
        and type(value["kind"]) is str
        and type(at) is str
        and type(ident) is str
        and type(value["properties"]) is dict
        and (source is None or type(source) is str)
    ):
        return None
    return Activity(
        value["lead_id"],
        value["kind"],
        _parse_datetime(at),
        id=ident,
        properties=value["properties"],
        source=source,
    )


def _contribution(value: Any) -> Contribution | None:  # noqa: ANN401 -- data of any shape
    """Build a ledger line written with every key, or return ``None``."""
    numbers = (value["points"], value["raw"], value["decay"], value["cap"])
    ids, skipped = value["activity_ids"], value["skipped_ids"]
    if not (
        type(value["rule"]) is str
        and type(value["dimension"]) is str
        and type(value["note"]) is str
        and all(type(number) in _NUMBER for number in numbers)
        and type(ids) is list
        and type(skipped) is list
        and all(type(item) is str for item in ids)
        and all(type(item) is str for item in skipped)
    ):
        return None
    points, raw, decay, cap = map(float, numbers)
    return Contribution(
        rule=value["rule"],
        dimension=value["dimension"],
        points=points,
        raw=raw,
        decay=decay,
        cap=cap,
        activity_ids=tuple(ids),
        skipped_ids=tuple(skipped),
        note=value["note"],
    )


def _fast_path(
    made: cattrs.Converter,
    cls: type[T],
    keys: frozenset[str],
    build: Callable[[Any], T | None],
) -> None:
    """Read *cls* from a JSON object with all its keys without cattrs's machinery.

    What *build* declines or fails on takes cattrs's path, which accepts or
    rejects exactly as before and names every problem: the fast path is only
    ever faster, never more lenient (a property test holds it to that).
    """
    strict = _class_factory(cls, made)

    def structure(value: object, _: object) -> T:
        if type(value) is dict and value.keys() == keys:
            try:
                built = build(value)
            except (ValueError, TypeError):  # ValidationError is a ValueError
                built = None
            if built is not None:
                return built
        made_by_cattrs: T = strict(value, cls)
        return made_by_cattrs

    made.register_structure_hook(cls, structure)


def _fast_paths(made: cattrs.Converter) -> None:
    """Register the fast paths: a store's activities and its scores' ledgers."""
    _fast_path(made, Activity, _ACTIVITY_KEYS, _activity)
    _fast_path(made, Contribution, _CONTRIBUTION_KEYS, _contribution)
    made.register_unstructure_hook_func(_is_str_sequence, list)


def _is_policy_part(type_: object) -> bool:
    return type_ is CriterionLike or (
        isinstance(type_, type) and issubclass(type_, _POLICY_PARTS)
    )


def _policy_parts(made: cattrs.Converter) -> None:
    """Policy parts are written as a policy file writes them (see load_policy)."""

    def structure(value: object, cls: Any) -> Any:  # noqa: ANN401 -- a policy part
        return read_part(value, cls)

    made.register_unstructure_hook_func(_is_policy_part, write_part)
    made.register_structure_hook_func(_is_policy_part, structure)


#: The converter behind this module's functions. Register hooks for your own
#: types on a copy (``converter.copy()``), not on this one, which every user
#: of funnelkit in the process shares.
converter = _make_converter()


def _join(path: str, step: str) -> str:
    if step.startswith("["):
        return path + step
    return f"{path}.{step}" if path else step


def _problems(error: BaseException, path: str) -> list[tuple[str, str]]:
    if isinstance(error, ForbiddenExtraKeysError):
        names = ", ".join(sorted(error.extra_fields))
        return [(path, f"unknown key(s): {names}")]
    if isinstance(error, BaseValidationError):
        found: list[tuple[str, str]] = []
        for sub in error.exceptions:
            found += _problems(sub, _join(path, _step(sub)))
        return found
    if isinstance(error, PolicyFileError):
        return [(_join(path, where), message) for where, message in error.problems]
    if isinstance(error, ValidationError):
        # Raised by a constructor's validator, after cattrs built the fields:
        # the field's own name completes the path.
        message = f"expected {error.expected}, got {error.value!r}"
        return [(_join(path, error.field), message)]
    if isinstance(error, KeyError):
        return [(path, "required key is missing")]
    return [(path, str(error))]


def _step(error: BaseException) -> str:
    notes = [
        note
        for note in getattr(error, "__notes__", ())
        if isinstance(note, IterableValidationNote | AttributeValidationNote)
    ]
    if not notes:
        return ""
    if isinstance(notes[0], IterableValidationNote):
        return f"[{notes[0].index!r}]"
    return notes[0].name


def _target(cls: object) -> str:
    if get_origin(cls) is not None:
        return repr(cls)
    return getattr(cls, "__name__", repr(cls))


def unstructure(value: object, cls: Any = None) -> Any:  # noqa: ANN401 -- JSON-like data of any shape
    """Return *value* as JSON-compatible data (dicts, lists, strings, numbers).

    Give *cls* to write a value as a type it belongs to, such as
    ``list[Event]``: each event then carries its ``"type"``, so that
    ``structure(data, list[Event])`` can tell them apart.
    """
    return converter.unstructure(value, cls)


def structure(data: object, cls: type[T]) -> T:
    """Build a *cls* from JSON-compatible *data*, checking every field.

    Raises:
        SerializationError: the data does not describe a *cls*; every problem
            is listed with its path.
    """
    try:
        return converter.structure(data, cls)
    except Exception as error:
        # Whatever a hook or constructor raised on bad data, the caller gets
        # one SerializationError listing the problems, never a raw traceback.
        raise SerializationError(
            target=_target(cls), problems=_problems(error, "")
        ) from error


#: The compact encoder, made once: json.dumps with arguments makes one a call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def to_json(value: object, *, indent: int | None = None, cls: Any = None) -> str:  # noqa: ANN401 -- a type, as structure() takes it
    """Return *value* as JSON text: compact, or indented by *indent* spaces.

    The same value always gives the same text, byte for byte. *cls* is as
    for :func:`unstructure`.
    """
    if indent is None:
        return _ENCODER.encode(unstructure(value, cls))
    return json.dumps(
        unstructure(value, cls),
        ensure_ascii=False,
        allow_nan=False,
        indent=indent,
        separators=(",", ": "),
    )


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number funnelkit accepts")


#: One decoder for every call: json.loads with an argument makes one a call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Build a *cls* from JSON text.

    Raises:
        SerializationError: the text is not JSON, or does not describe a *cls*;
            every problem is listed with its path.
    """
    try:
        data = (
            _DECODER.decode(text)
            if isinstance(text, str)
            else json.loads(text, parse_constant=_reject_constant)
        )
    except ValueError as error:
        position = ""
        if isinstance(error, json.JSONDecodeError):
            position = f" at line {error.lineno}, column {error.colno}"
            error_text = error.msg
        else:
            error_text = str(error)
        raise SerializationError(
            target=_target(cls),
            problems=[("", f"invalid JSON{position}: {error_text}")],
        ) from error
    return structure(data, cls)
