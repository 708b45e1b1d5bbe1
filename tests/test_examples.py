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


class TestFunnelDay:
    def test_prints_the_day_and_the_reason(self) -> None:
        """The one-lead example runs the default funnel and explains the move."""
        result = subprocess.run(  # noqa: S603 -- our own script, with this Python
            [sys.executable, str(EXAMPLES / "funnel_day.py")],
            capture_output=True,
            text=True,
            check=True,
        )
        lines = result.stdout.splitlines()
        assert "Mon 11:30  StageChanged: lead -> mql by auto" in lines
        assert "Tue 09:30  SlaWarning: mql_accepted" in lines
        assert "Tue 11:30  SlaBreached: mql_accepted, tell sales_manager" in lines
        assert "Tue 16:25  SlaMet: first_touch" in lines
        assert "Why lead -> mql:" in lines
        assert lines[-1].startswith("  passed: fit score at least 30")
