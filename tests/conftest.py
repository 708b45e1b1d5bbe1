"""Shared test configuration: Hypothesis profiles; fixtures for seeds and stores."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from funnelkit import InMemoryStore, SQLiteStore, Store

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


@pytest.fixture
def store_of() -> Iterator[Callable[[str], Store]]:
    """Make stores by kind ("memory", or "sqlite" in memory), closed when the test ends.

    Python 3.13 warns of a database connection left open, which the suite's
    warning filter makes an error.
    """
    made: list[SQLiteStore] = []

    def make(kind: str) -> Store:
        if kind == "memory":
            return InMemoryStore()
        made.append(SQLiteStore(":memory:"))
        return made[-1]

    yield make
    for store in made:
        store.close()
