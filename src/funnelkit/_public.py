"""Present re-exported classes under the public module that users import."""

from __future__ import annotations

import attrs

__all__ = ["publish"]


def publish(module: str, *classes: type) -> None:
    """Set ``__module__`` of *classes* to *module*, so reprs say ``funnelkit.Lead``.

    String annotations (``from __future__ import annotations``) are resolved
    first, against the module that defined each class: once ``__module__``
    changes, ``typing.get_type_hints`` would look them up in the wrong place.
    """
    for cls in classes:
        if attrs.has(cls):
            attrs.resolve_types(cls)
        cls.__module__ = module
