"""Loading a repository and rendering its file tree: cold (empty stats cache) and warm, work tree and at a ref.

Repositories measured (built once, kept under the repo_auditor cache folder in ``bench/``):

* ``synthetic-70k``: 70,000 files in a nested package layout (about 2 kB each), one commit;
* the running Python's stdlib folder copied into a git repository, or ``--source FOLDER`` (used as is when it is a
  git work tree, else copied into one).

Figures: seconds for ``Repository.open`` with an empty and a filled blob-stats cache, ``file_tree()`` render time and
size, and the one-off extraction behind ``search_root()`` at a ref. Compare with ``git ls-files -s`` alone.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from repo_auditor.repository import Repository
from repo_auditor.repository.cache import cache_dir

SYNTHETIC_FILES = 70_000
_GIT_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], check=False, cwd=cwd, env=_GIT_ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


def _commit_folder(folder: Path) -> None:
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(folder, "-c", "gc.auto=0", "commit", "-q", "-m", "snapshot")
    _git(folder, "gc", "-q")  # packed, as a cloned repository is (and no background auto-gc during the figures)


def _synthetic(root: Path) -> Path:
    """A 70k-file repository with a plausible shape: packages > subpackages > modules, tests, docs, vendor."""
    done = root.with_name(root.name + ".complete")
    if done.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(70_000)
    words = ["value", "index", "result", "config", "request", "handler", "buffer", "token", "state", "node"]
    made = 0
    top = ["core", "api", "services", "plugins", "ui", "tests", "docs", "tools", "vendor", "generated"]
    while made < SYNTHETIC_FILES:
        parts = [rng.choice(top)] + [f"pkg{rng.randint(0, 14)}" for _ in range(rng.randint(1, 4))]
        folder = root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(rng.randint(5, 40)):
            if made >= SYNTHETIC_FILES:
                break
            name = f"{rng.choice(words)}_{made}.{rng.choice(['py', 'py', 'ts', 'go', 'md', 'json'])}"
            lines = rng.randint(5, 120)
            body = "".join(f"{rng.choice(words)} = {i}  # {rng.choice(words)}\n" for i in range(lines))
            (folder / name).write_text(body)
            made += 1
    _commit_folder(root)
    done.write_text("")
    return root


def _real(source: Path | None, root: Path) -> Path:
    if source is not None and (source / ".git").exists():
        return source
    origin = source or Path(sysconfig.get_paths()["stdlib"])
    target = root / origin.name
    done = target.with_name(target.name + ".complete")
    if done.exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(origin, target, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "site-packages", ".git"))
    _commit_folder(target)
    done.write_text("")
    return target


_CPU: dict[str, float] = {}  # label of the last _timed call -> CPU seconds (this process and the git it waited for)


def _timed(fn, label: str = ""):
    start, cpu = time.perf_counter(), os.times()
    value = fn()
    end = os.times()
    _CPU[label] = sum(end[:4]) - sum(cpu[:4])
    return value, time.perf_counter() - start


def _measure(label: str, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-tree-cache-") as scratch:
        cache = Path(scratch)
        _, raw = _timed(lambda: _git(path, "ls-files", "-s"))
        cold, t_cold = _timed(lambda: Repository.open(path, cache_root=cache))
        cold.close()
        warm, t_warm = _timed(lambda: Repository.open(path, cache_root=cache), "warm")
        tree, t_tree = _timed(warm.file_tree, "tree")
        warm.close()
        ref_cold_cache = cache / "ref"
        at_ref, t_ref_cold = _timed(lambda: Repository.open(path, "HEAD", cache_root=ref_cold_cache))
        at_ref.close()
        at_ref, t_ref_warm = _timed(lambda: Repository.open(path, "HEAD", cache_root=ref_cold_cache))
        _, t_extract = _timed(at_ref.search_root)
        _, t_extract_again = _timed(at_ref.search_root)
        at_ref.close()
        files, lines = len(warm.files), sum(e.lines for e in warm.files)
        print(f"   {label}: {files:,} files, {lines:,} lines  ({path})")
        print(f"     git ls-files -s alone            {raw:7.3f} s")
        print(f"     work tree  open cold / warm      {t_cold:7.3f} s / {t_warm:.3f} s")
        print(f"     at HEAD    open cold / warm      {t_ref_cold:7.3f} s / {t_ref_warm:.3f} s")
        print(f"     file_tree(6000) render           {t_tree:7.3f} s -> {len(tree):,} chars, "
              f"{tree.count(chr(10)) + 1} lines")
        print(f"     warm open + render               {t_warm + t_tree:7.3f} s "
              f"(cpu {_CPU['warm'] + _CPU['tree']:.3f} s; wall time includes waiting for a busy machine)")
        print(f"     search_root at HEAD first / next {t_extract:7.3f} s / {t_extract_again:.4f} s")


def run(args) -> None:
    base = cache_dir("bench")
    synthetic, t_build = _timed(lambda: _synthetic(base / "synthetic-70k"))
    if t_build > 1:
        print(f"   (built the synthetic repository in {t_build:.1f} s)")
    _measure("synthetic-70k", synthetic)
    source = Path(args.source).resolve() if getattr(args, "source", None) else None
    _measure("real tree", _real(source, base))
    print(f"   python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")
