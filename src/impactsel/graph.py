"""③ The symbol graph: edges ``user -> used`` -> who is affected by a change.

An edge points from a symbol to what it uses, so the symbols affected by a
change are the change's ancestors: one multi-source reverse breadth-first walk
finds them all, and remembers for each node the neighbour it was reached from so
that the chain from a changed symbol to a test can be shown.

The graph is kept as arrays of node numbers (as a snapshot stores them) and the
walks run on those numbers: building a networkx graph of a large project costs
seconds and importing networkx a few tenths, which a warm run cannot afford.
``to_networkx`` hands the same graph to networkx for the analyses that want it
(drawing the paths, ``impactsel graph``); it is the only place that imports networkx.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from impactsel.resolve import Edge, EdgeKind, module_of, owner_guard

if TYPE_CHECKING:
    import networkx as nx

NAME_PREFIX = "name:"
MODULE_SUFFIX = ":<module>"
TEST_NODE_PREFIX = "test:"
DOC_SUFFIX = ".__doc__"


class SymbolGraph:
    """A directed graph of symbol ids; an edge ``user -> used`` means "user uses used".

    It is kept as arrays (as a full build packs them, or a snapshot stores them),
    with some producers' edges replaced. Every edge carries the number of the code
    that produced it (a module, the project-wide edges, a test module's items). The
    edges of the producers in ``dropped`` are ignored and ``overlay`` (edges made
    anew, with their producer) takes their place; a node's users are merged in
    producer order, so that where two edges join the same nodes the first one's kind
    wins, exactly as in a graph built from all edges in that order.
    """

    def __init__(
        self,
        arrays: PackedEdges,
        dropped: set[int],
        overlay: Iterable[tuple[int, Edge]],
        unimportable: frozenset[str] = frozenset(),
    ) -> None:
        #: modules that no test can import: no name-fallback edge leads into them
        self.unimportable = unimportable
        self._arrays = arrays
        self._dropped = dropped
        #: every node by number: the snapshot's, then the overlay's new ones
        self._all = list(arrays.nodes)
        self._index = dict(zip(self._all, range(len(self._all)), strict=True))
        self._is_name = bytearray(map(str.startswith, self._all, itertools.repeat(NAME_PREFIX)))
        #: used -> (producer, sequence, user, kind code) of the overlay's edges
        self._extra: dict[int, list[tuple[int, int, int, int]]] = {}
        for seq, (producer, edge) in enumerate(overlay):
            used, user = self._number(edge.used), self._number(edge.user)
            self._extra.setdefault(used, []).append((producer, seq, user, KIND_CODES[edge.kind]))
        # The nodes some of whose edges a dropped producer made: only theirs are filtered.
        self._touched = _nodes_with_edges_of(arrays, dropped)
        self._memo: dict[str, dict[str, EdgeKind]] = {}
        self._unimportable_memo: dict[int, bool] = {}

    @classmethod
    def empty(cls) -> SymbolGraph:
        """A graph with no edges."""
        return cls(PackedEdges.pack(()), set(), ())

    def edge_kind(self, user: str, used: str) -> EdgeKind | None:
        return self.users(used).get(user)

    def users(self, node: str) -> Mapping[str, EdgeKind]:
        """The nodes with an edge to ``node``, and the kind of each edge."""
        found = self._memo.get(node)
        if found is None:
            found = {}
            i = self._index.get(node)
            if i is not None:
                names = self._all
                for user, kind in zip(*self._user_kinds(i), strict=True):
                    found.setdefault(names[user], _KINDS[kind])  # the first edge between two nodes wins
            self._memo[node] = found
        return found

    def nodes_used(self) -> Iterable[str]:
        """Every node of the graph."""
        return sorted(self._all)

    # The walks run on node numbers and kind codes, not on names.

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
        return self._names(self._int_walk(changed, stop=False))

    def find_affected(
        self,
        changed: Iterable[str],
        guard: Callable[[str], str],
        tests: Iterable[str] | None = None,
        kept: Iterable[str] = (),
    ) -> dict[str, str | None]:
        """Like ``find_upstream``, with name-fallback edges pruned by reachability.

        An edge ``name:m -> C.m`` stands for "some object whose type we do not know
        has its ``m`` called". A test can only hold an instance of ``C`` if it
        reaches ``C`` (it, or code it runs, names the class), so a test reached
        through ``name:m`` from a changed ``C.m`` is kept only when it also uses
        ``guard(C.m)``: the owning class (or module, for a function). ``tests``: the
        test nodes, when known (the walk ends once all of them are reached). ``kept``:
        the changed functions whose name is still bound the same way (see ``affected_walk``).
        """
        changed = list(changed)
        reached = self._walk(changed, kept)
        # With the test nodes known, stop as soon as every one of them is reached.
        pending = None if tests is None else {t for t in tests if t not in reached}
        if pending is not None and not pending:
            return reached
        conditional: dict[str, set[str]] = {}
        for node in changed:
            if not node.startswith(NAME_PREFIX):
                continue  # a deleted definition's own node is seeded beside its name node
            module_qualname = [c for c in changed if c.rpartition(".")[2].rpartition(":")[2] == node[5:]]
            conditional.setdefault(node, set()).update(c for c in module_qualname if not c.startswith(NAME_PREFIX))
        for user, node in self._name_users(reached):
            conditional.setdefault(user, set()).add(node)
        holders: dict[str, set[str]] = {}  # guard -> the tests that reach it (each walked once)

        def able(definition: str) -> set[str]:
            """The tests that can hold an object whose attribute ``definition`` is."""
            owner = guard(definition)
            key = owner
            if definition.endswith(DOC_SUFFIX) and "." in owner.partition(":")[2]:
                # A method's docstring, read as obj.m.__doc__: who holds an instance of
                # the class and reaches the method (or an attribute of its name).
                key = owner + DOC_SUFFIX
                if key not in holders:
                    users = self.find_upstream([owner])
                    holders[key] = {n for n in able(owner) if n in users}
            elif key not in holders:
                holders[key] = {n for n in self._guard_walk(owner) if n.startswith(TEST_NODE_PREFIX)}
            return holders[key]

        for name, definitions in sorted(conditional.items()):
            if pending is not None and not pending:
                break
            from_name = self.find_upstream([name])
            candidates = [n for n in from_name if n.startswith(TEST_NODE_PREFIX) and n not in reached]
            if not candidates:
                continue  # every test this name leads to is selected already: no guard to walk
            able_sets = [able(d) for d in sorted(definitions)]
            for node in candidates:
                if not able_sets or any(node in tests_able for tests_able in able_sets):
                    self._adopt(reached, from_name, node, name, min(definitions) if definitions else None)
                    if pending is not None:
                        pending.discard(node)
        return reached

    def _guard_walk(self, guard: str) -> dict[str, str | None]:
        """The nodes that can hold ``guard`` as a value.

        For a class, whatever uses it, except that:

        - importing a module does not hand out the objects its top-level code makes:
          the walk does not go from a module node to the modules that import it (a
          member that holds such an object still leads to its users);
        - comparing with a class (``isinstance(x, C)``, ``except C``) does not make one;
        - a class member reached through a name-fallback node (``obj.m()`` on an
          object of unknown type) or the implicit-dunder node (``x(...)``,
          ``repr(x)``, ``with x``) leads on to its own class, not to every caller of
          that name: only who holds the class or an instance of it runs the member,
          and so makes what the member makes.

        For a module, whatever uses the module object itself: not its own members
        (they point at their module) and not other modules importing from it.
        """
        if not guard.endswith(MODULE_SUFFIX):

            def users(node: str) -> tuple[list[str], list[EdgeKind]]:
                member = "." in node.partition(":")[2]
                ids, kinds = [], []
                for user, kind in self.users(node).items():
                    if member and user.startswith(NAME_PREFIX):
                        user, kind = owner_guard(node), EdgeKind.USES
                    elif kind in (EdgeKind.CHECK, EdgeKind.BINDING) or _imports_module(user, node, kind):
                        continue
                    ids.append(user)
                    kinds.append(kind)
                return ids, kinds

            return affected_walk([guard], users, _is_member, _WALK_KINDS)
        holders = [
            user
            for user, kind in self.users(guard).items()
            if kind is not EdgeKind.MODULE and not user.endswith(MODULE_SUFFIX)
        ]
        return self.find_upstream(holders)

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

    # The walks run on node numbers and kind codes, not on names.

    def _walk(self, changed: Iterable[str], kept: Iterable[str]) -> dict[str, str | None]:
        """``find_upstream`` that neither enters nor leaves name-fallback nodes."""
        return self._names(self._int_walk(changed, stop=True, kept=kept))

    def _name_users(self, nodes: Iterable[str]) -> list[tuple[str, str]]:
        """(name-fallback node, node) for each edge from a name node to one of ``nodes``."""
        found = []
        is_name, index, names = self._is_name, self._index, self._all
        for node in list(nodes):
            i = index.get(node)
            if i is not None:
                found += [(names[j], node) for j in self._user_kinds(i)[0] if is_name[j]]
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

    def _in_unimportable(self, i: int) -> bool:
        """Node ``i`` is defined in a module no test can import (name-fallback edges to it are cut)."""
        if not self.unimportable:
            return False
        found = self._unimportable_memo.get(i)
        if found is None:
            found = self._unimportable_memo[i] = module_of(self._all[i]) in self.unimportable
        return found

    def _int_walk(self, start: Iterable[str], stop: bool, kept: Iterable[str] = ()) -> dict[int, int | None]:
        starts = dict.fromkeys(self._number(name) for name in start)
        names = self._all

        def is_member(user: int, used: int) -> bool:
            return _is_member(names[user], names[used])

        return affected_walk(
            starts,
            self._user_kinds,
            is_member,
            (
                KIND_CODES[EdgeKind.CHECK],
                KIND_CODES[EdgeKind.INHERIT],
                KIND_CODES[EdgeKind.IMPORT],
                KIND_CODES[EdgeKind.BINDING],
            ),
            blocked=self._is_name if stop else None,
            kept=[self._number(name) for name in kept],
        )

    def _user_kinds(self, i: int) -> tuple[Sequence[int], Sequence[int]]:
        """The numbers of the nodes that use node ``i`` and the kind codes of those edges."""
        if i in self._extra or i in self._touched:
            pairs = self._ordered(i)
            ids: Sequence[int] = [user for user, _ in pairs]
            kinds: Sequence[int] = [kind for _, kind in pairs]
        elif i >= len(self._arrays.nodes):
            return (), ()
        else:
            lo, hi = self._arrays.offsets[i], self._arrays.offsets[i + 1]
            ids, kinds = self._arrays.users[lo:hi], self._arrays.kinds[lo:hi]
        if self._in_unimportable(i):
            is_name = self._is_name
            keep = [j for j, user in enumerate(ids) if not is_name[user]]
            ids, kinds = [ids[j] for j in keep], [kinds[j] for j in keep]
        return ids, kinds

    def _names(self, reached: dict[int, int | None]) -> dict[str, str | None]:
        names = self._all
        return {names[node]: (names[parent] if parent is not None else None) for node, parent in reached.items()}


def _imports_module(user: str, used: str, kind: EdgeKind) -> bool:
    return kind is EdgeKind.IMPORT and used.endswith(MODULE_SUFFIX) and user.endswith(MODULE_SUFFIX)


N = TypeVar("N")
K = TypeVar("K")

#: The members whose change can change what ``isinstance(x, C)`` answers.
_TYPE_TEST_DUNDERS = frozenset({"__instancecheck__", "__subclasscheck__", "__subclasshook__"})


def _is_member(user: str, used: str) -> bool:
    """``used`` is part of class ``user``'s body (not one that type tests call)."""
    return (
        used.startswith(user)
        and used[len(user) : len(user) + 1] == "."
        and used.rpartition(".")[2] not in _TYPE_TEST_DUNDERS
    )


def affected_walk(
    start: Iterable[N],
    users: Callable[[N], tuple[Sequence[N], Sequence[K]]],
    is_member: Callable[[N, N], bool],
    kinds: tuple[K, K, K, K],
    blocked: Sequence[int] | None = None,
    kept: Iterable[N] = (),
) -> dict[N, N | None]:
    """The reverse breadth-first walk: every node that uses a start node, directly or not.

    ``users(node)``: the nodes with an edge to ``node`` and the kinds of those edges,
    as two parallel sequences. ``blocked``: by node number, the nodes the walk neither
    enters nor leaves. Returns node -> the node it was first reached from (None for
    the start nodes).

    One refinement: ``isinstance(x, C)``, ``except C`` and ``C.attr = v`` (the
    ``check`` edges of ``kinds = (check, inherit, import)``) depend on what the name
    ``C`` is bound to, not on what it is made of. A class reached only as *made of*
    a changed member (an ``inherit`` edge to its method, attribute or nested
    class), a subclass of such a class, a function whose code alone changed
    (``kept``), or a name imported from one of those, keeps its ``check`` users
    back; they are released as soon as it is reached any other way (its own
    statement changed, its decorator or metaclass did, ...).

    A ``binding`` edge (``kinds[3]``) is a check on an undecorated function: only a
    change to that function itself can change what its name is bound to, so the walk
    takes it from a start node only (and holds it back like a check when the function's
    code alone changed).
    """
    check, inherit, import_, binding = kinds
    reached: dict[N, N | None] = dict.fromkeys(start)
    starts = set(reached)
    queue: deque[N] = deque(reached)
    partial: set[N] = {node for node in kept if node in reached}  # their binding stays
    held: dict[N, list[N]] = {}  # partial node -> the check users it keeps back

    def upgrade(first: N) -> None:
        stack = [first]
        while stack:
            node = stack.pop()
            if node not in partial:
                continue
            partial.discard(node)
            for user in held.pop(node, ()):
                if user not in reached:
                    reached[user] = node
                    queue.append(user)
                elif user in partial:
                    stack.append(user)
            ids, codes = users(node)
            stack += [
                u
                for u, k in zip(ids, codes, strict=True)
                if u in partial and (k == import_ or (k == inherit and not is_member(u, node)))
            ]

    def soft(kind: K, user: N, node: N, node_partial: bool) -> bool:
        """The edge ``user -> node`` leaves the user's binding as it is, when node's stays."""
        if kind == inherit:
            return node_partial or is_member(user, node)
        return kind == import_ and node_partial

    while queue:
        node = queue.popleft()
        if blocked is not None and blocked[node]:  # type: ignore[index]
            continue
        ids, codes = users(node)
        node_partial = node in partial
        for user, kind in zip(ids, codes, strict=True):
            if kind == binding:
                if node not in starts:
                    continue
                kind = check
            if user in reached:
                if partial and user in partial:
                    if kind == check and node_partial:
                        held.setdefault(node, []).append(user)
                    elif not soft(kind, user, node, node_partial):
                        upgrade(user)
                continue
            if blocked is not None and blocked[user]:  # type: ignore[index]
                continue
            if kind == check and node_partial:
                held.setdefault(node, []).append(user)
                continue
            reached[user] = node
            queue.append(user)
            if kind == inherit:  # soft(), inline: this line runs for every node reached
                if node_partial or is_member(user, node):
                    partial.add(user)
            elif kind == import_ and node_partial:
                partial.add(user)
    return reached


_WALK_KINDS = (EdgeKind.CHECK, EdgeKind.INHERIT, EdgeKind.IMPORT, EdgeKind.BINDING)


def _nodes_with_edges_of(arrays: PackedEdges, producers: set[int]) -> set[int]:
    """The nodes that some of these producers' edges point at.

    ``array.index`` scans in C: one or two dropped producers (a body edit) cost as
    many passes over the edges, not a Python loop over all of them; more take the loop.
    """
    offsets, made_by = arrays.offsets, arrays.producers
    if len(producers) > 2:
        return {bisect.bisect_right(offsets, j) - 1 for j, p in enumerate(made_by) if p in producers}
    found: set[int] = set()
    for producer in producers:
        at = -1
        while True:
            try:
                at = made_by.index(producer, at + 1)  # type: ignore[call-arg]
            except ValueError:
                break
            found.add(bisect.bisect_right(offsets, at) - 1)
    return found


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
        # Arrays, not lists, throughout: a list of a million edge numbers costs 36 MB.
        counts = array("I", bytes(4 * (len(index) + 1)))
        for used in used_ids:
            counts[used + 1] += 1
        offsets = array("I", itertools.accumulate(counts))
        del counts
        slot = offsets[:-1]
        order = array("I", bytes(4 * len(used_ids)))
        for position, used in enumerate(used_ids):
            order[slot[used]] = position
            slot[used] += 1
        del slot, used_ids
        return cls(
            nodes=list(index),
            offsets=offsets,
            users=array("I", (user_ids[i] for i in order)),
            kinds=array("B", (kinds[i] for i in order)),
            producers=array("I", (producers[i] for i in order)),
        )
