"""Write plain data as TOML 1.0 text, laid out the way a person writes a policy file.

The standard library reads TOML (:mod:`tomllib`) but cannot write it, and
funnelkit's runtime dependencies are fixed, so ``dump_policy`` uses this small
writer.
It takes dicts with string keys, lists, strings, ints, finite floats and
bools, and guarantees ``tomllib.loads(dumps(data)) == data``.

The layout: a table's plain keys first, in insertion order, then its sections.
The top level's tables get ``[table]`` sections; a table further down goes on
one line (``{ a = 1 }``) when it fits in 88 columns, otherwise into a
``[dotted.header]`` section.
A section holding only sections gets no header of its own, as people write
``[tool.ruff.lint]`` without ``[tool]``.
A list of tables becomes ``[[array.of.tables]]``; every other list is written
on one line, with inline tables for any tables inside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, TypeGuard

__all__ = ["dumps"]

_WIDTH = 88
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INT64 = range(-(2**63), 2**63)
_ESCAPES = {
    **{code: f"\\u{code:04X}" for code in (*range(0x20), 0x7F)},
    **{
        ord(char): f"\\{short}"
        for char, short in zip("\b\t\n\f\r", "btnfr", strict=True)
    },
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}


def dumps(data: Mapping[str, object]) -> str:
    """Return ``data`` as a TOML 1.0 document.

    Args:
        data: The document's top-level table.

    Returns:
        The document's text, which :func:`tomllib.loads` reads back equal
        to ``data``.

    Raises:
        ValueError: A value is ``None``, a float that is not finite, or an int
            outside TOML's 64-bit range; the message names its key path.
        TypeError: A key is not a string, or a value has a type TOML cannot
            hold; the message names the key path.

    >>> policy = {"name": "b2b", "scoring": {"decay": 0.5, "rules": [{"points": 10}]}}
    >>> print(dumps(policy), end="")
    name = "b2b"
    <BLANKLINE>
    [scoring]
    decay = 0.5
    <BLANKLINE>
    [[scoring.rules]]
    points = 10
    """
    lines: list[str] = []
    _write_table(data, header=(), path="", lines=lines)
    return "".join(f"{line}\n" for line in lines)


def _write_table(  # noqa: PLR0913 -- the walk's state, by keyword
    table: Mapping[Any, object],
    *,
    header: tuple[str, ...],
    path: str,
    lines: list[str],
    opener: str = "",
    in_item: bool = False,
) -> None:
    plain: list[str] = []
    sections: list[tuple[str, Mapping[Any, object] | list[Mapping[Any, object]]]] = []
    for key, value in _items(table, path):
        where = _join(path, key)
        if (_is_table_list(value) and not in_item) or (_is_table(value) and not header):
            sections.append((key, value))
            continue
        line = f"{_key(key)} = {_value(value, where)}"
        if len(line) <= _WIDTH:
            plain.append(line)
            continue
        dotted, inner = _chain(key, value, where)
        if isinstance(inner, list):
            plain.extend(_array(dotted, inner, _join(path, dotted)))
        elif _is_table(value) and not in_item:
            sections.append((key, value))
        else:
            # Inside an item of a [[list]], a section would read as a new
            # part: a long line is clearer.
            plain.append(line)
    # A [table] holding only sections needs no header: theirs create it.
    if opener and plain:
        _open(lines, opener)
    lines.extend(plain)
    for key, value in sections:
        inner_header = (*header, _key(key))
        where = _join(path, key)
        if isinstance(value, list):
            for index, item in enumerate(value):
                _open(lines, f"[[{'.'.join(inner_header)}]]")
                _write_table(
                    item,
                    header=inner_header,
                    path=f"{where}[{index}]",
                    lines=lines,
                    in_item=True,
                )
        else:
            section = f"[{'.'.join(inner_header)}]"
            _write_table(
                value,
                header=inner_header,
                path=where,
                lines=lines,
                opener=section,
                in_item=in_item,
            )


def _chain(key: str, value: object, path: str) -> tuple[str, object]:
    """Follow tables of one key: ``guard = { all = [...] }`` is ``guard.all``."""
    dotted = _key(key)
    while isinstance(value, Mapping) and len(value) == 1:
        ((inner_key, value),) = _items(value, path)
        dotted += f".{_key(inner_key)}"
    return dotted, value


def _array(dotted: str, value: list[object], path: str) -> list[str]:
    """A list too long for one line: one item per line."""
    items = [f"    {_value(item, f'{path}[{i}]')}," for i, item in enumerate(value)]
    return [f"{dotted} = [", *items, "]"]


def _open(lines: list[str], header: str) -> None:
    """Start a section, a blank line after whatever came before."""
    lines.extend(["", header] if lines else [header])


def _items(table: Mapping[Any, object], path: str) -> Iterator[tuple[str, object]]:
    for key, value in table.items():
        if not isinstance(key, str):
            where = path or "the top level"
            raise TypeError(f"{where}: TOML keys are strings, not {key!r}")
        yield key, value


def _value(value: object, path: str) -> str:
    if value is None:
        raise ValueError(f"{path}: TOML has no null")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value not in _INT64:
            raise ValueError(f"{path}: {value} is outside TOML's 64-bit integers")
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: only finite floats are written, not {value!r}")
        return repr(float(value))
    if isinstance(value, str):
        return f'"{value.translate(_ESCAPES)}"'
    if isinstance(value, list):
        items = (_value(item, f"{path}[{index}]") for index, item in enumerate(value))
        return f"[{', '.join(items)}]"
    if isinstance(value, Mapping):
        pairs = [
            f"{_key(key)} = {_value(item, _join(path, key))}"
            for key, item in _items(value, path)
        ]
        return f"{{ {', '.join(pairs)} }}" if pairs else "{}"
    raise TypeError(f"{path}: TOML cannot hold {type(value).__name__} {value!r}")


def _is_table(value: object) -> TypeGuard[Mapping[Any, object]]:
    return isinstance(value, Mapping) and bool(value)


def _is_table_list(value: object) -> TypeGuard[list[Mapping[Any, object]]]:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) for item in value)
    )


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _value(key, key)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
