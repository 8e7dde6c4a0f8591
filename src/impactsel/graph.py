"""③ The symbol graph: edges ``user -> used`` -> who is affected by a change.

An edge points from a symbol to what it uses, so the symbols affected by a
change are the change's ancestors: one multi-source reverse breadth-first walk
finds them all, and remembers for each node the neighbour it was reached from so
that the chain from a changed symbol to a test can be shown.

The walk runs on plain dictionaries of predecessors: building a networkx graph
of a large project costs seconds and importing networkx a few tenths, which a
warm run cannot afford. ``to_networkx`` hands the same graph to networkx for the
analyses that want it (drawing the paths, ``impactsel graph``); it is the only
place that imports networkx.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from impactsel.resolve import IMPLICIT, Edge, EdgeKind

if TYPE_CHECKING:
    import networkx as nx

NAME_PREFIX = "name:"
MODULE_SUFFIX = ":<module>"
TEST_NODE_PREFIX = "test:"


class SymbolGraph:
    """A directed graph of symbol ids; an edge ``user -> used`` means "user uses used"."""

    def __init__(self) -> None:
        #: used -> {user: kind}: the walk only ever goes from a node to its users
        self._pred: dict[str, dict[str, EdgeKind]] = {}

    @classmethod
    def from_edges(cls, edges: Iterable[Edge]) -> SymbolGraph:
        graph = cls()
        pred = graph._pred
        for edge in edges:
            users = pred.get(edge.used)
            if users is None:
                users = pred[edge.used] = {}
            users.setdefault(edge.user, edge.kind)  # the first edge between two nodes wins
        return graph

    def add_edge(self, *, user: str, used: str, kind: EdgeKind) -> None:
        self._pred.setdefault(used, {}).setdefault(user, kind)

    def edge_kind(self, user: str, used: str) -> EdgeKind | None:
        return self._pred.get(used, {}).get(user)

    def users(self, node: str) -> dict[str, EdgeKind]:
        """The nodes with an edge to ``node``, and the kind of each edge."""
        return self._pred.get(node, {})

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as a ``networkx.DiGraph`` (edge attribute ``kind``)."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_edges_from(
            (user, used, {"kind": kind}) for used, users in self._pred.items() for user, kind in users.items()
        )
        return graph

    def find_upstream(self, changed: Iterable[str]) -> dict[str, str | None]:
        """Every node that uses a changed node, directly or not.

        Returns:
            node -> the node it was reached from (None for the changed nodes themselves);
            following the links leads back to a changed node along a shortest path.
        """
        return self._walk_users(changed, skip=_never)

    def find_affected(self, changed: Iterable[str], guard: Callable[[str], str]) -> dict[str, str | None]:
        """Like ``find_upstream``, with name-fallback edges pruned by reachability.

        An edge ``name:m -> C.m`` stands for "some object whose type we do not know
        has its ``m`` called". A test can only hold an instance of ``C`` if it
        reaches ``C`` (it, or code it runs, names the class), so a test reached
        through ``name:m`` from a changed ``C.m`` is kept only when it also uses
        ``guard(C.m)``: the owning class (or module, for a function).
        """
        changed = list(changed)
        reached = self._walk(changed, stop=NAME_PREFIX)
        conditional: dict[str, set[str]] = {}
        for node in changed:
            if not node.startswith(NAME_PREFIX):
                continue  # a deleted definition's own node is seeded beside its name node
            module_qualname = [c for c in changed if c.rpartition(".")[2].rpartition(":")[2] == node[5:]]
            conditional.setdefault(node, set()).update(c for c in module_qualname if not c.startswith(NAME_PREFIX))
        pred = self._pred
        for node in list(reached):
            for user in pred.get(node, ()):
                if user.startswith(NAME_PREFIX):
                    conditional.setdefault(user, set()).add(node)
        walks: dict[str, dict[str, str | None]] = {}
        for name, definitions in sorted(conditional.items()):
            from_name = walks.setdefault(name, self.find_upstream([name]))
            guards = {guard(d) for d in definitions} or {name}
            users = [walks.setdefault(g, self._guard_walk(g)) for g in sorted(guards)]
            for node in from_name:
                if node.startswith(TEST_NODE_PREFIX) and node not in reached and any(node in u for u in users):
                    self._adopt(reached, from_name, node, name, min(definitions) if definitions else None)
        return reached

    def _guard_walk(self, guard: str) -> dict[str, str | None]:
        """The nodes that can hold ``guard`` as a value.

        For a class, whatever uses it, except that importing a module does not hand out
        the objects its top-level code makes: the walk does not go from a module node
        to the modules that import it (a member that holds such an object still leads
        to its users). For a module, whatever uses the module object itself: not its
        own members (they point at their module) and not other modules importing from it.
        """
        if not guard.endswith(MODULE_SUFFIX):
            return self._walk_users([guard], skip=self._is_import_of_module)
        pred = self._pred
        holders = [
            user
            for user, kind in pred.get(guard, {}).items()
            if kind is not EdgeKind.MODULE and not user.endswith(MODULE_SUFFIX)
        ]
        return self.find_upstream(holders)

    @staticmethod
    def _is_import_of_module(user: str, used: str, kind: EdgeKind) -> bool:
        # Also: calling a dunder of an object does not make one (the implicit-dunder node).
        if user == IMPLICIT:
            return True
        return kind is EdgeKind.IMPORT and used.endswith(MODULE_SUFFIX) and user.endswith(MODULE_SUFFIX)

    def _walk_users(self, start: Iterable[str], skip: Callable[[str, str, EdgeKind], bool]) -> dict[str, str | None]:
        reached: dict[str, str | None] = dict.fromkeys(start)
        queue: deque[str] = deque(reached)
        pred = self._pred
        while queue:
            node = queue.popleft()
            for user, kind in pred.get(node, {}).items():
                if user not in reached and not skip(user, node, kind):
                    reached[user] = node
                    queue.append(user)
        return reached

    def _walk(self, changed: Iterable[str], stop: str) -> dict[str, str | None]:
        """``find_upstream`` that neither enters nor leaves nodes named ``stop...``."""
        return self._walk_users(changed, skip=lambda user, used, _: user.startswith(stop) or used.startswith(stop))

    @staticmethod
    def _adopt(
        reached: dict[str, str | None], walk: dict[str, str | None], node: str, name: str, definition: str | None
    ) -> None:
        """Copy ``node``'s path back to ``name`` from ``walk`` into ``reached``."""
        step: str | None = node
        while step is not None and step not in reached:
            reached[step] = walk[step]
            step = walk[step]
        if name not in reached or reached[name] is None:
            reached[name] = definition

    @staticmethod
    def chain(reached: dict[str, str | None], node: str) -> tuple[str, ...]:
        """The path from a changed node to ``node``, changed node first."""
        path = [node]
        step = reached.get(node)
        while step is not None:
            path.append(step)
            step = reached.get(step)
        return tuple(reversed(path))


def _never(user: str, used: str, kind: EdgeKind) -> bool:
    return False
