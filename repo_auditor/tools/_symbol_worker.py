"""A parsing worker process for large cold indexes: ``python -m repo_auditor.tools._symbol_worker``.

tree-sitter holds the GIL while it parses, so parallel parsing needs processes. These are plain subprocesses,
not ``multiprocessing``: spawning through multiprocessing re-imports the caller's ``__main__`` in every
worker, which breaks (or re-runs) scripts without an ``if __name__ == "__main__"`` guard.

Wire protocol, over the worker's stdin and stdout, one batch at a time:

    request   one line of JSON  [[key, language, byte_count], ...]\\n  then the sources' bytes, back to back
    reply     one line of JSON  [[key, [[name, qualified_name, kind, start_line, end_line], ...]], ...]\\n

End of input ends the worker. A worker holds one batch at a time, so neither side can block the other on a
full pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from repo_auditor.errors import ToolError
from repo_auditor.tools._symbol_grammar import Definition, parse_definitions

Job = tuple[str, str, bytes]  # (cache key, language, source)


def encode_request(jobs: Iterable[Job]) -> bytes:
    jobs = list(jobs)
    header = json.dumps([[key, language, len(source)] for key, language, source in jobs])
    return header.encode() + b"\n" + b"".join(source for _, _, source in jobs)


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer batches until end of input."""
    while True:
        line = stdin.readline()
        if not line:
            return
        reply = []
        for key, language, size in json.loads(line):
            source = stdin.read(size)
            reply.append([key, parse_definitions(language, source)])
        stdout.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
        stdout.flush()


class Worker:
    """One worker process. ``send`` a batch, then ``receive`` its reply before sending the next."""

    def __init__(self) -> None:
        package_parent = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "repo_auditor.tools._symbol_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    @property
    def stdout(self) -> BinaryIO:
        assert self.process.stdout is not None
        return self.process.stdout

    def send(self, jobs: list[Job]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(encode_request(jobs))
            self.process.stdin.flush()
        except BrokenPipeError:
            raise self._died() from None

    def receive(self) -> list[tuple[str, list[Definition]]]:
        line = self.stdout.readline()
        if not line:
            raise self._died()
        return [(key, definitions) for key, definitions in json.loads(line)]

    def _died(self) -> ToolError:
        code = self.process.wait(timeout=5)
        return ToolError(
            f"the symbol parser worker exited with code {code} (its error is on stderr); "
            f"retry with workers=1 to parse in this process"
        )

    def close(self) -> None:
        """End the process: close its input, wait briefly, kill it if it lingers."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.close()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
