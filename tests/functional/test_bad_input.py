"""Bad and unusual input: exact messages for what impactsel refuses, exact selections for the rest.

A refusal is exit code 2, nothing on stdout and one line on stderr,
``impactsel: error: <what>; <fix> (see README, #error-<slug>)``. Where impactsel can
answer safely by selecting more (a file it cannot parse, a conflict in progress), the
test asserts the widened selection and the reason printed on stderr. Repositories and
their oddities (shallow clones, orphan branches, submodules, symlinks, conflicts) are
real ones, made with git in a temporary directory.

Expected selections are worked out from the sample projects (see
``test_scenarios.py`` for the node ids of ``richpkg``); ``plain`` is a project with no
pytest configuration, tests outside any package and two layers of ``conftest.py``.
"""

from __future__ import annotations

import builtins
import io
import os
import re
import subprocess
import sys

import pytest

# richpkg
SUMMARY = "tests/test_report.py::test_summary"
HEADLINE = "tests/test_report.py::test_headline"
SHOUT = "tests/test_util.py::test_shout"
WHISPER = "tests/test_util.py::test_whisper"
TIDY = "tests/test_util.py::test_tidy"
# tests/test_data.py names animals.csv in a module-level name (ROWS): both of its tests
DATA_TESTS = ["tests/test_data.py::test_no_rows", "tests/test_data.py::test_rows"]

# flat
CHECK_ADD = "tests/check_core.py::check_add"
CHECK_PERIMETER = "tests/check_geometry.py::CheckGeometry::check_perimeter"
CHECK_MEAN = "tests/check_stats.py::check_mean"

# plain
HELLO = "tests/test_greet.py::test_hello"
BYE = "tests/test_greet.py::test_bye"
HELLO_INNER = "tests/inner/test_inner.py::test_hello_inner"
MARK = "tests/inner/test_inner.py::test_mark"
BYE_AT_ROOT = "test_root.py::test_bye_at_root"

DEEP = "zoo/sub/deep.py"
DEEP_USERS = sorted([HEADLINE, SUMMARY])  # zoo.report imports zoo.sub.deep
DEEP_WIDENED = "every user of module zoo.sub.deep is selected"

_SUMMARY_LINE = re.compile(
    r"impactsel: \d+ changed symbols -> (all tests|\d+/\d+ tests) \(base [0-9a-f]{12}, \d+\.\d\d s\)"
)


def error_line(message: str, slug: str) -> str:
    return f"impactsel: error: {message} (see README, #error-{slug})\n"


def assert_refused(run, message: str, slug: str) -> None:
    assert (run.code, run.out, run.err) == (2, "", error_line(message, slug))


def notes(run) -> list[str]:
    """stderr without its last line, the summary (which holds a time)."""
    lines = run.err.splitlines()
    assert lines and _SUMMARY_LINE.fullmatch(lines[-1]), run.err
    return lines[:-1]


def widening_note(path: str, what: str, module: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(f"impactsel: {path}: {what}") + r".*" + re.escape(f": every user of module {module} is selected")
    )


# -- the repository -------------------------------------------------------------------------


def test_not_a_git_repository(git_repo):
    plain = git_repo("flat", git=False)

    run = plain.select()

    assert_refused(
        run,
        f"{plain.path.resolve()} is not inside a git repository; run impactsel in a git checkout (or pass --root)",
        "not-a-repo",
    )


def test_not_a_git_repository_from_the_current_directory(git_repo):
    plain = git_repo("flat", git=False)

    run = plain.run_cli("--since", "main")

    assert_refused(
        run,
        f"{plain.path.resolve()} is not inside a git repository; run impactsel in a git checkout (or pass --root)",
        "not-a-repo",
    )


def test_bare_repository(git_repo):
    repo = git_repo("flat")
    bare = repo.path.parent / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare))

    run = repo.select(root=bare)

    assert_refused(run, f"{bare} is a bare repository; run impactsel in a working tree", "not-a-repo")


def test_root_that_is_not_a_directory(git_repo):
    repo = git_repo("flat")

    run = repo.select(root=repo.path / "missing")

    assert_refused(
        run, f"--root {repo.path / 'missing'} is not a directory; pass the project's root directory", "usage"
    )


def test_git_not_installed(git_repo, tmp_path):
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a + b", "return b + a")
    empty = tmp_path / "bin-without-git"
    empty.mkdir()
    env = {k: v for k, v in repo.env.items() if not k.startswith("GIT_PYTHON")}
    done = subprocess.run(
        [sys.executable, "-m", "impactsel", "--since", "main", "--root", str(repo.path)],
        env={**env, "PATH": str(empty)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        error_line("git is not installed or not on PATH; install git", "no-git"),
    )


def test_repository_with_no_commits(git_repo):
    repo = git_repo("flat", git=False)
    repo.git("init", "-q", "-b", "main")
    repo.stage()

    run = repo.select()

    assert_refused(
        run, "the repository has no commits yet; commit once, then select tests against that commit", "no-commits"
    )


@pytest.mark.parametrize("revision", ["no-such-branch", "0123456789abcdef0123456789abcdef01234567", "main~5"])
def test_unknown_since_revision(git_repo, revision):
    repo = git_repo("flat")

    run = repo.select(since=revision)

    assert_refused(
        run,
        f"unknown revision {revision!r}; pass a branch, tag or commit that exists here (git branch -a lists them)",
        "unknown-revision",
    )


def test_unknown_remote_branch_names_the_fetch(git_repo):
    repo = git_repo("flat")

    run = repo.select(since="origin/release")

    assert_refused(
        run, "unknown revision 'origin/release'; fetch it first (git fetch origin release)", "unknown-revision"
    )


def test_detached_head_works(git_repo):
    repo = git_repo("flat")
    repo.branch()
    repo.replace("calc/core.py", "return a + b", "return b + a")
    repo.commit()
    repo.git("checkout", "-q", "--detach")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([CHECK_ADD, CHECK_PERIMETER, CHECK_MEAN])
    assert notes(run) == []


def test_base_with_unrelated_history(git_repo):
    repo = git_repo("flat")
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("a history of its own")

    run = repo.select()

    assert_refused(
        run, "'main' and HEAD have no common ancestor; pass a revision that HEAD descends from", "no-merge-base"
    )


# -- shallow clones -------------------------------------------------------------------------


def _shallow_clone(repo, *options: str):
    """A feature branch 3 commits past the merge base, main 1 commit past it: cloned with depth 1."""
    repo.branch()
    repo.replace("calc/core.py", "return a + b", "return b + a")
    repo.commit("feature 1")
    repo.replace("calc/core.py", "return b + a", "return (b + a)")
    repo.commit("feature 2")
    repo.write("NOTES.md", "feature 3\n")
    repo.commit("feature 3")
    repo.git("checkout", "-q", "main")
    repo.write("CHANGELOG.md", "later on main\n")
    repo.commit("later on main")
    repo.git("checkout", "-q", "feature")
    clone = repo.path.parent / f"{repo.path.name}-clone"
    repo.git("clone", "-q", "--depth", "1", *options, "--branch", "feature", repo.path.as_uri(), str(clone))
    assert repo.git("-C", str(clone), "rev-parse", "--is-shallow-repository") == "true\n"
    return clone


def test_shallow_clone_without_the_base_says_what_to_fetch(git_repo):
    repo = git_repo("flat")
    clone = _shallow_clone(repo, "--no-single-branch")

    run = repo.select(since="origin/main", root=clone)

    assert_refused(
        run,
        "'origin/main' and HEAD have no common ancestor in this shallow clone; "
        "fetch more history (git fetch --deepen=200, or fetch-depth: 0 in CI), or pass --fetch",
        "shallow",
    )


def test_shallow_clone_with_fetch_deepens_until_the_base_is_found(git_repo):
    repo = git_repo("flat")
    clone = _shallow_clone(repo, "--no-single-branch")

    run = repo.select("--fetch", since="origin/main", root=clone)

    assert run.code == 0, run.err
    assert run.lines == sorted([CHECK_ADD, CHECK_PERIMETER, CHECK_MEAN])
    # NOTES.md (documentation) on the branch; CHANGELOG.md on main after the branch point.
    assert notes(run) == ["impactsel: NOTES.md changed: documentation that no code names, no test selected for it"]


def test_single_branch_shallow_clone_with_fetch_fetches_the_missing_branch(git_repo):
    repo = git_repo("flat")
    clone = _shallow_clone(repo)  # --depth implies --single-branch: no origin/main at all

    run = repo.select("--fetch", since="origin/main", root=clone)

    assert run.code == 0, run.err
    assert run.lines == sorted([CHECK_ADD, CHECK_PERIMETER, CHECK_MEAN])


@pytest.mark.parametrize(
    ("options", "revision", "fix"),
    [
        ((), "origin/main", "git fetch origin main"),  # single-branch clone: origin/main was never fetched
        (("--no-single-branch",), "main", "origin/main"),  # no local main in a fresh clone
    ],
    ids=["single-branch-origin-main", "no-local-main"],
)
def test_shallow_clone_missing_branch_hint_names_the_right_fetch(git_repo, options, revision, fix):
    repo = git_repo("flat")
    clone = _shallow_clone(repo, *options)

    run = repo.select(since=revision, root=clone)

    assert (run.code, run.out) == (2, "")
    assert run.err.startswith(f"impactsel: error: unknown revision {revision!r}; ")
    assert fix in run.err
    assert "--deepen" not in run.err


# -- files impactsel cannot parse -------------------------------------------------------------


def assert_deep_widened_for_a_syntax_error(run) -> None:  # type: ignore[no-untyped-def]
    """Every user of zoo.sub.deep selected, and one note saying why."""
    assert run.code == 0, run.err
    assert run.lines == DEEP_USERS
    [note] = notes(run)
    assert widening_note(DEEP, "syntax error: ", "zoo.sub.deep").fullmatch(note), note


def test_file_that_does_not_parse_in_the_work_tree(git_repo):
    repo = git_repo("richpkg")
    repo.replace(DEEP, "return 3", "return (3")

    assert_deep_widened_for_a_syntax_error(repo.select())


def test_file_that_does_not_parse_at_the_base(git_repo):
    repo = git_repo("richpkg")
    repo.replace(DEEP, "return 3", "return (3")
    repo.commit("broken on main")
    repo.branch()
    repo.replace(DEEP, "return (3", "return 3")

    assert_deep_widened_for_a_syntax_error(repo.select())


def test_file_that_does_not_parse_on_both_sides(git_repo):
    repo = git_repo("richpkg")
    repo.replace(DEEP, "return 3", "return (3")
    repo.commit("broken on main")
    repo.branch()
    repo.replace(DEEP, "return (3", "return [3")

    assert_deep_widened_for_a_syntax_error(repo.select())


def test_unchanged_file_that_does_not_parse_widens_any_other_change(git_repo):
    repo = git_repo("richpkg")
    repo.replace(DEEP, "return 3", "return (3")
    repo.commit("broken on main")
    repo.replace("zoo/util.py", 'return text.upper() + "!"', 'return text.upper() + "!!"')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([*DEEP_USERS, "tests/test_animals.py::test_dog_speaks", SHOUT])
    [note] = notes(run)
    assert re.fullmatch(
        re.escape(f"impactsel: {DEEP} cannot be analysed (syntax error: ") + r".*\): its users are selected", note
    ), note


def test_conflict_markers_of_a_merge_in_progress(git_repo):
    repo = git_repo("richpkg")
    repo.branch()
    repo.replace(DEEP, "return 3", "return 4")
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.replace(DEEP, "return 3", "return 5")
    repo.commit("main")
    repo.git("checkout", "-q", "feature")
    merge = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "merge", "-q", "main"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert merge.returncode == 1 and "<<<<<<< HEAD" in repo.read(DEEP)

    assert_deep_widened_for_a_syntax_error(repo.select())


def test_non_utf8_file_with_a_coding_declaration(git_repo):
    # Valid Python (PEP 263), but impactsel reads UTF-8 only: it widens, as documented.
    repo = git_repo("richpkg")
    (repo.path / DEEP).write_bytes(b"# -*- coding: latin-1 -*-\ndef depth():\n    return 3  # caf\xe9\n")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == DEEP_USERS
    assert notes(run) == [f"impactsel: {DEEP}: not UTF-8 text: {DEEP_WIDENED}"]


def test_binary_file_with_a_py_name(git_repo):
    repo = git_repo("richpkg")
    (repo.path / DEEP).write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == DEEP_USERS
    assert notes(run) == [f"impactsel: {DEEP}: binary content in a .py file: {DEEP_WIDENED}"]


def test_new_binary_file_with_a_py_name_that_nothing_imports(git_repo):
    repo = git_repo("richpkg")
    (repo.path / "zoo/blob.py").write_bytes(b"\x00\x01\x02\xff")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == []
    assert notes(run) == [
        "impactsel: zoo/blob.py: binary content in a .py file: every user of module zoo.blob is selected"
    ]


# -- files that parse: encodings, line endings, odd whitespace, sizes ---------------------------


def test_byte_order_mark_changes_nothing(git_repo):
    repo = git_repo("richpkg")
    (repo.path / DEEP).write_bytes(b"\xef\xbb\xbf" + (repo.path / DEEP).read_bytes())

    run = repo.select()

    assert (run.code, run.out, notes(run)) == (0, "", [])


def test_byte_order_mark_file_is_analysed(git_repo):
    repo = git_repo("richpkg")
    (repo.path / DEEP).write_bytes(b"\xef\xbb\xbf" + (repo.path / DEEP).read_bytes())
    repo.commit("bom")
    repo.replace(DEEP, "return 3", "return 4")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [SUMMARY]
    assert notes(run) == []


def test_crlf_line_endings_alone_change_nothing(git_repo):
    repo = git_repo("richpkg")
    converted = 0
    for path in sorted(repo.path.rglob("*.py")):
        data = path.read_bytes()
        if b"\n" in data:
            path.write_bytes(data.replace(b"\n", b"\r\n"))
            converted += 1
    assert converted > 10

    run = repo.select()

    assert (run.code, run.out, notes(run)) == (0, "", [])


def test_crlf_file_is_analysed(git_repo):
    repo = git_repo("richpkg")
    (repo.path / DEEP).write_bytes((repo.path / DEEP).read_bytes().replace(b"\n", b"\r\n"))
    repo.commit("crlf")
    (repo.path / DEEP).write_bytes((repo.path / DEEP).read_bytes().replace(b"return 3", b"return 4"))

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [SUMMARY]


def test_crlf_line_endings_alone_change_nothing_in_multiline_strings(git_repo):
    repo = git_repo("richpkg")
    repo.write(
        DEEP,
        '''\
        def depth():
            """How deep the package is.

            Counted from the top.
            """
            return 3
        ''',
    )
    repo.commit("docstring")
    (repo.path / DEEP).write_bytes((repo.path / DEEP).read_bytes().replace(b"\n", b"\r\n"))

    run = repo.select()

    assert (run.code, run.out, notes(run)) == (0, "", [])


def test_form_feed_changes_nothing(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/extras.py", "\n\n\ndef _private", "\n\n\x0c\ndef _private")
    repo.replace(DEEP, "def depth():\n", "\x0cdef depth():\n")

    run = repo.select()

    assert (run.code, run.out, notes(run)) == (0, "", [])


def test_form_feed_file_is_analysed(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/extras.py", "\n\n\ndef _private", "\n\n\x0c\ndef _private")
    repo.commit("form feed")
    repo.replace("zoo/extras.py", 'return " ".join(text.split())', 'return " ".join(text.split(" "))')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [TIDY]


def test_new_empty_module_selects_nothing(git_repo):
    repo = git_repo("richpkg")
    repo.write("zoo/empty.py", "")

    run = repo.select()

    assert (run.code, run.out, notes(run)) == (0, "", [])


def test_module_emptied(git_repo):
    # depth is gone: zoo.report.summary, which calls it, now fails.
    repo = git_repo("richpkg")
    repo.write(DEEP, "")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [SUMMARY]
    assert notes(run) == []


def _big_module(depth: int) -> str:
    # A generated module: an embedded 5 MiB data table (like a serialized descriptor) and functions.
    row = "0123456789abcdef" * 4096  # 64 KiB
    table = "\n".join(f'    "{row}",' for _ in range(80))
    functions = "\n\n".join(f"def generated_{i}(x):\n    return x + {i}\n" for i in range(200))
    return f"TABLE = (\n{table}\n)\n\n\n{functions}\n\ndef depth():\n    return {depth}\n"


def test_five_megabyte_generated_module(git_repo):
    repo = git_repo("richpkg")
    repo.write("zoo/sub/deep.py", _big_module(3))
    repo.commit("generated")
    assert (repo.path / DEEP).stat().st_size > 5_000_000
    (repo.path / DEEP).write_text(_big_module(4))

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [SUMMARY]
    assert notes(run) == []


# -- symlinks and submodules ------------------------------------------------------------------


def test_symlink_in_the_tree(git_repo):
    # An in-tree symlink to a data file: the file itself changed, the module naming it is selected.
    repo = git_repo("richpkg")
    (repo.path / "tests/data/animals-link.csv").symlink_to("animals.csv")
    repo.commit("link")
    repo.write("tests/data/animals.csv", "name,legs\nrex,4\n")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == DATA_TESTS


def test_symlinked_module_changes_with_its_target(git_repo):
    repo = git_repo("richpkg")
    (repo.path / "zoo/alias.py").symlink_to("extras.py")
    repo.write(
        "tests/test_alias.py",
        """\
        from zoo.alias import tidy


        def test_alias_tidy():
            assert tidy(" a ") == "a"
        """,
    )
    repo.commit("alias")
    repo.replace("zoo/extras.py", 'return " ".join(text.split())', 'return " ".join(text.split(" "))')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted(["tests/test_alias.py::test_alias_tidy", TIDY])


@pytest.fixture
def reads(monkeypatch):
    """Every file Python opens from now on, as real paths (clear it before the part under test)."""
    opened: list[str] = []
    real_open, real_os_open = io.open, os.open

    def spy_open(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)):
            opened.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, *args, **kwargs):
        opened.append(os.path.realpath(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    return opened


def _outside_module(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.py"
    secret.write_text("def tidy(text):\n    return 'secret'\n")
    return secret


def test_symlink_leading_outside_the_repository_is_never_read(git_repo, tmp_path, reads):
    repo = git_repo("richpkg")
    secret = _outside_module(tmp_path)
    (repo.path / "zoo/evil.py").symlink_to(secret)
    reads.clear()

    run = repo.select()

    assert (run.code, run.out) == (0, ""), run.err
    assert str(secret) not in reads
    assert any(p.startswith(str(repo.path)) for p in reads)  # the spy works


def test_committed_symlink_leading_outside_whose_target_changes(git_repo, tmp_path, reads):
    repo = git_repo("richpkg")
    secret = _outside_module(tmp_path)
    (repo.path / "zoo/evil.py").symlink_to(secret)
    repo.commit("link outside")
    secret.write_text("def tidy(text):\n    return 'changed'\n")
    repo.replace(DEEP, "return 3", "return 4")
    reads.clear()

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [SUMMARY]
    assert str(secret) not in reads


def test_symlink_leading_outside_is_reported_as_such(git_repo, tmp_path):
    repo = git_repo("richpkg")
    (repo.path / "zoo/evil.py").symlink_to(_outside_module(tmp_path))

    run = repo.select()

    assert (run.code, run.out) == (0, ""), run.err  # nothing imports zoo.evil
    assert notes(run) == [
        "impactsel: zoo/evil.py: a symlink leading outside the repository, whose target impactsel does not read: "
        "every user of module zoo.evil is selected"
    ]


def test_symlink_leading_outside_widens_to_the_users_of_its_module(git_repo, tmp_path, reads):
    # A tracked module replaced by a link outside: its users are selected, the target is never read.
    repo = git_repo("richpkg")
    secret = _outside_module(tmp_path)
    repo.delete("zoo/extras.py")
    (repo.path / "zoo/extras.py").symlink_to(secret)
    reads.clear()

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([SHOUT, TIDY, WHISPER])  # tests/test_util.py: from zoo.extras import *
    assert notes(run) == [
        "impactsel: zoo/extras.py: a symlink leading outside the repository, whose target impactsel does not read: "
        "every user of module zoo.extras is selected"
    ]
    assert str(secret) not in reads


def test_submodule_pointer_change_selects_every_test(git_repo):
    library = git_repo("flat")
    repo = git_repo("richpkg")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", library.path.as_uri(), "vendor/calc")
    repo.commit("vendor calc")
    repo.branch()
    library.replace("calc/core.py", "return a + b", "return b + a")
    library.commit("upstream change")
    repo.git("-C", "vendor/calc", "pull", "-q", "origin", "main")
    repo.commit("bump vendor/calc")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == ["tests"]
    assert notes(run) == [
        "impactsel: selecting every test: vendor/calc changed and no code names it: every test is selected"
    ]


# -- what git reports: deletions, modes, renames ----------------------------------------------


def test_file_deleted_in_the_work_tree_but_not_in_the_index(git_repo):
    # A staged edit, then the file removed without git rm: the deletion is what counts.
    repo = git_repo("richpkg")
    repo.replace(DEEP, "return 3", "return 4")
    repo.stage()
    repo.delete(DEEP)
    assert repo.git("status", "--porcelain") == f"MD {DEEP}\n"

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == DEEP_USERS


def test_file_mode_change_only_selects_nothing(git_repo):
    repo = git_repo("richpkg")
    (repo.path / DEEP).chmod(0o755)
    (repo.path / "zoo/extras.py").chmod(0o755)
    assert repo.git("diff", "--name-only") == f"zoo/extras.py\n{DEEP}\n"

    run = repo.select()

    assert (run.code, run.out, notes(run)) == (0, "", [])


def test_rename_with_edits(git_repo):
    # deep.py -> deeper.py, depth edited, the importer updated: zoo.report's imports changed.
    repo = git_repo("richpkg")
    repo.rename(DEEP, "zoo/sub/deeper.py")
    repo.replace("zoo/sub/deeper.py", "return 3", "return 4")
    repo.replace("zoo/report.py", "import zoo.sub.deep\n", "import zoo.sub.deeper\n")
    repo.replace("zoo/report.py", "zoo.sub.deep.depth()", "zoo.sub.deeper.depth()")
    repo.stage()
    assert "R" in repo.git("diff", "--cached", "--name-status", "-M", "main")

    run = repo.select("--format", "json")

    assert run.code == 0, run.err
    changed = {(c["id"], c["cause"]) for c in run.json["changed"]}
    assert {("zoo.sub.deep:depth", "deleted"), ("zoo.sub.deeper:depth", "added")} <= changed
    assert [t["nodeid"] for t in run.json["tests"]] == DEEP_USERS


# -- configuration -------------------------------------------------------------------------------


def test_no_pytest_configuration_at_all(git_repo):
    # pytest's defaults: test_*.py anywhere under the root, test* functions.
    repo = git_repo("plain")
    repo.replace("mylib/greet.py", 'return f"bye {name}"', 'return f"bye, {name}"')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([BYE_AT_ROOT, BYE])


def test_no_pytest_configuration_every_test_prints_the_directories_holding_tests(git_repo):
    repo = git_repo("plain")
    repo.write("mylib/data.bin", "\x01")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == ["test_root.py", "tests"]


def test_tests_outside_any_package(git_repo):
    repo = git_repo("plain")
    repo.replace("mylib/greet.py", 'return f"hello {name}"', 'return f"hello, {name}"')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([HELLO, HELLO_INNER])


def test_broken_pyproject_toml(git_repo):
    repo = git_repo("flat")
    repo.write("pyproject.toml", '[project]\nname = "calc"\nversion =\n')

    run = repo.select()

    assert_refused(
        run,
        "cannot read pyproject.toml: Invalid value (at line 3, column 10); "
        "fix the file (impactsel reads pytest's settings from it)",
        "config",
    )


def test_pyproject_toml_that_is_not_utf8(git_repo):
    repo = git_repo("flat")
    (repo.path / "pyproject.toml").write_bytes(b'[project]\nname = "caf\xe9"\n')

    run = repo.select()

    assert_refused(
        run,
        "cannot read pyproject.toml: 'utf-8' codec can't decode byte 0xe9 in position 21: invalid continuation "
        "byte; fix the file (impactsel reads pytest's settings from it)",
        "config",
    )


def test_bad_impactsel_options(git_repo):
    repo = git_repo("flat")
    repo.write("pyproject.toml", repo.read("pyproject.toml") + '\n[tool.impactsel]\nsinse = "main"\ncache-dir = 3\n')

    run = repo.select()

    assert_refused(
        run, "[tool.impactsel] in pyproject.toml: unknown option 'sinse'; cache-dir: expected a string", "config"
    )


def test_broken_pytest_ini(git_repo):
    repo = git_repo("richpkg")
    repo.write("pytest.ini", "[pytest\ntestpaths = tests\n")

    run = repo.select()

    assert_refused(run, "cannot read pytest.ini: File contains no section headers.; fix the file", "config")


# -- conftest.py layers --------------------------------------------------------------------------


def test_two_conftest_layers_override_one_fixture(git_repo):
    # tests/conftest.py: name; tests/inner/conftest.py: name(name), built on the outer one.
    repo = git_repo("plain")
    repo.replace("tests/conftest.py", 'return "ann"', 'return "Ann"')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([HELLO, HELLO_INNER])


def test_conftest_top_level_code_selects_every_test_below_it(git_repo):
    repo = git_repo("plain")
    repo.replace("tests/conftest.py", "import pytest\n", 'import os\n\nimport pytest\n\nos.environ["GREETING"] = "1"\n')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == sorted([HELLO, BYE, HELLO_INNER, MARK])


def test_outer_conftest_fixture_used_below_an_inner_conftest(git_repo):
    repo = git_repo("plain")
    repo.replace("tests/conftest.py", 'return "!"', 'return "?"')

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [MARK]


def test_inner_conftest_override_selects_only_the_tests_below_it(git_repo):
    repo = git_repo("plain")
    repo.replace("tests/inner/conftest.py", "return name.upper()", "return name.title()")

    run = repo.select()

    assert run.code == 0, run.err
    assert run.lines == [HELLO_INNER]


def test_a_name_imported_back_and_forth_does_not_recurse(git_repo):
    # Two modules importing one name from each other, neither defining it: Python
    # would fail to import them; a deleted definition leaves code in this state.
    repo = git_repo("richpkg")
    repo.write("zoo/loop_a.py", "from zoo.loop_b import thing\n")
    repo.write("zoo/loop_b.py", "from zoo.loop_a import thing\n\n\ndef use():\n    return thing\n")
    repo.write("tests/test_loop.py", "from zoo.loop_b import use\n\n\ndef test_use():\n    assert use\n")
    repo.commit("a cycle")
    repo.replace("zoo/loop_b.py", "    return thing", "    return [thing]")

    run = repo.select()

    assert (run.code, run.lines) == (0, ["tests/test_loop.py::test_use"]), run.err
