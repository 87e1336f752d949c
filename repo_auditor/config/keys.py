"""API keys: from the environment, else from the user's key file (``keys.json`` in the user config folder, mode
0600), written by ``audit-repo keys set PROVIDER``. Never from the audited repository, never printed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from repo_auditor.config.files import user_config_dir
from repo_auditor.errors import ConfigurationError

KEYS_FILE = "keys.json"
KEY_FILE_MODE = 0o600  # readable by the user only
# The variable each common provider's key is read from (litellm's names); other providers: PROVIDER_API_KEY.
PROVIDER_ENV_VARS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "xai": "XAI_API_KEY",
    "cohere": "COHERE_API_KEY",
}


def env_var_for(provider: str) -> str:
    return PROVIDER_ENV_VARS.get(provider, f"{provider.upper()}_API_KEY")


class KeyStore:
    """The user's key file: ``{"openai": "sk-..."}``. Created 0600; a file others can read is refused."""

    def __init__(self, path: Path | None = None, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ
        self.path = path or user_config_dir(self.environ) / KEYS_FILE

    def stored(self) -> dict[str, str]:
        if not self.path.is_file():
            return {}
        if os.name == "posix" and self.path.stat().st_mode & 0o077:
            raise ConfigurationError(f"key file {self.path} is readable by other users; run chmod 600 {self.path}")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read key file {self.path} ({exc}); fix it or delete it and run "
                                     "`audit-repo keys set PROVIDER` again") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigurationError(f"key file {self.path} is not a JSON object of provider -> key; delete it and "
                                     "run `audit-repo keys set PROVIDER` again")
        return data

    def set(self, provider: str, key: str) -> None:
        provider, key = provider.strip().lower(), key.strip()
        if not provider or not key:
            raise ConfigurationError("empty provider or key; run `audit-repo keys set openai` and paste the key")
        keys = {**self.stored(), provider: key}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, KEY_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(keys, handle, indent=2, sort_keys=True)
        os.chmod(tmp, KEY_FILE_MODE)  # O_CREAT's mode is masked by the umask; a pre-existing tmp keeps its mode
        os.replace(tmp, self.path)

    def key_for(self, provider: str) -> str | None:
        """The key to use for ``provider``: its environment variable wins over the key file."""
        return self.environ.get(env_var_for(provider)) or self.stored().get(provider)

    def status(self, providers: list[str] | None = None) -> dict[str, str | None]:
        """Where each provider's key comes from (``env OPENAI_API_KEY``, ``key file``) or None; never the key."""
        stored = self.stored()
        names = providers if providers is not None else sorted({*PROVIDER_ENV_VARS, *stored})
        result: dict[str, str | None] = {}
        for name in names:
            var = env_var_for(name)
            result[name] = f"env {var}" if self.environ.get(var) else ("key file" if name in stored else None)
        return result
