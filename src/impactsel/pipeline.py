"""The use case: ``Settings`` -> ``Selection``, the tests a change since a revision can affect.

Reads as the pipeline: find the base and the changes (git), discover and extract
the project's modules, turn changed files into changed symbols, resolve the
symbol graph, collect the tests, walk from the changes to the tests. Every place
where the analysis cannot be sure widens the selection and records why.
"""

from __future__ import annotations

import fnmatch
import gc
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from impactsel import changes as changes_stage
from impactsel import configdiff
from impactsel.batch import Extractor, LazyResults
from impactsel.build import build
from impactsel.cache import Cache
from impactsel.collect import TEST_PREFIX, TestItem
from impactsel.config import CONFIG_FILES, Settings
from impactsel.discover import discover, module_name
from impactsel.gitdiff import Repository
from impactsel.graph import SymbolGraph
from impactsel.model import (
    MARKS_QUALNAME,
    ChangeCause,
    ChangedSymbol,
    ChangeStatus,
    ExtractResult,
    FileChange,
    FileSymbols,
    ImportTarget,
    NodeId,
    ParseFailure,
    RefKind,
    SelectedTest,
    Selection,
    SourceFile,
    SymbolId,
    SymbolKind,
    is_documentation,
)
from impactsel.resolve import Project, is_project_import, module_node, name_node, owner_guard, symbol_id


@dataclass
class Analysis:
    """Everything a run worked out, for the report, ``why`` and ``graph``."""

    selection: Selection
    graph: SymbolGraph
    reached: dict[str, str | None]
    items: list[TestItem]
    seconds: float
    project: Project
    root: Path
    notes: list[str] = field(default_factory=list)

    def affected_by(self, changed: list[str]) -> dict[str, str | None]:
        """The walk from some changed nodes only (``find_affected`` with the usual guards)."""
        return self.graph.find_affected(changed, owner_guard)


def select_tests(settings: Settings) -> Selection:
    """The tests that the changes since ``settings.since`` can affect."""
    return analyse(settings).selection


def analyse(settings: Settings) -> Analysis:
    # Hundreds of thousands of small objects (symbols, edges) and no reference cycles
    # among them: the cyclic collector would traverse them all again and again
    # (it doubled a large project's run time) and would free nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _analyse(settings)
    finally:
        if enabled:
            gc.enable()


def _analyse(settings: Settings) -> Analysis:
    started = time.perf_counter()
    assert settings.since is not None
    repo = Repository(settings.root)
    prefix = _prefix(repo, settings)
    base = repo.base(settings.since, fetch=settings.fetch)
    file_changes = _project_changes(repo.changes(base), prefix)
    if not file_changes:  # nothing to walk from: no need to read the project at all
        empty = Selection(base=base, changed=(), tests=(), total_tests=0, test_roots=settings.pytest.testpaths)
        return Analysis(empty, SymbolGraph.empty(), {}, [], time.perf_counter() - started, Project({}), settings.root)
    extractor = Extractor(Cache(settings.cache_dir), settings.jobs)
    extractor.prefetch(_python_texts(file_changes))  # parsed on another core meanwhile
    paths = [p for p in (_strip(prefix, f) for f in repo.files()) if p is not None]
    sources = discover(paths, settings.pytest)
    file_changes, dependencies, notes, run_all = _dependency_changes(file_changes, settings, sources)
    results = extractor.lazy(settings.root, sources)
    changed, more_notes, more_run_all, extra_modules, file_changes_left = _changed_symbols(
        settings, sources, results, file_changes, extractor
    )
    notes += more_notes
    run_all = run_all or more_run_all
    # The files' texts were for comparing their versions: not kept through the build.
    file_changes = [replace(c, old_text=None, new_text=None) for c in file_changes]
    file_changes_left = [replace(c, old_text=None, new_text=None) for c in file_changes_left]
    built = build(sources, results, extra_modules, settings.pytest, settings.cache_dir, settings.root)
    project, graph, items = built.project, built.graph, built.items
    seeds, more_notes, file_run_all = _seeds(
        project, changed, file_changes_left, results, built.failures, settings.ignore, tuple(settings.depends)
    )
    notes += more_notes
    run_all = run_all or file_run_all
    at_import = _dependency_seeds(dependencies, sources, results, built.mentioning, changed, seeds)
    kept = [c.id for c in changed if c.binding_kept]
    reached = graph.find_affected(seeds, owner_guard, (TEST_PREFIX + item.nodeid for item in items), kept)
    notes += _dynamic_notes(built.dynamic, reached, changed)
    _fail_to_import(reached, graph, items, project, changed, built.mentioning, at_import)
    _fail_to_collect(reached, items, project)
    selected = _selected(items, reached, graph, settings)
    selected = _declared(selected, items, project, graph, file_changes, settings)
    selection = Selection(
        base=base,
        changed=tuple(changed),
        tests=tuple(selected),
        total_tests=len(items),
        run_all=run_all,
        test_roots=_test_roots(items, settings),
        warnings=tuple(notes),
    )
    return Analysis(selection, graph, reached, items, time.perf_counter() - started, project, settings.root, notes)


# Private


def _prefix(repo: Repository, settings: Settings) -> PurePosixPath:
    try:
        rel = settings.root.resolve().relative_to(repo.root.resolve())
    except ValueError:
        return PurePosixPath(".")
    return PurePosixPath(rel.as_posix())


def _strip(prefix: PurePosixPath, path: str | PurePosixPath) -> str | None:
    posix = PurePosixPath(path)
    if str(prefix) == ".":
        return str(posix)
    if prefix not in posix.parents:
        return None
    return str(posix.relative_to(prefix))


def _project_changes(file_changes: list[FileChange], prefix: PurePosixPath) -> list[FileChange]:
    kept = []
    for change in file_changes:
        path = _strip(prefix, change.path)
        if path is None:
            continue
        old = _strip(prefix, change.old_path) if change.old_path else None
        kept.append(
            FileChange(
                PurePosixPath(path),
                change.status,
                PurePosixPath(old) if old else None,
                change.old_text,
                change.new_text,
                change.binary,
                change.unread,
            )
        )
    return kept


def _python_texts(file_changes: list[FileChange]) -> Iterator[bytes]:
    """Both versions of each changed Python file, as git read them: the parses to come."""
    for change in file_changes:
        if change.unread is None and ".py" in (change.path.suffix, (change.old_path or change.path).suffix):
            yield from (text.encode() for text in (change.old_text, change.new_text) if text is not None)


def _changed_symbols(
    settings: Settings,
    sources: tuple[SourceFile, ...],
    results: LazyResults,
    file_changes: list[FileChange],
    extractor: Extractor,
) -> tuple[list[ChangedSymbol], list[str], str | None, set[str], list[FileChange]]:
    by_path = {s.path: s for s in sources}
    packages = {str(s.path).rpartition("/")[0] for s in sources if s.path.name == "__init__.py"}
    changed: list[ChangedSymbol] = []
    notes: list[str] = []
    run_all: str | None = None
    old_modules: set[str] = set()
    top_packages = {s.module.split(".")[0] for s in sources} | {a.split(".")[0] for s in sources for a in s.aliases}

    modules = {s.module for s in sources}

    def is_project(module: str, target: ImportTarget) -> bool:
        return is_project_import(target, top_packages)

    # Both versions of every changed module are parsed together (in parallel when many
    # changed), not one at a time in the loop below.
    python = [c for c in file_changes if ".py" in (c.path.suffix, (c.old_path or c.path).suffix)]
    results.load(by_path[c.path] for c in python if c.path in by_path and c.status is not ChangeStatus.DELETED)
    readable = [c for c in python if c.status is not ChangeStatus.ADDED and c.old_text is not None and c.unread is None]
    olds = zip(map(id, readable), extractor.iter_texts([(c.old_text or "").encode() for c in readable]), strict=True)
    early: dict[int, ExtractResult] = {}  # results made before their change's turn

    def old_result_of(change: FileChange) -> ExtractResult:
        """Taken in the order of ``readable`` and dropped after comparing: never all held."""
        while id(change) not in early:
            key, result = next(olds)
            early[key] = result
        return early.pop(id(change))

    others: list[FileChange] = []
    for change in file_changes:
        path = change.path
        if _is_artifact(path):
            continue  # bytecode and tool caches left untracked: outputs, not inputs
        if any(p is not None and _matches_any(p, CONFIG_FILES + settings.run_all_on) for p in (path, change.old_path)):
            inert = _inert_config_note(change, settings)
            if inert is None:
                run_all = run_all or f"{path} changed: it configures the project or its tests"
            elif _symbols_naming(path, results):
                others.append(change)  # code reads the file itself: _seeds selects its users
            else:
                notes.append(inert)
            continue
        old_path = change.old_path or path
        if path.suffix != ".py" and old_path.suffix != ".py":
            others.append(change)
            continue
        new_source = by_path.get(path) if change.status is not ChangeStatus.DELETED else None
        old_module = module_name(old_path, packages) if change.status is not ChangeStatus.ADDED else None
        old_result: ExtractResult | None = None
        if old_module is not None and old_path.suffix == ".py":
            old_result = (
                old_result_of(change)
                if change.old_text is not None and change.unread is None
                else ParseFailure(change.unread or "not UTF-8 text")
            )
            old_modules.add(old_module)
        new_result = results.get(new_source) if new_source is not None else None
        found, reason = changes_stage.compare(
            path, old_module, old_result, new_source.module if new_source else None, new_result, is_project, modules
        )
        changed += found
        if reason:
            notes.append(reason)
    return changed, notes, run_all, old_modules, others


@dataclass(frozen=True)
class _Dependencies:
    """What changes to requirements and lock files install anew."""

    modules: frozenset[str] = frozenset()  #: top-level modules of distributions installed at other versions
    packages: frozenset[str] = frozenset()  #: the project's packages added to or removed from its install
    path: PurePosixPath | None = None  #: the first of the files that say so


def _dependency_changes(
    file_changes: list[FileChange], settings: Settings, sources: tuple[SourceFile, ...]
) -> tuple[list[FileChange], _Dependencies, list[str], str | None]:
    """Take the changes to dependency lists out of ``file_changes``: what they install anew.

    Returns the other changes, the modules and packages installed anew, the notes,
    and why every test is selected (a change that cannot be read as new pins of
    named distributions, a distribution impactsel cannot find installed...).
    """
    if not any(_matches_any(change.path, CONFIG_FILES) for change in file_changes):
        return file_changes, _Dependencies(), [], None
    from impactsel import depdiff  # packaging's parser: only when a configuration file changed

    rest: list[FileChange] = []
    distributions: set[str] = set()
    conditions: dict[str, set[str]] = {}  # distribution -> markers, when each entry that differs has one
    packages: set[str] = set()
    paths: list[PurePosixPath] = []
    notes: list[str] = []
    run_all: str | None = None
    for change in file_changes:
        path = change.path
        candidate = (
            _matches_any(path, CONFIG_FILES)
            and (path.name == "pyproject.toml" or depdiff.is_dependency_file(path))
            and change.old_path in (None, path)
            and not _matches_any(path, settings.run_all_on)
            and not configdiff.is_docs_requirements(path)
        )
        found = depdiff.diff(change, settings.pytest.addopts) if candidate else None
        if found is None:
            rest.append(change)
        elif found.reason is not None:
            run_all = run_all or found.reason
        else:
            for name in found.distributions:
                if name in found.markers and (name in conditions or name not in distributions):
                    conditions.setdefault(name, set()).update(found.markers[name])
                else:
                    conditions.pop(name, None)  # an entry without a marker: wherever it is
            distributions |= found.distributions
            packages |= found.packages
            paths.append(path)
            if not found.distributions and not found.packages:
                notes.append(f"{path} changed, but no distribution's pin: no test selected for it")
    if not paths:
        return rest, _Dependencies(), notes, run_all
    modules: frozenset[str] = frozenset()
    if distributions:
        modules, why, note = _provided(distributions, conditions, settings.root, sources)
        run_all = run_all or why
        notes += [note] if note else []
    if packages:
        notes.append(f"packages added to or removed from the install: {', '.join(sorted(packages))}")
    return rest, _Dependencies(modules, frozenset(packages), paths[0]), notes, run_all


def _provided(
    distributions: set[str], conditions: dict[str, set[str]], root: Path, sources: tuple[SourceFile, ...]
) -> tuple[frozenset[str], str | None, str | None]:
    """The top-level modules that new versions of ``distributions`` provide (and of what requires them).

    ``conditions``: the markers of the distributions listed only under some (``; sys_platform
    == "win32"``); where none holds here, the change installs nothing here.
    """
    from impactsel import installed

    environment = installed.marker_environment(root)

    def applies(marker: str) -> bool:
        return installed.applies(marker, environment)

    distributions = {d for d in distributions if d not in conditions or any(map(applies, conditions[d]))}
    if not distributions:
        return frozenset(), None, "new pins only where their markers do not hold here: no test selected for them"
    found = installed.distributions(installed.site_dirs(root))
    tops = {s.module.split(".")[0] for s in sources}
    own = {
        name
        for name, dist in found.items()
        if (dist.modules and dist.modules <= tops) or (dist.origin is not None and _within(dist.origin, root))
    }
    result = installed.affected(distributions, found, own, applies)
    if result.reason is not None:
        return frozenset(), f"a dependency changed: {result.reason}", None
    changed = ", ".join(sorted(distributions - own))
    modules = ", ".join(sorted(result.modules))
    return result.modules, None, f"new pins of {changed}: selecting the tests that import {modules or 'nothing'}"


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def _dependency_seeds(
    dependencies: _Dependencies,
    sources: tuple[SourceFile, ...],
    results: LazyResults,
    mentioning: Callable[[set[str]], list[SourceFile]],
    changed: list[ChangedSymbol],
    seeds: list[str],
) -> list[str]:
    """Seed the walk with the code that imports what is installed anew (``seeds``,
    ``changed``); return the modules whose import runs code installed anew."""
    at_import: list[str] = []
    packages = dependencies.packages
    for source in sources if packages else ():
        if any(source.module == p or source.module.startswith(p + ".") for p in packages):
            at_import.append(module_node(source.module))
    modules = dependencies.modules

    def installed_anew(module: str, level: int) -> bool:
        return level == 0 and module.split(".")[0] in modules

    for source in mentioning(set(modules)) if modules else ():
        result = results[source]
        if not isinstance(result, FileSymbols):
            continue  # a module that cannot be analysed: its users are selected already
        if any(installed_anew(t.module, t.level) for t in (*result.imports, *result.star_imports)):
            at_import.append(module_node(source.module))
        for sym in result.symbols:
            if any(installed_anew(t.module, t.level) for t in sym.targets) or any(
                r.kind is RefKind.IMPORT and r.chain and installed_anew(r.chain[0], r.level) for r in sym.refs
            ):
                node = SymbolId(f"{source.module}:{sym.qualname}")
                assert dependencies.path is not None
                seeds.append(node)
                changed.append(ChangedSymbol(node, ChangeCause.FILE, dependencies.path))
    return at_import


def _inert_config_note(change: FileChange, settings: Settings) -> str | None:
    """Why no test can observe this change to a configuration file, or None: every test.

    Files matched by the ``run-all-on`` globs the user added always select every test;
    a requirements file of the documentation is documentation only where ``ignore`` says so.
    """
    if any(p is not None and _matches_any(p, settings.run_all_on) for p in (change.path, change.old_path)):
        return None
    if configdiff.is_docs_requirements(change.path) and not all(
        p is None or _matches_any(p, settings.ignore) for p in (change.path, change.old_path)
    ):
        return None
    return configdiff.inert_change(change, settings.pytest.addopts)


def _seeds(
    project: Project,
    changed: list[ChangedSymbol],
    others: list[FileChange],
    results: Mapping[SourceFile, ExtractResult],
    failures: dict[SourceFile, str],
    ignore: tuple[str, ...],
    declared: tuple[str, ...],
) -> tuple[list[str], list[str], str | None]:
    seeds: list[str] = [c.id for c in changed]
    deleted = {c.id for c in changed if c.cause is ChangeCause.DELETED}
    for item in changed:
        # A deleted method of a class that still exists: callers through unknown
        # receivers may now reach another definition (or none).
        if item.id in deleted and owner_guard(item.id) not in deleted:
            seeds.append(name_node(item.id.rpartition(":")[2].rpartition(".")[2]))
    notes: list[str] = []
    run_all = None
    for change in others:
        named = _symbols_naming(change.path, results)
        if named:
            seeds.extend(named)
            changed.extend(ChangedSymbol(SymbolId(s), ChangeCause.FILE, change.path) for s in named)
            notes.append(f"{change.path} changed: selecting the tests of the code that names it")
        elif _matches_any(change.path, declared):
            notes.append(f"{change.path} changed: selecting what [tool.impactsel] depends names for it")
        elif _matches_any(change.path, ignore):
            notes.append(f"{change.path} changed: documentation that no code names, no test selected for it")
        else:
            run_all = run_all or f"{change.path} changed and no code names it: every test is selected"
    if seeds or others:
        for source, message in failures.items():
            if not any(c.path == source.path for c in changed):
                seeds.append(module_node(source.module))
                notes.append(f"{source.path} cannot be analysed ({message}): its users are selected")
    return seeds, notes, run_all


def _dynamic_notes(
    dynamic: dict[SourceFile, tuple[str, ...]], reached: dict[str, str | None], changed: list[ChangedSymbol]
) -> list[str]:
    """Say where code that the change reaches does what a static reading cannot follow.

    That is code the walk went through, or code whose computed imports may load a
    changed module (one of its own package).
    """
    modules = {node.partition(":")[0] for node in reached if not node.startswith(("test:", "name:"))}
    packages = {c.id.split(".")[0].partition(":")[0] for c in changed}
    notes = []
    for source in sorted(dynamic, key=lambda s: s.path):
        if source.module in modules or source.module.split(".")[0] in packages:
            for reason in dynamic[source]:
                notes.append(f"{source.path}: {reason}: its users are selected more widely")
    return notes


def _symbols_naming(path: PurePosixPath, results: Mapping[SourceFile, ExtractResult]) -> list[str]:
    """Symbols whose string literals name ``path``: its file name, or a directory above it."""
    names = {path.name, str(path)}
    dirs = {p for p in path.parent.parts}
    found = []
    for source, result in results.items():
        if not isinstance(result, FileSymbols):
            continue
        for sym in result.symbols:
            for ref in sym.refs:
                if ref.kind is not RefKind.STRING:
                    continue
                text = ref.chain[0]
                tail = text.rstrip("/").rpartition("/")[2]
                if text in names or tail == path.name or text.endswith("/" + str(path)) or tail in dirs:
                    found.append(f"{source.module}:{sym.qualname}")
                    break
    return found


def _selected(
    items: list[TestItem], reached: dict[str, str | None], graph: SymbolGraph, settings: Settings
) -> list[SelectedTest]:
    selected = []
    for item in items:
        node = TEST_PREFIX + item.nodeid
        if node in reached:
            selected.append(SelectedTest(item.nodeid, graph.chain(reached, node)[:-1]))
    for nodeid in settings.always_run:
        selected.append(SelectedTest(NodeId(nodeid), ("always-run",)))
    unique = {s.nodeid: s for s in selected}
    return sorted(unique.values(), key=lambda s: s.nodeid)


def _fail_to_import(
    reached: dict[str, str | None],
    graph: SymbolGraph,
    items: list[TestItem],
    project: Project,
    changed: list[ChangedSymbol],
    mentioning: Callable[[set[str]], list[SourceFile]],
    at_import: Sequence[str] = (),
) -> None:
    """A test module that needs a deleted name at import time fails as a whole.

    When a deleted symbol reaches a class, a module-level name or an import of a
    test module (a base class, ``from m import gone``), every test in that module is
    affected, not only the ones that use the class: the module no longer imports.
    A module whose own top-level import binds a deleted name fails to import too,
    and so does every module that imports it. ``at_import``: module nodes whose
    import runs other code than before (a dependency installed at another version):
    every test module importing them, directly or not, is affected as a whole.
    A ``conftest.py`` that imports what fails takes every test of its directory.
    """
    # (A docstring or its examples gone breaks no import.)
    deleted = [c.id for c in changed if c.cause is ChangeCause.DELETED and not is_documentation(c.id)]
    if not deleted and not at_import:
        return
    gone = set(deleted)
    seeds = [*deleted, *at_import]
    for source in mentioning({d.partition(":")[2] for d in deleted if "." not in d.partition(":")[2]}):
        table = project.symbols.get(source.module, {})
        if any(
            sym.kind is SymbolKind.IMPORT and "." not in qualname and project.lookup(source.module, (qualname,)) & gone
            for qualname, sym in table.items()
        ):
            seeds.append(module_node(source.module))
    broken = graph.find_upstream(seeds)
    test_paths = {item.path for item in items}
    modules = {source.module: str(source.path) for source in project.files if source.path in test_paths}
    conftests = {s.module: str(s.path.parent) for s in project.files if s.path.name == "conftest.py"}
    needs: dict[str, str] = {}  # test module -> a symbol of it a deletion breaks
    scopes: dict[str, str] = {}  # directory of a conftest.py that no longer imports -> the symbol
    for node in broken:
        module, _, qualname = node.partition(":")
        if "." in qualname or (module not in modules and module not in conftests):
            continue
        sym = project.symbol(node)
        path = modules.get(module)
        if path is not None and path not in needs and sym is not None and sym.kind is not SymbolKind.FUNCTION:
            needs[path] = node
        where = conftests.get(module)
        if where is not None and (node == module_node(module) or (sym is not None and sym.kind is SymbolKind.IMPORT)):
            scopes.setdefault(where, node)
    for item in items:
        node = TEST_PREFIX + item.nodeid
        hit = needs.get(str(item.path)) or next(
            (n for where, n in scopes.items() if where == "." or str(item.path).startswith(where + "/")), None
        )
        if hit is None or node in reached:
            continue
        step: str | None = hit
        while step is not None and step not in reached:
            reached[step] = broken[step]
            step = broken[step]
        reached[node] = hit


def _fail_to_collect(reached: dict[str, str | None], items: list[TestItem], project: Project) -> None:
    """A test module whose marks changed (or what they name) may fail its collection.

    Marks and the other inert import-time code (``MARKS_QUALNAME``) act on nothing:
    they can only make pytest fail to import or collect the whole module, which a run
    of any one of its tests shows, as pytest collects the whole module to run one. The
    tests of such a module are all selected only when none of them is already.
    """
    for module, nodeids in collection_at_stake(reached, items, project).items():
        nodes = [TEST_PREFIX + nodeid for nodeid in nodeids]
        if not any(node in reached for node in nodes):
            for node in nodes:
                reached[node] = f"{module}:{MARKS_QUALNAME}"


def collection_at_stake(
    reached: Mapping[str, str | None], items: list[TestItem], project: Project
) -> dict[str, list[NodeId]]:
    """Test module -> its tests, for each test module whose ``MARKS_QUALNAME`` node is reached."""
    paths = {s.path: s.module for s in project.files if symbol_id(s.module, MARKS_QUALNAME) in reached}
    tests: dict[str, list[NodeId]] = defaultdict(list)
    if not paths:  # (the usual case: no test module's marks are at stake)
        return tests
    for item in items:
        module = paths.get(item.path)
        if module is not None:
            tests[module].append(item.nodeid)
    return tests


def _declared(
    selected: list[SelectedTest],
    items: list[TestItem],
    project: Project,
    graph: SymbolGraph,
    file_changes: list[FileChange],
    settings: Settings,
) -> list[SelectedTest]:
    """``[tool.impactsel] depends``: a changed file matching a glob selects the tests named
    (node ids or their prefixes: a file, a class) and the users of the modules named."""
    if not settings.depends:
        return selected
    chosen = {s.nodeid: s for s in selected}
    for change in file_changes:
        for glob, targets in settings.depends.items():
            if not _matches_any(change.path, (glob,)):
                continue
            for target in targets:
                for item in items:
                    if item.nodeid == target or item.nodeid.startswith((target + "::", target + "/")):
                        chosen.setdefault(item.nodeid, SelectedTest(item.nodeid, (f"depends: {glob}",)))
                for source in project.sources(target):
                    for test in _users_of_module(project, graph, source.module):
                        chosen.setdefault(test, SelectedTest(NodeId(test), (f"depends: {glob} -> {target}",)))
    return sorted(chosen.values(), key=lambda s: s.nodeid)


def _users_of_module(project: Project, graph: SymbolGraph, module: str) -> list[str]:
    """Tests that reach any symbol of ``module`` (as if all of it had changed)."""
    reached = graph.find_upstream([f"{module}:{q}" for q in project.symbols.get(module, {})])
    return [node[len(TEST_PREFIX) :] for node in reached if node.startswith(TEST_PREFIX)]


def _test_roots(items: list[TestItem], settings: Settings) -> tuple[str, ...]:
    if settings.test_roots:
        return settings.test_roots
    if settings.pytest.testpaths:
        return settings.pytest.testpaths
    roots = {item.path.parts[0] for item in items}
    return tuple(sorted(roots)) or (".",)


_ARTIFACT_DIRS = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".nox", ".tox"}
)


def _is_artifact(path: PurePosixPath) -> bool:
    return path.suffix in (".pyc", ".pyo") or any(part in _ARTIFACT_DIRS for part in path.parts[:-1])


def _matches_any(path: PurePosixPath, globs: tuple[str, ...]) -> bool:
    text = str(path)
    return any(fnmatch.fnmatch(text, g) or ("/" not in g and fnmatch.fnmatch(path.name, g)) for g in globs)
