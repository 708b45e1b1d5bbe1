"""Text for people: tables whose columns line up, and counts with their nouns."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["counted", "table"]


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    words: int,
    also: Sequence[Sequence[str]] = (),
) -> str:
    """Align *rows* under *header* and a rule of dashes.

    The first *words* columns (names) are aligned left, the others (numbers)
    right, each as wide as its widest cell, *also*'s included: the rows of a
    table printed beside this one, so that the two line up. Lines end
    without spaces.
    """
    widths = [
        max(len(cell) for cell in column)
        for column in zip(header, *rows, *also, strict=True)
    ]
    lines = [header, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if index < words else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    )


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``1 lead``, ``3,000 leads``; ``1 activity``, ``2 activities`` given both."""
    if number == 1:
        return f"1 {singular}"
    return f"{number:,} {plural or singular + 's'}"
