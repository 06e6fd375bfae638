-- One bounded batch of a bulk retry / DLQ drain: looks at up to `count` ids of the source set
-- from index `start` and requeues those that match. Each job is either still in its set or
-- requeued when the script returns, never both (the script is atomic).
-- KEYS: source (dead or scheduled zset), queued, events, ranked, ranked:on
-- ARGV: start, count, type ('' = any), mode ('dead' | 'failed'), max_moves, signal channel
-- Returns { moved, passed_over, scanned }: the next batch starts at start + passed_over.
local source, queued, events = KEYS[1], KEYS[2], KEYS[3]
local start, count, jtype, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local max_moves = tonumber(ARGV[5])
local ids = redis.call('ZRANGE', source, start, start + count - 1)
local now = now_ms()
local moved, passed = 0, 0
for _, id in ipairs(ids) do
  local key = job_key(id)
  local f = redis.call('HMGET', key, 'state', 'type', 'attempt')
  local match = moved < max_moves and (jtype == '' or f[2] == jtype)
  if mode == 'dead' then
    match = match and f[1] == 'dead'
  else
    match = match and f[1] == 'scheduled' and tonumber(f[3] or '0') > 0
  end
  if match and requeue_job(queued, KEYS[4], KEYS[5], id, key, mode == 'dead' and '1' or '0', now) == 'queued' then
    redis.call('ZREM', source, id)
    moved = moved + 1
    emit(events, id, 'retried')
  else
    passed = passed + 1
  end
end
if moved > 0 then
  wake(ARGV[6])
end
return { moved, passed, #ids }
