"""Definitions the cross-check against Universal Ctags found wrong or missing (tools/benchmarks/CROSSCHECK.md),
one row per case: a small snippet in the shape of the real code and every definition expected from it.
"""

from __future__ import annotations

import textwrap

import pytest

from repo_auditor.parsing.definitions import parse_definitions
from repo_auditor.repository.languages import source_language
from repo_auditor.tools.symbol_index import SymbolIndex

CASES = {
    # googletest's gtest.h: a C++ header is parsed as C++, not C
    "cpp header": (
        "c",
        """
        namespace testing {
        class Mutex {
         public:
          void Lock();
          int Count() const { return 0; }
        };
        }  // namespace testing
        """,
        [
            ("module", "testing", 1, 7),
            ("class", "testing.Mutex", 2, 6),
            ("method", "testing.Mutex.Lock", 4, 4),
            ("method", "testing.Mutex.Count", 5, 5),
        ],
    ),
    "c header stays c": (
        "c",
        """
        /* a class: namespace { */
        struct point { int x; };
        int add(int a, int b) { return a + b; }
        """,
        [("struct", "point", 2, 2), ("function", "add", 3, 3)],
    ),
    # annotation macros after the parameters, and an export macro before the return type
    "annotation macros": (
        "cpp",
        """
        class Mutex { public: void Lock() GTEST_EXCLUSIVE_LOCK_REQUIRED_(mu_); };
        void Mutex::Unlock() GTEST_UNLOCK_FUNCTION_(mu_) {
          owner_ = 0;
        }
        GTEST_API_ std::string JoinAsKeyValueTuple(int a) {
          return "";
        }
        """,
        [
            ("class", "Mutex", 1, 1),
            ("method", "Mutex.Lock", 1, 1),
            ("method", "Mutex.Unlock", 2, 4),
            ("function", "JoinAsKeyValueTuple", 5, 7),
        ],
    ),
    "export macro on a class, multi-line annotation, member template, specialisation": (
        "cpp",
        """
        namespace testing {
        class GTEST_API_ DeathTest {
         public:
          virtual void Abort(AbortReason reason) = 0;
          template <typename T>
          static void Accept(T);
        };
        template <typename T> struct is_ref<std::reference_wrapper<T>> : std::true_type {};
        }
        void ExpectationBase::RetireAllPreRequisites()
            GTEST_EXCLUSIVE_LOCK_REQUIRED_(g_gmock_mutex) {
          if (x) {}
        }
        """,
        [
            ("module", "testing", 1, 9),
            ("class", "testing.DeathTest", 2, 7),
            ("method", "testing.DeathTest.Abort", 4, 4),
            ("method", "testing.DeathTest.Accept", 6, 6),
            ("struct", "testing.is_ref", 8, 8),
            ("method", "ExpectationBase.RetireAllPreRequisites", 10, 13),
        ],
    ),
    "annotation on its own line, after const; macro-defined tests and mock methods named by the macro as ctags": (
        "cpp",
        """
        class Base {
         public:
          bool VerifyLocked()
              GTEST_EXCLUSIVE_LOCK_REQUIRED_(g_gmock_mutex);
          MOCK_METHOD(int, Bar, (int n));
        };
        bool Base::Satisfied() const
            GTEST_EXCLUSIVE_LOCK_REQUIRED_(g_gmock_mutex) {
          return true;
        }
        TEST(BaseTest, Works) {
          EXPECT_TRUE(true);
        }
        """,
        [
            ("class", "Base", 1, 6),
            ("method", "Base.VerifyLocked", 3, 3),
            ("method", "Base.MOCK_METHOD", 5, 5),
            ("method", "Base.Satisfied", 7, 10),
            ("function", "TEST", 11, 13),
        ],
    ),
    # Rust: impl names without lifetimes, references, mut or dyn; associated types
    "rust impls and associated types": (
        "rust",
        """
        struct Walker;
        impl<'a> Iterator for &'a mut Walker { type Item = u8; fn next(&mut self) -> Option<u8> { None } }
        pub trait Iter {
            type Item;
            fn next(&mut self) -> Option<Self::Item>;
        }
        impl<'r> Show for &'r dyn Shape<'r> {}
        """,
        [
            ("struct", "Walker", 1, 1),
            ("impl", "Walker", 2, 2),
            ("type", "Walker.Item", 2, 2),
            ("method", "Walker.next", 2, 2),
            ("trait", "Iter", 3, 6),
            ("type", "Iter.Item", 4, 4),
            ("method", "Iter.next", 5, 5),
            ("impl", "Shape", 7, 7),
        ],
    ),
    "go interface methods": (
        "go",
        """
        package p
        type Reader interface {
        	Read(p []byte) (int, error)
        	io.Closer
        }
        """,
        [("interface", "Reader", 2, 5), ("method", "Reader.Read", 3, 3)],
    ),
    # express's CommonJS definitions
    "js assignments": (
        "javascript",
        """
        var res = Object.create(http.ServerResponse.prototype);
        res.send = function send(body) { return this; };
        Layer.prototype.handle_request = function handle(req, res, next) {};
        exports.compileETag = function(val) {};
        module.exports = function createApplication() {};
        module.exports.Router = class Router {};
        module.exports = {};
        res.locals = Object.create(null);
        """,
        [
            ("method", "res.send", 2, 2),
            ("method", "Layer.handle_request", 3, 3),
            ("function", "compileETag", 4, 4),
            ("function", "createApplication", 5, 5),
            ("class", "Router", 6, 6),
        ],
    ),
    "js string keys": (
        "javascript",
        """
        const o = { "quoted-key": function () {}, 'single'() {}, count: 3 };
        class K { "str"() {} }
        """,
        [
            ("method", "quoted-key", 1, 1),
            ("method", "single", 1, 1),
            ("class", "K", 2, 2),
            ("method", "K.str", 2, 2),
        ],
    ),
    # express: middleware returned or passed as a named function expression; router's chained module.exports
    "js named function expressions": (
        "javascript",
        """
        exports.init = function(app) {
          return function expressInit(req, res, next) {
            file.on('headers', function headers(res) {});
          };
        };
        var proto = module.exports = function(options) {};
        var send = function send() {};
        """,
        [
            ("function", "init", 1, 5),
            ("function", "init.expressInit", 2, 4),
            ("function", "init.expressInit.headers", 3, 3),
            ("function", "proto", 6, 6),
            ("function", "send", 7, 7),
        ],
    ),
    # zod: overloads are one definition from the first signature (where ctags puts it); arrow-function fields
    "ts overloads, function fields, class expressions": (
        "typescript",
        """
        export function literal(a: string): string;
        export function literal(a: number): number;
        export function literal(a: any) { return a; }
        class ZodError {
          static create = (issues: number[]) => { return issues; };
          format(): string;
          // with a mapper
          format(m: number): string;
          format(m?: any) { return ""; }
        }
        interface I { a(): void; }
        z.instanceof(class MyClass {});
        """,
        [
            ("function", "literal", 1, 3),
            ("class", "ZodError", 4, 10),
            ("method", "ZodError.create", 5, 5),
            ("method", "ZodError.format", 6, 9),
            ("interface", "I", 11, 11),
            ("method", "I.a", 11, 11),
            ("class", "MyClass", 12, 12),
        ],
    ),
    # brotli: names built by a macro (*_inc.h), a comment inside a multi-line macro (decode.h), standard typedefs
    "c macro-built names, comments in macros, standard typedef names": (
        "c",
        """
        #define ERRORS(X, SEP)      \\
          X(_, NO_ERROR, 0) SEP     \\
          /* same as results */     \\
          X(_, SUCCESS, 1)
        static BROTLI_NOINLINE void EXPORT_FN(CreateBackwardReferences)(
            size_t num_bytes) {
        }
        double FN(BrotliPopulationCost)(const HistogramType* histogram) {
          return 0;
        }
        typedef __int16 int16_t;
        typedef void (*start_func)(void* opaque, size_t size);
        """,
        [
            ("macro", "ERRORS", 1, 4),
            ("function", "CreateBackwardReferences", 5, 7),
            ("function", "BrotliPopulationCost", 8, 10),
            ("type", "int16_t", 11, 11),
            ("type", "start_func", 12, 12),
        ],
    ),
    # googletest: an annotation macro after a pointer-returning or const method, or on a pure virtual's own
    # line; fmt: a class macro on the line before `class`; conversion operators
    "cpp annotation shapes, class macro line, conversion operators": (
        "cpp",
        """
        const void* UntypedFunctionMockerBase::MockObject() const
            GTEST_LOCK_EXCLUDED_(g_gmock_mutex) {
          return nullptr;
        }
        FMT_CLASS_API
        class FMT_API format_error : public std::runtime_error {
         public:
          virtual void ClearDefaultActionsLocked()
              GTEST_EXCLUSIVE_LOCK_REQUIRED_(g_gmock_mutex) = 0;
          explicit operator bool() const noexcept { return true; }
        };
        """,
        [
            ("method", "UntypedFunctionMockerBase.MockObject", 1, 4),
            ("class", "format_error", 6, 11),
            ("method", "format_error.ClearDefaultActionsLocked", 8, 8),
            ("method", "format_error.operator bool", 10, 10),
        ],
    ),
    # serde's de/mod.rs: a trait object's lifetime bound is not part of the impl's name
    "rust impl for a trait object with a bound": (
        "rust",
        """
        impl<'a> Display for Expected + 'a {
            fn fmt(&self) {}
        }
        """,
        [("impl", "Expected", 1, 3), ("method", "Expected.fmt", 2, 2)],
    ),
    # googletest's gmock-matchers-comparisons_test.cc: one #if/#else pair of TEST headers was a 1,348-line function
    "cpp unbalanced #if/#else keeps the first branch": (
        "cpp",
        """
        #if defined(_MSC_VER)
        TEST(A, DISABLED_Works) {
        #else
        TEST(A, Works) {
        #endif
          int x = 1;
        }

        TEST(A, Next) {
        }
        """,
        [("function", "TEST", 2, 7), ("function", "TEST", 9, 10)],
    ),
    "c balanced #if/#else keeps every branch": (
        "c",
        """
        #ifdef FAST
        int f(void) { return 1; }
        #else
        int g(void) { return 2; }
        #endif
        """,
        [("function", "f", 2, 2), ("function", "g", 4, 4)],
    ),
    # CPython's test/test_compile.py: a class header after a syntax error was left in an error region and dropped
    "python class after a syntax error": (
        "python",
        """
        x = (1,
        s = '''
        class InAString:
        '''


        class After(Base):

            def method(self):
                return 1
        y = 2
        """,
        [("class", "After", 7, 10), ("method", "After.method", 9, 10)],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_definitions_agree_with_the_adjudicated_cross_check(case):
    language, source, expected = CASES[case]
    found = parse_definitions(language, textwrap.dedent(source).lstrip("\n").encode())
    assert [(d.kind, d.qualified_name, d.start_line, d.end_line) for d in found] == expected


@pytest.mark.parametrize(
    ("source", "language"),
    [
        (b"#include <stdio.h>\nint f(void);\n", "c"),
        (b"// namespace in a comment\n/* template<T> */\nint f(void);\n", "c"),
        (b"#include <string>\nint f(void);\n", "cpp"),
        (b'extern "C++" {\n}\n', "cpp"),
        (b"template <typename T> T id(T x);\n", "cpp"),
        (b"class Foo : public Bar {};\n", "cpp"),
    ],
)
def test_a_c_header_is_cpp_by_its_content(source, language):
    assert source_language("c", source) == language
    assert source_language("python", source) == "python"


def test_an_exact_name_from_an_assignment_wins_over_a_substring_match(workspace, commit, open_repo, tmp_path):
    commit(workspace, {"lib/response.js": "res.send = function send(body) {};\nres.sendfile = function () {};\n"})
    index = SymbolIndex(open_repo(workspace.path), tmp_path / "symbols")
    try:
        assert [s.qualified_name for s in index.find(name="send")] == ["res.send"]
    finally:
        index.close()
