"""Verification against a real git repository, at a ref that differs from the work tree."""

from __future__ import annotations

from pathlib import Path

from repo_auditor.findings import Coverage, Location, RepoInfo
from repo_auditor.findings.verify import build_report, verify_findings
from repo_auditor.report import render
from repo_auditor.repository import Repository
from tests.gitrepo import GitRepo

from .builders import AUTH_PY, finding


def _history(tmp_path: Path) -> tuple[GitRepo, str]:
    repo = GitRepo.init(tmp_path / "shop")
    repo.write("src/auth.py", AUTH_PY)
    first = repo.commit("first", tag="v1")
    # Twelve new lines above the MD5 call in the next commit and in the work tree.
    repo.write("src/auth.py", "".join(f"# banner {n}\n" for n in range(12)) + AUTH_PY)
    repo.commit("banner")
    repo.write("src/auth.py", "# nothing left\n")  # uncommitted: the work tree no longer has the code
    return repo, first


def test_verification_reads_the_audited_ref_not_the_work_tree(tmp_path):
    repo, first = _history(tmp_path)
    cited = [finding(line=8, evidence="digest = hashlib.md5(password.encode()).hexdigest()")]

    with Repository.open(repo.path, ref="v1") as loaded:
        at_v1 = verify_findings(cited, loaded)
    assert at_v1[0].verified is True and at_v1[0].location == Location("src/auth.py", 8)

    with Repository.open(repo.path, ref="HEAD") as loaded:
        at_head = verify_findings(cited, loaded)
    assert at_head[0].verified is True and at_head[0].location == Location("src/auth.py", 20)
    assert at_head[0].verification_note == "moved from line 8 to 20"

    with Repository.open(repo.path) as loaded:
        work_tree = verify_findings(cited, loaded)
    assert work_tree[0].verified is False


def test_missing_file_at_the_ref_names_the_ref(tmp_path):
    repo, _ = _history(tmp_path)
    with Repository.open(repo.path, ref="v1") as loaded:
        (result,) = verify_findings([finding(path="src/new.py", evidence="anything here")], loaded)
    assert result.verified is False and "no file 'src/new.py' at 'v1'" in result.verification_note


def test_end_to_end_report_links_to_the_audited_commit(tmp_path):
    repo, first = _history(tmp_path)
    with Repository.open(repo.path, ref="v1") as loaded:
        report = build_report(
            "Is password handling safe?", "No.",
            [{"title": "MD5 password hash", "path": "src/auth.py", "lines": "8", "severity": "high",
              "evidence": "  8 | digest = hashlib.md5(password.encode()).hexdigest()"}],
            loaded,
            repo_info=RepoInfo.from_remote(str(loaded.root), loaded.ref, loaded.commit,
                                           "git@github.com:acme/shop.git"),
            coverage=Coverage(files_read={"src/auth.py": 60}),
        )
    assert loaded.commit == first
    text = render(report)
    assert f"[src/auth.py:8](https://github.com/acme/shop/blob/{first}/src/auth.py#L8)" in text
    assert "1 finding, 1 verified: 1 high" in text
