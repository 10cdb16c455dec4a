"""Fault plans: what goes wrong in a run, placed at a chosen point or drawn by chance.

Every chance draw uses a generator derived from the run's seeded generator, one draw per
request of the affected kind, so the same seed loses the same requests whatever the
client settings are: flipping ``enable.idempotence`` changes the outcome, not the faults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from eoslib.errors import ConfigException, did_you_mean

CRASH_STEPS = ("after_poll", "after_process", "after_produce", "before_commit", "after_commit")
APIS = ("produce", "end_txn", "txn_offset_commit", "offset_commit", "fetch")
#: The requests a placed ``drop`` can hit (every API that goes over the network).
DROP_APIS = ("produce", "init_pid", "add_partitions", "add_offsets", "txn_offset_commit",
             "end_txn", "offset_commit")
#: Where a placed ``kill`` can hit: the transaction coordinator right after its N-th write
#: to ``__transaction_state`` (one per state transition), the partition leader right after
#: the N-th Produce append, the group coordinator right after its N-th write to
#: ``__consumer_offsets``, a follower right after the N-th append of a replicated partition
#: (it dies, or it lags: out of the ISR for replica.lag.time.max.ms).
KILL_POINTS = ("txn_coordinator", "leader", "group_coordinator", "follower", "follower_lag")


@dataclass
class FaultPlan:
    """The faults of one run. Probabilities are per request; counts place faults exactly.

    * ``request_loss``: chance a request of ``apis`` never reaches the broker.
    * ``response_loss``: chance the broker handles the request but the response is lost,
      so the client times out after ``request.timeout.ms`` and retries.
    * ``lost_acks``: the first N responses of ``apis`` are lost (a placed fault).
    * ``lose_responses``: 1-based numbers of the requests of ``apis`` whose response is lost.
    * ``slow_broker_ms`` / ``slow_prob``: a response is delayed by that much with that chance.
    * ``error_prob``: chance a produce is refused with a retriable error
      (NOT_ENOUGH_REPLICAS) without being appended - how retries reorder records.
    * ``crash_step``: the step of the consume-process-produce loop where the app dies, one of
      ``after_poll``, ``after_process``, ``after_produce``, ``before_commit``,
      ``after_commit``; ``crash_at`` is the input message whose processing crashes (default:
      the middle one); ``crash_prob`` instead crashes at that step with a chance per batch;
      ``max_crashes`` caps the crashes; ``restart`` restarts the app from its last
      committed offset.
    * ``apis``: which requests the loss faults hit (default: produce).
    * ``drop``: placed losses of any API, each ``API.request.N`` or ``API.response.N``
      (the N-th request of that API, 1-based, is lost on its way to the broker, or its
      answer on the way back), e.g. ``("produce.response.2", "end_txn.response.1")``; APIs:
      :data:`DROP_APIS`. This is how :mod:`eoslib.explore` places faults.
    * ``kill``: placed process deaths, each ``txn_coordinator.N`` (the transaction
      coordinator dies right after its N-th ``__transaction_state`` write, before it
      answers; a successor loads the log 100 ms later and finishes what was decided) or
      ``leader.N`` (the leader broker of the partition dies right after the N-th Produce
      append, before it answers, and comes back 200 ms later with its log), or
      ``group_coordinator.N`` (the group coordinator dies right after its N-th write to
      ``__consumer_offsets``, before it answers; the offsets survive), ``follower.N`` (a
      follower of the partition dies right after the N-th append, back 200 ms later) or
      ``follower_lag.N`` (that follower lags instead: out of the ISR for
      replica.lag.time.max.ms, then it catches up).
    * ``crash_points``: several placed application crashes, each ``STEP:N`` (crash at
      ``STEP`` in the iteration whose batch holds input message N), each firing once, in
      any incarnation; when given, ``crash_step``/``crash_at`` are not used.
    """

    request_loss: float = 0.0
    response_loss: float = 0.0
    lost_acks: int = 0
    lose_responses: tuple[int, ...] = ()
    slow_broker_ms: float = 0.0
    slow_prob: float = 0.0
    error_prob: float = 0.0
    crash_step: str | None = None
    crash_at: int | None = None
    crash_prob: float = 0.0
    max_crashes: int = 1
    restart: bool = True
    apis: tuple[str, ...] = ("produce",)
    drop: tuple[str, ...] = ()
    kill: tuple[str, ...] = ()
    crash_points: tuple[str, ...] = ()
    #: the fields given explicitly (by :meth:`from_dict`); e.g. ``crash_prob=0.0`` given
    #: means "crash by chance, never", not "crash at the default message"
    explicit: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("request_loss", "response_loss", "slow_prob", "crash_prob", "error_prob"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise ConfigException(name, v, "Expected a probability between 0 and 1")
        for name in ("lost_acks", "max_crashes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigException(name, v, "Expected a whole number >= 0")
        if self.crash_at is not None and (not isinstance(self.crash_at, int) or self.crash_at < 0):
            raise ConfigException("crash_at", self.crash_at, "Expected a message index >= 0")
        if self.slow_broker_ms < 0:
            raise ConfigException("slow_broker_ms", self.slow_broker_ms, "Expected >= 0")
        if self.crash_step in ("none", ""):
            self.crash_step = None
        if self.crash_step is not None and self.crash_step not in CRASH_STEPS:
            raise ConfigException(
                "crash_step", self.crash_step,
                f"Expected one of none, {', '.join(CRASH_STEPS)}"
                + did_you_mean(str(self.crash_step), CRASH_STEPS),
            )
        self.apis = tuple(self.apis)
        for a in self.apis:
            if a not in APIS:
                raise ConfigException("apis", a, f"Expected any of {', '.join(APIS)}"
                                      + did_you_mean(a, APIS))
        self.lose_responses = tuple(int(n) for n in self.lose_responses)
        self.drop = tuple(self.drop)
        for item in self.drop:
            api, _, rest = str(item).partition(".")
            what, _, n = rest.partition(".")
            if api not in DROP_APIS or what not in ("request", "response") \
                    or not n.isdigit() or int(n) < 1:
                raise ConfigException("drop", item, "Expected API.request.N or "
                                      f"API.response.N with N >= 1 and API one of "
                                      f"{', '.join(DROP_APIS)}" + did_you_mean(api, DROP_APIS))
        self.kill = tuple(self.kill)
        for item in self.kill:
            where, _, n = str(item).partition(".")
            if where not in KILL_POINTS or not n.isdigit() or int(n) < 1:
                raise ConfigException("kill", item, "Expected POINT.N with N >= 1 and POINT "
                                      f"one of {', '.join(KILL_POINTS)}"
                                      + did_you_mean(where, KILL_POINTS))
        self.crash_points = tuple(self.crash_points)
        for item in self.crash_points:
            step, _, n = str(item).partition(":")
            if step not in CRASH_STEPS or not n.isdigit():
                raise ConfigException("crash_points", item, "Expected STEP:N with N >= 0 and "
                                      f"STEP one of {', '.join(CRASH_STEPS)}"
                                      + did_you_mean(step, CRASH_STEPS))
        if not self.explicit:  # built directly: what differs from the defaults was given
            self.explicit = frozenset(
                f.name for f in fields(self)
                if f.name != "explicit" and getattr(self, f.name) != f.default)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | FaultPlan | None) -> FaultPlan:
        """Build a plan from a dict of the fields above (unknown keys are an error)."""
        if isinstance(d, FaultPlan):
            return d
        names = _FIELD_SET if cls is FaultPlan else {f.name for f in fields(cls)} - {"explicit"}
        for k, v in (d or {}).items():
            if k not in names:
                raise ConfigException(k, v, "Unknown fault" + did_you_mean(k, names)
                                      + f"; known faults: {', '.join(sorted(names))}")
        given = dict(d or {})
        return cls(**given, explicit=frozenset(given))

    def to_json(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict."""
        # field by field (dataclasses.asdict deep-copies: it was 9% of an explored run)
        out = {name: getattr(self, name) for name in _FIELDS}
        out["apis"] = list(self.apis)
        out["lose_responses"] = list(self.lose_responses)
        out["drop"] = list(self.drop)
        for name in ("kill", "crash_points"):  # only when placed: others print as before
            if getattr(self, name):
                out[name] = list(getattr(self, name))
            else:
                del out[name]
        return out


#: the plan's fields in order, for :meth:`FaultPlan.to_json`
_FIELDS = tuple(f.name for f in fields(FaultPlan) if f.name != "explicit")
_FIELD_SET = frozenset(_FIELDS)


class FaultInjector:
    """Decides, request by request, what the plan does to it."""

    def __init__(self, plan: FaultPlan, rng: random.Random) -> None:
        self.plan = plan
        self.rng = rng
        self.counts: dict[str, int] = {}
        self.injected: dict[str, int] = {"request_lost": 0, "response_lost": 0, "slowed": 0,
                                         "refused": 0}

    def refuse(self) -> bool:
        """Whether the produce request being handled is refused (``error_prob``)."""
        if not self.plan.error_prob:
            return False
        hit = self.rng.random() < self.plan.error_prob
        self.injected["refused"] += hit
        return hit

    def at(self, where: str) -> bool:
        """Count one occurrence of the fault point ``where`` (:data:`KILL_POINTS`); whether
        the plan's ``kill`` places a death at it."""
        n = self.counts[where] = self.counts.get(where, 0) + 1
        return bool(self.plan.kill) and f"{where}.{n}" in self.plan.kill

    def decide(self, api: str) -> tuple[bool, bool, float]:
        """For the next request of ``api``: (lose request?, lose response?, extra delay)."""
        n = self.counts[api] = self.counts.get(api, 0) + 1
        p = self.plan
        if p.drop:
            if f"{api}.request.{n}" in p.drop:
                self.injected["request_lost"] += 1
                return True, False, 0.0
            if f"{api}.response.{n}" in p.drop:
                self.injected["response_lost"] += 1
                return False, True, 0.0
        if api not in p.apis:
            return False, False, 0.0
        # three draws per request, always, so decisions do not shift with the settings
        r1, r2, r3 = self.rng.random(), self.rng.random(), self.rng.random()
        lose_req = r1 < p.request_loss
        lose_resp = (not lose_req) and (
            r2 < p.response_loss or n <= p.lost_acks or n in p.lose_responses
        )
        delay = p.slow_broker_ms if (p.slow_prob and r3 < p.slow_prob) else 0.0
        if lose_req:
            self.injected["request_lost"] += 1
        if lose_resp:
            self.injected["response_lost"] += 1
        if delay:
            self.injected["slowed"] += 1
        return lose_req, lose_resp, delay
