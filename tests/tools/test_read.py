"""read_file: exact numbering, slices, caps and the continuation note, odd files, suggestions, redaction, ledger."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from repo_auditor.errors import FileNotInRepositoryError, PathOutsideRepositoryError, ToolError
from repo_auditor.repository import Repository
from repo_auditor.tools import RepoTools
from repo_auditor.tools.read import MAX_CHARS_PER_CALL, MAX_LINES_PER_CALL
from tests.gitrepo import GitRepo
from tests.tools.conftest import BIG_LINES


def numbered(output: str) -> dict[int, str]:
    """The ``<n> | <text>`` lines of a read_file output, as {n: text}."""
    found = {}
    for line in output.splitlines()[1:]:
        m = re.match(r"^\s*(\d+) \|(?: (.*))?$", line)
        if m:
            found[int(m.group(1))] = m.group(2) or ""
    return found


def test_whole_small_file_is_numbered_from_one(tools: RepoTools) -> None:
    out = tools.read_file("src/app.py")
    assert out.splitlines()[0] == "src/app.py | lines 1-10 of 10 | python"
    lines = numbered(out)
    assert list(lines) == list(range(1, 11))
    assert lines[5] == "NEW_MARKER = 5"
    assert out.splitlines()[5] == " 5 | NEW_MARKER = 5"  # numbers right-aligned to the widest shown
    assert "more lines" not in out


def test_slice_has_exact_line_numbers(tools: RepoTools) -> None:
    out = tools.read_file("big.py", start_line=250, end_line=260)
    assert out.splitlines()[0] == f"big.py | lines 250-260 of {BIG_LINES:,} | python"
    assert numbered(out) == {n: f"value_{n} = {n}" for n in range(250, 261)}
    assert "more lines" not in out  # the requested slice was served whole


def test_cap_and_continuation_note(tools: RepoTools) -> None:
    out = tools.read_file("big.py")
    lines = numbered(out)
    assert min(lines) == 1 and max(lines) == MAX_LINES_PER_CALL
    rest = BIG_LINES - MAX_LINES_PER_CALL
    assert out.splitlines()[-1] == f"... {rest} more lines: call read_file('big.py', start_line={MAX_LINES_PER_CALL + 1})"


def test_following_the_note_reads_the_rest(tools: RepoTools) -> None:
    seen: dict[int, str] = {}
    call = {"path": "big.py", "start_line": 1}
    for _ in range(5):
        out = tools.read_file(**call)
        seen.update(numbered(out))
        m = re.search(r"call read_file\('big\.py', start_line=(\d+)\)$", out)
        if not m:
            break
        call = {"path": "big.py", "start_line": int(m.group(1))}
    assert seen == {n: f"value_{n} = {n}" for n in range(1, BIG_LINES + 1)}


def test_note_keeps_the_requested_end(tools: RepoTools) -> None:
    out = tools.read_file("big.py", start_line=1, end_line=900)
    assert out.splitlines()[-1] == "... 500 more lines: call read_file('big.py', start_line=401, end_line=900)"


def test_character_cap(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "r")
    repo.write("wide.txt", "".join(f"{i:04d} " + "w" * 995 + "\n" for i in range(1, 101)))  # 100 lines of 1000 chars
    repo.commit("wide")
    with RepoTools(Repository.open(repo.path, cache_root=tmp_path / "c")) as tools:
        out = tools.read_file("wide.txt")
        shown = numbered(out)
        assert len(out) <= MAX_CHARS_PER_CALL + 500
        assert max(shown) < 100
        last = max(shown)
        assert out.splitlines()[-1] == f"... {100 - last} more lines: call read_file('wide.txt', start_line={last + 1})"


def test_very_long_line_is_cut_with_a_marker(tools: RepoTools) -> None:
    out = tools.read_file("long.txt")
    assert "...[line cut: 10,013 chars]" in out
    assert len(out) < 2500


def test_binary_file_gets_a_description(tools: RepoTools) -> None:
    out = tools.read_file("data/logo.png")
    assert out == "data/logo.png: binary file (24 bytes); it has no text lines to show."


def test_non_utf8_file_is_decoded_with_a_note(tools: RepoTools) -> None:
    out = tools.read_file("latin.txt")
    assert "not valid UTF-8: decoded byte for byte as Latin-1" in out.splitlines()[0]
    assert numbered(out)[1] == "café needle_latin"


def test_missing_file_suggests_close_matches(tools: RepoTools) -> None:
    with pytest.raises(FileNotInRepositoryError) as info:
        tools.read_file("src/mian.py")
    assert str(info.value).startswith("no such file: 'src/mian.py'. Did you mean: src/main.py")
    assert info.value.suggestions[0] == "src/main.py"
    assert info.value.path == "src/mian.py"


def test_same_name_elsewhere_is_suggested(tools: RepoTools) -> None:
    with pytest.raises(FileNotInRepositoryError, match="Did you mean: src/util.py"):
        tools.read_file("util.py")


def test_ignored_file_is_not_readable(tools: RepoTools) -> None:
    with pytest.raises(FileNotInRepositoryError):
        tools.read_file("ignored/secret.txt")


def test_folder_is_listed(tools: RepoTools) -> None:
    out = tools.read_file("src")
    assert out.splitlines()[0].startswith("src/ is a folder (4 files, 0 folders here)")
    assert "app.py  (10 lines)" in out and "new_file.py  (1 line)" in out
    root = tools.read_file(".")
    assert ".github/  (1 file)" in root and "link_out  (symlink to /etc/passwd)" in root
    assert "logo.png" not in root and "data/  (1 file)" in root


@pytest.mark.parametrize("kwargs, message", [
    ({"start_line": 0}, "start_line must be 1 or more"),
    ({"start_line": -5}, "start_line must be 1 or more"),
    ({"start_line": 11}, r"src/app.py has 10 lines; start_line=11 is past the end"),
    ({"start_line": 5, "end_line": 2}, r"end_line \(2\) is before start_line \(5\)"),
    ({"start_line": "3"}, "start_line must be a whole number"),
    ({"start_line": 2.5}, "start_line must be a whole number"),
    ({"end_line": True}, "end_line must be a whole number"),
])
def test_bad_line_ranges_have_clear_messages(tools: RepoTools, kwargs: dict, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        tools.read_file("src/app.py", **kwargs)


def test_end_line_past_the_end_is_clamped(tools: RepoTools) -> None:
    out = tools.read_file("src/app.py", start_line=9, end_line=500)
    assert list(numbered(out)) == [9, 10]


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", ".git/config", "link_out", "src/\0app.py"])
def test_escapes_are_refused(tools: RepoTools, path: str) -> None:
    with pytest.raises(PathOutsideRepositoryError):
        tools.read_file(path)


def test_absolute_path_inside_the_root_reads(tools: RepoTools) -> None:
    out = tools.read_file(str(tools.repo.root / "src" / "main.py"))
    assert out.splitlines()[0] == "src/main.py | lines 1-2 of 2 | python"


def test_symlink_inside_the_tree_reads_its_target(tools: RepoTools) -> None:
    out = tools.read_file("link_in")
    assert out.splitlines()[0] == "link_in | lines 1-2 of 2 | python | symlink to src/main.py"
    assert numbered(out) == {1: "def main():", 2: "    return 0"}


def test_vendored_file_says_so(tools: RepoTools) -> None:
    assert "vendored third-party code" in tools.read_file("vendor/lib.js").splitlines()[0]


def test_reads_at_a_ref_see_that_commit(tools_v1: RepoTools) -> None:
    assert numbered(tools_v1.read_file("src/app.py"))[5] == "OLD_MARKER = 5"
    with pytest.raises(FileNotInRepositoryError):
        tools_v1.read_file("src/new_file.py")


# Built at run time: the documented example key (AKIA...EXAMPLE) is deliberately kept by the redactor.
AWS_KEY_ID = "AK" + "IA" + "Q3EGRIFUYTRFZB7W"
SECRETS_PY = '''\
import os

AWS_KEY = "{aws_key}"
password = "hunter2!"
GITHUB = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
'''.replace("{aws_key}", AWS_KEY_ID)


@pytest.fixture
def secret_repo(tmp_path: Path) -> Path:
    repo = GitRepo.init(tmp_path / "secrets")
    repo.write("settings.py", SECRETS_PY)
    repo.write(".env", "DEBUG=true\nDB_PASS=hunter3\n")
    repo.write("keys/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n"
               "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn\n"
               "-----END OPENSSH PRIVATE KEY-----\n")
    repo.commit("secrets")
    return repo.path


def test_planted_secrets_are_redacted_in_read_file(secret_repo: Path, tmp_path: Path) -> None:
    with RepoTools(Repository.open(secret_repo, cache_root=tmp_path / "c")) as tools:
        out = tools.read_file("settings.py")
        assert AWS_KEY_ID not in out and "hunter2" not in out and "ghp_abc" not in out
        lines = numbered(out)
        assert lines[3] == 'AWS_KEY = "[REDACTED:aws_access_key]"'
        assert lines[4] == 'password = "[REDACTED:password]"'
        assert lines[5] == 'GITHUB = "[REDACTED:github_token]"'
        assert numbered(tools.read_file(".env")) == {1: "DEBUG=[REDACTED:env_value]", 2: "DB_PASS=[REDACTED:env_value]"}
        key = tools.read_file("keys/id_rsa")
        assert "b3BlbnNzaC1rZXkt" not in key
        assert numbered(key) == {n: "[REDACTED:private_key]" for n in (1, 2, 3)}
        # a slice starting inside the block is redacted too
        assert "b3BlbnNzaC1rZXkt" not in tools.read_file("keys/id_rsa", start_line=2, end_line=2)


def test_redaction_off_shows_the_file_as_is(secret_repo: Path, tmp_path: Path) -> None:
    with RepoTools(Repository.open(secret_repo, cache_root=tmp_path / "c"), redact=False) as tools:
        lines = numbered(tools.read_file("settings.py"))
        assert lines == {n + 1: text for n, text in enumerate(SECRETS_PY.splitlines())}


def test_reads_are_recorded_in_the_ledger(tools: RepoTools) -> None:
    tools.read_file("big.py", start_line=10, end_line=20)
    tools.read_file("big.py", start_line=15, end_line=30)
    tools.read_file("big.py", start_line=900)
    tools.read_file("src")  # a folder listing reads no lines
    with pytest.raises(FileNotInRepositoryError):
        tools.read_file("nope.py")
    assert [(r.path, r.start, r.end) for r in tools.usage.reads] == [("big.py", 10, 20), ("big.py", 15, 30),
                                                                     ("big.py", 900, 1000)]
    assert tools.usage.lines_read() == {"big.py": [(10, 30), (900, 1000)]}


def test_generated_and_large_files_say_what_they_are(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "r")
    repo.write("package-lock.json", '{\n  "lockfileVersion": 3\n}\n')
    repo.write("data/huge.csv", "".join(f"{i},{'v' * 60}\n" for i in range(1, 20_001)))  # about 1.3 MB
    repo.commit("odd files")
    with RepoTools(Repository.open(repo.path, cache_root=tmp_path / "c")) as tools:
        assert tools.read_file("package-lock.json").splitlines()[0] == (
            "package-lock.json | lines 1-3 of 3 | json | generated file")
        out = tools.read_file("data/huge.csv", start_line=19_999)
        assert out.splitlines()[0] == "data/huge.csv | lines 19999-20000 of 20,000 | large file: read it in slices"
        assert numbered(out) == {19_999: "19999," + "v" * 60, 20_000: "20000," + "v" * 60}
