"""Requirements and lock files: new pins select the tests that import what they install.

The sample project ``fixtures/deps`` imports ``yamlish`` at the top of
``app/config.py``, ``colorlib`` inside ``app.paint.paint``, and ``basecolor`` (which
``colorlib`` requires) in ``tests/sub/conftest.py``. What each distribution
provides is read from an environment made here: ``*.dist-info`` directories only,
nothing that could run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

LOAD = "tests/test_config.py::test_load"
NOTHING_LOADED = "tests/test_config.py::test_nothing_loaded"
PAINT = "tests/test_paint.py::test_paint"
DOUBLE = "tests/test_paint.py::test_double"
PALETTE = "tests/sub/test_palette.py::test_palette_size"
EVERY_TEST = ["tests"]


def dist_info(site: Path, name: str, *, modules=(), requires=(), files=(), plugin=False, origin=None) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    record = [*(f"{m}/__init__.py,," for m in modules), *(f"{f},," for f in files), f"{info.name}/METADATA,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    if plugin:
        (info / "entry_points.txt").write_text(f"[pytest11]\n{name} = {name}.plugin\n")
    if origin is not None:
        (info / "direct_url.json").write_text(f'{{"url": "{origin.as_uri()}", "dir_info": {{"editable": true}}}}')


@pytest.fixture
def deps_repo(git_repo, tmp_path, monkeypatch):
    repo = git_repo("deps")
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    dist_info(site, "yamlish", modules=["yamlish"])
    dist_info(site, "colorlib", modules=["colorlib"], requires=["basecolor>=1"])
    dist_info(site, "basecolor", modules=["basecolor"])
    dist_info(site, "pytest-fancy", modules=["pytest_fancy"], requires=["plugdep"], plugin=True)
    dist_info(site, "plugdep", modules=["plugdep"])
    dist_info(site, "sitewide", modules=["sitewide"], files=["sitewide.pth"])
    # Requires yamlish only on Python 2: a new yamlish is not a new legacy here.
    dist_info(site, "legacy", modules=["legacy"], requires=['yamlish ; python_version < "3"'], plugin=True)
    # The project itself, installed in editable mode: its code is analysed, not its pins.
    dist_info(
        site, "app", requires=["yamlish", "colorlib"], files=["__editable__.app-0.1.0.pth"], origin=repo.path.resolve()
    )
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "env"))
    return repo


def test_a_pin_changed_selects_every_test_module_that_imports_the_distribution(deps_repo):
    # app.config imports yamlish at the top: test_config.py imports it, and so every
    # test of that module runs (a new version may fail at import, or do anything then).
    deps_repo.replace("requirements.txt", "yamlish==1.0", "yamlish==1.1")

    run = deps_repo.select()

    assert run.lines == sorted([LOAD, NOTHING_LOADED])
    assert "new pins of yamlish: selecting the tests that import yamlish" in run.err


def test_a_pin_of_a_required_distribution_reaches_what_requires_it(deps_repo):
    # colorlib requires basecolor: a new basecolor is a new colorlib. paint imports
    # colorlib when it runs; the conftest.py of tests/sub imports basecolor at the top.
    deps_repo.replace("requirements.txt", "basecolor==1.1", "basecolor==1.2")

    assert deps_repo.ids() == sorted([PAINT, PALETTE])


def test_a_pin_under_a_marker_that_does_not_hold_here_selects_nothing(deps_repo):
    deps_repo.replace("requirements.txt", "colorlib==2.0", 'colorlib==2.0\nnewdist==1.0 ; python_version < "3"')

    run = deps_repo.select()

    assert run.lines == []
    assert "new pins only where their markers do not hold here: no test selected for them" in run.err


def test_a_comment_or_a_hash_continuation_reflowed_selects_nothing(deps_repo):
    deps_repo.replace("requirements.txt", "# Pinned for the tests.", "# Pinned.")
    deps_repo.replace("requirements.txt", "yamlish==1.0 \\\n    --hash", "yamlish==1.0 --hash")

    run = deps_repo.select()

    assert run.lines == []
    assert "requirements.txt changed, but no distribution's pin: no test selected for it" in run.err


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("--index-url https://pypi.org/simple", "--index-url https://example.org/simple", "changed an option line"),
        ("colorlib==2.0", "colorlib==2.0\n./vendored/thing", "a requirement that names no distribution"),
        ("colorlib==2.0", "colorlib==2.0\nnewdist==1.0", "newdist is not installed where impactsel looks"),
        ("colorlib==2.0", "colorlib==2.0\npytest-fancy==2.0", "pytest-fancy is a pytest plugin"),
        ("colorlib==2.0", "colorlib==2.0\nplugdep==2.0", "pytest-fancy (which requires plugdep) is a pytest plugin"),
        ("colorlib==2.0", "colorlib==2.0\nsitewide==2.0", "sitewide installs a .pth file"),
    ],
)
def test_what_cannot_be_read_as_new_pins_selects_every_test(deps_repo, old, new, why):
    deps_repo.replace("requirements.txt", old, new)

    run = deps_repo.select()

    assert run.lines == EVERY_TEST
    assert why in run.err


def test_a_lock_file_version_bump(deps_repo):
    deps_repo.replace("uv.lock", 'name = "yamlish"\nversion = "1.0"', 'name = "yamlish"\nversion = "1.1"')

    assert deps_repo.ids() == sorted([LOAD, NOTHING_LOADED])


def test_a_lock_file_entry_of_the_project_itself_is_its_own_code(deps_repo):
    # The project's own entry lists its requirements: their own entries say what changes.
    deps_repo.replace(
        "uv.lock",
        '    { name = "yamlish" },\n]\n\n[[package]]\nname = "basecolor"',
        ('    { name = "yamlish" },\n    { name = "other" },\n]\n\n[[package]]\nname = "basecolor"'),
    )

    assert deps_repo.ids() == []


def test_pyproject_dependencies_and_a_linter_setting_changed(deps_repo):
    deps_repo.replace("pyproject.toml", '"colorlib>=2.0"', '"colorlib>=2.1"')
    deps_repo.replace("pyproject.toml", "line-length = 100", "line-length = 120")

    # colorlib requires basecolor, not the other way round: the conftest.py is not affected.
    assert deps_repo.ids() == [PAINT]


def test_pyproject_dependencies_and_a_pytest_setting_changed(deps_repo):
    deps_repo.replace("pyproject.toml", '"colorlib>=2.0"', '"colorlib>=2.1"')
    deps_repo.replace("pyproject.toml", 'pythonpath = ["."]', 'pythonpath = ["."]\naddopts = "-x"')

    run = deps_repo.select()

    assert run.lines == EVERY_TEST
    assert "pyproject.toml changed: it configures the project or its tests" in run.err


def test_a_package_added_to_the_install_selects_the_tests_that_import_it(deps_repo):
    deps_repo.write("app/extra/__init__.py", "from app.plain import double\n")
    deps_repo.write(
        "tests/test_extra.py", "import app.extra\n\n\ndef test_extra():\n    assert app.extra.double(1) == 2\n"
    )
    deps_repo.commit("app.extra, not installed yet")
    deps_repo.replace("pyproject.toml", 'packages = ["app"]', 'packages = ["app", "app.extra"]')

    assert deps_repo.ids() == ["tests/test_extra.py::test_extra"]
