import pickle

import pytest

from funnelkit import errors


class TestHierarchy:
    @pytest.mark.parametrize(
        ("error", "builtin"),
        [
            (errors.ValidationError, ValueError),
            (errors.NaiveDatetimeError, ValueError),
            (errors.NaiveDatetimeError, errors.ValidationError),
            (errors.SerializationError, ValueError),
        ],
    )
    def test_errors_derive_from_root_and_builtin(
        self, error: type[Exception], builtin: type[Exception]
    ) -> None:
        """Every error is a FunnelkitError and the builtin callers expect."""
        assert issubclass(error, errors.FunnelkitError)
        assert issubclass(error, builtin)

    def test_warning_is_user_warning(self) -> None:
        """FunnelkitWarning is a UserWarning."""
        assert issubclass(errors.FunnelkitWarning, UserWarning)


class TestValidationError:
    def test_carries_its_data(self) -> None:
        """The error holds field, value, expected and owner as attributes."""
        error = errors.ValidationError(
            owner="Lead", field="id", value="", expected="a non-empty string"
        )
        assert (error.owner, error.field, error.value, error.expected) == (
            "Lead",
            "id",
            "",
            "a non-empty string",
        )
        assert str(error) == "Lead.id: expected a non-empty string, got ''"

    def test_without_owner_names_the_argument_alone(self) -> None:
        """A function argument's error names the argument only."""
        error = errors.ValidationError(field="duration", value=5, expected="text")
        assert str(error) == "duration: expected text, got 5"

    def test_a_value_with_no_repr_to_give_is_described(self) -> None:
        """A huge int or a failing repr is described, never hiding the error."""

        class Broken:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        huge = errors.ValidationError(field="n", value=10**5000, expected="x")
        assert str(huge) == "n: expected x, got a whole number of about 5,001 digits"
        broken = errors.PolicyError(
            owner="Rule", field="f", value=Broken(), expected="x"
        )
        assert str(broken) == "Rule, f: expected x, got a Broken whose repr failed"
        unknown = errors.UnknownLead(lead_id=Broken())
        assert (
            str(unknown) == "no lead with id a Broken whose repr failed in the funnel"
        )

    @pytest.mark.parametrize(
        "error",
        [
            errors.ValidationError(owner="Lead", field="id", value="", expected="x"),
            errors.NaiveDatetimeError(owner="Activity", field="at", value="t"),
            errors.SerializationError(target="Lead", problems=[("id", "bad")]),
        ],
    )
    def test_pickles(self, error: errors.FunnelkitError) -> None:
        """Errors survive pickling with their message and attributes."""
        copy = pickle.loads(pickle.dumps(error))  # noqa: S301 -- our own bytes
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert vars(copy) == vars(error)

    def test_plain_root_error_pickles(self) -> None:
        """A bare FunnelkitError pickles the usual way."""
        copy = pickle.loads(pickle.dumps(errors.FunnelkitError("boom")))  # noqa: S301
        assert copy.args == ("boom",)


class TestSerializationError:
    def test_lists_every_problem(self) -> None:
        """The message lists each problem on its own line, with its path."""
        error = errors.SerializationError(
            target="Activity", problems=[("at", "naive"), ("", "unknown key(s): x")]
        )
        assert error.problems == (("at", "naive"), ("", "unknown key(s): x"))
        assert str(error) == (
            "cannot build Activity from the data (2 problems):\n"
            "  at: naive\n"
            "  (the whole document): unknown key(s): x"
        )

    def test_one_problem_is_singular(self) -> None:
        """One problem reads as 'problem'."""
        error = errors.SerializationError(target="Lead", problems=[("id", "bad")])
        assert "(1 problem)" in str(error)
