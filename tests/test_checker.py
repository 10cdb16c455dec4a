"""Tests for eoslib.checker: one hand-written history per anomaly, clean runs, the report API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eoslib.checker import ANOMALIES, Anomaly, Report, check
from eoslib.history import History

# --------------------------------------------------------------------------------------------
# Builders


def send(
    h: History,
    t: float,
    proc: str,
    value: Any,
    offset: int | None,
    *,
    topic: str = "out",
    partition: int = 0,
    outcome: str = "ok",
    txn: str | None = None,
    txn_seq: int | None = None,
    **extra: Any,
) -> None:
    h.record(
        t,
        proc,
        "send",
        outcome,
        topic=topic,
        partition=partition,
        key=None,
        value=value,
        offset=offset,
        txn=txn,
        txn_seq=txn_seq,
        error=None,
        **extra,
    )


def poll(
    h: History,
    t: float,
    proc: str,
    records: list[list[Any]],
    isolation: str = "read_committed",
    **extra: Any,
) -> None:
    h.record(t, proc, "poll", "ok", records=records, isolation=isolation, group="g", **extra)


def txn_end(
    h: History, t: float, proc: str, seq: int, result: str, outcome: str = "ok", txn: str = "tx"
) -> None:
    h.record(t, proc, "txn_end", outcome, txn=txn, txn_seq=seq, result=result)


def sink(h: History, t: float, proc: str, id_: str, applied: bool = True) -> None:
    h.record(
        t, proc, "sink_write", "ok", table="totals", id=id_, input=["in", 0, 0], applied=applied
    )


def plain_run(n: int = 5, topic: str = "out") -> History:
    """n acknowledged sends at offsets 0..n-1, then a verifier reading all of them."""
    h = History()
    for i in range(n):
        send(h, i, "producer-1", f"m{i}", i, topic=topic)
    poll(h, n, "verifier", [[topic, 0, i, f"m{i}"] for i in range(n)])
    return h


def assert_only(report: Report, **expected: int) -> None:
    """Every count is zero except the ones given."""
    want = {name: expected.get(name, 0) for name in ANOMALIES}
    assert report.counts() == want, str(report)


# --------------------------------------------------------------------------------------------
# Clean histories


def test_clean_plain_run_is_ok() -> None:
    r = check(plain_run())
    assert r.ok
    assert_only(r)
    assert str(r).splitlines()[0] == "OK: no anomalies (10 of 12 kinds checked)"
    assert r.unchecked.keys() == {"processed_twice", "lost_input"}
    assert str(r).splitlines()[-1].startswith("not checked: processed_twice (no sink")
    assert list(r.anomalies) == list(ANOMALIES)
    assert all(isinstance(a, Anomaly) and a.examples == [] for a in r.anomalies.values())


def test_clean_transactional_pipeline_with_abort_and_retry_is_ok() -> None:
    """An aborted copy followed by a committed copy is what EOS looks like: no anomaly."""
    h = History()
    poll(h, 0, "app-1", [["in", 0, 0, "a"], ["in", 0, 1, "b"]])
    send(h, 1, "app-1", "A", 0, txn="tx", txn_seq=0)
    send(h, 2, "app-1", "B", 1, txn="tx", txn_seq=0)
    txn_end(h, 3, "app-1", 0, "abort")  # offset 2 holds the ABORT marker
    send(h, 4, "app-1", "A", 3, txn="tx", txn_seq=1)
    send(h, 5, "app-1", "B", 4, txn="tx", txn_seq=1)
    txn_end(h, 6, "app-1", 1, "commit")
    sink(h, 7, "app-1", "a")
    sink(h, 8, "app-1", "b")
    sink(h, 9, "app-1", "b", applied=False)  # a repeat the sink recognised: fine
    h.record(9.5, "app-1", "note", "ok", text="done")
    poll(h, 10, "verifier", [["out", 0, 3, "A"], ["out", 0, 4, "B"]])
    r = check(h, expected_ids=["a", "b"])
    assert r.ok, str(r)
    assert_only(r)


# --------------------------------------------------------------------------------------------
# One test per anomaly


def test_duplicate_counts_extra_copies_and_names_value_and_offsets() -> None:
    h = History()
    send(h, 0, "producer-1", "m6", 6, topic="payments")
    send(h, 1, "producer-1", "m7", 7, topic="payments")
    poll(h, 2, "verifier", [["payments", 0, 6, "m6"], ["payments", 0, 7, "m7"]])
    send(h, 3, "producer-1", "m7", 12, topic="payments")  # re-sent after a lost ack
    poll(h, 4, "verifier", [["payments", 0, 12, "m7"], ["payments", 1, 3, "m7"]])
    r = check(h)
    assert_only(r, duplicate=2)
    assert not r.ok
    (ex,) = r.anomalies["duplicate"].examples
    assert ex == {
        "value": "m7",
        "topic": "payments",
        "copies": 3,
        "positions": [[0, 7], [0, 12], [1, 3]],
    }
    text = str(r)
    assert "duplicate: 2" in text
    assert "value 'm7' at payments-0 offsets 7, 12 and payments-1 offset 3" in text


def test_duplicate_ignores_copies_written_by_aborted_transactions() -> None:
    h = History()
    send(h, 0, "app-1", "x", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "abort")
    send(h, 2, "app-1", "x", 2, txn="tx", txn_seq=1)
    txn_end(h, 3, "app-1", 1, "commit")
    poll(h, 4, "reader", [["out", 0, 0, "x"], ["out", 0, 2, "x"]], "read_uncommitted")
    r = check(h)
    assert_only(r, aborted_read=1)  # the aborted copy is reported as what it is
    assert r.anomalies["aborted_read"].examples[0]["offset"] == 0


def test_inconsistent_offsets() -> None:
    h = History()
    send(h, 0, "producer-1", "m1", 1)
    poll(h, 1, "consumer-1", [["out", 0, 1, "other"]])
    r = check(h)
    assert r.count("inconsistent_offsets") == 1
    ex = r.anomalies["inconsistent_offsets"].examples[0]
    assert (ex["topic"], ex["partition"], ex["offset"]) == ("out", 0, 1)
    assert ex["values"] == ["m1", "other"]
    assert "out-0 offset 1 holds 'm1', 'other'" in str(r)


def test_lost_when_a_poll_read_past_the_offset() -> None:
    h = History()
    for i in range(3):
        send(h, i, "producer-1", f"m{i}", i)
    poll(h, 3, "consumer-1", [["out", 0, 0, "m0"], ["out", 0, 2, "m2"]])
    r = check(h)
    assert_only(r, lost=1)
    ex = r.anomalies["lost"].examples[0]
    assert (ex["value"], ex["topic"], ex["partition"], ex["offset"]) == ("m1", "out", 0, 1)
    assert "lost: 1" in str(r) and "'m1'" in str(r)


def test_lost_when_the_verifier_read_the_partition() -> None:
    h = History()
    send(h, 0, "producer-1", "m0", 0)
    send(h, 1, "producer-1", "m1", 1)  # acknowledged (acks=1), then the leader failed
    poll(h, 2, "verifier", [["out", 0, 0, "m0"]])
    r = check(h)
    assert_only(r, lost=1)
    ex = r.anomalies["lost"].examples[0]
    assert (ex["value"], ex["offset"], ex["covered_by"]) == ("m1", 1, "verifier")


def test_unseen_when_no_poll_covered_the_partition() -> None:
    h = History()
    send(h, 0, "producer-1", "m0", 0)
    send(h, 1, "producer-1", "m1", 1)
    poll(h, 2, "consumer-1", [["out", 0, 0, "m0"]])  # not a verifier, did not read past 1
    send(h, 3, "producer-1", "z", 0, topic="other")  # nobody read topic "other"
    r = check(h)
    assert_only(r, unseen=2)
    assert [e["value"] for e in r.anomalies["unseen"].examples] == ["m1", "z"]
    assert check(h, allowed=["unseen"]).ok


def test_unknown_or_open_transactions_are_neither_lost_nor_unseen() -> None:
    h = History()
    send(h, 0, "app-1", "m0", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "commit", outcome="info")  # response lost
    send(h, 2, "app-2", "n0", 1, txn="ty", txn_seq=0)  # never ended, app-2 still alive
    poll(h, 3, "verifier", [])
    assert_only(check(h))


def test_aborted_read_of_an_aborted_transaction() -> None:
    h = History()
    send(h, 0, "app-1", "m0", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "abort")
    poll(h, 2, "consumer-1", [["out", 0, 0, "m0"]], "read_uncommitted")
    poll(h, 3, "consumer-2", [["out", 0, 0, "m0"]], "read_uncommitted")  # same record
    r = check(h)
    assert_only(r, aborted_read=1)
    ex = r.anomalies["aborted_read"].examples[0]
    assert (ex["value"], ex["offset"], ex["reader"]) == ("m0", 0, "consumer-1")
    assert ex["why"] == "its transaction aborted"
    assert "aborted_read: 1" in str(r) and "'m0'" in str(r)


def test_aborted_read_of_a_failed_send() -> None:
    h = History()
    send(h, 0, "producer-1", "m3", None, outcome="fail", pid=7, epoch=0, seq=3)
    poll(h, 1, "consumer-1", [["out", 0, 3, "m3"]], writers=[[7, 0, 3]])
    r = check(h)
    assert_only(r, aborted_read=1)
    ex = r.anomalies["aborted_read"].examples[0]
    assert (ex["value"], ex["offset"], ex["why"]) == ("m3", 3, "its send failed")


def test_aborted_read_when_the_producer_died_before_ending_its_transaction() -> None:
    h = History()
    send(h, 0, "app-1", "m0", 0, txn="tx", txn_seq=0)
    h.record(1, "app-1", "crash", "ok", step="before_commit")
    send(h, 2, "zombie", "z0", 1, txn="tz", txn_seq=0)
    h.record(3, "zombie", "fenced", "ok", txn="tz", error="PRODUCER_FENCED")
    poll(h, 4, "consumer-1", [["out", 0, 0, "m0"], ["out", 0, 1, "z0"]], "read_uncommitted")
    r = check(h)
    assert_only(r, aborted_read=2, fenced=1)
    assert [e["value"] for e in r.anomalies["aborted_read"].examples] == ["m0", "z0"]


def test_txn_end_commit_info_is_unknown_not_aborted() -> None:
    # a commit whose answer was lost may have been decided (PrepareCommit is durable)
    h = History()
    send(h, 0, "app-1", "m0", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "commit", outcome="info")
    h.record(2, "app-1", "crash", "ok", step="after_commit")
    poll(h, 3, "consumer-1", [["out", 0, 0, "m0"]])
    assert check(h).count("aborted_read") == 0


def test_txn_end_abort_info_then_crash_is_aborted() -> None:
    # only an abort was ever asked for, then the process died: nothing can commit it
    h = History()
    send(h, 0, "app-1", "m0", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "abort", outcome="info")
    h.record(2, "app-1", "crash", "ok", step="after_abort")
    poll(h, 3, "consumer-1", [["out", 0, 0, "m0"]])
    assert check(h).count("aborted_read") == 1


def test_txn_end_abort_info_without_crash_is_unknown() -> None:
    h = History()
    send(h, 0, "app-1", "m0", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "abort", outcome="info")
    poll(h, 3, "consumer-1", [["out", 0, 0, "m0"]])
    assert check(h).count("aborted_read") == 0


def test_uncommitted_read_before_the_commit_completed() -> None:
    h = History()
    send(h, 0, "app-1", "m0", 0, txn="tx", txn_seq=0)
    send(h, 1, "app-1", "m1", 1, txn="tx", txn_seq=0)
    poll(h, 2, "consumer-1", [["out", 0, 0, "m0"]], "read_uncommitted")
    txn_end(h, 3, "app-1", 0, "commit")
    poll(h, 3, "consumer-1", [["out", 0, 1, "m1"]], "read_uncommitted")  # same time, later
    r = check(h)
    assert_only(r, uncommitted_read=1)
    ex = r.anomalies["uncommitted_read"].examples[0]
    assert (ex["value"], ex["offset"], ex["txn_seq"], ex["commit_index"]) == ("m0", 0, 0, 3)
    assert "before app-1's transaction 0 committed" in str(r)
    assert check(h, allowed=["uncommitted_read"]).ok


def test_processed_twice_counts_extra_applied_writes() -> None:
    h = History()
    sink(h, 0, "app-1", "m1")
    sink(h, 1, "app-1", "m2")
    sink(h, 2, "app-1#2", "m1")  # the restarted app re-processed m1
    sink(h, 3, "app-1#2", "m1", applied=False)  # recognised as a repeat: not counted
    r = check(h, expected_ids=["m1", "m2"])
    assert_only(r, processed_twice=1)
    ex = r.anomalies["processed_twice"].examples[0]
    assert ex["id"] == "m1" and ex["applied_writes"] == 2
    assert [w["process"] for w in ex["writes"]] == ["app-1", "app-1#2"]
    assert "processed_twice: 1" in str(r) and "id 'm1'" in str(r)


def test_lost_input_only_with_expected_ids() -> None:
    h = History()
    sink(h, 0, "app-1", "m0")
    sink(h, 1, "app-1", "m10")
    assert check(h).count("lost_input") == 0
    r = check(h, expected_ids={"m10", "m2", "m0", "m1"})
    assert_only(r, lost_input=2)
    assert [e["id"] for e in r.anomalies["lost_input"].examples] == ["m1", "m2"]
    assert "id 'm1' never reached sink totals" in str(r)


def test_nonmonotonic_poll_across_and_within_polls() -> None:
    h = History()
    poll(h, 0, "app-1", [["in", 0, 0, "a"], ["in", 0, 1, "b"], ["in", 0, 2, "c"]])
    poll(h, 1, "app-1", [["in", 0, 1, "b"], ["in", 0, 2, "c"]])  # went back: one anomaly
    poll(h, 2, "app-1#2", [["in", 0, 0, "a"]])  # a new incarnation: fine
    poll(h, 3, "app-2", [["in", 1, 5, "e"], ["in", 1, 4, "d"]])  # backwards within a poll
    r = check(h)
    assert_only(r, nonmonotonic_poll=2)
    first, second = r.anomalies["nonmonotonic_poll"].examples
    assert (first["process"], first["offset"], first["after_offset"]) == ("app-1", 1, 2)
    assert (second["process"], second["partition"], second["offset"]) == ("app-2", 1, 4)
    assert "app-1 got in-0 offset 1 after already getting offset 2" in str(r)


def test_a_re_read_after_the_processs_own_seek_is_not_nonmonotonic() -> None:
    h = History()
    poll(h, 0, "app-1", [["in", 0, 0, "a"], ["in", 0, 1, "b"]])
    h.record(1, "app-1", "seek", "ok", topic="in", partition=0, offset=0)  # the rewind
    poll(h, 2, "app-1", [["in", 0, 0, "a"], ["in", 0, 1, "b"]])  # asked for: fine
    h.record(3, "app-1", "seek", "ok", topic="in", partition=1, offset=0)  # another partition
    poll(h, 4, "app-1", [["in", 0, 1, "b"]])  # no seek on in-0 since offset 1: flagged
    r = check(h)
    assert_only(r, nonmonotonic_poll=1)
    (ex,) = r.anomalies["nonmonotonic_poll"].examples
    assert (ex["offset"], ex["after_offset"]) == (1, 1)


def test_reordered_uses_seq_no_when_present() -> None:
    h = History()
    # seq_no 1 was retried after seq_no 2 succeeded: completion order 2, 1; log order 2, 1.
    send(h, 0, "producer-1", "m0", 0, seq_no=0)
    send(h, 1, "producer-1", "m2", 1, seq_no=2)
    send(h, 2, "producer-1", "m1", 2, seq_no=1)
    poll(h, 3, "verifier", [["out", 0, 0, "m0"], ["out", 0, 1, "m2"], ["out", 0, 2, "m1"]])
    r = check(h)
    assert_only(r, reordered=1)
    ex = r.anomalies["reordered"].examples[0]
    assert (ex["first_value"], ex["first_offset"]) == ("m1", 2)
    assert (ex["second_value"], ex["second_offset"]) == ("m2", 1)
    assert "reordered: 1" in str(r) and "'m1' before 'm2'" in str(r)


def test_reordered_falls_back_to_history_order() -> None:
    h = History()
    send(h, 0, "producer-1", "a", 4)
    send(h, 1, "producer-1", "b", 3)
    send(h, 2, "producer-2", "c", 2)  # another producer: not compared
    poll(h, 3, "verifier", [["out", 0, 2, "c"], ["out", 0, 3, "b"], ["out", 0, 4, "a"]])
    assert_only(check(h), reordered=1)


def test_fenced_and_allowed() -> None:
    h = plain_run(2)
    h.record(5, "app-1", "fenced", "ok", txn="tx", error="PRODUCER_FENCED")
    r = check(h)
    assert_only(r, fenced=1)
    assert not r.ok
    assert r.anomalies["fenced"].examples[0]["error"] == "PRODUCER_FENCED"
    assert str(r).startswith("NOT OK")
    ok = check(h, allowed=["fenced"])
    assert ok.ok and ok.count("fenced") == 1
    assert str(ok).startswith("OK: only allowed anomalies")
    assert "fenced: 1" in str(ok) and "[allowed]" in str(ok)
    assert check(h, allowed="fenced").ok  # a single name works too


# --------------------------------------------------------------------------------------------
# Options and the report API


def test_unknown_allowed_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="duplicates"):
        check(History(), allowed=["duplicates"])


def test_topics_restricts_log_analyses() -> None:
    h = plain_run(3, topic="out")
    send(h, 10, "producer-1", "x", 0, topic="in")
    send(h, 11, "producer-1", "x", 1, topic="in")
    assert check(h).count("duplicate") == 1
    assert_only(check(h, topics=["out"]))
    assert_only(check(h, topics="out"))


def test_values_may_be_any_json_scalar() -> None:
    h = History()
    send(h, 0, "p", 1, 0)
    send(h, 1, "p", True, 1)  # not the same value as 1
    send(h, 2, "p", None, 2)
    send(h, 3, "p", 1, 3)
    poll(h, 4, "verifier", [["out", 0, i, v] for i, v in enumerate([1, True, None, 1])])
    r = check(h)
    assert_only(r, duplicate=1)
    assert r.anomalies["duplicate"].examples[0]["value"] == 1


def test_to_json_round_trips_through_json() -> None:
    h = plain_run(3)
    send(h, 10, "producer-1", "m1", 7)
    r = check(h, allowed=["unseen", "fenced"])
    data = json.loads(json.dumps(r.to_json()))
    assert data == r.to_json()
    assert data["ok"] is False
    assert data["allowed"] == ["fenced", "unseen"]
    assert list(data["anomalies"]) == list(ANOMALIES)
    dup = data["anomalies"]["duplicate"]
    assert dup["count"] == 1 and dup["definition"] == ANOMALIES["duplicate"]
    assert dup["examples"][0]["value"] == "m1"


def test_report_api() -> None:
    r = check(plain_run())
    assert r.counts() == dict.fromkeys(ANOMALIES, 0)
    with pytest.raises(KeyError):
        r.count("nope")
    assert all(isinstance(d, str) and d for d in ANOMALIES.values())


def test_history_json_round_trip_gives_the_same_report() -> None:
    h = plain_run(4)
    send(h, 10, "producer-1", "m2", 9)
    again = History.from_json(json.loads(h.dumps()))
    assert check(again).to_json() == check(h).to_json()


def test_duplicate_example_lists_at_most_ten_positions() -> None:
    h = History()
    for i in range(12):
        send(h, i, "p", "same", i)
    ex = check(h).anomalies["duplicate"].examples[0]
    assert ex["copies"] == 12 and len(ex["positions"]) == 10
    assert "offsets 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ..." in str(check(h))


def test_examples_are_capped_at_five_and_str_says_there_are_more() -> None:
    h = History()
    for i in range(8):
        send(h, i, "p", f"m{i}", i)
        send(h, i + 0.5, "p", f"m{i}", 100 + i)
    r = check(h)
    assert r.count("duplicate") == 8
    assert [e["value"] for e in r.anomalies["duplicate"].examples] == [f"m{i}" for i in range(5)]
    assert "; ..." in str(r)


def test_large_history_runs() -> None:
    """Tens of thousands of ops: the analyses are linear apart from sorting."""
    h = History()
    n = 30_000
    for i in range(n):
        send(h, i, "producer-1", f"m{i}", i, seq_no=i)
    records = [["out", 0, i, f"m{i}"] for i in range(n)]
    for start in range(0, n, 1000):
        poll(h, n, "verifier", records[start : start + 1000])
    assert check(h, expected_ids=[]).ok


# --------------------------------------------------------------------------------------------
# Property: clean histories are clean; one injected copy is exactly one duplicate.


@st.composite
def clean_histories(draw: st.DrawFn) -> tuple[History, list[tuple[int, int, str]], int]:
    """Unique values, acknowledged at increasing offsets per partition; a verifier reads all."""
    partitions = draw(st.integers(1, 3))
    producers = draw(st.integers(1, 3))
    n = draw(st.integers(1, 30))
    h = History()
    next_offset = [0] * partitions
    written: list[tuple[int, int, str]] = []
    for i in range(n):
        p = draw(st.integers(0, partitions - 1))
        proc = f"producer-{draw(st.integers(1, producers))}"
        next_offset[p] += draw(st.integers(1, 3))  # offsets may be sparse (markers)
        send(h, i, proc, f"v{i}", next_offset[p], partition=p, seq_no=i)
        written.append((p, next_offset[p], f"v{i}"))
    return h, written, partitions


@settings(max_examples=40, deadline=None)
@given(clean_histories(), st.data())
def test_property_clean_is_ok_and_one_copy_is_one_duplicate(
    case: tuple[History, list[tuple[int, int, str]], int], data: st.DataObject
) -> None:
    h, written, partitions = case
    records = [["out", p, o, v] for p, o, v in sorted(written)]
    clean = History(list(h.ops))
    poll(clean, 1000, "verifier", records)
    r = check(clean)
    assert r.ok, str(r)
    assert_only(r)

    # Inject one extra acknowledged copy of an existing value, at the end of some partition.
    _, _, value = data.draw(st.sampled_from(written))
    p = data.draw(st.integers(0, partitions - 1))
    end = max((o for q, o, _ in written if q == p), default=-1) + 1
    send(h, 999, "producer-9", value, end, partition=p)
    poll(h, 1000, "verifier", [*records, ["out", p, end, value]])
    r = check(h)
    assert_only(r, duplicate=1)
    assert r.anomalies["duplicate"].examples[0]["value"] == value
    assert not r.ok


def test_unknown_commit_resolved_as_aborted_by_read_committed_reads() -> None:
    # The writer's commit answer was lost and it died; a read_committed reader went past
    # its record without returning it, so that transaction was aborted: the re-sent copy
    # committed later is not a duplicate.
    h = History()
    send(h, 0, "app-1", "m0'", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "commit", outcome="info")
    h.record(2, "app-1", "crash", "ok", step="error")
    send(h, 3, "app-1#2", "m0'", 2, txn="tx", txn_seq=0)
    txn_end(h, 4, "app-1#2", 0, "commit")
    poll(h, 5, "verifier", [["out", 0, 2, "m0'"]], "read_committed")
    assert check(h).ok
    # without a read_committed read past it, the outcome stays unknown: counted
    h2 = History()
    send(h2, 0, "app-1", "m0'", 0, txn="tx", txn_seq=0)
    txn_end(h2, 1, "app-1", 0, "commit", outcome="info")
    h2.record(2, "app-1", "crash", "ok", step="error")
    send(h2, 3, "app-1#2", "m0'", 2, txn="tx", txn_seq=0)
    txn_end(h2, 4, "app-1#2", 0, "commit")
    assert check(h2).count("duplicate") == 1


# --------------------------------------------------------------------------------------------
# Records by identity (issue 18 §2): a read is tied to its write by the record batch's
# (producer id, epoch, sequence) or by its offset, never by its value.


def _two_incarnations(with_ids: bool) -> History:
    """app-1 (pid 5, epoch 0) writes m5' in a transaction and dies before the answer; its
    restart app-1#2 (same transactional.id: pid 5, epoch 1) writes the same value again,
    acknowledged at offset 12, and commits. A read_uncommitted reader sees both copies."""
    ids = {"pid": 5, "epoch": 0, "seq": 5} if with_ids else {}
    h = History()
    send(h, 0, "app-1", "m5'", None, outcome="info", txn="app-txn", txn_seq=0, **ids)
    h.record(1, "app-1", "crash", "ok", step="after_produce")
    ids2 = {"pid": 5, "epoch": 1, "seq": 0} if with_ids else {}
    send(h, 2, "app-1#2", "m5'", 12, txn="app-txn", txn_seq=0, **ids2)
    txn_end(h, 3, "app-1#2", 0, "commit", txn="app-txn")
    writers = {"writers": [[5, 0, 5], [5, 1, 0]]} if with_ids else {}
    poll(h, 4, "downstream", [["out", 0, 5, "m5'"], ["out", 0, 12, "m5'"]],
         "read_uncommitted", **writers)
    poll(h, 5, "verifier", [["out", 0, 12, "m5'"]],
         **({"writers": [[5, 1, 0]]} if with_ids else {}))
    return h


def test_a_read_of_the_aborted_copy_is_blamed_on_the_incarnation_that_wrote_it() -> None:
    r = check(_two_incarnations(with_ids=True), topics=["out"])
    assert_only(r, aborted_read=1)  # no duplicate, no uncommitted read: the copies differ
    ex = r.anomalies["aborted_read"].examples[0]
    assert (ex["offset"], ex["writer"], ex["why"]) == (5, "app-1", "its transaction aborted")
    assert "aborted_read" not in r.unchecked and "duplicate" not in r.unchecked


def test_without_producer_ids_the_unattributed_read_is_not_checked_not_guessed() -> None:
    """A history without the batch header's ids (a real broker's client may not expose
    them): the unacknowledged copy cannot be tied to a write, and the report says so."""
    r = check(_two_incarnations(with_ids=False), topics=["out"])
    assert_only(r)  # nothing is blamed on a write by value
    for name in ("aborted_read", "uncommitted_read", "duplicate", "torn_txn"):
        assert "1 record read could not be tied" in r.unchecked[name]
    assert "not checked: duplicate, aborted_read, uncommitted_read, torn_txn (1 record" \
        in str(r)


def test_equal_values_from_two_acknowledged_writes_are_told_apart_by_offset() -> None:
    h = History()
    send(h, 0, "app-1", "x", 0, txn="tx", txn_seq=0)
    txn_end(h, 1, "app-1", 0, "abort")
    send(h, 2, "app-1", "x", 2, txn="tx", txn_seq=1)
    txn_end(h, 3, "app-1", 1, "commit")
    poll(h, 4, "consumer-1", [["out", 0, 0, "x"]], "read_uncommitted")
    r = check(h)
    assert_only(r, aborted_read=1)
    assert r.anomalies["aborted_read"].examples[0]["offset"] == 0


# --------------------------------------------------------------------------------------------
# Every input accounted for (issue 18 §1)


def _pipeline_history(copies: dict[str, int]) -> History:
    """Input ids -> how many records naming them the verifier reads at the end."""
    h = History()
    recs, writers, heads, off = [], [], [], 0
    for i, n in copies.items():
        for _ in range(n):
            send(h, off, "app-1", f"{i}'", off, pid=1, epoch=0, seq=off, headers={"input": i})
            recs.append(["out", 0, off, f"{i}'"])
            writers.append([1, 0, off])
            heads.append({"input": i})
            off += 1
    poll(h, 99, "verifier", recs, writers=writers, headers=heads)
    return h


def test_inputs_count_how_often_each_reached_each_output() -> None:
    h = _pipeline_history({"m0": 1, "m1": 2, "m2": 0})
    r = check(h, inputs=["m0", "m1", "m2"], outputs=["out"], topics=["out"])
    assert r.effects == {"out": {"m0": 1, "m1": 2, "m2": 0}}
    assert r.reached() == {"out": {1: 1, 0: 1, 2: 1}}
    assert_only(r, lost_input=1, duplicate=1)
    assert r.anomalies["lost_input"].examples == [{"id": "m2", "missing_from": ["out"]}]
    assert r.anomalies["duplicate"].examples[0]["input"] == "m1"
    text = str(r)
    assert "inputs: out 1 once, 1 never, 1 twice" in text
    assert "id 'm2' never reached out" in text
    assert r.to_json()["inputs"] == {"out": {"1": 1, "0": 1, "2": 1}}
    assert r.to_json()["inputs_not_once"] == {"out": {"m1": 2, "m2": 0}}


def test_an_output_without_a_final_read_or_without_lineage_is_not_checked() -> None:
    h = _pipeline_history({"m0": 1})
    r = check(h, inputs=["m0"], outputs=["elsewhere"], topics=["out"])
    assert r.count("lost_input") == 0
    assert r.unchecked["lost_input"] == "no read_committed verifier read elsewhere at the end"
    bare = History()
    send(bare, 0, "app-1", "m0", 0)
    poll(bare, 1, "verifier", [["out", 0, 0, "m0"]])
    r = check(bare, inputs=["m0"], outputs=["out"])
    assert "name none of the inputs" in r.unchecked["lost_input"]
    declared = check(bare, inputs=["m0"], outputs=["out"], lineage=lambda v: v)
    assert "lost_input" not in declared.unchecked and declared.effects == {"out": {"m0": 1}}


def test_a_report_says_what_it_did_not_check() -> None:
    r = check(History())
    assert r.checked == ["fenced"]
    assert str(r).splitlines()[0] == "OK: no anomalies (1 of 12 kinds checked)"
    assert r.to_json()["unchecked"]["lost_input"].startswith("no input ids given")


def test_in_the_simulation_a_read_of_a_dead_incarnations_copy_is_blamed_on_it() -> None:
    """Instance a dies after its record is appended, before the answer (its send's outcome
    is unknown, no offset); b (same transactional.id) writes the same value and commits. A
    read_uncommitted reader gets both: one aborted read of a's copy, no duplicate (a value
    match would blame offset 0 on b: a duplicate and no aborted read)."""
    from eoslib.simulation import Simulation

    sim = Simulation(0)
    sim.create_topic("out", 1)
    a = sim.Producer({"transactional.id": "t", "client.id": "a", "linger.ms": 0})
    a.init_transactions()
    a.begin_transaction()
    a.produce("out", value="x")
    part = sim.cluster.partition("out", 0)
    sim.kernel.run_until(lambda: part.leo == 1)
    a.crash()
    sim.history.record(sim.now, "a", "crash", "ok", step="after_produce")
    b = sim.Producer({"transactional.id": "t", "client.id": "b", "linger.ms": 0})
    b.init_transactions()
    b.begin_transaction()
    b.produce("out", value="x")
    b.commit_transaction()
    c = sim.Consumer({"group.id": "g", "auto.offset.reset": "earliest",
                      "isolation.level": "read_uncommitted"})
    c.subscribe(["out"])
    c.consume(10, timeout=1)
    sim.read_all("out")
    first = sim.history.of("send")[0]
    assert (first.process, first.outcome, first.value["offset"]) == ("a", "info", None)
    r = check(sim.history, topics=["out"])
    assert_only(r, aborted_read=1)
    ex = r.anomalies["aborted_read"].examples[0]
    assert (ex["offset"], ex["writer"], ex["reader"]) == (0, "a", "consumer-1")


def test_an_implicitly_acknowledged_send_in_no_log_is_lost_but_acks_0_is_not() -> None:
    """librdkafka reports a refused first request's messages delivered when a later request
    is acknowledged (rd_kafka_dr_implicit_ack; tests/test_rules_librdkafka_out_of_order.py):
    such a send has no offset, yet it was acknowledged to the application, so a verifier's
    read that misses it makes it ``lost``. An acks=0 send (also no offset) is never counted."""
    from eoslib.scenarios import run_scenario

    r = run_scenario("reorder", seed=0, messages=30, config={"enable.idempotence": True},
                     faults={"error_prob": 0.3})
    lost = r.report.anomalies["lost"]
    assert lost.count == 4 and not r.report.ok
    assert [e["value"] for e in lost.examples] == ["m0", "m1", "m2", "m3"]
    assert all(e["implicit_ack"] and e["offset"] is None for e in lost.examples)
    assert "implicitly acknowledged, no offset" in str(r)
    java = run_scenario("reorder", seed=0, messages=30,
                        config={"enable.idempotence": True, "client": "java"},
                        faults={"error_prob": 0.3})
    assert java.report.anomalies["lost"].count == 0
    zero = run_scenario("reorder", seed=0, messages=30, config={"acks": "0"},
                        faults={"error_prob": 0.3})
    sends = [op for op in zero.history if op.f == "send"]
    assert sends and all(op.value["offset"] is None for op in sends)
    assert zero.report.anomalies["lost"].count == 0
