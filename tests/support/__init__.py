"""Test doubles shared by every test folder: ``ScriptedLM`` and a fake OpenAI-compatible server."""
