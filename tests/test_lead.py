import enum
import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import Activity, Bant, Lead, NaiveDatetimeError, ValidationError, kinds
from funnelkit._lead import (
    activity_id,
    add_in_time_order,
    time_order,
    with_in_time_order,
)
from funnelkit._validators import Scalar
from funnelkit.testing.strategies import activities, leads, scalars

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
NAIVE = datetime(2026, 3, 2, 9)  # noqa: DTZ001 -- the bad input under test


class TestBant:
    def test_defaults_unknown(self) -> None:
        """A new Bant knows nothing."""
        assert Bant() == Bant(budget=None, authority=None, need=None, timeline=None)
        assert Bant().confirmed == 0

    def test_confirmed_counts_true_only(self) -> None:
        """Only confirmed answers count; denied and unknown do not."""
        assert Bant(budget=True, authority=False, need=True).confirmed == 2

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"budget": 1}, "budget"),
            ({"authority": "yes"}, "authority"),
            ({"need": 0}, "need"),
            ({"timeline": AT}, "timeline"),
            ({"timeline": "2026-06-01"}, "timeline"),
        ],
    )
    def test_bad_values_rejected(self, kwargs: dict[str, object], field: str) -> None:
        """Non-bool answers and non-date timelines name the field and value."""
        with pytest.raises(ValidationError, match=rf"Bant\.{field}: expected") as info:
            Bant(**kwargs)  # type: ignore[arg-type]
        assert info.value.value == kwargs[field]

    def test_timeline_is_a_date(self) -> None:
        """A date timeline is kept."""
        assert Bant(timeline=date(2026, 6, 1)).timeline == date(2026, 6, 1)


class TestLead:
    def test_minimal(self) -> None:
        """A lead needs an id and a creation time; the rest defaults."""
        lead = Lead("L-1", AT)
        assert (lead.email, lead.attributes, lead.bant, lead.source, lead.owner) == (
            None,
            {},
            Bant(),
            None,
            None,
        )

    def test_leads_without_answers_share_them(self) -> None:
        """Leads made without BANT answers share one read-only value."""
        assert Lead("L-1", AT).bant is Lead("L-2", AT).bant
        assert Lead("L-3", AT, bant=Bant(need=True)).bant.need is True

    def test_attributes_are_frozen_and_sorted(self) -> None:
        """Attributes are read-only, hashable and in key order."""
        lead = Lead("L-1", AT, attributes={"b": 2, "a": 1})
        assert list(lead.attributes) == ["a", "b"]
        with pytest.raises(TypeError):
            lead.attributes["c"] = 3  # type: ignore[index]
        assert hash(lead) == hash(Lead("L-1", AT, attributes={"a": 1, "b": 2}))

    def test_frozen(self) -> None:
        """Leads cannot be changed in place; evolve makes a new one."""
        lead = Lead("L-1", AT)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            lead.id = "L-2"  # type: ignore[misc]
        assert attrs.evolve(lead, owner="ana").owner == "ana"

    def test_repr_hides_the_person_in_the_email(self) -> None:
        """The repr shows the email's domain only."""
        lead = Lead("L-1", AT, email="ana.silva@example.com")
        assert "ana.silva" not in repr(lead)
        assert "email='***@example.com'" in repr(lead)
        assert "email=None" in repr(Lead("L-1", AT))

    def test_type_repr_names_public_module(self) -> None:
        """The class presents itself as funnelkit.Lead."""
        assert repr(Lead) == "<class 'funnelkit.Lead'>"

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"id": ""}, "id"),
            ({"id": "   "}, "id"),
            ({"id": 42}, "id"),
            ({"created_at": NAIVE}, "created_at"),
            ({"created_at": date(2026, 3, 2)}, "created_at"),
            ({"email": "not-an-email"}, "email"),
            ({"email": "a@b@c"}, "email"),
            ({"email": "ana @example.com"}, "email"),
            ({"email": 7}, "email"),
            ({"attributes": {"employees": float("nan")}}, "attributes['employees']"),
            ({"attributes": {"employees": float("inf")}}, "attributes['employees']"),
            ({"attributes": {"employees": 10**4300}}, "attributes['employees']"),
            ({"attributes": {"tags": ["a", "b"]}}, "attributes['tags']"),
            ({"attributes": {"since": AT}}, "attributes['since']"),
            ({"attributes": {"": 1}}, "attributes"),
            ({"attributes": {1: "x"}}, "attributes"),
            ({"attributes": [("a", 1)]}, "attributes"),
            ({"bant": {"budget": True}}, "bant"),
            ({"source": ""}, "source"),
            ({"owner": ""}, "owner"),
        ],
    )
    def test_bad_input_names_field(self, kwargs: dict[str, object], field: str) -> None:
        """Every bad field raises a ValidationError naming the field and the value."""
        arguments: dict[str, object] = {"id": "L-1", "created_at": AT} | kwargs
        with pytest.raises(ValidationError) as info:
            Lead(**arguments)  # type: ignore[arg-type]
        assert info.value.owner == "Lead"
        assert info.value.field == field
        assert str(info.value).startswith(f"Lead.{field}: expected ")

    def test_naive_created_at_is_naive_datetime_error(self) -> None:
        """A naive creation time raises NaiveDatetimeError specifically."""
        with pytest.raises(NaiveDatetimeError):
            Lead("L-1", NAIVE)

    @given(leads())
    def test_generated_leads_are_valid_and_hashable(self, lead: Lead) -> None:
        """Every generated lead is a valid, hashable value equal to its copy."""
        assert lead == attrs.evolve(lead)
        assert hash(lead) == hash(attrs.evolve(lead))

    @pytest.mark.parametrize(("one", "other"), [(True, 1), (1, 1.0), (0, False)])
    def test_values_of_other_types_make_other_leads(
        self, one: Scalar, other: Scalar
    ) -> None:
        """1, 1.0 and True are one to Python; to a rule and to JSON, three."""
        lead = Lead("L-1", AT, attributes={"flag": one})
        changed = Lead("L-1", AT, attributes={"flag": other})
        assert lead != changed
        assert lead == Lead("L-1", AT, attributes={"flag": one})
        assert hash(lead) == hash(Lead("L-1", AT, attributes={"flag": one}))
        assert len({lead, changed}) == 2
        made = Activity("L-1", "k", AT, id="A", properties={"n": one})
        assert made != Activity("L-1", "k", AT, id="A", properties={"n": other})

    def test_a_subclass_of_a_json_type_is_that_type(self) -> None:
        """A StrEnum member, or a float subclass, writes as its base: equal to it."""

        class Plan(enum.StrEnum):
            PRO = "pro"

        class Ratio(float):
            pass

        plain = Lead("L-1", AT, attributes={"plan": "pro", "ratio": 1.5})
        subclassed = Lead("L-1", AT, attributes={"plan": Plan.PRO, "ratio": Ratio(1.5)})
        assert subclassed == plain
        assert hash(subclassed) == hash(plain)

    def test_a_time_is_the_instant_it_names(self) -> None:
        """The two 01:30 of the night the clocks go back differ; one instant is one."""
        london = ZoneInfo("Europe/London")
        first = datetime(2026, 10, 25, 1, 30, tzinfo=london)
        second = first.replace(fold=1)
        assert Lead("L-1", first) != Lead("L-1", second)
        assert len({Lead("L-1", first), Lead("L-1", second)}) == 2
        assert Activity("L", "k", first, id="A") != Activity("L", "k", second, id="A")
        berlin = first.astimezone(ZoneInfo("Europe/Berlin"))
        assert Lead("L-1", first) == Lead("L-1", berlin)
        assert hash(Lead("L-1", first)) == hash(Lead("L-1", berlin))


class TestActivity:
    def test_explicit_id_kept(self) -> None:
        """An explicit id is used as given."""
        assert Activity("L-1", kinds.PAGE_VIEW, AT, id="A-1").id == "A-1"

    def test_derived_id_is_stable(self) -> None:
        """The derived id of a known activity never changes across releases."""
        activity = Activity(
            "L-1",
            kinds.CONTENT_DOWNLOAD,
            AT,
            properties={"asset": "whitepaper"},
            source="web",
        )
        # The canonical content, written out by hand: scheme, lead, kind,
        # microseconds since 1970 UTC, properties, source.
        content = (
            b'["funnelkit.activity/1","L-1","content_download",'
            b'1772442000000000,{"asset":"whitepaper"},"web"]'
        )
        assert activity.id == hashlib.sha256(content).hexdigest()[:32]
        assert activity.id == "a4cdd8449c356ab5de77d9b941d5986e"

    def test_derived_id_ignores_time_zone_of_same_instant(self) -> None:
        """The same instant written in another zone is the same content."""
        berlin = AT.astimezone(ZoneInfo("Europe/Berlin"))
        assert Activity("L-1", "x", AT).id == Activity("L-1", "x", berlin).id

    def test_evolve_keeps_derived_id_unless_reset(self) -> None:
        """evolve keeps the id; id=None derives a fresh one."""
        activity = Activity("L-1", kinds.PAGE_VIEW, AT)
        later = attrs.evolve(activity, at=AT + timedelta(hours=1))
        assert later.id == activity.id
        fresh = attrs.evolve(activity, at=AT + timedelta(hours=1), id=None)
        assert fresh.id == activity_id(fresh) != activity.id

    def test_empty_properties_shared(self) -> None:
        """Activities without properties, or with an empty dict, share one map."""
        bare = Activity("L-1", "x", AT)
        assert Activity("L-1", "y", AT, properties={}).properties is bare.properties

    def test_properties_frozen(self) -> None:
        """Properties are read-only and sorted."""
        activity = Activity("L-1", "x", AT, properties={"z": 1, "a": None})
        assert list(activity.properties) == ["a", "z"]
        with pytest.raises(TypeError):
            activity.properties["b"] = 2  # type: ignore[index]

    @pytest.mark.parametrize(
        ("args", "kwargs", "field"),
        [
            (("", "x", AT), {}, "lead_id"),
            ((None, "x", AT), {}, "lead_id"),
            (("L-1", "", AT), {}, "kind"),
            (("L-1", 3, AT), {}, "kind"),
            (("L-1", "x", NAIVE), {}, "at"),
            (("L-1", "x", "2026-03-02"), {}, "at"),
            (("L-1", "x", AT), {"id": ""}, "id"),
            (("L-1", "x", AT), {"id": 5}, "id"),
            (("L-1", "x", AT), {"properties": {"n": float("nan")}}, "properties['n']"),
            (("L-1", "x", AT), {"properties": {"n": -(10**4300)}}, "properties['n']"),
            (("L-1", "x", AT), {"properties": {"n": {"nested": 1}}}, "properties['n']"),
            (("L-1", "x", AT), {"properties": {"n": b"bytes"}}, "properties['n']"),
            (("L-1", "x", AT), {"properties": "plan=pro"}, "properties"),
            (("L-1", "x", AT), {"source": " "}, "source"),
        ],
    )
    def test_bad_input_names_field(
        self, args: tuple[object, ...], kwargs: dict[str, object], field: str
    ) -> None:
        """Every bad field raises a ValidationError naming the field and the value."""
        with pytest.raises(ValidationError) as info:
            Activity(*args, **kwargs)  # type: ignore[arg-type]
        assert (info.value.owner, info.value.field) == ("Activity", field)
        assert f"Activity.{field}: expected " in str(info.value)

    @given(activities(with_ids=False))
    def test_same_content_same_id(self, activity: Activity) -> None:
        """Rebuilding an activity from its content gives the same id."""
        copy = Activity(
            activity.lead_id,
            activity.kind,
            activity.at,
            properties=dict(reversed(list(activity.properties.items()))),
            source=activity.source,
        )
        assert copy.id == activity.id

    @given(activities(with_ids=False), st.data())
    def test_any_content_change_changes_id(
        self, activity: Activity, data: st.DataObject
    ) -> None:
        """Changing any field of the content gives a different id."""
        field = data.draw(
            st.sampled_from(["lead_id", "kind", "at", "properties", "source"])
        )
        changes: dict[str, Any] = {
            "lead_id": activity.lead_id + "x",
            "kind": activity.kind + "x",
            "at": activity.at + timedelta(microseconds=1),
            "properties": {**activity.properties, "zz-extra": data.draw(scalars())},
            "source": None if activity.source else "crm",
        }
        changed = attrs.evolve(activity, id=None, **{field: changes[field]})
        assert changed.id != activity.id


class TestTimeOrder:
    def test_the_repeated_hour_in_instant_order(self) -> None:
        """01:50 BST comes before 01:10 GMT, the night London's clocks go back."""
        london = ZoneInfo("Europe/London")
        first = Activity("L", "k", datetime(2026, 10, 25, 1, 50, tzinfo=london))
        second = Activity(
            "L", "k", datetime(2026, 10, 25, 1, 10, fold=1, tzinfo=london)
        )
        assert sorted([second, first], key=time_order) == [first, second]

    @given(activities(), activities())
    def test_agrees_with_utc(self, a: Activity, b: Activity) -> None:
        """The order is that of the instants in UTC, then of the ids."""
        utc = [(x.at.astimezone(UTC), x.id) for x in (a, b)]
        assert (time_order(a) < time_order(b)) is (utc[0] < utc[1])

    @given(st.lists(activities(lead_ids=st.just("L")), max_size=12))
    def test_adding_one_by_one_keeps_time_order(self, items: list[Activity]) -> None:
        """Activities added in any order, to a list or a tuple, end up sorted."""
        held: list[Activity] = []
        kept: tuple[Activity, ...] = ()
        for activity in items:
            add_in_time_order(held, activity)
            kept = with_in_time_order(kept, activity)
        expected = sorted(items, key=time_order)
        assert [time_order(a) for a in held] == [time_order(a) for a in expected]
        assert list(kept) == held


class TestKinds:
    def test_vocabulary_is_complete(self) -> None:
        """STANDARD holds every constant, and the groups are subsets of it."""
        constants = {
            value
            for name, value in vars(kinds).items()
            if name.isupper() and isinstance(value, str)
        }
        assert constants == kinds.STANDARD
        assert len(kinds.STANDARD) == 19
        assert kinds.HAND_RAISERS <= kinds.STANDARD
        assert kinds.NEGATIVE <= kinds.STANDARD

    def test_values_are_snake_case(self) -> None:
        """Kinds are lowercase snake_case strings."""
        assert all(
            kind.replace("_", "").isalpha() and kind.islower()
            for kind in kinds.STANDARD
        )
