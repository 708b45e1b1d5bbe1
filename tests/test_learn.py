import csv
import hashlib
import io
import itertools
import json
import math
import os
import random
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    AttributeRule,
    Bant,
    DataFileError,
    FunnelPolicy,
    Grades,
    Lead,
    MissingExtraError,
    NaiveDatetimeError,
    ScoringModel,
    Stage,
    Transition,
    ValidationError,
    absent,
    between,
    dump_policy,
    equals,
    load_policy,
)
from funnelkit._cli import main as cli_main
from funnelkit._files import _scalar as csv_cell
from funnelkit._files import read_leads
from funnelkit._rules import lead_value
from funnelkit.learn import (
    Evaluation,
    Scorecard,
    _grades,
    _log_likelihood,
    _monotone,
    _path,
    _pooled,
    _quantile_edges,
    as_lead,
    evaluate,
    evaluate_history,
    fit_scorecard,
    fit_scorecard_from_history,
    fit_scoring_model,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def _synthetic(count: int = 600, seed: int = 7) -> list[dict[str, object]]:
    """Rows where time on site and plan raise the odds, and noise does not."""
    rng = random.Random(seed)  # noqa: S311 -- test data, not secrets
    rows: list[dict[str, object]] = []
    for number in range(count):
        minutes = rng.randint(0, 60)
        plan = rng.choice(["free", "free", "team", "enterprise"])
        odds = -2.0 + minutes / 15 + {"free": 0.0, "team": 1.0, "enterprise": 2.0}[plan]
        won = rng.random() < 1 / (1 + math.exp(-odds))
        rows.append(
            {
                "id": f"L-{number}",
                "minutes": str(minutes) if number % 50 else "",
                "plan": plan if number % 199 else "reseller",
                "noise": rng.choice(["x", "y"]),
                "won": "yes" if won else "no",
            }
        )
    return rows


@pytest.fixture(scope="module")
def card() -> Scorecard:
    """A scorecard learned from the synthetic rows."""
    return fit_scorecard(_synthetic(), "won", exclude=["id"])


def _level_points(card: Scorecard, row: Mapping[str, object]) -> int:
    """The points of *row* added up from the scorecard's level table."""
    lead = as_lead(row, card.model)
    total = 0
    for feature in {level.feature for level in card.levels}:
        value = lead_value(lead, _path(feature))
        matched = [
            level
            for level in card.levels
            if level.feature == feature and level.test is not None and level.test(value)
        ]
        assert len(matched) <= 1
        total += matched[0].points if matched else 0
    return total


class TestScorecard:
    def test_points_are_whole_and_every_feature_starts_at_zero(
        self, card: Scorecard
    ) -> None:
        """Each level's points are whole, and each feature's lowest level is 0."""
        by_feature: dict[str, list[int]] = {}
        for level in card.levels:
            assert isinstance(level.points, int)
            by_feature.setdefault(level.feature, []).append(level.points)
        for points in by_feature.values():
            assert min(points) == 0

    def test_a_rule_for_each_level_worth_points(self, card: Scorecard) -> None:
        """Levels worth points are rules, named feature: level; 0 makes none."""
        worth = {
            f"{level.feature}: {level.level}": level.points
            for level in card.levels
            if level.points
        }
        rules = {rule.label: rule.points for rule in card.model.rules}
        assert rules == worth

    def test_the_signal_is_learned_and_the_noise_is_not(self, card: Scorecard) -> None:
        """Enterprise beats team beats free; the noise column earns little."""
        points = {(level.feature, level.level): level.points for level in card.levels}
        assert (
            points[("plan", "'enterprise'")]
            > points[("plan", "'team'")]
            > points[("plan", "'free'")]
        )
        assert abs(points[("noise", "'x'")] - points[("noise", "'y'")]) < 5

    def test_time_on_site_is_binned_in_half_open_ranges(self, card: Scorecard) -> None:
        """The numeric column becomes ranges that meet, plus a missing level."""
        names = [level.level for level in card.levels if level.feature == "minutes"]
        assert names[0].startswith("below ")
        assert names[-2].startswith("at least ")
        assert names[-1] == "missing"
        assert len(names) <= 21  # 20 bins at most, and missing

    def test_rare_values_are_pooled_into_other(self, card: Scorecard) -> None:
        """A value under min_share of the rows shares the 'other' level."""
        plans = [level.level for level in card.levels if level.feature == "plan"]
        assert "other" in plans
        assert "'reseller'" not in plans

    def test_a_row_scores_the_sum_of_its_levels(self, card: Scorecard) -> None:
        """The model's score of a row is the sum of its levels' points."""
        for row in _synthetic(60, seed=3):
            lead = as_lead(row, card.model)
            score = card.model.score(lead, (), at=T0)
            assert score.total == _level_points(card, row)

    def test_unseen_and_missing_values(self, card: Scorecard) -> None:
        """An unseen plan scores as 'other'; a missing number as 'missing'."""
        points = {(level.feature, level.level): level.points for level in card.levels}
        lead = as_lead({"plan": "partner", "minutes": ""}, card.model)
        score = card.model.score(lead, (), at=T0)
        assert score.total == (
            points[("plan", "other")]
            + points[("minutes", "missing")]
            + points[("noise", "missing")]
        )

    def test_grades_split_the_history(self, card: Scorecard) -> None:
        """The fit letters sit at the 80th, 50th and 20th percentiles."""
        letters = [letter for letter, _ in card.model.grades.fit]
        assert letters == ["A", "B", "C", "D"]
        scores = [
            card.model.score(as_lead(row, card.model), (), at=T0)
            for row in _synthetic()
        ]
        top = sum(score.grade == "A" for score in scores) / len(scores)
        assert 0.1 <= top <= 0.3

    @given(st.lists(st.integers(0, 40), min_size=1, max_size=60))
    def test_a_letter_holds_at_most_its_share_ties_and_all(
        self, points: list[int]
    ) -> None:
        """A: at most a fifth of the history; A and B: half; A to C: four fifths."""
        grades = _grades(points)
        shares = {"A": 0.2, "B": 0.5, "C": 0.8}
        for letter, minimum in grades.fit if grades is not None else ():
            if minimum is not None:
                reached = sum(value >= minimum for value in points)
                assert reached <= shares[letter] * len(points)

    @pytest.mark.parametrize("count", [5, 10, 100])
    def test_a_letter_takes_all_of_its_share(self, count: int) -> None:
        """Distinct points: A is exactly the top fifth (no float rounding it away)."""
        grades = _grades(list(range(count)))
        assert grades is not None
        minimum = dict(grades.fit)["A"]
        assert minimum is not None
        assert sum(value >= minimum for value in range(count)) == count // 5

    def test_a_tie_at_the_bottom_leaves_the_best_an_a(self) -> None:
        """Nine leads in ten at 0 points, one in ten at the top: those are A."""
        assert _grades([0] * 90 + [28] * 10) == Grades(fit=[("A", 28), ("D", None)])

    def test_numpy_values_are_read_as_python_s(self) -> None:
        """Rows from pandas' to_dict("records") hold numpy scalars: read as Python's."""
        numpy = pytest.importorskip("numpy")
        plain = [{"x": n % 5, "won": n % 2 == 0} for n in range(40)]
        rows = [{"x": numpy.int64(r["x"]), "won": numpy.bool_(r["won"])} for r in plain]
        assert (
            fit_scorecard(rows, "won").to_text()
            == fit_scorecard(plain, "won").to_text()
        )
        for odd in (numpy.array([1, 2]), numpy.datetime64("2026-01-01")):
            with pytest.raises(ValidationError, match="JSON scalar"):
                fit_scorecard([{**row, "odd": odd} for row in plain], "won")

    def test_levels_never_seen_sit_at_the_prior(self) -> None:
        """A level without rows keeps weight 0, the penalty's prior."""
        learned = fit_scorecard(_synthetic(), "won", exclude=["id"])
        empty = [level for level in learned.levels if not level.rows]
        assert [(level.feature, level.level) for level in empty] == [
            ("plan", "missing"),
            ("noise", "other"),
            ("noise", "missing"),
        ]
        assert all(level.weight == 0.0 for level in empty)

    def test_probability_doubles_its_odds_every_pdo_points(
        self, card: Scorecard
    ) -> None:
        """points_to_double_odds more points double the odds."""
        low = card.probability(40)
        high = card.probability(40 + card.points_to_double_odds)
        assert high / (1 - high) == pytest.approx(2 * low / (1 - low))

    @pytest.mark.parametrize(
        ("points", "chance"),
        [(-100_000, 0.0), (100_000, 1.0), (-(10**400), 0.0), (10**400, 1.0)],
        ids=["-1e5", "1e5", "-1e400", "1e400"],
    )
    def test_probability_far_out(
        self, card: Scorecard, points: int, chance: float
    ) -> None:
        """Points however far from 0 give a chance of 0 or 1, without overflow."""
        assert card.probability(points) == chance

    @given(st.floats(allow_nan=False), st.floats(allow_nan=False))
    def test_probability_is_a_chance_rising_with_points(
        self, first: float, second: float
    ) -> None:
        """Any points give a chance from 0 to 1, and more points no less."""
        card = fit_scorecard(
            [{"plan": "ab"[n % 2], "won": n % 3 == 0} for n in range(12)], "won"
        )
        low, high = sorted([first, second])
        assert 0 <= card.probability(low) <= card.probability(high) <= 1

    @pytest.mark.parametrize("points", ["5", True, math.nan, None])
    def test_probability_of_no_number(self, card: Scorecard, points: object) -> None:
        """Points that are no number are a ValidationError naming them."""
        with pytest.raises(ValidationError) as info:
            card.probability(points)  # type: ignore[arg-type]
        assert info.value.field == "points"

    def test_probability_is_calibrated_on_its_history(self, card: Scorecard) -> None:
        """The mean predicted chance matches the actual rate on the training rows."""
        result = evaluate(card, _synthetic(), "won")
        predicted = 0.0
        for band in result.calibration:
            assert band.predicted is not None
            predicted += band.predicted * band.leads
        assert predicted / result.leads == pytest.approx(
            result.positives / result.leads, abs=0.02
        )

    def test_the_same_rows_give_the_same_scorecard(self, card: Scorecard) -> None:
        """Fitting is deterministic: equal models, equal text."""
        again = fit_scorecard(_synthetic(), "won", exclude=["id"])
        assert again.model == card.model
        assert again.to_text() == card.to_text()

    def test_to_text_lines_up(self, card: Scorecard) -> None:
        """A scorecard's table keeps its columns in line with big counts."""
        wide = attrs.evolve(
            card,
            levels=tuple(
                attrs.evolve(level, rows=level.rows * 10_000_000)
                for level in card.levels
            ),
        )
        table = wide.to_text().splitlines()[2:]
        assert len({len(line) for line in table}) == 1
        assert table[0].split() == ["level", "rows", "rate", "points"]

    def test_to_text(self, card: Scorecard) -> None:
        """The text names the rows, the rule of points and each level."""
        text = card.to_text()
        assert text.startswith("learned: learned from 600 rows, ")
        assert "20 points double the odds" in text
        assert "Left out: id." in text
        assert "plan: 'enterprise'" in text

    def test_the_model_goes_into_a_policy_file_and_back(self, card: Scorecard) -> None:
        """dump_policy writes the learned model; load_policy reads it back equal."""
        policy = FunnelPolicy(
            name="learned",
            version=1,
            stages=[Stage("new"), Stage("won", "won")],
            transitions=[Transition(source="new", target="won")],
            initial="new",
            scoring=card.model,
        )
        text = dump_policy(policy)
        assert "include_high = false" in text
        assert load_policy(text) == policy

    def test_fit_scoring_model_is_the_scorecards_model(self, card: Scorecard) -> None:
        """fit_scoring_model returns the model fit_scorecard would."""
        assert fit_scoring_model(_synthetic(), "won", exclude=["id"]) == card.model

    def test_names_in_a_set_are_sorted(self) -> None:
        """features and exclude as sets: their names sorted, as lists in that order."""
        rows = _synthetic()
        as_set = fit_scorecard(rows, "won", features={"plan", "noise", "minutes"})
        as_list = fit_scorecard(rows, "won", features=["minutes", "noise", "plan"])
        assert (as_set.model, as_set.to_text()) == (as_list.model, as_list.to_text())
        left_out = fit_scorecard(rows, "won", exclude={"noise", "id"})
        assert "Left out: id, noise." in left_out.to_text()

    def test_a_dicts_keys_keep_its_order(self) -> None:
        """features as a dict's keys, which keep the dict's order: as that list."""
        rows = _synthetic()
        order = ["plan", "minutes", "noise"]
        as_keys = fit_scorecard(rows, "won", features=dict.fromkeys(order).keys())
        as_list = fit_scorecard(rows, "won", features=order)
        assert (as_keys.model, as_keys.to_text()) == (as_list.model, as_list.to_text())

    def test_sets_give_the_same_scorecard_in_every_process(
        self, printed: Callable[..., set[str]]
    ) -> None:
        """A set's order follows the hash seed; the scorecard does not."""
        code = (
            "import random\n"
            "from funnelkit import learn\n"
            "from funnelkit.serialization import to_json\n"
            "rng = random.Random(1)\n"
            "rows = [{'id': str(i), 'a': rng.choice('xyz'), 'b': rng.choice('uvw'),"
            " 'c': rng.choice('pq'), 'won': rng.random() < 0.4} for i in range(300)]\n"
            "card = learn.fit_scorecard(rows, 'won', features={'a', 'b', 'c'})\n"
            "print(to_json(card.model))\n"
            "print(learn.fit_scorecard(rows, 'won', exclude={'id', 'c'}).to_text())\n"
        )
        assert len(printed(code, seeds=("0", "1", "2", "3"))) == 1

    def test_features_choose_the_columns(self) -> None:
        """features= learns from those columns only."""
        learned = fit_scorecard(_synthetic(), "won", features=["plan"])
        assert {level.feature for level in learned.levels} == {"plan"}

    def test_a_label_function(self) -> None:
        """label may be a function of the row."""
        learned = fit_scorecard(
            _synthetic(), lambda row: row["won"] == "yes", features=["plan"]
        )
        assert learned.label == "outcome"
        assert learned.positives == sum(r["won"] == "yes" for r in _synthetic())

    def test_categorical_reads_numbers_as_categories(self) -> None:
        """A column named in categorical= gets one level per value."""
        rows = [
            {"zip": str(10_000 + number % 3), "won": number % 3 == 0}
            for number in range(90)
        ]
        learned = fit_scorecard(rows, "won", categorical=["zip"])
        assert [level.level for level in learned.levels] == [
            "'10000'",
            "'10001'",
            "'10002'",
            "other",
            "missing",
        ]

    def test_numbers_and_labels_of_other_types(self) -> None:
        """Numbers, booleans and 0/1 labels are read as they are."""
        rows: list[dict[str, object]] = [
            {"visits": number % 7, "vip": number % 2 == 0, "won": number % 7 > 3}
            for number in range(140)
        ]
        rows += [{"visits": 1.5, "vip": True, "won": 1}, {"won": 0}]
        learned = fit_scorecard(rows, "won")
        features = {level.feature for level in learned.levels}
        assert features == {"visits", "vip"}
        assert learned.positives == sum(r["won"] is True for r in rows) + 1

    def test_a_column_without_signal_makes_no_rule(self) -> None:
        """A column that cannot tell rows apart earns nothing: no rule, no grades."""
        rows = [{"same": "a", "won": number % 2 == 0} for number in range(20)]
        learned = fit_scorecard(rows, "won")
        assert learned.levels == ()
        assert learned.model.rules == ()
        assert learned.model.grades == Grades()

    def test_a_column_of_rare_values_only(self) -> None:
        """All values rare: one 'other' level (present) against 'missing'."""
        rows = [
            {"code": f"c{number}" if number % 3 else "", "won": number % 3 == 0}
            for number in range(60)
        ]
        learned = fit_scorecard(rows, "won", min_share=0.05)
        assert [level.level for level in learned.levels] == ["other", "missing"]
        lead = as_lead({"code": "new"}, learned.model)
        other = learned.levels[0].points
        assert learned.model.score(lead, (), at=T0).total == other

    def test_names_with_dots_read_the_attributes(self) -> None:
        """A column named with a dot reads the attribute of that name."""
        rows = [
            {"plan": "a" if n % 2 else "b", "emp.var": n % 5, "won": n % 2 == 0}
            for n in range(100)
        ]
        learned = fit_scorecard(rows, "won", monotone=False)
        attributes = {
            rule.attribute
            for rule in learned.model.rules
            if isinstance(rule, AttributeRule)
        }
        assert attributes <= {"plan", "attributes.emp.var"}

    def test_regularization_by_cross_validation(self) -> None:
        """'auto' chooses C among five by 5-fold AUC, the same every time."""
        rows = _synthetic(300)
        chosen = fit_scorecard(rows, "won", exclude=["id"], regularization="auto")
        assert chosen.regularization in {0.1, 0.3, 1.0, 3.0, 10.0}
        again = fit_scorecard(rows, "won", exclude=["id"], regularization="auto")
        assert again.model == chosen.model
        assert f"regularization C={chosen.regularization:g};" in chosen.to_text()

    def test_cross_validation_needs_two_of_each_outcome(self) -> None:
        """With one lead of an outcome there are no folds: C stays 1."""
        rows = [{"plan": ("a", "b")[n % 2], "won": n == 0} for n in range(30)]
        assert fit_scorecard(rows, "won", regularization="auto").regularization == 1

    def test_another_dimension(self) -> None:
        """dimension= puts the rules on the host's own score, without grades."""
        learned = fit_scorecard(
            _synthetic(), "won", exclude=["id"], dimension="product_a"
        )
        assert learned.dimension == "product_a"
        assert "product_a" in learned.model.dimensions
        assert learned.model.grades == Grades()
        assert evaluate(learned, _synthetic(), "won").auc > 0.7  # type: ignore[operator]


class TestResultsReadBack:
    """A scorecard and an evaluation refuse figures that cannot go together."""

    @pytest.mark.parametrize(
        ("pick", "changes", "field"),
        [
            (lambda card, _: card, {"rows": 0}, "rows"),
            (
                lambda card, _: card,
                {"points_to_double_odds": 0},
                "points_to_double_odds",
            ),
            (lambda card, _: card, {"positives": 10**6}, "positives"),
            (lambda card, _: card, {"regularization": 0.0}, "regularization"),
            (lambda card, _: card, {"base_log_odds": math.nan}, "base_log_odds"),
            (lambda card, _: card.levels[0], {"positives": 10**6}, "positives"),
            (lambda card, _: card.levels[0], {"points": 1.5}, "points"),
            (lambda _, result: result, {"positives": 10**6}, "positives"),
            (lambda _, result: result, {"auc": 1.5}, "auc"),
            (
                lambda _, result: result.calibration[0],
                {"positives": 10**6},
                "positives",
            ),
            (lambda _, result: result.calibration[0], {"predicted": -0.5}, "predicted"),
        ],
    )
    def test_a_result_that_does_not_add_up_is_refused(
        self,
        card: Scorecard,
        pick: Callable[[Scorecard, Evaluation], Any],
        changes: dict[str, object],
        field: str,
    ) -> None:
        """Each bound, broken, names its field: no division by zero rows later."""
        value = pick(card, evaluate(card, _synthetic(200, seed=5), "won"))
        with pytest.raises(ValidationError) as caught:
            attrs.evolve(value, **changes)
        assert (caught.value.owner, caught.value.field) == (type(value).__name__, field)

    def test_a_result_reads_back_as_it_was(self, card: Scorecard) -> None:
        """What the fit and the evaluation build pass their own checks."""
        result = evaluate(card, _synthetic(200, seed=5), "won")
        assert attrs.evolve(result) == result
        assert attrs.evolve(card).to_text() == card.to_text()


class TestBinning:
    @given(st.lists(st.integers(0, 30), min_size=1, max_size=200), st.integers(2, 12))
    def test_quantile_edges(self, values: list[int], bins: int) -> None:
        """Edges are data values, rising, above the minimum; no bin is empty."""
        ordered = sorted(float(value) for value in values)
        edges = _quantile_edges(ordered, bins)
        assert edges == sorted(set(edges))
        assert len(edges) <= bins - 1
        assert all(edge in ordered and edge > ordered[0] for edge in edges)
        bounds = [-math.inf, *edges, math.inf]
        for low, high in itertools.pairwise(bounds):
            assert any(low <= value < high for value in ordered)

    @given(
        st.lists(
            st.tuples(st.integers(1, 50), st.integers(0, 50)).map(
                lambda pair: [pair[0], min(pair[0], pair[1])]
            ),
            min_size=1,
            max_size=12,
        ),
        st.booleans(),
    )
    def test_pooling_makes_rates_monotone_and_keeps_totals(
        self, counts: list[list[int]], rising: bool
    ) -> None:
        """Pooled blocks have monotone rates, the same totals, in order."""
        blocks = _pooled(counts, rising)
        rates = [block[1] / block[0] for block in blocks]
        assert rates == sorted(rates, reverse=not rising)
        assert sum(block[0] for block in blocks) == sum(c[0] for c in counts)
        assert sum(block[1] for block in blocks) == sum(c[1] for c in counts)
        assert sum(block[2] for block in blocks) == len(counts)

    def test_auto_merges_noise_into_a_monotone_trend(self) -> None:
        """Small wiggles around a rising trend are merged away."""
        counts = [[100, 10], [100, 22], [100, 20], [100, 35], [100, 50]]
        merged, edges = _monotone(counts, [1.0, 2.0, 3.0, 4.0], "auto")
        assert merged == [[100, 10], [200, 42], [100, 35], [100, 50]]
        assert edges == [1.0, 3.0, 4.0]

    def test_auto_keeps_a_real_dip_and_merges_the_noise(self) -> None:
        """A dip the data is sure of stays; the wiggles beside it merge."""
        counts = [[300, 120], [300, 40], [300, 36], [300, 45], [300, 150]]
        edges = [1.0, 2.0, 3.0, 4.0]
        assert _monotone(counts, edges, "auto") == (
            [[300, 120], [600, 76], [300, 45], [300, 150]],
            [1.0, 3.0, 4.0],
        )
        assert _monotone(counts, edges, True) == ([[1200, 241], [300, 150]], [4.0])

    def test_auto_keeps_a_real_hump(self) -> None:
        """A hump the data is sure of stays as it is."""
        counts = [[500, 50], [500, 250], [500, 50]]
        assert _monotone(counts, [1.0, 2.0], "auto") == (counts, [1.0, 2.0])

    def test_true_always_merges_and_false_never(self) -> None:
        """monotone=True merges even a real hump; False keeps the bins."""
        counts = [[500, 50], [500, 250], [500, 50]]
        merged, _ = _monotone(counts, [1.0, 2.0], True)
        assert len(merged) < 3
        assert _monotone(counts, [1.0, 2.0], False) == (counts, [1.0, 2.0])

    def test_monotone_bins_are_left_alone(self) -> None:
        """Bins already monotone (or two) are not touched."""
        rising = [[10, 1], [10, 2], [10, 3]]
        assert _monotone(rising, [1.0, 2.0], True) == (rising, [1.0, 2.0])
        assert _monotone([[10, 5], [10, 1]], [1.0], True) == (
            [[10, 5], [10, 1]],
            [1.0],
        )

    def test_log_likelihood_of_pure_groups_is_zero(self) -> None:
        """Groups all won or all lost are predicted perfectly."""
        assert _log_likelihood([(5, 5), (3, 0)]) == 0.0


class TestFitErrors:
    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"bins": 1}, "bins"),
            ({"bins": 2.5}, "bins"),
            ({"min_share": 1.0}, "min_share"),
            ({"min_share": "a"}, "min_share"),
            ({"monotone": "yes"}, "monotone"),
            ({"monotone": 1}, "monotone"),
            ({"points_to_double_odds": 0}, "points_to_double_odds"),
            ({"regularization": 0}, "regularization"),
            ({"regularization": "cv"}, "regularization"),
            ({"min_share": [0.1]}, "min_share"),
            ({"name": " "}, "name"),
            ({"features": ["nope"]}, "features"),
            ({"features": ["won"]}, "features"),
            ({"features": ["plan"], "exclude": ["plan"]}, "features"),
            ({"exclude": [3]}, "exclude"),
            ({"categorical": [None]}, "categorical"),
            ({"regularization": "5"}, "regularization"),
            ({"regularization": math.nan}, "regularization"),
            ({"min_share": "0.5"}, "min_share"),
            ({"exclude": None}, "exclude"),
            ({"exclude": b"id"}, "exclude"),
            ({"exclude": ["pln"]}, "exclude"),
            ({"categorical": ["pln"]}, "categorical"),
            ({"categorical": None}, "categorical"),
            ({"features": [["plan"]]}, "features"),
            ({"features": 5}, "features"),
            ({"dimension": 5}, "dimension"),
            ({"dimension": "total"}, "dimension"),
            ({"dimension": " "}, "dimension"),
            ({"features": ["plan", "plan"]}, "features"),
        ],
    )
    def test_bad_options(self, options: dict[str, object], field: str) -> None:
        """A bad option is a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            fit_scorecard(_synthetic(40), "won", **options)  # type: ignore[arg-type]
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("rows", "label", "field"),
        [
            ([], "won", "rows"),
            ("a,b", "won", "rows"),
            ([{"won": "yes"}, ["x"]], "won", "rows[1]"),
            ([{"won": "maybe"}], "won", "rows[0]['won']"),
            ([{"won": 2}], "won", "rows[0]['won']"),
            ([{"a": 1}], "won", "rows[0]['won']"),
            ([{"won": "yes"}, {"won": "true"}], "won", "label"),
            ([{"won": "1", "a": [1]}, {"won": "0"}], "won", "rows[0]['a']"),
            ([{"won": "1"}], lambda _: "yes", "label(rows[0])"),
            ([{1: "x", "won": True}, {"won": False}], "won", "rows[0]"),
            ([{"won": True}, {"won": False}], 5, "label"),
            ([{"a": math.nan, "won": True}, {"won": False}], "won", "rows[0]['a']"),
            ([{"a": math.inf, "won": True}, {"won": False}], "won", "rows[0]['a']"),
            ([{"": "x", "won": True}, {"": "y", "won": False}], "won", "rows"),
        ],
    )
    def test_bad_rows(self, rows: object, label: object, field: str) -> None:
        """Bad rows or labels are a ValidationError naming the row and column."""
        with pytest.raises(ValidationError) as info:
            fit_scorecard(rows, label)  # type: ignore[arg-type]
        assert info.value.field == field

    def test_without_scikit_learn(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the learn extra, fitting names it; measuring still works."""
        monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)
        with pytest.raises(MissingExtraError, match=r"funnelkit\[learn\]") as info:
            fit_scorecard(_synthetic(40), "won")
        assert info.value.extra == "learn"
        model = ScoringModel("m", [AttributeRule("plan", "team", 5)])
        assert evaluate(model, _synthetic(40), "won").leads == 40

    @pytest.mark.parametrize("dimension", [5, "total", ""])
    def test_a_bad_dimension_is_refused_without_rules_too(
        self, dimension: object
    ) -> None:
        """dimension= is checked where it enters, not only by the rules made."""
        rows = [{"same": "a", "won": number % 2 == 0} for number in range(20)]
        with pytest.raises(ValidationError) as info:
            fit_scorecard(rows, "won", dimension=dimension)  # type: ignore[arg-type]
        assert info.value.field == "dimension"

    def test_a_label_function_that_fails_names_the_row(self) -> None:
        """An error of the label function is a ValidationError naming the row."""
        rows: list[dict[str, object]] = [{"won": True}, {"won": False}, {"x": 1}]
        with pytest.raises(ValidationError) as info:
            fit_scorecard(rows, lambda row: bool(row["won"]))
        assert info.value.field == "label(rows[2])"
        assert isinstance(info.value.__cause__, KeyError)

    def test_a_blank_column_is_refused_unless_left_out(self) -> None:
        """A blank column name can make no rule: name it, or exclude it."""
        rows = [{"": "xy"[n % 2], "won": n % 2 == 0} for n in range(20)]
        with pytest.raises(ValidationError) as info:
            fit_scorecard(rows, "won", features=[""])
        assert info.value.field == "features"
        assert fit_scorecard(rows, "won", exclude="").levels == ()

    @pytest.mark.parametrize(
        "rows",
        [
            [{"seats": 5, "won": True}],  # one row: no bins to cut either
            [{"plan": "a", "won": False}, {"plan": "b", "won": False}],
        ],
    )
    def test_both_outcomes_are_checked_first(
        self, rows: list[Mapping[str, object]]
    ) -> None:
        """Rows of one outcome say so, before any column is looked at."""
        with pytest.raises(ValidationError, match="both outcomes") as info:
            fit_scorecard(rows, "won")
        assert info.value.field == "label"


class TestColumnsOfOneValue:
    def test_a_flag_of_one_or_blank_is_a_level_and_missing(self) -> None:
        """A column of "1" or blank: a level for 1, one for the missing."""
        rows = [
            {
                "plan": ("free", "team")[n % 2],
                "opted_in": "1" if n % 3 else "",
                "won": n % 4 == 0 or (n % 3 == 0 and n % 5 == 0),
            }
            for n in range(60)
        ]
        learned = fit_scorecard(rows, "won")
        flag = [level for level in learned.levels if level.feature == "opted_in"]
        assert [(level.level, level.rows) for level in flag] == [
            ("'1'", 40),
            ("other", 0),
            ("missing", 20),
        ]
        assert flag[0].test is not None
        assert flag[0].test("1")
        assert flag[0].test(1)

    @pytest.mark.parametrize("value", [5, "5", 2.5, "2.5"])
    def test_a_column_of_one_number_is_left_out(self, value: object) -> None:
        """A number every row shares tells no lead from another: no levels."""
        rows = [
            {"seats": value, "plan": "ab"[n % 2], "won": n % 2 == 0} for n in range(10)
        ]
        learned = fit_scorecard(rows, "won")
        assert {level.feature for level in learned.levels} == {"plan"}

    def test_a_column_of_rare_values_and_blanks_is_left_out(self) -> None:
        """Blanks and values too rare to pool, nothing else: no levels."""
        rows = [
            {
                "notes": f"call {n}" if n < 2 else "",
                "plan": "ab"[n % 2],
                "won": n % 4 == 0,
            }
            for n in range(40)
        ]
        learned = fit_scorecard(rows, "won", min_share=0.1)
        assert {level.feature for level in learned.levels} == {"plan"}

    def test_a_number_beyond_a_float_is_a_category(self) -> None:
        """A whole number too large for a float is no number to bin: a category."""
        rows = [{"big": 10**400 if n % 2 else 1, "won": n % 2 == 0} for n in range(20)]
        learned = fit_scorecard(rows, "won")
        assert [level.level for level in learned.levels][:2] == ["1", repr(10**400)]


#: Cells as a CSV file holds them; the command line reads some as numbers or bools.
_CELLS = ["true", "false", "TRUE", "10115", "01067", "2.50", "1e3", " 5", "x", ""]


class TestCsvCells:
    def test_a_learned_policy_scores_a_csv_file_as_the_cli_does(
        self, tmp_path: Path
    ) -> None:
        """Learned from csv.DictReader rows, the points equal the CLI's on the file."""
        leads = tmp_path / "leads.csv"
        with leads.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["id", "created_at", "newsletter", "zip", "seats", "won"])
            for n in range(200):
                writer.writerow(
                    [
                        f"L{n:03d}",
                        "2026-03-02T09:00:00Z",
                        ("true", "false")[n % 2],
                        ("10115", "80331", "")[n % 3],
                        str(n % 7),
                        "yes" if (n % 2 == 0) != (n % 9 == 0) else "no",
                    ]
                )
        activities = tmp_path / "activities.csv"
        activities.write_text("lead_id,kind,at\n", encoding="utf-8")
        with leads.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        learned = fit_scorecard(
            rows, "won", exclude=["id", "created_at"], categorical=["zip"]
        )
        policy = tmp_path / "learned.toml"
        policy.write_text(
            dump_policy(
                FunnelPolicy(
                    name="learned",
                    version=1,
                    stages=[Stage("lead")],
                    transitions=[],
                    initial="lead",
                    scoring=learned.model,
                )
            ),
            encoding="utf-8",
        )
        out = io.StringIO()
        status = cli_main(
            ["score", str(policy), str(leads), str(activities), "--json"], out=out
        )
        assert status == 0
        by_cli = {item["lead_id"]: item["fit"] for item in json.loads(out.getvalue())}
        by_rows = {
            row["id"]: learned.model.score(as_lead(row, learned.model), (), at=T0).fit
            for row in rows
        }
        assert by_cli == by_rows
        assert by_rows == {row["id"]: _level_points(learned, row) for row in rows}
        assert len(set(by_rows.values())) > 2

    @settings(max_examples=25)
    @given(
        st.lists(
            st.tuples(st.sampled_from(_CELLS), st.sampled_from(_CELLS)),
            min_size=4,
            max_size=40,
        ),
        st.booleans(),
    )
    def test_a_level_takes_the_text_and_the_value_the_cli_reads(
        self, cells: list[tuple[str, str]], categorical: bool
    ) -> None:
        """A row scores alike as text and as the CLI reads its cells."""
        rows = [
            {"a": a, "b": b, "won": number % 2 == 0}
            for number, (a, b) in enumerate(cells)
        ]
        learned = fit_scorecard(
            rows, "won", min_share=0.0, categorical=["a"] if categorical else ()
        )
        for a, b in cells:
            text = {"a": a, "b": b}
            read = {key: csv_cell(value) for key, value in text.items() if value}
            as_read = Lead("L", T0, attributes=read)
            as_text = as_lead(text, learned.model)
            score = learned.model.score
            assert score(as_read, (), at=T0).fit == score(as_text, (), at=T0).fit

    def test_as_lead_reads_numbers_as_the_cli_does(self) -> None:
        """Text the CLI keeps as text ('1e3', ' 5') stays text under a range."""
        model = ScoringModel("m", [AttributeRule("a", between(1, None), 1)])
        assert as_lead({"a": "1e3"}, model).attributes == {"a": "1e3"}
        assert as_lead({"a": " 5"}, model).attributes == {"a": " 5"}
        assert as_lead({"a": "5.0"}, model).attributes == {"a": 5.0}

    def test_numbers_the_cli_keeps_as_text_are_categories(self) -> None:
        """A column of '1e3'-like text is no number to the CLI: a category."""
        rows = [{"a": ("1e3", "2e3")[n % 2], "won": n % 2 == 0} for n in range(20)]
        learned = fit_scorecard(rows, "won")
        assert [level.level for level in learned.levels] == [
            "'1e3'",
            "'2e3'",
            "other",
            "missing",
        ]

    def test_history_reads_attributes_as_a_funnel_does(self) -> None:
        """Text that looks like a number in a lead's attributes is a category."""
        leads = [
            Lead(f"L-{n}", T0, attributes={"seats": str(n % 3)}) for n in range(60)
        ]
        won = {lead.id: n % 3 == 0 for n, lead in enumerate(leads)}
        learned = fit_scorecard_from_history(leads, [], won, at=AT)
        assert [level.level for level in learned.levels][:3] == ["'0'", "'1'", "'2'"]
        for n, lead in enumerate(leads):
            points = learned.levels[n % 3].points
            assert learned.model.score(lead, (), at=AT).fit == points


def _write_leads(path: Path, rows: list[dict[str, str]]) -> None:
    """Write *rows* as a CSV leads file, the columns of the first row."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _policy_file(path: Path, model: ScoringModel) -> Path:
    """Write a one-stage policy scoring with *model*; return its path."""
    path.write_text(
        dump_policy(
            FunnelPolicy(
                name="learned",
                version=1,
                stages=[Stage("lead")],
                transitions=[],
                initial="lead",
                scoring=model,
            )
        ),
        encoding="utf-8",
    )
    return path


def _crm_rows(count: int = 300) -> list[dict[str, str]]:
    """A leads file's rows whose source, owner and budget answer tell the outcome."""
    rows = []
    for n in range(count):
        source = ("event", "ads", "seo")[n % 3]
        owner = ("ana", "bo")[n % 2]
        budget = ("yes", "no", "")[n % 5 % 3]
        odds = (source == "event") + (owner == "ana") + (budget == "yes")
        rows.append(
            {
                "id": f"L{n:03d}",
                "created_at": f"2026-03-{1 + n % 28:02d}T09:00:00Z",
                "email": f"p{n}@{('acme', 'mail')[n % 2]}.example" if n % 4 else "",
                "source": source,
                "owner": owner,
                "budget": budget,
                "plan": ("free", "team")[n % 7 % 2],
                "won": "yes" if odds + (n % 7 == 0) >= 2 else "no",
            }
        )
    return rows


_FIELD_CELLS = (
    *("", "yes", "No", " 1", "0", "true", "FALSE", "maybe"),
    *("2026-05-01", "2026-5-1", "ana", " ", "a@b.example", "a b@c", "5"),
)


class TestLeadColumns:
    def test_a_scorecard_learned_on_a_leads_file_scores_it_as_learned(
        self, tmp_path: Path
    ) -> None:
        """Learned on a leads file, source rules fire when the CLI scores it."""
        rows = _crm_rows()
        leads = tmp_path / "leads.csv"
        _write_leads(leads, rows)
        activities = tmp_path / "activities.csv"
        activities.write_text("lead_id,kind,at\n", encoding="utf-8")
        with leads.open(newline="", encoding="utf-8") as file:
            learned = fit_scorecard(csv.DictReader(file), "won")
        policy = _policy_file(tmp_path / "learned.toml", learned.model)
        out = io.StringIO()
        status = cli_main(
            ["score", str(policy), str(leads), str(activities), "--json"], out=out
        )
        assert status == 0
        by_cli = {item["lead_id"]: item["fit"] for item in json.loads(out.getvalue())}
        by_rows = {
            row["id"]: learned.model.score(as_lead(row, learned.model), (), at=T0).fit
            for row in rows
        }
        assert by_cli == by_rows
        assert by_rows == {row["id"]: _level_points(learned, row) for row in rows}
        rule = next(r for r in learned.model.rules if r.label == "source: 'event'")
        assert rule.attribute == "source"  # type: ignore[union-attr]
        event = next(lead for lead in read_leads(leads) if lead.source == "event")
        fired = learned.model.score(event, (), at=T0).contributions
        assert "source: 'event'" in {item.rule for item in fired}

    def test_columns_a_leads_file_reads_into_fields_are_learned_as_them(
        self,
    ) -> None:
        """source, owner and budget are the lead's fields, not attributes."""
        learned = fit_scorecard(_crm_rows(), "won")
        paths = {
            level.feature: rule.attribute
            for level in learned.levels
            for rule in learned.model.rules
            if isinstance(rule, AttributeRule)
            and rule.name == f"{level.feature}: {level.level}"
        }
        assert paths == {
            "source": "source",
            "owner": "owner",
            "budget": "bant.budget",
            "plan": "plan",
        }
        budget = [
            (level.level, level.test)
            for level in learned.levels
            if level.feature == "budget"
        ]
        # A BANT answer is True, False or missing: no level for other values.
        assert budget == [
            ("False", equals(False)),
            ("True", equals(True)),
            ("missing", absent()),
        ]

    def test_identifiers_and_created_at_are_left_out(self) -> None:
        """id, email and created_at are no features unless named."""
        learned = fit_scorecard(_crm_rows(), "won")
        features = {level.feature for level in learned.levels}
        assert features == {"source", "owner", "budget", "plan"}
        assert learned.excluded == ()

    def test_an_identifier_named_is_read_as_the_lead_field(self) -> None:
        """email named in features is the lead's email, as a leads file reads it."""
        rows = [
            {"email": ("a@x.example", "b@y.example")[n % 2], "won": n % 2 == 0}
            for n in range(40)
        ]
        learned = fit_scorecard(rows, "won", features=["email"])
        rule = next(iter(learned.model.rules))
        assert rule.attribute == "email"  # type: ignore[union-attr]
        lead = Lead("L", T0, email="a@x.example")
        assert learned.model.score(lead, (), at=T0).fit == rule.points

    def test_created_at_is_no_feature(self) -> None:
        """created_at named as a feature is refused: no rule can test it."""
        with pytest.raises(ValidationError) as caught:
            fit_scorecard(_crm_rows(), "won", features=["created_at"])
        assert (caught.value.field, caught.value.value) == ("features", "created_at")

    @pytest.mark.parametrize(
        ("column", "cell", "expected"),
        [
            ("budget", "maybe", "true or false"),
            ("need", 2, "true or false"),
            ("timeline", "soon", "a date, YYYY-MM-DD"),
            ("timeline", 20260501, "a date, YYYY-MM-DD"),
            ("source", True, "non-empty text"),
            ("owner", " ", "non-empty text"),
            ("email", "nobody", "an email address"),
        ],
    )
    def test_a_value_the_field_cannot_hold_is_refused(
        self, column: str, cell: object, expected: str
    ) -> None:
        """A cell a leads file could not read into its field names the row."""
        rows: list[dict[str, object]] = [
            {column: None, "plan": ("a", "b")[n % 2], "won": n % 2 == 0}
            for n in range(20)
        ]
        rows[3][column] = cell
        with pytest.raises(ValidationError) as caught:
            fit_scorecard(rows, "won", features=[column, "plan"])
        assert caught.value.field == f"rows[3][{column!r}]"
        assert caught.value.value == cell
        assert caught.value.expected.startswith(expected)
        with pytest.raises(ValidationError) as caught:
            as_lead(rows[3], ScoringModel("m", []))
        assert caught.value.field == f"row[{column!r}]"

    def test_numbers_and_dates_in_field_columns(self, tmp_path: Path) -> None:
        """A source of numbers is text, a timeline a date, as leads files read them."""
        rows = [
            {
                "source": n % 3 + 1,
                "timeline": ("2026-05-01", "2026-06-01")[n % 2],
                "won": n % 3 == 0 or n % 2 == 0,
            }
            for n in range(60)
        ]
        learned = fit_scorecard(rows, "won")
        tests = {(level.feature, level.test) for level in learned.levels}
        assert ("source", equals("1")) in tests
        assert ("timeline", equals("2026-05-01")) in tests
        leads = tmp_path / "leads.csv"
        _write_leads(
            leads,
            [
                {
                    "id": "L",
                    "created_at": "2026-03-02T09:00:00Z",
                    "source": "1",
                    "timeline": "2026-05-01",
                }
            ],
        )
        (lead,) = read_leads(leads)
        expected = sum(
            level.points
            for level in learned.levels
            if level.level in {"'1'", "'2026-05-01'"}
        )
        assert learned.model.score(lead, (), at=T0).fit == expected

    def test_as_lead_reads_a_row_as_a_leads_file_does(self, tmp_path: Path) -> None:
        """as_lead of a file's row is the lead read_leads makes of it."""
        row = {
            "id": "L-7",
            "created_at": "2026-03-02T09:00:00Z",
            "email": "ana@acme.example",
            "source": "event",
            "owner": "ana",
            "budget": "Yes",
            "authority": "0",
            "need": "true",
            "timeline": "2026-05-01",
            "plan": "team",
        }
        leads = tmp_path / "leads.csv"
        _write_leads(leads, [row])
        (read,) = read_leads(leads)
        lead = as_lead(row, ScoringModel("m", []))
        assert lead == attrs.evolve(read, created_at=lead.created_at)
        assert as_lead({"plan": "team"}, ScoringModel("m", []), id="R").id == "R"

    @settings(max_examples=60)
    @given(
        st.fixed_dictionaries(
            {
                column: st.sampled_from(_FIELD_CELLS)
                for column in ("email", "source", "owner", "budget", "need", "timeline")
            }
        )
    )
    def test_as_lead_reads_the_fields_of_any_row_as_read_leads(
        self, cells: dict[str, str]
    ) -> None:
        """as_lead and read_leads make the same lead of a line, or both refuse it."""
        row = {"id": "L-1", "created_at": "2026-03-02T09:00:00Z", **cells}
        model = ScoringModel("m", [])
        refused: DataFileError | None = None
        with tempfile.TemporaryDirectory() as folder:
            leads = Path(folder) / "leads.csv"
            _write_leads(leads, [row])
            try:
                (read,) = read_leads(leads)
            except DataFileError as error:
                refused = error
        if refused is None:
            lead = as_lead(row, model)
            assert lead == attrs.evolve(read, created_at=lead.created_at)
        else:
            # The first cell each refuses may differ: they read in other orders.
            column = str(refused.column)
            with pytest.raises(ValidationError) as caught:
                as_lead({column: row[column]}, model)
            assert caught.value.field == f"row[{column!r}]"
            with pytest.raises(ValidationError):
                as_lead(row, model)

    def test_as_lead_reads_json_values_of_fields(self) -> None:
        """A whole number in a text field is its text; 0, 1 and bools are answers."""
        row = {"owner": 5, "budget": 1, "authority": 0, "need": False}
        lead = as_lead(row, ScoringModel("m", []))
        assert lead.owner == "5"
        assert lead.bant == Bant(budget=True, authority=False, need=False)


class TestEvaluate:
    def test_a_perfect_model(self) -> None:
        """A model that ranks every positive first has AUC 1 and full lift."""
        rows = [{"visits": str(n), "won": n >= 15} for n in range(20)]
        model = ScoringModel("hand", [AttributeRule("visits", between(15, None), 10)])
        result = evaluate(model, rows, "won")
        assert result.auc == 1.0
        assert result.top_decile_lift == 4.0
        assert result.deciles[0].win_rate == 1.0
        assert [band.band for band in result.calibration] == ["D"]
        assert result.calibration[0].predicted is None

    def test_ties_count_half(self) -> None:
        """A model that scores everyone alike has AUC 0.5."""
        rows = [{"won": n % 2 == 0} for n in range(10)]
        result = evaluate(ScoringModel("flat", []), rows, "won")
        assert result.auc == 0.5

    def test_one_outcome_only(self) -> None:
        """Without both outcomes there is no AUC and no lift."""
        rows = [{"won": False} for _ in range(5)]
        result = evaluate(ScoringModel("flat", []), rows, "won")
        assert result.auc is None
        assert result.top_decile_lift is None
        assert "ROC AUC -" in result.to_text()

    def test_no_rows(self) -> None:
        """No rows: no deciles, no grades."""
        result = evaluate(ScoringModel("flat", []), [], "won")
        assert (result.leads, result.deciles, result.calibration) == (0, (), ())
        assert result.top_decile_lift is None

    def test_grades_in_order_with_their_rates(self) -> None:
        """Calibration lists each grade present, best first, with its rate."""
        rows = [{"size": n, "won": n > 30} for n in range(60)]
        model = ScoringModel("hand", [AttributeRule("size", between(20, None), 45)])
        result = evaluate(model, rows, "won")
        assert [(b.band, b.leads, b.positives) for b in result.calibration] == [
            ("B", 40, 29),
            ("D", 20, 0),
        ]

    def test_a_dimension(self) -> None:
        """dimension= ranks by that score."""
        rows = [
            {"plan": "pro" if n % 2 else "free", "won": n % 2 == 1} for n in range(8)
        ]
        model = ScoringModel(
            "two",
            [
                AttributeRule("plan", "pro", 5, dimension="upsell"),
                AttributeRule("plan", "free", 5),
            ],
        )
        assert evaluate(model, rows, "won").auc == 0.0
        assert evaluate(model, rows, "won", dimension="upsell").auc == 1.0

    def test_ranking_by_another_dimension_keeps_the_predicted_chance(
        self, card: Scorecard
    ) -> None:
        """dimension= changes the ranking, not the chance the card predicts."""
        rows = _synthetic(200, seed=5)
        own = evaluate(card, rows, "won").calibration
        for dimension in ("fit", "engagement"):
            other = evaluate(card, rows, "won", dimension=dimension).calibration
            assert [band.predicted for band in other] == [
                band.predicted for band in own
            ]

    def test_text(self, card: Scorecard) -> None:
        """The text has the AUC, a line per decile and per grade."""
        text = evaluate(card, _synthetic(200, seed=5), "won").to_text()
        assert "ROC AUC 0." in text
        # The first line, then each table's header, rule and rows.
        assert text.count("\n") == 2 * 2 + 10 + len(card.model.grades.fit)

    def test_wide_values_line_up(self, card: Scorecard) -> None:
        """Big counts and wide score ranges keep every column of both tables in line."""
        result = evaluate(card, _synthetic(200, seed=5), "won")
        wide = attrs.evolve(
            result,
            leads=1,
            positives=1,
            deciles=tuple(
                attrs.evolve(row, leads=row.leads * 100_000, low=-1.5, high=12345)
                for row in result.deciles
            ),
            calibration=tuple(
                attrs.evolve(band, leads=band.leads * 100_000)
                for band in result.calibration
            ),
        )
        first, *lines = wide.to_text().splitlines()
        assert first.startswith("learned: 1 lead, ")
        split = lines.index(next(line for line in lines if line.startswith("grade")))
        for table in (lines[:split], lines[split:]):
            assert len({len(line) for line in table}) == 1
            assert set(table[1]) == {"-", " "}

    @pytest.mark.parametrize(
        ("model", "rows", "field"),
        [
            ("model", [], "model"),
            (ScoringModel("m", []), [{"won": 1, "a": {"b": 1}}], "rows[0]['a']"),
            (ScoringModel("m", []), 5, "rows"),
        ],
    )
    def test_bad_input(self, model: object, rows: object, field: str) -> None:
        """A bad model or row is a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            evaluate(model, rows, "won")  # type: ignore[arg-type]
        assert info.value.field == field

    @pytest.mark.parametrize("dimension", ["Fit", 5, ""])
    def test_a_dimension_the_model_lacks_is_refused(self, dimension: object) -> None:
        """A misspelt dimension is a ValidationError listing the model's."""
        model = ScoringModel("m", [AttributeRule("plan", "pro", 5, dimension="up")])
        rows = [{"plan": "pro", "won": True}, {"plan": "free", "won": False}]
        with pytest.raises(ValidationError, match="'total', 'fit', 'engagement', 'up'"):
            evaluate(model, rows, "won", dimension=dimension)  # type: ignore[arg-type]
        leads, activities, outcomes = _history(10)
        with pytest.raises(ValidationError) as info:
            evaluate_history(
                model,
                leads,
                activities,
                outcomes,
                at=AT,
                dimension=dimension,  # type: ignore[arg-type]
            )
        assert info.value.field == "dimension"

    @pytest.mark.parametrize(
        ("row", "model", "field"),
        [
            (5, ScoringModel("m", []), "row"),
            ({1: 2}, ScoringModel("m", []), "row"),
            ({"a": math.nan}, ScoringModel("m", []), "row['a']"),
            ({"a": 1}, "m", "model"),
        ],
    )
    def test_as_lead_refuses_what_is_no_row_or_model(
        self, row: object, model: object, field: str
    ) -> None:
        """as_lead names a bad row or model with a ValidationError."""
        with pytest.raises(ValidationError) as info:
            as_lead(row, model)  # type: ignore[arg-type]
        assert info.value.field == field

    def test_as_lead_reads_numbers_only_where_the_model_tests_them(self) -> None:
        """Text becomes a number under a range test, anywhere in the test."""
        model = ScoringModel(
            "m",
            [
                AttributeRule("a", ~between(1, 2) | equals("x"), 1),
                AttributeRule("attributes.b", between(0, 9) & equals(3), 1),
            ],
        )
        lead = as_lead({"a": "1.5", "b": "3", "c": "4", "d": "x1"}, model)
        assert lead.attributes == {"a": 1.5, "b": 3, "c": "4", "d": "x1"}
        assert as_lead({"a": "n/a"}, model).attributes == {"a": "n/a"}
        with pytest.raises(ValidationError, match=r"row\['a'\]"):
            as_lead({"a": [1]}, model)


# -- From leads, activities and outcomes -------------------------------------------


def _history(
    count: int = 300, seed: int = 11
) -> tuple[list[Lead], list[Activity], dict[str, bool]]:
    """Leads whose demos and webinars raise the odds; page views do not."""
    rng = random.Random(seed)  # noqa: S311 -- test data, not secrets
    leads: list[Lead] = []
    activities: list[Activity] = []
    outcomes: dict[str, bool] = {}
    for number in range(count):
        lead = Lead(
            f"L-{number}",
            T0,
            attributes={"size": rng.choice(["small", "large"])},
            source=rng.choice(["ads", "seo", None]),
        )
        leads.append(lead)
        demos = rng.choice([0, 0, 0, 1, 2])
        webinars = rng.randint(0, 4)
        views = rng.randint(0, 6)
        odds = -2.5 + 2.0 * min(demos, 1) + 0.6 * webinars
        outcomes[lead.id] = rng.random() < 1 / (1 + math.exp(-odds))
        for kind, times in (("demo", demos), ("webinar", webinars), ("view", views)):
            activities.extend(
                Activity(lead.id, kind, T0 + timedelta(days=1 + index))
                for index in range(times)
            )
        # Long after the instant the leads are read at: never counted.
        activities.append(Activity(lead.id, "demo", T0 + timedelta(days=60)))
    return leads, activities, outcomes


AT = T0 + timedelta(days=30)


class TestHistory:
    def test_activities_become_capped_activity_rules(self) -> None:
        """Each kind done gets 'the first' and 'each, up to N' rules."""
        leads, activities, outcomes = _history()
        learned = fit_scorecard_from_history(leads, activities, outcomes, at=AT)
        levels = {(item.feature, item.level): item for item in learned.levels}
        demo = [item for key, item in levels.items() if key[0] == "activity: demo"]
        assert sum(item.points for item in demo) > 20
        assert levels[("activity: webinar", "each, up to 4")].points > 5
        rules = {rule.label: rule for rule in learned.model.rules}
        each = rules["webinar: each, up to 4"]
        assert each.max_points == each.points * 4  # type: ignore[union-attr]
        assert {item.feature for item in learned.levels} >= {"size", "source"}

    def test_owner_and_bant_answers_are_learned_as_the_fields(self) -> None:
        """A lead's owner and BANT answers are features, read from its fields."""
        leads = [
            Lead(
                f"L-{n}",
                T0,
                owner=("ana", "bo")[n % 2],
                bant=Bant(budget=(True, False, None)[n % 3]),
            )
            for n in range(120)
        ]
        won = {
            lead.id: (n % 2 == 0) + (n % 3 == 0) + (n % 5 == 0) >= 2
            for n, lead in enumerate(leads)
        }
        learned = fit_scorecard_from_history(leads, [], won, at=AT)
        paths = {rule.attribute for rule in learned.model.rules}  # type: ignore[union-attr]
        assert paths == {"owner", "bant.budget"}
        points = {(item.feature, item.level): item.points for item in learned.levels}
        for lead in leads[:6]:
            budget = lead.bant.budget
            expected = (
                points[("owner", repr(lead.owner))]
                + points[("budget", "missing" if budget is None else repr(budget))]
            )
            assert learned.model.score(lead, (), at=AT).fit == expected

    def test_an_attribute_named_like_a_field_is_its_own_column(self) -> None:
        """An attribute 'owner' is the column 'attributes.owner', not the field."""
        leads = [
            Lead(f"L-{n}", T0, attributes={"owner": ("x", "y")[n % 2]}, owner="ana")
            for n in range(40)
        ]
        won = {lead.id: n % 2 == 0 for n, lead in enumerate(leads)}
        learned = fit_scorecard_from_history(
            leads, [], won, at=AT, exclude=["id", "owner"]
        )
        assert {r.attribute for r in learned.model.rules} == {"attributes.owner"}  # type: ignore[union-attr]
        rule = next(r for r in learned.model.rules if r.name == "attributes.owner: 'x'")
        assert learned.model.score(leads[0], (), at=AT).fit == rule.points
        assert learned.excluded == ("id", "owner")

    def test_an_attribute_clashing_with_a_renamed_one_is_refused(self) -> None:
        """Attributes 'owner' and 'attributes.owner' would be one column: refused."""
        leads = [
            Lead("L-1", T0, attributes={"owner": "x"}),
            Lead("L-2", T0, attributes={"attributes.owner": "y"}),
        ]
        with pytest.raises(ValidationError) as caught:
            fit_scorecard_from_history(leads, [], {"L-1": True}, at=AT)
        assert caught.value.field == "leads[1].attributes"
        assert caught.value.value == "attributes.owner"

    def test_identifiers_are_features_only_when_named(self) -> None:
        """A lead's email is learned from only when features names it."""
        leads = [
            Lead(f"L-{n}", T0, email=("a@x.example", "b@y.example")[n % 2])
            for n in range(40)
        ]
        won = {lead.id: n % 2 == 0 for n, lead in enumerate(leads)}
        assert not fit_scorecard_from_history(leads, [], won, at=AT).levels
        named = fit_scorecard_from_history(leads, [], won, at=AT, features=["email"])
        assert {r.attribute for r in named.model.rules} == {"email"}  # type: ignore[union-attr]
        rule = next(r for r in named.model.rules if r.name == "email: 'a@x.example'")
        assert named.model.score(leads[0], (), at=AT).fit == rule.points

    def test_the_score_at_the_instant_is_the_sum_of_the_levels(self) -> None:
        """A lead's score at its instant adds its attribute and activity points."""
        leads, activities, outcomes = _history()
        learned = fit_scorecard_from_history(leads, activities, outcomes, at=AT)
        points = {(item.feature, item.level): item.points for item in learned.levels}
        caps = {
            item.feature: int(item.level.rpartition(" ")[2])
            for item in learned.levels
            if item.level.startswith("each")
        }
        for lead in leads[:40]:
            done = [a for a in activities if a.lead_id == lead.id and a.at <= AT]
            expected = points[("size", repr(lead.attributes["size"]))]
            expected += points[
                ("source", "missing" if lead.source is None else repr(lead.source))
            ]
            for kind in ("demo", "webinar", "view"):
                count = sum(a.kind == kind for a in done)
                feature = f"activity: {kind}"
                if count:
                    expected += points[(feature, "the first")]
                    if feature in caps:
                        expected += points[
                            (feature, f"each, up to {caps[feature]}")
                        ] * min(count, caps[feature])
            score = learned.model.score(lead, done, at=AT)
            assert score.total == expected

    def test_it_ranks_the_history_it_learned_from(self) -> None:
        """The learned model ranks well, better than a flat one."""
        leads, activities, outcomes = _history()
        learned = fit_scorecard_from_history(leads, activities, outcomes, at=AT)
        result = evaluate_history(learned, leads, activities, outcomes, at=AT)
        assert result.auc > 0.75  # type: ignore[operator]
        assert result.calibration[0].predicted is not None

    def test_a_window_and_chosen_kinds(self) -> None:
        """window= counts recent activities only; kinds= chooses the kinds."""
        leads, activities, outcomes = _history()
        learned = fit_scorecard_from_history(
            leads,
            activities,
            outcomes,
            at=AT,
            window=timedelta(days=27),
            kinds=["webinar"],
        )
        features = {item.feature for item in learned.levels}
        assert "activity: demo" not in features
        assert "activity: webinar" in features
        rules = [r for r in learned.model.rules if not isinstance(r, AttributeRule)]
        assert rules
        assert all(r.within == timedelta(days=27) for r in rules)
        # The webinars of days 1 and 2 are older than the window: at most 2 count.
        webinar = [item for item in learned.levels if item.feature.endswith("webinar")]
        assert all(item.level in {"the first", "each, up to 2"} for item in webinar)

    @pytest.mark.parametrize(
        ("at", "demo_at", "window"),
        [
            # 29 days 23.5 hours before, across the spring change: in the window.
            (
                datetime(2026, 4, 1, 9, tzinfo=LONDON),
                datetime(2026, 3, 2, 8, 30, tzinfo=LONDON),
                timedelta(days=30),
            ),
            # 01:50 BST comes 20 minutes before 01:10 GMT (fold=1) on 25 October.
            (
                datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=LONDON),
                datetime(2026, 10, 25, 1, 50, tzinfo=LONDON),
                None,
            ),
        ],
    )
    def test_instants_are_compared_as_instants(
        self, at: datetime, demo_at: datetime, window: timedelta | None
    ) -> None:
        """Which activities count by *at* and *window* does not depend on the zone."""
        leads, activities, outcomes = _history(60)
        day_before = (at.astimezone(UTC) - timedelta(days=1)).astimezone(LONDON)
        moved = [
            attrs.evolve(a, at=demo_at if a.kind == "demo" else day_before)
            for a in activities
            if a.at < T0 + timedelta(days=60)
        ]

        def levels(zone: tzinfo) -> list[tuple[str, str, int]]:
            feed = [attrs.evolve(a, at=a.at.astimezone(zone)) for a in moved]
            card = fit_scorecard_from_history(
                leads, feed, outcomes, at=at.astimezone(zone), window=window
            )
            return [(item.feature, item.level, item.rows) for item in card.levels]

        in_london = levels(LONDON)
        assert in_london == levels(UTC)
        assert ("activity: demo", "the first") in [row[:2] for row in in_london]

    def test_a_kind_done_once_and_a_kind_never_done(self) -> None:
        """Done at most once: only 'the first'; never done: no level at all."""
        leads, activities, outcomes = _history()
        once = [a for a in activities if a.kind != "demo" or a.at == T0 + timedelta(1)]
        learned = fit_scorecard_from_history(
            leads, once, outcomes, at=AT, kinds=["demo", "never"]
        )
        assert [item.level for item in learned.levels if "demo" in item.feature] == [
            "the first"
        ]
        assert not any("never" in item.feature for item in learned.levels)
        assert "Left out:" not in learned.to_text()

    def test_instants_per_lead(self) -> None:
        """A mapping of instants reads each lead at its own; others are left out."""
        leads, activities, outcomes = _history()
        at = {lead.id: AT for lead in leads[:200]}
        learned = fit_scorecard_from_history(leads, activities, outcomes, at=at)
        assert learned.rows == 200
        result = evaluate_history(learned.model, leads, activities, outcomes, at=at)
        assert result.leads == 200
        assert result.calibration[0].predicted is None

    @pytest.mark.parametrize(
        ("change", "error", "field"),
        [
            ({"at": datetime(2026, 4, 1)}, NaiveDatetimeError, "at"),  # noqa: DTZ001 -- naive on purpose
            ({"at": {"L-0": datetime(2026, 4, 1)}}, NaiveDatetimeError, "at['L-0']"),  # noqa: DTZ001 -- naive on purpose
            ({"at": "2026-04-01"}, ValidationError, "at"),
            ({"at": {}}, ValidationError, "leads"),
            ({"window": timedelta(0)}, ValidationError, "window"),
            ({"window": 3}, ValidationError, "window"),
            ({"outcomes": ["L-0"]}, ValidationError, "outcomes"),
            ({"outcomes": {"L-0": "yes"}}, ValidationError, "outcomes['L-0']"),
            ({"leads": ["L-0"]}, ValidationError, "leads[0]"),
            ({"activities": [None]}, ValidationError, "activities[0]"),
            ({"kinds": 5}, ValidationError, "kinds"),
            ({"kinds": [1]}, ValidationError, "kinds"),
            ({"exclude": None}, ValidationError, "exclude"),
            ({"categorical": None}, ValidationError, "categorical"),
            ({"features": [["size"]]}, ValidationError, "features"),
            ({"outcomes": {}}, ValidationError, "outcomes"),
            ({"leads": 5}, ValidationError, "leads"),
            ({"activities": 5}, ValidationError, "activities"),
        ],
    )
    def test_bad_history(
        self, change: dict[str, object], error: type[Exception], field: str
    ) -> None:
        """Bad leads, activities, outcomes or instants name what is wrong."""
        leads, activities, outcomes = _history(30)
        arguments: dict[str, object] = {
            "leads": leads,
            "activities": activities,
            "outcomes": outcomes,
            "at": AT,
        }
        arguments.update(change)
        with pytest.raises(error) as info:
            fit_scorecard_from_history(**arguments)  # type: ignore[arg-type]
        assert info.value.field == field  # type: ignore[attr-defined]

    def test_a_lead_given_twice_is_refused(self) -> None:
        """A lead id given twice is refused, not learned from or measured twice."""
        leads, activities, outcomes = _history(30)
        twice = [*leads, leads[3]]
        with pytest.raises(ValidationError) as info:
            fit_scorecard_from_history(twice, activities, outcomes, at=AT)
        assert info.value.field == "leads[30].id"
        learned = fit_scorecard_from_history(leads, activities, outcomes, at=AT)
        with pytest.raises(ValidationError) as info:
            evaluate_history(learned, twice, activities, outcomes, at=AT)
        assert info.value.field == "leads[30].id"


# -- Real data ----------------------------------------------------------------------

DATA = Path(
    os.environ.get("FUNNELKIT_DATA", Path(__file__).parents[2] / "shared" / "data")
)

#: Columns of the X Education data filled in by sales after contact, and ids.
LEAKY = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "Last Notable Activity",
    "Last Activity",
)
IDS = ("Prospect ID", "Lead Number")


def _data(folder: str) -> Path:
    path = DATA / folder
    if not path.is_dir():
        if os.environ.get("FUNNELKIT_REQUIRE_DATA"):
            pytest.fail(f"FUNNELKIT_REQUIRE_DATA is set and {path} is missing")
        pytest.skip(
            f"the dataset folder {path} is not here (see ../shared/data/README.md)"
        )
    return path


def _split(rows: list[dict[str, str]], key: str) -> tuple[list[dict[str, str]], ...]:
    """One row in five, by a hash of its id, is held out for testing."""

    def held(row: dict[str, str]) -> bool:
        return int(hashlib.sha256(row[key].encode()).hexdigest(), 16) % 5 == 0

    return [r for r in rows if not held(r)], [r for r in rows if held(r)]


@pytest.fixture(scope="module")
def x_education() -> tuple[list[dict[str, str]], ...]:
    """The X Education leads, split into a training and a test part."""
    with (_data("x-education-lead-scoring") / "Leads.csv").open(
        newline="", encoding="utf-8"
    ) as file:
        return _split(list(csv.DictReader(file)), "Prospect ID")


class TestRealData:
    def test_x_education_points_rank_as_well_as_scikit_learn(
        self, x_education: tuple[list[dict[str, str]], ...]
    ) -> None:
        """Without the leaky columns, the points match logistic regression, 2x lift."""
        train, test = x_education
        learned = fit_scorecard(train, "Converted", exclude=LEAKY + IDS)
        result = evaluate(learned, test, "Converted")
        baseline = _sklearn_auc(train, test, exclude=LEAKY + IDS)
        assert result.auc >= baseline  # type: ignore[operator]
        assert result.top_decile_lift >= 2  # type: ignore[operator]


def _sklearn_auc(
    train: list[dict[str, str]], test: list[dict[str, str]], exclude: tuple[str, ...]
) -> float:
    """The test AUC of scikit-learn's logistic regression on one-hot columns."""
    from sklearn.feature_extraction import DictVectorizer  # noqa: PLC0415 -- the learn extra
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 -- the learn extra
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415 -- the learn extra
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415 -- the learn extra
    from sklearn.preprocessing import MaxAbsScaler  # noqa: PLC0415 -- the learn extra

    numeric = {"TotalVisits", "Total Time Spent on Website", "Page Views Per Visit"}

    def features(row: dict[str, str]) -> dict[str, object]:
        found: dict[str, object] = {}
        for key, value in row.items():
            if key in exclude or key == "Converted":
                continue
            if key in numeric:
                found[key] = float(value) if value else 0.0
                found[f"{key} missing"] = float(not value)
            else:
                found[key] = value
        return found

    pipeline = make_pipeline(
        DictVectorizer(), MaxAbsScaler(), LogisticRegression(max_iter=5_000)
    )
    pipeline.fit([features(r) for r in train], [r["Converted"] == "1" for r in train])
    scores = pipeline.decision_function([features(r) for r in test])
    return float(roc_auc_score([r["Converted"] == "1" for r in test], scores))


def test_olist_mqls_carry_little_signal_at_mql_time() -> None:
    """Origin, landing page and month rank MQLs a little; most of it is the month."""
    folder = _data("olist-marketing-funnel")
    with (folder / "olist_closed_deals_dataset.csv").open(encoding="utf-8") as file:
        won = {row["mql_id"] for row in csv.DictReader(file)}
    with (folder / "olist_marketing_qualified_leads_dataset.csv").open(
        encoding="utf-8"
    ) as file:
        rows = [
            {
                "mql_id": row["mql_id"],
                "origin": row["origin"],
                "landing_page_id": row["landing_page_id"],
                "month": row["first_contact_date"][:7],
                "won": row["mql_id"] in won,
            }
            for row in csv.DictReader(file)
        ]
    train, test = _split(rows, "mql_id")  # type: ignore[arg-type]
    full = evaluate(fit_scorecard(train, "won", exclude=["mql_id"]), test, "won")
    without = evaluate(
        fit_scorecard(train, "won", exclude=["mql_id", "month"]), test, "won"
    )
    assert full.auc is not None
    assert without.auc is not None
    assert 0.6 < full.auc < 0.75
    assert without.auc < full.auc


def test_bank_calls_without_duration() -> None:
    """Without the call's duration (known after it), the points still rank well."""
    path = _data("uci-bank-marketing") / "bank-additional-full.csv"
    with path.open(newline="", encoding="utf-8") as file:
        rows = [
            {**row, "key": f"{number}"}
            for number, row in enumerate(csv.DictReader(file, delimiter=";"))
        ]
    train, test = _split(rows, "key")
    card = fit_scorecard(train, "y", exclude=["duration", "key"])
    result = evaluate(card, test, "y")
    assert result.auc is not None
    assert result.auc > 0.75
    assert result.top_decile_lift is not None
    assert result.top_decile_lift > 3
    assert not any(level.feature == "duration" for level in card.levels)
