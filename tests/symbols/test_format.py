"""format_symbols: the text the model reads."""

from __future__ import annotations

import pytest

from repo_auditor.errors import ToolError
from repo_auditor.tools.symbol_index import Symbol, format_symbols

SYMBOLS = [
    Symbol("src/b.py", "run", "run", "function", 30, 31, "python"),
    Symbol("src/app.py", "handle", "Server.handle", "method", 12, 40, "python"),
    Symbol("src/app.py", "Server", "Server", "class", 10, 60, "python"),
    Symbol("pkg/api.go", "Handler", "Handler", "interface", 3, 9, "go"),
]


def test_one_line_per_definition_sorted_by_path_then_line() -> None:
    assert format_symbols(SYMBOLS) == (
        "pkg/api.go:3-9  interface  Handler\n"
        "src/app.py:10-60  class      Server\n"
        "src/app.py:12-40  method     Server.handle\n"
        "src/b.py:30-31  function   run"
    )


def test_over_the_limit_says_how_many_were_left_out_and_how_to_narrow() -> None:
    lines = format_symbols(SYMBOLS, limit=2).splitlines()
    assert lines[:2] == ["pkg/api.go:3-9  interface  Handler", "src/app.py:10-60  class      Server"]
    assert len(lines) == 3
    assert lines[2].startswith("... 2 more definitions not shown (4 in all)")
    assert "path=" in lines[2] and "name=" in lines[2] and "kind=" in lines[2]


def test_exactly_at_the_limit_has_no_omission_line() -> None:
    assert "more definitions" not in format_symbols(SYMBOLS, limit=4)


def test_nothing_found_says_so_and_suggests_broadening() -> None:
    assert format_symbols([]).startswith("no definitions found")


@pytest.mark.parametrize("limit", [0, -1, 2.5, "10"])
def test_bad_limit_is_a_tool_error(limit) -> None:
    with pytest.raises(ToolError, match="limit must be a positive whole number"):
        format_symbols(SYMBOLS, limit=limit)
