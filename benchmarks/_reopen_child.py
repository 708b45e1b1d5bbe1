"""Reopen a store in a process of its own, as a restarted host would, and tick.

``bench_store.py`` runs it: ``python _reopen_child.py PATH NOW [paused]``. It prints one
JSON line: the seconds from opening the file to the end of the first
``funnel.tick(NOW)`` (imports are done before, and timed apart), how many
events the tick gave, and a digest of their JSON text, which the parent
compares with the in-memory funnel's same tick.
"""

from __future__ import annotations

import time

_IMPORTING = time.perf_counter()

# The imports a restarted host makes before it opens its store.
import gc  # noqa: E402 -- timed from the line above
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import datetime  # noqa: E402

from funnelkit import Event, Funnel, FunnelPolicy, SQLiteStore, policies  # noqa: E402
from funnelkit.serialization import to_json  # noqa: E402
from funnelkit.testing import ManualClock  # noqa: E402

_IMPORT_SECONDS = time.perf_counter() - _IMPORTING


def digest(events: Sequence[Event]) -> str:
    """Return the SHA-256 of the events' JSON text: equal events, equal digests."""
    text = to_json(list(events), cls=list[Event])
    return hashlib.sha256(text.encode()).hexdigest()


def reopen(
    policy: FunnelPolicy,
    path: str | os.PathLike[str],
    now: datetime,
    *,
    paused: bool = False,
) -> tuple[float, list[Event]]:
    """Return the seconds to open the file, make a funnel and tick; the events.

    *paused*: the cyclic garbage collector is paused for those steps and
    turned back on after (timed too), as a host may choose to do.
    """
    gc.collect()
    began = time.perf_counter()
    if paused:
        gc.disable()
    try:
        store = SQLiteStore(path)
        funnel = Funnel(policy, store=store, clock=ManualClock(now))
        events = funnel.tick(now)
    finally:
        if paused:
            gc.enable()
    seconds = time.perf_counter() - began
    store.close()
    return seconds, events


def main() -> None:
    """Open the store at argv[1], make a funnel on it, tick at argv[2]; print.

    A third argument, ``paused``, pauses the collector for it (see reopen).
    """
    seconds, events = reopen(
        policies.b2b_saas(),
        sys.argv[1],
        datetime.fromisoformat(sys.argv[2]),
        paused=sys.argv[3:] == ["paused"],
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "import_seconds": _IMPORT_SECONDS,
                "events": len(events),
                "digest": digest(events),
            }
        )
    )


if __name__ == "__main__":
    main()
