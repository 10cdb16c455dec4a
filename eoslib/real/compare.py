"""Simulation versus real Kafka: run each experiment both ways and say whether they agree.

Two tables say what runs: :data:`~eoslib.real.sim_calls.SIM_CALLS` (the librdkafka
experiments, confluent-kafka on the real side) and :data:`~eoslib.real.java_twins.TWINS`
(the Java client's claims, with librdkafka rows where the two clients differ). A row is
one experiment, one client and one value of its setting. :func:`compare` returns the rows;
:func:`recorded` reads the rows saved by ``eoslib compare --record`` (``recorded.json``)
for machines without a broker; :func:`format_table` prints them, every row with its client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eoslib.real import java_twins
from eoslib.real.clients import Cluster
from eoslib.real.java_twins import TWINS
from eoslib.real.sim_calls import (
    COUNT_KEYS,
    LIBRDKAFKA,
    METRICS,
    SIM_CALLS,
    THREE_BROKER,
    SimCall,
    run_sim,
    setting_label,
    single_broker,
)

__all__ = ["CLIENTS", "COUNT_KEYS", "LIBRDKAFKA", "METRICS", "RECORDED", "SIM_CALLS",
           "THREE_BROKER", "TWINS", "SimCall", "agrees", "client_versions", "compare",
           "experiments", "format_counts", "format_table", "metrics", "record",
           "record_differential", "recorded", "row_keys", "run_sim", "setting_label",
           "single_broker", "table_rows"]

RECORDED = Path(__file__).with_name("recorded.json")

#: the clients a row can name, and how the notebook names them
CLIENTS = ("librdkafka", "java")
CLIENT_NAMES = {"librdkafka": "librdkafka (confluent-kafka)", "java": "Java (kafka-clients)"}


def experiments() -> list[str]:
    """Every experiment: the librdkafka ones, then the Java twins."""
    return [*SIM_CALLS, *TWINS]


def metrics(experiment: str) -> tuple[tuple[str, str], ...]:
    """What must agree for ``experiment``: (count, "exact" | "nonzero") pairs."""
    return METRICS[experiment] if experiment in METRICS else TWINS[experiment].metrics


def row_keys(experiment: str) -> list[tuple[str, str]]:
    """(client, setting label) of every row ``experiment`` has."""
    if experiment in SIM_CALLS:
        return [("librdkafka", setting_label(experiment, on)) for on in (False, True)]
    twin = TWINS[experiment]
    return [(c, twin.label(v)) for c, v in java_twins.variants(experiment)]


def agrees(experiment: str, sim: Mapping[str, Any], real: Mapping[str, Any]) -> bool:
    """Whether the two sides agree on every metric of the experiment."""
    for name, how in metrics(experiment):
        a, b = sim.get(name), real.get(name)
        if (a != b) if how == "exact" else (bool(a) != bool(b)):
            return False
    return True


def client_versions() -> dict[str, str]:
    """The clients this machine would run: confluent-kafka/librdkafka and kafka-clients."""
    from eoslib.real.jars import KAFKA_VERSION

    out = {"java": f"kafka-clients {KAFKA_VERSION}"}
    try:
        import confluent_kafka

        # version() is the Python package's version string; libversion() a (str, int) pair
        out["librdkafka"] = (f"confluent-kafka {confluent_kafka.version()}, librdkafka "
                             f"{confluent_kafka.libversion()[0]}")
    except ImportError:
        out["librdkafka"] = "confluent-kafka (not installed)"
    return out


def compare(
    bootstrap: str | Cluster,
    extra_conf: Mapping[str, str] | None = None,
    *,
    experiments: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    seeds: int | None = None,
    client: str = "both",
    java: Any = None,
) -> list[dict[str, Any]]:
    """Run every experiment's rows on the cluster and in the simulation.

    ``bootstrap`` is an address (a learner's cluster: the experiments that inject faults
    through the proxy then report an error, as they need the bundled broker) or a
    :class:`~eoslib.real.clients.Cluster`. ``client`` keeps the rows of ``librdkafka``,
    ``java`` or ``both``; ``java`` is a :class:`~eoslib.real.java_env.JavaSession` to share
    (one is started for the Java rows and closed at the end when None). Returns rows
    ``{"experiment", "client", "setting", "sim", "real", "agree"}`` where ``sim`` and
    ``real`` hold the compared counts first, then others (plus ``seconds`` for the real
    run), or ``"error"`` on failure. ``agree`` compares the experiment's metrics only.
    With ``seeds`` = S, each (librdkafka) experiment runs S seeded fault schedules
    (:mod:`eoslib.real.differential`) off and on; those rows also carry ``seed``,
    ``schedule`` and ``envelope`` (what the row checks).
    """
    if client not in (*CLIENTS, "both"):
        raise ValueError(f"client must be librdkafka, java or both, not {client!r}")
    cluster = bootstrap if isinstance(bootstrap, Cluster) else Cluster(bootstrap)
    if extra_conf:
        cluster.extra_conf.update(extra_conf)
    wanted = CLIENTS if client == "both" else (client,)
    rows: list[dict[str, Any]] = []
    own_java = None
    try:
        for name in experiments or list(SIM_CALLS) + list(TWINS):
            if name in TWINS:
                for c, value in java_twins.variants(name):
                    if c not in wanted:
                        continue
                    if (c == "java" or TWINS[name].cluster_tv) and java is None:
                        from eoslib.real.java_env import JavaSession

                        java = own_java = JavaSession(cluster)
                    if progress:
                        progress(f"{name} [{c}] {TWINS[name].label(value)}")
                    rows.append(_twin_row(name, c, value, cluster, java))
                continue
            if "librdkafka" not in wanted:
                continue
            if seeds:
                from eoslib.real import differential as diff

                for seed in range(seeds):
                    sched = diff.schedule(name, seed)
                    for on in (False, True):
                        if progress:
                            progress(f"{name} {setting_label(name, on)} seed {seed} {sched}")
                        row = _row(name, on, cluster, diff.sim_call(name, sched),
                                   diff.real_kwargs(name, sched))
                        row.update(seed=seed, schedule=sched, envelope=diff.ENVELOPE[name])
                        rows.append(row)
                continue
            for on in (False, True):
                if progress:
                    progress(f"{name} [librdkafka] {setting_label(name, on)}")
                rows.append(_row(name, on, cluster, SIM_CALLS[name],
                                 SIM_CALLS[name].real_kwargs))
    finally:
        if own_java is not None:
            own_java.close()
    return rows


def _row(name: str, on: bool, cluster: Cluster, call: SimCall,
         real_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """One librdkafka row: the simulation's and Kafka's counts for one setting."""
    from eoslib.real.experiments import run_experiment

    metric = [m for m, _ in METRICS[name]]
    keys = metric + [k for k in COUNT_KEYS if k not in metric]
    row: dict[str, Any] = {"experiment": name, "client": "librdkafka",
                           "setting": setting_label(name, on)}
    try:
        counts = run_sim(name, on, call)
        row["sim"] = {k: counts.get(k) for k in keys if k in counts or k in metric}
    except Exception as e:  # noqa: BLE001 - reported in the row
        row["sim"] = {"error": f"{type(e).__name__}: {e}"}
    t = time.monotonic()
    try:
        res = run_experiment(name, cluster, on=on, **real_kwargs)
        row["real"] = {k: res.counts.get(k) for k in keys if k in res.counts or k in metric}
        row["real"]["seconds"] = round(time.monotonic() - t, 1)
    except Exception as e:  # noqa: BLE001
        row["real"] = {"error": f"{type(e).__name__}: {e}"}
    ok = "error" not in row["sim"] and "error" not in row["real"]
    row["agree"] = agrees(name, row["sim"], row["real"]) if ok else None
    return row


def _twin_row(name: str, client: str, value: Any, cluster: Cluster,
              java: Any) -> dict[str, Any]:
    """One row of a Java twin: the compared counts first, then the script's others."""
    metric = [m for m, _ in TWINS[name].metrics]
    row: dict[str, Any] = {"experiment": name, "client": client,
                           "setting": TWINS[name].label(value)}

    def ordered(counts: dict[str, Any]) -> dict[str, Any]:
        return {**{m: counts.get(m) for m in metric},
                **{k: v for k, v in counts.items() if k not in metric}}

    try:
        row["sim"] = ordered(java_twins.run_sim(name, client, value))
    except Exception as e:  # noqa: BLE001 - reported in the row
        row["sim"] = {"error": f"{type(e).__name__}: {e}"}
    try:
        row["real"] = ordered(java_twins.run_real(name, client, value, cluster, java))
    except Exception as e:  # noqa: BLE001
        row["real"] = {"error": f"{type(e).__name__}: {e}"}
    if name == "tv2-torn-txn":  # keep the scenario's row short: what it compares
        row["sim"] = {k: row["sim"].get(k) for k in (*metric, "txn_committed", "txn_aborted",
                                                     "virtual_ms") if k in row["sim"]}
    ok = "error" not in row["sim"] and "error" not in row["real"]
    row["agree"] = agrees(name, row["sim"], row["real"]) if ok else None
    return row


def _order(r: dict[str, Any]) -> tuple[int, int]:
    names = experiments()
    keys = row_keys(r["experiment"]) if r["experiment"] in names else []
    at = (r.get("client", "librdkafka"), r["setting"])
    return (names.index(r["experiment"]) if r["experiment"] in names else len(names),
            keys.index(at) if at in keys else len(keys))


def record(rows: list[dict[str, Any]], kafka_version: str, path: Path = RECORDED) -> Path:
    """Save rows as the recorded results shown when no broker is available.

    Rows of (experiment, client) pairs not in ``rows`` are kept from the previous file
    (the three-broker experiments are recorded by their own run); every row carries its
    ``kafka_version``, ``client_version`` and ``recorded_at`` date; rows follow the order
    of :func:`experiments` and :func:`row_keys`.
    """
    today = datetime.now(UTC).date().isoformat()
    versions = client_versions()
    new = [{**r, "kafka_version": kafka_version, "client_version": versions[r["client"]],
            "recorded_at": today} for r in rows]
    ran = {(r["experiment"], r["client"]) for r in rows}
    old = recorded(path) if path.exists() else {"results": []}
    kept = [r for r in old["results"]
            if (r["experiment"], r.get("client", "librdkafka")) not in ran
            and r["experiment"] in experiments()]
    merged = sorted(kept + new, key=_order)
    data = {**old, "kafka_version": kafka_version, "clients": versions,
            "recorded_at": today, "results": merged}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def record_differential(rows: list[dict[str, Any]], kafka_version: str,
                        path: Path = RECORDED) -> Path:
    """Save seeded rows (``eoslib compare --seeds``) under ``"differential"``; the other
    recorded rows stay."""
    data = recorded(path) if path.exists() else {"results": []}
    today = datetime.now(UTC).date().isoformat()
    version = client_versions()["librdkafka"]
    data["differential"] = [{**r, "kafka_version": kafka_version, "client_version": version,
                             "recorded_at": today} for r in rows]
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def recorded(path: Path = RECORDED) -> dict[str, Any]:
    """The recorded results: ``{"kafka_version", "clients", "recorded_at", "results",
    "differential"}``."""
    return json.loads(path.read_text())


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


def format_counts(experiment: str, counts: Mapping[str, Any]) -> str:
    """The compared counts of one side of a row, e.g. ``duplicates=1`` (or the error)."""
    if "error" in counts:
        return "error: " + str(counts["error"])[:60]
    return ", ".join(f"{m}={_short(counts.get(m))}" for m, _ in metrics(experiment))


def table_rows(rows: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str, str]]:
    """(experiment, client, setting, simulation, real Kafka, agree) text cells per row."""
    return [
        (
            r["experiment"],
            r.get("client", "librdkafka"),
            r["setting"] + (f" seed {r['seed']}" if "seed" in r else ""),
            format_counts(r["experiment"], r["sim"]),
            format_counts(r["experiment"], r["real"]),
            {True: "yes", False: "NO", None: "-"}[r["agree"]],
        )
        for r in rows
    ]


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of comparison rows."""
    head = ("experiment", "client", "setting", "simulation", "real Kafka", "agree")
    body = table_rows(rows)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip()
              for r in body]
    return "\n".join(lines)
