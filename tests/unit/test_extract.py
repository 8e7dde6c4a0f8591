"""``impactsel.extract.extract``: one source text -> its symbols, fingerprints and references."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impactsel.extract import extract
from impactsel.model import FileSymbols, Fixture, ImportTarget, ParseFailure, Ref, RefKind, Symbol, SymbolKind

MODULE = '''\
"""The module docstring."""
import os
import a.b as c
from . import sibling
from .star import *

__all__ = ["f", "K"]
LIMIT = 3


def f(p, q=LIMIT):
    total = p + LIMIT
    return [i for i in range(total)] + [os.sep, c.d.e, q]


class K(Base):
    attr = 1

    def m(self):
        return self.n() + super().m() + self.attr

    def n(self):
        return 2


if __name__ == "__main__":
    f(1)
'''


def parse(text: str) -> FileSymbols:
    result = extract(textwrap.dedent(text))
    assert isinstance(result, FileSymbols), result
    return result


def symbol(result: FileSymbols, qualname: str) -> Symbol:
    (found,) = [s for s in result.symbols if s.qualname == qualname]
    return found


def fingerprints(text: str) -> dict[str, str]:
    return {s.qualname: s.fingerprint for s in parse(text).symbols}


def refs(result: FileSymbols, qualname: str, kind: RefKind) -> set[tuple[str, ...]]:
    return {r.chain for r in symbol(result, qualname).refs if r.kind is kind}


def changed(old: str, new: str) -> set[str]:
    before, after = fingerprints(old), fingerprints(new)
    assert before.keys() == after.keys()
    return {q for q in before if before[q] != after[q]}


# -- symbols ----------------------------------------------------------------------------


def test_symbols_of_a_module():
    result = parse(MODULE)

    kinds = {s.qualname: s.kind for s in result.symbols}

    assert kinds == {
        "<module>": SymbolKind.MODULE,
        "__doc__": SymbolKind.NAME,
        "os": SymbolKind.IMPORT,
        "c": SymbolKind.IMPORT,
        "sibling": SymbolKind.IMPORT,
        "__all__": SymbolKind.NAME,
        "LIMIT": SymbolKind.NAME,
        "f": SymbolKind.FUNCTION,
        "K": SymbolKind.CLASS,
        "K.attr": SymbolKind.NAME,
        "K.m": SymbolKind.FUNCTION,
        "K.n": SymbolKind.FUNCTION,
        "<main>": SymbolKind.NAME,
        "<marks>": SymbolKind.NAME,  # what the module's definitions run when it is imported (q=LIMIT)
    }


def test_imports_stars_and_all():
    result = parse(MODULE)

    assert symbol(result, "c").targets == (ImportTarget("a.b", None),)
    assert symbol(result, "sibling").targets == (ImportTarget("", "sibling", 1),)
    assert result.star_imports == (ImportTarget("star", "*", 1),)
    assert result.all_names == ("f", "K")


def test_class_bases_and_function_lines():
    result = parse(MODULE)

    assert symbol(result, "K").bases == (("Base",),)
    assert symbol(result, "f").line == 11
    assert symbol(result, "K.m").line == 19


def test_line_of_a_decorated_definition_is_its_first_decorator():
    result = parse(
        """\
        import functools


        @functools.cache
        @staticmethod
        def f():
            pass
        """
    )

    assert symbol(result, "f").line == 4


def test_lines_of_many_definitions():
    # A generated module holds thousands of definitions: each one's line is still its own.
    result = extract("".join(f"@register\ndef generated_{i}():\n    pass\n\n\n" for i in range(500)))

    assert isinstance(result, FileSymbols)
    assert [symbol(result, f"generated_{i}").line for i in range(500)] == [5 * i + 1 for i in range(500)]


def test_nested_functions_and_classes_belong_to_their_enclosing_symbol():
    result = parse(
        """\
        def outer():
            def inner():
                return helper()

            class Local:
                pass

            return inner, Local
        """
    )

    assert {s.qualname for s in result.symbols} == {"<module>", "outer"}
    assert ("helper",) in refs(result, "outer", RefKind.GLOBAL)


def test_fixtures_and_usefixtures():
    result = parse(
        """\
        import pytest


        @pytest.fixture(autouse=True, name="db")
        def _database(tmp_path, settings):
            return tmp_path


        @pytest.fixture
        def client(db):
            return db


        @pytest.mark.usefixtures("db", "client")
        def test_it(client, retries=3):
            pass
        """
    )

    assert symbol(result, "_database").fixture == Fixture("db", autouse=True)
    assert symbol(result, "_database").params == ("tmp_path", "settings")
    assert symbol(result, "client").fixture == Fixture("client", autouse=False)
    assert symbol(result, "test_it").fixture is None
    assert symbol(result, "test_it").params == ("client",)  # a default value: not a fixture request
    assert symbol(result, "test_it").usefixtures == ("db", "client")


def test_method_parameters_leave_out_self():
    result = parse(
        """\
        class TestA:
            def test_x(self, tmp_path):
                pass

            @staticmethod
            def helper(a):
                pass
        """
    )

    assert symbol(result, "TestA.test_x").params == ("tmp_path",)
    assert symbol(result, "TestA.helper").is_static


# -- fingerprints ---------------------------------------------------------------------------


def test_comments_and_layout_leave_fingerprints_unchanged():
    reformatted = '''\
"""The module docstring."""
import os
import a.b as c   # an alias
from . import sibling
from .star import *  # noqa

__all__ = [
    "f",
    "K",
]
LIMIT   =   3  # the limit


# A comment before the function.
def f(p, q = LIMIT):
    # The sum.
    total = p+LIMIT


    return [ i for i in range( total ) ] + [os.sep, c.d.e, q,]


class K( Base ):
    attr = 1  # class attribute

    def m(self):
        return (
            self.n()
            + super().m()
            + self.attr
        )

    def n(self):  # trailing
        return 2;


if __name__ == "__main__":
    f(1)
'''

    assert fingerprints(MODULE) == fingerprints(reformatted)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("return 2\n", "return 3\n", {"K.n"}),
        ("total = p + LIMIT", "total = p - LIMIT", {"f"}),
        (
            "total = p + LIMIT\n    return [i for i in range(total)]",
            "n = p + LIMIT\n    return [i for i in range(n)]",
            {"f"},
        ),
        # A default value is evaluated when the module is imported: <marks> changes too
        # (a lookup: it can fail, not act).
        ("q=LIMIT", "q=None", {"f", "<marks>"}),
        ("def f(p, q=LIMIT)", "def f(p, *, q=LIMIT)", {"f"}),
        ("LIMIT = 3", "LIMIT = 4", {"LIMIT"}),
        ("attr = 1", "attr = '1'", {"K.attr"}),
        ("class K(Base)", "class K(Other)", {"K"}),
        ('"""The module docstring."""', '"""Another docstring."""', {"__doc__"}),
        ("f(1)", "f(2)", {"<main>"}),
        ('__all__ = ["f", "K"]', '__all__ = ["f"]', {"__all__"}),
        ("import a.b as c", "import a.x as c", {"c"}),
    ],
)
def test_a_code_edit_changes_the_fingerprint_of_its_symbol_only(old, new, expected):
    assert MODULE.count(old) == 1

    assert changed(MODULE, MODULE.replace(old, new)) == expected


@pytest.mark.parametrize(
    ("code", "where"),
    [
        ('@pytest.mark.parametrize("x", [1, 2 * LIMIT])\ndef test_a(x): pass', "<marks>"),
        ('@pytest.mark.skipif(sys.platform == "win32", reason="posix")\ndef test_a(): pass', "<marks>"),
        ('@pytest.mark.skipif(shutil.which("cat") is None, reason="no cat")\ndef test_a(): pass', "<marks>"),
        ('@pytest.mark.parametrize("x", [pytest.param(1, id="one")])\ndef test_a(x): pass', "<marks>"),
        ("@pytest.mark.slow\nclass TestA:\n    def test_a(self): pass", "<marks>"),
        ("def helper(x: int = 0, *, y: list[str] | None = None) -> str: pass", "<marks>"),
        # Code runs: a call, a format, a decorator that is handed the function.
        ('@pytest.mark.parametrize("x", make_cases())\ndef test_a(x): pass', "<import>"),
        ('@pytest.mark.parametrize("x", [f"{LIMIT}"])\ndef test_a(x): pass', "<import>"),
        ('@pytest.mark.parametrize("x", [*CASES])\ndef test_a(x): pass', "<import>"),
        ("@register\ndef test_a(): pass", "<import>"),
        ("@pytest.fixture\ndef value(): return 1", "<import>"),
        ("def helper(x=compute()): pass", "<import>"),
        ('@pytest.mark.parametrize("f", [lambda: compute()])\ndef test_a(f): pass', "<marks>"),
        ('@pytest.mark.parametrize("f", [lambda x=compute(): x])\ndef test_a(f): pass', "<import>"),
    ],
)
def test_import_time_code_that_can_only_fail_is_kept_apart(code, where):
    qualnames = {s.qualname for s in parse(code).symbols}

    assert qualnames & {"<import>", "<marks>"} == {where}


def test_docstrings_are_symbols_of_their_own():
    old = """
        def f(x):
            \"\"\"Twice x.\"\"\"
            return 2 * x


        class C:
            \"\"\"A class.\"\"\"

            def m(self):
                \"\"\"A method.\"\"\"
                return 1
        """
    new = old.replace("Twice", "Double").replace("A class", "The class").replace("A method", "The method")

    assert changed(old, new) == {"f.__doc__", "C.__doc__", "C.m.__doc__"}
    assert parse(new).doctests == ()


def test_a_string_with_an_f_string_in_it_is_code():
    result = parse("""
        def f():
            "a" f"{LIMIT}"
        """)

    assert [s.qualname for s in result.symbols] == ["<module>", "f"]
    assert refs(result, "f", RefKind.GLOBAL) == {("LIMIT",)}


def test_doctest_examples_are_code_of_the_docstring():
    result = parse('''
        def f(x):
            """Twice x.

            >>> from pkg.other import ONE
            >>> f(ONE)
            2
            >>> print helper(1)
            >>> y = f(3)
            >>> y.bit_length()
            3
            """
            return 2 * x


        def g():
            """No examples: a >>> in the text."""


        def h(obj):
            return inspect.getdoc(obj)
        ''')

    assert result.doctests == ("f.<doctest>",)
    # The example that does not parse (Python 2's print) names nothing; y is local to the examples.
    assert refs(result, "f.<doctest>", RefKind.GLOBAL) == {("f",)}
    assert refs(result, "f.<doctest>", RefKind.IMPORT) == {("pkg", "other", "ONE")}
    assert symbol(result, "f.__doc__").refs == ()  # the text: reading it runs no example
    assert refs(result, "f", RefKind.GLOBAL) == set()
    assert refs(result, "h", RefKind.ATTR) >= {("__doc__",)}


def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    import impactsel.extract as extract_module

    monkeypatch.setattr(extract_module, "_MAX_TOKENS", 60)
    monkeypatch.setattr(extract_module, "_LARGE_FILE", 0)


def test_a_large_file_parsed_in_parts_gives_what_a_whole_parse_gives(monkeypatch):
    import impactsel.extract as extract_module

    whole = extract(MODULE)
    small_parts(monkeypatch)  # parts of a few statements each: one tree at a time

    assert len(extract_module._parts(MODULE) or ()) >= 3
    assert extract(MODULE) == whole


ROWS = "    (pkg.ONE, scale(2), row.cell),\n" * 30


def test_a_table_too_large_for_libcst_is_read_from_pythons_own_tree(monkeypatch):
    small_parts(monkeypatch)
    text = f"import pkg\n\nTABLE = [\n{ROWS}]\n\n\ndef f():\n    return TABLE\n"
    result = extract(text)

    assert isinstance(result, FileSymbols)
    assert refs(result, "TABLE", RefKind.GLOBAL) == {("pkg",), ("pkg", "ONE"), ("scale",), ("row",), ("row", "cell")}
    assert refs(result, "TABLE", RefKind.ATTR) == {("ONE",), ("cell",)}
    assert refs(result, "f", RefKind.GLOBAL) == {("TABLE",)}
    assert changed(text, text.replace("scale(2)", "scale(3)", 1)) == {"TABLE"}


def test_a_function_too_large_for_libcst_is_read_from_pythons_own_tree(monkeypatch):
    small_parts(monkeypatch)
    text = f"import pkg\n\n\ndef table(size):\n    return [\n{ROWS}]\n\n\ndef f():\n    return table(2)\n"
    result = extract(text)

    assert isinstance(result, FileSymbols)
    assert symbol(result, "table").kind is SymbolKind.FUNCTION
    assert symbol(result, "table").params == ("size",)
    assert (symbol(result, "table").line, symbol(result, "f").line) == (4, 39)
    assert refs(result, "table", RefKind.ATTR) == {("ONE",), ("cell",)}
    assert changed(text, text.replace("scale(2)", "scale(3)", 1)) == {"table"}


@pytest.mark.parametrize(
    ("head", "first"),
    [
        ("@pkg.cache\ndef table(size):", "pass"),
        ("def table(size=2):", "pass"),
        ("def table(size):", "REGISTRY.append(size)"),
        ("def table(size):", "TABLE[size] = 1"),
        ("def table(request):", 'request.getfixturevalue("db")'),
        ("def table(size):", "global TABLE"),
    ],
    ids=["decorated", "default", "container-changed", "item-stored", "fixture-requested", "global"],
)
def test_a_function_too_large_that_a_coarse_reading_would_misread_is_a_part_of_its_own(monkeypatch, head, first):
    text = f"import pkg\n\n\n{head}\n    {first}\n    return [\n{ROWS}]\n"
    whole = extract(text)
    small_parts(monkeypatch)

    assert extract(text) == whole


def test_a_string_literal_is_code():
    assert changed('X = "a  b"\n', 'X = "a b"\n') == {"X"}
    assert changed('X = "a"\n', "X = b'a'\n") == {"X"}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_comment_lines_anywhere_leave_fingerprints_unchanged(data):
    lines = MODULE.splitlines()
    before = fingerprints(MODULE)
    for _ in range(data.draw(st.integers(1, 5))):
        where = data.draw(st.integers(0, len(lines)))
        indent = " " * data.draw(st.integers(0, 8))
        text = data.draw(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=20))
        lines.insert(where, f"{indent}# {text}")

    assert fingerprints("\n".join(lines) + "\n") == before


# -- names: locals, globals, attributes ----------------------------------------------------


def test_locals_are_not_globals():
    result = parse(
        """\
        import json


        def f(param, *args, key=DEFAULT, **kwargs):
            local = param
            for item in args:
                local += item
            with open_it() as handle:
                pass
            try:
                pass
            except Error as exc:
                pass
            if (walrus := compute()):
                pass
            squares = [n * n for n in local]
            call = lambda x: x + OFFSET
            def nested():
                return local + FREE
            return json.dumps([local, handle, exc, walrus, squares, call, nested, kwargs])
        """
    )

    assert refs(result, "f", RefKind.GLOBAL) == {
        ("DEFAULT",),
        ("open_it",),
        ("compute",),
        ("OFFSET",),
        ("FREE",),
        ("json", "dumps"),
    }
    assert refs(result, "f", RefKind.CHECK) == {("Error",)}  # caught, not called


def test_type_tests_compare_with_a_class_and_do_not_call_it():
    result = parse(
        """\
        import mod


        def f(x):
            try:
                if isinstance(x, (Local, mod.Remote)) or issubclass(type(x), Base):
                    return isinstance(x, pick())
            except (KeyError, mod.Failure):
                return Made(typing.cast(mod.Group, x))
        """
    )

    assert refs(result, "f", RefKind.CHECK) == {
        ("Local",),
        ("mod", "Remote"),
        ("Base",),
        ("KeyError",),
        ("mod", "Failure"),
        ("mod", "Group"),
    }
    assert {("pick",), ("Made",), ("type",)} <= refs(result, "f", RefKind.GLOBAL)  # called: run, and may make


def test_attribute_assigned_on_a_global_is_a_store_not_a_read():
    result = parse(
        """\
        def f():
            pass


        f.__doc__ = "text"
        CONFIG.section.debug = True
        """
    )

    assert refs(result, "<module>", RefKind.STORE) == {("f", "__doc__"), ("CONFIG", "section", "debug")}
    assert not {("f",), ("f", "__doc__"), ("CONFIG", "section", "debug")} & refs(result, "<module>", RefKind.GLOBAL)


@pytest.mark.parametrize(
    ("code", "loads"),
    [
        ("runpy.run_path(path)", True),
        ("importlib.util.spec_from_file_location(name, path)", True),
        ("exec(text)", True),
        ("exec('x = 1')", False),  # a literal: no other file's code
        ("cursor.exec(query)", False),  # not the builtin
    ],
)
def test_code_run_by_path_is_marked(code, loads):
    result = parse(f"def f(path, name, text, cursor, query):\n    {code}\n")

    assert (("*loads-code*",) in refs(result, "f", RefKind.STRING)) is loads


def test_class_body_names_are_not_visible_in_methods():
    # Python looks ``x`` up in the module from inside a method, never in the class body.
    result = parse(
        """\
        class C:
            x = 1
            y = x + 1

            def m(self):
                return x
        """
    )

    assert refs(result, "C.m", RefKind.GLOBAL) == {("x",)}
    assert refs(result, "C.y", RefKind.CLASS_LOCAL) == {("C", "x")}


def test_global_statement_makes_a_write():
    result = parse(
        """\
        COUNT = 0


        def bump():
            global COUNT
            COUNT = COUNT + 1
        """
    )

    assert ("COUNT",) in refs(result, "bump", RefKind.WRITE)
    assert ("COUNT",) in refs(result, "bump", RefKind.GLOBAL)


def test_self_super_and_unknown_receivers():
    result = parse(MODULE)

    assert refs(result, "K.m", RefKind.SELF) == {("K", "n"), ("K", "attr")}
    assert refs(result, "K.m", RefKind.SUPER) == {("K", "m")}
    unknown = parse(
        """\
        def g(obj):
            return obj.method().other
        """
    )
    assert refs(unknown, "g", RefKind.ATTR) == {("method",), ("other",)}


def test_attribute_chain_on_a_global_is_one_reference():
    result = parse(MODULE)

    assert ("c", "d", "e") in refs(result, "f", RefKind.GLOBAL)
    assert ("os", "sep") in refs(result, "f", RefKind.GLOBAL)


def test_import_inside_a_function_is_a_reference_not_a_symbol():
    result = parse(
        """\
        def load():
            from .records import Record
            import pkg.mod
            return Record, pkg.mod.VALUE
        """
    )

    assert {s.qualname for s in result.symbols} == {"<module>", "load"}
    assert Ref(RefKind.IMPORT, ("records", "Record"), 1) in symbol(result, "load").refs
    assert ("pkg", "mod", "VALUE") in refs(result, "load", RefKind.IMPORT)
    assert result.imports == ()


# -- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 300 + "1" + ")" * 300,
        "[" * 300 + "]" * 300,
        "+".join(["(1"] * 300) + ")" * 300,
        "f(" * 300 + ")" * 300,
        "-" * 300 + "1",
        "a" + ".b" * 300,
    ],
    ids=["parens", "lists", "sums", "calls", "unary", "attributes"],
)
def test_300_levels_of_nesting_do_not_raise(expression):
    result = extract(f"def deep():\n    return {expression}\n")

    assert isinstance(result, FileSymbols)
    assert "deep" in {s.qualname for s in result.symbols}


@pytest.mark.parametrize(
    "text",
    ["def f(:\n    pass\n", "x = 1\ny = (\n", "class C\n    pass\n", "x = 1\n  y = 2\n", "return return\n"],
)
def test_syntax_error_is_a_parse_failure(text):
    result = extract(text)

    assert isinstance(result, ParseFailure)
    assert result.message.startswith("syntax error")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_symbols_or_a_parse_failure(text):
    assert isinstance(extract(text), (FileSymbols, ParseFailure))
