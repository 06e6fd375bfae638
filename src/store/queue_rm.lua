-- Removes the keys of a queue that has no jobs left (`jobq queue rm`). The CLI deletes the
-- jobs first, in batches; this checks again atomically, so a job enqueued meanwhile is
-- never orphaned.
-- KEYS: queued, scheduled, active, dead, completed, cancelled, stats, ranked, waiting, outbox,
--       then every other key of the queue to delete (paused, events, recovery marker,
--       expiring, limit and its state, per-day stats, ...)
-- Returns { 'removed' } | { 'busy', state, count }
local queued = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[8]) - tonumber(redis.call('HGET', KEYS[7], 'stale') or '0')
if queued > 0 then
  return { 'busy', 'queued', queued }
end
local sets = { 'scheduled', 'active', 'dead', 'completed', 'cancelled' }
for i, state in ipairs(sets) do
  local n = redis.call('ZCARD', KEYS[i + 1])
  if n > 0 then
    return { 'busy', state, n }
  end
end
-- Jobs waiting for parents, and releases not yet applied to children elsewhere, are work.
if redis.call('ZCARD', KEYS[9]) > 0 then
  return { 'busy', 'waiting', redis.call('ZCARD', KEYS[9]) }
end
if redis.call('HLEN', KEYS[10]) > 0 then
  return { 'busy', 'unreleased dependent', redis.call('HLEN', KEYS[10]) }
end
-- What is left in the queued list are ids of cancelled jobs (fetch would skip them).
for i = 1, #KEYS do
  redis.call('DEL', KEYS[i])
end
return { 'removed' }
