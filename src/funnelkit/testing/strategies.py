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

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from funnelkit import kinds as _kinds
from funnelkit._lead import Activity, Bant, Lead

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover -- the test suite has the extra
    msg = (
        "funnelkit.testing.strategies needs Hypothesis: "
        "pip install 'funnelkit[hypothesis]'"
    )
    raise ImportError(msg) from error

if TYPE_CHECKING:
    from collections.abc import Mapping

    from funnelkit._validators import Scalar

__all__ = [
    "activities",
    "aware_datetimes",
    "bants",
    "identifiers",
    "leads",
    "scalars",
    "time_zones",
]

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
    """Generate ids as hosts write them: short, printable, never blank."""
    return st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=12,
    ).filter(str.strip)


def scalars() -> st.SearchStrategy[Scalar]:
    """Generate JSON scalars: the values of attributes and properties."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )


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
        (st.sampled_from(sorted(_kinds.STANDARD)) | identifiers())
        if kinds is None
        else kinds,
        aware_datetimes() if at is None else at,
        id=id_choices,
        properties=_scalar_maps(3),
        source=st.none() | identifiers(),
    )
