"""Secret redaction for everything the repository tools return.

A secret is replaced by ``[REDACTED:<kind>]``; the text around it (a variable name, a user name in a URL, the key of an
``.env`` line) stays, so the model can still report "a hard-coded password in config.py:12" without seeing it.
Redaction never adds or removes a newline: line numbers stay exact (a secret spanning lines becomes one marker per
line).

Three layers find secrets; their spans are merged, then replaced (``redacted_spans`` gives the spans themselves):

1. **Kingfisher's rule set** (``kingfisher-secret-scanner``, Apache-2.0, in-process Rust + Vectorscan, offline): 488
   maintained provider rules (the Betterleaks/gitleaks rules and Google's Veles rules) run over the whole text at
   native speed. The compiled rules are cached on disk by the library (first load on a machine: ~15-60 s, then
   ~2 s, once per process). The kind is the rule id (``npm_access_token``...). Without the library (import error)
   the two layers below still run and ``BASE_SCANNER`` says so.
2. **Provider tokens** we name ourselves (stable kinds, and formats the rule set misses or only finds next to a
   keyword): ``aws_access_key``, ``github_token``, ``slack_token``, ``stripe_key``, ``openai_key``, ``jwt``...
3. **Context rules**: private key blocks; literals assigned to secret-named keys in every common syntax
   (``=``, ``:``, ``:=``, ``::=``, ``?=``, ``.=``, ``=>``, ``->``, Go ``var x string =``, ``setProperty("k", "v")``,
   JSON with escaped quotes); unquoted values in config, shell, Makefile and ``.env`` files; XML elements and
   attributes (also across lines); connection strings (``Password=``, ``PWD=``, ``AccountKey=``,
   ``SharedAccessKey=``, ``&password=``, ``&sig=``); URLs with credentials; ``sshpass -p``, ``mysql -pX``,
   ``curl -u user:pw``, ``--password X``; ``Authorization: Basic/Bearer``; SQL ``IDENTIFIED BY``/``PASSWORD '...'``;
   ``.netrc``, ``.pgpass``, ``.htpasswd``; random-looking literals (``high_entropy``).

Precision: a value that reads as an identifier, type or enum name (letters and ``_ . : / -`` only, no digit:
``"NextToken"``, ``"UserAPIKeyAuth"``, ``"async"``) is kept, except as a password; so are placeholders (``$VAR``,
``${VAR}``, ``{{ var }}``, ``<your-key>``, ``%(name)s``, ``****``), values with spaces, names like ``token_url`` /
``password_field``, UUIDs, hex hashes and checksums in the entropy rule, and documented example keys
(``...EXAMPLE...``).

Speed: each Python rule names a simpler pattern every match contains (a token rule's regex without look-around, or
literals such as ``AKIA``, ``://``, case-folded ``passw``/``token``); they are loaded with kingfisher's rule set,
so one native pass over a file finds the base's secrets and our candidate lines (``native_scan.py``; the compiled
set is cached like the base's, and compiled again when a pattern changes), and a rule's own regex runs only on the
lines holding one of its hits. Without the library the hits are found with ``str.find`` (slower, same lines).

One piece: the rules, their value tests and the kinds they report are one table that is tuned as a whole against
the recall corpus and the precision run of ``tools/bench secrets``; split across modules, a change to a value test
could not be read next to the rules it changes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import math
import posixpath
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from repo_auditor.tools.native_scan import (
    RULE_PREFIX,
    CandidateScanner,
    candidate_rules_file,
    literal_pattern,
    split_findings,
)

MARKER = "[REDACTED:{kind}]"
# Text that marks a private key block; callers showing part of a file redact blocks over the whole file first.
PRIVATE_KEY_MARKER = "PRIVATE KEY"
# The maintained rule set under our own rules (a pip dependency); None in ``BASE_SCANNER`` until first use.
BASE_LIBRARY = "kingfisher-secret-scanner"


class Span(NamedTuple):
    """Characters ``start:end`` of a text are a secret of ``kind``."""

    start: int
    end: int
    kind: str


# ---------------------------------------------------------------------------------------------------------------
# Value tests
# ---------------------------------------------------------------------------------------------------------------

# Literals shorter than this are never "high entropy": too short to tell random from a word.
HIGH_ENTROPY_MIN_CHARS = 20
# Fraction of the maximum possible entropy (log2 of min(length, 64)) a literal needs to count as random: 99% of
# random base62 strings of 20-40 characters reach 0.83.
HIGH_ENTROPY_RATIO = 0.82
# Share of neighbouring characters that change class (upper/lower/digit/other). Random base62 strings average 0.6;
# CamelCase identifiers with a digit (``SomeLongClassName2``) stay near 0.4, so they are not mistaken for keys.
HIGH_ENTROPY_MIN_CLASS_CHANGES = 0.45

_PLACEHOLDER_START = ("$", "{", "<", "[", "#{", "#/", "@", "os.environ", "env:", "env.", "secret:", "vault:")
_PERCENT_PLACEHOLDER = re.compile(r"%(?:\(|[A-Za-z_]\w*%|[-+ #0]?\d*[sdrif]\b)")
_MASK_CHARS = frozenset("*xX.-_#")
# Values that are not secrets: literals, and the fill-in words of templates and docs.
_NOT_VALUES = frozenset({"true", "false", "null", "none", "nil", "undefined", "yes", "no", "on", "off", "changeme",
                         "change_me", "changeit", "replace_me", "replaceme", "placeholder", "your_password",
                         "yourpassword", "your_token", "your_api_key", "dummy", "test", "testing", "secret", "password",
                         "example", "redacted", "hidden", "required", "optional", "string", "str", "pass", "pwd",
                         "passwd", "pw", "token", "key"})
_IDENTIFIER = re.compile(r"\.?[A-Za-z_][A-Za-z_]*(?:(?:[.:/-]|::)[A-Za-z_]+)*")
# Values that are expressions or references, not literals: indexing (``Shards[-1]``), OIDs and versions, URLs
# without a password.
_EXPRESSION = re.compile(r"\w\[[-\d*:]+\]|^[\d.]+$|^[a-z][a-z0-9+.-]*://[^@\s]*$|^/[A-Za-z_/.-]*$|\w\(.*\)$")
_KEYWORD_WORD = re.compile(r"(?i)passw|secret|token|api.?key|credential")
# Names of tokens that are not credentials: pagination, idempotency and change tokens (AWS APIs).
_NOT_SECRET_TOKEN_NAME = re.compile(
    r"(?i)(?:request|change|action|idempotency|continuation|next|page|pagination|sync|cancel|resume|purchase|marker"
    r"|csrf_?token_?name|max|min|num|count|total)[_-]?tokens?$")
_EXAMPLE = re.compile(r"EXAMPLE|example|(?:x{6}|X{6})|0{8}|1234567890")
_PLACEHOLDER_INSIDE = re.compile(r"\{\{|\$\{|%\(|%s\b|\{\}|\{[A-Za-z_]\w*\}|<[A-Za-z_-]+>")


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


def looks_like_identifier(value: str) -> bool:
    """Identifiers, type and enum names, dotted paths and words: letters and ``_ . : / -``, no digit."""
    return bool(_IDENTIFIER.fullmatch(value))


def is_example(value: str) -> bool:
    """Documented example keys (``AKIAIOSFODNN7EXAMPLE``) and fill-in values (``xxxxxx``, ``1234567890``)."""
    return bool(_EXAMPLE.search(value))


def _is_literal_secret(value: str) -> bool:
    if len(value) < 3 or any(c.isspace() for c in value) or value.startswith(_PLACEHOLDER_START):
        return False
    if value.startswith("%") and _PERCENT_PLACEHOLDER.match(value):
        return False
    if "..." in value or "\u2026" in value or "***" in value or _EXPRESSION.search(value):
        return False
    if "[REDACTED:" in value or set(value) <= _MASK_CHARS or value.lower() in _NOT_VALUES:
        return False
    return not _PLACEHOLDER_INSIDE.search(value) and not is_example(value)


# ---------------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------------

# Keyword names whose assigned literal is a secret. Bounded repetitions keep every pattern linear on long lines.
_KEYWORDS = (r"passw(?:or)?d|passwd|passphrase|pwd|(?<![a-z])pass(?![a-z])|secret|token|api[_-]?key|apikey"
             r"|access[_-]?key|auth[_-]?key|private[_-]?key|credentials?|(?<![a-z])auth(?![a-z])")
# Lower-case literals one of which every keyword match contains.
_KEYWORD_TRIGGERS = ("passw", "pwd", "passphrase", "_pass", "pass_", "pass'", 'pass"', "pass:", "pass =", "pass=",
                     "$pass", "secret", "token", "api_key", "apikey", "api-key", "access_key", "accesskey",
                     "access-key", "auth_key", "authkey", "auth-key", "private_key", "privatekey", "private-key",
                     "credential", "auth'", 'auth"', "auth:", "auth =", "auth=", "_auth")
_NAME = rf"[\w.$-]{{0,40}}?(?:{_KEYWORDS})[\w.-]{{0,40}}"
_PASSWORD_NAME = re.compile(r"(?i)passw|pwd|passphrase")

# Names that contain a keyword but name something that is not a secret (token_url, password_field, secret_name).
_NOT_SECRET_NAME_SUFFIXES = (
    "name", "type", "field", "url", "uri", "endpoint", "path", "file", "dir", "env", "var", "header", "prefix",
    "suffix", "len", "length", "count", "label", "id", "ids", "format", "pattern", "regex", "re", "kind", "class",
    "mode", "hint", "policy", "validator", "expiry", "expires", "ttl", "timeout", "limit", "size", "min", "max",
    "types", "names", "fields", "keys", "index", "idx", "chars", "char", "start", "end", "pos", "param", "params",
    "method", "methods", "location", "cls", "fn", "func", "callback", "manager", "provider", "store", "storage",
    "source", "sources", "kwargs", "args", "enabled", "required", "key_id", "keyid", "version", "prompt", "help",
    "message", "msg", "text", "error", "errors", "status", "attr", "attribute", "column", "col", "table", "hash",
    "digest", "algorithm", "alg", "algo", "encoding", "scheme", "scope", "scopes", "audience", "issuer",
    "lastused", "last_used", "date", "time", "counter", "tokenizer", "route", "routes", "counts", "usage", "budget",
)


def _keyword_kind(name: str) -> str:
    lowered = name.lower()
    for kind, needles in (("password", ("passw", "pwd", "passphrase", "pass")),
                          ("api_key", ("apikey", "api_key", "api-key")),
                          ("private_key", ("private",)), ("access_key", ("access",)), ("secret", ("secret",)),
                          ("token", ("token",)), ("credential", ("credential",)), ("auth_key", ("auth",)),
                          ("signature", ("sig",))):
        if any(n in lowered for n in needles):
            return kind
    return "secret"


def _secret_name(name: str, value: str) -> bool:
    lowered = name.lower().strip("'\"\\$[]")
    if lowered.endswith(_NOT_SECRET_NAME_SUFFIXES) or _NOT_SECRET_TOKEN_NAME.search(lowered):
        return False
    simple = value.lower().replace("-", "_")
    lowered = lowered.replace("-", "_")
    return simple not in lowered and lowered not in simple  # PASSWORD = "password" is a label, not a secret


def _secret_value(name: str, value: str, sep: str = "=") -> bool:
    """Whether ``value`` assigned to the secret-named ``name`` is a secret (not an identifier, label or placeholder)."""
    if not _is_literal_secret(value) or not _secret_name(name, value):
        return False
    if looks_like_identifier(value):
        # An identifier-shaped value is a password only when assigned to a password name, never when compared,
        # and never when it names itself (``"mypassword"``, ``"your_token"``).
        if _KEYWORD_WORD.search(value):
            return False
        return bool(_PASSWORD_NAME.search(name)) and sep.strip() not in ("==", "!=", ",", "===", "!==") \
            and len(value) >= 4 and not value.isupper() and not (_CAMEL.search(value) and _reads_as_words(value))
    return True


_CAMEL = re.compile(r"[a-z][A-Z]|^[A-Z][a-z]+[A-Z]|_")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


def _reads_as_words(value: str) -> bool:
    """Whether a camel or snake name splits into words (``dbPassword``, ``get_XML_value``), not the case soup of
    a random password (``vMqaoHwAivFsZMLFGlXiGGzg`` splits into ten pieces averaging 2.4 letters; ``Pslddz`` and
    ``Tg`` have no vowel)."""
    words = _WORDS.findall(value)
    if not words or sum(map(len, words)) < 3 * len(words) or sum(len(w) == 1 for w in words) > 1:
        return False
    spoken = [w for w in words if not w.isupper()]
    acronyms = [w for w in words if w.isupper() and len(w) > 1]
    # Http, Xml, Sql: short capitalised abbreviations are the only words without a vowel
    vowelless = [w for w in spoken if not _VOWEL.search(w)]
    return all(3 <= len(w) <= 4 and w[0].isupper() for w in vowelless) and len(vowelless) <= 2 \
        and not any(_CONSONANTS.search(w) for w in spoken) \
        and all(len(w) <= 5 for w in acronyms) and (len(acronyms) <= 1 or not spoken)


_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_CONSONANTS = re.compile(r"[^aeiouyAEIOUY]{5}")


# ---------------------------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    """One pattern: the named group ``value`` (or the whole match) is a secret when ``accept`` agrees."""

    kind: str | None  # None: computed from the match by ``kind_of``
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] | None = None
    kind_of: Callable[[re.Match[str]], str] | None = None
    # Every match contains one of these literals (in the lower-cased text when ``fold``), or a hit of ``prefilter``;
    # the pattern runs only on the lines that do (and ``lines_after`` more). Scanning for literals is C speed.
    triggers: tuple[str, ...] = ()
    fold: bool = False
    prefilter: re.Pattern[str] | None = None
    lines_after: int = 0
    # Lines longer than this (minified bundles, one-line tokenizer vocabularies) are skipped by context rules;
    # provider tokens in them are still found by the token rules and the base.
    max_line: int | None = None
    # Every match holds one of these characters (a quote): candidate lines without any are not searched.
    needs: tuple[str, ...] = ()


def _has_digit(m: re.Match[str]) -> bool:
    return bool(re.search(r"\d", m.group(0)))


def _not_example(m: re.Match[str]) -> bool:
    return not is_example(m.group("value") if "value" in m.re.groupindex else m.group(0))


_PEM_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----.{0,20000}?-----END \1PRIVATE KEY\2-----", re.DOTALL)

# A BEGIN line and the key body after it (base64 lines, ``Proc-Type:`` headers, blank lines), for cut-off blocks.
_PEM_OPEN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
                       r"(?:(?:\r?\n|\\n)[ \t]*(?:[A-Za-z0-9+/=]{16,200}|[A-Za-z-]{1,40}: [^\n]{0,200}|))*")

_KEY_BODY = re.compile(r"[A-Za-z0-9+/]{40}")  # a block whose body is "..." is documentation

_B = r"(?![A-Za-z0-9_-])"  # end of a token
# Provider formats we name ourselves: prefix -> body. Kinds group families; ``_B`` ends the token.
_PREFIXED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}\b", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b", ("gh", "github_pat_")),
    ("gitlab_token", r"\bgl(?:pat|rt|dt|ft|cbt|ptt|oas|soat|imt|agent)-[A-Za-z0-9_-]{20,64}" + _B, ("gl",)),
    ("slack_token", r"\bxox[abeoprs]-[A-Za-z0-9-]{10,250}|\bxapp-\d-[A-Z0-9]{9,}-\d{10,}-[a-f0-9]{32,}"
     r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{10,200}", ("xox", "xapp-", "hooks.slack")),
    ("discord_token", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{5,20}/[A-Za-z0-9_-]{20,100}"
     r"|\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}" + _B, ("discord", "Discord", "DISCORD")),
    ("telegram_token", r"\b\d{8,10}:AA[A-Za-z0-9_-]{32,34}" + _B, (":AA",)),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}" + _B, ("AIza",)),
    ("google_oauth_secret", r"\bGOCSPX-[A-Za-z0-9_-]{28}" + _B, ("GOCSPX-",)),
    ("stripe_key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,247}\b", ("k_live_", "k_test_")),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,250}", ("sk-ant-",)),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-|or-v\d-)?[A-Za-z0-9_-]{20,250}", ("sk-",)),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,4096}", ("eyJ",)),
    ("api_token", r"\b(?:npm_[A-Za-z0-9]{36}|pypi-AgE[A-Za-z0-9_-]{50,}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"
     r"|hf_[A-Za-z]{34}|api_org_[A-Za-z]{34}|key-[a-f0-9]{32}|pubkey-[a-f0-9]{32}"
     r"|hv[sbr]\.[A-Za-z0-9_-]{24,}|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"
     r"|do[por]_v1_[a-f0-9]{64}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|dapi[a-f0-9]{32}(?:-\d)?"
     r"|eyJrIjoi[A-Za-z0-9]{70,400}={0,3}|glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
     r"|lin_(?:api|oauth)_[A-Za-z0-9]{40}|dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}|NRAK-[A-Z0-9]{27}|NRII-[a-z0-9-]{32}"
     r"|NRJS-[a-f0-9]{19}|sntr[yus]s?_[A-Za-z0-9+/=_]{32,}|EAAA[A-Za-z0-9_-]{22,60}|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}"
     r"|ATATT3[A-Za-z0-9_=-]{180,}|dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}|PMA[KT]-[A-Za-z0-9-]{24,60}"
     r"|pul-[a-f0-9]{40}|[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}|pscale_(?:tkn|pw|oauth)_[A-Za-z0-9=._-]{32,64}"
     r"|sbp_[a-f0-9]{40}|rnd_[A-Za-z0-9]{32}|tskey-(?:api|auth|client|scim|webhook)-[A-Za-z0-9]{10,}-[A-Za-z0-9]{20,}"
     r"|bkua_[a-f0-9]{40}|CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}|sgp_[a-f0-9]{16}_[a-f0-9]{40}|p8e-[A-Za-z0-9]{32}"
     r"|LTAI[A-Za-z0-9]{20}|fio-u-[A-Za-z0-9_=-]{64}|rdme_[a-z0-9]{70}|pnu_[A-Za-z0-9]{36}|tfp_[A-Za-z0-9_.=-]{59}"
     r"|dd[pw]_[A-Za-z0-9]{36}|fo1_[A-Za-z0-9_-]{43}|FlyV1 fm\d+_[A-Za-z0-9+/=,_-]{100,}|EZ[AT]K[A-Za-z0-9]{54}"
     r"|duffel_(?:test|live)_[A-Za-z0-9_=-]{43}|CFPAT-[A-Za-z0-9_-]{43}|ntn_\d{11}[A-Za-z0-9]{35}"
     r"|API-[A-Z0-9]{26}|ico-[A-Za-z0-9]{32}|tk-us-[A-Za-z0-9_-]{48}"
     r"|ops_eyJ[A-Za-z0-9+/=]{100,}|sk\.eyJ[A-Za-z0-9]{50,}\.[A-Za-z0-9_-]{22}|xai-[A-Za-z0-9]{80}|gsk_[A-Za-z0-9]{52}"
     r"|pplx-[A-Za-z0-9]{48}|r8_[A-Za-z0-9]{37}|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|rubygems_[a-f0-9]{48}"
     r"|CLOJARS_[a-z0-9]{60}|oy2[a-z0-9]{43}|dckr_pat_[A-Za-z0-9_-]{27}|AKCp[A-Za-z0-9]{69}|shippo_(?:live|test)_[a-f0-9]{40}"
     r"|FLWSECK(?:_TEST)?-[a-f0-9]{32}-X|xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}|re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}"
     r"|[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})" + _B,
     ("npm_", "pypi-", "SG.", "hf_", "api_org_", "key-", "hvs.", "hvb.", "hvr.", "AGE-SECRET", "_v1_", "shpat_",
      "shpca_", "shppa_", "shpss_", "dapi", "eyJrIjoi", "glc_", "glsa_", "lin_api_", "lin_oauth_", "dt0c01.", "NRAK-",
      "NRII-", "NRJS-", "sntry", "sntrs", "sntru", "EAAA", "sq0atp-", "sq0csp-", "ATATT3", "dp.pt.", "dp.st.", "dp.sa.",
      "dp.ct.", "dp.scim.", "dp.audit.", "PMAK-", "PMAT-", "pul-", ".atlasv1.", "pscale_", "sbp_", "rnd_", "tskey-",
      "bkua_", "CCIPAT_", "sgp_", "p8e-", "LTAI", "fio-u-", "rdme_", "pnu_", "tfp_", "ddp_", "ddw_", "fo1_", "FlyV1",
      "EZAK", "EZTK", "duffel_", "CFPAT-", "ntn_", "API-", "ico-", "tk-us-", "ops_eyJ", "sk.eyJ", "xai-", "gsk_",
      "pplx-", "r8_", "lsv2_", "rubygems_", "CLOJARS_", "oy2", "dckr_pat_", "AKCp", "shippo_", "FLWSECK", "xkeysib-",
      "re_", "Q~")),
)


def _token_accept(m: re.Match[str]) -> bool:
    return _token_value_ok(m.group(0))


def _token_value_ok(value: str) -> bool:
    if is_example(value) or not re.search(r"\d", value) and not value.startswith(("https://", "hf_", "api_org_")):
        return False
    return True


def _discord_accept(m: re.Match[str]) -> bool:
    value = m.group(0)
    return value.startswith("https://") or (_token_accept(m) and looks_random(value.split(".")[0]))


# An AWS key id is its prefix and 16 base-32 characters: specific enough without the digit other tokens need (about
# 3.6% of real ids have none).
_ACCEPT_BY_KIND: dict[str, Callable[[re.Match[str]], bool]] = {
    "discord_token": _discord_accept, "aws_access_key": _not_example,
}

_TOKEN_RULES: tuple[_Rule, ...] = (
    *(_Rule(kind, re.compile(pattern), accept=_ACCEPT_BY_KIND.get(kind, _token_accept), triggers=triggers)
      for kind, pattern, triggers in _PREFIXED),
    _Rule("aws_secret_key", re.compile(
        r"(?i)aws_?secret(?:_?access)?_?key['\"]?[ \t]*(?:=|:|=>)[ \t]*['\"]?(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
          accept=_not_example, triggers=("secret",), fold=True),
    _Rule("url_password", re.compile(
        r"\b[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s:/@'\"<>]{0,100}:(?P<value>[^\s@/'\"<>]{1,200})@"),
          accept=lambda m: _is_literal_secret(m.group("value")) and m.group("value") != "password",
          triggers=("://",)),
)

_Q = r"(?P<q>\\?['\"`])"  # a quote, or an escaped quote inside a JSON/string literal
_SEP = (r"(?P<close>\\?['\"]?\]?)(?P<sep>[ \t]*(?::[ \t]*[\w\[\]., |&*]{1,40}?[ \t]*)?"
        r"(?:===|!==|==|!=|::=|:=|\?=|\+=|\.=|=>|->|<-|=|:|,)[ \t]*"
        r"|[ \t]+[\w\[\]*.&]{1,30}[ \t]*=[ \t]*)")  # the last: Go's ``var name string = "..."``
def _assigned_accept(m: re.Match[str]) -> bool:
    sep = m.group("sep").strip()
    name, value = m.group("name"), m.group("value")
    if sep == ",":  # setProperty("db.password", "..."), define('DB_PASSWORD', '...'): a quoted first argument only
        before = m.string[max(0, m.start("name") - 3):m.start("name")].replace(" ", "")
        if not (before.endswith(("('", '("')) and m.group("close").strip("\\")):
            return False
        if re.search(r"[a-z][A-Z]", name) and not re.search(r"[._]", name):
            return False  # MovedAttribute("HTTPPasswordMgr", ...): a class name, not a property key
        if re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", value):
            return False  # ("enable_jwt_auth", "enable_oauth2_auth"): a list of names
    elif not sep.endswith(tuple("=:>-,")) or re.search(r"\w[ \t]+\S", sep) and "=" in sep and ":" not in sep:
        before = m.string[max(0, m.start("name") - 6):m.start("name")]
        if not re.search(r"\b(?:var|const)[ \t]+$", before) or m.group("close"):
            return False  # the typed form is Go's ``var name type = "..."`` only
    return _secret_value(m.group("name"), m.group("value"), m.group("sep"))


_ASSIGNED_KEYWORD = _Rule(None, re.compile(
    rf"(?i)(?<![\w.-])(?P<name>{_NAME}){_SEP}(?:\w{{1,10}}\()?{_Q}(?P<value>[^'\"`\\\r\n]{{1,500}}?)(?P=q)"),
    accept=_assigned_accept,
    kind_of=lambda m: _keyword_kind(m.group("name")), triggers=_KEYWORD_TRIGGERS, fold=True, max_line=4000,
    needs=("'", '"', "`"))

# Unquoted values: config files (YAML, INI, properties, TOML, .env), shell scripts, Makefiles, Dockerfiles.
_CONFIG_UNQUOTED = _Rule(None, re.compile(
    rf"(?im)(?:^|(?<=[\s;:]))(?:[ \t]*-)?[ \t]*(?:export[ \t]+|ENV[ \t]+|ARG[ \t]+|set[ \t]+|-e[ \t]+)?['\"]?"
    rf"(?P<name>{_NAME})['\"]?[ \t]*(?P<sep>::=|:=|\?=|\+=|=|:(?!:))[ \t]*"
    rf"(?P<value>[^\s'\"#&*!|>{{\[][^\s#;]{{2,500}})"),
    accept=lambda m: _secret_value(m.group("name"), m.group("value").rstrip(",)"), "="),
    kind_of=lambda m: _keyword_kind(m.group("name")), triggers=_KEYWORD_TRIGGERS, fold=True, max_line=4000)

# Key=value pairs in connection strings and query strings: after ``;``, ``?``, ``&`` (or before one).
_CONN_NAMES = (r"password|passwd|pwd|pass|accountkey|sharedaccesskey|sharedsecret|client_secret|clientsecret"
               r"|access_token|auth_token|api_key|apikey|secret|token|sig")
_CONNECTION = _Rule(None, re.compile(
    rf"(?i)(?:(?<=[;?&])[ \t]*(?P<name>{_CONN_NAMES})[ \t]*=[ \t]*(?P<value>[^;&\s'\"<>()`]{{1,500}})"
    rf"|(?<![\w.])(?P<name2>{_CONN_NAMES})=(?P<value2>[^;&\s'\"<>(),`]{{1,500}})(?=[;&]))"),
    accept=lambda m: _conn_accept(m), kind_of=lambda m: _keyword_kind(m.group("name") or m.group("name2")),
    triggers=("password=", "passwd=", "pwd=", "pass=", "accountkey=", "sharedaccesskey=", "sharedsecret=",
              "secret=", "token=", "api_key=", "apikey=", "sig="), fold=True)


def _conn_accept(m: re.Match[str]) -> bool:
    value = m.group("value") or m.group("value2")
    return _is_literal_secret(value) and not looks_like_identifier(value)


_CLI = _Rule("password", re.compile(
    r"\bsshpass[ \t]+-p[ \t]*(?P<q1>['\"]?)(?P<v1>[^\s'\"]+)(?P=q1)"
    r"|\bmysql(?:dump|admin|import|show)?\b[^\n]{0,200}?[ \t]-p(?P<v2>[^\s'\"-][^\s'\"]*)"
    r"|\bcurl\b[^\n]{0,300}?[ \t](?:-u|--user)[ \t]+['\"]?[^\s:'\"]{1,100}:(?P<v3>[^\s'\"@]+)"
    r"|(?<![\w-])--(?:password|passwd|pass|token|secret|api-key)(?:=|[ \t]+)(?P<q4>['\"]?)(?P<v4>[^\s'\"]+)(?P=q4)"),
    accept=lambda m: _cli_accept(m), triggers=("sshpass", "mysql", "curl", "--pass", "--token", "--secret", "--api-key"))


def _cli_accept(m: re.Match[str]) -> bool:
    value = next(v for v in (m.group("v1"), m.group("v2"), m.group("v3"), m.group("v4")) if v is not None)
    return _is_literal_secret(value) and not value.startswith("-") and not looks_like_identifier(value)


_XML_TRIGGERS = ("password>", "passwd>", "pwd>", "passphrase>", "secret>", "token>", "key>", "credential>",
                 "credentials>", "signature>", 'value="')
_XML = _Rule(None, re.compile(
    rf"(?i)<(?P<name>[\w:.-]{{0,40}}?(?:{_KEYWORDS})[\w:.-]{{0,40}})(?:[ \t][^>\n]{{0,200}})?>\s{{0,200}}?"
    rf"(?P<value>[^<\s]{{1,500}})\s{{0,200}}?</(?P=name)>"
    rf"|\bkey[ \t]*=[ \t]*\"(?P<name2>[^\"\n]{{0,60}}?(?:{_KEYWORDS})[^\"\n]{{0,60}})\"[ \t]+value[ \t]*=[ \t]*\""
    rf"(?P<value2>[^\"\n]{{1,500}})\""),
    accept=lambda m: _secret_value(m.group("name") or m.group("name2"), m.group("value") or m.group("value2")),
    kind_of=lambda m: _keyword_kind(m.group("name") or m.group("name2")), triggers=_XML_TRIGGERS, fold=True,
    lines_after=3)

_HTTP_SQL = _Rule(None, re.compile(
    r"(?i:authorization)['\"]?[ \t]*[:=,][ \t]*['\"]?(?i:basic|bearer|token|digest)[ \t]+(?P<value>[A-Za-z0-9+/_.~=-]{8,})"
    r"|(?i:identified[ \t]+by)[ \t]+(?P<q>['\"])(?P<value2>[^'\"\n]{1,200})(?P=q)"
    r"|\bPASSWORD[ \t]+(?P<q3>['\"])(?P<value3>[^'\"\n]{1,200})(?P=q3)"),
    accept=lambda m: _http_accept(m), kind_of=lambda m: "authorization" if m.group("value") else "password",
    triggers=("authorization", "identified", "password"), fold=True)


def _http_accept(m: re.Match[str]) -> bool:
    value = m.group("value") or m.group("value2") or m.group("value3")
    if not _is_literal_secret(value):
        return False
    return not looks_like_identifier(value) if m.group("value") else True


_ENTROPY_NAME_HINT = re.compile(r"(?i)key|salt|secret|token|pass|pwd|auth|cred|sign|hmac|seed|cookie|session"
                                r"|private|cert|api|nonce|cipher|crypt|license")


def _entropy_accept(m: re.Match[str]) -> bool:
    value = m.group("value")
    name = m.group("name")
    if not looks_random(value) or not _is_literal_secret(value) or not _ENTROPY_NAME_HINT.search(name):
        return False
    if not _secret_name(name, value) or _NOT_SECRET_TOKEN_NAME.search(name.strip("'\"")):
        return False
    return not _decodes_to_text(value)


def _decodes_to_text(value: str) -> bool:
    """Base64 of readable text (``eyAiTmFtZSI6...`` is JSON): encoded data, not a key."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value
                               else None, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 8 and sum(32 <= b < 127 or b in (9, 10, 13) for b in raw) / len(raw) > 0.95


_HIGH_ENTROPY = _Rule("high_entropy", re.compile(
    r"(?<![\w.-])(?P<name>[A-Za-z_][\w.-]{0,60})['\"]?[ \t]*(?:==|:=|=>|=|:)[ \t]*(?P<q>['\"`])"
    r"(?P<value>[A-Za-z0-9+/=_.-]{20,1000})(?P=q)"),
    accept=_entropy_accept,
    prefilter=re.compile(r"[=:>][ \t]*['\"`][A-Za-z0-9+/=_.-]{20}"))  # the operator, the quote, 20 characters

_ENV_LINE = _Rule("env_value", re.compile(
    r"(?m)^[ \t]*(?:export[ \t]+)?[A-Za-z_][\w.-]{0,200}[ \t]*=[ \t]*(?P<value>[^\r\n]{0,10000}[^\s])"),
    accept=lambda m: "[REDACTED:" not in m.group("value"))

# Credential files: the value is the last field (.pgpass), the field after the user (.htpasswd), or after
# ``password`` (.netrc, anywhere on a ``machine`` line too).
_PGPASS = _Rule("password", re.compile(r"(?m)^[^#\s:][^:\n]*:[^:\n]*:[^:\n]*:[^:\n]*:(?P<value>[^\n]+?)\r?$"))
_HTPASSWD = _Rule("password", re.compile(r"(?m)^[^#\s:][^:\n]{0,200}:(?P<value>[^\s:][^\s]{2,})\r?$"))
_NETRC = _Rule("password", re.compile(r"(?i)\b(?:password|passwd)[ \t]+(?P<value>[^\s]+)"),
               triggers=("passw",), fold=True)
_NETRC_LINE = _Rule("password", re.compile(r"\bmachine[ \t]+\S+[ \t]+(?:login[ \t]+\S+[ \t]+)?password[ \t]+(?P<value>\S+)"),
                    triggers=("machine",))

_ENV_EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")
_CONFIG_EXTENSIONS = frozenset({".yml", ".yaml", ".ini", ".cfg", ".conf", ".properties", ".toml", ".env", ".sh",
                                ".bash", ".zsh", ".ksh", ".mk", ".tf", ".tfvars", ".hcl", ".npmrc", ".pypirc",
                                ".gradle", ".cnf", ".service", ".desktop"})
_CONFIG_NAMES = frozenset({"makefile", "gnumakefile", "dockerfile", "containerfile", ".npmrc", ".pypirc", ".yarnrc",
                           ".gemrc", ".pgpass", ".my.cnf", "credentials", "config", "procfile", "jenkinsfile", "vagrantfile"})



def is_env_file(path: str | None) -> bool:
    """``.env``, ``.env.local``, ``prod.env``; not ``.env.example`` and other placeholder templates."""
    if not path:
        return False
    name = posixpath.basename(path).lower()
    if name.endswith(_ENV_EXAMPLE_SUFFIXES) or name.startswith(("example.", "sample.")):
        return False
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def is_config_file(path: str | None) -> bool:
    """Files whose unquoted ``key: value`` / ``KEY=value`` lines are checked for secret-named keys."""
    if not path:
        return False
    name = posixpath.basename(path.lower())
    return (posixpath.splitext(name)[1] in _CONFIG_EXTENSIONS or name in _CONFIG_NAMES or is_env_file(path)
            or name.startswith(("dockerfile", "makefile", ".env")))


def _file_rules(path: str | None) -> tuple[_Rule, ...]:
    return _file_rules_named(posixpath.basename(path.lower())) if path else ()


@functools.lru_cache(maxsize=4096)
def _file_rules_named(name: str) -> tuple[_Rule, ...]:
    """The file rules for a lower-case file name (the tests read only the name: cached across folders)."""
    rules = []
    if is_env_file(name):
        rules.append(_ENV_LINE)
    if name in (".pgpass", "pgpass.conf", "pgpass"):
        rules.append(_PGPASS)
    if name.startswith(".htpasswd") or name.endswith(".htpasswd") or name == "htpasswd":
        rules.append(_HTPASSWD)
    if name in (".netrc", "_netrc", "netrc"):
        rules.append(_NETRC)
    if is_config_file(name):
        rules.append(_CONFIG_UNQUOTED)
    return tuple(rules)


_RULES_ALWAYS = (_ASSIGNED_KEYWORD, _CONNECTION, _CLI, _XML, _HTTP_SQL, _NETRC_LINE, _HIGH_ENTROPY)


# ---------------------------------------------------------------------------------------------------------------
# The base scanner (kingfisher)
# ---------------------------------------------------------------------------------------------------------------

BASE_SCANNER: str | None = None  # "kingfisher-secret-scanner 1.5.0 (488 rules)" once loaded, "" when unavailable
_base: Any = None
_base_merged = False  # True when our candidate patterns were loaded into the base's scanner (one native pass)
_base_lock = threading.Lock()


def _base_scanner() -> Any:
    """The kingfisher scanner, loaded once per process, with our candidate patterns (``native_scan.py``) when they
    load with its rule set: one pass over a file then finds both. None when the library is missing or fails."""
    global _base, _base_merged, BASE_SCANNER
    if BASE_SCANNER is not None:
        return _base
    with _base_lock:
        if BASE_SCANNER is None:
            try:
                import kingfisher_sdk

                try:
                    rules = kingfisher_sdk.Rules([candidate_rules_file(_NATIVE_PATTERNS)])
                    ours = sum(1 for rule in rules.metadata() if rule["id"].startswith(RULE_PREFIX))
                    if ours != len(_NATIVE_PATTERNS):
                        raise ValueError(f"{len(_NATIVE_PATTERNS) - ours} candidate patterns were not loaded")
                    _base_merged = True
                except Exception as exc:  # noqa: BLE001 - the candidates then take a pass of their own
                    logging.getLogger(__name__).info("secret candidates in a separate pass (%s)", exc)
                    rules, ours, _base_merged = kingfisher_sdk.Rules(), 0, False
                _base = kingfisher_sdk.Scanner(rules, base64=False)
                BASE_SCANNER = f"{BASE_LIBRARY} {kingfisher_sdk.__version__} ({len(rules) - ours} rules)"
            except Exception as exc:  # noqa: BLE001 - any failure leaves our own rules in force, loudly
                logging.getLogger(__name__).warning(
                    "secret redaction runs without %s (%s); only the built-in rules apply", BASE_LIBRARY, exc)
                _base, _base_merged, BASE_SCANNER = None, False, ""
    return _base


def _native_scan(text: str, data: bytes) -> tuple[list[Span], dict[int, list[int]] | None]:
    """The base's secrets in ``text`` (``data``: encoded as UTF-8) and our candidate hits (``_candidate_hits``), in
    one native pass when they were loaded together."""
    scanner = _base_scanner()
    if not _base_merged:
        return _base_spans(text, data), _candidate_hits(text, data)
    findings, hits = split_findings(scanner._native.scan_bytes(data))  # native findings: no wrapper needed
    if hits and len(data) != len(text):
        hits = {i: _char_offsets(data, offsets) for i, offsets in hits.items()}
    return _spans_of(text, data, findings), hits


def _base_spans(text: str, data: bytes | None = None) -> list[Span]:
    """The base's secrets in ``text`` (``data``: the text encoded as UTF-8, when the caller has it)."""
    scanner = _base_scanner()
    if scanner is None:
        return []
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    return _spans_of(text, data, split_findings(scanner._native.scan_bytes(data))[0])


def _spans_of(text: str, data: bytes, findings: list[Any]) -> list[Span]:
    """The spans of the base's native ``findings`` in ``text``, its false positives and examples left out."""
    if not findings:
        return []
    ascii_only = len(data) == len(text)
    spans = []
    for finding in findings:
        if not finding.visible:
            continue
        where = finding.location
        start, end = where["start_offset"], where["end_offset"]
        if not ascii_only:
            start = len(data[:start].decode("utf-8", "ignore"))
            end = start + len(data[where["start_offset"]:end].decode("utf-8", "ignore"))
        value = text[start:end]
        if is_example(value) or _base_false_positive(finding.rule_id, value):
            continue
        spans.append(Span(start, end, _kind_of_rule(finding.rule_id)))
    return spans


def _kind_of_rule(rule_id: str) -> str:
    name = rule_id.rsplit("/", 1)[-1]
    for prefix in ("betterleaks.", "kingfisher.", "custom."):
        name = name.removeprefix(prefix)
    return name.replace("-", "_").replace(".", "_")


def _base_false_positive(rule_id: str, value: str) -> bool:
    """Generic rules of the base that fire on identifiers (``"input_token": "NextToken"``)."""
    if looks_like_identifier(value.strip("'\"` ;,")) and len(value) < 24:
        return True  # 'Authorization: Bearer your-api-key'
    if "generic" not in rule_id:
        return False
    tail = re.split(r"[=:]\s*['\"]?", value)[-1].strip("'\"` ;,")
    return looks_like_identifier(tail) or not _is_literal_secret(tail)


# ---------------------------------------------------------------------------------------------------------------
# Running the rules
# ---------------------------------------------------------------------------------------------------------------

# On a line longer than this, a rule runs on a window around each hit rather than the whole line: a secret-named
# key and its value stay within WINDOW_BEFORE characters before the hit, and every token rule's match (hit at its
# start) is shorter than WINDOW_AFTER.
LONG_LINE_CHARS = 20_000
WINDOW_BEFORE = 1_000
WINDOW_AFTER = 20_000


def _python_hits(rule: _Rule, text: str, haystack: str) -> list[int]:
    """Where ``rule``'s triggers or prefilter hit, found in Python (the path without the native pass)."""
    source = haystack if rule.fold else text
    hits: list[int] = []
    for trigger in rule.triggers:
        at = source.find(trigger)
        while at != -1:
            hits.append(at)
            at = source.find(trigger, at + 1)
    if rule.prefilter is not None:
        hits.extend(m.start() for m in rule.prefilter.finditer(text))
    return hits


def _candidate_lines(rule: _Rule, text: str, hits: list[int]) -> list[tuple[int, int]]:
    """(start, end) of the line ranges holding a hit (with ``lines_after``), merged."""
    if not hits:
        return []
    ranges: list[tuple[int, int]] = []
    done = -1
    limit = rule.max_line
    for at in sorted(hits):
        if at < done:
            continue
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        for _ in range(rule.lines_after):
            if end == -1:
                break
            end = text.find("\n", end + 1)
        end = len(text) if end == -1 else end
        if limit is not None and end - start > limit and rule.lines_after == 0:
            done = end
            continue
        if end - start > LONG_LINE_CHARS:  # a minified or one-line data file: a window around the hit
            start, end = max(start, at - WINDOW_BEFORE), min(end, at + WINDOW_AFTER)
            if ranges and start <= ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
            done = at + 1
            continue
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
        done = end
    return ranges


def _rule_spans(rule: _Rule, text: str, hits: list[int] | None) -> list[Span]:
    """``rule``'s secrets on the lines holding one of ``hits`` (None: a rule without triggers, the whole text)."""
    spans = []
    for start, end in _candidate_lines(rule, text, hits) if hits is not None else [(0, len(text))]:
        if rule.needs and all(text.find(c, start, end) == -1 for c in rule.needs):
            continue  # half the lines naming a token or a password assign no quoted literal
        for m in rule.pattern.finditer(text, start, end):
            if rule.accept is not None and not rule.accept(m):
                continue
            kind = rule.kind if rule.kind is not None else rule.kind_of(m)  # type: ignore[misc]
            group = next((g for g in ("value", "value2", "value3", "v1", "v2", "v3", "v4")
                          if g in m.re.groupindex and m.group(g) is not None), 0)
            spans.append(Span(m.start(group), m.end(group), kind))
    return spans


def _ascii_lower(text: str) -> str:
    """``text`` lower-cased with the same length (offsets must map back; the triggers are ASCII)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return _UPPER_RUN.sub(lambda m: m.group(0).lower(), text)  # a few non-ASCII characters grow when lower-cased


_UPPER_RUN = re.compile(r"[A-Z]+")


def _merge(spans: list[Span], base: list[Span] = ()) -> list[Span]:  # type: ignore[assignment]
    """Sorted, non-overlapping spans; overlapping ones join under the kind of the first (ours before the base's
    at the same start, then the longest)."""
    ranked = sorted([(s, 0) for s in spans if s.end > s.start] + [(s, 1) for s in base if s.end > s.start],
                    key=lambda item: (item[0].start, item[1], -item[0].end))
    merged: list[Span] = []
    for span, _ in ranked:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                merged[-1] = Span(last.start, span.end, last.kind)
        else:
            merged.append(span)
    return merged


def _pem_spans(text: str) -> list[Span]:
    """Private key blocks: complete ones, and a BEGIN line with the key body lines after it (no END in sight)."""
    if PRIVATE_KEY_MARKER not in text:
        return []
    spans = [Span(m.start(), m.end(), "private_key") for m in _PEM_BLOCK.finditer(text) if _KEY_BODY.search(m.group())]
    for m in _PEM_OPEN.finditer(text):
        if not any(s.start <= m.start() < s.end for s in spans) and _KEY_BODY.search(m.group()):
            spans.append(Span(m.start(), m.end(), "private_key"))
    return spans


def redacted_spans(text: str, path: str | None = None, *, base: bool = True) -> list[Span]:
    """The secrets in ``text`` as sorted, non-overlapping ``Span(start, end, kind)`` (character offsets).

    ``redact`` replaces exactly these. A tool that matches on raw text (grep) can drop a match that lies inside
    a span, so the model cannot probe a secret by match counts. ``base=False`` leaves out the kingfisher layer.
    """
    if not text:
        return []
    spans = _pem_spans(text)
    data = text.encode("utf-8", "surrogatepass") if base else b""
    base_spans, native = _native_scan(text, data) if base else ([], None)
    haystack = _ascii_lower(text) if native is None else ""
    rules = (*_file_rules(path), *_RULES_IN_ORDER)
    if native is not None:  # most files fire none or one or two rules: confirm only those
        fired = {position for index in native for position in _RULES_OF_PATTERN[index]}
        rules = (*_file_rules(path), *(_RULES_IN_ORDER[position] for position in sorted(fired)))
    for rule in rules:
        if not rule.triggers and rule.prefilter is None:
            hits = None
        elif native is not None:
            hits = [at for index in _NATIVE_INDEX[id(rule)] for at in native.get(index, ())]
        else:
            hits = _python_hits(rule, text, haystack)
        if hits == []:
            continue  # nothing to confirm
        spans.extend(_rule_spans(rule, text, hits))
    return _merge(spans, base_spans)


# ---------------------------------------------------------------------------------------------------------------
# The candidate lines of our rules, in one native pass
# ---------------------------------------------------------------------------------------------------------------

_LOOKAROUND = re.compile(r"\(\?<?[!=][^()]*\)")


def _native_patterns(rule: _Rule) -> list[str]:
    """Patterns one of which every match of ``rule`` contains, for the Rust engine: a token rule's own regex without
    look-around and group names (a superset), else its prefilter, else one pattern per literal trigger. The engine
    confirms a pattern that fired over the whole text; a single literal confirms several times faster than an
    alternation of dozens (0.17 s against 0.5 s over the stdlib)."""
    if rule in _TOKEN_RULES:
        return ["(" + re.sub(r"\(\?P<\w+>", "(?:", _LOOKAROUND.sub("", rule.pattern.pattern)) + ")"]
    if rule.prefilter is not None:
        return ["(" + rule.prefilter.pattern + ")"]
    return [literal_pattern((trigger,), fold=rule.fold) for trigger in rule.triggers]


_NATIVE_RULES = tuple(dict.fromkeys(r for r in (*_TOKEN_RULES, *_RULES_ALWAYS, _NETRC, _CONFIG_UNQUOTED)
                                    if r.triggers or r.prefilter is not None))
# Rules sharing a trigger share its pattern.
_NATIVE_PATTERNS = list(dict.fromkeys(p for rule in _NATIVE_RULES for p in _native_patterns(rule)))
_NATIVE_INDEX = {id(rule): tuple(_NATIVE_PATTERNS.index(p) for p in _native_patterns(rule)) for rule in _NATIVE_RULES}
# The rules run on every file, in the order their spans are merged, and which of them each pattern can fire.
_RULES_IN_ORDER = (*_TOKEN_RULES, *_RULES_ALWAYS)
_RULES_OF_PATTERN = [tuple(position for position, rule in enumerate(_RULES_IN_ORDER)
                           if id(rule) in _NATIVE_INDEX and index in _NATIVE_INDEX[id(rule)])
                     for index in range(len(_NATIVE_PATTERNS))]
_candidates: CandidateScanner | None = None
_candidates_loaded = False


def _candidate_hits(text: str, data: bytes | None = None) -> dict[int, list[int]] | None:
    """Rule index -> character offsets of its candidate hits in ``text`` (``data``: the text encoded as UTF-8, when
    the caller has it); None without the native engine."""
    global _candidates, _candidates_loaded
    if not _candidates_loaded:
        with _base_lock:
            if not _candidates_loaded:
                _candidates = CandidateScanner.load(_NATIVE_PATTERNS)
                _candidates_loaded = True
    if _candidates is None:
        return None
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    hits = _candidates.hits(data)
    if len(data) != len(text):  # byte offsets -> character offsets, in one walk over the sorted offsets
        hits = {i: _char_offsets(data, offsets) for i, offsets in hits.items()}
    return hits


def _char_offsets(data: bytes, offsets: list[int]) -> list[int]:
    out, byte_at, char_at = [], 0, 0
    for offset in offsets:
        char_at += len(data[byte_at:offset].decode("utf-8", "ignore"))
        byte_at = offset
        out.append(char_at)
    return out


def apply_spans(text: str, spans: list[Span]) -> str:
    """``text`` with each span replaced by its marker, one marker per line the span covers."""
    if not spans:
        return text
    pieces = []
    done = 0
    for start, end, kind in spans:
        marker = MARKER.format(kind=kind)
        pieces.append(text[done:start])
        pieces.append("\n".join(marker if line.strip() else line for line in text[start:end].split("\n")))
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def redact_private_keys(text: str) -> str:
    """Replace every line of each complete private key block by ``[REDACTED:private_key]``.

    Run it on a whole file before showing a slice of it: a slice that starts inside a block cannot tell the block's
    body lines (plain base64) from other data.
    """
    return apply_spans(text, _pem_spans(text))


def redact(text: str, path: str | None = None) -> str:
    """Return ``text`` with every recognised secret replaced by ``[REDACTED:<kind>]``; ``path`` picks file rules."""
    if not text:
        return text
    return apply_spans(text, redacted_spans(text, path))


def redact_data(value: Any) -> Any:
    """A copy of ``value`` (JSON-like data: dicts, lists, tuples, text, numbers) with every text redacted; dict keys
    too. Each distinct text is scanned once (an inventory repeats the same paths many times)."""
    seen: dict[str, str] = {}

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            shown = seen.get(item)
            if shown is None:
                shown = seen[item] = redact(item)
            return shown
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return type(item)(walk(v) for v in item)
        return item

    return walk(value)
