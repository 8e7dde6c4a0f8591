"""Configuration: the project's pytest settings and ``[tool.impactsel]`` -> ``Settings``.

Read, never executed: pytest's ini files (pytest.ini, .pytest.ini, pyproject.toml,
tox.ini, setup.cfg, in pytest's own order of preference) give the rules that
decide which files, classes and functions are tests; ``[tool.impactsel]`` in
pyproject.toml gives impactsel's own options.

The order in which a value is decided:
  1. the defaults below;
  2. ``[tool.impactsel]`` in pyproject.toml;
  3. ``IMPACTSEL_*`` environment variables;
  4. command-line flags (applied by the caller with ``dataclasses.replace``).
"""

from __future__ import annotations

import configparser
import os
import shlex
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from impactsel.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Files whose change can alter how tests are collected or what is installed:
#: a change to one of them selects every test.
CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "pytest.ini",
    ".pytest.ini",
    "noxfile.py",
    "requirements*.txt",
    "requirements/*.txt",
    "*.lock",
    "constraints*.txt",
    "Pipfile",
    "MANIFEST.in",
)

#: Files that no test can observe unless code names them: documentation,
#: repository metadata, CI services' and task runners' files (the tests they run
#: are selected by what changed in the code). A change to one selects nothing
#: (named ones: their users).
DOC_FILES = (
    "*.md",
    "*.rst",
    "docs/*",
    "doc/*",
    "LICENSE*",
    "LICENCE*",
    "AUTHORS*",
    "CHANGES*",
    "CHANGELOG*",
    "HISTORY*",
    "NEWS*",
    ".github/*",
    ".gitignore",
    ".gitattributes",
    ".editorconfig",
    ".pre-commit-config.yaml",
    ".readthedocs.y*ml",
    ".git-blame-ignore-revs",
    ".mailmap",
    "CODEOWNERS",
    "Makefile",
    "*.mk",
    "justfile",
    ".gitlab-ci.yml",
    ".travis.yml",
    "appveyor.yml",
    "azure-pipelines.yml",
    ".circleci/*",
    "codecov.y*ml",
    ".codecov.y*ml",
    "*.png",
    "*.svg",
)

_DEFAULT_NORECURSE = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}")


@dataclass(frozen=True)
class PytestSettings:
    """The pytest ini options that decide what is a test, as pytest reads them."""

    config_file: str | None = None  #: relative path of the ini file that was used
    testpaths: tuple[str, ...] = ()
    python_files: tuple[str, ...] = ("test_*.py", "*_test.py")
    python_classes: tuple[str, ...] = ("Test",)
    python_functions: tuple[str, ...] = ("test",)
    pythonpath: tuple[str, ...] = ()
    norecursedirs: tuple[str, ...] = _DEFAULT_NORECURSE
    usefixtures: tuple[str, ...] = ()
    addopts: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()  #: modules named by ``-p`` in addopts
    #: the project declares a ``pytest11`` entry point: pytest loads that plugin itself
    entry_point_plugin: bool = False

    @property
    def doctest_files(self) -> bool:
        """pytest collects doctests from text files (``--doctest-glob``)."""
        return any(opt.startswith("--doctest-glob") for opt in self.addopts)

    @property
    def doctest_modules(self) -> bool:
        """pytest collects the doctests of Python modules (``--doctest-modules``)."""
        return "--doctest-modules" in self.addopts

    @property
    def imports_every_module(self) -> bool:
        """pytest itself may import any module: for doctests, or a plugin the project installs."""
        return self.entry_point_plugin or self.doctest_files or self.doctest_modules


@dataclass(frozen=True)
class Settings:
    root: Path
    since: str | None = None
    pytest: PytestSettings = field(default_factory=PytestSettings)
    #: globs (relative to the root) the user adds to CONFIG_FILES: their change always selects every test
    run_all_on: tuple[str, ...] = ()
    #: globs whose change selects only the tests of code naming the file
    ignore: tuple[str, ...] = DOC_FILES
    #: where extraction results are cached (None: no cache)
    cache_dir: Path | None = None
    #: extra tests (node ids) that are always selected
    always_run: tuple[str, ...] = ()
    output_format: str = "ids"
    #: worker processes for a cold run (0: one per core)
    jobs: int = 0
    #: in a shallow clone, deepen the history until the base is found
    fetch: bool = False
    #: extra edges for what analysis cannot see: a path or glob -> tests or modules it affects
    depends: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: directories holding tests, when they are not pytest's testpaths
    test_roots: tuple[str, ...] = ()
    debug: bool = False


def load_settings(root: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read the pytest configuration and ``[tool.impactsel]`` under ``root``.

    Raises:
        ConfigError: a configuration file that cannot be read, or bad values.
    """
    environ = dict(os.environ) if environ is None else environ
    pyproject = _read_toml(root / "pyproject.toml")
    own = pyproject.get("tool", {}).get("impactsel", {})
    pytest = read_pytest_settings(root, pyproject)
    if _declares_pytest_plugin(root):
        pytest = replace(pytest, entry_point_plugin=True)
    values: dict[str, Any] = {"root": root, "pytest": pytest}
    errors: list[str] = []
    for key, raw in own.items():
        name = key.replace("-", "_")
        if name not in _OPTIONS:
            errors.append(f"unknown option {key!r}")
            continue
        try:
            values[name] = _OPTIONS[name](raw)
        except (TypeError, ValueError):
            errors.append(f"{key}: expected {_OPTIONS[name].__doc__}")
    if errors:
        raise ConfigError("[tool.impactsel] in pyproject.toml: " + "; ".join(errors), slug="config")
    if environ.get("IMPACTSEL_SINCE"):
        values["since"] = environ["IMPACTSEL_SINCE"]
    if values["pytest"].doctest_files:
        values.setdefault("ignore", DOC_FILES)
        values["ignore"] = tuple(g for g in values["ignore"] if g not in ("*.md", "*.rst", "docs/*", "doc/*"))
    cache = values.pop("cache_dir", ".impactsel_cache")
    if environ.get("IMPACTSEL_CACHE_DIR"):
        cache = environ["IMPACTSEL_CACHE_DIR"]
    values["cache_dir"] = (root / cache) if cache else None
    return Settings(**values)


def read_pytest_settings(root: Path, pyproject: dict[str, Any] | None = None) -> PytestSettings:
    """pytest's ini options from the first file that has them, in pytest's order."""
    for name in ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
        path = root / name
        if not path.is_file():
            continue
        if name == "pyproject.toml":
            data = pyproject if pyproject is not None else _read_toml(path)
            tool = data.get("tool", {}).get("pytest", {})
            section = tool.get("ini_options", tool if tool and "ini_options" not in tool else None)
            if section is None:
                continue
            return _pytest_settings(name, {k: _as_list(v) for k, v in section.items()})
        ini = _read_ini(path)
        section_name = {"setup.cfg": "tool:pytest"}.get(name, "pytest")
        if ini.has_section(section_name) or name in ("pytest.ini", ".pytest.ini"):
            items = dict(ini.items(section_name)) if ini.has_section(section_name) else {}
            return _pytest_settings(name, {k: _split(v) for k, v in items.items()})
    return PytestSettings()


# Private


def _declares_pytest_plugin(root: Path) -> bool:
    """A ``pytest11`` entry point in the packaging files: installed, pytest loads it for every run."""
    for name in ("pyproject.toml", "setup.cfg", "setup.py"):
        try:
            if b"pytest11" in (root / name).read_bytes():
                return True
        except OSError:
            continue
    return False


def _tuple_of_str(value: object) -> tuple[str, ...]:
    """a list of strings"""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(value)
    return tuple(value)


def _str(value: object) -> str:
    """a string"""
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _depends(value: object) -> dict[str, tuple[str, ...]]:
    """a table of strings to lists of strings"""
    if not isinstance(value, dict):
        raise TypeError(value)
    return {str(k): _tuple_of_str(v) for k, v in value.items()}


_OPTIONS = {
    "since": _str,
    "depends": _depends,
    "test_roots": _tuple_of_str,
    "cache_dir": _str,
    "run_all_on": _tuple_of_str,
    "ignore": _tuple_of_str,
    "always_run": _tuple_of_str,
}


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {path.name}: {exc}; fix the file (impactsel reads pytest's settings from it)",
            slug="config",
        ) from None


def _read_ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"cannot read {path.name}: {first}; fix the file", slug="config") from None
    return parser


def _split(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def _as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        return _split(value)
    return [str(value)]


def _pytest_settings(config_file: str, options: dict[str, list[str]]) -> PytestSettings:
    defaults = PytestSettings()
    addopts = tuple(options.get("addopts", ()))
    plugins = tuple(addopts[i + 1] for i, opt in enumerate(addopts[:-1]) if opt == "-p")
    plugins += tuple(opt[2:] for opt in addopts if opt.startswith("-p") and len(opt) > 2)
    return PytestSettings(
        config_file=config_file,
        testpaths=tuple(options.get("testpaths", ())),
        python_files=tuple(options.get("python_files", defaults.python_files)),
        python_classes=tuple(options.get("python_classes", defaults.python_classes)),
        python_functions=tuple(options.get("python_functions", defaults.python_functions)),
        pythonpath=tuple(options.get("pythonpath", ())),
        norecursedirs=tuple(options.get("norecursedirs", defaults.norecursedirs)),
        usefixtures=tuple(options.get("usefixtures", ())),
        addopts=addopts,
        plugins=plugins,
    )
