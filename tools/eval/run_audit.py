#!/usr/bin/env python3
"""Run the real ``audit-repo`` command against the local model and keep its trace (maintainer tooling).

    python tools/eval/run_audit.py [--name run2] [--timeout 1800] [--api-base URL] [-- audit-repo options]

Defaults: ``fixtures/audit_repo``, the SQL question, ``--max-iterations 6``. Starts the local server unless
``--api-base`` is given, runs ``repo_auditor.cli:main`` in this process with ``--model openai/qwen --trace
tools/eval/transcripts/<name>.jsonl --verbose``, and writes the report next to it (``<name>.md``) and the stderr
(``<name>.err``). ``--timeout`` raises the per-request model timeout (the command line has no such option yet and its
default, 120 s, is shorter than a first turn on a busy 2-core machine); 0 keeps the product's default.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.eval.local_model import LocalServer  # noqa: E402

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"
QUESTION = "Where is user input passed to SQL without parameters?"


def run_cli(api_base: str, name: str, timeout: float, extra: list[str]) -> int:
    from repo_auditor import lm as lm_module
    from repo_auditor.cli import main as cli_main

    if timeout:
        original = lm_module.LM.__init__

        def init(self, *args, **kwargs):
            kwargs.setdefault("timeout", timeout)
            original(self, *args, **kwargs)

        lm_module.LM.__init__ = init
    TRANSCRIPTS.mkdir(exist_ok=True)
    trace, report, err = (TRANSCRIPTS / f"{name}.{ext}" for ext in ("jsonl", "md", "err"))
    args = extra or ["fixtures/audit_repo", QUESTION, "--max-iterations", "6"]
    argv = [*args, "--model", "openai/qwen", "--api-base", api_base, "--trace", str(trace), "--verbose"]
    print(f"audit-repo {' '.join(argv)}", file=sys.stderr)
    out, errbuf = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(errbuf):
        try:
            cli_main(argv, prog_name="audit-repo")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    wall = time.perf_counter() - t0
    report.write_text(out.getvalue())
    err.write_text(errbuf.getvalue() + f"\nexit {code}; {wall:.0f} s\n")
    print(f"exit {code} in {wall:.0f} s; trace {trace}, report {report}, stderr {err}", file=sys.stderr)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default=time.strftime("run-%Y%m%d-%H%M%S"))
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--api-base", default=None)
    parser.add_argument("--model", default="1.5b")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("extra", nargs="*", help="audit-repo arguments instead of the default fixture run (after --)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so the server is stopped by its PID
    os.chdir(ROOT)
    if args.api_base:
        return run_cli(args.api_base, args.name, args.timeout, args.extra)
    with LocalServer(args.model, threads=args.threads) as server:
        print(f"server {server.api_base} pid {server.pid}, log {server.log_path}", file=sys.stderr)
        return run_cli(server.api_base, args.name, args.timeout, args.extra)


if __name__ == "__main__":
    sys.exit(main())
