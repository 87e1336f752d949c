"""grep: ripgrep over exactly the files of the loaded tree.

The files to search are chosen here, from the repository's list (``.gitignore`` honoured, hidden files such as
``.github/`` included, ``.git/`` never; at a ref, the commit's files), filtered by ``path`` and ``glob``, and handed to
``rg`` by name inside ``repo.search_root()``. So ripgrep never decides what the tree is and cannot disagree with
``read_file``. Binary files and symbolic links are not searched (search a link's target instead).

``rg`` is run directly with ``subprocess`` rather than through ripgrepy: we need the exact argument list (file names
after ``--``, in chunks below the OS argument limit), a timeout that kills the process, and the raw bytes of the
output (``--heading --null``: any file name parses, and matching lines are counted per file without parsing each
line in Python, which keeps a 200,000-match search as fast as raw rg), none of which ripgrepy's builder exposes.

Output format (what the model sees)::

    3 matching lines in 2 files
    src/app.py:12: def main():
    src/app.py-13-     run()
    src/util.py:4: def main_loop():

Matching lines are ``path:line: text``, context lines ``path-line- text``, groups separated by ``--``; sorted by path
then line. When capped the first line says ``showing 100 of 2,345 matching lines in 310 files`` and how to narrow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from repo_auditor.errors import FileNotInRepositoryError, InvalidPatternError, ToolError
from repo_auditor.repository import display_path
from repo_auditor.tools.ledger import Search, UsageLedger
from repo_auditor.tools.paths import normalize_path
from repo_auditor.tools.tree import TreeView
from repo_auditor.tools.view import RedactedView

# A search that takes longer than this is pathological (or the repository is huge): ask the model to narrow it.
GREP_TIMEOUT_SECONDS = 30.0
# Matching lines shown by default, and the most a call may ask for: beyond that the model should narrow the search.
DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000
# Context lines on each side of a match; more than this is a read_file job.
MAX_CONTEXT = 10
# A shown line longer than this is cut to a window around the match, with a visible marker.
MAX_GREP_LINE_CHARS = 300
# File names per rg run: far below Linux's 2 MB argument limit (and Windows' 32 kB command line is not a target).
ARGS_BYTES_PER_RUN = 200_000

_MATCH_LINE = re.compile(rb"^\d+:", re.MULTILINE)
_PARSE_ERROR = re.compile(r"^(?:rg: )?regex parse error", re.MULTILINE)


def find_rg() -> str:
    """The ``rg`` binary of the ``ripgrep`` wheel (the venv's scripts folder), else one on PATH."""
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(folder) / ("rg.exe" if os.name == "nt" else "rg")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("rg")
    if found is None:
        raise ToolError("ripgrep (rg) is not installed: run `pip install ripgrep==14.1.0` in this environment")
    return found


@dataclass(frozen=True)
class _FileHits:
    """rg's output for one file, unparsed, and how many matching lines it holds."""

    body: bytes
    matches: int


@dataclass
class _Line:
    number: int
    is_match: bool
    column: int  # 1-based byte column of the first match; 0 for context lines
    text: bytes


def grep(tree: TreeView, pattern: str, path: str = ".", glob: str | None = None, ignore_case: bool = False,
         fixed_strings: bool = False, context: int = 0, max_results: int = DEFAULT_MAX_RESULTS, *,
         view: RedactedView | None, ledger: UsageLedger | None = None, rg: str | None = None,
         timeout: float = GREP_TIMEOUT_SECONDS) -> str:
    """Search the loaded tree; see the module docstring for the output.

    With a ``view`` every answer (lines, counts, "no matches") comes from the redacted text: a file holding a secret
    is searched again in its redacted form, so a pattern that only matches inside a secret finds nothing.
    """
    _check_arguments(pattern, glob, context, max_results)
    rel = normalize_path(path, tree.repo)
    candidates = tree.files_under(rel)
    if not candidates:
        suggestions = tree.suggest(rel)
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else " Use '.' to search everything."
        raise FileNotInRepositoryError(f"no such file or folder: {rel!r}.{hint}", path=rel, suggestions=suggestions)
    if glob is not None:
        matcher = compile_glob(glob)
        candidates = [p for p in candidates if matcher(p)]
    files = [p for p in candidates if _searchable(tree, p)]
    where = rel or "."
    scope = where + (f", glob={glob!r}" if glob is not None else "")
    if not files:
        _record(ledger, pattern, where, glob, 0, 0, 0)
        return f"no text files to search in {scope}"

    rg_binary = rg or find_rg()
    root = tree.repo.search_root()
    argv = _argv(rg_binary, pattern, ignore_case, fixed_strings, context)
    deadline = (time.monotonic() + timeout, timeout)
    holders = _holding_secrets(tree, view, files) if view is not None else set()
    plain = [p for p in files if p not in holders] if holders else files
    found = _run(argv, root, _on_disk(tree, plain), pattern, deadline, counted_by_lines=not context)
    for name in sorted(holders):  # files holding a secret: searched in their redacted text
        assert view is not None
        _split_files(_rg(argv, ["-"], root, pattern, deadline, stdin=view.redacted_bytes(tree.entry(name))),
                     found, counted_by_lines=not context, name=name)
    found = dict(sorted(found.items()))
    total = sum(hits.matches for hits in found.values())
    if total == 0:
        _record(ledger, pattern, where, glob, 0, 0, 0)
        return f"no matches for {pattern!r} in {scope} ({len(files):,} files searched)"
    body, shown = _render(found, max_results, context, view)
    n_files = len(found)
    if shown < total:
        head = (f"showing {shown:,} of {total:,} matching lines in {n_files:,} files (sorted by path); "
                f"narrow with path= or glob=, or a more specific pattern")
    else:
        head = f"{total:,} matching line{'s' if total != 1 else ''} in {n_files:,} file{'s' if n_files != 1 else ''}"
    _record(ledger, pattern, where, glob, total, n_files, shown)
    return "\n".join([head, *body])


def _check_arguments(pattern: object, glob: object, context: object, max_results: object) -> None:
    if not isinstance(pattern, str):
        raise InvalidPatternError(f"pattern must be a string, got {type(pattern).__name__}", pattern=repr(pattern))
    if "\0" in pattern or "\n" in pattern:
        raise InvalidPatternError("pattern cannot contain a NUL byte or a newline: grep matches one line at a time",
                                  pattern=pattern)
    if glob is not None and (not isinstance(glob, str) or not glob.strip() or "\0" in glob):
        raise ToolError(f"glob must be a file pattern like '*.py' or 'src/**/*.ts', got {glob!r}")
    for name, value, low, high in (("context", context, 0, MAX_CONTEXT),
                                   ("max_results", max_results, 1, MAX_RESULTS_LIMIT)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ToolError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def _searchable(tree: TreeView, path: str) -> bool:
    entry = tree.entry(path)
    return entry is not None and not entry.binary and entry.symlink_target is None


def _record(ledger: UsageLedger | None, pattern: str, path: str, glob: str | None, matches: int, files: int,
            shown: int) -> None:
    if ledger is not None:
        ledger.searches.append(Search(pattern=pattern, path=path, glob=glob, matches=matches, files=files,
                                      shown=shown))


def _argv(rg: str, pattern: str, ignore_case: bool, fixed_strings: bool, context: int) -> list[str]:
    """rg's arguments up to the file names (which follow)."""
    argv = [rg, "--no-config", "--null", "--line-number", "--column", "--with-filename", "--heading",
            "--color", "never", "--text", "--no-messages", "--no-ignore", "--hidden"]
    argv.append("--ignore-case" if ignore_case else "--case-sensitive")
    if fixed_strings:
        argv.append("--fixed-strings")
    if context:
        argv.extend(["--context", str(context)])
    return [*argv, "--regexp", pattern, "--"]


def _run(argv: list[str], root: Path, files: list[str], pattern: str, deadline: tuple[float, float], *,
         counted_by_lines: bool) -> dict[str, _FileHits]:
    """Run rg over ``files`` (in chunks); the output of each file with its count of matching lines."""
    found: dict[str, _FileHits] = {}
    for chunk in _chunks(files) if files else []:  # rg given no file would search its working folder
        _split_files(_rg(argv, chunk, root, pattern, deadline), found, counted_by_lines=counted_by_lines)
    return found


def _rg(argv: list[str], files: list[str], root: Path, pattern: str, deadline: tuple[float, float],
        stdin: bytes | None = None) -> bytes:
    """rg's output over ``files`` (``["-"]`` and ``stdin``: over those bytes)."""
    try:
        done = subprocess.run([*argv, *files], cwd=root, capture_output=True,
                              timeout=max(deadline[0] - time.monotonic(), 0.01),
                              input=stdin, stdin=subprocess.DEVNULL if stdin is None else None)
    except subprocess.TimeoutExpired:
        raise ToolError(f"the search for {pattern!r} took longer than {deadline[1]:g} s and was stopped; narrow it "
                        f"with path= or glob=, or use a simpler pattern") from None
    if done.returncode == 2:
        stderr = done.stderr.decode("utf-8", "replace")
        if _PARSE_ERROR.search(stderr):
            raise InvalidPatternError(_pattern_message(pattern, stderr), pattern=pattern)
        if stderr.strip() and not done.stdout:  # file errors are silenced (--no-messages): a deleted file
            raise ToolError(f"ripgrep failed: {stderr.strip()}")  # is simply not found
    return done.stdout


def _holding_secrets(tree: TreeView, view: RedactedView, files: list[str]) -> set[str]:
    """The files whose text holds a secret (each file scanned once per blob id, then cached by the view).

    Which files get searched in their redacted text must not depend on the pattern: choosing them by a raw match
    would answer ``SECRET_PREFIX|[REDACTED`` differently depending on the secret.
    """
    holders = set()
    for name in files:
        entry = tree.entry(name)
        assert entry is not None  # files are listed ones
        try:
            if view.spans(entry):
                holders.add(name)
        except FileNotInRepositoryError:
            continue  # deleted since loading: rg skips it quietly too
    return holders


def _on_disk(tree: TreeView, files: list[str]) -> list[str]:
    """The names ripgrep must be given: a file whose name is not UTF-8 is listed escaped (see FileEntry)."""
    return [entry.disk_path if (entry := tree.entry(name)) is not None else name for name in files]


def _chunks(files: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    size = 0
    for name in files:
        cost = len(os.fsencode(name)) + 1
        if chunks[-1] and size + cost > ARGS_BYTES_PER_RUN:
            chunks.append([])
            size = 0
        chunks[-1].append(name)
        size += cost
    return chunks


def _split_files(output: bytes, found: dict[str, _FileHits], *, counted_by_lines: bool, name: str | None = None,
                 ) -> None:
    """Split rg's ``--heading --null`` output into files; count matching lines without parsing every line.

    A file's block is ``path\\0<first line>\\n<line>...``, blocks separated by an empty line; lines are
    ``<n>:<col>:<text>`` (match), ``<n>-<text>`` (context) or ``--`` (gap). Only the files shown get parsed.
    ``name`` names the one file searched on stdin.
    """
    for block in output.split(b"\n\n"):
        path, sep, body = block.partition(b"\0")
        if not sep:
            continue
        body = body.rstrip(b"\n")
        matches = body.count(b"\n") + 1 if counted_by_lines else len(_MATCH_LINE.findall(body))
        found[name if name is not None else display_path(os.fsdecode(path))] = _FileHits(body, matches)


def _parse_lines(body: bytes) -> list[_Line]:
    lines: list[_Line] = []
    for raw in body.split(b"\n"):
        if raw == b"--":
            continue
        number, kind, rest = _split_number(raw)
        if kind == b":":
            column_text, _, text = rest.partition(b":")
            lines.append(_Line(number, True, int(column_text), text))
        else:
            lines.append(_Line(number, False, 0, rest))
    return lines


def _split_number(rest: bytes) -> tuple[int, bytes, bytes]:
    i = 0
    while i < len(rest) and 48 <= rest[i] <= 57:
        i += 1
    return int(rest[:i]), rest[i:i + 1], rest[i + 1:]


def _pattern_message(pattern: str, stderr: str) -> str:
    reason = next((ln.strip()[len("error:"):].strip() for ln in stderr.splitlines()
                   if ln.strip().startswith("error:")), "it does not parse")
    return (f"invalid regular expression {pattern!r}: {reason}. Escape special characters with \\ or pass "
            f"fixed_strings=True; look-around and backreferences are not supported")


def _render(found: dict[str, _FileHits], max_results: int, context: int,
            view: RedactedView | None) -> tuple[list[str], int]:
    """The first ``max_results`` matching lines (by path, then line) with their context, and how many were shown."""
    selection: list[tuple[str, list[int]]] = []
    parsed: dict[str, dict[int, _Line]] = {}
    shown = 0
    for name in sorted(found):
        if shown >= max_results:
            break
        keep: set[int] = set()
        lines = sorted(_parse_lines(found[name].body), key=lambda line: line.number)
        parsed[name] = {line.number: line for line in lines}
        available = parsed[name].keys()
        for line in lines:
            if not line.is_match:
                continue
            if shown >= max_results:
                break
            shown += 1
            keep.update(n for n in range(line.number - context, line.number + context + 1) if n in available)
        selection.append((name, sorted(keep)))
    out: list[str] = []
    for name, numbers in selection:
        by_number = parsed[name]
        shown_name = view.name(name) if view is not None else name
        previous: int | None = None
        for number in numbers:
            starts_group = previous is None or number > previous + 1
            if context and starts_group and out:
                out.append("--")
            line = by_number[number]
            mark = ":" if line.is_match else "-"
            out.append(f"{shown_name}{mark}{number}{mark} {_show(line)}")
            previous = number
    return out, shown


def _show(line: _Line) -> str:
    """A line of rg's output (from the redacted view when redaction is on), cut around the match when long."""
    text = _decode(line.text).rstrip("\r").replace("\0", "\\0")
    match_at = len(_decode(line.text[:max(line.column - 1, 0)])) if line.column else 0
    if len(text) <= MAX_GREP_LINE_CHARS:
        return text
    start = max(0, min(match_at - MAX_GREP_LINE_CHARS // 3, len(text) - MAX_GREP_LINE_CHARS))
    window = text[start:start + MAX_GREP_LINE_CHARS]
    before = f"...[{start:,} chars] " if start else ""
    after_count = len(text) - start - MAX_GREP_LINE_CHARS
    after = f" ...[{after_count:,} chars]" if after_count > 0 else ""
    return before + window + after


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def compile_glob(glob: str):
    """A predicate over repository paths for a ripgrep-style glob.

    ``*`` and ``?`` stay inside one folder, ``**`` crosses folders, ``[abc]`` and ``{py,pyi}`` work; a glob without
    ``/`` matches the file name anywhere (``*.py``), one with ``/`` matches the whole path (``src/**/*.ts``);
    a leading ``!`` negates.
    """
    negate = glob.startswith("!")
    body = glob[1:] if negate else glob
    body = body.strip().replace("\\", "/").lstrip("/")
    body = body.removeprefix("./")
    on_name = "/" not in body.rstrip("/")
    regex = re.compile(_glob_regex(body.rstrip("/")) + ("" if on_name else "(?:/.*)?") + r"\Z", re.DOTALL)

    def matches(path: str) -> bool:
        subject = path.rsplit("/", 1)[-1] if on_name else path
        hit = regex.match(subject) is not None
        if on_name and not hit:  # a bare folder name like "tests" selects everything inside that folder
            hit = any(regex.match(part) for part in path.split("/")[:-1])
        return hit != negate

    return matches


def _glob_regex(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = glob.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                inner = glob[i + 1:end]
                inner = "^" + inner[1:] if inner.startswith("!") else inner
                out.append("[" + inner.replace("\\", "\\\\") + "]")
                i = end
        elif c == "{":
            end = glob.find("}", i)
            if end == -1:
                out.append(re.escape(c))
            else:
                options = glob[i + 1:end].split(",")
                out.append("(?:" + "|".join(_glob_regex(option) for option in options) + ")")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
