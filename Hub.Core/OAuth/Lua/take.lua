-- Reads a single-use value and deletes it in the same step (a second reader gets nil).
-- KEYS: stored
-- A Lua GET+DEL rather than GETDEL: Garnet's AOF replay mishandled GETDEL in a probe.
local value = redis.call('GET', stored)
if value then redis.call('DEL', stored) end
return value
