import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import DataFileError
from funnelkit._files import read_activities, read_entries, read_leads, read_outcomes
from funnelkit.serialization import unstructure
from funnelkit.testing.strategies import aware_datetimes, time_zones

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(tmp_path: Path, *rows: object) -> Path:
    text = "\n".join(json.dumps(row) for row in rows) + "\n"
    return _write(tmp_path, "rows.jsonl", text)


class TestLeads:
    def test_a_csv_file_with_typed_attributes(self, tmp_path: Path) -> None:
        """Known columns fill the lead; the rest are attributes, typed as they read."""
        path = _write(
            tmp_path,
            "leads.csv",
            "id,created_at,email,owner,budget,need,timeline,employees,share,listed,city\n"
            "L-1,2026-03-02T09:00:00Z,ana@acme.example,ana,yes,false,2026-06-30,"
            "800,0.25,true,Berlin\n"
            "L-2,2026-03-02T09:00:00+01:00,,,,,,,,,\n",
        )
        first, second = read_leads(path)
        assert first.email == "ana@acme.example"
        assert (first.bant.budget, first.bant.need) == (True, False)
        assert first.bant.timeline == date(2026, 6, 30)
        assert dict(first.attributes) == {
            "employees": 800,
            "share": 0.25,
            "listed": True,
            "city": "Berlin",
        }
        assert (second.email, dict(second.attributes)) == (None, {})

    def test_a_number_with_a_leading_zero_stays_text(self, tmp_path: Path) -> None:
        """A postcode or code written with a leading zero keeps it, as text."""
        path = _write(
            tmp_path,
            "leads.csv",
            "id,created_at,zip,code,zero,small,negative,odd\n"
            "L-1,2026-03-02T09:00:00Z,01067,-007,0,0.5,-0.25,00.5\n",
        )
        (lead,) = read_leads(path)
        assert dict(lead.attributes) == {
            "zip": "01067",
            "code": "-007",
            "zero": 0,
            "small": 0.5,
            "negative": -0.25,
            "odd": "00.5",
        }

    def test_a_json_lines_file_keeps_its_types(self, tmp_path: Path) -> None:
        """JSON values stay as written; blank lines are skipped."""
        path = _write(
            tmp_path,
            "leads.ndjson",
            json.dumps(
                {"id": "L-1", "created_at": "2026-03-02T09:00:00Z", "zip": "01234"}
            )
            + "\n\n",
        )
        (lead,) = read_leads(path)
        assert lead.attributes["zip"] == "01234"
        assert lead.created_at == T0

    def test_json_ones_and_zeros_read_as_booleans(self, tmp_path: Path) -> None:
        """budget 1 and need 0 in JSON Lines, as "1" and "0" in CSV; 2 is refused."""
        row = {"id": "L-1", "created_at": "2026-03-02T09:00:00Z", "budget": 1}
        (lead,) = read_leads(_jsonl(tmp_path, row | {"need": 0}))
        assert (lead.bant.budget, lead.bant.need) == (True, False)
        with pytest.raises(DataFileError, match="expected true or false, found 2"):
            read_leads(_jsonl(tmp_path, row | {"budget": 2}))

    def test_instants_read_as_funnelkit_json_writes_them(self, tmp_path: Path) -> None:
        """A zone name in brackets keeps the lead's zone, as from_json does."""
        path = _write(
            tmp_path,
            "leads.csv",
            "id,created_at\nL-1,2026-03-02T10:00:00+01:00[Europe/Berlin]\n",
        )
        (lead,) = read_leads(path)
        assert lead.created_at == T0
        assert str(lead.created_at.tzinfo) == "Europe/Berlin"


class TestInstants:
    def test_an_offset_s_fraction_is_kept(self, tmp_path: Path) -> None:
        """An offset under a second keeps its fraction: the instant is not UTC's."""
        path = _write(
            tmp_path, "leads.csv", "id,created_at\nL-1,2026-03-02T09:00:00-00:00:00.5\n"
        )
        (lead,) = read_leads(path)
        assert lead.created_at == T0 + timedelta(microseconds=500_000)

    def test_a_lowercase_z_is_utc(self, tmp_path: Path) -> None:
        """A lowercase 'z' is UTC, in CSV and JSON Lines, as RFC 3339 allows."""
        path = _write(
            tmp_path, "leads.csv", "id,created_at\nL-1,2026-03-02T09:00:00z\n"
        )
        assert [lead.created_at for lead in read_leads(path)] == [T0]
        row = {"lead_id": "L-1", "stage": "mql", "entered_at": "2026-03-02T09:00:00z"}
        (entry,) = read_entries(
            _jsonl(tmp_path, row | {"exited_at": "2026-03-03T09:00z"})
        )
        assert (entry.entered_at, entry.exited_at) == (T0, T0 + timedelta(days=1))

    @pytest.mark.parametrize(
        ("cell", "expected"),
        [
            # .NET and SQL Server's datetime2 write seven digits, Java and Go nine.
            ("2026-03-02T09:00:00.1234567Z", T0 + timedelta(microseconds=123_456)),
            (
                "2026-03-02T10:00:00.123456789+01:00",
                T0 + timedelta(microseconds=123_456),
            ),
            ("2026-03-02T09:00:00,1234567z", T0 + timedelta(microseconds=123_456)),
            (
                "2026-03-02T10:00:00.1234567+01:00[Europe/Berlin]",
                T0 + timedelta(microseconds=123_456),
            ),
            ("20260302T080000.1234567-0100", T0 + timedelta(microseconds=123_456)),
            # Cut, never rounded: no time moves later, to the next second.
            ("2026-03-02T08:59:59.999999999Z", T0 - timedelta(microseconds=1)),
            ("2026-03-02T09:00:00.1234560000Z", T0 + timedelta(microseconds=123_456)),
        ],
    )
    def test_nanoseconds_keep_their_microseconds(
        self, tmp_path: Path, cell: str, expected: datetime
    ) -> None:
        """Up to nine digits of a second: the microseconds are kept, the rest cut."""
        path = _write(tmp_path, "leads.csv", f'id,created_at\nL-1,"{cell}"\n')
        assert [lead.created_at for lead in read_leads(path)] == [expected]

    def test_digits_past_the_sixth_keep_the_order(self, tmp_path: Path) -> None:
        """Cut toward the past, activities keep their order, ties aside."""
        rows = [
            {"lead_id": "L-1", "kind": "page_view", "at": f"2026-03-02T09:00:00.{f}Z"}
            for f in ("0000009", "0000010", "000001999", "0000020")
        ]
        found = [activity.at for activity in read_activities(_jsonl(tmp_path, *rows))]
        assert found == [T0, T0 + MICRO, T0 + MICRO, T0 + 2 * MICRO]

    def test_an_offset_finer_than_a_microsecond_is_refused(
        self, tmp_path: Path
    ) -> None:
        """An offset's fraction is not cut (that could move the instant later)."""
        cell = "2026-03-02T14:30:00+05:30:00.1234567"
        path = _write(tmp_path, "leads.csv", f"id,created_at\nL-1,{cell}\n")
        with pytest.raises(DataFileError) as info:
            read_leads(path)
        assert info.value.problem == (
            "expected an offset in whole microseconds (a datetime holds no finer), "
            f"got {cell!r}"
        )

    @settings(max_examples=50, deadline=None)
    @given(
        at=aware_datetimes(
            timezones=st.one_of(
                time_zones(),
                st.timedeltas(
                    -timedelta(hours=24) + MICRO, timedelta(hours=24) - MICRO
                ).map(timezone),
            )
        ),
        extra=st.text("0123456789", min_size=1, max_size=3),
        mark=st.sampled_from(".,"),
    )
    def test_an_instant_with_nanoseconds_reads_back_as_itself(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        at: datetime,
        extra: str,
        mark: str,
    ) -> None:
        """Any instant's text, digits added past its microseconds, reads as it."""
        written = unstructure(at)
        zone = written[written.index("[") :] if "[" in written else ""
        iso = at.isoformat(timespec="microseconds")
        cut = iso.index(".") + 7
        cell = iso[: cut - 7] + mark + iso[cut - 6 : cut] + extra + iso[cut:] + zone
        path = tmp_path_factory.mktemp("nanoseconds") / "activities.jsonl"
        row = json.dumps({"lead_id": "L", "kind": "k", "at": cell})
        path.write_text(row + "\n", encoding="utf-8")
        (activity,) = read_activities(path)
        assert unstructure(activity.at) == written  # the instant, offset and zone
        assert activity.at == at

    def test_a_fraction_of_a_minute_is_refused(self, tmp_path: Path) -> None:
        """'09:30.5' is refused, not read as 09:30:00.5 (ISO 8601's 09:30:30)."""
        path = _write(tmp_path, "leads.csv", "id,created_at\nL-1,2026-03-02T09:30.5Z\n")
        with pytest.raises(DataFileError) as info:
            read_leads(path)
        assert (info.value.line, info.value.column) == (2, "created_at")
        assert "a fraction only after the seconds" in info.value.problem


class TestActivitiesOutcomesEntries:
    def test_activities_with_properties(self, tmp_path: Path) -> None:
        """lead_id, kind, at, id, source; the rest are properties."""
        path = _jsonl(
            tmp_path,
            {
                "lead_id": "L-1",
                "kind": "page_view",
                "at": "2026-03-02T09:00:00Z",
                "id": "A-1",
                "source": "web",
                "path": "/pricing",
            },
        )
        (activity,) = read_activities(path)
        assert (activity.id, activity.source) == ("A-1", "web")
        assert activity.properties == {"path": "/pricing"}

    def test_outcomes(self, tmp_path: Path) -> None:
        """won reads true, false, yes, no, 1 and 0."""
        path = _write(tmp_path, "o.csv", "lead_id,won\nL-1,Yes\nL-2,0\nL-3,TRUE\n")
        assert read_outcomes(path) == {"L-1": True, "L-2": False, "L-3": True}

    def test_entries_with_segments(self, tmp_path: Path) -> None:
        """Stage entries: the known columns, and segments."""
        path = _write(
            tmp_path,
            "e.csv",
            "lead_id,stage,entered_at,exited_at,next_stage,reason,origin\n"
            "L-1,mql,2026-03-02T09:00:00Z,2026-03-03T09:00:00Z,lost,price,ads\n"
            "L-2,mql,2026-03-02T09:00:00Z,,,,\n",
        )
        entry, still = read_entries(path)
        assert (entry.next_stage, entry.reason) == ("lost", "price")
        assert entry.segments == {"origin": "ads"}
        assert (still.exited_at, dict(still.segments)) == (None, {})


class TestBadFiles:
    @pytest.mark.parametrize(
        ("text", "line", "column", "problem"),
        [
            ("id,created_at\nL-1,\n", 2, "created_at", "required"),
            ("id,created_at\nL-1,yesterday\n", 2, "created_at", "ISO 8601"),
            ("id,created_at\nL-1,2026-03-02T09:00\n", 2, "created_at", "UTC offset"),
            (
                "id,created_at\nL-1,2026-03-02T09:00:00.1234567891+01:00\n",
                2,
                "created_at",
                "nine digits at most",
            ),
            (
                "id,created_at,budget\nL-1,2026-03-02T09:00Z,maybe\n",
                2,
                "budget",
                "true or false",
            ),
            (
                "id,created_at,timeline\nL-1,2026-03-02T09:00Z,June\n",
                2,
                "timeline",
                "date string (YYYY-MM-DD)",
            ),
            ("id,created_at\nL-1,2026-03-02T09:00Z,extra\n", 2, None, "more cells"),
            ("id,created_at\n ,2026-03-02T09:00Z\n", 2, "id", "non-empty"),
            # An open quote, a value under no name, a required column missing.
            (
                'id,created_at\n"L-1,2026-03-02T09:00:00Z\n',
                2,
                None,
                "a quote opened and not closed?",
            ),
            (
                "id,created_at,\nL-1,2026-03-02T09:00:00Z,x\n",
                2,
                None,
                "a value in column 3, which the header gives no name",
            ),
            (
                "id,created_at,,\nL-1,2026-03-02T09:00:00Z,oops,\n",
                2,
                None,
                "a value in column 3, which the header gives no name",
            ),
            ("Prospect ID,Lead Number\n", 1, "id", "a required column, missing"),
            ("id,email\nL-1,a@b.example\n", 1, "created_at", "a required column"),
            (
                "id;created_at\nL-1;2026-03-02T09:00:00Z\n",
                1,
                "id",
                (
                    "missing from the header (the header is one column holding ';': "
                    "funnelkit reads CSV separated by commas)"
                ),
            ),
            ("id\tcreated_at\n", 1, "id", "holding '\\t'"),
            ("id|created_at\n", 1, "id", "holding '|'"),
            ("name\nAna\n", 1, "id", "a required column, missing from the header"),
            (
                "id, created_at\n",
                1,
                "created_at",
                "(the header has ' created_at': names are exact)",
            ),
            ("ID,Created_At\n", 1, "id", "(the header has 'ID': names are exact)"),
        ],
    )
    def test_each_problem_names_the_line_and_the_column(
        self,
        tmp_path: Path,
        text: str,
        line: int,
        column: str | None,
        problem: str,
    ) -> None:
        """A bad cell raises a DataFileError naming the file, line and column."""
        path = _write(tmp_path, "leads.csv", text)
        with pytest.raises(DataFileError) as info:
            read_leads(path)
        assert (info.value.path, info.value.line) == (str(path), line)
        assert info.value.column == column
        assert problem in info.value.problem

    @pytest.mark.parametrize(
        ("text", "problem"),
        [("{not json\n", "not JSON"), ("[1, 2]\n", "a JSON object")],
    )
    def test_a_bad_json_line(self, tmp_path: Path, text: str, problem: str) -> None:
        """A line that is not a JSON object: its line, no column."""
        first = {"lead_id": "L", "kind": "page_view", "at": "2026-03-02T09:00:00Z"}
        path = _write(tmp_path, "a.jsonl", json.dumps(first) + "\n" + text)
        with pytest.raises(DataFileError) as info:
            read_activities(path)
        assert (info.value.line, info.value.column) == (2, None)
        assert problem in str(info.value)

    def test_text_expected_where_json_gives_a_number(self, tmp_path: Path) -> None:
        """A JSON number where text belongs is named."""
        path = _jsonl(tmp_path, {"lead_id": 7, "kind": "page_view", "at": "x"})
        with pytest.raises(DataFileError, match="expected text, found 7"):
            read_activities(path)

    @pytest.mark.parametrize(
        ("text", "column", "cell"),
        [
            (
                (
                    "lead_id,stage,entered_at,exited_at\n"
                    "L-1,mql,2026-03-05T00:00:00Z,2026-03-01T00:00:00Z\n"
                ),
                "exited_at",
                "2026-03-01T00:00:00Z",
            ),
            (
                "lead_id,stage,entered_at\nL-1,mql,9999-12-31T23:30:00-05:00\n",
                "entered_at",
                "9999-12-31T23:30:00-05:00",
            ),
        ],
    )
    def test_a_refused_instant_is_shown_as_written(
        self, tmp_path: Path, text: str, column: str, cell: str
    ) -> None:
        """A refused instant is shown as its cell reads, not as Python's repr."""
        with pytest.raises(DataFileError) as info:
            read_entries(_write(tmp_path, "e.csv", text))
        assert (info.value.line, info.value.column) == (2, column)
        assert info.value.problem.endswith(f", found {cell!r}")

    def test_a_row_is_named_by_the_line_it_starts_on(self, tmp_path: Path) -> None:
        """A quoted cell over lines, blank lines: the row's first line is named."""
        path = _write(
            tmp_path,
            "leads.csv",
            'id,note,created_at\nL-1,"two\nlines",2026-03-02T09:00:00Z\n\n'
            'L-2,"one\n\nmore",2026-03-02T09:00:00\n',
        )
        with pytest.raises(DataFileError) as info:
            read_leads(path)
        assert (info.value.line, info.value.column) == (5, "created_at")
        again = _write(
            tmp_path,
            "again.csv",
            'id,note,created_at\nL-1,"two\nlines",2026-03-02T09:00:00Z\n'
            "L-1,,2026-03-02T09:00:00Z\n",
        )
        with pytest.raises(DataFileError, match=r"again \(first on line 2\)") as info:
            read_leads(again)
        assert info.value.line == 4

    def test_a_file_of_another_kind_or_missing(self, tmp_path: Path) -> None:
        """A .txt file, or one that is not there: line 0, the whole file, unsaid."""
        with pytest.raises(DataFileError, match=r"\.csv, \.jsonl or \.ndjson"):
            read_outcomes(_write(tmp_path, "o.txt", ""))
        with pytest.raises(DataFileError, match="cannot be read") as info:
            read_outcomes(tmp_path / "missing.csv")
        assert info.value.line == 0
        assert str(info.value) == (
            f"{tmp_path / 'missing.csv'}: cannot be read: No such file or directory"
        )

    @pytest.mark.parametrize("name", ["leads.csv", "leads.jsonl"])
    def test_bytes_that_are_not_utf8(self, tmp_path: Path, name: str) -> None:
        """A Latin-1 file: the line of the first byte UTF-8 cannot read."""
        path = tmp_path / name
        good = json.dumps({"id": "L-1", "created_at": "2026-03-02T09:00:00Z"})
        first = b"id,created_at\n" if name.endswith(".csv") else good.encode() + b"\n"
        path.write_bytes(first + b"L-1,2026-03-02T09:00:00Z\n" + b'"Andr\xe9"\n')
        with pytest.raises(DataFileError) as info:
            read_leads(path)
        assert (info.value.line, info.value.column) == (3, None)
        assert "expected UTF-8 text, found the byte 0xe9" in info.value.problem

    def test_json_nested_too_deeply(self, tmp_path: Path) -> None:
        """A line nested deeper than Python parses: its line, no RecursionError."""
        row = {"lead_id": "L-1", "kind": "page_view", "at": "2026-03-02T09:00:00Z"}
        path = _write(tmp_path, "a.jsonl", json.dumps(row) + "\n" + "[" * 100_000)
        with pytest.raises(DataFileError, match="nested too deeply") as info:
            read_activities(path)
        assert info.value.line == 2

    def test_a_cell_beyond_the_csv_limit(self, tmp_path: Path) -> None:
        """A cell of more than 131,072 characters: its line, no csv.Error."""
        text = "id,created_at,notes\nL-1,2026-03-02T09:00Z,\nL-2,2026-03-02T09:00Z,"
        path = _write(tmp_path, "leads.csv", text + "x" * 200_000 + "\n")
        with pytest.raises(DataFileError, match="field limit") as info:
            read_leads(path)
        assert info.value.line == 3

    def test_a_column_named_twice(self, tmp_path: Path) -> None:
        """A header naming a column twice is refused: a cell would be lost."""
        path = _write(tmp_path, "o.csv", "lead_id,won,won\nL-1,yes,no\n")
        with pytest.raises(DataFileError, match="each column once") as info:
            read_outcomes(path)
        assert (info.value.line, info.value.column) == (1, "won")

    def test_a_trailing_comma_with_empty_cells_is_read(self, tmp_path: Path) -> None:
        """A header ending in a comma, as exports write it, with nothing under it."""
        path = _write(
            tmp_path,
            "leads.csv",
            "id,created_at,\nL-1,2026-03-02T09:00Z,\nL-2,2026-03-02T09:00Z\n",
        )
        leads = read_leads(path)
        assert [(lead.id, dict(lead.attributes)) for lead in leads] == [
            ("L-1", {}),
            ("L-2", {}),
        ]
        assert read_leads(_write(tmp_path, "none.csv", "")) == []

    def test_a_json_key_given_twice(self, tmp_path: Path) -> None:
        """A JSON line giving a key twice is refused, not read as its last value."""
        path = _write(
            tmp_path, "o.jsonl", '{"lead_id": "L-1", "won": true, "won": false}\n'
        )
        with pytest.raises(DataFileError, match="'won' is given twice") as info:
            read_outcomes(path)
        assert info.value.line == 1

    def test_a_lead_given_twice(self, tmp_path: Path) -> None:
        """A lead id on two rows names both lines."""
        path = _write(
            tmp_path,
            "leads.csv",
            "id,created_at\nL-1,2026-03-02T09:00Z\nL-2,2026-03-02T09:00Z\n"
            "L-1,2026-03-03T09:00Z\n",
        )
        with pytest.raises(DataFileError) as info:
            read_leads(path)
        assert (info.value.line, info.value.column) == (4, "id")
        assert info.value.problem == (
            "expected each lead once, found 'L-1' again (first on line 2)"
        )

    def test_an_outcome_given_twice(self, tmp_path: Path) -> None:
        """Two outcomes of a lead are refused, not the last one kept."""
        path = _write(tmp_path, "o.csv", "lead_id,won\nL-1,yes\nL-1,no\n")
        with pytest.raises(DataFileError, match="first on line 2") as info:
            read_outcomes(path)
        assert (info.value.line, info.value.column) == (3, "lead_id")

    def test_an_activity_of_a_lead_not_given(self, tmp_path: Path) -> None:
        """Given the leads, an activity of another is named by its line."""
        path = _write(
            tmp_path,
            "a.csv",
            "lead_id,kind,at\nL-1,page_view,2026-03-02T09:00Z\n"
            "L-2,page_view,2026-03-02T09:00Z\n",
        )
        assert len(read_activities(path)) == 2
        with pytest.raises(DataFileError, match="found 'L-2'") as info:
            read_activities(path, leads={"L-1"})
        assert (info.value.line, info.value.column) == (3, "lead_id")

    def test_a_bad_attribute_is_named_by_its_column(self, tmp_path: Path) -> None:
        """A bad property names its column, and a long value is cut short."""
        row = {"lead_id": "L-1", "kind": "page_view", "at": "2026-03-02T09:00:00Z"}
        path = _jsonl(tmp_path, row | {"path": ["/pricing"] * 100})
        with pytest.raises(DataFileError) as info:
            read_activities(path)
        assert info.value.column == "path"
        found = "found " + repr(["/pricing"] * 100)[:77] + "..."
        assert info.value.problem.endswith(found)


class TestByteOrderMark:
    @pytest.mark.parametrize("name", ["leads.csv", "leads.jsonl"])
    def test_a_byte_order_mark_is_not_part_of_the_first_column(
        self, tmp_path: Path, name: str
    ) -> None:
        """A UTF-8 byte order mark (Excel writes one) is not read as text."""
        text = (
            "id,created_at\nL-1,2026-03-02T09:00:00Z\n"
            if name.endswith(".csv")
            else json.dumps({"id": "L-1", "created_at": "2026-03-02T09:00:00Z"})
        )
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        (lead,) = read_leads(path)
        assert (lead.id, dict(lead.attributes)) == ("L-1", {})
