"""Shared fixtures: real git repositories built from the sample projects in ``fixtures/``.

``git_repo("richpkg")`` copies ``fixtures/richpkg`` into ``tmp_path``, makes it a git
repository with one commit on ``main`` and returns a ``GitRepo`` whose methods edit
files, stage, commit and run impactsel. Git runs with a fixed identity and without
the user's or the system's configuration, so the tests behave the same everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from impactsel.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Hypothesis keeps its example database and caches in ``.hypothesis/`` under the cwd by
# default. pyproject.toml's norecursedirs replaces pytest's defaults (which skip dot
# directories), and hypothesis warns about a ``.hypothesis/`` it then finds during
# collection, an error under filterwarnings = error. Keep it out of the work tree.
_ROOT = FIXTURES.parent
set_hypothesis_home_dir(
    Path(tempfile.gettempdir()) / f"impactsel-hypothesis-{hashlib.sha1(str(_ROOT).encode()).hexdigest()[:12]}"
)

_IDENTITY = ("-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false")


@dataclass(frozen=True)
class Run:
    """One impactsel run: exit code and what it printed."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        """stdout, one entry per printed line (node ids, files or test roots)."""
        return self.out.splitlines()

    @property
    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Isolate git from the machine: no system or global config, HOME inside tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    values = {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
    }
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "IMPACTSEL_SINCE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **values}


class GitRepo:
    """A sample project under git, with helpers to change it and select tests."""

    def __init__(self, path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
        self.path = path
        self.env = env
        self._capsys = capsys

    # -- git ------------------------------------------------------------------

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *_IDENTITY, *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"git {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def branch(self, name: str = "feature") -> None:
        """Start a branch at HEAD: commits made from now on are not on ``main``."""
        self.git("checkout", "-q", "-b", name)

    def stage(self, *paths: str) -> None:
        """``git add`` the paths (everything when none is given)."""
        self.git("add", "-A", *(["--", *paths] if paths else []))

    def commit(self, message: str = "change") -> None:
        """Stage every change and commit it."""
        self.stage()
        self.git("commit", "-q", "--no-gpg-sign", "--allow-empty", "-m", message)

    # -- files ------------------------------------------------------------------

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text()

    def write(self, rel: str, text: str) -> None:
        """Create or overwrite ``rel`` with dedented ``text``."""
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))

    def replace(self, rel: str, old: str, new: str) -> None:
        """Replace the one occurrence of ``old`` in ``rel`` (a test bug if it is not there once)."""
        text = self.read(rel)
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
        (self.path / rel).write_text(text.replace(old, new))

    def delete(self, rel: str) -> None:
        """Delete ``rel`` from the work tree (an unstaged deletion)."""
        (self.path / rel).unlink()

    def rename(self, old: str, new: str) -> None:
        """``git mv`` (a staged rename)."""
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    # -- impactsel ----------------------------------------------------------------

    def select(self, *args: str, since: str = "main", root: Path | None = None) -> Run:
        """Run impactsel in-process (``--root`` set, so the cwd does not matter)."""
        self._capsys.readouterr()
        argv = ["--since", since, "--root", str(root or self.path), *args]
        code = main(argv)
        captured = self._capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def ids(self, *args: str, since: str = "main") -> list[str]:
        """The printed selection; fails the test when the run did not succeed."""
        run = self.select(*args, since=since)
        assert run.code == 0, run.err
        return run.lines

    def run_cli(self, *args: str, cwd: Path | None = None) -> Run:
        """Run ``python -m impactsel`` as a subprocess, the way users do."""
        done = subprocess.run(
            [sys.executable, "-m", "impactsel", *args],
            cwd=cwd or self.path,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def git_repo(tmp_path: Path, git_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Callable[[str], GitRepo]:
    """Factory: ``git_repo(name)`` -> a git repository holding a copy of ``fixtures/<name>``.

    ``git_repo(name, git=False)`` makes the copy only (for "not a git repository" cases).
    """

    def make(name: str, *, git: bool = True) -> GitRepo:
        path = tmp_path / name
        suffix = 1
        while path.exists():
            suffix += 1
            path = tmp_path / f"{name}-{suffix}"
        shutil.copytree(FIXTURES / name, path, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        repo = GitRepo(path, git_env, capsys)
        if git:
            repo.git("init", "-q", "-b", "main")
            repo.commit("base")
        return repo

    return make
