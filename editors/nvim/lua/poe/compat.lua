-- The places where Neovim's API changed after 0.7. Each function picks the newer API
-- when it exists and falls back on the 0.7 one. Keep the newer branches small, because
-- the tests run on 0.7 only and reach them through stubs (tests/test_compat.lua).

local M = {}

--- Reports whether this Neovim is at least the given version, such as "0.11".
---@param version string
---@return boolean
function M.has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

--- Calls a method of an LSP client object. Neovim 0.11 made them methods (client:request)
--- and deprecated the 0.7 function fields (client.request).
---@param client table
---@param name string "request", "cancel_request", "stop", …
---@return any ...
function M.call(client, name, ...)
  if M.has("0.11") then
    return client[name](client, ...)
  end
  return client[name](...)
end

--- Starts an LSP client that is attached to no buffer and returns its id, or nil.
--- vim.lsp.start (0.8) attaches the current buffer unless it has opts.attach = false,
--- which arrived in 0.11, so older versions use vim.lsp.start_client (deprecated in 0.11).
---@param config table vim.lsp.ClientConfig
---@return integer|nil
function M.start_client(config)
  if vim.lsp.start and M.has("0.11") then
    return vim.lsp.start(config, { attach = false })
  end
  return vim.lsp.start_client(config)
end

--- Returns the LSP log level, such as vim.log.levels.WARN, and the log file.
---@return integer level, string path
function M.lsp_log()
  local log = require("vim.lsp.log")
  return log.get_level(), vim.lsp.get_log_path()
end

--- Returns the command that opens a URL with the platform's default program, or nil and
--- the reason when there is none.
---@param url string
---@return string[]|nil command, string|nil reason
function M.platform_opener(url)
  if vim.fn.has("mac") == 1 then
    return { "open", url }
  end
  if vim.fn.has("win32") == 1 then
    return { "rundll32", "url.dll,FileProtocolHandler", url }
  end
  if vim.fn.has("wsl") == 1 and vim.fn.executable("wslview") == 1 then
    return { "wslview", url }
  end
  if vim.fn.executable("xdg-open") == 1 then
    return { "xdg-open", url }
  end
  return nil, "no program to open a browser was found (tried xdg-open)"
end

--- Opens url in the default browser, with vim.ui.open (0.10) when it exists. Returns
--- false and the reason when nothing could be started; whether a browser then shows the
--- page is beyond what Neovim can see.
---@param url string
---@return boolean ok, string|nil reason
function M.open_url(url)
  if vim.ui.open then
    local _, err = vim.ui.open(url)
    if err then
      return false, err
    end
    return true
  end

  local command, reason = M.platform_opener(url)
  if not command then
    return false, reason
  end
  local job = vim.fn.jobstart(command, { detach = true })
  if job <= 0 then
    return false, ("%s could not be started"):format(command[1])
  end
  return true
end

---@class poe.HealthReporter
---@field start fun(name: string)
---@field ok fun(message: string)
---@field info fun(message: string)
---@field warn fun(message: string, advice: string[]|string|nil)
---@field error fun(message: string, advice: string[]|string|nil)

--- Returns the :checkhealth reporting functions: vim.health.start/ok/… (0.9 and newer),
--- else the report_* functions of vim.health, else those of the "health" module (0.7).
---@return poe.HealthReporter
function M.health()
  local health = vim.health
  if health and health.start then
    return { start = health.start, ok = health.ok, info = health.info, warn = health.warn, error = health.error }
  end
  if not (health and health.report_start) then
    health = require("health")
  end
  return {
    start = health.report_start,
    ok = health.report_ok,
    info = health.report_info,
    warn = health.report_warn,
    error = health.report_error,
  }
end

--- Reports whether Neovim runs in an SSH session, where a browser on the user's own
--- machine cannot reach the sidecar's callback on this machine's 127.0.0.1.
---@return boolean
function M.is_remote()
  for _, name in ipairs({ "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY" }) do
    local value = vim.env[name]
    if value and value ~= "" then
      return true
    end
  end
  return false
end

return M
