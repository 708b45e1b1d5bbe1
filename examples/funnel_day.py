"""Two days of one lead in the default funnel: scoring, a move, the SLA clock.

Run it with ``python examples/funnel_day.py``. A lead from a software company
in Germany downloads, attends a webinar and looks at pricing; the policy makes
it an MQL by itself and says why; sales is slow to accept it, so the SLA warns
and then escalates; a rep accepts it and calls within the hour.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from funnelkit import (
    Activity,
    Event,
    Funnel,
    Lead,
    ScoreChanged,
    SlaBreached,
    StageChanged,
    kinds,
    policies,
)
from funnelkit.testing import ManualClock

BERLIN = ZoneInfo("Europe/Berlin")


def describe(event: Event) -> str:
    """One line per event, as a sales dashboard would show it."""
    when = event.at.astimezone(BERLIN).strftime("%a %H:%M")
    name = type(event).__name__
    if isinstance(event, StageChanged):
        record = event.record
        return f"{when}  {name}: {record.source} -> {record.target} by {record.by}"
    if isinstance(event, ScoreChanged):
        score = event.score
        return f"{when}  {name}: fit {score.fit:g}, engagement {score.engagement:g}"
    if isinstance(event, SlaBreached):
        return f"{when}  {name}: {event.timer.rule}, tell {event.escalate_to}"
    timer = getattr(event, "timer", None)
    rule = f": {timer.rule}" if timer is not None else ""
    return f"{when}  {name}{rule}"


def main() -> None:
    """Feed the funnel two days of one lead's life and print what happened."""
    monday = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    clock = ManualClock(monday)
    funnel = Funnel(policies.b2b_saas(timezone="Europe/Berlin"), clock=clock)
    events: list[Event] = []
    funnel.subscribe(events.append)

    lead = Lead(
        "L-1001",
        monday,
        email="ana@acme.example",
        attributes={"industry": "software", "employees": 120},
    )
    funnel.add_lead(lead)
    for minutes, kind in (
        (20, kinds.CONTENT_DOWNLOAD),
        (45, kinds.CONTENT_DOWNLOAD),
        (90, kinds.WEBINAR_ATTENDED),
        (150, kinds.PRICING_PAGE_VIEW),
    ):
        funnel.record(Activity(lead.id, kind, monday + timedelta(minutes=minutes)))

    # Sales looks at the queue only on Tuesday afternoon.
    clock.set(monday + timedelta(days=1, hours=7))
    funnel.tick()
    funnel.move(lead.id, "sal", by="rep:jonas")
    funnel.record(
        Activity(
            lead.id,
            kinds.SALES_TOUCH,
            clock.now() + timedelta(minutes=25),
            properties={"channel": "call"},
        )
    )

    for event in events:
        print(describe(event))
    moved = funnel.state(lead.id).history[1]
    print()
    print(f"Why {moved.source} -> {moved.target}:")
    assert moved.verdict is not None  # noqa: S101 -- every recorded move has one
    print(moved.verdict.explain())


if __name__ == "__main__":
    main()
