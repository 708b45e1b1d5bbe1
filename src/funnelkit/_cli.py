"""The command line: ``python -m funnelkit`` demo, check, score, report, backtest."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import io
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from funnelkit import __version__, kinds, policies
from funnelkit._config import CriteriaRegistry, load_policy
from funnelkit._criteria import Always, describe
from funnelkit._duration import format_duration
from funnelkit._lead import Activity
from funnelkit._policy import FunnelPolicy, _leaves
from funnelkit._rules import ActivityRule
from funnelkit._scoring import _num
from funnelkit._sla import EXIT
from funnelkit._text import counted, table
from funnelkit._time import in_utc, require_aware
from funnelkit.errors import (
    FunnelkitError,
    PolicyFileError,
    SerializationError,
    ValidationError,
)
from funnelkit.serialization import structure

if TYPE_CHECKING:
    from funnelkit.analytics import StageEntry

__all__ = ["main"]


#: What every command taking an instant says of it under its help.
_INSTANT = "An INSTANT is ISO 8601 with its UTC offset: 2026-03-01T00:00:00Z."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m funnelkit",
        description="Qualify sales leads: run the demo, check a policy file, "
        "and score, report and backtest data files.",
        epilog=_INSTANT,
    )
    parser.add_argument(
        "--version", action="version", version=f"funnelkit {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="validate a policy file and summarise it",
        description="Validate a policy file (TOML or JSON) and print a summary "
        "of it, or every problem found. Exit status 0 when valid, 1 when not.",
    )
    _policy_argument(check)
    _criteria_argument(check)
    _json_argument(check)
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
        "--plot",
        metavar="DIR",
        type=_directory,
        help="also write the charts (PNG) into DIR; needs funnelkit[plot]",
    )
    demo.add_argument(
        "--json", action="store_true", help="print JSON for machines instead of text"
    )
    score = commands.add_parser(
        "score",
        epilog=_INSTANT,
        help="score leads from files with a policy's scoring model",
        description="Score every lead of LEADS, with its activities from "
        "ACTIVITIES, by the scoring model of POLICY, as of --at (by default "
        "the latest instant of the files: an activity's, or a lead's creation).",
    )
    _policy_argument(score)
    _history_arguments(score, outcomes=False)
    score.add_argument(
        "--at",
        metavar="INSTANT",
        type=_instant,
        help="the instant to score at (by default, the files' latest)",
    )
    _criteria_argument(score)
    _json_argument(score)
    report = commands.add_parser(
        "report",
        epilog=_INSTANT,
        help="a funnel report over stage entries from a file",
        description="Conversion, time in stage and flow over the stage entries "
        "of ENTRIES (a CRM export, say), from --start to --end.",
    )
    report.add_argument(
        "entries", metavar="ENTRIES", help="the stage entries (.csv or .jsonl)"
    )
    report.add_argument(
        "--stages", required=True, help="the path, comma-separated: mql,sql,customer"
    )
    _window_arguments(report)
    report.add_argument(
        "--now",
        metavar="INSTANT",
        type=_instant,
        help="the instant the report is as of (by default, --end)",
    )
    report.add_argument(
        "--cohort",
        choices=["week", "month", "quarter"],
        default="month",
        help="the cohorts' and periods' length (month)",
    )
    report.add_argument(
        "--segment", metavar="COLUMN", help="a segment column to break rows down by"
    )
    report.add_argument(
        "--timezone", metavar="ZONE", default="UTC", help="of the periods (UTC)"
    )
    _json_argument(report)
    backtest = commands.add_parser(
        "backtest",
        epilog=_INSTANT,
        help="replay a history through a policy (or two) and measure it",
        description="Replay the leads, activities and outcomes through POLICY "
        "from --start to --end; with --compare, through a second policy too. "
        "--mql names the MQL stage of both, unless --compare-mql names the "
        "second policy's.",
    )
    _policy_argument(backtest)
    _history_arguments(backtest, outcomes=True)
    _window_arguments(backtest)
    backtest.add_argument("--compare", metavar="POLICY", help="a second policy")
    backtest.add_argument(
        "--mql",
        metavar="STAGE",
        default="mql",
        help="the MQL stage of POLICY, and of --compare's unless --compare-mql "
        "names it (mql)",
    )
    backtest.add_argument(
        "--compare-mql",
        metavar="STAGE",
        help="the MQL stage of the --compare policy (by default, --mql)",
    )
    backtest.add_argument(
        "--timezone", metavar="ZONE", default="UTC", help="of the MQLs' months (UTC)"
    )
    _criteria_argument(backtest)
    _json_argument(backtest)
    backtest.set_defaults(usage_error=backtest.error)
    return parser


def _policy_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "policy",
        metavar="POLICY",
        help="a policy file (.toml or .json), or b2b_saas or product_led "
        "for a policy funnelkit ships",
    )


def _history_arguments(parser: argparse.ArgumentParser, *, outcomes: bool) -> None:
    parser.add_argument("leads", metavar="LEADS", help="the leads (.csv or .jsonl)")
    parser.add_argument(
        "activities", metavar="ACTIVITIES", help="their activities (.csv or .jsonl)"
    )
    if outcomes:
        parser.add_argument(
            "outcomes",
            metavar="OUTCOMES",
            help="lead_id,won per lead (.csv or .jsonl)",
        )


def _window_arguments(parser: argparse.ArgumentParser) -> None:
    for option, what in (
        ("--start", "the period's first instant"),
        ("--end", "the instant the period ends, not in it"),
    ):
        parser.add_argument(
            option, metavar="INSTANT", type=_instant, required=True, help=what
        )


def _criteria_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--criteria",
        metavar="MODULE:NAME",
        help="a CriteriaRegistry of custom criteria, as module:attribute "
        "(named here, on the command line: a policy file never names code)",
    )


def _json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print JSON for machines instead of text"
    )


def _instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset, as funnelkit's JSON reads one.

    One whose UTC form leaves datetime's years (``9999-12-31T23:00-05:00``)
    is refused here too, as typed, rather than by whichever call gets it.
    """
    try:
        return require_aware(structure(text, datetime), field="instant")
    except SerializationError as error:
        raise argparse.ArgumentTypeError(error.problems[0][1]) from None
    except ValidationError as error:
        msg = f"expected {error.expected}, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _policy(
    spec: str, criteria: CriteriaRegistry | None = None, *, option: str = "POLICY"
) -> FunnelPolicy:
    """A policy file, or the name of a policy funnelkit ships: any command's POLICY.

    The argument is always a file's name (a name starting with ``[`` is not
    TOML text); one that is neither a policy file nor a shipped name is
    named by its *option*.
    """
    path = Path(spec)
    if not path.exists() and spec in _SHIPPED:
        return _SHIPPED[spec]()
    if path.suffix.lower() not in {".toml", ".json"}:
        shipped = " or ".join(_SHIPPED)
        msg = f"{option}: expected a policy file (.toml or .json), or {shipped}, "
        raise FunnelkitError(msg + f"got {spec!r}")
    return load_policy(path, criteria=criteria)


_SHIPPED: dict[str, Callable[[], FunnelPolicy]] = {
    "b2b_saas": policies.b2b_saas,
    "product_led": policies.product_led,
}


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"expected a whole number above 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _directory(text: str) -> str:
    if not text:
        # An empty $DIR in a script: no charts, silently, would pass for done.
        msg = "expected a directory, got ''"
        raise argparse.ArgumentTypeError(msg)
    return text


def _registry(spec: str) -> CriteriaRegistry:
    module, _, name = spec.partition(":")
    if not module or not name:
        raise FunnelkitError(f"--criteria: expected MODULE:NAME, got {spec!r}")
    # python -m funnelkit finds a module of the current folder (Python puts
    # the folder first on its path); the installed funnelkit command must too.
    here = str(Path.cwd())
    added = "" not in sys.path and here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise FunnelkitError(f"--criteria: cannot load {spec!r}: {error}") from None
    finally:
        if added:
            sys.path.remove(here)
    if not isinstance(found, CriteriaRegistry):
        raise FunnelkitError(f"--criteria: {spec!r} is not a CriteriaRegistry")
    return found


def kind_notes(policy: FunnelPolicy, *, scoring_only: bool = False) -> list[str]:
    """A note for each activity kind of *policy* that looks like a misspelling.

    Kinds are open (a host may count its own), so a kind that is not one of
    :mod:`funnelkit.kinds` is only noted when it is near one: the same but
    for case, spaces or hyphens, or a close spelling. A rule or guard with
    such a kind would otherwise never match, without a word. With
    *scoring_only*, only the scoring model's rules are read (``score`` uses
    nothing else of a policy).
    """
    notes = []
    for kind, places in sorted(_kinds_of(policy, scoring_only=scoring_only).items()):
        near = _near_kind(kind)
        if near is not None:
            notes.append(
                f"{', '.join(dict.fromkeys(places))}: activity kind {kind!r} is not "
                f"one of funnelkit.kinds (did you mean {near!r}?); a kind of your "
                "own is fine if your activities use it"
            )
    return notes


def _kinds_of(policy: FunnelPolicy, *, scoring_only: bool) -> dict[str, list[str]]:
    """Each activity kind *policy* names, with the places that name it."""
    named: list[tuple[str, object]] = [
        (f"scoring rule {rule.label!r}", rule.kind)
        for rule in policy.scoring.rules
        if isinstance(rule, ActivityRule)
    ]
    if not scoring_only:
        named += [
            (f"transition {item.label!r}", item.guard) for item in policy.transitions
        ]
        named += [(f"SLA {sla.name!r}", sla.met_by) for sla in policy.slas]
    places: dict[str, list[str]] = {}
    for where, what in named:
        for kind in _kinds_in(what):
            places.setdefault(kind, []).append(where)
    return places


def _kinds_in(what: object) -> Iterator[str]:
    """The kinds in a set of kinds, or in the leaves of a criterion.

    A leaf's kinds are its ``kinds`` attribute, a collection of strings: a
    DidActivity's, or a custom criterion's that says so the same way. A
    string is an SLA's ``"exit"``: no kind.
    """
    if isinstance(what, frozenset):
        yield from what
    elif not isinstance(what, str):
        for leaf in _leaves(what):
            kinds = getattr(leaf, "kinds", None)
            if isinstance(kinds, Collection) and not isinstance(kinds, str | Mapping):
                yield from (kind for kind in kinds if isinstance(kind, str))


def data_kind_notes(
    policies: Sequence[FunnelPolicy],
    activities: Sequence[Activity],
    name: str,
    *,
    scoring_only: bool = False,
) -> list[str]:
    """A note for each kind of the activities *policies* do not name but is near one.

    A CRM export that writes ``Demo Request`` where the policy counts
    ``demo_request`` scores and moves nothing for those activities, without a
    word. Kinds far from every kind the policies name are theirs to ignore
    (page kinds a policy does not score): no note. *name* is the file's, and
    *scoring_only* as for :func:`kind_notes`.
    """
    named: set[str] = set()
    for policy in policies:
        named.update(_kinds_of(policy, scoring_only=scoring_only))
    unnamed = Counter(a.kind for a in activities if a.kind not in named)
    if scoring_only:
        whose = "the policy's scoring rules do not name, though they name"
    elif len(policies) == 1:
        whose = "the policy does not name, though it names"
    else:
        whose = "neither policy names, though one names"
    notes = []
    for kind, count in sorted(unnamed.items(), key=_casefolded):
        near = _near(kind, named)
        if near is not None:
            notes.append(
                f"{name}: {counted(count, 'activity', 'activities')} of kind "
                f"{kind!r}, which {whose} {near!r}"
            )
    return notes


def _casefolded(item: tuple[str, int]) -> tuple[str, str]:
    """A sort key of a (kind, count) pair: its kind as a reader orders it."""
    return item[0].casefold(), item[0]


def _near_kind(kind: str) -> str | None:
    """The standard kind *kind* looks like a misspelling of, if any."""
    return None if kind in kinds.STANDARD else _near(kind, kinds.STANDARD)


def _near(kind: str, known: Iterable[str]) -> str | None:
    """The kind of *known* that *kind* (not one of them) looks like, if any.

    The same but for case, spaces or hyphens; else a close spelling.
    """
    plain = re.sub(r"[\s-]+", "_", kind.strip().casefold())
    choices = sorted(known)
    for choice in choices:
        if re.sub(r"[\s-]+", "_", choice.strip().casefold()) == plain:
            return choice
    near = difflib.get_close_matches(plain, choices, n=1, cutoff=0.8)
    return near[0] if near else None


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
    lines.append(f"scoring model {model.name!r} ({counted(len(model.rules), 'rule')}):")
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
    if (
        args.command == "backtest"
        and args.compare_mql is not None
        and args.compare is None
    ):
        # argparse cannot say that one option needs another: a usage error here.
        args.usage_error("--compare-mql: expected --compare, whose stage it names")
    if args.command == "demo":
        return _demo(args, out, err)
    if args.command != "check":
        args.notes = []  # what a command says on stderr beside its output
        try:
            text = _COMMANDS[args.command](args)
        except FunnelkitError as error:
            print(_lines(error, args), file=err)
            return 1
        for note in args.notes:
            print(f"note: {note}", file=err)
        return _print(text, out, err)
    return _check(args, out, err)


#: The library's arguments that the commands give from options, and those
#: options (most under the same name): an error about one names the option,
#: and the value as typed.
_OPTIONS = {
    "at": "at",
    "start": "start",
    "end": "end",
    "now": "now",
    "stages": "stages",
    "cohort": "cohort",
    "segment": "segment",
    "timezone": "timezone",
    "mql": "mql",
    "mql_b": "compare_mql",
}


def _lines(error: FunnelkitError, args: argparse.Namespace | None = None) -> str:
    """An error as stderr shows it: one line per problem, each naming the file.

    An error about an argument the library was given from an option names
    the option (``--end``) and shows the value as it was typed.
    """
    name = (
        re.match(r"[a-z_]+", error.field)
        if isinstance(error, ValidationError)
        else None
    )
    option = _OPTIONS.get(name[0]) if name is not None else None
    given = None if option is None or args is None else getattr(args, option, None)
    hint = ""
    if option in {"mql", "compare_mql"} and getattr(args, "compare", None) is not None:
        # Two policies: say which option names whose stage (the --compare
        # policy's is --mql's unless --compare-mql is given).
        given = getattr(args, "mql", None) if given is None else given
        hint = " (--mql names POLICY's MQL stage, --compare-mql the --compare one's)"
    if isinstance(error, ValidationError) and error.owner is None and given is not None:
        typed = given.isoformat() if isinstance(given, datetime) else repr(given)
        expected = error.expected
        if option in {"end", "now"}:
            # "after start": the other bound is an option as well.
            expected = re.sub(r"\bstart\b", "--start", expected)
        flag = "--" + str(option).replace("_", "-")
        return f"{flag}: expected {expected}, got {typed}{hint}"
    if isinstance(error, PolicyFileError):
        where = error.source or "policy"
        return "\n".join(
            f"{where}: {path or '(the whole file)'}: {problem}"
            for path, problem in error.problems
        )
    first, *rest = str(error).splitlines() or [""]
    return " ".join([first, "; ".join(line.strip() for line in rest)]).rstrip()


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        registry = _registry(args.criteria) if args.criteria else None
        policy = _policy(args.policy, registry)
    except PolicyFileError as error:
        if not args.json:
            print(_lines(error), file=err)
            return 1
        problems = [{"path": path, "problem": text} for path, text in error.problems]
        _print(json.dumps({"valid": False, "problems": problems}, indent=2), out, err)
        return 1
    except FunnelkitError as error:
        print(_lines(error), file=err)
        return 1
    notes = kind_notes(policy)
    if args.json:
        described = {**_described(policy), "notes": notes}
        return _print(json.dumps(described, indent=2), out, err)
    for note in notes:
        print(f"note: {note}", file=err)
    return _print(summary(policy), out, err)


def _described(policy: FunnelPolicy) -> dict[str, object]:
    """What ``check --json`` prints of a valid policy."""
    return {
        "valid": True,
        "policy": policy.label,
        "fingerprint": policy.fingerprint,
        "stages": [stage.name for stage in policy.stages],
        "initial": policy.initial,
        "transitions": [transition.label for transition in policy.transitions],
        "scoring_rules": [rule.label for rule in policy.scoring.rules],
        "slas": [rule.name for rule in policy.slas],
    }


def _demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from funnelkit._demo import render, report, simulate  # noqa: PLC0415 -- only the demo needs it
    from funnelkit.analytics import save_charts  # noqa: PLC0415 -- only the demo needs it

    def progress(share: float) -> None:
        bar = "#" * round(share * 30)
        err.write(f"\rsimulating the quarter [{bar:<30}] {share:4.0%}")
        err.flush()

    showing = err.isatty()
    quarter = simulate(args.seed, args.leads, progress if showing else None)
    if showing:
        err.write("\r" + " " * 60 + "\r")
    built = report(quarter)
    text = render(quarter, built, as_json=args.json)
    if args.plot:
        try:
            written = save_charts(built, args.plot)
        except FunnelkitError as error:
            print(_lines(error), file=err)
            return 1
        except OSError as error:
            why = error.strerror or error
            print(
                f"--plot: cannot write the charts into {args.plot!r}: {why}", file=err
            )
            return 1
        if not args.json:
            text += "\n\ncharts: " + ", ".join(str(path) for path in written)
    return _print(text, out, err)


#: Control characters but the line break and the tab: a lead id or a segment
#: holding one (an escape sequence) would otherwise recolour the terminal,
#: move its cursor or break the table's lines.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _print(text: str, out: TextIO, err: TextIO) -> int:
    """Write *text*; if the reader went away (``| head``), stop quietly, status 1.

    Control characters in it (but line breaks and tabs) are written as
    backslash escapes (an escape character as ``x1b`` after a backslash).

    A character the output's encoding cannot hold (a console in cp1252, a
    lone surrogate a JSON Lines escape gave) is written as a backslash
    escape, as Python writes it on stderr; an output that cannot be written
    (a full disk) is one line on *err*, status 1.
    """
    text = _escaped(text)
    try:
        try:
            print(text, file=out)
        except UnicodeEncodeError:
            # The encoding fails before a byte is written: write it escaped.
            encoding = getattr(out, "encoding", None) or "utf-8"
            text = text.encode(encoding, "backslashreplace").decode(encoding)
            print(text, file=out)
        out.flush()
    except BrokenPipeError:
        _silence(out)
        return 1
    except OSError as error:
        _silence(out)
        print(f"cannot write the output: {error.strerror or error}", file=err)
        return 1
    return 0


def _escaped(text: str) -> str:
    """*text* with its control characters (but line breaks and tabs) escaped."""
    return _CONTROL.sub(lambda found: repr(found[0])[1:-1], text)


def _silence(out: TextIO) -> None:
    """Point *out* at the null device, so flushing it again at exit cannot fail.

    The recipe of Python's docs for a broken pipe; a stream without a file
    descriptor has nothing to redirect.
    """
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())


def _score(args: argparse.Namespace) -> str:
    from funnelkit._files import read_activities, read_leads  # noqa: PLC0415 -- a command's own

    registry = _registry(args.criteria) if args.criteria else None
    policy = _policy(args.policy, registry)
    args.notes += kind_notes(policy, scoring_only=True)
    model = policy.scoring
    leads = read_leads(args.leads)
    activities = read_activities(args.activities)
    args.notes += data_kind_notes(
        [policy], activities, args.activities, scoring_only=True
    )
    if not leads:
        return "[]" if args.json else "no leads"
    at = args.at
    if at is None:
        instants = [activity.at for activity in activities]
        instants += [lead.created_at for lead in leads]
        at = max(instants, key=in_utc)
    by_lead: dict[str, list[Activity]] = {lead.id: [] for lead in leads}
    for activity in activities:
        by_lead.setdefault(activity.lead_id, []).append(activity)
    rows = []
    for lead in sorted(leads, key=lambda lead: lead.id):
        score = model.score(lead, by_lead[lead.id], at=at)
        rows.append((lead.id, score))
    if args.json:
        return json.dumps(
            [
                {
                    "lead_id": lead_id,
                    "fit": score.fit,
                    "engagement": score.engagement,
                    "total": score.total,
                    "grade": score.grade,
                    "matrix": score.matrix,
                }
                for lead_id, score in rows
            ],
            indent=2,
        )
    cells = [
        [
            # Escaped here, as _print would, so that the column is as wide.
            _escaped(lead_id),
            # As the score's explanation writes them: so the total adds up.
            _num(score.fit),
            _num(score.engagement),
            _num(score.total),
            score.matrix,
        ]
        for lead_id, score in rows
    ]
    header = ["lead", "fit", "engagement", "total", "matrix"]
    return "\n".join(
        [
            f"scores by {model.name!r} at {at.isoformat()}",
            table(header, cells, words=1),
        ]
    )


def _report(args: argparse.Namespace) -> str:
    from funnelkit._files import read_entries  # noqa: PLC0415 -- a command's own
    from funnelkit.analytics import FunnelReport  # noqa: PLC0415 -- a command's own

    entries = read_entries(args.entries)
    if (
        args.segment is not None
        and entries
        and not any(args.segment in entry.segments for entry in entries)
    ):
        # A misspelt column would otherwise break every row down as "(none)".
        raise FunnelkitError(
            f"--segment: expected a column of {args.entries} other than lead_id, "
            "stage, entered_at, exited_at, next_stage and reason, with a value "
            f"in some row, got {args.segment!r}"
        )
    stages = [stage.strip() for stage in args.stages.split(",")]
    args.notes += _unseen_stages(stages, entries, args.entries)
    built = FunnelReport.build(
        entries,
        stages=stages,
        start=args.start,
        end=args.end,
        now=args.now,
        cohort=args.cohort,
        segment=args.segment,
        timezone=args.timezone,
    )
    return json.dumps(built.to_dict(), indent=2) if args.json else built.to_text()


def _unseen_stages(
    stages: list[str], entries: list[StageEntry], name: str
) -> list[str]:
    """A note for each stage of the path that no entry is in or leads to.

    Not an error (no lead may have reached a stage yet), but a misspelt or
    miscased stage would otherwise give a column of zeros without a word.
    """
    if not entries:  # nothing exported yet: every stage is unreached
        return []
    seen = sorted(
        {entry.stage for entry in entries}
        | {entry.next_stage for entry in entries if entry.next_stage is not None}
    )
    notes = []
    for stage in stages:
        if stage in seen:
            continue
        near = [other for other in seen if other.casefold() == stage.casefold()]
        near = near or difflib.get_close_matches(stage, seen, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        notes.append(
            f"--stages: no row of {name} is in stage {stage!r} or leads to it"
            f"{hint}; its figures are zeros"
        )
    return notes


def _backtest(args: argparse.Namespace) -> str:
    from funnelkit._files import read_activities, read_leads, read_outcomes  # noqa: PLC0415 -- a command's own
    from funnelkit.analytics import backtest, compare  # noqa: PLC0415 -- a command's own

    registry = _registry(args.criteria) if args.criteria else None
    policy = _policy(args.policy, registry)
    other = (
        None
        if args.compare is None
        else _policy(args.compare, registry, option="--compare")
    )
    args.notes += kind_notes(policy)
    if other is not None:
        args.notes += [f"--compare: {note}" for note in kind_notes(other)]
    leads = read_leads(args.leads)
    history = (
        leads,
        read_activities(args.activities, leads={lead.id for lead in leads}),
        read_outcomes(args.outcomes),
    )
    both = [policy] if other is None else [policy, other]
    args.notes += data_kind_notes(both, history[1], args.activities)
    window = {
        "start": args.start,
        "end": args.end,
        "mql": args.mql,
        "timezone": args.timezone,
    }
    result = (
        backtest(policy, *history, **window)
        if other is None
        else compare(
            policy,
            other,
            *history,
            **window,
            # --mql for both policies unless --compare-mql names other's stage.
            mql_b=args.mql if args.compare_mql is None else args.compare_mql,
        )
    )
    return json.dumps(result.to_dict(), indent=2) if args.json else result.to_text()


_COMMANDS: dict[str, Callable[[argparse.Namespace], str]] = {
    "score": _score,
    "report": _report,
    "backtest": _backtest,
}
