"""The pytest plugin: the funnel_clock and scenario fixtures, with no imports."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from funnelkit.testing import pytest_plugin

pytest_plugins = ["pytester"]

DOCS = Path(__file__).parent.parent / "docs" / "testing.md"


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Run *source* as a test module of a project that installed funnelkit."""
    pytester.makepyfile(test_host=source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


class TestRegistration:
    def test_entry_point(self) -> None:
        """Installing funnelkit registers the plugin as pytest11 "funnelkit"."""
        (found,) = [
            point
            for point in entry_points(group="pytest11")
            if point.name == "funnelkit"
        ]
        assert found.value == "funnelkit.testing.pytest_plugin"
        assert found.load() is pytest_plugin

    def test_public_names(self) -> None:
        """The plugin offers its fixtures, their start and the factory's type."""
        assert pytest_plugin.__all__ == [
            "FUNNEL_CLOCK_START",
            "ScenarioFactory",
            "funnel_clock",
            "scenario",
        ]
        assert pytest_plugin.FUNNEL_CLOCK_START.isoformat() == (
            "2026-03-02T09:00:00+00:00"
        )

    def test_turned_off(self, pytester: pytest.Pytester) -> None:
        """-p no:funnelkit turns the fixtures off."""
        result = run(
            pytester, "def test_clock(funnel_clock):\n    pass\n", "-p", "no:funnelkit"
        )
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*fixture 'funnel_clock' not found*"])


class TestFixtures:
    def test_funnel_clock(self, pytester: pytest.Pytester) -> None:
        """funnel_clock is a ManualClock at Monday 09:00 UTC, new in every test."""
        result = run(
            pytester,
            """
            from datetime import timedelta

            from funnelkit.testing import ManualClock


            def test_starts_at_monday_nine(funnel_clock):
                assert isinstance(funnel_clock, ManualClock)
                assert funnel_clock.now().isoformat() == "2026-03-02T09:00:00+00:00"
                funnel_clock.advance(timedelta(days=3))


            def test_is_new_in_every_test(funnel_clock):
                assert funnel_clock.now().isoformat() == "2026-03-02T09:00:00+00:00"
            """,
        )
        result.assert_outcomes(passed=2)

    def test_scenario(self, pytester: pytest.Pytester) -> None:
        """scenario(policy, ...) makes scenarios on the test's funnel_clock."""
        result = run(
            pytester,
            """
            from datetime import UTC, datetime

            from funnelkit.policies import b2b_saas


            def test_on_the_clock(scenario, funnel_clock):
                story = scenario(b2b_saas()).lead().advance("1h")
                assert story.clock is funnel_clock
                assert funnel_clock.now().isoformat() == "2026-03-02T10:00:00+00:00"


            def test_start_and_timezone(scenario, funnel_clock):
                story = scenario(
                    b2b_saas(), start="2026-03-02 09:00", timezone="Europe/Berlin"
                )
                assert funnel_clock.now() == datetime(2026, 3, 2, 8, tzinfo=UTC)
                assert story.now == funnel_clock.now()


            def test_a_failed_expectation(scenario):
                scenario(b2b_saas()).lead().expect_stage("mql")


            def test_no_going_back(scenario, funnel_clock):
                import pytest
                from funnelkit.errors import ValidationError

                first = scenario(b2b_saas(), start="2026-03-10 09:00")
                with pytest.raises(ValidationError, match="would go back in time"):
                    scenario(b2b_saas(), start="2026-03-05 09:00")
                assert funnel_clock.now() == first.now
                assert scenario(b2b_saas(), start="2026-03-11 09:00").now == first.now
            """,
        )
        result.assert_outcomes(passed=3, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*AssertionError: expected stage 'mql', found 'lead'",
                "*timeline:",
                "*Mon 2026-03-02 09:00 UTC  entered lead by auto",
            ]
        )

    def test_the_docs_example(self, pytester: pytest.Pytester) -> None:
        """The test module shown in docs/testing.md passes as it stands."""
        (source,) = re.findall(
            r"```python\n(# test_policy\.py\n.+?)```", DOCS.read_text(), re.DOTALL
        )
        result = run(pytester, source)
        result.assert_outcomes(passed=3)
