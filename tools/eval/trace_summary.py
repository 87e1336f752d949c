#!/usr/bin/env python3
"""Summarise a repo_auditor ``--trace`` JSONL file: one line per model reply and per execution.

    python tools/eval/trace_summary.py tools/eval/transcripts/*.jsonl [--text]

Per reply: iteration, purpose, prompt / completion tokens, seconds. Per execution: the error type and the first line
of the error, or that it submitted. ``--text`` also prints each reply's text (the model's habits, verbatim).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def summarise(path: Path, show_text: bool) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print(f"== {path}")
    purpose = {}
    replies = []
    for r in records:
        kind = r.get("kind")
        if kind == "request":
            purpose[r.get("iteration")] = r.get("purpose")
        elif kind == "reply":
            replies.append(r)
            it = r.get("iteration")
            print(f"  reply  it={it} {purpose.get(it, '?'):8} prompt={r.get('prompt_tokens')} "
                  f"completion={r.get('completion_tokens')} {r.get('duration', 0):.1f} s")
            if show_text:
                print("    | " + (r.get("text") or "").replace("\n", "\n    | "))
        elif kind == "execution":
            err = (r.get("error") or "").strip().splitlines()
            status = "SUBMIT" if r.get("submit") else (f"{r.get('error_type')}: {err[-1] if err else ''}" if err else "ok")
            print(f"  exec   it={r.get('iteration')} {status[:160]}")
        elif kind == "tool_call":
            print(f"  tool   {r.get('name')}({r.get('args')}) {'error: ' + str(r.get('error'))[:100] if r.get('error') else ''}")
        elif kind in ("run_end", "run_error"):
            print(f"  {kind}: " + json.dumps({k: v for k, v in r.items() if k in ('finished_by', 'error', 'usage', 'duration')})[:400])
    total = sum(r.get("duration") or 0 for r in replies)
    if replies:
        print(f"  {len(replies)} replies, {total:.0f} s of model time, {total / len(replies):.1f} s per reply")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("traces", nargs="+", type=Path)
    parser.add_argument("--text", action="store_true")
    args = parser.parse_args()
    for path in args.traces:
        summarise(path, args.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
