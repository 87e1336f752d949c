"""Verification of cited locations against the code, dedup and ranking."""

from __future__ import annotations

import pytest

from repo_auditor.findings import Location, Severity
from repo_auditor.findings.verify import build_report, dedupe, rank, verify_findings

from .builders import AUTH_PY, FakeTree, finding

MD5_LINE = "    digest = hashlib.md5(password.encode()).hexdigest()"  # line 8 of AUTH_PY


def verify_one(tree, **kwargs):
    (result,) = verify_findings([finding(**kwargs)], tree)
    return result


def test_sample_file_is_what_the_tests_assume():
    assert AUTH_PY.split("\n")[7] == MD5_LINE


@pytest.mark.parametrize(
    "evidence",
    [
        MD5_LINE,
        "digest = hashlib.md5(password.encode()).hexdigest()",
        "digest=hashlib.md5( password.encode() ).hexdigest()",  # whitespace-insensitive
        "hashlib.md5(password.encode())",  # a fragment of the line
        "   8 | digest = hashlib.md5(password.encode()).hexdigest()",  # read_file prefix
        "8: digest = hashlib.md5(password.encode()).hexdigest()",
        "```python\ndigest = hashlib.md5(password.encode()).hexdigest()\n```",
    ],
)
def test_evidence_at_the_cited_line_is_verified(tree, evidence):
    result = verify_one(tree, line=8, evidence=evidence)
    assert result.verified is True
    assert result.location == Location("src/auth.py", 8)
    assert result.reported_location is None
    assert result.verification_note == "evidence matches the cited lines"


def test_multi_line_evidence_with_prefixes_and_blank_lines(tree):
    evidence = ("  7 |     stored = user.password_hash\n"
                "  8 |     digest = hashlib.md5(password.encode()).hexdigest()\n"
                "  9 |     return digest == stored")
    result = verify_one(tree, line=7, end_line=9, evidence=evidence)
    assert result.verified is True and result.location == Location("src/auth.py", 7, 9)
    across_blank_lines = "return digest == stored\n\n\ndef load_config(path):"
    result = verify_one(tree, line=9, evidence=across_blank_lines)
    assert result.verified is True and result.location == Location("src/auth.py", 9, 12)


def test_multi_line_evidence_must_be_contiguous(tree):
    result = verify_one(tree, line=5, evidence="def check_password(user, password):\nreturn digest == stored")
    assert result.verified is False


def test_elided_evidence_matches_in_order(tree):
    evidence = "def check_password(user, password):\n    ...\n    return digest == stored"
    result = verify_one(tree, line=5, evidence=evidence)
    assert result.verified is True and result.location == Location("src/auth.py", 5, 9)
    backwards = "return digest == stored\n# ...\ndef check_password(user, password):"
    assert verify_one(tree, line=5, evidence=backwards).verified is False
    inline = "digest = hashlib.md5(...).hexdigest()"
    assert verify_one(tree, line=8, evidence=inline).verified is True


def test_evidence_a_few_lines_off_is_moved_and_says_so(tree):
    result = verify_one(tree, line=40, evidence="return eval(handle.read())")
    assert result.verified is True
    assert result.location == Location("src/auth.py", 14)
    assert result.reported_location == Location("src/auth.py", 40)
    assert result.verification_note == "moved from line 40 to 14"


def test_evidence_far_away_but_unique_in_the_file_is_moved(tree):
    (result,) = verify_findings([finding(line=55, evidence="stored = user.password_hash")], tree, window=5)
    assert result.verified is True and result.location.line == 7
    assert "moved from line 55 to 7" in result.verification_note and "occurs once" in result.verification_note


def test_evidence_far_away_and_repeated_cannot_be_placed():
    text = "x = compute()\n" + "pass\n" * 100 + "x = compute()\n" + "pass\n" * 100
    tree = FakeTree({"a.py": text})
    (result,) = verify_findings([finding(path="a.py", line=150, evidence="x = compute()")], tree, window=10)
    assert result.verified is False
    assert "appears 2 times" in result.verification_note and "lines 1, 102" in result.verification_note


def test_the_closest_of_several_nearby_matches_wins():
    tree = FakeTree({"a.py": "".join(f"{'x = compute()' if n in (3, 12) else 'pass'}\n" for n in range(1, 30))})
    (result,) = verify_findings([finding(path="a.py", line=10, evidence="x = compute()")], tree)
    assert result.verified is True and result.location.line == 12


def test_evidence_not_in_the_file_is_refuted(tree):
    result = verify_one(tree, line=8, evidence="password == 'hunter2'")
    assert result.verified is False
    assert result.verification_note == "evidence not found in src/auth.py"
    assert result.location == Location("src/auth.py", 8)


def test_nonexistent_path_is_refuted(tree):
    result = verify_one(tree, path="src/missing.py", evidence="anything at all")
    assert result.verified is False
    assert "no file 'src/missing.py'" in result.verification_note


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", ".git/config", "C:\\x.py"])
def test_paths_outside_the_repository_are_refuted(tree, path):
    result = verify_one(tree, path=path, evidence="root:x:0:0")
    assert result.verified is False and "not a file of the repository" in result.verification_note


def test_line_past_the_end_of_the_file_is_refuted(tree):
    result = verify_one(tree, line=500, evidence="something that is not there")
    assert result.verified is False
    assert "line 500 is past the end of src/auth.py (60 lines)" in result.verification_note
    no_evidence = verify_one(tree, line=61, evidence="")
    assert no_evidence.verified is False and "past the end" in no_evidence.verification_note


def test_paths_are_normalised_and_a_unique_suffix_is_corrected(tree):
    result = verify_one(tree, path="./src/auth.py", line=8, evidence="hashlib.md5(password.encode())")
    assert result.verified is True and result.location.path == "src/auth.py"
    short = verify_one(tree, path="auth.py", line=8, evidence="hashlib.md5(password.encode())")
    assert short.verified is True and short.location == Location("src/auth.py", 8)
    assert short.reported_location == Location("auth.py", 8)
    assert "path corrected from 'auth.py' to 'src/auth.py'" in short.verification_note


def test_missing_evidence_is_filled_from_the_cited_lines_but_not_verified(tree):
    result = verify_one(tree, line=7, end_line=8, evidence="")
    assert result.verified is None
    assert result.evidence == "    stored = user.password_hash\n" + MD5_LINE
    assert "not checked" in result.verification_note


def test_too_short_evidence_is_not_checked(tree):
    result = verify_one(tree, line=9, evidence="  ) ")
    assert result.verified is None and "too short" in result.verification_note


def test_no_line_cited_is_located_when_unique(tree):
    result = verify_one(tree, line=None, evidence="eval(handle.read())")
    assert result.verified is True and result.location == Location("src/auth.py", 14)
    nothing = verify_one(tree, line=None, evidence="")
    assert nothing.verified is None


def test_binary_files_have_no_lines(tree):
    result = verify_one(tree, path="logo.png", line=1, evidence="PNG header")
    assert result.verified is False and "binary" in result.verification_note


def test_crlf_files_and_form_feeds_keep_editor_line_numbers():
    tree = FakeTree({"w.py": "a = 1\r\n\x0c\r\nb = 2\r\nc = 3\r\n"})
    (result,) = verify_findings([finding(path="w.py", line=3, evidence="b = 2\nc = 3")], tree)
    assert result.verified is True and result.location == Location("w.py", 3, 4)


def test_verify_reads_each_file_once(tree):
    reads: list[str] = []
    original = tree.read_text

    def counting(path: str) -> str:
        reads.append(path)
        return original(path)

    tree.read_text = counting
    verify_findings([finding(evidence=MD5_LINE), finding(line=14, evidence="eval(")], tree)
    assert reads == ["src/auth.py"]


def test_negative_window_is_an_error(tree):
    with pytest.raises(ValueError, match="window must be 0 or more"):
        verify_findings([], tree, window=-1)


def test_dedupe_keeps_the_best_copy_of_identical_findings():
    weak = finding(severity=Severity.LOW, evidence="md5(x)", verified=False)
    strong = finding(severity=Severity.HIGH, evidence=" md5( x ) ", verified=True)
    other = finding(title="Another", evidence="md5(x)", verified=True)
    assert dedupe([weak, other, strong]) == [strong, other]


def test_rank_orders_verified_then_unchecked_then_refuted_then_severity_path_line():
    a = finding(title="a", severity=Severity.LOW, path="b.py", line=1, verified=True)
    b = finding(title="b", severity=Severity.CRITICAL, path="z.py", line=1, verified=False)
    c = finding(title="c", severity=Severity.HIGH, path="b.py", line=9, verified=True)
    d = finding(title="d", severity=Severity.HIGH, path="b.py", line=2, verified=True)
    e = finding(title="e", severity=Severity.HIGH, path="a.py", line=50, verified=None)
    assert [f.title for f in rank([a, b, c, d, e])] == ["d", "c", "a", "e", "b"]


def test_build_report_parses_verifies_dedupes_and_ranks(tree):
    from repo_auditor.findings import Coverage, RepoInfo

    submission = [
        {"title": "Config is eval'd", "path": "src/auth.py", "line": 14, "severity": "critical",
         "evidence": "return eval(handle.read())"},
        {"title": "MD5 for passwords", "file": "src/auth.py", "line": 30, "severity": "high",
         "evidence": "hashlib.md5(password.encode())"},
        {"title": "MD5 for passwords", "file": "src/auth.py", "line": 8, "severity": "high",
         "evidence": "hashlib.md5(password.encode())"},
        {"title": "Invented", "path": "src/auth.py", "line": 3, "severity": "critical", "evidence": "os.system(cmd)"},
        "not a finding",
    ]
    seen = {}

    def synthesizer(question, answer, findings):
        seen["count"] = len(findings)
        return answer + " (reviewed)", findings

    report = build_report("Q?", "A.", submission, tree, repo_info=RepoInfo("/r"), coverage=Coverage(),
                          synthesizer=synthesizer)
    assert seen["count"] == 4
    assert report.answer == "A. (reviewed)"
    assert [(f.title, f.verified, f.location.line) for f in report.findings] == [
        ("Config is eval'd", True, 14), ("MD5 for passwords", True, 8), ("Invented", False, 3)]
    assert len(report.problems) == 1 and report.problems[0].index == 4
    assert report.headline() == "3 findings, 2 verified: 1 critical, 1 high"


def test_findings_invented_by_the_synthesizer_are_still_verified(tree):
    from repo_auditor.findings import Coverage, RepoInfo

    def synthesizer(question, answer, findings):
        return answer, [*findings, finding(title="Made up", evidence="import pickle")]

    report = build_report("Q?", "A.", [], tree, repo_info=RepoInfo("/r"), coverage=Coverage(),
                          synthesizer=synthesizer)
    assert [f.verified for f in report.findings] == [False]
    assert report.verified_count == 0 and report.headline() == "1 finding, none verified"


def test_evidence_quoted_under_the_wrong_file_moves_to_the_one_file_that_holds_it(tree):
    # The 1.5B model's habit on fixtures/audit_repo: the right line of code, cited under its caller's file.
    result = verify_one(tree, path="src/util/helpers.py", line=1, evidence=MD5_LINE)
    assert result.verified is True
    assert result.location == Location("src/auth.py", 8)
    assert result.reported_location == Location("src/util/helpers.py", 1)
    assert result.verification_note.startswith("moved from src/util/helpers.py:1 to src/auth.py:8")


def test_evidence_in_several_other_files_is_not_moved():
    tree = FakeTree({"a.py": "x = 1\n", "b.py": "token = compute_token()\n", "c.py": "token = compute_token()\n"})
    result = verify_one(tree, path="a.py", line=1, evidence="token = compute_token()")
    assert result.verified is False and result.location == Location("a.py", 1)


DB_PY = ('import sqlite3\n\n\ndef find_user(conn, name):\n'
         '    query = "SELECT * FROM users WHERE name = \'%s\'" % name\n    return conn.execute(query).fetchall()\n')


@pytest.mark.parametrize("evidence", [
    # from a real run of Qwen2.5-Coder-1.5B (tools/eval/transcripts/fixture-sql-1.5b-direct-2026-12-02-run5.json)
    "query = 'SELECT * FROM users WHERE name = '%s'\" % name",
    "query = \u201cSELECT * FROM users WHERE name = '%s'\u201d % name",
    "query = `SELECT * FROM users WHERE name = '%s'` % name",
])
def test_evidence_quoted_with_other_quote_marks_is_verified_and_shows_the_code(evidence):
    tree = FakeTree({"app/db.py": DB_PY})
    (result,) = verify_findings([finding(path="app/db.py", line=6, evidence=evidence)], tree)
    assert result.verified is True and result.location == Location("app/db.py", 5)
    assert result.evidence == DB_PY.split("\n")[4]  # the report quotes the code, not the model's copy
    assert "other quote marks" in result.verification_note and "moved from line 6 to 5" in result.verification_note


def test_other_quote_marks_do_not_make_different_code_match():
    tree = FakeTree({"app/db.py": DB_PY})
    (result,) = verify_findings([finding(path="app/db.py", line=5, evidence=(
        "conn.execute('SELECT * FROM users WHERE name = ?', (name,))"))], tree)
    assert result.verified is False
