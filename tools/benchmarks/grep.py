"""The grep tool against raw ripgrep, and the secret redactor's cost.

Source: ``--source`` or the running Python's standard library, copied (without ``__pycache__`` and
``site-packages``) into a temporary git repository. For each query it prints the median wall time of the tool
(redaction on and off) and of the raw ``rg`` command that prints the same lines over the same work tree, and the
ratio tool / rg (target: within 1.5x). Then the redactor's throughput over the whole source.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.append(str(Path(__file__).resolve().parent))  # after the stdlib: this folder has a secrets.py

from _repos import copy_into_repo  # noqa: E402

from repo_auditor.repository import Repository  # noqa: E402
from repo_auditor.tools import RepoTools  # noqa: E402
from repo_auditor.tools.redaction import redact  # noqa: E402
from repo_auditor.tools.search import find_rg  # noqa: E402

RUNS = 7
QUERIES = [  # (label, grep keyword arguments, the equivalent rg flags)
    ("literal", {"pattern": "subprocess.Popen(", "fixed_strings": True}, ["--fixed-strings"]),
    ("regex", {"pattern": r"def \w+_\w+\(self, \w+=None"}, []),
    ("ignore-case", {"pattern": "todo", "ignore_case": True}, ["--ignore-case"]),
    ("many, capped", {"pattern": "self"}, []),
    ("glob *.py", {"pattern": "import os", "glob": "*.py"}, ["--glob", "*.py"]),
    ("context 2", {"pattern": "raise NotImplementedError", "context": 2}, ["--context", "2"]),
]


def _median(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(args) -> None:
    source = Path(args.source) if getattr(args, "source", None) else Path(sysconfig.get_path("stdlib"))
    rg = find_rg()
    with tempfile.TemporaryDirectory(prefix="bench-grep-") as tmp:
        work = Path(tmp) / "repo"
        t0 = time.perf_counter()
        copy_into_repo(source, work)
        repo = Repository.open(work, cache_root=Path(tmp) / "cache")
        total_bytes = sum(entry.size for entry in repo.files)
        print(f"   source: {source} -> {len(repo.files):,} files, {total_bytes / 1e6:.1f} MB "
              f"(setup {time.perf_counter() - t0:.1f} s)")
        with RepoTools(repo) as on, RepoTools(repo, redact=False) as off:
            on.grep("warm up the page cache")
            print(f"   {'query':<14} {'matches':>8} {'tool ms':>8} {'no-redact':>10} {'raw rg ms':>10} {'ratio':>6}")
            for label, kwargs, flags in QUERIES:
                summary = on.grep(**kwargs).splitlines()[0]
                tool = _median(lambda: on.grep(**kwargs))
                plain = _median(lambda: off.grep(**kwargs))
                argv = [rg, "--no-config", "--line-number", "--no-heading", "--hidden", *flags,
                        "--regexp", kwargs["pattern"], "."]
                raw = _median(lambda: subprocess.run(argv, cwd=work, capture_output=True))
                matches = on.usage.searches[-1].matches
                print(f"   {label:<14} {matches:>8,} {tool * 1e3:>8.1f} {plain * 1e3:>10.1f} {raw * 1e3:>10.1f} "
                      f"{tool / raw:>5.2f}x   ({summary[:60]})")
        texts = [(e.path, repo.read_text(e.path)) for e in repo.files if not e.binary and e.symlink_target is None]
        size = sum(len(text) for _, text in texts)
        t0 = time.perf_counter()
        for path, text in texts:
            redact(text, path)
        elapsed = time.perf_counter() - t0
        print(f"   redactor: {size / 1e6:.1f} MB in {len(texts):,} files, {elapsed:.2f} s = "
              f"{size / 1e6 / elapsed:.1f} MB/s (read_file redacts its slice; grep only the lines it shows: "
              f"the 'tool ms' - 'no-redact' column)")
        repo.close()
