"""Recall of the redactor on the ways out to the model: ``read_file``, ``grep`` with context and the review's diff.

``write_corpus_repo(samples, folder)`` commits the generated corpus into a git repository: a base commit holding only
a README, then a head commit adding every sample in a folder of its own (``s017-github_pat/.env``: the sample keeps
its path, so path rules such as ``.env`` still apply, and paths never collide). ``recall_by_path`` then asks each
way out for every sample and counts the samples whose secret shows (``secrets_corpus.leaked``):

- ``read_file``: the whole file, in 400-line calls;
- ``grep -C3``: fixed-string searches inside the sample's folder, three lines of context around each match, for a
  non-secret piece of the secret's first line (the text before or after the secret, its first word) until one
  shows that line; ``[REDACTED:`` when the secret fills its line (a private key block);
- ``review diff``: the diff from the base to the head as the review's explorer receives it (``review()`` with an
  explorer that records its inputs and submits nothing), cut per file.

A way out that does not show the secret's line at all would count as a catch without proving anything: such samples
are listed in ``PathRecall.unshown`` and the test fails on them.
"""

from dataclasses import dataclass, field
from pathlib import Path

from _repos import git
from secrets_corpus import Sample, leaked

PATHS = ("read_file", "grep -C3", "review diff")
GREP_CONTEXT = 3
BASE_REF = "base"


@dataclass
class PathRecall:
    """One way out: the samples it leaked (their formats) and the samples whose secret line it did not show."""

    name: str
    total: int
    missed: list[str] = field(default_factory=list)
    unshown: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return 1 - len(self.missed) / self.total


def folder_of(index: int, sample: Sample) -> str:
    return f"s{index:03d}-{sample.format}"


def write_corpus_repo(samples: list[Sample], folder: Path) -> Path:
    """A git repository at ``folder``: branch ``base`` with a README, ``main`` one commit later with every sample."""
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "-q", "-b", "main")
    (folder / "README.md").write_text("The generated secrets corpus, one folder per sample.\n", encoding="utf-8")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "base")
    git(folder, "branch", BASE_REF)
    for index, sample in enumerate(samples):
        target = folder / folder_of(index, sample) / sample.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(sample.text, encoding="utf-8", newline="")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "samples")
    return folder


def _secret_line(sample: Sample) -> tuple[int, str, str]:
    """The 1-based number of the line where the secret starts, and the line's text before and after it there."""
    first = sample.secret.split("\n", 1)[0]
    at = sample.text.index(first)
    number = sample.text.count("\n", 0, at) + 1
    start = sample.text.rfind("\n", 0, at) + 1
    end = sample.text.find("\n", at)
    end = len(sample.text) if end == -1 else end
    return number, sample.text[start:at], sample.text[at + len(first):end]


def _grep_queries(sample: Sample) -> tuple[list[str], int]:
    """Literals to grep for, in order, that may find the secret's first line (the redactor may take a piece with
    the secret: ``KEY="`` of ``KEY="value"``), and that line's number. The last, ``[REDACTED:``, finds a line
    that is redacted whole (a private key block), as a model could."""
    number, before, after = _secret_line(sample)
    words = before.split()
    queries = [before.strip(), after.strip(), words[0] if words else "", "[REDACTED:"]
    return [q for q in dict.fromkeys(queries) if len(q) >= 3], number


def _read_whole(tools, path: str) -> str:
    """``read_file`` of the whole file, call after call, as the model would page through it."""
    out, start = [], 1
    while True:
        text = tools.read_file(path, start_line=start)
        out.append(text)
        marker = f"call read_file('{path}', start_line="
        if marker not in text:
            return "\n".join(out)
        start = int(text.rsplit(marker, 1)[1].split(")", 1)[0])


class _NoModel:
    """The review's model: never called, the explorer below answers without one."""

    model = "none"

    def complete(self, messages, **options):
        raise AssertionError("the recording explorer needs no model")


class _RecordingExplorer:
    """An explorer for ``review()``: records the inputs it receives and submits no finding."""

    def __init__(self):
        self.inputs: dict = {}

    def factory(self, tools, budgets):  # noqa: ARG002 - the signature review() calls
        return self

    def __call__(self, **inputs):
        from repo_auditor.rlm.prediction import Prediction

        self.inputs = inputs
        return Prediction(outputs={"answer": "nothing", "findings": []}, iterations=1)


def review_diff(repo_path: Path) -> tuple[str, list[dict]]:
    """The diff from ``BASE_REF`` to HEAD and the changed-file list as the review's explorer receives them."""
    from repo_auditor.review.pipeline import review

    explorer = _RecordingExplorer()
    review(repo_path, BASE_REF, lm=_NoModel(), explorer_factory=explorer.factory, diff_budget_chars=100_000_000)
    return explorer.inputs["diff"], explorer.inputs["changed_files"]


def recall_by_path(samples: list[Sample], repo_path: Path) -> dict[str, PathRecall]:
    """Each way out of ``PATHS`` asked for every sample of the repository ``write_corpus_repo`` made."""
    from repo_auditor.review.diff import parse_diff
    from repo_auditor.tools import RepoTools

    results = {name: PathRecall(name, len(samples)) for name in PATHS}
    with RepoTools(repo_path) as tools:
        for index, sample in enumerate(samples):
            folder = folder_of(index, sample)
            path = f"{folder}/{sample.path}"
            if leaked(sample, _read_whole(tools, path)):
                results["read_file"].missed.append(sample.format)
            queries, line = _grep_queries(sample)
            outputs = []
            for query in queries:  # until one shows the secret's line; each output is checked
                outputs.append(tools.grep(query, path=folder, fixed_strings=True, context=GREP_CONTEXT))
                if f"{path}:{line}:" in outputs[-1] or f"{path}-{line}-" in outputs[-1]:
                    break
            else:
                results["grep -C3"].unshown.append(sample.format)
            if any(leaked(sample, shown) for shown in outputs):
                results["grep -C3"].missed.append(sample.format)
    diff, changed = review_diff(repo_path)
    patches = {changed_file.path: changed_file.patch for changed_file in parse_diff(diff)}
    coverage = {row["path"]: row["coverage"] for row in changed}
    for index, sample in enumerate(samples):
        path = f"{folder_of(index, sample)}/{sample.path}"
        patch = patches.get(path)
        if patch is None or coverage.get(path) != "reviewed":
            results["review diff"].unshown.append(sample.format)
        elif leaked(sample, patch):
            results["review diff"].missed.append(sample.format)
    return results
