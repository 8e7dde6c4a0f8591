"""The gate: an ``Analysis`` -> the changed symbols that no test reaches, and their report.

A changed symbol (added or modified) is *untested* when the reverse walk from it
alone reaches no test item. What the gate does not ask tests for:

* deleted symbols (nothing left to test), non-Python files;
* imports (their users are what gets tested), docstrings and their examples
  (``f.__doc__``, ``f.<doctest>``), the ``if __name__ == "__main__":`` block (``<main>``),
  the decorators, defaults and annotations that run at import (``<import>``, ``<marks>``:
  the function or class that has them is what a test must reach), and dunder names
  bound by assignment such as ``__all__`` or ``__version__``
  (metadata, not behaviour);
* test code: symbols in test files and ``conftest.py`` (a test is its own test).

When every test is selected (``run_all``), every changed symbol counts as
tested, unless the project has no test at all. Output formats: ``text`` (one
``path:line: message`` per untested symbol, then a summary line) and ``github``
(workflow commands that annotate the pull request, plus a Markdown table in
``$GITHUB_STEP_SUMMARY`` when that is set).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from impactsel.collect import TEST_PREFIX
from impactsel.model import DOCTEST, IMPORT_QUALNAME, MARKS_QUALNAME, ChangeCause, ChangedSymbol, Role, SymbolKind
from impactsel.pipeline import Analysis

_SKIPPED_QUALNAMES = frozenset({"__doc__", "<main>", DOCTEST, IMPORT_QUALNAME, MARKS_QUALNAME})
_CHECKED_CAUSES = frozenset({ChangeCause.ADDED, ChangeCause.MODIFIED})


@dataclass(frozen=True, slots=True)
class Untested:
    symbol: str  #: the changed symbol id, ``"pkg.mod:func"``
    path: str  #: its file, relative to the top of the git work tree
    line: int  #: its first line (0 when unknown)
    message: str  #: ``"pkg.mod:func is reached by no test"``


@dataclass(frozen=True, slots=True)
class GateResult:
    untested: tuple[Untested, ...]
    checked: int = 0  #: how many changed symbols the gate looked at
    run_all: str | None = None  #: why every test is selected, when it is
    total_tests: int = 0


def check(analysis: Analysis) -> GateResult:
    """The changed symbols of ``analysis`` that no test reaches."""
    selection = analysis.selection
    roles = {source.path: source.role for source in analysis.project.files}
    candidates = [c for c in selection.changed if _is_checked(analysis, c, roles.get(c.path))]
    if selection.run_all is not None and selection.total_tests > 0:
        return GateResult((), len(candidates), selection.run_all, selection.total_tests)
    prefix = _repo_prefix(analysis.root)
    untested = tuple(_untested(analysis, c, prefix) for c in candidates if not _reaches_a_test(analysis, c.id))
    return GateResult(untested, len(candidates), selection.run_all, selection.total_tests)


def render(result: GateResult, fmt: str) -> str:
    """The report for stdout: ``fmt`` is ``text`` or ``github``.

    With ``github``, a Markdown table is also appended to ``$GITHUB_STEP_SUMMARY`` when it is set.
    """
    if fmt == "github":
        _write_step_summary(result)
        lines = [_workflow_command(u) for u in result.untested]
    else:
        lines = [f"{u.path}:{u.line}: {u.message}" for u in result.untested]
    return "".join(line + "\n" for line in [*lines, summary(result)])


def summary(result: GateResult) -> str:
    """One line: how many changed symbols no test reaches."""
    if result.run_all is not None and not result.untested:
        return f"impactsel gate: every test is selected ({result.run_all}): nothing to check"
    if result.untested:
        count = len(result.untested)
        verb = "is" if count == 1 else "are"
        return f"impactsel gate: {count} of {result.checked} changed symbols {verb} reached by no test"
    return f"impactsel gate: every changed symbol is reached by a test ({result.checked} checked)"


# Private


def _is_checked(analysis: Analysis, changed: ChangedSymbol, role: Role | None) -> bool:
    qualname = changed.id.partition(":")[2]
    last = qualname.rpartition(".")[2]
    if changed.cause not in _CHECKED_CAUSES or last in _SKIPPED_QUALNAMES or role is not Role.SOURCE:
        return False
    symbol = analysis.project.symbol(changed.id)
    if symbol is None:  # cannot tell its kind: ask for a test
        return True
    if symbol.kind is SymbolKind.IMPORT:
        return False
    return not (symbol.kind is SymbolKind.NAME and _is_dunder(qualname.rpartition(".")[2]))


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _reaches_a_test(analysis: Analysis, symbol_id: str) -> bool:
    return any(node.startswith(TEST_PREFIX) for node in analysis.affected_by([symbol_id]))


def _untested(analysis: Analysis, changed: ChangedSymbol, prefix: PurePosixPath) -> Untested:
    symbol = analysis.project.symbol(changed.id)
    line = symbol.line if symbol is not None else 0
    if line <= 0:
        line = _find_line(analysis.root / changed.path, changed.id.partition(":")[2])
    path = str(prefix / changed.path) if str(prefix) != "." else str(changed.path)
    return Untested(changed.id, path, line, f"{changed.id} is reached by no test")


def _find_line(path: Path, qualname: str) -> int:
    """The line that binds a module-level name (the extractor records none for assignments)."""
    if "." in qualname or not qualname.isidentifier():
        return 0
    binding = re.compile(rf"^{re.escape(qualname)}\s*(?::[^=]*)?=(?!=)|^(?:async\s+)?(?:def|class)\s+{qualname}\b")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 0
    return next((n for n, text in enumerate(lines, 1) if binding.match(text)), 0)


def _repo_prefix(root: Path) -> PurePosixPath:
    """Where the project root sits inside its git work tree: annotations name repository paths."""
    for top in (root, *root.parents):
        if (top / ".git").exists():
            return PurePosixPath(root.relative_to(top).as_posix())
    return PurePosixPath(".")


def _workflow_command(untested: Untested) -> str:
    """``::warning file=…,line=…,title=impactsel::…``, escaped as the Actions runner expects."""
    props = [f"file={_escape_property(untested.path)}"]
    if untested.line > 0:
        props.append(f"line={untested.line}")
    props.append("title=impactsel")
    return f"::warning {','.join(props)}::{_escape_data(untested.message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _write_step_summary(result: GateResult) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(_markdown(result))
    except OSError as exc:
        print(f"impactsel: cannot write the step summary to {target} ({exc.strerror})", file=sys.stderr)


def _markdown(result: GateResult) -> str:
    lines = ["### impactsel gate", "", _sentence(summary(result)), ""]
    if result.untested:
        lines += ["| changed symbol | file | line |", "|---|---|---|"]
        lines += [f"| `{_cell(u.symbol)}` | `{_cell(u.path)}` | {u.line or ''} |" for u in result.untested]
        lines.append("")
    return "\n".join(lines) + "\n"


def _sentence(line: str) -> str:
    text = line.removeprefix("impactsel gate: ")
    return text[:1].upper() + text[1:] + "."


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
