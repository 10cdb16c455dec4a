"""Show the simulation-versus-real-Kafka comparison in a notebook: a table and a picture.

:func:`show_comparison` runs the comparison live when a broker is available (the local one
from ``eoslib broker start``, or a ``bootstrap`` address), and otherwise says so plainly and
shows the results recorded with the course (with their Kafka and client versions and date).
Every row names its client. :func:`show_no_twin` lists the claims no row covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eoslib.real import broker, compare
from eoslib.real.no_twin import NO_TWIN


@dataclass
class Comparison:
    """Rows of :func:`eoslib.real.compare.compare` and where they come from."""

    rows: list[dict[str, Any]]
    source: str  # "live" or "recorded"
    kafka_version: str
    recorded_at: str | None
    message: str
    clients: dict[str, str] | None = None


def load_comparison(
    *,
    live: bool | None = None,
    bootstrap: str | None = None,
    extra_conf: dict[str, str] | None = None,
    client: str = "both",
) -> Comparison:
    """Live rows when a broker is reachable (or ``live=True``), else the recorded ones.

    ``live=None`` (auto) runs live when ``bootstrap`` is given or the local broker is
    running; ``live=False`` always shows the recorded results. ``client`` keeps the rows
    of ``librdkafka``, ``java`` or ``both`` (live runs only).
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
        names = compare.single_broker() + list(compare.TWINS)
        rows = compare.compare(cluster, experiments=names, client=client)
        rows += _not_recorded(rows, "not run: needs the three-broker cluster", client)
        where = bootstrap or (st.bootstrap if st else "?")
        return Comparison(rows, "live", version, None,
                          f"Live run against Kafka {version} at {where}.",
                          compare.client_versions())
    data = compare.recorded()
    clients = data.get("clients") or {}
    msg = (
        "No Kafka broker is running here, so this shows the results recorded with the "
        f"course: Apache Kafka {data['kafka_version']}, recorded on {data['recorded_at']} "
        f"with {clients.get('java', 'the Java client')} and "
        f"{clients.get('librdkafka', 'confluent-kafka')}. To run them yourself: "
        "`eoslib broker fetch`, `eoslib broker start`, then re-run this cell (or "
        "`eoslib compare` in a terminal)."
    )
    rows = data["results"] + _not_recorded(data["results"], "not recorded yet")
    return Comparison(rows, "recorded", data["kafka_version"], data["recorded_at"], msg,
                      clients)


def _not_recorded(rows: list[dict[str, Any]], why: str,
                  client: str = "both") -> list[dict[str, Any]]:
    """Rows saying so for every experiment, client and setting ``rows`` lack."""
    have = {(r["experiment"], r.get("client", "librdkafka"), r["setting"]) for r in rows}
    out = []
    for name in compare.experiments():
        for c, label in compare.row_keys(name):
            if client not in ("both", c) or (name, c, label) in have:
                continue
            gap = {"error": why}
            out.append({"experiment": name, "client": c, "setting": label, "sim": gap,
                        "real": gap, "agree": None})
    return out


def what_is_compared() -> str:
    """One entry per experiment: its clients, metrics (exact / zero-or-not), simulated twin
    and what they count."""
    lines = []
    for name in compare.experiments():
        metrics = ", ".join(f"{m} ({'exact' if how == 'exact' else 'zero or not'})"
                            for m, how in compare.metrics(name))
        if name in compare.SIM_CALLS:
            call = compare.SIM_CALLS[name]
            clients = "librdkafka"
            twin = "same script" if call.script else f"scenario {call.scenario!r}"
            what = call.compares
        else:
            t = compare.TWINS[name]
            clients = " and ".join(t.clients)
            twin = f"scenario {t.scenario!r}" if t.scenario else "same script"
            what = t.compares + (f" [notebook {t.notebooks}]" if t.notebooks else "")
        lines.append(f"{name} ({clients}) [{metrics}; simulated twin: {twin}]\n    {what}")
    return "\n".join(lines)


def show_no_twin() -> None:
    """Print the course's claims that no row compares with Kafka, and why."""
    for u in NO_TWIN:
        print(f"- {u.claim} [notebook {u.notebooks}]\n    why no twin: {u.reason}")


def show_differential() -> list[dict[str, Any]]:
    """Print the recorded seeded rows (``eoslib compare --seeds``) and what each checks."""
    from eoslib.real.differential import ENVELOPE

    rows = compare.recorded().get("differential", [])
    for name, text in ENVELOPE.items():
        print(f"{name} checks: {text}")
    print()
    print(compare.format_table(rows))
    agreed = sum(1 for r in rows if r["agree"])
    print(f"\nAgree on {agreed} of {len(rows)} seeded runs (librdkafka; Kafka "
          f"{rows[0]['kafka_version']}, recorded {rows[0]['recorded_at']}).")
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per client: (rows that agree, rows compared)."""
    out: dict[str, tuple[int, int]] = {}
    for c in compare.CLIENTS:
        mine = [r for r in rows if r.get("client", "librdkafka") == c and r["agree"] is not None]
        out[c] = (sum(1 for r in mine if r["agree"]), len(mine))
    return out


def client_title(client: str, versions: dict[str, str] | None = None) -> str:
    """``Java client (kafka-clients 4.1.1)``, ``librdkafka client (confluent-kafka ...)``."""
    name = "Java client" if client == "java" else "librdkafka client"
    version = (versions or {}).get(client)
    return f"{name} ({version})" if version else compare.CLIENT_NAMES[client]


def plot_comparison(cmp: Comparison, *, figsize: tuple[float, float] | None = None) -> Any:
    """A matplotlib figure: one line per experiment, one column per client; each cell says
    how many of that client's rows agree (solid), disagree (hatched, 'NO') or were not
    compared (blank)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from eoslib.viz.palette import BLUE, INK, ORANGE

    names = compare.experiments()
    clients = list(compare.CLIENTS)
    fig, ax = plt.subplots(figsize=figsize or (8.8, 0.36 * len(names) + 1.4),
                           layout="constrained")
    for y, name in enumerate(reversed(names)):
        for x, c in enumerate(clients):
            mine = [r for r in cmp.rows if r["experiment"] == name
                    and r.get("client", "librdkafka") == c]
            compared = [r for r in mine if r["agree"] is not None]
            agree = sum(1 for r in compared if r["agree"])
            if not mine:
                text, face, hatch = "no rows", "white", ""
            elif not compared:
                text, face, hatch = f"{len(mine)} not compared", "white", ".."
            elif agree == len(compared):
                text, face, hatch = f"{agree} of {len(compared)} agree", BLUE, ""
            else:
                text, face, hatch = f"NO: {agree} of {len(compared)} agree", ORANGE, "//"
            ax.add_patch(Rectangle((x + 0.03, y + 0.08), 0.94, 0.84, facecolor=face,
                                   edgecolor=INK, hatch=hatch, linewidth=0.6,
                                   alpha=0.35 if face != "white" else 1.0))
            ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=10, color=INK)
    ax.set_xlim(0, len(clients))
    ax.set_ylim(0, len(names))
    ax.set_xticks([x + 0.5 for x in range(len(clients))],
                  [compare.CLIENT_NAMES[c] for c in clients], fontsize=10)
    ax.xaxis.tick_top()
    ax.set_yticks([y + 0.5 for y in range(len(names))], list(reversed(names)), fontsize=10)
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    where = ("Live run" if cmp.source == "live" else f"Recorded {cmp.recorded_at}")
    ax.set_title(f"{where}, Apache Kafka {cmp.kafka_version}: rows where the simulator "
                 "and Kafka agree, per client", color=INK, fontsize=10, loc="left")
    return fig


#: The widest line :func:`format_blocks` aims for: a notebook's ~880 px column in monospace.
BLOCK_WIDTH = 88


def format_blocks(rows: list[dict[str, Any]], width: int = BLOCK_WIDTH) -> str:
    """The comparison rows as narrow plain text: one block per experiment and client, one
    line per setting (agree, setting, result), the result once when the simulation and
    Kafka print the same, else both on two lines; a result that does not fit goes on its
    own line. :func:`eoslib.real.compare.format_table` is the wide one-line-per-row form."""
    lines = ["agree  setting: result (one result: the simulation and Kafka print the same)"]
    cells = compare.table_rows(rows)
    pads: dict[tuple[str, str], int] = {}
    for exp, client, setting, *_ in cells:
        pads[(exp, client)] = max(pads.get((exp, client), 0), len(setting))
    block = None
    for exp, client, setting, sim, real, agree in cells:
        if (exp, client) != block:
            block = (exp, client)
            lines.append(f"{exp} · {client}")
        pad = pads[block]
        results = [sim] if sim == real else [f"simulation: {sim}", f"real Kafka: {real}"]
        head = f"  {agree:<3}  {setting:<{pad}}  "
        if len(head) + max(len(r) for r in results) > width:
            head, indent = f"  {agree:<3}  {setting}", " " * 9
            lines.append(head.rstrip())
            lines += [indent + r for r in results]
            continue
        lines.append(head + results[0])
        lines += [" " * len(head) + r for r in results[1:]]
    return "\n".join(lines)


def show_comparison(
    *,
    live: bool | None = None,
    bootstrap: str | None = None,
    extra_conf: dict[str, str] | None = None,
    client: str = "both",
) -> Comparison:
    """Print where the results come from, the count per client and the table; show the
    picture."""
    import matplotlib.pyplot as plt

    cmp = load_comparison(live=live, bootstrap=bootstrap, extra_conf=extra_conf,
                          client=client)
    print(cmp.message)
    for c, (agreed, compared) in summary(cmp.rows).items():
        print(f"{client_title(c, cmp.clients)}: the simulation and Kafka agree on {agreed} "
              f"of {compared} compared rows.")
    missing = sorted({r["experiment"] for r in cmp.rows if r["agree"] is None})
    if missing:
        n = sum(1 for r in cmp.rows if r["agree"] is None)
        print(f"Not compared here ({n} rows, shown as '-'): " + ", ".join(missing))
    print()
    print(format_blocks(cmp.rows))
    fig = plot_comparison(cmp)
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(fig)  # through eoslib.viz's figure formatter (legible 2x PNG)
        else:
            plt.show()
    finally:
        plt.close(fig)
    return cmp
