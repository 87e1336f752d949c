"""The file tree the model sees first, fitted to a character budget: folders open level by level while they fit."""

from __future__ import annotations

import heapq
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from repo_auditor.repository.entries import VENDORED_DIRS, FileEntry

# The file tree the model sees first
# ---------------------------------------------------------------------------------------------------------------

# Below this the header alone may not fit; a tree this small is useless anyway.
MIN_TREE_BUDGET = 80
_INDENT = "  "
_COLLAPSED_MARK = " …"
_NOTE = "  (“…” marks a collapsed directory)"


@dataclass(eq=False)
class _Dir:
    name: str
    depth: int  # -1 for the root, whose children are drawn without indentation
    path: str
    parent: _Dir | None
    dirs: dict[str, _Dir] = field(default_factory=dict)
    files: list[FileEntry] = field(default_factory=list)
    file_count: int = 0
    line_count: int = 0
    collapsed: bool = True
    _file_lines: list[str] | None = None

    def line(self) -> str:
        vendored = " [vendored]" if self.name in VENDORED_DIRS else ""
        mark = _COLLAPSED_MARK if self.collapsed else ""
        text = f"{_printable(self.name)}/ ({_count(self.file_count, 'file')}, {_compact_lines(self.line_count)})"
        return f"{_INDENT * self.depth}{text}{vendored}{mark}"

    def file_lines(self) -> list[str]:
        if self._file_lines is None:
            ordered = sorted(self.files, key=lambda entry: entry.path)
            self._file_lines = [_file_line(posixpath.basename(e.path), e, self.depth + 1) for e in ordered]
        return self._file_lines

    def expansion_cost(self) -> int:
        """Characters added by opening this (collapsed) folder with its subfolders shown collapsed."""
        cost = sum(len(child.line()) + 1 for child in self.dirs.values())
        cost += sum(len(text) + 1 for text in self.file_lines())
        return cost - (len(_COLLAPSED_MARK) if self.parent is not None else 0)


def render_file_tree(header: str, files: Iterable[FileEntry], budget_chars: int = 6000) -> str:
    """Render ``files`` as an indented tree under ``header``, never longer than ``budget_chars``.

    Folders come first, then files, each sorted by name; every folder line carries its file and line totals. Folders
    start collapsed to that one line (marked "…") and are opened breadth-first, cheapest first, while the result
    fits: the top level always, then each level down. So the folders left collapsed are the largest ones, and
    vendored folders are opened only after everything else. If the top level alone does not fit, its last lines
    are replaced by a count of the lines left out.
    """
    if budget_chars < MIN_TREE_BUDGET:
        raise ValueError(f"budget_chars={budget_chars} is too small; give at least {MIN_TREE_BUDGET} characters")
    root, total_files, total_lines = _folders(files)
    head = f"{header}: {_count(total_files, 'file')}, {_compact_lines(total_lines)}"
    root.collapsed = False
    remaining = budget_chars - len(head) - len(_NOTE) - root.expansion_cost()
    candidates: list[tuple[bool, int, int, str, _Dir]] = []

    def offer(node: _Dir) -> None:
        for child in node.dirs.values():
            if child.dirs or child.files:
                heapq.heappush(candidates, (child.name in VENDORED_DIRS, child.depth, child.expansion_cost(),
                                            child.path, child))

    offer(root)
    while candidates:
        _, _, cost, _, node = heapq.heappop(candidates)
        if cost <= remaining:
            node.collapsed = False
            remaining -= cost
            offer(node)
    lines = [head]
    _render(root, lines)
    if any(line.endswith(_COLLAPSED_MARK) for line in lines[1:]):
        lines[0] += _NOTE
    return _fit_lines(lines, budget_chars)


def _folders(files: Iterable[FileEntry]) -> tuple[_Dir, int, int]:
    """The folder tree of ``files`` with per-folder totals; also the grand totals."""
    root = _Dir(name="", depth=-1, path="", parent=None)
    by_path: dict[str, _Dir] = {"": root}

    def folder(path: str) -> _Dir:
        node = by_path.get(path)
        if node is None:
            parent_path, _, name = path.rpartition("/")
            parent = folder(parent_path)
            node = by_path[path] = parent.dirs[name] = _Dir(name=name, depth=parent.depth + 1, path=path,
                                                            parent=parent)
        return node

    for entry in files:
        node = folder(entry.path.rpartition("/")[0])
        node.files.append(entry)
        node.file_count += 1
        node.line_count += entry.lines
    for node in sorted(by_path.values(), key=lambda d: -d.depth):  # children before parents
        if node.parent is not None:
            node.parent.file_count += node.file_count
            node.parent.line_count += node.line_count
    return root, root.file_count, root.line_count


def _render(node: _Dir, out: list[str]) -> None:
    for name in sorted(node.dirs):
        child = node.dirs[name]
        out.append(child.line())
        if not child.collapsed:
            _render(child, out)
    out.extend(node.file_lines())


def _fit_lines(lines: list[str], budget: int) -> str:
    """Join lines; if too long, keep the header and as many lines as fit, then say how many were left out."""
    text = "\n".join(lines)
    if len(text) <= budget:
        return text
    header, body = lines[0], lines[1:]
    widest_marker = len(f"\n… {len(body)} more top-level lines not shown")
    if len(header) + widest_marker > budget:  # a header this long only comes with a tiny budget
        header = header[: max(budget - widest_marker - 1, 0)] + "…"
    kept = [header]
    used = len(header)
    for line in body:
        if used + len(line) + 1 + widest_marker > budget:
            break
        kept.append(line)
        used += len(line) + 1
    kept.append(f"… {len(body) - (len(kept) - 1)} more top-level lines not shown")
    return "\n".join(kept)


def _file_line(name: str, entry: FileEntry, depth: int) -> str:
    indent = _INDENT * depth
    if entry.symlink_target is not None:
        target = _printable(entry.symlink_target)
        if len(target) > 80:
            target = target[:79] + "…"
        return f"{indent}{_printable(name)} -> {target}"
    if entry.binary:
        facts = _size(entry.size)
    else:
        facts = f"{_size(entry.size)}, {_count(entry.lines, 'line')}"
    tags = [flag for flag in ("vendored", "generated", "large") if flag in entry.flags]
    if entry.binary:
        tags.append("binary")
    suffix = "".join(f" [{tag}]" for tag in tags)
    return f"{indent}{_printable(name)}  ({facts}){suffix}"


def _printable(text: str) -> str:
    """File names come from the repository: escape control characters so a name cannot fake extra tree lines."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in text)


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        value = size / scale
        if value < 999.95 or unit == "GB":
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def _compact(number: int) -> str:
    if number < 1000:
        return str(number)
    for unit, scale in (("k", 1e3), ("M", 1e6)):
        value = number / scale
        if value < 999.5 or unit == "M":
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    raise AssertionError("unreachable")


def _compact_lines(number: int) -> str:
    return "1 line" if number == 1 else f"{_compact(number)} lines"


def _count(number: int, noun: str) -> str:
    word = noun if number == 1 else noun + "s"
    return f"{number:,} {word}" if noun == "file" or number < 10_000 else f"{_compact(number)} {word}"
