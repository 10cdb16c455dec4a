"""Faults that scale with the run (issue 16 §5): a default crash falls inside any run, a
crash placed beyond the input is an error naming it, and a placed loss is exactly that many."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eoslib.errors import ConfigException
from eoslib.scenarios import run_scenario

CRASHING = ("consumer-crash", "at-most-once", "transactional-crash", "external-sink")


@pytest.mark.parametrize("scenario", CRASHING)
@pytest.mark.parametrize("messages", [1, 3, 7, 20, 100])
def test_the_default_crash_happens_whatever_the_run_size(scenario, messages):
    r = run_scenario(scenario, messages=messages, tracing=False)
    crashes = r.history.of("crash")
    assert len(crashes) == 1, f"{scenario} with {messages} messages crashed {len(crashes)}x"
    assert r.faults["crash_at"] == messages // 2  # the middle message, said in the result
    assert crashes[0].value["step"] == r.faults["crash_step"]


@pytest.mark.parametrize("key,value", [("crash_at", 30), ("crash_points", ("after_poll:30",))])
def test_a_crash_beyond_the_input_is_an_error_naming_it(key, value):
    with pytest.raises(ConfigException) as e:
        run_scenario("consumer-crash", messages=30, faults={key: value})
    text = str(e.value)
    assert key in text and "30" in text and "0 to 29" in text


def test_the_cli_says_so_in_one_line():
    p = subprocess.run([sys.executable, "-m", "eoslib.cli", "run", "consumer-crash",
                        "--messages", "20", "--set", "crash_at=25"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "crash_at" in p.stderr and "m0..m19" in p.stderr


@pytest.mark.parametrize("n", [1, 2, 3])
def test_lost_acks_means_exactly_that_many_lost_answers(n):
    """producer-retry's own chance loss (response_loss=0.1) is off when lost_acks is given."""
    r = run_scenario("producer-retry", messages=20, faults={"lost_acks": n},
                     config={"enable.idempotence": False})
    assert r.faults["response_loss"] == 0.0
    assert sum(1 for ev in r.trace if ev["kind"] == "lost") == n
    both = run_scenario("producer-retry", messages=20, config={"enable.idempotence": False},
                        faults={"lost_acks": n, "response_loss": 0.3})
    assert both.faults["response_loss"] == 0.3  # given explicitly: kept
    assert sum(1 for ev in both.trace if ev["kind"] == "lost") > n
