"""The import scan's worker processes: a script file without a ``__main__`` guard can build an inventory large enough
to use them (multiprocessing's spawn would re-run such a script in every worker), and the workers' results equal the
in-process ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import GitRepo

SCRIPT = """
import json, sys
from pathlib import Path
import repo_auditor.architecture.scan as scan
from repo_auditor.architecture import build_inventory
from repo_auditor.repository import Repository
scan.POOL_MIN_BYTES = int(sys.argv[3])
scan.POOL_BATCH_FILES = 2
repo = Repository.open(sys.argv[1], cache_root=Path(sys.argv[2]) / "loader")
inv = build_inventory(repo, cache_path=Path(sys.argv[2]) / "scan")
print(json.dumps(sorted((e.source, e.target, e.count) for e in inv.edges)))
"""


def test_workers_run_from_a_script_without_a_main_guard(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "app")
    repo.write("pyproject.toml", '[project]\nname = "app"\n')
    repo.write("app/__init__.py", "")
    for name in ("a", "b", "c", "d", "e"):
        repo.write(f"app/{name}/__init__.py", "from app.a import x\n" if name != "a" else "x = 1\n")
    repo.commit("app")
    script = tmp_path / "no_main_guard.py"
    script.write_text(SCRIPT)
    results = []
    for pool_min_bytes, cache in (("0", "pooled"), ("999999999", "in-process")):
        run = subprocess.run([sys.executable, str(script), str(repo.path), str(tmp_path / cache), pool_min_bytes],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        results.append(json.loads(run.stdout))
    assert results[0] == results[1]
    assert ["app.b", "app.a", 1] in results[0]
