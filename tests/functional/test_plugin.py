"""End to end: the pytest plugin on a real edit of a sample project -> the exact items pytest runs.

pytest runs in a subprocess in a git copy of ``fixtures/richpkg``, the way users run
it, and the selection the plugin keeps is compared with what ``impactsel --since``
prints for the same edit, and with the selection worked out by hand.

The project gets one more test file on ``main``, ``tests/test_loud.py``, whose test is
parametrized: impactsel names it ``tests/test_loud.py::test_loud``, pytest collects
``test_loud[a]`` and ``test_loud[b]``, so the project has 25 items.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

TOTAL = 25  # richpkg's 23 tests and test_loud's two parameters

DOG_SPEAKS = "tests/test_animals.py::test_dog_speaks"
ANIMAL_SOUND = "tests/test_animals.py::TestAnimal::test_sound"
ANIMAL_DESCRIBE = "tests/test_animals.py::TestAnimal::test_describe"
SHELTER_SOUND = "tests/sub/test_shelter.py::TestShelterDog::test_sound"
SHELTER_DESCRIBE = "tests/sub/test_shelter.py::TestShelterDog::test_describe"
SHOUT = "tests/test_util.py::test_shout"
LOUD = "tests/test_loud.py::test_loud"

#: What the edit of ``edited`` selects, worked out by hand: ``shout`` reaches test_shout,
#: test_loud and, through ``Dog.speak``, test_dog_speaks; ``TestAnimal.make`` reaches the
#: tests of TestAnimal and of its subclass TestShelterDog, which inherits them.
SELECTED = sorted([DOG_SPEAKS, ANIMAL_SOUND, ANIMAL_DESCRIBE, SHELTER_SOUND, SHELTER_DESCRIBE, SHOUT, LOUD])
SELECTED_ITEMS = sorted([*(s for s in SELECTED if s != LOUD), f"{LOUD}[a]", f"{LOUD}[b]"])

LOUD_TEST = """\
import pytest

from zoo.util import shout


@pytest.mark.parametrize("text", ["a", "b"])
def test_loud(text):
    assert shout(text) == text.upper() + "!"
"""


@dataclass(frozen=True)
class PytestRun:
    code: int
    out: str
    err: str

    @property
    def outcome(self) -> str:
        """pytest's final tally without the time: ``"8 passed, 17 deselected"``."""
        found = re.findall(r"^=* ?(\d+ \w+(?:, \d+ \w+)*|no tests ran) in [\d.]+s", self.out, re.MULTILINE)
        assert found, self.out + self.err
        return found[-1]

    @property
    def collected(self) -> list[str]:
        """The node ids ``--collect-only -q`` listed, sorted."""
        return sorted(line for line in self.out.splitlines() if "::" in line and not line.startswith("impactsel:"))

    @property
    def passed(self) -> list[str]:
        """The node ids ``-rA`` reports as passed, sorted."""
        return sorted(line.split()[1] for line in self.out.splitlines() if line.startswith("PASSED "))

    @property
    def impactsel_lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.startswith("impactsel:")]


def run_pytest(repo, *args: str, env: dict[str, str] | None = None) -> PytestRun:
    """``python -m pytest ARGS`` in the repository, isolated from the pytest running this test.

    ``env``: variables to add to the repository's environment. -I leaves the cwd off
    sys.path as the plain ``pytest`` command does; -B writes no ``__pycache__`` (the
    sample projects have no .gitignore, so an untracked .pyc would be a change). Only
    the plugins under test are loaded: the others installed here (hypothesis, ...)
    triple the start-up time of every run and of every xdist worker.
    """
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-m", "pytest", "-p", "impactsel.plugin", *args],
        cwd=repo.path,
        env=_environment(repo, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})}),
        capture_output=True,
        text=True,
        check=False,
    )
    return PytestRun(done.returncode, done.stdout, done.stderr)


def _environment(repo, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The repository's git environment without this pytest's or impactsel's variables, plus ``extra``."""
    clean = {k: v for k, v in repo.env.items() if not k.startswith(("PYTEST_", "IMPACTSEL_"))}
    return {**clean, **(extra or {})}


@pytest.fixture
def project(git_repo):
    """richpkg with test_loud.py on main, on a branch ``feature``, not yet edited."""
    repo = git_repo("richpkg")
    repo.write("tests/test_loud.py", LOUD_TEST)
    repo.commit("add test_loud")
    repo.branch()
    return repo


@pytest.fixture
def edited(project):
    """Two edits that keep every test passing: one committed on the branch, one unstaged."""
    project.replace("zoo/util.py", 'return text.upper() + "!"', 'return f"{text.upper()}!"')
    project.commit()
    project.replace("tests/test_animals.py", 'return self.kind("generic")', 'return self.kind("any")')
    return project


NO_CACHE = ("-p", "no:cacheprovider")
XDIST = ("-p", "xdist.plugin", "-n", "2")


def test_plugin_keeps_exactly_what_the_cli_selects(edited):
    cli = edited.ids()

    listed = run_pytest(edited, *NO_CACHE, "--impact-since", "main", "--collect-only", "-q")
    ran = run_pytest(edited, *NO_CACHE, "--impact-since", "main", "-q")

    assert cli == SELECTED
    assert listed.code == 0, listed.out + listed.err
    assert listed.collected == SELECTED_ITEMS
    assert sorted({item.partition("[")[0] for item in listed.collected}) == cli
    assert listed.impactsel_lines[0].startswith("impactsel: 2 changed symbols -> 7/24 tests (base ")
    assert (ran.code, ran.outcome) == (0, f"8 passed, {TOTAL - 8} deselected")


def test_xdist_workers_run_exactly_the_selection(edited):
    # xdist's controller reports no deselections (the workers deselect), hence no count.
    cli = edited.ids()

    ran = run_pytest(edited, *NO_CACHE, "--impact-since", "main", *XDIST, "-rA")

    assert (ran.code, ran.outcome) == (0, "8 passed"), ran.out + ran.err
    assert ran.passed == SELECTED_ITEMS
    assert sorted({item.partition("[")[0] for item in ran.passed}) == cli
    assert ran.impactsel_lines[0].startswith("impactsel: 2 changed symbols -> 7/24 tests")


@pytest.mark.parametrize(
    ("args", "passed", "deselected"),
    [
        # -k keeps test_shout and test_whisper; the change cannot affect test_whisper.
        (("-k", "shout or whisper"), [SHOUT], TOTAL - 1),
        # An explicit file: its three tests are collected, the change affects one.
        (("tests/test_util.py",), [SHOUT], 2),
        # An explicit node id (a class): both of its tests are affected.
        (("tests/test_animals.py::TestAnimal",), [ANIMAL_DESCRIBE, ANIMAL_SOUND], 0),
    ],
    ids=["-k", "file", "node-id"],
)
def test_composes_with_other_ways_of_narrowing_the_run(edited, args, passed, deselected):
    ran = run_pytest(edited, *NO_CACHE, "--impact-since", "main", "-q", "-rA", *args)

    tally = f"{len(passed)} passed" + (f", {deselected} deselected" if deselected else "")
    assert (ran.code, ran.outcome, ran.passed) == (0, tally, passed)


def test_composes_with_last_failed(project):
    # A first run records four failures (shout's result changed); then whisper changes too.
    # Of test_util.py's three tests, impactsel deselects test_tidy (not affected), then
    # --lf deselects test_whisper (it did not fail last time), and test_shout runs.
    project.replace("zoo/util.py", 'return text.upper() + "!"', 'return text.upper() + "!!"')
    first = run_pytest(project, "-q")
    project.replace("zoo/util.py", 'return text.lower() + "..."', 'return text.lower() + "…"')

    second = run_pytest(project, "--impact-since", "main", "--lf", "-q", "-rA", "tests/test_util.py")

    assert first.outcome == f"4 failed, {TOTAL - 4} passed"
    failed = [line.split()[1] for line in second.out.splitlines() if line.startswith("FAILED ")]
    assert (second.code, second.outcome, failed) == (1, "1 failed, 2 deselected", [SHOUT])


def test_configuration_change_deselects_nothing_and_says_why(project):
    project.replace("pytest.ini", "testpaths = tests", "testpaths = tests\nxfail_strict = true")

    ran = run_pytest(project, *NO_CACHE, "--impact-since", "main", "-q")

    assert (ran.code, ran.outcome) == (0, f"{TOTAL} passed")
    assert ran.impactsel_lines[1] == (
        "impactsel: deselecting nothing, every test runs: pytest.ini changed: it configures the project or its tests"
    )


@pytest.mark.parametrize("xdist", [(), XDIST], ids=["serial", "xdist"])
def test_nothing_affected_deselects_everything_and_succeeds(project, xdist):
    # A comment-only edit changes no symbol. Without the plugin's mapping the exit code
    # would be 5 (no tests collected), which fails a CI step.
    project.replace("zoo/util.py", 'return text.upper() + "!"', 'return text.upper() + "!"  # loud')

    ran = run_pytest(project, *NO_CACHE, "--impact-since", "main", "-q", *xdist)

    assert ran.code == 0, ran.out + ran.err
    assert ran.outcome == ("no tests ran" if xdist else f"{TOTAL} deselected")
    assert ran.impactsel_lines[0].startswith("impactsel: 0 changed symbols -> 0/24 tests")


@pytest.mark.parametrize("source", ["environment", "pyproject"])
def test_impact_flag_takes_the_base_from_the_configuration(git_repo, source):
    repo = git_repo("richpkg")
    env = {}
    if source == "pyproject":
        repo.write("pyproject.toml", '[tool.impactsel]\nsince = "main"\n')
        repo.commit("configure impactsel")
    repo.branch()
    repo.replace("zoo/util.py", 'return text.upper() + "!"', 'return f"{text.upper()}!"')
    if source == "environment":
        env = {"IMPACTSEL_SINCE": "main"}

    ran = run_pytest(repo, *NO_CACHE, "--impact", "-q", "-rA", env=env)

    assert (ran.code, ran.outcome) == (0, "2 passed, 21 deselected"), ran.out + ran.err
    assert ran.passed == [DOG_SPEAKS, SHOUT]


@pytest.mark.parametrize(
    ("args", "git", "message"),
    [
        (("--impact-since", "no-such-branch"), True, "unknown revision 'no-such-branch'; "),
        (("--impact",), True, "no base revision: pass --impact-since REV, "),
        (("--impact-since", "main"), False, " is not inside a git repository; "),
    ],
    ids=["unknown-revision", "no-since", "not-a-repo"],
)
def test_errors_are_one_line_usage_errors(git_repo, args, git, message):
    repo = git_repo("richpkg", git=git)

    ran = run_pytest(repo, *NO_CACHE, *args, "-q")

    assert ran.code == pytest.ExitCode.USAGE_ERROR
    assert ran.out == ""
    assert ran.err.startswith("ERROR: impactsel: ")
    assert message in ran.err
    assert len(ran.err.strip().splitlines()) == 1
    assert "Traceback" not in ran.err


def test_without_the_option_nothing_changes_and_nothing_is_imported(edited):
    # pytest.main in a fresh interpreter, to see which of impactsel's modules it imported;
    # plugins load as usual, so the plugin comes through its pytest11 entry point.
    code = (
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:randomly', '-p', 'no:impacted'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('impactsel')))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", code],
        cwd=edited.path,
        env=_environment(edited),
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{TOTAL} passed in " in done.stdout
    assert "deselected" not in done.stdout
    assert "impactsel:" not in done.stdout
    assert done.stdout.splitlines()[-1] == "['impactsel', 'impactsel.plugin']"
