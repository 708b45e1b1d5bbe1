"""ManualClock: a clock that moves only when a test moves it."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from funnelkit._time import require_aware
from funnelkit.errors import ValidationError

__all__ = ["ManualClock"]


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

    Args:
        start: The time the clock shows until it is moved (timezone-aware).
    """

    _now: datetime = attrs.field(alias="start", validator=_check_start)

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

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by *delta* (zero or more); return the new time.

        Raises:
            ValidationError: *delta* is negative or not a timedelta.
        """
        candidate: object = delta  # callers may pass anything at run time
        if not isinstance(candidate, timedelta) or candidate < timedelta(0):
            raise ValidationError(
                owner="ManualClock.advance",
                field="delta",
                value=delta,
                expected="a timedelta of zero or more (use set() to go back)",
            )
        self._now += delta
        return self._now
