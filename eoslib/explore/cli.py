"""`eoslib explore SCENARIO ...`: the command-line face of :func:`eoslib.explore.explore`."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from eoslib.explore.engine import MAX_K, MAX_SCHEDULES, Exploration, explore
from eoslib.explore.points import KINDS


def _table(ex: Exploration) -> str:
    lines = [f"{ex.scenario} ({ex.messages} messages"
             + (", " + ", ".join(f"{k}={v}" for k, v in ex.config.items()) if ex.config else "")
             + f"): every placement of up to {ex.max_faults} faults "
             f"({', '.join(ex.kinds)})",
             f"  schedules run: {ex.schedules}; pruned: {sum(ex.pruned.values())} "
             f"({', '.join(f'{k} {v}' for k, v in ex.pruned.items())}); distinct outcomes: "
             f"{ex.outcomes()}; {ex.seconds:.1f} s with {ex.jobs} job(s)"]
    anomalies = ex.anomalies()
    stopped = [r for r in ex.runs if r.error]
    if stopped:
        lines.append(f"  the application stopped with a client error in {len(stopped)} "
                     f"schedule(s), e.g. {'; '.join(p.words() for p in stopped[0].schedule)}"
                     f": {stopped[0].error}")
    if not anomalies:
        lines.append(f"  no anomaly in any of the {ex.schedules} schedules"
                     + (" (of the kinds checked)" if ex.unchecked else ""))
    for kind, r in ex.counterexamples().items():
        lines.append(f"  {kind}: in {anomalies[kind]} schedule(s); smallest: "
                     + ("; ".join(p.words() for p in r.schedule) or "no fault at all"))
        lines.append("    replay: " + " ".join(ex.replay(r.schedule)))
    if ex.unchecked:
        lines.append("  not checked: " + "; ".join(f"{k} ({why})"
                                                  for k, why in ex.unchecked.items()))
    return "\n".join(lines)


def cmd_explore(args: argparse.Namespace) -> int:
    """Explore every fault placement of a scenario; print a table or JSON."""
    from eoslib.cli_settings import parse_set, split_faults

    if args.app is not None:  # -- shim (issue 22 §4): a confluent-kafka program
        from eoslib.explore.app import cmd_app

        return cmd_app(args)
    if not args.scenario:
        from eoslib.errors import ConfigException

        raise ConfigException("scenario", "", "Expected a scenario name or --app PROGRAM")

    config, faults = split_faults(parse_set(args.set))
    if faults:
        from eoslib.errors import ConfigException

        key = next(iter(faults))
        raise ConfigException(key, faults[key], "Expected a Kafka or course key: the "
                              "explorer places the faults itself (see --faults)")
    kinds = [k.strip() for k in args.faults.split(",") if k.strip()]
    bar: Any = None
    if not args.json and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc=f"explore {args.scenario}", unit="schedule", file=sys.stderr)

    def progress(done: int, _total: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    try:
        ex = explore(args.scenario, messages=args.messages, config=config, kinds=kinds,
                     max_faults=args.max_faults, jobs=args.jobs, progress=progress,
                     max_schedules=args.max_schedules)
    finally:
        if bar is not None:
            bar.close()
    print(json.dumps(ex.to_json()) if args.json else _table(ex))
    return 0


def register(sub: Any) -> None:
    """Add ``explore`` to the ``eoslib`` command."""
    e = sub.add_parser("explore", help="run every placement of up to K faults; report the "
                                       "smallest schedule for each anomaly",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="fault kinds:\n" + "\n".join(
                           textwrap.fill(f"{k}: {v}", 78, initial_indent="  ",
                                         subsequent_indent="      ")
                           for k, v in KINDS.items()))
    e.add_argument("scenario", nargs="?")
    e.add_argument("--messages", type=int, default=3)
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a Kafka or course key (transactions, delivery, ...); repeatable")
    e.add_argument("--faults", default=",".join(KINDS),
                   help=f"comma-separated fault kinds (default: all): {', '.join(KINDS)}")
    e.add_argument("--max-faults", type=int, default=2, metavar="K",
                   help=f"faults per schedule, 0..{MAX_K} (default 2)")
    e.add_argument("--jobs", type=int, default=1, help="worker processes (same answer)")
    e.add_argument("--max-schedules", type=int, default=MAX_SCHEDULES, metavar="N",
                   help=f"refuse (before starting, from an estimate) an exploration of more "
                        f"than N schedules (default {MAX_SCHEDULES:,}: about a minute)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    from eoslib.explore.app import add_arguments  # -- shim: --app and its options

    add_arguments(e)
    e.set_defaults(func=cmd_explore)
