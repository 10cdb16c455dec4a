"""How fast the explorer proves: schedules per second on one core, the up-to-3 and up-to-4
fault explorations of the 3-message exactly-once pipeline, peak memory, and what a process
snapshot (os.fork) would cost next to a whole run."""

from __future__ import annotations

import os
import resource
import time
from typing import Any

from eoslib.explore.engine import explore
from eoslib.scenarios import run_scenario

#: the kinds the issue's numbers were measured with (K=3: 5,234 schedules)
KINDS = ("request", "response", "crash", "coordinator", "leader")
EOS = {"transactions": True}


def _peak_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def fork_cost_ms(samples: int = 50) -> float:
    """Mean wall ms of os.fork + child exit + wait in this process: the price of one
    snapshot of a run (a forked child shares the parent's prefix)."""
    start = time.perf_counter()
    for _ in range(samples):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return round((time.perf_counter() - start) / samples * 1000, 3)


def run_cost_ms(samples: int = 50) -> float:
    """Mean wall ms of one fault-free run of the 3-message exactly-once pipeline."""
    start = time.perf_counter()
    for _ in range(samples):
        run_scenario("pipeline", seed=0, messages=3, config=EOS, tracing=False)
    return round((time.perf_counter() - start) / samples * 1000, 3)


def measure(quick: bool = False) -> dict[str, Any]:
    """The explorer's figures for ``eoslib bench`` (one process, one core: ``jobs=1``).
    ``quick`` skips the up-to-4-fault exploration (minutes)."""
    one = explore("pipeline", messages=3, config={"delivery": "at-least-once"}, max_faults=2,
                  kinds=KINDS)
    k3 = explore("pipeline", messages=3, config=EOS, max_faults=3, kinds=KINDS)
    out: dict[str, Any] = {
        "explore_schedules_per_s": round(one.schedules / one.seconds, 1),
        "explore_eos_3_faults_s": round(k3.seconds, 3),
        "explore_eos_3_faults_schedules": k3.schedules,
        "explore_eos_3_faults_per_s": round(k3.schedules / k3.seconds, 1),
        "explore_eos_3_faults_peak_mb": _peak_mb(),
        "explore_eos_4_faults_s": None, "explore_eos_4_faults_schedules": None,
        "explore_eos_4_faults_peak_mb": None,
        "explore_run_ms": run_cost_ms(), "explore_fork_ms": fork_cost_ms(),
        "explore_jobs": 1.0,
    }
    if not quick:
        k4 = explore("pipeline", messages=3, config=EOS, max_faults=4, kinds=KINDS,
                     max_schedules=200_000)
        out.update(explore_eos_4_faults_s=round(k4.seconds, 3),
                   explore_eos_4_faults_schedules=k4.schedules,
                   explore_eos_4_faults_peak_mb=_peak_mb())
    return out


def lines(m: dict[str, Any]) -> list[str]:
    """The figures in words, for the bench's printout."""
    k4 = (f"; up to 4: {m['explore_eos_4_faults_schedules']:,} schedules in "
          f"{m['explore_eos_4_faults_s']:.1f} s, peak {m['explore_eos_4_faults_peak_mb']:.0f} MB"
          if m["explore_eos_4_faults_s"] is not None else "; up to 4: skipped (quick)")
    return [f"  explorer (one core): {m['explore_schedules_per_s']:.0f} schedules/s (target "
            f">= 10,000); 3-message exactly-once pipeline, up to 3 faults: "
            f"{m['explore_eos_3_faults_schedules']:,} schedules in "
            f"{m['explore_eos_3_faults_s']:.2f} s (target < 1 s), peak "
            f"{m['explore_eos_3_faults_peak_mb']:.0f} MB" + k4,
            f"  a whole run costs {m['explore_run_ms']:.2f} ms, a process snapshot (fork) "
            f"{m['explore_fork_ms']:.2f} ms: sharing a prefix by forking cannot pay here"]
