"""symbols: cold and warm index speed over real code, and agreement of Python definitions with ``ast``.

Copies the Python files of the running interpreter's stdlib (or of ``--source``) into a temporary git
repository, commits them, opens the work tree as a Repository, then prints:

- cold index: files/s and MB/s with an empty cache, in one process and with the automatic process pool;
- warm index: a new SymbolIndex over the same cache (nothing parsed), and the cold/warm ratio;
- agreement with ``ast``: precision and recall of (file, name, def line) for functions, methods and classes,
over
  the files ``ast`` can parse, with a few disagreements.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path

from repo_auditor.repository import Repository
from repo_auditor.tools.symbol_index import SymbolIndex

SHOWN_DISAGREEMENTS = 8


def _copy_python_files(source: Path, target: Path) -> int:
    copied = 0
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        if "site-packages" in relative.parts or "__pycache__" in relative.parts or not path.is_file():
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied += 1
    return copied


def _commit_all(tree: Path) -> None:
    git = ["git", "-C", str(tree), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], check=True)


def _timed_index(
    repo: Repository, cache: Path, workers: int | None, **query: str
) -> tuple[float, SymbolIndex]:
    """Seconds for a fresh SymbolIndex's first find(**query), which indexes every file."""
    index = SymbolIndex(repo, cache, workers=workers)
    start = time.perf_counter()
    index.find(**query)
    return time.perf_counter() - start, index


def _agreement(repo: Repository, index: SymbolIndex) -> None:
    got: set[tuple[str, str, int]] = set()
    want: set[tuple[str, str, int]] = set()
    unparsable = 0
    compared: set[str] = set()
    for entry in repo.files:
        if entry.language != "python" or entry.path in index.skipped:
            continue
        try:
            tree = ast.parse(repo.read_bytes(entry.path))
        except (SyntaxError, ValueError):
            unparsable += 1
            continue
        compared.add(entry.path)
        want.update(
            (entry.path, node.name, node.lineno)
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        )
    got.update(
        (s.path, s.name, s.start_line)
        for s in index.find()
        if s.path in compared and s.kind in ("function", "method", "class")
    )
    both = len(got & want)
    print(
        f"   ast agreement over {len(want)} definitions ({unparsable} files ast cannot parse left out): "
        f"precision {both / max(len(got), 1):.5f}, recall {both / max(len(want), 1):.5f}"
    )
    for label, items in (("only tree-sitter", got - want), ("only ast", want - got)):
        for path, name, line in sorted(items)[:SHOWN_DISAGREEMENTS]:
            print(f"     {label}: {path}:{line} {name}")


def run(args) -> None:
    source = Path(args.source) if getattr(args, "source", None) else Path(sysconfig.get_paths()["stdlib"])
    with tempfile.TemporaryDirectory(prefix="bench-symbols-") as tmp:
        tree, caches = Path(tmp) / "tree", Path(tmp) / "caches"
        copied = _copy_python_files(source, tree)
        _commit_all(tree)
        repo = Repository.open(tree, cache_root=caches / "loader")
        indexed = [e for e in repo.files if e.language == "python"]
        megabytes = sum(e.size for e in indexed) / 1e6
        print(f"   {source}: {copied} Python files, {megabytes:.1f} MB")
        try:
            cold_one, index = _timed_index(repo, caches / "one-process", workers=1)
            count = len(indexed) - len(index.skipped)
            total = len(index.find())
            print(f"   {total} definitions in {count} files ({len(index.skipped)} skipped)")
            cold, _ = _timed_index(repo, caches / "pool", workers=None)
            warm, _ = _timed_index(repo, caches / "pool", workers=None)
            warm_named, _ = _timed_index(repo, caches / "pool", workers=None, name="*parse*")
            for label, seconds in (
                ("cold, 1 process", cold_one),
                ("cold, default (pool)", cold),
                ("warm, find()", warm),
                ("warm, find(name='*parse*')", warm_named),
            ):
                print(
                    f"   {label:<27} {seconds:7.3f} s  {count / seconds:7.0f} files/s  "
                    f"{megabytes / seconds:6.1f} MB/s"
                )
            print(f"   cold/warm (default): {cold / warm:.0f}x for find(), {cold / warm_named:.0f}x by name")
            _agreement(repo, index)
        finally:
            repo.close()
