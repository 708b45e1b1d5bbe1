"""ManualClock: a clock that moves only when a test moves it."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from funnelkit._calendar import BusinessCalendar
from funnelkit._duration import BusinessDuration, parse_duration
from funnelkit._time import add_elapsed, require_aware
from funnelkit.errors import ValidationError

__all__ = ["ManualClock"]

_DELTA = (
    "a duration of zero or more: a timedelta, a BusinessDuration, or text such "
    "as '90 minutes' or '9 business hours' (use set() to go back)"
)


def _check_start(
    instance: ManualClock, attribute: attrs.Attribute[datetime], value: object
) -> None:
    require_aware(
        value, field=attribute.alias or attribute.name, owner=type(instance).__name__
    )


@attrs.define
class ManualClock:
    """A :class:`~funnelkit.Clock` for tests: time stands still until moved.

    Give it to a funnel instead of patching time:

    >>> from datetime import UTC, datetime, timedelta
    >>> clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    >>> clock.advance(timedelta(hours=1))
    datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc)
    >>> clock.now()
    datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc)

    Business time needs the calendar that counts it:

    >>> from funnelkit import BusinessCalendar
    >>> calendar = BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC")
    >>> clock.advance("9 business hours", calendar=calendar).isoformat()
    '2026-03-03T11:00:00+00:00'

    Args:
        start: The time the clock shows until it is moved (timezone-aware).
    """

    _now: datetime = attrs.field(alias="start", validator=_check_start)

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"

    def now(self) -> datetime:
        """Return the time the clock shows."""
        return self._now

    def set(self, at: datetime) -> datetime:
        """Show *at* from now on, earlier or later than before; return it.

        Raises:
            NaiveDatetimeError: *at* has no time zone.
        """
        self._now = require_aware(at, field="at", owner="ManualClock.set")
        return self._now

    def advance(
        self,
        delta: timedelta | BusinessDuration | str,
        *,
        calendar: BusinessCalendar | None = None,
    ) -> datetime:
        """Move the clock forward by *delta*; return the new time.

        Args:
            delta: How far: a ``timedelta`` (wall-clock time, whether or not a
                calendar is given), a :class:`~funnelkit.BusinessDuration`
                (open time, counted as ``calendar.add(now, delta)`` does, so
                nights, weekends and holidays pass by), or text that
                :func:`~funnelkit.parse_duration` reads as either
                (``"90 minutes"``, ``"2 days"``, ``"9 business hours"``).
                Zero stands still; the clock never goes back (``set`` does).
            calendar: The :class:`~funnelkit.BusinessCalendar` that counts a
                business duration; a wall-clock one ignores it.

        A business duration keeps the clock's time zone (as
        ``BusinessCalendar.add`` does). A call that raises leaves the clock
        where it was.

        Raises:
            ValidationError: *delta* is negative, not a duration, or text that
                is not one (``field`` is ``"delta"``); *calendar* is not a
                calendar, or *delta* is business time and no calendar was
                given (``field`` is ``"calendar"``).
        """
        owner = "ManualClock.advance"
        if calendar is not None and not isinstance(calendar, BusinessCalendar):
            raise ValidationError(
                owner=owner,
                field="calendar",
                value=calendar,
                expected="a funnelkit.BusinessCalendar, or None",
            )
        candidate: object = delta  # callers may pass anything at run time
        if isinstance(candidate, str):
            try:
                candidate = parse_duration(candidate)
            except ValidationError as error:
                raise ValidationError(
                    owner=owner, field="delta", value=delta, expected=error.expected
                ) from None
        if isinstance(candidate, BusinessDuration):
            if calendar is None:
                raise ValidationError(
                    owner=owner,
                    field="calendar",
                    value=calendar,
                    expected=(
                        f"a BusinessCalendar to count the business duration "
                        f"{str(candidate)!r} (or a timedelta of wall-clock time)"
                    ),
                )
            self._now = calendar.add(self._now, candidate)
            return self._now
        if not isinstance(candidate, timedelta) or candidate < timedelta(0):
            raise ValidationError(
                owner=owner, field="delta", value=delta, expected=_DELTA
            )
        try:
            self._now = add_elapsed(self._now, candidate)
        except OverflowError:
            raise ValidationError(
                owner=owner,
                field="delta",
                value=delta,
                expected="a duration that keeps the clock within the years 1 to 9999",
            ) from None
        return self._now
