"""The state machine's graph, laid out on the server from its ASL file and coloured by an execution.

A simple layered layout, top to bottom as in the Step Functions console: each state sits one
layer below the deepest state that leads to it (edges that loop back, such as a Wait that
returns to an earlier state, are left out of the layering); a Map state is a box holding its
own states' layout. The SVG is built by the page's template from :class:`Graph` (numbers and
names only), so every name is escaped there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The Step Functions console's words for a state's status, and its colours (fill, stroke).
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "Succeeded": ("#e9f7ea", "#037f0c"),
    "Failed": ("#fdeaea", "#d91515"),
    "Caught error": ("#fff3e0", "#d86613"),
    "In progress": ("#e8f2fd", "#0972d3"),
    "Not reached": ("#ffffff", "#8c8c94"),
}

NODE_W = 170
NODE_H = 34
GAP_X = 26
GAP_Y = 30
PAD = 16  # inside a Map box
HEAD = 22  # a Map box's title band


@dataclass
class Node:
    name: str
    type: str
    x: float = 0
    y: float = 0
    w: float = NODE_W
    h: float = NODE_H
    status: str = "Not reached"
    children: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)  # a Map's own edges

    @property
    def fill(self) -> str:
        return STATUS_STYLE[self.status][0]

    @property
    def stroke(self) -> str:
        return STATUS_STYLE[self.status][1]


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # "next", "choice", "catch", "back"
    points: list[tuple[float, float]] = field(default_factory=list)
    taken: bool = False  # the execution went along it
    #: A Catch that skips layers runs down the left gutter at this x, not through the states between.
    lane: float | None = None

    @property
    def path(self) -> str:
        (x1, y1), (x2, y2) = self.points[0], self.points[-1]
        if self.kind == "back":
            side = max(x1, x2) + NODE_W / 2 + 18
            return f"M{x1 + NODE_W / 2:.1f},{y1 - NODE_H / 2:.1f} C{side:.1f},{y1:.1f} {side:.1f},{y2:.1f} {x2 + NODE_W / 2:.1f},{y2 + NODE_H / 2:.1f}"
        if self.lane is not None:
            return f"M{x1:.1f},{y1:.1f} H{self.lane:.1f} V{y2 - 10:.1f} H{x2:.1f} V{y2:.1f}"
        mid = (y1 + y2) / 2
        return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    width: float
    height: float

    def all_nodes(self) -> list[Node]:
        out: list[Node] = []
        stack = list(self.nodes)
        while stack:
            node = stack.pop(0)
            out.append(node)
            stack.extend(node.children)
        return out


def _targets(state: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(state.get("Next"), str):
        out.append((state["Next"], "next"))
    for choice in state.get("Choices") or []:
        if isinstance(choice.get("Next"), str):
            out.append((choice["Next"], "choice"))
    if isinstance(state.get("Default"), str):
        out.append((state["Default"], "choice"))
    for catch in state.get("Catch") or []:
        if isinstance(catch.get("Next"), str):
            out.append((catch["Next"], "catch"))
    return out


def _layout(definition: dict[str, Any]) -> tuple[list[Node], list[Edge], float, float]:
    """Lay out one level of states (a state machine, or a Map's states) from (0, 0)."""
    states: dict[str, dict[str, Any]] = definition.get("States") or {}
    start = definition.get("StartAt")
    # Depth-first from StartAt, in the file's order, to find the edges that loop back.
    order: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()
    back: set[tuple[str, str]] = set()

    def visit(name: str) -> None:
        if name in done or name not in states:
            return
        on_path.add(name)
        for target, _ in _targets(states[name]):
            if target in on_path:
                back.add((name, target))
            else:
                visit(target)
        on_path.discard(name)
        done.add(name)
        order.append(name)

    if isinstance(start, str):
        visit(start)
    for name in states:  # states no path reaches are drawn too
        visit(name)
    order.reverse()  # a topological order of the edges that go forward
    layer: dict[str, int] = {name: 0 for name in order}
    for name in order:
        for target, _ in _targets(states[name]):
            if (name, target) not in back and target in layer:
                layer[target] = max(layer[target], layer[name] + 1)

    nodes: dict[str, Node] = {}
    for name in order:
        state = states[name]
        node = Node(name=name, type=str(state.get("Type", "")))
        inner = state.get("ItemProcessor") or state.get("Iterator")
        if node.type == "Map" and isinstance(inner, dict):
            children, inner_edges, inner_w, inner_h = _layout(inner)
            for child in children:
                _shift(child, PAD, PAD + HEAD)
            for edge in inner_edges:
                edge.points = [(x + PAD, y + PAD + HEAD) for x, y in edge.points]
            node.children, node.edges = children, inner_edges
            node.w, node.h = max(NODE_W, inner_w + 2 * PAD), inner_h + 2 * PAD + HEAD
        nodes[name] = node

    # Rows: each layer's states side by side, centred on the widest layer.
    rows: dict[int, list[Node]] = {}
    for name in order:
        rows.setdefault(layer[name], []).append(nodes[name])
    row_width = {i: sum(n.w for n in row) + GAP_X * (len(row) - 1) for i, row in rows.items()}
    width = max(row_width.values(), default=NODE_W)
    predecessors: dict[str, list[str]] = {name: [] for name in order}
    for name in order:
        for target, _ in _targets(states[name]):
            if (name, target) not in back and target in predecessors:
                predecessors[target].append(name)
    centre: dict[str, float] = {}
    y = 0.0
    for i in sorted(rows):
        # Each row ordered by where the states leading to it stand (fewer crossing edges).
        rank = {n.name: k for k, n in enumerate(rows[i])}
        rows[i].sort(
            key=lambda n: (
                sum(centre[p] for p in predecessors[n.name] if p in centre)
                / max(1, sum(1 for p in predecessors[n.name] if p in centre))
                if any(p in centre for p in predecessors[n.name])
                else width / 2,
                rank[n.name],
            )
        )
        x = (width - row_width[i]) / 2
        height = max(n.h for n in rows[i])
        for node in rows[i]:
            _shift(node, x, y)
            centre[node.name] = node.x + node.w / 2
            x += node.w + GAP_X
        y += height + GAP_Y
    edges: list[Edge] = []
    for name in order:
        source = nodes[name]
        for target, kind in _targets(states[name]):
            if target not in nodes:
                continue
            dest = nodes[target]
            if kind == "catch" and layer[target] - layer[name] > 1:
                edge = Edge(
                    name, target, kind, [(source.x, source.y + source.h / 2), (dest.x + dest.w / 2, dest.y)]
                )
                edge.lane = 0.0
                edges.append(edge)
            elif (name, target) in back:
                edges.append(
                    Edge(
                        name,
                        target,
                        "back",
                        [(source.x, source.y + source.h / 2), (dest.x, dest.y + dest.h / 2)],
                    )
                )
            else:
                edges.append(
                    Edge(
                        name,
                        target,
                        kind,
                        [(source.x + source.w / 2, source.y + source.h), (dest.x + dest.w / 2, dest.y)],
                    )
                )
    return list(nodes.values()), edges, width, max(y - GAP_Y, NODE_H)


def _shift(node: Node, dx: float, dy: float) -> None:
    node.x += dx
    node.y += dy
    for child in node.children:
        _shift(child, dx, dy)
    for edge in node.edges:
        edge.points = [(x + dx, y + dy) for x, y in edge.points]


def build_graph(definition: dict[str, Any]) -> Graph:
    nodes, edges, width, height = _layout(definition)
    margin, gutter = 10.0, 24.0
    for node in nodes:
        _shift(node, margin + gutter, margin)
    for edge in edges:
        edge.points = [(x + margin + gutter, y + margin) for x, y in edge.points]
        if edge.lane is not None:
            edge.lane = margin + 4
    return Graph(nodes=nodes, edges=edges, width=width + 2 * margin + gutter + 60, height=height + 2 * margin)


def load_definition(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def state_statuses(events: list[dict[str, Any]], execution_status: str) -> dict[str, str]:
    """Each state's status in the Step Functions console's words, from the execution's history.

    A state whose task failed and whose error a Catch handled is "Caught error"; a Fail state
    reached, or a state still open when the execution failed, is "Failed"; a state entered and
    not yet left in a running execution is "In progress".
    """
    status: dict[str, str] = {}
    open_states: list[str] = []
    failed_inside: set[str] = set()
    for event in events:
        kind = str(event.get("type", ""))
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if kind.endswith("StateEntered") and isinstance(entered, dict):
            name = str(entered.get("name"))
            status[name] = "Failed" if kind == "FailStateEntered" else "In progress"
            open_states.append(name)
            failed_inside.discard(name)
        elif kind.endswith("StateExited") and isinstance(exited, dict):
            name = str(exited.get("name"))
            if status.get(name) != "Failed":
                status[name] = "Caught error" if name in failed_inside else "Succeeded"
            if name in open_states:
                open_states.remove(name)
        elif kind.endswith("Failed") and kind != "ExecutionFailed" and open_states:
            failed_inside.add(open_states[-1])
    for name in open_states:
        if status.get(name) == "In progress" and execution_status not in ("RUNNING", ""):
            status[name] = "Failed" if execution_status == "FAILED" else "Succeeded"
    return status


def transitions(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The (from, to) pairs of states the execution went along, in the order it entered them."""
    taken: set[tuple[str, str]] = set()
    previous: str | None = None
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if str(event.get("type", "")).endswith("StateEntered") and isinstance(details, dict):
            name = str(details.get("name"))
            if previous is not None:
                taken.add((previous, name))
            previous = name
    return taken


def colour(graph: Graph, statuses: dict[str, str], taken: set[tuple[str, str]] | None = None) -> Graph:
    """Each state's status; a distributed Map's states take their Map's (their events are in the
    Map Run's child executions, not in this history)."""

    def paint(nodes: list[Node], inherited: str | None) -> None:
        for node in nodes:
            node.status = statuses.get(node.name) or inherited or "Not reached"
            paint(node.children, node.status if node.status != "Not reached" else None)

    paint(graph.nodes, None)
    for edge in graph.edges:
        edge.taken = (edge.source, edge.target) in (taken or set())
    return graph
