-- `jobq limit set|rm`: writes a queue's limit (an empty definition removes it and its bucket),
-- then wakes the queue's workers: a looser limit may let a waiting worker fetch now.
-- KEYS: limit, limit state
-- ARGV: definition JSON ('' = remove), signal channel
-- Returns 1 if the queue had a limit before, else 0.
local had = redis.call('EXISTS', KEYS[1])
if ARGV[1] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
wake(ARGV[2])
return had
