import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


class TestReadme:
    def test_ci_runs_the_readme_test_command(self) -> None:
        """.ci/run runs the README's test command word for word."""
        readme = (ROOT / "README.md").read_text()
        commands = re.findall(r"```console\n(.+?)\n```", readme)
        test_command = next(c for c in commands if "pytest" in c)
        assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()

    def test_changelog_has_unreleased_section(self) -> None:
        """CHANGELOG.md keeps an Unreleased section on top."""
        changelog = (ROOT / "CHANGELOG.md").read_text()
        assert changelog.index("## [Unreleased]") < changelog.index("### Added")


class TestContributing:
    def test_every_module_is_listed(self) -> None:
        """CONTRIBUTING.md gives each module of src/ a line."""
        listed = (ROOT / "CONTRIBUTING.md").read_text()
        modules = sorted(
            str(path.relative_to(ROOT / "src"))
            for path in (ROOT / "src" / "funnelkit").rglob("*.py")
            if path.name != "__init__.py" or path.parent.name == "funnelkit"
        )
        missing = [module for module in modules if f"`{module}`" not in listed]
        assert not missing
