"""The demo: a synthetic quarter of leads through the default policy, reported.

Every lead, activity and sales decision is drawn from one seeded generator,
so a seed gives the same quarter, the same report and the same text, byte
for byte, on every machine.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from funnelkit import kinds
from funnelkit._events import Event, LeadState, StageChanged
from funnelkit._funnel import Funnel
from funnelkit._lead import Activity, Bant, Lead
from funnelkit._text import counted
from funnelkit.analytics import FunnelReport, Goal, sla_timers, stage_entries
from funnelkit.errors import GuardFailed
from funnelkit.policies import DISQUALIFY_REASONS, RECYCLE_REASONS, b2b_saas
from funnelkit.testing._clock import ManualClock

__all__ = ["Quarter", "render", "report", "simulate"]

#: The quarter: January to March 2026, in UTC.
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
PATH = ("mql", "sal", "sql", "opportunity", "customer")
REPS = ("ana", "ben", "chloe", "dev")
SOURCES = {"organic": 4, "paid_search": 3, "webinar": 2, "referral": 1, "event": 1}
INDUSTRIES = {
    "software": 4,
    "saas": 2,
    "financial_services": 2,
    "retail": 2,
    "education": 1,
    "manufacturing": 2,
}
TITLES = {
    "VP Sales": 2,
    "Head of Marketing": 2,
    "Director of Operations": 1,
    "Marketing Manager": 3,
    "Analyst": 3,
    "Student": 1,
    "CTO": 1,
}
COUNTRIES = {"US": 4, "GB": 2, "DE": 2, "FR": 1, "BR": 1, "IN": 1}
#: What leads do, and how often, by how interested they are (weights).
BROWSING = {
    kinds.PAGE_VIEW: 10,
    kinds.EMAIL_OPEN: 6,
    kinds.EMAIL_CLICK: 3,
    kinds.CONTENT_DOWNLOAD: 2,
    kinds.WEBINAR_REGISTERED: 1,
    kinds.WEBINAR_ATTENDED: 1,
    kinds.PRICING_PAGE_VIEW: 1,
}
HAND_RAISING = (kinds.DEMO_REQUEST, kinds.QUOTE_REQUEST, kinds.CONTACT_SALES)
HOUR = timedelta(hours=1)


@attrs.frozen
class Quarter:
    """A simulated quarter: the funnel it ran, its events and its window."""

    funnel: Funnel
    events: tuple[Event, ...]
    start: datetime
    end: datetime
    lead_ids: tuple[str, ...]
    activities: int


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _lead(rng: random.Random, number: int, created: datetime) -> tuple[Lead, float]:
    """A lead with its company and answers, and how interested it is (0 to 1)."""
    interest = rng.betavariate(1.3, 3.0)
    free = rng.random() < 0.25  # noqa: PLR2004 -- a quarter use a free address
    domain = "gmail.com" if free else f"company{number % 700}.example"
    known = rng.random() < interest
    lead = Lead(
        f"L-{number:05d}",
        created,
        email=f"person{number}@{domain}",
        attributes={
            "industry": _pick(rng, INDUSTRIES),
            "employees": int(math.exp(rng.uniform(math.log(5), math.log(8000)))),
            "title": _pick(rng, TITLES),
            "country": _pick(rng, COUNTRIES),
        },
        bant=Bant(
            budget=True if known and rng.random() < 0.6 else None,  # noqa: PLR2004 -- shares of answers
            authority=True if known and rng.random() < 0.5 else None,  # noqa: PLR2004
            need=True if known else None,
        ),
        source=_pick(rng, SOURCES),
        owner=REPS[number % len(REPS)],
    )
    return lead, interest


def _activities(
    rng: random.Random, lead: Lead, interest: float, end: datetime
) -> list[Activity]:
    """What the lead does over the weeks after it arrives."""
    found = []
    at = lead.created_at
    for _ in range(1 + int(rng.expovariate(1 / (2 + 25 * interest)))):
        at += timedelta(minutes=int(60 * rng.expovariate(1 / (60 - 50 * interest))))
        if at >= end:
            break
        kind = _pick(rng, BROWSING)
        if rng.random() < interest * 0.04:
            kind = rng.choice(HAND_RAISING)
        elif rng.random() < (1 - interest) * 0.01:
            kind = kinds.UNSUBSCRIBE
        found.append(Activity(lead.id, kind, at))
    return found


_Action = Callable[[datetime], list[Event]]


@attrs.define
class _Sales:
    """The sales team: what it does when a lead enters a stage, and when."""

    rng: random.Random
    funnel: Funnel
    interest: dict[str, float] = attrs.field(factory=dict)
    owner: dict[str, str] = attrs.field(factory=dict)
    queue: list[tuple[datetime, int, int, _Action]] = attrs.field(factory=list)
    planned: Iterator[int] = attrs.field(factory=itertools.count)

    def later(self, at: datetime, action: _Action) -> None:
        # Actions due at one instant run in the order the demo has always
        # given them (so a seed keeps its quarter); the plan's own number
        # settles a tie there, where the heap compared the actions themselves
        # and raised TypeError.
        number = next(self.planned)
        heapq.heappush(self.queue, (at, len(self.queue) + number, number, action))

    def react(self, events: list[Event]) -> None:
        """Schedule what sales does about each move the funnel made."""
        for event in events:
            if isinstance(event, StageChanged):
                self._entered(event.lead_id, event.record.target, event.record.at)

    def _entered(self, lead_id: str, stage: str, at: datetime) -> None:
        rng = self.rng
        interest = self.interest[lead_id]
        rep = self.owner[lead_id]
        if stage == "mql":
            # Most MQLs are taken within the day; a busy week leaves some waiting.
            when = at + timedelta(minutes=int(60 * rng.expovariate(1 / 10)))
            if rng.random() < 0.15:  # noqa: PLR2004 -- the share sales turns back
                self.later(when, self._move(lead_id, "nurture", rep, _recycle(rng)))
            else:
                self.later(when, self._move(lead_id, "sal", rep))
        elif stage == "sal":
            touch = at + timedelta(minutes=int(rng.expovariate(1 / 50)))
            self.later(touch, self._touch(lead_id))
            then = touch + timedelta(minutes=int(rng.uniform(0, 3 * 24 * 60)))
            self.later(then, self._qualify(lead_id, rep))
        elif stage == "sql":
            when = at + timedelta(hours=int(rng.uniform(24, 12 * 24)))
            if rng.random() < 0.3 + 0.6 * interest:
                self.later(when, self._move(lead_id, "opportunity", rep))
            else:
                self.later(when, self._move(lead_id, "nurture", rep, _recycle(rng)))
        elif stage == "opportunity":
            when = at + timedelta(hours=int(rng.uniform(7 * 24, 40 * 24)))
            if rng.random() < 0.2 + 0.6 * interest:
                self.later(when, self._move(lead_id, "customer", rep))
            else:
                reason = rng.choice(DISQUALIFY_REASONS)
                self.later(when, self._move(lead_id, "disqualified", rep, reason))

    def _move(
        self, lead_id: str, to: str, rep: str, reason: str | None = None
    ) -> _Action:
        def move(at: datetime) -> list[Event]:
            # The lead may have moved on in the meantime: then nothing to do.
            if not self.funnel.can_move(lead_id, to, at=at).passed:
                return []
            return self.funnel.move(lead_id, to, by=rep, reason=reason, at=at)

        return move

    def _touch(self, lead_id: str) -> _Action:
        def touch(at: datetime) -> list[Event]:
            call = Activity(
                lead_id, kinds.SALES_TOUCH, at, properties={"channel": "call"}
            )
            return self.funnel.record(call)

        return touch

    def _qualify(self, lead_id: str, rep: str) -> _Action:
        def qualify(at: datetime) -> list[Event]:
            if self.funnel.state(lead_id).stage != "sal":
                return []
            try:
                return self.funnel.move(lead_id, "sql", by=rep, at=at)
            except GuardFailed:
                reason = _recycle(self.rng)
                return self.funnel.move(
                    lead_id, "nurture", by=rep, reason=reason, at=at
                )

        return qualify


def _adding(funnel: Funnel, lead: Lead) -> _Action:
    return lambda _: funnel.add_lead(lead)


def _recording(funnel: Funnel, activity: Activity) -> _Action:
    return lambda _: funnel.record(activity)


def _recycle(rng: random.Random) -> str:
    return rng.choice(RECYCLE_REASONS)


def simulate(
    seed: int = 7,
    leads: int = 3000,
    progress: Callable[[float], None] | None = None,
) -> Quarter:
    """Run a synthetic quarter of *leads* leads through the default policy."""
    rng = random.Random(seed)  # noqa: S311 -- a simulation, not a secret
    end = END
    funnel = Funnel(b2b_saas(), clock=ManualClock(START))
    sales = _Sales(rng, funnel)
    # Leads arrive over the first ten weeks: the last three let them mature.
    span = (end - START - timedelta(weeks=3)) / HOUR
    activities = 0
    for number in range(leads):
        created = START + timedelta(minutes=int(rng.uniform(0, span) * 60))
        lead, interest = _lead(rng, number, created)
        sales.interest[lead.id] = interest
        sales.owner[lead.id] = lead.owner or REPS[0]
        sales.later(created, _adding(funnel, lead))
        for activity in _activities(rng, lead, interest, end):
            activities += 1
            sales.later(activity.at, _recording(funnel, activity))
    events: list[Event] = []
    ticked = START
    total = len(sales.queue)
    done = 0
    while sales.queue and sales.queue[0][0] < end:
        at, _, _, action = heapq.heappop(sales.queue)
        # The funnel's clock work: SLA warnings and breaches, every four hours.
        while ticked + 4 * HOUR <= at:
            ticked += 4 * HOUR
            found = funnel.tick(ticked)
            events += found
            sales.react(found)
        found = action(at)
        events += found
        sales.react(found)
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(min(done / total, 1.0))
    events += funnel.tick(end)
    return Quarter(
        funnel, tuple(events), START, end, tuple(sorted(sales.owner)), activities
    )


def _examples(quarter: Quarter) -> list[LeadState]:
    """A won lead, a lost one and one recycled: the first of each, by id."""
    wanted: dict[str, LeadState | None] = dict.fromkeys(
        ("customer", "disqualified", "nurture")
    )
    for lead_id in quarter.lead_ids:
        state = quarter.funnel.state(lead_id)
        if state.stage in wanted and wanted[state.stage] is None:
            wanted[state.stage] = state
    return [state for state in wanted.values() if state is not None]


def report(quarter: Quarter) -> FunnelReport:
    """The quarter's funnel report, SLA compliance and goals included."""
    states = [quarter.funnel.state(lead_id) for lead_id in quarter.lead_ids]
    return FunnelReport.build(
        stage_entries(states, segments=["source"]),
        stages=PATH,
        start=quarter.start,
        end=quarter.end,
        goals=[Goal("mql", "month", 150), Goal(("mql", "sql"), "month", 0.25)],
        timers=sla_timers(quarter.events),
    )


def render(quarter: Quarter, built: FunnelReport, *, as_json: bool = False) -> str:
    """The demo's output: the quarter's report *built* and the story of a few leads."""
    examples = _examples(quarter)
    if as_json:
        data: dict[str, Any] = {
            "leads": len(quarter.lead_ids),
            "activities": quarter.activities,
            "report": built.to_dict(),
            "examples": [_example_data(state) for state in examples],
        }
        return json.dumps(data, indent=2, ensure_ascii=False)
    lines = [
        (
            "funnelkit demo: a synthetic quarter of "
            f"{counted(len(quarter.lead_ids), 'lead')} and "
            f"{counted(quarter.activities, 'activity', 'activities')} through "
            f"{quarter.funnel.policy.label}"
        ),
        "",
        built.to_text(),
    ]
    for state in examples:
        lines += ["", f"== Lead {state.lead.id}: {state.stage}", state.score.explain()]
        lines.append("stage history:")
        for record in state.history:
            line = (
                f"  {record.at.isoformat()}  {record.source or '-'} -> "
                f"{record.target} by {record.by}"
            )
            if record.reason:
                line += f" ({record.reason})"
            lines.append(line)
            if record.verdict is not None and record.by == "auto":
                lines.append(f"    because {record.verdict.reason}")
    return "\n".join(lines)


def _example_data(state: LeadState) -> dict[str, Any]:
    return {
        "lead": state.lead.id,
        "stage": state.stage,
        "score": state.score.explain(),
        "history": [
            {
                "at": record.at.isoformat(),
                "from": record.source,
                "to": record.target,
                "by": record.by,
                "reason": record.reason,
            }
            for record in state.history
        ],
    }
