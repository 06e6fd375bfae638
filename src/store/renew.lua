-- KEYS: active, then the hash of each job
-- ARGV: lease_ms, then pairs of (id, lease) in the order of the job keys
-- Returns one status per job: 'ok', 'cancel' (an operator asked to stop it) or 'lost'.
local active = KEYS[1]
local deadline = now_ms() + tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 2 do
  local id, lease = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', KEYS[i / 2 + 1], 'state', 'lease', 'cancel')
  if f[1] == 'active' and f[2] == lease then
    redis.call('ZADD', active, 'XX', deadline, id)
    if f[3] == '1' then
      out[#out + 1] = 'cancel'
    else
      out[#out + 1] = 'ok'
    end
  else
    out[#out + 1] = 'lost'
  end
end
return out
