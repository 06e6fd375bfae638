-- KEYS: defs, states, due (all under the namespace tag {ns})
-- ARGV: name, definition JSON, first tick (ms), hold (ms), replace ('1' or '0')
-- Writes a schedule, or replaces one (keeping its last run and paused flag) when asked.
local defs, states, due = KEYS[1], KEYS[2], KEYS[3]
local name = ARGV[1]
local exists = redis.call('HEXISTS', defs, name) == 1
if exists and ARGV[5] ~= '1' then
  return 'exists'
end
local state = { paused = false }
local raw = redis.call('HGET', states, name)
if raw then
  state = cjson.decode(raw)
end
state.next = tonumber(ARGV[3])
state.hold = tonumber(ARGV[4])
redis.call('HSET', defs, name, ARGV[2])
redis.call('HSET', states, name, cjson.encode(state))
if state.paused then
  redis.call('ZREM', due, name)
else
  redis.call('ZADD', due, state.next, name)
end
if exists then
  return 'replaced'
end
return 'added'
