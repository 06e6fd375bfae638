-- Deletes a unique key only if the same job still holds it.
-- KEYS: unique key   ARGV: id
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
