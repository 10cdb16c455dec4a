"""The checker names a torn transaction (KAFKA-17754): records of a transaction the
application aborted, visible to read_committed readers because a stale EndTxn(commit)
committed it first. Transaction version 1 lets it happen; TV2 fences the stale EndTxn
(its epoch is older), so the abort stands."""

from __future__ import annotations

from eoslib.checker import ANOMALIES, check
from eoslib.history import History
from eoslib.scenarios import run_scenario


def test_tv1_tears_the_transaction_and_the_checker_says_so() -> None:
    r = run_scenario("delayed-end-txn", seed=0, config={"transaction.version": "1"})
    assert r.counts["torn_txn_records"] == 5
    assert r.report.count("torn_txn") == 5
    assert not r.report.ok and "torn_txn" in r.report.failures()
    assert "which the application aborted" in str(r.report)


def test_tv2_keeps_the_abort() -> None:
    # TV2 is the Java client's (librdkafka speaks transaction version 1 only)
    r = run_scenario("delayed-end-txn", seed=0, config={"transaction.version": "2",
                                                        "client": "java"})
    assert r.report.count("torn_txn") == 0 and r.report.ok


def test_read_uncommitted_reads_of_an_aborted_txn_are_not_torn() -> None:
    h = History()
    h.record(1, "p", "send", "ok", topic="t", partition=0, key=None, value="v", offset=0,
             txn="x", txn_seq=0, error=None, seq_no=1)
    h.record(2, "p", "txn_end", "ok", txn="x", txn_seq=0, result="abort")
    h.record(3, "c", "poll", "ok", records=[["t", 0, 0, "v"]], isolation="read_uncommitted",
             group=None)
    rep = check(h)
    assert rep.count("torn_txn") == 0 and rep.count("aborted_read") == 1
    h.record(4, "d", "poll", "ok", records=[["t", 0, 0, "v"]], isolation="read_committed",
             group=None)
    assert check(h).count("torn_txn") == 1
    assert "torn_txn" in ANOMALIES
