"""Top-level pytest configuration for the tests in tests/ (notebooks elsewhere are not affected).

Keep this file small: fixtures used by a single test module belong in that module.

CI policy: a skip for a missing prerequisite fails under CI
-----------------------------------------------------------
A test that needs something a machine may lack (Java 17 + Maven for the Kafka broker jars,
Debian's Chromium, a running broker) skips with a one-line reason that starts with "needs "::

    pytest.skip("needs Java 17 and Maven (real-Kafka mode)")
    @pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian chromium")

On a learner's machine that is an ordinary skip. When the environment variable CI is "true"
(as in .ci/run), such a skip is reported as a failure instead, so CI can never turn green by
quietly skipping the real-Kafka or browser tests. Skips with any other reason, and xfails, are
left alone. tests/test_ci_skip_policy.py checks this behaviour.
"""

from __future__ import annotations

import os

import pytest

# One Kafka broker and one Java client driver per session, shared by tests/test_real_*.py;
# tests marked broker_crash run last (they SIGKILL it). Owner: real (eoslib/real/testing.py).
from eoslib.real.testing import java, kafka, pytest_collection_modifyitems  # noqa: F401

# Notebooks under tests/ are fixtures (e.g. sample submissions), not course material: keep
# nbval (`pytest tests --nbval ...`) from executing them. The glob matches at any depth.
collect_ignore_glob = ["*.ipynb"]

NEEDS_PREFIX = "needs "

# Module-level skips (pytest.skip(..., allow_module_level=True)) happen at collection time and
# have no test report to turn into a failure; they are collected here and fail the session.
_collection_skips_key = pytest.StashKey[list[str]]()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _needs_reason(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    """The reason of a skip for a missing prerequisite, else None."""
    if not report.skipped or hasattr(report, "wasxfail"):  # xfail is reported as skipped too
        return None
    longrepr = report.longrepr  # for skips: (path, lineno, "Skipped: <reason>")
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason.removeprefix("Skipped: ")
    return reason if reason.startswith(NEEDS_PREFIX) else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Under CI=true, turn a "needs ..." skip (in setup or in the test) into a failure."""
    report: pytest.TestReport = yield
    reason = _needs_reason(report)
    if reason is not None and _in_ci():
        report.outcome = "failed"
        report.longrepr = f"CI=true forbids skipping for a missing prerequisite: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Under CI=true, remember a "needs ..." skip of a whole module (fails the session below)."""
    report: pytest.CollectReport = yield
    reason = _needs_reason(report)
    if reason is not None and _in_ci():
        skips = collector.config.stash.setdefault(_collection_skips_key, [])
        skips.append(f"{report.nodeid}: {reason}")
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skips = config.stash.get(_collection_skips_key, [])
    if skips:
        terminalreporter.section("CI=true forbids skipping for a missing prerequisite", red=True)
        for line in skips:
            terminalreporter.line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash.get(_collection_skips_key, []) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
