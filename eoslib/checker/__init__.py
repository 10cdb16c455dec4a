"""The checker: reads a :class:`~eoslib.history.History` and reports anomalies, Jepsen-style.

Each analysis is independent, has a name, a one-line definition, a count and up to five
concrete examples (first in history order). A run passes when every anomaly it shows is one
the caller declared ``allowed``. The taxonomy follows Jepsen's Kafka checker
(``jepsen/src/jepsen/tests/kafka.clj``), simplified for teaching.

Terms: a *position* is (topic, partition, offset). A send is *acknowledged* when its outcome
is ``ok`` and its offset is known. A transaction is identified by (producer process,
``txn_seq``); it is *committed* when a ``txn_end`` with ``result="commit"`` completed
(outcome ``ok``), *aborted* when a ``txn_end`` with ``result="abort"`` completed, or when it
never ended at all and its producer crashed or was fenced (the coordinator aborts it). It is
also *aborted* when its producer was fenced without committing it, when only aborts were
attempted before its producer died, or when ``read_committed`` reads went past all of its
records without returning any (Jepsen likewise resolves indefinite outcomes from reads).
Otherwise a ``txn_end`` with outcome ``info`` or ``fail`` leaves it *unknown*. A write is
*invisible* if its
send failed or its transaction aborted: ``read_committed`` consumers must never see it.

=======================  ====================================================================
anomaly                  definition (and what ``count`` counts)
=======================  ====================================================================
``duplicate``            The same value sits at more than one offset of a topic (any
                         partitions). Evidence: acknowledged sends and polled records;
                         copies written by aborted transactions are not counted (reading
                         them is an ``aborted_read``). Count: extra copies, i.e. the sum over
                         values of (distinct positions - 1).
``inconsistent_offsets`` One position holds more than one value, according to sends and
                         polls. Count: such positions.
``lost``                 An acknowledged write (not transactional, or its transaction
                         committed) whose value no poll ever returned, although some poll
                         read that partition past its offset, or a ``verifier`` process
                         read the partition; a send reported delivered with no offset
                         (librdkafka's implicit ack) counts when a verifier read it; an
                         ``acks=0`` send never does. Count: such writes.
``unseen``               Like ``lost``, but no poll covered the partition, so we cannot
                         tell: informational. Count: such writes.
``aborted_read``         (G1a) A poll returned a record whose write is invisible: its send
                         definitely failed or its transaction aborted. Count: distinct
                         records (position and value) so read.
``uncommitted_read``     A poll returned a record of a transaction that later committed,
                         before the commit completed (``read_uncommitted`` behaviour):
                         the poll's (time, index) is below the ``txn_end``'s (or the poll
                         precedes the coordinator's decision, ``decided_at``, when recorded).
                         Count: distinct records so read.
``processed_twice``      A sink applied a write for an input id (in one table) that already
                         had an applied write. Count: extra applied writes.
``lost_input``           An id from ``expected_ids`` with no applied sink write. Count: ids.
``nonmonotonic_poll``    A process (one incarnation) was handed, for a partition, an offset
                         at or below the highest it had already received (earlier in the same
                         poll, or in an earlier poll). Count: (poll, partition) pairs.
``reordered``            Two acknowledged sends of one producer to one partition, adjacent in
                         issue order (``seq_no`` when recorded, else history order), whose
                         offsets decrease. Count: such pairs.
``fenced``               A producer was fenced by a newer epoch of its ``transactional.id``.
                         Count: ``fenced`` ops.
``torn_txn``             A ``read_committed`` poll returned a record of a transaction the
                         application ended with ``abort`` (whatever the abort call returned):
                         a stale EndTxn(commit) committed it behind the application's back
                         (KAFKA-17754, transaction version 1). Count: distinct records.
=======================  ====================================================================

``topics`` restricts every log analysis (all but ``processed_twice``, ``lost_input`` and
``fenced``) to those topics. Every analysis is linear in the history, apart from sorting.

The package holds one module per family of anomalies, each anomaly one small function whose
docstring is its definition (as in Jepsen's ``kafka.clj``): :mod:`.writes` (where writes
landed), :mod:`.reads` (what readers were handed), :mod:`.inputs` (what became of each
input); :mod:`.index` is the one pass over the history they share, :mod:`.report` the verdict.
"""

from eoslib.checker.check import check
from eoslib.checker.report import ANOMALIES, Anomaly, Report

__all__ = ["ANOMALIES", "Anomaly", "Report", "check"]
