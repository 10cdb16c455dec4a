"""eoslib explore --app: a confluent-kafka program under every placement of up to K faults."""

from __future__ import annotations

import contextlib
import io
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from eoslib.cli import main as eoslib_main
from eoslib.errors import ConfigException
from eoslib.explore.app import AppPoint, explore_app
from eoslib.run_app import run_app

REPO = Path(__file__).resolve().parent.parent
BUGGY = str(REPO / "notebooks" / "apps" / "enricher.py")
FIXED = str(REPO / "notebooks" / "apps" / "enricher_fixed.py")
EOS = str(Path(__file__).parent / "fixtures" / "confluent_kafka_examples" /
          "eos_transactions.py")
ENRICH = {"input_topic": "orders", "output_topic": "enriched", "messages": 6}


@pytest.fixture(scope="module")
def buggy():
    return explore_app(BUGGY, ["-b", "x"], max_faults=1, **ENRICH)


def test_one_lost_produce_request_loses_the_aborted_batch(buggy):
    assert set(buggy.anomalies()) == {"lost_input"}
    worst = buggy.counterexamples()["lost_input"]
    assert [p.words() for p in worst.schedule] == ["lose the request of the 1st Produce"]
    assert "duplicate" in buggy.checked and "lost_input" in buggy.checked
    assert buggy.unchecked == {"processed_twice": "no sink in this run"}


def test_the_replay_command_reproduces_the_counterexample(buggy):
    cmd = buggy.replay(buggy.counterexamples()["lost_input"].schedule)
    assert cmd[:3] == ["python", "-m", "eoslib.run_app"] and "drop=produce.request.1" in cmd
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_app(cmd)
    assert "client: librdkafka (confluent-kafka)\nNOT OK" in out.getvalue()
    assert "lost_input: 6" in out.getvalue()


def test_the_rewind_fixes_it_and_the_table_says_what_was_checked():
    fixed = explore_app(FIXED, ["-b", "x"], max_faults=1, **ENRICH)
    assert fixed.anomalies() == {} and fixed.schedules == 30
    text = str(fixed)
    assert text.startswith("client: librdkafka (confluent-kafka); program:")
    assert "anomalies checked: duplicate," in text and "no anomaly in any of the 30" in text


def test_confluent_kafkas_eos_example_survives_every_single_fault():
    ex = explore_app(EOS, ["-b", "x", "-t", "in", "-o", "out", "-g", "g1"], messages=5,
                     output_id="base64", max_faults=1)
    assert ex.anomalies() == {} and not any(r.error for r in ex.runs)
    kinds = {p.kind for r in ex.runs for p in r.schedule}
    assert {"crash", "request", "response", "coordinator", "leader"} <= kinds


def test_the_answer_does_not_depend_on_the_number_of_workers(buggy):
    two = explore_app(BUGGY, ["-b", "x"], max_faults=1, jobs=2, **ENRICH)
    drop = ("seconds", "jobs")
    assert {k: v for k, v in two.to_json().items() if k not in drop} == \
        {k: v for k, v in buggy.to_json().items() if k not in drop}


def test_points_read_as_words_and_replay_tokens():
    p = AppPoint("crash", "commit_transaction", 1)
    assert p.words() == "crash the program right after its 1st commit_transaction()"
    assert p.token() == "commit_transaction:1"
    assert AppPoint("crash", "poll", 2).words().endswith("2nd poll() that returned a message")
    assert AppPoint("response", "end_txn", 1).token() == "end_txn.response.1"
    assert sorted([AppPoint("response", "end_txn", 1), p]) == [p, AppPoint("response",
                                                                           "end_txn", 1)]


def test_bad_arguments_are_config_errors_naming_them():
    for kw, name in (({"kinds": ["crashes"]}, "--faults"), ({"max_faults": 9}, "--max-faults"),
                     ({"output_id": "xml"}, "--output-id"), ({"messages": 0}, "--messages")):
        with pytest.raises(ConfigException) as e:
            explore_app(BUGGY, ["-b", "x"], **kw)
        assert e.value.key == name
    with pytest.raises(ConfigException, match="--app"):
        explore_app("nope.py")


def test_the_command_line_writes_replays_and_exits_1_on_an_anomaly(tmp_path, capsys):
    replay = tmp_path / "replay.sh"
    code = eoslib_main(["explore", "--app", f"{BUGGY} -b localhost:9092", "--input-topic",
                        "orders", "--output-topic", "enriched", "--messages", "6",
                        "--max-faults", "1", "--replay", str(replay)])
    assert code == 1 and "lost_input: in" in capsys.readouterr().out
    script = replay.read_text().splitlines()
    assert script[0] == "#!/bin/sh" and script[-1].startswith("python -m eoslib.run_app ")
    out = subprocess.run([sys.executable, *shlex.split(script[-1])[1:]], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert "NOT OK" in out.stderr and "lost_input" in out.stderr


@pytest.mark.parametrize("argv,word", [
    (["explore", "--app", "nope.py"], "--app"),
    (["explore", "pipeline", "--app", f"{FIXED} -b x"], "scenario"),
    (["explore", "--app", f"{FIXED} -b x", "--faults", "nope"], "--faults"),
    (["explore"], "scenario"),
])
def test_command_line_errors_exit_2_with_one_line(argv, word, capsys):
    assert eoslib_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err


def test_a_program_that_dies_of_its_error_leaves_no_false_duplicate():
    """With two partitions, a lost AddOffsetsToTxn request makes send_offsets_to_transaction
    time out; the program dies of it mid-transaction and its restart commits the batch
    again: the dead instance's copies are aborted (the restart's init_transactions), so
    they are no duplicates (the supervisor records the death for the checker)."""
    ex = explore_app(FIXED, ["-b", "x"], max_faults=1, partitions=2, **ENRICH)
    assert ex.anomalies() == {} and ex.schedules == 50
    died = [r for r in ex.runs if any(p.token() == "add_offsets.request.2" for p in r.schedule)]
    assert died and not died[0].error  # it was restarted and ended cleanly
