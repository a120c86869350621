"""``python -m aioscheduler``: the same as the ``aioscheduler`` command."""

from .cli import main

raise SystemExit(main())
