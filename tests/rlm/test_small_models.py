"""The loop's answers to small-model habits (issue 18): guessed output, repeated code, input names as paths, and a
cap on each reply. The replies are modelled on Qwen2.5-Coder-1.5B transcripts on fixtures/audit_repo."""

from __future__ import annotations

from repo_auditor.rlm import RLM
from repo_auditor.rlm.loop import DEFAULT_MAX_REPLY_TOKENS
from repo_auditor.rlm.repeats import REPEAT_NUDGE, REPEATED_CODE
from repo_auditor.rlm.reply import OUTPUT_GUESS_NOTE
from tests.rlm.fakes import FakeInterpreter
from tests.support.scripted_lm import ScriptedLM, code_reply

FENCE = "```"
SIG = "repo_tree, question -> answer"


def grep(pattern: str, path: str = ".") -> str:
    """Search (test double)."""
    return f"app/db.py:12: match for {pattern} in {path}"


def run(replies, **kwargs):
    lm = ScriptedLM(replies)
    interpreter = FakeInterpreter()
    rlm = RLM(SIG, lm=lm, interpreter=interpreter, tools=[grep], **kwargs)
    return rlm(repo_tree="app/db.py (12 lines)", question="Where is SQL built from input?"), lm, interpreter


def test_guessed_output_is_not_run_and_the_model_is_told():
    reply = (f"Search first.\n{FENCE}python\nprint(grep('execute', path='app'))\n{FENCE}\nThe output is:\n"
             f"{FENCE}\napp/db.py:12: cursor.execute(q)\n{FENCE}")
    result, lm, interpreter = run([reply, code_reply("SUBMIT(answer='app/db.py:12')")])
    assert result.answer == "app/db.py:12"
    assert interpreter.executed[0] == "print(grep('execute', path='app'))"
    observation = lm.requests[1][-1]["content"]
    assert "match for execute in app" in observation and OUTPUT_GUESS_NOTE in observation


def test_repeated_code_gets_a_nudge_then_stops_the_run_and_extracts():
    same = code_reply("print(grep('sql'))")
    result, lm, interpreter = run([same, same, same, '{"answer": "not sure: app/db.py:12"}'], max_iterations=10)
    assert (result.finished_by, result.extracted, result.answer) == (REPEATED_CODE, True, "not sure: app/db.py:12")
    assert interpreter.executed == ["print(grep('sql'))"]  # the repeats did not run
    assert REPEAT_NUDGE in lm.requests[2][-1]["content"]
    assert "same code 3 turns in a row" in lm.requests[3][-1]["content"]  # the extract prompt says why
    assert [s.error for s in result.trajectory] == [None, REPEATED_CODE, REPEATED_CODE]


def test_different_code_between_repeats_resets_the_count():
    a, b = code_reply("print(grep('a'))"), code_reply("print(grep('b'))")
    result, _, interpreter = run([a, a, b, a, code_reply("SUBMIT(answer='x')")])
    assert result.finished_by == "submit" and len(interpreter.executed) == 4


def test_an_input_name_passed_as_a_path_is_refused_with_a_clear_error():
    result, lm, _ = run([code_reply("print(grep(r'sql.*user', path='repo_tree'))"),
                         code_reply("SUBMIT(answer='none')")])
    observation = lm.requests[1][-1]["content"]
    assert "ToolError" in observation and "name of the input variable `repo_tree`" in observation
    assert "print(repo_tree[:1000])" in observation


def test_the_system_prompt_says_inputs_are_not_paths():
    _, lm, _ = run([code_reply("SUBMIT(answer='x')")])
    assert "never pass an input's name as a string" in lm.requests[0][0]["content"]


def test_each_reply_is_capped():
    _, lm, _ = run([code_reply("SUBMIT(answer='x')")])
    assert lm.overrides == [{"max_tokens": DEFAULT_MAX_REPLY_TOKENS}]
    _, lm, _ = run([code_reply("SUBMIT(answer='x')")], max_reply_tokens=None)
    assert lm.overrides == [{}]
    _, lm, _ = run([code_reply("SUBMIT(answer='x')")], max_reply_tokens=512)
    assert lm.overrides == [{"max_tokens": 512}]


def test_submit_written_as_text_ends_the_run():
    result, _, _ = run(["I am done.\n\nSUBMIT(answer='app/db.py:12 builds SQL with %')"])
    assert (result.finished_by, result.answer) == ("submit", "app/db.py:12 builds SQL with %")


def test_the_config_default_is_the_engine_default():
    from repo_auditor.config.schema import SETTINGS_BY_KEY

    assert SETTINGS_BY_KEY["max_reply_tokens"].default == DEFAULT_MAX_REPLY_TOKENS


def test_a_model_whose_complete_takes_only_messages_still_works():
    class Plain:
        model = "plain/model"

        def __init__(self):
            self.inner = ScriptedLM([code_reply("SUBMIT(answer='x')")])

        def complete(self, messages):
            return self.inner.complete(messages)

    rlm = RLM(SIG, lm=Plain(), interpreter=FakeInterpreter(), tools=[grep])
    assert rlm(repo_tree="t", question="q").answer == "x"
