-- Runs a lease-recovery pass now (doctor --fix; workers run it from fetch.lua) and marks the
-- next pass due `every_ms` later.
-- KEYS: active, queued, dead, cancelled, stats, events, recovery, ranked, ranked:on, scheduled,
--       expiring, waiting
-- ARGV: max_recoveries, day, max_errors, signal channel, every_ms, retention_ms of expired jobs
-- Returns the number of jobs recovered.
local k = { active = KEYS[1], queued = KEYS[2], dead = KEYS[3], cancelled = KEYS[4], stats = KEYS[5], events = KEYS[6],
  ranked = KEYS[8], ranked_on = KEYS[9], scheduled = KEYS[10], expiring = KEYS[11], waiting = KEYS[12] }
local now = now_ms()
local recovered = recover_expired(k, now, tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[6]))
sweep_expired(k, now, tonumber(ARGV[6]))
announce_outbox(ARGV[4])
redis.call('SET', KEYS[7], now + tonumber(ARGV[5]))
if recovered > 0 then
  wake(ARGV[4])
end
return recovered
