"""Build real git repositories for tests: from a fixture folder, with commits, tags and branches.

    from tests.gitrepo import GitRepo, repo_with_history

    repo = GitRepo.init(tmp_path / "r")             # empty repository on branch "main"
    repo.write("pkg/a.py", "x = 1\\n")
    sha = repo.commit("first", tag="v1")
    repo.branch("feature"); repo.switch("feature")  # plain git underneath: repo.git("log", "--oneline")

    history = repo_with_history(FIXTURES / "sample_repo", tmp_path / "r")   # see its docstring for the layout

Commits use a fixed author, committer and clock (each commit one minute after the previous), so the same steps give
the same SHAs on every machine. The user's and the system's git configuration are ignored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"  # the checkout's fixtures/ folder
_EPOCH = 1_700_000_000  # 2023-11-14; commit N is dated _EPOCH + 60 * N


def git_env() -> dict[str, str]:
    """An environment in which git ignores the user's and the system's configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.com", GIT_COMMITTER_NAME="Test Committer",
        GIT_COMMITTER_EMAIL="committer@example.com",
    )
    return env


class GitRepo:
    """A git work tree on disk that a test shapes step by step."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._commits = 0

    @classmethod
    def init(cls, path: Path, *, branch: str = "main") -> GitRepo:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        repo.git("init", "-q", "-b", branch)
        return repo

    def git(self, *args: str) -> str:
        """Run git in the work tree; return stdout (stripped). A failure raises with git's message."""
        done = subprocess.run(["git", *args], check=False, cwd=self.path, env=git_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def write(self, rel: str, content: str | bytes) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8", newline="")
        else:
            target.write_bytes(content)
        return target

    def symlink(self, rel: str, target: str) -> Path:
        link = self.path / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)
        return link

    def remove(self, rel: str) -> None:
        (self.path / rel).unlink()

    def commit(self, message: str, *, tag: str | None = None, add_all: bool = True) -> str:
        """Commit (everything, by default) with a deterministic date; optionally tag it. Returns the SHA."""
        if add_all:
            self.git("add", "-A")
        self._commits += 1
        when = f"@{_EPOCH + 60 * self._commits} +0000"
        env_date = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        done = subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], check=False, cwd=self.path,
                              env={**git_env(), **env_date}, capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError(f"git commit failed: {done.stderr.strip()}")
        if tag is not None:
            self.git("tag", tag)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("branch", name, start)

    def switch(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def status(self) -> str:
        """``git status --porcelain`` (with ignored files), to check that something left the work tree alone."""
        return self.git("status", "--porcelain", "--ignored", "--untracked-files=all")


@dataclass(frozen=True)
class History:
    """What ``repo_with_history`` built: the repo and the SHA of each named commit."""

    repo: GitRepo
    first: str  # the fixture as given; tag v1.0; branch "stable" points here
    second: str  # adds CHANGES.md ("one\\n")
    third: str  # CHANGES.md gets a second line; tag v2.0; HEAD of "main"
    feature: str  # branch "feature" from first: adds FEATURE.md


def repo_with_history(fixture: Path, dest: Path) -> History:
    """Copy ``fixture`` to ``dest`` and give it history::

        first  (tag v1.0, branch stable)  the fixture's files
        second                            + CHANGES.md = "one\\n"
        third  (tag v2.0, main = HEAD)    CHANGES.md = "one\\ntwo\\n"
        feature (branch feature, from first)  + FEATURE.md = "feature work\\n"

    The work tree is left clean on "main".
    """
    shutil.copytree(fixture, dest, symlinks=True)
    repo = GitRepo.init(dest)
    first = repo.commit("import fixture", tag="v1.0")
    repo.branch("stable")
    repo.write("CHANGES.md", "one\n")
    second = repo.commit("changes: one")
    repo.write("CHANGES.md", "one\ntwo\n")
    third = repo.commit("changes: two", tag="v2.0")
    repo.branch("feature", first)
    repo.switch("feature")
    repo.write("FEATURE.md", "feature work\n")
    feature = repo.commit("feature work")
    repo.switch("main")
    return History(repo=repo, first=first, second=second, third=third, feature=feature)
