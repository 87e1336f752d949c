"""Reading the model's replies. A reply is untrusted text: prose, then fenced Python.

The rules (each is a row in ``tests/rlm/test_reply.py``):

* Every fenced block tagged ``python``, ``py``, ``python3``, ``py3``, ``ipython``, ``repl`` or untagged is code; several
  such blocks run in order, joined by a blank line. Blocks with another tag (```bash, ```json, ```text) are not run.
* A fence that is never closed runs to the end of the reply (the model was cut off mid-block).
* A reply without any fence runs as code only if all of it parses as Python and it does something (a call, an
  assignment, an import, a loop...): a bare word such as ``Done`` is prose, not code.
* ``<think>...</think>`` sections are reasoning, never code.
* Anything else (an empty reply, prose only, only non-Python blocks, a block with only comments) is a turn error: the
  model is told what to do and the run goes on.

``extract_outputs`` reads the answer of the final extract step: a JSON object or a ``SUBMIT(...)`` call with literal
arguments, never executed.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3", "ipython", "repl", "pycon"})

_FENCE_OPEN = re.compile(r"^[ \t]{0,3}(?P<ticks>`{3,}|~{3,})[ \t]*(?P<tag>[^\s`]*)[^\n`]*$")
_THINK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|\Z)", re.DOTALL | re.IGNORECASE)
# Statements that "do something"; a reply made only of expressions without calls is treated as prose.
_ACTIVE_NODES = (ast.Call, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.For,
                 ast.While, ast.If, ast.With, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Try,
                 ast.Delete, ast.Subscript)
MAX_JSON_STARTS = 200  # bound on '{' positions tried when looking for a JSON object in a reply


@dataclass
class ParsedReply:
    """One reply split into what the model said (``reasoning``) and the code to run (``code``, or None).

    ``problem`` is set when nothing can run; it is the message shown to the model."""

    reasoning: str
    code: str | None
    problem: str | None = None
    skipped_tags: list[str] = field(default_factory=list)
    unclosed: bool = False


@dataclass
class _Block:
    tag: str
    body: str
    closed: bool


HOW_TO_REPLY = ("Reply with a short explanation followed by Python in a fenced block:\n"
                "```python\nprint(len(context))\n```")


def parse_reply(text: str | None) -> ParsedReply:
    """Split a model reply into reasoning and runnable code following the module rules."""
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        return ParsedReply("", None, "Your reply was empty. " + HOW_TO_REPLY)
    thoughts = [m.group(0) for m in _THINK.finditer(text)]
    visible = _THINK.sub("", text)
    prose, blocks = _split_fences(visible)
    runnable = [b for b in blocks if b.tag in PYTHON_TAGS]
    skipped = [b.tag for b in blocks if b.tag not in PYTHON_TAGS]
    reasoning = "\n\n".join(p for p in [*(_strip_think(t) for t in thoughts), *prose] if p.strip()).strip()
    if runnable:
        code = "\n\n".join(textwrap.dedent(b.body).strip("\n") for b in runnable).strip("\n")
        if not _has_statements(code):
            return ParsedReply(reasoning, None, "Your code block held no statements (only comments or blank "
                               "lines). " + HOW_TO_REPLY, skipped)
        return ParsedReply(reasoning, code, None, skipped, unclosed=not runnable[-1].closed)
    if skipped:
        tags = ", ".join(f"```{t}" for t in dict.fromkeys(skipped))
        return ParsedReply(reasoning, None, f"Your reply had {tags} but only Python blocks are run. "
                           + HOW_TO_REPLY, skipped)
    bare = visible.strip()
    if bare and _is_active_python(bare):
        return ParsedReply("", bare)
    return ParsedReply(reasoning, None, "Your reply had no code, so nothing ran. " + HOW_TO_REPLY)


def _strip_think(section: str) -> str:
    return re.sub(r"</?think(?:ing)?>", "", section, flags=re.IGNORECASE).strip()


def _split_fences(text: str) -> tuple[list[str], list[_Block]]:
    prose: list[str] = []
    blocks: list[_Block] = []
    lines = text.split("\n")
    current: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if not match:
            current.append(lines[i])
            i += 1
            continue
        prose.append("\n".join(current).strip())
        current = []
        ticks = match.group("ticks")
        tag = match.group("tag").lower()
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped and set(stripped) == {ticks[0]} and len(stripped) >= len(ticks):
                closed = True
                i += 1
                break
            body.append(lines[i])
            i += 1
        blocks.append(_Block(tag, "\n".join(body), closed))
    prose.append("\n".join(current).strip())
    return [p for p in prose if p], blocks


def _has_statements(code: str) -> bool:
    try:
        return bool(ast.parse(code).body)
    except SyntaxError:
        return True  # let the sandbox report the syntax error with its line number


def _is_active_python(text: str) -> bool:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, _ACTIVE_NODES) for node in ast.walk(tree))


# ----------------------------------------------------------------------------------------------- extract step


class ExtractError(ValueError):
    """The extract reply held neither a JSON object nor a SUBMIT call with literal arguments."""


def extract_outputs(text: str, output_names: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """Find the answer in an extract-step reply: ``(args, kwargs)`` as if passed to ``SUBMIT``.

    Tries, in order: a ``SUBMIT(...)`` call with literal arguments anywhere in the reply, a JSON object (whole reply,
    fenced blocks, then any ``{`` in the text) holding at least one output name. Never executes anything."""
    text = _THINK.sub("", text or "")
    call = _find_submit_call(text)
    if call is not None:
        return call
    obj = _find_json_object(text, set(output_names))
    if obj is not None:
        return [], obj
    raise ExtractError("the reply held neither a JSON object with the output fields nor a SUBMIT(...) call")


def _find_submit_call(text: str) -> tuple[list[Any], dict[str, Any]] | None:
    for match in re.finditer(r"\bSUBMIT\s*\(", text):
        start = match.start()
        # Try successively longer candidate endings: every ')' after the call's start.
        ends = (m.end() for m in re.finditer(r"\)", text[start:]))
        for _, end in zip(range(MAX_JSON_STARTS), ends):
            snippet = text[start:start + end]
            try:
                node = ast.parse(snippet, mode="eval").body
            except SyntaxError:
                continue
            if isinstance(node, ast.Call):
                try:
                    args = [ast.literal_eval(a) for a in node.args]
                    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
                except (ValueError, SyntaxError, TypeError):
                    break
                return args, kwargs
            break
    return None


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a reply (whole reply, fenced blocks, then any ``{``); ValueError when there is none."""
    obj = _find_json_object(_THINK.sub("", text or ""), None)
    if obj is None:
        raise ValueError("the reply held no JSON object")
    return obj


def _find_json_object(text: str, names: set[str] | None) -> dict[str, Any] | None:
    """The first JSON object in ``text`` holding at least one of ``names`` (any object when ``names`` is None)."""
    candidates = [text.strip()]
    candidates += [b.body for b in _split_fences(text)[1]]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict) and (names is None or names & value.keys()):
            return value
    decoder = json.JSONDecoder()
    for count, match in enumerate(re.finditer(r"\{", text)):
        if count >= MAX_JSON_STARTS:
            break
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict) and (names is None or names & value.keys()):
            return value
    return None
