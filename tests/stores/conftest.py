"""Shared helpers for the store tests."""

from __future__ import annotations

import pytest

# The suite's asserts live in the package: let pytest explain their failures too.
pytest.register_assert_rewrite("aioscheduler.testing.conformance")
