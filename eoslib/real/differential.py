"""Random differential testing: one seeded fault schedule, run on the simulator and on Kafka.

:func:`schedule` draws, from ``random.Random(seed)`` alone, where the faults go for an
experiment: for ``producer-retry`` which produce responses the proxy swallows (1 to 3 of
the first ``messages`` requests, retries counted, as both the proxy and the simulator's
fault plan count them); for ``consumer-crash`` after which batch the application dies
(after producing it, before committing). :func:`sim_call` and :func:`real_kwargs` turn the
schedule into the simulator's fault plan and the real experiment's arguments.
:data:`ENVELOPE` says, per experiment, what is compared when Kafka's outcome depends on
timing.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from eoslib.real.sim_calls import SIM_CALLS, SimCall

#: experiments that take a seeded schedule
SEEDED = ("producer-retry", "consumer-crash")

#: what each seeded row checks
ENVELOPE = {
    "producer-retry": "duplicates equal on both sides (each swallowed response of a "
    "one-message request is one retry: a duplicate without idempotence, none with it)",
    "consumer-crash": "lost equal (0); duplicates both zero or both non-zero: how many "
    "records one consume() hands the application before the crash depends on fetch timing "
    "on Kafka, so the count lies between 1 and the batch size",
}


def schedule(experiment: str, seed: int) -> dict[str, Any]:
    """The seeded fault schedule of one run (the same for both sides)."""
    if experiment not in SEEDED:
        raise ValueError(
            f"--seeds: experiment {experiment!r} has no seeded schedule; seeded: "
            + ", ".join(SEEDED)
        )
    rng = random.Random(seed)
    call = SIM_CALLS[experiment]
    if experiment == "producer-retry":
        n = call.real_kwargs["messages"]
        return {"lost_at": sorted(rng.sample(range(1, n + 1), rng.randint(1, 3)))}
    batches = call.real_kwargs["messages"] // call.real_kwargs["batch"]
    return {"crash_batch": rng.randrange(batches)}


def sim_call(experiment: str, sched: dict[str, Any]) -> SimCall:
    """The simulator's twin with the schedule's faults."""
    call = SIM_CALLS[experiment]
    if experiment == "producer-retry":
        # the scenario batches messages that queue up behind a retry; the real loop
        # flushes each message, so the twin is the same loop (scripted.produce_each)
        from eoslib.real.experiments.scripted import produce_each

        faults = {"lose_responses": list(sched["lost_at"]), "response_loss": 0.0}
        return dataclasses.replace(call, faults=faults, script=produce_each)
    else:
        batch = call.real_kwargs["batch"]
        faults = {**call.faults, "crash_at": sched["crash_batch"] * batch}
    return dataclasses.replace(call, faults=faults)


def real_kwargs(experiment: str, sched: dict[str, Any]) -> dict[str, Any]:
    """The real experiment's arguments with the schedule's faults."""
    return {**SIM_CALLS[experiment].real_kwargs, **sched}
