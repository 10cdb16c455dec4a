"""The log view, the Lamport view, captions and the step player (see the mechanism).

The pictures are checked through what they draw (the texts and marks each SVG picture
records with its box), not by pixels: a known duplicate is drawn in two cells, HW/LSO
pointers sit at the right offsets, a reader's row changes with its isolation.level, and
there is one arrow per request and response in the trace, lost ones drawn as lost. Every
fact a caption states is checked against the folded state of its step.
"""

from __future__ import annotations

import pytest

from eoslib.protocol_readers import answer_fate, reader_view
from eoslib.protocol_state import first_step, fold, state_at, states
from eoslib.scenarios import SCENARIOS, run_scenario
from eoslib.viz import StepPlayer, caption, lamport_picture, log_view, show_moment
from eoslib.viz.captions import explain
from eoslib.viz.lamport import MAX_LANES, OTHERS, LamportView, arrows
from eoslib.viz.stepper import moment_pictures, resolve_step


def _dup_run():
    return run_scenario("producer-retry", seed=1, messages=6,
                        config={"enable.idempotence": False, "client": "java"},
                        faults={"response_loss": 0, "lost_acks": 1})


def _texts(pic) -> list[str]:
    return [b.text for b in pic.boxes if b.kind == "text"]


def _box(pic, text):
    return next(b for b in pic.boxes if b.kind == "text" and b.text == text)


def test_the_log_view_draws_a_duplicated_value_in_two_cells() -> None:
    r = _dup_run()
    assert r.counts["duplicates"] == 5
    texts = _texts(log_view(r))
    assert texts.count("m0") == 2, texts
    assert any(t.startswith("2nd") for t in texts)  # the repeat says it is the second copy
    assert any("↻" in t for t in texts)  # and that a retry wrote it


def test_hw_and_lso_pointers_sit_at_the_offsets_of_the_state() -> None:
    r = run_scenario("transactional-crash", seed=1, messages=4)
    step = next(st.step for st in states(r.trace) if "out-0" in st.partitions
                and st.partitions["out-0"].lso < st.partitions["out-0"].hw)
    st = state_at(r, step).partition("out-0")
    pic = log_view(r, step, partitions=["out-0"])
    c0, c1 = _box(pic, "0"), _box(pic, "1")  # the offsets under cells 0 and 1
    cw = (c1.x0 + c1.x1) / 2 - (c0.x0 + c0.x1) / 2
    left = (c0.x0 + c0.x1) / 2 - cw / 2  # the left edge of offset 0
    lso, hw = _box(pic, f"LSO={st.lso}"), _box(pic, f"HW={st.hw}")
    assert abs((lso.x0 + lso.x1) / 2 - (left + st.lso * cw)) < 1 or lso.x0 <= 4
    assert abs((hw.x0 + hw.x1) / 2 - (left + st.hw * cw)) < 1
    end = state_at(r).partition("out-0")
    assert f"HW=LSO={end.hw}" in _texts(log_view(r, partitions=["out-0"]))


def test_open_aborted_and_marker_cells_carry_a_text_mark() -> None:
    # linger.ms=0: the batch leaves the producer before the crash, so the log has records
    # for the ABORT marker to cover (with lingering the crash loses them in the buffer)
    r = run_scenario("transactional-crash", seed=2, messages=4, config={"linger.ms": 0},
                     faults={"crash_step": "after_produce", "crash_at": 2})
    statuses = {c.status for c in state_at(r).partition("out-0").cells}
    assert {"aborted", "control"} <= statuses
    texts = _texts(log_view(r, partitions=["out-0"]))
    assert "x" in texts and "A" in texts


def _reader_row(pic, consumer: str) -> list[str]:
    """The texts drawn in a consumer's row (between its label and the next row)."""
    label = next(b for b in pic.boxes if b.kind == "text" and b.text.startswith(consumer))
    return sorted(b.text
                  for b in pic.boxes if b.kind == "text" and abs(b.y0 - label.y0) < 12
                  and b is not label)


def test_switching_isolation_level_changes_the_readers_row() -> None:
    """read_uncommitted is handed the aborted records (marked !); read_committed skips them
    (struck through) and is handed fewer: the reader row differs, not just the counts."""
    runs = {lvl: run_scenario("read-committed", seed=1, messages=30,
                              config={"isolation.level": lvl})
            for lvl in ("read_uncommitted", "read_committed")}
    views = {lvl: reader_view(state_at(r), "consumer-1", "out-0") for lvl, r in runs.items()}
    ru, rc = views["read_uncommitted"], views["read_committed"]
    assert ru.aborted_reads and not rc.aborted_reads
    assert any(f == "skipped" for f in rc.fates.values())
    assert not any(f == "skipped" for f in ru.fates.values())
    rows = {lvl: _reader_row(log_view(r), "consumer-1") for lvl, r in runs.items()}
    assert rows["read_uncommitted"] != rows["read_committed"]
    assert any(t.endswith("!") for t in rows["read_uncommitted"])
    assert not any(t.endswith("!") for t in rows["read_committed"])


def test_a_read_committed_reader_stops_at_the_lso_of_an_open_transaction() -> None:
    r = run_scenario("read-committed", seed=1, messages=30,
                     config={"isolation.level": "read_committed"})
    step = next(st.step for st in states(r.trace)
                if "out-0" in st.partitions and st.partitions["out-0"].lso
                < st.partitions["out-0"].hw and st.partitions["out-0"].lso > 0)
    st = fold(r.trace, step)
    p = st.partitions["out-0"]
    st.positions["consumer-1"] = {"out-0": 0}  # a reader at the start of the log
    st.isolation["consumer-1"] = "read_committed"
    v = reader_view(st, "consumer-1", "out-0")
    assert v.limit == p.lso < p.hw and v.waits_on_open_txn
    assert {f for o, f in v.fates.items() if o >= p.lso} == {"beyond"}
    assert f"stops at LSO={p.lso}: open transaction" in _texts(log_view(st))
    st.isolation["consumer-1"] = "read_uncommitted"
    assert f"end: HW={p.hw}" in _texts(log_view(st))


def test_consumer_offsets_is_a_row_wherever_offsets_were_committed() -> None:
    r = run_scenario("consumer-crash", seed=1, messages=6)
    texts = _texts(log_view(r))
    assert any(t.startswith("__consumer_") for t in texts)
    assert any(t.startswith("in-0=") for t in texts)
    assert not any(t.startswith("__consumer_") for t in _texts(log_view(r, offsets_topic=False)))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_one_arrow_per_request_and_response(name: str) -> None:
    r = run_scenario(name, seed=5, messages=5)
    msgs = [e for e in r.trace if (e.get("data") or {}).get("msg")]
    net = [a for a in arrows(r.trace) if a.kind in ("request", "response")]
    assert len(net) == len(msgs)
    lost = [e for e in msgs if e["data"]["lost"]]
    assert sum(a.lost for a in net) == len(lost)
    assert len(LamportView(r).arrows) >= len(net)


def test_a_lost_response_is_drawn_stopping_half_way_with_an_x() -> None:
    r = _dup_run()
    view = LamportView(r)
    lost = [a for a in view.arrows if a.lost]
    assert lost and all(a.kind == "response" for a in lost)
    at = view.picture(lost[0].step)
    assert any("LOST" in t for t in _texts(at))
    assert any(b.kind == "marker" and b.text == "✕" for b in at.boxes)
    before = view.picture(lost[0].step - 1)
    assert not any("LOST" in t for t in _texts(before))


def test_held_answers_are_said_held_not_missing() -> None:
    """Idempotence on, one lost answer: the answers behind it reach the connection but are
    held; the captions and arrows say so instead of "no answer"."""
    r = run_scenario("producer-retry", seed=1, messages=3, faults={"lost_acks": 1,
                                                                     "response_loss": 0})
    held = [e["i"] for e in r.trace if e["kind"] == "response"
            and answer_fate(r.trace, e["i"]) == "held"]
    assert held
    assert all("held" in caption(r, i) for i in held)
    timeouts = [e["i"] for e in r.trace if e["kind"] == "timeout"]
    said = [explain(r, i).facts["answer"] for i in timeouts]
    assert said.count("none") == 1 and said.count("held") == len(timeouts) - 1
    drawn = arrows(r.trace)
    assert {a.step for a in drawn if a.held} == set(held)  # the arrows' one-pass fates agree
    assert all("(held)" in a.label for a in drawn if a.held)


def test_at_most_six_lanes_by_default_and_all_on_request() -> None:
    r = run_scenario("pipeline", seed=1, messages=10, config={"transactions": True},
                     faults={"crash_step": "after_produce"})
    view = LamportView(r)
    assert len(view.actors) > MAX_LANES
    for step in range(0, len(r.trace), 7):
        pic = view.picture(step)
        heads = [b for b in pic.boxes if b.kind == "text" and b.y1 <= 66
                 and not b.text.startswith("(")]
        assert len(heads) <= MAX_LANES
    crash = first_step(r, "crash")
    lanes, folded = view.choose(crash, view.rows_upto(crash))
    assert "app-1" in lanes and len(lanes) <= MAX_LANES and folded
    every = LamportView(r, lanes="all")
    assert every.choose(crash, every.rows_upto(crash)) == (every.actors, [])
    assert OTHERS not in every.actors


def test_labels_are_whole() -> None:
    r = _dup_run()
    for pic in (log_view(r), lamport_picture(r)):
        assert not any(t.endswith("...") or t.endswith("…") for t in _texts(pic))


def test_captions_say_why_the_dedup_matters() -> None:
    r = run_scenario("producer-retry", seed=1, messages=3, faults={"lost_acks": 1})
    dedup = next(e["i"] for e in r.trace if e["kind"] == "dedup")
    text = caption(r, dedup)
    assert "seq 0" in text and "original offset 0" in text and "appends nothing" in text


def _check_fact(name: str, value, st, r, i: int) -> None:
    ev = r.trace[i]
    tp = (ev.get("data") or {}).get("tp")
    if name in ("hw", "lso"):
        assert getattr(st.partitions[tp], name) == value
    elif name == "offsets":
        cells = {c.offset: c.value for c in st.partitions[tp].cells}
        assert [cells[o] for o in value] == ev["data"]["values"]
    elif name == "offset" and ev["kind"] == "dedup":
        cell = next(c for c in st.partitions[tp].cells if c.offset == value)
        assert (cell.pid, cell.seq) == (ev["data"]["pid"], ev["data"]["seq"])
    elif name == "offset":
        assert any(c.offset == value and c.control for c in st.partitions[tp].cells)
    elif name == "answer":
        fate = answer_fate(r.trace, i) if ev["kind"] in ("response", "lost") else None
        if ev["kind"] == "timeout":
            assert (value == "held") == (i in st.held_timeouts)
        elif fate is not None:
            assert value == fate
        else:  # an ack: the producer holds no more wait for this batch
            assert ev.get("ref") not in st.producers[ev["lane"]].inflight
    elif name == "position":
        assert st.positions[ev["lane"]][next(iter(ev["data"]["positions"]))] == value
    elif name == "committed":
        group = ev["data"]["group"]
        tp = ev["data"]["records"][0][0]
        assert st.committed[group][tp] == value
    elif name == "txn_state":
        assert st.txns[ev["data"]["txn_id"]].state == value
    elif name == "epoch" and ev["kind"] in ("state", "fence"):
        assert st.txns[ev["data"]["txn_id"]].epoch == value
    elif name == "isolation":
        assert st.isolation[ev["lane"]] == value


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_fact_a_caption_states_matches_the_state(name: str) -> None:
    r = run_scenario(name, seed=3, messages=8)
    checked = 0
    for i, st in enumerate(states(r.trace)):
        said = explain(r, i, st)
        assert said.text
        for fact, value in said.facts.items():
            if fact in ("hw", "lso", "offset", "position", "committed", "epoch"):
                assert str(value) in said.text, (i, fact, value, said.text)
            _check_fact(fact, value, st, r, i)
            checked += 1
    assert checked > 0


def test_show_moment_and_the_player_draw_identical_pictures() -> None:
    r = _dup_run()
    i = first_step(r, "duplicate")
    assert resolve_step(r, "duplicate") == i
    m = show_moment(r, at="duplicate")
    assert m.text().startswith(f"step {i + 1} of {len(r.trace)}")
    assert "duplicate" in m.caption and list(m.pictures) == ["log", "lamport"]
    p = StepPlayer(r, start=0)
    assert list(p.jumps) == ["first duplicate"]
    before = p.images["log"].value
    p.jumps["first duplicate"].click()
    assert p.step == i and p.slider.value == i + 1
    assert p.images["log"].value != before
    assert p.caption.value.count("step ") == 1 and m.caption.split(":")[0] in p.caption.value
    for step in (0, i - 1, i, len(r.trace) - 1):
        shown = show_moment(r, at=step).pictures
        played = p.render(step)
        assert {v: pic.svg for v, pic in shown.items()} == \
            {v: pic.svg for v, pic in played.items()}
        assert {v: pic.svg for v, pic in moment_pictures(r, step).items()} == \
            {v: pic.svg for v, pic in shown.items()}


def test_jump_buttons_come_in_time_order() -> None:
    r = run_scenario("transactional-crash", seed=1, messages=20, config={"linger.ms": 0},
                     faults={"crash_step": "after_produce", "crash_at": 5})
    p = StepPlayer(r, start=0)
    steps = [int(b.description.split("step ")[1].rstrip(")")) for b in p.jumps.values()]
    assert len(steps) >= 2 and steps == sorted(steps)
    assert all(b.tooltip for b in p.jumps.values())
    assert all(w.tooltip for w in (p.bar.play, p.bar.slider, p.bar.back, p.bar.fwd,
                                   p.bar.speed))


def test_bad_steps_and_views_name_the_argument() -> None:
    r = _dup_run()
    with pytest.raises(ValueError, match="for at"):
        show_moment(r, at="nonsense")
    with pytest.raises(ValueError, match="for at"):
        show_moment(r, at=len(r.trace))
    with pytest.raises(ValueError, match="for views"):
        show_moment(r, views=("pie",))
    with pytest.raises(ValueError, match="no step flagged 'aborted'"):
        show_moment(r, at="aborted")


def test_the_lanes_keep_the_cause_of_the_step() -> None:
    """05's abort after the crash: the restarted instance whose InitProducerId made the
    coordinator fence and abort gets a lane of its own, not a seat in "others"."""
    r = run_scenario("transactional-crash", seed=1, messages=30,
                     faults={"crash_step": "after_produce", "crash_at": 15})
    view = LamportView(r)
    step = first_step(r, "aborted")
    lanes, folded = view.choose(step, view.rows_upto(step))
    assert "app-1#2" in lanes and "app-1#2" not in folded, (lanes, folded)


def test_a_view_built_up_to_a_step_draws_that_step_as_the_whole_runs_view() -> None:
    for name in ("producer-retry", "transactional-crash", "rebalance"):
        r = run_scenario(name, seed=1, messages=12)
        whole = LamportView(r)
        for step in (len(r.trace) // 3, len(r.trace) - 1):
            assert LamportView(r, upto=step).picture(step).svg == whole.picture(step).svg
        with pytest.raises(ValueError, match="for step"):
            LamportView(r, upto=3).picture(4)


def test_pointer_labels_at_one_offset_share_a_line_and_no_arrow_crosses_a_label() -> None:
    """The reader at the end of the log: its wall (end: HW) and its position are one label;
    every pointer arrow is a box, so the overlap check sees an arrow through a label."""
    from eoslib.viz.svg import overlaps

    r = run_scenario("read-committed", seed=1, messages=10,
                     config={"isolation.level": "read_uncommitted"})
    pic = log_view(r)
    texts = _texts(pic)
    assert any(t.startswith("end: HW=") for t in texts)
    assert any(t.startswith("· position=") for t in texts), texts
    assert any(b.kind == "marker" and b.owner.startswith("pointer") for b in pic.boxes)
    assert overlaps(pic.boxes) == []


def test_a_reader_before_its_first_fetch_starts_at_the_committed_offset() -> None:
    r = run_scenario("rebalance", seed=1, config={"transactions": False})
    step = next(e["i"] for e in r.trace
                if e["kind"] == "rebalance" and "generation 3" in e["label"])
    st = fold(r.trace, step)
    v = reader_view(st, "app-b-consumer", "in-0")
    assert v.position is None and v.committed
    assert {v.fates[o] for o in range(v.committed)} == {"passed"}
    assert v.fates[v.committed] == "unread"


def test_a_narrow_row_keeps_the_newest_committed_transaction_whole() -> None:
    """06d's torn transaction: every -draft record is drawn, none hidden in an elision."""
    r = run_scenario("delayed-end-txn", seed=1, config={"transaction.version": 2})
    texts = _texts(log_view(r))
    assert all(f"m{i}-draft" in texts for i in range(5, 10)), texts


def test_the_sink_table_shows_its_repeated_rows_first() -> None:
    """03's at-least-once crash before the commit: the repeats are early rows (m20..m29), the
    table shows only ten rows, and they must be the repeats, not the newest."""
    r = run_scenario("at-most-once", seed=1, config={"delivery": "at-least-once"},
                     faults={"crash_step": "before_commit"})
    texts = _texts(log_view(r))
    repeats = [t for t in texts if "REPEAT" in t]
    assert len(repeats) == r.counts["processed_twice"] == 10, texts
    assert any("all 10 repeated rows are" in t for t in texts)
