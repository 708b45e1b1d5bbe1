"""Immutable containers: a hashable mapping, and a sequence built on first use.

The mapping holds the attribute and property bags of values; the sequence
stands in for a tuple that is costly to build and often never read.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from funnelkit._validators import Scalar

__all__ = ["EMPTY", "Deferred", "FrozenMap", "freeze", "thaw"]

V = TypeVar("V")
T = TypeVar("T")


class Deferred(Sequence[T]):
    """A tuple's worth of items built on first use: a sequence over :meth:`_items`.

    Subclasses give ``_items`` (and may give a cheaper ``__len__``); equality,
    hashing and the repr are those of the built tuple, so it stands in for
    one in any value.
    """

    __slots__ = ()

    @abstractmethod
    def _items(self) -> tuple[T, ...]:
        """The items, built on the first call and kept."""

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[T]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self._items() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


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
