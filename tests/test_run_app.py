"""python -m eoslib.run_app: unmodified confluent-kafka programs on the simulator.

The programs are confluent-kafka-python's own examples (tests/fixtures/confluent_kafka_examples,
Apache 2.0, unmodified), driven as a user drives them: lines on producer.py's stdin, the
EOS example's arguments, consumer.py stopped by Ctrl-C (here: the simulated one after
--idle-exit). The test marked ``broker`` runs the same chain with the real confluent-kafka
against a real broker and compares what the programs print.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from eoslib.confluent_kafka.supervisor import Plan, Program, run
from eoslib.run_app import main, plan_of

EXAMPLES = Path(__file__).parent / "fixtures" / "confluent_kafka_examples"
LINES = "".join(f"m{i}\n" for i in range(250))


def _chain(in_topic: str = "in", out_topic: str = "out") -> list[str]:
    return [str(EXAMPLES / "producer.py"), "localhost:9092", in_topic,
            "--then", str(EXAMPLES / "eos_transactions.py"), "-b", "localhost:9092",
            "-t", in_topic, "-o", out_topic, "-g", "g1",
            "--then", str(EXAMPLES / "consumer.py"), "localhost:9092", "reader", out_topic]


def _run_main(argv: list[str], stdin: str, capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


EOS_LINES = ["=== Starting Consume-Transform-Process loop ===",
             "=== Committing transaction with 100 messages at input offset 99 ===",
             "=== Committing transaction with 100 messages at input offset 199 ===",
             "=== Reached the end of in [0] at 250====",
             "=== Reached end of input ===",
             "=== Committing final transaction with 50 messages ==="]


def test_the_three_examples_run_unmodified_and_end_where_the_originals_do(capsys, monkeypatch):
    code, out, err = _run_main(_chain(), LINES, capsys, monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[:6] == EOS_LINES
    assert lines[6].startswith("Assignment: [TopicPartition{topic=out,partition=0,")
    assert lines[7:] == [repr(__import__("base64").b64encode(f"m{i}".encode()))
                         for i in range(250)]
    delivered = re.findall(r"% Message delivered to in \[0\] @ (\d+)", err)
    assert delivered == [str(i) for i in range(250)]
    read = [int(o) for o in re.findall(r"% out \[0\] at offset (\d+) with key None", err)]
    # three transactions: each COMMIT marker takes an offset (100 and 201)
    assert read == [*range(0, 100), *range(101, 201), *range(202, 252)]
    assert err.rstrip().endswith("%% Aborted by user")  # consumer.py's Ctrl-C path


def test_same_command_same_output(capsys, monkeypatch):
    first = _run_main(_chain(), LINES[:60], capsys, monkeypatch)
    assert _run_main(_chain(), LINES[:60], capsys, monkeypatch) == first


def test_a_crash_replay_restarts_the_program_and_checks_its_output(capsys, monkeypatch):
    argv = ["--input", "in=5", "--crash-after", "produce:3", "--check", "out",
            "--output-id", "base64", str(EXAMPLES / "eos_transactions.py"),
            "-b", "x", "-t", "in", "-o", "out", "-g", "g1"]
    code, out, err = _run_main(argv, "", capsys, monkeypatch)
    assert code == 0
    assert out.count("=== Starting Consume-Transform-Process loop ===") == 2  # restarted
    assert "client: librdkafka (confluent-kafka)\ncrashed after: produce:3\nOK: no anomalies" \
        in err


def test_the_example_without_a_group_duplicates_after_a_crash_following_a_commit():
    plan = plan_of(["--input", "in=5", "--crash-after", "commit_transaction:1", "--check",
                    "out", "--output-id", "base64", str(EXAMPLES / "eos_transactions.py"),
                    "-b", "x", "-t", "in", "-o", "out"])
    plan.echo = False
    out = run(plan)
    assert out.report.failures() == ["duplicate"]  # a new uuid4 group re-reads the input
    groups = sorted(g for g in out.sim.cluster.group_coordinator.groups)
    assert len(groups) == 2 and all(g.startswith("eos_example_") for g in groups)
    assert groups == sorted(g for g in run(plan).sim.cluster.group_coordinator.groups)


def test_time_random_and_uuid_are_virtual_and_seeded(tmp_path, capsys, monkeypatch):
    prog = tmp_path / "clock.py"
    prog.write_text("import random, time, uuid\nfrom confluent_kafka import Producer\n"
                    "t0 = time.time()\ntime.sleep(600)\np = Producer({})\n"
                    "print(round(time.time() - t0), time.time() > 1.7e9, random.random(),"
                    " uuid.uuid4())\n")
    started = time.monotonic()
    code, out, _ = _run_main([str(prog)], "", capsys, monkeypatch)
    assert code == 0 and time.monotonic() - started < 5
    assert out.split()[:2] == ["600", "True"]
    assert _run_main([str(prog)], "", capsys, monkeypatch)[1] == out
    assert _run_main(["--seed", "1", str(prog)], "", capsys, monkeypatch)[1] != out
    assert uuid.uuid4() != uuid.uuid4() and "confluent_kafka" not in sys.modules \
        or sys.modules["confluent_kafka"].__name__ == "confluent_kafka"  # restored


def test_a_program_waiting_forever_gets_a_simulated_ctrl_c(tmp_path, capsys, monkeypatch):
    prog = tmp_path / "wait.py"
    prog.write_text("from confluent_kafka import Consumer\n"
                    "c = Consumer({'group.id': 'g'})\nc.subscribe(['nope'])\n"
                    "while True:\n    c.poll()\n")
    code, _, err = _run_main(["--idle-exit", "30", str(prog)], "", capsys, monkeypatch)
    assert code == 130 and "KeyboardInterrupt" in err and "idle for 30 s" in err


@pytest.mark.parametrize("argv,word", [
    ([], "PROGRAM"), (["--input", "in=x", "a.py"], "--input"),
    (["no_such_file.py"], "no_such_file.py"), (["--fault", "acks=1", "x.py"], "--fault"),
    (["--crash-after", "produce", "x.py"], "--crash-after"),
    (["--bogus", "x.py"], "--bogus"), (["--seed", "s", "x.py"], "--seed"),
])
def test_bad_command_lines_exit_2_with_one_line(argv, word, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err and err.startswith("eoslib.run_app:")


def test_a_plan_is_replayed_by_its_command():
    plan = Plan([Program(str(EXAMPLES / "eos_transactions.py"), ["-b", "x", "-t", "in"])],
                inputs={"in": 4}, faults={"drop": ("end_txn.response.1",)},
                crashes=("poll:2",), output="output_topic", output_id="base64")
    again = plan_of(plan.command()[3:])
    assert (again.inputs, again.faults, again.crashes, again.output, again.programs) == \
        (plan.inputs, plan.faults, plan.crashes, plan.output, plan.programs)


# ------------------------------------------------------------------- against a real broker
def _real(kafka, tmp_path: Path, tag: str) -> tuple[str, str, str]:
    """The chain with the real confluent-kafka against the session's broker (topics made
    first: the course's broker does not create them on use)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    b = kafka.state.bootstrap
    t_in, t_out = f"shim-in-{tag}", f"shim-out-{tag}"
    admin = AdminClient({"bootstrap.servers": b})  # kept alive until the futures resolve
    for f in admin.create_topics([NewTopic(t_in, 1, 1), NewTopic(t_out, 1, 1)]).values():
        f.result(30)
    py = [sys.executable, "-u"]
    subprocess.run([*py, str(EXAMPLES / "producer.py"), b, t_in], input=LINES, text=True,
                   capture_output=True, timeout=120, check=True)
    eos = subprocess.run([*py, str(EXAMPLES / "eos_transactions.py"), "-b", b, "-t", t_in,
                          "-o", t_out, "-g", f"g-{tag}"], capture_output=True, text=True,
                         timeout=180, check=True)
    consumer = subprocess.Popen([*py, str(EXAMPLES / "consumer.py"), b, f"r-{tag}", t_out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    seen = 0
    assert consumer.stderr is not None
    for line in consumer.stderr:  # Ctrl-C once the last record was printed
        seen += line.startswith(f"% {t_out} [0] at offset")
        if seen == 250 or time.monotonic() > deadline:
            break
    time.sleep(1.0)  # let it print the last value (stdout comes after that stderr line)
    consumer.send_signal(signal.SIGINT)
    out, rest = consumer.communicate(timeout=60)
    return eos.stdout.replace(t_in, "in"), out, rest


@pytest.mark.broker
def test_the_examples_print_the_same_on_the_simulator_and_on_a_real_broker(
        kafka, tmp_path, capsys, monkeypatch):
    tag = os.urandom(4).hex()
    real_eos, real_values, real_tail = _real(kafka, tmp_path, tag)
    code, out, err = _run_main(_chain(), LINES, capsys, monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert real_eos.splitlines() == lines[:6] == EOS_LINES
    assert real_values.splitlines()[1:] == lines[7:]  # every value, in order
    assert "%% Aborted by user" in real_tail and err.rstrip().endswith("%% Aborted by user")


def test_another_thread_keeps_the_real_clock_and_cannot_move_the_simulation(tmp_path):
    import threading

    prog = tmp_path / "idle.py"
    prog.write_text("import time\nfrom confluent_kafka import Producer\np = Producer({})\n"
                    "for _ in range(50):\n    p.poll(0.01)\n")
    stop, slept = threading.Event(), []

    def kernel_heartbeat():  # what a Jupyter kernel's threads do while a cell runs
        while not stop.is_set():
            t = time.monotonic()
            time.sleep(0.001)
            slept.append(time.monotonic() - t)

    beat = threading.Thread(target=kernel_heartbeat)
    beat.start()
    try:
        runs = [run(Plan([Program(str(prog))], echo=False)).sim.now for _ in range(3)]
    finally:
        stop.set()
        beat.join()
    assert runs == [500.0] * 3 and slept and max(slept) < 1.0


def test_changing_one_import_is_enough(tmp_path):
    script = tmp_path / "one_import.py"
    script.write_text(
        "import sys\nfrom eoslib.confluent_kafka import Producer\n"
        "p = Producer({'bootstrap.servers': 'localhost:9092'})\n"
        "for i in range(3):\n    p.produce('t', f'v{i}')\np.flush()\n"
        f"src = open({str(EXAMPLES / 'consumer.py')!r}).read().replace(\n"
        "    'from confluent_kafka import', 'from eoslib.confluent_kafka import')\n"
        "sys.argv = ['consumer.py', 'localhost:9092', 'g', 't']\n"
        "exec(compile(src, 'consumer.py', 'exec'), {'__name__': '__main__'})\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0
    assert done.stdout.splitlines()[1:] == ["b'v0'", "b'v1'", "b'v2'"]
    assert done.stderr.rstrip().endswith("%% Aborted by user")  # the idle Ctrl-C
