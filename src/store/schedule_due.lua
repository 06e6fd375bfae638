-- KEYS: due, defs, states (all under {ns})
-- ARGV: max schedules to take
-- Takes the schedules whose tick is due on the server's clock: each is held for its hold
-- time (its score moves to now + hold), so exactly one worker works on a tick while the
-- others skip it; if that worker dies, the hold runs out and another worker takes the tick.
-- Returns { now, earliest score left (or ''), { name, definition, state, ... } }.
local due, defs, states = KEYS[1], KEYS[2], KEYS[3]
-- The common idle case costs one command: nothing scheduled, or nothing due yet.
local first = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
if not first[1] then
  return { 0, '', {} }
end
local now = now_ms()
if tonumber(first[2]) > now then
  return { now, first[2], {} }
end
local names = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local taken = {}
for _, name in ipairs(names) do
  local def = redis.call('HGET', defs, name)
  local raw = redis.call('HGET', states, name)
  if not def or not raw then
    redis.call('ZREM', due, name)
  else
    local state = cjson.decode(raw)
    redis.call('ZADD', due, now + (state.hold or 10000), name)
    taken[#taken + 1] = name
    taken[#taken + 1] = def
    taken[#taken + 1] = raw
  end
end
first = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
return { now, first[2] or '', taken }
