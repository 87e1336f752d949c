"""The secret redactor: recall on the generated corpus, precision on real code, throughput, read_file overhead.

- Recall: ``secrets_corpus.build_corpus()`` (provider tokens in several file syntaxes, contextual secrets); a sample
  counts as caught when no 10-character piece of its secret survives and the line count is unchanged. Side by side:
  our redactor, the base library alone (kingfisher), and our rules without the base.
- Recall via the ways out: the corpus committed to a git repository and read back through ``read_file``,
  ``grep`` with 3 lines of context and the review's diff (``_secret_paths.py``).
- Precision: redactions per 10,000 lines over real code: the stdlib (or ``--source``) and large installed packages
  (botocore, litellm, ...). ``SECRETS_BENCH_HITS=path`` writes every remaining hit there for inspection.
- Throughput: MB/s of ``redact`` over the real code, whole files.
- Overhead: a cold ``read_file`` sweep (fresh ``RepoTools``, every text file read once, 400-line calls) of the
  stdlib copied into a git repository, with redaction on and off.
"""

from __future__ import annotations

import importlib.util
import os
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
from _secret_paths import recall_by_path, write_corpus_repo  # noqa: E402
from secrets_corpus import build_corpus, leaked  # noqa: E402

from repo_auditor.tools import redaction  # noqa: E402

PACKAGES = ("botocore", "litellm", "boto3", "dspy", "huggingface_hub", "aiohttp", "jinja2", "click")
SUFFIXES = {".py", ".json", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".txt", ".md", ".rst", ".sh", ".xml", ".html",
            ".js", ".c", ".h"}


def _kingfisher_redact(text: str) -> str:
    """The base library alone, its findings replaced as they are."""
    spans = redaction._merge([], redaction._base_spans(text))
    return redaction.apply_spans(text, spans)


def _recall(corpus, fn) -> tuple[float, list[str]]:
    missed = []
    for sample in corpus:
        out = fn(sample.text, sample.path)
        if leaked(sample, out) or out.count("\n") != sample.text.count("\n"):
            missed.append(sample.format)
    return 1 - len(missed) / len(corpus), missed


def _real_code(source: Path | None) -> list[tuple[str, Path]]:
    roots = [("stdlib", source or Path(sysconfig.get_path("stdlib")))]
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            roots.append((name, Path(list(spec.submodule_search_locations)[0])))
    return roots


def _files(root: Path, skip_site_packages: bool) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__" and not (skip_site_packages and d == "site-packages")]
        out.extend(Path(dirpath, f) for f in filenames if Path(f).suffix in SUFFIXES)
    return sorted(out)


def _precision(roots, hits_file) -> tuple[int, int, int, float]:
    lines = hits = size = 0
    seconds = 0.0
    report = []
    for label, root in roots:
        r_lines = r_hits = 0
        for path in _files(root, label == "stdlib"):
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            rel = str(path.relative_to(root))
            t0 = time.perf_counter()
            spans = redaction.redacted_spans(text, rel)
            seconds += time.perf_counter() - t0
            size += len(text.encode())
            r_lines += text.count("\n") + 1
            r_hits += len(spans)
            for span in spans:
                line_no = text.count("\n", 0, span.start) + 1
                line = text[text.rfind("\n", 0, span.start) + 1:text.find("\n", span.start)][:160]
                report.append(f"{label}/{rel}:{line_no}: [{span.kind}] {line.strip()}")
        print(f"   precision {label:<16} {r_lines:>10,} lines {r_hits:>5} redactions "
              f"{r_hits / r_lines * 10_000:6.2f} per 10k lines")
        lines += r_lines
        hits += r_hits
    if hits_file:
        Path(hits_file).write_text("\n".join(report) + "\n")
    return lines, hits, size, seconds


def _sweep(repo_path: Path, cache: Path, redact: bool) -> float:
    """Seconds to read every text file once through ``read_file`` (400-line calls) with a fresh RepoTools."""
    from repo_auditor.tools import RepoTools

    try:
        from repo_auditor.repository import Repository
    except ImportError:
        from repo_auditor.loader import Repository
    t0 = time.perf_counter()
    repo = Repository.open(repo_path, cache_root=cache)
    with RepoTools(repo, redact=redact) as tools:
        for entry in repo.files:
            if entry.binary or entry.symlink_target is not None:
                continue
            start = 1
            while True:
                out = tools.read_file(entry.path, start_line=start)
                head = out.split("\n", 1)[0]
                if " | lines " not in head:
                    break
                shown, _, total = head.split(" | lines ", 1)[1].split(" |")[0].partition(" of ")
                last, total_n = int(shown.split("-")[1]), int(total.split()[0].replace(",", ""))
                if last >= total_n:
                    break
                start = max(last + 1, start + 1)
    return time.perf_counter() - t0


def run(args) -> None:
    corpus = build_corpus()
    t0 = time.perf_counter()
    redaction._base_scanner()
    print(f"   base: {redaction.BASE_SCANNER or 'unavailable'} (load {time.perf_counter() - t0:.1f} s)")
    ours, missed = _recall(corpus, redaction.redact)
    base, base_missed = _recall(corpus, lambda text, path: _kingfisher_redact(text))
    rules_only, _ = _recall(corpus, lambda text, path: redaction.apply_spans(
        text, redaction.redacted_spans(text, path, base=False)))
    print(f"   recall on {len(corpus)} samples / {len({s.format for s in corpus})} formats: "
          f"ours {ours:.1%}, kingfisher alone {base:.1%}, our rules without kingfisher {rules_only:.1%}")
    if missed:
        print(f"   ours missed: {', '.join(sorted(set(missed)))}")
    with tempfile.TemporaryDirectory(prefix="bench-secrets-paths-") as tmp:
        by_path = recall_by_path(corpus, write_corpus_repo(corpus, Path(tmp) / "repo"))
    print("   recall via " + " / ".join(by_path) + ": "
          + " / ".join(f"{r.recall:.1%}" for r in by_path.values()))
    for result in by_path.values():
        if result.missed or result.unshown:
            print(f"   {result.name} missed: {', '.join(sorted(set(result.missed))) or '-'}; "
                  f"line not shown: {', '.join(sorted(set(result.unshown))) or '-'}")
    source = Path(args.source) if getattr(args, "source", None) else None
    lines, hits, size, seconds = _precision(_real_code(source), os.environ.get("SECRETS_BENCH_HITS"))
    print(f"   precision total: {hits} redactions in {lines:,} lines = {hits / lines * 10_000:.2f} per 10k lines "
          f"(target <= 1)")
    print(f"   throughput: {size / 1e6:.1f} MB in {seconds:.2f} s = {size / 1e6 / seconds:.1f} MB/s")
    stdlib = source or Path(sysconfig.get_path("stdlib"))
    with tempfile.TemporaryDirectory(prefix="bench-secrets-") as tmp:
        work = copy_into_repo(stdlib, Path(tmp) / "repo")
        off = _sweep(work, Path(tmp) / "c-off", redact=False)
        on = _sweep(work, Path(tmp) / "c-on", redact=True)
        off2 = _sweep(work, Path(tmp) / "c-off2", redact=False)
        on2 = _sweep(work, Path(tmp) / "c-on2", redact=True)
    off, on = min(off, off2), min(on, on2)
    print(f"   cold read_file sweep of {stdlib.name}: {off:.2f} s without redaction, {on:.2f} s with: "
          f"+{(on - off) / off:.1%} (target < 10%)")
