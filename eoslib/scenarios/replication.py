"""Scenarios about replication: the partition leader dies while followers lag."""

from __future__ import annotations

from eoslib.scenarios.common import producer, values, write
from eoslib.scenarios.registry import Outcome, Setup, scenario


@scenario("leader-failover",
          "The partition leader dies while followers lag: acks=1 loses acknowledged "
          "writes; acks=all with min.insync.replicas=2 does not",
          config={"acks": "all", "enable.idempotence": False, "min.insync.replicas": 2,
                  "request.timeout.ms": 1000, "socket.timeout.ms": 1000},
          cluster={"brokers": 3, "replica.fetch.wait.ms": 20})
def _leader_failover(s: Setup) -> Outcome:
    sim = s.sim
    c = s.course
    sim.create_topic("out", 1, replication_factor=int(c["replication.factor"] or 3),
                     min_insync_replicas=int(c["min.insync.replicas"] or 1),
                     unclean_leader_election_enable=bool(c["unclean.leader.election.enable"]))
    p = producer(s, **{"linger.ms": s.producer.get("linger.ms", 0)})
    vals = values(s.messages)
    half = len(vals) // 2
    # lagging.followers=N: N followers have fallen out of the ISR before the first write
    # (Kafka: replica.lag.time.max.ms; here they are down), so the ISR is smaller than the
    # replication factor and min.insync.replicas decides: acks=all is acknowledged by the
    # ISR that is left, or refused NOT_ENOUGH_REPLICAS (Partition.appendRecordsToLeader).
    # They come back just as the leader dies, with none of the new writes: only an unclean
    # election can pick one, and it truncates what the lone leader acknowledged.
    lagging = [b for b in range(1, sim.cluster.config["brokers"])][:int(c["lagging.followers"]
                                                                        or 0)]
    for b in lagging:
        sim.crash_broker(b)

    def leader_dies() -> None:
        for b in lagging:
            sim.restart_broker(b)
        sim.crash_broker(0)

    sim.kernel.schedule(half * 5, leader_dies)  # the leader dies half-way
    write(s, p, "out", vals, 5)
    sim.restart_broker(0)
    sim.settle(1000)
    stored = {v for _, _, v in sim.read_all("out", process="storage-check")}
    return Outcome(["out"], extra={"stored": len(stored),
                                   "missing": sum(1 for v in vals if v not in stored)})
