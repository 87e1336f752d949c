"""History of an audited subfolder: only its commits, with paths relative to it (the loader scopes the tree)."""

from __future__ import annotations

from pathlib import Path

from repo_auditor.architecture.history import read_churn
from repo_auditor.repository import Repository
from tests.gitrepo import GitRepo


def test_churn_of_a_subfolder_counts_only_its_commits_with_relative_paths(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "mono")
    repo.write("svc/app.py", "a = 1\n")
    repo.write("other/lib.py", "b = 1\n")
    repo.commit("both")
    repo.write("other/lib.py", "b = 2\n")
    repo.commit("other only")
    repo.write("svc/app.py", "a = 2\nc = 3\n")
    head = repo.commit("svc again")
    scoped = Repository.open(tmp_path / "mono" / "svc", cache_root=tmp_path / "cache")
    churn = read_churn(scoped.root, head, since_days=3650)
    assert churn.commits == 2
    assert set(churn.files) == {"app.py"}
    assert len(churn.files["app.py"].commits) == 2
    whole = read_churn(tmp_path / "mono", head, since_days=3650)
    assert whole.commits == 3 and set(whole.files) == {"svc/app.py", "other/lib.py"}
