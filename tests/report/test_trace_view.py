"""The run viewer: traces -> runs and turns, the page's escaping, ``audit-repo trace view``, and the page in a real
headless Chromium (turns render, a child run expands, no console errors, a 5,000-event trace opens quickly)."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_auditor.cli import main
from repo_auditor.errors import ConfigurationError
from repo_auditor.report.trace_view import (
    budget_chart,
    build_view,
    read_trace,
    render_trace_view,
    write_trace_view,
)
from repo_auditor.rlm import RLM
from repo_auditor.rlm.trace import TraceWriter, append_record
from tests.rlm.fakes import FakeInterpreter
from tests.support.browser import CHROMIUM, Chromium
from tests.support.scripted_lm import ScriptedLM, code_reply

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "</script><script>alert('x')</script><img src=x onerror=alert(1)>"


def tree_trace(path: Path) -> Path:
    """A real depth-2 run (scripted models, in-process interpreter) plus the findings record a job appends."""
    root = ScriptedLM([
        code_reply("print(read_file('app/db.py'))", "Read the database module first."),
        code_reply("notes = rlm_query_batched(['Where is SQL built from input?', "
                   f"{{'prompt': 'Check callers ' + {HOSTILE!r}, 'name': 'find_user'}}])\nprint(notes)",
                   "Hand the two questions to child runs."),
        code_reply("SUBMIT(answer='find_user formats SQL: ' + notes[0])", "Done."),
    ], cost=0.0012)
    child = ScriptedLM([lambda m: code_reply("hits = grep('execute')\nprint(hits)", "Search for queries."),
                        lambda m: code_reply("SUBMIT(answer='app/db.py:9 ' + llm_query('judge: ' + hits))")] * 2,
                       model="scripted/child", cost=0.0008)
    sub = ScriptedLM(["unsafe"] * 2, model="scripted/sub", cost=0.0001)
    tools = {"read_file": lambda path: f"def find_user(name):\n    return db.execute('%s' % name)  # {path}",
             "grep": lambda pattern: f"app/db.py:9: db.execute(...)  # {pattern}"}
    RLM("repo_tree, question -> answer", lm=root, child_lms=[child], sub_lm=sub, max_depth=2, tools=tools,
        interpreter_factory=FakeInterpreter, max_child_workers=1, trace=str(path))(repo_tree="app/db.py", question="q")
    append_record(path, "findings", job="audit", answer="find_user formats SQL", findings=[
        {"title": "SQL injection in find_user", "severity": "high", "location": {"path": "app/db.py", "line": 9},
         "verified": True, "verification_note": None, "explanation": "name is formatted into the query"},
        {"title": f"Invented {HOSTILE}", "severity": "critical", "location": {"path": "app/web.py", "line": 3},
         "verified": False, "verification_note": "evidence not found in app/web.py", "explanation": ""}])
    return path


def big_trace(path: Path, events: int = 5_000) -> Path:
    """A synthetic trace of ``events`` records: a root run whose turns call tools, sub-models and child runs."""
    writer = TraceWriter(path)
    count, turn, children = 0, 0, 0

    def write(trace: TraceWriter, kind: str, **data: object) -> None:
        nonlocal count
        trace.write(kind, **data)
        count += 1

    write(writer, "run_start", signature="context -> answer", model="m", inputs={}, limits={})
    while count < events - 2:
        turn += 1
        write(writer, "request", iteration=turn, purpose="turn", model="m", messages=[])
        write(writer, "reply", iteration=turn, text=code_reply(f"x{turn} = grep('needle {turn}')", "x" * 300),
              prompt_tokens=1000 + turn, completion_tokens=50, cost=0.001, duration=0.1, finish_reason="stop")
        write(writer, "tool_call", name="grep", args=[f"'needle {turn}'"], kwargs={}, result="a.py:1: " * 40,
              duration=0.01)
        write(writer, "sub_call", model="s", prompt="p" * 200, text="t" * 200, prompt_tokens=60,
              completion_tokens=10, cost=0.0001, duration=0.2)
        if turn % 25 == 0:
            children += 1
            child = writer.child(children)
            write(child, "run_start", signature="prompt -> answer", model="m", inputs={}, limits={})
            for i in range(1, 6):
                write(child, "request", iteration=i, purpose="turn", model="m", messages=[])
                write(child, "reply", iteration=i, text=code_reply(f"y = {i}"), prompt_tokens=500,
                      completion_tokens=20, cost=0.0005, duration=0.1, finish_reason="stop")
                write(child, "execution", iteration=i, code=f"y = {i}", output="", value=None, error=None,
                      error_type=None, submit=None, state_lost=False, notes=[], duration=0.01)
            write(child, "run_end", finished_by="max_iterations", extracted=True, outputs={"answer": "a"},
                  usage={}, duration=1.0)
            write(writer, "child_run", child_id=child.position["run_id"], prompt="sub-task", variables=[],
                  model="m", answer="a", usage={}, duration=1.0)
        write(writer, "execution", iteration=turn, code=f"x{turn} = grep('needle {turn}')", output="o" * 500,
              value=None, error=None, error_type=None, submit=None, state_lost=False, notes=[], duration=0.01)
    write(writer, "run_end", finished_by="submit", extracted=False, outputs={"answer": "done"}, usage={
        "calls": turn, "prompt_tokens": 1, "completion_tokens": 1, "cost": 1.0}, duration=60.0)
    writer.close()
    return path


# ----------------------------------------------------------------------------------------------- the data


def test_runs_turns_and_calls_are_grouped_by_position(tmp_path):
    records, skipped = read_trace(tree_trace(tmp_path / "run.jsonl"))
    view = build_view(records, skipped_lines=skipped)
    [root_id] = view.roots
    root = view.runs[root_id]
    assert root["children"] == [f"{root_id}.1", f"{root_id}.2"] and root["finished_by"] == "submit"
    assert [t["i"] for t in root["turns"]] == [1, 2, 3]
    first, second = root["turns"][0], root["turns"][1]
    assert first["reasoning"] == "Read the database module first." and first["code"] == "print(read_file('app/db.py'))"
    assert [c["kind"] for c in first["calls"]] == ["tool"] and "find_user" in first["output"]
    assert [c["kind"] for c in second["calls"]] == ["child", "child"]
    child = view.runs[f"{root_id}.1"]
    assert child["depth"] == 2 and child["task"] == "Where is SQL built from input?"
    assert [c["kind"] for t in child["turns"] for c in t["calls"]] == ["tool", "sub"]
    assert view.findings[root_id][0]["items"][0]["where"] == "app/db.py:9"
    assert view.series[root_id][-1][3] == 2  # two sub-calls over the tree
    assert view.series[root_id][-1][2] == pytest.approx(3 * 0.0012 + 4 * 0.0008 + 2 * 0.0001)


def test_traces_without_positions_and_with_a_torn_last_line(tmp_path):
    lines = [{"t": 0, "kind": "run_start", "signature": "a -> b"}, {"t": 1, "kind": "request", "iteration": 1},
             {"t": 2, "kind": "reply", "iteration": 1, "text": code_reply("x = 1")},
             {"t": 3, "kind": "run_start", "signature": "c -> d"}]
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + '\n{"t": 4, "kind": "requ')
    records, skipped = read_trace(path)
    view = build_view(records, skipped_lines=skipped)
    assert skipped == 1 and view.roots == ["run-1", "run-2"]
    assert view.runs["run-1"]["turns"][0]["code"] == "x = 1"


@pytest.mark.parametrize("content, message", [
    (None, "no trace at"),
    ("", "holds no trace records"),
    ("not json\n[1, 2]\n", "holds no trace records"),
])
def test_unreadable_traces_are_named(tmp_path, content, message):
    path = tmp_path / "t.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        read_trace(path)


def test_the_page_escapes_everything_from_the_trace(tmp_path):
    html = render_trace_view(build_view(read_trace(tree_trace(tmp_path / "run.jsonl"))[0]))
    assert HOSTILE not in html and "<img src=x" not in html
    assert html.count("<script") == 2  # the data block and the page's own script, nothing from the trace
    assert "&lt;/script&gt;&lt;script&gt;alert" in html  # the finding title, escaped by jinja2
    data = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', html, re.S).group(1)
    assert "Check callers </script>" in json.dumps(json.loads(data))  # intact once parsed
    assert "innerHTML" not in html and "http://" not in html.replace("http://www.w3.org", "")


def test_budget_chart_scales_each_line():
    chart = budget_chart([(1.0, 100, 0.01, 0), (2.0, 300, 0.02, 2)])
    assert chart["tokens"].split()[-1] == "640.0,4.0" and chart["calls_max"] == 2
    assert budget_chart([]) == {"empty": True}


def test_trace_view_command(tmp_path):
    trace = tree_trace(tmp_path / "run.jsonl")
    result = CliRunner().invoke(main, ["trace", "view", str(trace)])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "run.html").is_file() and "3 run(s)" in result.stderr
    missing = CliRunner().invoke(main, ["trace", "view", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1 and missing.stderr.strip().splitlines() == [
        f"Error: no trace at {tmp_path / 'none.jsonl'}; write one with --trace {tmp_path / 'none.jsonl'}"]


# ----------------------------------------------------------------------------------------------- in a browser

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: apt-get install -y chromium")


@pytest.fixture(scope="module")
def browser():
    with Chromium.launch() as chromium:
        yield chromium


@pytest.mark.slow
@needs_chromium
def test_the_page_in_a_real_browser(tmp_path, browser):
    page_path, view = write_trace_view(tree_trace(tmp_path / "run.jsonl"), tmp_path / "run.html")
    root_id = view.roots[0]
    page = browser.open(page_path.as_uri())
    try:
        assert page.evaluate("document.body.dataset.ready") == "1"
        turns = page.evaluate("[...document.querySelectorAll('.mount > details.run > .turns > .page > details.turn > summary')]"
                              ".map(s => s.textContent)")
        assert [t.split(" ")[0] + " " + t.split(" ")[1][:1] for t in turns] == ["turn 1", "turn 2", "turn 3"]
        assert "1 child run" not in turns[1] and "2 child run(s)" in turns[1]
        assert page.evaluate("document.querySelector('table.findings').textContent").count("SQL injection") == 1
        assert page.evaluate("document.querySelectorAll('polyline').length") == 3
        page.click(".mount details.turn:nth-of-type(2) > summary")  # open turn 2: its child runs appear
        child = f'details.run[data-run="{root_id}.1"]'
        assert page.wait_for(f"document.querySelector('{child}') && !document.querySelector('{child}').open")
        page.click(f"{child} > summary")  # expand the child run
        assert page.wait_for(f"document.querySelectorAll('{child} details.turn').length") == 2
        page.click(f"{child} details.turn > summary")
        text = page.wait_for(f"document.querySelector('{child} details.turn pre') && "
                             f"document.querySelector('{child}').textContent")
        assert "Where is SQL built from input?" in text and "hits = grep('execute')" in text
        assert page.evaluate("document.title") == "Trace: run.jsonl"
        assert page.evaluate("document.querySelectorAll('img').length") == 0  # the hostile <img> stayed text
        shot = page.screenshot(tmp_path / "trace-viewer.png")
        assert shot.stat().st_size > 10_000
        if os.environ.get("REPO_AUDITOR_UPDATE_SCREENSHOT"):
            shot.replace(ROOT / "docs" / "trace-viewer.png")
        assert page.problems == []
    finally:
        page.close()


@pytest.mark.slow
@needs_chromium
def test_a_trace_of_thousands_of_events_opens_quickly(tmp_path, browser):
    trace = big_trace(tmp_path / "big.jsonl")
    t0 = time.perf_counter()
    page_path, view = write_trace_view(trace, tmp_path / "big.html")
    build_seconds = time.perf_counter() - t0
    assert 5_000 <= view.events < 5_050
    page = browser.open(page_path.as_uri())
    try:
        assert page.evaluate("document.body.dataset.ready") == "1"
        nodes = page.evaluate("document.getElementsByTagName('*').length")
        shown = page.evaluate("document.querySelectorAll('details.turn').length")
        last_child = view.runs[view.roots[0]]["children"][-1]
        load_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        # the outline button opens the path to the latest child run: its parent's turns up to it are built then
        reveal_ms = page.evaluate(f"""(() => {{ const t0 = performance.now();
            document.querySelector('button[data-reveal="{last_child}"]').click();
            return performance.now() - t0; }})()""")
        assert page.evaluate(f"document.querySelector('details.run[data-run=\"{last_child}\"]').open") is True
        print(f"\n5,000 events: page {page_path.stat().st_size / 1e6:.2f} MB written in {build_seconds:.2f} s; "
              f"in Chromium loaded in {load_ms:.0f} ms with {nodes} elements ({shown} turn summaries); "
              f"latest child run revealed in {reveal_ms:.0f} ms")
        assert shown == 50  # one page of turns; the rest behind a button
        assert nodes < 3_000 and load_ms < 5_000 and reveal_ms < 2_000
        assert page.problems == []
    finally:
        page.close()
