"""The grep oracle attack, run as a model would run it: Python in the real sandbox calling the bound RepoTools.

A binary search over character classes (``aws_secret_access_key = "[A-Z]``, ``... ".{1}[0-9]``) recovers a secret
from grep's answers when they depend on the raw text. Against the redacted view it must recover nothing: two
repositories that differ only in the secret's value get the same answer to every probe (a probe may still match the
visible marker, ``".{1}[N-Z]`` finds the ``R`` of ``"[REDACTED``, which says nothing about the secret).
"""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

from repo_auditor.repository import Repository
from repo_auditor.sandbox import DenoInterpreter
from repo_auditor.tools import RepoTools
from tests.gitrepo import GitRepo

ALPHABET = string.ascii_letters + string.digits + "+/"
# Characters the attack recovers per secret: enough to show it works without redaction and fails with it.
PROBED_CHARS = 4

ATTACK = r'''
import json, re
ALPHABET = sorted(%(alphabet)r)

def answer(pattern):
    return grep(pattern)

def matches(pattern):
    return not answer(pattern).startswith("no matches")

def recover(prefix, n):
    """Binary search over character classes, one character at a time; then a check by position (.{k}[...])."""
    found = ""
    for _ in range(n):
        chars = ALPHABET
        while len(chars) > 1:
            half = chars[:len(chars) // 2]
            cls = "".join(re.escape(c) for c in half)
            if matches(prefix + re.escape(found) + "[" + cls + "]"):
                chars = half
            else:
                chars = chars[len(chars) // 2:]
        found += chars[0]
    return found

probes = {}
for prefix in ('aws_secret_access_key = "', 'password = "'):
    for k in range(3):
        for cls in ("A-M", "N-Z", "a-m", "n-z", "0-9", "+/"):
            pattern = prefix + ".{%%d}[%%s]" %% (k, cls)
            probes[pattern] = answer(pattern)
print(json.dumps({
    "aws": recover('aws_secret_access_key = "', %(n)d),
    "password": recover('password = "', %(n)d),
    "probes": probes,
    "wrong": answer("zz_wrong_guess_zz"),
}))
'''


def _attack(repo_path: Path, cache: Path, redact: bool) -> dict:
    with RepoTools(Repository.open(repo_path, cache_root=cache), redact=redact) as tools, \
            DenoInterpreter(tools=tools.as_dict(), timeout=120) as sandbox:
        result = sandbox.execute(ATTACK % {"alphabet": ALPHABET, "n": PROBED_CHARS})
    assert result.error is None, result.error
    return json.loads(result.output.strip().splitlines()[-1])


def _secret_repo(path: Path) -> tuple[Path, str, str]:
    key = "".join(secrets.choice(ALPHABET) for _ in range(40))  # random at run time: nothing real is committed
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12)) + "!"
    repo = GitRepo.init(path)
    repo.write("settings.py", f'import os\n\naws_secret_access_key = "{key}"\npassword = "{password}"\n')
    repo.write("app.py", "def main():\n    return 0\n")
    repo.commit("settings")
    return repo.path, key, password


def test_binary_search_recovers_nothing_through_the_sandbox(runtime_ready: None, tmp_path: Path) -> None:
    path_a, key_a, password_a = _secret_repo(tmp_path / "a")
    path_b, key_b, password_b = _secret_repo(tmp_path / "b")
    got_a = _attack(path_a, tmp_path / "cache-a", redact=True)
    got_b = _attack(path_b, tmp_path / "cache-b", redact=True)
    assert got_a["wrong"].startswith("no matches")
    assert got_a == got_b  # every answer (and so what the attack "recovers") is independent of the secret
    assert got_a["aws"] not in (key_a[:PROBED_CHARS], key_b[:PROBED_CHARS])
    assert got_a["password"] not in (password_a[:PROBED_CHARS], password_b[:PROBED_CHARS])


def test_the_attack_works_without_redaction(runtime_ready: None, tmp_path: Path) -> None:
    """The control: with redaction off the same program reads the secrets back, so the test above means something."""
    path, key, password = _secret_repo(tmp_path / "a")
    got = _attack(path, tmp_path / "cache", redact=False)
    assert got["aws"] == key[:PROBED_CHARS] and got["password"] == password[:PROBED_CHARS]
