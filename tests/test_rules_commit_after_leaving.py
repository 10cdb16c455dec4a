"""A consumer that missed ``max.poll.interval.ms`` is out of the group: its next offset-less
``commit()`` fails in the client and no OffsetCommit is sent.

librdkafka (src/rdkafka_cgrp.c): ``rd_kafka_cgrp_max_poll_interval_check_tmr_cb`` leaves the
group, resets the member id and calls ``rd_kafka_cgrp_revoke_all_rejoin_maybe(rkcg,
rd_true /*lost*/, ...)``; ``rd_kafka_cgrp_offsets_commit`` then answers a commit of the
current assignment with ``RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST`` ("Not committing assigned
offsets: assignment lost") and ``rd_kafka_cgrp_assigned_offsets_commit`` (auto-commit) skips.
Java (ConsumerCoordinator.sendOffsetCommitRequest): ``generationIfStable()`` is null, so the
commit fails with CommitFailedException ("... it is likely that the consumer was kicked out
of the group") before any request; CommitFailedException has no error code, so the
simulator names it as librdkafka does (eoslib/errors.py ``timed_out_name``'s convention).
"""

from __future__ import annotations

import pytest

from eoslib import KafkaException, Simulation


def _requests(sim: Simulation, label: str) -> int:
    return sum(1 for e in sim.kernel.trace
               if e["kind"] == "request" and e["label"].startswith(label))


@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_commit_after_missing_max_poll_interval_fails_locally(client: str) -> None:
    sim = Simulation(seed=0)
    sim.create_topic("in", 1)
    p = sim.Producer({"client": client})
    for i in range(3):
        p.produce("in", value=f"m{i}")
    p.flush()
    c = sim.Consumer({"group.id": "g", "client": client, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "max.poll.interval.ms": 6000,
                      "session.timeout.ms": 6000})
    c.subscribe(["in"])
    got = []
    while len(got) < 3:
        got += c.consume(10, timeout=1.0)
    sent = _requests(sim, "OffsetCommit")
    sim.kernel.advance(10_000)  # "processing" longer than max.poll.interval.ms
    assert any("missed max.poll.interval.ms" in e["label"] for e in sim.kernel.trace)
    with pytest.raises(KafkaException) as ex:
        c.commit(asynchronous=False)
    assert ex.value.args[0].name() == "_ASSIGNMENT_LOST"
    assert ("kicked out of the group" if client == "java" else "assignment lost") \
        in ex.value.args[0].str()
    assert _requests(sim, "OffsetCommit") == sent  # nothing was sent
    fails = [op for op in sim.history if op.f == "commit" and op.outcome == "fail"]
    assert len(fails) == 1  # the history records the failed commit
