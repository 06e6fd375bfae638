-- KEYS: job, active, scheduled, dead, stats, events, limit state
-- ARGV: id, lease, error, backoff_ms, permanent (0/1), day, max_errors, signal channel, summary
-- (the error's one-line summary, for the event: events are clipped, and a traceback's point
-- is at its end)
-- Returns { 'scheduled', due_ms } | { 'dead' } | { 'dead', 0, 'release' } (its dependents wait in
-- the outbox, deps.lua) | { 'lost' }
local job, active, scheduled, dead, stats, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, lease, message = ARGV[1], ARGV[2], ARGV[3]

local f = redis.call('HMGET', job, 'state', 'lease', 'attempt', 'max_attempts', 'errors', 'unique_key', 'limited',
  'dependents')
if f[1] ~= 'active' or f[2] ~= lease then
  if f[2] == lease and (f[1] == 'scheduled' or f[1] == 'dead') then
    return { f[1] }
  end
  return { 'lost' }
end

local now = now_ms()
local errors = push_error(f[5], f[3], message, now, tonumber(ARGV[7]))
redis.call('ZREM', active, id)
free_slot(f[7], KEYS[7], ARGV[8])
count(stats, 'failed', ARGV[6])

if ARGV[5] == '1' or tonumber(f[3]) >= tonumber(f[4]) then
  redis.call('HSET', job, 'state', 'dead', 'error', message, 'errors', errors, 'finished_ms', now)
  redis.call('ZADD', dead, now, id)
  release_unique(f[6], id)
  count(stats, 'dead', ARGV[6])
  emit(events, id, 'dead', { error = ARGV[9] })
  if release_dependents(id, f[8], 'dead') then
    return { 'dead', 0, 'release' }
  end
  return { 'dead' }
end

local due = now + tonumber(ARGV[4])
redis.call('HSET', job, 'state', 'scheduled', 'error', message, 'errors', errors, 'scheduled_ms', due)
redis.call('ZADD', scheduled, due, id)
-- An idle worker may be sleeping past `due`; waking them lets them re-read the next due time.
wake(ARGV[8])
emit(events, id, 'retry_scheduled', { error = ARGV[9], retry_at = due })
return { 'scheduled', due }
