"""Each sample repository in fixtures/architecture gives exactly the components, edges, cycles, entry points
and dependencies written down here."""

from __future__ import annotations


def components(inventory):
    return {(c.name, c.kind, c.root) for c in inventory.components}


def edges(inventory):
    return {
        (e.source, e.target, e.count, f"{e.example_path}:{e.example_line}", e.in_cycle)
        for e in inventory.edges
    }


def entry_points(inventory):
    return {(e.kind, e.name, f"{e.path}:{e.line}", e.target, e.component) for e in inventory.entry_points}


def dependencies(inventory):
    return {(d.ecosystem, d.name, d.spec, d.manifest, d.component, d.dev) for d in inventory.dependencies}


def test_python_project_components_edges_and_cycle(inventory_of):
    inv = inventory_of("python_app")
    assert components(inv) == {
        ("(root)", "directory", ""),
        ("shop", "python-package", "src/shop"),
        ("shop.billing", "python-package", "src/shop/billing"),
        ("shop.orders", "python-package", "src/shop/orders"),
        ("shop.web", "python-package", "src/shop/web"),
        ("tests", "directory", "tests"),
    }
    assert edges(inv) == {
        ("shop", "shop.orders", 1, "src/shop/cli.py:3", False),
        # relative import "from ..billing import charge"
        ("shop.orders", "shop.billing", 1, "src/shop/orders/__init__.py:1", True),
        # an import inside a function counts; a string that looks like an import does not
        ("shop.billing", "shop.orders", 1, "src/shop/billing/__init__.py:5", True),
        # "from shop import billing" reaches the sub-package, not the parent
        ("shop.web", "shop.billing", 1, "src/shop/web/app.py:3", False),
        ("tests", "shop.orders", 1, "tests/test_orders.py:1", False),
    }
    assert [(c.components, c.path) for c in inv.cycles] == [
        (["shop.billing", "shop.orders"], ["shop.billing", "shop.orders"])
    ]
    assert entry_points(inv) == {
        ("console-script", "shop", "pyproject.toml:10", "shop.cli:main", "shop"),
        ("python-main", "shop.cli", "src/shop/cli.py:11", None, "shop"),
        ("python-main", "shop.web.app", "src/shop/web/app.py:9", None, "shop.web"),
        # the commented-out uvicorn.run on line 6 is not one
        ("server", "uvicorn.run", "src/shop/web/app.py:10", None, "shop.web"),
    }
    assert dependencies(inv) == {
        ("python", "requests", ">=2.31", "pyproject.toml", "shop", False),
        ("python", "pydantic", ">=2", "pyproject.toml", "shop", False),
        ("python", "pytest", ">=8", "pyproject.toml", "shop", True),
    }


def test_python_figures(inventory_of):
    inv = inventory_of("python_app")
    by_name = {c.name: c for c in inv.components}
    assert (by_name["tests"].test_files, by_name["tests"].test_lines, by_name["tests"].code_lines) == (
        1,
        5,
        0,
    )
    assert (by_name["shop.orders"].files, by_name["shop.orders"].code_lines) == (2, 11)
    assert by_name["shop.orders"].symbols == 3  # place, Order, Order.__init__
    assert (inv.tests.test_files, inv.tests.test_lines, inv.tests.code_files, inv.tests.code_lines) == (
        1,
        5,
        7,
        43,
    )
    assert inv.tests.ratio == round(5 / 43, 4)
    assert [(s.language, s.files) for s in inv.languages] == [("python", 8), ("toml", 1)]
    assert inv.largest_functions[0].name == "charge"
    assert (inv.largest_functions[0].path, inv.largest_functions[0].lines) == (
        "src/shop/billing/__init__.py",
        5,
    )
    assert inv.largest_files[0].path == "src/shop/cli.py"


def test_js_workspace_packages_relative_and_package_imports(inventory_of):
    inv = inventory_of("js_monorepo")
    assert components(inv) == {
        ("mono", "npm-package", ""),
        ("@mono/core", "npm-package", "packages/core"),
        ("@mono/ui", "npm-package", "packages/ui"),
        ("mono-cli", "npm-package", "packages/cli"),
    }
    assert edges(inv) == {
        # a bare specifier with a sub-path names the workspace package "@mono/ui"
        ("@mono/core", "@mono/ui", 1, "packages/core/src/util.ts:1", True),
        # "@mono/core" from index.tsx and require("../core/src/format") from helpers.js; notRequire("...") is
        # no import
        ("@mono/ui", "@mono/core", 2, "packages/ui/helpers.js:1", True),
        ("mono-cli", "@mono/ui", 1, "packages/cli/bin/mono.js:2", False),
    }
    assert [c.components for c in inv.cycles] == [["@mono/core", "@mono/ui"]]
    assert entry_points(inv) == {
        ("npm-bin", "mono", "packages/cli/package.json:3", "packages/cli/bin/mono.js", "mono-cli"),
        (
            "npm-main",
            "@mono/core",
            "packages/core/package.json:3",
            "packages/core/src/index.ts",
            "@mono/core",
        ),
        ("server", "app.listen", "packages/cli/bin/mono.js:6", None, "mono-cli"),
    }
    # the workspace's own packages are not external dependencies
    assert dependencies(inv) == {
        ("npm", "lodash", "^4.17.21", "packages/core/package.json", "@mono/core", False),
        ("npm", "react", "^18.2.0", "packages/ui/package.json", "@mono/ui", False),
        ("npm", "typescript", "^5.4.0", "package.json", "mono", True),
    }
    ui = next(c for c in inv.components if c.name == "@mono/ui")
    assert (ui.test_files, ui.test_lines) == (1, 2)
    assert ui.languages == ["tsx", "javascript"]


def test_go_module_packages(inventory_of):
    inv = inventory_of("go_service")
    assert components(inv) == {
        ("example.com/svc", "go-module", ""),
        ("example.com/svc/internal/api", "go-package", "internal/api"),
        ("example.com/svc/internal/store", "go-package", "internal/store"),
        ("example.com/svc/cmd/tool", "go-package", "cmd/tool"),
    }
    assert edges(inv) == {
        ("example.com/svc", "example.com/svc/internal/api", 1, "main.go:6", False),
        ("example.com/svc/internal/api", "example.com/svc/internal/store", 1, "internal/api/api.go:6", False),
        ("example.com/svc/cmd/tool", "example.com/svc/internal/store", 1, "cmd/tool/main.go:3", False),
    }
    assert inv.cycles == []
    # testdata/sample.go has func main() but is not package main
    assert entry_points(inv) == {
        ("go-main", "example.com/svc", "main.go:9", None, "example.com/svc"),
        ("server", "http.ListenAndServe", "main.go:10", None, "example.com/svc"),
        ("go-main", "example.com/svc/cmd/tool", "cmd/tool/main.go:5", None, "example.com/svc/cmd/tool"),
    }
    assert dependencies(inv) == {
        ("go", "github.com/google/uuid", "v1.6.0", "go.mod", "example.com/svc", False),
        ("go", "golang.org/x/sync", "v0.7.0", "go.mod", "example.com/svc", True),  # indirect
    }
    store = next(c for c in inv.components if c.name.endswith("store"))
    assert (store.files, store.test_files, store.test_lines) == (3, 1, 9)


def test_rust_workspace_crates(inventory_of):
    inv = inventory_of("rust_workspace")
    # the virtual workspace manifest is no crate: its folder is a plain directory component
    assert components(inv) == {
        ("(root)", "directory", ""),
        ("engine", "rust-crate", "crates/engine"),
        ("cli-app", "rust-crate", "crates/cli-app"),
    }
    # "use engine::run" and "extern crate engine"; "use crate::parse" stays inside engine
    assert edges(inv) == {("cli-app", "engine", 2, "crates/cli-app/src/bin/tool.rs:1", False)}
    assert entry_points(inv) == {
        ("cargo-bin", "tool", "crates/cli-app/Cargo.toml:10", "crates/cli-app/src/bin/tool.rs", "cli-app"),
        ("rust-main", "cli-app", "crates/cli-app/src/main.rs:3", None, "cli-app"),
        ("rust-main", "tool", "crates/cli-app/src/bin/tool.rs:3", None, "cli-app"),
    }
    # the path dependency on engine is internal
    assert dependencies(inv) == {
        ("cargo", "serde", "1", "Cargo.toml", None, False),
        ("cargo", "serde", "1.0", "crates/engine/Cargo.toml", "engine", False),
        ("cargo", "proptest", "1", "crates/engine/Cargo.toml", "engine", True),
        ("cargo", "clap", "4.5", "crates/cli-app/Cargo.toml", "cli-app", False),
    }


def test_java_maven_modules(inventory_of):
    inv = inventory_of("java_multimodule")
    assert components(inv) == {
        ("shop-parent", "java-module", ""),
        ("core", "java-module", "core"),
        ("app", "java-module", "app"),
    }
    # a class import and a static member import, mapped through package declarations
    assert edges(inv) == {
        ("app", "core", 2, "app/src/main/java/com/acme/app/Main.java:3", True),
        ("core", "app", 1, "core/src/main/java/com/acme/core/Money.java:3", True),
    }
    assert [(c.components, c.path) for c in inv.cycles] == [(["app", "core"], ["app", "core"])]
    assert entry_points(inv) == {
        ("java-main", "Main", "app/src/main/java/com/acme/app/Main.java:8", None, "app"),
        ("server", "SpringApplication.run", "app/src/main/java/com/acme/app/Main.java:10", None, "app"),
    }
    assert dependencies(inv) == {
        ("maven", "com.google.guava:guava", "33.0.0-jre", "core/pom.xml", "core", False),
        ("maven", "org.junit.jupiter:junit-jupiter", "5.10.2", "core/pom.xml", "core", True),
        ("maven", "org.springframework.boot:spring-boot-starter-web", "3.2.5", "app/pom.xml", "app", False),
    }
    core = next(c for c in inv.components if c.name == "core")
    assert (core.test_files, core.test_lines) == (1, 7)  # src/test/java


def test_no_history_without_git(inventory_of):
    inv = inventory_of("go_service")
    assert inv.history.available is False
    assert inv.hotspots == []
    assert any("no git history" in note for note in inv.notes)
