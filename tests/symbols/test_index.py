"""SymbolIndex over real git repositories: filters, lazy indexing, the blob-keyed cache, skipped files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repo_auditor.errors import FileNotInRepositoryError, PathOutsideRepositoryError, ToolError
from repo_auditor.repository import Repository
from repo_auditor.tools.symbol_index import KINDS, Symbol, SymbolIndex, idle_cpus
from tests.gitrepo import GitRepo

FILES = {
    "app/server.py": (
        "class Server:\n"
        "    def handle(self):\n"
        "        pass\n"
        "\n"
        "    def handle_error(self):\n"
        "        pass\n"
        "\n"
        "\n"
        "def handler():\n"
        "    pass\n"
    ),
    "app/util.py": "def helper():\n    pass\n\n\nclass Helper:\n    pass\n",
    "lib/server.go": "package lib\n\ntype Server struct{}\n\nfunc (s *Server) Handle() {}\n",
    "README.md": "# readme\n",
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory, commit) -> Iterator[tuple[Repository, Path]]:
    """One repository of FILES for this module's read-only tests, and a cache folder holding its index."""
    base = tmp_path_factory.mktemp("symbols-shared")
    space = GitRepo.init(base / "repo")
    commit(space, FILES)
    repo = Repository.open(space.path, cache_root=base / "loader-cache")
    yield repo, base / "symbol-cache"
    repo.close()


@pytest.fixture
def repo(shared) -> Repository:
    return shared[0]


@pytest.fixture
def index(shared) -> SymbolIndex:
    return SymbolIndex(*shared)


def names(symbols: list[Symbol]) -> list[tuple[str, str]]:
    return [(s.path, s.qualified_name) for s in symbols]


# ------------------------------------------------------------------ what find returns


def test_find_returns_symbols_sorted_by_path_then_line(index) -> None:
    assert index.find() == [
        Symbol("app/server.py", "Server", "Server", "class", 1, 6, "python"),
        Symbol("app/server.py", "handle", "Server.handle", "method", 2, 3, "python"),
        Symbol("app/server.py", "handle_error", "Server.handle_error", "method", 5, 6, "python"),
        Symbol("app/server.py", "handler", "handler", "function", 9, 10, "python"),
        Symbol("app/util.py", "helper", "helper", "function", 1, 2, "python"),
        Symbol("app/util.py", "Helper", "Helper", "class", 5, 6, "python"),
        Symbol("lib/server.go", "Server", "Server", "struct", 3, 3, "go"),
        Symbol("lib/server.go", "Handle", "Server.Handle", "method", 5, 5, "go"),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # exact name, case-sensitive: not handle_error, handler or Go's Handle
        ("handle", [("app/server.py", "Server.handle")]),
        # exact qualified name; "::" reads as "."
        ("Server.handle", [("app/server.py", "Server.handle")]),
        ("Server::Handle", [("lib/server.go", "Server.Handle")]),
        # an exact match wins over substrings: Helper is not returned for "helper"
        ("helper", [("app/util.py", "helper")]),
        # no exact match: case-insensitive substring of the qualified name
        (
            "andl",
            [
                ("app/server.py", "Server.handle"),
                ("app/server.py", "Server.handle_error"),
                ("app/server.py", "handler"),
                ("lib/server.go", "Server.Handle"),
            ],
        ),
        (
            "server.h",
            [
                ("app/server.py", "Server.handle"),
                ("app/server.py", "Server.handle_error"),
                ("lib/server.go", "Server.Handle"),
            ],
        ),
        # globs, case-sensitive, over name or qualified name
        (
            "Server.*",
            [
                ("app/server.py", "Server.handle"),
                ("app/server.py", "Server.handle_error"),
                ("lib/server.go", "Server.Handle"),
            ],
        ),
        ("*elper", [("app/util.py", "helper"), ("app/util.py", "Helper")]),
        ("handle?error", [("app/server.py", "Server.handle_error")]),
        ("[H]*", [("app/util.py", "Helper"), ("lib/server.go", "Server.Handle")]),
        ("nothing_like_this", []),
    ],
)
def test_name_filter(index, name: str, expected: list[tuple[str, str]]) -> None:
    assert names(index.find(name=name)) == expected


def test_kind_filter(index) -> None:
    assert names(index.find(kind="class")) == [("app/server.py", "Server"), ("app/util.py", "Helper")]
    assert names(index.find(kind="struct")) == [("lib/server.go", "Server")]
    assert names(index.find(kind=" METHOD ", name="*Handle*")) == [("lib/server.go", "Server.Handle")]


def test_kind_filter_applies_before_exact_name_precedence(index) -> None:
    # "Server" matches the class exactly; restricted to methods, the substring fallback finds Server.*
    # methods.
    assert names(index.find(name="Server", kind="method")) == [
        ("app/server.py", "Server.handle"),
        ("app/server.py", "Server.handle_error"),
        ("lib/server.go", "Server.Handle"),
    ]


def test_unknown_kind_is_a_tool_error_listing_the_kinds(index) -> None:
    with pytest.raises(ToolError) as caught:
        index.find(kind="func")
    message = str(caught.value)
    assert "'func'" in message and all(kind in message for kind in KINDS)


@pytest.mark.parametrize("path", [None, "", ".", "./"])
def test_whole_repository_paths(index, path) -> None:
    assert len(index.find(path=path)) == 8


@pytest.mark.parametrize(
    ("path", "expected_paths"),
    [
        ("app/util.py", {"app/util.py"}),
        ("app", {"app/server.py", "app/util.py"}),
        ("./app/", {"app/server.py", "app/util.py"}),
        ("lib", {"lib/server.go"}),
    ],
)
def test_path_filter_file_and_directory(index, path: str, expected_paths: set[str]) -> None:
    assert {s.path for s in index.find(path=path)} == expected_paths


def test_directory_prefix_does_not_match_sibling_with_same_start(
    workspace, commit, open_repo, symbol_cache
) -> None:
    commit(workspace, {"app/a.py": "def a(): pass\n", "application/b.py": "def b(): pass\n"})
    found = SymbolIndex(open_repo(workspace.path), symbol_cache).find(path="app")
    assert names(found) == [("app/a.py", "a")]


def test_missing_path_suggests_close_matches(index) -> None:
    with pytest.raises(FileNotInRepositoryError) as caught:
        index.find(path="ap")
    assert "app" in caught.value.suggestions and "'ap'" in str(caught.value)


def test_path_outside_the_repository_is_refused(index) -> None:
    with pytest.raises(PathOutsideRepositoryError):
        index.find(path="../elsewhere")


def test_unparsed_file_is_a_tool_error_saying_why(index) -> None:
    with pytest.raises(ToolError, match=r"README\.md is not indexed for symbols: language markdown"):
        index.find(path="README.md")


# ------------------------------------------------------------------ lazy indexing and the cache


def test_find_under_a_path_parses_only_that_path(repo, symbol_cache, counting_parser) -> None:
    # symbol_cache is this test's own empty folder, so everything must be parsed here
    index = SymbolIndex(repo, symbol_cache, parse=counting_parser)
    index.find(path="app/util.py")
    assert len(counting_parser.calls) == 1
    index.find(path="app")
    assert len(counting_parser.calls) == 2  # util.py is not parsed again
    index.find()
    assert [language for language, _ in counting_parser.calls] == ["python", "python", "go"]
    index.find(name="helper")
    assert len(counting_parser.calls) == 3


def test_a_second_index_reads_the_cache_and_parses_nothing(
    repo, symbol_cache, counting_parser, make_counting_parser
) -> None:
    first = SymbolIndex(repo, symbol_cache, parse=counting_parser).find()
    assert len(counting_parser.calls) == 3
    second_parser = make_counting_parser()
    second = SymbolIndex(repo, symbol_cache, parse=second_parser).find()
    assert second == first
    assert second_parser.calls == []


def test_cache_is_keyed_by_blob_across_refs_and_renames(
    workspace, commit, open_repo, symbol_cache, make_counting_parser
) -> None:
    first_commit = commit(workspace, {"a.py": "def alpha():\n    pass\n", "b.py": "def beta():\n    pass\n"})
    workspace.git("mv", "a.py", "renamed.py")
    second_commit = commit(workspace, {"b.py": "\n\ndef beta_two():\n    pass\n"})

    at_first = make_counting_parser()
    SymbolIndex(open_repo(workspace.path, first_commit), symbol_cache, parse=at_first).find()
    assert len(at_first.calls) == 2

    at_second = make_counting_parser()
    found = SymbolIndex(open_repo(workspace.path, second_commit), symbol_cache, parse=at_second).find()
    assert len(at_second.calls) == 1  # only the changed b.py; renamed.py has a.py's blob
    assert names(found) == [("b.py", "beta_two"), ("renamed.py", "alpha")]
    assert [s.start_line for s in found] == [3, 1]


def test_identical_content_at_two_paths_is_parsed_once(
    workspace, commit, open_repo, symbol_cache, counting_parser
) -> None:
    commit(workspace, {"one/x.py": "def same(): pass\n", "two/x.py": "def same(): pass\n"})
    found = SymbolIndex(open_repo(workspace.path), symbol_cache, parse=counting_parser).find()
    assert names(found) == [("one/x.py", "same"), ("two/x.py", "same")]
    assert len(counting_parser.calls) == 1


def test_work_tree_edits_are_seen_by_a_new_index(workspace, commit, open_repo, symbol_cache) -> None:
    commit(workspace, {"m.py": "def old(): pass\n"})
    assert names(SymbolIndex(open_repo(workspace.path), symbol_cache).find()) == [("m.py", "old")]
    workspace.write("m.py", "def new(): pass\n")  # uncommitted: the work tree is what is audited
    assert names(SymbolIndex(open_repo(workspace.path), symbol_cache).find()) == [("m.py", "new")]


def test_an_unreadable_cache_file_is_rebuilt(repo, tmp_path) -> None:
    folder = tmp_path / "broken-cache"
    folder.mkdir()
    (folder / "symbols.sqlite").write_bytes(b"this is not a database" * 100)
    assert SymbolIndex(repo, folder).find()  # the damaged file was replaced, not reported
    assert (folder / "symbols.sqlite").read_bytes().startswith(b"SQLite format 3")


@pytest.mark.parametrize(
    ("cpus", "load", "host_cpus", "idle"),
    [
        (2, 0.1, 2, 1),  # a quiet machine: one worker process besides this one
        (2, 1.0, 2, 1),  # the load is this process
        (2, 1.8, 2, 0),  # another job is on the other CPU
        (2, 5.5, 2, 0),
        (8, 3.0, 8, 5),
        (1, 0.0, 1, 0),
        (4, None, 64, 3),  # no load average on this platform: every CPU
        (4, 30.0, 64, 2),  # 4 CPUs of a 64-CPU host a little under half busy
        (4, 70.0, 64, 0),
    ],
)
def test_the_default_pool_takes_only_idle_cpus(cpus: int, load: float | None, host_cpus: int, idle: int) -> None:
    assert idle_cpus(cpus, load, host_cpus) == idle


def test_worker_processes_give_the_same_definitions(
    workspace, commit, open_repo, tmp_path, fixtures_dir: Path
) -> None:
    commit(workspace, {f"src/{p.name}": p.read_bytes() for p in fixtures_dir.iterdir()})
    repo = open_repo(workspace.path)
    in_process = SymbolIndex(repo, tmp_path / "cache-one", workers=1).find()
    in_workers = SymbolIndex(repo, tmp_path / "cache-two", workers=2).find()
    assert in_workers == in_process
    assert {s.language for s in in_process} == {
        "python",
        "javascript",
        "typescript",
        "tsx",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "ruby",
        "csharp",
        "php",
        "kotlin",
    }


# ------------------------------------------------------------------ awkward files


def test_syntax_error_file_still_yields_its_valid_definitions(
    workspace, commit, open_repo, symbol_cache
) -> None:
    commit(workspace, {"broken.py": "def good():\n    return 1\n\ndef bad(:\n\nclass Kept:\n    pass\n"})
    found = {s.qualified_name for s in SymbolIndex(open_repo(workspace.path), symbol_cache).find()}
    assert {"good", "Kept"} <= found


def test_empty_file_has_no_definitions(workspace, commit, open_repo, symbol_cache) -> None:
    commit(workspace, {"empty.py": "", "other.py": "def f(): pass\n"})
    index = SymbolIndex(open_repo(workspace.path), symbol_cache)
    assert index.find(path="empty.py") == []
    assert names(index.find()) == [("other.py", "f")]


def test_minified_file_is_skipped_with_a_reason(
    workspace, commit, open_repo, symbol_cache, counting_parser
) -> None:
    minified = "function a(){return 1};" * 2000  # one 46 KB line
    commit(workspace, {"dist/app.js": minified, "src/app.js": "function main() {}\n"})
    index = SymbolIndex(open_repo(workspace.path), symbol_cache, parse=counting_parser)
    assert names(index.find()) == [("src/app.js", "main")]
    assert "minified" in index.skipped["dist/app.js"] and len(counting_parser.calls) == 1
    with pytest.raises(ToolError, match="dist/app.js is not indexed for symbols"):
        index.find(path="dist/app.js")


_INDEX_IN_ANOTHER_PROCESS = """
import sys
from pathlib import Path
from repo_auditor.repository import Repository
from repo_auditor.tools.symbol_index import SymbolIndex
with Repository.open(sys.argv[1], cache_root=Path(sys.argv[3])) as repo:
    print(len(SymbolIndex(repo, Path(sys.argv[2]), workers=1).find()))
"""


def test_two_processes_can_fill_one_cache_at_once(tmp_path, commit, open_repo, make_counting_parser) -> None:
    import subprocess
    import sys

    files = {
        f"pkg/m{i}.py": f"def f{i}():\n    pass\n\nclass C{i}:\n    def m(self): pass\n" for i in range(150)
    }
    spaces = [GitRepo.init(tmp_path / name) for name in ("one", "two")]
    for space in spaces:
        commit(space, files)  # the same blobs in both: both processes write the same keys
    cache = tmp_path / "shared-cache"
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _INDEX_IN_ANOTHER_PROCESS,
                str(space.path),
                str(cache),
                str(tmp_path / f"loader-{n}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n, space in enumerate(spaces)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    assert [out.decode().strip() for out, _ in outputs] == ["450", "450"]
    parser = make_counting_parser()
    assert len(SymbolIndex(open_repo(spaces[0].path), cache, parse=parser).find()) == 450
    assert parser.calls == []


def test_non_string_name_is_a_tool_error(index) -> None:
    with pytest.raises(ToolError, match="name must be a string"):
        index.find(name=["handle"])
