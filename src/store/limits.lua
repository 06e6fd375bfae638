-- Flow control of one queue (`jobq limit`, limits.rs), prepended to fetch.lua and
-- limit_status.lua. `lim` is the queue's limit, decoded from its `limit` key: { rate, per_ms,
-- concurrency }, any part absent. `state` is the queue's limit-state hash: `tokens` and `at`
-- of the rate's token bucket, and `waiting` while a fetch was turned away by the cap.

-- Jobs of the queue holding a live lease: what the cap counts. A lease that ran out no
-- longer counts (its worker is presumed dead and recovery will requeue the job), so a crashed
-- worker's slots come back after one lease, not after the next recovery pass.
local function limit_running(active, now)
  return redis.call('ZCOUNT', active, '(' .. now, '+inf')
end

-- Tokens in the bucket now: it holds at most `rate` and refills continuously on the Redis
-- clock, `rate` per `per_ms`. A queue that never spent any has a full bucket.
local function limit_tokens(lim, state, now)
  local s = redis.call('HMGET', state, 'tokens', 'at')
  if not s[1] then
    return lim.rate
  end
  return math.min(lim.rate, tonumber(s[1]) + (now - tonumber(s[2])) * lim.rate / lim.per_ms)
end

-- How long until the limit may let the queue be fetched again (ms, at least 1), given the
-- running jobs and tokens left after this fetch; nil when it does not hold the queue back.
-- A full cap also raises `waiting`, so the first job of the queue to end wakes the workers
-- (free_slot in common.lua); the earliest live lease running out is the fallback.
local function limit_wait(lim, state, active, now, running, tokens)
  local wait
  if lim.concurrency and running >= lim.concurrency then
    redis.call('HSET', state, 'waiting', '1')
    local first = redis.call('ZRANGEBYSCORE', active, '(' .. now, '+inf', 'LIMIT', 0, 1, 'WITHSCORES')
    wait = math.max((first[2] and tonumber(first[2]) or now) - now, 1)
  end
  if tokens and tokens < 1 then
    wait = math.max(wait or 0, math.ceil((1 - tokens) * lim.per_ms / lim.rate), 1)
  end
  return wait
end
