"""Installed distributions: which modules each provides, which others it requires.

Read from the metadata on disk (``*.dist-info``: ``top_level.txt`` or ``RECORD``,
``METADATA``'s ``Requires-Dist``, ``entry_points.txt``), never by importing
anything. The environment searched is the project's: ``$VIRTUAL_ENV``, else a
``.venv`` or ``venv`` directory at the root; then the interpreter running
impactsel (the distributions of the two are usually the same names). Requirement
markers are evaluated for this machine and the Python of that environment.
Metadata that cannot be read counts as a distribution that lists no files: the
caller cannot tell what it provides, and selects every test.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName, default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name


@dataclass(frozen=True)
class Installed:
    """One installed distribution, as far as test selection cares."""

    modules: frozenset[str]  #: the top-level modules and packages it provides
    #: canonical names of the distributions it requires, with the marker of each ("": none)
    requires: Mapping[str, str]
    plugin: bool  #: a pytest plugin (``pytest11`` entry point): it runs in every test session
    startup: bool  #: it installs a ``.pth`` file, which runs at every start of Python
    origin: Path | None = None  #: the local directory it was installed from (``direct_url.json``)


@dataclass(frozen=True)
class Affected:
    """What new versions of some distributions reach: the modules, or why it cannot tell."""

    modules: frozenset[str] = frozenset()
    distributions: tuple[str, ...] = ()  #: every distribution reached, the changed ones and what requires them
    reason: str | None = None


def marker_environment(root: Path) -> dict[str, str]:
    """The values markers are evaluated with: this machine, with the Python version of the
    project's environment (its ``pyvenv.cfg``) when it has one."""
    env = dict(default_environment())
    for venv in _venvs(root):
        try:
            config = (venv / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = re.search(r"^\s*version(?:_info)?\s*=\s*(\d+)\.(\d+)(\.\d+)?", config, re.MULTILINE)
        if found:
            major, minor, patch = found.group(1), found.group(2), found.group(3) or ".0"
            env["python_version"] = f"{major}.{minor}"
            env["python_full_version"] = env["implementation_version"] = f"{major}.{minor}{patch}"
        break
    return env


def applies(marker: str, environment: dict[str, str]) -> bool:
    """Whether a requirement's marker holds in ``environment``; an extra, or a marker it cannot
    evaluate, counts as holding (an extra installed by the project makes it hold)."""
    if "extra" in marker:
        return True
    try:
        return bool(Marker(marker).evaluate(environment))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, ValueError, TypeError):
        return True


def site_dirs(root: Path) -> list[Path]:
    """The ``site-packages`` directories of the project's environment, then the running interpreter's path."""
    found: list[Path] = []  # (a venv without pyvenv.cfg is still searched)
    for venv in _venvs(root):
        found += sorted(venv.glob("lib/python3*/site-packages")) + sorted(venv.glob("Lib/site-packages"))
    found += [Path(p) for p in sys.path if p and Path(p).is_dir()]
    return list(dict.fromkeys(found))


def distributions(paths: Collection[Path]) -> dict[str, Installed]:
    """Canonical name -> what it provides, the first found on ``paths`` winning."""
    found: dict[str, Installed] = {}
    for dist in metadata.distributions(path=[str(p) for p in paths]):
        try:
            name = dist.metadata["Name"] if dist.metadata else None
        except Exception:  # an unreadable METADATA names nothing
            continue
        if not name:
            continue
        key = canonicalize_name(name)
        if key not in found:
            try:
                found[key] = _read(dist)
            except Exception:  # a third party's metadata, in any state: unreadable
                found[key] = Installed(frozenset(), {}, plugin=False, startup=False)
    return found


def affected(
    changed: Collection[str],
    installed: dict[str, Installed],
    own: Collection[str],
    applies: Callable[[str], bool] = lambda marker: True,
) -> Affected:
    """The modules that new versions of ``changed`` distributions may behave differently in.

    A distribution that requires a changed one may change with it: its modules
    count too, and so on up, except where the requirement's marker does not hold
    here (``colorama; sys_platform == "win32"``, ``applies``). The project's own
    distributions (``own``) are left out: their code is what impactsel analyses.
    """
    start = set(changed) - set(own)
    via: dict[str, str] = {}  # what requires a changed distribution -> the one it requires
    todo = sorted(start)
    requirers: dict[str, set[str]] = {}
    for name, dist in installed.items():
        for required, marker in dist.requires.items():
            if not marker or applies(marker):
                requirers.setdefault(required, set()).add(name)
    while todo:
        required = todo.pop()
        for user in sorted(requirers.get(required, ())):
            if user not in start and user not in via and user not in own:
                via[user] = required
                todo.append(user)
    modules: set[str] = set()
    for name in [*sorted(start), *sorted(via)]:  # the changed ones first: the reason names them
        dist = installed.get(name)
        what = name if name not in via else f"{name} (which requires {via[name]})"
        if dist is None:
            return Affected(reason=f"{what} is not installed where impactsel looks: cannot tell what it provides")
        if dist.plugin:
            return Affected(reason=f"{what} is a pytest plugin: it runs in every test session")
        if dist.startup:
            return Affected(reason=f"{what} installs a .pth file, which runs whenever Python starts")
        if not dist.modules:
            return Affected(reason=f"{what} lists no files: cannot tell what it provides")
        modules |= dist.modules
    return Affected(frozenset(modules), tuple(sorted(start | set(via))))


# Private


def _venvs(root: Path) -> list[Path]:
    """Where the project's environment may be: ``$VIRTUAL_ENV``, then ``.venv`` and ``venv``."""
    venvs = [Path(os.environ["VIRTUAL_ENV"])] if os.environ.get("VIRTUAL_ENV") else []
    return [*venvs, root / ".venv", root / "venv"]


def _read(dist: metadata.Distribution) -> Installed:
    files = dist.files or []
    startup = any(f.suffix == ".pth" and len(f.parts) == 1 for f in files)
    top_level = dist.read_text("top_level.txt")
    if top_level:
        modules = {line.strip().replace("/", ".").split(".")[0] for line in top_level.splitlines() if line.strip()}
    else:
        modules = {_module_of(f.parts) for f in files}
        modules.discard("")
    requires: dict[str, str] = {}
    for line in dist.requires or ():
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        name = canonicalize_name(requirement.name)
        marker = str(requirement.marker or "")
        if name in requires and requires[name] != marker:  # listed twice: either marker will do
            marker = f"({requires[name]}) or ({marker})" if marker and requires[name] else ""
        requires[name] = marker
    plugin = any(ep.group == "pytest11" for ep in dist.entry_points)
    return Installed(frozenset(modules), requires, plugin, startup, _origin(dist))


def _origin(dist: metadata.Distribution) -> Path | None:
    try:
        url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    except (ValueError, AttributeError):
        return None
    if not isinstance(url, str) or not url.startswith("file://"):
        return None
    return Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))


def _module_of(parts: tuple[str, ...]) -> str:
    """The top-level module a file of a distribution belongs to ('' when none)."""
    if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".egg-info", ".data")):
        return ""
    first = parts[0]
    if len(parts) == 1:
        stem, _, suffix = first.partition(".")
        return stem if suffix in ("py", "pyc") or suffix.endswith(("so", "pyd")) else ""
    return first if first.isidentifier() else ""
