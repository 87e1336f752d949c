"""Hotspots and churn from a scripted git history with known authors and dates."""

from __future__ import annotations

import pytest

from repo_auditor.architecture import build_inventory
from repo_auditor.architecture.history import HistoryUnavailable, read_churn
from repo_auditor.errors import ConfigurationError
from repo_auditor.repository import Repository


def lines(n: int, tag: str = "x") -> str:
    return "".join(f"{tag}{i} = {i}\n" for i in range(n))


@pytest.fixture
def history(scripted_history):
    """Day 0 is outside a 30-day window ending on day 60; days 40, 50 and 60 are inside.

    day  0 alice: app/a.py (10 lines), app/b.py (5), lib/old.py (3), lib/gone.py (2)
    day 40 bob:   a.py +2 -1 (-> 11 lines), old.py +1 (-> 4)
    day 50 carol: a.py +1 (-> 12), b.py +1 -1, old.py renamed to lib/new.py, gone.py deleted
    day 60 alice: new.py +1 (-> 5), "weird|name`.py" added (1 line)
    """
    h = scripted_history
    h.write("app/a.py", lines(10))
    h.write("app/b.py", lines(5))
    h.write("lib/old.py", lines(3, "o"))
    h.write("lib/gone.py", lines(2, "g"))
    h.commit("start", author="Alice", day=0)
    h.write("app/a.py", "changed = 0\n" + lines(10)[len("x0 = 0\n") :] + "extra = 1\n")
    h.write("lib/old.py", lines(4, "o"))
    h.commit("work", author="Bob", day=40)
    h.write("app/a.py", (h.path / "app/a.py").read_text() + "more = 2\n")
    h.write("app/b.py", "changed = 0\n" + lines(5)[len("x0 = 0\n") :])
    h.git("mv", "lib/old.py", "lib/new.py")
    h.git("rm", "-q", "lib/gone.py")
    h.commit("more work", author="Carol", day=50)
    h.write("lib/new.py", lines(5, "o"))
    h.write("weird|name`.py", "x = 1\n")
    h.commit("last", author="Alice", day=60)
    return h


def test_hotspots_from_one_log_pass(history, tmp_path):
    with Repository.open(history.path, cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, since_days=30, top_n=10, cache_path=tmp_path / "c")
    assert inv.history.available
    assert (inv.history.window_start, inv.history.window_end, inv.history.commits) == (
        "2024-01-31",
        "2024-03-01",
        3,
    )
    got = [(h.path, h.commits, h.lines_changed, h.authors, h.lines, h.score) for h in inv.hotspots]
    assert got == [
        ("app/a.py", 2, 4, 2, 12, 24),  # bob +2 -1, carol +1
        ("lib/new.py", 3, 2, 3, 5, 15),  # churn under its old name is followed through the rename
        ("app/b.py", 1, 2, 1, 5, 5),
        ("weird|name`.py", 1, 1, 1, 1, 1),
    ]  # lib/gone.py no longer exists: dropped


def test_component_churn_and_top_n(history, tmp_path):
    with Repository.open(history.path, cache_root=tmp_path / "c") as repo:
        inv = build_inventory(repo, since_days=30, top_n=1, cache_path=tmp_path / "c")
    assert [h.path for h in inv.hotspots] == ["app/a.py"]
    churn = {c.name: (c.churn_commits, c.churn_lines) for c in inv.components}
    assert churn == {"app": (2, 6), "lib": (3, 2), "(root)": (1, 1)}


def test_only_code_files_are_hotspots_and_one_commit_ranks_nothing(scripted_history, tmp_path):
    h = scripted_history

    def commit_and_analyse(day: int, version: str):
        h.write("app/a.py", lines(3 + day))
        h.write("CHANGELOG.md", f"# changes {version}\n")
        h.write(".github/workflows/ci.yml", f"on: push  # {version}\n")
        h.commit(version, author="Alice", day=day)
        with Repository.open(h.path, cache_root=tmp_path / "c") as repo:
            return build_inventory(repo, since_days=30, cache_path=tmp_path / "c")

    one = commit_and_analyse(0, "v1")
    assert one.history.commits == 1 and one.hotspots == []
    two = commit_and_analyse(1, "v2")
    assert [h.path for h in two.hotspots] == ["app/a.py"]


def test_window_is_relative_to_the_analysed_commit(history, tmp_path):
    first = history.git("rev-list", "--max-parents=0", "HEAD").strip()
    churn = read_churn(history.path, first, since_days=30)
    assert churn.commits == 1
    assert sorted(churn.files) == ["app/a.py", "app/b.py", "lib/gone.py", "lib/old.py"]
    assert {len(f.authors) for f in churn.files.values()} == {1}


def test_a_wide_window_counts_every_commit(history, tmp_path):
    head = history.git("rev-parse", "HEAD").strip()
    churn = read_churn(history.path, head, since_days=365)
    assert churn.commits == 4
    assert len(churn.files["app/a.py"].commits) == 3


def test_unknown_commit_is_reported_not_raised_past_the_caller(history):
    with pytest.raises(HistoryUnavailable, match="git show failed"):
        read_churn(history.path, "0" * 40, since_days=30)


@pytest.fixture
def plain_repo(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "a.py").write_text("x = 1\n")
    with Repository.open(tmp_path / "r", cache_root=tmp_path / "c") as repo:
        yield repo


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "90", 10**6])
def test_bad_since_days_is_a_configuration_error(plain_repo, tmp_path, bad):
    with pytest.raises(ConfigurationError, match="since_days"):
        build_inventory(plain_repo, since_days=bad, cache_path=tmp_path / "c")


@pytest.mark.parametrize("bad", [0, -3, 2.0, None])
def test_bad_top_n_is_a_configuration_error(plain_repo, tmp_path, bad):
    with pytest.raises(ConfigurationError, match="top_n"):
        build_inventory(plain_repo, top_n=bad, cache_path=tmp_path / "c")
