"""Every Lua script of the Redis store, by name (registered once per client by
:class:`~aioscheduler.stores._redis_conn.Scripts`). The key layout and the conventions the
scripts share: :mod:`._redis_lua`."""

from __future__ import annotations

from ._redis_lua import KEY_NAMES
from ._redis_lua_claims import CLAIM, EXTEND, READ, RELEASE
from ._redis_lua_jobs import ADD, EPOCH, REMOVE, RESTORE, SET_STATE, UPDATE

__all__ = ("KEY_NAMES", "SCRIPTS")

#: Script name -> Lua source.
SCRIPTS = {
    "READ": READ, "CLAIM": CLAIM, "EXTEND": EXTEND, "RELEASE": RELEASE, "ADD": ADD,
    "SET_STATE": SET_STATE, "REMOVE": REMOVE, "UPDATE": UPDATE, "EPOCH": EPOCH,
    "RESTORE": RESTORE,
}  # fmt: skip
