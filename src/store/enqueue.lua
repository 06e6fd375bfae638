-- KEYS: job, queued, scheduled, notify, unique (the job key again when there is no unique key)
-- ARGV: id, type, queue, payload, max_attempts, timeout_ms, delay_ms, at_ms, unique_key, prefix
local job, queued, scheduled, notify, unique = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, unique_key, prefix = ARGV[1], ARGV[9], ARGV[10]

-- The client picks the id, so a retried enqueue (reply lost on a dropped connection) finds
-- its own job instead of creating a second one.
local existing = redis.call('HGET', job, 'state')
if existing then
  return { existing, id }
end

if unique_key ~= '' then
  local holder = redis.call('GET', unique)
  if holder then
    local state = redis.call('HGET', job_key(prefix, holder), 'state')
    if state and state ~= 'completed' and state ~= 'dead' and state ~= 'cancelled' then
      return { 'duplicate', holder }
    end
  end
end

local now = now_ms()
local run_at = now
if tonumber(ARGV[8]) > 0 then
  run_at = tonumber(ARGV[8])
elseif tonumber(ARGV[7]) > 0 then
  run_at = now + tonumber(ARGV[7])
end
local state = 'queued'
if run_at > now then
  state = 'scheduled'
end

redis.call('HSET', job, 'id', id, 'type', ARGV[2], 'queue', ARGV[3], 'payload', ARGV[4],
  'state', state, 'attempt', 0, 'max_attempts', ARGV[5], 'timeout_ms', ARGV[6],
  'created_ms', now, 'scheduled_ms', run_at, 'unique_key', unique_key)
if unique_key ~= '' then
  redis.call('SET', unique, id)
end
if state == 'scheduled' then
  redis.call('ZADD', scheduled, run_at, id)
else
  redis.call('LPUSH', queued, id)
end
wake(notify)
emit_known(prefix, id, 'enqueued', nil, { type = ARGV[2], queue = ARGV[3], state = state, attempt = 0 }, now)
return { state, id }
