"""The command line: ``argv`` -> exit code; stdout carries data only, stderr messages.

Exit codes: 0 the run succeeded (whether or not anything was selected), 2 bad
input or usage (with a one-line message naming the fix), 1 reserved for gates.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from impactsel import __version__
from impactsel.errors import ImpactselError, UsageError

OK, FAIL, ERROR = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    """Run impactsel with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return OK if exc.code == 0 else ERROR
    try:
        return _select(args)
    except ImpactselError as exc:
        if args.debug:
            raise
        print(f"impactsel: error: {exc.message} (see README, #error-{exc.slug})", file=sys.stderr)
        return ERROR
    except KeyboardInterrupt:
        print("impactsel: interrupted", file=sys.stderr)
        return ERROR
    except Exception as exc:  # an internal error: say so, never print a traceback unasked
        if args.debug:
            raise
        print(
            f"impactsel: error: internal error ({type(exc).__name__}: {exc}); "
            "rerun with --debug and report it (see README, #error-internal)",
            file=sys.stderr,
        )
        return ERROR


# Private


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="impactsel",
        description="Print the pytest node ids that the changes since REV can affect.",
    )
    parser.add_argument(
        "--since", metavar="REV", help="compare with merge-base(REV, HEAD) (default: [tool.impactsel] since)"
    )
    parser.add_argument("--root", metavar="DIR", type=Path, help="project root (default: the git work tree's top)")
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=("ids", "files", "json"),
        default="ids",
        help="what to print (default: ids)",
    )
    parser.add_argument("--cache-dir", metavar="DIR", type=Path, help="cache directory (default: .impactsel_cache)")
    parser.add_argument(
        "--jobs", "-j", type=int, default=0, metavar="N", help="worker processes for parsing (default: one per core)"
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    parser.add_argument("--version", action="version", version=f"impactsel {__version__}")
    return parser


def _select(args: argparse.Namespace) -> int:
    from impactsel import pipeline, report
    from impactsel.config import load_settings
    from impactsel.gitdiff import Repository

    root = args.root if args.root is not None else Repository(Path.cwd()).root
    if not root.is_dir():
        raise UsageError(f"--root {root} is not a directory; pass the project's root directory")
    settings = load_settings(root.resolve())
    if args.since:
        settings = dataclasses.replace(settings, since=args.since)
    if not settings.since:
        raise UsageError("no base revision: pass --since REV (or set since in [tool.impactsel])", slug="no-since")
    settings = dataclasses.replace(settings, output_format=args.output_format, debug=args.debug, jobs=args.jobs)
    if args.cache_dir is not None:
        settings = dataclasses.replace(settings, cache_dir=args.cache_dir.resolve())
    if args.no_cache:
        settings = dataclasses.replace(settings, cache_dir=None)
    analysis = pipeline.analyse(settings)
    selection = analysis.selection
    sys.stdout.write(report.render(selection, settings.output_format))
    for note in selection.warnings:
        print(f"impactsel: {note}", file=sys.stderr)
    if selection.run_all:
        print(f"impactsel: selecting every test: {selection.run_all}", file=sys.stderr)
    print(report.summary(selection, analysis.seconds), file=sys.stderr)
    return OK
