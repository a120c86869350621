"""The end of a :class:`~aioscheduler._runner.Runner`'s life: ``stop()`` waits for the running
firings, cancels what is left and abandons (reports) what does not end within
``CANCEL_GRACE``. A base class of the runner, kept apart to keep each module short.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ._stopping import CANCEL_GRACE
from ._values import Outcome

if TYPE_CHECKING:
    from ._clock import Clock
    from ._firing import Firing
    from ._jobruns import JobRuns

__all__ = ("RunnerStop",)

logger = logging.getLogger("aioscheduler.runner")

_THREAD_LEFT = "job %r still runs on a worker thread after stop(): a thread cannot be interrupted"
_ABANDONED = "%s did not end within %.1f s of being cancelled at stop(); it is abandoned"


class RunnerStop:
    """``stop()`` of the runner (see the module docstring)."""

    if TYPE_CHECKING:
        _clock: Clock
        _tasks: dict[asyncio.Task[None], Firing]
        _threads_left: list[str]
        jobs: JobRuns

        def close(self) -> None: ...
        def drop_pending(self) -> None: ...
        def _drain_finished(self) -> None: ...
        def _done(self, firing: Firing) -> None: ...

    async def stop(self, timeout: float | None) -> list[str]:
        """Wait for running work (``timeout`` s; ``None``: all), then cancel the rest; what does
        not end within ``CANCEL_GRACE`` is abandoned (reported now). Returns the abandoned."""
        self.close()
        try:
            return await self._stop(timeout)
        finally:  # a second Ctrl-C can end a run by KeyboardInterrupt and cancel this stop()
            for task in [t for t in self._tasks if t.done() and not t.cancelled()]:
                task.exception()  # retrieved: no "Task exception was never retrieved"

    async def _stop(self, timeout: float | None) -> list[str]:
        self.drop_pending()
        me = asyncio.current_task()  # stop() called from inside a run: that run goes on
        tasks = set(self._tasks) - {me}
        if tasks and (timeout is None or timeout > 0):
            await asyncio.wait(tasks, timeout=timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CANCEL_GRACE
        for _ in range(100):  # cancelled runs may start queued ones; bounded in practice
            self._drain_finished()
            self.drop_pending()
            tasks = {t for t in self._tasks if not t.done() and t is not me}
            remaining = deadline - loop.time()
            if not tasks or remaining <= 0:
                break
            for task in tasks:
                firing = self._tasks[task]
                if firing.timer is None:
                    firing.cancel_reason = firing.cancel_reason or "scheduler stopped"
                task.cancel()
            await asyncio.wait(tasks, timeout=remaining)
        self._drain_finished()
        for task in [t for t in self._tasks if t.done()]:  # ended by Ctrl-C (KeyboardInterrupt)
            self._interrupted(task)
        abandoned = [self._abandon(t) for t in list(self._tasks) if not t.done() and t is not me]
        left, self._threads_left = self._threads_left, []
        for job_id in left:
            logger.warning(_THREAD_LEFT, job_id, extra={"job_id": job_id})
        return abandoned + [f"job {job_id!r} (on a worker thread)" for job_id in left]

    def _interrupted(self, task: asyncio.Task[None]) -> None:
        """A run's task died of a ``KeyboardInterrupt``/``SystemExit``: record it cancelled."""
        firing = self._tasks[task]
        error = None if task.cancelled() else task.exception()
        reason = f"interrupted ({type(error).__name__})" if error is not None else None
        if firing.timer is not None:
            firing.timer.end()
        elif firing.finished is None:
            self.jobs.finish(firing, Outcome.CANCELLED, None, None, reason)
        self._done(firing)

    def _abandon(self, task: asyncio.Task[None]) -> str:
        """Give up on a run that did not end when cancelled: report it now (its task goes on)."""
        firing = self._tasks[task]
        reason = "abandoned at stop: still running after cancellation"
        what = "a timer" if firing.timer is not None else f"job {firing.job_id!r}"
        logger.warning(_ABANDONED, what, CANCEL_GRACE, extra={"job_id": firing.job_id})
        if firing.timer is not None:
            firing.finished = self._clock.time()
            firing.timer.end()
        else:
            self.jobs.finish(firing, Outcome.CANCELLED, None, None, reason)
        self._done(firing)
        return what
