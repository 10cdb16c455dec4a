"""The ``eoslib broker`` and ``eoslib compare`` commands (argparse).

``eoslib/cli.py`` calls :func:`register` with its subparsers; each subcommand sets
``func(args) -> int``. Standalone: ``python -m eoslib.real.cli broker start``.

    eoslib broker fetch            download the Kafka jars (Maven Central, once); build the
                                   Java client driver against its kafka-clients (javac, once)
    eoslib broker start            start the local broker; prints its bootstrap address
    eoslib broker status | stop    is it running? / stop it and delete its data
    eoslib broker log [-n 40]      the end of the broker's log
    eoslib broker start --brokers 3  a three-broker KRaft cluster (also stop/status/log)
    eoslib compare [--json] [--bootstrap HOST:PORT] [-X key=value ...] [--record]
                   [--experiment NAME ...] [--seeds S] [--client java|librdkafka|both]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from eoslib.real import broker


def register(subparsers: Any) -> None:
    """Add the ``broker`` and ``compare`` subcommands to an argparse subparsers object."""
    p = subparsers.add_parser(
        "broker",
        help="download, start and stop a local Apache Kafka broker",
        description="A single-node Apache Kafka (KRaft) broker run from Maven Central jars.",
    )
    p.add_argument(
        "--state-dir",
        default=None,
        help=f"where the broker keeps its files (default {broker.default_state_dir()})",
    )
    sub = p.add_subparsers(dest="broker_command", metavar="{fetch,start,stop,status,log}")
    sub.required = True
    f = sub.add_parser("fetch", help="download the broker's jars with Maven (cached) and build "
                       "the Java client driver")
    f.add_argument("--kafka-version", default=broker.KAFKA_VERSION)
    f.add_argument("--force", action="store_true", help="download again even if cached")
    f.set_defaults(func=_fetch)
    # --brokers 3: the three-broker cluster of eoslib.real.cluster3 (its own state dir)
    nb = argparse.ArgumentParser(add_help=False)
    nb.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=1,
        help="1: the single broker (default); 3: the three-broker KRaft cluster",
    )
    s = sub.add_parser(
        "start", parents=[nb], help="start the broker and print its bootstrap address"
    )
    s.add_argument("--kafka-version", default=broker.KAFKA_VERSION)
    s.add_argument("--timeout", type=float, default=None, help="seconds to wait (120; 150)")
    s.set_defaults(func=_start)
    sub.add_parser(
        "stop", parents=[nb], help="stop the broker and delete its data"
    ).set_defaults(func=_stop)
    sub.add_parser("status", parents=[nb], help="is the broker running?").set_defaults(
        func=_status
    )
    lg = sub.add_parser("log", parents=[nb], help="print the end of the broker's log")
    lg.add_argument("-n", type=int, default=40, help="lines (40)")
    lg.set_defaults(func=_log)

    c = subparsers.add_parser(
        "compare",
        help="run the experiments on real Kafka and in the simulation",
        description="Run each exactly-once experiment (setting off and on) against a real "
        "broker and in the simulation, and say whether they agree. Without --bootstrap it "
        "uses the running local broker, or starts one for the run.",
    )
    c.add_argument(
        "--bootstrap",
        metavar="HOST:PORT",
        help="a Kafka cluster of your own (default: the local broker)",
    )
    c.add_argument(
        "-X",
        dest="extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra confluent-kafka client setting, e.g. -X security.protocol=SSL",
    )
    c.add_argument("--json", action="store_true", help="print the rows as JSON")
    c.add_argument(
        "--record",
        action="store_true",
        help="save the rows as the recorded results shipped with the course",
    )
    c.add_argument(
        "--experiment",
        action="append",
        default=None,
        metavar="NAME",
        help="run only this experiment (repeatable)",
    )
    c.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="S",
        help="random differential: S seeded fault schedules per experiment, the same on "
        "both sides (producer-retry, consumer-crash)",
    )
    c.add_argument(
        "--client",
        default="both",
        metavar="{java,librdkafka,both}",
        help="whose rows to run: the Java client's (kafka-clients, through a driver JVM), "
        "librdkafka's (confluent-kafka), or both (default)",
    )
    c.add_argument("--state-dir", default=None, help=argparse.SUPPRESS)
    c.set_defaults(func=_compare)


def _err(msg: str) -> int:
    print(f"eoslib: {msg}", file=sys.stderr)
    return 2


def _fetch(args: argparse.Namespace) -> int:
    try:
        if broker.is_fetched(args.kafka_version) and not args.force:
            n, size = broker.libs_size(args.kafka_version)
            print(
                f"Kafka {args.kafka_version} jars already in {broker.libs_dir(args.kafka_version)}"
                f" ({n} jars, {size / 1e6:.0f} MB)"
            )
        else:
            t = time.monotonic()
            libs = broker.fetch(args.kafka_version, force=args.force)
            n, size = broker.libs_size(args.kafka_version)
            print(
                f"fetched Kafka {args.kafka_version}: {n} jars, {size / 1e6:.0f} MB in "
                f"{time.monotonic() - t:.1f} s -> {libs}"
            )
    except broker.BrokerError as e:
        return _err(str(e))
    return _build_driver(args.kafka_version)


def _build_driver(version: str) -> int:
    """Compile the Java client driver against the fetched kafka-clients (once; cached)."""
    from eoslib.real import java_driver

    try:
        t = time.monotonic()
        built = java_driver.build_dir(version).exists()
        out = java_driver.build(version)
    except broker.NeedsError as e:
        print(f"Java client driver not built ({e}); the Java rows of `eoslib compare` "
              "will say so", file=sys.stderr)
        return 0
    except broker.BrokerError as e:
        return _err(str(e))
    what = "already built in" if built else f"built in {time.monotonic() - t:.1f} s ->"
    print(f"Java client driver (kafka-clients {version}) {what} {out}")
    return 0


def _start(args: argparse.Namespace) -> int:
    if args.brokers == 3:
        return _start3(args)
    try:
        st = broker.start(args.state_dir, version=args.kafka_version, timeout=args.timeout or 120)
    except broker.BrokerError as e:
        return _err(str(e))
    print(st.bootstrap)
    print(
        f"Kafka {st.kafka_version} ready in {st.format_seconds + st.ready_seconds:.1f} s "
        f"(pid {st.pid}; log {st.log}); stop it with `eoslib broker stop`",
        file=sys.stderr,
    )
    return 0


def _start3(args: argparse.Namespace) -> int:
    from eoslib.real import cluster3

    try:
        st = cluster3.start(args.state_dir, version=args.kafka_version, timeout=args.timeout or 150)
    except broker.BrokerError as e:
        return _err(str(e))
    print(st.bootstrap)
    pids = ", ".join(f"node {n.node_id} pid {n.pid}" for n in st.nodes)
    print(
        f"Kafka {st.kafka_version}: 3 brokers ready in {st.format_seconds + st.ready_seconds:.1f} s"
        f" ({pids}; logs in {st.state_dir}/node*/server.log); stop with "
        "`eoslib broker stop --brokers 3`",
        file=sys.stderr,
    )
    return 0


def _stop(args: argparse.Namespace) -> int:
    if args.brokers == 3:
        from eoslib.real import cluster3

        how = cluster3.stop(args.state_dir)
        print(f"cluster {how}" if how != "not running" else "no 3-broker cluster was running")
        return 0
    how = broker.stop(args.state_dir)
    print(f"broker {how}" if how != "not running" else "no broker was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    if args.brokers == 3:
        from eoslib.real import cluster3

        st3 = cluster3.status(args.state_dir)
        if st3 is None:
            print("not running")
            return 1
        up = cluster3.alive_nodes(st3)
        print(
            f"running: {st3.bootstrap} (Kafka {st3.kafka_version}, nodes up {up} of [1, 2, 3], "
            f"since {st3.started_at}; logs in {st3.state_dir}/node*/server.log)"
        )
        return 0
    st = broker.status(args.state_dir)
    if st is None:
        print("not running")
        return 1
    print(
        f"running: {st.bootstrap} (Kafka {st.kafka_version}, pid {st.pid}, since "
        f"{st.started_at}; log {st.log})"
    )
    return 0


def _log(args: argparse.Namespace) -> int:
    if args.brokers == 3:
        from eoslib.real import cluster3

        print(cluster3.log_tail(args.n, args.state_dir))
        return 0
    print(broker.log_tail(args.n, args.state_dir))
    return 0


def _parse_extra(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"-X expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def _compare(args: argparse.Namespace) -> int:
    from eoslib.real import compare as cmp
    from eoslib.real.clients import Cluster

    try:
        extra = _parse_extra(args.extra)
    except ValueError as e:
        return _err(str(e))
    known = cmp.experiments()
    for name in args.experiment or []:
        if name not in known:
            return _err(f"--experiment: unknown experiment {name!r}; known: {', '.join(known)}")
    if args.client not in ("java", "librdkafka", "both"):
        return _err(f"--client: expected java, librdkafka or both, got {args.client!r}")
    if args.experiment and args.client != "both":
        idle = [n for n in args.experiment
                if not any(c == args.client for c, _ in cmp.row_keys(n))]
        if idle:
            return _err(f"--client {args.client}: {', '.join(idle)} has no {args.client} "
                        "rows")
    if args.seeds is not None:
        from eoslib.real.differential import SEEDED

        if args.seeds < 1:
            return _err(f"--seeds: expected a whole number >= 1, got {args.seeds}")
        if args.client == "java":
            return _err("--seeds: the seeded schedules are librdkafka's; drop --client java")
        bad = [n for n in (args.experiment or known) if n not in SEEDED]
        if not args.experiment or bad:
            return _err(
                "--seeds needs --experiment with a seeded experiment ("
                + ", ".join(SEEDED) + ")" + (f"; not seeded: {', '.join(bad)}" if bad else "")
            )
    started = None
    try:
        if args.bootstrap:
            cluster = Cluster(args.bootstrap, extra)
            version = "unknown (your cluster)"
        else:
            st = broker.status(args.state_dir)
            if st is None:
                print("starting a local broker for this run...", file=sys.stderr)
                st = started = broker.start(args.state_dir)
            cluster = Cluster.from_state(st, extra)
            version = st.kafka_version
        rows = cmp.compare(
            cluster,
            experiments=args.experiment,
            progress=lambda s: print(f"  running {s}", file=sys.stderr),
            seeds=args.seeds,
            client=args.client,
        )
    except broker.BrokerError as e:
        return _err(str(e))
    finally:
        if started is not None:
            broker.stop(args.state_dir)
    if args.record and args.seeds:
        path = cmp.record_differential(rows, version)
        print(f"recorded {len(rows)} seeded rows to {path}", file=sys.stderr)
    elif args.record:
        path = cmp.record(rows, version)
        print(f"recorded {len(rows)} rows to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps({"kafka_version": version, "clients": cmp.client_versions(),
                          "results": rows}, indent=2))
    else:
        print(cmp.format_table(rows))
    return 0 if all(r["agree"] for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    """A stand-alone entry point (``python -m eoslib.real.cli``)."""
    parser = argparse.ArgumentParser(prog="eoslib")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
