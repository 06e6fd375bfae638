-- KEYS: due, states (under {ns})
-- ARGV: name, tick being committed (ms), next tick (ms, '' for none), job id ('' if the
--       tick's job could not be enqueued), error ('' if none)
-- Advances a schedule past a tick whose job is enqueued, but only if no other worker (or
-- `schedule add/resume`) moved it meanwhile: the tick's job id is deterministic, so a
-- worker that repeats a tick finds the job already there and its commit changes nothing.
-- Returns { 1 if advanced else 0, earliest score left (or '') }.
local due, states = KEYS[1], KEYS[2]
local name = ARGV[1]
local done = 0
local raw = redis.call('HGET', states, name)
if raw then
  local state = cjson.decode(raw)
  if state.next == tonumber(ARGV[2]) then
    state.last = state.next
    state.next = tonumber(ARGV[3])
    state.last_job = ARGV[4]
    state.last_error = ARGV[5]
    redis.call('HSET', states, name, cjson.encode(state))
    if state.next and not state.paused then
      redis.call('ZADD', due, state.next, name)
    else
      redis.call('ZREM', due, name)
    end
    done = 1
  end
end
local first = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')
return { done, first[2] or '' }
