-- KEYS: job, active, scheduled, dead, stats, events, limit state
-- ARGV: id, lease, error, backoff_ms, permanent (0/1), day, max_errors, signal channel, summary
-- (the error's one-line summary, for the event: events are clipped, and a traceback's point
-- is at its end), recorded (1: the job's fields as recorded are wanted, for a hook)
-- Returns { 'scheduled', due_ms, release, fields } | { 'dead', 0, release, fields } | { 'lost' }:
-- release is 1 when the job's dependents wait in the outbox (deps.lua); fields is the job's
-- hash as this call left it (HGETALL), when asked for. A hook must see the attempt that failed,
-- and a retry may start before any later read (hooks.rs).
local job, active, scheduled, dead, stats, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, lease, message = ARGV[1], ARGV[2], ARGV[3]

local function recorded()
  if ARGV[10] == '1' then
    return redis.call('HGETALL', job)
  end
  return {}
end

local f = redis.call('HMGET', job, 'state', 'lease', 'attempt', 'max_attempts', 'errors', 'unique_key', 'limited',
  'dependents')
if f[1] ~= 'active' or f[2] ~= lease then
  if f[2] == lease and (f[1] == 'scheduled' or f[1] == 'dead') then
    -- A replay after a lost reply finds its own work done (the lease is the attempt's own
    -- until the next fetch, so the fields are still as that call left them).
    local due = f[1] == 'scheduled' and tonumber(redis.call('HGET', job, 'scheduled_ms')) or 0
    return { f[1], due, 0, recorded() }
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
  local release = release_dependents(id, f[8], 'dead') and 1 or 0
  return { 'dead', 0, release, recorded() }
end

local due = now + tonumber(ARGV[4])
redis.call('HSET', job, 'state', 'scheduled', 'error', message, 'errors', errors, 'scheduled_ms', due)
redis.call('ZADD', scheduled, due, id)
-- An idle worker may be sleeping past `due`; waking them lets them re-read the next due time.
wake(ARGV[8])
emit(events, id, 'retry_scheduled', { error = ARGV[9], retry_at = due })
return { 'scheduled', due, 0, recorded() }
