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
import math
import re
from collections import abc
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, get_args, get_origin
from zoneinfo import ZoneInfo

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
from funnelkit._criteria import Context, CriterionLike, TransitionRecord, Verdict
from funnelkit._duration import (
    BusinessDuration,
    format_iso_duration,
    parse_duration,
    parse_iso_duration,
)
from funnelkit._events import Event, Input, LeadState, state_problem
from funnelkit._frozen import EMPTY as _EMPTY
from funnelkit._frozen import FrozenMap, thaw
from funnelkit._lead import _EMAIL, Activity, Bant, Lead
from funnelkit._lead import NO_ANSWERS as _NO_ANSWERS
from funnelkit._scoring import Contribution, Score
from funnelkit._sla import SlaTimer, timer_problem
from funnelkit._time import is_aware, is_zone_name
from funnelkit._validators import SCALAR_TYPES as _SCALAR_TYPES
from funnelkit._validators import Scalar, check_scalar, unchecked
from funnelkit.errors import (
    NaiveDatetimeError,
    PolicyFileError,
    SerializationError,
    ValidationError,
    _shown,
)

__all__ = ["converter", "from_json", "structure", "to_json", "unstructure"]

T = TypeVar("T")

_ScalarMap = Mapping[str, Scalar]
_ZONED = re.compile(r"(?P<iso>[^\[\]]+)(?:\[(?P<zone>[^\[\]]+)\])?")
# A fraction of a second finer than a microsecond: its digits past the sixth.
_FINE = re.compile(r"[.,]\d{6}(\d+)")
# An offset with a fraction of a second, which follows its seconds.
_FRACTIONAL_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d):?(\d\d)[.,](\d*)")


class _WrongValueError(ValueError):
    """A hook's complaint: what it expected and what it got."""

    def __init__(self, expected: str, value: object) -> None:
        self.expected = expected
        self.value = value
        super().__init__(f"expected {expected}, got {_shown(value)}")


def _format_datetime(value: datetime) -> str:
    text = value.isoformat()
    key = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
    if key is None:
        return text
    # posix/ holds copies of the zones under their own keys, which every
    # machine has (the tzdata package too).
    key = key.removeprefix("posix/")
    # A key naming the machine's own zone (or right/, leap-second copies
    # some machines lack) would be read back as another machine's, or not
    # at all: the offset alone says the instant.
    return f"{text}[{key}]" if is_zone_name(key) else text


def _unstructure_datetime(value: datetime) -> str:
    """Write an aware datetime; refuse a naive one, which no reader accepts."""
    if not is_aware(value):
        raise NaiveDatetimeError(field="datetime", value=value)
    return _format_datetime(value)


# Zone files that stand for the machine's own zone (or its default rules),
# which differ from machine to machine.
_MACHINE_ZONES = frozenset({"localtime", "posixrules"})


_ISO_DATETIME = "an ISO 8601 datetime string with a UTC offset"
# A naive time is the newcomer's first mistake: show them what to write.
_WITH_OFFSET = (
    "a datetime with a UTC offset, as in 2026-03-02T09:00:00Z or "
    "2026-03-02T10:00:00+01:00 (funnelkit never assumes a time zone)"
)


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
        parsed = _fromisoformat(text)
    except ValueError:
        raise _WrongValueError(_ISO_DATETIME, value) from None
    if parsed.utcoffset() is None:
        raise _WrongValueError(_WITH_OFFSET, value)
    # Every stored time is read here: most have no fraction, or the six digits
    # and whole-minute offset that isoformat writes, which a look at five
    # places finds (the mark at 19, the offset's sign at 26 and colon at 29).
    if ("." in text or "," in text) and not (
        len(text) == 32  # noqa: PLR2004 -- "2026-03-02T09:00:00.123456+01:00"
        and text[19] == "."
        and text[16] == ":"
        and text[13] == ":"
        and text[26] in "+-"
        and text[29] == ":"
    ):
        try:
            return _fractions(parsed, text)
        except _TimeTextError as error:
            raise _WrongValueError(error.expected, value) from None
    return parsed


def _fromisoformat(text: str) -> datetime:
    """Read ISO text as :meth:`datetime.fromisoformat` does, a lowercase ``z`` too.

    RFC 3339 allows ``z`` for UTC, which Python 3.11 refuses: looked at only
    when Python refuses the text, so a time with an offset costs nothing more.

    Raises:
        ValueError: not ISO 8601 text.
    """
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        if text[-1:] != "z":
            raise
    return datetime.fromisoformat(text[:-1] + "Z")


class _TimeTextError(ValueError):
    """ISO text whose fraction of a second Python would read wrongly."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        super().__init__(expected)


_WHOLE_MICROS = (
    "an instant in whole microseconds (a datetime holds no finer; round it first)"
)
_AFTER_SECONDS = (
    "a fraction only after the seconds, in the time and in its offset "
    "(Python would read '10:30.5' as 10:30:00.5, not 10:30:30)"
)


def _fractions(parsed: datetime, text: str) -> datetime:
    """*parsed*, read from *text* (which holds a ``.`` or ``,``), its fractions checked.

    Python 3.11 reads a fraction wherever it stands as one of a second
    (``10:30.5`` as 10:30:00.5, ``+05.5`` as five hours and half a second,
    where ISO 8601 means 10:30:30 and 5:30), drops the digits past the sixth,
    and drops an offset's fraction when the offset is under a second
    (``+00:00:00.5`` would be UTC). So a fraction must follow the seconds,
    digits past the sixth must be zeros, and an offset's fraction is read
    here, exactly.

    Raises:
        _TimeTextError: a fraction that Python would read wrongly.
    """
    marks = [index for index, char in enumerate(text) if char in ".,"]
    for mark in marks:
        if not _after_seconds(text, mark):
            raise _TimeTextError(_AFTER_SECONDS)
    if _finer_than_micros(text):
        raise _TimeTextError(_finer_part(parsed, text))
    if parsed.tzinfo is None or text[-1] in "Zz":
        return parsed
    # The offset starts at the last sign: the time before it has none.
    sign = max(text.rfind("+"), text.rfind("-"))
    found = _FRACTIONAL_OFFSET.fullmatch(text, sign) if marks[-1] > sign else None
    if found is None:
        return parsed
    minus, hours, minutes, seconds, digits = found.groups()
    offset = timedelta(
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int(digits[:6].ljust(6, "0")),
    )
    return parsed.replace(tzinfo=timezone(-offset if minus == "-" else offset))


def _finer_part(parsed: datetime, text: str) -> str:
    """What a *text* finer than a microsecond should be: its time's or its offset's.

    Called only on refusal: the first fraction with nonzero digits past the
    sixth is the offset's when it follows the offset's sign.
    """
    finer = next(found for found in _FINE.finditer(text) if found[1].strip("0"))
    if parsed.tzinfo is None or text[-1] in "Zz":
        return _WHOLE_MICROS
    sign = max(text.rfind("+"), text.rfind("-"))
    return _OFFSET_MICROS if finer.start() > sign else _WHOLE_MICROS


def _after_seconds(text: str, mark: int) -> bool:
    """Whether the mark at *mark* follows seconds: ``HH:MM:SS`` or ``HHMMSS``."""
    if text[mark - 3 : mark - 2] == ":":
        return text[mark - 6 : mark - 5] == ":"
    return text[mark - 6 : mark].isdigit() and not text[mark - 7 : mark - 6].isdigit()


_OFFSET_MICROS = "an offset in whole microseconds (a datetime holds no finer)"
_NANOSECONDS = (
    "a fraction of a second of nine digits at most (nanoseconds, of which "
    "funnelkit keeps the microseconds)"
)


def _parse_data_datetime(value: str) -> datetime:
    """Read an instant of a data file: as funnelkit's JSON does, nanoseconds too.

    Exports from .NET and SQL Server (seven digits of a second), Java or Go
    (nine) hold finer times than a datetime: the digits past the sixth are
    dropped, toward the past, so that no time moves later and no two swap
    places. Only the time's fraction is cut: an offset's finer than a
    microsecond is refused, as in JSON (cutting it could move the instant
    later).

    Raises:
        _WrongValueError: not an instant funnelkit's JSON reads, once cut.
    """
    try:
        return _parse_datetime(_cut_to_micros(value))
    except _TimeTextError as error:
        raise _WrongValueError(error.expected, value) from None
    except _WrongValueError as error:
        raise _WrongValueError(error.expected, value) from None  # the cell as written


def _cut_to_micros(text: str) -> str:
    """*text* with its time's fraction of seven to nine digits cut to six.

    Raises:
        _TimeTextError: a fraction of ten digits or more, not zeros past the sixth.
    """
    mark = text.find(".")
    comma = text.find(",")
    if mark < 0 or 0 <= comma < mark:
        mark = comma  # the first mark: the time's fraction, if the time has one
    if mark < 0:
        return text
    end = mark + 1
    while text[end : end + 1].isdigit():
        end += 1
    if end - mark <= 7:  # noqa: PLR2004 -- the mark and six digits
        return text
    iso = text.partition("[")[0]
    if iso[-1:] not in ("Z", "z") and max(iso.rfind("+"), iso.rfind("-")) < mark:
        return text  # no sign after the mark: the offset's fraction, or no offset
    if end - mark > 10 and text[mark + 7 : end].strip("0"):  # noqa: PLR2004 -- nine
        raise _TimeTextError(_NANOSECONDS)
    return text[: mark + 7] + text[end:]


def _finer_than_micros(text: str) -> bool:
    """Whether a fraction in *text*, its time's or its offset's, is finer than µs.

    That is, whether it has nonzero digits past the sixth: what ``_FINE``
    finds, looked for only where it can be. Its match needs a mark and seven
    digits: at the first mark, the seventh place is a digit; at a later one
    (an offset's fraction, which Python cuts too), with no digit there, the
    mark lies past that place, so the text runs on 15 characters at least.
    """
    mark = text.find(".")
    comma = text.find(",")
    if mark < 0 or 0 <= comma < mark:
        mark = comma  # the first mark starts the fraction (an offset's comes later)
    if not text[mark + 7 : mark + 8].isdigit() and len(text) < mark + 15:
        return False  # ".123456+00:00", "Z": no room for a later fraction
    # Every fraction: the time's may end in zeros, and the offset's not.
    return any(found[1].strip("0") for found in _FINE.finditer(text))


def _zone(key: str, value: object) -> tzinfo:
    expected = "a known IANA time zone name in brackets"
    if key in _MACHINE_ZONES:
        raise _WrongValueError(expected + " (not the machine's own)", value)
    if not is_zone_name(key):  # also posix/ and right/ copies, and Factory
        raise _WrongValueError(expected, value)
    return ZoneInfo(key)  # a key the database lists: one it reads


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
    # A whole number stays an int (which a float field takes, as Python's
    # types allow): a count written 3 reads back 3, and writes 3 again.
    if type(value) not in {int, float}:
        raise _WrongValueError("a number", value)
    return value  # type: ignore[return-value] # checked just above


def _parse_scalar_map(value: object, _: object) -> Mapping[str, Scalar]:
    if not isinstance(value, Mapping):
        raise _WrongValueError("an object of JSON scalars", value)
    for key, item in value.items():
        problem = check_scalar(item)
        if problem is not None:
            raise ValidationError(field=f"[{key!r}]", value=item, expected=problem)
    return FrozenMap(value) if value else _EMPTY  # one empty map, as freeze gives


def _is_scalar_map(type_: object) -> bool:
    return bool(type_ == _ScalarMap)


def _is_scalar(type_: object) -> bool:
    return bool(type_ == Scalar)


def _parse_scalar(value: object, _: object) -> Scalar:
    problem = check_scalar(value)
    if problem is not None:
        raise _WrongValueError(problem, value)
    return value  # type: ignore[return-value] # checked just above


def _is_data(type_: object) -> bool:
    """``object``: a field of JSON data as such (a policy change's before and after)."""
    return type_ is object


def _parse_data(value: object, _: object) -> object:
    """A copy of *value* if it is JSON data: objects, arrays and JSON scalars."""
    found = _data_problem(value, "")
    if found is None:
        return _copy_data(value)
    path, item, expected = found
    if not path:
        raise _WrongValueError(expected, item)
    raise ValidationError(field=path, value=item, expected=expected)


def _data_problem(value: object, path: str) -> tuple[str, object, str] | None:
    """The path, value and expectation of the first part of *value* not JSON data."""
    children: Iterable[tuple[object, object]]
    if isinstance(value, Mapping):
        children = value.items()
    elif isinstance(value, list | tuple):
        children = enumerate(value)
    else:
        problem = check_scalar(value)
        if problem is not None and not isinstance(value, _SCALAR_TYPES):
            problem = "JSON data: an object, an array or a JSON scalar"
        return None if problem is None else (path, value, problem)
    for key, item in children:
        if isinstance(value, Mapping) and not isinstance(key, str):
            return path, key, "an object whose keys are strings"
        found = _data_problem(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


def _copy_data(value: object) -> object:
    """JSON data checked by _data_problem, as dicts and lists."""
    if isinstance(value, Mapping):
        return {key: _copy_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_copy_data(item) for item in value]
    return value


def _is_str_set(type_: object) -> bool:
    return get_origin(type_) in _SETS and get_args(type_) == (str,)


def _sorted_list(value: Iterable[str]) -> list[str]:
    # A set has no order of its own: sorted, so its JSON is the same in
    # every process whatever the hash seed.
    return sorted(value)


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


_SETS = (set, frozenset, abc.Set, abc.MutableSet)


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
    made.register_unstructure_hook(datetime, _unstructure_datetime)
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
    made.register_structure_hook_func(_is_scalar, _parse_scalar)
    made.register_structure_hook_func(_is_data, _parse_data)
    made.register_unstructure_hook_func(_is_str_set, _sorted_list)
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
    else:
        _derived_ids(made)
    _shared_answers(made)
    _tagged_union(Event, made)
    _tagged_union(Input, made)
    _policy_parts(made)
    return made


# -- Fast paths for the values a store reads by the thousand ---------------------
#
# A store reads every lead's state and activities back from the JSON it wrote:
# these paths build them without cattrs's machinery. Each checks what cattrs
# and the constructors' validators would check, and gives up (raises) on
# anything else, which then takes cattrs's path and gets its error: a fast
# path is only ever faster, never more lenient (property tests hold each to
# that).

_ACTIVITY_KEYS = frozenset(attrs.fields_dict(Activity))
_CONTRIBUTION_KEYS = frozenset(attrs.fields_dict(Contribution))
_LEAD_KEYS = frozenset(attrs.fields_dict(Lead))
_BANT_KEYS = frozenset(attrs.fields_dict(Bant))
_SCORE_KEYS = frozenset(attrs.fields_dict(Score))
_RECORD_KEYS = frozenset(attrs.fields_dict(TransitionRecord))
_VERDICT_KEYS = frozenset(attrs.fields_dict(Verdict))
_TIMER_KEYS = frozenset(attrs.fields_dict(SlaTimer))
_STATE_KEYS = frozenset(attrs.fields_dict(LeadState))
_NUMBER = (int, float)
# The JSON scalars but floats, whose finiteness is checked apart.
_PLAIN = frozenset((str, int, bool, type(None)))
# Maps of strings read back (activities' properties, leads' attributes), by
# their items (see _properties): at most this many, enough for the values
# activities repeat.
_SHARED_PROPERTIES_SIZE = 4_096
_SHARED_PROPERTIES: dict[tuple[tuple[str, str], ...], Mapping[str, Scalar]] = {}

# Constructors of classes whose validators the fast paths check themselves
# (or which have none): attrs's checks would cost more than the reading.
_new_activity = unchecked(Activity)
_new_lead = unchecked(Lead)
_new_bant = unchecked(Bant)
_new_contribution = unchecked(Contribution)
_new_score = unchecked(Score)
_new_record = unchecked(TransitionRecord)
_new_verdict = unchecked(Verdict)
_new_timer = unchecked(SlaTimer)
_new_state = unchecked(LeadState)


class _Unusual(Exception):  # noqa: N818 -- a signal, not an error anyone sees
    """Raised by a fast path that leaves the data to cattrs."""


def _is_str_sequence(type_: object) -> bool:
    """``tuple[str, ...]`` or ``Sequence[str]``: ids and notes, written in order."""
    args = get_args(type_)
    if get_origin(type_) is tuple:
        return args == (str, Ellipsis)
    return get_origin(type_) is abc.Sequence and args == (str,)


def _fields(value: Any, keys: frozenset[str]) -> dict[str, Any]:  # noqa: ANN401 -- data of any shape
    """Return *value* if it is a JSON object with as many keys as *keys*.

    Each builder then reads every one of *keys*: a missing one raises
    KeyError, and an object with all of them, and no more, has no other.
    """
    if type(value) is not dict or len(value) != len(keys):
        raise _Unusual
    return value


def _properties(value: object) -> Mapping[str, Scalar]:
    """A read-only copy of a mapping of non-blank keys to JSON scalars."""
    if type(value) is not dict:
        raise _Unusual
    if not value:
        return _EMPTY
    texts = True  # every value a string: the items name the map, unambiguously
    for key, item in value.items():
        if type(key) is not str or not key.strip():
            raise _Unusual
        if type(item) is not str:
            texts = False
            if type(item) not in _PLAIN and not (
                type(item) is float and math.isfinite(item)
            ):
                raise _Unusual
    if not texts:
        return _frozen(value)
    # Activities repeat their properties ({"path": "/pricing"}): read back,
    # equal maps are one object, which the garbage collector visits once.
    shared = _SHARED_PROPERTIES
    items = tuple(value.items())
    found = shared.get(items)
    if found is None:
        if len(shared) >= _SHARED_PROPERTIES_SIZE:
            shared.clear()
        found = shared[items] = _frozen(value)
    return found


def _frozen(value: dict[str, Any]) -> FrozenMap[Any]:
    """A read-only copy of *value*: written by funnelkit, its keys come sorted."""
    keys = list(value)
    if keys == sorted(keys):
        return FrozenMap._trusted(dict(value))  # noqa: SLF001 -- sorted already
    return FrozenMap(value)


def _instant(value: object) -> datetime | None:
    return None if value is None else _parse_datetime(value)


def _activity(value: Any) -> Activity:  # noqa: ANN401 -- data of any shape
    """Build an activity written with every key."""
    lead_id, kind, ident, source = (
        value["lead_id"],
        value["kind"],
        value["id"],
        value["source"],
    )
    if not (
        type(lead_id) is str
        and lead_id.strip()
        and type(kind) is str
        and kind.strip()
        and type(ident) is str
        and ident.strip()
        and (source is None or (type(source) is str and source.strip()))
    ):
        raise _Unusual
    return _new_activity(
        lead_id,
        kind,
        _parse_datetime(value["at"]),
        ident,
        _properties(value["properties"]),
        source,
    )


def _contribution(value: Any) -> Contribution:  # noqa: ANN401 -- data of any shape
    """Build a ledger line written with every key."""
    rule, dimension, note = value["rule"], value["dimension"], value["note"]
    points, raw, decay, cap = (
        value["points"],
        value["raw"],
        value["decay"],
        value["cap"],
    )
    ids, skipped = value["activity_ids"], value["skipped_ids"]
    if not (
        type(rule) is str
        and type(dimension) is str
        and type(note) is str
        and type(points) in _NUMBER
        and type(raw) in _NUMBER
        and type(decay) in _NUMBER
        and type(cap) in _NUMBER
        # One test for four: JSON's 1e400 reads as infinity, which the
        # constructor refuses (a sum past the float range is left to it).
        and math.isfinite(points + raw + decay + cap)
    ):
        raise _Unusual
    return _new_contribution(
        rule,
        dimension,
        points,
        raw,
        decay,
        cap,
        _strings(ids),
        _strings(skipped),
        note,
    )


def _strings(value: object) -> tuple[str, ...]:
    """A JSON list of strings, as a tuple."""
    if type(value) is not list:
        raise _Unusual
    for item in value:
        if type(item) is not str:
            raise _Unusual
    return tuple(value)


def _lead(value: Any) -> Lead:  # noqa: ANN401 -- data of any shape
    value = _fields(value, _LEAD_KEYS)
    bant = _fields(value["bant"], _BANT_KEYS)
    ident, email, source, owner = (
        value["id"],
        value["email"],
        value["source"],
        value["owner"],
    )
    budget, authority, need, timeline = (
        bant["budget"],
        bant["authority"],
        bant["need"],
        bant["timeline"],
    )
    if not (
        type(ident) is str
        and ident.strip()
        # The lead's own check of an address (a private name, the same pattern).
        and (email is None or (type(email) is str and _EMAIL.fullmatch(email)))
        and (source is None or (type(source) is str and source.strip()))
        and (owner is None or (type(owner) is str and owner.strip()))
        and (budget is None or type(budget) is bool)
        and (authority is None or type(authority) is bool)
        and (need is None or type(need) is bool)
    ):
        raise _Unusual
    if budget is None and authority is None and need is None and timeline is None:
        answers = _NO_ANSWERS
    else:
        answers = _new_bant(
            budget,
            authority,
            need,
            None if timeline is None else _parse_date(timeline),
        )
    return _new_lead(
        ident,
        _parse_datetime(value["created_at"]),
        email,
        _properties(value["attributes"]),
        answers,
        source,
        owner,
    )


def _verdict(value: Any) -> Verdict:  # noqa: ANN401 -- data of any shape
    value = _fields(value, _VERDICT_KEYS)
    passed, criterion, reason, children = (
        value["passed"],
        value["criterion"],
        value["reason"],
        value["children"],
    )
    if not (
        type(passed) is bool
        and type(criterion) is str
        and criterion.strip()
        and type(reason) is str
        and type(children) is list
    ):
        raise _Unusual
    return _new_verdict(
        passed, criterion, reason, tuple([_verdict(child) for child in children])
    )


def _record(value: Any) -> TransitionRecord:  # noqa: ANN401 -- data of any shape
    value = _fields(value, _RECORD_KEYS)
    source, target, by, reason, verdict, override = (
        value["source"],
        value["target"],
        value["by"],
        value["reason"],
        value["verdict"],
        value["override"],
    )
    if not (
        (source is None or (type(source) is str and source.strip()))
        and type(target) is str
        and target.strip()
        and type(by) is str
        and by.strip()
        and (reason is None or (type(reason) is str and reason.strip()))
        and type(override) is bool
    ):
        raise _Unusual
    return _new_record(
        source,
        target,
        _parse_datetime(value["at"]),
        by,
        reason,
        None if verdict is None else _verdict(verdict),
        override,
    )


def _score(value: Any) -> Score:  # noqa: ANN401 -- data of any shape
    value = _fields(value, _SCORE_KEYS)
    model, lead_id, written, grade, band, lines, notes = (
        value["model"],
        value["lead_id"],
        value["dimensions"],
        value["grade"],
        value["band"],
        value["contributions"],
        value["notes"],
    )
    if not (
        type(model) is str
        and type(lead_id) is str
        and type(written) is dict
        and type(grade) is str
        and type(band) is str
        and type(lines) is list
    ):
        raise _Unusual
    dimensions: dict[str, float] = {}
    for name, points in written.items():
        if (
            type(name) is not str
            or type(points) not in _NUMBER
            or not math.isfinite(points)
        ):
            raise _Unusual
        dimensions[name] = points
    return _new_score(
        model,
        lead_id,
        _parse_datetime(value["at"]),
        _frozen(dimensions),
        grade,
        band,
        tuple([_contribution(_fields(line, _CONTRIBUTION_KEYS)) for line in lines]),
        _strings(notes),
    )


def _timer(value: Any) -> SlaTimer:  # noqa: ANN401 -- data of any shape
    value = _fields(value, _TIMER_KEYS)
    rule, stage, entry = value["rule"], value["stage"], value["entry"]
    # As SlaTimer checks them: names not blank, a position of 0 or more.
    if not (
        type(rule) is str
        and rule.strip()
        and type(stage) is str
        and stage.strip()
        and type(entry) is int
        and entry >= 0
    ):
        raise _Unusual
    timer = _new_timer(
        rule,
        stage,
        entry,
        _parse_datetime(value["started_at"]),
        _parse_datetime(value["deadline"]),
        _instant(value["warn_at"]),
        _instant(value["warned_at"]),
        _instant(value["breached_at"]),
        _instant(value["met_at"]),
        _instant(value["cancelled_at"]),
        _instant(value["paused_at"]),
    )
    if timer_problem(timer) is not None:
        raise _Unusual  # instants out of a timer's order: cattrs names the field
    return timer


def _lead_state(value: Any) -> LeadState:  # noqa: ANN401 -- data of any shape
    """Build a lead's state written with every key, as a store reads it back."""
    stage, history, count, timers = (
        value["stage"],
        value["history"],
        value["activities"],
        value["timers"],
    )
    # As LeadState checks them: a stage not blank, a count of 0 or more.
    if not (
        type(stage) is str
        and stage.strip()
        and type(history) is list
        and type(count) is int
        and count >= 0
        and type(timers) is list
    ):
        raise _Unusual
    state = _new_state(
        _lead(value["lead"]),
        stage,
        _parse_datetime(value["entered_at"]),
        _score(value["score"]),
        tuple([_record(record) for record in history]),
        _parse_datetime(value["updated_at"]),
        count,
        tuple([_timer(timer) for timer in timers]),
    )
    if state_problem(state) is not None:
        raise _Unusual  # parts that do not fit together: cattrs names the field
    return state


def _fast_path(
    made: cattrs.Converter,
    cls: type[T],
    keys: frozenset[str],
    build: Callable[[Any], T],
    prepare: Callable[[Any], Any] | None = None,
) -> None:
    """Read *cls* from a JSON object with all its keys without cattrs's machinery.

    What *build* gives up on takes cattrs's path, which accepts or rejects
    exactly as before and names every problem.
    """
    strict = _class_factory(cls, made)
    size = len(keys)

    def structure(value: object, _: object) -> T:
        if type(value) is dict and len(value) == size:
            try:
                return build(value)
            except (
                _Unusual,
                KeyError,
                ValueError,
                TypeError,
                ArithmeticError,  # a whole number too large for a float's tests
            ):  # ValidationError is a ValueError
                pass
        if prepare is not None:
            value = prepare(value)
        made_by_cattrs: T = strict(value, cls)
        return made_by_cattrs

    made.register_structure_hook(cls, structure)


# What cattrs writes of these values, written directly (a property test holds
# the two to the same text).


def _write_activity(activity: Activity) -> dict[str, Any]:
    return {
        "lead_id": activity.lead_id,
        "kind": activity.kind,
        "at": _format_datetime(activity.at),
        "id": activity.id,
        "properties": thaw(activity.properties),
        "source": activity.source,
    }


def _write_lead(lead: Lead) -> dict[str, Any]:
    bant = lead.bant
    timeline = bant.timeline
    return {
        "id": lead.id,
        "created_at": _format_datetime(lead.created_at),
        "email": lead.email,
        "attributes": thaw(lead.attributes),
        "bant": {
            "budget": bant.budget,
            "authority": bant.authority,
            "need": bant.need,
            "timeline": None if timeline is None else timeline.isoformat(),
        },
        "source": lead.source,
        "owner": lead.owner,
    }


def _write_verdict(verdict: Verdict) -> dict[str, Any]:
    return {
        "passed": verdict.passed,
        "criterion": verdict.criterion,
        "reason": verdict.reason,
        "children": [_write_verdict(child) for child in verdict.children],
    }


def _write_record(record: TransitionRecord) -> dict[str, Any]:
    verdict = record.verdict
    return {
        "source": record.source,
        "target": record.target,
        "at": _format_datetime(record.at),
        "by": record.by,
        "reason": record.reason,
        "verdict": None if verdict is None else _write_verdict(verdict),
        "override": record.override,
    }


def _write_line(line: Contribution) -> dict[str, Any]:
    return {
        "rule": line.rule,
        "dimension": line.dimension,
        "points": line.points,
        "raw": line.raw,
        "decay": line.decay,
        "cap": line.cap,
        "activity_ids": list(line.activity_ids),
        "skipped_ids": list(line.skipped_ids),
        "note": line.note,
    }


def _write_score(score: Score) -> dict[str, Any]:
    return {
        "model": score.model,
        "lead_id": score.lead_id,
        "at": _format_datetime(score.at),
        "dimensions": thaw(score.dimensions),
        "grade": score.grade,
        "band": score.band,
        "contributions": [_write_line(line) for line in score.contributions],
        "notes": list(score.notes),
    }


def _write_timer(timer: SlaTimer) -> dict[str, Any]:
    return {
        "rule": timer.rule,
        "stage": timer.stage,
        "entry": timer.entry,
        "started_at": _format_datetime(timer.started_at),
        "deadline": _format_datetime(timer.deadline),
        "warn_at": _written_instant(timer.warn_at),
        "warned_at": _written_instant(timer.warned_at),
        "breached_at": _written_instant(timer.breached_at),
        "met_at": _written_instant(timer.met_at),
        "cancelled_at": _written_instant(timer.cancelled_at),
        "paused_at": _written_instant(timer.paused_at),
    }


def _written_instant(value: datetime | None) -> str | None:
    return None if value is None else _format_datetime(value)


def _write_state(state: LeadState) -> dict[str, Any]:
    """A lead's state as cattrs writes it."""
    return {
        "lead": _write_lead(state.lead),
        "stage": state.stage,
        "entered_at": _format_datetime(state.entered_at),
        "score": _write_score(state.score),
        "history": [_write_record(record) for record in state.history],
        "updated_at": _format_datetime(state.updated_at),
        "activities": state.activities,
        "timers": [_write_timer(timer) for timer in state.timers],
    }


def _without_null_id(value: object) -> object:
    """An activity's data with ``"id": null`` left out: Activity derives it then."""
    if type(value) is dict and "id" in value and value["id"] is None:
        return {key: item for key, item in value.items() if key != "id"}
    return value


def _derived_ids(made: cattrs.Converter) -> None:
    """Read an activity's ``"id": null`` as Activity(..., id=None) does: derived.

    The converter without fast paths (which tests compare with); the fast
    path does it on its way to cattrs.
    """
    read_activity = made.get_structure_hook(Activity)

    def activity(value: object, type_: object) -> Activity:
        made_activity: Activity = read_activity(_without_null_id(value), type_)
        return made_activity

    made.register_structure_hook(Activity, activity)


def _shared_answers(made: cattrs.Converter) -> None:
    """Read BANT answers with none given as the one shared ``Bant()``, as leads hold."""
    read_bant = made.get_structure_hook(Bant)

    def bant(value: object, type_: object) -> Bant:
        answers: Bant = read_bant(value, type_)
        return _NO_ANSWERS if answers == _NO_ANSWERS else answers

    made.register_structure_hook(Bant, bant)


def _fast_paths(made: cattrs.Converter) -> None:
    """Register the fast paths: a store's activities and its leads' states."""
    # On the fast path an id is text; "id": null takes cattrs's, derived.
    _fast_path(made, Activity, _ACTIVITY_KEYS, _activity, _without_null_id)
    _fast_path(made, Contribution, _CONTRIBUTION_KEYS, _contribution)
    _fast_path(made, LeadState, _STATE_KEYS, _lead_state)
    writers: list[tuple[type[Any], Callable[[Any], dict[str, Any]]]] = [
        (Activity, _write_activity),
        (Lead, _write_lead),
        (Verdict, _write_verdict),
        (TransitionRecord, _write_record),
        (Contribution, _write_line),
        (Score, _write_score),
        (SlaTimer, _write_timer),
        (LeadState, _write_state),
    ]
    for cls, write in writers:
        # The class itself: a subclass, with fields of its own, is cattrs's.
        made.register_unstructure_hook_func(_exactly(cls), write)
    made.register_unstructure_hook_func(_is_str_sequence, list)


def _exactly(cls: type[Any]) -> Callable[[object], bool]:
    def test(type_: object) -> bool:
        return type_ is cls

    return test


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
    if not step or step.startswith("["):  # no step (a constructor's check), an index
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
        message = f"expected {error.expected}, got {_shown(error.value)}"
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

    Raises:
        NaiveDatetimeError: *value* holds a datetime without a time zone,
            which no reader would accept back.
        ValidationError: *cls* is not None, a class or a type such as
            ``list[Event]``, or *value* holds a list or dict holding itself.
    """
    return _unstructured("unstructure", value, cls)


def _unstructured(owner: str, value: object, cls: Any) -> Any:  # noqa: ANN401 -- as unstructure
    """``converter.unstructure(value, cls)``, its arguments checked for *owner*."""
    if cls is not None:
        _check_cls(owner, cls)
    try:
        return converter.unstructure(value, cls)
    except RecursionError:
        raise ValidationError(
            owner=owner,
            field="value",
            value=value,
            expected=(
                "a value that holds no list or dict holding itself (nor nests "
                "deeper than Python's recursion limit)"
            ),
        ) from None


def _check_cls(owner: str, cls: object) -> None:
    """Refuse a *cls* that is no type to write a value as (a list, a number)."""
    if not (isinstance(cls, type) or cls is Any or get_origin(cls) is not None):
        raise ValidationError(
            owner=owner,
            field="cls",
            value=cls,
            expected=(
                "a type the value belongs to, such as funnelkit.Lead or "
                "list[funnelkit.Event], or None"
            ),
        )


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
#: What it writes holds no cycles (unstructure makes new lists and dicts): it
#: need not look for them.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
)


def to_json(value: object, *, indent: int | None = None, cls: Any = None) -> str:  # noqa: ANN401 -- a type, as structure() takes it
    """Return *value* as JSON text: compact, or indented by *indent* spaces.

    The same value always gives the same text, byte for byte. *cls* is as
    for :func:`unstructure`.

    Raises:
        NaiveDatetimeError: *value* holds a datetime without a time zone.
        ValidationError: *value* holds what JSON cannot (NaN or an infinity,
            bytes, an object funnelkit does not know, a list holding itself),
            *indent* is not None or a whole number, 0 or more, or *cls* is
            not None or a type (as for :func:`unstructure`).
    """
    if indent is not None and (type(indent) is not int or indent < 0):
        raise ValidationError(
            owner="to_json",
            field="indent",
            value=indent,
            expected="None or a whole number of spaces, 0 or more",
        )
    data = _unstructured("to_json", value, cls)
    try:
        if indent is None:
            return _ENCODER.encode(data)
        return json.dumps(
            data,
            ensure_ascii=False,
            allow_nan=False,
            indent=indent,
            separators=(",", ": "),
        )
    except (TypeError, ValueError) as error:
        # The encoder's own refusals: the data holds something JSON cannot
        # (a list holding itself stops the unstructuring above).
        raise ValidationError(
            owner="to_json",
            field="value",
            value=value,
            expected=(
                "a funnelkit value, or lists, dicts with text keys, text, finite "
                f"numbers, booleans and None (JSON says: {error})"
            ),
        ) from None


# JSON's quoting of a string as the encoder above writes it (no ASCII escapes).
_quoted = json.encoder.encode_basestring


def _activity_json(activity: Activity) -> str:
    """Return ``to_json(activity)``, written directly for most activities.

    An activity of the class itself, under the hook funnelkit registers (as
    nearly every stored one is), is written as one string: only its
    properties, if any, go through the encoder (the same one, so the same
    text); any other takes to_json's path. A property test holds the two
    to the same text.
    """
    if (
        type(activity) is not Activity
        or converter.get_unstructure_hook(Activity) is not _write_activity
    ):
        return to_json(activity)
    properties = activity.properties
    written = _ENCODER.encode(thaw(properties)) if properties else "{}"
    source = activity.source
    return (
        f'{{"lead_id":{_quoted(activity.lead_id)},"kind":{_quoted(activity.kind)},'
        f'"at":{_quoted(_format_datetime(activity.at))},"id":{_quoted(activity.id)},'
        f'"properties":{written},'
        f'"source":{"null" if source is None else _quoted(source)}}}'
    )


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number funnelkit accepts")


#: One decoder for every call: json.loads with an argument makes one a call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_raw_decode = _DECODER.raw_decode


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members, refused when a key is given twice."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} given twice")
        seen.add(key)
    return dict(pairs)


#: The decoder of text from elsewhere: a key given twice is refused (Python
#: keeps the last, and a typo must not pass silently). What funnelkit wrote
#: itself is read with _DECODER, which makes no Python call an object.
_CHECKING = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_pairs)


def _decode(text: str) -> Any:  # noqa: ANN401 -- JSON data of any shape
    """Return ``_DECODER.decode(text)``; compact text without its two whitespace scans.

    ``decode`` matches a pattern for whitespace before and after the value;
    what funnelkit writes has none. Anything else (whitespace, extra data,
    bad JSON) is left to ``decode``, which accepts it or raises its error.
    """
    try:
        value, end = _raw_decode(text)
    except ValueError:
        return _DECODER.decode(text)
    if end != len(text):
        return _DECODER.decode(text)
    return value


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Build a *cls* from JSON text.

    Raises:
        SerializationError: the text is not JSON (a key given twice, or
            nested too deep, included), or does not describe a *cls*; every
            problem is listed with its path.
    """
    return _from_json(text, cls, checked=True)


def _from_stored_json(text: str, cls: type[T]) -> T:
    """:func:`from_json` of text funnelkit wrote (a store's): no key given twice."""
    return _from_json(text, cls, checked=False)


def _from_json(text: str | bytes, cls: type[T], *, checked: bool) -> T:
    given: object = text  # checked at run time, whatever the types say
    if not isinstance(given, str | bytes | bytearray):
        raise SerializationError(
            target=_target(cls),
            problems=[("", f"expected JSON text (str or bytes), got {_shown(given)}")],
        )
    try:
        if checked:
            data = (
                _CHECKING.decode(text)
                if isinstance(text, str)
                else json.loads(
                    text, parse_constant=_reject_constant, object_pairs_hook=_pairs
                )
            )
        else:  # a store's own text
            data = _decode(text)  # type: ignore[arg-type] # str, as _from_stored_json takes
    except RecursionError:
        raise SerializationError(
            target=_target(cls),
            problems=[("", "invalid JSON: nested too deep for Python to read")],
        ) from None
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
