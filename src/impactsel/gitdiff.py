"""④ Git: a revision -> the base commit, the project's files and ``FileChange`` values.

The only module that imports GitPython. It talks to git through its plain
command interface (``repo.git.<command>``): one ``diff --raw`` against the base
(committed, staged and unstaged changes at once, with the base's blob ids), one
``ls-files`` for untracked files, and one persistent ``cat-file --batch`` process
that reads the base's blobs by id. Paths travel NUL-separated (``-z``) and never
through cat-file's newline-separated protocol, so any byte a file name may hold
is data. Revisions are validated and passed after ``--end-of-options`` so that
nothing the user types can reach git as an option.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path, PurePosixPath

from impactsel.errors import GitError
from impactsel.model import ChangeStatus, FileChange

# Neutralise the user's git configuration: no external diff drivers, no colour,
# no quoting of unusual paths, the same rename detection everywhere.
_GIT_FLAGS = ("-c", "core.quotepath=off", "-c", "diff.renames=true", "-c", "color.ui=false")
#: Modes whose "blob" is no file content: none at all (an added file) or a submodule's commit.
_NO_BLOB_MODES = ("000000", "160000")
#: Why a file in the work tree was not read (``FileChange.unread``).
OUTSIDE = "a symlink leading outside the repository, whose target impactsel does not read"
_REVISION = re.compile(r"^[^\s\-~^:][^\s:]*(?:[~^][0-9]*)*$|^@$|^HEAD(?:[~^][0-9]*)*$")


class Repository:
    """A git working tree, read only."""

    def __init__(self, path: Path) -> None:
        try:
            import git  # GitPython costs ~0.3 s to import: only paths that need git pay it
        except ImportError:  # GitPython refuses to import without a git executable
            raise GitError("git is not installed or not on PATH; install git", slug="no-git") from None

        self._git_module = git
        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except git.exc.InvalidGitRepositoryError:
            raise GitError(
                f"{path} is not inside a git repository; run impactsel in a git checkout (or pass --root)",
                slug="not-a-repo",
            ) from None
        except git.exc.NoSuchPathError:
            raise GitError(
                f"{path} does not exist; pass an existing directory with --root", slug="not-a-repo"
            ) from None
        except git.exc.GitCommandNotFound:
            raise GitError("git is not installed or not on PATH; install git", slug="no-git") from None
        if self._repo.bare or self._repo.working_tree_dir is None:
            raise GitError(f"{path} is a bare repository; run impactsel in a working tree", slug="not-a-repo")
        self.root = Path(self._repo.working_tree_dir)

    def base(self, revision: str, fetch: bool = False) -> str:
        """The merge base of ``revision`` and HEAD (what ``git diff REV...`` compares with).

        With ``fetch``, a shallow clone is deepened (and a missing remote branch
        fetched) until the merge base is found, instead of failing.
        """
        if not _REVISION.match(revision) or revision.startswith("-"):
            raise GitError(f"{revision!r} is not a valid revision; pass a branch, tag or commit", slug="bad-revision")
        if fetch and self._is_shallow():
            self._deepen_until_base(revision)
        head = self._run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        if not head:
            raise GitError(
                "the repository has no commits yet; commit once, then select tests against that commit",
                slug="no-commits",
            )
        commit = self._run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", check=False
        )
        if not commit:
            hint = self._missing_revision_hint(revision)
            raise GitError(f"unknown revision {revision!r}; {hint}", slug="unknown-revision")
        base = self._run("merge-base", "--end-of-options", commit, head, check=False)
        if not base:
            if self._is_shallow():
                raise GitError(
                    f"{revision!r} and HEAD have no common ancestor in this shallow clone; "
                    "fetch more history (git fetch --deepen=200, or fetch-depth: 0 in CI), or pass --fetch",
                    slug="shallow",
                )
            raise GitError(
                f"{revision!r} and HEAD have no common ancestor; pass a revision that HEAD descends from",
                slug="no-merge-base",
            )
        return base

    def _deepen_until_base(self, revision: str) -> None:
        remote, _, branch = revision.partition("/")
        branch = re.split(r"[~^@]", branch)[0]
        remotes = self._run("remote", check=False).split()
        if remote not in remotes:
            remote, branch = (remotes[0] if remotes else ""), ""
        if not remote:
            return
        if branch and not self._run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False):
            self._run("fetch", "--quiet", "--end-of-options", remote, f"{branch}:refs/remotes/{remote}/{branch}")
        for _ in range(8):
            commit = self._run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
            if commit and self._run("merge-base", "--end-of-options", commit, "HEAD", check=False):
                return
            self._run("fetch", "--quiet", "--deepen=256", "--end-of-options", remote)
        self._run("fetch", "--quiet", "--unshallow", "--end-of-options", remote, check=False)

    def files(self) -> list[str]:
        """Every file of the work tree that git tracks or would track (not ignored)."""
        out = self._fields("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        root = self.root
        found = []
        for rel in dict.fromkeys(p for p in out if p):
            full = root / rel
            if full.is_file() and not _escapes(full, root):
                found.append(rel)
        return found

    def changes(self, base: str) -> list[FileChange]:
        """Every file that differs between ``base`` and the work tree, untracked ones included."""
        fields = self._fields(
            "diff", "-z", "--raw", "--no-abbrev", "-M", "--no-ext-diff", "--no-textconv", "--end-of-options", base
        )
        changes: list[FileChange] = []
        i = 0
        while i < len(fields) and fields[i]:
            # ":OLD_MODE NEW_MODE OLD_BLOB NEW_BLOB STATUS", then one path (two for renames and copies)
            old_mode, _, blob, _, status = fields[i].lstrip(":").split()
            old = None if old_mode in _NO_BLOB_MODES else blob
            if status[0] in "RC":
                changes.append(self._change(status[0], fields[i + 2], fields[i + 1], old))
                i += 3
            else:
                changes.append(self._change(status[0], fields[i + 1], None, old))
                i += 2
        for path in self._fields("ls-files", "-z", "--others", "--exclude-standard"):
            if path:
                changes.append(self._change("A", path, None, None))
        return changes + self._through_symlinks(changes)

    def _through_symlinks(self, changes: list[FileChange]) -> list[FileChange]:
        """A tracked symlink inside the tree changes with the file it points to.

        git reports the target only; the link is a module of its own (``alias.py`` ->
        ``extras.py``), imported under its own name.
        """
        changed = {str(c.path): c for c in changes if c.status is ChangeStatus.MODIFIED}
        if not changed:
            return []
        found = []
        for line in self._fields("ls-files", "-z", "-s"):
            mode, _, rest = line.partition(" ")
            if mode != "120000" or "\t" not in rest:
                continue
            link = rest.split("\t", 1)[1]
            full = self.root / link
            if _escapes(full, self.root) or not full.exists():
                continue
            target = full.resolve().relative_to(self.root.resolve()).as_posix()
            if target in changed and link not in changed:
                source = changed[target]
                found.append(dataclasses.replace(source, path=PurePosixPath(link), old_path=None))
        return found

    def read_blob(self, blob: str) -> bytes | None:
        """The content of the blob ``blob`` (a full object id), or None where it is no blob here."""
        try:
            _, kind, _, data = self._repo.git.get_object_data(blob)
        except (ValueError, self._git_module.exc.GitCommandError):
            return None
        return data if kind == b"blob" or kind == "blob" else None

    # Private

    def _change(self, code: str, path: str, old_path: str | None, blob: str | None) -> FileChange:
        full = self.root / path
        new = unread = None
        if code != "D" and full.is_file():
            if _escapes(full, self.root):
                unread = OUTSIDE
            else:
                new = full.read_bytes()
        old = None if code == "A" or blob is None else self.read_blob(blob)
        if code == "C":  # a copy: the source is unchanged
            old, old_path, code = None, None, "A"
        status = {"A": ChangeStatus.ADDED, "D": ChangeStatus.DELETED, "R": ChangeStatus.RENAMED}.get(
            code, ChangeStatus.MODIFIED
        )
        if new is None and status is not ChangeStatus.DELETED:
            status = ChangeStatus.DELETED  # deleted in the work tree, not yet in the index
        return FileChange(
            path=PurePosixPath(path),
            status=status,
            old_path=PurePosixPath(old_path) if old_path else None,
            old_text=_decode(old),
            new_text=_decode(new),
            binary=any(d is not None and _decode(d) is None for d in (old, new)),
            unread=unread,
        )

    def _fields(self, *args: str) -> list[str]:
        """The NUL-separated output of a ``-z`` command (unstripped: a file name may start with a newline)."""
        return self._execute(args, check=True).split("\0")

    def _run(self, *args: str, check: bool = True) -> str:
        return self._execute(args, check).strip("\n")

    def _execute(self, args: tuple[str, ...], check: bool) -> str:
        try:
            return str(self._repo.git.execute(["git", *_GIT_FLAGS, *args], strip_newline_in_stdout=False))
        except self._git_module.exc.GitCommandError as exc:
            if not check:
                return ""
            stderr = str(exc.stderr).strip().strip("'").strip()
            raise GitError(f"git {args[0]} failed: {stderr.splitlines()[-1] if stderr else exc}", slug="git") from None

    def _is_shallow(self) -> bool:
        return self._run("rev-parse", "--is-shallow-repository", check=False) == "true"

    def _missing_revision_hint(self, revision: str) -> str:
        shallow = self._is_shallow()
        remotes = self._run("remote", check=False).split()
        remote, slash, rest = revision.partition("/")
        branch = re.split(r"[~^@]", rest)[0]
        if slash and branch and not remote.startswith("-") and not branch.startswith("-"):
            # A branch the clone never fetched (a single-branch clone): deepening cannot bring it.
            return f"fetch it first (git fetch {remote} {branch})" + (", or pass --fetch" if shallow else "")
        if not slash:
            name = re.split(r"[~^@]", revision)[0]
            for candidate in remotes:
                if self._run("rev-parse", "--verify", "--quiet", f"refs/remotes/{candidate}/{name}", check=False):
                    return f"there is no local branch {name!r}: pass --since {candidate}/{name}"
        if shallow:
            return (
                "this is a shallow clone: fetch more history (git fetch --deepen=200, or fetch-depth: 0 in CI), "
                "or pass --fetch"
            )
        return "pass a branch, tag or commit that exists here (git branch -a lists them)"


def _escapes(path: Path, root: Path) -> bool:
    """A symlink that leads outside the repository: never read."""
    if not os.path.islink(path):
        return False
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return True
    return False


def _is_binary(data: bytes | None) -> bool:
    return data is not None and b"\0" in data[:8192]


def _decode(data: bytes | None) -> str | None:
    if data is None or _is_binary(data):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
