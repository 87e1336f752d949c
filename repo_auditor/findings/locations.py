"""Where a model says a finding is: ``Location`` and the parsing of the shapes models write it in.

``"path": "a.py", "line": 10``, ``"line": "10-20"``, ``"L10-L20"``, ``[10, 20]``, ``"location": "a.py:10"`` or a
dict, ``"path": "a.py:10-20"``; an unusable value becomes a message for a ``FindingParseProblem``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# A backslash that does not start a \\xNN escape of a non-UTF-8 file name (see FileEntry).
_WINDOWS_SEPARATOR = re.compile(r"\\(?!x[0-9a-fA-F]{2})")
# A model can send anything; these caps keep one hostile or runaway finding from flooding a report.
MAX_PATH_CHARS = 4096  # the same cap the path tools apply
MAX_LINE_NUMBER = 10_000_000  # no source file has more lines; a bigger number is garbage


@dataclass(frozen=True)
class Location:
    """A place in the audited tree: a repository-relative path and a 1-based line range (no ``line``: the file)."""

    path: str
    line: int | None = None
    end_line: int | None = None

    def __post_init__(self) -> None:
        if self.line is not None and self.line < 1:
            raise ValueError(f"line must be 1 or more, got {self.line}")
        if self.end_line is not None and (self.line is None or self.end_line < self.line):
            raise ValueError(f"end_line {self.end_line} must be at or after line {self.line}")

    @property
    def last_line(self) -> int | None:
        return self.end_line if self.end_line is not None else self.line

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.end_line is None or self.end_line == self.line:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}-{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "end_line": self.end_line}


# Where models put a finding's start and end line (first present wins).
LINE_KEYS = ("line", "start_line", "line_start", "lines", "line_range", "line_number", "start")
END_KEYS = ("end_line", "line_end", "end")


def first_present(data: dict[str, Any], *keys: str) -> Any:
    """The value of the first of ``keys`` that ``data`` holds and is neither None nor empty text."""
    for key in keys:
        value = data.get(key)
        if value is not None and value != "":
            return value
    return None


_LOCATION_TEXT = re.compile(
    r"^(?P<path>.+?)(?:(?::|#L|#|,\s*lines?\s*|\s+lines?\s+)(?P<start>L?\d+)(?:\s*[-–:]\s*L?(?P<end>\d+))?)?:?$",
    re.IGNORECASE,
)


def parse_location(data: dict[str, Any]) -> Location | str:
    """The finding's location, or a message saying what is wrong with it."""
    loc = data.get("location")
    path: object = first_present(data, "path", "file", "filename", "file_path", "filepath")
    line: object = first_present(data, *LINE_KEYS)
    end: object = first_present(data, *END_KEYS)
    if isinstance(loc, dict):
        inner = {str(k).lower(): v for k, v in loc.items()}
        path = path if path is not None else first_present(inner, "path", "file", "filename")
        line = line if line is not None else first_present(inner, "line", "start_line", "start", "lines")
        end = end if end is not None else first_present(inner, "end_line", "end", "line_end")
    elif isinstance(loc, str) and loc.strip():
        match = _LOCATION_TEXT.match(loc.strip())
        if match:
            path = path if path is not None else match["path"].strip()
            line = line if line is not None else match["start"]
            end = end if end is not None else match["end"]
    if not isinstance(path, str) or not path.strip():
        return "missing 'path' (the repository-relative file the finding is about, like 'src/app.py')"
    # Windows separators become "/", but not the \\xNN escapes of a file name that is not UTF-8 (see FileEntry);
    # verification resolves a path that is neither against the repository.
    path = _WINDOWS_SEPARATOR.sub("/", path.strip())
    while path.startswith("./"):
        path = path[2:].lstrip("/")
    if not path or len(path) > MAX_PATH_CHARS or "\0" in path or "\n" in path:
        return "'path' is not a file path (too long, or contains NUL or newline characters)"
    if ":" in path and not re.match(r"^[A-Za-z]:[\\/]", path):
        match = _LOCATION_TEXT.match(path)  # "a.py:10-20" given as the path, with or without a separate line
        if match and match["start"]:
            path = match["path"].strip()
            line, end = (match["start"], end if end is not None else match["end"]) if line is None else (line, end)
    start_n, end_n = line_range(line)
    if isinstance(start_n, str):
        return start_n
    if end is not None:
        end_value, _ = line_range(end)
        if isinstance(end_value, int):  # an unusable end_line is dropped: the start line is still a location
            end_n = end_value
    if start_n is None:
        end_n = None
    if end_n is not None and start_n is not None and end_n < start_n:
        start_n, end_n = end_n, start_n  # "20-10": the model swapped them
    if end_n == start_n:
        end_n = None
    return Location(path, start_n, end_n)


def line_range(value: object) -> tuple[int | None | str, int | None]:
    """(start, end) from 10, "10", "L10-L20", [10, 20]; start is a message string when the value is unusable."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return f"line {value!r} is not a line number", None
    if isinstance(value, (list, tuple)) and 1 <= len(value) <= 2:
        first, _ = line_range(value[0])
        last, _ = line_range(value[-1])
        if isinstance(first, str) or isinstance(last, str):
            return f"line {short_repr(value, 40)} is not a line range", None
        return first, last if isinstance(last, int) else None
    number: float | None = None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*(?:lines?\s*)?L?(\d+)(?:\s*(?:-|–|:|to|\.\.)\s*L?(\d+))?\s*", value, re.IGNORECASE)
        if not match:
            return f"line {value[:40]!r} is not a line number (use 12 or '12-20')", None
        start, end = int(match[1]), int(match[2]) if match[2] else None
        if not 1 <= start <= MAX_LINE_NUMBER or (end is not None and not 1 <= end <= MAX_LINE_NUMBER):
            return f"line {value[:40]!r} is out of range (lines start at 1)", None
        return start, end
    if number is None or not math.isfinite(number) or number != int(number):
        return f"line {short_repr(value, 40)} is not a line number", None
    if not 1 <= number <= MAX_LINE_NUMBER:
        return f"line {int(number)} is out of range (lines start at 1)", None
    return int(number), None


def short_repr(value: object, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not take the run down
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
