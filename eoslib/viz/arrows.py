"""The arrows of a Lamport view: one per message of a run's trace, between two actors.

:func:`arrows` turns every request and response (``request`` / ``response`` trace events,
see :mod:`eoslib.network`), lost ones included, every WriteTxnMarkers and every fetch that
returned records into an :class:`Arrow`; :func:`actor` names the line an event belongs to
(an application's consumer and producer are one actor) and :func:`actor_order` orders the
actors as a whiteboard has them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoslib.result import TraceEvent

#: Arrow kinds: network messages, and the two internal ones drawn thinner.
ARROW_KINDS = ("request", "response", "marker", "fetch")


@dataclass
class Arrow:
    """One message drawn as an arrow."""

    step: int  # the trace event where it arrived (or was lost)
    kind: str  # one of ARROW_KINDS
    src: str
    dst: str
    t0: float
    t1: float
    label: str
    lost: bool = False
    retry: bool = False
    held: bool = False
    sent_step: int = -1  # the trace event just before it was sent


def _values(vals: list[str]) -> str:
    return ",".join(vals) if len(vals) <= 4 else f"{vals[0]}..{vals[-1]}"


def actor(lane: str) -> str:
    """The actor a trace lane belongs to: an application's consumer and producer are drawn
    as one line (``app-1-consumer`` -> ``app-1``); every other lane is its own actor."""
    m = re.match(r"^(app-[^-]+)(?:-consumer|-producer)?$", lane)
    return m.group(1) if m else lane


_FAMILIES = (r"^producer", r"^partition in-", r"^app-", r"^partition (?!__)", r"^broker",
             r"^txn-coordinator", r"^group-coordinator", r"^partition __", r"^consumer",
             r"^sink")


def actor_order(actors: Sequence[str]) -> list[str]:
    """Actors left to right as a whiteboard has them: producers, input partitions,
    applications, output partitions, brokers, coordinators, ``__consumer_offsets``,
    consumers, the sink."""
    def key(a: str) -> tuple[int, list[Any]]:
        rank = next((k for k, f in enumerate(_FAMILIES) if re.match(f, a)), len(_FAMILIES))
        return rank, [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", a)]
    return sorted(set(actors), key=key)


def arrows(trace: list[TraceEvent], upto: int | None = None) -> list[Arrow]:
    """Every arrow of a trace, in trace order (one per request, response, lost message,
    transaction marker and records-returning fetch); with ``upto``, those of the events up
    to that step only (each the same as in the whole trace's list: fates are read from the
    whole trace)."""
    fates = _fates(trace)
    sends: dict[str, dict[str, Any]] = {}  # batch ref -> its latest send/retry event
    last_state: dict[str, tuple[float, int]] = {}
    times: list[float] = []
    out: list[Arrow] = []
    for ev in trace if upto is None else trace[:upto + 1]:
        d = ev.get("data") or {}
        kind = ev["kind"]
        times.append(ev["t"])
        if kind in ("send", "retry") and ev.get("ref"):
            sends[ev["ref"]] = ev
        if kind == "state" and d:
            last_state[str(d.get("pid"))] = (ev["t"], ev["i"])
        if "msg" in d:
            label = d["api"]
            send = sends.get(ev.get("ref") or "")
            retry = bool(send and send["kind"] == "retry")
            held = False
            if d["msg"] == "request":
                sd = send.get("data") if send else None
                if d["api"] == "Produce" and sd and sd["seq"] >= 0:
                    label = f"Produce pid={sd['pid']} seq={sd['seq']} [{_values(sd['values'])}]"
                elif d["api"] == "Produce" and sd:
                    label = f"Produce [{_values(sd['values'])}] (no pid)"
                elif d.get("text") and d["text"] != d["api"]:
                    label = d["text"] if d["text"].startswith(d["api"]) else \
                        f"{d['api']} {d['text']}"
                if retry:
                    label = "retry: " + label
            else:
                label = f"{d['api']}: {d.get('reply', 'ok')}"
                held = fates.get(ev["i"]) == "held"
                if held:
                    label += " (held)"
            t1 = d.get("at", ev["t"]) if d.get("lost") else ev["t"]
            out.append(Arrow(ev["i"], d["msg"], actor(d["from"]), actor(d["to"]), d["sent"],
                             t1, label, lost=bool(d.get("lost")), retry=retry, held=held,
                             sent_step=_sent_step(trace, ev["i"], d["sent"])))
        elif kind == "marker" and d:
            t0, s0 = last_state.get(str(d["pid"]), (ev["t"], ev["i"] - 1))
            out.append(Arrow(ev["i"], "marker", "txn-coordinator", actor(ev["lane"]),
                             min(t0, ev["t"]), ev["t"], f"WriteTxnMarkers {d['kind']}",
                             sent_step=s0))
        elif kind == "poll" and d and d.get("records"):
            tp = d["records"][0][0]
            vals = [r[2] for r in d["records"]]
            out.append(Arrow(ev["i"], "fetch", f"partition {tp}", actor(ev["lane"]), ev["t"],
                             ev["t"], f"Fetch -> {_values(vals)}", sent_step=ev["i"] - 1))
    return out


def arrow_actors(trace: list[TraceEvent]) -> set[str]:
    """The actors at either end of any arrow of ``trace`` (what :func:`arrows` would
    give, without building the arrows)."""
    out: set[str] = set()
    for ev in trace:
        d = ev.get("data")
        if not d:
            continue
        if "msg" in d:
            out.add(actor(d["from"]))
            out.add(actor(d["to"]))
        elif ev["kind"] == "marker":
            out.add("txn-coordinator")
            out.add(actor(ev["lane"]))
        elif ev["kind"] == "poll" and d.get("records"):
            out.add(f"partition {d['records'][0][0]}")
            out.add(actor(ev["lane"]))
    return out


def _fates(trace: list[TraceEvent]) -> dict[int, str]:
    """Step of each answer that was held -> ``"held"`` (in one pass, backwards): the next
    event of its batch is a timeout (:func:`eoslib.protocol_readers.answer_fate`)."""
    nxt: dict[str, str] = {}  # batch ref -> the kind of its next event (seen from the end)
    out: dict[int, str] = {}
    for ev in reversed(trace):
        ref = ev.get("ref")
        if not ref:
            continue
        d = ev.get("data") or {}
        if ev["kind"] == "response" and not d.get("lost") and not d.get("ignored") \
                and nxt.get(ref) == "timeout":
            out[ev["i"]] = "held"
        if ev["kind"] not in ("request", "append", "dedup"):
            nxt[ref] = ev["kind"]
    return out


def _sent_step(trace: list[TraceEvent], step: int, sent: float) -> int:
    """The last trace event before ``step`` that happened at or before time ``sent``."""
    k = step - 1
    while k >= 0 and trace[k]["t"] > sent:
        k -= 1
    return k
