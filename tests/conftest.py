"""Shared test configuration: Hypothesis profiles."""

import os

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
