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
-- Numbers as text once per call (see enqueue.lua: Lua formats a number with printf each time).
local now_s = tostring(now)
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
    redis.call('HSET', job, 'state', 'completed', 'result', result, 'finished_ms', now_s)
    redis.call('PEXPIRE', job, ARGV[1])
    free_slot(f[8], limit_state, signal)
    release_unique(f[3], id)
    done[#done + 1] = id
    scored[#scored + 1] = now_s
    scored[#scored + 1] = id
    -- The event written out directly (what event_json would encode): names and ids are plain
    -- ASCII (job.rs validate_name), progress is JSON as progress.lua stored it, and only the
    -- result needs encoding.
    local json = '{"event":"completed","id":"' .. id .. '","type":"' .. (f[4] or '') .. '","queue":"' ..
      (f[5] or '') .. '","state":"completed","attempt":' .. (f[6] or '0') .. ',"time":' .. now_s
    if f[7] and f[7] ~= '' then
      json = json .. ',"progress":' .. f[7]
    end
    json = json .. ',"result":' .. cjson.encode(clip(result, EVENT_TEXT_MAX)) .. '}'
    messages[#messages + 1] = record_event(events, json)
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
