"""Changes no test can observe: a reordered ``__all__``, tool settings, descriptive metadata, CI files.

Each test makes a real edit on a copy of a sample project and asserts the exact
selection and the exact notes on stderr. A change to a configuration file selects
nothing only when both versions parse and what differs is inert (a linter's table,
the distribution's classifiers...); anything else, and everything the user lists in
``run-all-on``, still selects every test. See ``test_scenarios.py`` for the sample
projects: ``flat`` (pyproject.toml), ``srclayout`` (setup.cfg), ``richpkg`` (pytest.ini).
"""

from __future__ import annotations

import re

EVERY_TEST = ["tests"]  # what ids prints when every test is selected: the testpaths

_SUMMARY_LINE = re.compile(
    r"impactsel: \d+ changed symbols -> (all tests|\d+/\d+ tests) \(base [0-9a-f]{12}, \d+\.\d\d s\)"
)


def select(repo) -> tuple[list[str], list[str]]:
    """The printed selection and the notes on stderr (without the summary line, which holds a time)."""
    run = repo.select()
    assert run.code == 0, run.err
    lines = run.err.splitlines()
    assert lines and _SUMMARY_LINE.fullmatch(lines[-1]), run.err
    return run.lines, lines[:-1]


def every_test(path: str) -> list[str]:
    return [f"impactsel: selecting every test: {path} changed: it configures the project or its tests"]


def inert(path: str, what: str) -> list[str]:
    return [f"impactsel: {path} changed only in {what}: no test can observe them"]


def on_main(repo, path: str, text: str) -> None:
    """Write ``path`` and commit it on main: part of the base."""
    repo.write(path, text)
    repo.commit("base setup")


# -- __all__ ----------------------------------------------------------------------------


def test_reordered_all_selects_only_code_reading_it(git_repo):
    # zoo/__init__.py and tests/test_util.py star-import zoo.util: they bind the same
    # names whatever the order. Only code reading util.__all__ sees the new order.
    repo = git_repo("richpkg")
    on_main(
        repo,
        "tests/test_exports.py",
        """\
        from zoo import util


        def test_util_exports():
            assert util.__all__ == ["shout", "whisper"]
        """,
    )
    repo.replace("zoo/util.py", '__all__ = ["shout", "whisper"]', '__all__ = ["whisper", "shout"]')

    assert select(repo) == (["tests/test_exports.py::test_util_exports"], [])


def test_name_added_to_all_selects_the_star_importers(git_repo):
    # tidy now comes with `from zoo.util import *`: zoo (and so every test through the
    # conftest) and tests/test_util.py bind one more name.
    repo = git_repo("richpkg")
    repo.replace("zoo/util.py", '__all__ = ["shout", "whisper"]', '__all__ = ["shout", "tidy", "whisper"]')

    run = repo.select("--format", "json")
    assert run.code == 0, run.err
    selected = [t["nodeid"] for t in run.json["tests"]]
    assert run.json["run_all"] is None
    assert "tests/test_util.py::test_tidy" in selected
    assert len(selected) == run.json["total_tests"] == 23  # each test of richpkg, one by one


# -- CI services, task runners, repository metadata -----------------------------------------


def test_ci_and_task_runner_files_select_nothing(git_repo):
    repo = git_repo("srclayout")
    repo.branch()
    paths = (".circleci/config.yml", ".gitlab-ci.yml", "CODEOWNERS", "Makefile", "ci/rules.mk", "codecov.yml")
    for path in paths:
        repo.write(path, "# x\n")
    repo.commit()

    assert select(repo) == (
        [],
        [f"impactsel: {path} changed: documentation that no code names, no test selected for it" for path in paths],
    )
