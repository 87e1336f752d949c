#!/usr/bin/env python3
"""The issue-18 bar, re-runnable: the fixture audit N times against a real model, scored per run (maintainer tooling).

    PYTHONPATH=. python tools/eval/repeat.py [--runs 5] [--api-base URL] [--keep NAME] [-- audit-repo options]

Each run is the real command in a fresh process (``audit-repo fixtures/audit_repo "Where is user input passed to SQL
without parameters?" --model openai/qwen --format json``, plus whatever follows ``--``, e.g. ``--samples 1``; the
default ``--samples auto`` asks this unpriced model for 8 answers), and counts as a hit when the report holds a
*verified* finding in ``app/db.py`` overlapping lines 9-10 (the query built with ``%``). Prints one line per run and the total ("4 of 5 runs found and verified it"). Without ``--api-base`` the
local model is started (``local_model.py``) and stopped at the end. ``--keep NAME`` copies each run's trace to
``transcripts/NAME-runK.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.eval.run import model_endpoint  # noqa: E402

FIXTURE = ROOT / "fixtures" / "audit_repo"
QUESTION = "Where is user input passed to SQL without parameters?"
EXPECTED = ("app/db.py", 9, 10)
TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"


def hit(report: dict) -> bool:
    """Whether the report verified a finding at the planted SQL injection."""
    path, first, last = EXPECTED
    for finding in report.get("findings", []):
        where = finding.get("location") or {}
        line = where.get("line") or 0
        end = where.get("end_line") or line
        if finding.get("verified") is True and where.get("path") == path and line <= last and end >= first:
            return True
    return False


def run_once(api_base: str, extra: list[str], workdir: Path, number: int, timeout: float) -> tuple[bool, str]:
    """One audit in a fresh process; (hit, one-line summary)."""
    output, trace = workdir / f"run{number}.json", workdir / f"run{number}.jsonl"
    argv = [str(FIXTURE), QUESTION, "--model", "openai/qwen", "--api-base", api_base, "--timeout", str(timeout),
            "--format", "json", "--output", str(output), "--trace", str(trace), "--quiet", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "no-key")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from repo_auditor.cli import run; run()", *argv], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if not output.exists():
        return False, f"exit {done.returncode} after {seconds:.0f} s, no report: {done.stderr.strip()[-300:]}"
    report = json.loads(output.read_text())
    cited = ", ".join(f"{f['location']['path']}:{f['location']['line']} "
                      f"{'verified' if f.get('verified') else 'not verified'}" for f in report.get("findings", []))
    found = hit(report)
    return found, f"{'HIT ' if found else 'miss'} exit {done.returncode}, {seconds:.0f} s; findings: {cited or 'none'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--api-base", default=None, help="an OpenAI-compatible endpoint; none starts the local model")
    parser.add_argument("--model", default="1.5b", help="local model to start (1.5b or 0.5b)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per model reply")
    parser.add_argument("--keep", default=None, help="copy the traces to transcripts/KEEP-runN.jsonl")
    parser.add_argument("extra", nargs="*", help="more audit-repo options (after --), e.g. --samples 1")
    args = parser.parse_args()

    def rounds(api_base: str) -> int:
        hits = 0
        with tempfile.TemporaryDirectory(prefix="repo-auditor-repeat-") as tmp:
            for number in range(1, args.runs + 1):
                found, line = run_once(api_base, args.extra, Path(tmp), number, args.timeout)
                hits += found
                print(f"run {number}: {line}", flush=True)
                trace = Path(tmp) / f"run{number}.jsonl"
                if args.keep and trace.exists():
                    shutil.copy(trace, TRANSCRIPTS / f"{args.keep}-run{number}.jsonl")
        print(f"{hits} of {args.runs} runs found and verified the SQL injection in {EXPECTED[0]}")
        return 0

    with model_endpoint(args.api_base, args.model) as api_base:
        return rounds(api_base)


if __name__ == "__main__":
    sys.exit(main())
