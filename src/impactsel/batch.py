"""Extraction of many files: paths -> ``ExtractResult``s, through the cache and a process pool.

A file is parsed only when the cache has no entry for its content. A cold run
with many misses spreads them over worker processes, largest files first so that
the last worker does not start the biggest file at the end; each worker reads its
files, holds one syntax tree at a time, and sends each result back as the cache entry
the main process stores and decodes (decoding the hits meanwhile). A warm run's few
changed files go to a helper process as soon as git has named them (``prefetch``).
libcst is imported only where a file is parsed.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from impactsel.cache import Cache, content_key, decode_entry, encode_entry
from impactsel.model import ExtractResult, ParseFailure, SourceFile

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Below this many files to parse, a pool costs more than it saves (~0.3 s to start).
POOL_THRESHOLD = 64


class Extractor:
    """Extraction through the content-addressed cache."""

    def __init__(self, cache: Cache, jobs: int = 0) -> None:
        self.cache = cache
        self.jobs = jobs or (os.cpu_count() or 1)
        self._ready: dict[str, ExtractResult] = {}  #: results a helper made (see ``prefetch``)
        self._helper: tuple[Executor, list[Future[tuple[str, bytes]]]] | None = None

    def prefetch(self, contents: Iterable[bytes]) -> None:
        """Start parsing those of ``contents`` the cache lacks in a helper process, and go on.

        A warm run that parses a changed file or two spends 0.1-0.2 s importing libcst
        and parsing; a helper does that on another core while this process reads the
        project. Only for a few contents (many go to the pool when they are needed),
        with more than one job, and when libcst is not loaded here already.
        """
        if self.jobs <= 1 or "libcst" in sys.modules or threading.active_count() > 1:
            return  # (no fork while another thread may hold a lock)
        todo: dict[str, bytes] = {}
        for data in contents:
            key = content_key(data)
            if key not in todo and not self.cache.has(key):
                todo[key] = data
        if not todo or len(todo) >= POOL_THRESHOLD:
            return
        from concurrent.futures import ProcessPoolExecutor

        logger.debug("a helper process parses %d versions of changed files", len(todo))
        pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(todo)))
        biggest_first = sorted(todo.values(), key=len, reverse=True)
        self._helper = (pool, [pool.submit(extract_data, data) for data in biggest_first])

    def extract_files(self, paths: Iterable[Path]) -> dict[Path, ExtractResult]:
        """Every path's result; misses are parsed, in parallel when there are many."""
        self._settle()
        results: dict[Path, ExtractResult] = {}
        hits: list[tuple[Path, str]] = []
        misses: list[tuple[int, Path]] = []
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError as exc:
                results[path] = ParseFailure(f"cannot read: {exc.strerror}")
                continue
            key = content_key(data)
            if key in self._ready:
                results[path] = self._ready[key]
            elif self.cache.has(key):
                hits.append((path, key))
            else:
                misses.append((len(data), path))  # not the bytes: a worker reads the file again
        misses.sort(key=lambda m: -m[0])
        todo = [path for _, path in misses]
        parsed = self._parse(extract_path, todo)  # a pool's workers start on the misses now...
        try:
            for path, key in hits:  # ...while this process decodes the hits
                results[path] = self.cache.get(key) or self._store(*extract_path(path))  # (a damaged entry)
            for path, (key, entry) in zip(todo, parsed, strict=True):
                results[path] = self._store(key, entry)
        finally:
            parsed.close()
        return results

    def iter_texts(self, contents: list[bytes]) -> Iterator[ExtractResult]:
        """Each content's result, in order (other versions of files, from git); misses are
        parsed together, in parallel when there are many. Results are made as they are
        asked for, so that a caller done with each in turn never holds them all."""
        self._settle()
        keys = [content_key(data) for data in contents]
        misses = [i for i, key in enumerate(keys) if key not in self._ready and not self.cache.has(key)]
        parsed = self._parse(extract_data, [contents[i] for i in misses])
        missing = set(misses)
        try:
            for i, key in enumerate(keys):
                if i in missing:
                    yield self._store(*next(parsed))
                else:
                    yield self.result(key) or self._store(*extract_data(contents[i]))
        finally:
            parsed.close()

    def result(self, key: str) -> ExtractResult | None:
        """The result for the content key ``key``, if it is at hand (made here, or cached)."""
        self._settle()
        return self._ready.get(key) or self.cache.get(key)

    def lazy(self, root: Path, sources: Iterable[SourceFile]) -> LazyResults:
        """The sources' results, each read from the cache (or parsed) when first asked for."""
        return LazyResults(self, root, sources)

    def _parse(
        self, parse: Callable[[T], tuple[str | None, bytes]], items: list[T]
    ) -> Generator[tuple[str | None, bytes], None, None]:
        """Each item's key and cache entry, in order, as they come (never all held at once).

        With a pool, the workers start at once, before the first answer is asked for;
        closing the generator (or reading its last answer) shuts the pool down.
        """
        if self.jobs <= 1 or len(items) < POOL_THRESHOLD:
            return (parse(item) for item in _progress(items))
        from concurrent.futures import ProcessPoolExecutor  # with multiprocessing, 25 ms to import

        pool = ProcessPoolExecutor(max_workers=self.jobs)
        try:
            answers = pool.map(parse, items, chunksize=8)  # submits every item
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        draining = _draining(pool, _progress(answers, total=len(items)))
        next(draining)  # inside its ``try``: closing it now shuts the pool down
        return draining

    def _settle(self) -> None:
        """Take in the helper's results, waiting for them (none: parsed here when needed)."""
        if self._helper is None:
            return
        from concurrent.futures import BrokenExecutor

        pool, answers = self._helper
        self._helper = None
        try:
            for answer in answers:
                key, entry = answer.result()
                self._ready[key] = self._store(key, entry)
        except (BrokenExecutor, OSError) as exc:
            logger.debug("the helper process failed (%s): parsing here", exc)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _store(self, key: str | None, entry: bytes) -> ExtractResult:
        """A worker's answer -> the result; the entry goes to the cache as it is.

        Results travel as cache entries, decoded the way a warm run reads them (one
        object per distinct reference, not one per use).
        """
        if key is None:  # the file could not be read this time
            return ParseFailure(entry.decode())
        self.cache.put_entry(key, entry)
        return decode_entry(entry, key) or ParseFailure("internal error: a damaged result")


class LazyResults(Mapping[SourceFile, ExtractResult]):
    """Source file -> extraction result, decoded from the cache (or parsed) on first access.

    Every file is read and hashed up front (``key``): which files changed since an
    earlier analysis is known without decoding any entry.
    """

    def __init__(self, extractor: Extractor, root: Path, sources: Iterable[SourceFile]) -> None:
        self._extractor = extractor
        self._root = root
        self._keys: dict[SourceFile, str | None] = {}
        self._done: dict[SourceFile, ExtractResult] = {}
        for source in sources:
            try:
                self._keys[source] = content_key((root / source.path).read_bytes())
            except OSError as exc:
                self._keys[source] = None
                self._done[source] = ParseFailure(f"cannot read: {exc.strerror}")

    def key(self, source: SourceFile) -> str | None:
        """The content key of the file as it was read (None: unreadable)."""
        return self._keys[source]

    def entry(self, key: str | None) -> ExtractResult | None:
        """The cache's result for the content key ``key`` (another version of a file), if it has one."""
        return self._extractor.result(key) if key is not None else None

    def load_all(self) -> None:
        """Every result now, the misses parsed together (in parallel when there are many)."""
        self.load(self._keys)

    def load(self, sources: Iterable[SourceFile]) -> None:
        """These sources' results now, the misses parsed together."""
        todo = [s for s in sources if s in self._keys and s not in self._done]
        found = self._extractor.extract_files(self._root / s.path for s in todo)
        for source in todo:
            self._done[source] = found[self._root / source.path]

    def __getitem__(self, source: SourceFile) -> ExtractResult:
        result = self._done.get(source)
        if result is None:
            if source not in self._keys:
                raise KeyError(source)
            result = self._done[source] = self._extractor.extract_files([self._root / source.path])[
                self._root / source.path
            ]
        return result

    def __iter__(self) -> Iterator[SourceFile]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _draining(pool: Executor, answers: Iterator[T]) -> Generator[T | None, None, None]:
    """None (the caller's priming read), then ``answers``; the pool shut down after the
    last one, or at once when the reader stops early."""
    try:
        yield None
        yield from answers
    finally:
        pool.shutdown(cancel_futures=True)


def extract_path(path: Path) -> tuple[str | None, bytes]:
    """One file -> the content key of the bytes read, and their result as a cache entry.

    (None, the reason) when the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror}".encode()
    return extract_data(data)


def extract_data(data: bytes) -> tuple[str, bytes]:
    """One file's bytes -> their content key, and their result as a cache entry."""
    key = content_key(data)
    return key, encode_entry(key, extract_bytes(data))


def extract_bytes(data: bytes) -> ExtractResult:
    """One file's bytes -> its extraction result (binary or undecodable: a failure)."""
    if b"\0" in data[:8192]:
        return ParseFailure("binary content in a .py file")
    try:
        # Python reads source with universal newlines: CRLF or CR line endings change nothing.
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        return ParseFailure("not UTF-8 text")
    if _bracket_depth(text) > _MAX_DEPTH and not _valid(text):
        # Python's own tokenizer refuses more than 200 nested brackets; libcst's native
        # parser overflows the C stack on such input instead of raising.
        return ParseFailure("syntax error: too many nested parentheses")
    from impactsel.extract import extract  # libcst costs ~0.2 s to import: only on a miss

    return extract(text)


_MAX_DEPTH = 150


_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def _bracket_depth(text: str) -> int:
    """An upper-bound guess of the deepest bracket nesting (strings are not skipped)."""
    if text.count("(") + text.count("[") + text.count("{") < _MAX_DEPTH:
        return 0
    # The running sum over the brackets alone, in C: a loop over every character of a
    # generated 5 MB module took longer than parsing it.
    brackets = _NOT_BRACKETS.sub("", text)
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets)), default=0))


def _valid(text: str) -> bool:
    """Whether Python itself parses ``text`` (``ast.parse`` reads; it runs nothing)."""
    import ast

    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _progress(items: Iterable[object], total: int | None = None):  # type: ignore[no-untyped-def]
    """Yield ``items``, drawing a progress line on stderr when it is a terminal and the run is long."""
    total = total if total is not None else len(items)  # type: ignore[arg-type]
    show = total >= 300 and sys.stderr.isatty()
    for done, item in enumerate(items, 1):
        if show and (done % 50 == 0 or done == total):
            sys.stderr.write(f"\rimpactsel: parsing {done}/{total} files")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        yield item
