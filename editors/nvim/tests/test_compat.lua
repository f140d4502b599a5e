-- The choice between newer and older Neovim APIs, with each feature stubbed, then the
-- options, the help file and how the sidecar binary is found. Only the last tests start
-- a sidecar.

local H = dofile(vim.env.POE_TEST_ROOT .. "/tests/harness.lua")
local compat = require("poe.compat")

--- Makes vim.fn.has report the given "nvim-X.Y" features as present, and defers the rest.
local function stub_has(present)
  local real = vim.fn.has
  H.stub(vim.fn, "has", function(feature)
    if present[feature] ~= nil then
      return present[feature] and 1 or 0
    end
    return real(feature)
  end)
end

H.test("start_client uses vim.lsp.start on 0.11", function()
  local got_config, got_opts
  H.stub(vim.lsp, "start", function(config, opts)
    got_config, got_opts = config, opts
    return 41
  end)
  H.stub(vim.lsp, "start_client", function()
    error("start_client must not be called when vim.lsp.start takes attach = false")
  end)
  stub_has({ ["nvim-0.11"] = true })

  H.eq(compat.start_client({ name = "poe" }), 41, "client id")
  H.eq(got_config.name, "poe", "config passed on")
  H.eq(got_opts.attach, false, "attach option")
end)

H.test("start_client falls back before 0.11", function()
  local started
  H.stub(vim.lsp, "start", function()
    error("vim.lsp.start attaches a buffer before 0.11 and must not be used")
  end)
  H.stub(vim.lsp, "start_client", function(config)
    started = config
    return 7
  end)
  stub_has({ ["nvim-0.11"] = false })

  H.eq(compat.start_client({ name = "poe" }), 7, "client id")
  H.eq(started.name, "poe", "config passed on")
end)

H.test("call uses method syntax on 0.11", function()
  local client = {}
  function client.request(first, second)
    return first, second
  end

  stub_has({ ["nvim-0.11"] = true })
  local first, second = compat.call(client, "request", "auth/status")
  H.eq(first, client, "self passed first")
  H.eq(second, "auth/status", "argument after self")

  H.stub(vim.fn, "has", function()
    return 0
  end)
  first, second = compat.call(client, "request", "auth/status")
  H.eq(first, "auth/status", "no self before 0.11")
  H.eq(second, nil, "nothing after the argument")
end)

H.test("open_url prefers vim.ui.open", function()
  local opened
  H.stub(vim.ui, "open", function(url)
    opened = url
    return {}, nil
  end)
  H.stub(vim.fn, "jobstart", function()
    error("the platform opener must not run when vim.ui.open exists")
  end)

  local ok, reason = compat.open_url("http://127.0.0.1:9/authorize")
  H.eq(ok, true, "result")
  H.eq(reason, nil, "reason")
  H.eq(opened, "http://127.0.0.1:9/authorize", "URL given to vim.ui.open")
end)

H.test("open_url reports vim.ui.open failure", function()
  H.stub(vim.ui, "open", function()
    return nil, "no handler found"
  end)
  local ok, reason = compat.open_url("http://127.0.0.1:9/")
  H.eq(ok, false, "result")
  H.eq(reason, "no handler found", "reason")
end)

H.test("open_url falls back on xdg-open", function()
  H.eq(vim.ui.open, nil, "vim.ui.open on Neovim 0.7")
  local command, options
  H.stub(vim.fn, "jobstart", function(cmd, opts)
    command, options = cmd, opts
    return 3
  end)
  stub_has({ mac = false, win32 = false, wsl = false })
  H.stub(vim.fn, "executable", function(name)
    return name == "xdg-open" and 1 or 0
  end)

  H.eq(compat.open_url("http://127.0.0.1:9/"), true, "result")
  H.eq(command, { "xdg-open", "http://127.0.0.1:9/" }, "command")
  H.eq(options.detach, true, "detached")
end)

H.test("platform_opener per platform", function()
  local url = "http://127.0.0.1:9/"
  local cases = {
    { name = "macOS", has = { mac = true }, want = { "open", url } },
    { name = "Windows", has = { mac = false, win32 = true }, want = { "rundll32", "url.dll,FileProtocolHandler", url } },
    { name = "WSL", has = { mac = false, win32 = false, wsl = true }, exe = { wslview = 1 }, want = { "wslview", url } },
    { name = "Linux", has = { mac = false, win32 = false, wsl = false }, exe = { ["xdg-open"] = 1 }, want = { "xdg-open", url } },
  }
  for _, case in ipairs(cases) do
    H.stub(vim.fn, "has", function(feature)
      return case.has[feature] and 1 or 0
    end)
    H.stub(vim.fn, "executable", function(name)
      return (case.exe or {})[name] or 0
    end)
    local got = compat.platform_opener(url)
    H.eq(got, case.want, case.name .. " command")
  end

  H.stub(vim.fn, "has", function()
    return 0
  end)
  H.stub(vim.fn, "executable", function()
    return 0
  end)
  local got, reason = compat.platform_opener(url)
  H.eq(got, nil, "command with no opener")
  H.contains(reason, "xdg-open", "reason with no opener")
end)

H.test("health uses vim.health on 0.10", function()
  local calls = {}
  local function record(name)
    return function(message)
      table.insert(calls, name .. ":" .. message)
    end
  end
  H.stub(vim, "health", {
    start = record("start"),
    ok = record("ok"),
    info = record("info"),
    warn = record("warn"),
    error = record("error"),
  })

  local report = compat.health()
  report.start("s")
  report.ok("o")
  report.error("e")
  H.eq(calls, { "start:s", "ok:o", "error:e" }, "calls")
end)

H.test("health uses report functions on 0.7", function()
  H.eq(vim.health, nil, "vim.health on Neovim 0.7")
  local report = compat.health()
  H.eq(report.start, require("health").report_start, "start")
  H.eq(report.warn, require("health").report_warn, "warn")

  H.stub(vim, "health", { report_start = "mid", report_ok = "ok" })
  report = compat.health()
  H.eq(report.start, "mid", "0.8 and 0.9 report_start")
end)

H.test("is_remote reads SSH variables", function()
  H.eq(compat.is_remote(), false, "without SSH variables")
  vim.env.SSH_CONNECTION = "10.0.0.2 5555 10.0.0.1 22"
  local remote = compat.is_remote()
  vim.env.SSH_CONNECTION = nil
  H.eq(remote, true, "with SSH_CONNECTION")
end)

H.test("setup rejects invalid options", function()
  local cases = {
    { opts = { modle = "x" }, want = "unknown option \"modle\"" },
    { opts = { cmd = 3 }, want = "option cmd must be a table" },
    { opts = { cmd = {} }, want = "option cmd must start with" },
    { opts = { chat = { layout = "diagonal" } }, want = "option chat.layout" },
    { opts = { chat = { width = 80 } }, want = "unknown option chat.width" },
    { opts = { keymaps = { sned = { n = "x" } } }, want = "unknown keymap \"sned\"" },
    { opts = { keymaps = { send = { n = 1 } } }, want = "option keymaps.send" },
    { opts = { max_restarts = -1 }, want = "max_restarts must be 0 or more" },
    { opts = { open_url = "firefox" }, want = "option open_url must be a function" },
  }
  for _, case in ipairs(cases) do
    local ok, err = pcall(require("poe").setup, case.opts)
    H.eq(ok, false, vim.inspect(case.opts) .. " accepted")
    H.contains(err, case.want, vim.inspect(case.opts) .. " error")
  end
end)

H.test("setup checks init_options", function()
  local cases = {
    { opts = { logLevel = "loud" }, want = "option init_options.logLevel must be \"debug\", \"info\", \"warn\" or \"error\", not \"loud\"" },
    { opts = { base_url = "http://127.0.0.1:9" }, want = "unknown option init_options.base_url; the sidecar takes baseUrl, logLevel" },
    { opts = { baseUrl = "127.0.0.1:9" }, want = "option init_options.baseUrl must be an http:// or https:// URL" },
    { opts = { openBrowser = "yes" }, want = "option init_options.openBrowser must be true or false" },
    { opts = { signInTimeoutSeconds = 0 }, want = "option init_options.signInTimeoutSeconds must be a number of seconds above 0" },
    { opts = { streamIdleTimeoutSeconds = 700000 }, want = "option init_options.streamIdleTimeoutSeconds must be" },
  }
  for _, case in ipairs(cases) do
    local ok, err = pcall(require("poe").setup, { init_options = case.opts })
    H.eq(ok, false, vim.inspect(case.opts) .. " accepted")
    H.contains(err, case.want, vim.inspect(case.opts) .. " error")
  end

  require("poe").setup({
    init_options = {
      baseUrl = "https://api.poe.com/v1",
      openBrowser = false,
      logLevel = "debug",
      signInTimeoutSeconds = 60,
      streamIdleTimeoutSeconds = 30.5,
    },
  })
  require("poe").setup()
end)

H.test("api functions check callback", function()
  local api = require("poe.api")
  local doc = table.concat(vim.fn.readfile(H.root .. "/doc/poe.txt"), "\n")
  local names = vim.tbl_keys(api)
  table.sort(names)
  H.eq(#names, 9, "functions in poe.api")
  for _, name in ipairs(names) do
    -- Params first: a method without params gets a table as its callback, as when
    -- following a doc that gave every function params. Neither call sends a request.
    local ok, err = pcall(api[name], {}, "not a function")
    local signature = type(err) == "string" and err:match("poe%.api%.([%w_]+%b())")
    H.eq(ok, false, name .. " with a wrong callback")
    H.contains(err, "callback must be a function", name .. " error")
    H.truthy(doc:find(signature, 1, true), ("doc/poe.txt lists %q"):format(signature))
  end
end)

H.test("setup merges options", function()
  require("poe").setup({ cmd = "/opt/poe-sidecar", keymaps = { send = { i = false } }, chat = { size = 60 } })
  local options = require("poe.config").get()
  H.eq(options.cmd, { "/opt/poe-sidecar" }, "cmd from a string")
  H.eq(options.keymaps.send, { n = "<CR>", i = false }, "send keymap")
  H.eq(options.chat.layout, "vertical", "default layout kept")
  H.eq(options.chat.size, 60, "size")
  require("poe").setup()
end)

H.test("resolve_cmd finds go install folder", function()
  local gopath = vim.fn.tempname()
  vim.fn.mkdir(gopath .. "/bin", "p")
  vim.loop.fs_symlink(H.sidecar_bin, gopath .. "/bin/poe-sidecar")
  local old_gopath, old_path = vim.env.GOPATH, vim.env.PATH
  vim.env.GOPATH = gopath
  vim.env.PATH = "/nonexistent"
  require("poe").setup({ cmd = { "poe-sidecar", "--log-level", "debug" } })

  local cmd, err = require("poe.sidecar").resolve_cmd()
  vim.env.GOPATH, vim.env.PATH = old_gopath, old_path
  H.eq(err, nil, "error")
  H.eq(cmd, { gopath .. "/bin/poe-sidecar", "--log-level", "debug" }, "command")
end)

H.test("missing sidecar explains install", function()
  require("poe").setup({ cmd = { "/nonexistent/poe-sidecar" } })
  vim.cmd("PoeStatus")
  local note = H.wait_note("was not found at /nonexistent/poe-sidecar", vim.log.levels.ERROR)
  H.contains(note.message, "from a clone of the poe-sidecar repository with `go install ./cmd/poe-sidecar`", "install hint")
  H.lacks(note.message, "@latest", "module proxy install, which fails")
  H.contains(note.message, "setup()", "configuration hint")
end)

H.test("commands exist after plugin load", function()
  local commands = vim.api.nvim_get_commands({})
  for _, name in ipairs({ "PoeSignIn", "PoeSignOut", "PoeStatus", "PoeModels", "PoeChat", "PoeStop" }) do
    H.truthy(commands[name], name .. " defined")
  end
  H.eq(vim.fn.getcompletion("PoeSignIn p", "cmdline"), { "paste" }, "PoeSignIn completion")
end)

H.test("help documents commands and options", function()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  vim.fn.writefile(vim.fn.readfile(H.root .. "/doc/poe.txt"), dir .. "/poe.txt")
  vim.cmd("helptags " .. vim.fn.fnameescape(dir))
  local tags = {}
  for _, line in ipairs(vim.fn.readfile(dir .. "/tags")) do
    tags[line:match("^[^\t]+")] = true
  end

  for _, name in ipairs(vim.tbl_keys(vim.api.nvim_get_commands({}))) do
    if vim.startswith(name, "Poe") then
      H.truthy(tags[":" .. name], "help tag :" .. name)
    end
  end
  local config = require("poe.config")
  for _, name in ipairs(config.option_names) do
    H.truthy(tags["poe-option-" .. name], "help tag poe-option-" .. name)
  end
  for _, name in ipairs(config.chat_option_names) do
    H.truthy(tags["poe-option-chat." .. name], "help tag poe-option-chat." .. name)
  end
  for name in pairs(config.defaults.keymaps) do
    H.truthy(tags["poe-option-keymaps." .. name], "help tag poe-option-keymaps." .. name)
  end
  H.truthy(tags["poe.stream()"], "help tag poe.stream()")
  H.truthy(tags["poe-health"], "help tag poe-health")
end)

H.test("help poe opens the manual's top", function()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir .. "/doc", "p")
  vim.fn.writefile(vim.fn.readfile(H.root .. "/doc/poe.txt"), dir .. "/doc/poe.txt")
  vim.cmd("helptags " .. vim.fn.fnameescape(dir .. "/doc"))
  local rtp = vim.o.runtimepath
  vim.o.runtimepath = dir .. "," .. rtp
  local ok, err = pcall(vim.cmd, "help poe")
  vim.o.runtimepath = rtp
  H.truthy(ok, tostring(err))
  H.eq(vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":t"), "poe.txt", "help file")
  H.eq(vim.fn.line("."), 1, "line")
  vim.cmd("helpclose")
end)

H.test("gitignore lists doc/tags", function()
  local path = H.root .. "/.gitignore"
  H.truthy(vim.loop.fs_stat(path), path .. " exists")
  H.truthy(vim.tbl_contains(vim.fn.readfile(path), "/doc/tags"), "/doc/tags in " .. path)
end)

H.test("setup defines commands", function()
  for _, name in ipairs({ "PoeSignIn", "PoeChat" }) do
    vim.api.nvim_del_user_command(name)
  end
  require("poe").setup()
  local commands = vim.api.nvim_get_commands({})
  H.truthy(commands.PoeSignIn, "PoeSignIn after setup")
  H.truthy(commands.PoeChat, "PoeChat after setup")
end)

H.test("status before sign-in", function()
  H.use_fake(H.start_fake())
  H.fresh_home()
  H.setup()
  vim.cmd("PoeStatus")
  local note = H.wait_note("Not signed in. Run :PoeSignIn.", vim.log.levels.INFO)
  H.contains(note.message, "Model for new chats: none yet", "model line")
  local info = require("poe.sidecar").info()
  H.eq(info.protocol, 1, "protocol version")
  H.truthy(info.log_file, "log file reported")
end)

H.run()
