-- Puts back a job that this worker has no handler for, untouched: the attempt it was just
-- given is taken back (the job did nothing wrong). With base_ms 0 it goes to the back of its
-- queue at once (another live worker runs its type and will take it); otherwise it waits in
-- the scheduled set, base_ms doubled per earlier release of the job up to max_ms, so a job
-- nobody can run costs a bounded, falling number of fetches (README "Job types no worker
-- handles").
-- KEYS: job, active, queued, scheduled, events, limit state, ranked, ranked:on
-- ARGV: id, lease, base_ms, max_ms, reason, signal channel
-- Returns { 'queued', 0 } | { 'scheduled', due_ms } | { 'lost', -1 }
local job, active, queued, scheduled, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, lease, base = ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = redis.call('HMGET', job, 'state', 'lease', 'releases', 'limited', 'priority')
if f[1] ~= 'active' or f[2] ~= lease then
  return { 'lost', -1 }
end
local releases = tonumber(f[3] or '0')
redis.call('HSET', job, 'lease', '', 'releases', releases + 1)
redis.call('HINCRBY', job, 'attempt', -1)
redis.call('ZREM', active, id)
free_slot(f[4], KEYS[6], ARGV[6])
local state, due = 'queued', 0
if base == 0 then
  redis.call('HSET', job, 'state', 'queued')
  -- LPUSH: the back of the queue (RPOP takes from the right), behind the work already waiting.
  -- Like enqueue, only a queue that was empty needs a wake-up.
  if push_waiting(queued, KEYS[7], KEYS[8], id, f[5], false, now_ms()) == 1 then
    wake(ARGV[6])
  end
else
  state = 'scheduled'
  due = now_ms() + math.floor(math.min(base * 2 ^ math.min(releases, 20), tonumber(ARGV[4])))
  redis.call('HSET', job, 'state', 'scheduled', 'scheduled_ms', due)
  redis.call('ZADD', scheduled, due, id)
  -- Idle workers re-read the next due time.
  wake(ARGV[6])
end
emit(events, id, 'released', { error = ARGV[5], retry_at = (due > 0 and due) or nil })
return { state, due }
