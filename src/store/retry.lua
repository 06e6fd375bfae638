-- An operator retries one job now. Dead and cancelled jobs get a fresh set of attempts; a job
-- waiting for its automatic retry (scheduled, attempt > 0) just runs now, attempt unchanged.
-- KEYS: job, queued, scheduled, dead, cancelled, events, ranked, ranked:on
-- ARGV: id, signal channel
-- Returns { 'queued' } | { 'duplicate' } | { 'conflict', state } | { 'missing' }
local job, queued, events = KEYS[1], KEYS[2], KEYS[6]
local from = { scheduled = KEYS[3], dead = KEYS[4], cancelled = KEYS[5] }
local id = ARGV[1]
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
local out = requeue_job(queued, KEYS[7], KEYS[8], id, job, reset, now_ms())
if out == 'queued' then
  redis.call('ZREM', from[state], id)
  wake(ARGV[2])
  emit(events, id, 'retried')
end
return { out }
