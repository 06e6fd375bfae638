-- Resumes a paused queue and wakes its idle workers, which otherwise would not look at it
-- until their next safety-net fetch. KEYS: paused. ARGV: signal channel.
-- Returns 1 if the queue was paused.
local was = redis.call('DEL', KEYS[1])
wake(ARGV[1])
return was
