"""The command line: python -m funnelkit check."""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from funnelkit import ScoreAtLeast, SlaRule, dump_policy
from funnelkit._cli import main
from funnelkit.policies import b2b_saas

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

    def test_an_invalid_file(self, tmp_path: Path) -> None:
        """A file with problems prints them all to stderr and exits 1."""
        path = tmp_path / "p.toml"
        text = dump_policy(b2b_saas()).replace("version = 1", "version = 1.5")
        path.write_text(text.replace("auto = true", "auto = 1", 1), encoding="utf-8")
        status, out, err = run("check", str(path))
        assert (status, out) == (1, "")
        assert f"policy file {path}: 2 problems:" in err
        assert "version: expected a whole number, found 1.5" in err
        assert "transitions[0].auto: expected true or false" in err

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

    def test_a_registry_from_a_module(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A registry named on the command line lets its criteria load."""
        module = tmp_path / "my_criteria.py"
        module.write_text(
            "import attrs\n"
            "from funnelkit import CriteriaRegistry, Criterion, Verdict\n"
            "registry = CriteriaRegistry()\n"
            "@registry.register('vip')\n"
            "@attrs.frozen\n"
            "class Vip(Criterion):\n"
            "    level: int\n"
            "    def check(self, ctx):\n"
            "        return Verdict(True, 'vip', 'always')\n",
            encoding="utf-8",
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        text = dump_policy(b2b_saas()).replace(
            'name = "sales accepts"',
            'name = "sales accepts"\nguard = { vip = { level = 2 } }',
        )
        path = tmp_path / "p.toml"
        path.write_text(text, encoding="utf-8")
        assert run("check", str(path))[0] == 1
        status, out, _ = run("check", str(path), "--criteria", "my_criteria:registry")
        assert status == 0
        assert "sales accepts: mql -> sal, by hand, when Vip" in out

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

    def test_usage_errors(self) -> None:
        """A command line without a command is a usage error (status 2)."""
        with pytest.raises(SystemExit) as info:
            run()
        assert info.value.code == 2
