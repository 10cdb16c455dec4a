"""Show the simulation-versus-real-Kafka comparison in a notebook: a table and a bar plot.

:func:`show_comparison` runs the comparison live when a broker is available (the local one
from ``eoslib broker start``, or a ``bootstrap`` address), and otherwise says so plainly and
shows the results recorded with the course (with their Kafka version and date).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eoslib.real import broker, compare


@dataclass
class Comparison:
    """Rows of :func:`eoslib.real.compare.compare` and where they come from."""

    rows: list[dict[str, Any]]
    source: str  # "live" or "recorded"
    kafka_version: str
    recorded_at: str | None
    message: str


def load_comparison(
    *,
    live: bool | None = None,
    bootstrap: str | None = None,
    extra_conf: dict[str, str] | None = None,
) -> Comparison:
    """Live rows when a broker is reachable (or ``live=True``), else the recorded ones.

    ``live=None`` (auto) runs live when ``bootstrap`` is given or the local broker is
    running; ``live=False`` always shows the recorded results.
    """
    st = broker.status() if bootstrap is None else None
    if live is None:
        live = bootstrap is not None or st is not None
    if live:
        from eoslib.real.clients import Cluster

        if bootstrap is not None:
            cluster, version = Cluster(bootstrap, dict(extra_conf or {})), "your cluster's"
        else:
            if st is None:
                raise broker.BrokerError("no local broker is running: `eoslib broker start`")
            cluster, version = Cluster.from_state(st, extra_conf), st.kafka_version
        rows = compare.compare(cluster)
        where = bootstrap or (st.bootstrap if st else "?")
        return Comparison(
            rows, "live", version, None, f"Live run against Kafka {version} at {where}."
        )
    data = compare.recorded()
    msg = (
        "No Kafka broker is running here, so this shows the results recorded with the "
        f"course: Apache Kafka {data['kafka_version']}, recorded on {data['recorded_at']}. "
        "To run them yourself: `eoslib broker fetch`, `eoslib broker start`, then re-run "
        "this cell (or `eoslib compare` in a terminal)."
    )
    return Comparison(data["results"], "recorded", data["kafka_version"], data["recorded_at"], msg)


def plot_comparison(cmp: Comparison, *, figsize: tuple[float, float] = (14, 4.8)) -> Any:
    """A matplotlib figure: the table on the left, paired horizontal bars on the right."""
    import matplotlib.pyplot as plt

    from eoslib.viz.palette import BLUE, INK, ORANGE

    fig, (ax_t, ax_b) = plt.subplots(
        1, 2, figsize=figsize, layout="constrained", gridspec_kw={"width_ratios": [1.7, 1]}
    )
    ax_t.axis("off")
    cells = [list(row) for row in compare.table_rows(cmp.rows)]
    table = ax_t.table(
        cellText=cells,
        colLabels=["experiment", "setting", "simulation", "real Kafka", "agree"],
        cellLoc="left",
        colLoc="left",
        bbox=(0.0, 0.0, 1.0, 1.0),
        colWidths=(0.16, 0.30, 0.23, 0.23, 0.08),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    ax_t.set_title(
        f"{'Live run' if cmp.source == 'live' else 'Recorded run'}: Apache Kafka "
        f"{cmp.kafka_version}" + (f", {cmp.recorded_at}" if cmp.recorded_at else ""),
        color=INK,
    )
    labels: list[str] = []
    sims: list[float] = []
    reals: list[float] = []
    for r in cmp.rows:
        for name, _how in compare.METRICS[r["experiment"]]:
            s, v = r["sim"].get(name), r["real"].get(name)
            on = r["setting"] == compare.setting_label(r["experiment"], True)
            labels.append(f"{r['experiment']} {'on' if on else 'off'}: {name}")
            sims.append(s if isinstance(s, int | float) else 0)
            reals.append(v if isinstance(v, int | float) else 0)
    ys = [len(labels) - 1 - i for i in range(len(labels))]  # first row on top
    h = 0.4
    ax_b.barh([y + h / 2 for y in ys], sims, h, label="simulation", color=BLUE, hatch="//")
    ax_b.barh([y - h / 2 for y in ys], reals, h, label="real Kafka", color=ORANGE)
    ax_b.set_yticks(ys, labels, fontsize=8)
    ax_b.set_xlabel("count")
    ax_b.set_title("Each compared count, both ways", color=INK)
    ax_b.legend(frameon=False, loc="lower right")
    ax_b.spines[["top", "right"]].set_visible(False)
    return fig


def show_comparison(
    *,
    live: bool | None = None,
    bootstrap: str | None = None,
    extra_conf: dict[str, str] | None = None,
) -> Comparison:
    """Print where the results come from, then show the table and the bar plot."""
    import matplotlib.pyplot as plt

    cmp = load_comparison(live=live, bootstrap=bootstrap, extra_conf=extra_conf)
    print(cmp.message)
    agreed = sum(1 for r in cmp.rows if r["agree"])
    print(f"The simulation and real Kafka agree on {agreed} of {len(cmp.rows)} runs.")
    plot_comparison(cmp)
    plt.show()
    return cmp
