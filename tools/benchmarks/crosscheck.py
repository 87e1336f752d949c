"""crosscheck: our symbols and import graph against independent tools, on real code obtained by package name.

    python tools/bench crosscheck                  # every language and graph that has sources
    CROSSCHECK_ONLY=go,rust python tools/bench crosscheck
    CROSSCHECK_WRITE=1 python tools/bench crosscheck   # also rewrite the figures block of CROSSCHECK.md

Sources (fetched on first use into ``$CROSSCHECK_DOWNLOADS``, default ``~/.cache/repo_auditor/bench/crosscheck``;
a source that cannot be found or fetched is skipped with a note):

    python      PyPI sdists ``requests``, ``Django`` (``pip download --no-binary :all:``); only the package folders
    javascript  npm ``express`` 4, ``koa`` (``npm pack``); ``index.js`` and ``lib/``
    typescript  npm ``zod`` (``npm pack``); its ``src/`` (``.d.ts`` builds left out)
    go          Debian ``golang-golang-x-tools-dev``, ``golang-github-spf13-cobra-dev`` (``/usr/share/gocode/src``)
    rust        Debian ``librust-tokio-dev``, ``librust-serde-dev``, ``librust-regex-dev`` (``/usr/share/cargo/registry``)
    java        Debian ``openjdk-17-source`` (``apt-get download`` + ``dpkg -x``, no install): ``java.base/java/util``
    c           PyPI sdist ``brotli`` (its ``c/`` folder: ``.c`` and ``.h``)
    cpp         Debian ``googletest`` (``/usr/src/googletest``), ``libfmt-dev`` (``/usr/include/fmt``)
    ruby        Debian ``ruby-rack`` (the gem) and the Ruby 3.1 standard library (``/usr/lib/ruby/3.1.0``)

Reference tools: Universal Ctags (Debian ``universal-ctags``), grimp (PyPI, ``pip install --target``), madge (npm),
``go list`` (Debian ``golang-go``, GOPATH mode over ``/usr/share/gocode``), ``cargo metadata --no-deps``.

Definitions vs ctags
--------------------
ctags runs as ``ctags --output-format=json --fields=+nKzSel --kinds-C++=+p -R`` (``+p``: C++ member prototypes,
which we index as methods). Universal Ctags maps ``.h`` to C++, so C headers are read by its C++ parser.
Kind mapping, ctags kind -> our kind (ctags kinds not listed are not definitions we index and are dropped;
our kinds outside the mapped set of a language are dropped too)::

    python      class->class, function->function, member->method
    javascript  function, generator->function; class->class; method, getter, setter->method
    typescript  function, generator->function; class; interface; enum; method->method; namespace->module;
                alias->type
    go          func->function (->method when its scopeKind is struct or another type), methodSpec->method
                (interface methods), struct->struct, interface->interface, type, talias->type
    rust        function->function, method->method, struct->struct, enum->enum, interface->trait,
                implementation->impl, module->module, typedef->type, macro->macro, union->struct
    java        class->class, interface->interface, annotation->interface, enum->enum, method->method
                (records and constructors: ctags 5.9 reads a record as a method or not at all; listed)
    c, cpp      function->function (->method inside a class/struct/union scope), prototype->method only inside
                a class/struct/union scope (free prototypes are not definitions), class->class,
                struct, union->struct, enum->enum, typedef, alias->type, namespace->module, macro->macro
    js, ts      also: a ctags constant/variable/property whose line reads ``= function`` or ``= (...) =>`` -> function
                (``const f = () => ...`` is a function to us); ctags's made-up anonymous names are dropped
    ruby        class->class, module->module, method, singletonMethod->method (a ``def`` outside a class:
                ctags says method, we say function, so our ``function`` is compared too; kind is not part of
                the match). C++ operator names are compared without the space (``operator !`` = ``operator!``).

Matching: a definition of ours and a ctags tag match when they are in the same file, have the same short name
(ours: ``Symbol.name``; ctags: ``name``) and ctags's line lies in ``[start_line - 1, start_line + 4]`` (our
start line is the first annotation/attribute/modifier for Java and Rust, ctags's is the name's line), or, for a
``type`` (a C ``typedef struct {...} T;``), ctags's line is our end line (ctags reports the line of ``T``). Duplicate
ctags tags at one (file, name, line) count once. Precision = matched / ours, recall = matched / ctags's; kind
agreement is reported among matches (function and method told apart). Unmatched items are grouped into
categories (line differs, another name at the same line, ctags has an unmapped kind there, quotes in the name,
JS assignment style, ``.h`` files ...) and printed with examples. Matching takes the same line and kind first, then
the same line, then the nearest line within tolerance.

Adjudication
------------
Every unmatched item goes through the category rules of ``_adjudication.py`` (a verdict each: ctags wrong, counted
as agreement, or ours wrong); the run prints raw and adjudicated precision/recall and each category with samples,
then the categories above for what no rule claims. The rules may look at the source around an item, ctags's other
tags near it (any kind), ctags's "ignoring null tag" warnings, our enclosing definitions, ctags scopes that name a
definition of ours already closed, and (Ruby) whether ctags's line lies inside a string of our syntax tree.
``CROSSCHECK_DUMP=folder`` writes the unclaimed items as JSON, one file per language.

Import graph
------------
Our graph comes from the public ``build_inventory``: edges between components. The reference tools give module
(or file, or package) edges; each end is mapped to the component that owns its file (the component with the
deepest root above the file, as ``Layout.owner`` does), self-edges dropped, and the two component-edge sets
compared (precision, recall) with their cycles (strongly connected components of more than one node).

    python  grimp ``build_graph(package)`` over Django; our tree is ``django/`` plus its ``pyproject.toml``
    js      madge ``--json`` over express (``index.js``, ``lib/``). express is one npm package, which we show as
            one component, so the tree gets a ``package.json`` in every folder (folder-level components)
    go      ``go list -e -f ...`` over golang.org/x/tools in GOPATH mode: production edges (``Imports``) and
            test edges (``TestImports``, ``XTestImports``) separately; Go packages are our components
    rust    ``cargo metadata --no-deps`` of each crate (normal, build and dev dependencies) over tokio,
            tokio-macros, serde, serde_derive, regex, regex-syntax: crates are our components

Speed
-----
Cold symbols: a fresh ``SymbolIndex`` cache, ``find()`` over the whole tree, default workers (a process pool on
large trees) and one process; against ``ctags -R`` writing JSON to /dev/null (one process) on the same tree.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import NamedTuple


def _import_public():
    """The public entry points, at their new home first (repository / parsing restructure), else the old one."""
    try:
        from repo_auditor.repository import Repository
    except ImportError:
        from repo_auditor.loader import Repository
    try:
        from repo_auditor.tools.symbol_index import SymbolIndex
    except ImportError:  # pragma: no cover - the index moved; reach it through the RepoTools binding
        SymbolIndex = None
    from repo_auditor.architecture import build_inventory

    return Repository, SymbolIndex, build_inventory


Repository, SymbolIndex, build_inventory = _import_public()
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _adjudication import Item, adjudicate, adjudicated_figures  # noqa: E402  (a sibling, not a bench section)


def _index(repo, cache: Path, workers: int | None):
    if SymbolIndex is not None:
        return SymbolIndex(repo, cache, workers=workers)
    from repo_auditor.tools import RepoTools  # noqa: PLC0415

    os.environ["REPO_AUDITOR_CACHE_DIR"] = str(cache)
    return RepoTools(repo)._symbols()


HERE = Path(__file__).resolve().parent
REPORT = HERE / "CROSSCHECK.md"
BLOCK_START, BLOCK_END = "<!-- crosscheck figures: start -->", "<!-- crosscheck figures: end -->"
TOL_BEFORE, TOL_AFTER = 1, 4  # ctags line within [ours.start - TOL_BEFORE, ours.start + TOL_AFTER]
SHOWN_CATEGORIES = 8
ANONYMOUS = re.compile(r"^(AnonymousFunction|__anon|anon(Struct|Union|Enum|Class)?[0-9a-f]{6,})")  # ctags's made-up names
SHOWN_EXAMPLES = 3

DOWNLOADS = Path(
    os.environ.get("CROSSCHECK_DOWNLOADS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "repo_auditor" / "bench" / "crosscheck"
)
GOCODE = Path("/usr/share/gocode/src")
CARGO_REGISTRY = Path("/usr/share/cargo/registry")
PYTHON = sys.executable

CTAGS_LANG = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
    "c": "C,C++",  # .h is C++ to ctags
    "cpp": "C,C++",
    "ruby": "Ruby",
}
EXTENSIONS = {
    "python": (".py",),
    "javascript": (".js", ".mjs", ".cjs"),
    "typescript": (".ts",),
    "go": (".go",),
    "rust": (".rs",),
    "java": (".java",),
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".h", ".hpp", ".hh"),
    "ruby": (".rb",),
}
_CLASSY = {"class", "struct", "union"}
KIND_MAP: dict[str, dict[str, str]] = {
    "python": {"class": "class", "function": "function", "member": "method"},
    "javascript": {
        "function": "function", "generator": "function", "class": "class",
        "method": "method", "getter": "method", "setter": "method",
    },
    "typescript": {
        "function": "function", "generator": "function", "class": "class", "interface": "interface",
        "enum": "enum", "method": "method", "namespace": "module", "alias": "type",
    },
    "go": {
        "func": "function", "methodSpec": "method", "struct": "struct", "interface": "interface",
        "type": "type", "talias": "type",
    },
    "rust": {
        "function": "function", "method": "method", "struct": "struct", "enum": "enum", "interface": "trait",
        "implementation": "impl", "module": "module", "typedef": "type", "macro": "macro", "union": "struct",
    },
    "java": {
        "class": "class", "interface": "interface", "annotation": "interface", "enum": "enum", "method": "method",
    },
    "c": {
        "function": "function", "prototype": "method", "class": "class", "struct": "struct", "union": "struct",
        "enum": "enum", "typedef": "type", "alias": "type", "namespace": "module", "macro": "macro",
    },
    "ruby": {"class": "class", "module": "module", "method": "method", "singletonMethod": "method"},
}
KIND_MAP["cpp"] = KIND_MAP["c"]


class Tag(NamedTuple):
    path: str
    name: str
    line: int
    kind: str  # our vocabulary (mapped) or ctags's own kind when unmapped
    raw: str = ""  # ctags kind, or our qualified name
    text: str = ""  # ctags pattern
    end: int = 0  # our end line


class Figures:
    def __init__(self, label: str):
        self.label = label
        self.rows: list[str] = []
        self.categories: list[str] = []  # adjudicated disagreements, one table row per category


# ---------------------------------------------------------------------------------------------- sources


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def _npm(name: str) -> Path | None:
    folder = DOWNLOADS / "npm"
    found = sorted(p for p in folder.glob(f"{name.split('@')[0]}-[0-9]*/package") if p.is_dir())
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        done = _run(["npm", "pack", name, "--silent"], cwd=folder)
        tgz = done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout.strip() else None
        if not tgz:
            return None
        target = folder / tgz.removesuffix(".tgz")
        target.mkdir(exist_ok=True)
        _run(["tar", "xzf", tgz, "-C", str(target)], cwd=folder)
        found = [target / "package"]
    return found[-1]


def _sdist(name: str) -> Path | None:
    folder = DOWNLOADS / "pypi"
    pattern = re.compile(rf"^{re.escape(name)}-[0-9]", re.IGNORECASE)
    found = sorted(p for p in folder.glob("*") if p.is_dir() and pattern.match(p.name)) if folder.exists() else []
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        done = _run([PYTHON, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d",
                     str(folder), name])
        if done.returncode != 0:
            return None
        for archive in folder.glob("*.tar.gz"):
            _run(["tar", "xzf", archive.name], cwd=folder)
        found = sorted(p for p in folder.glob("*") if p.is_dir() and pattern.match(p.name))
    return found[-1] if found else None


def _jdk_util() -> Path | None:
    target = DOWNLOADS / "jdk-src"
    if not (target / "java.base").exists():
        debs = DOWNLOADS / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        if not list(debs.glob("openjdk-17-source_*.deb")):
            _run(["apt-get", "download", "openjdk-17-source"], cwd=debs)
        deb = next(iter(debs.glob("openjdk-17-source_*.deb")), None)
        if deb is None:
            return None
        _run(["dpkg", "-x", str(deb), str(debs / "x")])
        zip_ = next(iter((debs / "x").rglob("src.zip")), None)
        if zip_ is None:
            return None
        target.mkdir(parents=True, exist_ok=True)
        _run(["unzip", "-q", "-o", str(zip_), "java.base/java/util/*", "-d", str(target)])
    found = target / "java.base" / "java" / "util"
    return found if found.exists() else None


def _crate(name: str) -> Path | None:
    found = sorted(CARGO_REGISTRY.glob(f"{name}-[0-9]*"))
    return found[-1] if found else None


def _debian_version(package: str) -> str:
    done = _run(["dpkg-query", "-W", "-f=${Version}", package])
    return done.stdout.strip() if done.returncode == 0 else "not installed"


def definition_sources() -> dict[str, list[tuple[str, Path, tuple[str, ...]]]]:
    """language -> [(label, folder, sub-paths to take ('' = everything))]; missing sources are left out."""
    ruby_rack = next(iter(Path("/usr/share/rubygems-integration/all/gems").glob("rack-*")), None)
    plans = {
        "python": [("requests", lambda: _sdist("requests"), ("src/requests",)),
                   ("django", lambda: _sdist("Django"), ("django",))],
        "javascript": [("express", lambda: _npm("express@4"), ("index.js", "lib")),
                       ("koa", lambda: _npm("koa"), ("lib",))],
        "typescript": [("zod", lambda: _npm("zod"), ("src",))],
        "go": [("x/tools", lambda: GOCODE / "golang.org/x/tools", ("",)),
               ("cobra", lambda: GOCODE / "github.com/spf13/cobra", ("",))],
        "rust": [(n, lambda n=n: _crate(n), ("",)) for n in ("tokio", "serde", "regex")],
        "java": [("openjdk17 java.util", _jdk_util, ("",))],
        "c": [("brotli", lambda: _sdist("brotli"), ("c",))],
        "cpp": [("googletest", lambda: Path("/usr/src/googletest"), ("",)),
                ("fmt", lambda: Path("/usr/include/fmt"), ("",))],
        "ruby": [("rack", lambda: ruby_rack, ("lib",)), ("ruby3.1 stdlib", lambda: Path("/usr/lib/ruby/3.1.0"), ("",))],
    }
    result = {}
    for language, items in plans.items():
        got = []
        for label, get, subs in items:
            try:
                folder = get()
            except OSError:
                folder = None
            if folder is not None and Path(folder).exists():
                got.append((label, Path(folder), subs))
        if got:
            result[language] = got
    return result


def _copy_tree(sources: list[tuple[str, Path, tuple[str, ...]]], extensions: tuple[str, ...], tree: Path) -> int:
    copied = 0
    for label, folder, subs in sources:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)
        for sub in subs:
            start = folder / sub if sub else folder
            paths = [start] if start.is_file() else sorted(start.rglob("*"))
            for path in paths:
                if not path.is_file() or path.is_symlink() or not path.name.endswith(extensions):
                    continue
                if path.name.endswith(".d.ts") or "node_modules" in path.parts:
                    continue
                rel = path.relative_to(folder)
                destination = tree / slug / rel
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
                copied += 1
    return copied


def _commit(tree: Path) -> None:
    git = ["git", "-C", str(tree), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], check=True)


# ---------------------------------------------------------------------------------------------- definitions


def _ctags(tree: Path, language: str) -> tuple[dict[str, int], list[dict]]:
    cmd = ["ctags", "--output-format=json", "--fields=+nKzSel", "--kinds-C++=+p", "--exclude=.git",
           f"--languages={CTAGS_LANG[language]}", "-R", "-f", "-", "."]
    done = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=False)
    failed: dict[str, int] = {}  # path -> first line where ctags's parser gave up on a tag
    for path, line in re.findall(r"ignoring null tag in (.+?)\(line: (\d+)\)", done.stderr):
        failed[path.removeprefix("./")] = min(failed.get(path.removeprefix("./"), 1 << 30), int(line))
    tags = []
    for line in done.stdout.splitlines():
        try:
            tag = json.loads(line)
        except json.JSONDecodeError:
            continue
        if tag.get("_type") == "tag":
            tags.append(tag)
    return failed, tags


def _ctags_seconds(tree: Path, language: str) -> float:
    """ctags's own time, JSON written to /dev/null (no Python parsing of the output in the figure)."""
    cmd = ["ctags", "--output-format=json", "--fields=+nKzSel", "--kinds-C++=+p", "--exclude=.git",
           f"--languages={CTAGS_LANG[language]}", "-R", "-f", "-", "."]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def map_ctags(language: str, tag: dict) -> str | None:
    """Our kind for one ctags tag, or None when it is not a definition we index."""
    kind, scope_kind = tag.get("kind", ""), tag.get("scopeKind", "")
    if language in ("javascript", "typescript") and kind in ("constant", "variable", "property") and _JS_FUNCTION_VALUE.search(
        _ctags_text(tag)
    ):
        return "function"  # const f = () => ..., const f = function () ...: a function to us
    mapped = KIND_MAP[language].get(kind)
    if mapped is None:
        return None
    if language in ("c", "cpp"):
        if kind == "prototype":
            return "method" if scope_kind in _CLASSY else None
        if kind == "function" and scope_kind in _CLASSY:
            return "method"
    if language == "go" and kind == "func" and scope_kind and scope_kind != "package":
        return "method"
    return mapped


def _match(ours: list[Tag], theirs: list[Tag]) -> tuple[list[tuple[Tag, Tag]], list[Tag], list[Tag]]:
    by_key: dict[tuple[str, str], list[Tag]] = defaultdict(list)
    for t in theirs:
        by_key[(t.path, t.name)].append(t)
    used: set[Tag] = set()
    pairs, only_ours = [], []
    rest = ours
    for with_kind in (True, False):  # the same line and kind first (``typedef struct T {...} T;``: two of each)
        exact = {(t.path, t.name, t.line, t.kind if with_kind else ""): t for t in theirs}
        left = []
        for o in rest:
            t = exact.get((o.path, o.name, o.line, o.kind if with_kind else ""))
            if t is not None and t not in used:
                used.add(t)
                pairs.append((o, t))
            else:
                left.append(o)
        rest = left
    for o in sorted(rest, key=lambda t: (t.path, t.line)):  # second pass: the nearest line within tolerance
        best = None
        for t in by_key.get((o.path, o.name), ()):
            near = o.line - TOL_BEFORE <= t.line <= o.line + TOL_AFTER
            if t in used or not (near or (o.kind == "type" and t.line == o.end)):
                continue
            if best is None or abs(t.line - o.line) < abs(best.line - o.line):
                best = t
        if best is None:
            only_ours.append(o)
        else:
            used.add(best)
            pairs.append((o, best))
    return pairs, only_ours, [t for t in theirs if t not in used]


_JS_FUNCTION_VALUE = re.compile(r"=\s*(async\s+)?(function\b|(\([^()]*\)|[\w$]+)\s*(:\s*[^=]+)?=>)")
_JS_ASSIGN = [
    (re.compile(r"\.prototype\.[\w$]+\s*="), "X.prototype.y = (assignment)"),
    (re.compile(r"module\.exports\s*="), "module.exports = (assignment)"),
    (re.compile(r"\bexports\.[\w$]+\s*="), "exports.x = (assignment)"),
    (re.compile(r"^[\s]*[\w$]+(\.[\w$]+)+\s*=\s*(async\s+)?function"), "obj.x = function (assignment)"),
    (re.compile(r"""^\s*['"][^'"]+['"]\s*:"""), "string-keyed member"),
]


def _ext(path: str) -> str:
    return os.path.splitext(path)[1]


def _categorise(language: str, only_ours: list[Tag], only_theirs: list[Tag], ours: list[Tag],
                all_tags: list[Tag]) -> Counter:
    """(side, category) -> [examples]; a Counter of category keys plus an examples dict on the side."""
    ours_by_name = defaultdict(list)
    ours_by_line = defaultdict(list)
    for o in ours:
        ours_by_name[(o.path, o.name)].append(o)
        ours_by_line[(o.path, o.line)].append(o)
    tags_by_name = defaultdict(list)
    tags_by_line = defaultdict(list)
    for t in all_tags:
        tags_by_name[(t.path, t.name)].append(t)
        tags_by_line[(t.path, t.line)].append(t)
    categories: dict[str, list[str]] = defaultdict(list)
    suffix = (lambda p: f" in {_ext(p)}") if language in ("c", "cpp") else (lambda p: "")
    for o in only_ours:
        if re.search(r"""["'`]""", o.name):
            cat = "ours: quote or lifetime in the name"
        elif language in ("c", "cpp") and re.fullmatch(r"[A-Z][A-Z0-9_]{2,}_?", o.name) and o.kind in (
            "function", "method"
        ):
            cat = "ours: ALL_CAPS function name (macro taken as the name?)"
        elif any(t.kind not in KIND_MAP[language].values() and abs(t.line - o.line) <= 2
                 for t in tags_by_name.get((o.path, o.name), ())):
            kinds = sorted({t.raw for t in tags_by_name[(o.path, o.name)] if abs(t.line - o.line) <= 2})
            cat = f"ours: ctags has it as unmapped kind {'/'.join(kinds)}"
        elif tags_by_name.get((o.path, o.name)):
            cat = "ours: same name elsewhere in the file (line differs)"
        elif any(t.kind in KIND_MAP[language].values() for t in tags_by_line.get((o.path, o.line), ())):
            cat = "ours: ctags names this line differently"
        else:
            cat = "ours: ctags has nothing"
        categories[f"{cat} [{o.kind}]{suffix(o.path)}"].append(f"{o.path}:{o.line} {o.raw}")
    for t in only_theirs:
        sub = ""
        if language in ("javascript", "typescript"):
            sub = next((label for rx, label in _JS_ASSIGN if rx.search(t.text)), "")
        if sub:
            cat = f"ctags: {sub}"
        elif ours_by_name.get((t.path, t.name)):
            cat = "ctags: same name elsewhere in ours (line differs)"
        elif ours_by_line.get((t.path, t.line)):
            names = sorted({o.name for o in ours_by_line[(t.path, t.line)]})
            cat = "ctags: ours names this line differently"
            t = Tag(t.path, f"{t.name} (ours: {', '.join(names)[:40]})", t.line, t.kind, t.raw, t.text)
        else:
            cat = "ctags: missing in ours"
        categories[f"{cat} [{t.kind}]{suffix(t.path)}"].append(
            f"{t.path}:{t.line} {t.name}  | {t.text.strip()[:70]}"
        )
    return categories


def _norm(name: str) -> str:
    """``operator !`` (ctags) and ``operator!`` (ours) are one name, so are ``operatorconst T&`` (ctags) and
    ``operator const T&``: an operator's name is compared without spaces."""
    return re.sub(r"\s+", "", name) if name.startswith("operator") else name


def _string_opener(language: str, source: bytes, line: int) -> str | None:
    """When ``line`` (1-based) starts inside a string literal or heredoc: the line where that string opens (the
    heredoc's ``<<~RUBY`` line, with the next), else None. Read from our own syntax tree."""
    lines = source.split(b"\n")
    if not 0 < line <= len(lines) or language not in ("ruby",):
        return None
    text = lines[line - 1]
    column = len(text) - len(text.lstrip())
    node = _parsed(language, source).root_node.descendant_for_point_range((line - 1, column), (line - 1, column))
    while node is not None and node.type not in _STRING_NODES:
        node = node.parent
    if node is None:
        return None
    row = node.start_point.row  # a heredoc body starts at the end of its ``<<~RUBY`` line or on the next one
    opener = lines[max(row - 1, 0) : row + 1] if node.type == "heredoc_body" else lines[row : row + 1]
    return b" ".join(opener).decode("utf-8", "replace")


_STRING_NODES = frozenset({"string", "heredoc_body", "string_array", "symbol_array"})
_TREES: dict[tuple[str, int], object] = {}


def _parsed(language: str, source: bytes):
    from repo_auditor.parsing.definitions import parse_tree  # noqa: PLC0415

    key = (language, hash(source))
    if key not in _TREES:
        _TREES.clear()  # one file at a time
        _TREES[key] = parse_tree(language, source)
    return _TREES[key]


def _items(language: str, tree: Path, only_ours: list[Tag], only_theirs: list[Tag], all_tags: list[Tag],
           ctags_failed: dict[str, int], symbols, raw_tags: list[dict]) -> list[Item]:
    """The disagreements with what the adjudication rules look at (the source around them, ctags's other tags,
    our enclosing definition)."""
    files: dict[str, list[str]] = {}
    near: dict[tuple[str, int], set[str]] = defaultdict(set)
    tag_lines: dict[str, list[int]] = defaultdict(list)
    for t in all_tags:
        if t.kind != t.raw or t.kind in {k for kinds in KIND_MAP.values() for k in kinds.values()}:
            tag_lines[t.path].append(t.line)  # a definition ctags lists (a kind we map)
        for line in (t.line - 1, t.line, t.line + 1):
            near[(t.path, line)].add(t.name)
    outer = {(s.path, s.qualified_name): (s.kind, s.end_line) for s in symbols}
    spans: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for s in symbols:
        spans[(s.path, s.name)].append((s.start_line, s.end_line))
    # per file, every ctags tag's line and, when ctags scopes it in a definition of ours that does not contain that
    # line (one that ended before), that scope's name
    stale: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for tag in raw_tags:
        scope = re.split(r"\.|::", str(tag.get("scope", "")))[-1]
        known = spans.get((tag["path"], scope))
        line = int(tag.get("line", 0))
        closed = bool(known) and all(not start <= line <= end for start, end in known)
        stale[tag["path"]].append((line, scope if closed else ""))
    for found in stale.values():
        found.sort()
    items = []
    for side, tags in (("ours", only_ours), ("ctags", only_theirs)):
        for t in tags:
            if t.path not in files:
                files[t.path] = (tree / t.path).read_text(encoding="utf-8", errors="replace").splitlines()
            lines = files[t.path]
            source = lines[t.line - 1] if 0 < t.line <= len(lines) else ""
            in_file = stale.get(t.path, [])
            at = bisect.bisect_left(in_file, (t.line, ""))
            later = [in_file[at][1]] if at < len(in_file) and in_file[at][1] else []  # the next tag's stale scope
            outer_kinds, outer_end = [], len(lines)
            parts = t.raw.split(".") if side == "ours" else []
            for depth in range(1, len(parts)):
                kind, end = outer.get((t.path, ".".join(parts[:depth])), ("", outer_end))
                outer_kinds.append(kind)
                outer_end = end
            opener = _string_opener(language, (tree / t.path).read_bytes(), t.line) if side == "ctags" else None
            items.append(Item(side, t.path, t.name, t.line, t.kind, t.raw, source, lines,
                              frozenset(near.get((t.path, t.line), ())),
                              ctags_failed.get(t.path, 1 << 30) <= t.line, tuple(outer_kinds), outer_end,
                              tuple(sorted(tag_lines.get(t.path, ()))), later[0] if later else "", opener))
    return items


def _dump(target: Path, items: list[Item]) -> None:
    """The disagreements no rule claims, with their source line, for reading samples (``CROSSCHECK_DUMP=folder``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**i._asdict(), "lines": None, "tag_lines": None, "ctags_here": sorted(i.ctags_here)} for i in items]
    target.write_text(json.dumps(rows, indent=0), encoding="utf-8")


def _ctags_text(tag: dict) -> str:
    pattern = tag.get("pattern", "")
    return pattern[2:-2] if pattern.startswith("/^") else pattern


def definitions(language: str, sources, work: Path, figures: Figures) -> dict:
    tree = work / language
    files = _copy_tree(sources, EXTENSIONS[language], tree)
    _commit(tree)
    repo = Repository.open(tree, cache_root=work / "caches" / language / "loader")
    try:
        first = next(e.path for e in repo.files)
        _index(repo, work / "caches" / language / "warmup", 1).find(path=first)  # grammar import, not timed
        t0 = time.perf_counter()
        index = _index(repo, work / "caches" / language / "pool", None)
        symbols = index.find()
        cold_pool = time.perf_counter() - t0
        t0 = time.perf_counter()
        _index(repo, work / "caches" / language / "one", 1).find()
        cold_one = time.perf_counter() - t0
        skipped = dict(index.skipped)
    finally:
        repo.close()
    ctags_failed, raw_tags = _ctags(tree, language)
    ctags_seconds = min(_ctags_seconds(tree, language) for _ in range(2))

    mapped_kinds = set(KIND_MAP[language].values()) | ({"function"} if language == "ruby" else set())
    ours = [Tag(s.path, _norm(s.name), s.start_line, s.kind, s.qualified_name, "", s.end_line)
            for s in symbols if s.kind in mapped_kinds]
    all_tags, theirs, seen = [], [], set()
    for tag in raw_tags:
        kind = map_ctags(language, tag)
        item = Tag(tag["path"], _norm(tag["name"]), int(tag.get("line", 0)), kind or tag.get("kind", "?"),
                   tag.get("kind", "?"), _ctags_text(tag))
        all_tags.append(item)
        if kind is None or (item.path, item.name, item.line) in seen or item.path in skipped or ANONYMOUS.match(
            item.name
        ):
            continue
        seen.add((item.path, item.name, item.line))
        theirs.append(item)
    pairs, only_ours, only_theirs = _match(ours, theirs)
    precision = len(pairs) / max(len(ours), 1)
    recall = len(pairs) / max(len(theirs), 1)
    kind_agree = sum(o.kind == t.kind for o, t in pairs) / max(len(pairs), 1)
    label = " + ".join(s[0] for s in sources)
    print(f"   {language} ({label}): {files} files, {len(skipped)} skipped by us; ours {len(ours)}, "
          f"ctags {len(theirs)}, matched {len(pairs)}")
    print(f"     precision {precision:.4f}  recall {recall:.4f}  kind agreement {kind_agree:.4f}")
    per_ext = {}
    if language in ("c", "cpp"):
        for ext in sorted({_ext(t.path) for t in theirs}):
            t_ext = [t for t in theirs if _ext(t.path) == ext]
            o_ext = [o for o in ours if _ext(o.path) == ext]
            m_ext = [p for p in pairs if _ext(p[0].path) == ext]
            per_ext[ext] = (len(m_ext) / max(len(o_ext), 1), len(m_ext) / max(len(t_ext), 1))
            print(f"     {ext}: precision {per_ext[ext][0]:.4f} recall {per_ext[ext][1]:.4f} "
                  f"(ours {len(o_ext)}, ctags {len(t_ext)})")
    items = _items(language, tree, only_ours, only_theirs, all_tags, ctags_failed, symbols, raw_tags)
    groups = adjudicate(language, items)
    adj_precision, adj_recall = adjudicated_figures(len(pairs), len(ours), len(theirs), groups)
    print(f"     adjudicated: precision {adj_precision:.4f}  recall {adj_recall:.4f}")
    for category, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"     {len(members):6d}  only {category.side}, {category.verdict}: {category.label}")
        for item in members[:SHOWN_EXAMPLES]:
            print(f"             {item.path}:{item.line} {item.name}  | {item.source.strip()[:80]}")
        figures.categories.append(f"| {language} | only {category.side} | {category.verdict} | {len(members)} | "
                                  f"{category.label} | `{members[0].path}:{members[0].line}` |")
    claimed = {(i.side, i.path, i.name, i.line) for members in groups.values() for i in members}
    if os.environ.get("CROSSCHECK_DUMP"):
        _dump(Path(os.environ["CROSSCHECK_DUMP"]) / f"{language}.json",
              [i for i in items if (i.side, i.path, i.name, i.line) not in claimed])
    only_ours = [o for o in only_ours if ("ours", o.path, o.name, o.line) not in claimed]
    only_theirs = [t for t in only_theirs if ("ctags", t.path, t.name, t.line) not in claimed]
    print(f"     not adjudicated: {len(only_ours)} only ours, {len(only_theirs)} only ctags")
    cats = _categorise(language, only_ours, only_theirs, ours, all_tags)
    for cat, examples in sorted(cats.items(), key=lambda kv: -len(kv[1]))[:SHOWN_CATEGORIES]:
        print(f"     {len(examples):6d}  {cat}")
        for example in examples[:SHOWN_EXAMPLES]:
            print(f"             {example}")
    print(f"     cold symbols: ours {files / cold_pool:7.0f} files/s default ({cold_pool:.2f} s), "
          f"{files / cold_one:7.0f} files/s one process ({cold_one:.2f} s); "
          f"ctags {files / ctags_seconds:7.0f} files/s ({ctags_seconds:.2f} s, one process); "
          f"ctags/ours(default) {cold_pool / ctags_seconds:.1f}x")
    figures.rows.append(
        f"| {language} | {label} | {files} | {len(ours)} | {len(theirs)} | {precision:.4f} | {recall:.4f} | "
        f"{adj_precision:.4f} | {adj_recall:.4f} | {kind_agree:.3f} | {files / cold_pool:.0f} | {files / cold_one:.0f} | {files / ctags_seconds:.0f} |"
    )
    return {"per_ext": per_ext, "categories": {k: len(v) for k, v in cats.items()}}


# ---------------------------------------------------------------------------------------------- import graph


def _owner_function(components) -> callable:
    roots = {c.root: c.name for c in components}

    def owner(path: str) -> str | None:
        folder = os.path.dirname(path)
        while True:
            if folder in roots:
                return roots[folder]
            if not folder:
                return None
            folder = os.path.dirname(folder)

    return owner


def _sccs(edges: set[tuple[str, str]]) -> list[frozenset[str]]:
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    nodes = sorted({n for e in edges for n in e})
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(root):  # iterative Tarjan
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    out.append(frozenset(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return out


def _ours_graph(tree: Path, cache: Path):
    repo = Repository.open(tree, cache_root=cache / "loader")
    try:
        t0 = time.perf_counter()
        inventory = build_inventory(repo, cache_path=cache)
        seconds = time.perf_counter() - t0
    finally:
        repo.close()
    edges = {(e.source, e.target) for e in inventory.edges if not e.test_only}
    examples = {(e.source, e.target): f"{e.example_path}:{e.example_line}" for e in inventory.edges}
    return inventory, edges, examples, seconds


def _all_edges(inventory) -> set[tuple[str, str]]:
    """Production and test-only edges together (to compare with a reference that includes test imports)."""
    return {(e.source, e.target) for e in inventory.edges}


def _compare_graph(name: str, ours: set, reference: set, figures: Figures, our_cycles, note: str = "",
                   examples: dict | None = None, ref_examples: dict | None = None, extra: str = "") -> None:
    both = ours & reference
    precision = len(both) / max(len(ours), 1)
    recall = len(both) / max(len(reference), 1)
    ref_cycles = _sccs(reference)
    print(f"   {name}: ours {len(ours)} edges, reference {len(reference)}, shared {len(both)}: "
          f"precision {precision:.4f} recall {recall:.4f}; cycles ours {len(our_cycles)}, reference {len(ref_cycles)}"
          f"{' ' + note if note else ''}")
    for label, items, ex in (("only ours", ours - reference, examples or {}),
                             ("only reference", reference - ours, ref_examples or {})):
        for a, b in sorted(items)[:6]:
            print(f"     {label}: {a} -> {b}  {ex.get((a, b), '')}")
        if len(items) > 6:
            print(f"     {label}: ... {len(items) - 6} more")
    for cycle in our_cycles[:4]:
        print(f"     our cycle: {' -> '.join(cycle.path[:8])}{' ...' if len(cycle.path) > 8 else ''}")
    figures.rows.append(
        f"| {name} | {len(ours)} | {len(reference)} | {precision:.4f} | {recall:.4f} | {len(our_cycles)} | "
        f"{len(ref_cycles)} | {extra} |"
    )


def graph_python(work: Path, figures: Figures) -> None:
    root = _sdist("Django")
    pylib = DOWNLOADS / "pylib"
    if root is None:
        print("   python graph: no Django sdist; skipped")
        return
    if not (pylib / "grimp").exists():
        _run([PYTHON, "-m", "pip", "install", "-q", "--target", str(pylib), "grimp"])
    script = (
        "import grimp, json, sys\n"
        "g = grimp.build_graph('django', cache_dir=None)\n"
        "edges = [(m, t) for m in g.modules for t in g.find_modules_directly_imported_by(m)]\n"
        "json.dump(edges, sys.stdout)\n"
    )
    t0 = time.perf_counter()
    done = _run([PYTHON, "-c", script], cwd=root, env={**os.environ, "PYTHONPATH": f"{pylib}:{root}"})
    grimp_seconds = time.perf_counter() - t0
    if done.returncode != 0:
        print(f"   python graph: grimp failed: {done.stderr.strip()[-300:]}")
        return
    module_edges = json.loads(done.stdout)
    tree = work / "graph-python"
    tree.mkdir()
    shutil.copytree(root / "django", tree / "django", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(root / "pyproject.toml", tree / "pyproject.toml")
    _commit(tree)
    inventory, ours, examples, seconds = _ours_graph(tree, work / "caches" / "graph-python")
    owner = _owner_function(inventory.components)

    def file_of(module: str) -> str:
        base = module.replace(".", "/")
        return f"{base}/__init__.py" if (tree / base / "__init__.py").exists() else f"{base}.py"

    reference, ref_examples = set(), {}
    for a, b in module_edges:
        ca, cb = owner(file_of(a)), owner(file_of(b))
        if ca and cb and ca != cb:
            reference.add((ca, cb))
            ref_examples.setdefault((ca, cb), f"{a} -> {b}")
    print(f"   python graph: Django {len(module_edges)} grimp module edges ({grimp_seconds:.1f} s) over "
          f"{len(inventory.components)} of our components (build_inventory {seconds:.1f} s)")
    _compare_graph("python Django vs grimp", ours, reference, figures, inventory.cycles,
                   examples=examples, ref_examples=ref_examples, extra=f"{len(module_edges)} module edges")


def graph_javascript(work: Path, figures: Figures) -> None:
    root = _npm("express@4")
    tools = DOWNLOADS / "node_tools"
    if root is None:
        print("   javascript graph: no express; skipped")
        return
    if not (tools / "node_modules" / ".bin" / "madge").exists():
        tools.mkdir(parents=True, exist_ok=True)
        _run(["npm", "init", "-y"], cwd=tools)
        _run(["npm", "install", "--silent", "madge"], cwd=tools)
    tree = work / "graph-javascript"
    tree.mkdir()
    shutil.copyfile(root / "index.js", tree / "index.js")
    shutil.copytree(root / "lib", tree / "lib")
    for folder in {p.parent for p in tree.rglob("*.js")}:  # folder-level components
        name = "express" if folder == tree else folder.relative_to(tree).as_posix()
        (folder / "package.json").write_text(json.dumps({"name": name, "private": True}), encoding="utf-8")
    done = _run([str(tools / "node_modules" / ".bin" / "madge"), "--json", "index.js", "lib"], cwd=tree)
    if done.returncode not in (0, 1):
        print(f"   javascript graph: madge failed: {done.stderr.strip()[-300:]}")
        return
    file_edges = json.loads(done.stdout)
    _commit(tree)
    inventory, ours, examples, seconds = _ours_graph(tree, work / "caches" / "graph-javascript")
    owner = _owner_function(inventory.components)
    reference, ref_examples = set(), {}
    count = 0
    for source, targets in file_edges.items():
        for target in targets:
            count += 1
            ca, cb = owner(source), owner(target)
            if ca and cb and ca != cb:
                reference.add((ca, cb))
                ref_examples.setdefault((ca, cb), f"{source} -> {target}")
    print(f"   javascript graph: express {count} madge file edges over {len(inventory.components)} folder components")
    _compare_graph("javascript express vs madge", ours, reference, figures, inventory.cycles,
                   examples=examples, ref_examples=ref_examples, extra=f"{count} file edges")


def graph_go(work: Path, figures: Figures) -> None:
    source = GOCODE / "golang.org/x/tools"
    if not source.exists() or not shutil.which("go"):
        print("   go graph: no x/tools or no go; skipped")
        return
    fmt = '{{.ImportPath}}\t{{join .Imports " "}}\t{{join .TestImports " "}}\t{{join .XTestImports " "}}'
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOCODE.parent), "GOFLAGS": "", "CGO_ENABLED": "0"}
    t0 = time.perf_counter()
    done = _run(["go", "list", "-e", "-f", fmt, "golang.org/x/tools/..."], env=env)
    go_seconds = time.perf_counter() - t0
    module = "golang.org/x/tools"
    prod, test, packages = set(), set(), set()
    for line in done.stdout.splitlines():
        path, imports, test_imports, xtest_imports = (line.split("\t") + ["", "", ""])[:4]
        packages.add(path)
        for target in imports.split():
            if target.startswith(module) and target != path:
                prod.add((path, target))
        for target in (test_imports + " " + xtest_imports).split():
            if target.startswith(module) and target != path:
                test.add((path, target))
    tree = work / "graph-go"
    shutil.copytree(source, tree, ignore=shutil.ignore_patterns(".git"))
    _commit(tree)
    inventory, ours, examples, seconds = _ours_graph(tree, work / "caches" / "graph-go")
    known = {c.name for c in inventory.components}
    prod = {(a, b) for a, b in prod if a in known and b in known}
    test_all = prod | {(a, b) for a, b in test if a in known and b in known}
    print(f"   go graph: x/tools {len(packages)} packages listed by go list ({go_seconds:.1f} s), "
          f"{len(inventory.components)} of our components (build_inventory {seconds:.1f} s)")
    _compare_graph("go x/tools vs go list (production)", ours, prod, figures, inventory.cycles,
                   examples=examples, extra="Imports")
    _compare_graph("go x/tools vs go list (+tests)", _all_edges(inventory), test_all, figures, inventory.cycles,
                   examples=examples, extra="Imports+TestImports+XTestImports")


def graph_rust(work: Path, figures: Figures) -> None:
    """Twice: the crates as published, then with the leading comment of each crates.io Cargo.toml ("THIS FILE
    IS AUTOMATICALLY GENERATED BY CARGO") removed (our generated-file check drops the published manifest, which hides every crate)."""
    for strip in (False, True):
        _graph_rust(work, figures, strip)


def _graph_rust(work: Path, figures: Figures, strip: bool) -> None:
    variant = " (Cargo.toml header comment removed)" if strip else " (as published)"
    crates = [c for c in (_crate(n) for n in ("tokio", "tokio-macros", "serde", "serde_derive", "regex",
                                              "regex-syntax")) if c]
    if not crates:
        print("   rust graph: no crates; skipped")
        return
    tree = work / ("graph-rust-stripped" if strip else "graph-rust")
    tree.mkdir()
    prod, dev, names = set(), set(), {}
    metadata = []
    for crate in crates:
        shutil.copytree(crate, tree / crate.name, ignore=shutil.ignore_patterns(".git", "target"))
        done = _run(["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1",
                     "--manifest-path", str(crate / "Cargo.toml")])
        if done.returncode != 0:
            continue
        package = json.loads(done.stdout)["packages"][0]
        names[package["name"]] = crate.name
        metadata.append(package)
        if strip:
            manifest = tree / crate.name / "Cargo.toml"
            text = manifest.read_text(encoding="utf-8")
            manifest.write_text(re.sub(r"\A(#[^\n]*\n)+", "", text), encoding="utf-8")
    _commit(tree)
    inventory, ours, examples, seconds = _ours_graph(tree, work / "caches" / tree.name)
    by_root = {c.root: c.name for c in inventory.components}
    for package in metadata:
        source = by_root.get(names[package["name"]])
        for dep in package["dependencies"]:
            target_folder = names.get(dep["name"])
            target = by_root.get(target_folder) if target_folder else None
            if source and target and source != target:
                (dev if dep.get("kind") == "dev" else prod).add((source, target))
    print(f"   rust graph: {len(metadata)} crates read by cargo metadata; our components "
          f"{sorted(c.name for c in inventory.components)}")
    _compare_graph("rust crates vs cargo metadata (normal+build)" + variant, ours, prod, figures, inventory.cycles,
                   examples=examples, extra="normal+build deps")
    _compare_graph("rust crates vs cargo metadata (+dev)" + variant, _all_edges(inventory), prod | dev, figures,
                   inventory.cycles,
                   examples=examples, extra="with dev-dependencies")


# ---------------------------------------------------------------------------------------------- report


def _versions() -> list[str]:
    out = []
    for cmd in (["ctags", "--version"], ["go", "version"], ["cargo", "--version"], ["node", "--version"]):
        done = _run(cmd) if shutil.which(cmd[0]) else None
        out.append(f"{cmd[0]}: {done.stdout.splitlines()[0] if done and done.stdout else 'missing'}")
    madge = DOWNLOADS / "node_tools" / "node_modules" / "madge" / "package.json"
    if madge.exists():
        out.append(f"madge: {json.loads(madge.read_text())['version']}")
    grimp_dist = sorted((DOWNLOADS / "pylib").glob("grimp-*.dist-info"))
    out.append(f"grimp: {grimp_dist[-1].name.split('-')[1].removesuffix('.dist') if grimp_dist else 'missing'}")
    for package in ("universal-ctags", "golang-go", "golang-golang-x-tools-dev", "golang-github-spf13-cobra-dev",
                    "librust-tokio-dev", "librust-serde-dev", "librust-regex-dev", "googletest", "libfmt-dev",
                    "ruby-rack", "ruby3.1"):
        out.append(f"{package}: {_debian_version(package)}")
    for name in ("express", "koa", "zod"):
        found = sorted(p for p in (DOWNLOADS / "npm").glob(f"{name}-[0-9]*") if p.is_dir())
        out.append(f"npm {name}: {found[-1].name.split('-', 1)[1] if found else 'missing'}")
    for name in ("requests", "Django", "brotli"):
        found = _sdist(name)
        out.append(f"PyPI {name}: {found.name.split('-', 1)[1] if found else 'missing'}")
    jdk = sorted((DOWNLOADS / "debs").glob("openjdk-17-source_*.deb"))
    out.append(f"openjdk-17-source: {jdk[-1].name.split('_')[1] if jdk else 'missing'}")
    commit = _run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"]).stdout.strip()
    out.append(f"repo_auditor: {commit}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    return out


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]) + f" on {os.cpu_count()} CPUs"
    except OSError:
        return "unknown"


def _write_block(text: str) -> None:
    old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else f"# Cross-check\n\n{BLOCK_START}\n{BLOCK_END}\n"
    if BLOCK_START not in old:
        old += f"\n{BLOCK_START}\n{BLOCK_END}\n"
    head, rest = old.split(BLOCK_START, 1)
    tail = rest.split(BLOCK_END, 1)[1]
    REPORT.write_text(f"{head}{BLOCK_START}\n{text}\n{BLOCK_END}{tail}", encoding="utf-8")


def run(args) -> None:
    only = {s.strip() for s in os.environ.get("CROSSCHECK_ONLY", "").split(",") if s.strip()}
    work = Path(tempfile.mkdtemp(prefix="bench-crosscheck-"))
    defs = Figures("definitions")
    graphs = Figures("graphs")
    try:
        sources = definition_sources()
        for language, items in sources.items():
            if only and language not in only:
                continue
            definitions(language, items, work, defs)
        for language, step in (("python", graph_python), ("javascript", graph_javascript), ("go", graph_go),
                               ("rust", graph_rust)):
            if only and language not in only and f"graph-{language}" not in only:
                continue
            step(work, graphs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    block = [
        f"### Figures of {date.today().isoformat()}",
        "",
        "Versions: " + "; ".join(_versions()),
        "",
        f"Machine load at the end of the run (`/proc/loadavg`): {_loadavg()}",
        "",
        "| language | code | files | ours | ctags | precision | recall | adjudicated precision | adjudicated recall "
        "| kind agreement | ours files/s (default) | ours files/s (1 process) | ctags files/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *defs.rows,
        "",
        "Adjudicated disagreements (rules and verdicts in `_adjudication.py`; \"ctags wrong\" counts as agreement):",
        "",
        "| language | listed by | verdict | count | category | sample |",
        "|---|---|---|---|---|---|",
        *defs.categories,
        "",
        "| import graph | ours edges | reference edges | precision | recall | our cycles | reference cycles "
        "| reference |",
        "|---|---|---|---|---|---|---|---|",
        *graphs.rows,
    ]
    text = "\n".join(block)
    print(text)
    if os.environ.get("CROSSCHECK_WRITE"):
        _write_block(text)
        print(f"   written to {REPORT}")
