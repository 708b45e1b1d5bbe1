"""An immutable, hashable mapping for the attribute and property bags of values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from funnelkit._validators import Scalar

__all__ = ["EMPTY", "FrozenMap", "freeze", "thaw"]

V = TypeVar("V")


class FrozenMap(Mapping[str, V]):
    """A read-only ``dict`` that can be hashed, with its keys in sorted order.

    Sorted keys make iteration, reprs and serialized output the same whatever
    order the host built its dictionary in.
    It compares equal to any mapping with the same items, like a ``dict``.
    """

    __slots__ = ("_data", "_hash")

    _data: dict[str, V]
    _hash: int | None

    def __init__(self, items: Mapping[str, V]) -> None:
        self._data = {key: items[key] for key in sorted(items)}
        self._hash = None

    @classmethod
    def _trusted(cls, data: dict[str, V]) -> FrozenMap[V]:
        """Wrap *data*, already in sorted key order and never changed after."""
        made = cls.__new__(cls)
        made._data = data  # noqa: SLF001 -- an instance of this class
        made._hash = None  # noqa: SLF001 -- an instance of this class
        return made

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: V | None = None) -> V | None:  # type: ignore[override]
        """Return the value of *key*, or *default*, at a dict's speed."""
        return self._data.get(key, default)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if type(other) is FrozenMap:
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._data)


#: The empty map: read-only, so one value serves every empty bag.
EMPTY: FrozenMap[Any] = FrozenMap({})


def freeze(value: Mapping[str, Scalar]) -> Mapping[str, Scalar]:
    """Return *value* as a :class:`FrozenMap` (an attrs converter).

    Every empty mapping becomes the one empty map, ``EMPTY``: most
    activities have no properties, and a value per activity would only be
    more for the garbage collector to visit. Anything that is not a mapping
    with string keys comes back unchanged, for the field's validator to
    reject with a clear message.
    """
    candidate: object = value  # callers may pass anything at run time
    if isinstance(candidate, FrozenMap):
        return candidate
    if isinstance(candidate, Mapping) and all(isinstance(k, str) for k in candidate):
        return FrozenMap(candidate) if candidate else EMPTY
    return value


def thaw(value: Mapping[str, V]) -> dict[str, V]:
    """Return a new ``dict`` of *value*'s items, in its order.

    A :class:`FrozenMap`'s own dict is copied at C speed, where ``dict()`` of
    a mapping that is not a dict asks for its keys and then each item.
    """
    if type(value) is FrozenMap:
        return value._data.copy()  # noqa: SLF001 -- this module's class
    return dict(value)
