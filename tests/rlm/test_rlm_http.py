"""The RLM through the real LM adapter and litellm, against the fake OpenAI-compatible server (no real provider)."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest

from repo_auditor.errors import LMResponseError
from repo_auditor.rlm import RLM
from repo_auditor.rlm.lm import LM
from tests.rlm.fakes import FakeInterpreter
from tests.support.openai_server import Fault, OpenAIServer, Reply
from tests.support.scripted_lm import code_reply

KEY = "sk-test-rlm-0123456789"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def lm_on(server: OpenAIServer, model: str = "openai/root", **options) -> LM:
    settings = {"api_base": server.url, "api_key": KEY, "timeout": 5.0, "sleep": lambda seconds: None,
                "num_retries": 2}
    settings.update(options)
    return LM(model, **settings)


def test_run_survives_429_500_and_a_malformed_sub_call(server):
    server.enqueue(
        Fault.rate_limited(retry_after=0), code_reply("print(len(context))"),       # root turn 1 (one retry)
        Fault.server_error(503), code_reply("a = llm_query('sum it')\nprint(a)"),  # root turn 2 (one retry)
        Fault.malformed(),                                                          # the sub-call: fails
        code_reply("SUBMIT(answer='sub said: ' + a[:16])"),                        # root turn 3
    )
    rlm = RLM("context, query -> answer", lm=lm_on(server), sub_lm=lm_on(server, "openai/sub", num_retries=0),
              interpreter=FakeInterpreter())
    result = rlm(context="x" * 5000, query="q")
    assert result.answer == "sub said: [llm_query error"
    assert result.trajectory[1].output.startswith("[llm_query error: LMResponseError")
    bodies = [r.body for r in server.chat_requests if r.body]
    assert [b["model"] for b in bodies] == ["root", "root", "root", "root", "sub", "root"]
    third = bodies[-1]["messages"]
    assert [m["role"] for m in third] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert third[:4] == bodies[2]["messages"]  # append-only across the HTTP boundary too
    assert result.usage.calls == 3 and result.usage.prompt_tokens > 0


def test_root_model_failure_propagates_after_retries(server):
    server.enqueue(Fault.malformed())
    rlm = RLM("context, query -> answer", lm=lm_on(server), interpreter=FakeInterpreter())
    with pytest.raises(LMResponseError):
        rlm(context="c", query="q")


def test_max_cost_from_provider_usage(server):
    server.enqueue(
        Reply(code_reply("print(1)"), prompt_tokens=400_000, completion_tokens=100),
        Reply(code_reply("print(2)"), prompt_tokens=400_000, completion_tokens=100),
        Reply('{"answer": "stopped early"}', prompt_tokens=10, completion_tokens=5),
    )
    lm = lm_on(server, input_cost_per_token=1e-6, output_cost_per_token=1e-6)
    rlm = RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter(), max_cost=0.5)
    result = rlm(context="c", query="q")
    assert (result.finished_by, result.extracted, result.answer, result.iterations) == (
        "max_cost", True, "stopped early", 2)
    assert result.usage.cost == pytest.approx(0.8002 + 0.000015)


def test_anthropic_style_cache_points_reach_the_wire(server):
    server.enqueue(code_reply("print(1)"), code_reply("SUBMIT(answer='ok')"))
    lm = lm_on(server, model="openai/claude-proxy")  # an OpenAI-compatible proxy in front of a Claude model
    RLM("context, query -> answer", lm=lm, interpreter=FakeInterpreter())(context="c", query="q")
    second = server.chat_requests[1].body["messages"]
    system_parts = second[0]["content"]
    assert isinstance(system_parts, list) and system_parts[0]["cache_control"] == {"type": "ephemeral"}
    assert second[-1]["content"][0]["cache_control"] == {"type": "ephemeral"}


DONE_WHEN_PROGRAM = '''
import repo_auditor as ra

ra.configure(lm=ra.LM("openai/gpt-4o"))
sub_lm = ra.LM("openai/gpt-4o-mini")

rlm = ra.RLM(
    "context, query -> answer",
    max_iterations=20,
    max_llm_calls=50,
    max_output_chars=10_000,
    sub_lm=sub_lm,
    tools=[],
    verbose=False,
)
result = rlm(context=open("huge_log.txt").read(), query="Summarize every unique error class and how many times each appeared.")
print(result.answer)
'''


def test_the_issue_program_runs_unchanged_against_a_local_server(server, tmp_path, monkeypatch, capsys):
    """The canonical dspy.RLM example with only the import changed; the provider URL points at the local server."""
    from repo_auditor.rlm import settings

    lines = [f"12:00:{i % 60:02d} {('TimeoutError', 'KeyError', 'INFO')[i % 3]}: event {i}" for i in range(30_000)]
    (tmp_path / "huge_log.txt").write_text("\n".join(lines))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.setenv(name, server.url)
    count = (
        "import collections\n"
        "counts = collections.Counter(l.split()[1].rstrip(':') for l in context.splitlines() if 'Error' in l)\n"
        "print(counts)\n"
    )
    explain = "notes = llm_query_batched([f'One line on {name}' for name in sorted(counts)])\nprint(notes)\n"
    server.enqueue(
        code_reply(count), code_reply(explain),
        "a sub-model note", "a sub-model note",
        code_reply("SUBMIT(answer='; '.join(f'{n}: {counts[n]}' for n in sorted(counts)))"),
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # the program's own open(...).read() leaves a file open
            exec(compile(DONE_WHEN_PROGRAM, "done_when.py", "exec"), {"__name__": "__main__"})
            gc.collect()
    finally:
        settings.reset()
    assert capsys.readouterr().out.strip() == "KeyError: 10000; TimeoutError: 10000"
    bodies = [r.body for r in server.chat_requests]
    assert [b["model"] for b in bodies] == ["gpt-4o", "gpt-4o", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]
    assert "Counter({'TimeoutError': 10000, 'KeyError': 10000})" in bodies[1]["messages"][-1]["content"]
    assert all(len(json_text) < 20_000 for json_text in (str(b["messages"]) for b in bodies))  # never the whole log
