"""A small OpenAI-compatible HTTP server for tests: replays scripted replies to ``POST /v1/chat/completions``.

It runs on 127.0.0.1 on a free port in a daemon thread, records every request, and answers from a script::

    with OpenAIServer() as server:
        server.enqueue("first reply", Fault.rate_limited(retry_after=0), "second reply")
        lm = LM("openai/x", api_base=server.url, api_key="sk-test")
        ...
        assert server.requests[0].body["messages"][0]["content"] == "hi"

A script item is a reply string, a :class:`Reply` (text plus usage numbers and a delay) or a :class:`Fault`
(any status, raw or JSON body, headers, delay). When the script is empty the server answers 400 "no scripted
reply left", which is not retried, so a test that asks once too often fails fast; unless the server was given a
``responder(body) -> item``, which then answers from the request itself (for many concurrent clients whose order
is not fixed). The pytest fixture
``openai_server`` lives in ``tests/lm/conftest.py``; other folders can build their own from this class.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Reply:
    """A successful chat completion. Token counts default to len // 4 of the prompt and of ``text``."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None  # reported as usage.prompt_tokens_details.cached_tokens when set
    finish_reason: str = "stop"
    delay: float = 0.0  # seconds to wait before answering


@dataclass(frozen=True)
class Fault:
    """Any other answer: an HTTP status with a body (dict -> JSON, str -> sent as is), headers and a delay."""

    status: int = 500
    body: dict | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: float | None = None) -> Fault:
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        return cls(429, _error_body("Rate limit reached, slow down.", "rate_limit_exceeded"), headers)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls(
            status, _error_body("The server had an error while processing your request.", "server_error")
        )

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls(401, _error_body("Incorrect API key provided.", "invalid_api_key"))

    @classmethod
    def model_not_found(cls, model: str = "x") -> Fault:
        return cls(
            404,
            _error_body(
                f"The model `{model}` does not exist or you do not have access to it.", "model_not_found"
            ),
        )

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait ``seconds``, then answer 500: pair with a client timeout shorter than ``seconds``."""
        return cls(500, _error_body("too slow", "server_error"), delay=seconds)

    @classmethod
    def malformed(cls) -> Fault:
        return cls(200, '{"id": "chatcmpl-1", "choices": [ this is not json')

    @classmethod
    def empty_choices(cls) -> Fault:
        return cls(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "x",
                "choices": [],
                "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1},
            },
        )


Item = str | Reply | Fault


def _error_body(message: str, code: str) -> dict:
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


@dataclass
class RecordedRequest:
    """One request as the server saw it. ``body`` is the parsed JSON, or None when it was not JSON."""

    method: str
    path: str
    headers: dict[str, str]  # header names lower-cased
    body: Any
    raw: bytes
    received_at: float  # time.monotonic() on arrival
    # time.monotonic() after the answer was sent (None while pending, or when the client had gone)
    answered_at: float | None = None


class OpenAIServer:
    """The fake server. Start with ``start()`` or ``with``; ``url`` is the ``api_base`` to give litellm."""

    def __init__(self, responder: Callable[[Any], Item] | None = None) -> None:
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self._script: deque[Item] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on a delay
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL including ``/v1``, for ``api_base``."""
        if self._httpd is None:
            raise RuntimeError("OpenAIServer is not started; use it as a context manager or call start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    # -- script ----------------------------------------------------------------------------------------------

    def enqueue(self, *items: Item) -> None:
        for item in items:
            if not isinstance(item, (str, Reply, Fault)):
                raise TypeError(
                    f"OpenAIServer script items are str, Reply or Fault, got {type(item).__name__}"
                )
        with self._lock:
            self._script.extend(items)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the requests to the chat completions endpoint."""
        return [r for r in self.requests if r.path == CHAT_PATH]

    def _next(self, body: Any = None) -> Item | None:
        with self._lock:
            if self._script:
                return self._script.popleft()
        return self.responder(body) if self.responder is not None else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            self.command,
            self.path.split("?")[0],
            {k.lower(): v for k, v in self.headers.items()},
            body,
            raw,
            time.monotonic(),
        )
        self.owner._record(record)
        if self.command != "POST" or record.path != CHAT_PATH:
            answer = 404, _error_body(f"unknown endpoint {self.command} {self.path}", "not_found"), {}
        else:
            item = self.owner._next(body)
            if item is None:
                answer = 400, _error_body("fake OpenAI server: no scripted reply left", "script_empty"), {}
            elif isinstance(item, Fault):
                self.owner._wait(item.delay)
                answer = item.status, item.body, item.headers
            else:
                reply = Reply(item) if isinstance(item, str) else item
                self.owner._wait(reply.delay)
                answer = 200, _completion(reply, body), {}
        # Stamped before the bytes go out, so a client that has read the reply always sees it; unset again when
        # the client had gone.
        record.answered_at = time.monotonic()
        if not self._send(*answer):
            record.answered_at = None

    def _send(self, status: int, body: dict | str | None, headers: dict[str, str]) -> bool:
        """Send one answer; False when the client had already gone."""
        payload = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            # One request per connection: clients keep no pooled sockets to a server that a test has stopped
            # (they would be garbage-collected later as ResourceWarnings, failing some unrelated test).
            self.send_header("Connection", "close")
            self.close_connection = True
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): nothing to answer
            self.close_connection = True
            return False
        return True


def _prompt_chars(body: Any) -> int:
    total = 0
    for message in (body or {}).get("messages", []) if isinstance(body, dict) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(part.get("text", "")) for part in content if isinstance(part, dict))
    return total


def _completion(reply: Reply, request: Any) -> dict:
    prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else _prompt_chars(request) // 4
    completion_tokens = (
        reply.completion_tokens if reply.completion_tokens is not None else len(reply.text) // 4
    )
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if reply.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": reply.cached_tokens}
    model = request.get("model", "x") if isinstance(request, dict) else "x"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage,
    }
