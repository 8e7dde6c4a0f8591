"""The graph snapshot: a run patched from it selects exactly what a run without any cache selects.

A full analysis saves its graph beside the extraction cache; a later run where
only function bodies changed resolves just the changed modules and patches the
rest in. Each test here edits the ``richpkg`` sample project, runs impactsel
with the cache (the snapshot left by the run before) and with ``--no-cache``
(everything analysed from scratch), and asserts the same output, the exact
selection, and which way the graph was made (the ``impactsel.build`` log).
"""

from __future__ import annotations

import logging
import os
import re

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

PATCHED_ONE = "graph: patched from the snapshot, 1 modules resolved again"
FULL = "graph: no snapshot of this project's layout: built in full"


def _graph_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "impactsel.build"]


def _timeless(err: str) -> str:
    return re.sub(r", \d+\.\d+ s\)", ", X s)", err)


def cached_and_fresh(repo, caplog):  # type: ignore[no-untyped-def]
    """Run with the cache, then without: the same output. Returns (ids, graph log lines)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="impactsel.build"):
        cached = repo.select()
    log = _graph_log(caplog)
    fresh = repo.select("--no-cache")
    assert cached.code == fresh.code == 0, cached.err
    assert (cached.out, _timeless(cached.err)) == (fresh.out, _timeless(fresh.err))
    return cached.lines, log


@pytest.fixture
def primed(git_repo, caplog):  # type: ignore[no-untyped-def]
    """richpkg on a branch, one function changed, analysed once (the snapshot is saved)."""
    repo = git_repo("richpkg")
    repo.branch()
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")
    ids, log = cached_and_fresh(repo, caplog)
    assert (ids, log) == (["tests/test_report.py::test_summary"], [FULL])
    return repo


SUMMARY = "tests/test_report.py::test_summary"  # reached by the edit made in ``primed``

# Edits inside bodies: other modules read nothing of them (a function's parameters
# neither), so one module is resolved again, and a test module's items collected again.
BODY_EDITS = {
    "function body": (
        ("zoo/animals.py", 'return "..."', 'return "?"'),
        [
            "tests/sub/test_shelter.py::TestShelterDog::test_sound",
            "tests/test_animals.py::TestAnimal::test_sound",
            "tests/test_animals.py::test_dog_speaks",
            SUMMARY,
        ],
    ),
    "signature": (
        ("zoo/animals.py", "    def describe(self):", "    def describe(self, x=1):"),
        [
            "tests/sub/test_shelter.py::TestShelterDog::test_describe",
            "tests/test_animals.py::TestAnimal::test_describe",
            "tests/test_animals.py::test_bird_describe",
            SUMMARY,
        ],
    ),
    "test body": (
        ("tests/test_animals.py", 'assert Puppy("bit").age == 0', 'assert Puppy("bit").age <= 0'),
        ["tests/test_animals.py::test_puppy_is_young", SUMMARY],
    ),
    "fixture body": (
        ("tests/conftest.py", 'return Dog("rex", age=3)', 'return Dog("rex", age=4)'),
        [
            "tests/sub/test_shelter.py::TestShelterDog::test_greets",
            "tests/test_animals.py::test_dog_speaks",
            "tests/test_animals.py::test_kennel",
            SUMMARY,
        ],
    ),
}


@pytest.mark.parametrize("edit, expected", BODY_EDITS.values(), ids=BODY_EDITS.keys())
def test_an_edit_inside_a_body_is_patched(primed, caplog, edit, expected):
    primed.replace(*edit)

    ids, log = cached_and_fresh(primed, caplog)

    assert log == [PATCHED_ONE]
    assert ids == expected


def test_a_new_function_nobody_names_is_patched(primed, caplog):
    primed.write("zoo/util.py", primed.read("zoo/util.py") + "\n\ndef extra():\n    return 1\n")

    ids, log = cached_and_fresh(primed, caplog)

    assert log == ["graph: patched from the snapshot, 1 modules resolved again (added: extra)"]
    assert ids == ["tests/test_report.py::test_summary"]


def test_a_new_function_resolves_again_the_modules_naming_it(primed, caplog):
    # A test that names a function before it exists: a new test function is an addition too.
    primed.write(
        "tests/test_util.py",
        primed.read("tests/test_util.py") + '\n\ndef test_louder():\n    assert zoo.util.louder("a") == "A"\n',
    )
    first, first_log = cached_and_fresh(primed, caplog)
    primed.write("zoo/util.py", primed.read("zoo/util.py") + "\n\ndef louder(text):\n    return text.upper()\n")

    ids, log = cached_and_fresh(primed, caplog)

    assert first_log == ["graph: patched from the snapshot, 1 modules resolved again (added: test_louder)"]
    assert first == ["tests/test_report.py::test_summary", "tests/test_util.py::test_louder"]
    # (patched runs leave the snapshot as it was: both additions are new to it)
    assert log == ["graph: patched from the snapshot, 2 modules resolved again (added: louder, test_louder)"]
    assert ids == first


@pytest.mark.parametrize(
    "code",
    [
        "@pytest.fixture\ndef extra():\n    return 1\n",  # a fixture: requests by name anywhere below
        "def __getattr__(name):\n    return name\n",  # answers for every missing name
        "def pytest_configure(config):\n    pass\n",  # a hook
        "class Extra:\n    pass\n",  # a class: bases, hierarchies
    ],
    ids=["fixture", "module-getattr", "hook", "class"],
)
def test_other_new_names_rebuild_the_graph(primed, caplog, code):
    primed.write("tests/conftest.py", primed.read("tests/conftest.py") + "\n\n" + code)

    _, log = cached_and_fresh(primed, caplog)

    assert log == ["graph: the interface of tests/conftest.py changed: built in full"]


@pytest.mark.parametrize(
    "method",
    [
        "    @property\n    def tail(self):\n        return 1\n",  # decorated: may be anything
        "    def __eq__(self, other):\n        return True\n",  # a dunder: called without its name
    ],
    ids=["decorated", "dunder"],
)
def test_other_new_methods_rebuild_the_graph(primed, caplog, method):
    primed.replace("zoo/animals.py", "    def describe(self):", method + "\n    def describe(self):")

    _, log = cached_and_fresh(primed, caplog)

    assert log == ["graph: the interface of zoo/animals.py changed: built in full"]


def test_a_new_base_class_rebuilds_the_graph(primed, caplog):
    primed.replace("zoo/animals.py", "class Bird(Animal):", "class Bird(Dog):")

    ids, log = cached_and_fresh(primed, caplog)

    assert log == ["graph: the interface of zoo/animals.py changed: built in full"]
    assert ids == [
        "tests/test_animals.py::test_bird_describe",
        "tests/test_feeding.py::FeedingSuite::test_feed",
        "tests/test_report.py::test_summary",
    ]


def test_a_new_module_changes_the_layout(primed, caplog):
    primed.write("zoo/fresh.py", "from zoo.util import shout\n\n\ndef loud():\n    return shout('x')\n")

    ids, log = cached_and_fresh(primed, caplog)

    assert log == [FULL]
    assert ids == ["tests/test_report.py::test_summary"]


def test_the_patched_graph_is_reused_as_edits_go_on(primed, caplog):
    primed.replace("zoo/animals.py", 'return "..."', 'return "?"')
    cached_and_fresh(primed, caplog)
    primed.replace("zoo/util.py", 'return text.upper() + "!"', 'return text.upper() + "!!"')

    ids, log = cached_and_fresh(primed, caplog)

    assert log == ["graph: patched from the snapshot, 2 modules resolved again"]
    assert ids == [
        "tests/sub/test_shelter.py::TestShelterDog::test_sound",
        "tests/test_animals.py::TestAnimal::test_sound",
        "tests/test_animals.py::test_dog_speaks",
        "tests/test_report.py::test_summary",
        "tests/test_util.py::test_shout",
    ]


def test_a_damaged_snapshot_is_ignored_and_replaced(primed, caplog):
    [snapshot] = (primed.path / ".impactsel_cache").glob("v*/graph-*.bin")
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    primed.replace("zoo/animals.py", 'return "..."', 'return "?"')

    ids, log = cached_and_fresh(primed, caplog)

    assert log == [FULL]
    assert ids == [
        "tests/sub/test_shelter.py::TestShelterDog::test_sound",
        "tests/test_animals.py::TestAnimal::test_sound",
        "tests/test_animals.py::test_dog_speaks",
        "tests/test_report.py::test_summary",
    ]
    assert snapshot.read_bytes() != bytes(data)  # rewritten


NEW_TEST_METHOD = (
    "tests/test_animals.py",
    "    def test_describe(self):",
    "    def test_legs(self):\n        assert self.make().legs >= 0\n\n    def test_describe(self):",
)
NEW_METHOD = (
    "zoo/animals.py",
    "    def describe(self):",
    "    def rename(self, nick):\n        self.nick = nick\n\n    def describe(self):",
)


@pytest.mark.parametrize(
    ("edit", "resolved", "expected"),
    [
        # tests/sub/test_shelter.py: TestShelterDog(test_animals.TestAnimal) inherits it.
        (
            NEW_TEST_METHOD,
            "2 modules resolved again (added: test_legs)",
            ["tests/sub/test_shelter.py::TestShelterDog::test_legs", "tests/test_animals.py::TestAnimal::test_legs"],
        ),
        (NEW_METHOD, "1 modules resolved again (added: rename)", []),
    ],
    ids=["test method", "method"],
)
def test_a_new_method_is_patched_and_collected_in_the_subclasses_too(primed, caplog, edit, resolved, expected):
    primed.replace(*edit)

    ids, log = cached_and_fresh(primed, caplog)

    assert log == [f"graph: patched from the snapshot, {resolved}"]
    assert ids == [*expected, SUMMARY]


# Any sequence of edits: the cached run and the run from scratch agree.

EDITS = [
    ("zoo/animals.py", 'return "..."', 'return "?"'),
    ("zoo/animals.py", "    def describe(self):", "    def describe(self, x=1):"),
    ("zoo/animals.py", "class Bird(Animal):", "class Bird(Dog):"),
    ("zoo/animals.py", "    legs = 2\n", "    legs = 3\n"),
    NEW_METHOD,
    NEW_TEST_METHOD,
    ("zoo/sub/deep.py", "return 4", "return 5"),
    ("zoo/util.py", 'return text.lower() + "..."', 'return text.lower() + ".."'),
    ("zoo/util.py", "def tidy(text):", "def tidy(text, more=None):"),
    ("zoo/util.py", '__all__ = ["shout", "whisper"]', '__all__ = ["whisper", "shout"]'),
    ("zoo/config.py", 'TITLE = "Zoo report"', 'TITLE = "Zoo"'),
    ("tests/conftest.py", 'return Dog("rex", age=3)', 'return Dog("rex", age=4)'),
    ("tests/conftest.py", "    yield CALLS", "    CALLS.append(0)\n    yield CALLS"),
    ("tests/test_animals.py", 'assert Puppy("bit").age == 0', 'assert Puppy("bit").age <= 0'),
    ("tests/test_util.py", 'assert zoo.whisper("Hi") == "hi..."', 'assert zoo.whisper("Hi")'),
    ("tests/test_util.py", "def test_tidy():", "def test_new():\n    assert True\n\n\ndef test_tidy():"),
    (
        "tests/test_util.py",
        "def test_tidy():",
        'def test_louder():\n    assert zoo.util.louder("a")\n\n\ndef test_tidy():',
    ),
    ("zoo/util.py", "def tidy(text):", "def louder(text):\n    return text.upper()\n\n\ndef tidy(text):"),
    ("zoo/extras.py", None, None),  # deleted
    ("zoo/fresh.py", None, "from zoo.animals import Dog\n\n\ndef make():\n    return Dog('x')\n"),
    ("commit", None, None),
]


def _apply(repo, edit) -> bool:  # type: ignore[no-untyped-def]
    rel, old, new = edit
    path = repo.path / rel
    if rel == "commit":
        repo.commit()
    elif old is None and new is None:
        if not path.exists():
            return False
        repo.delete(rel)
    elif old is None:
        repo.write(rel, new)
    else:
        if not path.exists() or old not in path.read_text():
            return False
        repo.replace(rel, old, new)
    return True


@settings(
    max_examples=int(os.environ.get("IMPACTSEL_FUZZ_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(range(len(EDITS))), min_size=1, max_size=6))
def test_any_sequence_of_edits_selects_as_a_run_from_scratch(git_repo, caplog, sequence):
    repo = git_repo("richpkg")
    repo.branch()
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")
    cached_and_fresh(repo, caplog)
    for step in sequence:
        if _apply(repo, EDITS[step]):
            note(f"edit {EDITS[step][0]}: {EDITS[step][1]!r}")
            cached_and_fresh(repo, caplog)


def _return_lines(repo) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    found = []
    for path in sorted(repo.path.rglob("*.py")):
        rel = path.relative_to(repo.path).as_posix()
        for number, line in enumerate(path.read_text().splitlines()):
            if line.lstrip().startswith("return ") and not line.rstrip().endswith(("(", "[", "{", ",", "\\")):
                found.append((rel, number))
    return found


def _method_lines(repo) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The ``def`` lines of methods directly in a top-level class (a new one goes before each)."""
    found = []
    for path in sorted(repo.path.rglob("*.py")):
        rel = path.relative_to(repo.path).as_posix()
        in_class = False
        for number, line in enumerate(path.read_text().splitlines()):
            if line and not line[0].isspace():
                in_class = line.startswith("class ")
            elif in_class and line.startswith("    def "):
                found.append((rel, number))
    return found


@settings(
    max_examples=int(os.environ.get("IMPACTSEL_FUZZ_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(["body", "function", "method"])), min_size=1, max_size=4
    )
)
def test_body_and_interface_edits_of_dynamic_code_select_as_from_scratch(git_repo, caplog, edits):
    # The sample project of dynamic patterns: registries, escapes, name fallbacks, reflection.
    repo = git_repo("dynamic")
    repo.branch()
    cached_and_fresh(repo, caplog)
    for pick, edit in edits:
        lines = _method_lines(repo) if edit == "method" else _return_lines(repo)
        rel, number = lines[pick % len(lines)]
        text = (repo.path / rel).read_text().splitlines(keepends=True)
        if edit == "function":  # a new top-level function: other modules may look it up
            text.append(f"\n\ndef added_{pick}():\n    return {pick}\n")
        elif edit == "method":  # a new method, named like one elsewhere: it may override, be called
            other_rel, other = lines[(pick // 3) % len(lines)]
            name = (repo.path / other_rel).read_text().splitlines()[other].split("def ")[1].split("(")[0]
            text.insert(number, f"    def {name}(self, *args, **kwargs):\n        return {pick}\n\n")
        else:  # the same value, other code: only this function's body changed
            indent, _, value = text[number].partition("return ")
            text[number] = f"{indent}return ({value.rstrip()})\n"
        (repo.path / rel).write_text("".join(text))
        note(f"{edit}: {rel}:{number + 1}")
        cached_and_fresh(repo, caplog)


def test_debug_says_how_the_graph_was_made(primed):
    primed.replace("zoo/animals.py", 'return "..."', 'return "?"')

    run = primed.select("--debug")
    after = primed.select()

    assert run.code == 0
    assert f"impactsel: {PATCHED_ONE}" in run.err.splitlines()
    assert "graph:" not in after.err  # only with --debug


@pytest.mark.parametrize(
    ("grown", "resolved", "new_ids"),
    [
        # tests/test_duck.py picks a class of dyn.duck by a computed getattr on the module:
        # it depends on every member, the new one too, without naming it.
        ("dyn/duck.py", 2, ["tests/test_duck.py::test_class_chosen_by_a_computed_name"]),
        # It reads every member of dyn.duck, not of dyn.clock: only dyn.clock is resolved again.
        ("dyn/clock.py", 1, []),
    ],
)
def test_a_new_function_reaches_code_reading_every_member_of_its_module(git_repo, caplog, grown, resolved, new_ids):
    repo = git_repo("dynamic")
    repo.branch()
    repo.replace("dyn/clock.py", "return time.tzname[0]", "return time.tzname[-2]")
    before, _ = cached_and_fresh(repo, caplog)
    repo.write(grown, repo.read(grown) + "\n\ndef spare():\n    return 0\n")

    ids, log = cached_and_fresh(repo, caplog)

    assert log == [f"graph: patched from the snapshot, {resolved} modules resolved again (added: spare)"]
    assert sorted(set(ids) - set(before)) == new_ids
