"""One native pass that finds where our own secret rules can match, so Python only confirms a few lines.

Our rules (provider tokens, keyword assignments, connection strings, XML, entropy...) are Python regular
expressions with look-around and back-references, too slow to run over every line of a large repository. Each rule
therefore names a simpler pattern that every one of its matches contains (its literal triggers, or its own pattern
without look-around); all of them run together inside kingfisher's engine (Rust + Vectorscan, the library of the
base layer, with ``builtins=False``: compiled in well under a second, no cache needed) in one pass over the bytes.
The rule then runs on the lines holding a hit only.

The base layer loads these patterns with its own rule set (``candidate_rules_file``), so one pass over a file finds
both (``split_findings`` tells them apart); ``CandidateScanner`` is the separate pass used when that load fails.

``CandidateScanner.load`` returns None when the library is missing or rejects a pattern; the caller then finds the
candidate lines in Python (``str.find``), as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from typing import Any

# Rule ids inside the engine: this prefix and the pattern's index.
RULE_PREFIX = "custom.repo-auditor.candidate-"
_REGEX_META = frozenset(".^$*+?()[]{}|\\#&-~")


def literal_pattern(literals: tuple[str, ...], *, fold: bool) -> str:
    """A pattern matching any of ``literals`` (case-insensitive when ``fold``), escaped for the Rust engine."""
    body = "|".join("".join("\\" + c if c in _REGEX_META else c for c in literal) for literal in literals)
    return ("(?i)" if fold else "") + "(" + body + ")"


class CandidateScanner:
    """Patterns compiled into one native scanner; ``hits`` gives the byte offsets each pattern matched at."""

    def __init__(self, scanner: Any, count: int):
        self._scanner = scanner
        self.count = count

    @classmethod
    def load(cls, patterns: list[str]) -> CandidateScanner | None:
        try:
            import kingfisher_sdk

            rules = kingfisher_sdk.Rules([candidate_rules_file(patterns)], builtins=False, cache=False)
            if len(rules) != len(patterns):
                raise ValueError(f"{len(patterns) - len(rules)} candidate patterns were not loaded")
            return cls(kingfisher_sdk.Scanner(rules, base64=False), len(patterns))
        except Exception as exc:  # noqa: BLE001 - the Python path finds the same lines, only slower
            logging.getLogger(__name__).info("secret candidates found in Python (%s)", exc)
            return None

    def hits(self, data: bytes) -> dict[int, list[int]]:
        """Pattern index -> sorted byte offsets where it matched in ``data``."""
        return split_findings(self._scanner._native.scan_bytes(data))[1]  # native findings: offsets only


def split_findings(findings: Any) -> tuple[list[Any], dict[int, list[int]]]:
    """Native ``findings`` of a pass with the base's rules loaded too: the base's findings, and pattern index ->
    sorted byte offsets of our candidate hits."""
    base: list[Any] = []
    found: dict[int, list[int]] = {}
    for finding in findings:
        rule_id = finding.rule_id
        if rule_id.startswith(RULE_PREFIX):
            found.setdefault(int(rule_id[len(RULE_PREFIX):]), []).append(finding.location["start_offset"])
        else:
            base.append(finding)
    for offsets in found.values():
        offsets.sort()
    return base, found


def candidate_rules_file(patterns: list[str]) -> str:
    """The patterns as a kingfisher rule file (JSON is YAML), written once per content to a private folder."""
    rules = [{"name": f"repo-auditor candidate {i}", "id": f"{RULE_PREFIX}{i}", "pattern": pattern,
              "min_entropy": 0, "confidence": "medium"} for i, pattern in enumerate(patterns)]
    text = json.dumps({"rules": rules}, indent=1)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    for folder in (os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "repo_auditor"),
                   tempfile.gettempdir()):
        path = os.path.join(folder, f"secret-candidates-{digest}.yml")
        try:
            if not os.path.exists(path):
                os.makedirs(folder, mode=0o700, exist_ok=True)
                tmp = f"{path}.{os.getpid()}"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, path)
            return path
        except OSError:
            continue
    raise OSError("no writable folder for the secret candidate rules")
