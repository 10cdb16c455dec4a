"""The log view, the Lamport view, captions and the step player (issue: see the mechanism).

The pictures are checked through what they draw (the artists and the text in them), not by
pixels: a known duplicate is drawn in two cells, HW/LSO pointers sit at the right offsets,
and there is one arrow per request and response in the trace, lost ones drawn as lost.
"""

from __future__ import annotations

import pytest
from matplotlib.text import Text

from eoslib.protocol_state import first_step, state_at
from eoslib.scenarios import SCENARIOS, run_scenario
from eoslib.viz import StepPlayer, caption, lamport_view, log_view, show_moment
from eoslib.viz.lamport import LamportView, arrows
from eoslib.viz.stepper import resolve_step


def _dup_run():
    return run_scenario("producer-retry", seed=1, messages=6,
                        config={"enable.idempotence": False, "client": "java"},
                        faults={"response_loss": 0, "lost_acks": 1})


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def test_the_log_view_draws_a_duplicated_value_in_two_cells() -> None:
    r = _dup_run()
    assert r.counts["duplicates"] == 5
    texts = _texts(log_view(r))
    cells_m0 = [t for t in texts if t.split("\n")[0] == "m0"]
    assert len(cells_m0) == 2, texts
    assert any(t == "m0\n2nd" for t in texts)  # the repeat says it is the second copy


def test_hw_and_lso_pointers_sit_at_the_offsets_of_the_state() -> None:
    r = run_scenario("transactional-crash", seed=1, messages=4)
    step = next(e["i"] for e in r.trace if e["kind"] == "append" and e["data"]["txn"])
    st = state_at(r, step).partition("out-0")
    assert (st.lso, st.hw) == (0, 4)
    fig = log_view(r, step, partitions=["out-0"])
    texts = _texts(fig)
    assert "LSO=0" in texts and "HW=4" in texts
    ann = {t.get_text(): t.xy[0] for t in fig.axes[0].texts if hasattr(t, "xy")}
    assert ann["LSO=0"] == 0 and ann["HW=4"] == 4  # x of a pointer = its offset's left edge
    after = log_view(r, partitions=["out-0"])
    assert "HW=LSO=5" in _texts(after)


def test_open_aborted_and_marker_cells_carry_a_text_mark() -> None:
    # linger.ms=0: the batch leaves the producer before the crash, so the log has records
    # for the ABORT marker to cover (with lingering the crash loses them in the buffer)
    r = run_scenario("transactional-crash", seed=2, messages=4, config={"linger.ms": 0},
                     faults={"crash_step": "after_produce", "crash_at": 2})
    st = state_at(r)
    statuses = {c.status for c in st.partition("out-0").cells}
    assert {"aborted", "control"} <= statuses
    texts = _texts(log_view(r, partitions=["out-0"]))
    assert any(t.endswith("\nx") for t in texts) and "ABORT" in texts


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_one_arrow_per_request_and_response(name: str) -> None:
    r = run_scenario(name, seed=5, messages=5)
    msgs = [e for e in r.trace if (e.get("data") or {}).get("msg")]
    net = [a for a in arrows(r.trace) if a.kind in ("request", "response")]
    assert len(net) == len(msgs)
    lost = [e for e in msgs if e["data"]["lost"]]
    assert sum(a.lost for a in net) == len(lost)
    view = LamportView(r)
    assert len(view.arrows) >= len(net)


def test_a_lost_response_is_drawn_stopping_half_way_with_an_x() -> None:
    r = _dup_run()
    view = LamportView(r)
    lost = [a for a in view.arrows if a.lost]
    assert lost and all(a.kind == "response" for a in lost)
    assert any("LOST" in t for t in _texts(view.fig))
    # up to the step before the first loss, no lost arrow is visible
    view.show(lost[0].step - 1)
    assert not any(a.lost for a in view.visible_arrows())


def test_labels_are_whole() -> None:
    r = _dup_run()
    for fig in (log_view(r), lamport_view(r)):
        assert not any(t.endswith("...") or "\u2026" in t for t in _texts(fig))


def test_captions_say_why_the_dedup_matters() -> None:
    r = run_scenario("producer-retry", seed=1, messages=3, faults={"lost_acks": 1})
    dedup = next(e["i"] for e in r.trace if e["kind"] == "dedup")
    text = caption(r, dedup)
    assert "seq 0" in text and "original offset 0" in text and "appends nothing" in text
    for i in range(len(r.trace)):
        assert caption(r, i)  # every step has a sentence


def test_show_moment_and_the_player_agree_on_step_and_caption() -> None:
    r = _dup_run()
    i = first_step(r, "duplicate")
    assert resolve_step(r, "duplicate") == i
    m = show_moment(r, at="duplicate")
    assert m.text().startswith(f"step {i + 1} of {len(r.trace)}")
    assert "duplicate" in m.caption and [v for v, _, _ in m.images] == ["log", "lamport"]
    p = StepPlayer(r, start=0)
    assert set(p.jumps) == {"duplicate"}
    before = p.images["log"].value
    p.jumps["duplicate"].click()
    assert p.step == i and p.slider.value == i + 1
    assert p.images["log"].value != before
    assert p.caption.value.count("step ") == 1 and m.caption.split(":")[0] in p.caption.value


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
