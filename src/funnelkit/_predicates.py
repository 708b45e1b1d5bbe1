"""Value tests: the small predicate vocabulary of attribute and property rules.

``equals``, ``one_of``, ``between``, ``matches``, ``present`` and ``absent``
build tests that combine with ``&``, ``|`` and ``~``. A test never raises on
odd data: a missing value or a value of the wrong type simply does not match,
and the test says why in words.
"""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from typing import Final, final

import attrs

from funnelkit._validators import SCALAR_TYPES, Scalar, is_finite_number
from funnelkit.errors import PolicyError

__all__ = [
    "MISSING",
    "ValueTest",
    "absent",
    "between",
    "equals",
    "matches",
    "one_of",
    "present",
]


@final
class _Missing:
    """The value of an attribute the lead does not have (distinct from None)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Stands for an attribute or property the lead or activity does not have.
MISSING: Final = _Missing()

_MAX_PATTERN = 1_000


def _show(value: object) -> str:
    return "missing" if value is MISSING else repr(value)


def _same(left: object, right: object) -> bool:
    # 1 == True in Python, but a CRM's true is not the number one.
    return type(left) is type(right) or (
        isinstance(left, int | float)
        and isinstance(right, int | float)
        and not isinstance(left, bool)
        and not isinstance(right, bool)
    )


class ValueTest:
    """A test of one value, such as ``equals("software")`` or ``between(10, 500)``.

    Combine tests with ``&`` (both), ``|`` (either) and ``~`` (not).
    """

    __slots__ = ()

    @abstractmethod
    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        """Return whether *value* passes, and a phrase saying why.

        The phrase completes a sentence that starts with the value's name
        and a space, so it starts with no space of its own: ``"is
        'software'"`` reads ``industry is 'software'``.

        >>> equals("software").evaluate("software")
        (True, "is 'software'")
        """
        ...

    @abstractmethod
    def describe(self) -> str:
        """Return the test in words, e.g. ``"equals 'software'"``."""
        ...

    def __call__(self, value: Scalar | _Missing) -> bool:
        """Tell whether *value* passes."""
        return self.evaluate(value)[0]

    def __and__(self, other: ValueTest) -> ValueTest:
        return _Both(self, _check_test(other, "&"))

    def __or__(self, other: ValueTest) -> ValueTest:
        return _Either(self, _check_test(other, "|"))

    def __invert__(self) -> ValueTest:
        return _Not(self)


def _check_test(value: object, operator: str) -> ValueTest:
    if not isinstance(value, ValueTest):
        raise PolicyError(
            owner=None,
            field=f"the right side of {operator}",
            value=value,
            expected="a value test such as equals(...) or between(...)",
        )
    return value


def _scalar(value: object, field: str, test: str) -> Scalar:
    if not isinstance(value, SCALAR_TYPES) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise PolicyError(
            owner=test,
            field=field,
            value=value,
            expected="a JSON scalar: a string, a number, True, False or None",
        )
    return value


def _typed(value: Scalar) -> tuple[type, Scalar]:
    """A value with its type: the key tests compare and hash by.

    ``equals(1)`` is not ``equals(True)``, which tests otherwise, nor
    ``equals(1.0)``, which a policy file writes otherwise.
    """
    return type(value), value


def _all_typed(values: tuple[Scalar, ...]) -> tuple[tuple[type, Scalar], ...]:
    return tuple(map(_typed, values))


@attrs.frozen(repr=False)
class _Equals(ValueTest):
    expected: Scalar = attrs.field(eq=_typed)

    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        if value is MISSING:
            return False, "is missing"
        if _same(value, self.expected) and value == self.expected:
            return True, f"is {value!r}"
        return False, f"is {value!r}, not {self.expected!r}"

    def describe(self) -> str:
        return f"equals {self.expected!r}"

    def __repr__(self) -> str:
        return f"equals({self.expected!r})"


@attrs.frozen(repr=False)
class _OneOf(ValueTest):
    choices: tuple[Scalar, ...] = attrs.field(eq=_all_typed)

    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        if value is MISSING:
            return False, "is missing"
        if any(_same(value, c) and value == c for c in self.choices):
            return True, f"is {value!r}, one of {self._listed()}"
        return False, f"is {value!r}, not one of {self._listed()}"

    def _listed(self) -> str:
        return ", ".join(repr(choice) for choice in self.choices)

    def describe(self) -> str:
        return f"is one of {self._listed()}"

    def __repr__(self) -> str:
        return f"one_of({self._listed()})"


@attrs.frozen(repr=False)
class _Between(ValueTest):
    low: float | None = attrs.field(eq=_typed)
    high: float | None = attrs.field(eq=_typed)
    include_high: bool = True

    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        if value is MISSING:
            return False, "is missing"
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False, f"is {value!r}, not a number"
        if self.low is not None and value < self.low:
            return False, f"is {value!r}, below {self.low!r}"
        if self.high is not None and value > self.high:
            return False, f"is {value!r}, above {self.high!r}"
        if not self.include_high and value == self.high:
            return False, f"is {value!r}, not below {self.high!r}"
        return True, f"is {value!r}, {self.describe()}"

    def describe(self) -> str:
        top = "at most" if self.include_high else "below"
        if self.low is None:
            return f"{top} {self.high!r}"
        if self.high is None:
            return f"at least {self.low!r}"
        if self.include_high:
            return f"between {self.low!r} and {self.high!r}"
        return f"at least {self.low!r} and below {self.high!r}"

    def __repr__(self) -> str:
        if self.include_high:
            return f"between({self.low!r}, {self.high!r})"
        return f"between({self.low!r}, {self.high!r}, include_high=False)"


@attrs.frozen(repr=False)
class _Matches(ValueTest):
    pattern: str
    ignore_case: bool
    _compiled: re.Pattern[str] = attrs.field(eq=False, hash=False)

    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        if value is MISSING:
            return False, "is missing"
        if not isinstance(value, str):
            return False, f"is {value!r}, not text"
        if self._compiled.search(value):
            return True, f"is {value!r}, which matches /{self.pattern}/"
        return False, f"is {value!r}, which does not match /{self.pattern}/"

    def describe(self) -> str:
        return f"matches /{self.pattern}/" + ("i" if self.ignore_case else "")

    def __repr__(self) -> str:
        if self.ignore_case:
            return f"matches({self.pattern!r}, ignore_case=True)"
        return f"matches({self.pattern!r})"


@attrs.frozen(repr=False)
class _Present(ValueTest):
    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        if value is MISSING or value is None or value == "":
            return False, f"is {_show(value)}"
        return True, f"is {value!r}"

    def describe(self) -> str:
        return "is present"

    def __repr__(self) -> str:
        return "present()"


@attrs.frozen(repr=False)
class _Both(ValueTest):
    left: ValueTest
    right: ValueTest

    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        passed, why = self.left.evaluate(value)
        if not passed:
            return False, why
        return self.right.evaluate(value)

    def describe(self) -> str:
        return f"{self.left.describe()} and {self.right.describe()}"

    def __repr__(self) -> str:
        return f"({self.left!r} & {self.right!r})"


@attrs.frozen(repr=False)
class _Either(ValueTest):
    left: ValueTest
    right: ValueTest

    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        passed, why = self.left.evaluate(value)
        if passed:
            return True, why
        return self.right.evaluate(value)

    def describe(self) -> str:
        return f"{self.left.describe()} or {self.right.describe()}"

    def __repr__(self) -> str:
        return f"({self.left!r} | {self.right!r})"


@attrs.frozen(repr=False)
class _Not(ValueTest):
    inner: ValueTest

    def evaluate(self, value: Scalar | _Missing) -> tuple[bool, str]:
        passed, why = self.inner.evaluate(value)
        return not passed, why

    def describe(self) -> str:
        return f"not ({self.inner.describe()})"

    def __repr__(self) -> str:
        return f"~{self.inner!r}"


def equals(value: Scalar) -> ValueTest:
    """Pass when the value equals *value* (a string, number, bool or None).

    ``True`` does not equal ``1``: a CRM's yes is not a count.

    >>> equals("software")("software"), equals(True)(1)
    (True, False)
    """
    return _Equals(_scalar(value, "value", "equals"))


def one_of(*values: Scalar) -> ValueTest:
    """Pass when the value equals one of *values*.

    >>> one_of("DE", "AT", "CH")("AT")
    True
    """
    if not values:
        raise PolicyError(
            owner="one_of", field="values", value=values, expected="at least one value"
        )
    return _OneOf(
        tuple(_scalar(v, f"values[{i}]", "one_of") for i, v in enumerate(values))
    )


def _bound(value: object, field: str) -> float | None:
    if value is None:
        return None
    if not is_finite_number(value):
        raise PolicyError(
            owner="between",
            field=field,
            value=value,
            expected="a finite number or None",
        )
    return value


def between(
    low: float | None, high: float | None, *, include_high: bool = True
) -> ValueTest:
    """Pass when the value is a number from *low* to *high*, both included.

    Either bound may be ``None`` for no bound. With ``include_high=False`` the
    range stops just below *high*, so ranges that meet at a bound (the bins of
    a numeric attribute) never both pass. Text, booleans and missing values do
    not pass.

    >>> between(50, 500)(200), between(50, None)(10_000), between(50, 500)("200")
    (True, True, False)
    >>> between(0, 10, include_high=False)(10), between(10, 20)(10)
    (False, True)
    """
    low_bound, high_bound = _bound(low, "low"), _bound(high, "high")
    if type(include_high) is not bool:
        raise PolicyError(
            owner="between",
            field="include_high",
            value=include_high,
            expected="True or False",
        )
    if low_bound is None and high_bound is None:
        raise PolicyError(
            owner="between", field="low", value=None, expected="at least one bound"
        )
    if low_bound is not None and high_bound is not None:
        if low_bound > high_bound:
            raise PolicyError(
                owner="between",
                field="high",
                value=high,
                expected=f"a number of at least low ({low!r})",
            )
        if low_bound == high_bound and not include_high:
            raise PolicyError(
                owner="between",
                field="high",
                value=high,
                expected=f"a number above low ({low!r}) when the high bound "
                "is left out",
            )
    # Without a high bound there is nothing to leave out: one spelling.
    return _Between(low_bound, high_bound, include_high or high_bound is None)


def matches(pattern: str, *, ignore_case: bool = False) -> ValueTest:
    r"""Pass when the value is text in which the regular expression *pattern* is found.

    The pattern is searched anywhere in the text: anchor it (``^...$``) to
    match the whole text. Patterns are limited to 1,000 characters.

    >>> matches(r"\bVP\b|chief", ignore_case=True)("Chief Revenue Officer")
    True
    """
    candidate: object = pattern  # callers may pass anything at run time
    if not isinstance(candidate, str) or not pattern or len(pattern) > _MAX_PATTERN:
        raise PolicyError(
            owner="matches",
            field="pattern",
            value=pattern,
            expected="a regular expression of 1 to 1,000 characters",
        )
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as error:
        raise PolicyError(
            owner="matches",
            field="pattern",
            value=pattern,
            expected=f"a valid regular expression ({error})",
        ) from None
    return _Matches(pattern, bool(ignore_case), compiled)


def present() -> ValueTest:
    """Pass when the value is there: not missing, not ``None``, not empty text.

    >>> present()("ACME"), present()("")
    (True, False)
    """
    return _Present()


def absent() -> ValueTest:
    """Pass when the value is missing, ``None`` or empty text (``~present()``).

    >>> absent()(None)
    True
    """
    return _Not(_Present())


def as_test(value: object, field: str, owner: str) -> ValueTest:
    """Return *value* as a test: a test, a value (``equals``) or a list (``one_of``)."""
    if isinstance(value, ValueTest):
        return value
    if isinstance(value, list | tuple):
        return one_of(*value)
    if not isinstance(value, SCALAR_TYPES):
        raise PolicyError(
            owner=owner,
            field=field,
            value=value,
            expected="a value test (equals, one_of, between, matches...), a value, "
            "or a list of values",
        )
    return equals(value)
