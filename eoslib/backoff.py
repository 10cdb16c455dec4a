"""Retry backoff as each client computes it: exponential, with jitter, up to a cap.

Java (since 3.7, KIP-580): ``ExponentialBackoff(retry.backoff.ms, 2, retry.backoff.max.ms,
0.2)`` (clients/.../common/utils/ExponentialBackoff.java; ``CommonClientConfigs
.RETRY_BACKOFF_EXP_BASE`` and ``RETRY_BACKOFF_JITTER``): the n-th retry waits
``retry.backoff.ms * 2**(n-1)`` times a random factor in [0.8, 1.2), at most
``retry.backoff.max.ms`` (used by ``RecordAccumulator.shouldBackoff`` for produce retries
and ``ConsumerCoordinator.commitOffsetsSync`` for commits).

librdkafka (CONFIGURATION.md ``retry.backoff.ms``: "backed off exponentially until number of
retries is exhausted, and it's capped by retry.backoff.max.ms"): the n-th retry waits
``retry.backoff.ms * 2**(n-1)`` times ``rd_jitter(80, 120)`` percent, at most
``retry.backoff.max.ms`` (``rd_kafka_retry_msgq`` in src/rdkafka_partition.c for messages,
``rd_kafka_broker_buf_retry`` in src/rdkafka_broker.c for other requests).

The jitter is drawn from the simulation's seeded client generator, so runs stay
deterministic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

JAVA_JITTER = 0.2  # CommonClientConfigs.RETRY_BACKOFF_JITTER
RDK_JITTER_PERCENT = 20  # RD_KAFKA_RETRY_JITTER_PERCENT (src/rdkafka_int.h)


def retry_backoff_ms(config: Mapping[str, Any], retry: int, rng: random.Random,
                     jitter: float | None = None) -> float:
    """How long a client waits before its ``retry``-th retry (1 = the first) of a request.
    librdkafka draws one ``jitter`` (:func:`rdk_jitter`) per failed request for all its
    messages (``rd_kafka_retry_msgq``); pass it to share it."""
    base = float(config["retry.backoff.ms"])
    cap = float(config["retry.backoff.max.ms"])
    n = max(1, retry)
    if config.get("client") == "java":
        initial = min(cap, base)
        if cap <= initial:  # expMax == 0: a constant backoff
            return initial
        exp = min(n - 1, math.log(cap / max(initial, 1.0)) / math.log(2))
        term = initial * 2 ** exp
        return float(min(int(rng.uniform(1 - JAVA_JITTER, 1 + JAVA_JITTER) * term), cap))
    backoff = base * 2 ** min(n - 1, 34)
    if jitter is None:
        jitter = rdk_jitter(rng)
    return min(jitter * backoff, cap)


def rdk_jitter(rng: random.Random) -> float:
    """librdkafka's ``rd_jitter(80, 120)`` as a factor."""
    return rng.randint(100 - RDK_JITTER_PERCENT, 100 + RDK_JITTER_PERCENT) / 100
