"""Drive a learner's transactional ``process_batch(consumer, producer, msgs)`` under faults.

The learner writes the body of one iteration of the consume-transform-produce loop: given
the batch ``msgs`` just polled, copy every record (same key, same value) to the topic
:data:`OUTPUT` inside a transaction that also commits the consumer's offsets, and handle
errors the way Kafka requires. The harness owns everything else, through the public client
API only: it creates the consumer (``isolation.level=read_committed``, no auto-commit) and
the transactional producer, calls ``init_transactions``, polls, and restarts the
application after a crash.

A :class:`Schedule` says what goes wrong:

* ``crash=(when, method, n)``: the process dies ``"before"`` or ``"after"`` the ``n``-th
  call (counted over the whole run) of a client ``method`` (``produce``,
  ``send_offsets_to_transaction``, ``commit_transaction``, ``commit`` of the consumer...).
  A crash is not an exception the learner can catch (it derives from ``BaseException``);
  the harness kills both clients and starts a new instance with the same
  ``transactional.id``, which resumes from the committed offsets;
* ``loss``: the chance that the response to a ``TxnOffsetCommit`` is lost, so that
  ``send_offsets_to_transaction`` raises an abortable error;
* ``zombie=n``: before the ``n``-th ``send_offsets_to_transaction`` the instance freezes; a
  replacement takes over (fencing it) and processes a few batches; then the frozen instance
  resumes its call, which fails with a fatal (fenced) error.

:func:`run_loop` returns a :class:`LoopRun`: the eoslib :class:`~eoslib.result.Result` (the
checker's report over the output topic, the trace) plus what the harness itself observed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eoslib.checker import check as check_history
from eoslib.errors import KafkaException
from eoslib.messages import Message
from eoslib.result import Result
from eoslib.scenarios import values
from eoslib.scenarios.inputs import input_positions, record_consumed
from eoslib.simulation import Simulation

INPUT, OUTPUT, GROUP, TXN_ID = "in", "out", "app", "app-txn"
ProcessBatch = Callable[[Any, Any, list[Message]], Any]


class Crash(BaseException):  # noqa: N818 - a process death, not an error to handle
    """The application process died (the learner's code cannot catch it)."""


@dataclass(frozen=True)
class Schedule:
    """One fault schedule of the harness (see the module docstring)."""

    seed: int
    messages: int
    batch: int = 5
    crash: tuple[str, str, int] | None = None
    loss: float = 0.0
    zombie: int | None = None

    def describe(self) -> str:
        """A short human description, used in failure reasons."""
        parts = [f"seed={self.seed}", f"messages={self.messages}", f"batch={self.batch}"]
        if self.crash:
            when, method, n = self.crash
            parts.append(f"crash {when} call #{n} of {method}()")
        if self.loss:
            parts.append(f"TxnOffsetCommit response loss={self.loss:g}")
        if self.zombie:
            parts.append(f"instance freezes before send_offsets_to_transaction() #{self.zombie} "
                         "and is replaced (zombie)")
        return "schedule [" + ", ".join(parts) + "]"

    def size(self) -> tuple[Any, ...]:
        """Sort key: smallest schedule first."""
        return (self.messages, self.loss, self.crash is not None, self.zombie is not None,
                self.seed)


@dataclass
class LoopRun:
    """What one harness run produced."""

    schedule: Schedule
    result: Result
    delivered: list[str]
    problems: list[str] = field(default_factory=list)


class _Instance:
    """Counters and flags shared by the proxies of one run."""

    def __init__(self, schedule: Schedule, on_freeze: Callable[[], None]) -> None:
        self.schedule = schedule
        self.calls: dict[str, int] = {}
        self.on_freeze = on_freeze
        self.frozen_once = False
        self.crashed = False
        self.problems: list[str] = []


class _Proxy:
    """A client wrapper that counts calls, injects crashes and watches fatal errors."""

    def __init__(self, client: Any, role: str, run: _Instance) -> None:
        self._client = client
        self._role = role
        self._run = run
        self._fatal = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, attr, args, kwargs)

        return call

    def _call(self, name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        run = self._run
        if self._fatal and name not in ("close", "poll", "flush"):
            run.problems.append(
                f"after the producer was fenced (a fatal error), your code called "
                f"{name}() on it again; a fenced producer cannot be used any more")
        key = name if self._role == "producer" else f"consumer.{name}"
        run.calls[key] = n = run.calls.get(key, 0) + 1
        crash = run.schedule.crash
        if crash and crash[1] == key and crash[2] == n and crash[0] == "before":
            raise Crash(f"before {key} #{n}")
        if (run.schedule.zombie == n and key == "send_offsets_to_transaction"
                and not run.frozen_once):
            run.frozen_once = True
            run.on_freeze()
        try:
            out = fn(*args, **kwargs)
        except KafkaException as exc:
            if exc.args and getattr(exc.args[0], "fatal", lambda: False)():
                self._fatal = True
            raise
        if crash and crash[1] == key and crash[2] == n and crash[0] == "after":
            raise Crash(f"after {key} #{n}")
        return out


class _App:
    """One application instance: a consumer and a transactional producer."""

    def __init__(self, sim: Simulation, name: str, run: _Instance, batch: int) -> None:
        self.sim = sim
        self.name = name
        self.consumer = sim.Consumer({"group.id": GROUP, "enable.auto.commit": False,
                                  "auto.offset.reset": "earliest", "max.poll.records": batch,
                                  "isolation.level": "read_committed",
                                  "client.id": f"{name}-consumer"})
        sim.set_process(self.consumer, name)
        self.consumer.subscribe([INPUT])
        self.producer = sim.Producer({"transactional.id": TXN_ID,
                                      "client.id": f"{name}-producer"})
        sim.set_process(self.producer, name)
        self.producer.init_transactions()
        self.c = _Proxy(self.consumer, "consumer", run)
        self.p = _Proxy(self.producer, "producer", run)

    def kill(self, step: str) -> None:
        self.sim.history.record(self.sim.now, self.name, "crash", "ok", step=step)
        self.sim.kernel.emit(self.name, "crash", f"crash {step}", flag="crash")
        self.producer.crash()
        self.consumer.crash()

    def close(self) -> None:
        for client in (self.producer, self.consumer):
            if client.alive:
                client.close()


def _caught_up(sim: Simulation) -> bool:
    done = sim.cluster.group_coordinator.group(GROUP).committed
    return all(done.get((INPUT, p.index), -1) >= p.leo for p in sim.cluster.partitions(INPUT))


def run_loop(process_batch: ProcessBatch, schedule: Schedule, *, max_polls: int = 400,
             faults: dict[str, Any] | None = None) -> LoopRun:
    """Run the learner's ``process_batch`` to the end of the input under ``schedule``;
    ``faults`` adds fault-plan fields (the explorer's placed ``drop``/``kill``)."""
    plan: dict[str, Any] = dict(faults or {})
    if schedule.loss:
        plan.update(response_loss=schedule.loss, apis=["txn_offset_commit"])
    sim = Simulation(schedule.seed, faults=plan)
    sim.create_topic(INPUT, 1)
    inputs = values(schedule.messages)
    part = sim.cluster.partitions(INPUT)[0]
    for value in inputs:
        part.append_data([(None, value)])
    sim.create_topic(OUTPUT, 1)
    names = iter(f"app-{i}" if i > 1 else "app" for i in range(1, 100))
    state: dict[str, Any] = {}

    def freeze() -> None:
        # the current instance freezes; a replacement fences it and does some work
        zombie = state["app"]
        zombie.consumer.alive = False
        sim.kernel.emit(zombie.name, "crash", f"{zombie.name} freezes (GC pause)", flag="crash")
        sim.sleep(50_000)
        replacement = _App(sim, next(names), run, schedule.batch)
        state["replacement"] = replacement
        for _ in range(2):
            msgs = replacement.consumer.consume(schedule.batch, timeout=0.5)
            if msgs:
                process_batch(replacement.c, replacement.p, msgs)
        zombie.consumer.alive = True
        sim.kernel.emit(zombie.name, "restart", f"{zombie.name} resumes", flag="error")

    run = _Instance(schedule, freeze)
    app = _App(sim, next(names), run, schedule.batch)
    state["app"] = app
    polls = 0
    while polls < max_polls and not _caught_up(sim):
        polls += 1
        try:
            msgs = app.consumer.consume(schedule.batch, timeout=0.5)
            if msgs:
                process_batch(app.c, app.p, msgs)
                if app.p._fatal:  # noqa: SLF001 - the harness's own proxy
                    run.problems.append(
                        "process_batch returned normally after the producer was fenced: the "
                        "fatal error must propagate so that this (zombie) instance stops")
        except Crash as crash:
            app.kill(str(crash))
            app = _App(sim, next(names), run, schedule.batch)
            state["app"] = app
        except KafkaException as exc:
            if not (exc.args and exc.args[0].fatal()):
                run.problems.append(f"process_batch raised a non-fatal error: {exc}")
            app.close()
            app = state.pop("replacement", None) or _App(sim, next(names), run, schedule.batch)
            state["app"] = app
        if "replacement" in state and app is not state["replacement"] and app.p._fatal:  # noqa: SLF001
            app = state.pop("replacement")
            state["app"] = app
    if not _caught_up(sim):
        run.problems.append("the input was never fully committed: the loop made no progress")
    app.close()
    sim.settle(1000)
    delivered = [str(v) for _, _, v in sim.read_all(OUTPUT, "read_committed")]
    record_consumed(sim, [INPUT])
    # the learner copies each record: an output's value names its input
    report = check_history(sim.history, topics=[OUTPUT], allowed=("fenced",),
                           inputs=input_positions(sim, INPUT, inputs), outputs=[OUTPUT],
                           lineage=str)
    counts = {"duplicates": report.count("duplicate"), "aborted_reads": report.count(
        "aborted_read"), "fenced": report.count("fenced")}
    result = Result("process-batch-harness", schedule.seed, schedule.messages,
                    {"client": app.producer.config.get("client")},
                    {"schedule": schedule.describe(), **plan}, counts, report, sim.history,
                    sim.trace, requests=dict(sim.injector.counts))
    return LoopRun(schedule, result, delivered, list(dict.fromkeys(run.problems)))


#: the explorer's fault kinds an attack on ``process_batch`` places (crash points need the
#: course's Pipeline; the harness crashes the learner's loop its own way)
ATTACK_KINDS = ("request", "response", "coordinator", "leader", "group-coordinator")


def attack_loop(process_batch: ProcessBatch, *, messages: int = 6, batch: int = 3,
                max_schedules: int = 60) -> Any:
    """The smallest one-fault schedule (every lost request or answer of every API, every
    coordinator, leader and group-coordinator crash point, in the explorer's order) under
    which ``process_batch`` shows an anomaly or raises, or None (see
    :func:`eoslib.explore.attack.attack_with`)."""
    from eoslib.explore.attack import attack_with

    schedule = Schedule(0, messages, batch)
    return attack_with(lambda faults: run_loop(process_batch, schedule, faults=faults).result,
                       kinds=ATTACK_KINDS, max_faults=1, max_schedules=max_schedules,
                       name="process-batch-harness")


def loop_grader(question_id: str, schedules: list[Schedule], *,
                attack: bool = False) -> Callable[[Any], Any]:
    """An implement grader for ``process_batch``: every schedule, smallest first, must end
    with each input copied exactly once to the output, no checker anomaly and no misuse.
    ``attack``: an answer that passes is then attacked with every one-fault placement
    (:func:`attack_loop`); the smallest schedule that breaks it fails the question."""
    from eoslib.exercises._common import failure, missing_and_extra, raised, remember
    from eoslib.grading.questions import Verdict

    ordered = sorted(schedules, key=Schedule.size)

    def grade(answer: Any) -> Verdict:
        if not callable(answer):
            return Verdict.fail(f"expected a function process_batch(consumer, producer, msgs), "
                                f"got {type(answer).__name__}")
        for schedule in ordered:
            try:
                run = run_loop(answer, schedule)
            except Exception as exc:  # noqa: BLE001 - the learner's code failed
                return raised(schedule.describe(), exc, "process_batch")
            expected = values(schedule.messages)
            problems = list(run.problems)
            delivery = missing_and_extra(expected, run.delivered)
            if delivery:
                problems.insert(0, delivery)
            if not run.result.report.ok:
                problems.append("the checker found anomalies")
            if problems:
                return failure(question_id, schedule.describe(), "; ".join(problems),
                               run.result)
        if attack:
            found = attack_loop(answer)
            if found is not None:
                remember(question_id, found.result)
                return Verdict.fail("right on the fixed runs, but the explorer found a "
                                    f"schedule that breaks it: {found.words()}")
        remember(question_id, None)
        return Verdict.ok(f"correct under {len(ordered)} fault schedules"
                          + (" and every one-fault placement" if attack else ""))

    return grade
