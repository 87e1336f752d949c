"""Sandbox figures: cold and snapshot start, warm execute, tool round trip, 10 MB variable, peak memory.

    python tools/bench sandbox

Start times are measured from ``start()`` to the end of the first executed statement. The cold start uses a fresh
snapshot folder, so it includes building the snapshot once.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from repo_auditor.sandbox import DenoInterpreter, ensure_runtime

REPEATS = 5


def _rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    with open(f"/proc/{pid}/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmHWM:"):  # peak resident set size
                return int(line.split()[1]) / 1024
    return float("nan")


_last_timings: dict[str, float] = {}


def _start_to_first_statement(**kwargs: Any) -> float:
    with DenoInterpreter(**kwargs) as interp:
        t0 = time.perf_counter()
        interp.start()
        interp.execute("x = 1")
        took = time.perf_counter() - t0
        _last_timings.clear()
        _last_timings.update(interp.last_start_timings)
        return took


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def run(args: object) -> None:
    ensure_runtime(fetch=True)
    with tempfile.TemporaryDirectory() as folder:
        cold = _start_to_first_statement(snapshot_dir=folder)
        print(f"   cold start, building the snapshot      {_ms(cold)}")
        no_snap = _start_to_first_statement(use_snapshot=False)
        print(f"   start without snapshot                 {_ms(no_snap)}")
        starts = [_start_to_first_statement(snapshot_dir=folder) for _ in range(REPEATS)]
        print(f"   snapshot start (median of {REPEATS})           {_ms(statistics.median(starts))}"
              f"   (min {_ms(min(starts)).strip()}, target <= 350 ms)")
        steps = "  ".join(f"{name} {ms:.0f}" for name, ms in _last_timings.items())
        print(f"   last start inside Deno, ms since process start: {steps}")

    def echo(x: int) -> int:
        return x

    with DenoInterpreter(tools={"echo": echo}) as interp:
        interp.start()
        interp.execute("x = 0")
        samples = []
        for _ in range(200):
            t0 = time.perf_counter()
            interp.execute("x += 1")
            samples.append(time.perf_counter() - t0)
        print(f"   warm execute of `x += 1` (median)      {_ms(statistics.median(samples))}   (target <= 1 ms)")

        calls = 1000
        result = interp.execute(
            f"import time\nt0 = time.perf_counter()\nfor i in range({calls}):\n    echo(i)\n"
            f"(time.perf_counter() - t0) / {calls}")
        per_call = float(result.value) if result.value else float("nan")
        print(f"   tool round trip from inside            {_ms(per_call)}   (target <= 0.2 ms; {calls} calls)")

        big = "x" * (10 * 1024 * 1024)
        t0 = time.perf_counter()
        interp.set_variables({"big": big})
        inject = time.perf_counter() - t0
        print(f"   10 MB string variable injection        {_ms(inject)}   (target < 500 ms)")
        interp.execute("data = [str(i) * 10 for i in range(200_000)]")
        print(f"   peak RSS of the Deno process           {_rss_mb(interp.pid):8.1f} MB   (after 10 MB variable + "
              f"a 200k-item list)")
