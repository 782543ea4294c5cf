-- `luarocks test` runs this script with the rock's Lua interpreter: busted's
-- task "installed" (see .busted), i.e. every spec against the installed
-- module. Extra arguments go to busted: `luarocks test -- -o TAP`.
local args = { [0] = "busted", "--run=installed" }
for i = 1, #arg do args[#args + 1] = arg[i] end
arg = args  -- luacheck: ignore 121 (busted reads the global arg)
require("busted.runner")({ standalone = false })
