"""Build files -> what they declare: project names, external dependencies, scripts and binaries.

Every build file is untrusted: one that does not parse becomes a note in the report, never an exception.
Understood: ``pyproject.toml`` (PEP 621 and Poetry), ``setup.cfg``, ``setup.py`` (name and a literal
``install_requires``), ``requirements*.txt`` (dependencies only: it defines no component),
``package.json``, ``go.mod``, ``Cargo.toml``, ``pom.xml``, ``build.gradle`` / ``build.gradle.kts`` and
``settings.gradle(.kts)``.
"""

from __future__ import annotations

import ast
import configparser
import json
import posixpath
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any, Callable

from repo_auditor.architecture.model import Dependency, EntryPoint

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

# Build files larger than this are not parsed (nobody writes one by hand; it is data or an attack).
MAX_MANIFEST_BYTES = 2_000_000

MANIFEST_NAMES = frozenset(
    {
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "package.json",
        "go.mod",
        "Cargo.toml",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "settings.gradle.kts",
    }
)


@dataclass
class Manifest:
    """One parsed build file. ``directory`` is the folder it describes ('' = repository root)."""

    path: str
    ecosystem: str  # python, npm, go, cargo, maven, gradle
    name: str | None = None
    dependencies: list[Dependency] = field(default_factory=list)
    entry_points: list[EntryPoint] = field(default_factory=list)
    go_module: str | None = None  # go.mod: the module path
    is_crate: bool = False  # Cargo.toml: has a [package] table (a virtual workspace manifest has none)
    is_settings: bool = False  # settings.gradle: describes the build, not a module
    dev_only: frozenset[str] = frozenset()  # Cargo.toml: crates only under [dev-dependencies] ('-' read as '_')
    dependencies_only: bool = False  # requirements*.txt: declares dependencies, not a project
    package_dir: str | None = None  # Python: where the top-level packages live ('lib' for package_dir={'': 'lib'})
    tooling_only: bool = False  # package.json: no main/module/exports/bin and no runtime dependencies

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.path)


class ManifestError(ValueError):
    """A build file that cannot be parsed; becomes a note, never reaches the user as an exception."""


# pip requirement files: ``requirements.txt``, ``requirements-dev.txt``, ``requirements_test.txt``.
_REQUIREMENTS_FILE = re.compile(r"requirements(?:[-_.][\w.-]*)?\.txt\Z")
_DEV_WORDS = re.compile(r"dev|test|doc|lint|ci\b|bench", re.I)


def is_manifest(path: str) -> bool:
    name = posixpath.basename(path)
    return name in MANIFEST_NAMES or bool(_REQUIREMENTS_FILE.match(name))


def parse_manifest(path: str, text: str) -> Manifest:
    """Parse one build file. Raises ``ManifestError`` with a one-line reason when it is malformed."""
    name = posixpath.basename(path)
    parser = _requirements_txt if _REQUIREMENTS_FILE.match(name) else _PARSERS[name]
    try:
        return parser(path, text)
    except ManifestError:
        raise
    except (
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        tomllib.TOMLDecodeError,
        configparser.Error,
        ElementTree.ParseError,
    ) as exc:
        raise ManifestError(
            f"{path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc


def _line_of(text: str, *needles: str) -> int:
    """1-based line of the first line containing every needle, or 1."""
    for number, line in enumerate(text.splitlines(), 1):
        if all(n in line for n in needles):
            return number
    return 1


def _text(value: Any) -> str | None:
    """A name from a build file, if it is a non-empty string (build files are untrusted: ``name = 5``
    happens)."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _table(data: Any, *keys: str) -> dict:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- Python

_PEP508_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$", re.S)


def _pep508(requirement: str, manifest: str, dev: bool) -> Dependency | None:
    """``requests[socks] (>=2) ; python_version<"3.8"`` -> ``requests``, spec ``>=2``: extras, environment
    markers, parentheses and a direct URL (``name @ url``) are not part of the name or the version spec."""
    match = _PEP508_NAME.match(requirement.split(";", 1)[0])
    if not match:
        return None
    spec = match.group(3).strip()
    if spec.startswith("@"):
        spec = ""
    spec = " ".join(spec.strip("()").split())
    return Dependency("python", match.group(1), spec, manifest, dev=dev)


def _key_line(text: str, key: str) -> int:
    """1-based line of ``key =`` (bare or quoted) in a TOML / INI file, or 1."""
    pattern = re.compile(r"""^\s*["']?""" + re.escape(key) + r"""["']?\s*=""")
    return next((n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)), 1)


def _python_script(kind: str, name: str, target: object, path: str, text: str) -> EntryPoint:
    return EntryPoint(kind, str(name), path, _key_line(text, str(name)), target=str(target))


def _pyproject(path: str, text: str) -> Manifest:
    data = tomllib.loads(text)
    project = _table(data, "project")
    poetry = _table(data, "tool", "poetry")
    manifest = Manifest(path, "python", name=_text(project.get("name")) or _text(poetry.get("name")))
    manifest.package_dir = _root_package_dir(_table(data, "tool", "setuptools", "package-dir"))
    for requirement in _list(project.get("dependencies")):
        if isinstance(requirement, str) and (dep := _pep508(requirement, path, False)):
            manifest.dependencies.append(dep)
    for group, requirements in _table(project, "optional-dependencies").items():
        dev = group in ("dev", "test", "tests", "testing", "docs", "lint")
        for requirement in _list(requirements):
            if isinstance(requirement, str) and (dep := _pep508(requirement, path, dev)):
                manifest.dependencies.append(dep)
    for section, dev in (("dependencies", False), ("dev-dependencies", True)):
        for name, spec in _table(poetry, section).items():
            if name != "python":
                version = spec.get("version", "") if isinstance(spec, dict) else str(spec)
                manifest.dependencies.append(Dependency("python", name, str(version), path, dev=dev))
    for kind, scripts in (
        ("console-script", _table(project, "scripts")),
        ("gui-script", _table(project, "gui-scripts")),
        ("console-script", _table(poetry, "scripts")),
    ):
        manifest.entry_points.extend(_python_script(kind, n, t, path, text) for n, t in scripts.items())
    return manifest


def _setup_cfg(path: str, text: str) -> Manifest:
    config = configparser.ConfigParser(interpolation=None, strict=False)
    config.read_string(text, source=path)
    manifest = Manifest(path, "python", name=_text(config.get("metadata", "name", fallback=None)))
    for line in config.get("options", "package_dir", fallback="").splitlines():  # "=lib" or " = lib"
        package, sep, folder = line.partition("=")
        if sep and not package.strip():
            manifest.package_dir = _root_package_dir({"": folder.strip()})
    for requirement in config.get("options", "install_requires", fallback="").splitlines():
        if requirement.strip() and (dep := _pep508(requirement, path, False)):
            manifest.dependencies.append(dep)
    for kind, key in (("console-script", "console_scripts"), ("gui-script", "gui_scripts")):
        for line in config.get("options.entry_points", key, fallback="").splitlines():
            name, sep, target = line.partition("=")
            if sep and name.strip():
                manifest.entry_points.append(_python_script(kind, name.strip(), target.strip(), path, text))
    return manifest


def _setup_py(path: str, text: str) -> Manifest:
    """The name and ``install_requires=[...]`` / ``tests_require=[...]`` when written as literals (the file is
    read with ``ast``, never run)."""
    match = re.search(r"""\bname\s*=\s*['"]([^'"\n]+)['"]""", text)
    manifest = Manifest(path, "python", name=match.group(1) if match else None)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return manifest
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "package_dir":
            try:
                manifest.package_dir = _root_package_dir(ast.literal_eval(node.value))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass
        if isinstance(node, ast.keyword) and node.arg in ("install_requires", "tests_require"):
            try:
                requirements = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            for requirement in requirements if isinstance(requirements, (list, tuple)) else ():
                dev = node.arg == "tests_require"
                if isinstance(requirement, str) and (dep := _pep508(requirement, path, dev)):
                    manifest.dependencies.append(dep)
    return manifest


def _root_package_dir(mapping: object) -> str | None:
    """The folder ``package_dir`` maps the root package to (``{"": "lib"}`` -> ``lib``), if a plain relative
    one (build files are untrusted: no ``..``, no absolute path)."""
    folder = mapping.get("") if isinstance(mapping, dict) else None
    if not isinstance(folder, str):
        return None
    folder = posixpath.normpath(folder.strip().replace("\\", "/"))
    return None if folder in (".", "") or folder.startswith(("/", "..")) else folder


def _requirements_txt(path: str, text: str) -> Manifest:
    """One requirement a line; options (``-r``, ``-e``, ``--hash``), URLs and comments are skipped. Files named
    for development (``requirements-dev.txt``, ``requirements/test.txt``) declare dev dependencies."""
    dev = bool(_DEV_WORDS.search(path))
    manifest = Manifest(path, "python", dependencies_only=True)
    for line in text.splitlines():
        requirement = line.split(" #", 1)[0].strip()
        if requirement and not requirement.startswith(("#", "-")) and "://" not in requirement.split("@")[0]:
            if dep := _pep508(requirement, path, dev):
                manifest.dependencies.append(dep)
    return manifest


# ---------------------------------------------------------------- JavaScript / TypeScript


def _package_json(path: str, text: str) -> Manifest:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: not a JSON object")
    name = _text(data.get("name"))
    manifest = Manifest(path, "npm", name=name)
    manifest.tooling_only = not any(
        key in data
        for key in ("main", "module", "exports", "bin", "browser", "types", "typings", "workspaces",
                    "dependencies", "peerDependencies", "optionalDependencies")
    )
    for section, dev in (
        ("dependencies", False),
        ("devDependencies", True),
        ("peerDependencies", False),
        ("optionalDependencies", False),
    ):
        for dep_name, spec in _table(data, section).items():
            manifest.dependencies.append(Dependency("npm", str(dep_name), str(spec), path, dev=dev))
    folder = posixpath.dirname(path)
    bins = data.get("bin")
    if isinstance(bins, str):
        bins = {name or posixpath.basename(folder) or "bin": bins}
    for bin_name, target in (bins or {}).items() if isinstance(bins, dict) else ():
        manifest.entry_points.append(
            EntryPoint(
                "npm-bin",
                str(bin_name),
                path,
                _line_of(text, json.dumps(str(target))[1:-1]),
                target=_relative(folder, str(target)),
            )
        )
    main = data.get("main")
    if isinstance(main, str):
        manifest.entry_points.append(
            EntryPoint(
                "npm-main",
                name or folder or "main",
                path,
                _line_of(text, '"main"'),
                target=_relative(folder, main),
            )
        )
    return manifest


def _relative(folder: str, target: str) -> str:
    joined = posixpath.normpath(posixpath.join(folder, target))
    return target if joined.startswith("..") else joined


# ---------------------------------------------------------------- Go

_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([^\s()]+)\s+(v[^\s]+)(.*)$")


def _go_mod(path: str, text: str) -> Manifest:
    manifest = Manifest(path, "go")
    in_require = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        indirect = "indirect" in raw.partition("//")[2]
        if line.startswith("module "):
            manifest.go_module = manifest.name = line.split(None, 1)[1].strip().strip('"')
        elif line.startswith("require (") or line == "require(":
            in_require = True
        elif in_require and line == ")":
            in_require = False
        elif (in_require or line.startswith("require ")) and (match := _GO_REQUIRE.match(line)):
            manifest.dependencies.append(Dependency("go", match.group(1), match.group(2), path, dev=indirect))
    if not manifest.go_module:
        raise ManifestError(f"{path}: no module line")
    return manifest


# ---------------------------------------------------------------- Rust


def _cargo_toml(path: str, text: str) -> Manifest:
    data = tomllib.loads(text)
    package = _table(data, "package")
    manifest = Manifest(path, "cargo", name=_text(package.get("name")), is_crate=bool(package))
    names: dict[str, set[str]] = {}
    for section, dev in (("dependencies", False), ("dev-dependencies", True), ("build-dependencies", True)):
        for table in (_table(data, section), _table(data, "workspace", section)):
            for name, spec in table.items():
                crate = str(spec.get("package", name) if isinstance(spec, dict) else name)
                names.setdefault(section, set()).add(crate.replace("-", "_"))
                if isinstance(spec, dict) and "path" in spec:
                    continue  # a crate of this repository, not an external dependency
                version = spec.get("version", spec.get("git", "")) if isinstance(spec, dict) else str(spec)
                manifest.dependencies.append(Dependency("cargo", str(name), str(version), path, dev=dev))
    manifest.dev_only = frozenset(
        names.get("dev-dependencies", set()) - names.get("dependencies", set()) - names.get("build-dependencies", set())
    )
    for binary in _list(data.get("bin")):
        if isinstance(binary, dict) and isinstance(binary.get("name"), str):
            target = binary.get("path")
            manifest.entry_points.append(
                EntryPoint(
                    "cargo-bin",
                    binary["name"],
                    path,
                    _line_of(text, "name", binary["name"]),
                    target=_relative(posixpath.dirname(path), target) if isinstance(target, str) else None,
                )
            )
    return manifest


# ---------------------------------------------------------------- Java


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _child_text(element: ElementTree.Element | None, name: str) -> str:
    found = _child(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _pom_xml(path: str, text: str) -> Manifest:
    if "<!ENTITY" in text:
        raise ManifestError(f"{path}: declares XML entities, which are not expanded")
    project = ElementTree.fromstring(text)
    manifest = Manifest(path, "maven", name=_child_text(project, "artifactId") or None)
    dependencies = _child(project, "dependencies")
    for dep in dependencies if dependencies is not None else ():
        artifact = _child_text(dep, "artifactId")
        if _local(dep.tag) == "dependency" and artifact:
            group = _child_text(dep, "groupId")
            manifest.dependencies.append(
                Dependency(
                    "maven",
                    f"{group}:{artifact}" if group else artifact,
                    _child_text(dep, "version"),
                    path,
                    dev=_child_text(dep, "scope") in ("test", "provided"),
                )
            )
    return manifest


_GRADLE_DEP = re.compile(r"""^\s*(\w+)\s*\(?\s*['"]([^'":\s]+):([^'":\s]+)(?::([^'"\s]+))?['"]""", re.M)
_GRADLE_CONFIGS = frozenset(
    {
        "implementation",
        "api",
        "compile",
        "compileOnly",
        "runtimeOnly",
        "annotationProcessor",
        "kapt",
        "testImplementation",
        "testCompile",
        "testRuntimeOnly",
        "androidTestImplementation",
    }
)


def _build_gradle(path: str, text: str) -> Manifest:
    manifest = Manifest(path, "gradle", name=posixpath.basename(posixpath.dirname(path)) or None)
    for config, group, artifact, version in _GRADLE_DEP.findall(text):
        if config in _GRADLE_CONFIGS:
            manifest.dependencies.append(
                Dependency(
                    "gradle",
                    f"{group}:{artifact}",
                    version or "",
                    path,
                    dev=config.startswith(("test", "androidTest")),
                )
            )
    return manifest


def _settings_gradle(path: str, text: str) -> Manifest:
    match = re.search(r"""rootProject\.name\s*=\s*['"]([^'"\n]+)['"]""", text)
    return Manifest(path, "gradle", name=match.group(1) if match else None, is_settings=True)


_PARSERS: dict[str, Callable[[str, str], Manifest]] = {
    "pyproject.toml": _pyproject,
    "setup.cfg": _setup_cfg,
    "setup.py": _setup_py,
    "package.json": _package_json,
    "go.mod": _go_mod,
    "Cargo.toml": _cargo_toml,
    "pom.xml": _pom_xml,
    "build.gradle": _build_gradle,
    "build.gradle.kts": _build_gradle,
    "settings.gradle": _settings_gradle,
    "settings.gradle.kts": _settings_gradle,
}
