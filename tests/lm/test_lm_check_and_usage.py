"""LM.check() for the doctor command (no model call), Usage arithmetic, and LM shared between threads."""

from __future__ import annotations

import threading

import pytest

from repo_auditor.rlm.lm import LM, Completion, Usage
from tests.support.openai_server import Reply


def test_check_reports_a_missing_key_for_a_known_priced_model(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    check = LM("openai/gpt-4o").check()
    assert (check.provider, check.priced, check.missing_env_vars) == ("openai", True, ("OPENAI_API_KEY",))
    assert not check.ok
    assert check.problems == ("openai/gpt-4o: no API key; set OPENAI_API_KEY or pass api_key",)


def test_check_passes_with_the_key_in_the_environment_or_given(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert LM("anthropic/claude-sonnet-4-5").check().ok
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    assert LM("anthropic/claude-sonnet-4-5", api_key="sk-ant-test").check().ok


def test_check_flags_a_model_without_provider_and_unknown_prices():
    check = LM("definitely-not-a-model").check()
    assert check.provider is None and not check.priced
    assert "litellm cannot tell the provider" in check.problems[0]
    assert not LM("openai/x", api_key="k").check().priced
    assert LM("openai/x", api_key="k", input_cost_per_token=0, output_cost_per_token=0).check().priced


def test_usage_adds_merges_and_serialises():
    usage = Usage()
    usage.add(Completion("a", "m", prompt_tokens=10, completion_tokens=2, cached_tokens=4, cost=0.5))
    usage.add(Completion("b", "m", prompt_tokens=1, completion_tokens=1, cost=None))
    other = Usage(
        calls=1, prompt_tokens=5, completion_tokens=5, cached_tokens=0, cost=0.25, unknown_cost_calls=2
    )
    usage.merge(other)
    assert usage.to_dict() == {
        "calls": 3,
        "prompt_tokens": 16,
        "completion_tokens": 8,
        "cached_tokens": 4,
        "cost": 0.75,
        "unknown_cost_calls": 3,
    }
    assert usage.total_tokens == 24


def test_one_lm_shared_by_threads_counts_every_call(make_lm, openai_server):
    openai_server.enqueue(
        *[Reply(f"r{i}", prompt_tokens=10, completion_tokens=1, delay=0.05) for i in range(8)]
    )
    lm = make_lm(input_cost_per_token=0.001, output_cost_per_token=0.01)
    texts: list[str] = []
    threads = [threading.Thread(target=lambda: texts.append(lm("q"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(texts) == sorted(f"r{i}" for i in range(8))
    assert (lm.usage.calls, lm.usage.prompt_tokens, lm.usage.completion_tokens) == (8, 80, 8)
    assert lm.usage.cost == pytest.approx(8 * 0.02)
