"""Learned points against scikit-learn, on real labelled leads.

Run: python benchmarks/bench_learn.py [--quick]

Three real datasets from ``../shared/data`` (``FUNNELKIT_DATA`` overrides
the folder; see its README for provenance and licences). A dataset whose
folder or file is absent is skipped with a line that says so.

The split is deterministic: a row is in the test part when the SHA-256 of
its id, read as a number, is 0 modulo 5 (about a fifth), in the train part
otherwise. Everything is fitted on the train part and measured on the test
part. The bank data has no id column: its key is the row's fields joined
with ``;`` (as in the file, without the quotes), then ``#`` and its
occurrence number (1 for the first copy of a row, 2 for the next exact
duplicate, ...). The key does not depend on a row's position, so a row keeps
its part when the file is reordered or rows are added.

Five models per dataset:

- points: ``funnelkit.learn.fit_scorecard`` with its defaults (C=1, as
  the LR peer), measured with ``funnelkit.learn.evaluate``; the targets are
  this model's;
- points, C by CV: the same with ``regularization="auto"``, C chosen by
  5-fold cross-validation: it tells the cross-validation's cost (fit time)
  and gain (AUC) apart;
- LR: scikit-learn ``LogisticRegression`` (default ``C=1``, lbfgs), one-hot
  categoricals (a missing value is a category of its own), numeric columns
  median-imputed with a missing indicator and standardised;
- HGB: scikit-learn ``HistGradientBoostingClassifier(random_state=0)`` with
  native categorical support: categoricals ordinal-encoded (at most 255
  categories, the rarer ones pooled as infrequent; the limit of its 255
  bins), missing values as NaN;
- hand-written: a funnelkit ``ScoringModel`` of ``AttributeRule`` objects a
  marketer would write without looking at outcomes (defined below from
  common expectations, never fitted or tuned to the figures); measured with
  ``evaluate``.

A column is numeric for the scikit-learn models when every non-empty value
of the train part reads as a number (funnelkit's own rule). No model gets
any cleaning beyond that (X Education's ``Select`` placeholder stays a
value).

1. X Education (``Leads.csv``, label ``Converted``, id ``Prospect ID``),
   without the columns the sales team fills in after contact (label
   leakage: ``Tags``, ``Lead Quality``, ``Lead Profile``, the Asymmetrique
   fields, ``Last Notable Activity``, ``Last Activity``) and without the
   ids. Targets: the points' ROC AUC >= the better scikit-learn model's;
   the points' top-decile lift >= 2x.
2. Olist MQLs: an MQL is won when it has a closed-deal row; features known
   at MQL time only: ``origin``, ``landing_page_id`` and the month of
   ``first_contact_date`` as text (``"2018-03"``); id ``mql_id``. No target:
   an honest figure (little signal is expected). A second, diagnostic fit of
   the three learned models leaves the month out too (see its note).
3. UCI bank marketing (``bank-additional-full.csv``, label ``y``), without
   ``duration`` (known only after the call). No target: a comparison.

Figures: ROC AUC (ties count half) and the top-decile lift on the test part.
The lift is funnelkit's (``evaluate``): the first tenth of the test rows by
score (the tenth rounded up), rows of one score kept together (a tie across
the cut joins the first tenth whole), the same for every model; ``lift,
ties shared`` gives the rows tied at the cut their average rate instead,
over exactly a tenth. Beside the AUC gap between the
points and the better scikit-learn model, its 95% interval over 1,000
seeded paired bootstrap resamples of the test part. A check recomputes the
funnelkit models' AUC (``roc_auc_score``) and lift from their points.

Fit times are the medians of 3 fits of the train part (the scikit-learn fits
include their preprocessing; building their DataFrames from the rows is not
timed). Every fit runs single-threaded (threadpoolctl's
``threadpool_limits(1)`` on the BLAS and OpenMP pools; funnelkit's fit is a
scikit-learn ``LogisticRegression`` too): on a busy shared machine, pools
spinning for cores that other jobs hold made fits up to 20 times slower and
their times noise. HGB, which spreads over cores, would gain from them on
an idle machine. ``--quick`` (or ``FUNNELKIT_BENCH_QUICK=1``) times single
fits; every other figure is the same. The ratios matter more than the
absolute times. Targets are printed beside the figures; nothing fails.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from _harness import QUICK, Report, Summary, met, peer_version, print_summary, table

from funnelkit import AttributeRule, ScoringModel, between, one_of
from funnelkit.learn import Scorecard, as_lead, evaluate, fit_scorecard

# scikit-learn is the peer and funnelkit[learn]'s fitting alike:
# pip install -r benchmarks/requirements.txt
try:
    import numpy as np
    import pandas as pd
    from scipy.stats import rankdata
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
    from threadpoolctl import threadpool_limits
except ImportError:
    np = pd = None  # type: ignore[assignment] # None when not installed

T = TypeVar("T")

DATA = Path(
    os.environ.get(
        "FUNNELKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
PARTS = 5  # one part in PARTS is the test part
RUNS = 1 if QUICK else 3
LR_MAX_ITER = 10_000
HGB_MAX_CATEGORIES = 255  # HistGradientBoostingClassifier's 255 bins
LIFT_TARGET = 2.0
CHOSEN_C: Final = "auto"  # C chosen by funnelkit's cross-validation
SEED = 20261203
SPREAD_ROWS = 50  # a level this large shows its rate in a note
BOOTSTRAP = 1_000  # paired resamples of a test part, for the AUC gap's interval
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)  # scoring rows reads no clock: any instant

# -- The hand-written models --------------------------------------------------------
# Written from what a marketer expects; never fitted or tuned to the figures.

X_EDUCATION_HAND = ScoringModel(
    "X Education, hand-written",
    [
        AttributeRule(
            "Total Time Spent on Website",
            between(180, 600, include_high=False),
            10,
            name="3 to 10 minutes on the website",
        ),
        AttributeRule(
            "Total Time Spent on Website",
            between(600, None),
            25,
            name="10 minutes or more on the website",
        ),
        AttributeRule("TotalVisits", between(3, None), 10, name="3 visits or more"),
        AttributeRule(
            "Page Views Per Visit", between(3, None), 5, name="3 pages a visit or more"
        ),
        AttributeRule("What is your current occupation", "Working Professional", 20),
        AttributeRule("Lead Origin", "Lead Add Form", 20),
        AttributeRule("Lead Source", "Reference", 15),
        AttributeRule("Do Not Email", "Yes", -20),
    ],
)

OLIST_HAND = ScoringModel(
    "Olist, hand-written",
    [
        AttributeRule(
            "origin",
            one_of("paid_search", "organic_search", "direct_traffic"),
            20,
            name="searched or came straight to us",
        ),
        AttributeRule("origin", one_of("email", "referral"), 10),
        AttributeRule("origin", one_of("social", "display", "other_publicities"), 5),
        AttributeRule("origin", "unknown", -10),
    ],
)

BANK_HAND = ScoringModel(
    "bank, hand-written",
    [
        AttributeRule("poutcome", "success", 30, name="said yes to a past campaign"),
        AttributeRule("contact", "cellular", 10),
        AttributeRule("job", one_of("student", "retired"), 15),
        AttributeRule(
            "campaign", between(4, None), -10, name="called 4 times or more already"
        ),
    ],
)

# -- The datasets -------------------------------------------------------------------

Rows = list[dict[str, str]]
Columns = tuple[list[str], list[str]]  # categorical, numeric


def read_rows(path: Path, *, delimiter: str = ",") -> Rows:
    """The rows of a CSV file, as csv.DictReader reads them."""
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file, delimiter=delimiter))


def x_education(folder: Path) -> tuple[Rows, list[str]]:
    """X Education's leads, keyed by Prospect ID."""
    rows = read_rows(folder / "Leads.csv")
    return rows, [row["Prospect ID"] for row in rows]


def olist(folder: Path) -> tuple[Rows, list[str]]:
    """Olist's MQLs with what is known at MQL time and closed_deal, keyed by mql_id."""
    mqls = read_rows(folder / "olist_marketing_qualified_leads_dataset.csv")
    won = {
        row["mql_id"] for row in read_rows(folder / "olist_closed_deals_dataset.csv")
    }
    rows = [
        {
            "mql_id": row["mql_id"],
            "origin": row["origin"],
            "landing_page_id": row["landing_page_id"],
            "first_contact_month": row["first_contact_date"][:7],
            "closed_deal": "yes" if row["mql_id"] in won else "no",
        }
        for row in mqls
    ]
    return rows, [row["mql_id"] for row in rows]


def bank(folder: Path) -> tuple[Rows, list[str]]:
    """The bank's contacts, keyed by their text and occurrence (no id column)."""
    rows = read_rows(folder / "bank-additional-full.csv", delimiter=";")
    seen: Counter[str] = Counter()
    keys = []
    for row in rows:
        text = ";".join(row.values())
        seen[text] += 1
        keys.append(f"{text}#{seen[text]}")
    return rows, keys


@dataclass(frozen=True, slots=True)
class Case:
    """One dataset: where it is, how to read it, what to leave out, the targets."""

    section: str
    title: str
    folder: str
    files: tuple[str, ...]
    load: Callable[[Path], tuple[Rows, list[str]]]
    label: str
    exclude: tuple[str, ...]
    hand: ScoringModel
    targets: bool
    without: tuple[str, ...] = ()  # columns also left out in a second, diagnostic fit
    why_without: str = ""


CASES = (
    Case(
        "1",
        "X Education leads, without the columns filled in after contact",
        "x-education-lead-scoring",
        ("Leads.csv",),
        x_education,
        "Converted",
        (
            "Tags",
            "Lead Quality",
            "Lead Profile",
            "Asymmetrique Activity Index",
            "Asymmetrique Profile Index",
            "Asymmetrique Activity Score",
            "Asymmetrique Profile Score",
            "Last Notable Activity",
            "Last Activity",
            "Prospect ID",
            "Lead Number",
        ),
        X_EDUCATION_HAND,
        targets=True,
    ),
    Case(
        "2",
        "Olist MQLs: origin, landing page, first-contact month",
        "olist-marketing-funnel",
        (
            "olist_marketing_qualified_leads_dataset.csv",
            "olist_closed_deals_dataset.csv",
        ),
        olist,
        "closed_deal",
        ("mql_id",),
        OLIST_HAND,
        targets=False,
        without=("first_contact_month",),
        why_without=(
            "The closed deals start in December 2017: the month says how the sample "
            "was drawn more than how to score a new lead."
        ),
    ),
    Case(
        "3",
        "UCI bank marketing, without duration",
        "uci-bank-marketing",
        ("bank-additional-full.csv",),
        bank,
        "y",
        ("duration",),
        BANK_HAND,
        targets=False,
    ),
)


def in_test(key: str) -> bool:
    """Whether the row keyed *key* is in the test part."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest, "big") % PARTS == 0


def outcome(value: str) -> bool:
    """A label value as funnelkit reads it (the datasets use 1/0 and yes/no)."""
    word = value.strip().lower()
    if word not in {"1", "0", "yes", "no"}:
        raise ValueError(f"label value {value!r} is not 1/0 or yes/no")
    return word in {"1", "yes"}


# -- Measuring ----------------------------------------------------------------------


def median_fit(fit: Callable[[], T], runs: int) -> tuple[T, float]:
    """The last of *runs* fits, and their median wall time, each after a collection."""
    times = []
    for _ in range(runs):
        gc.collect()
        began = time.perf_counter()
        fitted = fit()
        times.append(time.perf_counter() - began)
    return fitted, statistics.median(times)


def top_decile_lift(scores: Sequence[float], outcomes: Sequence[bool]) -> float:
    """The top-decile lift as funnelkit's: the first tenth, rows of one score together.

    funnelkit ranks by score and keeps tied rows in one tenth, the one the
    first of them falls in: a tie across the cut joins the first tenth
    whole (the first tenth begins the ranks of the second at, rounded up).
    """
    ranked = sorted(range(len(scores)), key=lambda index: -scores[index])
    size, extra = divmod(len(scores), 10)
    second = size + min(1, extra)  # where the second tenth would begin
    first = 0
    while first < len(ranked) and (
        first < second or scores[ranked[first]] == scores[ranked[first - 1]]
    ):
        first += 1
    rate = sum(outcomes[index] for index in ranked[:first]) / first
    return rate / (sum(outcomes) / len(outcomes))


def shared_lift(scores: Sequence[float], outcomes: Sequence[bool]) -> float:
    """The top-decile lift with the rows tied at the cut given their average rate."""
    size = math.ceil(len(scores) / 10)
    cut = sorted(scores, reverse=True)[size - 1]
    above = [won for score, won in zip(scores, outcomes, strict=True) if score > cut]
    tied = [won for score, won in zip(scores, outcomes, strict=True) if score == cut]
    won = sum(above) + (size - len(above)) * sum(tied) / len(tied)
    return (won / size) / (sum(outcomes) / len(outcomes))


def auc_gap_interval(
    ours: Sequence[float], theirs: Sequence[float], outcomes: Sequence[bool]
) -> tuple[float, float]:
    """The 95% interval of AUC(ours) - AUC(theirs) over paired bootstrap resamples."""
    rng = np.random.default_rng(SEED)
    won = np.asarray(outcomes, dtype=bool)
    picks = rng.integers(0, len(won), size=(BOOTSTRAP, len(won)))
    labels = won[picks]
    positives = labels.sum(axis=1)
    negatives = len(won) - positives

    def aucs(scores: Sequence[float]) -> Any:  # noqa: ANN401 -- a numpy array
        ranks = rankdata(np.asarray(scores, dtype=float)[picks], axis=1)
        ranked = (ranks * labels).sum(axis=1) - positives * (positives + 1) / 2
        return ranked / (positives * negatives)

    gaps = aucs(ours) - aucs(theirs)
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True, slots=True)
class Figures:
    """One model's figures on the test part, and its scores there."""

    name: str
    auc: float
    lift: float
    shared: float
    fit_s: float | None
    scores: list[float]
    consistent: bool = True  # funnelkit's figures equal this script's (points only)


def points_figures(
    name: str,
    model: ScoringModel | Scorecard,
    test: Rows,
    label: str,
    fit_s: float | None,
) -> Figures:
    """A funnelkit model's figures from evaluate(), checked.

    The check: evaluate()'s AUC equals scikit-learn's roc_auc_score and its
    lift equals this script's, on the points the model gives each row.
    """
    measured = evaluate(model, test, label)
    scoring = model.model if isinstance(model, Scorecard) else model
    points = [scoring.score(as_lead(row, scoring), (), at=AT).total for row in test]
    outcomes = [outcome(row[label]) for row in test]
    assert measured.auc is not None  # noqa: S101 -- both outcomes are in every test part
    assert measured.top_decile_lift is not None  # noqa: S101 -- same
    agrees = math.isclose(
        measured.auc, float(roc_auc_score(outcomes, points)), abs_tol=1e-9
    ) and math.isclose(
        measured.top_decile_lift, top_decile_lift(points, outcomes), abs_tol=1e-9
    )
    return Figures(
        name,
        measured.auc,
        measured.top_decile_lift,
        shared_lift(points, outcomes),
        fit_s,
        points,
        consistent=agrees,
    )


def columns_of(train: Rows, label: str, exclude: Sequence[str]) -> Columns:
    """The categorical and numeric feature columns, read from the train part."""
    features = [name for name in train[0] if name != label and name not in exclude]

    def numeric(name: str) -> bool:
        for row in train:
            if row[name] == "":
                continue
            try:
                if not math.isfinite(float(row[name])):
                    return False
            except ValueError:
                return False
        return True

    numbers = [name for name in features if numeric(name)]
    return [name for name in features if name not in numbers], numbers


def frame_of(rows: Rows, columns: Columns) -> Any:  # noqa: ANN401 -- a DataFrame of the optional peer
    """The rows as a DataFrame: text (NaN when empty) and floats (NaN when empty)."""
    categorical, numeric = columns
    data: dict[str, Any] = {
        name: pd.Series(
            [row[name] if row[name] != "" else np.nan for row in rows], dtype=object
        )
        for name in categorical
    }
    for name in numeric:
        data[name] = pd.Series(
            [float(row[name]) if row[name] != "" else np.nan for row in rows],
            dtype=float,
        )
    return pd.DataFrame(data)


def logistic(columns: Columns) -> Pipeline:
    """LR: one-hot categoricals; numbers median-imputed, flagged, standardised."""
    categorical, numeric = columns
    prepare = ColumnTransformer(
        [
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True),
                    StandardScaler(),
                ),
                numeric,
            ),
        ]
    )
    return make_pipeline(prepare, LogisticRegression(max_iter=LR_MAX_ITER))


def boosting(columns: Columns) -> Pipeline:
    """HGB on ordinal-encoded categoricals (native support) and raw numbers."""
    categorical, numeric = columns
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        max_categories=HGB_MAX_CATEGORIES,
    )
    prepare = ColumnTransformer(
        [("categorical", encoder, categorical), ("numeric", "passthrough", numeric)]
    )
    mask = [True] * len(categorical) + [False] * len(numeric)
    return make_pipeline(
        prepare,
        HistGradientBoostingClassifier(categorical_features=mask, random_state=0),
    )


def peer_figures(
    name: str,
    pipeline: Pipeline,
    frames: tuple[Any, Any],
    labels: tuple[Any, Any],
    runs: int,
) -> tuple[Figures, Pipeline]:
    """A scikit-learn model's figures: fitted *runs* times, measured on the test."""
    train, test = frames
    train_y, test_y = labels
    fitted, fit_s = median_fit(lambda: clone(pipeline).fit(train, train_y), runs)
    scores = [float(p) for p in fitted.predict_proba(test)[:, 1]]
    outcomes = [bool(y) for y in test_y]
    figures = Figures(
        name,
        float(roc_auc_score(outcomes, scores)),
        top_decile_lift(scores, outcomes),
        shared_lift(scores, outcomes),
        fit_s,
        scores,
    )
    return figures, fitted


@dataclass(frozen=True, slots=True)
class Fitted:
    """The three fitted models' figures on one dataset, and what they were."""

    points: Figures
    fixed: Figures  # the points with C chosen by cross-validation
    lr: Figures
    hgb: Figures
    card: Scorecard
    columns: Columns
    lr_iterations: int
    hgb_iterations: int

    @property
    def best(self) -> Figures:
        """The scikit-learn model with the higher AUC."""
        return max((self.lr, self.hgb), key=lambda item: item.auc)


def fit_models(
    case: Case, parts: tuple[Rows, Rows], exclude: Sequence[str], runs: int
) -> Fitted:
    """Fit the points, LR and HGB on the train part; measure them on the test part."""
    train, test = parts
    card, fit_s = median_fit(
        lambda: fit_scorecard(train, case.label, exclude=exclude), runs
    )
    points = points_figures("points (funnelkit)", card, test, case.label, fit_s)
    fixed_card, fixed_s = median_fit(
        lambda: fit_scorecard(
            train, case.label, exclude=exclude, regularization=CHOSEN_C
        ),
        runs,
    )
    fixed = points_figures(
        "points, C by CV (funnelkit)", fixed_card, test, case.label, fixed_s
    )
    columns = columns_of(train, case.label, exclude)
    frames = (frame_of(train, columns), frame_of(test, columns))
    labels = (
        np.array([outcome(row[case.label]) for row in train]),
        np.array([outcome(row[case.label]) for row in test]),
    )
    lr, lr_fitted = peer_figures(
        "LR (scikit-learn)", logistic(columns), frames, labels, runs
    )
    hgb, hgb_fitted = peer_figures(
        "HGB (scikit-learn)", boosting(columns), frames, labels, runs
    )
    return Fitted(
        points=points,
        fixed=fixed,
        lr=lr,
        hgb=hgb,
        card=card,
        columns=columns,
        lr_iterations=int(lr_fitted[-1].n_iter_[0]),
        hgb_iterations=int(hgb_fitted[-1].n_iter_),
    )


# -- Reporting ----------------------------------------------------------------------


def model_table(figures: list[Figures]) -> str:
    """One line per model: AUC, lifts, fit time."""
    return table(
        [
            (
                item.name,
                f"{item.auc:.3f}",
                f"{item.lift:.2f}x",
                f"{item.shared:.2f}x",
                "(written)" if item.fit_s is None else f"{item.fit_s:.2f} s",
            )
            for item in figures
        ],
        ("model", "ROC AUC", "top-decile lift", "lift, ties shared", "fit s"),
    )


def add_rows(section: Report, case: Case, fitted: Fitted, hand: Figures) -> None:
    """The section's rows: AUC and lift against the targets, fit times."""
    points, lr, hgb, best = fitted.points, fitted.lr, fitted.hgb, fitted.best
    train_rows = fitted.card.rows
    section.add(
        f"ROC AUC, test part: points, {len(points.scores):,} rows",
        f"{points.auc:.3f}",
        f"LR {lr.auc:.3f}, HGB {hgb.auc:.3f}, hand-written {hand.auc:.3f}",
        f">= best scikit-learn ({best.auc:.3f})" if case.targets else "(compare)",
        points.auc >= best.auc if case.targets else None,
        short=f"{case.folder}: points AUC >= best scikit-learn",
    )
    section.add(
        "top-decile lift, test part: points",
        f"{points.lift:.2f}x",
        f"LR {lr.lift:.2f}x, HGB {hgb.lift:.2f}x, hand-written {hand.lift:.2f}x",
        f">= {LIFT_TARGET:g}x" if case.targets else "(compare)",
        points.lift >= LIFT_TARGET if case.targets else None,
        short=f"{case.folder}: points top-decile lift",
    )
    section.add(
        f"fit, train part ({train_rows:,} rows), median of {RUNS}",
        f"{points.fit_s or 0:.2f} s",
        f"points C by CV {fitted.fixed.fit_s or 0:.2f} s, "
        f"LR {lr.fit_s or 0:.2f} s, HGB {hgb.fit_s or 0:.2f} s",
    )


def add_notes(  # noqa: PLR0913 -- a section's figures
    section: Report,
    case: Case,
    *,
    fitted: Fitted,
    hand: Figures,
    parts: tuple[Rows, Rows],
    without: Fitted | None,
) -> None:
    """The section's notes: the model table, the comparison, the counts, checks."""
    train, test = parts
    points, best = fitted.points, fitted.best
    gap = points.auc - best.auc
    low, high = auc_gap_interval(
        points.scores, best.scores, [outcome(row[case.label]) for row in test]
    )
    verdict = (
        f"target points >= better: {'yes' if gap >= 0 else 'NO'}"
        if case.targets
        else "no target"
    )
    won = sum(outcome(row[case.label]) for row in train)
    test_won = sum(outcome(row[case.label]) for row in test)
    rows = len(train) + len(test)
    categorical, numeric = fitted.columns
    card = fitted.card
    features = len({level.feature for level in card.levels})
    train_auc = evaluate(card, train, case.label).auc or 0.0
    # The C the default fit chose (by cross-validation), where funnelkit says.
    chosen = getattr(card, "regularization", None)
    strength = "" if chosen is None else f", regularization C={chosen:g}"
    section.notes += [
        model_table([points, fitted.fixed, fitted.lr, fitted.hgb, hand]),
        (
            f"Points AUC {points.auc:.3f} against the better scikit-learn model "
            f"({best.name.split(' ')[0]} {best.auc:.3f}): {gap:+.3f} (95% paired "
            f"bootstrap interval {low:+.3f} to {high:+.3f}); {verdict}."
        ),
        (
            f"{rows:,} rows, {won + test_won:,} with the outcome "
            f"({(won + test_won) / rows:.1%}); train {len(train):,}, test "
            f"{len(test):,} ({test_won:,} with the outcome). Features: "
            f"{len(categorical)} categorical, {len(numeric)} numeric."
        ),
        (
            f"The learned scorecard: {len(card.model.rules)} rules over {features} "
            f"features{strength}; AUC on the train part {train_auc:.3f} (test "
            f"{points.auc:.3f}). LR converged in {fitted.lr_iterations} "
            f"iterations (of {LR_MAX_ITER:,}); HGB ran {fitted.hgb_iterations} "
            "boosting iterations."
        ),
    ]
    if without is not None:
        spread = [
            level
            for level in card.levels
            if level.feature in case.without and level.rows >= SPREAD_ROWS
        ]
        low_level = min(spread, key=lambda level: level.rate)
        high_level = max(spread, key=lambda level: level.rate)
        section.notes.append(
            f"Without {', '.join(case.without)} (single fits): points "
            f"{without.points.auc:.3f}, LR {without.lr.auc:.3f}, HGB "
            f"{without.hgb.auc:.3f}, hand-written {hand.auc:.3f} (ROC AUC). Its "
            f"levels of {SPREAD_ROWS} train rows or more convert from "
            f"{low_level.rate:.1%} ({low_level.level}) to {high_level.rate:.1%} "
            f"({high_level.level}). {case.why_without}"
        )
    checked = [fitted.points, fitted.fixed, hand]
    if without is not None:
        checked += [without.points, without.fixed]
    section.notes.append(
        "Check: evaluate()'s AUC and lift equal roc_auc_score's and this "
        f"script's on the same points: {met(all(item.consistent for item in checked))}."
    )


def run_case(case: Case, summary: Summary) -> None:
    """Fit and measure the four models on one dataset, and print its section."""
    folder = DATA / case.folder
    absent = [name for name in case.files if not (folder / name).is_file()]
    if not folder.is_dir() or absent:
        missing = folder if not folder.is_dir() else folder / absent[0]
        print()
        print(
            f"{case.section}. {case.title}: skipped, {missing} is not here "
            "(see ../shared/data/README.md)."
        )
        return
    rows, keys = case.load(folder)
    train = [row for row, key in zip(rows, keys, strict=True) if not in_test(key)]
    test = [row for row, key in zip(rows, keys, strict=True) if in_test(key)]
    fitted = fit_models(case, (train, test), case.exclude, RUNS)
    hand = points_figures(case.hand.name, case.hand, test, case.label, None)
    without = (
        fit_models(case, (train, test), case.exclude + case.without, 1)
        if case.without
        else None
    )
    section = Report(case.section, summary)
    add_rows(section, case, fitted, hand)
    add_notes(
        section, case, fitted=fitted, hand=hand, parts=(train, test), without=without
    )
    section.print(case.title)


def main() -> None:
    """Fit, measure and print a section per dataset, then the summary."""
    began = time.perf_counter()
    size = "quick (--quick): single fits" if QUICK else f"full: medians of {RUNS} fits"
    print(
        f"Learned points against scikit-learn on real labelled leads, {size}, "
        f"single-threaded. Peers: scikit-learn {peer_version('scikit-learn')}, "
        f"numpy {peer_version('numpy')}, pandas {peer_version('pandas')}. "
        f"Data: {DATA}."
    )
    if pd is None:
        print(
            "scikit-learn, numpy or pandas is missing (funnelkit.learn fits with "
            "scikit-learn too): pip install -r benchmarks/requirements.txt"
        )
        return
    summary: Summary = []
    with threadpool_limits(limits=1):
        for case in CASES:
            run_case(case, summary)
    print_summary(summary, began)


if __name__ == "__main__":
    main()
