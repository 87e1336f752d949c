"""Files + build files -> components: the units an architecture is drawn with.

Rules, in order (the first rule to claim a folder wins):

* ``Cargo.toml`` with a ``[package]`` table: a ``rust-crate`` rooted there (a virtual workspace manifest adds
  none; its members have their own ``Cargo.toml``). When it is the only crate, each top-level module of its
  ``src/`` with a folder becomes a ``rust-module`` component (``regex-syntax/hir``; see ``architecture.rust``).
* ``go.mod``: its folder is a ``go-module`` named by the module path; every folder below with ``.go`` files is
  a ``go-package`` named by its import path (nested ``go.mod`` files start their own module; ``testdata`` is
  skipped).
* ``pom.xml`` / ``build.gradle(.kts)``: a ``java-module`` (named by ``artifactId`` / the folder).
* ``package.json``: an ``npm-package`` named by its ``name`` (workspace members have their own package.json).
  When it is the only component, its top-level folders and the folders right under its ``lib/`` or ``src/``
  become ``npm-folder`` components (``eslint/lib/linter``).
  One that only drives JS test tooling (no main/module/exports/bin, no runtime dependencies) in a repository
  mostly of other code is not a component: Django's root ``package.json`` runs its JS tests with grunt.
* ``pyproject.toml`` / ``setup.cfg`` / ``setup.py``: every top-level package (folder with ``__init__.py``)
  in the declared ``package_dir`` (``{"": "lib"}``), else under ``src/`` when that exists, else beside the
  build file, else under ``lib/`` (sqlalchemy's layout), is a ``python-package``. When the project has a
  single non-test package, its direct sub-packages become components too (``pkg.sub``), so the graph shows its
  inside; a folder of ``.py`` files without ``__init__.py`` inside a package is a namespace sub-package
  (``flask/sansio``) and counts as one. A project without packages is one component at the build file's folder.

Build files inside test or fixture folders (``tests/``, ``fixtures/``, ``testdata/`` ...) are not read: they
describe sample projects.

Each file belongs to the component with the deepest root above it (a Rust module's ``src/<module>.rs`` to its
module). A file under no root belongs to a
``directory`` component named after its top-level folder, or ``(root)`` for files at the top.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from repo_auditor.architecture import rust
from repo_auditor.architecture.manifests import Manifest
from repo_auditor.architecture.model import Component
from repo_auditor.architecture.tree import is_test_path, parent_dirs

ROOT_COMPONENT = "(root)"

_ECOSYSTEM_ORDER = {"cargo": 0, "go": 1, "maven": 2, "gradle": 2, "npm": 3, "python": 4}

_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
# Code that is not JavaScript, for "is this repository mostly JavaScript?".
_OTHER_CODE_SUFFIXES = (
    ".py", ".go", ".rs", ".java", ".kt", ".scala", ".c", ".h", ".cc", ".cpp", ".hpp", ".rb", ".php", ".cs", ".swift",
)


@dataclass
class Layout:
    """Components and the lookups the import resolvers need."""

    components: dict[str, Component]  # by name
    roots: dict[str, str]  # component root folder -> component name
    python_roots: list[str]  # folders module names are relative to, deepest first ('' always last)
    go_modules: dict[str, str] = field(default_factory=dict)  # go.mod folder -> module path
    crates: dict[str, str] = field(default_factory=dict)  # crate name with '-' as '_' -> component name
    dev_crates: dict[str, frozenset[str]] = field(default_factory=dict)  # crate component -> its dev-only crates
    npm_packages: dict[str, str] = field(default_factory=dict)  # package.json name -> component name
    python_projects: set[str] = field(default_factory=set)  # source folders of the Python projects seen
    directories: dict[str, str] = field(
        default_factory=dict
    )  # top-level folder -> its ``directory`` component
    files: dict[str, str] = field(default_factory=dict)  # file -> component, before any folder (``src/hir.rs``)
    rust_modules: dict[str, rust.CrateModules] = field(default_factory=dict)  # crate component -> its split

    def owner_of_dir(self, folder: str) -> str | None:
        """The component whose root is ``folder`` or the deepest one above it; None if none."""
        for candidate in (folder, *parent_dirs(folder)) if folder else ("",):
            if candidate in self.roots:
                return self.roots[candidate]
        return None

    def owner(self, path: str) -> str:
        """The component a file belongs to (creating its ``directory`` component on first use)."""
        if path in self.files:
            return self.files[path]
        found = self.owner_of_dir(posixpath.dirname(path))
        if found is not None:
            return found
        top = path.split("/", 1)[0] if "/" in path else ""
        if top not in self.directories:
            name = _unique(top or ROOT_COMPONENT, top, self.components)
            self.components[name] = Component(name=name, root=top, kind="directory")
            self.directories[top] = name
        return self.directories[top]


def _unique(name: str, root: str, taken: dict[str, Component]) -> str:
    """``name``, or ``name (root)`` when taken, or ``name (root) 2`` ... (names come from untrusted build
    files)."""
    if name not in taken:
        return name
    candidate = base = f"{name} ({root or '.'})"
    number = 1
    while candidate in taken:
        number += 1
        candidate = f"{base} {number}"
    return candidate


def detect(paths: list[str], manifests: list[Manifest]) -> Layout:
    """Find the components of a tree whose (analysed) file paths are ``paths``."""
    layout = Layout(components={}, roots={}, python_roots=[""])
    folders: set[str] = set()  # every folder holding a file, at any depth
    packages_in: dict[
        str | None, list[str]
    ] = {}  # folder -> the Python packages (folders with __init__.py) right in it
    go_roots = {m.directory for m in manifests if m.ecosystem == "go"}
    go_packages: dict[str, list[str]] = {}  # go.mod folder -> the folders with .go files of that module
    python_folders: set[str] = set()  # folders holding .py files
    js_files = other_code_files = 0
    for path in paths:
        folder = posixpath.dirname(path)
        folders.update(parent_dirs(path))
        name = posixpath.basename(path)
        js_files += name.endswith(_JS_SUFFIXES)
        other_code_files += name.endswith(_OTHER_CODE_SUFFIXES)
        if name.endswith(".py"):
            python_folders.add(folder)
        if name == "__init__.py":
            packages_in.setdefault(posixpath.dirname(folder) if folder else None, []).append(folder)
        elif name.endswith(".go") and go_roots:
            module_root = _nearest(folder, go_roots)
            if module_root is not None:
                go_packages.setdefault(module_root, []).append(folder)

    regular = {p for found in packages_in.values() for p in found}
    for folder in sorted(python_folders - regular):  # namespace sub-packages: no __init__.py, parent is a package
        if folder and posixpath.dirname(folder) in regular:
            packages_in.setdefault(posixpath.dirname(folder), []).append(folder)
    mostly_other_code = js_files < other_code_files

    def claim(root: str, name: str, kind: str, manifest: str | None) -> str | None:
        if root in layout.roots:
            return None
        name = _unique(name, root, layout.components)
        layout.components[name] = Component(name=name, root=root, kind=kind, manifest=manifest)
        layout.roots[root] = name
        return name

    for manifest in sorted(manifests, key=lambda m: (_ECOSYSTEM_ORDER[m.ecosystem], m.path)):
        folder = manifest.directory
        fallback = posixpath.basename(folder) or ROOT_COMPONENT
        if manifest.ecosystem == "cargo" and manifest.is_crate:
            claimed = claim(folder, manifest.name or fallback, "rust-crate", manifest.path)
            if claimed:
                layout.crates.setdefault((manifest.name or fallback).replace("-", "_"), claimed)
                layout.dev_crates[claimed] = manifest.dev_only
        elif manifest.ecosystem == "go" and manifest.go_module:
            layout.go_modules[folder] = manifest.go_module
            claim(folder, manifest.go_module, "go-module", manifest.path)
            for package_dir in sorted(set(go_packages.get(folder, ()))):
                rel = _relative_to(package_dir, folder)
                if rel and "testdata" not in rel.split("/"):
                    claim(package_dir, f"{manifest.go_module}/{rel}", "go-package", manifest.path)
        elif manifest.ecosystem in ("maven", "gradle") and not manifest.is_settings:
            claim(folder, manifest.name or fallback, "java-module", manifest.path)
        elif manifest.ecosystem == "npm":
            if manifest.tooling_only and mostly_other_code:
                continue  # a package.json for the JS test tools of a Python (Go, ...) repository
            claimed = claim(folder, manifest.name or fallback, "npm-package", manifest.path)
            if claimed and manifest.name:
                layout.npm_packages.setdefault(manifest.name, claimed)  # a name used twice: the first wins
        elif manifest.ecosystem == "python" and not manifest.dependencies_only:
            _python_project(manifest, folder, folders, packages_in, layout, claim)
    if [c.kind for c in layout.components.values()] == ["npm-package"]:
        _split_package(next(iter(layout.components.values())), folders, claim)
    crates = [c for c in layout.components.values() if c.kind == "rust-crate"]
    if len(crates) == 1:
        split = rust.split_crate(crates[0], set(paths), claim, layout.files)
        if split is not None:
            layout.rust_modules[split.component] = split
            for module in split.modules.values():  # its modules build with the crate's dependencies
                layout.dev_crates[module] = layout.dev_crates.get(split.component, frozenset())
    return layout


def _split_package(package: Component, folders: set[str], claim) -> None:
    """A repository that is one npm package: each top-level folder of it becomes an ``npm-folder`` component,
    and each folder right under its ``lib/`` or ``src/`` (where the code lives), so the graph shows the inside."""
    for folder in sorted(folders):
        rel = _relative_to(folder, package.root)
        if not rel or "node_modules" in rel.split("/"):
            continue
        top, _, rest = rel.partition("/")
        if (not rest and top not in ("lib", "src")) or (rest and top in ("lib", "src") and "/" not in rest):
            claim(folder, f"{package.name}/{rel}", "npm-folder", package.manifest)


def _python_project(
    manifest: Manifest,
    folder: str,
    folders: set[str],
    packages_in: dict[str | None, list[str]],
    layout: Layout,
    claim,
) -> None:
    source_root = folder
    lib = posixpath.join(folder, "lib") if folder else "lib"
    for candidate in (manifest.package_dir, "src"):
        joined = posixpath.join(folder, candidate) if folder and candidate else candidate
        if joined and joined in folders:
            source_root = joined
            break
    else:
        if not packages_in.get(folder) and packages_in.get(lib):
            source_root = lib
    if source_root in layout.python_projects:
        return  # a second build file of the same project
    layout.python_projects.add(source_root)
    if source_root not in layout.python_roots:
        layout.python_roots.append(source_root)
        layout.python_roots.sort(key=lambda r: (-r.count("/") - bool(r), r))
    packages = sorted(packages_in.get(source_root, ()))
    for package in packages:
        claim(package, posixpath.basename(package), "python-package", manifest.path)
    main_packages = [p for p in packages if not is_test_path(p + "/x")]
    if len(main_packages) == 1:
        (package,) = main_packages
        for sub in sorted(packages_in.get(package, ())):
            claim(
                sub,
                f"{posixpath.basename(package)}.{posixpath.basename(sub)}",
                "python-package",
                manifest.path,
            )
    if not packages:
        claim(
            folder,
            manifest.name or posixpath.basename(folder) or ROOT_COMPONENT,
            "python-package",
            manifest.path,
        )


def _relative_to(path: str, folder: str) -> str | None:
    if not folder:
        return path
    if path == folder:
        return ""
    return path[len(folder) + 1 :] if path.startswith(folder + "/") else None


def _nearest(path: str, folders: set[str]) -> str | None:
    for candidate in (path, *parent_dirs(path)) if path else ("",):
        if candidate in folders:
            return candidate
    return None
