"""Build a lead and an activity, serialize them, and print the JSON.

Run it with ``python examples/quickstart.py``.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from funnelkit import Activity, Bant, Lead, kinds
from funnelkit.serialization import from_json, to_json


def main() -> None:
    """Build, serialize and read back one lead and one activity."""
    berlin = ZoneInfo("Europe/Berlin")
    lead = Lead(
        "L-1001",
        datetime(2026, 3, 2, 9, 0, tzinfo=berlin),
        email="ana@acme.example",
        attributes={"industry": "software", "employees": 250, "country": "DE"},
        bant=Bant(budget=True, need=True),
        source="paid_search",
    )
    download = Activity(
        lead.id,
        kinds.CONTENT_DOWNLOAD,
        datetime(2026, 3, 2, 9, 30, tzinfo=berlin),
        properties={"asset": "whitepaper"},
    )
    for value in (lead, download):
        text = to_json(value, indent=2)
        assert from_json(text, type(value)) == value  # noqa: S101 -- the round trip is the point
        print(f"{type(value).__name__}:")
        print(text)


if __name__ == "__main__":
    main()
