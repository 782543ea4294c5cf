-- spec/support.lua: small helpers the specs share.
local M = {}

--- A string quoted for sh.
function M.shq(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Every string reachable from v: keys and values, tables walked once each,
-- and the __tostring of any table that has one.
function M.strings(v, out, seen)
  out, seen = out or {}, seen or {}
  local t = type(v)
  if t == "string" then
    out[#out + 1] = v
  elseif t == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do
      M.strings(k, out, seen)
      M.strings(x, out, seen)
    end
    local mt = getmetatable(v)
    if mt and mt.__tostring then out[#out + 1] = tostring(v) end
  end
  return out
end

--- The simulator's last logged request, and the count.
function M.last_request(sim)
  local log = sim:requests()
  return log[#log], #log
end

return M
