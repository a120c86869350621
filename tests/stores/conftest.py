"""Shared helpers for the store tests."""

from __future__ import annotations

import pytest

# The suite's asserts live in the package: let pytest explain their failures too.
pytest.register_assert_rewrite("aioscheduler.testing.conformance")

from .redis_support import redis_prefix  # noqa: E402, F401 - a fixture for the Redis tests
