"""Transaction version 2 (KIP-890 part 2), written once for both backends.

The setting is the cluster's finalized ``transaction.version`` feature ("1" or "2"): the
simulator's cluster key, and on Kafka ``Admin.updateFeatures`` (restored afterwards). The
Java client 4.x speaks version 2 when the cluster has it finalized
(``TransactionManager.maybeUpdateTransactionV2Enabled``); librdkafka never does.

* ``tv2-epoch-bump`` (:func:`epoch_bump`): the coordinator's producer epoch after
  ``init_transactions`` and after each of three commits.
* ``tv2-fence`` (:func:`fence`): a second producer with the same ``transactional.id``
  fences the first during an open transaction.
* ``tv2-torn-txn`` (:func:`torn_txn`, the real side only; the simulated side is the
  ``delayed-end-txn`` scenario): one EndTxn(commit) is held by the proxy and reaches the
  coordinator during the next transaction.
"""

from __future__ import annotations

from typing import Any

from eoslib.errors import CODES
from eoslib.real.experiments.client_conf import producer_conf, read_values

ERROR_NAMES = {code: name for name, (code, _r, _d) in CODES.items()}


def epoch_bump(env: Any, tv: str, transactions: int = 3) -> dict[str, Any]:
    """A transactional producer commits ``transactions`` transactions of one record each;
    the coordinator's epoch of its ``transactional.id`` is read after
    ``init_transactions`` and after each commit (Kafka: ``Admin.describeTransactions``).
    TV2 ends every transaction with an epoch bump (``TransactionMetadata
    .prepareAbortOrCommit``); TV1 keeps the epoch. Counts ``epochs`` and ``bumps``."""
    out = env.name("out")
    env.create_topics([out])
    txn = env.name("writer")
    p = env.producer(producer_conf(env.client, txn))
    p.init_transactions(30)
    epochs = [env.txn_state(txn)["epoch"]]
    for i in range(transactions):
        p.begin_transaction()
        p.produce(out, value=f"m{i}")
        p.commit_transaction(30)
        epochs.append(env.txn_state(txn)["epoch"])
    read = read_values(env, out)
    return {"epochs": epochs, "bumps": epochs[-1] - epochs[0], "committed_read": len(read)}


def fence(env: Any, tv: str) -> dict[str, Any]:
    """Producer A commits one transaction, then writes ``a1`` in a second and stalls;
    B starts with the same ``transactional.id``: its ``init_transactions`` fences A
    (the coordinator bumps the epoch and aborts A's transaction) and, after a retry,
    gets its own epoch. Counts ``fence_bumps`` (the ABORT marker's epoch on the partition
    minus A's epoch: Kafka's ``Admin.describeProducers``), ``new_epoch_bumps`` (B's epoch
    minus A's), ``a_fenced`` (A's commit fails) and ``a1_visible``."""
    out = env.name("out")
    env.create_topics([out])
    txn = env.name("app")
    a = env.producer(producer_conf(env.client, txn))
    a.init_transactions(30)
    a.begin_transaction()
    a.produce(out, value="a0")
    a.commit_transaction(30)
    a.begin_transaction()
    a.produce(out, value="a1")
    a.flush(30)
    st = env.txn_state(txn)
    a_epoch, pid = st["epoch"], st["producer_id"]
    b = env.producer(producer_conf(env.client, txn))
    b.init_transactions(30)  # fences A: abort A's transaction, then B's own epoch
    marker_epoch = env.producer_epochs(out).get(pid)
    b_epoch = env.txn_state(txn)["epoch"]
    a_error = None
    try:
        a.commit_transaction(10)
    except Exception as e:  # noqa: BLE001 - the client's exception, either backend
        a_error = e.args[0].name()
    env.crash(a)
    read = read_values(env, out)
    return {"fence_bumps": None if marker_epoch is None else marker_epoch - a_epoch,
            "new_epoch_bumps": b_epoch - a_epoch, "a_fenced": int(a_error is not None),
            "a1_visible": read.count("a1"), "a_epoch": a_epoch, "marker_epoch": marker_epoch,
            "b_epoch": b_epoch, "a_error": a_error}


def torn_txn(env: Any, tv: str, messages: int = 10) -> dict[str, Any]:
    """The real side of ``delayed-end-txn`` (the Java client through the proxy). A
    transactional producer writes ``m0..`` (half) and commits; the proxy holds that
    EndTxn(commit), so the client times out (``request.timeout.ms=3000``) and retries it
    on a new connection: transaction 1 commits. Transaction 2 writes the other half as
    ``-draft`` records; then the proxy delivers the held EndTxn(commit) of transaction 1,
    and the application aborts transaction 2. TV1: the late EndTxn carries the current
    producer id and epoch, so the coordinator commits transaction 2 (KAFKA-17754); TV2:
    its epoch is the previous one, PRODUCER_FENCED. Counts ``torn_txn_records`` (drafts a
    read_committed reader returns) and ``stale_end_txn_error`` (None: accepted)."""
    out = env.name("out")
    env.create_topics([out])
    txn = env.name("writer")
    conf = producer_conf(env.client, txn, **{"request.timeout.ms": 3000})
    p = env.producer(conf, proxied=True)
    p.init_transactions(30)
    vals = [f"m{i}" for i in range(messages)]
    half = len(vals) // 2
    p.begin_transaction()
    for v in vals[:half]:
        p.produce(out, value=v)
    p.flush(30)
    env.hold_end_txn()
    p.commit_transaction(60)  # held, timed out, retried: transaction 1 commits
    p.begin_transaction()
    for v in vals[half:]:
        p.produce(out, value=f"{v}-draft")
    p.flush(30)
    released = env.release_held()  # transaction 1's EndTxn(commit) arrives now
    env.sleep(0.5)
    abort_error = None
    try:
        p.abort_transaction(30)  # the app changes its mind: transaction 2 must vanish
    except Exception as e:  # noqa: BLE001
        abort_error = e.args[0].name()
    env.crash(p)
    committed = read_values(env, out)
    code = released[0]["error_code"] if released else None
    return {"torn_txn_records": sum(1 for v in committed if v.endswith("-draft")),
            "stale_end_txn_error": None if code in (0, None) else ERROR_NAMES.get(code, code),
            "held": len(released), "end_txn_version": released[0]["api_version"]
            if released else None, "abort_error": abort_error,
            "committed_read": len(committed)}
