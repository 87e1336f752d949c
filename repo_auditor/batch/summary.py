"""The Markdown summary across repositories: a table per job (worst first), the worst findings, what failed and why.

It shows the latest run of each (repository, job) in the results folder, so a folder that collects weekly sweeps
summarises the newest week. Every text from a repository or a model is escaped (``md``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from repo_auditor.architecture.markdown import md
from repo_auditor.batch.rows import SEVERITY_RANK

WORST_FINDINGS = 20  # per job: the summary is for triage; the rest is one query away


def render_summary(runs: list[dict[str, Any]], findings: list[dict[str, Any]], *, title: str,
                   batch: Any = None) -> str:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in runs:
        slot = (row["repository"], row["job"])
        if slot not in latest or _when(row) >= _when(latest[slot]):
            latest[slot] = row
    current = {row["key"] for row in latest.values()}
    by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in latest.values():
        by_job[row["job"]].append(row)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        if finding["key"] in current:
            found[finding["job"]].append(finding)
    repositories = len({row["repository"] for row in latest.values()})
    ok = sum(1 for row in latest.values() if row["status"] == "ok")
    costs = [row["cost_usd"] for row in latest.values() if row.get("cost_usd") is not None]
    tokens = sum((row.get("prompt_tokens") or 0) + (row.get("completion_tokens") or 0) for row in latest.values())
    out = [f"# Batch summary: {md(title)}", "",
           f"{repositories} repositories, {len(by_job)} jobs, {len(latest)} runs (the latest per repository and "
           f"job): {ok} ok, {len(latest) - ok} failed. Model use: {tokens:,} tokens, ${sum(costs):.4f}.", ""]
    if batch is not None:
        out += [f"This run: {md(batch.line())}.", ""]
    for job in sorted(by_job):
        rows = sorted(by_job[job], key=lambda r: (-_rank(r.get("worst_severity")), -(r.get("verified") or 0),
                                                   r["repository"]))
        out += [f"## {md(job)} ({md(rows[0]['kind'])})", "",
                "| repository | commit | status | findings | verified | worst | cost | seconds | result |",
                "|---|---|---|---|---|---|---|---|---|"]
        for row in rows:
            cost = "" if row.get("cost_usd") is None else f"${row['cost_usd']:.4f}"
            result = row.get("headline") if row["status"] == "ok" else row.get("error")
            partial = " (partial)" if row.get("partial") else ""
            out.append(f"| {md(row['repository'])} | `{(row.get('commit') or '')[:12]}` | {row['status']}{partial} "
                       f"| {row.get('findings') or 0} | {row.get('verified') or 0} | "
                       f"{row.get('worst_severity') or ''} | {cost} | {row.get('seconds') or 0:.1f} | "
                       f"{md(result or '')} |")
        worst = sorted(found[job], key=lambda f: (f["verified"] is not True, -f["severity_rank"], f["repository"],
                                                   f.get("path") or "", f.get("line") or 0))[:WORST_FINDINGS]
        if worst:
            out += ["", f"Worst findings ({len(worst)} of {len(found[job])}; verified first):", "",
                    "| severity | repository | finding | where | verified |", "|---|---|---|---|---|"]
            for f in worst:
                where = f"{f['path']}:{f['line']}" if f.get("path") else ""
                verified = {True: "yes", False: "no", None: "not checked"}[f["verified"]]
                out.append(f"| {f['severity']} | {md(f['repository'])} | {md(f['title'])} | {md(where)} | "
                           f"{verified} |")
        out.append("")
    failures = sorted((row for row in latest.values() if row["status"] != "ok"),
                      key=lambda r: (r["repository"], r["job"]))
    out += ["## Failures", ""]
    if not failures:
        out += ["None.", ""]
    else:
        out += ["| repository | job | error | reason |", "|---|---|---|---|"]
        out += [f"| {md(r['repository'])} | {md(r['job'])} | {md(r.get('error_type') or '')} | "
                f"{md(r.get('error') or '')} |" for r in failures]
        out.append("")
    return "\n".join(out)


def _rank(severity: str | None) -> int:
    return SEVERITY_RANK.get(severity or "", -1)


def _when(row: dict[str, Any]) -> Any:
    return row.get("finished_at") or row.get("started_at")
