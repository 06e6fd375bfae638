-- KEYS: job, active, completed, stats, events, limit state
-- ARGV: id, lease, result, retention_ms, day, signal channel
-- Returns 'ok' ('release': and its dependents wait in the outbox, deps.lua) | 'lost'
local job, active, completed, stats, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, lease, retention = ARGV[1], ARGV[2], tonumber(ARGV[4])

local f = redis.call('HMGET', job, 'state', 'lease', 'unique_key', 'type', 'queue', 'attempt', 'progress',
  'limited', 'dependents')
if f[1] ~= 'active' or f[2] ~= lease then
  -- A replay after a lost reply finds its own work done.
  if f[2] == lease and f[1] == 'completed' then
    return 'ok'
  end
  return 'lost'
end

local now = now_ms()
redis.call('HSET', job, 'state', 'completed', 'result', ARGV[3], 'finished_ms', now)
redis.call('ZREM', active, id)
free_slot(f[8], KEYS[6], ARGV[6])
release_unique(f[3], id)
redis.call('ZADD', completed, now, id)
redis.call('ZREMRANGEBYSCORE', completed, '-inf', now - retention)
redis.call('PEXPIRE', job, retention)
count(stats, 'processed', ARGV[5])
local done = { type = f[4], queue = f[5], state = 'completed', attempt = f[6], progress = f[7] }
emit_known(events, id, 'completed', { result = ARGV[3] }, done, now)
if release_dependents(id, f[9], 'completed') then
  return 'release'
end
return 'ok'
