"""Lead data: the lead, its BANT answers, and the activities it performs."""

from __future__ import annotations

import hashlib
import json
import re
from bisect import insort
from collections.abc import Mapping
from datetime import UTC, date, datetime

import attrs

from funnelkit._frozen import EMPTY, freeze
from funnelkit._time import in_utc, utc_micros
from funnelkit._validators import (
    Scalar,
    aware_datetime,
    non_empty_str,
    optional_bool,
    optional_date,
    optional_non_empty_str,
    scalar_mapping,
)
from funnelkit.errors import ValidationError

__all__ = [
    "Activity",
    "Bant",
    "Lead",
    "activity_id",
    "add_in_time_order",
    "time_order",
    "with_in_time_order",
]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# Marks an id still to be derived while the other fields are validated.
_PENDING = "(derived from content)"
# The version of the content encoding behind derived ids: a change of
# encoding must change this, so old and new ids can never collide silently.
_ID_SCHEME = "funnelkit.activity/1"
_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":")
)


@attrs.frozen(kw_only=True)
class Bant:
    """What sales learned of a lead's Budget, Authority, Need and Timeline.

    ``budget``, ``authority`` and ``need`` are ``True`` (confirmed), ``False``
    (denied) or ``None`` (not known yet); ``timeline`` is the date by which the
    lead expects to buy, or ``None``.

    >>> Bant(budget=True, need=True).confirmed
    2
    """

    budget: bool | None = attrs.field(default=None, validator=optional_bool)
    authority: bool | None = attrs.field(default=None, validator=optional_bool)
    need: bool | None = attrs.field(default=None, validator=optional_bool)
    timeline: date | None = attrs.field(default=None, validator=optional_date)

    @property
    def confirmed(self) -> int:
        """How many of budget, authority and need are confirmed."""
        return (self.budget is True) + (self.authority is True) + (self.need is True)


#: What is known of most leads: nothing yet. Read-only, so one value serves
#: every lead made without answers.
NO_ANSWERS = Bant()


def _check_email(
    instance: Lead, attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is not None and (
        not isinstance(value, str) or not _EMAIL.fullmatch(value)
    ):
        raise ValidationError(
            owner=type(instance).__name__,
            field=attribute.name,
            value=value,
            expected="an email address such as 'ana@example.com', or None",
        )


def _instant(value: datetime) -> int:
    """The instant a time names, which values compare and hash it by.

    Python finds two times of one zone equal by their clocks alone: the two
    01:30 of the night the clocks go back, an hour apart, would be one.
    Times of one instant in two zones are equal, as Python has them.
    """
    return utc_micros(value)


def _typed_items(value: Mapping[str, Scalar]) -> tuple[tuple[str, type, Scalar], ...]:
    """A map's items with their values' types, which values compare and hash by.

    Python finds ``1``, ``1.0`` and ``True`` equal; a rule tests them
    otherwise, and JSON writes them otherwise.
    """
    return tuple((key, _kind(item), item) for key, item in value.items())


def _kind(value: object) -> type:
    """A scalar's JSON kind: a subclass (numpy's float64, a StrEnum) is its base."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind
    return type(value)  # None


def _mask_email(value: str | None) -> str:
    # Reprs end up in logs: keep the domain (useful when debugging), hide the person.
    if value is None:
        return "None"
    return repr("***@" + value.rpartition("@")[2])


def _check_bant(
    instance: Lead, attribute: attrs.Attribute[Bant], value: object
) -> None:
    if not isinstance(value, Bant):
        raise ValidationError(
            owner=type(instance).__name__,
            field=attribute.name,
            value=value,
            expected="a funnelkit.Bant",
        )


@attrs.frozen
class Lead:
    """A person, and their company, who may buy.

    Args:
        id: The host application's id for the lead.
        created_at: When the lead was created (timezone-aware).
        email: Their email address, if known. Reprs show only its domain.
        attributes: What is known of the lead and their company (industry,
            employees, country, job title...), as JSON scalars: strings,
            ints, finite floats, booleans or ``None``. Stored read-only, with
            the keys sorted.
        bant: What sales learned of budget, authority, need and timeline.
        source: The channel the lead came from (``"paid_search"``, ``"event"``).
        owner: The sales rep or team who owns the lead.

    Change a lead with :func:`attrs.evolve`:

    >>> from datetime import UTC, datetime
    >>> import attrs
    >>> lead = Lead("L-1", datetime(2026, 3, 2, 9, tzinfo=UTC), email="ana@example.com")
    >>> attrs.evolve(lead, attributes={"industry": "software"})
    Lead(id='L-1', created_at=..., email='***@example.com', attributes={'industry': 'software'}, bant=Bant(...), source=None, owner=None)
    """  # noqa: E501 -- a doctest output line cannot be wrapped

    id: str = attrs.field(validator=non_empty_str)
    created_at: datetime = attrs.field(validator=aware_datetime, eq=_instant)
    email: str | None = attrs.field(
        kw_only=True, default=None, validator=_check_email, repr=_mask_email
    )
    attributes: Mapping[str, Scalar] = attrs.field(
        kw_only=True,
        default=EMPTY,
        converter=freeze,
        validator=scalar_mapping,
        eq=_typed_items,
    )
    bant: Bant = attrs.field(kw_only=True, default=NO_ANSWERS, validator=_check_bant)
    source: str | None = attrs.field(
        kw_only=True, default=None, validator=optional_non_empty_str
    )
    owner: str | None = attrs.field(
        kw_only=True, default=None, validator=optional_non_empty_str
    )


@attrs.frozen(init=False)
class Activity:
    """Something a lead did, or that was done to them, at an instant.

    Args:
        lead_id: The id of the lead.
        kind: What happened: one of :mod:`funnelkit.kinds` or a host's own
            string.
        at: When it happened (timezone-aware).
        id: A unique id. When omitted, a deterministic one is derived from the
            content (every other field), the same on every machine and Python
            run, so a redelivered activity keeps its id and the engine can
            ignore the duplicate.
        properties: Details of the activity (``{"asset": "whitepaper"}``),
            as JSON scalars, stored read-only with the keys sorted.
        source: The system that reported the activity.

    >>> from datetime import UTC, datetime
    >>> a = Activity("L-1", "content_download", datetime(2026, 3, 2, 9, tzinfo=UTC))
    >>> a.id == Activity("L-1", "content_download", a.at).id
    True
    >>> a.id == Activity("L-1", "webinar_attended", a.at).id
    False

    A derived id is fixed when the activity is made: :func:`attrs.evolve` keeps
    it unless told ``id=None``.
    """

    lead_id: str = attrs.field(validator=non_empty_str)
    kind: str = attrs.field(validator=non_empty_str)
    at: datetime = attrs.field(validator=aware_datetime, eq=_instant)
    # The default None tells serialization that "id" may be left out; the
    # __init__ below turns it into the derived id.
    id: str = attrs.field(kw_only=True, default=None, validator=non_empty_str)
    properties: Mapping[str, Scalar] = attrs.field(
        kw_only=True,
        default=EMPTY,
        converter=freeze,
        validator=scalar_mapping,
        eq=_typed_items,
    )
    source: str | None = attrs.field(
        kw_only=True, default=None, validator=optional_non_empty_str
    )

    def __init__(  # noqa: PLR0913 -- the fields of the value, all keyword-able
        self,
        lead_id: str,
        kind: str,
        at: datetime,
        *,
        id: str | None = None,  # noqa: A002 -- the field is called id
        properties: Mapping[str, Scalar] = EMPTY,
        source: str | None = None,
    ) -> None:
        self.__attrs_init__(
            lead_id,
            kind,
            at,
            id=_PENDING if id is None else id,
            properties=properties,
            source=source,
        )
        if id is None:
            object.__setattr__(self, "id", activity_id(self))


def activity_id(activity: Activity) -> str:
    """Return the id derived from *activity*'s content, ignoring its own ``id``.

    The content is the lead id, the kind, the instant of ``at`` (the same
    instant written in two time zones is the same content), the properties and
    the source, encoded canonically and hashed with SHA-256 (32 hex digits).
    """
    content = [
        _ID_SCHEME,
        activity.lead_id,
        activity.kind,
        utc_micros(activity.at),
        # Keys are sorted already (FrozenMap), which makes the encoding canonical.
        dict(activity.properties.items()),
        activity.source,
    ]
    encoded = _CANONICAL.encode(content)
    # UTF-8, a lone surrogate (which JSON may give) passed through as well.
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def time_order(activity: Activity) -> tuple[datetime, str]:
    """The key funnelkit orders a lead's activities by: time, then id.

    The time is the instant in UTC (:func:`~funnelkit._time.in_utc`): Python
    compares two datetimes of one time zone on their local clocks, which puts
    01:50 BST after 01:10 GMT on the night the clocks go back.
    """
    return in_utc(activity.at), activity.id


def _not_before(activity: Activity, last: Activity) -> bool:
    """Whether *activity* goes after *last* in time order (time_order, inline)."""
    # See in_utc; an instant in UTC already is its own, with no call.
    at, other = activity.at, last.at
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    if other.tzinfo is not UTC:
        other = other.astimezone(UTC)
    return at > other or (at == other and activity.id >= last.id)


def add_in_time_order(held: list[Activity], activity: Activity) -> None:
    """Put *activity* into *held* (in time order) at its place."""
    if not held or _not_before(activity, held[-1]):
        held.append(activity)  # the usual case: the latest
    else:
        insort(held, activity, key=time_order)


def with_in_time_order(
    held: tuple[Activity, ...], activity: Activity
) -> tuple[Activity, ...]:
    """Return *held* (in time order) with *activity* at its place."""
    if not held or _not_before(activity, held[-1]):
        return (*held, activity)  # the usual case: the latest
    ordered = list(held)
    insort(ordered, activity, key=time_order)
    return tuple(ordered)
