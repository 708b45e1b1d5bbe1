"""Policy files: load_policy, dump_policy, CriteriaRegistry, diff_policies."""

from __future__ import annotations

import contextlib
import json
import tomllib
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import (
    EXIT,
    ActivityRule,
    AllOf,
    Always,
    AnyOf,
    AtLeast,
    AttributeIs,
    AttributeRule,
    BantQualified,
    BusinessCalendar,
    Context,
    CriteriaRegistry,
    Criterion,
    CriterionLike,
    Decay,
    DidActivity,
    Escalate,
    Funnel,
    FunnelPolicy,
    GradeAtLeast,
    Grades,
    HalfLife,
    InMemoryStore,
    InStageFor,
    LinearDecay,
    MoveTo,
    Not,
    PolicyError,
    PolicyFileError,
    ScoreAtLeast,
    ScoringModel,
    SlaRule,
    Stage,
    StepDecay,
    Transition,
    ValidationError,
    ValueTest,
    Verdict,
    _toml,
    absent,
    between,
    diff_policies,
    dump_policy,
    equals,
    load_policy,
    matches,
    one_of,
    present,
)
from funnelkit._config import (
    MAX_DEPTH,
    MAX_NUMBER,
    MAX_POLICY_BYTES,
    _backtracks,
    policy_data,
    read_part,
    write_part,
)
from funnelkit.policies import b2b_saas
from funnelkit.serialization import from_json, to_json
from funnelkit.testing.strategies import policies

SHIPPED = Path(__file__).parent.parent / "src" / "funnelkit" / "policies"


def data() -> dict[str, Any]:
    """The default policy as file data, a fresh copy to spoil."""
    document: dict[str, Any] = json.loads(dump_policy(b2b_saas(), "json"))
    return document


def problems(document: object, **kwargs: Any) -> list[tuple[str, str]]:
    """The problems load_policy finds in *document* (as JSON text)."""
    with pytest.raises(PolicyFileError) as info:
        load_policy(json.dumps(document), format="json", **kwargs)
    return list(info.value.problems)


def paths(document: object, **kwargs: Any) -> list[str]:
    """The key paths of the problems in *document*."""
    return [path for path, _ in problems(document, **kwargs)]


@attrs.frozen
class InTerritory(Criterion):
    """A custom criterion with a field of every kind a file can give."""

    region: str
    since: date | None = None
    within: timedelta | None = None
    codes: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    weight: float = 1.0
    count: int = 1
    strict: bool = False
    test: ValueTest | None = None
    inner: CriterionLike | None = None

    def check(self, ctx: Context) -> Verdict:
        """Pass when the lead's region is this one."""
        region = ctx.lead.attributes.get("region")
        return Verdict(
            passed=region == self.region,
            criterion="in territory",
            reason=f"region is {region}",
        )


EQUALS_X = equals("x")


@attrs.frozen
class Regional(Criterion):
    """A custom criterion whose fields may be None but default to values."""

    region: str | None = "emea"
    test: ValueTest | None = EQUALS_X
    inner: CriterionLike | None = attrs.field(factory=Always)  # a made default

    def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- the protocol's signature
        """Always pass."""
        return Verdict(passed=True, criterion="regional", reason="")


def registry() -> CriteriaRegistry:
    """A registry holding InTerritory."""
    return CriteriaRegistry({"in_territory": InTerritory})


def with_guard(guard: CriterionLike) -> FunnelPolicy:
    """The default policy, its MQL guard replaced by *guard*."""
    policy = b2b_saas()
    transitions = [
        attrs.evolve(t, guard=guard) if t.name == "marketing qualified" else t
        for t in policy.transitions
    ]
    return attrs.evolve(policy, transitions=transitions)


class TestRoundTrip:
    @pytest.mark.parametrize("fmt", ["toml", "json"])
    def test_default_policy(self, fmt: str) -> None:
        """The default policy reads back equal from either format."""
        text = dump_policy(b2b_saas(), fmt)  # type: ignore[arg-type]
        assert load_policy(text) == b2b_saas()
        assert load_policy(text, format=fmt) == b2b_saas()  # type: ignore[arg-type]

    def test_same_policy_same_bytes(self) -> None:
        """Dumping is deterministic, byte for byte."""
        assert dump_policy(b2b_saas()) == dump_policy(b2b_saas())
        assert dump_policy(b2b_saas(), "json") == dump_policy(b2b_saas(), "json")

    def test_shipped_file_is_the_default(self) -> None:
        """policies/b2b_saas.toml is funnelkit.policies.b2b_saas()."""
        assert load_policy(SHIPPED / "b2b_saas.toml") == b2b_saas()

    @pytest.mark.parametrize(
        "guard",
        [
            Always(),
            ScoreAtLeast(50),
            ScoreAtLeast(40, "engagement") | Not(GradeAtLeast("A")),
            GradeAtLeast("X", Grades(fit=[("X", 10), ("Y", None)])),
            AtLeast(2, BantQualified(2), InStageFor(timedelta(days=2)), Always()),
            DidActivity("demo_request", timedelta(days=30), 2, in_stage=True),
            BantQualified(timeline_within=timedelta(days=90)),
            BantQualified(2, timezone="America/New_York"),
            AllOf(),
            AnyOf(),
            AttributeIs("industry", "software"),
            AttributeIs("industry", ["a", "b"]),
            AttributeIs("employees", between(10, None) & between(None, 500)),
            AttributeIs("employees", between(10, None) | ~present() | absent()),
            AttributeIs("employees", between(10, 50, include_high=False)),
            AttributeIs("title", matches("vp", ignore_case=True) & matches("sales")),
            AttributeIs("region", equals(None) | one_of(None, 1, 2.5, True)),
            AttributeIs("a", (equals(1) & equals(2)) & (equals(3) & equals(4))),
            AttributeIs("a", ~(equals(1) | equals(2))),
            AttributeIs("a", present()),
        ],
    )
    def test_every_criterion(self, guard: CriterionLike) -> None:
        """Every built-in criterion and value test reads back equal."""
        policy = with_guard(guard)
        for fmt in ("toml", "json"):
            assert load_policy(dump_policy(policy, fmt)) == policy

    @pytest.mark.parametrize(
        "decay",
        [
            None,
            HalfLife(timedelta(days=30)),
            StepDecay(timedelta(weeks=1), 0.5),
            LinearDecay(timedelta(hours=36)),
        ],
    )
    def test_decays_and_model_options(self, decay: Any) -> None:
        """Decays, grades and one-sided limits read back equal."""
        model = attrs.evolve(
            b2b_saas().scoring,
            decay=decay,
            # Letters of the model's own: the default policy's guards name B.
            grades=Grades(fit=[("A", 80), ("B", 40), ("rest", None)]),
            limits={"fit": (None, 100), "engagement": (0, None)},
        )
        policy = attrs.evolve(b2b_saas(), scoring=model)
        assert load_policy(dump_policy(policy)) == policy

    def test_rule_options(self) -> None:
        """Rule windows, caps, own decay, no decay and dimensions read back."""
        rules: list[ActivityRule | AttributeRule] = [
            ActivityRule(
                ["a", "b"],
                2.5,
                where={"asset": one_of("ebook"), "n": 3},
                max_points=10,
                max_count=2,
                per=timedelta(days=1),
                within=timedelta(days=90),
                decay=StepDecay(timedelta(days=7), 0.5),
                dimension="intent",
                name="ab",
            ),
            ActivityRule("c", -5, decay=None, where={}),
            AttributeRule("source", "webinar", 3, dimension="intent"),
        ]
        policy = attrs.evolve(
            b2b_saas(), scoring=ScoringModel("m", rules, decay=HalfLife(timedelta(1)))
        )
        assert load_policy(dump_policy(policy)) == policy

    def test_sla_and_calendar_options(self) -> None:
        """SLA rules with criteria, moves, own calendars and holidays read back."""
        calendar = BusinessCalendar(
            "Europe/Berlin",
            {"mon": [("22:00", "06:00")], "sat": []},
            holidays=[
                date(2026, 12, 24),
                "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1",
                (date(2026, 12, 31), [("09:00", "12:00")]),
            ],
        )
        policy = attrs.evolve(
            b2b_saas(),
            slas=[
                SlaRule(
                    "hot",
                    "mql",
                    timedelta(hours=4),
                    ScoreAtLeast(90),
                    on_breach=MoveTo("nurture", "not_ready"),
                ),
                SlaRule(
                    "touch",
                    "sal",
                    "2 business hours",
                    {"sales_call", "sales_email"},
                    calendar=calendar,
                    on_breach=MoveTo("disqualified", "bad_data"),
                ),
            ],
        )
        for fmt in ("toml", "json"):
            assert load_policy(dump_policy(policy, fmt)) == policy

    def test_custom_criteria_through_a_registry(self) -> None:
        """A registered class reads back equal, every field type included."""
        custom = InTerritory(
            "emea",
            since=date(2026, 1, 1),
            within=timedelta(days=3),
            codes=("a", "b"),
            tags=frozenset({"x"}),
            weight=2.5,
            count=3,
            strict=True,
            test=one_of("x", "y"),
            inner=ScoreAtLeast(10),
        )
        policy = with_guard(custom & InTerritory("apac"))
        text = dump_policy(policy, criteria=registry())
        assert load_policy(text, criteria=registry()) == policy

    def test_a_policy_without_calendar_or_slas(self) -> None:
        """The smallest policy reads back equal, in either format."""
        policy = FunnelPolicy(
            name="tiny",
            version=3,
            stages=[Stage("new"), Stage("won", "won")],
            transitions=[Transition(source="new", target="won")],
            initial="new",
            scoring=ScoringModel("empty", []),
        )
        for fmt in ("toml", "json"):
            text = dump_policy(policy, fmt)
            assert "calendar" not in text
            assert "slas" not in text
            assert load_policy(text) == policy

    def test_file_paths(self, tmp_path: Path) -> None:
        """A path (object or string) is read by its suffix."""
        for name, fmt in (("p.toml", "toml"), ("p.JSON", "json")):
            path = tmp_path / name
            path.write_text(dump_policy(b2b_saas(), fmt), encoding="utf-8")  # type: ignore[arg-type]
            assert load_policy(path) == b2b_saas()
            assert load_policy(str(path)) == b2b_saas()
        other = tmp_path / "policy.txt"
        other.write_text(dump_policy(b2b_saas()), encoding="utf-8")
        assert load_policy(other, format="toml") == b2b_saas()

    @pytest.mark.parametrize("fmt", ["toml", "json"])
    def test_a_byte_order_mark_is_skipped(self, tmp_path: Path, fmt: str) -> None:
        """A file saved with a UTF-8 byte order mark (Notepad, PowerShell) reads."""
        path = tmp_path / f"p.{fmt}"
        path.write_text(dump_policy(b2b_saas(), fmt), encoding="utf-8-sig")  # type: ignore[arg-type]
        assert load_policy(path) == b2b_saas()

    def test_parts_through_serialization(self) -> None:
        """to_json/from_json write policy parts as policy files do."""
        policy = b2b_saas()
        assert from_json(to_json(policy), FunnelPolicy) == policy
        transition = policy.transitions[0]
        assert from_json(to_json(transition), Transition) == transition
        assert json.loads(to_json(ScoreAtLeast(5))) == {"score_at_least": 5}
        assert from_json('{"score_at_least": 5}', ScoreAtLeast) == ScoreAtLeast(5)
        assert from_json(to_json(Escalate("boss")), Escalate) == Escalate("boss")
        assert from_json(to_json(MoveTo("x", "y")), MoveTo) == MoveTo("x", "y")
        assert from_json(to_json(Stage("a", "won")), Stage) == Stage("a", "won")

    def test_parts_of_the_wrong_type(self) -> None:
        """Reading a part as another type is a problem, not a surprise."""
        with pytest.raises(PolicyFileError) as info:
            read_part({"always": {}}, ScoreAtLeast)
        assert "a ScoreAtLeast" in str(info.value)

    def test_unknown_parts_are_not_written(self) -> None:
        """Writing something that is no policy part names it."""

        class Odd(ValueTest):
            def evaluate(self, value: object) -> tuple[bool, str]:  # noqa: ARG002 -- the protocol's signature
                return True, ""

            def describe(self) -> str:
                return "odd"

        with pytest.raises(PolicyError, match="value test"):
            write_part(Odd())

        @attrs.frozen
        class Sudden(Decay):
            def weight(self, age_seconds: float) -> float:  # noqa: ARG002 -- the base's signature
                return 1.0

            def describe(self) -> str:
                return "sudden"

        with pytest.raises(PolicyError, match="decay"):
            write_part(Sudden())


HOSTILE: list[object] = [
    10**13,
    -(10**30),
    1e300,
    "(a+)+$",
    "Mars/Base",
    "x" * 5000,
    {"no_such_criterion": {}},
    {"in_territory": {"region": "x"}},
    [],
    {},
    None,
    True,
    "2026-02-30",
    "99999999999 days",
]


@st.composite
def mutated_documents(draw: st.DrawFn) -> object:
    """A valid policy's data, spoilt one to three times."""
    document: Any = json.loads(dump_policy(draw(policies(max_stages=4)), "json"))
    for _ in range(draw(st.integers(1, 3))):
        parent, key = draw(_places(document))
        action = draw(st.sampled_from(["set", "delete", "rename", "nest"]))
        if action == "set":
            parent[key] = draw(st.sampled_from(HOSTILE))
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[key + "x"] = parent.pop(key)
        else:
            inner: object = {"always": {}}
            for _ in range(draw(st.integers(30, 200))):
                inner = {"not": inner}
            parent[key] = inner
    return document


@st.composite
def _places(draw: st.DrawFn, document: Any) -> tuple[Any, Any]:
    """A container in *document* and one of its keys or positions."""
    places: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                places.append((node, key))
                walk(item)
        elif isinstance(node, list):
            for position, item in enumerate(node):
                places.append((node, position))
                walk(item)

    walk(document)
    place: tuple[Any, Any] = draw(st.sampled_from(places))
    return place


class TestEveryPolicy:
    @settings(max_examples=60, deadline=None)
    @given(policy=policies(), fmt=st.sampled_from(["toml", "json"]))
    def test_every_policy_round_trips(self, policy: FunnelPolicy, fmt: str) -> None:
        """load_policy(dump_policy(p)) == p, in either format, for any policy."""
        text = dump_policy(policy, fmt)  # type: ignore[arg-type]
        assert load_policy(text, format=fmt) == policy  # type: ignore[arg-type]
        assert dump_policy(load_policy(text, format=fmt), fmt) == text  # type: ignore[arg-type]

    @settings(max_examples=60, deadline=None)
    @given(document=mutated_documents())
    def test_mutated_files_fail_cleanly(self, document: object) -> None:
        """A spoilt file gives a policy or a PolicyError, and nothing else."""
        for fmt in ("json", "toml"):
            try:
                text = (
                    json.dumps(document) if fmt == "json" else _toml.dumps(document)  # type: ignore[arg-type]
                )
            except (TypeError, ValueError):
                continue  # TOML cannot hold the spoilt data at all
            # Any other exception fails the test; a pattern that backtracks
            # for years would never let it end.
            with contextlib.suppress(PolicyError):
                load_policy(text, format=fmt)

    def test_numbers_a_file_cannot_hold_are_not_written(self) -> None:
        """dump_policy refuses a number load_policy would refuse, naming it."""
        policy = attrs.evolve(b2b_saas(), version=MAX_NUMBER + 1)
        for fmt in ("toml", "json"):
            with pytest.raises(PolicyError) as info:
                dump_policy(policy, fmt)
            assert (info.value.field, info.value.value) == ("version", MAX_NUMBER + 1)
        huge = with_guard(AttributeIs("employees", between(None, -2.0e13)))
        with pytest.raises(PolicyError) as info:
            dump_policy(huge)
        assert info.value.field == "transitions[1].guard.attribute_is.test.between.high"

    @pytest.mark.parametrize("fmt", ["toml", "json"])
    def test_nan_is_not_written(self, fmt: str) -> None:
        """A NaN field is a PolicyError naming it, in either format."""
        policy = with_guard(InTerritory("emea", weight=float("nan")))
        with pytest.raises(PolicyError) as info:
            dump_policy(policy, fmt, criteria=registry())  # type: ignore[arg-type]
        assert info.value.field == "transitions[1].guard.in_territory.weight"
        assert "a finite number" in info.value.expected


class TestProblems:
    def test_many_problems_together(self) -> None:
        """Every problem in a file is reported, each with its key path."""
        document = data()
        document["stages"][0]["nmae"] = document["stages"][0].pop("name")
        guard = document["transitions"][1]["guard"]["all"]
        guard[1]["score_at_least"]["points"] = "forty"
        document["slas"][0]["within"] = "soon"
        found = dict(problems(document))
        assert found["stages[0].nmae"].endswith("did you mean 'name'?")
        assert "required key is missing" in found["stages[0].name"]
        assert found["transitions[1].guard.all[1].score_at_least.points"] == (
            "expected a number, found 'forty'"
        )
        assert "slas[0].within" in found

    def test_business_time_without_a_calendar_says_where_one_goes(self) -> None:
        """No [calendar]: the problem names the duration as written, and the table."""
        document = data()
        del document["calendar"]
        found = dict(problems(document))
        assert found["slas[0].within"] == (
            "expected a calendar to count 8 business hours on: the rule's, or the "
            "policy's calendar (a [calendar] table in a policy file, with its "
            "timezone and hours), found '8 business hours'"
        )

    def test_a_target_of_any_open_stage(self) -> None:
        """A transition to '*' is a problem at its key, not a KeyError."""
        document = data()
        document["transitions"][2]["target"] = "*"
        assert paths(document) == ["transitions[2].target"]

    @pytest.mark.parametrize("fmt", ["json", "toml"])
    def test_a_whole_number_beyond_a_float(self, fmt: str) -> None:
        """A number of 400 digits is a problem at its key, not an OverflowError."""
        huge = "1" + "0" * 400
        text = dump_policy(b2b_saas(), fmt)  # type: ignore[arg-type]
        key = '"low": ' if fmt == "json" else "low = "
        spoilt = text.replace(f"{key}200", f"{key}{huge}", 1)
        with pytest.raises(PolicyFileError) as info:
            load_policy(spoilt, format=fmt)  # type: ignore[arg-type]
        path, message = info.value.problems[0]
        assert path == "scoring.rules[1].test.between.low"
        assert message.startswith("expected a number from -1,000,000,000,000")

    def test_the_message_names_file_path_and_problem(self, tmp_path: Path) -> None:
        """The error's text says the file, the key path, expected and found."""
        path = tmp_path / "policy.toml"
        path.write_text(dump_policy(b2b_saas()).replace("version = 1", 'version = "1"'))
        with pytest.raises(PolicyFileError) as info:
            load_policy(path)
        error = info.value
        assert error.source == str(path)
        assert str(error) == (
            f"policy file {path}: 1 problem:\n"
            "  version: expected a whole number, found '1'"
        )
        assert (error.field, error.expected) == (
            "version",
            "expected a whole number, found '1'",
        )

    @pytest.mark.parametrize(
        ("spoil", "path", "words"),
        [
            (lambda d: d.update(version=10**13), "version", "from -1,000,000,000,000"),
            (lambda d: d.update(version=True), "version", "a whole number"),
            (lambda d: d.update(name=3), "name", "expected text"),
            (lambda d: d.update(stages="lead"), "stages", "a list of stages"),
            (lambda d: d["stages"].append(5), "stages[8]", "a stage"),
            (lambda d: d.update(initial="nowhere"), "initial", "one of the stages"),
            (lambda d: d["stages"][0].update(kind="odd"), "stages[0].kind", "'open'"),
            (lambda d: d.pop("scoring"), "scoring", "required key is missing"),
            (lambda d: d.update(extra=1), "extra", "unknown key"),
            (
                lambda d: d["transitions"][2].update(auto="yes"),
                "transitions[2].auto",
                "true or false",
            ),
            (
                lambda d: d["transitions"][2].update(source=[1]),
                "transitions[2].source[0]",
                "text",
            ),
            (
                lambda d: d["transitions"][2].update(source={}),
                "transitions[2].source",
                "a list of text",
            ),
            (
                lambda d: d["transitions"][2].update(target="nowhere"),
                "transitions[2].target",
                "one of the stages",
            ),
            (
                lambda d: d["transitions"][2].update(guard=5),
                "transitions[2].guard",
                "a criterion",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"a": 1, "b": 2}),
                "transitions[2].guard",
                "a table of one key",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"scor_at_least": 5}),
                "transitions[2].guard.scor_at_least",
                "did you mean 'score_at_least'",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"score_at_least": {"points": 1, "dim": "x"}}
                ),
                "transitions[2].guard.score_at_least.dim",
                "unknown key",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"score_at_least": "x"}),
                "transitions[2].guard.score_at_least.points",
                "a number",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"score_at_least": 10**400}),
                "transitions[2].guard.score_at_least.points",
                "a number",
            ),
            (
                lambda d: d["scoring"]["rules"][0].update(points=-(10**400)),
                "scoring.rules[0].points",
                "a number",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"all": 5}),
                "transitions[2].guard.all",
                "a list of criteria",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"any": [5]}),
                "transitions[2].guard.any[0]",
                "a criterion",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"not": {"x": 1}}),
                "transitions[2].guard.not.x",
                "unknown key",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"always": 1}),
                "transitions[2].guard.always",
                "true or {}",
            ),
            (
                lambda d: d["transitions"][2].update(guard={"at_least": {"n": 1}}),
                "transitions[2].guard.at_least.of",
                "required key",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"at_least": {"n": -1, "of": []}}
                ),
                "transitions[2].guard.at_least.n",
                "0 or more",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"at_least": {"n": 1, "of": [1]}}
                ),
                "transitions[2].guard.at_least.of[0]",
                "a criterion",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"did_activity": {"kinds": "x", "within": "2 business days"}}
                ),
                "transitions[2].guard.did_activity.within",
                "wall-clock",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"did_activity": {"kinds": "x", "within": 5}}
                ),
                "transitions[2].guard.did_activity.within",
                "a duration",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"did_activity": {"kinds": "x", "within": "a while"}}
                ),
                "transitions[2].guard.did_activity.within",
                "a duration",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"did_activity": {"kinds": "x", "within": "9" * 120}}
                ),
                "transitions[2].guard.did_activity.within",
                "a duration",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"attribute_is": {"attribute": "a", "test": {"between": {}}}}
                ),
                "transitions[2].guard.attribute_is.test.between.low",
                "at least one bound",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"attribute_is": {"attribute": "a", "test": {"between": 5}}}
                ),
                "transitions[2].guard.attribute_is.test.between",
                "'low', 'high' or both",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={
                        "attribute_is": {
                            "attribute": "a",
                            "test": {"between": {"low": 1, "include_high": "no"}},
                        }
                    }
                ),
                "transitions[2].guard.attribute_is.test.between.include_high",
                "true or false",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"attribute_is": {"attribute": "a", "test": {"betwen": {}}}}
                ),
                "transitions[2].guard.attribute_is.test.betwen",
                "did you mean 'between'",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"attribute_is": {"attribute": "a", "test": {"one_of": 5}}}
                ),
                "transitions[2].guard.attribute_is.test.one_of",
                "a list of values",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={
                        "attribute_is": {"attribute": "a", "test": {"present": False}}
                    }
                ),
                "transitions[2].guard.attribute_is.test.present",
                "true",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"attribute_is": {"attribute": "a", "test": {"all": [1]}}}
                ),
                "transitions[2].guard.attribute_is.test.all",
                "two or more",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={
                        "attribute_is": {
                            "attribute": "a",
                            "test": {"any": [1, {"x": 1}]},
                        }
                    }
                ),
                "transitions[2].guard.attribute_is.test.any[1].x",
                "unknown key",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"attribute_is": {"attribute": "a", "test": [[1]]}}
                ),
                "transitions[2].guard.attribute_is.test[0]",
                "text, a number, true or false",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={
                        "attribute_is": {
                            "attribute": "a",
                            "test": {"matches": "(a+)+$"},
                        }
                    }
                ),
                "transitions[2].guard.attribute_is.test.matches.pattern",
                "exponential",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={
                        "attribute_is": {"attribute": "a", "test": {"matches": "(a"}}
                    }
                ),
                "transitions[2].guard.attribute_is.test.matches.pattern",
                "a valid regular expression",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={
                        "attribute_is": {
                            "attribute": "a",
                            "test": {"matches": "a" * 501},
                        }
                    }
                ),
                "transitions[2].guard.attribute_is.test.matches.pattern",
                "at most 500",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={
                        "attribute_is": {
                            "attribute": "a",
                            "test": {"matches": {"pattern": "a", "ignore_case": 1}},
                        }
                    }
                ),
                "transitions[2].guard.attribute_is.test.matches.ignore_case",
                "true or false",
            ),
            (
                lambda d: d["transitions"][2].update(
                    guard={"attribute_is": {"attribute": "a", "test": {"matches": 5}}}
                ),
                "transitions[2].guard.attribute_is.test.matches",
                "a pattern",
            ),
            (lambda d: d["scoring"].update(decay="fast"), "scoring.decay", "a decay"),
            (
                lambda d: d["scoring"].update(decay={"half_lif": "1 day"}),
                "scoring.decay.half_lif",
                "did you mean 'half_life'",
            ),
            (
                lambda d: d["scoring"].update(decay={"step": {"every": "1 day"}}),
                "scoring.decay.step.factor",
                "required key",
            ),
            (
                lambda d: d["scoring"].update(
                    decay={"step": {"every": "1 day", "factor": 2}}
                ),
                "scoring.decay.step.factor",
                "up to (not including) 1",
            ),
            (lambda d: d["scoring"].update(grades=5), "scoring.grades", "bands"),
            (
                lambda d: d["scoring"].update(grades={"fit": [["A", 1, 2]]}),
                "scoring.grades.fit[0]",
                "a band",
            ),
            (
                lambda d: d["scoring"].update(grades={"fit": [["A", "x"], ["B"]]}),
                "scoring.grades.fit[0][1]",
                "a number",
            ),
            (
                lambda d: d["scoring"].update(grades={"fit": [["A"], ["B", 5]]}),
                "scoring.grades.fit",
                "descending",
            ),
            (
                lambda d: d["scoring"].update(limits=[1, 2]),
                "scoring.limits",
                "dimension = [low, high]",
            ),
            (
                lambda d: d["scoring"].update(limits={"fit": "x"}),
                "scoring.limits.fit",
                "[low, high]",
            ),
            (
                lambda d: d["scoring"].update(limits={"fit": {"low": "x"}}),
                "scoring.limits.fit.low",
                "a number",
            ),
            (
                lambda d: d["scoring"].update(limits={"fit": [5, 1]}),
                "scoring.limits.fit",
                "low <= high",
            ),
            (lambda d: d["scoring"]["rules"].append(3), "scoring.rules[25]", "a rule"),
            (
                lambda d: d["scoring"]["rules"][0].update(kind="x"),
                "scoring.rules[0]",
                "not both",
            ),
            (
                lambda d: d["scoring"]["rules"][0].update(points="x"),
                "scoring.rules[0].points",
                "a number",
            ),
            (
                lambda d: d["scoring"]["rules"][10].update(where=5),
                "scoring.rules[10].where",
                "property name",
            ),
            (
                lambda d: d["scoring"]["rules"][10].update(where={"a": {"nope": 1}}),
                "scoring.rules[10].where.a.nope",
                "unknown key",
            ),
            (
                lambda d: d["scoring"]["rules"][10].update(decay="never"),
                "scoring.rules[10].decay",
                "a decay",
            ),
            (
                lambda d: d["scoring"]["rules"][10].update(max_count=0),
                "scoring.rules[10].max_count",
                "1 or more",
            ),
            (
                lambda d: d["calendar"].update(timezone="Mars/Base"),
                "calendar.timezone",
                "time zone",
            ),
            (
                lambda d: d["transitions"][3]["guard"]["any"][0].update(
                    bant_qualified={"timezone": "Mars/Base"}
                ),
                "transitions[3].guard.any[0].bant_qualified.timezone",
                "time zone",
            ),
            (
                lambda d: d["calendar"].update(hours={"monday": []}),
                "calendar.hours.monday",
                "did you mean 'mon'",
            ),
            (
                lambda d: d["calendar"].update(hours={"mon": ["9 to 5"]}),
                "calendar.hours.mon[0]",
                "dash",
            ),
            (
                lambda d: d["calendar"].update(hours={"mon": "09:00-17:00"}),
                "calendar.hours.mon",
                "a list of intervals",
            ),
            (
                lambda d: d["calendar"].update(holidays=[5]),
                "calendar.holidays[0]",
                "a date",
            ),
            (
                lambda d: d["calendar"].update(holidays=["2026-02-30"]),
                "calendar.holidays[0]",
                "a real date",
            ),
            (
                lambda d: d["calendar"].update(holidays=["sometimes"]),
                "calendar.holidays[0].on",
                "rule",
            ),
            (
                lambda d: d["calendar"].update(
                    holidays=[{"on": "2026-12-24", "hours": 5}]
                ),
                "calendar.holidays[0].hours",
                "a list of intervals",
            ),
            (
                lambda d: d["calendar"].update(holidays=[{"hours": []}]),
                "calendar.holidays[0].on",
                "required key",
            ),
            (lambda d: d["slas"][0].update(met_by=5), "slas[0].met_by", "'exit'"),
            (lambda d: d["slas"][0].update(met_by=[1]), "slas[0].met_by[0]", "text"),
            (
                lambda d: d["slas"][0].update(met_by={"nope": 1}),
                "slas[0].met_by.nope",
                "unknown key",
            ),
            (
                lambda d: d["slas"][0].update(warn_at=2),
                "slas[0].warn_at",
                "between 0 and 1",
            ),
            (
                lambda d: d["slas"][0].update(on_breach={"escalate": 5}),
                "slas[0].on_breach.escalate",
                "text",
            ),
            (
                lambda d: d["slas"][0].update(on_breach={"escalate": "a", "b": 1}),
                "slas[0].on_breach.b",
                "unknown key",
            ),
            (
                lambda d: d["slas"][0].update(on_breach={"move_to": "customer"}),
                "slas[0].on_breach",
                "a move the transitions allow",
            ),
            (
                lambda d: d["slas"][0].update(on_breach={"move": "x"}),
                "slas[0].on_breach.move",
                "did you mean 'move_to'",
            ),
            (
                lambda d: d["slas"][0].update(on_breach=" x"),
                "slas[0].on_breach.role",
                "outer spaces",
            ),
            (
                lambda d: d["slas"][0].update(stage="nowhere"),
                "slas[0].stage",
                "one of the stages",
            ),
            (lambda d: d["slas"].__setitem__(0, 5), "slas[0]", "an SLA rule"),
            (
                lambda d: d["transitions"].__setitem__(0, 5),
                "transitions[0]",
                "a transition",
            ),
            (lambda d: d.update(scoring=5), "scoring", "a scoring model"),
            (lambda d: d.update(calendar=5), "calendar", "a calendar"),
        ],
    )
    def test_each_problem(
        self, spoil: Callable[[dict[str, Any]], object], path: str, words: str
    ) -> None:
        """Each kind of bad value is reported at its key path, in words."""
        document = data()
        spoil(document)
        found = problems(document)
        assert any(where == path and words in message for where, message in found), (
            found
        )

    def test_a_duration_is_shown_as_the_file_writes_it(self) -> None:
        """A refused duration is shown as text ('0 seconds'), not as Python's repr."""
        document = data()
        rules = document["scoring"]["rules"]
        position = next(index for index, rule in enumerate(rules) if rule.get("per"))
        document["scoring"]["rules"][position]["per"] = "0 days"
        ((path, message),) = problems(document)
        assert path == f"scoring.rules[{position}].per"
        assert message.endswith("found '0 seconds'")

    def test_a_guard_s_unknown_dimension_is_named_at_its_key(self) -> None:
        """A misspelt dimension deep in a guard: its key path and the text written."""
        document = data()
        guard = {
            "any": [
                {"always": True},
                {"all": [{"score_at_least": {"points": 40, "dimension": "engagment"}}]},
            ]
        }
        document["transitions"][0]["guard"] = guard
        path = "transitions[0].guard.any[1].all[0].score_at_least.dimension"
        ((where, message),) = problems(document)
        assert where == path
        assert message.endswith("found 'engagment'")

    def test_a_missing_key_does_not_hide_the_others_problems(self) -> None:
        """No initial and a version of 1.5: both problems, at once."""
        document = data()
        del document["initial"]
        document["version"] = 1.5
        document["stages"][0]["kind"] = "closed"
        document["surprise"] = True
        found = dict(problems(document))
        assert found["initial"].startswith("required key is missing")
        assert found["version"] == "expected a whole number, found 1.5"
        assert "stages[0].kind" in found
        assert found["surprise"].startswith("unknown key")

    @pytest.mark.parametrize(
        ("leaf", "path", "found"),
        [
            ({"grade_at_least": {"letter": "Z"}}, ".grade_at_least.letter", "'Z'"),
            ({"grade_at_least": "Z"}, ".grade_at_least", "GradeAtLeast("),
        ],
    )
    def test_a_guard_s_unknown_grade_is_named_at_its_key(
        self, leaf: dict[str, object], path: str, found: str
    ) -> None:
        """A letter the model's grades lack: at its key if written, else the leaf."""
        document = data()
        document["transitions"][0]["guard"] = {"all": [{"always": True}, leaf]}
        ((where, message),) = problems(document)
        assert where == "transitions[0].guard.all[1]" + path
        assert "a fit grade of the scoring model 'b2b-default': A, B, C, D" in message
        assert f"found {found}" in message

    def test_one_problem_is_reported_once(self) -> None:
        """A bad value gives one problem, not one per reader that tried it."""
        document = data()
        document["slas"][0]["met_by"] = 5
        assert problems(document) == [
            (
                "slas[0].met_by",
                (
                    "expected 'exit', an activity kind, a list of kinds, or a "
                    "criterion, found 5"
                ),
            )
        ]

    def test_not_a_table(self) -> None:
        """A document that is not a table is one problem at the top."""
        assert problems([1, 2]) == [("", "expected a policy, found [1, 2]")]

    def test_unknown_custom_criterion(self) -> None:
        """A custom criterion without a registry is an unknown key."""
        document = data()
        document["transitions"][2]["guard"] = {"in_territory": {"region": "x"}}
        assert paths(document) == ["transitions[2].guard.in_territory"]
        assert isinstance(
            load_policy(json.dumps(document), criteria=registry()), FunnelPolicy
        )

    def test_custom_criterion_fields_are_checked(self) -> None:
        """A registered class's fields are read by type, problems collected."""
        document = data()
        document["transitions"][2]["guard"] = {
            "in_territory": {"region": 5, "since": "soon", "codes": [1], "inner": 1}
        }
        assert paths(document, criteria=registry()) == [
            "transitions[2].guard.in_territory.region",
            "transitions[2].guard.in_territory.since",
            "transitions[2].guard.in_territory.codes[0]",
            "transitions[2].guard.in_territory.inner",
        ]
        document["transitions"][2]["guard"] = {
            "in_territory": {"region": "x", "since": "2026-02-30"}
        }
        assert paths(document, criteria=registry()) == [
            "transitions[2].guard.in_territory.since"
        ]
        document["transitions"][2]["guard"] = {"in_territory": "x"}
        assert paths(document, criteria=registry()) == [
            "transitions[2].guard.in_territory"
        ]

    def test_deep_nesting_is_refused(self) -> None:
        """Criteria nested deeper than MAX_DEPTH are one problem, quickly."""
        guard: object = {"always": {}}
        for _ in range(MAX_DEPTH + 5):
            guard = {"not": guard}
        document = data()
        document["transitions"][2]["guard"] = guard
        found = problems(document)
        assert len(found) == 1
        assert f"at most {MAX_DEPTH} levels" in found[0][1]

    def test_null_only_where_a_value_is(self) -> None:
        """{ null = true } is None as a tested value, and nowhere else."""
        document = data()
        document["transitions"][2]["guard"] = {
            "attribute_is": {"attribute": "a", "test": {"null": True}}
        }
        policy = load_policy(json.dumps(document))
        assert policy.transitions[2].guard == AttributeIs("a", equals(None))
        document["name"] = {"null": True}
        assert paths(document) == ["name"]

    @pytest.mark.parametrize(
        ("test", "path"),
        [
            ({"null": False}, "transitions[2].guard.attribute_is.test.null"),
            ([1, {"null": "yes"}], "transitions[2].guard.attribute_is.test[1].null"),
            ({"not": {"null": 0}}, "transitions[2].guard.attribute_is.test.not.null"),
        ],
    )
    def test_null_that_is_not_true_is_named(self, test: object, path: str) -> None:
        """{ null = false } is told null must be true, not that null is unknown."""
        document = data()
        document["transitions"][2]["guard"] = {
            "attribute_is": {"attribute": "a", "test": test}
        }
        (found,) = problems(document)
        assert found[0] == path
        assert found[1].startswith("expected true")


class TestHostileInput:
    def test_huge_text(self) -> None:
        """Text over MAX_POLICY_BYTES is refused before it is parsed."""
        text = "#" * (MAX_POLICY_BYTES + 1) + "\n"
        with pytest.raises(PolicyFileError, match="at most 1,000,000 bytes"):
            load_policy(text)

    def test_huge_text_counted_in_bytes(self) -> None:
        """Text of fewer characters than the limit but more UTF-8 bytes is refused."""
        text = "# " + "é" * (MAX_POLICY_BYTES // 2) + "\n"
        with pytest.raises(PolicyFileError, match="found 1,000,003"):
            load_policy(text)

    @pytest.mark.parametrize("cut", [0, 1])
    def test_huge_file_of_multibyte_text(self, tmp_path: Path, cut: int) -> None:
        """A huge file is too large, wherever the limit cuts a character."""
        path = tmp_path / "big.toml"
        path.write_bytes(b"#" * cut + "é".encode() * MAX_POLICY_BYTES)
        with pytest.raises(PolicyFileError, match="at most 1,000,000 bytes"):
            load_policy(path)

    def test_json_keys_given_twice(self) -> None:
        """A JSON key given twice is a problem with its key path, as in TOML."""
        text = dump_policy(b2b_saas(), "json")
        text = text.replace('"version": 1,', '"version": 1,\n  "version": 7,', 1)
        text = text.replace('"name": "lead"', '"name": "lead", "name": "mql"', 1)
        with pytest.raises(PolicyFileError) as info:
            load_policy(text)
        assert info.value.problems == (
            ("version", "expected each key once, found it 2 times"),
            ("stages[0].name", "expected each key once, found it 2 times"),
        )

    def test_huge_file(self, tmp_path: Path) -> None:
        """A huge file is refused without reading all of it."""
        path = tmp_path / "big.toml"
        path.write_bytes(b"#" * (10 * MAX_POLICY_BYTES))
        with pytest.raises(PolicyFileError, match="at most 1,000,000 bytes"):
            load_policy(path)

    @pytest.mark.parametrize(
        ("text", "fmt", "words"),
        [
            ("[" * 100_000, "json", "nested"),
            ("a = " + "[" * 100_000, "toml", "nested"),
            ('{"name": NaN}', "json", "NaN is not a number"),
            ('{"name": 1e999}', "json", "too large"),
            ('{"name": ' + "9" * 5000 + "}", "json", "valid JSON"),
            ("name = ", "toml", "valid TOML"),
            ("{", "json", "valid JSON"),
        ],
    )
    def test_broken_syntax(self, text: str, fmt: str, words: str) -> None:
        """Broken or hostile syntax is a PolicyFileError, never a crash."""
        with pytest.raises(PolicyFileError, match=words):
            load_policy(text, format=fmt)  # type: ignore[arg-type]

    def test_files_that_cannot_be_read(self, tmp_path: Path) -> None:
        """A missing or non-UTF-8 file is a PolicyFileError naming it."""
        with pytest.raises(PolicyFileError, match="readable file"):
            load_policy(tmp_path / "missing.toml")
        path = tmp_path / "latin.toml"
        path.write_bytes(b"version = 1\nname = '\xe9'\n")
        with pytest.raises(PolicyFileError, match="UTF-8") as info:
            load_policy(path)
        expected = "expected UTF-8 text, found the byte 0xe9 on line 2"
        assert info.value.problems == (("", f"{expected} (save the file as UTF-8)"),)

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"source": "policy.yaml"}, "source"),
            ({"source": 5}, "source"),
            ({"source": "x\n", "format": "yaml"}, "format"),
            ({"source": "x\n", "format": ["toml"]}, "format"),
            ({"source": "x\n", "criteria": {}}, "criteria"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, Any], field: str) -> None:
        """Arguments load_policy cannot use are a PolicyError naming them."""
        with pytest.raises(PolicyError) as info:
            load_policy(**kwargs)
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("call", "owner", "field"),
        [
            (lambda: dump_policy(None), "dump_policy", "policy"),  # type: ignore[arg-type]
            (lambda: dump_policy("b2b_saas"), "dump_policy", "policy"),  # type: ignore[arg-type]
            (
                lambda: dump_policy(b2b_saas(), criteria={}),  # type: ignore[arg-type]
                "dump_policy",
                "criteria",
            ),
            (lambda: dump_policy(b2b_saas(), criteria=3), "dump_policy", "criteria"),  # type: ignore[arg-type]
            (
                lambda: load_policy(dump_policy(b2b_saas()), criteria=3),  # type: ignore[arg-type]
                "load_policy",
                "criteria",
            ),
            (lambda: diff_policies(3, b2b_saas()), "diff_policies", "old"),  # type: ignore[arg-type]
            (lambda: diff_policies("b2b_saas", b2b_saas()), "diff_policies", "old"),  # type: ignore[arg-type]
            (lambda: diff_policies(b2b_saas(), None), "diff_policies", "new"),  # type: ignore[arg-type]
        ],
    )
    def test_arguments_that_are_no_policy_or_registry(
        self, call: Callable[[], object], owner: str, field: str
    ) -> None:
        """A policy or registry argument of another type is a PolicyError naming it."""
        with pytest.raises(PolicyError) as info:
            call()
        assert (info.value.owner, info.value.field) == (owner, field)

    @pytest.mark.parametrize("fmt", ["yaml", ["toml"], {"json": 1}])
    def test_bad_dump_format(self, fmt: object) -> None:
        """dump_policy writes TOML or JSON, nothing else (a list is no format)."""
        with pytest.raises(PolicyError, match="'toml' or 'json'") as info:
            dump_policy(b2b_saas(), fmt)  # type: ignore[arg-type]
        assert (info.value.field, info.value.value) == ("format", fmt)

    @pytest.mark.parametrize(
        ("pattern", "risky"),
        [
            ("(a+)+", True),
            ("(a*)*b", True),
            ("(a|aa)+", True),
            ("((ab)*c)+", True),
            ("(x{2,})*", True),
            ("(x{2})*", False),
            ("(x{1,5}){3}", True),
            ("(x{0,1})+", True),
            ("(x{3}y)+", False),
            ("(ab)+", False),
            ("(a)?b*", False),
            ("[(a+)]+", False),
            ("[]a+)]*", False),
            ("[^]a]+", False),
            (r"\(a+\)+", False),
            (r"(\.[a-z]+)*", True),
            ("(^|\\.)(gmail|yahoo)\\.[a-z.]+$", False),
            ("a)", False),
        ],
    )
    def test_backtracking_patterns(self, pattern: str, risky: bool) -> None:
        """A repeated group that repeats or alternates inside is refused."""
        assert _backtracks(pattern) is risky


class TestRegistry:
    def test_decorator(self) -> None:
        """register() without a class is a class decorator."""
        made = CriteriaRegistry()

        @made.register("odd")
        @attrs.frozen
        class Odd(Criterion):
            n: int

            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- the protocol's signature
                return Verdict(passed=True, criterion="odd", reason="")

        assert made.names == ("odd",)
        document = data()
        document["transitions"][2]["guard"] = {"odd": {"n": 3}}
        assert load_policy(json.dumps(document), criteria=made).transitions[
            2
        ].guard == Odd(3)

    @pytest.mark.parametrize(
        ("name", "cls", "field"),
        [
            ("Bad Name", InTerritory, "name"),
            (5, InTerritory, "name"),
            ("score_at_least", InTerritory, "name"),
            ("in_territory", InTerritory, "name"),
            ("plain", object, "plain"),
            ("plain", 5, "plain"),
            ("plain", attrs.frozen(type("Plain", (), {})), "plain"),  # no check
        ],
    )
    def test_bad_registrations(self, name: Any, cls: Any, field: str) -> None:
        """Bad names, taken names, non-attrs and non-criterion classes are refused."""
        made = registry()
        with pytest.raises(PolicyError) as info:
            made.register(name, cls)
        assert info.value.field == field
        assert made.names == ("in_territory",)

    def test_classes_that_are_not_a_mapping(self) -> None:
        """A registry built from something else than a mapping says so."""
        with pytest.raises(PolicyError) as info:
            CriteriaRegistry([InTerritory])  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("CriteriaRegistry", "classes")

    def test_fields_a_file_cannot_give(self) -> None:
        """A class with a field of a type files cannot hold is refused."""

        @attrs.frozen
        class Odd(Criterion):
            when: complex

            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- the protocol's signature
                return Verdict(passed=True, criterion="odd", reason="")

        with pytest.raises(PolicyError, match=r"odd\.when"):
            CriteriaRegistry({"odd": Odd})

    def test_unregistered_criteria_are_not_dumped(self) -> None:
        """dump_policy names a criterion class it has no name for."""
        with pytest.raises(PolicyError, match="InTerritory is not"):
            dump_policy(with_guard(InTerritory("x")))
        with pytest.raises(PolicyError, match="InTerritory is not"):
            dump_policy(with_guard(InTerritory("x")), criteria=CriteriaRegistry())
        other = CriteriaRegistry()

        @other.register("other")
        @attrs.frozen
        class Other(Criterion):
            def check(self, ctx: Context) -> Verdict:  # noqa: ARG002 -- the protocol's signature
                return Verdict(passed=True, criterion="other", reason="")

        with pytest.raises(PolicyError, match="InTerritory is not"):
            dump_policy(with_guard(InTerritory("x") & Other()), criteria=other)

    @pytest.mark.parametrize("fmt", ["toml", "json"])
    def test_none_where_the_default_is_not_none(self, fmt: str) -> None:
        """None in a field that defaults to a value is written and read back."""
        made = CriteriaRegistry({"regional": Regional})
        for guard in (
            Regional(region=None, test=None, inner=None),
            Regional(test=equals(None)),
        ):
            policy = with_guard(guard)
            text = dump_policy(policy, fmt, criteria=made)  # type: ignore[arg-type]
            assert load_policy(text, format=fmt, criteria=made) == policy  # type: ignore[arg-type]

    def test_json_null_for_a_field_that_may_be_none(self) -> None:
        """In JSON, null gives None to a field that may be None."""
        document = data()
        document["transitions"][2]["guard"] = {"regional": {"region": None}}
        made = CriteriaRegistry({"regional": Regional})
        policy = load_policy(json.dumps(document), criteria=made)
        assert policy.transitions[2].guard == Regional(region=None)

    def test_fingerprint_without_a_registry(self) -> None:
        """A policy with custom criteria still has a fingerprint."""
        one, two = with_guard(InTerritory("x")), with_guard(InTerritory("y"))
        assert one.fingerprint == with_guard(InTerritory("x")).fingerprint
        assert one.fingerprint != two.fingerprint

    def test_a_plain_class_criterion_has_no_fingerprint(self) -> None:
        """Not an attrs class: fingerprint and diff_policies say so, in their names."""

        class Plain:
            def check(self, _ctx: Context) -> Verdict:
                """Pass."""
                return Verdict(passed=True, criterion="plain", reason="ok")

        policy = with_guard(Plain())
        with pytest.raises(PolicyError) as raised:
            _ = policy.fingerprint
        assert raised.value.owner == "FunnelPolicy.fingerprint"
        expected = raised.value.expected
        assert expected.startswith("a built-in criterion, or an attrs class whose")
        assert expected.endswith(".Plain is neither)")
        with pytest.raises(PolicyError) as raised:
            diff_policies(policy, b2b_saas())
        assert raised.value.owner == "diff_policies"
        with pytest.raises(PolicyError) as raised:
            dump_policy(policy)
        assert raised.value.owner == "dump_policy"

    def test_custom_criterion_fields_of_dates_have_a_fingerprint(self) -> None:
        """A custom criterion's tuple or set of dates gives a stable fingerprint."""

        @attrs.frozen
        class Closed(Criterion):
            days: tuple[date, ...]
            also: frozenset[date] = frozenset()

            def check(self, ctx: Context) -> Verdict:
                closed = ctx.now.date() in self.days
                return Verdict(passed=not closed, criterion="open", reason="r")

        one = with_guard(Closed((date(2026, 12, 25),), frozenset({date(2026, 1, 1)})))
        same = with_guard(Closed((date(2026, 12, 25),), frozenset({date(2026, 1, 1)})))
        other = with_guard(Closed((date(2026, 12, 24),)))
        assert one.fingerprint == same.fingerprint != other.fingerprint
        Funnel(one, store=InMemoryStore())  # checks the store's policy by it
        (change,) = diff_policies(one, other)
        assert '"2026-12-25"' in change.description

    def test_custom_criterion_fields_written_as_before(self) -> None:
        """Lists holding null or objects, sets of numbers: fingerprints as before."""

        @attrs.frozen
        class Tagged(Criterion):
            tags: Any

            def check(self, ctx: Context) -> Verdict:
                return Verdict(passed=True, criterion="tagged", reason=ctx.stage)

        # What the fingerprint hashes: the guard's data, as JSON has always held it.
        for tags, data in (
            (("a", None), ["a", None]),
            (({"a": 1},), [{"a": 1}]),
            (frozenset({2, 10}), [2, 10]),
            (frozenset({10.0, 2.5}), [2.5, 10.0]),
            (frozenset({None, "a"}), ["a", None]),  # mixed: by their JSON text
        ):
            written: Any = policy_data(with_guard(Tagged(tags)), strict=False)
            (guard,) = [
                transition["guard"]
                for transition in written["transitions"]
                if transition["name"] == "marketing qualified"
            ]
            assert list(guard.values()) == [{"tags": data}]
        one, other = with_guard(Tagged(("a", None))), with_guard(Tagged(("b", None)))
        (change,) = diff_policies(one, other)
        assert '["a", null]' in change.description

    def test_a_custom_criterion_field_no_file_holds_is_named(self) -> None:
        """A field value no policy file holds is refused as such, not as a criterion."""

        @attrs.frozen
        class Priced(Criterion):
            price: Decimal

            def check(self, ctx: Context) -> Verdict:
                return Verdict(passed=True, criterion="priced", reason=ctx.stage)

        with pytest.raises(PolicyError) as raised:
            _ = with_guard(Priced(Decimal("9.99"))).fingerprint
        assert raised.value.value == Decimal("9.99")
        assert raised.value.expected.startswith("a field value a policy file can hold")

    def test_a_part_of_your_own_is_refused_in_the_caller_s_name(self) -> None:
        """A decay of the user's: each writer names itself; to_json says what to use."""

        class Cliff(Decay):
            def weight(self, age_seconds: float) -> float:
                return float(age_seconds < 86_400)

            def describe(self) -> str:
                return "gone after a day"

        policy = attrs.evolve(
            b2b_saas(), scoring=attrs.evolve(b2b_saas().scoring, decay=Cliff())
        )
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: policy.fingerprint, "FunnelPolicy.fingerprint"),
            (lambda: diff_policies(policy, b2b_saas()), "diff_policies"),
            (lambda: dump_policy(policy), "dump_policy"),
            (lambda: to_json(policy), "funnelkit.serialization"),
        ]
        for call, owner in calls:
            with pytest.raises(PolicyError) as raised:
                call()
            assert (raised.value.owner, raised.value.field) == (owner, "decay")
        with pytest.raises(PolicyError) as raised:
            to_json(with_guard(InTerritory("x")))
        assert raised.value.owner == "funnelkit.serialization"
        assert "dump_policy(policy, criteria=registry)" in raised.value.expected


class TestFingerprint:
    def test_equal_policies_equal_fingerprints(self) -> None:
        """Equal policies share a fingerprint; a change changes it."""
        assert b2b_saas().fingerprint == b2b_saas().fingerprint
        assert b2b_saas().fingerprint != b2b_saas(timezone="Asia/Tokyo").fingerprint
        assert len(b2b_saas().fingerprint) == 64

    def test_stable_across_processes(self, printed: Callable[..., set[str]]) -> None:
        """The fingerprint does not depend on the hash seed."""
        code = "from funnelkit.policies import b2b_saas; print(b2b_saas().fingerprint)"
        assert printed(code, seeds=("1", "2")) == {b2b_saas().fingerprint + "\n"}

    def test_sets_repr_sorted(self) -> None:
        """Kinds given as a set repr sorted; anything else keeps its repr."""
        kinds = {"webinar", "demo_request", "quote_request"}
        sorted_kinds = "frozenset({'demo_request', 'quote_request', 'webinar'})"
        assert f"kinds={sorted_kinds}" in repr(DidActivity(kinds))
        assert f"kind={sorted_kinds}" in repr(ActivityRule(kinds, 5))
        rule = SlaRule("r", "lead", timedelta(hours=1), kinds)
        assert f"met_by={sorted_kinds}" in repr(rule)
        assert "met_by='exit'" in repr(SlaRule("r", "lead", timedelta(hours=1), EXIT))

    def test_sets_stable_across_processes(
        self, printed: Callable[..., set[str]]
    ) -> None:
        """Reasons and kinds given as sets fingerprint and repr alike in any process."""
        code = (
            "from datetime import timedelta\n"
            "from funnelkit import *\n"
            "codes = {'spam', 'bad_data', 'duplicate', 'competitor', 'no_budget'}\n"
            "kinds = {'demo_request', 'quote_request', 'webinar', 'email_open'}\n"
            "policy = FunnelPolicy(name='p', version=1, initial='lead',\n"
            "    scoring=ScoringModel('m', [ActivityRule(kinds, 5)]),\n"
            "    stages=[Stage('lead'), Stage('lost', 'lost')],\n"
            "    transitions=[Transition(source='lead', target='lost', reasons=codes,\n"
            "        guard=DidActivity(kinds))],\n"
            "    slas=[SlaRule('r', 'lead', timedelta(hours=1), kinds)])\n"
            "print(policy.fingerprint, policy.transitions[0].reasons)\n"
            "print(repr(policy))\n"
        )
        seen = printed(code, seeds=("1", "2", "3", "4"))
        assert len(seen) == 1
        assert (
            "('bad_data', 'competitor', 'duplicate', 'no_budget', 'spam')" in seen.pop()
        )


def respelled_number(value: float, flip: Callable[[], bool]) -> float:
    """*value*, perhaps in the other spelling: 40 as 40.0, 40.0 as 40, 0.0 as -0.0."""
    if isinstance(value, int):
        return float(value) if float(value) == value and flip() else value
    if value == 0 and flip():
        return -value
    return int(value) if value.is_integer() and flip() else value


def respelled(value: Any, flip: Callable[[], bool]) -> Any:
    """*value* with some of its numbers spelt otherwise, wherever the part takes it.

    Numbers change as :func:`respelled_number` says, and mappings change
    order; value tests, which tell ``1`` from ``1.0`` by type, and True and
    False are kept as they are.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return respelled_number(value, flip)
    if isinstance(value, tuple | frozenset):
        return type(value)(respelled(item, flip) for item in value)
    if isinstance(value, dict):
        items = [(key, respelled(item, flip)) for key, item in value.items()]
        return dict(reversed(items) if flip() else items)
    if isinstance(value, AllOf | AnyOf | AtLeast):  # built from *criteria
        head = (value.n,) if isinstance(value, AtLeast) else ()
        return type(value)(*head, *(respelled(part, flip) for part in value.criteria))
    if isinstance(value, ValueTest) or not attrs.has(type(value)):
        return value
    made = value
    for field in attrs.fields(type(value)):
        if field.init:
            # One field at a time: a part that takes only ints keeps its own.
            with contextlib.suppress(PolicyError, ValidationError):
                item = respelled(getattr(value, field.name), flip)
                made = attrs.evolve(made, **{field.alias: item})
    return made


class TestFingerprintByValue:
    def test_a_number_counts_by_its_value(self) -> None:
        """A threshold of 40.0 fingerprints as 40 does, not as 40.5; files keep 40.0."""
        whole, floated = with_guard(ScoreAtLeast(40)), with_guard(ScoreAtLeast(40.0))
        assert whole == floated
        assert whole.fingerprint == floated.fingerprint
        assert whole.fingerprint != with_guard(ScoreAtLeast(40.5)).fingerprint
        assert "score_at_least = 40.0" in dump_policy(floated)
        assert load_policy(dump_policy(floated)).transitions == floated.transitions

    def test_minus_zero_is_zero(self) -> None:
        """A limit of -0.0 fingerprints as 0 does."""
        model = b2b_saas().scoring
        signed = attrs.evolve(model, limits={"fit": (-0.0, 100.0)})
        plain = attrs.evolve(model, limits={"fit": (0, 100)})
        one = attrs.evolve(b2b_saas(), scoring=signed)
        other = attrs.evolve(b2b_saas(), scoring=plain)
        assert one == other
        assert one.fingerprint == other.fingerprint

    @settings(max_examples=60, deadline=None)
    @given(policy=policies(), data=st.data())
    def test_equal_policies_equal_fingerprints(
        self, policy: FunnelPolicy, data: st.DataObject
    ) -> None:
        """Numbers spelt as int or float (and maps in any order): one fingerprint."""
        other = respelled(policy, lambda: data.draw(st.booleans()))
        assert other == policy
        assert other.fingerprint == policy.fingerprint

    @settings(max_examples=60, deadline=None)
    @given(
        number=st.integers(min_value=-(10**6), max_value=10**6),
        spot=st.sampled_from(["threshold", "points", "cap", "grade", "limit"]),
    )
    def test_other_values_other_fingerprints(self, number: int, spot: str) -> None:
        """The same value in either spelling shares a fingerprint; n + 0.5 does not."""

        def policy(value: float) -> FunnelPolicy:
            base = b2b_saas()
            model = base.scoring
            if spot == "threshold":
                return with_guard(ScoreAtLeast(value, "fit"))
            if spot in {"points", "cap"}:
                rule = ActivityRule("poll", 5, name="poll")
                if spot == "points":
                    rule = attrs.evolve(rule, points=value)
                else:
                    rule = attrs.evolve(rule, max_points=value)
                model = attrs.evolve(model, rules=[*model.rules, rule])
            elif spot == "grade":
                fit = (("A", value + 20), ("B", value), ("D", None))
                model = attrs.evolve(model, grades=Grades(fit=fit))
            else:
                model = attrs.evolve(model, limits={"fit": (value, None)})
            return attrs.evolve(base, scoring=model)

        if spot == "cap" and number <= 0:
            number = -number + 1  # a cap is positive
        whole, floated, other = (
            policy(number),
            policy(float(number)),
            policy(number + 0.5),
        )
        assert whole == floated
        assert whole.fingerprint == floated.fingerprint != other.fingerprint

    def test_true_is_not_one(self) -> None:
        """True and 1 keep their own fingerprints: a criterion may tell them apart."""
        assert with_guard(AttributeIs("x", equals(True))).fingerprint != (
            with_guard(AttributeIs("x", equals(1))).fingerprint
        )
        flagged = with_guard(InTerritory("x", strict=True))
        assert flagged == with_guard(InTerritory("x", strict=1))  # type: ignore[arg-type]
        assert flagged.fingerprint != (
            with_guard(InTerritory("x", strict=1)).fingerprint  # type: ignore[arg-type]
        )

    def test_a_value_test_counts_by_value(self) -> None:
        """equals(1.0) passes what equals(1) passes: one fingerprint, though unequal."""
        one = with_guard(AttributeIs("x", equals(1) | between(2, 3)))
        other = with_guard(AttributeIs("x", equals(1.0) | between(2.0, 3)))
        assert one != other
        assert one.fingerprint == other.fingerprint

    def test_a_set_of_your_own_in_one_order(self) -> None:
        """A custom criterion's set of mixed members: one order for equal sets."""
        whole = frozenset({(1, "a"), (1, "b"), "x"})
        floated = frozenset({(1.0, "a"), (1, "b"), "x"})
        assert whole == floated
        one = with_guard(InTerritory("x", tags=whole))  # type: ignore[arg-type]
        other = with_guard(InTerritory("x", tags=floated))  # type: ignore[arg-type]
        assert one.fingerprint == other.fingerprint


class TestDiff:
    def test_no_change(self) -> None:
        """Equal policies have no differences."""
        assert diff_policies(b2b_saas(), b2b_saas()) == ()

    @pytest.mark.parametrize(("before", "after"), [("true", "1"), ("1", "1.0")])
    def test_a_value_of_another_type_is_a_change(self, before: str, after: str) -> None:
        """A rule testing 1 where it tested true (or 1.0 where 1) is a change, named."""
        text = dump_policy(b2b_saas()).replace(
            'attribute = "bant.budget"\ntest = true',
            f'attribute = "bant.budget"\ntest = {before}',
        )
        old = load_policy(text)
        new = load_policy(
            text.replace(
                f'attribute = "bant.budget"\ntest = {before}',
                f'attribute = "bant.budget"\ntest = {after}',
            )
        )
        assert old != new
        assert [str(change) for change in diff_policies(old, new)] == [
            f"scoring rule 'budget confirmed': test {before} -> {after}"
        ]

    def test_a_change_alike_in_words_says_how_each_is_written(self) -> None:
        """A guard at 40 where it was at 40.0 reads alike: the written forms follow."""
        old, new = with_guard(ScoreAtLeast(40.0)), with_guard(ScoreAtLeast(40))
        words = "'total score at least 40'"
        written = 'written {"score_at_least": 40.0} -> {"score_at_least": 40}'
        assert [str(change) for change in diff_policies(old, new)] == [
            f"transition 'marketing qualified': guard {words} -> {words} ({written})"
        ]

    def test_changes_in_words(self) -> None:
        """Thresholds, points, durations and parts added or removed, in words."""
        old = b2b_saas()
        rules = list(old.scoring.rules)
        rules[0] = attrs.evolve(rules[0], points=25)
        slas = [attrs.evolve(old.slas[0], within="4 business hours"), old.slas[2]]
        new = attrs.evolve(
            with_guard(ScoreAtLeast(30, "engagement")),
            scoring=attrs.evolve(old.scoring, rules=rules, decay=None),
            slas=slas,
            stages=[*old.stages, Stage("parked", "nurture")],
            transitions=[
                *with_guard(ScoreAtLeast(30, "engagement")).transitions,
                Transition(source="nurture", target="parked"),
            ],
            calendar=BusinessCalendar.weekdays("08:00", "16:00", timezone="UTC"),
        )
        described = [str(change) for change in diff_policies(old, new)]
        assert described == [
            "calendar: hours "
            + json.dumps(
                {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
                separators=(", ", ": "),
            )
            + " -> "
            + json.dumps(
                {day: ["08:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
                separators=(", ", ": "),
            ),
            "stage 'parked' added",
            (
                "transition 'marketing qualified': guard 'all of: engagement score "
                "at least 40; fit score at least 30' -> 'engagement score at least 30'"
            ),
            "transition 'nurture -> parked' added",
            'scoring model: decay removed (was {"half_life": "30 days"})',
            "scoring rule 'target industry': points 20 -> 25",
            "SLA 'mql_accepted': within '8 business hours' -> '4 business hours'",
            "SLA 'first_touch' removed",
        ]

    def test_reordering_and_new_keys(self) -> None:
        """A reordering is a change; so is a key set or removed."""
        old = b2b_saas()
        reordered = attrs.evolve(old, transitions=old.transitions[::-1])
        changes = diff_policies(old, reordered)
        assert [c.path for c in changes] == ["transitions"]
        assert str(changes[0]).startswith("transitions reordered: re-open, ")
        warned = attrs.evolve(old, slas=[attrs.evolve(old.slas[1], warn_at=0.5)])
        words = [str(c) for c in diff_policies(old, warned)]
        assert "SLA 'first_touch': warn_at set to 0.5" in words
        assert "SLA 'mql_accepted' removed" in words

    def test_custom_criteria_shown_as_data(self) -> None:
        """A custom criterion the diff cannot read shows as its data."""
        old, new = with_guard(InTerritory("x")), with_guard(InTerritory("y"))
        (change,) = diff_policies(old, new)
        assert "'region': 'x'" not in change.description
        assert '"region": "y"' in change.description


class TestToml:
    def test_the_file_reads_as_people_write_it(self) -> None:
        """The TOML is sections and short inline guards, parsed by tomllib."""
        text = dump_policy(b2b_saas())
        assert text.startswith('name = "b2b-saas"\nversion = 1\ninitial = "lead"\n')
        assert "[[stages]]" in text
        assert "[[scoring.rules]]" in text
        assert tomllib.loads(text) == json.loads(dump_policy(b2b_saas(), "json"))
