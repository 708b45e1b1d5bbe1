"""Every error funnelkit raises, under one root: :class:`FunnelkitError`.

Each error also derives from the builtin exception a caller would expect
(a bad value is a :class:`ValueError`), and carries its data as attributes, so
nobody has to parse the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "FunnelkitError",
    "FunnelkitWarning",
    "NaiveDatetimeError",
    "PolicyError",
    "SerializationError",
    "ValidationError",
]


class FunnelkitError(Exception):
    """The root of every error funnelkit raises.

    Catch this to handle any funnelkit problem in one place.
    """

    _kwargs: dict[str, object]

    def __reduce__(self) -> str | tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which the default pickling
        # (``cls(*args)``) cannot pass: rebuild from the keywords instead.
        kwargs = getattr(self, "_kwargs", None)
        if kwargs is None:
            return super().__reduce__()
        return (_rebuild, (type(self), kwargs))


def _rebuild(cls: type[FunnelkitError], kwargs: dict[str, object]) -> FunnelkitError:
    return cls(**kwargs)


class FunnelkitWarning(UserWarning):
    """The root of every warning funnelkit emits."""


class ValidationError(FunnelkitError, ValueError):
    """A value was rejected where it entered funnelkit.

    Attributes:
        field: The name of the rejected field or argument, e.g. ``"at"`` or
            ``"properties['plan']"``.
        value: The rejected value itself.
        expected: What would have been accepted, in words.
        owner: The name of the type the field belongs to (``"Activity"``), or
            ``None`` for a function argument.
    """

    field: str
    value: object
    expected: str
    owner: str | None

    def __init__(
        self,
        *,
        field: str,
        value: object,
        expected: str,
        owner: str | None = None,
    ) -> None:
        self._kwargs = {
            "field": field,
            "value": value,
            "expected": expected,
            "owner": owner,
        }
        self.field = field
        self.value = value
        self.expected = expected
        self.owner = owner
        where = f"{owner}.{field}" if owner else field
        super().__init__(f"{where}: expected {expected}, got {value!r}")


class NaiveDatetimeError(ValidationError):
    """A datetime without a time zone was given where an aware one is required.

    funnelkit never guesses a time zone: attach one, e.g.
    ``datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))``.
    """

    def __init__(self, *, field: str, value: object, owner: str | None = None) -> None:
        super().__init__(
            field=field,
            value=value,
            owner=owner,
            expected="a timezone-aware datetime (funnelkit never assumes a time zone)",
        )
        self._kwargs = {"field": field, "value": value, "owner": owner}


class PolicyError(ValidationError):
    """A policy, or a part of one (a scoring rule, a model), is not valid.

    Raised where the part is built, naming the part, the field, the value and
    what was expected.

    Attributes:
        owner: The part, e.g. ``"ActivityRule 'pricing views'"``.
        field: The field of that part, e.g. ``"max_count"``.
        value: The rejected value.
        expected: What would have been accepted, in words.
    """

    def __init__(
        self, *, owner: str | None, field: str, value: object, expected: str
    ) -> None:
        super().__init__(owner=owner, field=field, value=value, expected=expected)
        where = f"{owner}, {field}" if owner else field
        self.args = (f"{where}: expected {expected}, got {value!r}",)


class SerializationError(FunnelkitError, ValueError):
    """Data could not be turned into a funnelkit value.

    Every problem found is listed, each with the path of the bad field in the
    input, such as ``activities[3].at``.

    Attributes:
        target: The name of the type that was being built.
        problems: ``(path, message)`` pairs, one per problem, in input order.
            The path is ``""`` for the document as a whole.
    """

    target: str
    problems: tuple[tuple[str, str], ...]

    def __init__(self, *, target: str, problems: Sequence[tuple[str, str]]) -> None:
        self._kwargs = {"target": target, "problems": problems}
        self.target = target
        self.problems = tuple(problems)
        lines = [
            f"  {path or '(the whole document)'}: {message}"
            for path, message in self.problems
        ]
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"cannot build {target} from the data ({count} {noun}):\n"
            + "\n".join(lines)
        )
