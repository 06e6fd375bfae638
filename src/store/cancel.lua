-- An operator cancels a job. Scheduled and queued jobs become `cancelled` at once (a queued id
-- stays in the list: fetch skips it, and LREM would be O(backlog)). An active job is flagged; its
-- worker hears `cancel ID` on the queue's signal channel (the lease heartbeat is the fallback),
-- stops the handler and records the cancel with cancel_active.lua.
-- KEYS: job, scheduled, cancelled, stats, events, waiting, expiring
-- ARGV: id, signal channel, retention_ms
-- Returns { 'cancelled' } ({ 'cancelled', 'release' }: its dependents wait in the outbox,
-- deps.lua) | { 'cancelling' } | { 'final', state } | { 'missing' }
local job, scheduled, cancelled, stats, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, signal, retention = ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = redis.call('HMGET', job, 'state', 'unique_key', 'dependents')
local state = f[1]
if not state then
  return { 'missing' }
end
if state == 'active' then
  redis.call('HSET', job, 'cancel', '1')
  publish(signal, 'cancel ' .. id)
  return { 'cancelling' }
end
if state ~= 'queued' and state ~= 'scheduled' and state ~= 'waiting' then
  return { 'final', state }
end
local now = now_ms()
-- Never started, so maybe still in the expiring set (enqueue --expires): it ends here.
redis.call('ZREM', KEYS[7], id)
if state == 'scheduled' then
  redis.call('ZREM', scheduled, id)
elseif state == 'waiting' then
  -- Its parents' dependents sets still name it: their release finds it no longer waiting.
  redis.call('ZREM', KEYS[6], id)
else
  add_stale(stats, 1)
end
redis.call('HSET', job, 'state', 'cancelled', 'finished_ms', now, 'error', 'cancelled by an operator')
redis.call('ZADD', cancelled, now, id)
redis.call('ZREMRANGEBYSCORE', cancelled, '-inf', now - retention)
redis.call('PEXPIRE', job, retention)
release_unique(f[2], id)
emit(events, id, 'cancelled')
if release_dependents(id, f[3], 'cancelled') then
  return { 'cancelled', 'release' }
end
return { 'cancelled' }
