-- Loaded by `busted --run=installed` (what `luarocks test` runs): the specs
-- use the zoomlive that LUA_PATH/LUA_CPATH reach, and refuse the checkout's.
package.path = "spec/?.lua;" .. package.path
local here = io.popen("pwd"):read("l")
for _, name in ipairs({ "zoomlive", "zoomlive.core" }) do
  local where = package.searchpath(name, name == "zoomlive" and package.path or package.cpath)
  if not where then
    error(name .. " is not installed where LUA_PATH/LUA_CPATH look: install the rock, then "
      .. "eval \"$(luarocks --lua-version=5.4 path)\"", 0)
  end
  if where:sub(1, 4) == "lua/" or where:sub(1, 6) == "build/" or where:find(here .. "/lua/", 1, true)
      or where:find(here .. "/build/", 1, true) then
    error(name .. " resolves to the checkout (" .. where .. "), not to an installed copy", 0)
  end
end
-- The simulator is not part of the rock: ZOOMLIVE_SIM, else a CMake build's
-- build/bin/zoomlive-sim in this checkout, else zoomlive-sim on PATH.
if not os.getenv("ZOOMLIVE_SIM") then
  local exe = (os.getenv("ZOOMLIVE_BUILD_DIR") or "build") .. "/bin/zoomlive-sim"
  local f = io.open(exe)
  if f then
    f:close()
    require("zoomlive.testing").default_exe = exe
  end
end
-- testsys (poll, fork, pipe for a few specs), a test-only C module, comes
-- from a CMake build (ZOOMLIVE_TESTSYS, else ZOOMLIVE_BUILD_DIR's or build/'s
-- lib/testsys.so). The specs of zoomlive.hiredis, an optional module the
-- rock does not build, are left out of this task (.busted).
local build = os.getenv("ZOOMLIVE_BUILD_DIR") or "build"
local extra = {
  testsys = { os.getenv("ZOOMLIVE_TESTSYS") or (build .. "/lib/testsys.so"), "luaopen_testsys" },
}
for name, m in pairs(extra) do
  local f = io.open(m[1])
  if f then
    f:close()
    package.preload[name] = function() return assert(package.loadlib(m[1], m[2]))() end
  end
end
