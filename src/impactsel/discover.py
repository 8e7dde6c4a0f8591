"""① Discovery: the project's file list + pytest settings -> ``SourceFile`` values.

Decides each Python file's module name (the way pytest's default ``prepend``
import mode and ``sys.path`` entries would import it) and its role: a test
module, a ``conftest.py`` or ordinary source.
"""

from __future__ import annotations

import fnmatch
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
    files = sorted(PurePosixPath(p) for p in paths if p.endswith(".py"))
    packages = {f.parent for f in files if f.name == "__init__.py"}
    roots = _import_roots(pytest)
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


def module_name(path: PurePosixPath, packages: set[PurePosixPath]) -> str:
    """The name pytest's ``prepend`` mode gives a file: the package walk upwards."""
    parts = [path.stem] if path.name != "__init__.py" else []
    parent = path.parent
    while parent in packages:
        parts.append(parent.name)
        parent = parent.parent
    return ".".join(reversed(parts)) or path.parent.name


# Private


def _source_file(
    path: PurePosixPath, packages: set[PurePosixPath], roots: tuple[PurePosixPath, ...], pytest: PytestSettings
) -> SourceFile:
    canonical = module_name(path, packages)
    aliases = []
    for root in roots:
        if root != PurePosixPath(".") and not _under(path, str(root)):
            continue
        rel = path.relative_to(root) if root != PurePosixPath(".") else path
        parts = list(rel.parent.parts) + ([] if rel.name == "__init__.py" else [rel.stem])
        if parts and all(p.isidentifier() for p in parts):
            name = ".".join(parts)
            if name != canonical:
                aliases.append(name)
    if path.name == "conftest.py":
        role = Role.CONFTEST
    elif is_test_file(path, pytest):
        role = Role.TEST
    else:
        role = Role.SOURCE
    return SourceFile(path=path, module=canonical, aliases=tuple(dict.fromkeys(aliases)), role=role)


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
    return name == "__pycache__" or any(fnmatch.fnmatch(name, p) for p in pytest.norecursedirs)


def _fnmatch_path(pattern: str, path: PurePosixPath) -> bool:
    # pytest: a pattern without a path separator matches the file's name only.
    if "/" not in pattern:
        return fnmatch.fnmatch(path.name, pattern)
    return fnmatch.fnmatch(str(path), pattern) or fnmatch.fnmatch(str(path), "*/" + pattern)
