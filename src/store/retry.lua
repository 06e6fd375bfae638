-- An operator retries one job now. Dead and cancelled jobs get a fresh set of attempts; a job
-- waiting for its automatic retry (scheduled, attempt > 0) just runs now, attempt unchanged.
-- KEYS: job, queued, notify
-- ARGV: id, prefix
-- Returns { 'queued' } | { 'duplicate' } | { 'conflict', state } | { 'missing' }
local job, queued, notify = KEYS[1], KEYS[2], KEYS[3]
local id, prefix = ARGV[1], ARGV[2]
local f = redis.call('HMGET', job, 'state', 'attempt')
local state = f[1]
if not state then
  return { 'missing' }
end
local waiting = state == 'scheduled' and tonumber(f[2] or '0') > 0
if state ~= 'dead' and state ~= 'cancelled' and not waiting then
  return { 'conflict', state }
end
local reset = '1'
if waiting then
  reset = '0'
end
local out = requeue_job(prefix, queued, id, job, reset, now_ms())
if out == 'queued' then
  redis.call('ZREM', state_set(prefix, state), id)
  wake(notify)
  emit(prefix, id, 'retried')
end
return { out }
