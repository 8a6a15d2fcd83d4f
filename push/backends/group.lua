-- Reserve one of a group's posts in the last 24 h. KEYS: 1 posts zset, 2 kill switch
-- ARGV: 1 now ms, 2 key, 3 cap (-1: none)
local now, key, cap = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local DAY = 86400000
local switch = redis.call('GET', KEYS[2])
if not switch then return {'lost', '', -1} end
if switch == '1' then return {'deferred', 'paused', -1} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - DAY)
if redis.call('ZSCORE', KEYS[1], key) then return {'dropped', 'duplicate', -1} end
local count = redis.call('ZCARD', KEYS[1])
if cap >= 0 and count >= cap then
  if cap == 0 then return {'dropped', 'group_cap', -1} end
  local oldest = redis.call('ZRANGE', KEYS[1], count - cap, count - cap, 'WITHSCORES')
  return {'dropped', 'group_cap', tonumber(oldest[2]) + DAY}
end
redis.call('ZADD', KEYS[1], now, key)
redis.call('PEXPIRE', KEYS[1], DAY)
return {'sent', '', -1}
