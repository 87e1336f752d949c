"""Answers that only echo a template: a small model asked for ``{"answer": "<markdown>"}`` may answer ``<markdown>``.

``placeholder_problem(answer)`` says why an answer is such an echo (None when it is a real answer), so the caller can
keep the explorer's answer instead of reporting the template (issue 18: both reports of the 1.5B model read
"<markdown>").
"""

from __future__ import annotations

import re

# <markdown>, <answer>, <your answer here>, {answer}, [answer]: a slot of a template rather than text.
_SLOT = re.compile(r"<[^<>\n]{1,40}>|\{[^{}\n]{1,40}\}|\[[a-z _-]{1,40}\]|\.{3,}|…", re.IGNORECASE)
# The requested JSON shape copied into the answer.
_SHAPE = re.compile(r"""["']?(answer|findings|title|severity|evidence|explanation)["']?\s*:""", re.IGNORECASE)
_BARE_WORDS = frozenset({"markdown", "answer", "your answer", "text", "string", "str", "none", "null", "todo", "tbd"})
MIN_REAL_CHARS = 12  # letters and digits left once the slots are taken out; fewer is no answer


def placeholder_problem(answer: str) -> str | None:
    """Why ``answer`` is a template placeholder rather than an answer, or None."""
    text = answer.strip().strip("`\"'").strip()
    if text.lower() in _BARE_WORDS:
        return f"the answer is only the word {text!r}"
    if len(_SHAPE.findall(text)) >= 2:
        return "the answer copies the requested JSON shape"
    remainder = _SLOT.sub(" ", text)
    if len(re.sub(r"[\W_]", "", remainder)) < MIN_REAL_CHARS:
        slots = _SLOT.findall(text)
        return f"the answer is only the placeholder {slots[0]!r}" if slots else "the answer is empty"
    return None
