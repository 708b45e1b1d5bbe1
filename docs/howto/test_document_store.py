"""A Store on a host's own database, and the conformance suite run on it.

The database here is tables of JSON documents.

The "database" is a dict of tables, each a dict from key to JSON text, so
that the example runs anywhere; the comments say what a PostgreSQL store
does at the same place.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from funnelkit import Activity, Commit, Input, LeadState, Store
from funnelkit.serialization import from_json, to_json
from funnelkit.testing.store_conformance import StoreConformance

Tables = dict[str, dict[str, str]]


class DocumentStore:
    """Lead states, activities, wakes and the input log as JSON documents."""

    def __init__(self, tables: Tables | None = None) -> None:
        # PostgreSQL: a connection, and tables leads(id, state jsonb, wake
        # timestamptz), activities(lead_id, at, id, body jsonb), inputs(seq
        # bigserial, body jsonb), meta(key, value).
        self.tables: Tables = tables if tables is not None else {}
        for name in ("leads", "wakes", "activities", "inputs", "meta"):
            self.tables.setdefault(name, {})
        self._lock = threading.RLock()

    def transaction(self) -> AbstractContextManager[object]:
        # PostgreSQL: BEGIN, then SELECT ... FOR UPDATE on the leads the call
        # reads, so that another process waits until this call commits.
        return self._lock

    def written_under(self) -> str | None:
        return self.tables["meta"].get("policy")

    def state(self, lead_id: str, /) -> LeadState | None:
        text = self.tables["leads"].get(lead_id)
        return None if text is None else from_json(text, LeadState)

    def activities(self, lead_id: str, /) -> Sequence[Activity]:
        text = self.tables["activities"].get(lead_id, "[]")
        return from_json(text, list[Activity])

    def has_activity(self, lead_id: str, activity_id: str, /) -> bool:
        # PostgreSQL: SELECT 1 FROM activities WHERE lead_id = %s AND id = %s
        return any(a.id == activity_id for a in self.activities(lead_id))

    def wake(self, lead_id: str, /) -> datetime | None:
        text = self.tables["wakes"].get(lead_id)
        return None if text is None else from_json(text, datetime)

    def due(self, now: datetime, /) -> list[tuple[datetime, str]]:
        # PostgreSQL: SELECT wake, id FROM leads WHERE wake <= %s
        # ORDER BY wake, id, on an index of wake: the cost follows the leads due.
        found = [(self.wake(lead_id), lead_id) for lead_id in self.tables["wakes"]]
        limit = now.astimezone(UTC)
        due = [
            (at, lead_id) for at, lead_id in found if at and at.astimezone(UTC) <= limit
        ]
        return sorted(due, key=lambda pair: (pair[0].astimezone(UTC), pair[1]))

    def commit(self, change: Commit, /) -> None:
        # Everything is made first, then written at once: all or nothing.
        # PostgreSQL: the INSERTs and UPDATEs, then COMMIT.
        with self._lock:
            leads = {s.lead.id: to_json(s) for s in change.states}
            activities: dict[str, list[Activity]] = {}
            for activity in change.activities:
                known = activities.setdefault(
                    activity.lead_id, list(self.activities(activity.lead_id))
                )
                known.append(activity)
                # By instant: two times of one zone compare on their clocks,
                # and 01:50 BST would go after 01:10 GMT when clocks go back.
                known.sort(key=lambda a: (a.at.astimezone(UTC), a.id))
            texts = {
                lead_id: to_json(found, cls=list[Activity])
                for lead_id, found in activities.items()
            }
            log = self.tables["inputs"]
            entry = to_json(change.input, cls=Input)
            self.tables["leads"].update(leads)
            self.tables["activities"].update(texts)
            for lead_id, at in change.wakes:
                if at is None:
                    self.tables["wakes"].pop(lead_id, None)
                else:
                    self.tables["wakes"][lead_id] = to_json(at)
            log[f"{len(log):012d}"] = entry
            if change.policy is not None:
                self.tables["meta"]["policy"] = change.policy

    def inputs(self) -> Iterator[Input]:
        log = self.tables["inputs"]
        return (from_json(log[key], Input) for key in sorted(log))  # type: ignore[arg-type] # a union

    def lead_ids(self) -> Iterator[str]:
        # PostgreSQL: SELECT id FROM leads ORDER BY number (a serial column).
        return iter(list(self.tables["leads"]))

    def __len__(self) -> int:
        return len(self.tables["leads"])


# -- The suite ----------------------------------------------------------------


class TestDocumentStore(StoreConformance):
    """Every check of the suite, on the document store."""

    def make_store(self) -> Store:
        """A store on new, empty tables."""
        return DocumentStore()

    def reopen(self, store: Store) -> Store:
        """The same tables, opened anew: what a restart sees."""
        assert isinstance(store, DocumentStore)
        return DocumentStore(store.tables)
