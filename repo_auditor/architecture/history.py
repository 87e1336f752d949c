"""Git history over a window -> churn per file: commits, lines added + deleted, distinct authors.

One ``git log --numstat`` pass over the window. The window ends at the analysed commit's committer date (not
"now"), so the same ref always gives the same figures. Renames are followed: churn under an old name counts
for the file's current name. Merge commits add no churn of their own (their changes are counted in the commits
they merge).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

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


# Variables that would point git at another repository than the one asked for.
_GIT_LOCATION_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_CEILING_DIRECTORIES",
    }
)
# The repository's own config is untrusted: nothing in it may run a command or change the output format.
_SAFE_CONFIG = ("-c", "core.fsmonitor=false", "-c", "log.showSignature=false", "-c", "diff.external=")


def _git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        completed = subprocess.run(
            ["git", *_SAFE_CONFIG, "-C", str(root), *args],
            capture_output=True,
            timeout=GIT_LOG_TIMEOUT_SECONDS,
            check=False,
            env=env,
        )
    except FileNotFoundError as exc:
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
