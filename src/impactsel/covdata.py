"""⑥ (optional) Coverage data with per-test contexts: record it, and narrow a static selection with it.

``record``: project root + pytest arguments -> a coverage.py data file whose contexts
name the tests, and beside it a manifest (``<data file>.impactsel.json``: the root,
git's HEAD, a hash of every measured file's content). ``refine``: an ``Analysis`` +
that data file -> a ``Selection`` that is a subset of the static one.

Coverage answers only where its record is valid and complete: a function changed in
place, in a file whose content at the base is the content that was measured, whose
body ran only inside test calls. Everything else keeps the static answer. The only
module that imports coverage.py, lazily (the ``impactsel[coverage]`` extra).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from impactsel.cache import atomic_write
from impactsel.errors import ImpactselError, import_extra
from impactsel.graph import TEST_NODE_PREFIX
from impactsel.model import ChangeCause, ChangedSymbol, NodeId, Selection, SymbolKind
from impactsel.pipeline import collection_at_stake

if TYPE_CHECKING:
    from impactsel.collect import TestItem
    from impactsel.model import SourceFile
    from impactsel.pipeline import Analysis

MANIFEST_SUFFIX = ".impactsel.json"
#: History of the manifest: 1: format, root, head, contexts, files (path -> blake2b of the bytes).
MANIFEST_FORMAT = 1
_RECORD_HINT = "record it with `impactsel coverage record` (in this checkout, on the base commit)"
#: Decorators that neither cache results nor run the function elsewhere: their functions
#: run when they are called, so "this test did not run it" means what it says.
_PLAIN_DECORATORS = frozenset(
    {
        *("property", "setter", "getter", "deleter", "staticmethod", "classmethod", "abstractmethod", "overload"),
        *("override", "wraps", "contextmanager", "asynccontextmanager"),
    }
)
_PHASES = ("setup", "run", "teardown")
_BATCH_HEADER = re.compile(rb"[0-9a-f]{40,64} ([a-z]+) ([0-9]+)")


def record(root: Path, data_file: Path, pytest_args: list[str]) -> int:
    """Run the test suite under coverage.py with one context per test, and write the manifest.

    Uses pytest-cov (``--cov --cov-context=test``) when it is installed, else coverage.py's
    ``dynamic_context = test_function`` from a temporary rcfile that also carries the
    project's own ``[run]`` measurement options. The project's configuration is never edited.

    Args:
        root: the project root (pytest runs there).
        data_file: where the data goes (relative: to the current directory).
        pytest_args: more arguments for pytest.

    Returns:
        pytest's exit code. The manifest is written when pytest ran the tests (exit 0 or 1).
    """
    coverage = import_extra("coverage", "coverage", "coverage.py")
    data_file = (Path.cwd() / data_file).resolve()
    manifest = _manifest_path(data_file)
    manifest.unlink(missing_ok=True)  # a manifest never outlives the data it describes
    env = {**os.environ, "COVERAGE_FILE": str(data_file)}
    with tempfile.TemporaryDirectory(prefix="impactsel-coverage-") as tmp:
        command, style = _record_command(coverage, root, Path(tmp), pytest_args)
        code = subprocess.call(command, cwd=root, env=env)
    if code not in (0, 1):
        print(f"impactsel: pytest exited with code {code}: no coverage manifest written", file=sys.stderr)
        return code
    files = _measured_hashes(coverage, data_file, root)
    payload = {
        "format": MANIFEST_FORMAT,
        "root": str(root.resolve()),
        "head": _git_text(root, "rev-parse", "--verify", "--quiet", "HEAD"),
        "contexts": style,
        "files": files,
    }
    # Readable like the data file beside it (mkstemp would make it private).
    atomic_write(manifest, json.dumps(payload, indent=1, sort_keys=True).encode(), mode=0o644)
    print(f"impactsel: recorded coverage of {len(files)} files in {data_file}", file=sys.stderr)
    return code


def refine(analysis: Analysis, path: Path) -> Selection:
    """Narrow ``analysis.selection`` with the per-test coverage data in ``path``.

    For each function changed in place whose coverage can be trusted (see the module
    docstring), the tests that ran its body replace the static answer; every other
    changed symbol, and every test the data does not know, keeps the static answer.

    Raises:
        ImpactselError: no data, no manifest, data recorded for another root, or unreadable data.
    """
    static = analysis.selection
    manifest = _read_manifest(path, analysis.root)
    coverage = import_extra("coverage", "coverage", "coverage.py")
    data = _Data(coverage, path, analysis.root)
    if static.run_all is not None or not static.tests:
        return static
    if not data.has_test_contexts():
        return _with_note(
            static, f"{path.name} holds no per-test contexts, the static selection stands; {_RECORD_HINT}"
        )
    tests = _Contexts(analysis.items, analysis.project.files)
    blobs = _base_blobs(analysis.root, static.base, manifest.files)
    valid = {
        rel for rel, digest in manifest.files.items() if (blob := blobs[rel]) is not None and _digest(blob) == digest
    }
    kept, notes = _merge(analysis, data, tests, valid, blobs)
    drifted = set(manifest.files) - valid
    if drifted:
        kept |= _drifted_tests(data, tests, drifted)
        notes.append(
            f"{_plural(len(drifted), 'measured file')} changed between the recording "
            f"(at {(manifest.head or 'no commit')[:12]}) and the base: the tests that ran them keep the static answer"
        )
    kept |= _collection_witnesses(analysis, kept)
    selection = static
    for note in notes:
        selection = _with_note(selection, note)
    return dataclasses.replace(selection, tests=tuple(t for t in static.tests if t.nodeid in kept))


# Private


def _manifest_path(data_file: Path) -> Path:
    return data_file.with_name(data_file.name + MANIFEST_SUFFIX)


def _digest(data: bytes) -> str:
    """A file content's hash (``cache.content_key`` without impactsel's version)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _git_text(root: Path, *args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _relative(filename: str, root: Path) -> str | None:
    """A measured file's path relative to the (resolved) root, POSIX, or None outside it or not Python.

    Data recorded with ``[run] relative_files = true`` holds paths relative to the root already.
    """
    try:
        rel = (root / filename).relative_to(root)
    except ValueError:
        return None
    return rel.as_posix() if rel.suffix == ".py" and ".." not in rel.parts else None


# -- recording ------------------------------------------------------------------------------

#: The project's ``[run]`` options that decide which Python code is measured and how: kept in
#: our rcfile. Not ``plugins`` (they measure other files and need sections of their own).
_RUN_OPTIONS = ("source", "source_pkgs", "include", "omit", "concurrency", "patch")


def _record_command(coverage: ModuleType, root: Path, tmp: Path, pytest_args: list[str]) -> tuple[list[str], str]:
    if importlib.util.find_spec("pytest_cov") is not None:
        # ``--cov-report=``: no report, the data file is what we want.
        return [sys.executable, "-m", "pytest", "--cov", "--cov-context=test", "--cov-report=", *pytest_args], (
            "pytest-cov"
        )
    rcfile = tmp / "coveragerc"
    rcfile.write_text(_rcfile_text(_user_run_options(coverage, root)))
    command = [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}", "-m", "pytest", *pytest_args]
    return command, "test_function"


def _user_run_options(coverage: ModuleType, root: Path) -> dict[str, Any]:
    """The project's own coverage ``[run]`` options, read by coverage.py itself (from the root)."""
    previous = Path.cwd()
    os.chdir(root)  # coverage.py looks for .coveragerc, setup.cfg, tox.ini, pyproject.toml here
    try:
        reader = coverage.Coverage(config_file=True)
        options = {}
        for name in _RUN_OPTIONS:
            with contextlib.suppress(coverage.exceptions.ConfigError):  # an option this version lacks
                options[name] = reader.get_option(f"run:{name}")
        return options
    except coverage.exceptions.CoverageException as exc:
        raise ImpactselError(f"cannot read coverage.py's configuration: {exc}; fix it", slug="coverage") from None
    finally:
        os.chdir(previous)


def _rcfile_text(options: dict[str, Any]) -> str:
    lines = ["[run]", "dynamic_context = test_function", "parallel = false"]
    for name, value in options.items():
        if isinstance(value, list | tuple):
            if value:
                lines.append(f"{name} =" + "".join(f"\n    {v}" for v in value))
        elif isinstance(value, bool):
            lines.append(f"{name} = {str(value).lower()}")
        elif value:
            lines.append(f"{name} = {value}")
    return "\n".join(lines) + "\n"


def _measured_hashes(coverage: ModuleType, data_file: Path, root: Path) -> dict[str, str]:
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    hashes = {}
    resolved = root.resolve()
    for filename in data.measured_files():
        rel = _relative(filename, resolved)
        with contextlib.suppress(OSError):
            if rel is not None:
                hashes[rel] = _digest((resolved / rel).read_bytes())
    return dict(sorted(hashes.items()))


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Manifest:
    root: str
    head: str | None
    files: dict[str, str]  #: root-relative path -> content hash when it was measured


def _read_manifest(path: Path, root: Path) -> _Manifest:
    if not path.is_file():
        raise ImpactselError(f"no coverage data at {path}; {_RECORD_HINT}", slug="coverage")
    manifest = _manifest_path(path)
    try:
        raw = json.loads(manifest.read_bytes())
        found = _Manifest(str(raw["root"]), raw.get("head"), {str(k): str(v) for k, v in raw["files"].items()})
        if raw["format"] != MANIFEST_FORMAT:
            raise ValueError(raw["format"])
    except FileNotFoundError:
        raise ImpactselError(
            f"{path} was not recorded by impactsel (no {manifest.name} beside it), so its line numbers "
            f"cannot be checked; {_RECORD_HINT}",
            slug="coverage",
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ImpactselError(f"cannot read {manifest}; {_RECORD_HINT}", slug="coverage") from None
    if Path(found.root) != root.resolve():
        raise ImpactselError(
            f"{path} was recorded for {found.root}, not for {root.resolve()}; {_RECORD_HINT}", slug="coverage"
        )
    return found


class _Data:
    """The coverage.py data file: per root-relative file, line -> the contexts that ran it."""

    def __init__(self, coverage: ModuleType, path: Path, root: Path) -> None:
        self._data = coverage.CoverageData(basename=str(path))
        try:
            self._data.read()
            self.contexts: set[str] = set(self._data.measured_contexts())
            measured = self._data.measured_files()
        except (coverage.exceptions.CoverageException, sqlite3.Error, OSError) as exc:
            raise ImpactselError(f"cannot read coverage data {path} ({exc}); {_RECORD_HINT}", slug="coverage") from None
        resolved = root.resolve()
        self._files = {rel: f for f in measured if (rel := _relative(f, resolved)) is not None}

    def has_test_contexts(self) -> bool:
        return any(self.contexts)

    def lines(self, rel: str) -> dict[int, list[str]]:
        filename = self._files.get(rel)
        return self._data.contexts_by_lineno(filename) if filename is not None else {}


class _Contexts:
    """Context names -> node ids, for pytest-cov's ``<node id>|run`` and coverage's ``test_function``.

    ``test_function`` names a test by ``<module>.<qualname>`` of the function that ran,
    so a test method inherited from a base class is named after the base: the subclass's
    item never appears (it keeps the static answer) and the base's item gets both runs.
    """

    def __init__(self, items: Iterable[TestItem], files: Iterable[SourceFile]) -> None:
        self.nodeids = {item.nodeid for item in items}
        modules = {source.path: (source.module, *source.aliases) for source in files}
        self._by_name: dict[str, set[NodeId]] = defaultdict(set)
        for item in items:
            _, _, rest = item.nodeid.partition("::")
            for module in modules.get(item.path, ()) if rest else ():
                self._by_name[f"{module}.{rest.replace('::', '.')}"].add(item.nodeid)
        self._cache: dict[str, frozenset[NodeId] | None] = {}

    def tests(self, context: str) -> frozenset[NodeId] | None:
        """The tests whose call ran in ``context``: empty for a test that no longer exists,
        None when the context is not a test's call (import time, fixtures, unknown names)."""
        if context not in self._cache:
            self._cache[context] = self._tests(context)
        return self._cache[context]

    def recorded(self, contexts: Iterable[str]) -> set[NodeId]:
        """The tests the data knows: those with a call context of their own."""
        return {t for c in contexts for t in self.tests(c) or ()}

    def _tests(self, context: str) -> frozenset[NodeId] | None:
        if not context:
            return None
        # With a static context (``[run] context = ci``) the dynamic part follows a "|".
        candidates = [context, context.partition("|")[2]] if "|" in context else [context]
        for name in filter(None, candidates):
            nodeid, bar, phase = name.rpartition("|")
            if bar and phase in _PHASES:
                if phase != "run":
                    return None  # setup and teardown: fixtures whose values other tests may share
                name = nodeid
            if "::" in name:
                return self._nodeid(name)
            if name in self._by_name:
                return frozenset(self._by_name[name])
        return None

    def _nodeid(self, nodeid: str) -> frozenset[NodeId]:
        for candidate in (nodeid, nodeid.partition("[")[0]):  # parametrized ids
            if candidate in self.nodeids:
                return frozenset({NodeId(candidate)})
        return frozenset()


def _base_blobs(root: Path, base: str, paths: Iterable[str]) -> dict[str, bytes | None]:
    """Each path's content at ``base`` (None where it does not exist), from one git process."""
    blobs: dict[str, bytes | None] = dict.fromkeys(paths)
    asked = [p for p in blobs if "\n" not in p]  # the batch protocol is one name per line
    if not asked:
        return blobs
    request = "".join(f"{base}:./{p}\n" for p in asked).encode()
    done = subprocess.run(["git", "cat-file", "--batch"], cwd=root, input=request, capture_output=True, check=False)
    out, at = done.stdout, 0
    for rel in asked:
        end = out.find(b"\n", at)
        if end < 0:
            break
        header = _BATCH_HEADER.fullmatch(out[at:end])  # else "<name> missing"
        at = end + 1
        if header is not None:
            size = int(header[2])
            blobs[rel] = out[at : at + size] if header[1] == b"blob" else None
            at += size + 1
    return blobs


# -- merging ------------------------------------------------------------------------------


def _merge(
    analysis: Analysis, data: _Data, tests: _Contexts, valid: set[str], blobs: dict[str, bytes | None]
) -> tuple[set[NodeId], list[str]]:
    """The static tests that survive: reached by some changed symbol's answer, or unknown to the data."""
    static = {t.nodeid for t in analysis.selection.tests}
    recorded = tests.recorded(data.contexts)
    kept = static - recorded
    explained: set[NodeId] = set()
    answered = 0
    for changed in analysis.selection.changed:
        reach = _static_tests(analysis, changed.id)
        explained |= reach
        ran = _ran(analysis, data, tests, valid, blobs, changed)
        answered += ran is not None
        kept |= reach if ran is None else reach & ran
    kept |= static - explained  # always-run tests, users of unreadable files: not one symbol's
    total = len(analysis.selection.changed)
    return kept & static, [
        f"answers for {answered} of {_plural(total, 'changed symbol')}, static analysis for the rest"
    ]


def _collection_witnesses(analysis: Analysis, kept: set[NodeId]) -> set[NodeId]:
    """For a test module whose marks changed, its static tests when none of them is kept:
    one run of the module must show whether it still collects (see ``collection_at_stake``)."""
    static = {t.nodeid for t in analysis.selection.tests}
    witnesses: set[NodeId] = set()
    for nodeids in collection_at_stake(analysis.reached, analysis.items, analysis.project).values():
        if not kept.intersection(nodeids):
            witnesses |= static.intersection(nodeids)
    return witnesses


def _static_tests(analysis: Analysis, symbol: str) -> set[NodeId]:
    prefix = TEST_NODE_PREFIX
    return {NodeId(n[len(prefix) :]) for n in analysis.affected_by([symbol]) if n.startswith(prefix)}


def _ran(
    analysis: Analysis,
    data: _Data,
    tests: _Contexts,
    valid: set[str],
    blobs: dict[str, bytes | None],
    changed: ChangedSymbol,
) -> set[NodeId] | None:
    """The tests whose calls ran the changed function's body at the base; None: coverage cannot tell."""
    rel = changed.path.as_posix()
    module, _, qualname = changed.id.partition(":")
    current = analysis.project.symbols.get(module, {}).get(qualname)
    if changed.cause is not ChangeCause.MODIFIED or current is None or current.kind is not SymbolKind.FUNCTION:
        return None  # added, deleted, module-level code, names, imports, classes (their bodies run on import)
    if rel not in valid:
        return None  # not measured, or changed between the recording and the base
    body = _body_lines(blobs[rel], qualname)
    if body is None:
        return None
    contexts = {c for line, names in data.lines(rel).items() if line in body for c in names}
    ran: set[NodeId] = set()
    for context in contexts:
        found = tests.tests(context)
        if found is None:
            return None  # its body ran outside a test's call: who depends on that cannot be told
        ran |= found
    # Never ran: a test may still run it where coverage did not look (a subprocess).
    return ran if contexts else None


def _body_lines(source: bytes | None, qualname: str) -> set[int] | None:
    """The lines of a function's body at the base: not its decorators, signature and defaults
    (they run at import). None when it is not a plain function there."""
    try:
        tree = ast.parse(source or b"")
    except (SyntaxError, ValueError):
        return None
    found = [node for name, node in _definitions(tree.body, "") if name == qualname]
    functions = [n for n in found if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if not found or len(functions) != len(found):
        return None
    if any(_decorator_name(d) not in _PLAIN_DECORATORS for f in functions for d in f.decorator_list):
        return None  # a cache or a registry: not running it in one test says nothing about the next
    return {line for f in functions for line in range(f.body[0].lineno, (f.end_lineno or f.lineno) + 1)}


def _definitions(nodes: Iterable[ast.AST], prefix: str) -> Iterator[tuple[str, ast.AST]]:
    """Functions and classes by qualname, through classes and compound statements, not functions."""
    for node in nodes:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield prefix + node.name, node
            if isinstance(node, ast.ClassDef):
                yield from _definitions(node.body, f"{prefix}{node.name}.")
        elif not isinstance(node, ast.expr):
            yield from _definitions(ast.iter_child_nodes(node), prefix)


def _decorator_name(node: ast.expr) -> str:
    node = node.func if isinstance(node, ast.Call) else node
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _drifted_tests(data: _Data, tests: _Contexts, drifted: set[str]) -> set[NodeId]:
    """Tests that ran code which changed between the recording and the base: what they run now is unknown."""
    found: set[NodeId] = set()
    for rel in drifted:
        for names in data.lines(rel).values():
            for context in names:
                found |= tests.tests(context) or set()
    return found


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _with_note(selection: Selection, note: str) -> Selection:
    print(f"impactsel: coverage: {note}", file=sys.stderr)
    return dataclasses.replace(selection, warnings=(*selection.warnings, f"coverage: {note}"))
