"""A previous JSON report + the current inventory -> what changed in the architecture.

Components are matched by name, edges by (source, target), cycles by their member set, hotspots by path.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from repo_auditor.architecture.model import Component, Inventory, build_from_dict


@dataclass(frozen=True)
class EdgeChange:
    """An import edge that appeared or disappeared (``count`` from the report that has it)."""

    source: str
    target: str
    count: int


@dataclass(frozen=True)
class ComponentChange:
    """Size and test ratio of a component present in both reports, when either changed."""

    name: str
    lines_before: int
    lines_after: int
    code_lines_before: int
    code_lines_after: int
    test_ratio_before: float | None
    test_ratio_after: float | None


@dataclass
class Changes:
    """What changed between two inventories; every list is sorted."""

    previous_commit: str | None
    current_commit: str | None
    components_added: list[str] = field(default_factory=list)
    components_removed: list[str] = field(default_factory=list)
    edges_added: list[EdgeChange] = field(default_factory=list)
    edges_removed: list[EdgeChange] = field(default_factory=list)
    cycles_new: list[list[str]] = field(default_factory=list)
    cycles_resolved: list[list[str]] = field(default_factory=list)
    hotspots_entered: list[str] = field(default_factory=list)
    hotspots_left: list[str] = field(default_factory=list)
    component_changes: list[ComponentChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Changes:
        return build_from_dict(cls, data, "changes")

    def listed(self) -> list[tuple[str, list[str]]]:
        """The changes as titled lists of plain text, in reading order (the renderers escape the text)."""
        return [
            ("Components added", list(self.components_added)),
            ("Components removed", list(self.components_removed)),
            ("Dependencies added", [f"{e.source} → {e.target} ({e.count})" for e in self.edges_added]),
            ("Dependencies removed", [f"{e.source} → {e.target}" for e in self.edges_removed]),
            ("New cycles", [" ↔ ".join(c) for c in self.cycles_new]),
            ("Cycles resolved", [" ↔ ".join(c) for c in self.cycles_resolved]),
            ("New hotspots", list(self.hotspots_entered)),
            ("No longer hotspots", list(self.hotspots_left)),
        ]

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return not any(
            getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name.endswith(("added", "removed", "new", "resolved", "entered", "left", "changes"))
        )


def component_test_ratio(component: Component) -> float | None:
    """Test lines per line of non-test code, rounded to 4 places; None without code."""
    return round(component.test_lines / component.code_lines, 4) if component.code_lines else None


def compare(previous: dict[str, Any], current: Inventory) -> Changes:
    """Differences from ``previous`` (a dict parsed from an earlier ``Inventory.to_dict()`` JSON) to
    ``current``.

    Raises ``IncompatibleReportError`` (a ``ReportError``) when ``previous`` has another ``schema_version`` or
    is not an architecture report.
    """
    before = Inventory.from_dict(previous)
    old = {c.name: c for c in before.components}
    new = {c.name: c for c in current.components}
    old_edges = {(e.source, e.target): e.count for e in before.edges}
    new_edges = {(e.source, e.target): e.count for e in current.edges}
    old_cycles = {tuple(c.components) for c in before.cycles}
    new_cycles = {tuple(c.components) for c in current.cycles}
    old_hot = {h.path for h in before.hotspots}
    new_hot = {h.path for h in current.hotspots}
    changes = Changes(
        previous_commit=before.commit,
        current_commit=current.commit,
        components_added=sorted(new.keys() - old.keys()),
        components_removed=sorted(old.keys() - new.keys()),
        edges_added=[
            EdgeChange(s, t, new_edges[(s, t)]) for s, t in sorted(new_edges.keys() - old_edges.keys())
        ],
        edges_removed=[
            EdgeChange(s, t, old_edges[(s, t)]) for s, t in sorted(old_edges.keys() - new_edges.keys())
        ],
        cycles_new=[list(c) for c in sorted(new_cycles - old_cycles)],
        cycles_resolved=[list(c) for c in sorted(old_cycles - new_cycles)],
        hotspots_entered=sorted(new_hot - old_hot),
        hotspots_left=sorted(old_hot - new_hot),
    )
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        if (a.lines, a.code_lines, component_test_ratio(a)) != (
            b.lines,
            b.code_lines,
            component_test_ratio(b),
        ):
            changes.component_changes.append(
                ComponentChange(
                    name,
                    a.lines,
                    b.lines,
                    a.code_lines,
                    b.code_lines,
                    component_test_ratio(a),
                    component_test_ratio(b),
                )
            )
    return changes
