-- Fragment (see MemberLedger and LedgerEntry): a list's ledger is one hash. Its field is a member's subscriber hash as 16
-- bytes; its value the fingerprint of what Hub last wrote, as 8 bytes, then '1' when Hub created the contact (the only
-- members Hub removes) or '0'. Hub passes hashes and fingerprints in hex; bytes take half the memory, and one hash replaces a
-- hash of fingerprints and a set of the members Hub added (90 bytes of Redis per member instead of 220).
local function hex_to_bytes(hex)
  if #hex % 2 ~= 0 or string.find(hex, '%X') then error('ledger: not hex: ' .. hex) end
  return (string.gsub(hex, '%x%x', function(pair) return string.char(tonumber(pair, 16)) end))
end
local function bytes_to_hex(bytes)
  return (string.gsub(bytes, '.', function(c) return string.format('%02x', string.byte(c)) end))
end
-- The member's entry: its fingerprint in hex (nil when the ledger does not hold it) and whether Hub added it.
local function ledger_get(ledger, hash)
  local value = redis.call('HGET', ledger, hex_to_bytes(hash))
  if not value then return nil, false end
  return bytes_to_hex(string.sub(value, 1, 8)), string.sub(value, 9, 9) == '1'
end
local function ledger_set(ledger, hash, fingerprint, hub_added)
  redis.call('HSET', ledger, hex_to_bytes(hash), hex_to_bytes(fingerprint) .. (hub_added and '1' or '0'))
end
local function ledger_delete(ledger, hash)
  return redis.call('HDEL', ledger, hex_to_bytes(hash))
end
