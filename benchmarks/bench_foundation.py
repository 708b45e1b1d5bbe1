"""Cost of funnelkit's foundation: building validated values and their JSON.

Run: python benchmarks/bench_foundation.py

Every activity a host records is built, validated and given a derived id
first, so these costs sit under every later figure (scoring, the engine).
Peers in the same run: a plain dataclass with no validation and stdlib json
(the floor), and pydantic v2 (what a developer would pick for validated
models with JSON), when installed (benchmarks/requirements.txt).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime

from _harness import per_call_us, table

from funnelkit import Activity, Lead
from funnelkit.serialization import from_json, to_json

Scalar = str | int | float | bool | None  # a property or attribute value

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
PROPS: dict[str, Scalar] = {"asset": "whitepaper", "campaign": "q1-launch"}
N = 20_000


@dataclasses.dataclass(frozen=True, slots=True)
class PlainActivity:
    """The floor: no validation, no derived id."""

    lead_id: str
    kind: str
    at: datetime
    id: str
    properties: dict[str, Scalar]
    source: str | None = None


def _plain_to_json(a: PlainActivity) -> str:
    return json.dumps(
        {
            "lead_id": a.lead_id,
            "kind": a.kind,
            "at": a.at.isoformat(),
            "id": a.id,
            "properties": a.properties,
            "source": a.source,
        }
    )


def _plain_from_json(text: str) -> PlainActivity:
    data = json.loads(text)
    return PlainActivity(
        data["lead_id"],
        data["kind"],
        datetime.fromisoformat(data["at"]),
        data["id"],
        data["properties"],
        data["source"],
    )


Case = tuple[str, Callable[[], object], str]


def _pydantic_cases() -> list[Case]:
    try:
        import pydantic  # noqa: PLC0415 -- optional peer
    except ImportError:
        return []

    class PydActivity(pydantic.BaseModel):  # type: ignore[misc] # pydantic is Any
        model_config = pydantic.ConfigDict(frozen=True, extra="forbid")
        lead_id: str = pydantic.Field(min_length=1)
        kind: str = pydantic.Field(min_length=1)
        at: pydantic.AwareDatetime
        id: str = pydantic.Field(min_length=1)
        properties: dict[str, str | int | float | bool | None] = {}
        source: str | None = None

    def build() -> PydActivity:
        return PydActivity(
            lead_id="L-1", kind="page_view", at=AT, id="A-1", properties=PROPS
        )

    built = build()
    text = built.model_dump_json()
    return [
        ("pydantic v2: build (validated, explicit id)", build, "peer"),
        ("pydantic v2: to JSON", built.model_dump_json, "peer"),
        (
            "pydantic v2: from JSON",
            lambda: PydActivity.model_validate_json(text),
            "peer",
        ),
    ]


def main() -> None:
    """Measure and print the table."""
    activity = Activity("L-1", "page_view", AT, properties=PROPS)
    text = to_json(activity)
    plain = PlainActivity("L-1", "page_view", AT, "A-1", PROPS)
    plain_text = _plain_to_json(plain)
    attributes: dict[str, Scalar] = {"a": 1, "b": "x", "c": True}
    peers = _pydantic_cases()
    cases: list[Case] = [
        (
            "funnelkit: Activity, derived id",
            lambda: Activity("L-1", "page_view", AT, properties=PROPS),
            "validates 6 fields, SHA-256 of canonical JSON",
        ),
        (
            "funnelkit: Activity, explicit id",
            lambda: Activity("L-1", "page_view", AT, id="A-1", properties=PROPS),
            "validation only",
        ),
        (
            "funnelkit: Lead, 3 attributes",
            lambda: Lead("L-1", AT, attributes=attributes),
            "",
        ),
        ("funnelkit: to_json(activity)", lambda: to_json(activity), ""),
        (
            "funnelkit: from_json(text, Activity)",
            lambda: from_json(text, Activity),
            "strict: every field checked, paths on error",
        ),
        (
            "floor: plain dataclass build",
            lambda: PlainActivity("L-1", "page_view", AT, "A-1", PROPS),
            "no validation",
        ),
        ("floor: dataclass + json.dumps", lambda: _plain_to_json(plain), ""),
        ("floor: json.loads + dataclass", lambda: _plain_from_json(plain_text), ""),
        *peers,
    ]
    rows = [
        (label, f"{per_call_us(func, number=N):.2f}", note)
        for label, func, note in cases
    ]
    if not peers:
        rows.append(("pydantic v2", "-", "pip install -r benchmarks/requirements.txt"))
    print("Foundation costs: median of 7 runs, microseconds per call.")
    print("This issue sets no targets; later issues' targets build on these.")
    print(table(rows, ("operation", "us/call", "note")))


if __name__ == "__main__":
    main()
