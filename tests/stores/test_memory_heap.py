"""The memory store's due heap holds nothing the cyclic garbage collector tracks (issue 11).

A heap of ``(due, seq, entry)`` put one tracked tuple per job firing into the oldest
generation (it lives until the job's next firing): with 1e5 jobs those made full collections
come often. Items are now ``(due, seq, job_id)``, found again through the store's ``jobs``.
"""

from __future__ import annotations

import gc

from aioscheduler import Every
from aioscheduler._values import JobSpec
from aioscheduler.stores._memory_jobs import COMPACT_MIN_SIZE, Entry, JobHeap


async def job() -> None:
    return None


def entry(job_id: str) -> Entry:
    return Entry(JobSpec(job_id, job, Every(1)), 10)


def items_of(heap: JobHeap) -> list[tuple[float, int, str]]:
    [items] = [r for r in gc.get_referents(heap) if isinstance(r, list)]
    return items


def test_heap_items_are_untracked_by_the_garbage_collector() -> None:
    jobs = {f"j{i}": entry(f"j{i}") for i in range(100)}
    heap = JobHeap(jobs)
    for i, e in enumerate(jobs.values()):
        heap.push(float(i), e)
    gc.collect()
    items = items_of(heap)
    assert len(items) == 100
    assert not any(gc.is_tracked(item) for item in items)


def test_entries_come_out_in_due_order_and_stale_items_are_skipped() -> None:
    a, b, c = entry("a"), entry("b"), entry("c")
    jobs = {"a": a, "b": b, "c": c}
    heap = JobHeap(jobs)
    heap.push(3.0, a)
    heap.push(1.0, b)
    heap.push(2.0, c)
    heap.push(0.5, a)  # moved: its item at 3.0 is dead
    heap.discard(c)
    replaced = jobs["b"] = entry("b")  # the old b was discarded first, as the store does
    heap.discard(b)
    heap.push(2.5, replaced)
    assert heap.peek() == 0.5
    assert heap.pop_due(2.9, -1) == [a, replaced]
    assert a.heap_seq == replaced.heap_seq == -1
    assert heap.peek() is None  # a's old item at 3.0 is dead, and dropped
    assert heap.pop_due(10.0, -1) == []


def test_pop_due_stops_at_the_limit_and_leaves_the_rest() -> None:
    jobs = {f"j{i}": entry(f"j{i}") for i in range(5)}
    heap = JobHeap(jobs)
    for i, e in enumerate(jobs.values()):
        heap.push(float(i), e)
    assert [e.spec.id for e in heap.pop_due(10.0, 2)] == ["j0", "j1"]
    assert heap.peek() == 2.0
    assert [e.spec.id for e in heap.pop_due(10.0, -1)] == ["j2", "j3", "j4"]


def test_a_heap_mostly_dead_is_compacted() -> None:
    n = 4 * COMPACT_MIN_SIZE
    jobs = {f"j{i}": entry(f"j{i}") for i in range(n)}
    heap = JobHeap(jobs)
    for i, e in enumerate(jobs.values()):
        heap.push(float(i), e)
    for e in list(jobs.values())[: n - 10]:
        heap.discard(e)
    assert len(items_of(heap)) < n // 2
    assert [e.spec.id for e in heap.pop_due(float(n), -1)] == [f"j{i}" for i in range(n - 10, n)]


def test_compaction_keeps_each_live_item_with_its_latest_due_and_order() -> None:
    # compaction rebuilds from the store's jobs (not from the heap's items): a moved entry
    # keeps its latest due, equal dues stay in push order, popped entries stay out
    n = 4 * COMPACT_MIN_SIZE
    jobs = {f"j{i}": entry(f"j{i}") for i in range(n)}
    heap = JobHeap(jobs)
    for e in jobs.values():
        heap.push(5.0, e)
    kept = [jobs[f"j{i}"] for i in range(n - 1, n - 7, -1)]  # pushed again, last first
    for e in kept:
        heap.push(1.0, e)
    moved = jobs["j0"]
    heap.push(0.5, moved)
    assert heap.pop_due(0.5, -1) == [moved]  # popped: not live, not put back by compaction
    keep = {id(e) for e in kept}
    for e in list(jobs.values()):
        if id(e) not in keep and e is not moved:
            heap.discard(e)
    assert len(items_of(heap)) < n // 2
    assert heap.pop_due(10.0, -1) == kept
    assert heap.peek() is None


def test_compaction_with_many_jobs_out_of_the_heap_walks_the_heap() -> None:
    # more jobs than heap items (paused or done jobs stay in the store): the heap is walked
    n = 4 * COMPACT_MIN_SIZE
    jobs = {f"j{i}": entry(f"j{i}") for i in range(4 * n)}
    heap = JobHeap(jobs)
    listed = list(jobs.values())
    for i, e in enumerate(listed[:n]):
        heap.push(float(i), e)
    heap.push(-1.0, listed[n - 1])  # moved: its first item is dead
    for e in listed[: n - 10]:
        heap.discard(e)
    assert len(items_of(heap)) < n // 2
    assert [e.spec.id for e in heap.pop_due(float(n), -1)] == [f"j{n - 1}"] + [
        f"j{i}" for i in range(n - 10, n - 1)
    ]
