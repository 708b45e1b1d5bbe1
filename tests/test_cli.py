"""The command line: python -m funnelkit check."""

from __future__ import annotations

import errno
import importlib
import io
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import attrs
import pytest

import funnelkit
from funnelkit import (
    Activity,
    ActivityRule,
    Context,
    Criterion,
    DidActivity,
    Funnel,
    FunnelPolicy,
    Lead,
    ScoreAtLeast,
    ScoringModel,
    SlaRule,
    Verdict,
    dump_policy,
)
from funnelkit import _cli as cli
from funnelkit import _demo as demo
from funnelkit._cli import main
from funnelkit.errors import SerializationError
from funnelkit.policies import b2b_saas
from funnelkit.testing import ManualClock

SHIPPED = Path(__file__).parent.parent / "src" / "funnelkit" / "policies"


def run(*argv: str) -> tuple[int, str, str]:
    """Run the command line in this process; return status, out and err."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


class TestCheck:
    @pytest.mark.parametrize("name", ["b2b_saas.toml", "product_led.toml"])
    def test_a_valid_file(self, name: str) -> None:
        """A valid file prints its summary and exits 0."""
        status, out, err = run("check", str(SHIPPED / name))
        assert (status, err) == (0, "")
        assert out.startswith("policy ")
        for heading in ("stages (8)", "transitions (", "scoring model", "SLAs ("):
            assert heading in out

    def test_the_summary_says_what_the_policy_holds(self, tmp_path: Path) -> None:
        """Guards, rules and SLA promises appear in words."""
        path = tmp_path / "p.json"
        path.write_text(dump_policy(b2b_saas(), "json"), encoding="utf-8")
        _, out, _ = run("check", str(path))
        assert (
            "  marketing qualified: lead -> mql, auto, when all of: engagement "
            "score at least 40; fit score at least 30\n"
        ) in out
        assert "  target industry: +20 fit\n" in out
        assert (
            "  mql_accepted: in mql, leaving the stage within 8 business hours\n" in out
        )
        assert "  first_touch: in sal, sales_touch within 1 business hour\n" in out

    def test_one_scoring_rule_is_said_so(self, tmp_path: Path) -> None:
        """A model of one rule: "(1 rule)", not "(1 rules)"."""
        policy = b2b_saas()
        model = attrs.evolve(policy.scoring, rules=policy.scoring.rules[:1])
        path = tmp_path / "p.toml"
        path.write_text(dump_policy(attrs.evolve(policy, scoring=model)), "utf-8")
        _, out, _ = run("check", str(path))
        assert f"scoring model {model.name!r} (1 rule):\n" in out

    def test_an_invalid_file(self, tmp_path: Path) -> None:
        """A file with problems prints them all to stderr and exits 1."""
        path = tmp_path / "p.toml"
        text = dump_policy(b2b_saas()).replace("version = 1", "version = 1.5")
        path.write_text(text.replace("auto = true", "auto = 1", 1), encoding="utf-8")
        status, out, err = run("check", str(path))
        assert (status, out) == (1, "")
        assert err == (
            f"{path}: version: expected a whole number, found 1.5\n"
            f"{path}: transitions[0].auto: expected true or false, found 1\n"
        )

    @pytest.mark.parametrize("name", ["b2b_saas", "product_led"])
    def test_a_shipped_policy_by_name(self, name: str) -> None:
        """check takes b2b_saas and product_led, as score and backtest do."""
        status, out, err = run("check", name)
        assert (status, err) == (0, "")
        assert out.startswith(f"policy {name.replace('_', '-')}@1 ")
        status, out, _ = run("check", name, "--json")
        assert status == 0
        assert json.loads(out)["policy"] == f"{name.replace('_', '-')}@1"

    @pytest.mark.parametrize("name", ["[draft] p.toml", "{v2}.json"])
    def test_a_file_named_with_a_bracket_is_a_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
    ) -> None:
        """POLICY is always a file's name, even one that starts like TOML or JSON."""
        monkeypatch.chdir(tmp_path)
        path = Path(name)
        text = dump_policy(b2b_saas(), "json" if name.endswith(".json") else "toml")
        path.write_text(text, encoding="utf-8")
        status, out, err = run("check", name)
        assert (status, err) == (0, "")
        assert out.startswith("policy b2b-saas@1 ")

    def test_a_policy_that_is_neither_file_nor_shipped_name(
        self, history: tuple[str, str, str]
    ) -> None:
        """A misspelt shipped name is named by its argument, with the names to use."""
        expected = "expected a policy file (.toml or .json), or b2b_saas or product_led"
        assert run("check", "b2b-saas") == (
            1,
            "",
            f"POLICY: {expected}, got 'b2b-saas'\n",
        )
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        argv = ("backtest", "b2b_saas", *history, *window, "--compare", "product-led")
        assert run(*argv) == (1, "", f"--compare: {expected}, got 'product-led'\n")

    def test_custom_criteria_by_name(self, tmp_path: Path) -> None:
        """--criteria names a registry as module:attribute."""
        path = tmp_path / "p.toml"
        path.write_text(dump_policy(b2b_saas()), encoding="utf-8")
        status, _, err = run(
            "check", str(path), "--criteria", "funnelkit.policies:b2b_saas"
        )
        assert status == 1
        assert "is not a CriteriaRegistry" in err
        status, _, err = run("check", str(path), "--criteria", "funnelkit.nowhere:x")
        assert status == 1
        assert "cannot load" in err
        status, _, err = run("check", str(path), "--criteria", "no-colon")
        assert status == 1
        assert "MODULE:NAME" in err

    def test_a_registry_from_a_module(self, custom: str) -> None:
        """A registry named on the command line lets its criteria load."""
        assert run("check", custom)[0] == 1
        status, out, _ = run("check", custom, "--criteria", "vip_criteria:registry")
        assert status == 0
        assert "sales accepts: mql -> sal, by hand, when Vip" in out

    def test_a_registry_from_the_current_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The installed command finds --criteria's module here, as python -m does."""
        (tmp_path / "here_criteria.py").write_text(
            "from funnelkit import CriteriaRegistry\nregistry = CriteriaRegistry()\n",
            encoding="utf-8",
        )
        monkeypatch.chdir(tmp_path)
        path_before = list(sys.path)
        try:
            status, _, err = run(
                "check", "b2b_saas", "--criteria", "here_criteria:registry"
            )
        finally:
            sys.modules.pop("here_criteria", None)
        assert (status, err) == (0, "")
        assert sys.path == path_before

    def test_as_a_module(self) -> None:
        """python -m funnelkit runs the command line, exit status included."""
        done = subprocess.run(  # noqa: S603 -- this interpreter, fixed arguments
            [sys.executable, "-m", "funnelkit", "check", str(SHIPPED / "nowhere.toml")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1
        assert "expected a readable file" in done.stderr

    def test_criteria_that_meet_an_sla(self, tmp_path: Path) -> None:
        """An SLA met by a criterion is summarised by the criterion's words."""
        policy = b2b_saas()
        rule = SlaRule("hot", "mql", "2 days", ScoreAtLeast(90))
        path = tmp_path / "p.toml"
        text = dump_policy(attrs.evolve(policy, slas=[rule]))
        path.write_text(text, encoding="utf-8")
        _, out, _ = run("check", str(path))
        assert "  hot: in mql, total score at least 90 within 2 days\n" in out

    def test_the_main_module_runs_main(self) -> None:
        """funnelkit.__main__ imports the command line it runs."""
        module = importlib.import_module("funnelkit.__main__")
        assert module.main is main

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--version prints the installed version and exits 0."""
        with pytest.raises(SystemExit) as info:
            run("--version")
        assert info.value.code == 0
        assert capsys.readouterr().out == f"funnelkit {funnelkit.__version__}\n"

    def test_usage_errors(self) -> None:
        """A command line without a command is a usage error (status 2)."""
        with pytest.raises(SystemExit) as info:
            run()
        assert info.value.code == 2


def _misspelt_policy(tmp_path: Path) -> Path:
    """b2b_saas with a rule counting "demo_requst" and a guard "Quote-Request"."""
    text = dump_policy(b2b_saas())
    text = text.replace(
        'kind = ["demo_request", "quote_request"]', 'kind = "demo_requst"'
    )
    text = text.replace(
        'kinds = ["demo_request", "quote_request"], in_stage',
        'kinds = ["demo_request", "Quote-Request"], in_stage',
    )
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


class TestKindNotes:
    def test_check_notes_kinds_near_a_standard_one(self, tmp_path: Path) -> None:
        """A misspelt or miscased kind is noted on stderr; the check still passes."""
        status, out, err = run("check", str(_misspelt_policy(tmp_path)))
        assert status == 0
        assert out.startswith("policy ")
        tail = "a kind of your own is fine if your activities use it"
        assert err.splitlines() == [
            (
                "note: transition 'hand-raiser fast track': activity kind "
                "'Quote-Request' is not one of funnelkit.kinds (did you mean "
                f"'quote_request'?); {tail}"
            ),
            (
                "note: scoring rule 'demo_requst': activity kind 'demo_requst' is "
                f"not one of funnelkit.kinds (did you mean 'demo_request'?); {tail}"
            ),
        ]

    def test_check_json_lists_the_notes(self, tmp_path: Path) -> None:
        """--json: the notes in the output, none for a shipped policy."""
        status, out, err = run("check", str(_misspelt_policy(tmp_path)), "--json")
        assert (status, err) == (0, "")
        assert [note.split(":")[0] for note in json.loads(out)["notes"]] == [
            "transition 'hand-raiser fast track'",
            "scoring rule 'demo_requst'",
        ]
        _, out, _ = run("check", "product_led", "--json")
        assert json.loads(out)["notes"] == []

    def test_kinds_of_ones_own_are_not_noted(self) -> None:
        """A kind far from every standard one is the host's own: no note."""
        model = ScoringModel(
            "m", [ActivityRule("trial_project_created", 10, dimension="engagement")]
        )
        policy = attrs.evolve(b2b_saas(), scoring=model)
        assert cli.kind_notes(policy) == []

    def test_sla_kinds_and_criteria_are_read(self) -> None:
        """An SLA met by a kind, or by a criterion naming one, is read too."""
        policy = attrs.evolve(
            b2b_saas(),
            slas=[
                SlaRule("touch", "mql", timedelta(days=1), met_by="sales-touch"),
                SlaRule(
                    "call",
                    "sal",
                    timedelta(days=1),
                    met_by=DidActivity("meeting_sheduled") | ScoreAtLeast(90),
                ),
            ],
        )
        notes = cli.kind_notes(policy)
        assert [note.split(":")[0] for note in notes] == ["SLA 'call'", "SLA 'touch'"]
        assert "did you mean 'meeting_scheduled'?" in notes[0]
        assert "did you mean 'sales_touch'?" in notes[1]
        assert cli.kind_notes(policy, scoring_only=True) == []

    def test_a_custom_criterion_s_kinds_are_read(self) -> None:
        """A custom criterion with a kinds attribute is read as DidActivity is."""

        @attrs.frozen
        class Replied(Criterion):
            kinds: frozenset[str]

            def check(self, ctx: Context) -> Verdict:
                found = any(a.kind in self.kinds for a in ctx.activities)
                return Verdict(passed=found, criterion="replied", reason="-")

        @attrs.frozen
        class Worded(Replied):
            kinds: str  # type: ignore[assignment] # a word, not kinds: not read

        def guarded(criterion: Criterion) -> FunnelPolicy:
            return attrs.evolve(
                b2b_saas(),
                slas=[SlaRule("reply", "mql", timedelta(days=1), met_by=criterion)],
            )

        (note,) = cli.kind_notes(guarded(Replied(frozenset({"Email-Click"}))))
        assert note.startswith("SLA 'reply': activity kind 'Email-Click'")
        assert cli.kind_notes(guarded(Worded("email-clik"))) == []
        assert cli.kind_notes(guarded(Replied(frozenset({"reply_sent"})))) == []
        # The file's kinds meet the criterion's: named, so no note of them.
        made = [Activity("L-1", "reply_sent", datetime(2026, 3, 2, tzinfo=UTC))]
        policy = guarded(Replied(frozenset({"reply_sent"})))
        assert cli.data_kind_notes([policy], made, "a.csv") == []
        made = [Activity("L-1", "Reply Sent", datetime(2026, 3, 2, tzinfo=UTC))]
        (note,) = cli.data_kind_notes([policy], made, "a.csv")
        assert note.endswith("though it names 'reply_sent'")

    def test_a_kind_in_two_places_is_one_note(self) -> None:
        """Each kind is noted once, naming every place it is in."""
        model = ScoringModel(
            "m",
            [
                ActivityRule("page-view", 1, dimension="engagement", name="a"),
                ActivityRule("page-view", 2, dimension="engagement", name="b"),
            ],
        )
        policy = attrs.evolve(b2b_saas(), scoring=model)
        (note,) = cli.kind_notes(policy)
        assert note.startswith("scoring rule 'a', scoring rule 'b': activity kind")

    def test_score_and_backtest_note_them(
        self, history: tuple[str, str, str], tmp_path: Path
    ) -> None:
        """score notes its rules' kinds; backtest both policies', naming --compare."""
        path = str(_misspelt_policy(tmp_path))
        status, _, err = run("score", path, *history[:2])
        assert status == 0
        policy_note, data_note = err.splitlines()
        assert policy_note.startswith("note: scoring rule 'demo_requst'")
        # The file's demo request is one the policy's rules do not count.
        assert data_note == (
            f"note: {history[1]}: 1 activity of kind 'demo_request', which the "
            "policy's scoring rules do not name, though they name 'demo_requst'"
        )
        status, _, err = run(
            "backtest", "b2b_saas", *history, *WINDOW, "--compare", path
        )
        assert status == 0
        assert [line.split(": activity")[0] for line in err.splitlines()] == [
            "note: --compare: transition 'hand-raiser fast track'",
            "note: --compare: scoring rule 'demo_requst'",
        ]  # b2b_saas names the file's kinds: no note of the file


class TestDataKindNotes:
    @pytest.fixture
    def crm_export(self, tmp_path: Path) -> tuple[str, str, str]:
        """A history whose kinds are a CRM's spelling of the standard ones."""
        leads = tmp_path / "leads.csv"
        leads.write_text(LEADS, encoding="utf-8")
        activities = tmp_path / "activities.csv"
        activities.write_text(
            "lead_id,kind,at\n"
            "L-1,Webinar Attended,2026-03-02T10:00:00Z\n"
            "L-1,Webinar Attended,2026-03-02T12:00:00Z\n"
            "L-1,demo-request,2026-03-02T11:00:00Z\n"
            "L-2,page_view,2026-03-03T10:00:00Z\n"
            "L-2,support_ticket,2026-03-03T11:00:00Z\n",
            encoding="utf-8",
        )
        outcomes = tmp_path / "outcomes.csv"
        outcomes.write_text("lead_id,won\nL-1,yes\nL-2,no\n", encoding="utf-8")
        return str(leads), str(activities), str(outcomes)

    def test_score_notes_kinds_spelt_otherwise(
        self, crm_export: tuple[str, str, str]
    ) -> None:
        """Each kind near one the rules count is noted with its count; others not."""
        leads, activities, _ = crm_export
        status, out, err = run("score", "b2b_saas", leads, activities)
        assert status == 0
        assert out.startswith("scores by")
        which = "which the policy's scoring rules do not name, though they name"
        assert err.splitlines() == [
            (
                f"note: {activities}: 1 activity of kind 'demo-request', {which} "
                "'demo_request'"
            ),
            (
                f"note: {activities}: 2 activities of kind 'Webinar Attended', "
                f"{which} 'webinar_attended'"
            ),
        ]

    def test_backtest_reads_every_kind_of_both_policies(
        self, crm_export: tuple[str, str, str]
    ) -> None:
        """backtest: the policy's guards and SLAs count too; two policies, either."""
        argv = ("backtest", "b2b_saas", *crm_export, *WINDOW)
        status, _, err = run(*argv)
        assert status == 0
        assert [line.split(", which ")[1][:30] for line in err.splitlines()] == [
            "the policy does not name, thou",
            "the policy does not name, thou",
        ]
        status, _, err = run(*argv, "--compare", "product_led", "--compare-mql", "pql")
        assert status == 0
        assert "which neither policy names, though one names 'demo_request'" in err

    def test_kinds_named_exactly_or_far_from_all_are_not_noted(self) -> None:
        """A kind the policy names, or one near none of its kinds, gets no note."""
        made = [
            Activity("L-1", kind, datetime(2026, 3, 2, tzinfo=UTC))
            for kind in ("page_view", "support_ticket", "pricing_page_view")
        ]
        assert cli.data_kind_notes([b2b_saas()], made, "a.csv") == []


class TestCheckJson:
    def test_a_valid_file_as_json(self) -> None:
        """--json: the policy's label, fingerprint and parts, status 0."""
        status, out, _ = run("check", str(SHIPPED / "b2b_saas.toml"), "--json")
        data = json.loads(out)
        assert status == 0
        assert data["valid"] is True
        assert data["policy"] == "b2b-saas@1"
        assert data["fingerprint"] == b2b_saas().fingerprint
        assert data["stages"][:2] == ["lead", "mql"]
        assert "mql_accepted" in data["slas"]

    def test_an_invalid_file_as_json(self, tmp_path: Path) -> None:
        """--json: every problem with its key path, on stdout; status 1."""
        path = tmp_path / "p.toml"
        path.write_text(
            dump_policy(b2b_saas()).replace("version = 1", "version = 1.5"),
            encoding="utf-8",
        )
        status, out, err = run("check", str(path), "--json")
        data = json.loads(out)
        assert (status, err) == (1, "")
        assert data["valid"] is False
        assert data["problems"][0]["path"] == "version"

    def test_a_missing_registry_is_an_error_even_as_json(self) -> None:
        """Not a policy problem but a command-line one: stderr, status 1."""
        status, out, err = run(
            "check", str(SHIPPED / "b2b_saas.toml"), "--json", "--criteria", "nope"
        )
        assert (status, out) == (1, "")
        assert "--criteria" in err


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as a person's shell is."""

    def isatty(self) -> bool:
        """Claim a terminal: the demo then shows its progress."""
        return True


class TestDemo:
    def test_the_demo_reports_a_quarter(self) -> None:
        """The report, SLA compliance and three leads' stories; nothing on stderr."""
        status, out, err = run("demo", "--leads", "300")
        assert (status, err) == (0, "")
        assert out.startswith("funnelkit demo: a synthetic quarter of 300 leads")
        for heading in (
            "Conversion (open:",
            "Time in stage",
            "Flow (opening",
            "SLA compliance",
            "Goals (forecast:",
            "Most common paths",
            "stage history:",
        ):
            assert heading in out
        assert out.count("\n== Lead ") == 3

    @pytest.mark.parametrize(
        ("seed", "expected"), [("5", "1 lead and 1 activity"), ("7", "1 lead and 2")]
    )
    def test_one_lead_is_said_so(self, seed: str, expected: str) -> None:
        """--leads 1: "1 lead and 1 activity", not "1 leads and 1 activities"."""
        out = run("demo", "--leads", "1", "--seed", seed)[1]
        assert out.startswith(f"funnelkit demo: a synthetic quarter of {expected} ")

    def test_a_seed_gives_the_same_text_byte_for_byte(self) -> None:
        """Two runs with one seed print the same; another seed, another quarter."""
        first = run("demo", "--leads", "200", "--seed", "3")[1]
        assert run("demo", "--leads", "200", "--seed", "3")[1] == first
        assert run("demo", "--leads", "200", "--seed", "4")[1] != first

    def test_sales_steps_planned_for_one_instant_do_not_crash(self) -> None:
        """--leads 400 --seed 3 plans two steps with one key: the demo still runs."""
        status, out, err = run("demo", "--leads", "400", "--seed", "3")
        assert (status, err) == (0, "")
        assert out.startswith("funnelkit demo: a synthetic quarter of 400 leads")

    @pytest.mark.parametrize("given", ["abc", "0", "-3"])
    def test_a_bad_number_of_leads_is_a_usage_error(
        self, given: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--leads abc: status 2, the option and the value named, no helper's name."""
        with pytest.raises(SystemExit) as info:
            run("demo", "--leads", given)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert (
            f"argument --leads: expected a whole number above 0, got '{given}'" in err
        )
        assert "_positive" not in err

    def test_json_for_machines(self) -> None:
        """--json prints the report and the example leads as JSON."""
        status, out, _ = run("demo", "--leads", "200", "--json")
        data = json.loads(out)
        assert status == 0
        assert data["leads"] == 200
        assert data["report"]["stages"][0] == "mql"
        assert {example["stage"] for example in data["examples"]} <= {
            "customer",
            "disqualified",
            "nurture",
        }

    def test_progress_shows_on_a_terminal_only(self) -> None:
        """On a terminal stderr shows a progress bar, then clears it."""
        out, err = io.StringIO(), _Terminal()
        assert main(["demo", "--leads", "300"], out, err) == 0
        assert "simulating the quarter [" in err.getvalue()
        assert err.getvalue().endswith("\r")

    def test_plot_writes_the_charts(self, tmp_path: Path) -> None:
        """--plot DIR writes the three charts and names them at the end."""
        status, out, _ = run("demo", "--leads", "200", "--plot", str(tmp_path / "c"))
        assert status == 0
        assert out.rstrip().endswith(str(tmp_path / "c" / "time_in_stage.png"))
        assert sorted(path.name for path in (tmp_path / "c").iterdir()) == [
            "cohorts.png",
            "funnel.png",
            "time_in_stage.png",
        ]
        assert run("demo", "--leads", "50", "--json", "--plot", str(tmp_path))[0] == 0

    def test_plot_into_a_file_is_an_error(self, tmp_path: Path) -> None:
        """--plot naming a file, not a folder: the error, status 1."""
        blocker = tmp_path / "file"
        blocker.write_text("", encoding="utf-8")
        status, out, err = run("demo", "--leads", "50", "--plot", str(blocker))
        assert (status, out) == (1, "")
        assert err == (
            f"--plot: cannot write the charts into {str(blocker)!r}: "
            f"{os.strerror(errno.EEXIST)}\n"
        )

    def test_plot_without_matplotlib_names_the_extra(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--plot without funnelkit[plot] installed: the extra to install, status 1."""
        monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
        status, out, err = run("demo", "--leads", "5", "--plot", str(tmp_path))
        assert (status, out) == (1, "")
        assert "funnelkit[plot]" in err
        assert err.count("\n") == 1

    def test_plot_into_nothing_is_a_usage_error(self) -> None:
        """--plot "" (an unset $DIR) is status 2, not a run without charts."""
        with pytest.raises(SystemExit) as info:
            run("demo", "--leads", "5", "--plot", "")
        assert info.value.code == 2

    def test_a_bad_count_of_leads_is_refused(self) -> None:
        """--leads 0 is a usage error (status 2), named."""
        with pytest.raises(SystemExit) as info:
            run("demo", "--leads", "0")
        assert info.value.code == 2

    def test_a_reader_that_goes_away_ends_it_quietly(self) -> None:
        """Output into a closed pipe (| head) gives status 1, no traceback."""
        read, write = os.pipe()
        os.close(read)
        with os.fdopen(write, "w") as closed:
            assert main(["demo", "--leads", "100"], closed, io.StringIO()) == 1

    def test_a_stream_without_a_descriptor_too(self) -> None:
        """A broken stream with no file descriptor: status 1 as well."""

        class Gone(io.StringIO):
            def write(self, _: str) -> int:
                raise BrokenPipeError

        assert main(["demo", "--leads", "100"], Gone(), io.StringIO()) == 1

    def test_an_output_that_cannot_be_written_is_one_line(self) -> None:
        """A full disk under the output: one line on stderr, status 1, no traceback."""

        class Full(io.StringIO):
            def write(self, _: str) -> int:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        err = io.StringIO()
        assert main(["check", "b2b_saas"], Full(), err) == 1
        assert err.getvalue() == (
            f"cannot write the output: {os.strerror(errno.ENOSPC)}\n"
        )

    def test_the_funnelkit_command_is_installed(self) -> None:
        """pip installs a `funnelkit` command that runs this command line."""
        (script,) = entry_points(group="console_scripts", name="funnelkit")
        assert script.load() is main

    def test_python_m_funnelkit_demo_runs(self) -> None:
        """The README's command, in a subprocess, prints the demo."""
        done = subprocess.run(
            [sys.executable, "-m", "funnelkit", "demo", "--leads", "100"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0
        assert done.stdout.startswith("funnelkit demo:")


class TestDemoSales:
    def test_sales_steps_that_came_too_late_do_nothing(self) -> None:
        """A lead that moved on before a rep acted: the rep's step gives no event."""
        funnel = Funnel(b2b_saas(), clock=ManualClock(demo.START))
        sales = demo._Sales(random.Random(1), funnel)  # noqa: S311 -- not a secret
        funnel.add_lead(Lead("L-1", demo.START))
        later = demo.START + timedelta(hours=1)
        # Still a lead: sales cannot accept it, nor qualify it.
        assert sales._move("L-1", "sal", "ana")(later) == []
        assert sales._qualify("L-1", "ana")(later) == []


LEADS = (
    "id,created_at,email,source,budget,industry,employees,title,country\n"
    "L-1,2026-03-02T09:00:00+00:00,ana@acme.example,webinar,true,software,800,"
    "VP Sales,DE\n"
    "L-2,2026-03-03T09:00:00+00:00,bo@gmail.com,ads,,retail,12,Analyst,BR\n"
)
ACTIVITIES = "\n".join(
    json.dumps(row)
    for row in (
        {"lead_id": "L-1", "kind": "webinar_attended", "at": "2026-03-02T10:00:00Z"},
        {"lead_id": "L-1", "kind": "demo_request", "at": "2026-03-02T11:00:00Z"},
        {"lead_id": "L-2", "kind": "page_view", "at": "2026-03-03T10:00:00Z"},
    )
)


@pytest.fixture
def history(tmp_path: Path) -> tuple[str, str, str]:
    """A leads file, an activities file and an outcomes file."""
    leads = tmp_path / "leads.csv"
    leads.write_text(LEADS, encoding="utf-8")
    activities = tmp_path / "activities.jsonl"
    activities.write_text(ACTIVITIES, encoding="utf-8")
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("lead_id,won\nL-1,yes\nL-2,no\n", encoding="utf-8")
    return str(leads), str(activities), str(outcomes)


class TestFileCommands:
    def test_score(self, history: tuple[str, str, str]) -> None:
        """score prints each lead's fit, engagement, total and matrix."""
        leads, activities, _ = history
        status, out, err = run("score", "b2b_saas", leads, activities)
        assert (status, err) == (0, "")
        assert out.splitlines()[0] == (
            "scores by 'b2b-default' at 2026-03-03T10:00:00+00:00"
        )
        assert out.splitlines()[3].split() == [
            "L-1",
            "75",
            "44.000434",
            "119.000434",
            "A2",
        ]
        status, out, _ = run(
            "score",
            "b2b_saas",
            leads,
            activities,
            "--at",
            "2026-03-02T10:30:00Z",
            "--json",
        )
        assert [row["lead_id"] for row in json.loads(out)] == ["L-1", "L-2"]

    def test_score_figures_are_the_explanations_and_add_up(
        self, history: tuple[str, str, str]
    ) -> None:
        """The text's fit and engagement sum to its total, as the JSON's do."""
        leads, activities, _ = history
        _, out, _ = run("score", "b2b_saas", leads, activities)
        _, data, _ = run("score", "b2b_saas", leads, activities, "--json")
        for line, row in zip(out.splitlines()[3:], json.loads(data), strict=True):
            _, fit, engagement, total, _ = line.split()
            assert (fit, engagement, total) == tuple(
                f"{row[key]:.6f}".rstrip("0").rstrip(".")
                for key in ("fit", "engagement", "total")
            )

    def test_score_at_an_offset_under_a_second(
        self, history: tuple[str, str, str]
    ) -> None:
        """--at keeps an offset's fraction of a second: not read as UTC."""
        leads, activities, _ = history
        at = ("--at", "2026-03-02T10:30:00-00:00:00.5")
        status, out, err = run("score", "b2b_saas", leads, activities, *at)
        assert (status, err) == (0, "")
        assert out.splitlines()[0] == (
            "scores by 'b2b-default' at 2026-03-02T10:30:00-00:00:00.500000"
        )

    def test_score_at_a_lowercase_z(self, history: tuple[str, str, str]) -> None:
        """--at takes a lowercase 'z' for UTC, as RFC 3339 allows."""
        leads, activities, _ = history
        at = ("--at", "2026-03-02T10:30:00z")
        status, out, err = run("score", "b2b_saas", leads, activities, *at)
        assert (status, err) == (0, "")
        assert out.splitlines()[0] == (
            "scores by 'b2b-default' at 2026-03-02T10:30:00+00:00"
        )

    def test_score_reads_times_with_nanoseconds(self, tmp_path: Path) -> None:
        """Data files' times of seven or nine digits keep their microseconds."""
        leads = tmp_path / "leads.csv"
        leads.write_text(
            "id,created_at\nL-1,2026-03-02T09:00:00.1234567Z\n", encoding="utf-8"
        )
        activities = tmp_path / "activities.jsonl"
        row = {
            "lead_id": "L-1",
            "kind": "page_view",
            "at": "2026-03-02T10:00:00.123456789Z",
        }
        activities.write_text(json.dumps(row) + "\n", encoding="utf-8")
        status, out, err = run("score", "b2b_saas", str(leads), str(activities))
        assert (status, err) == (0, "")
        assert out.splitlines()[0] == (
            "scores by 'b2b-default' at 2026-03-02T10:00:00.123456+00:00"
        )

    def test_score_with_no_lead(self, tmp_path: Path) -> None:
        """Empty files: nothing to score, said plainly (or as JSON)."""
        empty = tmp_path / "none.jsonl"
        empty.write_text("", encoding="utf-8")
        assert run("score", "b2b_saas", str(empty), str(empty))[1] == "no leads\n"
        assert run("score", "b2b_saas", str(empty), str(empty), "--json")[1] == "[]\n"

    def test_backtest_and_compare(
        self, history: tuple[str, str, str], tmp_path: Path
    ) -> None:
        """backtest prints the report; --compare a second policy, the differences."""
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        status, out, _ = run("backtest", "b2b_saas", *history, *window)
        assert status == 0
        assert out.startswith("Backtest of b2b-saas@1: 2 leads, 3 activities")
        policy = tmp_path / "policy.toml"
        policy.write_text(
            dump_policy(attrs.evolve(b2b_saas(), version=2)), encoding="utf-8"
        )
        status, out, _ = run(
            "backtest",
            "b2b_saas",
            *history,
            *window,
            "--compare",
            str(policy),
            "--json",
        )
        assert json.loads(out)["b"]["policy"] == "b2b-saas@2"

    def test_compare_with_another_mql_stage(
        self, history: tuple[str, str, str]
    ) -> None:
        """--compare-mql names the second policy's MQL stage: mql against pql."""
        argv = ("backtest", "b2b_saas", *history, *WINDOW, "--compare", "product_led")
        status, out, err = run(*argv, "--compare-mql", "pql", "--json")
        assert (status, err) == (0, "")
        data = json.loads(out)
        assert (data["a"]["policy"], data["b"]["policy"]) == (
            "b2b-saas@1",
            "product-led@1",
        )
        hint = " (--mql names POLICY's MQL stage, --compare-mql the --compare one's)"
        stage = "expected a stage of the policy"
        assert run(*argv) == (
            1,
            "",
            f"--compare-mql: {stage} 'product-led@1', got 'mql'{hint}\n",
        )
        assert run(*argv, "--mql", "pql") == (
            1,
            "",
            f"--mql: {stage} 'b2b-saas@1', got 'pql'{hint}\n",
        )
        assert run(*argv, "--compare-mql", "pq") == (
            1,
            "",
            f"--compare-mql: {stage} 'product-led@1', got 'pq'{hint}\n",
        )

    def test_compare_mql_without_compare_is_a_usage_error(
        self, history: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--compare-mql alone names no policy: a usage error naming both options."""
        with pytest.raises(SystemExit) as info:
            main(["backtest", "b2b_saas", *history, *WINDOW, "--compare-mql", "pql"])
        assert info.value.code == 2
        assert capsys.readouterr().err.endswith(
            "backtest: error: --compare-mql: expected --compare, whose stage it names\n"
        )

    def test_an_empty_compare_is_named(self, history: tuple[str, str, str]) -> None:
        """--compare "" (an empty $VAR) is an error, not a backtest of one policy."""
        status, out, err = run(
            "backtest", "b2b_saas", *history, *WINDOW, "--compare", ""
        )
        assert (status, out) == (1, "")
        assert err.startswith("--compare: expected a policy file")

    def test_the_score_table_lines_up_with_wide_values(self, tmp_path: Path) -> None:
        """A long lead id and big scores: each column as wide as its widest cell."""
        leads = tmp_path / "leads.csv"
        leads.write_text(
            "id,created_at\nL-1,2026-03-02T09:00:00Z\n"
            "a-lead-id-from-the-crm-00017,2026-03-02T09:00:00Z\n",
            encoding="utf-8",
        )
        activities = tmp_path / "activities.csv"
        activities.write_text(
            "lead_id,kind,at\nL-1,big,2026-03-02T10:00:00Z\n", encoding="utf-8"
        )
        policy = b2b_saas()
        model = ScoringModel("wide", [ActivityRule("big", 123456789)])
        path = tmp_path / "p.toml"
        path.write_text(dump_policy(attrs.evolve(policy, scoring=model)), "utf-8")
        status, out, _ = run("score", str(path), str(leads), str(activities))
        assert status == 0
        assert out.splitlines()[1:] == [
            "lead                          fit  engagement      total  matrix",
            "----------------------------  ---  ----------  ---------  ------",
            "L-1                             0   123456789  123456789      D1",
            "a-lead-id-from-the-crm-00017    0           0          0      D4",
        ]

    def test_report(self, tmp_path: Path) -> None:
        """report reads stage entries and prints the funnel report."""
        entries = tmp_path / "entries.csv"
        entries.write_text(
            "lead_id,stage,entered_at,exited_at,next_stage,origin\n"
            "L-1,mql,2026-03-02T09:00:00Z,2026-03-05T09:00:00Z,customer,ads\n"
            "L-2,mql,2026-03-03T09:00:00Z,,,web\n",
            encoding="utf-8",
        )
        arguments = ["report", str(entries), "--stages", "mql, customer"]
        arguments += [
            "--start",
            "2026-03-01T00:00:00Z",
            "--end",
            "2026-04-01T00:00:00Z",
        ]
        status, out, _ = run(*arguments, "--segment", "origin")
        assert status == 0
        assert "mql   customer" in out
        data = json.loads(run(*arguments, "--json")[1])
        assert data["conversions"][0]["converted"] == 1

    @pytest.mark.parametrize(
        ("stages", "note"),
        [
            ("mql,customer", ""),
            (
                "mql,sqll",
                (
                    "note: --stages: no row of {} is in stage 'sqll' or leads to "
                    "it (did you mean 'sql'?); its figures are zeros\n"
                ),
            ),
            (
                "MQL,customer",
                (
                    "note: --stages: no row of {} is in stage 'MQL' or leads to "
                    "it (did you mean 'mql'?); its figures are zeros\n"
                ),
            ),
            (
                "mql,won",
                (
                    "note: --stages: no row of {} is in stage 'won' or leads to it; "
                    "its figures are zeros\n"
                ),
            ),
        ],
    )
    def test_a_stage_no_row_has_is_noted(
        self, tmp_path: Path, stages: str, note: str
    ) -> None:
        """A path stage no row is in or leads to: a note on stderr, then the report."""
        entries = tmp_path / "entries.csv"
        entries.write_text(
            "lead_id,stage,entered_at,exited_at,next_stage\n"
            "L-1,mql,2026-03-02T09:00:00Z,2026-03-05T09:00:00Z,customer\n"
            "L-2,sql,2026-03-03T09:00:00Z,,\n",
            encoding="utf-8",
        )
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        status, out, err = run("report", str(entries), "--stages", stages, *window)
        assert (status, err) == (0, note.format(entries))
        assert out.startswith("Funnel report")

    def test_no_rows_no_note(self, tmp_path: Path) -> None:
        """An export with no rows yet: every stage is unreached, no note."""
        entries = tmp_path / "entries.csv"
        entries.write_text("lead_id,stage,entered_at\n", encoding="utf-8")
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        status, _, err = run("report", str(entries), "--stages", "mql,sql", *window)
        assert (status, err) == (0, "")

    @pytest.mark.parametrize("segment", ["orgin", "reason"])
    def test_a_segment_no_row_has_is_refused(
        self, tmp_path: Path, segment: str
    ) -> None:
        """--segment naming no column of the entries: an error, not rows of (none)."""
        entries = tmp_path / "entries.csv"
        entries.write_text(
            "lead_id,stage,entered_at,reason,origin\n"
            "L-1,mql,2026-03-02T09:00:00Z,,ads\n",
            encoding="utf-8",
        )
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        argv = ("report", str(entries), "--stages", "mql,sql", *window)
        expected = (
            f"--segment: expected a column of {entries} other than lead_id, stage, "
            "entered_at, exited_at, next_stage and reason, with a value in some "
            f"row, got {segment!r}\n"
        )
        assert run(*argv, "--segment", segment) == (1, "", expected)
        assert run(*argv, "--segment", "origin")[0] == 0

    @pytest.mark.parametrize(
        ("option", "error"),
        [
            (
                ("--stages", "mql,mql"),
                "--stages: expected each stage once, got 'mql,mql'",
            ),
            (
                ("--stages", "mql,customer", "--timezone", "Mars/Base"),
                "--timezone: expected an IANA time zone name, got 'Mars/Base'",
            ),
            (
                ("--stages", "mql,customer", "--now", "2026-02-01T00:00:00Z"),
                (
                    "--now: expected an instant no earlier than --start, "
                    "got 2026-02-01T00:00:00+00:00"
                ),
            ),
        ],
    )
    def test_a_bad_option_of_report_is_named_as_typed(
        self, tmp_path: Path, option: tuple[str, ...], error: str
    ) -> None:
        """An option the library refuses is named --option, its value as typed."""
        entries = tmp_path / "entries.csv"
        entries.write_text("lead_id,stage,entered_at\n", encoding="utf-8")
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        assert run("report", str(entries), *window, *option) == (1, "", error + "\n")

    def test_an_instant_past_the_year_9999_in_utc_is_named_as_typed(
        self, history: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """score --at whose UTC form is past 9999: named as typed, status 2."""
        leads, activities, _ = history
        with pytest.raises(SystemExit) as info:
            run(
                "score", "b2b_saas", leads, activities, "--at", "9999-12-31T23:00-05:00"
            )
        assert info.value.code == 2
        assert capsys.readouterr().err.endswith(
            "argument --at: expected an instant within datetime's range in UTC too "
            "(years 1 to 9999), got '9999-12-31T23:00-05:00'\n"
        )

    def test_a_bad_option_of_backtest_is_named_as_typed(
        self, history: tuple[str, str, str]
    ) -> None:
        """backtest's --mql and --end are named as options, the instant in ISO 8601."""
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        _, _, err = run("backtest", "b2b_saas", *history, *window, "--mql", "mq")
        assert err == "--mql: expected a stage of the policy 'b2b-saas@1', got 'mq'\n"
        backwards = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-02-01T00:00:00Z")
        _, _, err = run("backtest", "b2b_saas", *history, *backwards)
        expected = "--end: expected an instant after --start, got 2026-02-01T00:00:00"
        assert err == expected + "+00:00\n"
        _, _, err = run(
            "backtest", "b2b_saas", *history, *window, "--timezone", "Mars/Base"
        )
        assert err == "--timezone: expected an IANA time zone name, got 'Mars/Base'\n"

    def test_backtest_counts_months_in_the_time_zone(
        self, history: tuple[str, str, str]
    ) -> None:
        """--timezone gives the zone of the MQLs' months, in the text and the JSON."""
        argv = ("backtest", "b2b_saas", *history, *WINDOW)
        status, out, _ = run(*argv)
        assert (status, "MQLs by month (UTC):" in out) == (0, True)
        status, out, _ = run(*argv, "--timezone", "America/Los_Angeles", "--json")
        assert (status, json.loads(out)["timezone"]) == (0, "America/Los_Angeles")
        status, out, _ = run(*argv, "--compare", "b2b_saas", "--timezone", "Asia/Tokyo")
        assert out.count("MQLs by month (Asia/Tokyo):") == 2

    def test_a_bad_file_is_named_with_its_line_and_column(self, tmp_path: Path) -> None:
        """A naive instant in a leads file: the file, line and column; status 1."""
        leads = tmp_path / "leads.csv"
        leads.write_text("id,created_at\nL-1,2026-03-02T09:00:00\n", encoding="utf-8")
        status, out, err = run("score", "b2b_saas", str(leads), str(leads))
        assert (status, out) == (1, "")
        assert err.startswith(
            f"{leads}, line 2, column 'created_at': "
            "expected a datetime with a UTC offset"
        )

    @pytest.mark.parametrize(
        ("name", "content", "line", "problem"),
        [
            ("latin.csv", b"id,created_at\nL\xe91,2026-03-02T09:00:00Z\n", 2, "UTF-8"),
            ("deep.jsonl", b"[" * 100_000 + b"\n", 1, "nested too deeply"),
            (
                "big.csv",
                b"id,created_at,x\nL1,2026-03-02T09:00:00Z," + b"x" * 200_000 + b"\n",
                2,
                "field larger than field limit",
            ),
        ],
    )
    def test_an_unreadable_file_is_one_line(
        self, tmp_path: Path, name: str, content: bytes, line: int, problem: str
    ) -> None:
        """Bytes that are not UTF-8, deep JSON, a huge cell: one line, status 1."""
        leads = tmp_path / name
        leads.write_bytes(content)
        status, out, err = run("score", "b2b_saas", str(leads), str(leads))
        assert (status, out) == (1, "")
        assert err.startswith(f"{leads}, line {line}: ")
        assert problem in err
        assert err.count("\n") == 1

    def test_score_with_no_lead_but_activities(
        self, history: tuple[str, str, str], tmp_path: Path
    ) -> None:
        """A leads file of a header alone, with activities: no leads, status 0."""
        leads = tmp_path / "none.csv"
        leads.write_text("id,created_at\n", encoding="utf-8")
        _, activities, _ = history
        assert run("score", "b2b_saas", str(leads), activities) == (0, "no leads\n", "")

    @pytest.mark.parametrize(
        ("lead_id", "encoding", "shown"),
        [("L\u00e9-1", "ascii", "L\\xe9-1"), ("L-\\ud800", "utf-8", "L-\\ud800")],
    )
    def test_a_character_the_output_cannot_hold_is_escaped(
        self, tmp_path: Path, lead_id: str, encoding: str, shown: str
    ) -> None:
        """A console in ASCII, or a lone surrogate from JSON: escaped, no traceback."""
        leads = tmp_path / "leads.jsonl"
        leads.write_text(
            f'{{"id": "{lead_id}", "created_at": "2026-03-02T09:00:00Z"}}\n',
            encoding="utf-8",
        )
        activities = tmp_path / "none.jsonl"
        activities.write_text("", encoding="utf-8")
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding=encoding)
        assert main(["score", "b2b_saas", str(leads), str(activities)], out) == 0
        assert raw.getvalue().decode(encoding).splitlines()[3].split()[0] == shown

    def test_a_control_character_in_the_data_is_escaped(self, tmp_path: Path) -> None:
        """An escape sequence or a carriage return in a lead id reaches no terminal."""
        leads = tmp_path / "leads.jsonl"
        leads.write_text(
            json.dumps({"id": "L\x1b[2J\r1", "created_at": "2026-03-02T09:00:00Z"}),
            encoding="utf-8",
        )
        activities = tmp_path / "none.jsonl"
        activities.write_text("", encoding="utf-8")
        status, out, _ = run("score", "b2b_saas", str(leads), str(activities))
        assert status == 0
        assert out.splitlines()[3].split()[0] == "L\\x1b[2J\\r1"
        # The column is as wide as the id as shown, escaped.
        assert len({len(line) for line in out.splitlines()[1:]}) == 1
        _, out, _ = run("score", "b2b_saas", str(leads), str(activities), "--json")
        assert json.loads(out)[0]["lead_id"] == "L\x1b[2J\r1"

    def test_score_refuses_a_lead_given_twice(
        self, history: tuple[str, str, str], tmp_path: Path
    ) -> None:
        """A lead id given twice is named with both lines, as backtest refuses it."""
        leads = tmp_path / "twice.csv"
        leads.write_text(LEADS + LEADS.splitlines()[1] + "\n", encoding="utf-8")
        _, activities, outcomes = history
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        for argv in (
            ("score", "b2b_saas", str(leads), activities),
            ("backtest", "b2b_saas", str(leads), activities, outcomes, *window),
        ):
            status, out, err = run(*argv)
            assert (status, out) == (1, "")
            assert err == (
                f"{leads}, line 4, column 'id': expected each lead once, "
                "found 'L-1' again (first on line 2)\n"
            )

    def test_backtest_names_the_line_of_an_unknown_lead(
        self, history: tuple[str, str, str], tmp_path: Path
    ) -> None:
        """An activity of a lead not in the leads file: its file, line and column."""
        leads, _, outcomes = history
        activities = tmp_path / "activities.csv"
        activities.write_text(
            "lead_id,kind,at\n"
            "L-1,page_view,2026-03-02T10:00:00Z\n"
            "L-9,page_view,2026-03-02T11:00:00Z\n",
            encoding="utf-8",
        )
        window = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")
        status, out, err = run(
            "backtest", "b2b_saas", leads, str(activities), outcomes, *window
        )
        assert (status, out) == (1, "")
        assert err == (
            f"{activities}, line 3, column 'lead_id': "
            "expected one of the leads, found 'L-9'\n"
        )

    def test_a_bad_policy_is_one_line_per_problem(
        self, history: tuple[str, str, str], tmp_path: Path
    ) -> None:
        """score with a broken policy file: each problem on a line naming the file."""
        policy = tmp_path / "p.toml"
        policy.write_text(
            dump_policy(b2b_saas()).replace("version = 1", "version = 1.5"),
            encoding="utf-8",
        )
        leads, activities, _ = history
        status, out, err = run("score", str(policy), leads, activities)
        assert (status, out) == (1, "")
        assert err == f"{policy}: version: expected a whole number, found 1.5\n"

    def test_an_error_of_several_lines_is_one(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An error whose message runs over lines prints on one."""

        def fails(_: object) -> str:
            problems = [("a", "x"), ("b", "y")]
            raise SerializationError(target="Lead", problems=problems)

        monkeypatch.setitem(cli._COMMANDS, "score", fails)
        status, _, err = run("score", "b2b_saas", "l.csv", "a.csv")
        assert (status, err) == (
            1,
            "cannot build Lead from the data (2 problems): a: x; b: y\n",
        )

    @pytest.mark.parametrize(
        "instant",
        [
            "yesterday",
            "2026-03-01T00:00:00",
            "9999-12-31T23:00:00-05:00",
            "2026-03-01T00:30.5Z",  # Python would read 00:30:00.5, not 00:30:30
            "2026-03-01T00:00:00.1234567Z",  # typed, not exported: exact, as JSON
        ],
    )
    def test_a_bad_instant_argument_is_a_usage_error(self, instant: str) -> None:
        """--start must be ISO 8601 with an offset: argparse's status 2 otherwise."""
        with pytest.raises(SystemExit) as info:
            run(
                "report",
                "e.csv",
                "--stages",
                "a,b",
                "--start",
                instant,
                "--end",
                instant,
            )
        assert info.value.code == 2


#: A module of custom criteria, and a policy whose "sales accepts" guard
#: names one of them.
CRITERIA = (
    "import attrs\n"
    "from funnelkit import CriteriaRegistry, Criterion, Verdict\n"
    "registry = CriteriaRegistry()\n"
    "@registry.register('vip')\n"
    "@attrs.frozen\n"
    "class Vip(Criterion):\n"
    "    level: int\n"
    "    def check(self, ctx):\n"
    "        return Verdict(passed=True, criterion='vip', reason='always')\n"
)


@pytest.fixture
def custom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A policy file naming a custom criterion; its module importable."""
    (tmp_path / "vip_criteria.py").write_text(CRITERIA, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = dump_policy(b2b_saas()).replace(
        'name = "sales accepts"',
        'name = "sales accepts"\nguard = { vip = { level = 2 } }',
    )
    path = tmp_path / "custom.toml"
    path.write_text(text, encoding="utf-8")
    yield str(path)
    sys.modules.pop("vip_criteria", None)


WINDOW = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-04-01T00:00:00Z")


class TestCriteriaOption:
    @pytest.mark.parametrize("command", ["check", "score", "backtest", "compare"])
    def test_every_command_reading_a_policy_takes_criteria(
        self, custom: str, history: tuple[str, str, str], command: str
    ) -> None:
        """check, score and backtest (--compare too) load a custom criterion."""
        argv = {
            "check": ["check", custom],
            "score": ["score", custom, *history[:2]],
            "backtest": ["backtest", custom, *history, *WINDOW],
            "compare": ["backtest", "b2b_saas", *history, *WINDOW, "--compare", custom],
        }[command]
        status, _, err = run(*argv)
        assert status == 1
        assert err.startswith(f"{custom}: transitions[2].guard.vip: unknown key")
        status, out, err = run(*argv, "--criteria", "vip_criteria:registry")
        assert (status, err) == (0, "")
        assert out

    @pytest.mark.parametrize(
        ("spec", "error"),
        [
            ("no-colon", "--criteria: expected MODULE:NAME, got 'no-colon'"),
            ("vip_criteria:nothing", "--criteria: cannot load 'vip_criteria:nothing'"),
            (
                "funnelkit.policies:b2b_saas",
                "--criteria: 'funnelkit.policies:b2b_saas' is not a CriteriaRegistry",
            ),
        ],
    )
    @pytest.mark.parametrize("command", ["check", "score", "backtest"])
    def test_the_same_errors_from_each_command(
        self,
        custom: str,
        history: tuple[str, str, str],
        command: str,
        spec: str,
        error: str,
    ) -> None:
        """A bad --criteria is the same one line, status 1, whichever the command."""
        argv = {
            "check": ["check", custom],
            "score": ["score", custom, *history[:2]],
            "backtest": ["backtest", custom, *history, *WINDOW],
        }[command]
        status, out, err = run(*argv, "--criteria", spec)
        assert (status, out) == (1, "")
        assert err.startswith(error)
        assert err.count("\n") == 1

    def test_help_names_it_for_each_command(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """check, score and backtest list --criteria, in the same words."""
        helps = []
        for command in ("check", "score", "backtest"):
            with pytest.raises(SystemExit):
                main([command, "--help"])
            helps.append(capsys.readouterr().out)
        described = {
            text[text.index("\n  --criteria") : text.index("\n  --json")]
            for text in helps
        }
        assert len(described) == 1
        assert "CriteriaRegistry" in described.pop()


DOCS = Path(__file__).parent.parent / "docs" / "cli.md"


class TestHelp:
    @pytest.mark.parametrize(
        "command", ["demo", "check", "score", "report", "backtest"]
    )
    def test_each_command_s_help_and_the_docs_name_the_same(
        self, command: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A command's --help and its docs/cli.md line: the same options and names."""
        with pytest.raises(SystemExit):
            main([command, "--help"])
        usage = capsys.readouterr().out.split("\n\n")[0]
        text = DOCS.read_text(encoding="utf-8")
        start = text.index(f"$ python -m funnelkit {command} ")
        block = text[start : text.index("```", start)]
        documented = block.split("\n$")[0]

        def options(text: str) -> set[str]:
            return set(re.findall(r"--[a-z-]+", text))

        def names(text: str) -> set[str]:
            return set(re.findall(r"\b[A-Z][A-Z:]+\b", text))

        assert options(usage) == options(documented)
        assert names(documented) <= names(usage)
