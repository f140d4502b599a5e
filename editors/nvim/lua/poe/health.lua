-- :checkhealth poe: the sidecar binary and its version, the protocol version, the sign-in
-- state, the key file, and the network settings the sidecar will use.

local compat = require("poe.compat")
local config = require("poe.config")
local sidecar = require("poe.sidecar")

local M = {}

-- Generous, because the first request may start the sidecar and ask Poe.
local TIMEOUT_MS = 15000

---@param name string
---@return string|nil the variable as the sidecar sees it: cmd_env wins over Neovim's environment
local function sidecar_env(name)
  local env = config.get().cmd_env or {}
  local value = env[name]
  if value == nil then
    value = vim.env[name]
  end
  if value == "" then
    return nil
  end
  return value
end

--- Removes the user and password from a proxy URL such as http://user:secret@proxy:3128.
---@param url string
---@return string
local function redact_userinfo(url)
  return (url:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1…@"))
end

---@param report poe.HealthReporter
---@return string[]|nil cmd
local function check_binary(report)
  report.start("poe: sidecar")
  if vim.fn.has("nvim-0.7") == 1 then
    report.ok("Neovim " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor))
  end

  local cmd, missing = sidecar.resolve_cmd()
  if not cmd then
    report.error(missing)
    return nil
  end
  report.ok("poe-sidecar found: " .. cmd[1])

  local output = vim.fn.system({ cmd[1], "version" })
  if vim.v.shell_error ~= 0 then
    report.error(("`%s version` failed with exit code %d: %s"):format(cmd[1], vim.v.shell_error, vim.trim(output)))
    return cmd
  end
  report.ok("version: " .. vim.trim(output))
  return cmd
end

---@param report poe.HealthReporter
---@return boolean started
local function check_protocol(report)
  local client, err = sidecar.ensure_started()
  if not client then
    report.error(err)
    return false
  end
  local ready = vim.wait(TIMEOUT_MS, function()
    return sidecar.info() ~= nil or compat.call(client, "is_stopped")
  end, 20)
  local info = sidecar.info()
  if not ready or not info then
    report.error("poe-sidecar did not finish the LSP handshake; see :LspLog and the sidecar's log file.")
    return false
  end

  if info.protocol == sidecar.PROTOCOL_VERSION then
    report.ok(("protocol version %d"):format(info.protocol))
  else
    report.error(
      ("protocol version %s, but this plugin speaks version %d"):format(tostring(info.protocol), sidecar.PROTOCOL_VERSION),
      { "Install the sidecar release that matches the plugin." }
    )
  end
  report.info("sidecar log: " .. (info.log_file or "stderr (see :LspLog)"))
  return true
end

---@param report poe.HealthReporter
local function check_sign_in(report)
  local err, state = sidecar.request_sync("auth/status", nil, TIMEOUT_MS)
  if err then
    report.error("auth/status failed: " .. tostring(err.message))
    return
  end

  local lines = require("poe.status").describe(state)
  if state.problem then
    report.error(table.concat(lines, " "))
  elseif state.signedIn then
    report.ok(table.concat(lines, " "))
  else
    report.warn(table.concat(lines, " "))
  end
end

---@class poe.KeyFileState
---@field path string
---@field stat table|nil nil when the file does not exist
---@field readable boolean

--- Looks at the key file without reading it. This runs before the sidecar is started
--- or asked anything, because the sidecar removes the permissions of other users when
--- it reads the file, and the check must still see them.
---@return poe.KeyFileState
local function key_file_state()
  local data_home = sidecar_env("XDG_DATA_HOME") or (vim.loop.os_homedir() .. "/.local/share")
  local path = data_home .. "/poe-sidecar/auth.json"
  local stat = vim.loop.fs_stat(path)
  -- fs_access checks permission without reading the key.
  return { path = path, stat = stat, readable = stat ~= nil and vim.loop.fs_access(path, "R") == true }
end

---@param report poe.HealthReporter
---@param key_file poe.KeyFileState
local function check_key_file(report, key_file)
  local path, stat = key_file.path, key_file.stat
  if not stat then
    report.info("no key file at " .. path .. " (it is written at the first sign-in)")
    return
  end
  if not key_file.readable then
    report.error("key file " .. path .. " is not readable", { "Fix its owner, or sign in again." })
    return
  end
  local mode = stat.mode % 512
  if mode % 64 ~= 0 then
    report.warn(("key file %s has mode %o, so other users can read it"):format(path, mode), {
      "poe-sidecar removes their permissions the next time it reads the file; to do it now, run: chmod 600 "
        .. vim.fn.shellescape(path),
      "If another user could read it, delete the key at https://poe.com/api/keys and sign in again.",
    })
    return
  end
  report.ok(("key file %s is readable (mode %o)"):format(path, mode))
end

---@param report poe.HealthReporter
---@param started boolean whether the sidecar runs, so that Poe can be asked
local function check_network(report, started)
  report.start("poe: network")
  local base_url = config.get().init_options.baseUrl or sidecar_env("POE_BASE_URL") or "https://api.poe.com/v1"
  report.info("Poe API: " .. base_url)
  for _, name in ipairs({ "POE_OAUTH_AUTHORIZE_URL", "POE_OAUTH_TOKEN_URL", "POE_OAUTH_CLIENT_ID" }) do
    local value = sidecar_env(name)
    if value then
      report.info(name .. "=" .. value)
    end
  end
  if sidecar_env("POE_API_KEY") then
    report.info("POE_API_KEY is set, so its key is used instead of the key file")
  else
    report.info("POE_API_KEY is not set, so the key comes from the key file")
  end

  local proxied = false
  for _, name in ipairs({ "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy" }) do
    local value = sidecar_env(name)
    if value then
      proxied = true
      report.info(name .. "=" .. redact_userinfo(value))
    end
  end
  if not proxied then
    report.info("no proxy variables set (HTTPS_PROXY, NO_PROXY)")
  end
  local cert_file = sidecar_env("SSL_CERT_FILE")
  if cert_file then
    if vim.loop.fs_stat(cert_file) then
      report.info("SSL_CERT_FILE=" .. cert_file)
    else
      report.error("SSL_CERT_FILE names a file that does not exist: " .. cert_file)
    end
  end

  if not started then
    return
  end
  local err, result = sidecar.request_sync("provider/models", vim.empty_dict(), TIMEOUT_MS)
  if err then
    report.error("listing Poe's models failed: " .. require("poe.notify").format_error(err):gsub("\n", " "))
    return
  end
  report.ok(("Poe is reachable: it lists %d models"):format(#(result.models or {})))
end

--- Runs the checks of :checkhealth poe.
function M.check()
  local report = compat.health()
  local key_file = key_file_state()
  local cmd = check_binary(report)
  local started = cmd ~= nil and check_protocol(report)

  report.start("poe: sign-in")
  if started then
    check_sign_in(report)
  end
  check_key_file(report, key_file)

  check_network(report, started)
end

return M
