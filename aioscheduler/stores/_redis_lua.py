"""The key layout of the Redis store and the Lua prelude every script starts with.

The scripts themselves: :mod:`._redis_lua_claims` (the hot path) and :mod:`._redis_lua_jobs`
(job changes, the namespace's epoch); :mod:`._redis_scripts` lists them all.

Every key of a namespace shares one hash tag, ``{prefix}``, so a namespace lives on one Redis
Cluster shard and every script touches one slot. Times are float seconds; "now" is the
server's ``TIME`` unless a script is given an explicit time (``clock="node"``, for tests
driven by a fake clock).

Keys (``{P}`` is the hash-tagged prefix)::

    {P}:due    ZSET  job id -> run time of its next firing (unpaused jobs with a next time), or
                     the end of a short reservation while a node plans its claim
    {P}:job    HASH  job id -> "ver|dver|paused|nominal|run_at|last"  (ver: bumped on every
                     change, the fence of a claim; dver: bumped when the definition changes;
                     last: the latest slot ever created, the high-water mark)
    {P}:def    HASH  job id -> sealed definition (see ``_codec``)
    {P}:dig    HASH  job id -> digest of the unsealed definition (declare: same or changed)
    {P}:run    ZSET  firing id -> lease expiry              (firing id = "<job id>@<slot>")
    {P}:fire   HASH  firing id -> "attempt|dver|run_at|missed|final|node|owner"  (final: 1
                     the job's last firing, 2 its job was removed while it ran)
    {P}:r:<id> SET   the live (leased, unreleased) firing ids of one job
    {P}:h:<id> LIST  sealed run records of a job, newest first
    {P}:fail   HASH  job id -> consecutive failures (``pause_after_failures``, all nodes)
    {P}:stats  HASH  counters: claimed (firings created), finished, takeovers, refused
    {P}:hint   pub/sub channel: "a job may be due at <run_at>" wake-up hints
    {P}:epoch  STRING a random token written when the namespace is created; every script
                     but ``EPOCH``/``RESTORE`` refuses to run (replies ``{'wiped', current}``)
                     when it is not the token the caller knows: a server restarted without
                     persistence, or a FLUSHDB, is noticed instead of read as an empty schedule

A firing is created only by the one script that advances its job (fenced by ``ver``), and
only for a slot later than the job's high-water mark: each (job, slot) is created once, even
across a replaced definition or a server clock that goes back. ``READ`` reserves the jobs it
hands to a node for a few seconds (re-scoring them), so that racing nodes plan different jobs;
the reservation decides nothing (``CLAIM`` checks the version and the stored run time).
Completion and lease renewal are fenced by owner and attempt; a lease that ran out is taken
over with the attempt counted up.

Every script takes ARGV[1] = now ('' = the server's ``TIME``), ARGV[2] = the caller's owner
id and ARGV[3] = the epoch the caller knows (the guard removes it from ARGV, so a script's own
arguments start at ARGV[3]), and its reply starts with {now, earliest due run time, earliest
lease expiry of a firing another node holds} ('' where there is none).
"""

from __future__ import annotations

__all__ = ("GUARD", "KEY_NAMES", "PRELUDE", "guarded")

#: Names of the fixed keys, in the order every script receives them as KEYS.
KEY_NAMES = ("due", "job", "def", "dig", "run", "fire", "stats", "hint", "epoch")

#: Keys, helpers and the job / firing state codecs shared by every script.
PRELUDE = """
local K_DUE, K_JOB, K_DEF, K_DIG, K_RUN, K_FIRE, K_STATS = unpack(KEYS, 1, 7)
local CHANNEL, K_EPOCH = KEYS[8], KEYS[9]
local BASE = string.sub(K_DUE, 1, -4)
local K_FAIL = BASE .. 'fail'  -- job id -> consecutive failures, over every node's runs
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local NOW = clock(ARGV[1])
local OWNER = ARGV[2]
local function job_state(s)
  if not s then return nil end
  local ver, dver, paused, nominal, run_at, last =
    string.match(s, '^(%d+)|(%d+)|(%d)|([^|]*)|([^|]*)|([^|]*)$')
  return {ver = tonumber(ver), dver = dver, paused = paused, nominal = nominal, run_at = run_at,
          last = last}
end
local function pack_job(st)
  return st.ver .. '|' .. st.dver .. '|' .. st.paused .. '|' .. st.nominal .. '|' ..
    st.run_at .. '|' .. st.last
end
local function fire_state(s)
  if not s then return nil end
  local attempt, dver, run_at, missed, final, node, owner =
    string.match(s, '^(%d+)|(%d+)|([^|]*)|(%d+)|(%d)|([^|]*)|(.*)$')
  return {attempt = tonumber(attempt), dver = dver, run_at = run_at, missed = missed,
          final = final, node = node, owner = owner}
end
local function pack_fire(f)
  return f.attempt .. '|' .. f.dver .. '|' .. f.run_at .. '|' .. f.missed .. '|' .. f.final ..
    '|' .. f.node .. '|' .. f.owner
end
local function split(s)
  local t = {}
  for piece in string.gmatch(s .. '|', '([^|]*)|') do t[#t + 1] = piece end
  return t
end
local function job_of(fid) return string.match(fid, '^(.*)@[^@]*$') end
local function heads(now, owner)
  local h = redis.call('ZRANGE', K_DUE, 0, 0, 'WITHSCORES')
  local lh = ''
  local r = redis.call('ZRANGE', K_RUN, 0, 15, 'WITHSCORES')
  for i = 1, #r, 2 do
    local f = fire_state(redis.call('HGET', K_FIRE, r[i]))
    if not f or f.owner ~= owner then lh = r[i + 1]; break end
  end
  return {tostring(now), h[2] or '', lh}
end
local function with_heads(list)
  local out = heads(NOW, OWNER)
  for _, v in ipairs(list) do out[#out + 1] = v end
  return out
end
-- put a job in the due index, or out of it; hint the other nodes when it becomes the head
local function schedule(id, paused, run_at)
  if paused == '1' or run_at == '' then
    redis.call('ZREM', K_DUE, id)
  else
    redis.call('ZADD', K_DUE, run_at, id)
    local h = redis.call('ZRANGE', K_DUE, 0, 0)
    if h[1] == id then redis.call('PUBLISH', CHANNEL, run_at) end
  end
end
-- newest first; trimmed lazily (readers take the first ``limit``)
local function push_history(id, record, limit)
  local key = BASE .. 'h:' .. id
  if redis.call('LPUSH', key, record) > limit + 16 then redis.call('LTRIM', key, 0, limit - 1) end
end
-- a removed job's firings still running are detached from its id (final = '2'): their
-- release records nothing and nobody runs them again, even if a job of the same id is added
local function drop_job(id)
  local live = BASE .. 'r:' .. id
  for _, fid in ipairs(redis.call('SMEMBERS', live)) do
    local f = fire_state(redis.call('HGET', K_FIRE, fid))
    if f then f.final = '2'; redis.call('HSET', K_FIRE, fid, pack_fire(f)) end
  end
  redis.call('DEL', live)
  redis.call('HDEL', K_JOB, id); redis.call('HDEL', K_DEF, id); redis.call('HDEL', K_DIG, id)
  redis.call('HDEL', K_FAIL, id)
  redis.call('ZREM', K_DUE, id); redis.call('DEL', BASE .. 'h:' .. id)
end
-- a job whose final firing was released goes, unless redefined or still running elsewhere
local function drop_if_final(id, dver)
  local st = job_state(redis.call('HGET', K_JOB, id))
  if st and (dver == nil or st.dver == dver) and st.nominal == '' and
      redis.call('SCARD', BASE .. 'r:' .. id) == 0 then
    drop_job(id)
    return true
  end
  return false
end
-- forget a live firing (released, revoked, or not to be run again)
local function finish(fid, f, now, final_check)
  local id = job_of(fid)
  redis.call('ZREM', K_RUN, fid)
  redis.call('HDEL', K_FIRE, fid)
  redis.call('SREM', BASE .. 'r:' .. id, fid)
  if final_check and f.final == '1' then return drop_if_final(id, f.dver) end
  return false
end
"""

#: The epoch check of every script that reads or writes the schedule (see the module doc).
GUARD = """
local EPOCH = table.remove(ARGV, 3)
local CURRENT = redis.call('GET', K_EPOCH)
if CURRENT ~= EPOCH then return {'wiped', CURRENT or ''} end
"""


def guarded(body: str) -> str:
    """A script that runs only on the namespace generation its caller knows."""
    return PRELUDE + GUARD + body
