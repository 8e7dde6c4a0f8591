"""The git pre-push hook: install/uninstall a script; git's push lines -> the affected tests run.

``install`` writes a ``pre-push`` script where git looks for hooks (``git rev-parse
--git-path hooks``, which honours ``core.hooksPath``). The script carries a marker
line so that impactsel recognises its own hook: it never overwrites or removes a
hook that is not its own unless told to (``--force`` keeps the old one as
``pre-push.impactsel-backup``, and ``uninstall`` puts it back).

``run`` reads git's pre-push lines (``<local ref> <local sha> <remote ref> <remote
sha>``, or pre-commit's ``PRE_COMMIT_*`` variables when stdin is empty). For each
pushed ref, the base is the remote's commit when it is known here; for a new
branch, the remote's default branch (``refs/remotes/<remote>/HEAD``, then
``main``/``master``); with neither, every test runs. The selection compares the
base with the *pushed commit*, not with the work tree: when the pushed commit is
HEAD and the work tree is clean they are the same and the work tree is used;
otherwise the commit is checked out in a temporary ``git worktree`` (removed
afterwards), so uncommitted edits can neither hide a failure nor cause one. The
selected tests run with ``python -m pytest`` (the Python that runs impactsel);
the result is 0 when they pass or nothing was selected, 1 otherwise (git then
refuses the push).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from impactsel.cache import atomic_write
from impactsel.errors import GitError, ImpactselError
from impactsel.model import Selection

#: The line that marks a hook as impactsel's.
MARKER = "# impactsel-hook: pre-push"
HOOK = "pre-push"
BACKUP = "pre-push.impactsel-backup"

#: Variables git sets for hooks that pin the repository: a temporary worktree
#: must not inherit them (a push from a linked worktree sets GIT_DIR).
_GIT_LOCATION = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
)
_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
#: pytest's exit codes that let a push through: passed, and no test collected.
_PASSING = (0, 5)


@dataclass(frozen=True, slots=True)
class Push:
    """One line of git's pre-push input."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str


def install(root: Path, force: bool) -> str:
    """Write impactsel's pre-push hook for the repository holding ``root``.

    Returns:
        What was done, for stderr.

    Raises:
        ImpactselError: a pre-push hook that is not impactsel's exists (and ``force`` is not set).
    """
    hook = _hooks_dir(root) / HOOK
    backup = hook.with_name(BACKUP)
    note = ""
    if hook.is_symlink() or hook.exists():
        if _is_ours(hook):
            note = " (replacing impactsel's earlier hook)"
        elif not force:
            raise ImpactselError(
                f"{hook} exists and is not impactsel's hook; pass --force to replace it "
                f"(it is kept as {BACKUP}, and `impactsel hook uninstall` puts it back)",
                slug="hook-exists",
            )
        elif backup.is_symlink() or backup.exists():
            raise ImpactselError(
                f"{backup} already holds an earlier hook; move it away, then pass --force again", slug="hook-exists"
            )
        else:
            os.replace(hook, backup)
            note = f" (the previous hook is kept as {backup.name})"
    _write_executable(hook, _script(root))
    return f"impactsel: installed the pre-push hook at {hook}{note}; `git push --no-verify` skips it"


def uninstall(root: Path) -> str:
    """Remove impactsel's pre-push hook (restoring the hook it replaced, if any).

    Raises:
        ImpactselError: the pre-push hook there is not impactsel's.
    """
    hook = _hooks_dir(root) / HOOK
    backup = hook.with_name(BACKUP)
    if not (hook.is_symlink() or hook.exists()):
        return f"impactsel: no pre-push hook at {hook}: nothing to remove"
    if not _is_ours(hook):
        raise ImpactselError(
            f"{hook} is not impactsel's hook; it was left alone (delete it yourself if you mean to)",
            slug="hook-foreign",
        )
    hook.unlink()
    if backup.is_symlink() or backup.exists():
        os.replace(backup, hook)
        return f"impactsel: removed the pre-push hook and restored the previous one at {hook}"
    return f"impactsel: removed the pre-push hook at {hook}"


def run(root: Path, remote: str, lines: list[str], pytest_args: list[str]) -> int:
    """Run the tests affected by the pushed commits; 0 lets the push through, 1 blocks it.

    Args:
        root: the project root (the work tree the push starts from, or a directory in it).
        remote: the remote's name (git's first hook argument).
        lines: git's pre-push input; when empty, pre-commit's ``PRE_COMMIT_*`` variables.
        pytest_args: more arguments for pytest.
    """
    if not any(line.strip() for line in lines):
        lines = _pre_commit_lines(root)
        remote = os.environ.get("PRE_COMMIT_REMOTE_NAME") or remote
    pushes = [p for p in (_parse(line) for line in lines) if p is not None]
    if not pushes:
        _say("no pushed commits (git passes them on stdin): nothing to test")
        return 0
    with _without_git_location():
        return _run_pushes(root, remote, pushes, pytest_args)


# Private


def _say(message: str) -> None:
    from impactsel.report import one_line

    print(one_line(f"impactsel: {message}"), file=sys.stderr, flush=True)


def _git(cwd: Path, *args: str, check: bool = True) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=_clean_env(), capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git", slug="no-git") from None
    if done.returncode != 0:
        if not check:
            return ""
        said = done.stderr.strip().splitlines()
        raise GitError(f"git {args[0]} failed: {said[-1] if said else done.returncode}", slug="git")
    return done.stdout.strip()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION}


@contextmanager
def _without_git_location() -> Iterator[None]:
    """GitPython (in the pipeline) reads os.environ: hide the hook's GIT_DIR while we work."""
    saved = {k: os.environ.pop(k) for k in _GIT_LOCATION if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


# -- install ------------------------------------------------------------------------


def _hooks_dir(root: Path) -> Path:
    return root / _git(root, "rev-parse", "--git-path", "hooks")


def _is_ours(hook: Path) -> bool:
    try:
        return MARKER in hook.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _script(root: Path) -> str:
    python = shlex.quote(sys.executable)
    top = Path(_git(root, "rev-parse", "--show-toplevel"))
    rel = os.path.relpath(root.resolve(), top.resolve())
    where = "" if rel == "." else f" --root {shlex.quote(rel)}"
    return f"""#!/bin/sh
{MARKER} (written by `impactsel hook install`; `impactsel hook uninstall` removes it)
# Runs the tests that the commits being pushed can affect; a failing test blocks the push.
# Skip it once with `git push --no-verify`.
PYTHON={python}
if [ ! -x "$PYTHON" ]; then
    echo "impactsel: $PYTHON is gone; reinstall the hook (impactsel hook install) or push with --no-verify" >&2
    exit 1
fi
exec "$PYTHON" -m impactsel hook run{where} "$1" "$2"
"""


def _write_executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode(), mode=0o755)


# -- run: which commits ---------------------------------------------------------------


def _parse(line: str) -> Push | None:
    parts = line.strip().rsplit(maxsplit=3)
    if len(parts) != 4:
        if line.strip():
            _say(f"ignoring a line git did not write: {line.strip()!r}")
        return None
    push = Push(*parts)
    if _is_zero(push.local_sha):  # a deletion: nothing to test
        return None
    return push


def _is_zero(sha: str) -> bool:
    return set(sha) == {"0"}


def _pre_commit_lines(root: Path) -> list[str]:
    """pre-commit reads git's lines itself and passes the range in ``PRE_COMMIT_*`` variables."""
    env = os.environ
    local_ref = env.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
    remote_ref = env.get("PRE_COMMIT_REMOTE_BRANCH") or "HEAD"
    to_ref = env.get("PRE_COMMIT_TO_REF") or ("" if "PRE_COMMIT_LOCAL_BRANCH" not in env else local_ref)
    to_sha = _commit(root, to_ref) if to_ref else None
    if to_sha is None:
        return []
    from_ref = env.get("PRE_COMMIT_FROM_REF")
    from_sha = (_commit(root, from_ref) if from_ref else None) or "0" * len(to_sha)
    return [f"{local_ref} {to_sha} {remote_ref} {from_sha}"]


def _commit(root: Path, revision: str) -> str | None:
    if revision.startswith("-"):
        return None
    found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", check=False)
    return found or None


def _base(root: Path, remote: str, push: Push) -> str | None:
    """What the pushed commit is compared with; None when nothing fits (then every test runs)."""
    if not _is_zero(push.remote_sha) and _SHA.match(push.remote_sha) and _commit(root, push.remote_sha):
        return push.remote_sha
    for candidate in _default_branches(remote):
        if candidate == push.local_ref:
            continue
        found = _commit(root, candidate)
        if found is not None:
            return found
    return None


def _default_branches(remote: str) -> list[str]:
    names = [f"refs/remotes/{remote}/{b}" for b in ("HEAD", "main", "master")]
    names += ["refs/remotes/origin/main", "refs/remotes/origin/master", "refs/heads/main", "refs/heads/master"]
    return list(dict.fromkeys(names))


# -- run: select and test ----------------------------------------------------------------


def _run_pushes(root: Path, remote: str, pushes: list[Push], pytest_args: list[str]) -> int:
    done: set[tuple[str, str | None]] = set()
    for push in pushes:
        commit = _commit(root, push.local_sha)
        if commit is None:
            _say(f"{push.local_ref}: {push.local_sha[:12]} is not a commit here: nothing to test")
            continue
        base = _base(root, remote, push)
        if (commit, base) in done:
            continue
        done.add((commit, base))
        if base is None:
            _say(f"{push.local_ref}: new on {remote} and no default branch to compare with: every test runs")
        if _test_push(root, push.local_ref, commit, base, pytest_args) not in _PASSING:
            _say(f"tests failed for {push.local_ref}: push refused (fix them, or skip with git push --no-verify)")
            return 1
    return 0


def _test_push(root: Path, ref: str, commit: str, base: str | None, pytest_args: list[str]) -> int:
    with _tree_at(root, commit) as tree:
        if base is None:
            return _pytest(tree, [], pytest_args, isolated=tree != root)
        _say(f"{ref}: selecting the tests affected by {base[:12]}..{commit[:12]}")
        selection = _select(tree, base, root)
        if selection.run_all is not None:
            targets = list(selection.test_roots)
        elif not selection.tests:
            _say(f"{ref}: no test is affected by the pushed commits")
            return 0
        else:
            targets = [t.nodeid for t in selection.tests]
        return _pytest(tree, targets, pytest_args, isolated=tree != root)


@contextmanager
def _tree_at(root: Path, commit: str) -> Iterator[Path]:
    """The project root in a work tree holding exactly ``commit``: ``root`` itself when it does."""
    head = _git(root, "rev-parse", "HEAD", check=False)
    if head == commit and not _git(root, "status", "--porcelain", "--untracked-files=normal"):
        yield root
        return
    top = Path(_git(root, "rev-parse", "--show-toplevel"))
    rel = os.path.relpath(root.resolve(), top.resolve())
    scratch = Path(tempfile.mkdtemp(prefix="impactsel-push-"))
    tree = scratch / "tree"
    _say(f"checking out {commit[:12]} in a temporary worktree (the work tree is not the pushed commit)")
    try:
        _git(root, "worktree", "add", "--detach", "--quiet", "--", str(tree), commit)
        yield (tree / rel).resolve() if rel != "." else tree
    finally:
        _git(root, "worktree", "remove", "--force", "--", str(tree), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        _git(root, "worktree", "prune", check=False)


def _select(tree: Path, base: str, root: Path) -> Selection:
    """The selection for ``base`` against the checkout ``tree``, cached where ``root`` caches."""
    from impactsel import pipeline, report
    from impactsel.config import load_settings

    settings = dataclasses.replace(load_settings(tree), since=base)
    if tree != root:
        settings = dataclasses.replace(settings, cache_dir=load_settings(root).cache_dir)
    analysis = pipeline.analyse(settings)
    for note in analysis.selection.warnings:
        _say(note)
    if analysis.selection.run_all:
        _say(f"selecting every test: {analysis.selection.run_all}")
    print(report.summary(analysis.selection, analysis.seconds), file=sys.stderr, flush=True)
    return analysis.selection


def _pytest(tree: Path, targets: list[str], pytest_args: list[str], *, isolated: bool) -> int:
    command = [sys.executable, "-m", "pytest", *targets, *pytest_args]
    env = _clean_env()
    if isolated and (tree / "src").is_dir():
        # An editable install points at the main work tree's src/: put the checkout's first.
        env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), *filter(None, [env.get("PYTHONPATH")])])
    shown = " ".join(targets) if len(targets) <= 5 else f"{len(targets)} tests"
    _say(f"running pytest {shown or '(every test)'}")
    return subprocess.run(command, cwd=tree, env=env, stdin=subprocess.DEVNULL, check=False).returncode
