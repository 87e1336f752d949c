"""Builders for findings, verification and report tests: a tiny in-memory source tree, findings and reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from repo_auditor.findings import Coverage, Finding, Location, ModelUsage, RepoInfo, Report, Severity

# 60 lines; line N of the file is shown in the comments where tests rely on it.
AUTH_PY = """\
import hashlib
import os


def check_password(user, password):
    # line 6
    stored = user.password_hash
    digest = hashlib.md5(password.encode()).hexdigest()
    return digest == stored


def load_config(path):
    with open(path) as handle:
        return eval(handle.read())
""" + "".join(f"PADDING_{n} = {n}\n" for n in range(15, 61))

SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class Entry:
    path: str
    binary: bool = False


class FakeTree:
    """The smallest thing verification reads from: ``files``, ``get(path)`` and ``read_text(path)``."""

    def __init__(self, files: dict[str, str | bytes]):
        self._content = files
        self.files = tuple(Entry(p, isinstance(c, bytes)) for p, c in sorted(files.items()))

    def get(self, path: str) -> Entry | None:
        return next((e for e in self.files if e.path == path), None)

    def read_text(self, path: str) -> str:
        content = self._content[path]
        return content.decode("latin-1") if isinstance(content, bytes) else content


def sample_tree() -> FakeTree:
    return FakeTree({"src/auth.py": AUTH_PY, "src/util/helpers.py": "def helper():\n    return 1\n",
                     "logo.png": b"\x89PNG\r\n\x1a\n\0\0"})


def finding(title: str = "MD5 used for passwords", severity: Severity = Severity.HIGH, path: str = "src/auth.py",
            line: int | None = 8, end_line: int | None = None, evidence: str = "", verified: bool | None = None,
            **extra: object) -> Finding:
    return Finding(title=title, severity=severity, location=Location(path, line, end_line), evidence=evidence,
                   verified=verified, **extra)  # type: ignore[arg-type]


def make_report(findings: list[Finding] | tuple[Finding, ...] = (), *, answer: str = "The code hashes with MD5.",
                question: str = "Is password handling safe?", web_url: str | None = "https://github.com/acme/shop",
                coverage: Coverage | None = None, commit: str | None = SHA) -> Report:
    return Report(
        question=question,
        answer=answer,
        findings=tuple(findings),
        coverage=coverage or Coverage(files_read={"src/auth.py": 60, "src/util/helpers.py": 2}, searches=4,
                                      symbol_queries=2, iterations=7, sub_calls=3, prompt_tokens=12000,
                                      completion_tokens=1500, cost=0.0421, seconds=95.5, files_total=3),
        repo=RepoInfo(path="/work/shop", ref="main", commit=commit, web_url=web_url),
        usage=(ModelUsage("gpt-4o", calls=7, prompt_tokens=10000, completion_tokens=1200, cost=0.04),),
        trajectory=({"iteration": 1, "code": "print(grep('md5'))", "output": "src/auth.py:8"},),
        generated_at=datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc),
        tool_version="0.1.0",
    )
