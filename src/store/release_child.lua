-- Step 4 of a dependency (deps.lua): on the child's slot, records that parent `parent` ended
-- with `outcome`, once (HSETNX of `dep:<parent>`); the last parent in moves the child from
-- `waiting` to queued (or scheduled, if it has a run time ahead). A parent that ended dead,
-- cancelled or missing cancels the child instead, unless it runs after any outcome. Safe to
-- repeat: a second call finds the field set, or the child no longer waiting.
-- KEYS: child job, waiting, queued, scheduled, cancelled, events, expiring, ranked, ranked:on
-- ARGV: child id, parent id, outcome, signal channel, retention_ms (of a cancelled child)
-- Returns { child's state } (or 'missing'), plus 'release' when its own dependents went to
-- its queue's outbox.
local job = KEYS[1]
local k = { waiting = KEYS[2], queued = KEYS[3], scheduled = KEYS[4], cancelled = KEYS[5],
  events = KEYS[6], expiring = KEYS[7], ranked = KEYS[8], ranked_on = KEYS[9] }
local id, parent, outcome = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', job, 'state', 'after_any', 'scheduled_ms', 'priority')
if not f[1] then
  return { 'missing' } -- purged, or expired after its retention
end
if f[1] ~= 'waiting' or redis.call('HSETNX', job, 'dep:' .. parent, outcome) == 0 then
  return { f[1] }
end
local now = now_ms()
if outcome ~= 'completed' and f[2] ~= '1' then
  redis.call('ZREM', k.expiring, id)
  local reason = 'parent ' .. parent .. ' ' .. outcome
  if cancel_unstarted(k, id, k.waiting, reason, now, tonumber(ARGV[5])) then
    return { 'cancelled', 'release' }
  end
  return { 'cancelled' }
end
if redis.call('HINCRBY', job, 'deps_left', -1) > 0 then
  return { 'waiting' }
end
redis.call('ZREM', k.waiting, id)
local due = tonumber(f[3] or '0')
if due > now then
  redis.call('HSET', job, 'state', 'scheduled')
  redis.call('ZADD', k.scheduled, due, id)
  wake(ARGV[4])
else
  -- Queued from now: the wait for parents is not queueing latency (stats' oldest age).
  -- A numbered child takes its place in `ranked`, like any job of its number.
  redis.call('HSET', job, 'state', 'queued', 'scheduled_ms', now)
  if push_waiting(k.queued, k.ranked, k.ranked_on, id, f[4], false, now) == 1 then
    wake(ARGV[4])
  end
end
emit(k.events, id, 'queued')
return { redis.call('HGET', job, 'state') }
