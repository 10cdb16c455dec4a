"""The three whiteboard pictures: fencing by epoch, a hanging transaction, a write cycle.

Each is drawn from a real run (or a hand-built Simulation, as notebook 06c builds one) and
checked through the texts it draws and its alt text.
"""

from __future__ import annotations

import pytest

from eoslib import Simulation
from eoslib.scenarios import run_scenario
from eoslib.viz import fencing_picture, hanging_picture, write_cycle_picture


def _texts(pic) -> list[str]:
    return [b.text for b in pic.boxes if b.kind == "text"]


def test_fencing_shows_the_epochs_and_the_zombies_rejected_request() -> None:
    r = run_scenario("zombie-fencing", seed=1, config={"transactions": True})
    pic = fencing_picture(r)
    texts = _texts(pic)
    assert {"epoch 0", "epoch 1", "epoch 2"} <= set(texts)
    assert any(t.startswith("fence:") for t in texts)
    # librdkafka's AddOffsetsToTxn v0 is answered INVALID_PRODUCER_EPOCH (KafkaApis: < v2)
    assert any("INVALID_PRODUCER_EPOCH: epoch 0 is older" in t.replace("\n", " ") for t in texts)
    assert "app-a" in pic.alt and "INVALID_PRODUCER_EPOCH" in pic.alt
    with pytest.raises(ValueError, match="fences no producer"):
        fencing_picture(run_scenario("producer-retry", seed=1, messages=3))


def test_hanging_transaction_of_a_hand_built_simulation() -> None:
    """Notebook 06c's case: a late batch appended after its transaction was aborted."""
    sim = Simulation(seed=1)
    sim.create_topic("out", 1)
    p = sim.Producer({"transactional.id": "w", "transaction.version": 1})
    p.init_transactions()
    p.begin_transaction()
    for v in ("a", "b", "c"):
        p.produce("out", value=v)
    p.flush()
    pid, epoch = p.pid, p.epoch
    p.abort_transaction()
    part = sim.cluster.partition("out", 0)
    part.append_data([(None, "late")], producer_id=pid, epoch=epoch, transactional=True)
    other = sim.Producer({"linger.ms": 0})
    other.produce("out", value="o0")
    other.flush()
    pic = hanging_picture(sim)
    texts = _texts(pic)
    assert f"stops at LSO={part.lso}: open transaction" in texts
    assert any("CompleteAbort" in t and "hanging transaction" in t for t in texts)
    assert part.lso < part.hw
    assert pic.alt.startswith("Hanging transaction.") and "<title" in pic.svg


def test_a_timed_out_transaction_is_not_called_hanging() -> None:
    pic = hanging_picture(run_scenario("transaction-timeout", seed=1))
    text = " ".join(_texts(pic))
    assert "Ongoing" in text and "transaction.timeout.ms" in text
    assert "hanging transaction, which" not in text
    assert pic.alt.startswith("Open transaction.") and ">Open transaction</title>" in pic.svg


def test_write_cycle_of_notebook_07b() -> None:
    pic = write_cycle_picture({"x": ["T1-a", "T2-a", "T1-b"], "y": ["T2-b", "T1-c"]})
    texts = _texts(pic)
    assert "T1 before T2" in texts and "T2 before T1" in texts
    assert any(t.startswith("A cycle") for t in texts)
    serial = write_cycle_picture({"x": ["T1-a", "T2-a"], "y": [("T1", "c"), ("T2", "d")]})
    assert any(t.startswith("No cycle") for t in _texts(serial))
    with pytest.raises(ValueError, match="for logs"):
        write_cycle_picture({"x": ["T1-a"]})
