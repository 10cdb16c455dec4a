"""Colour-blind-safe colours, and a marker and hatch for every outcome and trace kind.

Meaning never rests on colour alone: every outcome has a colour, a marker (for points) and a
hatch (for bars), and every trace kind has its own marker shape. The colours are matplotlib's
``petroff10`` style (Petroff 2021, designed for colour-vision deficiency) when the installed
matplotlib has it (3.10+), else the Okabe-Ito palette.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.style

#: Okabe & Ito (2008), "Color Universal Design": the fallback palette.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)


def _petroff10() -> tuple[str, ...] | None:
    style = matplotlib.style.library.get("petroff10")
    if style is None:
        return None
    return tuple(c["color"] for c in style["axes.prop_cycle"])


_P = _petroff10()

#: Which palette the colours below come from: ``"petroff10"`` or ``"okabe-ito"``.
PALETTE_NAME: str = "petroff10" if _P else "okabe-ito"

#: The palette as a list of hex colours.
COLORS: tuple[str, ...] = _P or OKABE_ITO

if _P:  # blue, orange, red, grey, purple, brown, dark orange, tan, slate, light blue
    BLUE, ORANGE, RED, GREY, PURPLE, BROWN, DARK_ORANGE, TAN, SLATE, LIGHT_BLUE = _P
else:  # pragma: no cover - matplotlib < 3.10
    BLUE, ORANGE, RED, GREY, PURPLE = "#0072B2", "#E69F00", "#D55E00", "#999999", "#CC79A7"
    BROWN, DARK_ORANGE, TAN, SLATE, LIGHT_BLUE = (
        "#8c564b", "#E69F00", "#F0E442", "#000000", "#56B4E9",
    )

#: The colour of ordinary (unflagged) trace events and neutral bars.
NEUTRAL = SLATE
#: Text and outline colour.
INK = "#222222"


@dataclass(frozen=True)
class Style:
    """How one outcome is drawn: a colour, a point marker, a bar hatch and a legend label."""

    color: str
    marker: str
    hatch: str
    label: str


#: Outcome (a ``Result.counts`` key) -> style. Each has a distinct colour, marker and hatch.
OUTCOME_STYLES: dict[str, Style] = {
    "ok": Style(BLUE, "o", "", "ok"),
    "duplicates": Style(ORANGE, "D", "//", "duplicates"),
    "lost": Style(RED, "X", "xx", "lost"),
    "aborted_reads": Style(PURPLE, "s", "\\\\", "aborted reads"),
    "uncommitted_reads": Style(LIGHT_BLUE, "^", "..", "uncommitted reads"),
    "processed_twice": Style(DARK_ORANGE, "P", "++", "processed twice"),
    "reordered": Style(TAN, "v", "--", "reordered"),
    "fenced": Style(BROWN, "p", "||", "fenced"),
    "crash": Style(GREY, "*", "oo", "crash"),
}

#: A trace event's ``flag`` -> the outcome whose style draws it.
FLAG_OUTCOME: dict[str, str] = {
    "duplicate": "duplicates",
    "aborted": "aborted_reads",
    "lost": "lost",
    "fenced": "fenced",
    "crash": "crash",
}

#: Flags that are not an outcome of their own: drawn hollow (white face, black outline).
EXTRA_FLAG_STYLES: dict[str, Style] = {
    "error": Style("#ffffff", "o", "", "error"),
}

#: Counts drawn as anomalies, in display order.
ANOMALY_KEYS: tuple[str, ...] = (
    "duplicates",
    "lost",
    "aborted_reads",
    "uncommitted_reads",
    "processed_twice",
    "reordered",
    "fenced",
)

#: Trace kind (see ``eoslib.result.TRACE_KINDS``) -> marker. Every kind has its own shape.
KIND_MARKERS: dict[str, str] = {
    "send": ">",
    "retry": r"$\circlearrowleft$",
    "ack": "o",
    "error": "$!$",
    "append": "s",
    "dedup": "D",
    "reject": r"$\oslash$",
    "marker": "|",
    "lost": "v",
    "timeout": "X",
    "crash": "*",
    "restart": "^",
    "state": "h",
    "fence": "p",
    "poll": "<",
    "commit": r"$\checkmark$",
    "write": "d",
    "rebalance": "P",
    "replicate": "3",
    "leader": "2",
    "seek": "1",
    "request": "4",
    "response": r"$\leftarrow$",
}

#: Markers that are lines only (no face): drawn with a thicker line so they stay visible.
LINE_MARKERS = frozenset({"4", "+", "|", "2", "1", "3", "x", "_"})


def is_line_marker(marker: str) -> bool:
    """True for line-only markers and glyph markers (``"$...$"``): edge in the face colour."""
    return marker in LINE_MARKERS or marker.startswith("$")


def outcome_style(name: str) -> Style:
    """The style of an outcome (a counts key) or of a trace flag; unknown names get a grey one."""
    if name in EXTRA_FLAG_STYLES:
        return EXTRA_FLAG_STYLES[name]
    name = FLAG_OUTCOME.get(name, name)
    return OUTCOME_STYLES.get(name, Style(GREY, "o", "", name.replace("_", " ")))


def kind_marker(kind: str) -> str:
    """The marker of a trace kind (``"o"`` for a kind this module does not know)."""
    return KIND_MARKERS.get(kind, "o")


def pretty(key: str) -> str:
    """A counts key as words: ``"aborted_reads"`` -> ``"aborted reads"``."""
    return _PRETTY.get(key, key.replace("_", " "))


_PRETTY = {"lso_lag_ms": "LSO lag (ms)", "txn_committed": "txns committed",
           "txn_aborted": "txns aborted"}
