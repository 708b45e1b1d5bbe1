import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelkit._toml import dumps

AWKWARD = '"\\\n\t\r\b\f\x00\x1f\x7f\x85\u2028é€😀 .=[]{}#'
keys = st.sampled_from(["", "a.b", "a b", '"', "\\", "é", "bare-Key_1", "1"]) | st.text(
    max_size=4
)
strings = st.text() | st.text(alphabet=AWKWARD, max_size=8)
scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | strings
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=4)
        | st.lists(st.dictionaries(keys, children, max_size=3), min_size=1, max_size=3)
    ),
    max_leaves=24,
)
documents = st.dictionaries(keys, values, max_size=6)

POLICY = {
    "name": "b2b-saas",
    "version": 3,
    "calendar": {"zone": "Europe/Berlin", "days": ["mon", "tue", "wed"]},
    "stages": [
        {"name": "lead", "kind": "open"},
        {"name": "customer", "kind": "won", "description": "bought"},
    ],
    "transitions": [
        {
            "source": ["lead"],
            "target": "customer",
            "guard": {"type": "ScoreAtLeast", "points": 40},
            "auto": True,
        },
    ],
    "initial": "lead",
    "scoring": {
        "name": "b2b-default",
        "rules": [
            {"attribute": "industry", "points": 20, "weight": 0.75},
            {"activity": "demo_request", "points": -5},
        ],
    },
}
POLICY_TOML = """\
name = "b2b-saas"
version = 3
initial = "lead"

[calendar]
zone = "Europe/Berlin"
days = ["mon", "tue", "wed"]

[[stages]]
name = "lead"
kind = "open"

[[stages]]
name = "customer"
kind = "won"
description = "bought"

[[transitions]]
source = ["lead"]
target = "customer"
guard = { type = "ScoreAtLeast", points = 40 }
auto = true

[scoring]
name = "b2b-default"

[[scoring.rules]]
attribute = "industry"
points = 20
weight = 0.75

[[scoring.rules]]
activity = "demo_request"
points = -5
"""


def written(data: Mapping[str, object], expected: str) -> None:
    """*data* is written as *expected*, which tomllib reads back as *data*."""
    assert dumps(data) == expected
    assert tomllib.loads(expected) == data


class TestRoundTrip:
    @given(documents)
    def test_tomllib_reads_back_the_data(self, data: dict[str, object]) -> None:
        """tomllib reads back exactly the data that was written."""
        assert data == tomllib.loads(dumps(data))


class TestLayout:
    def test_policy_document(self) -> None:
        """A policy reads as a person writes one: keys, sections, arrays of tables."""
        written(POLICY, POLICY_TOML)

    def test_empty_document(self) -> None:
        """An empty mapping is an empty document."""
        written({}, "")

    def test_insertion_order(self) -> None:
        """Keys keep the mapping's order; they are not sorted."""
        written({"b": 1, "a": 2}, "b = 1\na = 2\n")

    def test_empty_containers(self) -> None:
        """Empty tables and lists are written inline at any level."""
        expected = "table = {}\nlist = []\n\n[part]\ninner = { t = {}, l = [] }\n"
        written(
            {"table": {}, "list": [], "part": {"inner": {"t": {}, "l": []}}}, expected
        )

    def test_long_nested_table_gets_a_section(self) -> None:
        """A nested table too long for one line gets a dotted section header."""
        text = "x" * 80
        expected = f'[outer]\nshort = {{ a = 1 }}\n\n[outer.long]\ntext = "{text}"\n'
        written({"outer": {"long": {"text": text}, "short": {"a": 1}}}, expected)

    def test_array_of_tables_in_an_item(self) -> None:
        """In an item of a [[list]], a long list of tables is one item a line."""
        x, y = "x" * 40, "y" * 40
        data = {"t": [{"n": 1, "guard": {"all": [{"s": x}, {"s": y}]}}, {"n": 2}]}
        expected = (
            f'[[t]]\nn = 1\nguard.all = [\n    {{ s = "{x}" }},\n'
            f'    {{ s = "{y}" }},\n]\n\n[[t]]\nn = 2\n'
        )
        written(data, expected)

    def test_long_lines_stay_whole_in_an_item(self) -> None:
        """In an item of a [[list]], a long table or text stays on its line."""
        text = "x" * 90
        data = {"t": [{"test": {"matches": {"pattern": text, "i": True}}, "s": text}]}
        expected = (
            f'[[t]]\ntest = {{ matches = {{ pattern = "{text}", i = true }} }}\n'
            f's = "{text}"\n'
        )
        written(data, expected)

    def test_long_lists_take_a_line_per_item(self) -> None:
        """A list too long for one line is written one item a line."""
        words = [f"word{n:03d}" for n in range(12)]
        expected = "words = [\n" + "".join(f'    "{w}",\n' for w in words) + "]\n"
        written({"words": words}, expected)

    def test_table_of_sections_has_no_header(self) -> None:
        """A table holding only sections is opened by their headers alone."""
        expected = "[[a.b]]\nc = 1\n\n[[a.d]]\n"
        written({"a": {"b": [{"c": 1}], "d": [{}]}}, expected)

    def test_mixed_list_is_inline(self) -> None:
        """A list mixing tables and other values is one inline array."""
        written({"m": [{"a": 1}, 2, [{}]]}, "m = [{ a = 1 }, 2, [{}]]\n")

    def test_keys(self) -> None:
        """Bare keys stay bare; any other key is a quoted, escaped string."""
        data = {"ok-Key_9": 1, "a.b": 2, "": 3, 'q"': 4, "é": {"k": [{"": 5}]}}
        expected = 'ok-Key_9 = 1\n"a.b" = 2\n"" = 3\n"q\\"" = 4\n\n[["é".k]]\n"" = 5\n'
        written(data, expected)

    def test_string_escapes(self) -> None:
        """Quotes, backslashes and control characters are escaped; the rest is kept."""
        data = {"s": 'a"b\\c\n\t\r\b\f\x00\x1f\x7fé😀'}
        expected = 's = "a\\"b\\\\c\\n\\t\\r\\b\\f\\u0000\\u001F\\u007Fé😀"\n'
        written(data, expected)

    @pytest.mark.parametrize(
        ("number", "text"),
        [
            (0.75, "0.75"),
            (1e-07, "1e-07"),
            (1e16, "1e+16"),
            (-0.0, "-0.0"),
            (2.0, "2.0"),
            (-(2**63), "-9223372036854775808"),
            (True, "true"),
            (False, "false"),
        ],
    )
    def test_numbers(self, number: float, text: str) -> None:
        """Numbers and bools are written exactly, as valid TOML."""
        written({"n": number}, f"n = {text}\n")
        assert {"n": number} == tomllib.loads(dumps({"n": number}))


class TestErrors:
    def test_none(self) -> None:
        """None is refused, naming its key path."""
        data = {"transitions": [{}, {}, {"guard": None}]}
        with pytest.raises(
            ValueError, match=r"^transitions\[2\]\.guard: TOML has no null$"
        ):
            dumps(data)

    @pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
    def test_not_finite(self, number: float) -> None:
        """NaN and infinities are refused, naming the key path."""
        with pytest.raises(ValueError, match=r"^a\.b\[0\]: only finite floats"):
            dumps({"a": {"b": [number]}})

    @pytest.mark.parametrize("number", [2**63, -(2**63) - 1])
    def test_int_out_of_range(self, number: int) -> None:
        """Ints outside TOML's 64 bits are refused, naming the key path."""
        with pytest.raises(ValueError, match=r"^n: .* is outside TOML's 64-bit"):
            dumps({"n": number})

    def test_non_str_key(self) -> None:
        """A key that is not a string is refused, naming the table it is in."""
        with pytest.raises(
            TypeError, match=r"^stages\[0\]: TOML keys are strings, not 3$"
        ):
            dumps({"stages": [{3: "x"}]})
        with pytest.raises(TypeError, match=r"^calendar\.hours: TOML keys are strings"):
            dumps({"calendar": {"hours": {None: 1}}})
        with pytest.raises(TypeError, match=r"^the top level: TOML keys are strings"):
            dumps({1: 2})  # type: ignore[dict-item]

    @pytest.mark.parametrize(
        "value", [(1, 2), {1}, datetime(2025, 1, 1, tzinfo=UTC), b"bytes"]
    )
    def test_unsupported_type(self, value: object) -> None:
        """Values of other types are refused, naming the key path and the type."""
        name = type(value).__name__
        with pytest.raises(TypeError, match=rf"^a\.b: TOML cannot hold {name} "):
            dumps({"a": {"b": value}})
