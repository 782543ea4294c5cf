--- zoomlive.url: the one check every URL zoomlive sends to passes, whatever
-- its source (the base_url and oauth_url options, $ZOOM_API_BASE,
-- $ZOOM_OAUTH_URL, the api_url of an S2S token response).
--
-- URLs are parsed by libcurl's own parser (CURLU, through core.url_parse), so
-- the host checked is the host libcurl connects to, in the same normal form:
-- 127.1, 2130706433, 0x7f.1 and 017700000001 are all 127.0.0.1, and
-- [0:0::1] is [::1].
--
-- Loopback hosts: every address of 127.0.0.0/8, [::1], localhost,
-- localhost. and names under .localhost (libcurl answers those itself with a
-- loopback address). Anything else is remote, IPv4-mapped IPv6 addresses
-- ([::ffff:127.0.0.1]) and 0.0.0.0 included: they are not given loopback's
-- exemptions.
--
-- Rules: the scheme is https, or http for a loopback host, or http anywhere
-- with allow_http; no user info (credentials belong in the token, and
-- "http://127.0.0.1:80@elsewhere/" must not pass for loopback); no spaces
-- or control characters; no fragment; for a base URL, no query.
-- Loopback never goes through a proxy: the core adds LOOPBACK_NOPROXY to
-- libcurl's no-proxy list.
local core = require "zoomlive.core"

local M = {}

--- libcurl's CURLOPT_NOPROXY entries the core always adds (csrc/zl_http.c
-- keeps the same list): the loopback hosts above.
M.LOOPBACK_NOPROXY = "localhost,127.0.0.0/8,::1"

--- The parts of url as libcurl sees them, or nil, why.
-- { scheme, host, port, path, query, fragment, zoneid, userinfo = bool }
function M.parse(url)
  if type(url) ~= "string" then return nil, "must be a string" end
  if url:find("[%z\1-\32\127]") then return nil, "must not hold spaces or control characters" end
  if not url:find("^%a[%w+.-]*://") then return nil, "must be an absolute http(s) URL" end
  local p, why = core.url_parse(url)
  if not p then return nil, "is not a valid URL (" .. tostring(why) .. ")" end
  if not p.host or p.host == "" then return nil, "must be an absolute http(s) URL" end
  p.scheme = p.scheme:lower()
  return p
end

--- True when host (as core.url_parse gives it) is a loopback host.
function M.is_loopback(host)
  if type(host) ~= "string" then return false end
  host = host:lower()
  if host == "localhost" or host == "localhost." or host:find("%.localhost%.?$") then return true end
  if host == "[::1]" then return true end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then
    a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
    return a == 127 and b <= 255 and c <= 255 and d <= 255
  end
  return false
end

--- Checks a URL: returns it without trailing slashes and its parts, or
-- nil, why. opts: allow_http (plain http to remote hosts), query (a query
-- is allowed: token endpoints; never for base URLs).
function M.check(url, opts)
  opts = opts or {}
  local p, why = M.parse(url)
  if not p then return nil, why end
  if p.userinfo then return nil, "must not hold user info (user@host)" end
  if p.fragment then return nil, "must not hold a fragment (#...)" end
  if p.query and not opts.query then return nil, "must not hold a query (?...)" end
  if p.scheme == "http" then
    if not (opts.allow_http or M.is_loopback(p.host)) then
      return nil, "plain http:// is only allowed for loopback hosts (set allow_http = true to override)"
    end
  elseif p.scheme ~= "https" then
    return nil, "scheme must be https (or http for loopback)"
  end
  p.loopback = M.is_loopback(p.host)
  return (url:gsub("/+$", "")), p
end

-- no_proxy as libcurl reads it: "*", or names/addresses matched exactly or
-- as a domain suffix (CIDR ranges are libcurl's alone: not mirrored here).
local function no_proxy_match(list, host)
  host = host:lower():gsub("^%[", ""):gsub("%]$", ""):gsub("%.$", "")
  for entry in list:gmatch("[^,%s]+") do
    entry = entry:lower():gsub("^%[", ""):gsub("%]$", ""):gsub("^%.", "")
    if entry == "*" or entry == host or host:sub(-#entry - 1) == "." .. entry then return true end
  end
  return false
end

--- The proxy libcurl uses for url with this environment (getenv), without
-- its user info, or nil: none for loopback, none when no_proxy names the
-- host; else http_proxy (http; lower case only, as libcurl), https_proxy or
-- HTTPS_PROXY (https), all_proxy or ALL_PROXY.
function M.proxy_for(url, getenv)
  getenv = getenv or os.getenv
  local p = M.parse(url)
  if not p or M.is_loopback(p.host) then return nil end
  local np = getenv("no_proxy") or getenv("NO_PROXY")
  if np and np ~= "" and no_proxy_match(np, p.host) then return nil end
  local names = p.scheme == "https" and { "https_proxy", "HTTPS_PROXY" } or { "http_proxy" }
  names[#names + 1] = "all_proxy"
  names[#names + 1] = "ALL_PROXY"
  for _, n in ipairs(names) do
    local v = getenv(n)
    if v and v ~= "" then
      -- shown, never with its credentials
      local shown = v:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1")
      if not shown:find("://", 1, true) then shown = "http://" .. shown:gsub("^[^/@]*@", "") end
      return shown
    end
  end
  return nil
end

return M
