"""``impactsel why`` and ``impactsel graph``, and the selections that configuration adds."""

from __future__ import annotations

import json

from impactsel.cli import main

SPEAK = ('return f"{self.nick} says {self.sound()}"', 'return f"{self.nick}: {self.sound()}"')


def explain(repo, *args: str):
    """Run a subcommand in-process; returns (code, stdout, stderr)."""
    repo._capsys.readouterr()
    code = main([*args, "--since", "main", "--root", str(repo.path)])
    captured = repo._capsys.readouterr()
    return code, captured.out, captured.err


def test_why_prints_the_chain_from_the_change_to_the_test(git_repo):
    # test_dog_speaks calls .speak() on a Dog it made: Dog.speak calls super().speak().
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", *SPEAK)

    code, out, err = explain(repo, "why", "tests/test_animals.py::test_dog_speaks")

    assert code == 0
    assert out.splitlines() == [
        "tests/test_animals.py::test_dog_speaks: affected",
        "  any .speak (unknown receiver)",
        "      may call (any definition of that name) zoo.animals:Animal.speak (zoo/animals.py:17)",
        "  tests.test_animals:test_dog_speaks (tests/test_animals.py:5)",
        "      may call (any definition of that name) any .speak (unknown receiver)",
        "  test tests/test_animals.py::test_dog_speaks",
        "      runs tests.test_animals:test_dog_speaks (tests/test_animals.py:5)",
        "  zoo.animals:Animal.speak was modified (zoo/animals.py)",
    ]
    assert err.startswith("impactsel: 1 changed symbols -> ")


def test_why_says_why_a_test_is_not_affected(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", *SPEAK)

    code, out, _ = explain(repo, "why", "tests/test_animals.py::test_kennel")

    assert code == 0
    assert out == (
        "tests/test_animals.py::test_kennel: not affected. It reaches none of the changed symbols "
        "(zoo.animals:Animal.speak): no call, import, fixture, base class or name it uses leads to them.\n"
    )


def test_why_names_an_unknown_test_id(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", *SPEAK)

    code, out, _ = explain(repo, "why", "tests/test_animals.py::test_nothing_like_it")

    assert code == 0
    assert (
        out
        == "tests/test_animals.py::test_nothing_like_it: no such test among the 23 impactsel collects (check the id)\n"
    )


def test_graph_json_holds_every_path_from_the_change_to_the_selected_tests(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", *SPEAK)

    code, out, _ = explain(repo, "graph", "--format", "json")

    assert code == 0
    graph = json.loads(out)
    assert graph["nodes"] == [
        {"id": "name:speak", "role": "symbol"},
        {"id": "test:tests/test_animals.py::test_dog_speaks", "role": "test"},
        {"id": "tests.test_animals:test_dog_speaks", "role": "symbol"},
        {"id": "zoo.animals:Animal.speak", "role": "changed"},
        {"id": "zoo.animals:Dog.speak", "role": "symbol"},
    ]
    assert graph["edges"] == [
        {"from": "name:speak", "to": "zoo.animals:Animal.speak", "kind": "name"},
        {"from": "name:speak", "to": "zoo.animals:Dog.speak", "kind": "name"},
        {
            "from": "test:tests/test_animals.py::test_dog_speaks",
            "to": "tests.test_animals:test_dog_speaks",
            "kind": "test",
        },
        {"from": "tests.test_animals:test_dog_speaks", "to": "name:speak", "kind": "name"},
        {"from": "zoo.animals:Dog.speak", "to": "zoo.animals:Animal.speak", "kind": "inherit"},
    ]


def test_graph_dot_and_html(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", *SPEAK)

    _, dot, _ = explain(repo, "graph", "--format", "dot")
    _, page, _ = explain(repo, "graph", "--format", "html")

    assert dot.startswith("digraph impactsel {\n")
    assert '"zoo.animals:Animal.speak" [style=filled fillcolor="#f4a3a3"];' in dot
    assert '"zoo.animals:Animal.speak" -> "name:speak" [label="name"];' in dot
    assert page.startswith("<!doctype html>")
    assert "<h2 class='changed'>zoo.animals:Animal.speak</h2>" in page
    assert "test:tests/test_animals.py::test_dog_speaks" in page
    assert "src=" not in page and "http" not in page  # one self-contained file


def test_declared_dependencies_and_always_run(git_repo):
    # A data file no code names would select every test; [tool.impactsel] depends names
    # what it affects instead: a test, and the users of a module (zoo.report, as if all
    # of it had changed: tests/test_report.py imports it).
    repo = git_repo("richpkg")
    repo.write(
        "pyproject.toml",
        """
        [tool.impactsel]
        always-run = ["tests/test_data.py::test_no_rows"]

        [tool.impactsel.depends]
        "templates/*" = ["tests/sub/test_shelter.py::test_quiet", "zoo.report"]
        """,
    )
    repo.commit()
    repo.branch()
    repo.write("templates/page.html", "<p>hello</p>\n")

    run = repo.select()

    assert run.code == 0
    assert run.lines == [
        "tests/sub/test_shelter.py::test_quiet",
        "tests/test_data.py::test_no_rows",
        "tests/test_report.py::test_headline",
        "tests/test_report.py::test_summary",
    ]
    assert "templates/page.html changed: selecting what [tool.impactsel] depends names for it" in run.err
