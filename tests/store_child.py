"""A child process for the store tests: records activities into a store file.

Run as ``python store_child.py PATH PREFIX COUNT``: opens the store, adds the
lead PREFIX (and the shared lead ``shared``) if missing, then records COUNT
page views, printing each activity's id once its record has returned.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from funnelkit import Activity, Funnel, Lead, SQLiteStore, kinds, policies
from funnelkit.testing import ManualClock

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def main(path: str, prefix: str, count: int) -> None:
    """Record *count* activities of the lead *prefix* and the shared lead."""
    store = SQLiteStore(path, synchronous="NORMAL", timeout=30)
    funnel = Funnel(policies.b2b_saas(), store=store, clock=ManualClock(T0))
    for lead_id in (prefix, "shared"):
        funnel.add_lead(Lead(lead_id, T0))  # no change if there already
    start = len(store.activities(prefix))
    for number in range(start, start + count):
        at = T0 + timedelta(minutes=number)
        for lead_id in (prefix, "shared"):
            activity = Activity(lead_id, kinds.PAGE_VIEW, at, id=f"{prefix}-{number}")
            funnel.record(activity)
            sys.stdout.write(f"{activity.lead_id} {activity.id}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
