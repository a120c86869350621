"""Keep a failed run's traceback readable without keeping its frames' local variables alive.

A run kept in a job's history holds its exception, whose ``__traceback__`` links every frame
the error passed through, and every frame holds its local variables: a failing job that had a
large buffer in a local kept that buffer alive for as long as the run stayed in the history.
:func:`release_locals` clears those frames (``traceback.clear_frames``): the traceback can still
be formatted (file, line, function and source line come from the code objects, not the
locals), but the locals are released.
"""

from __future__ import annotations

import traceback

__all__ = ("release_locals",)

#: Chained exceptions followed at most this deep (``__cause__``/``__context__`` cycles exist).
MAX_CHAIN = 100


def release_locals(error: BaseException | None) -> None:
    """Clear the local variables of every finished frame in ``error``'s traceback, in its
    ``__cause__``/``__context__`` chain and in exception-group members."""
    seen: set[int] = set()
    todo: list[BaseException] = [] if error is None else [error]
    while todo and len(seen) < MAX_CHAIN:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        if exc.__traceback__ is not None:
            traceback.clear_frames(exc.__traceback__)  # skips frames still executing
        for linked in (exc.__cause__, exc.__context__):
            if linked is not None:
                todo.append(linked)
        if isinstance(exc, BaseExceptionGroup):
            todo.extend(exc.exceptions)
