-- Marks jobs of one queue completed, each only if its lease still holds it: complete.lua's
-- whole work, and fetch.lua's when a worker's finished jobs ride along with its next fetch
-- (workers.rs `complete_and_fetch`). The time, the counters and the set updates are paid once
-- per call, not once per job.
--   k: { active, completed, stats, events, limit_state, signal }; retention: ms, as text;
--   argv[from..]: id, lease,
--   result per job. Returns the word per job ('ok'; 'release': its dependents wait in the
--   outbox, deps.lua; 'lost'), and appends the jobs' live event messages to `messages`.
local function complete_jobs(k, retention, day, now, argv, from, messages)
  -- Numbers as text once per call (see enqueue.lua: Lua formats a number with printf each time).
  local now_s = tostring(now)
  local reply = {}
  local done = {}        -- ids completed by this call
  local scored = {}      -- now, id, now, id... for the completed set
  for base = from, #argv, 3 do
    local id, lease, result = argv[base], argv[base + 1], argv[base + 2]
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
      redis.call('PEXPIRE', job, retention)
      free_slot(f[8], k.limit_state, k.signal)
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
      messages[#messages + 1] = record_event(k.events, json)
      if release_dependents(id, f[9], 'completed') then
        reply[#reply + 1] = 'release'
      else
        reply[#reply + 1] = 'ok'
      end
    end
  end
  if #done > 0 then
    redis.call('ZREM', k.active, unpack(done))
    redis.call('ZADD', k.completed, unpack(scored))
    redis.call('ZREMRANGEBYSCORE', k.completed, '-inf', now - tonumber(retention))
    redis.call('HINCRBY', k.stats, 'processed', #done)
    redis.call('HINCRBY', k.stats, 'processed:' .. day, #done)
  end
  return reply
end
