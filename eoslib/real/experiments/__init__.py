"""The experiments run against a real Kafka cluster (the first four below in detail).

Each experiment has one setting that is either off or on, records what the clients did in
an :class:`~eoslib.history.History` (real elapsed milliseconds as time), judges it with
:func:`eoslib.checker.check`, and returns an :class:`~eoslib.result.Result` with
``backend="real"``. Every run uses fresh names (``eoslib-<hex>-...``) for its topics, group
and transactional ids; its topics and group are deleted afterwards. The final reads are
recorded under the process ``"verifier"``.

=================  =======================  =============================================
experiment         setting (off / on)       what it shows
=================  =======================  =============================================
producer-retry     enable.idempotence       one produce acknowledgement is lost (by the
                   false / true             proxy); the client retries: a duplicate when
                                            off, the original offset returned when on
consumer-crash     transactions             a consume-transform-produce app dies after
                   false / true             producing a batch, before committing its
                                            offsets; restarted, it replays the batch:
                                            duplicates when off, none when on
read-committed     isolation.level          two transactions commit, the third aborts;
                   read_uncommitted /       a concurrent reader sees aborted and
                   read_committed           not-yet-committed records only when off
zombie-fencing     transactions             instance A stalls and is replaced by B; then
                   false / true             A finishes its work: with one shared
                                            transactional.id B has fenced A (A's records
                                            are aborted); without, both outputs count
=================  =======================  =============================================

:func:`broker_crash` is a fifth run for the tests: the exactly-once pipeline while the
broker itself is SIGKILLed and restarted.

The experiments added for issue 13 are written once for both backends
(:mod:`.scripted`: ``exp_transactions``, ``exp_auto_commit``, ``exp_consumer_loops``); the
three-broker ones are ``exp_acks_leader_failover`` and ``exp_min_insync``. The Java client's
twins (issue 20) are scripts too, run under either client (:mod:`.client_conf`):
``exp_tv2`` (transaction version 2) and ``exp_client_defaults``; their table is
:data:`eoslib.real.java_twins.TWINS`.

One module per experiment (``exp_producer_retry``, ``exp_consumer_crash``,
``exp_read_committed``, ``exp_zombie_fencing``, ``exp_broker_crash``); what they share is in
``common`` (recording, judging) and ``app_runs`` (the app as a child process); the
name → experiment table is in ``registry``. Everything public is re-exported here.
"""

from __future__ import annotations

from eoslib.real.experiments.common import (
    Experiment,
    txn_totals,
    visibility_lag_ms,
)
from eoslib.real.experiments.exp_broker_crash import broker_crash
from eoslib.real.experiments.exp_consumer_crash import consumer_crash
from eoslib.real.experiments.exp_producer_retry import producer_retry
from eoslib.real.experiments.exp_read_committed import HOLD_S, read_committed
from eoslib.real.experiments.exp_zombie_fencing import zombie_fencing
from eoslib.real.experiments.registry import EXPERIMENTS, run_experiment

__all__ = [
    "EXPERIMENTS",
    "HOLD_S",
    "Experiment",
    "broker_crash",
    "consumer_crash",
    "producer_retry",
    "read_committed",
    "run_experiment",
    "txn_totals",
    "visibility_lag_ms",
    "zombie_fencing",
]
