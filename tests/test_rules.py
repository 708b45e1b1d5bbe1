from datetime import UTC, date, datetime, timedelta

import pytest

from funnelkit import (
    MISSING,
    ActivityRule,
    AttributeRule,
    Bant,
    HalfLife,
    Lead,
    PolicyError,
    ValidationError,
    between,
    email_domain,
    equals,
    one_of,
)
from funnelkit._rules import lead_value

DAY = timedelta(days=1)
LEAD = Lead(
    "L-1",
    datetime(2026, 3, 2, tzinfo=UTC),
    email="Ana@ACME.example",
    attributes={
        "industry": "software",
        "source": "attr-source",
        "employees": 250,
        "company.size": "smb",
    },
    bant=Bant(authority=True, timeline=date(2026, 6, 30)),
    source="paid_search",
    owner="sdr-1",
)


class TestActivityRule:
    def test_defaults(self) -> None:
        """A rule counts engagement, inherits decay, and has no caps."""
        rule = ActivityRule("page_view", 1)
        assert rule.kind == frozenset({"page_view"})
        assert (rule.dimension, rule.decay, rule.max_count, rule.where) == (
            "engagement",
            ...,
            None,
            None,
        )
        assert rule.label == "page_view"

    def test_kinds_and_where(self) -> None:
        """Several kinds and property filters show in the label and description."""
        rule = ActivityRule(
            ["quote_request", "demo_request"],
            30,
            where={"product": ["pro", "enterprise"], "region": "emea"},
            max_count=1,
            per=timedelta(weeks=1),
            within=timedelta(days=90),
            max_points=60,
        )
        assert rule.label == (
            "demo_request or quote_request where product is one of 'pro', "
            "'enterprise', region equals 'emea'"
        )
        assert rule.describe() == (
            "+30 per demo_request or quote_request, where product is one of 'pro', "
            "'enterprise', region equals 'emea', at most 1 per 1 week, "
            "within 90 days, capped at 60"
        )
        assert rule.accepts({"product": "pro", "region": "emea"})
        assert not rule.accepts({"product": "pro"})
        assert ActivityRule("x", 1).accepts({})

    def test_lifetime_cap_describes_without_window(self) -> None:
        """A cap without a window reads as a plain count."""
        assert ActivityRule("x", 1, max_count=2).describe() == "+1 per x, at most 2"
        assert ActivityRule("x", -1).describe() == "-1 per x"

    def test_name_wins(self) -> None:
        """An explicit name is the label."""
        assert ActivityRule("x", 1, name="X").label == "X"

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"kind": ""}, "kind"),
            ({"kind": []}, "kind"),
            ({"kind": 5}, "kind"),
            ({"points": float("nan")}, "points"),
            ({"points": 2e9}, "points"),
            ({"points": "10"}, "points"),
            ({"points": True}, "points"),
            ({"points": 10**400}, "points"),  # beyond a float
            ({"where": "asset=ebook"}, "where"),
            ({"where": {" ": 1}}, "where"),
            ({"max_points": 0}, "max_points"),
            ({"max_points": -5}, "max_points"),
            ({"max_points": 1e10}, "max_points"),
            ({"max_points": 10**400}, "max_points"),
            ({"max_count": 0}, "max_count"),
            ({"max_count": -1}, "max_count"),
            ({"max_count": 1.5}, "max_count"),
            ({"per": DAY}, "per"),
            ({"max_count": 2, "per": timedelta(0)}, "per"),
            ({"within": -DAY}, "within"),
            ({"within": 30}, "within"),
            ({"decay": "30 days"}, "decay"),
            ({"dimension": ""}, "dimension"),
            ({"dimension": "total"}, "dimension"),
            ({"name": ""}, "name"),
        ],
    )
    def test_bad_options_name_rule_and_field(
        self, kwargs: dict[str, object], field: str
    ) -> None:
        """Each bad option raises a PolicyError naming the rule and the field."""
        arguments: dict[str, object] = {
            "kind": "page_view",
            "points": 1,
            "name": "views",
        }
        arguments |= kwargs
        with pytest.raises(PolicyError) as info:
            ActivityRule(**arguments)  # type: ignore[arg-type]
        assert info.value.field == field
        owner = "ActivityRule" if field == "name" else "ActivityRule 'views'"
        assert info.value.owner == owner
        assert str(info.value).startswith(f"{owner}, {field}: expected ")

    def test_bad_where_test_value(self) -> None:
        """A where value that is neither test nor scalar names the property."""
        with pytest.raises(PolicyError, match=r"where\['plan'\]"):
            ActivityRule("x", 1, where={"plan": {"a": 1}})


class TestAttributeRule:
    def test_label_and_evaluate(self) -> None:
        """The derived label reads as a sentence; evaluation says why."""
        rule = AttributeRule("employees", between(50, 1000), 15)
        assert rule.label == "employees between 50 and 1000"
        assert rule.evaluate(LEAD) == (True, "employees is 250, between 50 and 1000")
        assert rule.dimension == "fit"

    @pytest.mark.parametrize("lead", ["L-1", None, {"industry": "software"}])
    def test_evaluate_what_is_no_lead(self, lead: object) -> None:
        """evaluate of anything but a Lead is a ValidationError naming lead."""
        rule = AttributeRule("industry", "software", 5, name="icp")
        with pytest.raises(ValidationError) as info:
            rule.evaluate(lead)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("AttributeRule 'icp'", "lead")

    def test_a_name_whose_repr_fails_is_described(self) -> None:
        """A bad name with a failing repr still gives the PolicyError, described."""

        class Broken:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        with pytest.raises(PolicyError) as info:
            AttributeRule("industry", "software", 5, name=Broken())  # type: ignore[arg-type]
        assert info.value.owner == "AttributeRule a Broken whose repr failed"

    def test_value_shorthands(self) -> None:
        """A plain value or a list stands for equals or one_of."""
        assert AttributeRule("industry", "software", 5).test == equals("software")
        assert AttributeRule("industry", ["a", "b"], 5).test == one_of("a", "b")

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"attribute": ""}, "attribute"),
            ({"attribute": "bant.mood"}, "attribute"),
            ({"attribute": "email.local"}, "attribute"),
            ({"test": {"a": 1}}, "test"),
            ({"test": object()}, "test"),
            ({"points": float("inf")}, "points"),
            ({"points": -(10**400)}, "points"),  # beyond a float
            ({"dimension": 3}, "dimension"),
        ],
    )
    def test_bad_fields(self, kwargs: dict[str, object], field: str) -> None:
        """Each bad field raises a PolicyError naming the rule and the field."""
        arguments: dict[str, object] = {
            "attribute": "industry",
            "test": "software",
            "points": 10,
            "name": "icp",
        }
        with pytest.raises(PolicyError) as info:
            AttributeRule(**(arguments | kwargs))  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("AttributeRule 'icp'", field)


class TestLeadValue:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("industry", "software"),
            ("employees", 250),
            ("source", "paid_search"),
            ("attributes.source", "attr-source"),
            ("owner", "sdr-1"),
            ("id", "L-1"),
            ("email", "Ana@ACME.example"),
            ("email.domain", "acme.example"),
            ("bant.authority", True),
            ("bant.budget", None),
            ("bant.timeline", "2026-06-30"),
            ("country", MISSING),
            ("company.size", "smb"),
            ("attributes.country", MISSING),
        ],
    )
    def test_paths(self, path: str, expected: object) -> None:
        """Lead fields, BANT answers, email domain and attributes are reachable."""
        assert lead_value(LEAD, path) == expected

    def test_email_domain(self) -> None:
        """The domain is lowercased; no email gives None."""
        assert email_domain("a@B.example") == "b.example"
        assert email_domain(None) is None
        assert email_domain("no-at-sign") is None

        class Address(str):
            """A host's own kind of string."""

            __slots__ = ()

        assert email_domain(Address("a@B.example")) == "b.example"
        assert lead_value(Lead("L-2", LEAD.created_at), "email.domain") is None

    @pytest.mark.parametrize("email", [3, b"a@b.example", ["a@b.example"]])
    def test_email_domain_of_what_is_no_email(self, email: object) -> None:
        """email_domain of what is no str or None: a ValidationError naming email."""
        with pytest.raises(ValidationError) as info:
            email_domain(email)  # type: ignore[arg-type]
        assert (info.value.field, info.value.value) == ("email", email)

    def test_bant_timeline_absent(self) -> None:
        """An unknown timeline is None."""
        assert lead_value(Lead("L-2", LEAD.created_at), "bant.timeline") is None


class TestDecayOption:
    def test_rule_decay_kinds(self) -> None:
        """A rule can inherit (...), disable (None) or set its own decay."""
        assert ActivityRule("x", 1).decay is Ellipsis
        assert ActivityRule("x", 1, decay=None).decay is None
        half = HalfLife(timedelta(days=7))
        assert ActivityRule("x", 1, decay=half).decay is half
