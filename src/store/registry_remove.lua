-- KEYS: registry hash (routes or types), version counter (both under {ns})
-- ARGV: field
-- Removes a route or schema and bumps the version only if something was removed, so a
-- refused `rm` writes nothing and caches are not invalidated for nothing.
local n = redis.call('HDEL', KEYS[1], ARGV[1])
if n == 1 then
  redis.call('INCR', KEYS[2])
end
return n
