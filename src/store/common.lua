-- Helpers prepended to every jobq script (see scripts.rs). Lua scripts run atomically, so
-- each job transition below is one step that no other client can interleave with.

-- Milliseconds on the Redis server's clock: leases and due times never depend on a worker's clock.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The queue's hash tag, `{ns:queue}`, taken from the first key the caller declared. Keys a
-- script can only name once it runs (the hash of a job whose id it just popped or read, the
-- unique key a job holds) are built from it, so they hash to the slot of the declared keys:
-- a script never touches a second slot (README "Cluster layout and cost").
local TAG = string.match(KEYS[1] or '', '^{[^}]*}') or ''

local function job_key(id)
  return TAG .. ':job:' .. id
end

local function unique_key(name)
  return TAG .. ':unique:' .. name
end

-- Sharded Pub/Sub (SPUBLISH, Redis >= 7) keeps a message on the queue's own shard; Redis 6.2
-- has no SPUBLISH, and there PUBLISH (a cluster-wide broadcast) does the same job. Subscribers
-- make the same choice (SSUBSCRIBE, else SUBSCRIBE), so both ends always meet.
local function publish(channel, message)
  local r = redis.pcall('SPUBLISH', channel, message)
  if type(r) == 'table' and r.err then
    if not string.find(string.lower(r.err), 'unknown command', 1, true) then
      return redis.error_reply(r.err)
    end
    redis.call('PUBLISH', channel, message)
  end
end

-- Tells the queue's idle workers that there is work (see worker/fetch.rs). Callers send it
-- only when the queue was empty (or when they leave work behind): a backlog is being drained
-- by workers who already heard of it.
local function wake(signal)
  publish(signal, 'wake')
end

-- Numbered priorities within a queue (`--priority 1..10`, 1 first, default 5). Jobs without a
-- number (or with 5) wait in the queue's plain list, as they always did; the others wait in the
-- queue's `ranked` sorted set, scored by number, then by when they came (so FIFO within a
-- number). `ranked:on` is set while the set may hold jobs: fetch.lua reads it with the pause
-- flag (MGET), so a queue that never saw a number pays nothing for them (README "Numbered
-- priorities"). RANK spaces the numbers beyond any millisecond timestamp.
local RANK = 1e13

-- Puts a waiting job where it belongs: the plain list (at the back, or with `front` next out),
-- or its place in `ranked` (with `front` ahead of the jobs of its number). Returns the plain
-- list's new length, or for a ranked job 1 if `ranked` was empty before (else 2): callers wake
-- the workers when it is 1, as they did for a list that was empty.
local function push_waiting(queued, ranked, ranked_on, id, priority, front, now)
  local p = tonumber(priority)
  if not p or p == 5 then
    if front then
      return redis.call('RPUSH', queued, id)
    end
    return redis.call('LPUSH', queued, id)
  end
  local score = p * RANK
  if not front then
    score = score + now
  end
  redis.call('ZADD', ranked, score, id)
  if redis.call('SET', ranked_on, '1', 'GET') then
    return 2
  end
  return 1
end

-- A job leased under a concurrency cap (fetch.lua marks it `limited`) frees a slot as it
-- leaves `active`: the workers the full cap turned away (`waiting` in the queue's limit-state
-- hash) are woken, once: the flag goes with the first freed slot, and a fetch the cap turns
-- away again raises it again. Jobs of queues without a cap cost nothing here.
local function free_slot(limited, limit_state, signal)
  if limited == '1' and redis.call('HDEL', limit_state, 'waiting') == 1 then
    wake(signal)
  end
end

-- Frees a unique key, but only if this job still holds it.
local function release_unique(key, id)
  if key and key ~= '' then
    local k = unique_key(key)
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
-- Both carry the queue's hash tag and the caller passes the stream's name (KEYS), so on a
-- cluster the stream and the sharded channel live on the queue's own shard.
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

-- The JSON of one event about job `id` after its transition: the job's type, queue, state,
-- attempt and progress come from `job` = { type, queue, state, attempt, progress }, so callers
-- only say what happened (`event`) and add any extras (`error`, `result`, `retry_at`).
local function event_json(id, event, extra, job, now)
  local ev = extra or {}
  ev.event, ev.id, ev.type, ev.queue, ev.state = event, id, job.type, job.queue, job.state
  ev.attempt = tonumber(job.attempt) or 0
  if job.progress and job.progress ~= '' then
    ev.progress = cjson.decode(job.progress)
  end
  ev.error = clip(ev.error, EVENT_TEXT_MAX)
  ev.result = clip(ev.result, EVENT_TEXT_MAX)
  ev.time = now
  return cjson.encode(ev)
end

-- Whether anyone gets the live messages of `channel` now (`tail --follow`, `watch`, `wait`,
-- `serve`), asked once per call. Nobody, most of the time: then the messages are not built at
-- all, which was a sixth of Redis's work in a bulk enqueue (issue 11). SPUBLISH reaches exactly
-- the channel's SHARDNUMSUB subscribers, so this is exact; Redis 6.2 has no sharded Pub/Sub
-- (PUBLISH is broadcast across a cluster, and this node's count may miss the others'), so
-- there the answer is always yes. A reader that subscribes after this call reads its events
-- from the stream, as it always did for messages published before it subscribed.
local listeners = {}
local function listened(channel)
  local known = listeners[channel]
  if known == nil then
    local r = redis.pcall('PUBSUB', 'SHARDNUMSUB', channel)
    known = not (type(r) == 'table' and not r.err and tonumber(r[2]) == 0)
    listeners[channel] = known
  end
  return known
end

-- Appends an event's JSON to the queue's stream and returns the message for live readers
-- (nil when nobody listens): the same JSON with its stream id spliced in (it lets them drop
-- what a snapshot already showed), rather than encoding it twice (events are a hot path).
local function record_event(events, json)
  local eid = redis.call('XADD', events, 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'event', json)
  if listened(events) then
    return json:sub(1, -2) .. ',"event_id":"' .. eid .. '"}'
  end
end

-- Scripts that handle many jobs at once collect their live messages and publish them as one,
-- one event per line (events.rs `Subscription::next` splits them).
local function publish_events(events, messages)
  if #messages > 0 then
    publish(events, table.concat(messages, '\n'))
  end
end

-- Records and publishes one event about job `id`, reading the job's fields itself:
--   emit(events, id, 'cancelled')
-- The hot transitions (enqueue, start, complete) already hold those fields and the time; they
-- use `event_json` (or write the JSON out) and `record_event`, and publish one message per
-- call with `publish_events`, saving the HMGET and TIME here.
local function emit(events, id, event, extra)
  local f = redis.call('HMGET', job_key(id), 'type', 'queue', 'state', 'attempt', 'progress')
  local job = { type = f[1], queue = f[2], state = f[3], attempt = f[4], progress = f[5] }
  local message = record_event(events, event_json(id, event, extra, job, now_ms()))
  if message then
    publish(events, message)
  end
end
