-- Gate decisions for a batch of asks, each atomic (mirrors push/rules.py:decide).
-- KEYS[1]: kill switch. Member keys are built here from ARGV[4] (prefix) and the member id:
--   {id}:log (zset "category|key" -> sent ms), {id}:keys (zset key -> sent ms),
--   {id}:wait (zset key -> due ms), {id}:wprio (hash key -> "priority|seq")
--   (one Redis, not a cluster: the keys of a batch live on different slots).
-- ARGV: 1 key ttl ms, 2 commit 0/1, 3 shared 0/1, 4 prefix, then
--   shared = 0: per ask 12 values: member id + the 11 message values below;
--   shared = 1: the 11 message values once, then one member id per ask (planning).
-- Message values: key, category, priority, seq, caps day/week/cat day/cat week (-1: none),
--   gap ms, bypass 0/1, now ms.
-- Returns 'lost' when the kill switch key is missing, else one string: per ask "outcome|reason|until ms (-1: none)", separated by ";".
local keyttl, commit, shared = tonumber(ARGV[1]), ARGV[2] == '1', ARGV[3] == '1'
local prefix = ARGV[4]
local DAY, WEEK = 86400000, 604800000
local switch = redis.call('GET', KEYS[1])
-- the switch never expires: without it Redis lost the gate's state (see restore.py)
if not switch then return 'lost' end
local paused = switch == '1'

local function remember(seen_keys, wait, wprio, key, now)
  redis.call('ZREMRANGEBYSCORE', seen_keys, '-inf', now - keyttl)
  redis.call('ZADD', seen_keys, now, key)
  redis.call('PEXPIRE', seen_keys, keyttl)
  redis.call('ZREM', wait, key)
  redis.call('HDEL', wprio, key)
end

local function decide(id, a)
  local base = prefix .. '{' .. id .. '}:'
  local log, seen_keys, wait, wprio = base .. 'log', base .. 'keys', base .. 'wait', base .. 'wprio'
  local key, cat = ARGV[a + 1], ARGV[a + 2]
  local prio, seq = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local gap, bypass = tonumber(ARGV[a + 9]), ARGV[a + 10] == '1'
  local now = tonumber(ARGV[a + 11])
  if paused then return 'deferred', 'paused', -1 end
  local seen = redis.call('ZSCORE', seen_keys, key)
  if seen and tonumber(seen) > now - keyttl then return 'dropped', 'duplicate', -1 end
  if not bypass then
    for _, other in ipairs(redis.call('ZRANGEBYSCORE', wait, '-inf', now)) do
      if other ~= key then
        local p, s = string.match(redis.call('HGET', wprio, other) or '', '^(-?%d+)|(%d+)$')
        if p then
          p, s = tonumber(p), tonumber(s)
          if p > prio or (p == prio and s < seq) then return 'deferred', 'queued', now end
        end
      end
    end
    local entries = redis.call('ZRANGEBYSCORE', log, '(' .. (now - WEEK), '+inf', 'WITHSCORES')
    if #entries == 0 then
      -- nothing sent this week: only a disabled category (cap 0) can say no
      for c = 5, 8 do
        if tonumber(ARGV[a + c]) == 0 then return 'dropped', 'disabled', -1 end
      end
      if commit then
        redis.call('ZADD', log, now, cat .. '|' .. key)
        redis.call('PEXPIRE', log, WEEK)
        remember(seen_keys, wait, wprio, key, now)
      end
      return 'sent', '', -1
    end
    local week, day, cweek, cday = {}, {}, {}, {}
    for i = 1, #entries, 2 do
      local t = tonumber(entries[i + 1])
      week[#week + 1] = t
      if t > now - DAY then day[#day + 1] = t end
      if string.match(entries[i], '^([^|]*)|') == cat then
        cweek[#cweek + 1] = t
        if t > now - DAY then cday[#cday + 1] = t end
      end
    end
    local until_, reason = now, nil
    local checks = {
      {day, tonumber(ARGV[a + 5]), DAY, 'daily_cap'},
      {week, tonumber(ARGV[a + 6]), WEEK, 'weekly_cap'},
      {cday, tonumber(ARGV[a + 7]), DAY, 'category_daily_cap'},
      {cweek, tonumber(ARGV[a + 8]), WEEK, 'category_weekly_cap'},
    }
    for _, check in ipairs(checks) do
      local times, cap, window = check[1], check[2], check[3]
      if cap >= 0 and #times >= cap then
        if cap == 0 then return 'dropped', 'disabled', -1 end
        local free = times[#times - cap + 1] + window
        if free > until_ then until_, reason = free, check[4] end
      end
    end
    if gap > 0 and #week > 0 and week[#week] + gap > until_ then
      until_, reason = week[#week] + gap, 'min_gap'
    end
    if reason then return 'deferred', reason, until_ end
    if commit then
      redis.call('ZREMRANGEBYSCORE', log, '-inf', now - WEEK)
      redis.call('ZADD', log, now, cat .. '|' .. key)
      redis.call('PEXPIRE', log, WEEK)
    end
  end
  if commit then remember(seen_keys, wait, wprio, key, now) end
  return 'sent', '', -1
end

local out = {}
if shared then
  for i = 16, #ARGV do
    local outcome, reason, until_ = decide(ARGV[i], 4)
    out[#out + 1] = outcome .. '|' .. reason .. '|' .. until_
  end
else
  for a = 4, #ARGV - 1, 12 do
    local outcome, reason, until_ = decide(ARGV[a + 1], a + 1)
    out[#out + 1] = outcome .. '|' .. reason .. '|' .. until_
  end
end
return table.concat(out, ';')
