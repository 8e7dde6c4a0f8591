"""``impactsel watch``: a real watchfiles watcher on a real git repository, real saves, real pytest runs."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from impactsel import watch
from impactsel.cache import Cache
from impactsel.cli import main
from impactsel.config import load_settings

#: Generous: a loaded CI machine can take seconds to start Python, analyse and run pytest.
TIMEOUT = 30.0
GITIGNORE = "__pycache__/\n.pytest_cache/\nbuild/\n"
#: For each pytest run: no cache directory, no hypothesis plugin (slow to import).
PYTEST = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
FMT = 'return f"{cents / 100:.2f} {CURRENCY}"'
FMT_TESTS = {
    "tests/test_catalog.py::test_label",
    "tests/test_checkout.py::test_receipt",
    "tests/test_money.py::test_fmt",
}


class Lines:
    """A text stream that keeps what was written, for a reader that waits for a line."""

    def __init__(self) -> None:
        self._text = ""
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            self._text += text
            self._changed.notify_all()
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def lines(self) -> list[str]:
        with self._changed:
            return self._text.splitlines()

    def wait_for(self, found: Callable[[list[str]], bool], what: str) -> list[str]:
        deadline = time.monotonic() + TIMEOUT
        with self._changed:
            while not found(self._text.splitlines()):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}; got:\n{self._text}"
                self._changed.wait(left)
            return self._text.splitlines()

    def runs(self, count: int) -> list[str]:
        """Wait for the ``count``-th run line; every run line so far."""
        return _runs(self.wait_for(lambda lines: len(_runs(lines)) >= count, f"run line #{count}"))


def _runs(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("impactsel watch: ") and line.endswith(")")]


def passed(lines: list[str]) -> set[str]:
    """The node ids that ``pytest -v`` reported as passed."""
    return {line.partition(" PASSED")[0] for line in lines if " PASSED" in line}


#: ``python -m impactsel`` with SIGINT's handler as an interactive shell leaves it: a shell
#: without job control starts a background command (a CI step's) with SIGINT ignored, and
#: every child inherits that, so Ctrl-C would never reach the watcher.
WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('impactsel', run_name='__main__')"
)


class Watcher:
    """``python -m impactsel watch`` in a process group of its own, its output read as it comes."""

    def __init__(self, cwd: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WITH_CTRL_C, "watch", *args],
            cwd=cwd,
            env={**env, "PYTHONUNBUFFERED": "1"},  # its pytest child prints as it goes
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so that a test can kill it together with its pytest child
        )
        self.out, self.err = Lines(), Lines()
        self._readers = [
            threading.Thread(target=_pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=_pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def kill(self) -> None:
        """SIGKILL for the watcher and its pytest child: no handler runs, nothing is cleaned up."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(TIMEOUT)
        for reader in self._readers:
            reader.join(TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


def _pump(stream, into: Lines) -> None:
    for line in stream:
        into.write(line)


@pytest.fixture
def shop(git_repo):
    """The src-layout sample project, with the .gitignore that real projects have."""
    repo = git_repo("srclayout")
    repo.write(".gitignore", GITIGNORE)
    repo.commit("ignore build output")
    return repo


@pytest.fixture
def watcher(shop):
    started: list[Watcher] = []

    def start(*args: str) -> Watcher:
        started.append(Watcher(shop.path, shop.env, "--since", "main", "--debounce", "0.2", *args))
        return started[-1]

    yield start
    for each in started:
        each.kill()


def test_a_save_reruns_the_affected_tests_and_ctrl_c_exits_0(shop, watcher):
    w = watcher("--", "-v", *PYTEST)
    assert w.err.runs(1) == ["impactsel watch: 0 tests (no changed symbols)"]

    shop.replace("src/shop/money.py", FMT, FMT + ".strip()")

    assert w.err.runs(2)[1] == "impactsel watch: 3 tests (1 changed symbol: shop.money:fmt)"
    out = w.out.wait_for(lambda lines: any(" passed in " in line for line in lines), "pytest's summary")
    assert passed(out) == FMT_TESTS
    w.proc.send_signal(signal.SIGINT)
    assert w.proc.wait(TIMEOUT) == 0
    assert w.err.lines[-1] == "impactsel watch: stopped"


def test_a_watcher_killed_mid_run_leaves_a_sound_cache(shop, watcher):
    shop.write(
        "tests/test_slow.py",
        """\
        import time

        from shop.money import parse


        def test_slow_parse():
            print("slow test started", flush=True)
            time.sleep(60)
            assert parse("1.00 EUR") == 100
        """,
    )
    shop.commit("a slow test")
    w = watcher("--", "-v", "-s", *PYTEST)
    w.err.runs(1)

    shop.replace("src/shop/money.py", "return round(float(amount) * 100)", "return round(float(amount) * 100.0)")
    w.out.wait_for(lambda lines: any("slow test started" in line for line in lines), "the slow test to start")
    w.kill()

    assert w.proc.returncode == -signal.SIGKILL
    assert shop.ids() == ["tests/test_money.py::test_parse", "tests/test_slow.py::test_slow_parse"]
    entries = sorted((shop.path / ".impactsel_cache").glob("v*/*/*.json"))
    assert entries, "the watcher's analyses left no cache entries"
    cache = Cache(shop.path / ".impactsel_cache")
    assert [e for e in entries if cache.get(e.parent.name + e.stem) is None] == []


def test_the_loop_stops_after_max_runs_and_ignores_what_git_ignores(shop, monkeypatch):
    # In-process, with a bounded number of runs, still a real watcher and real saves.
    settings = dataclasses.replace(load_settings(shop.path), since="main")
    err = Lines()
    monkeypatch.setattr(sys, "stderr", err)
    result: list[int] = []
    loop = threading.Thread(target=lambda: result.append(watch.run(settings, ["-q", *PYTEST], 0.1, max_runs=2)))
    loop.start()
    try:
        err.runs(1)
        shop.write("build/output.txt", "ignored by git: no run\n")
        time.sleep(1.0)  # several debounce periods: a run for it would come now
        shop.replace("src/shop/money.py", FMT, FMT + ".strip()")
    finally:
        loop.join(TIMEOUT)

    assert not loop.is_alive()
    assert result == [0]
    assert _runs(err.lines) == [
        "impactsel watch: 0 tests (no changed symbols)",
        "impactsel watch: 3 tests (1 changed symbol: shop.money:fmt)",
    ]


def test_without_watchfiles_the_error_names_the_extra(shop, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # import watchfiles -> ImportError

    code = main(["watch", "--since", "main", "--root", str(shop.path)])

    assert code == 2
    assert "pip install 'impactsel[watch]'" in capsys.readouterr().err
