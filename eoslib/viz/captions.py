"""One sentence per trace step: what happened, and why it matters for exactly-once.

:func:`caption` reads the step's trace event and the protocol state around it
(:func:`eoslib.protocol_state.state_at`) and says it in words a learner new to Kafka can
follow, e.g. "partition out-0: the broker already has seq 0 from producer 1000 among its last
5 batches, so it answers with the original offset 0 and appends nothing." Every view (the
step player, the HTML export, :func:`eoslib.viz.stepper.show_moment`) prints these captions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eoslib.protocol_state import ProtocolState, fold

if TYPE_CHECKING:
    from eoslib.result import Result, TraceEvent


def _vals(vals: list[str]) -> str:
    return vals[0] if len(vals) == 1 else f"{vals[0]}..{vals[-1]}" if len(vals) > 3 else \
        ", ".join(vals)


def _produce(ev: TraceEvent, d: dict[str, Any], st: ProtocolState) -> str:
    kind = ev["kind"]
    where = f"partition {d['tp']}"
    vals = _vals(d["values"])
    seq = (f" (producer {d['pid']}, epoch {d['epoch']}, seq {d['seq']})"
           if d.get("seq", -1) >= 0 else " (no producer id: idempotence is off)")
    if kind == "dedup":
        return (f"{where}: the broker already has seq {d['seq']} from producer {d['pid']} "
                f"among its last 5 batches, so it answers with the original offset "
                f"{d['base']} and appends nothing - no duplicate.")
    n = len(d["values"])
    offs = f"offset {d['base']}" if n == 1 else f"offsets {d['base']}..{d['base'] + n - 1}"
    if ev.get("flag") == "duplicate":
        copies = st.partition(d["tp"]).duplicates()
        first = [offs_[0] for v, offs_ in copies.items() if v in d["values"]]
        was = f" (first copy at offset {first[0]})" if first else ""
        return (f"{where} appends {vals} again at {offs}{was}: the broker could not tell this "
                f"retry from new data, so the log now holds a duplicate.")
    if d.get("pid", -1) < 0 and ev["label"].startswith("upstream"):
        return f"{where}: the input is written before the run ({n} records, {offs})."
    txn = " inside an open transaction: read_committed readers wait for its marker" \
        if d.get("txn") else ""
    return f"{where} appends {vals} at {offs}{seq}{txn}; HW={d['hw']}, LSO={d['lso']}."


def _message(ev: TraceEvent, d: dict[str, Any]) -> str:
    api = d["api"]
    if d["msg"] == "request":
        if d.get("lost"):
            return (f"The {api} request from {d['from']} is lost on the way: {d['to']} never "
                    "sees it, and the sender will time out and retry.")
        return f"{d['to']} receives {api} from {d['from']}."
    reply = d.get("reply", "ok")
    if d.get("lost"):
        return (f"The answer to {api} ({reply}) is lost on the way back: {d['from']} did the "
                f"work, but {d['to']} does not know it and will retry after "
                "request.timeout.ms.")
    if d.get("ignored"):
        return f"{d['to']} gets the {api} answer ({reply}) too late: it is ignored."
    return f"{d['to']} gets the {api} answer: {reply}."


def _marker(d: dict[str, Any]) -> str:
    where = f"partition {d['tp']}"
    if d["tp"].startswith("__consumer_offsets"):
        if d["kind"] == "COMMIT":
            return (f"{d['kind']} marker in {d['tp']}: the input offsets sent with the "
                    "transaction take effect now, together with its output records.")
        return (f"ABORT marker in {d['tp']}: the offsets sent with the transaction are "
                "discarded, so the committed input offset does not move.")
    if d["kind"] == "COMMIT":
        return (f"COMMIT marker at offset {d['offset']} of {where}: producer {d['pid']}'s "
                f"records become visible to read_committed readers; LSO={d['lso']}.")
    return (f"ABORT marker at offset {d['offset']} of {where}: producer {d['pid']}'s records "
            "stay in the log, but read_committed readers skip them.")


def _other(ev: TraceEvent, d: dict[str, Any] | None, st: ProtocolState) -> str:
    kind, lane, label = ev["kind"], ev["lane"], ev["label"]
    if kind == "poll" and d:
        recs = d["records"]
        tp = recs[0][0]
        pos = d["positions"].get(tp)
        committed = st.committed_offset(tp).get(d.get("group") or "", None)
        c = (f"; the group's committed offset is still {committed}" if committed is not None
             else "; nothing is committed yet")
        return (f"{lane} hands {len(recs)} record(s) to the application "
                f"({_vals([r[2] for r in recs])}, offsets {recs[0][1]}..{recs[-1][1]} of {tp}); "
                f"its position is now {pos}{c}.")
    if kind == "seek" and d:
        (tp, off), = d["positions"].items()
        return f"The application moves {lane}'s position on {tp} back to {off}."
    if kind == "commit" and d:
        offs = ", ".join(f"{t}={o}" for t, o in d["offsets"].items())
        if d.get("txn"):
            return (f"Offsets {offs} are written to {d['tp']} as part of producer {d['pid']}'s "
                    "transaction: they count only if it commits.")
        return (f"Group {d['group']} commits {offs}: a consumer that takes over starts "
                "reading there.")
    if kind == "state" and d:
        why = {"Ongoing": "the transaction has begun",
               "PrepareCommit": "the decision to commit is now durable in "
                                "__transaction_state; markers go out next",
               "PrepareAbort": "the transaction will be aborted; ABORT markers go out next",
               "CompleteCommit": "every marker is written: the transaction is committed",
               "CompleteAbort": "every marker is written: the transaction is aborted",
               "PrepareEpochFence": "the coordinator fences the old producer"}
        return (f"Transaction coordinator: {d['txn_id']} goes {d['from']} -> {d['to']}"
                + (f" ({why[d['to']]})." if d["to"] in why else "."))
    if kind == "fence":
        return f"{lane}: {label} - requests with an older epoch are rejected from now on."
    if kind == "crash":
        return (f"{lane} crashes ({label}): whatever it did not commit will be done again by "
                "the next instance, or rolled back.")
    if kind == "restart":
        return f"{lane} starts again and resumes from the committed offsets."
    if kind == "write" and d:
        if not d["applied"]:
            return f"The sink already has a row with id {d['id']}: the upsert changes nothing."
        if ev.get("flag") == "duplicate":
            return (f"The sink inserts {d['id']} a second time: the external table now has a "
                    "duplicate row, whatever Kafka did.")
        return f"The application writes row {d['id']} to the sink."
    if kind == "ack" and "duplicate" in label:
        return (f"{lane} learns its retried batch is at the ORIGINAL offset: the application "
                "sees one success, and the log holds one copy.")
    if kind == "ack" and label.startswith("offset"):
        return f"{lane} learns its batch is stored: {label}."
    if kind == "timeout":
        return (f"{lane}: no answer within request.timeout.ms - the broker may or may not "
                "have appended, so the batch is retried.")
    if kind == "retry":
        seq = (f" with the same seq {d['seq']}: the broker can recognise it" if d and
               d.get("seq", -1) >= 0 else ": without a sequence number the broker cannot "
               "tell it from new data")
        return f"{lane} sends {_vals(d['values']) if d else label} again{seq}."
    if kind == "send" and d:
        seq = f" with seq {d['seq']}" if d.get("seq", -1) >= 0 else ""
        return f"{lane} sends {_vals(d['values'])} to {d['tp']}{seq}."
    if kind == "replicate" and d:
        return f"partition {d['tp']}: the followers caught up; HW={d['hw']}."
    if kind == "leader":
        return f"{lane}: {label}."
    return f"{lane}: {label}."


def caption(result: Result, step: int, state: ProtocolState | None = None) -> str:
    """One sentence saying what trace event ``step`` of ``result`` did and why it matters.

    ``state`` (the protocol state after ``step``) is computed if not given."""
    trace = result.trace
    if not 0 <= step < len(trace):
        raise ValueError(f"Invalid value {step!r} for step: expected 0..{len(trace) - 1}")
    ev = trace[step]
    st = state if state is not None else fold(trace, step)
    d = ev.get("data")
    if d and "msg" in d:
        return _message(ev, d)
    if d and ev["kind"] in ("append", "dedup") and "values" in d:
        return _produce(ev, d, st)
    if d and ev["kind"] == "marker":
        return _marker(d)
    return _other(ev, d, st)


def step_title(result: Result, step: int) -> str:
    """``"step 19 of 40 · 1107 ms"``: the one count every view uses (steps are numbered
    from 1 for people; ``step`` is the 0-based trace index)."""
    return f"step {step + 1} of {len(result.trace)} · {result.trace[step]['t']:g} ms"
