"""Inventory -> a Mermaid ``flowchart LR`` of the components and their imports.

Only the ``top_n`` largest components (by lines of code, tests included) get their own node; the rest are
merged into one "N other components" node whose edges sum theirs. Edge labels are import counts; edges inside
an import cycle are drawn red and thick; edges only test code makes (``Edge.test_only``) are not drawn. Node ids are generated (``n0``, ``n1``, ...), and every label
character outside a small safe set is written as a Mermaid entity code (``#34;``), so no component name can
break or inject into the diagram.
"""

from __future__ import annotations

import re
from collections import defaultdict

from repo_auditor.architecture.model import Inventory
from repo_auditor.errors import ConfigurationError

# Names longer than this are shortened with a visible "…" so nodes stay readable.
MAX_LABEL_CHARS = 60
CYCLE_STYLE = "stroke:#d62728,stroke-width:3px"

_SAFE = re.compile(r"[A-Za-z0-9 ._/:@+\-]")


def escape_label(text: str) -> str:
    """Text for inside a quoted Mermaid label: safe ASCII kept, everything else as ``#<code point>;``."""
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "\u2026"
    return "".join(ch if _SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def mermaid_graph(inventory: Inventory, top_n: int = 12) -> str:
    """The component graph as Mermaid flowchart source (no surrounding code fence)."""
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ConfigurationError(f"top_n must be a whole number of at least 1, got {top_n!r}")
    ranked = sorted(inventory.components, key=lambda c: (-(c.code_lines + c.test_lines), -c.lines, c.name))
    shown = ranked[:top_n]
    hidden = ranked[top_n:]
    node_id = {c.name: f"n{i}" for i, c in enumerate(shown)}
    other_id = f"n{len(shown)}"
    lines = ["flowchart LR"]
    for component in shown:
        label = f"{component.name} ({component.code_lines + component.test_lines} lines)"
        lines.append(f'    {node_id[component.name]}["{escape_label(label)}"]')
    if hidden:
        label = f"{len(hidden)} other component{'s' if len(hidden) != 1 else ''}"
        lines.append(f'    {other_id}["{escape_label(label)}"]')

    merged: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # (from, to) -> [count, in_cycle]
    for edge in inventory.edges:
        if edge.test_only:  # the diagram draws the product; edges only tests make are in the JSON
            continue
        source = node_id.get(edge.source, other_id)
        target = node_id.get(edge.target, other_id)
        if source == target:
            continue
        slot = merged[(source, target)]
        slot[0] += edge.count
        slot[1] |= edge.in_cycle
    cycle_links = []
    for index, ((source, target), (count, in_cycle)) in enumerate(sorted(merged.items(), key=_edge_order)):
        lines.append(f'    {source} -->|"{count}"| {target}')
        if in_cycle:
            cycle_links.append(str(index))
    if cycle_links:
        lines.append(f"    linkStyle {','.join(cycle_links)} {CYCLE_STYLE}")
    return "\n".join(lines) + "\n"


def _edge_order(item: tuple[tuple[str, str], list[int]]) -> tuple[int, int]:
    (source, target), _ = item
    return int(source[1:]), int(target[1:])
