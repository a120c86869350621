"""Importable job functions for the store benchmarks (stored jobs name their callable)."""

from __future__ import annotations


async def noop() -> None:
    """Nothing: the store and the engine are what is measured."""
