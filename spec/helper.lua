-- Loaded by busted before the specs (see .busted): finds the build and the
-- simulator whether busted runs bare, from ctest, or from a fresh clone.
local build = os.getenv("ZOOMLIVE_BUILD_DIR") or "build"
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = build .. "/lib/?.so;" .. package.cpath
if not os.getenv("ZOOMLIVE_SIM") then
  -- testing.lua reads ZOOMLIVE_SIM; point it at this build's simulator
  local exe = build .. "/bin/zoomlive-sim"
  local f = io.open(exe)
  if f then
    f:close()
    local testing = require "zoomlive.testing"
    testing.default_exe = exe
  end
end
