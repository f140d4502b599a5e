-- :PoeSignIn, :PoeSignOut and :PoeStatus against the real sidecar and the fake Poe:
-- API keys, the browser flow followed by curl as a browser would, cancelling the wait,
-- and pasting the redirected address.

local H = dofile(vim.env.POE_TEST_ROOT .. "/tests/harness.lua")
local levels = vim.log.levels

local fake = H.start_fake({ "-key", H.KEY })
local denying_fake = H.start_fake({ "-fault", '{"authorize":"access_denied"}' })

--- Opens url the way a browser does: follows the fake's redirect to the sidecar's
--- loopback callback.
local function follow(url)
  vim.fn.jobstart({ "curl", "-sS", "-L", "-o", "/dev/null", url })
end

--- Returns where the fake's authorize endpoint redirects url, without following it:
--- the address a user pastes when the redirect fails in a remote browser.
local function redirect_of(url)
  local location = vim.fn.system({ "curl", "-sS", "-o", "/dev/null", "-w", "%{redirect_url}", url })
  H.eq(vim.v.shell_error, 0, "curl exit status")
  H.contains(location, "/callback?", "redirect address")
  return location
end

--- Sets up a fresh sidecar on fake whose browser is captured rather than opened.
---@return string key_file, fun(): string|nil opened returns the URL the plugin opened
local function fresh(use)
  H.use_fake(use or fake)
  local key_file = H.fresh_home()
  local opened
  H.setup({
    open_url = function(url)
      opened = url
    end,
  })
  return key_file, function()
    return opened
  end
end

local function start_browser_sign_in(opened)
  vim.cmd("PoeSignIn browser")
  H.wait(function()
    return opened() ~= nil and require("poe.signin").pending() ~= nil
  end, "the browser sign-in to start")
  return opened()
end

H.test("api key sign-in", function()
  local key_file = fresh()
  local offered
  H.stub(vim.ui, "select", function(items, opts, on_choice)
    offered = vim.tbl_map(opts.format_item, items)
    for _, item in ipairs(items) do
      if item.type == "apiKey" then
        on_choice(item)
      end
    end
  end)
  local prompt
  H.stub(vim.fn, "inputsecret", function(text)
    prompt = text
    return "  " .. H.KEY .. "\n"
  end)
  local reported = {}
  local autocmd = vim.api.nvim_create_autocmd("User", {
    pattern = "PoeAuthChanged",
    callback = function()
      table.insert(reported, require("poe").auth_state().signedIn)
    end,
  })

  vim.cmd("PoeSignIn")
  local note = H.wait_note("Signed in with an API key", levels.INFO)
  H.contains(note.message, "the key does not expire", "expiry")
  H.eq(offered, { "Sign in with Poe (browser)", "Paste a Poe API key" }, "methods offered")
  H.contains(prompt, "https://poe.com/api_key", "prompt names where keys are made")
  H.eq(vim.loop.fs_stat(key_file).mode % 512, tonumber("600", 8), "key file mode")

  H.wait(function()
    return reported[#reported] == true
  end, "PoeAuthChanged with signedIn true")
  vim.api.nvim_del_autocmd(autocmd)
  H.eq(reported[1], false, "state reported after the sidecar started")
end)

H.test("status shows key and points", function()
  vim.cmd("PoeStatus")
  local note = H.wait_note("Points:", levels.INFO)
  H.contains(note.message, "Signed in with an API key.", "method")
  H.contains(note.message, "Key: stored in the key file.", "source")
  H.contains(note.message, "Expires: never", "expiry")
  H.truthy(note.message:match("Points: %d+"), "points are a number in " .. note.message)
end)

H.test("sign-out deletes key file", function()
  local key_file = fresh()
  H.sign_in_with_key()
  H.truthy(vim.loop.fs_stat(key_file), "key file after sign-in")

  vim.cmd("PoeSignOut")
  H.wait_note("Signed out.", levels.INFO)
  H.eq(vim.loop.fs_stat(key_file), nil, "key file after sign-out")
  vim.cmd("PoeStatus")
  H.wait_note("Not signed in. Run :PoeSignIn.", levels.INFO)
end)

H.test("api key rejected by Poe", function()
  fresh()
  H.stub(vim.fn, "inputsecret", function()
    return "sk-poe-" .. string.rep("w", 40)
  end)
  vim.cmd("PoeSignIn apikey")
  local note = H.wait_note("Sign-in failed", levels.ERROR)
  H.contains(note.message:lower(), "key", "message names the key")
end)

H.test("empty api key cancels", function()
  fresh()
  H.stub(vim.fn, "inputsecret", function()
    return ""
  end)
  vim.cmd("PoeSignIn apikey")
  H.wait_note("Sign-in cancelled.", levels.INFO)
end)

H.test("debug lsp log warns before key", function()
  fresh()
  vim.lsp.set_log_level("debug")
  H.stub(vim.fn, "inputsecret", function()
    return ""
  end)
  vim.cmd("PoeSignIn apikey")
  local ok, err = pcall(H.wait_note, "writes the key you paste to", levels.WARN)
  vim.lsp.set_log_level("warn")
  H.truthy(ok, tostring(err))
end)

H.test("browser sign-in through callback", function()
  local key_file, opened = fresh()
  H.stub(vim.ui, "select", function(items, _, on_choice)
    on_choice(items[1])
  end)
  vim.cmd("PoeSignIn")
  H.wait(function()
    return opened() ~= nil
  end, "the authorize URL to be opened")
  local url = opened()
  H.truthy(vim.startswith(url, fake.authorizeUrl), "authorize URL " .. url)
  local shown = H.wait_note("Approve the sign-in in your browser", levels.INFO)
  H.contains(shown.message, url, "URL shown for copying")

  follow(url)
  local note = H.wait_note("Signed in with the browser", levels.INFO)
  H.contains(note.message, "the key does not expire", "expiry")
  H.truthy(vim.loop.fs_stat(key_file), "key file written")
  H.eq(require("poe.signin").pending(), nil, "nothing pending")

  vim.cmd("PoeStatus")
  H.contains(H.wait_note("Points:").message, "Signed in with the browser.", "status method")
end)

H.test("browser wait can be cancelled", function()
  local _, opened = fresh()
  start_browser_sign_in(opened)
  vim.cmd("PoeSignIn cancel")
  H.wait_note("Stopped waiting for the browser sign-in.", levels.INFO)
  H.eq(require("poe.signin").pending(), nil, "pending after cancel")
  vim.cmd("PoeSignIn cancel")
  H.wait_note("No sign-in is waiting.", levels.INFO)
end)

H.test("sign-in menu while waiting", function()
  local _, opened = fresh()
  start_browser_sign_in(opened)
  local labels
  H.stub(vim.ui, "select", function(items, opts, on_choice)
    labels = vim.tbl_map(opts.format_item, items)
    on_choice(items[2])
  end)
  vim.cmd("PoeSignIn")
  H.eq(labels, {
    "Paste the address the browser was redirected to",
    "Stop waiting",
    "Start over",
  }, "actions offered")
  H.wait_note("Stopped waiting for the browser sign-in.", levels.INFO)
end)

H.test("pasted address signs in", function()
  local key_file, opened = fresh()
  local url = start_browser_sign_in(opened)
  local location = redirect_of(url)
  H.stub(vim.ui, "input", function(_, on_confirm)
    on_confirm(" " .. location .. " ")
  end)
  vim.cmd("PoeSignIn paste")
  H.wait_note("Signed in with the browser", levels.INFO)
  H.truthy(vim.loop.fs_stat(key_file), "key file written")
end)

H.test("wrong state keeps waiting", function()
  local _, opened = fresh()
  local url = start_browser_sign_in(opened)
  local location = redirect_of(url)
  local forged = location:gsub("state=[^&]+", "state=forged")
  H.stub(vim.ui, "input", function(_, on_confirm)
    on_confirm(forged)
  end)
  vim.cmd("PoeSignIn paste")
  local rejected = H.wait_note("The pasted address was not accepted", levels.ERROR)
  H.contains(rejected.message, "Run :PoeSignIn", "hint from the error's action")
  H.wait_note("Still waiting for the browser.", levels.INFO)
  H.truthy(require("poe.signin").pending(), "still pending")

  -- The real redirect still works: the attempt survived the forged one.
  follow(url)
  H.wait_note("Signed in with the browser", levels.INFO)
end)

H.test("pasted junk keeps waiting", function()
  local _, opened = fresh()
  local url = start_browser_sign_in(opened)
  local sent = {}
  local api = require("poe.api")
  local real_complete = api.auth_complete
  H.stub(api, "auth_complete", function(params, callback)
    if params.code or params.callbackUrl then
      table.insert(sent, params)
    end
    return real_complete(params, callback)
  end)
  H.stub(vim.ui, "input", function(_, on_confirm)
    on_confirm("oops, this is not the address")
  end)
  vim.cmd("PoeSignIn paste")
  H.wait_note("That is neither an address nor an authorization code.", levels.WARN)
  H.eq(sent, {}, "nothing sent to the sidecar")
  H.truthy(require("poe.signin").pending(), "still pending")

  follow(url)
  H.wait_note("Signed in with the browser", levels.INFO)
end)

H.test("paste_params shapes", function()
  local paste_params = require("poe.signin").paste_params
  local cases = {
    { input = " http://127.0.0.1:5/callback?code=c&state=s ", want = { attemptId = "a", callbackUrl = "http://127.0.0.1:5/callback?code=c&state=s" } },
    { input = "127.0.0.1:5/callback?code=c&state=s", want = { attemptId = "a", callbackUrl = "http://127.0.0.1:5/callback?code=c&state=s" } },
    { input = "Abc-123_x.y~z", want = { attemptId = "a", code = "Abc-123_x.y~z" } },
    { input = "two words", want = nil },
    { input = "code=abc&state=def", want = nil },
  }
  for _, case in ipairs(cases) do
    H.eq(paste_params("a", case.input), case.want, vim.inspect(case.input))
  end
end)

H.test("ssh session opens no browser", function()
  H.use_fake(fake)
  local key_file = H.fresh_home()
  H.setup()
  local launched = {}
  H.stub(require("poe.compat"), "open_url", function(url)
    table.insert(launched, url)
    return true
  end)
  H.stub(vim.ui, "input", function(_, on_confirm)
    on_confirm(redirect_of(require("poe.signin").pending().url))
  end)
  vim.env.SSH_CONNECTION = "192.0.2.1 50000 192.0.2.2 22"
  local ok, err = pcall(function()
    vim.cmd("PoeSignIn browser")
    H.wait_note("Signed in with the browser", levels.INFO)
  end)
  vim.env.SSH_CONNECTION = nil
  H.truthy(ok, tostring(err))
  H.eq(launched, {}, "browsers opened on the remote machine")
  H.wait_note("Open this address in your browser and approve the sign-in:", levels.INFO)
  H.truthy(vim.loop.fs_stat(key_file), "key file written")
end)

H.test("status without waiting for points", function()
  fresh()
  H.sign_in_with_key()
  H.stub(require("poe.status"), "BALANCE_WAIT_MS", 50)
  local answer
  H.stub(require("poe.api"), "provider_balance", function(callback)
    answer = callback
    return { cancel = function() end }
  end)
  H.notes = {}
  vim.cmd("PoeStatus")
  local note = H.wait_note("Signed in with an API key.", levels.INFO, 3000)
  H.contains(note.message, "Points: Poe has not answered yet", "points pending")
  H.truthy(answer, "balance requested")

  answer(nil, { points = 1234 })
  H.wait_note("Points: 1234", levels.INFO)
  H.eq(#H.notes, 2, "notifications")
end)

H.test("ssh session offers paste", function()
  local key_file, opened = fresh()
  vim.env.SSH_CONNECTION = "192.0.2.1 50000 192.0.2.2 22"
  local prompt
  H.stub(vim.ui, "input", function(opts, on_confirm)
    prompt = opts.prompt
    on_confirm(redirect_of(opened()))
  end)
  local ok, err = pcall(function()
    vim.cmd("PoeSignIn browser")
    H.wait_note("Signed in with the browser", levels.INFO)
  end)
  vim.env.SSH_CONNECTION = nil
  H.truthy(ok, tostring(err))
  H.contains(prompt, "redirected", "paste prompt")
  H.truthy(vim.loop.fs_stat(key_file), "key file written")
end)

H.test("paste without pending sign-in", function()
  fresh()
  vim.cmd("PoeSignIn paste")
  H.wait_note("No browser sign-in is waiting", levels.WARN)
  vim.cmd("PoeSignIn sideways")
  H.wait_note("Unknown :PoeSignIn argument \"sideways\"", levels.ERROR)
end)

H.test("denied browser sign-in fails", function()
  fresh(denying_fake)
  H.stub(require("poe.config").get(), "open_url", follow)
  vim.cmd("PoeSignIn browser")
  local note = H.wait_note("Sign-in failed", levels.ERROR)
  H.contains(note.message, "access_denied", "OAuth error shown")
  H.eq(require("poe.signin").pending(), nil, "nothing pending")
end)

H.run()
