"""``python -m eoslib.run_app [options] my_app.py [args...] [--then other.py [args...]]``.

Runs an unmodified confluent-kafka program on a simulated Kafka cluster: ``import
confluent_kafka`` gives :mod:`eoslib.confluent_kafka`, every ``bootstrap.servers`` reaches
the simulation, the program's clock is virtual (:mod:`eoslib.confluent_kafka.program`).
Several programs separated by ``--then`` run one after the other on the same cluster, as
you would run them one after the other against one broker (e.g. a producer filling a topic,
then the app, then a consumer reading its output); standard input goes to the programs that
read it. A program that waits forever (a consumer loop that ends on Ctrl-C) gets a
simulated Ctrl-C (``KeyboardInterrupt``) after ``--idle-exit`` seconds of virtual time in
which no message came and nothing was produced.

The options place faults and check the outcome, so one command replays what ``eoslib
explore --app`` found: ``--input in=20`` writes ``m0``..``m19`` to ``in`` first,
``--fault drop=end_txn.response.1`` loses that answer (any :class:`eoslib.faults.FaultPlan`
field), ``--crash-after commit_transaction:1`` kills the program right after its first
``commit_transaction()`` returned (and starts it again), ``--check out`` prints the
checker's verdict on ``out``. Exit status: the last program's (2 for a bad option).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from eoslib.confluent_kafka.supervisor import OUTPUT_IDS, Plan, Program, run
from eoslib.errors import ConfigException

SEPARATOR = "--then"


class _Usage(Exception):
    """A command-line mistake argparse found (printed as one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise _Usage(message)


def parser() -> argparse.ArgumentParser:
    """The options (everything before the program's path)."""
    p = _Parser(
        prog="python -m eoslib.run_app",
        usage="%(prog)s [options] PROGRAM.py [ARGS...] [--then PROGRAM.py [ARGS...]]...",
        description="Run confluent-kafka programs, unmodified, on a simulated Kafka "
                    "cluster (librdkafka's semantics, virtual time).")
    p.add_argument("--seed", type=int, default=0, help="the simulation's seed (default 0)")
    p.add_argument("--partitions", type=int, default=1,
                   help="partitions of topics created on first use and of --input topics")
    p.add_argument("--topic", action="append", default=[], metavar="NAME[:PARTITIONS]",
                   help="create a topic before the first program (repeatable)")
    p.add_argument("--no-auto-create", action="store_true",
                   help="a produce to a missing topic fails (_UNKNOWN_TOPIC), as with a "
                        "broker's auto.create.topics.enable=false")
    p.add_argument("--input", action="append", default=[], metavar="TOPIC=N",
                   help="write m0..m{N-1} to TOPIC before the first program")
    p.add_argument("--fault", action="append", default=[], metavar="KEY=VALUE",
                   help="a fault-plan field, e.g. drop=produce.response.1 or "
                        "response_loss=0.1 (repeatable)")
    p.add_argument("--crash-after", action="append", default=[], metavar="API:N",
                   help="kill the program right after its N-th call of API (e.g. "
                        "commit_transaction:1), then start it again (repeatable)")
    p.add_argument("--restart-on-error", action="store_true",
                   help="start a program again when it exits with an error, as a "
                        "supervisor would")
    p.add_argument("--idle-exit", type=float, default=10.0, metavar="SECONDS",
                   help="simulated Ctrl-C after this much virtual time without a message "
                        "or a produce (default 10; 0: never)")
    p.add_argument("--max-time", type=float, default=3600.0, metavar="SECONDS",
                   help="simulated Ctrl-C after this much virtual time in all (default 3600)")
    p.add_argument("--check", metavar="TOPIC",
                   help="at the end, check that each --input message reached TOPIC exactly "
                        "once (the checker's verdict goes to stderr)")
    p.add_argument("--output-id", default="value", metavar="HOW",
                   help="how an output record names its input: " + ", ".join(OUTPUT_IDS)
                        + " (default value: the first m<N> word of the value)")
    return p


def split(argv: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """(the options, each program's [path, args...]): options stop at the first ``.py``
    path or the first argument that is not an option."""
    argv = list(argv)
    i, takes_value = 0, False
    opts = parser()
    valued = {a for act in opts._actions for a in act.option_strings if act.nargs != 0}
    while i < len(argv):
        a = argv[i]
        if takes_value:
            takes_value = False
        elif a.startswith("-") and a != "-":
            takes_value = a in valued
        else:
            break
        i += 1
    programs: list[list[str]] = [[]]
    for a in argv[i:]:
        if a == SEPARATOR:
            programs.append([])
        else:
            programs[-1].append(a)
    return argv[:i], programs


def plan_of(argv: Sequence[str]) -> Plan:
    """The :class:`Plan` a command line asks for (ConfigException naming a bad option)."""
    from eoslib.cli_settings import split_faults

    head, progs = split(argv)
    a = parser().parse_args(head)
    if not progs or not all(progs):
        raise ConfigException("PROGRAM", "", "Expected a program to run, e.g. "
                              "python -m eoslib.run_app my_app.py ARGS")
    inputs: dict[str, int] = {}
    for item in a.input:
        topic, _, n = item.partition("=")
        if not topic or not n.isdigit() or int(n) < 1:
            raise ConfigException("--input", item, "Expected TOPIC=N with N >= 1")
        inputs[topic] = int(n)
    settings = {}
    for item in a.fault:
        if "=" not in item:
            raise ConfigException("--fault", item, "Expected KEY=VALUE, e.g. "
                                  "drop=produce.response.1")
        k, v = item.split("=", 1)
        settings[k.strip()] = v.strip()
    config, faults = split_faults(settings)
    if config:
        key = next(iter(config))
        raise ConfigException("--fault", key, "Expected a fault-plan field (drop, kill, "
                              "response_loss, request_loss...); client settings belong in "
                              "the program's configuration")
    for c in a.crash_after:
        api, _, n = c.partition(":")
        if not api or not n.isdigit() or int(n) < 1:
            raise ConfigException("--crash-after", c, "Expected API:N with N >= 1, e.g. "
                                  "commit_transaction:1")
    if a.partitions < 1:
        raise ConfigException("--partitions", a.partitions, "Expected a whole number >= 1")
    for p in progs:
        if not _exists(p[0]):
            raise ConfigException("PROGRAM", p[0], "Expected the path of a Python file")
    plan = Plan([Program(p[0], p[1:]) for p in progs], seed=a.seed, faults=faults,
                crashes=tuple(a.crash_after), inputs=inputs, partitions=a.partitions,
                auto_create=not a.no_auto_create, idle_exit_s=a.idle_exit or None,
                max_s=a.max_time or None, output=a.check, output_id=a.output_id,
                restart_on_error=a.restart_on_error, topics=dict(_topic(t) for t in a.topic))
    return plan


def _exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).is_file()


def _topic(spec: str) -> tuple[str, int]:
    name, _, n = spec.partition(":")
    if not name or (n and (not n.isdigit() or int(n) < 1)):
        raise ConfigException("--topic", spec, "Expected NAME or NAME:PARTITIONS")
    return name, int(n) if n else 1


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (the verdict goes to ``out``, default
    stderr)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        plan = plan_of(argv)
    except ConfigException as e:
        print(f"eoslib.run_app: {e}", file=sys.stderr)
        return 2
    except _Usage as e:
        print(f"eoslib.run_app: {e} (see --help)", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    try:
        done = run(plan)
    except ConfigException as e:  # a setting the simulator cannot honour
        print(f"eoslib.run_app: cannot simulate: {e}", file=sys.stderr)
        return 2
    if done.report is not None:
        print(_verdict(done), file=out or sys.stderr)
    return done.exits[-1][1].code if done.exits else 0


def run_app(command: str | Sequence[str]) -> int:
    """The command line from Python (a notebook): ``command`` is what follows ``python -m
    eoslib.run_app`` (a string, or a list such as an explorer's replay, which may start with
    ``python -m eoslib.run_app``); the verdict is printed to stdout."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:3] == ["python", "-m", "eoslib.run_app"]:
        argv = argv[3:]
    return main(argv, out=sys.stdout)


def _verdict(out: Any) -> str:
    from eoslib.result import client_line

    lines = [client_line({"client": "librdkafka"}), str(out.report)]
    if out.fired:
        lines.insert(1, "crashed after: " + ", ".join(out.fired))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
