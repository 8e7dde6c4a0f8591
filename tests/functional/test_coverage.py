"""``impactsel coverage record`` and ``--coverage``: per-test coverage narrows the static answer where it is valid.

Each test records real coverage data in a real repository (``impactsel coverage
record``, which runs the sample project's own test suite), then edits it and
compares ``impactsel --since main`` with ``impactsel --since main --coverage .coverage``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys

import coverage
import pytest

#: pytest-cov names each test's own context; without it, coverage.py's ``test_function``
#: names the function that ran, and an inherited test method runs under its base class's name.
PYTEST_COV = importlib.util.find_spec("pytest_cov") is not None
#: pytest arguments for recording: no cache directory, no hypothesis plugin (slow to import).
PYTEST_ARGS = ("--", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
GITIGNORE = "__pycache__/\n.pytest_cache/\n.coverage*\n"

TRICKS = """\
    def perform(trick, times=1):
        if times > 1:
            return encore(trick, times)
        return trick


    def encore(trick, times):
        return " ".join([trick] * times)
    """
TEST_TRICKS = """\
    from zoo.tricks import perform


    def test_once():
        assert perform("sit") == "sit"


    def test_twice():
        assert perform("sit", 2) == "sit sit"
    """
SNACKS = """\
    def serve(snack, hungry=False):
        if hungry:
            return double(snack)
        return snack


    def double(snack):
        return snack * 2
    """
TEST_SNACKS = """\
    from zoo.snacks import serve


    def test_serve():
        assert serve("nut") == "nut"


    def test_serve_hungry():
        assert serve("nut", hungry=True) == "nutnut"
    """


TEST_BOW = """

def test_bow():
    from zoo.tricks import bow

    assert bow() == "bow"
"""


def record(repo) -> None:
    run = repo.run_cli("coverage", "record", *PYTEST_ARGS)
    assert run.code == 0, run.out + run.err
    assert (repo.path / ".coverage.impactsel.json").is_file()


@pytest.fixture
def zoo(git_repo):
    """richpkg plus two modules with a branch each (a test that takes it, one that does not), recorded on main."""
    repo = git_repo("richpkg")
    for path, text in {
        ".gitignore": GITIGNORE,
        "zoo/tricks.py": TRICKS,
        "tests/test_tricks.py": TEST_TRICKS,
        "zoo/snacks.py": SNACKS,
        "tests/test_snacks.py": TEST_SNACKS,
    }.items():
        repo.write(path, text)
    repo.commit("tricks and snacks")
    return repo


def edit_encore_and_double(repo) -> None:
    repo.replace("zoo/tricks.py", "[trick] * times", "[trick] * int(times)")
    repo.replace("zoo/snacks.py", "return snack * 2", "return snack + snack")


def test_coverage_answers_for_functions_it_saw_run_and_static_analysis_for_the_rest(zoo):
    record(zoo)
    zoo.branch()
    edit_encore_and_double(zoo)  # functions that only some of their static tests run
    zoo.replace("zoo/animals.py", 'return "..."', 'return "." * 3')  # Animal.sound: Dog overrides it
    zoo.replace("zoo/config.py", '"Zoo report"', '"Zoo Report"')  # a module-level name: runs on import
    zoo.write("zoo/tricks.py", zoo.read("zoo/tricks.py") + '\n\ndef bow():\n    return "bow"\n')  # added
    zoo.write("tests/test_tricks.py", zoo.read("tests/test_tricks.py") + TEST_BOW)  # a new test

    static = zoo.ids()
    run = zoo.select("--coverage", str(zoo.path / ".coverage"))

    assert static == [
        "tests/sub/test_shelter.py::TestShelterDog::test_sound",
        "tests/test_animals.py::TestAnimal::test_sound",
        "tests/test_animals.py::test_dog_speaks",
        "tests/test_report.py::test_headline",
        "tests/test_snacks.py::test_serve",
        "tests/test_snacks.py::test_serve_hungry",
        "tests/test_tricks.py::test_bow",
        "tests/test_tricks.py::test_once",
        "tests/test_tricks.py::test_twice",
    ]
    # Dropped: the tests that never ran the changed function (test_dog_speaks runs Dog.sound).
    # Kept: the new test, the module-level name's and the added function's static answers,
    # and (without pytest-cov) the inherited TestShelterDog.test_sound, which test_function
    # contexts cannot tell apart from TestAnimal.test_sound.
    assert run.code == 0, run.err
    assert run.lines == [
        *([] if PYTEST_COV else ["tests/sub/test_shelter.py::TestShelterDog::test_sound"]),
        "tests/test_animals.py::TestAnimal::test_sound",
        "tests/test_report.py::test_headline",
        "tests/test_snacks.py::test_serve_hungry",
        "tests/test_tricks.py::test_bow",
        "tests/test_tricks.py::test_twice",
    ]
    assert "coverage: answers for 3 of 6 changed symbols, static analysis for the rest" in run.err
    assert f"with coverage: {len(run.lines)}/28 tests" in run.err


def test_a_file_changed_since_the_recording_falls_back_to_static_analysis(zoo):
    record(zoo)
    # main moves on after the recording: snacks.py's lines move down, its line numbers are stale.
    zoo.write("zoo/snacks.py", '"""Snacks."""\n\n' + zoo.read("zoo/snacks.py"))
    zoo.commit("a docstring")
    zoo.branch()
    edit_encore_and_double(zoo)

    static = zoo.ids()
    run = zoo.select("--coverage", str(zoo.path / ".coverage"))

    assert static == [
        "tests/test_snacks.py::test_serve",
        "tests/test_snacks.py::test_serve_hungry",
        "tests/test_tricks.py::test_once",
        "tests/test_tricks.py::test_twice",
    ]
    assert run.lines == [  # tricks.py is as recorded: narrowed; snacks.py is not: static
        "tests/test_snacks.py::test_serve",
        "tests/test_snacks.py::test_serve_hungry",
        "tests/test_tricks.py::test_twice",
    ]
    assert "coverage: answers for 1 of 2 changed symbols" in run.err
    assert "1 measured file changed between the recording" in run.err


# -- data written through coverage.py's API, on the src-layout project ------------------------


@pytest.fixture
def shop(git_repo):
    repo = git_repo("srclayout")
    repo.write(".gitignore", GITIGNORE)
    repo.commit("ignore coverage data")
    record(repo)
    return repo


def write_data(repo, name: str, lines_by_context: dict[str, dict[str, list[int]]]) -> str:
    """A data file with these lines in these contexts, and a copy of the recorded manifest beside it."""
    data = coverage.CoverageData(basename=str(repo.path / name))
    for context, lines in lines_by_context.items():
        data.set_context(context)
        data.add_lines({str(repo.path / path): numbers for path, numbers in lines.items()})
    data.write()
    shutil.copy(repo.path / ".coverage.impactsel.json", repo.path / f"{name}.impactsel.json")
    return str(repo.path / name)


def line_of(repo, path: str, text: str) -> int:
    return next(i for i, line in enumerate(repo.read(path).splitlines(), 1) if text in line)


def test_pytest_cov_contexts_map_to_node_ids_and_fixture_code_stays_static(shop):
    def ran(*places: tuple[str, str]) -> dict[str, list[int]]:
        return {path: [line_of(shop, path, text)] for path, text in places}

    fmt, parse = ("src/shop/money.py", "return f"), ("src/shop/money.py", "amount, _ =")
    path = write_data(
        shop,
        ".coverage.pytestcov",
        {  # each test's own assert too, so that the data knows every test
            "tests/test_money.py::test_fmt|run": ran(fmt, ("tests/test_money.py", "assert fmt")),
            # a static context ([run] context = ci) comes first
            "ci|tests/test_catalog.py::test_label|run": ran(fmt, ("tests/test_catalog.py", "assert label")),
            "tests/test_checkout.py::test_receipt|run": ran(("tests/test_checkout.py", "assert receipt")),
            # parse ran while a fixture was set up: the tests sharing that fixture may depend on it
            "tests/test_catalog.py::test_price|setup": ran(parse),
            "tests/test_catalog.py::test_price|run": ran(("tests/test_catalog.py", "assert price")),
            "tests/test_money.py::test_parse|run": ran(("tests/test_money.py", "assert parse")),
        },
    )
    shop.branch()
    shop.replace("src/shop/money.py", '{CURRENCY}"', '{CURRENCY}".strip()')
    shop.replace("src/shop/money.py", "float(amount) * 100)", "float(amount) * 100.0)")

    assert shop.ids() == [
        "tests/test_catalog.py::test_label",
        "tests/test_checkout.py::test_receipt",
        "tests/test_money.py::test_fmt",
        "tests/test_money.py::test_parse",
    ]
    # fmt: the tests whose run phase ran it; parse: static (test_price's setup ran it, not test_parse)
    assert shop.ids("--coverage", path) == [
        "tests/test_catalog.py::test_label",
        "tests/test_money.py::test_fmt",
        "tests/test_money.py::test_parse",
    ]

    # Data recorded without contexts (coverage run, or pytest-cov without --cov-context): no answer at all.
    plain = write_data(shop, ".coverage.plain", {"": ran(fmt, parse)})
    run = shop.select("--coverage", plain)
    assert run.code == 0
    assert run.lines == shop.ids()
    assert ".coverage.plain holds no per-test contexts, the static selection stands" in run.err


def test_data_that_cannot_be_trusted_is_an_error_that_names_the_fix(shop, git_repo, monkeypatch):
    elsewhere = git_repo("srclayout")
    shutil.copy(shop.path / ".coverage", elsewhere.path / ".coverage")
    shutil.copy(shop.path / ".coverage.impactsel.json", elsewhere.path / ".coverage.impactsel.json")
    (shop.path / "foreign.coverage").write_bytes((shop.path / ".coverage").read_bytes())  # no manifest
    (shop.path / "broken.coverage").write_bytes(b"not a database" * 100)
    shutil.copy(shop.path / ".coverage.impactsel.json", shop.path / "broken.coverage.impactsel.json")

    cases = [
        (shop, "missing.coverage", "no coverage data at"),
        (shop, "foreign.coverage", "was not recorded by impactsel (no foreign.coverage.impactsel.json beside it)"),
        (elsewhere, ".coverage", f"was recorded for {shop.path.resolve()}, not for {elsewhere.path.resolve()}"),
        (shop, "broken.coverage", "cannot read coverage data"),
    ]
    for repo, name, message in cases:
        run = repo.select("--coverage", str(repo.path / name))
        assert (run.code, run.out) == (2, ""), name
        assert message in run.err, run.err
        assert "`impactsel coverage record`" in run.err
        assert "(see README, #error-coverage)" in run.err

    monkeypatch.setitem(sys.modules, "coverage", None)  # import coverage -> ImportError
    run = shop.select("--coverage", str(shop.path / ".coverage"))
    assert run.code == 2
    assert "pip install 'impactsel[coverage]'" in run.err


def test_record_returns_pytest_s_exit_code_and_leaves_no_manifest_after_a_broken_run(git_repo):
    repo = git_repo("srclayout")
    repo.write(".gitignore", GITIGNORE)
    repo.write("tests/test_broken.py", "import nowhere_to_be_found\n")
    repo.commit("a test module that cannot be imported")
    (repo.path / ".coverage.impactsel.json").write_text("{}")  # from an earlier recording

    run = repo.run_cli("coverage", "record", *PYTEST_ARGS)

    assert run.code == 2  # pytest: interrupted by a collection error
    assert not (repo.path / ".coverage.impactsel.json").exists()
    assert "pytest exited with code 2: no coverage manifest written" in run.err


def test_a_test_module_whose_marks_changed_keeps_a_test_that_collects_it(zoo):
    # _portion's default is evaluated when tests/test_snacks.py is imported; test_meals.py
    # imports the helper and runs it, test_no_portion names it and does not. Coverage
    # keeps test_meal only, but one test of test_snacks.py must still run to show that
    # it collects: test_no_portion stays.
    zoo.write("tests/test_snacks.py", zoo.read("tests/test_snacks.py") + PORTION)
    zoo.write("tests/test_meals.py", MEALS)
    zoo.commit("a helper")
    record(zoo)
    zoo.branch()
    zoo.replace("tests/test_snacks.py", "size=1", "size=1 * 1")

    static = zoo.ids()
    run = zoo.select("--coverage", str(zoo.path / ".coverage"))

    assert static == ["tests/test_meals.py::test_meal", "tests/test_snacks.py::test_no_portion"]
    assert run.code == 0, run.err
    assert run.lines == static
    assert "coverage: answers for 1 of 2 changed symbols, static analysis for the rest" in run.err


PORTION = """

def _portion(snack, size=1):
    return snack * size


def test_no_portion():
    if serve("nut") != "nut":
        _portion("nut")
"""
MEALS = """\
from tests.test_snacks import _portion


def test_meal():
    assert _portion("nut") == "nut"
"""
