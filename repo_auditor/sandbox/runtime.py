"""Where the sandbox's runtime comes from: the Deno binary, the Pyodide files, and the memory snapshot.

Pyodide is an npm package fetched once into our own Deno cache (``<cache>/deno``) with ``deno cache``, from the npm
registry and nowhere else; after that the sandbox runs with no network at all. ``REPO_AUDITOR_PYODIDE_DIR`` (or the
``pyodide_dir`` argument) points at an unpacked Pyodide folder instead, for machines with no registry access: it must
hold ``pyodide.mjs``, ``pyodide.asm.mjs``, ``pyodide.asm.wasm``, ``python_stdlib.zip`` and ``pyodide-lock.json`` of
version ``PYODIDE_VERSION``.

The sandbox fetches Pyodide on first use when it is missing (one line on stderr, then it is cached), so a fresh CI
runner needs no separate setup step. ``REPO_AUDITOR_NO_FETCH=1`` turns that off for machines that must stay
offline: a missing Pyodide is then an error naming the fix.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from repo_auditor.errors import SandboxStartError
from repo_auditor.repository.cache import cache_dir

# The one place the Pyodide version is pinned. Python 3.14 inside; the stdlib only (no numpy offline).
PYODIDE_VERSION = "314.0.7"
PYODIDE_DIR_ENV = "REPO_AUDITOR_PYODIDE_DIR"
NO_FETCH_ENV = "REPO_AUDITOR_NO_FETCH"  # "1": never fetch Pyodide on first use (offline machines)
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.js"
SOURCES = {"inside": HERE / "_inside.py", "values": HERE / "values.py"}
# deno cache downloads ~14 MB; a slow registry mirror still finishes well inside this.
FETCH_TIMEOUT_S = 600


@dataclass(frozen=True)
class Runtime:
    """Everything needed to launch the runner: the deno binary, its cache folder and the Pyodide folder."""

    deno: Path
    deno_dir: Path
    pyodide_dir: Path

    @property
    def pyodide_module(self) -> str:
        return (self.pyodide_dir / "pyodide.mjs").as_uri()


def find_deno() -> Path:
    """The deno binary shipped by the ``deno`` PyPI package."""
    try:
        import deno
    except ImportError as exc:
        raise SandboxStartError(
            "the `deno` Python package is not installed; reinstall repo_auditor (pip install repo_auditor)") from exc
    try:
        path = Path(deno.find_deno_bin())
    except FileNotFoundError as exc:  # the package is there but its binary is not (a partial install)
        raise SandboxStartError(f"the deno binary is missing ({exc}); reinstall the `deno` package") from None
    if not path.is_file():
        raise SandboxStartError(f"the deno binary is missing at {path}; reinstall the `deno` package")
    return path


def deno_version(deno: Path) -> str:
    """Identifies the deno build without running it (a subprocess would cost ~30 ms of every start)."""
    try:
        package = metadata.version("deno")
    except metadata.PackageNotFoundError:
        package = "unknown"
    stat = deno.stat()
    return f"{package}:{stat.st_size}:{stat.st_mtime_ns}"


def default_deno_dir() -> Path:
    return cache_dir("deno")


def npm_pyodide_dir(deno_dir: Path) -> Path:
    return deno_dir / "npm" / "registry.npmjs.org" / "pyodide" / PYODIDE_VERSION


def _missing_files(folder: Path) -> list[str]:
    return [name for name in PYODIDE_FILES if not (folder / name).is_file()]


def resolve(pyodide_dir: str | os.PathLike[str] | None = None, deno_dir: Path | None = None) -> Runtime:
    """Locate deno and Pyodide without any network access, or raise SandboxStartError saying how to fix it."""
    deno = find_deno()
    deno_dir = deno_dir or default_deno_dir()
    chosen = pyodide_dir or os.environ.get(PYODIDE_DIR_ENV) or None
    if chosen:
        folder = Path(chosen).expanduser().resolve()
        missing = _missing_files(folder)
        if missing:
            raise SandboxStartError(
                f"the Pyodide folder {folder} lacks {', '.join(missing)}; point {PYODIDE_DIR_ENV} at an unpacked "
                f"Pyodide {PYODIDE_VERSION} release, or unset it and run `audit-repo doctor` to fetch Pyodide")
        return Runtime(deno, deno_dir, folder)
    folder = npm_pyodide_dir(deno_dir)
    if _missing_files(folder):
        raise SandboxStartError(
            f"Pyodide {PYODIDE_VERSION} is not fetched yet (looked in {folder}); unset {NO_FETCH_ENV} or run "
            f"`audit-repo doctor` "
            f"(or `python -m repo_auditor.sandbox fetch`) once with access to the npm registry, or set "
            f"{PYODIDE_DIR_ENV} to an unpacked Pyodide folder")
    return Runtime(deno, deno_dir, folder)


def fetch_on_first_use() -> bool:
    """Whether a missing Pyodide may be fetched when the sandbox starts (not when ``REPO_AUDITOR_NO_FETCH=1``)."""
    return os.environ.get(NO_FETCH_ENV, "").strip().lower() not in ("1", "true", "yes")


def ensure_runtime(fetch: bool = True, pyodide_dir: str | os.PathLike[str] | None = None) -> Runtime:
    """Return the runtime, fetching Pyodide from the npm registry first if it is missing and ``fetch`` is true
    (saying so in one line on stderr: the fetch takes a few seconds, once)."""
    try:
        return resolve(pyodide_dir)
    except SandboxStartError:
        if not fetch or pyodide_dir or os.environ.get(PYODIDE_DIR_ENV):
            raise
    deno, deno_dir = find_deno(), default_deno_dir()
    print(f"repo_auditor: fetching the sandbox runtime (Pyodide {PYODIDE_VERSION}, ~14 MB) into {deno_dir}; "
          f"once, then cached", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(
            [str(deno), "cache", "--no-config", "--no-lock", "--node-modules-dir=none",
             f"npm:pyodide@{PYODIDE_VERSION}"],
            capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, env=_minimal_env(deno_dir, network=True),
        )
    except subprocess.TimeoutExpired as exc:
        raise SandboxStartError(f"fetching Pyodide from the npm registry took over {FETCH_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SandboxStartError(
            f"could not fetch Pyodide {PYODIDE_VERSION} from the npm registry: {' | '.join(detail)}; check the "
            f"network or proxy (NPM_CONFIG_REGISTRY is honoured), or set {PYODIDE_DIR_ENV} to a local Pyodide folder")
    return resolve(None, deno_dir)


def _minimal_env(deno_dir: Path | None, network: bool = False) -> dict[str, str]:
    """The environment Deno gets: nothing of the user's (no API keys), except proxy settings for the one fetch."""
    env = {"NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1", "DENO_NO_PROMPT": "1"}
    if deno_dir is not None:
        env["DENO_DIR"] = str(deno_dir)
    if network:
        for key in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
                    "NPM_CONFIG_REGISTRY", "DENO_CERT", "DENO_TLS_CA_STORE", "SSL_CERT_FILE", "SSL_CERT_DIR",
                    "NODE_EXTRA_CA_CERTS", "DENO_AUTH_TOKENS", "HOME"):
            if key in os.environ:
                env[key] = os.environ[key]
    return env


def runner_env(runtime: Runtime) -> dict[str, str]:
    return _minimal_env(runtime.deno_dir)


def sources() -> dict[str, str]:
    """The Python sources loaded inside Pyodide."""
    return {key: path.read_text(encoding="utf-8") for key, path in SOURCES.items()}


def snapshot_key(runtime: Runtime) -> str:
    """Changes whenever the snapshot would differ: Pyodide files, deno version, runner or inside sources."""
    digest = hashlib.sha256()
    digest.update(PYODIDE_VERSION.encode())
    digest.update(deno_version(runtime.deno).encode())
    digest.update(str(runtime.pyodide_dir).encode())
    for path in (RUNNER, *SOURCES.values()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]
