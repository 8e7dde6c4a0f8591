"""Every check of the project: ``nox -s tests``, ``nox -s lint``, ``nox -s bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what .ci/run runs)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "noxfile.py", "bench")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py", "bench")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and memory, side by side with pytest-impacted and a bare libcst parse.

    ``nox -s bench`` measures a generated repository; ``nox -s bench -- /path/to/repo``
    measures a real one as well.
    """
    session.install("-e", ".", "pytest-impacted")
    session.run("python", "bench/bench.py", *session.posargs)
