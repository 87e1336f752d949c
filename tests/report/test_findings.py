"""Parsing untrusted model output into findings: severities, locations, shapes, garbage."""

from __future__ import annotations

import pytest

from repo_auditor.findings import (
    MAX_EVIDENCE_LINES,
    MAX_TITLE_CHARS,
    Coverage,
    Finding,
    FindingParseProblem,
    Location,
    RepoInfo,
    Severity,
    parse_findings,
    strip_line_numbers,
    web_url_from_remote,
)

from .builders import finding


@pytest.mark.parametrize(
    ("raw", "expected", "noted"),
    [
        ("high", Severity.HIGH, False),
        ("HIGH", Severity.HIGH, False),
        (" High ", Severity.HIGH, False),
        ("sev: high", Severity.HIGH, False),
        ("Severity: Critical!", Severity.CRITICAL, False),
        ("**low**", Severity.LOW, False),
        ("informational", Severity.INFO, False),
        ("major", Severity.HIGH, False),
        ("minor", Severity.LOW, False),
        ("moderate", Severity.MEDIUM, False),
        (Severity.LOW, Severity.LOW, False),
        (9.8, Severity.CRITICAL, True),
        ("7.5", Severity.HIGH, True),
        (0, Severity.INFO, True),
        (None, Severity.MEDIUM, True),
        ("", Severity.MEDIUM, True),
        ("catastrophic-ish", Severity.MEDIUM, True),
        (42, Severity.MEDIUM, True),
        (float("nan"), Severity.MEDIUM, True),
        (True, Severity.MEDIUM, True),
        (["high"], Severity.MEDIUM, True),
    ],
)
def test_severity_parse_is_lenient_and_says_when_it_guessed(raw, expected, noted):
    severity, note = Severity.parse(raw)
    assert severity is expected
    assert (note is not None) is noted


def test_severities_are_ordered_and_print_lowercase():
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert str(Severity.HIGH) == "high" and f"{Severity.INFO}" == "info"


@pytest.mark.parametrize(
    ("raw", "location"),
    [
        ({"path": "a.py", "line": 10}, Location("a.py", 10)),
        ({"file": "./a.py", "line": "10"}, Location("a.py", 10)),
        ({"filename": "src\\a.py", "start_line": 3, "end_line": 7}, Location("src/a.py", 3, 7)),
        ({"path": "a.py", "lines": "10-20"}, Location("a.py", 10, 20)),
        ({"path": "a.py", "lines": "L10-L20"}, Location("a.py", 10, 20)),
        ({"path": "a.py", "lines": [4, 9]}, Location("a.py", 4, 9)),
        ({"path": "a.py", "line": "20-10"}, Location("a.py", 10, 20)),
        ({"path": "a.py", "line": 10, "end_line": 10}, Location("a.py", 10)),
        ({"path": "a.py", "line": 10, "end_line": "soon"}, Location("a.py", 10)),
        ({"location": "a.py:10-20"}, Location("a.py", 10, 20)),
        ({"location": "src/a.py#L10-L20"}, Location("src/a.py", 10, 20)),
        ({"location": "a.py:7"}, Location("a.py", 7)),
        ({"location": "a.py"}, Location("a.py")),
        ({"location": {"file": "a.py", "line": 3}}, Location("a.py", 3)),
        ({"path": "a.py:12"}, Location("a.py", 12)),
        ({"path": "app/db.py:9", "line": "8"}, Location("app/db.py", 8)),  # the 1.5B model: both, a line apart
        ({"path": "a.py", "line": 12.0}, Location("a.py", 12)),
        ({"PATH": "a.py", "Line": 5}, Location("a.py", 5)),
    ],
)
def test_from_model_reads_the_location_shapes_models_write(raw, location):
    parsed = Finding.from_model({"title": "t", **raw})
    assert isinstance(parsed, Finding), parsed
    assert parsed.location == location


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "expected an object"),
        ("a.py:10 is bad", "expected an object"),
        (["title", "a.py"], "expected an object"),
        ({"path": "a.py", "line": 3}, "missing 'title'"),
        ({"title": "   ", "path": "a.py"}, "missing 'title'"),
        ({"title": ["not", "text"], "path": "a.py"}, "missing 'title'"),
        ({"title": "t", "line": 3}, "missing 'path'"),
        ({"title": "t", "path": 12}, "missing 'path'"),
        ({"title": "t", "path": "./"}, "not a file path"),
        ({"title": "t", "path": "a\0b.py"}, "not a file path"),
        ({"title": "t", "path": "a.py", "line": "abc"}, "not a line number"),
        ({"title": "t", "path": "a.py", "line": 0}, "out of range"),
        ({"title": "t", "path": "a.py", "line": -4}, "out of range"),
        ({"title": "t", "path": "a.py", "line": 10**12}, "out of range"),
        ({"title": "t", "path": "a.py", "line": 3.5}, "not a line number"),
        ({"title": "t", "path": "a.py", "line": float("inf")}, "not a line number"),
        ({"title": "t", "path": "a.py", "line": True}, "not a line number"),
        ({"title": "t", "path": "a.py", "line": {"x": 1}}, "not a line number"),
    ],
)
def test_from_model_turns_garbage_into_a_problem_not_a_crash(raw, message):
    parsed = Finding.from_model(raw, index=3)
    assert isinstance(parsed, FindingParseProblem)
    assert message in parsed.message
    assert str(parsed).startswith("finding 3: ")


def test_from_model_keeps_text_fields_and_normalises_them():
    parsed = Finding.from_model({
        "name": "  SQL   injection\nin search ",
        "file": "app.py", "line": 4, "sev": "crit",
        "code": "```python\n 4 | cur.execute(q % term)\n```",
        "description": "User input is formatted into SQL.\r\n",
    })
    assert isinstance(parsed, Finding)
    assert parsed.title == "SQL injection in search"
    assert parsed.severity is Severity.CRITICAL
    assert parsed.evidence == "cur.execute(q % term)"
    assert parsed.explanation == "User input is formatted into SQL."
    assert parsed.verified is None and parsed.notes == ()


def test_from_model_caps_runaway_text_and_notes_it():
    long_evidence = "\n".join(f"x{i} = {i}" for i in range(500))
    parsed = Finding.from_model({"title": "t" * 1000, "path": "a.py", "line": 1, "evidence": long_evidence})
    assert isinstance(parsed, Finding)
    assert len(parsed.title) == MAX_TITLE_CHARS
    lines = parsed.evidence.split("\n")
    assert len(lines) == MAX_EVIDENCE_LINES + 1
    assert lines[0] == "x0 = 0" and lines[-1] == "x499 = 499" and "elided by repo_auditor" in lines[60]
    assert any("title cut" in n for n in parsed.notes) and any("evidence cut" in n for n in parsed.notes)


def test_from_model_survives_a_hostile_object():
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    parsed = Finding.from_model({"title": "t", "path": "a.py", "line": 1, "explanation": Hostile()})
    assert isinstance(parsed, Finding)
    assert "unprintable" in parsed.explanation


@pytest.mark.parametrize(
    ("payload", "found", "problems"),
    [
        ([{"title": "a", "path": "a.py", "line": 1}, {"title": "b"}, 7], 1, 2),
        ({"findings": [{"title": "a", "path": "a.py"}]}, 1, 0),
        ({"title": "a", "path": "a.py", "line": 2}, 1, 0),
        ('[{"title": "a", "path": "a.py"}]', 1, 0),
        ("not json at all", 0, 1),
        ("", 0, 0),
        (None, 0, 0),
        (42, 0, 1),
        ({"findings": "nope"}, 0, 1),
    ],
)
def test_parse_findings_accepts_the_usual_containers(payload, found, problems):
    parsed, rejected = parse_findings(payload)
    assert (len(parsed), len(rejected)) == (found, problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  12 | x = 1\n  13 | y = 2", "x = 1\ny = 2"),
        ("12: x = 1\n13: y = 2", "x = 1\ny = 2"),
        ("L12: x = 1", "x = 1"),
        ("12\tx = 1", "x = 1"),
        ("x = 1\n13: y = 2", "x = 1\n13: y = 2"),  # only when every line has a prefix
        ("", ""),
    ],
)
def test_strip_line_numbers(text, expected):
    assert strip_line_numbers(text) == expected


def test_fingerprint_ignores_lines_whitespace_and_case_but_not_substance():
    base = finding(evidence="digest = hashlib.md5(password)")
    same = finding(title="md5 USED  for passwords", line=80, evidence="  8 |   digest = hashlib.md5( password )")
    assert base.fingerprint == same.fingerprint == base.id
    assert len(base.fingerprint) == 16
    assert finding(evidence="digest = hashlib.sha1(password)").fingerprint != base.fingerprint
    assert finding(path="other.py", evidence="digest = hashlib.md5(password)").fingerprint != base.fingerprint
    assert finding(title="Weak hash", evidence="digest = hashlib.md5(password)").fingerprint != base.fingerprint


def test_location_validates_and_prints():
    assert str(Location("a.py", 3, 9)) == "a.py:3-9"
    assert str(Location("a.py", 3)) == "a.py:3" and str(Location("a.py")) == "a.py"
    with pytest.raises(ValueError, match="line must be 1 or more"):
        Location("a.py", 0)
    with pytest.raises(ValueError, match="end_line 2 must be at or after line 5"):
        Location("a.py", 5, 2)


@pytest.mark.parametrize(
    ("remote", "web"),
    [
        ("git@github.com:acme/shop.git", "https://github.com/acme/shop"),
        ("git@github.com:acme/shop", "https://github.com/acme/shop"),
        ("https://github.com/acme/shop.git", "https://github.com/acme/shop"),
        ("https://github.com/acme/shop/", "https://github.com/acme/shop"),
        ("https://x-token:ghp_secret@github.com/acme/shop.git", "https://github.com/acme/shop"),
        ("ssh://git@github.com/acme/shop.git", "https://github.com/acme/shop"),
        ("ssh://git@github.com:22/acme/shop.git", "https://github.com/acme/shop"),
        ("git://github.com/acme/shop.git", "https://github.com/acme/shop"),
        ("https://www.github.com/acme/shop", "https://github.com/acme/shop"),
        ("git@gitlab.com:group/sub/shop.git", "https://gitlab.com/group/sub/shop"),
        ("https://gitlab.com/group/shop.git", "https://gitlab.com/group/shop"),
        ("git@bitbucket.org:acme/shop.git", "https://bitbucket.org/acme/shop"),
        ("https://user@bitbucket.org/acme/shop.git", "https://bitbucket.org/acme/shop"),
        ("git@example.com:acme/shop.git", None),
        ("https://github.com/acme", None),
        ("https://github.com/acme/shop/extra", None),
        ("file:///srv/git/shop.git", None),
        ("/srv/git/shop.git", None),
        ("https://github.com/acme/<script>", None),
        ("", None),
        (None, None),
    ],
)
def test_web_url_from_remote(remote, web):
    assert web_url_from_remote(remote) == web


@pytest.mark.parametrize(
    ("web", "location", "url"),
    [
        ("https://github.com/o/r", Location("src/a b.py", 10, 12),
         "https://github.com/o/r/blob/{c}/src/a%20b.py#L10-L12"),
        ("https://github.com/o/r", Location("a.py", 10), "https://github.com/o/r/blob/{c}/a.py#L10"),
        ("https://github.com/o/r", Location("a.py"), "https://github.com/o/r/blob/{c}/a.py"),
        ("https://gitlab.com/g/r", Location("a.py", 10, 12), "https://gitlab.com/g/r/-/blob/{c}/a.py#L10-12"),
        ("https://bitbucket.org/o/r", Location("a.py", 10, 12), "https://bitbucket.org/o/r/src/{c}/a.py#lines-10:12"),
    ],
)
def test_blob_url_per_host(web, location, url):
    commit = "ab" * 20
    assert RepoInfo("/r", None, commit, web).blob_url(location) == url.format(c=commit)


def test_blob_url_needs_a_web_url_and_a_real_commit():
    assert RepoInfo("/r", None, None, "https://github.com/o/r").blob_url(Location("a.py", 1)) is None
    assert RepoInfo("/r", None, "ab" * 20, None).blob_url(Location("a.py", 1)) is None
    hostile_commit = "main) [x](http://evil"
    assert RepoInfo("/r", None, hostile_commit, "https://github.com/o/r").blob_url(Location("a.py", 1)) is None
    repo = RepoInfo.from_remote("/r", "v1", "ab" * 20, "git@github.com:o/r.git")
    assert repo.web_url == "https://github.com/o/r" and repo.ref == "v1"


def test_coverage_from_ledger_counts_distinct_lines():
    from repo_auditor.tools.ledger import FileRead, Search, UsageLedger

    ledger = UsageLedger(reads=[FileRead("a.py", 1, 50, 200), FileRead("a.py", 40, 80, 200),
                                FileRead("b.py", 1, 5, 5)],
                         searches=[Search("md5", ".", None, 3, 1, 3)])
    coverage = Coverage.from_ledger(ledger, iterations=4, cost=0.5)
    assert coverage.files_read == {"a.py": 80, "b.py": 5}
    assert coverage.lines_read == 85 and coverage.searches == 1 and coverage.symbol_queries == 0
    assert coverage.iterations == 4 and coverage.cost == 0.5


def test_evidence_given_as_a_list_of_lines_is_matched_in_order_not_necessarily_adjacent():
    """A small model's evidence list picks lines of the file (tools/eval transcripts, 2026-12-02)."""
    from repo_auditor.findings.verify import verify_findings

    from .builders import FakeTree

    text = 'from app.db import connect, find_user\n\n\ndef handle(request):\n    conn = connect("app.sqlite")\n'
    [parsed], _ = parse_findings([{"title": "t", "path": "app/web.py", "line": 1,
                                   "evidence": ["from app.db import connect, find_user", "conn = connect(\"app.sqlite\")"]}])
    [result] = verify_findings([parsed], FakeTree({"app/web.py": text}))
    assert result.verified is True and (result.location.line, result.location.last_line) == (1, 5)
    [backwards], _ = parse_findings([{"title": "t", "path": "app/web.py", "line": 1,
                                      "evidence": ["conn = connect(\"app.sqlite\")", "from app.db import connect"]}])
    assert verify_findings([backwards], FakeTree({"app/web.py": text}))[0].verified is False



@pytest.mark.parametrize(("raw", "location", "evidence"), [
    # the 1.5B model's shifted values (tools/eval/transcripts/fixture-sql-1.5b-direct-cot-2026-12-02-run10)
    ({"title": "t", "path": "app/db.py:10", "line": "query = 'SELECT * FROM users WHERE name = '%s'\" % name",
      "end_line": "query = 'SELECT * FROM users WHERE name = '%s'\" % name", "evidence": "The query is built.",
      "explanation": "Bad."}, ("app/db.py", 10), "query = 'SELECT * FROM users WHERE name = '%s'\" % name"),
    ({"title": "t", "path": "app/web.py:4", "line": "return find_user(conn, request.args['name'])",
      "end_line": "None", "evidence": "Called without validation."}, ("app/web.py", 4),
     "return find_user(conn, request.args['name'])"),
    # the same shift under another line key: every line key is cleared, not only "line"
    ({"title": "t", "path": "app/db.py:9", "start_line": "query = q % name", "line_end": "return q",
      "evidence": "Built by hand."}, ("app/db.py", 9), "query = q % name"),
])
def test_code_written_where_the_line_number_belongs_becomes_the_evidence(raw, location, evidence):
    finding = Finding.from_model(raw)
    assert (finding.location.path, finding.location.line) == location and finding.evidence == evidence
    assert finding.explanation.startswith(raw["evidence"])


def test_prose_where_the_line_number_belongs_is_still_a_problem():
    assert isinstance(Finding.from_model({"title": "t", "path": "a.py", "line": "see above", "evidence": "x"}),
                      FindingParseProblem)
