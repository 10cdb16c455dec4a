"""The protocol state model (eoslib.protocol_state) against the simulation's own objects.

Each scenario is run with a Simulation whose instance the test keeps; the state folded from
the trace at the last step must equal what the partitions, the group coordinator, the
transaction coordinator and the sink hold at the end of the run.
"""

from __future__ import annotations

from typing import Any

import pytest

from eoslib import scenarios
from eoslib.protocol_state import first_step, state_at
from eoslib.scenarios import SCENARIOS, run_scenario
from eoslib.simulation import Simulation


def _run_keeping_sim(monkeypatch: pytest.MonkeyPatch, name: str, **kw: Any):
    made: list[Simulation] = []

    class Keep(Simulation):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(scenarios, "Simulation", Keep)
    result = run_scenario(name, **kw)
    return result, made[0]


def _status(p: Any, b: Any) -> str:
    """A batch's status as the simulation's partition sees it at the end."""
    if b.control:
        return "control"
    if not b.transactional:
        return "committed"
    aborted = any(a.producer_id == b.producer_id and a.first_offset <= b.base_offset
                  <= a.last_offset for a in p.aborted)
    if aborted:
        return "aborted"
    decided = any(m.control and m.producer_id == b.producer_id
                  and m.base_offset > b.base_offset for m in p.log)
    return "committed" if decided else "open"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_final_state_matches_the_simulation(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    result, sim = _run_keeping_sim(monkeypatch, name, seed=3, messages=8)
    st = state_at(result)
    for topic in sim.cluster.topics:
        for p in sim.cluster.partitions(topic):
            ps = st.partition(p.name)
            want = [(b.base_offset + k, str(v) if b.control is None else b.control,
                     b.producer_id, _status(p, b))
                    for b in p.log for k, (_, v) in enumerate(b.records)]
            got = [(c.offset, c.value, c.pid, c.status) for c in ps.cells]
            assert got == want, f"{name}: log of {p.name}"
            assert (ps.hw, ps.lso) == (p.hw, p.lso), f"{name}: HW/LSO of {p.name}"
    gc = sim.cluster.group_coordinator
    for gid, g in gc.groups.items():
        want_c = {f"{t}-{i}": o for (t, i), o in g.committed.items()}
        assert st.committed.get(gid, {}) == want_c, f"{name}: committed offsets of {gid}"
        want_p = {pid: {f"{t}-{i}": o for (t, i), o in offs.items()}
                  for pid, offs in g.pending.items() if offs}
        got_p = {pid: offs for pid, offs in st.pending.get(gid, {}).items() if offs}
        assert got_p == want_p, f"{name}: pending offsets of {gid}"
    tc = sim.cluster.txn_coordinator
    for txn_id, meta in tc.txns.items():
        t = st.txns.get(txn_id)
        assert t is not None and (t.state, t.pid, t.epoch) == (
            meta.state, meta.producer_id, meta.epoch), f"{name}: coordinator state of {txn_id}"
    sinks = [s for s in getattr(sim, "sinks", [])]
    for s in sinks:
        assert [(r.id, r.value) for r in st.sink if r.applied] == [
            (str(i), str(v)) for i, v in s.rows]


def test_a_known_duplicate_sits_at_two_offsets() -> None:
    r = run_scenario("producer-retry", seed=1, messages=6,
                     config={"enable.idempotence": False, "acks": "all"})
    assert r.counts["duplicates"] > 0
    dups = state_at(r).partition("out-0").duplicates()
    # every extra copy the checker counted is a second (third...) cell of the same value
    assert sum(len(offs) - 1 for offs in dups.values()) == r.counts["duplicates"]
    # before the first duplicate append the log has no value twice
    i = first_step(r, "duplicate")
    assert i is not None
    assert not state_at(r, i - 1).partition("out-0").duplicates()
    assert state_at(r, i).partition("out-0").duplicates()


def test_idempotent_retry_is_acknowledged_with_the_original_offset() -> None:
    r = run_scenario("producer-retry", seed=1, messages=6)
    dedups = [ev for ev in r.trace if ev["kind"] == "dedup"]
    assert dedups
    ev = dedups[0]
    st = state_at(r, ev["i"])
    cells = st.partition("out-0").cells
    original = [c for c in cells if c.seq == ev["data"]["seq"] and c.pid == ev["data"]["pid"]]
    assert [c.offset for c in original] == [ev["data"]["base"]]
    assert not st.partition("out-0").duplicates()


def test_open_transaction_holds_the_lso_and_the_marker_releases_it() -> None:
    r = run_scenario("transactional-crash", seed=1, messages=4)
    appends = [ev for ev in r.trace if ev["kind"] == "append" and ev["data"]["txn"]]
    marker = next(ev for ev in r.trace if ev["kind"] == "marker"
                  and ev["data"]["tp"] == "out-0")
    mid = state_at(r, appends[0]["i"]).partition("out-0")
    assert mid.lso == appends[0]["data"]["base"] and mid.hw > mid.lso
    assert {c.status for c in mid.cells if c.offset >= mid.lso} == {"open"}
    marker = next(ev for ev in r.trace if ev["kind"] == "marker" and ev["i"] > appends[0]["i"]
                  and ev["data"]["tp"] == "out-0")
    after = state_at(r, marker["i"]).partition("out-0")
    assert after.lso == after.hw == marker["data"]["offset"] + 1
    assert after.cells[-1].status == "control"


def test_pending_offsets_apply_only_when_the_marker_reaches_consumer_offsets() -> None:
    r = run_scenario("transactional-crash", seed=1, messages=4)
    pend = next(ev for ev in r.trace if ev["kind"] == "commit" and ev["data"]["txn"])
    st = state_at(r, pend["i"])
    group = pend["data"]["group"]
    assert st.pending[group] and st.committed.get(group, {}) == {}
    marker = next(ev for ev in r.trace if ev["kind"] == "marker"
                  and ev["data"]["tp"].startswith("__consumer_offsets"))
    assert state_at(r, marker["i"]).committed[group] == pend["data"]["offsets"]


def test_a_step_outside_the_trace_is_refused_with_its_range() -> None:
    r = run_scenario("producer-retry", seed=1, messages=2)
    with pytest.raises(ValueError, match="step"):
        state_at(r, len(r.trace))
    with pytest.raises(ValueError, match="what"):
        first_step(r, "oops")


def test_the_one_pass_states_equal_the_fold_at_each_step() -> None:
    from eoslib.protocol_state import fold, states

    r = run_scenario("transactional-crash", seed=2, messages=6, config={"linger.ms": 0},
                     faults={"crash_step": "after_produce", "crash_at": 2})
    seen = [repr(st) for st in states(r.trace)]
    assert seen == [repr(fold(r.trace, i)) for i in range(len(r.trace))]
