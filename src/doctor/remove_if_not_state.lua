-- Removes an id from a state set unless its job is (still) in that state.
-- KEYS: set, job   ARGV: id, state
if redis.call('HGET', KEYS[2], 'state') ~= ARGV[2] then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
