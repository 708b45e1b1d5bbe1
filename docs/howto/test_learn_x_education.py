"""Learn a points model from X Education's lead history, and measure it honestly.

Run it on your copy of the data (it is not shipped with funnelkit):

    python docs/howto/test_learn_x_education.py path/to/x-education-lead-scoring

X Education sells online courses; its CRM export has one row per lead, with
where the lead came from, what it told the sign-up form, how it used the web
site, and whether it converted. One lead in five (by a hash of its id) is
held out: the points are learned on the rest and measured on it.
"""

import csv
import hashlib
import os
import sys
from pathlib import Path

import pytest

from funnelkit import FunnelPolicy, Stage, Transition, dump_policy
from funnelkit.learn import Evaluation, Scorecard, evaluate, fit_scorecard

DATA = Path(__file__).parents[3] / "shared" / "data" / "x-education-lead-scoring"

#: Filled in by sales after the first contact: they describe the outcome.
LEAKY = [
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "Last Notable Activity",
    "Last Activity",
]
IDS = ["Prospect ID", "Lead Number"]

Rows = list[dict[str, str]]


def split(folder: Path) -> tuple[Rows, Rows]:
    """The leads, four in five to learn from and one in five held out."""
    with (folder / "Leads.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))

    def held_out(row: dict[str, str]) -> bool:
        digest = hashlib.sha256(row["Prospect ID"].encode()).hexdigest()
        return int(digest, 16) % 5 == 0

    return [r for r in rows if not held_out(r)], [r for r in rows if held_out(r)]


def learn(train: Rows, *, honest: bool = True) -> Scorecard:
    """Points for every column but the ids (and, if *honest*, the leaky ones)."""
    exclude = IDS + LEAKY if honest else IDS
    return fit_scorecard(train, "Converted", exclude=exclude, name="x-education")


def as_policy(card: Scorecard) -> str:
    """The learned model in a policy file, as a person would review it."""
    policy = FunnelPolicy(
        name="x-education",
        version=1,
        stages=[Stage("lead"), Stage("enrolled", "won")],
        transitions=[Transition(source="lead", target="enrolled")],
        initial="lead",
        scoring=card.model,
    )
    return dump_policy(policy)


def measure(folder: Path) -> tuple[Scorecard, Evaluation, Evaluation]:
    """The honest scorecard, its measure on held-out leads, and the leaky one's."""
    train, test = split(folder)
    card = learn(train)
    leaky = learn(train, honest=False)
    return card, evaluate(card, test, "Converted"), evaluate(leaky, test, "Converted")


def test_learned_points_on_real_data() -> None:
    """The points rank held-out leads well; the leaky columns flatter them."""
    if not DATA.is_dir():
        if os.environ.get("FUNNELKIT_REQUIRE_DATA"):
            pytest.fail(f"FUNNELKIT_REQUIRE_DATA is set and {DATA} is missing")
        pytest.skip(f"the X Education data is not at {DATA}")
    card, honest, leaky = measure(DATA)
    assert honest.auc is not None
    assert leaky.auc is not None
    assert honest.auc > 0.85  # noqa: PLR2004 -- what the data gives
    assert honest.top_decile_lift is not None
    assert honest.top_decile_lift >= 2  # noqa: PLR2004 -- the target, twice the base rate
    assert leaky.auc > honest.auc + 0.05
    assert "include_high = false" in as_policy(card)


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    card, honest, leaky = measure(folder)
    print(card.to_text())  # noqa: T201 -- the script's output
    print()  # noqa: T201 -- the script's output
    print(honest.to_text())  # noqa: T201 -- the script's output
    print(f"\nWith the leaky columns: ROC AUC {leaky.auc:.3f}")  # noqa: T201 -- the script's output
    print()  # noqa: T201 -- the script's output
    print(as_policy(card))  # noqa: T201 -- the script's output
