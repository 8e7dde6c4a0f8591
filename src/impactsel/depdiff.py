"""Dependency changes: a requirements or lock file -> the distributions it installs differently.

A change to ``requirements*.txt``, ``constraints*.txt``, ``poetry.lock``,
``pdm.lock``, ``uv.lock``, ``Pipfile.lock``, ``Pipfile``, or to the dependency
lists of ``pyproject.toml`` (``[project] dependencies``, ``optional-dependencies``,
``[dependency-groups]``, Poetry's dependency tables) installs other versions of
some distributions. When both versions parse and what differs is the entries of
named distributions, ``diff`` says which (canonical names, PEP 503). Anything else
that differs (an option line such as ``--index-url`` or ``-r other.txt``, a
requirement given as a URL or a path, a table it does not know) and it cannot
tell: the caller selects every test. Files are read, never run.

``[tool.setuptools] packages`` is read the same way: the packages added or removed
install the project's own modules differently (``DependencyDiff.packages``).
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from impactsel.configdiff import PYPROJECT_DEPENDENCY_KEYS, both_sides, inert_pyproject
from impactsel.model import ChangeStatus, FileChange

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Requirement files, by name (pip's format).
REQUIREMENT_FILES = ("requirements*.txt", "constraints*.txt")
#: Lock files whose ``[[package]]`` tables name what is installed.
TOML_LOCKS = frozenset({"poetry.lock", "pdm.lock", "uv.lock"})
#: Top-level tables of a TOML lock file that do not install anything themselves:
#: what is installed is the ``[[package]]`` tables (Poetry's older format keeps the
#: files of each package in ``[metadata.files]``: read per package too).
_LOCK_INERT = frozenset({"metadata", "manifest", "requires-python", "resolution-markers", "version", "revision"})


@dataclass(frozen=True)
class DependencyDiff:
    """What a change to a dependency file installs differently; ``reason`` set: it cannot tell."""

    distributions: frozenset[str] = frozenset()
    packages: frozenset[str] = frozenset()  #: the project's own packages added to or removed from the install
    reason: str | None = None
    #: the environment markers of a distribution's differing entries (``sys_platform == "win32"``),
    #: when each has one: it changes nothing where none holds
    markers: Mapping[str, frozenset[str]] = field(default_factory=dict)


def is_dependency_file(path: PurePosixPath) -> bool:
    """A file that lists what to install (``pyproject.toml`` aside: see ``diff``)."""
    name = path.name
    if name in TOML_LOCKS or name in ("Pipfile", "Pipfile.lock"):
        return True
    if any(fnmatch.fnmatchcase(name, p) for p in REQUIREMENT_FILES):
        return True
    return name.endswith(".txt") and len(path.parts) > 1 and path.parts[-2] == "requirements"


def diff(change: FileChange, addopts: tuple[str, ...] = ()) -> DependencyDiff | None:
    """What the change installs differently, or None when this is not (only) a dependency change.

    None for a ``pyproject.toml`` whose change is not confined to dependency lists,
    ``[tool.setuptools] packages`` and the parts no test can observe (see ``configdiff``);
    a ``DependencyDiff`` with a ``reason`` when the file lists dependencies but the
    change cannot be read as new pins of named distributions.
    """
    name = change.path.name
    if name == "pyproject.toml" and not both_sides(change):
        return None
    sides = _sides(change, "{}" if name == "Pipfile.lock" else "")
    if sides is None:
        return DependencyDiff(reason=f"{change.path} changed and cannot be read ({change.status.value})")
    old, new = sides
    try:
        if name == "pyproject.toml":
            return _pyproject(old, new, addopts)
        if name in TOML_LOCKS:
            return _toml_lock(change.path, tomllib.loads(old), tomllib.loads(new))
        if name == "Pipfile.lock":
            return _pipfile_lock(change.path, json.loads(old), json.loads(new))
        if name == "Pipfile":
            return _pipfile(change.path, tomllib.loads(old), tomllib.loads(new))
        return _requirements(change.path, old, new)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, TypeError, AttributeError, KeyError) as error:
        if name == "pyproject.toml":
            return None
        return DependencyDiff(reason=f"{change.path} does not parse ({type(error).__name__})")
    except RecursionError:  # nesting too deep to read
        return None if name == "pyproject.toml" else DependencyDiff(reason=f"{change.path} is nested too deep to read")


# Private


def _sides(change: FileChange, empty: str) -> tuple[str, str] | None:
    """(old, new) texts; a file added or deleted lists nothing on the other side."""
    if change.binary or change.old_path not in (None, change.path):
        return None
    old = empty if change.status is ChangeStatus.ADDED else change.old_text
    new = empty if change.status is ChangeStatus.DELETED else change.new_text
    return (old, new) if old is not None and new is not None else None


def _requirements(path: PurePosixPath, old_text: str, new_text: str) -> DependencyDiff:
    old, new = _read_requirements(old_text), _read_requirements(new_text)
    if old.options != new.options:
        return DependencyDiff(reason=f"{path} changed an option line ({_first_difference(old.options, new.options)})")
    opaque = set(old.opaque) ^ set(new.opaque)
    if opaque:
        return DependencyDiff(reason=f"{path} changed a requirement that names no distribution ({min(opaque)})")
    return _pins_differ(old, new)


@dataclass
class _Requirements:
    pins: dict[str, list[str]]  #: distribution -> its requirement lines, normalised
    options: list[str]  #: ``-r``, ``-c``, ``-e``, ``--index-url``... in order
    opaque: list[str]  #: requirements given as a URL or a path
    markers: dict[str, set[str]] = field(default_factory=dict)  #: distribution -> its entries' markers ("": none)


def _pins_differ(old: _Requirements, new: _Requirements, packages: frozenset[str] = frozenset()) -> DependencyDiff:
    names = _differing(old.pins, new.pins)
    markers = {n: frozenset(old.markers.get(n, set()) | new.markers.get(n, set())) for n in names}
    return DependencyDiff(
        distributions=frozenset(names),
        packages=packages,
        markers={n: m for n, m in markers.items() if m and "" not in m},
    )


def _read_requirements(text: str) -> _Requirements:
    reqs = _Requirements({}, [], [])
    for line in _logical_lines(text):
        if line.startswith("-"):
            reqs.options.append(" ".join(line.split()))
            continue
        spec, _, hashes = line.partition(" --")
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            reqs.opaque.append(" ".join(line.split()))
            continue
        if requirement.url is not None:
            reqs.opaque.append(str(requirement))
            continue
        requirement.name = canonicalize_name(requirement.name)  # Django==4.2 is django==4.2
        entry = f"{requirement} --{' '.join(sorted(hashes.split()))}" if hashes else str(requirement)
        reqs.pins.setdefault(requirement.name, []).append(entry)
        reqs.markers.setdefault(requirement.name, set()).add(str(requirement.marker or ""))
    return reqs


def _logical_lines(text: str) -> Iterable[str]:
    """pip's lines: comments removed, ``\\`` continuations joined, blank lines dropped."""
    pending = ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            yield line
    if pending.strip():
        yield pending.strip()


def _first_difference(old: list[str], new: list[str]) -> str:
    for a, b in zip(old, new, strict=False):
        if a != b:
            return b
    return (new[len(old) :] or old[len(new) :])[0]


def _differing(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def _toml_lock(path: PurePosixPath, old: dict[str, Any], new: dict[str, Any]) -> DependencyDiff:
    other = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)} - _LOCK_INERT - {"package"}
    if other:
        return DependencyDiff(reason=f"{path} changed its [{min(other)}] table")
    changed = _differing(_lock_packages(old), _lock_packages(new))
    # Poetry before 1.5 lists each package's files in [metadata.files].
    old_files, new_files = _table(_table(old, "metadata"), "files"), _table(_table(new, "metadata"), "files")
    changed |= {canonicalize_name(n) for n in _differing(old_files, new_files)}
    return DependencyDiff(distributions=frozenset(changed))


def _lock_packages(lock: dict[str, Any]) -> dict[str, list[str]]:
    """Canonical name -> its package tables (uv may lock one name at several versions)."""
    found: dict[str, list[str]] = {}
    for package in lock.get("package", []):
        source = package.get("source", {})
        if isinstance(source, dict) and _is_own(source):
            continue  # the project itself, or a member of its workspace: its code is analysed
        name = canonicalize_name(package["name"])
        found.setdefault(name, []).append(json.dumps(package, sort_keys=True, default=str))
    return {name: sorted(tables) for name, tables in found.items()}


def _is_own(source: dict[str, Any]) -> bool:
    """A package installed from a directory of the repository (``editable = "."``, ``virtual = "."``)."""
    places = [source.get(kind) for kind in ("editable", "virtual", "directory")]
    if source.get("type") == "directory":  # Poetry
        places.append(source.get("url"))
    return any(isinstance(p, str) and not p.startswith(("..", "/")) and ":" not in p for p in places)


def _pipfile_lock(path: PurePosixPath, old: dict[str, Any], new: dict[str, Any]) -> DependencyDiff:
    old_meta, new_meta = dict(old.get("_meta", {})), dict(new.get("_meta", {}))
    old_meta.pop("hash", None)
    new_meta.pop("hash", None)
    if old_meta != new_meta:
        return DependencyDiff(reason=f"{path} changed its _meta (sources or requirements)")
    return DependencyDiff(distributions=frozenset(_differing(_sections(old), _sections(new))))


def _pipfile(path: PurePosixPath, old: dict[str, Any], new: dict[str, Any]) -> DependencyDiff:
    sections = {"packages", "dev-packages"}
    other = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)} - sections
    if other:
        return DependencyDiff(reason=f"{path} changed its [{min(other)}] table")
    return DependencyDiff(distributions=frozenset(_differing(_sections(old, sections), _sections(new, sections))))


def _sections(document: dict[str, Any], names: set[str] | None = None) -> dict[str, list[str]]:
    """Canonical name -> its entries, over the sections that map names to pins."""
    found: dict[str, list[str]] = {}
    for section, table in document.items():
        if section.startswith("_") or (names is not None and section not in names) or not isinstance(table, dict):
            continue
        for name, entry in table.items():
            found.setdefault(canonicalize_name(name), []).append(json.dumps(entry, sort_keys=True, default=str))
    return {name: sorted(entries) for name, entries in found.items()}


def _pyproject(old_text: str, new_text: str, addopts: tuple[str, ...]) -> DependencyDiff | None:
    old, new = tomllib.loads(old_text), tomllib.loads(new_text)
    old_pins, new_pins = _pyproject_pins(old), _pyproject_pins(new)
    old_packages, new_packages = _setuptools_packages(old), _setuptools_packages(new)
    if old_pins == new_pins and old_packages == new_packages:
        return None  # configdiff judges the rest
    if old_packages is None or new_packages is None:
        return None  # packages found by [tool.setuptools.packages.find], or not a list: cannot tell
    if not inert_pyproject(_without_dependencies(old), _without_dependencies(new), addopts):
        return None  # something else a test may observe changed too
    if old_pins.options != new_pins.options or set(old_pins.opaque) ^ set(new_pins.opaque):
        return DependencyDiff(reason="pyproject.toml changed a requirement that names no distribution")
    return _pins_differ(old_pins, new_pins, frozenset(set(old_packages) ^ set(new_packages)))


def _pyproject_pins(document: dict[str, Any]) -> _Requirements:
    """Every dependency list of a ``pyproject.toml``, each entry tagged with where it is."""
    found = _Requirements({}, [], [])
    for dotted in PYPROJECT_DEPENDENCY_KEYS:
        value = _lookup(document, dotted)
        if dotted == "tool.poetry.group":  # [tool.poetry.group.<name>.dependencies]
            for group, table in _table_items(value):
                _add_poetry(found, f"{dotted}.{group}", _table(table, "dependencies"))
        elif dotted.startswith("tool.poetry."):
            _add_poetry(found, dotted, value)
        elif isinstance(value, list):
            _add_lines(found, dotted, value)
        else:  # a table of lists: optional-dependencies, dependency-groups
            for group, lines in _table_items(value):
                _add_lines(found, f"{dotted}.{group}", lines if isinstance(lines, list) else [lines])
    return found


def _add_lines(found: _Requirements, where: str, lines: list[Any]) -> None:
    read = _read_requirements("\n".join(v for v in lines if isinstance(v, str)))
    for name, entries in read.pins.items():
        found.pins.setdefault(name, []).extend(f"{where}: {e}" for e in entries)
        found.markers.setdefault(name, set()).update(read.markers[name])
    found.options += read.options
    found.opaque += read.opaque
    # ``{include-group = "x"}`` and other tables: opaque, compared as they are
    found.opaque += [json.dumps(v, sort_keys=True, default=str) for v in lines if not isinstance(v, str)]


def _add_poetry(found: _Requirements, where: str, table: object) -> None:
    """Poetry's ``name = "^1.2"`` tables (``python`` is the interpreter, not a distribution)."""
    for name, spec in _table_items(table):
        if name.lower() != "python":
            found.pins.setdefault(canonicalize_name(name), []).append(f"{where}: {json.dumps(spec, sort_keys=True)}")
            found.markers.setdefault(canonicalize_name(name), set()).add("")


def _without_dependencies(document: dict[str, Any]) -> dict[str, Any]:
    """A copy without the dependency lists and ``[tool.setuptools] packages``."""
    copy = json.loads(json.dumps(document, default=str))
    for dotted in (*PYPROJECT_DEPENDENCY_KEYS, "tool.setuptools.packages"):
        *parents, last = dotted.split(".")
        table = copy
        for part in parents:
            table = table.get(part) if isinstance(table, dict) else None
        if isinstance(table, dict):
            table.pop(last, None)
    return copy


def _setuptools_packages(document: dict[str, Any]) -> list[str] | None:
    """``[tool.setuptools] packages`` when it is a list of names; [] when it is absent."""
    value = _lookup(document, "tool.setuptools.packages")
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(value)
    return None


def _lookup(document: dict[str, Any], dotted: str) -> object:
    value: object = document
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _table(document: object, key: str) -> dict[str, Any]:
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, dict) else {}


def _table_items(value: object) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, dict) else []
