"""File name -> language name, the one table every module uses.

Names are lower-case and stable (they appear in reports and the JSON schema). The languages that tree-sitter parses for
``symbols`` are listed in ``PARSED_LANGUAGES``; the others are recognised for statistics only.
"""

from __future__ import annotations

import posixpath
import re

PARSED_LANGUAGES = frozenset(
    {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "ruby", "csharp", "php", "kotlin"}
)

_BY_EXTENSION = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hh": "cpp", ".hpp": "cpp", ".hxx": "cpp",
    ".ipp": "cpp", ".inl": "cpp",
    ".rb": "ruby", ".rake": "ruby", ".gemspec": "ruby",
    ".cs": "csharp",
    ".php": "php",
    ".kt": "kotlin", ".kts": "kotlin",
    ".swift": "swift", ".scala": "scala", ".lua": "lua", ".pl": "perl", ".pm": "perl", ".r": "r",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell",
    ".sql": "sql",
    ".html": "html", ".htm": "html", ".css": "css", ".scss": "css", ".vue": "vue", ".svelte": "svelte",
    ".md": "markdown", ".rst": "restructuredtext", ".txt": "text",
    ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".ini": "ini", ".cfg": "ini",
    ".xml": "xml", ".proto": "protobuf", ".tf": "terraform", ".gradle": "groovy", ".groovy": "groovy",
}

_BY_NAME = {
    "Dockerfile": "dockerfile", "Makefile": "make", "GNUmakefile": "make", "CMakeLists.txt": "cmake",
    "Rakefile": "ruby", "Gemfile": "ruby", "Jenkinsfile": "groovy",
}


def language_for(path: str) -> str | None:
    """The language of a repository-relative path, from its name; ``None`` when unknown."""
    name = posixpath.basename(path)
    if name in _BY_NAME:
        return _BY_NAME[name]
    ext = posixpath.splitext(name)[1].lower()
    return _BY_EXTENSION.get(ext)


# A C header is read as C++ when one of these appears in its first ``HEADER_SNIFF_BYTES`` outside comments: a
# namespace, a template, a class with a body or base list, an access label, ``extern "C++"``, or an include of a
# standard header without ``.h`` (``<string>``, ``<cstdint>``: C's standard headers all end in ``.h``).
HEADER_SNIFF_BYTES = 65536
_CPP_MARKERS = re.compile(
    r"""^[ \t]*(?:namespace\b|template\s*<|class\s+\w+[^;(\n]*[{:]|(?:public|private|protected)\s*:"""
    r"""|extern\s+"C\+\+"|\#[ \t]*include\s*<[a-z_]+>)""",
    re.M,
)
_C_COMMENTS = re.compile(r"//[^\n]*|/\*.*?(?:\*/|\Z)", re.S)


def source_language(language: str, source: bytes) -> str:
    """The language to parse ``source`` with: ``language``, except that C (``.h`` files are C by name) that
    holds C++ is ``cpp``. The one place this is decided (the symbol parser and the import scanner both call it)."""
    if language != "c":
        return language
    text = _C_COMMENTS.sub(" ", source[:HEADER_SNIFF_BYTES].decode("latin-1"))
    return "cpp" if _CPP_MARKERS.search(text) else "c"
