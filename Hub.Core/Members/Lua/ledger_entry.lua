-- Fragment (see MemberLedger and LedgerEntry): a list's ledger is one hash. Its field is a member's subscriber hash as 16
-- bytes; its value the fingerprint of what Hub last wrote, as 8 bytes, then '1' when Hub created the contact (the only
-- members Hub removes) or '0'. Bytes take half the memory, and one hash replaces a hash of fingerprints and a set of the
-- members Hub added (90 bytes of Redis per member instead of 220). A batch's applied members come as bytes (see
-- ledger_check_applied); single hashes, a batch's removals and its refused and reconciled members come in hex (the refused
-- hash is keyed in hex). Past the first few conversions, hex pairs are looked up in a table (built once per call, about
-- 50 us) instead of calling a function per pair (2.8 us per hash against 1.3 us).
local hex_pairs, hex_calls = nil, 0
local function hex_pair_table()
  local digits, pairs_ = '0123456789abcdef', {}
  for hi = 1, 16 do
    local h = string.sub(digits, hi, hi)
    for lo = 1, 16 do pairs_[h .. string.sub(digits, lo, lo)] = string.char((hi - 1) * 16 + lo - 1) end
  end
  return pairs_
end
local function hex_to_bytes(hex)
  if #hex % 2 ~= 0 or string.find(hex, '%X') then error('ledger: not hex: ' .. hex) end
  hex_calls = hex_calls + 1
  if hex_calls <= 8 then
    return (string.gsub(hex, '%x%x', function(pair) return string.char(tonumber(pair, 16)) end))
  end
  hex_pairs = hex_pairs or hex_pair_table()
  return (string.gsub(string.lower(hex), '%x%x', hex_pairs))
end
-- The other way, with the same threshold: a single event or member converts one or two values, a batch of created members
-- (record_created_members) two per member.
local byte_hex, byte_calls = nil, 0
local function bytes_to_hex(bytes)
  byte_calls = byte_calls + 1
  if byte_calls <= 8 then
    return (string.gsub(bytes, '.', function(c) return string.format('%02x', string.byte(c)) end))
  end
  if not byte_hex then
    byte_hex = {}
    for b = 0, 255 do byte_hex[string.char(b)] = string.format('%02x', b) end
  end
  return (string.gsub(bytes, '.', byte_hex))
end
-- An applied member as a batch sends it (see MemberLedger.BatchArguments): the subscriber hash as 16 bytes and the
-- fingerprint as 8, so that the ledger's field and value need no conversion (hex_to_bytes, with its check and the lower-casing,
-- took about 3 us a call in a script on this machine: two per member were most of recording a batch).
local function ledger_check_applied(hash_bytes, fingerprint_bytes)
  if #hash_bytes ~= 16 or #fingerprint_bytes ~= 8 then error('ledger: an applied member needs 16 + 8 bytes') end
end
-- The member's entry, read once: its field (the hash in bytes, to write back under) and its value (false when the ledger
-- does not hold the member).
local function ledger_read(ledger, hash)
  local field = hex_to_bytes(hash)
  return field, redis.call('HGET', ledger, field)
end
local function ledger_hub_added(value)
  return value and string.sub(value, 9, 9) == '1' or false
end
-- A value from the fingerprint in bytes and the hub-added mark.
local function ledger_value(fingerprint_bytes, hub_added)
  return fingerprint_bytes .. (hub_added and '1' or '0')
end
-- The member's fingerprint in hex (nil when the ledger does not hold it), as Hub writes it elsewhere (the refused hash).
local function ledger_get(ledger, hash)
  local _, value = ledger_read(ledger, hash)
  return value and bytes_to_hex(string.sub(value, 1, 8)) or nil
end
local function ledger_delete(ledger, hash)
  return redis.call('HDEL', ledger, hex_to_bytes(hash))
end
