"""The extraction cache: round trips, damaged and foreign entries, and directories it cannot write.

An entry is untrusted input (a cache restored in CI, a disk that filled up, another
version of impactsel): whatever is in it, ``Cache.get`` returns a result equal to the
one it stored, or ``None`` (a miss, logged), never something else and never an
exception. The pipeline then parses the file again and rewrites the entry, so a run
on a damaged cache selects exactly what a run on a sound one does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from impactsel.batch import extract_bytes
from impactsel.cache import Cache, content_key
from impactsel.model import FileSymbols, ParseFailure

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
ANIMALS = FIXTURES / "richpkg" / "zoo" / "animals.py"
CONFTEST = FIXTURES / "richpkg" / "tests" / "conftest.py"

SUMMARY = "tests/test_report.py::test_summary"


def entry_file(directory: Path, key: str) -> Path:
    """The one file holding ``key``'s entry (wherever the schema directory puts it)."""
    found = [p for p in directory.rglob("*.json") if p.parent.name == key[:2] and p.name == f"{key[2:]}.json"]
    assert len(found) == 1, found
    return found[0]


def stored(directory: Path, path: Path) -> tuple[Cache, str, FileSymbols]:
    data = path.read_bytes()
    key, result = content_key(data), extract_bytes(data)
    assert isinstance(result, FileSymbols)
    cache = Cache(directory)
    cache.put(key, result)
    return cache, key, result


def _rewrite(path: Path, change) -> None:
    entry = json.loads(path.read_bytes())
    change(entry)
    path.write_text(json.dumps(entry))


def _checksum(body: str) -> str:
    return hashlib.blake2b(body.encode(), digest_size=8).hexdigest()


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/**/*.py")), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_round_trip_of_real_extraction_results(tmp_path, path):
    data = path.read_bytes()
    key, result = content_key(data), extract_bytes(data)
    Cache(tmp_path).put(key, result)

    fresh = Cache(tmp_path)

    assert fresh.get(key) == result
    assert (fresh.hits, fresh.misses) == (1, 0)


def test_round_trip_of_a_parse_failure(tmp_path):
    data = b"def broken(:\n"
    key, result = content_key(data), extract_bytes(data)
    assert isinstance(result, ParseFailure)
    Cache(tmp_path).put(key, result)

    assert Cache(tmp_path).get(key) == result


def test_missing_entry_is_a_miss(tmp_path):
    cache = Cache(tmp_path)

    assert cache.get(content_key(b"x = 1\n")) is None
    assert (cache.hits, cache.misses) == (0, 1)


def test_disabled_cache_stores_nothing(tmp_path):
    cache = Cache(None)
    key = content_key(b"x = 1\n")
    cache.put(key, extract_bytes(b"x = 1\n"))

    assert cache.get(key) is None
    assert list(tmp_path.iterdir()) == []


def test_cache_directory_tags_itself(tmp_path):
    directory = tmp_path / "cache"
    stored(directory, ANIMALS)

    assert (directory / ".gitignore").read_text() == "# Created by impactsel.\n*\n"
    assert (directory / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55\n")
    assert not [p for p in directory.rglob(".tmp-*")]


# -- damaged and foreign entries -------------------------------------------------------------------


def _garbage(path: Path, key: str, directory: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


def _truncated(path: Path, key: str, directory: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _empty(path: Path, key: str, directory: Path) -> None:
    path.write_bytes(b"")


def _other_schema(path: Path, key: str, directory: Path) -> None:
    _rewrite(path, lambda entry: entry.update(schema=entry["schema"] - 1))


def _planted(path: Path, key: str, directory: Path) -> None:
    # A sound entry of another file's content, copied to this key's place.
    other = CONFTEST.read_bytes()
    other_key = content_key(other)
    Cache(directory).put(other_key, extract_bytes(other))
    shutil.copyfile(entry_file(directory, other_key), path)


def _tampered(path: Path, key: str, directory: Path) -> None:
    # The body changed (a qualname edited), the checksum left as it was.
    def change(entry):
        assert '"<module>"' in entry["body"]
        entry["body"] = entry["body"].replace('"<module>"', '"<modulx>"', 1)

    _rewrite(path, change)


def _not_an_object(path: Path, key: str, directory: Path) -> None:
    path.write_text(json.dumps([key, 8]))


DAMAGES = [_garbage, _truncated, _empty, _other_schema, _planted, _tampered, _not_an_object]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__.strip("_"))
def test_damaged_entry_is_a_logged_miss(tmp_path, caplog, damage):
    _, key, _ = stored(tmp_path, ANIMALS)
    path = entry_file(tmp_path, key)
    damage(path, key, tmp_path)
    cache = Cache(tmp_path)

    with caplog.at_level(logging.WARNING, logger="impactsel.cache"):
        assert cache.get(key) is None

    assert (cache.hits, cache.misses) == (0, 1)
    assert [r.getMessage() for r in caplog.records] == [f"impactsel cache: discarding a damaged entry {path.name}"]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__.strip("_"))
def test_damaged_entry_is_rebuilt_by_the_pipeline(git_repo, caplog, damage):
    repo = git_repo("richpkg")
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")
    directory = repo.path / ".impactsel_cache"
    # The changed file: a run reads its entry whatever the graph snapshot holds.
    data = (repo.path / "zoo/sub/deep.py").read_bytes()
    key = content_key(data)
    first = repo.select()
    path = entry_file(directory, key)
    damage(path, key, directory)

    with caplog.at_level(logging.WARNING, logger="impactsel.cache"):
        second = repo.select()

    assert first.code == second.code == 0, second.err
    assert first.out == second.out == f"{SUMMARY}\n"
    assert f"impactsel cache: discarding a damaged entry {path.name}" in [r.getMessage() for r in caplog.records]
    assert Cache(directory).get(key) == extract_bytes(data)  # rewritten


# Hostile entries: what a foreign writer can put in a file, checksum included (the
# checksum guards against accidents, not against a writer that computes it).


def _store(directory: Path, data: bytes) -> tuple[str, Path]:
    key = content_key(data)
    Cache(directory).put(key, extract_bytes(data))
    return key, entry_file(directory, key)


def _foreign_body(path: Path, body: str) -> None:
    _rewrite(path, lambda entry: entry.update(body=body, sum=_checksum(body)))


def _deep_nesting(directory: Path) -> str:
    key, path = _store(directory, ANIMALS.read_bytes())
    path.write_bytes(b"[" * 100_000)
    return key


def _deep_nesting_in_body(directory: Path) -> str:
    key, path = _store(directory, ANIMALS.read_bytes())
    _foreign_body(path, "[" * 100_000 + "]" * 100_000)
    return key


def _infinite_line(directory: Path) -> str:
    key, path = _store(directory, b"def broken(:\n")
    body = json.loads(json.loads(path.read_bytes())["body"])
    if body[0] != "failure" or not isinstance(body[-1], int):
        pytest.fail(f"the entry format changed: {body!r}")
    body[-1] = float("inf")
    _foreign_body(path, json.dumps(body))
    return key


def _list_as_qualname(directory: Path) -> str:
    key, path = _store(directory, ANIMALS.read_bytes())
    body = json.loads(path.read_bytes())["body"]
    if '"<module>"' not in body:
        pytest.fail(f"the entry format changed: {body[:80]!r}")
    _foreign_body(path, body.replace('"<module>"', '["<module>"]', 1))
    return key


@pytest.mark.parametrize("damage", [_deep_nesting, _deep_nesting_in_body, _infinite_line, _list_as_qualname])
def test_hostile_entry_is_a_miss(tmp_path, damage):
    key = damage(tmp_path)

    assert Cache(tmp_path).get(key) is None


def test_hostile_entry_is_rebuilt_by_the_pipeline(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")
    directory = repo.path / ".impactsel_cache"
    key = content_key((repo.path / "zoo/animals.py").read_bytes())
    first = repo.select()
    entry_file(directory, key).write_bytes(b"[" * 100_000)

    second = repo.select()

    assert (second.code, second.out) == (first.code, first.out) == (0, f"{SUMMARY}\n"), second.err


# -- directories it cannot write -------------------------------------------------------------------


def test_cache_directory_under_a_file_is_logged_and_disabled(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    cache = Cache(blocker / "cache")
    data = ANIMALS.read_bytes()
    key = content_key(data)

    with caplog.at_level(logging.WARNING, logger="impactsel.cache"):
        cache.put(key, extract_bytes(data))
        cache.put(key, extract_bytes(data))

    assert cache.get(key) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"impactsel cache: cannot write to {blocker / 'cache'} (Not a directory)"
    ]


def test_run_with_a_cache_directory_it_cannot_create_still_succeeds(git_repo, tmp_path):
    repo = git_repo("richpkg")
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")

    run = repo.select("--cache-dir", str(blocker / "cache"))

    assert (run.code, run.out) == (0, f"{SUMMARY}\n"), run.err
    assert blocker.read_text() == "not a directory\n"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only directories")
def test_run_with_a_read_only_cache_directory_still_succeeds(git_repo, tmp_path):
    repo = git_repo("richpkg")
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        run = repo.select("--cache-dir", str(directory))
    finally:
        directory.chmod(0o755)

    assert (run.code, run.out) == (0, f"{SUMMARY}\n"), run.err
    assert list(directory.iterdir()) == []


def test_entries_left_by_an_interrupted_write_are_ignored(git_repo):
    # A run killed between mkstemp and rename leaves a .tmp- file behind: never read as an entry.
    repo = git_repo("richpkg")
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")
    first = repo.select()
    directory = repo.path / ".impactsel_cache"
    key = content_key((repo.path / "zoo/sub/deep.py").read_bytes())  # read by every run: it changed
    path = entry_file(directory, key)
    (path.parent / ".tmp-abc123").write_bytes(path.read_bytes()[:10])
    path.unlink()

    second = repo.select()

    assert (second.code, second.out) == (first.code, first.out) == (0, f"{SUMMARY}\n")
    assert Cache(directory).get(key) == extract_bytes((repo.path / "zoo/sub/deep.py").read_bytes())
