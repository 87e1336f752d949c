"""Adjudication of the cross-check: every disagreement with ctags put in a category by a rule, and a verdict.

A disagreement is a definition only we list ("ours") or only ctags lists ("ctags"). Each category below was
written after reading real samples of it; its verdict is

    ctags wrong   the language says ctags is wrong (a definition it misses, a tag that is not a definition or
                  carries a name that is not the definition's). Counted as agreement in the adjudicated figures.
    ours wrong    a bug of ours. Fixed ones have a fixture test (tests/symbols/test_crosscheck_cases.py) and no
                  longer occur; a category still listed here is open and is NOT counted as agreement.

Adjudicated figures: the reference is ctags's list without its wrong tags, plus the definitions it misses; so
precision = (matched + ctags-missed) / ours and recall = (matched + ctags-missed) / (ctags - ctags-wrong +
ctags-missed). Disagreements no rule claims stay disagreements.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from typing import NamedTuple

CTAGS_WRONG, OURS_WRONG = "ctags wrong", "ours wrong"


class Item(NamedTuple):
    """One disagreement, with what a rule may look at."""

    side: str  # "ours" or "ctags": who lists it
    path: str
    name: str
    line: int
    kind: str  # our kind (ctags's mapped)
    raw: str  # ours: the qualified name; ctags: its own kind
    source: str  # the source line at ``line``
    lines: list[str]  # the whole file, for rules that look around (1-based: lines[line - 1])
    ctags_here: frozenset[str]  # names of every ctags tag (any kind) within one line
    ctags_failed_before: bool  # ctags warned "ignoring null tag" in this file at this line or before
    outer_kinds: tuple[str, ...]  # ours: the kinds of our enclosing definitions, outermost first

    @property
    def outer_kind(self) -> str:
        """The kind of the innermost enclosing definition ("" at the top)."""
        return self.outer_kinds[-1] if self.outer_kinds else ""

    @property
    def in_function(self) -> bool:
        return any(kind in ("function", "method") for kind in self.outer_kinds)
    outer_end: int  # ours: the last line of our enclosing definition (the file's at the top)
    tag_lines: tuple[int, ...]  # lines of every ctags definition (a kind we map) in the file, sorted
    ctags_stale_scope: str  # ctags's tags just after this line are scoped in this definition, which ended before
    string_opener: str | None  # ctags (Ruby): the line opening the string or heredoc this line is in, else None

    def ctags_silent_to_end(self) -> bool:
        """ctags lists no definition from this line to the end of the enclosing body: it did not read it."""
        at = bisect_left(self.tag_lines, self.line - 1)
        return at == len(self.tag_lines) or self.tag_lines[at] > self.outer_end


class Category(NamedTuple):
    languages: tuple[str, ...]
    side: str
    verdict: str
    label: str
    test: Callable[[Item], bool]


def _around(item: Item, before: int, after: int) -> list[str]:
    return item.lines[max(item.line - 1 - before, 0) : item.line + after]


def _declares(item: Item) -> bool:
    """The source line reads as a definition of the item's name (a sanity check before blaming ctags)."""
    name = re.escape(item.name)
    source = item.source
    if source.lstrip().startswith("@"):  # Java annotations first: the declaration follows
        source = " ".join(item.lines[item.line - 1 : item.line + 10])
    return re.search(rf"(\b(class|interface|enum|namespace|module|type|function|get|set|def|fn|struct|trait)\s+"
                     rf"\*?{name}\b|(^|[\s.]){name}\s*(<[^>]*>?)?\s*[(=:]|^\s*{name}\s*$)", source) is not None


_C = ("c", "cpp")
_MACRO = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_CONDITIONAL = re.compile(r"\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b")


def _in_alternative_branch(item: Item) -> bool:
    """The item's line is inside an ``#elif`` or ``#else`` branch (at any depth)."""
    stack: list[bool] = []
    for line in item.lines[: item.line - 1]:
        match = _CONDITIONAL.match(line)
        if match is None:
            continue
        word = match.group(1)
        if word.startswith("if"):
            stack.append(False)
        elif word in ("elif", "else") and stack:
            stack[-1] = True
        elif word == "endif" and stack:
            stack.pop()
    return any(stack)


def _after_annotation(item: Item) -> bool:
    """A Java annotation block (``@Name(`` ... ``)``) ends right before the item's line."""
    for line in reversed(item.lines[max(item.line - 21, 0) : item.line - 1]):
        stripped = line.strip()
        if stripped.startswith("@"):
            return True
        if stripped.startswith(("*", "/*", "//")):
            continue
        if not stripped or stripped.endswith((";", "}")):
            return False
    return False


def _opener(item: Item) -> str:
    """The line that opens the block the item's line is in (braces counted backwards, strings ignored)."""
    depth = 0
    for line in reversed(item.lines[: item.line - 1]):
        code = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'|//.*', "", line)
        depth += code.count("}") - code.count("{")
        if depth < 0:
            return line
    return ""


_JS = ("javascript", "typescript")
_JS_KEYWORDS = frozenset("as break case catch do else extends for if in infer instanceof keyof of return satisfies "
                         "switch throw try typeof while".split())
_FUNCTION_VALUE = r"(async\s+)?(function\b|(\([^()]*\)|[\w$]+)\s*(:\s*[^=]+)?=>)"

CATEGORIES: list[Category] = [
    # ---------------------------------------------------------------- JavaScript / TypeScript
    Category(_JS, "ctags", CTAGS_WRONG,
             "ctags names a function assigned to a computed key (`X.prototype[method] = function`) after the "
             "object: the key is known only at run time",
             lambda i: re.search(r"\[[^\]]+\]\s*=\s*" + _FUNCTION_VALUE, i.source) is not None),
    Category(_JS, "ctags", CTAGS_WRONG,
             "ctags tags `module.exports = {...}` / `= class A` / `= function f` as `exports`: that is the "
             "module's export object; the class or function is listed under its own name",
             lambda i: i.name == "exports" and re.search(r"\bmodule\.exports\s*=", i.source) is not None),
    Category(_JS, "ctags", CTAGS_WRONG,
             "ctags tags an object literal (`var headers = {`, `this.params = {...}`) as a class: an object "
             "is not a class definition",
             lambda i: i.raw == "class" and re.search(r"[\w$\]]\s*=\s*\{", i.source) is not None
             and not re.search(r"\bclass\b", i.source)),
    Category(_JS, "ctags", CTAGS_WRONG,
             "ctags names an anonymous function assigned to a member (`res.get = function(field)`) after the "
             "object (`res`); the function is the member `get`, which we list",
             lambda i: re.search(rf"\b{re.escape(i.name)}(\.[\w$]+)+\s*=\s*" + _FUNCTION_VALUE, i.source)
             is not None),
    Category(_JS, "ours", CTAGS_WRONG,
             "an object-literal `key: function () {}` (property descriptors, handler maps): ES2015 names the "
             "function after its key; ctags gives it a made-up anonymous name",
             lambda i: re.match(rf"""\s*['"]?{re.escape(i.name)}['"]?\s*:\s*(async\s+)?function\b""", i.source)
             is not None and i.name not in i.ctags_here),
    Category(_JS, "ours", CTAGS_WRONG,
             "an object-literal `key: (args) => ...`: a function named after its key; ctags lists it as a "
             "property (same name, same line: a kind difference, not a missing definition)",
             lambda i: i.name in i.ctags_here and re.match(
                 rf"""\s*['"]?{re.escape(i.name)}['"]?\s*:\s*{_FUNCTION_VALUE}""", i.source) is not None),
    Category(_JS, "ours", CTAGS_WRONG,
             "a function-valued local (`const onerror = (err) => ...`) inside a function or method: a nested "
             "definition, as ctags itself lists nested `function` declarations; its JS parser skips these",
             lambda i: "." in i.raw and i.kind == "function" and re.match(
                 rf"\s*(const|let|var)\s+{re.escape(i.name)}\s*=\s*{_FUNCTION_VALUE}", i.source) is not None),
    Category(_JS, "ours", CTAGS_WRONG,
             "the methods of an object in a chained assignment (`const proto = module.exports = { inspect () "
             "{...} }`): ctags tags the variable and does not descend into the object",
             lambda i: any(re.match(r"\s*(const|let|var)\s+[\w$]+\s*=\s*module\.exports\s*=\s*\{", line)
                           for line in i.lines[: i.line]) and not i.ctags_here),
    Category(_JS, "ours", CTAGS_WRONG,
             "ctags drops definitions named `get` / `set` / `readonly` (`app.set = function set`, `get (field) "
             "{`, `readonly(): ZodReadonly<this>;`: read as the modifier keywords) or gave up at or before this "
             "line (its warning 'ignoring null tag') and lists nothing here",
             lambda i: (i.name in ("get", "set", "readonly") or i.ctags_failed_before) and i.name not in i.ctags_here),
    Category(_JS, "ours", CTAGS_WRONG,
             "a function-valued constant or class field (`export const makeIssue = (params: {` over several "
             "lines, `static create = <T>(...) =>`): ctags lists it at the same line as a constant/property "
             "(a kind difference, not a missing definition)",
             lambda i: i.kind in ("function", "method") and i.name in i.ctags_here and re.search(
                 rf"\b{re.escape(i.name)}\s*(:[^=]+)?=\s*(async\s+)?(function\b|<|\()", i.source) is not None),
    Category(("typescript",), "ours", CTAGS_WRONG,
             "a function, class or type nested in a function body: ctags's TypeScript parser lists only the "
             "constants there (checked: `function outer() { function inner() {} }` gives `outer` alone)",
             lambda i: i.in_function and i.name not in i.ctags_here),
    Category(("typescript",), "ours", CTAGS_WRONG,
             "a method or accessor of an object literal (`{ check(...chks) {...}, get self() {...} }`): ctags's "
             "TypeScript parser does not list them (its JavaScript parser does)",
             lambda i: i.kind == "method" and i.outer_kind in ("", "function", "method", "module")
             and i.name not in i.ctags_here),
    Category(("typescript",), "ours", CTAGS_WRONG,
             "ctags lists no definition from this line to the end of the enclosing class or file: its "
             "TypeScript parser stops reading a class after a field holding an arrow function (`static create = "
             "(x) => {...};`, checked) and loses the structure of some files (zod's core/schemas.ts: every "
             "later tag scoped in `standardProps`)",
             lambda i: i.name not in i.ctags_here and _declares(i) and i.ctags_silent_to_end()),
    Category(("typescript",), "ctags", CTAGS_WRONG,
             "ctags tags the word `type` outside a type declaration as an alias: `import { type X }`, `type X,` "
             "in an import list, `def.type satisfies \"bigint\"`, `(type instanceof ZodNull)`",
             lambda i: i.raw == "alias" and not re.match(
                 rf"\s*(export\s+)?(declare\s+)?type\s+{re.escape(i.name)}\b(?!\s*(,|as\b))", i.source)),
    Category(_JS + _C, "ours", CTAGS_WRONG,
             "ctags's parser still believes it is inside an earlier definition and lists nothing here: its next "
             "tags are scoped in a definition that ended before (zod's core/schemas.ts: down to line ~660 in "
             "`standardProps`, which ends at line 360; googletest-printers-test.cc: after line 807, inside a "
             "`TEST`)",
             lambda i: bool(i.ctags_stale_scope) and i.name not in i.ctags_here and _declares(i)),
    Category(_JS, "ctags", CTAGS_WRONG,
             "ctags tags a keyword as a definition: `if (terminal) {` as a method `if`, `(a.enum as any)` as an "
             "enum `as`, a conditional type `Ch extends (arg: any) => ...` as a method `extends`",
             lambda i: i.name in _JS_KEYWORDS),
    Category(("typescript",), "ctags", CTAGS_WRONG,
             "ctags tags a statement or expression as a definition: `if (terminal) {` as a method named "
             "`method`, `(a.enum as any)` as an enum `as`, a conditional type `Ch extends (arg: any) => ...` as a "
             "method: the name is not declared on that line",
             lambda i: not _declares(i)),
    Category(("typescript",), "ctags", CTAGS_WRONG,
             "ctags lists each overload signature of a function (`export function _function<...>(` three "
             "times); we list the function once, from its first signature to the end of its implementation",
             lambda i: i.raw == "function" and any(
                 re.match(rf"\s*(export\s+)?(declare\s+)?function\s+{re.escape(i.name)}\b", line)
                 for line in i.lines[max(i.line - 40, 0) : i.line - 1])),
    # ---------------------------------------------------------------- C / C++
    Category(_C, "ours", CTAGS_WRONG,
             "a function whose name is built by a macro (brotli's `*_inc.h` templates: `double "
             "FN(BrotliPopulationCost)(...) {`): we name it by the macro's argument, ctags by the macro (`FN`, "
             "one definition both list, at the same line) or, after an attribute macro (`BROTLI_INTERNAL void "
             "FN(X)(`), not at all",
             lambda i: any(re.search(rf"\b{re.escape(m)}\s*\(\s*{re.escape(i.name)}\s*\)", i.source)
                           for m in i.ctags_here if _MACRO.match(m)) or (not i.ctags_here and re.search(
                               rf"\b[A-Z][A-Z0-9_]*\s*\(\s*{re.escape(i.name)}\s*\)\s*\(", i.source) is not None)),
    Category(_C, "ctags", CTAGS_WRONG,
             "the same definitions from ctags's side: named after the macro that builds the name (`FN`, "
             "`EXPORT_FN`), which is not the function's name",
             lambda i: _MACRO.match(i.name) is not None and re.search(
                 rf"\b{re.escape(i.name)}\s*\(\s*\w+\s*\)\s*(\(|\{{|$)", i.source) is not None),
    Category(_C, "ctags", CTAGS_WRONG,
             "a macro invocation line without `;` before a function (brotli: `FOR_TABLE_BITS_(BAKE_METHOD_PARAM_)`"
             " then `void BrotliCompressFragmentFast(`): ctags takes the invocation for the function's name",
             lambda i: i.kind == "function" and re.fullmatch(rf"\s*{re.escape(i.name)}\s*\([^;{{}}]*\)\s*",
                                                             i.source) is not None),
    Category(_C, "ours", CTAGS_WRONG,
             "the function after such an invocation line, which ctags names after the macro",
             lambda i: i.kind == "function" and i.name not in i.ctags_here and any(
                 re.fullmatch(r"\s*[A-Z][A-Z0-9_]*\s*\([^;{}]*\)\s*", line)
                 for line in [line for line in i.lines[max(i.line - 6, 0) : i.line - 1]
                              if line.strip() and not line.lstrip().startswith("#")][-1:])),
    Category(_C, "ctags", OURS_WRONG,
             "open: a `#define` inside an enum body (brotli's decode.h: `typedef enum { #define BROTLI_COMMA_ , "
             "... } BrotliDecoderErrorCode;`) is an error to tree-sitter; we lose the macro and the typedef",
             lambda i: i.path.endswith("decode.h") and i.name in ("BROTLI_COMMA_", "BrotliDecoderErrorCode")),
    Category(("cpp",), "ours", CTAGS_WRONG,
             "a definition written as a macro invocation (`TEST(Suite, Name) {`, `MOCK_METHOD(int, Nullary, ());`),"
             " named by the macro as ctags names the others: ctags lists nothing at this one (all of `MockFoo`'s "
             "40 mock methods in gmock-function-mocker_test.cc, lines 147-210)",
             lambda i: _MACRO.match(i.name) is not None and not i.ctags_here
             and re.match(rf"\s*{re.escape(i.name)}\s*\(", i.source) is not None),
    Category(_C, "ours", CTAGS_WRONG,
             "a definition in an `#elif` / `#else` branch (brotli's platform.h: `BROTLI_TZCNT64` and "
             "`BrotliBsf64Msvc` for MSVC): ctags reads only the first branch of a conditional; the others are "
             "real definitions of other configurations",
             lambda i: i.name not in i.ctags_here and _in_alternative_branch(i)),
    # ---------------------------------------------------------------- Java
    Category(("java",), "ours", CTAGS_WRONG,
             "a method or class inside a method body (an anonymous class's `hasNext()` in "
             "`AbstractMap.keySet().iterator()`, a local class `BitSetSpliterator`): real code, but ctags's "
             "Java parser does not look inside method bodies",
             lambda i: i.in_function and _declares(i)),
    Category(("java",), "ours", CTAGS_WRONG,
             "a method of an anonymous class in a static or field initialiser (`static { ... new "
             "JavaUtilZipFileAccess() { public boolean startsWithLocHeader(...) {`) or of an enum constant's body "
             "(`PART1_ALPHA2 { Set<String> createCountryCodeSet() {`): real code ctags does not list (we qualify "
             "it by the enclosing class)",
             lambda i: i.kind == "method" and _declares(i) and re.search(
                 r"(\bnew\s+[\w.<>?, ]+\(.*\)\s*|^\s*[A-Z][A-Z0-9_]*\s*(\(.*\))?\s*)\{\s*$", _opener(i)) is not None),
    Category(("java",), "ours", CTAGS_WRONG,
             "one definition both list: our span starts at its first annotation (`@RandomGeneratorProperties(` "
             "over six lines, `@SuppressWarnings` then a comment), ctags's at the name, beyond the matching "
             "tolerance",
             lambda i: i.source.lstrip().startswith("@") and any(
                 re.search(rf"\b{re.escape(i.name)}\s*[({{<]|\b(class|interface|enum|record)\s+{re.escape(i.name)}\b",
                           line) and number in i.tag_lines
                 for number, line in enumerate(i.lines[i.line - 1 : i.line + 20], start=i.line))),
    Category(("java",), "ctags", CTAGS_WRONG,
             "the same definitions from ctags's side (at the name, after a multi-line annotation)",
             lambda i: _after_annotation(i)),
    # ---------------------------------------------------------------- Ruby
    Category(("ruby",), "ctags", CTAGS_WRONG,
             "a name fragment from code built in a string (`def _invoke_#{name.to_s...}`, `def _reduce_%d(`, "
             "`def on_#{event}`): the method's name is made at run time; ctags tags the literal prefix",
             lambda i: i.string_opener is not None and re.search(
                 rf"\bdef\s+(\w+\.)?{re.escape(i.name)}(#\{{|%)", i.source) is not None),
    Category(("ruby",), "ctags", CTAGS_WRONG,
             "words in a `%w[...]` list (irb's keyword list `def defined? do`): not code",
             lambda i: i.string_opener is not None and re.search(r"%[wWiI]\W", i.string_opener) is not None),
    Category(("ruby",), "ctags", OURS_WRONG,
             "open: a definition in a string evaluated as code (`module_eval <<'RUBY'` defining `Kernel#require`, "
             "`class_eval %{ def do_parse`, `eval <<-RUBY`): real at run time; we do not parse string contents",
             lambda i: i.string_opener is not None and re.search(r"\b(\w+_)?eval\b", i.string_opener) is not None),
    Category(("ruby",), "ctags", CTAGS_WRONG,
             "code text in a string constant (racc's `parser-text.rb`: `PARSER_TEXT = <<'end_of_racc_parser'`, "
             "the runtime racc writes into generated parsers): not evaluated there, not a definition of that file",
             lambda i: i.string_opener is not None),
    Category(("ruby",), "ctags", CTAGS_WRONG,
             "`def self.random` inside an `if`/`else` at class level, or `def gem_command.run` on a local object: "
             "ctags names the singleton method after its receiver (`self`, `gem_command`); the method is "
             "`random` / `run`, which we list",
             lambda i: i.raw == "singletonMethod" and re.search(rf"\bdef\s+{re.escape(i.name)}\.\S", i.source)
             is not None),
    Category(("ruby",), "ours", CTAGS_WRONG,
             "the same methods from our side (named by the method, not the receiver)",
             lambda i: re.search(rf"\bdef\s+(\w+)\.{re.escape(i.name)}(?!\w)", i.source) is not None
             and re.search(r"\bdef\s+(\w+)\.", i.source).group(1) in i.ctags_here),
    Category(("ruby",), "ours", CTAGS_WRONG,
             "a method defined as the argument of a call (`ruby2_keywords def method_missing(...)`) or on an "
             "instance variable (`def @CONF.inspect`): ctags lists nothing there",
             lambda i: i.name not in i.ctags_here and re.search(
                 rf"(\w\s+def\s+{re.escape(i.name)}\b|\bdef\s+@\w+\.{re.escape(i.name)})", i.source) is not None),
    # ---------------------------------------------------------------- Go, Rust
    Category(("go",), "ours", CTAGS_WRONG,
             "a type, or an interface's method, declared inside a function body (`func TestSetContext(t) { type "
             "key struct{} ...`): a real definition; ctags's Go parser does not look inside function bodies",
             lambda i: i.in_function and _declares(i)),
    Category(("rust",), "ctags", CTAGS_WRONG,
             "an impl for a type with no single name (`impl<A, B> Pair for (A, B)`, `for ()`, `for !`, `for [T; "
             "0]`, `for &[SocketAddr]`): ctags names it after an element (`B`, `T`) or the trait (`Deserialize`)",
             lambda i: i.raw == "implementation" and re.search(r"\bfor\s+&?\s*[(\[!]", i.source) is not None),
    Category(("rust",), "ours", CTAGS_WRONG,
             "the same impls from our side, named by the type as written (`(A, B)`, `()`, `!`, `[T; 0]`)",
             lambda i: i.kind == "impl" and i.name[:1] in "([!&"),
]


def adjudicate(language: str, items: list[Item]) -> dict[Category, list[Item]]:
    """Category -> its items (the first category whose rule holds); unclaimed items are left out."""
    groups: dict[Category, list[Item]] = {}
    for item in items:
        for category in CATEGORIES:
            if language in category.languages and category.side == item.side and category.test(item):
                groups.setdefault(category, []).append(item)
                break
    return groups


def adjudicated_figures(matched: int, ours: int, ctags: int, groups: dict[Category, list[Item]]) -> tuple[float, float]:
    """(precision, recall) after adjudication (module docstring)."""
    missed = sum(len(v) for c, v in groups.items() if c.verdict == CTAGS_WRONG and c.side == "ours")
    wrong = sum(len(v) for c, v in groups.items() if c.verdict == CTAGS_WRONG and c.side == "ctags")
    agreed = matched + missed
    return agreed / max(ours, 1), agreed / max(ctags - wrong + missed, 1)
