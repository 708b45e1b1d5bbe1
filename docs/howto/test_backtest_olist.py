"""Backtest a policy change on Olist's real marketing funnel.

Run it on your copy of the data (it is not shipped with funnelkit: its
licence allows no redistribution):

    python docs/howto/test_backtest_olist.py path/to/olist-marketing-funnel

Olist's MQLs asked to be contacted between June 2017 and June 2018; about
one in ten became a seller. Today every MQL goes to sales. The proposal:
send only those from the acquisition channels that converted better than
average, as learned from the first half of the year, and measure the change
on the second half, which the choice of channels never saw.
"""

import csv
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from funnelkit import (
    Activity,
    ActivityRule,
    AttributeRule,
    Criterion,
    FunnelPolicy,
    Lead,
    ScoreAtLeast,
    ScoringModel,
    Stage,
    Transition,
    kinds,
    one_of,
)
from funnelkit.analytics import Comparison, compare

LEARN = (datetime(2017, 6, 1, tzinfo=UTC), datetime(2017, 12, 1, tzinfo=UTC))
TEST = (datetime(2017, 12, 1, tzinfo=UTC), datetime(2018, 6, 1, tzinfo=UTC))
DATA = Path(__file__).parents[3] / "shared" / "data" / "olist-marketing-funnel"

History = tuple[list[Lead], list[Activity], dict[str, bool]]


def olist_history(folder: Path) -> History:
    """Each MQL as a lead with its channel, its contact request, and whether it won."""
    with (folder / "olist_closed_deals_dataset.csv").open(encoding="utf-8") as file:
        won = {row["mql_id"] for row in csv.DictReader(file)}
    leads, activities = [], []
    with (folder / "olist_marketing_qualified_leads_dataset.csv").open(
        encoding="utf-8"
    ) as file:
        for row in csv.DictReader(file):
            # A date only: midnight in UTC, for want of a time zone in the data.
            asked = datetime.fromisoformat(row["first_contact_date"]).replace(
                tzinfo=UTC
            )
            origin = row["origin"] or "unknown"
            leads.append(Lead(row["mql_id"], asked, attributes={"origin": origin}))
            activities.append(Activity(row["mql_id"], kinds.CONTACT_SALES, asked))
    return leads, activities, {lead.id: lead.id in won for lead in leads}


def better_channels(history: History, window: tuple[datetime, datetime]) -> list[str]:
    """The channels whose leads of *window* won more often than the average lead."""
    leads, _, won = history
    seen = [lead for lead in leads if window[0] <= lead.created_at < window[1]]
    tried = Counter(str(lead.attributes["origin"]) for lead in seen)
    wins = Counter(str(lead.attributes["origin"]) for lead in seen if won[lead.id])
    average = sum(wins.values()) / len(seen)
    return sorted(origin for origin in tried if wins[origin] / tried[origin] > average)


def policy(version: int, channels: list[str] | None) -> FunnelPolicy:
    """Asking to be contacted makes an MQL; with *channels*, only from those."""
    rules: list[ActivityRule | AttributeRule] = [ActivityRule(kinds.CONTACT_SALES, 10)]
    guard: Criterion = ScoreAtLeast(10, dimension="engagement")
    if channels is not None:
        rules.append(AttributeRule("origin", one_of(*channels), 10))
        guard &= ScoreAtLeast(10, dimension="fit")
    return FunnelPolicy(
        name="olist",
        version=version,
        stages=[Stage("lead"), Stage("mql"), Stage("seller", "won")],
        transitions=[
            Transition(source="lead", target="mql", guard=guard, auto=True),
            Transition(source="mql", target="seller"),
        ],
        initial="lead",
        scoring=ScoringModel("olist", rules),
    )


def proposal(folder: Path) -> Comparison:
    """Every MQL to sales (v1) against the better channels only (v2), on TEST."""
    history = olist_history(folder)
    channels = better_channels(history, LEARN)
    start, end = TEST
    return compare(policy(1, None), policy(2, channels), *history, start=start, end=end)


def test_the_proposal_on_real_data() -> None:
    """v2 sends about half the MQLs, barely likelier to win, and misses winners."""
    if not DATA.is_dir():
        if os.environ.get("FUNNELKIT_REQUIRE_DATA"):
            pytest.fail(f"FUNNELKIT_REQUIRE_DATA is set and {DATA} is missing")
        pytest.skip(f"the Olist data is not at {DATA}")
    comparison = proposal(DATA)
    now, proposed = comparison.a, comparison.b
    assert now.mqls == now.leads  # every MQL asked for contact
    assert now.recall == 1.0
    assert proposed.mqls < now.mqls
    assert proposed.precision is not None
    assert now.precision is not None
    assert proposed.precision > now.precision
    assert proposed.recall is not None
    assert proposed.recall < 1.0
    assert "fewer MQLs" in comparison.differences[0]
    # What the data says: the channel alone is a weak signal.
    assert proposed.precision - now.precision < 0.05  # noqa: PLR2004 -- five points


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    print(proposal(folder).to_text())  # noqa: T201 -- the script's output
