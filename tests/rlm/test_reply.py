"""How model replies become code (or a turn error), and how the extract step's answer is read. One row per case."""

from __future__ import annotations

import pytest

from repo_auditor.rlm.reply import (
    OUTPUT_GUESS_NOTE,
    ExtractError,
    extract_json_object,
    extract_outputs,
    parse_reply,
)

FENCE = "```"


@pytest.mark.parametrize(
    ("reply", "code", "problem"),
    [
        # one python block after prose
        (f"Look first.\n{FENCE}python\nprint(1)\n{FENCE}", "print(1)", None),
        # tag variants that run
        (f"{FENCE}py\nx = 1\n{FENCE}", "x = 1", None),
        (f"{FENCE}python3\nx = 1\n{FENCE}", "x = 1", None),
        (f"{FENCE}\nx = 1\n{FENCE}", "x = 1", None),
        (f"{FENCE}repl\nx = 1\n{FENCE}", "x = 1", None),
        (f"{FENCE}Python\nx = 1\n{FENCE}", "x = 1", None),
        # several blocks run in order, joined
        (f"a\n{FENCE}python\nx = 1\n{FENCE}\nthen\n{FENCE}python\nprint(x)\n{FENCE}", "x = 1\n\nprint(x)", None),
        # a non-python block is skipped, the python one runs
        (f"{FENCE}bash\nrm -rf /\n{FENCE}\n{FENCE}python\nprint(2)\n{FENCE}", "print(2)", None),
        # unclosed fence: run what is there
        (f"Start.\n{FENCE}python\nfor i in range(3):\n    print(i)", "for i in range(3):\n    print(i)", None),
        # indented block (inside a list) is dedented
        (f"1. step\n   {FENCE}python\n   print(3)\n   {FENCE}", "print(3)", None),
        # four backticks, with a triple-backtick string inside
        (f"````python\ns = '{FENCE}'\nprint(s)\n````", f"s = '{FENCE}'\nprint(s)", None),
        # a reply that is only code, without fences
        ("print(len(context))", "print(len(context))", None),
        ("SUBMIT(answer='x')", "SUBMIT(answer='x')", None),
        # <think> sections are never code
        (f"<think>maybe {FENCE}python\nbad()\n{FENCE}</think>\n{FENCE}python\ngood()\n{FENCE}", "good()", None),
        # turn errors
        ("", None, "Your reply was empty"),
        ("   \n ", None, "Your reply was empty"),
        (None, None, "Your reply was empty"),
        ("I think the answer is in the logs.", None, "had no code"),
        ("Done", None, "had no code"),
        (f"{FENCE}bash\nls\n{FENCE}", None, "had ```bash but only Python blocks are run"),
        (f"{FENCE}json\n{{\"a\": 1}}\n{FENCE}", None, "had ```json"),
        (f"{FENCE}python\n# just thinking\n{FENCE}", None, "held no statements"),
    ],
)
def test_parse_reply(reply, code, problem):
    parsed = parse_reply(reply)
    assert parsed.code == code
    if problem is None:
        assert parsed.problem is None
    else:
        assert problem in parsed.problem
        assert "```python" in parsed.problem  # the turn error shows the model what to write


# Habits of small models (Qwen2.5-Coder-1.5B on fixtures/audit_repo, issue 18): the code to run, and whether the
# model is told that a block was taken for its guess of the output.
QWEN_TURN = (f"I'll search for SQL queries that use user input.\n{FENCE}python\noutput = grep(r'sql.*user', "
             f"path='app')\nprint(output)\n{FENCE}\nThe output is:\n{FENCE}\napp/db.py:12: cursor.execute(\"SELECT * "
             f"FROM users WHERE name = '%s'\" % name)\n{FENCE}\nThis shows the query is built with string formatting.")


@pytest.mark.parametrize(
    ("reply", "code", "guess_note"),
    [
        # tagged code, then "The output is:" and an imagined result in an untagged fence: only the code runs
        (QWEN_TURN, "output = grep(r'sql.*user', path='app')\nprint(output)", True),
        # all untagged: the first block runs; the one after "The output will be:" is a guess even though it parses
        (f"{FENCE}\nprint(grep('execute'))\n{FENCE}\nThe output will be:\n{FENCE}\nprint('app/db.py')\n{FENCE}",
         "print(grep('execute'))", True),
        # all untagged, no introduction: a later block that is not runnable Python is a guess
        (f"{FENCE}\nx = grep('execute')\nprint(x)\n{FENCE}\n{FENCE}\napp/db.py:3: execute(q)\n{FENCE}",
         "x = grep('execute')\nprint(x)", True),
        # a tagged block and an untagged one: only the tagged block runs
        (f"{FENCE}python\nx = 1\n{FENCE}\n{FENCE}\n[1, 2]\n{FENCE}", "x = 1", True),
        # untagged blocks that are both code, no introduction: both run, as before
        (f"{FENCE}\nx = 1\n{FENCE}\nthen\n{FENCE}\nprint(x)\n{FENCE}", "x = 1\n\nprint(x)", False),
        # SUBMIT written as text, outside any block
        ("I found the injection.\n\nSUBMIT(answer='SQL built with % in app/db.py:12', findings=[])",
         "SUBMIT(answer='SQL built with % in app/db.py:12', findings=[])", False),
        ("The final answer: SUBMIT(answer=answer, findings=findings) as computed above.",
         "SUBMIT(answer=answer, findings=findings)", False),
    ],
)
def test_small_model_habits(reply, code, guess_note):
    parsed = parse_reply(reply)
    assert parsed.problem is None
    assert parsed.code == code
    assert (OUTPUT_GUESS_NOTE in parsed.notes) is guess_note


def test_prose_only_reply_gets_a_short_nudge():
    parsed = parse_reply("The SQL query in app/db.py looks unsafe because it uses string formatting.")
    assert parsed.code is None
    assert "no code" in parsed.problem and "SUBMIT" in parsed.problem and len(parsed.problem) < 300


def test_reasoning_keeps_prose_and_thoughts_but_not_code():
    parsed = parse_reply(f"<think>hmm</think>First I count.\n{FENCE}python\nprint(1)\n{FENCE}\nThen more.")
    assert parsed.reasoning == "hmm\n\nFirst I count.\n\nThen more."


def test_unclosed_fence_is_flagged():
    assert parse_reply(f"{FENCE}python\nprint(1)").unclosed is True
    assert parse_reply(f"{FENCE}python\nprint(1)\n{FENCE}").unclosed is False


def test_syntax_error_is_left_for_the_sandbox_to_report():
    assert parse_reply(f"{FENCE}python\nprint(\n{FENCE}").code == "print("


NAMES = ["answer", "count"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"answer": "x", "count": 2}', ([], {"answer": "x", "count": 2})),
        (f'Here:\n{FENCE}json\n{{"answer": "x", "count": 2}}\n{FENCE}', ([], {"answer": "x", "count": 2})),
        ('My answer is {"answer": "a {b} c", "count": 1} as asked.', ([], {"answer": "a {b} c", "count": 1})),
        ('ignore {"other": 1} then {"answer": "y"}', ([], {"answer": "y"})),
        ("SUBMIT(answer='x (y)', count=3)", ([], {"answer": "x (y)", "count": 3})),
        (f"{FENCE}python\nSUBMIT('x', 3)\n{FENCE}", (["x", 3], {})),
        # near-JSON with Python literals (the 1.5B model's extract reply, issue 18)
        ("{'answer': 'SQL injection in app/db.py:12', 'count': None}",
         ([], {"answer": "SQL injection in app/db.py:12", "count": None})),
        (f"Final answer:\n{FENCE}json\n{{\"answer\": \"x\", \"count\": None, \"ok\": True}}\n{FENCE}",
         ([], {"answer": "x", "count": None, "ok": True})),
        ("Here it is: {'answer': \"it's {here}\", 'count': 1, 'seen': [True, False, null]} and more text.",
         ([], {"answer": "it's {here}", "count": 1, "seen": [True, False, None]})),
    ],
)
def test_extract_outputs(reply, expected):
    assert extract_outputs(reply, NAMES) == expected


# The 1.5B model's direct answer on fixtures/audit_repo (2026-12-02, tools/eval): right answer, right line, but the
# quoted code's inner quote left unescaped, so it was not JSON.
QWEN_DIRECT_REPLY = (
    f'{FENCE}json\n{{\n  "answer": "The user input is passed to SQL without parameters in `find_user` (app/db.py:9).",'
    '\n  "findings": [\n    {\n      "title": "SQL Injection Risk",\n      "severity": "high",\n'
    '      "path": "app/db.py:9",\n      "line": "9",\n'
    '      "evidence": "query = \\"SELECT * FROM users WHERE name = \'%s\'" % name",\n'
    f'      "explanation": "name is inserted into the query."\n    }}\n  ]\n}}\n{FENCE}'
)


@pytest.mark.parametrize(("reply", "evidence"), [
    (QWEN_DIRECT_REPLY, "query = \"SELECT * FROM users WHERE name = '%s'\" % name"),
    ('{"answer": "a", "findings": [{"evidence": "say "hi" to them", "line": 1}]}', 'say "hi" to them'),
    ('{"answer": "a", "findings": [{"evidence": "x = 1", // copied exactly\n "line": 1}]}', "x = 1"),
    # a quote before "]" or "}" ends a string only inside an array or object: args["name"] in prose
    ('{"findings": [{"explanation": "uses args["name"] as is", "evidence": "q % n"}]}', "q % n"),
    ('{"findings": [{"evidence": "d["k"]", "line": 2}]}', 'd["k"]'),
])
def test_json_with_an_unescaped_quote_inside_a_string_is_read(reply, evidence):
    data = extract_json_object(reply)
    assert data["findings"][0]["evidence"] == evidence


# Another direct answer of the same model (2026-12-02, tools/eval): evidence as a list holding the code unquoted
# after its inner quote, and an explanation quoting request.args["name"].
QWEN_LIST_REPLY = (
    f'{FENCE}json\n{{\n  "answer": "The SQL query in `app/web.py` is hardcoded.",\n  "findings": [\n    {{\n'
    '      "title": "SQL Injection Potential",\n      "severity": "high",\n      "path": "app/web.py:6",\n'
    '      "line": "7",\n      "end_line": "8",\n'
    '      "evidence": ["SELECT * FROM users WHERE name = \'%s\'" % name],\n'
    '      "explanation": "The query is directly inserting the value of `request.args["name"]` into the query."\n'
    f'    }}\n  ]\n}}\n{FENCE}'
)


def test_a_string_left_open_at_the_end_of_its_line_is_closed_there():
    [finding] = extract_json_object(QWEN_LIST_REPLY)["findings"]
    assert finding["evidence"] == ["SELECT * FROM users WHERE name = '%s'\" % name"]
    assert finding["explanation"] == 'The query is directly inserting the value of `request.args["name"]` into the query.'


@pytest.mark.parametrize("reply", ["no idea", '{"unrelated": 1}', "SUBMIT(answer=compute())", ""])
def test_extract_outputs_fails_clearly(reply):
    with pytest.raises(ExtractError, match="neither a JSON object"):
        extract_outputs(reply, NAMES)


# More direct answers of the 1.5B model (2026-12-02, tools/eval/transcripts, the run named in each row). Before the
# fix each lost its findings: an inner object (the one finding) parsed alone and was taken for the answer; a quote
# before ", (order_id,)" or before "] value" was taken for the end of its string.
@pytest.mark.parametrize(("reply", "answer_start", "evidence"), [
    ('```json\n{\n  "answer": "The SQL query in `app/web.py` is executed without any parameters, which can lead to SQL injection vulnerabilities. The vulnerable line is `return find_user(conn, request.args["name"])`.",\n  "findings": [\n    {\n      "title": "SQL Injection",\n      "severity": "high",\n      "path": "app/web.py",\n      "line": 6,\n      "end_line": 6,\n      "evidence": "conn.execute(\\"SELECT * FROM users WHERE name = \'%s\'\\" % name)",\n      "explanation": "The `find_user` function executes a SQL query directly with the user input passed as a string without any parameterization. This can be exploited by an attacker to inject malicious SQL code."\n    }\n  ]\n}\n```',  # fixture-sql-1.5b-direct-cot-...-run6
     "The SQL query in `app/web.py` is executed", "conn.execute(\"SELECT * FROM users WHERE name = '%s'\" % name)"),
    ('```json\n{\n  "answer": "The SQL query in `app/web.py` line 6 is executed without any parameters, allowing for SQL injection attacks.",\n  "findings": [\n    {\n      "title": "SQL Injection Risk",\n      "severity": "high",\n      "path": "app/web.py:6",\n      "line": "6",\n      "end_line": "6",\n      "evidence": "conn.execute(\\"SELECT * FROM orders WHERE id = ?", (order_id,)).fetchall()",\n      "explanation": "The query is executed with a parameterized query, which helps prevent SQL injection by safely passing the input to the database."\n    }\n  ]\n}\n```',  # ...-cot-...-run1
     "The SQL query in `app/web.py` line 6", 'conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchall()'),
    ('```json\n{\n  "answer": "The user input is passed to SQL without parameters in the `handle` function of `app/web.py`, where the `request.args["name"]` is directly inserted into the SQL query without proper parameterization.",\n  "findings": [\n    {\n      "title": "SQL Injection Risk",\n      "severity": "high",\n      "path": "app/web.py:4",\n      "line": "return find_user(conn, request.args[\'name\'])",\n      "end_line": "return find_user(conn, request.args[\'name\'])",\n      "evidence": [\n        "The `request.args["name"]` value is directly inserted into the SQL query without any parameterization. This makes it susceptible to SQL injection attacks.",\n        "The query string is constructed using string formatting, which can lead to SQL injection if the input is not properly sanitized."\n      ],\n      "explanation": "This finding indicates that the SQL query is vulnerable to SQL injection attacks because the user input is not passed as a parameter. An attacker could manipulate the `request.args["name"]` value to execute arbitrary SQL commands on the database, potentially leading to data theft or other malicious actions."\n    }\n  ]\n}\n```',  # ...-1sample-quiet-...-run8
     "The user input is passed to SQL", None),
])
def test_small_model_answers_keep_their_outer_object_and_whole_strings(reply, answer_start, evidence):
    data = extract_json_object(reply)
    assert data["answer"].startswith(answer_start)
    [finding] = data["findings"]
    if evidence is not None:
        assert finding["evidence"] == evidence
    else:  # a list of two prose strings quoting request.args["name"]
        assert len(finding["evidence"]) == 2 and 'request.args["name"]` value' in finding["evidence"][0]


@pytest.mark.parametrize(("reply", "expected"), [
    ('{"a": "x", "b": 1}', {"a": "x", "b": 1}),
    ('{"a": ["x", 2, true, {"c": null}], "b": "y"}', {"a": ["x", 2, True, {"c": None}], "b": "y"}),
    ('{"a": "f("q", (1,))", "b": "k"}', {"a": 'f("q", (1,))', "b": "k"}),
    ('{"a": ["say "hi"] now", "z"]}', {"a": ['say "hi"] now', "z"]}),
    # what follows a quote is read past any run of whitespace, not within a window
    ('{"a": "say "hi"' + " " * 300 + 'there", "b": 1}', {"a": 'say "hi"' + " " * 300 + "there", "b": 1}),
])
def test_stray_quote_repair_leaves_json_alone_and_reads_the_inner_quotes(reply, expected):
    assert extract_json_object(reply) == expected
