"""Inventory -> a Mermaid ``flowchart LR`` of the components and their imports, readable on large repositories.

How the picture is reduced, in order:

1. Only production edges are drawn (``Edge.test_only`` ones are in the JSON, not here).
2. Each import cycle (a strongly connected component of more than one component) becomes one node, labelled
   with its largest member and its members' count, outlined red; the edges inside it are not drawn.
3. Nodes (cycles and single components) are ranked by importance: their share of all import weight (edge
   counts in and out) plus their share of all lines. The ``top_n`` most important get their own node, so a
   small package everything imports (``go/analysis``) is drawn before a large folder nothing imports.
4. The rest are grouped by parent folder into at most ``MAX_GROUPS`` "N small components" nodes (groups
   with no edge to draw are left out).
5. Only the ``max_edges`` heaviest arrows (import counts, summed between nodes) are kept.

``Diagram.caption`` says what was left out ("12 of 174 components and 40 of 99 edges shown; 3 cycles
collapsed"); reports print it under the diagram. Node ids are generated (``n0``, ``n1``, ...), and every label
character outside a small safe set is written as a Mermaid entity code (``#34;``), so no component name can
break or inject into the diagram.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass

from repo_auditor.architecture.graph import find_cycles
from repo_auditor.architecture.model import Component, Inventory
from repo_auditor.errors import ConfigurationError

# Names longer than this are shortened with a visible "…" so nodes stay readable.
MAX_LABEL_CHARS = 60
CYCLE_STYLE = "stroke:#d62728,stroke-width:3px"
# More arrows than this and a flowchart is a hairball; the lightest are dropped (and counted in the caption).
MAX_EDGES = 24
# Nodes standing for several small components; more would crowd out the named ones.
MAX_GROUPS = 4

_SAFE = re.compile(r"[A-Za-z0-9 ._/:@+\-]")


def escape_label(text: str) -> str:
    """Text for inside a quoted Mermaid label: safe ASCII kept, everything else as ``#<code point>;``."""
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "\u2026"
    return "".join(ch if _SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


@dataclass(frozen=True)
class Diagram:
    """The flowchart source and the one-line caption saying what it leaves out."""

    text: str
    caption: str
    components: int  # components in the inventory
    components_shown: int  # in their own node or inside a collapsed cycle
    components_grouped: int  # inside a "small components" node
    edges: int  # production edges between components
    edges_shown: int  # represented by a drawn arrow
    cycles_collapsed: int


@dataclass
class _Unit:
    """One candidate node: a single component or a collapsed cycle."""

    members: list[Component]
    weight: int = 0  # import counts in and out, to or from other units

    @property
    def lines(self) -> int:
        return sum(c.code_lines + c.test_lines for c in self.members)

    @property
    def label(self) -> str:
        if len(self.members) == 1:
            return f"{self.members[0].name} ({self.lines} lines)"
        largest = max(self.members, key=lambda c: (c.code_lines + c.test_lines, c.name))
        return f"{largest.name} + {len(self.members) - 1} more (cycle of {len(self.members)}, {self.lines} lines)"

    @property
    def group_key(self) -> str:
        return posixpath.dirname(min(c.root for c in self.members))


def _check_limit(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, got {value!r}")


def diagram(inventory: Inventory, top_n: int = 12, max_edges: int = MAX_EDGES) -> Diagram:
    """The component graph reduced as the module docstring says, with its caption."""
    _check_limit("top_n", top_n)
    _check_limit("max_edges", max_edges)
    by_name = {c.name: c for c in inventory.components}
    production = [
        e for e in inventory.edges if not e.test_only and e.source != e.target and e.source in by_name and e.target in by_name
    ]
    cycles, _ = find_cycles(list(by_name), production)
    units: list[_Unit] = [_Unit([by_name[n] for n in cycle.components]) for cycle in cycles]
    unit_of = {c.name: i for i, unit in enumerate(units) for c in unit.members}
    for component in inventory.components:
        if component.name not in unit_of:
            unit_of[component.name] = len(units)
            units.append(_Unit([component]))

    between: dict[tuple[int, int], list] = defaultdict(list)  # (source unit, target unit) -> component edges
    for edge in production:
        source, target = unit_of[edge.source], unit_of[edge.target]
        if source != target:
            between[(source, target)].append(edge)
            units[source].weight += edge.count
            units[target].weight += edge.count
    total_weight = sum(u.weight for u in units) or 1
    total_lines = sum(u.lines for u in units) or 1

    def importance(index: int) -> tuple[float, int, str]:
        unit = units[index]
        return (-(unit.weight / total_weight + unit.lines / total_lines), -unit.lines, unit.members[0].name)

    ranked = sorted(range(len(units)), key=importance)
    node_of: dict[int, str] = {}  # unit index -> node id
    labels: list[str] = []
    for unit_index in [i for i in ranked if units[i].weight or units[i].lines][:top_n]:  # empty ones say nothing
        node_of[unit_index] = f"n{len(labels)}"
        labels.append(units[unit_index].label)

    group_of: dict[int, str] = {}  # hidden unit -> group key
    for unit_index in ranked:
        if unit_index not in node_of:
            group_of[unit_index] = units[unit_index].group_key
    group_weight: dict[str, int] = defaultdict(int)
    for (source, target), edges in between.items():
        ends = [group_of.get(source), group_of.get(target)]
        if ends.count(None) == 1:  # one end named, the other in a group
            group_weight[next(k for k in ends if k is not None)] += sum(e.count for e in edges)
    groups = sorted(group_weight, key=lambda k: (-group_weight[k], k))[:MAX_GROUPS]
    group_node = {}
    grouped_units = {i for i, key in group_of.items() if key in groups}
    for key in groups:
        members = sum(len(units[i].members) for i in grouped_units if group_of[i] == key)
        group_node[key] = f"n{len(labels)}"
        plural = "s" if members != 1 else ""
        labels.append(f"{key}/… {members} small component{plural}" if key else f"{members} small top-level component{plural}")

    def node(unit_index: int) -> str | None:
        if unit_index in node_of:
            return node_of[unit_index]
        return group_node.get(group_of[unit_index]) if unit_index in grouped_units else None

    arrows: dict[tuple[str, str], list] = defaultdict(list)
    for (source, target), edges in between.items():
        ends = (node(source), node(target))
        if ends[0] is not None and ends[1] is not None and ends[0] != ends[1]:
            arrows[ends].extend(edges)
    kept = sorted(arrows.items(), key=lambda item: (-sum(e.count for e in item[1]), _order(item[0])))[:max_edges]
    used = {n for ends, _ in kept for n in ends} | set(node_of.values())

    lines = ["flowchart LR"]
    for index, label in enumerate(labels):
        if f"n{index}" in used:
            lines.append(f'    n{index}["{escape_label(label)}"]')
    for (source, target), edges in sorted(kept, key=lambda item: _order(item[0])):
        lines.append(f'    {source} -->|"{sum(e.count for e in edges)}"| {target}')
    cycle_nodes = [node_of[i] for i in node_of if len(units[i].members) > 1]
    if cycle_nodes:
        lines.append(f"    classDef importCycle {CYCLE_STYLE}")
        lines.append(f"    class {','.join(cycle_nodes)} importCycle")

    shown = sum(len(units[i].members) for i in node_of)
    grouped = sum(len(units[i].members) for i in grouped_units if group_node[group_of[i]] in used)
    edges_shown = sum(len(edges) for _, edges in kept)
    caption = _caption(len(by_name), shown, grouped, len(production), edges_shown, len(cycles), inventory)
    return Diagram("\n".join(lines) + "\n", caption, len(by_name), shown, grouped, len(production), edges_shown, len(cycles))


def mermaid_graph(inventory: Inventory, top_n: int = 12, max_edges: int = MAX_EDGES) -> str:
    """The component graph as Mermaid flowchart source (no surrounding code fence)."""
    return diagram(inventory, top_n, max_edges).text


def _caption(components: int, shown: int, grouped: int, edges: int, edges_shown: int, cycles: int, inventory: Inventory) -> str:
    parts = [f"{shown} of {components} components and {edges_shown} of {edges} edges shown"]
    if grouped:
        parts.append(f"{grouped} small components grouped")
    if cycles:
        parts.append(f"{cycles} cycle{'s' if cycles != 1 else ''} collapsed")
    test_only = sum(1 for e in inventory.edges if e.test_only)
    if test_only:
        parts.append(f"{test_only} test-only edge{'s' if test_only != 1 else ''} not drawn")
    return "; ".join(parts) + "."


def _order(ends: tuple[str, str]) -> tuple[int, int]:
    return int(ends[0][1:]), int(ends[1][1:])
