-- Everything `jobq stats` shows about one queue, read in one round trip (read-only).
-- KEYS: queued, scheduled, active, dead, completed, cancelled, paused, stats, ranked, waiting
-- ARGV: counter fields (e.g. 'processed', 'processed:2026-11-22') (e.g. 'processed:2026-11-22') ...
-- (numbered jobs in `ranked` count as queued, and the oldest of them counts for the age)
-- Returns { paused, list_len, stale, scheduled, active, dead, completed, cancelled,
--           completed_last_minute, oldest_queued_ms (-1: none), now_ms, {counter values...},
--           waiting }
local now = now_ms()
local stale = tonumber(redis.call('HGET', KEYS[8], 'stale') or '0')
local oldest = -1
-- The oldest queued job is at the tail; cancelled leftovers there are skipped (bounded look).
local tail = redis.call('LRANGE', KEYS[1], -100, -1)
for i = #tail, 1, -1 do
  local f = redis.call('HMGET', job_key(tail[i]), 'state', 'scheduled_ms', 'created_ms')
  if f[1] == 'queued' then
    oldest = tonumber(f[2] or f[3] or now)
    break
  end
end
-- Numbered jobs (`ranked`) are in order of number, then arrival: the oldest of each number
-- is the first of its band that is still queued, past the ones put back at the front
-- (recovered, scored at the band's start) whose times are read as well (bounded look).
local function older(a, b)
  if a < 0 or (b >= 0 and b < a) then
    return b
  end
  return a
end
if redis.call('EXISTS', KEYS[9]) == 1 then
  for p = 1, 10 do
    local band = redis.call('ZRANGEBYSCORE', KEYS[9], p * RANK, '(' .. ((p + 1) * RANK), 'WITHSCORES', 'LIMIT', 0, 100)
    for i = 1, #band, 2 do
      local f = redis.call('HMGET', job_key(band[i]), 'state', 'scheduled_ms', 'created_ms')
      if f[1] == 'queued' then
        oldest = older(oldest, tonumber(f[2] or f[3] or now))
        if tonumber(band[i + 1]) > p * RANK then
          break
        end
      end
    end
  end
end
local counters = {}
for i = 1, #ARGV do
  counters[#counters + 1] = tonumber(redis.call('HGET', KEYS[8], ARGV[i]) or '0')
end
return {
  redis.call('EXISTS', KEYS[7]),
  redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[9]),
  stale,
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]),
  redis.call('ZCARD', KEYS[4]),
  redis.call('ZCARD', KEYS[5]),
  redis.call('ZCARD', KEYS[6]),
  redis.call('ZCOUNT', KEYS[5], now - 60000, '+inf'),
  oldest,
  now,
  counters,
  redis.call('ZCARD', KEYS[10]),
}
