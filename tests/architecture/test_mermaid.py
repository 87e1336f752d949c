"""The Mermaid graph: collapsing to the top N, cycle highlighting, and syntax that the real Mermaid parser
accepts whatever the component names are."""

from __future__ import annotations

import html
import re

import pytest

from repo_auditor.architecture import build_inventory, mermaid_graph
from repo_auditor.architecture.mermaid import MAX_LABEL_CHARS, diagram, escape_label
from repo_auditor.architecture.model import Component, Edge, HistoryInfo, Inventory, TestRatio
from repo_auditor.errors import ConfigurationError
from repo_auditor.repository import Repository

HOSTILE = [
    'a"b',
    "[x]",
    "a|b",
    "`tick`",
    "end",
    "graph",
    "subgraph",
    "classDef",
    "<script>alert(1)</script>",
    "ünï©ødé ☃ 日本",
    "#quot;",
    "x-->y",
    "%% comment",
    "{}",
    "(root)",
    "a;b",
    "two\nlines",
    "click n0 call alert()",
    "&amp;",
    "\\",
    "'single'",
    "A" * 200,
    "",
    "style n0 fill:#f00",
    "-->|3|",
    "\t\r",
]


def make_inventory(names: list[str], edges: list[tuple[str, str, int, bool]]) -> Inventory:
    components = [
        Component(name=n, root=f"r{i}", kind="directory", code_lines=100 - i, lines=100 - i)
        for i, n in enumerate(names)
    ]
    return Inventory(
        repository="r",
        ref=None,
        commit=None,
        files=0,
        lines=0,
        excluded_files=0,
        excluded_lines=0,
        languages=[],
        components=components,
        edges=[Edge(s, t, c, "p", 1, in_cycle=cyc) for s, t, c, cyc in edges],
        cycles=[],
        entry_points=[],
        dependencies=[],
        tests=TestRatio(0, 0, 0, 0, None),
        history=HistoryInfo(False, 90),
        hotspots=[],
        largest_files=[],
        largest_functions=[],
    )


def unescape(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


def test_cycles_collapse_to_one_node_and_the_rest_group_by_parent_folder():
    inv = make_inventory(
        ["big", "mid", "small1", "small2", "small3"],
        [
            ("big", "mid", 3, True),
            ("mid", "big", 1, True),
            ("small1", "big", 2, False),
            ("small2", "big", 5, False),
            ("small1", "small2", 7, False),
            ("mid", "small3", 4, False),
        ],
    )
    result = diagram(inv, top_n=1)
    assert result.text == (
        "flowchart LR\n"
        '    n0["big + 1 more #40;cycle of 2#44; 199 lines#41;"]\n'
        '    n1["3 small top-level components"]\n'
        '    n0 -->|"4"| n1\n'
        '    n1 -->|"7"| n0\n'
        "    classDef importCycle stroke:#d62728,stroke-width:3px\n"
        "    class n0 importCycle\n"
    )
    assert result.caption == "2 of 5 components and 3 of 6 edges shown; 3 small components grouped; 1 cycle collapsed."


def test_a_small_component_everything_imports_is_drawn_before_a_large_isolated_one():
    names = ["huge", "big", "core", "user1", "user2", "user3"]
    inv = make_inventory(names, [(user, "core", 10, False) for user in ("user1", "user2", "user3")])
    for component in inv.components:
        component.code_lines = {"huge": 5000, "big": 4000, "core": 50}.get(component.name, 100)
    text = mermaid_graph(inv, top_n=2)
    assert '["core #40;50 lines#41;"]' in text and "big" not in text


def test_only_the_heaviest_edges_are_kept_and_the_caption_counts_the_rest():
    names = ["a", "b", "c", "d"]
    inv = make_inventory(names, [("a", "b", 9, False), ("b", "c", 1, False), ("c", "d", 5, False)])
    result = diagram(inv, top_n=4, max_edges=2)
    # ranked by import weight: b (10), a (9), c (6), d (5)
    assert [line.strip() for line in result.text.splitlines() if "-->" in line] == [
        'n1 -->|"9"| n0',
        'n2 -->|"5"| n3',
    ]
    assert result.caption == "4 of 4 components and 2 of 3 edges shown."


def test_hidden_components_are_grouped_by_parent_folder():
    inv = make_inventory(["app", "go/analysis/passes/a", "go/analysis/passes/b", "tools/x"], [])
    for component in inv.components:
        component.root = component.name
    inv.edges = [
        Edge("go/analysis/passes/a", "app", 2, "p", 1),
        Edge("go/analysis/passes/b", "app", 3, "p", 1),
        Edge("tools/x", "app", 1, "p", 1, test_only=True),
    ]
    result = diagram(inv, top_n=1)
    assert '["go/analysis/passes/#8230; 2 small components"]' in result.text
    assert "tools" not in result.text  # no production edge: left out
    assert result.caption == (
        "1 of 4 components and 2 of 2 edges shown; 2 small components grouped; 1 test-only edge not drawn."
    )


def test_everything_fits_without_an_other_node():
    inv = make_inventory(["a", "b"], [("a", "b", 2, False)])
    text = mermaid_graph(inv, top_n=12)
    assert "small" not in text and "importCycle" not in text
    assert text.splitlines()[-1] == '    n0 -->|"2"| n1'


@pytest.mark.parametrize("name", HOSTILE)
def test_labels_keep_only_safe_characters_and_decode_back(name):
    label = escape_label(name)
    assert re.fullmatch(r"[A-Za-z0-9 ._/:@+\-#;]*", label), label
    expected = name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "\u2026"
    assert unescape(label) == expected


@pytest.mark.parametrize("bad", [0, -1, "3", None, True])
def test_bad_limits(bad):
    with pytest.raises(ConfigurationError, match="top_n"):
        mermaid_graph(make_inventory(["a"], []), top_n=bad)
    with pytest.raises(ConfigurationError, match="max_edges"):
        mermaid_graph(make_inventory(["a"], []), max_edges=bad)


@pytest.mark.slow
def test_real_mermaid_parser_accepts_hostile_names(mermaid_parse):
    ring = [(HOSTILE[i], HOSTILE[(i + 1) % len(HOSTILE)], i + 1, True) for i in range(len(HOSTILE))]
    chain = ring[:-1] + [(HOSTILE[0], HOSTILE[2], 1, False)]
    grouped = make_inventory(HOSTILE, chain)
    for index, component in enumerate(grouped.components):
        component.root = f"{HOSTILE[index % 5]}/{index}"
    diagrams = [
        mermaid_graph(make_inventory(HOSTILE, chain), top_n=len(HOSTILE)),
        mermaid_graph(make_inventory(HOSTILE, ring), top_n=3),  # one collapsed cycle, styled
        mermaid_graph(grouped, top_n=3, max_edges=5),  # groups named after hostile folders
        mermaid_graph(make_inventory(["only"], []), top_n=1),
    ]
    assert "importCycle" in diagrams[1] and "small components" in diagrams[2]
    # the checker itself must reject broken text, or it proves nothing
    controls = ['flowchart LR\n    n0["a"b"] --> n1\n', "flowchart LR\n    n0[a] --> end\n"]
    results = mermaid_parse(diagrams + controls)
    assert [r["ok"] for r in results] == [True, True, True, True, False, False], results
    assert {r.get("type") for r in results[:4]} == {"flowchart-v2"}


@pytest.mark.slow
def test_real_repository_with_hostile_folder_names(tmp_path, mermaid_parse):
    """Folder names become component names; JS relative imports between them become edges (and a cycle)."""
    folders = ['a"b', "end", "[x]|y", "<img src=x onerror=alert(1)> ü", "`graph`"]
    root = tmp_path / "repo"
    for i, folder in enumerate(folders):
        following = folders[(i + 1) % len(folders)]
        (root / folder).mkdir(parents=True)
        (root / folder / "index.js").write_text(
            f"const next = require({following!r}.startsWith('x') ? '' : '../' + {following!r});\n"
            f"import n from {('../' + following + '/index.js')!r};\n",
            encoding="utf-8",
        )
    with Repository.open(root, cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, cache_path=tmp_path / "c")
    assert sorted(c.name for c in inv.components) == sorted(folders)
    assert len(inv.edges) == len(folders) and all(e.in_cycle for e in inv.edges)
    assert sorted(inv.cycles[0].components) == sorted(folders)
    text = mermaid_graph(inv)
    (label,) = re.findall(r'\["([^"]*)"\]', text)  # the cycle, collapsed
    assert unescape(label).split(" + ")[0] in folders and "cycle of 5" in label
    assert "<" not in text and "`" not in text and html.unescape(text) == text
    assert mermaid_parse([text]) == [{"ok": True, "type": "flowchart-v2"}]


def test_components_without_lines_or_edges_get_no_node():
    inv = make_inventory(["a", "b", "empty"], [("a", "b", 2, False)])
    inv.components[2].code_lines = 0
    result = diagram(inv)
    assert "empty" not in result.text and result.caption.startswith("2 of 3 components")
