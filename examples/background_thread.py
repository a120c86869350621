"""The scheduler in a background thread, driven from plain (sync) code: a script, a Flask or
Django app. ``start_in_thread()`` is what APScheduler's ``BackgroundScheduler`` is for.

Run it with::

    python examples/background_thread.py

The main thread adds a job; the job pauses itself after its third run; the main thread lists
the jobs, changes the job's arguments and resumes it; after one more run it stops. It prints::

    tick 1 from hello
    tick 2 from hello
    tick 3 from hello
    jobs: ['ticker (paused)']
    tick 4 from goodbye
    stopped
"""

from __future__ import annotations

import threading

from aioscheduler import Every, Scheduler, SchedulerThread

scheduler = Scheduler()
jobs: SchedulerThread[Scheduler] | None = None
count = 0
paused = threading.Event()


def tick(word: str) -> None:  # a plain function: it runs on a worker thread
    global count
    count += 1
    print(f"tick {count} from {word}", flush=True)
    if count in (3, 4):
        assert jobs is not None
        jobs.pause("ticker")  # the handle's blocking calls are safe from any thread
        paused.set()


def wait_until_paused() -> None:
    if not paused.wait(timeout=30):
        raise TimeoutError("the job did not pause itself")
    paused.clear()


def main() -> None:
    global jobs
    with scheduler.start_in_thread() as jobs:  # returns once the scheduler runs
        jobs.add(tick, Every(seconds=0.1), id="ticker", args=("hello",), run_at_start=True)
        wait_until_paused()
        listed = [f"{job.id} (paused)" if job.paused else job.id for job in jobs.jobs()]
        print("jobs:", listed, flush=True)
        jobs.modify("ticker", args=("goodbye",))
        jobs.resume("ticker")
        wait_until_paused()
    print("stopped", flush=True)  # leaving the block stopped the scheduler and its thread


if __name__ == "__main__":
    main()
