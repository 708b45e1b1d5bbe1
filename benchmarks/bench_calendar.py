"""Cost and correctness of business-time arithmetic: BusinessCalendar add and elapsed.

Run: python benchmarks/bench_calendar.py [--quick]

Every library gets the same calendar: Monday to Friday, 09:00-17:00 in
America/New_York, closed on the US federal holidays of 2025, 2026 and 2027
(the 33 weekdays they are observed on, written out below as dates).

The starts: 100,000 seeded random aware datetimes in New York time, to the
microsecond, from 1 January 2025 to the end of 2027, shuffled. 80% are
uniform over the three years (so three in four fall at night, at a weekend
or on a holiday); 10% fall on the six weekends the clocks change (Friday
noon to Monday noon, a quarter of them between 00:00 and 04:00 on the
Sunday: the skipped and the repeated hour); 10% are on the edges of a day
(09:00 or 17:00 exactly, or a microsecond either side) of random days, half
of them holidays or the days beside one.

1. add: ``calendar.add(start, timedelta(hours=8))``.
2. elapsed: ``calendar.elapsed(start, end)``, *end* the reference's answer
   to (1) for the same start: eight hours, every time.
3. Long durations: ``calendar.add(start, timedelta(hours=2000))`` and the
   same with 20,000 hours (about a year and ten years of office time), on
   1,000 of the starts, to show that time grows with the holidays and clock
   changes crossed, not with the hours.
4. Business days: ``calendar.add(start, BusinessDuration(days=10))`` (the
   same local time ten open days later), on every start, beside the
   reference's day-by-day count of open days and, on the peers' sample,
   pandas' ``ts + 10 * CustomBusinessDay(holidays=...)``.
5. Peers, on the first 10,000 of the same starts (they are slower):

   - pandas: ``ts + 8 * CustomBusinessHour(start="09:00", end="17:00",
     holidays=...)`` on a tz-aware ``Timestamp`` (no elapsed);
   - businesstimedelta: ``Rules([WorkDayRule(09-17, Mon-Fri),
     HolidayRule(dates)])``; ``naive + BusinessTimeDelta(rule, hours=8)``
     and ``rule.difference(start, end)``. It reads naive datetimes as UTC,
     so it is given New York wall-clock times without tzinfo, and its
     answers are read back as New York wall-clock times;
   - businesstime: ``BusinessTime(business_hours=(09:00, 17:00),
     holidays=dates)``, which offers ``businesstimedelta(start, end)`` for
     elapsed (New York wall-clock times without tzinfo again) and no add.
     It counts a whole business day as one day, read here as eight hours.

6. The reference: a day-by-day loop written here. For each local date it
   builds the 09:00-17:00 interval with ``datetime.combine(day, time,
   tzinfo=ZoneInfo("America/New_York"))``, skips weekends and holidays, and
   accumulates, in UTC. It decides what is right: an answer is wrong if its
   instant (converted to UTC) differs from the reference's by any amount,
   or if the call raises. It is timed too: the floor of a plain loop.

How it is timed: each library first answers every start once, untimed (the
answers checked against the reference; caches are warm afterwards). Then the
starts are cut into 100 batches; each batch is timed once with
``time.perf_counter``, and the figure is the median batch time divided by
the batch size. Only the library's call is timed: the Timestamps, naive
times and offsets it takes are built beforehand, and its answers converted
afterwards. Timed runs start after a full collection and run with the cyclic
garbage collector on.

``--quick`` (or ``FUNNELKIT_BENCH_QUICK=1``) runs a tenth of the sizes: the
starts, the peers' sample and the long durations' sample. The machines are
shared: figures are medians, and the ratios matter more than the absolute
numbers. Targets are printed beside the figures; nothing fails.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from _harness import QUICK, Report, Summary, peer_version, print_summary, table

from funnelkit import BusinessCalendar, BusinessDuration

# The peers are optional: pip install -r benchmarks/requirements.txt
try:
    import pandas as pd
except ImportError:
    pd = None
try:
    import businesstimedelta as btd
except ImportError:
    btd = None
try:
    from businesstime import BusinessTime
except ImportError:
    BusinessTime = None

SEED = 20260302
ZONE = "America/New_York"
NEW_YORK = ZoneInfo(ZONE)
OPENS = clock(9)
CLOSES = clock(17)
DAY_LENGTH = timedelta(hours=8)
ONE_DAY = timedelta(days=1)
EIGHT_HOURS = timedelta(hours=8)
LONG_HOURS = (2_000, 20_000)
BUSINESS_DAYS = 10

# The US federal holidays of 2025-2027, on the weekdays they are observed.
HOLIDAYS = (
    date(2025, 1, 1),  # New Year's Day
    date(2025, 1, 20),  # Martin Luther King Jr. Day
    date(2025, 2, 17),  # Washington's Birthday
    date(2025, 5, 26),  # Memorial Day
    date(2025, 6, 19),  # Juneteenth
    date(2025, 7, 4),  # Independence Day
    date(2025, 9, 1),  # Labor Day
    date(2025, 10, 13),  # Columbus Day
    date(2025, 11, 11),  # Veterans Day
    date(2025, 11, 27),  # Thanksgiving Day
    date(2025, 12, 25),  # Christmas Day
    date(2026, 1, 1),
    date(2026, 1, 19),
    date(2026, 2, 16),
    date(2026, 5, 25),
    date(2026, 6, 19),
    date(2026, 7, 3),  # Independence Day, observed (4 July is a Saturday)
    date(2026, 9, 7),
    date(2026, 10, 12),
    date(2026, 11, 11),
    date(2026, 11, 26),
    date(2026, 12, 25),
    date(2027, 1, 1),
    date(2027, 1, 18),
    date(2027, 2, 15),
    date(2027, 5, 31),
    date(2027, 6, 18),  # Juneteenth, observed (19 June is a Saturday)
    date(2027, 7, 5),  # Independence Day, observed (4 July is a Sunday)
    date(2027, 9, 6),
    date(2027, 10, 11),
    date(2027, 11, 11),
    date(2027, 11, 25),
    date(2027, 12, 24),  # Christmas Day, observed (25 December is a Saturday)
)
HOLIDAY_SET = frozenset(HOLIDAYS)
# The Sundays the clocks change in New York: spring forward, fall back.
CLOCK_CHANGES = (
    date(2025, 3, 9),
    date(2025, 11, 2),
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2027, 3, 14),
    date(2027, 11, 7),
)
FIRST = datetime(2025, 1, 1, tzinfo=NEW_YORK)
LAST = datetime(2028, 1, 1, tzinfo=NEW_YORK)  # starts fall before this

STARTS = 10_000 if QUICK else 100_000
PEER_STARTS = 1_000 if QUICK else 10_000
LONG_STARTS = 100 if QUICK else 1_000
BATCHES = 100
# Wall-clock times on the edges of a day.
EDGE_TIMES = (
    clock(8, 59, 59, 999_999),
    clock(9),
    clock(9, 0, 0, 1),
    clock(16, 59, 59, 999_999),
    clock(17),
    clock(17, 0, 0, 1),
)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# -- The starts ------------------------------------------------------------------


def _uniform(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """Return a random instant in [low, high), to the microsecond, in New York."""
    span = (high - low) // timedelta(microseconds=1)
    moment = _utc(low) + timedelta(microseconds=rng.randrange(span))
    return moment.astimezone(NEW_YORK)  # fold set in the repeated hour


def build_starts(count: int, seed: int = SEED) -> list[datetime]:
    """Return *count* shuffled starts: uniform, clock-change weekends, edges."""
    rng = random.Random(seed)
    on_weekends = count // 10
    on_edges = count // 10
    starts = [_uniform(rng, FIRST, LAST) for _ in range(count - on_weekends - on_edges)]
    for number in range(on_weekends):
        sunday = rng.choice(CLOCK_CHANGES)
        if number % 4 == 0:  # the small hours of the Sunday
            low = datetime.combine(sunday, clock(0), tzinfo=NEW_YORK)
            high = datetime.combine(sunday, clock(4), tzinfo=NEW_YORK)
        else:  # Friday noon to Monday noon
            low = datetime.combine(sunday - 2 * ONE_DAY, clock(12), tzinfo=NEW_YORK)
            high = datetime.combine(sunday + ONE_DAY, clock(12), tzinfo=NEW_YORK)
        starts.append(_uniform(rng, low, high))
    days = (LAST.date() - FIRST.date()).days
    for number in range(on_edges):
        if number % 2 == 0:
            day = FIRST.date() + timedelta(days=rng.randrange(days))
        else:  # a holiday or a day beside one
            day = rng.choice(HOLIDAYS) + rng.choice((-1, 0, 1)) * ONE_DAY
        starts.append(datetime.combine(day, rng.choice(EDGE_TIMES), tzinfo=NEW_YORK))
    rng.shuffle(starts)
    return starts


# -- The reference: a day-by-day loop ---------------------------------------------


def _open_day(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAY_SET  # Monday to Friday


def _day_interval(day: date) -> tuple[datetime, datetime]:
    """Return the day's 09:00-17:00 as UTC instants."""
    return (
        datetime.combine(day, OPENS, tzinfo=NEW_YORK).astimezone(UTC),
        datetime.combine(day, CLOSES, tzinfo=NEW_YORK).astimezone(UTC),
    )


def reference_add(start: datetime, duration: timedelta) -> datetime:
    """Add open time to *start* day by day; time that runs out at 17:00 ends there."""
    now = _utc(start)
    remaining = duration
    day = start.astimezone(NEW_YORK).date()
    while True:
        if _open_day(day):
            opens, closes = _day_interval(day)
            if closes > now:
                begin = max(opens, now)
                if remaining <= closes - begin:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= closes - begin
        day += ONE_DAY


def reference_elapsed(start: datetime, end: datetime) -> timedelta:
    """Return the open time from *start* to a later *end*, day by day."""
    first, last = _utc(start), _utc(end)
    total = timedelta(0)
    day = start.astimezone(NEW_YORK).date()
    end_day = end.astimezone(NEW_YORK).date()
    while day <= end_day:
        if _open_day(day):
            opens, closes = _day_interval(day)
            low, high = max(opens, first), min(closes, last)
            if high > low:
                total += high - low
        day += ONE_DAY
    return total


def reference_add_days(start: datetime, days: int) -> datetime:
    """Return *start*'s local time *days* open days later, counted day by day."""
    local = start.astimezone(NEW_YORK)
    day = local.date()
    while days:
        day += ONE_DAY
        if _open_day(day):
            days -= 1
    return datetime.combine(day, local.time(), tzinfo=NEW_YORK)


def reference_next_open(moment: datetime) -> datetime:
    """Return the first opening strictly after *moment* (as a UTC instant)."""
    now = _utc(moment)
    day = moment.astimezone(NEW_YORK).date()
    while True:
        if _open_day(day):
            opens, _ = _day_interval(day)
            if opens > now:
                return opens
        day += ONE_DAY


# -- Timing ----------------------------------------------------------------------


def batched_us(work: Callable[[Sequence[Any]], object], items: Sequence[Any]) -> float:
    """Return the median microseconds per item of BATCHES timed batches.

    *work* runs the library's call on each item of a batch; each batch is
    timed once, after a full collection before the first.
    """
    size = max(1, len(items) // BATCHES)
    batches = [items[start : start + size] for start in range(0, len(items), size)]
    batches = [batch for batch in batches if len(batch) == size]
    times = []
    gc.collect()
    for batch in batches:
        began = time.perf_counter()
        work(batch)
        times.append(time.perf_counter() - began)
    return statistics.median(times) / size * 1e6


@dataclass
class Answers:
    """One library's answers: instants (UTC) or durations; None where it raised."""

    given: list[Any]
    raised: int = 0


def answer_all(call: Callable[[Any], Any], items: Sequence[Any]) -> Answers:
    """Call *call* on each item, untimed; a TypeError or ValueError is an answer."""
    values: list[Any] = []
    raised = 0
    for item in items:
        try:
            values.append(call(item))
        except (TypeError, ValueError):
            values.append(None)
            raised += 1
    return Answers(values, raised)


@dataclass
class Verdict:
    """How a library's answers compare with the reference's."""

    checked: int
    wrong: int
    raised: int
    closing_as_opening: int  # 17:00 answered as the next day's 09:00
    first_wrong: tuple[datetime, Any, Any] | None  # start, reference, answer
    wrong_spans: Counter[timedelta]  # the wrong durations answered, by count

    def text(self) -> str:
        """Return "N of M (P%)", with what the wrong answers were when some."""
        found = f"{self.wrong:,} of {self.checked:,} ({self.wrong / self.checked:.2%})"
        parts = []
        if self.closing_as_opening:
            parts.append(f"{self.closing_as_opening:,} closing as next opening")
        if self.raised:
            parts.append(f"{self.raised:,} raised")
        return f"{found}, {', '.join(parts)}" if parts else found


def judge(
    starts: Sequence[datetime], reference: Sequence[Any], answers: Answers
) -> Verdict:
    """Count the answers that differ from the reference's (instants in UTC)."""
    wrong = closing = 0
    first: tuple[datetime, Any, Any] | None = None
    spans: Counter[timedelta] = Counter()
    for start, expected, found in zip(starts, reference, answers.given, strict=True):
        if found is None:
            wrong += 1
            first = first or (start, expected, "raised")
            continue
        if isinstance(expected, datetime):
            if _utc(found) == _utc(expected):
                continue
            if expected.astimezone(NEW_YORK).time() == CLOSES and _utc(
                found
            ) == reference_next_open(expected):
                closing += 1
        elif found == expected:
            continue
        else:
            spans[found] += 1
        wrong += 1
        first = first or (start, expected, found)
    return Verdict(len(starts), wrong, answers.raised, closing, first, spans)


# -- The libraries -----------------------------------------------------------------


@dataclass
class Figures:
    """One library's figures on the 8-hour add and the elapsed that undoes it."""

    name: str
    starts: int
    add_us: float | None = None
    add: Verdict | None = None
    elapsed_us: float | None = None
    elapsed: Verdict | None = None


def new_calendar() -> BusinessCalendar:
    """Return the benchmark's calendar in funnelkit."""
    return BusinessCalendar.weekdays("09:00", "17:00", timezone=ZONE, holidays=HOLIDAYS)


def measure_funnelkit(
    starts: list[datetime], ends: list[datetime], reference_spans: list[timedelta]
) -> Figures:
    """Time and check funnelkit's add and elapsed on every start."""
    calendar = new_calendar()
    add, elapsed = calendar.add, calendar.elapsed
    figures = Figures("funnelkit", len(starts))
    figures.add = judge(starts, ends, answer_all(lambda s: add(s, EIGHT_HOURS), starts))

    def add_work(batch: Sequence[datetime]) -> None:
        for start in batch:
            add(start, EIGHT_HOURS)

    figures.add_us = batched_us(add_work, starts)
    pairs = list(zip(starts, ends, strict=True))
    figures.elapsed = judge(
        starts, reference_spans, answer_all(lambda pair: elapsed(*pair), pairs)
    )

    def elapsed_work(batch: Sequence[tuple[datetime, datetime]]) -> None:
        for start, end in batch:
            elapsed(start, end)

    figures.elapsed_us = batched_us(elapsed_work, pairs)
    return figures


def measure_reference(
    starts: list[datetime],
) -> tuple[Figures, list[datetime], list[timedelta]]:
    """Compute the reference's answers, and time it like a library."""
    ends = [reference_add(start, EIGHT_HOURS) for start in starts]
    pairs = list(zip(starts, ends, strict=True))
    spans = [reference_elapsed(start, end) for start, end in pairs]
    off = sum(1 for span in spans if span != EIGHT_HOURS)
    if off:
        raise RuntimeError(f"the reference's elapsed undoes its add {off} times")
    figures = Figures("day-by-day loop (reference)", len(starts))

    def add_work(batch: Sequence[datetime]) -> None:
        for start in batch:
            reference_add(start, EIGHT_HOURS)

    def elapsed_work(batch: Sequence[tuple[datetime, datetime]]) -> None:
        for start, end in batch:
            reference_elapsed(start, end)

    figures.add_us = batched_us(add_work, starts)
    figures.elapsed_us = batched_us(elapsed_work, pairs)
    return figures, ends, spans


def _naive_local(moment: datetime) -> datetime:
    """Return *moment* as a New York wall-clock time without tzinfo."""
    return moment.astimezone(NEW_YORK).replace(tzinfo=None)


def _from_naive_local(moment: datetime) -> datetime:
    """Read a peer's answer (naive, or labelled UTC) as a New York wall-clock time."""
    return moment.replace(tzinfo=NEW_YORK)


def measure_pandas(starts: list[datetime], ends: list[datetime]) -> Figures:
    """Time and check pandas' CustomBusinessHour on tz-aware Timestamps."""
    figures = Figures("pandas", len(starts))
    figures.add, figures.add_us = pandas_add(starts, ends, 8)
    return figures


def pandas_add(
    starts: list[datetime], reference: list[datetime], hours: int
) -> tuple[Verdict, float]:
    """Check and time pandas adding *hours* of CustomBusinessHour: verdict, us."""
    offset = hours * pd.offsets.CustomBusinessHour(
        start="09:00", end="17:00", holidays=list(HOLIDAYS)
    )
    stamps = [pd.Timestamp(start) for start in starts]
    answers = answer_all(lambda ts: ts + offset, stamps)
    answers.given = [
        None if value is None else value.to_pydatetime() for value in answers.given
    ]

    def add_work(batch: Sequence[Any]) -> None:
        for ts in batch:
            ts + offset  # the addition is what is timed

    return judge(starts, reference, answers), batched_us(add_work, stamps)


def funnelkit_add(
    starts: list[datetime],
    reference: list[datetime],
    duration: timedelta | BusinessDuration,
) -> tuple[Verdict, float]:
    """Check and time funnelkit adding *duration* to each start: verdict, us."""
    add = new_calendar().add
    verdict = judge(starts, reference, answer_all(lambda s: add(s, duration), starts))

    def add_work(batch: Sequence[datetime]) -> None:
        for start in batch:
            add(start, duration)

    return verdict, batched_us(add_work, starts)


@dataclass
class Days:
    """Figures on adding business days: funnelkit, the reference and pandas."""

    funnelkit_us: float
    funnelkit: Verdict
    reference_us: float
    pandas_us: float | None
    pandas: Verdict | None
    pandas_starts: int


def measure_days(starts: list[datetime], sample: int) -> Days:
    """Time and check adding BUSINESS_DAYS business days to every start."""
    reference = [reference_add_days(start, BUSINESS_DAYS) for start in starts]
    verdict, funnelkit_us = funnelkit_add(
        starts, reference, BusinessDuration(days=BUSINESS_DAYS)
    )

    def reference_work(batch: Sequence[datetime]) -> None:
        for start in batch:
            reference_add_days(start, BUSINESS_DAYS)

    reference_us = batched_us(reference_work, starts)
    pandas_us = pandas_verdict = None
    if pd is not None:
        offset = BUSINESS_DAYS * pd.offsets.CustomBusinessDay(holidays=list(HOLIDAYS))
        stamps = [pd.Timestamp(start) for start in starts[:sample]]
        answers = answer_all(lambda ts: ts + offset, stamps)
        answers.given = [
            None if value is None else value.to_pydatetime() for value in answers.given
        ]
        pandas_verdict = judge(starts[:sample], reference[:sample], answers)

        def pandas_work(batch: Sequence[Any]) -> None:
            for ts in batch:
                ts + offset  # the addition is what is timed

        pandas_us = batched_us(pandas_work, stamps)
    return Days(funnelkit_us, verdict, reference_us, pandas_us, pandas_verdict, sample)


def _businesstimedelta_rule() -> Any:  # noqa: ANN401 -- an untyped peer's object
    return btd.Rules(
        [
            btd.WorkDayRule(
                start_time=OPENS, end_time=CLOSES, working_days=[0, 1, 2, 3, 4]
            ),
            btd.HolidayRule(list(HOLIDAYS)),
        ]
    )


def measure_businesstimedelta(
    starts: list[datetime], ends: list[datetime], spans: list[timedelta]
) -> Figures:
    """Time and check businesstimedelta's add and difference, on naive local times."""
    rule = _businesstimedelta_rule()
    eight = btd.BusinessTimeDelta(rule, hours=8)
    naive = [_naive_local(start) for start in starts]
    figures = Figures("businesstimedelta", len(starts))
    answers = answer_all(lambda start: start + eight, naive)
    answers.given = [
        None if value is None else _from_naive_local(value) for value in answers.given
    ]
    figures.add = judge(starts, ends, answers)

    def add_work(batch: Sequence[datetime]) -> None:
        for start in batch:
            try:
                start + eight
            except TypeError:  # past its holidays' horizon; counted above
                continue

    figures.add_us = batched_us(add_work, naive)
    pairs = [
        (_naive_local(s), _naive_local(e)) for s, e in zip(starts, ends, strict=True)
    ]
    difference = rule.difference
    figures.elapsed = judge(
        starts,
        spans,
        answer_all(lambda pair: difference(*pair).timedelta, pairs),
    )

    def elapsed_work(batch: Sequence[tuple[datetime, datetime]]) -> None:
        for start, end in batch:
            try:
                difference(start, end)
            except TypeError:  # past its holidays' horizon; counted above
                continue

    figures.elapsed_us = batched_us(elapsed_work, pairs)
    return figures


def measure_businesstime(
    starts: list[datetime], ends: list[datetime], spans: list[timedelta]
) -> Figures:
    """Time and check businesstime's businesstimedelta, on naive local times."""
    calendar = BusinessTime(business_hours=(OPENS, CLOSES), holidays=list(HOLIDAYS))
    between = calendar.businesstimedelta
    pairs = [
        (_naive_local(s), _naive_local(e)) for s, e in zip(starts, ends, strict=True)
    ]

    def hours(pair: tuple[datetime, datetime]) -> timedelta:
        # A whole business day comes back as one day: eight hours here.
        found: timedelta = between(*pair)
        rest = timedelta(seconds=found.seconds, microseconds=found.microseconds)
        return found.days * DAY_LENGTH + rest

    figures = Figures("businesstime", len(starts))
    figures.elapsed = judge(starts, spans, answer_all(hours, pairs))

    def elapsed_work(batch: Sequence[tuple[datetime, datetime]]) -> None:
        for start, end in batch:
            between(start, end)

    figures.elapsed_us = batched_us(elapsed_work, pairs)
    return figures


# -- Long durations ----------------------------------------------------------------


@dataclass
class Long:
    """Figures of adding a long duration."""

    hours: int
    funnelkit_us: float
    funnelkit: Verdict
    pandas_us: float | None
    pandas: Verdict | None
    holidays_crossed: float  # the median count per start
    changes_crossed: float


def _clock_changes(years: range) -> list[date]:
    """Return the US clock-change Sundays of *years*: 2nd in March, 1st in November."""
    found = []
    for year in years:
        march = date(year, 3, 1)
        found.append(march + timedelta(days=(6 - march.weekday()) % 7 + 7))
        november = date(year, 11, 1)
        found.append(november + timedelta(days=(6 - november.weekday()) % 7))
    return found


def measure_long(starts: list[datetime], hours: int) -> Long:
    """Time and check funnelkit (and pandas) adding *hours* of open time."""
    duration = timedelta(hours=hours)
    reference = [reference_add(start, duration) for start in starts]
    verdict, funnelkit_us = funnelkit_add(starts, reference, duration)
    pandas_us = pandas_verdict = None
    if pd is not None:
        pandas_verdict, pandas_us = pandas_add(starts, reference, hours)
    changes = _clock_changes(range(2024, 2040))
    holidays_crossed = []
    changes_crossed = []
    for start, end in zip(starts, reference, strict=True):
        first = start.astimezone(NEW_YORK).date()
        last = end.astimezone(NEW_YORK).date()
        holidays_crossed.append(
            bisect_right(HOLIDAYS, last) - bisect_left(HOLIDAYS, first)
        )
        changes_crossed.append(
            bisect_right(changes, last) - bisect_left(changes, first)
        )
    return Long(
        hours,
        funnelkit_us,
        verdict,
        pandas_us,
        pandas_verdict,
        statistics.median(holidays_crossed),
        statistics.median(changes_crossed),
    )


# -- Report --------------------------------------------------------------------


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f} us"


def _peers(figures: Sequence[Figures], pick: Callable[[Figures], str | None]) -> str:
    shown = [(item.name, pick(item)) for item in figures]
    return "; ".join(f"{name} {text}" for name, text in shown if text)


def _verdict_text(verdict: Verdict | None) -> str:
    return "not measured" if verdict is None else verdict.text()


def _first_wrong(name: str, verdict: Verdict | None, notes: list[str]) -> None:
    if verdict is None or verdict.first_wrong is None:
        return
    start, expected, found = verdict.first_wrong
    notes.append(
        f"{name}: first wrong answer: start {start.isoformat()} "
        f"({_utc(start).isoformat()}): reference {_shown(expected)}, "
        f"answer {_shown(found)}."
    )
    if verdict.wrong_spans:
        span, count = verdict.wrong_spans.most_common(1)[0]
        notes.append(f"{name}: the most common wrong answer: {span} ({count:,}).")


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(NEW_YORK).isoformat()
    return str(value)


def eight_hour_reports(  # noqa: PLR0913 -- the two sections and their inputs
    add_report: Report,
    elapsed_report: Report,
    *,
    ours: Figures,
    reference: Figures,
    peers: list[Figures],
    missing: list[str],
) -> None:
    """Fill sections 1 and 2: the 8-hour add and the elapsed that undoes it."""
    floor_and_peers = [*peers, reference]
    add_report.add(
        "add 8 h: us per call",
        _us(ours.add_us),
        _peers(
            floor_and_peers,
            lambda item: None if item.add_us is None else _us(item.add_us),
        )
        + "; businesstime: no add",
        "<= 5 us",
        ours.add_us is not None and ours.add_us <= 5,
    )
    add_report.add(
        "add 8 h: wrong answers",
        _verdict_text(ours.add),
        _peers(peers, lambda item: item.add.text() if item.add else None),
        "0",
        ours.add is not None and ours.add.wrong == 0,
    )
    add_report.notes.append(
        f"funnelkit and the reference on {ours.starts:,} starts, the peers on the "
        f"first {PEER_STARTS:,} of them. 'closing as next opening': the answer is "
        "the next day's 09:00 where the time runs out at 17:00 (pandas' rule)."
    )
    elapsed_report.add(
        "elapsed: us per call",
        _us(ours.elapsed_us),
        _peers(
            floor_and_peers,
            lambda item: None if item.elapsed_us is None else _us(item.elapsed_us),
        )
        + "; pandas: no elapsed",
        "<= 5 us",
        ours.elapsed_us is not None and ours.elapsed_us <= 5,
    )
    elapsed_report.add(
        "elapsed: wrong answers",
        _verdict_text(ours.elapsed),
        _peers(peers, lambda item: item.elapsed.text() if item.elapsed else None),
        "0",
        ours.elapsed is not None and ours.elapsed.wrong == 0,
    )
    elapsed_report.notes.append(
        "end = the reference's answer to the 8-hour add, so every right answer is "
        "8:00:00."
    )
    for item in [ours, *peers]:
        _first_wrong(f"{item.name} add", item.add, add_report.notes)
        _first_wrong(f"{item.name} elapsed", item.elapsed, elapsed_report.notes)
    if any(item.add and item.add.raised for item in peers):
        add_report.notes.append(
            f"Raised: businesstimedelta's HolidayRule looks at most five years ahead "
            f"for the next holiday and raises TypeError when there is none: every "
            f"start after the last one ({HOLIDAYS[-1]}) fails, and difference also "
            "fails when its walk looks past it (an end at 17:00 the day before)."
        )
    if missing:
        add_report.notes.append(
            f"peers missing ({', '.join(missing)}): "
            "pip install -r benchmarks/requirements.txt"
        )


def long_report(report: Report, longs: list[Long]) -> None:
    """Fill section 3: long durations."""
    for found in longs:
        report.add(
            f"add {found.hours:,} h: us per call",
            _us(found.funnelkit_us),
            "" if found.pandas_us is None else f"pandas {_us(found.pandas_us)}",
        )
    short, long = longs
    ratio = long.funnelkit_us / short.funnelkit_us
    report.add(
        f"add {long.hours:,} h / {short.hours:,} h: time",
        f"{ratio:.2f}x",
        ""
        if long.pandas_us is None or short.pandas_us is None
        else f"pandas {long.pandas_us / short.pandas_us:.2f}x",
        f"(diagnostic; the hours are {long.hours / short.hours:.0f}x)",
    )
    for found in longs:
        report.add(
            f"add {found.hours:,} h: wrong answers",
            found.funnelkit.text(),
            "" if found.pandas is None else f"pandas {found.pandas.text()}",
            "0",
            found.funnelkit.wrong == 0,
        )
        _first_wrong(f"funnelkit add {found.hours:,} h", found.funnelkit, report.notes)
    crossed = "; ".join(
        f"{found.hours:,} h crosses {found.holidays_crossed:g} holidays and "
        f"{found.changes_crossed:g} clock changes"
        for found in longs
    )
    report.notes.append(
        f"{LONG_STARTS:,} starts. Medians: {crossed} (the holidays end with 2027; "
        "a clock change costs a day's work only where it shortens or stretches "
        "open hours, never on a 09:00-17:00 calendar)."
    )


def days_report(report: Report, days: Days) -> None:
    """Fill section 4: business days."""
    report.add(
        f"add {BUSINESS_DAYS} business days: us per call",
        _us(days.funnelkit_us),
        _peers_text(
            ("pandas", None if days.pandas_us is None else _us(days.pandas_us)),
            ("day-by-day loop (reference)", _us(days.reference_us)),
        ),
    )
    report.add(
        f"add {BUSINESS_DAYS} business days: wrong answers",
        days.funnelkit.text(),
        "" if days.pandas is None else f"pandas {days.pandas.text()}",
        "0",
        days.funnelkit.wrong == 0,
    )
    _first_wrong(f"funnelkit add {BUSINESS_DAYS} days", days.funnelkit, report.notes)
    _first_wrong(f"pandas add {BUSINESS_DAYS} days", days.pandas, report.notes)
    report.notes.append(
        f"funnelkit and the reference on every start, pandas on the first "
        f"{days.pandas_starts:,}: the same local time {BUSINESS_DAYS} open days "
        "later (a start on a closed day counts from the next open one)."
    )


def _peers_text(*figures: tuple[str, str | None]) -> str:
    return "; ".join(f"{name} {text}" for name, text in figures if text)


def library_table(figures: list[Figures]) -> list[tuple[str, ...]]:
    """Return one row per library: its sample, add and elapsed figures."""

    def verdict(found: Verdict | None) -> str:
        if found is None:
            return "n/a"
        return f"{found.wrong:,} ({found.wrong / found.checked:.2%})"

    return [
        (
            item.name,
            f"{item.starts:,}",
            _us(item.add_us),
            "reference" if item.add is None and item.add_us else verdict(item.add),
            _us(item.elapsed_us),
            "reference"
            if item.elapsed is None and item.elapsed_us
            else verdict(item.elapsed),
        )
        for item in figures
    ]


def main() -> None:
    """Measure and print the tables."""
    began = time.perf_counter()
    size = "quick (--quick)" if QUICK else "full"
    print(
        f"Business calendar benchmarks, {size} size: Mon-Fri 09:00-17:00 {ZONE}, "
        f"{len(HOLIDAYS)} holidays (US federal, 2025-2027). Peers: pandas "
        f"{peer_version('pandas')}, businesstimedelta "
        f"{peer_version('businesstimedelta')}, businesstime "
        f"{peer_version('businesstime')}."
    )
    starts = build_starts(STARTS)
    reference, ends, spans = measure_reference(starts)
    gc.collect()
    ours = measure_funnelkit(starts, ends, spans)
    sample, sample_ends, sample_spans = (
        starts[:PEER_STARTS],
        ends[:PEER_STARTS],
        spans[:PEER_STARTS],
    )
    peers: list[Figures] = []
    missing: list[str] = []
    if pd is not None:
        peers.append(measure_pandas(sample, sample_ends))
    else:
        missing.append("pandas")
    if btd is not None:
        peers.append(measure_businesstimedelta(sample, sample_ends, sample_spans))
    else:
        missing.append("businesstimedelta")
    if BusinessTime is not None:
        peers.append(measure_businesstime(sample, sample_ends, sample_spans))
    else:
        missing.append("businesstime")
    gc.collect()
    longs = [measure_long(starts[:LONG_STARTS], hours) for hours in LONG_HOURS]
    gc.collect()
    days = measure_days(starts, PEER_STARTS)

    summary: Summary = []
    reports = [
        Report("1", summary),
        Report("2", summary),
        Report("3", summary),
        Report("4", summary),
    ]
    eight_hour_reports(
        reports[0],
        reports[1],
        ours=ours,
        reference=reference,
        peers=peers,
        missing=missing,
    )
    long_report(reports[2], longs)
    days_report(reports[3], days)
    titles = (
        "add(start, 8 business hours)",
        "elapsed(start, end)",
        "add(start, 2,000 and 20,000 business hours)",
        f"add(start, {BUSINESS_DAYS} business days)",
    )
    for report, title in zip(reports, titles, strict=True):
        report.print(title)
    print()
    print("5. By library: 8 business hours, medians of batched runs")
    print(
        table(
            library_table([ours, *peers, reference]),
            (
                "library",
                "starts",
                "us per add",
                "wrong adds",
                "us per elapsed",
                "wrong elapsed",
            ),
        )
    )
    print_summary(summary, began)


if __name__ == "__main__":
    main()
