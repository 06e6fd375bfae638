-- KEYS: queued, scheduled, active, paused, fetched (this worker's last fetch), recovery,
--       dead, cancelled, stats, events, limit, limit state, ranked, ranked:on, expiring, waiting,
--       completed
-- ARGV: max_jobs, worker_id, lease_ms, fetch_id, retry (1 when the call is repeated),
--       signal channel, recovery_every_ms, max_recoveries, day, max_errors,
--       retention_ms of jobs cancelled by their expiry, then optionally completions riding
--       along: retention_ms of completed jobs, then id, lease, result per job (completing.lua)
-- Returns { wait_ms, job... } (or { { wait_ms }, job... } when the queue's limit holds back
-- work it still has) where job = { id, type, payload, attempt, max_attempts, timeout_ms, lease }
-- and wait_ms is how long until the queue is worth fetching again when this fetch leaves it
-- with fewer jobs than asked: the next scheduled job is due, or the queue's limit lets it go
-- on (-1: never by itself, -2: queue paused). With completions: { words, that reply }, a word
-- per completion as complete.lua gives it.
local queued, scheduled, active, paused, fetched = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local k = { active = active, queued = queued, dead = KEYS[7], cancelled = KEYS[8], stats = KEYS[9], events = KEYS[10],
  ranked = KEYS[13], ranked_on = KEYS[14], scheduled = scheduled, expiring = KEYS[15], waiting = KEYS[16] }
local expired_retention = tonumber(ARGV[11])
local want, worker, lease_ms, fetch_id = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]
local signal = ARGV[6]
local now = now_ms()
-- Live event messages of this call, published as one at the end.
local messages = {}

-- A worker's slot that finished a job asks for its next one in the same call (workers.rs
-- `complete_and_fetch`): one call per job instead of two. The completions go first, so a slot
-- of the queue's limit they free is free for this fetch, and a replayed call finds them done.
local words
if #ARGV > 12 then
  words = complete_jobs({ active = active, completed = KEYS[17], stats = KEYS[9], events = KEYS[10],
    limit_state = KEYS[12], signal = signal }, ARGV[12], ARGV[9], now, ARGV, 13, messages)
end
local function reply(out)
  publish_events(k.events, messages)
  if words then
    return { words, out }
  end
  return out
end

-- A repeated call (its first reply was lost with the connection) gets the jobs the first call
-- leased instead of leasing more: otherwise those would sit active until their lease ran out.
-- The memo holds the fetch id and the leased ids only (payloads are read again, and only on
-- this rare path); a job that has moved on since (its lease taken back) is left out.
if ARGV[5] == '1' then
  local memo = redis.call('GET', fetched)
  if memo then
    local ids = {}
    for word in string.gmatch(memo, '%S+') do
      ids[#ids + 1] = word
    end
    if ids[1] == fetch_id then
      local out = { 0 }
      for i = 2, #ids do
        local id = ids[i]
        local f = redis.call('HMGET', job_key(id), 'state', 'lease', 'type', 'payload', 'attempt', 'max_attempts',
          'timeout_ms')
        if f[1] == 'active' and f[2] == worker .. '/' .. f[5] then
          out[#out + 1] = { id, f[3], f[4], tonumber(f[5]), f[6], f[7] or '0', f[2] }
        end
      end
      return reply(out)
    end
  end
end

-- Lease recovery rides on fetches: the first fetch after the queue's pass is due runs it and
-- sets the next due time. Read together with the pause flag, the queue's limit and the flag of
-- its numbered jobs (one command, as the pause check alone was), so it costs nothing until
-- due, and one pass per period per queue whatever the number of workers (issue 10: recovery
-- cost independent of the fleet). A queue without limits or numbered jobs pays nothing more.
local flags = redis.call('MGET', paused, KEYS[6], KEYS[11], KEYS[14])
if not flags[2] or tonumber(flags[2]) <= now then
  redis.call('SET', KEYS[6], now + tonumber(ARGV[7]))
  if recover_expired(k, now, tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10]), expired_retention) > 0 then
    -- Recovered numbered jobs went back to `ranked`: read its flag again.
    flags[4] = redis.call('GET', k.ranked_on)
  end
  sweep_expired(k, now, expired_retention)
  announce_outbox(signal)
end
if flags[1] then
  return reply({ -2 })
end

-- Due delayed and retry-waiting jobs are promoted here, by the workers themselves: the script
-- is atomic, so each is promoted exactly once however many workers race. Most fetches find
-- nothing due, so the head alone is read first (it also gives the next due time below).
local head = redis.call('ZRANGE', scheduled, 0, 0, 'WITHSCORES')
if head[2] and tonumber(head[2]) <= now then
  local due = redis.call('ZRANGEBYSCORE', scheduled, '-inf', now, 'LIMIT', 0, 1000)
  redis.call('ZREM', scheduled, unpack(due))
  for _, id in ipairs(due) do
    local key = job_key(id)
    -- One read for its priority and its event (what emit would read).
    local f = redis.call('HMGET', key, 'priority', 'type', 'queue', 'attempt', 'progress')
    redis.call('HSET', key, 'state', 'queued')
    push_waiting(queued, k.ranked, k.ranked_on, id, f[1], false, now)
    if tonumber(f[1]) and tonumber(f[1]) ~= 5 then
      flags[4] = '1' -- it went to `ranked`: this fetch must look there
    end
    messages[#messages + 1] = record_event(k.events, event_json(id, 'queued', nil,
      { type = f[2], queue = f[3], state = 'queued', attempt = f[4], progress = f[5] }, now))
  end
  head = nil
end

-- Flow control (`jobq limit`): the cap and the bucket bound how many jobs this fetch may
-- take, checked and spent in this same atomic step, so no number of racing workers can
-- overshoot them.
local lim = flags[3] and cjson.decode(flags[3])
local allow, running, tokens = want, 0, nil
if lim then
  if lim.concurrency then
    running = limit_running(active, now)
    allow = math.min(allow, lim.concurrency - running)
  end
  if lim.rate then
    tokens = limit_tokens(lim, KEYS[12], now)
    allow = math.min(allow, math.floor(tokens))
  end
  allow = math.max(allow, 0)
end
local capped = lim and lim.concurrency

-- The next up to `n` waiting ids, by priority: numbers 1-4 (ranked below 5), then the plain
-- list (5 and no number), then numbers 6-10. Without `ranked:on` this is the plain RPOP.
local ranked_on = flags[4]
local function take(n)
  if ranked_on then
    local urgent = redis.call('ZRANGEBYSCORE', k.ranked, '-inf', '(' .. (5 * RANK), 'LIMIT', 0, n)
    if #urgent > 0 then
      redis.call('ZREM', k.ranked, unpack(urgent))
      return urgent
    end
  end
  local ids = redis.call('RPOP', queued, n)
  if ids or not ranked_on then
    return ids
  end
  local rest = redis.call('ZRANGE', k.ranked, 0, n - 1)
  if #rest > 0 then
    redis.call('ZREM', k.ranked, unpack(rest))
    return rest
  end
  -- Drained: later fetches skip the set until a numbered job comes again.
  redis.call('DEL', k.ranked_on)
  ranked_on = nil
  return nil
end

-- Whether jobs are still waiting after this fetch (cancelled leftovers may count).
local function work_left()
  return redis.call('LLEN', queued) > 0 or (ranked_on and redis.call('ZCARD', k.ranked) > 0)
end

local out = { 0 }
local leased = {}
local deadline = now + lease_ms
-- Numbers as text, made once per call or per attempt number (see enqueue.lua: Lua formats a
-- number with printf each time it becomes text).
local now_s, deadline_s = tostring(now), tostring(deadline)
local attempt_s = {}
local got = 0
local released = false
while got < allow do
  local ids = take(allow - got)
  if not ids then
    break
  end
  for _, id in ipairs(ids) do
    local key = job_key(id)
    local f = redis.call('HMGET', key, 'state', 'attempt', 'type', 'payload', 'max_attempts', 'timeout_ms', 'queue',
      'expires_ms')
    -- A job with an expiry (`enqueue --expires`) is never started after it (deps.lua); it
    -- leaves the expiring set when it starts or ends.
    local expired = false
    if f[8] and f[1] == 'queued' and (f[2] or '0') == '0' then
      redis.call('ZREM', k.expiring, id)
      if tonumber(f[8]) <= now then
        expired = true
        released = cancel_unstarted(k, id, nil, 'expired', now, expired_retention) or released
      end
    end
    -- Cancel leaves the id in the list (removing it would be LREM, O(backlog)); skip it here.
    if expired then
      -- Popped, not handed out: nothing left in the list to count.
    elseif f[1] == 'queued' then
      local attempt = tonumber(f[2] or '0') + 1
      local a = attempt_s[attempt]
      if not a then
        a = tostring(attempt)
        attempt_s[attempt] = a
      end
      -- The lease token fences completion: only the holder of the current token may finish the job.
      local lease = worker .. '/' .. a
      -- Progress belongs to an attempt: a retry starts from nothing.
      redis.call('HSET', key, 'state', 'active', 'attempt', a, 'started_ms', now_s, 'worker', worker,
        'lease', lease, 'progress', '')
      if capped then
        -- Its end frees a cap slot: complete/fail/cancel wake the workers the cap held back.
        redis.call('HSET', key, 'limited', '1')
      end
      redis.call('ZADD', active, deadline_s, id)
      -- Written out directly: names and ids are plain ASCII (job.rs validate_name).
      messages[#messages + 1] = record_event(k.events, '{"event":"started","id":"' .. id .. '","type":"' .. f[3] ..
        '","queue":"' .. f[7] .. '","state":"active","attempt":' .. a .. ',"time":' .. now_s .. '}')
      got = got + 1
      -- A job without a timeout has no `timeout_ms` (enqueue.lua).
      out[got + 1] = { id, f[3], f[4], attempt, f[5], f[6] or '0', lease }
      leased[got] = id
    else
      -- One leftover id fewer (see `stale` in ops.lua; stats subtracts it from the list length).
      if tonumber(redis.call('HGET', k.stats, 'stale') or '0') > 0 then
        redis.call('HINCRBY', k.stats, 'stale', -1)
      end
    end
  end
end

if released then
  publish(signal, 'release')
end

if tokens and got > 0 then
  tokens = tokens - got
  redis.call('HSET', KEYS[12], 'tokens', tokens, 'at', now)
end
-- The limit, not the backlog, stopped this fetch: when may the queue go on?
local throttle
if lim and got == allow and allow < want and work_left() then
  throttle = limit_wait(lim, KEYS[12], active, now, running + got, tokens)
end

if got > 0 then
  redis.call('SET', fetched, fetch_id .. ' ' .. table.concat(leased, ' '), 'PX', lease_ms)
end

if got == want then
  -- This worker is full: if work is left (and the limit lets more start), tell the other
  -- idle workers.
  local more = not lim or ((not tokens or tokens >= 1) and (not capped or running + got < lim.concurrency))
  if more and work_left() then
    wake(signal)
  end
else
  if not head then
    head = redis.call('ZRANGE', scheduled, 0, 0, 'WITHSCORES')
  end
  if head[2] then
    out[1] = math.max(tonumber(head[2]) - now, 0)
  else
    out[1] = -1
  end
  if throttle then
    if out[1] < 0 or throttle < out[1] then
      out[1] = throttle
    end
    -- Wrapped: the wait is the limit's, so the queue is not empty (a burst worker waits).
    out[1] = { out[1] }
  end
end
return reply(out)
