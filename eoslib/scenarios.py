"""Named experiments: a config, a fault plan, a seed and a message count in; a Result out.

Everything the course shows goes through :func:`run_scenario`. A scenario's ``config``
mixes Kafka's producer and consumer keys (``enable.idempotence``, ``acks``,
``isolation.level``, ``transactional.id``...) with the course's own keys:

* ``transactions`` (bool): use the transactional consume-transform-produce loop;
* ``delivery``: ``at-most-once`` / ``at-least-once`` / ``exactly-once`` (``transactions``
  is shorthand for ``exactly-once``);
* ``sink``: ``insert`` / ``upsert`` / ``offsets`` (where a sink is written);
* ``batch``: records per poll (and per transaction);
* ``brokers``, ``replication.factor``, ``min.insync.replicas``,
  ``unclean.leader.election.enable``: the cluster and output topic.

Unknown keys raise :class:`~eoslib.errors.ConfigException` with a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from eoslib.apps import Pipeline, default_step
from eoslib.checker import check
from eoslib.config import CONSUMER, PRODUCER, Key, coerce, validate
from eoslib.errors import ConfigException, KafkaException, did_you_mean
from eoslib.faults import FaultPlan
from eoslib.result import Result
from eoslib.simulation import Simulation
from eoslib.sinks import Sink

COURSE_KEYS = {
    "transactions": False, "delivery": None, "sink": None, "batch": 10,
    "brokers": None, "replication.factor": None, "min.insync.replicas": None,
    "unclean.leader.election.enable": None, "transaction.version": None,
    "lagging.followers": None,
}
#: the course's own keys, typed like Kafka's (validated with the same rules and wording)
COURSE_SCHEMA = {
    "transactions": Key("transactions", "bool", False),
    "delivery": Key("delivery", "choice", None, ("at-most-once", "at-least-once",
                                                  "exactly-once")),
    "sink": Key("sink", "choice", None, ("insert", "upsert", "offsets")),
    "batch": Key("batch", "int", 10, minimum=1),
    "brokers": Key("brokers", "int", None, minimum=1),
    "replication.factor": Key("replication.factor", "int", None, minimum=1),
    "min.insync.replicas": Key("min.insync.replicas", "int", None, minimum=1),
    "unclean.leader.election.enable": Key("unclean.leader.election.enable", "bool", None),
    # a cluster feature in Kafka 4.x, flipped here per run (the course's way to compare)
    "transaction.version": Key("transaction.version", "choice", None, ("1", "2")),
    # leader-failover: followers out of the ISR (down) from the start, back as the leader dies
    "lagging.followers": Key("lagging.followers", "int", None, minimum=0),
}
FAULT_FIELDS = tuple(f.name for f in fields(FaultPlan))


@dataclass
class Setup:
    """What a scenario function receives."""

    sim: Simulation
    messages: int
    producer: dict[str, Any]
    consumer: dict[str, Any]
    course: dict[str, Any]


@dataclass
class Outcome:
    """What a scenario function returns: which topics and ids the checker judges."""

    topics: list[str]
    expected_ids: list[str] | None = None
    allowed: tuple[str, ...] = ()
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scenario:
    """A named experiment."""

    name: str
    description: str
    fn: Callable[[Setup], Outcome]
    config: Mapping[str, Any]
    faults: Mapping[str, Any]
    cluster: Mapping[str, Any]
    messages: int = 50


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, description: str, *, config: Mapping[str, Any] | None = None,
             faults: Mapping[str, Any] | None = None, cluster: Mapping[str, Any] | None = None,
             messages: int = 50) -> Callable[[Callable[[Setup], Outcome]], Callable[[Setup],
                                                                                    Outcome]]:
    """Register a scenario function under ``name``."""
    def deco(fn: Callable[[Setup], Outcome]) -> Callable[[Setup], Outcome]:
        SCENARIOS[name] = Scenario(name, description, fn, dict(config or {}),
                                   dict(faults or {}), dict(cluster or {}), messages)
        return fn
    return deco


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                      dict[str, Any]]:
    """Split a scenario config into producer, consumer and course keys."""
    prod: dict[str, Any] = {}
    cons: dict[str, Any] = {}
    course = dict(COURSE_KEYS)
    known = set(PRODUCER) | set(CONSUMER) | set(COURSE_KEYS) | set(FAULT_FIELDS)
    for k, v in config.items():
        if k in COURSE_KEYS:
            course[k] = coerce(COURSE_SCHEMA[k], v)
        elif k in PRODUCER and k in CONSUMER:  # client.id, bootstrap.servers
            prod[k] = cons[k] = v
        elif k in PRODUCER:
            prod[k] = v
        elif k in CONSUMER:
            cons[k] = v
        else:
            hint = did_you_mean(k, known)
            if k in FAULT_FIELDS:
                hint = " (a fault: pass it in faults=..., or with --set on the command line)"
            raise ConfigException(k, v, "Unknown configuration key" + hint
                                  + "; see `eoslib run --help` for the keys")
    validate("producer", {k: v for k, v in prod.items()})
    validate("consumer", {k: v for k, v in cons.items()})
    if course["transactions"] and course["delivery"] not in (None, "exactly-once"):
        raise ConfigException("delivery", course["delivery"],
                              "transactions=true is the exactly-once loop: leave delivery "
                              "unset or set it to exactly-once")
    if course["transactions"]:
        course["delivery"] = "exactly-once"
    elif course["delivery"] == "exactly-once":
        course["transactions"] = True
    return prod, cons, course


def run_scenario(name: str, *, seed: int = 0, messages: int | None = None,
                 config: Mapping[str, Any] | None = None,
                 faults: Mapping[str, Any] | FaultPlan | None = None,
                 hooks: Mapping[str, Any] | None = None, tracing: bool = True) -> Result:
    """Run scenario ``name`` and check its history.

    ``config`` and ``faults`` override the scenario's defaults key by key. ``hooks`` swaps
    protocol pieces for a learner's functions: ``duplicate_check`` (the broker's),
    ``fetch_filter`` (read_committed), ``step`` (the app's transform), ``sink_write``.
    """
    sc = SCENARIOS.get(name)
    if sc is None:
        raise ConfigException("scenario", name, "Unknown scenario" + did_you_mean(
            name, SCENARIOS) + f"; scenarios: {', '.join(SCENARIOS)}")
    n = sc.messages if messages is None else messages
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n > 1_000_000:
        raise ConfigException("messages", n, "Expected a whole number from 1 to 1000000")
    user = dict(config or {})
    if user.get("transactional.id") is not None and "transactions" not in user:
        user["transactions"] = True  # a transactional.id means the transactional path
    cfg = {**sc.config, **user}
    if isinstance(faults, FaultPlan):
        plan_d = {k: v for k, v in faults.to_json().items() if k in faults.explicit}
    else:
        plan_d = dict(faults or {})
    plan = FaultPlan.from_dict({**sc.faults, **plan_d})
    prod, cons, course = split_config(cfg)
    cluster = dict(sc.cluster)
    if course["brokers"] is not None:
        cluster["brokers"] = course["brokers"]
    if course["transaction.version"] is not None:
        cluster["transaction.version"] = course["transaction.version"]
    sim = Simulation(seed, faults=plan, cluster=cluster, tracing=tracing)
    hooks = dict(hooks or {})
    for k in hooks:
        if k not in ("duplicate_check", "fetch_filter", "step", "sink_write"):
            raise ConfigException("hooks", k, "Expected duplicate_check, fetch_filter, step "
                                  "or sink_write")
    if "duplicate_check" in hooks:
        sim.duplicate_check = hooks["duplicate_check"]
    if "fetch_filter" in hooks:
        sim.fetch_filter = hooks["fetch_filter"]
    course["_hooks"] = hooks
    outcome = sc.fn(Setup(sim, n, prod, cons, course))
    sim.settle(1000)
    for t in outcome.topics:
        sim.read_all(t, "read_committed")
    report = check(sim.history, expected_ids=outcome.expected_ids, topics=outcome.topics,
                   allowed=("fenced", *outcome.allowed))
    tc = sim.cluster.txn_coordinator
    counts: dict[str, Any] = {
        "duplicates": report.count("duplicate"),
        "lost": report.count("lost") + report.count("lost_input"),
        "aborted_reads": report.count("aborted_read"),
        "uncommitted_reads": report.count("uncommitted_read"),
        "processed_twice": report.count("processed_twice"),
        "reordered": report.count("reordered"),
        "fenced": report.count("fenced"),
        "txn_committed": tc.committed,
        "txn_aborted": tc.aborted,
        "lso_lag_ms": lso_lag(sim, outcome.topics),
        "retries": sum(1 for ev in sim.trace if ev["kind"] == "retry"),
        "virtual_ms": round(sim.now, 3),
    }
    counts.update(outcome.extra or {})
    effective = {**{k: v for k, v in course.items() if not k.startswith("_")},
                 **{k: v for k, v in validate("producer", prod).items()
                    if not k.startswith("_")},
                 **{k: v for k, v in validate("consumer", cons).items()
                    if not k.startswith("_") and k not in PRODUCER}}
    # the version the run's transactions used: the cluster feature, capped by the client
    effective["transaction.version"] = str(min(int(sim.cluster.config["transaction.version"]),
                                               int(effective["transaction.version"])))
    return Result(name, seed, n, effective, plan.to_json(), counts, report, sim.history,
                  sim.trace, requests=dict(sim.injector.counts))


def lso_lag(sim: Simulation, topics: list[str]) -> float:
    """Mean ms that records of ``topics`` waited between reaching the high watermark and
    becoming stable (readable by read_committed consumers)."""
    total, n = 0.0, 0
    for t in topics:
        for p in sim.cluster.partitions(t):
            for b in p.log:
                if b.control is None and b.base_offset in p.stable_since \
                        and b.base_offset in p.hw_since:
                    total += (p.stable_since[b.base_offset] - p.hw_since[b.base_offset]) \
                        * len(b.records)
                    n += len(b.records)
    return round(total / n, 3) if n else 0.0


def values(n: int) -> list[str]:
    """The course's input values ``m0``..``m{n-1}``."""
    return [f"m{i}" for i in range(n)]


def _fill_input(s: Setup, topic: str = "in", partitions: int = 1) -> list[str]:
    """Create and fill the input topic without faults (a clean upstream)."""
    sim = s.sim
    sim.create_topic(topic, partitions)
    vals = values(s.messages)
    parts = sim.cluster.partitions(topic)
    for k, p in enumerate(parts):
        p.fill(vals[k::partitions])
    return vals


def _pipeline(s: Setup, **kw: Any) -> Pipeline:
    c = s.course
    hooks = c["_hooks"]
    p = Pipeline(s.sim, input_topic="in", delivery=c["delivery"] or "at-least-once",
                 batch=int(c["batch"]), producer_config=s.producer, consumer_config=s.consumer,
                 **({"step": hooks["step"]} if "step" in hooks else {}), **kw)
    plan = s.sim.faults
    if p.crash_at is None and not {"crash_at", "crash_prob"} & plan.explicit:
        p.crash_at = s.messages // 2  # the FaultPlan default: the middle message
    return p


def _producer(s: Setup, **extra: Any) -> Any:
    """The scenario's producer; transactional (and initialised) when ``transactions``."""
    conf = {**s.producer, **extra}
    if s.course["transactions"]:
        conf.setdefault("transactional.id", "writer")
    p = s.sim.Producer(conf)
    if p.txn_id is not None:
        p.init_transactions()
    return p


def _write(s: Setup, p: Any, topic: str, vals: list[str], gap_ms: float) -> None:
    """Produce ``vals`` one every ``gap_ms``; a transactional producer commits every
    ``batch`` records (aborting a transaction that hit an abortable error)."""
    txn = p.txn_id is not None
    k = int(s.course["batch"])
    for i, v in enumerate(vals):
        if txn and i % k == 0:
            p.begin_transaction()
        p.produce(topic, value=v)
        s.sim.sleep(gap_ms)
        if txn and (i % k == k - 1 or i == len(vals) - 1):
            try:
                p.commit_transaction()
            except KafkaException as e:
                if not e.error.txn_requires_abort():
                    raise
                p.abort_transaction()
    p.flush()


# ---------------------------------------------------------------------- scenarios
@scenario("producer-retry",
          "A producer retries after lost acknowledgements: duplicates unless "
          "enable.idempotence=true",
          config={"enable.idempotence": True, "request.timeout.ms": 1000,
                  "socket.timeout.ms": 1000, "delivery.timeout.ms": 30000},
          faults={"response_loss": 0.1})
def _producer_retry(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = _producer(s)
    _write(s, p, "out", values(s.messages), 10)
    return Outcome(["out"], extra={"acknowledged": p.stats["acked"],
                                   "failed_sends": p.stats["failed"]})


@scenario("reorder",
          "Retries after a refused batch overtake later batches unless idempotence keeps "
          "the order (max.in.flight.requests.per.connection=5)",
          config={"enable.idempotence": False, "max.in.flight.requests.per.connection": 5,
                  "linger.ms": 0},
          faults={"error_prob": 0.1})
def _reorder(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    _write(s, _producer(s), "out", values(s.messages), 0.5)
    return Outcome(["out"])


@scenario("producer-restart",
          "An idempotent producer crashes before learning what was delivered; its "
          "replacement re-sends: idempotence is per producer session",
          config={"enable.idempotence": True, "request.timeout.ms": 1000,
                  "socket.timeout.ms": 1000},
          faults={"lost_acks": 0})
def _producer_restart(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    vals = values(s.messages)
    half = len(vals) // 2
    txn = bool(s.course["transactions"])
    conf = dict(s.producer)
    if txn:
        conf["transactional.id"] = "sender"
    acked: set[str] = set()

    def on_delivery(err: Any, msg: Any) -> None:
        if err is None:
            acked.add(msg.value())

    p = sim.Producer({**conf, "client.id": "sender"})
    if txn:
        p.init_transactions()
        p.begin_transaction()
    for v in vals[:half]:
        p.produce("out", value=v, on_delivery=on_delivery)
        sim.sleep(1)
    sim.sleep(3)  # the broker has appended; the callbacks have not been served yet
    p.crash()
    sim.history.record(sim.now, "sender", "crash", "ok", step="after_produce")
    sim.kernel.emit("sender", "crash", "producer process crashed", flag="crash")
    p2 = sim.Producer({**conf, "client.id": "sender#2"})
    sim.set_process(p2, "sender#2")
    if txn:
        p2.init_transactions()
        p2.begin_transaction()
    for v in vals:
        if v not in acked:  # what the application cannot prove was delivered
            p2.produce("out", value=v, on_delivery=on_delivery)
    if txn:
        p2.commit_transaction()
    p2.flush()
    return Outcome(["out"])


def _crash_defaults() -> dict[str, Any]:
    return {"crash_step": "before_commit", "crash_at": None}


@scenario("consumer-crash",
          "A consume-process-produce app crashes before committing its input offsets "
          "and replays the batch; transactions=true makes output and offsets atomic",
          config={"transactions": False, "batch": 10},
          faults={"crash_step": "before_commit", "crash_at": 25})
def _consumer_crash(s: Setup) -> Outcome:
    _fill_input(s)
    s.sim.create_topic("out", 1)
    app = _pipeline(s)
    app.run()
    return Outcome(["out"], extra={"crashes": app.crashes, "aborts": app.aborts})


@scenario("at-most-once",
          "Committing before processing: a crash after the commit loses the batch",
          config={"delivery": "at-most-once", "batch": 10},
          faults={"crash_step": "after_commit", "crash_at": 25})
def _at_most_once(s: Setup) -> Outcome:
    vals = _fill_input(s)
    sink = Sink(s.sim, s.course["sink"] or "insert")
    app = _pipeline(s, output_topic=None, sink=sink)
    app.run()
    return Outcome([], expected_ids=vals, extra={"crashes": app.crashes,
                                                 "rows": len(sink.rows)})


@scenario("transactional-crash",
          "The transactional loop crashes at the chosen step: the open transaction aborts "
          "and the restart resumes from the committed offsets - no duplicates",
          config={"transactions": True, "batch": 10},
          faults={"crash_step": "after_produce", "crash_at": 25})
def _txn_crash(s: Setup) -> Outcome:
    return _consumer_crash(s)


@scenario("read-committed",
          "A transactional producer commits some transactions and aborts others; "
          "compare isolation.level=read_uncommitted with read_committed",
          config={"isolation.level": "read_uncommitted", "batch": 5})
def _read_committed(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = sim.Producer({**s.producer, "transactional.id": "writer"})
    c = sim.Consumer({"group.id": "reader", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, **s.consumer})
    c.subscribe(["out"])
    p.init_transactions()
    k = max(1, int(s.course["batch"]))
    vals = values(s.messages)
    incarnation = 1
    for t in range(0, len(vals), k):
        try:
            p.begin_transaction()
            for v in vals[t:t + k]:
                p.produce("out", value=v)
                sim.sleep(2)
            c.consume(100, timeout=0.005)  # the reader polls while the transaction is open
            if (t // k) % 3 == 2:
                p.abort_transaction()
            else:
                p.commit_transaction()
        except KafkaException as e:  # what a real writer must do
            if e.error.txn_requires_abort():
                try:
                    p.abort_transaction()
                    continue
                except KafkaException:
                    pass  # fenced while aborting: fatal
            p.close()  # fatal (fenced): a new producer with the same transactional.id
            incarnation += 1
            p = sim.Producer({**s.producer, "transactional.id": "writer",
                              "client.id": f"writer#{incarnation}"})
            p.init_transactions()
        c.consume(100, timeout=0.01)
    for _ in range(5):
        c.consume(100, timeout=0.1)
    return Outcome(["out"])


@scenario("zombie-fencing",
          "An app instance pauses (a long GC); its replacement takes over the same input. "
          "With transactions the replacement's init_transactions fences the zombie",
          config={"transactions": True, "batch": 10},
          messages=30)
def _zombie(s: Setup) -> Outcome:
    sim = s.sim
    _fill_input(s)
    sim.create_topic("out", 1)
    eos = s.course["delivery"] == "exactly-once"
    a = _pipeline(s, name="app-a")
    a.start()
    # instance A polls a batch, processes it and produces... then freezes
    c, p = a.consumer, a.producer
    assert c is not None and p is not None
    msgs = c.consume(a.batch, timeout=1.0)
    if eos:
        p.begin_transaction()
    for m in msgs:
        p.produce("out", value=a.step(m), key=m.key())
    if not eos:
        p.flush()
    sim.kernel.emit("app-a", "crash", "app-a pauses (GC) before committing", flag="crash")
    sim.history.record(sim.now, "app-a", "note", "ok", text="paused")
    c.alive = False  # no heartbeats while paused
    sim.sleep(50_000)  # > session.timeout.ms: the group moves on
    b = _pipeline(s, name="app-b")
    b.start()  # same group; with transactions, same transactional.id: fences app-a
    for _ in range(3):
        b.run_once()
    # app-a wakes up and carries on as if nothing happened
    c.alive = True
    sim.kernel.emit("app-a", "restart", "app-a resumes", flag="error")
    try:
        if eos:
            p.send_offsets_to_transaction(c.position(c.assignment()),
                                          c.consumer_group_metadata())
            p.commit_transaction()
        else:
            c.commit(asynchronous=False)
    except KafkaException:
        pass
    a.close()
    b.run(max_ms=120_000)
    return Outcome(["out"], extra={"zombie_fenced": int(p.txn_state == "FATAL_ERROR")})


@scenario("transaction-timeout",
          "A producer stalls inside a transaction longer than transaction.timeout.ms: the "
          "coordinator aborts it (TV1: the producer is fenced; TV2: its own abort is taken "
          "as a retry of that abort and it goes on); read_committed readers wait",
          config={"transaction.timeout.ms": 10000, "isolation.level": "read_committed"},
          messages=20)
def _txn_timeout(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = sim.Producer({**s.producer, "transactional.id": "slow-writer"})
    c = sim.Consumer({"group.id": "reader", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, **s.consumer})
    c.subscribe(["out"])
    p.init_transactions()
    vals = values(s.messages)
    half = len(vals) // 2
    p.begin_transaction()
    for v in vals[:half]:
        p.produce("out", value=v)
    p.flush()
    # the coordinator checks every cleanup interval (10 s): stall past timeout + interval
    stall = p.config["transaction.timeout.ms"] + sim.cluster.config[
        "transaction.abort.timed.out.transaction.cleanup.interval.ms"] + 1000
    sim.kernel.emit(p.lane, "crash", f"producer stalls {stall:.0f} ms", flag="crash")
    deadline = sim.now + stall
    other = sim.Producer({"client.id": "other-writer", "linger.ms": 0})
    i = 0
    while sim.now < deadline:  # other writers' records queue up behind the open txn
        other.produce("out", value=f"o{i}")
        i += 1
        c.consume(100, timeout=0)
        sim.sleep(500)
    other.flush()
    try:
        for v in vals[half:]:
            p.produce("out", value=v)
        p.commit_transaction()
    except KafkaException as e:
        if e.error.txn_requires_abort():
            try:
                # TV1: PRODUCER_FENCED; TV2 (Kafka 4.1 endTransaction, retryOnEpochBump):
                # OK with the fence's epoch, a retry of the coordinator's abort
                p.abort_transaction()
            except KafkaException:
                pass
    p.close()
    p2 = sim.Producer({**s.producer, "transactional.id": "slow-writer",
                       "client.id": "writer-restarted"})
    p2.init_transactions()
    p2.begin_transaction()
    for v in vals:
        p2.produce("out", value=v)
    p2.commit_transaction()
    for _ in range(3):
        c.consume(100, timeout=0.5)
    return Outcome(["out"])


@scenario("external-sink",
          "An exactly-once pipeline writes to a database table and crashes after the "
          "write, before the commit: insert duplicates, upsert and offsets do not",
          config={"transactions": True, "sink": "insert", "batch": 10},
          faults={"crash_step": "after_process", "crash_at": 25})
def _external_sink(s: Setup) -> Outcome:
    vals = _fill_input(s)
    s.sim.create_topic("out", 1)
    sink = Sink(s.sim, s.course["sink"] or "insert")
    hooks = s.course["_hooks"]
    if "sink_write" in hooks:
        sink.custom_write = hooks["sink_write"]
    output = None if sink.mode == "offsets" else "out"
    app = _pipeline(s, sink=sink, output_topic=output)
    app.run()
    return Outcome(["out"] if output else [], expected_ids=vals,
                   extra={"rows": len(sink.rows), "duplicate_rows": sink.duplicate_rows})


@scenario("leader-failover",
          "The partition leader dies while followers lag: acks=1 loses acknowledged "
          "writes; acks=all with min.insync.replicas=2 does not",
          config={"acks": "all", "enable.idempotence": False, "min.insync.replicas": 2,
                  "request.timeout.ms": 1000, "socket.timeout.ms": 1000},
          cluster={"brokers": 3, "replica.fetch.wait.ms": 20})
def _leader_failover(s: Setup) -> Outcome:
    sim = s.sim
    c = s.course
    sim.create_topic("out", 1, replication_factor=int(c["replication.factor"] or 3),
                     min_insync_replicas=int(c["min.insync.replicas"] or 1),
                     unclean_leader_election_enable=bool(c["unclean.leader.election.enable"]))
    p = _producer(s, **{"linger.ms": s.producer.get("linger.ms", 0)})
    vals = values(s.messages)
    half = len(vals) // 2
    # lagging.followers=N: N followers have fallen out of the ISR before the first write
    # (Kafka: replica.lag.time.max.ms; here they are down), so the ISR is smaller than the
    # replication factor and min.insync.replicas decides: acks=all is acknowledged by the
    # ISR that is left, or refused NOT_ENOUGH_REPLICAS (Partition.appendRecordsToLeader).
    # They come back just as the leader dies, with none of the new writes: only an unclean
    # election can pick one, and it truncates what the lone leader acknowledged.
    lagging = [b for b in range(1, sim.cluster.config["brokers"])][:int(c["lagging.followers"]
                                                                        or 0)]
    for b in lagging:
        sim.crash_broker(b)

    def leader_dies() -> None:
        for b in lagging:
            sim.restart_broker(b)
        sim.crash_broker(0)

    sim.kernel.schedule(half * 5, leader_dies)  # the leader dies half-way
    _write(s, p, "out", vals, 5)
    sim.restart_broker(0)
    sim.settle(1000)
    stored = {v for _, _, v in sim.read_all("out", process="storage-check")}
    return Outcome(["out"], extra={"stored": len(stored),
                                   "missing": sum(1 for v in vals if v not in stored)})


@scenario("rebalance",
          "One of two group members stalls past max.poll.interval.ms; its partitions move "
          "to the other and its late commit fails. At-least-once replays them; with "
          "transactions the stale generation fences its offsets (KIP-447)",
          config={"transactions": False, "batch": 5, "max.poll.interval.ms": 5000,
                  # librdkafka: max.poll.interval.ms >= session.timeout.ms
                  "session.timeout.ms": 5000},
          messages=40)
def _rebalance(s: Setup) -> Outcome:
    sim = s.sim
    _fill_input(s, partitions=2)
    sim.create_topic("out", 1)
    eos = s.course["delivery"] == "exactly-once"
    a = _pipeline(s, name="app-a", transactional_id="app-a-txn")
    b = _pipeline(s, name="app-b", transactional_id="app-b-txn")
    a.start()
    b.start()
    for _ in range(2):
        a.run_once()
        b.run_once()
    # app-a polls a batch and starts processing it... slowly
    ca, pa = a.consumer, a.producer
    assert ca is not None and pa is not None
    msgs = ca.consume(a.batch, timeout=1.0)
    if eos:
        pa.begin_transaction()
    for m in msgs:
        pa.produce("out", value=a.step(m), key=m.key())
    stall_until = sim.now + 1.5 * ca.config["max.poll.interval.ms"]
    sim.kernel.emit("app-a", "crash", "app-a processes slowly (no poll)", flag="error")
    while sim.now < stall_until:  # app-b keeps polling; the group moves on without app-a
        if not b.run_once():
            sim.sleep(100)
    try:  # app-a finishes its batch and commits, as if nothing happened
        if eos:
            pa.send_offsets_to_transaction(ca.position(ca.assignment()),
                                           ca.consumer_group_metadata())
            pa.commit_transaction()
        else:
            pa.flush()
            ca.commit(asynchronous=False)
    except KafkaException as e:
        sim.history.record(sim.now, "app-a", "note", "ok", text=f"commit failed: {e}")
        if eos and e.error.txn_requires_abort():
            pa.abort_transaction()
    a.close()
    b.run(max_ms=120_000)
    return Outcome(["out"], extra={"rebalances":
                                   sim.cluster.group_coordinator.group("app").rebalances})


@scenario("coordinator-failover",
          "The transaction coordinator dies right after writing PrepareCommit: its "
          "successor reads __transaction_state and completes the commit",
          config={"isolation.level": "read_committed"}, messages=20)
def _coordinator_failover(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 2)
    p = sim.Producer({**s.producer, "transactional.id": "writer"})
    p.init_transactions()
    p.begin_transaction()
    for i, v in enumerate(values(s.messages)):
        p.produce("out", value=v, partition=i % 2)
    p.flush()
    tc = sim.cluster.txn_coordinator

    def crash_after_prepare(meta: Any, commit: bool) -> None:
        # PrepareCommit is in __transaction_state; the coordinator dies before any marker
        sim.crash_txn_coordinator(downtime_ms=500)

    tc._write_markers = crash_after_prepare  # type: ignore[method-assign]
    p.commit_transaction()
    sim.settle(2000)
    return Outcome(["out"])


@scenario("pipeline",
          "The playground: a consume-transform-produce pipeline with every toggle "
          "(delivery, transactions, idempotence, isolation, sink, faults)",
          config={"transactions": False, "batch": 10},
          faults={"response_loss": 0.05, "crash_step": None})
def _playground(s: Setup) -> Outcome:
    vals = _fill_input(s)
    s.sim.create_topic("out", 1)
    sink = Sink(s.sim, s.course["sink"]) if s.course["sink"] else None
    app = _pipeline(s, sink=sink)
    app.run()
    return Outcome(["out"], expected_ids=vals if sink else None,
                   extra={"crashes": app.crashes, "aborts": app.aborts})


# -- explorer scenario (issue 9, eoslib/explore): a reader downstream of the EOS pipeline --
@scenario("downstream-reader",
          "An exactly-once pipeline (read_committed input, transactional output) and a "
          "downstream consumer of its output with isolation.level (default "
          "read_uncommitted): it returns the records of aborted transactions, read_committed "
          "does not",
          config={"transactions": True, "isolation.level": "read_uncommitted", "batch": 10},
          faults={"crash_step": None})
def _downstream_reader(s: Setup) -> Outcome:
    sim = s.sim
    _fill_input(s)
    sim.create_topic("out", 1)
    reader = sim.Consumer({"group.id": "downstream", "auto.offset.reset": "earliest",
                           "enable.auto.commit": False, "client.id": "downstream",
                           "isolation.level": s.consumer.get("isolation.level",
                                                             "read_uncommitted")})
    sim.set_process(reader, "downstream")
    reader.subscribe(["out"])
    hooks = s.course["_hooks"]
    inner = hooks.get("step", default_step)

    def step(m: Any) -> Any:  # the downstream polls while the pipeline works
        reader.consume(100, timeout=0.005)
        return inner(m)

    app_setup = Setup(sim, s.messages, s.producer,
                      {**s.consumer, "isolation.level": "read_committed"},
                      {**s.course, "_hooks": {k: v for k, v in hooks.items() if k != "step"}})
    app = _pipeline(app_setup, step=step)
    app.run()
    for _ in range(3):
        reader.consume(100, timeout=0.1)
    return Outcome(["out"], extra={"crashes": app.crashes, "aborts": app.aborts})
# -- end of the explorer scenario


@scenario("delayed-end-txn",
          "A copy of transaction n's EndTxn(commit) is delayed in the network and arrives "
          "during transaction n+1, which the app then aborts. transaction.version=1 lets "
          "it commit n+1 (KAFKA-17754); version 2 (KIP-890) bumps the epoch and rejects it",
          config={"transaction.version": "1", "isolation.level": "read_committed"},
          messages=10)
def _delayed_end_txn(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = sim.Producer({**s.producer, "transactional.id": "writer", "linger.ms": 0})
    p.init_transactions()
    vals = values(s.messages)
    half = len(vals) // 2
    p.begin_transaction()
    for v in vals[:half]:
        p.produce("out", value=v)
    pid, epoch = p.pid, p.epoch
    p.commit_transaction()
    stale: dict[str, Any] = {}

    def delayed_copy() -> None:  # the network delivers an old duplicate of EndTxn(commit)
        sim.kernel.emit("txn-coordinator", "lost", f"delayed EndTxn(commit) pid={pid} "
                        f"epoch={epoch} arrives", flag="error")
        sim.cluster.txn_coordinator.handle_end_txn("writer", pid, epoch, True, stale.update)

    sim.kernel.schedule(50, delayed_copy)
    p.begin_transaction()
    for v in vals[half:]:
        p.produce("out", value=f"{v}-draft")
    p.flush()
    sim.sleep(100)  # the stale EndTxn lands meanwhile
    try:
        p.abort_transaction()  # the app changes its mind: this transaction must vanish
    except KafkaException:
        pass
    committed = [v for _, _, v in sim.read_all("out", "read_committed", process="checker")]
    torn = sum(1 for v in committed if str(v).endswith("-draft"))
    return Outcome(["out"], extra={"torn_txn_records": torn,
                                   "stale_end_txn_error": stale.get("error")})
