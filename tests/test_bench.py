"""``eoslib bench --quick``: it runs, its sanity checks pass, and its last line is the JSON
summary with every key. Not a timing test: the numbers only have to be positive."""

from __future__ import annotations

import json
import numbers

import pytest

from eoslib import bench

RATES = ("eoslib_msgs_per_s", "simpy_msgs_per_s", "ratio", "txn_msgs_per_s",
         "alo_virtual_ms_per_msg", "txn_virtual_ms_per_msg")
OPTIONAL = ("widget_update_p50_ms", "widget_update_p95_ms",  # None when skipped
            "widget_update_logview_p50_ms", "widget_update_logview_p95_ms")
VIEWS = ("state_view_step_p50_ms", "state_view_step_p95_ms", "explore_schedules_per_s",
         "explore_eos_2_faults_s", "explore_eos_2_faults_schedules",
         "explore_eos_2_faults_peak_mb", "explore_run_ms", "explore_fork_ms",
         "explore_deepcopy_ms", "explore_schedules_per_cpu_s", "explore_eos_2_faults_cpu_s")


def test_quick_bench_ends_with_a_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from eoslib.cli import main

    assert main(["bench", "--quick"]) == 0  # the CLI adds the explorer's figures
    out = capsys.readouterr().out
    assert "ratio eoslib/simpy" in out
    assert "3%" in out  # Kafka's published cost of transactions, for comparison
    summary = json.loads(out.strip().splitlines()[-1])
    for key in (*RATES, "scenario_ms", *OPTIONAL, "quick"):
        assert key in summary, key
    assert summary["quick"] is True
    for key in (*RATES, *VIEWS):
        assert isinstance(summary[key], numbers.Real) and summary[key] > 0, (key, summary[key])
    for key in OPTIONAL:
        assert summary[key] is None or summary[key] > 0, (key, summary[key])
    assert summary["explore_eos_2_faults_schedules"] >= 300  # 556 when written (librdkafka)
    assert summary["explore_eos_3_faults_s"] is None  # quick: up to 3 and 4 are skipped
    assert summary["explore_eos_3_faults_cpu_s"] is None
    assert summary["explore_eos_4_faults_s"] is None and summary["explore_client"]
    assert "explorer (one core, client" in out and "process snapshot (fork)" in out
    from eoslib.scenarios import SCENARIOS

    assert set(summary["scenario_ms"]) == set(SCENARIOS)
    assert all(ms > 0 for ms in summary["scenario_ms"].values())


def test_both_pipelines_deliver_everything() -> None:
    """The sanity checks main() relies on, on a small N: every record written and read back;
    the transactional pipeline without duplicates."""
    n = 300
    eos, twin = bench.eoslib_pipeline(n), bench.simpy_pipeline(n)
    for run in (eos, twin):
        run.check("at-least-once")
        assert run.log_records >= n
    # one workload: the same produce requests, the same duplicates from the same lost answers
    assert (eos.requests, eos.log_records) == (twin.requests, twin.log_records)
    txn = bench.eoslib_pipeline(n, transactional=True)
    txn.check("transactional", exact=True)
    assert txn.log_records == n
