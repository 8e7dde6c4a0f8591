"""Explanations: an ``Analysis`` -> why a test was (or was not) selected, and the picture of it.

``why`` prints the chain from a changed symbol to the test, one link a line,
with the file and line of each symbol and the kind of each edge (call, import,
fixture, base class, name fallback, ...). ``render_graph`` draws the changed
symbols, the paths and the selected tests as Graphviz dot, JSON, or one
self-contained HTML page.
"""

from __future__ import annotations

import html
import itertools
import json

from impactsel.collect import TEST_PREFIX
from impactsel.model import MODULE_QUALNAME
from impactsel.pipeline import Analysis

_EDGE_WORDS = {
    "uses": "uses (call or reference)",
    "import": "imports",
    "module": "runs after the top-level code of",
    "inherit": "is made of / inherits",
    "name": "may call (any definition of that name)",
    "fixture": "requests fixture",
    "test": "runs",
    "write": "is filled by",
    "check": "compares with (isinstance, except)",
    "binding": "needs the name bound (f.__doc__ = ..., f.__name__)",
}


def why(analysis: Analysis, nodeid: str) -> tuple[bool, str]:
    """(affected?, text) for one test node id."""
    selection = analysis.selection
    nodeid = nodeid.strip()
    known = {item.nodeid for item in analysis.items}
    if selection.run_all:
        return True, f"{nodeid}: selected, with every test: {selection.run_all}\n"
    match = _match(nodeid, known)
    if match is None:
        return False, f"{nodeid}: no such test among the {len(known)} impactsel collects (check the id)\n"
    node = TEST_PREFIX + match
    if node not in analysis.reached:
        changed = ", ".join(c.id for c in selection.changed[:5]) or "nothing"
        more = f" (and {len(selection.changed) - 5} more)" if len(selection.changed) > 5 else ""
        return False, (
            f"{match}: not affected. It reaches none of the changed symbols ({changed}{more}): "
            "no call, import, fixture, base class or name it uses leads to them.\n"
        )
    chain = analysis.graph.chain(analysis.reached, node)
    lines = [f"{match}: affected"]
    for used, user in itertools.pairwise(chain):
        kind = analysis.graph.edge_kind(user, used)
        word = _EDGE_WORDS.get(kind.value if kind else "", "depends on")
        lines.append(f"  {_describe(analysis, user)}\n      {word} {_describe(analysis, used)}")
    first = chain[0]
    cause = next((c for c in selection.changed if c.id == first), None)
    if cause is not None:
        lines.append(f"  {first} was {cause.cause.value} ({cause.path})")
    return True, "\n".join(lines) + "\n"


def render_graph(analysis: Analysis, output_format: str) -> str:
    """The changed symbols, every path to a selected test, and the tests."""
    nodes, edges = _subgraph(analysis)
    if output_format == "json":
        return json.dumps({"nodes": nodes, "edges": edges}, indent=2) + "\n"
    if output_format == "dot":
        return _dot(nodes, edges)
    return _html(nodes, edges)


# Private


def _match(nodeid: str, known: set[str]) -> str | None:
    if nodeid in known:
        return nodeid
    base = nodeid.split("[", 1)[0]  # a parametrized id: its function's item
    return base if base in known else None


def _describe(analysis: Analysis, node: str) -> str:
    if node.startswith(TEST_PREFIX):
        return f"test {node[len(TEST_PREFIX) :]}"
    if node.startswith("name:"):
        return f"any .{node[5:]} (unknown receiver)"
    module, _, qualname = node.partition(":")
    where = ""
    for source in analysis.project.sources(module):
        sym = analysis.project.symbol(node)
        line = f":{sym.line}" if sym is not None and sym.line else ""
        where = f" ({source.path}{line})"
        break
    label = f"module {module} (top-level code)" if qualname == MODULE_QUALNAME else node
    return label + where


def _subgraph(analysis: Analysis) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Every node on some path from a changed symbol to a selected test, and the edges between them."""
    import networkx as nx

    graph = analysis.graph.to_networkx()
    changed = {c.id for c in analysis.selection.changed}
    tests = [TEST_PREFIX + t.nodeid for t in analysis.selection.tests if TEST_PREFIX + t.nodeid in graph]
    graph.add_edges_from(("<selected>", test) for test in tests)
    downstream = nx.descendants(graph, "<selected>") if tests else set()
    keep = (set(analysis.reached) & downstream) | changed
    sub = graph.subgraph(keep)
    nodes = [{"id": n, "role": _role(n, changed)} for n in sorted(keep)]
    edges = [{"from": u, "to": v, "kind": d["kind"].value} for u, v, d in sorted(sub.edges(data=True))]
    return nodes, edges


def _role(node: str, changed: set[str]) -> str:
    if node in changed:
        return "changed"
    if node.startswith(TEST_PREFIX):
        return "test"
    return "symbol"


def _dot(nodes: list[dict[str, str]], edges: list[dict[str, str]]) -> str:
    styles = {"changed": 'style=filled fillcolor="#f4a3a3"', "test": 'shape=box style=filled fillcolor="#b8e0b8"'}
    lines = ["digraph impactsel {", "  rankdir=LR;", '  node [shape=ellipse fontname="Helvetica"];']
    for node in nodes:
        lines.append(f"  {json.dumps(node['id'])} [{styles.get(node['role'], '')}];")
    for edge in edges:
        lines.append(f"  {json.dumps(edge['to'])} -> {json.dumps(edge['from'])} [label={json.dumps(edge['kind'])}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _html(nodes: list[dict[str, str]], edges: list[dict[str, str]]) -> str:
    """One self-contained page: a table per changed symbol of what it reaches, no scripts from elsewhere."""
    users: dict[str, list[tuple[str, str]]] = {}
    for edge in edges:
        users.setdefault(edge["to"], []).append((edge["from"], edge["kind"]))
    roles = {n["id"]: n["role"] for n in nodes}

    def tree(node: str, seen: frozenset[str]) -> str:
        children = [c for c in sorted(users.get(node, [])) if c[0] not in seen]
        items = "".join(
            f"<li><span class='{roles.get(c, 'symbol')}'>{html.escape(c)}</span>"
            f" <em>({html.escape(k)})</em>{tree(c, seen | {c})}</li>"
            for c, k in children
        )
        return f"<ul>{items}</ul>" if items else ""

    sections = "".join(
        f"<section><h2 class='changed'>{html.escape(n['id'])}</h2>{tree(n['id'], frozenset({n['id']}))}</section>"
        for n in nodes
        if n["role"] == "changed"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>impactsel</title><style>"
        "body{font-family:sans-serif;margin:2em}ul{list-style:none;border-left:1px solid #ccc;padding-left:1em}"
        ".changed{color:#a00}.test{color:#070;font-weight:bold}em{color:#777}"
        "</style></head><body><h1>What the change reaches</h1>"
        f"{sections or '<p>No changed symbol reaches a test.</p>'}</body></html>\n"
    )
