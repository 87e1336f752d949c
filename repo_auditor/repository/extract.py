"""Writing the files of a commit into a folder (for ripgrep at a ref); symlinks that would escape are replaced."""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from repo_auditor.repository.entries import FileEntry
from repo_auditor.repository.git import Git


def extract_files(gitcmd: Git, files: tuple[FileEntry, ...], staging: Path) -> None:
    """Write the listed files into ``staging``: regular files from blobs, symlinks only when they stay inside."""
    staging.mkdir(parents=True)
    regular = [entry for entry in files if entry.symlink_target is None]
    links = [entry for entry in files if entry.symlink_target is not None]
    by_blob: dict[str, list[str]] = {}
    for entry in regular:
        by_blob.setdefault(entry.blob_id, []).append(entry.disk_path)
    for rel in {posixpath.dirname(entry.disk_path) for entry in files} - {""}:
        os.makedirs(staging / rel, exist_ok=True)

    def consume(blob_id: str, chunks: Iterator[bytes]) -> None:
        written: Path | None = None
        for rel in by_blob[blob_id]:
            target = staging / rel
            try:
                if written is None:
                    with open(target, "wb") as out:
                        out.writelines(chunks)
                    written = target
                else:
                    shutil.copyfile(written, target)
            except (IsADirectoryError, NotADirectoryError, FileExistsError):  # only in a hand-crafted tree
                continue

    gitcmd.stream_blobs(list(by_blob), consume)
    base = os.path.realpath(staging)
    for entry in links:
        assert entry.symlink_target is not None
        try:
            os.symlink(os.fsencode(entry.symlink_target), os.fsencode(staging / entry.disk_path))
        except (FileExistsError, NotADirectoryError):  # a name used twice: only in a hand-crafted tree
            continue
    # A link may escape only through other links (a -> ../.., b -> a/x); replace escapers until none is left.
    changed = True
    while changed:
        changed = False
        for entry in links:
            where = staging / entry.disk_path
            if not os.path.islink(where):
                continue
            real = os.path.realpath(where)
            if real != base and not real.startswith(base + os.sep):
                os.unlink(where)
                where.write_bytes(os.fsencode(entry.symlink_target or ""))
                changed = True


# ---------------------------------------------------------------------------------------------------------------


def write_manifest(tree: Path, manifest: Path) -> None:
    """Record (size, mtime) of every regular file under ``tree`` next to it, so a later run can tell whether the
    extraction was edited or pruned since (``matches_manifest``)."""
    entries = {rel: [info.st_size, info.st_mtime_ns] for rel, info in _walk(tree)}
    tmp = manifest.with_name(f".{manifest.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(entries, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, manifest)


def matches_manifest(tree: Path, manifest: Path) -> bool:
    """True when ``tree`` holds exactly the files ``manifest`` recorded, unchanged (a cached extraction is trusted
    only then; anything else is extracted again)."""
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    found = {rel: [info.st_size, info.st_mtime_ns] for rel, info in _walk(tree)}
    return found == recorded


def _walk(tree: Path) -> Iterator[tuple[str, os.stat_result]]:
    root = os.fsencode(tree)
    for folder, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(folder, name)
            info = os.lstat(full)
            if stat.S_ISREG(info.st_mode):
                yield os.fsdecode(os.path.relpath(full, root)), info
