"""Static group membership (group.instance.id, KIP-345) in the group coordinator."""

from __future__ import annotations

import pytest

from eoslib import KafkaException, Simulation, TopicPartition


def group_of(sim: Simulation):
    return sim.cluster.group_coordinator.group("g")


def setup(instance_id: str | None):
    sim = Simulation(seed=0)
    sim.create_topic("in", 2)
    for p in sim.cluster.partitions("in"):
        p.append_data([(None, f"m{p.index}")])
    conf = {"group.id": "g", "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 45000}
    if instance_id:
        conf["group.instance.id"] = instance_id
    c = sim.Consumer({**conf, "client.id": "first"})
    c.subscribe(["in"])
    got = []
    for _ in range(5):
        got += c.consume(10, timeout=1.0)
    assert sorted(m.value() for m in got) == ["m0", "m1"]
    return sim, conf, c


def test_a_restarted_static_member_gets_its_partitions_back_without_a_rebalance():
    sim, conf, c = setup("worker-1")
    gen = group_of(sim).generation
    c.crash()
    c2 = sim.Consumer({**conf, "client.id": "second"})
    c2.subscribe(["in"])
    t0 = sim.now
    c2.consume(10, timeout=1.0)
    assert {(tp.topic, tp.partition) for tp in c2.assignment()} == {("in", 0), ("in", 1)}
    assert sim.now - t0 < 1000  # no waiting for the dead member's session to expire
    assert group_of(sim).generation == gen  # no rebalance
    assert any("static member worker-1 rejoined" in ev["label"] for ev in sim.trace)


def test_a_dynamic_member_restart_waits_for_the_session_timeout():
    sim, conf, c = setup(None)
    c.crash()
    c2 = sim.Consumer({**conf, "client.id": "second"})
    c2.subscribe(["in"])
    c2.consume(10, timeout=1.0)
    # the dead member still holds a partition until session.timeout.ms passes
    assert len(c2.assignment()) == 1
    c2.consume(10, timeout=50.0)
    assert len(c2.assignment()) == 2


def test_the_replaced_static_instance_is_fenced():
    sim, conf, c = setup("worker-1")
    c2 = sim.Consumer({**conf, "client.id": "second"})  # the old one is still alive
    c2.subscribe(["in"])
    c2.consume(10, timeout=1.0)
    with pytest.raises(KafkaException) as ei:
        c.commit(offsets=[TopicPartition("in", 0, 1)], asynchronous=False)
    assert ei.value.error.name() == "FENCED_INSTANCE_ID"
    sim.sleep(5000)  # its heartbeat learns it was fenced: fatal from now on
    with pytest.raises(KafkaException) as ei:
        c.consume(1, timeout=0.1)
    assert ei.value.error.name() == "FENCED_INSTANCE_ID" and ei.value.error.fatal()


def test_closing_a_static_member_sends_no_leave_group():
    sim, conf, c = setup("worker-1")
    gen = group_of(sim).generation
    c.close()
    assert group_of(sim).generation == gen
    assert len(group_of(sim).members) == 1  # kept until its session times out
    sim.sleep(50_000)
    assert len(group_of(sim).members) == 0
    assert group_of(sim).generation == gen + 1
