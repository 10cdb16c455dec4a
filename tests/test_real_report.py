"""Notebook 12's comparison printout (eoslib.real.report.format_blocks): narrow enough for a
notebook column, every recorded row in it, both results shown where they differ."""

from __future__ import annotations

from eoslib.real import compare
from eoslib.real.report import BLOCK_WIDTH, format_blocks


def test_the_recorded_comparison_fits_a_notebook_column_and_keeps_every_row() -> None:
    rows = compare.recorded()["results"]
    text = format_blocks(rows)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= BLOCK_WIDTH
    settings = [line for line in lines if line.startswith(("  yes", "  NO ", "  -  "))]
    assert len(settings) == len(rows)
    for exp, client, *_ in compare.table_rows(rows):
        assert f"{exp} · {client}" in lines


def test_a_disagreement_shows_both_results_and_a_long_result_gets_its_own_line() -> None:
    row = {"experiment": "producer-retry", "client": "librdkafka",
           "setting": "enable.idempotence=false", "agree": False}
    same = {**row, "setting": "enable.idempotence=true", "agree": True,
            "sim": {"duplicates": 0}, "real": {"duplicates": 0}}
    differ = {**row, "sim": {"duplicates": 1}, "real": {"duplicates": 3}}
    lines = format_blocks([same, differ], width=48).splitlines()
    assert lines[1] == "producer-retry · librdkafka"
    assert lines[2].split() == ["yes", "enable.idempotence=true", "duplicates=0"]
    assert lines[3].split() == ["NO", "enable.idempotence=false"]  # did not fit in 48
    assert [line.strip() for line in lines[4:]] == ["simulation: duplicates=1",
                                                    "real Kafka: duplicates=3"]
