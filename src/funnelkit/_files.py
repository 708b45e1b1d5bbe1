"""Data files for the command line: leads, activities, outcomes, stage entries.

A file is CSV (``.csv``, a header row naming the columns) or JSON Lines
(``.jsonl``, ``.ndjson``: one object per line). Each kind of row has its
columns (see the docs page "Command line"); the other columns become the
lead's attributes, the activity's properties or the entry's segments. In a
CSV file an empty cell is a missing value, and a cell that reads as a whole
number, a decimal number or ``true``/``false`` becomes one.

Every problem names the file, the line and the column, in a
:class:`~funnelkit.errors.DataFileError`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

from funnelkit._lead import Activity, Bant, Lead
from funnelkit.analytics import StageEntry
from funnelkit.errors import DataFileError, SerializationError, ValidationError
from funnelkit.serialization import _parse_data_datetime, structure

__all__ = ["read_activities", "read_entries", "read_leads", "read_outcomes"]

T = TypeVar("T")
# Numbers as people write them: a leading zero ("01067", a postcode or a
# code) keeps the cell text, which a number would lose.
_INTEGER = re.compile(r"-?(?:0|[1-9]\d{0,14})")
_DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)\.\d+")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


class _Row:
    """One row of a file, whose readers name the file, line and column on errors."""

    def __init__(
        self, path: str, line: int, data: Mapping[str, Any], csv: bool
    ) -> None:
        self.path = path
        self.line = line
        self.csv = csv
        # A CSV file's empty cell is a missing value.
        self.data = {
            key: value for key, value in data.items() if not (csv and value == "")
        }
        self.used: set[str] = set()

    def error(self, column: str | None, problem: str) -> DataFileError:
        return DataFileError(
            path=self.path, line=self.line, column=column, problem=problem
        )

    def get(self, column: str, *, required: bool = False) -> Any:  # noqa: ANN401 -- a cell
        self.used.add(column)
        if column not in self.data or self.data[column] is None:
            if required:
                raise self.error(column, "required, but missing or empty")
            return None
        return self.data[column]

    def text(self, column: str, *, required: bool = False) -> str | None:
        value = self.get(column, required=required)
        if value is not None and not isinstance(value, str):
            raise self.error(column, f"expected text, found {value!r}")
        return value

    def instant(self, column: str, *, required: bool = False) -> datetime | None:
        """The cell read as funnelkit's JSON reads an instant, nanoseconds too."""
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            return _parse_data_datetime(value)
        except ValueError as error:
            raise self.error(column, str(error)) from None

    def day(self, column: str) -> date | None:
        """The cell read as funnelkit's JSON reads a date (YYYY-MM-DD)."""
        value = self.text(column)
        if value is None:
            return None
        try:
            return structure(value, date)
        except SerializationError as error:
            raise self.error(column, error.problems[0][1]) from None

    def boolean(self, column: str, *, required: bool = False) -> bool | None:
        value = self.get(column, required=required)
        if value is None or isinstance(value, bool):
            return value
        if type(value) is int and value in {0, 1}:  # JSON's 1 and 0, as CSV's
            return value == 1
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self.error(column, f"expected true or false, found {value!r}")

    def rest(self) -> dict[str, Any]:
        """The columns no reader asked for, as scalars."""
        found = {}
        for column, value in self.data.items():
            if column in self.used:
                continue
            found[column] = _scalar(value) if self.csv else value
        return found

    def build(self, make: Callable[..., T], *args: Any, **kwargs: Any) -> T:  # noqa: ANN401 -- a constructor's arguments
        """Call *make*, turning a rejected value into this row's error."""
        try:
            return make(*args, **kwargs)
        except ValidationError as error:
            # An attribute, property or segment is a column of the file.
            extra = _EXTRA.fullmatch(error.field)
            column = extra.group(1) if extra else error.field
            # The cell as written, not the value read from it (an instant's text).
            found = self.data.get(column, error.value)
            raise self.error(
                column, f"expected {error.expected}, found {_show(found)}"
            ) from None


_EXTRA = re.compile(r"(?:attributes|properties|segments)\['(.*)'\]")


def _show(value: object) -> str:
    """The value's repr, cut to a line's length."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."  # noqa: PLR2004 -- a line


def _scalar(text: str) -> Any:  # noqa: ANN401 -- a number, a bool or the text
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    return text


def _rows(path: str | Path, required: Sequence[str] = ()) -> Iterator[_Row]:
    """The rows of a CSV or JSON Lines file, with their line numbers."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix not in {".csv", ".jsonl", ".ndjson"}:
        raise DataFileError(
            path=name,
            line=0,
            column=None,
            problem="expected a .csv, .jsonl or .ndjson file",
        )
    try:
        # utf-8-sig: a byte order mark (Excel writes one) is not part of the header.
        file = Path(name).open(encoding="utf-8-sig", newline="")  # noqa: SIM115 -- closed below
    except OSError as error:
        raise DataFileError(
            path=name, line=0, column=None, problem=f"cannot be read: {error.strerror}"
        ) from None
    with file:
        try:
            if suffix == ".csv":
                yield from _csv_rows(name, file, required)
            else:
                yield from _json_rows(name, file)
        except UnicodeDecodeError as error:
            line = _undecodable_line(name)
            byte = error.object[error.start : error.start + 1].hex()
            problem = (
                f"expected UTF-8 text, found the byte 0x{byte} (save the file as UTF-8)"
            )
            raise DataFileError(
                path=name, line=line, column=None, problem=problem
            ) from None


class _Lines:
    """A file's lines, counted, so a CSV row is named by the line it starts on.

    A quoted cell may hold line breaks; the csv module counts the lines read
    so far, which names such a row by its last line.
    """

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self.number = 0
        #: The first line of the row being read (blank lines between rows,
        #: which the reader skips, are not it); 0 until one is read.
        self.first = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._file)
        self.number += 1
        if not self.first and line.strip("\r\n"):
            self.first = self.number
        return line


def _csv_rows(name: str, file: TextIO, required: Sequence[str]) -> Iterator[_Row]:
    lines = _Lines(file)
    # Strict: a quote opened and never closed is an error, not a cell that
    # swallows the rest of the file.
    reader = csv.DictReader(lines, strict=True)
    header = _csv_read(name, reader, lambda: reader.fieldnames)
    if header is None:  # an empty file: no columns, no rows
        return
    unnamed = _check_header(name, header, required)
    if unnamed:
        # Columns without a name, each its own: two trailing commas are two.
        reader.fieldnames = [
            f"\x00{index}" if index + 1 in unnamed.values() else column
            for index, column in enumerate(header)
        ]
        unnamed = {f"\x00{position - 1}": position for position in unnamed.values()}
    while True:
        lines.first = 0
        data = _csv_read(name, reader, lambda: next(reader, None))
        if data is None:
            return
        if None in data:
            raise DataFileError(
                path=name,
                line=lines.first,
                column=None,
                problem="more cells than the header has columns",
            )
        for column, position in unnamed.items():
            if (data.pop(column, None) or "").strip():
                raise DataFileError(
                    path=name,
                    line=lines.first,
                    column=None,
                    problem=f"a value in column {position}, which the header "
                    "gives no name (a comma too many?)",
                )
        yield _Row(name, lines.first, data, csv=True)


def _csv_read(name: str, reader: csv.DictReader[str], read: Callable[[], T]) -> T:
    """*read* from the CSV *reader*; a CSV error is the file's, at its line."""
    try:
        return read()
    except csv.Error as error:
        hint = (
            " (a quote opened and not closed?)" if "end of data" in str(error) else ""
        )
        raise DataFileError(
            path=name,
            line=reader.reader.line_num,  # the DictReader's is the last row's
            column=None,
            problem=f"not CSV: {error}{hint}",
        ) from None


def _check_header(
    name: str, columns: Sequence[str], required: Sequence[str]
) -> dict[str, int]:
    """Each column once, the required ones there, rows or not; the unnamed ones.

    A column named twice would lose the first's cells without a word. A
    column with no name (a trailing comma, as exports often have) may only
    have empty cells: returned, name to position, for the rows to check.
    """
    unnamed: dict[str, int] = {}
    for index, column in enumerate(columns):
        if not column.strip():
            unnamed[f"{index}"] = index + 1
            continue
        if column in columns[:index]:
            raise DataFileError(
                path=name,
                line=1,
                column=column,
                problem="expected each column once in the header, found it again",
            )
    for column in required:
        if column not in columns:
            raise DataFileError(
                path=name,
                line=1,
                column=column,
                problem="a required column, missing from the header"
                + _header_hint(columns, column),
            )
    return unnamed


def _header_hint(columns: Sequence[str], required: str) -> str:
    """Why a header may lack a column: a near miss, or another separator.

    ``id, created_at`` names ``' created_at'``, and ``ID`` is not ``id``.
    Excel writes "CSV" with semicolons where the decimal point is a comma.
    """
    for column in columns:
        if column.strip().lower() == required:
            return f" (the header has {column!r}: names are exact)"
    if len(columns) == 1:
        for separator in (";", "\t", "|"):
            if separator in columns[0]:
                return (
                    f" (the header is one column holding {separator!r}: "
                    "funnelkit reads CSV separated by commas)"
                )
    return ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if it gives a key twice (json keeps the last)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} is given twice")
        found[key] = value
    return found


def _json_rows(name: str, file: TextIO) -> Iterator[_Row]:
    for number, text in enumerate(file, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text, object_pairs_hook=_object)
        except RecursionError:
            raise DataFileError(
                path=name,
                line=number,
                column=None,
                problem="not JSON funnelkit reads: nested too deeply",
            ) from None
        except ValueError as error:
            raise DataFileError(
                path=name, line=number, column=None, problem=f"not JSON: {error}"
            ) from None
        if not isinstance(data, dict):
            raise DataFileError(
                path=name,
                line=number,
                column=None,
                problem="expected a JSON object",
            )
        yield _Row(name, number, data, csv=False)


def _undecodable_line(name: str) -> int:
    """The first line of the file that is not UTF-8 (0 if none is, by now)."""
    with Path(name).open("rb") as file:
        lines = enumerate(file, start=1)
        return next((number for number, raw in lines if not _utf8(raw)), 0)


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_leads(path: str | Path) -> list[Lead]:
    """Read leads.

    Columns: ``id``, ``created_at``; ``email``, ``source``, ``owner``; BANT
    answers ``budget``, ``authority``, ``need`` (true or false) and
    ``timeline`` (a date); every other column an attribute. Each lead is
    given once.
    """
    leads = []
    seen = _Seen("lead")
    for row in _rows(path, ("id", "created_at")):
        lead_id = row.text("id", required=True)
        seen.check(row, "id", lead_id)
        created = row.instant("created_at", required=True)
        email, source, owner = row.text("email"), row.text("source"), row.text("owner")
        bant = row.build(
            Bant,
            budget=row.boolean("budget"),
            authority=row.boolean("authority"),
            need=row.boolean("need"),
            timeline=row.day("timeline"),
        )
        leads.append(
            row.build(
                Lead,
                lead_id,
                created,
                email=email,
                attributes=row.rest(),
                bant=bant,
                source=source,
                owner=owner,
            )
        )
    return leads


def read_activities(
    path: str | Path, *, leads: Collection[str] | None = None
) -> list[Activity]:
    """Read activities.

    Columns: ``lead_id``, ``kind``, ``at``; ``id`` and ``source``; every
    other column a property. Given *leads*, an activity of another lead is
    an error.
    """
    found = []
    for row in _rows(path, ("lead_id", "kind", "at")):
        lead_id = row.text("lead_id", required=True)
        if leads is not None and lead_id not in leads:
            raise row.error("lead_id", f"expected one of the leads, found {lead_id!r}")
        kind = row.text("kind", required=True)
        at = row.instant("at", required=True)
        ident, source = row.text("id"), row.text("source")
        found.append(
            row.build(
                Activity,
                lead_id,
                kind,
                at,
                id=ident,
                properties=row.rest(),
                source=source,
            )
        )
    return found


def read_outcomes(path: str | Path) -> dict[str, bool]:
    """Outcomes: ``lead_id`` and ``won`` (true or false), each lead once."""
    found: dict[str, bool] = {}
    seen = _Seen("lead")
    for row in _rows(path, ("lead_id", "won")):
        lead_id = row.text("lead_id", required=True)
        seen.check(row, "lead_id", lead_id)
        won = row.boolean("won", required=True)
        found[str(lead_id)] = bool(won)
    return found


class _Seen:
    """The ids a file gave so far, and their lines: each may come once."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.lines: dict[object, int] = {}

    def check(self, row: _Row, column: str, ident: object) -> None:
        first = self.lines.setdefault(ident, row.line)
        if first != row.line:
            raise row.error(
                column,
                f"expected each {self.what} once, found {ident!r} again "
                f"(first on line {first})",
            )


def read_entries(path: str | Path) -> list[StageEntry]:
    """Read stage entries.

    Columns: ``lead_id``, ``stage``, ``entered_at``; ``exited_at``,
    ``next_stage``, ``reason``; every other column a segment.
    """
    found = []
    for row in _rows(path, ("lead_id", "stage", "entered_at")):
        lead_id = row.text("lead_id", required=True)
        stage = row.text("stage", required=True)
        entered = row.instant("entered_at", required=True)
        exited, after = row.instant("exited_at"), row.text("next_stage")
        reason = row.text("reason")
        found.append(
            row.build(
                StageEntry,
                lead_id,
                stage,
                entered,
                exited_at=exited,
                next_stage=after,
                reason=reason,
                segments=row.rest(),
            )
        )
    return found
