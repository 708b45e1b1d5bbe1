"""The command line: ``python -m funnelkit demo`` and ``check POLICY``."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from typing import TextIO

from funnelkit._config import CriteriaRegistry, load_policy
from funnelkit._criteria import Always, describe
from funnelkit._duration import format_duration
from funnelkit._policy import FunnelPolicy
from funnelkit._sla import EXIT
from funnelkit.errors import FunnelkitError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m funnelkit",
        description="Lead qualification policies: check them before they ship.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="validate a policy file and summarise it",
        description="Validate a policy file (TOML or JSON) and print a summary "
        "of it, or every problem found. Exit status 0 when valid, 1 when not.",
    )
    check.add_argument("policy", help="the policy file (.toml or .json)")
    check.add_argument(
        "--criteria",
        metavar="MODULE:NAME",
        help="a CriteriaRegistry of custom criteria, as module:attribute "
        "(named here, on the command line: a policy file never names code)",
    )
    demo = commands.add_parser(
        "demo",
        help="run a synthetic quarter through the default policy and report it",
        description="Generate a seeded, synthetic quarter of leads (companies, "
        "BANT answers, activities over weeks, sales decisions and delays), run "
        "it through the default policy and print the funnel report, the SLA "
        "compliance and the score ledger and stage history of three leads.",
    )
    demo.add_argument(
        "--leads", type=_positive, default=3000, help="how many leads (3000)"
    )
    demo.add_argument("--seed", type=int, default=7, help="the random seed (7)")
    demo.add_argument(
        "--json", action="store_true", help="print JSON for machines instead of text"
    )
    return parser


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text}")
    return number


def _registry(spec: str) -> CriteriaRegistry:
    module, _, name = spec.partition(":")
    if not module or not name:
        raise FunnelkitError(f"--criteria: expected MODULE:NAME, got {spec!r}")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise FunnelkitError(f"--criteria: cannot load {spec!r}: {error}") from None
    if not isinstance(found, CriteriaRegistry):
        raise FunnelkitError(f"--criteria: {spec!r} is not a CriteriaRegistry")
    return found


def summary(policy: FunnelPolicy) -> str:
    """Return what a policy holds, in lines a reviewer reads."""
    lines = [f"policy {policy.label}  (fingerprint {policy.fingerprint[:16]})"]
    lines.append(f"stages ({len(policy.stages)}), entered at {policy.initial!r}:")
    lines += [f"  {stage.name} ({stage.kind})" for stage in policy.stages]
    lines.append(f"transitions ({len(policy.transitions)}):")
    for transition in policy.transitions:
        how = "auto" if transition.auto else "by hand"
        line = f"  {transition.label}: {' | '.join(transition.source)} -> "
        line += f"{transition.target}, {how}"
        if transition.guard != Always():
            line += f", when {describe(transition.guard)}"
        lines.append(line)
    model = policy.scoring
    lines.append(f"scoring model {model.name!r} ({len(model.rules)} rules):")
    lines += [
        f"  {rule.label}: {rule.points:+g} {rule.dimension}" for rule in model.rules
    ]
    lines.append(f"SLAs ({len(policy.slas)}):")
    for rule in policy.slas:
        met = rule.met_by
        if met == EXIT:
            what = "leaving the stage"
        elif isinstance(met, frozenset):
            what = " or ".join(sorted(met))
        else:
            what = describe(met)
        within = format_duration(rule.within)
        lines.append(f"  {rule.name}: in {rule.stage}, {what} within {within}")
    return "\n".join(lines)


def main(
    argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; return the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args, out, err)
    try:
        registry = _registry(args.criteria) if args.criteria else None
        policy = load_policy(args.policy, criteria=registry)
    except FunnelkitError as error:
        print(error, file=err)
        return 1
    print(summary(policy), file=out)
    return 0


def _demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from funnelkit._demo import render, simulate  # noqa: PLC0415 -- only the demo needs it

    def progress(share: float) -> None:
        bar = "#" * round(share * 30)
        err.write(f"\rsimulating the quarter [{bar:<30}] {share:4.0%}")
        err.flush()

    showing = err.isatty()
    quarter = simulate(args.seed, args.leads, progress if showing else None)
    if showing:
        err.write("\r" + " " * 60 + "\r")
    return _print(render(quarter, as_json=args.json), out)


def _print(text: str, out: TextIO) -> int:
    """Write *text*; if the reader went away (``| head``), stop quietly, status 1."""
    try:
        print(text, file=out)
        out.flush()
    except BrokenPipeError:
        # Point the stream at the null device, so that flushing it again at
        # exit does not fail a second time (the recipe of Python's docs).
        # A stream without a file descriptor has nothing to redirect.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1
    return 0
