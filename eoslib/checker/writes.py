"""Where writes landed: duplicate, inconsistent_offsets, lost, unseen, reordered, fenced."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from eoslib.checker.index import (
    COMMITTED,
    INVISIBLE,
    PLAIN,
    Index,
    Pos,
    is_verifier,
    message_key,
    natural,
    offset_of,
    vkey,
)
from eoslib.checker.report import MAX_POSITIONS, Anomaly, Collector, at, formatter, tp


def duplicate(ix: Index) -> Anomaly:
    """``duplicate``: the same message sits at more than one offset of a topic (any
    partitions). A message is what the records derive from: the input named by their
    ``input`` header, else their value (the course's values are unique per message).

    Evidence: acknowledged sends and polled records whose write is visible (a record is
    tied to its write by its producer id, epoch and sequence, or by its offset, never by
    its value); copies written by aborted transactions are not counted (reading them is an
    ``aborted_read``), nor records whose write the history does not name. Count: extra
    copies, i.e. the sum over messages of (distinct positions - 1)."""
    where: dict[tuple[Any, Hashable], dict[tuple[Any, int], None]] = {}
    original: dict[tuple[Any, Hashable], Any] = {}

    def note(topic: Any, partition: Any, offset: int, value: Any, headers: Any) -> None:
        key = (topic, message_key(value, headers))
        if key not in where:
            where[key] = {}
            original[key] = value
        where[key][(partition, offset)] = None

    for s in ix.sends:
        v = s.value
        off = offset_of(v.get("offset"))
        if s.outcome == "ok" and off is not None and ix.state(s) not in INVISIBLE:
            note(v.get("topic"), v.get("partition"), off, v.get("value"), v.get("headers"))
    for r in ix.reads:
        state = ix.read_state(r)
        if state is not None and state not in INVISIBLE:
            note(r.topic, r.partition, r.offset, r.value, r.headers)
    out = Collector("duplicate")
    for key, positions in where.items():
        if len(positions) > 1:
            pos = sorted(positions, key=lambda po: (natural(po[0]), po[1]))
            example = {"value": original[key], "topic": key[0], "copies": len(pos),
                       "positions": [[p, o] for p, o in pos[:MAX_POSITIONS]]}
            if key[1][0] == "input":
                example["input"] = key[1][1]
            out.add(len(positions) - 1, example)
    return out.anomaly()


@formatter("duplicate")
def _fmt_duplicate(e: dict[str, Any]) -> str:
    by_part: dict[Any, list[int]] = {}
    for p, o in e["positions"]:
        by_part.setdefault(p, []).append(o)
    parts = []
    for p, offs in by_part.items():
        word = "offset" if len(offs) == 1 else "offsets"
        parts.append(f"{tp(e['topic'], p)} {word} {', '.join(map(str, offs))}")
    more = ", ..." if e["copies"] > len(e["positions"]) else ""
    of = f" (from input {e['input']!r})" if e.get("input") is not None else ""
    return f"value {e['value']!r}{of} at {' and '.join(parts)}{more}"


def inconsistent_offsets(ix: Index) -> Anomaly:
    """``inconsistent_offsets``: one position holds more than one value, according to sends
    and polls. Count: such positions."""
    seen_at: dict[Pos, dict[Hashable, tuple[Any, int]]] = {}

    def note(pos: Pos, value: Any, index: int) -> None:
        seen = seen_at.setdefault(pos, {})
        seen.setdefault(vkey(value), (value, index))

    for pos, sends in ix.acked_at.items():
        for s in sends:
            note(pos, s.value.get("value"), s.index)
    for r in ix.reads:
        note((r.topic, r.partition, r.offset), r.value, r.op.index)
    bad = [(pos, vals) for pos, vals in seen_at.items() if len(vals) > 1]
    bad.sort(key=lambda pv: sorted(i for _, i in pv[1].values())[1])
    out = Collector("inconsistent_offsets")
    for (t, p, o), vals in bad:
        ordered = sorted(vals.values(), key=lambda vi: vi[1])
        out.add(1, {"topic": t, "partition": p, "offset": o,
                    "values": [v for v, _ in ordered], "first_seen_at": [i for _, i in ordered]})
    return out.anomaly()


formatter("inconsistent_offsets")(
    lambda e: f"{at(e)} holds {', '.join(repr(v) for v in e['values'])}")


def _never_read(ix: Index) -> tuple[Collector, Collector]:
    """Acknowledged, visible writes never read: lost if a read covered them, else unseen."""
    if "never_read" in ix.memo:
        return ix.memo["never_read"]
    read_msgs: set[tuple[Any, Hashable]] = set()
    read_past: dict[tuple[Any, Any], int] = {}
    verified_tps: set[tuple[Any, Any]] = set()
    verified_topics: set[Any] = set()
    for r in ix.reads:
        t, p = r.topic, r.partition
        read_msgs.add((t, message_key(r.value, r.headers)))
        if r.offset > read_past.get((t, p), -1):
            read_past[(t, p)] = r.offset
        if is_verifier(r.op.process):
            verified_tps.add((t, p))
            verified_topics.add(t)
    for t, p, _ in ix.covered:
        verified_tps.add((t, p))
        verified_topics.add(t)
    lost_c = Collector("lost")
    unseen_c = Collector("unseen")
    done: set[tuple[Any, Any, int, Hashable]] = set()
    for s in ix.sends:
        v = s.value
        t, p, off = v.get("topic"), v.get("partition"), offset_of(v.get("offset"))
        # a send reported delivered with no offset of its own (librdkafka's implicit ack:
        # a later request was acknowledged) is acknowledged too; acks=0 sends are not
        implicit = off is None and bool(v.get("implicit_ack"))
        if s.outcome != "ok" or (off is None and not implicit) \
                or ix.state(s) not in (PLAIN, COMMITTED):
            continue
        mk = message_key(v.get("value"), v.get("headers"))
        if (t, mk) in read_msgs or (t, p, off, mk) in done:
            continue
        done.add((t, p, off, mk))
        example = {"value": v.get("value"), "topic": t, "partition": p, "offset": off,
                   "producer": s.process, "send_index": s.index}
        if implicit:
            example["implicit_ack"] = True
        if (t, p) in verified_tps or t in verified_topics:
            lost_c.add(1, {**example, "covered_by": "verifier"})
        elif implicit:
            unseen_c.add(1, example)  # no offset: only a verifier's full read can tell
        elif off < read_past.get((t, p), -1):
            lost_c.add(1, {**example, "covered_by": f"a poll up to offset {read_past[(t, p)]}"})
        else:
            unseen_c.add(1, example)
    ix.memo["never_read"] = lost_c, unseen_c
    return lost_c, unseen_c


def lost(ix: Index) -> Anomaly:
    """``lost``: an acknowledged write (not transactional, or its transaction committed)
    whose message (see ``duplicate``) no poll ever returned, although some poll read that
    partition past its offset, or a ``verifier`` process read the partition. A write the
    client reported delivered without an offset of its own (``implicit_ack``: librdkafka
    acknowledges earlier messages when a later request is acknowledged) counts when a
    verifier read its partition; an ``acks=0`` send is never acknowledged and never counts.
    Count: such writes."""
    return _never_read(ix)[0].anomaly()


def unseen(ix: Index) -> Anomaly:
    """``unseen``: like ``lost``, but no poll covered the partition, so we cannot tell:
    informational. Count: such writes."""
    return _never_read(ix)[1].anomaly()


def _where(e: dict[str, Any]) -> str:
    """Where a never-read write was acknowledged: its offset, or "implicitly" without one."""
    if e["offset"] is None:
        return f"{tp(e['topic'], e['partition'])} (implicitly acknowledged, no offset)"
    return at(e)


formatter("lost")(lambda e: (
    f"value {e['value']!r} at {_where(e)}, acknowledged to {e['producer']}, never read"))
formatter("unseen")(lambda e: f"value {e['value']!r} at {_where(e)}, never read")


def reordered(ix: Index) -> Anomaly:
    """``reordered``: two acknowledged sends of one producer to one partition, adjacent in
    issue order (``seq_no`` when recorded, else history order), whose offsets decrease.
    Count: such pairs."""
    groups: dict[tuple[str, Any, Any], list[tuple[tuple[int, int], Any, int]]] = {}
    for s in ix.sends:
        v = s.value
        off = offset_of(v.get("offset"))
        if s.outcome != "ok" or off is None:
            continue
        seq = v.get("seq_no")
        order = (seq if isinstance(seq, int) else s.index, s.index)
        groups.setdefault((s.process, v.get("topic"), v.get("partition")), []).append(
            (order, s, off))
    out = Collector("reordered")
    for (process, t, p), sends in groups.items():
        sends.sort(key=lambda x: x[0])
        for (_, a, oa), (_, b, ob) in zip(sends, sends[1:], strict=False):
            if ob < oa:
                out.add(1, {"process": process, "topic": t, "partition": p,
                            "first_value": a.value.get("value"), "first_offset": oa,
                            "first_seq_no": a.value.get("seq_no"),
                            "second_value": b.value.get("value"), "second_offset": ob,
                            "second_seq_no": b.value.get("seq_no")})
    return out.anomaly()


formatter("reordered")(lambda e: (
    f"{e['process']} sent {e['first_value']!r} before {e['second_value']!r}, but they sit "
    f"at {tp(e['topic'], e['partition'])} offsets {e['first_offset']} and "
    f"{e['second_offset']}"))


def fenced(ix: Index) -> Anomaly:
    """``fenced``: a producer was fenced by a newer epoch of its ``transactional.id``.
    Count: ``fenced`` ops."""
    out = Collector("fenced")
    for op in ix.fenced:
        out.add(1, {"process": op.process, "txn": op.value.get("txn"),
                    "error": op.value.get("error"), "index": op.index})
    return out.anomaly()


formatter("fenced")(lambda e: f"{e['process']} fenced ({e['error']})")
