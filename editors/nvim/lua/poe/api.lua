-- One function per sidecar method of protocol version 1. Each sends the request, starting
-- the sidecar when needed, and calls callback(err, result) as poe.sidecar.request does.
-- Methods without params (auth/methods, auth/status, auth/signOut, provider/balance) take
-- only the callback. Params and results are the protocol's, with JSON null read as nil
-- inside objects.

local sidecar = require("poe.sidecar")

local M = {}

---@alias poe.Callback fun(err: poe.Error|nil, result: any)

--- Raises an error at the caller's call when callback is not a function, so that a call
--- with the wrong arguments fails there, not later inside a scheduled callback.
---@param signature string such as "auth_status(callback)"
---@param callback any
local function check_callback(signature, callback)
  if type(callback) ~= "function" then
    error(("poe.api.%s: callback must be a function, not %s"):format(signature, type(callback)), 3)
  end
end

---@class poe.AuthMethod
---@field id string "oauth" or "apiKey"
---@field type string "oauth" or "apiKey"
---@field label string

---@class poe.Attempt
---@field attemptId string
---@field method string "oauth" or "apiKey"
---@field mode string "auto" (the sidecar waits for the browser) or "prompt"
---@field url string the authorize URL, or the page where users create API keys
---@field redirectUri string|nil
---@field instructions string|nil
---@field attemptExpiresAt string|nil

---@class poe.AuthState
---@field signedIn boolean
---@field method string|nil "oauth" or "apiKey"
---@field source string|nil "file" or "env"
---@field expiresAt string|nil RFC 3339; nil for a key that never expires
---@field expired boolean
---@field problem {reason: string, message: string, path: string|nil}|nil

---@class poe.Model
---@field id string
---@field name string|nil
---@field ownedBy string|nil
---@field description string|nil
---@field contextWindow integer|nil tokens
---@field maxOutputTokens integer|nil
---@field outputModalities string[]|nil

---@class poe.Message
---@field role "system"|"user"|"assistant"
---@field content string

--- auth/methods: the ways to sign in.
---@param callback fun(err: poe.Error|nil, result: {methods: poe.AuthMethod[]}|nil)
---@return poe.Request
function M.auth_methods(callback)
  check_callback("auth_methods(callback)", callback)
  return sidecar.request("auth/methods", nil, callback)
end

--- auth/authorize: starts a sign-in attempt.
---@param params {method: "oauth"|"apiKey"}
---@param callback fun(err: poe.Error|nil, result: poe.Attempt|nil)
---@return poe.Request
function M.auth_authorize(params, callback)
  check_callback("auth_authorize(params, callback)", callback)
  return sidecar.request("auth/authorize", params, callback)
end

--- auth/complete: finishes an attempt. With only attemptId it waits for the browser;
--- with apiKey, callbackUrl or code it checks that value.
---@param params {attemptId: string, apiKey: string|nil, callbackUrl: string|nil, code: string|nil}
---@param callback fun(err: poe.Error|nil, result: {signedIn: boolean, method: string, expiresAt: string|nil}|nil)
---@return poe.Request
function M.auth_complete(params, callback)
  check_callback("auth_complete(params, callback)", callback)
  return sidecar.request("auth/complete", params, callback)
end

--- auth/status: whether a key is stored or set, and where it comes from.
---@param callback fun(err: poe.Error|nil, result: poe.AuthState|nil)
---@return poe.Request
function M.auth_status(callback)
  check_callback("auth_status(callback)", callback)
  return sidecar.request("auth/status", nil, callback)
end

--- auth/signOut: deletes the stored key and returns the state that remains.
---@param callback fun(err: poe.Error|nil, result: poe.AuthState|nil)
---@return poe.Request
function M.auth_sign_out(callback)
  check_callback("auth_sign_out(callback)", callback)
  return sidecar.request("auth/signOut", nil, callback)
end

--- provider/models: Poe's models, cached by the sidecar for ten minutes.
---@param params {refresh: boolean|nil}|nil
---@param callback fun(err: poe.Error|nil, result: {models: poe.Model[]}|nil)
---@return poe.Request
function M.provider_models(params, callback)
  check_callback("provider_models(params, callback)", callback)
  local refresh = params and params.refresh
  return sidecar.request("provider/models", refresh and { refresh = true } or vim.empty_dict(), callback)
end

--- provider/balance: the points the signed-in account has left.
---@param callback fun(err: poe.Error|nil, result: {points: integer|nil, email: string|nil}|nil)
---@return poe.Request
function M.provider_balance(callback)
  check_callback("provider_balance(callback)", callback)
  return sidecar.request("provider/balance", nil, callback)
end

--- chat/send: starts a stream whose chat/stream notifications carry streamId. The
--- response comes after the stream's final notification.
---@param params {streamId: string, model: string, messages: poe.Message[], temperature: number|nil, maxTokens: integer|nil}
---@param callback fun(err: poe.Error|nil, result: {streamId: string, text: string, finishReason: string, usage: table|nil}|nil)
---@return poe.Request
function M.chat_send(params, callback)
  check_callback("chat_send(params, callback)", callback)
  return sidecar.request("chat/send", params, callback)
end

--- chat/cancel: stops a live stream, which then ends with finishReason "cancelled".
---@param params {streamId: string}
---@param callback fun(err: poe.Error|nil, result: {cancelled: boolean}|nil)
---@return poe.Request
function M.chat_cancel(params, callback)
  check_callback("chat_cancel(params, callback)", callback)
  return sidecar.request("chat/cancel", params, callback)
end

return M
