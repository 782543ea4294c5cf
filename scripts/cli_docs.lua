-- scripts/cli_docs.lua SRC_DIR OUT_DIR VERSION
-- Writes what comes from the zoomlive command's one definition
-- (lua/zoomlive/cli/args.lua): the man page and the completion scripts.
--   OUT_DIR/man/man1/zoomlive.1
--   OUT_DIR/completions/zoomlive.bash, _zoomlive (zsh), zoomlive.fish
local src, outdir, version = arg[1], arg[2], arg[3]
assert(src and outdir, "usage: lua5.4 scripts/cli_docs.lua SRC_DIR OUT_DIR [VERSION]")
package.path = src .. "/lua/?.lua;" .. src .. "/lua/?/init.lua;" .. package.path
local args = require "zoomlive.cli.args"

local function write(path, text)
  os.execute("mkdir -p '" .. path:match("^(.*)/[^/]*$"):gsub("'", "'\\''") .. "'")
  local f = assert(io.open(path, "wb"))
  f:write(text)
  assert(f:close())
end

write(outdir .. "/man/man1/zoomlive.1", args.manpage(version))
write(outdir .. "/completions/zoomlive.bash", args.completion("bash"))
write(outdir .. "/completions/_zoomlive", args.completion("zsh"))
write(outdir .. "/completions/zoomlive.fish", args.completion("fish"))
