"""The ``eoslib`` command line: listing, running, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eoslib.cli import main
from eoslib.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
JSON_KEYS = ("duplicates", "lost", "aborted_reads", "processed_twice", "trace_digest", "config",
             "uncommitted_reads", "fenced", "txn_committed", "txn_aborted", "lso_lag_ms")


def run_cli(argv, capsys):
    """``main(argv)`` -> (exit code, stdout, stderr); argparse exits count as returns."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def run_json(argv, capsys):
    code, out, err = run_cli([*argv, "--json"], capsys)
    assert code == 0, err
    assert err == ""
    lines = out.strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one JSON object on one line"
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


# ---------------------------------------------------------------------- scenarios
def test_scenarios_prints_one_line_per_scenario_name_first_no_header(capsys):
    code, out, err = run_cli(["scenarios"], capsys)
    assert code == 0 and err == ""
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == len(SCENARIOS)
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    for line, sc in zip(lines, SCENARIOS.values(), strict=True):
        assert line.startswith(sc.name + " ")
        assert sc.description in line


# ---------------------------------------------------------------------------- run
def test_run_says_an_at_most_once_crash_lost_ten_inputs(capsys):
    """Issue 18: the batch committed before the crash never reaches the output."""
    code, out, err = run_cli(["run", "consumer-crash", "--messages", "30", "--set",
                              "delivery=at-most-once", "--set", "crash_step=after_commit"],
                             capsys)
    assert code == 0 and err == ""
    assert "NOT OK: 1 kind of anomaly not allowed (lost_input)" in out
    assert "lost_input: 10 (id 'm10' never reached out" in out  # the middle batch
    assert "inputs: out 20 once, 10 never" in out


@pytest.mark.parametrize("client,words", [("librdkafka", "librdkafka (confluent-kafka)"),
                                          ("java", "Java (kafka-clients)")])
def test_a_result_names_its_client_first(client, words, capsys):
    from eoslib.scenarios import run_scenario

    r = run_scenario("producer-retry", messages=3, config={"client": client})
    assert r.config["client"] == client
    assert str(r).splitlines()[0] == f"client: {words}"
    assert str(r).splitlines()[1] == str(r.report).splitlines()[0]
    code, out, _ = run_cli(["run", "producer-retry", "--messages", "3", "--set",
                            f"client={client}"], capsys)
    lines = out.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith(("OK", "NOT OK")))
    assert lines[verdict - 1] == f"client: {words}"


def test_run_lists_what_the_checker_could_not_check(capsys):
    code, out, _ = run_cli(["run", "producer-retry", "--messages", "5"], capsys)
    assert code == 0
    assert "not checked: processed_twice (no sink in this run); lost_input (no input ids" in out


@pytest.mark.parametrize("name", ["producer-retry", "pipeline", "read-committed"])
def test_run_json_has_the_documented_keys(name, capsys):
    data = run_json(["run", name, "--messages", "20", "--seed", "3"], capsys)
    for key in JSON_KEYS:
        assert key in data, key
    for key in JSON_KEYS:
        if key not in ("trace_digest", "config", "lso_lag_ms"):
            assert isinstance(data[key], int) and data[key] >= 0, key
    assert isinstance(data["lso_lag_ms"], int | float)
    assert len(data["trace_digest"]) == 64
    assert isinstance(data["config"], dict)
    assert data["scenario"] == name and data["seed"] == 3 and data["messages"] == 20


def test_run_json_is_deterministic(capsys):
    a = run_json(["run", "pipeline", "--seed", "4", "--set", "response_loss=0.2"], capsys)
    b = run_json(["run", "pipeline", "--seed", "4", "--set", "response_loss=0.2"], capsys)
    assert a == b
    c = run_json(["run", "producer-retry", "--seed", "5", "--set", "response_loss=0.2",
                  "--set", "enable.idempotence=false"], capsys)
    d = run_json(["run", "producer-retry", "--seed", "6", "--set", "response_loss=0.2",
                  "--set", "enable.idempotence=false"], capsys)
    assert c["trace_digest"] != d["trace_digest"]


def test_run_accepts_transactional_id_and_isolation_level(capsys):
    data = run_json(["run", "pipeline", "--messages", "20",
                     "--set", "transactions=true", "--set", "transactional.id=my-app",
                     "--set", "isolation.level=read_committed"], capsys)
    assert data["config"]["transactional.id"] == "my-app"
    assert data["config"]["isolation.level"] == "read_committed"
    assert data["config"]["enable.idempotence"] is True
    assert data["txn_committed"] >= 1
    data = run_json(["run", "read-committed", "--messages", "20",
                     "--set", "isolation.level=read_committed"], capsys)
    assert data["aborted_reads"] == 0 and data["uncommitted_reads"] == 0
    assert data["txn_aborted"] >= 1


def test_run_sets_faults_and_they_show(capsys):
    data = run_json(["run", "producer-retry", "--messages", "20", "--set",
                     "enable.idempotence=false", "--set", "lost_acks=2"], capsys)
    assert data["faults"]["lost_acks"] == 2
    assert data["duplicates"] >= 1
    assert data["config"]["enable.idempotence"] is False


def test_run_text_output(capsys):
    code, out, err = run_cli(["run", "producer-retry", "--messages", "10"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("producer-retry (seed 0, 10 messages)")
    assert "duplicates" in out and "trace_digest" in out


# ---------------------------------------------------------------------- bad input
def assert_one_line_error(code, out, err, *words):
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert "Traceback" not in err
    assert err.startswith("eoslib: error:")
    for w in words:
        assert w in err, (w, err)


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "nosuch"], ["scenario", "nosuch", "pipeline", "producer-retry"]),
    (["run", "pipelin"], ["scenario", "pipelin", "did you mean 'pipeline'"]),
    (["run", "pipeline", "--set", "foo.bar=1"], ["foo.bar", "'1'", "Unknown"]),
    (["run", "pipeline", "--set", "enable.idempotense=true"],
     ["enable.idempotense", "did you mean 'enable.idempotence'"]),
    (["run", "pipeline", "--set", "enable.idempotence=maybe"],
     ["enable.idempotence", "maybe", "true", "false"]),
    (["run", "read-committed", "--set", "isolation.level=read_comitted"],
     ["isolation.level", "read_comitted", "read_uncommitted", "read_committed",
      "did you mean 'read_committed'"]),
    (["run", "pipeline", "--messages", "-3"], ["--messages", "-3", ">= 1"]),
    (["run", "pipeline", "--messages", "0"], ["--messages", "0"]),
    (["run", "pipeline", "--seed", "-1"], ["--seed", "-1"]),
    (["run", "pipeline", "--messages", "abc"], ["--messages", "abc"]),
    (["run", "pipeline", "--set", "acks=2"], ["acks", "'2'", "0, 1, all"]),
    (["run", "pipeline", "--set", "delivery=exactly-twice"],
     ["delivery", "exactly-twice", "at-most-once", "did you mean 'exactly-once'"]),
    (["run", "pipeline", "--set", "sink=bogus"], ["sink", "bogus", "insert, upsert, offsets"]),
    (["run", "pipeline", "--set", "transactions=maybe"], ["transactions", "maybe"]),
    (["run", "pipeline", "--set", "response_loss=2"], ["response_loss", "2", "between 0 and 1"]),
    (["run", "pipeline", "--set", "crash_step=after_pol"],
     ["crash_step", "after_pol", "did you mean 'after_poll'"]),
    (["run", "pipeline", "--set", "noequals"], ["--set", "noequals", "key=value"]),
    (["run", "reorder", "--set", "enable.idempotence=true", "--set",
      "max.in.flight.requests.per.connection=6"],
     ["max.in.flight.requests.per.connection", "6", "<= 5"]),
    (["bogus"], ["bogus", "scenarios", "run"]),
    ([], ["command"]),
])
def test_bad_input_exits_2_with_one_line(argv, words, capsys):
    code, out, err = run_cli(argv, capsys)
    assert_one_line_error(code, out, err, *words)


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "pipeline", "--set", "batch=x"], ["batch", "x"]),
    (["run", "pipeline", "--set", "batch=0"], ["batch", "0"]),
    (["run", "leader-failover", "--set", "min.insync.replicas=x"], ["min.insync.replicas", "x"]),
    (["run", "pipeline", "--set", "response_los=0.1"],
     ["response_los", "did you mean 'response_loss'"]),
])
def test_bad_course_keys_exit_2_with_one_line(argv, words, capsys):
    code, out, err = run_cli(argv, capsys)
    assert_one_line_error(code, out, err, *words)


@pytest.mark.parametrize("name", ["producer-retry", "producer-restart"])
def test_transactional_id_is_accepted_by_producer_scenarios(name, capsys):
    code, out, err = run_cli(["run", name, "--messages", "10", "--json",
                              "--set", "transactional.id=abc"], capsys)
    assert code in (0, 2)
    assert "Traceback" not in err


def test_transactional_id_without_transactions_does_not_silently_do_nothing(capsys):
    code, out, err = run_cli(["run", "pipeline", "--messages", "10", "--json",
                              "--set", "transactional.id=abc"], capsys)
    if code == 2:
        assert_one_line_error(code, out, err, "transactional.id")
        return
    data = json.loads(out)
    assert data["virtual_ms"] < 600_000
    assert data["txn_committed"] >= 1 or data["report"]["ok"] is False


def test_subprocess_bad_input_has_no_traceback():
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for args in (["run", "nosuch"], ["run", "read-committed", "--set",
                                     "isolation.level=read_comitted"]):
        proc = subprocess.run([sys.executable, "-m", "eoslib.cli", *args], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("eoslib: error:")
    proc = subprocess.run([sys.executable, "-m", "eoslib.cli", "scenarios"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert len(proc.stdout.splitlines()) == len(SCENARIOS)
