"""shard: ``K/N`` specs, JUnit XML durations, and the split of a selection into shards.

The durations come from a real report: pytest runs the ``richpkg`` sample project
once with ``--junitxml`` (module fixture). The invariants checked for every split:
each selected test lands in exactly one shard, the split is deterministic, and it
is balanced (by count without durations; within one test's weight with them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from impactsel import shard
from impactsel.errors import ConfigError, UsageError
from impactsel.model import NodeId, SelectedTest, Selection

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

#: What ``pytest --collect-only -q`` prints for fixtures/richpkg.
RICHPKG_IDS = [
    "tests/sub/test_shelter.py::TestShelterDog::test_sound",
    "tests/sub/test_shelter.py::TestShelterDog::test_describe",
    "tests/sub/test_shelter.py::TestShelterDog::test_greets",
    "tests/sub/test_shelter.py::test_quiet",
    "tests/test_animals.py::test_dog_speaks",
    "tests/test_animals.py::test_kennel",
    "tests/test_animals.py::test_puppy_is_young",
    "tests/test_animals.py::test_bird_describe",
    "tests/test_animals.py::TestAnimal::test_sound",
    "tests/test_animals.py::TestAnimal::test_describe",
    "tests/test_data.py::test_rows",
    "tests/test_data.py::test_no_rows",
    "tests/test_feeding.py::FeedingSuite::test_feed",
    "tests/test_feeding.py::FeedingSuite::test_ration",
    "tests/test_keeper.py::test_keeper_runs",
    "tests/test_records.py::RecordTests::test_label",
    "tests/test_records.py::RecordTests::test_light",
    "tests/test_records.py::test_make",
    "tests/test_report.py::test_summary",
    "tests/test_report.py::test_headline",
    "tests/test_util.py::test_shout",
    "tests/test_util.py::test_whisper",
    "tests/test_util.py::test_tidy",
]


@pytest.fixture(scope="module")
def junit_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JUnit XML report written by pytest itself for a copy of fixtures/richpkg."""
    where = tmp_path_factory.mktemp("junit")
    project = where / "richpkg"
    shutil.copytree(FIXTURES / "richpkg", project, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    report = where / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=project,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # the project needs none: start fast
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return report


def selection_of(ids: list[str], run_all: str | None = None) -> Selection:
    tests = tuple(SelectedTest(NodeId(n), ("pkg.mod:f",)) for n in sorted(ids))
    return Selection(base="0" * 40, changed=(), tests=tests, total_tests=len(ids), run_all=run_all)


def shards_of(selection: Selection, total: int, durations: dict[str, float] | None = None) -> list[list[str]]:
    return [[t.nodeid for t in shard.apply(selection, k, total, durations).tests] for k in range(1, total + 1)]


def assert_exact_cover(shards: list[list[str]], ids: list[str]) -> None:
    flat = [n for s in shards for n in s]
    assert sorted(flat) == sorted(ids)  # every test in exactly one shard (no duplicates, none lost)


# -- parse_spec ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("2/4", (2, 4)), ("1/1", (1, 1)), (" 3 / 3 ", (3, 3))])
def test_parse_spec(text: str, expected: tuple[int, int]) -> None:
    assert shard.parse_spec(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "2/0", "a/b", "-1/3", "2/4/6", ""])
def test_parse_spec_rejects_and_names_the_fix(text: str) -> None:
    with pytest.raises(UsageError, match=r"not K/N with 1 <= K <= N; .*e\.g\. --shard 2/4") as info:
        shard.parse_spec(text)
    assert info.value.slug == "shard"


# -- read_durations ----------------------------------------------------------------------


def test_read_durations_maps_a_real_report_to_node_ids(junit_report: Path) -> None:
    durations = shard.read_durations(junit_report)
    assert sorted(durations) == sorted(RICHPKG_IDS)
    assert all(seconds >= 0 for seconds in durations.values())


def test_read_durations_xunit1_file_attribute_and_parametrized_cases(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        '<testcase classname="pkg.tests.test_a.Test_lower" file="pkg/tests/test_a.py" name="test_x" time="1.5"/>'
        '<testcase classname="tests.test_b" name="test_p[1-a.b]" time="2"/>'
        '<testcase classname="tests.test_b" name="test_p[2]" time="3"/>'
        '<testcase classname="tests.test_b" name="test_bad" time="NaN"/>'
        "</testsuite></testsuites>"
    )
    durations = shard.read_durations(report)
    assert durations == {
        "pkg/tests/test_a.py::Test_lower::test_x": 1.5,
        "tests/test_b.py::test_p[1-a.b]": 2.0,
        "tests/test_b.py::test_p[2]": 3.0,
    }
    # A parametrized function is selected by its base id: it weighs the sum of its cases.
    selection = selection_of(["tests/test_b.py::test_p", "tests/test_c.py::test_1", "tests/test_c.py::test_2"])
    first, second = shards_of(selection, 2, durations)
    assert first == ["tests/test_b.py::test_p"]
    assert second == ["tests/test_c.py::test_1", "tests/test_c.py::test_2"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            "<testsuites><testcase classname='a' name='b' time='1'>&lol2;</testcase></testsuites>",
            "declares a DOCTYPE or entities",
        ),
        ("<testsuites><testcase", "is not XML"),
    ],
)
def test_read_durations_refuses_unsafe_or_broken_xml(tmp_path: Path, content: str, problem: str) -> None:
    report = tmp_path / "report.xml"
    report.write_text(content)
    with pytest.raises(ConfigError, match=f"{problem}.*pass a JUnit XML report written by pytest --junitxml"):
        shard.read_durations(report)


def test_read_durations_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read durations from .*missing\.xml") as info:
        shard.read_durations(tmp_path / "missing.xml")
    assert info.value.slug == "durations"


# -- apply: by count -----------------------------------------------------------------------


@pytest.mark.parametrize("total", [1, 2, 3, 4, 7, 30])
def test_by_count_covers_balances_and_keeps_files_together(total: int) -> None:
    selection = selection_of(RICHPKG_IDS)
    shards = shards_of(selection, total)
    assert_exact_cover(shards, RICHPKG_IDS)
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    # Contiguous runs of the sorted ids: each boundary between shards splits at most one file.
    holders: dict[str, int] = {}
    for part in shards:
        for path in {n.partition("::")[0] for n in part}:
            holders[path] = holders.get(path, 0) + 1
    assert sum(count - 1 for count in holders.values()) <= total - 1
    assert shards == shards_of(selection_of(list(reversed(RICHPKG_IDS))), total)  # deterministic


def test_apply_keeps_the_rest_of_the_selection() -> None:
    selection = selection_of(RICHPKG_IDS)
    part = shard.apply(selection, 2, 3, None)
    assert part.base == selection.base and part.total_tests == selection.total_tests
    assert set(part.tests) < set(selection.tests)  # the same SelectedTest values, chains included


# -- apply: by duration ----------------------------------------------------------------------


@pytest.mark.parametrize("total", [2, 3, 5])
def test_by_duration_from_a_real_report(junit_report: Path, total: int) -> None:
    durations = shard.read_durations(junit_report)
    selection = selection_of(RICHPKG_IDS)
    shards = shards_of(selection, total, durations)
    assert_exact_cover(shards, RICHPKG_IDS)
    assert shards == shards_of(selection, total, shard.read_durations(junit_report))
    weights = {n: durations[n] + shard.PER_TEST_SECONDS for n in RICHPKG_IDS}
    loads = [sum(weights[n] for n in s) for s in shards]
    # Greedy onto the least-loaded shard: no shard exceeds another by more than one test.
    assert max(loads) - min(loads) <= max(weights.values()) + 1e-9


def test_by_duration_is_longest_first_onto_the_least_loaded_shard() -> None:
    durations = {"t.py::a": 3.0, "t.py::b": 3.0, "t.py::c": 2.0, "t.py::d": 2.0, "t.py::e": 2.0}
    shards = shards_of(selection_of(list(durations)), 2, durations)
    # a -> 1, b -> 2, c -> 1 (tie: the lower shard), d -> 2, e -> 1 (tie again).
    assert shards == [["t.py::a", "t.py::c", "t.py::e"], ["t.py::b", "t.py::d"]]


def test_unknown_durations_count_as_the_median() -> None:
    durations = {"t.py::long": 10.0, "t.py::mid": 4.0, "t.py::short": 1.0}
    ids = [*durations, "t.py::new1", "t.py::new2"]  # unknown: 4 s each
    shards = shards_of(selection_of(ids), 2, durations)
    assert_exact_cover(shards, ids)
    # long (10) -> 1; mid, new1 (4 each) -> 2; new2 -> 2 (8 < 10); short -> 1 (10 < 12).
    # Were unknowns weighed 0 or 1 s, shard 2 would take everything but long.
    assert shards == [["t.py::long", "t.py::short"], ["t.py::mid", "t.py::new1", "t.py::new2"]]


# -- apply: run-all -----------------------------------------------------------------------


def test_run_all_without_the_test_list_goes_to_the_first_shard_only() -> None:
    selection = Selection("0" * 40, (), (), total_tests=23, run_all="pytest.ini changed", test_roots=("tests",))
    assert shard.apply(selection, 1, 3, None) == selection
    for k in (2, 3):
        part = shard.apply(selection, k, 3, None)
        assert part.run_all is None and part.tests == ()
        assert "shard 1/3 runs them all" in part.warnings[-1]


def test_run_all_with_the_test_list_is_split(junit_report: Path) -> None:
    selection = Selection("0" * 40, (), (), total_tests=23, run_all="pytest.ini changed", test_roots=("tests",))
    for durations in (None, shard.read_durations(junit_report)):
        parts = [shard.apply(selection, k, 3, durations, all_tests=RICHPKG_IDS) for k in (1, 2, 3)]
        assert all(p.run_all is None for p in parts)
        assert_exact_cover([[t.nodeid for t in p.tests] for p in parts], RICHPKG_IDS)
        assert "every test is selected (pytest.ini changed)" in parts[0].warnings[-1]


# -- through the command line ---------------------------------------------------------------


def test_cli_shards_a_real_selection(git_repo, junit_report: Path) -> None:
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", "        self.age = age", "        self.age = int(age)")  # Animal.__init__
    full = repo.ids()
    assert len(full) >= 6
    for extra in ([], ["--durations-from", str(junit_report)]):
        shards = [repo.ids("--shard", f"{k}/3", *extra) for k in (1, 2, 3)]
        assert_exact_cover(shards, full)
    run = repo.select("--shard", "4/3")
    assert run.code == 2 and run.out == ""
    assert "--shard '4/3' is not K/N" in run.err
