-- Step 2 of a dependency (deps.lua): on the parent's slot, makes child `child` wait for job
-- `parent`, or, if the parent has ended already, puts the release into the outbox at once
-- (so it is applied even if the enqueuer dies right after). Idempotent.
-- KEYS: parent job, parent's dependents set, parent queue's outbox
-- ARGV: parent id, child id
-- Returns the parent's state, or 'missing' (the outbox then says so: the child is cancelled)
local job, dependents, outbox = KEYS[1], KEYS[2], KEYS[3]
local parent, child = ARGV[1], ARGV[2]
local state = redis.call('HGET', job, 'state') or 'missing'
if state == 'completed' or state == 'dead' or state == 'cancelled' or state == 'missing' then
  redis.call('HSET', outbox, child .. ' ' .. parent, state)
  return state
end
redis.call('SADD', dependents, child)
-- The flag the ending scripts read with the fields they read anyway (deps.lua).
redis.call('HSET', job, 'dependents', '1')
return state
