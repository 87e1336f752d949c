"""Secret redaction for everything the repository tools return.

A secret is replaced by ``[REDACTED:<kind>]``; the text around it (a variable name, a user name in a URL, the key of an
``.env`` line) stays, so the model can still report "a hard-coded password in config.py:12" without seeing it.
Redaction never adds or removes a newline: line numbers stay exact.

Kinds and what they catch:

=================  ==============================================================================================
``private_key``    PEM/OpenSSH/PGP private key blocks (every line of the block), and lone BEGIN/END lines
``key_material``   a whole line of base64 (60+ chars, random-looking): the body of a key block seen line by line
``aws_access_key`` ``AKIA...`` / ``ASIA...`` access key ids
``aws_secret_key`` the 40-character value after ``aws_secret_access_key`` and similar names
``github_token``   ``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``
``slack_token``    ``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxr-``, ``xoxs-`` tokens and ``hooks.slack.com`` webhook URLs
``google_api_key`` ``AIza...``
``stripe_key``     ``sk_live_`` / ``sk_test_`` / ``rk_...`` (publishable ``pk_`` keys are public and kept)
``anthropic_key``  ``sk-ant-...``
``openai_key``     ``sk-...`` / ``sk-proj-...`` with 20+ key characters including a digit
``jwt``            ``eyJ...eyJ...`` three-part JSON web tokens
``url_password``   the password in ``scheme://user:password@host`` (the user name is kept)
``env_value``      every value in ``.env``, ``.env.*`` and ``*.env`` files (not ``.env.example``/``sample``/
                   ``template``/``dist``, which hold placeholders and get the ordinary rules)
``password`` etc.  a quoted literal assigned to a name containing password/passwd/pwd/secret/token/api_key/
                   access_key/auth_key/private_key/credential (``password = "..."``, ``"apiKey": "..."``,
                   ``token := "..."``); in YAML/INI/properties files unquoted values too. The kind is the keyword.
``high_entropy``   a 20+ character random-looking literal (letters and digits, Shannon entropy near the maximum for
                   its length) assigned to any name
=================  ==============================================================================================

Speed: each rule names literals (``AKIA``, ``ghp_``... or, case-folded, ``passw``/``token``/``secret``...) that
every match contains; its pattern runs only on the lines holding one, found at C speed with ``str.find``.

Deliberately kept: hex-only values (git SHAs, checksums, UUIDs), ``sha512-...`` integrity hashes in lockfiles, URLs
without a password, values that reference something else (``$VAR``, ``${VAR}``, ``{{ var }}``, ``<placeholder>``,
``%(name)s``), values with spaces (messages, not secrets) and names like ``token_url`` / ``password_field``.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

MARKER = "[REDACTED:{kind}]"
# Text that marks a private key block; callers showing part of a file redact blocks over the whole file first.
PRIVATE_KEY_MARKER = "PRIVATE KEY"

# Keyword names whose assigned literal is a secret. Bounded repetitions keep every pattern linear on long lines.
_KEYWORDS = (r"passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key|private[_-]?key"
             r"|credentials?")
# Lower-case literals one of which every keyword match contains (``api_key`` contains "api", ``passwd`` "passw").
_KEYWORD_TRIGGERS = ("passw", "pwd", "secret", "token", "api", "access", "auth", "private", "credential")
_NAME = rf"[\w.-]{{0,40}}?(?:{_KEYWORDS})[\w.-]{{0,40}}"
_SEP = r"['\"]?(?:[ \t]*:[ \t]*[\w\[\]., |]{1,40}?)?[ \t]*(?:==|:=|=>|=|:)[ \t]*"

# Names that contain a keyword but name something that is not a secret (token_url, password_field, secret_name).
_NOT_SECRET_NAME_SUFFIXES = (
    "name", "type", "field", "url", "uri", "endpoint", "path", "file", "dir", "env", "var", "header", "prefix",
    "suffix", "len", "length", "count", "label", "id", "format", "pattern", "regex", "kind", "class", "mode", "hint",
    "policy", "validator", "expiry", "expires", "ttl", "timeout", "limit", "size", "min", "max",
)
_PLACEHOLDER_START = ("$", "{", "<", "%", "[REDACTED:")
_MASK_CHARS = frozenset("*xX.-_#")

# Literals shorter than this are never "high entropy": too short to tell random from a word.
HIGH_ENTROPY_MIN_CHARS = 20
# Fraction of the maximum possible entropy (log2 of min(length, 64)) a literal needs to count as random: 99% of
# random base62 strings of 20-40 characters reach 0.83.
HIGH_ENTROPY_RATIO = 0.82
# Share of neighbouring characters that change class (upper/lower/digit/other). Random base62 strings average 0.6;
# CamelCase identifiers with a digit (``SomeLongClassName2``) stay near 0.4, so they are not mistaken for keys.
HIGH_ENTROPY_MIN_CLASS_CHANGES = 0.45

_ENV_EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")
_CONFIG_EXTENSIONS = frozenset({".yml", ".yaml", ".ini", ".cfg", ".conf", ".properties", ".toml"})


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``."""
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


def looks_random(value: str) -> bool:
    """A literal that looks like a generated key rather than a word, identifier, path, hash or UUID."""
    if len(value) < HIGH_ENTROPY_MIN_CHARS or re.fullmatch(r"[0-9a-fA-F-]+", value):
        return False
    if re.match(r"sha\d+-", value) or "://" in value:
        return False
    if not (re.search(r"\d", value) and re.search(r"[a-z]", value) and re.search(r"[A-Z]", value)):
        return False
    if _class_changes(value) < HIGH_ENTROPY_MIN_CLASS_CHANGES:
        return False
    return shannon_entropy(value) >= HIGH_ENTROPY_RATIO * math.log2(min(len(value), 64))


def _char_class(c: str) -> int:
    return 0 if c.isupper() else 1 if c.islower() else 2 if c.isdigit() else 3


def _class_changes(value: str) -> float:
    classes = [_char_class(c) for c in value]
    return sum(a != b for a, b in zip(classes, classes[1:])) / (len(value) - 1)


def _is_literal_secret(value: str) -> bool:
    if len(value) < 3 or any(c.isspace() for c in value) or value.startswith(_PLACEHOLDER_START):
        return False
    if "[REDACTED:" in value or set(value) <= _MASK_CHARS:
        return False
    return True


def _keyword_kind(name: str) -> str:
    lowered = name.lower()
    for kind, needles in (("password", ("passw", "pwd")), ("api_key", ("apikey", "api_key", "api-key")),
                          ("private_key", ("private",)), ("access_key", ("access",)), ("secret", ("secret",)),
                          ("token", ("token",)), ("credential", ("credential",)), ("auth_key", ("auth",))):
        if any(n in lowered for n in needles):
            return kind
    return "secret"


def _secret_name(name: str, value: str) -> bool:
    lowered = name.lower().strip("'\"")
    if lowered.endswith(_NOT_SECRET_NAME_SUFFIXES):
        return False
    return value.lower().replace("-", "_") not in lowered  # PASSWORD = "password" is a label, not a secret


@dataclass(frozen=True)
class _Rule:
    """One pattern: the named group ``value`` (or the whole match) is replaced when ``accept`` agrees."""

    kind: str | None  # None: computed from the match by ``kind_of``
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] | None = None
    kind_of: Callable[[re.Match[str]], str] | None = None
    # Every match contains one of these literals (in the lower-cased text when ``fold``), or a hit of ``prefilter``;
    # the pattern runs only on the lines that do. Scanning for literals is C speed; the patterns are not.
    triggers: tuple[str, ...] = ()
    fold: bool = False
    prefilter: re.Pattern[str] | None = None


def _has_digit(m: re.Match[str]) -> bool:
    return bool(re.search(r"\d", m.group(0)))


_PEM_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----.{0,20000}?-----END \1PRIVATE KEY\2-----", re.DOTALL)

_TOKEN_RULES: tuple[_Rule, ...] = (
    _Rule("private_key", re.compile(r"-----(?:BEGIN|END) (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
          triggers=(PRIVATE_KEY_MARKER,)),
    _Rule("key_material", re.compile(r"(?m)^[ \t'\"]*(?P<value>[A-Za-z0-9+/]{60,4096}={0,2})(?=[ \t'\",;\\]*\r?$)"),
          accept=lambda m: shannon_entropy(m.group("value")) >= 4.5,
          prefilter=re.compile(r"(?m)^[ \t'\"]*[A-Za-z0-9+/]{60}")),
    _Rule("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
          triggers=("AKIA", "ASIA", "ABIA", "ACCA")),
    _Rule("aws_secret_key", re.compile(
        r"(?i)aws_?secret(?:_?access)?_?key['\"]?[ \t]*(?:=|:|=>)[ \t]*['\"]?(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
        triggers=("secret",), fold=True),
    _Rule("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
          triggers=("gh", "github_pat_")),
    _Rule("slack_token", re.compile(
        r"\bxox[abprs]-[A-Za-z0-9-]{10,250}|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{10,200}"),
          triggers=("xox", "hooks.slack.com")),
    _Rule("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"), triggers=("AIza",)),
    _Rule("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,99}\b"),
          triggers=("k_live_", "k_test_")),
    _Rule("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,250}"), triggers=("sk-ant-",)),
    _Rule("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,250}"), accept=_has_digit,
          triggers=("sk-",)),
    _Rule("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,4096}"),
          triggers=("eyJ",)),
    _Rule("url_password", re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s:/@'\"]{0,100}:(?P<value>[^\s@/'\"]{1,200})@"),
          accept=lambda m: not m.group("value").startswith(_PLACEHOLDER_START), triggers=("://",)),
)

_ENV_LINE = _Rule("env_value", re.compile(
    r"(?m)^[ \t]*(?:export[ \t]+)?[A-Za-z_][\w.-]{0,200}[ \t]*=[ \t]*(?P<value>[^\r\n]{0,10000}[^\s])"),
    accept=lambda m: "[REDACTED:" not in m.group("value"))

_ASSIGNED_KEYWORD = _Rule(None, re.compile(
    rf"(?i)(?<![\w.-])(?P<name>{_NAME})(?P<sep>{_SEP})(?P<q>['\"`])(?P<value>[^'\"`\r\n]{{1,500}}?)(?P=q)"),
    accept=lambda m: _is_literal_secret(m.group("value")) and _secret_name(m.group("name"), m.group("value")),
    kind_of=lambda m: _keyword_kind(m.group("name")), triggers=_KEYWORD_TRIGGERS, fold=True)

_CONFIG_UNQUOTED = _Rule(None, re.compile(
    rf"(?im)^(?:[ \t]*-)?[ \t]*['\"]?(?P<name>{_NAME})['\"]?[ \t]*[:=][ \t]*(?P<value>[^\s'\"#&*!|>{{\[][^\s#]{{2,500}})"),
    accept=lambda m: _is_literal_secret(m.group("value")) and _secret_name(m.group("name"), m.group("value")),
    kind_of=lambda m: _keyword_kind(m.group("name")), triggers=_KEYWORD_TRIGGERS, fold=True)

_HIGH_ENTROPY = _Rule("high_entropy", re.compile(
    r"(?<![\w.-])[A-Za-z_][\w.-]{0,60}['\"]?[ \t]*(?:==|:=|=>|=|:)[ \t]*(?P<q>['\"`])"
    r"(?P<value>[A-Za-z0-9+/=_.-]{20,1000})(?P=q)"),
    accept=lambda m: looks_random(m.group("value")), prefilter=re.compile(r"['\"`][A-Za-z0-9+/=_.-]{20}"))


def _apply(rule: _Rule, text: str) -> str:
    """Run ``rule`` over the lines of ``text`` that hold one of its triggers (all of it when it has none)."""
    if not rule.triggers and rule.prefilter is None:
        return _apply_all(rule, text)
    haystack = _ascii_lower(text) if rule.fold else text
    hits: list[int] = []
    for trigger in rule.triggers:
        at = haystack.find(trigger)
        while at != -1:
            hits.append(at)
            at = haystack.find(trigger, at + 1)
    if rule.prefilter is not None:
        hits.extend(m.start() for m in rule.prefilter.finditer(text))
    if not hits:
        return text
    pieces: list[str] = []
    done = 0  # text[:done] is already in pieces
    for at in sorted(hits):
        if at < done:
            continue
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end == -1 else end
        pieces.append(text[done:start])
        pieces.append(_apply_all(rule, text[start:end]))
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _ascii_lower(text: str) -> str:
    """``text`` lower-cased with the same length (offsets must map back; the triggers are ASCII)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return _UPPER_RUN.sub(lambda m: m.group(0).lower(), text)  # a few non-ASCII characters grow when lower-cased


_UPPER_RUN = re.compile(r"[A-Z]+")


def _apply_all(rule: _Rule, text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        if rule.accept is not None and not rule.accept(m):
            return m.group(0)
        kind = rule.kind if rule.kind is not None else rule.kind_of(m)  # type: ignore[misc]
        group = "value" if "value" in m.re.groupindex else 0
        start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
        whole = m.group(0)
        return whole[:start] + MARKER.format(kind=kind) + whole[end:]

    return rule.pattern.sub(replace, text)


def _redact_pem_block(m: re.Match[str]) -> str:
    marker = MARKER.format(kind="private_key")
    return "\n".join(marker for _ in m.group(0).split("\n"))


def is_env_file(path: str | None) -> bool:
    """``.env``, ``.env.local``, ``prod.env``; not ``.env.example`` and other placeholder templates."""
    if not path:
        return False
    name = posixpath.basename(path).lower()
    if name.endswith(_ENV_EXAMPLE_SUFFIXES) or name.startswith(("example.", "sample.")):
        return False
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def is_config_file(path: str | None) -> bool:
    """Files whose unquoted ``key: value`` lines are checked for secret-named keys."""
    return bool(path) and posixpath.splitext(path.lower())[1] in _CONFIG_EXTENSIONS  # type: ignore[union-attr]


def redact_private_keys(text: str) -> str:
    """Replace every line of each complete private key block by ``[REDACTED:private_key]``.

    Run it on a whole file before showing a slice of it: a slice that starts inside a block cannot tell the block's
    body lines (plain base64) from other data.
    """
    return _PEM_BLOCK.sub(_redact_pem_block, text) if PRIVATE_KEY_MARKER in text else text


def redact(text: str, path: str | None = None) -> str:
    """Return ``text`` with every recognised secret replaced by ``[REDACTED:<kind>]``; ``path`` picks file rules."""
    if not text:
        return text
    out = redact_private_keys(text)
    if is_env_file(path):
        out = _apply(_ENV_LINE, out)
    for rule in _TOKEN_RULES:
        out = _apply(rule, out)
    if is_config_file(path):
        out = _apply(_CONFIG_UNQUOTED, out)
    out = _apply(_ASSIGNED_KEYWORD, out)
    return _apply(_HIGH_ENTROPY, out)
