-- KEYS: queued, scheduled, active, notify, paused, fetched (this worker's last fetch)
-- ARGV: prefix, max_jobs, worker_id, lease_ms, fetch_id, retry (1 when the call is repeated)
-- Returns { wait_ms, job... } where job = { id, type, payload, attempt, max_attempts, timeout_ms, lease }
-- and wait_ms is how long until the next scheduled job is due (-1: none, -2: queue paused).
local queued, scheduled, active, notify, paused = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, want, worker, lease_ms = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local fetched, fetch_id = KEYS[6], ARGV[5]

-- A repeated call (its first reply was lost with the connection) gets the jobs the first call
-- leased instead of leasing more: otherwise those would sit active until their lease ran out.
if ARGV[6] == '1' then
  local memo = redis.call('GET', fetched)
  if memo then
    local m = cjson.decode(memo)
    if m.id == fetch_id then
      return m.out
    end
  end
end

if redis.call('EXISTS', paused) == 1 then
  return { -2 }
end

local now = now_ms()

-- Due delayed and retry-waiting jobs are promoted here, by the workers themselves: the script
-- is atomic, so each is promoted exactly once however many workers race. Most fetches find
-- nothing due, so the head alone is read first (it also gives the next due time below).
local head = redis.call('ZRANGE', scheduled, 0, 0, 'WITHSCORES')
if head[2] and tonumber(head[2]) <= now then
  local due = redis.call('ZRANGEBYSCORE', scheduled, '-inf', now, 'LIMIT', 0, 1000)
  redis.call('ZREM', scheduled, unpack(due))
  for _, id in ipairs(due) do
    redis.call('HSET', job_key(prefix, id), 'state', 'queued')
    redis.call('LPUSH', queued, id)
    emit(prefix, id, 'queued')
  end
  head = nil
end

local out = { 0 }
local deadline = now + lease_ms
local got = 0
while got < want do
  local ids = redis.call('RPOP', queued, want - got)
  if not ids then
    break
  end
  for _, id in ipairs(ids) do
    local key = job_key(prefix, id)
    local f = redis.call('HMGET', key, 'state', 'attempt', 'type', 'payload', 'max_attempts', 'timeout_ms', 'queue')
    -- Cancel leaves the id in the list (removing it would be LREM, O(backlog)); skip it here.
    if f[1] == 'queued' then
      local attempt = tonumber(f[2] or '0') + 1
      -- The lease token fences completion: only the holder of the current token may finish the job.
      local lease = worker .. '/' .. attempt
      -- Progress belongs to an attempt: a retry starts from nothing.
      redis.call('HSET', key, 'state', 'active', 'attempt', attempt, 'started_ms', now, 'worker', worker,
        'lease', lease, 'progress', '')
      redis.call('ZADD', active, deadline, id)
      emit_known(prefix, id, 'started', nil, { type = f[3], queue = f[7], state = 'active', attempt = attempt }, now)
      got = got + 1
      out[got + 1] = { id, f[3], f[4], attempt, f[5], f[6], lease }
    else
      -- One leftover id fewer (see `stale` in ops.lua; stats subtracts it from the list length).
      local stats = prefix .. ':stats'
      if tonumber(redis.call('HGET', stats, 'stale') or '0') > 0 then
        redis.call('HINCRBY', stats, 'stale', -1)
      end
    end
  end
end

if got > 0 then
  redis.call('SET', fetched, cjson.encode({ id = fetch_id, out = out }), 'PX', lease_ms)
end

if got == want then
  -- This worker is full: if work is left, pass the wake-up on to another idle worker.
  if redis.call('LLEN', queued) > 0 then
    wake(notify)
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
end
return out
