"""The CI policy in tests/conftest.py: under CI=true a "needs ..." skip is a failure.

Each test runs a small throwaway pytest session (pytester) with a copy of tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py").read_text(encoding="utf-8")

SAMPLE = """
import pytest

def test_passes():
    pass

def test_needs_java():
    pytest.skip("needs Java 17 and Maven")

@pytest.mark.skipif(True, reason="needs Debian chromium")
def test_needs_chromium():
    pass

@pytest.fixture
def broker():
    pytest.skip("needs a running Kafka broker")

def test_needs_broker(broker):
    pass

def test_other_skip():
    pytest.skip("only meaningful on Windows")

@pytest.mark.xfail(reason="needs a fix upstream")
def test_xfail():
    assert False
"""

MODULE_SKIP = """
import pytest

pytest.skip("needs Java 17 and Maven", allow_module_level=True)

def test_never_runs():
    pass
"""

# -p no:... keeps the inner sessions fast and independent of the plugins installed around them.
ARGS = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:nbval", "-rA")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample=SAMPLE)
    return pytester


def test_outside_ci_needs_skips_stay_skips(project: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = project.runpytest(*ARGS)
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_in_ci_needs_skips_fail(project: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    result = project.runpytest(*ARGS)
    # The skip inside the test fails it; skips in setup (skipif mark, fixture) become errors.
    result.assert_outcomes(passed=1, failed=1, errors=2, skipped=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*CI=true forbids skipping for a missing prerequisite: needs Java 17 and Maven*"]
    )


def test_ci_other_values_do_not_enforce(project: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("CI", "false")
    result = project.runpytest(*ARGS)
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)


def test_in_ci_module_level_needs_skip_fails_session(
    pytester: pytest.Pytester, monkeypatch
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n", test_module_skip=MODULE_SKIP)

    monkeypatch.delenv("CI", raising=False)
    assert pytester.runpytest(*ARGS).ret == pytest.ExitCode.OK

    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest(*ARGS)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*CI=true forbids skipping for a missing prerequisite*",
            "test_module_skip.py: needs Java 17 and Maven",
        ]
    )
