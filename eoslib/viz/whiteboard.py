"""Three whiteboard pictures: fencing by epoch, a hanging transaction, a write cycle (G0).

- :func:`fencing_picture`: the producer epochs of one ``transactional.id`` as its
  coordinator moves them (init, fence, the new instance, later bumps), and the zombie's
  request with its old epoch, rejected.
- :func:`hanging_picture`: a partition whose LSO is stuck under an open transaction, a
  read_committed reader waiting at it, and what the coordinator knows of that transaction.
- :func:`write_cycle_picture`: two logs written by two transactions, the write-write order
  each log gives them, and the cycle those orders make (Adya's G0: no serial order of the
  two transactions produces both logs).

Each reads a run (a :class:`~eoslib.result.Result`, a :class:`~eoslib.Simulation` or its
trace) through :mod:`eoslib.protocol_state`, or plain values for the write cycle, and
returns an SVG :class:`~eoslib.viz.svg.Picture` sized for the notebook column.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eoslib.protocol_state import fold, states
from eoslib.viz.column import MAX_WIDTH_PX, TEXT_PX
from eoslib.viz.logview import log_picture
from eoslib.viz.palette import BLUE, GREY, INK, LIGHT_BLUE, ORANGE, PURPLE, RED, TAN
from eoslib.viz.svg import Drawing, Picture
from eoslib.viz.textmetrics import text_width

MUTED = "#5b6070"


def _trace(source: Any) -> list[dict[str, Any]]:
    """The trace of a Result, a Simulation or a trace list."""
    trace = getattr(source, "trace", source)
    if callable(trace):
        trace = trace()
    if not isinstance(trace, list):
        raise ValueError(f"Invalid value {type(source).__name__} for source: expected a Result, "
                         "a Simulation or a trace (list of events)")
    return trace


def _wrap(text: str, width: float, size: float) -> str:
    return "\n".join(textwrap.wrap(text, max(10, int(width / (size * 0.6)))))


def _fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` broken at spaces into lines no wider than ``width`` px (as measured)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size, bold) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


# --------------------------------------------------------------------------- fencing
def fencing_picture(source: Any, txn_id: str | None = None) -> Picture:
    """The epochs of ``txn_id`` (default: the first fenced one) on its coordinator, the
    instances that got each epoch, and the zombie's request rejected for its old epoch."""
    trace = _trace(source)
    fences = [e for e in trace if e["kind"] == "fence" and (e.get("data") or {}).get("txn_id")]
    if txn_id is None:
        if not fences:
            raise ValueError("Invalid value for source: this run fences no producer "
                             "(no 'fence' event on the transaction coordinator)")
        txn_id = fences[0]["data"]["txn_id"]
    events: list[tuple[int, str, str, str]] = []  # (step, lane, kind, text)
    epochs: list[tuple[int, int, str]] = []  # (step, epoch, why)
    owners: dict[str, int] = {}  # producer lane -> its epoch
    for e in trace:
        d = e.get("data") or {}
        if e["kind"] == "ack" and d.get("txn_id") == txn_id:
            owners[e["lane"]] = d["epoch"]
            epochs.append((e["i"], d["epoch"], f"{_app(e['lane'])} init_transactions"))
            events.append((e["i"], e["lane"], "init", f"init_transactions: epoch {d['epoch']}"))
        elif e["kind"] == "fence" and d.get("txn_id") == txn_id:
            why = e["label"].split("(")[-1].rstrip(")") if "(" in e["label"] else "bump"
            epochs.append((e["i"], d["epoch"], why))
        elif e["kind"] == "state" and d.get("txn_id") == txn_id and d["epoch"] > (
                epochs[-1][1] if epochs else -1):
            epochs.append((e["i"], d["epoch"], "TV2: a new epoch as the transaction ends"))
        elif e["kind"] in ("crash", "restart") and any(
                lane.startswith(e["lane"]) for lane in owners):
            events.append((e["i"], e["lane"], e["kind"], e["label"]))
    rejected = [e for e in trace if e["lane"] in owners and (
        (e["kind"] == "response" and any(  # librdkafka's v0 requests: INVALID_PRODUCER_EPOCH
            w in str((e.get("data") or {}).get("reply")) for w in ("FENCED", "PRODUCER_EPOCH")))
        or (e["kind"] in ("reject", "error") and "EPOCH" in e["label"]))]
    if not rejected:
        raise ValueError(f"Invalid value {txn_id!r} for txn_id: no request of its producers "
                         "was rejected for an old epoch in this run")
    epochs = _merge_epochs(epochs)
    bad = rejected[0]
    zombie = bad["lane"]
    zombie_epoch = owners[zombie]
    now = max((ep for s, ep, _ in epochs if s <= bad["i"]), default=zombie_epoch)
    new = [lane for lane in owners if lane != zombie]
    d = Drawing(MAX_WIDTH_PX)
    cols = {"zombie": 124.0, "coord": MAX_WIDTH_PX / 2, "new": MAX_WIDTH_PX - 124.0}
    heads = {"zombie": f"{_app(zombie)} (the zombie)\nproducer epoch {zombie_epoch}",
             "coord": f"transaction coordinator\ntransactional.id {txn_id}",
             "new": (f"{_app(new[0])} (new instance)\nproducer epoch {owners[new[0]]}"
                     if new else "new instance")}
    for k, x in cols.items():
        d.rect(x - 116, 8, 232, 44, fill=(RED + "22") if k == "zombie" else "#f4f4f4",
               stroke=RED if k == "zombie" else INK, sw=1.2, rx=4)
        d.text(x, 26, heads[k], size=TEXT_PX["label"], anchor="middle", weight="bold")
    y = 80.0
    for x in cols.values():
        d.line(x, 52, x, 52 + 30 * (len([e for e in epochs if e[0] <= bad["i"]]) + 2),
               stroke=GREY, sw=1.2)
    for step, ep, why in epochs:
        if step > bad["i"]:
            break
        d.rect(cols["coord"] - 46, y - 14, 92, 22, fill=(ORANGE + "55") if "fence" in why
               or "new instance" in why else "#ffffff", stroke=INK, sw=1, rx=3)
        badge = why.split(":")[0] if why.startswith("epochs ") else f"epoch {ep}"
        why = why.split(": ", 1)[1] if why.startswith("epochs ") else why
        d.text(cols["coord"], y + 2, badge, size=TEXT_PX["label"], anchor="middle",
               weight="bold")
        side = 1  # the reason goes on the side no arrow takes, between badge and lane
        if why.endswith("init_transactions"):
            lane = next((ln for ln in owners if _app(ln) in why), None)
            if lane is not None:
                x = cols["zombie"] if lane == zombie else cols["new"]
                side = 1 if x < cols["coord"] else -1
                d.line(cols["coord"] - side * 48, y - 3, x, y - 3, stroke=INK, sw=1.2,
                       arrow=INK)
        room = cols["new"] - cols["coord"] - 52 - 10
        d.text(cols["coord"] + side * 52, y - 3, _fit(_short(why), room, TEXT_PX["small"]),
               size=TEXT_PX["small"], color=MUTED, anchor="start" if side > 0 else "end",
               valign="middle")
        y += 30
    # the zombie's late request
    api = (bad.get("data") or {}).get("api") or bad["kind"]
    reply = (bad.get("data") or {}).get("reply") or bad["label"].split(": ")[-1]
    y += 8
    d.line(cols["zombie"], y, cols["coord"] - 50, y, stroke=RED, sw=2)
    d.text(cols["coord"] - 50, y, "✕", size=18, anchor="middle", valign="middle",
           color=RED, weight="bold", kind="marker")
    d.text(cols["zombie"] + 6, y - 8, f"{api} with epoch {zombie_epoch}", size=TEXT_PX["small"],
           color=RED, weight="bold", halo=True)
    d.text(cols["coord"] + 8, y + 5, _fit(f"{reply}: epoch {zombie_epoch} is older than "
                                          f"the coordinator's epoch {now}",
                                          cols["new"] - cols["coord"] - 18, TEXT_PX["small"],
                                          bold=True),
           size=TEXT_PX["small"], color=RED, weight="bold")
    y = d.height + 14
    note = ("The coordinator keeps one producer id and epoch per transactional.id. A new "
            "instance's init_transactions() bumps the epoch (and aborts the open transaction "
            "of the old one); any request still carrying an older epoch is refused, so the "
            "zombie cannot write or commit.")
    d.text(8, y, _wrap(note, MAX_WIDTH_PX - 16, TEXT_PX["small"]), size=TEXT_PX["small"],
           color=MUTED)
    alt = (f"Fencing of transactional.id {txn_id}: epochs "
           + ", ".join(f"{ep} ({why})" for s, ep, why in epochs if s <= bad["i"])
           + f". The zombie {_app(zombie)} still has epoch {zombie_epoch}; its {api} is "
           f"rejected with {reply} while the coordinator is at epoch {now}.")
    return d.picture(alt, title="Fencing by producer epoch")


def _merge_epochs(epochs: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """One line per epoch, named by its best reason (an instance's init_transactions, then
    the fence, then a plain bump, then a TV2 end), and a run of epochs that only ended
    transactions (TV2) folded into one line ``"epochs 3..5: ..."``."""
    def rank(why: str) -> int:
        return (0 if why.endswith("init_transactions") else 1 if "fence" in why
                or why.startswith("a new") or "timeout" in why else 3 if "TV2" in why else 2)
    by: dict[int, tuple[int, int, str]] = {}
    for step, ep, why in epochs:
        old = by.get(ep)
        if old is None or rank(why) < rank(old[2]):
            by[ep] = (old[0] if old else step, ep, why)
    out: list[tuple[int, int, str]] = []
    first_tv2 = -1
    for step, ep, why in sorted(by.values(), key=lambda e: e[1]):
        if out and "TV2" in why and "TV2" in out[-1][2]:
            out[-1] = (step, ep, f"epochs {first_tv2}..{ep}: each transaction ends with a new "
                                 "epoch (TV2)")
        else:
            if "TV2" in why:
                first_tv2 = ep
            out.append((step, ep, why))
    return out


def _app(lane: str) -> str:
    return lane.removesuffix("-producer")


def _short(why: str) -> str:
    return why.replace("a new instance called init_transactions", "fence: a new instance "
                       "called init_transactions")


# --------------------------------------------------------------------------- hanging
def _stuck_moment(trace: list[dict[str, Any]], partition: str | None
                  ) -> tuple[float, int, str, int] | None:
    """(ms stuck, step, partition, LSO) of the longest stretch with LSO < HW; the step is the
    last of that stretch before its coordinator starts to end the transaction."""
    best: tuple[float, int, str, int] | None = None
    since: dict[str, tuple[int, float]] = {}
    for st in states(trace):
        for name, p in st.partitions.items():
            if name.startswith("__") or (partition and name != partition):
                continue
            if p.lso >= p.hw:
                since.pop(name, None)
                continue
            lso0, t0 = since.get(name, (p.lso, st.t))
            if lso0 != p.lso:
                t0 = st.t
            since[name] = (p.lso, t0)
            opener = next((c for c in p.cells if c.offset == p.lso), None)
            ending = opener is not None and any(
                t.pid == opener.pid and t.state.startswith("Prepare") for t in st.txns.values())
            if not ending and (best is None or st.t - t0 >= best[0]):
                best = (st.t - t0, st.step, name, p.lso)
    return best


def hanging_picture(source: Any, partition: str | None = None) -> Picture:
    """A partition whose LSO is stuck under an open transaction, a read_committed reader
    waiting at it, and what the coordinator knows of that transaction: titled "Open
    transaction" while the coordinator has it (its timeout will end it) and "Hanging
    transaction" when it does not (nothing will). ``source``: a Result
    or a trace (the longest stuck moment is chosen), or a Simulation driven by hand (its
    state now, read from its objects: :func:`eoslib.protocol_state.state_of_simulation`)."""
    from eoslib.protocol_state import state_of_simulation

    stuck_ms: float | None = None
    if hasattr(source, "cluster"):  # a live Simulation
        st = state_of_simulation(source)
        names = [n for n, p in st.partitions.items() if not n.startswith("__")
                 and p.lso < p.hw and (partition is None or n == partition)]
        if not names:
            raise ValueError(f"Invalid value {partition!r} for partition: no partition of this "
                             "simulation has an open transaction under its LSO")
        tp = names[0]
    else:
        trace = _trace(source)
        best = _stuck_moment(trace, partition)
        if best is None:
            raise ValueError(f"Invalid value {partition!r} for partition: no partition of this "
                             "run has an open transaction under its LSO")
        stuck_ms, step, tp, _ = best
        st = fold(trace, step)
    p = st.partitions[tp]
    lso = p.lso
    opener = next((c for c in p.cells if c.offset == lso), None)
    reader = "a read_committed reader"
    st.positions[reader] = {tp: lso}
    st.isolation[reader] = "read_committed"
    st.handed[reader] = {tp: [c.offset for c in p.cells if c.offset < lso
                              and c.status == "committed" and not c.control]}
    st.groups_of[reader] = None
    known = [(tid, t) for tid, t in st.txns.items() if opener and t.pid == opener.pid]
    if known:
        tid, t = known[0]
        if t.state == "Ongoing":
            fate = "it will abort it when transaction.timeout.ms runs out."
        elif t.state.startswith("Prepare"):
            fate = "it is ending it: the markers go out next."
        else:
            fate = ("it does not know this transaction (it has already ended the producer's "
                    "last one), so no timeout will end it: a hanging transaction, which only "
                    "an admin's abort (kafka-transactions.sh) can end.")
        coord = (f"The coordinator has transactional.id {tid} (producer {t.pid}) in state "
                 f"{t.state}, epoch {t.epoch}: {fate}")
    else:
        coord = "The coordinator knows no transaction of this producer."
    who = f"producer {opener.pid}, epoch {opener.epoch}" if opener else "a producer"
    since = f" for {stuck_ms:,.0f} ms" if stuck_ms else ""
    caption = (f"LSO stuck at {lso}{since} (HW={p.hw}): the open transaction of {who} starts "
               f"at offset {lso}, and every read_committed reader stops there, even for the "
               f"committed records after it. {coord}")
    hanging = not known or not (known[0][1].state == "Ongoing"
                                 or known[0][1].state.startswith("Prepare"))
    what = "Hanging transaction" if hanging else "Open transaction"
    pic = log_picture(st, partitions=[tp], caption=caption, title=what)
    pic.alt = f"{what}. {caption} {pic.alt}"
    return pic


# --------------------------------------------------------------------------- write cycle
def write_cycle_picture(logs: Mapping[str, Sequence[Any]],
                        writer: Callable[[str], str] | None = None) -> Picture:
    """Each log as a row of cells coloured by the transaction that wrote it, the
    write-write order each log gives the transactions, and their graph: a cycle (G0) when
    no serial order of the transactions gives every log.

    ``logs`` maps a topic to its values in offset order, each a value (its writer is
    ``writer(value)``, default: the text before the first ``-``, as ``"T1-a"``) or a
    ``(writer, value)`` pair."""
    writer = writer or (lambda v: str(v).split("-")[0])
    rows = {t: [(w, str(v)) if isinstance(x, tuple) else (writer(str(x)), str(x))
                for x in vals for w, v in ([x] if isinstance(x, tuple) else [(None, x)])]
            for t, vals in logs.items()}
    names = sorted({w for r in rows.values() for w, _ in r})
    if len(names) < 2:
        raise ValueError(f"Invalid value {dict(logs)!r} for logs: expected writes of at least "
                         "two transactions")
    # committed writers: none of the log view's "open" (dots) or "aborted" (cross) styles;
    # the writer's name is in every cell, and the outline tells them apart without colour
    fills = [(BLUE + "55", None), (PURPLE + "45", "6 3"), (TAN + "80", "2 2"),
             (LIGHT_BLUE + "55", "8 2 2 2")]
    style = {w: fills[k % len(fills)] for k, w in enumerate(names)}
    d = Drawing(MAX_WIDTH_PX)
    cw = max(60.0, max(text_width(v, TEXT_PX["cell"]) for r in rows.values() for _, v in r) + 14)
    edges: dict[tuple[str, str], list[str]] = {}
    y = 14.0
    for topic, row in rows.items():
        d.text(70, y + 24, topic, size=TEXT_PX["name"], anchor="end", weight="bold")
        for k, (w, v) in enumerate(row):
            x = 80 + k * cw
            fill, dash = style[w]
            d.rect(x + 2, y, cw - 4, 38, fill=fill, dash=dash, stroke=INK,
                   sw=1.4 if dash else 0.9)
            d.text(x + cw / 2, y + 24, v, size=TEXT_PX["cell"], anchor="middle", halo=True)
            d.text(x + cw / 2, y + 52, str(k), size=TEXT_PX["small"], anchor="middle",
                   color=MUTED)
        n = 0
        for k in range(1, len(row)):
            a, b = row[k - 1][0], row[k][0]
            if a != b:
                edges.setdefault((a, b), []).append(topic)
                x0, x1 = 80 + (k - 1) * cw + cw / 2, 80 + k * cw + cw / 2
                d.path(f"M{x0:.1f},{y + 58:.1f} C{x0:.1f},{y + 74:.1f} {x1:.1f},{y + 74:.1f} "
                       f"{x1:.1f},{y + 60:.1f}", stroke=RED, sw=1.5, arrow=RED)
                d.text((x0 + x1) / 2, y + 86 + 14 * (n % 2), f"{a} before {b}",
                       size=TEXT_PX["small"], anchor="middle", color=RED, weight="bold")
                n += 1
        y += 114
    # the graph of transactions: one node each, an edge per write-write order
    longest = max(len(r) for r in rows.values())
    gx, gy = min(MAX_WIDTH_PX - 230, 80 + longest * cw + 140), 70.0  # beside the logs
    pos = {w: (gx + 170 * (k % 2), gy + 110 * (k // 2)) for k, w in enumerate(names)}
    for (a, b), topics in sorted(edges.items()):
        (x0, y0), (x1, y1) = pos[a], pos[b]
        up = -1 if a < b else 1
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2 + up * 46
        d.path(f"M{x0 + 24 * (1 if x1 > x0 else -1):.1f},{y0 + up * 6:.1f} "
               f"Q{mx:.1f},{my:.1f} {x1 - 26 * (1 if x1 > x0 else -1):.1f},{y1 + up * 6:.1f}",
               stroke=RED, sw=1.6, arrow=RED)
        d.text(mx, (y0 + y1) / 2 + up * 36 + (10 if up > 0 else 0), f"{a} → {b}: "
               + ", ".join(topics), size=TEXT_PX["small"], anchor="middle", color=RED,
               halo=True, weight="bold")
    for w, (x, yy) in pos.items():
        fill, dash = style[w]
        d.rect(x - 24, yy - 14, 48, 28, fill=fill, dash=dash, stroke=INK, sw=1.4, rx=14)
        d.text(x, yy + 5, w, size=TEXT_PX["label"], anchor="middle", weight="bold", halo=True)
    cycle = any((b, a) in edges for a, b in edges)
    verdict = ("A cycle: each transaction wrote before the other on some log, so no serial "
               "order gives both logs (G0, a write cycle). Kafka allows it: a transaction "
               "makes its own writes visible together, it does not order them against "
               "other transactions." if cycle else
               "No cycle: some serial order of the transactions gives every log.")
    yb = max(y, d.height + 10)
    d.text(8, yb + 6, _wrap(verdict, MAX_WIDTH_PX - 16, TEXT_PX["label"]),
           size=TEXT_PX["label"], weight="bold" if cycle else "normal",
           color=RED if cycle else INK)
    alt = ("Write cycle. " + "; ".join(f"{t}: " + ", ".join(f"{v} by {w}" for w, v in r)
                                       for t, r in rows.items())
           + ". Orders: " + "; ".join(f"{a} before {b} on {', '.join(ts)}"
                                      for (a, b), ts in sorted(edges.items())) + ". " + verdict)
    return d.picture(alt, title="Write cycle (G0)")
