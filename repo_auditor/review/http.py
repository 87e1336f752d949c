"""A small JSON-over-HTTPS client (urllib only) shared by the GitHub and GitLab posters.

Replies are untrusted: they must be JSON and at most ``MAX_REPLY_BYTES``; pagination follows ``Link: rel="next"``
only on the API's own host (the token is never sent elsewhere) and for at most ``MAX_PAGES`` pages. Rate limits (403
or 429 with ``Retry-After``, ``x-ratelimit-remaining: 0`` / ``ratelimit-remaining: 0`` with a reset time, or a bare
429) are waited out up to ``MAX_RATE_LIMIT_WAIT`` seconds per wait and ``MAX_ATTEMPTS`` tries; other failures raise
the service's error class with a message from ``explain(status, message, method, url, rate_limited)``.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

MAX_PAGES = 50  # 50 pages of 100 items; a pull request with more is not one we can keep tidy anyway
MAX_ATTEMPTS = 3
MAX_RATE_LIMIT_WAIT = 60.0  # seconds; a longer wait fails the step instead of silently holding a CI runner
TIMEOUT = 30.0
MAX_REPLY_BYTES = 20_000_000

Explain = Callable[[int, str, str, str, bool], str]


class JsonApi:
    """Requests to one API root with fixed headers. ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(self, api_url: str, headers: dict[str, str], *, error: type[Exception], service: str,
                 explain: Explain, option: str = "--api-url", sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        parsed = urllib.parse.urlsplit(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise error(f"{option} must be an http(s) URL, got {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self.headers = headers
        self.error = error
        self.service = service
        self.explain = explain
        self.option = option
        self._host = parsed.netloc
        self.sleep = sleep
        self.clock = clock

    def request(self, method: str, url: str, payload: dict[str, Any] | None = None) -> tuple[Any, Any]:
        """(the decoded JSON reply, its headers); an empty reply (204) is None."""
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            request = urllib.request.Request(url, data=data, method=method, headers={
                **self.headers, **({"Content-Type": "application/json"} if data is not None else {})})
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                    raw = response.read(MAX_REPLY_BYTES + 1)
                    headers = response.headers
            except urllib.error.HTTPError as exc:
                wait = self._rate_limit_wait(exc.code, exc.headers)
                if wait is not None and wait <= MAX_RATE_LIMIT_WAIT and attempt < MAX_ATTEMPTS:
                    self.sleep(wait)
                    continue
                text = self.explain(exc.code, _message(exc), method, url, wait is not None)
                raise self.error(text, status=exc.code, url=url) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise self.error(f"cannot reach the {self.service} API at {self.api_url} ({reason}); check "
                                 f"{self.option} and the network", url=url) from None
            if len(raw) > MAX_REPLY_BYTES:
                raise self.error(f"{self.service}'s reply to {method} {url} is larger than {MAX_REPLY_BYTES:,} "
                                 "bytes", url=url)
            try:
                return json.loads(raw or b"null"), headers
            except ValueError:
                raise self.error(f"{self.service}'s reply to {method} {url} is not JSON; check {self.option}",
                                 url=url) from None
        raise AssertionError("unreachable: the loop returns or raises")

    def paginate(self, url: str, what: str) -> list[Any]:
        """Every item of a paginated list, following ``Link: rel="next"``."""
        items: list[Any] = []
        next_url: str | None = url
        for _page in range(MAX_PAGES):
            if next_url is None:
                break
            data, headers = self.request("GET", next_url)
            if not isinstance(data, list):
                raise self.error(f"{self.service} returned {type(data).__name__} for {what}, expected a list",
                                 url=next_url)
            items.extend(data)
            next_url = self.next_link(headers.get("Link", "") if headers else "")
        return items

    def next_link(self, link: str) -> str | None:
        for part in link.split(","):
            match = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
            if match:
                url = match.group(1)
                parsed = urllib.parse.urlsplit(url)
                if parsed.netloc != self._host or parsed.scheme not in ("http", "https"):
                    raise self.error(f"{self.service}'s pagination link points at another host ({parsed.netloc!r}); "
                                     "refusing to send the token there", url=url)
                return url
        return None

    def _rate_limit_wait(self, status: int, headers: Any) -> float | None:
        """Seconds to wait before retrying a rate-limited call, or None when the failure is not a rate limit."""
        if status not in (403, 429):
            return None
        get = headers.get if headers else (lambda _key: None)
        retry_after = get("Retry-After")
        remaining = get("x-ratelimit-remaining") or get("ratelimit-remaining")
        reset = get("x-ratelimit-reset") or get("ratelimit-reset")
        if retry_after is not None:
            wait = number(retry_after)
        elif remaining == "0" and reset is not None:
            wait = (number(reset) or 0.0) - self.clock()
        elif status == 429:
            wait = 1.0
        else:
            return None  # a plain 403: permissions, not a rate limit
        if wait is None:
            return 1.0
        return max(0.0, wait) if wait <= MAX_RATE_LIMIT_WAIT else float("inf")


def number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read(100_000) or b"null")
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else "no message"
    message = data.get("message") if isinstance(data, dict) else None
    if message is None and isinstance(data, dict):
        message = data.get("error")
    return " ".join(str(message).split())[:300] if message else "no message"


def as_int(value: Any) -> int | None:
    """An integer id from a reply, or None (booleans are not ids)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
