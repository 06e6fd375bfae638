-- Resumes a paused queue and wakes an idle worker, which otherwise would sleep until its next
-- poll. KEYS: paused, notify. Returns 1 if the queue was paused.
local was = redis.call('DEL', KEYS[1])
wake(KEYS[2])
return was
