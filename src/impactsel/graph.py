"""③ The symbol graph: edges ``user -> used`` -> who is affected by a change.

The only module that imports networkx. An edge points from a symbol to what it
uses, so the symbols affected by a change are the change's ancestors: one
multi-source reverse breadth-first walk finds them all, and remembers for each
node the neighbour it was reached from so that the chain from a changed symbol
to a test can be shown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import networkx as nx

from impactsel.resolve import Edge, EdgeKind


class SymbolGraph:
    """A directed graph of symbol ids; an edge ``user -> used`` means "user uses used"."""

    def __init__(self) -> None:
        self._graph: nx.DiGraph[str] = nx.DiGraph()

    @classmethod
    def from_edges(cls, edges: Iterable[Edge]) -> SymbolGraph:
        graph = cls()
        for edge in edges:
            graph.add_edge(user=edge.user, used=edge.used, kind=edge.kind)
        return graph

    def add_edge(self, *, user: str, used: str, kind: EdgeKind) -> None:
        if not self._graph.has_edge(user, used):
            self._graph.add_edge(user, used, kind=kind)

    def __contains__(self, node: str) -> bool:
        return node in self._graph

    def edge_kind(self, user: str, used: str) -> EdgeKind | None:
        data = self._graph.get_edge_data(user, used)
        return None if data is None else data["kind"]

    def find_upstream(self, changed: Iterable[str]) -> dict[str, str | None]:
        """Every node that uses a changed node, directly or not.

        Returns:
            node -> the node it was reached from (None for the changed nodes themselves);
            following the links leads back to a changed node along a shortest path.
        """
        reached: dict[str, str | None] = {}
        queue: deque[str] = deque()
        for node in changed:
            if node not in reached:
                reached[node] = None
                queue.append(node)
        pred = self._graph.pred
        while queue:
            node = queue.popleft()
            if node not in pred:
                continue
            for user in pred[node]:
                if user not in reached:
                    reached[user] = node
                    queue.append(user)
        return reached

    @staticmethod
    def chain(reached: dict[str, str | None], node: str) -> tuple[str, ...]:
        """The path from a changed node to ``node``, changed node first."""
        path = [node]
        step = reached.get(node)
        while step is not None:
            path.append(step)
            step = reached.get(step)
        return tuple(reversed(path))
