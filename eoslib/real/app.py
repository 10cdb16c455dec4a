"""The consume-transform-produce application, run as a child process so it can really die.

``python -m eoslib.real.app '<json spec>'`` reads the input topic from its group's committed
offset, copies each record to the output topic (key = the input offset, value = the input
value) in batches, and commits its input offsets:

* ``transactional: false`` (at-least-once): produce the batch, flush, then
  ``consumer.commit()``. A crash between the two replays the batch after a restart.
* ``transactional: true`` (exactly-once): ``begin_transaction``, produce the batch,
  ``send_offsets_to_transaction(position, group metadata)``, ``commit_transaction``. A crash
  before the commit leaves a transaction that the next incarnation's ``init_transactions``
  aborts (output and offsets together).

``crash_batch`` = k makes the process ``os._exit(CRASH_EXIT)`` after producing (and flushing)
batch k and before committing it. The process writes every history operation it completes
to ``ops_file`` (one JSON object a line, flushed at once) so the parent can merge them.
Transient errors while the broker is away are handled as a real EOS loop must: retriable
errors are retried, abortable ones abort and rewind the consumer to its committed offsets,
fatal ones (fenced) end the process with FATAL_EXIT, and a call stuck far past its
timeout ends it with STUCK_EXIT (see :class:`_Watchdog`).

The consumer uses ``assign()`` (no group membership), so a restarted incarnation does not
wait for the dead one's session to expire; offsets are still stored under ``group``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from eoslib.real.clients import Cluster, consumer_conf, producer_conf

CRASH_EXIT = 17  # the planned crash
FATAL_EXIT = 18  # fenced or another fatal client error
TIMEOUT_EXIT = 20  # the input was not consumed to its end within timeout_s
STUCK_EXIT = 19  # a client call blocked far past its timeout; the watchdog ended the process
CALL_TIMEOUT_S = 10.0  # timeout passed to each transactional call
STUCK_AFTER_S = 15.0  # a call still blocked after this long is considered stuck
STALL_S = 30.0  # no input for this long, with input left, counts as stuck too


class _Ops:
    """Writes history operations as JSON lines, stamped against the parent's clock."""

    def __init__(self, path: str, t0: float, process: str) -> None:
        self._f = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        self.t0 = t0
        self.process = process

    def op(self, f: str, outcome: str = "ok", **value: Any) -> None:
        t = round((time.monotonic() - self.t0) * 1000, 3)
        rec = {"time": t, "process": self.process, "f": f, "outcome": outcome, "value": value}
        self._f.write(json.dumps(rec) + "\n")
        self._f.flush()


class _Watchdog:
    """Ends the process when one client call blocks far longer than its own timeout.

    librdkafka's ``send_offsets_to_transaction`` can ignore its timeout and block forever
    after the group coordinator went away (confluentinc/librdkafka#5456, #5511). A real
    deployment's supervisor would kill and restart such a process; this does the same,
    recording the crash first.
    """

    def __init__(self, ops: _Ops) -> None:
        self.ops = ops
        self._lock = threading.Lock()
        self._call: tuple[str, float] | None = None
        threading.Thread(target=self._watch, daemon=True).start()

    def arm(self, what: str) -> None:
        with self._lock:
            self._call = (what, time.monotonic() + STUCK_AFTER_S)

    def disarm(self) -> None:
        with self._lock:
            self._call = None

    def _watch(self) -> None:
        while True:
            time.sleep(0.5)
            with self._lock:
                call = self._call
            if call is not None and time.monotonic() > call[1]:
                self.ops.op("crash", step=f"stuck in {call[0]} for {STUCK_AFTER_S:.0f} s")
                os._exit(STUCK_EXIT)


def run(spec: dict[str, Any]) -> int:
    """Run the application described by ``spec`` (see the module docstring); exit status."""
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    cluster = Cluster(spec["bootstrap"], dict(spec.get("extra_conf") or {}))
    ops = _Ops(spec["ops_file"], spec["t0"], spec["process"])
    txn: str | None = spec.get("transactional_id") if spec["transactional"] else None
    in_topic, out_topic, group = spec["in_topic"], spec["out_topic"], spec["group"]
    end_offset: int = spec["end_offset"]
    crash_batch: int = spec.get("crash_batch", -1)
    pause_s: float = spec.get("pause_s", 0.0)
    deadline = time.monotonic() + spec.get("timeout_s", 120)

    debug = {"debug": spec["debug"]} if spec.get("debug") else {}  # librdkafka contexts
    pconf = producer_conf(cluster, idempotence=True, transactional_id=txn)
    cconf = consumer_conf(cluster, group=group, isolation="read_committed")
    for conf in (pconf, cconf):
        conf.pop("logger")  # librdkafka logs to stderr, which the parent shows on failure
        conf.update(debug)
    producer = Producer(pconf)
    consumer = Consumer(cconf)
    txn_seq = 0
    acked: list[dict[str, Any]] = []

    def on_delivery(err: Any, msg: Any) -> None:
        acked.append(
            {
                "outcome": "ok" if err is None else "fail",
                "topic": msg.topic(),
                "partition": msg.partition(),
                "key": _s(msg.key()),
                "value": _s(msg.value()),
                "offset": msg.offset() if err is None else None,
                "txn": txn,
                "txn_seq": txn_seq if txn else None,
                "error": None if err is None else err.name(),
            }
        )

    def flush_sends() -> None:
        for a in acked:
            ops.op("send", a.pop("outcome"), **a)
        acked.clear()

    watchdog = _Watchdog(ops)

    def retry(call: Any, what: str) -> None:
        """Call until success; retriable errors (and timeouts) are retried."""
        while True:
            watchdog.arm(what)
            try:
                call()
                return
            except KafkaException as e:
                err = e.args[0]
                if err.retriable() and time.monotonic() < deadline:
                    ops.op("note", text=f"{what}: {err.name()} (retriable), retrying")
                    time.sleep(0.5)
                    continue
                raise
            finally:
                watchdog.disarm()

    def rewind() -> None:
        """Seek back to the committed offsets (an abort does not rewind the consumer)."""
        tps = consumer.committed([TopicPartition(in_topic, 0)], timeout=30)
        for tp in tps:
            tp.offset = tp.offset if tp.offset >= 0 else 0
            consumer.seek(tp)

    try:
        if txn:
            retry(lambda: producer.init_transactions(CALL_TIMEOUT_S), "init_transactions")
        consumer.assign([TopicPartition(in_topic, 0)])
        batch_no = 0
        progress = time.monotonic()
        while time.monotonic() < deadline:
            pos = consumer.position([TopicPartition(in_topic, 0)])[0].offset
            if pos >= end_offset:
                break
            msgs = [m for m in consumer.consume(spec["batch"], timeout=1.0) if m.error() is None]
            if not msgs:
                if time.monotonic() - progress > STALL_S:
                    ops.op("crash", step=f"no input for {STALL_S:.0f} s at offset {pos}")
                    return STUCK_EXIT
                continue
            progress = time.monotonic()
            records = [[m.topic(), m.partition(), m.offset(), _s(m.value())] for m in msgs]
            ops.op("poll", isolation="read_committed", group=group, records=records)
            next_offsets = [TopicPartition(in_topic, 0, msgs[-1].offset() + 1)]
            try:
                if txn:
                    producer.begin_transaction()
                for m in msgs:
                    producer.produce(
                        out_topic, key=str(m.offset()), value=m.value(), on_delivery=on_delivery
                    )
                remaining = producer.flush(30)
                flush_sends()
                if remaining:
                    raise RuntimeError(f"{remaining} messages not delivered in 30 s")
                if txn:
                    meta = consumer.consumer_group_metadata()
                    retry(
                        lambda o=next_offsets, g=meta: producer.send_offsets_to_transaction(
                            o, g, CALL_TIMEOUT_S
                        ),
                        "send_offsets_to_transaction",
                    )
                    ops.op("commit", group=group, offsets=_offsets(next_offsets), txn=txn)
                if batch_no == crash_batch:
                    ops.op("crash", step="after_produce")
                    os._exit(CRASH_EXIT)
                if txn:
                    retry(lambda: producer.commit_transaction(CALL_TIMEOUT_S), "commit_transaction")
                    ops.op("txn_end", txn=txn, txn_seq=txn_seq, result="commit")
                    txn_seq += 1
                else:
                    consumer.commit(offsets=next_offsets, asynchronous=False)
                    ops.op("commit", group=group, offsets=_offsets(next_offsets), txn=None)
            except KafkaException as e:
                err = e.args[0]
                flush_sends()
                if txn and err.txn_requires_abort():
                    ops.op("note", text=f"abortable error {err.name()}: aborting")
                    retry(lambda: producer.abort_transaction(CALL_TIMEOUT_S), "abort_transaction")
                    ops.op("txn_end", txn=txn, txn_seq=txn_seq, result="abort")
                    txn_seq += 1
                    rewind()
                    continue
                if err.name() in ("_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"):
                    ops.op("fenced", txn=txn, error=err.name())
                else:
                    ops.op("crash", step=f"fatal error {err.name()}")
                os._exit(FATAL_EXIT)
            batch_no += 1
            if pause_s:
                time.sleep(pause_s)
        else:
            ops.op("note", text=f"gave up: input not consumed to offset {end_offset} in time")
            return TIMEOUT_EXIT
    finally:
        flush_sends()
    consumer.close()
    return 0


def _offsets(tps: list[Any]) -> list[list[Any]]:
    return [[tp.topic, tp.partition, tp.offset] for tp in tps]


def _s(b: bytes | None) -> str | None:
    return None if b is None else b.decode()


def main(argv: list[str] | None = None) -> int:
    """Entry point: one argument, the JSON spec."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(args[0] if args[0] != "-" else sys.stdin.read())
    return run(spec)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip librdkafka's destructors: the parent judges by the ops file
