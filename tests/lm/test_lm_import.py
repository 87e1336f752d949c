"""Importing the adapter must stay cheap: litellm (seconds to import) loads on the first call only."""

from __future__ import annotations

import subprocess
import sys


def test_importing_repo_auditor_lm_does_not_import_litellm():
    code = (
        "import sys, repo_auditor.rlm.lm as lm; lm.LM('openai/x', api_key='k'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('litellm', 'openai')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
