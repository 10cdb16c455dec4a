"""The real-broker mode's pieces that need no broker: the proxy, configs, CLI, recorded data,
and the simulated side of every recorded row (Java twins included, with ``client`` set)."""

from __future__ import annotations

import json
import socket
import struct
import threading

import pytest

from eoslib.real import broker, compare
from eoslib.real.cli import _parse_extra, main
from eoslib.real.proxy import FaultProxy


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def _request(api_key: int, corr: int) -> bytes:
    return _frame(struct.pack(">hhi", api_key, 9, corr) + b"body")


def _read_frame(sock: socket.socket) -> bytes | None:
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (size,) = struct.unpack(">i", head)
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def _fake_broker() -> tuple[socket.socket, threading.Thread]:
    """A server that answers every request with a frame holding its correlation id."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn: socket.socket) -> None:
        with conn:
            while (req := _read_frame(conn)) is not None:
                corr = struct.unpack_from(">i", req, 4)[0]
                conn.sendall(_frame(struct.pack(">i", corr) + b"ok"))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t


def test_proxy_loses_the_nth_produce_response_and_cuts_the_connection() -> None:
    srv, _ = _fake_broker()
    (port,) = broker.free_ports(1)
    with FaultProxy(port, srv.getsockname()[1]) as proxy:
        proxy.drop_produce_response(2)  # the second Produce from now
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(_request(3, 1))  # Metadata: forwarded
            assert struct.unpack_from(">i", _read_frame(c) or b"")[0] == 1
            c.sendall(_request(0, 2))  # Produce #1: forwarded
            assert struct.unpack_from(">i", _read_frame(c) or b"")[0] == 2
            c.sendall(_request(0, 3))  # Produce #2: response swallowed, connection cut
            assert _read_frame(c) is None
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(_request(0, 4))  # the retry on a new connection goes through
            assert struct.unpack_from(">i", _read_frame(c) or b"")[0] == 4
        assert proxy.dropped == 1
        assert proxy.stats.produce_requests == 3
        assert proxy.stats.dropped_correlation_ids == [3]
    srv.close()


def test_server_properties_has_the_one_node_settings(tmp_path) -> None:  # noqa: ANN001
    props = broker.server_properties(
        data_dir=tmp_path, port=1, controller_port=2, proxied_port=3, proxy_port=4
    )
    conf = dict(line.split("=", 1) for line in props.splitlines())
    assert conf["process.roles"] == "broker,controller"
    assert conf["transaction.state.log.replication.factor"] == "1"
    assert conf["transaction.state.log.min.isr"] == "1"
    assert "transaction.max.timeout.ms" not in conf  # the default (15 min) stays
    assert int(conf["transaction.abort.timed.out.transaction.cleanup.interval.ms"]) < 10000
    assert "PROXIED://127.0.0.1:4" in conf["advertised.listeners"]
    assert "PROXIED://127.0.0.1:3" in conf["listeners"]


def test_cluster_id_is_22_base64url_chars() -> None:
    for _ in range(50):
        cid = broker.new_cluster_id()
        assert len(cid) == 22 and not cid.startswith("-")
        assert set(cid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_missing_java_is_a_needs_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(broker.NeedsError, match=r"^needs Java 17"):
        broker.require_java()
    with pytest.raises(broker.NeedsError, match=r"^needs Maven"):
        broker.require_maven()


def test_stop_without_a_broker_says_so(tmp_path) -> None:  # noqa: ANN001
    assert broker.stop(tmp_path) == "not running"
    assert broker.status(tmp_path) is None
    assert "no broker logs" in broker.log_tail(5, tmp_path)


def test_cli_parses_extra_settings_and_reports_status(tmp_path, capsys) -> None:  # noqa: ANN001
    assert _parse_extra(["security.protocol=SASL_SSL", "sasl.password=a=b"]) == {
        "security.protocol": "SASL_SSL",
        "sasl.password": "a=b",
    }
    with pytest.raises(ValueError):
        _parse_extra(["nokey"])
    assert main(["broker", "--state-dir", str(tmp_path), "status"]) == 1
    assert "not running" in capsys.readouterr().out


def test_recorded_results_are_complete_and_agree() -> None:
    data = compare.recorded()
    assert data["kafka_version"] == broker.KAFKA_VERSION
    assert len(data["recorded_at"]) == 10  # YYYY-MM-DD
    assert data["clients"]["java"] == f"kafka-clients {broker.KAFKA_VERSION}"
    assert data["clients"]["librdkafka"].startswith("confluent-kafka ")
    rows = data["results"]
    got = {(r["experiment"], r["client"], r["setting"]) for r in rows}
    want = {(name, c, label) for name in compare.experiments()
            for c, label in compare.row_keys(name)}
    assert got == want  # every row of every experiment, each with its client
    assert {r["client"] for r in rows if r["experiment"] in compare.TWINS} == {"java",
                                                                              "librdkafka"}
    for r in rows:
        assert set(r) == {"experiment", "client", "setting", "sim", "real", "agree",
                          "kafka_version", "client_version", "recorded_at"}
        assert r["agree"] is True, json.dumps(r)
        assert r["kafka_version"] == broker.KAFKA_VERSION
        assert r["client_version"] == data["clients"][r["client"]]


def test_recorded_differential_rows_agree_within_their_envelope() -> None:
    from eoslib.real.differential import ENVELOPE, schedule

    rows = compare.recorded()["differential"]
    assert {r["experiment"] for r in rows} == {"producer-retry", "consumer-crash"}
    for r in rows:
        assert r["schedule"] == schedule(r["experiment"], r["seed"])  # reproducible
        assert r["envelope"] == ENVELOPE[r["experiment"]]
        assert r["agree"] is True, json.dumps(r)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["compare", "--seeds", "2"], "--seeds needs --experiment"),
        (["compare", "--experiment", "read-committed", "--seeds", "2"], "not seeded"),
        (["compare", "--experiment", "producer-retry", "--seeds", "0"], "--seeds: expected"),
        (["compare", "--experiment", "nope"], "unknown experiment 'nope'"),
    ],
)
def test_compare_rejects_bad_arguments_with_one_line(argv, needle, capsys) -> None:  # noqa: ANN001
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_seeded_schedules_are_reproducible_and_in_range() -> None:
    from eoslib.real.differential import schedule, sim_call

    for seed in range(20):
        lost = schedule("producer-retry", seed)["lost_at"]
        assert lost == schedule("producer-retry", seed)["lost_at"]
        assert 1 <= len(lost) <= 3 and all(1 <= n <= 10 for n in lost)
        assert list(sim_call("producer-retry", {"lost_at": lost}).faults["lose_responses"]) == lost
        crash = schedule("consumer-crash", seed)["crash_batch"]
        assert 0 <= crash < 4
        assert sim_call("consumer-crash", {"crash_batch": crash}).faults["crash_at"] == 5 * crash
    with pytest.raises(ValueError, match="no seeded schedule"):
        schedule("rebalance", 0)


def test_one_script_runs_on_the_simulator() -> None:
    """The scripted experiments' simulated side (the real side: test_real_broker.py)."""
    sim = compare.run_sim("lso-blocking", True)
    assert sim["read_while_open"] == 0 and sim["read_after_commit"] == 10
    sim = compare.run_sim("auto-commit", True)
    assert sim["committed"] == 6 and sim["replayed"] == 0


def test_todays_simulator_still_agrees_with_the_recorded_kafka_rows() -> None:
    """Without Java: re-run every recorded row's simulated twin against Kafka's recorded
    counts, so a model change that breaks agreement fails here (re-record with a broker)."""
    from eoslib.real import java_twins

    rows = compare.recorded()["results"]
    checked = 0
    for r in rows:
        name = r["experiment"]
        if name in compare.THREE_BROKER:
            continue  # their twins are checked by tests/test_real_cluster.py
        if name in compare.TWINS:
            value = next(v for c, v in java_twins.variants(name)
                         if c == r["client"] and compare.TWINS[name].label(v) == r["setting"])
            sim = java_twins.run_sim(name, r["client"], value)
        else:
            on = r["setting"] == compare.setting_label(name, True)
            sim = compare.run_sim(name, on)
        assert compare.agrees(name, sim, r["real"]), f"{name} {r['setting']}: {sim} vs {r}"
        checked += 1
    assert checked == 2 * len(compare.single_broker()) + sum(
        len(java_twins.variants(n)) for n in compare.TWINS)
    from eoslib.real.differential import sim_call

    for r in compare.recorded()["differential"]:
        name, on = r["experiment"], r["setting"] == compare.setting_label(r["experiment"], True)
        sim = compare.run_sim(name, on, sim_call(name, r["schedule"]))
        assert compare.agrees(name, sim, r["real"]), f"{name} seed {r['seed']}: {sim}"


def test_proxy_holds_a_request_and_delivers_it_later_on_a_new_connection() -> None:
    """EndTxn (api_key 26) v4 is flexible: the answer's error code follows one byte of tagged
    fields and the throttle time."""
    seen: list[tuple[int, int]] = []  # (api_key, correlation id) as the broker received them
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn: socket.socket) -> None:
        with conn:
            while (req := _read_frame(conn)) is not None:
                api_key, _v, corr = struct.unpack_from(">hhi", req, 0)
                seen.append((api_key, corr))
                # correlation id, empty tagged fields, throttle 0, error 90 (PRODUCER_FENCED)
                conn.sendall(_frame(struct.pack(">ibih", corr, 0, 0, 90)))

    threading.Thread(target=serve, daemon=True).start()
    (port,) = broker.free_ports(1)
    end_txn = _frame(struct.pack(">hhi", 26, 4, 7) + b"body")
    with FaultProxy(port, srv.getsockname()[1]) as proxy:
        proxy.hold_request(26)  # the next EndTxn
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(end_txn)  # held: no answer comes
            c.settimeout(0.5)
            with pytest.raises(TimeoutError):
                c.recv(4)
        assert proxy.holding == 1 and seen == []
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(_frame(struct.pack(">hhi", 26, 4, 8) + b"body"))  # the retry goes on
            assert struct.unpack_from(">i", _read_frame(c) or b"")[0] == 8
        assert seen == [(26, 8)]
        released = proxy.release_held()
        assert released == [{"api_key": 26, "api_version": 4, "error_code": 90}]
        assert seen == [(26, 8), (26, 7)] and proxy.holding == 0
        assert proxy.stats.held == 1 and proxy.stats.by_api[26] == 2
    srv.close()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["compare", "--client", "python"], "--client: expected java, librdkafka or both"),
        (["compare", "--client", "java", "--experiment", "read-committed"],
         "read-committed has no java rows"),
        (["compare", "--client", "java", "--seeds", "2"],
         "--seeds: the seeded schedules are librdkafka's"),
    ],
)
def test_compare_client_flag_rejects_bad_arguments(argv, needle, capsys) -> None:  # noqa: ANN001
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_every_row_names_its_client_and_every_twin_its_metrics() -> None:
    assert compare.row_keys("read-committed") == [
        ("librdkafka", "isolation.level=read_uncommitted"),
        ("librdkafka", "isolation.level=read_committed")]
    assert ("java", "transaction.version=2") in compare.row_keys("tv2-epoch-bump")
    assert {c for c, _ in compare.row_keys("default-isolation")} == {"librdkafka", "java"}
    for name, twin in compare.TWINS.items():
        assert twin.metrics and twin.compares and twin.notebooks, name
        assert name not in compare.SIM_CALLS  # today's 14 keep their names
    assert len(compare.SIM_CALLS) == 14
    table = compare.format_table(compare.recorded()["results"])
    assert table.splitlines()[0].split()[:3] == ["experiment", "client", "setting"]


def test_the_claims_without_a_twin_say_why() -> None:
    from eoslib.real.no_twin import NO_TWIN

    assert len(NO_TWIN) >= 5
    for u in NO_TWIN:
        assert u.claim and u.notebooks and u.reason
    reasons = " ".join(u.reason for u in NO_TWIN)
    assert "a fault the proxy cannot make" in reasons and "timing Kafka does not" in reasons


def test_differential_does_not_import_compare() -> None:
    """The circle real/compare <-> real/differential is mended: the table both use lives in
    sim_calls, and differential imports only that."""
    import ast
    from pathlib import Path

    import eoslib.real.differential as diff

    tree = ast.parse(Path(diff.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "eoslib.real.compare" not in imported and "eoslib.real.sim_calls" in imported


def test_rows_that_change_the_cluster_run_only_on_the_bundled_broker() -> None:
    """A learner's own cluster: no row sets its transaction.version feature, and the Java
    rows refuse confluent-kafka's -X settings instead of ignoring them."""
    from eoslib.real import java_twins
    from eoslib.real.clients import Cluster

    with pytest.raises(broker.NeedsError, match="^needs the bundled broker"):
        java_twins.run_real("tv2-epoch-bump", "java", "2", Cluster("127.0.0.1:9"))
    with pytest.raises(broker.NeedsError, match="^needs a cluster without -X settings"):
        java_twins.run_real("default-isolation", "java", "default",
                            Cluster("127.0.0.1:9", {"security.protocol": "SSL"}))
