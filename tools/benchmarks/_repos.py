"""Git repositories for the benchmarks, built with the user's and the system's git configuration ignored."""

import os
import shutil
import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="bench",
               GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="bench@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def copy_into_repo(source: Path, dest: Path) -> Path:
    """``source`` (the stdlib, a package) copied to ``dest`` without caches and committed there on branch main."""
    shutil.copytree(source, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "site-packages", "*.pyc", ".git"))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "bench")
    return dest
