-- One bounded batch of a purge: deletes up to `count` jobs of one state (and their hashes).
-- Zsets are read from index `start` (ids passed over by the type filter stay); the queued list
-- is popped from its tail (the ids a worker would take next).
-- A deleted job that others wait for (`enqueue --after`) releases them as `purged` (deps.lua):
-- they are cancelled (or run, with --after-any-outcome) instead of waiting forever.
-- KEYS: source (zset, or the queued list), stats, expiring[, ranked (with 'list': the queue's
--       numbered jobs)]
-- ARGV: kind ('zset' | 'list'), start, count, type ('' = any)
-- Returns { deleted, passed_over, scanned, 1 if dependents went to the outbox else 0 }
local source, stats = KEYS[1], KEYS[2]
local kind, start, count, jtype = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local ids
if kind == 'list' then
  ids = redis.call('RPOP', source, count) or {}
  -- Jobs with a priority number wait in `ranked` (common.lua push_waiting), not in the list:
  -- they are queued all the same, so they go too once the list is empty. Their leftover ids
  -- count as `stale` like the list's (cancel.lua, fetch.lua).
  local ranked = KEYS[4]
  if ranked and #ids < count then
    local more = redis.call('ZRANGE', ranked, 0, count - #ids - 1)
    if #more > 0 then
      redis.call('ZREM', ranked, unpack(more))
      for _, id in ipairs(more) do
        ids[#ids + 1] = id
      end
    end
  end
else
  ids = redis.call('ZRANGE', source, start, start + count - 1)
end
local deleted, passed, stale, released = 0, 0, 0, 0
local function delete(key, id, f)
  release_unique(f[3], id)
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[3], id)
  if release_dependents(id, f[4], 'purged') then
    released = 1
  end
  deleted = deleted + 1
end
for _, id in ipairs(ids) do
  local key = job_key(id)
  local f = redis.call('HMGET', key, 'state', 'type', 'unique_key', 'dependents')
  if kind == 'list' then
    if f[1] == 'queued' then
      delete(key, id, f)
    else
      stale = stale + 1 -- a cancelled job's leftover id, popped like fetch would
    end
  elseif jtype == '' or f[2] == jtype then
    delete(key, id, f)
    redis.call('ZREM', source, id)
  else
    passed = passed + 1
  end
end
if kind == 'list' then
  add_stale(stats, -stale)
end
-- Purged jobs emit no events: their hashes are gone, and `watch` reports them as unknown.
return { deleted, passed, #ids, released }
