"""architecture: build_inventory on a large real codebase, cold and warm, with seconds per phase.

Copies the files of ``--source`` (default: the running interpreter's stdlib, its site-packages and this venv's
site-packages, merged) into a temporary git repository (files over 1 MB, ``__pycache__``, ``*.pyc`` and
``*.so`` left out, at most ``MAX_FILES``), commits them in two commits (so history has something to count),
then prints:

- loader: Repository.open (cold blob stats);
- cold inventory: empty caches (the symbol index and the import scan both parse every file);
- warm inventory: the same caches (nothing parsed), and the cold/warm ratio;
- the size of what was found (components, edges, cycles) and the Mermaid text's size;
- the same for the ``tree`` benchmark's synthetic 70,000-file repository (no 70k-file real codebase is offline).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from repo_auditor.architecture import build_inventory, mermaid_graph
from repo_auditor.repository import Repository
from repo_auditor.repository.cache import cache_dir

MAX_FILES = 70_000
MAX_FILE_BYTES = 1_000_000


def _sources(args) -> list[Path]:
    if getattr(args, "source", None):
        return [Path(args.source)]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return [stdlib, stdlib / "site-packages", Path(sysconfig.get_paths()["purelib"])]


def _copy(sources: list[Path], target: Path) -> int:
    """Merge the sources into one tree (first one wins on a clash), with a pyproject.toml at the top so that
    every top-level package becomes a component."""
    copied = 0
    target.mkdir(parents=True)
    (target / "pyproject.toml").write_text('[project]\nname = "bench"\n', encoding="utf-8")
    for source in sources:
        for path in sorted(source.rglob("*")):
            if copied >= MAX_FILES:
                return copied
            relative = path.relative_to(source)
            if {"__pycache__", "site-packages"} & set(relative.parts) or path.suffix in (".pyc", ".so"):
                continue
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                continue
            destination = target / relative
            if destination.exists():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            copied += 1
    return copied


def _git(tree: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(tree), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        check=True,
        capture_output=True,
    )


def _synthetic_70k() -> Path:
    """The synthetic 70,000-file repository of the ``tree`` benchmark (built once, then cached)."""
    spec = importlib.util.spec_from_file_location("bench_tree", Path(__file__).with_name("tree.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._synthetic(cache_dir("bench") / "synthetic-70k")


def _measure(label: str, tree: Path, cache: Path) -> None:
    """Open ``tree`` and build its inventory twice: cold (empty caches) and warm."""
    t0 = time.perf_counter()
    repo = Repository.open(tree, cache_root=cache)
    files = len(repo.files)
    print(f"   {label} loader: Repository.open {time.perf_counter() - t0:.2f} s, {files} files")
    try:
        results = []
        for phase in ("cold", "warm"):
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            inventory = build_inventory(repo, cache_path=cache, timings=timings)
            total = time.perf_counter() - t0
            results.append(total)
            phases = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
            print(f"   {label} {phase} inventory: {total:.2f} s ({files / total:,.0f} files/s): {phases}")
        print(f"   {label} cold/warm: {results[0] / results[1]:.1f}x")
        t0 = time.perf_counter()
        text = mermaid_graph(inventory)
        largest_cycle = max((len(c.components) for c in inventory.cycles), default=0)
        print(
            f"   {label} found: {len(inventory.components)} components, {len(inventory.edges)} edges, "
            f"{len(inventory.cycles)} cycles (largest {largest_cycle}), "
            f"{len(inventory.entry_points)} entry points, {inventory.history.commits} commits in window"
        )
        print(f"   {label} mermaid: {len(text)} chars in {time.perf_counter() - t0:.3f} s")
    finally:
        repo.close()


def run(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-architecture-"))
    try:
        tree = work / "repo"
        t0 = time.perf_counter()
        files = _copy(_sources(args), tree)
        _git(tree, "init", "-q")
        _git(tree, "add", "-A")
        _git(tree, "commit", "-q", "-m", "bench")
        # a second commit touching every 50th Python file, for the history pass
        touched = sorted(tree.rglob("*.py"))[::50]
        for path in touched:
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n# touched\n")
        _git(tree, "commit", "-q", "-a", "-m", "touch")
        print(
            f"   setup: {files} files copied and committed in {time.perf_counter() - t0:.1f} s "
            f"({len(touched)} touched again)"
        )

        _measure("real code", tree, work / "cache")
        synthetic = _synthetic_70k()
        print(f"   synthetic 70,000-file repository ({synthetic}):")
        _measure("70k", synthetic, work / "cache-70k")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
