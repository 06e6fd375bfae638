-- KEYS: job, active, scheduled, dead, stats, notify
-- ARGV: id, lease, error, backoff_ms, permanent (0/1), prefix, day, max_errors
-- Returns { 'scheduled', due_ms } | { 'dead' } | { 'lost' }
local job, active, scheduled, dead, stats, notify = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, lease, message = ARGV[1], ARGV[2], ARGV[3]

local f = redis.call('HMGET', job, 'state', 'lease', 'attempt', 'max_attempts', 'errors', 'unique_key')
if f[1] ~= 'active' or f[2] ~= lease then
  if f[2] == lease and (f[1] == 'scheduled' or f[1] == 'dead') then
    return { f[1] }
  end
  return { 'lost' }
end

local now = now_ms()
local errors = push_error(f[5], f[3], message, now, tonumber(ARGV[8]))
redis.call('ZREM', active, id)
count(stats, 'failed', ARGV[7])

if ARGV[5] == '1' or tonumber(f[3]) >= tonumber(f[4]) then
  redis.call('HSET', job, 'state', 'dead', 'error', message, 'errors', errors, 'finished_ms', now)
  redis.call('ZADD', dead, now, id)
  release_unique(ARGV[6], f[6], id)
  count(stats, 'dead', ARGV[7])
  emit(ARGV[6], id, 'dead', { error = message })
  return { 'dead' }
end

local due = now + tonumber(ARGV[4])
redis.call('HSET', job, 'state', 'scheduled', 'error', message, 'errors', errors, 'scheduled_ms', due)
redis.call('ZADD', scheduled, due, id)
-- An idle worker may be sleeping past `due`; waking one lets it re-read the next due time.
wake(notify)
emit(ARGV[6], id, 'retry_scheduled', { error = message, retry_at = due })
return { 'scheduled', due }
