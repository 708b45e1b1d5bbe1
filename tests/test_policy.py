"""Policies: stages, transitions, and the validation of a funnel definition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from funnelkit import (
    ANY_OPEN,
    Always,
    AnyOf,
    FunnelPolicy,
    GradeAtLeast,
    Grades,
    PolicyError,
    ScoreAtLeast,
    ScoringModel,
    SlaRule,
    Stage,
    Transition,
)
from funnelkit.serialization import from_json, to_json

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
MODEL = ScoringModel("empty", [])


def policy(
    transitions: list[Transition] | None = None,
    *,
    stages: list[Stage] | None = None,
    initial: str = "lead",
) -> FunnelPolicy:
    """A small policy: lead -> mql -> customer, lost beside."""
    return FunnelPolicy(
        name="p",
        version=1,
        stages=stages
        or [
            Stage("lead"),
            Stage("mql"),
            Stage("customer", "won"),
            Stage("lost", "lost"),
        ],
        transitions=transitions
        if transitions is not None
        else [
            Transition(source="lead", target="mql", auto=True),
            Transition(source="mql", target="customer"),
            Transition(source=ANY_OPEN, target="lost"),
        ],
        initial=initial,
        scoring=MODEL,
    )


class TestStage:
    def test_kinds(self) -> None:
        """A stage is open by default; won and lost stages are final."""
        assert Stage("lead").kind == "open"
        assert not Stage("lead").is_final
        assert Stage("customer", "won").is_final
        assert Stage("lost", "lost").is_final
        assert not Stage("nurture", "nurture").is_final

    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (lambda: Stage(""), "name"),
            (lambda: Stage(" lead"), "name"),
            (lambda: Stage("lead", "closed"), "kind"),  # type: ignore[arg-type]
            (lambda: Stage("lead", description=""), "description"),
        ],
    )
    def test_bad_stage(self, make: Callable[[], object], field: str) -> None:
        """A bad stage raises a PolicyError naming the field."""
        with pytest.raises(PolicyError) as info:
            make()
        assert info.value.field == field

    def test_round_trip(self) -> None:
        """A stage survives JSON exactly."""
        stage = Stage("nurture", "nurture", description="recycled")
        assert from_json(to_json(stage), Stage) == stage


class TestTransition:
    def test_sources_are_normalised(self) -> None:
        """A source may be a name or a set of names; it is kept sorted."""
        assert Transition(source="lead", target="mql").source == ("lead",)
        assert Transition(source={"sql", "mql"}, target="x").source == ("mql", "sql")
        assert Transition(source="*", target="lost").source == ("*",)

    def test_defaults_and_label(self) -> None:
        """By default a transition is manual, needs nothing, is named by its ends."""
        transition = Transition(source={"a", "b"}, target="c")
        assert transition.guard == Always()
        assert not transition.auto
        assert not transition.needs_reason
        assert transition.label == "a | b -> c"
        assert Transition(source="a", target="c", name="go").label == "go"

    def test_reason_codes_imply_a_reason(self) -> None:
        """Giving reason codes makes a reason required, duplicates dropped."""
        transition = Transition(source="a", target="b", reasons=["x", "y", "x"])
        assert transition.reasons == ("x", "y")
        assert transition.needs_reason

    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (lambda: Transition(source="", target="b"), "source"),
            (lambda: Transition(source=[], target="b"), "source"),
            (lambda: Transition(source=3, target="b"), "source"),
            (lambda: Transition(source=[1], target="b"), "source"),
            (lambda: Transition(source=["*", "a"], target="b"), "source"),
            (lambda: Transition(source="a", target=""), "target"),
            (lambda: Transition(source="a", target="*"), "target"),  # a source only
            (lambda: Transition(source="a", target="b", guard="x"), "guard"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: Transition(source="a", target="b", auto=1), "auto"),  # type: ignore[arg-type] # a wrong type on purpose
            (lambda: Transition(source="a", target="b", reasons="x"), "reasons"),
            (lambda: Transition(source="a", target="b", reasons=[""]), "reasons"),
            (lambda: Transition(source="a", target="b", reasons=[1]), "reasons"),
            (lambda: Transition(source="a", target="b", name=""), "name"),
            (
                lambda: Transition(source="a", target="b", auto=True, reasons=["x"]),
                "reasons",
            ),
            (
                lambda: Transition(
                    source="a", target="b", auto=True, requires_reason=True
                ),
                "requires_reason",
            ),
        ],
    )
    def test_bad_transition(self, make: Callable[[], object], field: str) -> None:
        """A bad transition raises a PolicyError naming the field."""
        with pytest.raises(PolicyError) as info:
            make()
        assert info.value.field == field


class TestFunnelPolicy:
    def test_stages_and_slas_given_as_sets_are_sorted_by_name(self) -> None:
        """A set's stages and SLA rules come sorted by name, as a list in that order."""
        stages = policy().stages
        rules = [
            SlaRule(name, "mql", timedelta(hours=hours), "exit")
            for name, hours in (("b", 2), ("a", 1), ("c", 3))
        ]
        given = attrs.evolve(policy(), stages=set(stages), slas=set(rules))
        assert [stage.name for stage in given.stages] == sorted(
            stage.name for stage in stages
        )
        assert [rule.name for rule in given.slas] == ["a", "b", "c"]
        assert given == attrs.evolve(
            policy(),
            stages=sorted(stages, key=lambda stage: stage.name),
            slas=sorted(rules, key=lambda rule: rule.name),
        )

    def test_a_set_with_a_part_of_another_kind(self) -> None:
        """A set holding something else than stages is refused, naming the part."""
        with pytest.raises(PolicyError, match=r"a funnelkit\.Stage"):
            policy(stages={Stage("lead"), "mql"})  # type: ignore[arg-type]

    def test_transitions_given_as_a_set_are_refused(self) -> None:
        """Automatic moves are tried in order: a set of transitions is a PolicyError."""
        with pytest.raises(PolicyError) as info:
            policy(set(policy().transitions))  # type: ignore[arg-type]
        assert info.value.field == "transitions"
        assert "a set's order changes from process to process" in str(info.value)

    def test_sets_give_one_fingerprint_in_every_process(
        self, printed: Callable[..., set[str]]
    ) -> None:
        """Stages, SLA rules and scoring rules in sets: one fingerprint, any seed."""
        code = (
            "import attrs\n"
            "from funnelkit.policies import b2b_saas\n"
            "p = b2b_saas()\n"
            "model = attrs.evolve(p.scoring, rules=set(p.scoring.rules))\n"
            "p = attrs.evolve(p, stages=set(p.stages), slas=set(p.slas))\n"
            "p = attrs.evolve(p, scoring=model)\n"
            "print(p.fingerprint)\n"
        )
        assert len(printed(code, seeds=("0", "1", "2", "3"))) == 1

    def test_indexes_exits(self) -> None:
        """Exits are listed per stage in declaration order, '*' as open stages."""
        made = policy()
        assert made.label == "p@1"
        assert [t.target for t in made.exits("lead")] == ["mql", "lost"]
        assert [t.target for t in made.exits("mql")] == ["customer", "lost"]
        assert made.exits("customer") == ()
        assert made.exits("lost") == ()
        assert made.transitions_between("lead", "mql")[0].auto
        assert made.stage("mql") == Stage("mql")

    def test_any_open_skips_its_own_target(self) -> None:
        """'*' to a nurture stage leaves the nurture stage itself out."""
        made = policy(
            [
                Transition(source="lead", target="mql"),
                Transition(source="mql", target="customer"),
                Transition(source=ANY_OPEN, target="nurture"),
            ],
            stages=[
                Stage("lead"),
                Stage("mql"),
                Stage("customer", "won"),
                Stage("nurture", "nurture"),
            ],
        )
        assert made.exits("nurture") == ()

    def test_unknown_stage_asked(self) -> None:
        """Asking for a stage the policy lacks raises a PolicyError."""
        with pytest.raises(PolicyError) as info:
            policy().stage("sql")
        assert info.value.value == "sql"
        with pytest.raises(PolicyError):
            policy().transitions_between("lead", "sql")

    @pytest.mark.parametrize(
        ("source", "target", "value"),
        [(["lead"], "mql", ["lead"]), ("lead", {"mql": 1}, {"mql": 1})],
    )
    def test_transitions_between_what_is_no_stage_name(
        self, source: object, target: object, value: object
    ) -> None:
        """A source or target that is no str is a PolicyError naming it."""
        with pytest.raises(PolicyError) as info:
            policy().transitions_between(source, target)  # type: ignore[arg-type]
        assert (info.value.field, info.value.value) == ("stage", value)

    @pytest.mark.parametrize(
        ("make", "field", "value"),
        [
            (
                lambda: policy(stages=[Stage("lead"), Stage("lead")]),
                "stages[1].name",
                "lead",
            ),
            (lambda: policy(stages=[Stage("lead"), "mql"]), "stages[1]", "mql"),  # type: ignore[list-item]
            (lambda: policy(stages=[Stage("*")]), "stages[0].name", "*"),
            (lambda: policy(stages="lead"), "stages", "lead"),  # type: ignore[arg-type]
            (lambda: policy(initial="sql"), "initial", "sql"),
            (lambda: policy(initial="customer"), "initial", "customer"),
            (
                lambda: policy([Transition(source="lead", target="sql")]),
                "transitions[0].target",
                "sql",
            ),
            (
                lambda: policy([Transition(source="sql", target="lead")]),
                "transitions[0].source",
                "sql",
            ),
            (
                lambda: policy([Transition(source="lead", target="lead")]),
                "transitions[0].target",
                "lead",
            ),
            (
                lambda: policy(
                    [
                        Transition(source="lead", target="mql"),
                        Transition(source="mql", target="customer"),
                        Transition(source="customer", target="lost"),
                    ]
                ),
                "transitions[2].reopen",
                False,
            ),
            (
                lambda: policy(
                    [
                        Transition(source="lead", target="mql"),
                        Transition(source="mql", target="customer"),
                    ]
                ),
                "stages[3]",
                "lost",
            ),
            (
                lambda: policy(
                    [
                        Transition(source="lead", target="mql", name="x"),
                        Transition(source="mql", target="customer", name="x"),
                    ]
                ),
                "transitions[1].name",
                "x",
            ),
            (lambda: policy(["x"]), "transitions[0]", "x"),  # type: ignore[list-item]
            (
                lambda: policy(
                    [
                        Transition(
                            source="lead",
                            target="mql",
                            guard=Always() & ~AnyOf(ScoreAtLeast(5, "engagment")),
                        ),
                        Transition(source="mql", target="customer"),
                        Transition(source=ANY_OPEN, target="lost"),
                    ]
                ),
                "transitions[0].guard",
                ScoreAtLeast(5, "engagment"),
            ),
            (
                lambda: attrs.evolve(
                    policy(),
                    slas=[
                        SlaRule("s", "mql", timedelta(hours=1), ScoreAtLeast(5, "x"))
                    ],
                ),
                "slas[0].met_by",
                ScoreAtLeast(5, "x"),
            ),
        ],
    )
    def test_invalid_policy_names_the_offender(
        self, make: Callable[[], object], field: str, value: object
    ) -> None:
        """An invalid policy raises a PolicyError naming the part and the value."""
        with pytest.raises(PolicyError) as info:
            make()
        assert info.value.field == field
        assert info.value.value == value

    def test_grade_letters_are_the_models(self) -> None:
        """A GradeAtLeast letter the scoring model does not have is refused."""
        graded = ScoringModel("graded", [], grades=Grades(fit={"A+": 80, "A": None}))
        guard = Always() & ~GradeAtLeast("B")
        with pytest.raises(PolicyError) as info:
            attrs.evolve(
                policy(),
                scoring=graded,
                transitions=[
                    Transition(source="lead", target="mql", guard=guard),
                    Transition(source="mql", target="customer"),
                    Transition(source=ANY_OPEN, target="lost"),
                ],
            )
        assert (info.value.field, info.value.value) == (
            "transitions[0].guard",
            GradeAtLeast("B"),
        )
        assert "A+, A" in str(info.value)
        with pytest.raises(PolicyError) as info:
            attrs.evolve(
                policy(),
                slas=[SlaRule("s", "mql", timedelta(hours=1), GradeAtLeast("A+"))],
            )
        assert (info.value.field, info.value.value) == (
            "slas[0].met_by",
            GradeAtLeast("A+"),
        )
        accepted = attrs.evolve(
            policy(),
            scoring=graded,
            slas=[SlaRule("s", "mql", timedelta(hours=1), GradeAtLeast("A+"))],
        )
        assert accepted.scoring == graded

    @pytest.mark.parametrize(
        ("field", "value"),
        [("name", ""), ("version", 0), ("version", "1"), ("scoring", None)],
    )
    def test_bad_fields(self, field: str, value: object) -> None:
        """Bad name, version or scoring model raise a PolicyError naming the field."""
        parts: dict[str, object] = {
            "name": "p",
            "version": 1,
            "stages": [Stage("lead")],
            "transitions": [],
            "initial": "lead",
            "scoring": MODEL,
            field: value,
        }
        with pytest.raises(PolicyError) as info:
            FunnelPolicy(**parts)  # type: ignore[arg-type]
        assert info.value.field == field

    def test_transitions_must_be_a_list(self) -> None:
        """Transitions given as something else than a list are refused."""
        with pytest.raises(PolicyError) as info:
            policy(transitions="x")  # type: ignore[arg-type]
        assert info.value.field == "transitions"

    def test_reopen_is_allowed(self) -> None:
        """A transition out of a won or lost stage marked reopen is valid."""
        made = policy(
            [
                Transition(source="lead", target="mql"),
                Transition(source="mql", target="customer"),
                Transition(source=ANY_OPEN, target="lost"),
                Transition(source="lost", target="lead", reopen=True),
            ]
        )
        assert made.exits("lost")[0].reopen

    def test_policies_compare_by_value(self) -> None:
        """Two policies built alike are equal and hash alike."""
        assert policy() == policy()
        assert hash(policy()) == hash(policy())
        guarded = policy(
            [
                Transition(source="lead", target="mql", guard=ScoreAtLeast(5)),
                Transition(source="mql", target="customer"),
                Transition(source=ANY_OPEN, target="lost"),
            ]
        )
        assert guarded != policy()
