"""A live web dashboard of a scheduler (``pip install "aioscheduler[dashboard]"``).

Mount it in a Starlette or FastAPI app::

    from aioscheduler.dashboard import Dashboard

    app = FastAPI(lifespan=scheduler.lifespan)
    app.mount("/scheduler", Dashboard(scheduler))

or in aiohttp with :func:`aioscheduler.dashboard.aiohttp.mount`, or serve it alone with
``aioscheduler dashboard myapp:scheduler`` / ``aioscheduler dashboard --store URL``.
"""

from ._app import Dashboard as Dashboard

__all__ = ("Dashboard",)
