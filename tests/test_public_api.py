import importlib
import inspect
import re
import subprocess
import sys
import types
import typing
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import pytest

import funnelkit

#: Type aliases funnelkit offers (they carry no module of their own to check).
TYPE_ALIASES = {"funnelkit": {"Event", "Input", "OnBreach", "StageKind"}}


def _offered_by(module: types.ModuleType, value: object) -> bool:
    """Tell whether *value* is something *module* offers, not a helper it imported."""
    if inspect.ismodule(value) or isinstance(value, types.UnionType | TypeVar):
        return False
    if typing.get_origin(value) is typing.Literal:
        return False
    if inspect.isclass(value) or inspect.isfunction(value):
        origin = value.__module__
        if not origin.startswith("funnelkit"):
            return False
        # A package re-exports from its private modules; a module offers its own.
        return hasattr(module, "__path__") or origin == module.__name__
    # Constants (kinds) and instances (the converter) defined in the module.
    origin = type(value).__module__
    return (
        origin in {"builtins", "cattrs.converters"} or origin.startswith("funnelkit")
    ) and not isinstance(value, bool)


PUBLIC_MODULES = [
    "funnelkit",
    "funnelkit.errors",
    "funnelkit.kinds",
    "funnelkit.learn",
    "funnelkit.serialization",
    "funnelkit.testing",
    "funnelkit.testing.strategies",
]


class TestAll:
    def test_all_is_grouped_and_sorted(self) -> None:
        """funnelkit.__all__ is sorted within each commented group, without repeats."""
        source = Path(funnelkit.__file__).read_text()
        block = source[
            source.index("__all__ = [") : source.index("]", source.index("__all__"))
        ]
        groups = [re.findall(r'"([^"]+)"', group) for group in block.split("# --")[1:]]
        assert all(group == sorted(group) for group in groups)
        assert [name for group in groups for name in group] == funnelkit.__all__
        assert len(set(funnelkit.__all__)) == len(funnelkit.__all__)

    @pytest.mark.parametrize("name", PUBLIC_MODULES)
    def test_all_equals_public_names(self, name: str) -> None:
        """__all__ lists exactly the public names each public module offers."""
        module = importlib.import_module(name)
        public = {
            attr
            for attr, value in vars(module).items()
            if not attr.startswith("_") and _offered_by(module, value)
        }
        public |= TYPE_ALIASES.get(name, set())
        assert public == set(module.__all__) - {"__version__"}

    @pytest.mark.parametrize("name", PUBLIC_MODULES)
    def test_every_public_name_has_a_docstring(self, name: str) -> None:
        """Each public module, class and function has a docstring."""
        module = importlib.import_module(name)
        assert module.__doc__
        for attr in module.__all__:
            value = getattr(module, attr)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert inspect.getdoc(value), f"{name}.{attr} has no docstring"


class TestPresentation:
    @pytest.mark.parametrize(
        "name",
        ["Activity", "Bant", "BusinessDuration", "Clock", "Lead", "SystemClock"],
    )
    def test_classes_present_as_funnelkit(self, name: str) -> None:
        """Re-exported classes say funnelkit.X in reprs and tracebacks."""
        assert getattr(funnelkit, name).__module__ == "funnelkit"

    def test_manual_clock_presents_as_testing(self) -> None:
        """ManualClock says funnelkit.testing.ManualClock."""
        from funnelkit.testing import ManualClock  # noqa: PLC0415

        assert ManualClock.__module__ == "funnelkit.testing"

    def test_version_comes_from_metadata(self) -> None:
        """__version__ matches the installed distribution's metadata."""
        assert funnelkit.__version__ == version("funnelkit")

    def test_version_is_read_when_first_asked(self) -> None:
        """Importing funnelkit reads no metadata; the first __version__ does, once."""
        code = (
            "import sys, funnelkit\n"
            "print('importlib.metadata' in sys.modules)\n"
            "print(funnelkit.__version__ == funnelkit.__dict__['__version__'])\n"
        )
        done = subprocess.run(  # noqa: S603 -- this interpreter, fixed code
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert done.stdout.split() == ["False", "True"]

    def test_a_name_funnelkit_lacks_is_an_attribute_error(self) -> None:
        """funnelkit.nothing raises AttributeError naming the module and the name."""
        with pytest.raises(
            AttributeError, match="module 'funnelkit' has no attribute 'nothing'"
        ):
            funnelkit.nothing  # type: ignore[attr-defined] # noqa: B018 -- the lookup is the test
