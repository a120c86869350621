"""The Lua scripts of the Redis store, and the layout of the keys they work on.

Every key of a namespace shares one hash tag, ``{prefix}``, so a namespace lives on one Redis
Cluster shard and every script touches one slot. Times are float seconds; "now" is the
server's ``TIME`` unless a script is given an explicit time (``clock="node"``, for tests
driven by a fake clock).

Keys (``{P}`` is the hash-tagged prefix)::

    {P}:due    ZSET  job id -> run time of its next firing (unpaused jobs with a next time)
    {P}:job    HASH  job id -> "ver|dver|paused|nominal|run_at"   (ver: bumped on every change,
                     the fence of an optimistic claim; dver: bumped when the definition changes)
    {P}:def    HASH  job id -> sealed definition (see ``_codec``)
    {P}:pend   HASH  job id -> firings handed out and not yet released
    {P}:run    ZSET  firing id -> lease expiry              (firing id = "<job id>@<slot>")
    {P}:fire   HASH  firing id -> "attempt|dver|run_at|missed|run|final|owner"
    {P}:done   ZSET  firing id -> finish time: a slot is created once while it is remembered
    {P}:h:<id> LIST  sealed run records of a job, newest first
    {P}:stats  HASH  counters: refused (fenced completions), takeovers
    {P}:hint   pub/sub channel: "a job may be due at <run_at>" wake-up hints

A firing is created only by the one script that advances its job (fenced by ``ver``), and
only if its id is neither live (``fire``) nor remembered (``done``): each (job, slot) is
created once. Completion and lease renewal are fenced by owner and attempt; a lease that ran
out is taken over with the attempt counted up.
"""

from __future__ import annotations

__all__ = (
    "ADD",
    "CLAIM",
    "EXTEND",
    "KEY_NAMES",
    "READ",
    "RELEASE",
    "REMOVE",
    "SET_STATE",
)

#: Names of the fixed keys, in the order every script receives them as KEYS.
KEY_NAMES = ("due", "job", "def", "pend", "run", "fire", "done", "stats", "hint")

_PRELUDE = """
local K_DUE, K_JOB, K_DEF, K_PEND, K_RUN, K_FIRE, K_DONE, K_STATS = unpack(KEYS, 1, 8)
local CHANNEL = KEYS[9]
local HIST = string.sub(K_DUE, 1, -4) .. 'h:'
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function job_state(s)
  if not s then return nil end
  local ver, dver, paused, nominal, run_at = string.match(s, '^(%d+)|(%d+)|(%d)|([^|]*)|([^|]*)$')
  return {ver = tonumber(ver), dver = dver, paused = paused, nominal = nominal, run_at = run_at}
end
local function pack_job(st)
  return st.ver .. '|' .. st.dver .. '|' .. st.paused .. '|' .. st.nominal .. '|' .. st.run_at
end
local function fire_state(s)
  if not s then return nil end
  local attempt, dver, run_at, missed, run, final, owner =
    string.match(s, '^(%d+)|(%d+)|([^|]*)|(%d+)|(%d)|(%d)|(.*)$')
  return {attempt = tonumber(attempt), dver = dver, run_at = run_at, missed = missed, run = run,
          final = final, owner = owner}
end
local function pack_fire(f)
  return f.attempt .. '|' .. f.dver .. '|' .. f.run_at .. '|' .. f.missed .. '|' .. f.run ..
    '|' .. f.final .. '|' .. f.owner
end
local function job_of(fid) return string.match(fid, '^(.*)@[^@]*$') end
-- {now, earliest due run time, earliest lease expiry of a firing not held by owner}
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
local NOW = clock(ARGV[1])
local OWNER = ARGV[2]
local function unpend(id)
  if redis.call('HINCRBY', K_PEND, id, -1) <= 0 then redis.call('HDEL', K_PEND, id) end
end
-- drop a finished or abandoned firing; delete its job if this was its final firing
local function finish(fid, f, now)
  redis.call('ZREM', K_RUN, fid)
  redis.call('HDEL', K_FIRE, fid)
  redis.call('ZADD', K_DONE, now, fid)
  local id = job_of(fid)
  unpend(id)
  if f.final == '1' then
    local st = job_state(redis.call('HGET', K_JOB, id))
    if st and st.dver == f.dver and st.nominal == '' and not redis.call('HGET', K_PEND, id) then
      redis.call('HDEL', K_JOB, id); redis.call('HDEL', K_DEF, id); redis.call('ZREM', K_DUE, id)
      redis.call('DEL', HIST .. id)
      return true
    end
  end
  return false
end
"""

#: Every script takes ARGV[1] = now ('' = the server's TIME), ARGV[2] = the caller's owner id,
#: and returns {now, due head, lease head, ...} first (see ``heads``).
#:
#: Read what is due. ARGV: now, owner, limit, orphan limit.
#: Returns {heads..., n, (id, score, state)*n, m, (fid, fire state, job state)*m}.
READ = (
    _PRELUDE
    + """
local now = NOW
local out = heads(now, OWNER)
local due = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', now, 'WITHSCORES', 'LIMIT', 0, ARGV[3])
out[#out + 1] = #due / 2
for i = 1, #due, 2 do
  out[#out + 1] = due[i]; out[#out + 1] = due[i + 1]
  out[#out + 1] = redis.call('HGET', K_JOB, due[i]) or ''
end
local orphans = redis.call('ZRANGEBYSCORE', K_RUN, '-inf', now, 'LIMIT', 0, ARGV[4])
local n_at = #out + 1
out[n_at] = 0
for _, fid in ipairs(orphans) do
  local f = redis.call('HGET', K_FIRE, fid)
  local id = job_of(fid)
  local st = redis.call('HGET', K_JOB, id)
  if f and not st then
    finish(fid, fire_state(f), now)  -- its job was removed: nobody will run it again
  elseif f then
    out[#out + 1] = fid; out[#out + 1] = f; out[#out + 1] = st
    out[n_at] = out[n_at] + 1
  else
    redis.call('ZREM', K_RUN, fid)
  end
end
return out
"""
)

#: Claim and advance, atomically, judged by the server's clock.
#: ARGV: now, owner, lease, n_jobs, then per job: id, expected ver, nominal, run_at, n_slots,
#: then per slot: slot, run_at, missed, run, final; then n_orphans, then per orphan: fid,
#: expected attempt.
#: Returns {heads..., per job: "ok" + created flags ("" = job changed: not claimed),
#: per orphan: 1 taken over / 0 not}.
CLAIM = (
    _PRELUDE
    + """
local now = NOW
local owner, lease = OWNER, tonumber(ARGV[3])
local res = {}
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local id, ver, nominal, run_at, n = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2],
    ARGV[i + 3], tonumber(ARGV[i + 4])
  i = i + 5
  local st = job_state(redis.call('HGET', K_JOB, id))
  local score = tonumber(redis.call('ZSCORE', K_DUE, id))
  if st and st.ver == ver and st.paused == '0' and score and score <= now then
    st.ver = st.ver + 1; st.nominal = nominal; st.run_at = run_at
    redis.call('HSET', K_JOB, id, pack_job(st))
    if run_at == '' then
      redis.call('ZREM', K_DUE, id)
    else
      redis.call('ZADD', K_DUE, run_at, id)
    end
    local flags = ''
    for _ = 1, n do
      local fid = id .. '@' .. ARGV[i]
      if redis.call('HEXISTS', K_FIRE, fid) == 0 and not redis.call('ZSCORE', K_DONE, fid) then
        redis.call('HSET', K_FIRE, fid, pack_fire({attempt = 1, dver = st.dver,
          run_at = ARGV[i + 1], missed = ARGV[i + 2], run = ARGV[i + 3], final = ARGV[i + 4],
          owner = owner}))
        redis.call('ZADD', K_RUN, now + lease, fid)
        redis.call('HINCRBY', K_PEND, id, 1)
        flags = flags .. '1'
      else
        flags = flags .. '0'
      end
      i = i + 5
    end
    res[#res + 1] = 'ok' .. flags
  else
    res[#res + 1] = ''
    i = i + 5 * n
  end
end
local n_orphans = tonumber(ARGV[i]); i = i + 1
local taken = 0
for _ = 1, n_orphans do
  local fid, attempt = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local f = fire_state(redis.call('HGET', K_FIRE, fid))
  local score = tonumber(redis.call('ZSCORE', K_RUN, fid))
  if f and f.attempt == attempt and score and score <= now then
    f.attempt = f.attempt + 1; f.owner = owner
    redis.call('HSET', K_FIRE, fid, pack_fire(f))
    redis.call('ZADD', K_RUN, now + lease, fid)
    res[#res + 1] = 1
    taken = taken + 1
  else
    res[#res + 1] = 0
  end
end
if taken > 0 then redis.call('HINCRBY', K_STATS, 'takeovers', taken) end
local out = heads(now, owner)
for _, v in ipairs(res) do out[#out + 1] = v end
return out
"""
)

#: Renew every lease of a node in one call. ARGV: now, owner, lease, then (fid, attempt)*.
#: Returns {heads..., lost fid*}: the firings this node no longer holds.
EXTEND = (
    _PRELUDE
    + """
local now = NOW
local owner, until_ = OWNER, now + tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV, 2 do
  local fid = ARGV[i]
  local f = fire_state(redis.call('HGET', K_FIRE, fid))
  if f and f.owner == owner and f.attempt == tonumber(ARGV[i + 1]) then
    redis.call('ZADD', K_RUN, until_, fid)
  else
    lost[#lost + 1] = fid
  end
end
local out = heads(now, owner)
for _, v in ipairs(lost) do out[#out + 1] = v end
return out
"""
)

#: Release finished firings, fenced by owner and attempt, and record their runs.
#: ARGV: now, owner, keep (seconds a finished slot is remembered), history limit, then per run:
#: job id, fid ('' = a local run the store did not hand out), attempt, record ('' = none).
#: Returns {heads..., per run: 1 recorded / 0 refused (fenced) / 2 job gone}.
RELEASE = (
    _PRELUDE
    + """
local now = NOW
local owner, keep, limit = OWNER, tonumber(ARGV[3]), tonumber(ARGV[4])
local res = {}
local refused = 0
for i = 5, #ARGV, 4 do
  local id, fid, attempt, record = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local ok = true
  local deleted = false
  if fid ~= '' then
    local f = fire_state(redis.call('HGET', K_FIRE, fid))
    if f and f.owner == owner and f.attempt == attempt then
      deleted = finish(fid, f, now)
    else
      ok = false
    end
  end
  if not ok then
    refused = refused + 1
    res[#res + 1] = 0
  elseif deleted or redis.call('HEXISTS', K_JOB, id) == 0 then
    res[#res + 1] = 2
  else
    if record ~= '' and limit > 0 then
      redis.call('LPUSH', HIST .. id, record)
      redis.call('LTRIM', HIST .. id, 0, limit - 1)
    end
    res[#res + 1] = 1
  end
end
if refused > 0 then redis.call('HINCRBY', K_STATS, 'refused', refused) end
redis.call('ZREMRANGEBYSCORE', K_DONE, '-inf', now - keep)
local out = heads(now, owner)
for _, v in ipairs(res) do out[#out + 1] = v end
return out
"""
)

#: Add or replace a job. ARGV: now, owner, id, definition, paused, nominal, run_at, replace
#: (0/1), keep_same (1: an identical definition leaves the job as it is).
#: Returns {heads..., status ('added', 'replaced', 'same', 'exists')}.
ADD = (
    _PRELUDE
    + """
local id, blob, paused, nominal, run_at = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local old = job_state(redis.call('HGET', K_JOB, id))
local out = heads(NOW, OWNER)
local status = 'added'
if old then
  if ARGV[9] == '1' and redis.call('HGET', K_DEF, id) == blob then
    out[4] = 'same'; return out
  end
  if ARGV[8] ~= '1' then out[4] = 'exists'; return out end
  status = 'replaced'
end
local st = {ver = 1, dver = 1, paused = paused, nominal = nominal, run_at = run_at}
if old then st.ver = old.ver + 1; st.dver = old.dver + 1 end
redis.call('HSET', K_JOB, id, pack_job(st))
redis.call('HSET', K_DEF, id, blob)
if paused == '1' or run_at == '' then
  redis.call('ZREM', K_DUE, id)
else
  redis.call('ZADD', K_DUE, run_at, id)
  local h = redis.call('ZRANGE', K_DUE, 0, 0)
  if h[1] == id then redis.call('PUBLISH', CHANNEL, run_at) end
end
out = heads(NOW, OWNER)
out[4] = status
return out
"""
)

#: Set a job's paused flag and next time, fenced by its version.
#: ARGV: now, owner, id, expected ver, paused, nominal, run_at. Returns {heads..., 1}, or 0
#: when the job changed meanwhile (the caller reads it again), or -1 when it is gone.
SET_STATE = (
    _PRELUDE
    + """
local id = ARGV[3]
local out = heads(NOW, OWNER)
local st = job_state(redis.call('HGET', K_JOB, id))
if not st then out[4] = -1; return out end
if st.ver ~= tonumber(ARGV[4]) then out[4] = 0; return out end
st.ver = st.ver + 1; st.paused = ARGV[5]; st.nominal = ARGV[6]; st.run_at = ARGV[7]
redis.call('HSET', K_JOB, id, pack_job(st))
if st.paused == '1' or st.run_at == '' then
  redis.call('ZREM', K_DUE, id)
else
  redis.call('ZADD', K_DUE, st.run_at, id)
  local h = redis.call('ZRANGE', K_DUE, 0, 0)
  if h[1] == id then redis.call('PUBLISH', CHANNEL, st.run_at) end
end
out = heads(NOW, OWNER)
out[4] = 1
return out
"""
)

#: Remove a job. ARGV: now, owner, id. Returns {heads...} when unknown, else
#: {heads..., state, definition, history...}.
#: Its firings still running elsewhere finish harmlessly; abandoned ones are dropped.
REMOVE = (
    _PRELUDE
    + """
local id = ARGV[3]
local st = redis.call('HGET', K_JOB, id)
if not st then return heads(NOW, OWNER) end
local got = {st, redis.call('HGET', K_DEF, id) or ''}
for _, r in ipairs(redis.call('LRANGE', HIST .. id, 0, -1)) do got[#got + 1] = r end
redis.call('HDEL', K_JOB, id); redis.call('HDEL', K_DEF, id); redis.call('ZREM', K_DUE, id)
redis.call('DEL', HIST .. id)
local out = heads(NOW, OWNER)
for _, v in ipairs(got) do out[#out + 1] = v end
return out
"""
)
