"""One sentence per trace step, from the same folded state the pictures draw.

:func:`explain` reads the step's trace event and the protocol state after it
(:func:`eoslib.protocol_state.state_at`) and returns a :class:`Said`: the sentence, and the
facts it states (offsets, HW/LSO, producer id and epoch, whether an answer reached the
producer, positions, committed offsets). Every fact comes from the state or from what the
trace holds about the event (:func:`eoslib.protocol_readers.answer_fate`), so a caption never
says "no answer" while an answer arrived; ``tests/test_views.py`` checks every fact of every
step of every scenario against the state. :func:`caption` is the sentence alone: the one
every view (the step player, the HTML player, :func:`eoslib.viz.stepper.show_moment`)
prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eoslib.protocol_readers import answer_fate, reader_view, readers
from eoslib.protocol_state import ProtocolState, fold
from eoslib.result import client_line

if TYPE_CHECKING:
    from eoslib.result import Result, TraceEvent


@dataclass
class Said:
    """A caption and the facts it states (name -> value, each also written in the text)."""

    text: str
    facts: dict[str, Any] = field(default_factory=dict)


def _vals(vals: list[str]) -> str:
    return vals[0] if len(vals) == 1 else f"{vals[0]}..{vals[-1]}" if len(vals) > 3 else \
        ", ".join(vals)


def _produce(ev: TraceEvent, d: dict[str, Any], st: ProtocolState) -> Said:
    kind, tp = ev["kind"], d["tp"]
    p = st.partition(tp)
    where = f"partition {tp}"
    vals = _vals(d["values"])
    facts: dict[str, Any] = {"tp": tp, "hw": p.hw, "lso": p.lso}
    if kind == "dedup":
        facts = {"tp": tp, "pid": d["pid"], "seq": d["seq"], "offset": d["base"]}
        return Said(f"{where}: the broker already has seq {d['seq']} from producer {d['pid']} "
                    f"among its last 5 batches, so it answers with the original offset "
                    f"{d['base']} and appends nothing - no duplicate.", facts)
    n = len(d["values"])
    facts["offsets"] = list(range(d["base"], d["base"] + n))
    facts["values"] = list(d["values"])
    offs = f"offset {d['base']}" if n == 1 else f"offsets {d['base']}..{d['base'] + n - 1}"
    if ev.get("flag") == "duplicate":
        copies = p.duplicates()
        first = [offs_[0] for v, offs_ in copies.items() if v in d["values"]]
        was = f" (first copy at offset {first[0]})" if first else ""
        return Said(f"{where} appends {vals} again at {offs}{was}: the broker could not tell "
                    "this retry from new data, so the log now holds a duplicate.", facts)
    if d.get("pid", -1) < 0 and ev["label"].startswith("upstream"):
        return Said(f"{where}: the input is written before the run ({n} records, {offs}).",
                    facts)
    seq = ""
    if d.get("seq", -1) >= 0:
        facts.update(pid=d["pid"], epoch=d["epoch"])
        seq = f" (producer {d['pid']}, epoch {d['epoch']}, seq {d['seq']})"
    else:
        seq = " (no producer id: idempotence is off)"
    txn = (" inside an open transaction: read_committed readers stop at its first record "
           f"until its marker (LSO={p.lso})") if d.get("txn") else ""
    return Said(f"{where} appends {vals} at {offs}{seq}{txn}; HW={p.hw}, LSO={p.lso}.", facts)


def _message(ev: TraceEvent, d: dict[str, Any], result: Result) -> Said:
    api = d["api"]
    if d["msg"] == "request":
        if d.get("lost"):
            return Said(f"The {api} request from {d['from']} is lost on the way: {d['to']} "
                        "never sees it, and the sender will time out and retry.",
                        {"answer": "lost"})
        return Said(f"{d['to']} receives {api} from {d['from']}.")
    reply = d.get("reply", "ok")
    fate = answer_fate(result.trace, ev["i"])
    facts = {"answer": fate}
    if fate == "lost":
        return Said(f"The answer to {api} ({reply}) is lost on the way back: {d['from']} did "
                    f"the work, but {d['to']} does not know it and will retry after "
                    f"{timeout_name(result)}.", facts)
    if fate == "ignored":
        return Said(f"{d['to']} gets the {api} answer ({reply}) too late: it is ignored.",
                    facts)
    if fate == "held":
        return Said(f"The {api} answer ({reply}) reaches {d['to']}'s connection but is held: "
                    "the connection hands answers out in order, and an earlier answer on it "
                    "was lost, so the producer cannot use this one until that request times "
                    "out.", facts)
    return Said(f"{d['to']} gets the {api} answer: {reply}.", facts)


def _marker(d: dict[str, Any], st: ProtocolState) -> Said:
    tp = d["tp"]
    p = st.partition(tp)
    facts = {"tp": tp, "offset": d["offset"], "hw": p.hw, "lso": p.lso, "pid": d["pid"],
             "epoch": d["epoch"]}
    if tp.startswith("__consumer_offsets"):
        facts = {k: facts[k] for k in ("tp", "offset", "pid", "epoch")}
        if d["kind"] == "COMMIT":
            return Said(f"COMMIT marker at offset {d['offset']} of {tp} (producer {d['pid']}, "
                       f"epoch {d['epoch']}): the input offsets sent with the transaction take "
                       "effect now, together with its output records.", facts)
        return Said(f"ABORT marker at offset {d['offset']} of {tp} (producer {d['pid']}, "
                   f"epoch {d['epoch']}): the offsets sent with the transaction are "
                   "discarded, so the committed input offset does not move.", facts)
    if d["kind"] == "COMMIT":
        return Said(f"COMMIT marker at offset {d['offset']} of partition {tp} (producer "
                   f"{d['pid']}, epoch {d['epoch']}): its records become visible to "
                   f"read_committed readers; HW={p.hw}, LSO={p.lso}.", facts)
    return Said(f"ABORT marker at offset {d['offset']} of partition {tp} (producer {d['pid']}, "
               f"epoch {d['epoch']}): its records stay in the log, but read_committed readers "
               f"skip them; HW={p.hw}, LSO={p.lso}.", facts)



def _poll(lane: str, d: dict[str, Any], st: ProtocolState) -> Said:
    recs = d["records"]
    tp = recs[0][0]
    pos = st.positions.get(lane, {}).get(tp)
    group = d.get("group") or ""
    committed = st.committed_offset(tp).get(group)
    facts: dict[str, Any] = {"position": pos, "consumer": lane, "tp": tp}
    c = "; nothing is committed yet"
    if committed is not None:
        facts["committed"] = committed
        c = f"; the group's committed offset is {committed}"
    iso = d.get("isolation") or st.isolation.get(lane)
    how = ""
    if iso:
        facts["isolation"] = iso
        v = reader_view(st, lane, tp)
        skipped = sum(f == "skipped" for f in v.fates.values())
        how = f" ({iso}" + (f", {skipped} aborted record(s) skipped so far" if skipped
                            else "") + ")"
    return Said(f"{lane}{how} hands {len(recs)} record(s) to the application "
                f"({_vals([r[2] for r in recs])}, offsets {recs[0][1]}..{recs[-1][1]} of "
                f"{tp}); its position is now {pos}{c}.", facts)


def _other(ev: TraceEvent, d: dict[str, Any] | None, st: ProtocolState,
           result: Result) -> Said:
    kind, lane, label = ev["kind"], ev["lane"], ev["label"]
    if kind == "poll" and d and d.get("records"):
        return _poll(lane, d, st)
    if kind == "seek" and d:
        (tp, off), = d["positions"].items()
        return Said(f"The application moves {lane}'s position on {tp} back to {off}.",
                    {"position": off, "consumer": lane, "tp": tp})
    if kind == "commit" and d:
        offs = ", ".join(f"{t}={o}" for t, o in d["offsets"].items())
        if d.get("txn"):
            return Said(f"Offsets {offs} are written to {d['tp']} as part of producer "
                        f"{d['pid']}'s transaction: they count only if it commits.",
                        {"pid": d["pid"]})
        return Said(f"Group {d['group']} commits {offs} (written to {d['tp']}): a consumer "
                    "that takes over starts reading there.",
                    {"group": d["group"], "committed_offsets": dict(d["offsets"])})
    if kind in ("state", "fence") and d:
        t = st.txns.get(d["txn_id"])
        facts = {"txn_id": d["txn_id"], "txn_state": t.state if t else d["to"],
                 "epoch": t.epoch if t else d["epoch"]}
        if kind == "fence":
            return Said(f"Transaction coordinator: {d['txn_id']}'s epoch is now {d['epoch']} "
                        "- requests with an older epoch are rejected from now on.", facts)
        why = {"Ongoing": "the transaction has begun",
               "PrepareCommit": "the decision to commit is now durable in "
                                "__transaction_state; markers go out next",
               "PrepareAbort": "the transaction will be aborted; ABORT markers go out next",
               "CompleteCommit": "every marker is written: the transaction is committed",
               "CompleteAbort": "every marker is written: the transaction is aborted",
               "PrepareEpochFence": "the coordinator fences the old producer"}
        return Said(f"Transaction coordinator: {d['txn_id']} goes {d['from']} -> {d['to']} "
                    f"(epoch {d['epoch']})"
                    + (f": {why[d['to']]}." if d["to"] in why else "."), facts)
    if kind == "crash":
        return Said(f"{lane} crashes ({label}): whatever it did not commit will be done again "
                    "by the next instance, or rolled back.")
    if kind == "restart":
        return Said(f"{lane} starts again and resumes from the committed offsets.")
    if kind == "write" and d:
        if not d["applied"]:
            return Said(f"The sink already has a row with id {d['id']}: the upsert changes "
                        "nothing.")
        if ev.get("flag") == "duplicate":
            return Said(f"The sink inserts {d['id']} a second time: the external table now has "
                        "a duplicate row, whatever Kafka did.")
        return Said(f"The application writes row {d['id']} to the sink.")
    if kind == "ack" and "duplicate" in label:
        return Said(f"{lane} learns its retried batch is at the ORIGINAL offset: the "
                    "application sees one success, and the log holds one copy.",
                    {"answer": "handed"})
    if kind == "ack" and label.startswith("offset"):
        return Said(f"{lane} learns its batch is stored: {label}.", {"answer": "handed"})
    if kind == "timeout":
        return _timeout(ev, st, result)
    if kind == "retry":
        seq = (f" with the same seq {d['seq']}: the broker can recognise it" if d and
               d.get("seq", -1) >= 0 else ": without a sequence number the broker cannot "
               "tell it from new data")
        return Said(f"{lane} sends {_vals(d['values']) if d else label} again{seq}.")
    if kind == "send" and d:
        seq = f" with seq {d['seq']}" if d.get("seq", -1) >= 0 else ""
        return Said(f"{lane} sends {_vals(d['values'])} to {d['tp']}{seq}.")
    if kind == "replicate" and d:
        p = st.partition(d["tp"])
        return Said(f"partition {d['tp']}: the followers caught up; HW={p.hw}.",
                    {"tp": d["tp"], "hw": p.hw})
    return Said(f"{lane}: {label}.")


def timeout_name(result: Result) -> str:
    """The setting that bounds a request's wait for its answer, in the run's client:
    ``socket.timeout.ms`` in librdkafka, ``request.timeout.ms`` in the Java client."""
    return "socket.timeout.ms" if (result.config or {}).get("client") == "librdkafka" \
        else "request.timeout.ms"


def _timeout(ev: TraceEvent, st: ProtocolState, result: Result) -> Said:
    """A request timed out: say whether its answer had arrived (and was held) or not."""
    lane = ev["lane"]
    knob = timeout_name(result)
    ps = st.producers.get(lane)
    ms = ""
    if "ms" in ev["label"]:
        ms = " (" + ev["label"].split("no answer in ")[-1].split(":")[0] + ")"
    held = ev["i"] in st.held_timeouts
    facts: dict[str, Any] = {"answer": "held" if held else "none"}
    if held:
        return Said(f"{lane}: {knob}{ms} runs out for a batch whose answer did "
                    "arrive but was held behind an earlier lost answer on the same "
                    "connection: the client drops the connection and retries every batch "
                    "still waiting on it.", facts)
    waiting = len(ps.inflight) if ps else 0
    facts["waiting"] = waiting
    return Said(f"{lane}: no answer within {knob}{ms} - the broker may or may "
                "not have appended; the client drops the connection and retries this batch"
                + (f" ({waiting} other batch(es) still wait for an answer)." if waiting
                   else "."), facts)


def explain(result: Result, step: int, state: ProtocolState | None = None) -> Said:
    """The caption of trace event ``step`` of ``result`` and the facts it states.

    ``state`` (the protocol state after ``step``) is computed if not given."""
    trace = result.trace
    if not 0 <= step < len(trace):
        raise ValueError(f"Invalid value {step!r} for step: expected 0..{len(trace) - 1}")
    ev = trace[step]
    st = state if state is not None else fold(trace, step)
    d = ev.get("data")
    if d and "msg" in d:
        return _message(ev, d, result)
    if d and ev["kind"] in ("append", "dedup") and "values" in d:
        return _produce(ev, d, st)
    if d and ev["kind"] == "marker":
        return _marker(d, st)
    return _other(ev, d, st, result)


def caption(result: Result, step: int, state: ProtocolState | None = None) -> str:
    """One sentence saying what trace event ``step`` of ``result`` did and why it matters."""
    return explain(result, step, state).text


def step_title(result: Result, step: int) -> str:
    """``"step 19 of 40 · 1107 ms"``: the one count every view uses (steps are numbered
    from 1 for people; ``step`` is the 0-based trace index)."""
    return f"step {step + 1} of {len(result.trace)} · {result.trace[step]['t']:g} ms"


def summary_caption(result: Result, st: ProtocolState) -> str:
    """A few sentences on a run's final state: retries, duplicates, aborted records, what
    each reader was handed, repeated sink rows (only what the state holds), after the client
    the run follows (``client: librdkafka (confluent-kafka).``)."""
    out = [f"{client_line(result.config)}."]
    retries = result.counts.get("retries")
    if retries:
        out.append(f"The producer(s) retried {retries} request(s).")
    for name in st.data_partitions():
        p = st.partitions[name]
        if name.startswith("__") or not p.cells:
            continue
        dups = p.duplicates()
        aborted = sum(c.status == "aborted" for c in p.cells)
        bits = [f"{len(p.cells)} entries, HW={p.hw}, LSO={p.lso}"]
        if dups:
            most = max(len(offs) for offs in dups.values())
            where = "at two offsets" if most == 2 else f"at two to {most} offsets"
            bits.append(f"{len(dups)} value(s) {where} ({_vals(list(dups))})")
        if aborted:
            bits.append(f"{aborted} aborted record(s)")
        out.append(f"{name}: " + ", ".join(bits) + ".")
        for c in readers(st, name):
            v = reader_view(st, c, name)
            got = sum(f == "returned" for f in v.fates.values())
            skipped = sum(f == "skipped" for f in v.fates.values())
            out.append(f"{c} ({v.isolation}) was handed {got} record(s) of {name}"
                       + (f", skipped {skipped} aborted" if skipped else "")
                       + (f", including {len(v.aborted_reads)} aborted"
                          if v.aborted_reads else "")
                       + f", and stops at {v.limit_name}={v.limit}.")
    repeats = st.sink_repeats()
    if repeats:
        out.append(f"The sink holds {len(repeats)} repeated row(s).")
    if len(out) == 1:
        out.append("Nothing was written.")
    return " ".join(out)
