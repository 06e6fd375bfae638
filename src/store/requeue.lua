-- Puts a running job back at the head of its queue without charging the attempt
-- (graceful worker shutdown: the job did nothing wrong).
-- KEYS: job, active, queued, events, ranked, ranked:on
-- ARGV: id, lease, signal channel
local job, active, queued, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, lease = ARGV[1], ARGV[2]
local f = redis.call('HMGET', job, 'state', 'lease', 'priority')
if f[1] ~= 'active' or f[2] ~= lease then
  return 'lost'
end
redis.call('HSET', job, 'state', 'queued', 'lease', '')
redis.call('HINCRBY', job, 'attempt', -1)
redis.call('ZREM', active, id)
-- Next one out (of its number, for a numbered job).
push_waiting(queued, KEYS[5], KEYS[6], id, f[3], true, now_ms())
wake(ARGV[3])
emit(events, id, 'requeued')
return 'ok'
