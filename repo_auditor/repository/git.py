"""Running git for one repository, defensively: the only module that starts the ``git`` program.

Git runs with an explicit ``--git-dir`` / ``--work-tree``, an environment without ``GIT_DIR`` and its kind (a stray
``GIT_INDEX_FILE`` from a hook would point it elsewhere), optional locks off and ``core.fsmonitor`` disabled, so
opening a repository never writes to it and never runs a command its configuration names. Blob reads go through one
long-lived ``git cat-file --batch`` process per repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from repo_auditor.errors import (
    RepositoryError,
)
from repo_auditor.repository.entries import READ_CHUNK_BYTES

# Variables that would point git at another repository than the one we were asked to open.
_GIT_LOCATION_VARS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)
GIT_PROGRAM = shutil.which("git") or "git"
# The audited repository's own configuration is untrusted: nothing in it may make git run a command on its behalf.
# These override, on every call, the settings that name a program (the file-system monitor, a pager, an external
# diff, hooks, signature checks) or change the output we parse. Filter and diff drivers are named by the
# repository, so they are neutralised by name (``driver_overrides``).
SAFE_CONFIG = (
    "-c", "core.fsmonitor=false", "-c", "core.quotePath=false", "-c", "core.pager=cat", "-c", "diff.external=",
    "-c", "core.hooksPath=/dev/null", "-c", "log.showSignature=false", "-c", "core.untrackedCache=false",
)
# Per-driver keys that hold a command: clean/smudge/process filters (``git ls-files -m`` runs the clean filter on
# stat-dirty files) and textconv/external diff drivers.
_DRIVER_COMMAND_KEYS = {"filter": ("clean", "smudge", "process"), "diff": ("textconv", "command")}
_DRIVER_NAME = re.compile(r"^(filter|diff)\.(.+)\.([^.]+)$", re.S)

# Running git
# ---------------------------------------------------------------------------------------------------------------


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    return env


class Git:
    """Runs git for one repository: explicit --git-dir / --work-tree and an environment without GIT_DIR & co.

    (The git program is run directly rather than through gitpython, whose runner always merges the caller's
    environment, so a stray GIT_DIR or GIT_INDEX_FILE would point it at another repository.)"""

    def __init__(self, git_dir: Path, work_tree: Path | None, *, display_path: Path):
        self.git_dir = git_dir
        self.work_tree = work_tree
        self.display_path = display_path
        self._overrides = driver_overrides([GIT_PROGRAM, *SAFE_CONFIG, f"--git-dir={git_dir}"], git_dir)
        self._env = _git_env()
        self._lock = threading.Lock()
        self._cat: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    def _argv(self, *args: str) -> list[str]:
        argv = [GIT_PROGRAM, *SAFE_CONFIG, *self._overrides, f"--git-dir={self.git_dir}"]
        if self.work_tree is not None:
            argv.append(f"--work-tree={self.work_tree}")
        return [*argv, *args]

    def run(self, *args: str) -> bytes:
        """stdout of a git command as bytes; a failure becomes RepositoryError carrying git's message."""
        done = run_git(self._argv(*args), cwd=self.work_tree or self.git_dir)
        if done.returncode != 0:
            raise repository_error(done.stderr, done.returncode, self.display_path)
        return done.stdout

    def try_run(self, *args: str) -> bytes | None:
        """Like run, but None when git exits non-zero (for questions such as "does this ref resolve?")."""
        done = run_git(self._argv(*args), cwd=self.work_tree or self.git_dir)
        return done.stdout if done.returncode == 0 else None

    def read_blob(self, blob_id: str, max_bytes: int | None = None) -> bytes:
        """One blob's content (the first ``max_bytes`` of it) through a long-lived ``git cat-file --batch``."""
        with self._lock:
            if self._cat is None or self._cat.poll() is not None:
                self._cat = subprocess.Popen(
                    self._argv("cat-file", "--batch"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, env=self._env,
                )
                # Ends the process when this object is collected or the interpreter exits, if close() was not called.
                self._finalizer = weakref.finalize(self, _stop_process, self._cat)
            assert self._cat.stdin is not None and self._cat.stdout is not None
            self._cat.stdin.write(blob_id.encode() + b"\n")
            self._cat.stdin.flush()
            remaining = _read_batch_header(self._cat.stdout, blob_id)
            wanted = remaining if max_bytes is None else min(max_bytes, remaining)
            content = self._cat.stdout.read(wanted)
            remaining -= len(content)
            while remaining:  # drain the rest of a capped blob, a chunk at a time
                remaining -= len(self._cat.stdout.read(min(remaining, READ_CHUNK_BYTES)))
            self._cat.stdout.read(1)
        return content

    def stream_blobs(self, blob_ids: list[str], consume: Callable[[str, Iterator[bytes]], None]) -> None:
        """Feed every blob to ``consume(blob_id, chunks)`` through one pipelined ``git cat-file --batch``.

        ``consume`` must read the chunks it is given (leftovers are skipped); blobs arrive in request order.
        """
        if not blob_ids:
            return
        proc = subprocess.Popen(
            self._argv("cat-file", "--batch"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=self._env, bufsize=READ_CHUNK_BYTES,
        )
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def feed() -> None:
            try:
                for start in range(0, len(blob_ids), 4096):
                    stdin.write(("\n".join(blob_ids[start : start + 4096]) + "\n").encode())
            except BrokenPipeError:  # the reader side failed; its exception is the one to report
                pass
            finally:
                try:
                    stdin.close()
                except BrokenPipeError:
                    pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            for blob_id in blob_ids:
                left = [_read_batch_header(stdout, blob_id)]
                consume(blob_id, _blob_chunks(stdout, left, blob_id))
                for _ in _blob_chunks(stdout, left, blob_id):  # skip whatever the consumer left unread
                    pass
                stdout.read(1)  # the newline after each object
        finally:
            stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            writer.join()

    def close(self) -> None:
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._cat = self._finalizer = None


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()  # cat-file exits at end of input
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _blob_chunks(stdout: IO[bytes], left: list[int], blob_id: str) -> Iterator[bytes]:
    """The next ``left[0]`` bytes of a ``cat-file --batch`` stream, in chunks; ``left[0]`` counts down as they go."""
    while left[0]:
        chunk = stdout.read(min(left[0], READ_CHUNK_BYTES))
        if not chunk:
            raise RepositoryError(f"git cat-file stopped in the middle of blob {blob_id}; try again, or `git fsck`")
        left[0] -= len(chunk)
        yield chunk


def _read_batch_header(stdout: IO[bytes], blob_id: str) -> int:
    header = stdout.readline().split()
    if len(header) != 3 or header[1] != b"blob":
        raise RepositoryError(f"git object {blob_id} is missing or not a blob; the repository may be damaged "
                              "(try `git fsck`)")
    return int(header[2])


def run_git(argv: list[str], cwd: Path, timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a git command line as given (callers start it with ``GIT_PROGRAM, *SAFE_CONFIG``), with a clean
    environment; TimeoutExpired propagates."""
    try:
        return subprocess.run(argv, check=False, cwd=cwd, env=_git_env(), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except FileNotFoundError:
        raise RepositoryError("the `git` program was not found; install git (https://git-scm.com) and retry") from None


def driver_overrides(config_argv: list[str], cwd: Path) -> tuple[str, ...]:
    """``-c`` options that empty every filter and diff driver command the repository's configuration defines.

    ``config_argv`` is git with its location options (``--git-dir=...`` or ``-C ...``); reading the configuration
    runs nothing. An empty command disables the driver, so git reads files as they are.
    """
    done = run_git([*config_argv, "config", "-z", "--get-regexp", r"^(filter|diff)\."], cwd)
    settings: dict[str, None] = {}  # ordered, and a key set twice needs one override
    for item in _split_z(done.stdout) if done.returncode == 0 else []:
        key = item.split(b"\n", 1)[0].decode("utf-8", "surrogateescape")
        match = _DRIVER_NAME.match(key)
        if match is None or match.group(3) not in _DRIVER_COMMAND_KEYS[match.group(1)]:
            continue
        kind, name, setting = match.groups()
        settings[f"{kind}.{name}.{setting}="] = None
        if kind == "filter":
            settings[f"filter.{name}.required=false"] = None
    return tuple(option for setting in settings for option in ("-c", setting))


def repository_error(stderr: bytes, status: int, path: Path) -> RepositoryError:
    message = " ".join(stderr.decode(errors="replace").split()) or f"git exited with {status}"
    if "dubious ownership" in message:
        return RepositoryError(
            f"git refuses to read {path}: it is owned by another user; if you trust it, run "
            f"`git config --global --add safe.directory {path}`", path=str(path)
        )
    return RepositoryError(f"git failed on {path}: {message}", path=str(path))


def _split_z(output: bytes) -> list[bytes]:
    return [item for item in output.split(b"\0") if item]


def fsdecode(output: bytes) -> str:
    """git output holding file names -> str, the way os.fsdecode would decode each name (undecodable bytes kept)."""
    return output.decode(_FS_ENCODING, _FS_ERRORS)


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
# `git ls-files -z -s`: "<mode> <blob> <stage>\t<path>\0";  `git ls-tree -r -z`: "<mode> <type> <id>\t<path>\0"
_STAGED_LINE = re.compile(r"(\d+) ([0-9a-f]{40,64}) (\d)\t([^\0]*)\0")
_TREE_LINE = re.compile(r"(\d+) (\w+) ([0-9a-f]{40,64})\t([^\0]*)\0")
_UNSAFE_PATH = re.compile(r"(?:^|/)(?:\.\.?|\.git)(?:/|$)|^/|//|^$|\0", re.IGNORECASE)


def _is_safe_relative(path: str) -> bool:
    """A repository path we are willing to list: relative, no empty, '.', '..' or .git components, no NUL."""
    return _UNSAFE_PATH.search(path) is None


# ---------------------------------------------------------------------------------------------------------------
