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
-- testsys (poll, fork, pipe for a few specs) is a test-only C module that
-- CMake builds beside the simulator: ZOOMLIVE_TESTSYS, else build/lib's
local testsys = os.getenv("ZOOMLIVE_TESTSYS") or ((os.getenv("ZOOMLIVE_BUILD_DIR") or "build") .. "/lib/testsys.so")
local f = io.open(testsys)
if f then
  f:close()
  package.preload.testsys = function() return assert(package.loadlib(testsys, "luaopen_testsys"))() end
end
