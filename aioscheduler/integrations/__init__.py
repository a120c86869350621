"""Integrations with web frameworks, one module each, imported by path so that an optional
dependency loads only when asked for.

- :mod:`aioscheduler.integrations.fastapi`: a FastAPI/Starlette lifespan
  (``FastAPI(lifespan=scheduler.lifespan)``).
- :mod:`aioscheduler.integrations.aiohttp`: an aiohttp cleanup context
  (``app.cleanup_ctx.append(scheduler.aiohttp_context)``).
"""
