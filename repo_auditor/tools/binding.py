"""RepoTools: read_file, grep and symbols bound to one loaded repository, as plain functions a model can call.

The method docstrings below are written for the model: they are what a tool-calling framework (our sandbox bridge,
``dspy.RLM(tools=...)``) shows it. ``as_list()`` / ``as_dict()`` hand out standalone functions with a real
``__name__``, ``__doc__``, ``__signature__`` and resolved ``__annotations__``.

Every tool call that succeeds is recorded in ``RepoTools.usage`` (see ``ledger.py``). Tools raise ``ToolError``
subclasses for calls they cannot serve; the message says how to fix the call.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from repo_auditor.tools import read as _read
from repo_auditor.tools import search as _search
from repo_auditor.tools.ledger import SymbolQuery, UsageLedger
from repo_auditor.tools.paths import normalize_path
from repo_auditor.tools.tree import TreeView
from repo_auditor.tools.view import RedactedView

if TYPE_CHECKING:
    from repo_auditor.repository import Repository

# Definitions listed by one symbols call before the output says how to narrow the query.
MAX_SYMBOLS_SHOWN = 200

TOOL_NAMES = ("read_file", "grep", "symbols")


class RepoTools:
    """The repository tools bound to ``repo_or_path`` (a loaded Repository, or a folder opened at ``ref``).

    ``redact=False`` turns the secret redactor off (it is on by default; see ``redaction.py``). ``symbol_index``
    replaces the tree-sitter index (built on the first ``symbols`` call otherwise). ``rg`` is the ripgrep binary
    (found automatically).
    """

    def __init__(self, repo_or_path: Repository | str | Path, ref: str | None = None, *, redact: bool = True,
                 symbol_index: Any = None, rg: str | None = None):
        from repo_auditor.repository import Repository

        if isinstance(repo_or_path, Repository):
            if ref is not None and ref != repo_or_path.ref:
                raise ValueError(f"ref={ref!r} given with a Repository loaded at {repo_or_path.ref!r}; "
                                 f"open the repository at that ref instead")
            self.repo = repo_or_path
            self._owns_repo = False
        else:
            self.repo = Repository.open(repo_or_path, ref=ref)
            self._owns_repo = True
        self.redact = redact
        self.usage = UsageLedger()
        self._tree = TreeView(self.repo)
        self.view = RedactedView(self.repo) if redact else None  # what every tool answers from
        self._symbol_index = symbol_index
        self._rg = rg or _search.find_rg()

    # -- the tools (docstrings are for the model) ----------------------------------------------------------------

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> str:
        """Read one file of the repository, with line numbers.

        Returns a header line ``<path> | lines <first>-<last> of <total> | <language>`` (plus notes such as
        ``vendored third-party code``, ``generated file``, ``symlink to ...``, ``not valid UTF-8``), then one line
        per source line formatted ``<number> | <text>``. Cite code as ``path:number``.

        At most 400 lines (and 40,000 characters) come back per call. When there is more, the last line says exactly
        how to continue, e.g. ``... 800 more lines: call read_file('src/app.py', start_line=401)``.
        Lines longer than 2,000 characters are cut with a marker. A folder path lists the folder's files and
        sub-folders instead; a binary file gets a one-line description. Secrets are shown as ``[REDACTED:<kind>]``.

        Args:
            path: repository-relative path, e.g. ``"src/app.py"`` (``"."`` lists the root folder).
            start_line: first line to show, counting from 1.
            end_line: last line to show (inclusive); None reads to the end, up to the 400-line cap.

        Examples:
            read_file("src/app.py")
            read_file("src/app.py", start_line=120, end_line=180)
            read_file("src")   # list a folder

        Raises an error naming close matches when the file does not exist ("Did you mean: src/main.py?").
        """
        return _read.read_file(self._tree, path, start_line, end_line, view=self.view,
                               ledger=self.usage)

    def grep(self, pattern: str, path: str = ".", glob: str | None = None, ignore_case: bool = False,
             fixed_strings: bool = False, context: int = 0, max_results: int = 100) -> str:
        """Search the repository's text files for a regular expression (ripgrep), one line at a time.

        Returns a first line with the count (``3 matching lines in 2 files``, or when capped
        ``showing 100 of 2,345 matching lines in 310 files ...``), then matching lines as ``path:line: text``,
        sorted by path then line. With ``context`` > 0, surrounding lines appear as ``path-line- text`` and groups
        are separated by ``--``. No match gives ``no matches for '...' in ...``. Long lines are cut around the
        match. Secrets are shown as ``[REDACTED:<kind>]``.

        The pattern syntax is Rust regex (like Python ``re``: ``\\b``, ``\\d``, ``(a|b)``, ``\\.``), without
        look-around or backreferences. Use fixed_strings=True to search text literally (no escaping needed).
        Binary files and symbolic links are not searched; .gitignore'd files are not part of the repository.

        Args:
            pattern: regular expression (or literal text with fixed_strings=True).
            path: a file or folder to search in, repository-relative; "." is everything.
            glob: file filter like ``"*.py"``, ``"*.{js,ts}"``, ``"tests/**/*.py"``, ``"!*_test.go"``; a glob
                without "/" matches file names anywhere.
            ignore_case: match regardless of letter case.
            fixed_strings: treat the pattern as plain text.
            context: lines to show before and after each match (0-10).
            max_results: matching lines to show (1-1000); the total is still counted.

        Examples:
            grep(r"def \\w+_handler", glob="*.py")
            grep("subprocess.run(", fixed_strings=True, context=2)
            grep("password", ignore_case=True, path="config")
        """
        return _search.grep(self._tree, pattern, path, glob, ignore_case, fixed_strings, context, max_results,
                          view=self.view, ledger=self.usage, rg=self._rg)

    def symbols(self, path: str | None = None, name: str | None = None, kind: str | None = None) -> str:
        """List where things are defined (functions, classes, methods, ...), parsed with tree-sitter.

        Returns one definition per line, ``path:start-end  kind  qualified_name`` (lines 1-based, inclusive),
        sorted by path then line; at most 200 lines, then a line saying how many more and how to narrow.
        Read a definition with ``read_file(path, start_line=start, end_line=end)``.

        Args:
            path: a file or folder (repository-relative); None for the whole repository.
            name: exact name or qualified name (``"handle"``, ``"Server.handle"``), a glob (``"test_*"``,
                ``"Server.*"``), or else any part of the name, ignoring case.
            kind: one of function, method, class, struct, interface, enum, trait, impl, module, type, macro.

        Languages: Python, JavaScript, TypeScript, Go, Rust, Java, C, C++, Ruby, C#, PHP, Kotlin.

        Examples:
            symbols(path="src/server.py")
            symbols(name="*Handler", kind="class")
        """
        format_symbols = _symbols_module().format_symbols
        rel = normalize_path(path, self.repo) if path is not None else None
        found = self._symbols().find(path=rel, name=name, kind=kind)
        if self.view is not None:
            found = self._visible_symbols(found, name_query=name is not None)
        self.usage.symbol_queries.append(SymbolQuery(path=rel, name=name, kind=kind, found=len(found)))
        text = format_symbols(found, limit=MAX_SYMBOLS_SHOWN)
        return self.view.text(text) if self.view is not None else text

    def _visible_symbols(self, found: list[Any], *, name_query: bool) -> list[Any]:
        """Definitions as the view shows them: a name that overlaps a secret on its line is a marker, and such a
        definition never answers a ``name=`` query (the query would probe the raw name)."""
        assert self.view is not None
        shown = []
        for symbol in found:
            kind = self.view.secret_on_line(symbol.path, symbol.start_line, symbol.name)
            if kind is None:
                shown.append(symbol)
            elif not name_query:
                marker = f"[REDACTED:{kind}]"
                shown.append(dataclasses.replace(symbol, name=marker,
                                                 qualified_name=symbol.qualified_name.replace(symbol.name, marker)))
        return shown

    # -- handing the tools out -----------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Callable[..., str]]:
        """``{"read_file": f, "grep": f, "symbols": f}``: standalone functions, introspectable by any framework."""
        return {name: standalone(getattr(self, name)) for name in TOOL_NAMES}

    def as_list(self) -> list[Callable[..., str]]:
        """The same functions as ``as_dict()``, in the order read_file, grep, symbols."""
        return list(self.as_dict().values())

    def _symbols(self) -> Any:
        if self._symbol_index is None:
            self._symbol_index = _symbols_module().SymbolIndex(self.repo)
        return self._symbol_index

    def close(self) -> None:
        """Release the repository (when this object opened it) and the symbol cache."""
        if self._symbol_index is not None and hasattr(self._symbol_index, "close"):
            self._symbol_index.close()
        if self._owns_repo:
            self.repo.close()

    def __enter__(self) -> RepoTools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RepoTools({self.repo!r}, redact={self.redact})"


def _symbols_module() -> types.ModuleType:
    """``repo_auditor.tools.symbol_index``, imported on first use (tree-sitter is slow to import)."""
    return importlib.import_module("repo_auditor.tools.symbol_index")


def standalone(method: Callable[..., str]) -> Callable[..., str]:
    """A plain function calling ``method`` with the same name, docstring, signature and resolved type hints."""
    hints = typing.get_type_hints(method)
    signature = inspect.signature(method)
    signature = signature.replace(
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()],
        return_annotation=hints.get("return", signature.return_annotation),
    )

    def tool(*args: Any, **kwargs: Any) -> str:
        return method(*args, **kwargs)

    tool.__name__ = tool.__qualname__ = method.__name__
    tool.__doc__ = inspect.getdoc(method)
    tool.__signature__ = signature  # type: ignore[attr-defined]
    tool.__annotations__ = dict(hints)
    tool.__module__ = "repo_auditor.tools"
    return tool
