-- Helpers for the operator's transitions (cancel, retry, drain, purge), prepended after common.lua.

-- Puts a dead, cancelled or retry-waiting job back at the tail of its queue (runs after the
-- jobs already waiting). `reset` = '1' gives it a fresh set of attempts. The caller removed the
-- id from its previous set. Returns 'queued' or 'duplicate' (its unique key is held by another
-- unfinished job, so it stays where it is).
local function requeue_job(queued, ranked, ranked_on, id, key, reset, now)
  local f = redis.call('HMGET', key, 'unique_key', 'priority')
  local unique = f[1]
  if unique and unique ~= '' then
    local holder = redis.call('GET', unique_key(unique))
    if holder and holder ~= id then
      local st = redis.call('HGET', job_key(holder), 'state')
      if st and st ~= 'completed' and st ~= 'dead' and st ~= 'cancelled' then
        return 'duplicate'
      end
    end
    redis.call('SET', unique_key(unique), id)
  end
  redis.call('PERSIST', key)
  -- An operator's retry runs the job now: an expiry it missed no longer applies.
  redis.call('HDEL', key, 'cancel', 'lease', 'finished_ms', 'worker', 'expires_ms')
  redis.call('HSET', key, 'state', 'queued', 'scheduled_ms', now)
  if reset == '1' then
    redis.call('HSET', key, 'attempt', 0, 'recoveries', 0)
  end
  push_waiting(queued, ranked, ranked_on, id, f[2], false, now)
  return 'queued'
end

-- Ids that stay in the queued list after their job left the `queued` state (cancel leaves them,
-- fetch skips them); `stats` subtracts this count from the list length.
local function add_stale(stats, n)
  if n ~= 0 then
    local cur = tonumber(redis.call('HGET', stats, 'stale') or '0')
    redis.call('HSET', stats, 'stale', math.max(cur + n, 0))
  end
end
