-- Helpers prepended to every jobq script (see scripts.rs). Lua scripts run atomically, so
-- each job transition below is one step that no other client can interleave with.

-- Milliseconds on the Redis server's clock: leases and due times never depend on a worker's clock.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function job_key(prefix, id)
  return prefix .. ':job:' .. id
end

-- Wakes one idle worker. The list holds at most one token: a woken worker that leaves work
-- behind passes the token on (see fetch.lua), so a burst wakes workers one after another.
local function wake(notify)
  if redis.call('LLEN', notify) == 0 then
    redis.call('RPUSH', notify, '1')
  end
end

-- Frees a unique key, but only if this job still holds it.
local function release_unique(prefix, key, id)
  if key and key ~= '' then
    local k = prefix .. ':unique:' .. key
    if redis.call('GET', k) == id then
      redis.call('DEL', k)
    end
  end
end

-- Appends one attempt's error to the JSON list kept on the job, keeping the newest `cap`.
local function push_error(errors_json, attempt, message, now, cap)
  local errors = {}
  if errors_json and errors_json ~= '' then
    errors = cjson.decode(errors_json)
  end
  table.insert(errors, { attempt = tonumber(attempt), error = message, at = now })
  while #errors > cap do
    table.remove(errors, 1)
  end
  return cjson.encode(errors)
end

-- Lifetime and per-day counters live in one hash per queue (`processed`, `processed:2026-11-22`).
local function count(stats, field, day)
  redis.call('HINCRBY', stats, field, 1)
  redis.call('HINCRBY', stats, field .. ':' .. day, 1)
end
