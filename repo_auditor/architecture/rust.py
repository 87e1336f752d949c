"""A Rust crate split into its top-level modules, and Rust paths resolved to components.

The split (only when the tree holds a single crate, as a single npm package is split into its folders): each
module right under the crate's ``src/`` that has a folder (``src/ast/mod.rs``, or ``src/hir.rs`` beside
``src/hir/``) becomes a ``rust-module`` component named ``crate/module`` holding that folder and its ``.rs`` file.
The crate root (``lib.rs``, ``main.rs``), the single-file modules (``src/error.rs``), ``src/bin/`` and the
folders beside ``src/`` (``tests/``, ``benches/``, ``examples/``) stay in the crate's own component: a one-file
module is a detail of the crate, as a Python module is of its package.

Resolution of an import (``parsing.rust_paths`` gives the first segment and the rest of each path):

* ``crate::m::...`` -> the component of top-level module ``m``, else the crate's own component;
* ``super::...`` / ``self::...`` -> the same, from the module of the importing file (``src/ast/parse.rs`` is
  ``ast::parse``; ``super`` there is ``ast``);
* ``name::m::...`` where ``name`` is a crate of the tree (``-`` read as ``_``) -> that crate, or its module
  ``m`` when the crate is split (the crate's own ``tests/`` name it so).

``mod`` declarations make no edge (a parent holds its children, it does not use them); ``pub use`` re-exports do.
A file declared ``#[cfg(test)] mod x;`` (``x.rs``, ``x/mod.rs`` and all below ``x/``) is test code.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from repo_auditor.architecture.components import Layout
    from repo_auditor.architecture.model import Component
    from repo_auditor.parsing.imports import FileScan, Import

# Folders of src/ that are no module of the library: each file in src/bin/ is a binary crate of its own.
_NOT_MODULES = frozenset({"bin"})
_ROOT_FILES = frozenset({"lib.rs", "main.rs"})


@dataclass
class CrateModules:
    """A crate split into modules: its own component, its ``src/`` folder, and top-level module -> component."""

    component: str
    src: str
    modules: dict[str, str]


def split_crate(
    crate: Component, paths: set[str], claim: Callable[..., str | None], files: dict[str, str]
) -> CrateModules | None:
    """Claim a ``rust-module`` component for each top-level module with a folder; ``files`` gets each module's
    ``src/<module>.rs`` file. None when ``src/`` holds no crate root (``lib.rs`` / ``main.rs``)."""
    src = posixpath.join(crate.root, "src")
    if not any(f"{src}/{name}" in paths for name in _ROOT_FILES):
        return None
    split = CrateModules(crate.name, src, {})
    folders = sorted(
        {
            p[len(src) + 1 :].split("/", 1)[0]
            for p in paths
            if p.startswith(src + "/") and p.count("/") > src.count("/") + 1
        }
    )
    for module in folders:
        folder = f"{src}/{module}"
        if module in _NOT_MODULES or not (f"{folder}/mod.rs" in paths or f"{folder}.rs" in paths):
            continue
        claimed = claim(folder, f"{crate.name}/{module}", "rust-module", crate.manifest)
        if claimed:
            split.modules[module] = claimed
            if f"{folder}.rs" in paths:
                files[f"{folder}.rs"] = claimed
    return split if split.modules else None


def module_path(path: str, src: str) -> list[str] | None:
    """The module a file of ``src/`` is (``src/ast/parse.rs`` -> ast, parse; ``src/lib.rs`` -> the root); None for
    a file outside ``src/`` or in ``src/bin/`` (another crate root)."""
    if not path.startswith(src + "/") or not path.endswith(".rs"):
        return None
    parts = path[len(src) + 1 : -3].split("/")
    if parts[0] in _NOT_MODULES and len(parts) > 1:
        return None
    if len(parts) == 1 and f"{parts[0]}.rs" in _ROOT_FILES:
        return []
    return parts[:-1] if parts[-1] == "mod" else parts


def targets(layout: Layout, path: str, imp: Import) -> set[str]:
    """The components one Rust import of ``path`` reaches (its own included)."""
    spec = imp.spec.replace("-", "_")
    rests = [[s for s in rest.split("::") if s] for rest in imp.names or ("",)]
    if spec in ("crate", "self", "super"):
        split = next((c for c in layout.rust_modules.values() if path.startswith(c.src + "/")), None)
        here = module_path(path, split.src) if split is not None else None
        if split is None or here is None:
            return set()  # within an unsplit crate, or a binary: its own component
        found = set()
        for rest in rests:
            if spec == "crate":
                target = rest
            elif spec == "self":
                target = here + rest
            else:  # super: the parent module, and one more up per further ``super``
                ups = 1
                while ups <= len(rest) and rest[ups - 1] == "super":
                    ups += 1
                if ups > len(here):
                    continue  # above the crate root: rustc refuses it too
                target = here[: len(here) - ups] + rest[ups - 1 :]
            found.add(split.modules.get(target[0], split.component) if target else split.component)
        return found
    crate = layout.crates.get(spec)
    if crate is None:
        return set()
    split = layout.rust_modules.get(crate)
    if split is None:
        return {crate}
    return {split.modules.get(rest[0], crate) if rest else crate for rest in rests}


def test_module_files(scans: dict[str, tuple[str, FileScan]]) -> tuple[set[str], tuple[str, ...]]:
    """The files declared ``#[cfg(test)] mod x;`` and the folders below such a module: test code by declaration."""
    files: set[str] = set()
    folders: list[str] = []
    for path, (language, scan) in scans.items():
        if language != "rust" or not scan.test_modules:
            continue
        folder = posixpath.dirname(path)
        name = posixpath.basename(path)
        if name not in ("mod.rs", *_ROOT_FILES):
            folder = posixpath.join(folder, name[:-3])
        for module in scan.test_modules:
            base = posixpath.join(folder, module) if folder else module
            files.add(base + ".rs")
            folders.append(base + "/")
    return files, tuple(folders)
