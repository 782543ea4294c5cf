std = "lua54"
max_line_length = 160
files["spec/"] = { std = "+busted" }
-- LuaLS definitions: empty stubs whose arguments only carry annotations
files["types/"] = { ignore = { "211", "212", "241" } }
files["bench/wrk_patch.lua"] = { globals = { "wrk", "done" } }
exclude_files = { "build/", "build-*/", ".luarocks/", "lua_modules/" }
color = false
