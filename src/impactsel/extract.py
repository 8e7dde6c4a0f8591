"""② Extraction: one file's text -> ``FileSymbols`` (or ``ParseFailure``).

The only module that imports libcst. One walk over the concrete syntax tree finds
each symbol (module body, classes, functions, methods, module and class level
names, imported names), a fingerprint of its own code (comments and layout left
out, so reformatting changes nothing) and the names it uses. Names are sorted
into locals and globals with Python's own scoping rules, so the result depends
on the file's content only and can be cached by content hash; turning names into
symbols of other modules is the graph stage's job.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import doctest
import gc
import hashlib
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import libcst as cst

from impactsel.model import (
    DOCTEST,
    IMPORT_QUALNAME,
    LOADS_CODE,
    MARKS_QUALNAME,
    MODULE_QUALNAME,
    ExtractResult,
    FileSymbols,
    Fixture,
    ImportTarget,
    ParseFailure,
    Ref,
    RefKind,
    Symbol,
    SymbolKind,
    interface_digest,
)

T = TypeVar("T")


def extract(text: str) -> ExtractResult:
    """Extract the symbols of one Python source text.

    Args:
        text: the file's content, already decoded.

    Returns:
        ``FileSymbols``, or ``ParseFailure`` when the text is not valid Python
        (or nests too deeply for the parser).
    """
    with _without_cyclic_gc():
        try:
            return _extract(text)
        except RecursionError:
            # Machine-generated modules nest hundreds of levels deep: retry on a
            # thread whose stack and recursion limit are large enough for them.
            return _with_deep_stack(_extract_or_fail, text)


def _extract_or_fail(text: str) -> ExtractResult:
    try:
        return _extract(text)
    except RecursionError:
        return ParseFailure("nested too deeply to analyse")


# Private

# Nodes that carry layout only: comments, blank lines, whitespace, parentheses and
# separators. They are left out of fingerprints (and not walked at all).
_LAYOUT = (
    cst.SimpleWhitespace,
    cst.ParenthesizedWhitespace,
    cst.TrailingWhitespace,
    cst.EmptyLine,
    cst.Newline,
    cst.Comment,
    cst.LeftParen,
    cst.RightParen,
    cst.Comma,
    cst.Semicolon,
)
# Nodes whose own visitor decides which symbol owns them: no marker in the parent.
_UNMARKED = (cst.FunctionDef, cst.ClassDef, cst.SimpleStatementLine, cst.Import, cst.ImportFrom, cst.Module)
_LEAF_VALUE = (cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.FormattedStringText)
# Methods that change a container in place: a function calling one on a module
# global changes what every reader of that global sees (registries).
_MUTATORS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "register", "appendleft", "__setitem__"}
)
# Expressions whose value is a builtin object: their attributes are never the project's.
_LITERALS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Integer,
    cst.Float,
    cst.List,
    cst.Tuple,
    cst.Dict,
    cst.Set,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
)
# Functions that read the docstring of what they are given.
_DOC_READERS = frozenset(
    {"getdoc", "help", "render_doc", "testmod", "DocTestFinder", "run_docstring_examples", "DocTestSuite"}
)
# Calls whose first two arguments are an object and the name of one of its attributes.
_ATTRIBUTE_BY_NAME = frozenset({"getattr", "setattr", "hasattr", "delattr", "object"})
# Functions that look at an object without calling its methods back (dunders aside).
_INSPECTORS = frozenset(
    {
        "isinstance", "issubclass", "type", "id", "len", "print", "repr", "str", "hash", "callable", "cast",
        "getattr", "setattr", "hasattr", "delattr", "vars", "dir", "TypeVar", "overload", "raises", "warns",
        "bool", "int", "float", "list", "tuple", "set", "frozenset", "dict", "sorted", "iter", "next", "format",
        "param", "parametrize", "approx", "fixture", "usefixtures", "skipif", "xfail", "assert_type",
        "reveal_type",
    }
)  # fmt: skip
# Calls that read every attribute of their first argument.
_REFLECTORS = frozenset({"getmembers", "testmod", "DocTestFinder", "getmembers_static", "asdict", "fields"})
#: Calls that run a file's code by its path (or a computed string): any module may be run.
_CODE_LOADERS = frozenset(
    {"run_path", "run_module", "spec_from_file_location", "SourceFileLoader", "load_source", "exec", "execfile"}
)
_INTERESTING_STRING = re.compile(r"^[\w.\-/]{2,200}$")
_DEF_LINE = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.MULTILINE)


def _extract(text: str) -> ExtractResult:
    parts = _parts(text) if len(text) > _LARGE_FILE else None
    walker = _Walker(text)
    for i, (offset, part) in enumerate(parts or [(0, text)]):
        if isinstance(part, ast.stmt):
            walker.coarse(part)
            continue
        try:
            module = cst.parse_module(part)
        except cst.ParserSyntaxError as exc:
            return ParseFailure(f"syntax error: {exc.message}", exc.raw_line + offset)
        except Exception as exc:  # the native parser raises plain errors on some inputs
            return ParseFailure(f"cannot parse: {exc}")
        walker.walk(module, whole=i == 0)
        del module  # one part's tree at a time
    return walker.result()


#: libcst holds 4-9 KB per token of a tree (sympy's test_spin.py: 148,000 tokens, 601 MB;
#: resolvent_lookup.py, a 39 KB table of 40,000 numbers: 340 MB). A file of more tokens
#: than this is parsed a few top-level statements at a time, one tree held at once.
_MAX_TOKENS = 25_000
#: A file of fewer characters has fewer tokens: it is parsed whole without counting.
_LARGE_FILE = _MAX_TOKENS
#: What counts as a token here: words, numbers and operators (in strings too, which
#: counts more than there are: a part is then smaller than it needs to be).
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[()\[\]{},.:;+\-*/%=<>!&|^~@]")


def _parts(text: str) -> list[tuple[int, str | ast.stmt]] | None:
    """A large file's text cut between top-level statements into parts of at most
    ``_MAX_TOKENS`` tokens each, with the number of lines before each; None when it is
    small enough to parse whole (or Python's own parser cannot say where its
    statements are: libcst then decides).

    A statement larger than that on its own (a generated table, a function returning
    one) is read from Python's own tree (``_Walker.coarse``) when it can be read that
    way, and is a part of its own otherwise.
    """
    if len(_TOKEN.findall(text)) <= _MAX_TOKENS:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    lines = text.splitlines(keepends=True)
    starts = [min([s.lineno, *(d.lineno for d in getattr(s, "decorator_list", ()))]) - 1 for s in tree.body]
    starts[:1] = [0]
    parts: list[tuple[int, str | ast.stmt]] = []
    current: list[str] = []
    first = count = 0
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(lines)
        statement = "".join(lines[start:end])
        size = len(_TOKEN.findall(statement))
        coarse = size > _MAX_TOKENS and _readable_coarsely(tree.body[i])
        if current and (coarse or count + size > _MAX_TOKENS):
            parts.append((first, "".join(current)))
            current, count = [], 0
        if coarse:
            parts.append((start, tree.body[i]))
            continue
        if not current:
            first = start
        current.append(statement)
        count += size
    if current:
        parts.append((first, "".join(current)))
    return parts if len(parts) > 1 or not isinstance(parts[0][1], str) else None


#: Calls that make a statement do what a coarse reading cannot see.
_DYNAMIC_CALLS = frozenset(
    {"getattr", "setattr", "delattr", "vars", "dir", "globals", "locals", "eval", "exec", "compile", "__import__"}
    | {"import_module", "run_path", "run_module", "spec_from_file_location", "open", "getfixturevalue", "usefixtures"}
    | _MUTATORS
)


def _readable_coarsely(stmt: ast.stmt) -> bool:
    """An assignment to plain names, an expression, or a plain function (no decorator,
    default, annotation or nested definition), that binds, writes and loads nothing a
    coarse reading would miss (no walrus, global, reflection, dynamic import, fixture
    request, container changed in place, attribute or item stored)."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets = [stmt.target]
    elif isinstance(stmt, ast.Expr):
        targets = []
    elif isinstance(stmt, ast.FunctionDef):
        args = stmt.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if stmt.decorator_list or stmt.returns or args.defaults or any(args.kw_defaults):
            return False
        if any(a is not None and a.annotation is not None for a in every):
            return False
        inner = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Global, ast.Nonlocal, ast.Yield)
        if any(isinstance(node, inner) for node in ast.walk(stmt) if node is not stmt):
            return False
        targets = []
    else:
        return False
    if not all(_ast_names(t) for t in targets) or any(n == "__all__" for t in targets for n in _ast_names(t)):
        return False
    for node in ast.walk(stmt):
        if isinstance(node, ast.NamedExpr):
            return False
        if isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            return False  # x[k] = v, x.a = v, del x[k]: a write the full reading follows
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in _DYNAMIC_CALLS:
                return False
    return True


def _ast_names(target: ast.expr) -> list[str]:
    """The plain names an assignment target binds; [] when it is anything else."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names = [_ast_names(e) for e in target.elts]
        return [n for part in names for n in part] if all(names) else []
    return []


def _ast_chain(node: ast.expr) -> tuple[str, ...]:
    """``a.b.c`` -> ("a", "b", "c"); () when the root is not a name."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return (node.id, *reversed(attrs)) if isinstance(node, ast.Name) else ()


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one file is parsed and walked.

    A syntax tree is hundreds of thousands of small objects without reference
    cycles (reference counting frees them); the collector would traverse all of
    them again each time the growing heap triggers it: ~30 % of a large parse,
    more of the walk.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _with_deep_stack(fn: Callable[[str], T], arg: str) -> T:
    """Run ``fn(arg)`` on a thread with a large stack and recursion limit.

    Both the parser's tree building and the visitor recurse once per level.
    """
    box: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        old = sys.getrecursionlimit()
        try:
            sys.setrecursionlimit(max(old, 60_000))
            box.append(fn(arg))
        except BaseException as exc:  # re-raised on the calling thread
            errors.append(exc)
        finally:
            sys.setrecursionlimit(old)

    old_size = threading.stack_size()
    threading.stack_size(512 * 1024 * 1024)
    try:
        thread = threading.Thread(target=run, name="impactsel-extract")
        thread.start()
    finally:
        threading.stack_size(old_size)
    thread.join()
    if errors:
        raise errors[0]
    return box[0]


@dataclass
class _Sym:
    qualname: str
    kind: SymbolKind
    line: int
    tokens: list[str] = field(default_factory=list)
    refs: set[Ref] = field(default_factory=set)
    targets: list[ImportTarget] = field(default_factory=list)
    params: tuple[str, ...] = ()
    bases: list[tuple[str, ...]] = field(default_factory=list)
    fixture: Fixture | None = None
    usefixtures: list[str] = field(default_factory=list)
    decorators: list[tuple[str, ...]] = field(default_factory=list)
    is_static: bool = False
    body_depth: int = 1  #: scope depth of the symbol's own body
    metaclass: tuple[str, ...] = ()


@dataclass
class _Use:
    chain: tuple[str, ...]
    owner: _Sym
    direct: bool = True  # made in this scope, not propagated from a nested one
    mutates: bool = False  # ``x[k] = v``, ``x.a = v``, ``x.append(v)``: changes what x holds
    nested: bool = False  # made inside a function nested in the owner (runs later, on call)
    instance_attr: str | None = None  # ``Cls().attr``: the chain is the constructor
    #: in a decorator, default or annotation: the symbol of the code that runs when the module is imported
    import_time: str = ""
    mutator: bool = False  # ``x.append(v)``: a call that may only write x
    escapes: tuple[str, ...] = ()  # ``f(obj)``: obj (this chain) handed to the function f (the use's chain)
    reflects: bool = False  # ``vars(x)``, ``getattr(x, name)``: reads any attribute of x
    checks: bool = False  # ``isinstance(x, C)``, ``except C``: C is compared with, not called
    stores: bool = False  # ``x.attr = v``: x is written, not read


@dataclass
class _Scope:
    kind: str  # "module" | "class" | "function"
    qualname: str = ""  # the class qualname, for class scopes and their methods
    self_name: str | None = None  # first parameter of a method
    assigned: set[str] = field(default_factory=set)
    global_names: set[str] = field(default_factory=set)
    uses: list[_Use] = field(default_factory=list)
    #: local import bindings: name -> (dotted prefix it stands for, relative level)
    imports: dict[str, tuple[tuple[str, ...], int]] = field(default_factory=dict)
    #: how often each local is bound, and by which constructor call when ``x = C(...)``
    binds: dict[str, int] = field(default_factory=dict)
    constructors: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)


class _Walker:
    def __init__(self, text: str) -> None:
        self._def_lines = _def_lines(text)
        self._def_index = 0
        self._lines = text.splitlines()
        self._module = _Sym(MODULE_QUALNAME, SymbolKind.MODULE, 1)
        self._syms: list[_Sym] = [self._module]
        self._owner = self._module
        self._scopes: list[_Scope] = [_Scope("module")]
        self._symbol_level = True  # statements here make symbols (module or class body)
        self._class_stack: list[str] = []
        self._star: list[ImportTarget] = []
        self._imports: list[ImportTarget] = []
        self._all: list[str] | None = None
        self._import_time = ""  # the symbol import-time code goes to (IMPORT_QUALNAME or MARKS_QUALNAME)
        self._import_syms: dict[str, _Sym] = {}
        self._dynamic: list[str] = []
        self._doctests: list[str] = []  #: the docstring symbols that hold examples
        #: ids of the Name and Attribute nodes that are the classes of a type test
        self._checked: set[int] = set()
        #: ids of the Attribute nodes that are assigned to
        self._stored: set[int] = set()

    # -- result -------------------------------------------------------------

    def result(self) -> FileSymbols:
        self._close_scope(self._scopes.pop())
        merged: dict[str, Symbol] = {}
        for sym in self._syms:
            merged[sym.qualname] = _merge(merged.get(sym.qualname), _freeze(sym))
        result = FileSymbols(
            symbols=tuple(merged.values()),
            star_imports=tuple(self._star),
            all_names=tuple(self._all) if self._all is not None else None,
            imports=tuple(dict.fromkeys(self._imports)),
            dynamic=tuple(dict.fromkeys(self._dynamic)),
            doctests=tuple(dict.fromkeys(self._doctests)),
        )
        return dataclasses.replace(result, interface=interface_digest(result))

    # -- generic: fingerprints ----------------------------------------------

    def coarse(self, stmt: ast.stmt) -> None:
        """A top-level assignment or expression too large for libcst, from Python's own
        tree: every name it loads is a global, every attribute any definition of that
        name (more than a full reading finds, never less); its code is the tree's dump."""
        refs: set[Ref] = set()
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                refs.add(Ref(RefKind.GLOBAL, (node.id,)))
            elif isinstance(node, ast.Attribute):
                refs.add(Ref(RefKind.ATTR, (node.attr,)))
                chain = _ast_chain(node)
                if chain:
                    refs.add(Ref(RefKind.GLOBAL, chain))
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign):
            targets = [stmt.target]
        names = [n for t in targets for n in _ast_names(t)]
        owners = [self._new_symbol(n, SymbolKind.NAME, 0) for n in names] or [self._module]
        if isinstance(stmt, ast.FunctionDef):
            function = self._new_symbol(stmt.name, SymbolKind.FUNCTION, self._next_def_line(stmt.name))
            declared = [*stmt.args.posonlyargs, *stmt.args.args, *stmt.args.kwonlyargs]
            function.params = tuple(a.arg for a in declared)  # pytest's fixture requests
            owners, names = [function], [stmt.name]
        code = "coarse:" + ast.dump(stmt)
        for owner in owners:
            owner.tokens.append(code)
            owner.refs |= refs
        self._scopes[0].assigned.update(names)

    def walk(self, module: cst.Module, whole: bool = True) -> None:
        """Walk a module, or (``whole=False``) the next statements of one cut in parts."""
        # Node ids of an earlier part's tree (freed) may be reused by this one's nodes.
        self._checked.clear()
        self._stored.clear()
        if whole:
            self._visit(module)
        else:
            for stmt in module.body:
                self._visit(stmt)

    def _visit(self, node: cst.CSTNode) -> None:
        """Visit one node: its fingerprint token, its ``visit_<Type>`` method, its children.

        A walk of our own over the dataclass fields: libcst's ``CSTNode.visit``
        rebuilds every node on the way back up, which costs more than the parse.
        Layout (whitespace, comments, parentheses, commas) is never walked.
        """
        kind = type(node)
        flags = _FLAGS.get(kind)
        if flags is None:
            flags = _FLAGS[kind] = _flags(kind)
        layout, marked, leaf = flags
        if layout:
            return
        if marked:
            token = _token(node, leaf)
            self._owner.tokens.append(token)
            if self._import_time:
                self._import_symbol(self._import_time).tokens.append(token)
        method = _METHODS.get(kind)
        if method is None:
            method = _METHODS[kind] = getattr(_Walker, "visit_" + kind.__name__, _no_method)
        if method(self, node) is not False:
            self._children(node)
        if marked:
            self._owner.tokens.append(")")

    def _children(self, node: cst.CSTNode) -> None:
        for name in _fields(type(node)):
            value = getattr(node, name)
            kind = type(value)
            if kind is list or kind is tuple:
                for item in value:
                    if _is_node(type(item)):
                        self._visit(item)
            elif _is_node(kind):
                self._visit(value)

    def visit_Module(self, node: cst.Module) -> bool:
        # The module docstring is a symbol of its own (``__doc__``): editing it must
        # not count as a change to the module's top-level code.
        body = list(node.body)
        if body and _is_docstring(body[0]):
            self._docstring("__doc__", body[0], 1)
            body = body[1:]
        for stmt in body:
            self._visit(stmt)
        return False

    def _suite(self, body: cst.BaseSuite, sym: _Sym | None) -> None:
        """The body of a def; its docstring, if it has one, is a symbol of its own."""
        if sym is None or not isinstance(body, cst.IndentedBlock) or not body.body or not _is_docstring(body.body[0]):
            self._visit(body)
            return
        self._docstring(f"{sym.qualname}.__doc__", body.body[0], sym.line)
        self._visit(body.with_changes(body=body.body[1:]))  # the same tokens as a body without one

    def _docstring(self, qualname: str, stmt: cst.CSTNode, line: int) -> None:
        """``<def>.__doc__``, the text, read by what reads docstrings (``f.__doc__``,
        ``inspect.getdoc``, ``help``); and when it holds examples, ``<def>.<doctest>``:
        the same text, and the code of the examples as its references (the doctests
        that pytest collects with ``--doctest-modules`` run it)."""
        outer = self._owner
        doc = self._owner = self._new_symbol(qualname, SymbolKind.NAME, line)
        self._visit(stmt)
        try:
            text = stmt.body[0].value.evaluated_value  # type: ignore[attr-defined]
        except Exception:  # an escape Python rejects (``"\N{NO SUCH NAME}"``): the file does not compile
            text = None
        if isinstance(text, str) and ">>>" in text:
            examples = self._owner = self._new_symbol(qualname[: -len("__doc__")] + DOCTEST, SymbolKind.NAME, line)
            examples.tokens = doc.tokens[:]
            examples.body_depth = 2  # the examples' code is walked as the body of a function
            if self._examples(text):
                self._doctests.append(examples.qualname)
            else:
                self._syms.remove(examples)
        self._owner = outer

    def _examples(self, text: str) -> bool:
        """Walk the code of a docstring's examples as a function of the module; False if it has none.

        doctest runs them with the module's globals: their names are looked up there.
        An example that does not parse fails when it runs, whatever the change.
        """
        try:
            examples = doctest.DocTestParser().get_examples(text)
        except ValueError:
            return True  # badly indented: pytest reports the doctest as failing
        sources = [e.source for e in examples]
        tree = _parse_examples("".join(sources))
        if tree is None:
            # doctest compiles each example apart: one that does not parse leaves the others.
            tree = _parse_examples("".join(s for s in sources if _parse_examples(s) is not None))
        saved = self._scopes, self._def_index, self._symbol_level, self._import_time, self._class_stack
        self._scopes, self._symbol_level, self._import_time, self._class_stack = [self._scopes[0]], False, "", []
        try:
            if tree is not None:
                self._push(_Scope("function", qualname="", assigned=set()))
                self._visit(tree.body)
                self._pop()
        finally:
            self._scopes, self._def_index, self._symbol_level, self._import_time, self._class_stack = saved
        return bool(examples)

    def visit_If(self, node: cst.If) -> bool:
        # ``if __name__ == "__main__":`` never runs when tests import the module.
        if not (self._at_module_level() and _is_main_guard(node.test)):
            return True
        self._owner = self._new_symbol("<main>", SymbolKind.NAME, 0)
        self._visit(node.body)
        if node.orelse is not None:
            self._visit(node.orelse)
        self._owner = self._module
        return False

    # -- symbols ------------------------------------------------------------

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        if not self._symbol_level:
            return True
        names = _bound_names(node)
        if names is None:
            return True  # imports and other statements: handled by their own visitors
        prefix = self._prefix()
        owners = [self._new_symbol(prefix + n, SymbolKind.NAME, 0) for n in names]
        outer = self._owner
        for owner in owners:
            self._owner = owner
            for stmt in node.body:
                self._visit(stmt)
        self._owner = outer
        if not self._class_stack and names == ["__all__"]:
            self._all = _literal_strings(node.body[0])
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        _qualname, sym, outer = self._enter_def(node.name.value, SymbolKind.FUNCTION, node.decorators)
        scope = self._scopes[-1]
        params = node.params
        at_import = sym is not None
        for deco in node.decorators:
            self._visit_at_import(deco, _is_mark(deco.decorator), at_import)
        for param in _all_params(params):
            if param.default is not None:
                self._visit_at_import(param.default, _inert(param.default), at_import)
            if param.annotation is not None:
                self._visit_at_import(param.annotation, _inert(param.annotation.annotation), at_import)
        if node.returns is not None:
            self._visit_at_import(node.returns, _inert(node.returns.annotation), at_import)
        in_class = scope.kind == "class" and sym is not None
        decos = {c[-1] for c in (_chain(d.decorator) for d in node.decorators) if c}
        names = [p.name.value for p in _all_params(params)]
        self_name = names[0] if in_class and names and "staticmethod" not in decos else None
        fscope = _Scope("function", qualname=scope.qualname, self_name=self_name, assigned=set(names))
        if sym is not None:
            sym.is_static = in_class and "staticmethod" in decos
            # pytest requests as fixtures the parameters without a default value.
            declared = (*params.posonly_params, *params.params, *params.kwonly_params)
            requested = [p.name.value for p in declared if p.default is None]
            sym.params = tuple(n for n in requested if n != self_name)
        scope.assigned.add(node.name.value)
        self._owner.tokens.append(_signature(node))
        self._push(fscope)
        if sym is not None:
            sym.body_depth = len(self._scopes)
        self._suite(node.body, sym)
        self._pop()
        self._leave_def(outer)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        qualname, sym, outer = self._enter_def(node.name.value, SymbolKind.CLASS, node.decorators)
        scope = self._scopes[-1]
        for deco in node.decorators:
            self._visit_at_import(deco, _is_mark(deco.decorator), sym is not None)
        with self._at_import(sym is not None):
            for arg in node.keywords:
                self._visit(arg)
        for arg in node.bases:  # a base only has to exist: deletions are seen apart
            self._visit(arg)
        if sym is not None:
            for keyword in node.keywords:
                if keyword.keyword is not None and keyword.keyword.value == "metaclass":
                    sym.metaclass = _chain(keyword.value)
            # ``Base[T]`` (a generic base) is still the class ``Base``.
            sym.bases = [c for c in (_chain(_unsubscript(a.value)) for a in node.bases) if c]
        scope.assigned.add(node.name.value)
        symbol_level = self._symbol_level
        if sym is not None:
            self._class_stack.append(node.name.value)
        else:
            self._symbol_level = False
        self._push(_Scope("class", qualname=qualname))
        self._suite(node.body, sym)
        self._pop()
        if sym is not None:
            self._class_stack.pop()
        self._symbol_level = symbol_level
        self._leave_def(outer)
        return False

    # -- bindings -------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None:
                bound = _as_name(alias.asname)
                target = ImportTarget(dotted, None)
            else:
                bound = dotted.split(".")[0]
                target = ImportTarget(dotted, None)
            self._bind_import(bound, target, alias_full=alias.asname is None)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        level = len(node.relative)
        module = _dotted(node.module) if node.module is not None else ""
        if isinstance(node.names, cst.ImportStar):
            target = ImportTarget(module, "*", level)
            if self._at_module_level():
                self._star.append(target)
                self._imports.append(ImportTarget(module, None, level))
            else:
                self._owner.refs.add(Ref(RefKind.IMPORT, (module,), level))
            self._owner.tokens.append(f"import*:{level}:{module}")
            return False
        for alias in node.names:
            name = _dotted(alias.name)
            bound = _as_name(alias.asname) if alias.asname is not None else name
            self._bind_import(bound, ImportTarget(module, name, level))
        return False

    def _bind_import(self, bound: str, target: ImportTarget, alias_full: bool = False) -> None:
        scope = self._scopes[-1]
        if self._at_module_level() or (scope.kind == "class" and self._symbol_level):
            self._imports.append(target)
            sym = self._new_symbol(self._prefix() + bound, SymbolKind.IMPORT, 0)
            sym.targets.append(target)
            sym.tokens.append(f"import:{target.level}:{target.module}:{target.name}:{alias_full}")
            return
        # An import inside a function (or a nested block): a local name, used right here.
        scope.assigned.add(bound)
        prefix = tuple(p for p in target.module.split(".") if p)
        if target.name is not None:
            prefix = (*prefix, target.name)
        self._owner.refs.add(Ref(RefKind.IMPORT, prefix, target.level))
        if target.name is None and not alias_full:  # import a.b as c: c is a.b
            scope.imports[bound] = (prefix, target.level)
        elif target.name is None:  # import a.b: a is bound
            scope.imports[bound] = (prefix[:1], target.level)
        else:
            scope.imports[bound] = (prefix, target.level)
        self._owner.tokens.append(f"import:{target.level}:{target.module}:{target.name}:{bound}")

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        self._bind(node.target)
        return False

    def visit_Assign(self, node: cst.Assign) -> bool:
        # ``x = Cls(...)`` in a function: remember the constructor, so that ``x.m()``
        # can be looked up in Cls rather than in every definition named ``m``.
        scope = self._scopes[-1]
        if scope.kind == "function" and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            chain = _chain(node.value) if isinstance(node.value, cst.Call) else ()
            module = _imported_module(node.value)
            if module is not None:  # m = importlib.import_module("a.b"): m is the module a.b
                scope.imports[name] = (tuple(module.split(".")), 0)
            elif chain:
                scope.constructors.setdefault(name, set()).add(chain)
        return True

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        self._bind(node.target)
        self._visit(node.annotation)
        if node.value is not None:
            self._visit(node.value)
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        self._visit(node.target)  # read as well as written
        self._bind(node.target)
        self._visit(node.operator)
        self._visit(node.value)
        return False

    def visit_For(self, node: cst.For) -> bool:
        self._bind(node.target)
        self._visit(node.iter)
        self._visit(node.body)
        if node.orelse is not None:
            self._visit(node.orelse)
        return False

    def visit_AsName(self, node: cst.AsName) -> bool:
        self._bind(node.name)
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        # The walrus binds in the nearest function (or module) scope, not a comprehension's.
        self._bind(node.target)
        self._visit(node.value)
        return False

    def visit_Del(self, node: cst.Del) -> bool:
        self._bind(node.target)
        return False

    def visit_Global(self, node: cst.Global) -> bool:
        scope = self._scopes[-1]
        for item in node.names:
            scope.global_names.add(item.name.value)
        return False

    def visit_Nonlocal(self, node: cst.Nonlocal) -> bool:
        return False  # the name stays local to an enclosing function: nothing global

    def visit_MatchAs(self, node: cst.MatchAs) -> bool:
        if node.name is not None:
            self._bind(node.name)
        if node.pattern is not None:
            self._visit(node.pattern)
        return False

    def visit_MatchStar(self, node: cst.MatchStar) -> bool:
        if node.name is not None:
            self._bind(node.name)
        return False

    def visit_MatchMapping(self, node: cst.MatchMapping) -> bool:
        for element in node.elements:
            self._visit(element)
        if node.rest is not None:
            self._bind(node.rest)
        return False

    def visit_MatchKeywordElement(self, node: cst.MatchKeywordElement) -> bool:
        self._visit(node.pattern)
        return False

    # -- scopes that are functions without being symbols ---------------------

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        for param in _all_params(node.params):
            if param.default is not None:
                self._visit(param.default)
        scope = _Scope("function", assigned={p.name.value for p in _all_params(node.params)})
        self._push(scope)
        self._visit(node.body)
        self._pop()
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._comprehension(node.for_in, (node.elt,))

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._comprehension(node.for_in, (node.elt,))

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._comprehension(node.for_in, (node.elt,))

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._comprehension(node.for_in, (node.key, node.value))

    def _comprehension(self, for_in: cst.CompFor, parts: Sequence[cst.CSTNode]) -> bool:
        self._push(_Scope("function"))
        comp: cst.CompFor | None = for_in
        while comp is not None:
            self._bind(comp.target)
            self._visit(comp.iter)
            for cond in comp.ifs:
                self._visit(cond)
            comp = comp.inner_for_in
        for part in parts:
            self._visit(part)
        self._pop()
        return False

    # -- uses -----------------------------------------------------------------

    def visit_Name(self, node: cst.Name) -> bool:
        self._use((node.value,), checks=id(node) in self._checked)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        attrs: list[str] = []
        base: cst.BaseExpression = node
        while isinstance(base, cst.Attribute):
            attrs.append(base.attr.value)
            self._owner.tokens.append(base.attr.value)
            base = base.value
        attrs.reverse()
        if isinstance(base, cst.Name):
            self._owner.tokens.append(base.value)
            if "__dict__" in attrs:
                self._reflection(base, tuple(attrs[: attrs.index("__dict__")]))
            self._use((base.value, *attrs), checks=id(node) in self._checked, stores=id(node) in self._stored)
            return False
        if _is_super_call(base):
            classname = self._scopes[-1].qualname
            self._owner.refs.add(Ref(RefKind.SUPER, (classname, attrs[0])))
            self._attrs(attrs[1:])
            self._visit(base)
            return False
        if isinstance(base, cst.Call) and isinstance(base.func, (cst.Name, cst.Attribute)) and _chain(base.func):
            # Cls(...).attr: looked up in Cls when Cls is a global class (decided at scope end).
            self._scopes[-1].uses.append(_Use(_chain(base.func), self._owner, instance_attr=attrs[0]))
            self._attrs(attrs[1:])
        elif not isinstance(base, _LITERALS):  # "".join(...): str's own method, not ours
            self._attrs(attrs)
        self._visit(base)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        if node.keyword is not None:
            self._owner.tokens.append(f"kw:{node.keyword.value}")
        if node.star:
            self._owner.tokens.append(node.star)
        self._visit(node.value)
        return False

    def visit_SimpleString(self, node: cst.SimpleString) -> bool:
        body = _string_body(node.value)
        if _INTERESTING_STRING.match(body):
            self._owner.refs.add(Ref(RefKind.STRING, (body,)))
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> bool:
        if node.type is not None:
            self._type_test(node.type)
        return True

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> bool:
        self._type_test(node.type)
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        chain = _chain(node.func)
        if chain in (("isinstance",), ("issubclass",)) and len(node.args) == 2 and not node.args[1].keyword:
            self._type_test(node.args[1].value)
        elif chain and chain[-1] == "cast" and len(node.args) == 2 and not node.args[0].keyword:
            self._type_test(node.args[0].value)  # typing.cast(C, x) returns x: no C is made
        if chain and not isinstance(node.func, cst.Call) and chain[-1] not in _INSPECTORS:
            # An object handed to another library's function (``sys.meta_path.append(
            # Finder())``, ``Thread(target=obj.run)``) may have any method called back.
            for arg in node.args:
                handed = _chain(arg.value)
                if handed and handed[0] not in ("self", "cls"):
                    # Decided at scope end: a function held in a local (a fixture, a local
                    # class) may be the project's, and then the call is in the graph.
                    self._scopes[-1].uses.append(_Use(chain, self._owner, escapes=handed))
        if chain and chain[-1] in _DOC_READERS:
            self._owner.refs.add(Ref(RefKind.ATTR, ("__doc__",)))  # help(x): x.__doc__, x of any type
        if chain and chain[-1] in ("usefixtures", "getfixturevalue"):
            self._owner.usefixtures.extend(s for s in (_string_arg(a) for a in node.args) if s)
        elif chain and chain[-1] in _MUTATORS and isinstance(node.func, cst.Attribute):
            self._mutation(node.func.value)
            if isinstance(node.func.value, cst.Name):
                # TABLE.append(x) writes TABLE and does not depend on what it holds; but
                # mod.add(x) calls a function: which one it is is settled at resolution.
                self._owner.tokens.append(f"mutate:{node.func.value.value}.{node.func.attr.value}")
                self._scopes[-1].uses.append(_Use(chain, self._owner, mutator=True))
                for arg in node.args:
                    self._visit(arg)
                return False
        elif chain and chain[-1] in _ATTRIBUTE_BY_NAME and len(node.args) >= 2:
            # getattr(obj, "name"), mock.patch.object(obj, "name"), monkeypatch.setattr(obj, "name", v)
            literal = _string_arg(node.args[1])
            target = _chain(node.args[0].value) if not isinstance(node.args[0].value, cst.Call) else ()
            if literal is not None and literal.isidentifier():
                self._owner.refs.add(Ref(RefKind.ATTR, (literal,)))
                if target:
                    self._use((*target, literal))
            else:
                self._reflection(node.args[0].value)
        elif chain and (chain in (("vars",), ("dir",)) or chain[-1] in _REFLECTORS) and node.args:
            self._reflection(node.args[0].value)
        elif chain in (("importlib", "import_module"), ("import_module",), ("__import__",)):
            literal = _string_arg(node.args[0]) if node.args else None
            if literal is not None and not literal.startswith("."):
                self._owner.refs.add(Ref(RefKind.IMPORT, (literal,)))
            else:
                self._owner.refs.add(Ref(RefKind.STRING, ("*dynamic-import*",)))
                self._dynamic.append("dynamic import with a computed module name")
        elif _loads_code(chain, node):
            self._owner.refs.add(Ref(RefKind.STRING, (LOADS_CODE,)))
        return True

    # -- helpers --------------------------------------------------------------

    def _prefix(self) -> str:
        return "".join(c + "." for c in self._class_stack)

    def _at_module_level(self) -> bool:
        return self._scopes[-1].kind == "module"

    def _enter_def(
        self, name: str, kind: SymbolKind, decorators: Sequence[cst.Decorator]
    ) -> tuple[str, _Sym | None, _Sym]:
        outer = self._owner
        qualname = self._prefix() + name
        line = self._next_def_line(name)
        line = line - self._decorator_lines(len(decorators)) if line else 0
        if not self._symbol_level:
            self._owner.tokens.append(f"{kind.value}:{name}")
            return qualname, None, outer
        sym = self._new_symbol(qualname, kind, line)
        sym.tokens.append(f"{kind.value}:{name}")
        sym.decorators = [
            (*c, "()") if isinstance(d.decorator, cst.Call) else c
            for c, d in ((_chain(d.decorator), d) for d in decorators)
            if c
        ]
        sym.fixture = _fixture(name, decorators)
        self._owner = sym
        if kind is SymbolKind.FUNCTION:
            self._symbol_level = False
        return qualname, sym, outer

    def _leave_def(self, outer: _Sym) -> None:
        self._owner = outer
        self._symbol_level = outer.kind in (SymbolKind.MODULE, SymbolKind.CLASS) and (
            outer.kind is SymbolKind.MODULE or bool(self._class_stack)
        )

    def _decorator_lines(self, count: int) -> int:
        """How far above the ``def`` line its first decorator starts."""
        if not count or not self._def_index:
            return 0
        line = self._def_lines[self._def_index - 1][1]
        lines = self._lines
        seen, back = 0, 0
        while seen < count and line - back - 2 >= 0:
            back += 1
            if lines[line - back - 1].lstrip().startswith("@"):
                seen += 1
        return back if seen == count else 0

    def _next_def_line(self, name: str) -> int:
        lines = self._def_lines
        while self._def_index < len(lines):
            found, line = lines[self._def_index]
            self._def_index += 1
            if found == name:
                return line
        return 0

    def _new_symbol(self, qualname: str, kind: SymbolKind, line: int) -> _Sym:
        sym = _Sym(qualname, kind, line)
        self._syms.append(sym)
        return sym

    def _bind(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            scope = self._scopes[-1]
            if scope.kind == "function" and target.value in scope.global_names:
                self._owner.refs.add(Ref(RefKind.WRITE, (target.value,)))
            else:
                scope.assigned.add(target.value)
                scope.binds[target.value] = scope.binds.get(target.value, 0) + 1
            self._owner.tokens.append(f"bind:{target.value}")
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            # TABLE[key] = value writes TABLE without depending on what it holds: no use of
            # TABLE (a registry's writers must not depend on everything filed in it).
            self._mutation(target)
            self._owner.tokens.append(f"store:{target.value.value}")
            for element in target.slice:
                self._visit(element)
        else:
            self._mutation(target)
            if isinstance(target, cst.Attribute):
                self._stored.add(id(target))  # x.attr = ...: needs x bound; a setter of attr runs
            self._visit(target)  # x[i][j] = ...: reads x

    def _reflection(self, target: cst.CSTNode, attrs: tuple[str, ...] = ()) -> None:
        """Record that every attribute of ``target`` (a dotted name) may be read."""
        chain = _chain(target) if not isinstance(target, cst.Call) else ()
        if chain:
            self._scopes[-1].uses.append(_Use((*chain, *attrs), self._owner, reflects=True))
        else:
            self._dynamic.append("reflection over an object of unknown type")

    def _mutation(self, target: cst.CSTNode) -> None:
        """Record that the object at the root of ``target`` is changed in place."""
        while isinstance(target, (cst.Attribute, cst.Subscript)):
            target = target.value
        if isinstance(target, cst.Name):
            nested = len(self._scopes) > self._owner.body_depth
            self._scopes[-1].uses.append(_Use((target.value,), self._owner, mutates=True, nested=nested))

    def _use(self, chain: tuple[str, ...], checks: bool = False, stores: bool = False) -> None:
        use = _Use(chain, self._owner, import_time=self._import_time, checks=checks, stores=stores)
        self._scopes[-1].uses.append(use)

    def _type_test(self, node: cst.BaseExpression) -> None:
        """The classes of ``isinstance(x, C)``, ``except (A, B)``: compared with, not called or held."""
        for element in (e.value for e in node.elements) if isinstance(node, cst.Tuple) else (node,):
            if isinstance(element, (cst.Name, cst.Attribute)):
                self._checked.add(id(element))

    @contextlib.contextmanager
    def _at_import(self, active: bool, inert: bool = False) -> Iterator[None]:
        """Decorators, defaults and annotations of a module or class level definition run at import."""
        outer = self._import_time
        if active and not outer:
            self._import_time = MARKS_QUALNAME if inert else IMPORT_QUALNAME
        try:
            yield
        finally:
            self._import_time = outer

    def _visit_at_import(self, node: cst.CSTNode, inert: bool, active: bool) -> None:
        """Visit ``node``, a decorator, default or annotation: it runs at import."""
        with self._at_import(active, inert):
            self._visit(node)

    def _import_symbol(self, qualname: str) -> _Sym:
        """``<import>``: what the module's definitions run when it is imported; ``<marks>``:
        the part of it that can only fail (see ``_inert``).

        A test module whose decorators, parametrize arguments or defaults raise
        fails to import, and then every test in it fails.
        """
        sym = self._import_syms.get(qualname)
        if sym is None:
            sym = self._import_syms[qualname] = self._new_symbol(qualname, SymbolKind.NAME, 0)
        return sym

    def _attrs(self, attrs: Iterable[str]) -> None:
        for attr in attrs:
            self._owner.refs.add(Ref(RefKind.ATTR, (attr,)))

    def _push(self, scope: _Scope) -> None:
        self._scopes.append(scope)

    def _pop(self) -> None:
        self._close_scope(self._scopes.pop())

    def _close_scope(self, scope: _Scope) -> None:
        parent = self._scopes[-1] if self._scopes else None
        for use in scope.uses:
            name = use.chain[0]
            if scope.kind == "module" or name in scope.global_names:
                self._global(use)
            elif scope.kind == "class":
                if use.direct and name in scope.assigned:
                    if not use.escapes:
                        use.owner.refs.add(Ref(RefKind.CLASS_LOCAL, (scope.qualname, *use.chain)))
                    continue
                self._propagate(use, parent)
            elif name in scope.assigned:
                self._local(use, scope)
            else:
                self._propagate(use, parent)

    def _constructor(self, name: str, scope: _Scope) -> tuple[str, ...] | None:
        """The one constructor call every binding of local ``name`` comes from, if any."""
        chains = scope.constructors.get(name)
        if not chains or len(chains) != 1 or scope.binds.get(name, 0) != 1:
            return None
        (chain,) = chains
        # The constructor must be a module global, not a local of this or an enclosing function.
        if any(s.kind == "function" and chain[0] in s.assigned for s in (scope, *self._scopes)):
            return None
        return chain

    def _propagate(self, use: _Use, parent: _Scope | None) -> None:
        if parent is None:
            return
        use.direct = False
        parent.uses.append(use)

    def _global(self, use: _Use) -> None:
        if use.escapes:
            use.owner.refs.add(Ref(RefKind.ESCAPE, (*use.chain, "", *use.escapes)))
            return
        if use.mutator:
            use.owner.refs.add(Ref(RefKind.MUTATOR, use.chain))
            return
        if use.instance_attr is not None:
            use.owner.refs.add(Ref(RefKind.INSTANCE, (use.instance_attr, *use.chain)))
            return
        if use.stores:
            use.owner.refs.add(Ref(RefKind.STORE, use.chain))
        elif not use.mutates:  # a write alone does not depend on what the global holds
            use.owner.refs.add(Ref(RefKind.CHECK if use.checks else RefKind.GLOBAL, use.chain))
            if use.import_time:
                self._import_symbol(use.import_time).refs.add(Ref(RefKind.GLOBAL, use.chain))
        if use.mutates and use.owner.kind is SymbolKind.FUNCTION:
            # level 1: the write happens in a nested function (a decorator's wrapper,
            # at call time), not when the owner itself runs.
            use.owner.refs.add(Ref(RefKind.WRITE, use.chain[:1], 1 if use.nested else 0))
        if use.reflects:
            use.owner.refs.add(Ref(RefKind.REFLECT, ("", *use.chain)))

    def _local(self, use: _Use, scope: _Scope) -> None:
        if use.escapes:
            return  # a local function: it may be the project's

        if use.mutator and scope.imports.get(use.chain[0]) is None:
            use.owner.refs.add(Ref(RefKind.ATTR, use.chain[1:]))
            return
        if use.instance_attr is not None:  # made by a local callable: any definition of the name
            use.owner.refs.add(Ref(RefKind.ATTR, (use.instance_attr,)))
            return
        imported = scope.imports.get(use.chain[0])
        if imported is not None:
            prefix, level = imported
            use.owner.refs.add(Ref(RefKind.IMPORT, (*prefix, *use.chain[1:]), level))
            if use.reflects:  # getattr(m, name) with m imported in the function
                use.owner.refs.add(Ref(RefKind.REFLECT, ("@import", *prefix, *use.chain[1:]), level))
            return
        rest = use.chain[1:]
        if not rest:
            return
        if use.reflects and use.chain[0] == scope.self_name and scope.qualname and len(use.chain) == 1:
            use.owner.refs.add(Ref(RefKind.REFLECT, (scope.qualname,)))
            return
        if use.reflects:
            self._dynamic.append("reflection over an object of unknown type")
        constructor = self._constructor(use.chain[0], scope)
        if constructor is not None:
            use.owner.refs.add(Ref(RefKind.INSTANCE, (rest[0], *constructor)))
            self._attrs(rest[1:])
            return
        if use.chain[0] == scope.self_name and scope.qualname:
            use.owner.refs.add(Ref(RefKind.SELF, (scope.qualname, rest[0])))
            rest = rest[1:]
        self._attrs(rest)


_METHODS: dict[type[cst.CSTNode], Callable[[_Walker, Any], bool | None]] = {}
# Per type, computed once: isinstance on libcst's ABCs is slow when the answer is no
# (``abc.__instancecheck__``), and the walk asks for every node and every field value.
#: node type -> (is layout, gets a fingerprint marker, kind of token: _PLAIN, _VALUE or _STRING)
_FLAGS: dict[type[cst.CSTNode], tuple[bool, bool, int]] = {}
#: any type -> whether its instances are syntax tree nodes
_NODE_TYPES: dict[type, bool] = {}
_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}
_PLAIN, _VALUE, _STRING = 0, 1, 2


def _no_method(walker: _Walker, node: cst.CSTNode) -> bool:
    return True


def _is_node(kind: type) -> bool:
    found = _NODE_TYPES.get(kind)
    if found is None:
        found = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return found


def _flags(kind: type[cst.CSTNode]) -> tuple[bool, bool, int]:
    leaf = _VALUE if issubclass(kind, _LEAF_VALUE) else _STRING if issubclass(kind, cst.SimpleString) else _PLAIN
    return issubclass(kind, _LAYOUT), not issubclass(kind, _UNMARKED), leaf


def _fields(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        # Whitespace and bracket fields hold layout only: never walked.
        skip = ("whitespace", "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon")
        names = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if not any(f.name.startswith(x) or f.name.endswith(x) for x in skip)
        )
        names = tuple(
            n for n in names if n not in ("leading_lines", "lines_after_decorators", "header", "footer", "newline")
        )
        _FIELDS[kind] = names
    return names


def _def_lines(text: str) -> list[tuple[str, int]]:
    """Every ``def``/``class`` line: (name, line number), counting newlines once, not once per match."""
    found = []
    line, counted = 1, 0
    for match in _DEF_LINE.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        found.append((match.group(1), line))
    return found


def _token(node: cst.CSTNode, leaf: int) -> str:
    if leaf == _PLAIN:
        return type(node).__name__
    if leaf == _VALUE:
        return f"{type(node).__name__}:{node.value}"  # type: ignore[attr-defined]
    return "str:" + _string_body(node.value, keep_prefix=True)  # type: ignore[attr-defined]


def _string_body(value: str, keep_prefix: bool = False) -> str:
    start = 0
    while start < len(value) and value[start] not in "'\"":
        start += 1
    quote = value[start : start + 3] if value[start : start + 3] in ('"""', "'''") else value[start : start + 1]
    body = value[start + len(quote) : len(value) - len(quote)]
    return value[:start].lower() + ":" + body if keep_prefix else body


def _signature(node: cst.FunctionDef) -> str:
    params = node.params
    parts = [p.name.value for p in params.posonly_params]
    parts.append("/")
    parts.extend(p.name.value for p in params.params)
    star = params.star_arg
    parts.append("*" + (star.name.value if isinstance(star, cst.Param) else ""))
    parts.extend(p.name.value for p in params.kwonly_params)
    if params.star_kwarg is not None:
        parts.append("**" + params.star_kwarg.name.value)
    return ("async " if node.asynchronous else "") + "sig:" + ",".join(parts)


def _parse_examples(source: str) -> cst.FunctionDef | None:
    """Doctest examples as the body of a function (``await`` allowed); None if they do not parse."""
    lines = "".join("    " + line + "\n" for line in source.splitlines()) or "    pass\n"
    try:
        module = cst.parse_module("async def _():\n" + lines)
    except Exception:  # a syntax error, or an input the native parser rejects
        return None
    function = module.body[0]
    return function if isinstance(function, cst.FunctionDef) else None


def _is_docstring(stmt: cst.CSTNode) -> bool:
    """A string literal alone as a statement (an f-string in it makes it code that runs)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return False
    value = stmt.body[0].value
    while isinstance(value, cst.ConcatenatedString):
        if not isinstance(value.left, cst.SimpleString):
            return False
        value = value.right
    return isinstance(value, cst.SimpleString)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left, right = test.left, test.comparisons[0].comparator
    values = {getattr(left, "value", None), getattr(right, "value", None)}
    return "__name__" in values and bool(values & {'"__main__"', "'__main__'"})


def _dotted(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return _dotted(node.value) + "." + node.attr.value
    raise TypeError(f"not a dotted name: {type(node).__name__}")


def _as_name(asname: cst.AsName) -> str:
    assert isinstance(asname.name, cst.Name)
    return asname.name.value


def _chain(node: cst.CSTNode) -> tuple[str, ...]:
    """``a.b.c`` -> ("a", "b", "c"); ``a.b(...)`` -> ("a", "b"); anything else -> ()."""
    if isinstance(node, cst.Call):
        node = node.func
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return ()
    parts.append(node.value)
    return tuple(reversed(parts))


def _imported_module(node: cst.BaseExpression) -> str | None:
    """``importlib.import_module("a.b")`` -> "a.b"."""
    if not isinstance(node, cst.Call) or _chain(node.func) not in (("importlib", "import_module"), ("import_module",)):
        return None
    literal = _string_arg(node.args[0]) if node.args else None
    return literal if literal and not literal.startswith(".") else None


def _unsubscript(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.Subscript):
        node = node.value
    return node


def _is_super_call(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return found


def _bound_names(line: cst.SimpleStatementLine) -> list[str] | None:
    """The names a module/class-level line binds by assignment, or None."""
    if len(line.body) != 1:
        return None
    stmt = line.body[0]
    targets: list[cst.BaseExpression]
    if isinstance(stmt, cst.Assign):
        targets = [t.target for t in stmt.targets]
    elif isinstance(stmt, (cst.AnnAssign, cst.AugAssign)):
        targets = [stmt.target]
    else:
        return None
    names: list[str] = []
    for target in targets:
        names.extend(_target_names(target))
    return names or None


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _literal_strings(stmt: cst.BaseSmallStatement) -> list[str] | None:
    value = getattr(stmt, "value", None)
    if not isinstance(value, (cst.List, cst.Tuple)):
        return None
    found = []
    for element in value.elements:
        if not isinstance(element.value, cst.SimpleString):
            return None
        found.append(_string_body(element.value.value))
    return found


def _loads_code(chain: tuple[str, ...], node: cst.Call) -> bool:
    """``runpy.run_path(p)``, ``spec_from_file_location(n, p)``, ``exec(text)``: code run from a file or string."""
    if not chain or chain[-1] not in _CODE_LOADERS:
        return False
    if chain[-1] in ("exec", "execfile"):  # the builtins (not ``cursor.exec``), on a computed string
        return len(chain) == 1 and not (node.args and _string_arg(node.args[0]) is not None)
    return True


#: Calls an import-time expression may make and still be inert: pytest's marks and
#: params, and standard library probes that only read (``skipif`` conditions).
_INERT_CALLS = frozenset(
    {
        ("pytest", "param"), ("shutil", "which"), ("os", "getenv"), ("os", "environ", "get"), ("hasattr",),
        ("sys", "platform", "startswith"), ("platform", "system"), ("platform", "machine"),
        ("platform", "python_implementation"), ("importlib", "util", "find_spec"),
    }
)  # fmt: skip
_INERT_LEAVES = (cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis, cst.Name, cst.Attribute)


def _is_mark(decorator: cst.BaseExpression) -> bool:
    """``@pytest.mark.slow``, ``@pytest.mark.parametrize(...)`` with inert arguments: a
    decorator that only records a mark on what it decorates (any other may act on it)."""
    return _chain(decorator)[:2] == ("pytest", "mark") and _inert(decorator)


def _inert(node: cst.BaseExpression) -> bool:
    """An expression that can fail but not act: it looks names up, builds literals,
    containers and lambdas, applies operators, and calls only pytest's marks and the
    probes of ``_INERT_CALLS``.

    (``@pytest.mark.parametrize("x", [1, 2])``, ``@pytest.mark.skipif(sys.platform ==
    "win32", reason="...")``, ``x: int = 0``.) What it can do to other code is fail the
    module's import or collection, which a run of any test of the module shows.
    """
    if isinstance(node, _INERT_LEAVES):
        return not isinstance(node, cst.Attribute) or bool(_chain(node))
    if isinstance(node, cst.ConcatenatedString):
        return _inert(node.left) and _inert(node.right)
    if isinstance(node, cst.Lambda):  # its body runs later; its defaults run now
        return all(p.default is None or _inert(p.default) for p in _all_params(node.params))
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(isinstance(e, cst.Element) and _inert(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _inert(e.key) and _inert(e.value) for e in node.elements)
    if isinstance(node, cst.Subscript):  # Optional[int], list[str]
        return _inert(node.value) and all(isinstance(e.slice, cst.Index) and _inert(e.slice.value) for e in node.slice)
    if isinstance(node, cst.UnaryOperation):
        return _inert(node.expression)
    if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
        return _inert(node.left) and _inert(node.right)
    if isinstance(node, cst.Comparison):
        return _inert(node.left) and all(_inert(c.comparator) for c in node.comparisons)
    if isinstance(node, cst.Call):
        chain = _chain(node.func)
        if not isinstance(node.func, (cst.Name, cst.Attribute)) or not (
            chain[:2] == ("pytest", "mark") or chain in _INERT_CALLS
        ):
            return False
        return all(not a.star and _inert(a.value) for a in node.args)
    return False


def _string_arg(arg: cst.Arg) -> str | None:
    if isinstance(arg.value, cst.SimpleString) and arg.keyword is None:
        return _string_body(arg.value.value)
    return None


def _fixture(name: str, decorators: Sequence[cst.Decorator]) -> Fixture | None:
    for deco in decorators:
        chain = _chain(deco.decorator)
        if not chain or chain[-1] not in ("fixture", "yield_fixture"):
            continue
        fixture_name, autouse = name, False
        if isinstance(deco.decorator, cst.Call):
            for arg in deco.decorator.args:
                keyword = arg.keyword.value if arg.keyword is not None else None
                if keyword == "name" and isinstance(arg.value, cst.SimpleString):
                    fixture_name = _string_body(arg.value.value)
                elif keyword == "autouse":
                    autouse = not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
        return Fixture(fixture_name, autouse)
    return None


def _digest(text: str) -> int:
    """A fingerprint: 96 bits of hash, kept as an int (40 bytes, not a 73-byte hex string)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=12).digest(), "big")


def _freeze(sym: _Sym) -> Symbol:
    digest = _digest("\x00".join(sym.tokens))
    return Symbol(
        qualname=sym.qualname,
        kind=sym.kind,
        line=sym.line,
        fingerprint=digest,
        refs=tuple(sorted(sym.refs, key=lambda r: (r.kind.value, r.chain, r.level))),
        targets=tuple(sym.targets),
        params=sym.params,
        bases=tuple(sym.bases),
        fixture=sym.fixture,
        usefixtures=tuple(dict.fromkeys(sym.usefixtures)),
        decorators=tuple(sym.decorators),
        is_static=sym.is_static,
        metaclass=sym.metaclass,
    )


def _merge(old: Symbol | None, new: Symbol) -> Symbol:
    """Two definitions of one qualname (``if``/``else`` branches, redefinitions) are one symbol."""
    if old is None:
        return new
    digest = _digest(f"{old.fingerprint}:{new.fingerprint}")
    return Symbol(
        qualname=old.qualname,
        kind=old.kind,
        line=old.line or new.line,
        fingerprint=digest,
        refs=tuple(dict.fromkeys((*old.refs, *new.refs))),
        targets=tuple(dict.fromkeys((*old.targets, *new.targets))),
        params=tuple(dict.fromkeys((*old.params, *new.params))),
        bases=tuple(dict.fromkeys((*old.bases, *new.bases))),
        fixture=old.fixture or new.fixture,
        usefixtures=tuple(dict.fromkeys((*old.usefixtures, *new.usefixtures))),
        decorators=tuple(dict.fromkeys((*old.decorators, *new.decorators))),
        is_static=old.is_static and new.is_static,
        metaclass=old.metaclass or new.metaclass,
    )
