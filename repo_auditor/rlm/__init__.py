"""The Recursive Language Model engine, usable on its own like ``dspy.RLM``.

::

    loop.py        RLM: prompt -> root model -> reply -> code -> sandbox -> observation, until SUBMIT or a budget ends it
    prompt.py      the append-only history and the system prompt (cache-friendly prefixes, compaction)
    reply.py       model replies -> code to run; SUBMIT payloads and extract-step answers parsed leniently
    signature.py   input and output fields with types and descriptions (strings, classes, dspy Signatures)
    budget.py      iterations, sub-calls, cost, tokens and time, shared by the loop and the sub-calls
    subcalls.py    llm_query / llm_query_batched, the sub-model calls offered inside the sandbox
    children.py    rlm_query / rlm_query_batched: child runs (max_depth >= 2) sharing the budgets of the tree
    prediction.py  the result: outputs, trajectory steps, usage, why it finished
    trace.py       the JSONL trace of every request, reply, execution and tool call
    settings.py    process-wide defaults: ``configure(lm=..., sub_lm=...)``
    lm.py          the litellm adapter (the only litellm import): retries, usage, cost

The engine imports only the sandbox and the errors: never the repository, the tools or the jobs (a test keeps it so).
"""

from __future__ import annotations

from repo_auditor.rlm.lm import LM, Completion, ModelCheck, Usage
from repo_auditor.rlm.loop import RLM
from repo_auditor.rlm.prediction import Prediction, Progress, Step
from repo_auditor.rlm.settings import configure
from repo_auditor.rlm.signature import InputField, OutputField, Signature

__all__ = [
    "LM", "RLM", "Completion", "InputField", "ModelCheck", "OutputField", "Prediction", "Progress", "Signature",
    "Step", "Usage", "configure",
]
