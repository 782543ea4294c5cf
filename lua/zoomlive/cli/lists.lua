--- zoomlive.cli.lists: the IDs a run works on, from arguments or a file.
--
--   local rows, err = lists.read(o, read_input, kind)
--
-- rows[i] = { n = input row number, line = file line | nil, raw = text,
--             id = digits | nil, err = argument error | nil,
--             dup_of = the row number of the first listing | nil }
-- err: a one-line usage message (the file cannot be read, no such column...).
-- A file holds one ID per line, or with `column` a CSV whose first line
-- names the columns (a quoted field may span lines, RFC 4180). Blank lines
-- and lines starting with '#' are skipped; CR
-- LF, a missing final newline and a leading UTF-8 byte-order mark are
-- handled. A bad row keeps its line number and the reason; the good rows
-- stand. An ID listed twice gets `dup_of` on its second row.
local validate = require "zoomlive.validate"
local errors = require "zoomlive.errors"

local format = string.format

local M = {}

local BOM = "\239\187\191"

local function trim(s)
  return (s:gsub("^[ \t]+", ""):gsub("[ \t]+$", ""))
end

-- One CSV line -> fields, or nil and why (RFC 4180 quoting, on one line).
local function csv_fields(line)
  local fields, i, n = {}, 1, #line
  while true do
    local c = line:sub(i, i)
    if c == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "a quoted field is not closed" end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      local rest = line:match("^[ \t]*", i)
      i = i + #rest
      local d = line:sub(i, i)
      if d == "" then return fields end
      if d ~= "," then return nil, "text after a quoted field" end
      i = i + 1
    else
      local comma = line:find(",", i, true)
      if not comma then
        fields[#fields + 1] = line:sub(i)
        return fields
      end
      fields[#fields + 1] = line:sub(i, comma - 1)
      i = comma + 1
      if i > n then
        fields[#fields + 1] = ""
        return fields
      end
    end
  end
end
M.csv_fields = csv_fields

local function shown(s) return (tostring(s):gsub("%c", "?")) end

--- Splits text into lines: CR LF or LF, a final line without newline kept.
local function split_lines(text)
  local t = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do t[#t + 1] = (l:gsub("\r$", "")) end
  if text == "" or text:sub(-1) == "\n" then t[#t] = nil end
  return t
end

--- The rows of text (a file's content); name is for messages.
function M.parse(text, name, column, kind)
  if text:sub(1, 2) == "\255\254" or text:sub(1, 2) == "\254\255" then
    return nil, format("%s is UTF-16: save it as UTF-8", name)
  end
  if text:sub(1, 3) == BOM then text = text:sub(4) end
  local field = kind .. "_id"
  local rows, col = {}, nil
  local lines = split_lines(text)
  local ln = 0
  while ln < #lines do
    ln = ln + 1
    local t = trim(lines[ln])
    if t == "" or t:sub(1, 1) == "#" then goto next end
    if column and not col then
      local names, why = csv_fields(t)
      if not names then return nil, format("%s line %d: the header %s", name, ln, why) end
      for k, v in ipairs(names) do
        if trim(v) == column then col = k break end
      end
      if not col then
        for k, v in ipairs(names) do names[k] = shown(trim(v)) end
        return nil, format("%s has no column '%s' (its header has: %s)", name, shown(column),
          table.concat(names, ", "))
      end
      goto next
    end
    do
      local row = { line = ln, raw = t }
      local value = t
      if col then
        local fs, why = csv_fields(t)
        -- a quoted field may hold line breaks (RFC 4180): the record goes
        -- on over the next lines, and is one row (never one per line)
        local first = ln
        while not fs and why == "a quoted field is not closed" and ln < #lines do
          ln = ln + 1
          t = t .. "\n" .. lines[ln]
          fs, why = csv_fields(t)
        end
        if ln > first then row.raw = t end
        if not fs then
          row.err = errors.argument(field, why)
        elseif fs[col] == nil then
          row.err = errors.argument(field, format("no column %d on this line", col))
        else
          value = trim(fs[col])
        end
      end
      if not row.err then
        if value == "" then
          row.err = errors.argument(field, "is empty")
        elseif value:find(",", 1, true) and not col then
          row.err = errors.argument(field, "holds a comma (for a CSV file, name the column with --column)")
        else
          local id, err = validate.id(value, field, "zoomlive", 1)
          row.id, row.err = id, err
        end
      end
      rows[#rows + 1] = row
    end
    ::next::
  end
  if column and not col then return nil, format("%s has no header line", name) end
  return rows
end

--- All rows of a run: arguments first, then the file (`from`).
-- read_input(path) -> text | nil, why  (path "-" = stdin)
function M.read(o, read_input, kind)
  local rows = {}
  for _, raw in ipairs(o.ids or {}) do
    local id, err = validate.id(raw, kind .. "_id", "zoomlive", 1)
    rows[#rows + 1] = { raw = raw, id = id, err = err, arg = true }
  end
  if o.column and not o.from then return nil, "--column needs --from FILE" end
  if o.from then
    local name = o.from == "-" and "stdin" or o.from
    local text, why = read_input(o.from)
    if not text then return nil, format("cannot read --from %s: %s", shown(name), shown(why)) end
    local frows, err = M.parse(text, name, o.column, kind)
    if not frows then return nil, err end
    for _, r in ipairs(frows) do rows[#rows + 1] = r end
  end
  local first = {}
  for n, r in ipairs(rows) do
    r.n = n
    if r.id then
      if first[r.id] then r.dup_of = first[r.id] else first[r.id] = n end
    end
  end
  return rows
end

return M
