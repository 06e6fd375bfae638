-- KEYS: active
-- ARGV: prefix, lease_ms, then pairs of (id, lease)
-- Returns one status per job: 'ok', 'cancel' (an operator asked to stop it) or 'lost'.
local active, prefix = KEYS[1], ARGV[1]
local deadline = now_ms() + tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV, 2 do
  local id, lease = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', job_key(prefix, id), 'state', 'lease', 'cancel')
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
