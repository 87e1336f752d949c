"""``python -m repo_auditor.sandbox fetch``: fetch Pyodide once (npm registry) and build the snapshot.
``python -m repo_auditor.sandbox check``: the same without any network access."""

from __future__ import annotations

import argparse
import sys

from repo_auditor.errors import SandboxError
from repo_auditor.sandbox.doctor import check_sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repo_auditor.sandbox", description=__doc__)
    parser.add_argument("command", choices=["fetch", "check"])
    args = parser.parse_args(argv)
    try:
        print(check_sandbox(fetch=args.command == "fetch"))
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
