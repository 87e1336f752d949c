"""The parsing worker: its wire protocol, and what happens when a worker process dies."""

from __future__ import annotations

import io
import json
import selectors

import pytest

from repo_auditor.errors import ToolError
from repo_auditor.parsing.worker import Worker, encode_request, run_pool, serve


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


def _replies(worker: Worker, count: int = 1, *, all_answered: bool = False) -> list:
    """Wait for ``count`` replies to what was sent (or until no batch is in flight), writing the rest of the
    requests as the pipe takes them."""
    replies: list = []
    with selectors.DefaultSelector() as selector:
        selector.register(worker.stdout, selectors.EVENT_READ)
        while worker.in_flight if all_answered else len(replies) < count:
            worker.flush()
            selector.select(timeout=0.05)
            replies += worker.receive()
    return replies


def test_a_real_worker_process_round_trip() -> None:
    worker = Worker()
    try:
        worker.send([("k", "python", b"class A:\n    def m(self):\n        pass\n")])
        assert _replies(worker) == [
            [("k", [["A", "A", "class", 1, 3], ["m", "A.m", "method", 2, 3]])]
        ]
        assert worker.pending == 0
    finally:
        worker.close()
    assert worker.process.returncode == 0


def test_a_big_batch_does_not_block_on_a_full_pipe() -> None:
    """Requests and replies far bigger than a pipe's buffer, two batches queued at once."""
    source = b"".join(b"def f%d():\n    pass\n" % i for i in range(20_000))
    worker = Worker()
    try:
        worker.send([("a", "python", source)])
        worker.send([("b", "python", source)])
        replies = _replies(worker, 2)
        assert [reply[0][0] for reply in replies] == ["a", "b"]
        assert len(replies[1][0][1]) == 20_000
    finally:
        worker.close()


def test_a_batch_taken_back_is_not_answered_twice() -> None:
    worker = Worker()
    try:
        for key in ("a", "b", "c"):
            worker.send([(key, "python", b"def %s(): pass\n" % key.encode())])
        assert worker.take_back() == [("c", "python", b"def c(): pass\n")]
        assert worker.take_back() == [("b", "python", b"def b(): pass\n")]
        assert worker.take_back() is None  # the first one is the worker's
        replies = _replies(worker, all_answered=True)  # the worker still answers b and c; those replies are dropped
        assert [reply[0][0] for reply in replies] == ["a"]
        assert worker.pending == 0
    finally:
        worker.close()


def test_the_pool_parses_here_and_in_workers_alike() -> None:
    jobs = [(f"k{i}", "python", b"def f%d(): pass\n" % i) for i in range(12)]
    replies = list(run_pool("definitions", ([job] for job in jobs), workers=2))
    got = sorted((key, [list(d) for d in found]) for reply in replies for key, found in reply)
    assert got == sorted((f"k{i}", [[f"f{i}", f"f{i}", "function", 1, 1]]) for i in range(12))


def test_a_dead_worker_is_a_tool_error_that_names_the_way_out() -> None:
    worker = Worker()
    worker.process.kill()
    worker.process.wait()
    try:
        with pytest.raises(ToolError, match="workers=1"):
            worker.send([("k", "python", b"def f(): pass\n")])
            _replies(worker)
    finally:
        worker.close()
