"""pytest plugin: ``--impact-since REV`` -> the collected items that the change cannot affect, deselected.

It is on when either option is given, and off otherwise (``since`` in the
configuration alone never turns it on):

* ``--impact-since REV``: compare with ``merge-base(REV, HEAD)``, as ``impactsel --since REV``;
* ``--impact``: the same, with REV from ``IMPACTSEL_SINCE`` or else ``since`` in
  ``[tool.impactsel]`` (no REV: a usage error).

The pytest process that runs the session analyses once, at session start, with
pytest's rootdir as impactsel's root so that both name tests the same way. With
pytest-xdist that is the controller, which hands the result to each worker in
``workerinput``. The workers collect on their own and must all deselect the same
items, so they never analyse.

An item is kept when its node id is a selected id, or starts with one followed by
``::`` or ``[`` (parametrized), or is in a file that impactsel did not analyse as
a test file (it cannot judge those, so it does not drop them). When every test is
selected (``run_all``), nothing is deselected and the summary line says why.
Deselection runs last (``trylast``) and only removes items, so ``-k``, ``-m``,
explicit paths and ``--lf`` narrow the run as usual. When impactsel deselected
every remaining item the exit code is 0, not 5 (no tests collected).

Nothing beyond pytest is imported unless the plugin is on. Errors (a bad
revision, not a git repository, a bad configuration) are pytest usage errors,
exit code 4, with impactsel's one-line message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from impactsel.pipeline import Analysis

#: The key of the selection in xdist's ``workerinput``.
WORKERINPUT_KEY = "impactsel_selection"
#: The key, in xdist's ``workeroutput``, of "this worker's items were all deselected by impactsel".
WORKEROUTPUT_KEY = "impactsel_emptied"

_BOUNDARY = re.compile(r"::|\[")


@dataclass(frozen=True)
class Choice:
    """What the analysis decided, in plain values that can travel to xdist workers."""

    selected: frozenset[str]  #: the selected node ids
    analysed_files: frozenset[str]  #: test files impactsel analysed (items elsewhere are kept)
    run_all: str | None  #: why every test runs, when it does
    lines: tuple[str, ...]  #: what to tell people: the summary line, then the reasons

    def keeps(self, nodeid: str) -> bool:
        """Whether the item with ``nodeid`` may be affected by the change."""
        if self.run_all is not None or nodeid.partition("::")[0] not in self.analysed_files:
            return True
        prefixes = (nodeid[: m.start()] for m in _BOUNDARY.finditer(nodeid))
        return nodeid in self.selected or any(p in self.selected for p in prefixes)

    def to_wire(self) -> dict[str, Any]:
        """The choice as execnet can send it (lists, strings, None)."""
        return {
            "selected": sorted(self.selected),
            "analysed_files": sorted(self.analysed_files),
            "run_all": self.run_all,
            "lines": list(self.lines),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Choice:
        selected, analysed = frozenset(data["selected"]), frozenset(data["analysed_files"])
        return cls(selected, analysed, data["run_all"], tuple(data["lines"]))


#: The selection (``config.stash``).
CHOICE = pytest.StashKey[Choice]()
#: Whether impactsel deselected every item that was left (``config.stash``).
EMPTIED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("impactsel", "impactsel: run only the tests a change can affect")
    group.addoption(
        "--impact-since",
        metavar="REV",
        help="run only the tests that the changes since merge-base(REV, HEAD) can affect",
    )
    group.addoption(
        "--impact",
        action="store_true",
        default=False,
        help="like --impact-since, with REV from IMPACTSEL_SINCE or since in [tool.impactsel]",
    )


def pytest_configure(config: pytest.Config) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller decided
        if WORKERINPUT_KEY in workerinput:
            config.stash[CHOICE] = Choice.from_wire(workerinput[WORKERINPUT_KEY])
            config.pluginmanager.register(ImpactselPlugin(config), "impactsel-plugin")
        return
    if config.getoption("impact_since") or config.getoption("impact"):
        config.pluginmanager.register(ImpactselPlugin(config), "impactsel-plugin")


class ImpactselPlugin:
    """Deselects the items the change cannot affect; registered only when the plugin is on.

    Its state lives in ``config.stash``: ``CHOICE`` (given on xdist workers, worked out
    at session start elsewhere) and ``EMPTIED`` (impactsel deselected every item left).
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionstart(self, session: pytest.Session) -> Generator[None, None, None]:
        # Before the other implementations: xdist's DSession starts the workers in its
        # own (pytest_configure_node), and they need the selection.
        analysed = CHOICE not in self.config.stash
        if analysed:
            self.config.stash[CHOICE] = _analyse(self.config)
        yield
        if analysed and self.config.pluginmanager.has_plugin("dsession"):
            # The xdist controller collects nothing, so it never reports a collection:
            # say it here, after the session header.
            _write_lines(self.config, self.config.stash[CHOICE].lines)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKERINPUT_KEY] = self.config.stash[CHOICE].to_wire()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        if (getattr(node, "workeroutput", None) or {}).get(WORKEROUTPUT_KEY):
            self.config.stash[EMPTIED] = True

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        kept, dropped = _partition(config.stash[CHOICE], items)
        if dropped:
            items[:] = kept
            config.hook.pytest_deselected(items=dropped)
        config.stash[EMPTIED] = bool(dropped) and not kept

    def pytest_report_collectionfinish(self) -> list[str]:
        return list(self.config.stash[CHOICE].lines) if CHOICE in self.config.stash else []

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        emptied = self.config.stash.get(EMPTIED, False)
        workeroutput: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # tell the xdist controller
            workeroutput[WORKEROUTPUT_KEY] = emptied
        # An empty selection is a success, not "no tests collected" (as in pytest-testmon).
        if emptied and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK


# Private


def _analyse(config: pytest.Config) -> Choice:
    """Run impactsel on pytest's rootdir; its errors become one-line usage errors."""
    from impactsel.errors import ImpactselError

    try:
        return _choice(_run_pipeline(config))
    except ImpactselError as exc:
        raise pytest.UsageError(f"impactsel: {exc.message} (see impactsel's README, #error-{exc.slug})") from None


def _run_pipeline(config: pytest.Config) -> Analysis:
    from impactsel import pipeline
    from impactsel.config import load_settings
    from impactsel.errors import UsageError

    # 1. defaults, [tool.impactsel], IMPACTSEL_* (load_settings); 2. --impact-since.
    settings = load_settings(config.rootpath)
    since = config.getoption("impact_since") or settings.since
    if not since:
        raise UsageError(
            "no base revision: pass --impact-since REV, or set since in [tool.impactsel] or IMPACTSEL_SINCE",
            slug="no-since",
        )
    return pipeline.analyse(dataclasses.replace(settings, since=since))


def _choice(analysis: Analysis) -> Choice:
    from impactsel import report

    selection = analysis.selection
    lines = [report.summary(selection, analysis.seconds)]
    if selection.run_all is not None:
        lines.append(f"impactsel: deselecting nothing, every test runs: {selection.run_all}")
    lines += [f"impactsel: {note}" for note in selection.warnings]
    lines = [report.one_line(line) for line in lines]
    return Choice(
        selected=frozenset(t.nodeid for t in selection.tests),
        analysed_files=frozenset(str(item.path) for item in analysis.items),
        run_all=selection.run_all,
        lines=tuple(lines),
    )


def _partition(choice: Choice, items: Iterable[pytest.Item]) -> tuple[list[pytest.Item], list[pytest.Item]]:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (kept if choice.keeps(item.nodeid) else dropped).append(item)
    return kept, dropped


def _write_lines(config: pytest.Config, lines: Iterable[str]) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in lines:
            reporter.write_line(line)
