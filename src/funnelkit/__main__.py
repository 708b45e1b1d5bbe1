"""``python -m funnelkit``: see :mod:`funnelkit._cli`."""

from __future__ import annotations

import sys

from funnelkit._cli import main

# Runs only as `python -m funnelkit`, in a subprocess coverage does not see;
# tests/test_cli.py runs it so.
if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
