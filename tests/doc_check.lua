-- tests/doc_check.lua [ROOT]: every public function has its documentation.
--
-- The public functions are found at run time, wherever they are defined:
-- every function of the module table zoomlive, the methods of a client
-- (the __index table of zoomlive.new{}'s metatable, names without a leading
-- "_"), zoomlive.errors, zoomlive.testing and its simulator object, and
-- zoomlive.webhook when it exists. For each, an LDoc comment must exist in
-- lua/zoomlive/*.lua (named by the `function` line under it or by an
-- @function tag) with a summary, an @param/@tparam for every named
-- parameter (at least one for a vararg-only function), a @return/@treturn
-- and a @usage; its file must be one config.ld gives LDoc; and the LuaLS
-- definitions in types/ must declare it.
-- Run with LUA_PATH/LUA_CPATH reaching the checkout's modules and a build's core.
local root = arg[1] or "."

local function read(path)
  local f = io.open(root .. "/" .. path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function ls(pattern)
  local p = assert(io.popen("cd '" .. root .. "' && ls " .. pattern .. " 2>/dev/null"))
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

-- LDoc comment blocks: `---` then `--` lines; the name comes from an
-- @function tag or from the function definition on the next line.
local entries = {}          -- list of {file, line, name, params = set, ret, usage, summary}
for _, file in ipairs(ls("lua/zoomlive/*.lua")) do
  local lines = {}
  for l in (read(file) .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local i = 1
  while i <= #lines do
    local first = lines[i]:match("^%s*%-%-%-%s?(.*)$")
    if first and not lines[i]:match("^%s*%-%-%-%-") then
      local e = { file = file, line = i, params = {}, nparams = 0, summary = first:match("^%s*(.-)%s*$") }
      local j = i
      repeat
        local c = lines[j]:match("^%s*%-%-%-?%s?(.*)$")
        local tag, rest = c:match("^%s*@(%w+)%S*%s*(.*)$")
        if tag == "function" then
          e.name = rest:match("^([%w_.:]+)")
        elseif tag == "param" then
          local n = rest:match("^([%w_%.]+)")
          if n then e.params[n] = true; e.nparams = e.nparams + 1 end
        elseif tag == "tparam" then
          local n = rest:match("^%S+%s+([%w_%.]+)")
          if n then e.params[n] = true; e.nparams = e.nparams + 1 end
        elseif tag == "return" or tag == "treturn" then
          e.ret = true
        elseif tag == "usage" then
          e.usage = true
        end
        j = j + 1
      until j > #lines or not lines[j]:match("^%s*%-%-")
      if not e.name then
        local code = lines[j] or ""
        e.name = code:match("^%s*function%s+([%w_.:]+)%s*%(") or code:match("^%s*([%w_.]+)%s*=%s*function")
      end
      if e.name then entries[#entries + 1] = e end
      i = j
    else
      i = i + 1
    end
  end
end

-- the entries documenting `name` ("update", "Client:update"), in `file` if given
local function find(name, file, method)
  local found = {}
  for _, e in ipairs(entries) do
    if not file or e.file == file then
      local n = e.name
      if method then
        if n == method .. ":" .. name then found[#found + 1] = e end
      elseif not n:find(":", 1, true) and (n == name or n:match("%.([%w_]+)$") == name) then
        found[#found + 1] = e
      end
    end
  end
  return found
end

local function params_of(f)
  local names = {}
  local info = debug.getinfo(f, "u")
  for i = 1, info.nparams do
    local n = debug.getlocal(f, i)
    if n ~= "self" then names[#names + 1] = n end
  end
  return names, info.isvararg
end

-- the LDoc files and the LuaLS definitions
local config = {}
assert(loadfile(root .. "/config.ld", "t", config))()
local ldoc_files = {}
for _, f in ipairs(config.file or {}) do ldoc_files[f] = true end
local meta = {}
for _, f in ipairs(ls("types/*.lua")) do meta[#meta + 1] = read(f) end
meta = table.concat(meta, "\n")

local problems, checked = {}, 0
local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end

-- what: "zoomlive.update"; name: "update"; method: "Client" for methods;
-- file: the file that must hold the doc (nil: any); decl: LuaLS declaration
local function check(what, f, name, method, file, decl)
  checked = checked + 1
  if not meta:find(decl .. "(", 1, true) then problem("%s: types/ declares no '%s(...)'", what, decl) end
  local found = find(name, file, method)
  if #found == 0 then
    problem("%s has no doc comment (%s)", what, file or "lua/zoomlive/*.lua")
    return
  end
  -- a function may have a short comment at its code and its full doc
  -- elsewhere: the most complete one counts
  local best
  for _, e in ipairs(found) do
    local where, mine = e.file .. ":" .. e.line, {}
    if e.summary == "" then mine[#mine + 1] = string.format("%s (%s): no summary line", what, where) end
    local names, vararg = params_of(f)
    for _, n in ipairs(names) do
      if not e.params[n] then mine[#mine + 1] = string.format("%s (%s): no @param for '%s'", what, where, n) end
    end
    if #names == 0 and vararg and e.nparams == 0 then
      mine[#mine + 1] = string.format("%s (%s): takes arguments (...) but documents none", what, where)
    end
    if not e.ret then
      mine[#mine + 1] = string.format("%s (%s): no @return (write '@return nothing' when it returns nothing)",
        what, where)
    end
    if not e.usage then mine[#mine + 1] = string.format("%s (%s): no @usage example", what, where) end
    if not ldoc_files[e.file] then
      mine[#mine + 1] = string.format("%s: %s is not in config.ld's file list", what, e.file)
    end
    if not best or #mine < #best then best = mine end
  end
  for _, p in ipairs(best) do problems[#problems + 1] = p end
end

local function public_functions(t)
  local names = {}
  for k, v in pairs(t) do
    if type(k) == "string" and type(v) == "function" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

local zoomlive = require "zoomlive"
for _, n in ipairs(public_functions(zoomlive)) do
  check("zoomlive." .. n, zoomlive[n], n, nil, "lua/zoomlive/init.lua", "function zoomlive." .. n)
end

local client = zoomlive.new { token = "doc-check", base_url = "http://127.0.0.1:9/v2" }
local index = getmetatable(client).__index
assert(type(index) == "table", "a client's metatable has no __index table")
for _, n in ipairs(public_functions(index)) do
  check("client:" .. n, index[n], n, "Client", nil, "function Client:" .. n)
end
client:close()

local errors = require "zoomlive.errors"
for _, n in ipairs(public_functions(errors)) do
  check("zoomlive.errors." .. n, errors[n], n, nil, "lua/zoomlive/errors.lua", "function errors." .. n)
end

local testing = require "zoomlive.testing"
for _, n in ipairs(public_functions(testing)) do
  check("zoomlive.testing." .. n, testing[n], n, nil, "lua/zoomlive/testing.lua", "function testing." .. n)
end
-- the simulator object's class: the upvalue Sim of testing.start
local Sim
for i = 1, math.huge do
  local n, v = debug.getupvalue(testing.start, i)
  if not n then break end
  if n == "Sim" then Sim = v end
end
if type(Sim) ~= "table" then
  problem("zoomlive.testing.start has no upvalue Sim: teach tests/doc_check.lua where the simulator class is")
else
  for _, n in ipairs(public_functions(Sim)) do
    check("sim:" .. n, Sim[n], n, "Sim", "lua/zoomlive/testing.lua", "function Sim:" .. n)
  end
end

if package.searchpath("zoomlive.webhook", package.path) then
  local webhook = require "zoomlive.webhook"
  for _, n in ipairs(public_functions(webhook)) do
    check("zoomlive.webhook." .. n, webhook[n], n, nil, "lua/zoomlive/webhook.lua", "function webhook." .. n)
  end
end

if #problems > 0 then
  io.stderr:write(table.concat(problems, "\n"), "\n")
  io.stderr:write(#problems, " problem(s) in the documentation of ", checked, " public functions\n")
  os.exit(1)
end
print(string.format("%d public functions documented (summary, params, returns, usage; in LDoc's files; in types/)",
  checked))
