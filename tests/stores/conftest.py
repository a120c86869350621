"""Shared helpers for the store tests."""

from __future__ import annotations
