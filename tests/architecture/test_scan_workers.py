"""The import scan's worker processes: a script file without a ``__main__`` guard can build an inventory large enough
to use them (multiprocessing's spawn would re-run such a script in every worker), and the workers' results equal the
in-process ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def _app_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.init(tmp_path / "app")
    repo.write("pyproject.toml", '[project]\nname = "app"\n')
    repo.write("app/__init__.py", "")
    repo.write("app/a/__init__.py", "class A:\n    def run(self):\n        return 1\n")
    repo.write("app/b/__init__.py", "from app.a import A\n\n\ndef make():\n    return A()\n")
    repo.write("native/x.c", "int add(int a, int b) { return a + b; }\n")  # symbols only: no import scan
    repo.commit("app")
    return repo


@pytest.mark.parametrize("pooled", [False, True])
def test_a_cold_inventory_parses_each_file_once(tmp_path: Path, monkeypatch, pooled: bool) -> None:
    """The import scan hands its parse's definitions to the symbol index, which then parses only the files the
    import scan does not read (C here)."""
    import repo_auditor.architecture.scan as scan
    from repo_auditor.architecture import build_inventory
    from repo_auditor.parsing.definitions import parse_definitions
    from repo_auditor.repository import Repository
    from repo_auditor.tools.symbol_index import SymbolIndex

    if pooled:
        monkeypatch.setattr(scan, "POOL_MIN_BYTES", 0)
        monkeypatch.setattr(scan, "POOL_BATCH_FILES", 1)
        monkeypatch.setattr(scan, "cpu_count", lambda: 2)
    app = _app_repo(tmp_path)
    repo = Repository.open(app.path, cache_root=tmp_path / "loader")
    parsed: list[str] = []

    def counting(language: str, source: bytes):
        parsed.append(language)
        return parse_definitions(language, source)

    index = SymbolIndex(repo, tmp_path / "caches", parse=counting)
    inventory = build_inventory(repo, cache_path=tmp_path / "caches", symbols=index)
    assert ("app.b", "app.a") in {(e.source, e.target) for e in inventory.edges}
    assert parsed == ["c"]
    names = {s.qualified_name for s in SymbolIndex(repo, tmp_path / "caches", parse=counting).find()}
    assert {"A", "A.run", "make", "add"} <= names
    assert parsed == ["c"]  # all cached
