"""The due heap: order, FIFO ties, O(1) cancel by lazy deletion, compaction."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from aioscheduler._heap import COMPACT_MIN_SIZE, DueHeap, HeapEntry


class E:
    def __init__(self, name: object) -> None:
        self.heap_seq = -1
        self.name = name


def pop_all(heap: DueHeap, now: float = float("inf")) -> list[tuple[float, object]]:
    out: list[tuple[float, HeapEntry]] = []
    heap.pop_due(now, out)
    return [(due, e.name) for due, e in out]  # type: ignore[attr-defined]


def test_pops_in_due_order_and_fifo_among_equal_times() -> None:
    heap = DueHeap()
    for due, name in [(3.0, "c"), (1.0, "a1"), (2.0, "b"), (1.0, "a2")]:
        heap.push(due, E(name))
    assert pop_all(heap) == [(1.0, "a1"), (1.0, "a2"), (2.0, "b"), (3.0, "c")]


def test_pop_due_stops_at_now_and_respects_limit() -> None:
    heap = DueHeap()
    for i in range(10):
        heap.push(float(i), E(i))
    out: list[tuple[float, HeapEntry]] = []
    heap.pop_due(4.0, out, limit=3)
    assert [d for d, _ in out] == [0.0, 1.0, 2.0]
    assert pop_all(heap, 4.0) == [(3.0, 3), (4.0, 4)]
    assert heap.peek() == 5.0
    assert len(heap) == 5


def test_discarded_entry_never_pops_and_is_not_counted() -> None:
    heap = DueHeap()
    a, b = E("a"), E("b")
    heap.push(1.0, a)
    heap.push(2.0, b)
    heap.discard(a)
    heap.discard(a)  # twice is harmless
    assert len(heap) == 1
    assert heap.peek() == 2.0
    assert pop_all(heap) == [(2.0, "b")]


def test_repushing_moves_an_entry_instead_of_duplicating_it() -> None:
    heap = DueHeap()
    a = E("a")
    heap.push(5.0, a)
    heap.push(1.0, a)
    heap.push(3.0, a)
    assert len(heap) == 1
    assert pop_all(heap) == [(3.0, "a")]


def test_compaction_drops_dead_tuples_once_most_are_dead() -> None:
    heap = DueHeap()
    entries = [E(i) for i in range(4 * COMPACT_MIN_SIZE)]
    for i, e in enumerate(entries):
        heap.push(float(i), e)
    for e in entries[: 3 * COMPACT_MIN_SIZE]:
        heap.discard(e)
    assert len(heap._heap) < 2 * COMPACT_MIN_SIZE  # rebuilt, not just marked
    assert len(heap) == COMPACT_MIN_SIZE
    assert [n for _, n in pop_all(heap)] == list(range(3 * COMPACT_MIN_SIZE, 4 * COMPACT_MIN_SIZE))


def test_clear_returns_live_entries_and_empties_the_heap() -> None:
    heap = DueHeap()
    a, b = E("a"), E("b")
    heap.push(1.0, a)
    heap.push(2.0, b)
    heap.discard(a)
    assert [e.name for e in heap.clear()] == ["b"]  # type: ignore[attr-defined]
    assert heap.peek() is None
    assert len(heap) == 0


@given(
    st.lists(
        st.tuples(st.floats(0, 100, allow_nan=False), st.booleans(), st.booleans()),
        max_size=200,
    )
)
def test_matches_a_sorted_list_model(ops: list[tuple[float, bool, bool]]) -> None:
    heap = DueHeap()
    model: dict[int, tuple[float, int]] = {}
    entries: list[E] = []
    rnd = random.Random(0)
    seq = 0
    for due, cancel_one, repush_one in ops:
        e = E(len(entries))
        entries.append(e)
        heap.push(due, e)
        model[e.name] = (due, seq)  # type: ignore[index]
        seq += 1
        if cancel_one and model:
            victim = entries[rnd.choice(list(model))]
            heap.discard(victim)
            del model[victim.name]  # type: ignore[arg-type]
        if repush_one and model:
            mover = entries[rnd.choice(list(model))]
            heap.push(due / 2, mover)
            model[mover.name] = (due / 2, seq)  # type: ignore[index]
            seq += 1
    assert len(heap) == len(model)
    expected = sorted(model.items(), key=lambda kv: kv[1])
    assert pop_all(heap) == [(d, name) for name, (d, _) in expected]
