-- Takes an OAuth state, but only for the browser whose cookie it is bound to.
-- KEYS: state
-- ARGV: cookie_hash
-- The state is stored as '{cookie hash} {json}'. Answers nil when there is no state (or a value without that hash,
-- written by an older version), else {1, json} when the cookie matched (the state is deleted) or {0, json} when not
-- (the state stays for its own browser).
local value = redis.call('GET', state)
if not value then return nil end
local separator = string.find(value, ' ', 1, true)
if not separator then return nil end
local matched = string.sub(value, 1, separator - 1) == cookie_hash
if matched then redis.call('DEL', state) end
return {matched and 1 or 0, string.sub(value, separator + 1)}
