"""The command line: ``argv`` -> exit code; stdout carries data only, stderr messages.

Subcommands: ``select`` (the default: ``impactsel --since main``), ``why``,
``graph``, ``gate``, ``hook``, ``watch`` and ``coverage``. Exit codes: 0 the run
succeeded (whether or not anything was selected), 1 a gate failed or the tests
run by ``hook run``/``watch`` failed, 2 bad input or usage (a one-line message
that names the fix).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from impactsel import __version__
from impactsel.errors import ImpactselError, UsageError

if TYPE_CHECKING:
    from impactsel.config import Settings
    from impactsel.pipeline import Analysis

OK, FAIL, ERROR = 0, 1, 2
SUBCOMMANDS = ("select", "why", "graph", "gate", "hook", "watch", "coverage")


def console() -> None:
    """The ``impactsel`` command: ``main``, then a quick exit.

    A large project's analysis is hundreds of thousands of objects; freeing them one
    by one, and then the modules, costs more than 50 ms at exit and serves nothing
    (the process is ending). The last analysis is held (``_HELD``) and the process
    ends as soon as its output is flushed.
    """
    if hasattr(signal, "SIGPIPE"):
        # A reader that stops early (``impactsel | head``) ends the process quietly,
        # as it ends ``cat`` or ``grep``, rather than with a BrokenPipeError.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    code = main()
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(code)  # a profiler or coverage tracer writes its data at exit: let it
    try:
        sys.stdout.flush()
    except OSError as exc:  # a full disk: the output is not all there
        print(f"impactsel: error: cannot write the output: {exc.strerror}", file=sys.stderr)
        code = ERROR
    logging.shutdown()
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(code)


#: The last analysis, kept alive until the process ends (see ``console``).
_HELD: list[Analysis] = []


def main(argv: list[str] | None = None) -> int:
    """Run impactsel with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "select"
    if argv and argv[0] == command:
        argv = argv[1:]
    argv, passthrough = _split_passthrough(argv)
    try:
        args = _parser(command).parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return OK if exc.code == 0 else ERROR
    args.passthrough = passthrough
    with _debug_log(args.debug):
        return _run(command, args)


def _run(command: str, args: argparse.Namespace) -> int:
    try:
        return _HANDLERS[command](args)
    except ImpactselError as exc:
        if args.debug:
            raise
        from impactsel.report import one_line

        print(one_line(f"impactsel: error: {exc.message} (see README, #error-{exc.slug})"), file=sys.stderr)
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


@contextlib.contextmanager
def _debug_log(enabled: bool) -> Iterator[None]:
    """``--debug``: impactsel's own debug log (how the graph was made, cache trouble) on stderr."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("impactsel")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("impactsel: %(message)s"))
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging's own convention: report, never raise
            self.handleError(record)


def _split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    """``impactsel watch --since main -- -x -q``: what follows ``--`` goes to pytest."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def _parser(command: str) -> argparse.ArgumentParser:
    epilog = None
    if command == "select":
        epilog = "other commands (impactsel COMMAND --help):\n" + "\n".join(
            f"  {name:<9} {text}" for name, text in _DESCRIPTIONS.items() if name != "select"
        )
    parser = argparse.ArgumentParser(
        prog="impactsel" if command == "select" else f"impactsel {command}",
        description=_DESCRIPTIONS[command],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    _ARGUMENTS[command](parser)
    parser.add_argument("--version", action="version", version=f"impactsel {__version__}")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", metavar="REV", help="compare with merge-base(REV, HEAD) (default: [tool.impactsel] since)"
    )
    parser.add_argument("--root", metavar="DIR", type=Path, help="project root (default: the git work tree's top)")
    parser.add_argument("--cache-dir", metavar="DIR", type=Path, help="cache directory (default: .impactsel_cache)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument(
        "--jobs", "-j", type=int, default=0, metavar="N", help="worker processes for parsing (default: one per core)"
    )
    parser.add_argument(
        "--fetch", action="store_true", help="in a shallow clone, deepen the history until the base is found"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")


def _select_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=("ids", "files", "json"),
        default="ids",
        help="what to print (default: ids)",
    )
    parser.add_argument("--shard", metavar="K/N", help="print only shard K of N (1-based) of the selection")
    parser.add_argument("--durations-from", metavar="JUNIT_XML", type=Path, help="balance shards by these durations")
    parser.add_argument(
        "--coverage", metavar="FILE", type=Path, help="refine with coverage.py data recorded with per-test contexts"
    )


def _why_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("test", metavar="TEST_ID", help="a pytest node id, as impactsel prints them")


def _graph_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", dest="output_format", choices=("dot", "json", "html"), default="dot")


def _gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", dest="output_format", choices=("text", "github"), default="text")


def _hook_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "uninstall", "run"))
    parser.add_argument("remote", nargs="?", default="origin", help="(run) the remote being pushed to")
    parser.add_argument("url", nargs="?", default="", help="(run) its URL")
    parser.add_argument("--force", action="store_true", help="(install) replace a pre-push hook that is not ours")


def _watch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debounce", type=float, default=0.3, metavar="SECONDS", help="wait for saves to settle")


def _coverage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("record",))
    parser.add_argument("--data-file", type=Path, default=Path(".coverage"), help="where to write the data")


_DESCRIPTIONS = {
    "select": "Print the pytest node ids that the changes since REV can affect.",
    "why": "Show the chain from a change to a test, or why the test is not affected.",
    "graph": "Draw the changed symbols, the paths and the selected tests.",
    "gate": "Fail (exit 1) when a changed symbol is reached by no test.",
    "hook": "Install, remove or run the git pre-push hook that runs the affected tests.",
    "watch": "Rerun the affected tests on every save.",
    "coverage": "Record coverage data with per-test contexts for --coverage.",
}
_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "select": _select_arguments,
    "why": _why_arguments,
    "graph": _graph_arguments,
    "gate": _gate_arguments,
    "hook": _hook_arguments,
    "watch": _watch_arguments,
    "coverage": _coverage_arguments,
}


def _settings(args: argparse.Namespace, need_since: bool = True) -> Settings:
    from impactsel.config import load_settings
    from impactsel.gitdiff import Repository

    root = args.root if args.root is not None else Repository(Path.cwd()).root
    if not root.is_dir():
        raise UsageError(f"--root {root} is not a directory; pass the project's root directory")
    settings = load_settings(root.resolve())
    changes: dict[str, object] = {"debug": args.debug, "jobs": args.jobs, "fetch": args.fetch}
    if args.since:
        changes["since"] = args.since
    if args.cache_dir is not None:
        changes["cache_dir"] = args.cache_dir.resolve()
    if args.no_cache:
        changes["cache_dir"] = None
    settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    if need_since and not settings.since:
        raise UsageError("no base revision: pass --since REV (or set since in [tool.impactsel])", slug="no-since")
    return settings


def _analyse(settings: Settings) -> Analysis:
    from impactsel import pipeline, report

    analysis = pipeline.analyse(settings)
    _HELD[:] = [analysis]
    selection = analysis.selection
    for note in selection.warnings:
        print(report.one_line(f"impactsel: {note}"), file=sys.stderr)
    if selection.run_all:
        print(report.one_line(f"impactsel: selecting every test: {selection.run_all}"), file=sys.stderr)
    print(report.summary(selection, analysis.seconds), file=sys.stderr)
    return analysis


def _select(args: argparse.Namespace) -> int:
    from impactsel import report

    settings = _settings(args)
    analysis = _analyse(settings)
    selection = analysis.selection
    if args.coverage is not None:
        from impactsel import covdata

        selection = covdata.refine(analysis, args.coverage.resolve())
        print(f"impactsel: with coverage: {len(selection.tests)}/{selection.total_tests} tests", file=sys.stderr)
    if args.shard:
        from impactsel import shard

        index, total = shard.parse_spec(args.shard)
        durations = shard.read_durations(args.durations_from) if args.durations_from else None
        selection = shard.apply(selection, index, total, durations, all_tests=[i.nodeid for i in analysis.items])
    sys.stdout.write(report.render(selection, args.output_format))
    return OK


def _why(args: argparse.Namespace) -> int:
    from impactsel import explain

    analysis = _analyse(_settings(args))
    _, text = explain.why(analysis, args.test)
    sys.stdout.write(text)
    return OK


def _graph(args: argparse.Namespace) -> int:
    from impactsel import explain

    analysis = _analyse(_settings(args))
    sys.stdout.write(explain.render_graph(analysis, args.output_format))
    return OK


def _gate(args: argparse.Namespace) -> int:
    from impactsel import gate

    analysis = _analyse(_settings(args))
    result = gate.check(analysis)
    sys.stdout.write(gate.render(result, args.output_format))
    return FAIL if result.untested else OK


def _hook(args: argparse.Namespace) -> int:
    from impactsel import hook
    from impactsel.gitdiff import Repository

    root = args.root.resolve() if args.root is not None else Repository(Path.cwd()).root
    if args.action == "install":
        print(hook.install(root, force=args.force), file=sys.stderr)
        return OK
    if args.action == "uninstall":
        print(hook.uninstall(root), file=sys.stderr)
        return OK
    lines = [] if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read().splitlines()
    return hook.run(root, args.remote, lines, args.passthrough)


def _watch(args: argparse.Namespace) -> int:
    from impactsel import watch

    return watch.run(_settings(args), args.passthrough, debounce=args.debounce)


def _coverage(args: argparse.Namespace) -> int:
    from impactsel import covdata

    settings = _settings(args, need_since=False)
    return covdata.record(settings.root, args.data_file, args.passthrough)


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "select": _select,
    "why": _why,
    "graph": _graph,
    "gate": _gate,
    "hook": _hook,
    "watch": _watch,
    "coverage": _coverage,
}
