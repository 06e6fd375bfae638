-- Returns jobs whose lease ran out (their worker crashed, was killed, or lost Redis for longer
-- than the lease) to the head of their queue, or to the DLQ when they keep killing workers.
-- KEYS: active, queued, dead, stats, notify
-- ARGV: prefix, max_recoveries, day, max_errors
-- Returns the number of jobs recovered.
local active, queued, dead, stats, notify = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, max_recoveries, day = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', active, '-inf', now, 'LIMIT', 0, 100)
local recovered = 0
for _, id in ipairs(expired) do
  redis.call('ZREM', active, id)
  local key = job_key(prefix, id)
  local f = redis.call('HMGET', key, 'state', 'attempt', 'max_attempts', 'recoveries', 'errors', 'worker', 'unique_key')
  if f[1] == 'active' and redis.call('HGET', key, 'cancel') == '1' then
    -- An operator cancelled it and its worker died before stopping it: it ends cancelled.
    redis.call('HSET', key, 'state', 'cancelled', 'finished_ms', now, 'lease', '')
    redis.call('ZADD', prefix .. ':cancelled', now, id)
    release_unique(prefix, f[7], id)
    emit(prefix, id, 'cancelled')
  elseif f[1] == 'active' then
    local recoveries = tonumber(f[4] or '0') + 1
    local message = 'worker ' .. (f[6] or '?') .. ' stopped renewing its lease (killed, crashed or cut off from Redis)'
    local errors = push_error(f[5], f[2], message, now, tonumber(ARGV[4]))
    -- Clearing the lease fences the lost worker: its late completion will be refused.
    redis.call('HSET', key, 'recoveries', recoveries, 'error', message, 'errors', errors, 'lease', '')
    count(stats, 'failed', day)
    if tonumber(f[2]) >= tonumber(f[3]) or recoveries >= max_recoveries then
      redis.call('HSET', key, 'state', 'dead', 'finished_ms', now)
      redis.call('ZADD', dead, now, id)
      release_unique(prefix, f[7], id)
      count(stats, 'dead', day)
      emit(prefix, id, 'dead', { error = message })
    else
      redis.call('HSET', key, 'state', 'queued')
      redis.call('RPUSH', queued, id)
      emit(prefix, id, 'recovered', { error = message })
    end
    recovered = recovered + 1
  end
end
if recovered > 0 then
  wake(notify)
end
return recovered
