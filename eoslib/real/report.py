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
        rows = compare.compare(cluster, experiments=compare.single_broker())
        rows += _not_recorded(rows, "not run: needs the three-broker cluster")
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
    rows = data["results"] + _not_recorded(data["results"], "not recorded yet")
    return Comparison(rows, "recorded", data["kafka_version"], data["recorded_at"], msg)


def _not_recorded(rows: list[dict[str, Any]], why: str) -> list[dict[str, Any]]:
    """Rows saying so for every experiment and setting ``rows`` lack (none left out)."""
    have = {(r["experiment"], r["setting"]) for r in rows}
    out = []
    for name in compare.SIM_CALLS:
        for on in (False, True):
            label = compare.setting_label(name, on)
            if (name, label) not in have:
                gap = {"error": why}
                out.append({"experiment": name, "setting": label, "sim": gap, "real": gap,
                            "agree": None})
    return out


def what_is_compared() -> str:
    """One line per experiment: its metrics (exact / zero-or-not) and what they count."""
    lines = []
    for name, call in compare.SIM_CALLS.items():
        metrics = ", ".join(f"{m} ({'exact' if how == 'exact' else 'zero or not'})"
                            for m, how in compare.METRICS[name])
        twin = "same script" if call.script else f"scenario {call.scenario!r}"
        lines.append(f"{name} [{metrics}; simulated twin: {twin}]\n    {call.compares}")
    return "\n".join(lines)


def show_differential() -> list[dict[str, Any]]:
    """Print the recorded seeded rows (``eoslib compare --seeds``) and what each checks."""
    from eoslib.real.differential import ENVELOPE

    rows = compare.recorded().get("differential", [])
    for name, text in ENVELOPE.items():
        print(f"{name} checks: {text}")
    print()
    print(compare.format_table(rows))
    agreed = sum(1 for r in rows if r["agree"])
    print(f"\nAgree on {agreed} of {len(rows)} seeded runs "
          f"(Kafka {rows[0]['kafka_version']}, recorded {rows[0]['recorded_at']}).")
    return rows


def plot_comparison(cmp: Comparison, *, figsize: tuple[float, float] | None = None) -> Any:
    """A matplotlib figure: each compared count as a pair of bars (simulation, Kafka)."""
    import matplotlib.pyplot as plt

    figsize = figsize or (9, max(4.8, 0.2 * len(cmp.rows) * 2 + 1.2))

    from eoslib.viz.palette import BLUE, INK, ORANGE

    fig, ax_b = plt.subplots(figsize=figsize, layout="constrained")
    labels: list[str] = []
    sims: list[float] = []
    reals: list[float] = []
    for r in cmp.rows:
        if r["agree"] is None:
            continue
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
    ax_b.set_title(
        f"{'Live run' if cmp.source == 'live' else 'Recorded run'}, Apache Kafka "
        f"{cmp.kafka_version}" + (f" ({cmp.recorded_at})" if cmp.recorded_at else "")
        + "\neach compared count: simulation (hatched) vs real Kafka (solid)",
        color=INK, fontsize=9,
    )
    ax_b.legend(frameon=False, loc="lower right")
    ax_b.spines[["top", "right"]].set_visible(False)
    return fig


def show_comparison(
    *,
    live: bool | None = None,
    bootstrap: str | None = None,
    extra_conf: dict[str, str] | None = None,
) -> Comparison:
    """Print where the results come from and the table, then show the bar plot."""
    import matplotlib.pyplot as plt

    cmp = load_comparison(live=live, bootstrap=bootstrap, extra_conf=extra_conf)
    print(cmp.message)
    agreed = sum(1 for r in cmp.rows if r["agree"])
    compared = [r for r in cmp.rows if r["agree"] is not None]
    missing = sorted({r["experiment"] for r in cmp.rows if r["agree"] is None})
    print(f"The simulation and real Kafka agree on {agreed} of {len(compared)} compared runs.")
    if missing:
        print(f"Not compared here ({len(cmp.rows) - len(compared)} rows, shown as '-'): "
              + ", ".join(missing))
    print()
    print(compare.format_table(cmp.rows))
    plot_comparison(cmp)
    plt.show()
    return cmp
