"""The consumer's group coordinator client: membership, heartbeats, assignment, commits.

Java: ``ConsumerCoordinator`` (with ``AbstractCoordinator``); librdkafka: ``rdkafka_cgrp.c``.
It joins the group, heartbeats, applies assignments (calling ``on_assign``/``on_revoke``),
commits offsets (synchronously, asynchronously, automatically on a timer or at the next
poll, and before a rebalance or close) and fetches committed offsets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from eoslib.backoff import retry_backoff_ms
from eoslib.config import request_timeout_ms
from eoslib.errors import KafkaError, KafkaException, timed_out_name
from eoslib.messages import TopicPartition

TP = tuple[str, int]
#: OffsetCommit errors both clients retry (Java OffsetCommitResponseHandler;
#: librdkafka rd_kafka_handle_OffsetCommit_error); REQUEST_TIMED_OUT also stands for a
#: request whose answer never came (Java DisconnectException; librdkafka _TIMED_OUT)
RETRIABLE_COMMIT = frozenset({"COORDINATOR_LOAD_IN_PROGRESS", "UNKNOWN_TOPIC_OR_PART",
                              "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR",
                              "REQUEST_TIMED_OUT"})
LIBRDKAFKA_REQUEST_DEFAULT_RETRIES = 2  # src/rdkafka_proto.h


class ConsumerCoordinator:
    """Mixin of :class:`~eoslib.consumer.Consumer` (whose state it uses): the consumer's
    side of the group protocol and of offset commits."""

    def _join(self) -> None:
        assert self.group_id is not None
        self._joined = True
        self.member_id = self.cluster.group_coordinator.join(
            self.group_id, self._subscription, self.config["session.timeout.ms"],
            self._on_assignment, self.config["partition.assignment.strategy"],
            self.config["group.instance.id"], on_prepare=self._on_join_prepare)
        self.kernel.schedule(self.config["heartbeat.interval.ms"], self._heartbeat,
                             self.member_id)

    def _on_join_prepare(self) -> None:
        """A rebalance is about to take the partitions away: an auto-committing consumer
        commits its consumed positions first, with the current generation (Java:
        ``ConsumerCoordinator.onJoinPrepare`` -> ``maybeAutoCommitOffsetsSync``;
        librdkafka commits its stored offsets on revocation too)."""
        if not (self.config["enable.auto.commit"] and self.group_id and self.alive
                and not self.closed and self._joined):
            return
        offs = self._commit_offsets()
        if not offs:
            return
        err = self.cluster.group_coordinator.commit(self.group_id, self.generation,
                                                    self.member_id, offs)
        self.stats["commits" if err is None else "failed_commits"] += 1
        self._record_commit(self.sim.process_name(self), self.group_id, offs,
                            "ok" if err is None else "fail", auto=True, error=err)

    def _record_commit(self, process: str, group: str, offs: dict[TP, int], outcome: str,
                       auto: bool, error: str | None = None) -> None:
        """Record a (non-transactional) offset commit in the history (``error``: the
        commit's error name, for confluent-kafka's ``on_commit`` callback; not recorded)."""
        self.sim.history.record(self.kernel.now, process, "commit", outcome, group=group,
                                offsets=[[t, p, o] for (t, p), o in offs.items()], txn=None,
                                auto=auto)

    def _record_attempt(self, process: str, group: str, offs: dict[TP, int], outcome: str,
                        auto: bool) -> None:
        """Record an attempt of a commit that is retried: history only (the commit's
        outcome, and any ``on_commit`` callback, come with its last attempt)."""
        ConsumerCoordinator._record_commit(self, process, group, offs, outcome, auto)

    def _on_assignment(self, generation: int, parts: list[TP]) -> None:
        if self._alive():
            self._pending_assignment = (generation, parts)

    def _heartbeat(self, member_id: str) -> None:
        if not (self.alive and not self.closed) or member_id != self.member_id \
                or not self._joined:
            return
        assert self.group_id is not None
        if self.kernel.now - self._last_poll > self.config["max.poll.interval.ms"]:
            self.kernel.emit(self.lane, "rebalance", "missed max.poll.interval.ms: leaving group",
                             flag="error")
            self.cluster.group_coordinator.leave(self.group_id, member_id,
                                                 "missed max.poll.interval.ms")
            self._joined = False
            self._lost = True
            return
        err = self.cluster.group_coordinator.heartbeat(self.group_id, member_id)
        if err == "FENCED_INSTANCE_ID":
            # a newer instance took this group.instance.id: fatal for this consumer
            self._fatal = KafkaError(err, "FENCED_INSTANCE_ID: another consumer joined with "
                                     f"group.instance.id={self.config['group.instance.id']}",
                                     fatal=True)
            self._joined = False
            return
        if err:
            self._joined = False
            self._lost = True
            return
        self.kernel.schedule(self.config["heartbeat.interval.ms"], self._heartbeat, member_id)

    def _apply_assignment(self) -> None:
        if self._pending_assignment is None:
            return
        generation, parts = self._pending_assignment
        self._pending_assignment = None
        revoked = [tp for tp in self._assignment if tp not in parts]
        on_revoke = self._on_lost if self._lost and self._on_lost else self._on_revoke
        self._lost = False
        if revoked and on_revoke:
            on_revoke(self, [TopicPartition(*tp) for tp in revoked])
        for tp in revoked:
            self._positions.pop(tp, None)
            self._buffers.pop(tp, None)
        self.generation = generation
        self._assignment = list(parts)
        for tp in parts:
            self._positions.setdefault(tp, None)
            self._buffers.setdefault(tp, deque())
        self.stats["rebalances"] += 1
        self.kernel.emit(self.lane, "rebalance", f"generation {generation}: assigned "
                         + (", ".join(f"{t}-{p}" for t, p in parts) or "nothing"))
        if self._on_assign:
            self._on_assign(self, [TopicPartition(*tp) for tp in parts])

    @property
    def require_stable(self) -> bool:
        """Whether this client's OffsetFetch asks for stable offsets (KIP-447): Java always,
        librdkafka only with ``isolation.level=read_committed``."""
        return self.client == "java" or self.isolation == "read_committed"

    def _fetch_committed(self, keys: list[TP], timeout: float | None) -> dict[TP, int | None]:
        """OffsetFetch, retried while the offsets are unstable (a transaction's offsets for
        these partitions are pending, KIP-447) until ``timeout`` (seconds) passes.

        Java (``ClassicKafkaConsumer.committed`` -> ``ConsumerCoordinator
        .fetchCommittedOffsets``): UNSTABLE_OFFSET_COMMIT is retriable; it sleeps
        ``retryBackoff.backoff(attempts++)`` and tries again while the timer (``timeout``,
        default ``default.api.timeout.ms``) runs, then throws ``TimeoutException`` ("Timeout
        of Nms expired before the last committed offset for partitions [...] could be
        determined"; ``Errors.forException``: REQUEST_TIMED_OUT). librdkafka: the OffsetFetch
        handler retries the request on UNSTABLE_OFFSET_COMMIT (``rd_kafka_handle_OffsetFetch``
        -> ``rd_kafka_buf_retry``, max retries INT_MAX, backoff as
        ``rd_kafka_broker_buf_retry``) while ``rd_kafka_committed`` (src/rdkafka.c) waits
        for the reply until its timeout, then returns ``_TIMED_OUT``; confluent-kafka raises
        it, not retriable (``Consumer_committed``; default timeout -1: forever)."""
        assert self.group_id is not None
        java = self.client == "java"
        if timeout is None:
            limit = self.config["default.api.timeout.ms"] if java else 3_600_000
        else:
            limit = timeout * 1000
        deadline = self.kernel.now + limit
        attempts = 0
        while True:
            err, offs = self.cluster.group_coordinator.fetch(
                self.group_id, keys, self.require_stable)
            if err is None:
                return offs
            self.kernel.emit(self.lane, "error", f"OffsetFetch: {err}, retrying")
            attempts += 1
            wait = retry_backoff_ms(self.config, attempts, self.sim.client_rng)
            if self.kernel.now + wait >= deadline:
                self.kernel.advance(deadline - self.kernel.now)
                if java:
                    parts = ", ".join(f"{t}-{p}" for t, p in keys)
                    raise KafkaException(KafkaError(
                        timed_out_name(self.client), f"Timeout of {limit:g}ms "
                        f"expired before the last committed offset for partitions [{parts}] "
                        "could be determined. Try tuning default.api.timeout.ms larger to "
                        "relax the threshold.", retriable=True))
                # a librdkafka committed() without a timeout waits forever; the simulation
                # gives up after an hour of virtual time
                raise KafkaException(KafkaError(
                    "_TIMED_OUT", "Failed to get committed offsets: Local: Timed out",
                    retriable=False))
            self.kernel.advance(wait)

    def _auto_commit_timer(self) -> None:
        if not self.alive or self.closed:
            return
        self._auto_commit()
        self.kernel.schedule(self.config["auto.commit.interval.ms"], self._auto_commit_timer)

    def _commit_offsets(self) -> dict[TP, int]:
        """What an offset-less commit (auto-commit, ``commit()``, close, a rebalance)
        commits: the positions, or with ``enable.auto.offset.store=false`` the offsets
        ``store_offsets()`` stored (librdkafka commits each partition's rktp_stored_pos,
        e.g. rd_kafka_assignment_serve_removals in src/rdkafka_assignment.c; with
        auto-store on, poll() stores each returned message's offset + 1: the position)."""
        if self.config["enable.auto.offset.store"]:
            return {tp: o for tp, o in self._positions.items() if o is not None}
        return {tp: o for tp, o in self._stored.items() if tp in self._assignment}

    def _assignment_lost(self) -> bool:
        """The group took this member's partitions away (it missed max.poll.interval.ms, or
        its heartbeat found it removed) and the application has not polled since: the
        member is out of the group. librdkafka: ``rd_kafka_cgrp_assignment_is_lost``, set by
        ``rd_kafka_cgrp_max_poll_interval_check_tmr_cb`` -> ``revoke_all_rejoin_maybe(lost)``
        (src/rdkafka_cgrp.c); Java: the member is no longer STABLE
        (``AbstractCoordinator.generationIfStable`` is null)."""
        return self._lost and not self._joined and bool(self.group_id)

    def _auto_commit(self) -> None:
        if self._assignment_lost():
            # librdkafka rd_kafka_cgrp_assigned_offsets_commit: "not committing assigned
            # offsets: assignment lost"; Java's auto-commit fails the same way locally
            return
        offs = self._commit_offsets()
        if offs:
            self._send_commit(offs, wait=False, auto=True)

    def _send_commit(self, offs: dict[TP, int], *, wait: bool,
                     auto: bool = False) -> list[TopicPartition] | None:
        """Send an OffsetCommit, retrying retriable errors as the client does.

        Java: a synchronous commit retries until ``default.api.timeout.ms`` (60 s) has
        passed, backing off exponentially (``ConsumerCoordinator.commitOffsetsSync``; its
        ``OffsetCommitResponseHandler`` marks COORDINATOR_LOAD_IN_PROGRESS,
        UNKNOWN_TOPIC_OR_PARTITION, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR and
        REQUEST_TIMED_OUT retriable, as is a request that timed out); then
        ``TimeoutException``. An asynchronous commit is sent once. librdkafka: every
        OffsetCommit request, synchronous or not, is retried by ``rd_kafka_buf_retry`` up
        to ``RD_KAFKA_REQUEST_DEFAULT_RETRIES`` (2) times on the same errors plus
        ``_TIMED_OUT``/``_TRANSPORT`` (``rd_kafka_handle_OffsetCommit`` and
        ``rd_kafka_handle_OffsetCommit_error`` in src/rdkafka_request.c, each attempt
        bounded by ``socket.timeout.ms``); then the error is returned."""
        assert self.group_id is not None
        group = self.group_id
        gen = self.generation if not self._manual else -1
        member = self.member_id if not self._manual else ""
        result: dict[str, Any] = {}
        process = self.sim.process_name(self)
        java = self.client == "java"
        deadline = self.kernel.now + self.config["default.api.timeout.ms"]
        attempts = [0]

        def handler(respond: Callable[[dict[str, Any]], None]) -> None:
            respond({"error": self.cluster.group_coordinator.commit(group, gen, member, offs)})

        def may_retry(err: str) -> bool:
            if err not in RETRIABLE_COMMIT or not self._alive():
                return False
            if java:
                return wait and self.kernel.now < deadline
            return attempts[0] <= LIBRDKAFKA_REQUEST_DEFAULT_RETRIES

        def retry(err: str) -> None:
            delay = retry_backoff_ms(self.config, attempts[0], self.sim.client_rng)
            self.kernel.emit(self.lane, "error", f"OffsetCommit: {err}, retrying in "
                             f"{delay:.0f} ms")
            self.kernel.schedule(delay, attempt)

        def on_resp(resp: dict[str, Any]) -> None:
            err = resp["error"]
            if err and may_retry(err):
                self._record_attempt(process, group, offs, "fail", auto)
                retry(err)
                return
            result.update(resp)
            self.stats["commits" if err is None else "failed_commits"] += 1
            self._record_commit(process, group, offs, "ok" if err is None else "fail", auto,
                                err)

        def on_timeout() -> None:
            if may_retry("REQUEST_TIMED_OUT"):
                self._record_attempt(process, group, offs, "info", auto)
                retry("REQUEST_TIMED_OUT")
                return
            result.update(error="REQUEST_TIMED_OUT")
            self._record_commit(process, group, offs, "info", auto, "REQUEST_TIMED_OUT")

        def attempt() -> None:
            if not self._alive():
                return
            if java and attempts[0] and self.kernel.now >= deadline:
                result.setdefault("error", "REQUEST_TIMED_OUT")  # the timer expired
                return
            attempts[0] += 1
            self.cluster.network.call(self.lane, "offset_commit", 0, handler, on_resp,
                                      timeout=request_timeout_ms(self.config),
                                      on_timeout=on_timeout,
                                      client_alive=self._alive,
                                      label="OffsetCommit " + ", ".join(
                                          f"{t}-{i}={o}" for (t, i), o in offs.items()))

        attempt()
        if not wait:
            return None
        if java:
            self.kernel.run_until(lambda: bool(result) or not self._alive(),
                                  max(0.0, deadline - self.kernel.now))
        else:
            self.kernel.run_until(lambda: bool(result) or not self._alive())
        if not self._alive():
            raise KafkaException(KafkaError("_DESTROY", "consumer crashed"))
        if not result or result["error"] == "REQUEST_TIMED_OUT":
            # Java: "Timeout of 60000ms expired before successfully committing offsets";
            # librdkafka: the last attempt's _TIMED_OUT
            raise KafkaException(KafkaError(
                timed_out_name(self.client),
                f"Timeout of {self.config['default.api.timeout.ms']}ms expired "
                "before successfully committing offsets" if java else
                f"OffsetCommit failed after {attempts[0]} attempts: Local: Timed out",
                retriable=True))
        if result["error"] == "FENCED_INSTANCE_ID" and not java:
            # librdkafka: RD_KAFKA_ERR_ACTION_PERMANENT | RD_KAFKA_ERR_ACTION_FATAL
            # (rd_kafka_handle_OffsetCommit_error) -> rd_kafka_set_fatal_error
            self._fatal = KafkaError("FENCED_INSTANCE_ID", "OffsetCommit failed: another "
                                     "consumer joined with group.instance.id="
                                     f"{self.config['group.instance.id']}", fatal=True)
            raise KafkaException(self._fatal)
        if result["error"]:
            err = result["error"]
            raise KafkaException(KafkaError(
                err, f"{err}: commit failed; the group has rebalanced and this consumer's "
                "partitions may belong to another member (CommitFailedException)"
                if err in ("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "REBALANCE_IN_PROGRESS",
                           "FENCED_INSTANCE_ID")
                else None))
        return [TopicPartition(t, p, o) for (t, p), o in offs.items()]
