-- The worker records that it stopped a job an operator cancelled. Fenced by the lease token,
-- like complete and fail: a worker that lost the job cannot touch it.
-- KEYS: job, active, cancelled
-- ARGV: id, lease, prefix, retention_ms
local job, active, cancelled = KEYS[1], KEYS[2], KEYS[3]
local id, lease, prefix, retention = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local f = redis.call('HMGET', job, 'state', 'lease', 'unique_key')
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
redis.call('ZADD', cancelled, now, id)
redis.call('ZREMRANGEBYSCORE', cancelled, '-inf', now - retention)
redis.call('PEXPIRE', job, retention)
release_unique(prefix, f[3], id)
emit(prefix, id, 'cancelled')
return 'ok'
