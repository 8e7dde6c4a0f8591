"""Watch mode: saves under the project root -> the affected tests, run again each time.

Input: the settings, pytest's arguments and a settle time. Output: an exit code (0
after Ctrl-C). watchfiles (the ``impactsel[watch]`` extra, imported lazily) reports
batches of saves; paths that git ignores and impactsel's cache are dropped. Each
batch runs the whole analysis again, so the selection always follows from git and
the files as they are, never from what an earlier run saw, and then runs
``python -m pytest <ids> <args>`` in a child process. A save during a run stops it
(terminate, then kill after a grace period) and starts the next one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from impactsel.errors import ImpactselError, import_extra
from impactsel.report import one_line

if TYPE_CHECKING:
    from impactsel.config import Settings
    from impactsel.model import Selection

#: Seconds a stopped pytest gets to exit after SIGTERM before it is killed.
GRACE = 3.0
#: How often (ms) the loop wakes up without a change, to notice that pytest finished.
_POLL_MS = 200
_SHOWN_SYMBOLS = 3


def run(settings: Settings, pytest_args: list[str], debounce: float, *, max_runs: int | None = None) -> int:
    """Run the affected tests now and again after every batch of saves, until Ctrl-C.

    Args:
        settings: impactsel's settings (``since`` set).
        pytest_args: more arguments for each pytest run (``impactsel watch -- -x``).
        debounce: seconds without a new save before a batch counts as settled.
        max_runs: stop after this many runs have finished (for tests); None: until Ctrl-C.

    Returns:
        0 after Ctrl-C; with ``max_runs``, 1 when the last run's tests failed, else 0.

    Raises:
        ImpactselError: watchfiles is missing, or the first analysis failed.
    """
    watchfiles = import_extra("watchfiles", "watch")
    ignore = [settings.cache_dir] if settings.cache_dir is not None else []
    step = max(10, int(debounce * 1000))
    events = watchfiles.watch(
        settings.root,
        watch_filter=watchfiles.DefaultFilter(ignore_paths=ignore),
        step=step,
        debounce=max(1600, 4 * step),
        rust_timeout=_POLL_MS,
        yield_on_timeout=True,
    )
    batches = (_not_ignored(settings.root, {Path(path) for _, path in batch}) for batch in events)
    return _Loop(settings, pytest_args).run(batches, max_runs)


# Private


def _not_ignored(root: Path, paths: set[Path]) -> set[Path]:
    """``paths`` less those git ignores (tracked files never are), asking git once per batch."""
    relative = sorted({p.relative_to(root).as_posix() for p in paths if p != root and p.is_relative_to(root)})
    if not relative:
        return set()
    done = subprocess.run(
        ["git", "check-ignore", "-z", "--stdin"],
        cwd=root,
        input="".join(f"{p}\0" for p in relative).encode(),
        capture_output=True,
        check=False,
    )
    # Exit 1: nothing is ignored; 128: git failed (then keep everything: a run too many is harmless).
    ignored = set(done.stdout.decode(errors="surrogateescape").split("\0")) if done.returncode == 0 else set()
    return {root / p for p in relative if p not in ignored}


class _Loop:
    """Runs, stops and restarts pytest as batches of saves come in; one child at a time."""

    def __init__(self, settings: Settings, pytest_args: list[str]) -> None:
        self.settings = settings
        self.pytest_args = pytest_args
        self.child: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.status = 0

    def run(self, batches: Iterable[set[Path]], max_runs: int | None) -> int:
        """Consume ``batches`` (an empty one: nothing changed, time to look at the child)."""
        pending = True  # the first run: what the changes so far affect
        try:
            for batch in batches:
                if pending or batch:
                    pending = False
                    self._stop()  # a save during a run makes its result stale
                    self._start()
                if self._finished() and max_runs is not None and self.runs >= max_runs:
                    break
        except KeyboardInterrupt:
            self._stop()
            print("impactsel watch: stopped", file=sys.stderr, flush=True)
            return 0
        finally:
            self._stop()
        return self.status

    def _start(self) -> None:
        selection = self._select()
        if selection is None:
            return
        self.runs += 1
        self.status = 0
        print(one_line(f"impactsel watch: {_describe(selection)}"), file=sys.stderr, flush=True)
        if selection.run_all is None and not selection.tests:
            return  # pytest without ids would run every test
        ids = [t.nodeid for t in selection.tests] if selection.run_all is None else []
        command = [sys.executable, "-m", "pytest", *ids, *self.pytest_args]
        self.child = subprocess.Popen(command, cwd=self.settings.root)

    def _select(self) -> Selection | None:
        from impactsel import pipeline

        try:
            return pipeline.analyse(self.settings).selection
        except ImpactselError as exc:
            if self.runs == 0:
                raise  # a bad revision or configuration from the start: say so and exit
            # Mid-edit (a half-saved pyproject.toml): wait for the next save.
            message = f"impactsel watch: error: {exc.message}; waiting for the next change"
            print(one_line(message), file=sys.stderr, flush=True)
            return None

    def _finished(self) -> bool:
        if self.child is None:
            return True
        code = self.child.poll()
        if code is None:
            return False
        self.status = 0 if code in (0, 5) else 1  # 5: no tests collected (ids that no longer exist)
        self.child = None
        return True

    def _stop(self) -> None:
        child, self.child = self.child, None
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _describe(selection: Selection) -> str:
    """``3 tests (2 changed symbols: pkg.mod:f, pkg.mod:g)``."""
    changed = [c.id for c in selection.changed]
    shown = ", ".join(changed[:_SHOWN_SYMBOLS]) + (", ..." if len(changed) > _SHOWN_SYMBOLS else "")
    symbols = f"{_plural(len(changed), 'changed symbol')}: {shown}" if changed else "no changed symbols"
    if selection.run_all is not None:
        return f"all tests ({selection.run_all})"
    return f"{_plural(len(selection.tests), 'test')} ({symbols})"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
