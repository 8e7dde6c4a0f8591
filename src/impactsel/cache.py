"""The extraction cache: file content -> ``ExtractResult``, on disk, keyed by content hash.

A file's extraction depends on its bytes only, so an entry serves every commit
and branch where the file has that content. Entries are JSON (never pickle: a
cache restored in CI from an untrusted run must not be able to run code), written
to a temporary file and renamed into place so that a killed run never leaves a
torn entry, and checked on load (key, format version, checksum): anything that
does not match is treated as a miss and rewritten.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from impactsel import __version__
from impactsel.model import (
    ExtractResult,
    FileSymbols,
    Fixture,
    ImportTarget,
    ParseFailure,
    Ref,
    RefKind,
    Symbol,
    SymbolKind,
    symbol_fields,
)

logger = logging.getLogger(__name__)

#: Bump when extraction output changes meaning: old entries are then ignored.
SCHEMA = 28
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by impactsel.\n"


def content_key(data: bytes) -> str:
    """The cache key of one file's bytes (with the extractor's version mixed in)."""
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(f"\0{code_version('extract.py', 'model.py', 'cache.py')}\0{SCHEMA}".encode())
    return digest.hexdigest()


@functools.cache
def code_version(*modules: str) -> str:
    """impactsel's version and a digest of the code of ``modules`` (all of it when none
    is named): an install of other code under the same version number (from a branch)
    reads no entry that code made."""
    digest = hashlib.blake2b(digest_size=8)
    package = Path(__file__).parent
    for path in sorted(package / m for m in modules) if modules else sorted(package.glob("*.py")):
        with contextlib.suppress(OSError):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{digest.hexdigest()}"


class Cache:
    """A directory of extraction results; ``None`` as the directory disables it."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0
        self._prepared = False

    def get(self, key: str) -> ExtractResult | None:
        if self.directory is None:
            return None
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        result = decode_entry(raw, key)
        if result is None:
            logger.warning("impactsel cache: discarding a damaged entry %s", path.name)
            self.misses += 1
            return None
        self.hits += 1
        return result

    def has(self, key: str) -> bool:
        """Whether an entry is there (it may still turn out damaged when read)."""
        return self.directory is not None and self._path(key).is_file()

    def put(self, key: str, result: ExtractResult) -> None:
        self.put_entry(key, encode_entry(key, result))

    def put_entry(self, key: str, entry: bytes) -> None:
        """Store an entry made by ``encode_entry``."""
        if self.directory is None:
            return
        try:
            self._prepare()
            path = self._path(key)
            path.parent.mkdir(exist_ok=True)
            atomic_write(path, entry)
        except OSError as exc:  # a read-only checkout: run without the cache
            logger.warning("impactsel cache: cannot write to %s (%s)", self.directory, exc.strerror)
            self.directory = None

    # Private

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / f"v{SCHEMA}" / key[:2] / f"{key[2:]}.json"

    def _prepare(self) -> None:
        if self._prepared:
            return
        assert self.directory is not None
        (self.directory / f"v{SCHEMA}").mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "# Created by impactsel.\n*\n"), ("CACHEDIR.TAG", _TAG)):
            marker = self.directory / name
            if not marker.exists():
                atomic_write(marker, text.encode())
        self._prepared = True


def atomic_write(path: Path, data: bytes | Sequence[memoryview], mode: int | None = None) -> None:
    """Write ``data`` (bytes, or parts written one after the other) to a temporary file
    beside ``path`` and rename it into place.

    A reader sees the old content or the new one, never a torn file, whatever kills
    the writer. ``mode`` sets the permissions (mkstemp makes the file private).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in [data] if isinstance(data, bytes) else data:
                handle.write(part)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- JSON encoding: compact lists, checked on the way back --------------------


def encode_entry(key: str, result: ExtractResult) -> bytes:
    """A cache entry: the result as compact JSON, with its key, schema and a checksum."""
    payload = _result_to_json(result)
    body = json.dumps(payload, separators=(",", ":"))
    checksum = hashlib.blake2b(body.encode(), digest_size=8).hexdigest()
    return json.dumps({"key": key, "schema": SCHEMA, "sum": checksum, "body": body}).encode()


def decode_entry(raw: bytes, key: str) -> ExtractResult | None:
    """The result in an entry made by ``encode_entry`` for ``key``; None if it is not one."""
    try:
        entry = json.loads(raw)
        if entry.get("key") != key or entry.get("schema") != SCHEMA:
            return None
        body = entry["body"]
        if hashlib.blake2b(body.encode(), digest_size=8).hexdigest() != entry["sum"]:
            return None
        return _result_from_json(json.loads(body))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, OverflowError):
        return None


def _result_to_json(result: ExtractResult) -> Any:
    if isinstance(result, ParseFailure):
        return ["failure", result.message, result.line]
    return [
        "symbols",
        [_symbol_to_json(s) for s in result.symbols],
        [_target(t) for t in result.star_imports],
        list(result.all_names) if result.all_names is not None else None,
        [_target(t) for t in result.imports],
        list(result.dynamic),
        result.interface,
        list(result.doctests),
    ]


def _result_from_json(data: Any) -> ExtractResult:
    if data[0] == "failure":
        return ParseFailure(str(data[1]), int(data[2]))
    _, symbols, stars, all_names, imports, dynamic, interface, doctests = data
    return FileSymbols(
        symbols=tuple(_symbol_from_json(s) for s in symbols),
        star_imports=tuple(ImportTarget(*t) for t in stars),
        all_names=tuple(all_names) if all_names is not None else None,
        imports=tuple(ImportTarget(*t) for t in imports),
        dynamic=tuple(dynamic),
        interface=str(interface),
        doctests=tuple(doctests),
    )


def _target(target: ImportTarget) -> list[Any]:
    return [target.module, target.name, target.level]


def _symbol_to_json(sym: Symbol) -> list[Any]:
    qualname, kind, *rest = symbol_fields(sym, sym.refs)
    return [qualname, kind, sym.line, sym.fingerprint, *rest]


_REF_KINDS = {k.value: k for k in RefKind}
_SYMBOL_KINDS = {k.value: k for k in SymbolKind}


#: One object per distinct reference: the same names are used all over a project. Keyed by
#: the entry's plain values, which hash in C: a reference seen before makes no object at all.
_REFS: dict[tuple[str, tuple[str, ...], int], Ref] = {}


def _ref(kind: str, chain: list[str], level: int) -> Ref:
    key = (kind, tuple(chain), level)
    ref = _REFS.get(key)
    if ref is None:
        ref = _REFS[key] = Ref(_REF_KINDS[kind], key[1], int(level))
    return ref


def _symbol_from_json(data: list[Any]) -> Symbol:
    (
        qualname,
        kind,
        line,
        fingerprint,
        refs,
        targets,
        params,
        bases,
        fixture,
        usefixtures,
        decorators,
        is_static,
        meta,
    ) = data
    if not isinstance(qualname, str) or not isinstance(fingerprint, int):
        raise TypeError("a damaged entry")
    return Symbol(
        qualname=qualname,
        kind=_SYMBOL_KINDS[kind],
        line=int(line),
        fingerprint=fingerprint,
        refs=tuple([_ref(k, c, lv) for k, c, lv in refs]),
        targets=tuple([ImportTarget(*t) for t in targets]),
        params=tuple(params),
        bases=tuple([tuple(b) for b in bases]),
        fixture=Fixture(fixture[0], bool(fixture[1])) if fixture else None,
        usefixtures=tuple(usefixtures),
        decorators=tuple([tuple(d) for d in decorators]),
        is_static=bool(is_static),
        metaclass=tuple(meta),
    )
