"""The redacted view of a repository: what every tool answers from.

A tool never decides from the raw text what the model may learn: ``read_file`` shows lines of the view, ``grep``
matches and counts on the view, ``symbols``, file names and folder listings pass through it. Otherwise the answers
become an oracle: with ``grep`` counting raw matches, a binary search over character classes
(``aws_secret_access_key = "[A-M]``) rebuilt a redacted key in a few hundred calls.

The secrets of a file are found over the WHOLE file (a slice may start inside a private key block or a multi-line
XML element) and cached by git blob id, so a file read in slices and searched again is scanned once. Only the part
that is shown is rewritten (``redacted_slice``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from repo_auditor.tools.redaction import Span, apply_spans, redact, redacted_spans

if TYPE_CHECKING:
    from repo_auditor.repository import FileEntry, Repository

# Files are read whole to slice and redact them; beyond this only the beginning is read (lines past it are
# unreachable, to read_file and to a grep of a file holding a secret alike).
MAX_READ_BYTES = 64 * 1024 * 1024
# Files whose spans stay cached (a few dozen bytes each when the file holds no secret): a large repository's worth.
MAX_CACHED_FILES = 200_000
# File names and other short texts whose redaction stays cached.
MAX_CACHED_NAMES = 100_000


def redact_name(text: str) -> str:
    """A file or folder path (or a short text naming files, such as a verification note) as the model may see it:
    a secret in a name (``keys/AKIA....txt``) is a marker. The tools' listings and every report use this."""
    return redact(text)


class RedactedView:
    """Secrets of one repository's files, by blob id; ``redacted_*`` give what the model may see."""

    def __init__(self, repo: Repository | None = None):
        self.repo = repo
        self._spans: OrderedDict[tuple[str, str], list[Span]] = OrderedDict()
        self._names: dict[str, str] = {}

    def spans(self, entry: FileEntry, text: str | None = None) -> list[Span]:
        """The secrets of ``entry``'s whole text (``text`` when the caller has read it already)."""
        key = (entry.blob_id, entry.path)  # the path picks file rules (.env, .netrc...)
        found = self._spans.get(key)
        if found is not None:
            self._spans.move_to_end(key)
            return found
        if text is None:
            text = self._read(entry)[0]
        found = redacted_spans(text, entry.path)
        self._spans[key] = found
        if len(self._spans) > MAX_CACHED_FILES:
            self._spans.popitem(last=False)
        return found

    def redacted_bytes(self, entry: FileEntry) -> bytes:
        """The whole file as the model may see it, encoded as the file is (what ``grep`` searches)."""
        text, encoding = self._read(entry)
        return apply_spans(text, self.spans(entry, text)).encode(encoding)

    def _read(self, entry: FileEntry) -> tuple[str, str]:
        """The text of ``entry`` as ``read_file`` decodes it (UTF-8, else Latin-1 byte for byte), and that encoding."""
        assert self.repo is not None, "a view without a repository needs the text"
        data = self.repo.read_bytes(entry.path, max_bytes=MAX_READ_BYTES)
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"

    def lines(self, path: str) -> tuple[list[str], list[str]] | None:
        """The raw and the redacted lines of file ``path`` (the same count), or None when it is not a text file of
        the repository (the review's diff takes each content line of a changed file from here)."""
        assert self.repo is not None
        entry = self.repo.get(path)
        if entry is None or entry.binary:
            return None
        text = self._read(entry)[0]
        return text.split("\n"), self.redacted_text(entry, text).split("\n")

    def redacted_text(self, entry: FileEntry, text: str) -> str:
        """The whole file as the model may see it."""
        return apply_spans(text, self.spans(entry, text))

    def redacted_lines(self, entry: FileEntry, text: str, lines: list[str], first: int, stop: int) -> list[str]:
        """``lines[first:stop]`` (``text`` split on ``"\\n"``) as the model may see them. A file without secrets (most
        of them) costs a cached lookup: the character offsets of the lines are counted only when there is one."""
        chunk = lines[first:stop]
        if not chunk or not self.spans(entry, text):
            return chunk
        offset = sum(map(len, lines[:first])) + first
        end = offset + sum(map(len, chunk)) + len(chunk) - 1
        return self.redacted_slice(entry, text, offset, end).split("\n")

    def redacted_slice(self, entry: FileEntry, text: str, start: int, end: int) -> str:
        """``text[start:end]`` as the model may see it; the secrets were found over the whole ``text``."""
        inside = [Span(max(s.start, start) - start, min(s.end, end) - start, s.kind)
                  for s in self.spans(entry, text) if s.end > start and s.start < end]
        return apply_spans(text[start:end], inside)

    def secret_on_line(self, path: str, line: int, word: str) -> str | None:
        """The kind of the secret that ``word`` overlaps on ``line`` of ``path`` (a definition named by a secret),
        else None."""
        assert self.repo is not None
        entry = self.repo.get(path)
        if entry is None or not word:
            return None
        spans = self.spans(entry)
        if not spans:
            return None
        text = self._read(entry)[0]
        start = 0
        for _ in range(line - 1):
            start = text.find("\n", start) + 1
            if start == 0:
                return None
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        for span in spans:
            if span.end <= start or span.start >= end:
                continue
            at = text.find(word, start, end)
            while at != -1:
                if at < span.end and at + len(word) > span.start:
                    return span.kind
                at = text.find(word, at + 1, end)
        return None

    def name(self, path: str) -> str:
        """A file or folder name as the model may see it."""
        shown = self._names.get(path)
        if shown is None:
            shown = redact_name(path)
            if len(self._names) < MAX_CACHED_NAMES:
                self._names[path] = shown
        return shown

    # -- a SourceTree (findings/verify.py): evidence is checked against, and cited lines filled from, the view --

    @property
    def files(self) -> list[FileEntry]:
        assert self.repo is not None
        return self.repo.files

    def get(self, path: str) -> FileEntry | None:
        assert self.repo is not None
        return self.repo.get(path)

    def read_text(self, path: str) -> str:
        """The whole file ``path`` as the model saw it."""
        assert self.repo is not None
        entry = self.repo.get(path)
        if entry is None:
            return self.repo.read_text(path)  # raises the repository's own "no such file"
        text = self._read(entry)[0]
        return self.redacted_text(entry, text)

    def text(self, text: str, path: str | None = None) -> str:
        """Any other text derived from the repository (symbol names, listings, diffs) as the model may see it."""
        return redact(text, path)
