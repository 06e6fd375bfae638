-- One page for `jobq archive`: ids of a finished-jobs set (completed, dead or cancelled, scored
-- by finish time) after the cursor `after`, oldest first, each with its job hash, read in one
-- atomic step so a job is never seen half-changed (e.g. dead in the set, queued in its hash).
--
-- Only scores before the current millisecond are returned: every later script reads a clock
-- at or past `now`, so nothing can still be added at or below a returned score, and a cursor
-- set to the last score returned never passes over a job. A full page is extended with the
-- rest of its last millisecond, so the cursor can be a plain score even when several jobs
-- finish in the same millisecond.
-- KEYS: set
-- ARGV: after (ms, exclusive), limit
-- Returns { now, { { id, score, { field, value, ... } }, ... } }; a job whose hash is gone
-- (expired or purged before it was archived) comes with an empty list.
local set, after, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local now = now_ms()
local page = redis.call('ZRANGEBYSCORE', set, '(' .. after, '(' .. now, 'WITHSCORES', 'LIMIT', 0, limit)
local out = {}
local last, at_last = nil, 0
for i = 1, #page, 2 do
  local id, score = page[i], page[i + 1]
  if score == last then
    at_last = at_last + 1
  else
    last, at_last = score, 1
  end
  out[#out + 1] = { id, score, redis.call('HGETALL', job_key(id)) }
end
if #page == 2 * limit then
  -- Members of one score come in byte order, so the page holds the first `at_last` of them.
  local same = redis.call('ZRANGEBYSCORE', set, last, last)
  for i = at_last + 1, #same do
    out[#out + 1] = { same[i], last, redis.call('HGETALL', job_key(same[i])) }
  end
end
return { now, out }
