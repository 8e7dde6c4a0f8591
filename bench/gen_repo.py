"""Generate a deterministic synthetic Python project as a git repository, for the benchmark.

The project is a package ``benchpkg`` of N modules spread over sub-packages, each
50-150 lines long: module constants, functions that call functions of other
modules (imported by name or through the module), and classes with methods,
some of them subclassing a class of another module. A module only imports
modules with a smaller index, so the import graph is acyclic and every test
really runs. ``tests/`` holds M test functions in total, a few per test module,
each importing and calling code of the package.

Everything is derived from ``seed``: the same arguments give the same files and,
since the commit's identity and dates are fixed, the same commit id.

Usage: ``python bench/gen_repo.py PATH --modules 2000 --tests 10000 [--seed 0]``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "benchpkg"
MODULES_PER_SUBPACKAGE = 100
TESTS_PER_FILE = 5
MIN_LINES, MAX_LINES = 50, 150
GIT_IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.com")
FIXED_DATE = "2024-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class ModuleSpec:
    """What one generated module defines: enough for other modules and tests to use it."""

    index: int
    functions: int
    classes: int

    @property
    def subpackage(self) -> str:
        return f"sub{self.index // MODULES_PER_SUBPACKAGE:02d}"

    @property
    def name(self) -> str:
        return f"mod_{self.index:04d}"

    @property
    def dotted(self) -> str:
        return f"{PACKAGE}.{self.subpackage}.{self.name}"

    @property
    def path(self) -> Path:
        return Path(PACKAGE, self.subpackage, f"{self.name}.py")

    def function(self, k: int) -> str:
        return f"func_{self.index:04d}_{k}"

    def cls(self, k: int) -> str:
        return f"Widget{self.index:04d}{chr(ord('A') + k)}"


def generate(path: str | os.PathLike[str], modules: int = 2000, tests: int = 10000, seed: int = 0) -> Path:
    """Write the project into ``path`` (created; must be empty if it exists) and commit it on ``main``."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    rng = random.Random(seed)
    specs = [ModuleSpec(i, functions=rng.randint(2, 5), classes=rng.randint(1, 3)) for i in range(modules)]
    files: dict[Path, str] = {Path("pyproject.toml"): _pyproject(), Path(PACKAGE, "__init__.py"): _docstring(PACKAGE)}
    for sub in sorted({s.subpackage for s in specs}):
        files[Path(PACKAGE, sub, "__init__.py")] = _docstring(f"{PACKAGE}.{sub}")
    for spec in specs:
        files[spec.path] = _module_source(spec, specs, rng)
    files[Path("tests", "__init__.py")] = ""
    for number, (start, count) in enumerate(_test_batches(tests)):
        files[Path("tests", f"test_{number:04d}.py")] = _test_source(specs, start, count, rng)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    _commit(root)
    return root


# Private


def _pyproject() -> str:
    return f'[project]\nname = "{PACKAGE}"\nversion = "0.0.0"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'


def _docstring(dotted: str) -> str:
    return f'"""{dotted}: generated for the impactsel benchmark."""\n'


def _module_source(spec: ModuleSpec, specs: list[ModuleSpec], rng: random.Random) -> str:
    deps = _dependencies(spec, specs, rng)
    lines = [_docstring(spec.dotted).rstrip("\n"), "", "from __future__ import annotations", "", *_imports(spec, deps)]
    lines += ["", f"LIMIT_{spec.index:04d} = {rng.randint(10, 999)}", f'LABEL_{spec.index:04d} = "{spec.name}"', ""]
    for k in range(spec.functions):
        lines += ["", *_function(spec, k, deps, rng)]
    for k in range(spec.classes):
        lines += ["", *_class(spec, k, deps, rng)]
    lines += _padding(spec, len(lines), rng)
    return "\n".join(lines) + "\n"


def _dependencies(spec: ModuleSpec, specs: list[ModuleSpec], rng: random.Random) -> list[ModuleSpec]:
    if spec.index == 0:
        return []
    count = min(spec.index, rng.randint(1, 4))
    # Mostly nearby modules (a realistic locality), sometimes anywhere below.
    window = specs[max(0, spec.index - 40) : spec.index]
    picked = {rng.choice(window if rng.random() < 0.7 else specs[: spec.index]).index for _ in range(count)}
    return [specs[i] for i in sorted(picked)]


def _imports(spec: ModuleSpec, deps: list[ModuleSpec]) -> list[str]:
    lines = []
    for n, dep in enumerate(deps):
        if n % 2 == 0:
            lines.append(f"from {PACKAGE}.{dep.subpackage} import {dep.name}")
        else:
            lines.append(f"from {dep.dotted} import {dep.cls(0)}, {dep.function(0)}")
    return sorted(lines)


def _call(dep: ModuleSpec, position: int, arg: str) -> str:
    """A call of ``dep``'s code in the style ``_imports`` imported it (by module or by name)."""
    if position % 2 == 0:
        return f"{dep.name}.{dep.function(1)}({arg}, depth + 1)"
    return f"{dep.function(0)}({arg}, depth + 1)"


def _function(spec: ModuleSpec, k: int, deps: list[ModuleSpec], rng: random.Random) -> list[str]:
    lines = [
        f"def {spec.function(k)}(value: int, depth: int = 0) -> int:",
        f'    """Step {k} of module {spec.index}: mixes ``value`` with the module limit."""',
        f"    total = value * {rng.randint(2, 9)} + LIMIT_{spec.index:04d}",
    ]
    if k > 0:
        lines.append(f"    total += {spec.function(k - 1)}(value, depth)")
    if deps and _calls_out(k):
        position = rng.randrange(len(deps))
        lines += ["    if depth < 2:", f"        total += {_call(deps[position], position, 'total % 97')}"]
    lines += [
        f"    if total > {rng.randint(1000, 9999)}:",
        f"        total %= {rng.randint(101, 997)}",
        "    return total",
        "",
    ]
    return lines


def _calls_out(k: int) -> bool:
    """Whether function ``k`` of a module calls into another module (the first two do)."""
    return k < 2


def _class(spec: ModuleSpec, k: int, deps: list[ModuleSpec], rng: random.Random) -> list[str]:
    # ``_imports`` imports the dependency at position 1 by name: its first class can be a base.
    base = deps[1].cls(0) if k == 0 and len(deps) > 1 else None
    header = f"class {spec.cls(k)}({base}):" if base else f"class {spec.cls(k)}:"
    lines = [
        header,
        f'    """A widget of module {spec.index}, holding a size."""',
        "",
        "    def __init__(self, size: int = 1) -> None:",
        *(["        super().__init__(size)"] if base else []),
        "        self.size = size",
        f"        self.label = LABEL_{spec.index:04d}",
        "",
    ]
    for m in range(rng.randint(2, 3)):
        lines += _method(spec, m, rng)
    return lines


def _method(spec: ModuleSpec, m: int, rng: random.Random) -> list[str]:
    body = f"{spec.function(m % spec.functions)}(self.size + amount, depth)"
    if m > 0 and rng.random() < 0.5:
        body = f"self.step_{m - 1}(amount, depth) + {body}"
    return [
        f"    def step_{m}(self, amount: int = 1, depth: int = 0) -> int:",
        f'        """Method {m}: grows by ``amount`` through the module functions."""',
        f"        return {body}",
        "",
    ]


def _padding(spec: ModuleSpec, current: int, rng: random.Random) -> list[str]:
    """Helper functions until the module is at least ``MIN_LINES`` long (and a few more, at random)."""
    target = min(MAX_LINES, max(MIN_LINES, current + rng.randint(0, 20)))
    lines: list[str] = []
    n = 0
    while current + len(lines) < target:
        factor = rng.randint(2, 7)
        lines += [
            "",
            f"def _helper_{n}(items: list[int]) -> list[int]:",
            f'    """Keep the items under LIMIT_{spec.index:04d}, times {factor}."""',
            f"    return [item * {factor} for item in items if item < LIMIT_{spec.index:04d}]",
            "",
        ]
        n += 1
    return lines


def _test_batches(tests: int) -> list[tuple[int, int]]:
    """(first test number, count) for each test module: ``TESTS_PER_FILE`` tests per module."""
    return [(start, min(TESTS_PER_FILE, tests - start)) for start in range(0, tests, TESTS_PER_FILE)]


def _test_source(specs: list[ModuleSpec], start: int, count: int, rng: random.Random) -> str:
    target = specs[(start // TESTS_PER_FILE) % len(specs)]
    other = specs[rng.randrange(len(specs))]
    imports = sorted(
        {
            f"from {target.dotted} import {target.cls(0)}, {target.function(0)}",
            f"from {PACKAGE}.{other.subpackage} import {other.name}",
        }
    )
    lines = [f'"""Tests of {target.dotted}."""', "", "from __future__ import annotations", "", *imports, ""]
    for n in range(start, start + count):
        lines += ["", *_test_function(n, target, other, rng)]
    return "\n".join(lines) + "\n"


def _test_function(n: int, target: ModuleSpec, other: ModuleSpec, rng: random.Random) -> list[str]:
    kind = rng.randrange(3)
    if kind == 0:
        body = [f"    assert {target.function(0)}({rng.randint(0, 50)}) >= 0"]
    elif kind == 1:
        body = [f"    widget = {target.cls(0)}({rng.randint(1, 9)})", "    assert widget.step_0(2) >= 0"]
    else:
        body = [f"    assert isinstance({other.name}.{other.function(1)}({rng.randint(0, 50)}), int)"]
    return [f"def test_case_{n:05d}() -> None:", *body, ""]


def _commit(root: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": FIXED_DATE, "GIT_COMMITTER_DATE": FIXED_DATE}
    for args in (
        ("init", "-q", "-b", "main"),
        ("add", "-A"),
        (*GIT_IDENTITY, "commit", "-q", "--no-gpg-sign", "-m", "Generated benchmark project"),
    ):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="directory to create (must not exist or be empty)")
    parser.add_argument("--modules", type=int, default=2000, help="source modules (default: 2000)")
    parser.add_argument("--tests", type=int, default=10000, help="test functions in total (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    root = generate(args.path, modules=args.modules, tests=args.tests, seed=args.seed)
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
