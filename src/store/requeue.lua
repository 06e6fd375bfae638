-- Puts a running job back at the head of its queue without charging the attempt
-- (graceful worker shutdown: the job did nothing wrong).
-- KEYS: job, active, queued, notify
-- ARGV: id, lease, prefix
local job, active, queued, notify = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, lease = ARGV[1], ARGV[2]
local f = redis.call('HMGET', job, 'state', 'lease')
if f[1] ~= 'active' or f[2] ~= lease then
  return 'lost'
end
redis.call('HSET', job, 'state', 'queued', 'lease', '')
redis.call('HINCRBY', job, 'attempt', -1)
redis.call('ZREM', active, id)
-- RPOP takes from the right: RPUSH makes this job the next one out.
redis.call('RPUSH', queued, id)
wake(notify)
emit(ARGV[3], id, 'requeued')
return 'ok'
