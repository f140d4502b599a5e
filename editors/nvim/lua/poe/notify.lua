-- User messages: every one goes through vim.notify with a "Poe: " prefix, and sidecar
-- errors are turned into a sentence plus the hint their data carries.

local M = {}

local levels = vim.log.levels

---@class poe.Error
---@field code integer|nil JSON-RPC error code; nil for an error raised inside Neovim
---@field message string a sentence for the user
---@field data poe.ErrorData|nil

---@class poe.ErrorData
---@field reason string|nil such as "not_signed_in", "expired", "rate_limited"
---@field action string|nil "signIn" when signing in again is the fix
---@field status integer|nil Poe's HTTP status
---@field type string|nil Poe's error type, or the OAuth error
---@field message string|nil Poe's own message, or the OAuth error_description
---@field retryAfter integer|nil seconds to wait before retrying
---@field expiresAt string|nil RFC 3339 time the key expired
---@field path string|nil the key file that cannot be read

--- JSON-RPC code of a cancelled request (LSP's RequestCancelled).
M.CANCELLED = -32800

--- Creates an error raised inside Neovim, in the shape of the sidecar's errors.
---@param reason string
---@param message string
---@return poe.Error
function M.local_error(reason, message)
  return { message = message, data = { reason = reason } }
end

---@param value any
---@return any value, or nil for JSON null
local function present(value)
  if value == vim.NIL then
    return nil
  end
  return value
end

--- Formats err as one message: the sidecar's sentence, then Poe's own words and what to
--- do next, each on its own line.
---@param err poe.Error|string
---@param context string|nil what was being done, such as "Sign-in failed"
---@return string
function M.format_error(err, context)
  if type(err) ~= "table" then
    err = { message = tostring(err) }
  end
  local message = present(err.message) or "unknown error"
  if context then
    message = context .. ": " .. message
  end
  local lines = { message }

  local data = present(err.data)
  if type(data) ~= "table" then
    return table.concat(lines, "\n")
  end
  -- The sidecar's message often quotes Poe's words, the file and the wait already, so
  -- each is added only when the message lacks it.
  local function in_message(part)
    return message:find(part, 1, true) ~= nil
  end
  local poe_message = present(data.message)
  if type(poe_message) == "string" and poe_message ~= "" and not in_message(poe_message) then
    local poe_type = present(data.type)
    table.insert(lines, ("Poe replied: %s%s"):format(poe_type and (poe_type .. ": ") or "", poe_message))
  end
  local path = present(data.path)
  if type(path) == "string" and not in_message(path) then
    table.insert(lines, "File: " .. path)
  end
  local retry_after = tonumber(present(data.retryAfter))
  if retry_after then
    local wait = retry_after == 1 and "1 second" or ("%d seconds"):format(retry_after)
    if not in_message(wait) then
      table.insert(lines, ("Poe asks to wait %s before the next request."):format(wait))
    end
  end
  if data.action == "signIn" then
    table.insert(lines, "Run :PoeSignIn to sign in.")
  end
  return table.concat(lines, "\n")
end

---@param message string
---@param level integer
local function send(message, level)
  vim.notify("Poe: " .. message, level, { title = "Poe" })
end

---@param message string
function M.info(message)
  send(message, levels.INFO)
end

---@param message string
function M.warn(message)
  send(message, levels.WARN)
end

---@param message string
function M.error(message)
  send(message, levels.ERROR)
end

--- Shows a sidecar error, with its hint, as an error message.
---@param err poe.Error|string
---@param context string|nil
function M.show_error(err, context)
  send(M.format_error(err, context), levels.ERROR)
end

return M
