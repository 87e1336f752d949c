"""Blank long runs of number-only lines (generated lookup tables) before tree-sitter parses a file.

Generated tables are common in C and elsewhere: brotli's ``dictionary_inc.h`` is 470 KB of ``116,105,109,...``
lines inside one array initializer. tree-sitter builds a node for every number and the definitions query then
walks them all, which cost 1.35 s of the 1.9 s a cold ``symbols`` scan of brotli's 107 C files took, for one
array definition (Universal Ctags skips such bodies in milliseconds).

A *data line* holds only numeric literals, commas, parentheses and braces (``116,105,``, ``, 0x1F, 0x20``,
``(0x41, 0x5A),``, ``{4,0,683},{4,10,325},``). A run of at least ``MIN_RUN_LINES`` of them is overwritten with spaces, newlines kept, so byte
offsets and line numbers do not move and the initializer parses as empty (``{ }``, ``[ ]``, ``( )``); a run whose
brackets do not pair up is kept. No
definition, import or name is ever written on a data line, so what the parser reports is unchanged; only its work
shrinks. Files below ``MIN_BYTES`` are left alone: their tables are too small to matter.
"""

from __future__ import annotations

import re
import sys

MIN_BYTES = 16_384
MIN_RUN_LINES = 8

# One token per literal: a number runs until a separator, and no separator character can start or continue a
# number, so a line splits one way only and matching stays linear on any input (the source is untrusted).
# Possessive quantifiers (Python 3.11+) make it ~4x faster by keeping no backtracking state.
_P = b"+" if sys.version_info >= (3, 11) else b""
_NUMBER = rb"[-+]?[0-9][0-9a-zA-Z_.]*" + _P
_DATA_LINE = rb"[ \t,(){}]*%s%s(?:[ \t,(){}]+%s%s)*%s[ \t,(){}]*%s\r?\n" % (_P, _NUMBER, _P, _NUMBER, _P, _P)
_RUN = re.compile(rb"(?m)^(?:" + _DATA_LINE + rb"){%d,}" % MIN_RUN_LINES)
_TO_SPACES = bytes(b if b in b"\r\n" else 32 for b in range(256))  # bytes.translate: newlines kept


def blank_data_runs(source: bytes) -> bytes:
    """``source`` with every run of ``MIN_RUN_LINES`` or more number-only lines turned into blank lines."""
    if len(source) < MIN_BYTES or not _RUN.search(source):
        return source
    return _RUN.sub(_blank_if_balanced, source)


def _blank_if_balanced(run: re.Match[bytes]) -> bytes:
    """The run as spaces, unless its brackets do not pair up (it starts or ends inside an element like
    ``{7,11,572},{9,``): blanking half an element would break the syntax around it."""
    text = run.group()
    if text.count(b"{") != text.count(b"}") or text.count(b"(") != text.count(b")"):
        return text
    return text.translate(_TO_SPACES)
