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


# -- pyproject.toml -----------------------------------------------------------------------


def test_pyproject_tool_table_and_classifiers_select_nothing(git_repo):
    repo = git_repo("flat")
    repo.replace("pyproject.toml", 'version = "0.1.0"\n', 'version = "0.1.0"\nclassifiers = ["Private :: X"]\n')
    repo.write("pyproject.toml", repo.read("pyproject.toml") + "\n[tool.ruff]\nline-length = 100\n")

    assert select(repo) == ([], inert("pyproject.toml", "[project].classifiers, [tool.ruff]"))


def test_pyproject_comment_selects_nothing(git_repo):
    repo = git_repo("flat")
    repo.replace("pyproject.toml", "[project]\n", "# The distribution\n[project]\n")

    assert select(repo) == ([], inert("pyproject.toml", "comments or layout"))


def test_pyproject_pytest_options_select_every_test(git_repo):
    repo = git_repo("flat")
    repo.replace("pyproject.toml", 'pythonpath = ["."]\n', 'pythonpath = ["."]\naddopts = ["-q"]\n')

    assert select(repo) == (EVERY_TEST, every_test("pyproject.toml"))


NOT_INSTALLED = (
    "a dependency changed: impactsel-no-such-distribution is not installed where impactsel looks:"
    " cannot tell what it provides"
)


def test_pyproject_dependencies_with_an_inert_table_are_a_dependency_change(git_repo):
    repo = git_repo("flat")
    new = 'version = "0.1.0"\ndependencies = ["impactsel-no-such-distribution"]\n'
    repo.replace("pyproject.toml", 'version = "0.1.0"\n', new)
    repo.write("pyproject.toml", repo.read("pyproject.toml") + "\n[tool.ruff]\nline-length = 100\n")

    assert select(repo) == (EVERY_TEST, [f"impactsel: selecting every test: {NOT_INSTALLED}"])


def test_pyproject_that_did_not_parse_at_the_base_selects_every_test(git_repo):
    repo = git_repo("flat")
    good = repo.read("pyproject.toml")
    # Were the base readable, only [tool.ruff] would differ.
    on_main(repo, "pyproject.toml", good + "\n[tool.ruff]\nline-length =\n")
    repo.write("pyproject.toml", good + "\n[tool.ruff]\nline-length = 100\n")

    assert select(repo) == (EVERY_TEST, every_test("pyproject.toml"))


def test_pyproject_tool_run_by_a_pytest_plugin_selects_every_test(git_repo):
    # pytest-mypy makes mypy's verdict a test item: [tool.mypy] is observable.
    repo = git_repo("flat")
    repo.replace("pyproject.toml", 'pythonpath = ["."]\n', 'pythonpath = ["."]\naddopts = ["--mypy"]\n')
    on_main(repo, "pyproject.toml", repo.read("pyproject.toml") + "\n[tool.mypy]\nstrict = false\n")
    repo.replace("pyproject.toml", "strict = false", "strict = true")

    assert select(repo) == (EVERY_TEST, every_test("pyproject.toml"))


def test_pyproject_in_the_users_run_all_on_selects_every_test(git_repo):
    repo = git_repo("flat")
    on_main(repo, "pyproject.toml", repo.read("pyproject.toml") + '\n[tool.impactsel]\nrun-all-on = ["*.toml"]\n')
    repo.write("pyproject.toml", repo.read("pyproject.toml") + "\n[tool.ruff]\nline-length = 100\n")

    assert select(repo) == (EVERY_TEST, every_test("pyproject.toml"))


def test_pyproject_read_by_code_selects_its_tests(git_repo):
    repo = git_repo("flat")
    on_main(
        repo,
        "tests/check_meta.py",
        """\
        import tomllib


        def check_meta():
            with open("pyproject.toml", "rb") as handle:
                assert tomllib.load(handle)["project"]["name"] == "calc"
        """,
    )
    repo.write("pyproject.toml", repo.read("pyproject.toml") + "\n[tool.ruff]\nline-length = 100\n")

    assert select(repo) == (
        ["tests/check_meta.py::check_meta"],
        ["impactsel: pyproject.toml changed: selecting the tests of the code that names it"],
    )


# -- setup.cfg and tox.ini ---------------------------------------------------------------


def test_setup_cfg_linter_section_and_metadata_select_nothing(git_repo):
    repo = git_repo("srclayout")
    repo.replace("setup.cfg", "version = 0.1.0\n", "version = 0.1.0\nclassifiers =\n    Private :: X\n")
    repo.write("setup.cfg", repo.read("setup.cfg") + "\n[flake8]\nmax-line-length = 100\n")

    assert select(repo) == ([], inert("setup.cfg", "[metadata].classifiers, [flake8]"))


def test_setup_cfg_install_requires_selects_every_test(git_repo):
    repo = git_repo("srclayout")
    repo.replace("setup.cfg", "packages = find:\n", "packages = find:\ninstall_requires = attrs\n")

    assert select(repo) == (EVERY_TEST, every_test("setup.cfg"))


def test_setup_cfg_that_did_not_parse_at_the_base_selects_every_test(git_repo):
    repo = git_repo("srclayout")
    good = repo.read("setup.cfg")
    # Were the base readable, only [flake8] would differ.
    on_main(repo, "setup.cfg", good + "\n[flake8]\nthis line is no option\n")
    repo.write("setup.cfg", good + "\n[flake8]\nmax-line-length = 100\n")

    assert select(repo) == (EVERY_TEST, every_test("setup.cfg"))


_TOX_INI = """\
[tox]
envlist = py310, py311

[testenv]
deps = pytest
commands = pytest {posargs}
"""


def test_tox_envlist_selects_nothing(git_repo):
    repo = git_repo("srclayout")
    on_main(repo, "tox.ini", _TOX_INI)
    repo.replace("tox.ini", "envlist = py310, py311", "envlist = py310, py311, py312")

    assert select(repo) == ([], inert("tox.ini", "[tox].envlist"))


def test_tox_testenv_selects_every_test(git_repo):
    repo = git_repo("srclayout")
    on_main(repo, "tox.ini", _TOX_INI)
    repo.replace("tox.ini", "deps = pytest", "deps = pytest\n    attrs")

    assert select(repo) == (EVERY_TEST, every_test("tox.ini"))


# -- setup.py ---------------------------------------------------------------------------

_SETUP_PY = """\
from setuptools import setup

setup(
    name="shop",
    description="A shop",
    classifiers=["Private :: X"],
    install_requires=[],
)
"""


def test_setup_py_descriptive_arguments_select_nothing(git_repo):
    repo = git_repo("srclayout")
    on_main(repo, "setup.py", _SETUP_PY)
    repo.replace("setup.py", 'description="A shop",', 'description="A small shop",  # shorter')
    repo.replace("setup.py", 'classifiers=["Private :: X"]', 'classifiers=["Private :: X", "Private :: Y"]')

    assert select(repo) == ([], inert("setup.py", "description=, classifiers="))


def test_setup_py_install_requires_selects_every_test(git_repo):
    repo = git_repo("srclayout")
    on_main(repo, "setup.py", _SETUP_PY)
    repo.replace("setup.py", '"A shop"', '"A small shop"')
    repo.replace("setup.py", "install_requires=[]", 'install_requires=["attrs"]')

    assert select(repo) == (EVERY_TEST, every_test("setup.py"))


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


# -- requirements of the documentation --------------------------------------------------------


def test_requirements_of_the_documentation_select_nothing(git_repo):
    repo = git_repo("srclayout")
    repo.write("docs/requirements.txt", "sphinx\n")

    assert select(repo) == (
        [],
        ["impactsel: docs/requirements.txt changed: it installs the documentation build, no test selected for it"],
    )


def test_requirements_elsewhere_are_read(git_repo):
    # (Which tests a known distribution selects: see test_dependencies.py.)
    repo = git_repo("srclayout")
    repo.write("requirements-dev.txt", "impactsel-no-such-distribution\n")

    assert select(repo) == (EVERY_TEST, [f"impactsel: selecting every test: {NOT_INSTALLED}"])


def test_requirements_of_the_documentation_outside_the_users_ignore_select_every_test(git_repo):
    # The user's ignore replaces the default one, and leaves docs/ out.
    repo = git_repo("flat")
    on_main(repo, "pyproject.toml", repo.read("pyproject.toml") + '\n[tool.impactsel]\nignore = ["*.md"]\n')
    repo.write("docs/requirements.txt", "sphinx\n")

    assert select(repo) == (EVERY_TEST, every_test("docs/requirements.txt"))
