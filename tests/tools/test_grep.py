"""grep: exactly the loaded tree, deterministic output, counts and caps, options, errors, redaction, the ledger."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from repo_auditor.errors import (
    FileNotInRepositoryError,
    InvalidPatternError,
    PathOutsideRepositoryError,
    ToolError,
)
from repo_auditor.repository import Repository
from repo_auditor.tools import RepoTools
from repo_auditor.tools.search import compile_glob, grep
from repo_auditor.tools.tree import TreeView
from tests.gitrepo import GitRepo


def test_matches_are_sorted_with_a_count(tools: RepoTools) -> None:
    out = tools.grep("needle_")
    assert out.splitlines() == [
        "6 matching lines in 5 files",
        ".github/workflows/ci.yml:2: # needle_hidden",
        "docs/guide.md:1: needle_doc one",
        "docs/guide.md:3: needle_doc two",
        "latin.txt:1: café needle_latin",
        "long.txt:1: ...[4,901 chars] " + "x" * 99 + " needle_long " + "y" * 188 + " ...[4,812 chars]",
        "vendor/lib.js:1: var needle_vendor = 1;",
    ]


def test_ignored_files_binary_files_and_git_internals_are_not_searched(tools: RepoTools) -> None:
    assert tools.grep("needle_ignored").startswith("no matches for 'needle_ignored' in .")
    assert "no matches" in tools.grep("needle_binary")
    assert "no matches" in tools.grep("repositoryformatversion")  # .git/config


def test_hidden_tracked_files_are_searched(tools: RepoTools) -> None:
    assert ".github/workflows/ci.yml:2: # needle_hidden" in tools.grep("needle_hidden")


def test_symlinks_are_not_followed(tools: RepoTools) -> None:
    out = tools.grep("def main")
    assert out.splitlines() == ["1 matching line in 1 file", "src/main.py:1: def main():"]


def test_work_tree_and_ref_give_different_results(tools: RepoTools, tools_v1: RepoTools) -> None:
    assert tools.grep("_MARKER").splitlines()[1:] == [
        "src/app.py:5: NEW_MARKER = 5", "src/new_file.py:1: NEW_MARKER = 'untracked but not ignored'"]
    assert tools_v1.grep("_MARKER").splitlines() == ["1 matching line in 1 file", "src/app.py:5: OLD_MARKER = 5"]
    assert tools_v1.repo.search_root() != tools_v1.repo.root


def test_context_lines_and_separators(tools: RepoTools) -> None:
    out = tools.grep("needle_doc", context=1)
    assert out.splitlines() == [
        "2 matching lines in 1 file",
        "docs/guide.md:1: needle_doc one",
        "docs/guide.md-2- text",
        "docs/guide.md:3: needle_doc two",
    ]
    two_files = tools.grep("needle_(doc one|hidden)", context=1).splitlines()
    assert two_files == [
        "2 matching lines in 2 files",
        ".github/workflows/ci.yml-1- name: ci",
        ".github/workflows/ci.yml:2: # needle_hidden",
        "--",
        "docs/guide.md:1: needle_doc one",
        "docs/guide.md-2- text",
    ]


def test_path_glob_and_negated_glob(tools: RepoTools) -> None:
    assert tools.grep("needle_", path="docs").splitlines()[0] == "2 matching lines in 1 file"
    assert tools.grep("needle_", path="docs/guide.md").splitlines()[0] == "2 matching lines in 1 file"
    assert tools.grep("needle_", glob="*.{md,js}").splitlines()[0] == "3 matching lines in 2 files"
    negated = tools.grep("needle_", glob="!*.md")
    assert "docs/guide.md" not in negated and negated.splitlines()[0] == "4 matching lines in 4 files"
    assert tools.grep("needle_", glob="*.rs") == "no text files to search in ., glob='*.rs'"


def test_ignore_case(tools: RepoTools) -> None:
    assert "no matches" in tools.grep("NEEDLE_DOC")
    assert tools.grep("NEEDLE_DOC", ignore_case=True).splitlines()[0] == "2 matching lines in 1 file"


def test_fixed_strings(tools: RepoTools) -> None:
    assert "os.path.join('a', x)" in tools.grep("os.path.join(", fixed_strings=True)
    with pytest.raises(InvalidPatternError):
        tools.grep("os.path.join(")


@pytest.mark.parametrize("pattern, reason", [
    ("foo(", "unclosed group"),
    ("(?<=a)b", "look-around"),
    ("[z-a]", "invalid character class range"),
])
def test_invalid_regex_names_the_reason(tools: RepoTools, pattern: str, reason: str) -> None:
    with pytest.raises(InvalidPatternError, match=reason) as info:
        tools.grep(pattern)
    assert info.value.pattern == pattern
    assert "fixed_strings=True" in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"pattern": "a\nb"}, "newline"),
    ({"pattern": 3}, "must be a string"),
    ({"pattern": "x", "context": 11}, "context must be a whole number from 0 to 10"),
    ({"pattern": "x", "max_results": 0}, "max_results must be a whole number from 1 to 1000"),
    ({"pattern": "x", "glob": ""}, "glob must be a file pattern"),
])
def test_bad_arguments(tools: RepoTools, kwargs: dict, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        tools.grep(**kwargs)


def test_missing_path_suggests(tools: RepoTools) -> None:
    with pytest.raises(FileNotInRepositoryError, match="Did you mean: docs/guide.md"):
        tools.grep("x", path="docs/giude.md")


@pytest.mark.parametrize("path", ["..", "/etc", ".git", "link_out"])
def test_escaping_search_paths_are_refused(tools: RepoTools, path: str) -> None:
    with pytest.raises(PathOutsideRepositoryError):
        tools.grep("root", path=path)


@pytest.fixture
def many(tmp_path: Path) -> RepoTools:
    repo = GitRepo.init(tmp_path / "many")
    for i in range(30):
        repo.write(f"pkg/m{i:02d}.py", "".join(f"hit = {j}\n" for j in range(10)))
    repo.commit("many")
    with RepoTools(Repository.open(repo.path, cache_root=tmp_path / "c")) as bound:
        yield bound


def test_cap_reports_the_total(many: RepoTools) -> None:
    out = many.grep("hit", max_results=25)
    lines = out.splitlines()
    assert lines[0] == ("showing 25 of 300 matching lines in 30 files (sorted by path); narrow with path= or glob=, "
                        "or a more specific pattern")
    assert lines[1] == "pkg/m00.py:1: hit = 0"
    assert lines[-1] == "pkg/m02.py:5: hit = 4"
    assert len(lines) == 26
    assert many.grep("hit").splitlines()[0].startswith("showing 100 of 300")


def test_many_files_are_searched_in_several_rg_runs(many: RepoTools, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("repo_auditor.tools.search.ARGS_BYTES_PER_RUN", 40)
    assert many.grep("hit = 9", max_results=1000).splitlines()[0] == "30 matching lines in 30 files"


def test_pathological_search_times_out(tools: RepoTools, tmp_path: Path) -> None:
    slow = tmp_path / "slow-rg"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ToolError, match="took longer than 0.3 s and was stopped; narrow it"):
        grep(TreeView(tools.repo), "x", view=None, rg=str(slow), timeout=0.3)


PLANTED = {
    "app/settings.py": 'import os\nSTRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\npassword = "hunter2!"\n',
    ".env": "DB_URL=postgres://app:pw@db/app\n",
    "deploy/key.pem": ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
                       "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn\n"
                       "-----END OPENSSH PRIVATE KEY-----\n"),
}


@pytest.fixture
def secrets_repo(tmp_path: Path) -> Path:
    repo = GitRepo.init(tmp_path / "secrets")
    for name, text in PLANTED.items():
        repo.write(name, text)
    repo.commit("secrets")
    return repo.path


def test_planted_secrets_are_redacted_in_grep(secrets_repo: Path, tmp_path: Path) -> None:
    with RepoTools(Repository.open(secrets_repo, cache_root=tmp_path / "c")) as tools:
        out = tools.grep("STRIPE|password|DB_URL|b3Blbn|BEGIN", context=0)
        assert out.splitlines() == [  # the key block's lines match only in the raw text: not found, not counted
            "3 matching lines in 2 files",
            ".env:1: DB_URL=[REDACTED:env_value]",
            "app/settings.py:2: STRIPE = \"[REDACTED:stripe_key]\"",
            "app/settings.py:3: password = \"[REDACTED:password]\"",
        ]
        assert tools.grep("REDACTED:private_key", context=1).splitlines()[0] == "3 matching lines in 1 file"


@pytest.mark.parametrize("pattern", [
    "sk_live_4", "hunter", 'password = "h', 'password = "[a-z]', 'password = ".{7}!', "pw@db", "b3Blbn", "BEGIN",
    r'STRIPE = "\w{5}', "OPENSSH",
])
def test_grep_answers_from_the_redacted_view(secrets_repo: Path, tmp_path: Path, pattern: str) -> None:
    """A match that exists only in the raw text of a secret (inside it, or straddling its start) is no match:
    the answer is the one a wrong guess gets, so counts cannot be used to probe a secret."""
    with RepoTools(Repository.open(secrets_repo, cache_root=tmp_path / "c")) as tools:
        out = tools.grep(pattern)
        wrong = tools.grep("zz_no_such_text_zz")
        assert out == wrong.replace(repr("zz_no_such_text_zz"), repr(pattern)), out
        assert tools.usage.searches[0].matches == 0


def test_redaction_off_in_grep(secrets_repo: Path, tmp_path: Path) -> None:
    with RepoTools(Repository.open(secrets_repo, cache_root=tmp_path / "c"), redact=False) as tools:
        out = tools.grep("sk_live|b3Blbn")
        assert "sk_live_4eC39HqLyjWDarjtT1zdp7dc" in out and "b3BlbnNzaC1rZXkt" in out


def test_searches_are_recorded_in_the_ledger(tools: RepoTools) -> None:
    tools.grep("needle_doc", path="docs")
    tools.grep("nothing_matches_this")
    with pytest.raises(InvalidPatternError):
        tools.grep("(")
    assert [(s.pattern, s.path, s.matches, s.files, s.shown) for s in tools.usage.searches] == [
        ("needle_doc", "docs", 2, 1, 2), ("nothing_matches_this", ".", 0, 0, 0)]


@pytest.mark.parametrize("glob, path, expected", [
    ("*.py", "a/b/c.py", True),
    ("*.py", "a/b/c.pyc", False),
    ("src/*.py", "src/a.py", True),
    ("src/*.py", "src/sub/a.py", False),
    ("src/**/*.py", "src/sub/deep/a.py", True),
    ("src/**/*.py", "src/a.py", True),
    ("**/test_*.py", "tests/unit/test_x.py", True),
    ("*.{js,ts}", "web/app.ts", True),
    ("*.{js,ts}", "web/app.tsx", False),
    ("!*.md", "README.md", False),
    ("!*.md", "main.go", True),
    ("tests", "tests/unit/test_x.py", True),
    ("src/", "src/a/b.py", True),
    ("file?.txt", "dir/file1.txt", True),
    ("[ab].c", "x/a.c", True),
    ("[!ab].c", "x/a.c", False),
    ("./src/*.py", "src/a.py", True),
])
def test_compile_glob(glob: str, path: str, expected: bool) -> None:
    assert compile_glob(glob)(path) is expected


def test_rg_binary_comes_from_the_ripgrep_wheel() -> None:
    from repo_auditor.tools.search import find_rg

    found = find_rg()
    assert os.access(found, os.X_OK) and Path(found).name == "rg"


def test_file_deleted_after_loading_is_skipped_quietly(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "r")
    repo.write("a.py", "keep = 1\n")
    repo.write("b.py", "gone = 1\n")
    repo.commit("two files")
    with RepoTools(Repository.open(repo.path, cache_root=tmp_path / "c")) as tools:
        repo.remove("b.py")
        assert tools.grep("gone").startswith("no matches for 'gone' in . (2 files searched)")
        assert tools.grep("keep").splitlines() == ["1 matching line in 1 file", "a.py:1: keep = 1"]
