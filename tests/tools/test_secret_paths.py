"""The generated corpus, committed to a git repository, is caught at >= 99% on every way out to the model:
``read_file``, ``grep`` with three lines of context and the review's diff (``tools/benchmarks/_secret_paths.py``)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "tools" / "benchmarks"


def load(name: str):
    """A module of tools/benchmarks/, registered under its own name (the helper imports ``secrets_corpus``)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


corpus = load("secrets_corpus")
load("_repos")
paths = load("_secret_paths")


@pytest.fixture(scope="module")
def recall(tmp_path_factory):
    samples = corpus.build_corpus(seed=20261202)
    repo = paths.write_corpus_repo(samples, tmp_path_factory.mktemp("corpus") / "repo")
    return paths.recall_by_path(samples, repo)


@pytest.mark.parametrize("way_out", paths.PATHS)
def test_corpus_recall_is_at_least_99_percent_on_each_way_out(recall, way_out):
    result = recall[way_out]
    assert result.unshown == [], f"{way_out} never showed the secret's line of: {sorted(set(result.unshown))}"
    missed = ", ".join(f"{name} x{n}" for name, n in sorted(Counter(result.missed).items()))
    assert result.recall >= 0.99, f"{way_out}: recall {result.recall:.1%}; missed formats: {missed}"
