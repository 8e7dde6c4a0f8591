"""``impactsel hook``: install/uninstall the pre-push hook, and real ``git push``es that it gates.

The pushes go to a bare repository in ``tmp_path``; git runs the installed hook,
which runs impactsel with this very Python (``sys.executable``) and pytest on
the ``flat`` sample project (fixtures/flat: ``calc.core.sub`` is tested by
``tests/check_core.py::check_sub``, ``add`` by ``check_add`` and others).
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from impactsel import hook
from impactsel.cli import main

FOREIGN = "#!/bin/sh\necho 'a hook of my own'\n"
#: The sample project needs no plugin; loading every installed one costs seconds per pytest run.
FAST_PYTEST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def hook_cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["hook", *args, "--root", str(root)])
    return code, capsys.readouterr().err


def push(repo, *refspec: str) -> subprocess.CompletedProcess[str]:
    """``git push origin REFSPEC`` the way a user runs it: git runs the pre-push hook."""
    return subprocess.run(
        ["git", "push", "origin", *refspec],
        cwd=repo.path,
        env={**repo.env, **FAST_PYTEST},
        capture_output=True,
        text=True,
        check=False,
    )


def remote_branches(bare: Path, env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"],
        cwd=bare,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split() for line in out.splitlines())


@pytest.fixture
def pushed(git_repo, tmp_path):
    """``flat`` with main pushed to a bare ``origin`` (hook not installed yet); returns (repo, bare)."""
    repo = git_repo("flat")
    repo.write(".gitignore", "__pycache__/\n.pytest_cache/\n")
    repo.commit("ignore build products")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], env=repo.env, check=True)
    repo.git("remote", "add", "origin", str(bare))
    repo.git("push", "-q", "origin", "main")
    return repo, bare


# -- install / uninstall ------------------------------------------------------------------


def test_install_writes_an_executable_hook_that_uses_this_python(git_repo, capsys) -> None:
    repo = git_repo("flat")
    code, err = hook_cli(capsys, repo.path, "install")
    path = repo.path / ".git" / "hooks" / "pre-push"
    assert code == 0
    assert f"installed the pre-push hook at {path}" in err
    text = path.read_text()
    assert text.startswith("#!/bin/sh\n") and hook.MARKER in text
    assert f"PYTHON={sys.executable}" in text or f"PYTHON='{sys.executable}'" in text
    assert 'hook run "$1" "$2"' in text
    assert path.stat().st_mode & stat.S_IXUSR
    code, err = hook_cli(capsys, repo.path, "install")  # again: ours, so replaced
    assert code == 0 and "replacing impactsel's earlier hook" in err


def test_foreign_hook_is_refused_then_kept_as_backup_and_restored(git_repo, capsys) -> None:
    repo = git_repo("flat")
    hooks = repo.path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-push").write_text(FOREIGN)
    code, err = hook_cli(capsys, repo.path, "install")
    assert code == 2
    assert "is not impactsel's hook; pass --force to replace it" in err and "#error-hook-exists" in err
    assert (hooks / "pre-push").read_text() == FOREIGN

    code, err = hook_cli(capsys, repo.path, "install", "--force")
    assert code == 0 and "kept as pre-push.impactsel-backup" in err
    assert (hooks / "pre-push.impactsel-backup").read_text() == FOREIGN
    assert hook.MARKER in (hooks / "pre-push").read_text()

    code, err = hook_cli(capsys, repo.path, "uninstall")
    assert code == 0 and "restored the previous one" in err
    assert (hooks / "pre-push").read_text() == FOREIGN
    assert not (hooks / "pre-push.impactsel-backup").exists()

    code, err = hook_cli(capsys, repo.path, "uninstall")  # now foreign: left alone
    assert code == 2 and "is not impactsel's hook; it was left alone" in err
    assert (hooks / "pre-push").read_text() == FOREIGN


def test_uninstall_without_a_hook_and_core_hooks_path(git_repo, capsys) -> None:
    repo = git_repo("flat")
    repo.git("config", "core.hooksPath", ".githooks")
    code, err = hook_cli(capsys, repo.path, "uninstall")
    assert code == 0 and "nothing to remove" in err
    code, _ = hook_cli(capsys, repo.path, "install")
    assert code == 0
    assert hook.MARKER in (repo.path / ".githooks" / "pre-push").read_text()
    assert not (repo.path / ".git" / "hooks" / "pre-push").exists()
    code, err = hook_cli(capsys, repo.path, "uninstall")
    assert code == 0 and "removed the pre-push hook" in err
    assert not (repo.path / ".githooks" / "pre-push").exists()


# -- real pushes ------------------------------------------------------------------------------


def test_push_is_blocked_by_a_failing_affected_test_and_a_clean_push_goes_through(pushed, capsys) -> None:
    repo, bare = pushed
    assert hook_cli(capsys, repo.path, "install")[0] == 0
    repo.branch("feature")
    repo.replace("calc/core.py", "return a - b", "return a - b + 1")  # breaks check_sub
    repo.commit("break sub")

    blocked = push(repo, "feature")
    assert blocked.returncode != 0
    output = blocked.stdout + blocked.stderr
    assert "tests/check_core.py::check_sub" in output and "1 failed" in output
    assert "tests failed for refs/heads/feature: push refused" in blocked.stderr
    assert "temporary worktree" not in blocked.stderr  # HEAD, clean tree: tested in place
    assert "refs/heads/feature" not in remote_branches(bare, repo.env)

    repo.replace("calc/core.py", "return a - b + 1", "return -(b - a)")
    repo.commit("fix sub")
    # An uncommitted edit that would break check_add: the hook tests the pushed commit, not the work tree.
    repo.replace("calc/core.py", "return a + b", "return a + b + 1")
    passed = push(repo, "feature")
    assert passed.returncode == 0, passed.stderr
    assert "temporary worktree" in passed.stderr
    assert "running pytest tests/check_core.py::check_sub" in passed.stderr
    assert remote_branches(bare, repo.env)["refs/heads/feature"] == repo.git("rev-parse", "HEAD").strip()
    assert len(repo.git("worktree", "list").splitlines()) == 1  # the temporary worktree is gone


def test_run_falls_back_to_pre_commit_variables(pushed, monkeypatch, capsys) -> None:
    repo, _ = pushed
    base = repo.git("rev-parse", "main").strip()
    repo.branch("feature")
    repo.replace("calc/core.py", "return a * b", "return a * b * 2")  # breaks the geometry checks
    repo.commit("break mul")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", repo.git("rev-parse", "HEAD").strip())
    monkeypatch.setenv("PRE_COMMIT_REMOTE_NAME", "origin")
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/feature")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert hook.run(repo.path, "origin", [], []) == 1
    err = capsys.readouterr().err
    assert "running pytest tests/check_geometry.py::CheckGeometry::check_area" in err
    assert "tests failed for refs/heads/feature" in err

    repo.replace("calc/core.py", "return a * b * 2", "return b * a")
    repo.commit("fix mul")
    monkeypatch.setenv("PRE_COMMIT_TO_REF", repo.git("rev-parse", "HEAD").strip())
    assert hook.run(repo.path, "origin", [], ["-q"]) == 0


def test_run_with_nothing_pushed_or_only_deletions(pushed, capsys, monkeypatch) -> None:
    repo, _ = pushed
    for name in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "PRE_COMMIT_LOCAL_BRANCH"):
        monkeypatch.delenv(name, raising=False)
    zero = "0" * 40
    deletion = f"(delete) {zero} refs/heads/old {repo.git('rev-parse', 'main').strip()}"
    assert hook.run(repo.path, "origin", [deletion], []) == 0
    assert hook.run(repo.path, "origin", [], []) == 0
    assert "nothing to test" in capsys.readouterr().err


def test_new_branch_without_a_default_branch_runs_every_test(git_repo, capsys, monkeypatch) -> None:
    repo = git_repo("flat")  # no remote at all: nothing to compare the pushed main with
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    sha = repo.git("rev-parse", "HEAD").strip()
    assert hook.run(repo.path, "origin", [f"refs/heads/main {sha} refs/heads/main {'0' * 40}"], ["-q"]) == 0
    err = capsys.readouterr().err
    assert "refs/heads/main: new on origin and no default branch to compare with: every test runs" in err
    assert "running pytest (every test)" in err
