"""③ Name resolution: every file's ``FileSymbols`` -> dependency edges between symbols.

Input: the project's modules (``SourceFile`` + extraction result). Output: edges
``(user, used, kind)`` between symbol ids. Names are resolved the way Python
would at run time, as far as a static reading can tell: module globals, imports
of every form (relative, re-exports, star imports honouring ``__all__``),
attribute chains through modules and classes, ``self``/``super()`` through the
class hierarchy. Where a name cannot be pinned down the user depends on more,
never on nothing: on every definition of that attribute name (a ``name:`` node),
on the whole module, or on a symbol id that does not exist (yet), so that a
deleted definition still reaches the code that uses it.
"""

from __future__ import annotations

import builtins
import enum
import sys
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

from impactsel.model import (
    DOCTEST,
    LOADS_CODE,
    MODULE_QUALNAME,
    OWN_CODE,
    ExtractResult,
    FileSymbols,
    ImportTarget,
    ParseFailure,
    Ref,
    RefKind,
    SourceFile,
    Symbol,
    SymbolId,
    SymbolKind,
    is_documentation,
)

_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__path__", "__builtins__"}


_BUILTIN_CLASSES = frozenset(
    {"list", "dict", "set", "tuple", "str", "bytes", "bytearray", "frozenset", "int", "float", "complex", "open"}
)


#: Foreign base classes that call no method of a subclass except dunders (and enum's
#: ``_sunder_`` hooks): typing helpers, abstract base classes, enums, exceptions.
_INERT_BASES = frozenset(
    {
        "object", "Generic", "Protocol", "ABC", "NamedTuple", "TypedDict", "Enum", "IntEnum", "StrEnum",
        "Flag", "IntFlag", "ReprEnum", "Exception", "BaseException",
    }
)  # fmt: skip


#: The abstract base classes of ``collections.abc`` (and their ``typing`` aliases): the
#: methods of a subclass that foreign code may call without naming them. Those are the
#: abstract methods, the methods the protocol's own mixins call on the object (the
#: ``clear`` mixin of a mutable mapping calls ``popitem``, the ``remove`` of a mutable
#: sequence calls ``index``), and ``keys``, which ``dict(m)`` and ``**m`` call. A
#: subclass's other methods (``clear``, ``pop``, ``update``...) are called by code that
#: names them, which a name reaches; a foreign function handed the object is an escape.
_SEQUENCE = frozenset({"__getitem__", "__len__", "__contains__", "__iter__", "__reversed__"})
_SET = frozenset(
    {
        "__le__", "__lt__", "__eq__", "__ne__", "__gt__", "__ge__", "__and__", "__rand__", "__or__", "__ror__",
        "__sub__", "__rsub__", "__xor__", "__rxor__", "__contains__", "__iter__", "__len__",
        "_from_iterable", "_hash",
    }
)  # fmt: skip
_MAPPING = frozenset({"__getitem__", "__iter__", "__len__", "__contains__", "keys", "items", "__eq__"})
_VIEW = frozenset({"__len__", "__iter__", "__contains__", "_from_iterable", "_mapping"})
_PROTOCOLS: dict[str, frozenset[str]] = {
    "Container": frozenset({"__contains__"}),
    "Hashable": frozenset({"__hash__"}),
    "Iterable": frozenset({"__iter__"}),
    "Iterator": frozenset({"__iter__", "__next__"}),
    "Reversible": frozenset({"__iter__", "__reversed__"}),
    "Generator": frozenset({"__iter__", "__next__", "send", "throw", "close"}),
    "Sized": frozenset({"__len__"}),
    "Callable": frozenset({"__call__"}),
    "Collection": frozenset({"__len__", "__iter__", "__contains__"}),
    "Sequence": _SEQUENCE,
    "MutableSequence": _SEQUENCE
    | {"__setitem__", "__delitem__", "__iadd__", "insert", "append", "extend", "pop", "index"},
    "Set": _SET,
    "AbstractSet": _SET,
    "MutableSet": _SET | {"add", "discard", "pop", "__ior__", "__iand__", "__ixor__", "__isub__"},
    "Mapping": _MAPPING,
    "MutableMapping": _MAPPING | {"__setitem__", "__delitem__", "popitem"},
    "MappingView": _VIEW,
    "KeysView": _VIEW | _SET,
    "ItemsView": _VIEW | _SET,
    "ValuesView": _VIEW,
    "Awaitable": frozenset({"__await__"}),
    "Coroutine": frozenset({"__await__", "send", "throw", "close"}),
    "AsyncIterable": frozenset({"__aiter__"}),
    "AsyncIterator": frozenset({"__aiter__", "__anext__"}),
    "AsyncGenerator": frozenset({"__aiter__", "__anext__", "asend", "athrow", "aclose"}),
    "Buffer": frozenset({"__buffer__", "__release_buffer__"}),
}
_PROTOCOL_MODULES = frozenset({"collections.abc", "typing", "typing_extensions"})


#: Class decorators and metaclasses that add no attribute an instance could look up in
#: code of the project (a decorator the project writes may return another class).
_INERT_CLASS_DECORATORS = frozenset({"dataclass", "total_ordering", "unique", "final", "runtime_checkable"})
_INERT_METACLASSES = frozenset({"ABCMeta", "EnumMeta", "EnumType", "type"})
#: A class hierarchy larger than this is not proven closed (``Project.self_scope``).
_SCOPE_LIMIT = 64


#: Attributes of a function or class that are data about its definition, not its code.
_METADATA = frozenset({"__doc__", "__name__", "__qualname__", "__module__"})


def _is_inert_base(base: tuple[str, ...]) -> bool:
    last = base[-1]
    return last in _INERT_BASES or last.endswith(("Error", "Exception", "Warning"))


def _is_foreign_class(constructor: tuple[str, ...]) -> bool:
    """A constructor from outside the project that surely makes an object of its own class."""
    last = constructor[-1]
    if len(constructor) == 1 and last in _BUILTIN_CLASSES:
        return True
    return last[:1].isupper() and not last.isupper()  # CapWords: a class by convention


class EdgeKind(str, enum.Enum):
    USES = "uses"  # a name, call or attribute in the code
    IMPORT = "import"  # an import statement, or a module importing another
    MODULE = "module"  # a symbol runs after its module's top-level code
    INHERIT = "inherit"  # class bodies, base classes, methods called on instances
    NAME = "name"  # fallback: any definition of that attribute name
    FIXTURE = "fixture"  # a test requests a fixture
    TEST = "test"  # a test item runs this code
    WRITE = "write"  # a global rebound by a function
    CHECK = "check"  # a class compared with (``isinstance``, ``except``): its objects are not made here
    #: needs what an undecorated function is bound to (``f.__doc__ = ...``, ``f.__name__``),
    #: which only a change to that function itself can change
    BINDING = "binding"


@dataclass(frozen=True, slots=True)
class Edge:
    user: str
    used: str
    kind: EdgeKind


@dataclass(frozen=True, slots=True)
class ModuleEdges:
    """What one module contributes to the graph."""

    edges: list[Edge]
    used_names: set[str]  #: attribute names of the name-fallback nodes its edges lead to
    escaped: set[str]  #: project classes it hands to foreign code
    #: the modules it depends on every member of (``vars(mod)``): a new name there is read too
    reads_modules: frozenset[str] = frozenset()
    #: the classes it depends on every member of (``vars(cls)``, ``getattr(self, name)``), ancestors too
    reads_classes: frozenset[str] = frozenset()
    #: the other modules its code names (so imports, when it runs); ``ANY_MODULE`` when unknown
    reaches: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProjectIndex:
    """What a lazily read project needs to know about every module up front."""

    failed: frozenset[str]  #: modules that could not be analysed
    subclasses: dict[str, set[str]]  #: class id -> the classes naming it as a base


class _Tables(Mapping[str, dict[str, Symbol]]):
    """Module -> its symbol table, built from the file's result when first asked for."""

    def __init__(self, files: Mapping[SourceFile, ExtractResult], owner: dict[str, SourceFile]) -> None:
        self._files = files
        self._owner = owner
        self._built: dict[str, dict[str, Symbol]] = {}

    def __getitem__(self, module: str) -> dict[str, Symbol]:
        table = self._built.get(module)
        if table is None:
            result = self._files[self._owner[module]]
            table = {} if isinstance(result, ParseFailure) else {s.qualname: s for s in result.symbols}
            self._built[module] = table
        return table

    def __iter__(self) -> Iterator[str]:
        return iter(self._owner)

    def __len__(self) -> int:
        return len(self._owner)


def symbol_id(module: str, qualname: str) -> SymbolId:
    return SymbolId(sys.intern(f"{module}:{qualname}"))  # one string per id, however often it is made


def module_node(module: str) -> SymbolId:
    return symbol_id(module, MODULE_QUALNAME)


def name_node(attr: str) -> str:
    return f"name:{attr}"


#: In ``ModuleEdges.reaches``: the module may import any module (it loads code by path,
#: or could not be read).
ANY_MODULE = "*"


def module_of(node: str) -> str | None:
    """The module a symbol node belongs to; None for name, test and per-test-module nodes."""
    module, colon, _ = node.partition(":")
    if not colon or module in ("name", "test", "tests-of"):
        return None
    return module


def _modules_named(edges: Iterable[Edge], module: str) -> frozenset[str]:
    """The modules other than ``module`` that ``edges`` lead to or come from."""
    found: set[str] = set()
    seen: set[str] = set()
    for edge in edges:
        for node in (edge.user, edge.used):
            if node not in seen:
                seen.add(node)
                other = module_of(node)
                if other is not None:
                    found.add(other)
    found.discard(module)
    return frozenset(found)


#: Dunders that making the class or an instance runs: whoever names the class runs them.
CONSTRUCTION_DUNDERS = frozenset(
    {"__new__", "__init__", "__post_init__", "__init_subclass__", "__set_name__", "__class_getitem__", "__prepare__"}
)
#: The name node of the dunder methods Python calls implicitly (operators, repr, iteration).
IMPLICIT = "name:<implicit dunders>"


def _is_variable(project: Project, node: str) -> bool:
    """A module-level variable (or one only ever bound inside functions): not a module, class or function."""
    if node.startswith("name:") or node.endswith(":" + MODULE_QUALNAME):
        return False
    sym = project.symbol(node)
    return sym.kind is SymbolKind.NAME if sym is not None else True


def is_project_import(target: ImportTarget, top_packages: Collection[str]) -> bool:
    """An import that binds (or may bind) code of the project: relative, or from one of
    its top-level packages (not another distribution's, nor the standard library's)."""
    return target.level > 0 or target.module.split(".")[0] in top_packages


def owner_guard(node: str) -> str:
    """What a test must reach to hold an object whose attribute ``node`` is.

    ``pkg.mod:Class.method`` -> ``pkg.mod:Class``; ``pkg.mod:func`` -> the module node.
    """
    module, _, qualname = node.partition(":")
    owner = qualname.rpartition(".")[0]
    if not module or node.startswith("name:"):
        return node
    return symbol_id(module, owner) if owner else module_node(module)


class Project:
    """Every module of the project, indexed for name lookups.

    Given an ``index`` (what a snapshot of an earlier analysis knows about every
    module), the symbol tables are built only when a lookup first needs them: a run
    that re-resolves a few modules reads no more than those modules consult.
    """

    def __init__(
        self,
        files: Mapping[SourceFile, ExtractResult],
        known_modules: Iterable[str] = (),
        index: ProjectIndex | None = None,
    ) -> None:
        self.files = files
        self._by_module: dict[str, list[SourceFile]] = defaultdict(list)
        self._is_package: dict[str, bool] = {}
        owner: dict[str, SourceFile] = {}
        for source in files:
            for name in (source.module, *source.aliases):
                self._by_module[name].append(source)
            self._is_package[source.module] = source.path.name == "__init__.py"
            owner[source.module] = source
        self.symbols: Mapping[str, dict[str, Symbol]]
        if index is None:
            self.failed: set[str] = set()
            tables: dict[str, dict[str, Symbol]] = {}
            for source, result in files.items():
                if isinstance(result, ParseFailure):
                    self.failed.add(source.module)
                    tables[source.module] = {}
                else:
                    tables[source.module] = {s.qualname: s for s in result.symbols}
            self.symbols = tables
            self._subclass_map: dict[str, set[str]] | None = None
        else:
            self.failed = set(index.failed)
            self.symbols = _Tables(files, owner)
            self._subclass_map = index.subclasses
        self._hierarchy: dict[str, tuple[set[str], set[str], bool]] = {}
        self._scopes: dict[str, tuple[frozenset[str], bool]] = {}
        self._methods: dict[str, list[str]] | None = None
        self._by_name: dict[str, list[SymbolId]] | None = None
        self._lookups: dict[tuple[str, tuple[str, ...], bool], set[str]] = {}
        self._dotted: dict[tuple[str, ...], set[str]] = {}
        #: one frozenset per distinct memoised answer: most are empty or the same few nodes
        self._answers: dict[frozenset[str], frozenset[str]] = {}
        self._resolving: set[tuple[str, ...]] = set()
        self._in_hierarchy: dict[tuple[str, str, bool], set[str]] = {}
        self._bases: dict[str, set[str]] = {}
        self.known = set(self._by_module) | set(known_modules)
        self.top_packages = {m.split(".")[0] for m in self.known}

    def forget_answers(self) -> None:
        """Drop the memoised lookups (they are made again when asked): a full build ends
        with its largest arrays, and needs the memory more than the memos."""
        self._lookups.clear()
        self._dotted.clear()
        self._in_hierarchy.clear()
        self._answers.clear()
        self._methods = self._by_name = None

    def sources(self, module: str) -> list[SourceFile]:
        return self._by_module.get(module, [])

    def result(self, source: SourceFile) -> ExtractResult:
        return self.files[source]

    def definitions_named(self, attr: str) -> list[SymbolId]:
        if self._by_name is None:
            self._by_name = defaultdict(list)
            for module, table in self.symbols.items():
                for qualname, sym in table.items():
                    if sym.kind in (SymbolKind.FUNCTION, SymbolKind.CLASS, SymbolKind.NAME):
                        self._by_name[qualname.rpartition(".")[2]].append(symbol_id(module, qualname))
        return self._by_name.get(attr, [])

    def edges(self) -> Iterator[Edge]:
        """Every edge of the project's symbol graph (name-fallback nodes included)."""
        used_names: set[str] = set()
        escaped: set[str] = set()
        for source in self.files:
            part = self.module_edges(source)
            used_names |= part.used_names
            escaped |= part.escaped
            yield from part.edges
        yield from self.global_edges(used_names, escaped)

    def module_edges(self, source: SourceFile) -> ModuleEdges:
        """The edges that one module's code makes, and what it leaves to ``global_edges``."""
        result = self.files[source]
        if isinstance(result, FileSymbols):
            maker = _ModuleEdges(self, source.module, result)
            edges = list(maker.edges())
            escaped = maker.escaped
            reads_modules = frozenset(maker.reads_modules)
            reads_classes = frozenset(maker.reads_classes)
            reaches = frozenset({ANY_MODULE}) if maker.loads_code else _modules_named(edges, source.module)
        else:
            edges, escaped, reads_modules, reads_classes = [], set(), frozenset(), frozenset()
            if source.path.name != "__init__.py" and "." in source.module:
                parent = module_node(source.module.rpartition(".")[0])
                edges.append(Edge(module_node(source.module), parent, EdgeKind.MODULE))
            reaches = frozenset({ANY_MODULE})  # what it imports cannot be known
        used_names = {e.used[5:] for e in edges if e.used.startswith("name:")}
        return ModuleEdges(edges, used_names, escaped, reads_modules, reads_classes, reaches)

    def global_edges(self, used_names: set[str], escaped: set[str]) -> list[Edge]:
        """Name-fallback nodes to every definition of their name; escaped classes to their methods."""
        edges = []
        for attr in sorted(used_names):
            for target in self.definitions_named(attr):
                edges.append(Edge(name_node(attr), target, EdgeKind.NAME))
        for cls in sorted(escaped):
            for ancestor in sorted({cls} | self.class_hierarchy(cls)[0]):
                for method in self.methods(ancestor):
                    edges.append(Edge(cls, method, EdgeKind.INHERIT))
        return edges

    def subclass_map(self) -> dict[str, set[str]]:
        """Class id -> the classes that name it as a base (what an index keeps)."""
        return self._subclasses()

    def methods(self, class_id: str) -> list[str]:
        """The methods a class defines itself."""
        if self._methods is None:
            self._methods = defaultdict(list)
            for module, table in self.symbols.items():
                for qualname, sym in table.items():
                    owner = qualname.rpartition(".")[0]
                    if owner and sym.kind is SymbolKind.FUNCTION:
                        self._methods[symbol_id(module, owner)].append(symbol_id(module, qualname))
        return self._methods.get(class_id, [])

    # -- lookups ----------------------------------------------------------------

    def _shared(self, found: set[str]) -> set[str]:
        """``found`` as a frozenset, the same object for every equal answer."""
        frozen = frozenset(found)
        return self._answers.setdefault(frozen, frozen)  # type: ignore[return-value]

    def resolve_dotted(self, parts: tuple[str, ...]) -> set[str]:
        """An absolute dotted name (``pkg.mod.Class.attr``) -> the nodes it can mean (memoised)."""
        found = self._dotted.get(parts)
        if found is None:
            if parts in self._resolving:
                return self._cut(parts)
            self._resolving.add(parts)
            try:
                found = self._dotted[parts] = self._shared(self._resolve_dotted(parts))
            finally:
                self._resolving.discard(parts)
        return found

    def _cut(self, parts: tuple[str, ...]) -> set[str]:
        """A name met again while it is being resolved (imports in a cycle, a deleted name
        re-exported back and forth): the nodes it names, whose own edges lead on."""
        for i in range(len(parts), 0, -1):
            name = ".".join(parts[:i])
            if name in self.known:
                if i == len(parts):
                    return {module_node(name)}
                rest = parts[i:]
                found = {symbol_id(name, ".".join(rest[:j])) for j in range(1, len(rest) + 1)}
                return found | {name_node(a) for a in rest[1:]}
        return set()

    def _resolve_dotted(self, parts: tuple[str, ...]) -> set[str]:
        for i in range(len(parts), 0, -1):
            name = ".".join(parts[:i])
            if name not in self.known:
                continue
            sources = self.sources(name)
            if not sources:  # a module that existed at the base only
                found = {module_node(name)}
                if i < len(parts):
                    found.add(symbol_id(name, parts[i]))
                return found
            found = set()
            for source in sources:
                if i == len(parts):
                    found.add(module_node(source.module))
                else:
                    found |= self.lookup(source.module, parts[i:], attribute=True)
            return found
        if parts and parts[0] in self.top_packages:
            return {module_node(".".join(parts))}  # a project module that does not exist (any more)
        return set()  # another distribution's, or the standard library's

    def lookup(
        self, module: str, chain: tuple[str, ...], attribute: bool = False, seen: frozenset[str] = frozenset()
    ) -> set[str]:
        """``chain[0]`` looked up in ``module``'s globals, then the attributes that follow.

        Memoised: the project does not change during a run. Callers must not change
        the set they get back.
        """
        if seen:
            return self._lookup(module, chain, attribute, seen)
        key = (module, chain, attribute)
        found = self._lookups.get(key)
        if found is None:
            found = self._lookups[key] = self._shared(self._lookup(module, chain, attribute, seen))
        return found

    def _lookup(self, module: str, chain: tuple[str, ...], attribute: bool, seen: frozenset[str]) -> set[str]:
        key = f"{module}:{'.'.join(chain)}"
        if key in seen:
            return set()
        seen = seen | {key}
        if module in self.failed:
            return {module_node(module)}
        table = self.symbols.get(module, {})
        name = chain[0]
        if name in table:
            return self._member(module, name, chain[1:], seen)
        found: set[str] = set()
        for star in self._star_imports(module):
            source = self._absolute(module, star)
            if self._exports(source, name):
                found |= self.resolve_dotted((*source.split("."), *chain)) if source else set()
        if found:
            return found
        if not attribute and name in _BUILTINS:
            return set()
        found.add(symbol_id(module, name))  # not defined (any more): deleted code still reaches its users
        if "__getattr__" in table:
            found.add(symbol_id(module, "__getattr__"))  # PEP 562: the module makes it up
        for star in self._star_imports(module):
            source = self._absolute(module, star)
            if source:
                found.add(symbol_id(source, name))
        if not attribute:
            found.add(name_node(name))  # set by globals() or a plugin: anything of that name
        if attribute and f"{module}.{name}" in self.known:
            found |= self.resolve_dotted((*module.split("."), *chain))
        return found

    def import_parts(self, module: str, target: ImportTarget) -> tuple[str, ...]:
        """An import target made absolute, as dotted parts."""
        base = self._absolute(module, target)
        parts = tuple(p for p in base.split(".") if p)
        if target.name is not None and target.name != "*":
            parts = (*parts, target.name)
        return parts

    def class_hierarchy(self, class_id: str) -> tuple[set[str], set[str], bool]:
        """(ancestors, descendants, has_foreign_base) of a class symbol id."""
        cached = self._hierarchy.get(class_id)
        if cached is None:
            ancestors, descendants, foreign = self._class_hierarchy(class_id)
            cached = self._hierarchy[class_id] = (self._shared(ancestors), self._shared(descendants), foreign)
        return cached

    def _class_hierarchy(self, class_id: str) -> tuple[set[str], set[str], bool]:
        ancestors = self._ancestors(class_id, frozenset())
        foreign = any(self._has_foreign_base(c) for c in (class_id, *ancestors))
        return ancestors, self.descendants({class_id}), foreign

    def descendants(self, class_ids: Iterable[str]) -> set[str]:
        """Every class that has one of ``class_ids`` as a base, directly or not (the
        subclass index alone: no symbol table is read)."""
        found: set[str] = set()
        todo = list(class_ids)
        while todo:
            for sub in self._subclasses().get(todo.pop(), ()):
                if sub not in found:
                    found.add(sub)
                    todo.append(sub)
        return found

    def self_scope(self, class_id: str) -> tuple[frozenset[str], bool]:
        """The classes where ``self.x`` in a method of the class may find ``x``, and whether
        that is all.

        ``self`` is an instance of the class or of a subclass, so the classes are the
        class, its subclasses and the ancestors of each (a mixin beside the class in a
        subclass's bases comes before the class's own bases). The answer is all unless a
        foreign base other than an inert one, a class decorator or metaclass of the
        project, or ``__getattr__``/``__getattribute__`` may supply attributes beyond
        the classes' own definitions, or the hierarchy is too large to tell.
        """
        cached = self._scopes.get(class_id)
        if cached is None:
            ancestors, descendants, foreign = self.class_hierarchy(class_id)
            classes = {class_id} | ancestors
            for sub in descendants:
                sub_ancestors, _, sub_foreign = self.class_hierarchy(sub)
                classes |= sub_ancestors
                classes.add(sub)
                foreign = foreign or sub_foreign
            closed = not foreign and len(classes) <= _SCOPE_LIMIT and all(map(self._closed_class, classes))
            cached = self._scopes[class_id] = (frozenset(classes), closed)
        return cached

    def _closed_class(self, class_id: str) -> bool:
        module, _, qualname = class_id.partition(":")
        table = self.symbols.get(module, {})
        sym = table.get(qualname)
        return (
            sym is not None
            and all(d[-1] in _INERT_CLASS_DECORATORS for d in sym.decorators)
            and (not sym.metaclass or sym.metaclass[-1] in _INERT_METACLASSES)
            and f"{qualname}.__getattr__" not in table
            and f"{qualname}.__getattribute__" not in table
        )

    def is_unittest(self, class_id: str) -> bool:
        """A ``unittest.TestCase`` subclass (judged by the base's name, it is foreign)."""
        ancestors, _, _ = self.class_hierarchy(class_id)
        for cls in (class_id, *ancestors):
            sym = self._symbol(cls)
            if sym is not None and any(b[-1] in ("TestCase", "IsolatedAsyncioTestCase") for b in sym.bases):
                return True
        return False

    def called_back(self, class_id: str) -> frozenset[str] | None:
        """The methods of a class that foreign code of its bases may call: those of the
        protocols when every foreign base (its own or an ancestor's) is an abstract base
        class of ``collections.abc``; None (any) when one is a framework's class."""
        ancestors, _, _ = self.class_hierarchy(class_id)
        names: set[str] = set()
        for cls in (class_id, *ancestors):
            bases = self._foreign_bases(cls)
            if bases is None:
                return None
            for base in bases:
                protocol = self._protocol(cls.partition(":")[0], base)
                if protocol is None:
                    return None
                names |= protocol
        return frozenset(names)

    def _protocol(self, module: str, base: tuple[str, ...]) -> frozenset[str] | None:
        """The methods of ``base`` if it is imported from ``collections.abc`` or ``typing``
        (by every import that binds its first name)."""
        sym = self.symbols.get(module, {}).get(base[0])
        if sym is None or sym.kind is not SymbolKind.IMPORT or not sym.targets:
            return None
        found: set[str] = set()
        for target in sym.targets:
            if target.level:
                return None
            if target.name is not None:  # from collections.abc import Mapping
                dotted = [*target.module.split("."), target.name, *base[1:]]
            elif base[0] == target.module.split(".")[0]:  # import collections.abc
                dotted = list(base)
            else:  # import collections.abc as cabc
                dotted = [*target.module.split("."), *base[1:]]
            if ".".join(dotted[:-1]) not in _PROTOCOL_MODULES or dotted[-1] not in _PROTOCOLS:
                return None
            found.add(dotted[-1])
        return _PROTOCOLS[found.pop()] if len(found) == 1 else None

    def bases_of(self, class_id: str) -> set[str]:
        cached = self._bases.get(class_id)
        if cached is None:
            cached = self._bases[class_id] = self._bases_of(class_id)
        return cached

    def _bases_of(self, class_id: str) -> set[str]:
        module, _, qualname = class_id.partition(":")
        sym = self.symbols.get(module, {}).get(qualname)
        if sym is None or sym.kind is not SymbolKind.CLASS:
            return set()
        found: set[str] = set()
        for base in sym.bases:
            for target in self._resolve_in_class_scope(module, qualname, base):
                sym = self._symbol(target)
                if sym is not None and sym.kind is SymbolKind.CLASS:
                    found.add(target)
        return found

    def module_members(self, module: str, seen: frozenset[str] = frozenset(), read: set[str] | None = None) -> set[str]:
        """Every top-level name of a module, star-imported ones included; ``read`` gets the
        modules whose names those are (a new name in any of them is a new member)."""
        if module in seen:
            return set()
        if read is not None:
            read.add(module)
        found = {symbol_id(module, q) for q in self.symbols.get(module, {}) if "." not in q and q != DOCTEST}
        for star in self._star_imports(module):
            source = self._absolute(module, star)
            for candidate in self.sources(source):
                found |= self.module_members(candidate.module, seen | {module}, read)
        return found

    def symbol(self, node: str) -> Symbol | None:
        return self._symbol(node)

    # -- private ----------------------------------------------------------------

    def _symbol(self, node: str) -> Symbol | None:
        module, _, qualname = node.partition(":")
        return self.symbols.get(module, {}).get(qualname)

    def _member(self, module: str, qualname: str, rest: tuple[str, ...], seen: frozenset[str]) -> set[str]:
        sym = self.symbols[module][qualname]
        here = symbol_id(module, qualname)
        if sym.kind is SymbolKind.IMPORT:
            found = {here}
            for target in sym.targets:
                parts = self.import_parts(module, target)
                found |= self._follow(parts, rest)
                if target.name is None and "." in target.module and qualname == target.module.split(".")[0]:
                    found |= self._follow((qualname,), rest)  # import a.b binds a
            return found
        if not rest:
            return {here}
        found = {here}
        member = f"{qualname}.{rest[0]}"
        table = self.symbols[module]
        if member in table:
            return found | self._member(module, member, rest[1:], seen)
        if sym.kind is SymbolKind.CLASS:
            hits = self.attribute_in_hierarchy(here, rest[0], include_descendants=False)
            if hits:
                return found | hits | {name_node(a) for a in rest[1:]}
        return found | {name_node(a) for a in rest}

    def _follow(self, parts: tuple[str, ...], rest: tuple[str, ...]) -> set[str]:
        return self.resolve_dotted((*parts, *rest))

    def attribute_in_hierarchy(self, class_id: str, attr: str, include_descendants: bool = True) -> set[str]:
        """Definitions of ``attr`` in the class and its bases (with ``include_descendants``:
        in every class of its ``self_scope``), memoised."""
        key = (class_id, attr, include_descendants)
        found = self._in_hierarchy.get(key)
        if found is None:
            found = self._in_hierarchy[key] = self._shared(
                self._attribute_in_hierarchy(class_id, attr, include_descendants)
            )
        return found

    def _attribute_in_hierarchy(self, class_id: str, attr: str, include_descendants: bool) -> set[str]:
        if include_descendants:
            classes: Iterable[str] = self.self_scope(class_id)[0]
        else:
            classes = {class_id} | self.class_hierarchy(class_id)[0]
        found = set()
        for cls in classes:
            module, _, qualname = cls.partition(":")
            if f"{qualname}.{attr}" in self.symbols.get(module, {}):
                found.add(f"{cls}.{attr}")
        return found

    def _ancestors(self, class_id: str, seen: frozenset[str]) -> set[str]:
        found: set[str] = set()
        for base in self.bases_of(class_id):
            if base in seen or base == class_id:
                continue
            found.add(base)
            found |= self._ancestors(base, seen | {class_id})
        return found

    def _has_foreign_base(self, class_id: str) -> bool:
        bases = self._foreign_bases(class_id)
        return bases is None or bool(bases)

    def _foreign_bases(self, class_id: str) -> list[tuple[str, ...]] | None:
        """The bases of a class that are neither inert nor classes of the project (None:
        the class is not known)."""
        module, _, qualname = class_id.partition(":")
        sym = self.symbols.get(module, {}).get(qualname)
        if sym is None:
            return None
        found = []
        for base in sym.bases:
            if _is_inert_base(base):
                continue
            # Foreign unless the base is a class of the project: an import binding that
            # leads nowhere in the project (``threading.Thread``) is foreign.
            targets = self._resolve_in_class_scope(module, qualname, base)
            if not any((s := self._symbol(t)) is not None and s.kind is SymbolKind.CLASS for t in targets):
                found.append(base)
        return found

    def _subclasses(self) -> dict[str, set[str]]:
        cached = self._subclass_map
        if cached is None:
            cached = defaultdict(set)
            for module, table in self.symbols.items():
                for qualname, sym in table.items():
                    if sym.kind is SymbolKind.CLASS and sym.bases:
                        for base in self.bases_of(symbol_id(module, qualname)):
                            cached[base].add(symbol_id(module, qualname))
            self._subclass_map = cached
        return cached

    def _resolve_in_class_scope(self, module: str, qualname: str, chain: tuple[str, ...]) -> set[str]:
        outer = qualname.rpartition(".")[0]
        if outer and f"{outer}.{chain[0]}" in self.symbols.get(module, {}):
            return self._member(module, f"{outer}.{chain[0]}", chain[1:], frozenset())
        return self.lookup(module, chain)

    def _star_imports(self, module: str) -> tuple[ImportTarget, ...]:
        for source in self.sources(module):
            result = self.files[source]
            if isinstance(result, FileSymbols):
                return result.star_imports
        return ()

    def _exports(self, module: str, name: str) -> bool:
        for source in self.sources(module):
            result = self.files[source]
            if isinstance(result, FileSymbols):
                if result.all_names is not None:
                    return name in result.all_names
                return not name.startswith("_") and (
                    any(s.qualname == name for s in result.symbols) or bool(result.star_imports)
                )
        return False

    def _absolute(self, module: str, target: ImportTarget) -> str:
        return target.absolute(module if self._is_package.get(module) else module.rpartition(".")[0])


class _ModuleEdges:
    """The edges that start in one module."""

    def __init__(self, project: Project, module: str, result: FileSymbols) -> None:
        self.project = project
        self.module = module
        self.result = result
        #: classes of the project this module hands to foreign code
        self.escaped: set[str] = set()
        #: the modules and classes it reads every member of (what a new name there changes)
        self.reads_modules: set[str] = set()
        self.reads_classes: set[str] = set()
        #: whether it runs code from a file by path (``runpy.run_path``, ``exec``): any module
        self.loads_code = False

    def edges(self) -> Iterator[Edge]:
        module, project = self.module, self.project
        here = module_node(module)
        if "." in module:
            yield Edge(here, module_node(module.rpartition(".")[0]), EdgeKind.MODULE)
        for target in self.result.imports:
            parts = project.import_parts(module, target)
            for node in project.resolve_dotted(parts):
                yield Edge(here, node.partition(":")[0] + ":" + MODULE_QUALNAME, EdgeKind.IMPORT)
        members: dict[str, list[Symbol]] = defaultdict(list)
        for sym in self.result.symbols:
            owner = sym.qualname.rpartition(".")[0]
            if owner and not is_documentation(sym.qualname):  # a class's docstring is read through __doc__ only
                members[owner].append(sym)
        for sym in self.result.symbols:
            user = symbol_id(module, sym.qualname)
            if sym.qualname not in OWN_CODE and not is_documentation(sym.qualname):
                # (A docstring's text needs no code to run; a doctest uses the module node itself.)
                yield Edge(user, here, EdgeKind.MODULE)
            out: list[Edge] = []
            checked: dict[str, EdgeKind] = {}
            for ref in sym.refs:
                if ref.kind is RefKind.ESCAPE:
                    self._escape(ref.chain)
                    continue
                for used, kind in self._resolve(sym, ref):
                    if kind is EdgeKind.WRITE:
                        out.append(Edge(used, user, kind))  # the global depends on its writer
                    elif kind is EdgeKind.CHECK:
                        checked.setdefault(used, self._binding_kind(used))
                    elif used != user:
                        out.append(Edge(user, used, kind))
            if sym.kind is SymbolKind.CLASS:
                out += self._class_edges(user, sym, members.get(sym.qualname, []))
            for decorator in sym.decorators:
                out += self._registry_edges(user, decorator)
            if checked:
                # Where the symbol also calls or holds the class, that edge's kind is kept.
                held = {e.used for e in out if e.user == user}
                held.add(user)
                out += [Edge(user, used, kind) for used, kind in checked.items() if used not in held]
            yield from out

    def _binding_kind(self, node: str) -> EdgeKind:
        """CHECK, or BINDING for an undecorated function: a decorator may call what it
        decorates, so a decorated function's binding can change with the code it reaches."""
        sym = self.project.symbol(node)
        undecorated = sym is not None and sym.kind is SymbolKind.FUNCTION and not sym.decorators
        return EdgeKind.BINDING if undecorated else EdgeKind.CHECK

    def _subclass_registry_edges(
        self, user: str, sym: Symbol, members: list[Symbol], descendants: set[str]
    ) -> Iterator[Edge]:
        """``__init_subclass__`` and metaclasses see every class made: they may file it away.

        The class-level names of the class defining ``__init_subclass__`` (or of the
        metaclass) are where such registries live: readers of them depend on every
        subclass (or every class made by the metaclass).
        """
        attributes = [m for m in members if m.kind is SymbolKind.NAME]
        if any(m.qualname.endswith(".__init_subclass__") for m in members):
            for attribute in attributes:
                for sub in sorted(descendants):
                    yield Edge(symbol_id(self.module, attribute.qualname), sub, EdgeKind.INHERIT)
        if sym.metaclass:
            made = {user} | descendants
            for meta in self.project.lookup(self.module, sym.metaclass):
                meta_sym = self.project.symbol(meta)
                if meta_sym is None or meta_sym.kind is not SymbolKind.CLASS:
                    continue
                meta_module, _, meta_qual = meta.partition(":")
                for qualname, member in self.project.symbols.get(meta_module, {}).items():
                    if member.kind is SymbolKind.NAME and qualname.rpartition(".")[0] == meta_qual:
                        for cls in sorted(made):
                            yield Edge(symbol_id(meta_module, qualname), cls, EdgeKind.INHERIT)

    def _escape(self, chain: tuple[str, ...]) -> None:
        """A project class handed to foreign code: every method it has may be called back.

        Recorded per module (``escaped``); ``Project.global_edges`` makes the edges.
        """
        split = chain.index("")
        function, handed = chain[:split], chain[split + 1 :]
        project = self.project
        if any(
            (s := project.symbol(t)) is not None and s.kind is not SymbolKind.IMPORT
            for t in project.lookup(self.module, function)
        ):
            return  # a function of the project: what it does with the object is in the graph
        self.escaped |= self._handed_classes(handed)

    def _handed_classes(self, handed: tuple[str, ...]) -> set[str]:
        """The project classes an argument can be an instance of: ``Cls``, ``Cls()``, ``x = Cls()``."""
        project = self.project
        found: set[str] = set()
        for target in project.lookup(self.module, handed):
            sym = project.symbol(target)
            if sym is None:
                continue
            if sym.kind is SymbolKind.CLASS:
                found.add(target)
            elif sym.kind is SymbolKind.NAME:
                module = target.partition(":")[0]
                for ref in sym.refs:
                    if ref.kind is RefKind.GLOBAL:
                        for value in project.lookup(module, ref.chain):
                            value_sym = project.symbol(value)
                            if value_sym is not None and value_sym.kind is SymbolKind.CLASS:
                                found.add(value)
        return found

    def _registry_edges(self, user: str, decorator: tuple[str, ...]) -> Iterator[Edge]:
        """A decorator that files what it decorates away (a registry): its readers use it.

        ``@app.route(...)`` on an object, or ``@register`` where ``register`` changes a
        module-level container: whoever reads that object or container may call the
        decorated function, without naming it.
        """
        # ``@command("x")`` calls a factory whose inner function runs at decoration
        # time: its writes count too. A plain ``@logged``'s inner function runs later.
        factory = decorator[-1] == "()"
        decorator = decorator[:-1] if factory else decorator
        if len(decorator) > 1:
            for target in self.project.lookup(self.module, decorator[:1]):
                sym = self.project.symbol(target)
                if sym is not None and sym.kind is SymbolKind.NAME:
                    yield Edge(target, user, EdgeKind.WRITE)
        for target in self.project.lookup(self.module, decorator):
            sym = self.project.symbol(target)
            if sym is not None and sym.kind is SymbolKind.FUNCTION:
                module = target.partition(":")[0]
                for ref in sym.refs:
                    if ref.kind is RefKind.WRITE and ref.level <= int(factory):
                        for written in self.project.lookup(module, ref.chain):
                            if _is_variable(self.project, written):
                                yield Edge(written, user, EdgeKind.WRITE)

    def _class_edges(self, user: str, sym: Symbol, members: list[Symbol]) -> Iterator[Edge]:
        # A class object is made of its body: attributes, and the dunder methods Python
        # calls implicitly. Where a base class is foreign (a framework, the standard
        # library), foreign code may call any method back: the class depends on all.
        # unittest calls a TestCase's test methods only for their own test items.
        _, descendants, foreign = self.project.class_hierarchy(user)
        unittest = foreign and self.project.is_unittest(user)
        protocols = self.project.called_back(user) if foreign else None
        yield from self._subclass_registry_edges(user, sym, members, descendants)
        for member in members:
            last = member.qualname.rpartition(".")[2]
            dunder = last.startswith("_") and last.endswith("_") and len(last) > 2  # __dunder__ and _sunder_
            called_back = (
                foreign and not (unittest and last.startswith("test")) and (protocols is None or last in protocols)
            )
            member_id = symbol_id(self.module, member.qualname)
            if member.kind is not SymbolKind.FUNCTION or called_back or last in CONSTRUCTION_DUNDERS:
                yield Edge(user, member_id, EdgeKind.INHERIT)
            elif dunder:
                # repr(x), x == y, x(...), for ... in x: any code holding an instance may
                # call it without naming it. Every test uses this name node; the walk
                # keeps the edge for the tests that can hold an instance (reach the class).
                yield Edge(IMPLICIT, member_id, EdgeKind.NAME)

    def _resolve(self, sym: Symbol, ref: Ref) -> Iterator[tuple[str, EdgeKind]]:
        project, module = self.project, self.module
        kind = ref.kind
        if kind is RefKind.GLOBAL:
            if len(ref.chain) > 1 and ref.chain[-1] in _METADATA:
                # f.__doc__, C.__name__: the docstring's text, or what f is bound to; no
                # code of f runs (a deleted or rebound f still reaches the reader).
                bound = project.lookup(module, ref.chain[:-1])
                for node in project.lookup(module, ref.chain):
                    yield node, EdgeKind.CHECK if node in bound else EdgeKind.USES
                return
            for node in project.lookup(module, ref.chain):
                yield node, EdgeKind.USES
        elif kind is RefKind.CHECK:
            for node in project.lookup(module, ref.chain):
                yield node, EdgeKind.CHECK
        elif kind is RefKind.STORE:
            # X.a = v, X a function or class: needs the name X bound (not what X is made
            # of), and runs a setter of a, if X has one: the nodes the whole chain leads to
            # beyond its prefixes. X a variable: an object whose __setattr__ runs, so X's
            # value is used.
            found = [project.lookup(module, ref.chain[:end]) for end in range(1, len(ref.chain))]
            prefixes = set().union(*found)
            for node in found[0]:
                yield node, EdgeKind.USES if _is_variable(project, node) else EdgeKind.CHECK
            # On a function (f.__doc__ = ...) no setter of the project runs.
            owners = [s.kind for t in found[-1] if (s := project.symbol(t)) is not None]
            on_function = SymbolKind.FUNCTION in owners and all(
                k in (SymbolKind.FUNCTION, SymbolKind.IMPORT) for k in owners
            )
            for node in project.lookup(module, ref.chain) - prefixes:
                if not (on_function and node.startswith("name:")):
                    yield node, EdgeKind.USES
        elif kind is RefKind.ATTR:
            yield name_node(ref.chain[0]), EdgeKind.NAME
        elif kind is RefKind.SELF:
            yield from self._self_attr(ref.chain[0], ref.chain[1])
        elif kind is RefKind.MUTATOR:
            for node in project.lookup(module, ref.chain):
                if not _is_variable(project, node) and not node.startswith("name:"):
                    yield node, EdgeKind.USES
        elif kind is RefKind.REFLECT:
            yield from self._reflect(ref.chain, ref.level)
        elif kind is RefKind.INSTANCE:
            yield from self._instance_attr(ref.chain[0], ref.chain[1:])
        elif kind is RefKind.SUPER:
            class_id = symbol_id(module, ref.chain[0])
            if project.symbol(class_id) is None:
                yield name_node(ref.chain[1]), EdgeKind.NAME
                return
            ancestors, _, _ = project.class_hierarchy(class_id)
            for cls in ancestors:
                for hit in project.attribute_in_hierarchy(cls, ref.chain[1], include_descendants=False):
                    yield hit, EdgeKind.INHERIT
        elif kind is RefKind.CLASS_LOCAL:
            qualname = f"{ref.chain[0]}.{ref.chain[1]}"
            table = project.symbols[module]
            if qualname in table:
                for node in project._member(module, qualname, ref.chain[2:], frozenset()):
                    yield node, EdgeKind.USES
            else:
                yield symbol_id(module, qualname), EdgeKind.USES
        elif kind is RefKind.IMPORT:
            parts = project.import_parts(module, ImportTarget(".".join(ref.chain), None, ref.level))
            for node in project.resolve_dotted(parts):
                yield node, EdgeKind.IMPORT
        elif kind is RefKind.STRING and ref.chain[0] == LOADS_CODE:
            self.loads_code = True
        elif kind is RefKind.STRING and ref.chain[0] == "*dynamic-import*":
            # A computed module name: it may be any module of the package in scope.
            top = module.split(".")[0]
            for name in sorted(project.known):
                if name == top or name.startswith(top + "."):
                    yield module_node(name), EdgeKind.IMPORT
        elif kind is RefKind.STRING:
            text = ref.chain[0]
            parts = tuple(text.split("."))
            if len(parts) > 1 and parts[0] in project.top_packages and all(p.isidentifier() for p in parts):
                for node in project.resolve_dotted(parts):
                    yield node, EdgeKind.USES
        elif kind is RefKind.WRITE:
            # A write only has an effect once the writer runs, and whatever runs it
            # reaches it (a test, a fixture, a hook, or import-time code): no edge.
            # Decorators that file functions away are the exception (_registry_edges).
            return

    def _reflect(self, chain: tuple[str, ...], level: int = 0) -> Iterator[tuple[str, EdgeKind]]:
        """``vars(x)``, ``getattr(x, name)``: every member of the module or class x."""
        project = self.project
        # chain[0] names the class for getattr(self, name) in a method, "@import" a module
        # imported in the function (level in ref.level); "" a dotted global.
        if chain[0] == "@import":
            targets = project.resolve_dotted(
                project.import_parts(self.module, ImportTarget(".".join(chain[1:]), None, level))
            )
        elif chain[0]:
            targets = {symbol_id(self.module, chain[0])}
        else:
            targets = project.lookup(self.module, chain[1:])
        for target in sorted(targets):
            module, _, qualname = target.partition(":")
            sym = project.symbol(target)
            if qualname == MODULE_QUALNAME:
                for member in project.module_members(module, read=self.reads_modules):
                    yield member, EdgeKind.USES
                continue
            elif sym is not None and sym.kind is SymbolKind.CLASS:
                classes = {target} | project.class_hierarchy(target)[0]
                self.reads_classes |= classes
                for cls in sorted(classes):
                    cls_module, _, cls_qual = cls.partition(":")
                    for member in project.symbols.get(cls_module, {}):
                        if member.startswith(cls_qual + ".") and "." not in member[len(cls_qual) + 1 :]:
                            yield symbol_id(cls_module, member), EdgeKind.USES
                continue

    def _instance_attr(self, attr: str, constructor: tuple[str, ...]) -> Iterator[tuple[str, EdgeKind]]:
        """``x.attr`` where ``x = constructor(...)``: the class's own attribute when it is known."""
        targets = self.project.lookup(self.module, constructor)
        kinds = {t: sym.kind for t in targets if (sym := self.project.symbol(t)) is not None}
        definitions = [t for t, kind in kinds.items() if kind is not SymbolKind.IMPORT]
        if definitions and all(kinds[t] is SymbolKind.CLASS for t in definitions):
            hits: set[str] = set()
            for cls in definitions:
                hits |= self.project.attribute_in_hierarchy(cls, attr, include_descendants=False)
            if hits:
                for hit in sorted(hits):
                    yield hit, EdgeKind.INHERIT
                return
        elif not targets and _is_foreign_class(constructor):
            return  # an instance of a class from outside the project: its methods are not ours
        yield name_node(attr), EdgeKind.NAME

    def _self_attr(self, class_qualname: str, attr: str) -> Iterator[tuple[str, EdgeKind]]:
        """``self.attr``: the class's own or inherited definition for certain.

        A subclass's override runs only on an instance of that subclass, so those go
        through the name node, whose edges are kept only for tests that reach the
        subclass; so does an attribute set on the instance or by a foreign base.
        """
        project = self.project
        class_id = symbol_id(self.module, class_qualname)
        if project.symbol(class_id) is None:
            yield name_node(attr), EdgeKind.NAME
            return
        own = project.attribute_in_hierarchy(class_id, attr, include_descendants=False)
        every = project.attribute_in_hierarchy(class_id, attr, include_descendants=True)
        for hit in sorted(own):
            yield hit, EdgeKind.INHERIT
        if every - own:
            yield name_node(attr), EdgeKind.NAME
        elif not own:
            classes, closed = project.self_scope(class_id)
            if not closed:
                yield name_node(attr), EdgeKind.NAME
                return
            # No class self can be an instance of defines attr: it is set on the instance
            # or comes from an inert base (Enum.name), and reading it runs no code of the
            # project. A definition of it deleted from one of those classes did run: the
            # ids it had keep the edge.
            for cls in sorted(classes):
                yield f"{cls}.{attr}", EdgeKind.INHERIT
