"""Applications: the consume-process-produce loop with a chosen delivery guarantee.

:class:`Pipeline` reads an input topic with a consumer group, transforms each record and
writes the result to an output topic and/or a :class:`~eoslib.sinks.Sink`. ``delivery``:

* ``at-most-once``: commit the input offsets, then process, with a producer that never
  retries (``retries=0``). A crash after the commit loses the batch; nothing is repeated.
* ``at-least-once``: process, flush, then commit. A crash before the commit replays the
  batch: duplicates downstream.
* ``exactly-once``: the transactional loop. ``begin_transaction``; produce;
  ``send_offsets_to_transaction``; ``commit_transaction``. On an abortable error:
  ``abort_transaction`` and seek back to the committed offsets (Kafka does not rewind for
  you). A restarted instance calls ``init_transactions`` with the same
  ``transactional.id``, which fences the old one and aborts its open transaction.

Crashes are placed at the fault plan's ``crash_step``; the app then restarts (a new
incarnation ``app-1#2`` with new clients) from the last committed offsets. The ``step``
(the transform) and the sink's write can be replaced by a learner's own functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eoslib.errors import KafkaException
from eoslib.messages import Message, TopicPartition
from eoslib.sinks import Sink

if TYPE_CHECKING:
    from eoslib.consumer import Consumer
    from eoslib.producer import Producer
    from eoslib.simulation import Simulation

DELIVERY = ("at-most-once", "at-least-once", "exactly-once")
COMMIT_FAILED = ("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "REBALANCE_IN_PROGRESS",
                 "FENCED_INSTANCE_ID")
Step = Callable[[Message], Any]


class Crash(Exception):
    """The application process died at a named step (raised inside the loop)."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


def input_id(msg: Message) -> str:
    """The id of an input message: its value (the course's inputs are ``m0``, ``m1``...)."""
    return str(msg.value())


def lineage(msg: Message) -> dict[str, str]:
    """The headers an output record carries to name the input it derives from (the
    checker counts, per input, the output records that name it)."""
    return {"input": input_id(msg)}


def default_step(msg: Message) -> Any:
    """The transform: ``m7`` becomes ``m7'`` (the output keeps the input's identity)."""
    return f"{msg.value()}'"


class Pipeline:
    """A consume-transform-produce application with restarts (see module docstring)."""

    def __init__(
        self,
        sim: Simulation,
        *,
        input_topic: str,
        output_topic: str | None = "out",
        sink: Sink | None = None,
        delivery: str = "at-least-once",
        group: str = "app",
        transactional_id: str = "app-txn",
        batch: int = 10,
        producer_config: dict[str, Any] | None = None,
        consumer_config: dict[str, Any] | None = None,
        step: Step = default_step,
        name: str = "app-1",
        processing_ms: float = 1.0,
    ) -> None:
        if delivery not in DELIVERY:
            from eoslib.errors import ConfigException, did_you_mean

            raise ConfigException("delivery", delivery, f"Expected one of {', '.join(DELIVERY)}"
                                  + did_you_mean(str(delivery), DELIVERY))
        self.sim = sim
        self.input = input_topic
        self.output = output_topic
        self.sink = sink
        self.delivery = delivery
        self.group = group
        self.txn_id = transactional_id
        self.batch = batch
        self.producer_config = dict(producer_config or {})
        self.consumer_config = dict(consumer_config or {})
        self.step = step
        self.name = name
        self.processing_ms = processing_ms
        self.incarnation = 0
        self.max_restarts = 20
        self.crashes = 0
        self.fenced = 0
        self.aborts = 0
        self.commit_failures = 0
        self.processed = 0
        self.restarts = 0  # restarts after errors the loop could not handle (see iterate)
        self.crash_at = sim.faults.crash_at
        self._fired: set[str] = set()  # explorer (issue 9): crash_points already fired
        self._undelivered: list[Any] = []  # delivery errors since the last flush
        self.consumer: Consumer | None = None
        self.producer: Producer | None = None

    @property
    def process(self) -> str:
        """The history process of the current incarnation."""
        return self.name if self.incarnation <= 1 else f"{self.name}#{self.incarnation}"

    # ----------------------------------------------------------------- running
    def start(self) -> None:
        """Start a new incarnation: fresh consumer (and producer) in the same group."""
        self.incarnation += 1
        self._undelivered = []
        sim = self.sim
        eos = self.delivery == "exactly-once"
        cconf = {"group.id": self.group, "enable.auto.commit": False,
                 "auto.offset.reset": "earliest", "max.poll.records": self.batch,
                 "isolation.level": "read_committed" if eos else "read_uncommitted",
                 "client.id": f"{self.process}-consumer"}
        cconf.update(self.consumer_config)
        self.consumer = sim.Consumer(cconf)
        sim.set_process(self.consumer, self.process)
        on_assign = self._seek_to_sink if self.sink is not None and \
            self.sink.mode == "offsets" else None
        self.consumer.subscribe([self.input], on_assign=on_assign)
        self.producer = None
        if self.output is not None:
            pconf: dict[str, Any] = {"client.id": f"{self.process}-producer"}
            if eos:
                pconf["transactional.id"] = self.txn_id
            if self.delivery == "at-most-once" and not self.producer_config.get(
                    "enable.idempotence"):
                pconf["retries"] = 0  # at most once: a send is never repeated
            pconf.update(self.producer_config)
            self.producer = sim.Producer(pconf)
            sim.set_process(self.producer, self.process)
            if eos:
                self.producer.init_transactions()
        if self.incarnation > 1:
            sim.kernel.emit(self.process, "restart", f"{self.process} started")

    def _seek_to_sink(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        assert self.sink is not None
        for tp in parts:
            off = self.sink.stored_offset((tp.topic, tp.partition))
            if off is not None:
                consumer.seek(TopicPartition(tp.topic, tp.partition, off))

    def _maybe_crash(self, step: str, msgs: list[Message]) -> None:
        plan = self.sim.faults
        # -- explorer (issue 9): placed crash_points "STEP:N", each fires once
        if plan.crash_points:
            for tok in plan.crash_points:
                st, _, n = tok.partition(":")
                if st == step and tok not in self._fired \
                        and any(_index(m.value()) == int(n) for m in msgs):
                    self._fired.add(tok)
                    raise Crash(step)
            return
        # -- end
        if plan.crash_step != step or self.crashes >= plan.max_crashes:
            return
        if plan.crash_prob or "crash_prob" in plan.explicit:
            hit = self.sim.app_rng.random() < plan.crash_prob
        else:
            at = self.crash_at
            hit = at is not None and any(_index(m.value()) == at for m in msgs)
        if hit:
            raise Crash(step)

    def crash(self, step: str) -> None:
        """Kill the current incarnation's clients (requests on the wire still land)."""
        self.crashes += 1
        self.sim.history.record(self.sim.now, self.process, "crash", "ok", step=step)
        self.sim.kernel.emit(self.process, "crash", f"crash {step.replace('_', ' ')}",
                             flag="crash")
        if self.producer is not None:
            self.producer.crash()
        if self.consumer is not None:
            self.consumer.crash()

    def run_once(self, timeout: float = 0.5) -> bool:
        """Process one polled batch (``poll`` waits up to ``timeout`` seconds). Returns
        False when nothing was polled."""
        assert self.consumer is not None
        c, p = self.consumer, self.producer
        msgs = c.consume(self.batch, timeout=timeout)
        if not msgs:
            return False
        self._maybe_crash("after_poll", msgs)
        eos = self.delivery == "exactly-once"
        try:
            if eos and p is not None:
                p.begin_transaction()
            if self.delivery == "at-most-once":
                self._commit(msgs)
                self._maybe_crash("after_commit", msgs)
            for m in msgs:
                out = self.step(m)
                self.sim.sleep(self.processing_ms)
                if self.sink is not None:
                    self.sink.write(self.process, input_id(m), out, (m.topic(), m.partition()),
                                    m.offset())
                if p is not None and self.output is not None:
                    p.produce(self.output, value=out, key=m.key(), headers=lineage(m),
                              on_delivery=self._on_delivery)
                self.processed += 1
            self._maybe_crash("after_process", msgs)
            if p is not None and not eos:
                p.flush()
                self._check_delivered()
            self._maybe_crash("after_produce", msgs)
            self._maybe_crash("before_commit", msgs)
            if self.delivery != "at-most-once":
                self._commit(msgs)
                self._maybe_crash("after_commit", msgs)
        except KafkaException as e:
            err = e.error
            if err.fatal():
                self.fenced += 1
                raise
            if eos and p is not None:
                if p.txn_state == "COMMITTING" and err.retriable():
                    # the commit's outcome is unknown: retry it, never abort it (Kafka
                    # forbids abort here; a further failure goes to the supervisor)
                    p.commit_transaction()
                else:
                    self._abort_and_rewind()
            elif err.name() in COMMIT_FAILED:
                self.commit_failures += 1  # the group moved on; the new owner replays
            else:
                raise
        return True

    def _on_delivery(self, err: Any, msg: Message) -> None:
        if err is not None:
            self._undelivered.append(err)

    def _check_delivered(self) -> None:
        """At least once: an output that was not delivered must not be committed past, so
        the instance stops (its supervisor restarts it from the committed offsets). At most
        once: a lost output is what the guarantee allows."""
        failed, self._undelivered = self._undelivered, []
        if failed and self.delivery == "at-least-once":
            raise KafkaException(failed[0])

    def _commit(self, msgs: list[Message]) -> None:
        assert self.consumer is not None
        c, p = self.consumer, self.producer
        if self.sink is not None and self.sink.mode == "offsets" and p is None:
            return  # the table holds the offsets
        if self.delivery == "exactly-once" and p is not None:
            p.send_offsets_to_transaction(c.position(c.assignment()),
                                          c.consumer_group_metadata())
            p.commit_transaction()
        else:
            c.commit(asynchronous=False)

    def _abort_and_rewind(self) -> None:
        assert self.consumer is not None and self.producer is not None
        self.aborts += 1
        self.producer.abort_transaction()
        c = self.consumer
        for tp in c.committed(c.assignment()):
            c.seek(TopicPartition(tp.topic, tp.partition, max(tp.offset, 0)))

    def caught_up(self) -> bool:
        """True when the group's committed offsets (or the sink's) reach the input's end."""
        gc = self.sim.cluster.group_coordinator
        for part in self.sim.cluster.partitions(self.input):
            tp = (self.input, part.index)
            if self.sink is not None and self.sink.mode == "offsets" and self.producer is None:
                done = self.sink.stored_offset(tp)
            else:
                done = gc.group(self.group).committed.get(tp)
            if done is None or done < part.leo:
                return False
        return True

    def run(self, *, max_ms: float = 3_600_000.0) -> None:
        """Run incarnation after incarnation until the input is fully committed, the
        plan forbids a restart, or ``max_ms`` of virtual time pass."""
        end = self.sim.now + max_ms
        if self.consumer is None or not self.consumer.alive or self.consumer.closed:
            self.start()
        self.restarts = 0
        while self.sim.now < end:
            polled = self.iterate(self._wait_s(end))
            if polled is None or (not polled and self.caught_up()):
                break
        self.close()

    def _wait_s(self, end: float) -> float:
        """How long the supervised loop's next poll may wait, in seconds: 0.5, or, while
        the instance waits for the group to give it partitions (after a restart the dead
        member's session must expire first) and work is left, up to half of
        max.poll.interval.ms at once. The run is the same (an empty poll changes nothing
        the simulation records and the poll deadline never passes max.poll.interval.ms);
        it is only cheaper to simulate than many half-second polls."""
        c = self.consumer
        if c is None or c.assignment() or c.config["enable.auto.commit"] \
                or self.caught_up():
            return 0.5
        wait = min(c.config["max.poll.interval.ms"] / 2, end - self.sim.now) / 1000
        return max(0.5, wait)

    def iterate(self, timeout: float = 0.5) -> bool | None:
        """One :meth:`run_once` under the supervisor: a crash restarts the instance (when
        the plan allows), and so does an error the loop cannot handle (fenced, or a
        timed-out commit/abort: the new instance's init_transactions aborts what the old one
        left open). Returns whether a batch was polled, or None when the app stopped for
        good (no restart allowed, or more than ``max_restarts``)."""
        try:
            return self.run_once(timeout)
        except Crash as crash:
            self.crash(crash.step)
            if not self.sim.faults.restart:
                return None
            self.start()
        except KafkaException as e:
            self.restarts += 1
            if self.restarts > self.max_restarts:
                return None
            self.crash(f"error {e.error.name()}")
            self.start()
        return True

    def close(self) -> None:
        """Close the current clients."""
        if self.consumer is not None and self.consumer.alive:
            self.consumer.close()
        if self.producer is not None and self.producer.alive:
            self.producer.close()


def _index(value: Any) -> int | None:
    """The number in a course message value like ``m17`` (None otherwise)."""
    s = str(value)
    digits = s[1:] if s[:1] == "m" else ""
    return int(digits) if digits.isdigit() else None
