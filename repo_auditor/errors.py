"""Every exception repo_auditor raises on purpose.

::

    RepoAuditorError                  base: catch this to catch everything below
    ├── ConfigurationError            no model configured, missing API key, bad option value
    ├── RepositoryError               path missing, not a directory, not a git repository when one is needed
    │   └── RefNotFoundError          a ref (branch, tag, SHA, HEAD~3) that does not resolve
    ├── ToolError                     a repository tool was called with input it cannot serve;
    │   │                             the message is written for the model and says how to fix the call
    │   ├── PathOutsideRepositoryError  "..", absolute paths, escaping symlinks, .git internals
    │   ├── FileNotInRepositoryError    no such file (the message suggests close matches)
    │   └── InvalidPatternError         a regular expression ripgrep rejects
    ├── SandboxError                  the sandbox itself failed (not the model's code, whose errors are observations)
    │   ├── SandboxStartError         Deno or Pyodide could not start (missing, not fetched, bad snapshot)
    │   └── SandboxCrashedError       the Deno process died mid-session
    ├── LMError                       a language-model call failed after retries
    │   ├── LMAuthenticationError     key missing or rejected
    │   ├── LMNotFoundError           unknown model name
    │   ├── LMConnectionError         provider unreachable or timing out
    │   └── LMResponseError           malformed reply from the provider
    ├── GitHubError                   the GitHub API refused or failed (status, url)
    ├── GitLabError                   the GitLab API refused or failed (status, url)
    ├── BudgetExceededError           a run budget (calls, tokens, cost, time) was used up; carries what was spent
    ├── RunInterruptedError           Ctrl-C during a job; ``.report`` holds the partial report gathered so far
    └── ReportError                   a template is missing or refers to a value that does not exist,
                                      or a saved report cannot be read

Errors carry data as attributes (the path, the ref, the budget spent) so callers can act on them; the message alone is
enough for a person reading one line. An ``LMError``, ``SandboxError``, ``BudgetExceededError`` or ``KeyboardInterrupt``
that ends an ``RLM`` run carries the work done so far as ``.partial`` (a ``Prediction``), so nothing paid for is lost.
"""

from __future__ import annotations


class RepoAuditorError(Exception):
    """Base class of every error raised on purpose by repo_auditor."""


class ConfigurationError(RepoAuditorError):
    """A setting is missing or invalid; the message says which and how to set it."""


class RepositoryError(RepoAuditorError):
    """The path cannot be opened as a repository."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path


class RefNotFoundError(RepositoryError):
    """A git ref does not resolve to a commit."""

    def __init__(self, message: str, *, path: str | None = None, ref: str | None = None):
        super().__init__(message, path=path)
        self.ref = ref


class ToolError(RepoAuditorError):
    """A repository tool could not serve the call; the message tells the caller (often the model) what to do."""


class PathOutsideRepositoryError(ToolError):
    """The requested path resolves outside the repository root, or into .git internals."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path


class FileNotInRepositoryError(ToolError):
    """No file with that path exists in the loaded repository."""

    def __init__(self, message: str, *, path: str | None = None, suggestions: tuple[str, ...] = ()):
        super().__init__(message)
        self.path = path
        self.suggestions = suggestions


class InvalidPatternError(ToolError):
    """The search pattern is not a valid regular expression."""

    def __init__(self, message: str, *, pattern: str | None = None):
        super().__init__(message)
        self.pattern = pattern


class SandboxError(RepoAuditorError):
    """The sandbox runtime itself failed; the model's own code errors are returned as results, not raised."""


class SandboxStartError(SandboxError):
    """Deno or Pyodide could not be started."""


class SandboxCrashedError(SandboxError):
    """The sandbox process died while running."""


class LMError(RepoAuditorError):
    """A language-model call failed after retries."""

    def __init__(self, message: str, *, model: str | None = None):
        super().__init__(message)
        self.model = model
        self.partial: object = None  # set by RLM when the failure ends a run: the Prediction so far


class LMAuthenticationError(LMError):
    """The provider rejected the credentials, or none were given."""


class LMNotFoundError(LMError):
    """The provider does not know the model."""


class LMConnectionError(LMError):
    """The provider could not be reached or timed out."""


class LMResponseError(LMError):
    """The provider's reply could not be understood."""


class BudgetExceededError(RepoAuditorError):
    """A run budget was used up. ``budget`` names it; ``spent`` and ``limit`` are in its unit."""

    def __init__(self, message: str, *, budget: str, spent: float, limit: float, partial: object = None):
        super().__init__(message)
        self.budget = budget
        self.spent = spent
        self.limit = limit
        self.partial = partial


class GitHubError(RepoAuditorError):
    """A GitHub API call failed; ``status`` is the HTTP status (None for a network failure)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


class GitLabError(RepoAuditorError):
    """A GitLab API call failed; ``status`` is the HTTP status (None for a network failure)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


class ReportError(RepoAuditorError):
    """A report template is missing or refers to a value that does not exist, or a saved report cannot be read."""


class RunInterruptedError(RepoAuditorError):
    """The user interrupted a job (Ctrl-C) after model calls were made; ``report`` is the partial report."""

    def __init__(self, message: str, *, report: object):
        super().__init__(message)
        self.report = report
