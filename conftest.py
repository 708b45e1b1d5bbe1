"""Collection rules for the whole tree (pytest runs tests, src, docs and README)."""

collect_ignore = [
    # Sphinx's configuration script, not a module to import.
    "docs/conf.py",
    # Type-checked by mypy in CI, never run.
    "tests/typing",
]
