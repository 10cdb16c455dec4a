"""Determinism: a run is a pure function of its seed and inputs.

Same seed and inputs -> the same trace digest and the same history JSON, within a process
and across processes with different PYTHONHASHSEED; different seeds -> different traces
for a faulty scenario; and the simulation never reads the wall clock or the global random
generator.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eoslib import Simulation
from eoslib.scenarios import SCENARIOS, run_scenario

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "eoslib"
# Not part of the simulation: drawing, the real-broker backend, grading, benchmarks, the
# course site's builder and the notebook helpers may use the wall clock.
EXCLUDED_DIRS = ("explore",  # times itself for its report; every run it makes is seeded
                 "viz", "real", "grading", "site")
EXCLUDED_FILES = ("notebooks.py",
                  "program.py")  # confluent_kafka/program.py: makes a program's clock virtual
EXCLUDED_GLOB = "bench*.py"  # bench.py and its SimPy twin bench_simpy.py

FAULTY = {
    "producer-retry": {"config": {"enable.idempotence": False},
                       "faults": {"response_loss": 0.2}},
    "pipeline": {"config": {"transactions": True},
                 "faults": {"response_loss": 0.2, "crash_step": "after_produce",
                            "crash_at": 7}},
    "reorder": {"config": {}, "faults": {"error_prob": 0.2}},
}


def fingerprint(name, seed, **kw):
    r = run_scenario(name, seed=seed, messages=20, **kw)
    history = hashlib.sha256(r.history.dumps().encode()).hexdigest()
    return r.trace_digest, history, json.dumps(r.counts, sort_keys=True)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_trace_and_history_in_process(name):
    a = run_scenario(name, seed=11, messages=20)
    b = run_scenario(name, seed=11, messages=20)
    assert a.trace_digest == b.trace_digest
    assert a.trace == b.trace
    assert a.history.dumps() == b.history.dumps()
    assert a.counts == b.counts
    assert json.dumps(a.to_json(), sort_keys=True) == json.dumps(b.to_json(), sort_keys=True)


def test_same_inputs_with_faults_and_config_are_deterministic():
    for name, kw in FAULTY.items():
        assert fingerprint(name, 5, **kw) == fingerprint(name, 5, **kw)


def test_digest_ignores_tracing_flag_for_history():
    """Tracing off changes nothing the checker sees."""
    a = run_scenario("pipeline", seed=3, messages=20, tracing=True)
    b = run_scenario("pipeline", seed=3, messages=20, tracing=False)
    assert a.history.dumps() == b.history.dumps()
    assert a.counts["duplicates"] == b.counts["duplicates"]


def test_simulation_rng_argument_equals_seed():
    def run(sim):
        sim.create_topic("t", 3)
        p = sim.Producer({"enable.idempotence": False, "linger.ms": 0})
        for i in range(30):
            p.produce("t", value=i)
            sim.sleep(1)
        p.flush()
        return sim.trace

    a = run(Simulation(seed=9, faults={"response_loss": 0.3}))
    b = run(Simulation(rng=random.Random(9), faults={"response_loss": 0.3}))
    assert a == b


def test_different_seeds_give_different_traces_for_a_faulty_scenario():
    for name in ("producer-retry", "reorder"):  # many random draws: every seed differs
        digests = {run_scenario(name, seed=s, messages=20, **FAULTY[name]).trace_digest
                   for s in range(6)}
        assert len(digests) == 6, name
    # the pipeline makes few produce requests (batches of 10), so seeds collide more often
    digests = {run_scenario("pipeline", seed=s, messages=20, **FAULTY["pipeline"]).trace_digest
               for s in range(6)}
    assert len(digests) >= 3


_CHILD = """
import hashlib, json, sys
from eoslib.scenarios import run_scenario
cases = json.loads(sys.argv[1])
out = []
for name, kw in cases:
    r = run_scenario(name, seed=5, messages=20, **kw)
    out.append([r.trace_digest, hashlib.sha256(r.history.dumps().encode()).hexdigest(),
                json.dumps(r.counts, sort_keys=True)])
print(json.dumps(out))
"""


def test_same_digest_across_processes_with_different_hash_seeds():
    cases = [[name, kw] for name, kw in FAULTY.items()]
    cases += [["transactional-crash", {}], ["zombie-fencing", {}],
              ["read-committed", {"config": {"isolation.level": "read_committed"}}]]
    results = []
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cases)], env=env,
                              capture_output=True, text=True, timeout=120, check=True)
        results.append(json.loads(proc.stdout))
    assert results[0] == results[1]
    here = [list(fingerprint(name, 5, **kw)) for name, kw in cases]
    assert results[0] == here


def test_no_wall_clock_or_global_random_during_a_run(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the simulation touched the wall clock or global random")

    for fn in ("time", "monotonic", "perf_counter", "time_ns", "sleep"):
        monkeypatch.setattr(time, fn, boom)
    for fn in ("random", "randint", "randrange", "choice", "choices", "shuffle", "uniform",
               "sample", "getrandbits", "seed", "gauss"):
        monkeypatch.setattr(random, fn, boom)
    for name in ("pipeline", "transaction-timeout", "leader-failover", "rebalance"):
        r = run_scenario(name, seed=2, messages=20, faults={"response_loss": 0.1})
        assert r.trace


def _simulation_modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] in EXCLUDED_DIRS or rel.name in EXCLUDED_FILES:
            continue
        if len(rel.parts) == 1 and rel.match(EXCLUDED_GLOB):
            continue
        yield path


def _violations(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [f"import {a.name}" for a in node.names
                    if a.name.split(".")[0] in ("time", "datetime")]
        elif isinstance(node, ast.ImportFrom):
            mod = (node.module or "").split(".")[0]
            if mod in ("time", "datetime"):
                bad.append(f"from {node.module} import ...")
            if mod == "random":
                bad += [f"from random import {a.name}" for a in node.names
                        if a.name not in ("Random",)]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "random" and node.attr != "Random":
            bad.append(f"random.{node.attr} (line {node.lineno})")
    return bad


def test_simulation_modules_do_not_import_time_or_use_global_random():
    modules = list(_simulation_modules())
    names = {p.name for p in modules}
    assert {"kernel.py", "simulation.py", "producer.py", "network.py", "faults.py"} <= names
    found = {str(p.relative_to(ROOT)): v for p in modules if (v := _violations(p))}
    assert found == {}


def test_the_grep_itself_catches_violations(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("import time\nimport random\nx = random.random()\n"
                      "from datetime import datetime\ny = random.Random(1)\n")
    assert sorted(_violations(sample)) == ["from datetime import ...", "import time",
                                           "random.random (line 3)"]


@pytest.mark.parametrize("scenario,step", [("consumer-crash", "before_commit"),
                                           ("transactional-crash", "after_produce"),
                                           ("external-sink", "after_process"),
                                           ("rebalance", "after_poll")])
def test_waiting_out_a_rebalance_in_one_poll_is_the_same_run(monkeypatch, scenario, step):
    """The supervised loop polls longer while the restarted instance waits for partitions
    (a speed-up for the explorer): the trace is the one half-second polls give."""
    from eoslib.apps import Pipeline

    faults = {"crash_step": step, "crash_at": 4}
    fast = run_scenario(scenario, messages=9, faults=faults)
    monkeypatch.setattr(Pipeline, "_wait_s", lambda self, end: 0.5)
    slow = run_scenario(scenario, messages=9, faults=faults)
    assert fast.history.of("crash") and fast.trace_digest == slow.trace_digest
