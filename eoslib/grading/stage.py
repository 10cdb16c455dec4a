"""A read-only copy of the eoslib package for grading kernels and judges to import.

The grader's checkout holds ``solutions/`` next to the package (it is installed editable), so
a kernel that imported eoslib from there could walk to the solutions. :func:`stage` copies
the package alone (with its compiled bytecode) into a fresh folder, ``<folder>/eoslib``,
and makes it read-only; the fork server imports eoslib from there and the sandbox shows that
folder, not the checkout (:mod:`eoslib.grading.sandbox`). ``pathlib.Path(eoslib.__file__)
.parents[1]`` is then the staging folder, which holds nothing but the package.
"""

from __future__ import annotations

import compileall
import os
import shutil
import stat
import tempfile
from pathlib import Path

import eoslib

IGNORED = shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "*.egg-info")


def stage(parent: str | None = None) -> Path:
    """Copy the eoslib package into a new folder (read-only) and return that folder."""
    folder = Path(tempfile.mkdtemp(prefix="eoslib-stage-", dir=parent))
    source = Path(eoslib.__file__).resolve().parent
    target = folder / "eoslib"
    shutil.copytree(source, target, ignore=IGNORED)
    compileall.compile_dir(str(target), quiet=2, workers=1)
    for path in [folder, *folder.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode):
            os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return folder


def remove(folder: Path) -> None:
    """Delete a staging folder (made writable again first)."""
    for path in [folder, *folder.rglob("*")]:
        try:
            if not path.is_symlink():
                os.chmod(path, path.stat().st_mode | stat.S_IWUSR)
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)
