"""Sharding: a ``Selection`` + ``K/N`` (+ durations) -> the ``Selection`` of shard K alone.

Every selected test lands in exactly one shard, and the split depends only on
its inputs (the sorted node ids and the durations), so N CI jobs that run
``impactsel --shard K/N`` on the same commit divide the work without talking to
each other.

* Without durations the sorted node ids are cut into N contiguous runs whose
  sizes differ by at most one: balanced by count, and the tests of one file stay
  together (at most N-1 files are split), so module- and class-scoped fixtures
  are set up once per shard rather than once per test.
* With durations (a JUnit XML report from ``pytest --junitxml``), greedy
  longest-processing-time: the longest test goes to the least-loaded shard
  (ties: the lower shard number). A test missing from the report counts as the
  report's median duration; a parametrized test counts as the sum of its cases;
  every test also costs ``PER_TEST_SECONDS`` (pytest's own work per test).
* A run-all selection is split over ``all_tests`` (every collected node id) when
  the caller passes them. Without them a run-all cannot be divided: shard 1
  runs every test (the test roots) and the other shards run nothing, so that
  every test still runs exactly once.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import re
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from impactsel.errors import ConfigError, UsageError
from impactsel.model import NodeId, SelectedTest, Selection

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
#: Declarations that let an XML document expand entities (billion laughs) or
#: reach outside itself (external entities); pytest never writes them.
_UNSAFE_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
#: Used when no duration is known at all: every test weighs the same.
_DEFAULT_SECONDS = 1.0
#: What every test costs on top of its reported time (pytest's own per-test work):
#: a report full of ``time="0.000"`` still spreads the tests evenly.
PER_TEST_SECONDS = 0.005


def parse_spec(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``: shard 2 of 4, counted from 1.

    Raises:
        UsageError: not ``K/N`` with ``1 <= K <= N``.
    """
    match = _SPEC.match(text)
    index, total = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not 1 <= index <= total:
        raise UsageError(
            f"--shard {text!r} is not K/N with 1 <= K <= N; pass the shard number and the number of shards, "
            "e.g. --shard 2/4",
            slug="shard",
        )
    return index, total


def read_durations(path: Path) -> dict[str, float]:
    """Seconds per pytest node id, from a JUnit XML report as ``pytest --junitxml`` writes it.

    A ``testcase`` with ``classname="tests.test_x.TestA"`` and ``name="test_b"``
    becomes ``tests/test_x.py::TestA::test_b``. Where the classname alone is
    ambiguous (``a.b.C``: a class ``C`` in ``a/b.py``, or a module ``a/b/C.py``?),
    capitalised trailing parts are read as classes; ``apply`` matches ids in
    pytest's own dotted form as well, so the guess never loses a duration.

    Raises:
        ConfigError: the file cannot be read, is not XML, or declares a DOCTYPE or entities.
    """
    root = _parse_xml(path)
    durations: dict[str, float] = {}
    for case in root.iter("testcase"):
        nodeid = _case_nodeid(case.get("classname", ""), case.get("name", ""), case.get("file"))
        seconds = _seconds(case.get("time"))
        if nodeid and seconds is not None:
            durations[nodeid] = durations.get(nodeid, 0.0) + seconds
    return durations


def apply(
    selection: Selection,
    index: int,
    total: int,
    durations: dict[str, float] | None = None,
    all_tests: Iterable[str] | None = None,
) -> Selection:
    """The part of ``selection`` that shard ``index`` of ``total`` (1-based) runs.

    Args:
        selection: what impactsel selected.
        index: this shard, ``1 <= index <= total``.
        total: the number of shards.
        durations: seconds per node id (``read_durations``); None balances by count.
        all_tests: every collected node id, so that a run-all selection can be split.

    Returns:
        ``selection`` with only this shard's tests (sorted); a split run-all
        selection becomes an ordinary one whose reason moves to ``warnings``.
    """
    parse_spec(f"{index}/{total}")  # the same validation for callers that skip parse_spec
    if selection.run_all is not None:
        return _apply_run_all(selection, index, total, durations, all_tests)
    by_id: dict[str, SelectedTest] = {t.nodeid: t for t in selection.tests}
    mine = _shard_ids(sorted(by_id), index, total, durations)
    return dataclasses.replace(selection, tests=tuple(by_id[n] for n in mine))


def partition(ids: list[str], total: int, durations: dict[str, float] | None = None) -> list[list[str]]:
    """Split ``ids`` into ``total`` shards (each sorted); every id lands in exactly one."""
    ordered = sorted(set(ids))
    if durations is None:
        return _by_count(ordered, total)
    return _by_duration(ordered, total, _weights(ordered, durations))


# Private


def _shard_ids(ids: list[str], index: int, total: int, durations: dict[str, float] | None) -> list[str]:
    return partition(ids, total, durations)[index - 1]


def _apply_run_all(
    selection: Selection,
    index: int,
    total: int,
    durations: dict[str, float] | None,
    all_tests: Iterable[str] | None,
) -> Selection:
    reason = selection.run_all
    if all_tests is None:
        if index == 1:
            return selection
        note = f"every test is selected ({reason}); shard 1/{total} runs them all, this shard nothing"
        return dataclasses.replace(selection, run_all=None, tests=(), warnings=(*selection.warnings, note))
    mine = _shard_ids(list(all_tests), index, total, durations)
    note = f"every test is selected ({reason}); shard {index}/{total} runs {len(mine)} of them"
    tests = tuple(SelectedTest(NodeId(n), ("run-all",)) for n in mine)
    return dataclasses.replace(selection, run_all=None, tests=tests, warnings=(*selection.warnings, note))


def _by_count(ids: list[str], total: int) -> list[list[str]]:
    """Contiguous runs: shard k holds ``ids[k*n//N : (k+1)*n//N]``."""
    size = len(ids)
    return [ids[k * size // total : (k + 1) * size // total] for k in range(total)]


def _by_duration(ids: list[str], total: int, weights: dict[str, float]) -> list[list[str]]:
    """Greedy LPT: the longest test first, onto the least-loaded shard (ties: the lower number)."""
    shards: list[list[str]] = [[] for _ in range(total)]
    loads = [(0.0, k) for k in range(total)]  # already a heap
    for nodeid in sorted(ids, key=lambda n: (-weights[n], n)):
        load, k = heapq.heappop(loads)
        shards[k].append(nodeid)
        heapq.heappush(loads, (load + weights[nodeid], k))
    return [sorted(s) for s in shards]


def _weights(ids: list[str], durations: dict[str, float]) -> dict[str, float]:
    """Seconds per selected id; ids missing from the report weigh the report's median."""
    known = _by_key(durations)
    fallback = statistics.median(known.values()) if known else _DEFAULT_SECONDS
    return {n: known.get(_key(n), fallback) + PER_TEST_SECONDS for n in ids}


def _by_key(durations: dict[str, float]) -> dict[str, float]:
    """Durations keyed by pytest's dotted address, parametrized cases summed into their function."""
    summed: dict[str, float] = {}
    for nodeid, seconds in durations.items():
        key = _key(nodeid)
        summed[key] = summed.get(key, 0.0) + seconds
    return summed


def _key(nodeid: str) -> str:
    """``tests/test_x.py::TestA::test_b[1]`` -> ``tests.test_x.TestA::test_b``.

    The form pytest's JUnit report gives (``classname`` + ``name``): it loses the
    difference between directories, modules and classes, so both sides meet in it.
    """
    path, _, rest = nodeid.partition("::")
    parts = [path.removesuffix(".py").replace("/", "."), *rest.split("::")] if rest else [path]
    name = parts[-1].partition("[")[0]
    return ".".join(parts[:-1]) + "::" + name


def _parse_xml(path: Path) -> ET.Element:
    fix = "pass a JUnit XML report written by pytest --junitxml=FILE"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read durations from {path} ({exc.strerror}); {fix}", slug="durations") from None
    if _UNSAFE_XML.search(data):
        raise ConfigError(f"{path} declares a DOCTYPE or entities, refused for safety; {fix}", slug="durations")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ConfigError(f"{path} is not XML ({exc}); {fix}", slug="durations") from None


def _case_nodeid(classname: str, name: str, file: str | None) -> str:
    if not name:
        return ""
    parts = [p for p in classname.split(".") if p]
    if file and file.endswith(".py"):  # junit_family=xunit1 names the file: no guessing
        module_parts = len(file.removesuffix(".py").replace("\\", "/").split("/"))
        return "::".join([file.replace("\\", "/"), *parts[module_parts:], name])
    classes = 0
    while classes < len(parts) - 1 and parts[len(parts) - 1 - classes][:1].isupper():
        classes += 1
    module = parts[: len(parts) - classes]
    if not module:
        return name
    return "::".join(["/".join(module) + ".py", *parts[len(parts) - classes :], name])


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
