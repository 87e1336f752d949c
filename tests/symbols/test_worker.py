"""The parsing worker: its wire protocol, and what happens when a worker process dies."""

from __future__ import annotations

import io
import json

import pytest

from repo_auditor.errors import ToolError
from repo_auditor.parsing.worker import Worker, encode_request, serve


def test_serve_answers_each_batch_in_order() -> None:
    batches = [
        [("k1", "python", b"def f():\n    pass\n"), ("k2", "go", b"package p\nfunc G() {}\n")],
        [("k3", "rust", b"")],
    ]
    stdout = io.BytesIO()
    serve(io.BytesIO(b"".join(encode_request(batch) for batch in batches)), stdout)
    replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert replies == [
        [["k1", [["f", "f", "function", 1, 2]]], ["k2", [["G", "G", "function", 2, 2]]]],
        [["k3", []]],
    ]


def test_sources_with_newlines_and_binary_bytes_keep_their_boundaries() -> None:
    tricky = b"\n\n\xff\xfe\x00[[\n" + b"def after_garbage(): pass\n"
    stdout = io.BytesIO()
    serve(io.BytesIO(encode_request([("a", "python", tricky), ("b", "python", b"class B: pass\n")])), stdout)
    (reply,) = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [key for key, _ in reply] == ["a", "b"]
    assert reply[1][1] == [["B", "B", "class", 1, 1]]


def test_a_real_worker_process_round_trip() -> None:
    worker = Worker()
    try:
        worker.send([("k", "python", b"class A:\n    def m(self):\n        pass\n")])
        assert worker.receive() == [("k", [["A", "A", "class", 1, 3], ["m", "A.m", "method", 2, 3]])]
    finally:
        worker.close()
    assert worker.process.returncode == 0


def test_a_dead_worker_is_a_tool_error_that_names_the_way_out() -> None:
    worker = Worker()
    worker.process.kill()
    worker.process.wait()
    try:
        with pytest.raises(ToolError, match="workers=1"):
            worker.send([("k", "python", b"def f(): pass\n")])
            worker.receive()
    finally:
        worker.close()
