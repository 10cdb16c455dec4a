"""The controls a dashboard can show: one widget factory, a default, a tooltip, the choices.

Every control says in its tooltip what it changes. Finite controls (checkboxes, drop-downs)
list their values in ``choices``: what :meth:`eoslib.viz.dashboard.Dashboard.choices` offers
a kernel-free page. Numeric controls (sliders, the seed) keep their one default value there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from eoslib.viz.params import CRASH_STEPS

_WIDE = {"description_width": "initial"}


@dataclass(frozen=True)
class ControlSpec:
    """How to build one control: a widget factory, the default value, a tooltip and, for a
    finite control, every value it can take."""

    make: Callable[[Any], widgets.ValueWidget]
    default: Any
    tooltip: str
    choices: tuple[Any, ...] | None = None


def _checkbox(name: str, tip: str) -> Callable[[Any], widgets.ValueWidget]:
    return lambda v: widgets.Checkbox(value=bool(v), description=name, indent=False,
                                      tooltip=tip)


def _dropdown(name: str, options: Iterable[str], tip: str
              ) -> Callable[[Any], widgets.ValueWidget]:
    return lambda v: widgets.Dropdown(options=list(options), value=v, description=name,
                                      style=_WIDE, tooltip=tip)


def _float_slider(name: str, hi: float, tip: str) -> Callable[[Any], widgets.ValueWidget]:
    return lambda v: widgets.FloatSlider(
        value=v, min=0.0, max=hi, step=0.01, description=name, readout_format=".2f",
        continuous_update=False, style=_WIDE, tooltip=tip)


_TIPS = {
    "enable.idempotence": "Producer config: the broker remembers each producer's last 5 "
                          "batches (producer id + sequence) and drops a retried batch it "
                          "already has.",
    "transactions": "The app writes its output and commits its input offsets in one "
                    "transaction (transactional.id set, offsets sent with the transaction).",
    "isolation.level": "Consumer config: read_committed returns only committed records and "
                       "stops at the LSO (an open transaction); read_uncommitted returns "
                       "everything up to the HW, aborted records too.",
    "delivery": "When the app commits its input offsets: before processing (at-most-once), "
                "after (at-least-once), or inside a transaction (exactly-once).",
    "acks": "Producer config: how many replicas must store a write before the broker "
            "answers (0: no answer at all).",
    "response_loss": "Fault: the chance that each broker answer is lost on its way back "
                     "(the producer times out and retries).",
    "request_loss": "Fault: the chance that each request is lost before the broker sees it.",
    "crash_step": "Fault: where in the poll-process-produce-commit loop the app crashes "
                  "(once, inside the run).",
    "lost_acks": "Fault: exactly this many broker answers are lost.",
    "seed": "The run's random seed: the same seed gives the same run.",
    "client": "Whose client semantics the run follows: librdkafka (confluent-kafka, the "
              "course's default) or the Java client (kafka-clients).",
    "messages": "How many input messages the run handles.",
}
_ISOLATION = ("read_uncommitted", "read_committed")
_DELIVERY = ("at-most-once", "at-least-once", "exactly-once")
_ACKS = ("0", "1", "all")
_CLIENTS = ("librdkafka", "java")

#: Every control a dashboard can show, by name.
CONTROLS: dict[str, ControlSpec] = {
    "enable.idempotence": ControlSpec(_checkbox("enable.idempotence",
                                                _TIPS["enable.idempotence"]), True,
                                      _TIPS["enable.idempotence"], (False, True)),
    "transactions": ControlSpec(_checkbox("transactions", _TIPS["transactions"]), False,
                                _TIPS["transactions"], (False, True)),
    "isolation.level": ControlSpec(_dropdown("isolation.level", _ISOLATION,
                                             _TIPS["isolation.level"]), "read_uncommitted",
                                   _TIPS["isolation.level"], _ISOLATION),
    "delivery": ControlSpec(_dropdown("delivery", _DELIVERY, _TIPS["delivery"]),
                            "at-least-once", _TIPS["delivery"], _DELIVERY),
    "acks": ControlSpec(_dropdown("acks", _ACKS, _TIPS["acks"]), "all", _TIPS["acks"], _ACKS),
    "response_loss": ControlSpec(_float_slider("response_loss", 0.5, _TIPS["response_loss"]),
                                 0.1, _TIPS["response_loss"]),
    "request_loss": ControlSpec(_float_slider("request_loss", 0.5, _TIPS["request_loss"]),
                                0.0, _TIPS["request_loss"]),
    "crash_step": ControlSpec(_dropdown("crash_step", CRASH_STEPS, _TIPS["crash_step"]),
                              "none", _TIPS["crash_step"], CRASH_STEPS),
    "lost_acks": ControlSpec(
        lambda v: widgets.IntSlider(value=v, min=0, max=10, description="lost_acks",
                                    continuous_update=False, style=_WIDE,
                                    tooltip=_TIPS["lost_acks"]),
        0, _TIPS["lost_acks"]),
    "client": ControlSpec(_dropdown("client", _CLIENTS, _TIPS["client"]), "librdkafka",
                          _TIPS["client"], _CLIENTS),
    "seed": ControlSpec(
        lambda v: widgets.IntText(value=v, description="seed", style=_WIDE,
                                  layout=widgets.Layout(width="10em"), tooltip=_TIPS["seed"]),
        0, _TIPS["seed"]),
    "messages": ControlSpec(
        lambda v: widgets.IntSlider(value=v, min=10, max=1000, step=10, description="messages",
                                    continuous_update=False, style=_WIDE,
                                    tooltip=_TIPS["messages"]),
        100, _TIPS["messages"]),
}


def check_controls(names: Iterable[str]) -> list[str]:
    """``names`` as a list, or a ValueError naming the first unknown control."""
    names = list(names)
    unknown = [n for n in names if n not in CONTROLS]
    if unknown:
        raise ValueError(f"Invalid value {unknown[0]!r} for controls: expected some of "
                         f"{', '.join(CONTROLS)}")
    return names
