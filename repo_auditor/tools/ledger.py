"""What the tools were asked to do, for the report's coverage section: files read (with line ranges), searches,
symbol queries. Append-only; one ledger per bound repository."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileRead:
    """One read_file call that returned content: lines ``start``..``end`` (1-based, inclusive) of ``path``."""

    path: str
    start: int
    end: int
    total_lines: int


@dataclass(frozen=True)
class Search:
    """One grep call: its arguments, how many matching lines and files it found, how many it showed."""

    pattern: str
    path: str
    glob: str | None
    matches: int
    files: int
    shown: int


@dataclass(frozen=True)
class SymbolQuery:
    """One symbols call and how many symbols it found."""

    path: str | None
    name: str | None
    kind: str | None
    found: int


@dataclass
class UsageLedger:
    """Every successful tool call, in order of the calls."""

    reads: list[FileRead] = field(default_factory=list)
    searches: list[Search] = field(default_factory=list)
    symbol_queries: list[SymbolQuery] = field(default_factory=list)

    def lines_read(self) -> dict[str, list[tuple[int, int]]]:
        """Per file, the merged line ranges read so far, sorted."""
        ranges: dict[str, list[tuple[int, int]]] = {}
        for read in self.reads:
            ranges.setdefault(read.path, []).append((read.start, read.end))
        return {path: merge_ranges(spans) for path, spans in sorted(ranges.items())}


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive line ranges sorted, with overlapping and adjacent ones merged: (1, 3), (4, 6) -> (1, 6)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
