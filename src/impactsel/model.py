"""Plain data that crosses stage boundaries: nothing in here has behaviour.

Every value is a frozen, slotted dataclass, an enum or a ``NewType``: hashable,
compact, and safe to share between the stages of a run.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import NewType

#: ``"pkg.mod:Class.method"``; the module's own top-level code is ``"pkg.mod:<module>"``.
SymbolId = NewType("SymbolId", str)
#: ``"tests/test_x.py::TestA::test_b"``, relative to the project root.
NodeId = NewType("NodeId", str)

MODULE_QUALNAME = "<module>"
#: What a module's definitions run when it is imported: decorators, defaults, annotations.
IMPORT_QUALNAME = "<import>"
#: The part of that which only looks names up, builds literals and calls pytest's marks
#: (``@pytest.mark.parametrize("x", [1, 2])``): it can fail the module's collection, not act.
MARKS_QUALNAME = "<marks>"
#: The symbol of the examples in a docstring (``f.<doctest>``; the module's: ``<doctest>``)
DOCTEST = "<doctest>"


class SymbolKind(str, enum.Enum):
    MODULE = "module"  # top-level statements that bind no name
    CLASS = "class"
    FUNCTION = "function"  # functions and methods (nested functions belong to them)
    NAME = "name"  # a module or class level assignment
    IMPORT = "import"  # a name bound by an import statement


class RefKind(str, enum.Enum):
    GLOBAL = "global"  # dotted chain whose first name is looked up in the module's globals
    ATTR = "attr"  # attribute of an object of unknown type: every definition of that name
    SELF = "self"  # attribute of ``self``/``cls``: chain = (class qualname, attribute)
    SUPER = "super"  # ``super().attr``: chain = (class qualname, attribute)
    IMPORT = "import"  # an import inside a function body: chain = (module, name?) with level
    STRING = "string"  # a string literal that may name a module, fixture or file
    WRITE = "write"  # ``global X`` rebound here: X depends on this symbol
    CLASS_LOCAL = "class_local"  # a name bound earlier in the same class body
    REFLECT = "reflect"  # vars(x), dir(x), x.__dict__, getattr(x, name): every attribute of x
    MUTATOR = "mutator"  # x.append(v): a write when x is a variable, else a call of x.append
    ESCAPE = "escape"  # f(obj): chain = (*f, "", *obj); when f is foreign, obj's methods may be called back
    INSTANCE = "instance"  # attribute of a local made by one constructor: chain = (attr, *constructor)
    CHECK = "check"  # a global compared with, not called: ``isinstance(x, C)``, ``except C``
    STORE = "store"  # ``X.attr = v`` on a global X: needs the binding X, runs a setter of attr


#: The chain of a STRING ref marking code that runs another file's code by its path
#: (``runpy.run_path``, ``spec_from_file_location``, ``exec`` of a computed string).
LOADS_CODE = "*loads-code*"


@dataclass(frozen=True, slots=True)
class Ref:
    kind: RefKind
    chain: tuple[str, ...]
    level: int = 0  # relative-import level, for IMPORT refs


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """What one imported name refers to: ``from <level dots><module> import <name>``.

    ``name`` is ``None`` for ``import a.b`` (the binding is the module ``a`` itself,
    or ``a.b`` with ``as``).
    """

    module: str
    name: str | None
    level: int = 0

    def absolute(self, package: str) -> str:
        """The module imported from, made absolute: ``package`` is the importing module's
        package (the module itself for an ``__init__.py``)."""
        if self.level == 0:
            return self.module
        for _ in range(self.level - 1):
            package = package.rpartition(".")[0]
        return ".".join(p for p in (package, self.module) if p)


@dataclass(frozen=True, slots=True)
class Fixture:
    name: str
    autouse: bool


@dataclass(frozen=True, slots=True)
class Symbol:
    qualname: str  #: ``"Class.method"``; MODULE_QUALNAME for the module node
    kind: SymbolKind
    line: int  #: first line (decorators included)
    fingerprint: int  #: hash of its own code, comments and layout left out
    refs: tuple[Ref, ...] = ()
    targets: tuple[ImportTarget, ...] = ()  #: for IMPORT symbols (several when rebound)
    params: tuple[str, ...] = ()  #: function parameter names (fixture requests)
    bases: tuple[tuple[str, ...], ...] = ()  #: class bases as dotted chains
    fixture: Fixture | None = None
    usefixtures: tuple[str, ...] = ()
    decorators: tuple[tuple[str, ...], ...] = ()  #: dotted decorator chains
    is_static: bool = False  #: a staticmethod (no ``self``)
    metaclass: tuple[str, ...] = ()  #: ``class C(metaclass=M)``: M as a dotted chain


@dataclass(frozen=True, slots=True)
class FileSymbols:
    """What one file's content defines and uses, independent of where it lives."""

    symbols: tuple[Symbol, ...]
    star_imports: tuple[ImportTarget, ...] = ()
    all_names: tuple[str, ...] | None = None  #: a literal ``__all__``
    imports: tuple[ImportTarget, ...] = ()  #: every top-level import (they run on import)
    dynamic: tuple[str, ...] = ()  #: reasons the analysis of this file is not sure
    interface: str = ""  #: ``interface_digest`` of the above ("": not computed)
    #: the symbols of the doctest examples in docstrings (``f.<doctest>``, ``<doctest>``)
    doctests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParseFailure:
    message: str
    line: int = 0


ExtractResult = FileSymbols | ParseFailure


class Role(str, enum.Enum):
    SOURCE = "source"
    TEST = "test"
    CONFTEST = "conftest"


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: PurePosixPath  #: relative to the project root
    module: str  #: canonical dotted module name
    aliases: tuple[str, ...]  #: other names the file can be imported as
    role: Role


class ChangeStatus(str, enum.Enum):
    ADDED = "added"
    DELETED = "deleted"
    MODIFIED = "modified"
    RENAMED = "renamed"


@dataclass(frozen=True, slots=True)
class FileChange:
    path: PurePosixPath  #: new path (old path for deletions)
    status: ChangeStatus
    old_path: PurePosixPath | None = None  #: for renames
    old_text: str | None = None  #: content at the base (None when added)
    new_text: str | None = None  #: content in the work tree (None when deleted)
    binary: bool = False
    unread: str | None = None  #: why the file in the work tree was not read (a symlink leading outside)


class ChangeCause(str, enum.Enum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    FILE = "file"  # a non-Python file named by code


@dataclass(frozen=True, slots=True)
class ChangedSymbol:
    id: SymbolId
    cause: ChangeCause
    path: PurePosixPath
    #: an undecorated function both times: its code changed, but its name is still bound
    #: to the function ``def`` makes, so what only needs the binding (``f.__doc__ = ...``)
    #: is not affected
    binding_kept: bool = False


@dataclass(frozen=True, slots=True)
class SelectedTest:
    nodeid: NodeId
    via: tuple[str, ...]  #: chain of graph nodes from a changed symbol to the test


@dataclass(frozen=True, slots=True)
class Selection:
    base: str
    changed: tuple[ChangedSymbol, ...]
    tests: tuple[SelectedTest, ...]
    total_tests: int
    run_all: str | None = None  #: why every test is selected, when it is
    test_roots: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def interface_digest(result: ExtractResult) -> str:
    """A digest of what other modules' resolution and collection can read of a file.

    Everything but line numbers, fingerprints, the ``dynamic`` notes and the
    references made inside functions and by top-level code (those that write a
    global excepted: a registry decorator's writes are read where it is applied).
    """
    if not isinstance(result, FileSymbols):
        return "failure"
    if result.interface:
        return result.interface
    shape = [
        [interface_fields(sym) for sym in result.symbols],
        [[t.module, t.name, t.level] for t in result.star_imports],
        list(result.all_names) if result.all_names is not None else None,
        [[t.module, t.name, t.level] for t in result.imports],
    ]
    return hashlib.blake2b(json.dumps(shape).encode(), digest_size=16).hexdigest()


def symbol_fields(sym: Symbol, refs: tuple[Ref, ...]) -> list[object]:
    """A symbol as JSON-ready lists, line and fingerprint left out, with the given references."""
    return [
        sym.qualname,
        sym.kind.value,
        [[r.kind.value, list(r.chain), r.level] for r in refs],
        [[t.module, t.name, t.level] for t in sym.targets],
        list(sym.params),
        [list(b) for b in sym.bases],
        [sym.fixture.name, sym.fixture.autouse] if sym.fixture else None,
        list(sym.usefixtures),
        [list(d) for d in sym.decorators],
        sym.is_static,
        list(sym.metaclass),
    ]


#: Pseudo-symbols no name can look up: only their own module reads their references.
OWN_CODE = frozenset({MODULE_QUALNAME, IMPORT_QUALNAME, MARKS_QUALNAME, "<main>"})


def is_documentation(qualname: str) -> bool:
    """A docstring's text (``f.__doc__``, ``__doc__``) or its examples (``f.<doctest>``)."""
    return qualname.rpartition(".")[2].rpartition(":")[2] in ("__doc__", DOCTEST)


def interface_fields(sym: Symbol) -> list[object]:
    """What other modules can read of one symbol.

    A function's own references, and those of the module's top-level, import-time and
    ``__main__`` code and of doctest examples, are left out (but for the globals they
    write): only their own module's resolution reads them.
    """
    refs = sym.refs
    if sym.kind is SymbolKind.FUNCTION or sym.qualname in OWN_CODE or is_documentation(sym.qualname):
        refs = tuple(r for r in refs if r.kind is RefKind.WRITE)
    return symbol_fields(sym, refs)


def added_functions(old: ExtractResult, new: ExtractResult) -> tuple[set[str], set[str]] | None:
    """The plain functions ``new`` adds to ``old``, when that is all that changed in its
    interface; None when anything else did. Returns their names (and ``__doc__`` for
    their docstrings), and the classes that gained a method.

    Plain: not a fixture, not decorated, not a ``pytest_`` hook, not a dunder or a
    ``_sunder_`` (a module's ``__getattr__`` answers for every missing name; a
    class's dunders and an enum's hooks are called without being named). A method
    counts when its class is on both sides, directly in the module. A docstring of
    an added function counts; its examples (a doctest) do not.
    """
    if not isinstance(old, FileSymbols) or not isinstance(new, FileSymbols):
        return None
    if (old.star_imports, old.all_names, old.imports) != (new.star_imports, new.all_names, new.imports):
        return None
    before = {sym.qualname: interface_fields(sym) for sym in old.symbols}
    classes = {sym.qualname for sym in old.symbols if sym.kind is SymbolKind.CLASS and "." not in sym.qualname}
    names: set[str] = set()
    owners: set[str] = set()
    added: set[str] = set()
    documented: set[str] = set()
    for sym in new.symbols:
        fields = before.pop(sym.qualname, None)
        if fields is not None:
            if fields != interface_fields(sym):
                return None
            continue
        name = sym.qualname
        if name.endswith(".__doc__"):
            documented.add(name[: -len(".__doc__")])
            continue
        owner, _, last = name.rpartition(".")
        plain = sym.kind is SymbolKind.FUNCTION and sym.fixture is None and not sym.decorators
        sunder = last.startswith("_") and last.endswith("_")  # __dunder__, an enum's _missing_
        if (
            not plain
            or sym.usefixtures
            or sunder
            or last.startswith(("pytest_", "__"))
            or (owner and owner not in classes)
        ):
            return None
        added.add(name)
        names.add(last)
        if owner:
            owners.add(owner)
    if before or not documented <= added:
        return None  # a symbol of the old side gone, or a docstring of something not added
    if documented:
        names.add("__doc__")
    return names, owners


def mentioned_names(result: ExtractResult) -> set[str]:
    """Every name a lookup made while resolving this file's code could ask for.

    Each part of its references, imports, import targets, bases, decorators,
    metaclasses and fixture requests, and each dotted part of those (a string
    reference ``"a.b.c"``): a superset of the names its lookups ask for.
    """
    if not isinstance(result, FileSymbols):
        return set()
    chains: set[tuple[str, ...]] = set()
    for sym in result.symbols:
        chains.update(ref.chain for ref in sym.refs)
        chains.update(sym.bases)
        chains.update(sym.decorators)
        chains.add(sym.metaclass)
        chains.add(sym.params + sym.usefixtures)
        chains.update((t.module, t.name or "") for t in sym.targets)
    chains.update((t.module, t.name or "") for t in (*result.star_imports, *result.imports))
    chains.add(result.all_names or ())
    found = {part for chain in chains for part in chain}
    for text in [t for t in found if "." in t or "/" in t]:
        found.update(text.replace("/", ".").split("."))
    return found
