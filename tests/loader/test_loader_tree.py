"""The file tree the model sees first: its format, and how it is fitted to a character budget."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from repo_auditor.repository import LARGE_FILE_BYTES, FileEntry, Repository, render_file_tree
from tests.gitrepo import History


def entry(path: str, lines: int = 10, size: int | None = None, **extra) -> FileEntry:
    return FileEntry(path=path, size=size if size is not None else lines * 30, lines=lines, language=None,
                     binary=extra.pop("binary", False), blob_id="0" * 40, **extra)


def test_sample_repository_tree_exactly(history: History, cache: Path) -> None:
    history.repo.symlink("docs/latest", "nested/guide.md")
    history.repo.commit("link", tag="v3.0")
    with Repository.open(history.repo.path, "v3.0", cache_root=cache) as repo:
        tree = repo.file_tree()
    short = repo.commit[:7]
    assert tree == f"""sample @ v3.0 ({short}): 16 files, 38 lines
data/ (2 files, 2 lines)
  image.png  (18 B) [binary]
  latin1.txt  (17 B, 2 lines)
docs/ (3 files, 3 lines)
  nested/ (2 files, 3 lines)
    .gitignore  (21 B, 2 lines)
    guide.md  (13 B, 1 line)
  latest -> nested/guide.md
gen/ (2 files, 5 lines)
  api_pb2.py  (101 B, 3 lines) [generated]
  schema.py  (56 B, 2 lines) [generated]
src/ (3 files, 12 lines)
  app/ (3 files, 12 lines)
    __init__.py  (0 B, 0 lines)
    main.py  (141 B, 10 lines)
    util.py  (43 B, 2 lines)
vendor/ (1 file, 4 lines) [vendored]
  lib/ (1 file, 4 lines)
    thing.js  (70 B, 4 lines) [vendored]
web/ (1 file, 1 line)
  app.min.js  (23 B, 1 line) [generated]
.gitignore  (23 B, 3 lines)
CHANGES.md  (8 B, 2 lines)
README.md  (54 B, 3 lines)
package-lock.json  (27 B, 3 lines) [generated]"""


def test_header_for_a_work_tree(history: History, cache: Path) -> None:
    tree = Repository.open(history.repo.path, cache_root=cache).file_tree()
    assert tree.splitlines()[0] == f"sample (work tree at {history.third[:7]}): 15 files, 38 lines"


def test_large_file_and_compact_numbers() -> None:
    files = [entry("dump.sql", lines=12_345, size=LARGE_FILE_BYTES + 234_000, flags=frozenset({"large"}))]
    files += [entry(f"lib/m{i}.py", lines=1000) for i in range(12)]
    tree = render_file_tree("r", files)
    assert "dump.sql  (1.2 MB, 12k lines) [large]" in tree
    assert "lib/ (12 files, 12k lines)" in tree
    assert tree.splitlines()[0] == "r: 13 files, 24k lines"


def big_and_small() -> list[FileEntry]:
    files = [entry(f"big/pkg{i % 7}/module_{i}.py") for i in range(700)]
    files += [entry(f"small/file_{i}.py") for i in range(3)]
    files += [entry("README.md")]
    return files


def test_largest_directory_collapses_first_and_small_ones_stay_open() -> None:
    full = render_file_tree("r", big_and_small(), budget_chars=100_000)
    assert "big/pkg3/" not in full and "    module_3.py" in full  # sanity: everything shown
    tree = render_file_tree("r", big_and_small(), budget_chars=300)
    assert len(tree) <= 300
    lines = tree.splitlines()
    assert "big/ (700 files, 7.0k lines) …" in lines
    assert not any(line.startswith("  pkg") for line in lines)  # nothing of big/ is shown
    assert "  file_0.py  (300 B, 10 lines)" in lines and "README.md  (300 B, 10 lines)" in lines
    assert "marks a collapsed directory" in lines[0]


def test_deeper_directories_collapse_before_their_parents() -> None:
    tree = render_file_tree("r", big_and_small(), budget_chars=1500)
    assert len(tree) <= 1500
    assert "big/ (700 files, 7.0k lines)" in tree.splitlines()  # open: its packages are listed, collapsed
    assert "  pkg0/ (100 files, 1.0k lines) …" in tree.splitlines()


def test_vendored_directories_open_after_everything_else() -> None:
    files = [entry(f"src/a/m{i}.py") for i in range(40)] + [entry(f"node_modules/x/i{i}.js") for i in range(3)]
    full = render_file_tree("r", files, budget_chars=100_000)
    assert "    i2.js  (300 B, 10 lines) [vendored]" not in full  # entry() sets no flags; the folder line does
    assert "node_modules/ (3 files, 30 lines) [vendored]" in full.splitlines()
    # Shallow folders open before deep ones, except vendored ones: src/a/ (deeper) opens before node_modules/.
    shapes = set()
    for budget in range(300, 2500, 5):
        lines = render_file_tree("r", files, budget_chars=budget).splitlines()
        shapes.add(("  a/ (40 files, 400 lines)" in lines,
                    "node_modules/ (3 files, 30 lines) [vendored] …" in lines))
    assert (True, True) in shapes  # impossible if node_modules/ (shallower) were opened first


@pytest.mark.parametrize("budget", [80, 150, 400, 1000, 3000, 6000, 20_000])
def test_never_exceeds_the_budget(budget: int) -> None:
    rng = random.Random(7)
    files = []
    for i in range(6000):
        depth = rng.randint(0, 5)
        folders = "/".join(f"d{rng.randint(0, 6)}" for _ in range(depth))
        files.append(entry(f"{folders}/f{i}.py" if folders else f"f{i}.py", lines=rng.randint(0, 900)))
    tree = render_file_tree("repo", files, budget_chars=budget)
    assert len(tree) <= budget
    assert tree.startswith("repo")


def test_too_many_top_level_files_are_counted_not_dropped_silently() -> None:
    files = [entry(f"file_{i:04}.txt") for i in range(500)]
    tree = render_file_tree("r", files, budget_chars=1000)
    assert len(tree) <= 1000
    last = tree.splitlines()[-1]
    assert last.startswith("… ") and last.endswith("more top-level lines not shown")
    shown = len(tree.splitlines()) - 2
    assert int(last.split()[1]) == 500 - shown


def test_output_is_deterministic_whatever_the_input_order() -> None:
    files = big_and_small()
    shuffled = files[:]
    random.Random(1).shuffle(shuffled)
    assert render_file_tree("r", files, 900) == render_file_tree("r", shuffled, 900)


def test_a_too_small_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        render_file_tree("r", [entry("a.py")], budget_chars=10)
