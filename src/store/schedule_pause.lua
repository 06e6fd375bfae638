-- KEYS: states, due (under {ns})
-- ARGV: name, 'pause' or 'resume', next tick for resume (ms; ticks missed while paused are
--       skipped, not caught up)
-- Returns -1 for an unknown schedule, 0 if it already was in that state, 1 if changed.
local states, due = KEYS[1], KEYS[2]
local name = ARGV[1]
local raw = redis.call('HGET', states, name)
if not raw then
  return -1
end
local state = cjson.decode(raw)
if ARGV[2] == 'pause' then
  if state.paused then
    return 0
  end
  state.paused = true
  redis.call('ZREM', due, name)
else
  if not state.paused then
    return 0
  end
  state.paused = false
  state.next = tonumber(ARGV[3])
  redis.call('ZADD', due, state.next, name)
end
redis.call('HSET', states, name, cjson.encode(state))
return 1
