"""The due heap: ``(due, seq, entry)`` tuples with O(1) cancel by lazy deletion.

No asyncio here: the heap is plain data, tested without a loop. Tuples compare in C (``due``
first, then the unique ``seq`` so that equal times keep FIFO order and entries themselves are
never compared). An entry is *live* while ``entry.heap_seq`` equals the ``seq`` of its tuple:
cancelling sets it to -1 and re-pushing gives it a new seq, so the old tuple simply goes dead
and is dropped when it reaches the top or at the next compaction.
"""

from __future__ import annotations

import heapq
from itertools import count
from typing import Protocol

__all__ = ("DueHeap", "HeapEntry")

#: Compact (rebuild without dead tuples) once more than half of the heap is dead and the heap
#: holds at least this many tuples; smaller heaps just pop their dead tops.
COMPACT_MIN_SIZE = 256


class HeapEntry(Protocol):
    """Anything that can sit in the heap: it remembers the seq of its live tuple."""

    heap_seq: int


class DueHeap:
    """A min-heap of due times with lazy deletion and compaction."""

    __slots__ = ("_counter", "_dead", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, HeapEntry]] = []
        self._counter = count()
        self._dead = 0

    def __len__(self) -> int:
        """Number of live entries."""
        return len(self._heap) - self._dead

    def push(self, due: float, entry: HeapEntry) -> None:
        """Schedule ``entry`` at ``due``; a previous position of the same entry goes dead."""
        if entry.heap_seq >= 0:
            self._dead += 1
        seq = next(self._counter)
        entry.heap_seq = seq
        heapq.heappush(self._heap, (due, seq, entry))

    def discard(self, entry: HeapEntry) -> None:
        """Remove ``entry`` in O(1) (its tuple goes dead); a no-op if it is not in the heap."""
        if entry.heap_seq >= 0:
            entry.heap_seq = -1
            self._dead += 1
            if self._dead > COMPACT_MIN_SIZE and self._dead > len(self._heap) >> 1:
                self.compact()

    def peek(self) -> float | None:
        """Return the earliest live due time, or ``None`` if the heap is empty."""
        heap = self._heap
        while heap:
            due, seq, entry = heap[0]
            if entry.heap_seq == seq:
                return due
            heapq.heappop(heap)
            self._dead -= 1
        return None

    def pop_due(self, now: float, out: list[tuple[float, HeapEntry]], limit: int = -1) -> None:
        """Pop every live entry due at or before ``now`` into ``out`` as ``(due, entry)``.

        Entries come out in due order (FIFO among equal times). ``limit`` >= 0 caps how many.
        A popped entry is no longer in the heap (its ``heap_seq`` is -1).
        """
        heap = self._heap
        pop = heapq.heappop
        append = out.append
        while heap and heap[0][0] <= now and limit != 0:
            due, seq, entry = pop(heap)
            if entry.heap_seq == seq:
                entry.heap_seq = -1
                append((due, entry))
                limit -= 1
            else:
                self._dead -= 1

    def compact(self) -> None:
        """Drop every dead tuple and re-heapify (O(n))."""
        self._heap = [t for t in self._heap if t[2].heap_seq == t[1]]
        heapq.heapify(self._heap)
        self._dead = 0

    def clear(self) -> list[HeapEntry]:
        """Remove everything; return the live entries (in no particular order)."""
        live = [t[2] for t in self._heap if t[2].heap_seq == t[1]]
        for entry in live:
            entry.heap_seq = -1
        self._heap = []
        self._dead = 0
        return live
