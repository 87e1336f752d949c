"""tree-sitter grammars: which wheel parses which language, loaded once, and the version every parse cache keys on."""

from __future__ import annotations

import importlib
from functools import cache, lru_cache
from pathlib import Path

from tree_sitter import Language

from repo_auditor.errors import ConfigurationError

# The modules whose text decides what a parse yields: their hash is part of every cache key.
_RULE_MODULES = ("definitions.py", "c_family.py", "js_family.py", "nodes.py", "imports.py", "rust_paths.py")
# Part of every cache key, with a hash of the rule modules and the grammar versions: bump it when the stored row
# format changes (an edit of the rules here changes the key by itself).
RULES_VERSION = "1"

_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "kotlin": ("tree_sitter_kotlin", "language"),
}


@cache
def load_language(language: str) -> Language:
    """The tree-sitter ``Language`` for one of our language names, from its grammar wheel (shared with the
    architecture scanner). Raises ConfigurationError when the wheel is missing."""
    module_name, function = _GRAMMARS[language]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"the tree-sitter grammar for {language} ({module_name}) is not installed; reinstall repo_auditor"
        ) from exc
    return Language(getattr(module, function)())


@lru_cache(maxsize=1)
def parser_version() -> str:
    """A digest of all that shapes the output (the definition rules, tree-sitter and grammar versions), in every cache
    key: a change of any of them invalidates the on-disk cache."""
    import hashlib  # here, not at the top: parsing worker processes never need them, and start faster without
    import importlib.metadata

    packages = ["tree-sitter", *sorted({m.replace("_", "-") for m, _ in _GRAMMARS.values()})]
    versions = []
    for package in packages:
        try:
            versions.append(f"{package}={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package}=?")
    digest = hashlib.sha1(f"{RULES_VERSION};{','.join(versions)};".encode())
    for rules in _RULE_MODULES:
        digest.update((Path(__file__).parent / rules).read_bytes())
    return digest.hexdigest()[:16]
