-- What a queue's limit does right now (`limit ls`, `stats`); reads only.
-- KEYS: limit, limit state, active, queued
-- Returns { definition JSON or false, running, tokens (-1: no rate), queued }
local def = redis.call('GET', KEYS[1])
if not def then
  return { false, 0, -1, 0 }
end
local lim = cjson.decode(def)
local now = now_ms()
local tokens = -1
if lim.rate then
  tokens = math.floor(limit_tokens(lim, KEYS[2], now))
end
return { def, limit_running(KEYS[3], now), tokens, redis.call('LLEN', KEYS[4]) }
