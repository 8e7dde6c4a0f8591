"""``impactsel gate``: a real edit on a copy of a sample project -> exit code and report.

The ``flat`` project (fixtures/flat): ``calc.core.add`` and ``sub`` are tested
(tests/check_core.py), ``mul`` through ``calc.geometry``; a new function that no
test calls is reached by no test, and the gate fails (exit 1) naming its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impactsel.cli import main

NEW_FUNCTION = """

def div(a, b):
    return a / b
"""


def gate(repo, capsys: pytest.CaptureFixture[str], *args: str, root: Path | None = None) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["gate", "--since", "main", "--root", str(root or repo.path), "--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


def line_of(repo, rel: str, text: str) -> int:
    return next(n for n, line in enumerate(repo.read(rel).splitlines(), 1) if line.startswith(text))


def test_untested_function_fails_with_its_path_and_line(git_repo, capsys) -> None:
    repo = git_repo("flat")
    repo.write("calc/core.py", repo.read("calc/core.py") + NEW_FUNCTION)
    code, out, _ = gate(repo, capsys)
    line = line_of(repo, "calc/core.py", "def div")
    assert code == 1
    assert out.splitlines() == [
        f"calc/core.py:{line}: calc.core:div is reached by no test",
        "impactsel gate: 1 of 1 changed symbols is reached by no test",
    ]


def test_edit_to_a_tested_function_passes(git_repo, capsys) -> None:
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a + b", "return b + a")
    repo.replace("calc/core.py", "return a * b", "return b * a")  # mul: tested through calc.geometry
    code, out, _ = gate(repo, capsys)
    assert code == 0
    assert out == "impactsel gate: every changed symbol is reached by a test (2 checked)\n"


def test_github_format_annotates_and_writes_the_step_summary(git_repo, capsys, tmp_path, monkeypatch) -> None:
    repo = git_repo("flat")
    repo.write("calc/core.py", repo.read("calc/core.py") + NEW_FUNCTION)
    repo.replace("calc/fmt.py", 'UNIT = "m"', 'UNIT = "m"\nSCALE = 100')  # a module-level name, untested
    repo.replace("calc/core.py", "return a + b", "return b + a")  # tested
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = gate(repo, capsys, "--format", "github")
    div, scale = line_of(repo, "calc/core.py", "def div"), line_of(repo, "calc/fmt.py", "SCALE")
    assert code == 1
    assert out.splitlines() == [
        f"::warning file=calc/core.py,line={div},title=impactsel::calc.core:div is reached by no test",
        f"::warning file=calc/fmt.py,line={scale},title=impactsel::calc.fmt:SCALE is reached by no test",
        "impactsel gate: 2 of 3 changed symbols are reached by no test",
    ]
    table = summary.read_text()
    assert table.startswith("earlier step\n### impactsel gate\n")
    assert f"| `calc.core:div` | `calc/core.py` | {div} |" in table
    assert f"| `calc.fmt:SCALE` | `calc/fmt.py` | {scale} |" in table


def test_what_the_gate_does_not_ask_tests_for(git_repo, capsys) -> None:
    repo = git_repo("flat")
    repo.replace("calc/core.py", '"""Arithmetic."""', '"""Arithmetic, exactly."""')  # the module docstring
    repo.replace("calc/core.py", "PRECISION = 2", "import math\n\n__version__ = '1.0'\nPRECISION = 2")
    repo.write("tests/check_core.py", repo.read("tests/check_core.py") + "\n\ndef helper():\n    return 1\n")
    repo.write("calc/core.py", repo.read("calc/core.py") + '\n\nif __name__ == "__main__":\n    print(add(1, 2))\n')
    code, out, _ = gate(repo, capsys)
    # Left: calc.core's top-level code (the new import runs there), which every test of calc.core reaches.
    assert (code, out) == (0, "impactsel gate: every changed symbol is reached by a test (1 checked)\n")


def test_run_all_selection_has_nothing_untested(git_repo, capsys) -> None:
    repo = git_repo("flat")
    repo.write("calc/core.py", repo.read("calc/core.py") + NEW_FUNCTION)
    repo.replace("pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"')
    code, out, err = gate(repo, capsys)
    assert code == 0
    assert out.startswith("impactsel gate: every test is selected (pyproject.toml changed")
    assert out.endswith("): nothing to check\n")
    assert "selecting every test" in err


def test_run_all_without_any_test_fails(git_repo, capsys) -> None:
    repo = git_repo("flat")
    for test_file in sorted((repo.path / "tests").glob("*.py")):
        test_file.unlink()
    repo.commit("no tests")
    repo.branch()
    repo.write("calc/core.py", repo.read("calc/core.py") + NEW_FUNCTION)
    repo.replace("pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"')
    code, out, _ = gate(repo, capsys)
    assert code == 1
    assert "calc.core:div is reached by no test" in out


def test_paths_are_relative_to_the_repository_when_the_project_is_in_a_subdirectory(git_repo, capsys) -> None:
    repo = git_repo("flat")
    (repo.path / "proj").mkdir()
    for entry in ("calc", "tests", "tools", "pyproject.toml"):
        repo.git("mv", entry, f"proj/{entry}")
    repo.commit("move into proj/")
    repo.write("proj/calc/core.py", repo.read("proj/calc/core.py") + NEW_FUNCTION)
    code, out, _ = gate(repo, capsys, "--format", "github", root=repo.path / "proj")
    line = line_of(repo, "proj/calc/core.py", "def div")
    assert code == 1
    assert out.splitlines()[0] == (
        f"::warning file=proj/calc/core.py,line={line},title=impactsel::calc.core:div is reached by no test"
    )


def test_exit_code_through_the_installed_command(git_repo) -> None:
    repo = git_repo("flat")
    repo.write("calc/core.py", repo.read("calc/core.py") + NEW_FUNCTION)
    run = repo.run_cli("gate", "--since", "main", "--no-cache")
    assert run.code == 1
    assert "calc.core:div is reached by no test" in run.out
    assert "changed symbols ->" in run.err  # the summary goes to stderr, the report to stdout


def test_a_default_is_checked_with_its_function(git_repo, capsys) -> None:
    # A default runs at import (the module's <marks> or <import>): no test reaches that
    # node itself, the function that owns the default is what a test must reach.
    repo = git_repo("flat")
    repo.replace("calc/core.py", "def add(a, b)", "def add(a, b=0)")
    code, out, _ = gate(repo, capsys)
    assert code == 0
    assert out == "impactsel gate: every changed symbol is reached by a test (1 checked)\n"
