-- Marks jobs of one queue completed, each only if its lease still holds it (completing.lua).
-- The worker sends the completions that came in while its previous call was on its way as one
-- call (group commit, completions.rs): the time, the counters, the set updates and the live
-- event message are paid once per call, not once per job.
-- KEYS: active, completed, stats, events, limit state
-- ARGV: retention_ms, day, signal channel, then id, lease, result per job
-- Returns per job 'ok' ('release': and its dependents wait in the outbox, deps.lua) | 'lost'
local k = { active = KEYS[1], completed = KEYS[2], stats = KEYS[3], events = KEYS[4], limit_state = KEYS[5],
  signal = ARGV[3] }
local messages = {}
local reply = complete_jobs(k, ARGV[1], ARGV[2], now_ms(), ARGV, 4, messages)
publish_events(k.events, messages)
return reply
