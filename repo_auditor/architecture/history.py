"""Git history over a window -> churn per file: commits, lines added + deleted, distinct authors.

One ``git log --numstat`` pass over the window. The window ends at the analysed commit's committer date (not
"now"), so the same ref always gives the same figures. Renames are followed: churn under an old name counts
for the file's current name. Merge commits add no churn of their own (their changes are counted in the commits
they merge).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from repo_auditor.errors import RepositoryError
from repo_auditor.repository.git import GIT_PROGRAM, SAFE_CONFIG, driver_overrides, run_git

# A history pass that takes longer than this is stopped; the report then says history is unavailable.
GIT_LOG_TIMEOUT_SECONDS = 300

_RECORD = "\x1e"
_FIELD = "\x1f"
_NUMSTAT = re.compile(r"^(\d+|-)\t(\d+|-)\t(.*)$", re.S)


class HistoryUnavailable(Exception):
    """Git could not be run or answered with an error; the message says why (it becomes a note)."""


@dataclass
class FileChurn:
    """Churn of one file (by its current name) in the window."""

    commits: set[str] = field(default_factory=set)
    lines_changed: int = 0
    authors: set[str] = field(default_factory=set)


@dataclass
class Churn:
    """What ``read_churn`` found."""

    window_start: datetime
    window_end: datetime
    commits: int
    files: dict[str, FileChurn]


def _git(root: Path, *args: str) -> str:
    """A git command in ``root`` with the repository package's defences (clean environment, no configured
    command ever run)."""
    location = [GIT_PROGRAM, *SAFE_CONFIG, "-C", str(root)]
    try:
        completed = run_git([*location, *driver_overrides(location, root), *args], root,
                            timeout=GIT_LOG_TIMEOUT_SECONDS)
    except RepositoryError as exc:
        raise HistoryUnavailable("git is not installed; install git to get hotspots") from exc
    except subprocess.TimeoutExpired as exc:
        raise HistoryUnavailable(
            f"git log took over {GIT_LOG_TIMEOUT_SECONDS} s; use a smaller --since"
        ) from exc
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise HistoryUnavailable(f"git {args[0]} failed: {message[0] if message else completed.returncode}")
    return completed.stdout.decode("utf-8", "surrogateescape")


def read_churn(root: Path, commit: str, since_days: int) -> Churn:
    """Churn per file over the ``since_days`` before ``commit``'s date. Raises ``HistoryUnavailable``."""
    end_stamp = int(_git(root, "show", "-s", "--format=%ct", commit, "--").strip() or 0)
    window_end = datetime.fromtimestamp(end_stamp, timezone.utc)
    start_stamp = end_stamp - since_days * 86400
    window_start = datetime.fromtimestamp(start_stamp, timezone.utc)
    output = _git(
        root,
        "log",
        "-z",
        "--numstat",
        "--relative",  # paths relative to the audited folder (a subfolder of the repository, or its top level)
        "-M",
        "--no-textconv",
        "--no-ext-diff",
        "--no-color",
        f"--format={_RECORD}%H{_FIELD}%ae{_FIELD}%an{_FIELD}%ct",
        f"--since={window_start.isoformat()}",
        commit,
        "--",
        ".",  # only commits that touch the audited folder
    )
    files: dict[str, FileChurn] = {}
    current_name: dict[str, str] = {}  # name in an older commit -> name at ``commit``
    commits = 0
    for record in output.split(_RECORD)[1:]:
        header, _, body = record.partition("\0")
        sha, email, name, stamp = header.split(_FIELD)
        if int(stamp) < start_stamp:
            continue
        commits += 1
        author = (email or name).strip().lower()
        tokens = iter(body.split("\0"))
        for token in tokens:
            match = _NUMSTAT.match(token.lstrip("\n"))
            if not match:
                continue
            added, deleted, path = match.groups()
            if not path:  # a rename: the old and the new name follow
                old, new = next(tokens, ""), next(tokens, "")
                path = current_name.get(new, new)
                current_name[old] = path
            else:
                path = current_name.get(path, path)
            churn = files.setdefault(path, FileChurn())
            churn.commits.add(sha)
            churn.authors.add(author)
            churn.lines_changed += (int(added) if added != "-" else 0) + (
                int(deleted) if deleted != "-" else 0
            )
    return Churn(window_start, window_end, commits, files)
