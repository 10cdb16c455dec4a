"""eoslib.lessons.show: the run's client, the counts the cell is about, then the verdict (one
helper for every notebook instead of a copy in each)."""

from __future__ import annotations

import pytest

from eoslib.lessons.show import show
from eoslib.scenarios import run_scenario


def test_show_prints_the_client_the_counts_then_the_verdict(
        capsys: pytest.CaptureFixture[str]) -> None:
    r = run_scenario("producer-retry", seed=1, messages=3, config={"enable.idempotence": False},
                     faults={"response_loss": 0, "lost_acks": 1})
    show(r, keys=("duplicates", "retries"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "client: librdkafka (confluent-kafka)" == str(r).splitlines()[0]
    assert lines[1] == f"      duplicates: {r.counts['duplicates']}"
    assert lines[2] == f"         retries: {r.counts['retries']}"
    assert lines[3].startswith("NOT OK")
    with pytest.raises(KeyError, match="'nope' for keys"):
        show(r, keys=("nope",))
    assert capsys.readouterr().out == ""  # a bad key prints nothing
