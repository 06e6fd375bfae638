-- A worker's heartbeat: one script on the namespace's keys (`{ns}`), so the record, the
-- registry entry and the epoch check are one atomic step and one round trip.
-- KEYS: record, workers, epoch, queues
-- ARGV: record JSON, ttl_ms, worker id, fresh epoch id, register (1: add the queues), queues...
-- Returns the dataset's epoch id.
local record, workers, epoch, queues = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = now_ms()
local expires = now + tonumber(ARGV[2])
-- The record first, the registry entry after it: nothing ever lists a worker without a record.
redis.call('SET', record, ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', workers, expires, ARGV[3])
-- Entries are scored by their record's expiry: dead workers' entries leave by themselves.
redis.call('ZREMRANGEBYSCORE', workers, '-inf', now)
local current = redis.call('GET', epoch)
local register = ARGV[5] == '1'
if not current then
  -- A new (or emptied) dataset: its queues set is gone too, so register again.
  current = ARGV[4]
  redis.call('SET', epoch, current)
  register = true
end
if register and #ARGV > 5 then
  redis.call('SADD', queues, unpack(ARGV, 6))
end
return current
