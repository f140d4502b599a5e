-- Options of the Poe plugin: defaults, checks and the merged values in use.

local M = {}

---@alias poe.Keymap table<string, string|false>  mode ("n", "i", …) to left-hand side; false turns one off

---@class poe.ChatOptions
---@field layout "vertical"|"horizontal"|"tab"|"current" where a new chat window opens
---@field size integer|nil width of a vertical split or height of a horizontal one, in cells (nil: half)
---@field system_prompt string|nil system message sent first in every chat

---@class poe.Options
---@field cmd string[] the sidecar command and its arguments
---@field cmd_env table<string, string>|nil extra environment variables for the sidecar
---@field init_options table initializationOptions sent to the sidecar (baseUrl, logLevel, …)
---@field model string|nil default model id; with nil, the first :PoeChat opens the model picker
---@field max_restarts integer restarts after crashes allowed within three minutes
---@field open_url fun(url: string)|nil opens the sign-in page; nil uses the system browser
---@field chat poe.ChatOptions
---@field keymaps table<string, poe.Keymap|false> keys in chat buffers: send, stop, close

---@type poe.Options
M.defaults = {
  cmd = { "poe-sidecar" },
  cmd_env = nil,
  init_options = {},
  model = nil,
  max_restarts = 3,
  open_url = nil,
  chat = {
    layout = "vertical",
    size = nil,
    system_prompt = nil,
  },
  keymaps = {
    send = { n = "<CR>", i = "<C-s>" },
    stop = { n = "<C-c>" },
    close = { n = "q" },
  },
}

local layouts = { vertical = true, horizontal = true, tab = true, current = true }

--- Names of the top-level options, listed apart from the defaults because several
--- default to nil.
M.option_names = { "cmd", "cmd_env", "init_options", "model", "max_restarts", "open_url", "chat", "keymaps" }

--- Names of the options inside chat.
M.chat_option_names = { "layout", "size", "system_prompt" }

---@type poe.Options
local current = vim.deepcopy(M.defaults)

--- The sidecar's initializationOptions (protocol version 1), each with a check that
--- returns what the value must be when it is wrong. They are checked here because
--- Neovim 0.7 turns a failed initialize request into a stack trace, and the sidecar
--- ignores keys it does not know.
---@type table<string, fun(value: any): string|nil>
local init_option_checks = {
  baseUrl = function(value)
    if type(value) ~= "string" or not value:match("^https?://") then
      return "an http:// or https:// URL"
    end
  end,
  openBrowser = function(value)
    if type(value) ~= "boolean" then
      return "true or false"
    end
  end,
  logLevel = function(value)
    if not vim.tbl_contains({ "debug", "info", "warn", "error" }, value) then
      return "\"debug\", \"info\", \"warn\" or \"error\""
    end
  end,
}

local WEEK_SECONDS = 7 * 24 * 3600

---@param value any
---@return string|nil
local function check_seconds(value)
  if type(value) ~= "number" or value <= 0 or value > WEEK_SECONDS then
    return ("a number of seconds above 0 and at most %d (a week)"):format(WEEK_SECONDS)
  end
end
init_option_checks.signInTimeoutSeconds = check_seconds
init_option_checks.streamIdleTimeoutSeconds = check_seconds

--- Names of the keys of the init_options option, sorted.
M.init_option_names = vim.tbl_keys(init_option_checks)
table.sort(M.init_option_names)

---@param init_options table
local function check_init_options(init_options)
  for key, value in pairs(init_options) do
    local check = init_option_checks[key]
    if not check then
      error(
        ("poe: unknown option init_options.%s; the sidecar takes %s"):format(
          tostring(key),
          table.concat(M.init_option_names, ", ")
        ),
        0
      )
    end
    local want = check(value)
    if want then
      error(("poe: option init_options.%s must be %s, not %s"):format(key, want, vim.inspect(value)), 0)
    end
  end
end

---@param name string
---@param value any
---@param expected string Lua type name
---@param optional boolean|nil
local function check_type(name, value, expected, optional)
  if value == nil and optional then
    return
  end
  if type(value) ~= expected then
    error(("poe: option %s must be a %s, not %s"):format(name, expected, vim.inspect(value)), 0)
  end
end

---@param name string
---@param value any
local function check_keymap(name, value)
  if value == false then
    return
  end
  check_type(name, value, "table")
  for mode, lhs in pairs(value) do
    if type(mode) ~= "string" or (lhs ~= false and type(lhs) ~= "string") then
      error(("poe: option %s must map modes to keys, such as { n = \"<CR>\" }, not %s"):format(name, vim.inspect(value)), 0)
    end
  end
end

---@param opts poe.Options
local function check(opts)
  if type(opts.cmd) == "string" then
    opts.cmd = { opts.cmd }
  end
  check_type("cmd", opts.cmd, "table")
  if type(opts.cmd[1]) ~= "string" or opts.cmd[1] == "" then
    error("poe: option cmd must start with the path or name of poe-sidecar, not " .. vim.inspect(opts.cmd), 0)
  end
  check_type("cmd_env", opts.cmd_env, "table", true)
  check_type("init_options", opts.init_options, "table")
  check_init_options(opts.init_options)
  check_type("model", opts.model, "string", true)
  check_type("max_restarts", opts.max_restarts, "number")
  if opts.max_restarts < 0 then
    error(("poe: option max_restarts must be 0 or more, not %d"):format(opts.max_restarts), 0)
  end
  check_type("open_url", opts.open_url, "function", true)

  check_type("chat", opts.chat, "table")
  for key in pairs(opts.chat) do
    if not vim.tbl_contains(M.chat_option_names, key) then
      error(("poe: unknown option chat.%s; see :help poe-options"):format(key), 0)
    end
  end
  if not layouts[opts.chat.layout] then
    error(
      ("poe: option chat.layout must be \"vertical\", \"horizontal\", \"tab\" or \"current\", not %s"):format(
        vim.inspect(opts.chat.layout)
      ),
      0
    )
  end
  check_type("chat.size", opts.chat.size, "number", true)
  check_type("chat.system_prompt", opts.chat.system_prompt, "string", true)

  check_type("keymaps", opts.keymaps, "table")
  for action, keymap in pairs(opts.keymaps) do
    if M.defaults.keymaps[action] == nil then
      error(("poe: unknown keymap %q: use send, stop or close"):format(action), 0)
    end
    check_keymap("keymaps." .. action, keymap)
  end
end

--- Merges opts over the defaults, checks the result and makes it current.
--- Raises an error that names the first invalid option; unknown top-level options are
--- rejected too, so a misspelt one does not pass unnoticed.
---@param opts table|nil
---@return poe.Options
function M.set(opts)
  opts = opts or {}
  for key in pairs(opts) do
    if not vim.tbl_contains(M.option_names, key) then
      error(("poe: unknown option %q; see :help poe-options"):format(key), 0)
    end
  end

  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  -- A list replaces the default list instead of merging with it index by index.
  if type(opts.cmd) == "table" then
    merged.cmd = vim.deepcopy(opts.cmd)
  end
  check(merged)
  current = merged
  return current
end

--- Returns the options in use (the defaults until setup() is called).
---@return poe.Options
function M.get()
  return current
end

return M
