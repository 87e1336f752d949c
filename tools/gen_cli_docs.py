"""Write the README's command reference from the commands' own --help, so the two cannot drift.

    python tools/gen_cli_docs.py          # rewrite the section between the cli-help markers in README.md
    python tools/gen_cli_docs.py --check  # exit 1 when README.md differs from --help (tests/cli/test_cli_docs.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- cli-help:start -->", "<!-- cli-help:end -->"
COMMANDS = [[], ["audit"], ["review"], ["architecture"], ["doctor"], ["config"], ["keys", "set"], ["keys", "list"],
            ["trace", "view"], ["batch"], ["batch", "run"], ["batch", "query"]]
HELP_WIDTH = 100  # columns the help is wrapped to, whatever the terminal of whoever regenerates it


def help_text(args: list[str]) -> str:
    from click.testing import CliRunner

    from repo_auditor.cli import main

    result = CliRunner().invoke(main, [*args, "--help"], prog_name="audit-repo", terminal_width=HELP_WIDTH,
                                max_content_width=HELP_WIDTH, env={"COLUMNS": str(HELP_WIDTH)})
    if result.exit_code != 0:
        raise SystemExit(f"audit-repo {' '.join(args)} --help failed: {result.output}")
    return result.stdout.rstrip() + "\n"


def reference() -> str:
    parts = [START, "", "Generated from `--help` by `tools/gen_cli_docs.py`; a test fails when they differ.", ""]
    for args in COMMANDS:
        parts += [f"#### `audit-repo {' '.join(args) or '--help'}`", "", "```text", help_text(args).rstrip(), "```", ""]
    return "\n".join(parts) + END


def current_readme() -> tuple[str, str, str]:
    text = README.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return before, START + rest.split(END, 1)[0] + END, after


def main(argv: list[str]) -> int:
    before, section, after = current_readme()
    wanted = reference()
    if "--check" in argv:
        if section != wanted:
            print("README.md's command reference differs from --help; run python tools/gen_cli_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    README.write_text(before + wanted + after, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
