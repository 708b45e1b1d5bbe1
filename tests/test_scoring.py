import copy
import gc
import math
import pickle
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from funnelkit import (
    Activity,
    ActivityRule,
    AttributeRule,
    Context,
    Contribution,
    Decay,
    DidActivity,
    Grades,
    HalfLife,
    Lead,
    LinearDecay,
    NaiveDatetimeError,
    PolicyError,
    Score,
    ScoreState,
    ScoringModel,
    StepDecay,
    ValidationError,
    between,
    equals,
    matches,
)
from funnelkit._frozen import FrozenMap
from funnelkit._rules import number_text
from funnelkit._scoring import _TUPLE_IDS, _lines_slot, _micros, _RuleState
from funnelkit._scoring import _held_dimensions as held_dimensions
from funnelkit._scoring import _held_points as held_points
from funnelkit.serialization import from_json, to_json

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
LEAD = Lead("L", T0, attributes={"industry": "software", "employees": 250, "title": 7})


def acts(*items: tuple[str, timedelta], **properties: object) -> list[Activity]:
    """Activities of LEAD at T0 + offset, with explicit ids a1, a2, ..."""
    return [
        Activity("L", kind, T0 + offset, id=f"a{n}", properties=properties)  # type: ignore[arg-type]
        for n, (kind, offset) in enumerate(items, start=1)
    ]


def line(score: Score, rule: str) -> Contribution:
    """The ledger line of *rule*."""
    (found,) = [c for c in score.contributions if c.rule == rule]
    return found


class TestActivityRules:
    def test_points_add_up(self) -> None:
        """Each counted activity adds the rule's points to its dimension."""
        model = ScoringModel(
            "m", [ActivityRule("view", 2), ActivityRule("webinar", 15)]
        )
        score = model.score(
            LEAD, acts(("view", H), ("view", 2 * H), ("webinar", 3 * H)), at=T0 + D
        )
        assert score.engagement == 19
        assert score.fit == 0
        assert score.total == 19
        assert line(score, "view").activity_ids == ("a1", "a2")
        assert line(score, "view").note == "2 activities x 2 = +4"

    def test_activities_after_at_do_not_count(self) -> None:
        """A score at a past instant ignores what came later."""
        model = ScoringModel("m", [ActivityRule("view", 2)])
        history = acts(("view", H), ("view", 5 * H))
        assert model.score(LEAD, history, at=T0 + 2 * H).engagement == 2
        assert model.score(LEAD, history, at=T0 + 5 * H).engagement == 4

    def test_where_filters_properties(self) -> None:
        """Only activities whose properties pass the tests count."""
        model = ScoringModel(
            "m", [ActivityRule("download", 8, where={"asset": "whitepaper"})]
        )
        history = [
            Activity("L", "download", T0, id="w", properties={"asset": "whitepaper"}),
            Activity("L", "download", T0, id="e", properties={"asset": "ebook"}),
            Activity("L", "download", T0, id="n"),
        ]
        assert model.score(LEAD, history, at=T0).engagement == 8

    def test_lifetime_frequency_cap(self) -> None:
        """max_count alone counts the first activities, in time order."""
        model = ScoringModel("m", [ActivityRule("download", 8, max_count=2)])
        history = acts(*[("download", n * H) for n in (5, 1, 3, 2, 4)])
        score = model.score(LEAD, history, at=T0 + D)
        assert score.engagement == 16
        assert line(score, "download").activity_ids == ("a2", "a4")
        assert line(score, "download").skipped_ids == ("a3", "a5", "a1")
        assert (
            line(score, "download").note
            == "2 activities x 8 = +16, 3 over the frequency cap"
        )

    def test_sliding_window_frequency_cap(self) -> None:
        """max_count per window: no window of that length holds more counted ones."""
        model = ScoringModel("m", [ActivityRule("view", 1, max_count=2, per=D)])
        history = acts(*[("view", n * H) for n in (0, 1, 2, 23, 25)])
        score = model.score(LEAD, history, at=T0 + 2 * D)
        assert line(score, "view").activity_ids == ("a1", "a2", "a5")
        assert line(score, "view").skipped_ids == ("a3", "a4")

    @given(
        hours=st.lists(st.integers(0, 120), max_size=12),
        max_count=st.integers(1, 3),
        per=st.integers(1, 48),
    )
    def test_a_frequency_cap_counts_while_its_span_has_room(
        self, hours: list[int], max_count: int, per: int
    ) -> None:
        """An activity counts when fewer than max_count counted ones came within per."""
        model = ScoringModel(
            "m", [ActivityRule("view", 1, max_count=max_count, per=per * H)]
        )
        history = [
            Activity("L", "view", T0 + h * H, id=f"v{n:02}")
            for n, h in enumerate(sorted(hours))
        ]
        counted: list[Activity] = []
        for activity in history:
            recent = [c for c in counted if c.at > activity.at - per * H]
            if len(recent) < max_count:
                counted.append(activity)
        score = model.score(LEAD, history, at=T0 + 200 * H)
        found = line(score, "view").activity_ids if history else ()
        assert found == tuple(c.id for c in counted)

    def test_within_window_includes_its_edge(self) -> None:
        """within keeps activities at most that old."""
        model = ScoringModel("m", [ActivityRule("view", 1, within=7 * D)])
        history = acts(("view", timedelta(0)), ("view", 10 * D))
        assert model.score(LEAD, history, at=T0 + 12 * D).engagement == 1
        assert model.score(LEAD, history, at=T0 + 7 * D).engagement == 1
        assert (
            model.score(
                LEAD, history, at=T0 + 7 * D + timedelta(microseconds=1)
            ).engagement
            == 0
        )

    def test_all_expired_leaves_no_line(self) -> None:
        """A rule whose activities all left the window adds no ledger line."""
        model = ScoringModel("m", [ActivityRule("view", 1, within=D)])
        score = model.score(LEAD, acts(("view", timedelta(0))), at=T0 + 3 * D)
        assert score.contributions == ()

    def test_caps_choose_before_the_window(self) -> None:
        """Frequency caps run over the whole history, then within filters."""
        model = ScoringModel("m", [ActivityRule("view", 1, max_count=1, within=D)])
        history = acts(("view", timedelta(0)), ("view", 5 * D))
        assert model.score(LEAD, history, at=T0 + 5 * D).engagement == 0


class TestDecay:
    def test_model_half_life(self) -> None:
        """The model's decay applies to rules that do not set their own."""
        model = ScoringModel("m", [ActivityRule("webinar", 16)], decay=HalfLife(10 * D))
        score = model.score(LEAD, acts(("webinar", timedelta(0))), at=T0 + 20 * D)
        assert score.engagement == 4
        assert (line(score, "webinar").raw, line(score, "webinar").decay) == (16, -12)

    def test_fading_points_on_a_minimum_take_its_grade_and_band(self) -> None:
        """80 points halved to exactly 40 are grade B and band 2: each starts at 40."""
        model = ScoringModel(
            "m",
            [
                ActivityRule("webinar", 80),
                ActivityRule("download", 80, dimension="fit"),
            ],
            decay=HalfLife(10 * D),
        )
        history = acts(("webinar", timedelta(0)), ("download", timedelta(0)))
        scorer = model.scorer(LEAD)
        for activity in history:
            scorer.add(activity)
        for score in (
            model.score(LEAD, history, at=T0 + 10 * D),
            scorer.score(T0 + 10 * D),
        ):
            assert (score.engagement, score.fit) == (40, 40)
            assert (score.grade, score.band) == ("B", "2")

    def test_rule_step_decay(self) -> None:
        """A rule's own decay overrides the model's."""
        model = ScoringModel(
            "m",
            [ActivityRule("webinar", 8, decay=StepDecay(7 * D, 0.5))],
            decay=HalfLife(D),
        )
        assert (
            model.score(
                LEAD, acts(("webinar", timedelta(0))), at=T0 + 15 * D
            ).engagement
            == 2
        )

    def test_linear_decay(self) -> None:
        """Linear decay: 10 points 15 days into 60 are worth 7.5."""
        model = ScoringModel(
            "m", [ActivityRule("webinar", 10, decay=LinearDecay(60 * D))]
        )
        history = acts(("webinar", timedelta(0)), ("webinar", -90 * D))
        assert model.score(LEAD, history, at=T0 + 15 * D).engagement == 7.5

    def test_none_disables_model_decay(self) -> None:
        """decay=None keeps a rule's points whole, whatever the model says."""
        model = ScoringModel(
            "m", [ActivityRule("unsubscribe", -25, decay=None)], decay=HalfLife(D)
        )
        history = acts(("unsubscribe", timedelta(0)))
        assert model.score(LEAD, history, at=T0 + 365 * D).engagement == -25


class TestCapsAndLimits:
    def test_max_points_caps_positive_rules(self) -> None:
        """A rule's total never exceeds max_points; the ledger shows the cap."""
        model = ScoringModel("m", [ActivityRule("download", 8, max_points=24)])
        score = model.score(
            LEAD, acts(*[("download", n * H) for n in range(5)]), at=T0 + D
        )
        item = line(score, "download")
        assert (item.raw, item.decay, item.cap, item.points) == (40, 0, -16, 24)

    def test_max_points_caps_negative_rules(self) -> None:
        """For a negative rule, max_points bounds the size of the penalty."""
        model = ScoringModel("m", [ActivityRule("bounce", -10, max_points=15)])
        score = model.score(
            LEAD, acts(*[("bounce", n * H) for n in range(3)]), at=T0 + D
        )
        assert score.engagement == -15

    @pytest.mark.parametrize("points", [0.5, 1, -0.5, -1])
    def test_a_capped_fading_rule_of_a_point_or_less_keeps_its_sign(
        self, points: float
    ) -> None:
        """A half-life rule of at most a point, held at its cap, keeps its sign."""
        model = ScoringModel(
            "m", [ActivityRule("view", points, max_points=1)], decay=HalfLife(D)
        )
        history = acts(*[("view", n * H) for n in range(5)])
        expected = 1 if points > 0 else -1
        assert model.score(LEAD, history, at=T0 + 5 * H).engagement == expected
        scorer = model.scorer(LEAD)
        for item in history:
            scorer.add(item)
        assert scorer.score(T0 + 5 * H).engagement == expected

    def test_limits_clamp_with_a_ledger_line(self) -> None:
        """A dimension stays within its limits; the clamp is a line of its own."""
        model = ScoringModel(
            "m",
            [ActivityRule("demo", 30), ActivityRule("unsubscribe", -25)],
            limits={"engagement": (0, 100)},
        )
        high = model.score(LEAD, acts(*[("demo", n * H) for n in range(5)]), at=T0 + D)
        assert high.engagement == 100
        clamp = line(high, "limit on engagement")
        assert (clamp.points, clamp.cap, clamp.note) == (
            -50,
            -50,
            "engagement is kept at most 100",
        )
        low = model.score(LEAD, acts(("unsubscribe", H)), at=T0 + D)
        assert low.engagement == 0
        assert line(low, "limit on engagement").note == "engagement is kept at least 0"

    def test_one_sided_limits_as_lists(self) -> None:
        """Limits may be lists (as from JSON) and open on one side."""
        model = ScoringModel(
            "m", [ActivityRule("demo", 30)], limits={"engagement": [None, 40]}
        )
        assert model.limits["engagement"] == (None, 40.0)
        assert (
            model.score(LEAD, acts(("demo", H), ("demo", 2 * H)), at=T0 + D).engagement
            == 40
        )


def _zero_model() -> ScoringModel:
    """A model whose notes write the value of the attribute x."""
    return ScoringModel(
        "m",
        [
            AttributeRule("x", between(-1, 1), 5),
            AttributeRule("x", equals(0), 3, name="zero"),
        ],
    )


class TestAttributeRulesAndGrades:
    @given(
        st.lists(st.sampled_from([0, 0.0, -0.0, False, 1, 1.0, True, "0"]), min_size=1)
    )
    def test_a_score_does_not_depend_on_leads_scored_before(
        self, values: list[object]
    ) -> None:
        """Each lead's ledger says its own value: -0.0 is not 0.0 said by another."""
        seasoned = _zero_model()
        for value in values:
            lead = Lead("L", T0, attributes={"x": value})  # type: ignore[dict-item]
            score = seasoned.score(lead, [], at=T0)
            assert to_json(score) == to_json(_zero_model().score(lead, [], at=T0))

    def test_fit_rules_and_notes(self) -> None:
        """Matching attribute rules add fit; the others are noted with the reason."""
        model = ScoringModel(
            "m",
            [
                AttributeRule("industry", equals("software"), 20),
                AttributeRule("employees", between(50, 1000), 25),
                AttributeRule("title", matches("VP"), 15),
                AttributeRule("country", "DE", 10),
            ],
        )
        score = model.score(LEAD, [], at=T0)
        assert score.fit == 45
        assert score.grade == "B"
        assert score.notes == (
            "title matches /VP/: title is 7, not text",
            "country equals 'DE': country is missing",
        )

    def test_matrix_and_custom_grades(self) -> None:
        """Grades map fit to letters and engagement to bands; the matrix joins them."""
        grades = Grades(
            fit={"Gold": 30, "Silver": None}, engagement={"hot": 10, "cold": None}
        )
        model = ScoringModel(
            "m",
            [AttributeRule("industry", "software", 40), ActivityRule("demo", 30)],
            grades=grades,
        )
        score = model.score(LEAD, acts(("demo", H)), at=T0 + D)
        assert (score.grade, score.band, score.matrix) == ("Gold", "hot", "Goldhot")
        assert grades.rank("Silver") == 1
        with pytest.raises(PolicyError, match="Grades, letter"):
            grades.rank("Bronze")
        with pytest.raises(PolicyError, match="Grades, letter"):
            grades.rank(["Gold"])  # type: ignore[arg-type] # a wrong type on purpose

    def test_other_dimensions_stand_apart(self) -> None:
        """A host's own dimension is scored but not part of the total."""
        model = ScoringModel(
            "m",
            [ActivityRule("demo", 30), ActivityRule("trial", 5, dimension="product_a")],
        )
        score = model.score(LEAD, acts(("demo", H), ("trial", H)), at=T0 + D)
        assert model.dimensions == ("fit", "engagement", "product_a")
        assert score.dimensions == {"fit": 0, "engagement": 30, "product_a": 5}
        assert (score.total, score["product_a"], score["total"], score["nope"]) == (
            30,
            5,
            30,
            0,
        )

    @pytest.mark.parametrize(
        "bands",
        [
            {},
            {"A": 10},
            {"A": None, "B": None},
            {"A": 10, "B": 20, "C": None},
            {"A": 10, "B": 10, "C": None},
            {"": None},
            {"A": "10", "B": None},
            {"A": 10**400, "B": None},  # beyond a float
            "A,B",
            (("A",),),
        ],
    )
    def test_bad_bands(self, bands: object) -> None:
        """Bands must be labelled, strictly descending, ending in a catch-all."""
        with pytest.raises(PolicyError, match="Grades, fit"):
            Grades(fit=bands)

    def test_bands_as_lists(self) -> None:
        """Bands given as JSON-style lists become tuples."""
        assert Grades(fit=[["A", 10], ["B", None]]).fit == (("A", 10), ("B", None))

    @pytest.mark.parametrize("points", ["5", None, True, float("nan")])
    def test_grading_something_else_than_points(self, points: object) -> None:
        """Grading text, None, a bool or NaN raises a ValidationError naming points."""
        for grade in (Grades().fit_grade, Grades().engagement_band):
            with pytest.raises(ValidationError) as info:
                grade(points)  # type: ignore[arg-type]
            assert info.value.field == "points"

    def test_grading_points(self) -> None:
        """fit_grade and engagement_band read points as a score's bands do."""
        assert (Grades().fit_grade(45), Grades().engagement_band(70.5)) == ("B", "1")


class TestExplain:
    def test_numbers_are_written_in_full(self) -> None:
        """Ledger notes, limits and rules write points with every digit, no exponent."""
        model = ScoringModel("m", [ActivityRule("a", 12345.67)])
        score = model.score(LEAD, acts(("a", H), ("a", H), ("a", H)), at=T0 + D)
        assert line(score, "a").note == "3 activities x 12345.67 = +37037.01"
        capped = ScoringModel(
            "m", [ActivityRule("b", 1e9, dimension="fit")], limits={"fit": (0, 1e9)}
        )
        score = capped.score(LEAD, acts(("b", H), ("b", H)), at=T0 + D)
        assert line(score, "b").note == "2 activities x 1000000000 = +2000000000"
        assert line(score, "limit on fit").note == "fit is kept at most 1000000000"
        rule = ActivityRule("b", 1e9, max_points=5e8)
        assert rule.describe() == "+1000000000 per b, capped at 500000000"
        assert ActivityRule("u", -0.5).describe() == "-0.5 per u"
        assert number_text(1e16) == "10000000000000000"
        assert number_text(-0.0) == "0"

    def test_worked_example(self) -> None:
        """explain() renders the ledger a sales rep reads."""
        model = ScoringModel(
            "demo-model",
            [
                AttributeRule("industry", "software", 20, name="target industry"),
                AttributeRule("country", "DE", 10, name="target country"),
                ActivityRule("webinar", 16, name="webinar attended"),
                ActivityRule("download", 8, max_count=1, decay=None, name="content"),
                ActivityRule("demo", 90, decay=None, name="demo request"),
            ],
            decay=HalfLife(10 * D),
            limits={"engagement": (0, 100)},
        )
        history = acts(
            ("webinar", timedelta(0)), ("download", H), ("download", 2 * H), ("demo", H)
        )
        expected = """\
Lead L, scored by 'demo-model' at 2026-03-22T09:00:00+00:00
fit 20 (grade C), engagement 100 (band 1), total 120: C1
fit 20
         +20  target industry: industry is 'software'
engagement 100
          +4  webinar attended: 1 activity x 16 = +16; decay -12
          +8  content: 1 activity x 8 = +8, 1 over the frequency cap
         +90  demo request: 1 activity x 90 = +90
          -2  limit on engagement: engagement is kept at most 100; cap -2
not counted
  target country: country is missing"""
        assert expected == model.score(LEAD, history, at=T0 + 20 * D).explain()

    def test_negative_and_other_dimensions(self) -> None:
        """Negative totals and extra dimensions render too."""
        model = ScoringModel(
            "m", [ActivityRule("bounce", -5), ActivityRule("trial", 2, dimension="pql")]
        )
        text = model.score(LEAD, acts(("bounce", H), ("trial", H)), at=T0 + D).explain()
        assert "engagement -5 (band 4), total -5: D4" in text
        assert text.splitlines()[-2:] == [
            "pql 2",
            "          +2  trial: 1 activity x 2 = +2",
        ]


class TestModelValidation:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"name": ""}, "name"),
            ({"rules": 5}, "rules"),
            ({"rules": "page_view"}, "rules"),
            ({"rules": [ActivityRule("x", 1), "y"]}, "rules[1]"),
            ({"rules": [ActivityRule("x", 1), ActivityRule("x", 2)]}, "rules[1].name"),
            ({"decay": timedelta(days=30)}, "decay"),
            ({"grades": {"A": 1}}, "grades"),
            ({"limits": [("fit", 0, 1)]}, "limits"),
            ({"limits": {"total": (0, 100)}}, "limits['total']"),
            ({"limits": {"engagement": (10, 0)}}, "limits['engagement']"),
            ({"limits": {"engagement": (None, None)}}, "limits['engagement']"),
            ({"limits": {"engagement": (0, "100")}}, "limits['engagement']"),
            ({"limits": {"engagement": (-1e12, 0)}}, "limits['engagement']"),
            ({"limits": {"engagement": (0, 10**400)}}, "limits['engagement']"),
            ({"limits": {"engagement": 100}}, "limits['engagement']"),
        ],
    )
    def test_bad_models_name_field(self, kwargs: dict[str, object], field: str) -> None:
        """Every bad model argument raises a PolicyError naming the field."""
        arguments: dict[str, object] = {"name": "m", "rules": [ActivityRule("x", 1)]}
        with pytest.raises(PolicyError) as info:
            ScoringModel(**(arguments | kwargs))  # type: ignore[arg-type]
        assert info.value.field == field

    def test_duplicate_message_says_how_to_fix(self) -> None:
        """The duplicate-name error points at the other rule and the fix."""
        with pytest.raises(PolicyError, match=r"rules\[0\] has it\): pass name="):
            ScoringModel("m", [ActivityRule("x", 1), ActivityRule("x", 2)])

    def test_rules_given_as_a_set_are_sorted_by_label(self) -> None:
        """A set's rules go in the ledger by label, as a list in that order would."""
        kinds = [f"kind-{number}" for number in range(9, -1, -1)]
        rules = [ActivityRule(kind, 1) for kind in kinds]
        model = ScoringModel("m", set(rules))
        assert [rule.label for rule in model.rules] == sorted(kinds)
        assert model == ScoringModel("m", sorted(rules, key=lambda rule: rule.label))
        with pytest.raises(PolicyError, match="an ActivityRule or an AttributeRule"):
            ScoringModel("m", {rules[0], "web"})  # type: ignore[arg-type]

    def test_bad_score_arguments(self) -> None:
        """Naive instants, foreign activities and non-leads are rejected, named."""
        model = ScoringModel("m", [ActivityRule("x", 1)])
        with pytest.raises(NaiveDatetimeError):
            model.score(LEAD, [], at=datetime(2026, 3, 2))  # noqa: DTZ001
        with pytest.raises(ValidationError, match="an Activity of lead 'L'") as info:
            model.score(
                LEAD, [Activity("L", "x", T0), Activity("other", "x", T0)], at=T0
            )
        assert (info.value.owner, info.value.field) == (
            "ScoringModel.score",
            "activities[1]",
        )
        with pytest.raises(ValidationError, match="an Activity of lead 'L'") as info:
            model.score(LEAD, ["x"], at=T0)  # type: ignore[list-item]
        assert (info.value.owner, info.value.field) == (
            "ScoringModel.score",
            "activities[0]",
        )
        with pytest.raises(ValidationError, match=r"ScoringModel\.score\.lead"):
            model.score("L", [], at=T0)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=r"ScoringModel\.scorer\.lead"):
            model.scorer("L")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=r"ScoreState\.model") as info:
            ScoreState("m", LEAD)  # type: ignore[arg-type]
        assert info.value.value == "m"

    @pytest.mark.parametrize("activities", [None, 5, "x", {"x": 1}])
    def test_activities_that_are_not_a_collection(self, activities: object) -> None:
        """score() refuses activities given as no collection, naming the argument."""
        model = ScoringModel("m", [ActivityRule("x", 1)])
        with pytest.raises(ValidationError) as info:
            model.score(LEAD, activities, at=T0)  # type: ignore[arg-type]
        assert (info.value.field, info.value.value) == ("activities", activities)

    def test_activities_from_a_generator(self) -> None:
        """score() reads activities from any iterable, once."""
        model = ScoringModel("m", [ActivityRule("x", 1)])
        found = model.score(LEAD, (a for a in acts(("x", H))), at=T0 + D)
        assert found == model.score(LEAD, acts(("x", H)), at=T0 + D)


class TestRuleOfFewActivities:
    """A rule whose first activities of a lead all count is held in a tuple (_Few)."""

    def test_it_is_a_tuple_the_collector_stops_tracking(self) -> None:
        """The first activity, in time order, of a rule read from its cache."""
        model = ScoringModel("m", [ActivityRule("x", 5)], decay=HalfLife(D))
        state = model.scorer(LEAD)
        state.add(*acts(("x", H)))
        (entry,) = state._states
        assert type(entry) is tuple
        gc.collect(0)  # the first collection it survives, a young one
        assert not gc.is_tracked(entry)
        score = state.score(T0 + H)
        assert score == model.score(LEAD, acts(("x", H)), at=T0 + H)

    def test_activities_that_all_count_stay_in_the_tuple(self) -> None:
        """A second and a third, in time order, grow one tuple: no _RuleState."""
        model = ScoringModel("m", [ActivityRule("x", 5)], decay=HalfLife(D))
        history = acts(("x", H), ("x", 5 * H), ("x", 2 * D))
        state = model.scorer(LEAD)
        for n, activity in enumerate(history, start=1):
            state.add(activity)
            (entry,) = state._states
            assert type(entry) is tuple
            for at in (activity.at, activity.at + 3 * D):
                assert state.score(at) == model.score(LEAD, history[:n], at=at)
        gc.collect(0)
        assert not gc.is_tracked(state._states[0])
        assert line(state.score(T0 + 3 * D), "x").activity_ids == ("a1", "a2", "a3")

    def test_a_constant_rule_counts_in_the_tuple(self) -> None:
        """With no decay, each activity adds its points, held for ever."""
        model = ScoringModel("m", [ActivityRule("x", 2, decay=None)])
        history = acts(("x", H), ("x", 2 * H), ("x", 3 * H))
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        assert type(state._states[0]) is tuple
        score = state.score(T0 + 9 * D)
        assert score.engagement == 6
        assert score == model.score(LEAD, history, at=T0 + 9 * D)

    @pytest.mark.parametrize(
        ("rule", "offsets", "kept"),
        [
            # Over max_count with no span: the third is skipped.
            (ActivityRule("x", 5, max_count=2), (H, 2 * H, 3 * H), False),
            # Two within a day: the third, on the same day, is skipped.
            (ActivityRule("x", 5, max_count=2, per=D), (H, 2 * H, 3 * H), False),
            # The first is a day old by the third: it counts.
            (ActivityRule("x", 5, max_count=2, per=D), (H, 2 * H, D + H), True),
            # One a day, a day apart to the microsecond: the edge counts out.
            (ActivityRule("x", 5, max_count=1, per=D), (H, D + H), True),
        ],
    )
    def test_a_frequency_cap_skips_through_the_rule_state(
        self, rule: ActivityRule, offsets: tuple[timedelta, ...], kept: bool
    ) -> None:
        """An activity the cap would skip makes the _RuleState, which skips it."""
        model = ScoringModel("m", [rule], decay=HalfLife(D))
        history = acts(*[("x", offset) for offset in offsets])
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        assert (type(state._states[0]) is tuple) is kept
        for at in (history[-1].at, T0 + 5 * D):
            assert state.score(at) == model.score(LEAD, history, at=at)

    def test_the_tuple_holds_as_many_ids_as_a_rule_state(self) -> None:
        """Past _TUPLE_IDS activities, the rule takes its _RuleState."""
        model = ScoringModel("m", [ActivityRule("x", 1)], decay=HalfLife(D))
        history = acts(*[("x", n * H) for n in range(1, _TUPLE_IDS + 2)])
        state = model.scorer(LEAD)
        for activity in history[:_TUPLE_IDS]:
            state.add(activity)
        (few,) = state._states
        assert type(few) is tuple
        state.add(history[_TUPLE_IDS])
        (rule,) = state._states
        assert type(rule) is _RuleState
        at = history[-1].at
        assert state.score(at) == model.score(LEAD, history, at=at)

    def test_a_late_activity_makes_the_rule_state(self) -> None:
        """One earlier than the tuple's newest sets the rule's activities aside."""
        model = ScoringModel("m", [ActivityRule("x", 5)], decay=HalfLife(D))
        history = acts(("x", H), ("x", 3 * H), ("x", 2 * H))
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        assert type(state._states[0]) is _RuleState
        assert state.score(T0 + D) == model.score(LEAD, history, at=T0 + D)

    @given(
        points=st.sampled_from([1, -1, 5, 10, 10.0000008, -10.0000008, 40, 0.3]),
        cap=st.sampled_from([None, 10, 15]),
        constant=st.booleans(),
        hours=st.lists(st.integers(0, 24 * 400), min_size=1, max_size=4),
    )
    def test_the_tuple_holds_the_points_the_cache_would(
        self, points: float, cap: int | None, constant: bool, hours: list[int]
    ) -> None:
        """Its points and until when they hold are _held_points' of its total."""
        rule = ActivityRule(
            "x", points, max_points=cap, decay=None if constant else ...
        )
        model = ScoringModel("m", [rule], decay=HalfLife(30 * D))
        (compiled,) = model._activity_rules
        state = model.scorer(LEAD)
        for n, hour in enumerate(sorted(hours)):
            state.add(Activity("L", "x", T0 + hour * H, id=f"a{n}"))
            (few,) = state._states
            assert type(few) is tuple
            assert few[3:5] == held_points(compiled, few[1], few[2])

    def test_rules_with_lists_and_late_firsts_take_a_rule_state(self) -> None:
        """A windowed rule, and a first activity earlier than the newest, do not."""
        model = ScoringModel(
            "m",
            [ActivityRule("w", 5, within=3 * D), ActivityRule("x", 5)],
            decay=HalfLife(D),
        )
        state = model.scorer(LEAD)
        state.add(Activity("L", "w", T0 + 2 * H, id="w"))
        state.add(Activity("L", "x", T0 + H, id="x"))  # before "w": late
        assert [type(entry) for entry in state._states] == [_RuleState, _RuleState]

    @pytest.mark.parametrize("points", [10.0000008, -10.0000008])
    def test_points_a_hair_over_the_cap_are_capped(self, points: float) -> None:
        """Points under the cap's margin are read each time, and capped."""
        model = ScoringModel(
            "m", [ActivityRule("x", points, max_points=10)], decay=HalfLife(D)
        )
        state = model.scorer(LEAD)
        state.add(*acts(("x", H)))
        score = state.score(T0 + H)
        assert score.engagement == math.copysign(10, points)
        assert score == model.score(LEAD, acts(("x", H)), at=T0 + H)
        state._states_only()
        state._last = state._still = None
        assert state.score(T0 + H) == score

    def test_read_before_its_activity(self) -> None:
        """Read at an earlier instant, the rule is read by its _RuleState."""
        model = ScoringModel("m", [ActivityRule("x", 5)], decay=HalfLife(D))
        state = model.scorer(LEAD)
        state.add(*acts(("x", 2 * H)))
        assert state.score(T0 + H) == model.score(LEAD, [], at=T0 + H)
        assert type(state._states[0]) is _RuleState

    def test_several_rules_of_one_activity(self) -> None:
        """Points held for a while, fading, and held for ever, read together."""
        model = ScoringModel(
            "m",
            [
                ActivityRule("a", 40, max_points=10),  # held at 10 for a while
                ActivityRule("b", 1),  # fading: read each time
                ActivityRule("c", 2, decay=None),  # constant: held for ever
            ],
            decay=HalfLife(D),
        )
        history = acts(("c", H), ("b", 2 * H), ("a", 3 * H))  # read a, b, c
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        assert {type(entry) for entry in state._states} == {tuple}
        for at in (T0 + 3 * H, T0 + 10 * D):
            assert state.score(at) == model.score(LEAD, history, at=at)


class TestScoreState:
    def test_incremental_reads(self) -> None:
        """Adding activities one by one gives the batch score each time."""
        model = ScoringModel(
            "m",
            [ActivityRule("view", 1, max_count=2, per=D, within=3 * D)],
            decay=HalfLife(D),
        )
        state = model.scorer(LEAD)
        history = acts(*[("view", n * 7 * H) for n in range(12)])
        for n, activity in enumerate(history, start=1):
            state.add(activity)
            assert state.score(activity.at) == model.score(
                LEAD, history[:n], at=activity.at
            )
        assert len(state) == 12
        assert repr(state) == "<funnelkit.ScoreState model='m' lead='L' activities=12>"
        assert (state.lead, state.model) == (LEAD, model)

    def test_the_hour_the_clocks_go_back_is_read_twice(self) -> None:
        """01:30 EDT and 01:30 EST are two instants: the second is read anew."""
        zone = ZoneInfo("America/New_York")
        model = ScoringModel("m", [ActivityRule("webinar", 16)], decay=HalfLife(H))
        lead = Lead("L", datetime(2026, 10, 1, tzinfo=UTC))
        webinar = Activity("L", "webinar", datetime(2026, 11, 1, 4, 30, tzinfo=UTC))
        state = model.scorer(lead)
        state.add(webinar)
        first = datetime(2026, 11, 1, 1, 30, tzinfo=zone)  # 05:30 UTC
        second = first.replace(fold=1)  # 06:30 UTC
        assert state.score(first).total == 8
        again = state.score(second)
        assert (again.at.fold, again.total) == (1, 4)
        assert again == model.score(lead, [webinar], at=second)

    def test_out_of_order_under_a_cap(self) -> None:
        """A late activity under a cap displaces a later one, as in batch."""
        model = ScoringModel("m", [ActivityRule("view", 1, max_count=1)])
        state = model.scorer(LEAD)
        late, early = acts(("view", 2 * H), ("view", H))
        state.add(late)
        before = state.score(T0 + D)
        state.add(early)
        after = state.score(T0 + D)
        assert line(before, "view").activity_ids == ("a1",)
        assert line(after, "view").activity_ids == ("a2",)
        assert line(before, "view").activity_ids == ("a1",)

    def test_in_order_after_out_of_order(self) -> None:
        """An in-order activity after an unread out-of-order one still counts right."""
        model = ScoringModel("m", [ActivityRule("view", 1, max_count=2)])
        history = acts(("view", 2 * H), ("view", H), ("view", 3 * H))
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        assert state.score(T0 + D) == model.score(LEAD, history, at=T0 + D)
        assert line(state.score(T0 + D), "view").activity_ids == ("a2", "a1")

    def test_reading_the_past_and_going_back(self) -> None:
        """Reads before the latest activity, or after a later read, stay exact."""
        model = ScoringModel(
            "m",
            [ActivityRule("view", 1, within=2 * D, decay=LinearDecay(5 * D))],
        )
        history = acts(*[("view", n * D) for n in range(6)])
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        for at in (T0 + 9 * D, T0 + 2 * D, T0 + 5 * D, T0 + 6 * D, T0 + 30 * D):
            assert state.score(at) == model.score(LEAD, history, at=at)

    def test_a_held_cap_lets_go_as_decay_brings_it_under(self) -> None:
        """A rule held at max_points is read from the cache until decay lowers it."""
        model = ScoringModel(
            "m",
            [
                ActivityRule("view", 10, max_points=15),
                ActivityRule("stop", -5, decay=None, max_points=7),
                ActivityRule("other", 1),
            ],
            decay=HalfLife(D),
        )
        history = acts(("view", 0 * H), ("view", H), ("view", 2 * H), ("stop", 3 * H))
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        # 30 points at first: capped at 15 until about a day after the last view.
        readings = [3 * H, 5 * H, 12 * H, 25 * H, 26 * H, 27 * H, 3 * D, 10 * D]
        for offset in readings:
            at = T0 + offset
            assert state.score(at) == model.score(LEAD, history, at=at)
        assert state.score(T0 + 5 * H).engagement == 15 - 5
        views = 10 * sum(2 ** -((72 - hour) / 24) for hour in (0, 1, 2))
        assert state.score(T0 + 3 * D).engagement == pytest.approx(views - 5)
        more = [
            Activity("L", "view", T0 + 4 * D, id="a9"),
            Activity("L", "other", T0 + 4 * D, id="a10"),
            Activity("L", "stop", T0 + 4 * D, id="a11"),  # a rule read from the cache
        ]
        for activity in more:
            state.add(activity)
        assert state.score(T0 + 4 * D) == model.score(
            LEAD, [*history, *more], at=T0 + 4 * D
        )

    @pytest.mark.parametrize("points", [10, -10])
    @pytest.mark.parametrize("as_state", [False, True])
    def test_a_held_cap_still_holds_just_past_the_cache(
        self, points: int, as_state: bool
    ) -> None:
        """Just past the cache, a rule within a hair of its cap is still capped.

        Held in the tuple of its few activities, and as its _RuleState.
        """
        model = ScoringModel(
            "m", [ActivityRule("view", points, max_points=15)], decay=HalfLife(D)
        )
        history = acts(("view", 0 * H), ("view", H), ("view", 2 * H))
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        if as_state:
            state._states_only()
        state.score(T0 + 3 * H)  # held at the cap: the cache says until when
        entry = state._states[0]
        assert (type(entry) is _RuleState) is as_state
        until = entry.snap_until if type(entry) is _RuleState else entry[4]  # type: ignore[index] # a tuple otherwise
        # The next whole microsecond but one: surely past the cache's end.
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=math.ceil(until * 1_000_000) + 1
        )
        assert at.timestamp() >= until
        hours = (at - T0) / H
        uncapped = points * sum(2 ** -((hours - n) / 24) for n in (0, 1, 2))
        assert 15 < abs(uncapped) < 15.00001  # decay has not brought it under yet
        assert state.score(at).engagement == (15 if points > 0 else -15)
        assert state.score(at) == model.score(LEAD, history, at=at)

    def test_accepts_activity_subclasses(self) -> None:
        """A subclass of Activity is an activity, in add() and in score()."""

        class Tracked(Activity):
            pass

        model = ScoringModel("m", [ActivityRule("x", 2)])
        activity = Tracked("L", "x", T0, id="t1")
        state = model.scorer(LEAD)
        state.add(activity)
        assert state.score(T0).engagement == 2
        assert model.score(LEAD, [activity], at=T0).engagement == 2

    def test_reading_the_past_without_decay(self) -> None:
        """An earlier instant counts only what came before it, decay or not."""
        model = ScoringModel("m", [ActivityRule("view", 2, decay=None, within=5 * D)])
        history = acts(*[("view", n * D) for n in range(4)])
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        assert state.score(T0 + D).engagement == 4
        assert state.score(T0 + D) == model.score(LEAD, history, at=T0 + D)

    def test_rejects_other_leads_activities(self) -> None:
        """add() accepts only the lead's own activities."""
        state = ScoringModel("m", [ActivityRule("x", 1)]).scorer(LEAD)
        with pytest.raises(ValidationError, match=r"ScoreState\.add\.activity"):
            state.add(Activity("other", "x", T0))
        with pytest.raises(NaiveDatetimeError):
            state.score(datetime(2026, 3, 2))  # noqa: DTZ001
        assert len(state) == 0

    def test_a_second_read_at_the_same_instant_is_the_same_score(self) -> None:
        """Reading twice at one instant returns the score read first, until an add."""
        state = ScoringModel("m", [ActivityRule("x", 1)]).scorer(LEAD)
        state.add(Activity("L", "x", T0))
        first = state.score(T0 + timedelta(hours=1))
        assert state.score(T0 + timedelta(hours=1)) is first
        paris = timezone(timedelta(hours=1))
        elsewhere = state.score((T0 + timedelta(hours=1)).astimezone(paris))
        assert elsewhere is not first
        assert (elsewhere.at.tzinfo, elsewhere.dimensions) == (paris, first.dimensions)
        state.add(Activity("L", "x", T0 + timedelta(minutes=30)))
        assert state.score(T0 + timedelta(hours=1)).engagement == 2

    def test_linear_decay_reads_agree_to_the_millionth(self) -> None:
        """Reading later, then earlier, gives the batch score exactly (linear decay)."""
        model = ScoringModel(
            "m", [ActivityRule("a", 2.25)], decay=LinearDecay(timedelta(hours=200))
        )
        history = [Activity("L", "a", T0, id=f"x{n}") for n in range(1, 5)]
        history.append(Activity("L", "a", T0 + timedelta(minutes=67), id="x0"))
        state = model.scorer(LEAD)
        for item in history:
            state.add(item)
        state.score(T0 + timedelta(hours=101))
        at = T0 + timedelta(hours=100)
        assert state.score(at) == model.score(LEAD, history, at=at)

    def test_unscored_kinds_are_counted_but_ignored(self) -> None:
        """Activities no rule scores change nothing but the count."""
        state = ScoringModel("m", [ActivityRule("x", 1)]).scorer(LEAD)
        state.add(Activity("L", "other", T0))
        assert (len(state), state.score(T0).engagement) == (1, 0)

    def test_late_activities_of_several_rules(self) -> None:
        """Late activities, of rules with a state or none yet, count as in batch."""
        model = ScoringModel(
            "m",
            [
                ActivityRule("view", 1, max_count=1),
                ActivityRule("click", 3, max_count=1),
                ActivityRule("mail", 2),
                ActivityRule("form", 5),
                ActivityRule("call", 7),
            ],
            decay=HalfLife(D),
        )
        history = acts(
            ("view", 2 * H),
            ("click", 3 * H),
            ("mail", 4 * H),
            ("view", H),  # earlier than the rule's latest: set aside
            ("click", H),  # a second rule set aside
            ("view", 0 * H),  # its rule already set aside
            ("mail", 5 * H),  # in time order, with rules set aside
            ("form", timedelta(minutes=30)),  # a new rule's first, with rules aside
        )
        state = model.scorer(LEAD)
        for n, activity in enumerate(history, start=1):
            state.add(activity)
            if n in {3, 8}:
                at = T0 + 6 * H
                assert state.score(at) == model.score(LEAD, history[:n], at=at)
        more = [
            Activity("L", "view", T0 + 4 * H, id="b1"),  # later than its rule's latest
            Activity("L", "call", T0 + 2 * H, id="b2"),  # a new rule's first, late
        ]
        for activity in more:
            state.add(activity)
        at = T0 + 6 * H
        assert state.score(at) == model.score(LEAD, [*history, *more], at=at)
        assert line(state.score(at), "view").activity_ids == ("a6",)
        assert line(state.score(at), "view").skipped_ids == ("a4", "a1", "b1")

    def test_late_activity_after_a_skipped_one(self) -> None:
        """An activity between a capped rule's skipped and counted ones counts right."""
        model = ScoringModel(
            "m", [ActivityRule("view", 1, max_count=1, per=D), ActivityRule("x", 1)]
        )
        state = model.scorer(LEAD)
        first, skipped, other = acts(("view", H), ("view", 2 * H), ("x", 3 * H))
        for activity in (first, skipped, other):
            state.add(activity)
        between = Activity("L", "view", T0 + 2 * H + timedelta(minutes=1), id="a4")
        earliest = Activity("L", "view", T0, id="a5")
        added = [first, skipped, other]
        for activity in (between, earliest):
            state.add(activity)
            added.append(activity)
            assert state.score(T0 + D) == model.score(LEAD, added, at=T0 + D)
        assert line(state.score(T0 + D), "view").activity_ids == ("a5",)

    def test_split_settles_late_activities(self) -> None:
        """The split of a dimension's points counts late activities like a read."""
        model = ScoringModel(
            "m",
            [ActivityRule("view", 4, max_count=1), ActivityRule("mail", 1)],
            decay=HalfLife(D),
        )
        history = acts(("mail", 2 * H), ("view", 3 * H), ("view", H))
        late = model.scorer(LEAD)
        for activity in history:
            late.add(activity)
        in_order = model.scorer(LEAD)
        for activity in sorted(history, key=lambda a: a.at):
            in_order.add(activity)
        now = (T0 + D).timestamp()
        assert late._parts(now, "engagement") == in_order._parts(now, "engagement")
        assert late.score(T0 + D) == model.score(LEAD, history, at=T0 + D)

    def test_scores_read_earlier_keep_their_ledgers(self) -> None:
        """Scores read as activities arrive keep their lines as a rule counts more."""
        model = ScoringModel(
            "m",
            [
                ActivityRule("view", 2, max_count=2, per=H),
                ActivityRule("mail", 1, decay=None),
            ],
            decay=HalfLife(D),
        )
        history = acts(
            *[("view", timedelta(minutes=20 * n)) for n in range(6)],
            *[("mail", n * H) for n in range(5)],
        )
        history.sort(key=lambda a: (a.at, a.id))
        state = model.scorer(LEAD)
        read = []
        for n, activity in enumerate(history, start=1):
            state.add(activity)
            read.append((n, activity.at, state.score(activity.at)))
        for n, at, score in read:
            assert score == model.score(LEAD, history[:n], at=at)


class TestVerdictMemo:
    def test_memo_is_bounded_and_exact(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The memos of verdicts and shared parts empty when full, changing no score."""
        monkeypatch.setattr("funnelkit._scoring._VERDICT_CACHE", 2)
        monkeypatch.setattr("funnelkit._scoring._SHARED_CACHE", 2)
        model = ScoringModel(
            "m",
            [
                AttributeRule("employees", between(100, 300), 5),
                AttributeRule("employees", between(200, 400), 7),
            ],
        )
        for employees in (50, 150, 250, 350, 150):
            lead = Lead("L", T0, attributes={"employees": employees})
            expected = 5 * (100 <= employees <= 300) + 7 * (200 <= employees <= 400)
            assert model.score(lead, [], at=T0).fit == expected
            assert model.scorer(lead).score(T0).fit == expected
        assert len(model._verdicts) <= 2
        assert len(model._summaries) <= 2
        assert len(model._interned) <= 2


class TestSharedParts:
    def test_equal_sums_share_their_summary_from_the_second_sighting(self) -> None:
        """Leads with equal sums share dimensions once the sums come again."""
        model = ScoringModel("m", [AttributeRule("industry", "software", 20)])
        first, second, third = (
            held_dimensions(
                model.scorer(
                    Lead(f"L-{n}", T0, attributes={"industry": "software"})
                ).score(T0)
            )
            for n in range(3)
        )
        assert first == second == third == {"engagement": 0.0, "fit": 20.0}
        assert second is third
        assert first is not second  # seen once: noted, not kept

    def test_sums_that_fade_are_not_noted(self) -> None:
        """A scorer's reads of sums under decay note nothing for sharing."""
        model, twin = (
            ScoringModel("m", [ActivityRule("webinar", 16)], decay=HalfLife(10 * D))
            for _ in range(2)
        )
        history = acts(("webinar", 0 * H), ("webinar", 2 * H))
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        for hours in (3, 5, 8, 13):
            at = T0 + hours * H
            assert state.score(at) == twin.score(LEAD, history, at=at)
        assert model.scorer(LEAD).score(T0).fit == 0  # no activity: sums that stay
        assert list(model._summaries) == [(0, 0)]

    @pytest.mark.parametrize(
        ("max_count", "count", "tracked"),
        [(None, 16, False), (None, 17, True), (1, 17, False), (1, 19, True)],
    )
    def test_a_short_ledger_is_one_the_collector_stops_tracking(
        self, max_count: int | None, count: int, tracked: bool
    ) -> None:
        """Up to 16 ids and times (counted, or skipped by a cap) sit in tuples."""
        model = ScoringModel(
            "m", [ActivityRule("x", 1, max_count=max_count, decay=None)]
        )
        history = acts(*[("x", n * H) for n in range(count)])
        state = model.scorer(LEAD)
        for activity in history:
            state.add(activity)
        state._states_only()  # the rule's state, not the tuple of its first few
        score = state.score(T0 + D)
        specs = score.contributions._rules  # type: ignore[attr-defined]
        gc.collect()
        gc.collect()  # a snapshot is untracked a pass after the ids it holds
        assert gc.is_tracked(specs) is tracked
        (rule,) = state._states
        assert isinstance(rule, _RuleState)
        times = rule.counted_ts if max_count is None else rule.skipped_ts
        assert type(times) is (array if tracked else tuple)  # then an array
        assert gc.is_tracked(times) is tracked
        (found,) = score.contributions
        assert (*found.activity_ids, *found.skipped_ids) == tuple(a.id for a in history)
        assert found.points == (count if max_count is None else max_count)


held_lines = _lines_slot.__get__


class TestWordedWhenRead:
    """A scorer's score keeps its dimensions and ledger as parts until read."""

    MODEL = ScoringModel(
        "m",
        [
            AttributeRule("industry", "software", 20),
            ActivityRule("x", 1, max_points=5),
            ActivityRule("y", 30, max_count=1, dimension="fit"),
        ],
        limits={"engagement": (0, 100), "fit": (0, 60)},
    )

    def _score(self) -> Score:
        scorer = self.MODEL.scorer(LEAD)
        for activity in acts(("x", H), ("x", 2 * H), ("y", 3 * H)):
            scorer.add(activity)
        return scorer.score(T0 + D)

    def test_the_parts_are_left_to_the_collector_until_read(self) -> None:
        """Held as a dict and a tuple of numbers, the collector stops tracking them."""
        score = self._score()
        # A tuple is untracked in the pass after the tuples it holds are: the
        # ledger's parts nest four deep (ids, a rule's line, the lines, parts).
        for _ in range(4):
            gc.collect()
        assert type(held_dimensions(score)) is dict
        assert not gc.is_tracked(held_dimensions(score))
        assert not gc.is_tracked(held_lines(score))

    def test_reading_words_them_once(self) -> None:
        """The first read words each part; later reads give the same object."""
        score = self._score()
        dimensions, ledger = score.dimensions, score.contributions
        assert type(dimensions) is FrozenMap
        assert dimensions == {"engagement": 2.0, "fit": 50.0}
        assert score.dimensions is dimensions
        assert score.contributions is ledger
        assert held_dimensions(score) is dimensions

    def test_a_score_read_later_is_the_score_made_from_its_values(self) -> None:
        """Unread, compared, hashed, copied or evolved: the score its values make."""
        made = self._score()
        plain = Score(
            model=made.model,
            lead_id=made.lead_id,
            at=made.at,
            dimensions=dict(made.dimensions),
            grade=made.grade,
            band=made.band,
            contributions=tuple(made.contributions),
            notes=made.notes,
        )
        for unread in (
            self._score,
            lambda: pickle.loads(pickle.dumps(self._score())),  # noqa: S301 -- ours
            lambda: copy.deepcopy(self._score()),
            lambda: attrs.evolve(self._score()),
            lambda: from_json(to_json(self._score()), Score),
        ):
            score = unread()
            assert score == plain
            assert plain == unread()
            assert hash(unread()) == hash(plain)
            assert repr(unread()) == repr(plain)
            assert unread().explain() == plain.explain()

    def test_the_class_keeps_the_slots_descriptors(self) -> None:
        """On the class, the fields are the slots attrs made, as for any field."""
        assert type(Score.dimensions).__name__ == "member_descriptor"
        assert type(Score.contributions).__name__ == "member_descriptor"
        assert [field.name for field in attrs.fields(Score)][3:7] == [
            "dimensions",
            "grade",
            "band",
            "contributions",
        ]


class TestScoreValue:
    def test_round_trips_through_json(self) -> None:
        """A score, ledger included, survives JSON exactly."""
        model = ScoringModel(
            "m",
            [
                AttributeRule("industry", "software", 20),
                ActivityRule("x", 1, max_count=1),
            ],
        )
        score = model.score(LEAD, acts(("x", H), ("x", 2 * H)), at=T0 + D)
        back = from_json(to_json(score), Score)
        assert back == score
        assert to_json(back) == to_json(score)

    def test_ledger_behaves_like_a_tuple(self) -> None:
        """The ledger indexes, slices, compares and hashes like a tuple."""
        model = ScoringModel("m", [ActivityRule("x", 1)])
        score = model.score(LEAD, acts(("x", H)), at=T0 + D)
        ledger = score.contributions
        assert len(ledger) == 1
        assert ledger[0] == ledger[:1][0]
        assert ledger == tuple(ledger)
        assert ledger != "x"  # type: ignore[comparison-overlap] # a str on purpose
        assert hash(score) == hash(model.score(LEAD, acts(("x", H)), at=T0 + D))
        assert repr(ledger).startswith("(Contribution(rule='x'")
        assert len(ledger) == 1

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("model", None),
            ("lead_id", 7),
            ("dimensions", {"fit": "lots"}),
            ("dimensions", {"fit": float("nan")}),
            ("dimensions", {"fit": True}),
            ("dimensions", {1: 2.0}),
            ("dimensions", [1, 2]),
            ("grade", None),
            ("band", 4),
            ("contributions", [1, 2]),
            ("contributions", None),
            ("notes", "not counted"),
            ("notes", [3]),
        ],
    )
    def test_a_score_checks_its_fields(self, field: str, value: object) -> None:
        """Score refuses a bad field with a ValidationError naming it."""
        fields: dict[str, object] = {
            "model": "m",
            "lead_id": "L",
            "at": T0,
            "dimensions": {"fit": 1.0, "engagement": 2},
            "grade": "D",
            "band": "4",
            "contributions": [Contribution(rule="r", dimension="fit", points=1.0)],
            "notes": ["r: no match"],
        }
        made = Score(**fields)  # type: ignore[arg-type]
        assert (made.contributions, made.notes) == (
            (Contribution(rule="r", dimension="fit", points=1.0),),
            ("r: no match",),
        )
        with pytest.raises(ValidationError) as info:
            Score(**(fields | {field: value}))  # type: ignore[arg-type]
        assert info.value.field == field

    def test_a_changed_copy_keeps_its_ledger(self) -> None:
        """attrs.evolve on a score keeps its ledger, as the checks accept it."""
        model = ScoringModel("m", [ActivityRule("x", 5)])
        score = model.score(LEAD, acts(("x", H)), at=T0 + D)
        copy = attrs.evolve(score, grade="A")
        assert copy.contributions is score.contributions
        assert copy.grade == "A"

    def test_a_score_is_of_an_aware_instant(self) -> None:
        """A naive Score.at is refused: its JSON could not be read back."""
        with pytest.raises(NaiveDatetimeError):
            Score(
                model="m",
                lead_id="L",
                at=datetime(2026, 1, 1),  # noqa: DTZ001 -- naive on purpose
                dimensions={},
                grade="D",
                band="4",
                contributions=(),
            )

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("rule", None),
            ("dimension", None),
            ("points", "x"),
            ("points", False),
            ("raw", float("inf")),
            ("decay", None),
            ("cap", float("nan")),
            ("activity_ids", "a1"),
            ("skipped_ids", [1]),
            ("note", 3),
        ],
    )
    def test_a_ledger_line_checks_its_fields(self, field: str, value: object) -> None:
        """Contribution refuses a bad field with a ValidationError naming it."""
        fields: dict[str, object] = {"rule": "r", "dimension": "fit", "points": 5}
        line = Contribution(**fields, activity_ids=["a1"])  # type: ignore[arg-type]
        assert line.activity_ids == ("a1",)
        with pytest.raises(ValidationError) as info:
            Contribution(**(fields | {field: value}))  # type: ignore[arg-type]
        assert info.value.field == field

    def test_scoring_builds_scores_without_the_checks(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Scoring builds scores and ledger lines past their classes' checks."""
        model = ScoringModel(
            "m",
            [AttributeRule("industry", "software", 20), ActivityRule("x", 500)],
            limits={"engagement": (0, 100)},
        )

        def refused(*_args: object, **_kwargs: object) -> None:
            raise AssertionError  # pragma: no cover -- never called

        monkeypatch.setattr(Score, "__init__", refused)
        monkeypatch.setattr(Contribution, "__init__", refused)
        scorer = model.scorer(LEAD)
        scorer.add(acts(("x", H))[0])
        for score in (
            model.score(LEAD, acts(("x", H)), at=T0 + D),
            scorer.score(T0 + D),
        ):
            assert [line.points for line in score.contributions] == [20, 500, -400]


class TestWindowEdge:
    @given(
        start=st.integers(min_value=0, max_value=10 * 365 * 86_400_000_000),
        window=st.integers(min_value=1, max_value=400 * 86_400_000_000),
        linear=st.booleans(),
    )
    def test_the_edge_of_a_window_counts_to_the_microsecond(
        self, start: int, window: int, linear: bool
    ) -> None:
        """An activity as old as the window counts, older not, as DidActivity says."""
        span = timedelta(microseconds=window)
        at = T0 + timedelta(microseconds=start)
        rule = (
            ActivityRule("a", 10, decay=LinearDecay(span * 2), within=span)
            if linear
            else ActivityRule("a", 10, within=span)
        )
        model = ScoringModel("m", [rule])
        seen = [Activity("L", "a", at, id="x")]
        edge, past = at + span, at + span + timedelta(microseconds=1)
        for now, kept in ((edge, True), (past, False)):
            ctx = Context(
                lead=LEAD,
                stage="s",
                entered_at=T0,
                now=now,
                activities=seen,
                score=model.score(LEAD, seen, at=now),
            )
            assert DidActivity("a", within=span).check(ctx).passed is kept
            assert (ctx.score.engagement > 0) is kept
        scorer = model.scorer(LEAD)
        scorer.add(seen[0])
        # Read ahead first (running sums), then back at the edge (recounted).
        assert scorer.score(past).engagement == 0
        assert scorer.score(edge).engagement > 0

    @example(start=datetime(2038, 1, 18, 6, 31, 58, 321604, tzinfo=UTC), per=D)
    @given(
        # The day before 2**31 seconds, where times in seconds lose a bit.
        start=st.datetimes(
            min_value=datetime(2038, 1, 18, 3, 14, 8),  # noqa: DTZ001 -- a wall-time bound
            max_value=datetime(2038, 1, 19, 3, 14, 7),  # noqa: DTZ001 -- same
            timezones=st.just(UTC),
        )
        | st.builds(
            lambda micros: T0 + timedelta(microseconds=micros),
            st.integers(0, 10 * 365 * 86_400_000_000),
        ),
        per=st.sampled_from([D, H, timedelta(microseconds=1_500_001)]),
    )
    def test_the_edge_of_a_frequency_cap_to_the_microsecond(
        self, start: datetime, per: timedelta
    ) -> None:
        """An activity `per` after the one counted counts too: it has left the span."""
        model = ScoringModel("m", [ActivityRule("a", 10, max_count=1, per=per)])
        seen = [
            Activity("L", "a", start, id="x"),
            Activity("L", "a", start + per - timedelta(microseconds=1), id="y"),
            Activity("L", "a", start + per, id="z"),
        ]
        score = model.score(LEAD, seen, at=start + per)
        (line,) = score.contributions
        assert (line.activity_ids, line.skipped_ids) == (("x", "z"), ("y",))

    @example(start=datetime(2038, 1, 18, 6, 31, 58, 321604, tzinfo=UTC), every=D)
    @given(
        start=st.datetimes(
            min_value=datetime(2038, 1, 17, 3, 14, 8),  # noqa: DTZ001 -- a wall-time bound
            max_value=datetime(2038, 1, 19, 3, 14, 7),  # noqa: DTZ001 -- same
            timezones=st.just(UTC),
        )
        | st.builds(
            lambda micros: T0 + timedelta(microseconds=micros),
            st.integers(0, 10 * 365 * 86_400_000_000),
        ),
        every=st.sampled_from([D, 2 * D, H + timedelta(microseconds=1)]),
    )
    def test_a_step_falls_on_its_instant(
        self, start: datetime, every: timedelta
    ) -> None:
        """StepDecay halves the points at each full step, not a microsecond off."""
        model = ScoringModel("m", [ActivityRule("a", 8, decay=StepDecay(every, 0.5))])
        seen = [Activity("L", "a", start, id="x")]
        tick = timedelta(microseconds=1)
        for steps in (1, 2):
            at = start + steps * every
            assert model.score(LEAD, seen, at=at - tick).engagement == 8 / 2 ** (
                steps - 1
            )
            assert model.score(LEAD, seen, at=at).engagement == 8 / 2**steps


class TestPrecision:
    @given(st.integers(min_value=0, max_value=2**33 * 10**6 - 1))
    @example(4_463_062_741_032_245)  # past 2**32: times 1e6, one millionth off
    def test_a_float_holds_every_millionth_up_to_2_to_the_33_points(
        self, micros: int
    ) -> None:
        """Under 2**33 points, a score's float reads back as its millionths exactly."""
        value = micros / 1_000_000
        assert Decimal(f"{value:.6f}") == Decimal(micros) / 10**6
        if micros < 2**32 * 10**6:
            # Multiplied back, the product's own rounding adds to the float's:
            # within half a millionth only under 2**32 points.
            assert round(value * 1_000_000) == micros

    @given(
        st.integers(min_value=1, max_value=10**6).flatmap(
            lambda count: st.tuples(
                st.integers(
                    min_value=0, max_value=min(10**15, (2**31 * 10**6 - 1) // count)
                ),
                st.just(count),
            )
        )
    )
    def test_points_times_a_count_hold_every_millionth_up_to_2_to_the_31(
        self, points_and_count: tuple[int, int]
    ) -> None:
        """Points times a count, under 2**31, round to their exact millionths."""
        micros, count = points_and_count
        assert _micros(micros / 1_000_000 * count) == micros * count

    @given(
        st.integers(min_value=1, max_value=60).flatmap(
            lambda count: st.tuples(
                st.integers(
                    min_value=1, max_value=min(10**15, (2**31 * 10**6 - 1) // count)
                ),
                st.just(count),
            )
        )
    )
    @example((999_999_999_300_000, 2))  # 2e9 points, close under 2**31
    def test_a_constant_rules_line_holds_its_millionths_up_to_2_to_the_31(
        self, points_and_count: tuple[int, int]
    ) -> None:
        """Both scorers' ledger line for count activities is points x count, exactly."""
        micros, count = points_and_count
        model = ScoringModel("m", [ActivityRule("x", micros / 1_000_000, decay=None)])
        history = acts(*[("x", n * H) for n in range(count)])
        scorer = model.scorer(LEAD)
        for activity in history:
            scorer.add(activity)
        exact = Decimal(micros * count) / 10**6
        at = T0 + count * H
        for score in (model.score(LEAD, history, at=at), scorer.score(at)):
            found = line(score, "x")
            assert len(found.activity_ids) == count
            for value in (found.raw, found.points, score.engagement, score.total):
                assert Decimal(f"{value:.6f}") == exact

    def test_points_times_a_count_may_be_a_millionth_off_past_2_to_the_31(
        self,
    ) -> None:
        """Six activities of 999,999,999.3 points come one millionth short."""
        assert _micros(999_999_999.3 * 6) == 5_999_999_995_800_000 - 1

    @given(
        st.integers(min_value=-(10**12), max_value=10**12)
        | st.floats(min_value=-1e12, max_value=1e12),
        st.floats(min_value=0.0, max_value=1e4),
        st.floats(min_value=0.0, max_value=2e3),
    )
    @example(3, 1.0, 1.0)
    @example(7, 2.5, 0.0)
    def test_a_read_computes_the_points_as_the_ledger_does(
        self, given_points: float, total: float, half_lives: float
    ) -> None:
        """A read's halving, product and rounding give the ledger's millionths."""
        # The read: 0.5 **, the points made a float, 1e6, the number's __round__.
        read = (float(given_points) * (total * 0.5**half_lives) * 1e6).__round__()
        # The ledger (_halved, _capped): math.pow, the points as given, round().
        unit = total * math.pow(0.5, half_lives)
        assert read == round(given_points * unit * 1_000_000)

    def test_beyond_the_bound_the_last_digit_may_be_off(self) -> None:
        """Ten billion points and a millionth is the float nearest, as docs say."""
        model = ScoringModel(
            "m", [ActivityRule("big", 1e9, name="big"), ActivityRule("tiny", 1e-6)]
        )
        found = acts(*[("big", H)] * 10, ("tiny", H))
        score = model.score(LEAD, found, at=T0 + D)
        assert score.engagement == 10_000_000_000.000001  # the float nearest
        assert f"{score.engagement:.6f}" != "10000000000.000001"
        small = model.score(LEAD, acts(*[("big", H)] * 8, ("tiny", H)), at=T0 + D)
        assert f"{small.engagement:.6f}" == "8000000000.000001"


# -- Properties ----------------------------------------------------------------

KINDS = ("a", "b", "c")
periods = st.integers(min_value=1, max_value=20 * 24).map(
    lambda hours: timedelta(hours=hours)
)
decays: st.SearchStrategy[Decay | None] = st.one_of(
    st.none(),
    periods.map(HalfLife),
    st.builds(StepDecay, periods, st.sampled_from([0.0, 0.5, 0.9])),
    periods.map(LinearDecay),
)
# Ints as well as floats: a read multiplies a rule's points made a float, and
# the ledger the points as given (see _CompiledRule.float_points).
points = (
    st.integers(min_value=-20, max_value=40)
    | st.integers(min_value=-20, max_value=40).map(float)
    | st.sampled_from([0.5, 2.25])
)


@st.composite
def activity_rules(draw: st.DrawFn, name: str, positive: bool = False) -> ActivityRule:
    """An activity rule with any combination of options."""
    max_count = draw(st.none() | st.integers(min_value=1, max_value=3))
    return ActivityRule(
        draw(st.sampled_from(KINDS)),
        draw(points.filter(lambda p: p > 0) if positive else points),
        where=draw(st.none() | st.just({"p": 1})),
        max_points=draw(st.none() | st.sampled_from([5.0, 12.5, 40.0])),
        max_count=max_count,
        per=draw(st.none() | periods) if max_count else None,
        within=draw(st.none() | periods),
        decay=draw(st.just(...) | decays),
        dimension=draw(st.sampled_from(["engagement", "engagement", "fit", "other"])),
        name=name,
    )


@st.composite
def models(draw: st.DrawFn, positive: bool = False, decay: bool = True) -> ScoringModel:
    """A model of a few random rules, with or without decay."""
    count = draw(st.integers(min_value=1, max_value=4))
    rules: list[ActivityRule | AttributeRule] = [
        draw(activity_rules(f"r{n}", positive)) for n in range(count)
    ]
    if not decay:
        rules = [
            ActivityRule(
                r.kind,
                r.points,
                where=r.where,
                max_points=r.max_points,
                max_count=r.max_count,
                per=r.per,
                dimension=r.dimension,
                name=r.name,
                decay=None,
            )
            for r in rules
            if isinstance(r, ActivityRule)
        ]
    rules.append(AttributeRule("industry", "software", draw(points), name="icp"))
    limits = draw(st.none() | st.just({"engagement": (0, 100)}))
    return ScoringModel(
        "m",
        rules,
        decay=draw(decays) if decay else None,
        limits=None if positive else limits,
    )


histories = st.lists(
    st.builds(
        lambda kind, minutes, p, n: Activity(
            "L", kind, T0 + timedelta(minutes=minutes), id=f"x{n}", properties={"p": p}
        ),
        st.sampled_from((*KINDS, "d")),
        st.integers(min_value=0, max_value=40 * 24 * 60),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=0, max_value=10**6),
    ),
    max_size=25,
    unique_by=lambda a: a.id,
)
# Long histories of few kinds: a rule's ids cross from a tuple to a list (16).
long_histories = st.lists(
    st.builds(
        lambda kind, minutes, n: Activity(
            "L", kind, T0 + timedelta(minutes=minutes), id=f"x{n}"
        ),
        st.sampled_from(KINDS[:2]),
        st.integers(min_value=0, max_value=40 * 24 * 60),
        st.integers(min_value=0, max_value=10**6),
    ),
    min_size=10,
    max_size=45,
    unique_by=lambda a: a.id,
)
instants = st.integers(min_value=0, max_value=60 * 24).map(
    lambda hours: T0 + timedelta(hours=hours)
)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


class TestProperties:
    @given(models(), histories, instants, st.randoms())
    def test_incremental_equals_batch(
        self, model: ScoringModel, history: list[Activity], at: datetime, rng: object
    ) -> None:
        """A ScoreState fed in any order gives exactly the batch score."""
        shuffled = list(history)
        rng.shuffle(shuffled)  # type: ignore[attr-defined]
        state = model.scorer(LEAD)
        for activity in shuffled:
            state.add(activity)
        assert state.score(at) == model.score(LEAD, history, at=at)

    @given(models(), histories, instants, st.randoms())
    def test_split_does_not_depend_on_arrival_order(
        self, model: ScoringModel, history: list[Activity], at: datetime, rng: object
    ) -> None:
        """A scorer splits each dimension's points alike, whatever the order of adds."""
        shuffled = list(history)
        rng.shuffle(shuffled)  # type: ignore[attr-defined]
        late = model.scorer(LEAD)
        for activity in shuffled:
            late.add(activity)
        in_order = model.scorer(LEAD)
        for activity in sorted(history, key=lambda a: (a.at, a.id)):
            in_order.add(activity)
        now = at.timestamp()
        for dimension in model.dimensions:
            assert late._parts(now, dimension) == in_order._parts(now, dimension)

    @given(models(), histories, st.data())
    def test_a_rule_of_one_activity_reads_as_its_rule_state(
        self, model: ScoringModel, history: list[Activity], data: st.DataObject
    ) -> None:
        """A rule held as a tuple reads as the _RuleState it stands for, at any time."""
        single = model.scorer(LEAD)
        full = model.scorer(LEAD)
        for activity in data.draw(st.permutations(history)):
            single.add(activity)
            full.add(activity)
            full._states_only()
            if data.draw(st.booleans()):
                at = data.draw(instants)
                assert single.score(at) == full.score(at)
        at = data.draw(instants)
        assert single.score(at) == full.score(at)
        now = at.timestamp()
        assert single._score_once(at, now) == full._score_once(at, now)

    @given(models(), histories, st.lists(instants, min_size=1, max_size=4))
    def test_repeated_reads_equal_batch(
        self, model: ScoringModel, history: list[Activity], reads: Sequence[datetime]
    ) -> None:
        """Reading the same scorer at several instants, in any order, stays exact."""
        state = model.scorer(LEAD)
        for activity in sorted(history, key=lambda a: (a.at, a.id)):
            state.add(activity)
        for at in reads:
            assert state.score(at) == model.score(LEAD, history, at=at)

    @given(models(), histories, st.data())
    def test_reads_between_adds_equal_batch(
        self, model: ScoringModel, history: list[Activity], data: st.DataObject
    ) -> None:
        """Reads interleaved with adds, in any order, each equal the batch score."""
        state = model.scorer(LEAD)
        added: list[Activity] = []
        for activity in data.draw(st.permutations(history)):
            state.add(activity)
            added.append(activity)
            if data.draw(st.booleans()):
                at = data.draw(instants)
                assert state.score(at) == model.score(LEAD, added, at=at)
        at = data.draw(instants)
        assert state.score(at) == model.score(LEAD, added, at=at)

    @given(models(), long_histories, st.data())
    def test_scores_read_stay_exact_as_history_grows(
        self, model: ScoringModel, history: list[Activity], data: st.DataObject
    ) -> None:
        """Scores read between adds keep their ledgers while later adds grow the ids."""
        state = model.scorer(LEAD)
        added: list[Activity] = []
        kept: list[tuple[Score, list[Activity]]] = []
        for activity in data.draw(st.permutations(history)):
            state.add(activity)
            added.append(activity)
            if data.draw(st.booleans()):
                kept.append((state.score(data.draw(instants)), list(added)))
        for score, then in kept:
            assert score == model.score(LEAD, then, at=score.at)

    @given(models(), histories, instants)
    def test_contributions_sum_exactly(
        self, model: ScoringModel, history: list[Activity], at: datetime
    ) -> None:
        """Ledger lines sum to each dimension, and raw + decay + cap to each line."""
        score = model.score(LEAD, history, at=at)
        for dimension, value in score.dimensions.items():
            lines = [c.points for c in score.contributions if c.dimension == dimension]
            assert _decimal(value) == sum(map(_decimal, lines), Decimal(0))
        for item in score.contributions:
            assert _decimal(item.points) == _decimal(item.raw) + _decimal(
                item.decay
            ) + _decimal(item.cap)
        assert _decimal(score.total) == _decimal(score.fit) + _decimal(score.engagement)

    @given(models(), histories, instants)
    def test_later_activities_never_count(
        self, model: ScoringModel, history: list[Activity], at: datetime
    ) -> None:
        """score(at=t) ignores activities after t."""
        earlier = [a for a in history if a.at <= at]
        assert model.score(LEAD, history, at=at) == model.score(LEAD, earlier, at=at)

    @given(models(positive=True, decay=False), histories, histories, instants)
    def test_positive_rules_never_lower_a_score(
        self,
        model: ScoringModel,
        history: list[Activity],
        more: list[Activity],
        at: datetime,
    ) -> None:
        """Without decay, more activities under positive rules never lower a score."""
        extra = [a for a in more if a.id not in {h.id for h in history}]
        before = model.score(LEAD, history, at=at)
        after = model.score(LEAD, history + extra, at=at)
        for dimension, value in before.dimensions.items():
            assert after.dimensions[dimension] >= value

    @given(models(), histories, instants)
    def test_limits_hold(
        self, model: ScoringModel, history: list[Activity], at: datetime
    ) -> None:
        """No dimension ever leaves its limits."""
        score = model.score(LEAD, history, at=at)
        for dimension, (low, high) in model.limits.items():
            assert low is None or score.dimensions[dimension] >= low
            assert high is None or score.dimensions[dimension] <= high


def _reference(
    model: ScoringModel, history: list[Activity], at: datetime
) -> dict[str, float]:
    """Score by the documented order of operations, written out plainly."""
    sums: dict[str, float] = dict.fromkeys(model.dimensions, 0.0)
    for rule in model.rules:
        if isinstance(rule, AttributeRule):
            if rule.evaluate(LEAD)[0]:
                sums[rule.dimension] += rule.points
            continue
        matched = sorted(
            (
                a
                for a in history
                if a.kind in rule.kind and a.at <= at and rule.accepts(a.properties)
            ),
            key=lambda a: (a.at, a.id),
        )
        counted: list[Activity] = []
        for activity in matched:  # 1. frequency caps, in time order
            if rule.max_count is not None:
                window = [
                    c
                    for c in counted
                    if rule.per is None or c.at > activity.at - rule.per
                ]
                if len(window) >= rule.max_count:
                    continue
            counted.append(activity)
        if rule.within is not None:  # 2. the trailing window
            counted = [c for c in counted if at - c.at <= rule.within]
        decay = model.decay if rule.decay is Ellipsis else rule.decay
        total = sum(  # 3. decay
            rule.points
            * (1.0 if decay is None else decay.weight((at - c.at).total_seconds()))
            for c in counted
        )
        if rule.max_points is not None:  # 4. the rule's cap
            total = max(-rule.max_points, min(rule.max_points, total))
        sums[rule.dimension] += total
    for dimension, (low, high) in model.limits.items():  # 5. the limits
        value = sums[dimension]
        sums[dimension] = max(
            low if low is not None else value,
            min(high if high is not None else value, value),
        )
    return sums


class TestReference:
    @given(models(), histories, instants)
    def test_matches_the_documented_order(
        self, model: ScoringModel, history: list[Activity], at: datetime
    ) -> None:
        """The model agrees, to the millionth, with a plain reading of its rules."""
        score = model.score(LEAD, history, at=at)
        expected = _reference(model, history, at)
        for dimension, value in expected.items():
            assert score.dimensions[dimension] == pytest.approx(value, abs=2e-6)
