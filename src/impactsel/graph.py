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

import bisect
import itertools
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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

    def edge_kind(self, user: str, used: str) -> EdgeKind | None:
        return self.users(used).get(user)

    def users(self, node: str) -> Mapping[str, EdgeKind]:
        """The nodes with an edge to ``node``, and the kind of each edge."""
        return self._pred.get(node, _NONE)

    def nodes_used(self) -> Iterable[str]:
        """Every node that something uses."""
        return self._pred.keys()

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as a ``networkx.DiGraph`` (edge attribute ``kind``)."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_edges_from(
            (user, used, {"kind": kind}) for used in self.nodes_used() for user, kind in self.users(used).items()
        )
        return graph

    def find_upstream(self, changed: Iterable[str]) -> dict[str, str | None]:
        """Every node that uses a changed node, directly or not.

        Returns:
            node -> the node it was reached from (None for the changed nodes themselves);
            following the links leads back to a changed node along a shortest path.
        """
        return self._walk_users(changed, skip=_never)

    def find_affected(
        self, changed: Iterable[str], guard: Callable[[str], str], tests: Iterable[str] | None = None
    ) -> dict[str, str | None]:
        """Like ``find_upstream``, with name-fallback edges pruned by reachability.

        An edge ``name:m -> C.m`` stands for "some object whose type we do not know
        has its ``m`` called". A test can only hold an instance of ``C`` if it
        reaches ``C`` (it, or code it runs, names the class), so a test reached
        through ``name:m`` from a changed ``C.m`` is kept only when it also uses
        ``guard(C.m)``: the owning class (or module, for a function). ``tests``: the
        test nodes, when known (the walk ends once all of them are reached).
        """
        changed = list(changed)
        reached = self._walk(changed, stop=NAME_PREFIX)
        conditional: dict[str, set[str]] = {}
        for node in changed:
            if not node.startswith(NAME_PREFIX):
                continue  # a deleted definition's own node is seeded beside its name node
            module_qualname = [c for c in changed if c.rpartition(".")[2].rpartition(":")[2] == node[5:]]
            conditional.setdefault(node, set()).update(c for c in module_qualname if not c.startswith(NAME_PREFIX))
        for user, node in self._name_users(reached):
            conditional.setdefault(user, set()).add(node)
        # With the test nodes known, stop as soon as every one of them is reached.
        pending = None if tests is None else {t for t in tests if t not in reached}
        holders: dict[str, set[str]] = {}  # guard -> the tests that reach it (each walked once)
        for name, definitions in sorted(conditional.items()):
            if pending is not None and not pending:
                break
            from_name = self.find_upstream([name])
            candidates = [n for n in from_name if n.startswith(TEST_NODE_PREFIX) and n not in reached]
            if not candidates:
                continue  # every test this name leads to is selected already: no guard to walk
            guards = sorted({guard(d) for d in definitions})
            for g in guards:
                if g not in holders:
                    holders[g] = {n for n in self._guard_walk(g) if n.startswith(TEST_NODE_PREFIX)}
            for node in candidates:
                if not guards or any(node in holders[g] for g in guards):
                    self._adopt(reached, from_name, node, name, min(definitions) if definitions else None)
                    if pending is not None:
                        pending.discard(node)
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
        holders = [
            user
            for user, kind in self.users(guard).items()
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
        users = self.users
        while queue:
            node = queue.popleft()
            for user, kind in users(node).items():
                if user not in reached and not skip(user, node, kind):
                    reached[user] = node
                    queue.append(user)
        return reached

    def _walk(self, changed: Iterable[str], stop: str) -> dict[str, str | None]:
        """``find_upstream`` that neither enters nor leaves nodes named ``stop...``."""
        return self._walk_users(changed, skip=lambda user, used, _: user.startswith(stop) or used.startswith(stop))

    def _name_users(self, nodes: Iterable[str]) -> list[tuple[str, str]]:
        """(name-fallback node, node) for each edge from a name node to one of ``nodes``."""
        return [(user, node) for node in list(nodes) for user in self.users(node) if user.startswith(NAME_PREFIX)]

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


_NONE: Mapping[str, EdgeKind] = {}


class PackedGraph(SymbolGraph):
    """A graph kept as arrays (read from a snapshot), with some producers' edges replaced.

    Every edge carries the number of the code that produced it (a module, the
    project-wide edges, a test module's items). The edges of the producers in
    ``dropped`` are ignored and ``overlay`` (edges made anew, with their producer)
    takes their place; a node's users are merged in producer order, so that where
    two edges join the same nodes the first one's kind wins, exactly as in a graph
    built from all edges in that order.
    """

    def __init__(self, arrays: PackedEdges, dropped: set[int], overlay: Iterable[tuple[int, Edge]]) -> None:
        super().__init__()
        self._arrays = arrays
        self._dropped = dropped
        #: every node by number: the snapshot's, then the overlay's new ones
        self._all = list(arrays.nodes)
        self._index = {name: i for i, name in enumerate(self._all)}
        self._is_name = bytearray(name.startswith(NAME_PREFIX) for name in self._all)
        #: used -> (producer, sequence, user, kind code) of the overlay's edges
        self._extra: dict[int, list[tuple[int, int, int, int]]] = {}
        for seq, (producer, edge) in enumerate(overlay):
            used, user = self._number(edge.used), self._number(edge.user)
            self._extra.setdefault(used, []).append((producer, seq, user, KIND_CODES[edge.kind]))
        # The nodes some of whose edges a dropped producer made: only theirs are filtered.
        offsets = arrays.offsets
        self._touched = {bisect.bisect_right(offsets, j) - 1 for j, p in enumerate(arrays.producers) if p in dropped}
        self._memo: dict[str, dict[str, EdgeKind]] = {}

    def users(self, node: str) -> Mapping[str, EdgeKind]:
        found = self._memo.get(node)
        if found is None:
            found = {}
            i = self._index.get(node)
            for user, kind in self._ordered(i) if i is not None else ():
                found.setdefault(self._all[user], _KINDS[kind])  # the first edge between two nodes wins
            self._memo[node] = found
        return found

    def nodes_used(self) -> Iterable[str]:
        return sorted(self._all)

    # The walks that do not look at edge kinds run on node numbers, not names.

    def find_upstream(self, changed: Iterable[str]) -> dict[str, str | None]:
        return self._names(self._int_walk(changed, stop=False))

    def _walk(self, changed: Iterable[str], stop: str) -> dict[str, str | None]:
        assert stop == NAME_PREFIX
        return self._names(self._int_walk(changed, stop=True))

    def _name_users(self, nodes: Iterable[str]) -> list[tuple[str, str]]:
        found = []
        is_name, index, names = self._is_name, self._index, self._all
        for node in list(nodes):
            i = index.get(node)
            if i is not None:
                found += [(names[j], node) for j in self._user_ids(i) if is_name[j]]
        return found

    def _number(self, name: str) -> int:
        i = self._index.get(name)
        if i is None:
            i = self._index[name] = len(self._all)
            self._all.append(name)
            self._is_name.append(name.startswith(NAME_PREFIX))
        return i

    def _ordered(self, i: int) -> list[tuple[int, int]]:
        """(user, kind code) of the edges to node ``i``, in the order of a full build.

        The snapshot's edges are in producer order already; the overlay's are merged
        in by producer, and a dropped producer's edges are left out.
        """
        arrays = self._arrays
        users, kinds, producers = arrays.users, arrays.kinds, arrays.producers
        lo, hi = (arrays.offsets[i], arrays.offsets[i + 1]) if i < len(arrays.nodes) else (0, 0)
        dropped = self._dropped if i in self._touched else ()
        entries = [(producers[j], j, users[j], kinds[j]) for j in range(lo, hi) if producers[j] not in dropped]
        extra = self._extra.get(i)
        if extra is not None:
            entries += extra
            entries.sort(key=lambda entry: (entry[0], entry[1]))
        return [(user, kind) for _, _, user, kind in entries]

    def _user_ids(self, i: int) -> Iterable[int]:
        """The numbers of the nodes that use node ``i``, in the order of a full build."""
        if i in self._extra or i in self._touched:
            return [user for user, _ in self._ordered(i)]
        if i >= len(self._arrays.nodes):
            return ()
        offsets = self._arrays.offsets
        return self._arrays.users[offsets[i] : offsets[i + 1]]  # the common case: no merging

    def _int_walk(self, start: Iterable[str], stop: bool) -> dict[int, int]:
        is_name = self._is_name
        reached: dict[int, int] = {}
        for name in start:
            reached.setdefault(self._number(name), -1)
        queue: deque[int] = deque(reached)
        user_ids = self._user_ids
        while queue:
            node = queue.popleft()
            if stop and is_name[node]:
                continue
            for user in user_ids(node):
                if user not in reached and not (stop and is_name[user]):
                    reached[user] = node
                    queue.append(user)
        return reached

    def _names(self, reached: dict[int, int]) -> dict[str, str | None]:
        names = self._all
        return {names[node]: (names[parent] if parent >= 0 else None) for node, parent in reached.items()}


#: edge kinds by number, as snapshots store them
_KINDS = tuple(EdgeKind)
KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}


@dataclass(frozen=True, slots=True)
class PackedEdges:
    """Edges sorted by the node they point at: ``users[offsets[i]:offsets[i + 1]]`` use ``nodes[i]``."""

    nodes: list[str]
    offsets: Sequence[int]
    users: Sequence[int]  #: indexes into ``nodes``
    kinds: Sequence[int]  #: indexes into ``EdgeKind``
    producers: Sequence[int]

    @classmethod
    def pack(cls, edges: Iterable[tuple[int, Edge]]) -> PackedEdges:
        """Number the nodes and sort the edges by the node used (stable: producer order is kept)."""
        index: dict[str, int] = {}
        used_ids, user_ids, kinds, producers = array("I"), array("I"), array("B"), array("I")
        for producer, edge in edges:
            used = index.get(edge.used)
            if used is None:
                used = index[edge.used] = len(index)
            user = index.get(edge.user)
            if user is None:
                user = index[edge.user] = len(index)
            used_ids.append(used)
            user_ids.append(user)
            kinds.append(KIND_CODES[edge.kind])
            producers.append(producer)
        # A counting sort by the node used: offsets first, then each edge into its slot.
        counts = [0] * (len(index) + 1)
        for used in used_ids:
            counts[used + 1] += 1
        offsets = array("I", itertools.accumulate(counts))
        slot = list(offsets[:-1])
        order = [0] * len(used_ids)
        for position, used in enumerate(used_ids):
            order[slot[used]] = position
            slot[used] += 1
        return cls(
            nodes=list(index),
            offsets=offsets,
            users=array("I", [user_ids[i] for i in order]),
            kinds=array("B", [kinds[i] for i in order]),
            producers=array("I", [producers[i] for i in order]),
        )
