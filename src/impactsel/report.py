"""Output: ``Selection`` -> text for stdout (data only); the summary and one-line notes for stderr.

Formats: ``ids`` (pytest node ids, one per line), ``files`` (test files, one per
line) and ``json`` (changed symbols, and per selected test the chain of symbols
that links it to a change). When every test is selected, ``ids`` and ``files``
print the test roots instead of every id.
"""

from __future__ import annotations

import json

from impactsel import __version__
from impactsel.model import Selection

#: History of the JSON format:
#:   1: meta, changed, run_all, tests (nodeid, via), total_tests, warnings.
FORMAT_VERSION = 1


def render(selection: Selection, output_format: str) -> str:
    """What goes to stdout: nothing but data."""
    if output_format == "json":
        return json.dumps(_as_json(selection), indent=2) + "\n"
    if selection.run_all is not None:
        lines = list(selection.test_roots)
    elif output_format == "files":
        lines = sorted({t.nodeid.partition("::")[0] for t in selection.tests})
    else:
        lines = [t.nodeid for t in selection.tests]
    return "".join(line + "\n" for line in lines)


def summary(selection: Selection, seconds: float) -> str:
    """One line for people, on stderr."""
    count = selection.total_tests if selection.run_all else len(selection.tests)
    what = "all tests" if selection.run_all else f"{count}/{selection.total_tests} tests"
    return (
        f"impactsel: {len(selection.changed)} changed symbols -> {what} (base {selection.base[:12]}, {seconds:.2f} s)"
    )


def one_line(text: str) -> str:
    """``text`` as one line for people: what a terminal would not print as itself is escaped.

    A file name may hold a newline, a tab or an escape sequence; on stderr it is
    written with Python's escapes (``zoo/odd\\nname.py``), like every other path:
    unquoted. JSON output keeps the names as they are.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _as_json(selection: Selection) -> dict[str, object]:
    return {
        "meta": {"format": FORMAT_VERSION, "version": __version__, "base": selection.base},
        "changed": [{"id": c.id, "cause": c.cause.value, "path": str(c.path)} for c in selection.changed],
        "run_all": selection.run_all,
        "test_roots": list(selection.test_roots),
        "tests": [{"nodeid": t.nodeid, "via": list(t.via)} for t in selection.tests],
        "total_tests": selection.total_tests,
        "warnings": list(selection.warnings),
    }
