-- tests/rockspec_check.lua ROOT: the rockspec lists every source of the rock.
-- Fails when a C file of the core or binding (csrc/zl_*.c, csrc/lzl*.c) or a
-- Lua module (lua/zoomlive/*.lua) is missing from it, or when it lists a file
-- that does not exist. The rockspec is loaded as LuaRocks loads it (a file
-- of assignments run in an empty environment).
local root = arg[1] or "."

local function ls(pattern)
  local p = assert(io.popen("cd '" .. root .. "' && ls " .. pattern .. " 2>/dev/null"))
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

local specs = ls("*.rockspec")
assert(#specs == 1, "expected exactly one rockspec in the root, found " .. #specs)
local env = {}
local chunk = assert(loadfile(root .. "/" .. specs[1], "t", env))
chunk()
local modules = assert(env.build and env.build.modules, "the rockspec has no build.modules")
assert(env.build.type == "builtin", "the rock builds with the builtin backend, not " .. tostring(env.build.type))

local problems = {}
local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end

-- C: every core and binding file, and nothing of the simulator
local core = modules["zoomlive.core"]
local listed = {}
for _, f in ipairs(core and core.sources or {}) do
  listed[f] = true
  if not io.open(root .. "/" .. f) then problem("%s lists %s, which does not exist", specs[1], f) end
  if f:find("/sim/", 1, true) then problem("%s lists the simulator's %s", specs[1], f) end
end
local nc = 0
for _, pat in ipairs({ "csrc/zl_*.c", "csrc/lzl*.c", "csrc/lzoomlive.c" }) do
  for _, f in ipairs(ls(pat)) do
    nc = nc + 1
    if not listed[f] then
      problem("%s is not in %s: add a line to core_sources", f, specs[1])
    end
  end
end

-- Lua: lua/zoomlive/NAME.lua is zoomlive.NAME (init.lua is zoomlive)
local files = {}
for name, v in pairs(modules) do
  if type(v) == "string" then
    files[v] = name
    if not io.open(root .. "/" .. v) then problem("%s: module %s is %s, which does not exist", specs[1], name, v) end
  end
end
local nl = 0
for _, f in ipairs(ls("lua/zoomlive/*.lua")) do
  nl = nl + 1
  local base = f:match("([^/]+)%.lua$")
  local want = base == "init" and "zoomlive" or "zoomlive." .. base
  if files[f] ~= want then
    problem("%s is not in %s as %s: add \"%s\" to lua_modules", f, specs[1], want, base)
  end
end

if #problems > 0 then
  io.stderr:write(table.concat(problems, "\n"), "\n")
  os.exit(1)
end
print(string.format("%s lists all %d C files of csrc/ (zl_*.c, lzl*.c, lzoomlive.c) and all %d Lua modules",
  specs[1], nc, nl))
