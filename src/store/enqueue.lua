-- KEYS: job, queued, scheduled, unique (the job key again when there is no unique key), events,
--       expiring, waiting, and for a numbered priority other than 5 only: ranked, ranked:on
-- ARGV: id, type, queue, payload, max_attempts, timeout_ms, delay_ms, at_ms, unique_key, signal
--       channel, priority ('' = none), expires_at_ms ('0': none), after (parent ids,
--       comma-separated; '': none), after_any ('1'/'0'), expires_in_ms ('0': none; measured
--       from now on the Redis clock, like delay_ms)
local job, queued, scheduled, unique, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, unique_name, signal = ARGV[1], ARGV[9], ARGV[10]

-- The client picks the id, so a retried enqueue (reply lost on a dropped connection) finds
-- its own job instead of creating a second one.
local existing = redis.call('HGET', job, 'state')
if existing then
  return { existing, id }
end

if unique_name ~= '' then
  local holder = redis.call('GET', unique)
  if holder then
    local state = redis.call('HGET', job_key(holder), 'state')
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
local after = ARGV[13]
if after ~= '' then
  -- Waits for its parents (deps.lua); release_child.lua queues it, or schedules it for
  -- `run_at` if that is still ahead then.
  state = 'waiting'
end

redis.call('HSET', job, 'id', id, 'type', ARGV[2], 'queue', ARGV[3], 'payload', ARGV[4],
  'state', state, 'attempt', 0, 'max_attempts', ARGV[5], 'timeout_ms', ARGV[6],
  'created_ms', now, 'scheduled_ms', run_at, 'unique_key', unique_name)
if unique_name ~= '' then
  redis.call('SET', unique, id)
end
local priority = ARGV[11]
if priority and priority ~= '' then
  redis.call('HSET', job, 'priority', priority)
end
if ARGV[12] ~= '0' or ARGV[15] ~= '0' then
  -- Never started after this (fetch.lua checks; the recovery pass sweeps the rest).
  local expires = tonumber(ARGV[12])
  if ARGV[15] ~= '0' then
    expires = now + tonumber(ARGV[15])
  end
  redis.call('HSET', job, 'expires_ms', expires)
  redis.call('ZADD', KEYS[6], expires, id)
end
if state == 'waiting' then
  -- Its priority waits in the hash: release_child.lua puts it where its number says.
  local parents = 1
  for _ in string.gmatch(after, ',') do
    parents = parents + 1
  end
  redis.call('HSET', job, 'after', after, 'after_any', ARGV[14], 'deps_left', parents)
  redis.call('ZADD', KEYS[7], now, id)
elseif state == 'scheduled' then
  -- Idle workers re-read the next due time only if this job is due before the one they know.
  redis.call('ZADD', scheduled, run_at, id)
  if redis.call('ZRANGE', scheduled, 0, 0)[1] == id then
    wake(signal)
  end
elseif push_waiting(queued, KEYS[8], KEYS[9], id, priority, false, now) == 1 then
  -- Only a queue that was empty needs a wake-up: a backlog is being drained by workers who
  -- heard of it already (fetch.lua passes the wake-up on while it leaves work behind).
  wake(signal)
end
emit_known(events, id, 'enqueued', nil, { type = ARGV[2], queue = ARGV[3], state = state, attempt = 0 }, now)
return { state, id }
