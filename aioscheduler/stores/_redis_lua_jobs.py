"""The Lua scripts that change jobs (add, declare, pause, update, remove) and the namespace's
epoch (created at open, restored after a wipe). Layout and conventions: :mod:`._redis_lua`."""

from __future__ import annotations

from ._redis_lua import PRELUDE, guarded

__all__ = ("ADD", "EPOCH", "REMOVE", "RESTORE", "SET_STATE", "UPDATE")

#: Add, replace or declare a job. ARGV: now, owner, id, definition, digest, paused, nominal,
#: run_at, mode ('add', 'replace' or 'declare': an existing job with the same digest is left
#: alone; a changed one is replaced keeping its paused state; 'restore': a declare after a
#: wipe, which starts a new job's high-water mark at now, so that no slot up to now, run or
#: not before the wipe, is created again).
#: Returns {heads..., status ('added', 'replaced', 'unchanged', 'exists'), paused}.
ADD = guarded(
    """
local id, blob, digest, paused, nominal, run_at, mode =
  ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local old = job_state(redis.call('HGET', K_JOB, id))
local status = 'added'
if old then
  if mode == 'add' then return with_heads({'exists', old.paused}) end
  if mode == 'declare' or mode == 'restore' then
    if redis.call('HGET', K_DIG, id) == digest then return with_heads({'unchanged', old.paused}) end
    paused = old.paused
  end
  status = 'replaced'
end
local st = {ver = 1, dver = 1, paused = paused, nominal = nominal, run_at = run_at, last = ''}
if old then
  st.ver = old.ver + 1; st.dver = old.dver + 1; st.last = old.last
elseif mode == 'restore' then
  st.last = string.format('%.6f', NOW)
end
redis.call('HSET', K_JOB, id, pack_job(st))
redis.call('HSET', K_DEF, id, blob)
redis.call('HSET', K_DIG, id, digest)
schedule(id, paused, run_at)
return with_heads({status, paused})
"""
)

#: Set a job's paused flag and next time, fenced by its version.
#: ARGV: now, owner, id, expected ver, paused, nominal, run_at. Returns {heads..., 1}, or 0
#: when the job changed meanwhile (the caller reads it again), or -1 when it is gone.
SET_STATE = guarded(
    """
local id = ARGV[3]
local st = job_state(redis.call('HGET', K_JOB, id))
if not st then return with_heads({-1}) end
if st.ver ~= tonumber(ARGV[4]) then return with_heads({0}) end
st.ver = st.ver + 1; st.paused = ARGV[5]; st.nominal = ARGV[6]; st.run_at = ARGV[7]
redis.call('HSET', K_JOB, id, pack_job(st))
schedule(id, st.paused, st.run_at)
return with_heads({1})
"""
)

#: Remove a job. ARGV: now, owner, id. Returns {heads...} when unknown, else {heads..., 1}.
#: Its firings still running elsewhere finish (their release records nothing); abandoned
#: ones are dropped when their lease runs out.
REMOVE = guarded(
    """
local id = ARGV[3]
if redis.call('HEXISTS', K_JOB, id) == 0 then return with_heads({}) end
drop_job(id)
return with_heads({1})
"""
)

#: Change a job's definition, fenced by its version. ARGV: now, owner, id, expected ver,
#: definition, digest, reschedule (0/1), nominal, run_at (used when rescheduling). Returns
#: {heads..., 1}, 0 when the job changed meanwhile, -1 when it is gone.
UPDATE = guarded(
    """
local id = ARGV[3]
local st = job_state(redis.call('HGET', K_JOB, id))
if not st then return with_heads({-1}) end
if st.ver ~= tonumber(ARGV[4]) then return with_heads({0}) end
st.ver = st.ver + 1; st.dver = st.dver + 1
redis.call('HSET', K_DEF, id, ARGV[5])
redis.call('HSET', K_DIG, id, ARGV[6])
if ARGV[7] == '1' then
  st.nominal = ARGV[8]; st.run_at = ARGV[9]
  schedule(id, st.paused, st.run_at)
end
redis.call('HSET', K_JOB, id, pack_job(st))
return with_heads({1})
"""
)

#: Open a namespace: create its epoch if it has none. ARGV: now, owner, a new random token.
#: Returns {the epoch, 1 if created here}.
EPOCH = """
local cur = redis.call('GET', KEYS[9])
if cur then return {cur, 0} end
redis.call('SET', KEYS[9], ARGV[3])
return {ARGV[3], 1}
"""

#: After a wipe: create the epoch again (or adopt the one another node created first) and
#: lease this node's running firings again, so that their runs go on and are recorded.
#: ARGV: now, owner, a new random token, node name, lease, then (fid, attempt)*.
#: Returns {the epoch, 'recreated' or 'adopted'}.
RESTORE = (
    PRELUDE
    + """
local cur, status = redis.call('GET', K_EPOCH), 'adopted'
if not cur then
  cur, status = ARGV[3], 'recreated'
  redis.call('SET', K_EPOCH, cur)
end
local until_ = NOW + tonumber(ARGV[5])
for i = 6, #ARGV, 2 do
  local fid = ARGV[i]
  if redis.call('HEXISTS', K_FIRE, fid) == 0 then
    local slot = string.match(fid, '@([^@]*)$')
    redis.call('HSET', K_FIRE, fid, pack_fire({attempt = ARGV[i + 1], dver = '1', run_at = slot,
      missed = '0', final = '0', node = ARGV[4], owner = OWNER}))
    redis.call('ZADD', K_RUN, until_, fid)
    redis.call('SADD', BASE .. 'r:' .. job_of(fid), fid)
  end
end
return {cur, status}
"""
)
