"""Inventory (+ changes) -> a plain Markdown summary; the fallback rendering when no template is used.

Every name from the repository is escaped (``md``) so that a file called ``a|b`` or ``<script>`` cannot break
a table or inject HTML.
"""

from __future__ import annotations

import re

from repo_auditor.architecture.compare import Changes
from repo_auditor.architecture.mermaid import diagram
from repo_auditor.architecture.model import Inventory

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md(text: object) -> str:
    """Escape text for a Markdown table cell or a line: specials backslashed, line breaks as spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _cell(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return md(value)


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]


def render_markdown(inventory: Inventory, changes: Changes | None = None, *, top_n: int = 12) -> str:
    """The inventory as Markdown: figures, components, the graph, cycles, entry points, dependencies,
    hotspots."""
    inv = inventory
    where = f" at `{md(inv.commit[:12])}`" if inv.commit else ""
    out = [f"# Architecture of {md(inv.repository)}{where}", ""]
    out.append(
        f"{inv.files:,} files, {inv.lines:,} lines"
        + (f" ({inv.excluded_files:,} vendored or generated files left out)" if inv.excluded_files else "")
        + "."
    )
    ratio = f"{inv.tests.ratio:.2f}" if inv.tests.ratio is not None else "n/a"
    out += [
        f"Tests: {inv.tests.test_lines:,} lines in {inv.tests.test_files:,} files "
        f"for {inv.tests.code_lines:,} "
        f"lines of other code (ratio {ratio}).",
        "",
    ]

    out += ["## Languages", ""]
    out += _table(
        ["language", "files", "lines"], [[s.language, s.files, s.lines] for s in inv.languages if s.files]
    )
    out += ["", "## Components", ""]
    out += _table(
        ["component", "kind", "root", "languages", "files", "code lines", "test lines", "symbols", "commits"],
        [
            [
                c.name,
                c.kind,
                c.root or ".",
                ", ".join(c.languages[:3]),
                c.files,
                c.code_lines,
                c.test_lines,
                c.symbols,
                c.churn_commits,
            ]
            for c in inv.components
        ],
    )
    graph = diagram(inv, top_n)
    out += ["", "## Dependency graph", "", "```mermaid", graph.text.rstrip("\n"), "```", "", f"*{graph.caption}*", ""]
    if inv.cycles:
        out += ["### Import cycles", ""]
        out += [f"- {' → '.join(md(n) for n in [*c.path, c.path[0]])}" for c in inv.cycles]
        out.append("")
    if inv.entry_points:
        out += ["## Entry points", ""]
        out += _table(
            ["kind", "name", "where", "target"],
            [[e.kind, e.name, f"{e.path}:{e.line}", e.target or ""] for e in inv.entry_points],
        )
        out.append("")
    if inv.dependencies:
        out += ["## External dependencies", ""]
        out += _table(
            ["ecosystem", "name", "version", "declared in", "dev"],
            [[d.ecosystem, d.name, d.spec, d.manifest, "yes" if d.dev else ""] for d in inv.dependencies],
        )
        out.append("")
    out += ["## Hotspots", ""]
    if inv.history.available:
        out.append(
            f"{inv.history.commits} commits from {inv.history.window_start} to {inv.history.window_end}."
        )
        out.append("")
        if inv.hotspots:
            out += _table(
                ["file", "commits", "lines changed", "authors", "lines", "score"],
                [[h.path, h.commits, h.lines_changed, h.authors, h.lines, h.score] for h in inv.hotspots],
            )
        else:
            out.append("Too few commits or no code changed in the window: no hotspots.")
    else:
        out.append("No git history available.")
    out += ["", "## Largest files", ""]
    out += _table(["file", "lines"], [[f.path, f.lines] for f in inv.largest_files])
    out += ["", "## Largest functions", ""]
    out += _table(
        ["function", "where", "lines"],
        [[f.name, f"{f.path}:{f.start_line}", f.lines] for f in inv.largest_functions],
    )
    if changes is not None:
        out += ["", *_changes(changes)]
    if inv.notes:
        out += ["", "## Notes", "", *[f"- {md(n)}" for n in inv.notes]]
    return "\n".join(out).rstrip("\n") + "\n"


def _changes(changes: Changes) -> list[str]:
    since = f" since `{md(changes.previous_commit[:12])}`" if changes.previous_commit else ""
    out = [f"## Changes{since}", ""]
    if changes.empty:
        return [*out, "No architectural changes."]
    for title, items in changes.listed():
        if items:
            out += [f"**{title}:** " + ", ".join(md(i) for i in items), ""]
    if changes.component_changes:
        out += _table(
            ["component", "lines before", "lines after", "test ratio before", "test ratio after"],
            [
                [
                    c.name,
                    c.lines_before,
                    c.lines_after,
                    f"{c.test_ratio_before:.2f}" if c.test_ratio_before is not None else "n/a",
                    f"{c.test_ratio_after:.2f}" if c.test_ratio_after is not None else "n/a",
                ]
                for c in changes.component_changes
            ],
        )
    return out
