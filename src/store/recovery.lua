-- Lease recovery, shared by fetch.lua (which runs it when the queue's pass is due) and
-- recover.lua (doctor --fix). Returns jobs whose lease ran out (their worker crashed, was
-- killed, or lost Redis for longer than the lease) to the head of their queue, or to the DLQ
-- when they keep killing workers. `k` holds the queue's keys: active, queued, dead, cancelled,
-- stats, events, ranked, ranked_on. Returns the number of jobs recovered (at most 100 per pass).
-- The children of jobs that end here go to the outbox (deps.lua); the caller announces it
-- after the pass. `retention` (ms) is how long a job that ends cancelled here stays readable.
local function recover_expired(k, now, max_recoveries, day, max_errors, retention)
  local expired = redis.call('ZRANGEBYSCORE', k.active, '-inf', now, 'LIMIT', 0, 100)
  local recovered = 0
  for _, id in ipairs(expired) do
    redis.call('ZREM', k.active, id)
    local key = job_key(id)
    local f = redis.call('HMGET', key, 'state', 'attempt', 'max_attempts', 'recoveries', 'errors', 'worker', 'unique_key',
      'dependents', 'priority')
    if f[1] == 'active' and redis.call('HGET', key, 'cancel') == '1' then
      -- An operator cancelled it and its worker died before stopping it: it ends cancelled,
      -- kept for the retention like any cancelled job (cancel_active.lua).
      redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', now, 'lease', '')
      redis.call('ZADD', k.cancelled, now, id)
      redis.call('ZREMRANGEBYSCORE', k.cancelled, '-inf', now - retention)
      redis.call('PEXPIRE', key, retention)
      release_unique(f[7], id)
      emit(k.events, id, 'cancelled')
      release_dependents(id, f[8], 'cancelled')
    elseif f[1] == 'active' then
      local recoveries = tonumber(f[4] or '0') + 1
      local message = 'worker ' .. (f[6] or '?') .. ' stopped renewing its lease (killed, crashed or cut off from Redis)'
      local errors = push_error(f[5], f[2], message, now, max_errors)
      -- Clearing the lease fences the lost worker: its late completion will be refused.
      redis.call('HSET', key, 'recoveries', recoveries, 'error', message, 'errors', errors, 'lease', '')
      count(k.stats, 'failed', day)
      if tonumber(f[2]) >= tonumber(f[3]) or recoveries >= max_recoveries then
        redis.call('HSET', key, 'state', 'dead', 'finished_ms', now)
        redis.call('ZADD', k.dead, now, id)
        release_unique(f[7], id)
        count(k.stats, 'dead', day)
        emit(k.events, id, 'dead', { error = message })
        release_dependents(id, f[8], 'dead')
      else
        redis.call('HSET', key, 'state', 'queued')
        push_waiting(k.queued, k.ranked, k.ranked_on, id, f[9], true, now)
        emit(k.events, id, 'recovered', { error = message })
      end
      recovered = recovered + 1
    end
  end
  return recovered
end
