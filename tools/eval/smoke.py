#!/usr/bin/env python3
"""End-to-end check of the local model through litellm, with speed figures (maintainer tooling).

    python tools/eval/smoke.py [--model 1.5b|0.5b] [--threads N] [--api-base URL]

Starts the local server (unless --api-base is given), sends a question through ``litellm.completion`` with
``openai/qwen``, then a second turn that extends the first conversation (so the server reuses the cached prefix),
and a long prompt to measure prompt processing. Prints each reply and prompt / generation tokens per second from the
server's ``timings`` (when the server is ours) and the wall time per turn.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.eval.local_model import LocalServer  # noqa: E402

LONG_CONTEXT = Path(__file__).resolve().parents[2] / "repo_auditor" / "budget.py"


def turn(litellm, api_base: str, messages: list[dict], max_tokens: int) -> str:
    t0 = time.perf_counter()
    resp = litellm.completion(model="openai/qwen", api_base=api_base, api_key="x", messages=messages,
                              max_tokens=max_tokens, temperature=0.0, timeout=600)
    wall = time.perf_counter() - t0
    text = resp.choices[0].message.content
    usage = resp.usage
    timings = getattr(resp, "timings", None)  # the server's extra field, when litellm keeps it
    line = f"  wall {wall:.1f} s; prompt {usage.prompt_tokens}, completion {usage.completion_tokens} tokens"
    if timings:
        pn, pms, gn, gms = timings["prompt_n"], timings["prompt_ms"], timings["predicted_n"], timings["predicted_ms"]
        line += (f"; evaluated {pn} prompt tokens in {pms / 1000:.1f} s ({pn / max(pms, 1) * 1000:.0f} tok/s),"
                 f" generated {gn} in {gms / 1000:.1f} s ({gn / max(gms, 1) * 1000:.1f} tok/s)")
    print(line)
    return text


def run(api_base: str) -> None:
    import litellm

    messages = [{"role": "system", "content": "You are a concise senior Python reviewer."},
                {"role": "user", "content": "In one sentence: why is `cursor.execute(\"SELECT * FROM users WHERE name = '%s'\" % name)` dangerous, and what is the fix?"}]
    print("turn 1 (cold):")
    reply = turn(litellm, api_base, messages, 120)
    print("  >", reply.strip().replace("\n", "\n    "))
    messages += [{"role": "assistant", "content": reply},
                 {"role": "user", "content": "Write the fixed line only, in a python code block."}]
    print("turn 2 (extends turn 1; prefix reused):")
    print("  >", turn(litellm, api_base, messages, 80).strip().replace("\n", "\n    "))
    if LONG_CONTEXT.exists():
        code = LONG_CONTEXT.read_text()[:6000]
        print(f"turn 3 (new long prompt, {len(code)} chars of code):")
        msgs = [{"role": "user", "content": f"```python\n{code}\n```\nName the main class in this file. One line."}]
        print("  >", turn(litellm, api_base, msgs, 40).strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="1.5b")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--api-base", default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind, so the server is stopped by its PID
    if args.api_base:
        run(args.api_base)
        return 0
    t0 = time.perf_counter()
    with LocalServer(args.model, threads=args.threads) as server:
        print(f"server {server.api_base} (pid {server.pid}, {server.threads} threads) ready in "
              f"{time.perf_counter() - t0:.1f} s; log {server.log_path}")
        run(server.api_base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
