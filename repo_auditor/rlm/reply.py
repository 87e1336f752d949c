"""Reading the model's replies. A reply is untrusted text: prose, then fenced Python.

The rules (each is a row in ``tests/rlm/test_reply.py``):

* Every fenced block tagged ``python``, ``py``, ``python3``, ``py3``, ``ipython``, ``repl`` or untagged is code; several
  such blocks run in order, joined by a blank line. Blocks with another tag (```bash, ```json, ```text) are not run.
* Small models write their code, then "The output is:" and an imagined result in another block. A block after the
  first that follows such an introduction (``_OUTPUT_INTRO``), or that is not runnable Python, is the model's guess of
  the output: it is not run, and the model is told so (``notes``). When some blocks are tagged as Python, untagged
  blocks never run.
* A fence that is never closed runs to the end of the reply (the model was cut off mid-block).
* A reply without any fence runs as code only if all of it parses as Python and it does something (a call, an
  assignment, an import, a loop...): a bare word such as ``Done`` is prose, not code.
* ``<think>...</think>`` sections are reasoning, never code.
* A ``SUBMIT(...)`` written in the prose of a reply without code runs as code (the model meant to call it).
* Anything else (an empty reply, prose only, only non-Python blocks, a block with only comments) is a turn error: the
  model is told what to do and the run goes on.

``extract_outputs`` reads the answer of the final extract step: a JSON object (Python literals such as ``None``,
``True`` and single quotes accepted) or a ``SUBMIT(...)`` call with literal arguments, never executed.
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
# Prose that introduces the model's own guess of what its code prints ("The output is:", "This will print:").
_OUTPUT_INTRO = re.compile(r"\b(outputs?|prints?|printed|results?|returns?|expected|would see|will see)\b[^\n]{0,40}$",
                           re.IGNORECASE)
TAGGED_PYTHON = PYTHON_TAGS - {""}
OUTPUT_GUESS_NOTE = ("a block after your code looked like a guess of its output and was not run; the real output "
                     "is above. Write only code in your reply and wait for the output.")


@dataclass
class ParsedReply:
    """One reply split into what the model said (``reasoning``) and the code to run (``code``, or None).

    ``problem`` is set when nothing can run; it is the message shown to the model."""

    reasoning: str
    code: str | None
    problem: str | None = None
    skipped_tags: list[str] = field(default_factory=list)
    unclosed: bool = False
    notes: list[str] = field(default_factory=list)  # shown to the model after the output ("Note: ...")


@dataclass
class _Block:
    tag: str
    body: str
    closed: bool
    lead: str = ""  # the prose just before the block


HOW_TO_REPLY = ("Reply with a short explanation followed by Python in a fenced block:\n"
                "```python\nprint(len(context))\n```")
PROSE_ONLY = ("Your reply had no code, so nothing ran. Write one ```python block to look at the inputs, or call "
              "SUBMIT(...) in it when you know the answer:\n```python\nprint(len(context))\n```")


def parse_reply(text: str | None) -> ParsedReply:
    """Split a model reply into reasoning and runnable code following the module rules."""
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        return ParsedReply("", None, "Your reply was empty. " + HOW_TO_REPLY)
    thoughts = [m.group(0) for m in _THINK.finditer(text)]
    visible = _THINK.sub("", text)
    prose, blocks = _split_fences(visible)
    runnable, guesses = _runnable_blocks(blocks)
    skipped = [b.tag for b in blocks if b.tag not in PYTHON_TAGS]
    reasoning = "\n\n".join(p for p in [*(_strip_think(t) for t in thoughts), *prose] if p.strip()).strip()
    notes = [OUTPUT_GUESS_NOTE] if guesses else []
    if runnable:
        code = "\n\n".join(textwrap.dedent(b.body).strip("\n") for b in runnable).strip("\n")
        if not _has_statements(code):
            return ParsedReply(reasoning, None, "Your code block held no statements (only comments or blank "
                               "lines). " + HOW_TO_REPLY, skipped)
        return ParsedReply(reasoning, code, None, skipped, unclosed=not runnable[-1].closed, notes=notes)
    submit = _submit_in_prose("\n".join(prose))
    if submit is not None:
        return ParsedReply(reasoning, submit, None, skipped)
    if skipped:
        tags = ", ".join(f"```{t}" for t in dict.fromkeys(skipped))
        return ParsedReply(reasoning, None, f"Your reply had {tags} but only Python blocks are run. "
                           + HOW_TO_REPLY, skipped)
    bare = visible.strip()
    if bare and _is_active_python(bare):
        return ParsedReply("", bare)
    return ParsedReply(reasoning, None, PROSE_ONLY)


def _runnable_blocks(blocks: list[_Block]) -> tuple[list[_Block], list[_Block]]:
    """The blocks to run and the blocks taken for the model's guess of the output (see the module rules)."""
    python = [b for b in blocks if b.tag in PYTHON_TAGS]
    guesses = []
    if any(b.tag in TAGGED_PYTHON for b in python):
        guesses = [b for b in python if b.tag not in TAGGED_PYTHON]
        python = [b for b in python if b.tag in TAGGED_PYTHON]
    if not python:
        return [], []
    run = [python[0]]
    for block in python[1:]:
        if _OUTPUT_INTRO.search(block.lead) or not _is_active_python(textwrap.dedent(block.body)):
            guesses.append(block)
        else:
            run.append(block)
    return run, guesses


def _submit_in_prose(text: str) -> str | None:
    """The first ``SUBMIT(...)`` call written in prose that parses as Python, as code to run."""
    for match in re.finditer(r"\bSUBMIT\s*\(", text):
        ends = (m.end() for m in re.finditer(r"\)", text[match.start():]))
        for _, end in zip(range(MAX_JSON_STARTS), ends):
            snippet = text[match.start():match.start() + end]
            try:
                node = ast.parse(snippet, mode="eval").body
            except SyntaxError:
                continue
            if isinstance(node, ast.Call):
                return snippet
            break
    return None


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
        lead = "\n".join(current).strip()
        prose.append(lead)
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
        blocks.append(_Block(tag, "\n".join(body), closed, lead))
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
    # The whole reply or a fenced block as JSON with a quote left unescaped inside a string (a small model quoting
    # code: "evidence": "x = "a" % b"); a string still open at the end of its line is closed there, before the
    # line's trailing ``],`` ("evidence": ["q = "%s" % name],): raw newlines cannot be inside a JSON string anyway.
    # Tried before the scan below, which would otherwise return an inner object (one finding) that parses alone.
    for close_at_newline in (False, True):
        for candidate in candidates:
            try:
                value = json.loads(_escape_stray_quotes(candidate, close_at_newline), strict=False)
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
    # Near-JSON from small models: Python literals (None, True, single quotes), or JSON with a Python quirk.
    starts = [m.start() for _, m in zip(range(MAX_JSON_STARTS), re.finditer(r"\{", text))]
    spans = [*candidates, *(_balanced(text, start) for start in starts)]
    for candidate in spans:
        value = _python_literal(candidate) if candidate else None
        if isinstance(value, dict) and (names is None or names & value.keys()):
            return value
    return None


def _escape_stray_quotes(text: str, close_at_newline: bool = False) -> str:
    """Escape each double quote inside a JSON string that cannot end it, and drop ``// ...`` comments outside strings
    (small models annotate). A quote ends a key only before ``:``, a value only before ``,``, the ``}`` of its object
    or the ``]`` of its array (or the end of the text): ``"x = "a" % b"`` and ``"args["name"] is used"`` keep their
    inner quotes. With ``close_at_newline``, a string still open at a line break ends before the line's trailing
    ``,``/``]``/``}``."""
    out: list[str] = []
    containers: list[str] = []  # the open { and [ outside strings
    in_string = escaped = is_key = False
    expect_key = skip_to_newline = False
    for i, char in enumerate(text):
        if skip_to_newline:
            if char != "\n":
                continue
            skip_to_newline = False
        if close_at_newline and in_string and char == "\n":
            tail: list[str] = []
            while out and out[-1] in ",]} \t\r":
                tail.append(out.pop())
            out.append('"')
            out.extend(reversed(tail))
            in_string = escaped = False
            for closed in reversed(tail):  # the ] and , typed inside the string close structures after all
                expect_key = _structure(closed, containers, expect_key)
        if not in_string and char == "/" and text[i + 1:i + 2] == "/":
            skip_to_newline = True
            continue
        if in_string and escaped:
            escaped = False
        elif in_string and char == "\\":
            escaped = True
        elif char == '"':
            if not in_string:
                in_string, is_key = True, bool(containers) and containers[-1] == "{" and expect_key
            elif _ends_string(*_NEXT_TWO.match(text, i + 1).groups(""), is_key,
                              containers[-1] if containers else None):
                in_string = False
            else:
                out.append("\\")
        elif not in_string:
            expect_key = _structure(char, containers, expect_key)
        out.append(char)
    return "".join(out)


def _structure(char: str, containers: list[str], expect_key: bool) -> bool:
    """Track ``char`` (outside strings) in the stack of open containers; returns whether a key comes next."""
    if char in "{[":
        containers.append(char)
        return char == "{"
    if char in "}]" and containers:
        containers.pop()
    elif char == ",":
        return bool(containers) and containers[-1] == "{"
    elif char == ":":
        return False
    return expect_key


# The next two characters that are not whitespace (either may be missing): what follows a quote, and what follows that.
_NEXT_TWO = re.compile(r"\s*(\S)?\s*(\S)?")


def _ends_string(following: str, after: str, is_key: bool, container: str | None) -> bool:
    """Whether a quote can end its string when the text after it goes on with ``following`` and then ``after`` (the
    next non-whitespace characters; "" at the end): a key before ``:``; a value before the closing bracket of its
    own container when a ``,``, bracket or the end comes after, or before a ``,`` followed by what can come next
    there (a key's quote in an object; a value in an array). So ``"f(\\"a", (b,))"`` and ``["the args["name"]
    value"]`` keep their inner quotes."""
    if not following:
        return True
    if is_key:
        return following == ":"
    if following == ",":
        return not after or after in ('"}/' if container == "{" else '"{[]/-0123456789tfnNT')  # "/": a // note
    closes = (following == "}" and container == "{") or (following == "]" and container == "[")
    return closes and after in ("", ",", "}", "]")  # `args["name"] value`: not the end


_JSON_WORDS = {"null": None, "true": True, "false": False}


def _python_literal(text: str) -> Any:
    """``text`` read as a Python literal, also accepting JSON's null/true/false; None when it is not one."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        for name, child in ast.iter_fields(node):
            items = child if isinstance(child, list) else [child]
            for i, item in enumerate(items):
                if isinstance(item, ast.Name) and item.id in _JSON_WORDS:
                    constant = ast.copy_location(ast.Constant(_JSON_WORDS[item.id]), item)
                    if isinstance(child, list):
                        child[i] = constant
                    else:
                        setattr(node, name, constant)
    try:
        return ast.literal_eval(tree)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _balanced(text: str, start: int) -> str | None:
    """The ``{...}`` starting at ``start`` up to its matching brace (quotes respected), or None when it never closes."""
    depth, quote, i = 0, None, start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
    return None
