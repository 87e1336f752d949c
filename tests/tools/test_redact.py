"""The secret redactor: planted secrets of every kind are replaced, normal code passes unchanged, lines never move."""

from __future__ import annotations

import pytest

from repo_auditor.tools.redaction import is_env_file, looks_random, redact

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6Z6vQxKqV7XqKXJvZXa0h8o8x\n"
    "Yb3uF9rJ2kLmN4pQ7sT1vW5xZ8aB0cD3eF6gH9iJ2kL5mN8oP1qR4sT7uV0wX3y\n"
    "-----END RSA PRIVATE KEY-----\n"
)

# (line with a planted secret, the secret itself, the kind in the marker, what must survive)
PLANTED = [
    ('aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"', "AKIAIOSFODNN7EXAMPLE", "aws_access_key", "aws_access_key_id"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws_secret_key", "aws_secret_access_key = "),
    ('GITHUB = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"', "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
     "github_token", "GITHUB = "),
    ("auth: gho_16C7e42F292c6912E7710c838347Ae178B4a", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "github_token",
     "auth: "),
    ("x = 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'",
     "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_token", "x = '"),
    ('SLACK = "xoxb-123456789012-1234567890123-abcdefghijklmnop"', "xoxb-123456789012-1234567890123-abcdefghijklmnop",
     "slack_token", "SLACK"),
    ("hook = 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'",
     "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "slack_token", "hook = '"),
    ('maps(key="AIzaSyA1234567890abcdefghijklmnopqrstuv")', "AIzaSyA1234567890abcdefghijklmnopqrstuv",
     "google_api_key", "maps(key="),
    ('stripe.api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"', "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key",
     "stripe.api_key"),
    ('client = Anthropic(api_key="sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789")',
     "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789", "anthropic_key", "Anthropic(api_key="),
    ('OpenAI(api_key="sk-proj-abc123def456ghi789jkl012mno345")', "sk-proj-abc123def456ghi789jkl012mno345",
     "openai_key", "OpenAI(api_key="),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "jwt", "Authorization: Bearer "),
    ('DB = "postgres://admin:s3cretPass@db.example.com:5432/app"', "s3cretPass", "url_password",
     "postgres://admin:"),
    ('password = "hunter2!"', "hunter2!", "password", "password = "),
    ('config = {"apiKey": "abc123xyz"}', "abc123xyz", "api_key", '"apiKey": "'),
    ('token: str = "tok_9f8e7d"', "tok_9f8e7d", "token", "token: str = "),
    ('if pwd == "letmein":', "letmein", "password", "if pwd == "),
    ('db_password := "Pa55word"', "Pa55word", "password", "db_password := "),
    ("$client_secret = 'cs_live_abc';", "cs_live_abc", "secret", "$client_secret = "),
    ('SESSION_SALT = "Zx8pQ2mN7vB4kL9sR3tY6wE1uI5oA0dF"', "Zx8pQ2mN7vB4kL9sR3tY6wE1uI5oA0dF", "high_entropy",
     "SESSION_SALT = "),
]


@pytest.mark.parametrize("line, secret, kind, kept", PLANTED, ids=[row[2] + str(i) for i, row in enumerate(PLANTED)])
def test_planted_secret_is_redacted(line: str, secret: str, kind: str, kept: str) -> None:
    out = redact(line)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out
    assert kept in out


def test_private_key_block_is_redacted_line_for_line() -> None:
    text = "before = 1\n" + PEM + "after = 2\n"
    out = redact(text)
    assert "MIIEpAIBAAKCAQEA" not in out and "Yb3uF9rJ2kLmN4pQ" not in out
    assert out.count("\n") == text.count("\n")
    assert out.splitlines()[1:5] == ["[REDACTED:private_key]"] * 4
    assert out.startswith("before = 1\n") and out.endswith("after = 2\n")


def test_private_key_seen_line_by_line_is_still_redacted() -> None:
    """grep shows single lines: the BEGIN line and each body line must be redacted on their own."""
    for line in PEM.splitlines():
        out = redact(line)
        assert "PRIVATE KEY" not in out or "[REDACTED:private_key]" in out
        assert "MIIEpAIBAAKCAQEA" not in out and "Yb3uF9rJ2kLmN4pQ" not in out


def test_private_key_inside_a_json_string_is_redacted() -> None:
    line = '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"}'
    out = redact(line)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in out
    assert out.count("\n") == 0


def test_env_file_values_are_all_redacted() -> None:
    text = "# comment\nDEBUG=true\nexport DB_PASS=hunter2\nEMPTY=\nNAME = my app\n"
    out = redact(text, ".env")
    assert out == ("# comment\nDEBUG=[REDACTED:env_value]\nexport DB_PASS=[REDACTED:env_value]\nEMPTY=\n"
                   "NAME = [REDACTED:env_value]\n")
    assert redact(text, "deploy/prod.env") == out
    assert redact(text, "config/.env.local") == out


def test_env_example_files_keep_placeholders() -> None:
    text = "DEBUG=true\nDB_PASS=changeme\n"
    assert redact(text, ".env.example") == text  # no quoted literal, not a config file: nothing secret-shaped
    assert not is_env_file(".env.sample") and not is_env_file("src/environment.py") and is_env_file(".env")


def test_config_files_redact_unquoted_secret_values() -> None:
    text = "database:\n  password: hunter2\n  host: db.local\n  token: ${TOKEN}\n  - API_KEY=abc123\n"
    out = redact(text, "docker-compose.yml")
    assert "hunter2" not in out and "abc123" not in out
    assert "  host: db.local\n" in out and "${TOKEN}" in out
    assert redact(text, "notes.txt") == text  # unquoted values count only in config files


def test_redaction_keeps_every_newline() -> None:
    text = "\n".join(row[0] for row in PLANTED) + "\n" + PEM + "\r\nlast = 'x'\r\n"
    out = redact(text, "settings.yml")
    assert out.count("\n") == text.count("\n")
    assert len(out.splitlines()) == len(text.splitlines())


NORMAL_CODE = '''\
import os.path
from repo_auditor.tools.redaction import redact
url = "https://example.com/path?q=1"
api = "https://user@example.com/repo.git"
commit = "3f786850e387550fdab836ed7e6dc881de23001b"
uid = "123e4567-e89b-12d3-a456-426614174000"
password = os.environ["PASSWORD"]
password_field = "password"
token_url = "https://oauth2.googleapis.com/token"
PASSWORD = "password"
msg = "Please enter your password"
integrity = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR3bjVUEWNs1Ke5EXg9A=="
name = "SomeVeryLongClassNameForTesting123"
mod = "django.contrib.auth.middleware.AuthenticationMiddleware"
path = "src/components/Button2Component.tsx"
pwd = os.getcwd()
secret = get_secret()
token = None
password = "${DB_PASSWORD}"
api_key = "<your-api-key>"
password = ""
password = "********"
if token_type == "Bearer": pass
task_key_material = compute("something")
def tokenize(text: str) -> list[str]:
    return text.split()
color = "#ff00aa"
version = "1.2.3-rc.1+build.20240101"
'''


def test_normal_code_passes_unchanged() -> None:
    assert redact(NORMAL_CODE, "src/module.py") == NORMAL_CODE


def test_lockfile_hashes_pass_unchanged() -> None:
    lock = ('"resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",\n'
            '"integrity": "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQX9YY6/ZfpxqOjW8RIN2h8tDJyF2q3l4G9ZWYg2Ad8YL3A=="\n'
            'checksum = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678901234567890abcdef123456"\n')
    assert redact(lock, "package-lock.json") == lock


def test_looks_random_separates_keys_from_identifiers() -> None:
    assert looks_random("Zx8pQ2mN7vB4kL9sR3tY6wE1uI5oA0dF")
    assert not looks_random("getHTTPResponse2CodeFromServer")
    assert not looks_random("3f786850e387550fdab836ed7e6dc881de23001b")
    assert not looks_random("short1A")


def test_long_lines_do_not_blow_up() -> None:
    """Bounded patterns: a 1 MB line of word characters is handled in linear time (pytest-timeout would catch a hang)."""
    line = "a" * 1_000_000 + "password" + "b" * 1_000_000
    assert redact(line) == line


def test_text_whose_lowercase_grows_is_still_redacted() -> None:
    """'İ'.lower() is two characters; keyword lookup offsets must still map to the original text."""
    text = "İİİ = 1\npassword = 'hunter2!'\n"
    assert redact(text) == "İİİ = 1\npassword = '[REDACTED:password]'\n"
