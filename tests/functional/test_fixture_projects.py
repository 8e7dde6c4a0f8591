"""The sample projects' own test suites pass, so that a selection of their tests means something."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("name", "tests"), [("flat", 6), ("srclayout", 7), ("richpkg", 23), ("plain", 5), ("dynamic", 87)]
)
def test_sample_project_suite_passes(git_repo, name, tests):
    # -I: like the plain ``pytest`` command, leave the cwd off sys.path (no ``python -m`` help).
    project = git_repo(name, git=False)

    done = subprocess.run(
        [sys.executable, "-I", "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=project.path,
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{tests} passed" in done.stdout
