"""read_file: numbered lines of one file of the loaded repository, in capped slices.

Output format (what the model sees)::

    src/app.py | lines 1-3 of 3 | python
    1 | import os
    2 |
    3 | print(os.getcwd())

The header names the path, the slice and the language, then notes (``symlink to ...``, ``vendored``, ``generated``,
``large``, ``not valid UTF-8``). Each line is ``<number> | <text>``, numbers right-aligned, so a citation is
``src/app.py:3``. When the slice stops early the last line says exactly how to continue:
``... 1200 more lines: call read_file("src/app.py", start_line=401)``.
A folder path lists the folder; a binary file gets a one-line description.
"""

from __future__ import annotations

from repo_auditor.errors import FileNotInRepositoryError, ToolError
from repo_auditor.tools.ledger import FileRead, UsageLedger
from repo_auditor.tools.paths import normalize_path
from repo_auditor.tools.tree import TreeView
from repo_auditor.tools.view import MAX_READ_BYTES, RedactedView

# About 4-6k tokens of code: a whole function or class fits, and a dozen reads still leave room to think.
MAX_LINES_PER_CALL = 400
# Caps the characters too, so a few minified lines cannot fill the model's context.
MAX_CHARS_PER_CALL = 40_000
# A single line longer than this is cut with a visible marker (minified code, embedded data).
MAX_LINE_CHARS = 2_000
# Entries shown when a folder is read instead of a file.
MAX_DIR_ENTRIES = 200

_FLAG_NOTES = {
    "vendored": "vendored third-party code",
    "generated": "generated file",
    "large": "large file: read it in slices",
}


def read_file(tree: TreeView, path: str, start_line: int = 1, end_line: int | None = None, *,
              view: RedactedView | None, ledger: UsageLedger | None = None) -> str:
    """Lines ``start_line``..``end_line`` (1-based, inclusive) of ``path``, numbered; see the module docstring.

    ``view`` redacts secrets (found over the whole file); None shows the raw text.
    """
    start_line, end_line = _check_range(path, start_line, end_line)
    rel = normalize_path(path, tree.repo)
    entry = tree.entry(rel)
    if entry is None:
        if tree.is_dir(rel):
            return list_folder(tree, rel, view)
        suggestions = tuple(view.name(p) for p in tree.suggest(rel)) if view is not None else tree.suggest(rel)
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else " Check the file tree, or find it with grep."
        raise FileNotInRepositoryError(f"no such file: {rel!r}.{hint}", path=rel, suggestions=suggestions)

    notes: list[str] = []
    if entry.symlink_target is not None:
        target = tree.repo.resolve_symlink(rel)  # raises PathOutsideRepositoryError for an escaping link
        notes.append(f"symlink to {view.name(target.path) if view is not None else target.path}")
        entry = target
    if entry.binary:
        return f"{rel}: binary file ({entry.size:,} bytes){_join(notes, '; ')}; it has no text lines to show."
    notes.extend(_FLAG_NOTES[flag] for flag in sorted(entry.flags) if flag in _FLAG_NOTES)

    data = tree.repo.read_bytes(entry.path, max_bytes=MAX_READ_BYTES)
    text, lossy = _decode(data)
    if lossy:
        notes.append("not valid UTF-8: decoded byte for byte as Latin-1")
    if len(data) >= MAX_READ_BYTES and entry.size > MAX_READ_BYTES:
        notes.append(f"only the first {MAX_READ_BYTES // (1024 * 1024)} MB are readable")
    lines = text.split("\n")  # "\n" only, as git and ripgrep count lines (splitlines also splits on \f, \x1c...)
    if lines[-1] == "":
        lines.pop()
    total = len(lines)
    if total == 0:
        return f"{rel} | empty file{_join(notes)}"
    if start_line > total:
        raise ToolError(f"{rel} has {total:,} lines; start_line={start_line} is past the end. "
                        f"Call read_file({rel!r}, start_line={max(1, total - MAX_LINES_PER_CALL + 1)}) for the last "
                        f"lines.")
    last = min(end_line if end_line is not None else total, total, start_line + MAX_LINES_PER_CALL - 1)
    if view is not None:
        chunk = view.redacted_lines(entry, text, lines, start_line - 1, last)
    else:
        chunk = lines[start_line - 1:last]
    width = len(str(last))
    body: list[str] = []
    used = 0
    for number, line in enumerate(chunk, start=start_line):
        if len(line) > MAX_LINE_CHARS:
            line = f"{line[:MAX_LINE_CHARS]} ...[line cut: {len(line):,} chars]"
        rendered = f"{number:>{width}} | {line}".rstrip()
        if body and used + len(rendered) > MAX_CHARS_PER_CALL:
            last = number - 1
            break
        body.append(rendered)
        used += len(rendered) + 1
    wanted_end = min(end_line if end_line is not None else total, total)
    header = f"{rel} | lines {start_line}-{last} of {total:,}{_join([entry.language] if entry.language else [])}"
    out = [header + _join(notes), *body]
    if last < wanted_end:
        out.append(f"... {wanted_end - last:,} more lines: call read_file({rel!r}, start_line={last + 1}"
                   + (f", end_line={end_line}" if end_line is not None and end_line < total else "") + ")")
    if ledger is not None:
        ledger.reads.append(FileRead(path=rel, start=start_line, end=last, total_lines=total))
    return "\n".join(out)


def list_folder(tree: TreeView, rel: str, view: RedactedView | None = None) -> str:
    """A folder's direct files (with line counts) and sub-folders (with file counts); names through ``view``."""
    files, folders = tree.children(rel)
    name_of = view.name if view is not None else str
    shown = f"{name_of(rel)}/" if rel else "the repository root"
    out = [f"{shown} is a folder ({_count(len(files), 'file')}, {_count(len(folders), 'folder')} here); read a "
           f"file inside it, or grep(pattern, path={name_of(rel) or '.'!r})"]
    entries = [f"{name_of(name)}/  ({_count(count, 'file')})" for name, count in sorted(folders.items())]
    for name in files:
        entry = tree.entry(f"{rel}/{name}" if rel else name)
        assert entry is not None  # children() lists only listed files
        if entry.symlink_target is not None:
            what = f"symlink to {entry.symlink_target}"
        elif entry.binary:
            what = f"binary, {entry.size:,} bytes"
        else:
            what = _count(entry.lines, "line")
        entries.append(f"{name_of(name)}  ({what})")
    out.extend(entries[:MAX_DIR_ENTRIES])
    if len(entries) > MAX_DIR_ENTRIES:
        out.append(f"... {len(entries) - MAX_DIR_ENTRIES} more entries; read a sub-folder to narrow")
    return "\n".join(out)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _check_range(path: object, start_line: object, end_line: object) -> tuple[int, int | None]:
    for name, value in (("start_line", start_line), ("end_line", end_line)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ToolError(f"{name} must be a whole number of a line (1 = first line), got {value!r}")
    if start_line is None:
        start_line = 1
    if start_line < 1:  # type: ignore[operator]
        raise ToolError(f"start_line must be 1 or more (lines are numbered from 1), got {start_line}")
    if end_line is not None and end_line < start_line:  # type: ignore[operator]
        raise ToolError(f"end_line ({end_line}) is before start_line ({start_line}); "
                        f"call read_file({path!r}, start_line={start_line})")
    return start_line, end_line  # type: ignore[return-value]


def _decode(data: bytes) -> tuple[str, bool]:
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


def _join(parts: list[str], sep: str = " | ") -> str:
    return "".join(sep + part for part in parts)
