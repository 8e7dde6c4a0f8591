"""Property tests of extraction and change detection on generated and mutated Python.

A small generator builds Python modules from random identifiers: imports, assignments,
functions (async ones too) and classes with methods and nested classes, whose bodies
hold the common statements (if/for/while/try/with/match, nested defs, global, yield,
return, raise, assert, del) and expressions (calls, attributes, subscripts and slices,
operators, comparisons, lambdas, comprehensions, f-strings, walrus). A module is a
plain data model rendered to text by ``render``; a random ``Layout`` renders the same
model with other layout: comments, blank lines, indentation, continuation lines inside
brackets and after backslashes, spacing, redundant parentheses, quote style, line endings.

Properties:
  (a) extract never raises on valid Python, and finds every class, function, method,
      assignment and import of the model as a symbol of the right kind;
  (b) one function's body edited (a statement inserted, a constant changed): compare
      reports exactly that function as modified, every other symbol unchanged;
  (c) layout alone changes nothing: compare reports no change;
  (d) bytes of the sample projects' files, mutated at random: extract_bytes returns a
      FileSymbols or a ParseFailure, never raises.

``IMPACTSEL_FUZZ_EXAMPLES=N`` runs N examples per property instead of the suite's few.
"""

from __future__ import annotations

import keyword
import os
import random
import string
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from impactsel.batch import extract_bytes
from impactsel.changes import compare
from impactsel.model import ChangeCause, ChangedSymbol, FileSymbols, ParseFailure, SymbolId, SymbolKind

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
PATH = PurePosixPath("m.py")
FUZZ_EXAMPLES = int(os.environ.get("IMPACTSEL_FUZZ_EXAMPLES", "0"))


def examples(default: int) -> settings:
    return settings(
        max_examples=FUZZ_EXAMPLES or default,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- the model ---------------------------------------------------------------------------------
#
# Expressions are tuples ("int", 3), ("name", "x"), ("call", func, args, keywords), ...
# Statements and definitions are dicts with a "kind"; bodies are lists of statements.

IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>", "and", "or"]
CMPOPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"]
TEXT = st.text(alphabet=string.ascii_letters + string.digits + " _.-", max_size=10)

ATOM = st.one_of(
    st.integers(0, 10**9).map(lambda n: ("int", n)),
    TEXT.map(lambda s: ("str", s)),
    st.sampled_from(["None", "True", "False", "..."]).map(lambda c: ("const", c)),
    IDENT.map(lambda n: ("name", n)),
)
FSTRING_PART = st.one_of(
    st.text(alphabet=string.ascii_letters + " .-", min_size=1, max_size=6).map(lambda s: ("text", s)),
    st.tuples(IDENT, st.one_of(st.none(), IDENT), st.booleans()).map(lambda t: ("field", *t)),
)


def _compound(children: st.SearchStrategy) -> st.SearchStrategy:
    maybe = st.one_of(st.none(), children)
    return st.one_of(
        st.tuples(st.just("attr"), children, IDENT),
        st.tuples(
            st.just("call"),
            children,
            st.lists(children, max_size=3),
            # keywords made unique by a map, not unique_by: the retry event of a filter
            # prints the (huge) repr of this recursive strategy
            st.lists(st.tuples(IDENT, children), max_size=2).map(lambda kvs: list(dict(kvs).items())),
        ),
        st.tuples(st.just("bin"), st.sampled_from(BINOPS), children, children),
        st.tuples(st.just("cmp"), st.sampled_from(CMPOPS), children, children),
        st.tuples(st.just("unary"), st.sampled_from(["-", "+", "~", "not"]), children),
        st.tuples(st.just("list"), st.lists(children, max_size=3)),
        st.tuples(st.just("tuple"), st.lists(children, max_size=3)),
        st.tuples(st.just("set"), st.lists(children, min_size=1, max_size=3)),
        st.tuples(st.just("dict"), st.lists(st.tuples(children, children), max_size=3)),
        st.tuples(st.just("sub"), children, children),
        st.tuples(st.just("slice"), children, maybe, maybe),
        st.tuples(st.just("ifexp"), children, children, children),
        st.tuples(st.just("lambda"), st.lists(IDENT, max_size=2, unique=True), children),
        st.tuples(st.just("comp"), st.sampled_from(["list", "set", "gen", "dict"]), children, IDENT, children, maybe),
        st.tuples(st.just("fstr"), st.lists(FSTRING_PART, max_size=3)),
        st.tuples(st.just("walrus"), IDENT, children),
    )


EXPR = st.recursive(ATOM, _compound, max_leaves=6)


@st.composite
def statements(draw, depth: int = 0, in_loop: bool = False, in_async: bool = False, size: int = 3) -> list[dict]:
    """A function body (never empty)."""
    simple = [
        st.builds(lambda v: {"kind": "return", "value": v}, st.one_of(st.none(), EXPR)),
        st.builds(lambda v: {"kind": "expr", "value": v}, EXPR),
        st.builds(lambda t, v: {"kind": "assign", "target": t, "value": v}, IDENT, EXPR),
        st.builds(lambda t, a, v: {"kind": "annassign", "target": t, "annotation": a, "value": v}, IDENT, EXPR, EXPR),
        st.builds(
            lambda t, op, v: {"kind": "augassign", "target": t, "op": op, "value": v},
            IDENT,
            st.sampled_from(["+", "-", "*", "|"]),
            EXPR,
        ),
        st.just({"kind": "pass"}),
        st.builds(lambda v: {"kind": "raise", "value": v}, EXPR),
        st.builds(lambda v, m: {"kind": "assert", "value": v, "message": m}, EXPR, st.one_of(st.none(), EXPR)),
        st.builds(lambda t: {"kind": "del", "target": t}, IDENT),
        st.builds(lambda v: {"kind": "yield", "value": v}, st.one_of(st.none(), EXPR)),
    ]
    if in_loop:
        simple.append(st.sampled_from([{"kind": "break"}, {"kind": "continue"}]))
    if in_async:
        simple.append(st.builds(lambda v: {"kind": "await", "value": v}, EXPR))
    options = list(simple)
    if depth < 2:
        body = statements(depth=depth + 1, in_loop=in_loop, in_async=in_async, size=2)
        loop_body = statements(depth=depth + 1, in_loop=True, in_async=in_async, size=2)
        maybe_body = st.one_of(st.none(), body)
        options += [
            st.builds(lambda c, b, e: {"kind": "if", "test": c, "body": b, "orelse": e}, EXPR, body, maybe_body),
            st.builds(
                lambda t, i, b, e: {"kind": "for", "target": t, "iter": i, "body": b, "orelse": e},
                IDENT,
                EXPR,
                loop_body,
                maybe_body,
            ),
            st.builds(lambda c, b: {"kind": "while", "test": c, "body": b}, EXPR, loop_body),
            st.builds(
                lambda b, h, f: {"kind": "try", "body": b, "handlers": h, "final": f if h else f or [{"kind": "pass"}]},
                body,
                st.lists(st.tuples(st.one_of(st.none(), IDENT), st.one_of(st.none(), IDENT), body), max_size=2).map(
                    # a bare except: comes last
                    lambda hs: [
                        (t or ("E" if i < len(hs) - 1 else None), a if t else None, b) for i, (t, a, b) in enumerate(hs)
                    ]
                ),
                maybe_body,
            ),
            st.builds(
                lambda items, b: {"kind": "with", "items": items, "body": b},
                st.lists(st.tuples(EXPR, st.one_of(st.none(), IDENT)), min_size=1, max_size=2),
                body,
            ),
            st.builds(
                lambda s, cases, b: {"kind": "match", "subject": s, "cases": cases, "default": b},
                EXPR,
                st.lists(
                    st.tuples(st.one_of(st.integers(0, 99), TEXT, st.lists(IDENT, max_size=2, unique=True)), body),
                    min_size=1,
                    max_size=2,
                ),
                maybe_body,
            ),
            functions(depth=depth + 1),
        ]
    body = draw(st.lists(st.one_of(*options), min_size=1, max_size=size))
    if depth == 0 and draw(st.booleans()):
        body.insert(0, {"kind": "global", "names": draw(st.lists(IDENT, min_size=1, max_size=2, unique=True))})
    if draw(st.integers(0, 4)) == 0:
        body.insert(0, {"kind": "expr", "value": ("str", draw(TEXT))})  # a docstring
    return body


@st.composite
def functions(draw, depth: int = 0, name: str | None = None, method: bool = False) -> dict:
    is_async = draw(st.integers(0, 4)) == 0
    params = draw(st.lists(IDENT.filter(lambda p: p not in ("self", "args", "kw")), max_size=3, unique=True))
    if method:
        params = ["self", *params]
    defaults = draw(st.lists(EXPR, max_size=len(params)))
    return {
        "kind": "def",
        "name": name or draw(IDENT),
        "async": is_async,
        "params": params,
        "defaults": defaults,  # for the last len(defaults) params
        "star": draw(st.sampled_from([None, "args"])),
        "kwargs": draw(st.sampled_from([None, "kw"])),
        "returns": draw(st.one_of(st.none(), EXPR)),
        "decorators": draw(st.lists(st.tuples(IDENT, st.one_of(st.none(), st.lists(EXPR, max_size=2))), max_size=2)),
        "body": draw(statements(depth=depth, in_async=is_async)),
    }


@st.composite
def classes(draw, name: str, depth: int = 0) -> dict:
    names = draw(st.lists(IDENT, min_size=0, max_size=4, unique=True).filter(lambda ns: "self" not in ns))
    members: list[dict] = []
    for member in names:
        kind = draw(st.sampled_from(["assign", "def", "def", "class"] if depth == 0 else ["assign", "def"]))
        if kind == "assign":
            members.append({"kind": "assign", "target": member, "value": draw(EXPR)})
        elif kind == "def":
            members.append(draw(functions(depth=1, name=member, method=True)))
        else:
            members.append(draw(classes(name=member, depth=depth + 1)))
    return {
        "kind": "class",
        "name": name,
        "bases": draw(
            st.lists(
                st.one_of(
                    IDENT.map(lambda n: ("name", n)),
                    st.tuples(st.just("attr"), IDENT.map(lambda n: ("name", n)), IDENT),
                ),
                max_size=2,
            )
        ),
        "keywords": draw(st.lists(st.tuples(st.just("metaclass"), IDENT.map(lambda n: ("name", n))), max_size=1)),
        "decorators": draw(st.lists(st.tuples(IDENT, st.none()), max_size=1)),
        "doc": draw(st.one_of(st.none(), TEXT)),
        "body": members,
    }


@st.composite
def modules(draw) -> dict:
    names = draw(st.lists(IDENT, min_size=1, max_size=6, unique=True))
    items: list[dict] = []
    for name in names:
        kind = draw(st.sampled_from(["def", "def", "class", "assign", "import", "from"]))
        if kind == "def":
            items.append(draw(functions(name=name)))
        elif kind == "class":
            items.append(draw(classes(name=name)))
        elif kind == "assign":
            annotation = draw(st.one_of(st.none(), EXPR))
            items.append({"kind": "assign", "target": name, "value": draw(EXPR), "annotation": annotation})
        elif kind == "import":
            items.append({"kind": "import", "module": [name, *draw(st.lists(IDENT, max_size=2))]})
        else:
            module = draw(st.lists(IDENT, min_size=0, max_size=2))
            level = draw(st.integers(0 if module else 1, 2))
            items.append({"kind": "from", "module": module, "level": level, "name": draw(IDENT), "as": name})
    for _ in range(draw(st.integers(0, 2))):  # top-level code that binds nothing: <module>
        at = draw(st.integers(0, len(items)))
        items.insert(
            at, {"kind": "stmt", "value": ("call", ("name", draw(IDENT)), draw(st.lists(EXPR, max_size=2)), [])}
        )
    if draw(st.booleans()):
        items.append(
            {
                "kind": "from",
                "module": draw(st.lists(IDENT, min_size=1, max_size=2)),
                "level": 0,
                "name": "*",
                "as": None,
            }
        )
    return {"doc": draw(st.one_of(st.none(), TEXT)), "items": items}


# -- rendering --------------------------------------------------------------------------------------


class Layout:
    """Layout choices: none (the canonical rendering) or random ones from ``rng``."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng
        self.unit = rng.choice(["    ", "  ", " ", "\t", "        ", "   "]) if rng else "    "
        self.newline = rng.choice(["\n", "\n", "\r\n", "\r"]) if rng else "\n"  # Python reads all three alike

    def chance(self, p: float) -> bool:
        return self.rng is not None and self.rng.random() < p

    def indent(self, outer: str) -> str:
        if self.unit != "\t" and self.chance(0.3):
            return outer + " " * self.rng.randint(1, 7)  # every block may have its own depth
        return outer + self.unit

    def space(self) -> str:
        return "" if self.chance(0.3) else " "

    def comment(self) -> str:
        return "# " + "".join(
            self.rng.choice(string.ascii_letters + " #'\"()[]:") for _ in range(self.rng.randint(0, 12))
        )

    def trailing(self) -> str:
        if self.chance(0.15):
            return " " * self.rng.randint(0, 3) + "  " + self.comment()
        if self.chance(0.1):
            return " " * self.rng.randint(1, 3)  # trailing whitespace
        return ""

    def between(self, indent: str) -> list[str]:
        """Lines between two statements: blank ones, comments."""
        lines = []
        while self.chance(0.25):
            if self.rng.random() < 0.5:
                lines.append(" " * self.rng.randint(0, 6) if self.rng.random() < 0.3 else "")
            else:
                lines.append(self.rng.choice([indent, "", " " * self.rng.randint(0, 10)]) + self.comment())
        return lines

    def separator(self) -> str:
        """Between items inside brackets: a space, or a continuation line (with a comment)."""
        if self.chance(0.2):
            tail = ("  " + self.comment()) if self.chance(0.3) else ""
            return tail + "\n" + " " * self.rng.randint(0, 12)
        return self.space() if self.rng else " "

    def parens(self, text: str) -> str:
        return f"({text})" if self.chance(0.08) else text

    def quote(self) -> str:
        return self.rng.choice(["'", '"', "'''", '"""']) if self.rng else '"'


_PLAIN = {"name", "call", "attr", "sub", "slice", "str", "list", "tuple", "dict", "set", "fstr", "comp", "walrus"}
_COMPOUND = {"bin", "cmp", "unary", "ifexp", "lambda"}


def render_expr(e: Any, lay: Layout, inline: bool = False) -> str:
    """An expression; ``inline`` (inside an f-string field): no layout at all."""
    layout = Layout() if inline else lay
    return layout.parens(_expr(e, layout, inline))


def _operand(e: Any, lay: Layout, inline: bool = False) -> str:
    """An expression where any expression may stand: compound ones in parentheses."""
    text = render_expr(e, lay, inline)
    return f"({text})" if e[0] in _COMPOUND else text


def _primary(e: Any, lay: Layout, inline: bool) -> str:
    text = render_expr(e, lay, inline)
    return text if e[0] in _PLAIN else f"({text})"


def _items(values: list[str], lay: Layout, trailing_ok: bool = True) -> str:
    if not values:
        return ""
    sep = [lay.separator() for _ in values[1:]]
    text = values[0] + "".join("," + s + v for s, v in zip(sep, values[1:], strict=True))
    if trailing_ok and lay.chance(0.2):
        text += ","
    return text


def _expr(e: Any, lay: Layout, inline: bool) -> str:
    kind = e[0]
    if kind == "int":
        return str(e[1])
    if kind == "str":
        q = lay.quote()
        return f"{q}{e[1]}{q}"
    if kind == "const":
        return e[1]
    if kind == "name":
        return e[1]
    if kind == "attr":
        return f"{_primary(e[1], lay, inline)}.{e[2]}"
    if kind == "call":
        args = [_operand(a, lay, inline) for a in e[2]] + [f"{k}={_operand(v, lay, inline)}" for k, v in e[3]]
        return f"{_primary(e[1], lay, inline)}({_items(args, lay)})"
    if kind == "bin":
        left, right = _operand(e[2], lay, inline), _operand(e[3], lay, inline)
        s = " " if e[1] in ("and", "or") else lay.space()
        if lay.chance(0.1):
            return f"{left}{s}{e[1]} \\\n{' ' * lay.rng.randint(0, 9)}{right}"
        return f"{left}{s}{e[1]}{s}{right}"
    if kind == "cmp":
        s = " " if e[1][0].isalpha() else lay.space()
        return f"{_operand(e[2], lay, inline)}{s}{e[1]}{s}{_operand(e[3], lay, inline)}"
    if kind == "unary":
        return f"{e[1]}{' ' if e[1] == 'not' else ''}{_operand(e[2], lay, inline)}"
    if kind == "list":
        return "[" + _items([_operand(x, lay, inline) for x in e[1]], lay) + "]"
    if kind == "tuple":
        values = [_operand(x, lay, inline) for x in e[1]]
        if len(values) == 1:
            return f"({values[0]},)"
        return "(" + _items(values, lay) + ")"
    if kind == "set":
        return "{" + _items([_operand(x, lay, inline) for x in e[1]], lay) + "}"
    if kind == "dict":
        pairs = [f"{_operand(k, lay, inline)}:{lay.space()}{_operand(v, lay, inline)}" for k, v in e[1]]
        return "{" + _items(pairs, lay) + "}"
    if kind == "sub":
        return f"{_primary(e[1], lay, inline)}[{_operand(e[2], lay, inline)}]"
    if kind == "slice":
        parts = [_operand(x, lay, inline) if x is not None else "" for x in e[2:]]
        return f"{_primary(e[1], lay, inline)}[{parts[0]}:{parts[1]}]"
    if kind == "ifexp":
        return f"{_operand(e[1], lay, inline)} if {_operand(e[2], lay, inline)} else {_operand(e[3], lay, inline)}"
    if kind == "lambda":
        return f"lambda {', '.join(e[1])}: {_operand(e[2], lay, inline)}".replace("lambda :", "lambda:")
    if kind == "comp":
        _, form, elt, var, source, cond = e
        head = _operand(elt, lay, inline)
        if form == "dict":
            head = f"{head}: {head}"
        clause = f"{head} for {var} in {_operand(source, lay, inline)}"
        if cond is not None:
            clause += f" if {_operand(cond, lay, inline)}"
        return {"list": "[{}]", "set": "{{{}}}", "gen": "({})", "dict": "{{{}}}"}[form].format(clause)
    if kind == "fstr":
        parts = []
        for part in e[1]:
            if part[0] == "text":
                parts.append(part[1])
            else:
                _, name, attr, conversion = part
                parts.append("{" + name + (f".{attr}" if attr else "") + ("!r" if conversion else "") + "}")
        return 'f"' + "".join(parts) + '"'
    if kind == "walrus":
        return f"({e[1]} := {_operand(e[2], lay, inline)})"
    raise AssertionError(kind)


def _block(body: list[dict], lay: Layout, indent: str) -> list[str]:
    lines: list[str] = []
    for i, stmt in enumerate(body):
        if i:
            lines += lay.between(indent)
        lines += _stmt(stmt, lay, indent)
    return lines


def _header(text: str, lay: Layout, indent: str) -> str:
    return indent + text + ":" + lay.trailing()


def _stmt(s: dict, lay: Layout, indent: str) -> list[str]:
    kind = s["kind"]
    inner = lay.indent(indent)
    ex = lambda e: render_expr(e, lay)  # noqa: E731
    op = lambda e: _operand(e, lay)  # noqa: E731
    simple = {
        "return": lambda: "return" + (f" {ex(s['value'])}" if s.get("value") is not None else ""),
        "expr": lambda: ex(s["value"]),
        "assign": lambda: f"{s['target']}{lay.space()}={lay.space()}{ex(s['value'])}",
        "annassign": lambda: f"{s['target']}: {op(s['annotation'])} = {ex(s['value'])}",
        "augassign": lambda: f"{s['target']} {s['op']}= {ex(s['value'])}",
        "pass": lambda: "pass",
        "break": lambda: "break",
        "continue": lambda: "continue",
        "raise": lambda: f"raise {ex(s['value'])}",
        "assert": lambda: f"assert {ex(s['value'])}" + (f", {ex(s['message'])}" if s["message"] is not None else ""),
        "del": lambda: f"del {s['target']}",
        "yield": lambda: "yield" + (f" {ex(s['value'])}" if s["value"] is not None else ""),
        "await": lambda: f"await {op(s['value'])}",
        "global": lambda: "global " + ", ".join(s["names"]),
        "stmt": lambda: ex(s["value"]),
    }
    if kind in simple:
        return [indent + simple[kind]() + lay.trailing()]
    if kind == "if":
        lines = [_header(f"if {op(s['test'])}", lay, indent), *_block(s["body"], lay, inner)]
        if s["orelse"]:
            lines += [_header("else", lay, indent), *_block(s["orelse"], lay, lay.indent(indent))]
        return lines
    if kind == "for":
        lines = [_header(f"for {s['target']} in {op(s['iter'])}", lay, indent), *_block(s["body"], lay, inner)]
        if s["orelse"]:
            lines += [_header("else", lay, indent), *_block(s["orelse"], lay, lay.indent(indent))]
        return lines
    if kind == "while":
        return [_header(f"while {op(s['test'])}", lay, indent), *_block(s["body"], lay, inner)]
    if kind == "try":
        lines = [_header("try", lay, indent), *_block(s["body"], lay, inner)]
        for exc, alias, body in s["handlers"]:
            head = "except" + (f" {exc}" if exc else "") + (f" as {alias}" if alias else "")
            lines += [_header(head, lay, indent), *_block(body, lay, lay.indent(indent))]
        if s["final"]:
            lines += [_header("finally", lay, indent), *_block(s["final"], lay, lay.indent(indent))]
        return lines
    if kind == "with":
        # A tuple as the only item is parenthesized once more: 'with (a, b):' holds two items.
        items = ", ".join(
            (f"({op(e)})" if e[0] == "tuple" and not alias else op(e)) + (f" as {alias}" if alias else "")
            for e, alias in s["items"]
        )
        return [_header(f"with {items}", lay, indent), *_block(s["body"], lay, inner)]
    if kind == "match":
        lines = [_header(f"match {op(s['subject'])}", lay, indent)]
        for pattern, body in s["cases"]:
            if isinstance(pattern, int):
                text = str(pattern)
            elif isinstance(pattern, str):
                text = f'"{pattern}"'
            else:
                text = "[" + ", ".join(pattern) + "]"
            lines += [_header(f"case {text}", lay, inner), *_block(body, lay, lay.indent(inner))]
        if s["default"]:
            lines += [_header("case _", lay, inner), *_block(s["default"], lay, lay.indent(inner))]
        return lines
    if kind == "def":
        return _def(s, lay, indent)
    if kind == "class":
        return _class(s, lay, indent)
    if kind == "import":
        return [indent + "import " + ".".join(s["module"]) + lay.trailing()]
    if kind == "from":
        source = "." * s["level"] + ".".join(s["module"])
        alias = f" as {s['as']}" if s["as"] and s["as"] != s["name"] else ""
        return [indent + f"from {source} import {s['name']}{alias}" + lay.trailing()]
    raise AssertionError(kind)


def _decorators(decorators: list, lay: Layout, indent: str) -> list[str]:
    lines = []
    for name, args in decorators:
        call = "" if args is None else "(" + _items([render_expr(a, lay) for a in args], lay) + ")"
        lines += [indent + f"@{name}{call}" + lay.trailing(), *lay.between(indent)]
    return lines


def _def(f: dict, lay: Layout, indent: str) -> list[str]:
    params = list(f["params"])
    first_default = len(params) - len(f["defaults"])
    rendered = [
        p if i < first_default else f"{p}={render_expr(f['defaults'][i - first_default], lay)}"
        for i, p in enumerate(params)
    ]
    if f["star"]:
        rendered.append(f"*{f['star']}")
    if f["kwargs"]:
        rendered.append(f"**{f['kwargs']}")
    returns = f" -> {_operand(f['returns'], lay)}" if f["returns"] is not None else ""
    head = f"{'async ' if f['async'] else ''}def {f['name']}({_items(rendered, lay, trailing_ok=False)}){returns}"
    return [
        *_decorators(f["decorators"], lay, indent),
        _header(head, lay, indent),
        *_block(f["body"], lay, lay.indent(indent)),
    ]


def _class(c: dict, lay: Layout, indent: str) -> list[str]:
    args = [render_expr(b, lay) for b in c["bases"]] + [f"{k}={render_expr(v, lay)}" for k, v in c["keywords"]]
    head = f"class {c['name']}" + (f"({_items(args, lay)})" if args else "")
    inner = lay.indent(indent)
    body: list[str] = []
    if c["doc"] is not None:
        q = lay.quote()
        body.append(f"{inner}{q}{c['doc']}{q}")
    members = c["body"] or ([] if body else [{"kind": "pass"}])
    if members:
        if body:
            body += lay.between(inner)
        body += _block(members, lay, inner)
    return [*_decorators(c["decorators"], lay, indent), _header(head, lay, indent), *body]


def render(module: dict, lay: Layout) -> str:
    lines: list[str] = []
    if lay.chance(0.2):
        lines.append(lay.comment())
    if module["doc"] is not None:
        q = lay.quote()
        lines.append(f"{q}{module['doc']}{q}")
    items = [
        {**i, "kind": "annassign", "annotation": i["annotation"]}
        if i["kind"] == "assign" and i.get("annotation")
        else i
        for i in module["items"]
    ]
    for i, item in enumerate(items):
        if lay.rng is not None:
            lines += lay.between("")
        elif (i or lines) and item["kind"] in ("def", "class"):
            lines += ["", ""]
        lines += _stmt(item, lay, "")
    text = "\n".join(lines) + "\n"
    if lay.chance(0.2):
        text += "\n" * lay.rng.randint(1, 3)
    return text.replace("\n", lay.newline)  # no string literal of the model holds a newline


def extracted(text: str) -> FileSymbols:
    """The extraction of valid Python (compile() accepts it; anything else is not a case)."""
    note(text)
    try:
        with warnings.catch_warnings():  # "'int' object is not callable; perhaps you missed a comma?"
            warnings.simplefilter("ignore")
            compile(text, "m.py", "exec", dont_inherit=True)
    except SyntaxError as exc:  # a rule the generator does not follow (return in an async generator, ...)
        note(f"not valid Python: {exc}")
        assume(False)
    result = extract_bytes(text.encode())
    assert isinstance(result, FileSymbols), result
    return result


# -- what the model defines ------------------------------------------------------------------------


def defined(module: dict) -> dict[str, SymbolKind]:
    """Qualname -> kind of every symbol the model defines at module or class level."""
    found: dict[str, SymbolKind] = {}

    def members(items: list[dict], prefix: str) -> None:
        for item in items:
            kind = item["kind"]
            if kind == "def":
                found[prefix + item["name"]] = SymbolKind.FUNCTION
            elif kind == "class":
                found[prefix + item["name"]] = SymbolKind.CLASS
                members(item["body"], f"{prefix}{item['name']}.")
            elif kind == "assign":
                found[prefix + item["target"]] = SymbolKind.NAME
            elif kind == "import":
                found[prefix + item["module"][0]] = SymbolKind.IMPORT
            elif kind == "from" and item["as"]:
                found[prefix + item["as"]] = SymbolKind.IMPORT

    members(module["items"], "")
    return found


def function_paths(module: dict) -> list[tuple[tuple, str]]:
    """(path in the model, qualname) of every function and method."""
    found = []

    def walk(items: list[dict], path: tuple, prefix: str) -> None:
        for i, item in enumerate(items):
            if item["kind"] == "def":
                found.append(((*path, i), prefix + item["name"]))
            elif item["kind"] == "class":
                walk(item["body"], (*path, i, "body"), f"{prefix}{item['name']}.")

    walk(module["items"], ("items",), "")
    return found


def get_at(obj: Any, path: tuple) -> Any:
    for step in path:
        obj = obj[step]
    return obj


def set_at(obj: Any, path: tuple, value: Any) -> Any:
    """A copy of ``obj`` with ``value`` at ``path`` (tuples, lists and dicts rebuilt along it)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: set_at(obj[head], rest, value)}
    items = list(obj)
    items[head] = set_at(items[head], rest, value)
    return tuple(items) if isinstance(obj, tuple) else items


def constants(obj: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every ("int", n) and ("str", s) below ``obj``."""
    if isinstance(obj, tuple) and len(obj) == 2 and obj[0] in ("int", "str") and isinstance(obj[1], (int, str)):
        return [path]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in constants(v, (*path, k))]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in constants(v, (*path, i))]
    return []


# -- (a) extraction never raises and finds every definition ---------------------------------------------


@examples(40)
@given(module=modules(), seed=st.integers(0, 2**32 - 1))
def test_extract_finds_every_definition(module, seed):
    for layout in (Layout(), Layout(random.Random(seed))):
        result = extracted(render(module, layout))
        kinds = {s.qualname: s.kind for s in result.symbols}
        for qualname, kind in defined(module).items():
            assert kinds.get(qualname) is kind, (qualname, kind, kinds)
        assert kinds["<module>"] is SymbolKind.MODULE


# -- (b) editing one function's body changes that function only -------------------------------------------


@st.composite
def edits(draw):
    module = draw(modules().filter(lambda m: function_paths(m)))
    path, qualname = draw(st.sampled_from(function_paths(module)))
    function = get_at(module, path)
    # The body only: defaults, decorators and annotations run at import (the <import> symbol).
    found = constants(function["body"], ("body",))
    if found and draw(st.booleans()):
        at = draw(st.sampled_from(found))
        kind, value = get_at(function, at)
        new = ("int", value + 1) if kind == "int" else ("str", value + "x")
        edited = set_at(function, at, new)
        how = f"constant at {at}: {value!r} -> {new[1]!r}"
    else:
        body = function["body"]
        start = 1 if body and body[0]["kind"] == "global" else 0
        index = draw(st.integers(start, len(body)))
        statement = draw(statements(depth=1, in_async=function["async"], size=1))[-1]
        edited = {**function, "body": [*body[:index], statement, *body[index:]]}
        how = f"statement inserted at {index}: {statement}"
    return module, set_at(module, path, edited), qualname, how, function, edited


def split_docstring(body: list[dict]) -> tuple[str | None, list[dict]]:
    """(the docstring, the other statements) of a function body."""
    first = body[0] if body else None
    if first is not None and first["kind"] == "expr" and first["value"][0] == "str":
        return first["value"][1], body[1:]
    return None, body


@examples(50)
@given(edit=edits())
def test_editing_one_function_changes_that_function_only(edit):
    old_model, new_model, qualname, how, function, edited = edit
    note(how)
    old = extracted(render(old_model, Layout()))
    new = extracted(render(new_model, Layout()))

    changed, reason = compare(PATH, "m", old, "m", new)

    # The function's docstring is a symbol of its own: an edit may change it alone, or
    # (a statement put before it) turn it into code.
    old_doc, old_code = split_docstring(function["body"])
    new_doc, new_code = split_docstring(edited["body"])
    expected = []
    if old_code != new_code:
        # An undecorated function is still bound to the function its def makes.
        kept = not function["decorators"]
        expected.append(ChangedSymbol(SymbolId(f"m:{qualname}"), ChangeCause.MODIFIED, PATH, binding_kept=kept))
    if old_doc != new_doc:
        cause = ChangeCause.MODIFIED
        if old_doc is None or new_doc is None:
            cause = ChangeCause.ADDED if old_doc is None else ChangeCause.DELETED
        expected.append(ChangedSymbol(SymbolId(f"m:{qualname}.__doc__"), cause, PATH))
    assert (sorted(changed, key=lambda c: c.id), reason) == (expected, None)


# -- (c) layout changes nothing ----------------------------------------------------------------------------


@examples(40)
@given(module=modules(), seeds=st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)))
def test_layout_alone_changes_nothing(module, seeds):
    plain = extracted(render(module, Layout()))
    for seed in seeds:
        laid_out = extracted(render(module, Layout(random.Random(seed))))

        assert compare(PATH, "m", plain, "m", laid_out) == ([], None)


# -- (d) mutated real files: a result, never an exception --------------------------------------------------

SAMPLES = sorted(FIXTURES.rglob("*.py"))
FRAGMENTS = [
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b"\n",
    b"\r\n",
    b"\r",
    b"    ",
    b"\t",
    b"\\",
    b"\\\n",
    b'"""',
    b"'",
    b"#",
    b"@",
    b"*",
    b"**",
    b"=",
    b":=",
    b"->",
    b",",
    b";",
    b".",
    b"...",
    b"\x0c",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xe2\x80\xa8",
    b"\xc3\xa9",
    b"lambda",
    b"lambda: ",
    b"def ",
    b"def f(",
    b"class ",
    b"async ",
    b"await ",
    b"yield",
    b"yield from ",
    b"return",
    b"global x\n",
    b"nonlocal x\n",
    b"import *",
    b"from . import x\n",
    b"from .. import *\n",
    b"__all__ = ['x']\n",
    b"if __name__ == '__main__':\n    pass\n",
    b"match x:\n    case [a, *b]:\n        pass\n",
    b"f'{x!r:>{w}}'",
    b"f'{",
    b"rb'\\x00'",
    b"0x_1",
    b"1_000j",
    b"@pytest.fixture(autouse=True)\n",
    b"pytest_plugins = ['a.b']\n",
    b"importlib.import_module('a.b')",
    b"getattr(x, name)",
    b"vars(self)",
    b"super().",
    b"self.",
    b"try:\n    pass\nexcept* E:\n    pass\n",
    b"(" * 100,
    b")" * 100,
    b"x = " + b"[" * 200 + b"]" * 200 + b"\n",
]

OPS = st.one_of(
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 40)),
    st.tuples(
        st.just("insert"),
        st.floats(0, 1),
        # mostly text: bytes that are not UTF-8 stop at the decoder, before the parser
        st.one_of(
            st.sampled_from(FRAGMENTS),
            st.text(min_size=1, max_size=6).map(str.encode),
            st.binary(min_size=1, max_size=6),
        ),
    ),
    st.tuples(st.just("replace"), st.floats(0, 1), st.one_of(st.integers(0, 127), st.integers(0, 255))),
    st.tuples(st.just("duplicate"), st.floats(0, 1), st.integers(1, 80)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("swap-lines"), st.floats(0, 1), st.floats(0, 1)),
    st.tuples(st.just("dedent"), st.floats(0, 1), st.integers(1, 8)),
)


def mutate(data: bytes, ops: list[tuple]) -> bytes:
    for op, where, arg in ops:
        at = int(where * len(data))
        if op == "delete":
            data = data[:at] + data[at + arg :]
        elif op == "insert":
            data = data[:at] + arg + data[at:]
        elif op == "replace" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([arg]) + data[at + 1 :]
        elif op == "duplicate":
            data = data[:at] + data[at : at + arg] + data[at:]
        elif op == "truncate":
            data = data[:at]
        elif op == "swap-lines":
            lines = data.split(b"\n")
            i, j = int(where * (len(lines) - 1)), int(arg * (len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif op == "dedent":
            lines = data.split(b"\n")
            i = int(where * (len(lines) - 1))
            lines[i] = lines[i][arg:] if lines[i][:arg].strip() == b"" else lines[i]
            data = b"\n".join(lines)
    return data


@examples(300)
@given(sample=st.sampled_from(SAMPLES), ops=st.lists(OPS, min_size=1, max_size=6))
def test_mutated_files_give_a_result_never_an_exception(sample, ops):
    data = mutate(sample.read_bytes(), ops)
    note(repr(data))

    result = extract_bytes(data)

    assert isinstance(result, (FileSymbols, ParseFailure))
    if isinstance(result, ParseFailure):
        assert result.message
