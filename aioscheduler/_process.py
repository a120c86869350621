"""The process executor: CPU-bound callables on a pool of worker processes."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._scheduler import Scheduler

__all__ = ("run_in_process",)


async def run_in_process(
    scheduler: Scheduler, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run ``func(*args, **kwargs)`` on the scheduler's process pool."""
    pool = scheduler._process_pool
    if pool is None:
        pool = scheduler._process_pool = ProcessPoolExecutor()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, functools.partial(func, *args, **kwargs))
