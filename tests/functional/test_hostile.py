"""Hostile input: what a user, a branch name or a file name can make impactsel do.

Revisions that look like options never reach git as options, file names that look
like options are data, and the code under analysis is read, never imported or run.
Which git commands ran, and with which arguments, is read from git's own trace
(``GIT_TRACE``), so "never reaches git" is checked on what git actually received.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from impactsel.cli import main

DOG_SPEAKS = "tests/test_animals.py::test_dog_speaks"
KENNEL = "tests/test_animals.py::test_kennel"
SHELTER_GREETS = "tests/sub/test_shelter.py::TestShelterDog::test_greets"
SUMMARY = "tests/test_report.py::test_summary"


@pytest.fixture
def git_trace(tmp_path, monkeypatch):
    """The argument lists of every git command impactsel runs from now on."""
    trace = tmp_path / "git-trace.txt"
    monkeypatch.setenv("GIT_TRACE", str(trace))

    def commands() -> list[list[str]]:
        if not trace.exists():
            return []
        found = []
        for line in trace.read_text(errors="replace").splitlines():
            _, marker, command = line.partition("trace: built-in: ")
            if marker:
                found.append(shlex.split(command))
        return found

    return commands


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _carries(arg: str, revision: str) -> bool:
    """Whether one git argument is (or embeds) the revision."""
    return arg == revision or arg.startswith(revision + "^") or ("=" in revision and revision in arg)


def bad_revision(revision: str) -> str:
    return (
        f"impactsel: error: {revision!r} is not a valid revision; pass a branch, tag or commit "
        "(see README, #error-bad-revision)\n"
    )


# -- revisions that look like options -----------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "--output={marker}",
        "--exec=touch {marker}",
        "--upload-pack=touch {marker}",
        "-o{marker}",
        "HEAD --output={marker}",
        "--all",
        "-h",
        "-rf",
        "--end-of-options",
        "-",
    ],
)
def test_option_looking_revision_never_reaches_git(git_repo, tmp_path, git_trace, capsys, template):
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a + b", "return b + a")
    marker = tmp_path / "marker"
    revision = template.format(marker=marker)

    code, out, err = run_main(capsys, f"--since={revision}", "--root", str(repo.path))

    assert (code, out, err) == (2, "", bad_revision(revision))
    assert not marker.exists()
    assert not [c for c in git_trace() if any(_carries(arg, revision) for arg in c)]


@pytest.mark.parametrize("source", ["environment", "pyproject"])
def test_option_looking_revision_from_the_configuration(git_repo, tmp_path, git_trace, capsys, monkeypatch, source):
    repo = git_repo("flat")
    marker = tmp_path / "marker"
    revision = f"--output={marker}"
    if source == "environment":
        monkeypatch.setenv("IMPACTSEL_SINCE", revision)
    else:
        repo.write("pyproject.toml", repo.read("pyproject.toml") + f'\n[tool.impactsel]\nsince = "{revision}"\n')

    code, out, err = run_main(capsys, "--root", str(repo.path))

    assert (code, out, err) == (2, "", bad_revision(revision))
    assert not marker.exists()
    assert not [c for c in git_trace() if any(_carries(arg, revision) for arg in c)]


def test_revision_after_a_remote_name_goes_after_end_of_options(git_repo, tmp_path, git_trace, capsys):
    # 'origin/--upload-pack=...' is a well-formed name (git refuses it as a ref, not as an
    # option): every git command that receives it gets it after --end-of-options.
    repo = git_repo("flat")
    marker = tmp_path / "marker"
    revision = f"origin/--upload-pack={marker}"

    code, out, err = run_main(capsys, f"--since={revision}", "--root", str(repo.path))

    assert (code, out) == (2, "")
    assert err.startswith(f"impactsel: error: unknown revision {revision!r}; ")
    assert not marker.exists()
    received = [c for c in git_trace() if any(_carries(arg, revision) for arg in c)]
    assert received
    for command in received:
        at = next(i for i, arg in enumerate(command) if _carries(arg, revision))
        assert "--end-of-options" in command[:at], command


def test_unknown_remote_branch_hint_never_suggests_an_option(git_repo, tmp_path, capsys):
    repo = git_repo("flat")
    revision = f"origin/--upload-pack={tmp_path / 'marker'}"

    code, _, err = run_main(capsys, f"--since={revision}", "--root", str(repo.path))

    assert code == 2
    assert "git fetch origin --" not in err


def _shallow_clone(repo) -> Path:
    repo.branch()
    repo.replace("calc/core.py", "return a + b", "return b + a")
    repo.commit("feature 1")
    repo.commit("feature 2")
    clone = repo.path.parent / "clone"
    repo.git("clone", "-q", "--depth", "1", "--branch", "feature", repo.path.as_uri(), str(clone))
    return clone


def test_option_looking_revision_with_fetch_in_a_shallow_clone(git_repo, tmp_path, git_trace, capsys):
    repo = git_repo("flat")
    clone = _shallow_clone(repo)
    marker = tmp_path / "marker"
    revision = f"--output={marker}"

    code, out, err = run_main(capsys, f"--since={revision}", "--fetch", "--root", str(clone))

    assert (code, out, err) == (2, "", bad_revision(revision))
    assert not marker.exists()
    assert repo.git("-C", str(clone), "rev-parse", "--is-shallow-repository") == "true\n"
    assert not [c for c in git_trace() if any(_carries(arg, revision) for arg in c)]


# -- file names that look like options -------------------------------------------------------------


def test_files_named_like_options_are_data(git_repo, git_trace):
    repo = git_repo("richpkg")
    repo.write("-rf", "rows\n")
    repo.write("--exec=evil.py", "def helper():\n    return 1\n")
    repo.write("tests/-k.py", "X = 1\n")
    repo.write(
        "tests/test_dash.py",
        """\
        from pathlib import Path


        def test_reads_the_dash_file():
            assert Path("-rf").read_text()
        """,
    )
    repo.commit("dashes")
    repo.write("-rf", "other rows\n")
    repo.write("--exec=evil.py", "def helper():\n    return 2\n")
    repo.write("tests/-k.py", "X = 2\n")

    run = repo.select("--format", "json")

    assert run.code == 0, run.err
    data = run.json
    assert [t["nodeid"] for t in data["tests"]] == ["tests/test_dash.py::test_reads_the_dash_file"]
    assert {c["id"] for c in data["changed"]} == {
        "--exec=evil:helper",
        "tests.-k:X",
        "tests.test_dash:test_reads_the_dash_file",
    }
    assert data["warnings"] == ["-rf changed: selecting the tests of the code that names it"]
    names = ("-rf", "--exec=evil.py", "tests/-k.py", "-k.py")
    assert not [c for c in git_trace() if any(arg in names for arg in c)]


@pytest.mark.parametrize(
    ("path", "module"), [("zoo/odd\nname.py", "zoo.odd\nname"), ("\nleading.py", "\nleading")], ids=["inner", "leading"]
)
def test_file_name_with_a_newline(git_repo, path, module):
    # git cat-file reads requests line by line: the base's content is asked for by blob id, never by
    # path; and a name git lists first keeps its leading newline.
    repo = git_repo("richpkg")
    repo.write(path, "X = 1\n")
    repo.commit("odd name")
    repo.write(path, "X = 2\n")

    run = repo.select("--format", "json")

    assert run.code == 0, run.err
    assert [(c["id"], c["cause"], c["path"]) for c in run.json["changed"]] == [(f"{module}:X", "modified", path)]
    assert (run.json["tests"], run.json["warnings"]) == ([], [])
    assert len(run.err.splitlines()) == 1  # the summary


@pytest.mark.parametrize(
    ("name", "shown"),
    [("odd\nname", "odd\\nname"), ("odd\tname", "odd\\tname"), ("odd\x1b[2Jname", "odd\\x1b[2Jname")],
    ids=["newline", "tab", "terminal-escape"],
)
def test_note_naming_an_odd_file_name_is_one_escaped_line(git_repo, name, shown):
    repo = git_repo("richpkg")
    repo.write(f"zoo/{name}.py", "X = 1\n")
    repo.commit("odd name")
    (repo.path / f"zoo/{name}.py").write_bytes(b"X = '\xff'\n")

    run = repo.select()

    assert (run.code, run.out) == (0, ""), run.err
    [note, _summary] = run.err.splitlines()
    assert note == f"impactsel: zoo/{shown}.py: not UTF-8 text: every user of module zoo.{shown} is selected"


# -- analysed code is never imported or run ----------------------------------------------------------


def _booby_trapped(repo, marker: Path) -> None:
    """Code whose import writes ``marker`` and exits: conftest.py, a module, setup.py, a package."""
    payload = f"import pathlib\nimport sys\n\npathlib.Path({str(marker)!r}).write_text('imported')\nsys.exit(3)\n\n"
    repo.write("tests/conftest.py", payload + repo.read("tests/conftest.py"))
    repo.write("zoo/sub/deep.py", payload + repo.read("zoo/sub/deep.py"))
    repo.write("zoo/sub/__init__.py", payload)
    repo.write("setup.py", payload)
    repo.commit("booby-trapped")
    repo.replace("tests/conftest.py", 'Dog("rex", age=3)', 'Dog("rex", age=4)')
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")


def test_analysed_code_is_never_imported_in_process(git_repo, tmp_path):
    repo = git_repo("richpkg")
    marker = tmp_path / "marker"
    _booby_trapped(repo, marker)
    before = set(sys.modules)

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([DOG_SPEAKS, KENNEL, SHELTER_GREETS, SUMMARY])
    assert not marker.exists()
    assert not {m for m in set(sys.modules) - before if m == "zoo" or m.startswith(("zoo.", "tests."))}


def test_analysed_code_is_never_imported_by_the_command(git_repo, tmp_path):
    repo = git_repo("richpkg")
    marker = tmp_path / "marker"
    _booby_trapped(repo, marker)
    script = Path(sys.executable).with_name("impactsel")
    if not script.exists():
        pytest.skip("the impactsel console script is not installed next to this Python")

    run = repo.run_cli("--since", "main")  # python -m impactsel, in the repository
    command = subprocess.run(
        [str(script), "--since", "main"], cwd=repo.path, env=repo.env, capture_output=True, text=True, check=False
    )

    assert (run.code, run.lines) == (0, sorted([DOG_SPEAKS, KENNEL, SHELTER_GREETS, SUMMARY])), run.err
    assert (command.returncode, command.stdout) == (0, run.out), command.stderr
    assert not marker.exists()


def test_python_m_in_a_repository_that_shadows_a_dependency(git_repo, tmp_path):
    repo = git_repo("richpkg")
    marker = tmp_path / "marker"
    repo.write("git/__init__.py", f"import pathlib\nimport sys\n\npathlib.Path({str(marker)!r}).touch()\nsys.exit(3)\n")
    repo.commit("a package named git")
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")

    run = repo.run_cli("--since", "main")

    assert not marker.exists()
    assert (run.code, run.lines) == (0, [SUMMARY]), run.err


# -- files that crash parsers -------------------------------------------------------------------------


def test_deeply_nested_file_does_not_crash_the_run(git_repo):
    repo = git_repo("richpkg")
    repo.write("zoo/nested.py", "TABLE = " + "[" * 1500 + "]" * 1500 + "\n")

    run = repo.run_cli("--since", "main", "--no-cache")  # a subprocess: a crash must not take pytest down

    assert (run.code, run.out) == (0, ""), run.err
    [reason] = [line for line in run.err.splitlines() if "zoo/nested.py" in line]
    assert reason.endswith(": every user of module zoo.nested is selected")
