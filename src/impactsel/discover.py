"""① Discovery: the project's file list + pytest settings -> ``SourceFile`` values.

Decides each Python file's module name (the way pytest's default ``prepend``
import mode and ``sys.path`` entries would import it) and its role: a test
module, a ``conftest.py`` or ordinary source.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable
from pathlib import PurePosixPath

from impactsel.config import PytestSettings
from impactsel.model import Role, SourceFile


def discover(paths: Iterable[str], pytest: PytestSettings) -> tuple[SourceFile, ...]:
    """Turn repository-relative ``.py`` paths into ``SourceFile`` values.

    Args:
        paths: every file of the project, relative to the root, POSIX separators.
        pytest: the project's pytest settings (test file patterns, testpaths, pythonpath).

    Returns:
        One ``SourceFile`` per Python file, sorted by path.
    """
    files = sorted(p for p in paths if p.endswith(".py"))
    packages = {p.rpartition("/")[0] for p in files if p.rpartition("/")[2] == "__init__.py"}
    roots = tuple(str(r) for r in _import_roots(pytest))
    return tuple(_source_file(f, packages, roots, pytest) for f in files)


def is_test_file(path: PurePosixPath, pytest: PytestSettings) -> bool:
    """Whether pytest collects ``path`` as a test module under these settings."""
    if path.name == "conftest.py" or not path.name.endswith(".py"):
        return False
    if pytest.testpaths and not any(_under(path, t) for t in pytest.testpaths):
        return False
    if any(_ignored_dir(part, pytest) for part in path.parts[:-1]):
        return False
    return any(_fnmatch_path(pattern, path) for pattern in pytest.python_files)


def is_doctest_file(path: PurePosixPath, pytest: PytestSettings) -> bool:
    """Whether pytest collects doctests from ``path`` (``--doctest-modules``, run without arguments)."""
    if not pytest.doctest_modules or path.name in ("setup.py", "__main__.py") or not path.name.endswith(".py"):
        return False
    if pytest.testpaths and not any(_under(path, t) for t in pytest.testpaths):
        return False
    return not any(_ignored_dir(part, pytest) for part in path.parts[:-1])


def module_name(path: PurePosixPath | str, packages: set[str]) -> str:
    """The name pytest's ``prepend`` mode gives a file: the package walk upwards.

    ``packages`` holds the directories (``"src/pkg"``) that have an ``__init__.py``.
    """
    text = str(path)
    directory, _, name = text.rpartition("/")
    if name == "conftest.py" and directory and directory not in packages:
        # Outside a package every conftest.py would be module "conftest": name each by
        # its directory, so that two of them do not hide each other.
        return ".".join(_identifier(p) for p in directory.split("/")) + ".conftest"
    parts = [name[:-3]] if name != "__init__.py" else []
    while directory and directory in packages:
        directory, _, part = directory.rpartition("/")
        parts.append(part)
    return ".".join(reversed(parts)) or directory.rpartition("/")[2]


# Private


def _source_file(path: str, packages: set[str], roots: tuple[str, ...], pytest: PytestSettings) -> SourceFile:
    canonical = module_name(path, packages)
    aliases = []
    for root in roots:
        if root == ".":
            rel = path
        elif path.startswith(root + "/"):
            rel = path[len(root) + 1 :]
        else:
            continue
        parts = rel[:-3].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(p.isidentifier() for p in parts):
            name = ".".join(parts)
            if name != canonical:
                aliases.append(name)
    posix = PurePosixPath(path)
    if posix.name == "conftest.py":
        role = Role.CONFTEST
    elif is_test_file(posix, pytest):
        role = Role.TEST
    else:
        role = Role.SOURCE
    return SourceFile(path=posix, module=canonical, aliases=tuple(dict.fromkeys(aliases)), role=role)


def _identifier(part: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in part)
    return cleaned if cleaned and not cleaned[0].isdigit() else "_" + cleaned


def _import_roots(pytest: PytestSettings) -> tuple[PurePosixPath, ...]:
    """Directories that end up on ``sys.path``: the root, ``src`` and ``pythonpath``."""
    roots = [PurePosixPath("."), PurePosixPath("src")]
    roots.extend(PurePosixPath(p) for p in pytest.pythonpath)
    return tuple(dict.fromkeys(roots))


def _under(path: PurePosixPath, directory: str) -> bool:
    directory = directory.strip("/") or "."
    if directory == ".":
        return True
    prefix = PurePosixPath(directory)
    return path == prefix or prefix in path.parents


def _ignored_dir(name: str, pytest: PytestSettings) -> bool:
    return name == "__pycache__" or _matches_a_pattern(name, pytest.norecursedirs)


@functools.lru_cache(maxsize=4096)
def _matches_a_pattern(name: str, patterns: tuple[str, ...]) -> bool:
    """(Memoized: a project has a few hundred directory names, each met by many files.)"""
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def _fnmatch_path(pattern: str, path: PurePosixPath) -> bool:
    # pytest: a pattern without a path separator matches the file's name only.
    if "/" not in pattern:
        return fnmatch.fnmatch(path.name, pattern)
    return fnmatch.fnmatch(str(path), pattern) or fnmatch.fnmatch(str(path), "*/" + pattern)
