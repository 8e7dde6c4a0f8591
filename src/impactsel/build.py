"""The graph of a run: built in full, or patched from the last full build's snapshot.

Both ways give the same graph (same edges, same order, hence the same kind where
two edges join the same nodes): the snapshot's edges of unchanged code, the
changed modules' edges made anew. ``snapshot`` says when a snapshot may be used.
"""

from __future__ import annotations

import json
import logging
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from impactsel.batch import LazyResults
from impactsel.collect import Collection, TestItem, collect_modules, plugin_names, test_edges, test_modules
from impactsel.config import PytestSettings
from impactsel.graph import PackedEdges, SymbolGraph
from impactsel.model import (
    FileSymbols,
    ParseFailure,
    Role,
    SourceFile,
    added_functions,
    interface_digest,
    mentioned_names,
)
from impactsel.resolve import ANY_MODULE, Edge, Project, ProjectIndex, symbol_id
from impactsel.snapshot import ModuleFacts, Snapshot, SnapshotStore, layout_key

logger = logging.getLogger(__name__)


@dataclass
class Built:
    project: Project
    graph: SymbolGraph
    items: list[TestItem]
    failures: dict[SourceFile, str]  #: modules that could not be analysed, and why
    dynamic: dict[SourceFile, tuple[str, ...]]  #: modules whose analysis is not sure, and why
    #: the modules whose code may mention one of some names (more is fine, never fewer)
    mentioning: Callable[[set[str]], list[SourceFile]]


def build(
    sources: list[SourceFile],
    results: LazyResults,
    known_modules: set[str],
    pytest: PytestSettings,
    cache_dir: Path | None,
    root: Path,
) -> Built:
    """The project, its graph and its test items, from the snapshot when it still holds."""
    key = layout_key(sources, known_modules, pytest)
    store = SnapshotStore(cache_dir, root) if cache_dir is not None else None
    snapshot = store.load(key) if store is not None else None
    if snapshot is not None:
        patched = _patch(snapshot, sources, results, known_modules, pytest)
        if patched is not None:
            return patched
    else:
        logger.debug("graph: no snapshot of this project's layout: built in full")
    built, saved = _full(sources, results, known_modules, pytest, key)
    if store is not None:
        store.save(saved)
    return built


# Private

#: Above this many changed modules, resolving them one by one costs more than a full build.
_MAX_PATCHED = 200


def _patch(
    snapshot: Snapshot,
    sources: list[SourceFile],
    results: LazyResults,
    known_modules: set[str],
    pytest: PytestSettings,
) -> Built | None:
    if len(snapshot.modules) != len(sources):
        logger.debug("graph: the snapshot does not match the project: built in full")
        return None
    limit = min(_MAX_PATCHED, len(sources) // 2 + 1)
    dirty = [i for i, s in enumerate(sources) if results.key(s) != snapshot.modules[i].key]
    if len(dirty) > limit:
        logger.debug("graph: %d modules changed since the snapshot: built in full", len(dirty))
        return None
    added: set[str] = set()  # names of the plain functions and methods added to changed modules
    grown: set[str] = set()  # the modules they were added to
    classes: set[str] = set()  # the classes that gained a method
    lineage: set[str] = set()  # those classes and their subclasses
    for i in dirty:
        if interface_digest(results[sources[i]]) == snapshot.modules[i].interface:
            continue
        before = results.entry(snapshot.modules[i].key)
        found = added_functions(before, results[sources[i]]) if before is not None else None
        if found is None:
            # Something other modules read changed: resolve them all again.
            logger.debug("graph: the interface of %s changed: built in full", sources[i].path)
            return None
        names, owners = found
        added |= names
        if names:
            grown.add(sources[i].module)
        classes |= {symbol_id(sources[i].module, owner) for owner in owners}
    index = ProjectIndex(
        failed=frozenset(s.module for s, m in zip(sources, snapshot.modules, strict=True) if m.failure is not None),
        subclasses=snapshot.subclasses,
    )
    project = Project(results, known_modules, index)
    if added:
        # A new name changes what a lookup of that name finds, and what reading all
        # members of its module (or class) finds: resolve the modules that mention it,
        # and those that read all members of that module or class, again. A new method
        # is inherited: the modules of the subclasses collect it (a test method, a
        # setup method) and resolve their classes again too.
        readers = {
            i
            for i, facts in enumerate(snapshot.modules)
            if facts.reads_modules & grown or facts.reads_classes & classes
        }
        lineage = classes | project.descendants(classes)
        heirs = _modules_of(lineage - classes, sources)
        dirty = sorted({*dirty, *snapshot.modules_mentioning(added), *readers, *heirs})
        if len(dirty) > limit:
            logger.debug("graph: %d modules to resolve again: built in full", len(dirty))
            return None
    dropped = set(dirty)
    overlay: list[tuple[int, Edge]] = []
    used_names: set[str] = set()
    escaped: set[str] = set()
    old_used: set[str] = set()
    old_escaped: set[str] = set()
    for i, facts in enumerate(snapshot.modules):
        old_used |= facts.used_names
        old_escaped |= facts.escaped
        if i not in dropped:
            used_names |= facts.used_names
            escaped |= facts.escaped
    reaches = [facts.reaches for facts in snapshot.modules]
    for i in dirty:
        part = project.module_edges(sources[i])
        overlay += [(i, e) for e in part.edges]
        used_names |= part.used_names
        escaped |= part.escaped
        reaches[i] = part.reaches
    # (An escaped class depends on every method of its own and of its ancestors'.)
    if used_names != old_used or escaped != old_escaped or added & used_names or escaped & lineage:
        dropped.add(snapshot.global_producer)
        overlay += [(snapshot.global_producer, e) for e in project.global_edges(used_names, escaped)]
    tests = test_modules(project, pytest)
    if len(tests) != len(snapshot.tests):
        logger.debug("graph: the snapshot does not match the project: built in full")
        return None
    position = {s: i for i, s in enumerate(sources)}
    dirty_set = set(dirty)
    items: list[TestItem] = []
    for j, source in enumerate(tests):
        if position[source] not in dirty_set:
            items += [TestItem(nodeid, source.path, ()) for nodeid in snapshot.tests[j]]  # type: ignore[arg-type]
            continue
        [part] = collect_modules(project, pytest, [source], snapshot.plugins)
        items += part.items
        dropped |= {snapshot.shared_producer(j), snapshot.items_producer(j)}
        overlay += [(snapshot.shared_producer(j), e) for e in part.shared]
        overlay += [(snapshot.items_producer(j), e) for e in test_edges(part.items)]
    failures = {s: m.failure for s, m in zip(sources, snapshot.modules, strict=True) if m.failure is not None}
    dynamic = {s: m.dynamic for s, m in zip(sources, snapshot.modules, strict=True) if m.dynamic}
    for i in dirty:
        source = sources[i]
        failures.pop(source, None)
        dynamic.pop(source, None)
        _note(source, results[source], failures, dynamic)
    unimportable = unimportable_modules(sources, reaches, snapshot.plugins, pytest)
    graph = SymbolGraph(snapshot.edges, dropped, overlay, unimportable)
    logger.debug(
        "graph: patched from the snapshot, %d modules resolved again%s",
        len(dirty),
        f" (added: {', '.join(sorted(added))})" if added else "",
    )

    def mentioning(names: set[str]) -> list[SourceFile]:
        return [sources[i] for i in sorted(snapshot.modules_mentioning(names) | dropped) if i < len(sources)]

    return Built(project, graph, items, failures, dynamic, mentioning)


def _full(
    sources: list[SourceFile],
    results: LazyResults,
    known_modules: set[str],
    pytest: PytestSettings,
    key: str,
) -> tuple[Built, Snapshot]:
    results.load_all()
    project = Project(dict(results.items()), known_modules)
    facts: list[ModuleFacts] = []
    failures: dict[SourceFile, str] = {}
    dynamic: dict[SourceFile, tuple[str, ...]] = {}
    plugins = plugin_names(project, pytest)
    parts: list[Collection] = []
    mentions: dict[str, array[int]] = {}

    def produce() -> Iterator[tuple[int, Edge]]:
        """Every edge with its producer, in producer order, made as they are packed."""
        used_names: set[str] = set()
        escaped: set[str] = set()
        for i, source in enumerate(sources):
            result = results[source]
            part = project.module_edges(source)
            for edge in part.edges:
                yield i, edge
            used_names |= part.used_names
            escaped |= part.escaped
            _note(source, result, failures, dynamic)
            facts.append(
                ModuleFacts(
                    key=results.key(source),
                    interface=interface_digest(result),
                    failure=failures.get(source),
                    dynamic=dynamic.get(source, ()),
                    used_names=frozenset(part.used_names),
                    escaped=frozenset(part.escaped),
                    reads_modules=part.reads_modules,
                    reads_classes=part.reads_classes,
                    reaches=part.reaches,
                )
            )
            for name in mentioned_names(result):
                found = mentions.get(name)
                if found is None:
                    found = mentions[name] = array("I")  # 4 bytes a module, not a list of ints
                found.append(i)
        project.forget_answers()  # the largest memos are the modules' lookups: done with
        producer = len(sources)
        for edge in project.global_edges(used_names, escaped):
            yield producer, edge
        parts.extend(collect_modules(project, pytest, test_modules(project, pytest), plugins))
        for j, collection in enumerate(parts):
            for edge in collection.shared:
                yield producer + 1 + j, edge
        for j, collection in enumerate(parts):
            for edge in test_edges(collection.items):
                yield producer + 1 + len(parts) + j, edge
        project.forget_answers()

    edges = PackedEdges.pack(produce())
    items = [item for part in parts for item in part.items]
    snapshot = Snapshot(
        key=key,
        modules=facts,
        plugins=plugins,
        subclasses=project.subclass_map(),
        tests=[[item.nodeid for item in part.items] for part in parts],
        edges=edges,
        mentions=json.dumps(mentions, separators=(",", ":"), default=array.tolist).encode(),
    )
    unimportable = unimportable_modules(sources, [f.reaches for f in facts], plugins, pytest)
    graph = SymbolGraph(edges, set(), (), unimportable)

    def mentioning(names: set[str]) -> list[SourceFile]:
        return [sources[i] for i in sorted({i for name in names for i in mentions.get(name, ())})]

    return Built(project, graph, items, failures, dynamic, mentioning), snapshot


def unimportable_modules(
    sources: Sequence[SourceFile], reaches: Sequence[frozenset[str]], plugins: Iterable[str], pytest: PytestSettings
) -> frozenset[str]:
    """The modules that no test can import, so whose code no test runs.

    pytest imports the test modules, the ``conftest.py`` files and the plugins;
    they import what their code names, and so on. (A test's items lead to nothing
    else: its fixtures are its module's, a ``conftest.py`` file's or a plugin's.) Code in any other module
    (examples, scripts, documentation) cannot be what a test's ``obj.method()``
    calls. Empty when that is not sure: pytest imports modules itself
    (``--doctest-modules``, a plugin the project installs), or some module that
    can be imported runs code by path or could not be read.
    """
    if pytest.imports_every_module:
        return frozenset()
    by_name: dict[str, int] = {}
    for i, source in enumerate(sources):
        for name in (source.module, *source.aliases):
            by_name.setdefault(name, i)
    roots = [i for i, s in enumerate(sources) if s.role is not Role.SOURCE or s.module.rpartition(".")[2] in _SITE]
    roots += [by_name[p] for p in plugins if p in by_name]
    live: set[int] = set()
    while roots:
        i = roots.pop()
        if i in live:
            continue
        live.add(i)
        if ANY_MODULE in reaches[i]:
            return frozenset()
        module = sources[i].module
        parents = [module[:k] for k, c in enumerate(module) if c == "."]
        roots += [by_name[m] for m in (*reaches[i], *parents) if m in by_name]
    return frozenset(s.module for i, s in enumerate(sources) if i not in live)


#: Modules that Python imports at startup when they are on the path.
_SITE = ("sitecustomize", "usercustomize")


def _modules_of(class_ids: set[str], sources: list[SourceFile]) -> set[int]:
    modules = {c.partition(":")[0] for c in class_ids}
    return {i for i, source in enumerate(sources) if source.module in modules}


def _note(
    source: SourceFile,
    result: object,
    failures: dict[SourceFile, str],
    dynamic: dict[SourceFile, tuple[str, ...]],
) -> None:
    if isinstance(result, ParseFailure):
        failures[source] = result.message
    elif isinstance(result, FileSymbols) and result.dynamic:
        dynamic[source] = result.dynamic
