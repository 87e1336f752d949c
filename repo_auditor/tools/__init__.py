"""The repository tools: ``read_file``, ``grep`` (ripgrep), ``symbols`` (tree-sitter) and the secret redactor.

Bind them to a repository with ``RepoTools(path_or_repository, ref=None, redact=True)``; ``.as_list()`` gives the
standalone functions a tool-calling framework introspects. The module-level ``read_file``, ``grep`` and ``symbols``
work on the repository containing the current working directory (opened on first use, re-opened when the working
directory changes)::

    from repo_auditor.tools import grep, read_file
    print(grep("TODO", glob="*.py"))
"""

from __future__ import annotations

import inspect
import os
import threading
import typing

from repo_auditor.tools.binding import TOOL_NAMES, RepoTools, standalone
from repo_auditor.tools.ledger import UsageLedger
from repo_auditor.tools.redaction import redact

__all__ = ["TOOL_NAMES", "RepoTools", "UsageLedger", "grep", "read_file", "redact", "standalone", "symbols"]

_lock = threading.Lock()
_current: tuple[str, RepoTools] | None = None


def _tools_for_cwd() -> RepoTools:
    """The RepoTools of the repository containing the working directory, reused while the directory is unchanged."""
    global _current
    cwd = os.getcwd()
    with _lock:
        if _current is None or _current[0] != cwd:
            tools = RepoTools(cwd)
            if _current is not None:
                _current[1].close()
            _current = (cwd, tools)
        return _current[1]


def read_file(path: str, start_line: int = 1, end_line: int | None = None) -> str:
    return _tools_for_cwd().read_file(path, start_line, end_line)


def grep(pattern: str, path: str = ".", glob: str | None = None, ignore_case: bool = False,
         fixed_strings: bool = False, context: int = 0, max_results: int = 100) -> str:
    return _tools_for_cwd().grep(pattern, path, glob, ignore_case, fixed_strings, context, max_results)


def symbols(path: str | None = None, name: str | None = None, kind: str | None = None) -> str:
    return _tools_for_cwd().symbols(path, name, kind)


for _function in (read_file, grep, symbols):  # same docs as the bound tools; real types, not strings, for frameworks
    _function.__doc__ = inspect.getdoc(getattr(RepoTools, _function.__name__))
    _function.__annotations__ = typing.get_type_hints(_function)
del _function
