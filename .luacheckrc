std = "lua54"
max_line_length = 160
files["spec/"] = { std = "+busted" }
files["bench/wrk_patch.lua"] = { globals = { "wrk", "done" } }
exclude_files = { "build/", "build-*/", ".luarocks/", "lua_modules/" }
color = false
