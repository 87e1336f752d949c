"""The deterministic core of ``audit-repo architecture``: what a codebase is made of, computed without a
model.

    from repo_auditor.repository import Repository
    from repo_auditor.architecture import build_inventory, compare, mermaid_graph, render_markdown

    with Repository.open("path/to/repo") as repo:
        inventory = build_inventory(repo, since_days=90, top_n=12)
    json_report = inventory.to_dict()                 # stable JSON (SCHEMA documents each field)
    changes = compare(previous_json_report, inventory) # what moved since a previous report
    print(mermaid_graph(inventory, top_n=12))          # component graph as a Mermaid flowchart
    print(render_markdown(inventory, changes))         # plain Markdown summary

Pipeline: build files -> components (``components``); tree-sitter imports (``scan``) -> edges and cycles
(``graph``); ``git log --numstat`` -> hotspots (``history``); everything gathered by
``inventory.build_inventory``.
"""

from __future__ import annotations

from repo_auditor.architecture.compare import Changes, compare
from repo_auditor.architecture.inventory import build_inventory
from repo_auditor.architecture.markdown import render_markdown
from repo_auditor.architecture.mermaid import mermaid_graph
from repo_auditor.architecture.model import SCHEMA, SCHEMA_VERSION, IncompatibleReportError, Inventory

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Changes",
    "IncompatibleReportError",
    "Inventory",
    "build_inventory",
    "compare",
    "mermaid_graph",
    "render_markdown",
]
