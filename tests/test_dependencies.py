"""pyproject.toml and environment.yml must declare the same dependencies.

pyproject.toml is what `bash scripts/setup` installs (pip, in .venv); environment.yml is the
conda-forge alternative. Both name the same packages with the same lower bounds and the same
Python floor; this test catches one being edited without the other.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent

# conda-forge package names that differ from the PyPI distribution they package.
CONDA_TO_PYPI = {
    "python-confluent-kafka": "confluent-kafka",
}
# conda entries that are not Python dependencies of the course.
CONDA_ONLY = {"python", "pip"}

CONDA_SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*)\s*(?P<spec>.*)$")


def _floor(specifier: str) -> Version | None:
    """The lower bound of a version specifier like '>=1.2,<2' (None when unbounded)."""
    floors = [
        Version(m.group(2))
        for m in re.finditer(r"(?<![<!])(>=|~=|==?)\s*([0-9][0-9A-Za-z.]*)", specifier)
    ]
    return max(floors) if floors else None


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def pyproject_deps() -> dict[str, Version | None]:
    deps = {}
    for line in pyproject()["project"]["dependencies"]:
        req = Requirement(line)
        deps[canonicalize_name(req.name)] = _floor(str(req.specifier))
    return deps


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def environment_entries() -> tuple[dict[str, str], dict[str, str]]:
    """(conda entries, pip entries), each as canonical PyPI name -> version specifier."""
    conda, pip = {}, {}
    for entry in environment()["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                req = Requirement(line)
                pip[canonicalize_name(req.name)] = str(req.specifier)
            continue
        m = CONDA_SPEC.match(entry)
        assert m, f"unparsable conda spec {entry!r}"
        name = m.group("name").lower()
        conda[canonicalize_name(CONDA_TO_PYPI.get(name, name))] = m.group("spec")
    return conda, pip


def environment_deps() -> dict[str, Version | None]:
    conda, pip = environment_entries()
    both = conda.keys() & pip.keys()
    assert not both, f"listed both as conda and pip packages in environment.yml: {both}"
    merged = {**conda, **pip}
    return {name: _floor(spec) for name, spec in merged.items() if name not in CONDA_ONLY}


def test_environment_uses_conda_forge() -> None:
    assert environment()["channels"] == ["conda-forge"]


def test_same_packages() -> None:
    py, env = set(pyproject_deps()), set(environment_deps())
    assert py - env == set(), "in pyproject.toml but missing from environment.yml"
    assert env - py == set(), "in environment.yml but missing from pyproject.toml"


def test_same_lower_bounds() -> None:
    py, env = pyproject_deps(), environment_deps()
    differ = {name: (py[name], env.get(name)) for name in py if py[name] != env.get(name)}
    assert differ == {}, "lower bounds (pyproject.toml, environment.yml) differ"


def test_same_python_floor() -> None:
    requires_python = pyproject()["project"]["requires-python"]
    conda, _ = environment_entries()
    assert "python" in conda, "environment.yml must pin python"
    assert _floor(requires_python) == _floor(conda["python"]) == Version("3.11")


def test_pip_listed_when_pip_section_used() -> None:
    """environment.yml lists `pip` whenever it has a pip: section (conda needs it to run it)."""
    conda, pip = environment_entries()
    if pip:
        assert "pip" in conda


@pytest.mark.parametrize("line", pyproject()["project"]["dependencies"])
def test_installed_versions_satisfy_pyproject(line: str) -> None:
    """The interpreter running the tests has every dependency, at a version pyproject allows."""
    req = Requirement(line)
    try:
        installed = importlib.metadata.version(req.name)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{req.name} is not installed: run `bash scripts/setup`")
    assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed}"


def test_floor_parser() -> None:
    assert _floor(">=3.11") == Version("3.11")
    assert _floor(" >=2.16.1,<3") == Version("2.16.1")
    assert _floor("=1.2") == Version("1.2")
    assert _floor("~=4.1") == Version("4.1")
    assert _floor("<=3,!=2.0") is None
    assert _floor("") is None


def test_jupyterlab_news_popup_is_off_in_the_course_environment() -> None:
    """scripts/setup writes JupyterLab settings overrides into the venv: no news pop-up over
    the learner's first notebook, no update check."""
    import sys
    from pathlib import Path

    path = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    if not path.exists():
        pytest.skip(f"not running in the course's venv ({sys.prefix}); scripts/setup writes it")
    import json

    notif = json.loads(path.read_text())["@jupyterlab/apputils-extension:notification"]
    assert notif == {"fetchNews": "false", "checkForUpdates": False}
