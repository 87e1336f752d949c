"""The model's findings -> verified, deduplicated, ranked report data.

Order of work in ``build_report``::

    parse_findings(submission)          untrusted model output -> Finding objects + parse problems
    synthesizer(question, answer, ...)  optional model step (merge, reword); plugged in by the caller
    verify_findings(findings, repo)     every cited location re-read at the audited ref
    dedupe(...) then rank(...)          identical findings merged; verified first, then severity, then path/line
    (merge_same_place(...)              instead, for several answers to one prompt: one finding per place)

Verification runs after the model step on purpose: whatever the model writes last is still checked against the code.

What verification decides (``Finding.verified``):

* True: the quoted evidence is at the cited lines (compared ignoring whitespace and blank lines, tolerant of
  ``"  12 | "`` / ``"12: "`` line-number prefixes, code fences, ``...`` elision lines, and a partial first or last
  line); or it was found within ``window`` lines of them, or once elsewhere in the same file, and the location was
  moved there (the note says "moved from line 40 to 52" and ``reported_location`` keeps the original).
* False: the path does not exist at the audited ref (after ``./`` and backslash clean-up, and a unique
  ``.../path`` suffix match), the file is binary, the evidence is not in the file, the cited line is past the end
  of the file and the evidence is not found, or the evidence occurs several times but none near the cited line.
* None (not checked; never counted as verified): no evidence was quoted, so the cited lines are shown instead, or
  the evidence is too short to mean anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Protocol, Sequence

from repo_auditor.errors import RepoAuditorError
from repo_auditor.findings.finding import Finding, clean_evidence, parse_findings
from repo_auditor.findings.locations import Location
from repo_auditor.findings.report import Coverage, ModelUsage, RepoInfo, Report
from repo_auditor.tools.paths import normalize_path

# A finding whose evidence is not in the cited file is looked for in the other files only in repositories this small
# (reading every file per such finding); bigger files are skipped (generated data, not code a finding quotes).
MAX_FILES_FOR_FILE_MOVE = 2_000
MAX_BYTES_FOR_FILE_MOVE = 1_000_000
DEFAULT_WINDOW = 30  # lines either side of the cited line in which moved evidence is still "the same place"
MAX_FILLED_LINES = 20  # cited lines shown as evidence when the model quoted none
MAX_ELISION_GAP = 500  # lines an "..." elision may stand for
MIN_EVIDENCE_CHARS = 4  # non-whitespace characters below which evidence proves nothing ("}", "x")
MAX_SPANS = 200  # matches collected per finding; more only means "ambiguous"

# "...", "…", "# ...", "// ... (20 lines omitted) ...", "/* ... */": a line standing for skipped code.
_ELISION = re.compile(
    r"^(?:#|//|--|;|/\*|<!--)?\s*(?:\.{3,}|…)\s*"
    r"(?:[\[(]?[\w\s,]*\b(?:lines?|omitted|elided|snip\w*|truncated|more|rest|code)\b[\w\s,]*[\])]?)?"
    r"\s*(?:\.{3,}|…)?\s*(?:\*/|-->)?$",
    re.IGNORECASE,
)


class SourceTree(Protocol):
    """What verification needs from a repository; ``repo_auditor.repository.Repository`` provides it."""

    files: Sequence[Any]  # entries with a ``.path``

    def get(self, path: str) -> Any | None: ...  # an entry with ``.binary``, or None

    def read_text(self, path: str) -> str: ...


class Synthesizer(Protocol):
    """The optional model step between parsing and verification: given the question, the model's answer and its
    parsed findings, return a (possibly rewritten) answer and findings. Whatever it returns is verified next."""

    def __call__(self, question: str, answer: str, findings: list[Finding]) -> tuple[str, list[Finding]]: ...


@dataclass(frozen=True)
class _Span:
    start: int
    end: int

    def location(self, path: str) -> Location:
        return Location(path, self.start, self.end if self.end != self.start else None)


def build_report(
    question: str,
    answer: str,
    submission: object,
    repo: SourceTree,
    *,
    repo_info: RepoInfo,
    coverage: Coverage,
    usage: Iterable[ModelUsage] = (),
    trajectory: Iterable[dict[str, Any]] = (),
    synthesizer: Synthesizer | None = None,
    window: int = DEFAULT_WINDOW,
    answers: int = 1,
) -> Report:
    """Turn the model's submitted answer and findings into a Report: parse, optional model step, verify, dedupe,
    rank. ``submission`` is whatever the model passed as findings (list, dict, or JSON text); ``answers`` > 1: it
    holds the findings of that many answers to one prompt, merged by place (``merge_same_place``)."""
    findings, problems = parse_findings(submission)
    answer = answer if isinstance(answer, str) else str(answer)
    if synthesizer is not None:
        answer, findings = synthesizer(question, answer, findings)
    checked = verify_findings(findings, repo, window=window)
    findings = merge_same_place(checked, answers) if answers > 1 else rank(dedupe(checked))
    return Report(
        question=question, answer=answer, findings=tuple(findings), coverage=coverage, repo=repo_info,
        usage=tuple(usage), trajectory=tuple(trajectory), problems=tuple(problems),
    )


def verify_findings(findings: Iterable[Finding], repo: SourceTree, *, window: int = DEFAULT_WINDOW) -> list[Finding]:
    """Re-read every cited location in ``repo`` and return the findings (same order) with ``verified``,
    ``verification_note`` and, when the evidence moved, a corrected ``location`` (see the module docstring)."""
    if window < 0:
        raise ValueError(f"window must be 0 or more lines, got {window}")
    cache: dict[str, list[str] | str] = {}
    return [_verify(finding, repo, window, cache) for finding in findings]


def rank_key(finding: Finding) -> tuple[int, int, str, int, str]:
    """Verified (and not refuted by a support check) first, then not checked, then unverified or refuted; within
    each, higher severity, then path and line."""
    status = 0 if finding.counts else 1 if finding.verified is None else 2
    return (status, -int(finding.severity), finding.location.path, finding.location.line or 0, finding.title)


def rank(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=rank_key)


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """Keep one finding per fingerprint (same path, title and evidence, normalised): the best-ranked one, at the
    position of the first occurrence."""
    best: dict[str, Finding] = {}
    for finding in findings:
        key = finding.fingerprint
        if key not in best or rank_key(finding) < rank_key(best[key]):
            best[key] = finding
    return list(best.values())


def merge_same_place(findings: Iterable[Finding], answers: int) -> list[Finding]:
    """One finding per place (path and first line, after verification) out of the findings of ``answers``
    answers to the same prompt (the direct strategy's samples), in place of ``dedupe``.

    A small model asked eight times reports the same flaw under several titles and quotes the line with other
    whitespace or quote marks, so fingerprints differ; at the same verified place they are the same claim. Each
    place keeps its best-ranked finding with the note "reported N times in M answers", and how often is a signal of
    its own (self-consistency): within a verification status, places more answers agree on come first, then as
    ``rank`` orders them."""
    places: dict[tuple[str, int | None], list[Finding]] = {}
    for finding in findings:
        places.setdefault((finding.location.path, finding.location.line), []).append(finding)
    merged = []
    for group in places.values():
        best = min(group, key=rank_key)
        times = "once" if len(group) == 1 else f"{len(group)} times"
        merged.append((len(group), replace(best, notes=(*best.notes, f"reported {times} in {answers} answers"))))
    merged.sort(key=lambda item: (rank_key(item[1])[0], -item[0], rank_key(item[1])))
    return [finding for _, finding in merged]


def _verify(finding: Finding, repo: SourceTree, window: int, cache: dict[str, list[str] | str]) -> Finding:
    cited = finding.location
    resolved = _resolve_path(cited.path, repo)
    if isinstance(resolved, _Problem):
        return finding.with_verification(False, resolved.message)
    path, path_note = resolved
    if path not in cache:
        cache[path] = _read_lines(path, repo)
    lines = cache[path]
    if isinstance(lines, str):
        return finding.with_verification(False, lines)
    if path != cited.path:
        finding = replace(finding, location=Location(path, cited.line, cited.end_line),
                          reported_location=finding.reported_location or cited)
    result = _place(finding, lines, window)
    if path_note:
        note = f"{path_note}; {result.verification_note}" if result.verification_note else path_note
        result = replace(result, verification_note=note)
    if result.verified is False and not path_note:
        return _found_in_another_file(result, path, repo, cache) or result
    return result


def _found_in_another_file(finding: Finding, cited_path: str, repo: SourceTree,
                           cache: dict[str, list[str] | str]) -> Finding | None:
    """The finding moved to the one other file whose lines hold its evidence exactly once (small models quote the
    right code under the wrong file), or None. Searched only in repositories of up to ``MAX_FILES_FOR_FILE_MOVE``
    files; the note keeps the cited place."""
    files = [e for e in getattr(repo, "files", ()) if not getattr(e, "binary", False)]
    if len(files) > MAX_FILES_FOR_FILE_MOVE or len(" ".join(finding.evidence.split())) < MIN_EVIDENCE_CHARS:
        return None
    chunks = _evidence_chunks(finding.evidence)
    found: list[tuple[str, _Span]] = []
    for entry in files:
        if entry.path == cited_path or getattr(entry, "size", 0) > MAX_BYTES_FOR_FILE_MOVE:
            continue
        if entry.path not in cache:
            cache[entry.path] = _read_lines(entry.path, repo)
        lines = cache[entry.path]
        if isinstance(lines, str):
            continue
        found += [(entry.path, span) for span in _find(chunks, lines)]
        if len(found) > 1:
            return None  # ambiguous: the finding stays where the model put it, unverified
    if len(found) != 1:
        return None
    path, span = found[0]
    cited = finding.reported_location or finding.location
    where = f"{cited.path}:{cited.line}" if cited.line else cited.path
    return finding.with_verification(True, f"moved from {where} to {path}:{span.start}: the evidence is there, not in "
                                         f"the cited file", location=span.location(path), reported_location=cited)


@dataclass(frozen=True)
class _Problem:
    message: str


def _resolve_path(raw: str, repo: SourceTree) -> tuple[str, str | None] | _Problem:
    if repo.get(raw) is not None:  # exactly a listed name (e.g. one shown with \xNN escapes)
        return raw, None
    try:
        path = normalize_path(raw, repo if hasattr(repo, "root") and hasattr(repo, "ref") else None)
    except RepoAuditorError as exc:
        return _Problem(f"path {raw[:200]!r} is not a file of the repository ({exc})")
    if path and repo.get(path) is not None:
        return path, None
    if _MARKER.search(raw):
        unmasked = _unmask(raw, repo)
        if unmasked is not None:
            return unmasked, None
    suffix = "/" + path
    matches = [e.path for e in getattr(repo, "files", ()) if path and e.path.endswith(suffix)]
    if len(matches) == 1:
        return matches[0], f"path corrected from {raw!r} to {matches[0]!r}"
    where = _where(repo)
    if len(matches) > 1:
        return _Problem(f"no file {path!r} {where}; several files end with it ({', '.join(matches[:5])})")
    return _Problem(f"no file {path!r} {where}")


_MARKER = re.compile(r"\[REDACTED:[^\]/]{1,80}\]")


def _unmask(shown: str, repo: SourceTree) -> str | None:
    """The one file whose name the model saw as ``shown`` (a secret in it replaced by a ``[REDACTED:kind]``
    marker), or None when no file or several redact to it. Files are narrowed by the unredacted parts first."""
    from repo_auditor.tools.view import redact_name

    pieces = _MARKER.split(shown.strip())
    pattern = re.compile(".+?".join(re.escape(piece) for piece in pieces), re.DOTALL)
    found = [e.path for e in getattr(repo, "files", ()) if pattern.fullmatch(e.path) and redact_name(e.path) == shown]
    return found[0] if len(found) == 1 else None


def _where(repo: SourceTree) -> str:
    ref = getattr(repo, "ref", None)
    return f"at {ref!r}" if isinstance(ref, str) else "in the audited tree"


def _read_lines(path: str, repo: SourceTree) -> list[str] | str:
    """The file's lines (numbered like editors and ripgrep: split on \\n only), or a message why not."""
    entry = repo.get(path)
    if getattr(entry, "binary", False):
        return f"{path!r} is a binary file; there are no lines to cite"
    try:
        text = repo.read_text(path)
    except RepoAuditorError as exc:
        return f"{path!r} could not be read ({exc})"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _place(finding: Finding, lines: list[str], window: int) -> Finding:
    cited = finding.location
    path, total = cited.path, len(lines)
    start, end = cited.line, cited.last_line
    past_end = start is not None and start > total
    eof_note = f"line {start} is past the end of {path} ({total} lines)"

    chunks = _evidence_chunks(finding.evidence)
    if not chunks:
        if start is None:
            return finding.with_verification(None, "no evidence quoted and no line cited; nothing was checked")
        if past_end:
            return finding.with_verification(False, eof_note)
        assert end is not None
        shown = lines[start - 1: min(end, start + MAX_FILLED_LINES - 1)]
        return finding.with_verification(
            None, "no evidence quoted; the cited lines are shown, not checked", evidence="\n".join(shown))
    if sum(len(line) for chunk in chunks for line in chunk) < MIN_EVIDENCE_CHARS:
        return finding.with_verification(None, "the quoted evidence is too short to check")

    spans = _find(chunks, lines)
    if not spans:  # the code quoted with the other quote marks ('x' for "x") is still the code
        spans = _find([[_unquoted(line) for line in chunk] for chunk in chunks], [_unquoted(line) for line in lines])
        if spans:
            placed = _place_spans(finding, spans, lines, window)
            if placed.verified:
                first = placed.location.line
                shown = "\n".join(lines[first - 1: min(placed.location.last_line, first + MAX_FILLED_LINES - 1)])
                placed = placed.with_verification(True, f"{placed.verification_note}; quoted with other quote marks, "
                                                  "the code is shown", evidence=shown)
            return placed
        note = f"evidence not found in {path}" + (f"; {eof_note}" if past_end else "")
        return finding.with_verification(False, note)
    return _place_spans(finding, spans, lines, window)


def _place_spans(finding: Finding, spans: list[_Span], lines: list[str], window: int) -> Finding:
    """Place a finding whose evidence occurs at ``spans`` of the cited file."""
    cited = finding.location
    path, start, end = cited.path, cited.line, cited.last_line
    past_end = start is not None and start > len(lines)
    if start is None:
        if len(spans) == 1:
            return finding.with_verification(True, f"no line cited; evidence found at line {spans[0].start}",
                                             location=spans[0].location(path))
        return finding.with_verification(
            False, f"no line cited and the evidence appears {len(spans)} times in {path} ({_lines(spans)})")
    assert end is not None
    overlapping = [s for s in spans if s.start <= end and s.end >= start]
    if overlapping:
        span = min(overlapping, key=lambda s: abs(s.start - start))
        inside = start <= span.start and span.end <= end
        return finding.with_verification(
            True, "evidence matches the cited lines", location=cited if inside else span.location(path))

    def distance(span: _Span) -> int:
        return min(abs(span.start - start), abs(span.end - start), abs(span.start - end), abs(span.end - end))

    near = [s for s in spans if distance(s) <= window]
    if near:
        span = min(near, key=distance)
        return _moved(finding, span, f"moved from line {start} to {span.start}")
    if len(spans) == 1:
        reason = "past the end of the file" if past_end else f"not within {window} lines"
        return _moved(finding, spans[0], f"moved from line {start} to {spans[0].start} (cited line {reason}; "
                                          f"the evidence occurs once in the file)")
    return finding.with_verification(
        False, f"evidence not at line {start}; it appears {len(spans)} times elsewhere in {path} "
               f"({_lines(spans)}), so the finding cannot be placed")


def _moved(finding: Finding, span: _Span, note: str) -> Finding:
    return finding.with_verification(True, note, location=span.location(finding.location.path),
                                     reported_location=finding.reported_location or finding.location)


_QUOTES = str.maketrans({'"': "'", "`": "'", "\u2018": "'", "\u2019": "'", "\u201c": "'", "\u201d": "'"})


def _unquoted(text: str) -> str:
    """``text`` with every quote mark the same: a model that copies ``"%s" % name`` as ``'%s' % name``."""
    return text.translate(_QUOTES)


def _lines(spans: list[_Span]) -> str:
    shown = ", ".join(str(s.start) for s in spans[:5])
    return f"lines {shown}" + (", ..." if len(spans) > 5 else "")


def _evidence_chunks(evidence: str) -> list[list[str]]:
    """Evidence -> runs of whitespace-free lines, split at elision lines; fences and line numbers removed."""
    lines = clean_evidence(evidence).split("\n")
    chunks: list[list[str]] = [[]]
    for line in lines:
        stripped = line.strip()
        if _ELISION.match(stripped):
            if chunks[-1]:
                chunks.append([])
            continue
        squeezed = "".join(stripped.split())
        if squeezed:
            chunks[-1].append(squeezed)
    return [chunk for chunk in chunks if chunk]


def _find(chunks: list[list[str]], lines: list[str]) -> list[_Span]:
    """Every place where the chunks occur in order (each chunk on consecutive non-blank lines)."""
    numbered = [(i + 1, "".join(line.split())) for i, line in enumerate(lines) if line.strip()]
    texts = [text for _, text in numbered]
    spans: list[_Span] = []
    first = chunks[0]
    for i in range(len(texts) - len(first) + 1):
        if not _chunk_at(first, texts, i):
            continue
        last = i + len(first) - 1
        for chunk in chunks[1:]:
            limit = min(len(texts) - len(chunk) + 1, last + 1 + MAX_ELISION_GAP)
            found = next((k for k in range(last + 1, limit) if _chunk_at(chunk, texts, k)), None)
            if found is None:
                break
            last = found + len(chunk) - 1
        else:
            spans.append(_Span(numbered[i][0], numbered[last][0]))
            if len(spans) >= MAX_SPANS:
                break
    return spans


def _chunk_at(chunk: list[str], texts: list[str], at: int) -> bool:
    final = len(chunk) - 1
    return all(_line_matches(pattern, texts[at + j], partial=j in (0, final)) for j, pattern in enumerate(chunk))


def _line_matches(pattern: str, line: str, *, partial: bool) -> bool:
    """Whitespace-free comparison; the first and last lines of a chunk may be fragments; inline ``...`` skips."""
    if pattern == line or (partial and pattern in line):
        return True
    if "..." in pattern or "…" in pattern:
        pieces = [p for p in re.split(r"\.{3,}|…", pattern) if p]
        position = 0
        for piece in pieces:
            found = line.find(piece, position)
            if found < 0:
                return False
            position = found + len(piece)
        return bool(pieces)
    return False
