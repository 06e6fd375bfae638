-- An operator cancels a job. Scheduled and queued jobs become `cancelled` at once (a queued id
-- stays in the list: fetch skips it, and LREM would be O(backlog)). An active job is flagged; its
-- worker hears the PUBLISH on the control channel (the lease heartbeat is the fallback), stops
-- the handler and records the cancel with cancel_active.lua.
-- KEYS: job, scheduled, cancelled, stats
-- ARGV: id, prefix, channel, retention_ms
-- Returns { 'cancelled' } | { 'cancelling' } | { 'final', state } | { 'missing' }
local job, scheduled, cancelled, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, prefix, channel, retention = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local f = redis.call('HMGET', job, 'state', 'unique_key')
local state = f[1]
if not state then
  return { 'missing' }
end
if state == 'active' then
  redis.call('HSET', job, 'cancel', '1')
  redis.call('PUBLISH', channel, id)
  return { 'cancelling' }
end
if state ~= 'queued' and state ~= 'scheduled' then
  return { 'final', state }
end
local now = now_ms()
if state == 'scheduled' then
  redis.call('ZREM', scheduled, id)
else
  add_stale(stats, 1)
end
redis.call('HSET', job, 'state', 'cancelled', 'finished_ms', now, 'error', 'cancelled by an operator')
redis.call('ZADD', cancelled, now, id)
redis.call('ZREMRANGEBYSCORE', cancelled, '-inf', now - retention)
redis.call('PEXPIRE', job, retention)
release_unique(prefix, f[2], id)
emit(prefix, id, 'cancelled')
return { 'cancelled' }
