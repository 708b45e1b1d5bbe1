import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit import (
    MISSING,
    PolicyError,
    ValueTest,
    absent,
    between,
    equals,
    matches,
    one_of,
    present,
)
from funnelkit._predicates import as_test
from funnelkit._validators import Scalar
from funnelkit.testing.strategies import scalars, value_tests

values = st.one_of(scalars(), st.just(MISSING))
tests = value_tests()


class TestEquals:
    @pytest.mark.parametrize(
        ("test", "value", "expected"),
        [
            (equals("software"), "software", (True, "is 'software'")),
            (equals("software"), "Software", (False, "is 'Software', not 'software'")),
            (equals(1), 1.0, (True, "is 1.0")),
            (equals(True), 1, (False, "is 1, not True")),
            (equals(1), True, (False, "is True, not 1")),
            (equals(None), None, (True, "is None")),
            (equals("x"), MISSING, (False, "is missing")),
        ],
    )
    def test_cases(
        self, test: ValueTest, value: object, expected: tuple[bool, str]
    ) -> None:
        """Equality is type-aware for booleans and says what it saw."""
        assert expected == test.evaluate(value)  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", [[1], float("nan"), object()])
    def test_rejects_non_scalars(self, value: object) -> None:
        """Only JSON scalars can be compared."""
        with pytest.raises(PolicyError, match="equals, value"):
            equals(value)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("one", "other"),
        [
            (equals(1), equals(True)),
            (equals(0), equals(False)),
            (equals(1), equals(1.0)),
            (one_of(1, "a"), one_of(True, "a")),
            (between(1, 5), between(1.0, 5)),
        ],
    )
    def test_tests_of_values_of_other_types_differ(
        self, one: ValueTest, other: ValueTest
    ) -> None:
        """A test of 1 is not one of True, nor of 1.0, which a file writes otherwise."""
        assert one != other
        again = copy.deepcopy(one)
        assert (again, hash(again)) == (one, hash(one))

    @given(st.one_of(st.booleans(), st.integers(), st.text(), st.none()))
    def test_equal_tests_hash_alike(self, value: Scalar) -> None:
        """Two tests of one value are equal and hash alike."""
        assert equals(value) == equals(value)
        assert hash(equals(value)) == hash(equals(value))


class TestOneOf:
    def test_membership(self) -> None:
        """one_of passes for any listed value, type-aware."""
        test = one_of("DE", "AT", 1)
        assert test("AT")
        assert not test("FR")
        assert not test(True)
        assert test.evaluate("FR") == (False, "is 'FR', not one of 'DE', 'AT', 1")
        assert test.evaluate(MISSING) == (False, "is missing")
        assert test.describe() == "is one of 'DE', 'AT', 1"

    def test_needs_values(self) -> None:
        """one_of() with nothing to choose from is an error."""
        with pytest.raises(PolicyError, match="at least one value"):
            one_of()

    def test_rejects_non_scalar(self) -> None:
        """A non-scalar choice names its position."""
        with pytest.raises(PolicyError, match=r"values\[1\]"):
            one_of("a", ["b"])  # type: ignore[arg-type]


class TestBetween:
    @pytest.mark.parametrize(
        ("test", "value", "expected"),
        [
            (between(50, 500), 50, (True, "is 50, between 50 and 500")),
            (between(50, 500), 500.0, (True, "is 500.0, between 50 and 500")),
            (between(50, 500), 49, (False, "is 49, below 50")),
            (between(50, 500), 501, (False, "is 501, above 500")),
            (between(50, None), 10**9, (True, "is 1000000000, at least 50")),
            (between(None, 10), -5, (True, "is -5, at most 10")),
            (between(50, 500), "200", (False, "is '200', not a number")),
            (between(0, 1), True, (False, "is True, not a number")),
            (between(0, 1), MISSING, (False, "is missing")),
            (
                between(0, 10, include_high=False),
                9.5,
                (True, "is 9.5, at least 0 and below 10"),
            ),
            (between(0, 10, include_high=False), 10, (False, "is 10, not below 10")),
            (between(0, 10, include_high=False), 11, (False, "is 11, above 10")),
            (between(None, 10, include_high=False), 3, (True, "is 3, below 10")),
        ],
    )
    def test_cases(
        self, test: ValueTest, value: object, expected: tuple[bool, str]
    ) -> None:
        """Ranges include both bounds and reject non-numbers."""
        assert expected == test.evaluate(value)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("low", "high", "field"),
        [
            (None, None, "low"),
            (10, 5, "high"),
            ("1", 5, "low"),
            (1, float("inf"), "high"),
            (-(10**400), 5, "low"),  # beyond a float
            (1, 10**400, "high"),
            (True, 5, "low"),
        ],
    )
    def test_bad_bounds(self, low: object, high: object, field: str) -> None:
        """Bad bounds raise a PolicyError naming the bound."""
        with pytest.raises(PolicyError, match=f"between, {field}"):
            between(low, high)  # type: ignore[arg-type]

    def test_an_empty_range_is_refused(self) -> None:
        """low == high with the high bound left out matches nothing: refused."""
        with pytest.raises(PolicyError, match="between, high"):
            between(5, 5, include_high=False)

    def test_include_high_is_a_bool(self) -> None:
        """include_high must be True or False, not a truthy value."""
        with pytest.raises(PolicyError, match="between, include_high"):
            between(1, 5, include_high=0)  # type: ignore[arg-type]

    def test_no_high_bound_has_one_spelling(self) -> None:
        """Without a high bound, include_high changes nothing: equal tests."""
        assert between(1, None, include_high=False) == between(1, None)

    def test_bins_that_meet_never_both_pass(self) -> None:
        """Half-open ranges sharing a bound give a value to exactly one."""
        bins = [
            between(None, 5, include_high=False),
            between(5, 10, include_high=False),
            between(10, None),
        ]
        for value in (4.99, 5, 9.99, 10, 11):
            assert sum(test(value) for test in bins) == 1

    def test_repr_names_a_left_out_bound(self) -> None:
        """The repr of a half-open range says include_high=False."""
        assert (
            repr(between(0, 1, include_high=False))
            == "between(0, 1, include_high=False)"
        )


class TestMatches:
    def test_searches_anywhere(self) -> None:
        """The pattern is searched anywhere in text; anchors make it strict."""
        assert matches("VP")("SVP Sales")
        assert not matches("^VP")("SVP Sales")
        assert matches("vp", ignore_case=True)("SVP Sales")
        assert matches("x").evaluate(5) == (False, "is 5, not text")
        assert matches("x").evaluate("abc") == (
            False,
            "is 'abc', which does not match /x/",
        )
        assert matches("x").evaluate(MISSING) == (False, "is missing")

    def test_describe_and_repr(self) -> None:
        """The case flag shows in words and repr."""
        assert matches("vp", ignore_case=True).describe() == "matches /vp/i"
        assert (
            repr(matches("vp", ignore_case=True)) == "matches('vp', ignore_case=True)"
        )
        assert repr(matches("vp")) == "matches('vp')"

    @pytest.mark.parametrize("pattern", ["(", "", "a" * 1001, 5])
    def test_bad_patterns(self, pattern: object) -> None:
        """Invalid, empty or huge patterns are rejected."""
        with pytest.raises(PolicyError, match="matches, pattern"):
            matches(pattern)  # type: ignore[arg-type]

    def test_equal_patterns_are_equal(self) -> None:
        """Two tests of the same pattern are equal and hash alike."""
        assert matches("a") == matches("a")
        assert hash(matches("a")) == hash(matches("a"))


class TestPresence:
    @pytest.mark.parametrize(
        ("value", "is_present"),
        [
            ("x", True),
            (0, True),
            (False, True),
            ("", False),
            (None, False),
            (MISSING, False),
        ],
    )
    def test_present_and_absent(self, value: object, is_present: bool) -> None:
        """Present means there, not None, not empty; absent is its negation."""
        assert present()(value) is is_present  # type: ignore[arg-type]
        assert absent()(value) is not is_present  # type: ignore[arg-type]

    def test_missing_repr_and_falsiness(self) -> None:
        """MISSING is falsy and reads as MISSING."""
        assert not MISSING
        assert repr(MISSING) == "MISSING"
        assert present().evaluate(MISSING) == (False, "is missing")


class TestCombinators:
    def test_and_or_not(self) -> None:
        """&, | and ~ combine tests and keep the failing reason."""
        mid = between(50, 500) & ~equals(100)
        assert mid(200)
        assert not mid(100)
        assert mid.evaluate(10) == (False, "is 10, below 50")
        either = equals("a") | equals("b")
        assert either("b")
        assert not either("c")
        assert either.evaluate("c") == (False, "is 'c', not 'b'")

    def test_describe_and_repr(self) -> None:
        """Combined tests read as words and as code."""
        test = (equals("a") | one_of("b", "c")) & ~present()
        assert (
            test.describe() == "equals 'a' or is one of 'b', 'c' and not (is present)"
        )
        assert repr(test) == "((equals('a') | one_of('b', 'c')) & ~present())"
        assert repr(between(1, None)) == "between(1, None)"

    def test_only_tests_combine(self) -> None:
        """Combining with a non-test is a PolicyError."""
        with pytest.raises(PolicyError, match="the right side of &"):
            equals("a") & "b"  # type: ignore[operator]
        with pytest.raises(PolicyError, match=r"the right side of \|"):
            equals("a") | 5  # type: ignore[operator]

    @given(tests, tests, values)
    def test_de_morgan(self, a: ValueTest, b: ValueTest, value: object) -> None:
        """~(a & b) == ~a | ~b and ~(a | b) == ~a & ~b, for every value."""
        assert (~(a & b))(value) == (~a | ~b)(value)  # type: ignore[arg-type]
        assert (~(a | b))(value) == (~a & ~b)(value)  # type: ignore[arg-type]

    @given(tests, values)
    def test_double_negation(self, a: ValueTest, value: object) -> None:
        """~~a agrees with a."""
        assert (~~a)(value) == a(value)  # type: ignore[arg-type]

    @given(values)
    def test_present_or_absent(self, value: object) -> None:
        """Every value is present or absent, never both."""
        assert present()(value) != absent()(value)  # type: ignore[arg-type]


class TestAsTest:
    def test_shorthands(self) -> None:
        """A value means equals, a list means one_of, a test stays a test."""
        assert as_test("x", "f", "o") == equals("x")
        assert as_test(["x", "y"], "f", "o") == one_of("x", "y")
        test = between(1, 2)
        assert as_test(test, "f", "o") is test

    def test_rejects_other_values(self) -> None:
        """Anything else names the field."""
        with pytest.raises(PolicyError, match=r"rule, where\['plan'\]"):
            as_test({"a": 1}, "where['plan']", "rule")
