-- The worker records that it stopped a job an operator cancelled. Fenced by the lease token,
-- like complete and fail: a worker that lost the job cannot touch it.
-- KEYS: job, active, cancelled, events, limit state
-- ARGV: id, lease, retention_ms, signal channel
-- Returns 'ok' ('release': and its dependents wait in the outbox, deps.lua) | 'lost'
local job, active, cancelled, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, lease, retention = ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = redis.call('HMGET', job, 'state', 'lease', 'unique_key', 'limited', 'dependents')
if f[2] ~= lease then
  return 'lost'
end
if f[1] == 'cancelled' then
  return 'ok' -- a replay after a lost reply
end
if f[1] ~= 'active' then
  return 'lost'
end
local now = now_ms()
redis.call('HSET', job, 'state', 'cancelled', 'finished_ms', now, 'error', 'cancelled by an operator')
redis.call('ZREM', active, id)
free_slot(f[4], KEYS[5], ARGV[4])
redis.call('ZADD', cancelled, now, id)
redis.call('ZREMRANGEBYSCORE', cancelled, '-inf', now - retention)
redis.call('PEXPIRE', job, retention)
release_unique(f[3], id)
emit(events, id, 'cancelled')
if release_dependents(id, f[5], 'cancelled') then
  return 'release'
end
return 'ok'
