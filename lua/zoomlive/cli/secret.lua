--- zoomlive.cli.secret: a secret (a stream key; a token or client secret
-- the shell took from a file) as an editor or a pipe gives it.
--
--   local key, why = secret.clean(text, "--stream-key-file x")
--
-- Takes away what editors and shells add around a one-line secret: a UTF-8
-- byte-order mark, CR LF or LF line ends, spaces, tabs, no-break and
-- zero-width spaces at either end, trailing blank lines and trailing NUL
-- bytes. Refuses, with a message that
-- never holds the secret, what cannot be a secret of one line: nothing left,
-- UTF-16 text, more than one non-blank line, NUL or other control characters
-- inside, or invalid UTF-8.
local format = string.format

local M = {}

M.MAX = 64 * 1024   -- bytes read at most

-- noun: what the secret is called in messages ("key" by default)
function M.clean(text, what, noun)
  noun = noun or "key"
  if text == nil or text == "" then return nil, what .. " is empty" end
  if #text > M.MAX then return nil, format("%s is longer than %d bytes: not a key", what, M.MAX) end
  local s = text
  if s:sub(1, 2) == "\255\254" or s:sub(1, 2) == "\254\255" then
    return nil, what .. " is UTF-16 text: save it as UTF-8"
  end
  if s:sub(1, 3) == "\239\187\191" then s = s:sub(4) end
  -- trailing NULs (a C string written whole) mixed with line ends and
  -- blanks, no-break spaces (U+00A0, what word processors and web pages
  -- paste) and zero-width ones (U+200B, U+FEFF) included
  local blank = { "^[ \t\r\n]+", "[ \t\r\n%z]+$", "^\194\160", "\194\160$", "^\226\128\139", "\226\128\139$",
    "^\239\187\191", "\239\187\191$" }
  repeat
    local before = s
    for _, p in ipairs(blank) do s = s:gsub(p, "") end
  until s == before
  if s == "" then return nil, what .. " holds only blank space" end
  if s:find("[\r\n]") then
    return nil, what .. " holds more than one line: put the " .. noun .. " alone on its line"
  end
  if s:find("\0", 1, true) then return nil, what .. " holds a NUL byte inside the " .. noun end
  if s:find("%c") then return nil, what .. " holds a control character inside the " .. noun end
  if not utf8.len(s) then return nil, what .. " is not valid UTF-8 text" end
  return s
end

return M
