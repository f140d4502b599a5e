-- :PoeSignIn and :PoeSignOut. Browser sign-in opens Poe's authorize URL and waits for
-- the sidecar's loopback callback. The user can stop waiting, or paste the address the
-- browser was redirected to instead, which is the way in over SSH. API-key sign-in reads
-- the key with a hidden prompt.

local api = require("poe.api")
local compat = require("poe.compat")
local config = require("poe.config")
local notify = require("poe.notify")

local M = {}

---@class poe.PendingSignIn
---@field attempt_id string
---@field url string
---@field wait poe.Request|nil the auth/complete request that waits for the browser
---@field finished boolean

---@type poe.PendingSignIn|nil
local pending = nil

--- Returns the browser sign-in that is waiting, or nil.
---@return poe.PendingSignIn|nil
function M.pending()
  return pending
end

---@param expires_at string|nil
---@return string
local function expiry_text(expires_at)
  if not expires_at then
    return "the key does not expire"
  end
  return "the key expires " .. expires_at
end

---@param err poe.Error
---@return boolean whether the attempt is still pending after this error of a pasted address
local function attempt_survives(err)
  if err.code == -32602 then
    return true
  end
  return err.data ~= nil and err.data.reason == "state_mismatch"
end

---@param attempt poe.PendingSignIn
---@param err poe.Error|nil
---@param result table|nil
---@param pasted boolean
local function on_complete(attempt, err, result, pasted)
  if attempt ~= pending or attempt.finished then
    return
  end
  if err and err.code == notify.CANCELLED then
    return
  end
  if err and pasted and attempt_survives(err) then
    notify.show_error(err, "The pasted address was not accepted")
    notify.info("Still waiting for the browser. Paste again with :PoeSignIn paste, or stop with :PoeSignIn cancel.")
    return
  end

  attempt.finished = true
  pending = nil
  if attempt.wait then
    attempt.wait.cancel()
  end
  if err then
    notify.show_error(err, "Sign-in failed")
    return
  end
  notify.info(("Signed in with the browser; %s."):format(expiry_text(result.expiresAt)))
end

--- Turns what the user pasted into auth/complete params: an address becomes callbackUrl
--- (an address copied without its scheme gets http://), and a single word of the
--- characters an authorization code is made of becomes code. Anything else returns nil
--- and is not sent: the sidecar ends the attempt when Poe refuses a code, so text pasted
--- by mistake must not reach it.
---@param attempt_id string
---@param input string
---@return table|nil params
function M.paste_params(attempt_id, input)
  input = vim.trim(input)
  if input:match("^https?://") then
    return { attemptId = attempt_id, callbackUrl = input }
  end
  if input:match("^127%.0%.0%.1[:/]") or input:match("^localhost[:/]") or input:match("^%[::1%][:/]") then
    return { attemptId = attempt_id, callbackUrl = "http://" .. input }
  end
  -- RFC 6749 allows any visible ASCII in a code; real codes are URL-safe tokens, and
  -- the callback page shows them that way.
  if input:match("^[%w%-%._~]+$") then
    return { attemptId = attempt_id, code = input }
  end
  return nil
end

--- Asks for the address the browser was sent to after approving (or the bare code) and
--- completes the waiting sign-in with it.
---@param attempt poe.PendingSignIn
local function prompt_paste(attempt)
  vim.ui.input({
    prompt = "Address the browser was redirected to (http://127.0.0.1:…/callback?code=…), or Enter to keep waiting: ",
  }, function(input)
    if attempt ~= pending or not input or vim.trim(input) == "" then
      return
    end
    local params = M.paste_params(attempt.attempt_id, input)
    if not params then
      notify.warn(
        "That is neither an address nor an authorization code. Still waiting for the browser; paste again with :PoeSignIn paste, or stop with :PoeSignIn cancel."
      )
      return
    end
    api.auth_complete(params, function(err, result)
      on_complete(attempt, err, result, true)
    end)
  end)
end

---@param url string
local function open_browser(url)
  local opener = config.get().open_url
  local ok, reason
  if opener then
    ok, reason = pcall(opener, url)
  else
    ok, reason = compat.open_url(url)
  end
  if not ok then
    notify.warn(("The browser could not be opened (%s); open the address below yourself."):format(tostring(reason)))
  end
end

--- Starts a browser sign-in.
function M.browser()
  M.cancel({ quiet = true })
  api.auth_authorize({ method = "oauth" }, function(err, attempt)
    if err then
      notify.show_error(err, "Sign-in failed")
      return
    end

    ---@type poe.PendingSignIn
    local current = { attempt_id = attempt.attemptId, url = attempt.url, finished = false }
    pending = current
    -- Over SSH the platform opener would start a browser on the remote machine, where
    -- the user cannot see it. An open_url function is the user's own choice, so it runs.
    local remote = compat.is_remote()
    local sidecar_opens = config.get().init_options.openBrowser == true
    local open_here = not sidecar_opens and (config.get().open_url ~= nil or not remote)
    if open_here then
      open_browser(attempt.url)
    end
    local visit = "Approve the sign-in in your browser. If no browser opened, visit:\n"
    if not (open_here or sidecar_opens) then
      visit = "Open this address in your browser and approve the sign-in:\n"
    end
    notify.info(
      visit
        .. attempt.url
        .. "\n:PoeSignIn cancel stops waiting; :PoeSignIn paste takes the address the browser was redirected to."
    )
    current.wait = api.auth_complete({ attemptId = attempt.attemptId }, function(complete_err, result)
      on_complete(current, complete_err, result, false)
    end)

    -- Over SSH the browser runs on another machine, so its redirect to this machine's
    -- 127.0.0.1 fails there. The address bar still contains the address to paste.
    if remote then
      prompt_paste(current)
    end
  end)
end

---@return boolean
local function lsp_log_records_params()
  local level = compat.lsp_log()
  return level <= vim.log.levels.DEBUG
end

--- Starts an API-key sign-in: asks for the key with a hidden prompt.
function M.api_key()
  M.cancel({ quiet = true })
  api.auth_authorize({ method = "apiKey" }, function(err, attempt)
    if err then
      notify.show_error(err, "Sign-in failed")
      return
    end

    if lsp_log_records_params() then
      local _, path = compat.lsp_log()
      notify.warn(
        ("The LSP log level is DEBUG or TRACE, so Neovim writes the key you paste to %s. "):format(path)
          .. "Press Esc at the prompt, run :lua vim.lsp.set_log_level(\"warn\"), and sign in again."
      )
    end
    local key = vim.fn.inputsecret(("Poe API key (create one at %s): "):format(attempt.url))
    if not key or vim.trim(key) == "" then
      notify.info("Sign-in cancelled.")
      return
    end

    api.auth_complete({ attemptId = attempt.attemptId, apiKey = key }, function(complete_err, result)
      if complete_err then
        notify.show_error(complete_err, "Sign-in failed")
        return
      end
      notify.info(("Signed in with an API key; %s."):format(expiry_text(result.expiresAt)))
    end)
  end)
end

--- Asks for the address the browser was redirected to, for the waiting browser sign-in.
function M.paste()
  if not pending then
    notify.warn("No browser sign-in is waiting; start one with :PoeSignIn browser.")
    return
  end
  prompt_paste(pending)
end

--- Stops waiting for the browser. The sidecar keeps the attempt until it times out or
--- the next sign-in replaces it, so a late callback can still store a key.
---@param opts {quiet: boolean|nil}|nil
function M.cancel(opts)
  local attempt = pending
  if not attempt then
    if not (opts and opts.quiet) then
      notify.info("No sign-in is waiting.")
    end
    return
  end
  pending = nil
  attempt.finished = true
  if attempt.wait then
    attempt.wait.cancel()
  end
  if not (opts and opts.quiet) then
    notify.info("Stopped waiting for the browser sign-in.")
  end
end

--- Asks how to sign in (or, while a browser sign-in waits, what to do with it) and
--- starts that.
function M.choose()
  if pending then
    local actions = {
      { label = "Paste the address the browser was redirected to", run = M.paste },
      { label = "Stop waiting", run = M.cancel },
      { label = "Start over", run = M.browser },
    }
    vim.ui.select(actions, {
      prompt = "A browser sign-in is waiting",
      format_item = function(action)
        return action.label
      end,
    }, function(action)
      if action then
        action.run()
      end
    end)
    return
  end

  api.auth_methods(function(err, result)
    if err then
      notify.show_error(err, "Sign-in failed")
      return
    end
    vim.ui.select(result.methods or {}, {
      prompt = "Sign in to Poe",
      format_item = function(method)
        return method.label
      end,
      kind = "poe.signin",
    }, function(method)
      if not method then
        return
      end
      if method.type == "oauth" then
        M.browser()
      elseif method.type == "apiKey" then
        M.api_key()
      else
        notify.warn(("Sign-in method %q is not supported by this plugin; update it."):format(tostring(method.type)))
      end
    end)
  end)
end

--- Runs :PoeSignIn with its argument: browser, apikey, paste, cancel, or none to ask.
---@param arg string|nil
function M.run(arg)
  local actions = { browser = M.browser, apikey = M.api_key, paste = M.paste, cancel = M.cancel }
  if not arg or arg == "" then
    M.choose()
    return
  end
  local action = actions[arg:lower()]
  if not action then
    notify.error(("Unknown :PoeSignIn argument %q: use browser, apikey, paste or cancel."):format(arg))
    return
  end
  action()
end

--- Deletes the stored key.
function M.sign_out()
  M.cancel({ quiet = true })
  api.auth_sign_out(function(err, state)
    if err then
      notify.show_error(err, "Sign-out failed")
      return
    end
    if state.signedIn and state.source == "env" then
      notify.warn("The stored key was deleted, but POE_API_KEY is set, so Poe still uses that key. Unset it to sign out.")
      return
    end
    notify.info("Signed out. The key stays valid on Poe until you delete it at https://poe.com/api/keys.")
  end)
end

return M
