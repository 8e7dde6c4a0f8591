"""Benchmark impactsel: speed and memory, side by side with pytest-impacted and a bare libcst parse.

Measures a generated repository (``bench/gen_repo.py``: 2,000 modules, 10,000
tests) and each git checkout named on the command line. Every repository is
copied first (``git clone --local`` into a temporary directory, at the
checkout's HEAD): the benchmark changes and commits in the copy only.

The scenarios, interleaved round after round (the median is reported):

  cold              impactsel, empty cache directory, one file changed (so every file is parsed)
  warm              impactsel, cache from the cold run, nothing changed
  bare-parse        ``libcst.parse_module`` over the same .py files, nothing else
  warm-1-change     impactsel, warm cache, a function appended to one module (uncommitted;
                    each round appends a different one, so each round parses it afresh): a
                    new name, so the graph is resolved in full (the snapshot cannot be patched)
  warm-body-edit    impactsel, warm cache, a statement inserted in the body of a function of
                    that module, after an unmeasured run that left a snapshot of its interface:
                    the graph is patched (the day-to-day edit-and-run loop)
  pytest-impacted   ``impacted-tests`` on the same change, committed (its branch mode reads commits only);
                    where it overflows Python's default stack (sympy), run again with a deeper one
                    (``bench/deep_stack.py``), and the notes say so
  stale-cache       impactsel, cache filled at HEAD~50, a function appended to one module (repositories
                    with the history): every file that differs is parsed, the graph resolved in full
  bare-parse-stale  ``libcst.parse_module`` over only the .py files that differ between HEAD~50 and HEAD
  every-file        (with ``--every-file``) impactsel, empty cache directory, a comment appended to
                    every .py file: both versions of every file are parsed, and nothing is selected

Each runs in a child process: wall time from the parent's clock, peak RSS from
``os.wait4`` (the child, or the largest process it waited for: with a worker
pool, the largest single process, not their sum). bare-parse uses as many
workers as impactsel (one per core when it has ``--jobs``, else 1). "own s" is the
time the tool reports for itself (impactsel's summary line, the parse loop of
``bare_parse.py``): the wall time minus interpreter start-up and imports.

Usage: ``python bench/bench.py [REPO_PATH ...] [--generated PATH] [--rounds 3] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: impactsel depends on tomli there
    import tomli as tomllib

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
import gen_repo  # noqa: E402  (a sibling script, importable once bench/ is on the path)

GIT_IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.com")
STALE_DEPTH = 50
BRANCH = "bench"
SCENARIOS = (
    "cold",
    "warm",
    "bare-parse",
    "warm-1-change",
    "warm-body-edit",
    "pytest-impacted",
    "stale-cache",
    "bare-parse-stale",
    "every-file",
)
_IMPACTSEL_SECONDS = re.compile(r"\(base \w+, ([0-9.]+) s\)")
_WIDTHS = (9, 15, 9, 9, 8, 9)
_NOT_PACKAGES = {"tests", "test", "testing", "docs", "doc", "examples", "benchmarks", "bench", "scripts"}


# -- Running one child process ---------------------------------------------------


@dataclass
class Sample:
    """One finished child process."""

    seconds: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_child(argv: list[str], cwd: Path) -> Sample:
    """Run ``argv`` to completion; wall time and peak RSS (``os.wait4``) of it and its children."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        except OSError as exc:
            return Sample(0.0, 0.0, -1, "", f"cannot start {argv[0]}: {exc}")
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return Sample(seconds, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr)


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` (setup steps, not measured); raise on failure."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {root}: {done.stderr.strip()}")
    return done.stdout


# -- What a scenario run gives ---------------------------------------------------


@dataclass
class Measurement:
    """One run of one scenario, reduced to what the report needs."""

    seconds: float
    rss_mb: float
    ok: bool
    own_seconds: float | None = None
    parsed: int | None = None
    selected: int | None = None
    error: str | None = None


@dataclass
class Summary:
    """The medians of a scenario's successful runs."""

    runs: int
    failures: int
    seconds: float | None
    seconds_min: float | None
    seconds_max: float | None
    own_seconds: float | None
    rss_mb: float | None
    parsed: int | None
    selected: int | None


def summarise(runs: list[Measurement]) -> Summary:
    good = [m for m in runs if m.ok]

    def median(values: list[float | int | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    seconds = [m.seconds for m in good]
    parsed, selected = median([m.parsed for m in good]), median([m.selected for m in good])
    return Summary(
        runs=len(runs),
        failures=len(runs) - len(good),
        seconds=median(list(seconds)),
        seconds_min=min(seconds) if seconds else None,
        seconds_max=max(seconds) if seconds else None,
        own_seconds=median([m.own_seconds for m in good]),
        rss_mb=median([m.rss_mb for m in good]),
        parsed=round(parsed) if parsed is not None else None,
        selected=round(selected) if selected is not None else None,
    )


# -- The tools -------------------------------------------------------------------


@dataclass(frozen=True)
class Tools:
    """How to run each tool, and how many workers impactsel uses (1 unless it has ``--jobs``)."""

    impactsel: tuple[str, ...]
    impacted_tests: str | None
    jobs: int

    @classmethod
    def find(cls) -> Tools:
        impactsel = (sys.executable, "-m", "impactsel")
        help_text = subprocess.run([*impactsel, "--help"], capture_output=True, text=True, check=False).stdout
        jobs = (os.cpu_count() or 1) if "--jobs" in help_text else 1
        beside = Path(sys.executable).parent / "impacted-tests"
        impacted = shutil.which("impacted-tests") or (str(beside) if beside.exists() else None)
        return cls(impactsel, impacted, jobs)

    def impactsel_argv(self, since: str, root: Path, cache: Path) -> list[str]:
        jobs = ["--jobs", str(self.jobs)] if self.jobs > 1 else []
        return [*self.impactsel, "--since", since, "--root", str(root), "--cache-dir", str(cache), *jobs]


# -- A repository copy -----------------------------------------------------------


@dataclass
class Workspace:
    """A private clone of one repository, with what the scenarios need to know about it."""

    name: str
    root: Path
    scratch: Path
    base: str
    py_files: list[str]
    package: str | None
    tests_dir: str | None
    changed_module: str | None
    old_rev: str | None
    notes: list[str] = field(default_factory=list)

    def file_list(self, name: str, paths: list[str]) -> Path:
        target = self.scratch / f"{name}.txt"
        target.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
        return target


def prepare_workspace(name: str, source: Path, scratch: Path) -> Workspace:
    """Clone ``source`` at its HEAD into ``scratch`` and look at it: files, package, tests, history."""
    head = git(source, "rev-parse", "HEAD").strip()
    root = scratch / "repo"
    subprocess.run(["git", "clone", "-q", "--local", "--no-checkout", str(source), str(root)], check=True)
    git(root, "checkout", "-q", "-B", BRANCH, head)
    py_files = sorted(git(root, "ls-files", "-z", "--", "*.py").split("\0")[:-1])
    package = find_package(py_files)
    ws = Workspace(
        name=name,
        root=root,
        scratch=scratch,
        base=head,
        py_files=py_files,
        package=package,
        tests_dir=find_tests_dir(root),
        changed_module=pick_module(root, py_files, package),
        old_rev=_old_revision(root),
    )
    if git(source, "status", "--porcelain", "--untracked-files=no").strip():
        ws.notes.append("the checkout has uncommitted changes: the benchmark measures its HEAD commit")
    return ws


def find_package(py_files: list[str]) -> str | None:
    """The top-level package directory (``pkg`` or ``src/pkg``) with the most .py files."""
    counts: dict[str, int] = {}
    inits = {p.rpartition("/")[0] for p in py_files if p.endswith("/__init__.py")}
    for path in py_files:
        parts = path.split("/")
        top = "/".join(parts[:2]) if parts[0] == "src" and len(parts) > 2 else parts[0]
        if top in inits and top.rpartition("/")[2] not in _NOT_PACKAGES:
            counts[top] = counts.get(top, 0) + 1
    return max(sorted(counts), key=lambda p: counts[p]) if counts else None


def find_tests_dir(root: Path) -> str | None:
    """The first of pytest's ``testpaths`` (pyproject.toml), else ``tests`` or ``test`` if present."""
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        with contextlib.suppress(tomllib.TOMLDecodeError):
            config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            testpaths = config.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("testpaths")
            if testpaths and (root / testpaths[0]).is_dir():
                return str(testpaths[0])
    return next((d for d in ("tests", "test") if (root / d).is_dir()), None)


def pick_module(root: Path, py_files: list[str], package: str | None) -> str | None:
    """The package module of median size (``__init__.py`` aside): the one every round changes."""
    if package is None:
        return None
    modules = [p for p in py_files if p.startswith(package + "/") and not p.endswith("__init__.py")]
    modules.sort(key=lambda p: ((root / p).stat().st_size, p))
    return modules[len(modules) // 2] if modules else None


def _old_revision(root: Path) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"HEAD~{STALE_DEPTH}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


@contextlib.contextmanager
def reset_afterwards(ws: Workspace) -> Iterator[None]:
    """Put the copy back at ``ws.base`` (what a scenario edited is thrown away)."""
    try:
        yield
    finally:
        git(ws.root, "reset", "-q", "--hard", ws.base)


@contextlib.contextmanager
def one_change(ws: Workspace, number: int) -> Iterator[None]:
    """Append a new function to ``ws.changed_module`` (uncommitted); reset the copy afterwards."""
    assert ws.changed_module is not None
    path = ws.root / ws.changed_module
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n\ndef _bench_added_{number}(value: int) -> int:\n    return value + {number}\n")
    with reset_afterwards(ws):
        yield


@contextlib.contextmanager
def every_file_changed(ws: Workspace) -> Iterator[None]:
    """Append a comment line to every .py file (uncommitted); reset the copy afterwards."""
    for name in ws.py_files:
        with (ws.root / name).open("ab") as handle:
            handle.write(b"\n# bench: every file changed\n")
    with reset_afterwards(ws):
        yield


@contextlib.contextmanager
def body_edit(ws: Workspace, number: int) -> Iterator[None]:
    """Insert an assignment at the start of the first function body of ``ws.changed_module``; reset afterwards."""
    import ast

    assert ws.changed_module is not None
    path = ws.root / ws.changed_module
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for node in ast.walk(ast.parse(text)):  # module level first, then class bodies
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[1] if len(body) > 1 and isinstance(body[0], ast.Expr) else body[0]
            indent = " " * first.col_offset
            lines.insert(first.lineno - 1, f"{indent}_bench_edit = {number}\n")
            break
    path.write_text("".join(lines), encoding="utf-8")
    with reset_afterwards(ws):
        yield


def commit_all(ws: Workspace) -> None:
    git(ws.root, *GIT_IDENTITY, "commit", "-q", "-a", "--no-gpg-sign", "-m", "bench: one change")


# -- The scenarios ---------------------------------------------------------------


def count_entries(cache: Path) -> int:
    """Entries in an impactsel cache directory (its JSON files)."""
    return sum(1 for _ in cache.rglob("*.json")) if cache.exists() else 0


def failure(sample: Sample) -> Measurement:
    tail = " | ".join(sample.stderr.strip().splitlines()[-3:])
    return Measurement(sample.seconds, sample.rss_mb, ok=False, error=f"exit {sample.returncode}: {tail}")


def run_impactsel(ws: Workspace, tools: Tools, cache: Path, since: str | None = None) -> Measurement:
    before = count_entries(cache)
    sample = run_child(tools.impactsel_argv(since or ws.base, ws.root, cache), ws.root)
    if not sample.ok:
        return failure(sample)
    found = _IMPACTSEL_SECONDS.search(sample.stderr)
    return Measurement(
        sample.seconds,
        sample.rss_mb,
        ok=True,
        own_seconds=float(found.group(1)) if found else None,
        parsed=count_entries(cache) - before,
        selected=len(sample.stdout.splitlines()),
    )


def run_bare_parse(ws: Workspace, tools: Tools, file_list: Path) -> Measurement:
    argv = [sys.executable, str(BENCH_DIR / "bare_parse.py"), str(file_list), "--jobs", str(tools.jobs)]
    sample = run_child(argv, ws.root)
    if not sample.ok:
        return failure(sample)
    try:
        report = json.loads(sample.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Measurement(sample.seconds, sample.rss_mb, ok=False, error=f"unreadable output: {sample.stdout!r:.200}")
    return Measurement(sample.seconds, sample.rss_mb, ok=True, own_seconds=report["seconds"], parsed=report["files"])


def run_pytest_impacted(ws: Workspace, tools: Tools) -> Measurement:
    assert tools.impacted_tests is not None and ws.package is not None
    argv = [tools.impacted_tests, f"--module={ws.package}", "--git-mode=branch", f"--base-branch={ws.base}"]
    if ws.tests_dir:
        argv.append(f"--tests-dir={ws.tests_dir}")
    sample = run_child(argv, ws.root)
    if not sample.ok and "RecursionError" in sample.stderr:
        # Syntax trees deeper than Python's default stack (sympy): the same run, a deeper stack.
        sample = run_child([sys.executable, str(BENCH_DIR / "deep_stack.py"), *argv[1:]], ws.root)
        note = "pytest-impacted overflows the default stack here (RecursionError): run with a 1 GiB stack"
        if note not in ws.notes:
            ws.notes.append(note)
    if not sample.ok:
        return failure(sample)
    return Measurement(sample.seconds, sample.rss_mb, ok=True, selected=len(sample.stdout.splitlines()))


def seed_stale_cache(ws: Workspace, tools: Tools) -> Path | None:
    """A cache filled by a run at HEAD~50 (not measured), or ``None`` with a note if impossible."""
    if ws.old_rev is None:
        ws.notes.append(f"fewer than {STALE_DEPTH} commits of history: no stale-cache run")
        return None
    seed = ws.scratch / "cache-stale-seed"
    git(ws.root, "checkout", "-q", "--detach", ws.old_rev)
    try:
        # Against its parent, so that there is a change and the whole project is analysed.
        result = run_impactsel(ws, tools, seed, since="HEAD~1")
    finally:
        git(ws.root, "checkout", "-q", BRANCH)
    if not result.ok:
        ws.notes.append(f"impactsel failed at HEAD~{STALE_DEPTH}, no stale-cache run ({result.error})")
        return None
    return seed


def stale_files(ws: Workspace) -> list[str]:
    """The .py files at HEAD whose content differs from HEAD~50 (added, changed, renamed and changed)."""
    assert ws.old_rev is not None
    diff = ("diff", "--name-only", "-z", "--no-renames", "--diff-filter=AM")
    names = git(ws.root, *diff, ws.old_rev, ws.base, "--", "*.py")
    present = set(ws.py_files)
    return sorted(p for p in names.split("\0") if p in present)


def bench_workspace(
    ws: Workspace, tools: Tools, rounds: int, cold_rounds: int, every_file: bool = False
) -> dict[str, list[Measurement]]:
    """Every scenario, ``rounds`` times, interleaved; cold runs in the first ``cold_rounds`` rounds only."""
    results: dict[str, list[Measurement]] = {s: [] for s in SCENARIOS}
    all_files = ws.file_list("all", ws.py_files)
    seed = seed_stale_cache(ws, tools)
    stale_list = ws.file_list("stale", stale_files(ws)) if seed else None
    if tools.impacted_tests is None:
        ws.notes.append("impacted-tests is not on PATH: pytest-impacted skipped")
    if ws.changed_module is None:
        ws.notes.append("no package module found to change: warm-1-change and pytest-impacted skipped")
    warm_cache = ws.scratch / "cache-0"
    for n in range(rounds):
        step = Recorder(ws.name, results, f"round {n + 1}/{rounds}")
        if n < cold_rounds:
            # With nothing changed impactsel stops before reading the project: a cold
            # run is measured with a change, so that every file is parsed.
            warm_cache = ws.scratch / f"cache-{n}"
            with one_change(ws, 1000 + n):
                step("cold", run_impactsel, ws, tools, warm_cache)
            if every_file:
                with every_file_changed(ws):
                    step("every-file", run_impactsel, ws, tools, ws.scratch / f"cache-every-{n}")
        step("warm", run_impactsel, ws, tools, warm_cache)
        step("bare-parse", run_bare_parse, ws, tools, all_files)
        if ws.changed_module is not None:
            with body_edit(ws, 2000 + n):
                run_impactsel(ws, tools, warm_cache)  # a snapshot of the module's interface as it is
            with body_edit(ws, n):
                step("warm-body-edit", run_impactsel, ws, tools, warm_cache)
            with one_change(ws, n):
                step("warm-1-change", run_impactsel, ws, tools, warm_cache)
                if tools.impacted_tests is not None:
                    commit_all(ws)
                    step("pytest-impacted", run_pytest_impacted, ws, tools)
        if seed is not None and stale_list is not None:
            copy = ws.scratch / f"cache-stale-{n}"
            shutil.copytree(seed, copy)
            if ws.changed_module is not None:
                with one_change(ws, 3000 + n):
                    step("stale-cache", run_impactsel, ws, tools, copy)
            step("bare-parse-stale", run_bare_parse, ws, tools, stale_list)
    return {s: runs for s, runs in results.items() if runs}


@dataclass
class Recorder:
    """Runs a scenario, keeps its measurement and says how it went on stderr."""

    repo: str
    results: dict[str, list[Measurement]]
    label: str

    def __call__(self, scenario: str, run: Callable[..., Measurement], *args: Any) -> None:
        measurement = run(*args)
        self.results[scenario].append(measurement)
        status = f"{measurement.seconds:7.2f} s" if measurement.ok else f"FAILED ({measurement.error})"
        print(f"[{self.repo}] {self.label} {scenario:<17} {status}", file=sys.stderr, flush=True)


def cache_anomalies(results: dict[str, list[Measurement]]) -> list[str]:
    """Warm runs that parsed more than they should have: their timings are not those of a warm run."""
    expected = {"warm": 0, "warm-1-change": 1, "warm-body-edit": 1}
    notes = []
    for scenario, limit in expected.items():
        for n, m in enumerate(results.get(scenario, []), 1):
            if m.parsed is not None and m.parsed > limit:
                notes.append(
                    f"{scenario} run {n} parsed {m.parsed} files (expected <= {limit}): the cache did not serve them"
                    " (did impactsel's cache key change during the benchmark? src/ may be installed editable)"
                )
    return notes


# -- Ratios and the report -------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def per_file_ms(seconds: float | None, files: int) -> float | None:
    return seconds * 1000 / files if seconds is not None and files else None


def ratios(summaries: dict[str, Summary], files: int) -> dict[str, float | None]:
    def get(scenario: str, attr: str = "seconds") -> float | None:
        summary = summaries.get(scenario)
        return getattr(summary, attr) if summary else None

    return {
        "cold / bare-parse (wall)": ratio(get("cold"), get("bare-parse")),
        "cold / bare-parse (own)": ratio(get("cold", "own_seconds"), get("bare-parse", "own_seconds")),
        "ms per file, cold (own)": per_file_ms(get("cold", "own_seconds"), files),
        "ms per file, bare parse (own)": per_file_ms(get("bare-parse", "own_seconds"), files),
        "warm / cold (wall)": ratio(get("warm"), get("cold")),
        "warm-1-change / pytest-impacted (wall)": ratio(get("warm-1-change"), get("pytest-impacted")),
        "warm-body-edit / pytest-impacted (wall)": ratio(get("warm-body-edit"), get("pytest-impacted")),
        "warm-1-change / pytest-impacted (peak RSS)": ratio(
            get("warm-1-change", "rss_mb"), get("pytest-impacted", "rss_mb")
        ),
        "stale-cache / bare-parse-stale (wall)": ratio(get("stale-cache"), get("bare-parse-stale")),
        "stale-cache / warm-1-change (wall)": ratio(get("stale-cache"), get("warm-1-change")),
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(report: dict[str, Any]) -> str:
    """The tables of every repository, as text."""
    lines = []
    for repo in report["repos"]:
        lines += _render_repo(repo)
    return "\n".join(lines)


def _render_meta(meta: dict[str, Any]) -> str:
    load = "/".join(f"{x:.1f}" for x in meta["load_average"])
    load_end = "/".join(f"{x:.1f}" for x in meta["load_average_end"])
    return (
        f"{meta['impactsel']} ({meta['impactsel_source']}), Python {meta['python']}, {meta['cpus']} CPUs, "
        f"{meta['jobs']} worker(s), rounds: {meta['rounds']} ({meta['cold_rounds']} with a cold run); "
        f"load average {load} at the start, {load_end} at the end\n"
    )


def _render_repo(repo: dict[str, Any]) -> list[str]:
    header = f"== {repo['name']}: {repo['py_files']} .py files, changed module: {repo['changed_module']}"
    if repo.get("stale_files") is not None:
        header += f", {repo['stale_files']} .py files differ from HEAD~{STALE_DEPTH}"
    titles = ("scenario", "wall s", "min-max", "own s", "peak MB", "parsed", "selected", "runs")
    lines = [header, "", _row(titles)]
    for scenario, s in repo["scenarios"].items():
        spread = f"{_fmt(s['seconds_min'], '.2f')}-{_fmt(s['seconds_max'], '.2f')}"
        runs = f"{s['runs']}" + (f" ({s['failures']} failed)" if s["failures"] else "")
        cells = (_fmt(s["seconds"], ".2f"), spread, _fmt(s["own_seconds"], ".2f"), _fmt(s["rss_mb"], ".0f"))
        lines.append(_row((scenario, *cells, _fmt(s["parsed"], "d"), _fmt(s["selected"], "d"), runs)))
    lines.append("")
    lines += [f"  {name:<44}{_fmt(value, '.2f'):>8}" for name, value in repo["ratios"].items()]
    lines += [f"  note: {note}" for note in repo["notes"]]
    lines += [f"  error: {error}" for error in repo["errors"]]
    lines.append("")
    return lines


def _row(cells: tuple[str, ...]) -> str:
    """A table line: the scenario left-aligned, the figures right-aligned, the run count last."""
    first, *figures, runs = cells
    return f"{first:<18}" + "".join(f"{c:>{w}}" for c, w in zip(figures, _WIDTHS, strict=True)) + f"  {runs}"


# -- Putting it together ---------------------------------------------------------


def bench_repository(name: str, source: Path, tools: Tools, args: argparse.Namespace) -> dict[str, Any]:
    """Clone, measure and summarise one repository; a failed setup is reported, not raised."""
    with tempfile.TemporaryDirectory(prefix=f"impactsel-bench-{name}-") as tmp:
        try:
            ws = prepare_workspace(name, source, Path(tmp))
            results = bench_workspace(ws, tools, args.rounds, args.cold_rounds or args.rounds, args.every_file)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            print(f"[{name}] setup failed: {exc}", file=sys.stderr)
            return {"name": name, "source": str(source), "error": str(exc)}
        summaries = {s: summarise(runs) for s, runs in results.items()}
        ws.notes.extend(cache_anomalies(results))
        return {
            "name": name,
            "source": str(source),
            "commit": ws.base,
            "py_files": len(ws.py_files),
            "package": ws.package,
            "tests_dir": ws.tests_dir,
            "changed_module": ws.changed_module,
            "stale_files": len(stale_files(ws)) if ws.old_rev else None,
            "scenarios": {s: dataclasses.asdict(v) for s, v in summaries.items()},
            "runs": {s: [dataclasses.asdict(m) for m in runs] for s, runs in results.items()},
            "ratios": ratios(summaries, len(ws.py_files)),
            "notes": ws.notes,
            "errors": sorted({m.error for runs in results.values() for m in runs if m.error}),
        }


@contextlib.contextmanager
def generated_repository(args: argparse.Namespace) -> Iterator[Path]:
    """The generated repository: ``--generated PATH`` if it exists, else generated (there, or in a temp dir)."""
    if args.generated is not None and args.generated.exists():
        yield args.generated
        return
    with tempfile.TemporaryDirectory(prefix="impactsel-bench-gen-") as tmp:
        target = args.generated or Path(tmp) / "generated"
        print(f"[generated] generating {args.modules} modules, {args.tests} tests in {target}", file=sys.stderr)
        yield gen_repo.generate(target, modules=args.modules, tests=args.tests)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="*", type=Path, help="git checkouts to measure as well (never modified)")
    parser.add_argument("--generated", type=Path, help="the generated repository (made there if missing)")
    parser.add_argument("--skip-generated", action="store_true", help="measure only the repositories given")
    parser.add_argument("--modules", type=int, default=2000, help="modules of the generated repository")
    parser.add_argument("--tests", type=int, default=10000, help="tests of the generated repository")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every scenario (default: 3)")
    parser.add_argument("--cold-rounds", type=int, help="rounds with a cold run (default: --rounds)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--every-file", action="store_true", help="also a cold run with every .py file changed (slow)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    tools = Tools.find()
    report: dict[str, Any] = {"meta": _meta(tools, args), "repos": []}
    if not args.skip_generated:
        with generated_repository(args) as path:
            report["repos"].append(bench_repository("generated", path, tools, args))
    for path in args.repos:
        report["repos"].append(bench_repository(path.resolve().name, path.resolve(), tools, args))
    report["meta"]["load_average_end"] = os.getloadavg()
    ok_repos = [r for r in report["repos"] if "scenarios" in r]
    print(_render_meta(report["meta"]))
    print(render({"repos": ok_repos}))
    for failed in (r for r in report["repos"] if "scenarios" not in r):
        print(f"== {failed['name']}: not measured: {failed['error']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if len(ok_repos) == len(report["repos"]) else 1


def _meta(tools: Tools, args: argparse.Namespace) -> dict[str, Any]:
    version = subprocess.run([*tools.impactsel, "--version"], capture_output=True, text=True, check=False).stdout
    described = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=BENCH_DIR.parent, capture_output=True, text=True, check=False
    )
    return {
        "impactsel_source": described.stdout.strip() or None,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "impactsel": version.strip(),
        "impacted_tests": tools.impacted_tests,
        "jobs": tools.jobs,
        "rounds": args.rounds,
        "cold_rounds": args.cold_rounds or args.rounds,
    }


if __name__ == "__main__":
    sys.exit(main())
