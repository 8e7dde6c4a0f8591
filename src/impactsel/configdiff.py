"""Configuration changes no test can observe: a ``FileChange`` of a configuration file -> a note, or None.

A change to ``pyproject.toml``, ``setup.cfg``, ``tox.ini`` or ``setup.py`` selects
every test, unless both versions parse (they are read, never run) and what differs
is only the settings of linters, formatters, type checkers and release tools, or
the descriptive metadata of the distribution (its description, classifiers,
authors, URLs...): then the change is inert, and the note says which parts changed.
Anything else, a side that is missing or does not parse included, is not inert.
A ``requirements*.txt`` under ``doc/`` or ``docs/`` installs the documentation build:
it is documentation, not configuration of the tests.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from impactsel.model import ChangeStatus, FileChange

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: ``[tool.X]`` tables of tools that lint, format, type-check, measure, release or
#: document the code: no test runs them (see ``PYTEST_FLAGS`` for the exception).
INERT_TOOLS = frozenset(
    {
        "autopep8",
        "bandit",
        "black",
        "bumpversion",
        "check-manifest",
        "cibuildwheel",
        "codespell",
        "commitizen",
        "coverage",
        "docformatter",
        "flake8",
        "interrogate",
        "isort",
        "mypy",
        "pydocstyle",
        "pylint",
        "pyproject-fmt",
        "pyright",
        "ruff",
        "tbump",
        "towncrier",
        "vulture",
        "yapf",
    }
)

#: ``[project]`` fields that describe the distribution without changing what is
#: installed or how: the tests run the same code whatever they say.
PROJECT_FIELDS = frozenset(
    {
        "authors",
        "classifiers",
        "description",
        "keywords",
        "license",
        "license-files",
        "maintainers",
        "readme",
        "requires-python",
        "urls",
    }
)

#: Where a ``pyproject.toml`` lists requirements (dotted; see ``depdiff``).
PYPROJECT_DEPENDENCY_KEYS = (
    "project.dependencies",
    "project.optional-dependencies",
    "dependency-groups",
    "tool.poetry.dependencies",
    "tool.poetry.dev-dependencies",
    "tool.poetry.group",
)

#: setup.cfg / tox.ini sections of the same kind of tools (globs, as ``[mypy-pkg.*]``).
INERT_SECTIONS = (
    "flake8",
    "pycodestyle",
    "pydocstyle",
    "isort",
    "mypy",
    "mypy-*",
    "pylint*",
    "coverage:*",
    "bdist_wheel",
    "sdist",
    "codespell",
    "gh-actions",
)

#: Keys of some sections that are inert while the rest of the section is not.
INERT_KEYS = {
    "setup.cfg": {
        "metadata": (
            "description",
            "summary",
            "long_description*",
            "classifiers",
            "author*",
            "maintainer*",
            "url",
            "home_page",
            "download_url",
            "project_urls",
            "keywords",
            "license*",
            "platforms",
        ),
        "options": ("python_requires",),
    },
    "tox.ini": {"tox": ("envlist", "env_list")},
}

#: Keyword arguments (of any call) in setup.py that only describe the distribution.
SETUP_KEYWORDS = frozenset(
    {
        "author",
        "author_email",
        "classifiers",
        "description",
        "keywords",
        "license",
        "long_description",
        "long_description_content_type",
        "maintainer",
        "maintainer_email",
        "platforms",
        "project_urls",
        "python_requires",
        "url",
    }
)

#: Tools whose pytest plugin turns their checks into test items (pytest-mypy,
#: pytest-flake8, pytest-ruff...): an ``addopts`` option ``--TOOL`` or ``--TOOL-...``
#: makes their configuration observable.
PYTEST_FLAGS = frozenset(
    {"black", "codespell", "flake8", "isort", "mypy", "pycodestyle", "pydocstyle", "pylint", "ruff", "bandit"}
)


def inert_change(change: FileChange, addopts: tuple[str, ...] = ()) -> str | None:
    """Why no test can observe a change to a configuration file, or None when one may.

    Args:
        change: a change to a file that configures the project (``run-all-on``).
        addopts: pytest's ``addopts``, where plugins that run linters as tests are turned on.

    Returns:
        The note to print (without the ``impactsel:`` prefix), or None: every test.
    """
    if is_docs_requirements(change.path) and (change.old_path is None or is_docs_requirements(change.old_path)):
        return f"{change.path} changed: it installs the documentation build, no test selected for it"
    differ = _DIFFERS.get(change.path.name)
    if differ is None or not both_sides(change):
        return None
    assert change.old_text is not None and change.new_text is not None
    try:
        parts = differ(change.old_text, change.new_text)
    except RecursionError:  # nesting too deep to read: be safe
        return None
    if parts is None or any(_run_by_pytest(tool, addopts) for tool, _ in parts):
        return None
    what = ", ".join(dict.fromkeys(label for _, label in parts)) or "comments or layout"
    return f"{change.path} changed only in {what}: no test can observe them"


def is_docs_requirements(path: PurePosixPath) -> bool:
    """A ``requirements*.txt`` in a ``doc/`` or ``docs/`` directory (at any depth)."""
    return fnmatch.fnmatch(path.name, "requirements*.txt") and any(p in ("doc", "docs") for p in path.parts[:-1])


def both_sides(change: FileChange) -> bool:
    """Both versions are there, as text, at the same path."""
    return (
        change.status is ChangeStatus.MODIFIED
        and change.old_path in (None, change.path)
        and not change.binary
        and change.old_text is not None
        and change.new_text is not None
    )


def inert_pyproject(old: dict[str, Any], new: dict[str, Any], addopts: tuple[str, ...] = ()) -> bool:
    """Whether what differs between two ``pyproject.toml`` documents is inert."""
    parts = _pyproject_document_parts(old, new)
    return parts is not None and not any(_run_by_pytest(tool, addopts) for tool, _ in parts)


# Private

#: (tool whose pytest plugin could observe it, or "", label for the note) per changed part.
_Parts = list[tuple[str, str]]


def _run_by_pytest(tool: str, addopts: tuple[str, ...]) -> bool:
    if tool not in PYTEST_FLAGS:
        return False
    return any(opt.split("=")[0] == f"--{tool}" or opt.startswith(f"--{tool}-") for opt in addopts)


def _pyproject_parts(old_text: str, new_text: str) -> _Parts | None:
    """The inert tables and fields that differ, or None when anything else does."""
    try:
        old, new = tomllib.loads(old_text), tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        return None
    return _pyproject_document_parts(old, new)


def _pyproject_document_parts(old: dict[str, Any], new: dict[str, Any]) -> _Parts | None:
    parts: _Parts = []
    for key in _ordered(_changed_keys(old, new), new, old):
        if key == "tool" and isinstance(old.get(key, {}), dict) and isinstance(new.get(key, {}), dict):
            old_tools, new_tools = old.get(key, {}), new.get(key, {})
            tools = _changed_keys(old_tools, new_tools)
            if not tools <= INERT_TOOLS:
                return None
            parts += [(tool, f"[tool.{tool}]") for tool in _ordered(tools, new_tools, old_tools)]
        elif key == "project" and isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            fields = _changed_keys(old[key], new[key])
            if not fields <= PROJECT_FIELDS:
                return None
            parts += [("", f"[project].{field}") for field in _ordered(fields, new[key], old[key])]
        else:
            return None  # [build-system], [dependency-groups], a [project] table added or removed...
    return parts


def _ini_parts(name: str) -> Callable[[str, str], _Parts | None]:
    inert_keys = INERT_KEYS.get(name, {})

    def parts_of(old_text: str, new_text: str) -> _Parts | None:
        old, new = _read_ini(old_text), _read_ini(new_text)
        if old is None or new is None:
            return None
        parts: _Parts = []
        for section in _ordered(_changed_keys(old, new), new, old):
            if _matches(section, INERT_SECTIONS):
                parts.append((re.split(r"[-:.\s]", section)[0], f"[{section}]"))
                continue
            keys = _changed_keys(old.get(section, {}), new.get(section, {}))
            patterns = inert_keys.get(section, ())
            if not patterns or section not in old or section not in new:
                return None
            if not all(_matches(key.replace("-", "_"), patterns) for key in keys):
                return None
            parts += [("", f"[{section}].{key}") for key in _ordered(keys, new[section], old[section])]
        return parts

    return parts_of


def _read_ini(text: str) -> dict[str, dict[str, str]] | None:
    """Sections -> keys -> raw values (the ``[DEFAULT]`` section included), or None: it does not parse."""
    parser = _CaseKeepingParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    sections = {name: dict(parser.items(name, raw=True)) for name in parser.sections()}
    if parser.defaults():
        sections[parser.default_section] = dict(parser.defaults())
    return sections


class _CaseKeepingParser(configparser.RawConfigParser):
    """Keys keep their case, as pytest's own ini parser keeps it (``Testpaths`` is no ``testpaths``)."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _setup_py_parts(old_text: str, new_text: str) -> _Parts | None:
    """The descriptive keyword arguments that differ, or None when any other code does."""
    try:
        old, new = ast.parse(old_text), ast.parse(new_text)
    except (SyntaxError, ValueError):
        return None
    old_values, new_values = _blank_keywords(old), _blank_keywords(new)
    if ast.dump(old) != ast.dump(new):
        return None
    changed = [name for name in new_values if new_values[name] != old_values.get(name)]
    return [("", f"{name}=") for name in changed]


def _blank_keywords(tree: ast.Module) -> dict[str, list[str]]:
    """Replace the values of descriptive keyword arguments with None; return what they were, by name."""
    values: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in SETUP_KEYWORDS:
                    values.setdefault(keyword.arg, []).append(ast.dump(keyword.value))
                    keyword.value = ast.Constant(None)
    return values


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {key for key in old.keys() | new.keys() if key not in old or key not in new or old[key] != new[key]}


def _ordered(keys: Iterable[str], *tables: dict[str, Any]) -> list[str]:
    """``keys`` in the order they appear in the tables (the new version first), for a stable note."""
    order = {key: i for i, key in enumerate(dict.fromkeys(k for table in tables for k in table))}
    return sorted(keys, key=lambda k: order.get(k, len(order)))


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


_DIFFERS: dict[str, Callable[[str, str], _Parts | None]] = {
    "pyproject.toml": _pyproject_parts,
    "setup.cfg": _ini_parts("setup.cfg"),
    "tox.ini": _ini_parts("tox.ini"),
    "setup.py": _setup_py_parts,
}
