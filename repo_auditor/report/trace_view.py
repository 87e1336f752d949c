"""A JSONL trace (``rlm/trace.py``) -> one self-contained HTML page to look at the run (``audit-repo trace view``).

The page needs no network: CSS and JavaScript are inline. What it shows, per root run in the file: the tree of runs
(child runs nested in the turn that started them), each turn's reasoning, code, output, tool calls and sub-calls, the
budget used over time (an inline SVG), and the findings with their verification when the job appended them.

Everything in a trace is untrusted (model text, tool output, file contents). The skeleton, the chart and the findings
are rendered here by jinja2 with autoescaping on; the turns travel as JSON in a ``<script type="application/json">``
(``tojson`` escapes ``<``, ``>``, ``&`` and ``'``) and the page's script builds them with ``textContent`` only, lazily:
a run's turns are built when it is opened, a long run's turns a page at a time, long texts cut with a "show all"
button. So a trace of thousands of events opens at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from repo_auditor.errors import ConfigurationError
from repo_auditor.report.render import shipped_template_dir
from repo_auditor.rlm.reply import parse_reply

TEMPLATE = "trace.html.j2"
CHART_POINTS = 400  # points per budget line: more adds bytes, not detail, at the chart's 640 px width
CHART_WIDTH, CHART_HEIGHT = 640, 140
MAX_TEXT_CHARS = 50_000  # per text in the page (outputs, replies): a trace field can hold a whole file
CALL_KINDS = {"tool_call": "tool", "sub_call": "sub", "child_run": "child"}


@dataclass
class TraceView:
    """What the page shows, built from the records of one trace file."""

    source: str
    events: int
    skipped_lines: int
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # root run id -> findings records
    series: dict[str, list[tuple[float, int, float, int]]] = field(default_factory=dict)  # root -> (t, tok, $, calls)


def read_trace(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], int]:
    """The trace's records and the number of lines that were not JSON objects (a run still writing its last line).

    Raises ConfigurationError when the file cannot be read or holds no record."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise ConfigurationError(f"no trace at {path}; write one with --trace {path}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the trace {path}: {exc.strerror}") from None
    records, skipped = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(record, dict) and isinstance(record.get("kind"), str):
            records.append(record)
        else:
            skipped += 1
    if not records:
        raise ConfigurationError(f"{path} holds no trace records; pass a file written by --trace (JSON lines)")
    return records, skipped


def build_view(records: list[dict[str, Any]], *, source: str = "", skipped_lines: int = 0) -> TraceView:
    """Group the records into runs and turns; a record without a position (older traces) joins the latest run."""
    view = TraceView(source=source, events=len(records), skipped_lines=skipped_lines)
    current_turn: dict[str, dict[str, Any]] = {}
    latest: str | None = None
    unnamed = 0
    for record in records:
        kind = record["kind"]
        if kind == "findings":
            if latest is not None:
                view.findings.setdefault(_root_of(view, latest), []).append(_findings(record))
            continue
        run_id = record.get("run_id")
        if run_id is None:
            if kind == "run_start" or latest is None:
                unnamed += 1
                run_id = f"run-{unnamed}"
            else:
                run_id = latest
        run_id = str(run_id)
        latest = run_id
        run = view.runs.get(run_id)
        if run is None:
            run = _new_run(view, run_id, record)
        if kind == "run_start":
            run.update(signature=record.get("signature"), model=record.get("model"), limits=record.get("limits"),
                       inputs=record.get("inputs"), t=record.get("t"))
        elif kind == "request":
            turn = {"i": record.get("iteration"), "purpose": record.get("purpose", "turn"), "t": record.get("t"),
                    "calls": []}
            run["turns"].append(turn)
            current_turn[run_id] = turn
        elif kind == "reply":
            _add_reply(current_turn.get(run_id) or _orphan_turn(run, current_turn, run_id), record)
            _add_spend(view, run_id, record, calls=0)
        elif kind == "execution":
            _add_execution(current_turn.get(run_id) or _orphan_turn(run, current_turn, run_id), record)
        elif kind in CALL_KINDS:
            turn = current_turn.get(run_id) or _orphan_turn(run, current_turn, run_id)
            turn["calls"].append(_call(record))
            if kind == "child_run":
                child = view.runs.get(str(record.get("child_id")))
                if child is not None:
                    child["task"] = _text(record.get("prompt"))
            if kind == "sub_call":
                _add_spend(view, run_id, record, calls=1)
        elif kind == "run_end":
            run.update(finished_by=record.get("finished_by"), extracted=record.get("extracted"),
                       usage=record.get("usage"), duration=record.get("duration"),
                       outputs=_text(json.dumps(record.get("outputs"), ensure_ascii=False, indent=1)))
        elif kind == "run_error":
            run["error"] = _text(record.get("error"))
    return view


def _new_run(view: TraceView, run_id: str, record: dict[str, Any]) -> dict[str, Any]:
    parent = record.get("parent_id")
    parent = str(parent) if parent is not None and str(parent) in view.runs else None
    run = {"id": run_id, "parent": parent, "depth": record.get("depth") or 1, "turns": [], "children": [],
           "task": None, "signature": None, "model": None, "finished_by": None, "extracted": False, "error": None,
           "usage": None, "duration": None, "outputs": None, "limits": None, "inputs": None, "t": None}
    view.runs[run_id] = run
    if parent is None:
        view.roots.append(run_id)
        view.series[run_id] = []
    else:
        view.runs[parent]["children"].append(run_id)
    return run


def _root_of(view: TraceView, run_id: str) -> str:
    while view.runs[run_id]["parent"] is not None:
        run_id = view.runs[run_id]["parent"]
    return run_id


def _orphan_turn(run: dict[str, Any], current: dict[str, dict[str, Any]], run_id: str) -> dict[str, Any]:
    """A turn for records that came before any request (a trace cut at its start)."""
    turn = {"i": 0, "purpose": "setup", "t": None, "calls": []}
    run["turns"].append(turn)
    current[run_id] = turn
    return turn


def _add_reply(turn: dict[str, Any], record: dict[str, Any]) -> None:
    text = record.get("text") or ""
    if turn["purpose"] == "extract":
        turn["reasoning"] = _text(text)
    else:
        parsed = parse_reply(text)
        turn["reasoning"] = _text(parsed.reasoning)
        turn["code"] = _text(parsed.code) if parsed.code else None
        turn["problem"] = _text(parsed.problem) if parsed.problem else None
    turn.update(tokens=(record.get("prompt_tokens") or 0) + (record.get("completion_tokens") or 0),
                cost=record.get("cost"), duration=record.get("duration"), finish_reason=record.get("finish_reason"))


def _add_execution(turn: dict[str, Any], record: dict[str, Any]) -> None:
    parts = [record.get("output") or ""]
    if record.get("value") is not None:
        parts.append(f"Out: {record['value']}")
    turn["code"] = _text(record.get("code")) if record.get("code") is not None else turn.get("code")
    turn["output"] = _text("\n".join(p.rstrip("\n") for p in parts if p))
    turn["error"] = _text(record.get("error")) if record.get("error") else None
    turn["submitted"] = record.get("submit") is not None
    turn["state_lost"] = bool(record.get("state_lost"))
    turn["exec_duration"] = record.get("duration")


def _call(record: dict[str, Any]) -> dict[str, Any]:
    kind = CALL_KINDS[record["kind"]]
    call: dict[str, Any] = {"kind": kind, "duration": record.get("duration"), "error": _text(record.get("error"))
                            if record.get("error") else None}
    if kind == "tool":
        args = [*(record.get("args") or []), *(f"{k}={v}" for k, v in (record.get("kwargs") or {}).items())]
        call.update(name=_text(str(record.get("name"))), args=_text(", ".join(map(str, args))),
                    result=_text(record.get("result")))
    elif kind == "sub":
        call.update(model=record.get("model"), prompt=_text(record.get("prompt")), result=_text(record.get("text")))
    else:
        call.update(child=str(record.get("child_id")), prompt=_text(record.get("prompt")),
                    result=_text(record.get("answer")), finished_by=record.get("finished_by"))
    return call


def _add_spend(view: TraceView, run_id: str, record: dict[str, Any], *, calls: int) -> None:
    series = view.series[_root_of(view, run_id)]
    t, tokens, cost, count = series[-1] if series else (0.0, 0, 0.0, 0)
    tokens += (record.get("prompt_tokens") or 0) + (record.get("completion_tokens") or 0)
    cost += record.get("cost") or 0.0
    series.append((float(record.get("t") or t), tokens, cost, count + calls))


def _findings(record: dict[str, Any]) -> dict[str, Any]:
    items = []
    for item in record.get("findings") or []:
        if not isinstance(item, dict):
            continue
        location = item.get("location") or next(iter(item.get("citations") or []), {}) or {}
        where = f"{location.get('path', '')}:{location.get('line', '')}" if location.get("path") else ""
        note = item.get("verification_note") or next(
            (c.get("verification_note") for c in item.get("citations") or [] if c.get("verification_note")), None)
        items.append({"title": item.get("title") or "(untitled)", "severity": item.get("severity") or "",
                      "where": where, "verified": item.get("verified"), "note": note or "",
                      "explanation": item.get("explanation") or ""})
    return {"job": record.get("job") or "", "answer": _text(record.get("answer")), "items": items}


def _text(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"\n... [{len(text) - MAX_TEXT_CHARS:,} more chars not in the page]"


# ----------------------------------------------------------------------------------------------- chart


def budget_chart(series: list[tuple[float, int, float, int]]) -> dict[str, Any]:
    """Polylines (SVG ``points``) for tokens, cost and calls over time, each scaled to its own maximum."""
    if not series:
        return {"empty": True}
    step = max(1, len(series) // CHART_POINTS)
    points = [(0.0, 0, 0.0, 0), *series[::step], series[-1]]
    t_max = max(p[0] for p in points) or 1.0
    maxima = [max(p[k] for p in points) for k in (1, 2, 3)]

    def line(k: int) -> str:
        top = maxima[k - 1] or 1
        return " ".join(f"{p[0] / t_max * CHART_WIDTH:.1f},{CHART_HEIGHT - p[k] / top * (CHART_HEIGHT - 4):.1f}"
                        for p in points)

    return {"empty": False, "width": CHART_WIDTH, "height": CHART_HEIGHT, "tokens": line(1), "cost": line(2),
            "calls": line(3), "t_max": t_max, "tokens_max": maxima[0], "cost_max": maxima[1], "calls_max": maxima[2]}


# ----------------------------------------------------------------------------------------------- page


def render_trace_view(view: TraceView) -> str:
    """The HTML page for ``view``."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(shipped_template_dir())), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    trees = []
    for root in view.roots:
        tree_runs = _walk(view, root)
        trees.append({"root": view.runs[root], "runs": tree_runs, "chart": budget_chart(view.series[root]),
                      "findings": view.findings.get(root, []),
                      "turns": sum(len(r["turns"]) for r in tree_runs)})
    data = {"runs": view.runs, "roots": view.roots}
    return env.get_template(TEMPLATE).render(view=view, trees=trees, data=data)


def _walk(view: TraceView, run_id: str) -> list[dict[str, Any]]:
    run = view.runs[run_id]
    return [run, *(r for child in run["children"] for r in _walk(view, child))]


def write_trace_view(trace: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> tuple[Path,
                                                                                                         TraceView]:
    """Read ``trace``, write its page to ``output`` (default: the trace's path with ``.html``); return both."""
    records, skipped = read_trace(trace)
    view = build_view(records, source=Path(trace).name, skipped_lines=skipped)
    target = Path(output) if output is not None else Path(trace).with_suffix(".html")
    if not target.parent.is_dir():
        raise ConfigurationError(f"cannot write {target}: folder {target.parent} does not exist")
    target.write_text(render_trace_view(view), encoding="utf-8")
    return target, view
