"""Dependency files: two versions -> the distributions whose pins differ, or why it cannot tell."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from impactsel.depdiff import DependencyDiff, diff, is_dependency_file
from impactsel.model import ChangeStatus, FileChange


def change(path: str, old: str, new: str) -> DependencyDiff | None:
    return diff(FileChange(PurePosixPath(path), ChangeStatus.MODIFIED, None, old, new))


def pins(*names: str) -> DependencyDiff:
    return DependencyDiff(distributions=frozenset(names))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("requirements.txt", True),
        ("requirements-dev.txt", True),
        ("requirements/test.txt", True),
        ("constraints.txt", True),
        ("poetry.lock", True),
        ("sub/uv.lock", True),
        ("Pipfile.lock", True),
        ("Cargo.lock", False),
        ("notes.txt", False),
    ],
)
def test_which_files_list_dependencies(path, expected):
    assert is_dependency_file(PurePosixPath(path)) is expected


def test_requirements_names_are_canonical_and_extras_markers_and_hashes_count():
    old = "Django==4.2\nrequests[socks]==2.31 ; python_version >= '3.8'\nattrs==23.1 --hash=sha256:aa\n"
    new = "django==4.2\nrequests[socks]==2.31 ; python_version >= '3.9'\nattrs==23.1 --hash=sha256:bb\n"

    found = change("requirements.txt", old, new)

    assert found is not None and found.distributions == {"requests", "attrs"}
    # requests changes only where one of its markers holds; attrs wherever it is installed
    assert found.markers == {"requests": {'python_version >= "3.8"', 'python_version >= "3.9"'}}


def test_a_requirement_added_or_removed():
    assert change("requirements.txt", "a==1\nb==2\n", "b==2\nc_d==3\n") == pins("a", "c-d")


def test_an_include_changed_cannot_be_told():
    found = change("requirements.txt", "-r base.txt\na==1\n", "-r other.txt\na==1\n")

    assert found is not None and found.reason == "requirements.txt changed an option line (-r other.txt)"


def test_poetry_lock_packages_and_its_older_metadata_files():
    def lock(version: str, digest: str) -> str:
        return f"""
[[package]]
name = "Attrs"
version = "{version}"

[[package]]
name = "six"
version = "1.16"

[metadata]
content-hash = "{digest}"

[metadata.files]
six = [{{file = "six.whl", hash = "sha256:{digest}"}}]
"""

    assert change("poetry.lock", lock("23.1", "aa"), lock("23.2", "aa")) == pins("attrs")
    assert change("poetry.lock", lock("23.1", "aa"), lock("23.1", "bb")) == pins("six")


def test_a_lock_table_that_is_not_a_package_cannot_be_told():
    found = change("pdm.lock", '[tool]\nx = 1\n[[package]]\nname = "a"\n', '[tool]\nx = 2\n[[package]]\nname = "a"\n')

    assert found is not None and found.reason == "pdm.lock changed its [tool] table"


def test_pipfile_lock_sections_and_its_hash():
    def lock(version: str, digest: str) -> str:
        return json.dumps(
            {
                "_meta": {"hash": {"sha256": digest}, "sources": [{"url": "https://pypi.org/simple"}]},
                "default": {"requests": {"version": "==2.31"}},
                "develop": {"pytest": {"version": f"=={version}"}},
            }
        )

    assert change("Pipfile.lock", lock("7.0", "a"), lock("8.0", "b")) == pins("pytest")


def test_pipfile_packages():
    old = '[packages]\nrequests = "*"\n[dev-packages]\npytest = "*"\n'
    new = '[packages]\nrequests = ">=2.31"\n[dev-packages]\npytest = "*"\n'

    assert change("Pipfile", old, new) == pins("requests")
    assert change("Pipfile", old, old + "[scripts]\nx = 'y'\n") == DependencyDiff(
        reason="Pipfile changed its [scripts] table"
    )


def test_pyproject_only_when_nothing_else_a_test_may_observe_changed():
    old = '[project]\nname = "p"\ndependencies = ["a>=1"]\n[project.optional-dependencies]\nx = ["b"]\n'
    bumped = old.replace("a>=1", "a>=2").replace('["b"]', '["b", "c"]')

    assert change("pyproject.toml", old, bumped) == pins("a", "c")
    assert change("pyproject.toml", old, bumped.replace('name = "p"', 'name = "q"')) is None
    assert change("pyproject.toml", old, old + "[tool.black]\nline-length = 100\n") is None  # no pin: configdiff's


def test_poetry_dependency_tables():
    old = '[tool.poetry.dependencies]\npython = "^3.10"\nattrs = "^23"\n[tool.poetry.group.dev.dependencies]\nx = "1"\n'
    new = old.replace('python = "^3.10"', 'python = "^3.11"').replace('x = "1"', 'x = "2"')

    assert change("pyproject.toml", old, new) == pins("x")


@pytest.mark.parametrize(
    ("path", "old", "new", "why"),
    [
        ("uv.lock", "[[package]]\nversion = 1\n", "[[package]]\nversion = 2\n", "uv.lock does not parse (KeyError)"),
        ("Pipfile.lock", "[1]", "[2]", "Pipfile.lock does not parse (AttributeError)"),
        ("poetry.lock", "[[package]\n", "", "poetry.lock does not parse (TOMLDecodeError)"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_cannot_be_told(path, old, new, why):
    assert change(path, old, new) == DependencyDiff(reason=why)


def test_a_binary_requirements_file_cannot_be_told():
    binary = FileChange(PurePosixPath("requirements.txt"), ChangeStatus.MODIFIED, None, None, None, binary=True)

    assert diff(binary) == DependencyDiff(reason="requirements.txt changed and cannot be read (modified)")


def test_a_requirements_file_added_pins_everything_it_lists():
    added = FileChange(PurePosixPath("requirements-dev.txt"), ChangeStatus.ADDED, None, None, "a==1\nB==2\n")

    assert diff(added) == pins("a", "b")
