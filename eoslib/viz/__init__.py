"""Pictures and widgets for the course: counts charts, timelines, dashboards and sweeps.

- :mod:`~eoslib.viz.column`: the notebook column's width and the smallest text (one place).
- :mod:`~eoslib.viz.svg`: the SVG writer of the diagrams (measured text, no overlaps).
- :mod:`~eoslib.viz.palette`: colour-blind-safe colours, markers and hatches.
- :mod:`~eoslib.viz.plots`: :func:`counts_bar`, :func:`compare_bar`, alt text, PNG export.
- :mod:`~eoslib.viz.timeline`: :func:`timeline` of a run's trace, one lane per actor.
- :mod:`~eoslib.viz.dashboard`: :class:`Dashboard`, :func:`measure_update_latency`;
  :mod:`~eoslib.viz.controls` its controls; :mod:`~eoslib.viz.frame` its kernel-free
  :class:`Frame`; :mod:`~eoslib.viz.players` the player controls and :class:`TimelinePlayer`.
- :mod:`~eoslib.viz.sweep`: :func:`sweep` over seeds and a parameter, :func:`sweep_plot`.
- :mod:`~eoslib.viz.logview`: :func:`log_view`, each partition as a row of cells, and
  what each reader is handed.
- :mod:`~eoslib.viz.lamport`: :func:`lamport_view`, one line per actor, one arrow per message.
- :mod:`~eoslib.viz.captions`: :func:`caption`, one sentence per step.
- :mod:`~eoslib.viz.stepper`: :func:`show_moment` (static) and :class:`StepPlayer` (widgets).
- :mod:`~eoslib.viz.whiteboard`: :func:`fencing_picture`, :func:`hanging_picture`,
  :func:`write_cycle_picture`.
"""

from eoslib.viz.captions import caption
from eoslib.viz.dashboard import Dashboard, measure_update_latency
from eoslib.viz.frame import Frame
from eoslib.viz.lamport import LamportView, lamport_picture, lamport_view
from eoslib.viz.logview import log_picture, log_view
from eoslib.viz.players import TimelinePlayer
from eoslib.viz.plots import alt_text, compare_bar, counts_bar, counts_text, to_png
from eoslib.viz.stepper import StepPlayer, moment_pictures, show_moment
from eoslib.viz.svg import Picture
from eoslib.viz.sweep import summarize, sweep, sweep_plot
from eoslib.viz.timeline import TimelineView, timeline
from eoslib.viz.whiteboard import fencing_picture, hanging_picture, write_cycle_picture

# Note: the names ``sweep`` and ``timeline`` are also submodules. Importing the submodules
# first and the functions last (above) leaves the package attributes bound to the functions.
__all__ = [
    "Dashboard",
    "Frame",
    "LamportView",
    "Picture",
    "StepPlayer",
    "TimelinePlayer",
    "TimelineView",
    "alt_text",
    "caption",
    "compare_bar",
    "counts_bar",
    "counts_text",
    "fencing_picture",
    "hanging_picture",
    "lamport_picture",
    "lamport_view",
    "log_picture",
    "log_view",
    "measure_update_latency",
    "moment_pictures",
    "show_moment",
    "summarize",
    "sweep",
    "sweep_plot",
    "timeline",
    "to_png",
    "write_cycle_picture",
]

from eoslib.viz.column import use_in_notebooks as _use_in_notebooks  # noqa: E402

_use_in_notebooks()  # in a notebook: every matplotlib figure legible and sharp (column.py)
