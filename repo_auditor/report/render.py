"""Report data -> Markdown (through jinja2 templates) or JSON. The only module that imports jinja2.

Templates are rendered with ``StrictUndefined``: a template that names a value that does not exist raises ReportError
(naming the template, the line and the missing name) instead of leaving a blank in the report. Autoescaping is off
(the output is Markdown); model-provided text goes through these filters instead:

``md``     one line of untrusted text (titles, paths, notes): Markdown and HTML characters escaped, newlines folded.
``prose``  untrusted multi-line Markdown (the answer, explanations): kept as Markdown, but raw HTML is escaped,
           headings and setext underlines are neutralised (a model cannot forge report sections) and an unclosed
           code fence is closed.
``code``   a fenced code block whose fence is longer than any backtick run inside, so evidence cannot break out.
``inline_code``  the same for a one-line code span.

A user template folder overrides shipped templates by file name (``audit.md.j2``, ``finding.md.j2``,
``coverage.md.j2``); the others still come from the shipped folder.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from pathlib import Path
from typing import Any

import jinja2

from repo_auditor.errors import ConfigurationError, ReportError
from repo_auditor.findings import Coverage, Finding, Location, RepoInfo, Report, Severity, web_url_from_remote
from repo_auditor.repository.languages import language_for

__all__ = ["FORMATS", "render", "shipped_template_dir", "web_url_from_remote", "escape_markdown", "escape_prose",
           "code_block", "inline_code"]

FORMATS = ("markdown", "json")
MARKDOWN_TEMPLATE = "audit.md.j2"
MAX_LISTED_FILES = 200  # files listed in the coverage section; the rest are counted


def render(report: Report, format: str = "markdown", template_dir: str | os.PathLike[str] | None = None, *,
           template: str | None = None) -> str:
    """Render ``report`` as ``"markdown"`` (through ``template``, default ``audit.md.j2``, looked up first in
    ``template_dir``, then among the shipped templates) or ``"json"`` (``Report.to_dict()``, indented; templates are
    not used). Raises ReportError for a missing template or a template error, ConfigurationError for an unknown
    format. Paths are written as the model saw them (``Report.shown``)."""
    report = report.shown()
    if format == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if format not in ("markdown", "md"):
        raise ConfigurationError(f"unknown report format {format!r}; use one of: {', '.join(FORMATS)}")
    return _render_template(_environment(template_dir), template or MARKDOWN_TEMPLATE, _context(report))


def check_templates(template_dir: str | os.PathLike[str] | None, template: str | None = None) -> None:
    """Render a small sample report through the templates, so a broken template folder fails before any model is
    paid for (ReportError, naming the template, line and value)."""
    sample = Report(
        question="preflight", answer="", coverage=Coverage(), repo=RepoInfo(".", None, None, None),
        findings=(Finding(title="sample", severity=Severity.LOW, location=Location("a.py", 1, 1), evidence="x",
                          explanation="", verified=True),),
    )
    render(sample, "markdown", template_dir, template=template)


def _render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render template ``name``, turning every jinja2 failure into a one-line ReportError that says what to fix."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        names = sorted(n for n in env.list_templates() if not n.rsplit("/", 1)[-1].startswith("."))
        available = ", ".join(names) or "none"
        raise ReportError(f"no report template named {exc.name!r}; available templates: {available}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ReportError(f"template {exc.name or exc.filename or name!r} line {exc.lineno}: {exc.message}; "
                          f"fix the template's syntax") from None
    except jinja2.UndefinedError as exc:
        where = _template_frame(exc, env)
        raise ReportError(f"template {where}: {exc.message}; the value does not exist in the report context "
                          f"(fix the template or remove the reference)") from None
    except jinja2.TemplateError as exc:
        where = _template_frame(exc, env)
        raise ReportError(f"template {where}: {exc}") from None


def shipped_template_dir() -> Path:
    """The folder of shipped templates: ``repo_auditor/templates`` inside an installed wheel, or the source tree's
    ``templates/`` folder in an editable install."""
    packaged = importlib.resources.files("repo_auditor") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[2] / "templates"
    if (source / MARKDOWN_TEMPLATE).is_file():
        return source
    raise ReportError(f"the shipped report templates are missing (looked in {packaged} and {source}); "
                      f"reinstall repo_auditor")


def _environment(template_dir: str | os.PathLike[str] | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        folder = Path(template_dir)
        if not folder.is_dir():
            raise ReportError(f"template folder {str(folder)!r} does not exist or is not a folder; "
                              f"pass a folder holding templates such as {MARKDOWN_TEMPLATE}")
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.FileSystemLoader(str(shipped_template_dir())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown output: untrusted text is escaped explicitly with the filters below
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=escape_markdown, prose=escape_prose, code=code_block, inline_code=inline_code,
                       number=_number, duration=_duration, money=_money)
    return env


def _template_frame(exc: BaseException, env: jinja2.Environment) -> str:
    """'name' line N of the innermost template frame in the traceback (jinja2 maps those frames to template lines)."""
    roots = [Path(p).resolve() for loader in env.loader.loaders  # type: ignore[union-attr]
             for p in getattr(loader, "searchpath", ())]
    found = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<"):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return "(unknown)"
    filename, line = found
    name = Path(filename).name
    for root in roots:
        try:
            name = Path(filename).resolve().relative_to(root).as_posix()
            break
        except ValueError:
            continue
    return f"{name!r} line {line}"


def _context(report: Report) -> dict[str, Any]:
    verified = [_finding_view(f, report) for f in report.verified_findings]
    groups = []
    for severity in sorted(Severity, reverse=True):
        members = [v for v in verified if v["severity"] == severity.label]
        if members:
            groups.append({"severity": severity.label, "title": severity.label.capitalize(), "findings": members})
    coverage = report.coverage
    files = sorted(coverage.files_read.items())
    return {
        "report": report,
        "question": report.question,
        "answer": report.answer,
        "headline": report.headline(),
        "verified": verified,
        "groups": groups,
        "unverified": [_finding_view(f, report) for f in report.unverified_findings],
        "problems": list(report.problems),
        "notes": list(report.notes),
        "stopped": report.stopped,
        "coverage": coverage,
        "files_read": [{"path": p, "lines": n} for p, n in files[:MAX_LISTED_FILES]],
        "files_not_listed": max(0, len(files) - MAX_LISTED_FILES),
        "repo": report.repo,
        "commit": report.repo.commit,
        "tool_version": report.tool_version,
        "generated_at": report.to_dict()["generated_at"],
    }


def _finding_view(finding: Finding, report: Report) -> dict[str, Any]:
    return {
        "id": finding.fingerprint,
        "title": finding.title,
        "severity": finding.severity.label,
        "ref": str(finding.location),
        # links only to places verification saw exist: a refuted finding may cite a path that is not there
        "url": report.repo.blob_url(finding.location) if finding.verified is not False else None,
        "reported_ref": str(finding.reported_location) if finding.reported_location else None,
        "evidence": finding.evidence,
        "language": language_for(finding.location.path) or "",
        "explanation": finding.explanation,
        "verified": finding.verified,
        "note": finding.verification_note,
        "notes": list(finding.notes),
        "finding": finding,
    }


_INLINE_SPECIAL = re.compile(r"[\\`*_\[\]|~$]")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LINE_START = re.compile(r"^(\s*\d*)([#+\-=.)])")


def escape_markdown(value: object) -> str:
    """One line of untrusted text made inert in Markdown: newlines folded to spaces, ``\\ ` * _ [ ] | ~ $`` escaped
    with a backslash, ``& < >`` turned into HTML entities, and a leading ``#``, ``+``, ``-``, ``=`` or ``1.``
    escaped so it cannot start a heading or a list."""
    text = " ".join(str(value).split())
    text = _INLINE_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    text = re.sub(r"[&<>]", lambda m: _HTML[m.group(0)], text)
    if re.match(r"\s*(?:[#+\-=]|\d+[.)])", text):  # would start a heading or a list at the start of a line
        text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)
    return text


_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_HEADING = re.compile(r"^( {0,3})(#)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def escape_prose(value: object) -> str:
    """Untrusted multi-line Markdown kept readable but unable to break the report: see the module docstring."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is not None:
            out.append(line)
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opening = _FENCE_OPEN.match(line)
        if opening and not (opening.group(1)[0] == "`" and "`" in line[opening.end():]):
            fence = opening.group(1)
            out.append(line)
            continue
        if _SETEXT.match(line):
            out.append("\\" + line.lstrip())
            continue
        line = _HEADING.sub(r"\1\\\2", line)
        out.append(_escape_html_outside_code(line))
    if fence is not None:
        out.append(fence)  # the model left a code block open; close it so the rest of the report survives
    return "\n".join(out)


def _escape_html_outside_code(line: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(line):
        pieces.append(re.sub(r"[&<>]", lambda m: _HTML[m.group(0)], line[position:match.start()]))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(re.sub(r"[&<>]", lambda m: _HTML[m.group(0)], line[position:]))
    return "".join(pieces)


def inline_code(value: object) -> str:
    """``value`` as an inline code span (newlines folded), delimited by more backticks than any run inside it."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def code_block(value: object, language: str = "") -> str:
    """A fenced code block holding ``value`` verbatim, fenced with more backticks than any run inside it."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    info = language if re.fullmatch(r"[\w+#.-]*", language or "") else ""
    return f"{fence}{info}\n{text}\n{fence}"


def _number(value: int | float) -> str:
    return f"{value:,}"


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {rest} s" if hours else f"{minutes} min {rest} s"


def _money(cost: float | None) -> str:
    if cost is None:
        return "unknown"
    return f"${cost:,.4f}" if cost < 1 else f"${cost:,.2f}"


REVIEW_TEMPLATE = "review.md.j2"


def render_review(report: Report, review: dict[str, Any], template_dir: str | os.PathLike[str] | None = None) -> str:
    """Render a review as Markdown (a PR comment) through ``review.md.j2``: the audit report context plus ``review``
    (the hidden marker, the compared commits, and the reviewed / skimmed / skipped file lists; see the template).
    Raises ReportError like ``render``."""
    return _render_template(_environment(template_dir), REVIEW_TEMPLATE, {**_context(report), "review": review})


REVIEW_COMMENT_TEMPLATE = "review_comment.md.j2"


def render_review_comment(report: Report, finding: Finding, comment: dict[str, Any],
                          template_dir: str | os.PathLike[str] | None = None) -> str:
    """Render one inline review comment through ``review_comment.md.j2``: ``f`` (the finding view, as in
    ``finding.md.j2``) and ``comment`` (marker, platform, suggestion fence and text, suggestion_problem)."""
    return _render_template(_environment(template_dir), REVIEW_COMMENT_TEMPLATE,
                            {"f": _finding_view(finding, report), "comment": comment})


ARCHITECTURE_TEMPLATE = "architecture.md.j2"


def project_title(inventory: Any) -> str:
    """The project's name from the build file at the repository root when there is one (``pyproject.toml``,
    ``package.json``, ``Cargo.toml``...), else the folder name."""
    for component in inventory.components:
        if component.manifest and "/" not in component.manifest:
            return component.name
    return inventory.repository


def render_architecture(report: Any, template_dir: str | os.PathLike[str] | None = None) -> str:
    """Render an ``architecture.report.ArchitectureReport`` as Markdown through ``architecture.md.j2`` (looked up
    first in ``template_dir``). The context is the inventory (``inv``), the Mermaid source, the changes and the
    narrative (see the template's header). Raises ReportError like ``render``."""
    from repo_auditor.architecture.report import GENERATED_COMMENT

    env = _environment(template_dir)
    env.filters["ratio"] = lambda value: "n/a" if value is None else f"{value:.2f}"
    narrative = report.narrative
    changes = report.changes
    context: dict[str, Any] = {
        "inv": report.inventory,
        "title": project_title(report.inventory),
        "mermaid": report.mermaid.rstrip("\n"),
        "mermaid_caption": report.mermaid_caption,
        "changes": changes,
        "changes_lists": [] if changes is None else changes.listed(),
        "narrative": narrative,
        "stopped": report.stopped,
        "generated_comment": GENERATED_COMMENT,
        "tool_version": report.tool_version,
        "generated_at": report.generated_at_text,
    }
    if narrative is not None:
        files = sorted(narrative.coverage.files_read.items())
        context.update(coverage=narrative.coverage,
                       files_read=[{"path": p, "lines": n} for p, n in files[:MAX_LISTED_FILES]],
                       files_not_listed=max(0, len(files) - MAX_LISTED_FILES))
    return _render_template(env, ARCHITECTURE_TEMPLATE, context)
