"""The fixed list of finding categories: what a finding is about, chosen by the model, read leniently.

A category is the finding's rule id in SARIF, so code scanning groups alerts by kind of problem rather than by the
model's wording. Only ``security/...`` categories are security problems (they alone get a ``security-severity``).
A category the model invents, misspells or leaves out becomes ``general``.
"""

from __future__ import annotations

import re

GENERAL = "general"

CATEGORIES: dict[str, str] = {
    "security/injection": "Untrusted input reaches a query, command, template or path (SQL, shell, XSS, path "
                          "traversal)",
    "security/secrets": "A secret (key, token, password) is in the code or leaks into logs or output",
    "security/auth": "Missing or broken authentication or authorisation",
    "security/crypto": "Weak, misused or home-made cryptography or randomness",
    "security/deserialization": "Unsafe deserialisation or evaluation of untrusted data",
    "security/ssrf": "A request to a URL the user controls",
    "security/other": "Another security weakness",
    "correctness/logic": "Wrong logic: conditions, off-by-one, wrong values returned",
    "correctness/error-handling": "Errors ignored, swallowed or reported wrongly",
    "correctness/api-contract": "Callers, implementations or tests that no longer match a changed interface",
    "correctness/concurrency": "Races, deadlocks and unsafe shared state",
    "correctness/resource-leak": "Files, connections or processes that are never released",
    "performance/complexity": "Repeated or quadratic work, N+1 queries",
    "performance/io": "Blocking, unbounded or repeated I/O",
    "performance/memory": "Unbounded memory use",
    "tests/missing": "Changed or risky behaviour without a test",
    "tests/broken": "A test that no longer tests what it claims",
    "maintainability/duplication": "Duplicated code",
    "maintainability/complexity": "Code harder to read or change than it needs to be",
    "maintainability/dead-code": "Unused or unreachable code",
    "maintainability/docs": "Documentation or comments that disagree with the code",
    GENERAL: "A problem that fits no other category",
}

_BY_LEAF: dict[str, list[str]] = {}
for _name in CATEGORIES:
    _BY_LEAF.setdefault(_name.rsplit("/", 1)[-1], []).append(_name)


def is_security(category: str) -> bool:
    return category.startswith("security/")


def parse_category(value: object) -> tuple[str, str | None]:
    """A category from the list, and a note when the model's value was not one (then ``general``).

    Accepted: the exact names in any case and spacing (``"Security/Injection"``, ``"tests missing"``), and a name's
    last part when only one category has it (``"injection"``, ``"secrets"``; not ``"complexity"``, which two
    have). A missing value is ``general`` without a note."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return GENERAL, None
    if not isinstance(value, str):
        return GENERAL, f"category of type {type(value).__name__} not recognised; filed as general"
    text = re.sub(r"\s*/\s*", "/", value.strip().lower()[:60])
    text = re.sub(r"[\s_]+", "-", text)
    if text in CATEGORIES:
        return text, None
    if text.replace("-", "/", 1) in CATEGORIES:  # "tests-missing" / "tests missing"
        return text.replace("-", "/", 1), None
    leaf = _BY_LEAF.get(text.rsplit("/", 1)[-1], [])
    if len(leaf) == 1:
        return leaf[0], None
    return GENERAL, f"category {value.strip()[:40]!r} is not one of the known categories; filed as general"
