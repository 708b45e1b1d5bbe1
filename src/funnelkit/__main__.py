"""``python -m funnelkit``: see :mod:`funnelkit._cli`."""

from __future__ import annotations

import sys

from funnelkit._cli import main

if __name__ == "__main__":
    sys.exit(main())
