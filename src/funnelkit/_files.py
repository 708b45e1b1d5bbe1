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
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from funnelkit._lead import Activity, Bant, Lead
from funnelkit.analytics import StageEntry
from funnelkit.errors import DataFileError, SerializationError, ValidationError
from funnelkit.serialization import structure

__all__ = ["read_activities", "read_entries", "read_leads", "read_outcomes"]

T = TypeVar("T")
_INTEGER = re.compile(r"-?\d{1,15}")
_DECIMAL = re.compile(r"-?\d+\.\d+")
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
        return self._parsed(column, datetime, required=required)

    def day(self, column: str) -> date | None:
        return self._parsed(column, date)

    def _parsed(self, column: str, cls: type[T], *, required: bool = False) -> T | None:
        """The cell read as funnelkit's JSON reads a *cls* (ISO 8601, an offset)."""
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            return structure(value, cls)
        except SerializationError as error:
            raise self.error(column, error.problems[0][1]) from None

    def boolean(self, column: str, *, required: bool = False) -> bool | None:
        value = self.get(column, required=required)
        if value is None or isinstance(value, bool):
            return value
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
            raise self.error(
                error.field, f"expected {error.expected}, found {error.value!r}"
            ) from None


def _scalar(text: str) -> Any:  # noqa: ANN401 -- a number, a bool or the text
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    return text


def _rows(path: str | Path) -> Iterator[_Row]:
    """The rows of a CSV or JSON Lines file, with their line numbers."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix not in {".csv", ".jsonl", ".ndjson"}:
        raise DataFileError(
            path=name, line=0, column=None, problem="expected a .csv or .jsonl file"
        )
    try:
        file = Path(name).open(encoding="utf-8", newline="")  # noqa: SIM115 -- closed below
    except OSError as error:
        raise DataFileError(
            path=name, line=0, column=None, problem=f"cannot be read: {error.strerror}"
        ) from None
    with file:
        if suffix == ".csv":
            reader = csv.DictReader(file)
            for data in reader:
                if None in data:
                    raise DataFileError(
                        path=name,
                        line=reader.line_num,
                        column=None,
                        problem="more cells than the header has columns",
                    )
                yield _Row(name, reader.line_num, data, csv=True)
            return
        for number, text in enumerate(file, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
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


def read_leads(path: str | Path) -> list[Lead]:
    """Read leads.

    Columns: ``id``, ``created_at``; ``email``, ``source``, ``owner``; BANT
    answers ``budget``, ``authority``, ``need`` (true or false) and
    ``timeline`` (a date); every other column an attribute.
    """
    leads = []
    for row in _rows(path):
        lead_id = row.text("id", required=True)
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


def read_activities(path: str | Path) -> list[Activity]:
    """Read activities.

    Columns: ``lead_id``, ``kind``, ``at``; ``id`` and ``source``; every
    other column a property.
    """
    found = []
    for row in _rows(path):
        lead_id = row.text("lead_id", required=True)
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
    """Outcomes: ``lead_id`` and ``won`` (true or false)."""
    found: dict[str, bool] = {}
    for row in _rows(path):
        lead_id = row.text("lead_id", required=True)
        won = row.boolean("won", required=True)
        found[str(lead_id)] = bool(won)
    return found


def read_entries(path: str | Path) -> list[StageEntry]:
    """Read stage entries.

    Columns: ``lead_id``, ``stage``, ``entered_at``; ``exited_at``,
    ``next_stage``, ``reason``; every other column a segment.
    """
    found = []
    for row in _rows(path):
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
