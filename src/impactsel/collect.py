"""⑦ Test collection, statically: test modules -> test items and what each one runs.

Follows pytest's own rules (``python_files``, ``python_classes``,
``python_functions``, ``testpaths``; ``unittest.TestCase`` subclasses; test
methods inherited from base classes) and its fixture rules (by parameter name
through the class, the module, the ``conftest.py`` chain and plugins; fixtures
requesting fixtures; ``autouse``; ``usefixtures``). Each item becomes a graph node
``test:<node id>`` with edges to everything that runs when pytest runs it.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from impactsel.config import PytestSettings
from impactsel.discover import is_doctest_file
from impactsel.model import (
    DOCTEST,
    IMPORT_QUALNAME,
    MARKS_QUALNAME,
    FileSymbols,
    NodeId,
    Role,
    SourceFile,
    Symbol,
    SymbolKind,
)
from impactsel.resolve import IMPLICIT, Edge, EdgeKind, Project, is_project_import, module_node, symbol_id

TEST_PREFIX = "test:"
#: one node per test module for what all of its tests run (kept out of every item's edges)
SHARED_PREFIX = "tests-of:"

_SETUP_NAMES = (
    "setup_method",
    "teardown_method",
    "setup_class",
    "teardown_class",
    "setup",
    "teardown",
    "setUp",
    "tearDown",
    "setUpClass",
    "tearDownClass",
    "asyncSetUp",
    "asyncTearDown",
)
#: Hooks that pytest calls only for the items below the conftest.py defining them.
_PER_ITEM_HOOKS = ("pytest_runtest_", "pytest_pyfunc_call", "pytest_fixture_", "pytest_itemcollected")
_MODULE_SETUP = (
    "setup_module",
    "teardown_module",
    "setUpModule",
    "tearDownModule",
    "setup_function",
    "teardown_function",
)


@dataclass(frozen=True, slots=True)
class TestItem:
    nodeid: NodeId
    path: PurePosixPath
    deps: tuple[tuple[str, EdgeKind], ...]


def test_node(nodeid: str) -> str:
    return TEST_PREFIX + nodeid


@dataclass
class Collection:
    """The test items, and the edges of the per-module nodes they share."""

    items: list[TestItem]
    shared: list[Edge]

    def edges(self) -> Iterator[Edge]:
        yield from self.shared
        yield from test_edges(self.items)


def collect(project: Project, pytest: PytestSettings) -> Collection:
    """Every test item of the project, with the symbols it depends on directly."""
    items: list[TestItem] = []
    shared: list[Edge] = []
    for part in collect_modules(project, pytest, test_modules(project, pytest)):
        items.extend(part.items)
        shared.extend(part.shared)
    return Collection(items, shared)


def test_modules(project: Project, pytest: PytestSettings) -> list[SourceFile]:
    """The modules that may hold test items, in the order of their items: the test
    modules, and with ``--doctest-modules`` every module pytest collects doctests from."""
    return sorted(
        (s for s in project.files if s.role is Role.TEST or is_doctest_file(s.path, pytest)), key=lambda s: s.path
    )


def collect_modules(
    project: Project, pytest: PytestSettings, sources: list[SourceFile], plugins: list[str] | None = None
) -> Iterator[Collection]:
    """The items (and shared edges) of each of ``sources``, test modules.

    ``plugins``: the ``pytest_plugins`` modules named anywhere, when already known
    (finding them reads every test module).
    """
    fixtures = _FixtureIndex(project, pytest, plugins)
    for source in sources:
        result = project.result(source)
        if not isinstance(result, FileSymbols):
            # Unreadable module: one item for the whole file, tied to its module node.
            item = TestItem(NodeId(str(source.path)), source.path, ((module_node(source.module), EdgeKind.TEST),))
            yield Collection([item], [])
            continue
        doctests = result.doctests if is_doctest_file(source.path, pytest) else ()
        if source.role is not Role.TEST and not doctests:
            yield Collection([], [])
            continue
        tests = _ModuleTests(project, pytest, fixtures, source, result)
        items = list(tests.items()) if source.role is Role.TEST else []
        if doctests:
            items.append(tests.doctest_item(doctests))
        yield Collection(items, [Edge(tests.shared_node, used, kind) for used, kind in tests.shared.items()])


def plugin_names(project: Project, pytest: PytestSettings) -> list[str]:
    """``-p`` plugins and the modules that ``pytest_plugins`` names, in test modules and conftests."""
    plugins: list[str] = list(pytest.plugins)
    for source in project.files:
        if source.role in (Role.CONFTEST, Role.TEST):
            plugins.extend(_pytest_plugins(project, source))
    return plugins


def test_edges(items: list[TestItem]) -> Iterator[Edge]:
    for item in items:
        for used, kind in item.deps:
            yield Edge(test_node(item.nodeid), used, kind)


# Private


class _FixtureIndex:
    """Fixture definitions visible from a directory: conftest chain and plugins."""

    def __init__(self, project: Project, pytest: PytestSettings, plugins: list[str] | None = None) -> None:
        self.project = project
        self.conftests: dict[PurePosixPath, SourceFile] = {}
        for source in project.files:
            if source.role is Role.CONFTEST:
                self.conftests[source.path.parent] = source
        self.plugins = plugins if plugins is not None else plugin_names(project, pytest)
        self._defined: dict[str, list[tuple[str, str, bool]]] = {}
        self.session_hooks = self.session_wide()

    def defined_in(self, module: str) -> list[tuple[str, str, bool]]:
        """(fixture name, symbol, autouse) of the fixtures a module defines or imports.

        Memoised: a conftest.py or plugin is a scope of every test module below it.
        """
        found = self._defined.get(module)
        if found is None:
            found = self._defined[module] = list(self._definitions(module))
        return found

    def _definitions(self, module: str) -> Iterator[tuple[str, str, bool]]:
        for qualname, sym in self.project.symbols.get(module, {}).items():
            if "." in qualname:
                continue
            if sym.fixture is not None:
                yield sym.fixture.name, symbol_id(module, qualname), sym.fixture.autouse
            elif sym.kind is SymbolKind.IMPORT:
                # An imported fixture: pytest finds it among the module's attributes.
                for target in self.project.lookup(module, (qualname,)):
                    target_sym = self.project.symbol(target)
                    if target_sym is not None and target_sym.fixture is not None:
                        fixture = target_sym.fixture
                        yield fixture.name, target, fixture.autouse
                        yield fixture.name, symbol_id(module, qualname), False

    def session_wide(self) -> list[str]:
        """Hooks that act on every test wherever they are defined.

        A conftest's ``pytest_collection_modifyitems`` or ``pytest_configure`` sees
        the whole session even in a nested directory; only the per-item hooks
        (``pytest_runtest_*``, ...) are limited to the directory below it. A plugin
        named by ``pytest_plugins`` or ``-p`` applies everywhere.
        """
        found = []
        for source in self.conftests.values():
            for qualname in self.project.symbols.get(source.module, {}):
                if qualname.startswith("pytest_") and not qualname.startswith(_PER_ITEM_HOOKS):
                    found.append(symbol_id(source.module, qualname))
        for module in self.plugin_modules():
            found.append(module_node(module))
            found.extend(symbol_id(module, q) for q in self.project.symbols.get(module, {}) if q.startswith("pytest_"))
        return found

    def chain(self, directory: PurePosixPath) -> list[SourceFile]:
        """conftest.py files that apply to a test in ``directory``, nearest first."""
        found = []
        for parent in (directory, *directory.parents):
            if parent in self.conftests:
                found.append(self.conftests[parent])
        return found

    def plugin_modules(self) -> list[str]:
        modules = []
        for name in self.plugins:
            for source in self.project.sources(name):
                modules.append(source.module)
        return modules


class _ModuleTests:
    def __init__(
        self, project: Project, pytest: PytestSettings, fixtures: _FixtureIndex, source: SourceFile, result: FileSymbols
    ) -> None:
        self.project = project
        self.pytest = pytest
        self.fixtures = fixtures
        self.source = source
        self.module = source.module
        self.table = {s.qualname: s for s in result.symbols}
        conftests = fixtures.chain(source.path.parent)
        # Fixture scopes from the nearest to the farthest: the module, its conftest
        # chain, plugins (``_visible`` picks the nearest definition of a name).
        self.scopes = [self.module, *(c.module for c in conftests), *fixtures.plugin_modules()]
        self.conftests = conftests
        self.session_wide = fixtures.session_hooks
        self.module_definitions = self._module_definitions()
        self.shared_node = SHARED_PREFIX + str(source.path)
        self.module_requested: list[str] = []
        self.shared = self._shared_deps()

    def _shared_deps(self) -> dict[str, EdgeKind]:
        """What every test of the module runs, behind one node (``tests-of:<path>``)."""
        deps: dict[str, EdgeKind] = {}
        # The test module must import: what its definitions run at import (decorators,
        # parametrize arguments, defaults), its module-level names and imports. (Test
        # modules only: a source module's import-time code reaches its users through
        # the symbols they use.) A deleted name a module needs: see the pipeline. Its
        # marks (MARKS_QUALNAME) can only fail its collection: see the pipeline too.
        deps[symbol_id(self.module, IMPORT_QUALNAME)] = EdgeKind.TEST
        deps[IMPLICIT] = EdgeKind.NAME  # repr(), ==, iteration on whatever objects it holds
        for qualname, sym in self.table.items():
            if "." in qualname or qualname in (DOCTEST, MARKS_QUALNAME):
                continue
            # An import from another distribution or the standard library works or not
            # whatever the change (the environment's business, as in source modules):
            # the tests that use the name depend on it, not the whole module.
            if sym.kind is SymbolKind.NAME or (sym.kind is SymbolKind.IMPORT and self._imports_project_code(sym)):
                deps.setdefault(symbol_id(self.module, qualname), EdgeKind.TEST)
        for name in (*_MODULE_SETUP, "pytestmark"):
            sym = self.table.get(name)
            if sym is not None:
                deps[symbol_id(self.module, name)] = EdgeKind.TEST
                self.module_requested.extend(sym.usefixtures)
        for conftest in self.conftests:
            deps[module_node(conftest.module)] = EdgeKind.TEST
            for qualname in self.project.symbols.get(conftest.module, {}):
                if qualname.startswith("pytest_") and "." not in qualname:
                    deps[symbol_id(conftest.module, qualname)] = EdgeKind.TEST
        for hook in self.session_wide:
            deps.setdefault(hook, EdgeKind.TEST)
        return deps

    def _imports_project_code(self, sym: Symbol) -> bool:
        top = self.project.top_packages
        return not sym.targets or any(is_project_import(t, top) for t in sym.targets)

    def items(self) -> Iterator[TestItem]:
        for qualname, sym in self.table.items():
            if "." in qualname or sym.kind is not SymbolKind.FUNCTION or sym.fixture is not None:
                continue
            if _matches(qualname, self.pytest.python_functions):
                yield self._item((qualname,), symbol_id(self.module, qualname), sym, ())
        for qualname, sym in self.table.items():
            if "." not in qualname and sym.kind is SymbolKind.CLASS:
                yield from self._class_items(qualname, (qualname,))

    def doctest_item(self, doctests: tuple[str, ...]) -> TestItem:
        """The module's doctests, as one item: the file's path, which runs them all.

        (pytest's own ids for them depend on what a decorator returns; a guessed id
        that does not exist would make pytest run nothing.) They run the module's
        top-level code, the code of their examples and whatever it prints the repr of.
        """
        deps: dict[str, EdgeKind] = {symbol_id(self.module, q): EdgeKind.TEST for q in doctests}
        deps[module_node(self.module)] = EdgeKind.TEST
        deps[self.shared_node] = EdgeKind.TEST
        requested = ["doctest_namespace", *self.pytest.usefixtures, *self.module_requested]
        for fixture_id in self._fixtures(requested, ()):
            deps.setdefault(fixture_id, EdgeKind.FIXTURE)
        return TestItem(NodeId(str(self.source.path)), self.source.path, tuple(deps.items()))

    def _class_items(self, qualname: str, path: tuple[str, ...]) -> Iterator[TestItem]:
        class_id = symbol_id(self.module, qualname)
        unittest = self.project.is_unittest(class_id)
        if not unittest and not _matches(qualname.rpartition(".")[2], self.pytest.python_classes):
            return
        if not unittest and f"{qualname}.__init__" in self.table:
            return  # pytest does not collect test classes with an __init__
        ancestors, _, _ = self.project.class_hierarchy(class_id)
        classes = [class_id, *sorted(ancestors)]
        seen: set[str] = set()
        for cls in classes:
            module, _, cls_qual = cls.partition(":")
            for member_qual, member in self.project.symbols.get(module, {}).items():
                owner, _, name = member_qual.rpartition(".")
                if owner != cls_qual or name in seen or member.kind is not SymbolKind.FUNCTION:
                    continue
                pattern_ok = name.startswith("test") if unittest else _matches(name, self.pytest.python_functions)
                if pattern_ok and member.fixture is None:
                    seen.add(name)
                    yield self._item((*path, name), symbol_id(module, member_qual), member, tuple(classes))
        if not unittest:
            for member_qual, member in self.table.items():
                if member.kind is SymbolKind.CLASS and member_qual.rpartition(".")[0] == qualname:
                    yield from self._class_items(member_qual, (*path, member_qual.rpartition(".")[2]))

    def _item(self, path: tuple[str, ...], func_id: str, func: Symbol, classes: tuple[str, ...]) -> TestItem:
        deps: dict[str, EdgeKind] = {func_id: EdgeKind.TEST}
        requested = list(func.params) + list(func.usefixtures) + list(self.pytest.usefixtures)
        for cls in classes:
            deps[cls] = EdgeKind.TEST
            module, _, cls_qual = cls.partition(":")
            cls_sym = self.project.symbol(cls)
            if cls_sym is not None:
                requested.extend(cls_sym.usefixtures)
            for name in _SETUP_NAMES:
                if f"{cls_qual}.{name}" in self.project.symbols.get(module, {}):
                    deps[f"{cls}.{name}"] = EdgeKind.TEST
        deps[self.shared_node] = EdgeKind.TEST
        requested.extend(self.module_requested)
        for fixture_id in self._fixtures(requested, classes):
            deps.setdefault(fixture_id, EdgeKind.FIXTURE)
        nodeid = NodeId("::".join((str(self.source.path), *path)))
        return TestItem(nodeid, self.source.path, tuple(deps.items()))

    def _fixtures(self, requested: list[str], classes: tuple[str, ...]) -> set[str]:
        """Fixture symbols reachable from the requested names, autouse ones included.

        A name resolves as pytest resolves it: to the nearest definition (the class,
        the module, the conftest chain from the nearest, plugins); a farther one is
        used too only when the nearer one requests its own name (``def db(db)``).
        """
        definitions = self._definitions(classes)
        found: set[str] = set()
        todo = list(requested)
        todo.extend(name for name, ids in definitions.items() if any(autouse for _, autouse, _ in ids))
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for fixture_id in self._visible(definitions.get(name, []), name):
                found.add(fixture_id)
                sym = self.project.symbol(fixture_id)
                if sym is not None:
                    todo.extend(p for p in sym.params if p != name)
                    todo.extend(sym.usefixtures)
        return found

    def _visible(self, ids: list[tuple[str, bool, int]], name: str) -> list[str]:
        """The definitions of ``name`` a request sees: the nearest level, and the ones it extends."""
        visible: list[str] = []
        for level in sorted({lv for _, _, lv in ids}):
            here = [fixture_id for fixture_id, _, lv in ids if lv == level]
            visible.extend(here)
            extends = any(name in (sym.params if (sym := self.project.symbol(f)) else ()) for f in here)
            if not extends:
                break
        return visible

    def _definitions(self, classes: tuple[str, ...]) -> dict[str, list[tuple[str, bool, int]]]:
        """name -> (fixture symbol, autouse, level): level 0 is the class, then the module, conftests, plugins."""
        definitions: dict[str, list[tuple[str, bool, int]]] = defaultdict(list)
        for cls in classes:
            module, _, cls_qual = cls.partition(":")
            for qualname, sym in self.project.symbols.get(module, {}).items():
                if qualname.rpartition(".")[0] == cls_qual and sym.fixture is not None:
                    definitions[sym.fixture.name].append((symbol_id(module, qualname), sym.fixture.autouse, 0))
        for name, ids in self.module_definitions.items():
            definitions[name].extend(ids)
        return definitions

    def _module_definitions(self) -> dict[str, list[tuple[str, bool, int]]]:
        definitions: dict[str, list[tuple[str, bool, int]]] = defaultdict(list)
        for level, module in enumerate(self.scopes, 1):
            for name, fixture_id, autouse in self.fixtures.defined_in(module):
                definitions[name].append((fixture_id, autouse, level))
        return definitions


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            if fnmatch.fnmatch(name, pattern):
                return True
        elif name.startswith(pattern):
            return True
    return False


def _pytest_plugins(project: Project, source: SourceFile) -> list[str]:
    result = project.result(source)
    if not isinstance(result, FileSymbols):
        return []
    for sym in result.symbols:
        if sym.qualname == "pytest_plugins":
            return [r.chain[0] for r in sym.refs if r.kind.value == "string"]
    return []
