-- One bounded batch of a purge: deletes up to `count` jobs of one state (and their hashes).
-- Zsets are read from index `start` (ids passed over by the type filter stay); the queued list
-- is popped from its tail (the ids a worker would take next).
-- KEYS: source (zset, or the queued list), stats
-- ARGV: prefix, kind ('zset' | 'list'), start, count, type ('' = any)
-- Returns { deleted, passed_over, scanned }
local source, stats = KEYS[1], KEYS[2]
local prefix, kind, start, count, jtype = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local ids
if kind == 'list' then
  ids = redis.call('RPOP', source, count) or {}
else
  ids = redis.call('ZRANGE', source, start, start + count - 1)
end
local deleted, passed, stale = 0, 0, 0
for _, id in ipairs(ids) do
  local key = job_key(prefix, id)
  local f = redis.call('HMGET', key, 'state', 'type', 'unique_key')
  if kind == 'list' then
    if f[1] == 'queued' then
      release_unique(prefix, f[3], id)
      redis.call('DEL', key)
      deleted = deleted + 1
    else
      stale = stale + 1 -- a cancelled job's leftover id, popped like fetch would
    end
  elseif jtype == '' or f[2] == jtype then
    release_unique(prefix, f[3], id)
    redis.call('DEL', key)
    redis.call('ZREM', source, id)
    deleted = deleted + 1
  else
    passed = passed + 1
  end
end
if kind == 'list' then
  add_stale(stats, -stale)
end
-- Purged jobs emit no events: their hashes are gone, and `watch` reports them as unknown.
return { deleted, passed, #ids }
