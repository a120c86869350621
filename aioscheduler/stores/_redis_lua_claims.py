"""The Lua scripts of the Redis store's hot path: read what is due, claim and advance, renew
leases, release (fenced). Layout and conventions: :mod:`._redis_lua`."""

from __future__ import annotations

from ._redis_lua import guarded

__all__ = ("CLAIM", "EXTEND", "READ", "RELEASE")

#: Read what is due and reserve it. ARGV: now, owner, limit, orphan limit, reservation
#: (seconds). Returns {heads..., n, (id, state)*n, m, (fid, fire state, job state)*m}.
READ = guarded(
    """
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
  local fs = fire_state(f)
  if not fs then
    redis.call('ZREM', K_RUN, fid)
  elseif not st or fs.final == '2' then
    finish(fid, fs, NOW, false)  -- its job was removed: nobody runs it again
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
CLAIM = guarded(
    """
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
EXTEND = guarded(
    """
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
RELEASE = guarded(
    """
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
  elseif leased == '1' and f.final == '2' then  -- its job was removed while it ran
    finish(fid, f, NOW, false)
    finished = finished + 1
    code = 2
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
