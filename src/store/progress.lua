-- Stores a running job's progress, fenced by its lease: a handler that lost its job (timed out
-- and recovered, or replaced by a retry) cannot overwrite the progress of the new attempt.
-- KEYS: job, events
-- ARGV: id, lease, progress (JSON of job::Progress)
-- Returns 'ok' or 'lost'.
local job, id, lease = KEYS[1], ARGV[1], ARGV[2]
local f = redis.call('HMGET', job, 'state', 'lease')
if f[1] ~= 'active' or f[2] ~= lease then
  return 'lost'
end
redis.call('HSET', job, 'progress', ARGV[3])
emit(KEYS[2], id, 'progress')
return 'ok'
