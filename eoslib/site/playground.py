"""Named subsets of dashboards too large to record whole (notebook 11's playground).

A dashboard whose finite controls make more than ``dashboards.MAX_COMBINATIONS`` combinations,
or whose sliders matter, is recorded on the site over a :class:`Subset`: each control at a
few values chosen so the contrasts the notebook teaches are there, every combination of those
values recorded (the simulator's refusals included, shown as its error, as the notebook
does). Values a control offers in the notebook but not recorded are listed on the page as
greyed options, with the command that runs them live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eoslib.viz.params import CRASH_STEPS

#: The most combinations a subset may record (11's 7,776 pack into 0.3 MB, 8 MB unpacked).
MAX_SUBSET_COMBINATIONS = 10_000


@dataclass(frozen=True)
class Subset:
    """Which values of which controls a page records for a dashboard of ``scenario`` that
    has every control in ``needs``. A control absent from ``values`` is recorded at the
    dashboard's value only; ``add`` names controls the site adds to the dashboard (the
    notebook does not show them); ``why`` says, per control, why these values."""

    name: str
    scenario: str
    needs: frozenset[str]
    values: Mapping[str, tuple[Any, ...]]
    why: Mapping[str, str] = field(default_factory=dict)
    add: tuple[str, ...] = ()


PLAYGROUND = Subset(
    name="delivery presets x settings x crash placements x lost answers x seeds x client",
    scenario="pipeline",
    needs=frozenset({"transactions", "delivery", "enable.idempotence", "acks",
                     "isolation.level", "response_loss", "crash_step"}),
    values={
        "transactions": (False, True),
        "delivery": ("at-most-once", "at-least-once", "exactly-once"),
        "enable.idempotence": (False, True),
        "acks": ("0", "1", "all"),
        "isolation.level": ("read_uncommitted", "read_committed"),
        "response_loss": (0.0, 0.05, 0.3),
        "crash_step": CRASH_STEPS,
        "seed": (1, 2, 3),
        "client": ("librdkafka", "java"),
    },
    why={
        "transactions": "both: on makes output and offsets one transaction",
        "delivery": "the three presets (transactions=on goes with exactly-once only; the "
                    "other pairs are the simulator's refusal, shown as such)",
        "enable.idempotence": "both: on removes the duplicates of producer retries",
        "acks": "all three (acks other than all with idempotence is refused, challenge 4)",
        "isolation.level": "both: the reader's side of transactions (challenge 2)",
        "response_loss": "no lost answer, the notebook's 5 %, and 30 % (challenge 5)",
        "crash_step": "every place in the loop, and no crash",
        "client": "librdkafka (the course's default) and the Java client: added by the site "
                  "(not a control of the notebook's dashboard)",
        "request_loss": "0 only: the notebook's value",
        "lost_acks": "0 only: the notebook's value",
        "seed": "the notebook's 1, and 2 and 3: the same settings under other random draws "
                "(challenge 5: is a clean verdict safe, or lucky?)",
        "messages": "50 only: the notebook's value",
    },
    add=("client",),
)

#: Every named subset, tried in order; the first that fits a dashboard is used.
SUBSETS: tuple[Subset, ...] = (PLAYGROUND,)


def subset_for(dash: Any) -> Subset | None:
    """The named subset that fits ``dash`` (its scenario and controls), or None."""
    names = set(dash.controls)
    for s in SUBSETS:
        if s.scenario == dash.scenario and s.needs <= names:
            return s
    return None


def widened(dash: Any, subset: Subset) -> Any:
    """``dash`` itself, or, when the subset adds controls, the same dashboard (scenario,
    values, run function) with those controls too: frames still come from
    ``Dashboard.frame``."""
    extra = [n for n in subset.add if n not in dash.controls]
    if not extra:
        return dash
    return type(dash)(dash.scenario, [*dash.controls, *extra], {**dash.fixed, **dash.values()},
                      run=dash.run)


def recorded_values(dash: Any, subset: Subset) -> dict[str, list[Any]]:
    """Control -> the values recorded, in the order the notebook offers them; the
    dashboard's own value is always one of them (the page opens where the notebook does)."""
    from eoslib.viz.controls import CONTROLS

    now = dash.values()
    out: dict[str, list[Any]] = {}
    for n in dash.controls:
        vals = list(subset.values.get(n, ()))
        if now[n] not in vals:
            vals.append(now[n])
        order = CONTROLS[n].choices
        if order is not None:
            vals.sort(key=lambda v: order.index(v) if v in order else len(order))
        elif all(isinstance(v, (int, float)) for v in vals):
            vals.sort()
        out[n] = vals
    return out


def fmt(v: Any) -> str:
    """A value as a menu shows it: ``none``, ``true``, ``0.05``, ``0`` (not ``0.0``)."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v).lower()
    return f"{v:g}" if isinstance(v, float) else str(v)


def options(dash: Any, name: str, recorded: list[Any]) -> list[dict[str, Any]]:
    """What a control's menu lists, in order: ``{"label", "index"}`` per recorded value
    (``index`` into ``recorded``) and ``{"label", "index": None}`` (greyed) for what the
    notebook offers that was not recorded."""
    from eoslib.viz.controls import CONTROLS

    choices = CONTROLS[name].choices
    if choices is not None:
        return [{"label": fmt(v), "index": recorded.index(v)} if v in recorded else
                {"label": f"{fmt(v)} (not recorded)", "index": None} for v in choices]
    opts: list[dict[str, Any]] = [{"label": fmt(v), "index": i} for i, v in enumerate(recorded)]
    w = dash.controls[name]
    if hasattr(w, "min") and hasattr(w, "max"):
        lo, hi = w.min, w.max
        more = f"other: {lo:g} to {hi:g} (live)"
    else:
        more = "other values (live)"
    return [*opts, {"label": more, "index": None}]
