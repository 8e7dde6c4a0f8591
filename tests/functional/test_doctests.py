"""Docstrings and doctests: a real edit on a copy of ``fixtures/plain`` -> the exact selection.

With ``--doctest-modules`` pytest collects the examples in the docstrings of every
module it collects from (``testpaths``, or the whole tree). impactsel selects a
module's doctests as the module's path, which runs them all; they depend on the
module's top-level code and on what the code of their examples names.

``fixtures/plain``: ``mylib/greet.py`` (``hello`` has a doctest, ``bye`` a docstring
without examples) and ``mylib/loud.py`` (a module docstring whose examples import
``mylib.greet.hello`` and call ``upper``).
"""

from __future__ import annotations

import pytest

HELLO = "tests/test_greet.py::test_hello"
HELLO_INNER = "tests/inner/test_inner.py::test_hello_inner"
GREET_DOCTESTS = "mylib/greet.py"
LOUD_DOCTESTS = "mylib/loud.py"

COLLECT_DOCTESTS = "[pytest]\naddopts = --doctest-modules\n"


@pytest.fixture
def plain(git_repo):
    """fixtures/plain with doctests collected, committed on main."""
    repo = git_repo("plain")
    repo.write("pytest.ini", COLLECT_DOCTESTS)
    repo.commit("collect doctests")
    return repo


def test_code_that_doctests_run(plain):
    # hello runs in greet.py's doctest, in loud.py's (its examples import it) and in two tests.
    plain.replace("mylib/greet.py", 'return f"hello {name}"', 'return "hello " + name')

    assert plain.ids() == sorted([GREET_DOCTESTS, LOUD_DOCTESTS, HELLO, HELLO_INNER])


def test_code_that_only_an_example_names(plain):
    plain.replace("mylib/loud.py", "return text.upper()", "return text.upper().strip()")

    assert plain.ids() == [LOUD_DOCTESTS]


def test_an_example_changed(plain):
    # The docstring is not hello's code: the tests that call hello are not affected.
    plain.replace("mylib/greet.py", ">>> hello(\"ann\")\n    'hello ann'", ">>> hello(\"bo\")\n    'hello bo'")

    assert plain.ids() == [GREET_DOCTESTS]


def test_a_docstring_without_examples_changed(plain):
    plain.replace("mylib/greet.py", '"""Say goodbye to ``name``."""', '"""Say goodbye."""')

    assert plain.ids() == []


def test_examples_added_to_a_docstring(plain):
    documented = '"""Say goodbye.\n\n    >>> bye("x")\n    \'bye x\'\n    """'
    plain.replace("mylib/greet.py", '"""Say goodbye to ``name``."""', documented)

    assert plain.ids() == [GREET_DOCTESTS]


@pytest.mark.parametrize(
    "config",
    ["[pytest]\naddopts = --doctest-modules\ntestpaths = tests\n", "[pytest]\n"],
    ids=["outside-testpaths", "doctests-not-collected"],
)
def test_doctests_pytest_does_not_collect(git_repo, config):
    repo = git_repo("plain")
    repo.write("pytest.ini", config)
    repo.commit("configure pytest")
    repo.replace("mylib/greet.py", 'return f"hello {name}"', 'return "hello " + name')

    assert repo.ids() == sorted([HELLO, HELLO_INNER])


def test_a_docstring_does_not_run_its_module(git_repo):
    # Task.run runs when mylib.boot is imported (its top-level code calls make().run()).
    # test_summary reads the docstring of a Task (none), never imports mylib.boot, and
    # holds a Task: the text of boot's docstrings cannot depend on what boot runs.
    repo = git_repo("plain")
    files = {
        "mylib/tasks.py": 'class Task:\n    def run(self):\n        return "ran"\n\n\ndef make():\n    return Task()\n',
        "mylib/boot.py": 'from mylib.tasks import make\n\nmake().run()\n\n\ndef helper():\n    """Helps."""\n',
        "mylib/docs.py": "def summary(fn):\n    return fn.__doc__\n",
        "tests/test_boot.py": "import mylib.boot\n\n\ndef test_boot():\n    assert mylib.boot.helper() is None\n",
        "tests/test_docs.py": "from mylib.docs import summary\nfrom mylib.tasks import Task\n\n\n"
        "def test_summary():\n    assert summary(Task) is None\n",
    }
    for path, text in files.items():
        repo.write(path, text)
    repo.commit("boot")
    repo.replace("mylib/tasks.py", 'return "ran"', 'return "done"')

    assert repo.ids() == ["tests/test_boot.py::test_boot"]
