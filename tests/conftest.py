"""Shared test configuration: Hypothesis profiles, and a fixture for hash seeds."""

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings

# "ci": more examples, derandomized so a run is reproducible, no deadline on a
# shared machine. "dev": quick. CI sets CI=true; HYPOTHESIS_PROFILE overrides.
settings.register_profile(
    "ci",
    max_examples=300,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)


def _printed(code: str, *, seeds: tuple[str, ...]) -> set[str]:
    """What *code* prints, run by this interpreter under each hash seed."""
    seen = set()
    for seed in seeds:
        done = subprocess.run(  # noqa: S603 -- this interpreter, fixed code
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        seen.add(done.stdout)
    return seen


@pytest.fixture
def printed() -> Callable[..., set[str]]:
    """Run code under each of some hash seeds; give the set of what it printed."""
    return _printed
