"""The Lua scripts of the Redis store, and the layout of the keys they work on.

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
    {P}:fire   HASH  firing id -> "attempt|dver|run_at|missed|final|node|owner"
    {P}:r:<id> SET   the live (leased, unreleased) firing ids of one job
    {P}:h:<id> LIST  sealed run records of a job, newest first
    {P}:fail   HASH  job id -> consecutive failures (``pause_after_failures``, all nodes)
    {P}:stats  HASH  counters: claimed (firings created), finished, takeovers, refused
    {P}:hint   pub/sub channel: "a job may be due at <run_at>" wake-up hints

A firing is created only by the one script that advances its job (fenced by ``ver``), and
only for a slot later than the job's high-water mark: each (job, slot) is created once, even
across a replaced definition or a server clock that goes back. ``READ`` reserves the jobs it
hands to a node for a few seconds (re-scoring them), so that racing nodes plan different jobs;
the reservation decides nothing (``CLAIM`` checks the version and the stored run time).
Completion and lease renewal are fenced by owner and attempt; a lease that ran out is taken
over with the attempt counted up.

Every script takes ARGV[1] = now ('' = the server's ``TIME``) and ARGV[2] = the caller's
owner id, and its reply starts with {now, earliest due run time, earliest lease expiry of a
firing another node holds} ('' where there is none).
"""

from __future__ import annotations

__all__ = (
    "ADD", "CLAIM", "EXTEND", "KEY_NAMES", "READ", "RELEASE", "REMOVE", "SET_STATE", "UPDATE",
)  # fmt: skip

#: Names of the fixed keys, in the order every script receives them as KEYS.
KEY_NAMES = ("due", "job", "def", "dig", "run", "fire", "stats", "hint")

_PRELUDE = """
local K_DUE, K_JOB, K_DEF, K_DIG, K_RUN, K_FIRE, K_STATS = unpack(KEYS, 1, 7)
local CHANNEL = KEYS[8]
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
-- newest first; trimmed lazily (readers take the first ``limit``)
local function push_history(id, record, limit)
  local key = BASE .. 'h:' .. id
  if redis.call('LPUSH', key, record) > limit + 16 then redis.call('LTRIM', key, 0, limit - 1) end
end
local function drop_job(id)
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

#: Read what is due and reserve it. ARGV: now, owner, limit, orphan limit, reservation
#: (seconds). Returns {heads..., n, (id, state)*n, m, (fid, fire state, job state)*m}.
READ = (
    _PRELUDE
    + """
local due = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', NOW, 'LIMIT', 0, ARGV[3])
local hold = NOW + tonumber(ARGV[5] or 0)
if #due > 0 then
  local pairs_ = {}
  for _, id in ipairs(due) do pairs_[#pairs_ + 1] = hold; pairs_[#pairs_ + 1] = id end
  redis.call('ZADD', K_DUE, 'XX', unpack(pairs_))
end
local out = heads(NOW, OWNER)
out[#out + 1] = #due
for _, id in ipairs(due) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', K_JOB, id) or ''
end
local orphans = redis.call('ZRANGEBYSCORE', K_RUN, '-inf', NOW, 'LIMIT', 0, ARGV[4])
local n_at = #out + 1
out[n_at] = 0
for _, fid in ipairs(orphans) do
  local f = redis.call('HGET', K_FIRE, fid)
  local st = redis.call('HGET', K_JOB, job_of(fid))
  if not f then
    redis.call('ZREM', K_RUN, fid)
  elseif not st then
    finish(fid, fire_state(f), NOW, false)  -- its job was removed: nobody runs it again
  else
    out[#out + 1] = fid; out[#out + 1] = f; out[#out + 1] = st
    out[n_at] = out[n_at] + 1
  end
end
return out
"""
)

#: Claim and advance, atomically, judged by the server's clock.
#: ARGV: now, owner, node name, lease, prefetch (how many due jobs to read and reserve for
#: this node's next claim), reservation (seconds), n_jobs, then per job: id and
#: "ver|nominal|run_at|overlap" followed by "|slot|run_at|missed|run|final" per firing planned
#: (overlap: 'queue', 'replace' or ''); then n_orphans, then per orphan: fid, expected
#: attempt, run (0: do not run it again, only settle it); then n_pause and per job to pause
#: (its trigger failed): id, expected ver; then ids of jobs read but not claimed (their
#: reservation is lifted).
#: Returns {heads..., per job: "ok:<running>:" + one created flag per slot, "q:<running>"
#: (a queue job running elsewhere: not claimed) or "" (the job changed: not claimed),
#: per orphan: 1 taken over / 0 not, then n, (id, state)*n: the prefetched jobs}.
CLAIM = (
    _PRELUDE
    + """
local now, owner, node, lease = NOW, OWNER, ARGV[3], tonumber(ARGV[4])
local prefetch, hold = tonumber(ARGV[5]), NOW + tonumber(ARGV[6])
local res = {}
local created = 0
local fires, leases = {}, {}
local i = 8
for _ = 1, tonumber(ARGV[7]) do
  local id, plan = ARGV[i], split(ARGV[i + 1])
  i = i + 2
  local ver, nominal, run_at, overlap = tonumber(plan[1]), plan[2], plan[3], plan[4]
  local st = job_state(redis.call('HGET', K_JOB, id))
  if st and st.ver == ver and st.paused == '0' and st.run_at ~= '' and
      tonumber(st.run_at) <= now then
    local live = BASE .. 'r:' .. id
    local running = 0
    if redis.call('SCARD', live) > 0 then
      for _, fid in ipairs(redis.call('SMEMBERS', live)) do
        local f = fire_state(redis.call('HGET', K_FIRE, fid))
        local until_ = tonumber(redis.call('ZSCORE', K_RUN, fid))
        if f and f.owner ~= owner and until_ and until_ > now then
          running = running + 1
          if overlap == 'replace' then finish(fid, f, now, false) end
        end
      end
    end
    if running > 0 and overlap == 'queue' then
      redis.call('ZADD', K_DUE, st.run_at, id)  -- stays due: lift the reservation
      res[#res + 1] = 'q:' .. running
    else
      local flags = 'ok:' .. running .. ':'
      local last = tonumber(st.last)
      for k = 5, #plan, 5 do
        local fid = id .. '@' .. plan[k]
        if not last or tonumber(plan[k]) > last then
          st.last = plan[k]
          if plan[k + 3] == '1' then
            fires[#fires + 1] = fid
            fires[#fires + 1] = pack_fire({attempt = 1, dver = st.dver, run_at = plan[k + 1],
              missed = plan[k + 2], final = plan[k + 4], node = node, owner = owner})
            leases[#leases + 1] = now + lease
            leases[#leases + 1] = fid
            redis.call('SADD', live, fid)
          end  -- reported missed: nothing to lease
          created = created + 1
          flags = flags .. '1'
        else
          flags = flags .. '0'
        end
      end
      st.ver = st.ver + 1; st.nominal = nominal; st.run_at = run_at
      redis.call('HSET', K_JOB, id, pack_job(st))
      if run_at == '' then
        redis.call('ZREM', K_DUE, id)
      else
        redis.call('ZADD', K_DUE, run_at, id)
      end
      res[#res + 1] = flags
    end
  else
    res[#res + 1] = ''
  end
end
if #fires > 0 then
  redis.call('HSET', K_FIRE, unpack(fires))
  redis.call('ZADD', K_RUN, unpack(leases))
end
local n_orphans = tonumber(ARGV[i]); i = i + 1
local taken = 0
for _ = 1, n_orphans do
  local fid, attempt, run = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  i = i + 3
  local f = fire_state(redis.call('HGET', K_FIRE, fid))
  local score = tonumber(redis.call('ZSCORE', K_RUN, fid))
  if f and f.attempt == attempt and score and score <= now then
    f.attempt = f.attempt + 1; f.owner = owner; f.node = node
    if run == '1' then
      redis.call('HSET', K_FIRE, fid, pack_fire(f))
      redis.call('ZADD', K_RUN, now + lease, fid)
    else
      finish(fid, f, now, false)  -- lost or too late: settled when its claim is released
    end
    res[#res + 1] = 1
    taken = taken + 1
  else
    res[#res + 1] = 0
  end
end
local n_pause = tonumber(ARGV[i] or 0); i = i + 1
for _ = 1, n_pause do  -- jobs whose trigger failed: paused, unless changed meanwhile
  local st = job_state(redis.call('HGET', K_JOB, ARGV[i]))
  if st and st.ver == tonumber(ARGV[i + 1]) and st.paused == '0' then
    st.paused = '1'; st.ver = st.ver + 1
    redis.call('HSET', K_JOB, ARGV[i], pack_job(st))
    redis.call('ZREM', K_DUE, ARGV[i])
  end
  i = i + 2
end
for k = i, #ARGV do
  local st = job_state(redis.call('HGET', K_JOB, ARGV[k]))
  if st and st.paused == '0' and st.run_at ~= '' then
    redis.call('ZADD', K_DUE, 'XX', st.run_at, ARGV[k])
  end
end
if taken > 0 then redis.call('HINCRBY', K_STATS, 'takeovers', taken) end
if created > 0 then redis.call('HINCRBY', K_STATS, 'claimed', created) end
-- the next batch for this node, reserved like READ does: one round trip per batch
local ahead = {}
if prefetch > 0 then
  ahead = redis.call('ZRANGEBYSCORE', K_DUE, '-inf', NOW, 'LIMIT', 0, prefetch)
  if #ahead > 0 then
    local pairs_ = {}
    for _, id in ipairs(ahead) do pairs_[#pairs_ + 1] = hold; pairs_[#pairs_ + 1] = id end
    redis.call('ZADD', K_DUE, 'XX', unpack(pairs_))
  end
end
res[#res + 1] = #ahead
for _, id in ipairs(ahead) do
  res[#res + 1] = id
  res[#res + 1] = redis.call('HGET', K_JOB, id) or ''
end
return with_heads(res)
"""
)

#: Renew every lease of a node in one call. ARGV: now, owner, lease, then (fid, attempt)*.
#: Returns {heads..., lost fid*}: the firings this node no longer holds.
EXTEND = (
    _PRELUDE
    + """
local until_ = NOW + tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV, 2 do
  local fid = ARGV[i]
  local f = fire_state(redis.call('HGET', K_FIRE, fid))
  if f and f.owner == OWNER and f.attempt == tonumber(ARGV[i + 1]) then
    redis.call('ZADD', K_RUN, until_, fid)
  else
    lost[#lost + 1] = fid
  end
end
return with_heads(lost)
"""
)

#: Release finished firings, fenced by owner and attempt, and record their runs.
#: ARGV: now, owner, (unused), history limit, then per run:
#: job id, "slot|attempt|final|leased|count" (leased 0: a local run, or one reported missed or
#: lost, fenced by nothing; count: 'S' a success resets the job's consecutive failures,
#: 'F<k>' a failure counts, pausing the job at k, '' neither), record ('' = none).
#: Returns {heads..., per run: 1 recorded / 0 refused (fenced) / 2 job gone, then
#: (job id, failures) of each job paused here}.
RELEASE = (
    _PRELUDE
    + """
local limit = tonumber(ARGV[4])
local res = {}
local refused, finished = 0, 0
local done, paused = {}, {}
for i = 5, #ARGV, 3 do
  local id, what, record = ARGV[i], split(ARGV[i + 1]), ARGV[i + 2]
  local attempt, final, leased = tonumber(what[2]), what[3], what[4]
  local code = 1
  local ok = true
  local f, fid
  if leased == '1' then
    fid = id .. '@' .. what[1]
    f = fire_state(redis.call('HGET', K_FIRE, fid))
    ok = f and f.owner == OWNER and f.attempt == attempt
  end
  if not ok then
    code = 0
    refused = refused + 1
  else
    if record ~= '' and limit > 0 and redis.call('HEXISTS', K_JOB, id) == 1 then
      push_history(id, record, limit)
    end
    if leased == '1' then
      finished = finished + 1
      if f.final == '1' then
        if finish(fid, f, NOW, true) then code = 2 end
      else  -- the common case, batched below
        done[#done + 1] = fid
        redis.call('SREM', BASE .. 'r:' .. id, fid)
      end
    elseif final == '1' and drop_if_final(id, nil) then
      code = 2
    end
    local fk = what[5] or ''
    if fk == 'S' then
      redis.call('HDEL', K_FAIL, id)
    elseif fk ~= '' then  -- 'F<k>': a counted failure of a job paused after k in a row
      local n = redis.call('HINCRBY', K_FAIL, id, 1)
      local st = job_state(redis.call('HGET', K_JOB, id))
      if n >= tonumber(string.sub(fk, 2)) and st and st.paused == '0' then
        st.paused = '1'; st.ver = st.ver + 1
        redis.call('HSET', K_JOB, id, pack_job(st))
        redis.call('ZREM', K_DUE, id)
        redis.call('HDEL', K_FAIL, id)
        paused[#paused + 1] = id; paused[#paused + 1] = n
      end
    end
  end
  res[#res + 1] = code
end
for _, v in ipairs(paused) do res[#res + 1] = v end
if #done > 0 then
  redis.call('ZREM', K_RUN, unpack(done))
  redis.call('HDEL', K_FIRE, unpack(done))
end
if refused > 0 then redis.call('HINCRBY', K_STATS, 'refused', refused) end
if finished > 0 then redis.call('HINCRBY', K_STATS, 'finished', finished) end
return with_heads(res)
"""
)

#: Add, replace or declare a job. ARGV: now, owner, id, definition, digest, paused, nominal,
#: run_at, mode ('add', 'replace' or 'declare': an existing job with the same digest is left
#: alone; a changed one is replaced keeping its paused state).
#: Returns {heads..., status ('added', 'replaced', 'unchanged', 'exists'), paused}.
ADD = (
    _PRELUDE
    + """
local id, blob, digest, paused, nominal, run_at, mode =
  ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local old = job_state(redis.call('HGET', K_JOB, id))
local status = 'added'
if old then
  if mode == 'add' then return with_heads({'exists', old.paused}) end
  if mode == 'declare' then
    if redis.call('HGET', K_DIG, id) == digest then return with_heads({'unchanged', old.paused}) end
    paused = old.paused
  end
  status = 'replaced'
end
local st = {ver = 1, dver = 1, paused = paused, nominal = nominal, run_at = run_at, last = ''}
if old then st.ver = old.ver + 1; st.dver = old.dver + 1; st.last = old.last end
redis.call('HSET', K_JOB, id, pack_job(st))
redis.call('HSET', K_DEF, id, blob)
redis.call('HSET', K_DIG, id, digest)
if paused == '1' or run_at == '' then
  redis.call('ZREM', K_DUE, id)
else
  redis.call('ZADD', K_DUE, run_at, id)
  local h = redis.call('ZRANGE', K_DUE, 0, 0)
  if h[1] == id then redis.call('PUBLISH', CHANNEL, run_at) end
end
return with_heads({status, paused})
"""
)

#: Set a job's paused flag and next time, fenced by its version.
#: ARGV: now, owner, id, expected ver, paused, nominal, run_at. Returns {heads..., 1}, or 0
#: when the job changed meanwhile (the caller reads it again), or -1 when it is gone.
SET_STATE = (
    _PRELUDE
    + """
local id = ARGV[3]
local st = job_state(redis.call('HGET', K_JOB, id))
if not st then return with_heads({-1}) end
if st.ver ~= tonumber(ARGV[4]) then return with_heads({0}) end
st.ver = st.ver + 1; st.paused = ARGV[5]; st.nominal = ARGV[6]; st.run_at = ARGV[7]
redis.call('HSET', K_JOB, id, pack_job(st))
if st.paused == '1' or st.run_at == '' then
  redis.call('ZREM', K_DUE, id)
else
  redis.call('ZADD', K_DUE, st.run_at, id)
  local h = redis.call('ZRANGE', K_DUE, 0, 0)
  if h[1] == id then redis.call('PUBLISH', CHANNEL, st.run_at) end
end
return with_heads({1})
"""
)

#: Remove a job. ARGV: now, owner, id. Returns {heads...} when unknown, else
#: {heads..., state, definition, history...}. Its firings still running elsewhere finish
#: (their release records nothing); abandoned ones are dropped when their lease runs out.
REMOVE = (
    _PRELUDE
    + """
local id = ARGV[3]
local st = redis.call('HGET', K_JOB, id)
if not st then return with_heads({}) end
local got = {st, redis.call('HGET', K_DEF, id) or ''}
for _, r in ipairs(redis.call('LRANGE', BASE .. 'h:' .. id, 0, -1)) do got[#got + 1] = r end
drop_job(id)
return with_heads(got)
"""
)

#: Change a job's definition, fenced by its version. ARGV: now, owner, id, expected ver,
#: definition, digest, reschedule (0/1), nominal, run_at (used when rescheduling). Returns
#: {heads..., 1}, 0 when the job changed meanwhile, -1 when it is gone.
UPDATE = (
    _PRELUDE
    + """
local id = ARGV[3]
local st = job_state(redis.call('HGET', K_JOB, id))
if not st then return with_heads({-1}) end
if st.ver ~= tonumber(ARGV[4]) then return with_heads({0}) end
st.ver = st.ver + 1; st.dver = st.dver + 1
redis.call('HSET', K_DEF, id, ARGV[5])
redis.call('HSET', K_DIG, id, ARGV[6])
if ARGV[7] == '1' then
  st.nominal = ARGV[8]; st.run_at = ARGV[9]
  if st.paused == '1' or st.run_at == '' then
    redis.call('ZREM', K_DUE, id)
  else
    redis.call('ZADD', K_DUE, st.run_at, id)
    local h = redis.call('ZRANGE', K_DUE, 0, 0)
    if h[1] == id then redis.call('PUBLISH', CHANNEL, st.run_at) end
  end
end
redis.call('HSET', K_JOB, id, pack_job(st))
return with_heads({1})
"""
)
