from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from funnelkit._frozen import EMPTY, FrozenMap, freeze, thaw

small_dicts = st.dictionaries(st.text(max_size=3), st.integers(), max_size=5)


class TestFrozenMap:
    @given(small_dicts)
    def test_behaves_like_its_dict(self, items: dict[str, int]) -> None:
        """A FrozenMap equals, iterates and looks up like the dict it was made from."""
        frozen = FrozenMap(items)
        assert frozen == items
        assert len(frozen) == len(items)
        assert list(frozen) == sorted(items)
        assert all(frozen[key] == value for key, value in items.items())
        assert all(key in frozen and frozen.get(key) == items[key] for key in items)
        assert "\x00absent" not in frozen
        assert frozen.get("\x00absent", -1) == -1

    @given(small_dicts)
    def test_hash_ignores_insertion_order(self, items: dict[str, int]) -> None:
        """Equal maps built in different orders hash alike."""
        backwards = dict(reversed(list(items.items())))
        assert hash(FrozenMap(items)) == hash(FrozenMap(backwards))

    def test_not_equal_to_non_mappings(self) -> None:
        """A FrozenMap is never equal to a list of its items."""
        assert FrozenMap({"a": 1}) != [("a", 1)]

    def test_repr_reads_like_a_dict(self) -> None:
        """The repr is the dict's."""
        assert repr(FrozenMap({"b": 1, "a": 2})) == "{'a': 2, 'b': 1}"


class TestFreeze:
    def test_freezes_mappings_once(self) -> None:
        """A dict becomes a FrozenMap; a FrozenMap is kept as is."""
        frozen = freeze({"a": 1})
        assert isinstance(frozen, FrozenMap)
        assert freeze(frozen) is frozen

    def test_empty_mappings_share_one_map(self) -> None:
        """Every empty mapping becomes the one empty FrozenMap."""
        assert freeze({}) is EMPTY
        assert freeze(MappingProxyType({})) is EMPTY
        assert freeze({}) == {}

    def test_leaves_other_values_for_the_validator(self) -> None:
        """Non-mappings and non-string keys pass through unchanged."""
        odd = {1: "x"}
        assert freeze(odd) is odd  # type: ignore[arg-type,comparison-overlap]
        assert freeze([1]) == [1]  # type: ignore[arg-type,comparison-overlap]


class TestThaw:
    @given(small_dicts)
    def test_a_new_dict_of_the_items_in_order(self, items: dict[str, int]) -> None:
        """A FrozenMap or any other mapping gives a new dict, in the mapping's order."""
        frozen = FrozenMap(items)
        for mapping in (frozen, MappingProxyType(items)):
            thawed = thaw(mapping)
            assert type(thawed) is dict
            assert list(thawed.items()) == list(mapping.items())
        thaw(frozen)["\x00new"] = 1
        assert "\x00new" not in frozen
