-- Bounded retention of the per-day counters: drops `<name>:YYYY-MM-DD` fields older than the
-- cutoff day (string order is date order). KEYS: stats. ARGV: cutoff day. Returns fields dropped.
local dropped = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local day = string.match(field, ':(%d%d%d%d%-%d%d%-%d%d)$')
  if day and day < ARGV[1] then
    redis.call('HDEL', KEYS[1], field)
    dropped = dropped + 1
  end
end
return dropped
