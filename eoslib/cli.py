"""The ``eoslib`` command: list and run scenarios, benchmark, and the sub-tools.

``eoslib scenarios`` lists the named experiments; ``eoslib run NAME --seed N --messages M
--set key=value ... --json`` runs one and prints its counts; ``eoslib bench`` measures
speed. Bad input exits with code 2 and one line naming the key, the value and what is
allowed. The real-broker commands (``broker``, ``compare``) and the grader (``grade``,
``make-exercises``) register themselves here.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from eoslib.cli_settings import FAULT_FIELDS, parse_set, split_faults
from eoslib.errors import ConfigException, KafkaException


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(2, f"eoslib: error: {message}\n")


def cmd_scenarios(args: argparse.Namespace) -> int:
    """Print one scenario per line: the name, then its description."""
    from eoslib.scenarios import SCENARIOS

    width = max(len(n) for n in SCENARIOS)
    for name, sc in SCENARIOS.items():
        print(f"{name:<{width}}  {sc.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and print its counts (JSON with --json)."""
    from eoslib.scenarios import run_scenario

    if args.seed < 0:
        raise ConfigException("--seed", args.seed, "Expected a whole number >= 0")
    if args.messages is not None and args.messages < 1:
        raise ConfigException("--messages", args.messages, "Expected a whole number >= 1")
    config, faults = split_faults(parse_set(args.set))
    result = run_scenario(args.scenario, seed=args.seed, messages=args.messages,
                          config=config, faults=faults)
    if args.json:
        print(json.dumps(result.to_json(include_trace=args.trace), sort_keys=False))
    else:
        keys = ("duplicates", "lost", "aborted_reads", "uncommitted_reads",
                "processed_twice", "reordered", "fenced", "txn_committed", "txn_aborted",
                "lso_lag_ms")
        print(f"{result.scenario} (seed {result.seed}, {result.messages} messages)")
        for k in keys:
            print(f"  {k:<18} {result.counts[k]}")
        print(f"  trace_digest       {result.trace_digest[:16]}…")
        print(str(result))  # the client first, then the verdict
    return 0


def cmd_animate(args: argparse.Namespace) -> int:
    """Write one self-contained HTML file that plays a run (see :mod:`eoslib.animate`)."""
    from eoslib.animate import write_html
    from eoslib.scenarios import run_scenario

    if args.seed < 0:
        raise ConfigException("--seed", args.seed, "Expected a whole number >= 0")
    if args.messages is not None and not 1 <= args.messages <= 200:
        raise ConfigException("--messages", args.messages, "Expected a whole number from 1 "
                              "to 200 (a played run should stay readable)")
    config, faults = split_faults(parse_set(args.set))
    result = run_scenario(args.scenario, seed=args.seed, messages=args.messages,
                          config=config, faults=faults)
    try:
        path = write_html(result, args.out)
    except ValueError as e:
        raise ConfigException("--out", args.out, str(e).split(": ", 1)[-1]) from None
    print(f"wrote {path} ({len(result.trace)} steps; open it in any browser, no network "
          "needed)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure simulated messages per second (see :mod:`eoslib.bench`)."""
    from eoslib.bench import grading_main
    from eoslib.bench import main as bench_main
    from eoslib.explore import speed

    if args.grading_copies < 0:
        print(f"bench: --grading-copies must be 0 or more, got {args.grading_copies}",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.grading or args.grading_copies:
        return grading_main(args.grading_copies, quick=args.quick)

    def explorer(quick: bool) -> tuple[dict[str, Any], list[str]]:
        figures = speed.measure(quick)
        return figures, speed.lines(figures)

    return bench_main(quick=args.quick, extras=(explorer,))


def _keys_help() -> str:
    """The keys ``--set`` accepts, for ``eoslib run --help``."""
    from eoslib.config import CONSUMER, PRODUCER
    from eoslib.scenarios import COURSE_SCHEMA

    def wrap(title: str, names: Sequence[str]) -> str:
        return f"{title}:\n  " + textwrap.fill(", ".join(names), 76,
                                                subsequent_indent="  ")

    return "\n\n".join([
        wrap("producer keys (Kafka's, Java defaults)", sorted(PRODUCER)),
        wrap("consumer keys", sorted(k for k in CONSUMER if k not in PRODUCER)),
        wrap("course keys", list(COURSE_SCHEMA)),
        wrap("faults", sorted(FAULT_FIELDS)),
    ])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = _Parser(prog="eoslib", description="Kafka exactly-once semantics, simulated.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("scenarios", help="list the named experiments")
    s.set_defaults(func=cmd_scenarios)
    r = sub.add_parser("run", help="run one scenario", epilog=_keys_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("scenario")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--messages", type=int, default=None)
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a Kafka config key, a course key (transactions, delivery, sink, "
                   "batch) or a fault (response_loss, crash_step, ...); repeatable")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument("--trace", action="store_true", help="with --json: include trace+history")
    r.set_defaults(func=cmd_run)
    a = sub.add_parser("animate", help="write one HTML file that plays a run step by step")
    a.add_argument("scenario")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--messages", type=int, default=None)
    a.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="as for `eoslib run`; repeatable")
    a.add_argument("--out", required=True, metavar="FILE.html")
    a.set_defaults(func=cmd_animate)
    b = sub.add_parser("bench", help="measure simulated messages per second")
    b.add_argument("--quick", action="store_true")
    b.add_argument("--grading", action="store_true", help="only the grader's figures")
    b.add_argument("--grading-copies", type=int, default=0, metavar="N",
                   help="also grade N copies of every solution notebook (full run: 1000)")
    b.set_defaults(func=cmd_bench)
    for mod in ("eoslib.real.cli", "eoslib.grading.cli", "eoslib.explore.cli", "eoslib.site.cli"):
        try:
            module = __import__(mod, fromlist=["register"])
        except ImportError:
            continue
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eoslib`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigException as e:
        print(f"eoslib: error: {e}", file=sys.stderr)
        return 2
    except KafkaException as e:  # the run itself failed the way a client would
        print(f"eoslib: error: the simulated client failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
