import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


class TestQuickstart:
    def test_prints_lead_and_activity_json(self) -> None:
        """The README's example script runs and prints both values as JSON."""
        result = subprocess.run(  # noqa: S603 -- our own script, with this Python
            [sys.executable, str(EXAMPLES / "quickstart.py")],
            capture_output=True,
            text=True,
            check=True,
        )
        lead_part, activity_part = result.stdout.split("Activity:\n")
        assert lead_part.startswith("Lead:\n")
        lead = json.loads(lead_part.removeprefix("Lead:\n"))
        activity = json.loads(activity_part)
        assert lead["id"] == activity["lead_id"] == "L-1001"
        assert activity["at"] == "2026-03-02T09:30:00+01:00[Europe/Berlin]"
        assert len(activity["id"]) == 32
