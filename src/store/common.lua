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

-- Lifecycle events (README "Progress and events"). Each queue has one capped stream for replay
-- (`jobq tail`) and one Pub/Sub channel of the same name for live readers (`jobq watch`, `wait`).
-- Both names carry the queue's hash tag, so on a cluster they live on (or could be sharded to,
-- with SPUBLISH) the queue's own slot.
local EVENTS_MAXLEN = 10000
local EVENT_TEXT_MAX = 200

-- Cuts `s` to at most `max` bytes without splitting a UTF-8 character.
local function clip(s, max)
  if not s or #s <= max then
    return s
  end
  local n = max
  while n > 0 do
    local b = s:byte(n + 1)
    if not b or b < 0x80 or b >= 0xC0 then
      break
    end
    n = n - 1
  end
  return s:sub(1, n) .. '...'
end

-- Records one event about job `id` after its transition: the job's type, queue, state, attempt
-- and progress are read from its hash, so callers only say what happened (`event`) and add
-- any extras (`error`, `result`, `retry_at`). Other transitions (cancel) call it the same way:
--   emit(prefix, id, 'cancelled')
--
-- The hot transitions (enqueue, start, complete) already hold those fields and the time; they
-- call `emit_known` with `job` = { type, queue, state, attempt, progress } to save the HMGET
-- and TIME (two commands per event, six per job).
local function emit_known(prefix, id, event, extra, job, now)
  local ev = extra or {}
  ev.event, ev.id, ev.type, ev.queue, ev.state = event, id, job.type, job.queue, job.state
  ev.attempt = tonumber(job.attempt) or 0
  if job.progress and job.progress ~= '' then
    ev.progress = cjson.decode(job.progress)
  end
  ev.error = clip(ev.error, EVENT_TEXT_MAX)
  ev.result = clip(ev.result, EVENT_TEXT_MAX)
  ev.time = now
  local stream = prefix .. ':events'
  local json = cjson.encode(ev)
  local eid = redis.call('XADD', stream, 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'event', json)
  -- Live readers get the stream id too: it lets them drop what a snapshot already showed.
  -- Spliced into the encoded object rather than encoding it twice (events are a hot path).
  redis.call('PUBLISH', stream, json:sub(1, -2) .. ',"event_id":"' .. eid .. '"}')
end

local function emit(prefix, id, event, extra)
  local f = redis.call('HMGET', job_key(prefix, id), 'type', 'queue', 'state', 'attempt', 'progress')
  local job = { type = f[1], queue = f[2], state = f[3], attempt = f[4], progress = f[5] }
  emit_known(prefix, id, event, extra, job, now_ms())
end
