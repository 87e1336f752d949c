#!/usr/bin/env python3
"""Run the local evaluation model behind an OpenAI-compatible server on 127.0.0.1 (maintainer tooling).

From Python (scripts, tests)::

    from tools.eval.local_model import local_model      # with the repository root on sys.path

    with local_model() as api_base:                     # "http://127.0.0.1:PORT/v1"
        litellm.completion(model="openai/qwen", api_base=api_base, api_key="x", messages=[...])

From a shell (runs until Ctrl-C; prints the api_base on stdout)::

    python tools/eval/local_model.py [--model 1.5b|0.5b] [--port 8080] [--threads 2] [--ctx 16384]

The model and node-llama-cpp are set up on first use (``setup_model.py``). The server is started with
``OMP_WAIT_POLICY=PASSIVE``, picks a free port itself (``--port 0``) and reports it once the model is loaded; it is
stopped by its PID (SIGTERM, then SIGKILL after a grace period). Its log (one line per request: prompt tokens,
evaluated tokens, seconds, generated tokens) is kept in ``<cache>/logs/``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

try:
    from . import setup_model
except ImportError:  # run as a script
    import setup_model  # type: ignore[no-redef]

SERVER_JS = Path(__file__).resolve().parent / "server.mjs"


def default_threads() -> int:
    env = os.environ.get("REPO_AUDITOR_EVAL_THREADS")
    return int(env) if env else max(1, min(2, os.cpu_count() or 1))


class LocalServer:
    """One server process. ``start()`` blocks until the model is loaded; ``stop()`` kills it by PID."""

    def __init__(self, model: str = "1.5b", *, model_path: str | os.PathLike | None = None, cache=None,
                 port: int = 0, threads: int | None = None, ctx: int = 16384, name: str = "qwen",
                 ready_timeout: float = 300.0) -> None:
        self.model, self.model_path, self.cache = model, model_path, cache
        self.port, self.threads, self.ctx, self.name = port, threads or default_threads(), ctx, name
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self.api_base: str | None = None
        self.log_path: Path | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> str:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node not found: install Node.js >= 20")
        runtime = setup_model.ensure_runtime(self.cache)
        model_path = Path(self.model_path) if self.model_path else setup_model.ensure_model(self.model, self.cache)
        logs = setup_model.cache_dir(self.cache) / "logs"
        logs.mkdir(exist_ok=True)
        self.log_path = logs / f"server-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        cmd = [node, str(SERVER_JS), "--model", str(model_path), "--runtime", str(runtime), "--port", str(self.port),
               "--threads", str(self.threads), "--ctx", str(self.ctx), "--name", self.name]
        log = self.log_path.open("w")
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                        text=True, start_new_session=True)
        log.close()
        ready: list[str] = []

        def read() -> None:
            for line in self.process.stdout:  # type: ignore[union-attr]
                if line.startswith("READY "):
                    ready.append(line.split(None, 1)[1].strip())
                    break

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self.ready_timeout)
        if not ready:
            code = self.process.poll()
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            why = f"exited with {code}" if code is not None else f"not ready after {self.ready_timeout:g} s"
            raise RuntimeError(f"local model server {why}; log {self.log_path}:\n{tail}")
        self.api_base = ready[0]
        return self.api_base

    def stop(self, grace: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> "LocalServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def local_model(model: str = "1.5b", **kwargs) -> Iterator[str]:
    """Start the server, yield its api_base (``http://127.0.0.1:PORT/v1``), stop it on exit."""
    with LocalServer(model, **kwargs) as server:
        yield server.api_base  # type: ignore[misc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(setup_model.MODELS), default="1.5b")
    parser.add_argument("--model-path", default=None, help="any GGUF file instead of --model")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--ctx", type=int, default=16384)
    parser.add_argument("--pidfile", default=None, help="write the server's PID here")
    args = parser.parse_args(argv)
    server = LocalServer(args.model, model_path=args.model_path, cache=args.cache, port=args.port,
                         threads=args.threads, ctx=args.ctx)
    with server:
        if args.pidfile:
            Path(args.pidfile).write_text(f"{server.pid}\n")
        print(server.api_base, flush=True)
        print(f"pid {server.pid}, log {server.log_path}; Ctrl-C to stop", file=sys.stderr, flush=True)
        try:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            server.process.wait()  # type: ignore[union-attr]
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
