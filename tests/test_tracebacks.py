"""Kept tracebacks lose their frames' locals (memory store history), chains and groups included."""

from __future__ import annotations

from aioscheduler._tracebacks import MAX_CHAIN, release_locals


class Big:
    """Stands for a large object a failing job held in a local variable."""


def fail_holding(what: object, exc: BaseException) -> BaseException:
    held = what  # noqa: F841 - the local the traceback would keep alive
    try:
        raise exc
    except BaseException as caught:
        return caught


def locals_of(error: BaseException) -> dict[str, object]:
    tb = error.__traceback__
    assert tb is not None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_locals


def test_nothing_to_release_is_fine() -> None:
    release_locals(None)


def test_the_locals_of_a_chain_and_of_a_group_are_released() -> None:
    inner = fail_holding(Big(), ValueError("inner"))
    member = fail_holding(Big(), KeyError("member"))
    outer = fail_holding(Big(), RuntimeError("outer"))
    outer.__cause__ = inner
    group = fail_holding(Big(), BaseExceptionGroup("many", [member]))
    group.__context__ = outer
    assert "held" in locals_of(inner) and "held" in locals_of(member)
    release_locals(group)
    for error in (group, outer, inner, member):
        assert "held" not in locals_of(error), error


def test_a_cyclic_chain_ends() -> None:
    a = fail_holding(Big(), ValueError("a"))
    b = fail_holding(Big(), ValueError("b"))
    a.__context__, b.__context__ = b, a
    release_locals(a)
    assert "held" not in locals_of(b)
    assert MAX_CHAIN >= 2
