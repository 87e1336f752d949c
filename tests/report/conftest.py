"""Fixtures for tests/report: the sample source tree (builders.py holds the helpers tests import)."""

from __future__ import annotations

import pytest

from .builders import FakeTree, sample_tree


@pytest.fixture
def tree() -> FakeTree:
    return sample_tree()
