-- What `jobq archive` has not copied yet, per finished-jobs set: how many ids score after the
-- archive's cursor, and the oldest of them with the time left before its job expires.
-- KEYS: completed, dead, cancelled
-- ARGV: the cursor (ms, exclusive) of each set: completed, dead, cancelled
-- Returns { now, { { count, oldest_score or '', oldest_pttl }, ... } } in KEYS order; pttl is -1 for a
-- job that does not expire and -2 for one already gone.
local out = {}
for i, set in ipairs(KEYS) do
  local after = '(' .. ARGV[i]
  local count = redis.call('ZCOUNT', set, after, '+inf')
  local oldest = redis.call('ZRANGEBYSCORE', set, after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if oldest[1] then
    out[#out + 1] = { count, oldest[2], redis.call('PTTL', job_key(oldest[1])) }
  else
    out[#out + 1] = { count, '', -2 }
  end
end
return { now_ms(), out }
