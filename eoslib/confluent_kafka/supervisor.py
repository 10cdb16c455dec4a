"""One run of confluent-kafka programs on one simulated cluster: inputs, faults, crashes,
restarts, and the checker's verdict on what the programs wrote.

A :class:`Plan` says what to run (one program, or several in turn, each with its own
arguments and standard input), what the input topics hold before (``m0``, ``m1``... as
bytes, written by a clean upstream), which faults the simulation places (a
:class:`~eoslib.faults.FaultPlan`: lost requests and responses, coordinator and leader
deaths) and where the program's process dies: ``"API:N"`` crashes it right after its N-th
call of ``API`` returned (counted over the whole run; a poll counts when it returned
something). A crashed program is started again with the same arguments, as its supervisor
(systemd, Kubernetes) would; with ``restart_on_error`` so is one that exited with an error.
At the end the output topic is read as a read_committed verifier and
:func:`eoslib.checker.check` tells, per input, how often its effect reached the output.
``python -m eoslib.run_app`` and ``eoslib explore --app`` both run plans; a plan's
:meth:`Plan.command` is the run_app command that replays it.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoslib.checker import check
from eoslib.checker.report import Report
from eoslib.confluent_kafka.backend import Backend
from eoslib.confluent_kafka.program import Exit, installed, run_program
from eoslib.confluent_kafka.surface import AppCrash
from eoslib.errors import ConfigException
from eoslib.scenarios.inputs import record_consumed
from eoslib.simulation import Simulation

#: how an output record names its input (``--output-id``)
OUTPUT_IDS = ("value", "base64", "json:FIELD", "expr:PYTHON")
_ID = re.compile(rb"\bm(\d+)\b")


@dataclass
class Program:
    """A program to run: its file, arguments and standard input (None: none)."""

    path: str
    args: list[str] = field(default_factory=list)
    stdin: str | None = None

    @property
    def name(self) -> str:
        """The history process of its first incarnation (the file's stem)."""
        return Path(self.path).stem


@dataclass
class Plan:
    """What one run does (see module docstring)."""

    programs: list[Program]
    seed: int = 0
    faults: dict[str, Any] = field(default_factory=dict)
    crashes: tuple[str, ...] = ()
    inputs: dict[str, int] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    partitions: int = 1
    auto_create: bool = True
    idle_exit_s: float | None = 10.0
    max_s: float | None = 3600.0
    output: str | None = None
    output_id: str = "value"
    restarts: int = 3
    restart_on_error: bool = False
    echo: bool = True

    def command(self) -> list[str]:
        """The ``python -m eoslib.run_app`` command that replays this plan."""
        cmd = ["python", "-m", "eoslib.run_app", "--seed", str(self.seed)]
        for t, n in self.topics.items():
            cmd += ["--topic", f"{t}:{n}"]
        for t, n in self.inputs.items():
            cmd += ["--input", f"{t}={n}"]
        if self.partitions != 1:
            cmd += ["--partitions", str(self.partitions)]
        for k, v in self.faults.items():
            text = ",".join(map(str, v)) if isinstance(v, tuple | list) else str(v)
            cmd += ["--fault", f"{k}={text}"]
        for c in self.crashes:
            cmd += ["--crash-after", c]
        if self.restart_on_error:
            cmd += ["--restart-on-error"]
        if self.idle_exit_s != 10.0:
            cmd += ["--idle-exit", f"{self.idle_exit_s:g}"]
        if self.output:
            cmd += ["--check", self.output, "--output-id", self.output_id]
        for i, p in enumerate(self.programs):
            cmd += (["--then"] if i else []) + [p.path, *p.args]
        return cmd

    def command_line(self) -> str:
        """:meth:`command` as one shell line."""
        return shlex.join(self.command())


@dataclass
class Outcome:
    """What a run did: each incarnation's exit, the client calls and requests counted
    (fault points), and the checker's report on the output (None when no output)."""

    exits: list[tuple[str, Exit]]
    calls: dict[str, int]
    requests: dict[str, int]
    report: Report | None
    sim: Simulation
    fired: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        """The last program's error when it never ended cleanly (None: it did)."""
        last = self.exits[-1][1] if self.exits else None
        return None if last is None or last.code in (0, 130) else last.error


def lineage(spec: str) -> Callable[[Any], Any]:
    """The function that names an output record's input from its value (``--output-id``):
    ``value`` (the first ``m<N>`` word of the value), ``base64`` (of the decoded value),
    ``json:FIELD`` (a JSON value's field) or ``expr:PYTHON`` (an expression of ``value``,
    the bytes, with ``base64``, ``json`` and ``re`` at hand)."""

    def first_id(raw: Any) -> str | None:
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        m = _ID.search(data)
        return f"m{int(m.group(1))}" if m else None

    if spec == "value":
        return first_id
    if spec == "base64":
        return lambda v: first_id(base64.b64decode(v)) if v else None
    if spec.startswith("json:") and len(spec) > 5:
        name = spec[5:]
        return lambda v: first_id(json.loads(v).get(name, "")) if v else None
    if spec.startswith("expr:") and len(spec) > 5:
        code = compile(spec[5:], "--output-id", "eval")
        env = {"base64": base64, "json": json, "re": re}
        return lambda v: first_id(eval(code, env, {"value": v}))  # the user's own expression
    raise ConfigException("--output-id", spec, "Expected one of " + ", ".join(OUTPUT_IDS))


def fill(sim: Simulation, inputs: dict[str, int], partitions: int) -> dict[str, list[Any]]:
    """Write ``m0``..``m{n-1}`` (bytes) to each input topic, round robin over its
    partitions, as a clean upstream; ``{id: [topic, partition, offset]}``."""
    where: dict[str, list[Any]] = {}
    for topic, n in inputs.items():
        if topic not in sim.cluster.topics:
            sim.create_topic(topic, partitions)
        parts = sim.cluster.partitions(topic)
        for k, p in enumerate(parts):
            ids = [f"m{i}" for i in range(k, n, len(parts))]
            base = p.leo
            p.fill([i.encode() for i in ids])
            where.update({i: [topic, p.index, base + j] for j, i in enumerate(ids)})
    return where


def run(plan: Plan) -> Outcome:
    """Run ``plan`` (see module docstring)."""
    if plan.output is not None:
        identify = lineage(plan.output_id)
    sim = Simulation(plan.seed, faults=plan.faults, tracing=False)
    b = Backend(sim, auto_create_topics=plan.auto_create, num_partitions=plan.partitions,
                idle_exit_s=plan.idle_exit_s, max_s=plan.max_s)
    for t, n in plan.topics.items():
        sim.create_topic(t, n)
    where = fill(sim, plan.inputs, plan.partitions)
    pending = list(plan.crashes)
    fired: list[str] = []

    def hook(api: str, n: int, outcome: str) -> None:
        point = f"{api}:{n}"
        if point in pending:
            pending.remove(point)
            fired.append(point)
            crash(b, f"after {api} #{n}")

    b.hook = hook
    exits: list[tuple[str, Exit]] = []
    with installed(b, plan.seed):
        for prog in plan.programs:
            incarnation = 0
            while True:
                incarnation += 1
                process = prog.name if incarnation == 1 else f"{prog.name}#{incarnation}"
                b.crashed = None
                b.last_activity_ms = sim.now
                stdin = None if prog.stdin is None else _text(prog.stdin)
                ex = run_program(b, prog.path, prog.args, stdin=stdin, process=process,
                                 echo_errors=plan.echo)
                exits.append((process, ex))
                if ex.code != 0 and not ex.crashed:  # it died of its error: as a crash,
                    # its open transaction is aborted by the next init_transactions (checker)
                    sim.history.record(sim.now, process, "crash", "ok",
                                       step=f"exit {ex.code}: {ex.error}")
                again = ex.crashed or (plan.restart_on_error and ex.code not in (0, 130))
                if not again or incarnation > plan.restarts:
                    break
            if ex.code not in (0, 130) and not plan.restart_on_error:
                break
    b.crashed, b.hook = None, None
    report = None
    if plan.output is not None:
        sim.settle(1000)
        if plan.output in sim.cluster.topics:
            sim.read_all(plan.output, "read_committed")
        record_consumed(sim, list(plan.inputs))
        report = check(sim.history, inputs=where, outputs=[plan.output], lineage=identify,
                       topics=[*plan.inputs, plan.output], allowed=("fenced",))
    return Outcome(exits, dict(b.calls), dict(sim.injector.counts), report, sim, fired)


def crash(b: Backend, where: str) -> None:
    """The program's process dies now: its clients stop at once (requests on the wire
    still land) and every later client call raises :class:`AppCrash`."""
    process = b.process or "app"
    b.sim.history.record(b.sim.now, process, "crash", "ok", step=where)
    for c in b.clients:
        if b.sim.process_name(c) == process and getattr(c, "alive", False):
            c.crash()
    b.crashed = f"{process} {where}"
    raise AppCrash(b.crashed)


def _text(s: str) -> Any:
    import io

    return io.StringIO(s)


def echo(text: str) -> None:
    """A line for the person running the plan (stderr, so the program's stdout stays its
    own)."""
    print(text, file=sys.stderr)
