"""Golden digests: speed work must not change a single trace.

A matrix of runs (every scenario x both clients x seeds x no / default / heavy faults, the
dashboard's 100-message run, the bench's pipelines, explorations) is reduced to digests of
its trace, its history (traced and untraced) and its counts, and compared with
``tests/fixtures/golden_traces.json``. A change to the simulation's behaviour changes them on
purpose: regenerate the file deliberately, and say so in the commit::

    .venv/bin/python tests/test_golden_traces.py --update

(``--check`` prints every case that differs without pytest.)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden_traces.json"
CLIENTS = ("librdkafka", "java")
SEEDS = (0, 3, 7)
#: chance faults on every API a loss can hit, and slow answers
HEAVY = {"response_loss": 0.15, "request_loss": 0.05, "error_prob": 0.05, "slow_prob": 0.1,
         "slow_broker_ms": 40.0,
         "apis": ["produce", "end_txn", "txn_offset_commit", "offset_commit", "fetch"]}
QUIET = {"request_loss": 0.0, "response_loss": 0.0, "error_prob": 0.0, "slow_prob": 0.0,
         "crash_step": None, "crash_at": None, "lost_acks": 0, "lose_responses": ()}
EXPLORE_KINDS = ("request", "response", "crash", "coordinator", "leader")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _run(name: str, **kw: Any) -> dict[str, Any]:
    """Digests of one scenario run, traced and untraced (the history must not depend on
    tracing); a run the config refuses gives its error."""
    from eoslib.errors import ConfigException, KafkaException
    from eoslib.scenarios import run_scenario

    try:
        r = run_scenario(name, **kw)
        q = run_scenario(name, tracing=False, **kw)
    except (ConfigException, KafkaException) as e:
        return {"error": f"{type(e).__name__}: {e}"}
    return {"trace": r.trace_digest[:24], "events": len(r.trace),
            "history": _sha(r.history.dumps()), "history_untraced": _sha(q.history.dumps()),
            "counts": _sha(json.dumps(r.counts, sort_keys=True, default=str)),
            "report": _sha(str(r.report)), "requests": dict(sorted(r.requests.items()))}


def scenario_cases() -> dict[str, dict[str, Any]]:
    """Every scenario x client: without faults, with its own (if it has any) and with heavy
    chance faults, at several seeds (a run without chance faults is one seed's)."""
    from eoslib.scenarios import SCENARIOS

    out = {}
    for name, sc in SCENARIOS.items():
        quiet = {k: v for k, v in QUIET.items() if k in sc.faults}
        plans = [("none", quiet, SEEDS[:1]), ("heavy", HEAVY, SEEDS)]
        if any(v for v in sc.faults.values()):
            plans.insert(1, ("default", None, SEEDS[:2]))
        for client in CLIENTS:
            for label, faults, seeds in plans:
                for seed in seeds:
                    key = f"{name}/{client}/seed={seed}/faults={label}"
                    out[key] = _run(name, seed=seed, config={"client": client}, faults=faults)
    return out


def special_cases() -> dict[str, dict[str, Any]]:
    """Runs the course leans on: the dashboard's, transactions and crashes, the bench's."""
    from eoslib.bench import eoslib_pipeline

    out = {}
    for idem in (False, True):
        for seed in (0, 1, 2):
            out[f"dashboard/producer-retry/100/idempotence={idem}/seed={seed}"] = _run(
                "producer-retry", seed=seed, messages=100,
                config={"enable.idempotence": idem}, faults={"response_loss": 0.1})
    for client in CLIENTS:
        for step in ("after_poll", "after_process", "after_produce", "before_commit",
                     "after_commit"):
            out[f"pipeline/txn/{client}/crash={step}"] = _run(
                "pipeline", seed=1, messages=20,
                config={"client": client, "transactions": True},
                faults={"response_loss": 0.1, "crash_step": step, "crash_at": 7})
        out[f"pipeline/txn/{client}/kills"] = _run(
            "pipeline", seed=2, messages=10, config={"client": client, "transactions": True},
            faults={"kill": ["txn_coordinator.3", "leader.2", "group_coordinator.1"],
                    "drop": ["produce.response.1", "end_txn.request.1"]})
    for txn in (False, True):
        run = eoslib_pipeline(400, transactional=txn)
        out[f"bench/pipeline/transactional={txn}/400"] = {
            "history": _sha(run.history.dumps()), "log": run.log_records,
            "consumed": run.consumed, "virtual_ms": run.virtual_ms, "requests": run.requests}
        traced = eoslib_pipeline(100, transactional=txn, tracing=True)
        out[f"bench/pipeline/transactional={txn}/100/traced"] = {
            "history": _sha(traced.history.dumps()), "virtual_ms": traced.virtual_ms}
    return out


def explore_cases() -> dict[str, dict[str, Any]]:
    """Explorations: their JSON (without the seconds) and every run's outcome and points."""
    from eoslib.explore.engine import explore

    out = {}
    for label, config, k in (("alo", {"delivery": "at-least-once"}, 2),
                             ("eos", {"transactions": True}, 2),
                             ("eos-java", {"transactions": True, "client": "java"}, 2)):
        ex = explore("pipeline", messages=3, config=config, max_faults=k, kinds=EXPLORE_KINDS)
        js = ex.to_json()
        js.pop("seconds")
        runs = [[[p.token() for p in r.schedule], sorted(r.anomalies.items()), r.error,
                 [p.token() for p in r.points]] for r in ex.runs]
        out[f"explore/pipeline/{label}/k={k}"] = {
            "json": _sha(json.dumps(js, sort_keys=True, default=str)),
            "runs": _sha(json.dumps(runs, default=str)), "schedules": ex.schedules}
    return out


def compute() -> dict[str, dict[str, Any]]:
    return {**scenario_cases(), **special_cases(), **explore_cases()}


def _diff(golden: dict[str, Any], now: dict[str, Any]) -> list[str]:
    keys = sorted(set(golden) | set(now))
    return [f"{k}: golden {golden.get(k)} now {now.get(k)}" for k in keys
            if golden.get(k) != now.get(k)]


@pytest.mark.parametrize("part", [scenario_cases, special_cases, explore_cases],
                         ids=["scenarios", "special", "explore"])
def test_traces_match_golden_digests(part):
    golden = json.loads(GOLDEN.read_text())
    now = part()
    assert now, "no cases computed"
    missing = [k for k in now if k not in golden]
    assert not missing, f"cases not in {GOLDEN.name} (regenerate deliberately): {missing[:5]}"
    diffs = _diff({k: golden[k] for k in now}, now)
    assert not diffs, (f"{len(diffs)} of {len(now)} runs differ from {GOLDEN.name}; if the "
                       "behaviour change is meant, regenerate it (see the module docstring):\n"
                       + "\n".join(diffs[:10]))


def test_golden_file_covers_refusals_and_runs():
    """The matrix runs real scenarios: most cases give a trace, few a config refusal."""
    golden = json.loads(GOLDEN.read_text())
    runs = [v for v in golden.values() if "trace" in v]
    assert len(runs) > 0.8 * sum(1 for k in golden if not k.startswith(("explore", "bench")))
    assert len({v["trace"] for v in runs}) > 0.75 * len(runs)  # the cases differ


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    data = compute()
    if "--update" in sys.argv:
        GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN} ({len(data)} cases)")
    else:
        diffs = _diff(json.loads(GOLDEN.read_text()), data)
        print("\n".join(diffs) or f"all {len(data)} cases match")
        raise SystemExit(1 if diffs else 0)
