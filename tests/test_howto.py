"""The how-to "Test your qualification policy": its claims hold, its tests can fail."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from funnelkit._cli import main

pytest_plugins = ["pytester"]

HOWTO = Path(__file__).parent.parent / "docs" / "howto"
PAGE = Path(__file__).parent.parent / "docs" / "test-your-policy.md"
UNSUBSCRIBED = '{ did_activity = { kinds = ["unsubscribe"], within = "30 days" } }'
GUARD = f"    {{ not = {UNSUBSCRIBED} }},\n"

# The draft runs with a fixed seed and no shrinking: the test needs the
# failure, not its simplest form.
PROFILE = """
from hypothesis import Phase, settings

settings.register_profile(
    "draft", derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate]
)
settings.load_profile("draft")
"""


def draft() -> str:
    """inbound.toml with the unsubscribe guard taken off "re-engaged" only."""
    text = (HOWTO / "inbound.toml").read_text()
    start = text.index('name = "re-engaged"')
    end = text.index("[[transitions]]", start)
    return text[:start] + text[start:end].replace(GUARD, "") + text[end:]


class TestDraft:
    def test_differs_by_one_guard(self) -> None:
        """The draft is the policy less one line: the guard of "re-engaged"."""
        policy = (HOWTO / "inbound.toml").read_text().splitlines()
        assert len(policy) - len(draft().splitlines()) == 1
        assert policy.count(GUARD.rstrip("\n")) == 2  # both ways into mql

    def test_the_property_finds_it(self, pytester: pytest.Pytester) -> None:
        """Against the draft, the property test fails on a lead back from nurture."""
        pytester.makefile(".toml", inbound=draft())
        pytester.makepyfile(test_inbound=(HOWTO / "test_inbound.py").read_text())
        pytester.makeconftest(PROFILE)
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:funnelkit")
        result.assert_outcomes(passed=3, failed=1)
        result.stdout.fnmatch_lines(
            ["E * AssertionError: nurture -> mql at *, * unsubscribe(s) since *"]
        )


class TestPage:
    def test_check_output(self) -> None:
        """The page shows what `python -m funnelkit check` prints for the policy."""
        ((path, shown),) = re.findall(
            r"```console\n\$ python -m funnelkit check (\S+)\n(.+?)```",
            PAGE.read_text(),
            re.DOTALL,
        )
        out = io.StringIO()
        assert main(["check", str(HOWTO / "inbound.toml")], out) == 0
        assert path == "docs/howto/inbound.toml"
        assert out.getvalue() == shown
