// The Lua scripts behind the Redis store. Each touches only the keys it is given (one key-slot in
// Redis Cluster: the keys of one space share a {hash tag}), reads Redis's clock so replicas with
// skewed clocks agree, and stores fractions as strings (Redis truncates Lua numbers to integers).

/** KEYS[1] bucket hash. ARGV: tokens per ms, burst. Returns 0 (taken) or the ms until a token. */
export const TAKE_TOKEN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 60000)
return wait
`;

/**
 * KEYS[1] budget hash. ARGV: credit to add, maxBalance, minPerSecond, '1' to withdraw a retry,
 * TTL ms. Returns { granted (0/1), whole retries left }.
 */
export const RETRY_BUDGET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxBalance = tonumber(ARGV[2])
local minPerSecond = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'balance', 'floor', 'ts')
local balance = math.min(maxBalance, (tonumber(v[1]) or 0) + tonumber(ARGV[1]))
local floor = tonumber(v[2]) or minPerSecond
local ts = tonumber(v[3]) or now
if now > ts then floor = math.min(minPerSecond, floor + (now - ts) / 1000 * minPerSecond) end
local granted = 0
if ARGV[4] == '1' then
  if balance >= 1 then balance = balance - 1; granted = 1
  elseif floor >= 1 then floor = floor - 1; granted = 1 end
end
redis.call('HSET', KEYS[1], 'balance', tostring(balance), 'floor', tostring(floor), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return { granted, math.floor(balance) + math.floor(floor) }
`;

/** KEYS[1] a circuit's fault count. ARGV: window ms. Returns the count (it expires after a quiet window). */
export const COUNT_FAILURE = `
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return count
`;

/**
 * KEYS[1] circuits hash, KEYS[2] the key's probe claim, KEYS[3] its fault count. ARGV: field,
 * record, channel, TTL ms. Stores the record, ends any probe claim (the probe's answer is this
 * transition), starts the fault count again and publishes.
 */
export const PUBLISH_CIRCUIT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[1] .. '\\n' .. ARGV[2])
return 1
`;
