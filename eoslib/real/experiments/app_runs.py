"""Running the consume-transform-produce app (:mod:`eoslib.real.app`) as child processes.

Used by consumer-crash and broker-crash: :func:`_app_spec` builds the app's JSON spec,
:func:`_run_until_done` restarts it ("app-1", "app-1#2"...) until it finishes its input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from eoslib.real import app
from eoslib.real.clients import Cluster, Recorder


def _run_app(spec: dict[str, Any], timeout: float = 120) -> int:
    """Run :mod:`eoslib.real.app` in a child process; return its exit status.

    The child's stderr (librdkafka's log) goes to ``<ops_file>.<process>.stderr``; its tail
    is shown when the child fails in an unplanned way.
    """
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    ops = Path(spec["ops_file"])
    err_path = ops.with_name(f"{ops.name}.{spec['process']}.stderr")
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eoslib.real.app", json.dumps(spec)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=subprocess.STDOUT,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
    if code in (0, app.CRASH_EXIT, app.FATAL_EXIT, app.STUCK_EXIT):
        return code
    last = ops.read_text().strip().splitlines()[-1:] if ops.exists() else []
    tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
    what = f"did not finish within {timeout:.0f} s" if code is None else f"exited with {code}"
    raise RuntimeError(
        f"{spec['process']} {what}; last op: {last[0] if last else 'none'}; "
        f"stderr: {' | '.join(tail) or 'empty'}"
    )


def _run_until_done(
    spec: dict[str, Any], *, crash_batch: int = -1, timeout: float = 120, max_runs: int = 4
) -> list[int]:
    """Run incarnations "app-1", "app-1#2"... until one finishes the input; their exits.

    Only the first incarnation gets the planned ``crash_batch``; later ones restart after
    an unplanned death (fenced, or stuck in a client call) as a supervisor would.
    """
    exits: list[int] = []
    for n in range(1, max_runs + 1):
        run = {**spec, "process": "app-1" if n == 1 else f"app-1#{n}"}
        if n == 1 and crash_batch >= 0:
            run["crash_batch"] = crash_batch
        exits.append(_run_app(run, timeout))
        if exits[-1] == 0:
            break
    else:
        raise RuntimeError(f"the app did not finish its input in {max_runs} runs: {exits}")
    return exits


def _app_spec(
    cluster: Cluster,
    rec: Recorder,
    prefix: str,
    ops_file: Path,
    *,
    transactional: bool,
    end_offset: int,
    batch: int,
) -> dict[str, Any]:
    return {
        "bootstrap": cluster.bootstrap,
        "extra_conf": cluster.extra_conf,
        "t0": rec.t0,
        "ops_file": str(ops_file),
        "in_topic": f"{prefix}in",
        "out_topic": f"{prefix}out",
        "group": f"{prefix}group",
        "transactional": transactional,
        "transactional_id": f"{prefix}app-1",
        "end_offset": end_offset,
        "batch": batch,
    }
