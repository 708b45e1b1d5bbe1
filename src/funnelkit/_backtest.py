"""Backtests: what a policy would have done with the history, and two compared."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from funnelkit._events import Event, SlaBreached, StageChanged
from funnelkit._frozen import FrozenMap, freeze
from funnelkit._funnel import Funnel
from funnelkit._lead import Activity, Lead, activity_id
from funnelkit._policy import FunnelPolicy
from funnelkit._scoring import _num
from funnelkit._text import counted, table
from funnelkit._time import (
    in_utc,
    require_aware,
    utc_micros,
    zone_named,
)
from funnelkit._validators import (
    as_tuple,
    at_most,
    aware_datetime,
    check_items,
    count,
    counts,
    ends_after_start,
    finite,
    instance_of,
    items_of,
    non_empty_str,
    optional_non_negative,
    optional_share,
    reject,
    share,
    zone_name,
)
from funnelkit.errors import ValidationError
from funnelkit.testing._clock import ManualClock

__all__ = ["BacktestReport", "Comparison", "Decile", "backtest", "compare"]

_DECILES = 10


# The library builds these reports; a host reads them back from JSON, or
# builds them in its tests. Each checks its fields and how they bound each
# other, so that one read from damaged data is refused there, not later.


def _decile_number(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if type(value) is not int or not 1 <= value <= _DECILES:
        reject(instance, attribute, value, f"a whole number from 1 to {_DECILES}")


def _lead_ids(instance: object, attribute: Any, value: Any) -> None:  # noqa: ANN401 -- attrs' attribute
    if not isinstance(value, frozenset) or not all(
        isinstance(item, str) and item for item in value
    ):
        reject(instance, attribute, value, "a frozenset of lead ids")


@attrs.frozen(kw_only=True)
class Decile:
    """One tenth of the leads, ranked by score (decile 1 holds the highest).

    Leads with one score are in one decile, the one the first of them falls
    in: a tie is never split by the leads' ids.

    Attributes:
        decile: 1 to 10.
        leads: Leads in it.
        won: Of those, leads won.
        win_rate: ``won / leads``.
        lift: Its win rate over the win rate of every lead (``None`` when no
            lead won).
        low: The lowest score in it.
        high: The highest score in it.
    """

    decile: int = attrs.field(validator=_decile_number)
    leads: int = attrs.field(validator=count)
    won: int = attrs.field(validator=count)
    win_rate: float = attrs.field(validator=share)
    lift: float | None = attrs.field(validator=optional_non_negative)
    low: float = attrs.field(validator=finite)
    high: float = attrs.field(validator=finite)

    def __attrs_post_init__(self) -> None:
        at_most(self, "won", self.won, "leads", self.leads)
        at_most(self, "low", self.low, "high", self.high)


@attrs.frozen(kw_only=True)
class BacktestReport:
    """What a policy did with a history (see :func:`backtest`).

    Attributes:
        policy: The policy's label.
        start: The first instant of the period.
        end: The instant after it.
        leads: Leads created in the period.
        activities: Activities replayed (all of them before ``end``).
        mqls: Leads of the period that reached the MQL stage by ``end``: that
            entered it, or a stage past it (a hand-raiser fast-tracked from
            lead to sql has been an MQL).
        won: Leads of the period that were won, by the outcomes.
        won_mqls: MQLs that were won.
        precision: ``won_mqls / mqls``: how many MQLs were worth it.
        recall: ``won_mqls / won``: how many of the won leads were MQLs.
        auc: The ROC AUC of the leads' scores against the outcome: the
            chance that a won lead scores above a lead not won (ties count
            half). A lead's score is its total when it became an MQL, or at
            ``end`` if it never did.
        mqls_by_month: MQLs by the month they became one, in ``timezone``.
        deciles: The leads in tenths by that score, with their win rates
            (leads with one score in one tenth; a tenth with no lead of its
            own is left out).
        breaches: SLA breaches by rule, as the policy's timers would have
            given them: those of the period's leads, due in the period.
        mql_leads: The ids of the MQLs.
        timezone: The IANA time zone of the months.
    """

    policy: str = attrs.field(validator=non_empty_str)
    start: datetime = attrs.field(validator=aware_datetime)
    end: datetime = attrs.field(validator=aware_datetime)
    leads: int = attrs.field(validator=count)
    activities: int = attrs.field(validator=count)
    mqls: int = attrs.field(validator=count)
    won: int = attrs.field(validator=count)
    won_mqls: int = attrs.field(validator=count)
    precision: float | None = attrs.field(validator=optional_share)
    recall: float | None = attrs.field(validator=optional_share)
    auc: float | None = attrs.field(validator=optional_share)
    mqls_by_month: Mapping[str, int] = attrs.field(converter=freeze, validator=counts)
    deciles: tuple[Decile, ...] = attrs.field(
        converter=as_tuple, validator=items_of(Decile, "a tuple of Decile rows")
    )
    breaches: Mapping[str, int] = attrs.field(converter=freeze, validator=counts)
    mql_leads: frozenset[str] = attrs.field(repr=False, validator=_lead_ids)
    timezone: str = attrs.field(default="UTC", validator=zone_name)

    def __attrs_post_init__(self) -> None:
        ends_after_start(self)
        at_most(self, "mqls", self.mqls, "leads", self.leads)
        at_most(self, "won", self.won, "leads", self.leads)
        at_most(self, "won_mqls", self.won_mqls, "mqls", self.mqls)
        at_most(self, "won_mqls", self.won_mqls, "won", self.won)
        if len(self.mql_leads) != self.mqls:
            raise ValidationError(
                owner="BacktestReport",
                field="mql_leads",
                value=self.mql_leads,
                expected=f"the ids of the {self.mqls} MQLs",
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (without the MQLs' ids)."""
        return {
            "policy": self.policy,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "leads": self.leads,
            "activities": self.activities,
            "mqls": self.mqls,
            "won": self.won,
            "won_mqls": self.won_mqls,
            "precision": self.precision,
            "recall": self.recall,
            "auc": self.auc,
            "mqls_by_month": dict(self.mqls_by_month),
            "timezone": self.timezone,
            "deciles": [attrs.asdict(decile) for decile in self.deciles],
            "breaches": dict(self.breaches),
        }

    def to_text(self) -> str:
        """Return the report as text, its deciles as an aligned table."""
        return self._text()

    def _text(self, beside: BacktestReport | None = None) -> str:
        """The report as text, its table lined up with *beside*'s if given."""
        months = ", ".join(
            f"{month} {count:,}" for month, count in self.mqls_by_month.items()
        )
        breaches = ", ".join(f"{rule} {n:,}" for rule, n in self.breaches.items())
        both = [*self.deciles, *(beside.deciles if beside else ())]
        ranges = (
            max((len(_num(row.low)) for row in both), default=0),
            max((len(_num(row.high)) for row in both), default=0),
        )
        lines = [
            (
                f"Backtest of {self.policy}: {counted(self.leads, 'lead')}, "
                f"{counted(self.activities, 'activity', 'activities')}, "
                f"{self.start.isoformat()} to {self.end.isoformat()}"
            ),
            f"MQLs {self.mqls:,}; won {self.won:,}; won MQLs {self.won_mqls:,}",
            (
                f"precision {_percent(self.precision)}, recall "
                f"{_percent(self.recall)}, ROC AUC {_number(self.auc)}"
            ),
            f"MQLs by month ({self.timezone}): {months or 'none'}",
            f"SLA breaches: {breaches or 'none'}",
            "",
            table(
                _DECILE_COLUMNS,
                _decile_cells(self.deciles, ranges),
                words=0,
                also=_decile_cells(beside.deciles, ranges) if beside else (),
            ),
        ]
        return "\n".join(lines)


_DECILE_COLUMNS = ("decile", "leads", "won", "win rate", "lift", "scores")


def _decile_cells(
    deciles: Iterable[Decile], ranges: tuple[int, int]
) -> list[list[str]]:
    """The decile table's cells; *ranges* the widths of the lowest and highest scores.

    The scores are ``low to high``, each part padded so that the ``to`` of
    every row lines up.
    """
    low, high = ranges
    return [
        [
            str(row.decile),
            f"{row.leads:,}",
            f"{row.won:,}",
            _percent(row.win_rate),
            _number(row.lift),
            f"{_num(row.low):>{low}} to {_num(row.high):>{high}}",
        ]
        for row in deciles
    ]


@attrs.frozen(kw_only=True)
class Comparison:
    """Two policies' backtests on one history, and their differences in words."""

    a: BacktestReport = attrs.field(
        validator=instance_of(BacktestReport, "a BacktestReport")
    )
    b: BacktestReport = attrs.field(
        validator=instance_of(BacktestReport, "a BacktestReport")
    )
    differences: tuple[str, ...] = attrs.field(
        converter=as_tuple, validator=items_of(str, "a tuple of sentences")
    )

    def to_dict(self) -> dict[str, Any]:
        """Return both reports and the differences as JSON-ready data."""
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "differences": list(self.differences),
        }

    def to_text(self) -> str:
        """Return both reports, their tables lined up, then the differences."""
        return "\n".join(
            [
                self.a._text(beside=self.b),  # noqa: SLF001 -- its own module's
                "",
                self.b._text(beside=self.a),  # noqa: SLF001 -- its own module's
                "",
                "Differences",
                *(f"- {line}" for line in self.differences),
            ]
        )


def backtest(  # noqa: PLR0913 -- the history and its window
    policy: FunnelPolicy,
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    outcomes: Mapping[str, bool],
    *,
    start: datetime,
    end: datetime,
    mql: str = "mql",
    timezone: str = "UTC",
) -> BacktestReport:
    """Replay a history through *policy* on a manual clock and measure it.

    Every lead is added at its ``created_at`` (or, created at that instant,
    just before its first activity if that is earlier) and every activity
    before *end* recorded in time order (those of leads created before *start*
    too, so that their states are right); a last ``tick`` at *end* gives
    the time-driven moves and SLA breaches. The measures are over the leads
    created in ``[start, end)``, and their SLA breaches due in it; a move
    the last tick makes at *end* does not make an MQL, as a breach due then
    does not count: both are the next period's.

    Args:
        policy: The policy to try.
        leads: The leads.
        activities: Their activities, in any order. Of two activities of a
            lead with one id, the engine records the earlier and ignores the
            other; of two at the same instant, a fixed one by their content.
        outcomes: Whether each lead was won (a lead not listed was not).
        start: The first instant of the period measured.
        end: The instant after it: the replay stops there.
        mql: The policy's MQL stage. A lead reached it when it entered it or
            a stage past it: one the policy's transitions lead to from it
            through open and won stages (re-opens aside), and lead back from
            to it no such way; nurture and lost stages and the initial stage
            are never past it.
        timezone: The IANA time zone whose months the MQLs are counted by
            (``"Europe/Berlin"``): the team's, so that an MQL on the evening
            of the 31st counts in that month.

    Raises:
        ValidationError: a bad argument, or an activity of a lead not given.
    """
    start_us, end_us = _check(policy, start, end, mql)
    zone = zone_named(timezone)
    people = _leads(leads)
    won = _outcomes(outcomes)
    timeline, replayed = _timeline(activities, people, end)
    past = _past(policy, mql)
    funnel = Funnel(policy, clock=ManualClock(start))
    # Only moves and breaches are kept: most calls give neither. The funnel
    # is the backtest's own: its calls need not each take its lock.
    moves: list[StageChanged | SlaBreached] = funnel._feed_alone(  # noqa: SLF001 -- the package's own funnel
        timeline, (StageChanged, SlaBreached)
    )
    moves += _kept(funnel.tick(end))
    measured = sorted(
        lead.id
        for lead in people.values()
        if start_us <= utc_micros(lead.created_at) < end_us
    )
    counted = frozenset(measured)
    became: dict[str, datetime] = {}
    breaches: Counter[str] = Counter()
    for event in moves:
        if isinstance(event, SlaBreached):
            # Those of the period's leads in the period: the last tick at
            # end gives the breaches due at end too, which belong to the next.
            if event.lead_id in counted and start_us <= utc_micros(event.at) < end_us:
                breaches[event.timer.rule] += 1
        elif (
            event.record.target in past
            and event.lead_id not in became
            # A move the last tick makes at end is the next period's, as a
            # breach due then is.
            and utc_micros(event.record.at) < end_us
        ):
            became[event.lead_id] = event.record.at
    scores = funnel._totals_alone(  # noqa: SLF001 -- the package's own funnel
        (lead_id, became.get(lead_id, end)) for lead_id in measured
    )
    return _report(
        policy=policy,
        window=(start, end),
        measured=measured,
        activities=replayed,
        became=became,
        won=won,
        scores=scores,
        breaches=breaches,
        zone=zone,
    )


def compare(  # noqa: PLR0913 -- two policies, the history and its window
    policy_a: FunnelPolicy,
    policy_b: FunnelPolicy,
    leads: Iterable[Lead],
    activities: Iterable[Activity],
    outcomes: Mapping[str, bool],
    *,
    start: datetime,
    end: datetime,
    mql: str = "mql",
    mql_b: str | None = None,
    timezone: str = "UTC",
) -> Comparison:
    """Backtest two policies on the same history; say how they differ.

    Args:
        policy_a: The policy as it is.
        policy_b: The policy to try instead.
        leads: The leads, as :func:`backtest` takes them.
        activities: Their activities.
        outcomes: Whether each lead was won.
        start: The first instant of the period measured.
        end: The instant after it.
        mql: *policy_a*'s MQL stage, and *policy_b*'s unless *mql_b* is given.
        mql_b: *policy_b*'s MQL stage, when its name differs (a product-led
            policy's ``pql`` against a sales-led one's ``mql``).
        timezone: The time zone of both reports' months.

    Raises:
        ValidationError: a bad argument, or an activity of a lead not given.
            A stage that either policy lacks is refused before any replay.
    """
    for field, policy in (("policy_a", policy_a), ("policy_b", policy_b)):
        if not isinstance(policy, FunnelPolicy):
            raise ValidationError(field=field, value=policy, expected="a FunnelPolicy")
    _check(policy_a, start, end, mql)
    if mql_b is None:
        mql_b = mql
        _check(policy_b, start, end, mql_b)
    else:
        _check(policy_b, start, end, mql_b, field="mql_b")
    zone_named(timezone)
    check_items(leads, field="leads", expected="an iterable of Lead values")
    check_items(
        activities, field="activities", expected="an iterable of Activity values"
    )
    people = list(leads)
    feed = list(activities)
    a, b = (
        backtest(
            policy,
            people,
            feed,
            outcomes,
            start=start,
            end=end,
            mql=stage,
            timezone=timezone,
        )
        for policy, stage in ((policy_a, mql), (policy_b, mql_b))
    )
    return Comparison(a=a, b=b, differences=_differences(a, b, _outcomes(outcomes)))


# -- Inputs ------------------------------------------------------------------------


def _check(
    policy: FunnelPolicy,
    start: datetime,
    end: datetime,
    mql: object,
    *,
    field: str = "mql",
) -> tuple[int, int]:
    """Check a backtest's arguments; return *start* and *end* in UTC microseconds.

    *field* names the argument that gave *mql*.
    """
    start_us = utc_micros(require_aware(start, field="start"))
    end_us = utc_micros(require_aware(end, field="end"))
    if end_us <= start_us:
        raise ValidationError(field="end", value=end, expected="an instant after start")
    if not isinstance(policy, FunnelPolicy):
        raise ValidationError(field="policy", value=policy, expected="a FunnelPolicy")
    if not isinstance(mql, str) or mql not in {stage.name for stage in policy.stages}:
        raise ValidationError(
            field=field, value=mql, expected=f"a stage of the policy {policy.label!r}"
        )
    return start_us, end_us


def _leads(leads: Iterable[Lead]) -> dict[str, Lead]:
    check_items(leads, field="leads", expected="an iterable of Lead values")
    found: dict[str, Lead] = {}
    for index, lead in enumerate(leads):
        if not isinstance(lead, Lead):
            raise ValidationError(
                field=f"leads[{index}]", value=lead, expected="a Lead"
            )
        if lead.id in found:
            raise ValidationError(
                field=f"leads[{index}].id", value=lead.id, expected="each lead once"
            )
        found[lead.id] = lead
    return found


def _outcomes(outcomes: Mapping[str, bool]) -> frozenset[str]:
    if not isinstance(outcomes, Mapping):
        raise ValidationError(
            field="outcomes", value=outcomes, expected="a mapping of lead id to won"
        )
    for lead_id, won in outcomes.items():
        if not isinstance(lead_id, str):
            raise ValidationError(
                field="outcomes", value=lead_id, expected="lead ids (strings) as keys"
            )
        if type(won) is not bool:
            raise ValidationError(
                field=f"outcomes[{lead_id!r}]", value=won, expected="True or False"
            )
    return frozenset(lead_id for lead_id, won in outcomes.items() if won)


def _timeline(
    activities: Iterable[Activity], people: Mapping[str, Lead], end: datetime
) -> tuple[list[Lead | Activity], int]:
    """The leads and the activities before *end*, in time order; how many activities.

    Activities go by ``(instant, id)``; activities that share both go by their
    content (:func:`~funnelkit._lead.activity_id`), so that the engine, which
    keeps the first of a lead's activities with an id, keeps the same one
    whatever the order given. A lead arrives at its ``created_at``, or just
    before its first activity if that is earlier (then it is added as created
    at that activity's instant); one arriving at *end* or later is not
    replayed.
    """
    check_items(
        activities, field="activities", expected="an iterable of Activity values"
    )
    stop = in_utc(end)
    timed: list[tuple[datetime, str, Activity]] = []
    firsts: dict[str, datetime] = {}
    for index, activity in enumerate(activities):
        if not isinstance(activity, Activity):
            raise ValidationError(
                field=f"activities[{index}]", value=activity, expected="an Activity"
            )
        lead_id = activity.lead_id
        if lead_id not in people:
            raise ValidationError(
                field=f"activities[{index}].lead_id",
                value=lead_id,
                expected="the id of one of the leads",
            )
        at = in_utc(activity.at)
        if at < stop:
            timed.append((at, activity.id, activity))
            if at < firsts.get(lead_id, stop):
                firsts[lead_id] = at
    # Only activities that share their instant and id need their content
    # hashed: hashing them all would slow a large backtest for nothing.
    shared = Counter((at, name) for at, name, _ in timed)
    keys: list[tuple[datetime, int, str, str, int]] = [
        (at, 1, name, activity_id(activity) if shared[at, name] > 1 else "", index)
        for index, (at, name, activity) in enumerate(timed)
    ]
    leads = list(people.values())
    for index, lead in enumerate(leads):
        created = in_utc(lead.created_at)
        arrives = min(created, firsts.get(lead.id, stop))
        if arrives < created:
            # The engine enters a lead in its first stage at its created_at:
            # one active before it is added as created then, so that its
            # moves follow its activities, not the date the CRM wrote.
            leads[index] = attrs.evolve(lead, created_at=arrives)
        if arrives < stop:
            keys.append((arrives, 0, lead.id, "", index))
    keys.sort()
    ordered = [leads[i] if kind == 0 else timed[i][2] for _, kind, _, _, i in keys]
    return ordered, len(timed)


def _past(policy: FunnelPolicy, mql: str) -> frozenset[str]:
    """The MQL stage and the stages past it, where a lead has been an MQL.

    A stage is past the MQL stage when the policy's transitions lead there
    from it through open and won stages (re-opens aside), and lead back from
    there to it no such way: a recycling stage on the way in is not past it.
    Nurture and lost stages, and the initial stage, are never past it.
    """
    kinds = {stage.name: stage.kind for stage in policy.stages}

    def onward(origin: str) -> set[str]:
        """The stages reached from *origin* through open and won stages."""
        reached: set[str] = set()
        todo = [origin]
        while todo:
            for transition in policy.exits(todo.pop()):
                target = transition.target
                if (
                    not transition.reopen
                    and kinds[target] in {"open", "won"}
                    and target not in reached
                ):
                    reached.add(target)
                    todo.append(target)
        return reached

    return frozenset(
        {mql}
        | {
            stage
            for stage in onward(mql)
            if stage != policy.initial and mql not in onward(stage)
        }
    )


def _kept(events: list[Event]) -> Iterator[StageChanged | SlaBreached]:
    """The moves and breaches among *events*."""
    for event in events:
        if isinstance(event, StageChanged | SlaBreached):
            yield event


# -- Measures ----------------------------------------------------------------------


def _report(  # noqa: PLR0913 -- the replay's findings
    *,
    policy: FunnelPolicy,
    window: tuple[datetime, datetime],
    measured: list[str],
    activities: int,
    became: Mapping[str, datetime],
    won: frozenset[str],
    scores: Mapping[str, float],
    breaches: Counter[str],
    zone: ZoneInfo,
) -> BacktestReport:
    start, end = window
    mqls = frozenset(lead_id for lead_id in measured if lead_id in became)
    winners = frozenset(lead_id for lead_id in measured if lead_id in won)
    won_mqls = len(mqls & winners)
    months = Counter(
        became[lead_id].astimezone(zone).strftime("%Y-%m") for lead_id in mqls
    )
    return BacktestReport(
        policy=policy.label,
        start=start,
        end=end,
        leads=len(measured),
        activities=activities,
        mqls=len(mqls),
        won=len(winners),
        won_mqls=won_mqls,
        precision=won_mqls / len(mqls) if mqls else None,
        recall=won_mqls / len(winners) if winners else None,
        auc=_auc([(scores[lead_id], lead_id in winners) for lead_id in measured]),
        mqls_by_month=FrozenMap(months),
        deciles=_deciles(measured, scores, winners),
        breaches=FrozenMap(breaches),
        mql_leads=mqls,
        timezone=zone.key,
    )


def _auc(scored: list[tuple[float, bool]]) -> float | None:
    """The Mann-Whitney estimate of the ROC AUC, ties ranked as their average."""
    positives = sum(won for _, won in scored)
    negatives = len(scored) - positives
    if not positives or not negatives:
        return None
    ordered = sorted(scored)
    rank_sum = 0.0
    index = 0
    while index < len(ordered):
        tied = index
        while tied + 1 < len(ordered) and ordered[tied + 1][0] == ordered[index][0]:
            tied += 1
        rank = (index + tied) / 2 + 1  # the average of ranks index+1 .. tied+1
        rank_sum += rank * sum(won for _, won in ordered[index : tied + 1])
        index = tied + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _deciles(
    measured: list[str],
    scores: Mapping[str, float],
    winners: frozenset[str],
) -> tuple[Decile, ...]:
    """The leads by score, highest first, in ten groups as equal as can be.

    Leads with one score are never split: the order among them would be
    their ids', which would make lift out of nothing. All of them go to the
    tenth the first of them falls in, which may leave the next tenths
    without leads (and out of the table).
    """
    ranked = sorted(measured, key=lambda lead_id: (-scores[lead_id], lead_id))
    overall = len(winners) / len(ranked) if ranked else 0.0
    size, extra = divmod(len(ranked), _DECILES)
    firsts = [  # the rank each tenth begins at, were ties split
        number * size + min(number, extra) for number in range(_DECILES)
    ]
    groups: dict[int, list[str]] = {}
    rank = 0
    for _, tied in groupby(ranked, key=scores.__getitem__):
        leads = list(tied)
        groups.setdefault(bisect_right(firsts, rank), []).extend(leads)
        rank += len(leads)
    rows = []
    for number, group in groups.items():
        won = sum(lead_id in winners for lead_id in group)
        rate = won / len(group)
        rows.append(
            Decile(
                decile=number,
                leads=len(group),
                won=won,
                win_rate=rate,
                lift=rate / overall if overall else None,
                low=scores[group[-1]],
                high=scores[group[0]],
            )
        )
    return tuple(rows)


def _differences(
    a: BacktestReport, b: BacktestReport, won: frozenset[str]
) -> tuple[str, ...]:
    """The differences between two backtests of one history, in words.

    When there are none (the same MQLs, precision, recall, ROC AUC and SLA
    breaches), one line says so.
    """
    if (a.mql_leads, a.precision, a.recall, a.auc, dict(a.breaches)) == (
        b.mql_leads,
        b.precision,
        b.recall,
        b.auc,
        dict(b.breaches),
    ):
        same = (
            f"No difference: {b.policy} and {a.policy} make the same "
            f"{counted(b.mqls, 'MQL')} of this history, with the same precision "
            f"({_percent(b.precision)}), recall ({_percent(b.recall)}), ROC AUC "
            f"({_number(b.auc)}) and SLA breaches."
        )
        return (same,)
    gained = b.mql_leads - a.mql_leads
    lost = a.mql_leads - b.mql_leads
    more = b.mqls - a.mqls
    if not gained and not lost:
        makes = f"{b.policy} makes the same {counted(b.mqls, 'MQL')} as {a.policy}."
    else:
        if more:
            than = (
                f"{counted(abs(more), 'more MQL' if more > 0 else 'fewer MQL')} than "
                f"{a.policy} ({b.mqls:,} against {a.mqls:,})"
            )
        else:
            than = f"as many MQLs as {a.policy} ({b.mqls:,} each)"
        makes = (
            f"{b.policy} makes {than}: it qualifies "
            f"{counted(len(gained), 'lead')} {a.policy} does not "
            f"({len(gained & won):,} of them won) and no longer qualifies "
            f"{counted(len(lost), 'lead')} ({len(lost & won):,} of them won)."
        )
    lines = [makes]
    for name in ("precision", "recall"):
        before, after = getattr(a, name), getattr(b, name)
        lines.append(
            f"{name} {_percent(before)} -> {_percent(after)}{_points(before, after)}."
        )
    lines.append(f"ROC AUC {_number(a.auc)} -> {_number(b.auc)}.")
    rules = sorted(set(a.breaches) | set(b.breaches))
    lines += [
        f"SLA breaches of {rule}: {a.breaches.get(rule, 0):,} -> "
        f"{b.breaches.get(rule, 0):,}."
        for rule in rules
    ]
    return tuple(lines)


def _points(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return ""
    return f" ({(after - before) * 100:+.1f} points)"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
