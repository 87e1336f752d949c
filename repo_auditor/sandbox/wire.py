"""The host side of the pipe to ``runner.js``: framing, authentication and deadlines.

Frames::

    host -> runner   [u32 LE json length][u32 LE payload length][json][payload]
    runner -> host   [16-byte session token][u32 LE json length][u32 LE payload length][json][payload]

The JSON part is a small header with an ``op``; bulk data (a variable's bytes, a snapshot, a result's JSON text) travels
as the raw payload so it is never escaped twice.

Messages, host -> runner: ``boot`` (first, once: token, mode, Pyodide location, sources), ``exec`` {code, limit,
timeout}, ``tool`` (payload: the tool's spec as JSON), ``var`` {name, kind: "str" | "json"} (payload: UTF-8 bytes),
``reply`` (payload: a tool call's answer as JSON), ``ping``.
Runner -> host: ``ready``, ``fatal`` {message}, ``snapshot`` (payload: memory snapshot), ``result`` (payload: the cell
result as JSON), ``call`` (payload: {tool, args, kwargs} as JSON), ``done`` {error?}, ``pong``.

Sequence: every host request (``exec``, ``tool``, ``var``, ``ping``, and ``reply``) carries ``seq``, the host's request
counter. Every runner frame carries ``n`` (1 for its first frame, then one more per frame) and ``re``, the ``seq`` of
the request it answers (a ``call`` answers its cell's ``exec``). The reader checks ``n``; the caller checks ``re``. So a
frame the runner did not write in this order, or an answer to an earlier request, is never taken for the current one.

A runner frame that does not start with the token, is out of sequence, or whose header is not a small JSON object with
a known ``op`` was not written by the runner as it should be (sandboxed code reached file descriptor 1, or tampered
with the runner): the reader raises ``ForgedFrameError`` and the caller restarts the runtime. Payloads are not parsed
here; ``untrusted.py`` checks them. A payload over the caller's ``max_payload`` is read and dropped, and
``OversizedPayloadError`` says so, with the channel still in step.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Callable
from typing import Any

TOKEN_BYTES = 16
# A frame header that claims more than this is corrupt; the largest legitimate frame is the memory snapshot (~32 MB).
MAX_FRAME_BYTES = 1 << 30
# The headers the runner writes are a few hundred bytes (a fatal message is capped at 4,000 characters).
MAX_HEADER_BYTES = 1 << 16
RUNNER_OPS = frozenset({"ready", "fatal", "snapshot", "result", "call", "done", "pong"})
# How often the ``on_wait`` callback (the memory check) runs while a caller waits for frames.
CHECK_INTERVAL_S = 0.1
# Below this a frame is joined and written at once; above it the payload is written as is to avoid copying it.
SMALL_FRAME_BYTES = 1 << 16


class ForgedFrameError(Exception):
    """A frame without the session token arrived: something other than the runner wrote to its stdout."""


class OversizedPayloadError(Exception):
    """A frame's payload was over the reader's limit; it was read and dropped (the channel is still in step)."""

    def __init__(self, msg: dict[str, Any], size: int) -> None:
        super().__init__(f"a {msg.get('op')} payload of {size} bytes")
        self.msg = msg
        self.size = size


class ChannelClosedError(Exception):
    """The runner's stdout closed: the process exited."""


class DeadlineError(Exception):
    """No complete frame arrived before the deadline."""


def encode(msg: dict[str, Any], payload: bytes = b"") -> list[bytes]:
    """The pieces of one host -> runner frame (written without joining, so large payloads are not copied)."""
    body = json.dumps(msg).encode("utf-8")
    return [struct.pack("<II", len(body), len(payload)), body, payload]


def write_frame(fd: int, msg: dict[str, Any], payload: bytes = b"") -> None:
    """Write one frame to ``fd`` (blocking until the runner has taken it)."""
    pieces = encode(msg, payload)
    if len(payload) < SMALL_FRAME_BYTES:
        pieces = [b"".join(pieces)]  # one system call for the common small frame
    for piece in pieces:
        view = memoryview(piece)
        while view:
            written = os.write(fd, view)
            view = view[written:]


class FrameReader:
    """Reads authenticated runner frames from a pipe, with a deadline and a callback while waiting."""

    def __init__(self, fd: int, token: bytes) -> None:
        self._fd = fd
        self._token = token
        self._buf = bytearray()
        self._next_check = 0.0
        self._count = 0  # runner frames read so far

    def read(self, deadline: float | None, on_wait: Callable[[], None] | None = None,
             max_payload: int = MAX_FRAME_BYTES) -> tuple[dict[str, Any], bytes]:
        """Return (header, payload): the header a dict with ``op`` (a known runner op), ``n`` and ``re`` (ints).
        ``on_wait`` runs about every CHECK_INTERVAL_S while waiting."""
        head = self._take(8 + TOKEN_BYTES, deadline, on_wait)
        if head[:TOKEN_BYTES] != self._token:
            raise ForgedFrameError("a frame without the session token arrived on the runner's stdout")
        json_len, payload_len = struct.unpack("<II", head[TOKEN_BYTES:])
        if json_len > MAX_HEADER_BYTES or json_len + payload_len > MAX_FRAME_BYTES:
            raise ForgedFrameError(f"a frame header claims {json_len} + {payload_len} bytes")
        msg = _header(self._take(json_len, deadline, on_wait))
        self._count += 1
        if msg["n"] != self._count:
            raise ForgedFrameError(f"frame {msg['n']} arrived where frame {self._count} was due")
        if payload_len > max_payload:
            self._skip(payload_len, deadline, on_wait)
            raise OversizedPayloadError(msg, payload_len)
        payload = self._take(payload_len, deadline, on_wait) if payload_len else b""
        return msg, payload

    def _skip(self, n: int, deadline: float | None, on_wait: Callable[[], None] | None) -> None:
        while n > 0:
            chunk = min(n, 1 << 20)
            self._take(chunk, deadline, on_wait)
            n -= chunk

    def _take(self, n: int, deadline: float | None, on_wait: Callable[[], None] | None) -> bytes:
        while len(self._buf) < n:
            now = time.monotonic()
            if on_wait is not None and now >= self._next_check:  # also between back-to-back frames (tool calls)
                self._next_check = now + CHECK_INTERVAL_S
                on_wait()
            wait = CHECK_INTERVAL_S if deadline is None else min(CHECK_INTERVAL_S, max(deadline - now, 0.0))
            ready, _, _ = select.select([self._fd], [], [], wait)
            if not ready:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlineError("the runner did not answer in time")
                continue
            chunk = os.read(self._fd, max(n - len(self._buf), 1 << 16))
            if not chunk:
                raise ChannelClosedError("the runner's stdout closed")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def _header(raw: bytes) -> dict[str, Any]:
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ForgedFrameError(f"a frame header is not JSON ({str(exc)[:100]})") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("op"), str) or msg["op"] not in RUNNER_OPS:
        raise ForgedFrameError(f"a frame header is not a runner message: {raw[:100]!r}")
    for key in ("n", "re"):
        if type(msg.get(key)) is not int:
            raise ForgedFrameError(f"a {msg['op']} frame lacks its sequence number {key!r}")
    return msg
