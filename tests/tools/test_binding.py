"""The binding: real signatures and docstrings for the model, standalone callables, the cwd-bound module functions,
symbols delegation and the usage ledger."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest

import repo_auditor
import repo_auditor.tools as tools_package
from repo_auditor.repository import Repository
from repo_auditor.tools import RepoTools
from repo_auditor.tools.symbol_index import Symbol
from tests.gitrepo import GitRepo
from tests.tools.conftest import build_sample


def test_standalone_callables_are_introspectable(tools: RepoTools) -> None:
    functions = tools.as_list()
    assert [f.__name__ for f in functions] == ["read_file", "grep", "symbols"]
    assert list(tools.as_dict()) == ["read_file", "grep", "symbols"]
    read_file, grep, symbols = functions
    assert str(inspect.signature(read_file)) == "(path: str, start_line: int = 1, end_line: int | None = None) -> str"
    assert str(inspect.signature(grep)) == (
        "(pattern: str, path: str = '.', glob: str | None = None, ignore_case: bool = False, "
        "fixed_strings: bool = False, context: int = 0, max_results: int = 100) -> str")
    assert str(inspect.signature(symbols)) == (
        "(path: str | None = None, name: str | None = None, kind: str | None = None) -> str")
    assert typing.get_type_hints(read_file) == {"path": str, "start_line": int, "end_line": int | None, "return": str}
    for function in functions:
        assert "Examples:" in function.__doc__ and "Args:" in function.__doc__
    assert "read_file(\"src/app.py\", start_line=120, end_line=180)" in read_file.__doc__
    assert "path:line: text" in grep.__doc__


def test_standalone_callables_call_the_bound_repository(tools: RepoTools) -> None:
    read_file = tools.as_dict()["read_file"]
    assert read_file("src/main.py", end_line=1).splitlines()[1] == "1 | def main():"
    assert read_file(path="src/main.py", start_line=2).splitlines()[1] == "2 |     return 0"
    assert len(tools.usage.reads) == 2


def test_binding_opens_a_path_at_a_ref(sample_path: Path) -> None:
    with RepoTools(sample_path, ref="v1") as bound:
        assert bound.repo.ref == "v1"
        assert "OLD_MARKER" in bound.read_file("src/app.py")


def test_ref_mismatch_with_a_loaded_repository_is_refused(tools: RepoTools) -> None:
    with pytest.raises(ValueError, match="open the repository at that ref"):
        RepoTools(tools.repo, ref="v1")


class _RecordingIndex:
    """A symbol index that records its queries (injected through the constructor)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def find(self, path=None, name=None, kind=None):
        self.calls.append((path, name, kind))
        return [Symbol("src/main.py", "main", "main", "function", 1, 2, "python")]


def test_symbols_delegates_with_a_normalized_path(tools: RepoTools, sample_path: Path) -> None:
    index = _RecordingIndex()
    bound = RepoTools(tools.repo, symbol_index=index)
    out = bound.symbols(path="./src\\", name="main")
    assert index.calls == [("src", "main", None)]
    assert out == "src/main.py:1-2  function   main"
    assert [(q.path, q.name, q.found) for q in bound.usage.symbol_queries] == [("src", "main", 1)]


def test_symbols_with_the_real_index(sample_path: Path, cache_root: Path, tmp_path: Path) -> None:
    from repo_auditor.tools.symbol_index import SymbolIndex

    repo = Repository.open(sample_path, cache_root=cache_root)
    with RepoTools(repo, symbol_index=SymbolIndex(repo, tmp_path / "symbols", workers=1)) as bound:
        out = bound.symbols(path="src", name="helper")
        assert out == "src/util.py:4-5  function   helper"
    repo.close()


def test_module_level_functions_work_in_the_current_directory(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first = GitRepo.init(tmp_path / "first")
    first.write("a.py", "FIRST_REPO = 1\n")
    first.commit("first")
    second = GitRepo.init(tmp_path / "second")
    second.write("b.py", "SECOND_REPO = 2\n")
    second.commit("second")
    monkeypatch.setenv("REPO_AUDITOR_CACHE_DIR", str(tmp_path / "cache"))
    from repo_auditor.tools import grep, read_file

    monkeypatch.chdir(first.path)
    assert grep("_REPO").splitlines()[1] == "a.py:1: FIRST_REPO = 1"
    assert read_file("a.py").splitlines()[1] == "1 | FIRST_REPO = 1"
    monkeypatch.chdir(second.path)
    assert grep("_REPO").splitlines()[1] == "b.py:1: SECOND_REPO = 2"
    assert repo_auditor.grep is grep and repo_auditor.read_file is read_file
    assert grep.__doc__ == inspect.getdoc(RepoTools.grep)
    assert str(inspect.signature(read_file)) == "(path: str, start_line: int = 1, end_line: int | None = None) -> str"


def test_public_symbols_stays_a_function_after_the_index_is_imported(tools: RepoTools) -> None:
    tools.symbols(path="src/util.py")
    from repo_auditor.tools import symbols

    assert callable(symbols) and tools_package.symbols is symbols
    assert "symbols(name=\"*Handler\", kind=\"class\")" in symbols.__doc__


def test_ledger_records_every_tool(tmp_path: Path) -> None:
    build_sample(tmp_path / "r")
    with RepoTools(Repository.open(tmp_path / "r", cache_root=tmp_path / "c"), symbol_index=_RecordingIndex()) as t:
        t.read_file("src/app.py", start_line=2, end_line=3)
        t.grep("needle_doc")
        t.symbols(name="main")
        assert [(r.path, r.start, r.end) for r in t.usage.reads] == [("src/app.py", 2, 3)]
        assert [(s.pattern, s.matches) for s in t.usage.searches] == [("needle_doc", 2)]
        assert [(q.name, q.found) for q in t.usage.symbol_queries] == [("main", 1)]


