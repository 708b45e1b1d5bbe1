"""A child process for the store tests: records activities into a store file.

Run as ``python store_child.py PATH PREFIX COUNT``: opens the store, adds the
lead PREFIX (and the shared lead ``shared``) if missing, then records COUNT
page views of each, printing each activity's id once its record has returned.

With ``--moves``, each number also takes one step of a lead of its own
through the default policy (a lead per ten numbers): added with a good fit,
engaged until it is an MQL, accepted, a hand-raise that makes it an SQL, an
opportunity, a customer, with ticks between; so a kill can fall in the
middle of a move, its SLA timers and its wakes.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from funnelkit import Activity, Funnel, Lead, SQLiteStore, kinds, policies
from funnelkit.testing import ManualClock

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
FIT: dict[str, str | int] = {
    "employees": 500,
    "industry": "saas",
    "title": "VP Sales",
    "country": "US",
}
# The step of a block's lead at each number of the block: a kind to record,
# a stage to move to, or "tick".
STEPS = (
    "add",
    kinds.WEBINAR_ATTENDED,
    kinds.CONTENT_DOWNLOAD,
    kinds.WEBINAR_ATTENDED,
    "tick",
    "sal",
    kinds.DEMO_REQUEST,
    "opportunity",
    "tick",
    "customer",
)


def step(funnel: Funnel, prefix: str, number: int, at: datetime) -> None:
    """Take the block lead of *number* one step through the policy."""
    lead_id = f"{prefix}-b{number // len(STEPS)}"
    # Added at every step: a kill may have skipped the block's first.
    funnel.add_lead(Lead(lead_id, T0, attributes=FIT))
    what = STEPS[number % len(STEPS)]
    if what == "tick":
        funnel.tick(at)
    elif what in {"sal", "opportunity", "customer"}:
        if what in funnel.available_moves(lead_id):
            funnel.move(lead_id, what, by="rep", at=at)
    elif what != "add":
        activity = Activity(lead_id, what, at, id=f"{lead_id}-{number}")
        funnel.record(activity)
        sys.stdout.write(f"{activity.lead_id} {activity.id}\n")
        sys.stdout.flush()


def main(path: str, prefix: str, count: int, *, moves: bool) -> None:
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
        if moves:
            step(funnel, prefix, number, at)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), moves="--moves" in sys.argv[4:])
