"""The graph snapshot: the edges of the last full analysis, kept to be patched, not rebuilt.

Resolving every module's names costs seconds on a large project, and nearly all
of it is the same from one run to the next. A full analysis therefore saves its
edges, each tagged with the code that produced it (a module; the project-wide
name-fallback and escape edges; a test module's items), beside the extraction
cache. A later run reuses that snapshot when the project's layout is the same
(the same files as the same modules, the same pytest settings) and every file
that changed since kept its *interface*: everything another module's resolution
can read of it, which is all but the bodies of its functions and its top-level
code that binds no name (their own code, except what they write to globals), line
numbers and fingerprints; or only added plain functions to it, top-level or methods
of a class it had. Then only the changed modules (and, for a new function, the
modules that mention its name or read every member of its module or class, and for
a new method the modules of the class's subclasses) are resolved again, their old
edges are dropped and the new ones take their place; the symbol tables of other
modules are read only when a lookup needs them. Anything else (a name removed, a new class, a changed
base class, decorator, import or module-level value, a file added or removed)
makes a full analysis, which saves a new snapshot.

The file is binary: a JSON header (node names, per-module facts), the edges as
arrays of integers, sorted by the node they point at, and an index of which module
mentions which name (decoded only when a function was added); a checksum covers it all.
It holds data only, nothing is ever evaluated: a damaged or foreign file is
ignored and replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impactsel.cache import SCHEMA, atomic_write, code_version
from impactsel.config import PytestSettings
from impactsel.graph import KIND_CODES, PackedEdges
from impactsel.model import SourceFile

logger = logging.getLogger(__name__)

_MAGIC = b"impactsel graph snapshot 2\n"
_LENGTHS = struct.Struct("<6Q")
_DIGEST = 16


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    """What a snapshot keeps of one module."""

    key: str | None  #: content key of the file (None: it could not be read)
    interface: str  #: ``interface_digest`` of its extraction result
    failure: str | None  #: why it could not be analysed (None: it was)
    dynamic: tuple[str, ...]  #: reasons its analysis is not sure
    used_names: frozenset[str]  #: name-fallback nodes its edges lead to
    escaped: frozenset[str]  #: project classes it hands to foreign code
    reads_modules: frozenset[str]  #: the modules its code reads every member of (``vars(mod)``)
    reads_classes: frozenset[str]  #: the classes its code reads every member of (``vars(cls)``)
    reaches: frozenset[str]  #: the other modules its code names


@dataclass(frozen=True, slots=True)
class Snapshot:
    key: str  #: ``layout_key`` of the project it describes
    modules: list[ModuleFacts]  #: in the order of the sources
    plugins: list[str]  #: ``-p`` and ``pytest_plugins`` plugin names
    subclasses: dict[str, set[str]]  #: class id -> the classes naming it as a base
    tests: list[list[str]]  #: per test module (in collection order), its item node ids
    edges: PackedEdges
    #: name -> the modules (numbers) whose code mentions it, as JSON (decoded when asked)
    mentions: bytes = b"{}"

    def modules_mentioning(self, names: set[str]) -> set[int]:
        index: dict[str, list[int]] = json.loads(self.mentions)
        return {i for name in names for i in index.get(name, ())}

    # Producer numbers: modules 0..n-1, then the project-wide edges, then each test
    # module's shared node, then each test module's items (the order of a full build).

    @property
    def global_producer(self) -> int:
        return len(self.modules)

    def shared_producer(self, test_index: int) -> int:
        return len(self.modules) + 1 + test_index

    def items_producer(self, test_index: int) -> int:
        return len(self.modules) + 1 + len(self.tests) + test_index


def layout_key(sources: Sequence[SourceFile], known_modules: Iterable[str], pytest: PytestSettings) -> str:
    """What the whole graph depends on besides the files' interfaces.

    ``known_modules``: modules the change removed (they exist at the base only);
    the old names of files that are still there add nothing.
    """
    present = {name for s in sources for name in (s.module, *s.aliases)}
    layout = [
        code_version(),
        SCHEMA,
        sys.byteorder,
        [[str(s.path), s.module, list(s.aliases), s.role.value] for s in sources],
        sorted(set(known_modules) - present),
        repr(pytest),
    ]
    return hashlib.blake2b(json.dumps(layout).encode(), digest_size=16).hexdigest()


class SnapshotStore:
    """One snapshot per project root, in the cache directory."""

    def __init__(self, cache_dir: Path, root: Path) -> None:
        name = hashlib.blake2b(str(root.resolve()).encode(), digest_size=8).hexdigest()
        self.path = cache_dir / f"v{SCHEMA}" / f"graph-{name}.bin"

    def load(self, key: str) -> Snapshot | None:
        try:
            raw = self.path.read_bytes()
        except OSError:
            return None
        snapshot = _decode(raw, key)
        if snapshot is None:
            logger.debug("impactsel: no usable graph snapshot in %s", self.path)
        return snapshot

    def save(self, snapshot: Snapshot) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, _encode(snapshot))
        except OSError as exc:  # a read-only cache: the next run analyses everything again
            logger.warning("impactsel cache: cannot write the graph snapshot (%s)", exc.strerror)


# -- encoding -------------------------------------------------------------------


def _encode(snapshot: Snapshot) -> list[memoryview]:
    edges = snapshot.edges
    header = {
        "schema": SCHEMA,
        "version": code_version(),
        "key": snapshot.key,
        "nodes": edges.nodes,
        "modules": [
            [
                m.key,
                m.interface,
                m.failure,
                list(m.dynamic),
                sorted(m.used_names),
                sorted(m.escaped),
                sorted(m.reads_modules),
                sorted(m.reads_classes),
                sorted(m.reaches),
            ]
            for m in snapshot.modules
        ],
        "plugins": snapshot.plugins,
        "subclasses": {base: sorted(subs) for base, subs in sorted(snapshot.subclasses.items())},
        "tests": snapshot.tests,
    }
    blocks = [
        memoryview(json.dumps(header, separators=(",", ":")).encode()),
        _array_view("I", edges.offsets),
        _array_view("I", edges.users),
        _array_view("B", edges.kinds),
        _array_view("I", edges.producers),
        memoryview(snapshot.mentions),
    ]
    # The parts are written one after the other, never joined: a large project's
    # edges are tens of megabytes, and each copy of them would count.
    parts = [memoryview(_MAGIC + _LENGTHS.pack(*(b.nbytes for b in blocks))), *blocks]
    digest = hashlib.blake2b(digest_size=_DIGEST)
    for part in parts:
        digest.update(part)
    return [*parts, memoryview(digest.digest())]


def _array_view(typecode: str, values: Sequence[int]) -> memoryview:
    return memoryview(values if isinstance(values, array) else array(typecode, values)).cast("B")


_VALID_KINDS = bytes(range(len(KIND_CODES)))


def _decode(raw: bytes, key: str) -> Snapshot | None:
    if array("I").itemsize != 4 or not raw.startswith(_MAGIC) or len(raw) < len(_MAGIC) + _LENGTHS.size + _DIGEST:
        return None
    view = memoryview(raw)  # slices of a view share the file's bytes: no copies
    body, digest = view[:-_DIGEST], view[-_DIGEST:]
    if hashlib.blake2b(body, digest_size=_DIGEST).digest() != digest:
        return None
    try:
        lengths = _LENGTHS.unpack_from(body, len(_MAGIC))
        at = len(_MAGIC) + _LENGTHS.size
        blocks = []
        for length in lengths:
            blocks.append(body[at : at + length])
            at += length
        if at != len(body):
            return None
        header: dict[str, Any] = json.loads(bytes(blocks[0]))
        if header["schema"] != SCHEMA or header["version"] != code_version() or header["key"] != key:
            return None
        offsets, users, kinds, producers = (array(t) for t in "IIBI")
        for arr, block in zip((offsets, users, kinds, producers), blocks[1:5], strict=True):
            arr.frombytes(block)
        nodes = header["nodes"]
        if len(offsets) != len(nodes) + 1 or not len(users) == len(kinds) == len(producers) == offsets[-1]:
            return None
        if users and max(users) >= len(nodes):
            return None
        if bytes(blocks[3]).translate(None, _VALID_KINDS):  # a byte that is no kind code (in C)
            return None
        modules = [
            ModuleFacts(k, str(i), f, tuple(d), frozenset(u), frozenset(e), frozenset(r), frozenset(c), frozenset(m))
            for k, i, f, d, u, e, r, c, m in header["modules"]
        ]
        return Snapshot(
            key=key,
            modules=modules,
            plugins=[str(p) for p in header["plugins"]],
            subclasses={base: set(subs) for base, subs in header["subclasses"].items()},
            tests=[[str(n) for n in ids] for ids in header["tests"]],
            edges=PackedEdges(nodes, offsets, users, kinds, producers),
            mentions=bytes(blocks[5]),
        )
    except (ValueError, KeyError, TypeError, IndexError, EOFError, struct.error):
        return None
