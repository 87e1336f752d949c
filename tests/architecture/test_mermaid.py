"""The Mermaid graph: collapsing to the top N, cycle highlighting, and syntax that the real Mermaid parser
accepts whatever the component names are."""

from __future__ import annotations

import html
import re

import pytest

from repo_auditor.architecture import build_inventory, mermaid_graph
from repo_auditor.architecture.mermaid import MAX_LABEL_CHARS, escape_label
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


def test_collapses_to_top_n_with_summed_edges_and_cycle_styles():
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
    assert mermaid_graph(inv, top_n=2) == (
        "flowchart LR\n"
        '    n0["big #40;100 lines#41;"]\n'
        '    n1["mid #40;99 lines#41;"]\n'
        '    n2["3 other components"]\n'
        '    n0 -->|"3"| n1\n'
        '    n1 -->|"1"| n0\n'
        '    n1 -->|"4"| n2\n'
        '    n2 -->|"7"| n0\n'
        "    linkStyle 0,1 stroke:#d62728,stroke-width:3px\n"
    )


def test_everything_fits_without_an_other_node():
    inv = make_inventory(["a", "b"], [("a", "b", 2, False)])
    text = mermaid_graph(inv, top_n=12)
    assert "other" not in text and "linkStyle" not in text
    assert text.splitlines()[-1] == '    n0 -->|"2"| n1'


@pytest.mark.parametrize("name", HOSTILE)
def test_labels_keep_only_safe_characters_and_decode_back(name):
    label = escape_label(name)
    assert re.fullmatch(r"[A-Za-z0-9 ._/:@+\-#;]*", label), label
    expected = name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "\u2026"
    assert unescape(label) == expected


@pytest.mark.parametrize("bad", [0, -1, "3", None, True])
def test_bad_top_n(bad):
    with pytest.raises(ConfigurationError, match="top_n"):
        mermaid_graph(make_inventory(["a"], []), top_n=bad)


@pytest.mark.slow
def test_real_mermaid_parser_accepts_hostile_names(mermaid_parse):
    ring = [(HOSTILE[i], HOSTILE[(i + 1) % len(HOSTILE)], i + 1, True) for i in range(len(HOSTILE))]
    diagrams = [
        mermaid_graph(make_inventory(HOSTILE, ring), top_n=len(HOSTILE)),
        mermaid_graph(make_inventory(HOSTILE, ring), top_n=3),
        mermaid_graph(make_inventory(["only"], []), top_n=1),
    ]
    # the checker itself must reject broken text, or it proves nothing
    controls = ['flowchart LR\n    n0["a"b"] --> n1\n', "flowchart LR\n    n0[a] --> end\n"]
    results = mermaid_parse(diagrams + controls)
    assert [r["ok"] for r in results] == [True, True, True, False, False], results
    assert {r.get("type") for r in results[:3]} == {"flowchart-v2"}


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
    labels = re.findall(r'\["([^"]*)"\]', text)
    assert sorted(unescape(label).rsplit(" (", 1)[0] for label in labels) == sorted(folders)
    assert "<" not in text and "`" not in text and html.unescape(text) == text
    assert mermaid_parse([text]) == [{"ok": True, "type": "flowchart-v2"}]
