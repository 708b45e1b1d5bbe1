"""Run every benchmark script in this folder, one after the other."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    """Run each bench_*.py as a script."""
    sys.path.insert(0, str(HERE))
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name}")
        runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
