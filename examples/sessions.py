"""Per-connection session state machines, each driven by one timer.

Run it with::

    python examples/sessions.py            # three simulated connections, about 4 s of real time

Each connection gets a timer whose callback is the session's state machine: it handles the
current state and *returns the delay until it wants to run next* (``None`` ends the timer).
``Timer.add_done_callback`` removes the session from the registry however the timer ends:
the machine finishing, the client disconnecting (``timer.cancel()``), or the scheduler
stopping. It prints one line per transition, with the time since the start::

    +0.00s  session 1: connected
    +0.20s  session 1: handshake -> active
    +1.20s  session 1: ping 1
    ...
    +3.70s  session 1: closed, cleaned up (0 sessions open)

(real-clock times vary by a few milliseconds) and ends with ``all sessions cleaned up``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from aioscheduler import Scheduler, Timer

HANDSHAKE = 0.2  # seconds until a new connection is active
PING_EVERY = 1.0
DRAIN = 0.5  # seconds between "draining" and "closed"


@dataclass
class Session:
    id: int
    pings_wanted: int
    state: str = "handshake"
    pings: int = 0
    timer: Timer | None = field(default=None, repr=False)


class Server:
    """Opens sessions, each driven by a timer, and keeps the registry of open ones."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.sessions: dict[int, Session] = {}
        self.started: datetime = scheduler.clock.now()
        self.log: list[str] = []

    def say(self, text: str) -> None:
        elapsed = (self.scheduler.clock.now() - self.started).total_seconds()
        line = f"+{elapsed:.2f}s  {text}"
        self.log.append(line)
        print(line, flush=True)

    def connect(self, session_id: int, pings: int) -> Session:
        session = Session(session_id, pings)
        self.sessions[session_id] = session
        session.timer = self.scheduler.call_later(HANDSHAKE, self.step, session)
        session.timer.add_done_callback(lambda _timer: self.cleaned_up(session))
        self.say(f"session {session_id}: connected")
        return session

    def disconnect(self, session: Session) -> None:
        """The client went away: cancelling the timer ends the machine (and cleans up)."""
        self.say(f"session {session.id}: client disconnected in state {session.state}")
        assert session.timer is not None
        session.timer.cancel()

    async def step(self, session: Session) -> float | None:
        """The state machine: handle the state, return the delay until the next step."""
        if session.state == "handshake":
            session.state = "active"
            self.say(f"session {session.id}: handshake -> active")
            return PING_EVERY
        if session.state == "active":
            session.pings += 1
            self.say(f"session {session.id}: ping {session.pings}")
            if session.pings < session.pings_wanted:
                return PING_EVERY
            session.state = "draining"
            self.say(f"session {session.id}: active -> draining")
            return DRAIN
        session.state = "closed"
        return None  # ends the timer: the done callback cleans up

    def cleaned_up(self, session: Session) -> None:
        del self.sessions[session.id]
        self.say(
            f"session {session.id}: {session.state}, cleaned up "
            f"({len(self.sessions)} sessions open)"
        )


async def simulate(
    server: Server, wait: Callable[[float], Awaitable[object]] = asyncio.sleep
) -> None:
    """Three connections: two finish their pings, one client disconnects early.

    ``wait`` lets time pass: real time by default; tests pass ``FakeClock.advance``.
    """
    one = server.connect(1, pings=3)
    server.connect(2, pings=1)
    await wait(0.5)
    three = server.connect(3, pings=10)
    await wait(1.0)
    server.disconnect(three)
    await wait(2.5)
    assert one.state == "closed"


async def main() -> None:
    async with Scheduler() as scheduler:
        server = Server(scheduler)
        await simulate(server)
    print("all sessions cleaned up" if not server.sessions else f"left: {server.sessions}")


if __name__ == "__main__":
    asyncio.run(main())
