-- Job dependencies (`enqueue --after`) and expiry (`enqueue --expires`): the helpers of the
-- scripts that end jobs, prepended after common.lua (scripts.rs). A job with neither costs
-- its ending script one more hash field read and nothing else.
--
-- Parents and children may live in different queues, so on different cluster slots, and no
-- script touches two slots. So the end of a parent and the release of its children are two
-- steps, made exactly once and crash-safe by an outbox on the parent's slot:
--   1. enqueue writes the child `waiting`, with `deps_left` = its number of parents;
--   2. for each parent, register_child.lua (parent's slot) adds the child to the parent's
--      dependents set, or, if the parent has ended already, puts the release in the outbox;
--   3. the script that ends a parent (complete, fail, cancel, recovery, expiry) moves its
--      dependents into the outbox in the same atomic step (`release_dependents` below);
--   4. whoever applies an outbox entry (the worker that ended the parent; the enqueuer; any
--      worker after a recovery pass found entries left) runs release_child.lua on the child's
--      slot, which records the parent's outcome once (HSETNX) and moves the child on when the
--      last parent is in, then deletes the entry. A crash before the delete only means the
--      entry is applied again, which changes nothing.

-- The set of jobs waiting for job `id` (keys.rs `dependents`). Derived like `job_key`, and
-- only read when the job's hash says it has dependents (field `dependents`), as a unique key
-- is derived from the hash's `unique_key`.
local function dependents_key(id)
  return TAG .. ':dependents:' .. id
end

-- Releases not yet applied to their children (keys.rs `outbox`): `<child> <parent>` -> outcome.
local function outbox_key()
  return TAG .. ':outbox'
end

-- Moves the children of job `id`, which just ended with `outcome` (completed, dead,
-- cancelled), into the outbox. `has` is the job's `dependents` field. Returns true when
-- entries were added: the caller then asks for them to be applied.
local function release_dependents(id, has, outcome)
  if not has or has == '' then
    return false
  end
  local set = dependents_key(id)
  local kids = redis.call('SMEMBERS', set)
  for _, child in ipairs(kids) do
    redis.call('HSET', outbox_key(), child .. ' ' .. id, outcome)
  end
  redis.call('DEL', set)
  return #kids > 0
end

-- Ends job `id`, never started, as cancelled with `reason` (expiry, a parent that failed).
-- `k` holds the queue's cancelled set and events stream; `from` is the key (zset) it still
-- sits in, if any. Returns true when its own dependents went to the outbox.
local function cancel_unstarted(k, id, from, reason, now, retention)
  local key = job_key(id)
  local f = redis.call('HMGET', key, 'unique_key', 'dependents')
  if from then
    redis.call('ZREM', from, id)
  end
  redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', now, 'error', reason)
  redis.call('ZADD', k.cancelled, now, id)
  redis.call('ZREMRANGEBYSCORE', k.cancelled, '-inf', now - retention)
  redis.call('PEXPIRE', key, retention)
  release_unique(f[1], id)
  emit(k.events, id, 'cancelled', { error = reason })
  return release_dependents(id, f[2], 'cancelled')
end

-- The recovery pass's expiry sweep: jobs past their expiry that no fetch met (their queue is
-- idle, or they wait for parents or a delay) end cancelled, reason `expired`. `k` holds the
-- queue's expiring, scheduled, waiting, cancelled, stats and events keys. Bounded per pass,
-- like lease recovery. Returns true when dependents went to the outbox.
local function sweep_expired(k, now, retention)
  local due = redis.call('ZRANGEBYSCORE', k.expiring, '-inf', now, 'LIMIT', 0, 100)
  local released = false
  for _, id in ipairs(due) do
    redis.call('ZREM', k.expiring, id)
    local f = redis.call('HMGET', job_key(id), 'state', 'attempt', 'expires_ms')
    -- Expiry is about the first start: a job that ran once (now waiting for a retry, or
    -- recovered) is past it, as is a finished one. A job whose expiry was dropped since
    -- (an operator's retry of a cancelled job) may have left its id here: it stays.
    local expires = tonumber(f[3] or '')
    if tonumber(f[2] or '0') == 0 and expires and expires <= now then
      local from = ({ scheduled = k.scheduled, waiting = k.waiting })[f[1]]
      if f[1] == 'queued' then
        -- Its id stays in the queued list (fetch skips it): one more leftover for stats.
        redis.call('HINCRBY', k.stats, 'stale', 1)
      end
      if from or f[1] == 'queued' then
        released = cancel_unstarted(k, id, from, 'expired', now, retention) or released
      end
    end
  end
  return released
end

-- After a pass that may have filled the outbox: tells the queue's workers to apply it
-- (worker/deps.rs). Any entry left by a crashed worker is announced again by the next pass.
local function announce_outbox(signal)
  if redis.call('EXISTS', outbox_key()) == 1 then
    publish(signal, 'release')
  end
end
