-- Marks jobs of one queue completed, each only if its lease still holds it. The worker sends
-- the completions that came in while its previous call was on its way as one call (group
-- commit, workers.rs): the time, the counters, the set updates and the live event message
-- are paid once per call, not once per job.
-- KEYS: active, completed, stats, events, limit state
-- ARGV: retention_ms, day, signal channel, then id, lease, result per job
-- Returns per job 'ok' ('release': and its dependents wait in the outbox, deps.lua) | 'lost'
local active, completed, stats, events, limit_state = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local retention, day, signal = tonumber(ARGV[1]), ARGV[2], ARGV[3]

local now = now_ms()
local reply = {}
local done = {}        -- ids completed by this call
local scored = {}      -- now, id, now, id... for the completed set
local messages = {}

for base = 4, #ARGV, 3 do
  local id, lease, result = ARGV[base], ARGV[base + 1], ARGV[base + 2]
  local job = job_key(id)
  local f = redis.call('HMGET', job, 'state', 'lease', 'unique_key', 'type', 'queue', 'attempt', 'progress',
    'limited', 'dependents')
  if f[1] ~= 'active' or f[2] ~= lease then
    -- A replay after a lost reply finds its own work done.
    if f[2] == lease and f[1] == 'completed' then
      reply[#reply + 1] = 'ok'
    else
      reply[#reply + 1] = 'lost'
    end
  else
    redis.call('HSET', job, 'state', 'completed', 'result', result, 'finished_ms', now)
    redis.call('PEXPIRE', job, retention)
    free_slot(f[8], limit_state, signal)
    release_unique(f[3], id)
    done[#done + 1] = id
    scored[#scored + 1] = now
    scored[#scored + 1] = id
    local ended = { type = f[4], queue = f[5], state = 'completed', attempt = f[6], progress = f[7] }
    messages[#messages + 1] = record_event(events, event_json(id, 'completed', { result = result }, ended, now))
    if release_dependents(id, f[9], 'completed') then
      reply[#reply + 1] = 'release'
    else
      reply[#reply + 1] = 'ok'
    end
  end
end

if #done > 0 then
  redis.call('ZREM', active, unpack(done))
  redis.call('ZADD', completed, unpack(scored))
  redis.call('ZREMRANGEBYSCORE', completed, '-inf', now - retention)
  redis.call('HINCRBY', stats, 'processed', #done)
  redis.call('HINCRBY', stats, 'processed:' .. day, #done)
end
publish_events(events, messages)
return reply
