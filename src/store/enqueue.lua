-- Writes a batch of new jobs of one queue: one call for up to ENQUEUE_BATCH jobs (jobs.rs), so
-- the time, the push onto the list, the wake-up and the live event message are paid once per
-- batch instead of once per job (issue "Throughput": bulk enqueue).
-- KEYS: queued, scheduled, events, expiring, waiting, ranked, ranked:on
-- ARGV: queue, signal channel, resend ('1': a retry of a call whose reply was lost, so every
--       job may exist already), then FIELDS values per job: id, type, payload, options
-- options: one text of these values, each followed by a space (jobs.rs `enqueue_args`):
--       max_attempts, timeout_ms, delay_ms, at_ms, unique_name ('': none), priority ('': none
--       or 5), expires_at_ms ('0': none), after (parent ids, comma-separated; '': none),
--       after_any ('1'/'0'), expires_in_ms ('0': none; from now on the Redis clock, like
--       delay_ms), own_id ('1': the caller chose the id, so it may exist already)
-- One text instead of eleven values: each value passed costs Redis a Lua string, and the jobs
-- of a bulk enqueue mostly share their options, which are then read once per call.
-- Returns state, id for each job in order; state 'duplicate' names the unique key's holder.
local queued, scheduled, events, expiring, waiting, ranked, ranked_on =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local queue, signal, resend = ARGV[1], ARGV[2], ARGV[3] == '1'
local FIELDS, FIRST = 4, 4

-- The options texts of this call, read.
local read = {}
local function options(text)
  local o = read[text]
  if not o then
    o = {}
    for value in string.gmatch(text, '([^ ]*) ') do
      o[#o + 1] = value
    end
    read[text] = o
  end
  return o
end

local now = now_ms()
-- Numbers are turned into text once per call: Lua formats a number with printf ("%.14g") each
-- time one is concatenated or passed to redis.call, which was a tenth of Redis's time in a
-- bulk enqueue (perf).
local now_s = tostring(now)
local reply = {}
local plain = {}        -- ids for the plain list, pushed once at the end
local ranked_empty = false
local earliest = nil    -- the earliest due time among scheduled jobs of this batch
local messages = {}     -- live event messages, published as one at the end

-- The first due time before this batch's first scheduled job (read then, so batches without
-- one do not pay for it): idle workers re-read it only if a job comes due earlier than the
-- one they know.
local due_before = nil

for base = FIRST, #ARGV, FIELDS do
  local id, job_type, o = ARGV[base], ARGV[base + 1], options(ARGV[base + 3])
  local unique_name = o[5]
  local job = job_key(id)
  local done = nil
  -- The client picks the id, so a replayed call finds its own jobs instead of writing them
  -- twice. Ids this process generated (ULIDs) cannot exist yet on a first send.
  if resend or o[11] == '1' then
    local existing = redis.call('HGET', job, 'state')
    if existing then
      done = { existing, id }
    end
  end
  if not done and unique_name ~= '' then
    local holder = redis.call('GET', unique_key(unique_name))
    if holder then
      local state = redis.call('HGET', job_key(holder), 'state')
      if state and state ~= 'completed' and state ~= 'dead' and state ~= 'cancelled' then
        done = { 'duplicate', holder }
      end
    end
  end
  if done then
    reply[#reply + 1] = done[1]
    reply[#reply + 1] = done[2]
  else
    local run_at, run_at_s = now, now_s
    local at, delay = o[4], o[3]
    if at ~= '0' then
      run_at, run_at_s = tonumber(at), at
    elseif delay ~= '0' then
      run_at = now + tonumber(delay)
      run_at_s = tostring(run_at)
    end
    local state = 'queued'
    if run_at > now then
      state = 'scheduled'
    end
    local after = o[8]
    if after ~= '' then
      -- Waits for its parents (deps.lua); release_child.lua queues it, or schedules it for
      -- `run_at` if that is still ahead then.
      state = 'waiting'
    end
    local priority = o[6]
    -- Each field of a new hash costs Redis ~2,400 instructions (callgrind), a third of a bulk
    -- enqueue's work, so fields that only repeat their default are left out and every reader
    -- takes a missing one for it (job.rs `Job::from_hash`): the id (the key names it), attempt
    -- 0, no timeout, and a due time that is the creation time.
    redis.call('HSET', job, 'type', job_type, 'queue', queue, 'payload', ARGV[base + 2], 'state', state,
      'max_attempts', o[1], 'created_ms', now_s)
    local timeout = o[2]
    if timeout ~= '0' then
      redis.call('HSET', job, 'timeout_ms', timeout)
    end
    if run_at_s ~= now_s then
      redis.call('HSET', job, 'scheduled_ms', run_at_s)
    end
    if priority ~= '' then
      -- Only numbered jobs (other than 5) carry it, and pay one more command for it.
      redis.call('HSET', job, 'priority', priority)
    end
    if unique_name ~= '' then
      -- Only jobs with a key carry the field (each field costs a HSET; readers take a
      -- missing one for none).
      redis.call('HSET', job, 'unique_key', unique_name)
      redis.call('SET', unique_key(unique_name), id)
    end
    local expires_at, expires_in = o[7], o[10]
    if expires_at ~= '0' or expires_in ~= '0' then
      -- Never started after this (fetch.lua checks; the recovery pass sweeps the rest).
      local expires = tonumber(expires_at)
      if expires_in ~= '0' then
        expires = now + tonumber(expires_in)
      end
      redis.call('HSET', job, 'expires_ms', expires)
      redis.call('ZADD', expiring, expires, id)
    end
    if state == 'waiting' then
      -- Its priority waits in the hash: release_child.lua puts it where its number says.
      local parents = 1
      for _ in string.gmatch(after, ',') do
        parents = parents + 1
      end
      redis.call('HSET', job, 'after', after, 'after_any', o[9], 'deps_left', parents)
      redis.call('ZADD', waiting, now_s, id)
    elseif state == 'scheduled' then
      if not earliest then
        local head = redis.call('ZRANGE', scheduled, 0, 0, 'WITHSCORES')[2]
        due_before = head and tonumber(head)
      end
      redis.call('ZADD', scheduled, run_at, id)
      if not earliest or run_at < earliest then
        earliest = run_at
      end
    elseif priority == '' then
      plain[#plain + 1] = id
    elseif push_waiting(queued, ranked, ranked_on, id, priority, false, now) == 1 then
      ranked_empty = true
    end
    -- The event of a fresh job, written out directly: names and ids are plain ASCII
    -- (job.rs validate_name), so nothing needs escaping and cjson is not needed.
    local json = '{"event":"enqueued","id":"' .. id .. '","type":"' .. job_type .. '","queue":"' ..
      queue .. '","state":"' .. state .. '","attempt":0,"time":' .. now_s
    messages[#messages + 1] = record_event(events, json .. '}')
    reply[#reply + 1] = state
    reply[#reply + 1] = id
  end
end

local wake_up = ranked_empty
if #plain > 0 and redis.call('LPUSH', queued, unpack(plain)) == #plain then
  -- Only a queue that was empty needs a wake-up: a backlog is being drained by workers who
  -- heard of it already (fetch.lua passes the wake-up on while it leaves work behind).
  wake_up = true
end
if earliest and (not due_before or earliest < due_before) then
  wake_up = true
end
if wake_up then
  wake(signal)
end
publish_events(events, messages)
return reply
