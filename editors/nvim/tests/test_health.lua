-- :checkhealth poe with the real sidecar and the fake Poe.

local H = dofile(vim.env.POE_TEST_ROOT .. "/tests/harness.lua")

local fake = H.start_fake({ "-key", H.KEY })

local function prepare(opts)
  H.use_fake(fake)
  local key_file = H.fresh_home()
  H.setup(opts)
  return key_file
end

--- Runs :checkhealth poe and returns the report's text.
local function checkhealth()
  vim.cmd("checkhealth poe")
  return H.buffer_text(0)
end

local lacks = H.lacks

H.test("healthy setup", function()
  local key_file = prepare()
  H.sign_in_with_key()
  local report = checkhealth()

  H.contains(report, "OK: poe-sidecar found: " .. H.sidecar_bin, "binary")
  H.contains(report, "OK: version: poe-sidecar ", "version")
  H.contains(report, "OK: protocol version 1", "protocol")
  H.contains(report, "sidecar log: " .. vim.env.XDG_STATE_HOME .. "/poe-sidecar/sidecar.log", "log file")
  H.contains(report, "OK: Signed in with an API key.", "sign-in")
  H.contains(report, ("OK: key file %s is readable (mode 600)"):format(key_file), "key file")
  H.contains(report, "Poe API: " .. fake.baseUrl, "base URL")
  H.contains(report, "POE_OAUTH_TOKEN_URL=" .. fake.tokenUrl, "OAuth override")
  H.contains(report, "no proxy variables set", "proxy")
  H.contains(report, "INFO: POE_API_KEY is not set, so the key comes from the key file", "unset POE_API_KEY")
  H.contains(report, "OK: Poe is reachable: it lists 5 models", "reachability")
  lacks(report, "ERROR", "errors")
  lacks(report, "WARNING", "warnings")
end)

H.test("not signed in", function()
  local key_file = prepare()
  local report = checkhealth()
  H.contains(report, "WARNING: Not signed in. Run :PoeSignIn.", "sign-in")
  H.contains(report, "no key file at " .. key_file, "key file")
  lacks(report, "ERROR", "errors")
end)

H.test("key file readable by others", function()
  local key_file = prepare()
  H.sign_in_with_key()
  -- A running sidecar notices the change and removes the permissions itself, so the
  -- file is opened up while none runs, as after a restore from a backup.
  local pid = H.sidecar_pid()
  require("poe.sidecar").stop()
  H.wait(function()
    return vim.loop.kill(pid, 0) ~= 0
  end, "the sidecar to exit")
  vim.loop.fs_chmod(key_file, tonumber("644", 8))
  local report = checkhealth()
  H.contains(report, ("WARNING: key file %s has mode 644, so other users can read it"):format(key_file), "warning")
  H.contains(report, "chmod 600", "advice")
end)

H.test("POE_API_KEY set", function()
  prepare({ cmd_env = { POE_API_KEY = H.KEY } })
  local report = checkhealth()
  H.contains(report, "INFO: POE_API_KEY is set, so its key is used instead of the key file", "set POE_API_KEY")
  lacks(report, H.KEY, "the key itself")
end)

H.test("proxy password redacted", function()
  prepare({ cmd_env = { HTTPS_PROXY = "http://ada:s3cret@127.0.0.1:3128", NO_PROXY = "127.0.0.1" } })
  local report = checkhealth()
  H.contains(report, "HTTPS_PROXY=http://…@127.0.0.1:3128", "redacted proxy")
  H.contains(report, "NO_PROXY=127.0.0.1", "no-proxy list")
  lacks(report, "s3cret", "password")
end)

H.test("missing sidecar", function()
  prepare({ cmd = { "/nonexistent/poe-sidecar" } })
  local report = checkhealth()
  H.contains(report, "ERROR: poe-sidecar was not found at /nonexistent/poe-sidecar", "error")
  H.contains(report, "from a clone of the poe-sidecar repository with `go install ./cmd/poe-sidecar`", "install hint")
  lacks(report, "@latest", "module proxy install, which fails")
  H.contains(report, "Poe API: " .. fake.baseUrl, "network settings still shown")
  lacks(report, "Poe is reachable", "reachability without a sidecar")
end)

H.run()
