"""The process executor: CPU-bound callables on worker processes that can be killed.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one task, so a run with a timeout, a
run replaced by ``overlap="replace"`` or a run cut short by ``stop()`` would keep its worker
busy forever. This pool gives each worker its own pipe: a call is sent to an idle worker, the
loop waits for the answer without blocking (``add_reader`` on the pipe), and a cancelled call
terminates its worker (SIGTERM, then SIGKILL after a grace period), which is then replaced.

Workers are started with the ``spawn`` method on every platform: forking a process that runs
an event loop and worker threads is unsafe, and a ``forkserver`` would outlive ``stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import signal
import traceback
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_handles
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess


__all__ = ("ProcessPool", "RemoteTraceback")

#: Seconds a cancelled worker gets to exit after SIGTERM before it is sent SIGKILL.
KILL_GRACE = 0.5
#: Payloads up to this size fit in a pipe's buffer (64 KiB on Linux) and are written from the
#: loop; larger ones are written from a thread, since a worker still starting up reads nothing.
INLINE_SEND_LIMIT = 32 * 1024


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process.

    Chained as ``__cause__`` of the exception a process run reports, so logged failures show
    where the error happened in the child.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


# -- the child side ----------------------------------------------------------------------------


def _worker_main(conn: Connection) -> None:
    """Serve calls from ``conn`` until the parent sends an empty message or goes away."""
    # Ctrl+C reaches the whole process group; the parent decides what stops, not the worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not payload:
            return
        try:
            conn.send_bytes(_execute(payload))
        except OSError:  # the parent went away
            return


def _execute(payload: bytes) -> bytes:
    try:
        func, args, kwargs = pickle.loads(payload)
        result = func(*args, **kwargs)
    except BaseException as exc:  # the run's error, whatever it is: report it, keep serving
        return _error_reply(exc)
    try:
        return pickle.dumps(("ok", result), pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        try:
            raise TypeError(
                f"the result {type(result).__qualname__} cannot be sent back from the worker "
                f"process ({type(exc).__name__}: {exc})"
            ) from exc
        except TypeError as wrapped:
            return _error_reply(wrapped)


def _error_reply(exc: BaseException) -> bytes:
    text = "".join(traceback.format_exception(exc))
    summary = f"{type(exc).__qualname__}: {exc}"
    try:
        pickled: bytes | None = pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
    except Exception:
        pickled = None
    return pickle.dumps(("error", pickled, summary, text), pickle.HIGHEST_PROTOCOL)


# -- the parent side ---------------------------------------------------------------------------


def _decode(data: bytes) -> Any:
    """The worker's reply: return the result or raise the child's exception."""
    reply = pickle.loads(data)
    if reply[0] == "ok":
        return reply[1]
    _, pickled, summary, text = reply
    exc: BaseException | None = None
    if pickled is not None:
        try:
            exc = pickle.loads(pickled)
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = RuntimeError(f"{summary} (the exception could not be sent back from the worker)")
    elif not isinstance(exc, Exception):  # SystemExit, KeyboardInterrupt: only the run failed
        exc = RuntimeError(f"the callable raised {summary} in the worker process")
    exc.__cause__ = RemoteTraceback(text)
    raise exc


def _set_ready(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def _readable(handle: Connection | int) -> None:
    """Wait until a pipe (or a process sentinel) is readable, without blocking the loop."""
    loop = asyncio.get_running_loop()
    fd = handle if isinstance(handle, int) else handle.fileno()
    fut: asyncio.Future[None] = loop.create_future()
    try:
        loop.add_reader(fd, _set_ready, fut)
    except NotImplementedError:  # Windows' proactor loop cannot watch pipes: use a thread
        await loop.run_in_executor(None, wait_for_handles, [handle])
        return
    try:
        await fut
    finally:
        loop.remove_reader(fd)


def _exit_description(code: int | None) -> str:
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class _Worker:
    """One worker process and the parent's end of its pipe.

    Only the call in progress reads the pipe, so a busy worker is stopped by signal alone
    (:meth:`signal`): the call then sees EOF and retires the worker itself.
    """

    __slots__ = ("busy", "closed", "conn", "process")

    def __init__(self, context: multiprocessing.context.SpawnContext) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        self.process: SpawnProcess = context.Process(
            target=_worker_main, args=(child_end,), name="aioscheduler-worker", daemon=True
        )
        self.process.start()
        child_end.close()  # so the parent sees EOF when the worker dies
        self.conn = parent_end
        self.busy = False
        self.closed = False

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return not self.closed and self.process.exitcode is None

    async def call(self, payload: bytes) -> Any:
        self.busy = True
        try:
            if len(payload) <= INLINE_SEND_LIMIT:
                self.conn.send_bytes(payload)
            else:
                await asyncio.get_running_loop().run_in_executor(
                    None, self.conn.send_bytes, payload
                )
            await _readable(self.conn)
            data = self.conn.recv_bytes()
        except (EOFError, OSError):
            raise await self._died() from None
        finally:
            self.busy = False
        return _decode(data)

    async def _died(self) -> BrokenProcessPool:
        # EOF comes as the process exits; give it a moment to become reapable for its status.
        for _ in range(100):
            if self.process.exitcode is not None:
                break
            await asyncio.sleep(0.01)
        return BrokenProcessPool(
            f"the worker process (pid {self.pid}) died while running the call "
            f"({_exit_description(self.process.exitcode)})"
        )

    def signal(self, grace: float) -> None:
        """Send SIGTERM now and SIGKILL after ``grace`` seconds if it is still alive."""
        if self.alive():
            self.process.terminate()
            asyncio.get_running_loop().call_later(grace, self._kill_if_alive)

    def _kill_if_alive(self) -> None:
        if self.alive():
            self.process.kill()

    async def stop(self, grace: float, *, kill: bool) -> None:
        """End the process (politely when idle, by signal when ``kill``), reap it and close
        the pipe."""
        process = self.process
        if not kill and process.exitcode is None:
            with contextlib.suppress(OSError):  # already gone: reaped below all the same
                self.conn.send_bytes(b"")
        if process.exitcode is None:
            if kill:
                process.terminate()
            try:
                await asyncio.wait_for(_readable(process.sentinel), grace)
            except TimeoutError:
                process.kill()
                await _readable(process.sentinel)
        process.join()  # it has exited: this only reaps it
        self.closed = True
        self.conn.close()
        process.close()


class ProcessPool:
    """Up to ``max_workers`` worker processes, started on demand, each running one call at a
    time; a cancelled call kills its worker.

    Args:
        max_workers: The most processes alive at once (``None``: ``os.cpu_count()``).
        kill_grace: Seconds between SIGTERM and SIGKILL for a cancelled call's worker.
    """

    def __init__(self, max_workers: int | None = None, *, kill_grace: float = KILL_GRACE) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._max = max_workers or os.cpu_count() or 1
        self._grace = kill_grace
        self._workers: set[_Worker] = set()
        self._idle: list[_Worker] = []
        self._waiters: deque[asyncio.Future[_Worker | None]] = deque()
        self._reaping: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers (busy or idle)."""
        return [w.pid for w in self._workers if w.pid is not None]

    async def run(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run ``func(*args, **kwargs)`` in a worker and return its result.

        The child's exception is raised here, its traceback chained as a
        :class:`RemoteTraceback`. Cancelling the call kills the worker; the call returns only
        once that process is gone.

        Raises:
            BrokenProcessPool: the worker died during the call, or the pool is closed.
            pickle.PicklingError: the call cannot be sent to a process.
        """
        payload = pickle.dumps((func, args, kwargs), pickle.HIGHEST_PROTOCOL)
        worker = await self._acquire()
        try:
            result = await worker.call(payload)
        except BrokenProcessPool:
            self._retire(worker, kill=True)
            raise
        except asyncio.CancelledError:
            reaping = self._retire(worker, kill=True)
            if reaping is not None:
                await asyncio.shield(reaping)
            raise
        except Exception:  # the callable's own error: the worker is fine
            self._release(worker)
            raise
        self._release(worker)
        return result

    async def _acquire(self) -> _Worker:
        while True:
            if self._closed:
                raise BrokenProcessPool("the process pool is shut down")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                self._retire(worker, kill=True)  # died while idle: never ran anything of ours
            if len(self._workers) < self._max:
                worker = _Worker(self._context)
                self._workers.add(worker)
                return worker
            fut: asyncio.Future[_Worker | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                handed = await fut
            except asyncio.CancelledError:
                if fut.cancelled():
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(fut)
                elif (handed := fut.result()) is not None:
                    self._release(handed)  # handed a worker just as we were cancelled
                else:
                    self._wake_one()  # told a slot is free: pass that on
                raise
            if handed is not None:
                return handed

    def _release(self, worker: _Worker) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(worker)
                return
        self._idle.append(worker)

    def _retire(self, worker: _Worker, *, kill: bool) -> asyncio.Task[None] | None:
        """Stop ``worker`` in the background (the pool owns the task) and free its slot;
        ``None`` if it is already being stopped (by :meth:`aclose`)."""
        if worker not in self._workers:
            return None
        self._workers.discard(worker)
        task = asyncio.get_running_loop().create_task(worker.stop(self._grace, kill=kill))
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)
        self._wake_one()  # a slot is free: let a waiting call start a new worker
        return task

    def _wake_one(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    async def aclose(self) -> None:
        """Stop every worker (idle ones exit, busy ones are killed) and wait until all are
        gone. Calls still waiting for a worker fail with ``BrokenProcessPool``."""
        self._closed = True
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()
        idle, self._idle = self._idle, []
        for worker in idle:
            self._retire(worker, kill=False)
        for worker in self._workers:
            worker.signal(self._grace)  # its call sees EOF and retires it
        deadline = asyncio.get_running_loop().time() + self._grace + 1.0
        while self._reaping or self._workers:
            if self._reaping:
                await asyncio.wait(set(self._reaping))
            elif asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            else:  # a call nobody drives any more: stop its worker all the same
                for worker in list(self._workers):
                    self._retire(worker, kill=True)
