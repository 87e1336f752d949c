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

A runner frame that does not start with the token was not written by the runner (sandboxed code reached file
descriptor 1): the reader raises ``ForgedFrameError`` and the caller restarts the runtime.
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
# How often the ``on_wait`` callback (the memory check) runs while a caller waits for frames.
CHECK_INTERVAL_S = 0.1
# Below this a frame is joined and written at once; above it the payload is written as is to avoid copying it.
SMALL_FRAME_BYTES = 1 << 16


class ForgedFrameError(Exception):
    """A frame without the session token arrived: something other than the runner wrote to its stdout."""


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

    def read(self, deadline: float | None, on_wait: Callable[[], None] | None = None) -> tuple[dict[str, Any], bytes]:
        """Return (header, payload). ``on_wait`` runs about every CHECK_INTERVAL_S while waiting."""
        head = self._take(8 + TOKEN_BYTES, deadline, on_wait)
        if head[:TOKEN_BYTES] != self._token:
            raise ForgedFrameError("a frame without the session token arrived on the runner's stdout")
        json_len, payload_len = struct.unpack("<II", head[TOKEN_BYTES:])
        if json_len + payload_len > MAX_FRAME_BYTES:
            raise ForgedFrameError(f"a frame header claims {json_len + payload_len} bytes")
        msg = json.loads(self._take(json_len, deadline, on_wait))
        payload = self._take(payload_len, deadline, on_wait) if payload_len else b""
        return msg, payload

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
