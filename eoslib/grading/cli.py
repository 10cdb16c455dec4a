"""Command line: ``grade`` and ``make-exercises``.

``register(subparsers)`` adds both subcommands to an ``argparse`` sub-parser set; each sets
``func(args) -> int`` (the exit status). Standalone: ``python -m eoslib.grading.cli ...``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _grade(args: argparse.Namespace) -> int:
    from . import report
    from .results import NotebookGrade
    from .runner import grade

    def progress(result: NotebookGrade) -> None:
        if not args.quiet:
            status = (
                f"ERROR {result.error}"
                if result.error
                else f"{result.score:g}/{result.max_score:g}"
            )
            print(f"graded {result.notebook}: {status}", file=sys.stderr)

    if not args.memory_gb > 0:
        print(f"grade: --memory-gb must be a positive number, got {args.memory_gb:g}",
              file=sys.stderr)  # fmt: skip
        return 2
    from .runner import isolation
    from .sandbox import NEEDS

    if args.sandbox != "off" and not isolation():
        if args.sandbox == "require":
            print(f"grade: --sandbox require, but this machine {NEEDS}", file=sys.stderr)
            return 2
        print(f"grade: warning: submissions run without OS isolation here ({NEEDS})",
              file=sys.stderr)  # fmt: skip
    grades = grade(
        [Path(p) for p in args.paths],
        timeout_per_question=args.timeout,
        jobs=args.jobs,
        resources=Path(args.resources) if args.resources else None,
        progress=progress,
        memory_limit=int(args.memory_gb * 1024**3),
        sandbox=args.sandbox,
    )
    if not grades:
        print("no notebooks found", file=sys.stderr)
        return 2
    print(report.to_json(grades) if args.json else report.table(grades))
    if args.csv:
        report.write_csv(grades, Path(args.csv))
    if args.report:
        from .html_report import write_report

        write_report(grades, Path(args.report))
        if not args.quiet:
            print(f"class report written to {args.report}", file=sys.stderr)
    return 0


def _make_exercises(args: argparse.Namespace) -> int:
    from .generate import GenerateError, generate, generate_nbgrader_source

    root = Path(args.root)
    solutions, exercises = root / "solutions", root / "exercises"
    try:
        outcomes = generate(solutions, exercises, check=args.check)
        if args.nbgrader_source:
            generate_nbgrader_source(solutions, Path(args.nbgrader_source))
    except GenerateError as exc:
        print(f"make-exercises: {exc}", file=sys.stderr)
        return 2
    changed = [o for o in outcomes if o.changed]
    for outcome in changed:
        if outcome.source is None:
            verb = "stale (its solution is gone)" if args.check else "deleted (stale)"
        else:
            verb = "out of date" if args.check else "written"
        print(f"{outcome.target}: {verb}")
    if args.check and changed:
        print("exercises/ is out of sync with solutions/: run scripts/make-exercises")
        return 1
    if not changed:
        print(f"{len(outcomes)} exercise notebook(s) up to date")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add the ``grade`` and ``make-exercises`` subcommands."""
    p = subparsers.add_parser(
        "grade",
        help="grade submitted notebooks",
        description="Run each submission in a fresh kernel and score its check() cells.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="notebooks or folders")
    p.add_argument("--json", action="store_true", help="print the JSON list instead of a table")
    p.add_argument("--csv", metavar="FILE", help="also write a gradebook CSV")
    p.add_argument(
        "--report", metavar="FILE", help="also write the class report (self-contained HTML)"
    )
    p.add_argument(
        "--memory-gb", type=float, default=2.0, metavar="GB", help="memory limit per submission"
    )
    p.add_argument("--timeout", type=float, default=60, metavar="S", help="per-cell limit")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks in parallel")
    p.add_argument("--resources", metavar="DIR", help="copied into each working directory")
    p.add_argument("--sandbox", choices=("auto", "require", "off"), default="auto",
                   help="OS isolation of each kernel (Linux user namespaces); default: auto")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=_grade)

    m = subparsers.add_parser(
        "make-exercises",
        help="generate exercises/ from solutions/",
        description="Write exercises/*.ipynb (student versions) from solutions/*.ipynb.",
    )
    m.add_argument("--check", action="store_true", help="exit 1 if exercises/ is out of date")
    m.add_argument("--root", default=str(REPO_ROOT), help="folder holding solutions/, exercises/")
    m.add_argument(
        "--nbgrader-source", metavar="DIR", help="also write nbgrader-annotated solutions here"
    )
    m.set_defaults(func=_make_exercises)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m eoslib.grading.cli``."""
    parser = argparse.ArgumentParser(prog="python -m eoslib.grading.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
