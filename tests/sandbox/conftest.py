"""Fixtures for the sandbox tests: these run the real Deno + Pyodide runtime (fetched once into the user cache)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from repo_auditor.sandbox import DenoInterpreter, ensure_runtime


class FileNotInRepositoryError(Exception):
    """Stands in for a repository tool's own error class: the sandbox must reproduce its name and message."""


def read_file(path: str, start: int = 1, end: int | None = None, *, encoding: str = "utf-8") -> dict[str, Any]:
    """Read ``path`` from line ``start`` to ``end``; echoes its arguments so tests can see how they arrived."""
    if path == "missing.py":
        raise FileNotInRepositoryError("no file missing.py; did you mean mising.py?")
    return {"path": path, "start": start, "end": end, "encoding": encoding}


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return what was passed."""
    return {"args": list(args), "kwargs": kwargs}


def odd_values() -> dict[str, Any]:
    """Values JSON cannot carry as they are."""
    return {"set": {3, 1, 2}, "tuple": (1, "a"), "big": 2**200, "nan": float("nan"), "obj": object(), 5: "int key",
            "bytes": b"caf\xc3\xa9"}


def fail_value(message: str) -> None:
    """Raise ValueError(message)."""
    raise ValueError(message)


TOOLS = {"read_file": read_file, "echo": echo, "odd_values": odd_values, "fail_value": fail_value}


@pytest.fixture()
def tools() -> dict[str, Any]:
    """The test tools by name, for tests that build their own interpreter."""
    return dict(TOOLS)


@pytest.fixture(scope="session")
def runtime_ready() -> None:
    ensure_runtime(fetch=True)


@pytest.fixture(scope="module")
def interp(runtime_ready: None) -> Iterator[DenoInterpreter]:
    """One interpreter shared by a module's tests where state does not matter (each test uses its own names)."""
    with DenoInterpreter(tools=TOOLS, variables={"context": "the context", "meta": {"files": 3}}, timeout=30) as it:
        it.start()
        yield it
