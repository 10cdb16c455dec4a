"""`eoslib site`: build the website into a folder, or check that a built one is in step."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(2, f"eoslib site: error: {message}\n")


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, default=REPO,
                   help="the course's repository (default: the one eoslib is in)")
    p.add_argument("--out", type=Path, default=None,
                   help="the site folder (default: ROOT/_build/site)")
    p.add_argument("--cache", type=Path, default=None,
                   help="recorded runs by content hash (default: ROOT/_build/cache/site)")
    p.add_argument("--jobs", type=int, default=None,
                   help="notebooks run at once for their widgets (default: up to 2)")
    p.add_argument("--repo-url", default=None,
                   help="the repository's web address, for the landing page and for links "
                        "to files the site does not hold")
    p.add_argument("--check", action="store_true",
                   help="build nothing; exit 1 if a page is older than its notebook")


def run(args: argparse.Namespace) -> int:
    """Build (or check) the site; one line per problem, exit 1 on failure."""
    from eoslib.site.build import SiteError, build, check

    root = args.root
    if not (root / "notebooks").is_dir():
        print(f"eoslib site: error: Invalid value {str(root)!r} for --root: expected the "
              "course's repository (a folder with notebooks/)", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print(f"eoslib site: error: Invalid value {args.jobs!r} for --jobs: expected a whole "
              "number >= 1", file=sys.stderr)
        return 2
    out = args.out or root / "_build" / "site"
    if args.check:
        problems = check(root, out)
        for line in problems:
            print(f"site: stale: {line}")
        print(f"site: {out} is {'in step with' if not problems else 'older than'} the notebooks")
        return 1 if problems else 0
    try:
        report = build(root, out, cache=args.cache, jobs=args.jobs, repo_url=args.repo_url)
    except SiteError as exc:
        print(f"eoslib site: error: {exc}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``eoslib site`` to the ``eoslib`` command."""
    p = sub.add_parser("site", help="build the course's static website (offline)")
    _options(p)
    p.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eoslib.site``."""
    p = _Parser(prog="eoslib site", description="Build the course's static website.")
    _options(p)
    return run(p.parse_args(argv))
