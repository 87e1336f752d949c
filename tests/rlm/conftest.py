"""Fixtures for the RLM tests: the in-process FakeInterpreter (see fakes.py) and a guard that resets the
process-wide default model so no test reaches a model it did not script."""

from __future__ import annotations

import pytest

from repo_auditor.rlm import settings
from tests.rlm.fakes import FakeInterpreter


@pytest.fixture
def fake_interpreter() -> FakeInterpreter:
    return FakeInterpreter()


@pytest.fixture(autouse=True)
def _no_default_model():
    """No test may reach a configured default model by accident: reset before and after."""
    settings.reset()
    yield
    settings.reset()
