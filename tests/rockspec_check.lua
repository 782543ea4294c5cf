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

-- External libraries: a C file including <curl/...> or <openssl/...> needs
-- the library linked and declared as an external dependency
local LIBS = { curl = { lib = "curl", dep = "CURL" }, openssl = { lib = "crypto", dep = "OPENSSL" } }
local SYSTEM = { sys = true, netinet = true, arpa = true, linux = true, bits = true }
local libraries = {}
for _, l in ipairs(core and core.libraries or {}) do libraries[l] = true end
local ext = env.external_dependencies or {}
for f in pairs(listed) do
  local src = io.open(root .. "/" .. f)
  if src then
    for family in src:read("a"):gmatch("#%s*include%s*<([%w_]+)/") do
      local want = LIBS[family]
      if want then
        if not libraries[want.lib] then problem("%s includes <%s/...>: add \"%s\" to zoomlive.core's libraries", f, family, want.lib) end
        if not ext[want.dep] then problem("%s includes <%s/...>: declare external_dependencies.%s = { library = \"%s\" }", f, family, want.dep, want.lib) end
      elseif not SYSTEM[family] then
        problem("%s includes <%s/...>, a library the rockspec does not know: declare it and teach tests/rockspec_check.lua", f, family)
      end
    end
    src:close()
  end
end

-- Lua: every file under lua/zoomlive/ is a module: lua/zoomlive/x.lua is
-- zoomlive.x, lua/zoomlive/x/y.lua zoomlive.x.y, lua/zoomlive/x/init.lua zoomlive.x
local files = {}
for name, v in pairs(modules) do
  if type(v) == "string" then
    files[v] = name
    if not io.open(root .. "/" .. v) then problem("%s: module %s is %s, which does not exist", specs[1], name, v) end
  end
end
local lua_files = ls("lua/zoomlive/*.lua lua/zoomlive/*/*.lua lua/zoomlive/*/*/*.lua")
for _, f in ipairs(lua_files) do
  local path = f:match("^lua/zoomlive/(.*)%.lua$")
  local want = ("zoomlive/" .. path):gsub("/init$", ""):gsub("/", ".")
  if files[f] ~= want then
    problem("%s is not in %s as %s: add \"%s\" to lua_modules", f, specs[1], want, path)
  end
end

-- Rocks: a module required at the top of a Lua file (so loading it needs
-- it) must come from a declared dependency; requires inside functions are
-- optional backends, loaded when asked for.
local ROCKS = { cjson = "lua-cjson", ["cjson.safe"] = "lua-cjson", argparse = "argparse", luv = "luv",
  socket = "luasocket", cqueues = "cqueues" }
local STD = { string = true, table = true, math = true, io = true, os = true, coroutine = true,
  debug = true, utf8 = true, package = true }
local declared = {}
for _, d in ipairs(env.dependencies or {}) do declared[d:match("^%s*([%w_.-]+)")] = true end
for _, f in ipairs(lua_files) do
  local src = io.open(root .. "/" .. f)
  local n = 0
  for line in src:lines() do
    n = n + 1
    local mod = line:match("^local%s+[%w_,%s]+=%s*require%s*%(?%s*[\"']([%w_.]+)[\"']")
      or line:match("^require%s*%(?%s*[\"']([%w_.]+)[\"']")
    if mod and not mod:match("^zoomlive") and not STD[mod] then
      local rock = ROCKS[mod]
      if not rock then
        problem("%s:%d requires %s at load time: map it to its rock in tests/rockspec_check.lua and declare it", f, n, mod)
      elseif not declared[rock] then
        problem("%s:%d requires %s at load time: add \"%s\" to the rockspec's dependencies", f, n, mod, rock)
      end
    end
  end
  src:close()
end

if #problems > 0 then
  io.stderr:write(table.concat(problems, "\n"), "\n")
  os.exit(1)
end
print(string.format("%s lists all %d C files of csrc/ (zl_*.c, lzl*.c, lzoomlive.c) and all %d Lua modules; "
  .. "their libraries and rocks are declared", specs[1], nc, #lua_files))
