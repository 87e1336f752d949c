"""A repository that is one Rust crate is drawn as its top-level modules, with edges from the paths its code names
(issue 17: regex-syntax was one box); a workspace of crates keeps one component per crate."""

from __future__ import annotations

from tests.architecture.test_production_graph import edges, inventory_of

ONE_CRATE = {
    "Cargo.toml": '[package]\nname = "mini-re"\n',
    "src/lib.rs": (
        "pub mod ast;\npub mod hir;\nmod error;\nmod util;\npub use crate::error::Error;\npub use crate::hir::Hir;\n"
        "#[cfg(test)]\nmod tests;\n"
    ),
    "src/error.rs": "use crate::{ast, hir::{self, Hir}};\npub struct Error;\n",
    "src/ast.rs": "mod parse;\npub struct Ast;\n",  # the module file beside its folder (Rust 2018)
    "src/ast/parse.rs": "use super::Ast;\npub fn parse() -> Result<Ast, crate::Error> { todo!() }\n",
    "src/hir/mod.rs": "mod translate;\npub struct Hir;\n#[cfg(test)]\nmod tests {\n    use crate::util::helper;\n}\n",
    "src/hir/translate.rs": "use super::super::ast::Ast;\n",
    "src/util/mod.rs": "pub fn helper() {}\n",
    "src/tests.rs": "use crate::util::helper;\n",  # declared #[cfg(test)] in lib.rs: test code
    "tests/it.rs": "use mini_re::util::helper;\n",
}


def test_one_crate_is_split_into_its_top_level_modules(tmp_path):
    inventory = inventory_of(tmp_path, ONE_CRATE)
    assert [(c.name, c.kind, c.root, c.files) for c in inventory.components] == [
        ("mini-re", "rust-crate", "", 5),  # Cargo.toml, lib.rs, error.rs, tests.rs, tests/it.rs
        ("mini-re/ast", "rust-module", "src/ast", 2),  # src/ast.rs and src/ast/parse.rs
        ("mini-re/hir", "rust-module", "src/hir", 2),
        ("mini-re/util", "rust-module", "src/util", 1),
    ]
    assert [(f.path, f.component) for f in inventory.largest_files if f.path == "src/ast.rs"] == [
        ("src/ast.rs", "mini-re/ast")
    ]


def test_module_edges_from_use_trees_super_and_paths_with_test_code_apart(tmp_path):
    inventory = inventory_of(tmp_path, ONE_CRATE)
    assert edges(inventory) == [
        ("mini-re", "mini-re/ast", False),  # the use tree of error.rs names both ast and hir
        ("mini-re", "mini-re/hir", False),
        ("mini-re", "mini-re/util", True),  # only src/tests.rs (cfg(test)) and tests/; `mod util;` no edge
        ("mini-re/ast", "mini-re", False),  # crate::Error in a signature; `use super::Ast` stays inside ast
        ("mini-re/hir", "mini-re/ast", False),  # super::super::ast from hir/translate.rs
        ("mini-re/hir", "mini-re/util", True),  # inside #[cfg(test)] mod tests { ... }
    ]
    # Modules of one crate may use each other (rustc builds it), but the loop is shown as Python's are.
    assert [c.components for c in inventory.cycles] == [["mini-re", "mini-re/ast", "mini-re/hir"]]
    assert not any(e.in_cycle for e in inventory.edges if e.test_only)


def test_a_workspace_of_crates_keeps_one_component_per_crate(tmp_path):
    inventory = inventory_of(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": '[package]\nname = "a"\n',
            "a/src/lib.rs": "pub mod m;\n",
            "a/src/m/mod.rs": "use crate::n;\npub struct Thing;\n",
            "b/Cargo.toml": '[package]\nname = "b-lib"\n\n[dependencies]\na = { path = "../a" }\n',
            "b/src/lib.rs": "use a::m::Thing;\nuse crate::x;\n",
        },
    )
    assert [(c.name, c.kind) for c in inventory.components if c.kind != "directory"] == [
        ("a", "rust-crate"),
        ("b-lib", "rust-crate"),
    ]
    assert edges(inventory) == [("b-lib", "a", False)]
